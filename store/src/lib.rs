//! Evidence logs on the local disk: crash-safe, append-only, with a Merkle tree
//! index for O(log n) proofs. This crate is the only place where Evidentia touches
//! files or reads the clock; everything it stores is made and checked by the
//! `evidentia` core.
//!
//! A log directory holds (SPEC.md §13 has the byte layout):
//! - `log.json`: the log's id, signing mode and key file;
//! - `keys.jwks`: the history of the log's public keys with their validity;
//! - `segments/*.seg`: the entries, framed and checksummed, appended and flushed to
//!   stable storage before an append returns;
//! - `checkpoints.log`: every signed checkpoint, framed;
//! - `timestamps/`: RFC 3161 timestamps of checkpoints, with their certificate chains;
//! - `tree`, `index`: the Merkle tree's node hashes and an entry index, derived from
//!   the segments and rebuilt from them when needed;
//! - `.lock`: held by the one process that writes the log.
#![forbid(unsafe_code)]

mod frame;
mod package;
mod segments;
mod timestamps;
mod tree;

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{SystemTime, UNIX_EPOCH};

use evidentia::json::{Number, Value, parse};
use evidentia::merkle::{self, Hash, NodeSource, leaf_hash};
use evidentia::{
    BatchReceipt, ChainState, Checkpoint, ConsistencyProof, Digest, Error, ErrorCode, InclusionProof, KeySet,
    LogVerifier, LogVerifyOptions, PreparedCheckpoint, PreparedEntry, Receipt, Record, Report, Result, SigningKey,
    Timestamp, Validity, read_checkpoint, sign_checkpoint,
};

pub use package::{export_package, read_package};
pub use segments::{Entry, EntryRef, Recovery};
use segments::{Segment, SegmentWriter};
pub use timestamps::{StoredTimestamp, attach_timestamp};
use tree::TreeFile;

const CONFIG_FILE: &str = "log.json";
const KEYS_FILE: &str = "keys.jwks";
const SEGMENTS_DIR: &str = "segments";
const CHECKPOINTS_FILE: &str = "checkpoints.log";
const TREE_FILE: &str = "tree";
const INDEX_FILE: &str = "index";
const LOCK_FILE: &str = ".lock";
const FORMAT: &str = "evidentia-log";
const FORMAT_VERSION: u32 = 1;
/// Entries handed to a verification worker at a time.
const CHUNK: usize = 1024;

pub(crate) fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::new(ErrorCode::Io, format!("cannot {what} {}: {e}", path.display()))
}

#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(unix)]
pub(crate) fn write_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
pub(crate) fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(windows)]
pub(crate) fn write_at(file: &File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, buf, offset)?;
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error("flush directory", dir, &e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The current time from the system clock.
///
/// # Errors
/// [`ErrorCode::Internal`] when the clock is before 1970 or beyond 9999.
pub fn now() -> Result<Timestamp> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::new(ErrorCode::Internal, "the system clock is set before 1970"))?;
    Timestamp::from_unix(since.as_secs() as i64, since.subsec_nanos())
}

/// How a log's records are signed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Every record is signed on its own: each append returns a receipt (a JWS).
    #[default]
    Receipts,
    /// Records are appended unsigned and each batch of appends is sealed by one
    /// signed checkpoint; batch receipts (record, inclusion proof, checkpoint) are
    /// made from the log on demand.
    Batch,
}

impl Mode {
    /// `receipts` or `batch`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Receipts => "receipts",
            Mode::Batch => "batch",
        }
    }

    /// The mode with this name.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for other names.
    pub fn from_name(name: &str) -> Result<Mode> {
        match name {
            "receipts" => Ok(Mode::Receipts),
            "batch" => Ok(Mode::Batch),
            _ => Err(Error::new(ErrorCode::InvalidArgument, "the signing mode is 'receipts' or 'batch'")),
        }
    }
}

/// Settings for a new log.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// The log id; a random one (`evidentia/<32 hex digits>`) when `None`.
    pub log_id: Option<String>,
    /// Where the signing key is kept, remembered so that later appends find it.
    pub key_file: Option<PathBuf>,
    /// How records are signed.
    pub mode: Mode,
}

#[derive(Clone, Debug)]
struct Config {
    log_id: String,
    mode: Mode,
    key_file: Option<PathBuf>,
}

