//! Log directories someone else made: rewritten history, forged or unreadable
//! checkpoints, hostile derived files, special files and absurd names. Each gives a
//! clear refusal or a finding, never a signature over a changed history, a hang or
//! unbounded memory.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use evidentia::{ErrorCode, SigningKey};
use evidentia_store::{
    AppendOptions, CreateOptions, FaultError, Faults, Log, LogOptions, LogReader, Mode, NewEvent, verify_dir,
};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("evidentia-hostile-logs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Scratch(dir)
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32]).unwrap()
}

fn create(dir: &Path, mode: Mode) -> Log {
    Log::create(dir, &key(), CreateOptions { log_id: Some("test.example/hostile".into()), mode, ..Default::default() })
        .unwrap()
}

fn append(log: &Log, n: usize) {
    let events: Vec<Vec<u8>> = (0..n).map(|i| format!(r#"{{"n":{i}}}"#).into_bytes()).collect();
    let batch: Vec<NewEvent<'_>> = events.iter().map(|json| NewEvent { json, nonce: None }).collect();
    log.append_batch(&key(), &batch, None).unwrap();
}

fn segment(dir: &Path) -> PathBuf {
    dir.join("segments").join(format!("{:020}.seg", 0))
}

/// Someone with the files but not the key rewrites an event and re-chains every
/// record after it (batch records are not signed one by one), then removes the
/// derived files: the writer refuses, instead of signing the rewritten history.
#[test]
fn rewritten_history_is_never_signed_again() {
    let dir = scratch("rewritten");
    let log = create(&dir.0, Mode::Batch);
    append(&log, 4);
    drop(log);
    let reader = LogReader::open(&dir.0).unwrap();
    let mut entries = Vec::new();
    reader
        .for_each_entry(|e| {
            entries.push(e.unwrap().to_owned());
            Ok(())
        })
        .unwrap();
    // Rewrite record 1's event, then re-chain: every later record names the new digest.
    let mut chain = evidentia::ChainState::new("test.example/hostile").unwrap();
    let mut forged = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let record = entry.record().unwrap();
        let event = if i == 1 { br#"{"n":999}"#.to_vec() } else { entry.event().to_vec() };
        let chained = chain.append(&record.kid, evidentia::Digest::sha256(&event), record.time, None).unwrap();
        forged.push(evidentia_store::Entry::Record { record: chained.bytes, event });
    }
    let copy = dir.0.join("copy");
    reader.write_copy(&copy, &forged).unwrap();
    for name in ["state.json", "tree", "index", "nonces"] {
        let _ = std::fs::remove_file(copy.join(name));
    }
    let error = Log::open(&copy).unwrap_err();
    assert_eq!(error.code(), ErrorCode::LogCorrupt);
    assert!(error.message().contains("newest signed checkpoint"), "{}", error.message());
    assert!(!verify_dir(&copy, None, |_| {}).unwrap().is_valid());
}

/// A checkpoint of no records is checked like any other: a forged one is a finding.
#[test]
fn a_forged_checkpoint_of_no_records_is_a_finding() {
    let dir = scratch("size-zero");
    let log = create(&dir.0, Mode::Receipts);
    append(&log, 2);
    log.checkpoint(&key()).unwrap();
    drop(log);
    let other = SigningKey::from_bytes(&[7; 32]).unwrap();
    let empty = evidentia::Checkpoint {
        origin: "test.example/hostile".into(),
        size: 0,
        root: evidentia::merkle::empty_root(),
        extensions: vec![],
    };
    let note = evidentia::sign_checkpoint(&empty, &other).unwrap();
    let mut framed = b"EVD1".to_vec();
    framed.extend_from_slice(&(note.len() as u32).to_le_bytes());
    framed.extend_from_slice(&crc32_of(&(note.len() as u32).to_le_bytes(), note.as_bytes()).to_le_bytes());
    framed.extend_from_slice(note.as_bytes());
    let path = dir.0.join("checkpoints.log");
    framed.extend_from_slice(&std::fs::read(&path).unwrap());
    std::fs::write(&path, &framed).unwrap();
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert_eq!(report.failure_codes(), vec![ErrorCode::CheckpointSignatureInvalid], "{}", report.to_text());
}

/// CRC-32 (IEEE), as the frames use: computed here so the test forges frames
/// without the store's internals.
fn crc32_of(first: &[u8], second: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in first.iter().chain(second) {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A stored checkpoint whose note cannot be read is a finding for readers, and
/// the writer refuses to open rather than append after it.
#[test]
fn an_unreadable_checkpoint_is_a_finding_and_stops_the_writer() {
    let dir = scratch("unreadable-checkpoint");
    let log = create(&dir.0, Mode::Receipts);
    append(&log, 2);
    log.checkpoint(&key()).unwrap();
    drop(log);
    let garbage = b"not a signed note";
    let mut framed = b"EVD1".to_vec();
    framed.extend_from_slice(&(garbage.len() as u32).to_le_bytes());
    framed.extend_from_slice(&crc32_of(&(garbage.len() as u32).to_le_bytes(), garbage).to_le_bytes());
    framed.extend_from_slice(garbage);
    let path = dir.0.join("checkpoints.log");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&framed);
    std::fs::write(&path, &bytes).unwrap();
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert!(!report.is_valid());
    assert!(report.to_text().contains("cannot be read"), "{}", report.to_text());
    assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
}

/// An idempotent retry in a batch log left unsealed (a crash between the
/// records and their checkpoint) seals it.
#[test]
fn an_idempotent_retry_seals_what_was_left_unsealed() {
    let dir = scratch("retry-seals");
    let log = create(&dir.0, Mode::Batch);
    log.append(&key(), b"{}", Some("a")).unwrap();
    log.append(&key(), br#"{"b":1}"#, Some("b")).unwrap();
    drop(log);
    // The last checkpoint never reached the disk.
    let path = dir.0.join("checkpoints.log");
    let bytes = std::fs::read(&path).unwrap();
    let first = LogReader::open(&dir.0).unwrap().checkpoints().unwrap()[0].note.len() + 12;
    std::fs::write(&path, &bytes[..first]).unwrap();
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.recovery().unsealed_records, 1);
    let retried = log
        .append_events(
            &key(),
            &[NewEvent { json: br#"{"b":1}"#, nonce: Some("b") }],
            &AppendOptions { idempotent: true, ..AppendOptions::default() },
        )
        .unwrap();
    assert_eq!((retried[0].replayed, retried[0].checkpoint_size), (true, Some(2)));
    drop(log);
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert!(report.is_valid(), "{}", report.to_text());
}

/// A tail full of the frame magic, each claiming the rest of the file, made the
/// search for the next valid frame quadratic: now it gives up and reports damage.
#[test]
fn a_tail_full_of_magic_is_damage_found_without_a_quadratic_search() {
    let dir = scratch("magic-tail");
    let log = create(&dir.0, Mode::Receipts);
    append(&log, 3);
    drop(log);
    let mut bytes = std::fs::read(segment(&dir.0)).unwrap();
    let tail = 4 << 20;
    for i in 0..tail / 12 {
        let remaining = (tail - i * 12) as u32;
        bytes.extend_from_slice(b"EVD1");
        bytes.extend_from_slice(&remaining.to_le_bytes());
        bytes.extend_from_slice(&[0xAB; 4]);
    }
    std::fs::write(segment(&dir.0), &bytes).unwrap();
    let started = std::time::Instant::now();
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    // The tail follows the last indexed entry: the debris of an unfinished write.
    assert!(report.is_valid(), "{}", report.to_text());
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.len(), 3);
    assert!(log.recovery().truncated_bytes > 0);
    eprintln!("verified and reopened in {:?}", started.elapsed());
}

/// A nonce index from elsewhere that claims absurd sizes is rebuilt, not trusted.
#[test]
fn a_hostile_nonce_index_is_rebuilt() {
    let dir = scratch("nonces");
    let log = create(&dir.0, Mode::Receipts);
    log.append(&key(), b"{}", Some("n-1")).unwrap();
    drop(log);
    let path = dir.0.join("nonces");
    let mut header = std::fs::read(&path).unwrap()[..32].to_vec();
    header[8..12].copy_from_slice(&39u32.to_le_bytes()); // 2^39 slots
    header[12..20].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &header, 0).unwrap();
    file.set_len(32 + (24u64 << 39)).unwrap(); // sparse: 12 TiB claimed
    drop(file);
    assert_eq!(LogReader::open(&dir.0).unwrap().find_nonce("n-1").unwrap(), Some(0));
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.append(&key(), b"{}", Some("n-1")).unwrap_err().code(), ErrorCode::NonceInUse);
    log.append(&key(), b"{}", Some("n-2")).unwrap();
    drop(log);
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20, "the table was rebuilt at its own size");
}

/// Special files and absurd sizes in a log directory are refused, never followed,
/// blocked on or read whole.
#[test]
fn special_files_and_absurd_sizes_are_refused() {
    let dir = scratch("special");
    drop(create(&dir.0, Mode::Receipts));
    // A link to a device as the key history.
    let keys = dir.0.join("keys.jwks");
    let saved = std::fs::read(&keys).unwrap();
    std::fs::remove_file(&keys).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &keys).unwrap();
    assert_eq!(LogReader::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
    std::fs::remove_file(&keys).unwrap();
    std::fs::write(&keys, &saved).unwrap();
    // A pipe as the commit lock: refused at once instead of blocking.
    let commit = dir.0.join(".commit");
    std::fs::remove_file(&commit).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&commit).status().unwrap().success());
    assert_eq!(LogReader::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
    assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
    std::fs::remove_file(&commit).unwrap();
    // A sparse segment of many gigabytes.
    let file = std::fs::OpenOptions::new().write(true).open(segment(&dir.0)).unwrap();
    file.set_len(6 << 30).unwrap();
    drop(file);
    assert_eq!(verify_dir(&dir.0, None, |_| {}).unwrap_err().code(), ErrorCode::LogCorrupt);
    std::fs::OpenOptions::new().write(true).open(segment(&dir.0)).unwrap().set_len(0).unwrap();
    // A segment named beyond the largest sequence number.
    std::fs::write(dir.0.join("segments").join("18446744073709551615.seg"), b"").unwrap();
    assert_eq!(LogReader::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
}

/// A directory flush that fails while a new segment starts does not block every
/// later append: the next one takes the empty segment and flushes again.
#[test]
fn a_failed_flush_when_a_segment_starts_does_not_block_later_appends() {
    let dir = scratch("rollover");
    drop(create(&dir.0, Mode::Receipts));
    let faults = Arc::new(Faults::new());
    let log =
        Log::open_with(&dir.0, &LogOptions { faults: Some(Arc::clone(&faults)), ..LogOptions::default() }).unwrap();
    // Fill the first segment past 64 MiB with large events.
    let big = format!(r#"{{"padding":"{}"}}"#, "x".repeat(8 << 20));
    for _ in 0..8 {
        log.append(&key(), big.as_bytes(), None).unwrap();
    }
    // The next append starts a segment: create (1), flush the folder (2) fails.
    faults.fail_operation(2, FaultError::Io);
    assert!(log.append(&key(), b"{}", None).is_err());
    assert!(faults.injected().unwrap().contains("SyncDir"), "{:?}", faults.injected());
    assert_eq!(log.append(&key(), b"{}", None).unwrap().seq, 8);
    drop(log);
    assert!(verify_dir(&dir.0, None, |_| {}).unwrap().is_valid());
    assert_eq!(std::fs::read_dir(dir.0.join("segments")).unwrap().count(), 2);
}

/// A frame a killed writer wrote but never flushed is counted when the log opens
/// again: it is flushed then, before anything acknowledges it, so a power cut after
/// an idempotent retry acknowledged it loses nothing.
#[test]
fn unflushed_entries_counted_at_open_are_flushed_first() {
    let dir = scratch("unflushed");
    drop(create(&dir.0, Mode::Receipts));
    let faults = Arc::new(Faults::new());
    faults.record_unflushed();
    let options = LogOptions { faults: Some(Arc::clone(&faults)), ..LogOptions::default() };
    let log = Log::open_with(&dir.0, &options).unwrap();
    log.append(&key(), b"{}", Some("first")).unwrap();
    // The next append's flush fails, and so does cutting it back: its frame stays,
    // unflushed, as after a kill between the write and the flush.
    faults.fail_operation(2, FaultError::Io);
    faults.fail_operation(3, FaultError::Io);
    let event = [NewEvent { json: br#"{"second":true}"#, nonce: Some("second") }];
    assert!(log.append_batch(&key(), &event, None).is_err());
    drop(log);
    let log = Log::open_with(&dir.0, &options).unwrap();
    assert_eq!(log.len(), 2, "the complete frame is kept");
    let retry = AppendOptions { idempotent: true, ..AppendOptions::default() };
    let acknowledged = log.append_events(&key(), &event, &retry).unwrap();
    assert!(acknowledged[0].replayed);
    drop(log);
    faults.power_cut().unwrap();
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.receipt(1).unwrap(), acknowledged[0].to_line());
}

/// After a power cut the index can lag; a bit flipped in an acknowledged entry past
/// it is still damage, not the debris of a write: never cut, and reported.
#[test]
fn damage_past_a_lagging_index_is_never_cut() {
    let dir = scratch("lagging");
    let log = create(&dir.0, Mode::Receipts);
    append(&log, 2);
    drop(log);
    let (index, state) =
        (std::fs::read(dir.0.join("index")).unwrap(), std::fs::read(dir.0.join("state.json")).unwrap());
    let log = Log::open(&dir.0).unwrap();
    for i in 0..8 {
        log.append(&key(), format!(r#"{{"later":{i}}}"#).as_bytes(), None).unwrap();
    }
    let fifth = log.receipt(5).unwrap();
    drop(log);
    std::fs::write(dir.0.join("index"), &index).unwrap();
    std::fs::write(dir.0.join("state.json"), &state).unwrap();
    let mut bytes = std::fs::read(segment(&dir.0)).unwrap();
    let at = bytes.windows(fifth.len()).position(|w| w == fifth.as_bytes()).unwrap() + 30;
    bytes[at] ^= 0x01;
    std::fs::write(segment(&dir.0), &bytes).unwrap();
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert_eq!((report.is_valid(), report.records()), (false, 10), "{}", report.to_text());
    assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
    assert_eq!(std::fs::read(segment(&dir.0)).unwrap(), bytes, "nothing is cut");
}

/// Tree nodes past what `state.json` says is durable may be ones a power cut left
/// unwritten: verification does not call them evidence of tampering.
#[test]
fn tree_nodes_a_power_cut_left_unwritten_are_no_finding() {
    let dir = scratch("tree-zeros");
    let log = create(&dir.0, Mode::Batch);
    append(&log, 10);
    drop(log);
    let state = std::fs::read(dir.0.join("state.json")).unwrap();
    let log = Log::open(&dir.0).unwrap();
    append(&log, 30);
    drop(log);
    std::fs::write(dir.0.join("state.json"), &state).unwrap();
    let tree = dir.0.join("tree");
    let mut bytes = std::fs::read(&tree).unwrap();
    let len = bytes.len();
    bytes[len - 32 * 20..].fill(0);
    std::fs::write(&tree, &bytes).unwrap();
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert!(report.is_valid(), "{}", report.to_text());
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.recovery().rebuilt_tree_leaves, 30);
}

/// A forged checkpoint carrying a rewritten history's root, signed by a key the
/// log does not have, does not make the writer sign that history.
#[test]
fn a_checkpoint_the_logs_keys_did_not_sign_stops_the_writer() {
    let dir = scratch("forged-note");
    let log = create(&dir.0, Mode::Batch);
    append(&log, 3);
    drop(log);
    let reader = LogReader::open(&dir.0).unwrap();
    let forged = evidentia::Checkpoint {
        origin: "test.example/hostile".into(),
        size: 3,
        root: reader.root(3).unwrap(),
        extensions: vec![],
    };
    let note = evidentia::sign_checkpoint(&forged, &SigningKey::from_bytes(&[9; 32]).unwrap()).unwrap();
    let mut framed = b"EVD1".to_vec();
    framed.extend_from_slice(&(note.len() as u32).to_le_bytes());
    framed.extend_from_slice(&crc32_of(&(note.len() as u32).to_le_bytes(), note.as_bytes()).to_le_bytes());
    framed.extend_from_slice(note.as_bytes());
    let path = dir.0.join("checkpoints.log");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&framed);
    std::fs::write(&path, &bytes).unwrap();
    let error = Log::open(&dir.0).unwrap_err();
    assert_eq!(error.code(), ErrorCode::LogCorrupt);
    assert!(error.message().contains("not one the log's keys signed"), "{}", error.message());
}

/// A pipe or a link to a device as the last segment is refused, not read.
#[test]
fn a_special_file_as_the_last_segment_is_refused() {
    let dir = scratch("segment-pipe");
    drop(create(&dir.0, Mode::Receipts));
    std::fs::remove_file(segment(&dir.0)).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(segment(&dir.0)).status().unwrap().success());
    assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
    assert_eq!(LogReader::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
    std::fs::remove_file(segment(&dir.0)).unwrap();
    std::os::unix::fs::symlink("/dev/zero", segment(&dir.0)).unwrap();
    assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
}

/// Many damaged regions, each followed by a valid frame, share one search budget:
/// reading them stays linear.
#[test]
fn many_damaged_regions_are_read_in_linear_time() {
    let dir = scratch("many-regions");
    let log = create(&dir.0, Mode::Receipts);
    append(&log, 2);
    drop(log);
    let mut bytes = std::fs::read(segment(&dir.0)).unwrap();
    let total = 2 << 20;
    let start = bytes.len();
    while bytes.len() - start < total {
        let remaining = (total - (bytes.len() - start)) as u32;
        bytes.push(0xFF);
        bytes.extend_from_slice(b"EVD1");
        bytes.extend_from_slice(&remaining.to_le_bytes());
        bytes.extend_from_slice(&[0xAB; 4]);
        let empty_crc = crc32_of(&0u32.to_le_bytes(), b"");
        bytes.extend_from_slice(b"EVD1");
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&empty_crc.to_le_bytes());
    }
    std::fs::write(segment(&dir.0), &bytes).unwrap();
    std::fs::remove_file(dir.0.join("index")).unwrap();
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert!(!report.is_valid());
}

/// Two cuts at the same place (two crashes in a row) keep both copies, and a `cut`
/// folder that is a link is refused rather than followed.
#[test]
fn cut_bytes_are_kept_apart_and_never_written_through_a_link() {
    let dir = scratch("cuts");
    let log = create(&dir.0, Mode::Receipts);
    append(&log, 1);
    drop(log);
    let clean = std::fs::read(segment(&dir.0)).unwrap();
    for debris in [b"EVD1\x40\x00".as_slice(), b"EVD1\x41".as_slice()] {
        let mut bytes = clean.clone();
        bytes.extend_from_slice(debris);
        std::fs::write(segment(&dir.0), &bytes).unwrap();
        drop(Log::open(&dir.0).unwrap());
    }
    let mut kept: Vec<Vec<u8>> =
        std::fs::read_dir(dir.0.join("cut")).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect();
    kept.sort();
    assert_eq!(kept, vec![b"EVD1\x40\x00".to_vec(), b"EVD1\x41".to_vec()]);
    std::fs::remove_dir_all(dir.0.join("cut")).unwrap();
    let elsewhere = dir.0.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.0.join("cut")).unwrap();
    let mut bytes = clean.clone();
    bytes.extend_from_slice(b"EVD1");
    std::fs::write(segment(&dir.0), &bytes).unwrap();
    assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

/// An entry whose event part is empty has no stored event (canonical JSON is never
/// empty): verification reports EVENT_MISSING, not an event that fails to parse.
#[test]
fn an_entry_without_its_event_is_event_missing() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("no-event-{mode:?}"));
        let log = create(&dir.0, mode);
        append(&log, 2);
        drop(log);
        let mut data = std::fs::read(segment(&dir.0)).unwrap();
        let u32_at = |data: &[u8], at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let second = 12 + u32_at(&data, 4);
        let payload = &data[second + 12..];
        let without_event = payload[..5 + u32_at(payload, 1)].to_vec();
        data.truncate(second);
        data.extend_from_slice(b"EVD1");
        data.extend_from_slice(&(without_event.len() as u32).to_le_bytes());
        data.extend_from_slice(&crc32_of(&(without_event.len() as u32).to_le_bytes(), &without_event).to_le_bytes());
        data.extend_from_slice(&without_event);
        std::fs::write(segment(&dir.0), &data).unwrap();
        let report = verify_dir(&dir.0, None, |_| {}).unwrap();
        assert_eq!(report.failure_codes(), vec![ErrorCode::EventMissing], "{mode:?}: {}", report.to_text());
        assert_eq!(report.findings()[0].index, Some(1));
    }
}

