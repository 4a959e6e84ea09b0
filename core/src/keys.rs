//! P-256 keys: generation, JWK / PEM / SEC1 import and export, RFC 7638 thumbprints.

use std::fmt;

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey as EcdsaSigningKey, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};

use crate::crypto::{RandomizedSigner, Verifier};
use crate::digest::Digest;
use crate::encoding::{b64url, b64url_decode};
use crate::error::{Error, ErrorCode, Result};
use crate::json::{Value, canonicalize_value, parse};

/// The only algorithm Evidentia signs and verifies with.
pub const ALGORITHM: &str = "ES256";

/// A P-256 private key that signs deterministically (RFC 6979), unless made
/// randomized with [`SigningKey::with_randomized_signatures`].
#[derive(Clone)]
pub struct SigningKey {
    inner: EcdsaSigningKey,
    public: PublicKey,
    randomized: Option<RandomizedSigner>,
}

/// A P-256 public key, identified by its RFC 7638 thumbprint.
#[derive(Clone)]
pub struct PublicKey {
    inner: VerifyingKey,
    kid: String,
    verifier: Verifier,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.inner == other.inner
    }
}

impl Eq for PublicKey {}

fn key_error(code: ErrorCode, message: &'static str) -> Error {
    Error::new(code, message)
}

impl SigningKey {
    /// Generates a new key from the operating system's random source.
    ///
    /// # Errors
    /// [`ErrorCode::Internal`] if the random source fails.
    #[cfg(feature = "getrandom")]
    pub fn generate() -> Result<SigningKey> {
        SigningKey::generate_with(|bytes| {
            getrandom::fill(bytes).map_err(|_| Error::new(ErrorCode::Internal, "the system random source failed"))
        })
    }

    /// Generates a new key from caller-supplied randomness: `fill` must fill the
    /// buffer with uniformly random bytes from a cryptographically secure source.
    ///
    /// # Errors
    /// Whatever `fill` returns.
    pub fn generate_with(mut fill: impl FnMut(&mut [u8]) -> Result<()>) -> Result<SigningKey> {
        let mut bytes = [0u8; 32];
        loop {
            fill(&mut bytes)?;
            // Fewer than one in 2^32 draws is zero or above the group order.
            if let Ok(key) = SigningKey::from_bytes(&bytes) {
                bytes.fill(0);
                return Ok(key);
            }
        }
    }

