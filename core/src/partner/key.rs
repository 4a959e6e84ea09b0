//! One public key of a partner, read from a JWK: EC P-256/P-384/P-521, RSA of at
//! least 2048 bits, OKP Ed25519; and the signature check of each algorithm.

use std::fmt;

use p256::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts as _;

use super::PartnerAlgorithm;
use crate::encoding::b64url_decode;
use crate::error::{Error, ErrorCode, Result};
use crate::json::{Value, parse};
use crate::keys::jwk_thumbprint_value;

/// The JWK members that hold private or secret key material (RFC 7518 §6).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The smallest RSA modulus accepted, in bits.
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits (larger keys make verification slow
/// enough to be a denial of service).
pub(crate) const MAX_RSA_BITS: usize = 8192;

/// Verifies `R || S` with an ECDSA key of one of the `p*` crates; R or S zero or
/// not below the group order is an invalid signature.
macro_rules! ecdsa_verify {
    ($krate:ident, $key:expr, $message:expr, $signature:expr) => {{
        use $krate::ecdsa::signature::Verifier as _;
        $krate::ecdsa::Signature::from_slice($signature)
            .is_ok_and(|signature| $key.verify($message, &signature).is_ok())
    }};
}

#[derive(Clone)]
enum Material {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Rsa { key: rsa::RsaPublicKey, bits: usize },
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// One public key of a partner: EC P-256/P-384/P-521, RSA >= 2048 bits, OKP Ed25519.
#[derive(Clone)]
pub struct PartnerKey {
    material: Material,
    jwk: Value,
    kid: Option<String>,
    thumbprint: String,
    alg: Option<PartnerAlgorithm>,
}

fn malformed(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::KeyMalformed, message.into())
}

impl PartnerKey {
    /// Reads a partner's public key from JWK text.
    ///
    /// # Errors
    /// As [`PartnerKey::from_jwk_value`]; [`ErrorCode::KeyMalformed`] for text that
    /// is not JSON.
    pub fn from_jwk(text: &str) -> Result<PartnerKey> {
        let value = parse(text.as_bytes()).map_err(|e| malformed(format!("JWK is not JSON: {e}")))?;
        PartnerKey::from_jwk_value(&value)
    }

    /// Reads a partner's public key from a parsed JWK.
    ///
    /// # Errors
    /// [`ErrorCode::KeyMalformed`] for a JWK that is not well-formed or holds private
    /// members, [`ErrorCode::KeyUnsupported`] for other key types and curves and for
    /// keys whose `use` or `key_ops` exclude verifying signatures,
    /// [`ErrorCode::KeyAlgorithmMismatch`] when its `alg` is not an accepted algorithm
    /// for the key, [`ErrorCode::KeyTooWeak`] for RSA under 2048 bits,
    /// [`ErrorCode::KeyInvalid`] for a point off the curve or an invalid RSA key.
    pub fn from_jwk_value(jwk: &Value) -> Result<PartnerKey> {
        if jwk.as_object().is_none() {
            return Err(malformed("JWK is not a JSON object"));
        }
        if let Some(name) = PRIVATE_MEMBERS.iter().find(|name| jwk.get(name).is_some()) {
            return Err(malformed(format!(
                "a partner key snapshot holds public keys only, and this JWK has the private member '{name}'"
            )));
        }
        let member = |name: &str| -> Result<Option<&str>> {
            match jwk.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(malformed(format!("JWK member '{name}' is not a string"))),
            }
        };
        let kty = member("kty")?.ok_or_else(|| malformed("JWK has no 'kty'"))?;
        let material = match kty {
            "EC" => match member("crv")? {
                Some("P-256") => {
                    let point = ec_point(&member, 32)?;
                    Material::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| off_curve("P-256"))?)
                }
                Some("P-384") => {
                    let point = ec_point(&member, 48)?;
                    Material::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| off_curve("P-384"))?)
                }
                Some("P-521") => {
                    let point = ec_point(&member, 66)?;
                    Material::P521(p521::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| off_curve("P-521"))?)
                }
                Some(crv) => {
                    return Err(Error::new(
                        ErrorCode::KeyUnsupported,
                        format!("EC curve {crv:?} is not accepted for partners (P-256, P-384 and P-521 are)"),
                    ));
                }
                None => return Err(malformed("EC JWK has no 'crv'")),
            },
            "RSA" => rsa_material(&member)?,
            "OKP" => match member("crv")? {
                Some("Ed25519") => {
                    let x = bytes_member(&member, "x")?;
                    let x: [u8; 32] =
                        x.try_into().map_err(|_| malformed("an Ed25519 JWK's 'x' is exactly 32 bytes of base64url"))?;
                    let key = ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|_| {
                        Error::new(ErrorCode::KeyInvalid, "the Ed25519 public key is not a point on the curve")
                    })?;
                    Material::Ed25519(key)
                }
                Some(crv) => {
                    return Err(Error::new(
                        ErrorCode::KeyUnsupported,
                        format!("OKP curve {crv:?} is not accepted for partners (Ed25519 is)"),
                    ));
                }
                None => return Err(malformed("OKP JWK has no 'crv'")),
            },
            other => {
                return Err(Error::new(
                    ErrorCode::KeyUnsupported,
                    format!("key type {other:?} is not accepted for partners (EC, RSA and OKP are)"),
                ));
            }
        };
        if member("use")?.is_some_and(|u| u != "sig") {
            return Err(Error::new(
                ErrorCode::KeyUnsupported,
                "the JWK's 'use' is not 'sig': it is not a signature key",
            ));
        }
        match jwk.get("key_ops") {
            None => {}
            Some(Value::Array(ops)) => {
                if ops.iter().any(|op| op.as_str().is_none()) {
                    return Err(malformed("JWK 'key_ops' lists something other than a string"));
                }
                if !ops.iter().any(|op| op.as_str() == Some("verify")) {
                    return Err(Error::new(
                        ErrorCode::KeyUnsupported,
                        "the JWK's 'key_ops' do not include 'verify': it is not for verifying signatures",
                    ));
                }
            }
            Some(_) => return Err(malformed("JWK 'key_ops' is not an array")),
        }
        let kid = member("kid")?.map(str::to_owned);
        let alg = match member("alg")? {
            None => None,
            Some(name) => {
                let alg = PartnerAlgorithm::from_name(name).map_err(|_| {
                    Error::new(
                        ErrorCode::KeyAlgorithmMismatch,
                        format!("the JWK is for algorithm {name:?}, which is not accepted for partners"),
                    )
                })?;
                if !fits(&material, alg) {
                    return Err(Error::new(
                        ErrorCode::KeyAlgorithmMismatch,
                        format!("the JWK's 'alg' {name} does not fit its key ({})", type_name(&material)),
                    ));
                }
                Some(alg)
            }
        };
        let thumbprint = jwk_thumbprint_value(jwk)?;
        Ok(PartnerKey { material, jwk: jwk.clone(), kid, thumbprint, alg })
    }

    /// The JWK's `kid` member.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The JWK exactly as given (public members only, already checked).
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// The JWK's `alg` member, if it has one.
    pub fn algorithm(&self) -> Option<PartnerAlgorithm> {
        self.alg
    }

    /// The RSA modulus size in bits, for an RSA key.
    pub fn rsa_bits(&self) -> Option<usize> {
        match &self.material {
            Material::Rsa { bits, .. } => Some(*bits),
            _ => None,
        }
    }

    /// The public key as SubjectPublicKeyInfo PEM, what `openssl pkeyutl -verify
    /// -pubin` and `openssl dgst -verify` read.
    pub fn to_pem(&self) -> String {
        let pem = match &self.material {
            Material::P256(key) => key.to_public_key_pem(LineEnding::LF),
            Material::P384(key) => key.to_public_key_pem(LineEnding::LF),
            Material::P521(key) => key.to_public_key_pem(LineEnding::LF),
            Material::Rsa { key, .. } => key.to_public_key_pem(LineEnding::LF),
            Material::Ed25519(key) => key.to_public_key_pem(LineEnding::LF),
        };
        match pem {
            Ok(pem) => pem,
            // Encoding a valid public key into a growable buffer cannot fail.
            Err(_) => unreachable!("SubjectPublicKeyInfo encoding of a valid public key failed"),
        }
    }

    /// The key's type for reports: `"EC P-256"`, `"RSA 2048"`, `"OKP Ed25519"`
    /// (`"RSA"` for moduli other than 2048, 3072, 4096 and 8192 bits; see
    /// [`PartnerKey::rsa_bits`]).
    pub fn key_type(&self) -> &'static str {
        type_name(&self.material)
    }

    /// Whether this key can verify signatures of `alg`: its type and curve fit, and
    /// its JWK `alg`, if any, is `alg`.
    pub fn fits(&self, alg: PartnerAlgorithm) -> bool {
        fits(&self.material, alg) && self.alg.is_none_or(|own| own == alg)
    }

    /// Verifies `signature` over `message` with algorithm `alg`.
    ///
    /// # Errors
    /// [`ErrorCode::KeyAlgorithmMismatch`] when the key does not fit `alg`,
    /// [`ErrorCode::JwsSignatureFormat`] for a signature of the wrong length (ECDSA:
    /// `R || S` of twice the field size, EdDSA: 64 bytes, RSA: the modulus size),
    /// [`ErrorCode::SignatureInvalid`] when it does not verify.
    pub fn verify(&self, alg: PartnerAlgorithm, message: &[u8], signature: &[u8]) -> Result<()> {
        if !fits(&self.material, alg) {
            return Err(Error::new(
                ErrorCode::KeyAlgorithmMismatch,
                format!("an {} key cannot verify {} signatures", type_name(&self.material), alg.name()),
            ));
        }
        if let Some(own) = self.alg.filter(|&own| own != alg) {
            return Err(Error::new(
                ErrorCode::KeyAlgorithmMismatch,
                format!("the key is for {} (its JWK 'alg'), and the signature is {}", own.name(), alg.name()),
            ));
        }
        check_signature_length(alg, signature, self.rsa_bits())?;
        let verified = match &self.material {
            Material::P256(key) => ecdsa_verify!(p256, key, message, signature),
            Material::P384(key) => ecdsa_verify!(p384, key, message, signature),
            Material::P521(key) => ecdsa_verify!(p521, key, message, signature),
            Material::Rsa { key, .. } => match alg {
                PartnerAlgorithm::Rs256 => {
                    let hashed = <sha2::Sha256 as sha2::Digest>::digest(message);
                    key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed, signature).is_ok()
                }
                PartnerAlgorithm::Ps256 => {
                    let hashed = <sha2::Sha256 as sha2::Digest>::digest(message);
                    key.verify(rsa::Pss::<sha2::Sha256>::new(), &hashed, signature).is_ok()
                }
                PartnerAlgorithm::Ps384 => {
                    let hashed = <sha2::Sha384 as sha2::Digest>::digest(message);
                    key.verify(rsa::Pss::<sha2::Sha384>::new(), &hashed, signature).is_ok()
                }
                _ => false,
            },
            Material::Ed25519(key) => {
                let bytes: Option<[u8; 64]> = signature.try_into().ok();
                bytes.is_some_and(|bytes| {
                    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes)).is_ok()
                })
            }
        };
        if verified {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::SignatureInvalid,
                format!("the {} signature does not verify with the key", alg.name()),
            ))
        }
    }
}

