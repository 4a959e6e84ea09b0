//! The cross-language test: C, Python, Node and the CLI each produce evidence from
//! `testvectors/cross_language.json` (deterministic outputs, and logs, receipts,
//! proofs and signatures with a fresh key of their own); then each verifies what
//! every one of them produced, and every evidence package they exported is checked
//! by its own verify.sh with OpenSSL alone. Programs: `tests/cross/cross.{c,py,js}`;
//! the CLI's side is here, driving the `evidentia` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use evidentia::json::{self, Value};

use crate::util::{Result, cargo, root, run, section};

/// The producers, in the order their evidence is made and verified.
const PRODUCERS: &[&str] = &["c", "python", "node", "cli"];

/// The cross-language part of `cargo xtask test`.
pub(crate) fn test() -> Result<()> {
    let root = root();
    let spec_path = root.join("testvectors/cross_language.json");
    let spec = json::parse(&std::fs::read(&spec_path)?)?;
    let dir = root.join("build/cross");
    let _ = std::fs::remove_dir_all(&dir);
    for producer in PRODUCERS {
        std::fs::create_dir_all(dir.join(producer))?;
    }

    section("cross: building every language");
    cargo(&["build", "-p", "evidentia-cli"])?;
    let cli = Cli(root.join("target/debug/evidentia"));
    crate::c::ensure_tools()?;
    let stage = root.join("build/c/stage");
    crate::c::stage(false, &stage)?;
    let c_program = root.join("build/cross/cross-c");
    crate::c::gcc(
        &root.join("tests/cross/cross.c"),
        &c_program,
        &[
            format!("-I{}", stage.join("include").display()),
            format!("-L{}", stage.join("lib").display()),
            format!("-Wl,-rpath,{}", stage.join("lib").display()),
            "-levidentia".into(),
            "-lcjson".into(),
        ],
    )?;
    let python = crate::python::install_dev()?;
    crate::node::build()?;
    let wasm = crate::wasm::build()?.join("node/evidentia.js");
    let node = |args: &[&Path]| {
        let mut command = Command::new("node");
        command
            .arg(root.join("tests/cross/cross.js"))
            .args(args)
            .env("EVIDENTIA_NODE_PACKAGE", crate::node::package_dir());
        command
    };
    let python_program = root.join("tests/cross/cross.py");

    section("cross: every language produces evidence");
    let out = |producer: &str| dir.join(producer);
    run(Command::new(&c_program).arg("produce").arg(&spec_path).arg(out("c")))?;
    run(Command::new(&python).arg(&python_program).arg("produce").arg(&spec_path).arg(out("python")))?;
    run(&mut node(&[Path::new("produce"), &spec_path, &out("node")]))?;
    cli.produce(&spec, &out("cli"))?;

    section("cross: every language verifies every language's evidence");
    run(Command::new(&c_program).arg("verify").arg(&spec_path).arg(&dir).args(PRODUCERS))?;
    run(Command::new(&python).arg(&python_program).arg("verify").arg(&spec_path).arg(&dir))?;
    run(&mut node(&[Path::new("verify"), &spec_path, &dir]))?;
    // The WASM build verifies what it can without a file system: all but the logs on disk.
    run(node(&[Path::new("verify"), &spec_path, &dir])
        .env("EVIDENTIA_NODE_PACKAGE", &wasm)
        .env("EVIDENTIA_CROSS_NAME", "wasm"))?;
    for producer in PRODUCERS {
        let evidence = json::parse(&std::fs::read(out(producer).join("evidence.json"))?)?;
        let passed = cli.verify(&spec, &evidence, &dir.join(format!("cli-verifying-{producer}")))?;
        eprintln!("cli verified {producer}'s evidence: {passed} checks passed");
    }

    // The evidence packages each language exported, checked by their verify.sh with
    // only OpenSSL and POSIX tools on the PATH (no Evidentia), and by the CLI.
    let tools = openssl_only_path(&dir.join("openssl-only"))?;
    for producer in PRODUCERS {
        for kind in ["receipt", "batch"] {
            let package = out(producer).join(format!("package-{kind}"));
            verify_package_with_openssl(&package, &tools)?;
            cli.output(&[&"package", &"verify", &package.with_extension("tar.gz")])?;
            eprintln!("verify.sh (OpenSSL only) and the CLI verified {producer}'s {kind} package");
        }
    }
    crate::compare::smoke()
}

