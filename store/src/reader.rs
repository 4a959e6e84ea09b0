//! [`LogReader`]: a log opened for reading, without the writer's lock, for
//! verifying, proving and exporting while another process may be appending.
//!
//! It takes a snapshot when it opens: holding the commit lock shared (a writer
//! holds it exclusively while it changes the files), it reads the configuration,
//! the key history and the checkpoints and counts the complete entries. Files are
//! only ever appended to, so everything it reads later is as it was then: a reader
//! never sees half of an append, nor a checkpoint of records it cannot see.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use evidentia::merkle::Hash;
use evidentia::{ConsistencyProof, Error, ErrorCode, InclusionProof, KeySet, LogKey, Report, Result};

use crate::checkpoints::{Checkpoints, StoredCheckpoint};
use crate::config::{CHECKPOINTS_FILE, COMMIT_LOCK, Config, INDEX_FILE, Mode, SEGMENTS_DIR, TREE_FILE, read_keys};
use crate::fields::{self, FieldIndex};
use crate::frame::{self, Tail};
use crate::fsio::lock_shared;
use crate::index::IndexFile;
use crate::nonces::NONCES;
use crate::segments::{self, Entry, EntryRef, Known, Segment};
use crate::state::Durable;
use crate::table::HashTable;
use crate::tree::{self, TreeFile};
use crate::view::{TreeAccess, View};

/// A log opened for reading (see the module documentation). It sees the entries
/// that were complete when it was opened.
#[derive(Debug)]
pub struct LogReader {
    pub(crate) dir: PathBuf,
    config: Config,
    keys: KeySet,
    pub(crate) segments: Vec<Segment>,
    index: Option<IndexFile>,
    nonces: Option<HashTable>,
    fields: Option<FieldIndex>,
    pub(crate) count: u64,
    pub(crate) checkpoints: Checkpoints,
    /// Whether bytes after the valid checkpoints are damaged (not a torn write).
    pub(crate) checkpoints_damaged: bool,
    torn_bytes: u64,
    /// What is known of the last segment's acknowledged bytes.
    known: Known,
    /// How many entries `state.json` says the derived files hold durably, if it says.
    pub(crate) durable: Option<u64>,
    /// The tree file, opened on first use.
    tree: OnceLock<Result<TreeFile>>,
    /// The kid of the last record, read on first use.
    last_kid: OnceLock<Option<String>>,
}

/// Counts the entries of the segments: through the index when its last slot finds
/// an intact entry in the last segment, so that only what follows is read; otherwise
/// by reading the last segment. Also says what is known of the last segment (see
/// [`Known`]) and how many bytes of debris an unfinished write left at its end.
fn count_entries(segments: &[Segment], index: Option<&IndexFile>, durable: u64) -> Result<(u64, Known, u64)> {
    let Some(last) = segments.last() else { return Ok((0, Known::Last { offset: None, entries: durable }, 0)) };
    let indexed = index.and_then(|index| segments::last_indexed(segments, index));
    let known = Known::Last { offset: indexed.map(|(_, offset)| offset), entries: durable };
    // Count from the end of the last indexed entry when it is intact, else from the
    // start: only what follows is read.
    let (from, before) = match indexed {
        Some((seq, offset)) => match last.frame_at(offset) {
            Ok(payload) => (offset + (frame::HEADER + payload.len()) as u64, seq + 1),
            Err(_) => (0, last.first_seq),
        },
        None => (0, last.first_seq),
    };
    let data = last.read_from(from)?;
    let mut count = before;
    // Where the last thing walked ends: a valid frame's end, or None after damage
    // (which counts as an entry, so nothing after it is debris).
    let mut end = Some(0);
    segments::walk(&data, 0, from, before, last, known, |offset, frame| {
        count += 1;
        end = frame.ok().map(|payload| offset + frame::HEADER + payload.len());
        Ok(())
    })?;
    let debris = end.map_or(0, |end| data.len().saturating_sub(end) as u64);
    Ok((count, known, debris))
}

