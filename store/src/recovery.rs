//! Opening a log for writing: what a crash, a power cut or a failed write left is
//! repaired here, and what was repaired is reported ([`Recovery`]).
//!
//! - The last segment and `checkpoints.log`: a torn tail (a write that never
//!   completed, so never acknowledged) is cut; damage to complete frames is never
//!   cut: opening fails with `LOG_CORRUPT` and nothing changes.
//! - The derived files (`index`, `tree`, `nonces`, `fields`) are trusted up to what
//!   `state.json` says is durable (after checking the tree's root there) and
//!   rebuilt from the records after it, in one pass over the segments.

use std::path::Path;

use evidentia::json::{Number, Value};
use evidentia::merkle::leaf_hash;
use evidentia::{ChainState, Error, ErrorCode, KeyRecord, KeySet, Record, Result};

use crate::checkpoints::Checkpoints;
use crate::config::{
    CHECKPOINTS_FILE, CUT_DIR, Config, INDEX_FILE, KEYS_FILE, Mode, SEGMENTS_DIR, TREE_FILE, read_keys,
};
use crate::fields::{self, FieldIndex};
use crate::frame::{self, Decoded, Tail};
use crate::fsio::{Fs, file_len, read_regular};
use crate::index::{IndexFile, slot};
use crate::nonces::{NONCES, fingerprint};
use crate::segments::{self, Entry, EntryRef, Segment, SegmentWriter};
use crate::state::Durable;
use crate::table::{HashTable, Kind};
use crate::tree::{self, TreeFile};
use crate::writer::{PendingKeyChange, Writer};

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
    /// Records whose nonces were indexed again.
    pub reindexed_nonce_records: u64,
    /// Records whose indexed payload fields were indexed again.
    pub reindexed_field_records: u64,
    /// Records of a batch-signed log that no checkpoint seals yet (a batch append
    /// stopped after storing them): the next append or checkpoint seals them.
    pub unsealed_records: u64,
    /// A rotation or revocation was recorded in the log but keys.jwks not yet
    /// replaced: keys.jwks was written from the log's key record.
    pub completed_key_change: bool,
}

impl Recovery {
    /// Whether anything was repaired.
    pub fn repaired(&self) -> bool {
        *self != Recovery { unsealed_records: self.unsealed_records, ..Recovery::default() }
    }

    /// What was found and done, one sentence each, for people.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.truncated_bytes > 0 {
            lines.push(format!(
                "cut {} bytes of an entry whose writing never completed (it was never acknowledged)",
                self.truncated_bytes
            ));
        }
        if self.truncated_checkpoint_bytes > 0 {
            lines.push(format!(
                "cut {} bytes of a checkpoint whose writing never completed",
                self.truncated_checkpoint_bytes
            ));
        }
        if self.rebuilt_index_entries > 0 || self.rebuilt_tree_leaves > 0 || self.reindexed_nonce_records > 0 {
            lines.push(format!(
                "rebuilt the derived files from the records: {} index entries, the tree nodes of {} records, the nonces of {} records",
                self.rebuilt_index_entries, self.rebuilt_tree_leaves, self.reindexed_nonce_records
            ));
        }
        if self.reindexed_field_records > 0 {
            lines.push(format!(
                "rebuilt the field index from the records: the indexed fields of {} records",
                self.reindexed_field_records
            ));
        }
        if self.completed_key_change {
            lines.push(
                "completed a key rotation or revocation the log recorded but keys.jwks did not yet show: keys.jwks was written from the log's key record".to_owned(),
            );
        }
        if self.unsealed_records > 0 {
            lines.push(format!(
                "{} records at the end are stored but not yet sealed by a signed checkpoint; the next append or checkpoint seals them",
                self.unsealed_records
            ));
        }
        lines
    }

    /// The same as a JSON value: each count by name, whether anything was
    /// repaired, and the sentences.
    pub fn to_value(&self) -> Value {
        let count = |n: u64| Value::Number(Number::from_i64(n as i64).unwrap_or(Number::from(0)));
        Value::object([
            ("completed_key_change", Value::from(self.completed_key_change)),
            ("messages", Value::Array(self.describe().into_iter().map(Value::from).collect())),
            ("rebuilt_index_entries", count(self.rebuilt_index_entries)),
            ("rebuilt_tree_leaves", count(self.rebuilt_tree_leaves)),
            ("reindexed_field_records", count(self.reindexed_field_records)),
            ("reindexed_nonce_records", count(self.reindexed_nonce_records)),
            ("repaired", Value::Bool(self.repaired())),
            ("truncated_bytes", count(self.truncated_bytes)),
            ("truncated_checkpoint_bytes", count(self.truncated_checkpoint_bytes)),
            ("unsealed_records", count(self.unsealed_records)),
        ])
    }

    /// [`Recovery::to_value`] as canonical JSON text.
    pub fn to_json(&self) -> String {
        String::from_utf8(evidentia::canonicalize_value(&self.to_value()).unwrap_or_default()).unwrap_or_default()
    }
}

