//! Witness cosignatures and policies (SPEC.md §22): a checkpoint checked against a
//! C2SP tlog-policy, and tlog-proof files.

use evidentia::{ErrorCode, Policy, TlogProof};
use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use crate::convert::{Result, bytes, error, fail, optional_bytes, set, text};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** A witness of the policy whose cosignature on the checkpoint verified. */
export interface Cosigned {
  /** The witness's name in the policy. */
  witness: string
  /** The key name of its cosignature line. */
  keyName: string
  /** The cosignature's time, seconds since the epoch (as the witness says; not judged). */
  timestamp: number
}
/** A checkpoint whose log signature and witness cosignatures satisfied a policy. */
export interface PolicyResult {
  /** The checkpoint's origin (the log's name). */
  origin: string
  /** The checkpoint's size (number of entries). */
  size: number
  /** The checkpoint's root hash (32 bytes). */
  root: Uint8Array
  /** The key names of the policy's logs whose signatures verified. */
  signedBy: string[]
  /** The policy's witnesses that cosigned, in policy order. */
  cosigned: Cosigned[]
  /** Whether the cosignatures meet the quorum (always true for a result returned). */
  quorumMet: boolean
}
"#;

fn convert(result: evidentia::PolicyResult) -> Result<Object> {
    let out = Object::new();
    set(&out, "origin", result.checkpoint.origin)?;
    set(&out, "size", result.checkpoint.size as f64)?;
    set(&out, "root", bytes(&result.checkpoint.root))?;
    let signed_by = Array::new();
    for name in result.signed_by {
        signed_by.push(&JsValue::from(name));
    }
    set(&out, "signedBy", signed_by)?;
    let cosigned = Array::new();
    for c in result.cosigned {
        let entry = Object::new();
        set(&entry, "witness", c.witness)?;
        set(&entry, "keyName", c.key_name)?;
        set(&entry, "timestamp", c.timestamp as f64)?;
        cosigned.push(&entry);
    }
    set(&out, "cosigned", cosigned)?;
    set(&out, "quorumMet", result.quorum_met)?;
    Ok(out)
}

/// Checks a signed checkpoint note and its witness cosignatures against a policy
/// (c2sp.org/tlog-policy text); throws POLICY_NOT_SATISFIED when the quorum is not
/// met, COSIGNATURE_INVALID, POLICY_MALFORMED, or another coded error.
#[wasm_bindgen(js_name = checkPolicy, unchecked_return_type = "PolicyResult")]
pub fn check_policy(
    #[wasm_bindgen(unchecked_param_type = "string")] note: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] policy: JsValue,
) -> Result<Object> {
    let (note, policy) = (text(&note, "note")?, text(&policy, "policy")?);
    convert(Policy::parse(&policy).and_then(|p| p.check(&note)).map_err(error)?)
}

/// Verifies a tlog-proof (c2sp.org/tlog-proof text) for an entry (bytes, or a
/// string as UTF-8, hashed as an RFC 6962 leaf): its checkpoint must satisfy the
/// policy (as `checkPolicy`) and its inclusion proof lead to the checkpoint's root.
#[wasm_bindgen(js_name = verifyTlogProof, unchecked_return_type = "PolicyResult")]
pub fn verify_tlog_proof(
    #[wasm_bindgen(unchecked_param_type = "string")] proof: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] entry: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] policy: JsValue,
) -> Result<Object> {
    let (proof, policy) = (text(&proof, "proof")?, text(&policy, "policy")?);
    let entry = match entry.as_string() {
        Some(text) => text.into_bytes(),
        None => optional_bytes(&entry, "entry")?.ok_or_else(|| fail(ErrorCode::InvalidArgument, "entry is missing"))?,
    };
    let result = TlogProof::parse(&proof)
        .and_then(|proof| Policy::parse(&policy).and_then(|policy| proof.verify(&entry, &policy)))
        .map_err(error)?;
    convert(result)
}