    /// A key from its 32-byte big-endian private scalar (the raw SEC1 form).
    ///
    /// # Errors
    /// [`ErrorCode::KeyInvalid`] when the scalar is zero or not below the group order,
    /// [`ErrorCode::KeyMalformed`] when it is not 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<SigningKey> {
        if bytes.len() != 32 {
            return Err(key_error(ErrorCode::KeyMalformed, "a P-256 private key is exactly 32 bytes"));
        }
        let inner = EcdsaSigningKey::from_slice(bytes)
            .map_err(|_| key_error(ErrorCode::KeyInvalid, "private key scalar is zero or not below the P-256 order"))?;
        Ok(SigningKey::from_inner(inner))
    }

    fn from_inner(inner: EcdsaSigningKey) -> SigningKey {
        let public = PublicKey::from_inner(*inner.verifying_key());
        SigningKey { inner, public, randomized: None }
    }

    /// The 32-byte big-endian private scalar.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.inner.to_bytes().into()
    }

    /// Reads a private key from JWK text (`kty` `EC`, `crv` `P-256`, with `d`).
    ///
    /// # Errors
    /// `Key*` codes when the JWK is not a valid P-256 private key.
    pub fn from_jwk(jwk: &str) -> Result<SigningKey> {
        let value =
            parse(jwk.as_bytes()).map_err(|e| Error::new(ErrorCode::KeyMalformed, format!("JWK is not JSON: {e}")))?;
        SigningKey::from_jwk_value(&value)
    }

    /// Reads a private key from a parsed JWK.
    ///
    /// # Errors
    /// As [`SigningKey::from_jwk`].
    pub fn from_jwk_value(jwk: &Value) -> Result<SigningKey> {
        let public = PublicKey::from_jwk_value(jwk)?;
        let d = jwk.get("d").ok_or_else(|| key_error(ErrorCode::KeyNotPrivate, "JWK has no private part 'd'"))?;
        let d = d
            .as_str()
            .and_then(b64url_decode)
            .filter(|d| d.len() == 32)
            .ok_or_else(|| key_error(ErrorCode::KeyMalformed, "JWK 'd' is not 32 bytes of base64url"))?;
        let key = SigningKey::from_bytes(&d)?;
        if key.public != public {
            return Err(key_error(ErrorCode::KeyInvalid, "JWK private part 'd' does not match its public part"));
        }
        Ok(key)
    }

    /// Reads a private key from PEM: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    ///
    /// # Errors
    /// [`ErrorCode::KeyMalformed`] for text that is not such PEM, [`ErrorCode::KeyUnsupported`]
    /// for keys on other curves.
    pub fn from_pem(pem: &str) -> Result<SigningKey> {
        let secret = p256::SecretKey::from_pem(pem.trim()).map_err(|_| {
            key_error(
                ErrorCode::KeyMalformed,
                "not a PEM P-256 private key (PKCS#8 'PRIVATE KEY' or SEC1 'EC PRIVATE KEY')",
            )
        })?;
        Ok(SigningKey::from_inner(EcdsaSigningKey::from(secret)))
    }

    /// Reads a private key from JWK or PEM text, whichever it is.
    ///
    /// # Errors
    /// As [`SigningKey::from_jwk`] or [`SigningKey::from_pem`].
    pub fn from_text(text: &str) -> Result<SigningKey> {
        match text.trim_start().as_bytes().first() {
            Some(b'{') => SigningKey::from_jwk(text),
            Some(b'-') => SigningKey::from_pem(text),
            _ => Err(key_error(ErrorCode::KeyMalformed, "key is neither JWK (JSON) nor PEM text")),
        }
    }

    /// The private key as PKCS#8 PEM.
    pub fn to_pem(&self) -> String {
        match self.inner.to_pkcs8_pem(LineEnding::LF) {
            Ok(pem) => pem.to_string(),
            // Encoding a valid P-256 key into a growable buffer cannot fail.
            Err(_) => unreachable!("PKCS#8 encoding of a P-256 key failed"),
        }
    }

    /// The private key as canonical JWK text, with `kid`, `alg` and `use`.
    pub fn to_jwk(&self) -> String {
        self.public.jwk_text(Some(&self.to_bytes()))
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public key as canonical JWK text.
    pub fn public_jwk(&self) -> String {
        self.public.to_jwk()
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// Signs like [`SigningKey::sign`] and returns the signature in ASN.1 DER, the
    /// form signed notes (checkpoints) and X.509 tools use.
    pub fn sign_der(&self, message: &[u8]) -> Vec<u8> {
        let raw = self.sign(message);
        match Signature::from_slice(&raw) {
            Ok(signature) => signature.to_der().as_bytes().to_vec(),
            Err(_) => unreachable!("a signature just made has R and S in range"),
        }
    }

    /// Signs `message` with ECDSA P-256 / SHA-256 and a deterministic nonce
    /// (RFC 6979): the same key and message always give the same 64 bytes `R || S`.
    /// A key made with [`SigningKey::with_randomized_signatures`] uses a fresh
    /// random nonce instead.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        if let Some(signature) = self.randomized.as_ref().and_then(|r| r.sign(message)) {
            return signature;
        }
        let signature: Signature = self.inner.sign(message);
        signature.to_bytes().into()
    }

    /// This key, signing with a fresh random nonce each time through AWS-LC: several
    /// times faster than deterministic signing, but the same key and message
    /// no longer give the same signature, so evidence is not byte-identical across
    /// runs and languages (it verifies everywhere all the same). Opt in only where
    /// signing speed matters more than reproducible bytes. Where AWS-LC is not
    /// available (WebAssembly), the key keeps signing deterministically; see
    /// [`SigningKey::is_randomized`].
    pub fn with_randomized_signatures(&self) -> SigningKey {
        let private: [u8; 32] = self.inner.to_bytes().into();
        SigningKey { randomized: RandomizedSigner::new(&private, self.inner.verifying_key()), ..self.clone() }
    }

    /// Whether this key signs with random nonces (see
    /// [`SigningKey::with_randomized_signatures`]).
    pub fn is_randomized(&self) -> bool {
        self.randomized.is_some()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.public.kid).finish_non_exhaustive()
    }
}

