//! Evidence packages (SPEC.md §19) checked with every check of their `verify.sh`,
//! as `evidentia package verify` does.

use std::ffi::c_char;

use evidentia::Error;
use evidentia::package::{PackageFile, package_report, read_package_archive};

use crate::{boundary, bytes, evidentia_result, give_string, json_string, string_out};

/// The report of a package read, as canonical JSON text given to C.
fn give_report(files: &[PackageFile], out: &mut *mut c_char) -> Result<(), Error> {
    give_string(json_string(&package_report(files))?, out)
}

/// Checks the evidence package at `path` (its folder or `.tar.gz`) with every check
/// of its `verify.sh`. Returns `EVIDENTIA_OK` whatever the verdict and sets `*out`
/// to the report as JSON text (NUL-terminated; free it with
/// `evidentia_string_free`), as `evidentia package verify --json` prints it:
/// `{"checks":[{"applies","check","detail","failure","number","passed"}],
/// "record":{...} or null,"valid":true or false}`; read `valid` for the verdict.
/// `EVIDENTIA_INVALID_ARGUMENT` for what is no package (the message says why),
/// `EVIDENTIA_IO` for a file that cannot be read.
///
/// # Safety
/// `path` NUL-terminated; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_package(path: *const c_char, out: *mut *mut c_char) -> evidentia_result {
    boundary(|| {
        let out = unsafe { string_out(out)? };
        let files = evidentia_store::read_package(unsafe { crate::log::path(path)? })?;
        give_report(&files, out)
    })
}

/// As [`evidentia_verify_package`], for a package's `.tar.gz` given as its bytes.
///
/// # Safety
/// `archive` must point to `archive_len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_package_archive(
    archive: *const u8,
    archive_len: usize,
    out: *mut *mut c_char,
) -> evidentia_result {
    boundary(|| {
        let out = unsafe { string_out(out)? };
        let files = read_package_archive(unsafe { bytes(archive, archive_len, "archive")? })?;
        give_report(&files, out)
    })
}
