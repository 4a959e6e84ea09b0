//! `evidentia checkpoint verify-policy` and `evidentia proof verify-tlog` (SPEC.md
//! §22) over every case of testvectors/witness.json: the verdict, the exit status
//! (0 valid, 1 refused with the code on standard error, 2 malformed input), the
//! witnesses that cosigned and the quorum, as text and as JSON.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use evidentia::ErrorCode;
use evidentia::json::{Value, parse};

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testvectors/witness.json");
    parse(&std::fs::read(path).unwrap()).unwrap()
}

fn cases<'a>(doc: &'a Value, name: &str) -> &'a [Value] {
    doc.get(name).and_then(Value::as_array).unwrap()
}

fn str_of<'a>(case: &'a Value, name: &str) -> &'a str {
    case.get(name).and_then(Value::as_str).unwrap()
}

/// A scratch directory, removed when the test ends.
struct Workdir(PathBuf);

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn workdir(name: &str) -> Workdir {
    let dir = std::env::temp_dir().join(format!("evidentia-cli-witness-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Workdir(dir)
}

fn evidentia(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_evidentia")).args(args).current_dir(dir).output().unwrap()
}

fn expected_exit(code: Option<&str>) -> i32 {
    match code {
        None => 0,
        Some(name) => {
            let code = ErrorCode::ALL.iter().find(|c| c.name() == name).unwrap();
            if (600..700).contains(&(*code as u16)) { 1 } else { 2 }
        }
    }
}

/// Runs one case as text and as JSON and checks the verdict against the vector.
fn check(dir: &Path, case: &Value, args: &[&str]) {
    let name = str_of(case, "name");
    let code = case.get("code").and_then(Value::as_str);
    let exit = expected_exit(code);
    let out = evidentia(dir, args);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(exit), "{name}: {stdout}\n{stderr}");
    match code {
        Some(code) => assert!(stderr.contains(&format!("[{code}]")), "{name}: {stderr}"),
        None => {
            assert!(stdout.contains("VALID: "), "{name}: {stdout}");
            assert!(stdout.contains("the quorum is met"), "{name}: {stdout}");
            let result = case.get("result").unwrap();
            for c in result.get("cosigned").and_then(Value::as_array).unwrap() {
                let line = format!("cosigned by {} ({}) at ", str_of(c, "witness"), str_of(c, "key_name"));
                assert!(stdout.contains(&line), "{name}: {stdout}");
            }
        }
    }

    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(args);
    let out = evidentia(dir, &json_args);
    assert_eq!(out.status.code(), Some(exit), "{name}");
    let doc = parse(&out.stdout).unwrap();
    match code {
        None => {
            let result = case.get("result").unwrap();
            assert_eq!(doc.get("valid"), Some(&Value::Bool(true)), "{name}");
            for member in ["origin", "root", "size", "signed_by", "quorum_met"] {
                assert_eq!(doc.get(member), result.get(member), "{name}: {member}");
            }
            let cosigned: Vec<(&str, &str, Option<&Value>)> = doc
                .get("cosigned")
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .map(|c| (str_of(c, "witness"), str_of(c, "key_name"), c.get("timestamp")))
                .collect();
            let expected: Vec<(&str, &str, Option<&Value>)> = result
                .get("cosigned")
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .map(|c| (str_of(c, "witness"), str_of(c, "key_name"), c.get("timestamp")))
                .collect();
            assert_eq!(cosigned, expected, "{name}");
        }
        Some(code) => {
            let error = doc.get("error").unwrap();
            assert_eq!(str_of(error, "name"), code, "{name}");
        }
    }
}

#[test]
fn checkpoint_verify_policy_over_the_vectors() {
    let doc = vectors();
    let dir = workdir("policy");
    let mut run = 0;
    for case in cases(&doc, "policies") {
        std::fs::write(dir.0.join("note"), str_of(case, "note")).unwrap();
        std::fs::write(dir.0.join("policy"), str_of(case, "policy")).unwrap();
        check(&dir.0, case, &["checkpoint", "verify-policy", "note", "--policy", "policy"]);
        run += 1;
    }
    assert!(run >= 9);
}

#[test]
fn proof_verify_tlog_over_the_vectors() {
    let doc = vectors();
    let dir = workdir("tlog");
    let mut run = 0;
    for case in cases(&doc, "proofs") {
        std::fs::write(dir.0.join("proof"), str_of(case, "proof")).unwrap();
        std::fs::write(dir.0.join("entry"), str_of(case, "entry")).unwrap();
        std::fs::write(dir.0.join("policy"), str_of(case, "policy")).unwrap();
        check(&dir.0, case, &["proof", "verify-tlog", "proof", "--entry", "entry", "--policy", "policy"]);
        run += 1;
    }
    assert!(run >= 6);
}

/// A quorum that is not met still shows who cosigned, and says so on standard error.
#[test]
fn an_unmet_quorum_names_the_witnesses_that_did_cosign() {
    let doc = vectors();
    let case = cases(&doc, "policies")
        .iter()
        .find(|c| str_of(c, "name").starts_with("1 of 3 witnesses cosigned: refused"))
        .unwrap();
    let dir = workdir("unmet");
    std::fs::write(dir.0.join("note"), str_of(case, "note")).unwrap();
    std::fs::write(dir.0.join("policy"), str_of(case, "policy")).unwrap();
    let out = evidentia(&dir.0, &["checkpoint", "verify-policy", "note", "--policy", "policy"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cosigned by w2 (witness2.example) at 2026-01-01T00:02:00Z"), "{stdout}");
    assert!(stdout.contains("INVALID: 1 witness(es) of the policy cosigned; the quorum is not met"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("[POLICY_NOT_SATISFIED]"));
    let out = evidentia(&dir.0, &["--json", "checkpoint", "verify-policy", "note", "--policy", "policy"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = parse(&out.stdout).unwrap();
    assert_eq!(doc.get("quorum_met"), Some(&Value::Bool(false)));
    assert_eq!(doc.get("cosigned").and_then(Value::as_array).map(<[Value]>::len), Some(1));
    // A policy file that is missing is a usage error; one that is not a policy, malformed.
    let out = evidentia(&dir.0, &["checkpoint", "verify-policy", "note", "--policy", "missing"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(dir.0.join("bad"), "quorum nobody\n").unwrap();
    let out = evidentia(&dir.0, &["checkpoint", "verify-policy", "note", "--policy", "bad"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[POLICY_MALFORMED]"));
}
