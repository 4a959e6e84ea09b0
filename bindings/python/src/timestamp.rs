//! RFC 3161 trusted timestamps (SPEC.md §20): a request for a time-stamping
//! authority, and the verification of its response. Sending the request is the
//! application's: Evidentia never contacts the authority.

use evidentia::timestamp::{TimestampRequest, TimestampTrust, verify_timestamp as verify};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::{error, value_to_py};

/// A time-stamp request (DER, the contents of a `.tsq` file) for `data` — for a log,
/// the note `Log.checkpoint()` returns, as UTF-8 bytes — hashed with `hash`
/// ("sha256", "sha384" or "sha512"), with a random nonce. Send it to the authority
/// with any HTTP client (`Content-Type: application/timestamp-query`).
#[pyfunction]
#[pyo3(signature = (data, hash = "sha256"))]
pub(crate) fn timestamp_request<'py>(py: Python<'py>, data: &[u8], hash: &str) -> PyResult<Bound<'py, PyBytes>> {
    let request = TimestampRequest::generate(data, hash).map_err(error)?;
    Ok(PyBytes::new(py, request.to_der()))
}

/// Whom to trust, from certificate files' contents (PEM or DER).
pub(crate) fn trust(
    roots: &[u8],
    intermediates: Option<&[u8]>,
    tsa_certificate: Option<&[u8]>,
) -> PyResult<TimestampTrust> {
    TimestampTrust::from_certificate_files(roots, intermediates, tsa_certificate).map_err(error)
}

/// The request a response must answer, if given.
pub(crate) fn request(request: Option<&[u8]>) -> PyResult<Option<TimestampRequest>> {
    request.map(TimestampRequest::parse).transpose().map_err(error)
}

/// Verifies a time-stamping authority's response (DER, a `.tsr` file) for `data`
/// through the trusted `roots` (PEM or DER certificate file contents), with
/// `intermediates` that may complete the chain, a pinned `tsa_certificate`, and the
/// `request` it must answer (same imprint and nonce). Returns a dict: `gen_time`,
/// `hash`, `serial`, `policy`, `nonce`, `tsa`, `chain`, `root_sha256_fingerprint`.
/// Raises `VerificationError` (TIMESTAMP_MISMATCH, TIMESTAMP_SIGNATURE_INVALID,
/// TIMESTAMP_UNTRUSTED, TIMESTAMP_NOT_GRANTED), `ProofError` (TIMESTAMP_MALFORMED,
/// TIMESTAMP_UNSUPPORTED) or `UsageError` (INVALID_ARGUMENT: a pinned
/// `tsa_certificate` that is not one certificate).
#[pyfunction]
#[pyo3(signature = (response, data, roots, intermediates = None, tsa_certificate = None, request = None))]
pub(crate) fn verify_timestamp<'py>(
    py: Python<'py>,
    response: &[u8],
    data: &[u8],
    roots: &[u8],
    intermediates: Option<&[u8]>,
    tsa_certificate: Option<&[u8]>,
    request: Option<&[u8]>,
) -> PyResult<Bound<'py, PyAny>> {
    let trust = trust(roots, intermediates, tsa_certificate)?;
    let request = self::request(request)?;
    let verified = py.detach(|| verify(response, data, request.as_ref(), &trust)).map_err(error)?;
    value_to_py(py, &verified.to_value())
}
