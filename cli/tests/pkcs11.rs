//! `--key pkcs11:...`: logs signed by keys in a PKCS#11 token (SoftHSM2).
//!
//! Skipped (with a notice) when SoftHSM2 is not installed, unless
//! `EVIDENTIA_REQUIRE_SOFTHSM` is set (as `cargo xtask test` does).

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "73916428";

/// A token folder of its own for one test, with SOFTHSM2_CONF for the commands.
struct Hsm {
    module: String,
    dir: PathBuf,
    conf: PathBuf,
    pin_file: PathBuf,
}

impl Drop for Hsm {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Hsm {
    fn new(name: &str, tokens: &[&str]) -> Option<Hsm> {
        let module = std::env::var("EVIDENTIA_PKCS11_MODULE").unwrap_or_else(|_| DEFAULT_MODULE.to_owned());
        if !Path::new(&module).exists() {
            assert!(
                std::env::var_os("EVIDENTIA_REQUIRE_SOFTHSM").is_none(),
                "EVIDENTIA_REQUIRE_SOFTHSM is set but {module} is missing (apt-get install softhsm2 opensc)"
            );
            eprintln!("SKIPPED: SoftHSM2 is not installed ({module} is missing)");
            return None;
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("softhsm-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        let pin_file = dir.join("pin");
        std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
        let hsm = Hsm { module, dir, conf, pin_file };
        for token in tokens {
            let output = Command::new("softhsm2-util")
                .args(["--init-token", "--free", "--label", token, "--pin", PIN, "--so-pin", "11223344"])
                .env("SOFTHSM2_CONF", &hsm.conf)
                .output()
                .unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        }
        Some(hsm)
    }

    /// A key URI with the PIN in a file.
    fn uri(&self, token: &str, object: &str, id: &str) -> String {
        format!(
            "pkcs11:token={token};object={object};id={id}?pin-source=file://{}&module-path={}",
            self.pin_file.display(),
            self.module
        )
    }

    fn evidentia(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.evidentia_in(Path::new("."), args, stdin)
    }

    /// Runs the command with `cwd` as its current directory.
    fn evidentia_in(&self, cwd: &Path, args: &[&str], stdin: &[u8]) -> Output {
        self.evidentia_with(cwd, None, args, stdin)
    }

    /// Runs the command with `cwd` as its current directory and
    /// EVIDENTIA_PKCS11_MODULE set to `module` (or unset).
    fn evidentia_with(&self, cwd: &Path, module: Option<&str>, args: &[&str], stdin: &[u8]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_evidentia"));
        match module {
            Some(module) => command.env("EVIDENTIA_PKCS11_MODULE", module),
            None => command.env_remove("EVIDENTIA_PKCS11_MODULE"),
        };
        let mut child = command
            .current_dir(cwd)
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str], stdin: &[u8]) -> String {
        let output = self.evidentia(args, stdin);
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs a command that must fail with exit status 2 and the code name on stderr.
    fn fails(&self, args: &[&str], code: &str) {
        let output = self.evidentia(args, b"");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("[{code}]")), "{args:?}: expected {code}: {stderr}");
        assert!(!stderr.contains(PIN) && !stderr.contains("555555"), "the PIN is shown: {stderr}");
    }
}

fn every_file(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            every_file(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn log_with_token_keys(mode: &str) {
    let Some(hsm) = Hsm::new(mode, &["evidentia"]) else { return };
    let first = hsm.uri("evidentia", "first", "%01");
    let second = hsm.uri("evidentia", "second", "%02");
    let jwk = hsm.ok(&["keygen", "--pkcs11", &first], b"");
    assert!(jwk.contains("\"kty\":\"EC\"") && !jwk.contains("\"d\""), "{jwk}");
    hsm.ok(&["keygen", "--pkcs11", &second], b"");
    // The same label again: a key is never replaced.
    hsm.fails(&["keygen", "--pkcs11", &first], "KEY_URI_INVALID");

    let log = hsm.dir.join("log");
    let log = log.to_str().unwrap();
    hsm.ok(&["log", "init", log, "--key", &first, "--id", "example.com/hsm", "--mode", mode], b"");
    let config = std::fs::read_to_string(Path::new(log).join("log.json")).unwrap();
    assert!(config.contains("\"key_uri\":\"pkcs11:token=evidentia;object=first"), "{config}");
    // Two single appends, then 18 events in one batch: one group.
    hsm.ok(&["log", "append", log, "-"], b"{\"n\":0}");
    hsm.ok(&["log", "append", log, "-", "--key", &first], b"{\"n\":1}");
    let lines: String = (2..20).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    let acknowledged = hsm.ok(&["log", "append", log, "--batch", "-"], lines.as_bytes());
    assert_eq!(acknowledged.lines().count(), 18);
    let note = hsm.ok(&["log", "checkpoint", log], b"");
    assert!(note.starts_with("example.com/hsm\n20\n"), "{note}");
    hsm.ok(&["log", "rotate", log, "--key", &second], b"");
    let config = std::fs::read_to_string(Path::new(log).join("log.json")).unwrap();
    assert!(config.contains("object=second"), "{config}");
    hsm.ok(&["log", "append", log, "-"], b"{\"n\":20}");
    // The token's second key revokes the first from now on (after its last record).
    let first_kid = evidentia::PublicKey::from_jwk(&jwk).unwrap().kid().to_owned();
    let now = evidentia::Timestamp::from_system_time(std::time::SystemTime::now()).unwrap().to_string();
    hsm.ok(&["log", "revoke", log, "--kid", &first_kid, "--at", &now, "--reason", "superseded"], b"");
    let keys = std::fs::read_to_string(Path::new(log).join("keys.jwks")).unwrap();
    assert!(keys.contains("\"reason\":\"superseded\""), "{keys}");
    hsm.ok(&["log", "checkpoint", log], b"");
    let report = hsm.ok(&["log", "verify", log], b"");
    assert!(report.contains("VALID") && !report.contains("INVALID"), "{report}");
    let receipt = hsm.ok(&["log", "receipt", log, "--index", "3"], b"");
    assert!(!receipt.trim().is_empty());
    // The package of a record the first token key signed carries the rotation and the
    // revocation the token signed (check 11), and verifies.
    let package = hsm.dir.join("package");
    hsm.ok(&["export", log, "--index", "3", "--out", package.to_str().unwrap()], b"");
    let verdict = hsm.ok(&["package", "verify", package.to_str().unwrap()], b"");
    assert!(verdict.contains("OK      11. ") && verdict.contains("VERDICT: VALID"), "{verdict}");

    let mut files = Vec::new();
    every_file(Path::new(log), &mut files);
    every_file(&package, &mut files);
    assert!(files.len() > 3);
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.windows(PIN.len()).any(|w| w == PIN.as_bytes()), "the PIN is in {}", file.display());
    }
}

#[test]
fn a_receipts_log_signed_in_the_token() {
    log_with_token_keys("receipts");
}

#[test]
fn a_batch_log_signed_in_the_token() {
    log_with_token_keys("batch");
}

#[test]
fn token_errors_exit_2_with_their_code() {
    let Some(hsm) = Hsm::new("errors", &["evidentia"]) else { return };
    let key = hsm.uri("evidentia", "key", "%01");
    hsm.ok(&["keygen", "--pkcs11", &key], b"");
    let log = hsm.dir.join("log");
    let log = log.to_str().unwrap();
    let with_pin = format!("pkcs11:token=evidentia;object=key?pin-value={PIN}&module-path={}", hsm.module);
    // A URI holding the PIN is never stored.
    hsm.fails(&["log", "init", log, "--key", &with_pin], "KEY_URI_INVALID");
    assert!(!Path::new(log).join("log.json").exists());
    // ... but it signs where nothing is stored.
    let jws = hsm.ok(&["jws", "sign", "--key", &with_pin, "-"], b"hello");
    assert_eq!(jws.trim().split('.').count(), 3);
    hsm.ok(&["log", "init", log, "--key", &key], b"");
    let wrong_pin = format!("pkcs11:token=evidentia;object=key?pin-value=555555&module-path={}", hsm.module);
    hsm.fails(&["log", "append", log, "--key", &wrong_pin, "-"], "TOKEN_LOGIN_FAILED");
    let no_key = hsm.uri("evidentia", "nothing", "%09");
    hsm.fails(&["log", "append", log, "--key", &no_key, "-"], "TOKEN_KEY_NOT_FOUND");
    let no_token = hsm.uri("elsewhere", "key", "%01");
    hsm.fails(&["log", "append", log, "--key", &no_token, "-"], "TOKEN_NOT_FOUND");
    hsm.fails(&["log", "append", log, "--key", "pkcs11:token=evidentia;objekt=key", "-"], "KEY_URI_INVALID");
    hsm.fails(&["keygen", "--pkcs11", "pkcs11:object=k?pin-value=1"], "KEY_URI_INVALID");
    // No module named: the message says how to name one.
    let output = hsm.evidentia(&["log", "append", log, "--key", "pkcs11:token=evidentia;object=key", "-"], b"{}");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("EVIDENTIA_PKCS11_MODULE") && stderr.contains("[KEY_URI_INVALID]"), "{stderr}");
    // Nothing was appended by the failures.
    hsm.ok(&["log", "append", log, "-"], b"{\"ok\":true}");
    assert!(hsm.ok(&["log", "verify", log], b"").contains("VALID"));
}

