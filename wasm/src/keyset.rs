//! `KeySet`: a JWKS parsed once and passed to any verification function in place
//! of its text, so that a page verifying many receipts with the same keys does
//! not parse them again on every call.

use std::cell::RefCell;
use std::rc::Rc;

use evidentia::ErrorCode;
use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;

use crate::convert::{Result, error, fail, text};

/// A key set (a JWKS with key history, or one JWK), parsed once. Every function
/// that takes `jwks` text takes a `KeySet` too.
#[wasm_bindgen]
#[derive(Debug)]
pub struct KeySet(Rc<evidentia::KeySet>);

#[wasm_bindgen]
impl KeySet {
    /// Parses JWKS text (or one JWK) strictly, as every verification function does.
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(#[wasm_bindgen(unchecked_param_type = "string")] jwks: JsValue) -> Result<KeySet> {
        Ok(KeySet(Rc::new(evidentia::KeySet::from_json(&text(&jwks, "jwks")?).map_err(error)?)))
    }

    /// The key set as JWKS text.
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// The number of keys.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX)
    }

    /// `KeySet(keys=…)`.
    #[wasm_bindgen(js_name = toString)]
    pub fn describe(&self) -> String {
        format!("KeySet(keys={})", self.0.len())
    }

    /// Hands the parsed keys to the verification function that called this. Not
    /// part of the API (see [`keys`]).
    #[wasm_bindgen(js_name = "__share", skip_typescript)]
    pub fn share(&self) {
        SHARED.with(|shared| *shared.borrow_mut() = Some(Rc::clone(&self.0)));
    }
}

thread_local! {
    /// The keys the last `__share` handed over, until a verification function takes them.
    static SHARED: RefCell<Option<Rc<evidentia::KeySet>>> = const { RefCell::new(None) };
}

fn not_keys() -> JsValue {
    fail(ErrorCode::InvalidArgument, "jwks must be a string or a KeySet")
}

/// A `jwks` argument: JWKS text, parsed now, or a `KeySet`, shared.
///
/// wasm-bindgen reads a Rust object out of a JavaScript value only by taking it
/// over (the object is then used up), and only by `instanceof`, which an object
/// inheriting from a live `KeySet` passes too. So the value is asked to hand its
/// keys over instead: its `__share` method, run by wasm-bindgen's own checks on
/// the object's pointer (refusing a freed or stale one), puts a second handle on
/// the same keys where this function takes it. What `__share` returns is never
/// used; a look-alike whose `__share` is not this class's hands nothing over.
pub(crate) fn keys(value: &JsValue) -> Result<Rc<evidentia::KeySet>> {
    if value.is_string() {
        return Ok(Rc::new(evidentia::KeySet::from_json(&text(value, "jwks")?).map_err(error)?));
    }
    if !value.is_object() {
        return Err(not_keys());
    }
    let share = Reflect::get(value, &JsValue::from_str("__share")).map_err(|_| not_keys())?;
    let share = share.dyn_ref::<Function>().ok_or_else(not_keys)?;
    SHARED.with(|shared| shared.borrow_mut().take());
    share.call0(value).map_err(|_| not_keys())?;
    SHARED.with(|shared| shared.borrow_mut().take()).ok_or_else(not_keys)
}

/// An optional `jwks` argument (see [`keys`]): `undefined` and `null` are absent.
pub(crate) fn optional_keys(value: &JsValue) -> Result<Option<Rc<evidentia::KeySet>>> {
    if value.is_undefined() || value.is_null() { Ok(None) } else { keys(value).map(Some) }
}
