//! Logs on disk as Python objects.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use evidentia::json::Value;
use evidentia::{Direction, NewMessage, RecordVersion, SignedMessage, Timestamp};
use evidentia_store::{AnyLog, AppendOptions, CreateOptions, LogOptions, Mode, NewEvent, Wait};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::convert::{Count, Str, error, json_text, json_text_opt, value_to_py};
use crate::keyset::Jwks;
use crate::report::Report;
use crate::signer::{AnySigner, signer};

/// An evidence log in a folder on the local disk, or in PostgreSQL (a
/// `postgres://` URL), opened for appending. Use it as a context manager, or call
/// `close()`, to release the log for other processes.
#[pyclass(module = "evidentia._native", frozen)]
pub(crate) struct Log {
    /// `None` once closed. The store's log is itself safe to share between threads;
    /// the mutex only guards closing, and is never held while waiting for the GIL.
    log: Mutex<Option<Arc<AnyLog>>>,
    /// The key that signs appends; `rotate` replaces it.
    key: Mutex<Option<AnySigner>>,
}

fn closed() -> PyErr {
    error(evidentia::Error::new(evidentia::ErrorCode::InvalidHandle, "the log is closed"))
}

pub(crate) fn time(time: Option<&str>) -> PyResult<Option<Timestamp>> {
    time.map(Timestamp::parse).transpose().map_err(error)
}

impl Log {
    /// The open log (a new reference, so no lock is held while it is used).
    fn log(&self) -> PyResult<Arc<AnyLog>> {
        self.log.lock().map_err(|_| closed())?.clone().ok_or_else(closed)
    }

    /// The folder of a folder log, for `what`, which only a folder log does yet.
    fn dir(&self, what: &str) -> PyResult<PathBuf> {
        Ok(self.log()?.folder(what).map_err(error)?.dir().to_owned())
    }

    fn key(&self) -> PyResult<AnySigner> {
        self.key.lock().map_err(|_| closed())?.clone().ok_or_else(|| {
            error(evidentia::Error::new(
                evidentia::ErrorCode::KeyNotPrivate,
                "the log was opened without a signing key",
            ))
        })
    }
}

/// How long to wait for another writer: `None` fails at once.
fn wait(seconds: Option<f64>) -> PyResult<LogOptions> {
    Ok(LogOptions { wait: Wait::from_seconds(seconds).map_err(error)?, ..LogOptions::default() })
}

#[pymethods]
impl Log {
    /// Creates a new log in the directory `path`, or in the PostgreSQL database a
    /// `postgres://` URL names (without index fields there yet): mode "receipts" signs every record,
    /// "batch" one checkpoint per batch of appends. The key is valid from now, or
    /// from `valid_from` (RFC 3339), for records of an earlier time. `index_fields`
    /// names the payload fields to index, so that `find` finds records by their values.
    /// `record_version` 2 commits to each event under a random salt
    /// kept beside it, so that `erase` can delete the event; 1 commits to its plain
    /// digest; None is the default (SPEC.md §27).
    /// Releases the GIL while it creates the log.
    #[staticmethod]
    #[pyo3(signature = (path, key, log_id = None, mode = "receipts", valid_from = None, index_fields = None, record_version = None))]
    #[allow(clippy::too_many_arguments)]
    fn create(
        py: Python<'_>,
        path: PathBuf,
        key: &Bound<'_, PyAny>,
        log_id: Option<Str>,
        mode: &str,
        valid_from: Option<Str>,
        index_fields: Option<Vec<Str>>,
        record_version: Option<Count>,
    ) -> PyResult<Log> {
        let options = CreateOptions {
            log_id: log_id.map(|id| id.0),
            mode: Mode::from_name(mode).map_err(error)?,
            key_valid_from: self::time(valid_from.as_deref())?,
            index_fields: index_fields.unwrap_or_default().into_iter().map(|name| name.0).collect(),
            record_version: record_version.map(|v| RecordVersion::parse(v.0)).transpose().map_err(error)?,
            ..CreateOptions::default()
        };
        let key = signer(key)?;
        // Connecting to PostgreSQL can take a while: other threads run meanwhile.
        let log = py.detach(|| AnyLog::create(&path, &key, options)).map_err(error)?;
        Ok(Log { log: Mutex::new(Some(Arc::new(log))), key: Mutex::new(Some(key)) })
    }

