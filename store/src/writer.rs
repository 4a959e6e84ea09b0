//! [`Log`]: a log opened for appending. One process at a time holds it (the
//! writer lock); within the process any number of threads may append.
//!
//! An append makes its records and frames, takes the commit lock (so that readers
//! never see half of it), writes the frames and their index slots, and flushes the
//! segment: the durability point. Only then does it count the records and return
//! their receipts. The derived files (`tree`, `nonces`) are written after that and
//! flushed now and then (`state.json` says how far); a failure there does not
//! undo a stored record, it only makes the next call repair them first. In batch
//! mode the append then signs a checkpoint; if that fails, the records are stored
//! but not sealed, and the error says so.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use evidentia::json::{Number, Value};
use evidentia::merkle::{Hash, leaf_hash};
use evidentia::{
    ChainState, ChainedRecord, Checkpoint, ConsistencyProof, Digest, Error, ErrorCode, EventState, InclusionProof,
    KeyChange, KeyRecord, KeySet, NoteKey, NoteSigner, Receipt, Record, RecordVersion, Result, Signer, StoredEvent,
    Timestamp, Validity, add_note_signature, note_log_key, record_time, sign_checkpoint,
};

use crate::checkpoints::{Checkpoints, StoredCheckpoint};
use crate::config::{
    COMMIT_LOCK, CONFIG_FILE, Config, KEYS_FILE, Mode, NoteKeyConfig, SEGMENTS_DIR, WRITER_LOCK, random_log_id,
    validate_index_field, validate_index_fields,
};
use crate::erasure::Hold;
use crate::faults::Faults;
use crate::fields::{self, FieldIndex};
use crate::frame;
use crate::fsio::{FileId, Fs, Wait, lock_exclusive};
use crate::index::{IndexFile, slot};
use crate::nonces::fingerprint;
use crate::recovery::{self, Recovery};
use crate::segments::{Entry, EntryRef, SegmentWriter};
use crate::state::Durable;
use crate::table::{Fingerprint, HashTable};
use crate::tree::TreeFile;
use crate::view::View;

/// The largest group of events committed at once, framed: appends of more must be
/// split. It also keeps every segment far below the 4 GiB its index can address.
pub(crate) const MAX_GROUP_BYTES: usize = 256 * 1024 * 1024;
/// The frame, kind, length and record or receipt around an event: at most this.
const ENTRY_OVERHEAD: usize = 2048;
/// After this many records the derived files are flushed and `state.json` written,
/// so that recovery after a crash rebuilds at most about this many.
const FLUSH_DERIVED_EVERY: u64 = 1 << 16;
/// The current time from the system clock.
///
/// # Errors
/// [`ErrorCode::Internal`] when the clock is before 1970 or beyond 9999.
pub fn now() -> Result<Timestamp> {
    Timestamp::from_system_time(SystemTime::now())
}

/// How a log is opened: how long to wait for another writer, and (for tests) a
/// fault plan for its file operations and a fixed clock.
#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    /// How long to wait when another process holds the log for writing.
    pub wait: Wait,
    /// Fails file operations as the plan says (see [`Faults`]).
    pub faults: Option<Arc<Faults>>,
    /// A fixed time instead of the system clock, for reproducible fixtures and
    /// tests: what the log reads wherever it would read the clock (a record's
    /// default time, the limit on a given time, a first key's `nbf`, a rotation).
    pub clock: Option<Timestamp>,
    /// Derives each version-2 record's salt from this seed and the record's
    /// sequence number instead of the system's random source, for reproducible
    /// fixtures and test vectors only: salts that can be derived hide nothing.
    pub salt_seed: Option<[u8; 32]>,
}

/// Settings for a new log.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// The log id; a random one (`evidentia/<32 hex digits>`) when `None`.
    pub log_id: Option<String>,
    /// Where the signing key is kept, remembered so that later appends find it: a
    /// file, or a `pkcs11:` URI of a key in a token (log.json's `key_uri`; a
    /// `pin-value` in it is never written).
    pub key_file: Option<PathBuf>,
    /// How records are signed.
    pub mode: Mode,
    /// When the first key becomes valid (`nbf`); now when `None`. Records may not
    /// be dated before it: set it to append records of an earlier time (imports,
    /// test vectors).
    pub key_valid_from: Option<Timestamp>,
    /// The payload fields to index, so that records can be found by their values
    /// ([`Log::find`]): 1 to 64 bytes of printable ASCII each, at most 16, none
    /// twice.
    pub index_fields: Vec<String>,
    /// The version of the records the log writes: 2 (salted events that can be
    /// erased, SPEC.md §27) or 1; [`DEFAULT_RECORD_VERSION`] when `None`.
    pub record_version: Option<RecordVersion>,
    /// How the new log is opened.
    pub options: LogOptions,
}

/// How a record commits to its event, and what is stored beside it (SPEC.md §26).
pub(crate) struct Committed {
    /// The record's version: the log's, or 1 for an event that is always of
    /// version 1 ([`evidentia::record_version_for`]).
    pub version: RecordVersion,
    /// The record's `event` digest.
    pub digest: Digest,
    /// The stored event of a version-2 record (salt and event); `None` for one of
    /// version 1, whose stored event is the canonical event itself.
    pub stored: Option<Vec<u8>>,
    /// The salt of a version-2 record.
    pub salt: Option<Vec<u8>>,
}

/// How a log writing records of `version` commits to the event `canonical`:
/// under a salt from `salt` when the record is of version 2. Both stores do this.
pub(crate) fn commit_to(
    canonical: &[u8],
    version: RecordVersion,
    salt: impl FnOnce() -> Result<[u8; 16]>,
) -> Result<Committed> {
    Ok(match evidentia::record_version_for(canonical, version) {
        RecordVersion::V1 => {
            Committed { version: RecordVersion::V1, digest: Digest::sha256(canonical), stored: None, salt: None }
        }
        RecordVersion::V2 => {
            let salt = salt()?;
            let digest = evidentia::commit_json(canonical, &salt)?.digest();
            let stored = Some(StoredEvent::salted(&salt, canonical)?);
            Committed { version: RecordVersion::V2, digest, stored, salt: Some(salt.to_vec()) }
        }
    })
}

/// A new event salt: 128 random bits (SPEC.md §26).
pub(crate) fn random_salt() -> Result<[u8; 16]> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| Error::new(ErrorCode::Internal, "the system random source failed"))?;
    Ok(salt)
}

/// The salt of record `seq` derived from a seed ([`LogOptions::salt_seed`]): the
/// first 16 bytes of SHA-256 of the seed and `seq` (u64 big-endian).
fn derived_salt(seed: &[u8; 32], seq: u64) -> [u8; 16] {
    let mut input = seed.to_vec();
    input.extend_from_slice(&seq.to_be_bytes());
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&Digest::sha256(&input).as_bytes()[..16]);
    salt
}

/// The version of the records a new log writes unless told otherwise, in a
/// folder or in PostgreSQL: 2, whose events can be erased and are hidden from
/// receipt holders by their salts.
pub const DEFAULT_RECORD_VERSION: RecordVersion = RecordVersion::V2;

/// How to append.
#[derive(Clone, Copy, Debug, Default)]
pub struct AppendOptions {
    /// The time every record gets, instead of the clock; it may not be earlier than
    /// the last record's or the key's validity, nor more than 5 minutes ahead of
    /// the clock.
    pub time: Option<Timestamp>,
    /// An event whose nonce is already in the log returns that record's original
    /// acknowledgement, if the event is the same, instead of being refused: a
    /// retried request does not append twice.
    pub idempotent: bool,
}

/// What an append of an event whose nonce record `original` holds gets: that
/// record's acknowledgement when the append is an idempotent retry of the same
/// event (`canonical`), else NONCE_IN_USE. Both stores follow this one rule.
/// `stored_event` is the original's event as stored, which a version-2 record
/// needs: its salt is new on every append, so the events themselves are compared.
pub(crate) fn retried(
    original: Appended,
    stored_event: Option<&[u8]>,
    canonical: &[u8],
    options: &AppendOptions,
) -> Result<Appended> {
    let same = match original.record.version {
        RecordVersion::V1 => original.record.event == Digest::sha256(canonical),
        RecordVersion::V2 => stored_event.is_some_and(|stored| {
            matches!(evidentia::event_state(&original.record, stored), EventState::Matches(event) if event == canonical)
        }),
    };
    if options.idempotent && same {
        return Ok(original);
    }
    let erased = stored_event
        .is_some_and(|stored| matches!(evidentia::event_state(&original.record, stored), EventState::Erased));
    let why = match (options.idempotent, erased) {
        (_, true) => ", whose event was erased",
        (true, false) => ", with another event",
        (false, false) => "",
    };
    Err(Error::new(ErrorCode::NonceInUse, format!("the nonce is already used by record {}{why}", original.seq)))
}

