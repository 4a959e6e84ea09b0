//! Logs on disk.

use std::ffi::c_char;
use std::path::Path;
use std::sync::Mutex;

use evidentia::{Error, ErrorCode, Timestamp};
use evidentia_store::{AnyLog, AppendOptions, CreateOptions, Log, LogOptions, Mode, NewEvent, Wait};

use crate::keys::{AnySigner, evidentia_key_set, evidentia_signing_key};
use crate::verify::evidentia_report;
use crate::{
    boundary, bytes, c_str, evidentia_result, give, give_string, handle, handle_out, null, optional_text, string_out,
    take, write_out, write_text,
};

/// `evidentia_log_create` mode: every record signed (a receipt per append).
pub const EVIDENTIA_MODE_RECEIPTS: u32 = 0;
/// `evidentia_log_create` mode: one signed checkpoint per batch of appends.
pub const EVIDENTIA_MODE_BATCH: u32 = 1;
/// `evidentia_log_append` flag: when the nonce is already in the log with the same
/// event, return that record's receipt instead of `EVIDENTIA_NONCE_IN_USE`.
pub const EVIDENTIA_APPEND_IDEMPOTENT: u32 = 1;

/// A log opened for appending (opaque): a folder, or a log in PostgreSQL. Safe to
/// use from several threads at once.
pub struct evidentia_log {
    pub(crate) log: AnyLog,
    /// The key that signs appends; [`evidentia_log_rotate`] replaces it.
    key: Mutex<Option<AnySigner>>,
}

impl std::fmt::Debug for evidentia_log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("evidentia_log").field("log", &self.log).finish_non_exhaustive()
    }
}

impl evidentia_log {
    fn new(log: AnyLog, key: Option<AnySigner>) -> evidentia_log {
        evidentia_log { log, key: Mutex::new(key) }
    }

    /// The folder log, for `what`, which only a folder log does yet.
    pub(crate) fn folder(&self, what: &str) -> Result<&Log, Error> {
        self.log.folder(what)
    }

    pub(crate) fn key(&self) -> Result<AnySigner, Error> {
        let key = self.key.lock().map_err(|_| Error::new(ErrorCode::Internal, "a thread panicked holding the key"))?;
        key.clone().ok_or_else(|| Error::new(ErrorCode::KeyNotPrivate, "the log was opened without a signing key"))
    }
}

/// An optional RFC 3339 time from a NUL-terminated string; NULL is `None`.
pub(crate) unsafe fn timestamp(time: *const c_char, name: &str) -> Result<Option<Timestamp>, Error> {
    unsafe { c_str(time, name)? }.map(Timestamp::parse).transpose()
}

pub(crate) unsafe fn path<'a>(path: *const c_char) -> Result<&'a Path, Error> {
    let path = unsafe { c_str(path, "path")? }.ok_or_else(|| null("path"))?;
    Ok(Path::new(path))
}

/// Creates a new log in the directory `path` (or in the PostgreSQL database a
/// `postgres://` URL names), signed by `key` (copied), in mode
/// `EVIDENTIA_MODE_RECEIPTS` or `EVIDENTIA_MODE_BATCH`. `log_id` may be NULL for
/// a random id; `valid_from` (RFC 3339 UTC) is when the key becomes valid, NULL
/// for now: records may not be dated before it.
///
/// # Safety
/// `path`, `log_id` and `valid_from` must be NUL-terminated (or the last two NULL);
/// `key` live; `out` writable. Free the log with [`evidentia_log_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_create(
    path: *const c_char,
    key: *const evidentia_signing_key,
    log_id: *const c_char,
    mode: u32,
    valid_from: *const c_char,
    out: *mut *mut evidentia_log,
) -> evidentia_result {
    unsafe { evidentia_log_create_versioned(path, key, log_id, mode, valid_from, 0, out) }
}

