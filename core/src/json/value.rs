//! The in-memory JSON value that canonicalization works on.

use crate::error::{Error, ErrorCode, Result};

/// The largest integer magnitude an IEEE-754 double holds exactly, with its
/// neighbours: 2^53 − 1 (`Number.MAX_SAFE_INTEGER` in JavaScript).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A JSON number: always a finite IEEE-754 double, as in I-JSON (RFC 7493) and JCS.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Number(f64);

impl Number {
    /// A number from a double.
    ///
    /// # Errors
    /// [`ErrorCode::JsonNonFinite`] for NaN and the infinities.
    pub fn from_f64(value: f64) -> Result<Number> {
        if value.is_finite() {
            Ok(Number(value))
        } else {
            Err(Error::new(ErrorCode::JsonNonFinite, "NaN and infinite numbers have no JSON representation"))
        }
    }

    /// A number from an integer, which must lie within ±(2^53 − 1) so that every
    /// language reads back the same integer.
    ///
    /// # Errors
    /// [`ErrorCode::JsonIntegerPrecision`] outside that range.
    pub fn from_i64(value: i64) -> Result<Number> {
        if value.unsigned_abs() <= MAX_SAFE_INTEGER as u64 {
            Ok(Number(value as f64))
        } else {
            Err(Error::new(
                ErrorCode::JsonIntegerPrecision,
                "integer is outside ±(2^53-1) and cannot be represented exactly as a JSON number",
            ))
        }
    }

    /// The double.
    pub fn as_f64(self) -> f64 {
        self.0
    }

    /// The value as an unsigned integer, if it is one within 0..=2^53 − 1.
    pub fn as_safe_u64(self) -> Option<u64> {
        let v = self.0;
        (v >= 0.0 && v <= MAX_SAFE_INTEGER as f64 && v.fract() == 0.0).then_some(v as u64)
    }
}

impl From<u32> for Number {
    fn from(value: u32) -> Number {
        Number(f64::from(value))
    }
}

impl From<i32> for Number {
    fn from(value: i32) -> Number {
        Number(f64::from(value))
    }
}

/// A JSON value.
///
/// Objects keep their members in a vector. A value produced by [`parse`](crate::json::parse)
/// never has duplicate member names; a value built in memory may, and canonicalizing it
/// then fails with [`ErrorCode::JsonDuplicateKey`].
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A finite number.
    Number(Number),
    /// A string of Unicode scalar values.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object: member names and values.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The member `name` of an object, if this is an object that has it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The number, if this is a number.
    pub fn as_number(&self) -> Option<Number> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// An object from `(name, value)` pairs.
    pub fn object<K: Into<String>>(members: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Value {
        Value::Number(n.into())
    }
}
