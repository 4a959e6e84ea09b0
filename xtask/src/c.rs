//! The C ABI: staging libevidentia with its header and pkg-config file, the C
//! tests (shared and static, under valgrind), and the C example.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools::ensure_apt;
use crate::util::{Result, cargo, root, run};

/// The libraries the static library needs (`--print native-static-libs`, Linux).
const NATIVE_STATIC_LIBS: &str = "-lm -lrt -lpthread -lgcc_s -lutil -ldl -lc";

/// Builds the FFI crate and stages `include/`, `lib/` (libevidentia.so.0 with its
/// links, libevidentia.a) and `lib/pkgconfig/evidentia.pc` under `dir`.
pub(crate) fn stage(release: bool, dir: &Path) -> Result<()> {
    let mut args = vec!["build", "-p", "evidentia-ffi"];
    if release {
        args.push("--release");
    }
    cargo(&args)?;
    let root = root();
    let built = root.join("target").join(if release { "release" } else { "debug" });
    let version = env!("CARGO_PKG_VERSION");
    let _ = std::fs::remove_dir_all(dir);
    let lib = dir.join("lib");
    std::fs::create_dir_all(lib.join("pkgconfig"))?;
    std::fs::create_dir_all(dir.join("include"))?;
    std::fs::copy(root.join("ffi/include/evidentia.h"), dir.join("include/evidentia.h"))?;
    let shared = format!("libevidentia.so.{version}");
    std::fs::copy(built.join("libevidentia_ffi.so"), lib.join(&shared))?;
    std::os::unix::fs::symlink(&shared, lib.join("libevidentia.so.0"))?;
    std::os::unix::fs::symlink("libevidentia.so.0", lib.join("libevidentia.so"))?;
    std::fs::copy(built.join("libevidentia_ffi.a"), lib.join("libevidentia.a"))?;
    let prefix = std::path::absolute(dir)?;
    std::fs::write(
        lib.join("pkgconfig/evidentia.pc"),
        format!(
            "prefix={}\nlibdir=${{prefix}}/lib\nincludedir=${{prefix}}/include\n\n\
             Name: evidentia\nDescription: Non-repudiation evidence: canonical JSON, ES256 receipts, tamper-evident logs\n\
             Version: {version}\nLibs: -L${{libdir}} -levidentia\nLibs.private: {NATIVE_STATIC_LIBS}\nCflags: -I${{includedir}}\n",
            prefix.display()
        ),
    )?;
    Ok(())
}

pub(crate) fn gcc(source: &Path, output: &Path, link: &[String]) -> Result<()> {
    let mut command = Command::new("gcc");
    command.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"]).arg(source).arg("-o").arg(output).args(link);
    run(&mut command)
}

/// The packages the C tests build with.
pub(crate) fn ensure_tools() -> Result<()> {
    ensure_apt(&[
        ("gcc", "gcc"),
        ("make", "make"),
        ("pkg-config", "pkg-config"),
        ("valgrind", "valgrind"),
        ("/usr/include/cjson/cJSON.h", "libcjson-dev"),
        // test_signer's stand-in for a key held elsewhere.
        ("/usr/include/openssl/evp.h", "libssl-dev"),
    ])
}

/// Checks that docs/API.md is complete and true for C: every function of the
/// header appears in the C column, and every name there is in the header.
fn check_api_doc(root: &Path) -> Result<()> {
    const C_COLUMN: usize = 2;
    let header = std::fs::read_to_string(root.join("ffi/include/evidentia.h"))?;
    let declared = |name: &str| {
        header.match_indices(name).any(|(at, _)| {
            let after = header[at + name.len()..].chars().next();
            let before = header[..at].chars().next_back();
            !matches!(after, Some(c) if c.is_alphanumeric() || c == '_')
                && !matches!(before, Some(c) if c.is_alphanumeric() || c == '_')
        })
    };
    let functions: Vec<&str> = header
        .lines()
        .filter(|l| l.contains('(') && !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with('/'))
        .filter_map(|l| l.split('(').next()?.split_whitespace().last())
        .map(|name| name.trim_start_matches('*'))
        .filter(|name| name.starts_with("evidentia_"))
        .collect();
    let documented = crate::util::api_doc_names(C_COLUMN)?;
    let unknown: Vec<&String> = documented.iter().filter(|n| !declared(n)).collect();
    let undocumented: Vec<&&str> = functions.iter().filter(|f| !documented.iter().any(|d| d == **f)).collect();
    if functions.len() < 40 || !unknown.is_empty() || !undocumented.is_empty() {
        return Err(format!(
            "docs/API.md and evidentia.h disagree ({} functions): not in the header: {unknown:?}; not documented: {undocumented:?}",
            functions.len()
        )
        .into());
    }
    eprintln!("docs/API.md names all {} functions of evidentia.h", functions.len());
    Ok(())
}

