//! A log directory's names, its configuration (`log.json`) and its key history
//! (`keys.jwks`).

use std::path::{Path, PathBuf};

use evidentia::json::{Number, Value, parse};
use evidentia::{Error, ErrorCode, KeySet, LogKey, RecordVersion, Result};

use crate::fsio::read_regular;

pub(crate) const CONFIG_FILE: &str = "log.json";
pub(crate) const KEYS_FILE: &str = "keys.jwks";
pub(crate) const SEGMENTS_DIR: &str = "segments";
pub(crate) const CHECKPOINTS_FILE: &str = "checkpoints.log";
pub(crate) const TREE_FILE: &str = "tree";
pub(crate) const INDEX_FILE: &str = "index";
pub(crate) const NONCES_FILE: &str = "nonces";
pub(crate) const FIELDS_FILE: &str = "fields";
pub(crate) const POSTINGS_FILE: &str = "fields.postings";
pub(crate) const STATE_FILE: &str = "state.json";
pub(crate) const TIMESTAMPS_DIR: &str = "timestamps";
/// What recovery cut off (the debris of unfinished writes), kept for inspection.
pub(crate) const CUT_DIR: &str = "cut";
/// Held exclusively by the one process that writes the log, for as long as it does.
pub(crate) const WRITER_LOCK: &str = ".lock";
/// Held exclusively while a writer changes the files, and shared while a reader
/// takes its snapshot, so that a reader never sees half of an append.
pub(crate) const COMMIT_LOCK: &str = ".commit";

/// The most payload fields a log indexes.
pub const MAX_INDEX_FIELDS: usize = 16;
/// The longest name of an indexed field, in bytes.
const MAX_FIELD_NAME: usize = 64;

/// Checks the name of a field to index: 1 to 64 bytes of printable ASCII
/// (space to `~`).
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] otherwise.
pub fn validate_index_field(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_FIELD_NAME || !name.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("an indexed field's name is 1 to {MAX_FIELD_NAME} bytes of printable ASCII"),
        ));
    }
    Ok(())
}

/// Checks a list of fields to index: valid names, at most 16, none twice.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] otherwise.
pub(crate) fn validate_index_fields(names: &[String]) -> Result<()> {
    if names.len() > MAX_INDEX_FIELDS {
        return Err(Error::new(ErrorCode::InvalidArgument, format!("a log indexes at most {MAX_INDEX_FIELDS} fields")));
    }
    for (i, name) in names.iter().enumerate() {
        validate_index_field(name)?;
        if names[..i].contains(name) {
            return Err(Error::new(ErrorCode::InvalidArgument, format!("the field '{name}' is indexed already")));
        }
    }
    Ok(())
}

const FORMAT: &str = "evidentia-log";

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

/// The scheme of a signing key kept in a PKCS#11 token (RFC 7512).
const KEY_URI_SCHEME: &str = "pkcs11:";

/// A `pkcs11:` URI as log.json keeps it: without a `pin-value` query attribute, so
/// that a PIN never reaches the disk (callers refuse such URIs before; this is the
/// last guard). A `pin-source` (a file name) is kept.
fn storable_uri(uri: &str) -> String {
    match uri.split_once('?') {
        None => uri.to_owned(),
        Some((path, query)) => {
            let kept: Vec<&str> = query.split('&').filter(|a| !a.starts_with("pin-value=")).collect();
            if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
        }
    }
}

/// A log's configuration, `log.json`.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub log_id: String,
    pub mode: Mode,
    /// The signing key's file, or a `pkcs11:` URI of a key in a token (written as
    /// the member `key_uri`, so that no reader takes it for a file name).
    pub key_file: Option<PathBuf>,
    /// The payload fields the log indexes (`index_fields`), in order.
    pub index_fields: Vec<String>,
    /// The log's Ed25519 note key, when its checkpoints carry that signature too.
    pub note_key: Option<NoteKeyConfig>,
    /// The version of the records the log writes, log.json's `version` (SPEC.md
    /// §16): 1, or 2 for records that commit to salted events, which can be erased.
    pub record_version: RecordVersion,
}

/// A log's Ed25519 note key (SPEC §10.1): its vkey (`note_vkey`), and where the
/// private key is kept (`note_key_file`, or `note_key_uri` for a token), if the
/// log was told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NoteKeyConfig {
    pub vkey: String,
    pub key_file: Option<PathBuf>,
}

/// The `(name, value)` member of log.json that says where a key is kept: a file
/// (`<prefix>_file`) or a `pkcs11:` URI (`<prefix>_uri`, without a `pin-value`).
fn key_reference_member(prefix: &str, path: &Path) -> (String, Value) {
    let text = path.to_string_lossy().into_owned();
    match text.strip_prefix(KEY_URI_SCHEME) {
        Some(_) => (format!("{prefix}_uri"), Value::from(storable_uri(&text))),
        None => (format!("{prefix}_file"), Value::from(text)),
    }
}

/// Reads the `<prefix>_file` or `<prefix>_uri` member of log.json.
fn read_key_reference(value: &Value, prefix: &str) -> std::result::Result<Option<PathBuf>, String> {
    match (value.get(&format!("{prefix}_file")), value.get(&format!("{prefix}_uri"))) {
        (None, None) => Ok(None),
        (Some(Value::String(path)), None) => Ok(Some(PathBuf::from(path))),
        (None, Some(Value::String(uri))) if uri.starts_with(KEY_URI_SCHEME) => Ok(Some(PathBuf::from(uri))),
        (Some(_), Some(_)) => Err(format!("both '{prefix}_file' and '{prefix}_uri'")),
        (Some(_), None) => Err(format!("'{prefix}_file' is not a string")),
        (None, Some(_)) => Err(format!("'{prefix}_uri' is not a pkcs11: URI")),
    }
}

