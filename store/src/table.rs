//! The derived lookup indexes' one hash table (`nonces`, `fields`): which records
//! hold a fingerprint, found without reading the log.
//!
//! An open-addressing hash table in one file: a 32-byte header (a magic naming the
//! index, version, log2 of the number of slots, entries, records indexed, and a
//! tag saying what it indexes: for the field index, which fields) and
//! 24-byte slots, each a 16-byte fingerprint and a non-zero value (0: empty slot),
//! probed linearly from the slot the fingerprint's first 8 bytes name. The nonce
//! index stores a record's sequence number plus one, a slot per record
//! ([`HashTable::insert`], [`HashTable::find`]); the field index stores each
//! fingerprint once, with the number of its newest posting plus one
//! ([`HashTable::head`], [`HashTable::set_head`]: see `fields.rs`). The table is
//! kept at most half full and doubled by writing a new file and renaming it over.
//! Derived from the records, and rebuilt from them when it lags.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use evidentia::{Error, ErrorCode, Result};

use crate::fsio::{Fs, io_error, read_at, regular_or_missing};

const HEADER: u64 = 32;
const SLOT: u64 = 24;
const MIN_SLOTS_LOG2: u32 = 10;
/// Slots read at once while probing.
const PROBE: u64 = 16;

/// A fingerprint: the first 16 bytes of a SHA-256 (see the index's module).
pub(crate) type Fingerprint = [u8; 16];

/// The first 16 bytes of a digest.
pub(crate) fn truncated(digest: &evidentia::Digest) -> Fingerprint {
    let mut fingerprint = [0u8; 16];
    fingerprint.copy_from_slice(&digest.as_bytes()[..16]);
    fingerprint
}

/// Which index a table is: its file's magic, and what messages call it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kind {
    pub magic: [u8; 4],
    /// "the nonce index", say.
    pub what: &'static str,
    /// The file's name in the log directory.
    pub file: &'static str,
    /// The format's version, in the header: a table of another version is rebuilt.
    pub version: u32,
}

fn home(fingerprint: &Fingerprint, slots_log2: u32) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&fingerprint[..8]);
    u64::from_le_bytes(first) & ((1u64 << slots_log2) - 1)
}

fn header(kind: Kind, slots_log2: u32, entries: u64, indexed: u64, tag: u32) -> [u8; HEADER as usize] {
    let mut header = [0u8; HEADER as usize];
    header[..4].copy_from_slice(&kind.magic);
    header[4..8].copy_from_slice(&kind.version.to_le_bytes());
    header[8..12].copy_from_slice(&slots_log2.to_le_bytes());
    header[12..20].copy_from_slice(&entries.to_le_bytes());
    header[20..28].copy_from_slice(&indexed.to_le_bytes());
    header[28..32].copy_from_slice(&tag.to_le_bytes());
    header
}

fn corrupt(path: &Path, why: &str) -> Error {
    Error::new(
        ErrorCode::LogCorrupt,
        format!("{}: {why}; it is rebuilt when the log is next opened for writing", path.display()),
    )
}

/// A lookup index of a log.
#[derive(Debug)]
pub(crate) struct HashTable {
    kind: Kind,
    /// What the table is of (for the field index, which fields), in its header:
    /// a table of something else is not used.
    tag: u32,
    file: File,
    path: PathBuf,
    slots_log2: u32,
    entries: u64,
    /// The number of records (from the first) whose fingerprints are in the table.
    pub indexed: u64,
    /// Slot reads so far (each reads up to 16 slots), for tests of probe lengths.
    reads: AtomicU64,
}

impl HashTable {
    /// Whether the table is one this store could have made for a log of `records`
    /// records holding at most `per_record` fingerprints each: never more entries
    /// than that, never more than four slots per entry. A table from elsewhere is
    /// not trusted to size anything.
    fn fits(&self, records: u64, per_record: u64) -> bool {
        let most = records.saturating_mul(per_record);
        self.entries <= most
            && self.indexed <= records
            && self.slots() <= most.saturating_mul(4).max(1 << MIN_SLOTS_LOG2)
    }

