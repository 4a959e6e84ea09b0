//! The log commands keep the store's promises where users meet them: retried
//! nonces, waiting writers, what recovery did, rotation then checkpoint, lines too
//! long to read.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{Workdir, text};

fn evidentia(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_evidentia"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin_pipe = child.stdin.take().unwrap();
    // A command may exit before it reads everything (an error): that is not a failure here.
    let _ = stdin_pipe.write_all(stdin);
    drop(stdin_pipe);
    child.wait_with_output().unwrap()
}

#[track_caller]
fn exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "stdout: {}\nstderr: {}", text(&output.stdout), text(&output.stderr));
}

fn new_log(dir: &Path, mode: &str) {
    exit(&evidentia(dir, &["keygen", "--out", "key.jwk"], b""), 0);
    exit(&evidentia(dir, &["log", "init", "log", "--key", "key.jwk", "--mode", mode], b""), 0);
}

#[test]
fn a_retried_nonce_is_refused_or_answered_with_the_original_receipt() {
    let work = Workdir::new("log-nonce");
    let dir = &work.0;
    new_log(dir, "receipts");
    let first = evidentia(dir, &["log", "append", "log", "--nonce", "req-1", "-"], br#"{"amount":100}"#);
    exit(&first, 0);
    let again = evidentia(dir, &["log", "append", "log", "--nonce", "req-1", "-"], br#"{"amount":100}"#);
    exit(&again, 2);
    assert!(text(&again.stderr).contains("NONCE_IN_USE"), "{}", text(&again.stderr));
    let retried =
        evidentia(dir, &["log", "append", "log", "--nonce", "req-1", "--idempotent", "-"], br#"{ "amount": 100 }"#);
    exit(&retried, 0);
    assert_eq!(retried.stdout, first.stdout, "the original receipt");
    assert!(text(&retried.stderr).contains("already in the log"), "{}", text(&retried.stderr));
    let other =
        evidentia(dir, &["log", "append", "log", "--nonce", "req-1", "--idempotent", "-"], br#"{"amount":900}"#);
    exit(&other, 2);
    let found = evidentia(dir, &["log", "find", "log", "--nonce", "req-1"], b"");
    exit(&found, 0);
    assert_eq!(text(&found.stdout).trim(), "0");
    let json = evidentia(dir, &["--json", "log", "find", "log", "--nonce", "req-1"], b"");
    assert_eq!(text(&json.stdout).trim(), r#"{"index":0}"#);
    exit(&evidentia(dir, &["log", "find", "log", "--nonce", "req-2"], b""), 2);
    let verified = evidentia(dir, &["log", "verify", "log"], b"");
    exit(&verified, 0);
    assert!(text(&verified.stdout).contains("log of 1 record"), "{}", text(&verified.stdout));
}

#[test]
fn an_acknowledgement_that_cannot_be_written_is_an_error() {
    let work = Workdir::new("log-full");
    let dir = &work.0;
    new_log(dir, "receipts");
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_evidentia"))
        .args(["log", "append", "log", "-"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"{}")?;
            child.wait_with_output()
        })
        .unwrap();
    exit(&out, 2);
    assert!(text(&out.stderr).contains("cannot write"), "{}", text(&out.stderr));
}

#[test]
fn writers_wait_for_each_other_when_asked() {
    let work = Workdir::new("log-wait");
    let dir = &work.0;
    new_log(dir, "receipts");
    // A writer that holds the log while its input stays open.
    let mut holder = Command::new(env!("CARGO_BIN_EXE_evidentia"))
        .args(["log", "append", "log", "--batch", "-"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = holder.stdin.take().unwrap();
    input.write_all(b"{\"held\":true}\n").unwrap();
    // Once its first line is acknowledged it holds the lock.
    let mut acknowledged = [0u8; 1];
    std::io::Read::read_exact(holder.stdout.as_mut().unwrap(), &mut acknowledged).unwrap();
    let refused = evidentia(dir, &["log", "append", "log", "-"], b"{}");
    exit(&refused, 2);
    assert!(text(&refused.stderr).contains("LOG_LOCKED"), "{}", text(&refused.stderr));
    let waited = evidentia(dir, &["log", "append", "log", "--wait", "0.3", "-"], b"{}");
    exit(&waited, 2);
    assert!(text(&waited.stderr).contains("waited 0.3 s"), "{}", text(&waited.stderr));
    exit(&evidentia(dir, &["log", "append", "log", "--wait", "-1", "-"], b"{}"), 2);
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        drop(input);
        holder.wait().unwrap();
    });
    let started = Instant::now();
    exit(&evidentia(dir, &["log", "append", "log", "--wait", "30", "-"], b"{\"after\":true}"), 0);
    assert!(started.elapsed() >= Duration::from_millis(300), "it waited for the holder");
    release.join().unwrap();
    exit(&evidentia(dir, &["log", "verify", "log"], b""), 0);
}

#[test]
fn what_recovery_did_is_reported() {
    let work = Workdir::new("log-recovery");
    let dir = &work.0;
    new_log(dir, "receipts");
    exit(&evidentia(dir, &["log", "append", "log", "-"], b"{}"), 0);
    // Half a frame at the end: a write that never completed.
    let segment = dir.join("log/segments/00000000000000000000.seg");
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(b"EVD1\x40\x00\x00\x00");
    std::fs::write(&segment, &bytes).unwrap();
    let verified = evidentia(dir, &["log", "verify", "log"], b"");
    exit(&verified, 0);
    assert!(
        text(&verified.stderr).contains("8 bytes of an entry whose writing never completed"),
        "{}",
        text(&verified.stderr)
    );
    let appended = evidentia(dir, &["log", "append", "log", "-"], b"{}");
    exit(&appended, 0);
    assert!(text(&appended.stderr).contains("recovery: cut 8 bytes"), "{}", text(&appended.stderr));
    // As JSON on standard error with --json.
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(b"EVD1");
    std::fs::write(&segment, &bytes).unwrap();
    let json = evidentia(dir, &["--json", "log", "append", "log", "-"], b"{}");
    exit(&json, 0);
    assert!(text(&json.stderr).contains(r#""truncated_bytes":4"#), "{}", text(&json.stderr));
    exit(&evidentia(dir, &["log", "verify", "log"], b""), 0);
}

#[test]
fn rotation_then_checkpoint_verifies_in_both_modes() {
    for mode in ["receipts", "batch"] {
        let work = Workdir::new(&format!("log-rotate-{mode}"));
        let dir = &work.0;
        new_log(dir, mode);
        exit(&evidentia(dir, &["keygen", "--out", "two.jwk"], b""), 0);
        exit(&evidentia(dir, &["log", "append", "log", "-"], b"{}"), 0);
        exit(&evidentia(dir, &["log", "rotate", "log", "--key", "two.jwk"], b""), 0);
        exit(&evidentia(dir, &["log", "checkpoint", "log"], b""), 0);
        exit(&evidentia(dir, &["log", "verify", "log"], b""), 0);
        exit(&evidentia(dir, &["log", "append", "log", "-"], b"{}"), 0);
        exit(&evidentia(dir, &["log", "checkpoint", "log"], b""), 0);
        exit(&evidentia(dir, &["log", "verify", "log"], b""), 0);
        // The receipt of the record before the rotation verifies with the history.
        std::fs::copy(dir.join("log/keys.jwks"), dir.join("keys.jwks")).unwrap();
        let receipt = evidentia(dir, &["log", "receipt", "log", "--index", "0"], b"");
        exit(&receipt, 0);
        std::fs::write(dir.join("receipt"), &receipt.stdout).unwrap();
        exit(&evidentia(dir, &["receipt", "verify", "receipt", "--jwks", "keys.jwks"], b""), 0);
    }
}

#[test]
fn a_json_line_too_long_to_read_stops_the_run_after_the_lines_before() {
    let work = Workdir::new("log-long-line");
    let dir = &work.0;
    new_log(dir, "batch");
    let mut input = b"{\"n\":1}\n{\"n\":2}\n".to_vec();
    input.push(b'"');
    input.extend(std::iter::repeat_n(b'x', 17 * 1024 * 1024));
    input.extend_from_slice(b"\"\n{\"n\":3}\n");
    let out = evidentia(dir, &["log", "append", "log", "--batch", "-"], &input);
    exit(&out, 2);
    assert!(text(&out.stderr).contains("JSON_TOO_LARGE"), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 2, "the lines before were acknowledged");
    let verified = evidentia(dir, &["--json", "log", "verify", "log"], b"");
    exit(&verified, 0);
    assert!(text(&verified.stdout).contains(r#""records":2"#));
}

/// `timestamp attach` runs at once, with responses of two authorities for the same
/// checkpoint, each write their own temporary file and replace one file holding
/// the response with its chain: whichever lands last, the log holds a response
/// with its own chain, and no temporary file is left.
#[test]
fn timestamps_attached_at_once_leave_a_response_with_its_own_chain() {
    use evidentia::timestamp::{HashAlgorithm, TimestampRequest, TimestampTrust, read_certificates};
    let work = Workdir::new("log-attach");
    let dir = &work.0;
    new_log(dir, "receipts");
    exit(&evidentia(dir, &["log", "append", "log", "-"], b"{}"), 0);
    let note = evidentia(dir, &["log", "checkpoint", "log"], b"");
    exit(&note, 0);
    let request = TimestampRequest::new(&note.stdout, HashAlgorithm::Sha256, [1; 8]);
    std::fs::write(dir.join("request.tsq"), request.to_der()).unwrap();
    let authorities: Vec<(Vec<u8>, TimestampTrust)> = ["tsa-1", "tsa-2"]
        .iter()
        .map(|name| {
            let tsa = support::LocalTsa::new(dir, name, support::TsaKey::P256, false, false);
            let response = dir.join(format!("{name}.tsr"));
            tsa.reply(&dir.join("request.tsq"), &response);
            let roots = read_certificates(&std::fs::read(&tsa.root).unwrap()).unwrap();
            (std::fs::read(response).unwrap(), TimestampTrust { roots, ..Default::default() })
        })
        .collect();
    for _ in 0..10 {
        let attaching: Vec<_> = (0..4)
            .map(|i| {
                let (response, trust) = authorities[i % 2].clone();
                let log = dir.join("log");
                std::thread::spawn(move || {
                    evidentia_store::attach_timestamp(&log, &response, None, &trust).map(|(size, _)| size)
                })
            })
            .collect();
        for attached in attaching {
            assert_eq!(attached.join().unwrap().unwrap(), 1);
        }
        let verified = evidentia(dir, &["log", "verify", "log"], b"");
        exit(&verified, 0);
    }
    let stamps: Vec<_> =
        std::fs::read_dir(dir.join("log/timestamps")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(stamps, ["1.stamp"], "one file, no temporary file left");
}
