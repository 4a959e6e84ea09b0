//! `evidentia log init --index-field`, `log index` and `log find --field`: records
//! found by their indexed payload fields, exit codes and error codes for bad input.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn evidentia(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_evidentia"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[track_caller]
fn ok(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    text(&output.stdout)
}

#[track_caller]
fn fails(output: &Output, code: &str) -> String {
    assert_eq!(output.status.code(), Some(2), "stdout: {}\nstderr: {}", text(&output.stdout), text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(code), "{stderr}");
    stderr
}

struct Workdir(PathBuf);

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn workdir(name: &str) -> Workdir {
    let dir = std::env::temp_dir().join(format!("evidentia-cli-lookup-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Workdir(dir)
}

fn lines(n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"instruction_id\":\"INS-{}\",\"kind\":\"{}\"}}\n", i / 2, ["request", "response"][i % 2]))
        .collect()
}

#[test]
fn records_are_found_by_an_indexed_field() {
    let work = workdir("find");
    let dir = &work.0;
    ok(&evidentia(dir, &["keygen", "--out", "key.jwk"], b""));
    for mode in ["receipts", "batch"] {
        let log = format!("log-{mode}");
        ok(&evidentia(
            dir,
            &["log", "init", &log, "--key", "key.jwk", "--mode", mode, "--index-field", "instruction_id"],
            b"",
        ));
        ok(&evidentia(dir, &["log", "append", "--batch", &log], lines(10).as_bytes()));
        assert_eq!(ok(&evidentia(dir, &["log", "find", &log, "--field", "instruction_id=INS-2"], b"")), "4\n5\n");
        assert_eq!(
            ok(&evidentia(dir, &["--json", "log", "find", &log, "--field", "instruction_id=INS-3"], b"")),
            "{\"indexes\":[6,7]}\n"
        );
        // A value holding '=': split at the first one.
        ok(&evidentia(dir, &["log", "append", &log, "-"], br#"{"instruction_id":"a=b"}"#));
        assert_eq!(ok(&evidentia(dir, &["log", "find", &log, "--field", "instruction_id=a=b"], b"")), "10\n");
        // Nothing matches: a message, as for an unknown nonce.
        let stderr =
            fails(&evidentia(dir, &["log", "find", &log, "--field", "instruction_id=INS-99"], b""), "INVALID_ARGUMENT");
        assert!(stderr.contains("no record"), "{stderr}");
        // Not indexed, until it is added.
        fails(&evidentia(dir, &["log", "find", &log, "--field", "kind=request"], b""), "FIELD_NOT_INDEXED");
        ok(&evidentia(dir, &["log", "index", &log, "--field", "kind"], b""));
        assert_eq!(ok(&evidentia(dir, &["log", "find", &log, "--field", "kind=response"], b"")), "1\n3\n5\n7\n9\n");
        ok(&evidentia(dir, &["log", "verify", &log], b""));
    }
}

#[test]
fn bad_input_exits_2_with_its_code() {
    let work = workdir("bad");
    let dir = &work.0;
    ok(&evidentia(dir, &["keygen", "--out", "key.jwk"], b""));
    fails(&evidentia(dir, &["log", "init", "bad", "--key", "key.jwk", "--index-field", ""], b""), "INVALID_ARGUMENT");
    fails(
        &evidentia(dir, &["log", "init", "bad", "--key", "key.jwk", "--index-field", "a", "--index-field", "a"], b""),
        "INVALID_ARGUMENT",
    );
    assert!(!dir.join("bad/log.json").exists());
    ok(&evidentia(dir, &["log", "init", "log", "--key", "key.jwk", "--index-field", "id"], b""));
    fails(&evidentia(dir, &["log", "find", "log", "--field", "no-equals-sign"], b""), "INVALID_ARGUMENT");
    fails(&evidentia(dir, &["log", "find", "log", "--field", "=value"], b""), "INVALID_ARGUMENT");
    fails(&evidentia(dir, &["log", "index", "log", "--field", "id"], b""), "INVALID_ARGUMENT");
    fails(&evidentia(dir, &["log", "index", "log", "--field", "new\nline"], b""), "INVALID_ARGUMENT");
    // Usage: --nonce or --field, not both, not neither.
    assert_eq!(evidentia(dir, &["log", "find", "log"], b"").status.code(), Some(2));
    assert_eq!(evidentia(dir, &["log", "find", "log", "--nonce", "n", "--field", "id=1"], b"").status.code(), Some(2));
    let json = evidentia(dir, &["--json", "log", "find", "log", "--field", "other=1"], b"");
    assert_eq!(json.status.code(), Some(2));
    assert!(text(&json.stdout).contains("\"name\":\"FIELD_NOT_INDEXED\""), "{}", text(&json.stdout));
}

/// A kid is base64url and so begins with '-' one time in 64: `--kid -…` takes it as
/// the kid. Other values that begin with '-' (nonces, log ids, field values) are
/// given as `--name=-value`, so that a value left out never swallows the option
/// after it.
#[test]
fn values_that_begin_with_a_hyphen() {
    let work = workdir("hyphen");
    let dir = &work.0;
    ok(&evidentia(dir, &["keygen", "--out", "key.jwk"], b""));
    ok(&evidentia(dir, &["log", "init", "log", "--key", "key.jwk", "--id=-log", "--index-field", "id"], b""));
    ok(&evidentia(dir, &["log", "append", "log", "--nonce=-n1", "-"], br#"{"id":"-x"}"#));
    assert_eq!(ok(&evidentia(dir, &["log", "find", "log", "--nonce=-n1"], b"")), "0\n");
    assert_eq!(ok(&evidentia(dir, &["log", "find", "log", "--field", "id=-x"], b"")), "0\n");
    // A nonce left out: the next option is not taken for it.
    let missing = evidentia(dir, &["log", "append", "log", "--nonce", "--idempotent", "-"], b"{}");
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("a value is required for '--nonce"), "{}", text(&missing.stderr));
    let revoke = evidentia(
        dir,
        &["log", "revoke", "log", "--kid", "-unknown", "--at", "2026-01-01T00:00:00Z", "--reason=-why"],
        b"",
    );
    assert_eq!(revoke.status.code(), Some(1));
    assert!(text(&revoke.stderr).contains("no key with kid -unknown in the key set [KEY_NOT_FOUND]"));
    assert!(text(&evidentia(dir, &["log", "verify", "log"], b"").stdout).contains("-log"));
}