impl Config {
    fn to_json(&self) -> Vec<u8> {
        let mut members = vec![
            ("format", Value::from(FORMAT)),
            ("log_id", Value::from(self.log_id.as_str())),
            ("mode", Value::from(self.mode.name())),
            ("version", Value::from(FORMAT_VERSION)),
        ];
        if let Some(key_file) = &self.key_file {
            members.push(("key_file", Value::from(key_file.to_string_lossy().into_owned())));
        }
        let mut bytes = evidentia::canonicalize_value(&Value::object(members)).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    fn read(dir: &Path) -> Result<Config> {
        let path = dir.join(CONFIG_FILE);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorCode::LogNotFound,
                    format!("no log at {} (no {CONFIG_FILE})", dir.display()),
                ));
            }
            Err(e) => return Err(io_error("read", &path, &e)),
        };
        let invalid = |what: &str| Error::new(ErrorCode::LogConfigInvalid, format!("{}: {what}", path.display()));
        let value = parse(&bytes).map_err(|e| invalid(&format!("not valid JSON: {e}")))?;
        if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(invalid("not an Evidentia log configuration"));
        }
        if value.get("version").and_then(Value::as_number).and_then(Number::as_safe_u64)
            != Some(u64::from(FORMAT_VERSION))
        {
            return Err(invalid("unsupported log format version"));
        }
        let log_id = value.get("log_id").and_then(Value::as_str).ok_or_else(|| invalid("no 'log_id'"))?;
        evidentia::validate_log_id(log_id).map_err(|e| invalid(e.message()))?;
        let mode = value.get("mode").and_then(Value::as_str).ok_or_else(|| invalid("no 'mode'"))?;
        let mode = Mode::from_name(mode).map_err(|e| invalid(e.message()))?;
        let key_file = match value.get("key_file") {
            None => None,
            Some(Value::String(path)) => Some(PathBuf::from(path)),
            Some(_) => return Err(invalid("'key_file' is not a string")),
        };
        Ok(Config { log_id: log_id.to_owned(), mode, key_file })
    }
}

/// Writes a file and flushes it to disk.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).map_err(|e| io_error("create", path, &e))?;
    std::io::Write::write_all(&mut file, bytes).map_err(|e| io_error("write", path, &e))?;
    file.sync_all().map_err(|e| io_error("flush", path, &e))
}

/// Replaces a file atomically: write a temporary file, flush it, rename it over.
fn replace_durably(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let temporary = dir.join(format!(".{name}.tmp"));
    write_durably(&temporary, bytes)?;
    let target = dir.join(name);
    fs::rename(&temporary, &target).map_err(|e| io_error("replace", &target, &e))?;
    sync_dir(dir)
}

fn random_log_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| Error::new(ErrorCode::Internal, "the system random source failed"))?;
    Ok(format!("evidentia/{}", evidentia::encoding::hex(&bytes)))
}

fn read_keys(dir: &Path) -> Result<KeySet> {
    let path = dir.join(KEYS_FILE);
    let text = fs::read_to_string(&path).map_err(|e| io_error("read", &path, &e))?;
    KeySet::from_json(&text).map_err(|e| Error::new(e.code(), format!("{}: {e}", path.display())))
}

fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_error("open", &path, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::new(
            ErrorCode::LogLocked,
            format!("the log at {} is open for writing by another process", dir.display()),
        )),
        Err(fs::TryLockError::Error(e)) => Err(io_error("lock", &path, &e)),
    }
}

/// A signed checkpoint stored with the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The number of records it covers.
    pub size: u64,
    /// The signed note.
    pub note: String,
}

/// Reads the checkpoints file: its checkpoints in order, where the valid ones end,
/// and whether bytes after them are an incomplete write.
fn read_checkpoints(path: &Path) -> Result<(Vec<StoredCheckpoint>, usize, frame::Tail)> {
    let data = match fs::read(path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_error("read", path, &e)),
    };
    let scan = frame::scan(&data);
    let mut checkpoints = Vec::with_capacity(scan.frames.len());
    for (_, range) in &scan.frames {
        let note = std::str::from_utf8(&data[range.clone()])
            .map_err(|_| Error::new(ErrorCode::LogCorrupt, format!("{}: a checkpoint is not text", path.display())))?;
        let size = read_checkpoint(note)?.size;
        checkpoints.push(StoredCheckpoint { size, note: note.to_owned() });
    }
    Ok((checkpoints, scan.end, scan.tail))
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
}

impl Appended {
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

/// One event to append: its JSON text and an optional nonce.
#[derive(Clone, Copy, Debug)]
pub struct NewEvent<'a> {
    /// The event as JSON text (any formatting; it is stored canonical).
    pub json: &'a [u8],
    /// A nonce to bind into the record.
    pub nonce: Option<&'a str>,
}

#[derive(Debug)]
struct Writer {
    config: Config,
    keys: KeySet,
    chain: ChainState,
    segments: SegmentWriter,
    tree: TreeFile,
    checkpoints: File,
    latest_checkpoint: Option<StoredCheckpoint>,
    recovery: Recovery,
    /// Set when a failed write left the files in a state only reopening resolves.
    poisoned: bool,
}

/// A log opened for appending. Only one process at a time may hold it; within the
/// process, any number of threads may append at once.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    writer: Mutex<Writer>,
    _lock: File,
}