/// The C part of `cargo xtask test`.
pub(crate) fn test() -> Result<()> {
    ensure_tools()?;
    let root = root();
    check_api_doc(&root)?;
    let stage_dir = root.join("build/c/stage");
    stage(false, &stage_dir)?;
    let include = format!("-I{}", stage_dir.join("include").display());
    let lib = stage_dir.join("lib");
    let bin = root.join("build/c/bin");
    std::fs::create_dir_all(&bin)?;
    // Logs in PostgreSQL (test_postgres.c), against a throwaway cluster.
    let postgres = crate::postgres::Cluster::start("c", false)?;
    for test in ["test_vectors", "test_api", "test_hostile", "test_pointers", "test_signer", "test_postgres"] {
        let source = root.join("ffi/tests").join(format!("{test}.c"));
        let shared: PathBuf = bin.join(format!("{test}_shared"));
        let static_: PathBuf = bin.join(format!("{test}_static"));
        gcc(
            &source,
            &shared,
            &[
                include.clone(),
                format!("-L{}", lib.display()),
                format!("-Wl,-rpath,{}", lib.display()),
                "-levidentia".into(),
                "-lcjson".into(),
                "-lcrypto".into(),
                "-lpthread".into(),
            ],
        )?;
        let mut static_link = vec![
            include.clone(),
            lib.join("libevidentia.a").display().to_string(),
            "-lcjson".into(),
            "-lcrypto".into(),
        ];
        static_link.extend(NATIVE_STATIC_LIBS.split(' ').map(str::to_owned));
        gcc(&source, &static_, &static_link)?;
        for binary in [&shared, &static_] {
            // Each run makes its logs anew, in empty databases.
            let server = if test == "test_postgres" { postgres.server()? } else { String::new() };
            run(Command::new("valgrind")
                .args([
                    "-q",
                    "--leak-check=full",
                    "--show-possibly-lost=no",
                    "--errors-for-leak-kinds=definite,indirect",
                    "--error-exitcode=1",
                ])
                .arg(binary)
                .env("EVIDENTIA_VECTORS", root.join("testvectors"))
                .env("EVIDENTIA_TEST_POSTGRES", server)
                .env("EVIDENTIA_REQUIRE_POSTGRES", "1"))?;
        }
    }
    // The conformance suite through the shared library.
    let adapter = bin.join("conformance_adapter");
    gcc(
        &root.join("ffi/tests/conformance_adapter.c"),
        &adapter,
        &[
            include.clone(),
            format!("-L{}", lib.display()),
            format!("-Wl,-rpath,{}", lib.display()),
            "-levidentia".into(),
            "-lcjson".into(),
        ],
    )?;
    // The C library does not read publications (tlog-tiles): the CLI, Python and Node do.
    crate::conformance::run_cases(
        &[&adapter.to_string_lossy()],
        &[crate::conformance::PACKAGE_SKIPS, &["tiles"]].concat(),
    )?;

    // The example, built the way a user would: make and pkg-config.
    let example = root.join("examples/c");
    run(Command::new("make").args(["-B", "run"]).current_dir(&example).env("PKG_CONFIG_PATH", lib.join("pkgconfig")))?;
    run(Command::new("make").arg("clean").current_dir(&example))
}

/// `cargo xtask dist c`: build/dist/evidentia-c-<version>-<arch>-linux.tar.gz.
pub(crate) fn dist() -> Result<()> {
    let root = root();
    let name = format!("evidentia-c-{}-{}-{}", env!("CARGO_PKG_VERSION"), std::env::consts::ARCH, std::env::consts::OS);
    let dir = root.join("build/dist").join(&name);
    stage(true, &dir)?;
    let tarball = format!("{name}.tar.gz");
    run(Command::new("tar").current_dir(root.join("build/dist")).args(["czf", &tarball, &name]))?;
    eprintln!("built build/dist/{tarball}");
    Ok(())
}
