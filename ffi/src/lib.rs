//! The C ABI of Evidentia (`evidentia.h`), following the conventions of rustls-ffi:
//!
//! - every fallible function returns an [`evidentia_result`]: `EVIDENTIA_OK` or a
//!   code of the core's stable table (docs/ERRORS.md);
//! - outputs go through out-parameters; opaque handles are made by
//!   `evidentia_<type>_new…`/`…_from…` and released by `evidentia_<type>_free`;
//! - every output buffer comes with its capacity and an `out_len`: text is written
//!   with a terminating NUL (`*out_len` excludes it), bytes without; when the buffer
//!   is too small, nothing is written, `*out_len` receives the size needed (text:
//!   including the NUL) and the result is `EVIDENTIA_BUFFER_TOO_SMALL`;
//! - a function that changes something (an append, a checkpoint, a package) does
//!   not take a buffer, since a retry with a larger one would change it again: it
//!   returns a string the library allocates, freed with [`evidentia_string_free`];
//! - the message of the last error on the calling thread is copied out by
//!   [`evidentia_last_error`];
//! - every pointer is checked for NULL, and no panic unwinds into C: a panic
//!   becomes `EVIDENTIA_INTERNAL`.
//!
//! No evidence logic lives here: each function converts its arguments, calls the
//! core or the store, and maps the result.
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

mod commitment;
mod keys;
mod log;
mod message;
mod package;
mod result;
mod timestamp;
mod verify;
mod witness;

use std::cell::RefCell;
use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use evidentia::{Error, ErrorCode};

pub use commitment::*;
pub use keys::*;
pub use log::*;
pub use message::*;
pub use package::*;
pub use result::evidentia_result;
pub use timestamp::*;
pub use verify::*;
pub use witness::*;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(message: String) {
    LAST_ERROR.with(|last| *last.borrow_mut() = message);
}

/// Runs a function body behind the panic boundary and records its error.
fn boundary(body: impl FnOnce() -> Result<(), Error>) -> evidentia_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => evidentia_result::EVIDENTIA_OK,
        Ok(Err(e)) => {
            set_last_error(e.message().to_owned());
            e.code().into()
        }
        Err(_) => {
            set_last_error("internal error: a panic was caught at the C boundary".into());
            evidentia_result::EVIDENTIA_INTERNAL
        }
    }
}

pub(crate) fn null(name: &str) -> Error {
    Error::new(ErrorCode::InvalidArgument, format!("{name} is NULL"))
}

/// A byte slice from a pointer and a length; NULL is allowed only for length 0.
unsafe fn bytes<'a>(data: *const u8, len: usize, name: &str) -> Result<&'a [u8], Error> {
    if data.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(null(name)) };
    }
    // SAFETY: the caller promises `data` points to `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// An optional byte slice: NULL with length 0 is `None`; NULL with another length is
/// refused, as for `bytes` (a pointer lost on the way must not drop an input).
unsafe fn optional_bytes<'a>(data: *const u8, len: usize, name: &str) -> Result<Option<&'a [u8]>, Error> {
    if data.is_null() {
        return if len == 0 { Ok(None) } else { Err(null(name)) };
    }
    // SAFETY: as for `bytes`.
    Ok(Some(unsafe { bytes(data, len, name)? }))
}

/// UTF-8 text from a pointer and a length.
unsafe fn text<'a>(data: *const c_char, len: usize, name: &str) -> Result<&'a str, Error> {
    // SAFETY: as for `bytes`.
    let raw = unsafe { bytes(data.cast(), len, name)? };
    std::str::from_utf8(raw).map_err(|_| Error::new(ErrorCode::InvalidArgument, format!("{name} is not UTF-8")))
}

/// Optional UTF-8 text from a pointer and a length: NULL with length 0 is `None`
/// (see [`optional_bytes`]).
unsafe fn optional_text<'a>(data: *const c_char, len: usize, name: &str) -> Result<Option<&'a str>, Error> {
    if data.is_null() && len == 0 {
        return Ok(None);
    }
    // SAFETY: as for `text`.
    Ok(Some(unsafe { text(data, len, name)? }))
}