/// One event to append: its JSON text and an optional nonce.
#[derive(Clone, Copy, Debug)]
pub struct NewEvent<'a> {
    /// The event as JSON text (any formatting; it is stored canonical).
    pub json: &'a [u8],
    /// A nonce to bind into the record: unique in the log.
    pub nonce: Option<&'a str>,
}

impl<'a> NewEvent<'a> {
    /// The events of a batch append with their nonces: `nonces`, when given,
    /// holds one for each event (`None` for an event without one).
    ///
    /// # Errors
    /// INVALID_ARGUMENT when `nonces` does not hold one for each event.
    pub fn group<E: AsRef<[u8]>, N: AsRef<str>>(
        events: &'a [E],
        nonces: Option<&'a [Option<N>]>,
    ) -> Result<Vec<NewEvent<'a>>> {
        let nonces = match nonces {
            None => return Ok(events.iter().map(|e| NewEvent { json: e.as_ref(), nonce: None }).collect()),
            Some(nonces) if nonces.len() != events.len() => {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "{} nonces for {} events: give one for each event (null for an event without one), or none",
                        nonces.len(),
                        events.len()
                    ),
                ));
            }
            Some(nonces) => nonces,
        };
        let pairs = events.iter().zip(nonces);
        Ok(pairs.map(|(e, n)| NewEvent { json: e.as_ref(), nonce: n.as_ref().map(AsRef::as_ref) }).collect())
    }
}

/// What an append returns, once the entry is durable (and, in batch mode, sealed
/// by a signed checkpoint).
#[derive(Clone, Debug)]
pub struct Appended {
    /// The record's sequence number.
    pub seq: u64,
    /// The record.
    pub record: Record,
    /// The record's digest (SHA-256 of its canonical bytes).
    pub record_digest: Digest,
    /// The receipt, for a log that signs every record.
    pub receipt: Option<Receipt>,
    /// The size of the checkpoint that seals the record, for a batch-signed log.
    pub checkpoint_size: Option<u64>,
    /// Whether this is the record an earlier append of the same nonce made
    /// (an idempotent retry), rather than a new one.
    pub replayed: bool,
    /// The salt a record of version 2 commits to its event under (SPEC.md §26):
    /// what checks the event against the receipt without the log
    /// ([`evidentia::verify_receipt_salted`]). `None` for a record of version 1,
    /// and for a replayed record whose event was erased since.
    pub salt: Option<Vec<u8>>,
}

impl Appended {
    /// The acknowledgement of a record this append made.
    pub(crate) fn fresh(chained: ChainedRecord, receipt: Option<Receipt>, salt: Option<Vec<u8>>) -> Self {
        let ChainedRecord { record, digest, .. } = chained;
        let seq = record.seq;
        Appended { seq, record, record_digest: digest, receipt, checkpoint_size: None, replayed: false, salt }
    }

    /// The acknowledgement of a record an earlier append of the same nonce made,
    /// read back from the log as `bytes`, its event stored as `stored_event`.
    pub(crate) fn replayed(
        seq: u64,
        bytes: &[u8],
        record: Record,
        receipt: Option<Receipt>,
        checkpoint_size: Option<u64>,
        stored_event: &[u8],
    ) -> Self {
        let salt = match StoredEvent::read(stored_event) {
            Ok(Some(StoredEvent::Salted { salt, .. })) => Some(salt.to_vec()),
            _ => None,
        };
        let record_digest = Digest::sha256(bytes);
        Appended { seq, record_digest, record, receipt, checkpoint_size, replayed: true, salt }
    }

    /// One line that acknowledges the append: the receipt, or for a batch-signed
    /// log a JSON object naming the record, its digest and its checkpoint.
    pub fn to_line(&self) -> String {
        match (&self.receipt, self.checkpoint_size) {
            (Some(receipt), _) => receipt.as_str().to_owned(),
            (None, size) => {
                let count = |n: u64| Value::Number(Number::from_i64(n as i64).unwrap_or(Number::from(0)));
                let members = [
                    ("checkpoint_size", size.map_or(Value::Null, count)),
                    ("event", Value::from(self.record.event.to_string())),
                    ("log_id", Value::from(self.record.log_id.as_str())),
                    ("record", Value::from(self.record_digest.to_string())),
                    ("seq", count(self.seq)),
                ];
                String::from_utf8(evidentia::canonicalize_value(&Value::object(members)).unwrap_or_default())
                    .unwrap_or_default()
            }
        }
    }
}

/// What [`Log::append_valid_prefix`] did.
#[derive(Debug)]
pub struct PrefixAppended {
    /// The events appended: all up to the first invalid one.
    pub appended: Vec<Appended>,
    /// The first event that is not valid JSON, if any.
    pub invalid: Option<InvalidEvent>,
}

/// An event refused because it is not valid JSON.
#[derive(Debug)]
pub struct InvalidEvent {
    /// Its position among the events given.
    pub position: usize,
    /// Why.
    pub error: Error,
}

/// The writer's state: the log's files, open, and what they hold.
#[derive(Debug)]
pub(crate) struct Writer {
    pub fs: Fs,
    pub dir: PathBuf,
    pub config: Config,
    pub keys: KeySet,
    pub chain: ChainState,
    /// The kid of the last record.
    pub last_kid: Option<String>,
    pub segments: SegmentWriter,
    pub index: IndexFile,
    pub tree: TreeFile,
    pub nonces: HashTable,
    /// The field index, when the log indexes fields.
    pub fields: Option<FieldIndex>,
    pub checkpoints: Checkpoints,
    /// What the derived files hold on stable storage.
    pub durable: Durable,
    pub recovery: Recovery,
    /// Set when a write failed and left files that must be repaired before the
    /// next change (the next call repairs them).
    pub damaged: bool,
    /// A key change recorded in the log (its key record is the last record) that
    /// keys.jwks does not show yet: completed before anything else is done.
    pub pending_key_change: Option<PendingKeyChange>,
    /// The change of the log's last record, when it is a key record keys.jwks
    /// shows: a rotation or revocation asked for again is then already made.
    pub completed_key_change: Option<KeyChange>,
    /// The writer lock file this writer holds (set once the log is open).
    pub lock_id: Option<FileId>,
    /// A fixed time read instead of the system clock ([`LogOptions::clock`]).
    pub clock: Option<Timestamp>,
    /// Where salts come from instead of the random source ([`LogOptions::salt_seed`]).
    pub salt_seed: Option<[u8; 32]>,
    /// The log's Ed25519 note key, once attached or loaded from its file.
    pub note_signer: Option<AttachedNoteKey>,
}

/// An Ed25519 note signer held by the writer.
pub(crate) struct AttachedNoteKey(Box<dyn NoteSigner + Send>);

impl std::fmt::Debug for AttachedNoteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttachedNoteKey")
    }
}

/// A key change recorded in the log that keys.jwks does not show yet.
#[derive(Clone, Debug)]
pub(crate) struct PendingKeyChange {
    /// The key record, the log's last record.
    pub record: KeyRecord,
    /// Whether this process wrote it. One read from a batch-mode log, where no
    /// checkpoint seals it, may have been written by anyone with the files: it is
    /// completed only when its signer asks for the same change again.
    pub ours: bool,
}

/// A log opened for appending. Only one process at a time may hold it; within the
/// process, any number of threads may append at once.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    writer: Mutex<Writer>,
    _lock: File,
}

fn not_current() -> Error {
    Error::new(ErrorCode::KeyNotCurrent, "the key is not this log's current signing key")
}

/// Whether log.json's key reference is a `pkcs11:` URI rather than a file.
fn is_token_uri(path: &Path) -> bool {
    path.to_str().is_some_and(|p| p.starts_with("pkcs11:"))
}

/// Checks that a note signer signs for its public key, before a log relies on it.
pub(crate) fn check_note_signer(signer: &dyn NoteSigner) -> Result<()> {
    let probe = "evidentia note key check\n";
    let key = note_log_key("evidentia.check", signer)?;
    if !key.verifies(probe, &signer.sign(probe.as_bytes())?) {
        return Err(Error::new(
            ErrorCode::SignerFailed,
            "the Ed25519 note signer's signature does not verify with its key",
        ));
    }
    Ok(())
}

/// Checks that `signer` holds the note key the log names.
fn check_note_key(config: &NoteKeyConfig, log_id: &str, signer: &dyn NoteSigner) -> Result<()> {
    if note_log_key(log_id, signer)?.to_vkey() != config.vkey {
        return Err(Error::new(
            ErrorCode::KeyNotCurrent,
            format!("the Ed25519 key given is not this log's note key {}", config.vkey),
        ));
    }
    Ok(())
}

impl Writer {
    /// The current time: the fixed clock if one was given, else the system clock's.
    fn now(&self) -> Result<Timestamp> {
        self.clock.map_or_else(now, Ok)
    }

