//! Evidence packages: `evidentia export` writes them, `verify.sh` checks them with
//! only OpenSSL and POSIX tools on a PATH without Evidentia, `evidentia package
//! verify` reaches the same verdicts, and a single-byte change to any file makes
//! both fail at the check that covers it.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use support::{LocalTsa, TsaKey, Workdir, evidentia, text};

/// A folder holding links to the only programs verify.sh may use.
fn restricted_path(dir: &Path) -> PathBuf {
    support::restricted_path(dir, &[])
}

/// The check numbers a run reported FAILED, and whether the verdict was VALID.
fn shell_verdict(script: &Path, package: &Path, path: &Path) -> (Vec<u8>, bool) {
    let out = Command::new(path.join("sh")).arg(script).arg(package).env_clear().env("PATH", path).output().unwrap();
    let stdout = text(&out.stdout);
    let failed = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("FAILED  "))
        // "4a." counts as check 4.
        .filter_map(|l| l.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    let valid = stdout.contains("VERDICT: VALID") && out.status.code() == Some(0);
    assert!(
        valid || out.status.code() == Some(1),
        "verify.sh exit {:?}: {stdout}{}",
        out.status.code(),
        text(&out.stderr)
    );
    (failed, valid)
}

fn evidentia_verdict(dir: &Path, package: &Path) -> (Vec<u8>, bool) {
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
    (failed, valid)
}

/// The check that covers each file's content, beyond check 1 (SHA256SUMS), which
/// covers them all. Files that only inform people have none.
fn covering_check(file: &str, batch: bool) -> Option<u8> {
    match file {
        "public-key.pem" | "public-key.jwk" => Some(2),
        "receipt.jws" | "batch-receipt.json" | "signing-input.txt" | "signature.der" => Some(4),
        "record.json" if !batch => Some(4),
        "record.json" | "inclusion-proof.json" => Some(5),
        "checkpoint.txt" | "checkpoint-key.pem" => Some(6),
        "event.json" => Some(7),
        "disclosures.txt" => Some(13),
        "timestamp.tst" | "tsa-root.pem" | "tsa-chain.pem" => Some(8),
        _ => None,
    }
}

fn make_log(dir: &Path, mode: &str) -> PathBuf {
    make_log_with_id(dir, mode, &format!("example.com/{mode}"))
}

