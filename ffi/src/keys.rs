//! Keys, key sets and JWS.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use evidentia::{Error, ErrorCode, JwsOptions, KeySet, PublicKey, Signer, SigningKey};

use crate::{boundary, bytes, evidentia_result, give, handle, take, text, write_out, write_text};

/// What signs for a key handle, shared with the logs that hold it.
pub(crate) type AnySigner = Arc<dyn Signer + Send + Sync>;

/// A P-256 signing key (opaque): a private key in memory, or a key held elsewhere
/// that signs in a PKCS#11 token ([`evidentia_signing_key_from_pkcs11`]) or through
/// a callback ([`evidentia_signing_key_from_callback`]).
pub struct evidentia_signing_key {
    signer: AnySigner,
    /// The private key, when it is in memory.
    software: Option<SigningKey>,
}

impl evidentia_signing_key {
    fn software(key: SigningKey) -> evidentia_signing_key {
        evidentia_signing_key { signer: Arc::new(key.clone()), software: Some(key) }
    }

    /// The signer, for the calls that sign.
    pub(crate) fn signer(&self) -> AnySigner {
        Arc::clone(&self.signer)
    }

    /// The private key in memory, for the calls that export or change it.
    fn private(&self) -> Result<&SigningKey, Error> {
        self.software.as_ref().ok_or_else(|| {
            Error::new(
                ErrorCode::KeyNotPrivate,
                "the key is held elsewhere (a token or a callback) and cannot be exported",
            )
        })
    }
}

impl std::fmt::Debug for evidentia_signing_key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("evidentia_signing_key").field("kid", &self.signer.public_key().kid()).finish_non_exhaustive()
    }
}

/// Signs `message` (the whole message; hash it with SHA-256) with ECDSA P-256 and
/// writes the signature, ASN.1 DER or the 64 bytes `R || S`, into `signature`
/// (room for `signature_cap` bytes, at least 72), its length into
/// `*signature_len`; returns 0 on success, anything else on failure.
pub type evidentia_sign_fn = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        message: *const u8,
        message_len: usize,
        signature: *mut u8,
        signature_cap: usize,
        signature_len: *mut usize,
    ) -> i32,
>;

/// A key held elsewhere (an HSM library, a cloud KMS client), signing through a
/// C function.
struct CallbackSigner {
    key: PublicKey,
    sign: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8, usize, *mut usize) -> i32,
    context: *mut c_void,
}

// SAFETY: the caller of `evidentia_signing_key_from_callback` promises that the
// function may be called with `context` from any thread, as documented there.
unsafe impl Send for CallbackSigner {}
// SAFETY: as for `Send`.
unsafe impl Sync for CallbackSigner {}

/// Room for any DER ECDSA P-256 signature (at most 72 bytes), with margin.
const SIGNATURE_ROOM: usize = 256;

impl Signer for CallbackSigner {
    fn public_key(&self) -> &PublicKey {
        &self.key
    }

    fn sign_message(&self, message: &[u8]) -> evidentia::Result<Vec<u8>> {
        let mut signature = vec![0u8; SIGNATURE_ROOM];
        let mut len = 0usize;
        // SAFETY: the buffers are valid for the lengths given; the function and
        // context are the caller's, as promised to `evidentia_signing_key_from_callback`.
        let status = unsafe {
            (self.sign)(
                self.context,
                message.as_ptr(),
                message.len(),
                signature.as_mut_ptr(),
                signature.len(),
                &mut len,
            )
        };
        if status != 0 {
            return Err(Error::new(
                ErrorCode::SignerFailed,
                format!("the signing callback failed with status {status}"),
            ));
        }
        if len > signature.len() {
            return Err(Error::new(
                ErrorCode::SignerFailed,
                "the signing callback wrote more than the room it was given",
            ));
        }
        signature.truncate(len);
        Ok(signature)
    }
}

/// A set of trusted public keys with their validity history (opaque).
#[derive(Debug)]
pub struct evidentia_key_set(pub(crate) KeySet);

/// `evidentia_signing_key_sign_jws` flag: leave the payload out of the JWS.
pub const EVIDENTIA_JWS_DETACHED: u32 = 1;
/// `evidentia_signing_key_sign_jws` flag: sign the payload unencoded (RFC 7797).
pub const EVIDENTIA_JWS_UNENCODED: u32 = 2;

/// Generates a new key from the operating system's random source.
///
/// # Safety
/// `out` must be writable; free the key with [`evidentia_signing_key_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_generate(out: *mut *mut evidentia_signing_key) -> evidentia_result {
    boundary(|| unsafe { give(evidentia_signing_key::software(SigningKey::generate()?), out) })
}

