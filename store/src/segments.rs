//! Segment files: the log's entries, framed, in files named by the sequence number
//! of their first entry. A new segment starts once one reaches 64 MiB.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use evidentia::{Error, ErrorCode, Receipt, Record, Result};

use crate::archive::Manifest;
use crate::frame::{self, Decoded, Tail};
use crate::fsio::{Fs, check_regular, io_error, read_at, read_regular, regular_or_missing};

/// A new segment is started once the current one reaches this size.
pub(crate) const MAX_SEGMENT: u64 = 64 * 1024 * 1024;
/// No segment this store writes is larger: a full one plus the largest group of
/// appends (256 MiB) that can follow before the next starts.
pub(crate) const MAX_SEGMENT_FILE: u64 = MAX_SEGMENT + 256 * 1024 * 1024;

const RECEIPT: u8 = 1;
const RECORD: u8 = 2;

/// One stored entry: a receipt (per-event signing) or a bare record (batch
/// signing), with the event as stored (SPEC.md §16.2: its canonical JSON, salted
/// for a version-2 record, or erased).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A receipt: the JWS exactly as signed.
    Receipt {
        /// The receipt.
        receipt: String,
        /// The event's canonical JSON.
        event: Vec<u8>,
    },
    /// A record of a batch-signed log: its canonical bytes.
    Record {
        /// The record.
        record: Vec<u8>,
        /// The event's canonical JSON.
        event: Vec<u8>,
    },
}

impl Entry {
    /// The entry borrowed.
    pub fn as_ref(&self) -> EntryRef<'_> {
        match self {
            Entry::Receipt { receipt, event } => EntryRef::Receipt { receipt, event },
            Entry::Record { record, event } => EntryRef::Record { record, event },
        }
    }

    /// Reads a frame payload.
    pub(crate) fn decode(payload: &[u8]) -> std::result::Result<Entry, String> {
        EntryRef::decode(payload).map(EntryRef::to_owned)
    }

    /// The event's canonical JSON: empty when it is not kept or was erased.
    pub fn event(&self) -> &[u8] {
        evidentia::stored_event_json(self.stored_event())
    }

    /// The event's canonical JSON, for a caller that needs it.
    ///
    /// # Errors
    /// RECORD_ERASED once the event was erased; LOG_CORRUPT for stored bytes in
    /// none of the forms of SPEC.md §16.2.
    pub fn readable_event(&self) -> Result<&[u8]> {
        match evidentia::StoredEvent::read(self.stored_event()) {
            Ok(Some(evidentia::StoredEvent::Erased)) => {
                Err(Error::new(ErrorCode::RecordErased, "the record's event was erased"))
            }
            Ok(stored) => Ok(stored.and_then(evidentia::StoredEvent::event).unwrap_or_default()),
            Err(e) => Err(Error::new(ErrorCode::LogCorrupt, e.message().to_owned())),
        }
    }

    /// The event as stored (SPEC.md §16.2): canonical JSON, salted for a version-2
    /// record, or erased.
    pub fn stored_event(&self) -> &[u8] {
        match self {
            Entry::Receipt { event, .. } | Entry::Record { event, .. } => event,
        }
    }

    /// The record's canonical bytes (for a receipt, its JWS payload).
    ///
    /// # Errors
    /// When a stored receipt cannot be read.
    pub fn record_bytes(&self) -> Result<Vec<u8>> {
        self.as_ref().record_bytes()
    }

    /// The record.
    ///
    /// # Errors
    /// When the stored receipt or record cannot be read.
    pub fn record(&self) -> Result<Record> {
        Record::from_bytes(&self.record_bytes()?)
    }
}

/// An entry borrowed from a segment's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryRef<'a> {
    /// A receipt and the event's canonical JSON.
    Receipt {
        /// The receipt.
        receipt: &'a str,
        /// The event.
        event: &'a [u8],
    },
    /// A record of a batch-signed log and the event's canonical JSON.
    Record {
        /// The record's canonical bytes.
        record: &'a [u8],
        /// The event.
        event: &'a [u8],
    },
}

