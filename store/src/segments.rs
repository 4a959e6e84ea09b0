//! Segment files: the log's entries, framed, in files of at most 64 MiB named by
//! the sequence number of their first entry; and the index that maps a sequence
//! number to its frame.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use evidentia::{Error, ErrorCode, Receipt, Result};

use crate::frame::{self, Decoded, Tail};
use crate::{io_error, read_at, sync_dir};

/// A new segment is started once the current one reaches this size.
pub(crate) const MAX_SEGMENT: u64 = 64 * 1024 * 1024;

const RECEIPT: u8 = 1;
const RECORD: u8 = 2;

/// One stored entry: a receipt (per-event signing) or a bare record (batch
/// signing), with the event's canonical bytes.
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

    /// The event's canonical bytes.
    pub fn event(&self) -> &[u8] {
        match self {
            Entry::Receipt { event, .. } | Entry::Record { event, .. } => event,
        }
    }

    /// The record's canonical bytes (for a receipt, its JWS payload).
    ///
    /// # Errors
    /// When a stored receipt cannot be read.
    pub fn record_bytes(&self) -> Result<Vec<u8>> {
        match self {
            Entry::Receipt { receipt, .. } => Ok(Receipt::parse(receipt)?.record_bytes().to_vec()),
            Entry::Record { record, .. } => Ok(record.clone()),
        }
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

/// A segment file.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    pub first_seq: u64,
    pub path: PathBuf,
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

/// The segments of a log, in order.
pub(crate) fn list(dir: &Path) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error("read", dir, &e))? {
        let path = entry.map_err(|e| io_error("read", dir, &e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(stem) = name.strip_suffix(".seg") else { continue };
        let first_seq =
            stem.parse().ok().filter(|_| stem.len() == 20).ok_or_else(|| {
                Error::new(ErrorCode::LogCorrupt, format!("{} is not a segment name", path.display()))
            })?;
        segments.push(Segment { first_seq, path });
    }
    segments.sort_by_key(|s| s.first_seq);
    Ok(segments)
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io_error("read", path, &e))
}

/// Walks the frames of one segment's data: `visit` gets each frame's payload, or
/// `Err` for a damaged region (after which walking resumes at the next valid frame).
/// An incomplete frame at the very end of the last segment (a write in progress, or
/// cut short by a crash and never acknowledged) is not part of the log and is skipped.
fn walk(
    data: &[u8],
    segment: &Segment,
    last: bool,
    mut visit: impl FnMut(std::result::Result<&[u8], String>) -> Result<()>,
) -> Result<()> {
    let mut offset = 0;
    loop {
        match frame::decode(data, offset) {
            Decoded::Frame(payload, next) => {
                visit(Ok(payload))?;
                offset = next;
            }
            Decoded::End => return Ok(()),
            Decoded::Truncated | Decoded::Invalid => match frame::next_valid(data, offset + 1) {
                Some(next) => {
                    visit(Err(format!("{}: damaged bytes at offset {offset}", segment.path.display())))?;
                    offset = next;
                }
                None if last => return Ok(()),
                None => {
                    return visit(Err(format!("{}: the end of the segment is damaged", segment.path.display())));
                }
            },
        }
    }
}

