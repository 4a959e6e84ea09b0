//! Dispute packages (SPEC.md §19, §21): a partner's JWS of every algorithm partners
//! use, signed here by OpenSSL, recorded in a log and exported; `verify.sh` checks
//! the partner's signature with OpenSSL alone ("Verified OK") and `package verify`
//! agrees; a single-byte change anywhere makes both fail. A message recorded as
//! failed exports too and both say its signature does not verify.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use evidentia::encoding::{b64url, b64url_decode};
use support::partner::{ALGORITHMS, Algorithm, assert_exit, openssl, openssl_jws, openssl_sign, public_jwk};
use support::{Workdir, evidentia, text};

/// A folder holding links to the only programs verify.sh may use.
fn restricted_path(dir: &Path) -> PathBuf {
    support::restricted_path(dir, &[])
}

/// verify.sh's output, the check numbers it reported FAILED, and whether it said VALID.
fn shell_verdict(script: &Path, package: &Path, path: &Path) -> (String, Vec<u8>, bool) {
    let out = Command::new(path.join("sh")).arg(script).arg(package).env_clear().env("PATH", path).output().unwrap();
    let stdout = text(&out.stdout);
    let failed = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("FAILED  "))
        .filter_map(|l| l.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    let valid = stdout.contains("VERDICT: VALID") && out.status.code() == Some(0);
    assert!(
        valid || out.status.code() == Some(1),
        "verify.sh exit {:?}: {stdout}{}",
        out.status.code(),
        text(&out.stderr)
    );
    (stdout, failed, valid)
}

/// `package verify --json`: the failed check numbers, whether valid, and the report.
fn evidentia_verdict(dir: &Path, package: &Path) -> (Vec<u8>, bool, String) {
    let out = evidentia(dir, &["--json", "package", "verify", package.to_str().unwrap()]);
    let report = evidentia::json::parse(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    let checks = report.get("checks").and_then(|c| c.as_array()).unwrap();
    let failed = checks
        .iter()
        .filter(|c| c.get("passed") == Some(&evidentia::json::Value::Bool(false)))
        .map(|c| c.get("number").and_then(|n| n.as_number()).unwrap().as_f64() as u8)
        .collect();
    let valid = report.get("valid") == Some(&evidentia::json::Value::Bool(true));
    assert_eq!(out.status.code(), Some(if valid { 0 } else { 1 }));
    (failed, valid, text(&out.stdout))
}

/// The check that covers a file's content beyond check 1, which covers them all.
fn covering_check(file: &str) -> Option<u8> {
    match file {
        "public-key.pem" | "public-key.jwk" => Some(2),
        "receipt.jws" | "signing-input.txt" | "signature.der" | "record.json" => Some(4),
        "inclusion-proof.json" => Some(5),
        "checkpoint.txt" => Some(6),
        "event.json" => Some(7),
        "message-export.json" | "request-message-export.json" => None,
        name if name.starts_with("request-") => Some(10),
        name if name.starts_with("message") => Some(9),
        _ => None,
    }
}

/// Byte positions to change in a file of `len` bytes: every one up to `all`, else
/// `all` positions spread evenly from the first to the last, shifted by `salt` so
/// that runs for different algorithms cover different bytes.
fn positions(len: usize, all: usize, salt: usize) -> Vec<usize> {
    if len <= all {
        return (0..len).collect();
    }
    if all == 1 {
        return vec![(salt * 7919) % len];
    }
    let mut out: Vec<usize> = (0..all).map(|i| (i * (len - 1) / (all - 1) + salt) % len).collect();
    out.extend([0, len - 1]);
    out.sort_unstable();
    out.dedup();
    out
}

/// A log with a partner's key pair and keys file for `alg`: returns the JWS signer.
struct Partner<'a> {
    dir: &'a Path,
    alg: &'a Algorithm,
    key: String,
    kid: String,
}

