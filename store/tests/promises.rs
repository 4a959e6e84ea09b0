//! What the store promises under hostile input, damage, retries, rotation and
//! concurrent readers: each test here failed on the store before it was split and
//! hardened, and holds now.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use evidentia::{ErrorCode, SigningKey, Timestamp, verify_batch_receipt, verify_receipt};
use evidentia_store::{
    AppendOptions, CreateOptions, FaultError, Faults, Log, LogOptions, LogReader, Mode, NewEvent, Wait, verify_dir,
};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("evidentia-promises-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Scratch(dir)
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32]).unwrap()
}

fn create(dir: &Path, k: &SigningKey, mode: Mode) -> Log {
    Log::create(dir, k, CreateOptions { log_id: Some("test.example/log".into()), mode, ..CreateOptions::default() })
        .unwrap()
}

fn segment(dir: &Path) -> PathBuf {
    dir.join("segments").join(format!("{:020}.seg", 0))
}

fn assert_valid(dir: &Path) {
    let report = verify_dir(dir, None, |_| {}).unwrap();
    assert!(report.is_valid(), "{}", report.to_text());
}

fn events(from: usize, n: usize) -> Vec<Vec<u8>> {
    (from..from + n).map(|i| format!(r#"{{"n":{i}}}"#).into_bytes()).collect()
}

fn append_many(log: &Log, k: &SigningKey, from: usize, n: usize) {
    let events = events(from, n);
    let batch: Vec<NewEvent<'_>> = events.iter().map(|e| NewEvent { json: e, nonce: None }).collect();
    log.append_batch(k, &batch, None).unwrap();
}

/// Behaviour 1: an event whose stored form is larger than an entry can hold is
/// refused before anything is written; it used to get a receipt, vanish, and have
/// its sequence number issued again.
#[test]
fn an_entry_too_large_to_store_is_refused_and_nothing_is_written() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("large-{}", mode.name()));
        let k = key(1);
        let log = create(&dir.0, &k, mode);
        let first = log.append(&k, br#"{"before":true}"#, None).unwrap();
        // Within the parser's 16 MiB input limit; canonical, each 1e20 is 21 digits.
        let mut huge = b"[1e20".to_vec();
        while huge.len() < 16 * 1024 * 1024 - 8 {
            huge.extend_from_slice(b",1e20");
        }
        huge.push(b']');
        let before = std::fs::read(segment(&dir.0)).unwrap();
        // Refused at the event gate: a canonical form over the parser's 16 MiB could
        // never be read back (the entry limit, 64 MiB, would refuse it next).
        assert_eq!(log.append(&k, &huge, None).unwrap_err().code(), ErrorCode::JsonTooLarge);
        assert_eq!(std::fs::read(segment(&dir.0)).unwrap(), before, "nothing written");
        let next = log.append(&k, br#"{"after":true}"#, None).unwrap();
        assert_eq!((first.seq, next.seq), (0, 1));
        drop(log);
        assert_eq!(Log::open(&dir.0).unwrap().len(), 2);
        assert_valid(&dir.0);
    }
}

/// Behaviour 2: damage to the last, acknowledged entry is never cut: opening for writing
/// refuses, verification reports the entry, and appending does not reuse its
/// sequence number. A torn write is cut, and the cut is reported.
#[test]
fn damage_to_the_last_entry_is_reported_and_a_torn_write_is_cut_and_reported() {
    let dir = scratch("last");
    let k = key(2);
    let log = create(&dir.0, &k, Mode::Receipts);
    for i in 0..5 {
        log.append(&k, format!(r#"{{"n":{i}}}"#).as_bytes(), None).unwrap();
    }
    drop(log);
    let original = std::fs::read(segment(&dir.0)).unwrap();
    let last = LogReader::open(&dir.0).unwrap().receipt(4).unwrap();
    let start = original.windows(last.len()).position(|w| w == last.as_bytes()).unwrap() - 17;
    for i in (start..original.len()).step_by(5) {
        let mut damaged = original.clone();
        damaged[i] ^= 0x20;
        std::fs::write(segment(&dir.0), &damaged).unwrap();
        let error = Log::open(&dir.0).unwrap_err();
        assert_eq!(error.code(), ErrorCode::LogCorrupt, "byte {i}");
        assert!(error.message().contains("Nothing was cut"), "{}", error.message());
        assert_eq!(std::fs::read(segment(&dir.0)).unwrap(), damaged, "byte {i}: nothing is changed");
        let report = verify_dir(&dir.0, None, |_| {}).unwrap();
        assert!(!report.is_valid(), "byte {i}");
        assert_eq!(report.records(), 5, "byte {i}: the damaged entry still counts");
        assert_eq!(report.findings()[0].index, Some(4), "byte {i}: {}", report.to_text());
    }
    // A torn write: part of a sixth entry that was never acknowledged.
    let mut torn = original.clone();
    torn.extend_from_slice(&original[start..start + 40]);
    std::fs::write(segment(&dir.0), &torn).unwrap();
    let reader = LogReader::open(&dir.0).unwrap();
    assert_eq!((reader.len(), reader.torn_tail_bytes()), (5, 40));
    assert_valid(&dir.0);
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.recovery().truncated_bytes, 40);
    assert!(log.recovery().describe()[0].contains("never acknowledged"));
    assert_eq!(log.append(&k, b"{}", None).unwrap().seq, 5);
    drop(log);
    assert_valid(&dir.0);
}

/// Behaviour 4: rotating and then signing a checkpoint leaves a log that verifies, in both
/// modes; batch receipts of records before the rotation carry a checkpoint their
/// own key signed, and verify.
#[test]
fn a_rotation_followed_by_a_checkpoint_verifies_and_old_batch_receipts_verify() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("rotate-{}", mode.name()));
        let (old, new) = (key(3), key(4));
        let log = create(&dir.0, &old, mode);
        append_many(&log, &old, 0, 7);
        log.rotate(&old, &new, None).unwrap();
        let checkpoint = log.checkpoint(&new).unwrap();
        assert_eq!(checkpoint.size, 8, "the rotation sealed the records, and its key record, with the old key");
        append_many(&log, &new, 7, 5);
        log.checkpoint(&new).unwrap();
        drop(log);
        assert_valid(&dir.0);
        let reader = LogReader::open(&dir.0).unwrap();
        for seq in 0..13 {
            let receipt = reader.receipt(seq).unwrap();
            let report = match mode {
                Mode::Receipts => verify_receipt(&receipt, reader.keys(), None).unwrap(),
                Mode::Batch => verify_batch_receipt(&receipt, reader.keys(), None).unwrap(),
            };
            assert!(report.is_valid(), "{mode:?} record {seq}: {}", report.to_text());
        }
    }
}

