//! A log shared by writer processes in PostgreSQL against the local store, side by
//! side in one run (`cargo xtask bench postgres`, which starts a throwaway
//! PostgreSQL 15 cluster with fsync on and names it in EVIDENTIA_BENCH_POSTGRES, a
//! URL ending in `/`):
//! - events appended per second by 1, 4 and 16 writer processes (this program run
//!   again as `--writer`), each on its own connection, in receipts mode (one
//!   transaction and one signature per event) and in batch mode (groups of 1,000,
//!   one checkpoint each), against one writer of a local log in the same mode;
//! - the median time of an inclusion proof from a 1,000,000-record PostgreSQL log,
//!   read by an open `PgLog`;
//! - publishing a 1,000,000-record local log as C2SP tlog-tiles.
//!
//! Each throughput figure is the median of three runs; all are printed as one table,
//! and each as a line of JSON, `{"workload":…,"median_ns":…}` (nanoseconds per event
//! appended, per proof, or for the whole publication), which `cargo xtask bench
//! compare` reads.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use evidentia::SigningKey;
use evidentia_store::pg::{PgCreateOptions, PgLog};
use evidentia_store::{AppendOptions, CreateOptions, Log, Mode, NewEvent};

const RECEIPT_EVENTS: u64 = 4_000;
const BATCH_EVENTS: u64 = 400_000;
const GROUP: u64 = 1_000;
const PROOF_RECORDS: u64 = 1_000_000;
const RUNS: usize = 3;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32]).unwrap()
}

fn event(writer: u64, i: u64) -> Vec<u8> {
    format!(
        r#"{{"type":"payment.instruction","instruction_id":"INS-{writer:02}-{i:08}","amount":"{}.{:02}","currency":"EUR"}}"#,
        i % 99_991,
        i % 100
    )
    .into_bytes()
}

fn epoch_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

/// Appends `count` events as writer `id`, from the moment `start` (ms since the
/// epoch, so that every writer has connected first), and prints when it began and
/// ended.
fn writer(url: &str, id: u64, count: u64, mode: Mode, start: u128) {
    let (log, key) = (PgLog::open(url).unwrap(), key());
    while epoch_ms() < start {
        std::thread::sleep(Duration::from_millis(1));
    }
    let began = epoch_ms();
    append_all(count, mode, id, |events| {
        let batch: Vec<NewEvent<'_>> = events.iter().map(|json| NewEvent { json, nonce: None }).collect();
        log.append_events(&key, &batch, AppendOptions::default()).unwrap();
    });
    println!("{began} {}", epoch_ms());
}

/// Appends `count` events through `append`: one per call in receipts mode, groups
/// of [`GROUP`] in batch mode.
fn append_all(count: u64, mode: Mode, id: u64, mut append: impl FnMut(&[Vec<u8>])) {
    let group = if mode == Mode::Batch { GROUP } else { 1 };
    for from in (0..count).step_by(group as usize) {
        let events: Vec<Vec<u8>> = (from..(from + group).min(count)).map(|i| event(id, i)).collect();
        append(&events);
    }
}

/// A new, empty database `name`, and its URL.
fn database(server: &str, name: &str) -> String {
    let mut admin = postgres::Client::connect(&format!("{server}postgres"), postgres::NoTls).unwrap();
    // Two statements: PostgreSQL runs neither inside a transaction, as one string would be.
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    format!("{server}{name}")
}

