//! The nonce index: which record holds a nonce, found without reading the log.
//!
//! An open-addressing hash table in one file: a 32-byte header (`EVDN`, version,
//! log2 of the number of slots, entries, records indexed) and 24-byte slots, each the nonce's
//! fingerprint (the first 16 bytes of its SHA-256, as log verification uses) and
//! the record's sequence number plus one (0: empty slot), probed linearly from the
//! slot the fingerprint's first 8 bytes name. It is kept at most half full and
//! doubled by writing a new file and renaming it over. Derived from the records,
//! and rebuilt from them when it lags.

use std::fs::File;
use std::path::{Path, PathBuf};

use evidentia::{Digest, Error, ErrorCode, Result};

use crate::fsio::{Fs, io_error, read_at, regular_or_missing};

const MAGIC: [u8; 4] = *b"EVDN";
const VERSION: u32 = 1;
const HEADER: u64 = 32;
const SLOT: u64 = 24;
const MIN_SLOTS_LOG2: u32 = 10;
/// Slots read at once while probing.
const PROBE: u64 = 16;

/// A nonce's fingerprint.
pub(crate) type Fingerprint = [u8; 16];

/// The fingerprint of a nonce.
pub(crate) fn fingerprint(nonce: &str) -> Fingerprint {
    let mut fingerprint = [0u8; 16];
    fingerprint.copy_from_slice(&Digest::sha256(nonce.as_bytes()).as_bytes()[..16]);
    fingerprint
}

fn home(fingerprint: &Fingerprint, slots_log2: u32) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&fingerprint[..8]);
    u64::from_le_bytes(first) & ((1u64 << slots_log2) - 1)
}

fn header(slots_log2: u32, entries: u64, indexed: u64) -> [u8; HEADER as usize] {
    let mut header = [0u8; HEADER as usize];
    header[..4].copy_from_slice(&MAGIC);
    header[4..8].copy_from_slice(&VERSION.to_le_bytes());
    header[8..12].copy_from_slice(&slots_log2.to_le_bytes());
    header[12..20].copy_from_slice(&entries.to_le_bytes());
    header[20..28].copy_from_slice(&indexed.to_le_bytes());
    header
}

fn corrupt(path: &Path, why: &str) -> Error {
    Error::new(
        ErrorCode::LogCorrupt,
        format!("{}: {why}; it is rebuilt when the log is next opened for writing", path.display()),
    )
}

/// The nonce index of a log.
#[derive(Debug)]
pub(crate) struct NonceTable {
    file: File,
    path: PathBuf,
    slots_log2: u32,
    entries: u64,
    /// The number of records (from the first) whose nonces are in the table.
    pub indexed: u64,
}

impl NonceTable {
    /// Whether the table is one this store could have made for a log of `records`
    /// records: never more entries than records, never more than four slots per
    /// record. A table from elsewhere is not trusted to size anything.
    fn fits(&self, records: u64) -> bool {
        self.entries <= records
            && self.indexed <= records
            && self.slots() <= records.saturating_mul(4).max(1 << MIN_SLOTS_LOG2)
    }

