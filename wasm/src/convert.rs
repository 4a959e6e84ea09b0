//! Conversions between JavaScript values and Evidentia's, error mapping, and what
//! happens on a panic.

use evidentia::json::{MAX_SAFE_INTEGER, Number, ParseOptions, Value};
use evidentia::{Error, ErrorCode};
use js_sys::{Array, JsString, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

pub(crate) type Result<T> = std::result::Result<T, JsValue>;

/// A JavaScript `Error` whose `code` is the name of Evidentia's error code.
pub(crate) fn error(e: Error) -> JsValue {
    coded(e.code(), e.message())
}

fn coded(code: ErrorCode, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(code.name()));
    error.into()
}

pub(crate) fn fail(code: ErrorCode, message: impl Into<String>) -> JsValue {
    error(Error::new(code, message.into()))
}

/// Installs the panic hook. The module is built with `panic=abort`, where a panic
/// would otherwise reach JavaScript as `RuntimeError: unreachable` and leave the
/// instance unusable: instead the hook throws an `Error` with code `INTERNAL`, and
/// the next call runs on a fresh instance (the old one may be half-way through a
/// change). Objects made before the panic belong to the old instance.
#[wasm_bindgen(start, js_name = __evidentiaStart)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        let message = match info.payload().downcast_ref::<&str>() {
            Some(text) => (*text).to_owned(),
            None => info.payload().downcast_ref::<String>().cloned().unwrap_or_default(),
        };
        wasm_bindgen::handler::schedule_reinit();
        wasm_bindgen::throw_val(coded(
            ErrorCode::Internal,
            &format!("internal error in Evidentia (please report it): {message}"),
        ));
    }));
}

/// A JavaScript string as Rust text. A lone surrogate, which UTF-8 cannot carry,
/// is refused (the usual conversion would silently turn it into U+FFFD).
pub(crate) fn js_string(value: &JsValue) -> Result<String> {
    let text: &JsString = value.unchecked_ref();
    if !text.is_valid_utf16() {
        return Err(fail(
            ErrorCode::JsonLoneSurrogate,
            "a string holds a lone surrogate, which JSON text in UTF-8 cannot carry",
        ));
    }
    Ok(String::from(text))
}

/// JSON input given as JSON text (a string or a Uint8Array) or as a JavaScript
/// value, as the bytes of canonical JSON text.
pub(crate) fn json_input(value: &JsValue) -> Result<Vec<u8>> {
    match given_text(value)? {
        Some(text) => evidentia::canonicalize(&text).map_err(error),
        None => evidentia::canonicalize_value(&JsonValues::new().convert(value, 0)?).map_err(error),
    }
}

/// JSON input for a core function that canonicalizes it itself (verifying,
/// issuing): JSON text as given, for the core to parse and check once, and a
/// JavaScript value as canonical JSON text.
pub(crate) fn json_text(value: &JsValue) -> Result<Vec<u8>> {
    match given_text(value)? {
        Some(text) => Ok(text),
        None => evidentia::canonicalize_value(&JsonValues::new().convert(value, 0)?).map_err(error),
    }
}

/// JSON text that must be given as text (`what` names it in the error): a string
/// (a lone surrogate refused) or a Uint8Array; any other value is refused with
/// INVALID_ARGUMENT.
pub(crate) fn json_bytes(value: &JsValue, what: &str) -> Result<Vec<u8>> {
    given_text(value)?
        .ok_or_else(|| fail(ErrorCode::InvalidArgument, format!("{what} must be a string or a Uint8Array")))
}

/// As [`json_text`], for an optional argument (`undefined` and `null` are absent).
pub(crate) fn json_text_opt(value: &JsValue) -> Result<Option<Vec<u8>>> {
    if value.is_undefined() || value.is_null() { Ok(None) } else { json_text(value).map(Some) }
}

/// The bytes of JSON text given as a string or a Uint8Array; `None` for other
/// values. Other typed arrays and ArrayBuffers are refused rather than converted.
fn given_text(value: &JsValue) -> Result<Option<Vec<u8>>> {
    if value.is_string() {
        return Ok(Some(js_string(value)?.into_bytes()));
    }
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        return Ok(Some(bytes.to_vec()));
    }
    if value.has_type::<js_sys::ArrayBuffer>() || ArrayBufferView::is_view(value) {
        return Err(fail(ErrorCode::InvalidArgument, "JSON text given as bytes must be a Uint8Array"));
    }
    Ok(None)
}

#[wasm_bindgen]
extern "C" {
    /// `ArrayBuffer.isView`, to refuse typed arrays other than Uint8Array.
    type ArrayBufferView;
    #[wasm_bindgen(static_method_of = ArrayBufferView, js_class = "ArrayBuffer", js_name = isView)]
    fn is_view(value: &JsValue) -> bool;
}

/// Converts JavaScript values to JSON values: plain objects, arrays, strings,
/// finite numbers, booleans, null, and BigInts within ±(2^53 − 1). `undefined`,
/// functions, symbols, Dates, Maps, typed arrays, sparse arrays and other objects
/// are refused, never changed (where `JSON.stringify` would drop or rewrite them).
struct JsonValues {
    /// `Object.prototype`, which only plain objects inherit from directly.
    object_prototype: Object,
    max_depth: usize,
}

