//! The field index (`fields`, `fields.postings`): which records hold a value of an
//! indexed payload field, found without reading the log.
//!
//! A value may be in any number of records (a currency, a status), so the table
//! holds each distinct fingerprint of (field name, value) once, with the number
//! of its newest posting; `fields.postings` holds one 16-byte posting per
//! (record, value), appended in record order: the record's sequence number and
//! the number of the previous posting of the same fingerprint. Each fingerprint's
//! postings form a chain, newest first. An insert is one short probe (one slot per
//! distinct value, the table at most half full), an appended posting and a slot
//! written, however many records share the value; a lookup walks the chain, a
//! read per record found. (A slot per (record, value) under linear probing, as
//! the nonce index has, makes every record sharing a value join one cluster that
//! each insert walks: appends slow down without bound.)
//!
//! What an event is indexed under is decided by the core
//! ([`evidentia::lookup_terms`]); fingerprints may collide, so a lookup reads each
//! candidate record and keeps only those whose terms really hold the value. A
//! chain that is not what this store writes (a posting beyond the file, numbers
//! or sequence numbers that do not descend) makes the lookup read the records
//! instead, and the writer rebuild the index.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use evidentia::{Digest, Result};

use crate::config::{FIELDS_FILE, POSTINGS_FILE};
use crate::fsio::{Fs, io_error, read_at, regular_or_missing};
use crate::table::{Fingerprint, HashTable, Kind, truncated};

/// The field index's table (version 2: one slot per distinct fingerprint, with
/// postings; a version 1 table, a slot per record, is rebuilt).
pub(crate) const FIELDS: Kind = Kind { magic: *b"EVDF", what: "the field index", file: FIELDS_FILE, version: 2 };

/// Values a rebuild gathers before inserting them at once.
pub(crate) const INSERT_AT_ONCE: usize = 8192;

const POSTINGS_MAGIC: [u8; 4] = *b"EVDP";
const POSTINGS_VERSION: u32 = 1;
const POSTINGS_HEADER: u64 = 24;
const POSTING: u64 = 16;

/// The postings file's header: magic, version, the field index's tag, 4 zero
/// bytes, and the number of postings (as of the table's last header).
fn postings_header(tag: u32, count: u64) -> [u8; POSTINGS_HEADER as usize] {
    let mut header = [0u8; POSTINGS_HEADER as usize];
    header[..4].copy_from_slice(&POSTINGS_MAGIC);
    header[4..8].copy_from_slice(&POSTINGS_VERSION.to_le_bytes());
    header[8..12].copy_from_slice(&tag.to_le_bytes());
    header[16..].copy_from_slice(&count.to_le_bytes());
    header
}

fn posting(seq: u64, previous: Option<u64>) -> [u8; POSTING as usize] {
    let mut bytes = [0u8; POSTING as usize];
    bytes[..8].copy_from_slice(&(seq + 1).to_le_bytes());
    bytes[8..].copy_from_slice(&previous.map_or(0, |p| p + 1).to_le_bytes());
    bytes
}

/// The field index: its table and its postings.
#[derive(Debug)]
pub(crate) struct FieldIndex {
    pub table: HashTable,
    postings: File,
    postings_path: PathBuf,
    /// Postings in the file, for the writer (0 in a reader, which reads as far as
    /// the file goes).
    postings_count: u64,
    /// The last record inserted, and the number of its first posting: a value a
    /// record holds twice is posted once.
    last_record: Option<(u64, u64)>,
    /// Set when a lookup found a chain this store does not write: the writer
    /// rebuilds the index.
    inconsistent: AtomicBool,
}

impl FieldIndex {
    /// The number of records (from the first) the index holds.
    pub(crate) fn indexed(&self) -> u64 {
        self.table.indexed
    }