/// Zeros where acknowledged entries are (here inserted between two of them, the
/// index no longer finding the last one where it was) look like the leftovers of an
/// unfinished write, but state.json says seven entries are on stable storage: they
/// are damage, one unreadable entry, and the three entries after them are read, not
/// dropped with them (which made the log VALID with four records).
#[test]
fn zeros_among_acknowledged_entries_are_damage_not_leftovers() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("zeros-{mode:?}"));
        let log = create(&dir.0, mode);
        append(&log, 7);
        drop(log);
        let data = std::fs::read(segment(&dir.0)).unwrap();
        let mut offsets = Vec::new();
        let mut at = 0;
        while at < data.len() {
            offsets.push(at);
            at += 12 + u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap()) as usize;
        }
        let mut changed = data[..offsets[4]].to_vec();
        changed.extend_from_slice(&[0; 700]);
        changed.extend_from_slice(&data[offsets[4]..]);
        std::fs::write(segment(&dir.0), changed).unwrap();

        let report = verify_dir(&dir.0, None, |_| {}).unwrap();
        assert!(!report.is_valid(), "{mode:?}: {}", report.to_text());
        assert_eq!(report.records(), 8, "{mode:?}: the zeros, then all seven entries");
        let findings: Vec<_> = report.findings().iter().map(|f| (f.code, f.index)).collect();
        assert_eq!(findings[0], (ErrorCode::RecordUnreadable, Some(4)), "{mode:?}: {findings:?}");
        assert!(findings.contains(&(ErrorCode::SequenceDuplicate, Some(5))), "{mode:?}: {findings:?}");
        // And the writer still refuses to cut anything.
        let e = Log::open(&dir.0).map(|_| ()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::LogCorrupt, "{mode:?}: {e}");
    }
}

