//! Criterion benchmarks of the on-disk log: `cargo bench -p evidentia-store`.
//!
//! - durable batched appends (batches of 1,000 events, one fsync and one signed
//!   checkpoint each);
//! - inclusion proofs and batch receipts from a 1,000,000-entry log, from a reader's
//!   snapshot and from the open log (what the bindings serve them from);
//! - full verification of that 1,000,000-event batch-signed log.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use evidentia::SigningKey;
use evidentia_store::{CreateOptions, Log, LogReader, Mode, NewEvent};

const BATCH: usize = 1000;
const LARGE: usize = 1_000_000;

fn events(from: usize, n: usize) -> Vec<Vec<u8>> {
    (from..from + n)
        .map(|i| {
            format!(
                r#"{{"type":"payment.approved","payment_id":"PAY-{i:08}","amount":{{"value":"{}.{:02}","currency":"EUR"}},"approved_by":"officer-{}"}}"#,
                i % 99_991,
                i % 100,
                i % 40
            )
            .into_bytes()
        })
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("evidentia-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn new_log(dir: &Path, key: &SigningKey) -> Log {
    let options =
        CreateOptions { log_id: Some("bench.example/log".into()), mode: Mode::Batch, ..CreateOptions::default() };
    Log::create(dir, key, options).expect("create")
}

fn append(log: &Log, key: &SigningKey, events: &[Vec<u8>]) {
    let batch: Vec<NewEvent<'_>> = events.iter().map(|e| NewEvent { json: e, nonce: None }).collect();
    log.append_batch(key, &batch, None).expect("append");
}

fn appends(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[5u8; 32]).expect("key");
    let dir = scratch("append");
    let log = new_log(&dir, &key);
    let batch = events(0, BATCH);
    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("append_batch of 1000 (durable, batch mode)", |b| {
        b.iter(|| append(&log, &key, black_box(&batch)))
    });
    group.finish();
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

fn large_log(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[6u8; 32]).expect("key");
    let dir = scratch("large");
    let log = new_log(&dir, &key);
    for from in (0..LARGE).step_by(BATCH) {
        append(&log, &key, &events(from, BATCH));
    }
    drop(log);
    let reader = LogReader::open(&dir).expect("open");
    assert_eq!(reader.len(), LARGE as u64);

    let mut group = c.benchmark_group("store 1M");
    let mut i: u64 = 0;
    let mut next = || {
        i = (i + 7_919) % LARGE as u64;
        i
    };
    group.bench_function("inclusion proof", |b| {
        b.iter(|| reader.inclusion_proof(black_box(next()), None).expect("proof"))
    });
    group.bench_function("batch receipt", |b| b.iter(|| reader.receipt(black_box(next())).expect("receipt")));
    let log = Log::open(&dir).expect("open for writing");
    group.bench_function("inclusion proof from the open log", |b| {
        b.iter(|| log.inclusion_proof(black_box(next()), None).expect("proof"))
    });
    group.bench_function("batch receipt from the open log", |b| {
        b.iter(|| log.receipt(black_box(next())).expect("receipt"))
    });
    drop(log);
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(LARGE as u64));
    group.bench_function("verify the whole batch-signed log", |b| {
        b.iter(|| {
            let report = reader.verify(None, |_| {}).expect("readable");
            assert!(report.is_valid());
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Receipts and inclusion proofs from an open log made elsewhere (by `cargo xtask
/// bench log`, whose other languages read the same log): EVIDENTIA_BENCH_LOG names
/// the log directory, EVIDENTIA_BENCH_OP the group (`log_reads_batch` or
/// `log_reads_receipts`).
fn log_reads(c: &mut Criterion) {
    let (Ok(dir), Ok(group)) = (std::env::var("EVIDENTIA_BENCH_LOG"), std::env::var("EVIDENTIA_BENCH_GROUP")) else {
        return;
    };
    let log = Log::open(Path::new(&dir)).expect("open the log");
    let size = log.len();
    let mut i: u64 = 0;
    let mut next = || {
        i = (i + 7_919) % size;
        i
    };
    let mut group = c.benchmark_group(group);
    group.bench_function("log_receipt", |b| b.iter(|| log.receipt(black_box(next())).expect("receipt")));
    group.bench_function("log_inclusion_proof", |b| {
        b.iter(|| log.inclusion_proof(black_box(next()), None).expect("proof"))
    });
    group.finish();
}

criterion_group!(benches, appends, large_log, log_reads);
criterion_main!(benches);
