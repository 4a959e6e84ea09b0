//! Salted commitments to events, disclosures of some of their members, and keyed
//! hashes that keep personal data out of events (SPEC.md §26).

use std::ffi::c_char;

use evidentia::json::{ParseOptions, Value};
use evidentia::{Digest, Error, ErrorCode};

use crate::{boundary, bytes, evidentia_result, json_string, text, write_text};

/// Commits to an event (JSON text, any value) with an event salt of 16 to 64
/// random bytes. Returns `EVIDENTIA_OK` and writes to `out` JSON text
/// (NUL-terminated): `{"commitment": the commitment document, "disclosures":
/// [{"disclosure","digest","name"}], "event_digest": "sha256:…"}`. Otherwise a
/// code: `EVIDENTIA_INVALID_ARGUMENT` (a salt of another length), a `JSON_*` code,
/// or `EVIDENTIA_BUFFER_TOO_SMALL` with the size needed in `*out_len`.
///
/// # Safety
/// `event` must point to `event_len` bytes and `salt` to `salt_len`; `out` must
/// have room for `cap` bytes; `out_len` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_commit_event(
    event: *const c_char,
    event_len: usize,
    salt: *const u8,
    salt_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let event = unsafe { bytes(event.cast(), event_len, "event")? };
        let commitment = evidentia::commit_json(event, unsafe { bytes(salt, salt_len, "salt")? })?;
        unsafe { write_text(&json_string(&commitment.to_value())?, out, cap, out_len) }
    })
}

/// Checks disclosures (a JSON array of disclosure strings) against a commitment
/// document whose SHA-256 is `event_digest` (NUL-terminated, `sha256:<hex>`, the
/// record's event digest). Returns `EVIDENTIA_OK` and writes to `out` JSON text
/// (NUL-terminated): `{"disclosed": the disclosed members as an object (the value
/// itself for an event that is not an object), "names": [...], "undisclosed": how
/// many stay hidden}`. Otherwise a code:
/// `EVIDENTIA_DISCLOSURE_MISMATCH`, `EVIDENTIA_EVENT_MISMATCH`,
/// `EVIDENTIA_COMMITMENT_MALFORMED`, `EVIDENTIA_DIGEST_MALFORMED`,
/// `EVIDENTIA_INVALID_ARGUMENT` (disclosures that are not a JSON array of
/// strings), or `EVIDENTIA_BUFFER_TOO_SMALL` with the size needed in `*out_len`.
///
/// # Safety
/// `event_digest` must be NUL-terminated; `commitment` and `disclosures` must point
/// to their lengths in bytes; `out` must have room for `cap` bytes; `out_len`
/// must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_check_disclosures(
    event_digest: *const c_char,
    commitment: *const c_char,
    commitment_len: usize,
    disclosures: *const c_char,
    disclosures_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let digest =
            unsafe { crate::c_str(event_digest, "event_digest")? }.ok_or_else(|| crate::null("event_digest"))?;
        let digest = Digest::parse(digest)?;
        let commitment = unsafe { bytes(commitment.cast(), commitment_len, "commitment")? };
        let not_a_list = || Error::new(ErrorCode::InvalidArgument, "disclosures must be a JSON array of strings");
        // The list is as large as its disclosures, each of which may be as large as a
        // verifier reads (16 MiB of JSON, a third more in base64url): no size limit
        // of its own.
        let list_text = unsafe { text(disclosures, disclosures_len, "disclosures")? };
        let options = ParseOptions { max_size: list_text.len(), ..ParseOptions::default() };
        let list = evidentia::json::parse_with(list_text.as_bytes(), &options).map_err(|_| not_a_list())?;
        let given: Vec<&str> = match &list {
            Value::Array(items) => items.iter().map(Value::as_str).collect::<Option<_>>(),
            _ => None,
        }
        .ok_or_else(not_a_list)?;
        let disclosed = evidentia::check_disclosures(&digest, commitment, &given)?;
        unsafe { write_text(&json_string(&disclosed.to_value())?, out, cap, out_len) }
    })
}

/// Writes `hmac-sha256:` and the hex HMAC-SHA256 of `data` under `key` (at least
/// 16 bytes) to `out` (NUL-terminated, 77 bytes with the NUL): a value to write into
/// an event in place of personal data. Otherwise `EVIDENTIA_INVALID_ARGUMENT` (a
/// shorter key) or `EVIDENTIA_BUFFER_TOO_SMALL` with the size needed in `*out_len`.
///
/// # Safety
/// `key` and `data` must point to their lengths in bytes; `out` must have room for
/// `cap` bytes; `out_len` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_keyed_hash(
    key: *const u8,
    key_len: usize,
    data: *const u8,
    data_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let hash =
            evidentia::keyed_hash(unsafe { bytes(key, key_len, "key")? }, unsafe { bytes(data, data_len, "data")? })?;
        unsafe { write_text(&hash, out, cap, out_len) }
    })
}