    pub(crate) fn view(&self) -> View<'_> {
        View {
            config: &self.config,
            segments: &self.segments.segments,
            index: Some(&self.index),
            checkpoints: &self.checkpoints,
            nonces: Some(&self.nonces),
            fields: self.fields.as_ref(),
            count: self.segments.count,
            last_kid: self.last_kid.as_deref(),
            tree: &self.tree,
        }
    }

    /// Takes the commit lock, after making sure this writer still holds the log: if
    /// the writer lock file was removed or replaced, another process may have opened
    /// the log for writing, and appending now would fork it.
    fn commit_lock(&self, wait: Wait) -> Result<File> {
        let commit = lock_exclusive(&self.fs, &self.dir.join(COMMIT_LOCK), wait, "the log is being changed")?;
        if self.lock_id.is_some() && FileId::of_path(&self.dir.join(WRITER_LOCK)) != self.lock_id {
            return Err(Error::new(
                ErrorCode::LogLocked,
                "the log's lock file was removed or replaced while this process held it: another process may be writing to the log, so nothing more is written; close and reopen the log",
            ));
        }
        Ok(commit)
    }

    /// Checks that `key` is the log's current key; returns its validity.
    fn current(&self, key: &dyn Signer) -> Result<Validity> {
        let (current, validity) = self.keys.select(Some(key.public_key().kid())).map_err(|_| not_current())?;
        if current != key.public_key() || validity.expires.is_some() || validity.revoked_at.is_some() {
            return Err(not_current());
        }
        Ok(validity.clone())
    }

    /// Repairs the files after a write failed in this process: what was written
    /// after the last acknowledged append is cut, then everything is recovered as
    /// when opening.
    pub(crate) fn repair(&mut self) -> Result<()> {
        if !self.damaged {
            return Ok(());
        }
        let _commit = self.commit_lock(Wait::For(Duration::from_secs(60)))?;
        self.segments.rollback()?;
        let repaired = recovery::open_writer(&self.fs, &self.dir)?;
        crate::metrics::recovered(&repaired.config.log_id);
        let (recovery, lock_id, clock, salt_seed) =
            (std::mem::take(&mut self.recovery), self.lock_id, self.clock, self.salt_seed);
        // A key change this writer recorded stays its own (SPEC.md §23.3).
        let ours = self.pending_key_change.take().filter(|pending| pending.ours).map(|pending| pending.record.change);
        *self = repaired;
        if let Some(pending) = &mut self.pending_key_change {
            pending.ours = ours.as_ref() == Some(&pending.record.change);
        }
        self.recovery = recovery;
        self.lock_id = lock_id;
        self.clock = clock;
        self.salt_seed = salt_seed;
        Ok(())
    }

    /// The time the next records get: core's rule for every chain.
    fn time_for(&self, given: Option<Timestamp>, validity: &Validity) -> Result<Timestamp> {
        record_time(self.chain.last_time(), validity.not_before, given, self.now()?)
    }

    /// The acknowledgement of a record already in the log (an idempotent retry),
    /// with its event as stored.
    fn replay(&self, seq: u64) -> Result<(Appended, Vec<u8>)> {
        let entry = self.view().entry(seq)?;
        let bytes = entry.record_bytes()?;
        let record = Record::from_bytes(&bytes)?;
        let receipt = match &entry {
            Entry::Receipt { receipt, .. } => Some(Receipt::parse(receipt)?),
            Entry::Record { .. } => None,
        };
        let checkpoint_size = match receipt {
            Some(_) => None,
            None => self.checkpoints.oldest_holding(seq),
        };
        let stored_event = entry.stored_event().to_vec();
        Ok((Appended::replayed(seq, &bytes, record, receipt, checkpoint_size, &stored_event), stored_event))
    }

    /// Appends canonical events as one group: all or none.
    /// Records are of `version`: a version-2 record commits to its event under a
    /// new random salt, kept with the event.
    pub(crate) fn commit(
        &mut self,
        key: &dyn Signer,
        events: &[NewEvent<'_>],
        canonical: Vec<Vec<u8>>,
        options: &AppendOptions,
        version: RecordVersion,
    ) -> Result<Vec<Appended>> {
        let started = std::time::Instant::now();
        self.repair()?;
        self.complete_key_change(Some(key), None)?;
        let validity = self.current(key)?;

        // Nonces: never twice in a log. A retry marked idempotent gets the original
        // (whatever time it gives: it is the original request).
        let mut results: Vec<Option<Appended>> = Vec::with_capacity(events.len());
        let mut group_nonces = std::collections::HashSet::new();
        for (event, canonical) in events.iter().zip(&canonical) {
            let Some(nonce) = event.nonce else {
                results.push(None);
                continue;
            };
            if !group_nonces.insert(nonce) {
                return Err(Error::new(ErrorCode::NonceInUse, "two events of the batch have the same nonce"));
            }
            match self.view().find_nonce(nonce)? {
                None => results.push(None),
                Some(seq) => {
                    let (original, stored_event) = self.replay(seq)?;
                    results.push(Some(retried(original, Some(&stored_event), canonical, options)?));
                }
            }
        }

        if self.config.mode == Mode::Batch && results.iter().any(Option::is_none) {
            // The checkpoint sealing the group needs the note key too: found now,
            // before anything is stored, rather than after as RECORDS_UNSEALED.
            self.note_signer()?;
        }

        // Records and frames, made before anything is written.
        let time = match results.iter().any(Option::is_none) {
            true => self.time_for(options.time, &validity)?,
            false => self.now()?, // nothing new: no record takes it
        };
        let mut chain = self.chain.clone();
        let total: usize = canonical.iter().map(|e| e.len() + ENTRY_OVERHEAD).sum();
        let mut frames = Vec::with_capacity(total.min(MAX_GROUP_BYTES));
        let mut offsets = Vec::new();
        let mut leaves = Vec::new();
        let mut new_nonces = Vec::new();
        let mut new_terms = Vec::new();
        for ((event, canonical), result) in events.iter().zip(canonical).zip(&mut results) {
            if result.is_some() {
                continue;
            }
            let committed = commit_to(&canonical, version, || match self.salt_seed {
                Some(seed) => Ok(derived_salt(&seed, chain.next_seq())),
                None => random_salt(),
            })?;
            let chained =
                chain.append_of(committed.version, key.public_key().kid(), committed.digest, time, event.nonce)?;
            let salt = committed.salt;
            let stored = committed.stored.as_deref().unwrap_or(&canonical);
            if !self.config.index_fields.is_empty() {
                let terms = fields::event_fingerprints(&canonical, &self.config.index_fields);
                new_terms.extend(terms.into_iter().map(|fingerprint| (fingerprint, chained.record.seq)));
            }
            let receipt = match self.config.mode {
                Mode::Receipts => Some(Receipt::sign(key, &chained.record)?),
                Mode::Batch => None,
            };
            let entry = match &receipt {
                Some(receipt) => EntryRef::Receipt { receipt: receipt.as_str(), event: stored },
                None => EntryRef::Record { record: &chained.bytes, event: stored },
            };
            if entry.payload_len() > frame::MAX_PAYLOAD {
                return Err(Error::new(
                    ErrorCode::EntryTooLarge,
                    format!(
                        "an event of {} bytes in canonical form is too large to store: an entry holds at most {} MiB",
                        canonical.len(),
                        frame::MAX_PAYLOAD >> 20
                    ),
                ));
            }
            if frames.len() + entry.payload_len() > MAX_GROUP_BYTES {
                return Err(Error::new(
                    ErrorCode::EntryTooLarge,
                    format!(
                        "the events are larger than {} MiB together: append them in smaller batches",
                        MAX_GROUP_BYTES >> 20
                    ),
                ));
            }
            offsets.push(frames.len() as u64);
            frame::encode_with(&mut frames, |out| entry.write_payload(out));
            leaves.push(leaf_hash(&chained.bytes));
            if let Some(nonce) = event.nonce {
                new_nonces.push((fingerprint(nonce), chained.record.seq));
            }
            *result = Some(Appended::fresh(chained, receipt, salt));
        }
        let mut appended: Vec<Appended> = results.into_iter().flatten().collect();
        if offsets.is_empty() {
            // Only retries: they still seal what a failed batch append left unsealed.
            if self.config.mode == Mode::Batch && self.checkpoints.latest_size() != Some(self.segments.count) {
                let _commit = self.commit_lock(Wait::For(Duration::from_secs(60)))?;
                self.seal(key, &mut appended, 0)?;
            }
            return Ok(appended);
        }

        let _commit = self.commit_lock(Wait::For(Duration::from_secs(60)))?;
        let count = self.segments.count;
        let writing = std::time::Instant::now();
        let stored = self.segments.write(&frames).and_then(|at| self.segments.sync().map(|()| at));
        let commit_took = writing.elapsed();
        let (segment, base) = match stored {
            Ok(at) => at,
            Err(e) => {
                // Nothing was acknowledged: cut what may have been written.
                if self.segments.rollback().is_err() {
                    self.damaged = true;
                }
                return Err(e);
            }
        };
        // Durable from here: the state follows the files even if what comes next
        // fails. The index slots come only now, so that an indexed entry is always
        // one that was flushed (recovery relies on it).
        self.segments.commit(frames.len() as u64, offsets.len() as u64);
        self.completed_key_change = None;
        self.chain = chain;
        self.last_kid = Some(key.public_key().kid().to_owned());
        let new = offsets.len();
        for leaf in leaves {
            self.tree.push(leaf);
        }
        let slots: Vec<u8> = offsets.iter().flat_map(|offset| slot(segment, base + offset)).collect();
        if self
            .index
            .write(&self.fs, count, &slots)
            .and_then(|()| self.update_derived(&new_nonces, &new_terms))
            .is_err()
        {
            self.damaged = true;
        }
        if self.config.mode == Mode::Batch {
            self.seal(key, &mut appended, new)?;
        }
        if self.segments.count - self.durable.entries >= FLUSH_DERIVED_EVERY && self.flush_derived().is_err() {
            self.damaged = true;
        }
        crate::metrics::appended(&self.config.log_id, new, started.elapsed(), commit_took);
        Ok(appended)
    }

    /// Signs a checkpoint of the whole log (batch mode) and says so in each
    /// acknowledgement; when that fails, the `new` records just stored (and any the
    /// log held unsealed before) are reported stored but not sealed.
    fn seal(&mut self, key: &dyn Signer, appended: &mut [Appended], new: usize) -> Result<()> {
        match self.sign_checkpoint(key) {
            Ok(size) => {
                // Records sealed before (idempotent retries) keep the checkpoint
                // that sealed them, as their first acknowledgement named it.
                for a in appended.iter_mut().filter(|a| a.checkpoint_size.is_none()) {
                    a.checkpoint_size = Some(size);
                }
                Ok(())
            }
            Err(e) => {
                let first = self.checkpoints.latest_size().unwrap_or(0).min(self.segments.count - new as u64);
                Err(Error::new(
                    ErrorCode::RecordsUnsealed,
                    format!(
                        "records {first} to {} are stored but not yet sealed by a signed checkpoint ({}): do not append them again; the next append or checkpoint seals them",
                        self.segments.count - 1,
                        e.message()
                    ),
                ))
            }
        }
    }

    /// Writes the tree nodes, nonces and indexed field values of records just stored.
    fn update_derived(&mut self, nonces: &[(Fingerprint, u64)], terms: &[(Fingerprint, u64)]) -> Result<()> {
        self.tree.write_pending(&self.fs)?;
        for (fingerprint, seq) in nonces {
            self.nonces.insert(&self.fs, fingerprint, *seq)?;
        }
        self.nonces.write_header(&self.fs, self.segments.count)?;
        if let Some(table) = self.fields.as_mut() {
            table.insert(&self.fs, terms)?;
            table.write_header(&self.fs, self.segments.count)?;
        }
        Ok(())
    }

    /// Indexes one more payload field: the configuration names it, and the field
    /// index is built anew from the stored events.
    fn add_index_field(&mut self, name: &str) -> Result<()> {
        validate_index_field(name)?;
        let mut names = self.config.index_fields.clone();
        names.push(name.to_owned());
        validate_index_fields(&names)?;
        self.repair()?;
        let _commit = self.commit_lock(Wait::For(Duration::from_secs(60)))?;
        let mut config = self.config.clone();
        config.index_fields = names;
        let result = self.build_field_index(&config);
        if result.is_err() {
            self.damaged = true;
        }
        result?;
        self.config = config;
        Ok(())
    }

    /// Builds the field index anew from the stored events (its files were found
    /// inconsistent).
    fn rebuild_field_index(&mut self) -> Result<()> {
        let _commit = self.commit_lock(Wait::For(Duration::from_secs(60)))?;
        let config = self.config.clone();
        let result = self.build_field_index(&config);
        if result.is_err() {
            self.damaged = true;
        }
        result
    }

    /// Writes `config` (with its new field list) and builds its field index from
    /// the stored events. The new table is written under its own tag before the
    /// configuration names the new field: whichever of them a crash leaves, opening
    /// the log finds a table that does not match its fields, or one that indexes
    /// nothing yet, and builds it again.
    pub(crate) fn build_field_index(&mut self, config: &Config) -> Result<()> {
        let count = self.segments.count;
        let tag = fields::tag(&config.index_fields);
        self.fields = None;
        let mut table = FieldIndex::create(&self.fs, &self.dir, tag)?;
        self.fs.replace(&self.dir, CONFIG_FILE, &config.to_json())?;
        let fs = &self.fs;
        let mut terms = Vec::new();
        recovery::rebuild_pass(&self.segments.segments, 0, count, |seq, _, _, entry| {
            terms.extend(fields::event_fingerprints(entry.event(), &config.index_fields).into_iter().map(|f| (f, seq)));
            if terms.len() >= fields::INSERT_AT_ONCE {
                table.insert(fs, &terms)?;
                terms.clear();
            }
            Ok(())
        })?;
        table.insert(fs, &terms)?;
        recovery::finish_fields(&self.fs, &mut table, 0, count)?;
        table.sync(&self.fs)?;
        self.fields = Some(table);
        Ok(())
    }

    /// Flushes the derived files and records in `state.json` that they are durable.
    pub(crate) fn flush_derived(&mut self) -> Result<()> {
        self.index.sync(&self.fs)?;
        self.tree.sync(&self.fs)?;
        self.nonces.sync(&self.fs)?;
        if let Some(table) = &self.fields {
            table.sync(&self.fs)?;
        }
        let durable = Durable { entries: self.segments.count, root: self.tree.root() };
        durable.write(&self.fs, &self.dir)?;
        self.durable = durable;
        Ok(())
    }

    /// Signs a checkpoint of the whole log, stores it durably, and returns its size.
    fn sign_checkpoint(&mut self, key: &dyn Signer) -> Result<u64> {
        let size = self.segments.count;
        let checkpoint =
            Checkpoint { origin: self.config.log_id.clone(), size, root: self.tree.root(), extensions: vec![] };
        let mut note = sign_checkpoint(&checkpoint, key)?;
        let log_id = self.config.log_id.clone();
        if let Some(signer) = self.note_signer()? {
            note = add_note_signature(&note, &log_id, signer)?;
        }
        if let Err(e) = self.checkpoints.append(&self.fs, size, &note) {
            self.damaged = true;
            return Err(e);
        }
        self.recovery.unsealed_records = 0;
        Ok(size)
    }

    /// The log's Ed25519 note signer, when the log has a note key: the one attached,
    /// or the one its `note_key_file` holds (read once).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] when the key is in a token and none was
    /// attached, the log was not told where it is, or the file is not a regular
    /// file of at most 64 KiB; [`ErrorCode::Io`] when it cannot be read;
    /// [`ErrorCode::KeyMalformed`] when it holds no PEM Ed25519 private key;
    /// [`ErrorCode::KeyNotCurrent`] when it holds another key.
    fn note_signer(&mut self) -> Result<Option<&dyn NoteSigner>> {
        let Some(config) = &self.config.note_key else { return Ok(None) };
        if self.note_signer.is_none() {
            let key = read_note_key(config, &self.config.log_id)?;
            self.note_signer = Some(AttachedNoteKey(Box::new(key)));
        }
        Ok(self.note_signer.as_ref().map(|attached| &*attached.0 as &dyn NoteSigner))
    }

    /// The latest checkpoint, signing one of the whole log with `key` first when
    /// records came after it.
    fn checkpoint(&mut self, key: &dyn Signer) -> Result<StoredCheckpoint> {
        self.repair()?;
        self.complete_key_change(Some(key), None)?;
        if self.checkpoints.latest_size() != Some(self.segments.count) {
            let validity = self.current(key)?;
            // Its key must have been valid when the last record was made, as log
            // verification requires.
            if let Some(last) = self.chain.last_time() {
                validity.check(last).map_err(|e| {
                    Error::new(
                        ErrorCode::KeyNotCurrent,
                        format!("a checkpoint of the records so far cannot be signed with this key: {}", e.message()),
                    )
                })?;
            }
            let _commit = self.commit_lock(Wait::For(Duration::from_secs(60)))?;
            self.sign_checkpoint(key)?;
        }
        let mut latest =
            self.checkpoints.latest()?.ok_or_else(|| Error::new(ErrorCode::Internal, "no checkpoint after signing"))?;
        // Signed before the log had its note key: served with the note key's line
        // added (Ed25519 is deterministic: the same bytes each time), since a log
        // stores one checkpoint per size and witnesses need that line.
        let log_id = self.config.log_id.clone();
        if let Ok(Some(signer)) = self.note_signer() {
            latest.note = add_note_signature(&latest.note, &log_id, signer)?;
        }
        Ok(latest)
    }
}

