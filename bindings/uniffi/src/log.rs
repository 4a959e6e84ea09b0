//! Logs on disk.

use std::sync::{Arc, Mutex};

use evidentia::json::Value;
use evidentia::{Direction, ErrorCode, KeySet, NewMessage, PartnerKeys, RecordVersion, SignedMessage, Timestamp};
use evidentia_store::{AnyLog, AppendOptions, CreateOptions, LogOptions, Mode, NewEvent, Wait};

use crate::error::{Result, fail};
use crate::message::json_string;
use crate::report::Report;
use crate::{AnySigner, SigningKey};

/// An evidence log in a directory, or in PostgreSQL (a `postgres://` URL):
/// appends, checkpoints, proofs, verification. Freeing the object releases the
/// writer lock (or the database connection): Kotlin `close()` (or `use { }`),
/// Swift when the last reference goes.
#[derive(Debug, uniffi::Object)]
pub struct Log {
    log: AnyLog,
    key: Mutex<Option<Arc<SigningKey>>>,
}

fn time(time: Option<String>) -> Result<Option<Timestamp>> {
    Ok(time.as_deref().map(Timestamp::parse).transpose()?)
}

fn optional_keys(jwks: Option<String>) -> Result<Option<KeySet>> {
    Ok(jwks.as_deref().map(KeySet::from_json).transpose()?)
}

impl Log {
    fn key(&self) -> Result<AnySigner> {
        let key = self.key.lock().map_err(|_| fail(ErrorCode::Internal, "a thread panicked holding the key"))?;
        let key =
            key.as_ref().ok_or_else(|| fail(ErrorCode::KeyNotPrivate, "the log was opened without a signing key"))?;
        Ok(key.signer())
    }

    /// The folder log, for `what`, which only a folder log does yet.
    fn folder(&self, what: &str) -> Result<&evidentia_store::Log> {
        Ok(self.log.folder(what)?)
    }
}

#[uniffi::export]
impl Log {
    /// Creates a log in a new directory (or in the PostgreSQL database a
    /// `postgres://` URL names), signing with `key`; `mode` is "receipts"
    /// (a receipt per append) or "batch" (a signed checkpoint per batch). The key
    /// is valid from now, or from `valid_from` (RFC 3339) for records of an earlier
    /// time. `index_fields` names the payload fields to index, so that `find` finds
    /// records by their values. `record_version` 2 commits to
    /// each event under a random salt kept beside it, so that `erase` can delete the
    /// event; 1 commits to its plain digest; none is the default (SPEC §27).
    #[uniffi::constructor(default(log_id = None, mode = None, valid_from = None, index_fields = [], record_version = None))]
    pub fn create(
        path: String,
        key: Arc<SigningKey>,
        log_id: Option<String>,
        mode: Option<String>,
        valid_from: Option<String>,
        index_fields: Vec<String>,
        record_version: Option<u32>,
    ) -> Result<Arc<Log>> {
        let options = CreateOptions {
            log_id,
            mode: Mode::from_name(mode.as_deref().unwrap_or("receipts"))?,
            key_valid_from: time(valid_from)?,
            index_fields,
            record_version: record_version.map(|v| RecordVersion::parse(u64::from(v))).transpose()?,
            ..CreateOptions::default()
        };
        let log = AnyLog::create(path.as_ref(), &*key.signer(), options)?;
        Ok(Arc::new(Log { log, key: Mutex::new(Some(key)) }))
    }

    /// Opens an existing log, a directory or a `postgres://` URL, repairing what a
    /// crash left in a directory (see `recovery`); without
    /// a key it can prove, verify and attach timestamps but not append. `wait_seconds` waits for
    /// another process writing to the log instead of failing with LOG_LOCKED.
    #[uniffi::constructor(default(key = None, wait_seconds = None))]
    pub fn open(path: String, key: Option<Arc<SigningKey>>, wait_seconds: Option<f64>) -> Result<Arc<Log>> {
        let wait = Wait::from_seconds(wait_seconds)?;
        let log = AnyLog::open(path.as_ref(), &LogOptions { wait, ..LogOptions::default() })?;
        Ok(Arc::new(Log { log, key: Mutex::new(key) }))
    }

    /// Appends an event (JSON text) and returns its receipt, or in batch mode its
    /// acknowledgement line, once it is on disk. `time` (RFC 3339 UTC) defaults to
    /// now. With `idempotent`, a nonce already in the log with the same event
    /// returns that record's receipt instead of failing with NONCE_IN_USE.
    #[uniffi::method(default(nonce = None, time = None, idempotent = false))]
    pub fn append(
        &self,
        event: String,
        nonce: Option<String>,
        time: Option<String>,
        idempotent: bool,
    ) -> Result<String> {
        let key = self.key()?;
        let options = AppendOptions { time: self::time(time)?, idempotent };
        let batch = [NewEvent { json: event.as_bytes(), nonce: nonce.as_deref() }];
        let appended = self.log.append_events(&key, &batch, &options)?;
        Ok(appended.first().map(|a| a.to_line()).unwrap_or_default())
    }

