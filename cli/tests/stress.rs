//! Readers and writers at once: several processes append to one log (waiting for
//! each other with `--wait`) while others verify it, prove records, print receipts
//! and export packages, for a fixed number of rounds, in both signing modes. Every
//! append must succeed, and no reader may report anything false: every
//! verification VALID, every proof, receipt and package made.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use support::{Workdir, text};

const WRITERS: usize = 4;
const APPENDS_PER_WRITER: usize = 40;
const READERS: usize = 3;
const READER_ROUNDS: usize = 40;

fn evidentia(dir: &Path, args: &[&str], input: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_evidentia"));
    command.args(args).current_dir(dir);
    match input {
        None => command.output().unwrap(),
        Some(input) => {
            use std::io::Write;
            let mut child = command
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        }
    }
}

fn ok(output: &Output, what: &str) {
    assert!(output.status.success(), "{what}: {}{}", text(&output.stdout), text(&output.stderr));
}

/// A writer's round: a single append (half of them with a nonce), a batch of
/// JSON Lines, or a checkpoint.
fn write_round(dir: &Path, writer: usize, round: usize) {
    let event = format!("{{\"writer\":{writer},\"round\":{round}}}");
    let output = match round % 4 {
        0 => evidentia(
            dir,
            &["log", "append", "log", "--wait", "60", "--nonce", &format!("w{writer}-r{round}"), "-"],
            Some(&event),
        ),
        1 => evidentia(dir, &["log", "append", "log", "--wait", "60", "-"], Some(&event)),
        2 => {
            let lines: String =
                (0..5).map(|i| format!("{{\"writer\":{writer},\"round\":{round},\"line\":{i}}}\n")).collect();
            evidentia(dir, &["log", "append", "log", "--wait", "60", "--batch", "-"], Some(&lines))
        }
        _ => evidentia(dir, &["log", "checkpoint", "log", "--wait", "60"], None),
    };
    ok(&output, &format!("writer {writer} round {round}"));
}

/// A reader's round: verify, then prove, print and export a record the newest
/// checkpoint covers.
fn read_round(dir: &Path, reader: usize, round: usize) {
    let verified = evidentia(dir, &["log", "verify", "log"], None);
    ok(&verified, &format!("reader {reader} round {round}: verify"));
    assert!(text(&verified.stdout).contains("VALID"), "{}", text(&verified.stdout));
    // The size of the newest checkpoint, from a proof against it.
    let first = evidentia(dir, &["log", "prove", "log", "--index", "0"], None);
    ok(&first, &format!("reader {reader} round {round}: prove"));
    let proof = evidentia::InclusionProof::from_json(text(&first.stdout).trim()).unwrap();
    let size = proof.tree_size;
    let index = (round as u64 * 7919 + reader as u64) % size;
    ok(&evidentia(dir, &["log", "prove", "log", "--index", &index.to_string()], None), "prove");
    ok(&evidentia(dir, &["log", "receipt", "log", "--index", &index.to_string()], None), "receipt");
    let out = format!("package-{reader}-{round}");
    ok(&evidentia(dir, &["export", "log", "--index", &index.to_string(), "--out", &out], None), "export");
    ok(&evidentia(dir, &["package", "verify", &out], None), "package verify");
}

#[test]
fn readers_and_writers_at_once_see_no_false_findings() {
    for mode in ["receipts", "batch"] {
        let work = Workdir::new(&format!("stress-{mode}"));
        let dir = work.0.clone();
        ok(&evidentia(&dir, &["keygen", "--out", "key.jwk"], None), "keygen");
        ok(&evidentia(&dir, &["log", "init", "log", "--key", "key.jwk", "--mode", mode], None), "init");
        ok(&evidentia(&dir, &["log", "append", "log", "-"], Some("{\"first\":true}")), "first append");
        ok(&evidentia(&dir, &["log", "checkpoint", "log"], None), "first checkpoint");

        let reads = Arc::new(AtomicU64::new(0));
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    for round in 0..APPENDS_PER_WRITER {
                        write_round(&dir, writer, round);
                    }
                })
            })
            .collect();
        let readers: Vec<_> = (0..READERS)
            .map(|reader| {
                let (dir, reads) = (dir.clone(), Arc::clone(&reads));
                std::thread::spawn(move || {
                    for round in 0..READER_ROUNDS {
                        read_round(&dir, reader, round);
                        reads.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        for reader in readers {
            reader.join().unwrap();
        }
        // Everything acknowledged is there: 1 + per writer, per four rounds, 1 + 1 + 5.
        let expected = 1 + WRITERS * (APPENDS_PER_WRITER / 4 * 7 + [0, 1, 2, 7][APPENDS_PER_WRITER % 4]);
        let verified = evidentia(&dir, &["--json", "log", "verify", "log"], None);
        ok(&verified, "final verify");
        assert!(text(&verified.stdout).contains(&format!("\"records\":{expected}")), "{}", text(&verified.stdout));
        eprintln!(
            "{mode}: {} appends and checkpoints by {WRITERS} processes, {} reader rounds by {READERS}, no false finding",
            WRITERS * APPENDS_PER_WRITER,
            reads.load(Ordering::SeqCst)
        );
    }
}
