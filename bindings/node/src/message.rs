//! Signatures by other parties (SPEC.md §21): a partner's JWS or raw signature,
//! checked against the partner's keys, and signed messages read from events.

use evidentia::json::Value;
use evidentia::{ErrorCode, PartnerAlgorithm, PartnerKey, PartnerKeys, SignedMessage};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{Result, error, fail, guard, json_text, text, value_to_js};

/// A partner's JWS whose signature verified.
#[napi(object)]
pub struct PartnerVerified<'env> {
    /// The JWS algorithm: ES256, ES384, ES512, RS256, PS256, PS384 or EdDSA.
    pub alg: String,
    /// The header's `kid`; absent when it has none.
    pub kid: Option<String>,
    /// The RFC 7638 thumbprint of the key that verified the signature.
    pub key_thumbprint: String,
    /// The protected header.
    #[napi(ts_type = "Record<string, unknown>")]
    pub header: Unknown<'env>,
    /// The payload bytes.
    pub payload: Buffer,
}

/// A JSON value given as JSON text (a string or a Uint8Array) or as a JavaScript
/// value, parsed strictly.
fn json_value(value: Unknown<'_>) -> Result<Value> {
    evidentia::json::parse(&json_text(value)?).map_err(error)
}

/// JSON given as text (a string or a Uint8Array) or as a JavaScript value, as
/// text for the core to read; bytes that are not UTF-8 are refused with `code`.
fn json_string(value: Unknown<'_>, code: ErrorCode, what: &str) -> Result<String> {
    String::from_utf8(json_text(value)?).map_err(|_| fail(code, format!("{what}: not UTF-8 text")))
}

/// A partner's keys: a JWKS or one JWK, as JSON text or a JavaScript object.
pub(crate) fn partner_keys(keys: Unknown<'_>) -> Result<PartnerKeys> {
    PartnerKeys::from_json(&json_string(keys, ErrorCode::KeySetMalformed, "the partner keys")?).map_err(error)
}

/// Verifies a compact JWS another party signed (ES256, ES384, ES512, RS256, PS256,
/// PS384 or EdDSA) against its keys (a JWKS or one JWK, as text or an object),
/// with the payload of a detached JWS when given; throws the coded error when it
/// does not verify.
#[napi(ts_args_type = "jws: string, keys: string | Record<string, unknown>, payload?: Uint8Array | undefined | null")]
pub fn verify_partner_jws<'env>(
    env: &'env Env,
    jws: Unknown<'_>,
    keys: Unknown<'_>,
    payload: Option<Uint8Array>,
) -> Result<PartnerVerified<'env>> {
    guard(|| {
        let jws = text(&jws, "jws")?;
        let keys = partner_keys(keys)?;
        let verified = evidentia::verify_partner_jws(&jws, payload.as_deref(), &keys).map_err(error)?;
        Ok(PartnerVerified {
            alg: verified.alg.name().to_owned(),
            kid: verified.kid,
            key_thumbprint: verified.key_thumbprint,
            header: value_to_js(env, &verified.header)?,
            payload: verified.payload.into(),
        })
    })
}

/// Verifies a raw signature another party made over `message` with `alg` and the
/// key `jwk` (text or an object); throws the coded error when it does not verify.
#[napi(ts_args_type = "alg: string, jwk: string | Record<string, unknown>, message: Uint8Array, signature: Uint8Array")]
pub fn verify_partner_signature(
    alg: Unknown<'_>,
    jwk: Unknown<'_>,
    message: Uint8Array,
    signature: Uint8Array,
) -> Result<()> {
    guard(|| {
        let alg = PartnerAlgorithm::from_name(&text(&alg, "alg")?).map_err(error)?;
        let key = PartnerKey::from_jwk(&json_string(jwk, ErrorCode::KeyMalformed, "the JWK")?).map_err(error)?;
        key.verify(alg, &message, &signature).map_err(error)
    })
}

/// The signed message an event holds (JSON text or a JavaScript value), as shown:
/// its direction, JWS, key snapshot, provenance, recorded verification and decoded
/// payload; null when the event is not a signed message.
#[napi(ts_args_type = "event: unknown", ts_return_type = "Record<string, unknown> | null")]
pub fn read_signed_message<'env>(env: &'env Env, event: Unknown<'_>) -> Result<Option<Unknown<'env>>> {
    guard(|| {
        let message = SignedMessage::from_event(&json_value(event)?).map_err(error)?;
        message.map(|m| value_to_js(env, &m.describe())).transpose()
    })
}