/// Behaviour 5: a nonce is unique in a log: a retry is refused with a stable code, or with
/// `idempotent` gets the original receipt; the log keeps verifying, and the record
/// is found by its nonce, also after reopening and after the index is lost.
#[test]
fn a_retried_nonce_is_refused_or_answered_with_the_original() {
    let dir = scratch("nonce");
    let k = key(5);
    let log = create(&dir.0, &k, Mode::Receipts);
    let first = log.append(&k, br#"{"payment":1}"#, Some("req-1")).unwrap();
    log.append(&k, br#"{"payment":2}"#, Some("req-2")).unwrap();
    assert_eq!(log.append(&k, br#"{"payment":1}"#, Some("req-1")).unwrap_err().code(), ErrorCode::NonceInUse);
    let idempotent = AppendOptions { idempotent: true, ..AppendOptions::default() };
    let again =
        log.append_events(&k, &[NewEvent { json: br#"{ "payment": 1 }"#, nonce: Some("req-1") }], &idempotent).unwrap();
    assert!(again[0].replayed);
    assert_eq!(again[0].to_line(), first.to_line(), "the original receipt");
    let other = log.append_events(&k, &[NewEvent { json: br#"{"payment":9}"#, nonce: Some("req-1") }], &idempotent);
    assert_eq!(other.unwrap_err().code(), ErrorCode::NonceInUse, "same nonce, another event");
    let twice = [NewEvent { json: b"{}", nonce: Some("x") }, NewEvent { json: b"[]", nonce: Some("x") }];
    assert_eq!(log.append_batch(&k, &twice, None).unwrap_err().code(), ErrorCode::NonceInUse);
    assert_eq!(log.find_nonce("req-2").unwrap(), Some(1));
    assert_eq!(log.find_nonce("req-3").unwrap(), None);
    assert_eq!(log.len(), 2);
    // Many nonces: the index grows past its first size.
    for i in 0..3000 {
        log.append_batch(&k, &[NewEvent { json: b"{}", nonce: Some(&format!("n-{i}")) }], None).unwrap();
    }
    drop(log);
    assert_valid(&dir.0);
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.append(&k, b"{}", Some("n-2999")).unwrap_err().code(), ErrorCode::NonceInUse);
    assert_eq!(log.find_nonce("n-1234").unwrap(), Some(1236));
    drop(log);
    assert_eq!(LogReader::open(&dir.0).unwrap().find_nonce("req-1").unwrap(), Some(0));
    std::fs::remove_file(dir.0.join("nonces")).unwrap();
    assert_eq!(LogReader::open(&dir.0).unwrap().find_nonce("n-7").unwrap(), Some(9), "found in the records");
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.recovery().reindexed_nonce_records, 3002);
    assert_eq!(log.append(&k, b"{}", Some("req-2")).unwrap_err().code(), ErrorCode::NonceInUse);
}

/// In a batch-signed log, an idempotent retry is acknowledged with the line its
/// first append gave, naming the checkpoint that sealed it, also when the retry
/// comes with new events that a newer checkpoint seals.
#[test]
fn a_retried_batch_record_is_acknowledged_as_it_was_first() {
    let dir = scratch("batch-nonce");
    let k = key(6);
    let log = create(&dir.0, &k, Mode::Batch);
    let events = [br#"{"n":1}"#.as_slice(), br#"{"n":2}"#];
    let first =
        log.append_events(&k, &NewEvent::group(&events, Some(&[Some("a"), None])).unwrap(), &AppendOptions::default());
    let first = first.unwrap()[0].to_line();
    let idempotent = AppendOptions { idempotent: true, ..AppendOptions::default() };
    let events = [br#"{"n":1}"#.as_slice(), br#"{"n":3}"#];
    let mixed = log.append_events(&k, &NewEvent::group(&events, Some(&[Some("a"), Some("b")])).unwrap(), &idempotent);
    let mixed = mixed.unwrap();
    assert_eq!((mixed[0].replayed, mixed[0].to_line()), (true, first), "the first acknowledgement");
    assert_eq!((mixed[1].seq, mixed[1].checkpoint_size), (2, Some(3)), "the new record, sealed by a new checkpoint");
    let miscounted = NewEvent::group(&events, Some(&[Some("c")]));
    assert_eq!(miscounted.unwrap_err().code(), ErrorCode::InvalidArgument);
    drop(log);
    assert_valid(&dir.0);
}

/// Behaviour 6: readers racing a writer (in this process; `cli/tests/stress.rs` runs
/// processes) never see half of an append: no false findings, no failed proofs.
#[test]
fn readers_racing_a_writer_see_consistent_snapshots() {
    for mode in [Mode::Batch, Mode::Receipts] {
        let dir = scratch(&format!("race-{}", mode.name()));
        let k = key(6);
        let log = create(&dir.0, &k, mode);
        append_many(&log, &k, 0, 3);
        log.checkpoint(&k).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let writer = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                for round in 0..150 {
                    append_many(&log, &k, 3 + round * 7, 7);
                    if round % 5 == 0 {
                        log.checkpoint(&k).unwrap();
                    }
                }
                done.store(true, Ordering::SeqCst);
            })
        };
        let mut rounds = 0;
        while !done.load(Ordering::SeqCst) || rounds < 10 {
            let reader = LogReader::open(&dir.0).unwrap();
            let report = reader.verify(None, |_| {}).unwrap();
            assert!(report.is_valid(), "{mode:?} round {rounds}: {}", report.to_text());
            let latest = reader.latest_checkpoint().unwrap().unwrap();
            let proof = reader.inclusion_proof(latest.size - 1, None).unwrap();
            assert_eq!(proof.tree_size, latest.size);
            reader.receipt(reader.len() - 1).unwrap();
            rounds += 1;
        }
        writer.join().unwrap();
    }
}

/// Behaviour 7: a failure after the durable point does not claim the records were not
/// stored: in batch mode a failed checkpoint says RECORDS_UNSEALED, the records
/// are in the log, and the next append seals them.
#[test]
fn records_stored_but_not_sealed_are_reported_as_such_and_sealed_next() {
    let dir = scratch("unsealed");
    let k = key(7);
    drop(create(&dir.0, &k, Mode::Batch));
    let faults = Arc::new(Faults::new());
    let log =
        Log::open_with(&dir.0, &LogOptions { faults: Some(Arc::clone(&faults)), ..LogOptions::default() }).unwrap();
    append_many(&log, &k, 0, 2);
    // Count the operations of one append, then fail the last (the checkpoint's flush).
    let before = faults.operations();
    append_many(&log, &k, 2, 2);
    let per_append = faults.operations() - before;
    faults.fail_operation(per_append, FaultError::NoSpace);
    let error = log.append_batch(&k, &[NewEvent { json: b"{}", nonce: None }], None).unwrap_err();
    assert_eq!(error.code(), ErrorCode::RecordsUnsealed, "{}: {:?}", error.message(), faults.injected());
    assert!(error.message().contains("records 4 to 4 are stored"), "{}", error.message());
    assert_eq!(log.len(), 5);
    append_many(&log, &k, 5, 1);
    drop(log);
    assert_valid(&dir.0);
    assert_eq!(LogReader::open(&dir.0).unwrap().latest_checkpoint().unwrap().unwrap().size, 6);
}

/// A log rotated (by hand, as before rotations sealed) while its last records were
/// unsealed: only the new key's checkpoint covers them, and a batch receipt must
/// carry a checkpoint of the record's own key (SPEC §11). The old key reissues one.
#[test]
fn a_retired_key_reissues_batch_receipts_its_checkpoints_do_not_cover() {
    let dir = scratch("reissue");
    let (old, new) = (key(9), key(10));
    drop(create(&dir.0, &old, Mode::Batch));
    let faults = Arc::new(Faults::new());
    let log =
        Log::open_with(&dir.0, &LogOptions { faults: Some(Arc::clone(&faults)), ..LogOptions::default() }).unwrap();
    append_many(&log, &old, 0, 2);
    let before = faults.operations();
    append_many(&log, &old, 2, 1);
    let per_append = faults.operations() - before;
    faults.fail_operation(per_append, FaultError::NoSpace);
    let unsealed = log.append_batch(&old, &[NewEvent { json: b"{}", nonce: None }], None).unwrap_err();
    assert_eq!(unsealed.code(), ErrorCode::RecordsUnsealed);
    drop(log);
    // The rotation an earlier version made: no sealing checkpoint by the old key.
    std::thread::sleep(Duration::from_millis(5));
    let keys_file = dir.0.join("keys.jwks");
    let mut keys = evidentia::KeySet::from_json(&std::fs::read_to_string(&keys_file).unwrap()).unwrap();
    let at = Timestamp::parse(&now_text()).unwrap().as_numeric_date().unwrap();
    let mut retired = keys.entries()[0].validity().clone();
    retired.expires = Some(at);
    keys.set_validity(old.kid(), retired).unwrap();
    keys.add(new.public_key(), evidentia::Validity { not_before: Some(at), ..Default::default() }).unwrap();
    std::fs::write(&keys_file, keys.to_json()).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let log = Log::open(&dir.0).unwrap();
    append_many(&log, &new, 4, 1);
    assert_eq!(log.receipt(3).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(log.receipt_sealed_by(3, &new).unwrap_err().code(), ErrorCode::InvalidArgument);
    let reissued = log.receipt_sealed_by(3, &old).unwrap();
    let keys = log.keys();
    let salt = log.salt(3).unwrap();
    let report = evidentia::verify_receipt_salted(&reissued, &keys, Some(b"{}"), salt.as_deref()).unwrap();
    assert!(report.is_valid(), "{}", report.to_text());
    assert!(reissued.contains("test.example/log\\n4\\n"), "a checkpoint of the old key's 4 records: {reissued}");
    // Records a stored checkpoint of their key covers are served as before.
    assert_eq!(log.receipt_sealed_by(1, &old).unwrap(), log.receipt(1).unwrap());
    assert_eq!(log.receipt_sealed_by(4, &old).unwrap(), log.receipt(4).unwrap());
    drop(log);
    assert_valid(&dir.0);
}

fn now_text() -> String {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    Timestamp::from_unix(i64::try_from(since.as_secs()).unwrap(), since.subsec_nanos()).unwrap().to_string()
}

/// Behaviour 12: writers can wait for each other instead of failing at once.
#[test]
fn a_writer_waits_for_the_lock_when_asked() {
    let dir = scratch("wait");
    let k = key(8);
    let log = create(&dir.0, &k, Mode::Receipts);
    assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogLocked);
    let short = LogOptions { wait: Wait::For(Duration::from_millis(50)), ..LogOptions::default() };
    let error = Log::open_with(&dir.0, &short).unwrap_err();
    assert_eq!(error.code(), ErrorCode::LogLocked);
    assert!(error.message().contains("waited"), "{}", error.message());
    let holder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        drop(log);
    });
    let long = LogOptions { wait: Wait::For(Duration::from_secs(20)), ..LogOptions::default() };
    let log = Log::open_with(&dir.0, &long).unwrap();
    holder.join().unwrap();
    log.append(&k, b"{}", None).unwrap();
}

/// Behaviour 13: a record time given by the caller is checked against the last record, the
/// key's validity and the clock; a log whose key is valid from an earlier time
/// takes records of that time.
#[test]
fn record_times_given_by_the_caller_are_checked() {
    let dir = scratch("time");
    let k = key(9);
    let log = create(&dir.0, &k, Mode::Receipts);
    let at = |text: &str| Timestamp::parse(text).unwrap();
    let past = [NewEvent { json: b"{}", nonce: None }];
    let refused = log.append_batch(&k, &past, Some(at("2020-01-01T00:00:00Z"))).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::TimeRefused, "before the key was valid");
    let future = evidentia_store::now().unwrap().unix_seconds() + 3600;
    let future = Timestamp::from_unix(future, 0).unwrap();
    assert_eq!(log.append_batch(&k, &past, Some(future)).unwrap_err().code(), ErrorCode::TimeRefused);
    drop(log);

    let dir = scratch("time-from");
    let options = CreateOptions { key_valid_from: Some(at("2026-01-01T00:00:00Z")), ..CreateOptions::default() };
    let log = Log::create(&dir.0, &k, options).unwrap();
    log.append_batch(&k, &past, Some(at("2026-01-01T00:00:00Z"))).unwrap();
    log.append_batch(&k, &past, Some(at("2026-01-02T00:00:00Z"))).unwrap();
    let backwards = log.append_batch(&k, &past, Some(at("2026-01-01T12:00:00Z"))).unwrap_err();
    assert_eq!(backwards.code(), ErrorCode::TimeRefused);
    drop(log);
    assert_valid(&dir.0);
}

/// Behaviour 15: receipts and proofs come from the open log, the same as a reader's.
#[test]
fn receipts_and_proofs_from_the_open_log_equal_a_readers() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("open-{}", mode.name()));
        let k = key(10);
        let log = create(&dir.0, &k, mode);
        append_many(&log, &k, 0, 1500);
        log.checkpoint(&k).unwrap();
        append_many(&log, &k, 1500, 10);
        let reader = LogReader::open(&dir.0).unwrap();
        for seq in [0, 1, 511, 512, 1023, 1499] {
            assert_eq!(log.receipt(seq).unwrap(), reader.receipt(seq).unwrap());
            assert_eq!(log.inclusion_proof(seq, None).unwrap(), reader.inclusion_proof(seq, None).unwrap());
            assert_eq!(log.inclusion_proof(seq, Some(1510)).unwrap(), reader.inclusion_proof(seq, Some(1510)).unwrap());
            assert_eq!(log.consistency_proof(seq + 1, None).unwrap(), reader.consistency_proof(seq + 1, None).unwrap());
        }
        assert_eq!(log.entry(1509).unwrap(), reader.entry(1509).unwrap());
        assert_eq!(log.receipt(1510).unwrap_err().code(), ErrorCode::InvalidArgument);
    }
}

/// Behaviour 13: a crash leaves derived files that are not flushed; a power cut may lose
/// nodes in the middle of the tree while keeping the newest. Opening checks the
/// tree against the last durable state and rebuilds everything after it.
#[test]
fn derived_files_lost_in_a_power_cut_are_rebuilt_from_the_last_durable_state() {
    let dir = scratch("power");
    let k = key(11);
    let log = create(&dir.0, &k, Mode::Receipts);
    append_many(&log, &k, 0, 100);
    drop(log);
    let state = std::fs::read(dir.0.join("state.json")).unwrap();
    let log = Log::open(&dir.0).unwrap();
    append_many(&log, &k, 100, 200);
    drop(log);
    // As if the process had crashed: the durable state is the one before, and pages
    // in the middle of the tree and index were never written.
    std::fs::write(dir.0.join("state.json"), &state).unwrap();
    for name in ["tree", "index"] {
        let mut bytes = std::fs::read(dir.0.join(name)).unwrap();
        let middle = bytes.len() * 2 / 3;
        bytes[middle..middle + 64].fill(0);
        std::fs::write(dir.0.join(name), &bytes).unwrap();
    }
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.recovery().rebuilt_tree_leaves, 200);
    assert_eq!(log.recovery().rebuilt_index_entries, 200);
    drop(log);
    assert_valid(&dir.0);
    // A state that claims more records than the segments hold: records are missing.
    std::fs::write(
        dir.0.join("state.json"),
        br#"{"entries":500,"root":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","version":1}"#,
    )
    .unwrap();
    assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
}

