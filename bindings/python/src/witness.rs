//! Witness cosignatures and policies (SPEC.md §22): a checkpoint checked against a
//! C2SP tlog-policy, and tlog-proof files.

use evidentia::{Policy, TlogProof};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::convert::{Str, error};

/// A checkpoint whose log signature and witness cosignatures satisfied a policy.
#[pyclass(module = "evidentia._native", frozen, get_all)]
pub(crate) struct PolicyResult {
    /// The checkpoint's origin (the log's name).
    origin: String,
    /// The checkpoint's size (number of entries).
    size: u64,
    /// The checkpoint's root hash (32 bytes).
    root: Py<PyBytes>,
    /// The key names of the policy's logs whose signatures verified.
    signed_by: Vec<String>,
    /// The policy's witnesses that cosigned, in policy order: dicts with `witness`
    /// (its name in the policy), `key_name` and `timestamp` (seconds since the
    /// epoch, as the witness says; not judged).
    cosigned: Py<PyList>,
    /// Whether the cosignatures meet the quorum (always True for a result returned).
    quorum_met: bool,
}

fn convert(py: Python<'_>, result: evidentia::PolicyResult) -> PyResult<PolicyResult> {
    let cosigned = PyList::empty(py);
    for c in &result.cosigned {
        let entry = PyDict::new(py);
        entry.set_item("witness", &c.witness)?;
        entry.set_item("key_name", &c.key_name)?;
        entry.set_item("timestamp", c.timestamp)?;
        cosigned.append(entry)?;
    }
    Ok(PolicyResult {
        origin: result.checkpoint.origin,
        size: result.checkpoint.size,
        root: PyBytes::new(py, &result.checkpoint.root).unbind(),
        signed_by: result.signed_by,
        cosigned: cosigned.unbind(),
        quorum_met: result.quorum_met,
    })
}

/// Checks a signed checkpoint note and its witness cosignatures against a policy
/// (c2sp.org/tlog-policy text). Raises `VerificationError` when the quorum is not
/// met (POLICY_NOT_SATISFIED), a cosignature of a policy witness does not verify
/// (COSIGNATURE_INVALID) or no log key of the policy signed it; `ProofError` when
/// the policy (POLICY_MALFORMED) or the checkpoint is malformed.
#[pyfunction]
pub(crate) fn check_policy(py: Python<'_>, note: Str, policy: Str) -> PyResult<PolicyResult> {
    let result = py.detach(|| Policy::parse(&policy).and_then(|p| p.check(&note))).map_err(error)?;
    convert(py, result)
}

/// Verifies a tlog-proof (c2sp.org/tlog-proof text) for `entry` (bytes, hashed as
/// an RFC 6962 leaf): its checkpoint must satisfy the policy (as `check_policy`)
/// and its inclusion proof lead from the entry to the checkpoint's root.
#[pyfunction]
pub(crate) fn verify_tlog_proof(py: Python<'_>, proof: Str, entry: &[u8], policy: Str) -> PyResult<PolicyResult> {
    let result = TlogProof::parse(&proof)
        .and_then(|proof| Policy::parse(&policy).and_then(|policy| proof.verify(entry, &policy)))
        .map_err(error)?;
    convert(py, result)
}
