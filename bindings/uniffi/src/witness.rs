//! Witness cosignatures and policies (SPEC.md §22): a checkpoint checked against a
//! C2SP tlog-policy, and tlog-proof files.

use evidentia::{Policy, TlogProof};

use crate::error::Result;

/// A witness of the policy whose cosignature on the checkpoint verified.
#[derive(Debug, uniffi::Record)]
pub struct Cosigned {
    /// The witness's name in the policy.
    pub witness: String,
    /// The key name of its cosignature line.
    pub key_name: String,
    /// The cosignature's time, seconds since the epoch (as the witness says; not judged).
    pub timestamp: u64,
}

/// A checkpoint whose log signature and witness cosignatures satisfied a policy.
#[derive(Debug, uniffi::Record)]
pub struct PolicyResult {
    /// The checkpoint's origin (the log's name).
    pub origin: String,
    /// The checkpoint's size (number of entries).
    pub size: u64,
    /// The checkpoint's root hash (32 bytes).
    pub root: Vec<u8>,
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
        size: result.checkpoint.size,
        root: result.checkpoint.root.to_vec(),
        signed_by: result.signed_by,
        cosigned: result
            .cosigned
            .into_iter()
            .map(|c| Cosigned { witness: c.witness, key_name: c.key_name, timestamp: c.timestamp })
            .collect(),
        quorum_met: result.quorum_met,
    }
}

/// Checks a signed checkpoint note and its witness cosignatures against a policy
/// (c2sp.org/tlog-policy text); throws a Verification error (POLICY_NOT_SATISFIED)
/// when the quorum is not met, COSIGNATURE_INVALID, or a Proof error
/// (POLICY_MALFORMED) for a policy that cannot be read.
#[uniffi::export]
pub fn check_policy(note: String, policy: String) -> Result<PolicyResult> {
    Ok(convert(Policy::parse(&policy)?.check(&note)?))
}

/// Verifies a tlog-proof (c2sp.org/tlog-proof text) for `entry` (bytes, hashed as
/// an RFC 6962 leaf): its checkpoint must satisfy the policy (as `checkPolicy`)
/// and its inclusion proof lead to the checkpoint's root.
#[uniffi::export]
pub fn verify_tlog_proof(proof: String, entry: Vec<u8>, policy: String) -> Result<PolicyResult> {
    let proof = TlogProof::parse(&proof)?;
    Ok(convert(proof.verify(&entry, &Policy::parse(&policy)?)?))
}