fn corrupt(message: String) -> Error {
    Error::new(ErrorCode::LogCorrupt, message)
}

/// The last segment as found: how many entries the log holds, where its valid
/// frames end, and the bytes after them that no acknowledged entry occupies.
struct LastSegment {
    count: u64,
    end: u64,
    /// `(offset, length)` of debris to cut: what an unacknowledged write left.
    debris: Option<(u64, u64)>,
}

/// Where the frame of entry `seq` ends, if the index finds it in the last segment
/// and it is that record, intact.
fn indexed_end(segments: &[Segment], index: &IndexFile, seq: u64) -> Option<u64> {
    let last = segments.last()?;
    let (segment, offset) = index.get(seq).ok()?;
    if segment + 1 != segments.len() {
        return None;
    }
    let payload = last.frame_at(offset).ok()?;
    let record = Entry::decode(&payload).ok()?.record().ok()?;
    (record.seq == seq).then_some(offset + (frame::HEADER + payload.len()) as u64)
}

/// Reads the last segment from the end of the last entry known durable (or from
/// its start), and tells acknowledged entries from what an unfinished write left.
///
/// An append flushes its frames before it writes their index slots, so an indexed
/// entry was flushed and acknowledged (see [`segments::last_indexed`]): the bytes
/// up to and including the last indexed entry (or the entry `state.json` names)
/// must be valid frames, and damage there fails opening. After them, valid frames
/// are kept (they are complete records, even if no one was told); what follows the
/// last of them is cut if it is what an unfinished write leaves (see
/// [`frame::unwritten`]: a frame cut short at the end, or sectors of zeros a power
/// cut left, with whatever valid frames follow such a hole), and is damage, which
/// fails opening, if it is anything else.
fn inspect_last_segment(segments: &[Segment], index: &IndexFile, durable: Option<Durable>) -> Result<LastSegment> {
    let Some(last) = segments.last() else { return Ok(LastSegment { count: 0, end: 0, debris: None }) };
    let durable_end = durable
        .filter(|d| d.entries > last.first_seq)
        .and_then(|d| indexed_end(segments, index, d.entries - 1).map(|end| (end, d.entries)));
    // Where the last acknowledged entry begins (its bytes must all be valid).
    let acknowledged = segments::last_indexed(segments, index)
        .map(|(_, offset)| offset)
        .max(durable_end.map(|(end, _)| end.saturating_sub(1)));
    // Start after the last entry known durable: the bytes before it need no scan.
    let (start, before) = durable_end.unwrap_or((0, last.first_seq));
    let data = last.read_from(start)?;
    let scan = frame::scan(&data, start);
    let end = start + scan.end as u64;
    let count = before + scan.frames.len() as u64;
    let rest = (data.len() - scan.end) as u64;
    let damaged = |what: String| {
        corrupt(format!(
            "{} is damaged at offset {end}{what}: an acknowledged entry was changed. Nothing was cut or changed; `evidentia log verify` shows which records are affected",
            last.path.display()
        ))
    };
    if acknowledged.is_some_and(|acknowledged| end <= acknowledged) {
        return Err(damaged(String::new()));
    }
    let debris = match scan.tail {
        Tail::Clean => None,
        Tail::Unwritten { .. } => Some((end, rest)),
        Tail::Damaged { next_valid } => {
            return Err(damaged(match next_valid {
                Some(at) => format!(" and holds valid entries after it (from offset {})", start + at as u64),
                None => ", its last entry,".to_owned(),
            }));
        }
    };
    Ok(LastSegment { count, end, debris })
}