    /// The number of postings, if the file is a postings file of this tag exactly
    /// as long as its header says.
    fn open_postings(file: &File, tag: u32) -> Option<u64> {
        let mut header = [0u8; POSTINGS_HEADER as usize];
        read_at(file, &mut header, 0).ok()?;
        let mut count = [0u8; 8];
        count.copy_from_slice(&header[16..]);
        let count = u64::from_le_bytes(count);
        let len = file.metadata().ok()?.len();
        (header == postings_header(tag, count) && Some(len) == count.checked_mul(POSTING)?.checked_add(POSTINGS_HEADER))
            .then_some(count)
    }

    /// Opens the field index of a log of `records` records (`per_record` values each
    /// at most) for reading, if there is one that fits it.
    pub(crate) fn open_read(tag: u32, dir: &Path, records: u64, per_record: u64) -> Result<Option<FieldIndex>> {
        let Some(table) = HashTable::open_read(FIELDS, tag, dir, records, per_record)? else { return Ok(None) };
        let path = dir.join(POSTINGS_FILE);
        regular_or_missing(&path)?;
        let Ok(postings) = File::open(&path) else { return Ok(None) };
        let mut header = [0u8; POSTINGS_HEADER as usize];
        if read_at(&postings, &mut header, 0).is_err() || header[..16] != postings_header(tag, 0)[..16] {
            return Ok(None);
        }
        Ok(Some(FieldIndex {
            table,
            postings,
            postings_path: path,
            postings_count: 0,
            last_record: None,
            inconsistent: AtomicBool::new(false),
        }))
    }

    /// Opens the field index of a log of `records` records for writing, and says
    /// from which record on it must be (re)built: the records `trusted` says are
    /// durable, if the table and its postings fit the log and each other and its
    /// header says it holds them all; otherwise (it lags: what a crash left after
    /// the durable point cannot be told from what is right, one chain at a time) it
    /// is made anew and built from the first record.
    pub(crate) fn open_write(
        fs: &Fs,
        dir: &Path,
        tag: u32,
        records: u64,
        per_record: u64,
        trusted: u64,
    ) -> Result<(FieldIndex, u64)> {
        let table = HashTable::open_write(FIELDS, tag, fs, dir, records, per_record)?;
        let path = dir.join(POSTINGS_FILE);
        if table.indexed == records
            && trusted >= records
            && regular_or_missing(&path).is_ok()
            && let Ok(postings) = fs.open(&path, false)
            && let Some(count) = FieldIndex::open_postings(&postings, tag)
            && table.entries() <= count
            && count <= records.saturating_mul(per_record)
        {
            let index = FieldIndex {
                table,
                postings,
                postings_path: path,
                postings_count: count,
                last_record: None,
                inconsistent: AtomicBool::new(false),
            };
            return Ok((index, records));
        }
        Ok((FieldIndex::create(fs, dir, tag)?, 0))
    }

    /// Writes a new empty index (postings, then table) in place of any old one,
    /// each replaced atomically and on stable storage when this returns. An old
    /// table left beside new postings (a crash between them) holds more values
    /// than there are postings, and is rebuilt.
    pub(crate) fn create(fs: &Fs, dir: &Path, tag: u32) -> Result<FieldIndex> {
        fs.replace(dir, POSTINGS_FILE, &postings_header(tag, 0))?;
        let postings_path = dir.join(POSTINGS_FILE);
        let postings = fs.open(&postings_path, false)?;
        let table = HashTable::create(FIELDS, tag, fs, dir)?;
        Ok(FieldIndex {
            table,
            postings,
            postings_path,
            postings_count: 0,
            last_record: None,
            inconsistent: AtomicBool::new(false),
        })
    }

