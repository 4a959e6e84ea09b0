//! Verifying a log on disk with every core: one thread reads the segments, worker
//! threads prepare entries (parsing, signatures, digests), another checks the
//! stored checkpoints' signatures, and the caller's thread takes the entries back
//! in order for the checks that depend on the entries before them (sequence,
//! chain, times, nonces, the tree). Memory stays bounded by the channel sizes and
//! one segment buffer.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};

use evidentia::merkle::{Hash, NodeSource, leaf_hash, node_hash};
use evidentia::{
    Error, ErrorCode, KeySet, LogKey, LogVerifier, LogVerifyOptions, PreparedCheckpoint, PreparedEntry, Report, Result,
    StoredKeyRecord, StoredStart, TrustedStart,
};

use crate::config::{Mode, TREE_FILE};
use crate::messages::record_digest;
use crate::reader::LogReader;
use crate::segments::{Entry, EntryRef};
use crate::tree::{NodeStream, TreeFile};
use crate::view::TreeAccess;

/// Entries handed to a verification worker at a time.
const CHUNK: usize = 1024;

/// An entry's event part: empty when the event is not stored (SPEC.md §16), since
/// canonical JSON is never empty; verification then reports EVENT_MISSING.
fn stored_event(event: &[u8]) -> Option<&[u8]> {
    Some(event).filter(|event| !event.is_empty())
}

/// What a log stores at `size` records (see [`StoredStart`]), `None` when it holds
/// fewer. A part that cannot be read is left empty, which the verifier reports as
/// not matching the trusted checkpoint.
fn stored_start(reader: &LogReader, keys: &KeySet, size: u64) -> Result<Option<StoredStart>> {
    if size > reader.len() {
        return Ok(None);
    }
    let tree = &StartTree {
        stored: reader.tree()?,
        reader,
        durable: reader.durable.unwrap_or(size),
        size,
        computed: RefCell::new(HashMap::new()),
    };
    let mut peaks = Vec::new();
    let mut covered = 0u64;
    for level in (0..u64::BITS).rev().filter(|level| size >> level & 1 == 1) {
        peaks.push(tree.node(level, covered >> level)?);
        covered += 1 << level;
    }
    let Some(last) = size.checked_sub(1) else { return Ok(Some(StoredStart { peaks, ..StoredStart::default() })) };
    let (last_entry, last_event) = match reader.entry(last) {
        Ok(Entry::Receipt { receipt, event }) => (Some(receipt.into_bytes()), Some(event)),
        Ok(Entry::Record { record, event }) => (Some(record), Some(event)),
        Err(e) if e.code() == ErrorCode::Io => return Err(e),
        Err(_) => (None, None),
    };
    let last_entry_proof = evidentia::merkle::inclusion_proof(tree, last, size)?;
    let last_event = last_event.filter(|event| !event.is_empty());
    let key_record = match keys.len() > 1 {
        true => last_key_record_before(reader, last)?,
        false => None, // A log with one key has no key records.
    };
    let key_record = match key_record {
        Some(found) => {
            Some(StoredKeyRecord { proof: evidentia::merkle::inclusion_proof(tree, found.index, size)?, ..found })
        }
        None => None,
    };
    Ok(Some(StoredStart { peaks, last_entry, last_event, last_entry_proof, key_record }))
}

/// The tree a verification from a checkpoint of `size` records starts from. Stored
/// nodes over the records the writer made durable; above them, nodes computed from
/// the records themselves: tree nodes past what the writer made durable may be what
/// a power cut left unwritten (the whole verification skips them too), and a live
/// writer makes its tree durable only now and then (SPEC §16).
struct StartTree<'a> {
    stored: &'a TreeFile,
    reader: &'a LogReader,
    durable: u64,
    size: u64,
    computed: RefCell<HashMap<(u32, u64), Hash>>,
}

impl NodeSource for StartTree<'_> {
    fn size(&self) -> u64 {
        self.size
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let end = index.checked_add(1).and_then(|i| i.checked_shl(level)).unwrap_or(u64::MAX);
        if end <= self.durable {
            return self.stored.node(level, index);
        }
        if let Some(hash) = self.computed.borrow().get(&(level, index)) {
            return Ok(*hash);
        }
        let hash = match level {
            0 => leaf_hash(&self.reader.entry(index)?.record_bytes()?),
            _ => node_hash(&self.node(level - 1, 2 * index)?, &self.node(level - 1, 2 * index + 1)?),
        };
        self.computed.borrow_mut().insert((level, index), hash);
        Ok(hash)
    }
}