    /// Opens an existing log, a folder or a `postgres://` URL, repairing what a
    /// crash left in a folder (see `recovery`). Without
    /// `key` it can prove, verify and attach timestamps but not append. With `wait`
    /// (seconds) it waits for another process writing to the log instead of failing
    /// at once.
    /// Releases the GIL while it waits and repairs.
    #[staticmethod]
    #[pyo3(signature = (path, key = None, wait = None))]
    fn open(py: Python<'_>, path: PathBuf, key: Option<&Bound<'_, PyAny>>, wait: Option<f64>) -> PyResult<Log> {
        let key = key.map(signer).transpose()?;
        let options = self::wait(wait)?;
        let log = py.detach(|| AnyLog::open(&path, &options)).map_err(error)?;
        Ok(Log { log: Mutex::new(Some(Arc::new(log))), key: Mutex::new(key) })
    }

    /// Appends an event (JSON text or a Python value) and returns, once it is on
    /// disk, its receipt — or, in batch mode, a JSON line naming the record. With
    /// `idempotent`, a nonce already in the log with the same event returns that
    /// record's receipt instead of raising NONCE_IN_USE.
    #[pyo3(signature = (event, nonce = None, time = None, idempotent = false))]
    fn append(
        &self,
        py: Python<'_>,
        event: &Bound<'_, PyAny>,
        nonce: Option<Str>,
        time: Option<Str>,
        idempotent: bool,
    ) -> PyResult<String> {
        let event = json_text(event)?;
        let options = AppendOptions { time: self::time(time.as_deref())?, idempotent };
        let nonce = nonce.as_deref();
        let (log, key) = (self.log()?, self.key()?);
        let appended =
            py.detach(|| log.append_events(&key, &[NewEvent { json: &event, nonce }], &options)).map_err(error)?;
        Ok(appended.first().map(|a| a.to_line()).unwrap_or_default())
    }

    /// Appends several events with one flush to disk (and, in batch mode, one
    /// signed checkpoint); all or none. `nonces`, when given, holds one nonce or
    /// None for each event; with `idempotent`, events whose nonce is already in the
    /// log with the same event return that record's acknowledgement. A retried
    /// batch appends its events without a nonce again: give every event one.
    #[pyo3(signature = (events, time = None, nonces = None, idempotent = false))]
    fn append_batch(
        &self,
        py: Python<'_>,
        events: &Bound<'_, PyList>,
        time: Option<Str>,
        nonces: Option<Vec<Option<Str>>>,
        idempotent: bool,
    ) -> PyResult<Vec<String>> {
        let events = events.iter().map(|e| json_text(&e)).collect::<PyResult<Vec<_>>>()?;
        let nonces: Option<Vec<Option<&str>>> = nonces.as_ref().map(|n| n.iter().map(|n| n.as_deref()).collect());
        let batch = NewEvent::group(&events, nonces.as_deref()).map_err(error)?;
        let options = AppendOptions { time: self::time(time.as_deref())?, idempotent };
        let (log, key) = (self.log()?, self.key()?);
        let appended = py.detach(|| log.append_events(&key, &batch, &options)).map_err(error)?;
        Ok(appended.iter().map(|a| a.to_line()).collect())
    }

    /// The latest signed checkpoint, signing a new one if records were appended since.
    fn checkpoint(&self, py: Python<'_>) -> PyResult<String> {
        let (log, key) = (self.log()?, self.key()?);
        py.detach(|| log.checkpoint(&key)).map_err(error)
    }

    /// What a holder of record `index` needs to verify it offline: its receipt, or
    /// in batch mode its batch receipt.
    fn receipt(&self, py: Python<'_>, index: Count) -> PyResult<String> {
        let log = self.log()?;
        py.detach(|| log.receipt(index.0)).map_err(error)
    }