    /// Adds the values `terms` (fingerprint, record), in record order: the
    /// postings in one write, then each value's slot pointing at its newest one.
    pub(crate) fn insert(&mut self, fs: &Fs, terms: &[(Fingerprint, u64)]) -> Result<()> {
        let mut heads: HashMap<Fingerprint, u64> = HashMap::new();
        let mut bytes = Vec::with_capacity(terms.len() * POSTING as usize);
        let first = self.postings_count;
        for (fingerprint, seq) in terms {
            let previous = match heads.get(fingerprint) {
                Some(head) => Some(*head),
                None => self.table.head(fingerprint)?,
            };
            let number = first + (bytes.len() as u64) / POSTING;
            let from = match self.last_record {
                Some((record, from)) if record == *seq => from,
                _ => {
                    self.last_record = Some((*seq, number));
                    number
                }
            };
            // The same value twice in one record: posted once.
            if previous.is_some_and(|previous| previous >= from) {
                continue;
            }
            bytes.extend_from_slice(&posting(*seq, previous));
            heads.insert(*fingerprint, number);
        }
        if bytes.is_empty() {
            return Ok(());
        }
        fs.write_at(&self.postings, &self.postings_path, &bytes, POSTINGS_HEADER + first * POSTING)?;
        self.postings_count = first + (bytes.len() as u64) / POSTING;
        // Slots in the order of their postings, so that the table grows the same way
        // whatever the batches.
        let mut order: Vec<(u64, Fingerprint)> = heads.into_iter().map(|(f, n)| (n, f)).collect();
        order.sort_unstable();
        for (number, fingerprint) in order {
            self.table.set_head(fs, &fingerprint, number)?;
        }
        Ok(())
    }

    /// Writes the postings' header (their number), then the table's: it holds the
    /// first `indexed` records.
    pub(crate) fn write_header(&mut self, fs: &Fs, indexed: u64) -> Result<()> {
        let tag = self.table.tag();
        fs.write_at(&self.postings, &self.postings_path, &postings_header(tag, self.postings_count), 0)?;
        self.table.write_header(fs, indexed)
    }

    /// Flushes the postings, then the table, to stable storage.
    pub(crate) fn sync(&self, fs: &Fs) -> Result<()> {
        fs.sync(&self.postings, &self.postings_path)?;
        self.table.sync(fs)
    }

    /// The records stored under a fingerprint, newest first, or `None` when its
    /// chain is not one this store writes (then the records must be read instead).
    /// The walk reads one posting per record and ends, since each step goes to an
    /// earlier posting.
    pub(crate) fn find(&self, fingerprint: &Fingerprint) -> Result<Option<Vec<u64>>> {
        let found = self.walk(fingerprint)?;
        if found.is_none() {
            self.inconsistent.store(true, Ordering::Relaxed);
        }
        Ok(found)
    }

    /// Whether a lookup found a chain this store does not write.
    pub(crate) fn inconsistent(&self) -> bool {
        self.inconsistent.load(Ordering::Relaxed)
    }

    fn walk(&self, fingerprint: &Fingerprint) -> Result<Option<Vec<u64>>> {
        let Some(head) = self.table.head(fingerprint)? else { return Ok(Some(Vec::new())) };
        let mut found = Vec::new();
        let mut number = head;
        let mut bytes = [0u8; POSTING as usize];
        loop {
            match read_at(&self.postings, &mut bytes, POSTINGS_HEADER.saturating_add(number.saturating_mul(POSTING))) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(io_error("read", &self.postings_path, &e)),
            }
            let value = |at: usize| {
                let mut n = [0u8; 8];
                n.copy_from_slice(&bytes[at..at + 8]);
                u64::from_le_bytes(n)
            };
            let (seq, previous) = (value(0), value(8));
            if seq == 0 || found.last().is_some_and(|last| *last < seq) {
                return Ok(None);
            }
            found.push(seq - 1);
            match previous {
                0 => return Ok(Some(found)),
                p if p > number => return Ok(None),
                p => number = p - 1,
            }
        }
    }
}

