//! The native module `evidentia._native`: a thin adapter over the Evidentia core and
//! store. It converts Python values and maps errors; every rule lives in the core.

mod chain;
mod commitment;
mod convert;
mod keyset;
mod log;
mod message;
mod package;
mod report;
mod signer;
mod timestamp;
mod witness;

use evidentia::{ConsistencyProof, InclusionProof, JwsOptions};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert::{Count, Str, Text, error, json_input, json_text_opt, value_to_py};
use crate::keyset::Jwks;
use crate::report::Report;

/// A P-256 private key that signs deterministically (RFC 6979), or with random
/// nonces when made by `with_randomized_signatures`.
#[pyclass(module = "evidentia._native", frozen)]
struct SigningKey(evidentia::SigningKey);

#[pymethods]
impl SigningKey {
    /// A new key from the operating system's random source.
    #[staticmethod]
    fn generate() -> PyResult<SigningKey> {
        Ok(SigningKey(evidentia::SigningKey::generate().map_err(error)?))
    }

    /// A key from JWK text (with its private part `d`).
    #[staticmethod]
    fn from_jwk(jwk: Str) -> PyResult<SigningKey> {
        Ok(SigningKey(evidentia::SigningKey::from_jwk(&jwk).map_err(error)?))
    }

    /// A key from PEM text (PKCS#8 or SEC1).
    #[staticmethod]
    fn from_pem(pem: Str) -> PyResult<SigningKey> {
        Ok(SigningKey(evidentia::SigningKey::from_pem(&pem).map_err(error)?))
    }

    /// The private key as canonical JWK text.
    fn to_jwk(&self) -> String {
        self.0.to_jwk()
    }

    /// The private key as PKCS#8 PEM.
    fn to_pem(&self) -> String {
        self.0.to_pem()
    }

    /// The public key as canonical JWK text.
    fn public_jwk(&self) -> String {
        self.0.public_jwk()
    }

    /// The public key as SubjectPublicKeyInfo PEM.
    fn public_pem(&self) -> String {
        self.0.public_key().to_pem()
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    #[getter]
    fn kid(&self) -> &str {
        self.0.kid()
    }

    /// The same key signing with random nonces through AWS-LC: two to three times
    /// faster, but signatures (and so receipts) are no longer byte-identical from
    /// run to run; they verify everywhere all the same.
    fn with_randomized_signatures(&self) -> SigningKey {
        SigningKey(self.0.with_randomized_signatures())
    }

    /// Whether this key signs with random nonces.
    #[getter]
    fn randomized(&self) -> bool {
        self.0.is_randomized()
    }

    /// Signs `payload` as a compact ES256 JWS (deterministic unless the key is
    /// randomized).
    #[pyo3(signature = (payload, detached = false, unencoded = false))]
    fn sign_jws(&self, payload: &[u8], detached: bool, unencoded: bool) -> PyResult<String> {
        evidentia::sign_jws(&self.0, payload, JwsOptions { detached, unencoded }).map_err(error)
    }

    fn __repr__(&self) -> String {
        format!("SigningKey(kid={:?})", self.0.kid())
    }
}

/// A JWS that verified.
#[pyclass(module = "evidentia._native", frozen, get_all)]
struct VerifiedJws {
    /// The protected header.
    header: Py<PyDict>,
    /// The payload bytes.
    payload: Py<PyBytes>,
    /// The kid of the key that verified it.
    kid: String,
}

/// The RFC 8785 canonical form of a JSON value: JSON text (str or bytes) or a
/// Python value (dict, list, str inside containers, int, float, bool, None).
#[pyfunction]
fn canonicalize<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &json_input(value)?))
}

/// The digest of a JSON value's canonical form, `sha256:<hex>`.
#[pyfunction]
fn digest(value: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(evidentia::Digest::sha256(&json_input(value)?).to_string())
}

/// The SHA-256 digest of bytes, `sha256:<hex>`.
#[pyfunction]
fn sha256(data: &[u8]) -> String {
    evidentia::Digest::sha256(data).to_string()
}

/// The RFC 7638 thumbprint of a JWK.
#[pyfunction]
fn jwk_thumbprint(jwk: Str) -> PyResult<String> {
    evidentia::jwk_thumbprint(&jwk).map_err(error)
}

