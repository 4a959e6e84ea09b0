//! Signatures by other parties (SPEC.md §21): a partner's JWS or raw signature,
//! signed messages recorded in a log, and records found by an indexed field.

use std::ffi::c_char;

use evidentia::json::{Value, parse};
use evidentia::{Direction, Error, ErrorCode, NewMessage, PartnerAlgorithm, PartnerKey, PartnerKeys, SignedMessage};
use evidentia_store::AppendOptions;

use crate::log::{evidentia_log, timestamp};
use crate::{
    boundary, bytes, c_str, evidentia_result, give_string, handle, json_string, null, optional_bytes, string_out, text,
    write_out, write_text,
};

/// `evidentia_log_record_message` flag: record a message whose signature does not
/// verify, marked as failed, instead of returning the failure's code.
pub const EVIDENTIA_RECORD_FAILURE: u32 = 1;

/// Verifies a compact JWS another party signed (ES256, ES384, ES512, RS256, PS256,
/// PS384 or EdDSA) against its keys, `keys` (JSON text: a JWKS or one JWK, public
/// keys only). Returns `EVIDENTIA_OK` when it verifies, a verification code (600s,
/// e.g. `EVIDENTIA_SIGNATURE_INVALID`) when it does not, another code when it is
/// malformed. On success the payload is copied to `out_payload` (bytes, no NUL)
/// when `out_payload` is not NULL.
///
/// `payload` (may be NULL) is the payload of a detached JWS.
///
/// # Safety
/// `jws` must point to `jws_len` bytes, `keys` to `keys_len` bytes, `payload` to
/// `payload_len` bytes (or be NULL); `out_payload` must have room for `cap` bytes;
/// `out_len` must be writable when `out_payload` is not NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_partner_jws(
    jws: *const c_char,
    jws_len: usize,
    keys: *const c_char,
    keys_len: usize,
    payload: *const u8,
    payload_len: usize,
    out_payload: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let jws = unsafe { text(jws, jws_len, "jws")? };
        let keys = PartnerKeys::from_json(unsafe { text(keys, keys_len, "keys")? })?;
        let detached = unsafe { optional_bytes(payload, payload_len, "payload")? };
        let verified = evidentia::verify_partner_jws(jws, detached, &keys)?;
        if out_payload.is_null() {
            return Ok(());
        }
        unsafe { write_out(&verified.payload, false, out_payload, cap, out_len) }
    })
}

/// Verifies a raw signature another party made over `message` with the algorithm
/// `alg` (NUL-terminated: `"ES256"` … `"EdDSA"`) and the public key `jwk` (JSON
/// text). ECDSA signatures are `R || S`. Returns `EVIDENTIA_OK` when it verifies,
/// `EVIDENTIA_SIGNATURE_INVALID` when it does not, another code when an argument
/// cannot be used.
///
/// # Safety
/// `alg` NUL-terminated; `jwk`, `message` and `signature` must point to their
/// lengths in bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_partner_signature(
    alg: *const c_char,
    jwk: *const c_char,
    jwk_len: usize,
    message: *const u8,
    message_len: usize,
    signature: *const u8,
    signature_len: usize,
) -> evidentia_result {
    boundary(|| {
        let alg = PartnerAlgorithm::from_name(unsafe { c_str(alg, "alg")? }.ok_or_else(|| null("alg"))?)?;
        let key = PartnerKey::from_jwk(unsafe { text(jwk, jwk_len, "jwk")? })?;
        let message = unsafe { bytes(message, message_len, "message")? };
        let signature = unsafe { bytes(signature, signature_len, "signature")? };
        key.verify(alg, message, signature)
    })
}

