//! The key history the log proves (SPEC.md §23): rotations and revocations are key
//! records in the chain, an edited keys.jwks is caught, and a change the log
//! recorded but keys.jwks did not yet show is completed when the log is opened.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use evidentia::{ErrorCode, KeyChange, KeyRecord, KeySet, SigningKey, Timestamp};
use evidentia_store::{CreateOptions, Log, LogOptions, LogReader, Mode, verify_dir};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("evidentia-key-history-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Scratch(dir)
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32]).unwrap()
}

fn keys_file(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("keys.jwks")).unwrap()
}

/// The key records of the log, in order.
fn key_records(dir: &Path) -> Vec<(u64, KeyRecord)> {
    let reader = LogReader::open(dir).unwrap();
    (0..reader.len())
        .filter_map(|seq| {
            let entry = reader.entry(seq).unwrap();
            let event = evidentia::json::parse(entry.event()).unwrap();
            KeyRecord::from_event(&event).unwrap().map(|record| (seq, record))
        })
        .collect()
}

fn key_history(report: &evidentia::Report) -> evidentia::Status {
    report.checks().iter().find(|c| c.check == evidentia::Check::KeyHistory).unwrap().status
}

fn codes(dir: &Path) -> Vec<ErrorCode> {
    verify_dir(dir, None, |_| {}).unwrap().failure_codes()
}

/// A log with a rotation from key 1 to key 2 and a revocation of key 1.
fn rotated_and_revoked(dir: &Path, mode: Mode) -> (SigningKey, SigningKey, Timestamp) {
    let (old, new) = (key(1), key(2));
    let log = Log::create(dir, &old, CreateOptions { mode, ..CreateOptions::default() }).unwrap();
    log.append(&old, br#"{"n":1}"#, None).unwrap();
    log.rotate(&old, &new, None).unwrap();
    log.append(&new, br#"{"n":2}"#, None).unwrap();
    // Revoked after its last record (the rotation's key record): the log stays valid.
    let handed_over = log.keys().entries()[0].validity().expires.unwrap();
    log.revoke(&new, old.public_key().kid(), handed_over, Some("keyCompromise")).unwrap();
    log.append(&new, br#"{"n":3}"#, None).unwrap();
    (old, new, handed_over)
}

#[test]
fn rotations_and_revocations_are_signed_key_records_that_verify() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("records-{}", mode.name()));
        let (old, new, handed_over) = rotated_and_revoked(&dir.0, mode);
        let records = key_records(&dir.0);
        assert_eq!(records.len(), 2, "{mode:?}");
        let (rotation_seq, rotation) = &records[0];
        assert_eq!(*rotation_seq, 1);
        assert_eq!(records[1].0, 3);
        assert_eq!(
            rotation.change,
            KeyChange::Rotate {
                from: old.public_key().kid().to_owned(),
                to: new.public_key().kid().to_owned(),
                at: handed_over
            }
        );
        // The outgoing key signed the rotation, the key in force the revocation.
        let reader = LogReader::open(&dir.0).unwrap();
        assert_eq!(reader.entry(1).unwrap().record().unwrap().kid, old.public_key().kid());
        assert_eq!(reader.entry(3).unwrap().record().unwrap().kid, new.public_key().kid());
        // The last key record's key set is keys.jwks.
        assert_eq!(records[1].1.keys.to_json(), keys_file(&dir.0));
        let report = verify_dir(&dir.0, None, |_| {}).unwrap();
        assert!(report.is_valid(), "{mode:?}: {:?}", report.failure_codes());
        assert_eq!(key_history(&report), evidentia::Status::Passed);
    }
}