/// Keeps bytes about to be cut in `cut/<file>@<offset>` (or `…@<offset>.<n>` when
/// that exists already: a later crash may cut at the same place), flushed, so that
/// a cut can always be looked at (and undone) by hand.
fn keep_cut_bytes(fs: &Fs, dir: &Path, file: &Path, offset: u64) -> Result<()> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let bytes = read_regular(file, 1 << 30)?.unwrap_or_default();
    let folder = dir.join(CUT_DIR);
    fs.create_folder(&folder)?;
    let mut kept = folder.join(format!("{name}@{offset}"));
    for n in 1.. {
        if std::fs::symlink_metadata(&kept).is_err() {
            break;
        }
        kept = folder.join(format!("{name}@{offset}.{n}"));
    }
    fs.write_new(&kept, bytes.get(offset as usize..).unwrap_or_default())?;
    fs.sync_dir(&folder)
}

/// Cuts a file at `offset`, keeping what it cuts (see [`keep_cut_bytes`]).
fn cut(fs: &Fs, dir: &Path, file: &Path, offset: u64) -> Result<()> {
    keep_cut_bytes(fs, dir, file, offset)?;
    let handle = fs.open(file, false)?;
    fs.set_len(&handle, file, offset)?;
    fs.sync(&handle, file)
}

/// The number of leaves the tree file holds correctly: `durable.entries` when its
/// root there is the one recorded, else none.
///
/// Nothing is cut here: the nodes after are written again in place, with the same
/// values where they were right, so that a reader reading the tree meanwhile never
/// finds nodes missing.
fn trusted_tree(fs: &Fs, path: &Path, durable: Option<Durable>) -> Result<TreeFile> {
    if let Some(durable) = durable.filter(|d| d.entries > 0)
        && tree::stored_leaves(path)? >= durable.entries
        && let Ok(tree) = TreeFile::open_write(fs, path, durable.entries)
        && tree.root() == durable.root
    {
        return Ok(tree);
    }
    TreeFile::open_write(fs, path, 0)
}

