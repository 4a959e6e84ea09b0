//! Lookups in a 1,000,000-record log (`cargo xtask bench lookup`, or `cargo bench
//! -p evidentia-store --bench lookup`): the median time of [`LogReader::find`] by
//! an indexed field and of [`LogReader::find_nonce`], from an open reader, for
//! records spread over the log, and of the record's receipt and inclusion proof
//! served by that reader. The log (batch mode, each event with its own
//! `instruction_id` and nonce) is made once and kept in `build/bench/lookup-1m`
//! (a `complete` file marks a finished one); `EVIDENTIA_BENCH_LOOKUP_DIR` puts it
//! elsewhere. Each median is also printed as a line of JSON,
//! `{"workload":…,"median_ns":…,"p99_ns":…}`, which `cargo xtask bench compare` reads.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use evidentia::SigningKey;
use evidentia_store::{CreateOptions, Log, LogReader, Mode, NewEvent};

const RECORDS: usize = 1_000_000;
const BATCH: usize = 1000;
const SAMPLES: usize = 5000;
/// The target: a lookup takes at most this (median).
const TARGET: Duration = Duration::from_millis(1);

fn instruction_id(i: usize) -> String {
    format!("INS-{i:08}")
}

fn nonce(i: usize) -> String {
    format!("req-{i:08}")
}

fn make_log(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let key = SigningKey::from_bytes(&[9u8; 32]).unwrap();
    let options = CreateOptions {
        log_id: Some("bench.evidentia.dev/lookup".into()),
        mode: Mode::Batch,
        index_fields: vec!["instruction_id".into()],
        ..CreateOptions::default()
    };
    let log = Log::create(&dir.join("log"), &key, options).unwrap();
    eprintln!("making a {RECORDS}-record log in {}", dir.display());
    let started = Instant::now();
    for from in (0..RECORDS).step_by(BATCH) {
        let events: Vec<(Vec<u8>, String)> = (from..from + BATCH)
            .map(|i| {
                let event = format!(
                    r#"{{"type":"payment.instruction","instruction_id":"{}","amount":"{}.{:02}","currency":"EUR"}}"#,
                    instruction_id(i),
                    i % 99_991,
                    i % 100
                );
                (event.into_bytes(), nonce(i))
            })
            .collect();
        let batch: Vec<NewEvent<'_>> =
            events.iter().map(|(json, nonce)| NewEvent { json, nonce: Some(nonce.as_str()) }).collect();
        log.append_batch(&key, &batch, None).unwrap();
    }
    drop(log);
    eprintln!("made in {:.1} s", started.elapsed().as_secs_f64());
    std::fs::write(dir.join("complete"), "").unwrap();
}

fn median(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort_unstable();
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing: skip then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = std::env::var_os("EVIDENTIA_BENCH_LOOKUP_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build/bench/lookup-1m"), PathBuf::from);
    if !dir.join("complete").exists() {
        make_log(&dir);
    }
    let reader = LogReader::open(&dir.join("log")).unwrap();
    assert_eq!(reader.len(), RECORDS as u64);
    let spread = |k: usize| (k * 7_919 + 13) % RECORDS;
    let (mut by_field, mut by_nonce, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    let (mut receipts, mut proofs) = (Vec::new(), Vec::new());
    for k in 0..SAMPLES {
        let i = spread(k);
        let id = instruction_id(i);
        let started = Instant::now();
        let found = reader.find("instruction_id", &id).unwrap();
        by_field.push(started.elapsed());
        assert_eq!(found, [i as u64]);
        let n = nonce(i);
        let started = Instant::now();
        let found = reader.find_nonce(&n).unwrap();
        by_nonce.push(started.elapsed());
        assert_eq!(found, Some(i as u64));
        let absent = format!("INS-absent-{k}");
        let started = Instant::now();
        let found = reader.find("instruction_id", &absent).unwrap();
        missing.push(started.elapsed());
        assert!(found.is_empty());
        let started = Instant::now();
        let receipt = reader.receipt(i as u64).unwrap();
        receipts.push(started.elapsed());
        assert!(!receipt.is_empty());
        let started = Instant::now();
        let proof = reader.inclusion_proof(i as u64, None).unwrap();
        proofs.push(started.elapsed());
        assert_eq!(proof.tree_size, RECORDS as u64);
    }
    let mut within = true;
    println!(
        "lookups in a {RECORDS}-record log from an open LogReader ({SAMPLES} lookups each, records spread over the log):"
    );
    for (what, op, times) in [
        ("find by field (instruction_id, one record)", "find_field", by_field),
        ("find by field, no record holds the value", "find_field_absent", missing),
        ("find_nonce", "find_nonce", by_nonce),
    ] {
        let (median, p99) = median(times);
        within &= median <= TARGET;
        println!("  {what}: median {:.1} µs, p99 {:.1} µs", median.as_secs_f64() * 1e6, p99.as_secs_f64() * 1e6);
        println!("{{\"workload\":\"{op}\",\"median_ns\":{},\"p99_ns\":{}}}", median.as_nanos(), p99.as_nanos());
    }
    println!("reads of those records from the same reader:");
    for (what, op, times) in [
        ("the record's receipt", "log_receipt", receipts),
        ("its inclusion proof to the log's size", "log_inclusion_proof", proofs),
    ] {
        let (median, p99) = median(times);
        println!("  {what}: median {:.1} µs, p99 {:.1} µs", median.as_secs_f64() * 1e6, p99.as_secs_f64() * 1e6);
        println!("{{\"workload\":\"{op}\",\"median_ns\":{},\"p99_ns\":{}}}", median.as_nanos(), p99.as_nanos());
    }
    assert!(within, "a median lookup took more than {} ms", TARGET.as_millis());
}