impl Writer {
    /// Appends a key record signed by `key` at `time`, seals the log with a
    /// checkpoint `key` signs, and only then replaces keys.jwks: from the moment the
    /// record is stored the change is pending, and whatever fails after that, the
    /// next call (or opening the log) completes it (SPEC.md §23.3).
    fn record_key_change(&mut self, key: &dyn Signer, record: &KeyRecord, time: Timestamp) -> Result<()> {
        // The checkpoint sealing the key record needs the note key too: found
        // before the record is stored, in either mode.
        self.note_signer()?;
        let event = record.to_event();
        let options = AppendOptions { time: Some(time), idempotent: false };
        let events = [NewEvent { json: &event, nonce: None }];
        // A key record is of version 1: never erased, read by every verifier.
        let committed = self.commit(key, &events, vec![event.clone()], &options, RecordVersion::V1);
        match &committed {
            Ok(_) => {}
            // Stored, not sealed: pending until `key` seals it.
            Err(e) if e.code() == ErrorCode::RecordsUnsealed => {}
            Err(_) => return committed.map(drop),
        }
        self.pending_key_change = Some(PendingKeyChange { record: record.clone(), ours: true });
        committed?;
        if self.checkpoints.latest_size() != Some(self.segments.count) {
            let _commit = self.commit_lock(Wait::For(Duration::from_secs(60)))?;
            self.sign_checkpoint(key)?;
        }
        self.complete_key_change(Some(key), None)
    }

