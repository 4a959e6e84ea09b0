//! Logs on disk as JavaScript objects.

use std::cell::{Ref, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use evidentia::json::Value;
use evidentia::{Direction, ErrorCode, NewMessage, RecordVersion, SignedMessage, Timestamp};
use evidentia_store::{AnyLog, CreateOptions, LogOptions, Mode, NewEvent, Wait};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use evidentia::Signer;

use crate::convert::{Blocking, Result, engine, error, fail, guard, json_text, optional_text, text, value_to_js};
use crate::keyset::optional_key_set;
use crate::report::Report;
use crate::signer::{Key, KeyArgument, Token};
use crate::{size_from_js, size_to_js};

/// An evidence log in a folder on the local disk, or in PostgreSQL (a
/// `postgres://` URL), opened for appending. Call `close()` to release it for
/// other processes.
#[napi]
pub struct Log {
    /// `None` once closed. The store's log is itself safe to share between
    /// threads, so work on a worker thread holds its own reference.
    log: Mutex<Option<Arc<AnyLog>>>,
    /// The key that signs: a `SigningKey`, a key in a token, or a signer object.
    /// Only used on the JavaScript thread; shared with a `rotateAsync` that
    /// replaces it once the log has rotated.
    key: Rc<RefCell<Option<Key>>>,
}

/// Options of `Log.create`.
#[napi(object)]
#[derive(Default)]
pub struct CreateLogOptions<'env> {
    /// The log id (default: a new random one).
    #[napi(ts_type = "string")]
    pub log_id: Option<Unknown<'env>>,
    /// "receipts" (the default) signs every record; "batch" one checkpoint per batch.
    #[napi(ts_type = "string")]
    pub mode: Option<Unknown<'env>>,
    /// When the key becomes valid, RFC 3339 (default: now); records may not be dated
    /// before it.
    #[napi(ts_type = "string")]
    pub valid_from: Option<Unknown<'env>>,
    /// The payload fields to index, so that `find` finds records by their values.
    #[napi(ts_type = "string[]")]
    pub index_fields: Option<Vec<Unknown<'env>>>,
    /// The version of the records the log writes (SPEC.md §27): 2 commits to
    /// each event under a random salt kept beside it, so that `erase` can delete
    /// the event; 1 commits to its plain digest (default: the library's default).
    pub record_version: Option<f64>,
}

/// Options of `Log.exportPackage`.
#[napi(object)]
#[derive(Default)]
pub struct ExportOptions<'env> {
    /// For a version-2 record, the members of its event to disclose (default: all);
    /// the others stay hidden (SPEC.md §19 check 13).
    #[napi(ts_type = "string[]")]
    pub disclose: Option<Vec<Unknown<'env>>>,
}

/// Options of `Log.open`.
#[napi(object)]
#[derive(Default)]
pub struct OpenLogOptions {
    /// Seconds to wait for another process writing to the log, instead of failing
    /// at once with LOG_LOCKED (default: 0).
    pub wait: Option<f64>,
}

/// Options of `Log.append`.
#[napi(object)]
#[derive(Default)]
pub struct AppendOptions<'env> {
    /// The record's nonce (default: none). Read strictly, like event text: it is
    /// part of the signed record.
    #[napi(ts_type = "string")]
    pub nonce: Option<Unknown<'env>>,
    /// The record's time, RFC 3339 (default: now).
    #[napi(ts_type = "string")]
    pub time: Option<Unknown<'env>>,
    /// When the nonce is already in the log with the same event, return that
    /// record's receipt instead of failing with NONCE_IN_USE (default: false).
    pub idempotent: Option<bool>,
}

/// Options of `Log.appendBatch`.
#[napi(object)]
#[derive(Default)]
pub struct AppendBatchOptions<'env> {
    /// The records' time, RFC 3339 (default: now).
    #[napi(ts_type = "string")]
    pub time: Option<Unknown<'env>>,
    /// One nonce for each event, `null` for an event without one (default: none).
    /// A retried batch appends its events without a nonce again: give every event
    /// one.
    #[napi(ts_type = "Array<string | null>")]
    pub nonces: Option<Vec<Unknown<'env>>>,
    /// When an event's nonce is already in the log with the same event, return
    /// that record's acknowledgement instead of failing with NONCE_IN_USE
    /// (default: false).
    pub idempotent: Option<bool>,
}

/// Options of `Log.recordMessage`.
#[napi(object)]
#[derive(Default)]
pub struct RecordMessageOptions<'env> {
    /// Where the keys came from: a JSON object (jwks_url, fetched_at,
    /// tls_certificate_sha256, key_thumbprint, partner_id, established_by, and any
    /// other members), as text or an object (default: `{}`).
    #[napi(ts_type = "unknown")]
    pub provenance: Option<Unknown<'env>>,
    /// "inbound" (received from the partner, the default) or "outbound" (sent to it).
    #[napi(ts_type = "'inbound' | 'outbound'")]
    pub direction: Option<Unknown<'env>>,
    /// The payload of a detached JWS.
    pub payload: Option<Uint8Array>,
    /// The sequence number of the record this message answers.
    pub link: Option<f64>,
    /// Record the message even when its signature does not verify, marked as failed
    /// (default: false, it throws).
    pub record_failure: Option<bool>,
    /// The record's nonce (default: none).
    #[napi(ts_type = "string")]
    pub nonce: Option<Unknown<'env>>,
    /// The time of the check and of the record, RFC 3339 (default: now).
    #[napi(ts_type = "string")]
    pub time: Option<Unknown<'env>>,
}