/// As [`evidentia_log_create`], with the version of the records the log writes (SPEC.md §27): 2 commits to each event under a random salt kept beside
/// it, so that [`evidentia_log_erase`] can delete the event; 1 commits to its plain
/// digest; 0 is the library's default. Another number is
/// `EVIDENTIA_INVALID_ARGUMENT`.
///
/// # Safety
/// As [`evidentia_log_create`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_create_versioned(
    path: *const c_char,
    key: *const evidentia_signing_key,
    log_id: *const c_char,
    mode: u32,
    valid_from: *const c_char,
    record_version: u32,
    out: *mut *mut evidentia_log,
) -> evidentia_result {
    boundary(|| {
        let out = unsafe { handle_out(out)? };
        let dir = unsafe { self::path(path)? };
        let key = unsafe { handle(key, "key")? };
        let mode = match mode {
            EVIDENTIA_MODE_RECEIPTS => Mode::Receipts,
            EVIDENTIA_MODE_BATCH => Mode::Batch,
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    "mode is EVIDENTIA_MODE_RECEIPTS or EVIDENTIA_MODE_BATCH",
                ));
            }
        };
        let log_id = unsafe { c_str(log_id, "log_id")? }.map(str::to_owned);
        let key_valid_from = unsafe { c_str(valid_from, "valid_from")? }.map(Timestamp::parse).transpose()?;
        let record_version = match record_version {
            0 => None,
            v => Some(evidentia::RecordVersion::parse(u64::from(v))?),
        };
        let log = AnyLog::create(
            dir,
            &key.signer(),
            CreateOptions { log_id, mode, key_valid_from, record_version, ..CreateOptions::default() },
        )?;
        *out = Box::into_raw(Box::new(evidentia_log::new(log, Some(key.signer()))));
        Ok(())
    })
}

/// Opens an existing log for appending, a folder or a `postgres://` URL,
/// repairing what a crash left in a folder (see
/// [`evidentia_log_recovery`]). `key` (copied) may be NULL to open it for reading,
/// proving and verifying only. `wait_seconds` (0 to 86400) is how long to wait for
/// another process writing to the log before failing with `EVIDENTIA_LOG_LOCKED`.
///
/// # Safety
/// `path` NUL-terminated; `key` live or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_open(
    path: *const c_char,
    key: *const evidentia_signing_key,
    wait_seconds: f64,
    out: *mut *mut evidentia_log,
) -> evidentia_result {
    boundary(|| {
        let out = unsafe { handle_out(out)? };
        let dir = unsafe { self::path(path)? };
        let key = unsafe { key.as_ref() }.map(evidentia_signing_key::signer);
        let wait = Wait::from_seconds(Some(wait_seconds))?;
        let log = AnyLog::open(dir, &LogOptions { wait, ..LogOptions::default() })?;
        *out = Box::into_raw(Box::new(evidentia_log::new(log, key)));
        Ok(())
    })
}

/// Closes a log (NULL is ignored).
///
/// # Safety
/// `log` must come from this library and not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_free(log: *mut evidentia_log) {
    unsafe { take(log) }
}

/// Appends an event (JSON text) and gives what acknowledges it once it is on
/// stable storage: the receipt, or in batch mode a JSON line naming the record, as
/// a new string in `*out` (free it with [`crate::evidentia_string_free`]). `nonce`
/// and `time` (RFC 3339 UTC; the clock when NULL) may be NULL. `flags`: 0, or
/// `EVIDENTIA_APPEND_IDEMPOTENT`.
///
/// # Safety
/// `log` live; `event` must point to `event_len` bytes; `nonce`, `time`
/// NUL-terminated or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_append(
    log: *const evidentia_log,
    event: *const u8,
    event_len: usize,
    nonce: *const c_char,
    time: *const c_char,
    flags: u32,
    out: *mut *mut c_char,
) -> evidentia_result {
    boundary(|| {
        let out = unsafe { string_out(out)? };
        let log = unsafe { handle(log, "log")? };
        let event = unsafe { bytes(event, event_len, "event")? };
        let nonce = unsafe { c_str(nonce, "nonce")? };
        let time = unsafe { c_str(time, "time")? }.map(Timestamp::parse).transpose()?;
        let options = AppendOptions { time, idempotent: append_flags(flags)? };
        let appended = log.log.append_events(&log.key()?, &[NewEvent { json: event, nonce }], &options)?;
        give_string(appended.first().map(|a| a.to_line()).unwrap_or_default(), out)
    })
}