    /// Completes a pending key change: in batch mode its key record is sealed first,
    /// with a checkpoint only its signer (`key`) can sign, and one this process did
    /// not write only when `asked` is the same change; then keys.jwks is replaced.
    fn complete_key_change(&mut self, key: Option<&dyn Signer>, asked: Option<&KeyChange>) -> Result<()> {
        let Some(pending) = self.pending_key_change.clone() else { return Ok(()) };
        let signer = self.last_kid.clone().unwrap_or_default();
        // Another change asked for while this one is pending: neither is made.
        if asked.is_some_and(|asked| !self.same_change(asked, &pending.record.change)) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!(
                    "the log's last record is {} by {signer}, not yet complete: make that change again to complete it before another",
                    describe(&pending.record.change)
                ),
            ));
        }
        if self.config.mode == Mode::Batch && self.checkpoints.latest_size() != Some(self.segments.count) {
            // One this process did not write is taken only as the writer would have
            // made it: dated no later than the clock allows.
            let confirmed = pending.ours || (asked.is_some() && self.plausible(&pending.record)?);
            let key = key.filter(|key| key.public_key().kid() == signer);
            let (Some(key), true) = (key, confirmed) else {
                return Err(unsealed_key_change(&pending.record.change, &signer));
            };
            let _commit = self.commit_lock(Wait::For(Duration::from_secs(60)))?;
            self.sign_checkpoint(key)?;
        }
        let _commit = self.commit_lock(Wait::For(Duration::from_secs(60)))?;
        if let Err(e) = self.fs.replace(&self.dir, KEYS_FILE, pending.record.keys.to_json().as_bytes()) {
            // The new key history may be on disk even though a flush failed: the
            // next call reads back whichever it is, and completes the change again.
            self.damaged = true;
            return Err(e);
        }
        self.keys = pending.record.keys;
        self.pending_key_change = None;
        self.completed_key_change = Some(pending.record.change);
        Ok(())
    }

    /// Whether `asked` is the change `made`: a rotation between the same keys (its
    /// instant is the writer's), a revocation of the same key from the same instant
    /// (as a NumericDate holds it) with the same reason.
    fn same_change(&self, asked: &KeyChange, made: &KeyChange) -> bool {
        let thumbprint = |kid: &str| self.keys.select(Some(kid)).map(|(key, _)| key.kid().to_owned()).ok();
        match (asked, made) {
            (KeyChange::Rotate { from, to, .. }, KeyChange::Rotate { from: made_from, to: made_to, .. }) => {
                from == made_from && to == made_to
            }
            (
                KeyChange::Revoke { kid, at, reason },
                KeyChange::Revoke { kid: made_kid, at: made_at, reason: made_reason },
            ) => {
                thumbprint(kid).is_some()
                    && thumbprint(kid) == thumbprint(made_kid)
                    && at.as_numeric_date_at_or_before().ok() == Some(*made_at)
                    && reason == made_reason
            }
            _ => false,
        }
    }

    /// Whether a key record this process did not write is dated as a writer would
    /// have: its time (the log's last) not beyond what the clock allows, and a
    /// rotation's instant within a millisecond after it.
    fn plausible(&self, record: &KeyRecord) -> Result<bool> {
        let Some(time) = self.chain.last_time() else { return Ok(false) };
        let latest = self.now()?.shifted(evidentia::MAX_AHEAD_OF_CLOCK, false)?;
        Ok(time <= latest
            && match &record.change {
                KeyChange::Rotate { at, .. } => *at > time && *at <= time.shifted(Duration::from_millis(1), false)?,
                KeyChange::Revoke { .. } => true,
            })
    }

    /// Whether `asked` was the last thing the log recorded, completed.
    fn already_made(&self, asked: &KeyChange) -> bool {
        self.completed_key_change.as_ref().is_some_and(|made| self.same_change(asked, made))
    }

    /// Remembers a new key file in log.json, when there is one.
    fn remember(&mut self, config: Option<Config>) -> Result<()> {
        let Some(config) = config else { return Ok(()) };
        let _commit = self.commit_lock(Wait::For(Duration::from_secs(60)))?;
        self.fs.replace(&self.dir, CONFIG_FILE, &config.to_json())?;
        self.config = config;
        Ok(())
    }
}

/// A call refused while the log ends with a key record no checkpoint seals.
fn unsealed_key_change(change: &KeyChange, signer: &str) -> Error {
    Error::new(
        ErrorCode::KeyNotCurrent,
        format!(
            "the log ends with a key record ({}) that no checkpoint seals: if its key {signer} made it, make the same rotation or revocation again with that key to complete it; if not, someone with the files but without the key wrote it, and it must be removed before the log is used",
            describe(change)
        ),
    )
}

/// A key change in words, for messages.
fn describe(change: &KeyChange) -> String {
    match change {
        KeyChange::Rotate { from, to, .. } => format!("a rotation from {from} to {to}"),
        KeyChange::Revoke { kid, at, .. } => format!("a revocation of {kid} from {at}"),
    }
}

/// When the incoming key of a rotation whose key record has the time `time`
/// starts: strictly after it, since the key record is the outgoing key's last
/// record, at an instant a NumericDate (keys.jwks, SPEC.md §4.1) holds exactly:
/// the record's time, then 1 µs steps from it, until one's NumericDate is after
/// the record (doubles are at most 61 µs apart before the year 10000, so the steps
/// end).
pub(crate) fn handover(time: Timestamp) -> Result<Timestamp> {
    let mut step = 0;
    loop {
        let at = time.shifted(Duration::from_micros(step), false)?.as_numeric_date()?;
        if at > time {
            return Ok(at);
        }
        step += 1;
    }
}

/// The key record of `key`, a log's current key, revoking the key `kid` of the
/// log's key history `keys` from `at`.
pub(crate) fn revocation(
    keys: &KeySet,
    key: &dyn Signer,
    kid: &str,
    at: Timestamp,
    reason: Option<&str>,
) -> Result<KeyRecord> {
    let (revoked, _) = keys.select(Some(kid))?;
    if revoked == key.public_key() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "the log's current key cannot revoke itself: rotate to a new key first, then revoke this one with the new key",
        ));
    }
    KeyRecord::revoke(keys, revoked.kid(), at, reason)
}

/// One signature, checked with the key's public key, before a key becomes a log's
/// key: a key held elsewhere that cannot sign for the public key it was given (a
/// KMS key id paired with another key's JWK, a token whose public key object is not
/// the private key's) would otherwise leave records no one can ever seal.
pub(crate) fn check_signer(key: &dyn Signer) -> Result<()> {
    evidentia::checked_signature(key, b"evidentia: can this key sign for its public key?").map(drop)
}

thread_local! {
    /// The logs whose writer this thread holds (by address). A signer runs while
    /// its log is held; one that calls back into that log on the same thread gets
    /// an error instead of waiting for itself forever.
    static HELD: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The writer, held by this thread until dropped.
struct Held<'a> {
    guard: MutexGuard<'a, Writer>,
    id: usize,
}

impl std::ops::Deref for Held<'_> {
    type Target = Writer;
    fn deref(&self) -> &Writer {
        &self.guard
    }
}

impl std::ops::DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Writer {
        &mut self.guard
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        HELD.with(|held| {
            let mut held = held.borrow_mut();
            if let Some(at) = held.iter().rposition(|id| *id == self.id) {
                held.swap_remove(at);
            }
        });
    }
}