/// The programs a package's verify.sh may use, and nothing else.
pub(crate) const PACKAGE_TOOLS: &[&str] = &[
    "sh",
    "openssl",
    "sha256sum",
    "sed",
    "tr",
    "od",
    "awk",
    "head",
    "tail",
    "cut",
    "cmp",
    "grep",
    "mktemp",
    "rm",
    "cat",
    "wc",
    "dirname",
    "mv",
    "sort",
    "uniq",
];

/// A folder of links to [`PACKAGE_TOOLS`], to use as the only PATH.
pub(crate) fn openssl_only_path(bin: &Path) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(bin);
    std::fs::create_dir_all(bin)?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    for tool in PACKAGE_TOOLS {
        let found = std::env::split_paths(&path)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("{tool} is not installed"))?;
        std::os::unix::fs::symlink(found, bin.join(tool))?;
    }
    Ok(bin.to_owned())
}

/// Runs a package's verify.sh with `tools` as the whole PATH; it must print
/// OpenSSL's `Verified OK` twice and the VALID verdict.
pub(crate) fn verify_package_with_openssl(package: &Path, tools: &Path) -> Result<()> {
    let output =
        Command::new(tools.join("sh")).arg(package.join("verify.sh")).env_clear().env("PATH", tools).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || stdout.matches("Verified OK").count() != 2 || !stdout.contains("VERDICT: VALID") {
        return Err(format!(
            "verify.sh did not find {} valid:\n{stdout}{}",
            package.display(),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

fn text<'a>(value: &'a Value, name: &str) -> Result<&'a str> {
    value.get(name).and_then(Value::as_str).ok_or_else(|| format!("missing string {name:?}").into())
}

fn items<'a>(value: &'a Value, name: &str) -> Result<&'a [Value]> {
    value.get(name).and_then(Value::as_array).ok_or_else(|| format!("missing array {name:?}").into())
}

fn unhex(text: &str) -> Result<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()).ok_or_else(|| "bad hex".into()))
        .collect()
}

fn strings(values: Vec<String>) -> Value {
    Value::Array(values.into_iter().map(Value::String).collect())
}

/// The `evidentia` binary.
struct Cli(PathBuf);

