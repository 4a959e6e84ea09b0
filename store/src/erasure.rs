//! Erasing a record's event (SPEC.md §27.3), and the legal holds that prevent it.
//!
//! An erasure appends a signed erasure record naming the record, then overwrites
//! the record's stored event and salt with zeros in place, in its segment (or its
//! archived copy), so that no offset moves and the frame stays valid. A journal,
//! `erasing.json`, flushed before the erasure record is appended and removed once
//! every copy is gone, makes opening the log finish an erasure a crash interrupted.
//! Besides the segment, the event's bytes may be in the field index (rebuilt) and in
//! `cut/`, which keeps bytes of unacknowledged appends, perhaps a torn copy of the
//! event (emptied).

use std::path::Path;

use evidentia::json::{Number, Value, parse};
use evidentia::{Digest, Erasure, Error, ErrorCode, Result, Signer, StoredEvent, Timestamp, erasure_of, key_record_of};

use crate::archive::Manifest;
use crate::config::{CUT_DIR, SEGMENTS_DIR};
use crate::frame;
use crate::fsio::{Fs, io_error, read_regular};
use crate::segments::EntryRef;
use crate::writer::{AppendOptions, Appended, NewEvent, Writer};

/// The legal holds of a log.
pub(crate) const HOLDS_FILE: &str = "holds.json";
/// The journal of an erasure in progress.
pub(crate) const ERASING_FILE: &str = "erasing.json";
/// The largest holds file read.
const MAX_HOLDS_FILE: u64 = 16 * 1024 * 1024;

/// A legal hold: the record's event may not be erased until it is released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    /// The record held.
    pub seq: u64,
    /// Why (a case or matter reference).
    pub reason: String,
    /// When the hold was set.
    pub since: Timestamp,
}

impl Hold {
    /// The hold as JSON, as `holds.json` and the bindings give it:
    /// `{"reason", "seq", "since"}`.
    pub fn to_value(&self) -> Value {
        Value::object([
            ("reason", Value::from(self.reason.as_str())),
            ("seq", count(self.seq)),
            ("since", Value::string(self.since.to_string())),
        ])
    }
}

fn corrupt(path: &Path, why: &str) -> Error {
    Error::new(ErrorCode::LogCorrupt, format!("{} is damaged: {why}", path.display()))
}

fn count(n: u64) -> Value {
    Value::Number(i64::try_from(n).ok().and_then(|n| Number::from_i64(n).ok()).unwrap_or(Number::from(0)))
}

/// The log's holds, by sequence number.
pub(crate) fn read_holds(dir: &Path) -> Result<Vec<Hold>> {
    let path = dir.join(HOLDS_FILE);
    let Some(bytes) = read_regular(&path, MAX_HOLDS_FILE)? else { return Ok(Vec::new()) };
    let value = parse(&bytes).map_err(|e| corrupt(&path, &format!("not JSON: {e}")))?;
    let items = value.get("holds").and_then(Value::as_array).ok_or_else(|| corrupt(&path, "no 'holds' list"))?;
    items
        .iter()
        .map(|item| {
            let seq = item.get("seq").and_then(Value::as_number).and_then(Number::as_safe_u64);
            let reason = item.get("reason").and_then(Value::as_str);
            let since = item.get("since").and_then(Value::as_str).and_then(|t| Timestamp::parse(t).ok());
            match (seq, reason, since) {
                (Some(seq), Some(reason), Some(since)) => Ok(Hold { seq, reason: reason.to_owned(), since }),
                _ => Err(corrupt(&path, "a hold is not a seq, a reason and a time")),
            }
        })
        .collect()
}

pub(crate) fn write_holds(fs: &Fs, dir: &Path, holds: &[Hold]) -> Result<()> {
    let items = holds.iter().map(Hold::to_value);
    let value = Value::object([("holds", Value::Array(items.collect()))]);
    fs.replace(dir, HOLDS_FILE, evidentia::json::to_pretty_string(&value)?.as_bytes())
}

/// The journal of an erasure: which record is being erased, the log's size before
/// its erasure record (which is the record at that position), and, once known,
/// the overwrite to make: the segment file's name, the frame's offset, the frame's
/// payload up to its stored event (the entry's kind and record), and the stored
/// event's length. The overwrite is redone before recovery reads a segment, so a
/// frame a crash left half overwritten is whole again before anything judges it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Journal {
    seq: u64,
    size: u64,
    overwrite: Option<Overwrite>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Overwrite {
    name: String,
    offset: u64,
    prefix: Vec<u8>,
    event_len: u64,
}