#[test]
fn an_edited_keys_jwks_is_caught() {
    let dir = scratch("edited");
    let (_, new, _) = rotated_and_revoked(&dir.0, Mode::Receipts);
    let honest = keys_file(&dir.0);
    // Each edit keeps every record verifiable against the edited set, so only the
    // key history can tell: the revocation removed, a key added, a validity moved.
    let mut unrevoked = KeySet::from_json(&honest).unwrap();
    let first = unrevoked.entries()[0].thumbprint().to_owned();
    let validity = unrevoked.entries()[0].validity().clone();
    unrevoked
        .set_validity(&first, evidentia::Validity { revoked_at: None, revocation_reason: None, ..validity })
        .unwrap();
    let mut added = KeySet::from_json(&honest).unwrap();
    added.add(key(7).public_key(), evidentia::Validity::default()).unwrap();
    let mut earlier = KeySet::from_json(&honest).unwrap();
    let second = new.public_key().kid().to_owned();
    let start = earlier.entries()[1].validity().not_before.unwrap();
    let moved = start.shifted(std::time::Duration::from_secs(3600), true).unwrap();
    earlier.set_validity(&second, evidentia::Validity { not_before: Some(moved), ..Default::default() }).unwrap();
    for edited in [unrevoked, added, earlier] {
        std::fs::write(dir.0.join("keys.jwks"), edited.to_json()).unwrap();
        assert_eq!(codes(&dir.0), vec![ErrorCode::KeyHistoryMismatch], "{}", edited.to_json());
        // Opening the log does not take an edited key set for an unfinished change
        // (and refuses one with a second key in force).
        match Log::open(&dir.0) {
            Ok(log) => assert!(!log.recovery().completed_key_change),
            Err(e) => assert_eq!(e.code(), ErrorCode::LogCorrupt),
        }
        assert_eq!(codes(&dir.0), vec![ErrorCode::KeyHistoryMismatch]);
    }
    std::fs::write(dir.0.join("keys.jwks"), &honest).unwrap();
    assert_eq!(codes(&dir.0), vec![]);
}

#[test]
fn a_change_recorded_but_not_yet_in_keys_jwks_is_completed_on_open() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("complete-{}", mode.name()));
        let (old, new) = (key(1), key(2));
        let log = Log::create(&dir.0, &old, CreateOptions { mode, ..CreateOptions::default() }).unwrap();
        log.append(&old, b"{}", None).unwrap();
        let before = keys_file(&dir.0);
        log.rotate(&old, &new, None).unwrap();
        let after = keys_file(&dir.0);
        drop(log);
        // As if the process stopped after the key record and its checkpoint, before
        // keys.jwks was replaced.
        std::fs::write(dir.0.join("keys.jwks"), &before).unwrap();
        assert_eq!(codes(&dir.0), vec![ErrorCode::KeyHistoryMismatch]);
        let log = Log::open(&dir.0).unwrap();
        assert!(log.recovery().completed_key_change, "{mode:?}");
        assert_eq!(keys_file(&dir.0), after);
        assert_eq!(log.append(&old, b"{}", None).unwrap_err().code(), ErrorCode::KeyNotCurrent);
        log.append(&new, b"{}", None).unwrap();
        drop(log);
        assert_eq!(codes(&dir.0), vec![]);
    }
}

#[test]
fn revocations_that_cannot_be_made_are_refused() {
    let dir = scratch("refused");
    let (old, new, other) = (key(1), key(2), key(3));
    let log = Log::create(&dir.0, &old, CreateOptions::default()).unwrap();
    let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    let current = log.revoke(&old, old.public_key().kid(), now, None).unwrap_err();
    assert_eq!(current.code(), ErrorCode::InvalidArgument);
    assert!(current.message().contains("rotate"), "{}", current.message());
    log.rotate(&old, &new, None).unwrap();
    assert_eq!(log.revoke(&old, old.public_key().kid(), now, None).unwrap_err().code(), ErrorCode::KeyNotCurrent);
    assert_eq!(log.revoke(&new, other.public_key().kid(), now, None).unwrap_err().code(), ErrorCode::KeyNotFound);
    assert_eq!(log.revoke(&new, old.public_key().kid(), now, Some("")).unwrap_err().code(), ErrorCode::InvalidArgument);
    let length = log.len();
    log.revoke(&new, old.public_key().kid(), now, None).unwrap();
    assert_eq!(log.len(), length + 1);
    // Asked again, the same revocation is already made; another one of the same key
    // is refused.
    log.revoke(&new, old.public_key().kid(), now, None).unwrap();
    assert_eq!(log.len(), length + 1);
    let later = Timestamp::parse("2026-01-02T00:00:00Z").unwrap();
    assert_eq!(log.revoke(&new, old.public_key().kid(), later, None).unwrap_err().code(), ErrorCode::InvalidArgument);
    // Nobody appends a key record but the log itself.
    let forged = KeyRecord::revoke(&log.keys(), new.public_key().kid(), now, None).unwrap().to_event();
    assert_eq!(log.append(&new, &forged, None).unwrap_err().code(), ErrorCode::InvalidArgument);
    drop(log);
    // Revoked before its records: they are no longer evidence (SPEC.md §23.3).
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert!(report.failure_codes().contains(&ErrorCode::KeyRevoked), "{:?}", report.failure_codes());
    assert!(!report.failure_codes().contains(&ErrorCode::KeyHistoryMismatch));
}