/// Events per second of `writers` processes appending `total` events to a new log.
fn pg_rate(server: &str, mode: Mode, writers: u64, total: u64) -> f64 {
    let url = database(server, &format!("bench_{}_{writers}", mode.name()));
    let options = PgCreateOptions {
        log_id: Some("bench.evidentia.dev/pg".into()),
        mode,
        key_valid_from: None,
        record_version: None,
    };
    drop(PgLog::create(&url, &key(), options).unwrap());
    let start = epoch_ms() + 300 + 20 * u128::from(writers);
    let children: Vec<_> = (0..writers)
        .map(|id| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--writer", &url, &id.to_string(), &(total / writers).to_string(), mode.name()])
                .arg(start.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let (mut first, mut last) = (u128::MAX, 0);
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a writer failed");
        let text = String::from_utf8(out.stdout).unwrap();
        let (began, ended) = text.trim().split_once(' ').unwrap();
        first = first.min(began.parse().unwrap());
        last = last.max(ended.parse().unwrap());
    }
    let log = PgLog::open(&url).unwrap();
    assert_eq!(log.len().unwrap(), total / writers * writers, "every acknowledged event is in the log");
    (total / writers * writers) as f64 / ((last - first) as f64 / 1000.0)
}

/// Events per second of one writer appending `total` events to a new local log.
fn local_rate(dir: &Path, mode: Mode, total: u64) -> f64 {
    let _ = std::fs::remove_dir_all(dir);
    let options = CreateOptions { mode, ..CreateOptions::default() };
    let (log, key) = (Log::create(dir, &key(), options).unwrap(), key());
    let started = Instant::now();
    append_all(total, mode, 0, |events| {
        let batch: Vec<NewEvent<'_>> = events.iter().map(|json| NewEvent { json, nonce: None }).collect();
        log.append_batch(&key, &batch, None).unwrap();
    });
    total as f64 / started.elapsed().as_secs_f64()
}

/// A figure as the line of JSON the comparison reads.
fn report(workload: &str, ns: f64) {
    println!("{{\"workload\":\"{workload}\",\"median_ns\":{ns:.0}}}");
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().is_some_and(|a| a == "--writer") {
        let mode = Mode::from_name(&args[4]).unwrap();
        writer(&args[1], args[2].parse().unwrap(), args[3].parse().unwrap(), mode, args[5].parse().unwrap());
        return;
    }
    let Ok(server) = std::env::var("EVIDENTIA_BENCH_POSTGRES") else {
        eprintln!("EVIDENTIA_BENCH_POSTGRES is not set: run `cargo xtask bench postgres`, which starts a server");
        return;
    };
    let scratch = std::env::temp_dir().join(format!("evidentia-bench-pg-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut rows = Vec::new();
    for (mode, total) in [(Mode::Receipts, RECEIPT_EVENTS), (Mode::Batch, BATCH_EVENTS)] {
        let local = median((0..RUNS).map(|_| local_rate(&scratch.join("local"), mode, total)).collect());
        eprintln!("local {}: {local:.0} events/s", mode.name());
        let mut figures = vec![local];
        for writers in [1, 4, 16] {
            let rate = median((0..RUNS).map(|_| pg_rate(&server, mode, writers, total)).collect());
            eprintln!("PostgreSQL {} with {writers} writers: {rate:.0} events/s", mode.name());
            figures.push(rate);
        }
        rows.push((mode, figures));
    }

    // The inclusion proof from a 1,000,000-record log in PostgreSQL, and publishing
    // a 1,000,000-record local log as tiles.
    let url = database(&server, "bench_proof");
    let options = PgCreateOptions {
        log_id: Some("bench.evidentia.dev/proof".into()),
        mode: Mode::Batch,
        key_valid_from: None,
        record_version: None,
    };
    let log = PgLog::create(&url, &key(), options).unwrap();
    let made = Instant::now();
    append_all(PROOF_RECORDS, Mode::Batch, 0, |events| {
        let batch: Vec<NewEvent<'_>> = events.iter().map(|json| NewEvent { json, nonce: None }).collect();
        log.append_events(&key(), &batch, AppendOptions::default()).unwrap();
    });
    eprintln!("a {PROOF_RECORDS}-record PostgreSQL log made in {:.1} s", made.elapsed().as_secs_f64());
    let proofs: Vec<f64> = (0..2000u64)
        .map(|i| {
            let index = i.wrapping_mul(2_654_435_761) % PROOF_RECORDS;
            let started = Instant::now();
            let proof = log.inclusion_proof(index, None).unwrap();
            assert_eq!(proof.tree_size, PROOF_RECORDS);
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let proof = median(proofs);
    let local = scratch.join("publish-log");
    local_rate(&local, Mode::Batch, PROOF_RECORDS);
    let started = Instant::now();
    let published = evidentia_store::publish(&local, &scratch.join("tiles")).unwrap();
    let publish = started.elapsed().as_secs_f64();
    assert_eq!(published.size, PROOF_RECORDS);
    let _ = std::fs::remove_dir_all(&scratch);

    println!("\nEvents appended per second (median of {RUNS} runs; PostgreSQL with fsync on, writer processes):\n");
    println!("| Mode | Local store, 1 writer | PostgreSQL, 1 writer | 4 writers | 16 writers |");
    println!("|---|---|---|---|---|");
    for (mode, figures) in &rows {
        let cells: Vec<String> = figures
            .iter()
            .enumerate()
            .map(|(i, f)| if i == 0 { format!("{f:.0}") } else { format!("{f:.0} ({:.0}%)", 100.0 * f / figures[0]) })
            .collect();
        println!("| {} | {} |", mode.name(), cells.join(" | "));
    }
    for (mode, figures) in &rows {
        for (where_, rate) in ["local", "pg_1", "pg_4", "pg_16"].iter().zip(figures) {
            report(&format!("append_{}_{where_}", mode.name()), 1e9 / rate);
        }
    }
    report("inclusion_proof_pg_1m", proof * 1e3);
    report("publish_tiles_1m", publish * 1e9);
    println!("\nInclusion proof from a {PROOF_RECORDS}-record PostgreSQL log: median {proof:.0} µs (target 1,000 µs)");
    println!("Publishing a {PROOF_RECORDS}-record log as tlog-tiles: {publish:.2} s (target 10 s)");
}