/// Opens the log in `dir` for writing (the caller holds the writer and commit
/// locks), repairing and reporting what needs it.
pub(crate) fn open_writer(fs: &Fs, dir: &Path) -> Result<Writer> {
    let config = Config::read(dir)?;
    // A frame an erasure was overwriting when it was stopped is made whole first.
    crate::erasure::redo(fs, dir)?;
    let mut keys = read_keys(dir)?;
    let mut recovery = Recovery::default();
    let durable = Durable::read(dir)?;
    let segments_dir = dir.join(SEGMENTS_DIR);
    let index = IndexFile::open_write(fs, &dir.join(INDEX_FILE))?;

    // First find out, changing nothing; then refuse, or cut what needs cutting.
    let listed = segments::list(&segments_dir)?;
    let last = inspect_last_segment(&listed, &index, durable)?;
    let count = last.count;
    let checkpoints_path = dir.join(CHECKPOINTS_FILE);
    let (checkpoints, tail) = Checkpoints::read(&checkpoints_path)?;
    if matches!(tail, Tail::Damaged { .. } | Tail::Unwritten { next_valid: Some(_) }) {
        return Err(corrupt(format!(
            "{} is damaged: a signed checkpoint was changed. Nothing was cut or changed",
            checkpoints_path.display()
        )));
    }
    if let Some(problem) = checkpoints.problems().first() {
        return Err(corrupt(format!("{problem}. Nothing was cut or changed")));
    }
    if checkpoints.latest_size().is_some_and(|size| size > count) {
        return Err(corrupt(
            "a signed checkpoint covers more records than the log holds: acknowledged records are missing. Nothing was cut or changed".into(),
        ));
    }
    if let Some(d) = durable.filter(|d| d.entries > count) {
        return Err(corrupt(format!(
            "the log held {} records and now holds {count}: acknowledged records are missing. Nothing was cut or changed",
            d.entries
        )));
    }
    if let (Some((offset, length)), Some(segment)) = (last.debris, listed.last()) {
        cut(fs, dir, &segment.path, offset)?;
        recovery.truncated_bytes = length;
    }
    if tail == (Tail::Unwritten { next_valid: None }) {
        let end = checkpoints.end();
        recovery.truncated_checkpoint_bytes = file_len(&checkpoints_path)? - end;
        cut(fs, dir, &checkpoints_path, end)?;
    }
    drop(listed);
    let segments = SegmentWriter::open(fs, &segments_dir, count, last.end)?;
    // Entries a writer wrote but never flushed (it was killed first) are complete in
    // the page cache and counted now: flush them before anything acknowledges them.
    segments.sync()?;

    // Where each derived file stops being trustworthy.
    let trusted = durable.map_or(0, |d| d.entries);
    let index_from = trusted.min(index.stored()?);
    let mut tree = trusted_tree(fs, &dir.join(TREE_FILE), durable)?;
    let tree_from = tree.leaves();
    let (mut nonces, nonces_from) = open_table(fs, dir, NONCES, 0, count, 1, trusted)?;
    let field_names = config.index_fields.clone();
    let (mut field_table, fields_from) = match field_names.len() {
        0 => (None, count),
        n => {
            let (index, from) = FieldIndex::open_write(fs, dir, fields::tag(&field_names), count, n as u64, trusted)?;
            (Some(index), from)
        }
    };

    let start = index_from.min(tree_from).min(nonces_from).min(fields_from);
    if start < count {
        let mut slots = Vec::new();
        let mut terms = Vec::new();
        rebuild_pass(&segments.segments, start, count, |seq, segment, offset, entry| {
            if seq >= index_from {
                slots.extend_from_slice(&slot(segment, offset));
            }
            if seq >= tree_from || seq >= nonces_from {
                let bytes = entry.record_bytes().map_err(|e| corrupt(format!("entry {seq} cannot be read: {e}")))?;
                if seq >= tree_from {
                    tree.push(leaf_hash(&bytes));
                }
                if seq >= nonces_from
                    && let Some(nonce) = Record::from_bytes(&bytes)
                        .map_err(|e| corrupt(format!("entry {seq} cannot be read: {e}")))?
                        .nonce
                {
                    nonces.insert(fs, &fingerprint(&nonce), seq)?;
                }
            }
            if seq >= fields_from
                && let Some(table) = field_table.as_mut()
            {
                terms.extend(fields::event_fingerprints(entry.event(), &field_names).into_iter().map(|f| (f, seq)));
                if terms.len() >= fields::INSERT_AT_ONCE {
                    table.insert(fs, &terms)?;
                    terms.clear();
                }
            }
            Ok(())
        })?;
        index.write(fs, index_from, &slots)?;
        tree.write_pending(fs)?;
        finish_table(fs, &mut nonces, nonces_from, count)?;
        if let Some(table) = field_table.as_mut() {
            table.insert(fs, &terms)?;
            finish_fields(fs, table, fields_from, count)?;
        }
        recovery.rebuilt_index_entries = count - index_from;
        recovery.rebuilt_tree_leaves = count - tree_from;
        recovery.reindexed_nonce_records = count - nonces_from;
        recovery.reindexed_field_records = count - fields_from;
    }
    // Only now cut what lies beyond the log (nodes and slots of entries that were cut).
    if index.stored()? != count {
        index.truncate(fs, count)?;
    }
    tree.cut_beyond(fs)?;

    let mut last_kid = None;
    let mut last_entry = None;
    let chain = match count {
        0 => ChainState::new(&config.log_id)?,
        _ => {
            let (segment, offset) = index.get(count - 1)?;
            let entry = segments
                .segments
                .get(segment)
                .ok_or_else(|| corrupt("the index names a missing segment".into()))?
                .frame_at(offset)
                .and_then(|payload| Entry::decode(&payload))
                .map_err(|why| corrupt(format!("the last record cannot be read: {why}")))?;
            let record = entry.record().map_err(|e| corrupt(format!("the last record cannot be read: {e}")))?;
            last_entry = Some(entry);
            if record.log_id != config.log_id || record.seq + 1 != count {
                return Err(corrupt("the last record does not belong at the end of this log".into()));
            }
            last_kid = Some(record.kid.clone());
            ChainState::after(&record)
        }
    };
    // The records must still be the ones the newest checkpoint signed: rewritten
    // history (by someone with the files but not the key) is never signed again.
    if let Some(latest) = checkpoints.latest()?.filter(|c| c.size > 0) {
        let signed = evidentia::verify_checkpoint_with_keys(&latest.note, &keys).map_err(|e| {
            corrupt(format!("the newest stored checkpoint is not one the log's keys signed: {}", e.message()))
        })?;
        if evidentia::merkle::root(&tree, latest.size)? != signed.root {
            return Err(corrupt(format!(
                "the records no longer match the log's newest signed checkpoint (of {} records): they were changed; `evidentia log verify` shows where",
                latest.size
            )));
        }
    }
    if config.mode == Mode::Batch {
        recovery.unsealed_records = count - checkpoints.latest_size().unwrap_or(0);
    }
    // A key change the log recorded but keys.jwks does not show yet is completed now;
    // in batch mode, one no checkpoint seals waits for its signer (SPEC.md §23.3).
    let last_key_record = last_entry.as_ref().and_then(key_record_of);
    let mut pending_key_change = None;
    let mut completed_key_change = None;
    if let (Some(entry), Some(record)) = (&last_entry, last_key_record) {
        if same_keys(&record.keys, &keys) {
            completed_key_change = Some(record.change);
        } else if is_pending(entry, &record, &keys, config.mode) {
            if config.mode == Mode::Receipts || checkpoints.latest_size() == Some(count) {
                fs.replace(dir, KEYS_FILE, record.keys.to_json().as_bytes())?;
                keys = record.keys;
                recovery.completed_key_change = true;
                completed_key_change = Some(record.change);
            } else {
                pending_key_change = Some(PendingKeyChange { record, ours: false });
            }
        }
    }
    if let Err(why) = evidentia::key_in_force(&keys, None) {
        return Err(corrupt(format!("keys.jwks is not a log's key history: {why}; it was edited")));
    }
    let mut writer = Writer {
        fs: fs.clone(),
        dir: dir.to_owned(),
        config,
        keys,
        chain,
        last_kid,
        segments,
        index,
        tree,
        nonces,
        fields: field_table,
        checkpoints,
        durable: durable.unwrap_or(Durable { entries: 0, root: evidentia::merkle::empty_root() }),
        recovery,
        damaged: false,
        pending_key_change,
        completed_key_change,
        lock_id: None,
        clock: None,
        salt_seed: None,
        note_signer: None,
    };
    if writer.durable.entries != count || start < count {
        writer.flush_derived()?;
    }
    Ok(writer)
}

