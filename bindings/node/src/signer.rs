//! Keys held elsewhere, wherever a `SigningKey` is accepted: a key in a PKCS#11
//! token named by an RFC 7512 `pkcs11:` URI (opened by `evidentia-pkcs11`), or a
//! JavaScript signer object `{ publicJwk, sign(message) }` (a cloud KMS, an HSM
//! client) as core's `Signer`. It only converts: the core checks every signature
//! against the public key before it is used.
//!
//! The methods that block open a token on the JavaScript thread; the `…Async`
//! methods open it on the libuv worker (loading the module and logging in may
//! take a while).
//!
//! A synchronous `sign` is called on the JavaScript thread by the methods that
//! block. The `…Async` methods sign on a libuv worker: the worker asks the
//! JavaScript thread to call `sign` (a thread-safe function), waits for the value
//! or the Promise it returns, and gives up after the signer's `signTimeoutMs`
//! (default 60 s) so that a Promise that never settles cannot hold a log's writer
//! lock for ever.

use std::ffi::c_void;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evidentia::{ErrorCode, PublicKey, Signer};
use napi::bindgen_prelude::*;
use napi::{ValueType, sys};
use napi_derive::napi;

use crate::SigningKey;
use crate::convert::{Result, engine, error, fail, is_typed_array, text};

/// How long the `…Async` methods wait for a signature unless the signer says
/// otherwise (`signTimeoutMs`).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The answer of a signer: the signature's bytes, or why there are none.
type Answer = std::result::Result<Vec<u8>, String>;

fn signer_failed(why: impl std::fmt::Display) -> evidentia::Error {
    evidentia::Error::new(ErrorCode::SignerFailed, format!("the signer failed: {why}"))
}

/// A P-256 key held elsewhere (a cloud KMS, an HSM client), for every function
/// that signs: its public key, and `sign`, which signs the whole message (ECDSA
/// P-256 with SHA-256) and returns the signature as DER (as KMS return it) or as
/// the 64 bytes R || S. Every signature is checked against `publicJwk` before it
/// is used: a wrong one, a throw, a rejection or a value that is not bytes is
/// SIGNER_FAILED, and nothing is written. The methods that block need `sign` to
/// answer synchronously; `ReceiptChain.issueAsync` and the `…Async` methods of
/// `Log` also take a Promise, waiting at most `signTimeoutMs` (default 60000).
#[napi(object, object_to_js = false, js_name = "Signer")]
#[allow(dead_code)]
pub struct SignerObject<'env> {
    /// The public key as a JWK (EC P-256), text.
    pub public_jwk: String,
    /// Signs a message; `this` is the signer object.
    #[napi(ts_type = "(message: Buffer) => Uint8Array | Promise<Uint8Array>")]
    pub sign: Unknown<'env>,
    /// How long the `…Async` methods wait for a signature, in milliseconds
    /// (default 60000); then they fail with SIGNER_FAILED.
    pub sign_timeout_ms: Option<f64>,
}

/// A key in a PKCS#11 token, shared by the log that holds it and its workers.
pub(crate) type Token = Arc<evidentia_pkcs11::Pkcs11Signer>;

/// A key argument: a `SigningKey`, a key in a PKCS#11 token, or a signer object.
pub(crate) enum Key {
    Local(evidentia::SigningKey),
    Token(Token),
    Js(JsSigner),
}

/// A key argument as read on the JavaScript thread: a `pkcs11:` URI is kept as
/// text, for the caller to open here (`Key::from_js`) or on a worker.
enum Given {
    Key(Box<Key>),
    Uri(String),
}

fn not_a_key() -> napi::Error<crate::convert::Code> {
    fail(ErrorCode::InvalidArgument, "the key is a SigningKey, a pkcs11: URI or a signer { publicJwk, sign }")
}

impl Given {
    fn from_js(env: &Env, value: &Unknown<'_>) -> Result<Given> {
        match value.get_type().map_err(engine)? {
            ValueType::String => {
                let uri = text(value, "the key")?;
                if !evidentia_pkcs11::is_pkcs11_uri(&uri) {
                    return Err(not_a_key());
                }
                Ok(Given::Uri(uri))
            }
            ValueType::Object => {
                // SAFETY: a valid env and value from napi; napi checks the wrapped class.
                if let Ok(key) = unsafe { ClassInstance::<SigningKey>::from_napi_value(env.raw(), value.raw()) } {
                    return Ok(Given::Key(Box::new(Key::Local(key.0.clone()))));
                }
                // SAFETY: an object, just checked.
                let object: Object<'_> = unsafe { value.cast() }.map_err(engine)?;
                JsSigner::from_object(env, &object).map(|signer| Given::Key(Box::new(Key::Js(signer))))
            }
            _ => Err(not_a_key()),
        }
    }
}

