//! Verifying a JWS signed by another party (a partner) with the algorithms partners
//! use: ES256, ES384, ES512, RS256, PS256, PS384 and EdDSA (Ed25519), never `none`.
//!
//! Evidentia's own signatures stay ES256 ([`crate::verify_jws`]); this module only
//! checks signatures others made, against keys the caller trusts. The structural
//! decoding (compact form, header limits, `crit`, detached and RFC 7797 unencoded
//! payloads) is the one of [`crate::verify_jws`]. Keys named in the JWS itself
//! (`jwk`, `jku`, `x5c`, `x5u`) are never used. Verification always uses the
//! pure-Rust RustCrypto crates, on every target.

mod key;

use crate::error::{Error, ErrorCode, Result};
use crate::json::{Value, parse};
use crate::jws::decode_structure;

pub use key::PartnerKey;

/// A JWS algorithm accepted for partners' signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartnerAlgorithm {
    /// ECDSA P-256 / SHA-256.
    Es256,
    /// ECDSA P-384 / SHA-384.
    Es384,
    /// ECDSA P-521 / SHA-512.
    Es512,
    /// RSASSA-PKCS1-v1_5 / SHA-256.
    Rs256,
    /// RSASSA-PSS / SHA-256, MGF1 SHA-256, 32-byte salt.
    Ps256,
    /// RSASSA-PSS / SHA-384, MGF1 SHA-384, 48-byte salt.
    Ps384,
    /// EdDSA with Ed25519 (RFC 8037), strictly verified.
    EdDsa,
}

impl PartnerAlgorithm {
    /// Every accepted algorithm.
    pub const ALL: &'static [PartnerAlgorithm] = &[
        PartnerAlgorithm::Es256,
        PartnerAlgorithm::Es384,
        PartnerAlgorithm::Es512,
        PartnerAlgorithm::Rs256,
        PartnerAlgorithm::Ps256,
        PartnerAlgorithm::Ps384,
        PartnerAlgorithm::EdDsa,
    ];

    /// The JOSE name: `"ES256"` ... `"EdDSA"`.
    pub fn name(self) -> &'static str {
        match self {
            PartnerAlgorithm::Es256 => "ES256",
            PartnerAlgorithm::Es384 => "ES384",
            PartnerAlgorithm::Es512 => "ES512",
            PartnerAlgorithm::Rs256 => "RS256",
            PartnerAlgorithm::Ps256 => "PS256",
            PartnerAlgorithm::Ps384 => "PS384",
            PartnerAlgorithm::EdDsa => "EdDSA",
        }
    }

    /// The algorithm of a JOSE name (exact, case-sensitive).
    ///
    /// # Errors
    /// [`ErrorCode::JwsUnsupportedAlgorithm`] for `none` and every other name.
    pub fn from_name(name: &str) -> Result<PartnerAlgorithm> {
        PartnerAlgorithm::ALL.iter().copied().find(|alg| alg.name() == name).ok_or_else(|| {
            Error::new(
                ErrorCode::JwsUnsupportedAlgorithm,
                format!(
                    "the JWS algorithm {name:?} is not accepted for a partner's signature (ES256, ES384, ES512, RS256, PS256, PS384 and EdDSA are)"
                ),
            )
        })
    }
}

/// The most keys a partner's key snapshot may hold: real key sets hold a handful,
/// and every check of a recorded message reads the whole snapshot again.
pub const MAX_KEYS: usize = 1000;

/// The keys a partner's JWS is checked against: a JWKS `{"keys":[...]}` or one JWK.
#[derive(Clone, Debug)]
pub struct PartnerKeys {
    keys: Vec<PartnerKey>,
}

fn set_malformed(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::KeySetMalformed, message.into())
}

impl PartnerKeys {
    /// Reads the keys from JSON text: a JWKS object or a single JWK object.
    ///
    /// # Errors
    /// As [`PartnerKeys::from_value`]; [`ErrorCode::KeySetMalformed`] for text that
    /// is not JSON.
    pub fn from_json(text: &str) -> Result<PartnerKeys> {
        let value = parse(text.as_bytes()).map_err(|e| set_malformed(format!("the partner keys are not JSON: {e}")))?;
        PartnerKeys::from_value(&value)
    }

    /// Reads the keys from a parsed JWKS or JWK. Every key must be usable: a set with
    /// one key that is not is refused as a whole.
    ///
    /// # Errors
    /// [`ErrorCode::KeySetMalformed`] for a value that is neither, an empty set, a
    /// set of more than [`MAX_KEYS`] keys, or two keys with the same `kid`; a key's own error (see
    /// [`PartnerKey::from_jwk_value`]) with its index for a key that is not usable.
    pub fn from_value(value: &Value) -> Result<PartnerKeys> {
        if value.as_object().is_none() {
            return Err(set_malformed("the partner keys are not a JSON object (a JWKS or a JWK)"));
        }
        let keys = match value.get("keys") {
            Some(Value::Array(jwks)) if jwks.len() > MAX_KEYS => {
                return Err(set_malformed(format!(
                    "the partner key set has {} keys, more than the {MAX_KEYS} a snapshot may hold",
                    jwks.len()
                )));
            }
            Some(Value::Array(jwks)) => {
                let mut keys = Vec::with_capacity(jwks.len());
                for (index, jwk) in jwks.iter().enumerate() {
                    let key = PartnerKey::from_jwk_value(jwk)
                        .map_err(|e| Error::new(e.code(), format!("key {index}: {e}")))?;
                    keys.push(key);
                }
                keys
            }
            Some(_) => return Err(set_malformed("the JWKS member 'keys' is not an array")),
            None if value.get("kty").is_some() => vec![PartnerKey::from_jwk_value(value)?],
            None => {
                return Err(set_malformed("the partner keys are neither a JWKS (with 'keys') nor a JWK (with 'kty')"));
            }
        };
        if keys.is_empty() {
            return Err(set_malformed("the partner key set is empty"));
        }
        let mut kids = std::collections::HashSet::with_capacity(keys.len());
        for kid in keys.iter().filter_map(PartnerKey::kid) {
            if !kids.insert(kid) {
                return Err(set_malformed(format!("two partner keys share the kid {kid:?}")));
            }
        }
        Ok(PartnerKeys { keys })
    }

