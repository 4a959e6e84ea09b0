//! Verification reports as Python objects.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A verification report: one status per check, and every failure with its code
/// and the position of the record it concerns.
#[pyclass(module = "evidentia._native", frozen)]
pub(crate) struct Report(pub(crate) evidentia::Report);

#[pymethods]
impl Report {
    /// Whether every check that ran passed.
    #[getter]
    fn valid(&self) -> bool {
        self.0.is_valid()
    }

    /// One line beginning with VALID or INVALID.
    #[getter]
    fn summary(&self) -> String {
        self.0.summary()
    }

    /// What was verified: "receipt", "batch_receipt" or "log".
    #[getter]
    fn subject(&self) -> &'static str {
        self.0.subject().id()
    }

    /// How many records were verified.
    #[getter]
    fn records(&self) -> u64 {
        self.0.records()
    }

    /// The index of the first record verified: 0, or the size of the trusted
    /// checkpoint a verification started from.
    #[getter]
    fn first_record(&self) -> u64 {
        self.0.first_record()
    }

    /// The log id of the verified records.
    #[getter]
    fn log_id(&self) -> Option<&str> {
        self.0.log_id()
    }

    /// One dict per check: check, status ("passed", "failed", "skipped"), failures.
    #[getter]
    fn checks<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.0
            .checks()
            .iter()
            .map(|c| {
                let d = PyDict::new(py);
                d.set_item("check", c.check.id())?;
                d.set_item("status", c.status.id())?;
                d.set_item("failures", c.failures)?;
                d.set_item("description", c.check.description())?;
                Ok(d)
            })
            .collect()
    }

    /// One dict per failure: code (int), name, check, index (or None), message.
    #[getter]
    fn findings<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.0
            .findings()
            .iter()
            .map(|f| {
                let d = PyDict::new(py);
                d.set_item("code", f.code as u16)?;
                d.set_item("name", f.code.name())?;
                d.set_item("check", f.check.id())?;
                d.set_item("index", f.index)?;
                d.set_item("message", &f.message)?;
                Ok(d)
            })
            .collect()
    }

    /// The names of the failure codes, in order of first appearance.
    #[getter]
    fn failure_codes(&self) -> Vec<&'static str> {
        self.0.failure_codes().iter().map(|c| c.name()).collect()
    }

    /// The report as JSON text (SPEC.md, "Reports").
    fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// The report as text for people.
    fn to_text(&self) -> String {
        self.0.to_text()
    }

    fn __repr__(&self) -> String {
        format!("<Report {}>", self.0.summary())
    }
}