#[test]
fn relative_paths_in_a_uri_are_stored_absolute() {
    let Some(hsm) = Hsm::new("relative", &["evidentia"]) else { return };
    hsm.ok(&["keygen", "--pkcs11", &hsm.uri("evidentia", "key", "%01")], b"");
    let work = hsm.dir.join("work");
    let elsewhere = hsm.dir.join("elsewhere");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::copy(&hsm.pin_file, work.join("pin")).unwrap();
    // The module by a path relative to `work`.
    let work = std::fs::canonicalize(&work).unwrap();
    let up = "../".repeat(work.components().count() - 1);
    let module = format!("{up}{}", hsm.module.trim_start_matches('/'));
    assert!(work.join(&module).exists(), "{module}");
    let uri = format!("pkcs11:token=evidentia;object=key?pin-source=./pin&module-path={module}");
    let log = hsm.dir.join("log");
    let log = log.to_str().unwrap();
    let run = |cwd: &Path, args: &[&str], stdin: &[u8]| {
        let output = hsm.evidentia_in(cwd, args, stdin);
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    run(&work, &["log", "init", log, "--key", &uri], b"");
    let config = std::fs::read_to_string(Path::new(log).join("log.json")).unwrap();
    let pin = work.join("pin");
    assert!(config.contains(&format!("pin-source={}", pin.display())), "{config}");
    assert!(config.contains(&format!("module-path={}", work.join(&module).display())), "{config}");
    // Appends from another directory, with the key log.json remembers.
    run(&elsewhere, &["log", "append", log, "-"], b"{\"n\":1}");
    // A rotation's new key too.
    hsm.ok(&["keygen", "--pkcs11", &hsm.uri("evidentia", "next", "%02")], b"");
    let next = format!("pkcs11:token=evidentia;object=next?pin-source=pin&module-path={}", hsm.module);
    run(&work, &["log", "rotate", log, "--key", &next], b"");
    run(&elsewhere, &["log", "append", log, "-"], b"{\"n\":2}");
    assert!(hsm.ok(&["log", "verify", log], b"").contains("VALID"));
}

#[cfg(unix)]
#[test]
fn log_json_does_not_choose_the_module_loaded() {
    use std::os::unix::fs::PermissionsExt;
    let Some(hsm) = Hsm::new("module", &["evidentia"]) else { return };
    // The module copied to a folder of the user's: trusted while no one else can
    // write it.
    let copies = hsm.dir.join("modules");
    std::fs::create_dir_all(&copies).unwrap();
    std::fs::set_permissions(&copies, std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = copies.join("libtoken.so");
    std::fs::copy(&hsm.module, &copy).unwrap();
    let mode = |mode: u32| std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(mode)).unwrap();
    mode(0o755);
    let uri = format!(
        "pkcs11:token=evidentia;object=key;id=%01?pin-source={}&module-path={}",
        hsm.pin_file.display(),
        copy.display()
    );
    hsm.ok(&["keygen", "--pkcs11", &uri], b"");
    let log = hsm.dir.join("log");
    let log = log.to_str().unwrap();
    hsm.ok(&["log", "init", log, "--key", &uri], b"");
    hsm.ok(&["log", "append", log, "-"], b"{\"n\":1}");
    // Others may write the module: not loaded from log.json, but still from --key.
    mode(0o777);
    hsm.fails(&["log", "append", log, "-"], "KEY_URI_INVALID");
    hsm.fails(&["log", "checkpoint", log], "KEY_URI_INVALID");
    hsm.ok(&["log", "append", log, "--key", &uri, "-"], b"{\"n\":2}");
    mode(0o755);
    // The folder too.
    std::fs::set_permissions(&copies, std::fs::Permissions::from_mode(0o777)).unwrap();
    hsm.fails(&["log", "append", log, "-"], "KEY_URI_INVALID");
    std::fs::set_permissions(&copies, std::fs::Permissions::from_mode(0o755)).unwrap();
    // With EVIDENTIA_PKCS11_MODULE set, log.json may name that module only.
    let here = Path::new(".");
    let output = hsm.evidentia_with(here, Some(&hsm.module), &["log", "append", log, "-"], b"{\"n\":3}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("[KEY_URI_INVALID]") && stderr.contains("EVIDENTIA_PKCS11_MODULE"), "{stderr}");
    let copy_text = copy.to_str().unwrap();
    let output = hsm.evidentia_with(here, Some(copy_text), &["log", "append", log, "-"], b"{\"n\":3}");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // A relative module-path in log.json (written by hand) is refused.
    let config_path = Path::new(log).join("log.json");
    let config = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(
        &config_path,
        config.replace(&format!("module-path={copy_text}"), "module-path=modules/libtoken.so"),
    )
    .unwrap();
    let output = hsm.evidentia_in(&hsm.dir, &["log", "append", log, "-"], b"{\"n\":4}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("[KEY_URI_INVALID]") && stderr.contains("absolute"), "{stderr}");
    assert!(hsm.ok(&["log", "verify", log], b"").contains("VALID"));
}

/// A log's Ed25519 note key (SPEC §10.1) kept in the token: `log note-key --key
/// pkcs11:...` remembers the URI (no PIN), later commands open it, and every
/// checkpoint carries its line, which a policy naming only that key accepts.
#[test]
fn an_ed25519_note_key_in_the_token_signs_checkpoints() {
    let Some(hsm) = Hsm::new("note-key", &["evidentia"]) else { return };
    let keygen = Command::new("pkcs11-tool")
        .args(["--module", &hsm.module, "--token-label", "evidentia", "--login", "--pin", PIN])
        .args(["--keypairgen", "--key-type", "EC:edwards25519", "--label", "note", "--id", "03"])
        .env("SOFTHSM2_CONF", &hsm.conf)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{}", String::from_utf8_lossy(&keygen.stderr));
    let note_uri = hsm.uri("evidentia", "note", "%03");
    let p256_uri = hsm.uri("evidentia", "p256", "%04");
    hsm.ok(&["keygen", "--pkcs11", &p256_uri], b"");

    let dir = hsm.dir.join("work");
    std::fs::create_dir_all(&dir).unwrap();
    let (log, jwk) = (dir.join("log"), dir.join("log.jwk"));
    let (log, jwk) = (log.to_str().unwrap(), jwk.to_str().unwrap());
    hsm.ok(&["keygen", "--out", jwk], b"");
    hsm.ok(&["log", "init", log, "--key", jwk, "--id", "example.com/hsm-note", "--mode", "batch"], b"");
    hsm.fails(&["log", "note-key", log, "--key", &p256_uri], "KEY_UNSUPPORTED");
    hsm.fails(&["log", "note-key", log, "--key", &note_uri, "--generate"], "INVALID_ARGUMENT");
    let vkey = hsm.ok(&["log", "note-key", log, "--key", &note_uri], b"").trim().to_owned();
    assert!(vkey.starts_with("example.com/hsm-note+"), "{vkey}");
    let config = std::fs::read_to_string(Path::new(log).join("log.json")).unwrap();
    assert!(config.contains("\"note_key_uri\":\"pkcs11:token=evidentia;object=note"), "{config}");
    assert!(!config.contains(PIN), "{config}");

    // Later processes open the token's key to seal each batch.
    hsm.ok(&["log", "append", log, "--batch", "-"], b"{\"n\":1}\n{\"n\":2}\n");
    let note = hsm.ok(&["log", "checkpoint", log], b"");
    assert_eq!(note.matches("\u{2014} example.com/hsm-note ").count(), 2, "{note}");
    std::fs::write(dir.join("checkpoint"), &note).unwrap();
    std::fs::write(dir.join("policy"), format!("log {vkey}\nquorum none\n")).unwrap();
    let checked = hsm.ok(
        &[
            "checkpoint",
            "verify-policy",
            dir.join("checkpoint").to_str().unwrap(),
            "--policy",
            dir.join("policy").to_str().unwrap(),
        ],
        b"",
    );
    assert!(checked.contains("VALID"), "{checked}");
    let report = hsm.ok(&["log", "verify", log], b"");
    assert!(report.contains("VALID") && !report.contains("INVALID"), "{report}");
}
