//! Evidence logs on the local disk. This crate is the only place where Evidentia
//! touches files or reads the clock; everything it stores is made and checked by
//! the `evidentia` core.
//!
//! A log directory holds:
//! - `log.json`: the log's id and settings;
//! - `keys.jwks`: the history of the log's public keys with their validity;
//! - `records.log`: one line per record, `<receipt> <canonical event JSON>\n`,
//!   appended and flushed to disk (fsync) before the receipt is returned.
#![forbid(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use evidentia::json::{Value, parse};
use evidentia::{
    ChainState, Error, ErrorCode, KeySet, LogVerifier, LogVerifyOptions, Receipt, Report, Result, SigningKey,
    Timestamp, Validity, issue_receipt,
};

const CONFIG_FILE: &str = "log.json";
const KEYS_FILE: &str = "keys.jwks";
const RECORDS_FILE: &str = "records.log";
const LOCK_FILE: &str = ".lock";
const FORMAT: &str = "evidentia-log";
const FORMAT_VERSION: u32 = 1;

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorCode::Io, format!("cannot {what} {}: {e}", path.display()))
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

/// Settings for a new log.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// The log id; a random one (`evidentia/<32 hex digits>`) when `None`.
    pub log_id: Option<String>,
    /// Where the signing key is kept, remembered so that later appends find it.
    pub key_file: Option<PathBuf>,
}

/// A log directory opened for appending. Only one process at a time may hold it.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    config: Config,
    keys: KeySet,
    chain: ChainState,
    records: File,
    _lock: File,
}

#[derive(Clone, Debug)]
struct Config {
    log_id: String,
    key_file: Option<PathBuf>,
}

impl Config {
    fn to_json(&self) -> Vec<u8> {
        let mut members = vec![
            ("format", Value::from(FORMAT)),
            ("log_id", Value::from(self.log_id.as_str())),
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
            Err(e) => return Err(io_error("read", &path, e)),
        };
        let invalid = |what: &str| Error::new(ErrorCode::LogConfigInvalid, format!("{}: {what}", path.display()));
        let value = parse(&bytes).map_err(|e| invalid(&format!("not valid JSON: {e}")))?;
        if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(invalid("not an Evidentia log configuration"));
        }
        if value.get("version").and_then(Value::as_number).and_then(|n| n.as_safe_u64())
            != Some(u64::from(FORMAT_VERSION))
        {
            return Err(invalid("unsupported log format version"));
        }
        let log_id = value.get("log_id").and_then(Value::as_str).ok_or_else(|| invalid("no 'log_id'"))?;
        evidentia::validate_log_id(log_id).map_err(|e| invalid(e.message()))?;
        let key_file = match value.get("key_file") {
            None => None,
            Some(Value::String(path)) => Some(PathBuf::from(path)),
            Some(_) => return Err(invalid("'key_file' is not a string")),
        };
        Ok(Config { log_id: log_id.to_owned(), key_file })
    }
}

/// Writes a file and flushes it to disk.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).map_err(|e| io_error("create", path, e))?;
    file.write_all(bytes).map_err(|e| io_error("write", path, e))?;
    file.sync_all().map_err(|e| io_error("flush", path, e))
}

/// Replaces a file atomically: write a temporary file, flush it, rename it over.
fn replace_durably(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let temporary = dir.join(format!(".{name}.tmp"));
    write_durably(&temporary, bytes)?;
    let target = dir.join(name);
    fs::rename(&temporary, &target).map_err(|e| io_error("replace", &target, e))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error("flush directory", dir, e))
}

