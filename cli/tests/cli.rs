//! The `evidentia` command end to end: outputs and exit codes (0 valid,
//! 1 verification failed, 2 malformed input or usage error).
#![allow(clippy::unwrap_used)]

use std::io::Write;

use evidentia::json::Value;
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
    // A command that fails before reading its input closes the pipe: not an error here.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn run(dir: &Path, args: &[&str]) -> Output {
    evidentia(dir, args, b"")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[track_caller]
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "stdout: {}\nstderr: {}", stdout(output), stderr(output));
}

/// A scratch directory, removed when the test ends.
struct Workdir(PathBuf);

impl std::ops::Deref for Workdir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn workdir(name: &str) -> Workdir {
    let dir = std::env::temp_dir().join(format!("evidentia-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Workdir(dir)
}

#[test]
fn canonicalize_prints_canonical_bytes_and_rejects_bad_json() {
    let dir = workdir("canon");
    let out = evidentia(&dir, &["canonicalize"], b"{ \"b\": 2, \"a\": [1.50, \"\\u00e9\"] }\n");
    assert_exit(&out, 0);
    assert_eq!(out.stdout, "{\"a\":[1.5,\"é\"],\"b\":2}".as_bytes());
    std::fs::write(dir.join("doc.json"), "[1e2]").unwrap();
    assert_eq!(run(&dir, &["canonicalize", "doc.json"]).stdout, b"[100]");

    let out = evidentia(&dir, &["canonicalize", "-"], b"{\"a\":1,\"a\":2}");
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("[JSON_DUPLICATE_KEY]"), "{}", stderr(&out));
    let out = evidentia(&dir, &["--json", "canonicalize"], b"\xff");
    assert_exit(&out, 2);
    assert!(stdout(&out).contains(r#""name":"JSON_INVALID_UTF8""#), "{}", stdout(&out));
    assert_exit(&run(&dir, &["canonicalize", "missing.json"]), 2);
}

#[test]
fn keys_jws_and_exit_codes() {
    let dir = workdir("jws");
    assert_exit(&run(&dir, &["keygen", "--out", "key.jwk"]), 0);
    assert_exit(&run(&dir, &["keygen", "--out", "key.jwk"]), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.join("key.jwk")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let public = run(&dir, &["pubkey", "key.jwk"]);
    assert_exit(&public, 0);
    assert!(!stdout(&public).contains("\"d\""));
    std::fs::write(dir.join("public.jwk"), public.stdout).unwrap();
    let pem = run(&dir, &["pubkey", "key.jwk", "--format", "pem"]);
    assert!(stdout(&pem).starts_with("-----BEGIN PUBLIC KEY-----"));

    std::fs::write(dir.join("payload.txt"), "pay 100 EUR").unwrap();
    let jws = run(&dir, &["jws", "sign", "--key", "key.jwk", "payload.txt"]);
    assert_exit(&jws, 0);
    assert_eq!(jws.stdout, run(&dir, &["jws", "sign", "--key", "key.jwk", "payload.txt"]).stdout, "deterministic");
    std::fs::write(dir.join("signed.jws"), &jws.stdout).unwrap();
    let verified = run(&dir, &["jws", "verify", "--jwks", "public.jwk", "signed.jws"]);
    assert_exit(&verified, 0);
    assert!(stdout(&verified).contains("payload: pay 100 EUR"));

    // Detached and unencoded.
    let detached = run(&dir, &["jws", "sign", "--key", "key.jwk", "--detached", "--unencoded", "payload.txt"]);
    std::fs::write(dir.join("detached.jws"), &detached.stdout).unwrap();
    assert_exit(&run(&dir, &["jws", "verify", "--jwks", "public.jwk", "--payload", "payload.txt", "detached.jws"]), 0);
    std::fs::write(dir.join("other.txt"), "pay 900 EUR").unwrap();
    assert_exit(&run(&dir, &["jws", "verify", "--jwks", "public.jwk", "--payload", "other.txt", "detached.jws"]), 1);

    // Another key: verification fails (1). Garbage: malformed (2).
    assert_exit(&run(&dir, &["keygen", "--out", "other.jwk"]), 0);
    std::fs::write(dir.join("other-public.jwk"), run(&dir, &["pubkey", "other.jwk"]).stdout).unwrap();
    assert_exit(&run(&dir, &["jws", "verify", "--jwks", "other-public.jwk", "signed.jws"]), 1);
    std::fs::write(dir.join("garbage.jws"), "not a jws").unwrap();
    assert_exit(&run(&dir, &["jws", "verify", "--jwks", "public.jwk", "garbage.jws"]), 2);
    std::fs::write(dir.join("garbage.jwk"), "{\"kty\":\"EC\"}").unwrap();
    assert_exit(&run(&dir, &["jws", "sign", "--key", "garbage.jwk", "payload.txt"]), 2);
    assert_exit(&run(&dir, &["jws", "verify", "--jwks", "garbage.jwk", "signed.jws"]), 2);
    assert_exit(&run(&dir, &["pubkey", "garbage.jws"]), 2);
    assert_exit(&run(&dir, &["no-such-command"]), 2);
    assert_exit(&run(&dir, &["jws", "sign"]), 2);
}

#[test]
fn log_init_append_verify_and_receipt_verify() {
    let dir = workdir("log");
    assert_exit(&run(&dir, &["keygen", "--out", "key.jwk"]), 0);
    assert_exit(&run(&dir, &["log", "init", "payments", "--key", "key.jwk", "--id", "example.com/payments"]), 0);
    assert_exit(&run(&dir, &["log", "init", "payments", "--key", "key.jwk"]), 2);
    assert_exit(&run(&dir, &["log", "init", "bad", "--key", "key.jwk", "--id", "has space"]), 2);

    let first = evidentia(&dir, &["log", "append", "payments", "--nonce", "req-1"], b"{\"amount\": 100}");
    assert_exit(&first, 0);
    std::fs::write(dir.join("receipt.jws"), &first.stdout).unwrap();
    std::fs::write(dir.join("event.json"), "{\n  \"amount\": 100.0\n}\n").unwrap();
    std::fs::write(dir.join("wrong-event.json"), "{\"amount\": 900}").unwrap();
    assert_exit(&evidentia(&dir, &["log", "append", "payments", "-"], b"{\"amount\": 200}"), 0);
    assert_exit(&evidentia(&dir, &["log", "append", "payments"], b"{\"amount\": "), 2);

    let verified = run(&dir, &["log", "verify", "payments"]);
    assert_exit(&verified, 0);
    assert!(stdout(&verified).contains("VALID: log of 2 records"), "{}", stdout(&verified));
    let json = run(&dir, &["--json", "log", "verify", "payments"]);
    assert!(stdout(&json).contains(r#""valid":true"#));

    std::fs::write(dir.join("keys.jwks"), std::fs::read(dir.join("payments/keys.jwks")).unwrap()).unwrap();
    // A new log writes records of version 2: the event is checked with its salt.
    let salt = run(&dir, &["log", "salt", "payments", "--index", "0"]);
    assert_exit(&salt, 0);
    let salt = stdout(&salt).trim().to_owned();
    assert_eq!(salt.len(), 32, "16 bytes in hex: {salt}");
    let receipt = run(
        &dir,
        &["receipt", "verify", "receipt.jws", "--jwks", "keys.jwks", "--event", "event.json", "--salt-hex", &salt],
    );
    assert_exit(&receipt, 0);
    assert!(stdout(&receipt).contains("PASS  event"), "{}", stdout(&receipt));
    let wrong = run(
        &dir,
        &[
            "--json",
            "receipt",
            "verify",
            "receipt.jws",
            "--jwks",
            "keys.jwks",
            "--event",
            "wrong-event.json",
            "--salt-hex",
            &salt,
        ],
    );
    assert_exit(&wrong, 1);
    assert!(stdout(&wrong).contains(r#""name":"EVENT_MISMATCH""#));
    // Without its salt a version-2 record's event cannot be judged: an error, not
    // a verdict; and a salt is refused without an event, or when it is not hex.
    let unsalted = run(&dir, &["receipt", "verify", "receipt.jws", "--jwks", "keys.jwks", "--event", "event.json"]);
    assert_exit(&unsalted, 2);
    assert!(stderr(&unsalted).contains("INVALID_ARGUMENT") && stderr(&unsalted).contains("log salt"));
    assert_exit(&run(&dir, &["receipt", "verify", "receipt.jws", "--jwks", "keys.jwks", "--salt-hex", &salt]), 2);
    let bad_salt = ["receipt", "verify", "receipt.jws", "--jwks", "keys.jwks", "--event", "event.json"];
    assert_exit(&run(&dir, &[&bad_salt[..], &["--salt-hex", "not hex!"]].concat()), 2);
    assert_exit(&run(&dir, &[&bad_salt[..], &["--salt-hex", "5a5"]].concat()), 2);
    assert_exit(&run(&dir, &[&bad_salt[..], &["--salt-hex", "5a5a"]].concat()), 2);
    let json_salt = run(&dir, &["--json", "log", "salt", "payments", "--index", "0"]);
    assert_eq!(stdout(&json_salt).trim(), format!(r#"{{"salt_hex":"{salt}"}}"#));
    assert_exit(&run(&dir, &["log", "salt", "payments", "--index", "9"]), 2);
    // A log of version-1 records: the event alone checks, and it has no salt.
    let legacy = ["log", "init", "legacy", "--key", "key.jwk", "--id", "example.com/legacy", "--record-version", "1"];
    assert_exit(&run(&dir, &legacy), 0);
    let old = evidentia(&dir, &["log", "append", "legacy"], b"{\"amount\": 100}");
    assert_exit(&old, 0);
    std::fs::write(dir.join("legacy.jws"), &old.stdout).unwrap();
    let old_receipt = ["receipt", "verify", "legacy.jws", "--jwks", "legacy/keys.jwks", "--event", "event.json"];
    assert_exit(&run(&dir, &old_receipt), 0);
    assert_exit(&run(&dir, &[&old_receipt[..], &["--salt-hex", &salt]].concat()), 2);
    assert_exit(&run(&dir, &["log", "salt", "legacy", "--index", "0"]), 2);
    assert_exit(&run(&dir, &["receipt", "verify", "event.json", "--jwks", "keys.jwks"]), 2);

    // Damage a byte of the first receipt on disk: the log no longer verifies.
    let segment = dir.join("payments/segments/00000000000000000000.seg");
    let mut bytes = std::fs::read(&segment).unwrap();
    let receipt = std::fs::read_to_string(dir.join("receipt.jws")).unwrap();
    let at = bytes.windows(20).position(|w| w == &receipt.as_bytes()[100..120]).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(&segment, &bytes).unwrap();
    let tampered = run(&dir, &["log", "verify", "payments"]);
    assert_exit(&tampered, 1);
    assert!(stdout(&tampered).contains("record 0:"), "{}", stdout(&tampered));
    // Appending goes on after a damaged record (opening reads only what follows the
    // last entry known durable) and never cuts it: verification still names it.
    assert_exit(&evidentia(&dir, &["log", "append", "payments"], b"{}"), 0);
    assert_eq!(std::fs::read(&segment).unwrap()[..bytes.len()], bytes[..], "the damaged bytes stay as they are");
    let still = run(&dir, &["log", "verify", "payments"]);
    assert_exit(&still, 1);
    assert!(stdout(&still).contains("record 0:"), "{}", stdout(&still));
    // Damage to the last entry stops appends: that is where a torn write would be.
    let mut bytes = std::fs::read(&segment).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x01;
    std::fs::write(&segment, &bytes).unwrap();
    let refused = evidentia(&dir, &["log", "append", "payments"], b"{}");
    assert_exit(&refused, 2);
    assert!(stderr(&refused).contains("LOG_CORRUPT"), "{}", stderr(&refused));
    assert_exit(&run(&dir, &["log", "verify", "nothing-here"]), 2);
}

#[test]
fn rotation_through_the_cli() {
    let dir = workdir("rotate");
    assert_exit(&run(&dir, &["keygen", "--out", "one.jwk"]), 0);
    assert_exit(&run(&dir, &["keygen", "--out", "two.jwk"]), 0);
    assert_exit(&run(&dir, &["log", "init", "log", "--key", "one.jwk"]), 0);
    assert_exit(&evidentia(&dir, &["log", "append", "log"], b"{}"), 0);
    assert_exit(&run(&dir, &["log", "rotate", "log", "--key", "two.jwk"]), 0);
    assert_exit(&evidentia(&dir, &["log", "append", "log"], b"{}"), 0);
    // The retired key may no longer append: a usage error (2), not invalid evidence.
    let refused = evidentia(&dir, &["log", "append", "log", "--key", "one.jwk"], b"{}");
    assert_exit(&refused, 2);
    assert!(stderr(&refused).contains("KEY_NOT_CURRENT"), "{}", stderr(&refused));
    assert_exit(&run(&dir, &["log", "verify", "log"]), 0);

    // Revocation: of the current key, refused; of the retired key, a key record the
    // current key signs. Revoked from before its first record, its records (the
    // first, and the rotation's key record) fail: that is what revoking from then says.
    let keys = |dir: &Path| {
        evidentia::KeySet::from_json(&std::fs::read_to_string(dir.join("log/keys.jwks")).unwrap()).unwrap()
    };
    let kids: Vec<String> = keys(&dir).entries().iter().map(|e| e.thumbprint().to_owned()).collect();
    let current = run(&dir, &["log", "revoke", "log", "--kid", &kids[1], "--at", "2020-01-01T00:00:00Z"]);
    assert_exit(&current, 2);
    assert!(
        stderr(&current).contains("INVALID_ARGUMENT") && stderr(&current).contains("rotate"),
        "{}",
        stderr(&current)
    );
    assert_exit(&run(&dir, &["log", "revoke", "log", "--kid", &kids[0], "--at", "yesterday"]), 2);
    let revoked = run(
        &dir,
        &["log", "revoke", "log", "--kid", &kids[0], "--at", "2020-01-01T00:00:00Z", "--reason", "keyCompromise"],
    );
    assert_exit(&revoked, 0);
    assert_eq!(keys(&dir).entries()[0].validity().revocation_reason.as_deref(), Some("keyCompromise"));
    let report = run(&dir, &["--json", "log", "verify", "log"]);
    assert_exit(&report, 1);
    assert!(
        stdout(&report).contains("KEY_REVOKED") && !stdout(&report).contains("KEY_HISTORY_MISMATCH"),
        "{}",
        stdout(&report)
    );

    // keys.jwks edited to take the revocation back: the log's key history says otherwise.
    let jwks = dir.join("log/keys.jwks");
    let text = std::fs::read_to_string(&jwks).unwrap();
    let start = text.find(",\"revoked\"").unwrap();
    let end = start + text[start..].find('}').unwrap() + 1;
    std::fs::write(&jwks, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let report = run(&dir, &["--json", "log", "verify", "log"]);
    assert_exit(&report, 1);
    assert!(
        stdout(&report).contains("KEY_HISTORY_MISMATCH") && !stdout(&report).contains("KEY_REVOKED"),
        "{}",
        stdout(&report)
    );
}

#[test]
fn demo_runs_and_detects_every_tampering() {
    let dir = workdir("demo");
    let out = run(&dir, &["--json", "demo", "tour"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains(r#""success":true"#), "{text}");
    assert!(text.contains(r#""valid":true"#), "{text}");
    for name in ["EVENT_MISMATCH", "SEQUENCE_GAP", "SEQUENCE_REORDERED", "CHAIN_BROKEN"] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    // The demo refuses to write into a directory that is not empty.
    assert_exit(&run(&dir, &["demo", "tour"]), 2);
    let human = run(&dir, &["demo", "tour2"]);
    assert_exit(&human, 0);
    assert!(stdout(&human).contains("every tampering was detected"));
    assert_exit(&run(&dir, &["log", "verify", "tour2/log"]), 0);
    assert_exit(&run(&dir, &["log", "verify", "tour2/tampered-edit"]), 1);
}

#[test]
fn batch_mode_checkpoints_proofs_and_batch_receipts() {
    let dir = workdir("batch");
    assert_exit(&run(&dir, &["keygen", "--out", "key.jwk"]), 0);
    std::fs::write(dir.join("keys.jwk"), run(&dir, &["pubkey", "key.jwk"]).stdout).unwrap();
    assert_exit(
        &run(&dir, &["log", "init", "log", "--key", "key.jwk", "--id", "example.com/batch", "--mode", "batch"]),
        0,
    );
    let lines: String = (0..2500).map(|i| format!("{{\"n\": {i}, \"kind\": \"approval\"}}\n")).collect();
    let out = evidentia(&dir, &["log", "append", "log", "--batch", "-"], lines.as_bytes());
    assert_exit(&out, 0);
    let acks: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(acks.len(), 2500);
    assert!(acks[42].contains(r#""seq":42"#), "{}", acks[42]);
    assert!(acks.iter().all(|a| a.contains("checkpoint_size")));

    let checkpoint = run(&dir, &["log", "checkpoint", "log"]);
    assert_exit(&checkpoint, 0);
    assert!(stdout(&checkpoint).starts_with("example.com/batch\n2500\n"), "{}", stdout(&checkpoint));
    std::fs::write(dir.join("checkpoint.note"), &checkpoint.stdout).unwrap();

    let receipt = run(&dir, &["log", "receipt", "log", "--index", "1234"]);
    assert_exit(&receipt, 0);
    std::fs::write(dir.join("receipt.json"), &receipt.stdout).unwrap();
    std::fs::write(dir.join("event.json"), "{\"kind\":\"approval\",\"n\":1234}").unwrap();
    let salt = stdout(&run(&dir, &["log", "salt", "log", "--index", "1234"])).trim().to_owned();
    let with_event = ["receipt", "verify", "receipt.json", "--jwks", "keys.jwk", "--event", "event.json"];
    assert_exit(&run(&dir, &[&with_event[..], &["--salt-hex", &salt]].concat()), 0);
    let other_salt = stdout(&run(&dir, &["log", "salt", "log", "--index", "1233"])).trim().to_owned();
    assert_exit(&run(&dir, &[&with_event[..], &["--salt-hex", &other_salt]].concat()), 1);

    // An evidence file (SPEC.md §18) carries the batch receipt exactly, the log's keys,
    // the event and, for a record of version 2, the event's salt.
    let evidence = run(&dir, &["log", "receipt", "log", "--index", "1234", "--evidence"]);
    assert_exit(&evidence, 0);
    let file = evidentia::json::parse(&evidence.stdout).unwrap();
    let member = |name: &str| file.get(name).unwrap_or_else(|| panic!("no {name} in {}", stdout(&evidence)));
    assert_eq!(member("batch_receipt").as_str().unwrap(), stdout(&receipt).trim_end());
    assert_eq!(evidentia::canonicalize_value(member("event")).unwrap(), b"{\"kind\":\"approval\",\"n\":1234}");
    assert_eq!(member("salt_hex").as_str().unwrap(), salt);
    let keys = String::from_utf8(evidentia::canonicalize_value(member("jwks")).unwrap()).unwrap();
    let keys = evidentia::KeySet::from_json(&keys).unwrap();
    let event = evidentia::canonicalize_value(member("event")).unwrap();
    let salt_bytes = evidentia::encoding::hex_decode(&salt).unwrap();
    let batch_receipt = member("batch_receipt").as_str().unwrap();
    let verified = evidentia::verify_receipt_salted(batch_receipt, &keys, Some(&event), Some(&salt_bytes)).unwrap();
    assert!(verified.is_valid(), "{}", verified.to_text());
    assert_exit(&run(&dir, &["log", "receipt", "log", "--index", "2500", "--evidence"]), 2);
    // `evidence verify` reads it back (SPEC.md §18) and verifies it with the keys it
    // holds, or with the keys given instead.
    std::fs::write(dir.join("evidence.json"), &evidence.stdout).unwrap();
    let verified = run(&dir, &["--json", "evidence", "verify", "evidence.json"]);
    assert_exit(&verified, 0);
    assert!(stdout(&verified).contains(r#""subject":"batch_receipt""#), "{}", stdout(&verified));
    assert_exit(&run(&dir, &["evidence", "verify", "evidence.json", "--jwks", "keys.jwk"]), 0);
    assert_exit(&evidentia(&dir, &["evidence", "verify", "-"], &evidence.stdout), 0);
    let text = stdout(&evidence);
    let other_event = text.replacen("\"n\": 1234", "\"n\": 1235", 1);
    assert_ne!(other_event, text);
    std::fs::write(dir.join("other-event.json"), &other_event).unwrap();
    let mismatch = run(&dir, &["--json", "evidence", "verify", "other-event.json"]);
    assert_exit(&mismatch, 1);
    assert!(stdout(&mismatch).contains(r#""name":"EVENT_MISMATCH""#), "{}", stdout(&mismatch));
    std::fs::write(dir.join("no-keys.json"), r#"{"receipt":"a.b.c"}"#).unwrap();
    let refused = run(&dir, &["--json", "evidence", "verify", "no-keys.json"]);
    assert_exit(&refused, 2);
    assert!(stdout(&refused).contains(r#""name":"INVALID_ARGUMENT""#), "{}", stdout(&refused));

    // The checkpoint on its own.
    let checked = run(&dir, &["checkpoint", "verify", "checkpoint.note", "--jwks", "keys.jwk"]);
    assert_exit(&checked, 0);
    assert!(stdout(&checked).starts_with("VALID: the log example.com/batch of 2500 records has the root "));
    let checked = run(&dir, &["--json", "checkpoint", "verify", "checkpoint.note", "--jwks", "keys.jwk"]);
    assert_exit(&checked, 0);
    let doc = evidentia::json::parse(&checked.stdout).unwrap();
    assert_eq!(doc.get("size").and_then(Value::as_number).and_then(|n| n.as_safe_u64()), Some(2500));
    assert_eq!(doc.get("valid"), Some(&Value::Bool(true)));
    let note = std::fs::read_to_string(dir.join("checkpoint.note")).unwrap();
    std::fs::write(dir.join("grown.note"), note.replacen("\n2500\n", "\n2501\n", 1)).unwrap();
    let grown = run(&dir, &["checkpoint", "verify", "grown.note", "--jwks", "keys.jwk"]);
    assert_exit(&grown, 1);
    assert!(stderr(&grown).contains("CHECKPOINT_SIGNATURE_INVALID"), "{}", stderr(&grown));
    assert_exit(&run(&dir, &["checkpoint", "verify", "keys.jwk", "--jwks", "keys.jwk"]), 2);

    let proof = run(&dir, &["log", "prove", "log", "--index", "1234"]);
    assert_exit(&proof, 0);
    std::fs::write(dir.join("proof.json"), &proof.stdout).unwrap();
    let verified = run(
        &dir,
        &[
            "proof",
            "verify",
            "proof.json",
            "--checkpoint",
            "checkpoint.note",
            "--jwks",
            "keys.jwk",
            "--receipt",
            "receipt.json",
        ],
    );
    assert_exit(&verified, 0);
    assert!(stdout(&verified).starts_with("VALID: record 1234"));
    // The proof of one record does not prove another.
    std::fs::write(dir.join("proof-1235.json"), run(&dir, &["log", "prove", "log", "--index", "1235"]).stdout).unwrap();
    let wrong = run(
        &dir,
        &[
            "proof",
            "verify",
            "proof-1235.json",
            "--checkpoint",
            "checkpoint.note",
            "--jwks",
            "keys.jwk",
            "--receipt",
            "receipt.json",
        ],
    );
    assert_exit(&wrong, 1);

    // The log grows; the old checkpoint is consistent with the new one.
    assert_exit(&evidentia(&dir, &["log", "append", "log", "--batch"], b"{\"more\":1}\n{\"more\":2}\n"), 0);
    let newer = run(&dir, &["log", "checkpoint", "log"]);
    assert!(stdout(&newer).starts_with("example.com/batch\n2502\n"));
    std::fs::write(dir.join("newer.note"), &newer.stdout).unwrap();
    std::fs::write(dir.join("consistency.json"), run(&dir, &["log", "consistency", "log", "--from", "2500"]).stdout)
        .unwrap();
    let consistent = run(
        &dir,
        &[
            "proof",
            "verify",
            "consistency.json",
            "--checkpoint",
            "newer.note",
            "--old-checkpoint",
            "checkpoint.note",
            "--jwks",
            "keys.jwk",
        ],
    );
    assert_exit(&consistent, 0);
    // Swapping the checkpoints fails.
    let swapped = run(
        &dir,
        &[
            "proof",
            "verify",
            "consistency.json",
            "--checkpoint",
            "checkpoint.note",
            "--old-checkpoint",
            "newer.note",
            "--jwks",
            "keys.jwk",
        ],
    );
    assert_exit(&swapped, 1);
    assert_exit(&run(&dir, &["proof", "verify", "event.json", "--checkpoint", "newer.note", "--jwks", "keys.jwk"]), 2);

    // A receipt that does not verify by itself (a hash of its own proof changed) is
    // refused, although its record is in the log and proof.json proves it.
    let mut broken = evidentia::json::parse(&receipt.stdout).unwrap();
    fn member_mut<'a>(value: &'a mut Value, name: &str) -> &'a mut Value {
        let Value::Object(members) = value else { panic!("not an object") };
        &mut members.iter_mut().find(|(n, _)| n == name).unwrap().1
    }
    let Value::Array(hashes) = member_mut(member_mut(&mut broken, "proof"), "hashes") else { panic!("no hashes") };
    hashes[0] = Value::from(evidentia::encoding::b64(&[0u8; 32]).as_str());
    std::fs::write(dir.join("broken-receipt.json"), evidentia::canonicalize_value(&broken).unwrap()).unwrap();
    let refused = run(
        &dir,
        &[
            "proof",
            "verify",
            "proof.json",
            "--checkpoint",
            "checkpoint.note",
            "--jwks",
            "keys.jwk",
            "--receipt",
            "broken-receipt.json",
        ],
    );
    assert_exit(&refused, 1);
    assert!(stderr(&refused).contains("INCLUSION_PROOF_INVALID"), "{}", stderr(&refused));

    let verified = run(&dir, &["--json", "log", "verify", "log"]);
    assert_exit(&verified, 0);
    assert!(stdout(&verified).contains(r#""records":2502"#));
    // A line that is not JSON stops the run after committing the lines before it.
    let bad = evidentia(&dir, &["log", "append", "log", "--batch"], b"{\"ok\":1}\n{oops\n{\"ok\":2}\n");
    assert_exit(&bad, 2);
    assert_eq!(stdout(&bad).lines().count(), 1);
    assert!(stderr(&bad).contains("line 2"), "{}", stderr(&bad));
    assert_exit(&run(&dir, &["log", "verify", "log"]), 0);
}