fn closed() -> napi::Error<crate::convert::Code> {
    fail(ErrorCode::InvalidHandle, "the log is closed")
}

/// A `rotate` called from inside a signer's `sign` while the log's key signs.
fn rotating() -> napi::Error<crate::convert::Code> {
    fail(ErrorCode::InvalidArgument, "the log's key is in use: rotate the log after its signature is made")
}

/// The arguments of a revocation: the kid, the time (RFC 3339) and the reason.
fn revocation(
    kid: &Unknown<'_>,
    at: &Unknown<'_>,
    reason: Option<&Unknown<'_>>,
) -> Result<(String, Timestamp, Option<String>)> {
    let at = Timestamp::parse(&text(at, "the revocation time")?).map_err(error)?;
    Ok((text(kid, "a kid")?, at, optional_text(reason, "the reason")?))
}

/// A time option, RFC 3339, read strictly.
pub(crate) fn time(time: Option<&Unknown<'_>>) -> Result<Option<Timestamp>> {
    optional_text(time, "the time")?.as_deref().map(Timestamp::parse).transpose().map_err(error)
}

impl Log {
    /// The open log (a new reference, so no lock is held while it is used).
    fn log(&self) -> Result<Arc<AnyLog>> {
        self.log.lock().map_err(|_| closed())?.clone().ok_or_else(closed)
    }

    /// The folder of a folder log, for `what`, which only a folder log does yet.
    fn dir(&self, what: &str) -> Result<PathBuf> {
        Ok(self.log()?.folder(what).map_err(error)?.dir().to_owned())
    }

    fn key(&self) -> Result<Ref<'_, Key>> {
        let key = self.key.try_borrow().map_err(|_| rotating())?;
        Ref::filter_map(key, Option::as_ref)
            .map_err(|_| fail(ErrorCode::KeyNotPrivate, "the log was opened without a signing key"))
    }

    fn with_key(log: AnyLog, key: Option<Key>) -> Log {
        Log { log: Mutex::new(Some(Arc::new(log))), key: Rc::new(RefCell::new(key)) }
    }

    /// The parts of an append that can move to a worker thread. `nonces`, when
    /// given, holds one for each event.
    fn prepare_batch<S: Signer>(
        &self,
        signer: S,
        events: Vec<Unknown<'_>>,
        nonces: Option<Vec<Option<String>>>,
        time: Option<&Unknown<'_>>,
        idempotent: bool,
    ) -> Result<impl FnOnce() -> Result<Vec<String>> + use<S>> {
        let events = events.into_iter().map(json_text).collect::<Result<Vec<_>>>()?;
        let options = evidentia_store::AppendOptions { time: self::time(time)?, idempotent };
        let (log, key) = (self.log()?, signer);
        Ok(move || {
            let batch = NewEvent::group(&events, nonces.as_deref()).map_err(error)?;
            let appended = log.append_events(&key, &batch, &options).map_err(error)?;
            Ok(appended.iter().map(|a| a.to_line()).collect())
        })
    }

    /// The parts of `appendBatch` and `appendBatchAsync` that read the
    /// JavaScript arguments.
    fn prepare_append_batch<S: Signer>(
        &self,
        signer: S,
        events: Vec<Unknown<'_>>,
        options: Option<AppendBatchOptions<'_>>,
    ) -> Result<impl FnOnce() -> Result<Vec<String>> + use<S>> {
        let options = options.unwrap_or_default();
        let nonces = options.nonces.map(|nonces| nonces.iter().map(optional_nonce).collect()).transpose()?;
        let idempotent = options.idempotent.unwrap_or(false);
        self.prepare_batch(signer, events, nonces, options.time.as_ref(), idempotent)
    }

    /// The parts of `recordMessage` that read the JavaScript arguments and check the
    /// signature; what is left writes the record.
    fn prepare_message<S: Signer>(
        &self,
        signer: S,
        jws: Unknown<'_>,
        keys: Unknown<'_>,
        options: Option<RecordMessageOptions<'_>>,
    ) -> Result<impl FnOnce() -> Result<String> + use<S>> {
        let options = options.unwrap_or_default();
        let jws = text(&jws, "jws")?;
        let keys = crate::message::partner_keys(keys)?;
        let provenance = match options.provenance {
            Some(provenance) => evidentia::json::parse(&json_text(provenance)?).map_err(error)?,
            None => evidentia::json::Value::object(Vec::<(String, evidentia::json::Value)>::new()),
        };
        let direction = optional_text(options.direction.as_ref(), "the direction")?;
        let direction = Direction::from_name(direction.as_deref().unwrap_or("inbound")).map_err(error)?;
        let nonce = optional_text(options.nonce.as_ref(), "a nonce")?;
        let time = self::time(options.time.as_ref())?;
        let (log, key) = (self.log()?, signer);
        let folder = log.folder("recording signed messages").map_err(error)?;
        let link = options.link.map(|seq| folder.link_to(size_from_js(seq, "link")?).map_err(error)).transpose()?;
        let message = SignedMessage::verify_new(&NewMessage {
            jws: &jws,
            detached_payload: options.payload.as_deref(),
            keys: &keys,
            provenance: &provenance,
            direction,
            link,
            record_failure: options.record_failure.unwrap_or(false),
            at: match time {
                Some(time) => time,
                None => evidentia_store::now().map_err(error)?,
            },
        })
        .map_err(error)?;
        let options = evidentia_store::AppendOptions { time, idempotent: false };
        Ok(move || {
            let log = log.folder("recording signed messages").map_err(error)?;
            let appended = log.record_message(&key, &message, nonce.as_deref(), &options).map_err(error)?;
            Ok(appended.to_line())
        })
    }

    /// The parts of `append` and `appendAsync` that read the JavaScript arguments.
    fn prepare_append<S: Signer>(
        &self,
        signer: S,
        event: Unknown<'_>,
        options: Option<AppendOptions<'_>>,
    ) -> Result<impl FnOnce() -> Result<String> + use<S>> {
        let options = options.unwrap_or_default();
        let nonce = optional_text(options.nonce.as_ref(), "a nonce")?;
        let idempotent = options.idempotent.unwrap_or(false);
        let work = self.prepare_batch(signer, vec![event], Some(vec![nonce]), options.time.as_ref(), idempotent)?;
        Ok(move || work().map(single))
    }
}