impl JsonValues {
    fn new() -> JsonValues {
        JsonValues {
            object_prototype: Object::get_prototype_of(&Object::new().into()),
            max_depth: ParseOptions::default().max_depth,
        }
    }

    fn convert(&self, value: &JsValue, depth: usize) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        if let Some(b) = value.as_bool() {
            return Ok(Value::Bool(b));
        }
        if let Some(n) = value.as_f64() {
            return Number::from_f64(n).map(Value::Number).map_err(error);
        }
        if value.is_string() {
            return Ok(Value::String(js_string(value)?));
        }
        if value.is_bigint() {
            return match i64::try_from(value.clone()) {
                Ok(n) if n.unsigned_abs() <= MAX_SAFE_INTEGER as u64 => {
                    Number::from_i64(n).map(Value::Number).map_err(error)
                }
                _ => Err(fail(ErrorCode::JsonIntegerPrecision, "a BigInt beyond ±(2^53-1) has no exact JSON number")),
            };
        }
        if !value.is_object() {
            let name = if value.is_undefined() {
                "undefined"
            } else if value.is_function() {
                "a function"
            } else {
                "a symbol"
            };
            return Err(fail(ErrorCode::JsonUnsupportedType, format!("{name} has no JSON equivalent")));
        }
        if depth >= self.max_depth {
            let limit = self.max_depth;
            return Err(fail(ErrorCode::JsonTooDeep, format!("nesting deeper than the limit of {limit}")));
        }
        if Array::is_array(value) {
            let array: &Array = value.unchecked_ref();
            return (0..array.length())
                .map(|i| self.convert(&array.get(i), depth + 1))
                .collect::<Result<_>>()
                .map(Value::Array);
        }
        let prototype = Object::get_prototype_of(value);
        if !prototype.is_null() && !Object::is(&prototype, &self.object_prototype) {
            return Err(fail(
                ErrorCode::JsonUnsupportedType,
                "only plain objects and arrays have a JSON equivalent (not Dates, Maps, typed arrays or class instances)",
            ));
        }
        let object: &Object = value.unchecked_ref();
        let mut members = Vec::new();
        for key in Object::keys(object).iter() {
            let item = Reflect::get(object, &key)?;
            members.push((js_string(&key)?, self.convert(&item, depth + 1)?));
        }
        Ok(Value::Object(members))
    }
}

/// A JSON value as a JavaScript value.
pub(crate) fn to_js(value: &Value) -> Result<JsValue> {
    let text = evidentia::canonicalize_value(value).map_err(error)?;
    js_sys::JSON::parse(&String::from_utf8_lossy(&text))
}

/// Bytes given as a Uint8Array, or a string (read strictly: a lone surrogate is
/// refused) as UTF-8.
pub(crate) fn bytes_or_text(value: &JsValue, what: &str) -> Result<Vec<u8>> {
    if value.is_string() {
        return js_string(value).map(String::into_bytes);
    }
    optional_bytes(value, what)?
        .ok_or_else(|| fail(ErrorCode::InvalidArgument, format!("{what} must be a Uint8Array or a string")))
}

/// Bytes as a new Uint8Array.
pub(crate) fn bytes(data: &[u8]) -> Uint8Array {
    Uint8Array::from(data)
}

/// Sets `object[name] = value` on an object this module just made.
pub(crate) fn set(object: &Object, name: &str, value: impl Into<JsValue>) -> Result<()> {
    Reflect::set(object, &JsValue::from_str(name), &value.into()).map(drop)
}

/// Reads `object[name]` (`undefined` when the object itself is absent); `what`
/// names the object in the error when it is not one.
pub(crate) fn get(object: &JsValue, name: &str, what: &str) -> Result<JsValue> {
    if object.is_undefined() || object.is_null() {
        return Ok(JsValue::UNDEFINED);
    }
    if !object.is_object() {
        return Err(fail(ErrorCode::InvalidArgument, format!("{what} must be an object")));
    }
    Reflect::get(object, &JsValue::from_str(name))
}

/// An optional boolean option.
pub(crate) fn flag(options: &JsValue, name: &str) -> Result<bool> {
    let value = get(options, name, "options")?;
    if value.is_undefined() {
        return Ok(false);
    }
    value.as_bool().ok_or_else(|| fail(ErrorCode::InvalidArgument, format!("option {name} must be a boolean")))
}

/// A required string argument or member.
pub(crate) fn text(value: &JsValue, what: &str) -> Result<String> {
    if !value.is_string() {
        return Err(fail(ErrorCode::InvalidArgument, format!("{what} must be a string")));
    }
    js_string(value)
}

/// An optional string argument or member: `undefined` and `null` are absent.
pub(crate) fn optional_text(value: &JsValue, what: &str) -> Result<Option<String>> {
    if value.is_undefined() || value.is_null() { Ok(None) } else { text(value, what).map(Some) }
}

/// An optional Uint8Array argument.
pub(crate) fn optional_bytes(value: &JsValue, what: &str) -> Result<Option<Vec<u8>>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .dyn_ref::<Uint8Array>()
        .map(|b| Some(b.to_vec()))
        .ok_or_else(|| fail(ErrorCode::InvalidArgument, format!("{what} must be a Uint8Array")))
}