/// Reads every entry of the segments in order; damaged entries come as `Err` with
/// the reason (see [`walk`]). One buffer, the size of the largest segment, is reused.
pub(crate) fn for_each_entry(
    segments: &[Segment],
    mut visit: impl FnMut(std::result::Result<EntryRef<'_>, String>) -> Result<()>,
) -> Result<()> {
    let mut data = Vec::new();
    for (n, segment) in segments.iter().enumerate() {
        data.clear();
        let mut file = File::open(&segment.path).map_err(|e| io_error("open", &segment.path, &e))?;
        std::io::Read::read_to_end(&mut file, &mut data).map_err(|e| io_error("read", &segment.path, &e))?;
        walk(&data, segment, n + 1 == segments.len(), |item| visit(item.and_then(EntryRef::decode)))?;
    }
    Ok(())
}

/// Counts the entries of a log: the first sequence number of the last segment plus
/// its entries, damaged ones included.
pub(crate) fn count(segments: &[Segment]) -> Result<u64> {
    let Some(last) = segments.last() else { return Ok(0) };
    let mut count = last.first_seq;
    walk(&read_file(&last.path)?, last, true, |_| {
        count += 1;
        Ok(())
    })?;
    Ok(count)
}

/// Where a record's frame is: the segment's position in the list, and the offset.
fn index_entry(segment: usize, offset: u64) -> [u8; 8] {
    ((segment as u64) << 32 | offset).to_le_bytes()
}

/// Reads the entry `seq` through the index.
pub(crate) fn read_entry(segments: &[Segment], index: &File, seq: u64) -> Result<Entry> {
    let corrupt = |why: &str| Error::new(ErrorCode::LogCorrupt, format!("entry {seq}: {why}"));
    let mut slot = [0u8; 8];
    read_at(index, &mut slot, seq * 8).map_err(|_| corrupt("not in the index"))?;
    let slot = u64::from_le_bytes(slot);
    let segment = segments.get((slot >> 32) as usize).ok_or_else(|| corrupt("the index names a missing segment"))?;
    let offset = slot & 0xFFFF_FFFF;
    let file = File::open(&segment.path).map_err(|e| io_error("open", &segment.path, &e))?;
    let mut header = [0u8; frame::HEADER];
    read_at(&file, &mut header, offset).map_err(|_| corrupt("the index points past the segment"))?;
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if len > frame::MAX_PAYLOAD {
        return Err(corrupt("the index does not point at a frame"));
    }
    let mut data = vec![0u8; frame::HEADER + len];
    read_at(&file, &mut data, offset).map_err(|_| corrupt("the frame is cut short"))?;
    match frame::decode(&data, 0) {
        Decoded::Frame(payload, _) => Entry::decode(payload).map_err(|why| corrupt(&why)),
        _ => Err(corrupt("the frame is damaged")),
    }
}

/// What opening a log for writing found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes of an incompletely written (never acknowledged) entry cut from the end.
    pub truncated_bytes: u64,
    /// Bytes of an incompletely written checkpoint cut from the end.
    pub truncated_checkpoint_bytes: u64,
    /// Index entries rebuilt from the segments.
    pub rebuilt_index_entries: u64,
    /// Leaves whose tree nodes were rebuilt from the records.
    pub rebuilt_tree_leaves: u64,
}

impl Recovery {
    /// Whether anything was repaired.
    pub fn repaired(&self) -> bool {
        *self != Recovery::default()
    }
}

/// The segments of a log opened for appending.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    dir: PathBuf,
    pub segments: Vec<Segment>,
    file: File,
    len: u64,
    pub count: u64,
    pub index: File,
    index_path: PathBuf,
}

impl SegmentWriter {
    /// Opens the segments for appending: cuts an incompletely written entry from the
    /// end of the last segment and brings the index up to date. Damage followed by
    /// valid entries is never cut: it is an error.
    pub(crate) fn open(
        dir: &Path,
        index_path: &Path,
        recovery: &mut Recovery,
    ) -> Result<(SegmentWriter, Option<Entry>)> {
        let mut segments = list(dir)?;
        if segments.is_empty() {
            let path = dir.join(segment_name(0));
            File::create(&path).map_err(|e| io_error("create", &path, &e))?;
            sync_dir(dir)?;
            segments.push(Segment { first_seq: 0, path });
        }
        let last = segments.last().cloned().unwrap_or_else(|| unreachable!("one segment exists"));
        let data = read_file(&last.path)?;
        let scan = frame::scan(&data);
        match scan.tail {
            Tail::Clean => {}
            Tail::Torn => {
                recovery.truncated_bytes = (data.len() - scan.end) as u64;
                let file =
                    OpenOptions::new().write(true).open(&last.path).map_err(|e| io_error("open", &last.path, &e))?;
                file.set_len(scan.end as u64).map_err(|e| io_error("truncate", &last.path, &e))?;
                file.sync_all().map_err(|e| io_error("flush", &last.path, &e))?;
            }
            Tail::Corrupt(at) => {
                return Err(Error::new(
                    ErrorCode::LogCorrupt,
                    format!(
                        "{} is damaged at offset {} and holds valid entries after it (from offset {at}); nothing was changed. Verify the log to see which records are affected",
                        last.path.display(),
                        scan.end
                    ),
                ));
            }
        }
        let count = last.first_seq + scan.frames.len() as u64;
        let last_entry = match scan.frames.last() {
            Some((_, range)) => Some(Entry::decode(&data[range.clone()])),
            None if segments.len() > 1 => {
                let previous = &segments[segments.len() - 2];
                let data = read_file(&previous.path)?;
                frame::scan(&data).frames.last().map(|(_, range)| Entry::decode(&data[range.clone()]))
            }
            None => None,
        };
        let last_entry = last_entry
            .transpose()
            .map_err(|why| Error::new(ErrorCode::LogCorrupt, format!("the last entry cannot be read: {why}")))?;
        let file = OpenOptions::new().append(true).open(&last.path).map_err(|e| io_error("open", &last.path, &e))?;
        let index = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(index_path)
            .map_err(|e| io_error("open", index_path, &e))?;
        let mut writer = SegmentWriter {
            dir: dir.to_owned(),
            len: scan.end as u64,
            segments,
            file,
            count,
            index,
            index_path: index_path.to_owned(),
        };
        writer.repair_index(recovery)?;
        Ok((writer, last_entry))
    }