/// The field index's tag (see [`HashTable`]): the first 4 bytes (as a
/// little-endian u32) of the SHA-256 of each field name's length (u32,
/// little-endian) and the name, in `log.json`'s order. A table of other fields
/// is rebuilt, not used.
pub(crate) fn tag(fields: &[String]) -> u32 {
    let mut bytes = Vec::new();
    for field in fields {
        bytes.extend_from_slice(&(field.len() as u32).to_le_bytes());
        bytes.extend_from_slice(field.as_bytes());
    }
    let digest = Digest::sha256(&bytes);
    let first = digest.as_bytes();
    u32::from_le_bytes([first[0], first[1], first[2], first[3]])
}

/// The fingerprint of a field's value: the first 16 bytes of the SHA-256 of the
/// field name's length (u32, little-endian), the name, the value's length (u32,
/// little-endian) and the value (UTF-8).
pub(crate) fn fingerprint(field: &str, value: &str) -> Fingerprint {
    let mut bytes = Vec::with_capacity(8 + field.len() + value.len());
    for part in [field, value] {
        bytes.extend_from_slice(&(part.len() as u32).to_le_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    truncated(&Digest::sha256(&bytes))
}

/// The fingerprints an event (canonical JSON) is indexed under for `fields`.
pub(crate) fn event_fingerprints(event: &[u8], fields: &[String]) -> Vec<Fingerprint> {
    evidentia::lookup_terms(event, fields)
        .into_iter()
        .filter_map(|(position, value)| fields.get(position).map(|field| fingerprint(field, &value)))
        .collect()
}

/// Whether an event (canonical JSON) holds `value` in `field`, as the core decides.
pub(crate) fn holds(event: &[u8], field: &str, value: &str) -> bool {
    evidentia::lookup_terms(event, &[field.to_owned()]).iter().any(|(_, v)| v == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_unambiguous() {
        assert_ne!(fingerprint("ab", "c"), fingerprint("a", "bc"));
        assert_ne!(fingerprint("a", "b"), fingerprint("b", "a"));
        assert_eq!(fingerprint("instruction_id", "INS-1"), fingerprint("instruction_id", "INS-1"));
    }

    /// 6,000 records sharing one value, one append each (as `log append` makes
    /// them), each also with a value of its own: the slot reads per append stay
    /// bounded (a short probe per distinct value), not growing with the number of
    /// records sharing the value; a lookup finds them all.
    #[test]
    fn appends_of_a_shared_value_read_a_bounded_number_of_slots() {
        let dir = std::env::temp_dir().join(format!("evidentia-fields-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fs = Fs::default();
        let fields = ["c".to_owned(), "i".to_owned()];
        let mut index = FieldIndex::create(&fs, &dir, tag(&fields)).unwrap();
        let shared = fingerprint("c", "EUR");
        let mut most = 0;
        for seq in 0..6000u64 {
            let before = index.table.reads();
            let own = fingerprint("i", &seq.to_string());
            index.insert(&fs, &[(shared, seq), (own, seq), (shared, seq)]).unwrap();
            index.write_header(&fs, seq + 1).unwrap();
            most = most.max(index.table.reads() - before);
        }
        // Two lookups and two writes of a slot, each a probe of one or two reads
        // (three when the table grows during it).
        assert!(most <= 8, "{most} slot reads for one append");
        let found = index.find(&shared).unwrap().unwrap();
        assert!(found == (0..6000).rev().collect::<Vec<u64>>(), "{} found", found.len());
        assert_eq!(index.find(&fingerprint("i", "17")).unwrap().unwrap(), [17]);
        assert_eq!(index.find(&fingerprint("c", "USD")).unwrap().unwrap(), Vec::<u64>::new());
        // A chain that is not one this store writes is reported, never followed.
        let path = dir.join(POSTINGS_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let len = bytes.len();
        // The newest posting of the shared value (each record's first) names a later one.
        bytes[len - 24..len - 16].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let reopened = FieldIndex::open_read(tag(&fields), &dir, 6000, 2).unwrap().unwrap();
        assert!(reopened.find(&shared).unwrap().is_none());
        bytes.truncate(len / 2);
        std::fs::write(&path, &bytes).unwrap();
        assert!(reopened.find(&shared).unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
