//! Signatures by other parties (SPEC.md §21): a partner's JWS or raw signature,
//! checked against the partner's keys, and signed messages read from events.

use evidentia::{ErrorCode, PartnerAlgorithm, PartnerKey, PartnerKeys, SignedMessage};
use js_sys::Object;
use wasm_bindgen::prelude::*;

use crate::convert::{Result, bytes, error, fail, json_text, optional_bytes, set, text, to_js};

/// JSON given as text (a string or a Uint8Array) or as a JavaScript value, as text
/// for the core to read; bytes that are not UTF-8 are refused with `code`.
fn json_string(value: &JsValue, code: ErrorCode, what: &str) -> Result<String> {
    String::from_utf8(json_text(value)?).map_err(|_| fail(code, format!("{what}: not UTF-8 text")))
}

/// Verifies a compact JWS another party signed (ES256, ES384, ES512, RS256, PS256,
/// PS384 or EdDSA) against its keys (a JWKS or one JWK, as text or an object),
/// with the payload of a detached JWS when given; throws the coded error when it
/// does not verify.
#[wasm_bindgen(js_name = verifyPartnerJws, unchecked_return_type = "PartnerVerified")]
pub fn verify_partner_jws(
    #[wasm_bindgen(unchecked_param_type = "string")] jws: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | Record<string, unknown>")] keys: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | undefined | null")] payload: JsValue,
) -> Result<Object> {
    let jws = text(&jws, "jws")?;
    let keys =
        PartnerKeys::from_json(&json_string(&keys, ErrorCode::KeySetMalformed, "the partner keys")?).map_err(error)?;
    let payload = optional_bytes(&payload, "payload")?;
    let verified = evidentia::verify_partner_jws(&jws, payload.as_deref(), &keys).map_err(error)?;
    let out = Object::new();
    set(&out, "alg", verified.alg.name())?;
    if let Some(kid) = verified.kid {
        set(&out, "kid", kid)?;
    }
    set(&out, "keyThumbprint", verified.key_thumbprint)?;
    set(&out, "header", to_js(&verified.header)?)?;
    set(&out, "payload", bytes(&verified.payload))?;
    Ok(out)
}

/// Verifies a raw signature another party made over `message` with `alg` and the
/// key `jwk` (text or an object); throws the coded error when it does not verify.
#[wasm_bindgen(js_name = verifyPartnerSignature)]
pub fn verify_partner_signature(
    #[wasm_bindgen(unchecked_param_type = "string")] alg: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | Record<string, unknown>")] jwk: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] message: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] signature: JsValue,
) -> Result<()> {
    let alg = PartnerAlgorithm::from_name(&text(&alg, "alg")?).map_err(error)?;
    let key = PartnerKey::from_jwk(&json_string(&jwk, ErrorCode::KeyMalformed, "the JWK")?).map_err(error)?;
    let required = |value: &JsValue, what: &str| {
        optional_bytes(value, what)?.ok_or_else(|| fail(ErrorCode::InvalidArgument, format!("{what} is missing")))
    };
    key.verify(alg, &required(&message, "message")?, &required(&signature, "signature")?).map_err(error)
}

/// The signed message an event holds (JSON text or a JavaScript value), as shown:
/// its direction, JWS, key snapshot, provenance, recorded verification and decoded
/// payload; null when the event is not a signed message.
#[wasm_bindgen(js_name = readSignedMessage, unchecked_return_type = "Record<string, unknown> | null")]
pub fn read_signed_message(#[wasm_bindgen(unchecked_param_type = "unknown")] event: JsValue) -> Result<JsValue> {
    let event = evidentia::json::parse(&json_text(&event)?).map_err(error)?;
    match SignedMessage::from_event(&event).map_err(error)? {
        Some(message) => to_js(&message.describe()),
        None => Ok(JsValue::NULL),
    }
}
