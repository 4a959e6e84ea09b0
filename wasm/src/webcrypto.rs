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
struct WebCrypto {
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
    async fn new(keys: &KeySet) -> Option<WebCrypto> {
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
    fn keys(&self) -> &KeySet {
        self.deferral.keys()
    }

    /// Hands WebCrypto the checks made since the last call.
    fn start(&self) {
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
    ///
    /// A WebCrypto that has not answered every check within [`patience`] leaves
    /// them all to the module.
    async fn finish<R>(self, assumed: R, verify: impl FnOnce(&KeySet) -> R) -> R {
        self.start();
        let settled = Promise::all_settled(&self.started);
        let timer = Timer::start(patience(self.started.length()));
        let answered = match &timer {
            Some(timer) => Promise::race(&[&settled, &timer.fired].into_iter().collect::<Array>()),
            None => settled,
        };
        let answered = JsFuture::from(answered).await;
        // A pending timer would keep Node.js running after the last call.
        drop(timer);
        // Answers are read only from a settled array of exactly one per check; a
        // time-out resolves to undefined, which is not an array.
        let answers = match answered {
            Ok(settled) if Array::is_array(&settled) => Array::from(&settled)
                .iter()
                .map(|outcome| Reflect::get(&outcome, &"value".into()).is_ok_and(|v| v.as_bool() == Some(true)))
                .collect(),
            _ => Vec::new(),
        };
        self.deferral.finish(assumed, &answers, verify)
    }
}

/// Runs `verify` with `keys`, its signature checks made by WebCrypto where the
/// runtime has it, by the module where not. `verify` may call the hook it is given
/// as it goes (between a log's entries) to hand WebCrypto the checks made so far.
pub(crate) async fn verify<R>(keys: &KeySet, verify: impl Fn(&KeySet, &mut dyn FnMut()) -> R) -> R {
    match WebCrypto::new(keys).await {
        Some(webcrypto) => {
            let assumed = verify(webcrypto.keys(), &mut || webcrypto.start());
            webcrypto.finish(assumed, |keys| verify(keys, &mut || {})).await
        }
        None => verify(keys, &mut || {}),
    }
}

/// How long WebCrypto may take to answer `checks` checks, in milliseconds: ten
/// seconds, and a millisecond per check (it takes about 0.07 ms in Chromium).
fn patience(checks: u32) -> f64 {
    10_000.0 + f64::from(checks)
}

/// A `setTimeout` timer, cleared when dropped.
struct Timer {
    /// Resolves to undefined when the time is up.
    fired: Promise,
    handle: JsValue,
}

impl Timer {
    /// A timer of `milliseconds`, when the runtime has `setTimeout`.
    fn start(milliseconds: f64) -> Option<Timer> {
        let set_timeout: Function = Reflect::get(&js_sys::global(), &"setTimeout".into()).ok()?.dyn_into().ok()?;
        let mut handle = Ok(JsValue::UNDEFINED);
        let fired = Promise::new(&mut |resolve, _reject| {
            handle = set_timeout.call2(&JsValue::UNDEFINED, &resolve, &milliseconds.into());
        });
        Some(Timer { fired, handle: handle.ok()? })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let clear =
            Reflect::get(&js_sys::global(), &"clearTimeout".into()).ok().and_then(|f| f.dyn_into::<Function>().ok());
        if let Some(clear) = clear {
            let _ = clear.call1(&JsValue::UNDEFINED, &self.handle);
        }
    }
}

/// `globalThis.crypto.subtle`, when the runtime has it (browsers in secure
/// contexts, Node.js 19 and later).
fn subtle() -> Option<Object> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok().filter(JsValue::is_object)?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok().filter(JsValue::is_object)?;
    Some(subtle.unchecked_into())
}

/// The public key as a WebCrypto `CryptoKey` for ECDSA P-256 verification.
/// Imported for each verification and never kept: a key kept from an earlier
/// call would carry whatever `importKey` returned then into later verdicts.
async fn import(subtle: &Object, public_key: &[u8; 65]) -> Result<JsValue, JsValue> {
    let import_key: Function = Reflect::get(subtle, &"importKey".into())?.dyn_into()?;
    let parameters = object(&[("name", "ECDSA".into()), ("namedCurve", "P-256".into())])?;
    let usages: Array = std::iter::once(JsValue::from("verify")).collect();
    let arguments: [JsValue; 5] =
        ["raw".into(), Uint8Array::from(&public_key[..]).into(), parameters.into(), false.into(), usages.into()];
    let promise: Promise = import_key.apply(subtle, &arguments.iter().collect::<Array>())?.dyn_into()?;
    JsFuture::from(promise).await
}

fn object(members: &[(&str, JsValue)]) -> Result<Object, JsValue> {
    let out = Object::new();
    for (name, value) in members {
        Reflect::set(&out, &(*name).into(), value)?;
    }
    Ok(out)
}