    /// The keys, in order.
    pub fn keys(&self) -> &[PartnerKey] {
        &self.keys
    }

    /// The keys as a JWKS value `{"keys":[...]}`, each JWK as given.
    pub fn to_value(&self) -> Value {
        Value::object([("keys", Value::Array(self.keys.iter().map(|key| key.jwk().clone()).collect()))])
    }

    /// The key for a JWS of `alg`: the one whose `kid` is the header's `kid`, or,
    /// when the header has none, the only key that fits `alg`.
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotFound`] or [`ErrorCode::KeyAmbiguous`].
    pub fn select(&self, alg: PartnerAlgorithm, kid: Option<&str>) -> Result<&PartnerKey> {
        match kid {
            Some(kid) => self.keys.iter().find(|key| key.kid() == Some(kid)).ok_or_else(|| {
                Error::new(ErrorCode::KeyNotFound, format!("no partner key with kid {kid:?} (the JWS header's kid)"))
            }),
            None => {
                let mut fitting = self.keys.iter().filter(|key| key.fits(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(only), None) => Ok(only),
                    (None, _) => Err(Error::new(
                        ErrorCode::KeyNotFound,
                        format!("the JWS has no kid and no partner key fits {}", alg.name()),
                    )),
                    (Some(_), Some(_)) => Err(Error::new(
                        ErrorCode::KeyAmbiguous,
                        format!("the JWS has no kid and more than one partner key fits {}", alg.name()),
                    )),
                }
            }
        }
    }
}

/// A partner's JWS whose signature verified.
#[derive(Clone, Debug)]
pub struct PartnerVerified {
    /// The JWS algorithm.
    pub alg: PartnerAlgorithm,
    /// The header's `kid`, if it has one.
    pub kid: Option<String>,
    /// The RFC 7638 thumbprint of the key that verified the signature.
    pub key_thumbprint: String,
    /// The protected header.
    pub header: Value,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

/// Verifies a partner's compact JWS: attached, detached (with `detached_payload`),
/// or with an RFC 7797 unencoded payload (`"b64": false`).
///
/// The key is chosen by the header's `kid` (a key with that JWK `kid`), or, without
/// one, is the only key of the set that fits the algorithm. Keys in the header
/// (`jwk`, `jku`, `x5c`, `x5u`) are never used.
///
/// # Errors
/// `Jws*` codes for malformed input, [`ErrorCode::JwsUnsupportedAlgorithm`] for
/// `none` and algorithms not accepted, [`ErrorCode::KeyNotFound`] /
/// [`ErrorCode::KeyAmbiguous`] when no key is selected,
/// [`ErrorCode::KeyAlgorithmMismatch`] when the key does not fit the algorithm,
/// [`ErrorCode::SignatureInvalid`] when the signature does not verify.
pub fn verify_partner_jws(jws: &str, detached_payload: Option<&[u8]>, keys: &PartnerKeys) -> Result<PartnerVerified> {
    let decoded = decode_structure(jws, detached_payload, header_algorithm, |&alg, signature| {
        key::check_signature_length(alg, signature, None)
    })?;
    let kid = decoded.header.get("kid").and_then(Value::as_str);
    let key = keys.select(decoded.alg, kid)?;
    key.verify(decoded.alg, &decoded.signing_input, &decoded.signature).map_err(|e| {
        if e.code() == ErrorCode::SignatureInvalid && detached_payload.is_none() && jws.contains("..") {
            Error::new(
                ErrorCode::SignatureInvalid,
                format!("{e}; its payload part is empty: if it is a detached JWS, supply the payload"),
            )
        } else {
            e
        }
    })?;
    Ok(PartnerVerified {
        alg: decoded.alg,
        kid: kid.map(str::to_owned),
        key_thumbprint: key.thumbprint().to_owned(),
        header: decoded.header,
        payload: decoded.payload,
    })
}

fn header_algorithm(alg: Option<&Value>) -> Result<PartnerAlgorithm> {
    match alg {
        Some(Value::String(name)) => PartnerAlgorithm::from_name(name),
        Some(_) => Err(Error::new(ErrorCode::JwsHeaderInvalid, "the JWS header 'alg' is not a string")),
        None => Err(Error::new(
            ErrorCode::JwsUnsupportedAlgorithm,
            "the JWS header has no 'alg' (ES256, ES384, ES512, RS256, PS256, PS384 or EdDSA is required)",
        )),
    }
}