/// The entry's event as a key record, if it is a readable one.
fn key_record_of(entry: &Entry) -> Option<KeyRecord> {
    let event = evidentia::json::parse(entry.event()).ok()?;
    KeyRecord::from_event(&event).ok().flatten()
}

fn same_keys(a: &KeySet, b: &KeySet) -> bool {
    a.to_json() == b.to_json()
}

/// Whether the log's last record, a key record, is a change keys.jwks does not show
/// yet (SPEC.md §23.3): its key set is `keys` with the change applied, made by the
/// key that may make it, stored as the log's mode stores records, and in receipts
/// mode signed (its receipt verifies under `keys`). A batch-mode record is signed by
/// no one until a checkpoint seals it.
fn is_pending(entry: &Entry, key_record: &KeyRecord, keys: &KeySet, mode: Mode) -> bool {
    let Ok(record) = entry.record() else { return false };
    if !key_record.follows(keys) || key_record.check_signer(&record.kid, record.time).is_err() {
        return false;
    }
    match (mode, entry) {
        (Mode::Receipts, Entry::Receipt { receipt, .. }) => {
            evidentia::verify_receipt(receipt, keys, Some(entry.event())).is_ok_and(|report| report.is_valid())
        }
        (Mode::Batch, Entry::Record { .. }) => {
            keys.select(Some(&record.kid)).is_ok_and(|(_, v)| v.check(record.time).is_ok())
        }
        _ => false,
    }
}