/// Opens the key a `pkcs11:` URI names (errors KEY_URI_INVALID, TOKEN_…).
fn open_token(uri: &str) -> Result<Token> {
    Ok(Arc::new(evidentia_pkcs11::Pkcs11Signer::open(uri).map_err(error)?))
}

impl Key {
    /// Reads a `SigningKey`, a `pkcs11:` URI (opening its token here) or a signer
    /// object `{ publicJwk, sign, signTimeoutMs? }`.
    pub(crate) fn from_js(env: &Env, value: &Unknown<'_>) -> Result<Key> {
        match Given::from_js(env, value)? {
            Given::Key(key) => Ok(*key),
            Given::Uri(uri) => open_token(&uri).map(Key::Token),
        }
    }

    /// The signer for the JavaScript thread: a synchronous `sign` answers there.
    pub(crate) fn here<'a>(&'a self, env: &Env) -> Box<dyn Signer + 'a> {
        match self {
            Key::Local(key) => Box::new(key.clone()),
            Key::Token(token) => Box::new(token.clone()),
            Key::Js(signer) => Box::new(Here { signer, env: *env }),
        }
    }

    /// The signer for a worker thread: `sign` is called on the JavaScript thread,
    /// and may return a Promise.
    pub(crate) fn worker(&self, env: &Env) -> Result<Box<dyn Signer + Send + Sync>> {
        match self {
            Key::Local(key) => Ok(Box::new(key.clone())),
            Key::Token(token) => Ok(Box::new(token.clone())),
            Key::Js(signer) => Ok(Box::new(signer.remote(env)?)),
        }
    }
}

/// A key argument of an `…Async` method: a key, or a `pkcs11:` URI whose token
/// the worker opens.
pub(crate) struct KeyArgument {
    given: Given,
}

/// What a worker signs with: made on the JavaScript thread, or a token it opens.
pub(crate) enum WorkerKey {
    Ready(Box<dyn Signer + Send + Sync>),
    Uri(String),
}

/// A worker's signer, and the token it opened (which becomes a log's key).
pub(crate) struct Opened {
    pub(crate) signer: Box<dyn Signer + Send + Sync>,
    pub(crate) token: Option<Token>,
}

impl KeyArgument {
    /// Reads the argument as `Key::from_js` does, but leaves a token unopened.
    pub(crate) fn from_js(env: &Env, value: &Unknown<'_>) -> Result<KeyArgument> {
        Given::from_js(env, value).map(|given| KeyArgument { given })
    }

    /// On the JavaScript thread: what the worker signs with.
    pub(crate) fn worker(&self, env: &Env) -> Result<WorkerKey> {
        match &self.given {
            Given::Key(key) => key.worker(env).map(WorkerKey::Ready),
            Given::Uri(uri) => Ok(WorkerKey::Uri(uri.clone())),
        }
    }

    /// The key, unless it is a token (which the worker opened).
    pub(crate) fn into_key(self) -> Option<Key> {
        match self.given {
            Given::Key(key) => Some(*key),
            Given::Uri(_) => None,
        }
    }
}

impl WorkerKey {
    /// On the worker: the signer, opening a token.
    pub(crate) fn open(self) -> Result<Opened> {
        match self {
            WorkerKey::Ready(signer) => Ok(Opened { signer, token: None }),
            WorkerKey::Uri(uri) => {
                let token = open_token(&uri)?;
                Ok(Opened { signer: Box::new(token.clone()), token: Some(token) })
            }
        }
    }
}

/// A reference to a JavaScript object, deleted when dropped. Only used and dropped
/// on the JavaScript thread (napi objects are finalized there).
struct JsRef {
    env: sys::napi_env,
    raw: sys::napi_ref,
}

