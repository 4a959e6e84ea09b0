//! Opening a log for writing: what a crash, a power cut or a failed write left is
//! repaired here, and what was repaired is reported ([`Recovery`]).
//!
//! - The last segment and `checkpoints.log`: a torn tail (a write that never
//!   completed, so never acknowledged) is cut; damage to complete frames is never
//!   cut: opening fails with `LOG_CORRUPT` and nothing changes.
//! - The derived files (`index`, `tree`, `nonces`) are trusted up to what
//!   `state.json` says is durable (after checking the tree's root there) and
//!   rebuilt from the records after it, in one pass over the segments.

use std::path::Path;

use evidentia::json::{Number, Value};
use evidentia::merkle::leaf_hash;
use evidentia::{ChainState, Error, ErrorCode, Record, Result};

use crate::checkpoints::Checkpoints;
use crate::config::{CHECKPOINTS_FILE, Config, INDEX_FILE, Mode, NONCES_FILE, SEGMENTS_DIR, TREE_FILE, read_keys};
use crate::frame::{self, Decoded, Tail};
use crate::fsio::{Fs, io_error};
use crate::index::{IndexFile, slot};
use crate::nonces::{NonceTable, fingerprint};
use crate::segments::{self, Entry, EntryRef, Segment, SegmentWriter};
use crate::state::Durable;
use crate::tree::{self, TreeFile};
use crate::writer::Writer;

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
    /// Records of a batch-signed log that no checkpoint seals yet (a batch append
    /// stopped after storing them): the next append or checkpoint seals them.
    pub unsealed_records: u64,
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
            ("messages", Value::Array(self.describe().into_iter().map(Value::from).collect())),
            ("rebuilt_index_entries", count(self.rebuilt_index_entries)),
            ("rebuilt_tree_leaves", count(self.rebuilt_tree_leaves)),
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

/// The entries of the last segment, found by reading it from the end of a known
/// entry (or from its start), with a torn tail cut and damage refused. Returns the
/// number of entries in the log and the segment's length.
fn recover_last_segment(
    fs: &Fs,
    segments: &[Segment],
    index: &IndexFile,
    durable: Option<Durable>,
    recovery: &mut Recovery,
) -> Result<(u64, u64)> {
    let Some(last) = segments.last() else { return Ok((0, 0)) };
    // Start after the last entry known durable, when the index finds it in this
    // segment: the bytes before it were acknowledged and need no scan here.
    let mut start = (0u64, last.first_seq);
    if let Some(durable) = durable.filter(|d| d.entries > last.first_seq)
        && index.stored()? >= durable.entries
        && let Ok((segment, offset)) = index.get(durable.entries - 1)
        && segment + 1 == segments.len()
        && let Ok(payload) = last.frame_at(offset)
        && Entry::decode(&payload).ok().and_then(|e| e.record().ok()).is_some_and(|r| r.seq == durable.entries - 1)
    {
        start = (offset + (frame::HEADER + payload.len()) as u64, durable.entries);
    }
    let data = {
        let mut file = std::fs::File::open(&last.path).map_err(|e| io_error("open", &last.path, &e))?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(start.0))
            .map_err(|e| io_error("read", &last.path, &e))?;
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut data).map_err(|e| io_error("read", &last.path, &e))?;
        data
    };
    let scan = frame::scan(&data);
    let end = start.0 + scan.end as u64;
    match scan.tail {
        Tail::Clean => {}
        Tail::Torn => {
            recovery.truncated_bytes = (data.len() - scan.end) as u64;
            let file = fs.open(&last.path, false)?;
            fs.set_len(&file, &last.path, end)?;
            fs.sync(&file, &last.path)?;
        }
        Tail::Damaged { next_valid } => {
            let after = match next_valid {
                Some(at) => format!("and holds valid entries after it (from offset {})", start.0 + at as u64),
                None => "at its last entry".to_owned(),
            };
            return Err(corrupt(format!(
                "{} is damaged at offset {end} {after}: an acknowledged entry was changed. Nothing was cut or changed; `evidentia log verify` shows which records are affected",
                last.path.display()
            )));
        }
    }
    Ok((start.1 + scan.frames.len() as u64, end))
}

/// The number of leaves the tree file holds correctly: `durable.entries` when its
/// root there is the one recorded, else none.
fn trusted_tree(fs: &Fs, path: &Path, durable: Option<Durable>) -> Result<TreeFile> {
    if let Some(durable) = durable.filter(|d| d.entries > 0)
        && tree::stored_leaves(path)? >= durable.entries
        && let Ok(mut tree) = TreeFile::open_write(fs, path, durable.entries)
        && tree.root() == durable.root
    {
        tree.truncate(fs, durable.entries)?;
        return Ok(tree);
    }
    let mut tree = TreeFile::open_write(fs, path, 0)?;
    tree.truncate(fs, 0)?;
    Ok(tree)
}