impl PublicKey {
    fn from_inner(inner: VerifyingKey) -> PublicKey {
        let point = inner.to_sec1_point(false);
        let (x, y) = (point.x().map(|x| b64url(x)), point.y().map(|y| b64url(y)));
        let (Some(x), Some(y)) = (x, y) else {
            unreachable!("an uncompressed SEC1 point of a valid key has both coordinates")
        };
        let kid = thumbprint_of_members(&[("crv", "P-256"), ("kty", "EC"), ("x", &x), ("y", &y)]);
        PublicKey { verifier: Verifier::new(&inner), inner, kid }
    }

    /// Reads a public key from JWK text. Private parts, if present, are ignored.
    ///
    /// # Errors
    /// `Key*` codes when the JWK is not a valid P-256 key.
    pub fn from_jwk(jwk: &str) -> Result<PublicKey> {
        let value =
            parse(jwk.as_bytes()).map_err(|e| Error::new(ErrorCode::KeyMalformed, format!("JWK is not JSON: {e}")))?;
        PublicKey::from_jwk_value(&value)
    }

    /// Reads a public key from a parsed JWK.
    ///
    /// # Errors
    /// As [`PublicKey::from_jwk`].
    pub fn from_jwk_value(jwk: &Value) -> Result<PublicKey> {
        if jwk.as_object().is_none() {
            return Err(key_error(ErrorCode::KeyMalformed, "JWK is not a JSON object"));
        }
        let member = |name: &str| -> Result<Option<&str>> {
            match jwk.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(Error::new(ErrorCode::KeyMalformed, format!("JWK member '{name}' is not a string"))),
            }
        };
        match member("kty")? {
            Some("EC") => {}
            Some(_) => return Err(key_error(ErrorCode::KeyUnsupported, "only EC keys (kty 'EC') are supported")),
            None => return Err(key_error(ErrorCode::KeyMalformed, "JWK has no 'kty'")),
        }
        match member("crv")? {
            Some("P-256") => {}
            Some(_) => return Err(key_error(ErrorCode::KeyUnsupported, "only the P-256 curve is supported")),
            None => return Err(key_error(ErrorCode::KeyMalformed, "JWK has no 'crv'")),
        }
        let coordinate = |name: &'static str| -> Result<Vec<u8>> {
            member(name)?.and_then(b64url_decode).filter(|c| c.len() == 32).ok_or_else(|| {
                Error::new(ErrorCode::KeyMalformed, format!("JWK '{name}' is not 32 bytes of base64url"))
            })
        };
        let (x, y) = (coordinate("x")?, coordinate("y")?);
        let mut sec1 = Vec::with_capacity(65);
        sec1.push(0x04);
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        PublicKey::from_sec1(&sec1)
    }

    /// Reads a public key from SEC1 bytes: 65 bytes uncompressed or 33 compressed.
    ///
    /// # Errors
    /// [`ErrorCode::KeyMalformed`] for other lengths, [`ErrorCode::KeyInvalid`] for a
    /// point that is not on the curve.
    pub fn from_sec1(bytes: &[u8]) -> Result<PublicKey> {
        match (bytes.len(), bytes.first()) {
            (65, Some(0x04)) | (33, Some(0x02 | 0x03)) => {}
            _ => {
                return Err(key_error(
                    ErrorCode::KeyMalformed,
                    "a SEC1 P-256 public key is 65 bytes starting 04 or 33 bytes starting 02 or 03",
                ));
            }
        }
        let inner = VerifyingKey::from_sec1_bytes(bytes)
            .map_err(|_| key_error(ErrorCode::KeyInvalid, "public key point is not on the P-256 curve"))?;
        Ok(PublicKey::from_inner(inner))
    }

    /// The SEC1 encoding: 65 bytes uncompressed, or 33 compressed.
    pub fn to_sec1(&self, compressed: bool) -> Vec<u8> {
        self.inner.to_sec1_point(compressed).as_bytes().to_vec()
    }

    /// Reads a public key from SubjectPublicKeyInfo PEM (`PUBLIC KEY`).
    ///
    /// # Errors
    /// [`ErrorCode::KeyMalformed`] when the text is not such PEM for a P-256 key.
    pub fn from_pem(pem: &str) -> Result<PublicKey> {
        let inner = VerifyingKey::from_public_key_pem(pem.trim()).map_err(|_| {
            key_error(ErrorCode::KeyMalformed, "not a PEM P-256 public key (SubjectPublicKeyInfo 'PUBLIC KEY')")
        })?;
        Ok(PublicKey::from_inner(inner))
    }

    /// Reads a public key from JWK or PEM text; a private key's public part is taken.
    ///
    /// # Errors
    /// As [`PublicKey::from_jwk`] or [`PublicKey::from_pem`].
    pub fn from_text(text: &str) -> Result<PublicKey> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            PublicKey::from_jwk(text)
        } else if trimmed.starts_with("-----BEGIN PUBLIC KEY-----") {
            PublicKey::from_pem(text)
        } else {
            SigningKey::from_pem(text).map(|k| k.public)
        }
    }

    /// The public key as SubjectPublicKeyInfo PEM.
    pub fn to_pem(&self) -> String {
        match self.inner.to_public_key_pem(LineEnding::LF) {
            Ok(pem) => pem,
            Err(_) => unreachable!("SPKI encoding of a P-256 key failed"),
        }
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn to_der(&self) -> Vec<u8> {
        match self.inner.to_public_key_der() {
            Ok(der) => der.into_vec(),
            Err(_) => unreachable!("SPKI encoding of a P-256 key failed"),
        }
    }

    /// The public key as canonical JWK text with `alg`, `kid` and `use`.
    pub fn to_jwk(&self) -> String {
        self.jwk_text(None)
    }

    /// The key id: the RFC 7638 thumbprint, base64url.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn jwk_text(&self, private: Option<&[u8; 32]>) -> String {
        let point = self.inner.to_sec1_point(false);
        let coordinate = |c: Option<&[u8]>| Value::String(c.map(b64url).unwrap_or_default());
        let mut members = vec![
            ("alg", Value::from(ALGORITHM)),
            ("crv", Value::from("P-256")),
            ("kid", Value::from(self.kid.as_str())),
            ("kty", Value::from("EC")),
            ("use", Value::from("sig")),
            ("x", coordinate(point.x().map(|x| x.as_slice()))),
            ("y", coordinate(point.y().map(|y| y.as_slice()))),
        ];
        if let Some(d) = private {
            members.push(("d", Value::String(b64url(d))));
        }
        canonical_text(&Value::object(members))
    }

    /// Reads a public key from SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// [`ErrorCode::KeyMalformed`] when the bytes are not a P-256 SubjectPublicKeyInfo.
    pub fn from_der(der: &[u8]) -> Result<PublicKey> {
        let inner = VerifyingKey::from_public_key_der(der)
            .map_err(|_| key_error(ErrorCode::KeyMalformed, "not a DER P-256 public key (SubjectPublicKeyInfo)"))?;
        Ok(PublicKey::from_inner(inner))
    }

    /// This key, with its signature checks put to `oracle` ([`crate::deferred`]).
    pub(crate) fn deferred_to(&self, oracle: &std::sync::Arc<crate::deferred::Oracle>) -> PublicKey {
        PublicKey { verifier: self.verifier.deferred_to(oracle, &self.inner), ..self.clone() }
    }

    /// Verifies an ASN.1 DER ECDSA P-256 / SHA-256 signature over `message`.
    pub fn verify_der(&self, message: &[u8], der: &[u8]) -> bool {
        Signature::from_der(der).is_ok_and(|signature| self.verifier.verify(message, &signature))
    }

    /// A signature made with this key by a signer outside Evidentia (a platform
    /// keystore), in the 64-byte `R || S` form JWS uses, once it verifies over
    /// `message`. Platforms return ASN.1 DER (Android Keystore, Secure Enclave,
    /// `java.security`) or `R || S` (WebCrypto); both are accepted.
    ///
    /// # Errors
    /// [`ErrorCode::SignerFailed`] when the bytes are neither form, or the signature
    /// does not verify with this key.
    pub fn normalize_signature(&self, message: &[u8], signature: &[u8]) -> Result<[u8; 64]> {
        let failed = |why: &str| Error::new(ErrorCode::SignerFailed, why.to_owned());
        // Both readings are tried: a DER signature can be 64 bytes long too.
        let raw = (signature.len() == 64).then(|| Signature::from_slice(signature).ok()).flatten();
        let candidates: Vec<Signature> = raw.into_iter().chain(Signature::from_der(signature).ok()).collect();
        if candidates.is_empty() {
            return Err(failed("the signer returned neither a DER nor a 64-byte ECDSA P-256 signature"));
        }
        let verified = candidates.into_iter().find(|candidate| self.verifier.verify(message, candidate));
        let verified = verified.ok_or_else(|| {
            failed("the signer's signature does not verify with its public key over the data it was given")
        })?;
        Ok(verified.to_bytes().into())
    }

    /// Verifies a 64-byte `R || S` ECDSA P-256 / SHA-256 signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        match Signature::from_slice(signature) {
            Ok(signature) => self.verifier.verify(message, &signature),
            // R or S is zero or not below the group order.
            Err(_) => false,
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("kid", &self.kid).finish()
    }
}