impl JsRef {
    fn new(env: &Env, object: &Object<'_>) -> Result<JsRef> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: a valid env and object from napi; the out-parameter is a local.
        let status = unsafe { sys::napi_create_reference(env.raw(), object.raw(), 1, &mut raw) };
        if status != sys::Status::napi_ok {
            return Err(fail(ErrorCode::Internal, "Node-API could not keep a reference to the signer"));
        }
        Ok(JsRef { env: env.raw(), raw })
    }

    fn object<'env>(&self, env: &'env Env) -> std::result::Result<Object<'env>, String> {
        reference_value(env, self.raw)
    }
}

impl Drop for JsRef {
    fn drop(&mut self) {
        // SAFETY: the reference was made in this env, and is deleted once.
        unsafe { sys::napi_delete_reference(self.env, self.raw) };
    }
}

fn reference_value<'env>(env: &'env Env, raw: sys::napi_ref) -> std::result::Result<Object<'env>, String> {
    let mut value = std::ptr::null_mut();
    // SAFETY: a live reference made in this env; the out-parameter is a local.
    let status = unsafe { sys::napi_get_reference_value(env.raw(), raw, &mut value) };
    if status != sys::Status::napi_ok || value.is_null() {
        return Err("the signer object is gone".to_owned());
    }
    Ok(Object::from_raw(env.raw(), value))
}

/// A signer object the application gave.
pub(crate) struct JsSigner {
    key: PublicKey,
    object: JsRef,
    timeout: Duration,
}

impl JsSigner {
    fn from_object(env: &Env, object: &Object<'_>) -> Result<JsSigner> {
        let jwk: Unknown<'_> = object.get_named_property("publicJwk").map_err(engine)?;
        let key = PublicKey::from_jwk(&text(&jwk, "the signer's publicJwk")?).map_err(error)?;
        let sign: Unknown<'_> = object.get_named_property("sign").map_err(engine)?;
        if sign.get_type().map_err(engine)? != ValueType::Function {
            return Err(fail(ErrorCode::InvalidArgument, "the signer's sign is a function"));
        }
        let timeout: Unknown<'_> = object.get_named_property("signTimeoutMs").map_err(engine)?;
        let timeout = match timeout.get_type().map_err(engine)? {
            ValueType::Undefined | ValueType::Null => DEFAULT_TIMEOUT,
            ValueType::Number => {
                // SAFETY: a number, just checked.
                let ms: f64 = unsafe { timeout.cast() }.map_err(engine)?;
                if !(ms.is_finite() && ms > 0.0) {
                    return Err(fail(ErrorCode::InvalidArgument, "the signer's signTimeoutMs is a positive number"));
                }
                Duration::from_secs_f64(ms.min(86_400_000.0) / 1000.0)
            }
            _ => return Err(fail(ErrorCode::InvalidArgument, "the signer's signTimeoutMs is a positive number")),
        };
        Ok(JsSigner { key, object: JsRef::new(env, object)?, timeout })
    }