/// The arguments of `Log.create` and `Log.createAsync`.
fn create_arguments<K>(
    key: impl FnOnce() -> Result<K>,
    path: Unknown<'_>,
    options: Option<CreateLogOptions<'_>>,
) -> Result<(PathBuf, K, CreateOptions)> {
    let key = key()?;
    let dir = PathBuf::from(text(&path, "the log path")?);
    let options = options.unwrap_or_default();
    let log_id = optional_text(options.log_id.as_ref(), "the log id")?;
    let mode = optional_text(options.mode.as_ref(), "the mode")?;
    let mode = Mode::from_name(mode.as_deref().unwrap_or("receipts")).map_err(error)?;
    let index_fields = options
        .index_fields
        .unwrap_or_default()
        .iter()
        .map(|name| text(name, "an index field"))
        .collect::<Result<Vec<_>>>()?;
    let record_version = options
        .record_version
        .map(|v| size_from_js(v, "recordVersion").and_then(|v| RecordVersion::parse(v).map_err(error)))
        .transpose()?;
    let create = CreateOptions {
        log_id,
        mode,
        key_valid_from: time(options.valid_from.as_ref())?,
        index_fields,
        record_version,
        ..CreateOptions::default()
    };
    Ok((dir, key, create))
}

/// Creates the log, and gives the token it opened for its key.
type CreateWork = Box<dyn FnOnce() -> Result<(AnyLog, Option<Token>)> + Send>;

/// A value that only the JavaScript thread touches, carried by a worker task.
pub struct OnThread<T>(T);

// SAFETY: a `Creating` or `Rotating` task is made, resolved and dropped on the
// JavaScript thread; the worker only runs its `work`, never touching what this
// holds.
unsafe impl<T> Send for OnThread<T> {}

/// `Log.createAsync` and `Log.openAsync`: the log is created or opened on a
/// worker thread (which opens a token named by a `pkcs11:` URI), and its
/// JavaScript object made back on the JavaScript thread, with the key.
pub struct Creating {
    work: Option<CreateWork>,
    key: Option<OnThread<Key>>,
}

impl Creating {
    /// The task of the work prepared on the JavaScript thread, or of the error
    /// preparing it met, which the promise rejects with.
    fn task(prepared: Result<(CreateWork, Option<Key>)>) -> AsyncTask<Creating> {
        AsyncTask::new(match prepared {
            Ok((work, key)) => Creating { work: Some(work), key: key.map(OnThread) },
            Err(e) => Creating { work: Some(Box::new(move || Err(e))), key: None },
        })
    }
}

impl Task for Creating {
    type Output = Result<(AnyLog, Option<Token>)>;
    type JsValue = Log;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let work = self.work.take();
        Ok(guard(|| work.map_or_else(|| Err(fail(ErrorCode::Internal, "the log was already created")), |w| w())))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Log> {
        match output {
            Ok((log, token)) => {
                let key = token.map(Key::Token).or_else(|| self.key.take().map(|key| key.0));
                Ok(Log::with_key(log, key))
            }
            Err(e) => Err(crate::convert::rejection(env, e)),
        }
    }
}

/// Rotates the log, and gives the token it opened for the new key.
type RotateWork = Box<dyn FnOnce() -> Result<Option<Token>> + Send>;

/// `Log.rotateAsync`: the log rotates on a worker thread; back on the JavaScript
/// thread the log's object signs with the new key from then on.
pub struct Rotating {
    work: Option<RotateWork>,
    key: Option<OnThread<Key>>,
    log_key: Option<OnThread<Rc<RefCell<Option<Key>>>>>,
}

impl Task for Rotating {
    type Output = Result<Option<Token>>;
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let work = self.work.take();
        Ok(guard(|| work.map_or_else(|| Err(fail(ErrorCode::Internal, "the log was already rotated")), |w| w())))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<()> {
        let token = output.map_err(|e| crate::convert::rejection(env, e))?;
        let key = token.map(Key::Token).or_else(|| self.key.take().map(|key| key.0));
        if let Some(log_key) = &self.log_key {
            let mut log_key = log_key.0.try_borrow_mut().map_err(|_| crate::convert::rejection(env, rotating()))?;
            *log_key = key;
        }
        Ok(())
    }
}

/// How long to wait for another writer.
fn open_options(options: Option<OpenLogOptions>) -> Result<LogOptions> {
    let wait = Wait::from_seconds(options.and_then(|o| o.wait)).map_err(error)?;
    Ok(LogOptions { wait, ..LogOptions::default() })
}

fn single(lines: Vec<String>) -> String {
    lines.into_iter().next().unwrap_or_default()
}

