//! The WebAssembly package: the module built for wasm32-unknown-unknown, the
//! `wasm-bindgen` web and Node.js builds, the vector suite in Node, the browser
//! verifier driven in headless Chromium, and the npm package `evidentia-wasm`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools::{ensure_apt, wasm_bindgen};
use crate::util::{Result, cargo, root, run, section};

const TARGET: &str = "wasm32-unknown-unknown";

/// Debian's Rust toolchain for the web, used where rustup has no wasm32 target.
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_WASM_LD: &str = "/usr/bin/wasm-ld-22";

/// Where the build puts the `wasm-bindgen` outputs: `web/` (ES module) and `node/`
/// (CommonJS), each `evidentia.js`, `evidentia.d.ts` and `evidentia_bg.wasm`, and
/// `web/index.js`, the entry point that loads the module on import.
pub(crate) fn out_dir() -> PathBuf {
    root().join("build/wasm")
}

fn rustup_has_target() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == TARGET))
}

/// Compiles the module; returns the `.wasm` file.
fn compile() -> Result<PathBuf> {
    let target_dir = root().join("target/wasm");
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(["build", "--profile", "wasm", "--target", TARGET, "-p", "evidentia-wasm"]);
    // Apart from the host builds, so that two compilers never share artifacts.
    command.env("CARGO_TARGET_DIR", &target_dir);
    if !rustup_has_target() {
        // rustup cannot download targets on these machines: build the standard
        // library from source with Debian's compiler for the web and its wasm-ld.
        ensure_apt(&[
            (DEBIAN_RUSTC, "rustc-web"),
            ("/usr/bin/cargo", "cargo-web"),
            ("/usr/lib/rustlib/src/rust/library", "rust-web-src"),
            (DEBIAN_WASM_LD, "lld-22"),
        ])?;
        command
            .arg("-Zbuild-std=std,panic_abort")
            .env("RUSTC", DEBIAN_RUSTC)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", DEBIAN_WASM_LD);
    }
    run(&mut command)?;
    Ok(target_dir.join(TARGET).join("wasm/evidentia_wasm.wasm"))
}

/// Builds the module and its web and Node.js bindings into [`out_dir`].
pub(crate) fn build() -> Result<PathBuf> {
    let wasm = compile()?;
    let bindgen = wasm_bindgen()?;
    let out = out_dir();
    for (target, dir) in [("web", "web"), ("nodejs", "node")] {
        let dir = out.join(dir);
        let _ = std::fs::remove_dir_all(&dir);
        run(Command::new(&bindgen)
            .args(["--target", target, "--out-name", "evidentia", "--out-dir"])
            .arg(&dir)
            .arg(&wasm))?;
    }
    // `wasm-bindgen --target web` leaves loading to the caller (`await init()`); this
    // entry point does it on import, with top-level await, so that the exports are
    // ready to call as in Node.js and code moves between the two unchanged.
    std::fs::write(out.join("web/index.js"), WEB_ENTRY)?;
    std::fs::write(out.join("web/index.d.ts"), "export * from './evidentia.js'\n")?;
    Ok(out)
}

const WEB_ENTRY: &str = "\
// Loads the WebAssembly module beside this file once, on import.
import init from './evidentia.js'

await init({ module_or_path: new URL('./evidentia_bg.wasm', import.meta.url) })

export * from './evidentia.js'
";

/// Debian's Chromium and the npm tools that drive it (playwright-core, as the lock
/// file says); returns the folder of the browser tests and benchmark.
pub(crate) fn browser_tools() -> Result<PathBuf> {
    ensure_apt(&[("/usr/bin/chromium", "chromium")])?;
    let e2e = root().join("wasm/e2e");
    crate::node::npm_install(&e2e)?;
    Ok(e2e)
}