fn random_log_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| Error::new(ErrorCode::Internal, "the system random source failed"))?;
    Ok(format!("evidentia/{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

fn read_keys(dir: &Path) -> Result<KeySet> {
    let path = dir.join(KEYS_FILE);
    let text = fs::read_to_string(&path).map_err(|e| io_error("read", &path, e))?;
    KeySet::from_json(&text).map_err(|e| Error::new(e.code(), format!("{}: {e}", path.display())))
}

fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_error("open", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::new(
            ErrorCode::LogLocked,
            format!("the log at {} is open for writing by another process", dir.display()),
        )),
        Err(fs::TryLockError::Error(e)) => Err(io_error("lock", &path, e)),
    }
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
        fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
        let _lock = lock(dir)?;
        let mut keys = KeySet::new();
        keys.add(key.public_key(), Validity { not_before: Some(now()?), ..Validity::default() })?;
        let config = Config { log_id, key_file: options.key_file };
        write_durably(&dir.join(KEYS_FILE), keys.to_json().as_bytes())?;
        write_durably(&dir.join(RECORDS_FILE), b"")?;
        // The configuration is written last: a log exists once it is there.
        write_durably(&dir.join(CONFIG_FILE), &config.to_json())?;
        sync_dir(dir)?;
        drop(_lock);
        Log::open(dir)
    }

    /// Opens an existing log for appending.
    ///
    /// # Errors
    /// [`ErrorCode::LogNotFound`], [`ErrorCode::LogLocked`], [`ErrorCode::LogConfigInvalid`],
    /// [`ErrorCode::LogCorrupt`] when the last record cannot be read or a write was
    /// torn, [`ErrorCode::Io`].
    pub fn open(dir: &Path) -> Result<Log> {
        let config = Config::read(dir)?;
        let lock = lock(dir)?;
        let keys = read_keys(dir)?;
        let path = dir.join(RECORDS_FILE);
        let mut records =
            OpenOptions::new().read(true).append(true).open(&path).map_err(|e| io_error("open", &path, e))?;
        let chain = match last_line(&mut records).map_err(|e| io_error("read", &path, e))? {
            None => ChainState::new(&config.log_id)?,
            Some(line) => {
                let corrupt = |why: String| Error::new(ErrorCode::LogCorrupt, format!("{}: {why}", path.display()));
                if !line.ends_with(b"\n") {
                    return Err(corrupt("the last record was not completely written".into()));
                }
                let (receipt, _) = split_entry(&line[..line.len() - 1])
                    .ok_or_else(|| corrupt("the last line is not a record".into()))?;
                let receipt =
                    Receipt::parse(receipt).map_err(|e| corrupt(format!("the last record cannot be read: {e}")))?;
                if receipt.record().log_id != config.log_id {
                    return Err(corrupt("the last record belongs to another log".into()));
                }
                ChainState::after(receipt.record())
            }
        };
        Ok(Log { dir: dir.to_owned(), config, keys, chain, records, _lock: lock })
    }

    /// The log id.
    pub fn log_id(&self) -> &str {
        &self.config.log_id
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log's key history.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Where the log's signing key is kept, if the log was told.
    pub fn key_file(&self) -> Option<&Path> {
        self.config.key_file.as_deref()
    }

    /// How many records the log holds.
    pub fn len(&self) -> u64 {
        self.chain.next_seq()
    }

    /// Whether the log holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends an event (JSON text) signed by `key`, stamped with the current time,
    /// and returns the receipt once the record is on disk.
    ///
    /// If the clock has stepped back since the last record (or since the key became
    /// valid), the record carries that earlier time instead, so that times in a log
    /// never go backwards.
    ///
    /// # Errors
    /// `Json*` codes for an event that is not valid JSON; [`ErrorCode::KeyNotFound`]
    /// when `key` is not the log's current key; [`ErrorCode::Io`].
    pub fn append(&mut self, key: &SigningKey, event: &[u8], nonce: Option<&str>) -> Result<Receipt> {
        let time = self.earliest_time_for(key)?.max(now()?);
        self.append_at(key, event, nonce, time)
    }

    /// The earliest time the next record signed by `key` may carry: not before the
    /// last record, nor before the key became valid.
    fn earliest_time_for(&self, key: &SigningKey) -> Result<Timestamp> {
        let not_before = self.keys.select(Some(key.kid())).ok().and_then(|(_, v)| v.not_before);
        let floor = Timestamp::from_unix(0, 0)?;
        Ok(self.chain.last_time().unwrap_or(floor).max(not_before.unwrap_or(floor)))
    }

    /// As [`Log::append`], with the time given.
    ///
    /// # Errors
    /// As [`Log::append`], and [`ErrorCode::TimeInvalid`] when `time` is earlier
    /// than the last record's.
    pub fn append_at(
        &mut self,
        key: &SigningKey,
        event: &[u8],
        nonce: Option<&str>,
        time: Timestamp,
    ) -> Result<Receipt> {
        let (current, validity) = self.keys.select(Some(key.kid()))?;
        if current != key.public_key() || validity.expires.is_some() || validity.revoked_at.is_some() {
            return Err(Error::new(ErrorCode::KeyNotFound, "the key is not this log's current signing key"));
        }
        let mut chain = self.chain.clone();
        let issued = issue_receipt(key, &mut chain, event, time, nonce)?;
        let mut line = Vec::with_capacity(issued.receipt.as_str().len() + issued.event.len() + 2);
        line.extend_from_slice(issued.receipt.as_str().as_bytes());
        line.push(b' ');
        line.extend_from_slice(&issued.event);
        line.push(b'\n');
        let path = self.dir.join(RECORDS_FILE);
        self.records.write_all(&line).map_err(|e| io_error("append to", &path, e))?;
        self.records.sync_data().map_err(|e| io_error("flush", &path, e))?;
        self.chain = chain;
        Ok(issued.receipt)
    }

    /// Rotates the signing key: the current key stops being valid now and
    /// `new_key` becomes valid from now. Records signed before keep verifying.
    ///
    /// # Errors
    /// [`ErrorCode::KeySetMalformed`] when `new_key` was used by this log before;
    /// [`ErrorCode::Io`].
    pub fn rotate(&mut self, new_key: &SigningKey, new_key_file: Option<PathBuf>) -> Result<()> {
        let time = now()?.max(self.chain.last_time().unwrap_or(Timestamp::from_unix(0, 0)?));
        let mut keys = self.keys.clone();
        for entry in self.keys.entries() {
            let validity = entry.validity();
            if validity.expires.is_none() && validity.revoked_at.is_none() {
                let kid = entry.kid().unwrap_or(entry.thumbprint()).to_owned();
                keys.set_validity(&kid, Validity { expires: Some(time), ..validity.clone() })?;
            }
        }
        keys.add(new_key.public_key(), Validity { not_before: Some(time), ..Validity::default() })?;
        replace_durably(&self.dir, KEYS_FILE, keys.to_json().as_bytes())?;
        self.keys = keys;
        if new_key_file.is_some() {
            self.config.key_file = new_key_file;
            replace_durably(&self.dir, CONFIG_FILE, &self.config.to_json())?;
        }
        Ok(())
    }
}