/// Opens a lookup index for writing, and says from which record on it must be
/// (re)built: it is trusted up to `trusted` records (what `state.json` says is
/// durable) and as far as its header says it indexes.
pub(crate) fn open_table(
    fs: &Fs,
    dir: &Path,
    kind: Kind,
    tag: u32,
    count: u64,
    per_record: u64,
    trusted: u64,
) -> Result<(HashTable, u64)> {
    let mut table = HashTable::open_write(kind, tag, fs, dir, count, per_record)?;
    let from = trusted.min(table.indexed);
    if from == 0 && table.indexed > 0 {
        // Nothing in it is known to be durable: start afresh rather than sift it.
        table = HashTable::create(kind, tag, fs, dir)?;
    } else if from < count {
        // Its header may lag the slots a crash left behind.
        table.recount()?;
    }
    Ok((table, from))
}

/// Records in a lookup index's header that it holds the first `count` records,
/// after rebuilding it from record `from`. A table rebuilt from the first record
/// is new (its header said it indexed nothing): its slots are flushed first, so
/// that a header saying it indexes records never reaches the disk before them.
pub(crate) fn finish_table(fs: &Fs, table: &mut HashTable, from: u64, count: u64) -> Result<()> {
    if from == 0 && count > 0 {
        table.sync(fs)?;
    }
    table.write_header(fs, count)
}

/// [`finish_table`] for the field index: a new one has its postings and slots
/// flushed before its header says it indexes any record.
pub(crate) fn finish_fields(fs: &Fs, index: &mut FieldIndex, from: u64, count: u64) -> Result<()> {
    if from == 0 && count > 0 {
        index.sync(fs)?;
    }
    index.write_header(fs, count)
}

/// Calls `visit` with every entry from `start` to `count` (exclusive): its sequence
/// number, segment position, frame offset and contents, reading the segments from
/// the one holding `start`.
pub(crate) fn rebuild_pass(
    segments: &[Segment],
    start: u64,
    count: u64,
    mut visit: impl FnMut(u64, usize, u64, EntryRef<'_>) -> Result<()>,
) -> Result<()> {
    let first = segments.partition_point(|s| s.first_seq <= start).saturating_sub(1);
    let mut seq = segments.get(first).map_or(0, |s| s.first_seq);
    for (n, segment) in segments.iter().enumerate().skip(first) {
        if seq != segment.first_seq {
            return Err(corrupt(format!(
                "{} should start at record {seq}: records are missing or damaged before it",
                segment.path.display()
            )));
        }
        let data = segment.read()?;
        let mut offset = 0;
        while seq < count {
            let Decoded::Frame(payload, next) = frame::decode(&data, offset) else { break };
            if seq >= start {
                let entry =
                    EntryRef::decode(payload).map_err(|why| corrupt(format!("entry {seq} cannot be read: {why}")))?;
                visit(seq, n, offset as u64, entry)?;
            }
            seq += 1;
            offset = next;
        }
        if seq < count && n + 1 == segments.len() {
            return Err(corrupt(format!("entry {seq} is damaged: the index and tree cannot be rebuilt past it")));
        }
        if seq >= count {
            break;
        }
    }
    Ok(())
}