impl Cli {
    /// Runs the CLI and returns its standard output and exit code.
    fn run(&self, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Result<(String, i32)> {
        let output = Command::new(&self.0).args(args.iter().map(|a| a.as_ref())).output()?;
        let code = output.status.code().ok_or("the CLI was killed")?;
        if code == 2 {
            return Err(format!("evidentia refused its input: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        Ok((String::from_utf8(output.stdout)?, code))
    }

    /// Runs the CLI and returns its standard output, which must come with exit 0.
    fn output(&self, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Result<String> {
        match self.run(args)? {
            (stdout, 0) => Ok(stdout.trim_end_matches('\n').to_owned()),
            (stdout, code) => Err(format!("evidentia exited with {code}: {stdout}").into()),
        }
    }

    /// What the CLI can produce: canonical JSON and JWS from the fixed inputs (it
    /// has no options for fixed record times), and everything with a fresh key.
    fn produce(&self, spec: &Value, out: &Path) -> Result<()> {
        let file = |name: &str, data: &[u8]| -> Result<PathBuf> {
            let path = out.join(name);
            std::fs::write(&path, data)?;
            Ok(path)
        };
        let mut canonical = Vec::new();
        for (i, document) in items(spec, "documents")?.iter().enumerate() {
            let input = file(&format!("document-{i}.json"), text(document, "json")?.as_bytes())?;
            canonical.push(self.output(&[&"canonicalize", &input])?);
        }
        let key = file("key.jwk", text(spec, "private_jwk")?.as_bytes())?;
        let mut jws = Vec::new();
        for (i, payload) in items(spec, "payloads")?.iter().enumerate() {
            let bytes = unhex(text(payload, "payload_hex")?)?;
            let input = file(&format!("payload-{i}.bin"), &bytes)?;
            jws.push(self.output(&[&"jws", &"sign", &"--key", &key, &input])?);
            jws.push(self.output(&[&"jws", &"sign", &"--key", &key, &"--detached", &input])?);
            jws.push(self.output(&[&"jws", &"sign", &"--key", &key, &"--detached", &"--unencoded", &input])?);
        }

        let fresh_key = out.join("fresh.jwk");
        self.output(&[&"keygen", &"--out", &fresh_key])?;
        let public_jwk = self.output(&[&"pubkey", &fresh_key])?;
        let payload = file("fresh-payload.bin", &unhex(text(spec, "fresh_payload_hex")?)?)?;
        let fresh_jws = self.output(&[&"jws", &"sign", &"--key", &fresh_key, &"--detached", &payload])?;
        let event = file("fresh-event.json", text(spec, "fresh_event")?.as_bytes())?;
        let more = file("more.jsonl", b"{\"n\":2}\n{\"n\":3}\n")?;
        let log = out.join("log");
        self.output(&[&"log", &"init", &"--key", &fresh_key, &"--id", &"cli.example/cross", &log])?;
        let receipt = self.output(&[&"log", &"append", &log, &event])?;
        self.output(&[&"log", &"append", &"--batch", &log, &more])?;
        let checkpoint = self.output(&[&"log", &"checkpoint", &log])?;
        let proof = self.output(&[&"log", &"prove", &"--index", &"0", &log])?;
        let batch = out.join("batch");
        let batch_events =
            file("batch.jsonl", format!("{}\n{{\"n\":2}}\n{{\"n\":3}}\n", text(spec, "fresh_event")?).as_bytes())?;
        self.output(&[
            &"log",
            &"init",
            &"--key",
            &fresh_key,
            &"--id",
            &"cli.example/cross-batch",
            &"--mode",
            &"batch",
            &batch,
        ])?;
        self.output(&[&"log", &"append", &"--batch", &batch, &batch_events])?;
        let batch_receipt = self.output(&[&"log", &"receipt", &"--index", &"0", &batch])?;
        // The salts, in hex as `log salt` prints them and every producer writes them.
        let salt_hex = |log: &Path| -> Result<Value> {
            let salt = self.output(&[&"log", &"salt", &"--index", &"0", &log])?.trim().to_owned();
            evidentia::encoding::hex_decode(&salt).ok_or("log salt printed no hex")?;
            Ok(Value::String(salt))
        };
        let (salt, batch_salt) = (salt_hex(&log)?, salt_hex(&batch)?);
        self.output(&[&"export", &log, &"--index", &"0", &"--out", &out.join("package-receipt")])?;
        self.output(&[&"export", &batch, &"--index", &"0", &"--out", &out.join("package-batch")])?;

        let path = |p: &Path| Value::String(p.display().to_string());
        let fresh = Value::object(vec![
            ("public_jwk", Value::String(public_jwk)),
            ("jws", Value::String(fresh_jws)),
            ("log", path(&log)),
            ("jwks", Value::String(std::fs::read_to_string(log.join("keys.jwks"))?)),
            ("receipt", Value::String(receipt)),
            ("salt_hex", salt),
            ("checkpoint", Value::String(checkpoint + "\n")),
            ("size", Value::Number(json::Number::from_i64(3)?)),
            ("inclusion_proof", Value::String(proof)),
            ("batch_log", path(&batch)),
            ("batch_receipt", Value::String(batch_receipt)),
            ("batch_salt_hex", batch_salt),
        ]);
        let evidence = Value::object(vec![
            ("producer", Value::String("cli".into())),
            ("canonical", strings(canonical)),
            ("jws", strings(jws)),
            ("fresh", fresh),
        ]);
        std::fs::write(out.join("evidence.json"), json::to_pretty_string(&evidence)?)?;
        Ok(())
    }

    /// Verifies one producer's evidence with the CLI; returns how many checks passed.
    fn verify(&self, spec: &Value, evidence: &Value, scratch: &Path) -> Result<usize> {
        std::fs::create_dir_all(scratch)?;
        let producer = text(evidence, "producer")?;
        let file = |name: &str, data: &[u8]| -> Result<PathBuf> {
            let path = scratch.join(name);
            std::fs::write(&path, data)?;
            Ok(path)
        };
        let mut passed = 0;
        let mut check = |condition: bool, what: &str| -> Result<()> {
            if !condition {
                return Err(format!("cli verifying {producer}'s evidence: {what}").into());
            }
            passed += 1;
            Ok(())
        };
        let expected = |list: &str, fields: &[&str]| -> Result<Vec<String>> {
            let mut all = Vec::new();
            for item in items(spec, list)? {
                for field in fields {
                    all.push(text(item, field)?.to_owned());
                }
            }
            Ok(all)
        };
        for (name, list, fields) in [
            ("canonical", "documents", &["canonical"][..]),
            ("digests", "documents", &["digest"][..]),
            ("jws", "payloads", &["jws", "detached", "unencoded_detached"][..]),
            ("receipts", "receipts", &["receipt"][..]),
        ] {
            if evidence.get(name).is_some() {
                let got: Vec<&str> = items(evidence, name)?.iter().filter_map(Value::as_str).collect();
                check(got == expected(list, fields)?, &format!("{name} differ from the expected bytes"))?;
            }
        }
        let public = file("public.jwk", text(spec, "public_jwk")?.as_bytes())?;
        if evidence.get("receipts").is_some() {
            for (i, (receipt, fixed)) in items(evidence, "receipts")?.iter().zip(items(spec, "receipts")?).enumerate() {
                let receipt = file(&format!("receipt-{i}.jws"), receipt.as_str().unwrap_or_default().as_bytes())?;
                let event = file(&format!("event-{i}.json"), text(fixed, "event")?.as_bytes())?;
                let (_, code) = self.run(&[&"receipt", &"verify", &"--jwks", &public, &"--event", &event, &receipt])?;
                check(code == 0, "a fixed receipt")?;
            }
        }

        let fresh = evidence.get("fresh").ok_or("missing fresh evidence")?;
        let public = file("fresh-public.jwk", text(fresh, "public_jwk")?.as_bytes())?;
        let payload_bytes = unhex(text(spec, "fresh_payload_hex")?)?;
        let payload = file("payload.bin", &payload_bytes)?;
        let other_payload = file("other-payload.bin", &[&payload_bytes[..], b"!"].concat())?;
        let jws = file("fresh.jws", text(fresh, "jws")?.as_bytes())?;
        check(self.run(&[&"jws", &"verify", &"--jwks", &public, &"--payload", &payload, &jws])?.1 == 0, "the JWS")?;
        let (_, code) = self.run(&[&"jws", &"verify", &"--jwks", &public, &"--payload", &other_payload, &jws])?;
        check(code == 1, "a JWS over another payload")?;
        let jwks = file("fresh.jwks", text(fresh, "jwks")?.as_bytes())?;
        let event = file("fresh-event.json", text(spec, "fresh_event")?.as_bytes())?;
        let other_event = file("other-event.json", br#"{"type":"cross.check","amount":10.51}"#)?;
        let receipt = file("fresh-receipt.jws", text(fresh, "receipt")?.as_bytes())?;
        let (salt, batch_salt) = (text(fresh, "salt_hex")?, text(fresh, "batch_salt_hex")?);
        let verify_receipt = |receipt: &Path, event: &Path, salt: &str| {
            self.run(&[&"receipt", &"verify", &"--jwks", &jwks, &"--event", &event, &"--salt-hex", &salt, &receipt])
                .map(|(_, code)| code)
        };
        check(verify_receipt(&receipt, &event, salt)? == 0, "the receipt")?;
        check(verify_receipt(&receipt, &other_event, salt)? == 1, "the receipt with another event")?;
        let checkpoint = file("checkpoint.txt", text(fresh, "checkpoint")?.as_bytes())?;
        let proof = file("inclusion.json", text(fresh, "inclusion_proof")?.as_bytes())?;
        let (_, code) = self.run(&[
            &"proof",
            &"verify",
            &"--checkpoint",
            &checkpoint,
            &"--jwks",
            &jwks,
            &"--receipt",
            &receipt,
            &proof,
        ])?;
        check(code == 0, "the inclusion proof")?;
        check(self.run(&[&"log", &"verify", &text(fresh, "log")?])?.1 == 0, "the log")?;
        let batch_receipt = file("batch-receipt.json", text(fresh, "batch_receipt")?.as_bytes())?;
        check(verify_receipt(&batch_receipt, &event, batch_salt)? == 0, "the batch receipt")?;
        check(self.run(&[&"log", &"verify", &text(fresh, "batch_log")?])?.1 == 0, "the batch log")?;
        Ok(passed)
    }
}