/// Reads the last line of a file (with its newline, if it has one).
fn last_line(file: &mut File) -> std::io::Result<Option<Vec<u8>>> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let mut tail = Vec::new();
    let mut pos = len;
    loop {
        let step = pos.min(64 * 1024);
        pos -= step;
        file.seek(SeekFrom::Start(pos))?;
        let mut chunk = vec![0u8; step as usize];
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        // The newline that ends the previous line, ignoring this line's own.
        let search = &tail[..tail.len() - 1];
        if let Some(newline) = search.iter().rposition(|&b| b == b'\n') {
            tail.drain(..=newline);
            return Ok(Some(tail));
        }
        if pos == 0 {
            return Ok(Some(tail));
        }
    }
}

/// Splits a stored line into its receipt and its event.
fn split_entry(line: &[u8]) -> Option<(&str, &[u8])> {
    let space = line.iter().position(|&b| b == b' ')?;
    let receipt = std::str::from_utf8(&line[..space]).ok()?;
    Some((receipt, &line[space + 1..]))
}

/// Reads every stored record of a log, in order, as `(receipt, event)` pairs; a
/// line that is not a record comes as an `Err` with the reason.
///
/// # Errors
/// [`ErrorCode::LogNotFound`] or [`ErrorCode::Io`] when the log cannot be opened.
pub fn read_entries(dir: &Path) -> Result<impl Iterator<Item = std::result::Result<(String, Vec<u8>), String>>> {
    Config::read(dir)?;
    let path = dir.join(RECORDS_FILE);
    let file = File::open(&path).map_err(|e| io_error("open", &path, e))?;
    let mut reader = BufReader::new(file);
    let mut line_number = 0u64;
    Ok(std::iter::from_fn(move || {
        let mut line = Vec::new();
        line_number += 1;
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => None,
            Ok(_) if !line.ends_with(b"\n") => Some(Err(format!("line {line_number} was not completely written"))),
            Ok(_) => {
                line.pop();
                Some(match split_entry(&line) {
                    Some((receipt, event)) => Ok((receipt.to_owned(), event.to_vec())),
                    None => Err(format!("line {line_number} is not a receipt followed by an event")),
                })
            }
            Err(e) => Some(Err(format!("line {line_number} cannot be read: {e}"))),
        }
    }))
}

