//! A log directory's names, its configuration (`log.json`) and its key history
//! (`keys.jwks`).

use std::path::{Path, PathBuf};

use evidentia::json::{Number, Value, parse};
use evidentia::{Error, ErrorCode, KeySet, Result};

use crate::fsio::read_regular;

pub(crate) const CONFIG_FILE: &str = "log.json";
pub(crate) const KEYS_FILE: &str = "keys.jwks";
pub(crate) const SEGMENTS_DIR: &str = "segments";
pub(crate) const CHECKPOINTS_FILE: &str = "checkpoints.log";
pub(crate) const TREE_FILE: &str = "tree";
pub(crate) const INDEX_FILE: &str = "index";
pub(crate) const NONCES_FILE: &str = "nonces";
pub(crate) const STATE_FILE: &str = "state.json";
pub(crate) const TIMESTAMPS_DIR: &str = "timestamps";
/// What recovery cut off (the debris of unfinished writes), kept for inspection.
pub(crate) const CUT_DIR: &str = "cut";
/// Held exclusively by the one process that writes the log, for as long as it does.
pub(crate) const WRITER_LOCK: &str = ".lock";
/// Held exclusively while a writer changes the files, and shared while a reader
/// takes its snapshot, so that a reader never sees half of an append.
pub(crate) const COMMIT_LOCK: &str = ".commit";

const FORMAT: &str = "evidentia-log";
const FORMAT_VERSION: u32 = 1;

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

/// A log's configuration, `log.json`.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub log_id: String,
    pub mode: Mode,
    pub key_file: Option<PathBuf>,
}

impl Config {
    pub(crate) fn to_json(&self) -> Vec<u8> {
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

    pub(crate) fn read(dir: &Path) -> Result<Config> {
        let path = dir.join(CONFIG_FILE);
        let Some(bytes) = read_regular(&path, 1 << 16)? else {
            return Err(Error::new(ErrorCode::LogNotFound, format!("no log at {} (no {CONFIG_FILE})", dir.display())));
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

pub(crate) fn random_log_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| Error::new(ErrorCode::Internal, "the system random source failed"))?;
    Ok(format!("evidentia/{}", evidentia::encoding::hex(&bytes)))
}

/// The log's key history.
pub(crate) fn read_keys(dir: &Path) -> Result<KeySet> {
    let path = dir.join(KEYS_FILE);
    let bytes = read_regular(&path, 1 << 24)?
        .ok_or_else(|| Error::new(ErrorCode::LogCorrupt, format!("{} is missing", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::new(ErrorCode::KeySetMalformed, format!("{} is not UTF-8 text", path.display())))?;
    KeySet::from_json(&text).map_err(|e| Error::new(e.code(), format!("{}: {e}", path.display())))
}
