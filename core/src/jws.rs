//! JWS (RFC 7515) with ES256 only, in compact serialization, with detached and
//! unencoded (RFC 7797) payloads. Signing is deterministic; verification is strict.

use crate::encoding::{b64url, b64url_decode};
use crate::error::{Error, ErrorCode, Result};
use crate::json::{ParseOptions, Value, parse_with};
use crate::jwks::KeySet;
use crate::keys::{ALGORITHM, canonical_text};
use crate::signer::{Signer, checked_signature};
use crate::time::Timestamp;

/// How to serialize a signed payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JwsOptions {
    /// Leave the payload out of the JWS (RFC 7515 Appendix F); the verifier supplies it.
    pub detached: bool,
    /// Sign the payload bytes as they are instead of their base64url form (RFC 7797,
    /// header `"b64": false`, listed in `crit`).
    pub unencoded: bool,
}

/// Header parameters Evidentia understands when they are listed in `crit`.
const UNDERSTOOD_CRITICAL: &[&str] = &["b64"];

/// The largest protected header accepted, in bytes after base64url decoding.
const MAX_HEADER_SIZE: usize = 16 * 1024;

/// Signs `payload` as a compact JWS with header `{"alg":"ES256","kid":...}`.
///
/// The header is canonical JSON and, with a software key, the signature
/// deterministic (RFC 6979), so the same key, payload and options give the same JWS
/// in every language.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] when an attached unencoded payload is not UTF-8
/// or contains `.`, which compact serialization cannot carry; the signer's errors
/// (see [`checked_signature`](crate::checked_signature)).
pub fn sign_jws(key: &dyn Signer, payload: &[u8], options: JwsOptions) -> Result<String> {
    sign_with_header(key, payload, options, None)
}

/// The protected header, base64url-encoded: the canonical JSON of `alg`, `kid` and
/// the members `typ` and `options` call for.
fn protected_header(kid: &str, options: JwsOptions, typ: Option<&str>) -> String {
    let mut header = vec![("alg", Value::from(ALGORITHM)), ("kid", Value::from(kid))];
    if let Some(typ) = typ {
        header.push(("typ", Value::from(typ)));
    }
    if options.unencoded {
        header.push(("b64", Value::Bool(false)));
        header.push(("crit", Value::Array(vec![Value::from("b64")])));
    }
    b64url(canonical_text(&Value::object(header)).as_bytes())
}

/// The signing input of an attached, base64url-encoded JWS with a `typ`: what a
/// signer outside Evidentia signs (see `UnsignedReceipt`).
pub(crate) fn signing_input_with_header(kid: &str, payload: &[u8], typ: &str) -> String {
    format!("{}.{}", protected_header(kid, JwsOptions::default(), Some(typ)), b64url(payload))
}

/// Signs with an optional `typ` header parameter.
pub(crate) fn sign_with_header(
    key: &dyn Signer,
    payload: &[u8],
    options: JwsOptions,
    typ: Option<&str>,
) -> Result<String> {
    let header_b64 = protected_header(key.public_key().kid(), options, typ);
    let encoded_payload = (!options.unencoded).then(|| b64url(payload));
    let shown_payload = match (options.detached, &encoded_payload) {
        (true, _) => "",
        (false, Some(encoded)) => encoded.as_str(),
        (false, None) => match std::str::from_utf8(payload) {
            Ok(text) if !text.contains('.') => text,
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    "an unencoded payload must be detached unless it is UTF-8 text without '.'",
                ));
            }
        },
    };
    let signed_payload = encoded_payload.as_ref().map_or(payload, |encoded| encoded.as_bytes());
    let mut signing_input = Vec::with_capacity(header_b64.len() + 1 + signed_payload.len());
    signing_input.extend_from_slice(header_b64.as_bytes());
    signing_input.push(b'.');
    signing_input.extend_from_slice(signed_payload);
    let signature = b64url(&checked_signature(key, &signing_input)?);
    Ok(format!("{header_b64}.{shown_payload}.{signature}"))
}

/// A JWS that was split, decoded and checked for structure, not yet for its signature.
#[derive(Clone, Debug)]
pub(crate) struct DecodedJws {
    /// The protected header.
    pub header: Value,
    /// The payload bytes (decoded, or supplied for a detached JWS).
    pub payload: Vec<u8>,
    /// The exact bytes the signature covers.
    pub signing_input: Vec<u8>,
    /// `R || S`.
    pub signature: [u8; 64],
    /// Whether the payload was unencoded (`"b64": false`).
    pub unencoded: bool,
}

impl DecodedJws {
    /// The header's `kid`, if any.
    pub(crate) fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// The header's `typ`, if any.
    pub(crate) fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }
}

