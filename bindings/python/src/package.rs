//! Evidence packages (SPEC.md §19) checked with every check of their `verify.sh`,
//! as `evidentia package verify` does.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

use crate::convert::{error, value_to_py};

/// A package as given: the bytes of a `.tar.gz`, or the path of a folder or `.tar.gz`.
enum Given {
    Archive(Vec<u8>),
    Path(PathBuf),
}

/// Checks an evidence package: a path (str or os.PathLike) to its folder or
/// `.tar.gz`, or the `.tar.gz`'s bytes. Returns a dict as `evidentia package verify
/// --json` prints it: `valid`, `checks` (each with `number`, `check`, `applies`,
/// `passed` — None when it does not apply —, `failure`, `detail`) and `record`,
/// what the record claims (to be trusted only when `valid`). A failed check is in
/// the result, not raised; what is no package raises `UsageError`
/// (INVALID_ARGUMENT) saying why. Releases the GIL while it works.
#[pyfunction]
pub(crate) fn verify_package<'py>(py: Python<'py>, package: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let given = if let Ok(bytes) = package.cast::<PyBytes>() {
        Given::Archive(bytes.as_bytes().to_vec())
    } else if let Ok(bytes) = package.cast::<PyByteArray>() {
        Given::Archive(bytes.to_vec())
    } else {
        Given::Path(package.extract()?)
    };
    let report = py
        .detach(|| match &given {
            Given::Archive(archive) => evidentia::package::read_package_archive(archive),
            Given::Path(path) => evidentia_store::read_package(path),
        })
        .map(|files| evidentia::package::package_report(&files))
        .map_err(error)?;
    value_to_py(py, &report)
}
