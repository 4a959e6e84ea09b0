//! Criterion benchmarks of the core: `cargo bench -p evidentia`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use evidentia::{
    ChainState, JwsOptions, KeySet, LogVerifyOptions, SigningKey, Timestamp, canonicalize, issue_receipt, sign_jws,
    verify_jws, verify_log, verify_receipt,
};

/// A payment event of about `size` bytes of pretty-printed JSON.
fn document(size: usize) -> Vec<u8> {
    let mut items = Vec::new();
    let mut i = 0;
    let mut len = 0;
    while len < size {
        let item = format!(
            "  {{\n    \"payment_id\": \"PAY-2026-{i:06}\",\n    \"amount\": {{ \"value\": \"{}.{:02}\", \"currency\": \"EUR\" }},\n    \"rate\": {},\n    \"debtor\": {{ \"name\": \"Zoë Müller\", \"iban\": \"DE89370400440532013000\" }},\n    \"approved\": true,\n    \"tags\": [\"sepa\", \"instant\", null]\n  }}",
            1000 + i * 7,
            i % 100,
            1.0 / (i as f64 + 3.0)
        );
        len += item.len() + 2;
        items.push(item);
        i += 1;
    }
    format!("[\n{}\n]", items.join(",\n")).into_bytes()
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32]).expect("valid scalar")
}

fn time(i: u64) -> Timestamp {
    Timestamp::from_unix(1_800_000_000 + i as i64, 0).expect("in range")
}

fn canonicalization(c: &mut Criterion) {
    let mut group = c.benchmark_group("canonicalize");
    for size in [1024, 64 * 1024] {
        let doc = document(size);
        group.throughput(Throughput::Bytes(doc.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(format!("{}KB", size / 1024)), &doc, |b, doc| {
            b.iter(|| canonicalize(black_box(doc)).expect("valid"))
        });
    }
    group.finish();
}

fn receipts(c: &mut Criterion) {
    let key = key();
    let keys = KeySet::single(key.public_key());
    let event = document(1024);
    let mut group = c.benchmark_group("receipt");
    group.bench_function("issue (1KB event: canonicalize, digest, sign)", |b| {
        let mut chain = ChainState::new("bench.example/log").expect("valid id");
        let mut i = 0;
        b.iter(|| {
            i += 1;
            issue_receipt(&key, &mut chain, black_box(&event), time(i), None).expect("issue")
        })
    });
    let mut chain = ChainState::new("bench.example/log").expect("valid id");
    let issued = issue_receipt(&key, &mut chain, &event, time(0), None).expect("issue");
    group.bench_function("verify (with its 1KB event)", |b| {
        b.iter(|| verify_receipt(black_box(issued.receipt.as_str()), &keys, Some(&event)).expect("well-formed"))
    });
    group.finish();
}

fn log_verification(c: &mut Criterion) {
    const RECORDS: u64 = 100_000;
    let key = key();
    let keys = KeySet::single(key.public_key());
    let mut chain = ChainState::new("bench.example/log").expect("valid id");
    let log: Vec<(String, Vec<u8>)> = (0..RECORDS)
        .map(|i| {
            let event =
                format!(r#"{{"type":"payment.approved","payment_id":"PAY-{i:08}","amount":"{}.00"}}"#, i % 5000);
            let issued =
                issue_receipt(&key, &mut chain, event.as_bytes(), time(i), Some(&format!("req-{i}"))).expect("issue");
            (issued.receipt.as_str().to_owned(), issued.event)
        })
        .collect();
    let mut group = c.benchmark_group("log");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(RECORDS));
    group.bench_function("verify 100k records", |b| {
        b.iter(|| {
            let report = verify_log(
                log.iter().map(|(r, e)| (r.as_str(), Some(e.as_slice()))),
                &keys,
                LogVerifyOptions::default(),
            );
            assert!(report.is_valid());
        })
    });
    group.finish();
}

/// The operations whose per-call cost `cargo xtask bench` compares across the
/// bindings, on the same 1 KB event and key (benches/bindings/).
fn per_call(c: &mut Criterion) {
    let text = include_bytes!("../../benches/bindings/event-1k.json");
    let key = SigningKey::from_jwk(include_str!("../../benches/bindings/key.jwk")).expect("valid key");
    let jwks = key.public_jwk();
    let value = evidentia::json::parse(text).expect("valid");
    let canonical = canonicalize(text).expect("valid");
    let jws = sign_jws(&key, &canonical, JwsOptions::default()).expect("sign");
    let mut group = c.benchmark_group("per_call");
    group.bench_function("canonicalize", |b| b.iter(|| canonicalize(black_box(text)).expect("valid")));
    group.bench_function("canonicalize_value", |b| {
        b.iter(|| evidentia::canonicalize_value(black_box(&value)).expect("valid"))
    });
    group.bench_function("sign", |b| b.iter(|| sign_jws(&key, black_box(&canonical), JwsOptions::default())));
    // As in the bindings, the key set arrives as JWKS text and is read per call.
    group.bench_function("verify", |b| {
        b.iter(|| verify_jws(black_box(&jws), &KeySet::from_json(&jwks).expect("valid"), None, None).expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, canonicalization, receipts, log_verification, per_call);
criterion_main!(benches);