impl Partner<'_> {
    fn new<'a>(dir: &'a Path, alg: &'a Algorithm) -> Partner<'a> {
        let key = format!("{}.pem", alg.alg);
        let mut genpkey = vec!["genpkey"];
        genpkey.extend(alg.genpkey);
        genpkey.extend(["-out", &key]);
        openssl(dir, &genpkey);
        std::fs::write(dir.join(format!("{key}.pub")), openssl(dir, &["pkey", "-in", &key, "-pubout"])).unwrap();
        let kid = format!("issuer-{}", alg.alg.to_lowercase());
        let jwk = public_jwk(dir, &key, alg, &kid);
        std::fs::write(dir.join("partner.jwks"), format!(r#"{{"keys":[{jwk}]}}"#)).unwrap();
        std::fs::write(
            dir.join("provenance.json"),
            r#"{"jwks_url":"https://issuer.example/.well-known/jwks.json","fetched_at":"2026-03-01T09:00:00Z","partner_id":"BANK-042","established_by":"jwks_fetch"}"#,
        )
        .unwrap();
        Partner { dir, alg, key, kid }
    }

    fn jws(&self, payload: &str) -> String {
        openssl_jws(self.dir, &self.key, self.alg, &self.kid, payload.as_bytes())
    }
}

fn new_log(dir: &Path) -> PathBuf {
    assert_exit(&evidentia(dir, &["keygen", "--out", "operator.jwk"]), 0);
    assert_exit(
        &evidentia(dir, &["log", "init", "log", "--key", "operator.jwk", "--id", "scheme.example/disputes"]),
        0,
    );
    dir.join("log")
}

/// Records `jws` with the partner's keys; `extra` adds arguments (a link, failure).
fn record(dir: &Path, jws: &str, direction: &str, extra: &[&str]) {
    std::fs::write(dir.join("message.jws"), jws).unwrap();
    let mut args = vec![
        "message",
        "record",
        "log",
        "--jws",
        "message.jws",
        "--keys",
        "partner.jwks",
        "--provenance",
        "provenance.json",
        "--direction",
        direction,
    ];
    args.extend(extra);
    assert_exit(&evidentia(dir, &args), 0);
}

fn export(dir: &Path, index: u64, out: &str) -> PathBuf {
    assert_exit(&evidentia(dir, &["log", "checkpoint", "log"]), 0);
    assert_exit(&evidentia(dir, &["export", "log", "--index", &index.to_string(), "--out", out]), 0);
    dir.join(out)
}

/// How many positions of a file to change through verify.sh and package verify
/// (about half a second a run), and in process: the files a signed message adds
/// and event.json, which holds it, at `shell` and `rust` places; the files every
/// package has, whose checks cli/tests/package.rs already covers byte by byte, at
/// one place through verify.sh and 16 in process.
fn sampled(name: &str, shell: usize, rust: usize) -> (usize, usize) {
    if name.starts_with("message") || name.starts_with("request-") || name == "event.json" {
        (shell, rust)
    } else {
        (1, 16)
    }
}

/// Every file of the package, with one bit flipped at sampled positions
/// ([`sampled`]), fails both verify.sh and package verify, each at check 1 and at
/// the check that covers the file. Returns the numbers of changes run through
/// verify.sh and package verify, and in process.
fn mutate(
    dir: &Path,
    package: &Path,
    script: &Path,
    path: &Path,
    shell_positions: usize,
    rust_positions: usize,
    salt: usize,
) -> (usize, usize) {
    let mut names: Vec<String> =
        std::fs::read_dir(package).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut shell_runs = 0;
    for name in &names {
        let original = std::fs::read(package.join(name)).unwrap();
        for at in positions(original.len(), sampled(name, shell_positions, rust_positions).0, salt) {
            let mut bytes = original.clone();
            bytes[at] ^= 0x01;
            std::fs::write(package.join(name), &bytes).unwrap();
            let (stdout, shell_failed, shell_valid) = shell_verdict(script, package, path);
            let (failed, valid, _) = evidentia_verdict(dir, package);
            let what = format!("{name} byte {at}");
            assert!(!shell_valid && !valid, "{what}: a change went unnoticed\n{stdout}");
            assert!(shell_failed.contains(&1) && failed.contains(&1), "{what}: check 1 did not fail");
            if let Some(check) = covering_check(name) {
                assert!(failed.contains(&check), "{what}: package verify failed {failed:?}, not {check}");
                assert!(
                    shell_failed.contains(&check),
                    "{what}: verify.sh failed {shell_failed:?}, not {check}\n{stdout}"
                );
            }
            shell_runs += 1;
        }
        std::fs::write(package.join(name), &original).unwrap();
    }
    let files = evidentia_store::read_package(package).unwrap();
    let mut rust_runs = 0;
    for (i, file) in files.iter().enumerate() {
        for at in positions(file.bytes.len(), sampled(&file.name, shell_positions, rust_positions).1, salt) {
            let mut changed = files.clone();
            changed[i].bytes[at] ^= 0x01;
            let failed: Vec<u8> = evidentia::package::verify_package(&changed)
                .iter()
                .filter(|c| c.failure.is_some())
                .map(|c| c.number)
                .collect();
            assert!(failed.contains(&1), "{} byte {at}: {failed:?}", file.name);
            if let Some(check) = covering_check(&file.name) {
                assert!(failed.contains(&check), "{} byte {at}: {failed:?}", file.name);
            }
            rust_runs += 1;
        }
    }
    (shell_runs, rust_runs)
}

/// Runs per message file per algorithm through verify.sh and package verify, and
/// in process (every byte of files up to this size, else this many spread over the
/// file, shifted per algorithm); see [`sampled`].
const SHELL_POSITIONS: usize = 3;
const RUST_POSITIONS: usize = 96;

/// A partner's message signed with `ALGORITHMS[n]`: exported, it passes verify.sh
/// (OpenSSL prints `Verified OK` for the partner's signature) and package verify,
/// and every sampled single-bit change of every file fails both.
fn check_algorithm(n: usize) {
    let alg = &ALGORITHMS[n];
    let work = Workdir::new(&format!("dispute-{}", alg.alg));
    let dir = &work.0;
    let path = restricted_path(dir);
    new_log(dir);
    let partner = Partner::new(dir, alg);
    record(dir, &partner.jws(&format!(r#"{{"amount":"30000.00","instruction_id":"INS-{n}"}}"#)), "inbound", &[]);
    let package = export(dir, 0, "package");
    let script = dir.join("trusted-verify.sh");
    std::fs::copy(package.join("verify.sh"), &script).unwrap();
    for name in [
        "message.jws",
        "message-keys.jwks",
        "message-provenance.json",
        "message-verification.json",
        "message-export.json",
        "message-signing-input.txt",
        "message-payload.bin",
        "message-signature.bin",
        "message-key.jwk",
        "message-key.pem",
    ] {
        assert!(package.join(name).is_file(), "{}: {name}", alg.alg);
    }
    assert_eq!(
        std::fs::read_to_string(package.join("message-payload.bin")).unwrap(),
        format!(r#"{{"amount":"30000.00","instruction_id":"INS-{n}"}}"#)
    );
    assert_eq!(
        std::fs::read(package.join("message-key.pem")).unwrap(),
        std::fs::read(dir.join(format!("{}.pem.pub", alg.alg))).unwrap()
    );

    let (stdout, failed, valid) = shell_verdict(&script, &package, &path);
    assert!(valid && failed.is_empty(), "{}: {stdout}", alg.alg);
    assert_eq!(stdout.matches("Verified OK").count(), 3, "{}: {stdout}", alg.alg);
    assert!(
        stdout.contains(&format!("Verified OK\nOK      9. the partner's {} signature verifies", alg.alg)),
        "{stdout}"
    );
    let (failed, valid, report) = evidentia_verdict(dir, &package);
    assert!(valid && failed.is_empty(), "{}: {report}", alg.alg);
    assert!(report.contains(r#""number": 9"#), "{report}");
    let (failed, valid, _) = evidentia_verdict(dir, &package.with_extension("tar.gz"));
    assert!(valid && failed.is_empty());

    let (shell_runs, rust_runs) = mutate(dir, &package, &script, &path, SHELL_POSITIONS, RUST_POSITIONS, n);
    eprintln!("{}: {shell_runs} changes through verify.sh and package verify, {rust_runs} in process", alg.alg);
    assert!(shell_runs > 45 && rust_runs > 1000, "{shell_runs} {rust_runs}");
}

#[test]
fn es256_message_package() {
    check_algorithm(0);
}

#[test]
fn es384_message_package() {
    check_algorithm(1);
}

#[test]
fn es512_message_package() {
    check_algorithm(2);
}

#[test]
fn rs256_message_package() {
    check_algorithm(3);
}

#[test]
fn ps256_message_package() {
    check_algorithm(4);
}

#[test]
fn ps384_message_package() {
    check_algorithm(5);
}

#[test]
fn eddsa_message_package() {
    check_algorithm(6);
}

#[test]
fn a_message_recorded_as_failed_exports_and_both_verifiers_say_it_does_not_verify() {
    let work = Workdir::new("dispute-failed");
    let dir = &work.0;
    let path = restricted_path(dir);
    new_log(dir);
    let alg = &ALGORITHMS[3];
    let partner = Partner::new(dir, alg);
    let jws = partner.jws(r#"{"amount":"1.00"}"#);
    let mut signature = b64url_decode(jws.rsplit('.').next().unwrap()).unwrap();
    signature[4] ^= 1;
    let bad = format!("{}.{}", &jws[..jws.rfind('.').unwrap()], b64url(&signature));
    record(dir, &bad, "inbound", &["--record-failure"]);
    let package = export(dir, 0, "package");
    let script = dir.join("trusted-verify.sh");
    std::fs::copy(package.join("verify.sh"), &script).unwrap();
    let (stdout, failed, valid) = shell_verdict(&script, &package, &path);
    assert!(valid && failed.is_empty(), "{stdout}");
    assert_eq!(stdout.matches("Verified OK").count(), 2, "only Evidentia's own signatures verify: {stdout}");
    assert!(stdout.contains("9. the partner's RS256 signature does NOT verify with the key"), "{stdout}");
    assert!(stdout.contains("as recorded: invalid (SIGNATURE_INVALID)"), "{stdout}");
    let (failed, valid, report) = evidentia_verdict(dir, &package);
    assert!(valid && failed.is_empty(), "{report}");
    assert!(report.contains("does NOT verify"), "{report}");

    // The recorded verdict is covered like the rest: a changed byte fails both.
    let (shell_runs, rust_runs) = mutate(dir, &package, &script, &path, 2, 64, 0);
    eprintln!("failed: {shell_runs} changes through verify.sh and package verify, {rust_runs} in process");
    assert!(shell_runs > 30 && rust_runs > 600, "{shell_runs} {rust_runs}");
}

/// Replaces the files of `package` named in `files` (removing those given `None`)
/// and writes SHA256SUMS again, so that only the checks after 1 judge the change.
fn replace_files(package: &Path, files: &[(&str, Option<Vec<u8>>)]) {
    for (name, bytes) in files {
        match bytes {
            Some(bytes) => std::fs::write(package.join(name), bytes).unwrap(),
            None => std::fs::remove_file(package.join(name)).unwrap(),
        }
    }
    let mut names: Vec<String> =
        std::fs::read_dir(package).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.retain(|n| n != "SHA256SUMS");
    names.sort();
    let sums: String = names
        .iter()
        .map(|n| format!("{}  {n}\n", evidentia::Digest::sha256(&std::fs::read(package.join(n)).unwrap()).to_hex()))
        .collect();
    std::fs::write(package.join("SHA256SUMS"), sums).unwrap();
}

#[test]
fn a_signed_request_and_the_partners_signed_response_export_as_one_package() {
    let work = Workdir::new("dispute-pair");
    let dir = &work.0;
    let path = restricted_path(dir);
    new_log(dir);
    // Record 0: the operator's signed request (ES256), sent; record 1: an ordinary
    // event; record 2: the partner's signed response (EdDSA), answering record 0.
    let ours = Partner::new(dir, &ALGORITHMS[0]);
    record(dir, &ours.jws(r#"{"request":"authorize","amount":"30000.00"}"#), "outbound", &[]);
    std::fs::write(dir.join("event.json"), r#"{"type":"note"}"#).unwrap();
    assert_exit(&evidentia(dir, &["log", "append", "log", "event.json"]), 0);
    let partner = Partner::new(dir, &ALGORITHMS[6]);
    record(dir, &partner.jws(r#"{"response":"approved","amount":"30000.00"}"#), "inbound", &["--link", "0"]);
    let package = export(dir, 2, "pair");
    let other = dir.join("other");
    assert_exit(&evidentia(dir, &["export", "log", "--index", "1", "--out", "other"]), 0);
    let script = dir.join("trusted-verify.sh");
    std::fs::copy(package.join("verify.sh"), &script).unwrap();
    assert!(package.join("request-message.jws").is_file() && package.join("request-receipt.jws").is_file());

    let (stdout, failed, valid) = shell_verdict(&script, &package, &path);
    assert!(valid && failed.is_empty(), "{stdout}");
    assert_eq!(stdout.matches("Verified OK").count(), 5, "{stdout}");
    assert!(stdout.contains("OK      9. the partner's EdDSA signature verifies"), "{stdout}");
    assert!(stdout.contains("OK      10. the message answers record 0 of this log"), "{stdout}");
    assert!(stdout.contains("OK      10b. the partner's ES256 signature verifies"), "{stdout}");
    let (failed, valid, report) = evidentia_verdict(dir, &package);
    assert!(valid && failed.is_empty(), "{report}");
    assert!(report.contains(r#""number": 10"#), "{report}");
    let explained = std::fs::read_to_string(package.join("VERIFICATION.md")).unwrap();
    assert!(explained.contains("does not prove that the key belongs to the partner"), "{explained}");
    assert!(explained.contains("`partner_id`"), "{explained}");

    // The request's evidence swapped for another record's (SHA256SUMS written again):
    // the link names record 0, not it, so check 10 alone fails, in both.
    let from_other = |name: &str| Some(std::fs::read(other.join(name)).unwrap());
    let mut swap: Vec<(&str, Option<Vec<u8>>)> = vec![
        ("request-receipt.jws", from_other("receipt.jws")),
        ("request-signing-input.txt", from_other("signing-input.txt")),
        ("request-signature.der", from_other("signature.der")),
        ("request-record.json", from_other("record.json")),
        ("request-event.json", from_other("event.json")),
        ("request-inclusion-proof.json", from_other("inclusion-proof.json")),
    ];
    let names: Vec<String> = std::fs::read_dir(&package)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("request-message"))
        .collect();
    swap.extend(names.iter().map(|n| (n.as_str(), None)));
    let saved = dir.join("saved");
    std::fs::create_dir(&saved).unwrap();
    for entry in std::fs::read_dir(&package).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), saved.join(entry.file_name())).unwrap();
    }
    replace_files(&package, &swap);
    let (stdout, failed, valid) = shell_verdict(&script, &package, &path);
    assert!(!valid && failed == [10], "{stdout}");
    assert!(stdout.contains("does not name request-record.json"), "{stdout}");
    let (failed, valid, report) = evidentia_verdict(dir, &package);
    assert!(!valid && failed == [10], "{report}");
    std::fs::remove_dir_all(&package).unwrap();
    std::fs::rename(&saved, &package).unwrap();
    assert!(shell_verdict(&script, &package, &path).2);

    // Every file, the request's included: a changed byte fails both.
    let (shell_runs, rust_runs) = mutate(dir, &package, &script, &path, 2, 48, 1);
    eprintln!("pair: {shell_runs} changes through verify.sh and package verify, {rust_runs} in process");
    assert!(shell_runs > 50 && rust_runs > 1200, "{shell_runs} {rust_runs}");
}

#[test]
fn detached_and_unencoded_payloads_export_and_verify() {
    let work = Workdir::new("dispute-payloads");
    let dir = &work.0;
    let path = restricted_path(dir);
    new_log(dir);
    let alg = &ALGORITHMS[6];
    let partner = Partner::new(dir, alg);
    let sign = |input: &str| b64url(&openssl_sign(dir, &partner.key, alg, input.as_bytes()));
    // Record 0: detached; 1: RFC 7797 unencoded, with characters JSON escapes;
    // 2: unencoded and detached, answering record 1.
    let payload = r#"{"amount":"5.00","note":"café \"q\""}"#;
    std::fs::write(dir.join("payload.bin"), payload).unwrap();
    let header = b64url(br#"{"alg":"EdDSA","kid":"issuer-eddsa"}"#);
    let detached = format!("{header}..{}", sign(&format!("{header}.{}", b64url(payload.as_bytes()))));
    record(dir, &detached, "inbound", &["--payload", "payload.bin"]);
    let header = b64url(br#"{"alg":"EdDSA","b64":false,"crit":["b64"],"kid":"issuer-eddsa"}"#);
    let raw = r#"{"amount":"7","ref":"A \"x\" \\ y"}"#;
    let unencoded = format!("{header}.{raw}.{}", sign(&format!("{header}.{raw}")));
    record(dir, &unencoded, "inbound", &[]);
    std::fs::write(dir.join("raw.bin"), raw).unwrap();
    let both = format!("{header}..{}", sign(&format!("{header}.{raw}")));
    record(dir, &both, "outbound", &["--payload", "raw.bin", "--link", "1"]);
    assert_exit(&evidentia(dir, &["log", "checkpoint", "log"]), 0);
    for (index, payload) in [(0, payload), (1, raw), (2, raw)] {
        let out = format!("package-{index}");
        assert_exit(&evidentia(dir, &["export", "log", "--index", &index.to_string(), "--out", &out]), 0);
        let package = dir.join(&out);
        assert_eq!(std::fs::read_to_string(package.join("message-payload.bin")).unwrap(), payload);
        let script = dir.join("trusted-verify.sh");
        std::fs::copy(package.join("verify.sh"), &script).unwrap();
        let (stdout, failed, valid) = shell_verdict(&script, &package, &path);
        assert!(valid && failed.is_empty(), "{index}: {stdout}");
        let (failed, valid, report) = evidentia_verdict(dir, &package);
        assert!(valid && failed.is_empty(), "{index}: {report}");
        if index == 2 {
            assert!(stdout.contains("OK      10b. the partner's EdDSA signature verifies"), "{stdout}");
            let (shell_runs, rust_runs) = mutate(dir, &package, &script, &path, 1, 48, index);
            eprintln!("payloads: {shell_runs} changes through verify.sh and package verify, {rust_runs} in process");
        }
    }
}