impl<'a> EntryRef<'a> {
    /// The entry's first part: the receipt's text, or the record's bytes.
    pub fn first_part(&self) -> &'a [u8] {
        match self {
            EntryRef::Receipt { receipt, .. } => receipt.as_bytes(),
            EntryRef::Record { record, .. } => record,
        }
    }

    /// The event's canonical JSON: empty when it is not kept or was erased.
    pub fn event(&self) -> &'a [u8] {
        evidentia::stored_event_json(self.stored_event())
    }

    /// The event as stored (SPEC.md §16.2): canonical JSON, salted for a version-2
    /// record, or erased.
    pub fn stored_event(&self) -> &'a [u8] {
        match self {
            EntryRef::Receipt { event, .. } | EntryRef::Record { event, .. } => event,
        }
    }

    /// Reads a frame payload: kind ‖ length of the first part (u32 LE) ‖ first part ‖ event.
    pub(crate) fn decode(payload: &'a [u8]) -> std::result::Result<EntryRef<'a>, String> {
        if payload.len() < 5 {
            return Err("the entry is too short".into());
        }
        let len = u32::from_le_bytes([payload[1], payload[2], payload[3], payload[4]]) as usize;
        let first = payload.get(5..5 + len).ok_or("the entry's length field runs past its end")?;
        let event = &payload[5 + len..];
        match payload[0] {
            RECEIPT => match std::str::from_utf8(first) {
                Ok(receipt) => Ok(EntryRef::Receipt { receipt, event }),
                Err(_) => Err("the entry's receipt is not text".into()),
            },
            RECORD => Ok(EntryRef::Record { record: first, event }),
            kind => Err(format!("the entry has an unknown kind {kind}")),
        }
    }

    /// The size of the entry's frame payload.
    pub(crate) fn payload_len(self) -> usize {
        let (first, event) = match self {
            EntryRef::Receipt { receipt, event } => (receipt.len(), event.len()),
            EntryRef::Record { record, event } => (record.len(), event.len()),
        };
        5 + first + event
    }

    /// Appends the entry's frame payload to `out`: kind ‖ length of the first part
    /// (u32 LE) ‖ first part ‖ event.
    pub(crate) fn write_payload(self, out: &mut Vec<u8>) {
        let (kind, first, event) = match self {
            EntryRef::Receipt { receipt, event } => (RECEIPT, receipt.as_bytes(), event),
            EntryRef::Record { record, event } => (RECORD, record, event),
        };
        out.push(kind);
        out.extend_from_slice(&(first.len() as u32).to_le_bytes());
        out.extend_from_slice(first);
        out.extend_from_slice(event);
    }

    /// The record's canonical bytes (for a receipt, its JWS payload).
    ///
    /// # Errors
    /// When a stored receipt cannot be read.
    pub fn record_bytes(self) -> Result<Vec<u8>> {
        match self {
            EntryRef::Receipt { receipt, .. } => Ok(Receipt::parse(receipt)?.record_bytes().to_vec()),
            EntryRef::Record { record, .. } => Ok(record.to_vec()),
        }
    }

    /// An owned copy.
    pub fn to_owned(self) -> Entry {
        match self {
            EntryRef::Receipt { receipt, event } => {
                Entry::Receipt { receipt: receipt.to_owned(), event: event.to_vec() }
            }
            EntryRef::Record { record, event } => Entry::Record { record: record.to_vec(), event: event.to_vec() },
        }
    }
}

/// A segment file, opened for reading on first use.
#[derive(Debug)]
pub(crate) struct Segment {
    pub first_seq: u64,
    pub path: PathBuf,
    file: OnceLock<File>,
    /// For an archived segment, its size when archived.
    archived_size: Option<u64>,
}

impl Segment {
    fn new(first_seq: u64, path: PathBuf) -> Segment {
        Segment { first_seq, path, file: OnceLock::new(), archived_size: None }
    }

    /// Where the file is now: its path, or, when a log's segment has been archived
    /// since this segment was listed, the archived file (SPEC §16.1).
    pub(crate) fn current_path(&self) -> Result<PathBuf> {
        if let Some(size) = self.archived_size {
            return crate::archive::check_archived(&self.path, size).map(|()| self.path.clone());
        }
        if std::fs::symlink_metadata(&self.path).is_ok() {
            return Ok(self.path.clone());
        }
        let name = self.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let log_dir = self.path.parent().and_then(Path::parent);
        match log_dir.map(Manifest::read).transpose()?.flatten() {
            Some(manifest) => Ok(manifest.locate(name)?.unwrap_or_else(|| self.path.clone())),
            None => Ok(self.path.clone()),
        }
    }

    /// The file, opened for reading.
    pub(crate) fn file(&self) -> Result<&File> {
        if let Some(file) = self.file.get() {
            return Ok(file);
        }
        let path = self.current_path()?;
        regular_or_missing(&path)?;
        let file = File::open(&path).map_err(|e| io_error("open", &path, &e))?;
        Ok(self.file.get_or_init(|| file))
    }

