//! Signature checks made by the runtime's WebCrypto (`crypto.subtle`: native code
//! in browsers and Node.js) instead of the pure-Rust provider compiled into the
//! module. WebCrypto only answers asynchronously, so the core runs a verification
//! with its checks deferred and decides the result from the answers
//! (`evidentia::Deferral`): an answer of "invalid" is checked again in
//! WebAssembly, so only WebCrypto's "valid" is ever taken on its word.
//!
//! Checks are handed to WebCrypto while the verification goes on, so that its
//! thread verifies signatures while the module parses and hashes what follows.

use std::collections::HashMap;

use evidentia::{Deferral, KeySet};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// A verification whose signatures WebCrypto checks.
pub(crate) struct WebCrypto {
    deferral: Deferral,
    subtle: Object,
    verify: Function,
    algorithm: Object,
    /// The deferred keys, imported, by their SEC1 point.
    imported: HashMap<[u8; 65], JsValue>,
    /// WebCrypto's answers, one Promise per check taken, in order.
    started: Array,
}

impl WebCrypto {
    /// Imports `keys` into WebCrypto; `None` where the runtime has no WebCrypto
    /// or it refuses a key (the module then checks every signature itself).
    pub(crate) async fn new(keys: &KeySet) -> Option<WebCrypto> {
        let subtle = subtle()?;
        let verify = Reflect::get(&subtle, &"verify".into()).ok()?.dyn_into().ok()?;
        let algorithm = object(&[("name", "ECDSA".into()), ("hash", "SHA-256".into())]).ok()?;
        let mut imported = HashMap::new();
        for key in keys.entries().iter().filter_map(|entry| entry.public_key()) {
            let mut point = [0; 65];
            point.copy_from_slice(&key.to_sec1(false));
            if let std::collections::hash_map::Entry::Vacant(slot) = imported.entry(point) {
                slot.insert(import(&subtle, &point).await.ok()?);
            }
        }
        Some(WebCrypto { deferral: Deferral::new(keys), subtle, verify, algorithm, imported, started: Array::new() })
    }

    /// The key set to verify with.
    pub(crate) fn keys(&self) -> &KeySet {
        self.deferral.keys()
    }

    /// Hands WebCrypto the checks made since the last call.
    pub(crate) fn start(&self) {
        for check in self.deferral.take_checks() {
            let answer = match self.imported.get(&check.public_key) {
                Some(key) => {
                    let arguments: [JsValue; 4] = [
                        self.algorithm.clone().into(),
                        key.clone(),
                        Uint8Array::from(&check.signature[..]).into(),
                        Uint8Array::from(&check.message[..]).into(),
                    ];
                    // A call that throws is an answer of "not valid", checked again.
                    self.verify.apply(&self.subtle, &arguments.iter().collect::<Array>()).unwrap_or(JsValue::FALSE)
                }
                None => JsValue::FALSE,
            };
            self.started.push(&answer);
        }
    }

    /// The verification's result: `assumed`, reached with [`Self::keys`], once
    /// WebCrypto's answers confirm it, or `verify` run again with them.
    pub(crate) async fn finish<R>(self, assumed: R, verify: impl FnOnce(&KeySet) -> R) -> R {
        self.start();
        let answers = match JsFuture::from(Promise::all_settled(&self.started)).await {
            Ok(settled) => Array::from(&settled)
                .iter()
                .map(|outcome| Reflect::get(&outcome, &"value".into()).is_ok_and(|v| v.as_bool() == Some(true)))
                .collect(),
            Err(_) => Vec::new(),
        };
        self.deferral.finish(assumed, &answers, verify)
    }
}

/// Runs `verify` with `keys`, its signature checks made by WebCrypto where the
/// runtime has it, by the module where not.
pub(crate) async fn verify<R>(keys: &KeySet, verify: impl Fn(&KeySet) -> R) -> R {
    match WebCrypto::new(keys).await {
        Some(webcrypto) => {
            let assumed = verify(webcrypto.keys());
            webcrypto.finish(assumed, &verify).await
        }
        None => verify(keys),
    }
}

/// `globalThis.crypto.subtle`, when the runtime has it (browsers in secure
/// contexts, Node.js 19 and later).
fn subtle() -> Option<Object> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok().filter(JsValue::is_object)?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok().filter(JsValue::is_object)?;
    Some(subtle.unchecked_into())
}

/// Imported keys are kept, so that checking one receipt after another imports
/// its key once; at most this many (a verifier sees few keys).
const KEPT_KEYS: usize = 64;

thread_local! {
    static KEPT: std::cell::RefCell<HashMap<[u8; 65], JsValue>> = std::cell::RefCell::new(HashMap::new());
}

/// The public key as a WebCrypto `CryptoKey` for ECDSA P-256 verification.
async fn import(subtle: &Object, public_key: &[u8; 65]) -> Result<JsValue, JsValue> {
    if let Some(key) = KEPT.with(|kept| kept.borrow().get(public_key).cloned()) {
        return Ok(key);
    }
    let import_key: Function = Reflect::get(subtle, &"importKey".into())?.dyn_into()?;
    let parameters = object(&[("name", "ECDSA".into()), ("namedCurve", "P-256".into())])?;
    let usages: Array = std::iter::once(JsValue::from("verify")).collect();
    let arguments: [JsValue; 5] =
        ["raw".into(), Uint8Array::from(&public_key[..]).into(), parameters.into(), false.into(), usages.into()];
    let promise: Promise = import_key.apply(subtle, &arguments.iter().collect::<Array>())?.dyn_into()?;
    let key = JsFuture::from(promise).await?;
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.len() >= KEPT_KEYS {
            kept.clear();
        }
        kept.insert(*public_key, key.clone());
    });
    Ok(key)
}

fn object(members: &[(&str, JsValue)]) -> Result<Object, JsValue> {
    let out = Object::new();
    for (name, value) in members {
        Reflect::set(&out, &(*name).into(), value)?;
    }
    Ok(out)
}