/// Appends `count` events (JSON texts: `events[i]` points to `event_lens[i]`
/// bytes) with one flush to stable storage and, in batch mode, one signed
/// checkpoint; all or none. Gives one acknowledgement per event, as
/// [`evidentia_log_append`] does, separated by newlines, in a new string in `*out`
/// (free it with [`crate::evidentia_string_free`]). `time` may be NULL. The
/// events take no nonces: [`evidentia_log_append_events`] gives them some.
///
/// # Safety
/// `log` live; `events` and `event_lens` must point to `count` entries each (or be
/// NULL when `count` is 0); otherwise as [`evidentia_log_append`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_append_batch(
    log: *const evidentia_log,
    events: *const *const u8,
    event_lens: *const usize,
    count: usize,
    time: *const c_char,
    out: *mut *mut c_char,
) -> evidentia_result {
    // SAFETY: as the caller promises, and no nonces.
    unsafe { evidentia_log_append_events(log, events, event_lens, count, std::ptr::null(), time, 0, out) }
}

/// As [`evidentia_log_append_batch`], with a nonce for each event: `nonces` is
/// NULL, or points to `count` nonces, each NUL-terminated or NULL for an event
/// without one. `flags` are those of [`evidentia_log_append`]: with
/// `EVIDENTIA_APPEND_IDEMPOTENT`, an event whose nonce is already in the log with
/// the same event gives that record's acknowledgement, as its first append gave
/// it, and the other events are appended (those without a nonce too: a retried
/// batch is safe when every event has a nonce).
///
/// # Safety
/// `log` live; `events` and `event_lens` (and `nonces`, unless NULL) must point
/// to `count` entries each (or be NULL when `count` is 0); otherwise as
/// [`evidentia_log_append`].
#[allow(clippy::too_many_arguments)] // the C ABI takes arguments, not a struct
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_append_events(
    log: *const evidentia_log,
    events: *const *const u8,
    event_lens: *const usize,
    count: usize,
    nonces: *const *const c_char,
    time: *const c_char,
    flags: u32,
    out: *mut *mut c_char,
) -> evidentia_result {
    boundary(|| {
        let out = unsafe { string_out(out)? };
        let log = unsafe { handle(log, "log")? };
        let pointers = unsafe { slice(events, count, "events")? };
        let lens = unsafe { slice(event_lens, count, "event_lens")? };
        let events = pointers
            .iter()
            .zip(lens)
            .map(|(&event, &len)| unsafe { bytes(event, len, "event") })
            .collect::<Result<Vec<_>, _>>()?;
        let nonces = match nonces.is_null() {
            true => None,
            false => Some(
                unsafe { slice(nonces, count, "nonces")? }
                    .iter()
                    .map(|&nonce| unsafe { c_str(nonce, "nonce") })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let time = unsafe { c_str(time, "time")? }.map(Timestamp::parse).transpose()?;
        let options = AppendOptions { time, idempotent: append_flags(flags)? };
        let batch = NewEvent::group(&events, nonces.as_deref())?;
        let appended = log.log.append_events(&log.key()?, &batch, &options)?;
        let lines: Vec<String> = appended.iter().map(|a| a.to_line()).collect();
        give_string(lines.join("\n"), out)
    })
}

/// Whether `flags` ask for an idempotent append; unknown flags are refused.
fn append_flags(flags: u32) -> Result<bool, Error> {
    if flags & !EVIDENTIA_APPEND_IDEMPOTENT != 0 {
        return Err(Error::new(ErrorCode::InvalidArgument, "unknown flags: 0 or EVIDENTIA_APPEND_IDEMPOTENT"));
    }
    Ok(flags & EVIDENTIA_APPEND_IDEMPOTENT != 0)
}

/// A slice of `T` from a pointer and a count; NULL is allowed only for count 0.
unsafe fn slice<'a, T>(data: *const T, count: usize, name: &str) -> Result<&'a [T], Error> {
    if data.is_null() {
        return if count == 0 { Ok(&[]) } else { Err(null(name)) };
    }
    // SAFETY: the caller promises `data` points to `count` readable values.
    Ok(unsafe { std::slice::from_raw_parts(data, count) })
}

/// Retires the log's current signing key, which first signs a checkpoint of the
/// records it signed, and continues with `new_key` (copied): records signed before
/// keep verifying with the key history.
///
/// # Safety
/// `log` and `new_key` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_rotate(
    log: *const evidentia_log,
    new_key: *const evidentia_signing_key,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let new_key = unsafe { handle(new_key, "new_key")? };
        let mut key =
            log.key.lock().map_err(|_| Error::new(ErrorCode::Internal, "a thread panicked holding the key"))?;
        let current = key
            .clone()
            .ok_or_else(|| Error::new(ErrorCode::KeyNotPrivate, "the log was opened without a signing key"))?;
        log.log.rotate(&current, &new_key.signer())?;
        *key = Some(new_key.signer());
        Ok(())
    })
}

