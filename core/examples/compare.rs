//! The Rust core's run of the side-by-side benchmark (driven by `cargo xtask bench`,
//! see benches/compare/): `cargo run --release -p evidentia --example compare -- INPUTS [--quick]`.
//! Prints one JSON line per workload with its median time per operation, in the
//! format of benches/compare/bench.py and bench.js.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use evidentia::merkle::{InclusionProof, MemoryTree, inclusion_proof, leaf_hash};
use evidentia::{ChainState, KeySet, SigningKey, Timestamp, canonicalize, issue_receipt, verify_receipt};

const REPEATS: usize = 7;

/// Median nanoseconds of one call over REPEATS repeats of `per_repeat` calls.
fn median_ns(mut call: impl FnMut(), per_repeat: usize) -> f64 {
    call();
    let mut times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_repeat {
                call();
            }
            start.elapsed().as_nanos() as f64 / per_repeat as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[REPEATS / 2]
}

fn print(workload: &str, ns: f64) {
    println!("{{\"implementation\":\"rust-core\",\"workload\":\"{workload}\",\"median_ns\":{ns}}}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(inputs) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: cargo run --release -p evidentia --example compare -- INPUTS [--quick]");
        std::process::exit(2);
    };
    let scale = if args.iter().any(|a| a == "--quick") { 10 } else { 1 };
    let inputs = Path::new(inputs);
    let read = |name: &str| std::fs::read(inputs.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (event, doc) = (read("event-1k.json"), read("doc-64k.json"));
    let key = SigningKey::from_text(&String::from_utf8_lossy(&read("key.jwk"))).expect("key.jwk");
    let keys = KeySet::from_json(&String::from_utf8_lossy(&read("keys.jwks"))).expect("keys.jwks");
    let receipt = String::from_utf8_lossy(&read("receipt.jws")).trim().to_owned();
    let receipt_event = read("receipt-event.json");
    let time = Timestamp::parse("2026-11-22T10:00:00Z").expect("time");

    print("canonicalize_1k", median_ns(|| drop(black_box(canonicalize(&event))), 2000 / scale));
    print("canonicalize_64k", median_ns(|| drop(black_box(canonicalize(&doc))), 40 / scale));
    for (workload, signer) in
        [("build_receipt", key.clone()), ("build_receipt_randomized", key.with_randomized_signatures())]
    {
        let mut state = ChainState::new("bench.evidentia.dev/compare").expect("log id");
        let ns = median_ns(|| drop(black_box(issue_receipt(&signer, &mut state, &event, time, None))), 300 / scale);
        print(workload, ns);
    }
    let ns = median_ns(|| drop(black_box(verify_receipt(&receipt, &keys, Some(&receipt_event)))), 300 / scale);
    print("verify_receipt", ns);

    // An RFC 6962 tree of 1,000,000 leaves (10,000 with --quick) and 1,000
    // inclusion proofs made and checked, as the peers do.
    let leaves: u64 = if scale == 1 { 1_000_000 } else { 10_000 };
    let start = Instant::now();
    let tree = MemoryTree::from_leaf_hashes((0..leaves).map(|i| leaf_hash(&i.to_be_bytes())));
    let root = tree.root();
    for k in 0..1000u64 {
        let index = (k * 7919) % leaves;
        let hashes = inclusion_proof(&tree, index, leaves).expect("proof");
        let proof = InclusionProof { leaf_index: index, tree_size: leaves, hashes };
        proof.verify(&leaf_hash(&index.to_be_bytes()), &root).expect("the proof verifies");
    }
    print("merkle", start.elapsed().as_nanos() as f64);
}
