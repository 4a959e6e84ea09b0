//! `evidentia log witness` against real witnesses: two litewitness instances
//! (filippo.io/torchwood, c2sp.org/tlog-witness) on loopback, signing through an
//! ssh-agent as litewitness does, and a third witness that cannot be reached.
//! They cosign the log's Ed25519-signed checkpoints, check consistency proofs from
//! the size each last cosigned, answer 409 with the size they hold, and refuse a
//! forked copy of the log.
//!
//! `cargo xtask test` installs litewitness and sets `EVIDENTIA_LITEWITNESS` (and
//! `EVIDENTIA_REQUIRE_WITNESS`, so that the test cannot skip).
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Workdir, copy_folder, evidentia, text};

fn litewitness() -> Option<PathBuf> {
    match std::env::var_os("EVIDENTIA_LITEWITNESS") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            assert!(
                std::env::var_os("EVIDENTIA_REQUIRE_WITNESS").is_none(),
                "EVIDENTIA_REQUIRE_WITNESS is set but EVIDENTIA_LITEWITNESS is not"
            );
            eprintln!("skipped: EVIDENTIA_LITEWITNESS is not set (cargo xtask test sets it)");
            None
        }
    }
}

/// Child processes, killed when the test ends however it ends.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &Path)]) -> String {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir);
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(30), "{what} did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running litewitness: its name, vkey and URL.
struct Witness {
    vkey: String,
    url: String,
    db: PathBuf,
}

