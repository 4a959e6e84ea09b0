//! Tools the build installs for itself, pinned, into `build/tools`.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{Result, root, run};

/// The cbindgen version the committed header is generated with.
const CBINDGEN_VERSION: &str = "0.29.4";

/// The `cbindgen` binary, installed on first use.
pub(crate) fn cbindgen() -> Result<PathBuf> {
    let tools = root().join("build/tools");
    let binary = tools.join("bin/cbindgen");
    let installed = Command::new(&binary).arg("--version").output().ok().filter(|o| o.status.success());
    if installed.is_none_or(|o| !String::from_utf8_lossy(&o.stdout).contains(CBINDGEN_VERSION)) {
        run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args([
            "install",
            "cbindgen",
            "--version",
            CBINDGEN_VERSION,
            "--locked",
            "--root",
            &tools.to_string_lossy(),
        ]))?;
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