/// Opens the log in `dir` for writing (the caller holds the writer and commit
/// locks), repairing and reporting what needs it.
pub(crate) fn open_writer(fs: &Fs, dir: &Path) -> Result<Writer> {
    let config = Config::read(dir)?;
    let keys = read_keys(dir)?;
    let mut recovery = Recovery::default();
    let durable = Durable::read(dir)?;
    let segments_dir = dir.join(SEGMENTS_DIR);
    let index = IndexFile::open_write(fs, &dir.join(INDEX_FILE))?;

    let listed = segments::list(&segments_dir)?;
    let (count, len) = recover_last_segment(fs, &listed, &index, durable, &mut recovery)?;
    drop(listed);
    let segments = SegmentWriter::open(fs, &segments_dir, count, len)?;

    let (mut checkpoints, tail) = Checkpoints::read(&dir.join(CHECKPOINTS_FILE))?;
    match tail {
        Tail::Clean => {}
        Tail::Torn => recovery.truncated_checkpoint_bytes = checkpoints.cut_torn_tail(fs)?,
        Tail::Damaged { .. } => {
            return Err(corrupt(format!(
                "{} is damaged: a signed checkpoint was changed. Nothing was cut or changed",
                dir.join(CHECKPOINTS_FILE).display()
            )));
        }
    }
    if checkpoints.latest_size().is_some_and(|size| size > count) {
        return Err(corrupt(
            "a signed checkpoint covers more records than the log holds: acknowledged records are missing".into(),
        ));
    }
    if let Some(d) = durable.filter(|d| d.entries > count) {
        return Err(corrupt(format!(
            "the log held {} records and now holds {count}: acknowledged records are missing",
            d.entries
        )));
    }

    // Where each derived file stops being trustworthy.
    let trusted = durable.map_or(0, |d| d.entries);
    let index_from = trusted.min(index.stored()?);
    let mut tree = trusted_tree(fs, &dir.join(TREE_FILE), durable)?;
    let tree_from = tree.leaves();
    let nonces_path = dir.join(NONCES_FILE);
    let mut nonces = NonceTable::open_write(fs, &nonces_path)?;
    let nonces_from = trusted.min(nonces.indexed);
    if nonces_from == 0 && nonces.indexed > 0 {
        // Nothing in it is known to be durable: start afresh rather than sift it.
        nonces = NonceTable::create(fs, &nonces_path)?;
    } else if nonces_from < count {
        // Its header may lag the slots a crash left behind.
        nonces.recount()?;
    }

    let start = index_from.min(tree_from).min(nonces_from);
    if start < count {
        let mut slots = Vec::new();
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
            Ok(())
        })?;
        index.write(fs, index_from, &slots)?;
        tree.write_pending(fs)?;
        nonces.write_header(fs, count)?;
        recovery.rebuilt_index_entries = count - index_from;
        recovery.rebuilt_tree_leaves = count - tree_from;
        recovery.reindexed_nonce_records = count - nonces_from;
    }
    if index.stored()? != count {
        index.truncate(fs, count)?;
    }

    let mut last_kid = None;
    let chain = match count {
        0 => ChainState::new(&config.log_id)?,
        _ => {
            let (segment, offset) = index.get(count - 1)?;
            let record = segments
                .segments
                .get(segment)
                .ok_or_else(|| corrupt("the index names a missing segment".into()))?
                .frame_at(offset)
                .and_then(|payload| Entry::decode(&payload))
                .map_err(|why| corrupt(format!("the last record cannot be read: {why}")))?
                .record()
                .map_err(|e| corrupt(format!("the last record cannot be read: {e}")))?;
            if record.log_id != config.log_id || record.seq + 1 != count {
                return Err(corrupt("the last record does not belong at the end of this log".into()));
            }
            last_kid = Some(record.kid.clone());
            ChainState::after(&record)
        }
    };
    if config.mode == Mode::Batch {
        recovery.unsealed_records = count - checkpoints.latest_size().unwrap_or(0);
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
        checkpoints,
        durable: durable.unwrap_or(Durable { entries: 0, root: evidentia::merkle::empty_root() }),
        recovery,
        damaged: false,
    };
    if writer.durable.entries != count {
        writer.flush_derived()?;
    }
    Ok(writer)
}

/// Calls `visit` with every entry from `start` to `count` (exclusive): its sequence
/// number, segment position, frame offset and contents, reading the segments from
/// the one holding `start`.
fn rebuild_pass(
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
