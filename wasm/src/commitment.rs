//! Salted commitments to events, disclosures of some of their members, and keyed
//! hashes that keep personal data out of events (SPEC.md §26).

use evidentia::{Digest, ErrorCode};
use js_sys::Array;
use wasm_bindgen::prelude::*;

use crate::convert::{Result, bytes_or_text, error, fail, json_input, optional_bytes, text, to_js};

/// A required Uint8Array argument.
fn required_bytes(value: &JsValue, what: &str) -> Result<Vec<u8>> {
    optional_bytes(value, what)?.ok_or_else(|| fail(ErrorCode::InvalidArgument, format!("{what} must be a Uint8Array")))
}

/// Commits to an event (a JSON value, or JSON text) with an event salt of 16 to 64
/// random bytes (`crypto.getRandomValues(new Uint8Array(16))`; a fixed salt only
/// for test vectors). Returns `{ commitment, disclosures: [{ disclosure, digest,
/// name }], event_digest }`; throws INVALID_ARGUMENT for a salt of another length.
#[wasm_bindgen(
    js_name = commitEvent,
    unchecked_return_type = "{ commitment: string; disclosures: Array<{ disclosure: string; digest: string; name?: string }>; event_digest: string }"
)]
pub fn commit_event(
    #[wasm_bindgen(unchecked_param_type = "unknown")] event: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] salt: JsValue,
) -> Result<JsValue> {
    let commitment = evidentia::commit_json(&json_input(&event)?, &required_bytes(&salt, "salt")?).map_err(error)?;
    to_js(&commitment.to_value())
}

/// Checks disclosures (an array of strings) against a commitment document (a
/// string or bytes) whose SHA-256 is `eventDigest`, the record's event digest.
/// Returns `{ disclosed, names, undisclosed }`; throws DISCLOSURE_MISMATCH,
/// EVENT_MISMATCH, COMMITMENT_MALFORMED or DIGEST_MALFORMED.
#[wasm_bindgen(
    js_name = checkDisclosures,
    unchecked_return_type = "{ disclosed: unknown; names: string[]; undisclosed: number }"
)]
pub fn check_disclosures(
    #[wasm_bindgen(js_name = eventDigest, unchecked_param_type = "string")] event_digest: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] commitment: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string[]")] disclosures: JsValue,
) -> Result<JsValue> {
    let digest = Digest::parse(&text(&event_digest, "eventDigest")?).map_err(error)?;
    let commitment = bytes_or_text(&commitment, "commitment")?;
    let list = disclosures
        .dyn_ref::<Array>()
        .ok_or_else(|| fail(ErrorCode::InvalidArgument, "disclosures must be an array of strings"))?;
    let given = list.iter().map(|d| text(&d, "a disclosure")).collect::<Result<Vec<String>>>()?;
    let given: Vec<&str> = given.iter().map(String::as_str).collect();
    to_js(&evidentia::check_disclosures(&digest, &commitment, &given).map_err(error)?.to_value())
}

/// `hmac-sha256:<hex>` of `data` (a string as UTF-8, or bytes) under `key` (at
/// least 16 bytes, kept outside the log): a value to write into an event in place
/// of personal data. Throws INVALID_ARGUMENT for a shorter key.
#[wasm_bindgen(js_name = keyedHash)]
pub fn keyed_hash(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] data: JsValue,
) -> Result<String> {
    evidentia::keyed_hash(&required_bytes(&key, "key")?, &bytes_or_text(&data, "data")?).map_err(error)
}