/// A 64-byte `R || S` ECDSA P-256 signature in ASN.1 DER, the form OpenSSL reads.
///
/// # Errors
/// [`ErrorCode::SignatureInvalid`] when R or S is zero or not below the group order.
pub(crate) fn signature_to_der(signature: &[u8; 64]) -> Result<Vec<u8>> {
    let signature = Signature::from_slice(signature)
        .map_err(|_| Error::new(ErrorCode::SignatureInvalid, "the signature's R or S is out of range"))?;
    Ok(signature.to_der().as_bytes().to_vec())
}

/// Canonical JSON text of a value built by Evidentia itself.
pub(crate) fn canonical_text(value: &Value) -> String {
    match canonicalize_value(value).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        _ => unreachable!("values built by Evidentia are valid and shallow"),
    }
}

fn thumbprint_of_members(members: &[(&str, &str)]) -> String {
    let value = Value::object(members.iter().map(|(k, v)| (*k, Value::from(*v))));
    b64url(Digest::sha256(canonical_text(&value).as_bytes()).as_bytes())
}

/// The RFC 7638 SHA-256 thumbprint (base64url) of any JWK: EC, RSA, OKP or oct.
///
/// # Errors
/// [`ErrorCode::KeyMalformed`] when a member the thumbprint needs is missing or not
/// a string, [`ErrorCode::KeyUnsupported`] for an unknown `kty`.
pub fn jwk_thumbprint(jwk: &str) -> Result<String> {
    let value =
        parse(jwk.as_bytes()).map_err(|e| Error::new(ErrorCode::KeyMalformed, format!("JWK is not JSON: {e}")))?;
    jwk_thumbprint_value(&value)
}