    /// The file from `offset` on.
    pub(crate) fn read_from(&self, offset: u64) -> Result<Vec<u8>> {
        let path = self.current_path()?;
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io_error("read", &path, &e))?;
        check_regular(&path, &meta, MAX_SEGMENT_FILE)?;
        let mut file = File::open(&path).map_err(|e| io_error("open", &path, &e))?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset)).map_err(|e| io_error("read", &path, &e))?;
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_SEGMENT_FILE), &mut data)
            .map_err(|e| io_error("read", &path, &e))?;
        Ok(data)
    }

    /// The whole file.
    pub(crate) fn read(&self) -> Result<Vec<u8>> {
        let path = self.current_path()?;
        read_regular(&path, MAX_SEGMENT_FILE)?
            .ok_or_else(|| Error::new(ErrorCode::LogCorrupt, format!("{} is missing", path.display())))
    }

    /// The payload of the frame at `offset`.
    pub(crate) fn frame_at(&self, offset: u64) -> std::result::Result<Vec<u8>, String> {
        // An erasure overwrites a frame in place (SPEC.md §27.3): a read that met
        // it half written reads again.
        self.read_frame(offset).or_else(|_| self.read_frame(offset))
    }

    /// The payload of the frame at `offset`, without checking its CRC: for an
    /// erasure to finish overwriting a frame a crash left half overwritten.
    pub(crate) fn unchecked_frame_at(&self, offset: u64) -> std::result::Result<Vec<u8>, String> {
        let file = self.file().map_err(|e| e.message().to_owned())?;
        let mut header = [0u8; frame::HEADER];
        read_at(file, &mut header, offset).map_err(|_| "the index points past the end of its segment")?;
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        if header[..4] != frame::MAGIC || len > frame::MAX_PAYLOAD {
            return Err("the index does not point at a frame".into());
        }
        let mut payload = vec![0u8; len];
        read_at(file, &mut payload, offset + frame::HEADER as u64).map_err(|_| "the frame is cut short")?;
        Ok(payload)
    }

    fn read_frame(&self, offset: u64) -> std::result::Result<Vec<u8>, String> {
        let file = self.file().map_err(|e| e.message().to_owned())?;
        let mut header = [0u8; frame::HEADER];
        read_at(file, &mut header, offset).map_err(|_| "the index points past the end of its segment")?;
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        if header[..4] != frame::MAGIC || len > frame::MAX_PAYLOAD {
            return Err("the index does not point at a frame".into());
        }
        let mut data = vec![0u8; frame::HEADER + len];
        read_at(file, &mut data, offset).map_err(|_| "the frame is cut short")?;
        match frame::decode(&data, 0) {
            Decoded::Frame(..) => {
                data.drain(..frame::HEADER);
                Ok(data)
            }
            _ => Err("the frame is damaged".into()),
        }
    }
}

/// Where the last indexed entry begins: `(seq, offset)` in the last segment, when
/// the index's last slot points there credibly (the segment's first entry at offset
/// 0, or right after the intact entry before it). An append writes its index slots
/// only after it flushed its frames, so that entry was acknowledged, even when its
/// bytes have since been damaged.
pub(crate) fn last_indexed(segments: &[Segment], index: &crate::index::IndexFile) -> Option<(u64, u64)> {
    let last = segments.last()?;
    let seq = index.stored().ok()?.checked_sub(1)?;
    if seq < last.first_seq {
        return None;
    }
    let (segment, offset) = index.get(seq).ok()?;
    if segment + 1 != segments.len() {
        return None;
    }
    let credible = if seq == last.first_seq {
        offset == 0
    } else {
        let (before_segment, before) = index.get(seq - 1).ok()?;
        let payload = last.frame_at(before).ok()?;
        let record = Entry::decode(&payload).ok()?.record().ok()?;
        before_segment == segment && record.seq == seq - 1 && before + (frame::HEADER + payload.len()) as u64 == offset
    };
    credible.then_some((seq, offset))
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

/// The segments of a log, in order: those in `dir` (the log's `segments/`) and
/// those archived (SPEC §16.1), checked to be in the archive when read.
pub(crate) fn list(dir: &Path) -> Result<Vec<Segment>> {
    let mut segments = list_live(dir)?;
    if let Some(manifest) = dir.parent().map(Manifest::read).transpose()?.flatten() {
        let first_live = segments.first().map(|s| s.first_seq);
        for archived in &manifest.segments {
            if segments.iter().any(|s| s.path.file_name().and_then(|n| n.to_str()) == Some(archived.name.as_str())) {
                continue; // Archived, and not yet removed from the log: the same bytes.
            }
            let path = manifest.dir.join(&archived.name);
            let segment = Segment { archived_size: Some(archived.size), ..Segment::new(first_seq(&path)?, path) };
            // Only sealed segments are archived: every one comes before those the
            // log holds, and the last (the one written to) is never in the archive.
            if first_live.is_none_or(|live| live <= segment.first_seq) {
                return Err(Error::new(
                    ErrorCode::LogCorrupt,
                    format!(
                        "archive.json lists {} as archived, which is not before the segments the log holds",
                        archived.name
                    ),
                ));
            }
            segments.push(segment);
        }
        segments.sort_by_key(|s| s.first_seq);
    }
    Ok(segments)
}

/// The sequence number a segment file's name gives.
fn first_seq(path: &Path) -> Result<u64> {
    let stem = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".seg")).unwrap_or_default();
    // Sequence numbers stop at 2^53 (SPEC §6), far from overflowing a count.
    stem.parse::<u64>()
        .ok()
        .filter(|first| stem.len() == 20 && *first <= 1 << 53)
        .ok_or_else(|| Error::new(ErrorCode::LogCorrupt, format!("{} is not a segment name", path.display())))
}