    /// A thread-safe function through which a worker asks for signatures.
    fn remote(&self, env: &Env) -> Result<Remote> {
        let object = self.object.object(env).map_err(|why| error(signer_failed(why)))?;
        let context = Box::into_raw(Box::new(JsRef::new(env, &object)?));
        let mut tsfn = std::ptr::null_mut();
        let name = env.create_string("evidentia signer").map_err(engine)?;
        // SAFETY: a valid env; the context is a boxed reference that the finalizer
        // frees on the JavaScript thread; `call_sign` is the only callback.
        let status = unsafe {
            sys::napi_create_threadsafe_function(
                env.raw(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                name.raw(),
                0,
                1,
                context.cast(),
                Some(finalize_context),
                context.cast(),
                Some(call_sign),
                &mut tsfn,
            )
        };
        if status != sys::Status::napi_ok {
            // SAFETY: not handed to Node-API, so still ours.
            drop(unsafe { Box::from_raw(context) });
            return Err(fail(ErrorCode::Internal, "Node-API could not make a thread-safe function for the signer"));
        }
        Ok(Remote { key: self.key.clone(), tsfn, timeout: self.timeout })
    }
}

/// Calls the signer object's `sign` with `message`: its return value, or the
/// message of what it threw.
fn call<'env>(env: &'env Env, object: &Object<'env>, message: &[u8]) -> std::result::Result<Unknown<'env>, String> {
    let sign: Unknown<'_> = object.get_named_property("sign").map_err(|e| e.reason.clone())?;
    let argument = BufferSlice::copy_from(env, message).map_err(|e| e.reason.clone())?;
    let mut result = std::ptr::null_mut();
    // SAFETY: a valid env and values from napi; `this` is the signer object.
    let status = unsafe {
        sys::napi_call_function(env.raw(), object.raw(), sign.raw(), 1, [argument.raw()].as_ptr(), &mut result)
    };
    if status == sys::Status::napi_pending_exception {
        let mut thrown = std::ptr::null_mut();
        // SAFETY: an exception is pending in this env; clearing it keeps it ours.
        unsafe { sys::napi_get_and_clear_last_exception(env.raw(), &mut thrown) };
        // SAFETY: a value napi just returned in this env.
        return Err(reason(&unsafe { Unknown::from_raw_unchecked(env.raw(), thrown) }));
    }
    if status != sys::Status::napi_ok {
        return Err("sign is not a function".to_owned());
    }
    // SAFETY: a value napi just returned in this env.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), result) })
}

/// What a thrown value or a rejection says: an Error's message, or the value as text.
fn reason(value: &Unknown<'_>) -> String {
    let message = || -> napi::Result<String> {
        if value.get_type()? == ValueType::Object {
            // SAFETY: an object, just checked.
            let object: Object<'_> = unsafe { value.cast() }?;
            let message: Unknown<'_> = object.get_named_property("message")?;
            if message.get_type()? == ValueType::String {
                return message.coerce_to_string()?.into_utf8()?.into_owned();
            }
        }
        value.coerce_to_string()?.into_utf8()?.into_owned()
    };
    message().unwrap_or_else(|_| "it threw a value that is not an Error".to_owned())
}

/// The bytes of a signature `sign` returned: a Buffer or a Uint8Array.
fn signature(value: &Unknown<'_>) -> Answer {
    if value.get_type().map_err(|e| e.reason.clone())? == ValueType::Object && is_typed_array(value) {
        // SAFETY: a typed array, just checked; napi checks that it is a Uint8Array.
        if let Ok(bytes) = unsafe { value.cast::<Uint8Array>() } {
            return Ok(bytes.to_vec());
        }
    }
    Err("sign returned something other than a Buffer or a Uint8Array".to_owned())
}

fn is_promise(value: &Unknown<'_>) -> bool {
    let mut result = false;
    // SAFETY: a valid env and value from napi; the out-parameter is a local.
    let status = unsafe { sys::napi_is_promise(value.value().env, value.raw(), &mut result) };
    status == sys::Status::napi_ok && result
}

/// A signer object called on the JavaScript thread, by the methods that block.
struct Here<'a> {
    signer: &'a JsSigner,
    env: Env,
}

impl Signer for Here<'_> {
    fn public_key(&self) -> &PublicKey {
        &self.signer.key
    }

    fn sign_message(&self, message: &[u8]) -> evidentia::Result<Vec<u8>> {
        let object = self.signer.object.object(&self.env).map_err(signer_failed)?;
        let value = call(&self.env, &object, message).map_err(signer_failed)?;
        if is_promise(&value) {
            // Its outcome goes nowhere, but a rejection is handled, not reported
            // as unhandled.
            let _ = settle(&self.env, &value, mpsc::channel().0);
            return Err(signer_failed(
                "sign returned a Promise: a signer that answers later signs through the …Async methods",
            ));
        }
        signature(&value).map_err(signer_failed)
    }
}

/// A signer object called from a worker thread through a thread-safe function.
pub(crate) struct Remote {
    key: PublicKey,
    tsfn: sys::napi_threadsafe_function,
    timeout: Duration,
}

// SAFETY: a thread-safe function may be called and released from any thread;
// the object it calls is only touched on the JavaScript thread, in `call_sign`.
unsafe impl Send for Remote {}
// SAFETY: as above; `napi_call_threadsafe_function` may be called concurrently.
unsafe impl Sync for Remote {}

impl Drop for Remote {
    fn drop(&mut self) {
        // SAFETY: acquired once, at creation; released once.
        unsafe { sys::napi_release_threadsafe_function(self.tsfn, sys::ThreadsafeFunctionReleaseMode::release) };
    }
}

/// A request for a signature, sent to the JavaScript thread.
struct Request {
    message: Vec<u8>,
    reply: Sender<Answer>,
}

impl Signer for Remote {
    fn public_key(&self) -> &PublicKey {
        &self.key
    }

