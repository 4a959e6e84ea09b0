//! The Python package: a virtual environment with the build and test tools, the
//! pytest suite over a freshly built wheel, the stub check, the examples, and the
//! packaging check (a release wheel installed into an empty virtual environment).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Result, root, run};

/// The tools' virtual environment, created and filled on first use.
fn venv() -> Result<PathBuf> {
    let venv = root().join("build/python/venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let missing = Command::new(&python)
        .args(["-c", "import maturin, pytest, mypy, ziglang, cryptography"])
        .output()
        .map_or(true, |o| !o.status.success());
    if missing {
        pip_install_pinned(&python, "tools.txt")?;
        // What the interoperability tests and the dispute example sign with.
        pip_install_pinned(&python, "interop.txt")?;
    }
    Ok(venv)
}

/// Installs exactly the packages of `xtask/requirements/<list>` (every one pinned,
/// dependencies included), resolving nothing afresh.
pub(crate) fn pip_install_pinned(python: &Path, list: &str) -> Result<()> {
    let requirements = root().join("xtask/requirements").join(list);
    run(Command::new(python).args(["-m", "pip", "install", "-q", "--no-deps", "-r"]).arg(requirements))
}

/// Runs maturin with the virtual environment first on PATH (zig is found there).
fn maturin(venv: &Path, args: &[&str]) -> Result<()> {
    let path = format!("{}:{}", venv.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    run(Command::new(venv.join("bin/maturin"))
        .args(args)
        .args(["-m", "bindings/python/Cargo.toml", "-i"])
        .arg(venv.join("bin/python"))
        .env("PATH", path)
        .env("PYO3_PYTHON", venv.join("bin/python")))
}

fn newest_wheel(dir: &Path) -> Result<PathBuf> {
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    wheels.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    wheels.pop().ok_or_else(|| format!("no wheel in {}", dir.display()).into())
}

/// Builds the release wheel (manylinux2014, abi3) into `build/dist`.
pub(crate) fn dist() -> Result<PathBuf> {
    let venv = venv()?;
    let out = root().join("build/dist/python");
    let _ = std::fs::remove_dir_all(&out);
    maturin(&venv, &["build", "--release", "--zig", "--compatibility", "manylinux2014", "-o", &out.to_string_lossy()])?;
    let wheel = newest_wheel(&out)?;
    eprintln!("built {}", wheel.display());
    Ok(wheel)
}

/// Builds the development wheel and installs it into the tools' virtual
/// environment; returns that environment's Python.
pub(crate) fn install_dev() -> Result<PathBuf> {
    let venv = venv()?;
    let python = venv.join("bin/python");
    let wheels = root().join("build/python/wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    maturin(&venv, &["build", "-o", &wheels.to_string_lossy()])?;
    run(Command::new(&python)
        .args(["-m", "pip", "install", "-q", "--force-reinstall", "--no-deps"])
        .arg(newest_wheel(&wheels)?))?;
    Ok(python)
}

/// The Python part of `cargo xtask test`.
pub(crate) fn test() -> Result<()> {
    let root = root();
    let python = install_dev()?;
    crate::ensure_softhsm()?;
    let postgres = crate::postgres::Cluster::start("py", false)?;
    run(Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "bindings/python/tests"])
        .current_dir(&root)
        .env("EVIDENTIA_TEST_POSTGRES", postgres.server()?)
        .env("EVIDENTIA_REQUIRE_POSTGRES", "1")
        .env("EVIDENTIA_VECTORS", root.join("testvectors"))
        .env("EVIDENTIA_REQUIRE_SOFTHSM", "1")
        .env("EVIDENTIA_PKCS11_MODULE", crate::SOFTHSM_MODULE))?;
    crate::conformance::run_cases(
        &[&python.to_string_lossy(), "bindings/python/tests/conformance_adapter.py"],
        crate::conformance::PACKAGE_SKIPS,
    )?;
    run(Command::new(&python)
        .args(["-m", "mypy.stubtest", "evidentia._native", "evidentia.errors"])
        .current_dir(&root))?;
    // The disputed payment (signs with `cryptography`, so it runs here, where that
    // is installed), through to the package's verify.sh with OpenSSL.
    run(Command::new(&python).arg(root.join("examples/dispute/python/dispute.py")).current_dir(std::env::temp_dir()))?;

    // What a newcomer does: the release wheel into an empty virtual environment.
    let python = install_release()?;
    let scratch = std::env::temp_dir();
    run(Command::new(python).arg(root.join("examples/python/quickstart.py")).current_dir(scratch))
}

/// Builds the release wheel and installs it into a new, empty virtual environment;
/// returns that environment's Python.
pub(crate) fn install_release() -> Result<PathBuf> {
    let wheel = dist()?;
    let fresh = root().join("build/python/fresh");
    let _ = std::fs::remove_dir_all(&fresh);
    run(Command::new("python3").args(["-m", "venv"]).arg(&fresh))?;
    run(Command::new(fresh.join("bin/python")).args(["-m", "pip", "install", "-q"]).arg(&wheel))?;
    Ok(fresh.join("bin/python"))
}
