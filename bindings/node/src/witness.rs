//! Witness cosignatures and policies (SPEC.md §22): a checkpoint checked against a
//! C2SP tlog-policy, and tlog-proof files.

use evidentia::{Policy, TlogProof};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{Result, error, guard, text};
use crate::size_to_js;

/// A witness of the policy whose cosignature on the checkpoint verified.
#[napi(object)]
pub struct Cosigned {
    /// The witness's name in the policy.
    pub witness: String,
    /// The key name of its cosignature line.
    pub key_name: String,
    /// The cosignature's time, seconds since the epoch (as the witness says; not judged).
    pub timestamp: i64,
}

/// A checkpoint whose log signature and witness cosignatures satisfied a policy.
#[napi(object)]
pub struct PolicyResult {
    /// The checkpoint's origin (the log's name).
    pub origin: String,
    /// The checkpoint's size (number of entries).
    pub size: i64,
    /// The checkpoint's root hash (32 bytes).
    pub root: Buffer,
    /// The key names of the policy's logs whose signatures verified.
    pub signed_by: Vec<String>,
    /// The policy's witnesses that cosigned, in policy order.
    pub cosigned: Vec<Cosigned>,
    /// Whether the cosignatures meet the quorum (always true for a result returned).
    pub quorum_met: bool,
}

fn convert(result: evidentia::PolicyResult) -> PolicyResult {
    PolicyResult {
        origin: result.checkpoint.origin,
        size: size_to_js(result.checkpoint.size),
        root: result.checkpoint.root.to_vec().into(),
        signed_by: result.signed_by,
        cosigned: result
            .cosigned
            .into_iter()
            .map(|c| Cosigned { witness: c.witness, key_name: c.key_name, timestamp: size_to_js(c.timestamp) })
            .collect(),
        quorum_met: result.quorum_met,
    }
}

/// Checks a signed checkpoint note and its witness cosignatures against a policy
/// (c2sp.org/tlog-policy text); throws POLICY_NOT_SATISFIED when the quorum is not
/// met, COSIGNATURE_INVALID, POLICY_MALFORMED, or another coded error.
#[napi]
pub fn check_policy(
    #[napi(ts_arg_type = "string")] note: Unknown<'_>,
    #[napi(ts_arg_type = "string")] policy: Unknown<'_>,
) -> Result<PolicyResult> {
    guard(|| {
        let (note, policy) = (text(&note, "note")?, text(&policy, "policy")?);
        let result = Policy::parse(&policy).and_then(|p| p.check(&note)).map_err(error)?;
        Ok(convert(result))
    })
}

/// Verifies a tlog-proof (c2sp.org/tlog-proof text) for an entry (bytes, or a
/// string as UTF-8, hashed as an RFC 6962 leaf): its checkpoint must satisfy the
/// policy (as `checkPolicy`) and its inclusion proof lead to the checkpoint's root.
#[napi]
pub fn verify_tlog_proof(
    #[napi(ts_arg_type = "string")] proof: Unknown<'_>,
    entry: Either<Uint8Array, String>,
    #[napi(ts_arg_type = "string")] policy: Unknown<'_>,
) -> Result<PolicyResult> {
    guard(|| {
        let (proof, policy) = (text(&proof, "proof")?, text(&policy, "policy")?);
        let entry: &[u8] = match &entry {
            Either::A(bytes) => bytes,
            Either::B(text) => text.as_bytes(),
        };
        let result = TlogProof::parse(&proof)
            .and_then(|proof| Policy::parse(&policy).and_then(|policy| proof.verify(entry, &policy)))
            .map_err(error)?;
        Ok(convert(result))
    })
}