fn start_witness(dir: &Path, binary: &Path, agent: &Path, name: &str, children: &mut Children) -> Witness {
    let key = dir.join(format!("{}.key", name.replace('/', "_")));
    let key_arg = key.to_str().unwrap();
    run(dir, "ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key_arg], &[]);
    run(dir, "ssh-add", &["-q", key_arg], &[("SSH_AUTH_SOCK", agent)]);
    let fingerprint = run(dir, "ssh-keygen", &["-l", "-E", "sha256", "-f", &format!("{key_arg}.pub")], &[]);
    let fingerprint = fingerprint.split_whitespace().nth(1).unwrap().to_owned();
    let port = free_port();
    let db = dir.join(format!("{}.db", name.replace('/', "_")));
    let log = dir.join(format!("{}.log", name.replace('/', "_")));
    let child = Command::new(binary)
        .args(["-name", name, "-key", &fingerprint, "-ssh-agent", agent.to_str().unwrap()])
        .args(["-db", db.to_str().unwrap(), "-listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    children.0.push(child);
    let url = format!("http://127.0.0.1:{port}");
    wait_until("litewitness", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && db.exists());
    let mut vkey = None;
    wait_until("litewitness's vkey", || {
        vkey = std::fs::read_to_string(&log)
            .unwrap()
            .split_whitespace()
            .find_map(|w| w.strip_prefix("vkey=").map(|v| v.trim_matches('"').to_owned()));
        vkey.is_some()
    });
    Witness { vkey: vkey.unwrap(), url, db }
}

/// Tells a witness about a log (what `witnessctl add-log` and `add-key` write).
fn add_log(dir: &Path, witness: &Witness, origin: &str, log_vkey: &str) {
    let empty = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let sql = format!(
        "INSERT INTO log (origin, tree_size, tree_hash) VALUES ('{origin}', 0, '{empty}');
         INSERT INTO key (origin, key) VALUES ('{origin}', '{log_vkey}');"
    );
    run(dir, "sqlite3", &[witness.db.to_str().unwrap(), &sql], &[]);
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = evidentia(dir, args);
    assert!(out.status.success(), "evidentia {args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

/// `evidentia --json log witness`, its exit status and JSON summary.
fn witness_round(dir: &Path, log: &str, policy: &str, extra: &[&str]) -> (i32, evidentia::json::Value, String) {
    let mut args = vec!["--json", "log", "witness", log, "--policy", policy, "--timeout", "10"];
    args.extend_from_slice(extra);
    let out = evidentia(dir, &args);
    let stdout = text(&out.stdout);
    let summary = evidentia::json::parse(stdout.trim().as_bytes())
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}{}", text(&out.stderr)));
    (out.status.code().unwrap(), summary, text(&out.stderr))
}

fn cosigned_by(summary: &evidentia::json::Value) -> Vec<(String, bool)> {
    let witnesses = summary.get("witnesses").and_then(evidentia::json::Value::as_array).unwrap();
    witnesses
        .iter()
        .map(|w| {
            let name = w.get("witness").and_then(evidentia::json::Value::as_str).unwrap().to_owned();
            (name, w.get("cosigned") == Some(&evidentia::json::Value::Bool(true)))
        })
        .collect()
}

#[test]
fn litewitnesses_cosign_follow_the_log_and_refuse_its_fork() {
    let Some(binary) = litewitness() else { return };
    let work = Workdir::new("witness-client");
    let dir = &work.0;
    let mut children = Children(Vec::new());
    let agent = dir.join("agent.sock");
    children.0.push(Command::new("ssh-agent").args(["-D", "-a"]).arg(&agent).stdout(Stdio::null()).spawn().unwrap());
    wait_until("ssh-agent", || agent.exists());
    let w1 = start_witness(dir, &binary, &agent, "witness.example/w1", &mut children);
    let w2 = start_witness(dir, &binary, &agent, "witness.example/w2", &mut children);
    let gone = format!("http://127.0.0.1:{}", free_port());

    let origin = "example.com/witnessed";
    ok(dir, &["keygen", "--out", "log.jwk"]);
    ok(dir, &["log", "init", "L", "--key", "log.jwk", "--id", origin]);
    let note_vkey = ok(dir, &["log", "note-key", "L", "--key", "note.pem", "--generate"]).trim().to_owned();
    for witness in [&w1, &w2] {
        add_log(dir, witness, origin, &note_vkey);
    }
    std::fs::write(dir.join("e.json"), r#"{"action":"approve"}"#).unwrap();
    for _ in 0..3 {
        ok(dir, &["log", "append", "L", "e.json"]);
    }
    // The third witness's key: any cosignature/v1 vkey will do, it is never reached.
    let w3_vkey = evidentia::WitnessKey::new("witness.example/w3", &ed25519_point()).unwrap().to_vkey();
    let policy = |quorum: &str| {
        format!(
            "log {note_vkey}\nwitness w1 {} {}\nwitness w2 {} {}\nwitness w3 {w3_vkey} {gone}\ngroup g {quorum} w1 w2 w3\nquorum g\n",
            w1.vkey, w1.url, w2.vkey, w2.url
        )
    };
    std::fs::write(dir.join("two-of-three.policy"), policy("2")).unwrap();
    std::fs::write(dir.join("all.policy"), policy("all")).unwrap();

    // Two of three cosign: the quorum of two is met.
    let (status, summary, stderr) = witness_round(dir, "L", "two-of-three.policy", &[]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(cosigned_by(&summary), vec![("w1".into(), true), ("w2".into(), true), ("w3".into(), false)], "{stderr}");
    let cosigned = summary.get("checkpoint").and_then(evidentia::json::Value::as_str).unwrap().to_owned();
    assert_eq!(cosigned.matches("— witness.example/").count(), 2, "{cosigned}");
    assert_eq!(std::fs::read_to_string(dir.join("L/witness/3.cosigned")).unwrap(), cosigned);
    std::fs::write(dir.join("cosigned.txt"), &cosigned).unwrap();
    let out = evidentia(dir, &["checkpoint", "verify-policy", "cosigned.txt", "--policy", "two-of-three.policy"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // All three are required: refused (exit 1), unless the caller chose to fail open.
    let (status, summary, stderr) = witness_round(dir, "L", "all.policy", &[]);
    assert_eq!(status, 1, "{stderr}");
    let error = summary.get("error").and_then(|e| e.get("name")).and_then(evidentia::json::Value::as_str);
    assert_eq!(error, Some("POLICY_NOT_SATISFIED"), "{stderr}");
    let (status, _, stderr) = witness_round(dir, "L", "all.policy", &["--fail-open"]);
    assert_eq!(status, 0, "{stderr}");
    // Rounds at one size keep one line a witness: the stored checkpoint does not grow.
    for _ in 0..3 {
        let (status, _, stderr) = witness_round(dir, "L", "two-of-three.policy", &[]);
        assert_eq!(status, 0, "{stderr}");
    }
    assert_eq!(std::fs::read_to_string(dir.join("L/witness/3.cosigned")).unwrap(), cosigned);

    // More records: each witness checks the consistency proof from the size it holds.
    let state = std::fs::read_to_string(dir.join("L/witness/state.json")).unwrap();
    assert!(state.contains(&format!("\"{}\":\"3\"", w1.vkey)), "{state}");
    let (fork, rolled) = (dir.join("F"), dir.join("R"));
    copy_folder(&dir.join("L"), &fork);
    copy_folder(&dir.join("L"), &rolled);
    for _ in 0..2 {
        ok(dir, &["log", "append", "L", "e.json"]);
    }
    // Forgetting what a witness holds costs a 409 and a retry from its size.
    std::fs::remove_file(dir.join("L/witness/state.json")).unwrap();
    // A round that does not meet the quorum stores nothing.
    let (status, summary, stderr) = witness_round(dir, "L", "all.policy", &[]);
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(cosigned_by(&summary)[..2], [("w1".into(), true), ("w2".into(), true)], "{stderr}");
    assert!(!dir.join("L/witness/5.cosigned").exists());
    let (status, summary, stderr) = witness_round(dir, "L", "two-of-three.policy", &[]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(cosigned_by(&summary)[..2], [("w1".into(), true), ("w2".into(), true)], "{stderr}");
    assert!(dir.join("L/witness/5.cosigned").exists());
    // A package of record 4 carries the checkpoint as the witnesses cosigned it and
    // the policy it met; verify.sh checks the log's Ed25519 signature and the
    // litewitness cosignatures with OpenSSL alone.
    ok(dir, &["export", "L", "--index", "4", "--out", "pkg"]);
    let read = |path: &str| std::fs::read_to_string(dir.join(path)).unwrap();
    assert_eq!(read("pkg/cosigned-checkpoint.txt"), read("L/witness/5.cosigned"));
    assert_eq!(read("pkg/witness-policy.txt"), read("two-of-three.policy"));
    let sh = Command::new("sh").arg("verify.sh").current_dir(dir.join("pkg")).output().unwrap();
    let output = text(&sh.stdout);
    assert!(sh.status.success(), "{output}{}", text(&sh.stderr));
    assert!(output.contains("OK      12. the checkpoint is cosigned by witnesses of witness-policy.txt"), "{output}");
    assert!(output.contains(": w1 at ") && output.contains(", w2 at "), "{output}");
    ok(dir, &["package", "verify", "pkg"]);
    // A record's tlog-proof carries the newest cosigned checkpoint covering it, and
    // checks against the policy with the record's bytes as the entry.
    for index in ["1", "4"] {
        ok(dir, &["log", "prove", "L", "--index", index, "--tlog-proof", "p.tlog-proof", "--entry-out", "entry"]);
        let proof = std::fs::read_to_string(dir.join("p.tlog-proof")).unwrap();
        assert!(proof.starts_with(&format!("c2sp.org/tlog-proof@v1\nindex {index}\n")), "{proof}");
        assert_eq!(proof.matches("— witness.example/").count(), 2, "{proof}");
        let args = ["proof", "verify-tlog", "p.tlog-proof", "--entry", "entry", "--policy", "two-of-three.policy"];
        ok(dir, &args);
        std::fs::write(dir.join("entry"), b"{}").unwrap();
        assert_eq!(evidentia(dir, &args).status.code(), Some(1));
    }

    // A fork of the log at size 3, grown to 5 other records: the witnesses hold the
    // log's 5 and refuse the fork's 5 (another root for the same size).
    std::fs::write(dir.join("other.json"), r#"{"action":"reject"}"#).unwrap();
    for _ in 0..2 {
        ok(dir, &["log", "append", "F", "other.json"]);
    }
    let (status, summary, stderr) = witness_round(dir, "F", "two-of-three.policy", &[]);
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(cosigned_by(&summary), vec![("w1".into(), false), ("w2".into(), false), ("w3".into(), false)]);
    let errors = errors_of(&summary);
    assert!(errors.iter().take(2).all(|e| e.contains("answered 422")), "{errors:?}");
    // A copy of 4 records, which forgot what the witnesses hold: they hold more.
    ok(dir, &["log", "append", "R", "e.json"]);
    std::fs::remove_dir_all(rolled.join("witness")).unwrap();
    let (status, summary, stderr) = witness_round(dir, "R", "two-of-three.policy", &[]);
    assert_eq!(status, 1, "{stderr}");
    let errors = errors_of(&summary);
    assert!(errors.iter().take(2).all(|e| e.contains("holds a checkpoint of 5 records")), "{errors:?}");
    drop(children);
}

fn errors_of(summary: &evidentia::json::Value) -> Vec<String> {
    let witnesses = summary.get("witnesses").and_then(evidentia::json::Value::as_array).unwrap();
    witnesses
        .iter()
        .map(|w| w.get("error").and_then(evidentia::json::Value::as_str).unwrap_or_default().to_owned())
        .collect()
}

/// A valid Ed25519 public key (of seed 7), for a witness that is never reached.
fn ed25519_point() -> [u8; 32] {
    let key = evidentia::NoteKey::from_seed(&[7u8; 32]);
    evidentia::NoteSigner::public_key(&key)
}