impl Log {
    /// Creates a new, empty log in `dir` (created if missing, and which must not
    /// already hold a log) whose first key is `key`, valid from now.
    ///
    /// # Errors
    /// [`ErrorCode::LogExists`], [`ErrorCode::LogIdInvalid`], [`ErrorCode::Io`].
    pub fn create(dir: &Path, key: &SigningKey, options: CreateOptions) -> Result<Log> {
        if dir.join(CONFIG_FILE).exists() {
            return Err(Error::new(ErrorCode::LogExists, format!("a log already exists at {}", dir.display())));
        }
        let log_id = match options.log_id {
            Some(id) => id,
            None => random_log_id()?,
        };
        evidentia::validate_log_id(&log_id)?;
        fs::create_dir_all(dir.join(SEGMENTS_DIR)).map_err(|e| io_error("create", dir, &e))?;
        let lock_file = lock(dir)?;
        let mut keys = KeySet::new();
        keys.add(key.public_key(), Validity { not_before: Some(now()?), ..Validity::default() })?;
        let config = Config { log_id, mode: options.mode, key_file: options.key_file };
        write_durably(&dir.join(KEYS_FILE), keys.to_json().as_bytes())?;
        sync_dir(&dir.join(SEGMENTS_DIR))?;
        // The configuration is written last: a log exists once it is there.
        write_durably(&dir.join(CONFIG_FILE), &config.to_json())?;
        sync_dir(dir)?;
        drop(lock_file);
        Log::open(dir)
    }