impl LogReader {
    /// Opens a log for reading.
    ///
    /// # Errors
    /// [`ErrorCode::LogNotFound`], [`ErrorCode::LogConfigInvalid`], [`ErrorCode::Io`].
    pub fn open(dir: &Path) -> Result<LogReader> {
        Config::read(dir)?;
        let snapshot = lock_shared(&dir.join(COMMIT_LOCK))?;
        let config = Config::read(dir)?;
        let keys = read_keys(dir)?;
        let (checkpoints, tail) = Checkpoints::read(&dir.join(CHECKPOINTS_FILE))?;
        let segments = segments::list(&dir.join(SEGMENTS_DIR))?;
        let index = IndexFile::open_read(&dir.join(INDEX_FILE))?;
        let durable = Durable::read(dir)?.map(|d| d.entries);
        let (count, known, torn_bytes) = count_entries(&segments, index.as_ref(), durable.unwrap_or(0))?;
        // An unreadable lookup index only means lookups read the records instead.
        let nonces = HashTable::open_read(NONCES, 0, dir, count, 1).ok().flatten();
        let fields = match config.index_fields.len() {
            0 => None,
            n => FieldIndex::open_read(fields::tag(&config.index_fields), dir, count, n as u64).ok().flatten(),
        };
        drop(snapshot);
        Ok(LogReader {
            dir: dir.to_owned(),
            config,
            keys,
            segments,
            index,
            nonces,
            fields,
            count,
            checkpoints,
            checkpoints_damaged: matches!(tail, Tail::Damaged { .. }),
            torn_bytes,
            known,
            durable,
            tree: OnceLock::new(),
            last_kid: OnceLock::new(),
        })
    }

    /// The log id.
    pub fn log_id(&self) -> &str {
        &self.config.log_id
    }

    /// The log's Ed25519 note key, when its checkpoints carry that signature too.
    pub fn note_key(&self) -> Option<LogKey> {
        self.config.note_key.as_ref().and_then(|k| LogKey::from_vkey(&k.vkey).ok())
    }

    /// Where the log's Ed25519 note key is kept, when it has one.
    pub(crate) fn note_key_config(&self) -> Option<&crate::config::NoteKeyConfig> {
        self.config.note_key.as_ref()
    }

    /// The version of the records the log writes (log.json's `version`).
    pub fn record_version(&self) -> evidentia::RecordVersion {
        self.config.record_version
    }

    /// How records are signed.
    pub fn mode(&self) -> Mode {
        self.config.mode
    }

    /// The log's key history.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The number of complete entries.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether the log holds no entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes at the end of the log that an unfinished write left (a writer stopped
    /// in the middle of an append; the next writer to open the log cuts them). They
    /// are not part of the log.
    pub fn torn_tail_bytes(&self) -> u64 {
        self.torn_bytes
    }

    /// Every stored checkpoint, in order.
    ///
    /// # Errors
    /// [`ErrorCode::Io`] when one cannot be read.
    pub fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>> {
        (0..self.checkpoints.len()).map(|i| self.checkpoints.get(i)).collect()
    }

    /// The sizes of the stored checkpoints, in order.
    pub fn checkpoint_sizes(&self) -> Vec<u64> {
        self.checkpoints.sizes().collect()
    }

    /// The newest stored checkpoint.
    ///
    /// # Errors
    /// [`ErrorCode::Io`] when it cannot be read.
    pub fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.checkpoints.latest()
    }

    /// The stored checkpoint of `size` records, or the newest when `size` is `None`.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] when there is no such checkpoint.
    pub fn checkpoint_of_size(&self, size: Option<u64>) -> Result<StoredCheckpoint> {
        let found = match size {
            Some(size) => self.checkpoints.sizes().rposition(|s| s == size),
            None => self.checkpoints.len().checked_sub(1),
        };
        match found {
            Some(i) => self.checkpoints.get(i),
            None => Err(Error::new(
                ErrorCode::InvalidArgument,
                match size {
                    Some(size) => format!("the log has no signed checkpoint of {size} records"),
                    None => "the log has no signed checkpoint yet: run `evidentia log checkpoint` first".to_owned(),
                },
            )),
        }
    }
}

impl TreeAccess for LogReader {
    /// The tree of all complete entries (proofs for smaller sizes use its nodes).
    fn tree(&self) -> Result<&TreeFile> {
        let tree = self.tree.get_or_init(|| {
            let path = self.dir.join(TREE_FILE);
            if tree::stored_leaves(&path)? < self.count {
                return Err(Error::new(
                    ErrorCode::LogCorrupt,
                    "the tree index is behind the records (a writer stopped before updating it); open the log for writing (append or checkpoint) to rebuild it",
                ));
            }
            TreeFile::open_read(&path, self.count)
        });
        tree.as_ref().map_err(Clone::clone)
    }
}

