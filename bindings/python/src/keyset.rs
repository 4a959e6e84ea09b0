//! `KeySet`: a JWKS parsed once and passed to any verification function in place
//! of its text, so that a service verifying many receipts with the same keys does
//! not parse them again on every call.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::convert::{Str, error};

/// A key set (a JWKS with key history, or one JWK), parsed once. Every function
/// that takes `jwks` text takes a `KeySet` too.
#[pyclass(module = "evidentia._native", frozen)]
pub(crate) struct KeySet(Arc<evidentia::KeySet>);

#[pymethods]
impl KeySet {
    /// Parses JWKS text (or one JWK) strictly, as every verification function does.
    #[staticmethod]
    fn from_json(jwks: Str) -> PyResult<KeySet> {
        Ok(KeySet(Arc::new(evidentia::KeySet::from_json(&jwks).map_err(error)?)))
    }

    /// The key set as JWKS text.
    fn to_json(&self) -> String {
        self.0.to_json()
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    fn __repr__(&self) -> String {
        format!("KeySet(keys={})", self.0.len())
    }
}

/// A `jwks` argument: JWKS text, parsed when the function reaches it (so that the
/// arguments before it are judged first, as ever), or a `KeySet`, shared. Anything
/// else raises `TypeError`, as for any argument of the wrong type.
pub(crate) enum Jwks {
    Text(Str),
    Parsed(Arc<evidentia::KeySet>),
}

impl Jwks {
    /// The keys, parsed now when given as text.
    pub(crate) fn keys(self) -> PyResult<Arc<evidentia::KeySet>> {
        match self {
            Jwks::Parsed(keys) => Ok(keys),
            Jwks::Text(text) => Ok(Arc::new(evidentia::KeySet::from_json(&text).map_err(error)?)),
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Jwks {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Jwks> {
        if let Ok(keys) = value.cast::<KeySet>() {
            return Ok(Jwks::Parsed(Arc::clone(&keys.get().0)));
        }
        if !value.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err("jwks is a str or a KeySet"));
        }
        Ok(Jwks::Text(value.extract()?))
    }
}