    /// Makes the index hold exactly one correct slot per entry.
    fn repair_index(&mut self, recovery: &mut Recovery) -> Result<()> {
        let path = self.index_path.clone();
        let slots = self.index.metadata().map_err(|e| io_error("read", &path, &e))?.len() / 8;
        let mut valid = slots.min(self.count);
        // Trust the index only if its last slot finds the right entry.
        if valid > 0 && read_entry(&self.segments, &self.index, valid - 1).is_err() {
            valid = 0;
        }
        if valid == self.count && slots == self.count {
            return Ok(());
        }
        self.index.set_len(valid * 8).map_err(|e| io_error("truncate", &path, &e))?;
        let mut slots_out = Vec::new();
        for (n, segment) in self.segments.iter().enumerate() {
            let next_first = self.segments.get(n + 1).map_or(u64::MAX, |s| s.first_seq);
            if next_first <= valid {
                continue;
            }
            let data = read_file(&segment.path)?;
            for (i, (offset, _)) in frame::scan(&data).frames.iter().enumerate() {
                if segment.first_seq + i as u64 >= valid {
                    slots_out.extend_from_slice(&index_entry(n, *offset as u64));
                }
            }
        }
        crate::write_at(&self.index, &slots_out, valid * 8).map_err(|e| io_error("write", &path, &e))?;
        self.index.sync_data().map_err(|e| io_error("flush", &path, &e))?;
        recovery.rebuilt_index_entries = slots_out.len() as u64 / 8;
        Ok(())
    }

    /// Writes framed entries (`frames`, with each frame's offset within it) at the
    /// end of the log and flushes them to stable storage. On failure the segment
    /// and the index are cut back to where they were.
    pub(crate) fn append(&mut self, frames: &[u8], offsets: &[usize]) -> Result<()> {
        if self.len >= MAX_SEGMENT {
            self.start_segment()?;
        }
        let (len, count) = (self.len, self.count);
        let result = self.write(frames, offsets);
        if result.is_err() {
            // Best effort: an append that failed must not leave part of itself behind.
            let _ = self.file.set_len(len);
            let _ = self.index.set_len(count * 8);
            self.len = len;
            self.count = count;
        }
        result
    }

    fn write(&mut self, frames: &[u8], offsets: &[usize]) -> Result<()> {
        let path = self.segments.last().map(|s| s.path.clone()).unwrap_or_default();
        self.file.write_all(frames).map_err(|e| io_error("append to", &path, &e))?;
        let segment = self.segments.len() - 1;
        let slots: Vec<u8> = offsets.iter().flat_map(|o| index_entry(segment, self.len + *o as u64)).collect();
        crate::write_at(&self.index, &slots, self.count * 8).map_err(|e| io_error("write", &self.index_path, &e))?;
        // The durability point: once this returns, the entries survive a crash.
        self.file.sync_data().map_err(|e| io_error("flush", &path, &e))?;
        self.len += frames.len() as u64;
        self.count += offsets.len() as u64;
        Ok(())
    }

    fn start_segment(&mut self) -> Result<()> {
        let path = self.dir.join(segment_name(self.count));
        let file =
            OpenOptions::new().create_new(true).append(true).open(&path).map_err(|e| io_error("create", &path, &e))?;
        sync_dir(&self.dir)?;
        self.segments.push(Segment { first_seq: self.count, path });
        self.file = file;
        self.len = 0;
        Ok(())
    }
}