/// Checks that `vkey` is an Ed25519 note key named after the log.
pub(crate) fn check_note_vkey(vkey: &str, log_id: &str) -> Result<LogKey> {
    let key = LogKey::from_vkey(vkey)?;
    if !key.is_ed25519() || key.name() != log_id {
        return Err(Error::new(
            ErrorCode::KeyUnsupported,
            format!("a log's note key is an Ed25519 verifier key named after the log ({log_id})"),
        ));
    }
    Ok(key)
}

impl Config {
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let mut members = vec![
            ("format".to_owned(), Value::from(FORMAT)),
            ("log_id".to_owned(), Value::from(self.log_id.as_str())),
            ("mode".to_owned(), Value::from(self.mode.name())),
            ("version".to_owned(), Value::from(self.record_version.number())),
        ];
        if let Some(key_file) = &self.key_file {
            members.push(key_reference_member("key", key_file));
        }
        if !self.index_fields.is_empty() {
            let names = self.index_fields.iter().map(|n| Value::from(n.as_str())).collect();
            members.push(("index_fields".to_owned(), Value::Array(names)));
        }
        if let Some(note_key) = &self.note_key {
            members.push(("note_vkey".to_owned(), Value::from(note_key.vkey.as_str())));
            if let Some(key_file) = &note_key.key_file {
                members.push(key_reference_member("note_key", key_file));
            }
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
        let record_version = value
            .get("version")
            .and_then(Value::as_number)
            .and_then(Number::as_safe_u64)
            .and_then(RecordVersion::from_number)
            .ok_or_else(|| invalid("unsupported log format version: 1 and 2 are"))?;
        let log_id = value.get("log_id").and_then(Value::as_str).ok_or_else(|| invalid("no 'log_id'"))?;
        evidentia::validate_log_id(log_id).map_err(|e| invalid(e.message()))?;
        let mode = value.get("mode").and_then(Value::as_str).ok_or_else(|| invalid("no 'mode'"))?;
        let mode = Mode::from_name(mode).map_err(|e| invalid(e.message()))?;
        let key_file = read_key_reference(&value, "key").map_err(|e| invalid(&e))?;
        let note_key = match value.get("note_vkey") {
            None => None,
            Some(Value::String(vkey)) => {
                check_note_vkey(vkey, log_id).map_err(|e| invalid(&format!("'note_vkey': {}", e.message())))?;
                let key_file = read_key_reference(&value, "note_key").map_err(|e| invalid(&e))?;
                Some(NoteKeyConfig { vkey: vkey.clone(), key_file })
            }
            Some(_) => return Err(invalid("'note_vkey' is not a string")),
        };
        let index_fields = match value.get("index_fields") {
            None => Vec::new(),
            Some(Value::Array(names)) if names.len() <= MAX_INDEX_FIELDS => names
                .iter()
                .map(|name| {
                    name.as_str().map(str::to_owned).ok_or_else(|| invalid("'index_fields' holds a non-string"))
                })
                .collect::<Result<Vec<_>>>()?,
            Some(Value::Array(_)) => {
                return Err(invalid(&format!("'index_fields' names more than {MAX_INDEX_FIELDS} fields")));
            }
            Some(_) => return Err(invalid("'index_fields' is not an array")),
        };
        validate_index_fields(&index_fields).map_err(|e| invalid(&format!("'index_fields': {}", e.message())))?;
        Ok(Config { log_id: log_id.to_owned(), mode, key_file, index_fields, note_key, record_version })
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

#[cfg(test)]
mod key_uri_tests {
    use super::*;

    #[test]
    fn token_keys_are_stored_as_key_uri_without_a_pin() {
        let dir = std::env::temp_dir().join(format!("evidentia-config-key-uri-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let uri = "pkcs11:token=t;object=k?pin-value=1234&module-path=/m.so";
        let config = Config {
            log_id: "example.com/log".into(),
            mode: Mode::Receipts,
            key_file: Some(PathBuf::from(uri)),
            index_fields: Vec::new(),
            note_key: None,
            record_version: RecordVersion::V1,
        };
        let json = String::from_utf8(config.to_json()).unwrap();
        assert!(json.contains("\"key_uri\":\"pkcs11:token=t;object=k?module-path=/m.so\""), "{json}");
        assert!(!json.contains("1234") && !json.contains("key_file"), "{json}");
        std::fs::write(dir.join(CONFIG_FILE), &json).unwrap();
        let read = Config::read(&dir).unwrap();
        assert_eq!(read.key_file, Some(PathBuf::from("pkcs11:token=t;object=k?module-path=/m.so")));
        assert_eq!(storable_uri("pkcs11:object=k?pin-value=1"), "pkcs11:object=k");
        let both = json.replace('}', ",\"key_file\":\"/k.jwk\"}");
        std::fs::write(dir.join(CONFIG_FILE), both).unwrap();
        assert_eq!(Config::read(&dir).unwrap_err().code(), ErrorCode::LogConfigInvalid);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
