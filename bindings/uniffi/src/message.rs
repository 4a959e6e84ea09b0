//! Signatures by other parties (SPEC.md §21): a partner's JWS or raw signature,
//! checked against the partner's keys, and signed messages read from events.

use evidentia::json::Value;
use evidentia::{ErrorCode, PartnerAlgorithm, PartnerKey, PartnerKeys, SignedMessage};

use crate::error::{Result, fail};

/// A partner's JWS whose signature verified.
#[derive(Debug, uniffi::Record)]
pub struct PartnerVerified {
    /// The JWS algorithm: ES256, ES384, ES512, RS256, PS256, PS384 or EdDSA.
    pub alg: String,
    /// The header's `kid`, if it has one.
    pub kid: Option<String>,
    /// The RFC 7638 thumbprint of the key that verified the signature.
    pub key_thumbprint: String,
    /// The protected header, as JSON text.
    pub header: String,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

/// A JSON value as canonical JSON text.
pub(crate) fn json_string(value: &Value) -> Result<String> {
    let bytes = evidentia::canonicalize_value(value)?;
    String::from_utf8(bytes).map_err(|_| fail(ErrorCode::Internal, "canonical JSON is not UTF-8"))
}

/// Verifies a compact JWS another party signed (ES256, ES384, ES512, RS256, PS256,
/// PS384 or EdDSA) against its keys (JSON text: a JWKS or one JWK), with the
/// payload given separately for a detached JWS; throws a Verification error
/// (SIGNATURE_INVALID) when it does not verify.
#[uniffi::export(default(payload = None))]
pub fn verify_partner_jws(jws: String, keys: String, payload: Option<Vec<u8>>) -> Result<PartnerVerified> {
    let verified = evidentia::verify_partner_jws(&jws, payload.as_deref(), &PartnerKeys::from_json(&keys)?)?;
    Ok(PartnerVerified {
        alg: verified.alg.name().to_owned(),
        kid: verified.kid,
        key_thumbprint: verified.key_thumbprint,
        header: json_string(&verified.header)?,
        payload: verified.payload,
    })
}

/// Verifies a raw signature another party made over `message` with `alg` and the
/// public key `jwk` (JSON text); ECDSA signatures are `R || S`. Throws a
/// Verification error (SIGNATURE_INVALID) when it does not verify.
#[uniffi::export]
pub fn verify_partner_signature(alg: String, jwk: String, message: Vec<u8>, signature: Vec<u8>) -> Result<()> {
    let alg = PartnerAlgorithm::from_name(&alg)?;
    Ok(PartnerKey::from_jwk(&jwk)?.verify(alg, &message, &signature)?)
}

/// The signed message an event holds (JSON text, as in an evidence file), as JSON:
/// its direction, JWS, key snapshot, provenance, recorded verification and decoded
/// payload; null when the event is not a signed message.
#[uniffi::export]
pub fn read_signed_message(event: String) -> Result<Option<String>> {
    let event = evidentia::json::parse(event.as_bytes())?;
    SignedMessage::from_event(&event)?.map(|m| json_string(&m.describe())).transpose()
}