/// As [`jwk_thumbprint`], for a parsed JWK.
///
/// # Errors
/// As [`jwk_thumbprint`].
pub(crate) fn jwk_thumbprint_value(jwk: &Value) -> Result<String> {
    let kty =
        jwk.get("kty").and_then(Value::as_str).ok_or_else(|| key_error(ErrorCode::KeyMalformed, "JWK has no 'kty'"))?;
    let required: &[&str] = match kty {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        "oct" => &["k", "kty"],
        _ => return Err(key_error(ErrorCode::KeyUnsupported, "unknown JWK key type")),
    };
    let mut members = Vec::with_capacity(required.len());
    for &name in required {
        let value = jwk.get(name).and_then(Value::as_str).ok_or_else(|| {
            Error::new(ErrorCode::KeyMalformed, format!("JWK member '{name}' is missing or not a string"))
        })?;
        members.push((name, value));
    }
    Ok(thumbprint_of_members(&members))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn randomized_signatures_differ_and_verify_and_deterministic_ones_do_not_change() {
        let key = fixed_key();
        let fast = key.with_randomized_signatures();
        assert_eq!(fast.kid(), key.kid());
        assert_eq!(key.sign(b"m"), key.sign(b"m"), "RFC 6979: the same bytes every time");
        let (a, b) = (fast.sign(b"m"), fast.sign(b"m"));
        assert!(key.public_key().verify(b"m", &a) && key.public_key().verify(b"m", &b));
        assert!(key.public_key().verify_der(b"m", &fast.sign_der(b"m")));
        assert!(!key.public_key().verify(b"other", &a));
        // A randomized provider exists exactly where AWS-LC verifies.
        assert_eq!(fast.is_randomized(), crate::VERIFICATION_PROVIDER == "aws-lc");
        assert_eq!(a != b, fast.is_randomized());
        assert!(!key.is_randomized());
    }

    fn fixed_key() -> SigningKey {
        SigningKey::from_bytes(&Digest::sha256(b"evidentia unit test key").as_bytes()[..]).unwrap()
    }

    #[test]
    fn jwk_pem_sec1_round_trips() {
        let key = fixed_key();
        let jwk = key.to_jwk();
        assert_eq!(SigningKey::from_jwk(&jwk).unwrap().to_bytes(), key.to_bytes());
        assert_eq!(SigningKey::from_pem(&key.to_pem()).unwrap().to_bytes(), key.to_bytes());
        assert_eq!(SigningKey::from_text(&key.to_pem()).unwrap().kid(), key.kid());
        let public = key.public_key();
        assert_eq!(&PublicKey::from_jwk(&key.public_jwk()).unwrap(), public);
        assert_eq!(&PublicKey::from_pem(&public.to_pem()).unwrap(), public);
        assert_eq!(&PublicKey::from_sec1(&public.to_sec1(true)).unwrap(), public);
        assert_eq!(&PublicKey::from_sec1(&public.to_sec1(false)).unwrap(), public);
        assert_eq!(&PublicKey::from_text(&jwk).unwrap(), public);
        assert_eq!(&PublicKey::from_text(&key.to_pem()).unwrap(), public);
        assert!(!jwk.contains(char::is_whitespace));
        assert!(!key.public_jwk().contains("\"d\""));
        assert_eq!(jwk_thumbprint(&key.public_jwk()).unwrap(), key.kid());
    }

    #[test]
    fn signing_is_deterministic_and_verifies() {
        let key = fixed_key();
        let a = key.sign(b"message");
        assert_eq!(a, key.sign(b"message"));
        assert!(key.public_key().verify(b"message", &a));
        assert!(!key.public_key().verify(b"messagf", &a));
        assert!(!key.public_key().verify(b"message", &[0u8; 64]));
    }

    #[test]
    fn rejects_bad_keys_with_codes() {
        let key = fixed_key();
        let other = SigningKey::from_bytes(&[7u8; 32]).unwrap();
        let mismatched = key.public_jwk().replace('}', &format!(",\"d\":\"{}\"}}", b64url(&other.to_bytes())));
        let cases: Vec<(String, ErrorCode)> = vec![
            ("".into(), ErrorCode::KeyMalformed),
            ("[]".into(), ErrorCode::KeyMalformed),
            ("{}".into(), ErrorCode::KeyMalformed),
            (r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#.into(), ErrorCode::KeyUnsupported),
            (r#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#.into(), ErrorCode::KeyUnsupported),
            (r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#.into(), ErrorCode::KeyMalformed),
            (key.public_jwk(), ErrorCode::KeyNotPrivate),
            (mismatched, ErrorCode::KeyInvalid),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(), ErrorCode::KeyMalformed),
            ("garbage".into(), ErrorCode::KeyMalformed),
        ];
        for (text, code) in cases {
            assert_eq!(SigningKey::from_text(&text).unwrap_err().code(), code, "{text}");
        }
        // A point off the curve.
        let mut sec1 = key.public_key().to_sec1(false);
        sec1[64] ^= 1;
        assert_eq!(PublicKey::from_sec1(&sec1).unwrap_err().code(), ErrorCode::KeyInvalid);
        assert_eq!(PublicKey::from_sec1(&sec1[..64]).unwrap_err().code(), ErrorCode::KeyMalformed);
        assert_eq!(SigningKey::from_bytes(&[0u8; 32]).unwrap_err().code(), ErrorCode::KeyInvalid);
        assert_eq!(SigningKey::from_bytes(&[0xffu8; 32]).unwrap_err().code(), ErrorCode::KeyInvalid);
        assert_eq!(SigningKey::from_bytes(&[1u8; 31]).unwrap_err().code(), ErrorCode::KeyMalformed);
    }

    #[test]
    fn debug_hides_the_private_key() {
        let key = fixed_key();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.kid()));
        assert!(!debug.contains(&b64url(&key.to_bytes())));
    }
}
