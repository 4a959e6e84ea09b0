//! Finding records by indexed payload fields (and by nonce): the field index is
//! used, kept up to date by every append path, rebuilt when it is lost or damaged,
//! and its results are exact.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use evidentia::{ErrorCode, SigningKey};
use evidentia_store::{AppendOptions, CreateOptions, Log, LogReader, Mode, NewEvent};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("evidentia-lookup-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Scratch(dir)
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[3; 32]).unwrap()
}

fn create(dir: &Scratch, mode: Mode, fields: &[&str]) -> Log {
    let options = CreateOptions {
        log_id: Some("test.example/lookup".into()),
        mode,
        index_fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        ..CreateOptions::default()
    };
    Log::create(&dir.0, &key(), options).unwrap()
}

/// Request and response share an instruction id; `amount` is a number.
fn event(i: usize) -> Vec<u8> {
    let kind = ["request", "response"][i % 2];
    format!(r#"{{"instruction_id":"INS-{}","kind":"{kind}","amount":{}}}"#, i / 2, 100 + i % 7).into_bytes()
}

fn append(log: &Log, from: usize, n: usize) {
    let events: Vec<Vec<u8>> = (from..from + n).map(event).collect();
    let batch: Vec<NewEvent<'_>> = events.iter().map(|e| NewEvent { json: e, nonce: None }).collect();
    log.append_batch(&key(), &batch, None).unwrap();
}

/// What a scan finds: the truth the index must agree with.
fn expected(n: usize, field: &str, value: &str) -> Vec<u64> {
    (0..n)
        .filter(|i| {
            let event = evidentia::canonicalize(&event(*i)).unwrap();
            evidentia::lookup_terms(&event, &[field.to_owned()]).iter().any(|(_, v)| v == value)
        })
        .map(|i| i as u64)
        .collect()
}

fn check(dir: &Scratch, n: usize) {
    let reader = LogReader::open(&dir.0).unwrap();
    let indexed = reader.index_fields().to_vec();
    for (field, value) in [
        ("instruction_id", "INS-0"),
        ("instruction_id", format!("INS-{}", n / 4).as_str()),
        ("instruction_id", "INS-none"),
        ("kind", "response"),
        ("amount", "103"),
    ] {
        if indexed.iter().any(|f| f == field) {
            assert_eq!(reader.find(field, value).unwrap(), expected(n, field, value), "{field}={value}");
        }
    }
}

#[test]
fn records_are_found_by_field_in_both_modes_through_every_append_path() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("modes-{}", mode.name()));
        let log = create(&dir, mode, &["instruction_id", "kind", "amount"]);
        // One at a time, in a batch, through append_events and append_valid_prefix.
        for i in 0..5 {
            log.append(&key(), &event(i), Some(&format!("nonce-{i}"))).unwrap();
        }
        append(&log, 5, 40);
        let more: Vec<Vec<u8>> = (45..50).map(event).collect();
        let batch: Vec<NewEvent<'_>> = more.iter().map(|e| NewEvent { json: e, nonce: None }).collect();
        log.append_events(&key(), &batch, &AppendOptions::default()).unwrap();
        let rest: Vec<Vec<u8>> = (50..60).map(event).collect();
        let batch: Vec<NewEvent<'_>> = rest.iter().map(|e| NewEvent { json: e, nonce: None }).collect();
        assert_eq!(log.append_valid_prefix(&key(), &batch, None).unwrap().appended.len(), 10);
        // From the open log and from a reader.
        assert_eq!(log.find("instruction_id", "INS-3").unwrap(), vec![6, 7]);
        assert_eq!(log.find("instruction_id", "INS-29").unwrap(), vec![58, 59]);
        check(&dir, 60);
        assert_eq!(log.find_nonce("nonce-4").unwrap(), Some(4));
        drop(log);
        check(&dir, 60);
        let reader = LogReader::open(&dir.0).unwrap();
        assert_eq!(reader.find_nonce("nonce-2").unwrap(), Some(2));
        assert_eq!(reader.index_fields(), ["instruction_id", "kind", "amount"]);
        let error = reader.find("payment_id", "x").unwrap_err();
        assert_eq!(error.code(), ErrorCode::FieldNotIndexed);
        assert!(dir.0.join("fields").is_file());
    }
}

