//! Erasure (SPEC.md §27): after `erase`, the event's bytes are in none of the log's
//! files and the log still verifies, reporting the record as erased; under a fault
//! at any file operation, and a power cut after it, the log reopens to one of two
//! states: erased (its erasure record there, no copy of the event left) or not
//! erased (nothing appended, the event kept).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use evidentia::{ErrorCode, RecordVersion, SigningKey, Timestamp};
use evidentia_store::{CreateOptions, FaultError, Faults, Log, LogOptions, LogReader, Mode, NewEvent, verify_dir};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("evidentia-erasure-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Scratch(dir)
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32]).unwrap()
}

const SECRET: &str = "Ada-Lovelace-7f3e";

/// A log of version-2 records indexing `name`: record 1 holds [`SECRET`].
fn make(dir: &Path, mode: Mode, options: LogOptions) -> Log {
    let create = CreateOptions {
        log_id: Some("test.example/erasure".into()),
        mode,
        index_fields: vec!["name".into()],
        record_version: Some(RecordVersion::V2),
        key_valid_from: Some(Timestamp::parse("2026-01-01T00:00:00Z").unwrap()),
        options,
        ..CreateOptions::default()
    };
    let log = Log::create(dir, &key(), create).unwrap();
    // Record 1 spans sectors, so that a write cut short can tear it.
    let padding = "p".repeat(6000);
    for (name, nonce) in [("Bob", None), (SECRET, Some("req-1")), ("Carol", None)] {
        let event = format!(r#"{{"name":"{name}","amount":12,"padding":"{padding}"}}"#);
        log.append_events(&key(), &[NewEvent { json: event.as_bytes(), nonce }], &Default::default()).unwrap();
    }
    log
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for item in std::fs::read_dir(&folder).unwrap() {
            let path = item.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if std::fs::read(&path).unwrap().windows(needle.len()).any(|w| w == needle) {
                found.push(path);
            }
        }
    }
    found
}

fn erasure_records(log: &Log) -> Vec<u64> {
    (0..log.len()).filter(|&seq| evidentia::erasure_of(log.entry(seq).unwrap().event()).is_some()).collect()
}

#[test]
fn an_erased_event_is_in_no_file_and_the_log_verifies_with_the_record_reported_erased() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("plain-{}", mode.name()));
        let log = make(&dir.0, mode, LogOptions::default());
        assert_eq!(files_holding(&dir.0, SECRET.as_bytes()).len(), 1, "the event is in its segment");
        assert!(files_holding(&dir.0, b"Carol").len() == 1);
        let before: Vec<String> = (0..3).map(|seq| log.receipt(seq).unwrap()).collect();

        // Bytes of an append that was never acknowledged, kept by recovery in cut/,
        // may hold the same event.
        std::fs::create_dir_all(dir.0.join("cut")).unwrap();
        std::fs::write(dir.0.join("cut").join("00000000000000000000.seg@4096"), format!("..{SECRET}..")).unwrap();
        std::fs::write(dir.0.join("cut").join("unrelated@1"), "other bytes").unwrap();

        // Held, it is not erased; released, it is.
        log.hold(1, "case 2026-17").unwrap();
        assert_eq!(log.holds().unwrap()[0].reason, "case 2026-17");
        assert_eq!(log.erase(&key(), 1, "GDPR Art. 17").unwrap_err().code(), ErrorCode::ErasureRefused);
        assert!(log.release(1).unwrap());
        assert!(!log.release(1).unwrap());
        let erased = log.erase(&key(), 1, "GDPR Art. 17 request 118").unwrap();
        assert_eq!(erased.seq, 3);

        assert_eq!(files_holding(&dir.0, SECRET.as_bytes()), Vec::<PathBuf>::new());
        assert!(!dir.0.join("cut").join("unrelated@1").exists(), "cut/ is emptied: a torn copy is not recognizable");
        assert_eq!(files_holding(&dir.0, b"Carol").len(), 1, "only the erased event is gone");
        // Receipts and batch receipts are unchanged: they hold records only.
        let after: Vec<String> = (0..3).map(|seq| log.receipt(seq).unwrap()).collect();
        if mode == Mode::Receipts {
            assert_eq!(before, after);
        }
        assert_eq!(log.entry(1).unwrap().readable_event().unwrap_err().code(), ErrorCode::RecordErased);
        assert_eq!(log.find("name", SECRET).unwrap(), Vec::<u64>::new(), "the field index forgot it");
        assert_eq!(log.find("name", "Carol").unwrap(), [2]);
        drop(log);
        let report = verify_dir(&dir.0, None, |_| {}).unwrap();
        assert!(report.is_valid(), "{}", report.to_text());
        assert_eq!(report.erased().len(), 1);
        assert_eq!((report.erased()[0].seq, report.erased()[0].by), (1, 3));

        // Each refusal has its code.
        let log = Log::open(&dir.0).unwrap();
        assert_eq!(log.erase(&key(), 1, "again").unwrap_err().code(), ErrorCode::RecordErased);
        assert_eq!(log.erase(&key(), 3, "the erasure record").unwrap_err().code(), ErrorCode::ErasureRefused);
        assert_eq!(log.erase(&key(), 9, "beyond").unwrap_err().code(), ErrorCode::InvalidArgument);
        assert_eq!(log.erase(&key(), 0, "").unwrap_err().code(), ErrorCode::InvalidArgument);
        assert_eq!(log.hold(9, "beyond").unwrap_err().code(), ErrorCode::InvalidArgument);
        // An idempotent retry of the erased record's nonce is no retry of it.
        let retry = evidentia_store::AppendOptions { idempotent: true, ..Default::default() };
        let event = format!(r#"{{"name":"{SECRET}","amount":12,"padding":"{}"}}"#, "p".repeat(6000));
        let again = log.append_events(&key(), &[NewEvent { json: event.as_bytes(), nonce: Some("req-1") }], &retry);
        assert_eq!(again.unwrap_err().code(), ErrorCode::NonceInUse);
    }
}

