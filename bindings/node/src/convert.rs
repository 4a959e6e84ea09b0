//! Conversions between JavaScript values and Evidentia's, and error mapping.

use evidentia::json::{MAX_SAFE_INTEGER, Number, ParseOptions, Value};
use evidentia::{Error, ErrorCode};
use napi::bindgen_prelude::*;
use napi::{JsValue, ValueType};

/// The `code` of a thrown error: the name of the core's error code.
#[derive(Clone, Copy, Debug)]
pub struct Code(pub &'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// The error type of every function: a JavaScript `Error` whose `code` is the
/// name of Evidentia's error code (`"JSON_DUPLICATE_KEY"`).
pub type Result<T> = std::result::Result<T, napi::Error<Code>>;

pub(crate) fn error(e: Error) -> napi::Error<Code> {
    napi::Error::new(Code(e.code().name()), e.message().to_owned())
}

pub(crate) fn fail(code: ErrorCode, message: impl Into<String>) -> napi::Error<Code> {
    error(Error::new(code, message.into()))
}

/// A failure of the JavaScript engine itself while converting a value.
pub(crate) fn engine(e: napi::Error) -> napi::Error<Code> {
    napi::Error::new(Code(ErrorCode::Internal.name()), e.reason.clone())
}

/// Runs `f`, turning a panic into an `INTERNAL` error: a panic must never unwind
/// into Node, where it would abort the process.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| Err(panicked()))
}

fn panicked() -> napi::Error<Code> {
    fail(ErrorCode::Internal, "internal error: a panic in Evidentia (please report it)")
}

/// Work for a libuv worker thread, resolving a Promise with its value or rejecting
/// it with an error carrying Evidentia's `code`.
pub struct Blocking<T> {
    work: Option<Box<dyn FnOnce() -> Result<T> + Send>>,
}

