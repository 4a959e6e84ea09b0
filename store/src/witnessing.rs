//! What a log keeps of its witnesses (SPEC §16, §22.4): the size each witness
//! last said it holds (`witness/state.json`), so that the next `add-checkpoint` states
//! it as its old size, the cosigned checkpoints (`witness/<size>.cosigned`) and the
//! policy they were checked against (`witness/policy`); and a record's tlog-proof,
//! which carries the newest cosigned checkpoint covering it.
//!
//! Like timestamps, these are written beside the log without its writer lock:
//! they are evidence about checkpoints the log stores, not part of its history.

use std::collections::BTreeMap;
use std::path::Path;

use evidentia::json::{Number, Value, parse};
use evidentia::{Error, ErrorCode, Policy, Receipt, Result, TlogProof, merge_notes, read_checkpoint};

use crate::Entry;
use crate::fsio::{Fs, Wait, lock_exclusive, read_regular};
use crate::reader::LogReader;

/// The folder of a log's witness files.
pub(crate) const WITNESS_DIR: &str = "witness";
const STATE_FILE: &str = "state.json";
/// The tlog-policy the last cosigned checkpoint was stored under.
const POLICY_FILE: &str = "policy";
/// Held while a witness file is read, changed and replaced, so that two rounds
/// at once lose neither's sizes nor cosignatures.
const LOCK_FILE: &str = ".lock";
const STATE_VERSION: u32 = 1;
/// The largest witness file read: a note is at most 64 KiB, a state file holds
/// at most a few hundred witnesses.
const MAX_FILE: u64 = 1 << 20;

/// The witness folder, made if missing, and its lock, held until dropped.
fn locked_folder(dir: &Path) -> Result<(Fs, std::path::PathBuf, std::fs::File)> {
    let fs = Fs::new(None);
    let folder = dir.join(WITNESS_DIR);
    fs.create_folder(&folder)?;
    let lock = lock_exclusive(
        &fs,
        &folder.join(LOCK_FILE),
        Wait::For(std::time::Duration::from_secs(60)),
        "another process is changing the log's witness files",
    )?;
    Ok((fs, folder, lock))
}

fn corrupt(path: &Path, what: &str) -> Error {
    Error::new(ErrorCode::LogCorrupt, format!("{}: {what}", path.display()))
}

/// The size each witness last said it holds for this log (by cosigning a
/// checkpoint of that size, or in a 409 answer), by the witness's vkey; empty
/// before the first.
///
/// # Errors
/// [`ErrorCode::LogCorrupt`] for a state file that is not what this store writes;
/// [`ErrorCode::Io`].
pub fn witness_sizes(dir: &Path) -> Result<BTreeMap<String, u64>> {
    let path = dir.join(WITNESS_DIR).join(STATE_FILE);
    let Some(bytes) = read_regular(&path, MAX_FILE)? else { return Ok(BTreeMap::new()) };
    let value = parse(&bytes).map_err(|e| corrupt(&path, &format!("not JSON: {e}")))?;
    if value.get("version").and_then(Value::as_number).and_then(Number::as_safe_u64) != Some(u64::from(STATE_VERSION)) {
        return Err(corrupt(&path, "not a witness state of version 1"));
    }
    let Some(Value::Object(members)) = value.get("sizes") else {
        return Err(corrupt(&path, "no 'sizes' object"));
    };
    members
        .iter()
        .map(|(vkey, size)| match size.as_str().and_then(|s| s.parse::<u64>().ok()) {
            Some(size) => Ok((vkey.clone(), size)),
            None => Err(corrupt(&path, "a size is not a whole number in decimal text")),
        })
        .collect()
}

/// Remembers that the witness with `vkey` holds a checkpoint of `size` records of
/// this log (it cosigned it, or said so answering 409). The file is replaced
/// atomically, under the witness folder's lock.
///
/// # Errors
/// As [`witness_sizes`]; [`ErrorCode::Io`].
pub fn record_witness_size(dir: &Path, vkey: &str, size: u64) -> Result<()> {
    let (fs, folder, _lock) = locked_folder(dir)?;
    let mut sizes = witness_sizes(dir)?;
    sizes.insert(vkey.to_owned(), size);
    // Sizes as decimal text: a JSON number holds only 2^53 exactly.
    let members: Vec<(String, Value)> =
        sizes.into_iter().map(|(vkey, size)| (vkey, Value::from(size.to_string()))).collect();
    let state = Value::object([("sizes", Value::object(members)), ("version", Value::from(STATE_VERSION))]);
    let mut bytes = evidentia::canonicalize_value(&state)?;
    bytes.push(b'\n');
    fs.replace(&folder, STATE_FILE, &bytes)
}