    /// Opens the table of a log of `records` records (`per_record` fingerprints
    /// each at most) for reading, if there is one that fits it.
    pub(crate) fn open_read(
        kind: Kind,
        tag: u32,
        dir: &Path,
        records: u64,
        per_record: u64,
    ) -> Result<Option<HashTable>> {
        let path = &dir.join(kind.file);
        regular_or_missing(path)?;
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("open", path, &e)),
        };
        Ok(HashTable::read_header(kind, file, path)
            .ok()
            .filter(|table| table.tag == tag && table.fits(records, per_record)))
    }

    /// Opens the table of a log of `records` records (`per_record` fingerprints
    /// each at most) for writing, creating an empty one if there is none, or it
    /// cannot be read or does not fit the log.
    pub(crate) fn open_write(
        kind: Kind,
        tag: u32,
        fs: &Fs,
        dir: &Path,
        records: u64,
        per_record: u64,
    ) -> Result<HashTable> {
        let path = &dir.join(kind.file);
        if let Ok(file) = fs.open(path, false)
            && let Ok(table) = HashTable::read_header(kind, file, path)
            && table.tag == tag
            && table.fits(records, per_record)
        {
            return Ok(table);
        }
        HashTable::create(kind, tag, fs, dir)
    }

    /// Writes a new empty table in place of any old one.
    /// The new table is on stable storage (replaced atomically) when this returns.
    pub(crate) fn create(kind: Kind, tag: u32, fs: &Fs, dir: &Path) -> Result<HashTable> {
        let slots_log2 = MIN_SLOTS_LOG2;
        let path = dir.join(kind.file);
        let mut bytes = vec![0u8; (HEADER + (SLOT << slots_log2)) as usize];
        bytes[..HEADER as usize].copy_from_slice(&header(kind, slots_log2, 0, 0, tag));
        fs.replace(dir, kind.file, &bytes)?;
        let file = fs.open(&path, false)?;
        Ok(HashTable { kind, tag, file, path, slots_log2, entries: 0, indexed: 0, reads: AtomicU64::new(0) })
    }

    fn read_header(kind: Kind, file: File, path: &Path) -> Result<HashTable> {
        let mut bytes = [0u8; HEADER as usize];
        read_at(&file, &mut bytes, 0).map_err(|_| corrupt(path, &format!("{} has no header", kind.what)))?;
        let slots_log2 = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let number = |at: usize| {
            let mut n = [0u8; 8];
            n.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(n)
        };
        let len = file.metadata().map_err(|e| io_error("read", path, &e))?.len();
        if bytes[..4] != kind.magic
            || bytes[4..8] != kind.version.to_le_bytes()
            || !(MIN_SLOTS_LOG2..48).contains(&slots_log2)
            || len != HEADER + (SLOT << slots_log2)
        {
            return Err(corrupt(path, &format!("{} is not a valid table", kind.what)));
        }
        let tag = u32::from_le_bytes([bytes[28], bytes[29], bytes[30], bytes[31]]);
        Ok(HashTable {
            kind,
            tag,
            file,
            path: path.to_owned(),
            slots_log2,
            entries: number(12),
            indexed: number(20),
            reads: AtomicU64::new(0),
        })
    }

    fn slots(&self) -> u64 {
        1 << self.slots_log2
    }

    /// Reads `count` slots from slot `first` (wrapping around the end).
    fn read_slots(&self, first: u64, count: u64, out: &mut Vec<u8>) -> Result<()> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        out.clear();
        out.resize((count * SLOT) as usize, 0);
        let until_end = (self.slots() - first).min(count);
        let (head, tail) = out.split_at_mut((until_end * SLOT) as usize);
        read_at(&self.file, head, HEADER + first * SLOT).map_err(|e| io_error("read", &self.path, &e))?;
        if !tail.is_empty() {
            read_at(&self.file, tail, HEADER).map_err(|e| io_error("read", &self.path, &e))?;
        }
        Ok(())
    }

    /// Probes from the fingerprint's home slot: calls `found` with each slot and
    /// value (sequence number, or posting number) stored under the fingerprint,
    /// and returns the first empty slot.
    fn probe(&self, fingerprint: &Fingerprint, mut found: impl FnMut(u64, u64)) -> Result<u64> {
        let mut slot = home(fingerprint, self.slots_log2);
        let mut buffer = Vec::new();
        let mut probed = 0;
        while probed < self.slots() {
            let count = PROBE.min(self.slots() - probed);
            self.read_slots(slot, count, &mut buffer)?;
            for chunk in buffer.chunks_exact(SLOT as usize) {
                let mut seq = [0u8; 8];
                seq.copy_from_slice(&chunk[16..]);
                let seq = u64::from_le_bytes(seq);
                if seq == 0 {
                    return Ok(slot);
                }
                if chunk[..16] == fingerprint[..] {
                    found(slot, seq - 1);
                }
                slot = (slot + 1) & (self.slots() - 1);
            }
            probed += count;
        }
        Err(corrupt(&self.path, &format!("{} is full", self.kind.what)))
    }

    /// The sequence numbers of records stored under this fingerprint.
    pub(crate) fn find(&self, fingerprint: &Fingerprint) -> Result<Vec<u64>> {
        let mut found = Vec::new();
        self.probe(fingerprint, |_, seq| found.push(seq))?;
        Ok(found)
    }

    /// Records that record `seq` holds this fingerprint (nothing if it is recorded
    /// already, as when rebuilding).
    pub(crate) fn insert(&mut self, fs: &Fs, fingerprint: &Fingerprint, seq: u64) -> Result<()> {
        if (self.entries + 1) * 2 > self.slots() {
            self.grow(fs)?;
        }
        let mut present = false;
        let empty = self.probe(fingerprint, |_, stored| present |= stored == seq)?;
        if present {
            return Ok(());
        }
        let mut slot = [0u8; SLOT as usize];
        slot[..16].copy_from_slice(fingerprint);
        slot[16..].copy_from_slice(&(seq + 1).to_le_bytes());
        fs.write_at(&self.file, &self.path, &slot, HEADER + empty * SLOT)?;
        self.entries += 1;
        Ok(())
    }

    /// The value stored once under a fingerprint (a table of unique keys, as the
    /// field index's), if there is one.
    pub(crate) fn head(&self, fingerprint: &Fingerprint) -> Result<Option<u64>> {
        let mut head = None;
        self.probe(fingerprint, |_, value| head = head.or(Some(value)))?;
        Ok(head)
    }

    /// Stores `value` under a fingerprint, in place of the value stored there (a
    /// table of unique keys, as the field index's).
    pub(crate) fn set_head(&mut self, fs: &Fs, fingerprint: &Fingerprint, value: u64) -> Result<()> {
        let mut at = None;
        let mut empty = self.probe(fingerprint, |slot, _| at = at.or(Some(slot)))?;
        if at.is_none() && (self.entries + 1) * 2 > self.slots() {
            self.grow(fs)?;
            empty = self.probe(fingerprint, |_, _| {})?;
        }
        let mut slot = [0u8; SLOT as usize];
        slot[..16].copy_from_slice(fingerprint);
        slot[16..].copy_from_slice(&(value + 1).to_le_bytes());
        fs.write_at(&self.file, &self.path, &slot, HEADER + at.unwrap_or(empty) * SLOT)?;
        if at.is_none() {
            self.entries += 1;
        }
        Ok(())
    }

    /// What the table is of (its tag).
    pub(crate) fn tag(&self) -> u32 {
        self.tag
    }

    /// The number of entries (slots in use).
    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    /// Slot reads made so far through this handle.
    #[cfg(test)]
    pub(crate) fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Writes the header: the number of entries, and that the fingerprints of the first
    /// `indexed` records are in the table (after a batch of inserts).
    pub(crate) fn write_header(&mut self, fs: &Fs, indexed: u64) -> Result<()> {
        self.indexed = indexed;
        fs.write_at(&self.file, &self.path, &header(self.kind, self.slots_log2, self.entries, indexed, self.tag), 0)
    }

    /// Counts the entries again from the slots (after a crash the header may lag).
    pub(crate) fn recount(&mut self) -> Result<()> {
        let mut buffer = Vec::new();
        let mut entries = 0;
        let mut first = 0;
        while first < self.slots() {
            let count = 4096.min(self.slots() - first);
            self.read_slots(first, count, &mut buffer)?;
            entries += buffer.chunks_exact(SLOT as usize).filter(|c| c[16..] != [0u8; 8]).count() as u64;
            first += count;
        }
        self.entries = entries;
        Ok(())
    }

    /// Calls `each` with every occupied slot, reading the table in chunks.
    fn for_each_slot(&self, mut each: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let mut buffer = Vec::new();
        let mut first = 0;
        while first < self.slots() {
            let count = 4096.min(self.slots() - first);
            self.read_slots(first, count, &mut buffer)?;
            for chunk in buffer.chunks_exact(SLOT as usize).filter(|c| c[16..] != [0u8; 8]) {
                each(chunk)?;
            }
            first += count;
        }
        Ok(())
    }

    /// Doubles the table: a new file with every entry placed anew, renamed over.
    /// Up to 64 MiB the new table is built in memory; beyond, in the new file, so
    /// that memory stays bounded however many entries a log holds.
    fn grow(&mut self, fs: &Fs) -> Result<()> {
        let slots_log2 = self.slots_log2 + 1;
        let size = HEADER + (SLOT << slots_log2);
        let dir = self.path.parent().unwrap_or(Path::new(".")).to_owned();
        let name = self.kind.file;
        if size <= 64 << 20 {
            let mut bytes = vec![0u8; size as usize];
            bytes[..HEADER as usize].copy_from_slice(&header(
                self.kind,
                slots_log2,
                self.entries,
                self.indexed,
                self.tag,
            ));
            let slots = &mut bytes[HEADER as usize..];
            self.for_each_slot(|chunk| {
                let mut fingerprint = [0u8; 16];
                fingerprint.copy_from_slice(&chunk[..16]);
                let mut slot = home(&fingerprint, slots_log2);
                while slots[(slot * SLOT) as usize + 16..(slot * SLOT + SLOT) as usize] != [0u8; 8] {
                    slot = (slot + 1) & ((1 << slots_log2) - 1);
                }
                slots[(slot * SLOT) as usize..(slot * SLOT + SLOT) as usize].copy_from_slice(chunk);
                Ok(())
            })?;
            fs.replace(&dir, name, &bytes)?;
        } else {
            let temporary = dir.join(format!(".{name}.growing"));
            let file = fs.open(&temporary, true)?;
            fs.set_len(&file, &temporary, 0)?;
            fs.set_len(&file, &temporary, size)?;
            let mut bigger = HashTable {
                kind: self.kind,
                tag: self.tag,
                file,
                path: temporary.clone(),
                slots_log2,
                entries: 0,
                indexed: self.indexed,
                reads: AtomicU64::new(0),
            };
            self.for_each_slot(|chunk| {
                let mut fingerprint = [0u8; 16];
                fingerprint.copy_from_slice(&chunk[..16]);
                let empty = bigger.probe(&fingerprint, |_, _| {})?;
                fs.write_at(&bigger.file, &temporary, chunk, HEADER + empty * SLOT)?;
                bigger.entries += 1;
                Ok(())
            })?;
            bigger.write_header(fs, self.indexed)?;
            bigger.sync(fs)?;
            fs.rename(&temporary, &self.path)?;
            fs.sync_dir(&dir)?;
        }
        self.file = fs.open(&self.path, false)?;
        self.slots_log2 = slots_log2;
        Ok(())
    }

    /// Flushes the table to stable storage.
    pub(crate) fn sync(&self, fs: &Fs) -> Result<()> {
        fs.sync(&self.file, &self.path)
    }
}