    /// The salt record `index` commits to its event under (`bytes`), for a record
    /// of version 2, or None for one of version 1: with the event, it checks the
    /// receipt without the log (`verify_receipt(..., salt=...)`). Raises
    /// RECORD_ERASED once the event is erased.
    fn salt<'py>(&self, py: Python<'py>, index: Count) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let log = self.log()?;
        let salt = py.detach(|| log.salt(index.0)).map_err(error)?;
        Ok(salt.map(|salt| PyBytes::new(py, &salt)))
    }

    /// The index of the record holding `nonce`, or None.
    fn find_nonce(&self, py: Python<'_>, nonce: Str) -> PyResult<Option<u64>> {
        let log = self.log()?;
        py.detach(|| log.find_nonce(&nonce)).map_err(error)
    }

    /// The indexes of the records whose event holds `value` in the indexed payload
    /// field `field` (for a signed message, a field of its JWS payload), ascending.
    /// Raises `StorageError` (FIELD_NOT_INDEXED) for a field the log does not index.
    fn find(&self, py: Python<'_>, field: Str, value: Str) -> PyResult<Vec<u64>> {
        let log = self.log()?;
        let log = log.folder("finding records by field").map_err(error)?;
        py.detach(|| log.find(&field, &value)).map_err(error)
    }

    /// Indexes one more payload field, for the records already in the log as well
    /// as later ones. Releases the GIL while it indexes.
    fn add_index_field(&self, py: Python<'_>, name: Str) -> PyResult<()> {
        let log = self.log()?;
        let log = log.folder("indexing payload fields").map_err(error)?;
        py.detach(|| log.add_index_field(&name)).map_err(error)
    }

    /// Checks a JWS another party signed (or one sent to it: `direction`
    /// "outbound") against `keys` (a JWKS or one JWK, text or a dict) and records
    /// it with those keys, where they came from (`provenance`, a dict or JSON text:
    /// jwks_url, fetched_at, tls_certificate_sha256, key_thumbprint, partner_id,
    /// established_by, and any other members) and the result; returns the
    /// acknowledgement as `append` does. `payload` is a detached JWS's payload;
    /// `link` the index of the record this message answers; `time` (RFC 3339) is
    /// the time of the check and of the record (default: now). A signature that
    /// does not verify raises unless `record_failure` is true.
    #[pyo3(signature = (
        jws, keys, provenance = None, direction = "inbound", payload = None, link = None,
        record_failure = false, nonce = None, time = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn record_message(
        &self,
        py: Python<'_>,
        jws: Str,
        keys: &Bound<'_, PyAny>,
        provenance: Option<&Bound<'_, PyAny>>,
        direction: &str,
        payload: Option<&[u8]>,
        link: Option<Count>,
        record_failure: bool,
        nonce: Option<Str>,
        time: Option<Str>,
    ) -> PyResult<String> {
        let keys = crate::message::partner_keys(keys)?;
        let provenance = match json_text_opt(provenance)? {
            Some(json) => evidentia::json::parse(&json).map_err(error)?,
            None => Value::object(Vec::<(String, Value)>::new()),
        };
        let direction = Direction::from_name(direction).map_err(error)?;
        let time = self::time(time.as_deref())?;
        let (log, key) = (self.log()?, self.key()?);
        let log = log.folder("recording signed messages").map_err(error)?;
        let link = link.map(|seq| log.link_to(seq.0)).transpose().map_err(error)?;
        let at = match time {
            Some(time) => time,
            None => evidentia_store::now().map_err(error)?,
        };
        let nonce = nonce.as_deref();
        let appended = py
            .detach(|| {
                let message = SignedMessage::verify_new(&NewMessage {
                    jws: &jws,
                    detached_payload: payload,
                    keys: &keys,
                    provenance: &provenance,
                    direction,
                    link,
                    record_failure,
                    at,
                })?;
                log.record_message(&key, &message, nonce, &AppendOptions { time, idempotent: false })
            })
            .map_err(error)?;
        Ok(appended.to_line())
    }

    /// The signed message record `index` holds (a dict: its direction, JWS, key
    /// snapshot, provenance, recorded verification and decoded payload), or None
    /// when it holds an ordinary event.
    fn message<'py>(&self, py: Python<'py>, index: Count) -> PyResult<Option<Bound<'py, PyAny>>> {
        let log = self.log()?;
        let log = log.folder("reading signed messages").map_err(error)?;
        let message = py.detach(|| log.message(index.0)).map_err(error)?;
        message.map(|m| value_to_py(py, &m.describe())).transpose()
    }

    /// Checks the signed message record `index` holds again, now, with the keys
    /// recorded with it: a dict with `valid`, `status`, `agrees`, `original` and
    /// `reverified`.
    fn verify_message<'py>(&self, py: Python<'py>, index: Count) -> PyResult<Bound<'py, PyAny>> {
        let log = self.log()?;
        let log = log.folder("reading signed messages").map_err(error)?;
        let checked = py.detach(|| log.verify_message(index.0)).map_err(error)?;
        value_to_py(py, &checked.to_value())
    }

    /// What opening the log found and repaired (a dict: counts by name, "repaired",
    /// and "messages" in words).
    #[getter]
    fn recovery<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let log = self.log()?;
        let log = log.folder("recovery").map_err(error)?;
        crate::convert::value_to_py(py, &py.detach(|| log.recovery().to_value()))
    }

    /// The inclusion proof (JSON) of record `index` (default size: the latest checkpoint's).
    #[pyo3(signature = (index, size = None))]
    fn inclusion_proof(&self, py: Python<'_>, index: Count, size: Option<Count>) -> PyResult<String> {
        let log = self.log()?;
        py.detach(|| log.inclusion_proof(index.0, size.map(|s| s.0)).and_then(|p| p.to_json())).map_err(error)
    }

    /// Record `index`'s C2SP tlog-proof (SPEC.md §22.3) and its entry, the record's
    /// bytes that `verify_tlog_proof` takes: to the checkpoint of `size`, by default
    /// the newest covering it that the log keeps cosigned by witnesses, else the
    /// newest. Releases the GIL while it works.
    #[pyo3(signature = (index, size = None))]
    fn tlog_proof<'py>(
        &self,
        py: Python<'py>,
        index: Count,
        size: Option<Count>,
    ) -> PyResult<(String, Bound<'py, PyBytes>)> {
        let dir = self.dir("tlog-proofs")?;
        let (proof, entry) =
            py.detach(|| evidentia_store::record_tlog_proof(&dir, index.0, size.map(|s| s.0))).map_err(error)?;
        Ok((proof.to_text(), PyBytes::new(py, &entry)))
    }

    /// Writes the evidence package of record `index` (SPEC.md §19) to the new folder
    /// `out` and to `out` + ".tar.gz"; returns the archive's path. The package verifies
    /// with its `verify.sh` and OpenSSL alone. Releases the GIL while it works.
    #[pyo3(signature = (index, out, disclose = None))]
    fn export_package(
        &self,
        py: Python<'_>,
        index: Count,
        out: PathBuf,
        disclose: Option<Vec<Str>>,
    ) -> PyResult<String> {
        let log = self.log()?;
        let names: Option<Vec<String>> = disclose.map(|names| names.into_iter().map(|n| n.0).collect());
        let archive = py.detach(|| log.export_package_disclosing(index.0, &out, names.as_deref())).map_err(error)?;
        Ok(archive.display().to_string())
    }

    /// Verifies a time-stamping authority's response (DER) for one of the log's
    /// checkpoints and stores it beside it, so that packages exported later include
    /// it. Trust as for `verify_timestamp`. Returns the same dict, with `size`: the
    /// size of the checkpoint the token covers. Raises `VerificationError`
    /// (TIMESTAMP_MISMATCH when it covers none) as `verify_timestamp` does.
    #[pyo3(signature = (response, roots, intermediates = None, tsa_certificate = None, request = None))]
    fn attach_timestamp<'py>(
        &self,
        py: Python<'py>,
        response: &[u8],
        roots: &[u8],
        intermediates: Option<&[u8]>,
        tsa_certificate: Option<&[u8]>,
        request: Option<&[u8]>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let trust = crate::timestamp::trust(roots, intermediates, tsa_certificate)?;
        let request = crate::timestamp::request(request)?;
        let dir = self.dir("attaching timestamps")?;
        let (size, verified) =
            py.detach(|| evidentia_store::attach_timestamp(&dir, response, request.as_ref(), &trust)).map_err(error)?;
        value_to_py(py, &verified.to_value_for_checkpoint(size))
    }

    /// The consistency proof (JSON) between two sizes (default new: the latest checkpoint's).
    #[pyo3(signature = (old, new = None))]
    fn consistency_proof(&self, py: Python<'_>, old: Count, new: Option<Count>) -> PyResult<String> {
        let log = self.log()?;
        py.detach(|| log.consistency_proof(old.0, new.map(|n| n.0)).and_then(|p| p.to_json())).map_err(error)
    }

    /// Verifies the whole log against `jwks` (default: the log's own key history);
    /// given `from_checkpoint`, a signed checkpoint of the log you trust, only the
    /// records after it (SPEC.md §13.1). Releases the GIL while it works.
    #[pyo3(signature = (jwks = None, from_checkpoint = None))]
    fn verify(&self, py: Python<'_>, jwks: Option<Jwks>, from_checkpoint: Option<Str>) -> PyResult<Report> {
        let keys = jwks.map(Jwks::keys).transpose()?;
        let log = self.log()?;
        let report = py.detach(|| log.verify(keys.as_deref(), from_checkpoint.as_deref())).map_err(error)?;
        Ok(Report(report))
    }

    /// Retires the current signing key (which first signs a checkpoint of the
    /// records it signed) and continues with `new_key`.
    fn rotate(&self, py: Python<'_>, new_key: &Bound<'_, PyAny>) -> PyResult<()> {
        let new_key = signer(new_key)?;
        let (log, key) = (self.log()?, self.key()?);
        py.detach(|| log.rotate(&key, &new_key)).map_err(error)?;
        *self.key.lock().map_err(|_| closed())? = Some(new_key);
        Ok(())
    }

    /// Revokes the key `kid` of the log's key history from `at` (RFC 3339) on,
    /// with an optional `reason` such as "keyCompromise": the log's current key
    /// signs a key record saying so, and evidence signed by `kid` claiming a time
    /// at or after `at` is refused from then on, this log's own records included.
    /// The current key cannot revoke itself (INVALID_ARGUMENT): rotate first.
    /// Releases the GIL while it works.
    #[pyo3(signature = (kid, at, reason = None))]
    fn revoke(&self, py: Python<'_>, kid: Str, at: Str, reason: Option<Str>) -> PyResult<()> {
        let at = Timestamp::parse(&at).map_err(error)?;
        let (log, key) = (self.log()?, self.key()?);
        let reason = reason.as_deref();
        py.detach(|| log.revoke(&key, &kid, at, reason)).map_err(error)
    }

    /// Erases the event of record `index` and its salt (a record of version 2,
    /// SPEC.md §27): the log's key signs an erasure record naming the
    /// record and `reason`, then every copy of the event in the log's files is
    /// overwritten or removed; the record, its receipt and every proof stay valid.
    /// Returns the erasure record's acknowledgement, as `append` does. Raises
    /// RECORD_ERASED when it was erased already, ERASURE_REFUSED for a version-1,
    /// key or erasure record or one under a legal hold. Releases the GIL while it works.
    fn erase(&self, py: Python<'_>, index: Count, reason: Str) -> PyResult<String> {
        let (log, key) = (self.log()?, self.key()?);
        py.detach(|| log.erase(&key, index.0, &reason)).map(|a| a.to_line()).map_err(error)
    }

    /// Sets a legal hold on record `index` (with a case or matter reference): its
    /// event cannot be erased until the hold is released.
    fn hold(&self, py: Python<'_>, index: Count, reason: Str) -> PyResult<()> {
        let log = self.log()?;
        py.detach(|| log.hold(index.0, &reason)).map_err(error)
    }

    /// Releases the legal hold on record `index`; whether there was one.
    fn release(&self, py: Python<'_>, index: Count) -> PyResult<bool> {
        let log = self.log()?;
        py.detach(|| log.release(index.0)).map_err(error)
    }

    /// The legal holds, each a dict with `seq`, `reason` and `since`.
    fn holds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let log = self.log()?;
        let holds = log.holds().map_err(error)?;
        value_to_py(py, &Value::Array(holds.iter().map(|hold| hold.to_value()).collect()))
    }

    /// The log's key history as JWKS text.
    fn keys(&self, py: Python<'_>) -> PyResult<String> {
        let log = self.log()?;
        Ok(py.detach(|| log.keys()).map_err(error)?.to_json())
    }

    /// The log id.
    #[getter]
    fn log_id(&self, py: Python<'_>) -> PyResult<String> {
        let log = self.log()?;
        Ok(py.detach(|| log.log_id()))
    }

    /// "receipts" or "batch".
    #[getter]
    fn mode(&self, py: Python<'_>) -> PyResult<&'static str> {
        let log = self.log()?;
        Ok(py.detach(|| log.mode().name()))
    }

    /// Releases the log (other processes may then open it for writing).
    fn close(&self) {
        if let Ok(mut log) = self.log.lock() {
            *log = None;
        }
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let log = self.log()?;
        Ok(py.detach(|| log.len()).map_err(error)? as usize)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }

    fn __repr__(&self) -> String {
        match self.log() {
            Ok(log) => format!("Log({:?})", log.describe()),
            Err(_) => "Log(closed)".to_owned(),
        }
    }
}

