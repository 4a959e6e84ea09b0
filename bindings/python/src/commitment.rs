//! Salted commitments to events, disclosures of some of their members, and keyed
//! hashes that keep personal data out of events (SPEC.md §26).

use evidentia::Digest;
use pyo3::prelude::*;

use crate::convert::{Str, Text, error, json_input, value_to_py};

/// Commits to an event (a JSON value) with an event salt of 16 to 64 random bytes
/// (`os.urandom(16)`; a fixed salt only for test vectors). Returns a dict:
/// `commitment` (the document, str), `event_digest` (`sha256:<hex>`, what a record
/// holds) and `disclosures` (dicts of `name`, `disclosure`, `digest`, one per
/// member). Raises `UsageError` (INVALID_ARGUMENT) for a salt of another length.
#[pyfunction]
pub(crate) fn commit_event<'py>(
    py: Python<'py>,
    event: &Bound<'py, PyAny>,
    salt: &[u8],
) -> PyResult<Bound<'py, PyAny>> {
    let commitment = evidentia::commit_json(&json_input(event)?, salt).map_err(error)?;
    value_to_py(py, &commitment.to_value())
}

/// Checks disclosures (a list of str) against a commitment document (str or bytes)
/// whose SHA-256 is `event_digest`, the record's event digest. Returns a dict:
/// `disclosed` (the disclosed members), `names`, `undisclosed` (how many stay
/// hidden). Raises `VerificationError` (DISCLOSURE_MISMATCH, EVENT_MISMATCH) or
/// `RecordError` (COMMITMENT_MALFORMED, DIGEST_MALFORMED).
#[pyfunction]
pub(crate) fn check_disclosures<'py>(
    py: Python<'py>,
    event_digest: Str,
    commitment: Text,
    disclosures: Vec<Str>,
) -> PyResult<Bound<'py, PyAny>> {
    let digest = Digest::parse(&event_digest).map_err(error)?;
    let given: Vec<&str> = disclosures.iter().map(|d| &**d).collect();
    let disclosed = evidentia::check_disclosures(&digest, &commitment.0, &given).map_err(error)?;
    value_to_py(py, &disclosed.to_value())
}

/// `hmac-sha256:<hex>` of `data` (str as UTF-8, or bytes) under `key` (at least 16
/// bytes, kept outside the log): a value to write into an event in place of
/// personal data. Raises `UsageError` (INVALID_ARGUMENT) for a shorter key.
#[pyfunction]
pub(crate) fn keyed_hash(key: &[u8], data: Text) -> PyResult<String> {
    evidentia::keyed_hash(key, &data.0).map_err(error)
}