#[test]
fn logs_without_key_records_verify_as_before() {
    let dir = scratch("no-records");
    let k = key(1);
    let log = Log::create(&dir.0, &k, CreateOptions::default()).unwrap();
    log.append(&k, b"{}", None).unwrap();
    drop(log);
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert!(report.is_valid());
    assert_eq!(key_history(&report), evidentia::Status::Skipped);
}

/// The conformance key `i`, as xtask/src/conformance/fixtures.rs makes it.
fn conformance_key(i: u8) -> SigningKey {
    let seed = evidentia::Digest::sha256(format!("evidentia conformance key {i}").as_bytes());
    SigningKey::from_bytes(seed.as_bytes()).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A log rotated before rotations were recorded in the chain (the 0.1 store wrote
/// it: keys.jwks alone held the history) keeps verifying, and its next change
/// starts the key history the log proves from the key set it has.
#[test]
fn a_log_rotated_before_key_records_keeps_verifying_and_records_its_next_change() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rotated-before-key-records");
    let dir = scratch("legacy");
    copy_dir(&fixture, &dir.0);
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert!(report.is_valid(), "{:?}", report.failure_codes());
    assert_eq!(key_history(&report), evidentia::Status::Skipped);
    assert!(key_records(&dir.0).is_empty());

    let (k1, k2, k3) = (conformance_key(1), conformance_key(2), conformance_key(3));
    // The fixture's records are dated 2027: a clock of that day.
    let clock = Some(Timestamp::parse("2027-01-15T08:05:00Z").unwrap());
    let log = Log::open_with(&dir.0, &LogOptions { clock, ..LogOptions::default() }).unwrap();
    log.append(&k2, br#"{"after":"upgrade"}"#, None).unwrap();
    log.revoke(&k2, k1.public_key().kid(), Timestamp::parse("2027-01-15T08:00:30Z").unwrap(), None).unwrap();
    log.rotate(&k2, &k3, None).unwrap();
    log.append(&k3, b"{}", None).unwrap();
    drop(log);
    let report = verify_dir(&dir.0, None, |_| {}).unwrap();
    assert!(report.is_valid(), "{:?}", report.failure_codes());
    assert_eq!(key_history(&report), evidentia::Status::Passed);
    assert_eq!(key_records(&dir.0).len(), 2);
}

/// A key that signs until told to fail (a KMS that goes away).
struct Flaky {
    key: SigningKey,
    failing: std::cell::Cell<bool>,
    /// Signatures made before failing on its own, when set.
    budget: std::cell::Cell<Option<usize>>,
}

impl Flaky {
    fn new(key: SigningKey) -> Flaky {
        Flaky { key, failing: std::cell::Cell::new(false), budget: std::cell::Cell::new(None) }
    }
}

impl evidentia::Signer for Flaky {
    fn public_key(&self) -> &evidentia::PublicKey {
        self.key.public_key()
    }
    fn sign_message(&self, message: &[u8]) -> evidentia::Result<Vec<u8>> {
        if let Some(left) = self.budget.get() {
            self.budget.set(left.checked_sub(1));
            if left == 0 {
                self.failing.set(true);
            }
        }
        if self.failing.get() {
            return Err(evidentia::Error::new(ErrorCode::SignerFailed, "the KMS went away"));
        }
        Ok(self.key.sign_der(message))
    }
}

/// A rotation whose checkpoint (receipts mode) or seal (batch mode) the outgoing
/// key fails to sign, after its key record is stored: the rotation is made, the
/// outgoing key signs nothing more, and the log stays valid — in the same handle
/// and after reopening.
#[test]
fn a_rotation_that_fails_after_its_key_record_is_completed_not_forked() {
    for (mode, reopen) in [(Mode::Receipts, false), (Mode::Receipts, true), (Mode::Batch, false), (Mode::Batch, true)] {
        let dir = scratch(&format!("flaky-{}-{reopen}", mode.name()));
        let (old, new) = (Flaky::new(key(1)), key(2));
        let mut log = Log::create(&dir.0, &old, CreateOptions { mode, ..CreateOptions::default() }).unwrap();
        log.append(&old, br#"{"n":1}"#, None).unwrap();
        // Receipts mode: the key record's receipt, then the checkpoint fails. Batch
        // mode: the seal of the key record fails.
        old.budget.set(Some(usize::from(mode == Mode::Receipts)));
        let failed = log.rotate(&old, &new, None).unwrap_err();
        assert!(matches!(failed.code(), ErrorCode::SignerFailed | ErrorCode::RecordsUnsealed), "{failed:?}");
        assert_eq!(key_records(&dir.0).len(), 1, "{mode:?}");
        if reopen {
            drop(log);
            log = Log::open(&dir.0).unwrap();
        }
        // The successor cannot sign before the change is complete; in batch mode only
        // the outgoing key can seal it, once it works again.
        if mode == Mode::Batch {
            assert_eq!(log.append(&new, b"{}", None).unwrap_err().code(), ErrorCode::KeyNotCurrent);
            old.failing.set(false);
            old.budget.set(None);
        }
        assert_eq!(log.append(&old, br#"{"n":"late"}"#, None).unwrap_err().code(), ErrorCode::KeyNotCurrent);
        // A retry of the rotation succeeds and records nothing more.
        log.rotate(&old, &new, None).unwrap();
        assert_eq!(key_records(&dir.0).len(), 1);
        log.append(&new, br#"{"n":2}"#, None).unwrap();
        drop(log);
        assert_eq!(codes(&dir.0), vec![], "{mode:?} reopen={reopen}");
        assert_eq!(keys_file(&dir.0), key_records(&dir.0)[0].1.keys.to_json());
    }
}

/// keys.jwks with a second key that has no end (an attacker's key added beside the
/// current one) is refused by the writer: a log has one current key.
#[test]
fn a_second_key_in_force_is_refused() {
    let dir = scratch("two-current");
    let (owner, intruder) = (key(1), key(3));
    let log = Log::create(&dir.0, &owner, CreateOptions::default()).unwrap();
    log.append(&owner, b"{}", None).unwrap();
    drop(log);
    let mut keys = KeySet::from_json(&keys_file(&dir.0)).unwrap();
    keys.add(intruder.public_key(), evidentia::Validity::default()).unwrap();
    std::fs::write(dir.0.join("keys.jwks"), keys.to_json()).unwrap();
    assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
}

/// Someone with the files but no key appends a key record handing the log to their
/// own key: stored as the log stores records, chained after the last one, claiming
/// the current key. The writer neither completes it nor seals it.
#[test]
fn a_key_record_written_without_the_key_is_never_taken() {
    for mode in [Mode::Batch, Mode::Receipts] {
        let dir = scratch(&format!("forged-{}", mode.name()));
        let (owner, intruder) = (key(1), key(3));
        let log = Log::create(&dir.0, &owner, CreateOptions { mode, ..CreateOptions::default() }).unwrap();
        log.append(&owner, br#"{"n":1}"#, None).unwrap();
        drop(log);
        let reader = LogReader::open(&dir.0).unwrap();
        let mut entries: Vec<_> = (0..reader.len()).map(|seq| reader.entry(seq).unwrap()).collect();
        let last = entries.last().unwrap().record().unwrap();
        let at = last.time.shifted(std::time::Duration::from_secs(1), false).unwrap().as_numeric_date().unwrap();
        let event = KeyRecord::rotate(reader.keys(), owner.public_key(), intruder.public_key(), at).unwrap().to_event();
        let mut chain = evidentia::ChainState::after(&last);
        let forged =
            chain.append(owner.public_key().kid(), evidentia::Digest::sha256(&event), last.time, None).unwrap();
        entries.push(evidentia_store::Entry::Record { record: forged.bytes, event });
        let copy = scratch(&format!("forged-copy-{}", mode.name()));
        reader.write_copy(&copy.0, &entries).unwrap();
        let before = keys_file(&copy.0);
        match Log::open(&copy.0) {
            Ok(log) => {
                assert!(!log.recovery().completed_key_change, "{mode:?}");
                // In batch mode the owner's next append does not seal it into effect
                // (a receipts-mode log has no seal: the record, of the other mode's
                // kind, stays an unreadable entry verification reports).
                if mode == Mode::Batch {
                    let refused = log.append(&owner, b"{}", None).unwrap_err();
                    assert_eq!(refused.code(), ErrorCode::KeyNotCurrent, "{refused:?}");
                }
                assert_eq!(log.append(&intruder, b"{}", None).unwrap_err().code(), ErrorCode::KeyNotCurrent);
                assert_eq!(log.keys().to_json(), before);
                if mode == Mode::Batch {
                    // Nor does a receipt the owner asks for seal it.
                    let sealed = log.receipt_sealed_by(0, &owner).unwrap_err();
                    assert_eq!(sealed.code(), ErrorCode::KeyNotCurrent, "{sealed:?}");
                    // Asking for the same rotation does not take a record dated as the
                    // writer would not date it (here: its instant a second after it).
                    assert_eq!(log.rotate(&owner, &intruder, None).unwrap_err().code(), ErrorCode::KeyNotCurrent);
                    // Another change is refused while it is there.
                    let other = log.rotate(&owner, &key(4), None).unwrap_err();
                    assert_eq!(other.code(), ErrorCode::InvalidArgument, "{other:?}");
                }
            }
            Err(e) => assert_eq!(e.code(), ErrorCode::LogCorrupt, "{mode:?}"),
        }
        assert_eq!(keys_file(&copy.0), before, "{mode:?}");
        assert!(!verify_dir(&copy.0, None, |_| {}).unwrap().is_valid());
    }
}

/// keys.jwks edited before the log's first key change: a key added with an expiry
/// far ahead (so that it is not a second current key) would be signed into the
/// history by the owner's next rotation. The writer refuses such a key set, and
/// verification refuses such a key record.
#[test]
fn a_key_added_with_an_expiry_is_not_laundered() {
    let dir = scratch("launder");
    let (owner, intruder) = (key(1), key(3));
    let log = Log::create(&dir.0, &owner, CreateOptions::default()).unwrap();
    log.append(&owner, b"{}", None).unwrap();
    drop(log);
    let honest = keys_file(&dir.0);
    let mut keys = KeySet::from_json(&honest).unwrap();
    let validity = evidentia::Validity {
        not_before: Some(Timestamp::parse("2020-01-01T00:00:00Z").unwrap()),
        expires: Some(Timestamp::parse("2099-01-01T00:00:00Z").unwrap()),
        ..evidentia::Validity::default()
    };
    keys.add(intruder.public_key(), validity).unwrap();
    std::fs::write(dir.0.join("keys.jwks"), keys.to_json()).unwrap();
    assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogCorrupt);
    // A key set of one current key and a key that cannot sign ES256 (an RSA
    // encryption key) is one the log may have.
    let mut with_rsa = evidentia::json::parse(honest.as_bytes()).unwrap();
    if let evidentia::Value::Object(members) = &mut with_rsa
        && let Some((_, evidentia::Value::Array(entries))) = members.iter_mut().find(|(name, _)| name == "keys")
    {
        entries.push(evidentia::json::parse(br#"{"kty":"RSA","n":"AQAB","e":"AQAB","use":"enc"}"#).unwrap());
    }
    std::fs::write(dir.0.join("keys.jwks"), evidentia::canonicalize_value(&with_rsa).unwrap()).unwrap();
    drop(Log::open(&dir.0).unwrap());
}

/// keys.jwks edited to look as if a rotation had happened: asking for that rotation
/// is not taken for one already made, since the log holds no key record of it.
#[test]
fn a_rotation_keys_jwks_only_shows_is_not_taken_as_made() {
    let dir = scratch("not-made");
    let (old, new) = (key(1), key(2));
    let log = Log::create(&dir.0, &old, CreateOptions::default()).unwrap();
    log.append(&old, b"{}", None).unwrap();
    drop(log);
    let mut keys = KeySet::from_json(&keys_file(&dir.0)).unwrap();
    let at = Timestamp::from_system_time(std::time::SystemTime::now()).unwrap().as_numeric_date().unwrap();
    let validity = keys.entries()[0].validity().clone();
    keys.set_validity(old.public_key().kid(), evidentia::Validity { expires: Some(at), ..validity }).unwrap();
    keys.add(new.public_key(), evidentia::Validity { not_before: Some(at), ..evidentia::Validity::default() }).unwrap();
    std::fs::write(dir.0.join("keys.jwks"), keys.to_json()).unwrap();
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.rotate(&old, &new, None).unwrap_err().code(), ErrorCode::KeyNotCurrent);
}

/// A rotation under a clock far ahead (doubles are microseconds apart there) ends,
/// and its instant follows the record.
#[test]
fn a_rotation_far_in_the_future_ends() {
    let dir = scratch("far-future");
    let (old, new) = (key(1), key(2));
    let clock = Some(Timestamp::parse("2600-01-01T00:00:00Z").unwrap());
    let created = CreateOptions { key_valid_from: clock, ..CreateOptions::default() };
    drop(Log::create(&dir.0, &old, created).unwrap());
    let log = Log::open_with(&dir.0, &LogOptions { clock, ..LogOptions::default() }).unwrap();
    log.append(&old, b"{}", None).unwrap();
    log.rotate(&old, &new, None).unwrap();
    log.append(&new, b"{}", None).unwrap();
    drop(log);
    assert_eq!(codes(&dir.0), vec![]);
}

/// After a rotation fails past its key record, asking for a rotation to another key
/// neither makes that one nor completes the first behind the caller's back.
#[test]
fn another_rotation_while_one_is_pending_is_refused() {
    let dir = scratch("pending-other");
    let (old, new, other) = (Flaky::new(key(1)), key(2), key(4));
    let log = Log::create(&dir.0, &old, CreateOptions { mode: Mode::Batch, ..CreateOptions::default() }).unwrap();
    log.append(&old, b"{}", None).unwrap();
    old.budget.set(Some(0));
    assert_eq!(log.rotate(&old, &new, None).unwrap_err().code(), ErrorCode::RecordsUnsealed);
    old.failing.set(false);
    old.budget.set(None);
    let refused = log.rotate(&old, &other, None).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains(new.public_key().kid()), "{refused:?}");
    assert!(log.keys().select(Some(other.public_key().kid())).is_err());
    log.rotate(&old, &new, None).unwrap();
    drop(log);
    assert_eq!(codes(&dir.0), vec![]);
}

#[test]
fn a_package_carries_at_most_99_key_records_and_says_so() {
    let s = scratch("many-key-records");
    let log = Log::create(&s.0, &key(1), CreateOptions::default()).unwrap();
    log.append(&key(1), br#"{"n":0}"#, None).unwrap();
    for n in 1..=100 {
        log.rotate(&key(n), &key(n + 1), None).unwrap();
    }
    log.checkpoint(&key(101)).unwrap();
    let e = evidentia_store::export_package(&s.0, 0, &s.0.join("of-0")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.message().contains("more than 99 key records follow record 0"), "{e}");
    assert!(!s.0.join("of-0").exists());
    // Record 1, the first key record, is followed by 99.
    let archive = evidentia_store::export_package(&s.0, 1, &s.0.join("of-1")).unwrap();
    let files = evidentia_store::read_package(&archive).unwrap();
    assert!(evidentia::package::verify_package(&files).iter().all(|c| c.failure.is_none()));
    assert!(files.iter().any(|f| f.name.starts_with("key-record-99")));
}

#[test]
fn a_package_is_not_made_from_a_log_whose_key_history_was_cut_back() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let s = scratch(&format!("cut-back-{mode:?}"));
        let (old, new, _) = rotated_and_revoked(&s.0, mode);
        Log::open(&s.0).unwrap().checkpoint(&new).unwrap();
        // keys.jwks edited back to the first key alone, as if never rotated.
        std::fs::write(s.0.join("keys.jwks"), KeySet::single(old.public_key()).to_json()).unwrap();
        let e = evidentia_store::export_package(&s.0, 0, &s.0.join("of-0")).unwrap_err();
        // Receipts: the rotation's next key signs a receipt the cut key set cannot
        // check. Batch: the key records found name a key it does not hold.
        let (code, says) = match mode {
            Mode::Receipts => (ErrorCode::LogCorrupt, "record 2 breaks the log's hash chain (its receipt's signature"),
            Mode::Batch => (ErrorCode::KeyNotFound, "no key with kid"),
        };
        assert_eq!(e.code(), code, "{mode:?}: {e}");
        assert!(e.message().contains(says), "{mode:?}: {e}");
        assert!(!s.0.join("of-0").exists());
    }
}