/// The last key record (SPEC.md §23) stored before entry `end` (its proof left
/// empty), found by reading the entries before it (no signature is checked), which
/// only a log with more than one key needs.
fn last_key_record_before(reader: &LogReader, end: u64) -> Result<Option<StoredKeyRecord>> {
    let mut found = None;
    let mut seq = 0u64;
    reader.for_each_entry(|entry| {
        if let (true, Ok(entry)) = (seq < end, entry)
            && evidentia::key_record_of(entry.event()).is_some()
        {
            let stored = match entry {
                EntryRef::Receipt { receipt, .. } => receipt.as_bytes(),
                EntryRef::Record { record, .. } => record,
            };
            found = Some(StoredKeyRecord {
                index: seq,
                entry: stored.to_vec(),
                event: entry.event().to_vec(),
                proof: Vec::new(),
            });
        }
        seq += 1;
        Ok(())
    })?;
    Ok(found)
}

/// See [`LogReader::verify`] and [`LogReader::verify_from`]: `trusted` is the
/// signed checkpoint an incremental verification starts from. The report states
/// the time verification ended (SPEC §14).
pub(crate) fn verify(
    reader: &LogReader,
    keys: &KeySet,
    trusted: Option<&str>,
    progress: impl FnMut(u64),
) -> Result<Report> {
    let report = verify_records(reader, keys, trusted, progress)?;
    crate::metrics::verified(&report);
    Ok(report.made_at(crate::writer::now()?))
}