fn header_error(message: &'static str) -> Error {
    Error::new(ErrorCode::JwsHeaderInvalid, message)
}

/// Splits and decodes a compact ES256 JWS and checks everything but the signature.
pub(crate) fn decode(jws: &str, detached_payload: Option<&[u8]>) -> Result<DecodedJws> {
    let decoded = decode_structure(jws, detached_payload, es256_algorithm, |(), signature| {
        if signature.len() == 64 { Ok(()) } else { Err(es256_signature_format()) }
    })?;
    let signature: [u8; 64] = decoded.signature.try_into().map_err(|_| es256_signature_format())?;
    Ok(DecodedJws {
        header: decoded.header,
        payload: decoded.payload,
        signing_input: decoded.signing_input,
        signature,
        unencoded: decoded.unencoded,
    })
}

fn es256_signature_format() -> Error {
    Error::new(ErrorCode::JwsSignatureFormat, "an ES256 signature is exactly 64 bytes (R || S); DER is not accepted")
}

/// The algorithm check of Evidentia's own JWS: `alg` is ES256.
fn es256_algorithm(alg: Option<&Value>) -> Result<()> {
    match alg {
        Some(Value::String(alg)) if alg == ALGORITHM => Ok(()),
        Some(Value::String(_)) => Err(Error::new(
            ErrorCode::JwsUnsupportedAlgorithm,
            "the JWS algorithm is not ES256 (the only one accepted)",
        )),
        Some(_) => Err(header_error("the JWS header 'alg' is not a string")),
        // No algorithm is not a supported algorithm (SPEC §5 step 3).
        None => Err(Error::new(
            ErrorCode::JwsUnsupportedAlgorithm,
            "the JWS header has no 'alg' (ES256 is the only one accepted)",
        )),
    }
}

/// A compact JWS split, decoded and checked for structure, for any algorithm.
#[derive(Clone, Debug)]
pub(crate) struct JwsStructure<A> {
    /// What `check_alg` made of the header's `alg`.
    pub alg: A,
    /// The protected header.
    pub header: Value,
    /// The payload bytes (decoded, or supplied for a detached JWS).
    pub payload: Vec<u8>,
    /// The exact bytes the signature covers.
    pub signing_input: Vec<u8>,
    /// The decoded signature, as long as `check_signature` allowed.
    pub signature: Vec<u8>,
    /// Whether the payload was unencoded (`"b64": false`).
    pub unencoded: bool,
}

/// Splits and decodes a compact JWS and checks everything but the signature. The
/// algorithm is the caller's: `check_alg` reads the header's `alg` (after the
/// header is known to be a JSON object) and `check_signature` the decoded
/// signature's form, each at its fixed place in the order of checks.
pub(crate) fn decode_structure<A>(
    jws: &str,
    detached_payload: Option<&[u8]>,
    check_alg: impl FnOnce(Option<&Value>) -> Result<A>,
    check_signature: impl FnOnce(&A, &[u8]) -> Result<()>,
) -> Result<JwsStructure<A>> {
    let malformed = |message: &'static str| Error::new(ErrorCode::JwsMalformed, message);
    let mut parts = jws.split('.');
    let (Some(header_b64), Some(payload_part), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("a compact JWS has exactly three parts separated by '.'"));
    };
    if header_b64.is_empty() {
        return Err(malformed("the JWS protected header is empty"));
    }
    let header_bytes = b64url_decode(header_b64).ok_or_else(|| malformed("the JWS header is not base64url"))?;
    if header_bytes.len() > MAX_HEADER_SIZE {
        return Err(header_error("the JWS protected header is larger than 16 KiB"));
    }
    let header =
        parse_with(&header_bytes, &ParseOptions { max_depth: 16, max_size: MAX_HEADER_SIZE }).map_err(|e| {
            Error::new(ErrorCode::JwsHeaderInvalid, format!("the JWS protected header is not valid JSON: {e}"))
        })?;
    if header.as_object().is_none() {
        return Err(header_error("the JWS protected header is not a JSON object"));
    }
    let alg = check_alg(header.get("alg"))?;
    for name in ["kid", "typ", "cty"] {
        if header.get(name).is_some_and(|v| v.as_str().is_none()) {
            return Err(Error::new(ErrorCode::JwsHeaderInvalid, format!("the JWS header '{name}' is not a string")));
        }
    }
    let unencoded = match header.get("b64") {
        None | Some(Value::Bool(true)) => false,
        Some(Value::Bool(false)) => true,
        Some(_) => return Err(header_error("the JWS header 'b64' is not a boolean")),
    };
    check_critical(&header)?;

    let signature = b64url_decode(signature_b64).ok_or_else(|| malformed("the JWS signature is not base64url"))?;
    check_signature(&alg, &signature)?;

    let (payload, detached) = match (payload_part.is_empty(), detached_payload) {
        (true, Some(payload)) => (payload.to_vec(), true),
        (false, Some(_)) => {
            return Err(Error::new(
                ErrorCode::JwsPayloadMismatch,
                "the JWS carries its payload, and another was supplied",
            ));
        }
        (_, None) if unencoded => (payload_part.as_bytes().to_vec(), false),
        (_, None) => (b64url_decode(payload_part).ok_or_else(|| malformed("the JWS payload is not base64url"))?, false),
    };
    let mut signing_input = Vec::with_capacity(header_b64.len() + 1 + payload.len() * 4 / 3 + 4);
    signing_input.extend_from_slice(header_b64.as_bytes());
    signing_input.push(b'.');
    if unencoded {
        signing_input.extend_from_slice(&payload);
    } else if detached {
        signing_input.extend_from_slice(b64url(&payload).as_bytes());
    } else {
        signing_input.extend_from_slice(payload_part.as_bytes());
    }
    Ok(JwsStructure { alg, header, payload, signing_input, signature, unencoded })
}

