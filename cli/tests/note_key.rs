//! A log's Ed25519 note key (SPEC §10.1): `evidentia log note-key`, the signature
//! line every checkpoint then carries, read again by Go's reference implementation
//! of C2SP signed notes (golang.org/x/mod/sumdb/note, tests/signed-note-go), and
//! what the log does when the key is missing or another one.
//!
//! Go is required when `EVIDENTIA_REQUIRE_GO` is set (as `cargo xtask test` does).
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use support::{Workdir, evidentia, go_program, text};

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = evidentia(dir, args);
    assert!(out.status.success(), "evidentia {args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

fn refused(dir: &Path, args: &[&str], code: &str) {
    let out = evidentia(dir, args);
    assert_eq!(out.status.code(), Some(2), "evidentia {args:?}: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&format!("[{code}]")), "{args:?}: {}", text(&out.stderr));
}

/// A log with a note key; returns the note key's vkey.
fn log_with_note_key(dir: &Path, mode: &str) -> String {
    ok(dir, &["keygen", "--out", "log.jwk"]);
    ok(dir, &["log", "init", "L", "--key", "log.jwk", "--id", "example.com/evidentia", "--mode", mode]);
    ok(dir, &["log", "note-key", "L", "--key", "note.pem", "--generate"]).trim().to_owned()
}

fn checkpoint_lines(note: &str) -> Vec<&str> {
    note.split_once("\n\n").unwrap().1.lines().collect()
}

#[test]
fn checkpoints_carry_an_ed25519_signature_that_go_sumdb_note_verifies() {
    let work = Workdir::new("note-key-go");
    let dir = &work.0;
    let vkey = log_with_note_key(dir, "receipts");
    assert!(vkey.starts_with("example.com/evidentia+"), "{vkey}");
    assert_eq!(ok(dir, &["log", "note-key", "L"]).trim(), vkey);
    std::fs::write(dir.join("e.json"), r#"{"action":"approve"}"#).unwrap();
    for _ in 0..3 {
        ok(dir, &["log", "append", "L", "e.json"]);
    }
    // A later process finds the key through log.json.
    let note = ok(dir, &["log", "checkpoint", "L"]);
    let lines = checkpoint_lines(&note);
    assert_eq!(lines.len(), 2, "{note}");
    assert!(lines.iter().all(|l| l.starts_with("— example.com/evidentia ")), "{note}");
    std::fs::write(dir.join("checkpoint"), &note).unwrap();
    assert!(ok(dir, &["log", "verify", "L"]).contains("VALID"));

    let Some(checker) = go_program("signed-note-go") else { return };
    let out = Command::new(&checker).arg(&vkey).arg(dir.join("checkpoint")).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.starts_with(note.split_once("\n\n").unwrap().0), "{printed}");
    assert!(printed.contains("verified: example.com/evidentia"), "{printed}");
    assert!(printed.contains("ignored: 1 other signature(s)"), "{printed}");

    // Any change to the text, or to the signature, is refused.
    for forged in [note.replacen("\n3\n", "\n4\n", 1), {
        let last = lines[1];
        let mut chars: Vec<char> = last.chars().collect();
        let at = chars.len() - 3;
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        note.replace(last, &chars.into_iter().collect::<String>())
    }] {
        std::fs::write(dir.join("forged"), &forged).unwrap();
        let out = Command::new(&checker).arg(&vkey).arg(dir.join("forged")).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        assert!(text(&out.stderr).contains("invalid signature"), "{}", text(&out.stderr));
    }
    let _ = std::fs::remove_file(checker);
}

#[test]
fn a_batch_log_without_its_note_key_stores_nothing() {
    let work = Workdir::new("note-key-missing");
    let dir = &work.0;
    let vkey = log_with_note_key(dir, "batch");
    std::fs::write(dir.join("e.json"), r#"{"n":1}"#).unwrap();
    ok(dir, &["log", "append", "L", "e.json", "--nonce", "n1"]);
    let note = ok(dir, &["log", "checkpoint", "L"]);
    assert_eq!(checkpoint_lines(&note).len(), 2, "{note}");

    // Missing: the append is refused before anything is stored.
    std::fs::rename(dir.join("note.pem"), dir.join("kept.pem")).unwrap();
    refused(dir, &["log", "append", "L", "e.json"], "IO");
    // Another key in its place: refused too.
    let made = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out", "other.pem"])
        .current_dir(dir)
        .status();
    assert!(made.unwrap().success());
    std::fs::copy(dir.join("other.pem"), dir.join("note.pem")).unwrap();
    refused(dir, &["log", "append", "L", "e.json"], "KEY_NOT_CURRENT");
    // Nor may the log's note key be replaced.
    refused(dir, &["log", "note-key", "L", "--key", "other.pem"], "INVALID_ARGUMENT");
    refused(dir, &["log", "note-key", "L", "--key", "fresh.pem", "--generate"], "INVALID_ARGUMENT");
    assert!(!dir.join("fresh.pem").exists());
    // A batch retry of a stored record needs no checkpoint, nor the key.
    ok(dir, &["log", "append", "L", "e.json", "--nonce", "n1", "--idempotent"]);
    std::fs::rename(dir.join("kept.pem"), dir.join("note.pem")).unwrap();
    ok(dir, &["log", "append", "L", "e.json"]);
    let report = ok(dir, &["--json", "log", "verify", "L"]);
    assert!(report.contains("\"valid\":true") && report.contains("\"records\":2"), "{report}");
    assert_eq!(ok(dir, &["log", "note-key", "L"]).trim(), vkey);
}

#[test]
fn a_key_change_without_the_note_key_records_nothing_and_an_idle_log_gets_the_line() {
    let work = Workdir::new("note-key-rotate");
    let dir = &work.0;
    ok(dir, &["keygen", "--out", "log.jwk"]);
    ok(dir, &["keygen", "--out", "new.jwk"]);
    ok(dir, &["log", "init", "L", "--key", "log.jwk", "--id", "example.com/evidentia"]);
    std::fs::write(dir.join("e.json"), r#"{"n":1}"#).unwrap();
    ok(dir, &["log", "append", "L", "e.json", "--nonce", "n1"]);
    let before = ok(dir, &["log", "checkpoint", "L"]);
    assert_eq!(checkpoint_lines(&before).len(), 1, "{before}");
    // Through a link: the file itself is remembered.
    std::os::unix::fs::symlink("real.pem", dir.join("link.pem")).unwrap();
    let made = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out", "real.pem"])
        .current_dir(dir)
        .status();
    assert!(made.unwrap().success());
    ok(dir, &["log", "note-key", "L", "--key", "link.pem"]);
    refused(dir, &["log", "note-key", "L", "--key", "-"], "INVALID_ARGUMENT");
    // The stored checkpoint predates the key; it is handed out with the line added.
    let after = ok(dir, &["log", "checkpoint", "L"]);
    assert_eq!(checkpoint_lines(&after).len(), 2, "{after}");
    assert!(after.starts_with(before.trim_end()), "{after}");
    assert_eq!(ok(dir, &["log", "checkpoint", "L"]), after);

    std::fs::rename(dir.join("real.pem"), dir.join("kept.pem")).unwrap();
    refused(dir, &["log", "rotate", "L", "--key", "new.jwk"], "IO");
    let report = ok(dir, &["--json", "log", "verify", "L"]);
    assert!(report.contains("\"valid\":true") && report.contains("\"records\":1"), "{report}");
    // A receipts log appends without it; an idempotent retry gets its receipt.
    ok(dir, &["log", "append", "L", "e.json", "--nonce", "n1", "--idempotent"]);
    std::fs::rename(dir.join("kept.pem"), dir.join("real.pem")).unwrap();
    ok(dir, &["log", "rotate", "L", "--key", "new.jwk"]);
    let report = ok(dir, &["--json", "log", "verify", "L"]);
    assert!(report.contains("\"valid\":true"), "{report}");
}