/// Stores a cosigned checkpoint: the note of a checkpoint the log stores, with
/// witness cosignature lines added, which the caller verified; merged with the
/// lines stored for that size before (a key keeps the line stored first, see
/// [`evidentia::merge_notes`]). Keeps `policy`, the tlog-policy whose quorum its
/// cosignatures meet, as the log's witness policy (none for a note kept although
/// it does not meet its policy: the one kept before stays): evidence packages
/// carry it with the newest cosigned checkpoint that meets it. Returns the size.
///
/// # Errors
/// [`ErrorCode::CheckpointMalformed`] for a note that is not a signed checkpoint;
/// [`ErrorCode::PolicyMalformed`]; [`ErrorCode::InvalidArgument`] when the log
/// stores no checkpoint of that size, or one of another root or origin;
/// [`ErrorCode::Io`].
pub fn store_cosigned(dir: &Path, note: &str, policy: Option<&str>) -> Result<u64> {
    let checkpoint = read_checkpoint(note)?;
    policy.map(Policy::parse).transpose()?;
    let reader = LogReader::open(dir)?;
    let stored = reader.checkpoint_of_size(Some(checkpoint.size)).map_err(|_| {
        Error::new(ErrorCode::InvalidArgument, format!("the log stores no checkpoint of size {}", checkpoint.size))
    })?;
    if read_checkpoint(&stored.note)? != checkpoint {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("the note is not the log's checkpoint of size {}", checkpoint.size),
        ));
    }
    let (fs, folder, _lock) = locked_folder(dir)?;
    let merged = match cosigned_checkpoint(dir, checkpoint.size)? {
        Some(before) => merge_notes(&before, note)?,
        None => note.to_owned(),
    };
    fs.replace(&folder, &format!("{}.cosigned", checkpoint.size), merged.as_bytes())?;
    if let Some(policy) = policy {
        fs.replace(&folder, POLICY_FILE, policy.as_bytes())?;
    }
    Ok(checkpoint.size)
}

/// The witness policy the log keeps (the one its last cosigned checkpoint was
/// stored under), if any.
///
/// # Errors
/// [`ErrorCode::LogCorrupt`] for a file that is not UTF-8; [`ErrorCode::Io`].
pub fn witness_policy(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(WITNESS_DIR).join(POLICY_FILE);
    read_regular(&path, MAX_FILE)?
        .map(|bytes| String::from_utf8(bytes).map_err(|_| corrupt(&path, "not UTF-8 text")))
        .transpose()
}

/// The size of the largest checkpoint stored cosigned (`witness/<size>.cosigned`),
/// 0 for none.
pub(crate) fn largest_cosigned_size(dir: &Path) -> Result<u64> {
    let folder = dir.join(WITNESS_DIR);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(crate::fsio::io_error("read", &folder, &e)),
    };
    let mut largest = 0;
    for entry in entries {
        let entry = entry.map_err(|e| crate::fsio::io_error("read", &folder, &e))?;
        let name = entry.file_name();
        let size = name.to_str().and_then(|n| n.strip_suffix(".cosigned")).and_then(|n| n.parse::<u64>().ok());
        largest = largest.max(size.unwrap_or(0));
    }
    Ok(largest)
}

/// The cosigned checkpoint of `size` the log keeps, if any.
///
/// # Errors
/// [`ErrorCode::LogCorrupt`] for a file that is not UTF-8; [`ErrorCode::Io`].
pub fn cosigned_checkpoint(dir: &Path, size: u64) -> Result<Option<String>> {
    let path = dir.join(WITNESS_DIR).join(format!("{size}.cosigned"));
    read_regular(&path, MAX_FILE)?
        .map(|bytes| String::from_utf8(bytes).map_err(|_| corrupt(&path, "not UTF-8 text")))
        .transpose()
}

/// Record `index`'s c2sp.org/tlog-proof (SPEC §22.3) and its entry, the record's
/// bytes: the inclusion proof to the checkpoint of `size` (as witnesses cosigned
/// it, when the log keeps that), or by default to the newest checkpoint covering
/// the record that the log keeps cosigned, else to the newest checkpoint.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] when no checkpoint (of that size) covers the
/// record; [`ErrorCode::LogCorrupt`]; [`ErrorCode::Io`].
pub fn record_tlog_proof(dir: &Path, index: u64, size: Option<u64>) -> Result<(TlogProof, Vec<u8>)> {
    let reader = LogReader::open(dir)?;
    let note = match size {
        Some(size) => match cosigned_checkpoint(dir, size)? {
            Some(note) => note,
            None => reader.checkpoint_of_size(Some(size))?.note,
        },
        None => {
            let mut newest_cosigned = None;
            for size in reader.checkpoint_sizes().into_iter().rev().take_while(|size| *size > index) {
                if let Some(note) = cosigned_checkpoint(dir, size)? {
                    newest_cosigned = Some(note);
                    break;
                }
            }
            match newest_cosigned {
                Some(note) => note,
                None => reader.checkpoint_of_size(None)?.note,
            }
        }
    };
    let checkpoint_size = read_checkpoint(&note)?.size;
    if index >= checkpoint_size {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("record {index} is not covered by the checkpoint of {checkpoint_size} records"),
        ));
    }
    let proof = reader.inclusion_proof(index, Some(checkpoint_size))?;
    let entry = match reader.entry(index)? {
        Entry::Receipt { receipt, .. } => Receipt::parse(&receipt)?.record_bytes().to_vec(),
        Entry::Record { record, .. } => record,
    };
    Ok((TlogProof { extra: None, index, hashes: proof.hashes, checkpoint: note }, entry))
}