impl Overwrite {
    /// The frame as the erasure leaves it.
    fn frame(&self) -> Vec<u8> {
        let mut payload = self.prefix.clone();
        payload.resize(self.prefix.len() + self.event_len as usize, 0);
        let mut framed = Vec::with_capacity(frame::HEADER + payload.len());
        frame::encode(&payload, &mut framed);
        framed
    }

    /// Writes the frame over the copy at `path`, after checking that the frame
    /// there is the same entry (same length, same kind and record): the journal
    /// never makes the writer overwrite anything else.
    fn apply(&self, fs: &Fs, path: &Path) -> Result<()> {
        let framed = self.frame();
        let file = std::fs::File::open(path).map_err(|e| io_error("open", path, &e))?;
        let mut existing = vec![0u8; frame::HEADER + self.prefix.len()];
        crate::fsio::read_at(&file, &mut existing, self.offset).map_err(|e| io_error("read", path, &e))?;
        if existing[..4] != framed[..4] || existing[4..8] != framed[4..8] || existing[frame::HEADER..] != self.prefix {
            return Err(Error::new(
                ErrorCode::LogCorrupt,
                format!(
                    "{} does not hold, at offset {}, the entry the erasure journal {ERASING_FILE} names: nothing was overwritten",
                    path.display(),
                    self.offset
                ),
            ));
        }
        let file = fs.open(path, false)?;
        fs.write_at(&file, path, &framed, self.offset)?;
        fs.sync(&file, path)
    }
}

/// The files that hold segment `name`: the one in `segments/`, and its archived
/// copy, either or both (a crash while archiving leaves both).
fn copies(dir: &Path, name: &str) -> Result<Vec<std::path::PathBuf>> {
    let mut paths = Vec::new();
    let live = dir.join(SEGMENTS_DIR).join(name);
    if std::fs::symlink_metadata(&live).is_ok_and(|m| m.file_type().is_file()) {
        paths.push(live);
    }
    if let Some(manifest) = Manifest::read(dir)?
        && manifest.segments.iter().any(|s| s.name == name)
    {
        let archived = manifest.dir.join(name);
        if std::fs::symlink_metadata(&archived).is_ok_and(|m| m.file_type().is_file()) {
            paths.push(archived);
        }
    }
    Ok(paths)
}

fn write_journal(fs: &Fs, dir: &Path, journal: &Journal) -> Result<()> {
    let mut members = vec![("seq", count(journal.seq)), ("size", count(journal.size))];
    if let Some(overwrite) = &journal.overwrite {
        members.push(("event_len", count(overwrite.event_len)));
        members.push(("name", Value::from(overwrite.name.as_str())));
        members.push(("offset", count(overwrite.offset)));
        members.push(("prefix", Value::string(evidentia::encoding::b64url(&overwrite.prefix))));
    }
    fs.replace(dir, ERASING_FILE, &evidentia::canonicalize_value(&Value::object(members))?)
}

fn read_journal(dir: &Path) -> Result<Option<Journal>> {
    let path = dir.join(ERASING_FILE);
    let Some(bytes) = read_regular(&path, 1 << 20)? else { return Ok(None) };
    let value = parse(&bytes).map_err(|e| corrupt(&path, &format!("not JSON: {e}")))?;
    let number = |name: &str| value.get(name).and_then(Value::as_number).and_then(Number::as_safe_u64);
    let (Some(seq), Some(size)) = (number("seq"), number("size")) else {
        return Err(corrupt(&path, "no seq and size"));
    };
    let overwrite = match value.get("name") {
        None => None,
        Some(name) => {
            let name = name.as_str().filter(|n| crate::archive::is_segment_name(n));
            let prefix = value.get("prefix").and_then(Value::as_str).and_then(evidentia::encoding::b64url_decode);
            match (name, number("offset"), prefix, number("event_len")) {
                (Some(name), Some(offset), Some(prefix), Some(event_len))
                    if prefix.len() as u64 + event_len <= frame::MAX_PAYLOAD as u64 =>
                {
                    Some(Overwrite { name: name.to_owned(), offset, prefix, event_len })
                }
                _ => {
                    return Err(corrupt(
                        &path,
                        "the overwrite is not a segment name, an offset, a prefix and a length",
                    ));
                }
            }
        }
    };
    Ok(Some(Journal { seq, size, overwrite }))
}

/// Redoes the overwrite an erasure journal names, if any: called first when a log
/// is opened for writing, before recovery reads the segments.
pub(crate) fn redo(fs: &Fs, dir: &Path) -> Result<()> {
    let Some(Journal { overwrite: Some(overwrite), .. }) = read_journal(dir)? else { return Ok(()) };
    for path in copies(dir, &overwrite.name)? {
        overwrite.apply(fs, &path)?;
    }
    Ok(())
}