#[test]
fn many_records_sharing_a_value_are_all_found_across_growth() {
    let dir = scratch("many");
    let log = create(&dir, Mode::Batch, &["kind", "instruction_id"]);
    append(&log, 0, 3000);
    append(&log, 3000, 1000);
    let found = log.find("kind", "request").unwrap();
    assert_eq!(found.len(), 2000);
    assert!(found.windows(2).all(|w| w[0] < w[1]));
    drop(log);
    check(&dir, 4000);
}

#[test]
fn a_log_without_fields_indexes_none_and_old_logs_open_as_before() {
    let dir = scratch("none");
    let log = create(&dir, Mode::Batch, &[]);
    append(&log, 0, 4);
    assert_eq!(log.find("instruction_id", "INS-0").unwrap_err().code(), ErrorCode::FieldNotIndexed);
    drop(log);
    assert!(!dir.0.join("fields").exists());
    let config = std::fs::read_to_string(dir.0.join("log.json")).unwrap();
    assert!(!config.contains("index_fields"), "{config}");
}

#[test]
fn a_lost_or_damaged_field_index_is_rebuilt_and_lookups_stay_exact() {
    let dir = scratch("damaged");
    let log = create(&dir, Mode::Batch, &["instruction_id", "kind", "amount"]);
    append(&log, 0, 2000);
    drop(log);
    let path = dir.0.join("fields");
    let original = std::fs::read(&path).unwrap();
    type Damage = fn(&std::path::Path, &[u8]);
    let damages: [(&str, Damage); 5] = [
        ("deleted", |p, _| std::fs::remove_file(p).unwrap()),
        ("truncated", |p, b| std::fs::write(p, &b[..b.len() / 2]).unwrap()),
        ("garbage", |p, b| std::fs::write(p, vec![0x5a; b.len()]).unwrap()),
        ("header only", |p, b| std::fs::write(p, &b[..32]).unwrap()),
        ("slots zeroed", |p, b| {
            // A valid header claiming everything indexed, but no slots: state.json
            // says nothing was flushed, so nothing in it is trusted.
            let mut bytes = b.to_vec();
            bytes[32..].fill(0);
            std::fs::write(p, bytes).unwrap();
            std::fs::remove_file(p.with_file_name("state.json")).unwrap();
        }),
    ];
    for (what, damage) in damages {
        damage(&path, &original);
        // A reader does without an index it cannot use (it reads the records), and
        // is still exact. (One that looks whole, as the zeroed one does, it trusts
        // as far as its header says, as it trusts the nonce index.)
        if what != "slots zeroed" {
            check(&dir, 2000);
        }
        // A writer rebuilds it.
        let log = Log::open(&dir.0).unwrap();
        assert!(log.recovery().reindexed_field_records > 0, "{what}: {:?}", log.recovery());
        assert_eq!(log.find("instruction_id", "INS-17").unwrap(), vec![34, 35], "{what}");
        drop(log);
        check(&dir, 2000);
    }
}

#[test]
fn a_reader_finds_records_appended_after_the_index_lags() {
    let dir = scratch("lag");
    let log = create(&dir, Mode::Receipts, &["instruction_id"]);
    append(&log, 0, 20);
    drop(log);
    // The index's header claims fewer records (as after a crash): the rest are read.
    let path = dir.0.join("fields");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20..28].copy_from_slice(&10u64.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(LogReader::open(&dir.0).unwrap().find("instruction_id", "INS-7").unwrap(), vec![14, 15]);
    check_open(&dir);
}

fn check_open(dir: &Scratch) {
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.find("instruction_id", "INS-7").unwrap(), vec![14, 15]);
}

#[test]
fn a_field_added_to_an_existing_log_finds_earlier_and_later_records() {
    let dir = scratch("added");
    let log = create(&dir, Mode::Batch, &["kind"]);
    append(&log, 0, 100);
    assert_eq!(log.find("instruction_id", "INS-1").unwrap_err().code(), ErrorCode::FieldNotIndexed);
    log.add_index_field("instruction_id").unwrap();
    assert_eq!(log.index_fields(), ["kind", "instruction_id"]);
    assert_eq!(log.find("instruction_id", "INS-1").unwrap(), vec![2, 3]);
    append(&log, 100, 10);
    assert_eq!(log.find("instruction_id", "INS-52").unwrap(), vec![104, 105]);
    assert_eq!(log.find("kind", "request").unwrap().len(), 55);
    // Twice, or a bad name: refused, nothing changed.
    for bad in ["instruction_id", "", "tab\there", "é", &"x".repeat(65)] {
        assert_eq!(log.add_index_field(bad).unwrap_err().code(), ErrorCode::InvalidArgument, "{bad:?}");
    }
    for i in 0..14 {
        log.add_index_field(&format!("f{i}")).unwrap();
    }
    assert_eq!(log.add_index_field("one too many").unwrap_err().code(), ErrorCode::InvalidArgument);
    drop(log);
    check(&dir, 110);
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.recovery().reindexed_field_records, 0);
    assert_eq!(log.index_fields().len(), 16);
}