/// Checks a signature's length for `alg`; RSA's only when the modulus size is known.
pub(crate) fn check_signature_length(alg: PartnerAlgorithm, signature: &[u8], rsa_bits: Option<usize>) -> Result<()> {
    let expected = match alg {
        PartnerAlgorithm::Es256 => Some((64, "an ES256 signature is exactly 64 bytes (R || S); DER is not accepted")),
        PartnerAlgorithm::Es384 => Some((96, "an ES384 signature is exactly 96 bytes (R || S); DER is not accepted")),
        PartnerAlgorithm::Es512 => Some((132, "an ES512 signature is exactly 132 bytes (R || S); DER is not accepted")),
        PartnerAlgorithm::EdDsa => Some((64, "an EdDSA (Ed25519) signature is exactly 64 bytes")),
        PartnerAlgorithm::Rs256 | PartnerAlgorithm::Ps256 | PartnerAlgorithm::Ps384 => match rsa_bits {
            Some(bits) if signature.len() != bits.div_ceil(8) => {
                return Err(Error::new(
                    ErrorCode::JwsSignatureFormat,
                    format!("an RSA signature is exactly as long as the modulus ({} bytes)", bits.div_ceil(8)),
                ));
            }
            _ => None,
        },
    };
    match expected {
        Some((len, message)) if signature.len() != len => Err(Error::new(ErrorCode::JwsSignatureFormat, message)),
        _ => Ok(()),
    }
}

