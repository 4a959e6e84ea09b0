//! The package of a record whose event was erased (SPEC.md §19 check 14): `export`
//! writes it with the erasure record in place of the event, verify.sh passes it with
//! the tools a package promises alone (run with dash and bash), the erased event is
//! in no file, and every single-byte change to the erasure's files is caught, by
//! `verify_package` and by verify.sh, even with SHA256SUMS made again.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use evidentia::Digest;
use evidentia::package::{PackageFile, package_report, verify_package};
use support::{Workdir, evidentia, restricted_path, shells, text};

/// A reason JSON escapes, which verify.sh shows as it was given.
const REASON: &str = r#"GDPR Art. 17 "request" \ 2026-118"#;

const ERASURE_FILES: [&str; 3] = ["erasure-record.json", "erasure-event.json", "erasure-inclusion-proof.json"];

fn verify_sh(package: &Path, bin: &Path, shell: &Path) -> (bool, String) {
    let out = Command::new(shell).arg("verify.sh").current_dir(package).env("PATH", bin).output().unwrap();
    (out.status.success(), text(&out.stdout))
}

fn read_files(package: &Path) -> Vec<PackageFile> {
    let mut files: Vec<PackageFile> = std::fs::read_dir(package)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            PackageFile { name: e.file_name().into_string().unwrap(), bytes: std::fs::read(e.path()).unwrap() }
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

/// SHA256SUMS made again for the files as they are, as someone who changed one would.
fn resum(files: &mut [PackageFile]) {
    let sums: String = files
        .iter()
        .filter(|f| f.name != "SHA256SUMS")
        .map(|f| format!("{}  {}\n", Digest::sha256(&f.bytes).to_hex(), f.name))
        .collect();
    files.iter_mut().find(|f| f.name == "SHA256SUMS").unwrap().bytes = sums.into_bytes();
}

fn write_files(package: &Path, files: &[PackageFile]) {
    for f in files {
        std::fs::write(package.join(&f.name), &f.bytes).unwrap();
    }
}

fn run_ok(dir: &Path, args: &[&str]) {
    let out = evidentia(dir, args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
}

#[test]
fn the_package_of_an_erased_record_shows_the_erasure_and_each_changed_byte_fails_it() {
    let work = Workdir::new("erased-package");
    let dir = &work.0;
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    let secret = "Ada Lovelace, DE89370400440532013000";
    std::fs::write(dir.join("a.json"), format!(r#"{{"holder":"{secret}","amount":"1250.00"}}"#)).unwrap();
    std::fs::write(dir.join("b.json"), r#"{"status":"kept"}"#).unwrap();
    run_ok(dir, &["log", "init", "--key", "key.jwk", "log"]);
    run_ok(dir, &["log", "append", "log", "a.json"]);
    run_ok(dir, &["log", "append", "log", "b.json"]);
    run_ok(dir, &["log", "checkpoint", "log"]);
    // A second apart, so that a revocation can fall between record 0 and its erasure.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run_ok(dir, &["log", "erase", "log", "--index", "0", "--reason", REASON]);

    // The newest checkpoint predates the erasure record: nothing could show it.
    let out = evidentia(dir, &["export", "log", "--index", "0", "--out", "early"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("record 2, which erased the event of record 0"), "{}", text(&out.stderr));
    assert!(!dir.join("early").exists());

    run_ok(dir, &["log", "checkpoint", "log"]);
    run_ok(dir, &["export", "log", "--index", "0", "--out", "package"]);
    let package = dir.join("package");
    let original = read_files(&package);
    assert!(original.iter().all(|f| f.name != "event.json"));
    for f in &original {
        assert!(!f.bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{} holds the event", f.name);
    }
    // Disclosing members of an erased event is refused, with its code.
    let out = evidentia(dir, &["export", "log", "--index", "0", "--out", "other", "--disclose", "amount"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("RECORD_ERASED"), "{}", text(&out.stderr));

    let report = package_report(&original);
    assert_eq!(report.get("valid").and_then(evidentia::json::Value::as_bool), Some(true), "{report:?}");
    let erased = report.get("erased").unwrap();
    assert_eq!(erased.get("by").and_then(|v| v.as_number()).and_then(|n| n.as_safe_u64()), Some(2));
    assert_eq!(erased.get("reason").and_then(|v| v.as_str()), Some(REASON));
    let bin = restricted_path(dir, &[]);
    for shell in shells(&bin) {
        let (valid, output) = verify_sh(&package, &bin, &shell);
        assert!(valid, "{}: {output}", shell.display());
        assert!(output.contains("--      7. the event was erased"), "{output}");
        assert!(output.contains("OK      14. the event was erased by record 2"), "{output}");
        assert!(output.contains(&format!("reason: {REASON}\n")), "{output}");
    }
    let out = evidentia(dir, &["package", "verify", package.to_str().unwrap()]);
    assert!(out.status.success() && text(&out.stdout).contains("OK      14."), "{}", text(&out.stdout));

    // Every byte of the erasure's files changed, with SHA256SUMS made again: the
    // package fails, in core and (for every third byte, and every byte of the
    // event) in verify.sh.
    let shell = &shells(&bin)[0];
    let mut changes = 0;
    for name in ERASURE_FILES {
        let at_file = original.iter().position(|f| f.name == name).unwrap();
        for at in 0..original[at_file].bytes.len() {
            let mut files = original.clone();
            files[at_file].bytes[at] ^= 0x01;
            resum(&mut files);
            let failed: Vec<u8> =
                verify_package(&files).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect();
            assert!(!failed.is_empty(), "{name} byte {at}: verify_package passed it");
            if name == "erasure-event.json" || at % 3 == 0 {
                write_files(&package, &files);
                let (valid, output) = verify_sh(&package, &bin, shell);
                assert!(!valid && output.contains("FAILED  14."), "{name} byte {at}: {output}");
            }
            changes += 1;
        }
    }
    assert!(changes > 300, "{changes}");

    // The event put back beside the erasure, or the erasure taken out: each fails.
    let mut with_event = original.clone();
    with_event.push(PackageFile { name: "event.json".into(), bytes: b"{}".to_vec() });
    resum(&mut with_event);
    let failed: Vec<u8> =
        verify_package(&with_event).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect();
    assert!(failed.contains(&14), "{failed:?}");
    let mut without: Vec<PackageFile> =
        original.iter().filter(|f| !ERASURE_FILES.contains(&f.name.as_str())).cloned().collect();
    resum(&mut without);
    let failed: Vec<u8> = verify_package(&without).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect();
    assert_eq!(failed, [7]);
    for name in ERASURE_FILES {
        std::fs::remove_file(package.join(name)).unwrap();
    }
    write_files(&package, &without);
    let (valid, output) = verify_sh(&package, &bin, shell);
    assert!(!valid && output.contains("FAILED  7."), "{output}");

    // A proof hash with a spare bit set (base64 that decodes to the same bytes), and
    // a tree size with a leading zero: verify.sh gives its verdict, INVALID.
    let at_proof = original.iter().position(|f| f.name == "erasure-inclusion-proof.json").unwrap();
    let proof = String::from_utf8(original[at_proof].bytes.clone()).unwrap();
    let spare = proof.replacen("=\"", "#\"", 1);
    let last = spare.find('#').unwrap() - 1;
    let bumped = (spare.as_bytes()[last] + 1) as char;
    let spare = format!("{}{bumped}={}", &spare[..last], &spare[last + 2..]);
    for changed in [spare, proof.replace(r#""tree_size":3"#, r#""tree_size":03"#)] {
        assert_ne!(changed, proof);
        let mut files = original.clone();
        files[at_proof].bytes = changed.into_bytes();
        resum(&mut files);
        assert!(verify_package(&files).iter().any(|c| c.number == 14 && c.failure.is_some()));
        write_files(&package, &files);
        let (valid, output) = verify_sh(&package, &bin, shell);
        assert!(!valid && output.contains("FAILED  14.") && output.contains("VERDICT: INVALID"), "{output}");
    }

    // keys.jwks revoking the key from a time after record 0 and at or before its
    // erasure record: the record's key is in force (check 3), the erasure's is not
    // (check 14), in core and in verify.sh.
    let at_record = original.iter().position(|f| f.name == "erasure-record.json").unwrap();
    let erased_at = evidentia::Record::from_bytes(&original[at_record].bytes).unwrap().time.unix_seconds();
    let at_keys = original.iter().position(|f| f.name == "keys.jwks").unwrap();
    let keys = String::from_utf8(original[at_keys].bytes.clone()).unwrap();
    let revoked = keys.replacen(r#""nbf":"#, &format!(r#""revoked":{{"revoked_at":{erased_at}}},"nbf":"#), 1);
    assert_ne!(revoked, keys);
    let mut files = original.clone();
    files[at_keys].bytes = revoked.into_bytes();
    resum(&mut files);
    let failed: Vec<u8> = verify_package(&files).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect();
    assert_eq!(failed, [14]);
    write_files(&package, &files);
    for shell in shells(&bin) {
        let (valid, output) = verify_sh(&package, &bin, &shell);
        assert!(!valid && output.contains("OK      3.") && output.contains("FAILED  14."), "{output}");
        assert!(output.contains("does not list the key erasure-record.json names as in force"), "{output}");
    }

    // A key set the core cannot read (SPEC §4) shows no key in force to verify.sh
    // either: the key listed again, revoked before the erasure, with its kid's name
    // plain or written with an escape; an entry with a member name twice.
    let entry = keys.strip_prefix(r#"{"keys":["#).and_then(|rest| rest.strip_suffix("]}")).unwrap();
    let revoked_entry = entry.replacen(r#""nbf":"#, &format!(r#""revoked":{{"revoked_at":{erased_at}}},"nbf":"#), 1);
    for malformed in [
        format!(r#"{{"keys":[{entry},{revoked_entry}]}}"#),
        format!(r#"{{"keys":[{entry},{}]}}"#, revoked_entry.replacen(r#""kid":"#, r#""k\u0069d":"#, 1)),
        format!(r#"{{"keys":[{}]}}"#, entry.replacen(r#""nbf":"#, r#""nbf":1800000000,"nbf":"#, 1)),
    ] {
        let mut files = original.clone();
        files[at_keys].bytes = malformed.into_bytes();
        resum(&mut files);
        let failed: Vec<u8> = verify_package(&files).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect();
        assert!(failed.contains(&3) && failed.contains(&14), "{failed:?}");
        write_files(&package, &files);
        for shell in shells(&bin) {
            let (valid, output) = verify_sh(&package, &bin, &shell);
            assert!(!valid && output.contains("FAILED  3.") && output.contains("FAILED  14."), "{output}");
        }
    }

    // The record that was not erased still packages its event; erasure files
    // added to its package are checked, and fail: they come together.
    run_ok(dir, &["export", "log", "--index", "1", "--out", "kept"]);
    let kept = dir.join("kept");
    assert!(kept.join("event.json").exists() && !kept.join("erasure-record.json").exists());
    let mut files = read_files(&kept);
    for name in ["erasure-event.json", "erasure-inclusion-proof.json"] {
        files.push(original.iter().find(|f| f.name == name).unwrap().clone());
    }
    resum(&mut files);
    assert!(verify_package(&files).iter().any(|c| c.number == 14 && c.failure.is_some()));
    write_files(&kept, &files);
    let (valid, output) = verify_sh(&kept, &bin, shell);
    assert!(!valid && output.contains("FAILED  14. the erasure: erasure-record.json, erasure-event.json"), "{output}");
}

#[test]
fn a_batch_mode_log_packages_an_erased_record_in_its_batch_receipts_checkpoint() {
    let work = Workdir::new("erased-batch-package");
    let dir = &work.0;
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    std::fs::write(dir.join("a.json"), r#"{"holder":"Ada Lovelace"}"#).unwrap();
    std::fs::write(dir.join("b.json"), r#"{"status":"kept"}"#).unwrap();
    run_ok(dir, &["log", "init", "--mode", "batch", "--key", "key.jwk", "log"]);
    run_ok(dir, &["log", "append", "log", "a.json"]);
    run_ok(dir, &["log", "append", "log", "b.json"]);
    run_ok(dir, &["log", "erase", "log", "--index", "0", "--reason", "retention period ended"]);
    run_ok(dir, &["export", "log", "--index", "0", "--out", "package"]);
    let package = dir.join("package");
    assert!(package.join("batch-receipt.json").exists() && !package.join("event.json").exists());
    let bin = restricted_path(dir, &[]);
    for shell in shells(&bin) {
        let (valid, output) = verify_sh(&package, &bin, &shell);
        assert!(valid && output.contains("OK      14. the event was erased by record 2"), "{output}");
    }
    assert!(package_report(&read_files(&package)).get("erased").is_some());
}

#[test]
fn an_erasure_signed_by_a_key_revoked_before_it_is_not_packaged() {
    let work = Workdir::new("erased-revoked-package");
    let dir = &work.0;
    for key in ["k1.jwk", "k2.jwk", "k3.jwk"] {
        std::fs::write(dir.join(key), evidentia(dir, &["keygen"]).stdout).unwrap();
    }
    std::fs::write(dir.join("a.json"), r#"{"holder":"Ada Lovelace"}"#).unwrap();
    run_ok(dir, &["log", "init", "--key", "k1.jwk", "log"]);
    run_ok(dir, &["log", "append", "log", "a.json"]);
    run_ok(dir, &["log", "rotate", "log", "--key", "k2.jwk"]);
    // A second apart, so that k2's revocation can fall before the erasure it signs.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let erased = evidentia(dir, &["log", "erase", "log", "--index", "0", "--reason", "retention"]);
    assert!(erased.status.success(), "{}", text(&erased.stderr));
    let erasure = evidentia::Receipt::parse(text(&erased.stdout).trim()).unwrap().record().clone();
    run_ok(dir, &["log", "rotate", "log", "--key", "k3.jwk"]);
    let at = evidentia::Timestamp::from_unix(erasure.time.unix_seconds(), 0).unwrap().to_string();
    run_ok(dir, &["log", "revoke", "log", "--kid", &erasure.kid, "--at", &at, "--reason", "keyCompromise"]);
    run_ok(dir, &["log", "checkpoint", "log"]);
    // Exit 1: a key revoked, as for any evidence signed after its revocation.
    let out = evidentia(dir, &["export", "log", "--index", "0", "--out", "package"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("KEY_REVOKED")
            && text(&out.stderr).contains(&format!("record {}, which erased the event of record 0", erasure.seq)),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.join("package").exists());
}