/// An optional NUL-terminated UTF-8 string; NULL is `None`.
unsafe fn c_str<'a>(data: *const c_char, name: &str) -> Result<Option<&'a str>, Error> {
    if data.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller promises a NUL-terminated string.
    let s = unsafe { CStr::from_ptr(data) };
    s.to_str().map(Some).map_err(|_| Error::new(ErrorCode::InvalidArgument, format!("{name} is not UTF-8")))
}

/// A required reference from a handle pointer.
unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Error> {
    // SAFETY: the caller promises a live handle made by this library, or NULL.
    unsafe { ptr.as_ref() }.ok_or_else(|| null(name))
}

/// Copies `data` (and, for text, a NUL) into the caller's buffer.
unsafe fn write_out(data: &[u8], nul: bool, out: *mut u8, cap: usize, out_len: *mut usize) -> Result<(), Error> {
    if out_len.is_null() {
        return Err(null("out_len"));
    }
    let needed = data.len() + usize::from(nul);
    if out.is_null() || cap < needed {
        // SAFETY: checked non-NULL above; the caller promises it is writable.
        unsafe { *out_len = needed };
        return Err(Error::new(
            ErrorCode::BufferTooSmall,
            format!("the output needs {needed} bytes, the buffer has {cap}"),
        ));
    }
    // SAFETY: `out` has room for `cap >= needed` bytes, per the caller.
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr(), out, data.len());
        if nul {
            *out.add(data.len()) = 0;
        }
        *out_len = data.len();
    }
    Ok(())
}

/// JSON text as a string for C: canonical, as every JSON the library writes.
fn json_string(value: &evidentia::json::Value) -> Result<String, Error> {
    let bytes = evidentia::canonicalize_value(value)?;
    String::from_utf8(bytes).map_err(|_| Error::new(ErrorCode::Internal, "canonical JSON is not UTF-8"))
}

/// Copies text, NUL-terminated, into the caller's buffer.
unsafe fn write_text(text: &str, out: *mut c_char, cap: usize, out_len: *mut usize) -> Result<(), Error> {
    // SAFETY: forwarded from the caller.
    unsafe { write_out(text.as_bytes(), true, out.cast(), cap, out_len) }
}

/// Checks an out-parameter for a library-allocated string before any work is done
/// (so that a NULL one never costs a change), and sets it to NULL.
unsafe fn string_out<'a>(out: *mut *mut c_char) -> Result<&'a mut *mut c_char, Error> {
    // SAFETY: the caller promises `out` is writable, or NULL.
    let out = unsafe { out.as_mut() }.ok_or_else(|| null("out"))?;
    *out = std::ptr::null_mut();
    Ok(out)
}

/// Gives text to C as a new NUL-terminated string, freed by [`evidentia_string_free`].
fn give_string(text: String, out: &mut *mut c_char) -> Result<(), Error> {
    let text = std::ffi::CString::new(text)
        .map_err(|_| Error::new(ErrorCode::Internal, "the output holds a NUL character"))?;
    *out = text.into_raw();
    Ok(())
}

/// Frees a string this library allocated (NULL is ignored).
///
/// # Safety
/// `text` must come from this library (an out-parameter documented as freed by
/// this function) and not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_string_free(text: *mut c_char) {
    if !text.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the caller passes a string made by `give_string`, once.
            drop(unsafe { std::ffi::CString::from_raw(text) });
        }));
    }
}

/// Checks the out-parameter of a new handle before any work is done, for the
/// functions that change something on the way (creating or repairing a log), so
/// that a NULL one never costs a change, and sets it to NULL.
unsafe fn handle_out<'a, T>(out: *mut *mut T) -> Result<&'a mut *mut T, Error> {
    // SAFETY: the caller promises `out` is writable, or NULL.
    let out = unsafe { out.as_mut() }.ok_or_else(|| null("out"))?;
    *out = std::ptr::null_mut();
    Ok(out)
}

/// Moves a value into a new handle stored in `*out`.
unsafe fn give<T>(value: T, out: *mut *mut T) -> Result<(), Error> {
    if out.is_null() {
        return Err(null("out"));
    }
    // SAFETY: checked non-NULL; the caller promises it is writable.
    unsafe { *out = Box::into_raw(Box::new(value)) };
    Ok(())
}

