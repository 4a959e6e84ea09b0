//! Signatures by other parties (SPEC.md §21): a partner's JWS or raw signature,
//! checked against the partner's keys, and signed messages read from events.

use evidentia::{PartnerAlgorithm, PartnerKey, PartnerKeys, SignedMessage};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert::{Str, error, json_text, value_to_py};

/// A partner's JWS whose signature verified.
#[pyclass(module = "evidentia._native", frozen, get_all)]
pub(crate) struct PartnerVerified {
    /// The JWS algorithm: ES256, ES384, ES512, RS256, PS256, PS384 or EdDSA.
    alg: &'static str,
    /// The header's `kid`, or None when it has none.
    kid: Option<String>,
    /// The RFC 7638 thumbprint of the key that verified the signature.
    key_thumbprint: String,
    /// The protected header.
    header: Py<PyDict>,
    /// The payload bytes.
    payload: Py<PyBytes>,
}

/// A partner's keys: a JWKS or one JWK, as JSON text (`str`) or a Python value.
pub(crate) fn partner_keys(keys: &Bound<'_, PyAny>) -> PyResult<PartnerKeys> {
    if let Ok(text) = keys.extract::<Str>() {
        return PartnerKeys::from_json(&text).map_err(error);
    }
    let value = evidentia::json::parse(&json_text(keys)?).map_err(error)?;
    PartnerKeys::from_value(&value).map_err(error)
}

/// A partner's public key: a JWK as JSON text (`str`) or a Python value.
fn partner_key(jwk: &Bound<'_, PyAny>) -> PyResult<PartnerKey> {
    if let Ok(text) = jwk.extract::<Str>() {
        return PartnerKey::from_jwk(&text).map_err(error);
    }
    let value = evidentia::json::parse(&json_text(jwk)?).map_err(error)?;
    PartnerKey::from_jwk_value(&value).map_err(error)
}

/// Verifies a compact JWS another party signed (ES256, ES384, ES512, RS256, PS256,
/// PS384 or EdDSA) against its keys (a JWKS or one JWK, as JSON text or a dict),
/// with the payload of a detached JWS when given; raises `VerificationError`
/// (SIGNATURE_INVALID) when it does not verify.
#[pyfunction]
#[pyo3(signature = (jws, keys, payload = None))]
pub(crate) fn verify_partner_jws(
    py: Python<'_>,
    jws: Str,
    keys: &Bound<'_, PyAny>,
    payload: Option<&[u8]>,
) -> PyResult<PartnerVerified> {
    let verified = evidentia::verify_partner_jws(&jws, payload, &partner_keys(keys)?).map_err(error)?;
    Ok(PartnerVerified {
        alg: verified.alg.name(),
        kid: verified.kid,
        key_thumbprint: verified.key_thumbprint,
        header: value_to_py(py, &verified.header)?.cast_into::<PyDict>()?.unbind(),
        payload: PyBytes::new(py, &verified.payload).unbind(),
    })
}

/// Verifies a raw signature another party made over `message` with `alg` and the
/// public key `jwk` (JSON text or a dict); ECDSA signatures are `R || S`. Returns
/// None, or raises `VerificationError` (SIGNATURE_INVALID) when it does not verify.
#[pyfunction]
pub(crate) fn verify_partner_signature(
    alg: Str,
    jwk: &Bound<'_, PyAny>,
    message: &[u8],
    signature: &[u8],
) -> PyResult<()> {
    let alg = PartnerAlgorithm::from_name(&alg).map_err(error)?;
    partner_key(jwk)?.verify(alg, message, signature).map_err(error)
}

/// The signed message an event holds (JSON text or a Python value, as in an
/// evidence file), as shown: its direction, JWS, key snapshot, provenance, recorded
/// verification and decoded payload; None when the event is not a signed message.
#[pyfunction]
pub(crate) fn read_signed_message<'py>(
    py: Python<'py>,
    event: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let event = evidentia::json::parse(&json_text(event)?).map_err(error)?;
    let message = SignedMessage::from_event(&event).map_err(error)?;
    message.map(|m| value_to_py(py, &m.describe())).transpose()
}
