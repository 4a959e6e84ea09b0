//! `evidentia commitment`: the commitments of testvectors/commitments.json made
//! byte for byte, disclosures checked (exit 0) or refused (exit 1 for a mismatch,
//! 2 for malformed input), keyed hashes as OpenSSL computes them.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::process::Command;

use evidentia::json::Value;
use support::{Workdir, evidentia, text};

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testvectors/commitments.json");
    evidentia::json::parse(&std::fs::read(path).unwrap()).unwrap()
}

fn str_of<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or_else(|| panic!("no {name}"))
}

fn list<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name).and_then(Value::as_array).unwrap()
}

#[test]
fn commitments_are_made_as_the_vectors_say() {
    let work = Workdir::new("commitment-make");
    let dir = &work.0;
    for case in list(&vectors(), "commitments") {
        std::fs::write(dir.join("event.json"), str_of(case, "event")).unwrap();
        let out =
            evidentia(dir, &["--json", "commitment", "make", "event.json", "--salt-hex", str_of(case, "salt_hex")]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let made = evidentia::json::parse(&out.stdout).unwrap();
        for member in ["commitment", "disclosures", "event_digest", "salt_hex"] {
            assert_eq!(made.get(member), case.get(member), "{}: {member}", str_of(case, "name"));
        }
    }
    // A fresh salt each time, 16 bytes, given back; a short or non-hex salt is refused.
    std::fs::write(dir.join("event.json"), r#"{"amount":1}"#).unwrap();
    let salt =
        |out: &std::process::Output| str_of(&evidentia::json::parse(&out.stdout).unwrap(), "salt_hex").to_owned();
    let (a, b) = (
        evidentia(dir, &["--json", "commitment", "make", "event.json"]),
        evidentia(dir, &["--json", "commitment", "make", "event.json"]),
    );
    assert_eq!(salt(&a).len(), 32);
    assert_ne!(salt(&a), salt(&b));
    for bad in ["00", "+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f", "zz"] {
        let out = evidentia(dir, &["commitment", "make", "event.json", "--salt-hex", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("INVALID_ARGUMENT"), "{}", text(&out.stderr));
    }
}

#[test]
fn disclosures_are_checked_with_the_exit_status_of_a_verdict() {
    let work = Workdir::new("commitment-check");
    let dir = &work.0;
    for case in list(&vectors(), "checks") {
        std::fs::write(dir.join("commitment.json"), str_of(case, "commitment")).unwrap();
        let mut args =
            vec!["--json", "commitment", "check", "commitment.json", "--event-digest", str_of(case, "event_digest")];
        for d in list(case, "disclosures") {
            args.extend(["--disclosure", d.as_str().unwrap()]);
        }
        let out = evidentia(dir, &args);
        let name = str_of(case, "name");
        match case.get("error").and_then(Value::as_str) {
            None => {
                assert!(out.status.success(), "{name}: {}", text(&out.stderr));
                let shown = evidentia::json::parse(&out.stdout).unwrap();
                assert_eq!(
                    (shown.get("disclosed"), shown.get("undisclosed")),
                    (case.get("disclosed"), case.get("undisclosed")),
                    "{name}"
                );
            }
            Some(code) => {
                let expected = if code.ends_with("MISMATCH") { 1 } else { 2 };
                assert_eq!(out.status.code(), Some(expected), "{name}: {}", text(&out.stderr));
                // --json gives the error as JSON on standard output.
                assert!(text(&out.stdout).contains(&format!("\"name\":\"{code}\"")), "{name}: {}", text(&out.stdout));
            }
        }
    }
}

#[test]
fn a_disclosure_too_long_for_an_argument_is_read_from_a_file() {
    let work = Workdir::new("commitment-file");
    let dir = &work.0;
    let event = format!(r#"{{"note":"{}","amount":5}}"#, "x".repeat(200_000));
    std::fs::write(dir.join("event.json"), event).unwrap();
    let out = evidentia(dir, &["--json", "commitment", "make", "event.json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let made = evidentia::json::parse(&out.stdout).unwrap();
    std::fs::write(dir.join("commitment.json"), str_of(&made, "commitment")).unwrap();
    let lines: Vec<&str> = list(&made, "disclosures").iter().map(|d| str_of(d, "disclosure")).collect();
    std::fs::write(dir.join("disclosures.txt"), lines.join("\n") + "\n").unwrap();
    let digest = str_of(&made, "event_digest");
    let out = evidentia(
        dir,
        &[
            "--json",
            "commitment",
            "check",
            "commitment.json",
            "--event-digest",
            digest,
            "--disclosure-file",
            "disclosures.txt",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = evidentia::json::parse(&out.stdout).unwrap();
    assert_eq!(shown.get("undisclosed").and_then(Value::as_number).and_then(|n| n.as_safe_u64()), Some(0));
    assert_eq!(shown.get("disclosed").and_then(|d| d.get("amount")), Some(&Value::Number(5.into())));
}

#[test]
fn keyed_hashes_are_openssls_hmac() {
    let work = Workdir::new("commitment-keyed-hash");
    let dir = &work.0;
    let key: Vec<u8> = (0u8..32).collect();
    std::fs::write(dir.join("key.bin"), &key).unwrap();
    let out = evidentia(dir, &["commitment", "keyed-hash", "--key", "key.bin", "--value", "DE89370400440532013000"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(dir.join("value.txt"), "DE89370400440532013000").unwrap();
    let openssl = Command::new("openssl")
        .args(["dgst", "-sha256", "-mac", "HMAC", "-macopt"])
        .arg(format!("hexkey:{}", evidentia::encoding::hex(&key)))
        .arg(dir.join("value.txt"))
        .output();
    let digits = text(&openssl.unwrap().stdout).rsplit("= ").next().unwrap().trim().to_owned();
    assert_eq!(text(&out.stdout).trim(), format!("hmac-sha256:{digits}"));
    std::fs::write(dir.join("short.bin"), b"0123456789abcde").unwrap();
    let out = evidentia(dir, &["commitment", "keyed-hash", "--key", "short.bin", "--value", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("INVALID_ARGUMENT"));
}
