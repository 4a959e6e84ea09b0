//! `log verify --from-checkpoint`: only the records after a trusted checkpoint are
//! verified, and a log that no longer holds that checkpoint (cut back, rewritten,
//! or another log under the same id and key: a fork) fails instead of passing.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;

use evidentia::json::parse;
use support::{Workdir, evidentia, text};

/// Runs `log verify --json` with the arguments; the report and the exit code.
fn verify(dir: &Path, args: &[&str]) -> (evidentia::json::Value, i32) {
    let mut all = vec!["log", "verify", "--json"];
    all.extend_from_slice(args);
    let out = evidentia(dir, &all);
    let report = parse(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    (report, out.status.code().unwrap())
}

fn names(report: &evidentia::json::Value) -> Vec<String> {
    let findings = report.get("findings").and_then(|f| f.as_array()).unwrap();
    findings.iter().map(|f| f.get("name").and_then(|n| n.as_str()).unwrap().to_owned()).collect()
}

/// A log `name` of `events` (JSON Lines), signed with `key.jwk` under the log id.
fn make_log(dir: &Path, name: &str, id: &str, events: &str) {
    assert!(evidentia(dir, &["log", "init", name, "--key", "key.jwk", "--id", id]).status.success());
    append(dir, name, events);
}

fn append(dir: &Path, name: &str, events: &str) {
    std::fs::write(dir.join("events.jsonl"), events).unwrap();
    let out = evidentia(dir, &["log", "append", name, "--batch", "events.jsonl"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn events(from: u32, to: u32, kind: &str) -> String {
    (from..to).map(|n| format!("{{\"type\":\"{kind}\",\"n\":{n}}}\n")).collect()
}

fn save_checkpoint(dir: &Path, log: &str, file: &str) {
    let out = evidentia(dir, &["log", "checkpoint", log]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(dir.join(file), &out.stdout).unwrap();
}

#[test]
fn only_the_records_after_a_trusted_checkpoint_are_verified() {
    let work = Workdir::new("incremental");
    let dir = &work.0;
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    make_log(dir, "log", "example.com/incremental", &events(0, 10, "approval"));
    save_checkpoint(dir, "log", "trusted.txt");
    append(dir, "log", &events(10, 25, "approval"));
    save_checkpoint(dir, "log", "later.txt");

    let (report, code) = verify(dir, &["log", "--from-checkpoint", "trusted.txt"]);
    assert_eq!(code, 0, "{report:?}");
    assert_eq!(
        report.get("first_record").and_then(|n| n.as_number()).and_then(evidentia::json::Number::as_safe_u64),
        Some(10)
    );
    assert_eq!(
        report.get("records").and_then(|n| n.as_number()).and_then(evidentia::json::Number::as_safe_u64),
        Some(15)
    );
    let summary = report.get("summary").and_then(|s| s.as_str()).unwrap();
    assert!(summary.starts_with("VALID: log records 10 to 24 after the trusted checkpoint of 10"), "{summary}");
    // The whole log, and from the newest checkpoint (nothing after it), verify too.
    assert_eq!(verify(dir, &["log"]).1, 0);
    let (report, code) = verify(dir, &["log", "--from-checkpoint", "later.txt"]);
    assert_eq!(
        (code, report.get("records").and_then(|n| n.as_number()).and_then(evidentia::json::Number::as_safe_u64)),
        (0, Some(0))
    );

    // A record altered after the checkpoint is found, as a whole verification finds it.
    let copy = dir.join("altered");
    assert!(std::process::Command::new("cp").arg("-r").arg(dir.join("log")).arg(&copy).status().unwrap().success());
    let segment = std::fs::read_dir(copy.join("segments")).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&segment).unwrap();
    let at = bytes.windows(6).position(|w| w == b"\"n\":17").unwrap();
    bytes[at + 4..at + 6].copy_from_slice(b"71");
    std::fs::write(&segment, bytes).unwrap();
    let (report, code) = verify(dir, &["altered", "--from-checkpoint", "trusted.txt"]);
    assert_eq!(code, 1);
    assert!(names(&report).contains(&"RECORD_UNREADABLE".to_owned()), "{report:?}");
    let (whole, _) = verify(dir, &["altered"]);
    assert_eq!(names(&report), names(&whole));
}

#[test]
fn a_log_that_no_longer_holds_the_trusted_checkpoint_fails() {
    let work = Workdir::new("incremental-fork");
    let dir = &work.0;
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    make_log(dir, "log", "example.com/fork", &events(0, 10, "approval"));
    save_checkpoint(dir, "log", "trusted.txt");
    append(dir, "log", &events(10, 20, "approval"));

    // A fork: the same log id and key, other records. Valid on its own.
    make_log(dir, "fork", "example.com/fork", &events(0, 20, "refusal"));
    assert_eq!(verify(dir, &["fork"]).1, 0);
    let (report, code) = verify(dir, &["fork", "--from-checkpoint", "trusted.txt"]);
    assert_eq!(code, 1);
    assert!(names(&report).contains(&"CHECKPOINT_MISMATCH".to_owned()), "{report:?}");

    // Cut back below the checkpoint: a log of 5 of the same records.
    make_log(dir, "short", "example.com/fork", &events(0, 5, "approval"));
    let (report, code) = verify(dir, &["short", "--from-checkpoint", "trusted.txt"]);
    assert_eq!((code, names(&report)), (1, vec!["CHECKPOINT_MISMATCH".to_owned()]));

    // A checkpoint of more records than any log holds, its signature no longer
    // matching: both found, and no crash.
    let trusted = std::fs::read_to_string(dir.join("trusted.txt")).unwrap();
    std::fs::write(dir.join("huge.txt"), trusted.replacen("\n10\n", "\n9223372036854775808\n", 1)).unwrap();
    let (report, code) = verify(dir, &["log", "--from-checkpoint", "huge.txt"]);
    assert_eq!(code, 1);
    let found = names(&report);
    assert!(found.contains(&"CHECKPOINT_MISMATCH".to_owned()), "{report:?}");
    assert!(found.contains(&"CHECKPOINT_SIGNATURE_INVALID".to_owned()), "{report:?}");

    // Another log's checkpoint; one that is not a checkpoint at all is a usage error.
    make_log(dir, "other", "example.com/other", &events(0, 10, "approval"));
    save_checkpoint(dir, "other", "other.txt");
    let (report, code) = verify(dir, &["log", "--from-checkpoint", "other.txt"]);
    assert_eq!(code, 1);
    assert!(names(&report).contains(&"CHECKPOINT_MISMATCH".to_owned()), "{report:?}");
    std::fs::write(dir.join("garbage.txt"), "not a checkpoint\n").unwrap();
    let out = evidentia(dir, &["log", "verify", "log", "--from-checkpoint", "garbage.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("garbage.txt"), "{}", text(&out.stderr));
}

#[test]
fn a_key_set_changed_without_a_key_record_fails_from_a_checkpoint_too() {
    let work = Workdir::new("incremental-keys");
    let dir = &work.0;
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    std::fs::write(dir.join("next.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    std::fs::write(dir.join("stranger.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    make_log(dir, "log", "example.com/keys", &events(0, 3, "approval"));
    let out = evidentia(dir, &["log", "rotate", "log", "--key", "next.jwk"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    append(dir, "log", &events(3, 6, "approval"));
    save_checkpoint(dir, "log", "trusted.txt");
    assert_eq!(verify(dir, &["log", "--from-checkpoint", "trusted.txt"]).1, 0);
    // Someone with the files, not the keys, adds a key to the log's key history.
    let stranger = text(&evidentia(dir, &["pubkey", "stranger.jwk"]).stdout);
    let keys = std::fs::read_to_string(dir.join("log/keys.jwks")).unwrap();
    let at = keys.rfind(']').unwrap();
    std::fs::write(dir.join("log/keys.jwks"), format!("{},{}{}", &keys[..at], stranger.trim(), &keys[at..])).unwrap();
    let (whole, code) = verify(dir, &["log"]);
    assert_eq!((code, names(&whole)), (1, vec!["KEY_HISTORY_MISMATCH".to_owned()]));
    let (report, code) = verify(dir, &["log", "--from-checkpoint", "trusted.txt"]);
    assert_eq!((code, names(&report)), (1, vec!["KEY_HISTORY_MISMATCH".to_owned()]), "{report:?}");
}
