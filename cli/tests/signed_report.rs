//! Reports that are evidence themselves (SPEC §14, §14.1): every report states when
//! it was made, by which version and over which tree; `--sign KEY` signs it and
//! `report verify` checks it, refusing a changed report, a report signed by another
//! key and anything that is not a signed report.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;

use evidentia::json::{Value, parse};
use support::{Workdir, evidentia, text};

fn run(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let out = evidentia(dir, args);
    (text(&out.stdout), text(&out.stderr), out.status.code().unwrap())
}

fn member<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |v, name| v.get(name).unwrap_or_else(|| panic!("no {name} in {value:?}")))
}

/// A work folder with a log of five events, a receipt, and a reporting key apart
/// from the log's.
fn setup(name: &str) -> Workdir {
    let work = Workdir::new(name);
    let dir = &work.0;
    for key in ["key", "reporter"] {
        std::fs::write(dir.join(format!("{key}.jwk")), evidentia(dir, &["keygen"]).stdout).unwrap();
        std::fs::write(dir.join(format!("{key}.pub.jwk")), evidentia(dir, &["pubkey", &format!("{key}.jwk")]).stdout)
            .unwrap();
    }
    assert_eq!(run(dir, &["log", "init", "log", "--key", "key.jwk", "--id", "example.com/reports"]).2, 0);
    let events: String = (0..5).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    std::fs::write(dir.join("events.jsonl"), events).unwrap();
    let (receipts, err, code) = run(dir, &["log", "append", "log", "--batch", "events.jsonl"]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(dir.join("receipt.jws"), receipts.lines().next().unwrap()).unwrap();
    work
}

#[test]
fn a_signed_log_report_states_when_and_over_which_tree_and_verifies() {
    let work = setup("signed-log-report");
    let dir = &work.0;
    let (jws, err, code) = run(dir, &["log", "verify", "log", "--jwks", "key.pub.jwk", "--sign", "reporter.jwk"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(jws.lines().count(), 1, "only the JWS goes to standard output: {jws}");
    assert!(err.contains("VALID: log of 5 records"), "{err}");
    std::fs::write(dir.join("report.jws"), &jws).unwrap();

    let (out, err, code) = run(dir, &["report", "verify", "report.jws", "--jwks", "reporter.pub.jwk"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("AUTHENTIC: a log report signed by key"), "{out}");
    assert!(out.contains("it says: VALID: log of 5 records"), "{out}");

    let (out, _, code) = run(dir, &["--json", "report", "verify", "report.jws", "--jwks", "reporter.pub.jwk"]);
    assert_eq!(code, 0);
    let doc = parse(out.as_bytes()).unwrap();
    let report = member(&doc, &["report"]);
    assert!(member(report, &["made_at"]).as_str().is_some_and(|t| t.starts_with("20")), "{out}");
    assert_eq!(member(report, &["evidentia_version"]).as_str(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(member(report, &["tree", "size"]).as_number().and_then(|n| n.as_safe_u64()), Some(5));
    // The tree is the one the log's checkpoint of 5 records commits to.
    let (note, _, _) = run(dir, &["log", "checkpoint", "log"]);
    let root = note.lines().nth(2).unwrap();
    assert_eq!(member(report, &["tree", "root"]).as_str(), Some(root));

    // An unsigned report states the same, with its time.
    let (out, _, code) = run(dir, &["--json", "log", "verify", "log"]);
    assert_eq!(code, 0);
    let plain = parse(out.as_bytes()).unwrap();
    assert!(member(&plain, &["made_at"]).as_str().is_some());
    assert_eq!(member(&plain, &["tree", "root"]).as_str(), Some(root));
}

#[test]
fn an_authentic_report_that_says_invalid_exits_1() {
    let work = setup("signed-invalid-report");
    let dir = &work.0;
    std::fs::write(dir.join("other.json"), "{\"n\":99}").unwrap();
    let (salt, _, _) = run(dir, &["log", "salt", "log", "--index", "0"]);
    let args = [
        "receipt",
        "verify",
        "receipt.jws",
        "--jwks",
        "key.pub.jwk",
        "--event",
        "other.json",
        "--salt-hex",
        salt.trim(),
    ];
    let (jws, err, code) = run(dir, &[&args[..], &["--sign", "reporter.jwk"]].concat());
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with("INVALID: receipt"), "{err}");
    std::fs::write(dir.join("report.jws"), &jws).unwrap();
    let (out, err, code) = run(dir, &["report", "verify", "report.jws", "--jwks", "reporter.pub.jwk"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.starts_with("AUTHENTIC: a receipt report"), "{out}");
    // It names the record it verified, and the keys it trusted.
    assert!(out.contains("  record: 0 (sha256:"), "{out}");
    let kid = parse(&std::fs::read(dir.join("key.pub.jwk")).unwrap()).unwrap();
    let kid = kid.get("kid").and_then(Value::as_str).unwrap().to_owned();
    assert!(out.contains(&format!("verified with the keys {kid}")), "{out}");
    assert!(out.contains("it says: INVALID: receipt"), "{out}");
}

#[test]
fn a_changed_report_another_signer_and_what_is_no_report_are_refused() {
    let work = setup("signed-report-refused");
    let dir = &work.0;
    // A report vouches only for keys given to it, never for the keys that came
    // with the evidence: a forger's own log cannot be made into a signed VALID.
    let (out, err, code) = run(dir, &["log", "verify", "log", "--sign", "reporter.jwk"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("--jwks"), "{err}");
    let (jws, _, code) = run(dir, &["log", "verify", "log", "--jwks", "key.pub.jwk", "--sign", "reporter.jwk"]);
    assert_eq!(code, 0);
    let parts: Vec<&str> = jws.trim().split('.').collect();
    let payload = evidentia::encoding::b64url_decode(parts[1]).unwrap();
    let changed = String::from_utf8(payload).unwrap().replace("\"records\":5", "\"records\":4");
    let forged = format!("{}.{}.{}", parts[0], evidentia::encoding::b64url(changed.as_bytes()), parts[2]);
    std::fs::write(dir.join("forged.jws"), forged).unwrap();
    std::fs::write(dir.join("report.jws"), &jws).unwrap();

    let verify = |file: &str, keys: &str| run(dir, &["report", "verify", file, "--jwks", keys]);
    let (_, err, code) = verify("forged.jws", "reporter.pub.jwk");
    assert_eq!((code, err.contains("[SIGNATURE_INVALID]")), (1, true), "{err}");
    let (_, err, code) = verify("report.jws", "key.pub.jwk");
    assert_eq!((code, err.contains("[KEY_NOT_FOUND]")), (1, true), "{err}");
    // A receipt is a JWS the log's key signed, but no report.
    let (_, err, code) = verify("receipt.jws", "key.pub.jwk");
    assert_eq!((code, err.contains("[REPORT_MALFORMED]")), (2, true), "{err}");
    std::fs::write(dir.join("empty.jws"), "").unwrap();
    let (_, err, code) = verify("empty.jws", "reporter.pub.jwk");
    assert_eq!((code, err.contains("[JWS_MALFORMED]")), (2, true), "{err}");
    // A key that cannot be read fails before anything is verified.
    let (out, err, code) = run(dir, &["log", "verify", "log", "--jwks", "key.pub.jwk", "--sign", "missing.jwk"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
}