/// Revokes the key `kid` of the log's key history from `at` (RFC 3339 UTC) on,
/// with a `reason` such as `keyCompromise` (NULL for none): the log's current key
/// signs a key record saying so, and evidence signed by `kid` claiming a time at or
/// after `at` is refused from then on, this log's own records included. The
/// current key cannot revoke itself (`EVIDENTIA_INVALID_ARGUMENT`): rotate first
/// with [`evidentia_log_rotate`]. A `kid` the log never had is
/// `EVIDENTIA_KEY_NOT_FOUND`; one revoked already, or a reason empty or longer
/// than 1 KiB, is `EVIDENTIA_INVALID_ARGUMENT`.
///
/// # Safety
/// `log` live; `kid` and `at` NUL-terminated; `reason` NUL-terminated or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_revoke(
    log: *const evidentia_log,
    kid: *const c_char,
    at: *const c_char,
    reason: *const c_char,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let kid = unsafe { c_str(kid, "kid")? }.ok_or_else(|| null("kid"))?;
        let at = unsafe { timestamp(at, "at")? }.ok_or_else(|| null("at"))?;
        let reason = unsafe { c_str(reason, "reason")? };
        log.log.revoke(&log.key()?, kid, at, reason)
    })
}

/// Erases the event of record `index` and its salt (a record of version 2, in a
/// folder or in PostgreSQL; SPEC.md §27): the log's key signs an erasure record naming the record
/// and `reason`, then every copy of the event in the log's files is overwritten or
/// removed; the record, its receipt and every proof stay valid. Writes the erasure
/// record's acknowledgement, as [`evidentia_log_append`] does.
/// `EVIDENTIA_RECORD_ERASED` when it was erased already;
/// `EVIDENTIA_ERASURE_REFUSED` for a version-1, key or erasure record, or one
/// under a legal hold; `EVIDENTIA_INVALID_ARGUMENT` for a record the log does not
/// have or a reason that is empty, over 1 KiB or holds a control character.
///
/// # Safety
/// `log` live; `reason` NUL-terminated; as [`evidentia_log_append`] for `out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_erase(
    log: *const evidentia_log,
    index: u64,
    reason: *const c_char,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let reason = unsafe { c_str(reason, "reason")? }.ok_or_else(|| null("reason"))?;
        let appended = log.log.erase(&log.key()?, index, reason)?;
        unsafe { write_text(&appended.to_line(), out, cap, out_len) }
    })
}

/// Sets a legal hold on record `index`, with a case or matter reference as
/// `reason`: its event cannot be erased until the hold is released.
///
/// # Safety
/// `log` live; `reason` NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_hold(
    log: *const evidentia_log,
    index: u64,
    reason: *const c_char,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let reason = unsafe { c_str(reason, "reason")? }.ok_or_else(|| null("reason"))?;
        log.log.hold(index, reason)
    })
}

/// Releases the legal hold on record `index`; `*released` says whether there was one.
///
/// # Safety
/// `log` live; `released` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_release(
    log: *const evidentia_log,
    index: u64,
    released: *mut bool,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let released = unsafe { released.as_mut() }.ok_or_else(|| null("released"))?;
        *released = log.log.release(index)?;
        Ok(())
    })
}

