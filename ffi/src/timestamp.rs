//! RFC 3161 trusted timestamps (SPEC.md §20): a request for a time-stamping
//! authority, the verification of its response, and a response stored with a log's
//! checkpoint. Sending the request is the application's.

use std::ffi::c_char;

use evidentia::Error;
use evidentia::timestamp::{TimestampRequest, TimestampTrust, verify_timestamp};

use crate::log::evidentia_log;
use crate::{
    boundary, bytes, c_str, evidentia_result, give_string, handle, json_string, optional_bytes, string_out, write_out,
    write_text,
};

/// Whom to trust, and the request a response must answer, from the arguments.
#[allow(clippy::too_many_arguments)]
unsafe fn trust(
    roots: *const u8,
    roots_len: usize,
    intermediates: *const u8,
    intermediates_len: usize,
    tsa_certificate: *const u8,
    tsa_certificate_len: usize,
    request: *const u8,
    request_len: usize,
) -> Result<(TimestampTrust, Option<TimestampRequest>), Error> {
    // SAFETY: forwarded from the caller.
    let (roots, intermediates, tsa, request) = unsafe {
        (
            bytes(roots, roots_len, "roots")?,
            optional_bytes(intermediates, intermediates_len, "intermediates")?,
            optional_bytes(tsa_certificate, tsa_certificate_len, "tsa_certificate")?,
            optional_bytes(request, request_len, "request")?,
        )
    };
    let trust = TimestampTrust::from_certificate_files(roots, intermediates, tsa)?;
    Ok((trust, request.map(TimestampRequest::parse).transpose()?))
}

/// Writes a time-stamp request (DER, the contents of a `.tsq` file) for `data` —
/// for a log, its checkpoint note — hashed with `hash` (a NUL-terminated "sha256",
/// "sha384" or "sha512"; NULL for "sha256"), with a random nonce, to `out` (bytes,
/// no NUL). Each call makes a new nonce, so a retry after
/// `EVIDENTIA_BUFFER_TOO_SMALL` gives another request: send the one written.
///
/// # Safety
/// `data` must point to `data_len` bytes; `hash` is NULL or NUL-terminated; `out`
/// must have room for `cap` bytes; `out_len` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_timestamp_request(
    data: *const u8,
    data_len: usize,
    hash: *const c_char,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let data = unsafe { bytes(data, data_len, "data")? };
        let hash = unsafe { c_str(hash, "hash")? }.unwrap_or("sha256");
        let request = TimestampRequest::generate(data, hash)?;
        unsafe { write_out(request.to_der(), false, out, cap, out_len) }
    })
}

/// Verifies a time-stamping authority's response (DER, a `.tsr` file) for `data`
/// through the trusted `roots` (PEM or DER certificates), with `intermediates` that
/// may complete the chain and a pinned `tsa_certificate` (each NULL for none), as
/// the answer to `request` (DER; NULL for any). Returns `EVIDENTIA_OK` and writes
/// the result to `out` as JSON text (NUL-terminated): `{"chain","gen_time","hash",
/// "nonce","policy","root_sha256_fingerprint","serial","tsa"}`. Otherwise a code:
/// `EVIDENTIA_TIMESTAMP_MISMATCH`, `EVIDENTIA_TIMESTAMP_SIGNATURE_INVALID`,
/// `EVIDENTIA_TIMESTAMP_UNTRUSTED`, `EVIDENTIA_TIMESTAMP_NOT_GRANTED`,
/// `EVIDENTIA_TIMESTAMP_MALFORMED`, `EVIDENTIA_TIMESTAMP_UNSUPPORTED`, or
/// `EVIDENTIA_BUFFER_TOO_SMALL` with the size needed in `*out_len`.
///
/// # Safety
/// Each pointer must point to its length in bytes (the optional ones may be NULL);
/// `out` must have room for `cap` bytes; `out_len` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_timestamp(
    response: *const u8,
    response_len: usize,
    data: *const u8,
    data_len: usize,
    roots: *const u8,
    roots_len: usize,
    intermediates: *const u8,
    intermediates_len: usize,
    tsa_certificate: *const u8,
    tsa_certificate_len: usize,
    request: *const u8,
    request_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let (response, data) = unsafe { (bytes(response, response_len, "response")?, bytes(data, data_len, "data")?) };
        let (trust, request) = unsafe {
            trust(
                roots,
                roots_len,
                intermediates,
                intermediates_len,
                tsa_certificate,
                tsa_certificate_len,
                request,
                request_len,
            )?
        };
        let verified = verify_timestamp(response, data, request.as_ref(), &trust)?;
        unsafe { write_text(&json_string(&verified.to_value())?, out, cap, out_len) }
    })
}

/// Verifies a time-stamping authority's response (DER) for one of the log's
/// checkpoints, as [`evidentia_verify_timestamp`] does, and stores it beside the
/// checkpoint, so that packages exported later include it. Gives the result as a
/// new string in `*out` (free it with [`crate::evidentia_string_free`]): the JSON of
/// [`evidentia_verify_timestamp`] with `size`, the size of the checkpoint the token
/// covers. `EVIDENTIA_TIMESTAMP_MISMATCH` when it covers none.
///
/// # Safety
/// `log` live; the byte arguments as for [`evidentia_verify_timestamp`]; `out`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_attach_timestamp(
    log: *const evidentia_log,
    response: *const u8,
    response_len: usize,
    roots: *const u8,
    roots_len: usize,
    intermediates: *const u8,
    intermediates_len: usize,
    tsa_certificate: *const u8,
    tsa_certificate_len: usize,
    request: *const u8,
    request_len: usize,
    out: *mut *mut c_char,
) -> evidentia_result {
    boundary(|| {
        let out = unsafe { string_out(out)? };
        let log = unsafe { handle(log, "log")? };
        let response = unsafe { bytes(response, response_len, "response")? };
        let (trust, request) = unsafe {
            trust(
                roots,
                roots_len,
                intermediates,
                intermediates_len,
                tsa_certificate,
                tsa_certificate_len,
                request,
                request_len,
            )?
        };
        let (size, verified) = evidentia_store::attach_timestamp(
            log.folder("attaching timestamps")?.dir(),
            response,
            request.as_ref(),
            &trust,
        )?;
        give_string(json_string(&verified.to_value_for_checkpoint(size))?, out)
    })
}