fn make_log_with_id(dir: &Path, mode: &str, id: &str) -> PathBuf {
    let key = dir.join("key.jwk");
    std::fs::write(&key, evidentia(dir, &["keygen"]).stdout).unwrap();
    let log = dir.join(format!("log-{mode}"));
    let out = evidentia(dir, &["log", "init", "--key", "key.jwk", "--id", id, "--mode", mode, log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events: String = (0..13).map(|i| format!("{{\"type\":\"approval\",\"n\":{i},\"note\":\"café\"}}\n")).collect();
    std::fs::write(dir.join("events.jsonl"), events).unwrap();
    let out = evidentia(dir, &["log", "append", "--batch", log.to_str().unwrap(), "events.jsonl"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = evidentia(dir, &["log", "checkpoint", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    log
}

/// A log whose newest checkpoint has a trusted timestamp from a local OpenSSL TSA:
/// P-256 and a root for the receipt log, RSA and an intermediate (not embedded in
/// the token, so the package carries it) for the batch log.
fn make_stamped_log(dir: &Path, mode: &str) -> PathBuf {
    let log = make_log(dir, mode);
    let tsa = if mode == "batch" {
        LocalTsa::new(dir, "tsa-rsa", TsaKey::Rsa, true, true)
    } else {
        LocalTsa::new(dir, "tsa-p256", TsaKey::P256, false, false)
    };
    tsa.stamp_log(dir, &log, "sha256");
    log
}

fn check_package(mode: &str) {
    let work = Workdir::new(mode);
    let dir = &work.0;
    let path = restricted_path(dir);
    assert!(!path.join("evidentia").exists());
    let log = make_stamped_log(dir, mode);
    let package = dir.join("package");
    let out = evidentia(dir, &["export", log.to_str().unwrap(), "--index", "6", "--out", package.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(package.with_extension("tar.gz").is_file());
    let trusted_script = dir.join("trusted-verify.sh");
    std::fs::copy(package.join("verify.sh"), &trusted_script).unwrap();

    // The package as written: VALID everywhere, and OpenSSL says so for each signature.
    let out =
        Command::new(path.join("sh")).arg(package.join("verify.sh")).env_clear().env("PATH", &path).output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(stdout.matches("Verified OK").count(), 2, "{stdout}");
    assert!(
        stdout.contains("Verification: OK\nOK      8. a trusted timestamp says the checkpoint existed at"),
        "{stdout}"
    );
    // With the timestamp, its root and the chain below it (the batch receipt's
    // package has no signing-input.txt and receipt.jws, but batch-receipt.json),
    // and the disclosures of the version-2 record's event.
    let expected = if mode == "batch" { 19 } else { 20 };
    assert_eq!(std::fs::read_dir(&package).unwrap().count(), expected, "{stdout}");
    let chain = std::fs::read_to_string(package.join("tsa-chain.pem")).unwrap();
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), if mode == "batch" { 2 } else { 1 });
    assert!(stdout.trim_end().ends_with("VERDICT: VALID — every check passed"), "{stdout}");
    assert_eq!(evidentia_verdict(dir, &package), (vec![], true));
    assert_eq!(evidentia_verdict(dir, &package.with_extension("tar.gz")), (vec![], true));

    // Every file, at positions spread over it: flip one bit of one byte.
    let batch = mode == "batch";
    let mut names: Vec<String> =
        std::fs::read_dir(&package).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut tampered = 0;
    for name in &names {
        let original = std::fs::read(package.join(name)).unwrap();
        let positions: Vec<usize> = if original.len() <= 8 {
            (0..original.len()).collect()
        } else {
            (0..8).map(|i| i * (original.len() - 1) / 7).collect()
        };
        for at in positions {
            let mut bytes = original.clone();
            bytes[at] ^= 0x01;
            std::fs::write(package.join(name), &bytes).unwrap();
            let (shell_failed, shell_valid) = shell_verdict(&trusted_script, &package, &path);
            let (failed, valid) = evidentia_verdict(dir, &package);
            let what = format!("{mode}: {name} byte {at}");
            assert!(!shell_valid && !valid, "{what}: a change went unnoticed");
            assert!(shell_failed.contains(&1) && failed.contains(&1), "{what}: check 1 did not fail");
            if let Some(check) = covering_check(name, batch) {
                assert!(failed.contains(&check), "{what}: package verify failed {failed:?}, not {check}");
                assert!(shell_failed.contains(&check), "{what}: verify.sh failed {shell_failed:?}, not {check}");
            }
            tampered += 1;
        }
        std::fs::write(package.join(name), &original).unwrap();
    }
    assert!(tampered > 80, "{tampered}");
    assert_eq!(evidentia_verdict(dir, &package), (vec![], true), "restored");

    // Every byte of every file that carries evidence, through the same checks in
    // process (verify.sh above samples eight places per file; it takes a second a run).
    let files = evidentia_store::read_package(&package).unwrap();
    let mut changes = 0;
    for (i, file) in files.iter().enumerate() {
        let Some(check) = covering_check(&file.name, batch) else { continue };
        for at in 0..file.bytes.len() {
            let mut changed = files.clone();
            changed[i].bytes[at] ^= 0x01;
            let failed: Vec<u8> = evidentia::package::verify_package(&changed)
                .iter()
                .filter(|c| c.failure.is_some())
                .map(|c| c.number)
                .collect();
            assert!(failed.contains(&1) && failed.contains(&check), "{mode}: {} byte {at}: {failed:?}", file.name);
            changes += 1;
        }
    }
    assert!(changes > 4000, "{changes}");

    // The inclusion proof in another formatting, its sum updated so that check 1
    // holds: verify.sh compares it with the proof's canonical form, and so does
    // package verify; check 5 alone fails.
    let proof_file = package.join("inclusion-proof.json");
    let canonical = std::fs::read(&proof_file).unwrap();
    let pretty = evidentia::json::to_pretty_string(&evidentia::json::parse(&canonical).unwrap()).unwrap();
    assert_ne!(pretty.as_bytes(), canonical.as_slice());
    let sums = std::fs::read_to_string(package.join("SHA256SUMS")).unwrap();
    let sum = |bytes: &[u8]| evidentia::Digest::sha256(bytes).to_hex();
    assert!(sums.contains(&sum(&canonical)));
    std::fs::write(&proof_file, &pretty).unwrap();
    std::fs::write(package.join("SHA256SUMS"), sums.replace(&sum(&canonical), &sum(pretty.as_bytes()))).unwrap();
    // A batch receipt holds the proof in canonical form, so batch-receipt.json is no
    // longer the one made of this inclusion-proof.json: check 4 fails too.
    let expected = if batch { vec![4, 5] } else { vec![5] };
    assert_eq!(shell_verdict(&trusted_script, &package, &path), (expected.clone(), false));
    assert_eq!(evidentia_verdict(dir, &package), (expected, false));
    std::fs::write(&proof_file, &canonical).unwrap();
    std::fs::write(package.join("SHA256SUMS"), &sums).unwrap();

    // A file added to the package, and a file removed from it.
    std::fs::write(package.join("extra.txt"), "x").unwrap();
    assert_eq!(shell_verdict(&trusted_script, &package, &path), (vec![1], false));
    assert_eq!(evidentia_verdict(dir, &package), (vec![1], false));
    std::fs::remove_file(package.join("extra.txt")).unwrap();
    std::fs::remove_file(package.join("event.json")).unwrap();
    assert!(shell_verdict(&trusted_script, &package, &path).0.contains(&7));
    assert!(evidentia_verdict(dir, &package).0.contains(&7));
}

#[test]
fn a_receipt_package_verifies_with_openssl_alone_and_every_change_is_caught() {
    check_package("receipts");
}

#[test]
fn a_batch_receipt_package_verifies_with_openssl_alone_and_every_change_is_caught() {
    check_package("batch");
}

#[test]
fn a_package_made_after_a_key_rotation_carries_the_checkpoints_key() {
    let work = Workdir::new("rotated");
    let dir = &work.0;
    let path = restricted_path(dir);
    let log = make_log(dir, "receipts");
    std::fs::write(dir.join("key-2.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    for args in [
        vec!["log", "rotate", log.to_str().unwrap(), "--key", "key-2.jwk"],
        vec!["log", "append", log.to_str().unwrap(), "events.jsonl", "--batch"],
        vec!["log", "checkpoint", log.to_str().unwrap()],
    ] {
        let out = evidentia(dir, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    // Record 6 was signed by the first key; the newest checkpoint by the second.
    let package = dir.join("package");
    let out = evidentia(dir, &["export", log.to_str().unwrap(), "--index", "6", "--out", package.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(package.join("checkpoint-key.pem").is_file());
    let (failed, valid) = shell_verdict(&package.join("verify.sh"), &package, &path);
    assert_eq!((failed, valid), (vec![], true));
    assert_eq!(evidentia_verdict(dir, &package), (vec![], true));
    let original = std::fs::read(package.join("checkpoint-key.pem")).unwrap();
    for at in (0..8).map(|i| i * (original.len() - 1) / 7) {
        let mut bytes = original.clone();
        bytes[at] ^= 0x01;
        std::fs::write(package.join("checkpoint-key.pem"), &bytes).unwrap();
        let (shell_failed, _) = shell_verdict(&package.join("verify.sh"), &package, &path);
        let (failed, _) = evidentia_verdict(dir, &package);
        assert!(shell_failed.contains(&6) && failed.contains(&6), "byte {at}: {shell_failed:?} {failed:?}");
    }
    // Another key of the right form but not of the key history is refused too.
    let stranger = evidentia(dir, &["keygen"]).stdout;
    std::fs::write(dir.join("stranger.jwk"), stranger).unwrap();
    let pem = evidentia(dir, &["pubkey", "stranger.jwk", "--format", "pem"]).stdout;
    std::fs::write(package.join("checkpoint-key.pem"), pem).unwrap();
    assert!(shell_verdict(&package.join("verify.sh"), &package, &path).0.contains(&6));
    assert!(evidentia_verdict(dir, &package).0.contains(&6));
}

#[test]
fn export_and_package_verify_refuse_garbage() {
    let work = Workdir::new("garbage");
    let dir = &work.0;
    std::fs::write(dir.join("not-a-package.tar.gz"), b"\x1f\x8b garbage").unwrap();
    for args in [
        vec!["package", "verify", "not-a-package.tar.gz"],
        vec!["package", "verify", "missing"],
        vec!["export", "missing", "--index", "0", "--out", "p"],
    ] {
        let out = evidentia(dir, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).starts_with("error: "), "{args:?}: {}", text(&out.stderr));
    }
    let log = make_log(dir, "receipts");
    let out = evidentia(dir, &["export", log.to_str().unwrap(), "--index", "13", "--out", "p"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    std::fs::create_dir(dir.join("taken")).unwrap();
    let out = evidentia(dir, &["export", log.to_str().unwrap(), "--index", "1", "--out", "taken"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// The package of record 6 of a receipts-mode log in `dir`, a trusted copy of its
/// verify.sh, and the PATH of the only programs verify.sh may use.
fn receipt_package(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let path = restricted_path(dir);
    let log = make_log(dir, "receipts");
    let package = dir.join("package");
    let out = evidentia(dir, &["export", log.to_str().unwrap(), "--index", "6", "--out", package.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let script = dir.join("trusted-verify.sh");
    std::fs::copy(package.join("verify.sh"), &script).unwrap();
    (package, script, path)
}

/// Both verifiers' failed checks and verdicts for a package folder: verify.sh (a
/// trusted copy), `package verify`, and `verify_package` in process.
fn verdicts(dir: &Path, script: &Path, package: &Path, path: &Path) -> [(Vec<u8>, bool); 3] {
    let files = evidentia_store::read_package(package).unwrap();
    let checks = evidentia::package::verify_package(&files);
    let failed: Vec<u8> = checks.iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect();
    let valid = failed.is_empty();
    [shell_verdict(script, package, path), evidentia_verdict(dir, package), (failed, valid)]
}

/// Replaces a file of a package (or removes it, for `None`) and its line of
/// SHA256SUMS, so that check 1 holds.
fn replace_file(package: &Path, name: &str, bytes: Option<&[u8]>) {
    let sums = std::fs::read_to_string(package.join("SHA256SUMS")).unwrap();
    let mut lines: Vec<String> =
        sums.lines().filter(|l| !l.ends_with(&format!("  {name}"))).map(str::to_owned).collect();
    match bytes {
        Some(bytes) => {
            std::fs::write(package.join(name), bytes).unwrap();
            lines.push(format!("{}  {name}", evidentia::Digest::sha256(bytes).to_hex()));
        }
        None => std::fs::remove_file(package.join(name)).unwrap(),
    }
    std::fs::write(package.join("SHA256SUMS"), lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

#[test]
fn a_batch_receipt_that_is_not_the_one_of_the_packages_parts_fails_check_4() {
    let work = Workdir::new("batch-swap");
    let dir = &work.0;
    let path = restricted_path(dir);
    let log = make_log(dir, "batch");
    let export = |index: &str, name: &str| {
        let package = dir.join(name);
        let out =
            evidentia(dir, &["export", log.to_str().unwrap(), "--index", index, "--out", package.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        package
    };
    let package = export("6", "package");
    let other = std::fs::read(export("7", "other").join("batch-receipt.json")).unwrap();
    let script = dir.join("trusted-verify.sh");
    std::fs::copy(package.join("verify.sh"), &script).unwrap();
    let valid = (vec![], true);
    assert_eq!(verdicts(dir, &script, &package, &path), [valid.clone(), valid.clone(), valid]);
    let original = std::fs::read(package.join("batch-receipt.json")).unwrap();
    // As the writer issued it: canonical JSON, no line feed after it.
    assert_eq!(original.last(), Some(&b'}'));
    let not_a_receipt: &[u8] = br#"{"this":"is not a batch receipt at all"}"#;
    let with_line_feed = [original.as_slice(), b"\n"].concat();
    for (what, bytes) in [
        ("another record's batch receipt", Some(other.as_slice())),
        ("not a batch receipt", Some(not_a_receipt)),
        ("a line feed after it", Some(with_line_feed.as_slice())),
        ("no batch receipt", None),
    ] {
        replace_file(&package, "batch-receipt.json", bytes);
        let failed = (vec![4], false);
        assert_eq!(verdicts(dir, &script, &package, &path), [failed.clone(), failed.clone(), failed], "{what}");
        replace_file(&package, "batch-receipt.json", Some(&original));
    }
    let valid = (vec![], true);
    assert_eq!(verdicts(dir, &script, &package, &path), [valid.clone(), valid.clone(), valid], "restored");
}

#[test]
fn a_log_id_with_pattern_and_json_characters_verifies_alike_everywhere() {
    let work = Workdir::new("log-id");
    let dir = &work.0;
    let path = restricted_path(dir);
    // Characters a grep pattern, a sed expression or a JSON string would read
    // specially; a log id is any printable ASCII without spaces.
    let id = r#"ex.com/x[1*y\n"q$^.&|"#;
    for mode in ["receipts", "batch"] {
        let log = make_log_with_id(dir, mode, id);
        let package = dir.join(format!("package-{mode}"));
        let out =
            evidentia(dir, &["export", log.to_str().unwrap(), "--index", "6", "--out", package.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let script = dir.join("trusted-verify.sh");
        std::fs::copy(package.join("verify.sh"), &script).unwrap();
        let valid = (vec![], true);
        assert_eq!(verdicts(dir, &script, &package, &path), [valid.clone(), valid.clone(), valid], "{mode}");
    }
}

#[test]
fn every_checkpoint_signature_line_of_the_key_must_verify() {
    let work = Workdir::new("note-lines");
    let dir = &work.0;
    let (package, script, path) = receipt_package(dir);
    let note = std::fs::read_to_string(package.join("checkpoint.txt")).unwrap();
    let line = note.lines().last().unwrap();
    let (name, signature) = line.rsplit_once(' ').unwrap();
    // The same key hash with a signature that does not verify (the last byte of s
    // changed, so it is still DER).
    let mut bytes = evidentia::encoding::b64_decode(signature).unwrap();
    *bytes.last_mut().unwrap() ^= 0x01;
    let bad = format!("{name} {}\n", evidentia::encoding::b64(&bytes));
    let valid = (vec![], true);
    let failed = (vec![6], false);
    // A good line then a bad one, and the other way round: the bad line is the
    // key's, so it must verify.
    for changed in [format!("{note}{bad}"), note.replacen(&format!("{line}\n"), &format!("{bad}{line}\n"), 1)] {
        replace_file(&package, "checkpoint.txt", Some(changed.as_bytes()));
        assert_eq!(verdicts(dir, &script, &package, &path), [failed.clone(), failed.clone(), failed.clone()]);
    }
    // The good line twice: both verify.
    replace_file(&package, "checkpoint.txt", Some(format!("{note}{line}\n").as_bytes()));
    assert_eq!(verdicts(dir, &script, &package, &path), [valid.clone(), valid.clone(), valid.clone()]);
    // No line of the key (only another name's): none verified.
    let other = note.replacen(&format!("{line}\n"), &format!("— other.example/log {signature}\n"), 1);
    replace_file(&package, "checkpoint.txt", Some(other.as_bytes()));
    assert_eq!(verdicts(dir, &script, &package, &path), [failed.clone(), failed.clone(), failed]);
    replace_file(&package, "checkpoint.txt", Some(note.as_bytes()));
    assert_eq!(verdicts(dir, &script, &package, &path), [valid.clone(), valid.clone(), valid]);
}

#[test]
fn check_3_compares_nanoseconds_exactly_and_reads_revocation_reasons_as_strings() {
    let work = Workdir::new("check-3");
    let dir = &work.0;
    let (package, script, path) = receipt_package(dir);
    let record = evidentia::Record::from_bytes(&std::fs::read(package.join("record.json")).unwrap()).unwrap();
    let keys = evidentia::KeySet::from_json(&std::fs::read_to_string(package.join("keys.jwks")).unwrap()).unwrap();
    let with_validity = |validity: evidentia::Validity| {
        let mut changed = keys.clone();
        changed.set_validity(&record.kid, validity).unwrap();
        replace_file(&package, "keys.jwks", Some(changed.to_json().as_bytes()));
        verdicts(dir, &script, &package, &path)
    };
    // The nearest doubles to the record's time, as instants: the last at or before
    // it and the first after it, often fractions of a microsecond apart. A double
    // comparison would take one for the other; both verifiers compare nanoseconds.
    let nearest = evidentia::Timestamp::from_numeric_date(record.time.to_numeric_date()).unwrap();
    let (at_or_before, after) = if nearest > record.time {
        (evidentia::Timestamp::from_numeric_date(record.time.to_numeric_date().next_down()).unwrap(), nearest)
    } else {
        (nearest, evidentia::Timestamp::from_numeric_date(record.time.to_numeric_date().next_up()).unwrap())
    };
    assert!(at_or_before <= record.time && record.time < after);
    let valid = [(vec![], true), (vec![], true), (vec![], true)];
    let check_3 = [(vec![3], false), (vec![3], false), (vec![3], false)];
    let expires = |t| evidentia::Validity { expires: Some(t), ..Default::default() };
    assert_eq!(with_validity(expires(after)), valid, "in force until the first instant after the record");
    assert_eq!(with_validity(expires(at_or_before)), check_3, "expired at or before the record");
    let starts = |t| evidentia::Validity { not_before: Some(t), ..Default::default() };
    assert_eq!(with_validity(starts(at_or_before)), valid);
    assert_eq!(with_validity(starts(after)), check_3);

    // A revocation reason holding "},{" and the member names of a key entry: the
    // revocation still counts.
    let revoked = |t| evidentia::Validity {
        revoked_at: Some(t),
        revocation_reason: Some("lost},{\"kid\":\"x\",\"exp\":9e99},{".into()),
        ..Default::default()
    };
    assert_eq!(with_validity(revoked(at_or_before)), check_3);
    assert_eq!(with_validity(revoked(after)), valid);
}

#[test]
fn numbers_beyond_the_shells_arithmetic_fail_check_5_with_a_verdict() {
    let work = Workdir::new("big-numbers");
    let dir = &work.0;
    let (package, script, path) = receipt_package(dir);
    let proof = std::fs::read_to_string(package.join("inclusion-proof.json")).unwrap();
    for (member, big) in [("leaf_index", "99999999999999999999"), ("tree_size", "18446744073709551616")] {
        let start = proof.find(&format!("\"{member}\":")).unwrap() + member.len() + 3;
        let end = start + proof[start..].find(|c: char| !c.is_ascii_digit()).unwrap();
        let changed = format!("{}{big}{}", &proof[..start], &proof[end..]);
        replace_file(&package, "inclusion-proof.json", Some(changed.as_bytes()));
        let [shell, cli, _] = verdicts(dir, &script, &package, &path);
        assert!(!shell.1 && shell.0.contains(&5), "{member}: verify.sh {shell:?}");
        assert!(!cli.1 && cli.0.contains(&5), "{member}: package verify {cli:?}");
    }
}

/// A log in `mode` whose first key signs records 0–12, hands over to a second key
/// (record 13), which signs records 14–26 and hands over to a third (record 27),
/// which revokes the first from `revoked_at` (record 28); then a checkpoint. Its log
/// id holds a double quote and a backslash, which the record's JSON escapes.
fn rotated_log(dir: &Path, mode: &str, revoked_at: &str) -> PathBuf {
    let log = make_log_with_id(dir, mode, &format!("example.com/{mode}\"key\\history"));
    let first = std::fs::read_to_string(dir.join("key.jwk")).unwrap();
    let first = evidentia::SigningKey::from_jwk(&first).unwrap().public_key().kid().to_owned();
    let log_arg = log.to_str().unwrap();
    for name in ["key-2.jwk", "key-3.jwk"] {
        std::fs::write(dir.join(name), evidentia(dir, &["keygen"]).stdout).unwrap();
    }
    for args in [
        vec!["log", "rotate", log_arg, "--key", "key-2.jwk"],
        vec!["log", "append", log_arg, "events.jsonl", "--batch"],
        vec!["log", "rotate", log_arg, "--key", "key-3.jwk"],
        vec!["log", "revoke", log_arg, "--kid", &first, "--at", revoked_at, "--reason", "keyCompromise"],
        vec!["log", "checkpoint", log_arg],
    ] {
        let out = evidentia(dir, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    log
}

fn check_key_history(mode: &str) {
    let work = Workdir::new(&format!("key-history-{mode}"));
    let dir = &work.0;
    let path = restricted_path(dir);
    let log = rotated_log(dir, mode, "2100-01-01T00:00:00Z");
    let log_arg = log.to_str().unwrap();
    let package = dir.join("package");
    let out = evidentia(dir, &["export", log_arg, "--index", "6", "--out", package.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let script = dir.join("trusted-verify.sh");
    std::fs::copy(package.join("verify.sh"), &script).unwrap();
    // The three key records after record 6, in order; keys.jwks is the last one's set.
    let names: Vec<String> =
        std::fs::read_dir(&package).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let per_record = if mode == "batch" { 7 } else { 6 };
    assert_eq!(names.iter().filter(|n| n.starts_with("key-record-")).count(), 3 * per_record, "{names:?}");
    let out = Command::new(path.join("sh")).arg(&script).arg(&package).env_clear().env("PATH", &path).output().unwrap();
    let stdout = text(&out.stdout);
    assert!(stdout.contains("OK      11. keys.jwks is the key set of the log's key records: record 13: "), "{stdout}");
    assert!(stdout.contains("; record 28: ") && stdout.contains(" revoked "), "{stdout}");
    for verdict in verdicts(dir, &script, &package, &path) {
        assert_eq!(verdict, (vec![], true));
    }

    // Each key-record file, at eight places: check 1 and check 11 fail in both
    // verifiers (the next of a rotation also names the checkpoint's key: check 6).
    let mut key_record_names: Vec<&String> = names.iter().filter(|n| n.starts_with("key-record-")).collect();
    key_record_names.sort();
    for name in key_record_names {
        let original = std::fs::read(package.join(name)).unwrap();
        for at in (0..8).map(|i| i * (original.len() - 1) / 7) {
            let mut bytes = original.clone();
            bytes[at] ^= 0x01;
            std::fs::write(package.join(name), &bytes).unwrap();
            let [shell, cli, _] = verdicts(dir, &script, &package, &path);
            assert!(shell.0.contains(&1) && shell.0.contains(&11), "{mode}: {name} byte {at}: verify.sh {shell:?}");
            assert_eq!(shell, cli, "{mode}: {name} byte {at}");
        }
        std::fs::write(package.join(name), &original).unwrap();
    }

    // The packages of the key records themselves: a rotation's starts after the
    // hand-over it records (13: k1 to k2, then k2's rotation and k3's revocation;
    // 27: k2 to k3, then the revocation), a revocation's carries none (28).
    for (index, carried) in [(13, 2), (27, 1), (28, 0)] {
        let out_dir = dir.join(format!("package-{index}"));
        let out =
            evidentia(dir, &["export", log_arg, "--index", &index.to_string(), "--out", out_dir.to_str().unwrap()]);
        assert!(out.status.success(), "{mode} {index}: {}", text(&out.stderr));
        let count = std::fs::read_dir(&out_dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("key-record-"))
            .count();
        assert_eq!(count, carried * per_record, "{mode} {index}");
        for verdict in verdicts(dir, &script, &out_dir, &path) {
            assert_eq!(verdict, (vec![], true), "{mode} {index}");
        }
    }

    // Changes made with their sums written again, so that only the history can
    // catch them. Each is undone before the next.
    let expect = |failed: &[u8], why: &str| {
        for verdict in verdicts(dir, &script, &package, &path) {
            assert_eq!(verdict, (failed.to_vec(), failed.is_empty()), "{mode}: {why}");
        }
    };
    let keys = std::fs::read_to_string(package.join("keys.jwks")).unwrap();
    let mut edited = evidentia::KeySet::from_json(&keys).unwrap();
    let stranger = evidentia::SigningKey::from_bytes(&[7; 32]).unwrap();
    edited.add(stranger.public_key(), evidentia::Validity::default()).unwrap();
    replace_file(&package, "keys.jwks", Some(edited.to_json().as_bytes()));
    expect(&[11], "a key added to keys.jwks");
    let unrevoked = keys.replace(r#","revoked":{"reason":"keyCompromise","revoked_at":4102444800}"#, "");
    assert_ne!(unrevoked, keys);
    replace_file(&package, "keys.jwks", Some(unrevoked.as_bytes()));
    expect(&[11], "the revocation taken out of keys.jwks");
    replace_file(&package, "keys.jwks", Some(keys.as_bytes()));

    // A file of a key record the package does not have, and one of the other mode.
    replace_file(&package, "key-record-4.json", Some(b"{}"));
    expect(&[11], "key-record-4.json");
    replace_file(&package, "key-record-4.json", None);
    let other_mode = if mode == "batch" { "key-record-1-receipt.jws" } else { "key-record-1-checkpoint.txt" };
    replace_file(&package, other_mode, Some(b"x"));
    expect(&[11], other_mode);
    replace_file(&package, other_mode, None);

    // The middle key record left out, the last renumbered: it is signed by a key the
    // history has not reached.
    let saved: Vec<(String, Vec<u8>)> = std::fs::read_dir(&package)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("key-record-2") || n.starts_with("key-record-3"))
        .map(|n| (n.clone(), std::fs::read(package.join(&n)).unwrap()))
        .collect();
    for (name, _) in &saved {
        replace_file(&package, name, None);
    }
    for (name, bytes) in &saved {
        if let Some(rest) = name.strip_prefix("key-record-3") {
            replace_file(&package, &format!("key-record-2{rest}"), Some(bytes));
        }
    }
    // In receipts mode the checkpoint's key is then one no rotation carried hands
    // over to: check 6 fails too.
    expect(if mode == "batch" { &[11] } else { &[6, 11] }, "the middle key record left out");
    // The newest key record left out, with keys.jwks its predecessor's set: that is
    // what a package cannot show (SPEC §19), and both verifiers say VALID.
    for (name, _) in saved.iter().filter(|(n, _)| n.starts_with("key-record-3")) {
        replace_file(&package, &name.replacen("key-record-3", "key-record-2", 1), None);
    }
    for (name, bytes) in saved.iter().filter(|(n, _)| n.starts_with("key-record-2")) {
        replace_file(&package, name, Some(bytes));
    }
    let event = std::fs::read_to_string(package.join("key-record-2-event.json")).unwrap();
    let start = event.find(r#""keys":"#).unwrap() + 7;
    let end = event.rfind(r#","kid":""#).unwrap();
    replace_file(&package, "keys.jwks", Some(&event.as_bytes()[start..end]));
    expect(&[], "the newest key record left out");
    for (name, bytes) in &saved {
        replace_file(&package, name, Some(bytes));
    }
    replace_file(&package, "keys.jwks", Some(keys.as_bytes()));
    expect(&[], "restored");

    // A checkpoint signed by a stranger's key, named in checkpoint-key.pem: the log
    // never handed over to it (receipts mode; a batch receipt's checkpoint is the
    // record's own signature).
    if mode == "receipts" {
        let body = std::fs::read_to_string(package.join("checkpoint-body.txt")).unwrap();
        let checkpoint = evidentia::Checkpoint::from_text(&body).unwrap();
        let note = evidentia::sign_checkpoint(&checkpoint, &stranger).unwrap();
        let saved_note = std::fs::read(package.join("checkpoint.txt")).unwrap();
        let saved_key = std::fs::read(package.join("checkpoint-key.pem")).unwrap();
        replace_file(&package, "checkpoint.txt", Some(note.as_bytes()));
        replace_file(&package, "checkpoint-key.pem", Some(stranger.public_key().to_pem().as_bytes()));
        expect(&[6], "a stranger's checkpoint");
        replace_file(&package, "checkpoint.txt", Some(&saved_note));
        replace_file(&package, "checkpoint-key.pem", Some(&saved_key));
    }

    // The record the log's history revokes: no package is made of it.
    let work = Workdir::new(&format!("key-history-revoked-{mode}"));
    let log = rotated_log(&work.0, mode, "2000-01-01T00:00:00Z");
    let out = evidentia(&work.0, &["export", log.to_str().unwrap(), "--index", "6", "--out", "p"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("KEY_REVOKED"), "{}", text(&out.stderr));
}

#[test]
fn a_receipt_package_carries_the_key_history_from_the_records_key() {
    check_key_history("receipts");
}

#[test]
fn a_batch_receipt_package_carries_the_key_history_from_the_records_key() {
    check_key_history("batch");
}

/// Check 3 and check 6 read a key entry by its own members: never a `kid`, `nbf` or
/// `revoked` nested in another member's value, and never another entry's.
#[test]
fn key_entries_are_read_by_their_own_members_in_every_verifier() {
    let work = Workdir::new("key-entry-members");
    let dir = &work.0;
    let (package, script, path) = receipt_package(dir);
    let keys = std::fs::read_to_string(package.join("keys.jwks")).unwrap();
    let entry = keys.strip_prefix(r#"{"keys":["#).and_then(|k| k.strip_suffix("]}")).unwrap().to_owned();
    let kid = text(&std::fs::read(package.join("record.json")).unwrap())
        .split(r#""kid":""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    // Another key, for encryption, naming the record's key inside a member of its own.
    let other = evidentia::SigningKey::from_bytes(&[9; 32])
        .unwrap()
        .public_key()
        .to_jwk()
        .replace(r#""use":"sig""#, r#""use":"enc""#);
    let foreign = |inner: &str| format!("{},\"x-alias\":{inner}}}", other.strip_suffix('}').unwrap());
    let with_member = |member: &str| format!("{},{member}}}", entry.strip_suffix('}').unwrap());
    let revoked_early = r#""revoked":{"revoked_at":1}"#;
    let cases: [(String, &[u8]); 5] = [
        // The other entry first, its nested kid and revocation not the record key's.
        (format!(r#"{{"keys":[{},{entry}]}}"#, foreign(&format!(r#"{{"kid":"{kid}",{revoked_early}}}"#))), &[]),
        // The record key's entry with a nested revocation and a far nbf: not its own.
        (format!(r#"{{"keys":[{}]}}"#, with_member(r#""x-note":{"nbf":4102444800,"revoked":{"revoked_at":1}}"#)), &[]),
        // Its own revocation, from 1970, behind an entry that names it inside a member.
        (format!(r#"{{"keys":[{},{}]}}"#, foreign(&format!(r#"{{"kid":"{kid}"}}"#)), with_member(revoked_early)), &[3]),
        // JSON whitespace between a member's name and value is no member of another name.
        (format!(r#"{{"keys":[{}]}}"#, entry.replace(r#""kid":""#, r#""kid": ""#)), &[]),
        // An nbf that is not a number bounds nothing: the key is not shown in force.
        (format!(r#"{{"keys":[{}]}}"#, with_member(r#""nbf":"soon""#)), &[3]),
    ];
    for (keys, failed) in cases {
        replace_file(&package, "keys.jwks", Some(keys.as_bytes()));
        for verdict in verdicts(dir, &script, &package, &path) {
            assert_eq!(verdict, (failed.to_vec(), failed.is_empty()), "{keys}");
        }
    }
}
