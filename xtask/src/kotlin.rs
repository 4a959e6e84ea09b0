//! Kotlin and Swift through UniFFI: the library `evidentia-uniffi`, the bindings
//! `uniffi-bindgen` generates from it (into build/uniffi/, never committed), and the
//! Kotlin test suite run by Maven on the JVM. Swift is generated, not compiled: no
//! Swift toolchain exists on these machines.

use std::path::PathBuf;
use std::process::Command;

use crate::tools::ensure_apt;
use crate::util::{Result, cargo, root, run, section};

/// Where the generated bindings go: `kotlin/dev/evidentia/evidentia_uniffi.kt`,
/// `swift/Evidentia.swift`, `swift/EvidentiaFFI.h`, `swift/EvidentiaFFI.modulemap`.
pub(crate) fn out_dir() -> PathBuf {
    root().join("build/uniffi")
}

/// Builds the library (debug) and generates the Kotlin and Swift bindings from it.
pub(crate) fn generate() -> Result<PathBuf> {
    let root = root();
    // The generator is a workspace binary, so its UniFFI version is the library's.
    cargo(&["build", "-p", "evidentia-uniffi", "-p", "uniffi-bindgen"])?;
    let out = out_dir();
    let library = root.join("target/debug/libevidentia_uniffi.so");
    for (language, dir) in [("kotlin", "kotlin"), ("swift", "swift")] {
        let dir = out.join(dir);
        let _ = std::fs::remove_dir_all(&dir);
        run(Command::new(root.join("target/debug/uniffi-bindgen"))
            .args(["generate", "--no-format", "--language", language, "--library"])
            .arg(&library)
            .arg("--out-dir")
            .arg(&dir))?;
    }
    Ok(out)
}

/// The Kotlin part of `cargo xtask test`.
pub(crate) fn test() -> Result<()> {
    let root = root();
    ensure_apt(&[("/usr/bin/mvn", "maven"), ("/usr/bin/javac", "openjdk-17-jdk-headless")])?;
    let out = generate()?;
    check_swift(&out)?;
    check_api_doc(&out)?;

    section("kotlin: the shared vectors, the API, a java.security signer and token keys (mvn test)");
    cargo(&["build", "-p", "evidentia-cli"])?;
    // Keys in tokens (Pkcs11Test) are tested against SoftHSM2.
    crate::ensure_softhsm()?;
    // Logs in PostgreSQL (PostgresTest), against a throwaway cluster.
    let postgres = crate::postgres::Cluster::start("kotlin", false)?;
    let python = crate::python::install_dev()?;
    let evidence = root.join("build/uniffi/evidence");
    let _ = std::fs::remove_dir_all(&evidence);
    let property = |name: &str, value: &std::path::Path| format!("-Devidentia.{name}={}", value.display());
    run(Command::new("mvn")
        .args(["-B", "--no-transfer-progress", "test", "-f"])
        .arg(root.join("bindings/kotlin/pom.xml"))
        .arg(property("generated", &out.join("kotlin")))
        .arg(property("lib.dir", &root.join("target/debug")))
        .arg(property("vectors", &root.join("testvectors")))
        .arg(property("cli", &root.join("target/debug/evidentia")))
        .arg(property("python", &python))
        .arg(property("out", &evidence))
        .env("EVIDENTIA_REQUIRE_SOFTHSM", "1")
        .env("EVIDENTIA_PKCS11_MODULE", crate::SOFTHSM_MODULE)
        .env("EVIDENTIA_TEST_POSTGRES", postgres.server()?)
        .env("EVIDENTIA_REQUIRE_POSTGRES", "1"))?;
    drop(postgres);

    section("kotlin: the package Kotlin exported, checked by its verify.sh with OpenSSL alone");
    let tools = crate::cross::openssl_only_path(&root.join("build/uniffi/openssl-only"))?;
    crate::cross::verify_package_with_openssl(&evidence.join("kotlin-package"), &tools)
}