#[napi]
impl Log {
    /// Creates a new log in the directory `path`, signing with `key`: a
    /// `SigningKey`, a key in a PKCS#11 token named by an RFC 7512 `pkcs11:` URI,
    /// or a signer.
    #[napi(factory)]
    pub fn create(
        env: &Env,
        #[napi(ts_arg_type = "string")] path: Unknown<'_>,
        #[napi(ts_arg_type = "SigningKey | Signer | string")] key: Unknown<'_>,
        options: Option<CreateLogOptions<'_>>,
    ) -> Result<Log> {
        guard(|| {
            let (dir, key, create) = create_arguments(|| Key::from_js(env, &key), path, options)?;
            let log = AnyLog::create(&dir, &*key.here(env), create).map_err(error)?;
            Ok(Log::with_key(log, Some(key)))
        })
    }

    /// As `create`, on a worker thread: the key signs once before it becomes the
    /// log's key, so a signer whose `sign` returns a Promise creates its log here;
    /// a token is opened on the worker.
    #[napi(
        ts_args_type = "path: string, key: SigningKey | Signer | string, options?: CreateLogOptions",
        ts_return_type = "Promise<Log>"
    )]
    pub fn create_async(
        env: &Env,
        path: Unknown<'_>,
        key: Unknown<'_>,
        options: Option<CreateLogOptions<'_>>,
    ) -> AsyncTask<Creating> {
        let prepared = guard(|| {
            let (dir, key, create) = create_arguments(|| KeyArgument::from_js(env, &key), path, options)?;
            let signer = key.worker(env)?;
            let work: CreateWork = Box::new(move || {
                let opened = signer.open()?;
                let log = AnyLog::create(&dir, &opened.signer, create).map_err(error)?;
                Ok((log, opened.token))
            });
            Ok((work, key.into_key()))
        });
        Creating::task(prepared)
    }

    /// Opens an existing log, repairing what a crash left (see `recovery()`).
    /// Without `key` it can prove, verify and attach timestamps but not append.
    #[napi(factory)]
    pub fn open(
        env: &Env,
        #[napi(ts_arg_type = "string")] path: Unknown<'_>,
        #[napi(ts_arg_type = "SigningKey | Signer | string | undefined | null")] key: Option<Unknown<'_>>,
        options: Option<OpenLogOptions>,
    ) -> Result<Log> {
        guard(|| {
            let dir = PathBuf::from(text(&path, "the log path")?);
            let key = key.map(|key| Key::from_js(env, &key)).transpose()?;
            let log = AnyLog::open(&dir, &open_options(options)?).map_err(error)?;
            Ok(Log::with_key(log, key))
        })
    }

    /// As `open`, on a worker thread: opening a log in PostgreSQL connects to the
    /// server, and opening a folder log may wait for another writer (`wait`) and
    /// repair what a crash left; the JavaScript thread goes on meanwhile.
    #[napi(ts_return_type = "Promise<Log>")]
    pub fn open_async(
        env: &Env,
        #[napi(ts_arg_type = "string")] path: Unknown<'_>,
        #[napi(ts_arg_type = "SigningKey | Signer | string | undefined | null")] key: Option<Unknown<'_>>,
        options: Option<OpenLogOptions>,
    ) -> AsyncTask<Creating> {
        let prepared = guard(|| {
            let dir = PathBuf::from(text(&path, "the log path")?);
            let options = open_options(options)?;
            let key = key.map(|key| KeyArgument::from_js(env, &key)).transpose()?;
            let signer = key.as_ref().map(|key| key.worker(env)).transpose()?;
            let work: CreateWork = Box::new(move || {
                let opened = signer.map(|signer| signer.open()).transpose()?;
                let log = AnyLog::open(&dir, &options).map_err(error)?;
                Ok((log, opened.and_then(|opened| opened.token)))
            });
            Ok((work, key.and_then(KeyArgument::into_key)))
        });
        Creating::task(prepared)
    }

    /// Appends an event (JSON text or a JavaScript value) and returns, once it is
    /// on disk, its receipt — or, in batch mode, a JSON line naming the record.
    /// Blocks until the data is flushed; `appendAsync` waits on a worker thread.
    #[napi(ts_args_type = "event: unknown, options?: AppendOptions")]
    pub fn append(&self, env: &Env, event: Unknown<'_>, options: Option<AppendOptions<'_>>) -> Result<String> {
        guard(|| self.prepare_append(self.key()?.here(env), event, options)?())
    }

    /// As `append`, flushing on a worker thread; a signer's `sign` may return a
    /// Promise.
    #[napi(ts_args_type = "event: unknown, options?: AppendOptions", ts_return_type = "Promise<string>")]
    pub fn append_async(
        &self,
        env: &Env,
        event: Unknown<'_>,
        options: Option<AppendOptions<'_>>,
    ) -> AsyncTask<Blocking<String>> {
        Blocking::spawn_prepared(guard(|| self.prepare_append(self.key()?.worker(env)?, event, options)))
    }

    /// Appends several events with one flush to disk (and, in batch mode, one
    /// signed checkpoint); all or none.
    #[napi(ts_args_type = "events: unknown[], options?: AppendBatchOptions")]
    pub fn append_batch(
        &self,
        env: &Env,
        events: Vec<Unknown<'_>>,
        options: Option<AppendBatchOptions<'_>>,
    ) -> Result<Vec<String>> {
        guard(|| self.prepare_append_batch(self.key()?.here(env), events, options)?())
    }

    /// As `appendBatch`, flushing on a worker thread; a signer's `sign` may
    /// return a Promise.
    #[napi(ts_args_type = "events: unknown[], options?: AppendBatchOptions", ts_return_type = "Promise<string[]>")]
    pub fn append_batch_async(
        &self,
        env: &Env,
        events: Vec<Unknown<'_>>,
        options: Option<AppendBatchOptions<'_>>,
    ) -> AsyncTask<Blocking<Vec<String>>> {
        Blocking::spawn_prepared(guard(|| self.prepare_append_batch(self.key()?.worker(env)?, events, options)))
    }

    /// The latest signed checkpoint, signing a new one if records were appended since.
    #[napi]
    pub fn checkpoint(&self, env: &Env) -> Result<String> {
        guard(|| self.log()?.checkpoint(&*self.key()?.here(env)).map_err(error))
    }

    /// As `checkpoint`, on a worker thread; a signer's `sign` may return a Promise.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn checkpoint_async(&self, env: &Env) -> AsyncTask<Blocking<String>> {
        Blocking::spawn_prepared(guard(|| {
            let (log, key) = (self.log()?, self.key()?.worker(env)?);
            Ok(move || log.checkpoint(&key).map_err(error))
        }))
    }

    /// What a holder of record `index` needs to verify it offline: its receipt, or
    /// in batch mode its batch receipt.
    #[napi]
    pub fn receipt(&self, index: f64) -> Result<String> {
        guard(|| self.log()?.receipt(size_from_js(index, "index")?).map_err(error))
    }

    /// The salt record `index` commits to its event under, for a record of version
    /// 2, or null for one of version 1: with the event, it checks the receipt
    /// without the log (`verifyReceipt(receipt, jwks, event, salt)`). Throws
    /// RECORD_ERASED once the event is erased.
    #[napi]
    pub fn salt(&self, index: f64) -> Result<Option<Uint8Array>> {
        guard(|| Ok(self.log()?.salt(size_from_js(index, "index")?).map_err(error)?.map(Uint8Array::from)))
    }

    /// The index of the record holding `nonce`, or null.
    #[napi]
    pub fn find_nonce(&self, #[napi(ts_arg_type = "string")] nonce: Unknown<'_>) -> Result<Option<f64>> {
        guard(|| {
            let nonce = text(&nonce, "a nonce")?;
            Ok(self.log()?.find_nonce(&nonce).map_err(error)?.map(|seq| size_to_js(seq) as f64))
        })
    }

    /// The indexes of the records whose event has `value` in the indexed payload
    /// field `field` (for a signed message, a field of its JWS payload), in order.
    #[napi]
    pub fn find(
        &self,
        #[napi(ts_arg_type = "string")] field: Unknown<'_>,
        #[napi(ts_arg_type = "string")] value: Unknown<'_>,
    ) -> Result<Vec<i64>> {
        guard(|| {
            let (field, value) = (text(&field, "a field name")?, text(&value, "a field value")?);
            Ok(self
                .log()?
                .folder("finding records by field")
                .map_err(error)?
                .find(&field, &value)
                .map_err(error)?
                .into_iter()
                .map(size_to_js)
                .collect())
        })
    }

    /// Indexes one more payload field, for records appended before as well as after.
    #[napi]
    pub fn add_index_field(&self, #[napi(ts_arg_type = "string")] name: Unknown<'_>) -> Result<()> {
        guard(|| {
            let name = text(&name, "a field name")?;
            self.log()?.folder("indexing payload fields").map_err(error)?.add_index_field(&name).map_err(error)
        })
    }

    /// Checks a JWS another party signed (or one sent to it) against `keys` (a JWKS
    /// or one JWK) and records it with those keys, where they came from and the
    /// result; returns the acknowledgement as `append` does. A signature that does
    /// not verify throws unless `recordFailure` is set.
    #[napi(ts_args_type = "jws: string, keys: string | Record<string, unknown>, options?: RecordMessageOptions")]
    pub fn record_message(
        &self,
        env: &Env,
        jws: Unknown<'_>,
        keys: Unknown<'_>,
        options: Option<RecordMessageOptions<'_>>,
    ) -> Result<String> {
        guard(|| self.prepare_message(self.key()?.here(env), jws, keys, options)?())
    }

    /// As `recordMessage`, flushing on a worker thread.
    #[napi(
        ts_args_type = "jws: string, keys: string | Record<string, unknown>, options?: RecordMessageOptions",
        ts_return_type = "Promise<string>"
    )]
    pub fn record_message_async(
        &self,
        env: &Env,
        jws: Unknown<'_>,
        keys: Unknown<'_>,
        options: Option<RecordMessageOptions<'_>>,
    ) -> AsyncTask<Blocking<String>> {
        Blocking::spawn_prepared(guard(|| self.prepare_message(self.key()?.worker(env)?, jws, keys, options)))
    }

    /// The signed message record `index` holds, as `readSignedMessage` shows it;
    /// null when it holds another event.
    #[napi(ts_return_type = "Record<string, unknown> | null")]
    pub fn message<'env>(&self, env: &'env Env, index: f64) -> Result<Option<Unknown<'env>>> {
        guard(|| {
            let log = self.log()?;
            let message = log
                .folder("reading signed messages")
                .map_err(error)?
                .message(size_from_js(index, "index")?)
                .map_err(error)?;
            message.map(|m| crate::convert::value_to_js(env, &m.describe())).transpose()
        })
    }

    /// Checks the signed message record `index` holds again, now, with the keys
    /// recorded with it: `valid`, `status`, `agrees`, `original`, `reverified`.
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn verify_message<'env>(&self, env: &'env Env, index: f64) -> Result<Unknown<'env>> {
        guard(|| {
            let log = self.log()?;
            let checked = log
                .folder("reading signed messages")
                .map_err(error)?
                .verify_message(size_from_js(index, "index")?)
                .map_err(error)?;
            crate::convert::value_to_js(env, &checked.to_value())
        })
    }

    /// What opening the log found and repaired: counts by name, `repaired`, and
    /// `messages` in words.
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn recovery<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        guard(|| {
            let log = self.log()?;
            crate::convert::value_to_js(env, &log.folder("recovery").map_err(error)?.recovery().to_value())
        })
    }

    /// The inclusion proof (JSON) of record `index` (default size: the latest checkpoint's).
    #[napi]
    pub fn inclusion_proof(&self, index: f64, size: Option<f64>) -> Result<String> {
        guard(|| {
            let size = size.map(|s| size_from_js(s, "size")).transpose()?;
            self.log()?.inclusion_proof(size_from_js(index, "index")?, size).and_then(|p| p.to_json()).map_err(error)
        })
    }

    /// Record `index`'s C2SP tlog-proof (SPEC.md §22.3) and its entry, the record's
    /// bytes that `verifyTlogProof` takes: to the checkpoint of `size`, by default the
    /// newest covering it that the log keeps cosigned by witnesses, else the newest.
    #[napi]
    pub fn tlog_proof(&self, index: f64, size: Option<f64>) -> Result<TlogProofExport> {
        guard(|| {
            let size = size.map(|s| size_from_js(s, "size")).transpose()?;
            let (proof, entry) =
                evidentia_store::record_tlog_proof(&self.dir("tlog-proofs")?, size_from_js(index, "index")?, size)
                    .map_err(error)?;
            Ok(TlogProofExport { proof: proof.to_text(), entry: entry.into() })
        })
    }

    /// Writes the evidence package of record `index` (SPEC.md §19) to the new folder
    /// `out` and to `out` + ".tar.gz"; returns the archive's path. The package
    /// verifies with its `verify.sh` and OpenSSL alone.
    #[napi]
    pub fn export_package(
        &self,
        index: f64,
        #[napi(ts_arg_type = "string")] out: Unknown<'_>,
        #[napi(ts_arg_type = "{ disclose?: string[] }")] options: Option<ExportOptions<'_>>,
    ) -> Result<String> {
        guard(|| {
            let out = text(&out, "the package path")?;
            let names = options
                .and_then(|o| o.disclose)
                .map(|names| names.iter().map(|n| text(n, "a member name")).collect::<Result<Vec<_>>>())
                .transpose()?;
            let index = size_from_js(index, "index")?;
            let archive =
                self.log()?.export_package_disclosing(index, out.as_ref(), names.as_deref()).map_err(error)?;
            Ok(archive.display().to_string())
        })
    }

    /// Verifies a time-stamping authority's response (DER) for one of the log's
    /// checkpoints and stores it beside it, so that packages exported later include
    /// it. Trust as for `verifyTimestamp`; returns the same, with `size`: the size of
    /// the checkpoint the token covers (TIMESTAMP_MISMATCH when it covers none).
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn attach_timestamp<'env>(
        &self,
        env: &'env Env,
        response: Uint8Array,
        #[napi(ts_arg_type = "Uint8Array | string")] roots: Unknown<'_>,
        options: Option<crate::timestamp::TimestampOptions<'_>>,
    ) -> Result<Unknown<'env>> {
        guard(|| {
            let (trust, request) = crate::timestamp::trust(&roots, options.as_ref())?;
            let dir = self.dir("attaching timestamps")?;
            let (size, verified) =
                evidentia_store::attach_timestamp(&dir, &response, request.as_ref(), &trust).map_err(error)?;
            crate::convert::value_to_js(env, &verified.to_value_for_checkpoint(size))
        })
    }

    /// The consistency proof (JSON) between two sizes (default new: the latest checkpoint's).
    #[napi]
    pub fn consistency_proof(&self, old_size: f64, new_size: Option<f64>) -> Result<String> {
        guard(|| {
            let new_size = new_size.map(|s| size_from_js(s, "new size")).transpose()?;
            self.log()?
                .consistency_proof(size_from_js(old_size, "old size")?, new_size)
                .and_then(|p| p.to_json())
                .map_err(error)
        })
    }

    /// Verifies the whole log against `jwks` (default: the log's own key history);
    /// given `fromCheckpoint`, a signed checkpoint of the log you trust, only the
    /// records after it (SPEC.md §13.1). Blocks; `verifyAsync` runs on a worker
    /// thread.
    #[napi]
    pub fn verify(
        &self,
        #[napi(ts_arg_type = "string | KeySet | undefined | null")] jwks: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "string | undefined | null")] from_checkpoint: Option<Unknown<'_>>,
    ) -> Result<Report> {
        guard(|| {
            let keys = optional_key_set(jwks.as_ref())?;
            let from = optional_text(from_checkpoint.as_ref(), "fromCheckpoint")?;
            Ok(Report(self.log()?.verify(keys.as_deref(), from.as_deref()).map_err(error)?))
        })
    }

    /// As `verify`, on a worker thread.
    #[napi(ts_return_type = "Promise<Report>")]
    pub fn verify_async(
        &self,
        #[napi(ts_arg_type = "string | KeySet | undefined | null")] jwks: Option<Unknown<'_>>,
        #[napi(ts_arg_type = "string | undefined | null")] from_checkpoint: Option<Unknown<'_>>,
    ) -> AsyncTask<Blocking<Report>> {
        Blocking::spawn_prepared(guard(|| {
            let keys = optional_key_set(jwks.as_ref())?;
            let from = optional_text(from_checkpoint.as_ref(), "fromCheckpoint")?;
            let log = self.log()?;
            Ok(move || Ok(Report(log.verify(keys.as_deref(), from.as_deref()).map_err(error)?)))
        }))
    }

    /// Retires the current signing key and continues with `newKey` (a
    /// `SigningKey`, a `pkcs11:` URI or a signer). The current key signs a
    /// checkpoint here, so a signer's `sign` must answer synchronously; see
    /// `rotateAsync`.
    #[napi]
    pub fn rotate(
        &self,
        env: &Env,
        #[napi(ts_arg_type = "SigningKey | Signer | string")] new_key: Unknown<'_>,
    ) -> Result<()> {
        guard(|| {
            let new_key = Key::from_js(env, &new_key)?;
            let log = self.log()?;
            log.rotate(&*self.key()?.here(env), &*new_key.here(env)).map_err(error)?;
            *self.key.try_borrow_mut().map_err(|_| rotating())? = Some(new_key);
            Ok(())
        })
    }

    /// As `rotate`, on a worker thread: a signer's `sign` may return a Promise,
    /// and a token is opened on the worker. The log signs with `newKey` once the
    /// Promise resolves.
    #[napi(ts_args_type = "newKey: SigningKey | Signer | string", ts_return_type = "Promise<void>")]
    pub fn rotate_async(&self, env: &Env, new_key: Unknown<'_>) -> AsyncTask<Rotating> {
        let prepared = guard(|| {
            let new_key = KeyArgument::from_js(env, &new_key)?;
            let (log, current, next) = (self.log()?, self.key()?.worker(env)?, new_key.worker(env)?);
            let work: RotateWork = Box::new(move || {
                let opened = next.open()?;
                log.rotate(&current, &opened.signer).map_err(error)?;
                Ok(opened.token)
            });
            Ok((work, new_key.into_key()))
        });
        AsyncTask::new(match prepared {
            Ok((work, key)) => {
                Rotating { work: Some(work), key: key.map(OnThread), log_key: Some(OnThread(self.key.clone())) }
            }
            Err(e) => Rotating { work: Some(Box::new(move || Err(e))), key: None, log_key: None },
        })
    }

    /// Revokes the retired key `kid` from `at` (RFC 3339) on, with an optional
    /// reason (`keyCompromise`, `superseded`, …): the log's current key signs a key
    /// record saying so (SPEC §23). Evidence signed by `kid` claiming `at` or later
    /// no longer verifies, this log's own records included. A signer's `sign` must
    /// answer synchronously; see `revokeAsync`.
    #[napi(ts_args_type = "kid: string, at: string, reason?: string")]
    pub fn revoke(&self, env: &Env, kid: Unknown<'_>, at: Unknown<'_>, reason: Option<Unknown<'_>>) -> Result<()> {
        guard(|| {
            let (kid, at, reason) = revocation(&kid, &at, reason.as_ref())?;
            let log = self.log()?;
            log.revoke(&*self.key()?.here(env), &kid, at, reason.as_deref()).map_err(error)
        })
    }

    /// As `revoke`, on a worker thread; a signer's `sign` may return a Promise.
    #[napi(ts_args_type = "kid: string, at: string, reason?: string", ts_return_type = "Promise<void>")]
    pub fn revoke_async(
        &self,
        env: &Env,
        kid: Unknown<'_>,
        at: Unknown<'_>,
        reason: Option<Unknown<'_>>,
    ) -> AsyncTask<Blocking<()>> {
        Blocking::spawn_prepared(guard(|| {
            let (kid, at, reason) = revocation(&kid, &at, reason.as_ref())?;
            let (log, key) = (self.log()?, self.key()?.worker(env)?);
            Ok(move || log.revoke(&key, &kid, at, reason.as_deref()).map_err(error))
        }))
    }

    /// Erases the event of record `index` and its salt (a record of version 2,
    /// SPEC.md §27): the log's key signs an erasure record naming the
    /// record and `reason`, then every copy of the event in the log's files is
    /// overwritten or removed; the record, its receipt and every proof stay valid.
    /// Returns the erasure record's acknowledgement, as `append` does. RECORD_ERASED
    /// when it was erased already; ERASURE_REFUSED for a version-1, key or erasure
    /// record, or one under a legal hold.
    #[napi(ts_args_type = "index: number, reason: string")]
    pub fn erase(&self, env: &Env, index: f64, reason: Unknown<'_>) -> Result<String> {
        guard(|| {
            let (index, reason) = (size_from_js(index, "index")?, text(&reason, "the reason")?);
            self.log()?.erase(&*self.key()?.here(env), index, &reason).map(|a| a.to_line()).map_err(error)
        })
    }

    /// Sets a legal hold on record `index` (with a case or matter reference): its
    /// event cannot be erased until the hold is released.
    #[napi(ts_args_type = "index: number, reason: string")]
    pub fn hold(&self, index: f64, reason: Unknown<'_>) -> Result<()> {
        guard(|| {
            let (index, reason) = (size_from_js(index, "index")?, text(&reason, "the reason")?);
            self.log()?.hold(index, &reason).map_err(error)
        })
    }

    /// Releases the legal hold on record `index`; whether there was one.
    #[napi]
    pub fn release(&self, index: f64) -> Result<bool> {
        guard(|| {
            let index = size_from_js(index, "index")?;
            self.log()?.release(index).map_err(error)
        })
    }

    /// The legal holds, each `{ seq, reason, since }`.
    #[napi(ts_return_type = "Array<{ seq: number, reason: string, since: string }>")]
    pub fn holds<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        let holds = guard(|| self.log()?.holds().map_err(error))?;
        value_to_js(env, &Value::Array(holds.iter().map(evidentia_store::Hold::to_value).collect()))
    }

    /// The log's key history as JWKS text.
    #[napi]
    pub fn keys(&self) -> Result<String> {
        Ok(self.log()?.keys().map_err(error)?.to_json())
    }

    /// The log id.
    #[napi(getter)]
    pub fn log_id(&self) -> Result<String> {
        Ok(self.log()?.log_id())
    }

    /// "receipts" or "batch".
    #[napi(getter)]
    pub fn mode(&self) -> Result<String> {
        Ok(self.log()?.mode().name().to_owned())
    }

    /// The number of records.
    #[napi(getter)]
    pub fn length(&self) -> Result<i64> {
        Ok(size_to_js(self.log()?.len().map_err(error)?))
    }

    /// Releases the log (other processes may then open it for writing). Work
    /// already running on a worker thread finishes first.
    #[napi]
    pub fn close(&self) {
        if let Ok(mut log) = self.log.lock() {
            *log = None;
        }
    }
}