#[test]
fn a_version_1_record_is_not_erased_and_an_idempotent_retry_of_a_salted_one_is_found() {
    let dir = scratch("v1");
    let log =
        Log::create(&dir.0, &key(), CreateOptions { record_version: Some(RecordVersion::V1), ..Default::default() })
            .unwrap();
    log.append(&key(), br#"{"name":"x"}"#, None).unwrap();
    assert_eq!(log.erase(&key(), 0, "request").unwrap_err().code(), ErrorCode::ErasureRefused);

    let dir = scratch("retry");
    let log = make(&dir.0, Mode::Receipts, LogOptions::default());
    let retry = evidentia_store::AppendOptions { idempotent: true, ..Default::default() };
    let event = format!(r#"{{ "amount": 12, "name": "{SECRET}", "padding": "{}" }}"#, "p".repeat(6000));
    let again =
        log.append_events(&key(), &[NewEvent { json: event.as_bytes(), nonce: Some("req-1") }], &retry).unwrap();
    assert!(again[0].replayed);
    assert_eq!(again[0].seq, 1);
    let other = log.append_events(&key(), &[NewEvent { json: br#"{"name":"other"}"#, nonce: Some("req-1") }], &retry);
    assert_eq!(other.unwrap_err().code(), ErrorCode::NonceInUse);
}

/// What happens after the fault: the process goes on, or the power is cut and
/// every unflushed write is lost, or only some of them (a write cut short).
#[derive(Clone, Copy, Debug)]
enum After {
    GoesOn,
    PowerCut,
    PowerCutKeepingSome(u64),
}

#[test]
fn an_erasure_cut_short_at_any_file_operation_is_finished_or_not_made_when_the_log_reopens() {
    let some = [6, 7, 36, 37].map(After::PowerCutKeepingSome);
    for after in [[After::GoesOn, After::PowerCut].as_slice(), &some].concat() {
        let mut n = 1;
        loop {
            let dir = scratch(&format!("fault-{after:?}-{n}"));
            let faults = Arc::new(Faults::new());
            let log =
                make(&dir.0, Mode::Receipts, LogOptions { faults: Some(Arc::clone(&faults)), ..Default::default() });
            if !matches!(after, After::GoesOn) {
                faults.record_unflushed();
            }
            faults.fail_operation(n, if n % 2 == 0 { FaultError::NoSpace } else { FaultError::Io });
            let result = log.erase(&key(), 1, "retention ended");
            let injected = faults.injected();
            let mut acknowledged = 3 + u64::from(result.is_ok());
            match after {
                _ if injected.is_none() => {}
                After::GoesOn => {
                    // The application goes on appending: every acknowledged record stays.
                    let more = log.append(&key(), br#"{"name":"Dan"}"#, None);
                    acknowledged += u64::from(more.is_ok());
                }
                After::PowerCut => faults.power_cut().unwrap(),
                After::PowerCutKeepingSome(seed) => faults.power_cut_keeping_some(seed).unwrap(),
            }
            drop(log);
            let what = format!("{after:?}, fault at operation {n} ({injected:?}): {result:?}");
            if let Err(e) = &result {
                assert!(matches!(e.code(), ErrorCode::Io | ErrorCode::RecordsUnsealed), "{what}");
            }
            let log = Log::open(&dir.0).unwrap_or_else(|e| panic!("{what}: the log does not reopen: {e:?}"));
            assert!(log.len() >= acknowledged, "{what}: {} records, {acknowledged} acknowledged", log.len());
            let erasures = erasure_records(&log);
            let holding = files_holding(&dir.0, SECRET.as_bytes());
            match erasures.as_slice() {
                [] => {
                    assert!(result.is_err(), "{what}: acknowledged, but no erasure record");
                    assert_eq!(holding.len(), 1, "{what}: not erased, yet the event is gone");
                }
                [3] => assert!(holding.is_empty(), "{what}: erased, yet {holding:?} hold the event"),
                other => panic!("{what}: erasure records {other:?}"),
            }
            drop(log);
            let report = verify_dir(&dir.0, None, |_| {}).unwrap();
            assert!(report.is_valid(), "{what}: {}", report.to_text());
            assert_eq!(report.erased().len(), erasures.len(), "{what}");
            if injected.is_none() {
                assert!(n > 5, "the erasure made {n} file operations");
                break;
            }
            n += 1;
        }
    }
}

/// A segment archived (SPEC.md §16.1) while a crash left it in `segments/` too:
/// both copies lose the event, and the manifest's digest follows.
#[test]
fn an_event_in_an_archived_segment_is_erased_in_every_copy() {
    let dir = scratch("archived");
    let archive = scratch("archived-to");
    let log = make(&dir.0, Mode::Receipts, LogOptions::default());
    let big = format!(r#"{{"blob":"{}"}}"#, "b".repeat(1 << 20));
    for _ in 0..66 {
        log.append(&key(), big.as_bytes(), None).unwrap();
    }
    log.archive(&archive.0).unwrap();
    let name = "00000000000000000000.seg";
    std::fs::copy(archive.0.join(name), dir.0.join("segments").join(name)).unwrap();
    assert_eq!(files_holding(&dir.0, SECRET.as_bytes()).len() + files_holding(&archive.0, SECRET.as_bytes()).len(), 2);
    log.erase(&key(), 1, "retention ended").unwrap();
    assert!(files_holding(&dir.0, SECRET.as_bytes()).is_empty());
    assert!(files_holding(&archive.0, SECRET.as_bytes()).is_empty());
    drop(log);
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert!(report.is_valid(), "{}", report.to_text());
    // Archiving again finds the copies alike and the manifest right.
    let log = Log::open(&dir.0).unwrap();
    log.archive(&archive.0).unwrap();
}

/// A reader whose snapshot was taken before an erasure sees the event erased but
/// not the erasure record after its snapshot: it finds that record, and the log
/// is valid, the record reported erased.
#[test]
fn a_reader_opened_before_an_erasure_reports_the_record_erased() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("reader-{}", mode.name()));
        let log = make(&dir.0, mode, LogOptions::default());
        let reader = LogReader::open(&dir.0).unwrap();
        log.erase(&key(), 1, "retention ended").unwrap();
        let report = reader.verify(None, |_| {}).unwrap();
        assert!(report.is_valid(), "{}", report.to_text());
        assert_eq!(report.records(), 3);
        assert_eq!((report.erased()[0].seq, report.erased()[0].by), (1, 3));
    }
}