    /// Appends events (JSON texts) as one group; returns a receipt or
    /// acknowledgement line for each. `nonces`, when given, holds one nonce or
    /// null for each event; with `idempotent`, an event whose nonce is already in
    /// the log with the same event returns that record's acknowledgement. A
    /// retried batch appends its events without a nonce again: give every event
    /// one.
    #[uniffi::method(default(time = None, nonces = None, idempotent = false))]
    pub fn append_batch(
        &self,
        events: Vec<String>,
        time: Option<String>,
        nonces: Option<Vec<Option<String>>>,
        idempotent: bool,
    ) -> Result<Vec<String>> {
        let (key, time) = (self.key()?, self::time(time)?);
        let batch = NewEvent::group(&events, nonces.as_deref())?;
        let options = AppendOptions { time, idempotent };
        Ok(self.log.append_events(&key, &batch, &options)?.iter().map(|a| a.to_line()).collect())
    }

    /// The latest signed checkpoint (signing a new one if records were appended since).
    pub fn checkpoint(&self) -> Result<String> {
        Ok(self.log.checkpoint(&self.key()?)?)
    }

    /// What a holder of record `index` needs: its receipt, or its batch receipt.
    pub fn receipt(&self, index: u64) -> Result<String> {
        Ok(self.log.receipt(index)?)
    }