impl<T> Blocking<T> {
    /// A Promise of what `work` returns on a worker thread.
    pub(crate) fn spawn(work: impl FnOnce() -> Result<T> + Send + 'static) -> AsyncTask<Blocking<T>>
    where
        Blocking<T>: Task,
    {
        AsyncTask::new(Blocking { work: Some(Box::new(work)) })
    }

    /// A Promise of what `work` returns when it was prepared, or rejected with the
    /// error that prepared it: functions that return Promises reject, never throw.
    pub(crate) fn spawn_prepared<W>(prepared: Result<W>) -> AsyncTask<Blocking<T>>
    where
        W: FnOnce() -> Result<T> + Send + 'static,
        Blocking<T>: Task,
    {
        match prepared {
            Ok(work) => Blocking::spawn(work),
            Err(e) => Blocking::spawn(move || Err(e)),
        }
    }
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for Blocking<T> {
    type Output = Result<T>;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(self.work.take().map_or_else(|| Err(panicked()), guard))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<T> {
        output.map_err(|e| rejection(env, e))
    }
}

/// What a Promise rejects with: the error object itself, so it keeps Evidentia's `code`.
pub(crate) fn rejection(env: Env, e: napi::Error<Code>) -> napi::Error {
    // SAFETY: a valid env on the JavaScript thread, and a value napi just made.
    match unsafe { ToNapiValue::to_napi_value(env.raw(), e) } {
        Ok(raw) => napi::Error::from(unsafe { Unknown::from_raw_unchecked(env.raw(), raw) }),
        Err(e) => e,
    }
}

/// Whether a value is a Buffer or another typed array.
pub(crate) fn is_typed_array(value: &Unknown<'_>) -> bool {
    let mut result = false;
    let raw = value.value();
    // SAFETY: a valid env and value from napi; the out-parameter is a local.
    let status = unsafe { napi::sys::napi_is_typedarray(raw.env, raw.value, &mut result) };
    status == napi::sys::Status::napi_ok && result
}

/// JSON input given as JSON text (a string, a Buffer or a Uint8Array) or as a
/// JavaScript value, as the bytes of canonical JSON text.
pub(crate) fn json_input(value: Unknown<'_>) -> Result<Vec<u8>> {
    match given_text(&value)? {
        Some(text) => evidentia::canonicalize(&text).map_err(error),
        None => evidentia::canonicalize_value(&JsonValues::new(&value)?.convert(value, 0)?).map_err(error),
    }
}

/// JSON input for a core function that canonicalizes it itself (verifying,
/// appending, issuing): JSON text as given, for the core to parse and check once,
/// and a JavaScript value as canonical JSON text.
pub(crate) fn json_text(value: Unknown<'_>) -> Result<Vec<u8>> {
    match given_text(&value)? {
        Some(text) => Ok(text),
        None => evidentia::canonicalize_value(&JsonValues::new(&value)?.convert(value, 0)?).map_err(error),
    }
}

/// The bytes of JSON text given as a string or a Uint8Array; `None` for other values.
fn given_text(value: &Unknown<'_>) -> Result<Option<Vec<u8>>> {
    match value.get_type().map_err(engine)? {
        ValueType::String => Ok(Some(js_string(value)?.into_bytes())),
        ValueType::Object if is_typed_array(value) => {
            // SAFETY: a typed array, just checked; napi checks that it is a Uint8Array.
            let bytes: Uint8Array = unsafe { value.cast() }.map_err(|_| {
                fail(ErrorCode::InvalidArgument, "JSON text given as bytes must be a Uint8Array or a Buffer")
            })?;
            Ok(Some(bytes.to_vec()))
        }
        _ => Ok(None),
    }
}

/// Text given as a string, read strictly by [`js_string`], or as bytes (a
/// Uint8Array), as bytes (`what` names it in the error); any other value is refused
/// with INVALID_ARGUMENT.
pub(crate) fn text_bytes(value: &Unknown<'_>, what: &str) -> Result<Vec<u8>> {
    given_text(value)?.ok_or_else(|| fail(ErrorCode::InvalidArgument, format!("{what} is a string or a Uint8Array")))
}

/// Bytes given as a Uint8Array (or a Buffer), for an optional argument
/// (`undefined` and `null` are absent); any other value is refused with
/// INVALID_ARGUMENT (`what` names it), as napi's own conversion would not code it.
pub(crate) fn bytes_opt(value: Option<Unknown<'_>>, what: &str) -> Result<Option<Vec<u8>>> {
    let Some(value) = value else { return Ok(None) };
    match value.get_type().map_err(engine)? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        ValueType::Object if is_typed_array(&value) => {
            // SAFETY: a typed array, just checked; napi checks that it is a Uint8Array.
            let bytes: Uint8Array = unsafe { value.cast() }
                .map_err(|_| fail(ErrorCode::InvalidArgument, format!("{what} is a Uint8Array or a Buffer")))?;
            Ok(Some(bytes.to_vec()))
        }
        _ => Err(fail(ErrorCode::InvalidArgument, format!("{what} is a Uint8Array or a Buffer"))),
    }
}

/// As [`json_text`], for an optional argument (`undefined` and `null` are absent).
pub(crate) fn json_text_opt(value: Option<Unknown<'_>>) -> Result<Option<Vec<u8>>> {
    match value {
        Some(value) if !matches!(value.get_type().map_err(engine)?, ValueType::Undefined | ValueType::Null) => {
            json_text(value).map(Some)
        }
        _ => Ok(None),
    }
}

/// Converts JavaScript values to JSON values: plain objects, arrays, strings,
/// finite numbers, booleans, null, and BigInts within ±(2^53 − 1). `undefined`,
/// functions, symbols, Dates, Maps, typed arrays and other objects are refused,
/// never changed (where `JSON.stringify` would drop or rewrite them).
struct JsonValues<'env> {
    env: Env,
    /// `Object.prototype`, which only plain objects inherit from directly.
    object_prototype: Object<'env>,
    max_depth: usize,
}

