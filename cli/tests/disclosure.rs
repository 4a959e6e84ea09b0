//! Packages that disclose only some members of a version-2 record's event (SPEC.md
//! §19 check 13): `export --disclose` writes them, verify.sh passes them with the
//! tools a package promises alone (run with dash and bash), the members not
//! disclosed are in no file, and single-byte changes to the disclosures or the
//! commitment are caught even with SHA256SUMS made again.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use evidentia::Digest;
use support::{Workdir, evidentia, restricted_path, shells, text};

fn verify_sh(package: &Path, bin: &Path, shell: &Path) -> (bool, String) {
    let out = Command::new(shell).arg("verify.sh").current_dir(package).env("PATH", bin).output().unwrap();
    (out.status.success(), text(&out.stdout))
}

/// SHA256SUMS made again for the files as they are, as someone who changed one would.
fn resum(package: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(package)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "SHA256SUMS")
        .collect();
    names.sort();
    let sums: String = names
        .iter()
        .map(|n| format!("{}  {n}\n", Digest::sha256(&std::fs::read(package.join(n)).unwrap()).to_hex()))
        .collect();
    std::fs::write(package.join("SHA256SUMS"), sums).unwrap();
}

#[test]
fn a_package_disclosing_some_members_passes_verify_sh_and_each_changed_byte_fails_it() {
    let work = Workdir::new("disclosure");
    let dir = &work.0;
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    let event = r#"{"name":"Ada Lovelace","iban":"DE89370400440532013000","amount":"1250.00","currency":"EUR"}"#;
    std::fs::write(dir.join("event.json"), event).unwrap();
    for args in [
        &["log", "init", "--key", "key.jwk", "--record-version", "2", "log"][..],
        &["log", "append", "log", "event.json"],
        &["log", "checkpoint", "log"],
        &["export", "log", "--index", "0", "--out", "package", "--disclose", "amount,currency"],
    ] {
        let out = evidentia(dir, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let package = dir.join("package");
    for entry in std::fs::read_dir(&package).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for hidden in [&b"Ada Lovelace"[..], b"DE89370400440532013000"] {
            assert!(!bytes.windows(hidden.len()).any(|w| w == hidden));
        }
    }
    let bin = restricted_path(dir, &[]);
    for shell in shells(&bin) {
        let (valid, output) = verify_sh(&package, &bin, &shell);
        assert!(valid, "{}: {output}", shell.display());
        assert!(output.contains(r#"disclosed: ["#) && output.contains(r#","amount","1250.00"]"#), "{output}");
        assert!(
            output.contains("OK      13. the 2 disclosed member(s)") && output.contains("2 of its 4 stay hidden"),
            "{output}"
        );
    }
    // Every byte of the disclosures and of the commitment's first digest, changed
    // with SHA256SUMS made again: verify.sh fails check 13 or 7.
    let shell = &shells(&bin)[0];
    let mut changes = 0;
    for (name, range) in [("disclosures.txt", None), ("event.json", Some(8..53))] {
        let original = std::fs::read(package.join(name)).unwrap();
        for at in range.unwrap_or(0..original.len()) {
            let mut changed = original.clone();
            changed[at] ^= 0x01;
            std::fs::write(package.join(name), &changed).unwrap();
            resum(&package);
            let (valid, output) = verify_sh(&package, &bin, shell);
            assert!(
                !valid && (output.contains("FAILED  13.") || output.contains("FAILED  7.")),
                "{name} byte {at}: {output}"
            );
            changes += 1;
        }
        std::fs::write(package.join(name), &original).unwrap();
    }
    resum(&package);
    assert!(verify_sh(&package, &bin, shell).0);
    assert!(changes > 150, "{changes}");
    // A name the event does not have, and --disclose for a version-1 record.
    let out = evidentia(dir, &["export", "log", "--index", "0", "--out", "other", "--disclose", "nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