    /// Opens the table of a log of `records` records for reading, if there is one
    /// that fits it.
    pub(crate) fn open_read(path: &Path, records: u64) -> Result<Option<NonceTable>> {
        regular_or_missing(path)?;
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("open", path, &e)),
        };
        Ok(NonceTable::read_header(file, path).ok().filter(|table| table.fits(records)))
    }

    /// Opens the table of a log of `records` records for writing, creating an
    /// empty one if there is none, or it cannot be read or does not fit the log.
    pub(crate) fn open_write(fs: &Fs, path: &Path, records: u64) -> Result<NonceTable> {
        if let Ok(file) = fs.open(path, false)
            && let Ok(table) = NonceTable::read_header(file, path)
            && table.fits(records)
        {
            return Ok(table);
        }
        NonceTable::create(fs, path)
    }

    /// Writes a new empty table in place of any old one.
    pub(crate) fn create(fs: &Fs, path: &Path) -> Result<NonceTable> {
        let slots_log2 = MIN_SLOTS_LOG2;
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("nonces");
        let mut bytes = vec![0u8; (HEADER + (SLOT << slots_log2)) as usize];
        bytes[..HEADER as usize].copy_from_slice(&header(slots_log2, 0, 0));
        fs.replace(dir, name, &bytes)?;
        let file = fs.open(path, false)?;
        Ok(NonceTable { file, path: path.to_owned(), slots_log2, entries: 0, indexed: 0 })
    }

    fn read_header(file: File, path: &Path) -> Result<NonceTable> {
        let mut bytes = [0u8; HEADER as usize];
        read_at(&file, &mut bytes, 0).map_err(|_| corrupt(path, "the nonce index has no header"))?;
        let slots_log2 = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let number = |at: usize| {
            let mut n = [0u8; 8];
            n.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(n)
        };
        let len = file.metadata().map_err(|e| io_error("read", path, &e))?.len();
        if bytes[..4] != MAGIC
            || bytes[4..8] != VERSION.to_le_bytes()
            || !(MIN_SLOTS_LOG2..48).contains(&slots_log2)
            || len != HEADER + (SLOT << slots_log2)
        {
            return Err(corrupt(path, "the nonce index is not a valid table"));
        }
        Ok(NonceTable { file, path: path.to_owned(), slots_log2, entries: number(12), indexed: number(20) })
    }

    fn slots(&self) -> u64 {
        1 << self.slots_log2
    }

    /// Reads `count` slots from slot `first` (wrapping around the end).
    fn read_slots(&self, first: u64, count: u64, out: &mut Vec<u8>) -> Result<()> {
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

    /// Probes from the fingerprint's home slot: calls `found` with each sequence
    /// number stored under the fingerprint, and returns the first empty slot.
    fn probe(&self, fingerprint: &Fingerprint, mut found: impl FnMut(u64)) -> Result<u64> {
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
                    found(seq - 1);
                }
                slot = (slot + 1) & (self.slots() - 1);
            }
            probed += count;
        }
        Err(corrupt(&self.path, "the nonce index is full"))
    }

    /// The sequence numbers of records whose nonce has this fingerprint.
    pub(crate) fn find(&self, fingerprint: &Fingerprint) -> Result<Vec<u64>> {
        let mut found = Vec::new();
        self.probe(fingerprint, |seq| found.push(seq))?;
        Ok(found)
    }

    /// Records that record `seq` holds a nonce with this fingerprint (nothing if it
    /// is recorded already, as when rebuilding).
    pub(crate) fn insert(&mut self, fs: &Fs, fingerprint: &Fingerprint, seq: u64) -> Result<()> {
        if (self.entries + 1) * 2 > self.slots() {
            self.grow(fs)?;
        }
        let mut present = false;
        let empty = self.probe(fingerprint, |stored| present |= stored == seq)?;
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

    /// Writes the header: the number of entries, and that the nonces of the first
    /// `indexed` records are in the table (after a batch of inserts).
    pub(crate) fn write_header(&mut self, fs: &Fs, indexed: u64) -> Result<()> {
        self.indexed = indexed;
        fs.write_at(&self.file, &self.path, &header(self.slots_log2, self.entries, indexed), 0)
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
    /// that memory stays bounded however many nonces a log holds.
    fn grow(&mut self, fs: &Fs) -> Result<()> {
        let slots_log2 = self.slots_log2 + 1;
        let size = HEADER + (SLOT << slots_log2);
        let dir = self.path.parent().unwrap_or(Path::new(".")).to_owned();
        let name = self.path.file_name().and_then(|n| n.to_str()).unwrap_or("nonces").to_owned();
        if size <= 64 << 20 {
            let mut bytes = vec![0u8; size as usize];
            bytes[..HEADER as usize].copy_from_slice(&header(slots_log2, self.entries, self.indexed));
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
            fs.replace(&dir, &name, &bytes)?;
        } else {
            let temporary = dir.join(format!(".{name}.growing"));
            let file = fs.open(&temporary, true)?;
            fs.set_len(&file, &temporary, 0)?;
            fs.set_len(&file, &temporary, size)?;
            let mut bigger =
                NonceTable { file, path: temporary.clone(), slots_log2, entries: 0, indexed: self.indexed };
            self.for_each_slot(|chunk| {
                let mut fingerprint = [0u8; 16];
                fingerprint.copy_from_slice(&chunk[..16]);
                let empty = bigger.probe(&fingerprint, |_| {})?;
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