/// The segment files in `dir`, in order.
pub(crate) fn list_live(dir: &Path) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error("read", dir, &e))? {
        let path = entry.map_err(|e| io_error("read", dir, &e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if !name.ends_with(".seg") {
            continue;
        }
        segments.push(Segment::new(first_seq(&path)?, path));
    }
    segments.sort_by_key(|s| s.first_seq);
    Ok(segments)
}

/// What is known of a segment's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Known {
    /// A segment before the last: all of it holds entries.
    Whole,
    /// The last segment. Its last acknowledged entry begins at `offset`, if that is
    /// known, and the log holds at least `entries` acknowledged entries (those
    /// `state.json` says are on stable storage). Damage at that offset or before,
    /// or before that many entries, is damage; after both, what an unfinished write
    /// leaves ([`frame::unwritten`]) is not part of the log.
    Last { offset: Option<u64>, entries: u64 },
}

/// Walks the frames of one segment's data from `offset` (`base` is the offset of
/// `data` in the file; `seq` the number of the entry there): `visit` gets each
/// frame's offset and payload, or `Err` for a
/// damaged region (after which walking resumes at the next valid frame). What an
/// unfinished write left at the end of the last segment (see [`Known`]) is not part
/// of the log and ends the walk; damage anywhere else is an entry that cannot be
/// read.
pub(crate) fn walk(
    data: &[u8],
    mut offset: usize,
    base: u64,
    mut seq: u64,
    segment: &Segment,
    known: Known,
    mut visit: impl FnMut(usize, std::result::Result<&[u8], String>) -> Result<()>,
) -> Result<()> {
    let mut budget = frame::Budget::new();
    loop {
        if let Decoded::Frame(payload, next) = frame::decode(data, offset) {
            visit(offset, Ok(payload))?;
            seq += 1;
            offset = next;
            continue;
        }
        let next = match frame::classify_tail(data, offset, base, &mut budget) {
            Tail::Clean => return Ok(()),
            // Zeros or a torn frame where an acknowledged entry belongs are damage,
            // never the leftovers of an unfinished write: the entries after them
            // are read, not dropped.
            Tail::Unwritten { .. }
                if matches!(known, Known::Last { offset: acknowledged, entries }
                    if acknowledged.is_none_or(|at| base + offset as u64 > at) && seq >= entries) =>
            {
                return Ok(());
            }
            Tail::Unwritten { next_valid } | Tail::Damaged { next_valid } => next_valid,
        };
        let path = segment.path.display();
        match next {
            Some(next) => {
                visit(offset, Err(format!("{path}: damaged bytes at offset {}", base + offset as u64)))?;
                seq += 1;
                offset = next;
            }
            None => {
                let at = base + offset as u64;
                return visit(
                    offset,
                    Err(format!("{path}: the frame at offset {at}, the end of the segment, is damaged")),
                );
            }
        }
    }
}

