//! verify.sh on packages from strangers: it reads nothing outside the package
//! folder, refuses links and anything but plain files before reading, lets
//! SHA256SUMS name only the package's own files, never hangs, and stops (removing
//! its temporary files) on Ctrl-C, TERM and HUP. Run with dash and bash (where
//! installed) on a PATH of OpenSSL and POSIX tools only, each run under a time
//! limit, and compared with `evidentia package verify`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use support::{
    Running, Workdir, copy_folder, evidentia, export_package, find_program, restricted_path, run_within, shells,
    signal_group, text,
};

/// The verify.sh this build puts in every package, as an auditor's trusted copy.
fn trusted_script(dir: &Path) -> PathBuf {
    let script = dir.join("trusted-verify.sh");
    std::fs::write(&script, evidentia::package::VERIFY_SH).unwrap();
    script
}

/// What one run of verify.sh printed and how it ended.
#[derive(Debug)]
struct ShellRun {
    code: Option<i32>,
    stdout: String,
    /// The checks it reported FAILED.
    failed: Vec<u8>,
}

/// Runs verify.sh with `shell` on `package`, with `bin` as the whole PATH and
/// `tmp` as TMPDIR, which it must leave empty; a run may take 60 s at most.
fn run_script(shell: &Path, script: &Path, package: &Path, bin: &Path, tmp: &Path) -> ShellRun {
    std::fs::create_dir_all(tmp).unwrap();
    let out =
        run_within(Command::new(shell).arg(script).arg(package).env_clear().env("PATH", bin).env("TMPDIR", tmp), 60);
    let stdout = text(&out.stdout);
    let failed = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("FAILED  "))
        .filter_map(|l| l.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    let left: Vec<_> = std::fs::read_dir(tmp).unwrap().collect();
    assert!(left.is_empty(), "{shell:?} left temporary files: {left:?}\n{stdout}");
    ShellRun { code: out.status.code(), stdout, failed }
}

