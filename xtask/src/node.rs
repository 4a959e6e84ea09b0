//! The Node package: its npm tools, the release addon with its generated loader
//! and TypeScript declarations (checked for drift), the `node --test` suite, a
//! type check, and the packaging check (`npm pack` installed into an empty folder).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Result, root, run};

/// Files napi-rs generates beside the addon; committed, and checked for drift.
const GENERATED: &[&str] = &["index.js", "index.d.ts"];

pub(crate) fn package_dir() -> PathBuf {
    root().join("bindings/node")
}

/// Node.js and npm come with the machine; say so plainly when they are missing.
fn require_node() -> Result<()> {
    for tool in ["node", "npm"] {
        let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
        if !found {
            return Err(
                format!("{tool} is not installed: the Node package needs Node.js 20.17 or later with npm").into()
            );
        }
    }
    Ok(())
}

/// The npm development tools, installed as package-lock.json says.
fn npm_ci() -> Result<()> {
    require_node()?;
    npm_install(&package_dir())
}

/// Installs the npm packages of `dir` as its package-lock.json says (skipped when
/// node_modules already came from that lock file).
pub(crate) fn npm_install(dir: &Path) -> Result<()> {
    let lock = std::fs::read(dir.join("package-lock.json"))?;
    let stamp = dir.join("node_modules/.installed-from-package-lock.json");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        return Ok(());
    }
    // `npm ci` installs exactly what the lock file lists and never resolves
    // anything afresh, so a build does not depend on what the registry published
    // after the lock file was written; it fails if the lock file does not match
    // package.json.
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir))?;
    Ok(std::fs::write(stamp, lock)?)
}

/// Builds the release addon into bindings/node with its loader and declarations,
/// and fails if those differed from the committed ones.
pub(crate) fn build() -> Result<()> {
    npm_ci()?;
    let dir = package_dir();
    let before: Vec<Option<Vec<u8>>> = GENERATED.iter().map(|f| std::fs::read(dir.join(f)).ok()).collect();
    run(Command::new("npx").args(["napi", "build", "--platform", "--release", "--strip"]).current_dir(&dir))?;
    let stale: Vec<&str> = GENERATED
        .iter()
        .zip(&before)
        .filter(|(file, old)| std::fs::read(dir.join(file)).ok() != **old)
        .map(|(file, _)| *file)
        .collect();
    if !stale.is_empty() {
        return Err(format!(
            "bindings/node/{} did not match the Rust API and were regenerated: review and commit them",
            stale.join(", bindings/node/")
        )
        .into());
    }
    Ok(())
}

/// Packs the built package into `build/dist/node`.
fn pack() -> Result<PathBuf> {
    let out = root().join("build/dist/node");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    run(Command::new("npm").args(["pack", "--pack-destination"]).arg(&out).current_dir(package_dir()))?;
    let tarball = std::fs::read_dir(&out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or("npm pack wrote no tarball")?;
    eprintln!("built {}", tarball.display());
    Ok(tarball)
}

/// `cargo xtask dist node`: the npm package tarball.
pub(crate) fn dist() -> Result<()> {
    build()?;
    pack().map(drop)
}

/// Installs the tarball into an empty folder, as a newcomer does, and runs the
/// README example there.
fn install_and_run_example(tarball: &Path) -> Result<()> {
    let fresh = root().join("build/node/fresh");
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir_all(&fresh)?;
    std::fs::write(fresh.join("package.json"), "{\"name\": \"fresh\", \"private\": true}\n")?;
    run(Command::new("npm").args(["install", "--no-audit", "--no-fund"]).arg(tarball).current_dir(&fresh))?;
    std::fs::copy(root().join("examples/node/quickstart.js"), fresh.join("quickstart.js"))?;
    run(Command::new("node").arg("quickstart.js").current_dir(&fresh))
}

/// Runs the disputed-payment example (examples/dispute/node) against the package
/// installed from the tarball, with its own npm packages as its lock file says.
fn run_dispute_example() -> Result<()> {
    let example = root().join("examples/dispute/node");
    npm_install(&example)?;
    run(Command::new("node")
        .arg("dispute.js")
        .current_dir(&example)
        .env("NODE_PATH", root().join("build/node/fresh/node_modules")))
}

/// The Node part of `cargo xtask test`.
pub(crate) fn test() -> Result<()> {
    build()?;
    let dir = package_dir();
    // Keys in tokens (tests/pkcs11.test.js) are tested against SoftHSM2.
    crate::ensure_softhsm()?;
    // Logs in PostgreSQL (tests/postgres.test.js), against a throwaway cluster.
    let postgres = crate::postgres::Cluster::start("node", false)?;
    run(Command::new("node")
        .args(["--test", "tests/"])
        .current_dir(&dir)
        .env("EVIDENTIA_TEST_POSTGRES", postgres.server()?)
        .env("EVIDENTIA_REQUIRE_POSTGRES", "1")
        .env("EVIDENTIA_VECTORS", root().join("testvectors"))
        .env("EVIDENTIA_REQUIRE_SOFTHSM", "1")
        .env("EVIDENTIA_PKCS11_MODULE", crate::SOFTHSM_MODULE))?;
    crate::conformance::run_cases(
        &["node", "bindings/node/tests/conformance-adapter.js"],
        crate::conformance::PACKAGE_SKIPS,
    )?;
    run(Command::new("npx")
        .args(["tsc", "--noEmit", "--strict", "--types", "node", "tests/types.ts"])
        .current_dir(&dir))?;
    install_and_run_example(&pack()?)?;
    run_dispute_example()
}