/// Verifies a compact ES256 JWS against a JWKS (or a single JWK); raises
/// `VerificationError` when it does not verify.
#[pyfunction]
#[pyo3(signature = (jws, jwks, payload = None))]
fn verify_jws(py: Python<'_>, jws: Str, jwks: Jwks, payload: Option<&[u8]>) -> PyResult<VerifiedJws> {
    let verified = evidentia::verify_jws(&jws, &*jwks.keys()?, payload, None).map_err(error)?;
    let header = evidentia::json::parse(verified.header.as_bytes()).map_err(error)?;
    Ok(VerifiedJws {
        header: value_to_py(py, &header)?.cast_into::<PyDict>()?.unbind(),
        payload: PyBytes::new(py, &verified.payload).unbind(),
        kid: verified.kid,
    })
}

/// Verifies a receipt or batch receipt against a JWKS, and the event (JSON text or
/// a Python value) when given, with its salt (`bytes`, from `Log.salt`) for a
/// record of version 2. Malformed input raises (`UsageError` INVALID_ARGUMENT for
/// a version-2 record's event without its salt); everything else is in the report.
#[pyfunction]
#[pyo3(signature = (receipt, jwks, event = None, salt = None))]
fn verify_receipt(receipt: Str, jwks: Jwks, event: Option<&Bound<'_, PyAny>>, salt: Option<&[u8]>) -> PyResult<Report> {
    let event = json_text_opt(event)?;
    let keys = jwks.keys()?;
    Ok(Report(evidentia::verify_receipt_salted(&receipt, &keys, event.as_deref(), salt).map_err(error)?))
}

/// Reads an evidence file (SPEC.md §18: JSON text, `str` or `bytes`, holding a
/// receipt or batch receipt, a key set and optionally the event) and verifies what
/// it holds, with `jwks`, keys the caller trusts, or, when None, with the key set
/// the file holds (which came from whoever made the file: confirm it
/// independently). Malformed input raises (`UsageError` INVALID_ARGUMENT for JSON
/// that is not an evidence file); everything else is in the report.
#[pyfunction]
#[pyo3(signature = (evidence, jwks = None))]
fn verify_evidence_file(evidence: Text, jwks: Option<Jwks>) -> PyResult<Report> {
    let keys = jwks.map(Jwks::keys).transpose()?;
    Ok(Report(evidentia::verify_evidence_file(&evidence.0, keys.as_deref()).map_err(error)?))
}

/// Verifies a log held in memory: `entries` are `(entry, event)` pairs in stored
/// order — a receipt or a batch-signed record, and the event's stored canonical
/// bytes (or None) — and `checkpoints` are `(size, signed note)` pairs.
#[pyfunction]
#[pyo3(signature = (entries, jwks, checkpoints = Vec::new()))]
fn verify_log_entries(
    py: Python<'_>,
    entries: Vec<(Text, Option<Text>)>,
    jwks: Jwks,
    checkpoints: Vec<(Count, Str)>,
) -> PyResult<Report> {
    let keys = jwks.keys()?;
    let report = py.detach(|| {
        evidentia::verify_log_entries(
            entries.iter().map(|(entry, event)| (entry.0.as_slice(), event.as_ref().map(|e| e.0.as_slice()))),
            checkpoints.iter().map(|(size, note)| (size.0, &**note)),
            &keys,
            evidentia::LogVerifyOptions::default(),
        )
    });
    Ok(Report(report))
}

/// Verifies a signed checkpoint with a JWKS; returns its origin, size and root hash.
#[pyfunction]
fn verify_checkpoint<'py>(py: Python<'py>, note: Str, jwks: Jwks) -> PyResult<Bound<'py, PyDict>> {
    let checkpoint = evidentia::verify_checkpoint_with_keys(&note, &*jwks.keys()?).map_err(error)?;
    let out = PyDict::new(py);
    out.set_item("origin", checkpoint.origin)?;
    out.set_item("size", checkpoint.size)?;
    out.set_item("root", PyBytes::new(py, &checkpoint.root))?;
    Ok(out)
}

/// Verifies a receipt or batch receipt (its signature by a key of the set) and that
/// its record is in the log a signed checkpoint describes; raises `VerificationError` when it is not.
#[pyfunction]
fn verify_inclusion(receipt: Str, proof: Str, checkpoint: Str, jwks: Jwks) -> PyResult<()> {
    let proof = InclusionProof::from_json(&proof).map_err(error)?;
    evidentia::verify_receipt_in_checkpoint(&receipt, &proof, &checkpoint, &*jwks.keys()?).map(drop).map_err(error)
}

/// Verifies that a log only grew between two signed checkpoints; raises
/// `VerificationError` when the proof does not show it.
#[pyfunction]
fn verify_consistency(proof: Str, old_checkpoint: Str, new_checkpoint: Str, jwks: Jwks) -> PyResult<()> {
    let proof = ConsistencyProof::from_json(&proof).map_err(error)?;
    evidentia::verify_consistency_between(&proof, &old_checkpoint, &new_checkpoint, &*jwks.keys()?)
        .map(drop)
        .map_err(error)
}