/// `crit` (RFC 7515 §4.1.11): a non-empty array of distinct names, each present in
/// the header and understood; `b64` must be listed whenever it is used (RFC 7797 §6).
fn check_critical(header: &Value) -> Result<()> {
    let unsupported = |message: String| Error::new(ErrorCode::JwsUnsupportedCritical, message);
    let Some(crit) = header.get("crit") else {
        if header.get("b64").is_some() {
            return Err(header_error("the JWS header uses 'b64' without listing it in 'crit'"));
        }
        return Ok(());
    };
    let Some(names) = crit.as_array().filter(|names| !names.is_empty()) else {
        return Err(header_error("the JWS header 'crit' is not a non-empty array"));
    };
    let mut seen: Vec<&str> = Vec::with_capacity(names.len());
    for name in names {
        let Some(name) = name.as_str() else {
            return Err(header_error("the JWS header 'crit' lists something other than a string"));
        };
        if seen.contains(&name) {
            return Err(header_error("the JWS header 'crit' lists a name twice"));
        }
        seen.push(name);
        // A name the header does not have makes the header invalid, whatever the
        // name (SPEC §5 step 4); only a present one can be unsupported.
        if header.get(name).is_none() {
            return Err(header_error("the JWS header 'crit' lists a parameter the header does not have"));
        }
        if !UNDERSTOOD_CRITICAL.contains(&name) {
            return Err(unsupported(format!(
                "the JWS requires understanding header parameter {name:?}, which is not supported"
            )));
        }
    }
    if header.get("b64").is_some() && !seen.contains(&"b64") {
        return Err(header_error("the JWS header uses 'b64' without listing it in 'crit'"));
    }
    Ok(())
}

/// A JWS whose signature verified.
#[derive(Clone, Debug)]
pub struct VerifiedJws {
    /// The protected header as canonical JSON text.
    pub header: String,
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// The header's kid, or the thumbprint of the key that verified the signature
    /// when the header has none.
    pub kid: String,
}

/// Verifies a compact ES256 JWS against a key set.
///
/// The key is chosen by the header's `kid`; a JWS without `kid` verifies only
/// against a set holding exactly one usable key. Header parameters that carry keys
/// (`jwk`, `jku`, `x5c`, `x5u`) are never used. When `at` is given, the key must
/// also be valid at that time.
///
/// # Errors
/// `Jws*` codes for malformed input; verification failures carry codes of the
/// [`Verification`](crate::ErrorFamily::Verification) family, chiefly
/// [`ErrorCode::SignatureInvalid`].
pub fn verify_jws(jws: &str, keys: &KeySet, payload: Option<&[u8]>, at: Option<Timestamp>) -> Result<VerifiedJws> {
    let decoded = decode(jws, payload)?;
    let (key, validity) = keys.select(decoded.kid())?;
    if let Some(at) = at {
        validity.check(at)?;
    }
    if !key.verify(&decoded.signing_input, &decoded.signature) {
        let message = if payload.is_none() && jws.contains("..") {
            "the JWS signature does not verify with the selected key; its payload part is empty: if it is a detached JWS, supply the payload"
        } else {
            "the JWS signature does not verify with the selected key"
        };
        return Err(Error::new(ErrorCode::SignatureInvalid, message));
    }
    let kid = decoded.kid().unwrap_or(key.kid()).to_owned();
    Ok(VerifiedJws { header: canonical_text(&decoded.header), payload: decoded.payload, kid })
}