fn remove_journal(fs: &Fs, dir: &Path) -> Result<()> {
    let path = dir.join(ERASING_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => fs.sync_dir(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("remove", &path, &e)),
    }
}

fn refused(message: String) -> Error {
    Error::new(ErrorCode::ErasureRefused, message)
}

/// Whether the event of record `seq`, stored as `stored`, may be erased: not
/// when it was already (RECORD_ERASED), nor for a version-1 record, the log's
/// own key or erasure record, or an event not kept (ERASURE_REFUSED). Both
/// stores ask this.
pub(crate) fn check_erasable(seq: u64, stored: &[u8]) -> Result<()> {
    match StoredEvent::read(stored) {
        Ok(Some(StoredEvent::Erased)) => {
            Err(Error::new(ErrorCode::RecordErased, format!("the event of record {seq} was erased already")))
        }
        Ok(Some(StoredEvent::Salted { event, .. } | StoredEvent::Plain(event)))
            if key_record_of(event).is_some() || erasure_of(event).is_some() =>
        {
            Err(refused(format!("record {seq} is the log's own key or erasure record: it is kept")))
        }
        Ok(Some(StoredEvent::Salted { .. })) => Ok(()),
        Ok(Some(StoredEvent::Plain(_))) => Err(refused(format!(
            "record {seq} is of version 1: its event digest is not salted, so erasing the event would leave it open to guessing; only the events of version-2 records (a log created with records of version 2) can be erased"
        ))),
        Ok(None) => Err(refused(format!("the event of record {seq} is not kept"))),
        Err(e) => Err(Error::new(ErrorCode::LogCorrupt, format!("record {seq}: {}", e.message()))),
    }
}

/// The refusal to erase a record under `hold`.
pub(crate) fn held(hold: &Hold) -> Error {
    refused(format!(
        "record {} is under a legal hold since {} ({}): release the hold first",
        hold.seq, hold.since, hold.reason
    ))
}

/// A hold's reason: 1 to 1024 bytes of text without control characters.
pub(crate) fn check_hold_reason(reason: &str) -> Result<()> {
    if reason.is_empty() || reason.len() > evidentia::MAX_ERASURE_REASON || reason.chars().any(char::is_control) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "a hold's reason is 1 to 1024 bytes of text without control characters",
        ));
    }
    Ok(())
}

impl Writer {
    /// Sets a hold on record `seq` (again with a new reason, if held already).
    pub(crate) fn hold(&mut self, seq: u64, reason: &str) -> Result<()> {
        if seq >= self.segments.count {
            return Err(no_record(seq, self.segments.count));
        }
        check_hold_reason(reason)?;
        let since = self.clock.map_or_else(crate::now, Ok)?;
        let mut holds = read_holds(&self.dir)?;
        holds.retain(|hold| hold.seq != seq);
        holds.push(Hold { seq, reason: reason.to_owned(), since });
        holds.sort_by_key(|hold| hold.seq);
        write_holds(&self.fs, &self.dir, &holds)
    }

    /// Releases the hold on record `seq`; whether there was one.
    pub(crate) fn release(&mut self, seq: u64) -> Result<bool> {
        let mut holds = read_holds(&self.dir)?;
        let before = holds.len();
        holds.retain(|hold| hold.seq != seq);
        if holds.len() == before {
            return Ok(false);
        }
        write_holds(&self.fs, &self.dir, &holds)?;
        Ok(true)
    }

    /// Erases the event of record `seq`: checks it may be, appends the erasure
    /// record `key` signs, and removes every copy of the event and its salt.
    pub(crate) fn erase(&mut self, key: &dyn Signer, seq: u64, reason: &str) -> Result<Appended> {
        self.finish_erasure()?;
        let count = self.segments.count;
        if seq >= count {
            return Err(no_record(seq, count));
        }
        let entry = self.view().entry(seq)?;
        check_erasable(seq, entry.stored_event())?;
        if let Some(hold) = read_holds(&self.dir)?.into_iter().find(|hold| hold.seq == seq) {
            return Err(held(&hold));
        }
        let erasure = Erasure::new(seq, Digest::sha256(&entry.record_bytes()?), reason)?;
        let event = erasure.to_event();
        write_journal(&self.fs, &self.dir, &Journal { seq, size: count, overwrite: None })?;
        let events = [NewEvent { json: &event, nonce: None }];
        // An erasure record is of version 1, so that every verifier reads it.
        let appended =
            self.commit(key, &events, vec![event.clone()], &AppendOptions::default(), evidentia::RecordVersion::V1);
        match appended {
            Ok(mut appended) => {
                self.finish_or_repair()?;
                Ok(appended.remove(0))
            }
            // Stored but not sealed: the next append seals it; the event goes now.
            Err(e) if e.code() == ErrorCode::RecordsUnsealed => {
                self.finish_or_repair()?;
                Err(e)
            }
            Err(e) => {
                // Nothing was appended: the journal names a record that is not there.
                if self.segments.count == count {
                    remove_journal(&self.fs, &self.dir)?;
                }
                Err(e)
            }
        }
    }