/// Checks a JWS another party signed (or one sent to it) against `keys` (JSON
/// text: a JWKS or one JWK) and records it in the log with those keys, where they
/// came from (`provenance`: a JSON object, NULL for `{}`) and the result; gives the
/// acknowledgement as [`crate::evidentia_log_append`] does, in a new string in
/// `*out` (free it with [`crate::evidentia_string_free`]).
///
/// `payload` (may be NULL) is the payload of a detached JWS; `direction` is
/// `"inbound"` (received) or `"outbound"` (sent); `link` is the sequence number of
/// the record this message answers, negative for none; `flags` is 0 or
/// `EVIDENTIA_RECORD_FAILURE`; `nonce` may be NULL; `time` (RFC 3339 UTC) is the
/// time of the check and of the record, the clock when NULL (for imports).
///
/// # Safety
/// `log` live; `jws`, `keys`, `provenance` and `payload` must point to their
/// lengths in bytes (the last two may be NULL); `direction` NUL-terminated;
/// `nonce`, `time` NUL-terminated or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_record_message(
    log: *const evidentia_log,
    jws: *const c_char,
    jws_len: usize,
    payload: *const u8,
    payload_len: usize,
    keys: *const c_char,
    keys_len: usize,
    provenance: *const u8,
    provenance_len: usize,
    direction: *const c_char,
    link: i64,
    flags: u32,
    nonce: *const c_char,
    time: *const c_char,
    out: *mut *mut c_char,
) -> evidentia_result {
    boundary(|| {
        let out = unsafe { string_out(out)? };
        let log = unsafe { handle(log, "log")? };
        let jws = unsafe { text(jws, jws_len, "jws")? };
        let detached = unsafe { optional_bytes(payload, payload_len, "payload")? };
        let keys = PartnerKeys::from_json(unsafe { text(keys, keys_len, "keys")? })?;
        let provenance = match unsafe { optional_bytes(provenance, provenance_len, "provenance")? } {
            Some(json) => parse(json)?,
            None => Value::object(Vec::<(String, Value)>::new()),
        };
        let direction =
            Direction::from_name(unsafe { c_str(direction, "direction")? }.ok_or_else(|| null("direction"))?)?;
        if flags & !EVIDENTIA_RECORD_FAILURE != 0 {
            return Err(Error::new(ErrorCode::InvalidArgument, "unknown flags: 0 or EVIDENTIA_RECORD_FAILURE"));
        }
        let nonce = unsafe { c_str(nonce, "nonce")? };
        let time = unsafe { timestamp(time, "time")? };
        let key = log.key()?;
        let link =
            u64::try_from(link).ok().map(|seq| log.folder("recording signed messages")?.link_to(seq)).transpose()?;
        let message = SignedMessage::verify_new(&NewMessage {
            jws,
            detached_payload: detached,
            keys: &keys,
            provenance: &provenance,
            direction,
            link,
            record_failure: flags & EVIDENTIA_RECORD_FAILURE != 0,
            at: match time {
                Some(time) => time,
                None => evidentia_store::now()?,
            },
        })?;
        let appended = log.folder("recording signed messages")?.record_message(
            &key,
            &message,
            nonce,
            &AppendOptions { time, idempotent: false },
        )?;
        give_string(appended.to_line(), out)
    })
}

/// Writes the signed message record `index` holds, as JSON (its direction, JWS,
/// key snapshot, provenance, recorded verification and decoded payload), or empty
/// text (`*out_len` 0) when the record holds an ordinary event.
///
/// # Safety
/// `log` live; `out` must have room for `cap` bytes; `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_message(
    log: *const evidentia_log,
    index: u64,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let shown =
            log.folder("reading signed messages")?.message(index)?.map(|m| json_string(&m.describe())).transpose()?;
        unsafe { write_text(shown.as_deref().unwrap_or(""), out, cap, out_len) }
    })
}

/// Checks the signed message record `index` holds again, now, with the keys
/// recorded with it, and writes the result as JSON: `agrees`, `original`,
/// `reverified`, `status` and `valid`.
///
/// # Safety
/// As [`evidentia_log_message`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_verify_message(
    log: *const evidentia_log,
    index: u64,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let checked = log.folder("reading signed messages")?.verify_message(index)?;
        unsafe { write_text(&json_string(&checked.to_value())?, out, cap, out_len) }
    })
}

/// Writes the signed message an event (JSON text, as in an evidence file) holds,
/// as [`evidentia_log_message`] does, or empty text when it is an ordinary event.
///
/// # Safety
/// `event` must point to `event_len` bytes; `out` must have room for `cap` bytes;
/// `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_read_signed_message(
    event: *const u8,
    event_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let event = parse(unsafe { bytes(event, event_len, "event")? })?;
        let shown = SignedMessage::from_event(&event)?.map(|m| json_string(&m.describe())).transpose()?;
        unsafe { write_text(shown.as_deref().unwrap_or(""), out, cap, out_len) }
    })
}

/// Writes the indexes of the records whose event holds `value` in the indexed
/// payload field `field` (for a signed message, a field of its JWS payload), in
/// ascending order, as a JSON array (`[3,17]`; `[]` when none does).
/// `EVIDENTIA_FIELD_NOT_INDEXED` when the log does not index `field`.
///
/// # Safety
/// `log` live; `field` and `value` NUL-terminated; `out` must have room for `cap`
/// bytes; `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_find(
    log: *const evidentia_log,
    field: *const c_char,
    value: *const c_char,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let field = unsafe { c_str(field, "field")? }.ok_or_else(|| null("field"))?;
        let value = unsafe { c_str(value, "value")? }.ok_or_else(|| null("value"))?;
        let found = log.folder("finding records by field")?.find(field, value)?;
        let indexes = found.iter().map(|seq| seq.to_string()).collect::<Vec<_>>().join(",");
        unsafe { write_text(&format!("[{indexes}]"), out, cap, out_len) }
    })
}

/// Indexes one more payload field (`name`, NUL-terminated), for the records
/// already in the log as well as later ones, so that [`evidentia_log_find`] finds
/// them.
///
/// # Safety
/// `log` live; `name` NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_add_index_field(
    log: *const evidentia_log,
    name: *const c_char,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let name = unsafe { c_str(name, "name")? }.ok_or_else(|| null("name"))?;
        log.folder("indexing payload fields")?.add_index_field(name)
    })
}