fn off_curve(curve: &str) -> Error {
    Error::new(ErrorCode::KeyInvalid, format!("the public key point is not on the {curve} curve"))
}

fn bytes_member<'a>(member: &impl Fn(&str) -> Result<Option<&'a str>>, name: &str) -> Result<Vec<u8>> {
    member(name)?.and_then(b64url_decode).ok_or_else(|| malformed(format!("JWK '{name}' is missing or not base64url")))
}

/// The uncompressed SEC1 point of an EC JWK whose coordinates are `size` bytes.
fn ec_point<'a>(member: &impl Fn(&str) -> Result<Option<&'a str>>, size: usize) -> Result<Vec<u8>> {
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(0x04);
    for name in ["x", "y"] {
        let coordinate = bytes_member(member, name)?;
        if coordinate.len() != size {
            return Err(malformed(format!("JWK '{name}' is not {size} bytes of base64url")));
        }
        point.extend_from_slice(&coordinate);
    }
    Ok(point)
}

fn rsa_material<'a>(member: &impl Fn(&str) -> Result<Option<&'a str>>) -> Result<Material> {
    let n = bytes_member(member, "n")?;
    let e = bytes_member(member, "e")?;
    let significant = |bytes: &[u8]| -> Vec<u8> { bytes.iter().copied().skip_while(|&b| b == 0).collect() };
    let (n, e) = (significant(&n), significant(&e));
    let bits = n.first().map_or(0, |&top| 8 * n.len() - top.leading_zeros() as usize);
    if bits < MIN_RSA_BITS {
        return Err(Error::new(
            ErrorCode::KeyTooWeak,
            format!("the RSA modulus has {bits} bits; at least {MIN_RSA_BITS} are required"),
        ));
    }
    if bits > MAX_RSA_BITS {
        return Err(Error::new(
            ErrorCode::KeyUnsupported,
            format!("the RSA modulus has {bits} bits; at most {MAX_RSA_BITS} are accepted"),
        ));
    }
    if has_roca_fingerprint(&n) {
        return Err(Error::new(
            ErrorCode::KeyTooWeak,
            "the RSA key was made by a generator with the ROCA flaw (CVE-2017-15361): its private key can be computed",
        ));
    }
    if e.len() > 8 {
        return Err(Error::new(ErrorCode::KeyInvalid, "the RSA public exponent is out of range"));
    }
    let key = rsa::RsaPublicKey::new_with_size_limits(
        rsa::BoxedUint::from_be_slice_vartime(&n),
        rsa::BoxedUint::from_be_slice_vartime(&e),
        MIN_RSA_BITS..=MAX_RSA_BITS,
    )
    .map_err(|e| Error::new(ErrorCode::KeyInvalid, format!("not a valid RSA public key: {e}")))?;
    debug_assert_eq!(key.size(), bits.div_ceil(8));
    Ok(Material::Rsa { key, bits })
}

