//! The on-disk log: create, append, reopen, lock, rotate, verify, detect damage.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use evidentia::{ErrorCode, KeySet, SigningKey, verify_receipt};
use evidentia_store::{CreateOptions, Log, read_entries, verify_dir, write_copy};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("evidentia-store-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32]).unwrap()
}

#[test]
fn create_append_reopen_verify() {
    let dir = temp_dir("basic");
    let k = key(1);
    let mut log = Log::create(&dir, &k, CreateOptions { log_id: Some("test/basic".into()), key_file: None }).unwrap();
    assert_eq!(log.log_id(), "test/basic");
    let first = log.append(&k, br#"{"n": 1}"#, Some("req-1")).unwrap();
    assert_eq!(first.record().seq, 0);
    drop(log);

    let mut log = Log::open(&dir).unwrap();
    assert_eq!(log.len(), 1);
    let second = log.append(&k, br#"{"n": 2}"#, None).unwrap();
    assert_eq!(second.record().seq, 1);
    assert_eq!(second.record().prev, Some(first.record().digest()));
    assert!(second.record().time >= first.record().time);

    let report = verify_dir(&dir, None, |_| {}).unwrap();
    assert!(report.is_valid(), "{}", report.to_text());
    assert_eq!(report.records(), 2);
    // A receipt verifies on its own with the log's key history.
    let keys = KeySet::from_json(&std::fs::read_to_string(dir.join("keys.jwks")).unwrap()).unwrap();
    assert!(verify_receipt(second.as_str(), &keys, Some(br#"{"n":2}"#)).unwrap().is_valid());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_writer_at_a_time_and_no_overwrite() {
    let dir = temp_dir("lock");
    let k = key(1);
    let log = Log::create(&dir, &k, CreateOptions::default()).unwrap();
    assert!(log.log_id().starts_with("evidentia/"));
    assert_eq!(Log::open(&dir).unwrap_err().code(), ErrorCode::LogLocked);
    assert_eq!(Log::create(&dir, &k, CreateOptions::default()).unwrap_err().code(), ErrorCode::LogExists);
    drop(log);
    assert!(Log::open(&dir).is_ok());
    assert_eq!(Log::open(&dir.join("nothing")).unwrap_err().code(), ErrorCode::LogNotFound);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rotation_keeps_old_records_valid_and_retires_the_old_key() {
    let dir = temp_dir("rotate");
    let (old, new) = (key(1), key(2));
    let mut log = Log::create(&dir, &old, CreateOptions::default()).unwrap();
    log.append(&old, b"{}", None).unwrap();
    log.rotate(&new, None).unwrap();
    assert_eq!(log.append(&old, b"{}", None).unwrap_err().code(), ErrorCode::KeyNotFound);
    log.append(&new, b"{}", None).unwrap();
    drop(log);
    let report = verify_dir(&dir, None, |_| {}).unwrap();
    assert!(report.is_valid(), "{}", report.to_text());
    // Against a key set holding only the new key, the old record fails the key check.
    let report = verify_dir(&dir, Some(&KeySet::single(new.public_key())), |_| {}).unwrap();
    assert_eq!(report.failure_codes(), vec![ErrorCode::KeyNotFound]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_files_are_reported() {
    let dir = temp_dir("damage");
    let k = key(1);
    let mut log = Log::create(&dir, &k, CreateOptions::default()).unwrap();
    for i in 0..5 {
        log.append(&k, format!(r#"{{"i":{i}}}"#).as_bytes(), None).unwrap();
    }
    drop(log);
    let entries: Vec<(String, Vec<u8>)> = read_entries(&dir).unwrap().map(Result::unwrap).collect();

    // A copy with a record removed fails verification; the original still passes.
    let copy = dir.join("copy");
    write_copy(
        &dir,
        &copy,
        entries.iter().enumerate().filter(|(i, _)| *i != 2).map(|(_, (r, e))| (r.as_str(), e.as_slice())),
    )
    .unwrap();
    let report = verify_dir(&copy, None, |_| {}).unwrap();
    assert!(report.failure_codes().contains(&ErrorCode::SequenceGap), "{}", report.to_text());
    assert!(verify_dir(&dir, None, |_| {}).unwrap().is_valid());

    // A torn last line: reported by verification, and the log refuses appends.
    let records = dir.join("records.log");
    let mut bytes = std::fs::read(&records).unwrap();
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&records, &bytes).unwrap();
    let report = verify_dir(&dir, None, |_| {}).unwrap();
    assert_eq!(report.failure_codes(), vec![ErrorCode::RecordUnreadable]);
    assert_eq!(Log::open(&dir).unwrap_err().code(), ErrorCode::LogCorrupt);

    // Garbage configuration.
    std::fs::write(dir.join("log.json"), b"{\"format\":\"something\"}").unwrap();
    assert_eq!(Log::open(&dir).unwrap_err().code(), ErrorCode::LogConfigInvalid);
    std::fs::write(dir.join("log.json"), b"\xff").unwrap();
    assert_eq!(verify_dir(&dir, None, |_| {}).unwrap_err().code(), ErrorCode::LogConfigInvalid);
    std::fs::remove_dir_all(&dir).unwrap();
}