/// Frees a handle made by `give`.
unsafe fn take<T>(ptr: *mut T) {
    if !ptr.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the caller passes a handle made by this library, once.
            drop(unsafe { Box::from_raw(ptr) });
        }));
    }
}

/// The library's version, as a static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn evidentia_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Every result code with its name and plain-language explanation, as C strings.
fn result_table() -> &'static [(u32, std::ffi::CString, std::ffi::CString)] {
    static TABLE: std::sync::OnceLock<Vec<(u32, std::ffi::CString, std::ffi::CString)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let c_string = |text: &str| std::ffi::CString::new(text).unwrap_or_default();
        let mut table = vec![(0, c_string("OK"), c_string("Success."))];
        table.extend(
            ErrorCode::ALL.iter().map(|c| (u32::from(*c as u16), c_string(c.name()), c_string(c.explanation()))),
        );
        table
    })
}

/// The name of a result code (`"JSON_DUPLICATE_KEY"`, `"OK"`), as a static
/// NUL-terminated string; `"UNKNOWN"` for numbers that are not codes.
#[unsafe(no_mangle)]
pub extern "C" fn evidentia_result_name(result: u32) -> *const c_char {
    let found = catch_unwind(|| result_table().iter().find(|(code, _, _)| *code == result).map(|(_, n, _)| n.as_ptr()));
    found.ok().flatten().unwrap_or(c"UNKNOWN".as_ptr())
}

/// What a result code means, in plain words for people who are not engineers, as
/// a static NUL-terminated string; `"Unknown result code."` for other numbers.
#[unsafe(no_mangle)]
pub extern "C" fn evidentia_result_explanation(result: u32) -> *const c_char {
    let found = catch_unwind(|| result_table().iter().find(|(code, _, _)| *code == result).map(|(_, _, e)| e.as_ptr()));
    found.ok().flatten().unwrap_or(c"Unknown result code.".as_ptr())
}

/// Copies the message of the last error on this thread into `out` (NUL-terminated).
/// An empty message means no error has happened on this thread.
///
/// # Safety
/// `out` must have room for `cap` bytes; `out_len` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_last_error(out: *mut c_char, cap: usize, out_len: *mut usize) -> evidentia_result {
    let message = LAST_ERROR.with(|last| last.borrow().clone());
    match catch_unwind(AssertUnwindSafe(|| unsafe { write_text(&message, out, cap, out_len) })) {
        Ok(Ok(())) => evidentia_result::EVIDENTIA_OK,
        Ok(Err(e)) => e.code().into(),
        Err(_) => evidentia_result::EVIDENTIA_INTERNAL,
    }
}

/// Canonicalizes JSON text (RFC 8785) into `out` (NUL-terminated).
///
/// # Safety
/// `json` must point to `json_len` bytes; `out` must have room for `cap` bytes;
/// `out_len` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_canonicalize(
    json: *const u8,
    json_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let input = unsafe { bytes(json, json_len, "json")? };
        let canonical = evidentia::canonicalize(input)?;
        unsafe { write_out(&canonical, true, out.cast(), cap, out_len) }
    })
}

/// Writes the digest of JSON text's canonical form, `sha256:<hex>` (NUL-terminated).
///
/// # Safety
/// As [`evidentia_canonicalize`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_digest(
    json: *const u8,
    json_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let input = unsafe { bytes(json, json_len, "json")? };
        let digest = evidentia::Digest::of_json(input)?;
        unsafe { write_text(&digest.to_string(), out, cap, out_len) }
    })
}

/// Writes the SHA-256 digest of bytes in Evidentia's notation, `sha256:<hex>`
/// (NUL-terminated): for documents an event refers to.
///
/// # Safety
/// As [`evidentia_canonicalize`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_sha256(
    data: *const u8,
    data_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let data = unsafe { bytes(data, data_len, "data")? };
        unsafe { write_text(&evidentia::Digest::sha256(data).to_string(), out, cap, out_len) }
    })
}