/// `evidentia package verify`: its exit status and the checks it failed.
fn cli_verdict(dir: &Path, package: &Path) -> (Option<i32>, Vec<u8>, String) {
    let out = evidentia(dir, &["--json", "package", "verify", package.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    let report = evidentia::json::parse(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let failed = match report.get("checks").and_then(|c| c.as_array()) {
        Some(checks) => checks
            .iter()
            .filter(|c| c.get("passed") == Some(&evidentia::json::Value::Bool(false)))
            .map(|c| c.get("number").and_then(|n| n.as_number()).unwrap().as_f64() as u8)
            .collect(),
        None => Vec::new(),
    };
    (out.status.code(), failed, stdout)
}

struct Setup {
    _work: Workdir,
    dir: PathBuf,
    package: PathBuf,
    script: PathBuf,
    bin: PathBuf,
    tmp: PathBuf,
}

fn setup(name: &str) -> Setup {
    let work = Workdir::new(name);
    let dir = work.0.clone();
    let bin = restricted_path(&dir, &[]);
    let package = export_package(&dir);
    let script = trusted_script(&dir);
    Setup { tmp: dir.join("tmp"), _work: work, dir, package, script, bin }
}

/// A copy of the package, changed by `change`.
fn hostile_copy(setup: &Setup, name: &str, change: impl FnOnce(&Path)) -> PathBuf {
    let copy = setup.dir.join(name);
    copy_folder(&setup.package, &copy);
    change(&copy);
    copy
}

/// A change to a copy of the package.
type Change = Box<dyn Fn(&Path)>;

fn sha256_hex(bytes: &[u8]) -> String {
    evidentia::Digest::sha256(bytes).to_hex()
}

#[test]
fn a_package_verifies_with_dash_and_bash_on_openssl_and_posix_tools_alone() {
    let s = setup("sh-valid");
    for shell in shells(&s.bin) {
        let run = run_script(&shell, &s.script, &s.package, &s.bin, &s.tmp);
        assert_eq!(run.code, Some(0), "{shell:?}: {}", run.stdout);
        assert!(run.stdout.trim_end().ends_with("VERDICT: VALID — every check passed"), "{}", run.stdout);
    }
}

#[test]
fn sha256sums_may_name_only_the_packages_own_files_each_once() {
    let s = setup("sh-sums");
    let outside = s.dir.join("outside.txt");
    std::fs::write(&outside, "not part of the package\n").unwrap();
    let outside_line = format!("{}  ", sha256_hex(b"not part of the package\n"));
    let append = |line: String| {
        move |p: &Path| {
            let mut sums = std::fs::read_to_string(p.join("SHA256SUMS")).unwrap();
            sums.push_str(&line);
            std::fs::write(p.join("SHA256SUMS"), sums).unwrap();
        }
    };
    let rewrite = |f: fn(String) -> String| {
        move |p: &Path| {
            let sums = std::fs::read_to_string(p.join("SHA256SUMS")).unwrap();
            std::fs::write(p.join("SHA256SUMS"), f(sums)).unwrap();
        }
    };
    let cases: Vec<(&str, Change)> = vec![
        // sha256sum would read /dev/zero for ever.
        ("dev-zero", Box::new(append(format!("{}  /dev/zero\n", sha256_hex(b""))))),
        // Files outside the package, with their true SHA-256.
        ("parent", Box::new(append(format!("{outside_line}../outside.txt\n")))),
        ("absolute", Box::new(append(format!("{outside_line}{}\n", outside.display())))),
        ("subfolder", Box::new(append(format!("{outside_line}sub/outside.txt\n")))),
        ("itself", Box::new(append(format!("{}  SHA256SUMS\n", sha256_hex(b""))))),
        // A file listed twice, or in sha256sum's other notations.
        ("twice", Box::new(rewrite(|s| format!("{s}{}", s.lines().next().unwrap().to_owned() + "\n")))),
        ("binary-mode", Box::new(rewrite(|s| s.replace("  event.json", " *event.json")))),
        ("uppercase", Box::new(rewrite(|s| s[..64].to_uppercase() + &s[64..]))),
        ("carriage-return", Box::new(rewrite(|s| s.replace("  event.json\n", "  event.json\r\n")))),
        ("no-final-newline", Box::new(rewrite(|s| s.trim_end().to_owned()))),
    ];
    for (name, change) in cases {
        let package = hostile_copy(&s, name, change);
        for shell in shells(&s.bin) {
            let run = run_script(&shell, &s.script, &package, &s.bin, &s.tmp);
            assert_eq!(run.code, Some(1), "{name}, {shell:?}: {}", run.stdout);
            assert_eq!(run.failed, [1], "{name}, {shell:?}: {}", run.stdout);
            assert!(run.stdout.contains("VERDICT: INVALID"), "{name}: {}", run.stdout);
        }
        // package verify reaches the same verdict.
        let (code, failed, stdout) = cli_verdict(&s.dir, &package);
        assert_eq!((code, failed), (Some(1), vec![1]), "{name}: {stdout}");
    }
}

#[test]
fn a_second_receipt_listed_in_sha256sums_fails_check_1() {
    let s = setup("sh-both");
    // A bogus batch receipt beside the receipt, listed with its true SHA-256.
    let package = hostile_copy(&s, "both", |p| {
        std::fs::write(p.join("batch-receipt.json"), "{}").unwrap();
        let mut sums = std::fs::read_to_string(p.join("SHA256SUMS")).unwrap();
        sums.push_str(&format!("{}  batch-receipt.json\n", sha256_hex(b"{}")));
        std::fs::write(p.join("SHA256SUMS"), sums).unwrap();
    });
    for shell in shells(&s.bin) {
        let run = run_script(&shell, &s.script, &package, &s.bin, &s.tmp);
        assert_eq!((run.code, run.failed.as_slice()), (Some(1), &[1][..]), "{shell:?}: {}", run.stdout);
        assert!(run.stdout.contains("both receipt.jws and batch-receipt.json"), "{}", run.stdout);
    }
    let (code, failed, stdout) = cli_verdict(&s.dir, &package);
    assert_eq!((code, failed), (Some(1), vec![1]), "{stdout}");
}

#[test]
fn hidden_and_lookalike_files_are_not_taken_for_listed_ones() {
    let s = setup("sh-unlisted");
    // A dot file, and a name that is a regular expression matching a listed name.
    for extra in [".hidden", "e.ent.json", "..dots"] {
        let package = hostile_copy(&s, &format!("extra{extra}"), |p| std::fs::write(p.join(extra), "x").unwrap());
        for shell in shells(&s.bin) {
            let run = run_script(&shell, &s.script, &package, &s.bin, &s.tmp);
            assert_eq!((run.code, run.failed.as_slice()), (Some(1), &[1][..]), "{extra}, {shell:?}: {}", run.stdout);
            assert!(run.stdout.contains(&format!("not listed in SHA256SUMS: {extra}")), "{}", run.stdout);
        }
        let (code, failed, stdout) = cli_verdict(&s.dir, &package);
        assert_eq!((code, failed), (Some(1), vec![1]), "{extra}: {stdout}");
    }
}

#[test]
fn links_devices_fifos_and_folders_in_a_package_are_refused_before_anything_is_read() {
    let s = setup("sh-links");
    let outside = s.dir.join("outside-event.json");
    std::fs::copy(s.package.join("event.json"), &outside).unwrap();
    let replace_event = |target: PathBuf| {
        move |p: &Path| {
            std::fs::remove_file(p.join("event.json")).unwrap();
            std::os::unix::fs::symlink(&target, p.join("event.json")).unwrap();
        }
    };
    let cases: Vec<(&str, Change, &str)> = vec![
        // The same bytes, but read from outside the package.
        ("link-outside", Box::new(replace_event(outside.clone())), "REFUSED event.json is a symbolic link"),
        ("link-dev-zero", Box::new(replace_event("/dev/zero".into())), "REFUSED event.json is a symbolic link"),
        (
            "link-relative",
            Box::new(replace_event("../outside-event.json".into())),
            "REFUSED event.json is a symbolic link",
        ),
        (
            "fifo",
            Box::new(|p: &Path| {
                std::fs::remove_file(p.join("subject.txt")).unwrap();
                let made = Command::new("mkfifo").arg(p.join("subject.txt")).status().unwrap();
                assert!(made.success());
            }),
            "REFUSED subject.txt is not a regular file",
        ),
        (
            "folder",
            Box::new(|p: &Path| std::fs::create_dir(p.join("keys.d")).unwrap()),
            "REFUSED keys.d is not a regular file",
        ),
        (
            "odd-name",
            Box::new(|p: &Path| std::fs::write(p.join("read me\n.txt"), "x").unwrap()),
            "REFUSED read?me?.txt is not a plain file name",
        ),
    ];
    for (name, change, expected) in cases {
        let package = hostile_copy(&s, name, change);
        for shell in shells(&s.bin) {
            let run = run_script(&shell, &s.script, &package, &s.bin, &s.tmp);
            assert_eq!(run.code, Some(2), "{name}, {shell:?}: {}", run.stdout);
            assert!(run.stdout.contains(expected), "{name}, {shell:?}: {}", run.stdout);
            assert!(!run.stdout.contains("Evidence package:"), "{name}: read before refusing: {}", run.stdout);
            assert!(
                run.stdout
                    .trim_end()
                    .ends_with("VERDICT: INVALID — the package is not a folder of plain files, so it was not checked"),
                "{}",
                run.stdout
            );
        }
        // package verify refuses the same folders.
        let out = evidentia(&s.dir, &["package", "verify", package.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stderr).contains("[INVALID_ARGUMENT]"), "{name}: {}", text(&out.stderr));
    }
}

/// Ctrl-C sends SIGINT to the terminal's foreground process group: verify.sh and
/// the program it waits for. An `openssl` that blocks (on a FIFO nobody writes)
/// keeps verify.sh waiting; each signal must end the run promptly, with a
/// non-zero status, and remove its temporary files.
#[test]
fn ctrl_c_term_and_hup_stop_verify_sh_and_remove_its_temporary_files() {
    let work = Workdir::new("sh-signals");
    let dir = &work.0;
    let package = export_package(dir);
    let script = trusted_script(dir);
    let fifo = dir.join("never-written");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let started = dir.join("openssl-started");
    let blocking = dir.join("blocking-openssl");
    std::fs::write(&blocking, format!("#!/bin/sh\n: >> '{}'\nexec cat '{}'\n", started.display(), fifo.display()))
        .unwrap();
    std::fs::set_permissions(&blocking, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bin = restricted_path(dir, &[("openssl", &blocking)]);
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // Signals the test runner ignores (under nohup, say) are reset for the run: a
    // shell cannot trap a signal ignored when it started.
    let env = find_program("env").filter(|env| {
        Command::new(env).args(["--default-signal=INT,TERM,HUP", "true"]).status().is_ok_and(|s| s.success())
    });
    for shell in shells(&bin) {
        for (signal, status) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
            let _ = std::fs::remove_file(&started);
            let mut command = match &env {
                Some(env) => {
                    let mut command = Command::new(env);
                    command.arg("--default-signal=INT,TERM,HUP").arg(&shell);
                    command
                }
                None => Command::new(&shell),
            };
            command.arg(&script).arg(&package).env_clear().env("PATH", &bin).env("TMPDIR", &tmp);
            let mut running = Running::start(&mut command);
            let start = std::time::Instant::now();
            while !started.exists() {
                assert!(start.elapsed().as_secs() < 60, "{shell:?} never reached openssl");
                assert!(running.child.try_wait().unwrap().is_none(), "{shell:?} ended before openssl");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            assert!(std::fs::read_dir(&tmp).unwrap().next().is_some(), "no temporary files to remove");
            signal_group(running.child.id(), signal);
            let Some(out) = running.wait_for(std::time::Duration::from_secs(10)) else {
                panic!("{shell:?} still runs 10 s after SIG{signal}");
            };
            assert_eq!(out.status.code(), Some(status), "{shell:?} SIG{signal}: {}", text(&out.stdout));
            assert!(!text(&out.stdout).contains("VERDICT"), "{shell:?} SIG{signal}: {}", text(&out.stdout));
            let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
            assert!(left.is_empty(), "{shell:?} SIG{signal} left {left:?}");
        }
    }
}

#[test]
fn verify_sh_and_the_library_name_the_same_package_files() {
    let script = evidentia::package::VERIFY_SH;
    let start = script.find("expected=\"").unwrap() + "expected=\"".len();
    let list = &script[start..start + script[start..].find('"').unwrap()];
    let mut in_script: Vec<&str> = list.split_whitespace().filter(|w| *w != "\\").collect();
    let mut in_library = evidentia::package::PACKAGE_FILE_NAMES.to_vec();
    in_script.sort_unstable();
    in_library.sort_unstable();
    assert_eq!(in_script, in_library);

    let work = Workdir::new("sh-names");
    let package = export_package(&work.0);
    for entry in std::fs::read_dir(package).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(name == "SHA256SUMS" || in_library.contains(&name.as_str()), "{name}");
    }
}
