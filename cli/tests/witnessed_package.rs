//! Evidence packages of a witnessed log (SPEC.md §19 check 12): the package carries
//! the checkpoint as its witnesses cosigned it and the tlog-policy its
//! cosignatures meet, and `verify.sh` (OpenSSL alone, Ed25519 through
//! `pkeyutl -rawin`) and `package verify` agree on every variant: the valid
//! package under an ECDSA or an Ed25519 log key, and policies, cosignatures and
//! files that must fail. The witnesses here are keys the test holds; the
//! cosignatures of a real witness are tested in witness_client.rs.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use evidentia::json::{Value, parse};
use evidentia::{NoteKey, NoteSigner, NoteVerifier, PublicKey, WitnessKey, add_note_signature, cosignature_message};
use support::{Workdir, evidentia, text};

const ORIGIN: &str = "example.com/witnessed-package";

/// A package's files: names and bytes.
type Files = Vec<(String, Vec<u8>)>;

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = evidentia(dir, args);
    assert!(out.status.success(), "evidentia {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// A `cosignature/v1` line of `key` (named `name`) on the note's checkpoint at `time`.
fn cosign(note: &str, name: &str, key: &NoteKey, time: u64) -> String {
    let body = &note[..note.find("\n\n").unwrap() + 1];
    let witness = WitnessKey::new(name, &key.public_key()).unwrap();
    let signature = key.sign(cosignature_message(body, time).as_bytes()).unwrap();
    let mut bytes = witness.key_hash().to_vec();
    bytes.extend_from_slice(&time.to_be_bytes());
    bytes.extend_from_slice(&signature);
    format!("{note}\u{2014} {name} {}\n", evidentia::encoding::b64(&bytes))
}

/// A package folder's files, read back.
fn read_folder(dir: &Path) -> Files {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Writes `files` as a package folder whose SHA256SUMS and manifest are made anew
/// for them, as a maker would: only check 12 can tell.
fn write_resealed(dir: &Path, files: &[(String, Vec<u8>)]) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let mut sums = String::new();
    for (name, bytes) in files.iter().filter(|(name, _)| name != "SHA256SUMS") {
        std::fs::write(dir.join(name), bytes).unwrap();
        sums.push_str(&format!("{}  {name}\n", evidentia::Digest::sha256(bytes).to_hex()));
    }
    std::fs::write(dir.join("SHA256SUMS"), sums).unwrap();
}

/// What `verify.sh` and `package verify --json` say of a folder: verify.sh's exit
/// status and its line for check 12, and the library's failed check numbers.
fn verdicts(dir: &Path, folder: &Path) -> (i32, String, Vec<u64>) {
    let sh = Command::new("sh").arg("verify.sh").current_dir(folder).output().unwrap();
    let output = text(&sh.stdout);
    let line = output.lines().find(|l| l.contains(" 12. ")).unwrap_or("").to_owned();
    let out = evidentia(dir, &["package", "verify", folder.to_str().unwrap(), "--json"]);
    let report = parse(&out.stdout).unwrap_or_else(|_| panic!("{}{}", text(&out.stdout), text(&out.stderr)));
    let failed = report
        .get("checks")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .filter(|c| c.get("passed") == Some(&Value::Bool(false)))
        .map(|c| c.get("number").and_then(Value::as_number).and_then(|n| n.as_safe_u64()).unwrap())
        .collect();
    (sh.status.code().unwrap(), format!("{line}\n{output}"), failed)
}

#[test]
fn a_witnessed_log_exports_packages_whose_cosignatures_verify_sh_and_the_library_check_alike() {
    let work = Workdir::new("witnessed-package");
    let dir = &work.0;
    ok(dir, &["keygen", "--out", "log.jwk"]);
    ok(dir, &["log", "init", "L", "--key", "log.jwk", "--id", ORIGIN]);
    let note_vkey = ok(dir, &["log", "note-key", "L", "--key", "note.pem", "--generate"]).trim().to_owned();
    std::fs::write(dir.join("e.json"), r#"{"action":"approve"}"#).unwrap();
    for _ in 0..3 {
        ok(dir, &["log", "append", "L", "e.json"]);
    }
    ok(dir, &["log", "checkpoint", "L"]);
    let log_key = PublicKey::from_jwk(&std::fs::read_to_string(dir.join("log.jwk")).unwrap()).unwrap();
    let ecdsa_vkey = NoteVerifier::new(ORIGIN, &log_key).unwrap().to_vkey();
    let note_key = NoteKey::from_pem(&std::fs::read_to_string(dir.join("note.pem")).unwrap()).unwrap();

    // The log's checkpoint of 3 records with its Ed25519 line, cosigned by two of
    // three witnesses.
    let stored = evidentia_store::LogReader::open(&dir.join("L")).unwrap().checkpoint_of_size(Some(3)).unwrap().note;
    let witnesses: Vec<(String, NoteKey)> =
        (1..=3).map(|i| (format!("witness.example/w{i}"), NoteKey::from_seed(&[i; 32]))).collect();
    let vkey = |i: usize| WitnessKey::new(&witnesses[i].0, &witnesses[i].1.public_key()).unwrap().to_vkey();
    let mut cosigned = add_note_signature(&stored, ORIGIN, &note_key).unwrap();
    for (name, key) in &witnesses[..2] {
        cosigned = cosign(&cosigned, name, key, 1_790_000_000);
    }
    let policy = |log: &str, quorum: &str| {
        format!(
            "# the log and its witnesses\nlog {log}\nwitness w1 {}\nwitness w2 {}\nwitness w3 {}\ngroup g {quorum} w1 w2 w3\nquorum g\n",
            vkey(0),
            vkey(1),
            vkey(2)
        )
    };
    let two_of_three = policy(&ecdsa_vkey, "2");
    evidentia_store::store_cosigned(&dir.join("L"), &cosigned, Some(&two_of_three)).unwrap();

    ok(dir, &["export", "L", "--index", "1", "--out", "pkg"]);
    let exported = read_folder(&dir.join("pkg"));
    let file = |name: &str| exported.iter().find(|(n, _)| n == name).map(|(_, b)| b.clone()).unwrap();
    assert_eq!(file("cosigned-checkpoint.txt"), cosigned.as_bytes());
    assert_eq!(file("witness-policy.txt"), two_of_three.as_bytes());
    let (status, output, failed) = verdicts(dir, &dir.join("pkg"));
    assert_eq!((status, failed.as_slice()), (0, &[][..]), "{output}");
    assert!(output.starts_with("OK      12. the checkpoint is cosigned by witnesses"), "{output}");
    assert!(output.contains("w1 at 1790000000, w2 at 1790000000"), "{output}");

    // Variants, each resealed: (what, the files, whether valid).
    let with = |name: &str, bytes: Option<Vec<u8>>| -> Files {
        let mut files: Vec<_> = exported.iter().filter(|(n, _)| n != name).cloned().collect();
        if let Some(bytes) = bytes {
            files.push((name.to_owned(), bytes));
        }
        files
    };
    let flipped = {
        // The last byte of w2's signature, inside its base64.
        let lines: Vec<&str> = cosigned.lines().collect();
        let last = lines.last().unwrap();
        let (head, b64) = last.rsplit_once(' ').unwrap();
        let mut bytes = evidentia::encoding::b64_decode(b64).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        let mut text = lines[..lines.len() - 1].join("\n");
        text.push_str(&format!("\n{head} {}\n", evidentia::encoding::b64(&bytes)));
        text
    };
    let third_only =
        cosign(&add_note_signature(&stored, ORIGIN, &note_key).unwrap(), &witnesses[2].0, &witnesses[2].1, 5);
    let stranger = NoteVerifier::new(ORIGIN, &PublicKey::from_jwk(&ok(dir, &["keygen"])).unwrap()).unwrap().to_vkey();
    // The log's key as a compressed point: the same key, another DER.
    let compressed = {
        let out = Command::new("openssl")
            .args(["pkey", "-pubin", "-ec_conv_form", "compressed", "-outform", "DER"])
            .arg("-in")
            .arg(dir.join("pkg/public-key.pem"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mut key = vec![0x02];
        key.extend_from_slice(&out.stdout);
        let id = evidentia::encoding::hex(&evidentia::Digest::sha256(&out.stdout).as_bytes()[..4]);
        format!("{ORIGIN}+{id}+{}", evidentia::encoding::b64(&key))
    };
    // A line of a key nobody trusts, named with a character §10 forbids in names.
    let odd_name = |name: &str| format!("{cosigned}\u{2014} {name} AAAAAAAAAAA=\n").into_bytes();
    let mut not_utf8 = b"# \xf4\x90\x80\x80\n".to_vec();
    not_utf8.extend_from_slice(two_of_three.as_bytes());
    // A log named a\tb (a backslash, then t) and a witness of the same name, which
    // may not be: verify.sh must compare the text, not what awk makes of it.
    let backslash_log = evidentia::LogKey::ed25519("a\\tb", &NoteKey::from_seed(&[9; 32]).public_key()).unwrap();
    let backslash_witness =
        WitnessKey::new("witness.example/w4", &NoteKey::from_seed(&[10; 32]).public_key()).unwrap().to_vkey();
    let cases: Vec<(&str, Files, bool)> = vec![
        (
            "the policy names the log's key as a compressed point",
            with("witness-policy.txt", Some(policy(&compressed, "2").into_bytes())),
            false,
        ),
        (
            "a signature line's key name holds a control character",
            with("cosigned-checkpoint.txt", Some(odd_name("zz\u{1}z"))),
            false,
        ),
        (
            "a signature line's key name holds U+0085",
            with("cosigned-checkpoint.txt", Some(odd_name("zz\u{85}z"))),
            false,
        ),
        ("a signature line of an unknown key", with("cosigned-checkpoint.txt", Some(odd_name("zz\u{a0}z"))), true),
        ("the policy is not UTF-8", with("witness-policy.txt", Some(not_utf8)), false),
        (
            "a witness named as a log whose name holds a backslash",
            with(
                "witness-policy.txt",
                Some(
                    format!("log {}\nwitness a\\tb {backslash_witness}\n{two_of_three}", backslash_log.to_vkey())
                        .into_bytes(),
                ),
            ),
            false,
        ),
        (
            "the policy names the log's Ed25519 note key",
            with("witness-policy.txt", Some(policy(&note_vkey, "2").into_bytes())),
            true,
        ),
        (
            "the quorum needs all three",
            with("witness-policy.txt", Some(policy(&ecdsa_vkey, "all").into_bytes())),
            false,
        ),
        ("the quorum is any one", with("witness-policy.txt", Some(policy(&ecdsa_vkey, "any").into_bytes())), true),
        (
            "the policy's log is another key",
            with("witness-policy.txt", Some(policy(&stranger, "2").into_bytes())),
            false,
        ),
        (
            "the policy has no quorum line",
            with("witness-policy.txt", Some(two_of_three.replace("quorum g\n", "").into_bytes())),
            false,
        ),
        (
            "the policy's group names an unknown witness",
            with("witness-policy.txt", Some(two_of_three.replace("w1 w2 w3", "w1 w2 w4").into_bytes())),
            false,
        ),
        (
            "the quorum is none",
            with("witness-policy.txt", Some(two_of_three.replace("quorum g", "quorum none").into_bytes())),
            true,
        ),
        ("a cosignature does not verify", with("cosigned-checkpoint.txt", Some(flipped.into_bytes())), false),
        (
            "only the third witness cosigned",
            with("cosigned-checkpoint.txt", Some(third_only.clone().into_bytes())),
            false,
        ),
        (
            "the cosigned checkpoint is another checkpoint",
            with("cosigned-checkpoint.txt", Some(cosigned.replacen("\n3\n", "\n4\n", 1).into_bytes())),
            false,
        ),
        ("the policy is missing", with("witness-policy.txt", None), false),
        ("the cosigned checkpoint is missing", with("cosigned-checkpoint.txt", None), false),
        (
            "neither file: a package without witnesses",
            with("cosigned-checkpoint.txt", None).into_iter().filter(|(n, _)| n != "witness-policy.txt").collect(),
            true,
        ),
    ];
    // The failure names the witnesses whose cosignatures verified, each once.
    write_resealed(&dir.join("third"), &with("cosigned-checkpoint.txt", Some(third_only.clone().into_bytes())));
    let (_, output, _) = verdicts(dir, &dir.join("third"));
    assert!(
        output.starts_with("FAILED  12. the witnesses: the cosignatures (w3 at 5) do not meet the quorum"),
        "{output}"
    );
    for (what, files, valid) in cases {
        let folder = dir.join("variant");
        write_resealed(&folder, &files);
        let (status, output, failed) = verdicts(dir, &folder);
        if valid {
            assert_eq!((status, failed.as_slice()), (0, &[][..]), "{what}: {output}");
        } else {
            assert_eq!((status, failed.as_slice()), (1, &[12][..]), "{what}: {output}");
            assert!(output.starts_with("FAILED  12. the witnesses:"), "{what}: {output}");
        }
    }
}

#[test]
fn a_package_keeps_the_witnessed_checkpoint_over_a_newer_one_and_only_under_a_met_policy() {
    let work = Workdir::new("witnessed-package-choice");
    let dir = &work.0;
    ok(dir, &["keygen", "--out", "log.jwk"]);
    ok(dir, &["log", "init", "L", "--key", "log.jwk", "--id", ORIGIN]);
    std::fs::write(dir.join("e.json"), r#"{"action":"approve"}"#).unwrap();
    for _ in 0..2 {
        ok(dir, &["log", "append", "L", "e.json"]);
    }
    ok(dir, &["log", "checkpoint", "L"]);
    let log_key = PublicKey::from_jwk(&std::fs::read_to_string(dir.join("log.jwk")).unwrap()).unwrap();
    let ecdsa_vkey = NoteVerifier::new(ORIGIN, &log_key).unwrap().to_vkey();
    let stored = evidentia_store::LogReader::open(&dir.join("L")).unwrap().checkpoint_of_size(Some(2)).unwrap().note;
    let witness = NoteKey::from_seed(&[7; 32]);
    let vkey = WitnessKey::new("witness.example/w", &witness.public_key()).unwrap().to_vkey();
    let cosigned = cosign(&stored, "witness.example/w", &witness, 1_790_000_000);
    // A note kept without a met policy (fail open) leaves the package unwitnessed.
    evidentia_store::store_cosigned(&dir.join("L"), &cosigned, None).unwrap();
    ok(dir, &["export", "L", "--index", "0", "--out", "unwitnessed"]);
    assert!(!dir.join("unwitnessed/cosigned-checkpoint.txt").exists());
    // Under a policy it meets, a package of record 0 proves inclusion in the
    // witnessed checkpoint of 2 records, although the log has grown since.
    let policy = format!("log {ecdsa_vkey}\nwitness w {vkey}\nquorum w\n");
    evidentia_store::store_cosigned(&dir.join("L"), &cosigned, Some(&policy)).unwrap();
    ok(dir, &["log", "append", "L", "e.json"]);
    ok(dir, &["log", "checkpoint", "L"]);
    ok(dir, &["export", "L", "--index", "0", "--out", "witnessed"]);
    let body = std::fs::read_to_string(dir.join("witnessed/checkpoint-body.txt")).unwrap();
    assert_eq!(body.lines().nth(1), Some("2"), "{body}");
    let (status, output, failed) = verdicts(dir, &dir.join("witnessed"));
    assert_eq!((status, failed.as_slice()), (0, &[][..]), "{output}");
    // A record the witnessed checkpoint does not cover gets the newest checkpoint.
    ok(dir, &["export", "L", "--index", "2", "--out", "newer"]);
    assert!(!dir.join("newer/cosigned-checkpoint.txt").exists());
    let body = std::fs::read_to_string(dir.join("newer/checkpoint-body.txt")).unwrap();
    assert_eq!(body.lines().nth(1), Some("3"), "{body}");
}

#[test]
fn a_log_id_with_backslashes_is_compared_as_text() {
    let work = Workdir::new("witnessed-package-backslash");
    let dir = &work.0;
    let origin = r"corp\audit\x41";
    ok(dir, &["keygen", "--out", "log.jwk"]);
    ok(dir, &["log", "init", "L", "--key", "log.jwk", "--id", origin]);
    let note_vkey = ok(dir, &["log", "note-key", "L", "--key", "note.pem", "--generate"]).trim().to_owned();
    std::fs::write(dir.join("e.json"), r#"{"action":"approve"}"#).unwrap();
    ok(dir, &["log", "append", "L", "e.json"]);
    ok(dir, &["log", "checkpoint", "L"]);
    let note_key = NoteKey::from_pem(&std::fs::read_to_string(dir.join("note.pem")).unwrap()).unwrap();
    let stored = evidentia_store::LogReader::open(&dir.join("L")).unwrap().checkpoint_of_size(Some(1)).unwrap().note;
    let witness = NoteKey::from_seed(&[5; 32]);
    let vkey = WitnessKey::new(r"witness\t.example", &witness.public_key()).unwrap().to_vkey();
    let cosigned = cosign(&add_note_signature(&stored, origin, &note_key).unwrap(), r"witness\t.example", &witness, 9);
    let policy = format!("log {note_vkey}\nwitness w\\n {vkey}\nquorum w\\n\n");
    evidentia_store::store_cosigned(&dir.join("L"), &cosigned, Some(&policy)).unwrap();
    ok(dir, &["export", "L", "--index", "0", "--out", "pkg"]);
    let (status, output, failed) = verdicts(dir, &dir.join("pkg"));
    assert_eq!((status, failed.as_slice()), (0, &[][..]), "{output}");
    assert!(
        output.starts_with(r"OK      12. the checkpoint is cosigned by witnesses of witness-policy.txt"),
        "{output}"
    );
    assert!(output.contains(r": w\n at 9,"), "{output}");
}