/// The key history stored with a log.
///
/// # Errors
/// [`ErrorCode::LogNotFound`], [`ErrorCode::Io`], or the key set's error.
pub fn read_log_keys(dir: &Path) -> Result<KeySet> {
    Config::read(dir)?;
    read_keys(dir)
}

/// The id of the log in `dir`.
///
/// # Errors
/// [`ErrorCode::LogNotFound`], [`ErrorCode::LogConfigInvalid`], [`ErrorCode::Io`].
pub fn read_log_id(dir: &Path) -> Result<String> {
    Ok(Config::read(dir)?.log_id)
}

/// Verifies every record of the log in `dir`: signatures against `keys` (the log's
/// own key history when `None`), events, sequence, chain, times and nonces.
///
/// # Errors
/// Only when the log cannot be read at all; everything found wrong with its
/// records is in the report.
pub fn verify_dir(dir: &Path, keys: Option<&KeySet>, mut progress: impl FnMut(u64)) -> Result<Report> {
    let own_keys;
    let keys = match keys {
        Some(keys) => keys,
        None => {
            own_keys = read_log_keys(dir)?;
            &own_keys
        }
    };
    let options = LogVerifyOptions {
        expected_log_id: Some(read_log_id(dir)?),
        require_events: true,
        ..LogVerifyOptions::default()
    };
    let mut verifier = LogVerifier::new(keys, options);
    for (count, entry) in read_entries(dir)?.enumerate() {
        match entry {
            Ok((receipt, event)) => verifier.push(&receipt, Some(&event)),
            Err(reason) => verifier.push_unreadable(&reason),
        }
        progress(count as u64 + 1);
    }
    Ok(verifier.finish())
}

/// Writes a log directory from raw entries without any checks: for copying,
/// importing, and for demonstrating what verification detects in a tampered copy.
///
/// # Errors
/// [`ErrorCode::LogNotFound`] for a source that is not a log; [`ErrorCode::Io`].
pub fn write_copy<'a>(
    source: &Path,
    target: &Path,
    entries: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<()> {
    Config::read(source)?;
    fs::create_dir_all(target).map_err(|e| io_error("create", target, e))?;
    for name in [CONFIG_FILE, KEYS_FILE] {
        fs::copy(source.join(name), target.join(name)).map_err(|e| io_error("copy", &source.join(name), e))?;
    }
    let mut out = Vec::new();
    for (receipt, event) in entries {
        out.extend_from_slice(receipt.as_bytes());
        out.push(b' ');
        out.extend_from_slice(event);
        out.push(b'\n');
    }
    write_durably(&target.join(RECORDS_FILE), &out)
}