/// A log read as the other mode (its log.json changed): its entries are not of the
/// kind that mode stores, so each is an entry that cannot be read. Records without
/// their signatures must not pass as a batch log's records awaiting a seal, nor
/// receipts as records.
#[test]
fn entries_of_the_other_modes_kind_cannot_be_read() {
    for (mode, other) in [(Mode::Receipts, "batch"), (Mode::Batch, "receipts")] {
        let dir = scratch(&format!("other-kind-{mode:?}"));
        let log = create(&dir.0, mode);
        append(&log, 3);
        log.checkpoint(&key()).unwrap();
        drop(log);
        let config = std::fs::read_to_string(dir.0.join("log.json")).unwrap();
        let changed = config.replace(&format!("\"{}\"", mode.name()), &format!("\"{other}\""));
        assert_ne!(changed, config);
        std::fs::write(dir.0.join("log.json"), changed).unwrap();
        let report = verify_dir(&dir.0, None, |_| {}).unwrap();
        let unreadable = report.findings().iter().filter(|f| f.code == ErrorCode::RecordUnreadable).count();
        assert_eq!(unreadable, 3, "{mode:?}: {}", report.to_text());
        assert!(!report.is_valid());
    }
}

/// Verifying from a trusted checkpoint finds the first new entry through the index,
/// which is derived and unsigned: an index that points elsewhere, or past the
/// entries, never lets records pass unread.
#[test]
fn a_wrong_index_never_hides_records_from_a_verification_from_a_checkpoint() {
    let dir = scratch("index-from");
    let log = create(&dir.0, Mode::Receipts);
    append(&log, 10);
    let trusted = log.checkpoint(&key()).unwrap().note;
    append(&log, 15);
    drop(log);
    let from = |dir: &Path| evidentia_store::verify_dir_from(dir, None, Some(&trusted), |_| {});
    let report = from(&dir.0).unwrap();
    assert!(report.is_valid() && report.records() == 15, "{}", report.to_text());
    let index = std::fs::read(dir.0.join("index")).unwrap();
    let slot = |seq: usize| u64::from_le_bytes(index[seq * 8..seq * 8 + 8].try_into().unwrap());
    // Entry 10's slot pointing at entry 14, at the end of the segment, past it, and
    // at another segment.
    for wrong in [slot(14), slot(24), slot(10) + (1 << 30), (5 << 32) | slot(10)] {
        let mut altered = index.clone();
        altered[80..88].copy_from_slice(&wrong.to_le_bytes());
        std::fs::write(dir.0.join("index"), &altered).unwrap();
        match from(&dir.0) {
            Ok(report) => assert!(!report.is_valid(), "{wrong:x}: {}", report.to_text()),
            Err(e) => assert_eq!(e.code(), ErrorCode::LogCorrupt, "{wrong:x}: {e}"),
        }
    }
}
