//! `cargo xtask`: every build step of Evidentia in one place. CI only calls this.
//!
//! - `cargo xtask test [part...]`: install what is missing and run the test suites.
//! - `cargo xtask codegen [--check]`: regenerate every generated file (or check them).
//! - `cargo xtask vectors [--check]`: regenerate `testvectors/` only.
//! - `cargo xtask dist <target>`: build an installable package.
//! - `cargo xtask bench`: run the benchmarks.

mod bench;
mod c;
mod codegen;
mod compare;
mod conformance;
mod cross;
mod dist;
mod hostile;
mod kotlin;
mod node;
mod partner_vectors;
mod postgres;
mod python;
mod timestamp_vectors;
mod tools;
mod util;
mod vectors;
mod wasm;
mod witness_vectors;

use std::process::{Command, ExitCode};

use util::{Result, cargo, root, run, section};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test [part...]      run the test suites; parts: core, c, python, node, cross,
                      wasm, kotlin (default: all)
  codegen [--check]   regenerate generated files, or fail if they are stale
  vectors [--check]   regenerate testvectors/, or fail if they are stale
  dist <target>       build a package; targets: cli, c, python, node, wasm
  bench [compare|core|bindings|log|lookup|hsm|wasm]
                      run the benchmarks: Evidentia side by side with the libraries
                      users would otherwise pick (writes docs/PERFORMANCE.md),
                      criterion (core, store), the per-call cost of each binding
                      against the core, receipts and proofs from an open
                      1,000,000-record log in every binding, records found by
                      field and by nonce in such a log, and receipts verified
                      per second by the WASM
                      build against the native CLI (default: all);
                      `bench compare --rewrite` renders docs/PERFORMANCE.md again
                      from the raw samples it holds";

/// Every test part, in the order `cargo xtask test` runs them.
const PARTS: &[&str] = &["core", "c", "python", "node", "cross", "wasm", "kotlin"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("codegen") => codegen::run(codegen::Scope::All, has_check(&args[1..])),
        Some("vectors") => codegen::run(codegen::Scope::Vectors, has_check(&args[1..])),
        Some("dist") => dist::run(&args[1..]),
        Some("bench") => bench::run_bench(&args[1..]),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown command\n\n{USAGE}").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn has_check(args: &[String]) -> bool {
    args.iter().any(|a| a == "--check")
}

fn test(parts: &[String]) -> Result<()> {
    let selected: Vec<&str> =
        if parts.is_empty() { PARTS.to_vec() } else { parts.iter().map(String::as_str).collect() };
    for part in &selected {
        if !PARTS.contains(part) {
            return Err(format!("unknown test part {part:?}; parts: {}", PARTS.join(", ")).into());
        }
    }
    for part in selected {
        section(&format!("test {part}"));
        match part {
            "core" => test_core()?,
            "c" => c::test()?,
            "python" => python::test()?,
            "node" => node::test()?,
            "cross" => cross::test()?,
            "wasm" => wasm::test()?,
            "kotlin" => kotlin::test()?,
            _ => unreachable!("checked above"),
        }
    }
    section("all selected tests passed");
    Ok(())
}

/// Debian's SoftHSM2 module (package softhsm2).
pub(crate) const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// SoftHSM2, and OpenSC's pkcs11-tool that makes keys in its tokens: the tests of
/// keys in tokens require them (`EVIDENTIA_REQUIRE_SOFTHSM`), so they cannot skip.
pub(crate) fn ensure_softhsm() -> Result<()> {
    tools::ensure_apt(&[(SOFTHSM_MODULE, "softhsm2"), ("pkcs11-tool", "opensc")])
}

/// The SoftHSM2 token folders the tests made (`softhsm-<pid>` in cargo's
/// CARGO_TARGET_TMPDIR, `target/tmp`): removed after the run.
fn remove_token_dirs() {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), Into::into);
    let Ok(entries) = std::fs::read_dir(target.join("tmp")) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with("softhsm-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Formatting, lints, the Rust test suites, and the drift check of generated files.
fn test_core() -> Result<()> {
    let _ = root();
    // The evidence-package tests run verify.sh with OpenSSL.
    tools::ensure_apt(&[("/usr/bin/openssl", "openssl")])?;
    // Keys in tokens (pkcs11/, cli/tests/pkcs11.rs) are tested against SoftHSM2.
    ensure_softhsm()?;
    // `log witness` is tested against litewitness, which signs through an
    // ssh-agent and keeps its logs in SQLite (cli/tests/witness_client.rs).
    tools::ensure_apt(&[("ssh-agent", "openssh-client"), ("sqlite3", "sqlite3")])?;
    let litewitness = tools::litewitness()?;
    // Logs in PostgreSQL (cli/tests/postgres.rs): each test runs a throwaway
    // PostgreSQL 15 cluster of its own, as the postgres user, and removes it.
    tools::ensure_apt(&[("/usr/lib/postgresql/15/bin/initdb", "postgresql-15"), ("psql", "postgresql-client-15")])?;
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    let tested = run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .arg("test")
        // Go checks the log's Ed25519 checkpoint signatures (cli/tests/note_key.rs).
        .env("EVIDENTIA_REQUIRE_GO", "1")
        .env("EVIDENTIA_LITEWITNESS", &litewitness)
        .env("EVIDENTIA_REQUIRE_WITNESS", "1")
        .env("EVIDENTIA_REQUIRE_POSTGRES", "1")
        .env("EVIDENTIA_REQUIRE_SOFTHSM", "1")
        .env("EVIDENTIA_PKCS11_MODULE", SOFTHSM_MODULE));
    remove_token_dirs();
    tested?;
    // The core again with its other crypto provider, the pure-Rust `p256` that
    // WebAssembly uses: every shared vector must pass with both (src/crypto.rs).
    section("core: the p256 provider");
    let p256_only = ["-p", "evidentia", "--no-default-features", "--features", "getrandom"];
    cargo(&[&["clippy"][..], &p256_only, &["--all-targets", "--", "-D", "warnings"]].concat())?;
    cargo(&[&["test"][..], &p256_only].concat())?;
    cargo(&["run", "--quiet", "-p", "evidentia", "--example", "quickstart"])?;
    codegen::run(codegen::Scope::All, true)?;
    section("conformance: the CLI and the verifier written from SPEC alone");
    cargo(&["build", "--quiet", "-p", "evidentia-cli"])?;
    conformance::run_cases(&["python3", "testvectors/conformance/cli-adapter.py"], &[])?;
    run(Command::new("python3").args(["-m", "unittest", "-q"]).current_dir(root().join("tests/spec-verifier")))?;
    conformance::run_cases(&["python3", "tests/spec-verifier/adapter.py"], &[])
}