impl Log {
    /// Creates a new, empty log in `dir` (created if missing, and which must not
    /// already hold a log) whose first key is `key`, valid from now (or from
    /// `options.key_valid_from`).
    ///
    /// # Errors
    /// [`ErrorCode::LogExists`], [`ErrorCode::LogIdInvalid`], [`ErrorCode::LogLocked`],
    /// [`ErrorCode::Io`]; [`ErrorCode::SignerFailed`] (or the signer's own code) when
    /// `key` cannot sign for its public key.
    pub fn create(dir: &Path, key: &dyn Signer, options: CreateOptions) -> Result<Log> {
        check_signer(key)?;
        let fs = Fs::new(options.options.faults.clone());
        let log_id = match options.log_id {
            Some(id) => id,
            None => random_log_id()?,
        };
        evidentia::validate_new_log_id(&log_id)?;
        validate_index_fields(&options.index_fields)?;
        let exists = || match dir.join(CONFIG_FILE).exists() {
            true => Err(Error::new(ErrorCode::LogExists, format!("a log already exists at {}", dir.display()))),
            false => Ok(()),
        };
        exists()?;
        fs.create_dir_all(dir)?;
        // Checked again under the lock: two processes creating the same log must not
        // both succeed.
        let lock = lock_exclusive(&fs, &dir.join(WRITER_LOCK), options.options.wait, &busy(dir))?;
        exists()?;
        fs.create_folder(&dir.join(SEGMENTS_DIR))?;
        let mut keys = KeySet::new();
        let valid_from = match options.key_valid_from {
            Some(time) => time,
            None => options.options.clock.map_or_else(now, Ok)?,
        };
        keys.add(key.public_key(), Validity { not_before: Some(valid_from), ..Validity::default() })?;
        let config = Config {
            log_id,
            mode: options.mode,
            key_file: options.key_file,
            index_fields: options.index_fields,
            note_key: None,
            record_version: options.record_version.unwrap_or(DEFAULT_RECORD_VERSION),
        };
        fs.replace(dir, KEYS_FILE, keys.to_json().as_bytes())?;
        // The configuration is written last: a log exists once it is there.
        fs.replace(dir, CONFIG_FILE, &config.to_json())?;
        Log::open_locked(dir, fs, lock, &options.options)
    }

    /// Opens an existing log for appending, repairing what a crash may have left
    /// (SPEC.md §16): an incompletely written last entry or checkpoint is cut off
    /// and reported in [`Log::recovery`], and the derived files are brought up to
    /// date from the entries. Damage to complete entries is never cut: it is an
    /// error, and the log is left as it is.
    ///
    /// # Errors
    /// [`ErrorCode::LogNotFound`], [`ErrorCode::LogLocked`], [`ErrorCode::LogConfigInvalid`],
    /// [`ErrorCode::LogCorrupt`], [`ErrorCode::Io`].
    pub fn open(dir: &Path) -> Result<Log> {
        Log::open_with(dir, &LogOptions::default())
    }

    /// [`Log::open`] with options: how long to wait for another writer.
    ///
    /// # Errors
    /// As [`Log::open`].
    pub fn open_with(dir: &Path, options: &LogOptions) -> Result<Log> {
        let fs = Fs::new(options.faults.clone());
        Config::read(dir)?;
        let lock = lock_exclusive(&fs, &dir.join(WRITER_LOCK), options.wait, &busy(dir))?;
        Log::open_locked(dir, fs, lock, options)
    }

    fn open_locked(dir: &Path, fs: Fs, lock: File, options: &LogOptions) -> Result<Log> {
        let commit =
            lock_exclusive(&fs, &dir.join(COMMIT_LOCK), Wait::For(Duration::from_secs(60)), "the log is being read")?;
        let mut writer = recovery::open_writer(&fs, dir)?;
        if writer.recovery.repaired() {
            crate::metrics::recovered(&writer.config.log_id);
        }
        writer.lock_id = FileId::of_file(&lock);
        writer.clock = options.clock;
        writer.salt_seed = options.salt_seed;
        // An erasure a crash interrupted is finished before anything else.
        writer.finish_erasure()?;
        drop(commit);
        Ok(Log { dir: dir.to_owned(), writer: Mutex::new(writer), _lock: lock })
    }