/// A key held elsewhere (an HSM library, a cloud KMS client, a platform keystore)
/// that signs through `sign`, called with `context`, with `public_jwk` its public
/// key (a P-256 JWK). Each signature is checked against the public key before it is
/// used: a failing callback or a wrong signature gives `EVIDENTIA_SIGNER_FAILED`,
/// and nothing is written in receipts mode (a batch-mode log keeps the batch it
/// stored, `EVIDENTIA_RECORDS_UNSEALED`, sealed by the next checkpoint a working
/// signer signs). The callback must not call back into a log it signs for (the log
/// is locked while it signs). Such a key cannot be exported
/// (`EVIDENTIA_KEY_NOT_PRIVATE`).
///
/// # Safety
/// `public_jwk` must point to `len` bytes; `out` must be writable. `sign` may be
/// called with `context` from any thread that uses the key or a log holding it,
/// until the key and every such log are freed; keep `context` valid until then.
/// Free the key with [`evidentia_signing_key_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_from_callback(
    public_jwk: *const c_char,
    len: usize,
    sign: evidentia_sign_fn,
    context: *mut c_void,
    out: *mut *mut evidentia_signing_key,
) -> evidentia_result {
    boundary(|| {
        let key = PublicKey::from_jwk(unsafe { text(public_jwk, len, "public_jwk")? })?;
        let sign = sign.ok_or_else(|| crate::null("sign"))?;
        let signer = Arc::new(CallbackSigner { key, sign, context });
        unsafe { give(evidentia_signing_key { signer, software: None }, out) }
    })
}

/// A key in a PKCS#11 token (an HSM, a smart card, SoftHSM2), named by an RFC 7512
/// URI: `pkcs11:token=…;object=…?pin-source=file:…&module-path=…` (the module may
/// also come from the environment variable `EVIDENTIA_PKCS11_MODULE`). The key never
/// leaves the token, and cannot be exported (`EVIDENTIA_KEY_NOT_PRIVATE`). Errors:
/// `EVIDENTIA_KEY_URI_INVALID`, `EVIDENTIA_TOKEN_NOT_FOUND`,
/// `EVIDENTIA_TOKEN_LOGIN_FAILED`, `EVIDENTIA_TOKEN_KEY_NOT_FOUND`,
/// `EVIDENTIA_KEY_UNSUPPORTED` (not a P-256 key), `EVIDENTIA_TOKEN_FAILED`.
///
/// # Safety
/// `uri` must point to `len` bytes; `out` must be writable. Free the key with
/// [`evidentia_signing_key_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_from_pkcs11(
    uri: *const c_char,
    len: usize,
    out: *mut *mut evidentia_signing_key,
) -> evidentia_result {
    boundary(|| {
        let signer = Arc::new(evidentia_pkcs11::Pkcs11Signer::open(unsafe { text(uri, len, "uri")? })?);
        unsafe { give(evidentia_signing_key { signer, software: None }, out) }
    })
}

/// Makes a new key handle for the same key that signs with random nonces through
/// AWS-LC: two to three times faster, but signatures (and so receipts) are no
/// longer byte-identical from run to run; they verify everywhere all the same.
///
/// # Safety
/// `key` must be a live key; `out` must be writable; free the new key with
/// [`evidentia_signing_key_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_with_randomized_signatures(
    key: *const evidentia_signing_key,
    out: *mut *mut evidentia_signing_key,
) -> evidentia_result {
    boundary(|| {
        let key = unsafe { handle(key, "key")? };
        unsafe { give(evidentia_signing_key::software(key.private()?.with_randomized_signatures()), out) }
    })
}

/// Reads a private key from JWK or PEM (PKCS#8 or SEC1) text.
///
/// # Safety
/// `key_text` must point to `len` bytes; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_from_text(
    key_text: *const c_char,
    len: usize,
    out: *mut *mut evidentia_signing_key,
) -> evidentia_result {
    boundary(|| {
        let key = SigningKey::from_text(unsafe { text(key_text, len, "key_text")? })?;
        unsafe { give(evidentia_signing_key::software(key), out) }
    })
}

/// Frees a key (NULL is ignored).
///
/// # Safety
/// `key` must come from this library and not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_free(key: *mut evidentia_signing_key) {
    unsafe { take(key) }
}

/// Writes the private key as canonical JWK text (`EVIDENTIA_KEY_NOT_PRIVATE` for a
/// key held elsewhere).
///
/// # Safety
/// `key` must be a live key; `out` must have room for `cap` bytes; `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_to_jwk(
    key: *const evidentia_signing_key,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let key = unsafe { handle(key, "key")? };
        unsafe { write_text(&key.private()?.to_jwk(), out, cap, out_len) }
    })
}

/// Writes the public key as canonical JWK text.
///
/// # Safety
/// As [`evidentia_signing_key_to_jwk`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_public_jwk(
    key: *const evidentia_signing_key,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let key = unsafe { handle(key, "key")? };
        unsafe { write_text(&key.signer.public_key().to_jwk(), out, cap, out_len) }
    })
}