/// Writes the log's legal holds as a JSON array of `{"reason", "seq", "since"}`.
///
/// # Safety
/// As [`evidentia_log_append`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_holds(
    log: *const evidentia_log,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let holds = log.log.holds()?;
        let value = evidentia::json::Value::Array(holds.iter().map(evidentia_store::Hold::to_value).collect());
        let text = String::from_utf8(evidentia::canonicalize_value(&value)?).unwrap_or_default();
        unsafe { write_text(&text, out, cap, out_len) }
    })
}

/// Writes the log's key history (JWKS text, with each key's validity).
///
/// # Safety
/// As [`evidentia_log_append`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_keys(
    log: *const evidentia_log,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        unsafe { write_text(&log.log.keys()?.to_json(), out, cap, out_len) }
    })
}

/// Writes the log id.
///
/// # Safety
/// As [`evidentia_log_append`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_id(
    log: *const evidentia_log,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        unsafe { write_text(&log.log.log_id(), out, cap, out_len) }
    })
}

/// The number of records.
///
/// # Safety
/// `log` live; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_len(log: *const evidentia_log, out: *mut u64) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let out = unsafe { out.as_mut() }.ok_or_else(|| null("out"))?;
        *out = log.log.len()?;
        Ok(())
    })
}

/// Gives the latest signed checkpoint (a C2SP signed note), signing a new one
/// first if records were appended since, as a new string in `*out` (free it with
/// [`crate::evidentia_string_free`]).
///
/// # Safety
/// `log` live; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_checkpoint(
    log: *const evidentia_log,
    out: *mut *mut c_char,
) -> evidentia_result {
    boundary(|| {
        let out = unsafe { string_out(out)? };
        let log = unsafe { handle(log, "log")? };
        give_string(log.log.checkpoint(&log.key()?)?, out)
    })
}

/// Finds the record holding `nonce`: `*found` is true and `*index` its sequence
/// number, or `*found` is false.
///
/// # Safety
/// `log` live; `nonce` NUL-terminated; `found` and `index` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_find_nonce(
    log: *const evidentia_log,
    nonce: *const c_char,
    found: *mut bool,
    index: *mut u64,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let nonce = unsafe { c_str(nonce, "nonce")? }.ok_or_else(|| null("nonce"))?;
        let found = unsafe { found.as_mut() }.ok_or_else(|| null("found"))?;
        let index = unsafe { index.as_mut() }.ok_or_else(|| null("index"))?;
        let seq = log.log.find_nonce(nonce)?;
        *found = seq.is_some();
        *index = seq.unwrap_or(0);
        Ok(())
    })
}

/// Gives what opening the log found and repaired, as JSON (counts by name,
/// `repaired`, and `messages` in words), in a new string in `*out` (free it with
/// [`crate::evidentia_string_free`]).
///
/// # Safety
/// `log` live; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_recovery(log: *const evidentia_log, out: *mut *mut c_char) -> evidentia_result {
    boundary(|| {
        let out = unsafe { string_out(out)? };
        let log = unsafe { handle(log, "log")? };
        give_string(log.folder("recovery")?.recovery().to_json(), out)
    })
}

/// Writes what a holder of record `index` needs to verify it offline: its receipt,
/// or in batch mode its batch receipt.
///
/// # Safety
/// As [`evidentia_log_append`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_receipt(
    log: *const evidentia_log,
    index: u64,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        unsafe { write_text(&log.log.receipt(index)?, out, cap, out_len) }
    })
}

/// Writes the salt record `index` commits to its event under, for a record of
/// version 2 (16 bytes; SPEC.md §26), to `out`: with the event, it checks the
/// receipt without the log ([`evidentia_verify_receipt_salted`](crate::verify::evidentia_verify_receipt_salted)).
/// For a record of version 1, whose event has no salt, `*out_len` is 0 and nothing
/// is written. `EVIDENTIA_RECORD_ERASED` once the event is erased.
///
/// # Safety
/// `log` live; `out` must have room for `cap` bytes (or be NULL with `cap` 0, to
/// learn the length from `EVIDENTIA_BUFFER_TOO_SMALL`); `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_salt(
    log: *const evidentia_log,
    index: u64,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let salt = log.log.salt(index)?.unwrap_or_default();
        if salt.is_empty() {
            // SAFETY: the caller promises `out_len` is writable, or NULL.
            *unsafe { out_len.as_mut() }.ok_or_else(|| null("out_len"))? = 0;
            return Ok(());
        }
        unsafe { write_out(&salt, false, out, cap, out_len) }
    })
}