impl<'env> JsonValues<'env> {
    fn new(value: &Unknown<'env>) -> Result<JsonValues<'env>> {
        let env = Env::from_raw(value.value().env);
        // The `Object` constructor is a function, which napi only hands out as an Object raw.
        let object: Unknown<'_> = env.get_global().map_err(engine)?.get_named_property("Object").map_err(engine)?;
        let object = Object::from_raw(env.raw(), object.raw());
        let object_prototype: Object<'env> = object.get_named_property("prototype").map_err(engine)?;
        Ok(JsonValues { env, object_prototype, max_depth: ParseOptions::default().max_depth })
    }

    fn convert(&self, value: Unknown<'_>, depth: usize) -> Result<Value> {
        // SAFETY (every cast below): the value's type was checked first.
        match value.get_type().map_err(engine)? {
            ValueType::Null => Ok(Value::Null),
            ValueType::Boolean => Ok(Value::Bool(unsafe { value.cast::<bool>() }.map_err(engine)?)),
            ValueType::Number => {
                Number::from_f64(unsafe { value.cast::<f64>() }.map_err(engine)?).map(Value::Number).map_err(error)
            }
            ValueType::String => Ok(Value::String(js_string(&value)?)),
            ValueType::BigInt => {
                let big: BigInt = unsafe { value.cast() }.map_err(engine)?;
                let (n, lossless) = big.get_i64();
                if !lossless || n.unsigned_abs() > MAX_SAFE_INTEGER as u64 {
                    return Err(fail(
                        ErrorCode::JsonIntegerPrecision,
                        "a BigInt beyond ±(2^53-1) has no exact JSON number",
                    ));
                }
                Number::from_i64(n).map(Value::Number).map_err(error)
            }
            ValueType::Object => {
                if depth >= self.max_depth {
                    let limit = self.max_depth;
                    return Err(fail(ErrorCode::JsonTooDeep, format!("nesting deeper than the limit of {limit}")));
                }
                let object: Object<'_> = unsafe { value.cast() }.map_err(engine)?;
                if object.is_array().map_err(engine)? {
                    let len = object.get_array_length().map_err(engine)?;
                    let mut items = Vec::with_capacity(len.min(1 << 16) as usize);
                    for i in 0..len {
                        items.push(self.convert(object.get_element(i).map_err(engine)?, depth + 1)?);
                    }
                    return Ok(Value::Array(items));
                }
                if !self.is_plain(&object)? {
                    return Err(fail(
                        ErrorCode::JsonUnsupportedType,
                        "only plain objects and arrays have a JSON equivalent (not Dates, Maps, Buffers or class instances)",
                    ));
                }
                let members = own_enumerable_members(&object)?
                    .into_iter()
                    .map(|(name, item)| Ok((name, self.convert(item, depth + 1)?)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Value::Object(members))
            }
            other => {
                let name = match other {
                    ValueType::Undefined => "undefined",
                    ValueType::Function => "a function",
                    ValueType::Symbol => "a symbol",
                    _ => "an external value",
                };
                Err(fail(ErrorCode::JsonUnsupportedType, format!("{name} has no JSON equivalent")))
            }
        }
    }

    /// Whether an object is plain: its prototype is `Object.prototype` or `null`.
    fn is_plain(&self, object: &Object<'_>) -> Result<bool> {
        let proto: Unknown<'_> = object.get_prototype().map_err(engine)?;
        Ok(proto.get_type().map_err(engine)? == ValueType::Null
            || self.env.strict_equals(proto, self.object_prototype).map_err(engine)?)
    }
}

/// Fails unless a Node-API call succeeded.
fn napi_ok(status: napi::sys::napi_status, what: &str) -> Result<()> {
    if status == napi::sys::Status::napi_ok {
        Ok(())
    } else {
        Err(fail(ErrorCode::Internal, format!("Node-API could not {what}")))
    }
}

/// A JavaScript string as Rust text. A lone surrogate, which UTF-8 cannot carry, is
/// refused: napi's UTF-8 read (the fast one) silently turns it into U+FFFD, so text
/// holding U+FFFD is read again as UTF-16 to tell a real U+FFFD from a lone surrogate.
pub(crate) fn js_string(value: &Unknown<'_>) -> Result<String> {
    use napi::sys;
    let raw = value.value();
    let mut units = 0;
    // SAFETY: a valid env and string from napi; a NULL buffer asks for the length.
    // In UTF-16 units the engine knows it; in UTF-8 bytes it would count them by
    // reading the whole string, once more than the read below.
    napi_ok(
        unsafe { sys::napi_get_value_string_utf16(raw.env, raw.value, std::ptr::null_mut(), 0, &mut units) },
        "read a string",
    )?;
    let mut length = units.saturating_mul(3);
    if length > 1 << 20 {
        // A long string is measured exactly rather than given three times its room.
        // SAFETY: as above.
        napi_ok(
            unsafe { sys::napi_get_value_string_utf8(raw.env, raw.value, std::ptr::null_mut(), 0, &mut length) },
            "read a string",
        )?;
    }
    // Each UTF-16 unit becomes at most three bytes of UTF-8 (a surrogate pair, four).
    let mut bytes = vec![0u8; length + 1];
    let mut written = 0;
    // SAFETY: `bytes` has room for the string and the terminating NUL.
    napi_ok(
        unsafe {
            sys::napi_get_value_string_utf8(raw.env, raw.value, bytes.as_mut_ptr().cast(), bytes.len(), &mut written)
        },
        "read a string",
    )?;
    bytes.truncate(written);
    match String::from_utf8(bytes) {
        Ok(text) if !text.contains('\u{FFFD}') => Ok(text),
        _ => js_string_utf16(value),
    }
}

/// A text argument or option (`what` names it in the error): a string, read
/// strictly by [`js_string`], so a lone surrogate is refused (JSON_LONE_SURROGATE)
/// rather than silently changed to U+FFFD, and any other value is refused with
/// INVALID_ARGUMENT rather than coerced. Every text a function takes goes through it.
pub(crate) fn text(value: &Unknown<'_>, what: &str) -> Result<String> {
    if value.get_type().map_err(engine)? != ValueType::String {
        return Err(fail(ErrorCode::InvalidArgument, format!("{what} is a string")));
    }
    js_string(value)
}

/// As [`text`], for an optional argument or option: absent is `None`. (napi-rs
/// makes an absent argument, and `undefined` or `null` given for one, `None`; an
/// option given as `null` is refused as not a string.)
pub(crate) fn optional_text(value: Option<&Unknown<'_>>, what: &str) -> Result<Option<String>> {
    value.map(|value| text(value, what)).transpose()
}

/// A JavaScript string read as UTF-16, refusing a lone surrogate.
fn js_string_utf16(value: &Unknown<'_>) -> Result<String> {
    use napi::sys;
    let raw = value.value();
    let mut length = 0;
    // SAFETY: a valid env and string from napi; a NULL buffer asks for the length.
    napi_ok(
        unsafe { sys::napi_get_value_string_utf16(raw.env, raw.value, std::ptr::null_mut(), 0, &mut length) },
        "read a string",
    )?;
    let mut units = vec![0u16; length + 1];
    let mut written = 0;
    // SAFETY: `units` has room for the string and the terminating NUL.
    napi_ok(
        unsafe { sys::napi_get_value_string_utf16(raw.env, raw.value, units.as_mut_ptr(), units.len(), &mut written) },
        "read a string",
    )?;
    units.truncate(written);
    String::from_utf16(&units).map_err(|_| {
        fail(ErrorCode::JsonLoneSurrogate, "a string holds a lone surrogate, which JSON text in UTF-8 cannot carry")
    })
}

/// An object's own enumerable string-keyed properties, in property order (what
/// `Object.keys` and `JSON.stringify` see), as names and values.
fn own_enumerable_members<'env>(object: &Object<'env>) -> Result<Vec<(String, Unknown<'env>)>> {
    use napi::sys;
    let raw = object.value();
    let mut names = std::ptr::null_mut();
    // SAFETY (every call below): a valid env and values from napi; out-parameters are locals.
    napi_ok(
        unsafe {
            sys::napi_get_all_property_names(
                raw.env,
                raw.value,
                sys::KeyCollectionMode::own_only,
                sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
                sys::KeyConversion::numbers_to_strings,
                &mut names,
            )
        },
        "list the properties of an object",
    )?;
    let mut count = 0;
    napi_ok(unsafe { sys::napi_get_array_length(raw.env, names, &mut count) }, "count properties")?;
    let mut members = Vec::with_capacity(count as usize);
    for i in 0..count {
        let (mut key, mut item) = (std::ptr::null_mut(), std::ptr::null_mut());
        napi_ok(unsafe { sys::napi_get_element(raw.env, names, i, &mut key) }, "read a property name")?;
        napi_ok(unsafe { sys::napi_get_property(raw.env, raw.value, key, &mut item) }, "read a property")?;
        // SAFETY: values napi just returned in this env, alive as long as the object.
        let (key, item) =
            unsafe { (Unknown::from_raw_unchecked(raw.env, key), Unknown::from_raw_unchecked(raw.env, item)) };
        members.push((js_string(&key)?, item));
    }
    Ok(members)
}

/// A new Buffer holding a copy of `bytes`: for small outputs a copy is cheaper
/// than handing V8 an external buffer to track.
pub(crate) fn buffer<'env>(env: &'env Env, bytes: &[u8]) -> Result<BufferSlice<'env>> {
    BufferSlice::copy_from(env, bytes).map_err(engine)
}

