//! Tools the build installs for itself, pinned, into `build/tools`.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{Result, root, run};

/// The cbindgen version the committed header is generated with.
const CBINDGEN_VERSION: &str = "0.29.4";

/// The `cbindgen` binary, installed on first use.
pub(crate) fn cbindgen() -> Result<PathBuf> {
    cargo_install("cbindgen", "cbindgen", CBINDGEN_VERSION)
}

/// The `wasm-bindgen` CLI, installed on first use at exactly the version of the
/// `wasm-bindgen` crate in Cargo.lock (the two must match).
pub(crate) fn wasm_bindgen() -> Result<PathBuf> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))?;
    let version = lock
        .split("[[package]]")
        .find(|package| package.contains("\nname = \"wasm-bindgen\"\n"))
        .and_then(|package| package.lines().find_map(|l| l.strip_prefix("version = \"")))
        .and_then(|v| v.strip_suffix('"'))
        .ok_or("Cargo.lock has no wasm-bindgen")?;
    cargo_install("wasm-bindgen-cli", "wasm-bindgen", version)
}

/// A binary from crates.io, installed with `cargo install --locked` into
/// `build/tools` unless that version is there already.
fn cargo_install(package: &str, binary: &str, version: &str) -> Result<PathBuf> {
    let tools = root().join("build/tools");
    let binary = tools.join("bin").join(binary);
    let installed = Command::new(&binary).arg("--version").output().ok().filter(|o| o.status.success());
    if installed.is_none_or(|o| !String::from_utf8_lossy(&o.stdout).split_whitespace().any(|word| word == version)) {
        let install = |locked: bool| {
            let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            command.args(["install", package, "--version", version, "--root"]).arg(&tools);
            if locked {
                command.arg("--locked");
            }
            run(&mut command)
        };
        // The package's own lock file first; it can name a dependency version the
        // registry no longer offers (wasm-bindgen-cli 0.2.130 locks a webpki-roots
        // that crates.io does not serve), and then cargo resolves afresh.
        if let Err(locked_failure) = install(true) {
            eprintln!("cargo install --locked failed ({locked_failure}); resolving dependencies afresh");
            install(false)?;
        }
    }
    Ok(binary)
}

/// The litewitness the witness tests run against (filippo.io/torchwood: a C2SP
/// tlog-witness). v0.6.1 builds with the Go this machine has; later ones need a newer Go.
const LITEWITNESS_VERSION: &str = "v0.6.1";

/// The `go` command: on PATH, or where the Go distribution installs itself.
fn go() -> Result<PathBuf> {
    ["go", "/usr/local/go/bin/go"]
        .into_iter()
        .find(|go| Command::new(go).arg("version").output().is_ok_and(|o| o.status.success()))
        .map(PathBuf::from)
        .ok_or_else(|| {
            "Go is needed to build litewitness and the signed-note and tlog-tiles checkers (go.dev/dl)".into()
        })
}

/// litewitness, built from the Go module proxy on first use into
/// `build/tools/litewitness-<version>`, with Go's caches under `build/go`.
pub(crate) fn litewitness() -> Result<PathBuf> {
    let dir = root().join("build/tools").join(format!("litewitness-{LITEWITNESS_VERSION}"));
    let binary = dir.join("litewitness");
    if !binary.exists() {
        let cache = root().join("build/go");
        run(Command::new(go()?)
            .args(["install", &format!("filippo.io/torchwood/cmd/litewitness@{LITEWITNESS_VERSION}")])
            .env("GOBIN", &dir)
            .env("GOPATH", cache.join("path"))
            .env("GOCACHE", cache.join("cache"))
            .env("GOFLAGS", "-modcacherw")
            .env("GOTOOLCHAIN", "local"))?;
    }
    Ok(binary)
}

/// Installs Debian packages when a file or command they provide is missing. CI
/// machines start fresh, so every test step installs what it needs itself.
pub(crate) fn ensure_apt(needs: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = needs
        .iter()
        .filter(|(provides, _)| {
            if provides.starts_with('/') {
                !std::path::Path::new(provides).exists()
            } else {
                Command::new("sh")
                    .args(["-c", &format!("command -v {provides}")])
                    .output()
                    .map_or(true, |o| !o.status.success())
            }
        })
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let sudo = if Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    {
        vec![]
    } else {
        vec!["sudo"]
    };
    let apt = |args: &[&str]| -> Result<()> {
        let mut command: Vec<&str> = sudo.clone();
        command.push("apt-get");
        command.extend_from_slice(args);
        run(Command::new(command[0]).args(&command[1..]).env("DEBIAN_FRONTEND", "noninteractive"))
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend(missing);
    apt(&install)
}