/// The WASM part of `cargo xtask test`.
pub(crate) fn test() -> Result<()> {
    let root = root();
    let out = build()?;
    section("wasm: the shared vectors, the hostile corpus and the API in Node.js");
    let package = out.join("node/evidentia.js");
    run(Command::new("node")
        .args([
            "--test",
            "bindings/node/tests/vectors.test.js",
            "bindings/node/tests/apidoc.test.js",
            "bindings/node/tests/hostile.test.js",
            "wasm/tests/",
        ])
        .current_dir(&root)
        .env("EVIDENTIA_JS_PACKAGE", &package)
        .env("EVIDENTIA_VECTORS", root.join("testvectors")))?;
    crate::conformance::run_cases_with(
        &["node", "bindings/node/tests/conformance-adapter.js"],
        // The browser build checks a package's .tar.gz, but cannot open a folder or a log.
        &["package-folder", "record-inclusion", "not-utf8", "log", "tiles"],
        &[("EVIDENTIA_JS_PACKAGE", package.as_os_str())],
    )?;

    section("wasm: the verifier page in headless Chromium");
    let e2e = browser_tools()?;
    // The CLI makes the evidence file of a signed message and the timestamped
    // package that the page shows.
    cargo(&["build", "-p", "evidentia-cli"])?;
    run(Command::new("node")
        .args(["--test", "--test-concurrency=1", "verifier.test.mjs", "package.test.mjs"])
        .current_dir(&e2e)
        .env("EVIDENTIA_WEB_PKG", out.join("web"))
        .env("EVIDENTIA_CLI", root.join("target/debug/evidentia"))
        .env("EVIDENTIA_NODE_PKG", &package)
        .env("EVIDENTIA_SCREENSHOT", out.join("verifier.png")))?;
    dist_into(&root.join("build/dist/wasm")).map(drop)
}

/// `cargo xtask dist wasm`: the npm package `evidentia-wasm` (a tarball) and the
/// verifier page, ready to serve, in `build/dist/wasm/`.
pub(crate) fn dist() -> Result<()> {
    build()?;
    dist_into(&root().join("build/dist/wasm")).map(drop)
}

fn dist_into(dist: &Path) -> Result<PathBuf> {
    let root = root();
    let out = out_dir();
    let _ = std::fs::remove_dir_all(dist);
    let package = dist.join("package");
    for dir in ["web", "node"] {
        std::fs::create_dir_all(package.join(dir))?;
        for entry in std::fs::read_dir(out.join(dir))? {
            let path = entry?.path();
            if path.extension().is_some_and(|x| x != "gitignore")
                && path.file_name().is_some_and(|n| n != "package.json")
            {
                std::fs::copy(&path, package.join(dir).join(path.file_name().ok_or("no name")?))?;
            }
        }
    }
    // The web build is an ES module; Node.js reads the CommonJS build.
    std::fs::write(package.join("web/package.json"), "{\n  \"type\": \"module\"\n}\n")?;
    let version = env!("CARGO_PKG_VERSION");
    std::fs::write(
        package.join("package.json"),
        format!(
            r#"{{
  "name": "evidentia-wasm",
  "version": "{version}",
  "description": "Verify Evidentia receipts, batch receipts, proofs and checkpoints in browsers and Node.js (WebAssembly)",
  "license": "Apache-2.0 OR MIT",
  "types": "./web/index.d.ts",
  "main": "./node/evidentia.js",
  "exports": {{
    ".": {{
      "node": {{ "types": "./node/evidentia.d.ts", "default": "./node/evidentia.js" }},
      "default": {{ "types": "./web/index.d.ts", "default": "./web/index.js" }}
    }}
  }},
  "files": ["web", "node", "README.md"],
  "sideEffects": false
}}
"#
        ),
    )?;
    std::fs::copy(root.join("wasm/README.md"), package.join("README.md"))?;
    run(Command::new("npm").args(["pack", "--pack-destination"]).arg(dist).current_dir(&package))?;

    // The verifier page with the module beside it: serve the folder, open index.html.
    let verifier = dist.join("verifier");
    std::fs::create_dir_all(verifier.join("pkg"))?;
    for entry in std::fs::read_dir(root.join("examples/web"))? {
        let path = entry?.path();
        if path.is_file() {
            std::fs::copy(&path, verifier.join(path.file_name().ok_or("no name")?))?;
        }
    }
    for file in ["index.js", "evidentia.js", "evidentia_bg.wasm"] {
        std::fs::copy(out.join("web").join(file), verifier.join("pkg").join(file))?;
    }
    eprintln!("built {} and {}", dist.join(format!("evidentia-wasm-{version}.tgz")).display(), verifier.display());
    Ok(dist.to_owned())
}
