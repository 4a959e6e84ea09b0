//! Conversions between Python values and Evidentia's, and error mapping.

use evidentia::json::{MAX_SAFE_INTEGER, Number, ParseOptions, Value};
use evidentia::{Error, ErrorCode};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// Raises the exception class of `evidentia.errors` for the error's family, with
/// its `code`, `code_name` and `family`.
pub(crate) fn error(e: Error) -> PyErr {
    Python::attach(|py| {
        let build = || -> PyResult<PyErr> {
            let errors = py.import("evidentia.errors")?;
            let code = e.code();
            let instance =
                errors.getattr("_from_code")?.call1((code as u16, code.name(), code.family().name(), e.message()))?;
            Ok(PyErr::from_value(instance))
        };
        build().unwrap_or_else(|failure| failure)
    })
}

fn fail(code: ErrorCode, message: impl Into<String>) -> PyErr {
    error(Error::new(code, message.into()))
}

/// JSON input given as JSON text (`str` or `bytes`) or as a Python value, as the
/// bytes of canonical JSON text.
pub(crate) fn json_input(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    match given_text(value)? {
        Some(text) => evidentia::canonicalize(&text).map_err(error),
        None => evidentia::canonicalize_value(&to_value(value, 0)?).map_err(error),
    }
}

/// JSON input for a core function that canonicalizes it itself (verifying,
/// appending, issuing): JSON text as given, for the core to parse and check once,
/// and a Python value as canonical JSON text.
pub(crate) fn json_text(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    match given_text(value)? {
        Some(text) => Ok(text),
        None => evidentia::canonicalize_value(&to_value(value, 0)?).map_err(error),
    }
}

/// The bytes of JSON text given as `str` or `bytes`; `None` for other values.
fn given_text(value: &Bound<'_, PyAny>) -> PyResult<Option<Vec<u8>>> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Some(text_of(text)?.as_bytes().to_vec()));
    }
    Ok(value.cast::<PyBytes>().ok().map(|bytes| bytes.as_bytes().to_vec()))
}

/// A Python string as UTF-8: a lone surrogate, which UTF-8 cannot carry, is refused
/// with Evidentia's code rather than Python's `UnicodeEncodeError`.
fn text_of<'a>(text: &'a Bound<'_, PyString>) -> PyResult<std::borrow::Cow<'a, str>> {
    text.to_cow().map_err(|_| {
        fail(ErrorCode::JsonLoneSurrogate, "a string holds a lone surrogate, which JSON text in UTF-8 cannot carry")
    })
}

/// As [`json_text`], for an optional argument.
pub(crate) fn json_text_opt(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<u8>>> {
    value.filter(|v| !v.is_none()).map(json_text).transpose()
}

/// A Python value as a JSON value: dict (str keys), list, tuple, str, int within
/// ±(2^53 − 1), finite float, bool, None. Anything else is refused, never changed.
pub(crate) fn to_value(value: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    let max_depth = ParseOptions::default().max_depth;
    if value.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: in Python, bool is a subclass of int.
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = value.cast::<PyInt>() {
        let n: i64 = i
            .extract()
            .map_err(|_| fail(ErrorCode::JsonIntegerPrecision, "an int beyond ±(2^53-1) has no exact JSON number"))?;
        return Number::from_i64(n).map(Value::Number).map_err(error);
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Number::from_f64(f.value()).map(Value::Number).map_err(error);
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(text_of(s)?.into_owned()));
    }
    let nested = || -> PyResult<()> {
        if depth >= max_depth {
            return Err(fail(ErrorCode::JsonTooDeep, format!("nesting deeper than the limit of {max_depth}")));
        }
        Ok(())
    };
    if let Ok(list) = value.cast::<PyList>() {
        nested()?;
        return list.iter().map(|item| to_value(&item, depth + 1)).collect::<PyResult<_>>().map(Value::Array);
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        nested()?;
        return tuple.iter().map(|item| to_value(&item, depth + 1)).collect::<PyResult<_>>().map(Value::Array);
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        nested()?;
        let mut members = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            let Ok(name) = k.cast::<PyString>() else {
                return Err(fail(ErrorCode::JsonUnsupportedType, "JSON object keys are str"));
            };
            members.push((text_of(name)?.into_owned(), to_value(&v, depth + 1)?));
        }
        return Ok(Value::Object(members));
    }
    let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    Err(fail(ErrorCode::JsonUnsupportedType, format!("a {type_name} has no JSON equivalent")))
}

/// A JSON value as a Python value (integers that are exact as int, other numbers
/// as float).
pub(crate) fn value_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            let f = n.as_f64();
            if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64 {
                (f as i64).into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, f).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            PyList::new(py, items.iter().map(|v| value_to_py(py, v)).collect::<PyResult<Vec<_>>>()?)?.into_any()
        }
        Value::Object(members) => {
            let dict = PyDict::new(py);
            for (k, v) in members {
                dict.set_item(k, value_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Bytes given as `bytes` or as `str` (UTF-8).
pub(crate) struct Text(pub(crate) Vec<u8>);

impl<'a, 'py> FromPyObject<'a, 'py> for Text {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Text> {
        if let Ok(text) = value.cast::<PyString>() {
            return Ok(Text(text_of(&text)?.as_bytes().to_vec()));
        }
        Ok(Text(value.extract::<Vec<u8>>()?))
    }
}

/// Text given as `str`. A string holding a lone surrogate (what `surrogateescape`
/// makes of bytes that are not UTF-8), which UTF-8 cannot carry, is refused with
/// Evidentia's INVALID_ARGUMENT rather than Python's `UnicodeEncodeError`, as the C
/// API refuses text that is not UTF-8. Other types raise `TypeError`, as for `str`.
pub(crate) struct Str(pub(crate) String);

impl std::ops::Deref for Str {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Str {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Str> {
        let text = value.cast::<PyString>()?;
        match text.to_cow() {
            Ok(text) => Ok(Str(text.into_owned())),
            Err(_) => Err(fail(ErrorCode::InvalidArgument, "text holds a lone surrogate, which UTF-8 cannot carry")),
        }
    }
}

/// A size or index given as `int`: 0 to 2^64 − 1. One outside that range is refused
/// with Evidentia's INVALID_ARGUMENT rather than Python's `OverflowError`, as the Node
/// package refuses one; other types raise `TypeError`, as for `int`.
pub(crate) struct Count(pub(crate) u64);

impl<'a, 'py> FromPyObject<'a, 'py> for Count {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Count> {
        value.extract::<u64>().map(Count).map_err(|e| {
            if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(value.py()) {
                fail(ErrorCode::InvalidArgument, "a size or index is a whole number from 0 to 2^64 - 1")
            } else {
                e
            }
        })
    }
}