/// The work of `verify`, `verifyLog` and their async forms.
fn verify_dir(dir: &std::path::Path, keys: Option<&evidentia::KeySet>, from: Option<&str>) -> Result<Report> {
    Ok(Report(evidentia_store::verify_dir_from(dir, keys, from, |_| {}).map_err(error)?))
}

/// Verifies the log in the directory `path` without opening it for writing (so
/// while another process may be appending): the whole log, or, given
/// `fromCheckpoint`, only the records after that trusted checkpoint. Blocks; see
/// `verifyLogAsync`.
#[napi]
pub fn verify_log(
    #[napi(ts_arg_type = "string")] path: Unknown<'_>,
    #[napi(ts_arg_type = "string | KeySet | undefined | null")] jwks: Option<Unknown<'_>>,
    #[napi(ts_arg_type = "string | undefined | null")] from_checkpoint: Option<Unknown<'_>>,
) -> Result<Report> {
    guard(|| {
        let (path, keys) = (text(&path, "the log path")?, optional_key_set(jwks.as_ref())?);
        let from = optional_text(from_checkpoint.as_ref(), "fromCheckpoint")?;
        verify_dir(path.as_ref(), keys.as_deref(), from.as_deref())
    })
}

/// As `verifyLog`, on a worker thread.
#[napi(ts_return_type = "Promise<Report>")]
pub fn verify_log_async(
    #[napi(ts_arg_type = "string")] path: Unknown<'_>,
    #[napi(ts_arg_type = "string | KeySet | undefined | null")] jwks: Option<Unknown<'_>>,
    #[napi(ts_arg_type = "string | undefined | null")] from_checkpoint: Option<Unknown<'_>>,
) -> AsyncTask<Blocking<Report>> {
    Blocking::spawn_prepared(guard(|| {
        let (path, keys) = (text(&path, "the log path")?, optional_key_set(jwks.as_ref())?);
        let from = optional_text(from_checkpoint.as_ref(), "fromCheckpoint")?;
        Ok(move || verify_dir(path.as_ref(), keys.as_deref(), from.as_deref()))
    }))
}