    /// Opens an existing log for appending, repairing what a crash may have left:
    /// an incompletely written last entry or checkpoint is cut off, and the index and
    /// tree are brought up to date from the entries. Damage followed by valid entries
    /// is never cut: it is an error, and the log is left as it is.
    ///
    /// # Errors
    /// [`ErrorCode::LogNotFound`], [`ErrorCode::LogLocked`], [`ErrorCode::LogConfigInvalid`],
    /// [`ErrorCode::LogCorrupt`], [`ErrorCode::Io`].
    pub fn open(dir: &Path) -> Result<Log> {
        let config = Config::read(dir)?;
        let lock_file = lock(dir)?;
        let keys = read_keys(dir)?;
        let mut recovery = Recovery::default();
        let (segments, last_entry) =
            SegmentWriter::open(&dir.join(SEGMENTS_DIR), &dir.join(INDEX_FILE), &mut recovery)?;
        let chain = match &last_entry {
            None => ChainState::new(&config.log_id)?,
            Some(entry) => {
                let record = Record::from_bytes(&entry.record_bytes()?)
                    .map_err(|e| Error::new(ErrorCode::LogCorrupt, format!("the last record cannot be read: {e}")))?;
                if record.log_id != config.log_id || record.seq + 1 != segments.count {
                    return Err(Error::new(
                        ErrorCode::LogCorrupt,
                        "the last record does not belong at the end of this log",
                    ));
                }
                ChainState::after(&record)
            }
        };
        let tree = open_tree(dir, &segments, &mut recovery)?;

        let checkpoints_path = dir.join(CHECKPOINTS_FILE);
        let (stored, end, tail) = read_checkpoints(&checkpoints_path)?;
        let checkpoints = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&checkpoints_path)
            .map_err(|e| io_error("open", &checkpoints_path, &e))?;
        match tail {
            frame::Tail::Clean => {}
            frame::Tail::Torn => {
                let len = checkpoints.metadata().map_err(|e| io_error("read", &checkpoints_path, &e))?.len();
                recovery.truncated_checkpoint_bytes = len - end as u64;
                checkpoints.set_len(end as u64).map_err(|e| io_error("truncate", &checkpoints_path, &e))?;
                checkpoints.sync_all().map_err(|e| io_error("flush", &checkpoints_path, &e))?;
            }
            frame::Tail::Corrupt(_) => {
                return Err(Error::new(ErrorCode::LogCorrupt, format!("{} is damaged", checkpoints_path.display())));
            }
        }
        if stored.last().is_some_and(|c| c.size > segments.count) {
            return Err(Error::new(
                ErrorCode::LogCorrupt,
                "a signed checkpoint covers more records than the log holds: acknowledged records are missing",
            ));
        }
        let writer = Writer {
            config,
            keys,
            chain,
            segments,
            tree,
            checkpoints,
            latest_checkpoint: stored.last().cloned(),
            recovery,
            poisoned: false,
        };
        Ok(Log { dir: dir.to_owned(), writer: Mutex::new(writer), _lock: lock_file })
    }

    fn writer(&self) -> Result<MutexGuard<'_, Writer>> {
        let writer =
            self.writer.lock().map_err(|_| Error::new(ErrorCode::Internal, "a thread panicked while appending"))?;
        if writer.poisoned {
            return Err(Error::new(ErrorCode::Io, "an earlier write failed: reopen the log"));
        }
        Ok(writer)
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

    /// The log's key history.
    pub fn keys(&self) -> KeySet {
        self.writer.lock().map(|w| w.keys.clone()).unwrap_or_default()
    }

    /// Where the log's signing key is kept, if the log was told.
    pub fn key_file(&self) -> Option<PathBuf> {
        self.writer.lock().ok().and_then(|w| w.config.key_file.clone())
    }

    /// What opening the log repaired.
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
    /// valid), the record carries that earlier time instead, so that times in a log
    /// never go backwards.
    ///
    /// # Errors
    /// `Json*` codes for an event that is not valid JSON; [`ErrorCode::KeyNotFound`]
    /// when `key` is not the log's current key; [`ErrorCode::Io`].
    pub fn append(&self, key: &SigningKey, event: &[u8], nonce: Option<&str>) -> Result<Appended> {
        let mut appended = self.append_batch(key, &[NewEvent { json: event, nonce }], None)?;
        appended.pop().ok_or_else(|| Error::new(ErrorCode::Internal, "an append returned nothing"))
    }

    /// Appends several events with one flush to stable storage (group commit) and,
    /// in batch mode, one signed checkpoint. All are appended, or none.
    ///
    /// `time` overrides the clock (all records get it); it may not be earlier than
    /// the last record's.
    ///
    /// # Errors
    /// As [`Log::append`]; [`ErrorCode::TimeInvalid`] for a `time` before the last
    /// record's.
    pub fn append_batch(
        &self,
        key: &SigningKey,
        events: &[NewEvent<'_>],
        time: Option<Timestamp>,
    ) -> Result<Vec<Appended>> {
        let canonical = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                evidentia::canonicalize(e.json).map_err(|err| Error::new(err.code(), format!("event {i}: {err}")))
            })
            .collect::<Result<Vec<_>>>()?;
        self.commit(key, events, canonical, time)
    }

    /// Appends the events up to the first one that is not valid JSON, as
    /// [`Log::append_batch`] does, and says which event stopped it, if one did.
    ///
    /// # Errors
    /// As [`Log::append_batch`], for everything but invalid events.
    pub fn append_valid_prefix(
        &self,
        key: &SigningKey,
        events: &[NewEvent<'_>],
        time: Option<Timestamp>,
    ) -> Result<PrefixAppended> {
        let mut canonical = Vec::with_capacity(events.len());
        let mut invalid = None;
        for (position, event) in events.iter().enumerate() {
            match evidentia::canonicalize(event.json) {
                Ok(bytes) => canonical.push(bytes),
                Err(error) => {
                    invalid = Some(InvalidEvent { position, error });
                    break;
                }
            }
        }
        let appended = if canonical.is_empty() {
            Vec::new()
        } else {
            self.commit(key, &events[..canonical.len()], canonical, time)?
        };
        Ok(PrefixAppended { appended, invalid })
    }

    /// Appends canonical events: records, entries, one flush, the tree and, in
    /// batch mode, a signed checkpoint.
    fn commit(
        &self,
        key: &SigningKey,
        events: &[NewEvent<'_>],
        canonical: Vec<Vec<u8>>,
        time: Option<Timestamp>,
    ) -> Result<Vec<Appended>> {
        let mut writer = self.writer()?;
        let writer = &mut *writer;
        let (current, validity) = writer.keys.select(Some(key.kid()))?;
        if current != key.public_key() || validity.expires.is_some() || validity.revoked_at.is_some() {
            return Err(Error::new(ErrorCode::KeyNotFound, "the key is not this log's current signing key"));
        }
        let time = match time {
            Some(time) => time,
            None => {
                let floor = Timestamp::from_unix(0, 0)?;
                let earliest = writer.chain.last_time().unwrap_or(floor).max(validity.not_before.unwrap_or(floor));
                now()?.max(earliest)
            }
        };
        let mut chain = writer.chain.clone();
        let mut frames = Vec::with_capacity(canonical.iter().map(|e| e.len() + 512).sum());
        let mut offsets = Vec::with_capacity(events.len());
        let mut appended = Vec::with_capacity(events.len());
        let mut leaves = Vec::with_capacity(events.len());
        for (event, canonical) in events.iter().zip(canonical) {
            let chained = chain.append(key.kid(), Digest::sha256(&canonical), time, event.nonce)?;
            leaves.push(leaf_hash(&chained.bytes));
            let receipt = match writer.config.mode {
                Mode::Receipts => Some(Receipt::sign(key, &chained.record)?),
                Mode::Batch => None,
            };
            let entry = match &receipt {
                Some(receipt) => EntryRef::Receipt { receipt: receipt.as_str(), event: &canonical },
                None => EntryRef::Record { record: &chained.bytes, event: &canonical },
            };
            offsets.push(frames.len());
            frame::encode_with(&mut frames, |out| entry.write_payload(out));
            appended.push(Appended {
                seq: chained.record.seq,
                record_digest: chained.digest,
                record: chained.record,
                receipt,
                checkpoint_size: None,
            });
        }
        let count = writer.segments.count;
        writer.segments.append(&frames, &offsets)?;
        // Durable from here: the state follows the files even if what comes next fails.
        writer.chain = chain;
        let tree_path = self.dir.join(TREE_FILE);
        for leaf in leaves {
            writer.tree.push(leaf);
        }
        if let Err(e) = writer.tree.write_pending(&tree_path) {
            writer.poisoned = true;
            let _ = writer.tree.discard_pending(count);
            return Err(e);
        }
        if writer.config.mode == Mode::Batch {
            let size = writer.sign_checkpoint(&self.dir, key)?;
            for a in &mut appended {
                a.checkpoint_size = Some(size);
            }
        }
        Ok(appended)
    }

    /// The latest signed checkpoint, signing a new one with `key` first if records
    /// were appended since (or none exists).
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotFound`] when `key` is not the log's current key; [`ErrorCode::Io`].
    pub fn checkpoint(&self, key: &SigningKey) -> Result<StoredCheckpoint> {
        let mut writer = self.writer()?;
        let writer = &mut *writer;
        if writer.latest_checkpoint.as_ref().is_none_or(|c| c.size != writer.segments.count) {
            let (current, validity) = writer.keys.select(Some(key.kid()))?;
            if current != key.public_key() || validity.expires.is_some() || validity.revoked_at.is_some() {
                return Err(Error::new(ErrorCode::KeyNotFound, "the key is not this log's current signing key"));
            }
            writer.sign_checkpoint(&self.dir, key)?;
        }
        writer.latest_checkpoint.clone().ok_or_else(|| Error::new(ErrorCode::Internal, "no checkpoint after signing"))
    }

    /// Rotates the signing key: the current key stops being valid now and
    /// `new_key` becomes valid from now. Records signed before keep verifying.
    ///
    /// # Errors
    /// [`ErrorCode::KeySetMalformed`] when `new_key` was used by this log before;
    /// [`ErrorCode::Io`].
    pub fn rotate(&self, new_key: &SigningKey, new_key_file: Option<PathBuf>) -> Result<()> {
        let mut writer = self.writer()?;
        let floor = Timestamp::from_unix(0, 0)?;
        let time = now()?.max(writer.chain.last_time().unwrap_or(floor));
        let mut keys = writer.keys.clone();
        for entry in writer.keys.entries() {
            let validity = entry.validity();
            if validity.expires.is_none() && validity.revoked_at.is_none() {
                let kid = entry.kid().unwrap_or(entry.thumbprint()).to_owned();
                keys.set_validity(&kid, Validity { expires: Some(time), ..validity.clone() })?;
            }
        }
        keys.add(new_key.public_key(), Validity { not_before: Some(time), ..Validity::default() })?;
        replace_durably(&self.dir, KEYS_FILE, keys.to_json().as_bytes())?;
        writer.keys = keys;
        if new_key_file.is_some() {
            writer.config.key_file = new_key_file;
            let config = writer.config.to_json();
            replace_durably(&self.dir, CONFIG_FILE, &config)?;
        }
        Ok(())
    }
}

impl Writer {
    /// Signs a checkpoint of the whole log, stores it durably, and returns its size.
    fn sign_checkpoint(&mut self, dir: &Path, key: &SigningKey) -> Result<u64> {
        let size = self.segments.count;
        let checkpoint =
            Checkpoint { origin: self.config.log_id.clone(), size, root: self.tree.root(), extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, key)?;
        let mut framed = Vec::new();
        frame::encode(note.as_bytes(), &mut framed);
        let path = dir.join(CHECKPOINTS_FILE);
        let written =
            std::io::Write::write_all(&mut self.checkpoints, &framed).and_then(|()| self.checkpoints.sync_data());
        if let Err(e) = written {
            self.poisoned = true;
            return Err(io_error("append to", &path, &e));
        }
        self.latest_checkpoint = Some(StoredCheckpoint { size, note });
        Ok(size)
    }
}

/// Opens the tree file, cutting nodes of entries that are gone and rebuilding
/// nodes that are missing or wrong from the entries.
fn open_tree(dir: &Path, segments: &SegmentWriter, recovery: &mut Recovery) -> Result<TreeFile> {
    let path = dir.join(TREE_FILE);
    let count = segments.count;
    let stored = TreeFile::stored_nodes(&path)?;
    // The largest number of leaves whose nodes are all in the file.
    let mut complete = count;
    while complete > 0 && tree::nodes_for(complete) > stored {
        complete -= 1;
    }
    if tree::nodes_for(count) != stored {
        if !path.exists() {
            File::create(&path).map_err(|e| io_error("create", &path, &e))?;
        }
        TreeFile::truncate(&path, complete)?;
    }
    let mut tree = TreeFile::open(&path, complete, true)?;
    // The newest stored leaf must be the newest record's; otherwise rebuild it all.
    if complete > 0 {
        let record = segments::read_entry(&segments.segments, &segments.index, complete - 1)?.record_bytes()?;
        if tree.node(0, complete - 1)? != leaf_hash(&record) {
            TreeFile::truncate(&path, 0)?;
            complete = 0;
            tree = TreeFile::open(&path, 0, true)?;
        }
    }
    for seq in complete..count {
        let record = segments::read_entry(&segments.segments, &segments.index, seq)?.record_bytes()?;
        tree.push(leaf_hash(&record));
    }
    if complete < count {
        tree.write_pending(&path)?;
        tree.sync(&path)?;
        recovery.rebuilt_tree_leaves = count - complete;
    }
    Ok(tree)
}

/// A log opened for reading, without the writer's lock: for verifying, proving and
/// exporting while another process may be appending. It sees the entries that were
/// complete when it was opened.
#[derive(Debug)]
pub struct LogReader {
    dir: PathBuf,
    config: Config,
    keys: KeySet,
    segments: Vec<Segment>,
    count: u64,
    checkpoints: Vec<StoredCheckpoint>,
    /// The tree file, opened on first use.
    tree: std::sync::OnceLock<Result<TreeFile>>,
}

impl LogReader {
    /// Opens a log for reading.
    ///
    /// # Errors
    /// [`ErrorCode::LogNotFound`], [`ErrorCode::LogConfigInvalid`], [`ErrorCode::Io`].
    pub fn open(dir: &Path) -> Result<LogReader> {
        let config = Config::read(dir)?;
        let keys = read_keys(dir)?;
        let segments = segments::list(&dir.join(SEGMENTS_DIR))?;
        let count = segments::count(&segments)?;
        let (checkpoints, _, _) = read_checkpoints(&dir.join(CHECKPOINTS_FILE))?;
        Ok(LogReader {
            dir: dir.to_owned(),
            config,
            keys,
            segments,
            count,
            checkpoints,
            tree: std::sync::OnceLock::new(),
        })
    }

    /// The log id.
    pub fn log_id(&self) -> &str {
        &self.config.log_id
    }

    /// How records are signed.
    pub fn mode(&self) -> Mode {
        self.config.mode
    }

    /// The log's key history.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The number of complete entries.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether the log holds no entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every stored checkpoint, in order.
    pub fn checkpoints(&self) -> &[StoredCheckpoint] {
        &self.checkpoints
    }

    /// The newest stored checkpoint.
    pub fn latest_checkpoint(&self) -> Option<&StoredCheckpoint> {
        self.checkpoints.last()
    }

    /// The entry with sequence number `seq`.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] beyond the log; [`ErrorCode::LogCorrupt`] when
    /// it cannot be read.
    pub fn entry(&self, seq: u64) -> Result<Entry> {
        if seq >= self.count {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("the log has {} records; there is no record {seq}", self.count),
            ));
        }
        let path = self.dir.join(INDEX_FILE);
        let index = File::open(&path).map_err(|e| io_error("open", &path, &e))?;
        segments::read_entry(&self.segments, &index, seq)
    }

    /// Calls `visit` with every entry in order (or the reason an entry is damaged).
    ///
    /// # Errors
    /// Whatever reading the segments or `visit` fails with.
    pub fn for_each_entry(
        &self,
        visit: impl FnMut(std::result::Result<EntryRef<'_>, String>) -> Result<()>,
    ) -> Result<()> {
        segments::for_each_entry(&self.segments, visit)
    }

    /// The tree of all complete entries (proofs for smaller sizes use its nodes).
    fn tree(&self) -> Result<&TreeFile> {
        let tree = self.tree.get_or_init(|| {
            let path = self.dir.join(TREE_FILE);
            if TreeFile::stored_nodes(&path)? < tree::nodes_for(self.count) {
                return Err(Error::new(
                    ErrorCode::LogCorrupt,
                    "the tree index is behind the records; open the log for writing (append or checkpoint) to rebuild it",
                ));
            }
            TreeFile::open(&path, self.count, false)
        });
        tree.as_ref().map_err(Clone::clone)
    }

    fn default_size(&self) -> Result<u64> {
        self.latest_checkpoint().map(|c| c.size).ok_or_else(|| {
            Error::new(ErrorCode::InvalidArgument, "the log has no signed checkpoint yet: run 'log checkpoint' first")
        })
    }

    /// The inclusion proof of record `index` in the tree of the first `size` records
    /// (by default, the size of the latest checkpoint).
    ///
    /// # Errors
    /// [`ErrorCode::ProofMalformed`] for positions outside the log.
    pub fn inclusion_proof(&self, index: u64, size: Option<u64>) -> Result<InclusionProof> {
        let size = match size {
            Some(size) => size,
            None => self.default_size()?,
        };
        if size > self.count {
            return Err(Error::new(ErrorCode::ProofMalformed, format!("the log has only {} records", self.count)));
        }
        Ok(InclusionProof {
            leaf_index: index,
            tree_size: size,
            hashes: merkle::inclusion_proof(self.tree()?, index, size)?,
        })
    }

    /// The consistency proof between the trees of the first `old` and `new` records
    /// (by default, the size of the latest checkpoint).
    ///
    /// # Errors
    /// [`ErrorCode::ProofMalformed`] unless `0 < old <= new <= len`.
    pub fn consistency_proof(&self, old: u64, new: Option<u64>) -> Result<ConsistencyProof> {
        let new = match new {
            Some(new) => new,
            None => self.default_size()?,
        };
        if new > self.count {
            return Err(Error::new(ErrorCode::ProofMalformed, format!("the log has only {} records", self.count)));
        }
        Ok(ConsistencyProof {
            old_size: old,
            new_size: new,
            hashes: merkle::consistency_proof(self.tree()?, old, new)?,
        })
    }

    /// The root hash of the first `size` records.
    ///
    /// # Errors
    /// As [`LogReader::inclusion_proof`].
    pub fn root(&self, size: u64) -> Result<Hash> {
        merkle::root(self.tree()?, size)
    }

    /// What a holder of record `seq` needs to verify it offline: its receipt in a log
    /// that signs every record, or a batch receipt (the record, its inclusion proof
    /// and the latest checkpoint) in a batch-signed log.
    ///
    /// # Errors
    /// As [`LogReader::entry`]; [`ErrorCode::InvalidArgument`] when a batch-signed
    /// record is not yet covered by a checkpoint.
    pub fn receipt(&self, seq: u64) -> Result<String> {
        match self.entry(seq)? {
            Entry::Receipt { receipt, .. } => Ok(receipt),
            Entry::Record { record, .. } => {
                let checkpoint = self.latest_checkpoint().filter(|c| c.size > seq).ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidArgument,
                        format!("record {seq} is not yet covered by a signed checkpoint"),
                    )
                })?;
                let proof = self.inclusion_proof(seq, Some(checkpoint.size))?;
                Ok(BatchReceipt::new(&record, proof, &checkpoint.note)?.to_json())
            }
        }
    }

    /// Verifies the whole log: every entry (signatures or, in batch mode, the key
    /// of each record), events, sequence, chain, times, nonces; every stored
    /// checkpoint against the records and the key set; every stored tree hash
    /// against the records. `keys` are the keys to trust (the log's own key history
    /// when `None`); `progress` is called with the number of entries done.
    ///
    /// # Errors
    /// Only when the log cannot be read at all; everything found wrong is in the report.
    pub fn verify(&self, keys: Option<&KeySet>, mut progress: impl FnMut(u64)) -> Result<Report> {
        let keys = keys.unwrap_or(&self.keys);
        let options = LogVerifyOptions {
            expected_log_id: Some(self.config.log_id.clone()),
            require_events: true,
            ..LogVerifyOptions::default()
        };
        let mut verifier = LogVerifier::new(keys, options);
        let tree_path = self.dir.join(TREE_FILE);
        let mut tree = std::io::BufReader::with_capacity(
            1 << 16,
            File::open(&tree_path).map_err(|e| io_error("open", &tree_path, &e))?,
        );
        let mut tree_readable = true;
        let mut done = 0u64;
        // Checkpoint signatures are checked on the reading thread, which has time to spare.
        let (checkpoint_sender, checkpoint_receiver) = mpsc::sync_channel::<(u64, PreparedCheckpoint)>(64);
        let mut checkpoints = checkpoint_receiver.iter().peekable();

        // A pipeline: a thread reads, worker threads prepare entries (parsing,
        // signatures, digests), and this thread takes them back in order for the
        // checks that depend on the entries before (chain, sequence, tree).
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        std::thread::scope(|scope| -> Result<()> {
            let (work, jobs) = mpsc::sync_channel::<(u64, Vec<std::result::Result<Entry, String>>)>(2 * workers);
            let jobs = Arc::new(Mutex::new(jobs));
            let (results, prepared) = mpsc::sync_channel::<(u64, Vec<PreparedEntry>)>(2 * workers + 2);
            for _ in 0..workers {
                let (jobs, results) = (Arc::clone(&jobs), results.clone());
                scope.spawn(move || {
                    loop {
                        let job = match jobs.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        let Ok((number, chunk)) = job else { return };
                        let chunk = chunk
                            .into_iter()
                            .map(|entry| match entry {
                                Ok(Entry::Receipt { receipt, event }) => {
                                    PreparedEntry::receipt(keys, &receipt, Some(&event))
                                }
                                Ok(Entry::Record { record, event }) => {
                                    PreparedEntry::record(keys, &record, Some(&event))
                                }
                                Err(reason) => PreparedEntry::unreadable(&reason),
                            })
                            .collect();
                        if results.send((number, chunk)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(results);
            let count = self.count;
            let stored = &self.checkpoints;
            scope.spawn(move || {
                for checkpoint in stored {
                    if checkpoint_sender
                        .send((checkpoint.size, PreparedCheckpoint::new(keys, &checkpoint.note)))
                        .is_err()
                    {
                        return;
                    }
                }
            });
            let reader = scope.spawn(move || -> Result<()> {
                let mut chunk = Vec::with_capacity(CHUNK);
                let (mut number, mut read) = (0u64, 0u64);
                let sent = self.for_each_entry(|entry| {
                    if read >= count {
                        return Ok(()); // Appended after this reader was opened.
                    }
                    read += 1;
                    chunk.push(entry.map(EntryRef::to_owned));
                    if chunk.len() == CHUNK {
                        work.send((number, std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))))
                            .map_err(|_| Error::new(ErrorCode::Internal, "a verification worker stopped"))?;
                        number += 1;
                    }
                    Ok(())
                });
                if !chunk.is_empty() {
                    let _ = work.send((number, chunk));
                }
                sent
            });

            let mut waiting = std::collections::BTreeMap::new();
            let mut next = 0u64;
            for (number, chunk) in prepared.iter() {
                waiting.insert(number, chunk);
                while let Some(chunk) = waiting.remove(&next) {
                    next += 1;
                    for entry in chunk {
                        verifier.push_prepared(entry);
                        // The stored nodes this leaf completed: the leaf and one per trailing one bit.
                        for level in 0..=done.trailing_ones() {
                            let mut hash = [0u8; 32];
                            if tree_readable && std::io::Read::read_exact(&mut tree, &mut hash).is_err() {
                                tree_readable = false;
                            }
                            verifier.push_tree_node(
                                level,
                                done >> level,
                                if tree_readable { &hash } else { &[0u8; 32] },
                            );
                        }
                        done += 1;
                        while let Some((size, checkpoint)) = checkpoints.next_if(|(size, _)| *size <= done) {
                            if size == done {
                                verifier.push_prepared_checkpoint(checkpoint);
                            }
                        }
                    }
                    progress(done);
                }
            }
            reader.join().map_err(|_| Error::new(ErrorCode::Internal, "the log reader panicked"))??;
            // Checkpoints of more records than the log holds: records were removed from the end.
            for (_, checkpoint) in checkpoints {
                verifier.push_prepared_checkpoint(checkpoint);
            }
            Ok(())
        })?;
        Ok(verifier.finish())
    }

    /// Writes a copy of this log with the given entries in place of its own, without
    /// any checks — as someone with access to the files could — for copies, imports,
    /// and for showing what verification finds in a tampered copy. The copy gets its
    /// own index and tree, made from the entries, and this log's configuration, keys
    /// and signed checkpoints unchanged (a copier cannot sign new ones).
    ///
    /// # Errors
    /// [`ErrorCode::Io`]; [`ErrorCode::LogCorrupt`] for an entry whose record cannot be read.
    pub fn write_copy<'a>(&self, target: &Path, entries: impl IntoIterator<Item = &'a Entry>) -> Result<()> {
        fs::create_dir_all(target.join(SEGMENTS_DIR)).map_err(|e| io_error("create", target, &e))?;
        for name in [CONFIG_FILE, KEYS_FILE, CHECKPOINTS_FILE] {
            let source = self.dir.join(name);
            if source.exists() {
                fs::copy(&source, target.join(name)).map_err(|e| io_error("copy", &source, &e))?;
            }
        }
        let tree_path = target.join(TREE_FILE);
        File::create(&tree_path).map_err(|e| io_error("create", &tree_path, &e))?;
        let mut tree = TreeFile::open(&tree_path, 0, true)?;
        let (mut frames, mut index) = (Vec::new(), Vec::new());
        for entry in entries {
            index.extend_from_slice(&(frames.len() as u64).to_le_bytes());
            frame::encode_with(&mut frames, |out| entry.as_ref().write_payload(out));
            // An entry whose record cannot be read still takes a leaf (of nothing).
            tree.push(leaf_hash(&entry.record_bytes().unwrap_or_default()));
        }
        tree.write_pending(&tree_path)?;
        tree.sync(&tree_path)?;
        write_durably(&target.join(SEGMENTS_DIR).join(format!("{:020}.seg", 0)), &frames)?;
        write_durably(&target.join(INDEX_FILE), &index)
    }
}

/// Verifies the log in `dir` (see [`LogReader::verify`]).
///
/// # Errors
/// Only when the log cannot be read at all.
pub fn verify_dir(dir: &Path, keys: Option<&KeySet>, progress: impl FnMut(u64)) -> Result<Report> {
    LogReader::open(dir)?.verify(keys, progress)
}