/// The Swift sources exist and declare the API the Kotlin suite tests.
fn check_swift(out: &std::path::Path) -> Result<()> {
    section("swift: generated sources (compiled only on macOS; see bindings/uniffi/README.md)");
    let swift = std::fs::read_to_string(out.join("swift/Evidentia.swift"))?;
    for needed in
        ["public protocol Signer", "public func verifyReceipt(", "open class ReceiptChain", "enum EvidentiaError"]
    {
        if !swift.contains(needed) {
            return Err(format!("the generated Swift has no `{needed}`").into());
        }
    }
    for file in ["EvidentiaFFI.h", "EvidentiaFFI.modulemap"] {
        if !out.join("swift").join(file).is_file() {
            return Err(format!("uniffi-bindgen did not write swift/{file}").into());
        }
    }
    Ok(())
}

/// Checks docs/API.md against the generated sources: every name of the Kotlin and
/// Swift columns exists, and every public function and class of the Swift module
/// (which has the same names as the Kotlin package) is documented.
fn check_api_doc(out: &std::path::Path) -> Result<()> {
    const KOTLIN_COLUMN: usize = 5;
    const SWIFT_COLUMN: usize = 6;
    let kotlin = std::fs::read_to_string(out.join("kotlin/dev/evidentia/evidentia_uniffi.kt"))?;
    let swift = std::fs::read_to_string(out.join("swift/Evidentia.swift"))?;
    let (kotlin_names, swift_names) =
        (crate::util::api_doc_names(KOTLIN_COLUMN)?, crate::util::api_doc_names(SWIFT_COLUMN)?);
    // A name is `Type`, `function` or `Type.member`; the generated code declares it.
    let in_kotlin = |name: &str| match name.split_once('.') {
        Some((class, member)) => {
            let class_exists = ["class ", "interface "].iter().any(|k| kotlin.contains(&format!("{k}{class}")));
            let member_exists = [format!("fun `{member}`("), format!("fun {member}("), format!("class {member}(")]
                .iter()
                .any(|declaration| kotlin.contains(declaration));
            class_exists && member_exists
        }
        None => ["class ", "interface ", "fun `"].iter().any(|k| kotlin.contains(&format!("{k}{name}"))),
    };
    let in_swift = |name: &str| match name.split_once('.') {
        Some((class, member)) => {
            ["class ", "protocol ", "enum ", "struct "].iter().any(|k| swift.contains(&format!("{k}{class}")))
                && (swift.contains(&format!("func {member}(")) || swift.contains(&format!("func `{member}`(")))
        }
        None => {
            ["class ", "protocol ", "enum ", "struct ", "func "].iter().any(|k| swift.contains(&format!("{k}{name}")))
        }
    };
    let mut problems: Vec<String> = Vec::new();
    problems.extend(kotlin_names.iter().filter(|n| !in_kotlin(n)).map(|n| format!("Kotlin column: no {n}")));
    problems.extend(swift_names.iter().filter(|n| !in_swift(n)).map(|n| format!("Swift column: no {n}")));
    // Every public function and class of the module, less UniFFI's own plumbing.
    let declared = |prefix: &str| -> Vec<String> {
        swift
            .lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .filter_map(|rest| rest.split(|c: char| !c.is_alphanumeric()).next())
            .filter(|name| !name.is_empty() && !name.starts_with("FfiConverter") && !name.starts_with("uniffi"))
            .map(str::to_owned)
            .collect()
    };
    let public: Vec<String> = [declared("public func "), declared("open class ")]
        .concat()
        .into_iter()
        .filter(|name| !name.ends_with("Impl"))
        .collect();
    problems.extend(public.iter().filter(|n| !swift_names.contains(n)).map(|n| format!("not documented: {n}")));
    if public.len() < 15 || !problems.is_empty() {
        return Err(format!(
            "docs/API.md and the Kotlin/Swift bindings disagree ({} public names): {problems:?}",
            public.len()
        )
        .into());
    }
    eprintln!(
        "docs/API.md names all {} public functions and classes of the Swift module, and every Kotlin and Swift name exists",
        public.len()
    );
    Ok(())
}