/// A record's C2SP tlog-proof, and the entry it proves.
#[napi(object)]
pub struct TlogProofExport {
    /// The tlog-proof text.
    pub proof: String,
    /// The entry: the record's bytes.
    pub entry: Buffer,
}

/// Publishes the log in the directory `path` (or in the PostgreSQL database a
/// `postgres://` URL names) as C2SP tlog-tiles in the folder `to` (SPEC.md §24.1): its newest signed checkpoint, tiles and entry bundles, adding
/// only what is new to an earlier publication. Returns `{files_written,
/// note_signed, previous_size, size}`. Blocks.
#[napi(ts_return_type = "Record<string, unknown>")]
pub fn publish_log<'env>(
    env: &'env Env,
    #[napi(ts_arg_type = "string")] path: Unknown<'_>,
    #[napi(ts_arg_type = "string")] to: Unknown<'_>,
) -> Result<Unknown<'env>> {
    guard(|| {
        let (path, to) = (text(&path, "the log path")?, text(&to, "the publication folder")?);
        let published = evidentia_store::publish(path.as_ref(), to.as_ref()).map_err(error)?;
        crate::convert::value_to_js(env, &published.to_value())
    })
}

/// Verifies a log published as tlog-tiles in the folder `path` (SPEC.md §24.2)
/// with the trusted keys `jwks` (a publication carries none): every record, tile
/// hash and the checkpoint. Blocks.
#[napi]
pub fn verify_publication(
    #[napi(ts_arg_type = "string")] path: Unknown<'_>,
    #[napi(ts_arg_type = "string | KeySet")] jwks: Unknown<'_>,
) -> Result<Report> {
    guard(|| {
        let (path, keys) = (text(&path, "the publication path")?, crate::keyset::key_set(&jwks)?);
        let source = evidentia_store::TilesDir(PathBuf::from(path));
        let verified = evidentia_store::verify_tiles(&source, &keys, None, |_| {}).map_err(error)?;
        Ok(Report(verified.report))
    })
}

/// One entry of `nonces`: a string, or `null` or `undefined` for an event without
/// a nonce.
fn optional_nonce(value: &Unknown<'_>) -> Result<Option<String>> {
    match value.get_type().map_err(engine)? {
        ValueType::Null | ValueType::Undefined => Ok(None),
        _ => text(value, "a nonce").map(Some),
    }
}