    fn writer(&self) -> Result<Held<'_>> {
        let id = std::ptr::from_ref(self) as usize;
        if HELD.with(|held| held.borrow().contains(&id)) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "the log was used from inside a signer signing for it, which would wait for itself: a signer must not use the log it signs for",
            ));
        }
        let guard =
            self.writer.lock().map_err(|_| Error::new(ErrorCode::Internal, "a thread panicked while appending"))?;
        HELD.with(|held| held.borrow_mut().push(id));
        Ok(Held { guard, id })
    }

    /// The log id.
    pub fn log_id(&self) -> String {
        self.writer.lock().map(|w| w.config.log_id.clone()).unwrap_or_default()
    }

    /// How records are signed.
    pub fn mode(&self) -> Mode {
        self.writer.lock().map(|w| w.config.mode).unwrap_or_default()
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log's key history (after a failed rotation, read back from the disk:
    /// it tells whether the rotation took effect).
    pub fn keys(&self) -> KeySet {
        let Ok(mut writer) = self.writer.lock() else { return KeySet::default() };
        let _ = writer.repair();
        // A pending key change that needs no signature (to seal it) is completed.
        let _ = writer.complete_key_change(None, None);
        writer.keys.clone()
    }

    /// Where the log's signing key is kept, if the log was told.
    pub fn key_file(&self) -> Option<PathBuf> {
        self.writer.lock().ok().and_then(|w| w.config.key_file.clone())
    }

    /// The log's Ed25519 note key (its vkey), when its checkpoints carry that
    /// signature beside the ECDSA one (SPEC §10.1).
    pub fn note_vkey(&self) -> Option<String> {
        self.writer.lock().ok().and_then(|w| w.config.note_key.as_ref().map(|k| k.vkey.clone()))
    }

    /// Where the log's note key is kept, if the log was told: a file, or a
    /// `pkcs11:` URI of a key in a token, which must be attached ([`Log::use_note_key`]).
    pub fn note_key_file(&self) -> Option<PathBuf> {
        self.writer.lock().ok().and_then(|w| w.config.note_key.as_ref().and_then(|k| k.key_file.clone()))
    }

    /// Gives the log an Ed25519 note key: from now on every checkpoint it signs
    /// carries that key's signature line too, as C2SP signed notes and public
    /// witnesses require. `key_file` (a PKCS#8 PEM file, or a `pkcs11:` URI) is
    /// remembered in log.json; a key in a file is read from it when the log is
    /// opened again, a key in a token must be attached with [`Log::use_note_key`].
    /// Giving the same key again only updates where it is kept. Returns the vkey.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] when the log has another note key: witnesses
    /// know a log by its key, so it is never replaced; [`ErrorCode::KeyMalformed`]
    /// when the log id cannot be a key name; [`ErrorCode::SignerFailed`] when
    /// `signer` cannot sign for its public key; [`ErrorCode::Io`].
    pub fn set_note_key(&self, signer: Box<dyn NoteSigner + Send>, key_file: Option<PathBuf>) -> Result<String> {
        check_note_signer(&*signer)?;
        let mut guard = self.writer()?;
        let writer = &mut *guard;
        writer.repair()?;
        let vkey = note_log_key(&writer.config.log_id, &*signer)?.to_vkey();
        if let Some(existing) = writer.config.note_key.as_ref().filter(|k| k.vkey != vkey) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!(
                    "the log has note key {} already; witnesses know it by that key, so it is not replaced",
                    existing.vkey
                ),
            ));
        }
        let config = Config { note_key: Some(NoteKeyConfig { vkey: vkey.clone(), key_file }), ..writer.config.clone() };
        writer.remember(Some(config))?;
        writer.note_signer = Some(AttachedNoteKey(signer));
        Ok(vkey)
    }

    /// Attaches the log's Ed25519 note key for as long as the log is open (a key
    /// in a token, or one log.json does not say where to find).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] when the log has no note key;
    /// [`ErrorCode::KeyNotCurrent`] when `signer` holds another key;
    /// [`ErrorCode::SignerFailed`] when it cannot sign for its public key.
    pub fn use_note_key(&self, signer: Box<dyn NoteSigner + Send>) -> Result<()> {
        check_note_signer(&*signer)?;
        let mut writer = self.writer()?;
        let config = writer.config.note_key.clone().ok_or_else(|| {
            Error::new(ErrorCode::InvalidArgument, "the log has no note key: give it one with set_note_key")
        })?;
        check_note_key(&config, &writer.config.log_id, &*signer)?;
        writer.note_signer = Some(AttachedNoteKey(signer));
        Ok(())
    }

    /// What opening the log found and repaired.
    pub fn recovery(&self) -> Recovery {
        self.writer.lock().map(|w| w.recovery.clone()).unwrap_or_default()
    }

    /// How many records the log holds.
    pub fn len(&self) -> u64 {
        self.writer.lock().map(|w| w.segments.count).unwrap_or(0)
    }

    /// Whether the log holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends an event (JSON text) signed by `key`, stamped with the current time.
    /// Returns once the record is on stable storage.
    ///
    /// If the clock has stepped back since the last record (or since the key became
    /// valid), the record carries that later time instead, so that times in a log
    /// never go backwards.
    ///
    /// # Errors
    /// `Json*` codes for an event that is not valid JSON; [`ErrorCode::NonceInUse`]
    /// for a nonce the log holds already; [`ErrorCode::EntryTooLarge`];
    /// [`ErrorCode::KeyNotCurrent`] when `key` is not the log's current key;
    /// [`ErrorCode::RecordsUnsealed`] in batch mode when the record is stored but its
    /// checkpoint could not be written; [`ErrorCode::Io`].
    pub fn append(&self, key: &dyn Signer, event: &[u8], nonce: Option<&str>) -> Result<Appended> {
        let mut appended = self.append_events(key, &[NewEvent { json: event, nonce }], &AppendOptions::default())?;
        appended.pop().ok_or_else(|| Error::new(ErrorCode::Internal, "an append returned nothing"))
    }

    /// Appends several events with one flush to stable storage (group commit) and,
    /// in batch mode, one signed checkpoint. All are appended, or none. `time`
    /// overrides the clock (see [`AppendOptions::time`]).
    ///
    /// # Errors
    /// As [`Log::append`]; [`ErrorCode::TimeRefused`] for a refused `time`.
    pub fn append_batch(
        &self,
        key: &dyn Signer,
        events: &[NewEvent<'_>],
        time: Option<Timestamp>,
    ) -> Result<Vec<Appended>> {
        self.append_events(key, events, &AppendOptions { time, idempotent: false })
    }

    /// Appends several events as [`Log::append_batch`] does, with options.
    ///
    /// # Errors
    /// As [`Log::append_batch`].
    pub fn append_events(
        &self,
        key: &dyn Signer,
        events: &[NewEvent<'_>],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>> {
        let canonical = events
            .iter()
            .enumerate()
            .map(|(i, e)| canonical_event(e.json).map_err(|err| Error::new(err.code(), format!("event {i}: {err}"))))
            .collect::<Result<Vec<_>>>()?;
        let version = self.writer()?.config.record_version;
        self.writer()?.commit(key, events, canonical, options, version)
    }

    /// Appends the events up to the first one that is not valid JSON, as
    /// [`Log::append_batch`] does, and says which event stopped it, if one did. It
    /// appends fewer, with none invalid, when they do not fit one commit (256 MiB
    /// framed): append the rest with another call.
    ///
    /// # Errors
    /// As [`Log::append_batch`], for everything but invalid events.
    pub fn append_valid_prefix(
        &self,
        key: &dyn Signer,
        events: &[NewEvent<'_>],
        time: Option<Timestamp>,
    ) -> Result<PrefixAppended> {
        let (canonical, invalid) = valid_prefix(events);
        let appended = if canonical.is_empty() {
            Vec::new()
        } else {
            let options = AppendOptions { time, idempotent: false };
            let version = self.writer()?.config.record_version;
            self.writer()?.commit(key, &events[..canonical.len()], canonical, &options, version)?
        };
        Ok(PrefixAppended { appended, invalid })
    }

    /// Moves every sealed segment file (all but the one being written) to the
    /// archive folder `to` (SPEC §16.1), listing each in `archive.json` with its size
    /// and SHA-256. Records stay provable and appends go on without the archive;
    /// reading or verifying archived records needs it, and a missing or changed
    /// archive file is then an error ([`ErrorCode::LogCorrupt`]), never a gap. A log
    /// archives into one folder.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for another folder than the log archived into
    /// before; [`ErrorCode::LogCorrupt`] when a segment differs from its archived
    /// copy; [`ErrorCode::Io`].
    pub fn archive(&self, to: &Path) -> Result<crate::Archived> {
        let writer = self.writer()?;
        crate::archive::archive(&writer.fs, &self.dir, to, || writer.commit_lock(Wait::For(Duration::from_secs(60))))
    }

    /// The latest signed checkpoint, signing a new one with `key` first if records
    /// were appended since (or none exists). This also seals records a failed
    /// batch append left unsealed. When the log has a note key, the checkpoint
    /// carries its line, also one stored before the log had the key.
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotCurrent`] when `key` is not the log's current key; a key
    /// validity code when `key` was not valid at the last record's time;
    /// [`ErrorCode::Io`].
    pub fn checkpoint(&self, key: &dyn Signer) -> Result<StoredCheckpoint> {
        self.writer()?.checkpoint(key)
    }

    /// Rotates the signing key: `current` signs a key record (SPEC.md §23) that
    /// hands over to `new_key` and a checkpoint of the records made under it, then
    /// stops being valid, and `new_key` becomes valid from that moment on. Records
    /// signed before keep verifying.
    ///
    /// Once the key record is stored the rotation is made: whatever fails after it
    /// (a checkpoint the signer could not sign, a file that could not be written),
    /// the next call or opening the log completes it, and calling `rotate` again
    /// with the same keys succeeds without a second key record. In batch mode a key
    /// record left unsealed is sealed by `current` at its next call; other keys get
    /// [`ErrorCode::KeyNotCurrent`] until then.
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotCurrent`] when `current` is not the log's current key;
    /// [`ErrorCode::KeySetMalformed`] when `new_key` was used by this log before;
    /// [`ErrorCode::SignerFailed`] (or the signer's own code) when `new_key` cannot
    /// sign for its public key, or `current` could not sign; [`ErrorCode::RecordsUnsealed`];
    /// [`ErrorCode::Io`]. After an error [`Log::keys`] says which key is current.
    pub fn rotate(&self, current: &dyn Signer, new_key: &dyn Signer, new_key_file: Option<PathBuf>) -> Result<()> {
        check_signer(new_key)?;
        let mut guard = self.writer()?;
        let writer = &mut *guard;
        writer.repair()?;
        let asked = KeyChange::Rotate {
            from: current.public_key().kid().to_owned(),
            to: new_key.public_key().kid().to_owned(),
            at: Timestamp::from_unix(0, 0)?,
        };
        writer.complete_key_change(Some(current), Some(&asked))?;
        let config = new_key_file.map(|file| Config { key_file: Some(file), ..writer.config.clone() });
        if writer.already_made(&asked) {
            // Asked again after it was made (its key record is the log's last record).
            return writer.remember(config);
        }
        let validity = writer.current(current)?;
        let time = writer.time_for(None, &validity)?;
        let record = KeyRecord::rotate(&writer.keys, current.public_key(), new_key.public_key(), handover(time)?)?;
        writer.record_key_change(current, &record, time)?;
        writer.remember(config)
    }

    /// Revokes the key `kid` of the log's key history from `at` on, with a reason
    /// such as `keyCompromise`: `key`, the log's current key, signs a key record
    /// (SPEC.md §23) saying so, and from then on evidence signed by `kid` claiming a
    /// time at or after `at` is refused, including this log's own records.
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotCurrent`] when `key` is not the log's current key;
    /// [`ErrorCode::KeyNotFound`] when the log has no key `kid`;
    /// [`ErrorCode::InvalidArgument`] when `kid` is the current key (rotate first),
    /// is revoked already, or the reason is empty or longer than 1 KiB;
    /// [`ErrorCode::Io`], after which [`Log::keys`] says whether it took effect.
    pub fn revoke(&self, key: &dyn Signer, kid: &str, at: Timestamp, reason: Option<&str>) -> Result<()> {
        let mut guard = self.writer()?;
        let writer = &mut *guard;
        writer.repair()?;
        let asked = KeyChange::Revoke { kid: kid.to_owned(), at, reason: reason.map(str::to_owned) };
        writer.complete_key_change(Some(key), Some(&asked))?;
        let validity = writer.current(key)?;
        if writer.already_made(&asked) {
            // Asked again after it was made (its key record is the log's last record).
            return Ok(());
        }
        let record = revocation(&writer.keys, key, kid, at, reason)?;
        let time = writer.time_for(None, &validity)?;
        writer.record_key_change(key, &record, time)
    }

    /// Erases the event of record `seq` and its salt (SPEC.md §27): `key`, the
    /// log's current key, signs an erasure record naming the record and `reason`,
    /// then every copy of the event in the log's files is overwritten or removed.
    /// The record, its receipt, every proof and checkpoint stay valid, and `log
    /// verify` reports the record as erased. Returns the erasure record's
    /// acknowledgement.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a record the log does not have or a
    /// reason that is empty, over 1024 bytes or holds a control character;
    /// [`ErrorCode::RecordErased`] when it was erased already;
    /// [`ErrorCode::ErasureRefused`] for a version-1 record, a key or erasure
    /// record, or one under a legal hold; the errors of [`Log::append`].
    pub fn erase(&self, key: &dyn Signer, seq: u64, reason: &str) -> Result<Appended> {
        let mut writer = self.writer()?;
        writer.repair()?;
        writer.erase(key, seq, reason)
    }

    /// Sets a legal hold on record `seq`: its event cannot be erased until the hold
    /// is released. Holding a held record again replaces its reason.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a record the log does not have or a
    /// reason that is empty, over 1024 bytes or holds a control character.
    pub fn hold(&self, seq: u64, reason: &str) -> Result<()> {
        let mut writer = self.writer()?;
        writer.repair()?;
        writer.hold(seq, reason)
    }

    /// Releases the legal hold on record `seq`; whether there was one.
    ///
    /// # Errors
    /// [`ErrorCode::Io`], or [`ErrorCode::LogCorrupt`] for a damaged holds file.
    pub fn release(&self, seq: u64) -> Result<bool> {
        let mut writer = self.writer()?;
        writer.release(seq)
    }

    /// The log's legal holds, by sequence number.
    ///
    /// # Errors
    /// [`ErrorCode::Io`], or [`ErrorCode::LogCorrupt`] for a damaged holds file.
    pub fn holds(&self) -> Result<Vec<Hold>> {
        crate::erasure::read_holds(&self.dir)
    }

    fn read<T>(&self, read: impl FnOnce(&View<'_>) -> Result<T>) -> Result<T> {
        let mut writer = self.writer()?;
        writer.repair()?;
        read(&writer.view())
    }

    /// The entry with sequence number `seq`.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] beyond the log; [`ErrorCode::LogCorrupt`].
    pub fn entry(&self, seq: u64) -> Result<Entry> {
        self.read(|view| view.entry(seq))
    }

    /// The salt of record `seq`'s event (see [`crate::LogReader::salt`]), from the
    /// open log.
    ///
    /// # Errors
    /// As [`crate::LogReader::salt`].
    pub fn salt(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        self.read(|view| view.salt(seq))
    }

    /// What a holder of record `seq` needs to verify it offline (see
    /// [`crate::LogReader::receipt`]), from the open log.
    ///
    /// # Errors
    /// As [`crate::LogReader::receipt`].
    pub fn receipt(&self, seq: u64) -> Result<String> {
        self.read(|view| view.receipt(seq))
    }

    /// As [`Log::receipt`], for a log rotated before rotations sealed the retiring
    /// key's records: when no stored checkpoint signed by record `seq`'s own key
    /// covers it, `key` (that key, retired or not) signs a checkpoint of the records
    /// it signed for the batch receipt. The log holds the records, so the writer's
    /// repaired state is what is signed; nothing is stored.
    ///
    /// # Errors
    /// As [`Log::receipt`]; [`ErrorCode::InvalidArgument`] when `key` did not sign
    /// the record.
    pub fn receipt_sealed_by(&self, seq: u64, key: &dyn Signer) -> Result<String> {
        let mut writer = self.writer()?;
        writer.repair()?;
        // A key record no checkpoint seals must not be signed into a checkpoint here
        // either (SPEC.md §23.3): it is completed by its signer asking again.
        if let Some(pending) = &writer.pending_key_change {
            return Err(unsealed_key_change(&pending.record.change, writer.last_kid.as_deref().unwrap_or_default()));
        }
        writer.view().receipt_sealed_by(seq, key)
    }

    /// The inclusion proof of record `index` (see [`crate::LogReader::inclusion_proof`]).
    ///
    /// # Errors
    /// As [`crate::LogReader::inclusion_proof`].
    pub fn inclusion_proof(&self, index: u64, size: Option<u64>) -> Result<InclusionProof> {
        self.read(|view| view.inclusion_proof(index, size))
    }

    /// The consistency proof between two sizes (see [`crate::LogReader::consistency_proof`]).
    ///
    /// # Errors
    /// As [`crate::LogReader::consistency_proof`].
    pub fn consistency_proof(&self, old: u64, new: Option<u64>) -> Result<ConsistencyProof> {
        self.read(|view| view.consistency_proof(old, new))
    }

    /// The root hash of the first `size` records.
    ///
    /// # Errors
    /// As [`crate::LogReader::root`].
    pub fn root(&self, size: u64) -> Result<Hash> {
        self.read(|view| view.root(size))
    }

    /// The sequence number of the record holding `nonce`, if one does.
    ///
    /// # Errors
    /// [`ErrorCode::LogCorrupt`], [`ErrorCode::Io`].
    pub fn find_nonce(&self, nonce: &str) -> Result<Option<u64>> {
        self.read(|view| view.find_nonce(nonce))
    }

    /// The sequence numbers of the records whose event holds `value` in the indexed
    /// payload field `field` (see [`crate::LogReader::find`]), ascending.
    ///
    /// # Errors
    /// As [`crate::LogReader::find`].
    pub fn find(&self, field: &str, value: &str) -> Result<Vec<u64>> {
        let mut writer = self.writer()?;
        writer.repair()?;
        let found = writer.view().find(field, value)?;
        // A chain the store does not write (the lookup read the records instead):
        // the field index is built anew.
        if writer.fields.as_ref().is_some_and(FieldIndex::inconsistent) {
            writer.rebuild_field_index()?;
        }
        Ok(found)
    }

    /// The payload fields the log indexes.
    pub fn index_fields(&self) -> Vec<String> {
        self.writer.lock().map(|w| w.config.index_fields.clone()).unwrap_or_default()
    }

    /// Indexes one more payload field (1 to 64 bytes of printable ASCII; at most 16
    /// fields a log): `log.json` names it, and the field index is built anew from
    /// the stored events (one pass over the log), so that [`Log::find`] finds
    /// records appended before as well as after.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a bad name, one the log indexes already,
    /// or a 17th field; [`ErrorCode::LogCorrupt`], [`ErrorCode::Io`] (after which
    /// [`Log::index_fields`] says whether the field was added: the next call or
    /// opening builds its index).
    pub fn add_index_field(&self, name: &str) -> Result<()> {
        self.writer()?.add_index_field(name)
    }

    /// The newest stored checkpoint.
    ///
    /// # Errors
    /// [`ErrorCode::Io`] when it cannot be read.
    pub fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.read(|view| view.checkpoints.latest())
    }
}

impl Drop for Log {
    /// Flushes the derived files, so that the next open has nothing to rebuild.
    fn drop(&mut self) {
        if let Ok(writer) = self.writer.get_mut()
            && !writer.damaged
            && writer.durable.entries != writer.segments.count
        {
            let _ = writer.flush_derived();
        }
    }
}

/// An event as the log stores it, canonical, and refused if it is a signed message
/// that does not check out as recorded (core's gate, SPEC.md §21.1): every append
/// path passes through here, once.
fn canonical_event(json: &[u8]) -> Result<Vec<u8>> {
    evidentia::prepare_event(json)
}

/// The canonical forms of `events` up to the first that is not valid JSON (named
/// in the second value), and of no more than fit one commit (a log folder's,
/// which is also within a PostgreSQL log's): the rest go into the next.
pub(crate) fn valid_prefix(events: &[NewEvent<'_>]) -> (Vec<Vec<u8>>, Option<InvalidEvent>) {
    let mut canonical = Vec::with_capacity(events.len());
    let mut bytes = 0;
    for (position, event) in events.iter().enumerate() {
        match canonical_event(event.json) {
            Ok(event) if !canonical.is_empty() && bytes + event.len() + ENTRY_OVERHEAD > MAX_GROUP_BYTES => break,
            Ok(event) => {
                bytes += event.len() + ENTRY_OVERHEAD;
                canonical.push(event);
            }
            Err(error) => return (canonical, Some(InvalidEvent { position, error })),
        }
    }
    (canonical, None)
}

fn busy(dir: &Path) -> String {
    format!("the log at {} is open for writing by another process", dir.display())
}

/// The log's Ed25519 note key read from the file log.json names, checked to be
/// the key it names.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] when the key is kept in a token or nowhere said,
/// or its file cannot be read; [`ErrorCode::KeyMalformed`] when it holds no PEM
/// Ed25519 private key; [`ErrorCode::KeyNotCurrent`] when it holds another key.
pub(crate) fn read_note_key(config: &NoteKeyConfig, log_id: &str) -> Result<NoteKey> {
    let path = config.key_file.as_ref().filter(|path| !is_token_uri(path)).ok_or_else(|| {
        let kept = match &config.key_file {
            Some(uri) => format!("is kept in a token ({})", uri.display()),
            None => "is kept where the log does not say".to_owned(),
        };
        Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "the log signs its checkpoints with Ed25519 note key {} too, which {kept}: attach it \
                 (Log::use_note_key), or tell the log where it is (evidentia log note-key DIR --key FILE)",
                config.vkey
            ),
        )
    })?;
    let refused = |e: Error| {
        let code = if e.code() == ErrorCode::Io { ErrorCode::Io } else { ErrorCode::InvalidArgument };
        Error::new(code, format!("the note key file {}: {}", path.display(), e.message()))
    };
    let pem = crate::fsio::read_regular(path, 1 << 16)
        .map_err(refused)?
        .ok_or_else(|| Error::new(ErrorCode::Io, format!("the note key file {} does not exist", path.display())))?;
    let pem = String::from_utf8(pem)
        .map_err(|_| Error::new(ErrorCode::KeyMalformed, "the note key file is not UTF-8 text"))?;
    let key =
        NoteKey::from_pem(&pem).map_err(|e| Error::new(e.code(), format!("{}: {}", path.display(), e.message())))?;
    check_note_key(config, log_id, &key)?;
    Ok(key)
}