    fn sign_message(&self, message: &[u8]) -> evidentia::Result<Vec<u8>> {
        let (reply, answer) = mpsc::channel();
        let request = Box::into_raw(Box::new(Request { message: message.to_vec(), reply }));
        // SAFETY: a live thread-safe function; on success `call_sign` owns the request.
        let status = unsafe {
            sys::napi_call_threadsafe_function(self.tsfn, request.cast(), sys::ThreadsafeFunctionCallMode::blocking)
        };
        if status != sys::Status::napi_ok {
            // SAFETY: not taken by Node-API, so still ours.
            drop(unsafe { Box::from_raw(request) });
            return Err(signer_failed("the JavaScript environment is closing"));
        }
        match answer.recv_timeout(self.timeout) {
            Ok(answer) => answer.map_err(signer_failed),
            Err(RecvTimeoutError::Timeout) => Err(signer_failed(format!(
                "no signature within {} ms (the signer's signTimeoutMs)",
                self.timeout.as_millis()
            ))),
            Err(RecvTimeoutError::Disconnected) => Err(signer_failed("the JavaScript environment is closing")),
        }
    }
}

unsafe extern "C" fn finalize_context(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: the boxed reference given at creation, freed once, on the JavaScript thread.
    drop(unsafe { Box::from_raw(data.cast::<JsRef>()) });
}

/// On the JavaScript thread: calls `sign`, and sends its answer (at once, or when
/// the Promise it returned settles) to the waiting worker.
unsafe extern "C" fn call_sign(env: sys::napi_env, _js: sys::napi_value, context: *mut c_void, data: *mut c_void) {
    // SAFETY: the request `sign_message` boxed; ours from here on.
    let request = unsafe { Box::from_raw(data.cast::<Request>()) };
    if env.is_null() || context.is_null() {
        return; // The environment is closing: dropping the request says so.
    }
    let env = Env::from_raw(env);
    // SAFETY: the context is the boxed reference, alive until the finalizer.
    let object = unsafe { &*context.cast::<JsRef>() };
    let Request { message, reply } = *request;
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let value = match object.object(&env).and_then(|object| call(&env, &object, &message)) {
            Ok(value) => value,
            Err(why) => return drop(reply.send(Err(why))),
        };
        if !is_promise(&value) {
            return drop(reply.send(signature(&value)));
        }
        if let Err(e) = settle(&env, &value, reply.clone()) {
            let _ = reply.send(Err(e.reason.clone()));
        }
    }));
}

/// Sends what a Promise settles with, once.
fn settle(env: &Env, promise: &Unknown<'_>, reply: Sender<Answer>) -> napi::Result<()> {
    let reply = Arc::new(Mutex::new(Some(reply)));
    let send = move |answer: Answer| {
        if let Some(reply) = reply.lock().ok().and_then(|mut r| r.take()) {
            let _ = reply.send(answer);
        }
    };
    let rejected = send.clone();
    let on_fulfilled = env.create_function_from_closure::<Unknown<'_>, (), _>("fulfilled", move |ctx| {
        send(ctx.get::<Unknown<'_>>(0).map_err(|e| e.reason.clone()).and_then(|v| signature(&v)));
        Ok(())
    })?;
    let on_rejected = env.create_function_from_closure::<Unknown<'_>, (), _>("rejected", move |ctx| {
        rejected(Err(ctx.get::<Unknown<'_>>(0).map_or_else(|_| "the Promise was rejected".to_owned(), |v| reason(&v))));
        Ok(())
    })?;
    // SAFETY: a Promise, checked by the caller.
    let promise: Object<'_> = unsafe { promise.cast() }?;
    let then: Unknown<'_> = promise.get_named_property("then")?;
    let arguments = [on_fulfilled.raw(), on_rejected.raw()];
    let mut result = std::ptr::null_mut();
    // SAFETY: a valid env and values from napi; `this` is the Promise.
    let status =
        unsafe { sys::napi_call_function(env.raw(), promise.raw(), then.raw(), 2, arguments.as_ptr(), &mut result) };
    if status != sys::Status::napi_ok {
        let mut thrown = std::ptr::null_mut();
        // SAFETY: as above; clears what `then` may have thrown.
        unsafe { sys::napi_get_and_clear_last_exception(env.raw(), &mut thrown) };
        return Err(napi::Error::from_reason("the Promise's then failed"));
    }
    Ok(())
}