    /// The salt record `index` commits to its event under, for a record of version
    /// 2 (null for version 1): with the event, it checks the receipt without the
    /// log (`verifyReceipt(receipt, jwks, event, salt)`). Throws RECORD_ERASED once
    /// the event is erased.
    pub fn salt(&self, index: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.log.salt(index)?)
    }

    /// The index of the record holding `nonce`, if one does.
    pub fn find_nonce(&self, nonce: String) -> Result<Option<u64>> {
        Ok(self.log.find_nonce(&nonce)?)
    }

    /// The indexes of the records whose event holds `value` in the indexed payload
    /// field `field` (for a signed message, a field of its JWS payload), ascending;
    /// throws FIELD_NOT_INDEXED for a field the log does not index.
    pub fn find(&self, field: String, value: String) -> Result<Vec<u64>> {
        Ok(self.folder("finding records by field")?.find(&field, &value)?)
    }

    /// Indexes one more payload field, for the records already in the log as well
    /// as later ones.
    pub fn add_index_field(&self, name: String) -> Result<()> {
        Ok(self.folder("indexing payload fields")?.add_index_field(&name)?)
    }

    /// Checks a JWS another party signed (or one sent to it: `direction`
    /// "outbound") against `keys` (JSON text: a JWKS or one JWK) and records it with
    /// those keys, where they came from (`provenance`, a JSON object: jwks_url,
    /// fetched_at, tls_certificate_sha256, key_thumbprint, partner_id,
    /// established_by, and any other members; default `{}`) and the result;
    /// returns the acknowledgement as `append` does. `payload` is a detached JWS's
    /// payload; `link` the index of the record this message answers; `time`
    /// (RFC 3339) the time of the check and of the record (default: now). A
    /// signature that does not verify throws unless `record_failure` is true.
    #[uniffi::method(default(
        provenance = None,
        direction = "inbound",
        payload = None,
        link = None,
        record_failure = false,
        nonce = None,
        time = None
    ))]
    #[allow(clippy::too_many_arguments)]
    pub fn record_message(
        &self,
        jws: String,
        keys: String,
        provenance: Option<String>,
        direction: String,
        payload: Option<Vec<u8>>,
        link: Option<u64>,
        record_failure: bool,
        nonce: Option<String>,
        time: Option<String>,
    ) -> Result<String> {
        let keys = PartnerKeys::from_json(&keys)?;
        let provenance = match provenance {
            Some(json) => evidentia::json::parse(json.as_bytes())?,
            None => Value::object(Vec::<(String, Value)>::new()),
        };
        let direction = Direction::from_name(&direction)?;
        let time = self::time(time)?;
        let key = self.key()?;
        let log = self.folder("recording signed messages")?;
        let link = link.map(|seq| log.link_to(seq)).transpose()?;
        let message = SignedMessage::verify_new(&NewMessage {
            jws: &jws,
            detached_payload: payload.as_deref(),
            keys: &keys,
            provenance: &provenance,
            direction,
            link,
            record_failure,
            at: match time {
                Some(time) => time,
                None => evidentia_store::now()?,
            },
        })?;
        let options = AppendOptions { time, idempotent: false };
        Ok(log.record_message(&key, &message, nonce.as_deref(), &options)?.to_line())
    }

    /// The signed message record `index` holds, as JSON (its direction, JWS, key
    /// snapshot, provenance, recorded verification and decoded payload), or null
    /// when it holds an ordinary event.
    pub fn message(&self, index: u64) -> Result<Option<String>> {
        self.folder("reading signed messages")?.message(index)?.map(|m| json_string(&m.describe())).transpose()
    }

    /// Checks the signed message record `index` holds again, now, with the keys
    /// recorded with it, as JSON: `agrees`, `original`, `reverified`, `status` and
    /// `valid`.
    pub fn verify_message(&self, index: u64) -> Result<String> {
        json_string(&self.folder("reading signed messages")?.verify_message(index)?.to_value())
    }

    /// What opening the log found and repaired, as JSON: counts by name,
    /// `repaired`, and `messages` in words.
    pub fn recovery(&self) -> Result<String> {
        Ok(self.folder("recovery")?.recovery().to_json())
    }

    /// The inclusion proof of record `index` in the tree of `size` records
    /// (default: the latest checkpoint's), as JSON.
    #[uniffi::method(default(size = None))]
    pub fn inclusion_proof(&self, index: u64, size: Option<u64>) -> Result<String> {
        Ok(self.log.inclusion_proof(index, size)?.to_json()?)
    }

    /// Record `index`'s C2SP tlog-proof (SPEC.md §22.3) and its entry, the record's
    /// bytes that `verifyTlogProof` takes: to the checkpoint of `size`, by default the
    /// newest covering it that the log keeps cosigned by witnesses, else the newest.
    #[uniffi::method(default(size = None))]
    pub fn tlog_proof(&self, index: u64, size: Option<u64>) -> Result<TlogProofExport> {
        let (proof, entry) = evidentia_store::record_tlog_proof(self.folder("tlog-proofs")?.dir(), index, size)?;
        Ok(TlogProofExport { proof: proof.to_text(), entry })
    }

    /// Writes the evidence package of record `index` (SPEC.md §19) to the new folder
    /// `out` and to `out` + ".tar.gz"; returns the archive's path. The package
    /// verifies with its `verify.sh` and OpenSSL alone.
    #[uniffi::method(default(disclose = None))]
    pub fn export_package(&self, index: u64, out: String, disclose: Option<Vec<String>>) -> Result<String> {
        Ok(self.log.export_package_disclosing(index, out.as_ref(), disclose.as_deref())?.display().to_string())
    }

    /// Verifies a time-stamping authority's response (DER) for one of the log's
    /// checkpoints, as `verifyTimestamp` does, and stores it beside the checkpoint,
    /// so that packages exported later include it. The result's `size` is the size of
    /// the checkpoint the token covers (TIMESTAMP_MISMATCH when it covers none).
    #[uniffi::method(default(intermediates = None, tsa_certificate = None, request = None))]
    pub fn attach_timestamp(
        &self,
        response: Vec<u8>,
        roots: Vec<u8>,
        intermediates: Option<Vec<u8>>,
        tsa_certificate: Option<Vec<u8>>,
        request: Option<Vec<u8>>,
    ) -> Result<crate::timestamp::VerifiedTimestamp> {
        let (trust, request) =
            crate::timestamp::trust(&roots, intermediates.as_deref(), tsa_certificate.as_deref(), request.as_deref())?;
        let (size, verified) = evidentia_store::attach_timestamp(
            self.folder("attaching timestamps")?.dir(),
            &response,
            request.as_ref(),
            &trust,
        )?;
        Ok(crate::timestamp::convert(&verified, Some(size)))
    }

    /// The consistency proof between two sizes of the log, as JSON.
    #[uniffi::method(default(new_size = None))]
    pub fn consistency_proof(&self, old_size: u64, new_size: Option<u64>) -> Result<String> {
        Ok(self.log.consistency_proof(old_size, new_size)?.to_json()?)
    }

    /// Verifies the whole log, with trusted keys (a JWKS) or its own key history;
    /// given `from_checkpoint`, a signed checkpoint of the log you trust, only the
    /// records after it (SPEC.md §13.1).
    #[uniffi::method(default(jwks = None, from_checkpoint = None))]
    pub fn verify(&self, jwks: Option<String>, from_checkpoint: Option<String>) -> Result<Arc<Report>> {
        let keys = optional_keys(jwks)?;
        let report = self.log.verify(keys.as_ref(), from_checkpoint.as_deref())?;
        Ok(Arc::new(Report(report)))
    }

    /// Retires the signing key (which first signs a checkpoint of the records it
    /// signed) and continues with `new_key`.
    pub fn rotate(&self, new_key: Arc<SigningKey>) -> Result<()> {
        let mut key = self.key.lock().map_err(|_| fail(ErrorCode::Internal, "a thread panicked holding the key"))?;
        let current =
            key.clone().ok_or_else(|| fail(ErrorCode::KeyNotPrivate, "the log was opened without a signing key"))?;
        self.log.rotate(&*current.signer(), &*new_key.signer())?;
        *key = Some(new_key);
        Ok(())
    }

    /// Revokes the retired key `kid` from `at` (RFC 3339) on, with an optional
    /// reason (`keyCompromise`, `superseded`, …): the current key signs a key record
    /// saying so (SPEC §23). Evidence signed by `kid` claiming `at` or later no
    /// longer verifies, this log's own records included.
    pub fn revoke(&self, kid: String, at: String, reason: Option<String>) -> Result<()> {
        let key = self.key.lock().map_err(|_| fail(ErrorCode::Internal, "a thread panicked holding the key"))?;
        let current =
            key.clone().ok_or_else(|| fail(ErrorCode::KeyNotPrivate, "the log was opened without a signing key"))?;
        drop(key);
        self.log.revoke(&*current.signer(), &kid, Timestamp::parse(&at)?, reason.as_deref())?;
        Ok(())
    }

    /// Erases the event of record `index` and its salt (a record of version 2,
    /// SPEC §27): the log's key signs an erasure record naming
    /// the record and `reason`, then every copy of the event in the log's files is
    /// overwritten or removed; the record, its receipt and every proof stay valid.
    /// Returns the erasure record's acknowledgement, as `append` does.
    /// RECORD_ERASED when it was erased already; ERASURE_REFUSED for a version-1,
    /// key or erasure record, or one under a legal hold.
    pub fn erase(&self, index: u64, reason: String) -> Result<String> {
        let key = self.key.lock().map_err(|_| fail(ErrorCode::Internal, "a thread panicked holding the key"))?;
        let current =
            key.clone().ok_or_else(|| fail(ErrorCode::KeyNotPrivate, "the log was opened without a signing key"))?;
        drop(key);
        Ok(self.log.erase(&*current.signer(), index, &reason)?.to_line())
    }

    /// Sets a legal hold on record `index` (with a case or matter reference): its
    /// event cannot be erased until the hold is released.
    pub fn hold(&self, index: u64, reason: String) -> Result<()> {
        Ok(self.log.hold(index, &reason)?)
    }

    /// Releases the legal hold on record `index`; whether there was one.
    pub fn release(&self, index: u64) -> Result<bool> {
        Ok(self.log.release(index)?)
    }

    /// The legal holds.
    pub fn holds(&self) -> Result<Vec<LogHold>> {
        let holds = self.log.holds()?;
        Ok(holds.into_iter().map(|h| LogHold { seq: h.seq, reason: h.reason, since: h.since.to_string() }).collect())
    }

    /// The log's key history as JWKS text.
    pub fn keys(&self) -> Result<String> {
        Ok(self.log.keys()?.to_json())
    }

    /// The log id.
    pub fn log_id(&self) -> String {
        self.log.log_id()
    }

    /// "receipts" or "batch".
    pub fn mode(&self) -> String {
        self.log.mode().name().to_owned()
    }

    /// How many records the log holds.
    pub fn length(&self) -> Result<u64> {
        Ok(self.log.len()?)
    }
}

/// Verifies a log directory without opening it for writing: the whole log, or,
/// given `from_checkpoint`, only the records after that trusted checkpoint.
#[uniffi::export(default(jwks = None, from_checkpoint = None))]
pub fn verify_log(path: String, jwks: Option<String>, from_checkpoint: Option<String>) -> Result<Arc<Report>> {
    let keys = optional_keys(jwks)?;
    let report = evidentia_store::verify_dir_from(path.as_ref(), keys.as_ref(), from_checkpoint.as_deref(), |_| {})?;
    Ok(Arc::new(Report(report)))
}

/// A record's C2SP tlog-proof, and the entry it proves.
#[derive(Debug, uniffi::Record)]
pub struct TlogProofExport {
    /// The tlog-proof text.
    pub proof: String,
    /// The entry: the record's bytes.
    pub entry: Vec<u8>,
}

/// A legal hold on a record: its event cannot be erased until it is released.
#[derive(Debug, uniffi::Record)]
pub struct LogHold {
    /// The record held.
    pub seq: u64,
    /// Why (a case or matter reference).
    pub reason: String,
    /// When the hold was set (RFC 3339 UTC).
    pub since: String,
}
