//! Keys, key sets and JWS.

use std::ffi::c_char;

use evidentia::{JwsOptions, KeySet, SigningKey};

use crate::{boundary, bytes, evidentia_result, give, handle, take, text, write_out, write_text};

/// A P-256 private key (opaque).
#[derive(Debug)]
pub struct evidentia_signing_key(pub(crate) SigningKey);

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
    boundary(|| unsafe { give(evidentia_signing_key(SigningKey::generate()?), out) })
}

/// Makes a new key handle for the same key that signs with random nonces through
/// AWS-LC: about three times faster, but signatures (and so receipts) are no
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
        unsafe { give(evidentia_signing_key(key.0.with_randomized_signatures()), out) }
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
        unsafe { give(evidentia_signing_key(key), out) }
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

/// Writes the private key as canonical JWK text.
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
        unsafe { write_text(&key.0.to_jwk(), out, cap, out_len) }
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
        unsafe { write_text(&key.0.public_jwk(), out, cap, out_len) }
    })
}

/// Writes the private key as PKCS#8 PEM.
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
        unsafe { write_text(&key.0.to_pem(), out, cap, out_len) }
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
        unsafe { write_text(&key.0.public_key().to_pem(), out, cap, out_len) }
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
        unsafe { write_text(key.0.kid(), out, cap, out_len) }
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
        let jws = evidentia::sign_jws(&key.0, payload, options)?;
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