/// Verifies the log in the directory `path` without opening it for writing (so
/// while another process may be appending): the whole log, or, given
/// `from_checkpoint`, only the records after that trusted checkpoint. Releases the
/// GIL while it works.
#[pyfunction]
#[pyo3(signature = (path, jwks = None, from_checkpoint = None))]
pub(crate) fn verify_log(
    py: Python<'_>,
    path: PathBuf,
    jwks: Option<Jwks>,
    from_checkpoint: Option<Str>,
) -> PyResult<Report> {
    let keys = jwks.map(Jwks::keys).transpose()?;
    let report = py
        .detach(|| evidentia_store::verify_dir_from(&path, keys.as_deref(), from_checkpoint.as_deref(), |_| {}))
        .map_err(error)?;
    Ok(Report(report))
}

/// Publishes the log in the directory `path` (or in the PostgreSQL database a
/// `postgres://` URL names) as C2SP tlog-tiles in the folder `to` (SPEC.md §24.1): its newest signed checkpoint, tiles and entry bundles, adding
/// only what is new to an earlier publication. Returns `{files_written,
/// note_signed, previous_size, size}`. Releases the GIL while it works.
#[pyfunction]
pub(crate) fn publish_log<'py>(py: Python<'py>, path: PathBuf, to: PathBuf) -> PyResult<Bound<'py, PyAny>> {
    let published = py.detach(|| evidentia_store::publish(&path, &to)).map_err(error)?;
    value_to_py(py, &published.to_value())
}

/// Verifies a log published as tlog-tiles in the folder `path` (SPEC.md §24.2)
/// with the trusted keys `jwks` (a publication carries none): every record, tile
/// hash and the checkpoint. Releases the GIL while it works.
#[pyfunction]
pub(crate) fn verify_publication(py: Python<'_>, path: PathBuf, jwks: Jwks) -> PyResult<Report> {
    let keys = jwks.keys()?;
    let source = evidentia_store::TilesDir(path);
    let verified = py.detach(|| evidentia_store::verify_tiles(&source, &keys, None, |_| {})).map_err(error)?;
    Ok(Report(verified.report))
}