/// Writes the inclusion proof (JSON) of record `index` in the tree of `size`
/// records; `size` 0 means the latest checkpoint's size.
///
/// # Safety
/// As [`evidentia_log_append`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_inclusion_proof(
    log: *const evidentia_log,
    index: u64,
    size: u64,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let proof = log.log.inclusion_proof(index, (size != 0).then_some(size))?;
        unsafe { write_text(&proof.to_json()?, out, cap, out_len) }
    })
}

/// Writes the evidence package of record `index` (SPEC.md §19) to the new folder
/// `dir` (a NUL-terminated path) and to `dir` + `.tar.gz`, and gives the archive's
/// path as a new string in `*out` (free it with [`crate::evidentia_string_free`]).
/// The package verifies with its `verify.sh` and OpenSSL alone.
///
/// # Safety
/// `log` live; `dir` is a NUL-terminated UTF-8 path; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_export_package(
    log: *const evidentia_log,
    index: u64,
    dir: *const c_char,
    out: *mut *mut c_char,
) -> evidentia_result {
    boundary(|| {
        let out = unsafe { string_out(out)? };
        let log = unsafe { handle(log, "log")? };
        let target = unsafe { path(dir)? };
        let archive = log.log.export_package(index, target)?;
        give_string(archive.display().to_string(), out)
    })
}

/// As [`evidentia_log_export_package`], for a version-2 record disclosing only the members `disclose` names, a JSON array of strings
/// (`disclose_len` bytes; SPEC.md §19 check 13): the others stay hidden. A name the
/// event has no member of, a version-1 record, or a list that is not a JSON array
/// of strings is `EVIDENTIA_INVALID_ARGUMENT`.
///
/// # Safety
/// As [`evidentia_log_export_package`]; `disclose` readable for `disclose_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_export_package_disclosing(
    log: *const evidentia_log,
    index: u64,
    dir: *const c_char,
    disclose: *const c_char,
    disclose_len: usize,
    out: *mut *mut c_char,
) -> evidentia_result {
    boundary(|| {
        let out = unsafe { string_out(out)? };
        let log = unsafe { handle(log, "log")? };
        let target = unsafe { path(dir)? };
        let list = unsafe { crate::text(disclose, disclose_len, "disclose")? };
        let not_a_list = || Error::new(ErrorCode::InvalidArgument, "disclose must be a JSON array of strings");
        let names: Vec<String> = match evidentia::json::parse(list.as_bytes()).map_err(|_| not_a_list())? {
            evidentia::json::Value::Array(items) => {
                items.iter().map(|i| i.as_str().map(str::to_owned)).collect::<Option<_>>().ok_or_else(not_a_list)?
            }
            _ => return Err(not_a_list()),
        };
        let archive = log.log.export_package_disclosing(index, target, Some(&names))?;
        give_string(archive.display().to_string(), out)
    })
}

/// Gives record `index`'s C2SP tlog-proof (SPEC.md §22.3) as a new string in
/// `*proof_out`, and its entry, the record's bytes (canonical JSON text), as a new
/// string in `*entry_out` (free both with [`crate::evidentia_string_free`]): to the
/// checkpoint of `size` records, or with `size` 0 to the newest covering it that
/// the log keeps cosigned by witnesses, else the newest.
///
/// # Safety
/// `log` live; `proof_out` and `entry_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_tlog_proof(
    log: *const evidentia_log,
    index: u64,
    size: u64,
    proof_out: *mut *mut c_char,
    entry_out: *mut *mut c_char,
) -> evidentia_result {
    boundary(|| {
        let proof_out = unsafe { string_out(proof_out)? };
        let entry_out = unsafe { string_out(entry_out)? };
        let log = unsafe { handle(log, "log")? };
        let size = (size != 0).then_some(size);
        let (proof, entry) = evidentia_store::record_tlog_proof(log.folder("tlog-proofs")?.dir(), index, size)?;
        let entry = String::from_utf8(entry)
            .map_err(|_| evidentia::Error::new(evidentia::ErrorCode::LogCorrupt, "the record is not UTF-8 text"))?;
        give_string(proof.to_text(), proof_out)?;
        give_string(entry, entry_out)
    })
}