/// Writes the private key as PKCS#8 PEM (`EVIDENTIA_KEY_NOT_PRIVATE` for a key
/// held elsewhere).
///
/// # Safety
/// As [`evidentia_signing_key_to_jwk`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_to_pem(
    key: *const evidentia_signing_key,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let key = unsafe { handle(key, "key")? };
        unsafe { write_text(&key.private()?.to_pem(), out, cap, out_len) }
    })
}

/// Writes the public key as SubjectPublicKeyInfo PEM.
///
/// # Safety
/// As [`evidentia_signing_key_to_jwk`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_public_pem(
    key: *const evidentia_signing_key,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let key = unsafe { handle(key, "key")? };
        unsafe { write_text(&key.signer.public_key().to_pem(), out, cap, out_len) }
    })
}

/// Writes the key id (the RFC 7638 thumbprint).
///
/// # Safety
/// As [`evidentia_signing_key_to_jwk`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_kid(
    key: *const evidentia_signing_key,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let key = unsafe { handle(key, "key")? };
        unsafe { write_text(key.signer.public_key().kid(), out, cap, out_len) }
    })
}

/// Signs a payload as a compact ES256 JWS (deterministic unless the key was made
/// by [`evidentia_signing_key_with_randomized_signatures`]). `flags` combines
/// `EVIDENTIA_JWS_DETACHED` and `EVIDENTIA_JWS_UNENCODED`.
///
/// # Safety
/// `payload` must point to `payload_len` bytes; the rest as for [`evidentia_signing_key_to_jwk`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_signing_key_sign_jws(
    key: *const evidentia_signing_key,
    payload: *const u8,
    payload_len: usize,
    flags: u32,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let key = unsafe { handle(key, "key")? };
        let payload = unsafe { bytes(payload, payload_len, "payload")? };
        let options = JwsOptions {
            detached: flags & EVIDENTIA_JWS_DETACHED != 0,
            unencoded: flags & EVIDENTIA_JWS_UNENCODED != 0,
        };
        let jws = evidentia::sign_jws(&*key.signer, payload, options)?;
        unsafe { write_text(&jws, out, cap, out_len) }
    })
}

/// Reads a key set: a JWKS (`{"keys":[...]}`), or a single JWK.
///
/// # Safety
/// `jwks` must point to `len` bytes; `out` must be writable; free the set with
/// [`evidentia_key_set_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_key_set_from_json(
    jwks: *const c_char,
    len: usize,
    out: *mut *mut evidentia_key_set,
) -> evidentia_result {
    boundary(|| {
        let keys = KeySet::from_json(unsafe { text(jwks, len, "jwks")? })?;
        unsafe { give(evidentia_key_set(keys), out) }
    })
}

/// Frees a key set (NULL is ignored).
///
/// # Safety
/// `keys` must come from this library and not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_key_set_free(keys: *mut evidentia_key_set) {
    unsafe { take(keys) }
}

/// Writes the RFC 7638 thumbprint of a JWK (EC, RSA, OKP or oct).
///
/// # Safety
/// `jwk` must point to `len` bytes; `out` must have room for `cap` bytes; `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_jwk_thumbprint(
    jwk: *const c_char,
    len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let thumbprint = evidentia::jwk_thumbprint(unsafe { text(jwk, len, "jwk")? })?;
        unsafe { write_text(&thumbprint, out, cap, out_len) }
    })
}

/// Verifies a compact ES256 JWS against a key set. Returns `EVIDENTIA_OK` when it
/// verifies, a verification code (600s, e.g. `EVIDENTIA_SIGNATURE_INVALID`) when it
/// does not, another code when it is malformed. On success the payload is copied to
/// `out_payload` (bytes, no NUL) when `out_payload` is not NULL.
///
/// `payload` (may be NULL) is the payload of a detached JWS.
///
/// # Safety
/// `jws` must point to `jws_len` bytes, `payload` to `payload_len` bytes; `keys`
/// must be a live key set; `out_payload` must have room for `cap` bytes; `out_len`
/// must be writable when `out_payload` is not NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_jws(
    jws: *const c_char,
    jws_len: usize,
    keys: *const evidentia_key_set,
    payload: *const u8,
    payload_len: usize,
    out_payload: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let jws = unsafe { text(jws, jws_len, "jws")? };
        let keys = unsafe { handle(keys, "keys")? };
        let detached = if payload.is_null() { None } else { Some(unsafe { bytes(payload, payload_len, "payload")? }) };
        let verified = evidentia::verify_jws(jws, &keys.0, detached, None)?;
        if out_payload.is_null() {
            return Ok(());
        }
        unsafe { write_out(&verified.payload, false, out_payload, cap, out_len) }
    })
}