/// Behaviour 13: when the write of an append fails and so does cutting it back,
/// the writer does not go on as if nothing were there: the next call cuts the
/// unacknowledged bytes first, and no record of the failed append survives.
#[test]
fn a_failed_append_whose_cut_also_fails_leaves_nothing_behind() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("double-{}", mode.name()));
        let k = key(12);
        drop(create(&dir.0, &k, mode));
        let faults = Arc::new(Faults::new());
        let options = LogOptions { faults: Some(Arc::clone(&faults)), ..LogOptions::default() };
        let log = Log::open_with(&dir.0, &options).unwrap();
        append_many(&log, &k, 0, 3);
        // The append's operations: write the frames (1), flush the segment (2). Fail
        // the flush, then the cut back (3).
        faults.fail_operation(2, FaultError::Io);
        faults.fail_operation(3, FaultError::NoSpace);
        let failed = log.append_batch(&k, &[NewEvent { json: br#"{"lost":true}"#, nonce: None }], None);
        assert_eq!(failed.unwrap_err().code(), ErrorCode::Io, "{:?}", faults.injected());
        assert!(faults.injected().unwrap().contains("Truncate"), "{:?}", faults.injected());
        let next = log.append(&k, br#"{"next":true}"#, None).unwrap();
        assert_eq!(next.seq, 3, "the failed append's sequence number is given to the next record");
        drop(log);
        let reader = LogReader::open(&dir.0).unwrap();
        assert_eq!(reader.len(), 4);
        assert_eq!(reader.entry(3).unwrap().event(), br#"{"next":true}"#);
        drop(reader);
        assert_valid(&dir.0);
    }
}

/// Behaviour 13: two processes creating the same log at once: exactly one gets it.
#[test]
fn creating_the_same_log_at_once_gives_it_to_one() {
    for round in 0..20 {
        let dir = scratch(&format!("create-{round}"));
        let creators: Vec<_> = (0..2u8)
            .map(|n| {
                let path = dir.0.clone();
                std::thread::spawn(move || {
                    Log::create(&path, &key(20 + n), CreateOptions::default()).map(|log| log.log_id())
                })
            })
            .collect();
        let results: Vec<_> = creators.into_iter().map(|c| c.join().unwrap()).collect();
        let created: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(created.len(), 1, "round {round}: {results:?}");
        for refused in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(matches!(refused.code(), ErrorCode::LogExists | ErrorCode::LogLocked), "{refused:?}");
        }
        let log = Log::open(&dir.0).unwrap();
        assert_eq!(&log.log_id(), created[0]);
    }
}

/// Behaviour 2: an acknowledged entry cut short (or zeroed) at the end of the log
/// is damage, never a torn write, even when `state.json` lags after a crash: the
/// index slot written after its flush proves it was acknowledged.
#[test]
fn an_acknowledged_last_entry_cut_short_is_never_cut_after_a_crash() {
    let dir = scratch("acked-tail");
    let k = key(13);
    let log = create(&dir.0, &k, Mode::Receipts);
    log.append(&k, b"{}", None).unwrap();
    drop(log);
    let lagging = std::fs::read(dir.0.join("state.json")).unwrap();
    let log = Log::open(&dir.0).unwrap();
    for i in 0..5 {
        log.append(&k, format!(r#"{{"n":{i}}}"#).as_bytes(), None).unwrap();
    }
    drop(log);
    std::fs::write(dir.0.join("state.json"), &lagging).unwrap(); // as if the writer had been killed
    let original = std::fs::read(segment(&dir.0)).unwrap();
    let last = LogReader::open(&dir.0).unwrap().receipt(5).unwrap();
    let start = original.windows(last.len()).position(|w| w == last.as_bytes()).unwrap() - 17;
    let mut zeroed = original.clone();
    zeroed[start..].fill(0);
    for damaged in [original[..original.len() - 5].to_vec(), zeroed] {
        std::fs::write(segment(&dir.0), &damaged).unwrap();
        assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
        assert_eq!(std::fs::read(segment(&dir.0)).unwrap(), damaged, "nothing is cut");
        let report = verify_dir(&dir.0, None, |_| {}).unwrap();
        assert_eq!((report.is_valid(), report.records()), (false, 6), "{}", report.to_text());
    }
}

/// A power cut in the middle of an unacknowledged group can lose a sector before
/// frames that did reach the disk: that is debris of the unfinished write, cut
/// (and kept in `cut/`), not damage that makes the log unwritable. (A change that
/// is not a lost sector is damage: see `hostile_logs.rs`.)
#[test]
fn a_hole_in_an_unacknowledged_group_is_debris_and_is_cut_and_kept() {
    let dir = scratch("hole");
    let k = key(14);
    let log = create(&dir.0, &k, Mode::Receipts);
    append_many(&log, &k, 0, 3);
    drop(log);
    let (segment_before, index_before, state_before) = (
        std::fs::read(segment(&dir.0)).unwrap(),
        std::fs::read(dir.0.join("index")).unwrap(),
        std::fs::read(dir.0.join("state.json")).unwrap(),
    );
    let log = Log::open(&dir.0).unwrap();
    append_many(&log, &k, 3, 3);
    drop(log);
    // The group's frames reached the disk but a page in them did not, and neither
    // did the index slots and state written after them.
    let mut bytes = std::fs::read(segment(&dir.0)).unwrap();
    let sector = segment_before.len().next_multiple_of(512);
    assert!(sector + 512 < bytes.len(), "a whole sector lies in the group");
    bytes[sector..sector + 512].fill(0);
    std::fs::write(segment(&dir.0), &bytes).unwrap();
    std::fs::write(dir.0.join("index"), &index_before).unwrap();
    std::fs::write(dir.0.join("state.json"), &state_before).unwrap();
    let reader = LogReader::open(&dir.0).unwrap();
    assert_eq!((reader.len(), reader.torn_tail_bytes()), (3, (bytes.len() - segment_before.len()) as u64));
    assert_valid(&dir.0);
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.recovery().truncated_bytes, (bytes.len() - segment_before.len()) as u64);
    assert_eq!(log.len(), 3);
    drop(log);
    assert_eq!(std::fs::read(segment(&dir.0)).unwrap(), segment_before);
    let kept = dir.0.join("cut").join(format!("{:020}.seg@{}", 0, segment_before.len()));
    assert_eq!(std::fs::read(kept).unwrap(), bytes[segment_before.len()..]);
    assert_valid(&dir.0);
}

/// A writer whose lock file is removed (so that a second writer gets the log)
/// stops writing instead of forking the log.
#[test]
fn a_writer_whose_lock_file_was_removed_stops_writing() {
    let dir = scratch("lock-removed");
    let k = key(15);
    let first = create(&dir.0, &k, Mode::Receipts);
    first.append(&k, b"{}", None).unwrap();
    std::fs::remove_file(dir.0.join(".lock")).unwrap();
    let second = Log::open(&dir.0).unwrap();
    let error = first.append(&k, br#"{"from":"first"}"#, None).unwrap_err();
    assert_eq!(error.code(), ErrorCode::LogLocked, "{}", error.message());
    assert_eq!(second.append(&k, br#"{"from":"second"}"#, None).unwrap().seq, 1);
    drop((first, second));
    assert_valid(&dir.0);
    assert_eq!(LogReader::open(&dir.0).unwrap().len(), 2);
}

/// An idempotent retry carries its original time; later records do not make it a
/// refused time: it gets its original receipt.
#[test]
fn an_idempotent_retry_with_its_original_time_gets_its_receipt() {
    let dir = scratch("retry-time");
    let k = key(16);
    let at = |text: &str| Timestamp::parse(text).unwrap();
    let options = CreateOptions { key_valid_from: Some(at("2020-01-01T00:00:00Z")), ..CreateOptions::default() };
    let log = Log::create(&dir.0, &k, options).unwrap();
    let original = [NewEvent { json: br#"{"a":1}"#, nonce: Some("n1") }];
    let first = log.append_batch(&k, &original, Some(at("2020-06-01T00:00:00Z"))).unwrap();
    log.append_batch(&k, &[NewEvent { json: br#"{"b":2}"#, nonce: None }], Some(at("2020-07-01T00:00:00Z"))).unwrap();
    let retry = AppendOptions { time: Some(at("2020-06-01T00:00:00Z")), idempotent: true };
    let again = log.append_events(&k, &original, &retry).unwrap();
    assert_eq!(again[0].to_line(), first[0].to_line());
    let plain = log.append_batch(&k, &original, Some(at("2020-06-01T00:00:00Z"))).unwrap_err();
    assert_eq!(plain.code(), ErrorCode::NonceInUse, "the nonce, not the time, is what is wrong");
}
