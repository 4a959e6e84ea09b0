//! Fault injection: a writer process killed with SIGKILL in the middle of appending
//! never loses a record it acknowledged, and the log reopens and verifies.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use evidentia::json::{Value, parse};
use evidentia::{Digest, Record};
use evidentia_store::{Log, LogReader, verify_dir};

const ROUNDS: usize = 30;

fn evidentia(dir: &Path, args: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_evidentia")).args(args).current_dir(dir).status().unwrap();
    assert!(status.success(), "evidentia {args:?} failed");
}

/// Appends JSON Lines through the CLI, kills it with SIGKILL after `kill_after`
/// acknowledgements, and returns every acknowledgement it printed.
fn append_and_kill(dir: &Path, log: &str, kill_after: usize, round: usize) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_evidentia"))
        .args(["log", "append", log, "--batch", "-"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0..1_000_000 {
            let line = format!(
                "{{\"round\":{round},\"i\":{i},\"payload\":\"{}\"}}\n",
                "x".repeat(if round % 4 == 3 { i % 8000 } else { i % 200 })
            );
            if stdin.write_all(line.as_bytes()).is_err() {
                return; // The writer is gone.
            }
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut acks = Vec::new();
    let mut line = String::new();
    while acks.len() < kill_after {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        acks.push(line.trim_end().to_owned());
    }
    // Kill at a varying moment after the last acknowledgement read: while signing,
    // writing, flushing or reading input.
    std::thread::sleep(std::time::Duration::from_micros((round as u64 * 1_597) % 9_000));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Lines already printed were acknowledged too; a line cut short was not.
    loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 || !line.ends_with('\n') {
            break;
        }
        acks.push(line.trim_end().to_owned());
    }
    feeder.join().unwrap();
    acks
}

fn seq_of_batch_ack(ack: &str) -> (u64, String) {
    let value = parse(ack.as_bytes()).unwrap();
    let seq = value.get("seq").and_then(Value::as_number).unwrap().as_safe_u64().unwrap();
    (seq, value.get("record").and_then(Value::as_str).unwrap().to_owned())
}

#[test]
fn sigkill_while_appending_never_loses_an_acknowledged_record() {
    let dir = std::env::temp_dir().join(format!("evidentia-crash-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    evidentia(&dir, &["keygen", "--out", "key.jwk"]);
    evidentia(&dir, &["log", "init", "receipts", "--key", "key.jwk", "--id", "crash.example/receipts"]);
    evidentia(&dir, &["log", "init", "batch", "--key", "key.jwk", "--id", "crash.example/batch", "--mode", "batch"]);

    let mut total_acks = 0;
    let mut repaired = 0;
    for round in 0..ROUNDS {
        let log = if round % 2 == 0 { "receipts" } else { "batch" };
        let path = dir.join(log);
        let before = LogReader::open(&path).unwrap().len();
        // Receipts mode signs each event (slow); batch mode commits thousands a second.
        let kill_after = if log == "receipts" { 10 + round * 3 } else { 300 + round * 97 };
        let acks = append_and_kill(&dir, log, kill_after, round);
        assert!(!acks.is_empty(), "round {round}: nothing was acknowledged");
        total_acks += acks.len();

        // Every acknowledged record is present, exactly as acknowledged.
        let reader = LogReader::open(&path).unwrap();
        assert!(reader.len() >= before + acks.len() as u64, "round {round}: acknowledged records are missing");
        for (i, ack) in acks.iter().enumerate() {
            if log == "receipts" {
                assert_eq!(&reader.receipt(before + i as u64).unwrap(), ack, "round {round}, ack {i}");
            } else {
                let (seq, digest) = seq_of_batch_ack(ack);
                assert_eq!(seq, before + i as u64);
                let record = reader.entry(seq).unwrap().record_bytes().unwrap();
                assert_eq!(Digest::sha256(&record).to_string(), digest);
                assert_eq!(Record::from_bytes(&record).unwrap().seq, seq);
            }
        }
        // The log reopens for writing (repairing what the kill left) and verifies.
        let reopened = Log::open(&path).unwrap();
        repaired += usize::from(reopened.recovery().repaired());
        drop(reopened);
        if round % 10 == 9 || round + 2 >= ROUNDS {
            let report = verify_dir(&path, None, |_| {}).unwrap();
            assert!(report.is_valid(), "round {round}: {}", report.to_text());
        }
    }
    eprintln!(
        "{ROUNDS} kills, {total_acks} acknowledged records, all present; {repaired} reopenings repaired a torn tail or index"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