/// A JSON value as a JavaScript value.
/// Makes `name` an own, enumerable, writable data property of `object`, whatever
/// the name: an assignment would make a member named `__proto__` the object's
/// prototype (its members then read as members of the object, none of them its own),
/// and a name holding NUL would be cut at it.
fn define_member(object: &Object<'_>, name: &str, value: &Unknown<'_>) -> Result<()> {
    use napi::sys;
    let (raw_object, raw_value) = (object.value(), value.value());
    let mut key = std::ptr::null_mut();
    let length = isize::try_from(name.len()).map_err(|_| fail(ErrorCode::Internal, "a member name is too long"))?;
    // SAFETY: a valid env; the name's bytes with their length, which may hold NUL.
    napi_ok(
        unsafe { sys::napi_create_string_utf8(raw_object.env, name.as_ptr().cast(), length, &mut key) },
        "make a member name",
    )?;
    let descriptor = sys::napi_property_descriptor {
        utf8name: std::ptr::null(),
        name: key,
        method: None,
        getter: None,
        setter: None,
        value: raw_value.value,
        attributes: sys::PropertyAttributes::writable
            | sys::PropertyAttributes::enumerable
            | sys::PropertyAttributes::configurable,
        data: std::ptr::null_mut(),
    };
    // SAFETY: a valid env, object and value from napi, and one descriptor.
    napi_ok(unsafe { sys::napi_define_properties(raw_object.env, raw_object.value, 1, &descriptor) }, "set a member")
}

pub(crate) fn value_to_js<'env>(env: &'env Env, value: &Value) -> Result<Unknown<'env>> {
    let unknown = match value {
        Value::Null => Null.into_unknown(env),
        Value::Bool(b) => b.into_unknown(env),
        Value::Number(n) => n.as_f64().into_unknown(env),
        Value::String(s) => s.as_str().into_unknown(env),
        Value::Array(items) => {
            let mut array = env.create_array(items.len() as u32).map_err(engine)?;
            for (i, item) in items.iter().enumerate() {
                array.set(i as u32, value_to_js(env, item)?).map_err(engine)?;
            }
            array.into_unknown(env)
        }
        Value::Object(members) => {
            let object = Object::new(env).map_err(engine)?;
            for (name, item) in members {
                define_member(&object, name, &value_to_js(env, item)?)?;
            }
            object.into_unknown(env)
        }
    };
    unknown.map_err(engine)
}