fn root(bytes: &[u8]) -> PyResult<evidentia::merkle::Hash> {
    evidentia::merkle::hash_from_slice(bytes).map_err(error)
}

/// Verifies an inclusion proof of a leaf (its data) against a root hash.
#[pyfunction]
fn verify_inclusion_proof(proof: Str, leaf: &[u8], root_hash: &[u8]) -> PyResult<()> {
    let proof = InclusionProof::from_json(&proof).map_err(error)?;
    proof.verify(&evidentia::merkle::leaf_hash(leaf), &root(root_hash)?).map_err(error)
}

/// Verifies a consistency proof between two root hashes.
#[pyfunction]
fn verify_consistency_proof(proof: Str, old_root: &[u8], new_root: &[u8]) -> PyResult<()> {
    let proof = ConsistencyProof::from_json(&proof).map_err(error)?;
    proof.verify(&root(old_root)?, &root(new_root)?).map_err(error)
}

/// The error-code table: `(code, name, family, description, explanation)` for every
/// code; the explanation is in plain words for people who are not engineers.
#[pyfunction]
fn error_codes() -> Vec<(u16, &'static str, &'static str, &'static str, &'static str)> {
    evidentia::ErrorCode::ALL
        .iter()
        .map(|c| (*c as u16, c.name(), c.family().name(), c.description(), c.explanation()))
        .collect()
}

/// The log-integrity metrics of this process (appends, commits, recoveries,
/// verifications) in the Prometheus text exposition format (docs/OPERATIONS.md).
#[pyfunction]
fn metrics() -> PyResult<String> {
    evidentia_store::metrics::render().map_err(error)
}

#[pymodule(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Counting starts at import; a recorder another extension installed first is
    // left alone (metrics() then says so).
    let _ = evidentia_store::metrics::install();
    m.add_class::<SigningKey>()?;
    m.add_class::<keyset::KeySet>()?;
    m.add_class::<VerifiedJws>()?;
    m.add_class::<Report>()?;
    m.add_class::<log::Log>()?;
    m.add_class::<chain::ReceiptChain>()?;
    m.add_class::<message::PartnerVerified>()?;
    m.add_class::<witness::PolicyResult>()?;
    m.add_function(wrap_pyfunction!(timestamp::timestamp_request, m)?)?;
    m.add_function(wrap_pyfunction!(timestamp::verify_timestamp, m)?)?;
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(commitment::commit_event, m)?)?;
    m.add_function(wrap_pyfunction!(commitment::check_disclosures, m)?)?;
    m.add_function(wrap_pyfunction!(commitment::keyed_hash, m)?)?;
    m.add_function(wrap_pyfunction!(digest, m)?)?;
    m.add_function(wrap_pyfunction!(sha256, m)?)?;
    m.add_function(wrap_pyfunction!(jwk_thumbprint, m)?)?;
    m.add_function(wrap_pyfunction!(verify_jws, m)?)?;
    m.add_function(wrap_pyfunction!(message::verify_partner_jws, m)?)?;
    m.add_function(wrap_pyfunction!(message::verify_partner_signature, m)?)?;
    m.add_function(wrap_pyfunction!(message::read_signed_message, m)?)?;
    m.add_function(wrap_pyfunction!(verify_receipt, m)?)?;
    m.add_function(wrap_pyfunction!(verify_evidence_file, m)?)?;
    m.add_function(wrap_pyfunction!(package::verify_package, m)?)?;
    m.add_function(wrap_pyfunction!(verify_log_entries, m)?)?;
    m.add_function(wrap_pyfunction!(log::verify_log, m)?)?;
    m.add_function(wrap_pyfunction!(log::publish_log, m)?)?;
    m.add_function(wrap_pyfunction!(log::verify_publication, m)?)?;
    m.add_function(wrap_pyfunction!(verify_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(verify_inclusion, m)?)?;
    m.add_function(wrap_pyfunction!(verify_consistency, m)?)?;
    m.add_function(wrap_pyfunction!(verify_inclusion_proof, m)?)?;
    m.add_function(wrap_pyfunction!(verify_consistency_proof, m)?)?;
    m.add_function(wrap_pyfunction!(witness::check_policy, m)?)?;
    m.add_function(wrap_pyfunction!(witness::verify_tlog_proof, m)?)?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(metrics, m)?)?;
    Ok(())
}
