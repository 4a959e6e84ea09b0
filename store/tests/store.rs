//! The on-disk log: create, append, reopen, lock, rotate, both signing modes,
//! proofs, crash recovery, damage detection, concurrent appends.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use evidentia::merkle::leaf_hash;
use evidentia::{
    ErrorCode, KeySet, SigningKey, Timestamp, read_checkpoint, verify_batch_receipt, verify_checkpoint, verify_receipt,
    verify_receipt_salted,
};
use evidentia_store::{AppendOptions, CreateOptions, Log, LogReader, Mode, NewEvent, verify_dir};

/// A scratch directory, removed when the test ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("evidentia-store-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Scratch(dir)
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32]).unwrap()
}

fn options(mode: Mode) -> CreateOptions {
    CreateOptions { log_id: Some("test.example/log".into()), mode, ..CreateOptions::default() }
}

fn event(i: usize) -> Vec<u8> {
    format!(r#"{{"n": {i}, "what": "payment approved"}}"#).into_bytes()
}

fn append_many(log: &Log, key: &SigningKey, from: usize, n: usize) {
    let events: Vec<Vec<u8>> = (from..from + n).map(event).collect();
    let batch: Vec<NewEvent<'_>> = events.iter().map(|e| NewEvent { json: e, nonce: None }).collect();
    log.append_batch(key, &batch, None).unwrap();
}

fn assert_valid(dir: &Path) {
    let report = verify_dir(dir, None, |_| {}).unwrap();
    assert!(report.is_valid(), "{}", report.to_text());
}

#[test]
fn receipts_mode_create_append_reopen_verify() {
    let dir = scratch("receipts");
    let k = key(1);
    let log = Log::create(&dir.0, &k, options(Mode::Receipts)).unwrap();
    let first = log.append(&k, br#"{"n": 1}"#, Some("req-1")).unwrap();
    assert_eq!(first.seq, 0);
    drop(log);

    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.len(), 1);
    assert!(!log.recovery().repaired());
    let second = log.append(&k, br#"{"n": 2}"#, None).unwrap();
    assert_eq!(second.record.prev, Some(first.record.digest()));
    let receipt = second.receipt.clone().unwrap();
    assert_eq!(second.to_line(), receipt.as_str());
    let checkpoint = log.checkpoint(&k).unwrap();
    assert_eq!(checkpoint.size, 2);
    drop(log);

    assert_valid(&dir.0);
    let reader = LogReader::open(&dir.0).unwrap();
    assert_eq!(reader.receipt(1).unwrap(), receipt.as_str());
    // A new log writes version-2 records: the event is checked with its salt,
    // which the append returned and the log serves.
    let salt = second.salt.clone().unwrap();
    assert_eq!(reader.salt(1).unwrap(), Some(salt.clone()));
    assert_eq!(salt.len(), 16);
    let verified = verify_receipt_salted(receipt.as_str(), reader.keys(), Some(br#"{"n":2}"#), Some(&salt)).unwrap();
    assert!(verified.is_valid(), "{}", verified.to_text());
    let other = verify_receipt_salted(receipt.as_str(), reader.keys(), Some(br#"{"n":3}"#), Some(&salt)).unwrap();
    assert_eq!(other.failure_codes(), [ErrorCode::EventMismatch]);
    let unsalted = verify_receipt(receipt.as_str(), reader.keys(), Some(br#"{"n":2}"#)).unwrap_err();
    assert_eq!(unsalted.code(), ErrorCode::InvalidArgument);
    // The record's commitment document itself needs no salt.
    let document = evidentia::commit_json(br#"{"n":2}"#, &salt).unwrap().document;
    assert!(verify_receipt(receipt.as_str(), reader.keys(), Some(&document)).unwrap().is_valid());
    // A retry of a nonce returns the same record and salt.
    let log = Log::open(&dir.0).unwrap();
    let retry = [NewEvent { json: br#"{"n": 1}"#, nonce: Some("req-1") }];
    let retried = log.append_events(&k, &retry, &AppendOptions { idempotent: true, ..AppendOptions::default() });
    let retried = retried.unwrap().pop().unwrap();
    assert!(retried.replayed);
    assert!(first.salt.is_some());
    assert_eq!(retried.salt, first.salt);
}

#[test]
fn batch_mode_seals_each_batch_with_a_checkpoint() {
    let dir = scratch("batch");
    let k = key(2);
    let log = Log::create(&dir.0, &k, options(Mode::Batch)).unwrap();
    append_many(&log, &k, 0, 10);
    let single = log.append(&k, &event(10), Some("req-10")).unwrap();
    assert_eq!(single.checkpoint_size, Some(11));
    assert!(single.receipt.is_none());
    assert!(single.to_line().contains(r#""seq":10"#));
    drop(log);

    let reader = LogReader::open(&dir.0).unwrap();
    assert_eq!(reader.checkpoint_sizes(), vec![10, 11]);
    for seq in 0..11 {
        let receipt = reader.receipt(seq).unwrap();
        let canonical = evidentia::canonicalize(&event(seq as usize)).unwrap();
        let salt = reader.salt(seq).unwrap();
        let report = verify_receipt_salted(&receipt, reader.keys(), Some(&canonical), salt.as_deref()).unwrap();
        assert!(report.is_valid(), "{}", report.to_text());
    }
    // Without its salt, the event of a version-2 record is not judged.
    let canonical = evidentia::canonicalize(&event(0)).unwrap();
    let unsalted = verify_batch_receipt(&reader.receipt(0).unwrap(), reader.keys(), Some(&canonical));
    assert_eq!(unsalted.unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_valid(&dir.0);
}

#[test]
fn proofs_verify_against_checkpoints() {
    let dir = scratch("proofs");
    let k = key(3);
    let log = Log::create(&dir.0, &k, options(Mode::Batch)).unwrap();
    append_many(&log, &k, 0, 37);
    append_many(&log, &k, 37, 64);
    drop(log);
    let reader = LogReader::open(&dir.0).unwrap();
    let verifier = evidentia::NoteVerifier::new("test.example/log", k.public_key()).unwrap();
    let (old, _) = verify_checkpoint(&reader.checkpoints().unwrap()[0].note, std::slice::from_ref(&verifier)).unwrap();
    let (new, _) = verify_checkpoint(&reader.checkpoints().unwrap()[1].note, &[verifier]).unwrap();
    assert_eq!((old.size, new.size), (37, 101));
    for seq in [0, 1, 36, 50, 100] {
        let proof = reader.inclusion_proof(seq, None).unwrap();
        let leaf = leaf_hash(&reader.entry(seq).unwrap().record_bytes().unwrap());
        proof.verify(&leaf, &new.root).unwrap();
    }
    reader.consistency_proof(37, None).unwrap().verify(&old.root, &new.root).unwrap();
    assert_eq!(reader.inclusion_proof(101, None).unwrap_err().code(), ErrorCode::ProofMalformed);
    assert_eq!(reader.consistency_proof(0, None).unwrap_err().code(), ErrorCode::ProofMalformed);
    assert_eq!(reader.entry(101).unwrap_err().code(), ErrorCode::InvalidArgument);
}

#[test]
fn one_writer_at_a_time_and_no_overwrite() {
    let dir = scratch("lock");
    let k = key(1);
    let log = Log::create(&dir.0, &k, CreateOptions::default()).unwrap();
    assert!(log.log_id().starts_with("evidentia/"));
    assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogLocked);
    assert_eq!(Log::create(&dir.0, &k, CreateOptions::default()).unwrap_err().code(), ErrorCode::LogExists);
    // Readers need no lock.
    assert_eq!(LogReader::open(&dir.0).unwrap().len(), 0);
    drop(log);
    assert!(Log::open(&dir.0).is_ok());
    assert_eq!(Log::open(&dir.0.join("nothing")).unwrap_err().code(), ErrorCode::LogNotFound);
}

#[test]
fn rotation_keeps_old_records_valid_and_retires_the_old_key() {
    let dir = scratch("rotate");
    let (old, new) = (key(1), key(2));
    let log = Log::create(&dir.0, &old, CreateOptions::default()).unwrap();
    log.append(&old, b"{}", None).unwrap();
    log.rotate(&old, &new, None).unwrap();
    assert_eq!(log.append(&old, b"{}", None).unwrap_err().code(), ErrorCode::KeyNotCurrent);
    log.append(&new, b"{}", None).unwrap();
    drop(log);
    assert_valid(&dir.0);
    // Against a key set holding only the new key, the old records fail the key check,
    // and so does the checkpoint the old key sealed them with when it was retired;
    // and that key set is not the history the rotation's key record signed.
    let report = verify_dir(&dir.0, Some(&KeySet::single(new.public_key())), |_| {}).unwrap();
    assert_eq!(
        report.failure_codes(),
        vec![ErrorCode::KeyNotFound, ErrorCode::CheckpointSignatureInvalid, ErrorCode::KeyHistoryMismatch]
    );
}

/// keys.jwks holds the rotation instant as a NumericDate (a double, about 0.24 µs
/// apart today): the instant must still follow the last record once written and
/// read back, or the last record of the retired key fails with KEY_EXPIRED.
#[test]
fn rotation_time_survives_its_numeric_date() {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let seconds = i64::try_from(since_epoch.as_secs()).unwrap() + 60;
    // A last record for which "one nanosecond later", as a NumericDate, reads back
    // at or before it: the naive rotation instant.
    let last = (0..1_000_000)
        .map(|nanos| Timestamp::from_unix(seconds, 123_000_000 + nanos).unwrap())
        .find(|t| {
            let next = Timestamp::from_unix(t.unix_seconds(), t.subsec_nanos() + 1).unwrap();
            next.as_numeric_date().unwrap() <= *t
        })
        .unwrap();
    let dir = scratch("rotate-numeric-date");
    let (old, new) = (key(1), key(2));
    let log = Log::create(&dir.0, &old, CreateOptions::default()).unwrap();
    let at = AppendOptions { time: Some(last), ..AppendOptions::default() };
    log.append_events(&old, &[NewEvent { json: b"{}", nonce: None }], &at).unwrap();
    log.rotate(&old, &new, None).unwrap();
    let boundary = log.keys().entries()[0].validity().expires.unwrap();
    assert!(boundary > last, "{boundary} after {last}");
    assert_eq!(boundary.as_numeric_date().unwrap(), boundary);
    log.append(&new, b"{}", None).unwrap();
    drop(log);
    assert_valid(&dir.0);
    // What was written is what the writer used.
    let written = KeySet::from_json(&std::fs::read_to_string(dir.0.join("keys.jwks")).unwrap()).unwrap();
    assert_eq!(written.entries()[0].validity().expires, Some(boundary));
    assert_eq!(written.entries()[1].validity().not_before, Some(boundary));
}

/// With a fixed clock (LogOptions::clock) the log never reads the system's: the
/// first key's nbf, default record times, the limit on given times and a rotation
/// all take the fixed time, so the same calls make the same bytes.
#[test]
fn a_fixed_clock_makes_the_same_log_twice() {
    let at = Timestamp::parse("2030-06-01T12:00:00Z").unwrap();
    let make = |name: &str| {
        let dir = scratch(name);
        let (old, new) = (key(1), key(2));
        let options = CreateOptions {
            log_id: Some("test.example/clock".into()),
            // The salts of version-2 records come from the system's random source
            // unless derived from a seed.
            options: evidentia_store::LogOptions { clock: Some(at), salt_seed: Some([3; 32]), ..Default::default() },
            ..CreateOptions::default()
        };
        let log = Log::create(&dir.0, &old, options).unwrap();
        let first = log.append(&old, b"{}", None).unwrap();
        assert_eq!(first.record.time, at, "a record's default time is the fixed clock's");
        // Five minutes ahead of the fixed clock is the limit, whatever the system's says.
        let late = Timestamp::from_unix(at.unix_seconds() + 301, 0).unwrap();
        let refused = log.append_events(
            &old,
            &[NewEvent { json: b"{}", nonce: None }],
            &AppendOptions { time: Some(late), ..AppendOptions::default() },
        );
        assert_eq!(refused.unwrap_err().code(), ErrorCode::TimeRefused);
        log.rotate(&old, &new, None).unwrap();
        let second = log.append(&new, b"{}", None).unwrap();
        assert!(second.record.time > at, "after the rotation instant, which follows the last record");
        drop(log);
        assert_valid(&dir.0);
        let keys = std::fs::read(dir.0.join("keys.jwks")).unwrap();
        let segment = std::fs::read(segment(&dir.0)).unwrap();
        (dir, keys, segment)
    };
    let (_a, keys_a, segment_a) = make("clock-a");
    let (_b, keys_b, segment_b) = make("clock-b");
    assert_eq!(keys_a, keys_b);
    assert_eq!(segment_a, segment_b);
    let keys = KeySet::from_json(std::str::from_utf8(&keys_a).unwrap()).unwrap();
    assert_eq!(keys.entries()[0].validity().not_before, Some(at));
}

#[test]
fn concurrent_appends_keep_the_chain() {
    let dir = scratch("threads");
    let k = Arc::new(key(4));
    let log = Arc::new(Log::create(&dir.0, &k, options(Mode::Receipts)).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (log, k) = (Arc::clone(&log), Arc::clone(&k));
            std::thread::spawn(move || {
                for i in 0..25 {
                    let nonce = format!("t{t}-{i}");
                    log.append(&k, &event(t * 100 + i), Some(&nonce)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(log.len(), 200);
    drop(log);
    assert_valid(&dir.0);
}

fn segment(dir: &Path) -> PathBuf {
    dir.join("segments").join(format!("{:020}.seg", 0))
}

#[test]
fn a_torn_last_entry_is_cut_and_everything_before_it_kept() {
    let dir = scratch("torn");
    let k = key(5);
    let log = Log::create(&dir.0, &k, options(Mode::Receipts)).unwrap();
    append_many(&log, &k, 0, 20);
    drop(log);
    let full = std::fs::read(segment(&dir.0)).unwrap();
    let state = std::fs::read(dir.0.join("state.json")).unwrap();
    let index = std::fs::read(dir.0.join("index")).unwrap();
    let log = Log::open(&dir.0).unwrap();
    log.append(&k, &event(20), None).unwrap();
    drop(log);
    let with_last = std::fs::read(segment(&dir.0)).unwrap();
    // Cut the last entry at every point, as a crash before it was acknowledged
    // would (so the durable state still says 20, and its index slot was never
    // written): the log reopens with the first 20.
    for cut in full.len() + 1..with_last.len() {
        std::fs::write(segment(&dir.0), &with_last[..cut]).unwrap();
        std::fs::write(dir.0.join("state.json"), &state).unwrap();
        std::fs::write(dir.0.join("index"), &index).unwrap();
        let log = Log::open(&dir.0).unwrap();
        assert_eq!(log.len(), 20, "cut at {cut}");
        assert_eq!(log.recovery().truncated_bytes, (cut - full.len()) as u64);
        drop(log);
        assert_eq!(std::fs::read(segment(&dir.0)).unwrap(), full);
    }
    assert_valid(&dir.0);
}

#[test]
fn damage_in_the_middle_is_never_cut_and_verification_names_the_record() {
    let dir = scratch("flip");
    let k = key(6);
    let log = Log::create(&dir.0, &k, options(Mode::Receipts)).unwrap();
    for i in 0..6 {
        log.append(&k, &event(i), None).unwrap();
    }
    drop(log);
    let original = std::fs::read(segment(&dir.0)).unwrap();
    // Flip one bit at many positions of the third entry (its frame header and receipt).
    let receipt = LogReader::open(&dir.0).unwrap().receipt(2).unwrap();
    let start = original.windows(receipt.len()).position(|w| w == receipt.as_bytes()).unwrap();
    for i in (start - 17..start + receipt.len()).step_by(7) {
        let mut damaged = original.clone();
        damaged[i] ^= 0x04;
        std::fs::write(segment(&dir.0), &damaged).unwrap();
        // Opening reads only past the last entry known durable, so the writer opens;
        // it changes nothing of the damaged entry.
        drop(Log::open(&dir.0).unwrap());
        assert_eq!(std::fs::read(segment(&dir.0)).unwrap(), damaged, "nothing is changed");
        let report = verify_dir(&dir.0, None, |_| {}).unwrap();
        assert!(!report.is_valid(), "byte {i} (receipt at {start}): {}", report.to_text());
        assert_eq!(report.findings()[0].index, Some(2), "byte {i}: {}", report.to_text());
    }
    std::fs::write(segment(&dir.0), &original).unwrap();
    assert_valid(&dir.0);
}

#[test]
fn lost_index_and_tree_are_rebuilt() {
    let dir = scratch("rebuild");
    let k = key(7);
    let log = Log::create(&dir.0, &k, options(Mode::Batch)).unwrap();
    append_many(&log, &k, 0, 300);
    drop(log);
    std::fs::remove_file(dir.0.join("index")).unwrap();
    let tree = std::fs::read(dir.0.join("tree")).unwrap();
    std::fs::write(dir.0.join("tree"), &tree[..tree.len() / 3 + 5]).unwrap();
    let log = Log::open(&dir.0).unwrap();
    let recovery = log.recovery();
    assert_eq!(recovery.rebuilt_index_entries, 300);
    assert!(recovery.rebuilt_tree_leaves > 150, "{recovery:?}");
    drop(log);
    assert_eq!(std::fs::read(dir.0.join("tree")).unwrap(), tree);
    assert_valid(&dir.0);

    // A wrong tree hash is found by verification.
    let mut bad = tree.clone();
    bad[32 * 100] ^= 1;
    std::fs::write(dir.0.join("tree"), &bad).unwrap();
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert_eq!(report.failure_codes(), vec![ErrorCode::TreeMismatch]);
}

#[test]
fn tampered_copies_fail_against_the_original_checkpoints() {
    let dir = scratch("copy");
    let k = key(8);
    let log = Log::create(&dir.0, &k, options(Mode::Batch)).unwrap();
    append_many(&log, &k, 0, 10);
    drop(log);
    let reader = LogReader::open(&dir.0).unwrap();
    let mut entries = Vec::new();
    reader
        .for_each_entry(|e| {
            entries.push(e.unwrap().to_owned());
            Ok(())
        })
        .unwrap();
    let copy = dir.0.join("copy");
    reader.write_copy(&copy, &entries).unwrap();
    assert_valid(&copy);
    entries.remove(4);
    let removed = dir.0.join("removed");
    reader.write_copy(&removed, &entries).unwrap();
    let report = verify_dir(&removed, None, |_| {}).unwrap();
    let codes = report.failure_codes();
    assert!(codes.contains(&ErrorCode::ChainBroken) && codes.contains(&ErrorCode::SequenceGap), "{codes:?}");
    assert!(codes.contains(&ErrorCode::RecordUnsigned), "the checkpoint no longer matches: {codes:?}");
    // The copy's checkpoint still names the original size and root.
    assert_eq!(read_checkpoint(&LogReader::open(&removed).unwrap().checkpoints().unwrap()[0].note).unwrap().size, 10);
}

#[test]
fn a_new_log_id_may_not_hold_a_plus_which_no_checkpoint_key_name_may() {
    // A log id with '+' is a valid log id in a record (receipts issued under one
    // still verify), but it names the key of the log's checkpoints, which a signed
    // note's key name may not hold: such a log could never seal or checkpoint.
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch("plus");
        let options = CreateOptions { log_id: Some("test.example/a+b".into()), mode, ..CreateOptions::default() };
        let e = Log::create(&dir.0, &key(1), options).map(|_| ()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::LogIdInvalid, "{e}");
        assert!(!dir.0.join("log.json").exists(), "nothing is written");
    }
    evidentia::validate_log_id("test.example/a+b").unwrap();
}

/// A live writer makes its tree durable only now and then: a verification from a
/// checkpoint it signed since starts from the records there, and still finds a
/// fork.
#[test]
fn a_checkpoint_of_a_live_writer_is_a_start_for_verifying_from_it() {
    let dir = scratch("live-start");
    let k = key(4);
    let log = Log::create(&dir.0, &k, options(Mode::Batch)).unwrap();
    append_many(&log, &k, 0, 5);
    let trusted = LogReader::open(&dir.0).unwrap().latest_checkpoint().unwrap().unwrap();
    append_many(&log, &k, 5, 3);
    append_many(&log, &k, 8, 4);
    let reader = LogReader::open(&dir.0).unwrap();
    for from in [trusted.note.clone(), reader.latest_checkpoint().unwrap().unwrap().note] {
        let report = reader.verify_from(None, Some(&from), |_| {}).unwrap();
        assert!(report.is_valid(), "{}", report.to_text());
        assert_eq!(report.tree().map(|t| t.size), Some(12));
    }
    // Another history of the same size, under the same id and key.
    let other = scratch("live-start-fork");
    let forked = Log::create(&other.0, &k, options(Mode::Batch)).unwrap();
    append_many(&forked, &k, 100, 5);
    let foreign = LogReader::open(&other.0).unwrap().latest_checkpoint().unwrap().unwrap();
    let report = reader.verify_from(None, Some(&foreign.note), |_| {}).unwrap();
    assert_eq!(report.failure_codes(), vec![ErrorCode::CheckpointMismatch], "{}", report.to_text());
    drop((log, forked));
}

/// A hand-edited or damaged archive.json (SPEC §16.1) is refused when the log is
/// opened, never read as a gap or as a place to write.
#[test]
fn a_hostile_archive_manifest_is_refused() {
    let dir = scratch("hostile-archive");
    let k = key(5);
    let log = Log::create(&dir.0, &k, options(Mode::Receipts)).unwrap();
    append_many(&log, &k, 0, 3);
    drop(log);
    let elsewhere = std::env::temp_dir().join("evidentia-archive-elsewhere");
    let digest = evidentia::Digest::sha256(b"x");
    for manifest in [
        "not json".to_owned(),
        r#"{"segments":[]}"#.to_owned(),
        r#"{"dir":"relative/folder","segments":[]}"#.to_owned(),
        format!(
            r#"{{"dir":"{}","segments":[{{"name":"../../etc/passwd","sha256":"{digest}","size":1}}]}}"#,
            elsewhere.display()
        ),
        format!(
            r#"{{"dir":"{}","segments":[{{"name":"00000000000000000000.seg","sha256":"sha256:00","size":1}}]}}"#,
            elsewhere.display()
        ),
        // Listed as archived, but not before the segments the log holds.
        format!(
            r#"{{"dir":"{}","segments":[{{"name":"00000000000000000007.seg","sha256":"{digest}","size":1}}]}}"#,
            elsewhere.display()
        ),
    ] {
        std::fs::write(dir.0.join("archive.json"), &manifest).unwrap();
        let code = LogReader::open(&dir.0).map(|_| ()).unwrap_err().code();
        assert_eq!(code, ErrorCode::LogCorrupt, "{manifest}");
        let code = Log::open(&dir.0).map(|_| ()).unwrap_err().code();
        assert_eq!(code, ErrorCode::LogCorrupt, "{manifest}");
    }
    std::fs::remove_file(dir.0.join("archive.json")).unwrap();
    assert_valid(&dir.0);
}