/// Reads every entry of the segments in order; damaged entries come as `Err` with
/// the reason (see [`walk`]); `last` is what is known of the last segment. One
/// buffer, the size of the largest segment, is reused.
pub(crate) fn for_each_entry(
    segments: &[Segment],
    last: Known,
    visit: impl FnMut(std::result::Result<EntryRef<'_>, String>) -> Result<()>,
) -> Result<()> {
    for_each_entry_from(segments, last, (0, 0, 0), visit)
}

/// As [`for_each_entry`], from the entry `seq` at `offset` in segment `segment`
/// (found through the index) on.
pub(crate) fn for_each_entry_from(
    segments: &[Segment],
    last: Known,
    (first, offset, seq): (usize, u64, u64),
    mut visit: impl FnMut(std::result::Result<EntryRef<'_>, String>) -> Result<()>,
) -> Result<()> {
    let mut data = Vec::new();
    for (n, segment) in segments.iter().enumerate().skip(first) {
        data.clear();
        let path = segment.current_path()?;
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io_error("read", &path, &e))?;
        check_regular(&path, &meta, MAX_SEGMENT_FILE)?;
        let mut file = File::open(&path).map_err(|e| io_error("open", &path, &e))?;
        std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, MAX_SEGMENT_FILE), &mut data)
            .map_err(|e| io_error("read", &path, &e))?;
        let known = if n + 1 == segments.len() { last } else { Known::Whole };
        let (start, start_seq) = match n == first {
            true => (usize::try_from(offset).unwrap_or(usize::MAX).min(data.len()), seq),
            false => (0, segment.first_seq),
        };
        walk(&data, start, 0, start_seq, segment, known, |_, item| visit(item.and_then(EntryRef::decode)))?;
    }
    Ok(())
}

/// The segments of a log opened for appending. Recovery has cut any torn tail, so
/// the last segment ends with a complete frame (or is empty).
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    fs: Fs,
    dir: PathBuf,
    pub segments: Vec<Segment>,
    /// The last segment, opened for writing.
    file: File,
    /// The length of the last segment up to its last acknowledged entry.
    pub len: u64,
    /// The number of acknowledged entries.
    pub count: u64,
}

impl SegmentWriter {
    /// Opens the segments for appending after the entry `count - 1`, which ends at
    /// `len` in the last segment (creating the first segment of a new log).
    pub(crate) fn open(fs: &Fs, dir: &Path, count: u64, len: u64) -> Result<SegmentWriter> {
        let mut segments = list(dir)?;
        if segments.is_empty() {
            let path = dir.join(segment_name(0));
            fs.create_new(&path)?;
            segments.push(Segment::new(0, path));
        }
        let last = segments.last().map(|s| s.path.clone()).unwrap_or_default();
        let file = fs.open(&last, false)?;
        Ok(SegmentWriter { fs: fs.clone(), dir: dir.to_owned(), segments, file, len, count })
    }

    /// The last segment's path.
    fn path(&self) -> &Path {
        self.segments.last().map_or(self.dir.as_path(), |s| &s.path)
    }

    /// Writes framed entries after the acknowledged ones, starting a new segment
    /// first if the current one is full; returns where they start (the segment's
    /// position in the list and the offset). Nothing counts until [`Self::commit`].
    pub(crate) fn write(&mut self, frames: &[u8]) -> Result<(usize, u64)> {
        // Nothing but this writer may have added to the segment since its last append.
        let length = self.file.metadata().map_err(|e| io_error("read", self.path(), &e))?.len();
        if length != self.len {
            return Err(Error::new(
                ErrorCode::LogCorrupt,
                format!(
                    "{} changed while this process was writing the log ({length} bytes, {} expected): another process wrote to it; nothing was written",
                    self.path().display(),
                    self.len
                ),
            ));
        }
        if self.len >= MAX_SEGMENT {
            let path = self.dir.join(segment_name(self.count));
            // An empty segment of this name is one an earlier attempt created and could
            // not flush into its directory: take it, and flush the directory now.
            let file = match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_file() && meta.len() == 0 => {
                    let file = self.fs.open(&path, false)?;
                    self.fs.sync_dir(&self.dir)?;
                    file
                }
                _ => self.fs.create_new(&path)?,
            };
            self.segments.push(Segment::new(self.count, path));
            self.file = file;
            self.len = 0;
        }
        let path = self.path().to_owned();
        self.fs.write_at(&self.file, &path, frames, self.len)?;
        Ok((self.segments.len() - 1, self.len))
    }

    /// Flushes the last segment to stable storage: the durability point of an append.
    pub(crate) fn sync(&self) -> Result<()> {
        self.fs.sync(&self.file, self.path())
    }

    /// Counts `entries` entries of `bytes` bytes, written and flushed, as acknowledged.
    pub(crate) fn commit(&mut self, bytes: u64, entries: u64) {
        self.len += bytes;
        self.count += entries;
    }

    /// Cuts what was written after the acknowledged entries.
    pub(crate) fn rollback(&self) -> Result<()> {
        self.fs.set_len(&self.file, self.path(), self.len)?;
        self.fs.sync(&self.file, self.path())
    }
}