impl LogReader {
    fn read<T>(&self, read: impl FnOnce(&View<'_>) -> Result<T>) -> Result<T> {
        let view = |last_kid| View {
            config: &self.config,
            segments: &self.segments,
            index: self.index.as_ref(),
            checkpoints: &self.checkpoints,
            nonces: self.nonces.as_ref(),
            fields: self.fields.as_ref(),
            count: self.count,
            last_kid,
            tree: self,
        };
        let last_kid = self.last_kid.get_or_init(|| {
            let last = self.count.checked_sub(1)?;
            view(None).entry(last).and_then(|entry| entry.record()).ok().map(|record| record.kid)
        });
        read(&view(last_kid.as_deref()))
    }

    /// The entry with sequence number `seq`.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] beyond the log; [`ErrorCode::LogCorrupt`] when
    /// it cannot be read.
    pub fn entry(&self, seq: u64) -> Result<Entry> {
        self.read(|view| view.entry(seq))
    }

    /// Calls `visit` with every entry in order (or the reason an entry is damaged).
    ///
    /// # Errors
    /// Whatever reading the segments or `visit` fails with.
    pub fn for_each_entry(
        &self,
        mut visit: impl FnMut(std::result::Result<EntryRef<'_>, String>) -> Result<()>,
    ) -> Result<()> {
        let mut read = 0u64;
        let count = self.count;
        segments::for_each_entry(&self.segments, self.known, |entry| {
            if read >= count {
                return Ok(()); // Appended after this reader was opened.
            }
            read += 1;
            visit(entry)
        })
    }

    /// As [`LogReader::for_each_entry`], from the entry `seq` on, found through
    /// the index (so that the entries before it are not read; from 0, no index is
    /// needed).
    ///
    /// # Errors
    /// [`ErrorCode::LogCorrupt`] when the log has no index to find it by; as
    /// [`LogReader::for_each_entry`].
    pub(crate) fn for_each_entry_from(
        &self,
        seq: u64,
        mut visit: impl FnMut(std::result::Result<EntryRef<'_>, String>) -> Result<()>,
    ) -> Result<()> {
        if seq == 0 {
            return self.for_each_entry(visit);
        }
        if seq >= self.count {
            return Ok(());
        }
        let index = self.index.as_ref().ok_or_else(|| {
            Error::new(ErrorCode::LogCorrupt, "the log has no index; open it for writing to rebuild it")
        })?;
        // The index is derived, not signed. An index pointing elsewhere cannot make
        // records pass unseen: a verifier starting here expects the record after
        // `seq - 1` (its sequence and chain), and finds whatever else it is given.
        let (segment, offset) = index.get(seq)?;
        let mut read = seq;
        let count = self.count;
        segments::for_each_entry_from(&self.segments, self.known, (segment, offset, seq), |entry| {
            if read >= count {
                return Ok(()); // Appended after this reader was opened.
            }
            read += 1;
            visit(entry)
        })?;
        // Nor can one pointing past entries leave them out unread.
        match read == count {
            true => Ok(()),
            false => Err(Error::new(
                ErrorCode::LogCorrupt,
                format!(
                    "the index leads to {} of the log's {} entries from {seq} on; open the log for writing to rebuild it",
                    read - seq,
                    count - seq
                ),
            )),
        }
    }

    /// The inclusion proof of record `index` in the tree of the first `size` records
    /// (by default, the size of the latest checkpoint).
    ///
    /// # Errors
    /// [`ErrorCode::ProofMalformed`] for positions outside the log.
    pub fn inclusion_proof(&self, index: u64, size: Option<u64>) -> Result<InclusionProof> {
        self.read(|view| view.inclusion_proof(index, size))
    }

    /// The consistency proof between the trees of the first `old` and `new` records
    /// (by default, the size of the latest checkpoint).
    ///
    /// # Errors
    /// [`ErrorCode::ProofMalformed`] unless `0 < old <= new <= len`.
    pub fn consistency_proof(&self, old: u64, new: Option<u64>) -> Result<ConsistencyProof> {
        self.read(|view| view.consistency_proof(old, new))
    }

    /// The root hash of the first `size` records.
    ///
    /// # Errors
    /// As [`LogReader::inclusion_proof`].
    pub fn root(&self, size: u64) -> Result<Hash> {
        self.read(|view| view.root(size))
    }

    /// The salt record `seq` of a log of version-2 records commits to its event
    /// under (SPEC.md §26): with the event, it checks a receipt without the log
    /// ([`evidentia::verify_receipt_salted`]). `None` for a record of version 1,
    /// whose event is not salted.
    ///
    /// # Errors
    /// As [`LogReader::entry`]; [`ErrorCode::RecordErased`] for a record whose
    /// event (and salt) was erased; [`ErrorCode::EventMissing`] or
    /// [`ErrorCode::EventMismatch`] for an event not kept or altered.
    pub fn salt(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        self.read(|view| view.salt(seq))
    }

    /// What a holder of record `seq` needs to verify it offline: its receipt in a log
    /// that signs every record, or a batch receipt (the record, its inclusion proof
    /// and the newest checkpoint its own key signed) in a batch-signed log.
    ///
    /// # Errors
    /// As [`LogReader::entry`]; [`ErrorCode::InvalidArgument`] when a batch-signed
    /// record is not yet covered by a checkpoint.
    pub fn receipt(&self, seq: u64) -> Result<String> {
        self.read(|view| view.receipt(seq))
    }

    /// The sequence number of the record holding `nonce`, if one does.
    ///
    /// # Errors
    /// [`ErrorCode::LogCorrupt`], [`ErrorCode::Io`].
    pub fn find_nonce(&self, nonce: &str) -> Result<Option<u64>> {
        self.read(|view| view.find_nonce(nonce))
    }

    /// The sequence numbers of the records whose event holds `value` in the indexed
    /// payload field `field` (for a signed message, in its payload; see
    /// [`evidentia::lookup_terms`]), ascending; found through the field index.
    ///
    /// # Errors
    /// [`ErrorCode::FieldNotIndexed`] when the log does not index `field`;
    /// [`ErrorCode::LogCorrupt`], [`ErrorCode::Io`].
    pub fn find(&self, field: &str, value: &str) -> Result<Vec<u64>> {
        self.read(|view| view.find(field, value))
    }

    /// The payload fields the log indexes (see [`LogReader::find`]).
    pub fn index_fields(&self) -> &[String] {
        &self.config.index_fields
    }

    /// Verifies the whole log: every entry (signatures or, in batch mode, the key
    /// of each record), events, sequence, chain, times, nonces; every stored
    /// checkpoint against the records and the key set; every stored tree hash
    /// against the records. `keys` are the keys to trust (the log's own key history
    /// when `None`); `progress` is called with the number of entries done.
    ///
    /// # Errors
    /// Only when the log cannot be read at all; everything found wrong is in the report.
    pub fn verify(&self, keys: Option<&KeySet>, progress: impl FnMut(u64)) -> Result<Report> {
        crate::pipeline::verify(self, keys.unwrap_or(&self.keys), None, progress)
    }

    /// Verifies the records after `checkpoint`, a signed checkpoint the caller
    /// trusts (from an earlier verification, a monitor or a witness), without reading
    /// the records it covers again (SPEC.md §13.1), or, when it is `None`, the whole
    /// log as [`LogReader::verify`] does. From a checkpoint: the log's stored tree and last record at the checkpoint's
    /// size must be the ones it signed, which proves the log only grew since; then
    /// every later record, stored checkpoint, timestamp and tree hash is checked as
    /// [`LogReader::verify`] checks them. The report's `first_record` is the
    /// checkpoint's size. A log whose tree no longer holds the checkpoint (cut back
    /// below it, or rewritten or forked since) fails with CHECKPOINT_MISMATCH;
    /// records before it are not read again, so damage to them is found only by
    /// [`LogReader::verify`].
    ///
    /// # Errors
    /// The checkpoint's code when it cannot be read as a checkpoint at all;
    /// [`ErrorCode::LogCorrupt`] when the log has no index or tree to start from
    /// (opening it for writing rebuilds them); as [`LogReader::verify`].
    pub fn verify_from(
        &self,
        keys: Option<&KeySet>,
        checkpoint: Option<&str>,
        progress: impl FnMut(u64),
    ) -> Result<Report> {
        crate::pipeline::verify(self, keys.unwrap_or(&self.keys), checkpoint, progress)
    }

    /// Writes a copy of this log with the given entries in place of its own, without
    /// any checks — as someone with access to the files could — for copies, imports,
    /// and for showing what verification finds in a tampered copy. The copy gets its
    /// own index and tree, made from the entries, and this log's configuration, keys
    /// and signed checkpoints unchanged (a copier cannot sign new ones).
    ///
    /// # Errors
    /// [`ErrorCode::Io`]; [`ErrorCode::LogCorrupt`] for an entry whose record cannot be read.
    pub fn write_copy<'a>(&self, target: &Path, entries: impl IntoIterator<Item = &'a Entry>) -> Result<()> {
        crate::copy::write_copy(self, target, entries)
    }
}

/// Verifies the log in `dir` (see [`LogReader::verify`]).
///
/// # Errors
/// Only when the log cannot be read at all.
pub fn verify_dir(dir: &Path, keys: Option<&KeySet>, progress: impl FnMut(u64)) -> Result<Report> {
    LogReader::open(dir)?.verify(keys, progress)
}

/// Verifies the records of the log in `dir` after a trusted checkpoint, or the
/// whole log without one (see [`LogReader::verify_from`]).
///
/// # Errors
/// As [`LogReader::verify_from`].
pub fn verify_dir_from(
    dir: &Path,
    keys: Option<&KeySet>,
    checkpoint: Option<&str>,
    progress: impl FnMut(u64),
) -> Result<Report> {
    LogReader::open(dir)?.verify_from(keys, checkpoint, progress)
}
