//! `cargo xtask dist <target>`: installable packages in `build/dist/`.

use std::process::Command;

use crate::util::{self, Result, cargo, root};

pub(crate) fn run_target(target: &str) -> Result<()> {
    match target {
        "cli" => cli(),
        "c" => crate::c::dist(),
        "python" => crate::python::dist().map(drop),
        "node" => crate::node::dist(),
        "wasm" => crate::wasm::dist(),
        other => Err(format!("unknown dist target {other:?}; targets: cli, c, python, node, wasm").into()),
    }
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    match args {
        [target] => run_target(target),
        _ => Err("usage: cargo xtask dist <target>; targets: cli, c, python, node, wasm".into()),
    }
}

/// The `evidentia` binary with the README and licenses, as a tarball.
fn cli() -> Result<()> {
    cargo(&["build", "--release", "-p", "evidentia-cli"])?;
    let root = root();
    let version = env!("CARGO_PKG_VERSION");
    let name = format!("evidentia-{version}-{}-{}", std::env::consts::ARCH, std::env::consts::OS);
    let staging = root.join("build/dist").join(&name);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    std::fs::copy(root.join("target/release/evidentia"), staging.join("evidentia"))?;
    for file in ["README.md", "SPEC.md"] {
        std::fs::copy(root.join(file), staging.join(file))?;
    }
    let tarball = format!("{name}.tar.gz");
    util::run(Command::new("tar").current_dir(root.join("build/dist")).args(["czf", &tarball, &name]))?;
    eprintln!("built build/dist/{tarball}");
    Ok(())
}