#[test]
fn a_field_list_changed_behind_the_logs_back_rebuilds_the_index() {
    let dir = scratch("edited");
    let log = create(&dir, Mode::Batch, &["kind"]);
    append(&log, 0, 30);
    drop(log);
    // Someone names another field in log.json by hand: the index's tag no longer
    // matches, so the index is not used, and a writer rebuilds it.
    let path = dir.0.join("log.json");
    let config = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, config.replace(r#""index_fields":["kind"]"#, r#""index_fields":["instruction_id"]"#))
        .unwrap();
    assert_eq!(LogReader::open(&dir.0).unwrap().find("instruction_id", "INS-4").unwrap(), vec![8, 9]);
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.recovery().reindexed_field_records, 30);
    assert_eq!(log.find("instruction_id", "INS-4").unwrap(), vec![8, 9]);
}

#[test]
fn signed_messages_are_found_by_their_payload() {
    let dir = scratch("signed");
    let log = create(&dir, Mode::Batch, &["instruction_id"]);
    let partner = SigningKey::from_bytes(&[8; 32]).unwrap();
    let jws =
        evidentia::sign_jws(&partner, br#"{"instruction_id":"INS-M"}"#, evidentia::JwsOptions::default()).unwrap();
    let keys = evidentia::PartnerKeys::from_json(&partner.public_jwk()).unwrap();
    let provenance = evidentia::json::parse(br#"{"partner_id":"BANK-042"}"#).unwrap();
    let message = evidentia::SignedMessage::verify_new(&evidentia::NewMessage {
        jws: &jws,
        detached_payload: None,
        keys: &keys,
        provenance: &provenance,
        direction: evidentia::Direction::Inbound,
        link: None,
        record_failure: false,
        at: evidentia::Timestamp::parse("2026-03-01T10:00:00Z").unwrap(),
    })
    .unwrap();
    log.record_message(&key(), &message, None, &AppendOptions::default()).unwrap();
    log.append(&key(), br#"{"instruction_id":"INS-M"}"#, None).unwrap();
    assert_eq!(log.find("instruction_id", "INS-M").unwrap(), vec![0, 1]);
}

#[test]
fn hostile_index_fields_in_log_json_are_refused() {
    let dir = scratch("hostile");
    drop(create(&dir, Mode::Batch, &["kind"]));
    let path = dir.0.join("log.json");
    let config = std::fs::read_to_string(&path).unwrap();
    let many: Vec<String> = (0..17).map(|i| format!("\"f{i}\"")).collect();
    let long = format!("[\"{}\"]", "x".repeat(65));
    for bad in [
        "\"kind\"",
        "[1]",
        "[\"\"]",
        "[\"a\",\"a\"]",
        "[\"\\u0007\"]",
        "{}",
        "null",
        &long,
        &format!("[{}]", many.join(",")),
    ] {
        std::fs::write(&path, config.replace(r#"["kind"]"#, bad)).unwrap();
        assert_eq!(Log::open(&dir.0).unwrap_err().code(), ErrorCode::LogConfigInvalid, "{bad}");
        assert_eq!(LogReader::open(&dir.0).unwrap_err().code(), ErrorCode::LogConfigInvalid, "{bad}");
    }
    std::fs::write(&path, config.replace(r#","index_fields":["kind"]"#, "")).unwrap();
    assert!(Log::open(&dir.0).unwrap().index_fields().is_empty());
}

#[test]
fn bad_fields_are_refused_when_a_log_is_created() {
    for fields in [vec![""], vec!["a", "a"], vec!["new\nline"]] {
        let dir = scratch("create-bad");
        let options = CreateOptions {
            index_fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            ..CreateOptions::default()
        };
        assert_eq!(Log::create(&dir.0, &key(), options).unwrap_err().code(), ErrorCode::InvalidArgument);
        assert!(!dir.0.join("log.json").exists());
    }
    let dir = scratch("create-many");
    let options =
        CreateOptions { index_fields: (0..17).map(|i| format!("f{i}")).collect(), ..CreateOptions::default() };
    assert_eq!(Log::create(&dir.0, &key(), options).unwrap_err().code(), ErrorCode::InvalidArgument);
}

/// Every (field, value) the stored events hold, with the records holding it: the
/// truth, read from the records themselves.
fn truth(reader: &LogReader) -> std::collections::BTreeMap<(String, String), Vec<u64>> {
    let fields = reader.index_fields().to_vec();
    let mut truth = std::collections::BTreeMap::<(String, String), Vec<u64>>::new();
    for seq in 0..reader.len() {
        let entry = reader.entry(seq).unwrap();
        for (position, value) in evidentia::lookup_terms(entry.event(), &fields) {
            truth.entry((fields[position].clone(), value)).or_default().push(seq);
        }
    }
    truth
}

/// Creates a log indexing a field, appends (one at a time and in batches), adds a
/// field and appends again, through `faults`; every error is ignored.
fn fault_workload(dir: &Scratch, faults: &std::sync::Arc<evidentia_store::Faults>) {
    let options = CreateOptions {
        log_id: Some("test.example/lookup".into()),
        mode: Mode::Batch,
        index_fields: vec!["instruction_id".into()],
        options: evidentia_store::LogOptions { faults: Some(faults.clone()), ..Default::default() },
        ..CreateOptions::default()
    };
    let Ok(log) = Log::create(&dir.0, &key(), options) else { return };
    let batch = |from: usize, n: usize| {
        let events: Vec<Vec<u8>> = (from..from + n).map(event).collect();
        let batch: Vec<NewEvent<'_>> = events.iter().map(|e| NewEvent { json: e, nonce: None }).collect();
        let _ = log.append_batch(&key(), &batch, None);
    };
    let _ = log.append(&key(), &event(0), Some("req-0"));
    batch(1, 9);
    let _ = log.add_index_field("kind");
    batch(10, 6);
    let _ = log.append(&key(), &event(16), Some("req-16"));
}

/// After any one file operation fails, and after a power cut that keeps some of
/// what was not flushed, the log opens and lookups by field find exactly the
/// records that hold the value.
#[test]
fn lookups_stay_exact_after_any_failed_operation_and_power_cuts() {
    use evidentia_store::{FaultError, Faults};
    use std::sync::Arc;
    let counting = Arc::new(Faults::new());
    let dir = scratch("faults-count");
    fault_workload(&dir, &counting);
    let total = counting.operations();
    assert!(total > 20, "{total}");
    let mut postings_failed = false;
    for n in 1..=total {
        for power_cut in [false, true] {
            let dir = scratch(&format!("faults-{n}-{power_cut}"));
            let faults = Arc::new(Faults::new());
            if power_cut {
                faults.record_unflushed();
            }
            faults.fail_operation(n, if n % 2 == 0 { FaultError::Io } else { FaultError::NoSpace });
            fault_workload(&dir, &faults);
            postings_failed |= faults.injected().is_some_and(|op| op.contains("fields.postings"));
            if power_cut {
                faults.power_cut_keeping_some(n).unwrap();
            }
            if !dir.0.join("log.json").exists() {
                continue;
            }
            let what = format!("operation {n} failed{}", if power_cut { ", then a power cut" } else { "" });
            let log = Log::open(&dir.0).unwrap_or_else(|e| panic!("{what}: {e}"));
            let reader = LogReader::open(&dir.0).unwrap();
            let truth = truth(&reader);
            for ((field, value), seqs) in &truth {
                assert_eq!(&log.find(field, value).unwrap(), seqs, "{what}: {field}={value}");
                assert_eq!(&reader.find(field, value).unwrap(), seqs, "{what}: {field}={value}");
            }
            assert!(log.find("instruction_id", "INS-absent").unwrap().is_empty());
            drop(log);
            // And after the writer closed it, from a new reader.
            let reader = LogReader::open(&dir.0).unwrap();
            for ((field, value), seqs) in &truth {
                assert_eq!(&reader.find(field, value).unwrap(), seqs, "{what}, reopened: {field}={value}");
            }
        }
    }
    assert!(postings_failed, "no operation on fields.postings was failed");
}

/// Thousands of records sharing one value (a currency, say), appended one at a
/// time and in batches: all are found, in order, and the index is exact after
/// reopening. (The slot reads per append are counted in the store's unit tests.)
#[test]
fn thousands_of_records_sharing_a_value_are_appended_and_found() {
    let dir = scratch("shared");
    let log = create(&dir, Mode::Batch, &["c", "i"]);
    let shared = |from: usize, n: usize| -> Vec<Vec<u8>> {
        (from..from + n).map(|i| format!(r#"{{"c":"EUR","i":{i}}}"#).into_bytes()).collect()
    };
    for from in (0..5000).step_by(500) {
        let events = shared(from, 500);
        let batch: Vec<NewEvent<'_>> = events.iter().map(|e| NewEvent { json: e, nonce: None }).collect();
        log.append_batch(&key(), &batch, None).unwrap();
    }
    for i in 5000..5020 {
        log.append(&key(), &shared(i, 1)[0], None).unwrap();
    }
    assert_eq!(log.find("c", "EUR").unwrap(), (0..5020).collect::<Vec<u64>>());
    assert_eq!(log.find("i", "4321").unwrap(), [4321]);
    assert!(log.find("c", "USD").unwrap().is_empty());
    drop(log);
    let log = Log::open(&dir.0).unwrap();
    assert_eq!(log.recovery().reindexed_field_records, 0);
    drop(log);
    let reader = LogReader::open(&dir.0).unwrap();
    assert_eq!(reader.find("c", "EUR").unwrap().len(), 5020);
    assert_eq!(reader.find("i", "5019").unwrap(), [5019]);
}

/// The postings damaged, or a field index of the earlier format (a slot per
/// record): lookups stay exact (a reader reads the records where the index cannot
/// be used) and a writer builds the index anew.
#[test]
fn damaged_postings_or_an_old_format_index_are_rebuilt_and_lookups_stay_exact() {
    let dir = scratch("postings");
    let log = create(&dir, Mode::Batch, &["instruction_id", "kind"]);
    append(&log, 0, 600);
    drop(log);
    let (fields, postings) = (dir.0.join("fields"), dir.0.join("fields.postings"));
    let (table, original) = (std::fs::read(&fields).unwrap(), std::fs::read(&postings).unwrap());
    let posting = |n: usize| 24 + 16 * n;
    for what in ["postings deleted", "postings cut", "postings cut and their count too", "version 1 table"] {
        std::fs::write(&fields, &table).unwrap();
        std::fs::write(&postings, &original).unwrap();
        match what {
            "postings deleted" => std::fs::remove_file(&postings).unwrap(),
            "postings cut" => std::fs::write(&postings, &original[..posting(100)]).unwrap(),
            "postings cut and their count too" => {
                let mut bytes = original[..posting(100)].to_vec();
                bytes[16..24].copy_from_slice(&100u64.to_le_bytes());
                std::fs::write(&postings, bytes).unwrap();
            }
            _ => {
                let mut bytes = table.clone();
                bytes[4..8].copy_from_slice(&1u32.to_le_bytes());
                std::fs::write(&fields, bytes).unwrap();
            }
        }
        check(&dir, 600);
        let log = Log::open(&dir.0).unwrap();
        assert_eq!(log.recovery().reindexed_field_records, 600, "{what}");
        assert_eq!(log.find("kind", "request").unwrap().len(), 300, "{what}");
        drop(log);
        check(&dir, 600);
        assert_eq!(std::fs::read(&postings).unwrap(), original, "{what}");
    }
    // A chain that points forward, or whose records do not descend: lookups read
    // the records, and the writer's first lookup builds the index anew.
    for (what, at, value) in [("forward", 8, u64::MAX), ("not descending", 0, 599 + 1)] {
        std::fs::write(&fields, &table).unwrap();
        let mut bytes = original.clone();
        // The second posting: record 0's kind (its first is its instruction id).
        bytes[posting(1) + at..posting(1) + at + 8].copy_from_slice(&value.to_le_bytes());
        // And every posting of record 2 ("request" again) names it.
        std::fs::write(&postings, &bytes).unwrap();
        check(&dir, 600);
        let log = Log::open(&dir.0).unwrap();
        assert_eq!(log.find("kind", "request").unwrap(), expected(600, "kind", "request"), "{what}");
        assert_eq!(std::fs::read(&postings).unwrap(), original, "{what}");
        drop(log);
        check(&dir, 600);
    }
}