/// Writes the consistency proof (JSON) between the trees of `old` and `new`
/// records; `new` 0 means the latest checkpoint's size.
///
/// # Safety
/// As [`evidentia_log_append`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_consistency_proof(
    log: *const evidentia_log,
    old: u64,
    new: u64,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let proof = log.log.consistency_proof(old, (new != 0).then_some(new))?;
        unsafe { write_text(&proof.to_json()?, out, cap, out_len) }
    })
}

/// Verifies the whole log against `keys` (NULL: the log's own key history).
///
/// # Safety
/// `log` live; `keys` live or NULL; `out` writable. Free the report with
/// [`crate::evidentia_report_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_verify(
    log: *const evidentia_log,
    keys: *const evidentia_key_set,
    out: *mut *mut evidentia_report,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let keys = unsafe { keys.as_ref() }.map(|k| &k.0);
        let report = log.log.verify(keys, None)?;
        unsafe { give(evidentia_report(report), out) }
    })
}

/// As [`evidentia_log_verify`], only the records after `checkpoint`, a signed
/// checkpoint of the log the caller trusts (`checkpoint_len` bytes; SPEC.md
/// §13.1): the log's tree must still hold it, else the report fails with
/// CHECKPOINT_MISMATCH; records before it are not read again. NULL with length 0
/// verifies the whole log.
///
/// # Safety
/// `log` live; `keys` live or NULL; `checkpoint` must point to `checkpoint_len`
/// bytes or be NULL; `out` writable. Free the report with
/// [`crate::evidentia_report_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_verify_from(
    log: *const evidentia_log,
    keys: *const evidentia_key_set,
    checkpoint: *const c_char,
    checkpoint_len: usize,
    out: *mut *mut evidentia_report,
) -> evidentia_result {
    boundary(|| {
        let log = unsafe { handle(log, "log")? };
        let keys = unsafe { keys.as_ref() }.map(|k| &k.0);
        let checkpoint = unsafe { optional_text(checkpoint, checkpoint_len, "checkpoint")? };
        let report = log.log.verify(keys, checkpoint)?;
        unsafe { give(evidentia_report(report), out) }
    })
}

/// As [`evidentia_verify_log_dir`], only the records after a trusted checkpoint
/// (see [`evidentia_log_verify_from`]).
///
/// # Safety
/// `path` NUL-terminated; `keys` live or NULL; `checkpoint` must point to
/// `checkpoint_len` bytes or be NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_log_dir_from(
    path: *const c_char,
    keys: *const evidentia_key_set,
    checkpoint: *const c_char,
    checkpoint_len: usize,
    out: *mut *mut evidentia_report,
) -> evidentia_result {
    boundary(|| {
        let dir = unsafe { self::path(path)? };
        let keys = unsafe { keys.as_ref() }.map(|k| &k.0);
        let checkpoint = unsafe { optional_text(checkpoint, checkpoint_len, "checkpoint")? };
        let report = evidentia_store::verify_dir_from(dir, keys, checkpoint, |_| {})?;
        unsafe { give(evidentia_report(report), out) }
    })
}

/// Verifies the log in the directory `path` without opening it for writing (so
/// while another process may be appending).
///
/// # Safety
/// `path` NUL-terminated; `keys` live or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_log_dir(
    path: *const c_char,
    keys: *const evidentia_key_set,
    out: *mut *mut evidentia_report,
) -> evidentia_result {
    boundary(|| {
        let dir = unsafe { self::path(path)? };
        let keys = unsafe { keys.as_ref() }.map(|k| &k.0);
        let report = evidentia_store::verify_dir(dir, keys, |_| {})?;
        unsafe { give(evidentia_report(report), out) }
    })
}