fn verify_records(
    reader: &LogReader,
    keys: &KeySet,
    trusted: Option<&str>,
    mut progress: impl FnMut(u64),
) -> Result<Report> {
    let options = LogVerifyOptions {
        expected_log_id: Some(reader.log_id().to_owned()),
        require_events: true,
        ..LogVerifyOptions::default()
    };
    let note_keys: Vec<LogKey> = reader.note_key().into_iter().collect();
    let (mut verifier, first) = match trusted {
        None => (LogVerifier::new(keys, options), 0),
        Some(note) => {
            let size = evidentia::read_checkpoint(note)?.size;
            let stored = stored_start(reader, keys, size)?;
            let start = TrustedStart { note, note_keys: &note_keys, stored: stored.as_ref() };
            let verifier = LogVerifier::resume(keys, options, start);
            if stored.is_none() {
                // Cut back below the checkpoint: there is nothing after it to read.
                return Ok(verifier.finish());
            }
            (verifier, size)
        }
    };
    let mode = reader.mode();
    let mut tree = NodeStream::open_from(&reader.dir.join(TREE_FILE), reader.durable, first)?;
    let mut stored_nodes = Vec::new();
    let mut done = first;
    // Checkpoint signatures are checked on a thread of their own.
    let (checkpoint_sender, checkpoint_receiver) = mpsc::sync_channel::<(u64, PreparedCheckpoint)>(64);
    let mut checkpoints = checkpoint_receiver.iter().peekable();

    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    std::thread::scope(|scope| -> Result<()> {
        let (work, jobs) = mpsc::sync_channel::<(u64, Vec<std::result::Result<Entry, String>>)>(2 * workers);
        let jobs = Arc::new(Mutex::new(jobs));
        let (results, prepared) = mpsc::sync_channel::<(u64, Vec<PreparedEntry>)>(2 * workers + 2);
        for _ in 0..workers {
            let (jobs, results) = (Arc::clone(&jobs), results.clone());
            scope.spawn(move || {
                loop {
                    let job = match jobs.lock() {
                        Ok(jobs) => jobs.recv(),
                        Err(_) => return,
                    };
                    let Ok((number, chunk)) = job else { return };
                    let chunk = chunk
                        .into_iter()
                        .map(|entry| match (entry, mode) {
                            (Ok(Entry::Receipt { receipt, event }), Mode::Receipts) => {
                                PreparedEntry::receipt(keys, &receipt, stored_event(&event))
                            }
                            (Ok(Entry::Record { record, event }), Mode::Batch) => {
                                PreparedEntry::record(keys, &record, stored_event(&event))
                            }
                            // An entry of the other mode's kind is not an entry of this
                            // log (SPEC.md §13 step 1): a record without its signature
                            // in a log that signs every record must not pass as one
                            // that is merely unsealed.
                            (Ok(_), _) => PreparedEntry::unreadable(&format!(
                                "an entry of another kind than the log's mode ({}) stores",
                                mode.name()
                            )),
                            (Err(reason), _) => PreparedEntry::unreadable(&reason),
                        })
                        .collect();
                    if results.send((number, chunk)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(results);
        let stored = &reader.checkpoints;
        let damaged = reader.checkpoints_damaged;
        let note_keys = &note_keys;
        // Stored checkpoints that cannot be used are findings, whatever they claim.
        for problem in stored.problems() {
            let error = Error::new(ErrorCode::LogCorrupt, problem.clone());
            verifier.push_prepared_checkpoint(PreparedCheckpoint::unreadable(&error));
        }
        scope.spawn(move || {
            // Checkpoints of fewer records than the trusted one cover records not
            // read again; one of the same size must match it.
            for (i, size) in stored.sizes().enumerate().filter(|(_, size)| *size >= first) {
                let prepared = match stored.get(i) {
                    Ok(checkpoint) => PreparedCheckpoint::with_note_keys(keys, &checkpoint.note, note_keys),
                    Err(e) => PreparedCheckpoint::unreadable(&e),
                };
                if checkpoint_sender.send((size, prepared)).is_err() {
                    return;
                }
            }
            if damaged {
                let error =
                    Error::new(ErrorCode::LogCorrupt, "checkpoints.log is damaged after its last valid checkpoint");
                let _ = checkpoint_sender.send((u64::MAX, PreparedCheckpoint::unreadable(&error)));
            }
        });
        let reading = scope.spawn(move || -> Result<()> {
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut number = 0u64;
            let sent = reader.for_each_entry_from(first, |entry| {
                chunk.push(entry.map(EntryRef::to_owned));
                if chunk.len() == CHUNK {
                    work.send((number, std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))))
                        .map_err(|_| Error::new(ErrorCode::Internal, "a verification worker stopped"))?;
                    number += 1;
                }
                Ok(())
            });
            if !chunk.is_empty() {
                let _ = work.send((number, chunk));
            }
            sent
        });

        // Checkpoints of no records (or of the trusted size) come before the first entry.
        while let Some((_, checkpoint)) = checkpoints.next_if(|(size, _)| *size == first) {
            verifier.push_prepared_checkpoint(checkpoint);
        }
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0u64;
        for (number, chunk) in prepared.iter() {
            waiting.insert(number, chunk);
            while let Some(chunk) = waiting.remove(&next) {
                next += 1;
                for entry in chunk {
                    verifier.push_prepared(entry);
                    tree.next_leaf(&mut stored_nodes);
                    for (level, index, hash) in &stored_nodes {
                        verifier.push_tree_node(*level, *index, hash);
                    }
                    done += 1;
                    // A checkpoint met late (stored out of order) is checked too: it
                    // cannot match, and says so.
                    while let Some((_, checkpoint)) = checkpoints.next_if(|(size, _)| *size <= done) {
                        verifier.push_prepared_checkpoint(checkpoint);
                    }
                }
                progress(done);
            }
        }
        reading.join().map_err(|_| Error::new(ErrorCode::Internal, "the log reader panicked"))??;
        // Checkpoints of more records than the log holds: records were removed from the end.
        for (_, checkpoint) in checkpoints {
            verifier.push_prepared_checkpoint(checkpoint);
        }
        Ok(())
    })?;
    // Stored timestamps cover their checkpoints and verify through their stored
    // chains (SPEC.md §20); one that cannot be read is a finding too.
    for (i, size) in reader.checkpoints.sizes().enumerate().filter(|(_, size)| *size >= first) {
        let stamp = reader.timestamp(size).transpose();
        if let (Some(stamp), Ok(checkpoint)) = (stamp, reader.checkpoints.get(i)) {
            let stored = stamp.as_ref().map(|s| (s.response.as_slice(), s.chain.as_slice())).map_err(Clone::clone);
            verifier.push_timestamp(size, &checkpoint.note, stored);
        }
    }
    // Signed messages' links name earlier records, looked up once all entries are
    // read (SPEC.md §21.5).
    // A log without its (derived) index is read through once for the records
    // the links name, rather than reporting them missing.
    let links = verifier.take_links();
    let mut found = std::collections::HashMap::new();
    let mut wanted = std::collections::HashSet::new();
    for (_, link) in &links {
        match reader.entry(link.seq) {
            Ok(entry) => {
                let digest = record_digest(&entry).filter(|(seq, _)| *seq == link.seq).map(|(_, digest)| digest);
                found.insert(link.seq, digest);
            }
            Err(_) => {
                wanted.insert(link.seq);
            }
        }
    }
    if !wanted.is_empty() {
        let mut position = 0u64;
        reader.for_each_entry(|entry| {
            if wanted.contains(&position)
                && let Some((seq, digest)) = entry.ok().and_then(|e| evidentia::entry_record_digest(e.first_part()))
                && seq == position
            {
                found.insert(seq, Some(digest));
            }
            position += 1;
            Ok(())
        })?;
    }
    for (index, link) in links {
        let digest = found.get(&link.seq).copied().flatten();
        verifier.check_link(index, link, digest);
    }
    find_erasures_after(reader, &mut verifier)?;
    Ok(verifier.finish())
}

/// An erasure made while the log was being read: the erased event is seen, but its
/// erasure record was appended after the reader's snapshot. Such records are
/// looked for in the log as it is now (SPEC.md §27.2).
fn find_erasures_after(reader: &LogReader, verifier: &mut LogVerifier) -> Result<()> {
    if verifier.unnamed_erasures().is_empty() {
        return Ok(());
    }
    let now = LogReader::open(&reader.dir)?;
    for seq in reader.count..now.count {
        if let Ok(entry) = now.entry(seq)
            && let Some(Ok(erasure)) = evidentia::erasure_of(entry.event())
        {
            verifier.erased_after(seq, &erasure);
        }
    }
    Ok(())
}