/// Whether an RSA modulus has the fingerprint of keys made by the Infineon
/// library with the ROCA flaw (CVE-2017-15361, Nemec et al. 2017): for each small
/// prime p below, n mod p lies in the subgroup generated by 65537. A random modulus
/// passes all of them with a probability far below 2^-100.
fn has_roca_fingerprint(n: &[u8]) -> bool {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107,
        109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let residue = n.iter().fold(0u32, |r, &byte| (r * 256 + u32::from(byte)) % p);
        let generator = 65537 % p;
        let mut power = 1;
        loop {
            if power == residue {
                return true;
            }
            power = power * generator % p;
            if power == 1 {
                return false;
            }
        }
    })
}

fn fits(material: &Material, alg: PartnerAlgorithm) -> bool {
    use PartnerAlgorithm as A;
    matches!(
        (material, alg),
        (Material::P256(_), A::Es256)
            | (Material::P384(_), A::Es384)
            | (Material::P521(_), A::Es512)
            | (Material::Rsa { .. }, A::Rs256 | A::Ps256 | A::Ps384)
            | (Material::Ed25519(_), A::EdDsa)
    )
}

fn type_name(material: &Material) -> &'static str {
    match material {
        Material::P256(_) => "EC P-256",
        Material::P384(_) => "EC P-384",
        Material::P521(_) => "EC P-521",
        Material::Rsa { bits: 2048, .. } => "RSA 2048",
        Material::Rsa { bits: 3072, .. } => "RSA 3072",
        Material::Rsa { bits: 4096, .. } => "RSA 4096",
        Material::Rsa { bits: 8192, .. } => "RSA 8192",
        Material::Rsa { .. } => "RSA",
        Material::Ed25519(_) => "OKP Ed25519",
    }
}

impl fmt::Debug for PartnerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerKey")
            .field("key_type", &self.key_type())
            .field("kid", &self.kid)
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}
