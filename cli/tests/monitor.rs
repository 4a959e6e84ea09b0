//! `log monitor`: a monitor trusts a log's newest checkpoint after a round that
//! finds nothing, and raises the alarm (exit 1, JSON findings) when the log it
//! watches is replaced by a forked or truncated copy, when records wait too long
//! for a checkpoint, or when records fail verification.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use evidentia::json::{Value, parse};
use support::{Workdir, copy_folder, evidentia, text};

/// One round with `--json`: the round and the exit code.
fn round(dir: &Path, log: &str, extra: &[&str]) -> (Value, i32) {
    let mut args = vec!["--json", "log", "monitor", log, "--jwks", "pub.jwk", "--state", "state.json"];
    args.extend_from_slice(extra);
    let out = evidentia(dir, &args);
    let value = parse(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    (value, out.status.code().unwrap())
}

fn kinds(round: &Value) -> Vec<String> {
    let findings = round.get("findings").and_then(Value::as_array).unwrap();
    findings.iter().map(|f| f.get("kind").and_then(Value::as_str).unwrap().to_owned()).collect()
}

fn size(round: &Value, name: &str) -> Option<u64> {
    round.get(name).and_then(Value::as_number).and_then(|n| n.as_safe_u64())
}

fn append(dir: &Path, log: &str, events: &[&str]) {
    std::fs::write(dir.join("events.jsonl"), events.join("\n") + "\n").unwrap();
    let out = evidentia(dir, &["log", "append", log, "--batch", "events.jsonl"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(evidentia(dir, &["log", "checkpoint", log]).status.success());
}

/// A log of three records with a checkpoint, its keys, and a monitor that has
/// trusted it once.
fn watched(name: &str) -> Workdir {
    let work = Workdir::new(name);
    let dir = &work.0;
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    std::fs::write(dir.join("pub.jwk"), evidentia(dir, &["pubkey", "key.jwk"]).stdout).unwrap();
    assert!(
        evidentia(dir, &["log", "init", "log", "--key", "key.jwk", "--id", "example.com/watched"]).status.success()
    );
    append(dir, "log", &[r#"{"n":0}"#, r#"{"n":1}"#, r#"{"n":2}"#]);
    let (first, code) = round(dir, "log", &[]);
    assert_eq!((code, size(&first, "trusted_size"), size(&first, "now_trusted_size")), (0, None, Some(3)), "{first:?}");
    work
}

#[test]
fn the_monitor_trusts_each_checkpoint_that_extends_the_last() {
    let work = watched("monitor-grows");
    let dir = &work.0;
    append(dir, "log", &[r#"{"n":3}"#, r#"{"n":4}"#]);
    let (next, code) = round(dir, "log", &[]);
    assert_eq!(code, 0, "{next:?}");
    assert_eq!((size(&next, "trusted_size"), size(&next, "now_trusted_size")), (Some(3), Some(5)));
    // Only the new records were verified.
    assert_eq!(next.get("report").map(|r| size(r, "first_record")), Some(Some(3)));
    let (again, code) = round(dir, "log", &[]);
    assert_eq!((code, kinds(&again).len()), (0, 0), "{again:?}");
}

#[test]
fn a_forked_copy_is_a_split_view_and_the_trust_stays() {
    let work = watched("monitor-fork");
    let dir = &work.0;
    copy_folder(&dir.join("log"), &dir.join("fork"));
    append(dir, "log", &[r#"{"n":3}"#, r#"{"n":4}"#]);
    assert_eq!(round(dir, "log", &[]).1, 0);
    // Another history under the same id and key: as long, and longer.
    append(dir, "fork", &[r#"{"other":3}"#, r#"{"other":4}"#]);
    let (forked, code) = round(dir, "fork", &[]);
    assert_eq!((code, kinds(&forked)), (1, vec!["split_view".to_owned()]), "{forked:?}");
    assert_eq!(size(&forked, "now_trusted_size"), Some(5), "an alert never moves the trust");
    append(dir, "fork", &[r#"{"other":5}"#]);
    assert_eq!(kinds(&round(dir, "fork", &[]).0), ["split_view"]);
    // The real log still passes: the fork did not move the state.
    assert_eq!(round(dir, "log", &[]).1, 0);
}

#[test]
fn a_truncated_copy_is_reported_as_truncated_and_rolled_back() {
    let work = watched("monitor-truncated");
    let dir = &work.0;
    copy_folder(&dir.join("log"), &dir.join("early"));
    append(dir, "log", &[r#"{"n":3}"#, r#"{"n":4}"#]);
    assert_eq!(round(dir, "log", &[]).1, 0);
    let (cut, code) = round(dir, "early", &[]);
    assert_eq!((code, kinds(&cut)), (1, vec!["truncated".to_owned(), "rollback".to_owned()]), "{cut:?}");
}

#[test]
fn records_without_a_checkpoint_for_too_long_are_a_stale_checkpoint() {
    let work = watched("monitor-stale");
    let dir = &work.0;
    std::fs::write(dir.join("event.json"), r#"{"n":3}"#).unwrap();
    assert!(evidentia(dir, &["log", "append", "log", "event.json"]).status.success());
    assert_eq!(round(dir, "log", &["--max-age", "3600"]).1, 0);
    std::thread::sleep(Duration::from_millis(2100));
    let (stale, code) = round(dir, "log", &["--max-age", "1"]);
    assert_eq!((code, kinds(&stale)), (1, vec!["stale_checkpoint".to_owned()]), "{stale:?}");
    assert!(evidentia(dir, &["log", "checkpoint", "log"]).status.success());
    assert_eq!(round(dir, "log", &["--max-age", "1"]).1, 0);
}

#[test]
fn a_damaged_state_file_is_refused_not_replaced() {
    let work = watched("monitor-state");
    let dir = &work.0;
    std::fs::write(dir.join("state.json"), "{\"checkpoint\": 5}").unwrap();
    let out = evidentia(dir, &["log", "monitor", "log", "--jwks", "pub.jwk", "--state", "state.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("[INVALID_ARGUMENT]"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("state.json")).unwrap(), "{\"checkpoint\": 5}");
}

#[test]
fn following_a_log_alerts_when_it_is_replaced_by_a_fork() {
    let work = watched("monitor-follow");
    let dir = &work.0;
    copy_folder(&dir.join("log"), &dir.join("fork"));
    append(dir, "fork", &[r#"{"other":3}"#]);
    append(dir, "log", &[r#"{"n":3}"#]);
    let bin = env!("CARGO_BIN_EXE_evidentia");
    let mut child = Command::new(bin)
        .current_dir(dir)
        .args([
            "--json",
            "log",
            "monitor",
            "log",
            "--jwks",
            "pub.jwk",
            "--state",
            "state.json",
            "--follow",
            "--interval",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    std::fs::rename(dir.join("log"), dir.join("real")).unwrap();
    std::fs::rename(dir.join("fork"), dir.join("log")).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the monitor never raised the alarm");
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(1), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout).lines().map(|l| parse(l.as_bytes()).unwrap()).collect();
    assert!(lines.len() >= 2, "{}", text(&out.stdout));
    assert!(kinds(&lines[0]).is_empty());
    assert_eq!(kinds(lines.last().unwrap()), ["split_view"]);
}

#[test]
fn records_and_checkpoints_of_a_key_not_trusted_are_findings() {
    let work = watched("monitor-keys");
    let dir = &work.0;
    append(dir, "log", &[r#"{"n":3}"#]);
    std::fs::write(dir.join("other.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    std::fs::write(dir.join("pub.jwk"), evidentia(dir, &["pubkey", "other.jwk"]).stdout).unwrap();
    let (round, code) = round(dir, "log", &[]);
    assert_eq!((code, kinds(&round)), (1, vec!["checkpoint_untrusted".to_owned(), "invalid".to_owned()]), "{round:?}");
    assert_eq!(size(&round, "now_trusted_size"), Some(3));
}

#[test]
fn a_log_that_lost_its_checkpoints_or_cannot_be_read_is_a_finding() {
    let work = watched("monitor-lost");
    let dir = &work.0;
    copy_folder(&dir.join("log"), &dir.join("copy"));
    std::fs::remove_file(dir.join("copy").join("checkpoints.log")).unwrap();
    let (lost, code) = round(dir, "copy", &[]);
    assert_eq!((code, kinds(&lost)), (1, vec!["rollback".to_owned()]), "{lost:?}");
    std::fs::remove_file(dir.join("copy").join("log.json")).unwrap();
    let (gone, code) = round(dir, "copy", &[]);
    assert_eq!((code, kinds(&gone)), (1, vec!["unreadable".to_owned()]), "{gone:?}");
    assert_eq!(size(&gone, "now_trusted_size"), Some(3));
    // Another log under the monitor's state: not this log's history at all.
    assert!(
        evidentia(dir, &["log", "init", "other", "--key", "key.jwk", "--id", "example.com/other"]).status.success()
    );
    append(dir, "other", &[r#"{"n":0}"#, r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]);
    let (other, code) = round(dir, "other", &[]);
    assert_eq!(code, 1);
    assert_eq!(kinds(&other)[0], "split_view");
    let message = other.get("findings").and_then(Value::as_array).unwrap()[0].get("message").unwrap().clone();
    assert!(message.as_str().unwrap().contains("\"example.com/other\""), "{message:?}");
    // A state file that is not one is refused, whatever it is.
    std::fs::remove_file(dir.join("state.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("state.json")).unwrap();
    let out = evidentia(dir, &["log", "monitor", "log", "--jwks", "pub.jwk", "--state", "state.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("[INVALID_ARGUMENT]"), "{}", text(&out.stderr));
}