    /// [`Writer::finish_erasure`]; when it fails, the files are repaired before the
    /// next change (which redoes the overwrite from the journal).
    fn finish_or_repair(&mut self) -> Result<()> {
        let finished = self.finish_erasure();
        if finished.is_err() {
            self.damaged = true;
        }
        finished
    }

    /// Finishes the erasure the journal names, if any: once its erasure record is
    /// in the log, every copy of the event is removed; else the journal is dropped.
    /// Called when the log is opened for writing and before each erasure.
    pub(crate) fn finish_erasure(&mut self) -> Result<()> {
        let Some(Journal { seq, size, .. }) = read_journal(&self.dir)? else { return Ok(()) };
        // Files a failed write left are repaired first, so the record at `size` is
        // read for sure: the journal goes only once it is known not to be there.
        self.repair()?;
        let appended = match size < self.segments.count {
            true => erasure_of(self.view().entry(size)?.event()).is_some_and(|e| e.is_ok_and(|e| e.seq == seq)),
            false => false,
        };
        if appended {
            self.wipe(seq, size)?;
        }
        remove_journal(&self.fs, &self.dir)
    }

    /// Overwrites the stored event of record `seq` with zeros in every copy of its
    /// segment, and removes the other copies of the event; `size` is the journal's.
    fn wipe(&mut self, seq: u64, size: u64) -> Result<()> {
        let (segment, offset) = self.index.get(seq)?;
        let segment = self.segments.segments.get(segment).ok_or_else(|| {
            Error::new(ErrorCode::LogCorrupt, format!("the index names a missing segment for entry {seq}"))
        })?;
        let name = segment.path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        // Read without its CRC: a frame half overwritten is whole again once the
        // journal's overwrite was redone, but one read before is not. What an
        // erasure overwrites is the event alone, and the record is checked.
        let corrupt = |why: String| Error::new(ErrorCode::LogCorrupt, format!("entry {seq}: {why}"));
        let payload = segment.unchecked_frame_at(offset).map_err(corrupt)?;
        let entry = EntryRef::decode(&payload).map_err(corrupt)?;
        if entry.record_bytes().ok().and_then(|bytes| evidentia::Record::from_bytes(&bytes).ok()).map(|r| r.seq)
            != Some(seq)
        {
            return Err(corrupt("the index does not point at its record".into()));
        }
        let event_len = entry.stored_event().len();
        let prefix = payload[..payload.len() - event_len].to_vec();
        self.purge_cut()?;
        let overwrite = Overwrite { name: name.clone(), offset, prefix, event_len: event_len as u64 };
        write_journal(&self.fs, &self.dir, &Journal { seq, size, overwrite: Some(overwrite.clone()) })?;
        for path in copies(&self.dir, &name)? {
            overwrite.apply(&self.fs, &path)?;
        }
        // An archived copy's digest is in the manifest: it changed.
        if let Some(mut manifest) = Manifest::read(&self.dir)?
            && let Some(archived) = manifest.segments.iter_mut().find(|s| s.name == name)
        {
            let path = manifest.dir.join(&name);
            if let Some(bytes) = read_regular(&path, archived.size)?
                && archived.sha256 != Digest::sha256(&bytes)
            {
                archived.sha256 = Digest::sha256(&bytes);
                manifest.write(&self.fs, &self.dir)?;
            }
        }
        if !self.config.index_fields.is_empty() {
            let config = self.config.clone();
            self.build_field_index(&config)?;
        }
        Ok(())
    }

    /// Removes the files of `cut/`: bytes of appends that were never acknowledged,
    /// kept for inspection by hand, one of which may hold this event, or a torn part
    /// of it that no search would recognize.
    fn purge_cut(&self) -> Result<()> {
        let folder = self.dir.join(CUT_DIR);
        let Ok(items) = std::fs::read_dir(&folder) else { return Ok(()) };
        let mut removed = false;
        for item in items {
            let path = item.map_err(|e| io_error("read", &folder, &e))?.path();
            if std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.file_type().is_file()) {
                std::fs::remove_file(&path).map_err(|e| io_error("remove", &path, &e))?;
                removed = true;
            }
        }
        if removed {
            self.fs.sync_dir(&folder)?;
        }
        Ok(())
    }
}

pub(crate) fn no_record(seq: u64, count: u64) -> Error {
    Error::new(ErrorCode::InvalidArgument, format!("the log has no record {seq}: it holds {count} records"))
}
