//! `KeySet`: a JWKS parsed once and passed to any verification function in place
//! of its text, so that a service verifying many receipts with the same keys does
//! not parse them again on every call.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{JsValue, ValueType};
use napi_derive::napi;

use crate::convert::{Result, engine, error, fail, guard, text};
use evidentia::ErrorCode;

/// A key set (a JWKS with key history, or one JWK), parsed once. Every function
/// that takes `jwks` text takes a `KeySet` too.
#[napi]
pub struct KeySet(pub(crate) Arc<evidentia::KeySet>);

#[napi]
impl KeySet {
    /// Parses JWKS text (or one JWK) strictly, as every verification function does.
    #[napi(factory)]
    pub fn from_json(#[napi(ts_arg_type = "string")] jwks: Unknown<'_>) -> Result<KeySet> {
        guard(|| Ok(KeySet(Arc::new(evidentia::KeySet::from_json(&text(&jwks, "jwks")?).map_err(error)?))))
    }

    /// The key set as JWKS text.
    #[napi]
    pub fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// The number of keys.
    #[napi(getter)]
    pub fn length(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX)
    }

    /// `KeySet(keys=…)`.
    #[napi(js_name = "toString")]
    pub fn describe(&self) -> String {
        format!("KeySet(keys={})", self.0.len())
    }
}

/// A `jwks` argument: JWKS text, parsed now, or a `KeySet`, shared.
pub(crate) fn key_set(value: &Unknown<'_>) -> Result<Arc<evidentia::KeySet>> {
    let not_keys = || fail(ErrorCode::InvalidArgument, "jwks is a string or a KeySet");
    match value.get_type().map_err(engine)? {
        ValueType::String => Ok(Arc::new(evidentia::KeySet::from_json(&text(value, "jwks")?).map_err(error)?)),
        ValueType::Object => {
            let raw = value.value();
            // SAFETY: a valid env and value from napi; napi checks the wrapped class.
            match unsafe { ClassInstance::<KeySet>::from_napi_value(raw.env, raw.value) } {
                Ok(keys) => Ok(Arc::clone(&keys.0)),
                Err(_) => Err(not_keys()),
            }
        }
        _ => Err(not_keys()),
    }
}

/// An optional `jwks` argument (see [`key_set`]): absent is `None`.
pub(crate) fn optional_key_set(value: Option<&Unknown<'_>>) -> Result<Option<Arc<evidentia::KeySet>>> {
    value.map(key_set).transpose()
}
