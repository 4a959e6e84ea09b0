//! The side-by-side benchmark: the same workloads through Evidentia (Rust core,
//! Python, Node, WASM, the CLI) and through the libraries users would otherwise
//! pick (`rfc8785` + `cryptography` / `joserfc` in Python, `canonicalize` +
//! `node:crypto` / `jose` in Node), with `openssl speed` as the limit for raw ECDSA.
//! Every implementation runs once per round, rounds interleave them in rotating
//! order so machine drift cancels out, and the medians go to docs/PERFORMANCE.md.
//! `smoke` runs every implementation on tiny inputs and checks their outputs agree
//! (part of `cargo xtask test cross`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use evidentia::json::{self, Value};

use crate::util::{Result, cargo, root, run, section};

/// The peers, pinned; installed by the benchmark itself.
/// The Python libraries compared against (their versions, and their dependencies,
/// are pinned in xtask/requirements/peers.txt).
const PYTHON_PEERS: &[&str] = &["rfc8785", "cryptography", "joserfc"];

/// Workloads, in table order: (name, what it is).
const WORKLOADS: &[(&str, &str)] = &[
    ("canonicalize_1k", "canonicalize a 1 KB JSON document (text in, canonical bytes out)"),
    ("canonicalize_64k", "canonicalize a 64 KB JSON document"),
    (
        "build_receipt",
        "build a receipt for a 1 KB event in memory (canonicalize, digest, record, sign ES256, serialize)",
    ),
    ("build_receipt_randomized", "the same with opt-in randomized signing (AWS-LC), as the peers sign"),
    ("append_receipt", "append a 1 KB event to a log on tmpfs (a receipt, and the record and event stored)"),
    ("verify_receipt", "verify a receipt and the event it commits to"),
    ("verify_log", "verify a log of 100,000 receipts (signatures, chain, events)"),
    ("verify_log_1m", "verify a log of 1,000,000 receipts"),
    (
        "verify_log_1m_incremental",
        "verify the newest 1,000 receipts of that log from a trusted checkpoint of the 999,000 before them",
    ),
    ("merkle", "RFC 6962 tree of 1,000,000 leaves, 1,000 inclusion proofs made and checked"),
];

/// An operation without a peer, measured once per run before the rounds by the
/// program of its crate, which prints it as `{"workload":…,"median_ns":…}`.
struct Feature {
    /// Who measured it: `store` (store/benches/lookup.rs), `pkcs11`
    /// (pkcs11/examples/throughput.rs) or `postgres` (store/benches/postgres.rs).
    source: &'static str,
    workload: &'static str,
    what: &'static str,
    /// What the same program measured beside it to compare it with: (workload, what).
    against: Option<(&'static str, &'static str)>,
    /// The most it may take (ns).
    target: Option<f64>,
}

const fn feature(source: &'static str, workload: &'static str, what: &'static str) -> Feature {
    Feature { source, workload, what, against: None, target: None }
}

/// The features of the store, hardware keys and PostgreSQL, in table order.
const FEATURES: &[Feature] = &[
    Feature {
        target: Some(1e6),
        ..feature("store", "find_field", "find a record by an indexed field in a 1,000,000-record log, open reader")
    },
    Feature { target: Some(1e6), ..feature("store", "find_field_absent", "the same, when no record holds the value") },
    Feature { target: Some(1e6), ..feature("store", "find_nonce", "find a record by its nonce in that log") },
    feature("store", "log_receipt", "a record's receipt, served by that open reader (batch mode)"),
    feature("store", "log_inclusion_proof", "a record's inclusion proof, served by that open reader"),
    Feature {
        against: Some(("sign_software", "a software key, whose signature is not checked")),
        ..feature(
            "pkcs11",
            "sign_softhsm2",
            "one ES256 signature by a key in SoftHSM2 (PKCS#11), checked against its public key as every \
             signature from outside the program is",
        )
    },
    Feature {
        against: Some(("append_receipts_1_software", "a software key")),
        ..feature("pkcs11", "append_receipts_1_softhsm2", "append an event, receipts mode, key in SoftHSM2")
    },
    Feature {
        against: Some(("append_batch_100_software", "a software key")),
        ..feature("pkcs11", "append_batch_100_softhsm2", "append in groups of 100, batch mode, key in SoftHSM2")
    },
    Feature {
        against: Some(("append_receipts_local", "one writer of a local log")),
        ..feature(
            "postgres",
            "append_receipts_pg_1",
            "append an event to a log in PostgreSQL (fsync on), receipts mode, 1 writer process",
        )
    },
    Feature {
        against: Some(("append_receipts_local", "one writer of a local log")),
        ..feature("postgres", "append_receipts_pg_16", "the same with 16 writer processes, per event of them all")
    },
    Feature {
        against: Some(("append_batch_local", "one writer of a local log")),
        ..feature("postgres", "append_batch_pg_1", "append to PostgreSQL in groups of 1,000, batch mode, 1 writer")
    },
    Feature {
        against: Some(("append_batch_local", "one writer of a local log")),
        ..feature("postgres", "append_batch_pg_16", "the same with 16 writer processes, per event of them all")
    },
    Feature {
        target: Some(1e6),
        ..feature("postgres", "inclusion_proof_pg_1m", "an inclusion proof from a 1,000,000-record PostgreSQL log")
    },
    Feature {
        target: Some(10e9),
        ..feature("postgres", "publish_tiles_1m", "publish a 1,000,000-record log as C2SP tlog-tiles (one run)")
    },
];

/// Implementations, in table order: (name, heading).
const IMPLEMENTATIONS: &[(&str, &str)] = &[
    ("rust-core", "Rust core"),
    ("rust-core-p256", "Rust core, pure-Rust p256 only"),
    ("cli-1-core", "CLI, 1 core"),
    ("cli-all-cores", "CLI, all cores"),
    ("evidentia-python", "Python: evidentia"),
    ("rfc8785+cryptography", "Python: rfc8785 + cryptography"),
    ("rfc8785+joserfc", "Python: rfc8785 + joserfc"),
    ("evidentia-node", "Node: evidentia"),
    ("canonicalize+node:crypto", "Node: canonicalize + node:crypto"),
    ("canonicalize+jose", "Node: canonicalize + jose"),
    ("evidentia-wasm", "Node: evidentia WASM"),
    ("chromium-wasm", "Chromium: evidentia WASM"),
    ("chromium-wasm-webcrypto", "Chromium: evidentia WASM, async with WebCrypto"),
    ("chromium-jose", "Chromium: canonicalize + jose (WebCrypto)"),
];

struct Setup {
    release: bool,
    inputs: PathBuf,
    cli: PathBuf,
    python: PathBuf,
    /// The WASM build: `node/` and `web/` packages.
    wasm: PathBuf,
    records: usize,
}

/// Inputs for every implementation: the 1 KB event, a 64 KB document, the key, a
/// log of `records` receipts (with its receipts and events as text for the peers).
/// `name==version` of each Python peer, as pinned.
fn python_peer_versions() -> String {
    let pinned = std::fs::read_to_string(root().join("xtask/requirements/peers.txt")).unwrap_or_default();
    let line = |name: &str| pinned.lines().find(|l| l.starts_with(&format!("{name}=="))).unwrap_or(name).to_owned();
    PYTHON_PEERS.iter().map(|name| line(name)).collect::<Vec<_>>().join(", ")
}

fn prepare(release: bool, records: usize, python: PathBuf) -> Result<Setup> {
    let root = root();
    let inputs = root.join(if release { "build/bench/compare" } else { "build/bench/compare-smoke" });
    let _ = std::fs::remove_dir_all(&inputs);
    std::fs::create_dir_all(&inputs)?;
    let profile = if release { "release" } else { "debug" };
    cargo(&[&["build", "-p", "evidentia-cli"][..], if release { &["--release"][..] } else { &[][..] }].concat())?;
    let cli = root.join("target").join(profile).join("evidentia");
    let fixtures = root.join("benches/bindings");
    for file in ["event-1k.json", "key.jwk"] {
        std::fs::copy(fixtures.join(file), inputs.join(file))?;
    }
    std::fs::write(inputs.join("doc-64k.json"), document(64 * 1024))?;

    let (events, receipts) = make_log(&cli, &inputs, "log", records)?;
    std::fs::rename(inputs.join("log-events.tmp"), inputs.join("log-events.jsonl"))?;
    std::fs::write(inputs.join("log-receipts.txt"), &receipts)?;
    std::fs::write(inputs.join("receipt.jws"), receipts.lines().next().unwrap_or_default())?;
    std::fs::write(inputs.join("receipt-event.json"), events.lines().next().unwrap_or_default())?;
    std::fs::copy(inputs.join("log/keys.jwks"), inputs.join("keys.jwks"))?;

    crate::python::pip_install_pinned(&python, "peers.txt")?;
    crate::node::npm_install(&root.join("benches/compare"))?;
    crate::node::build()?;
    let wasm = crate::wasm::build()?;
    crate::wasm::browser_tools()?;
    crate::tools::ensure_apt(&[("/usr/bin/time", "time")])?;
    Ok(Setup { release, inputs, cli, python, wasm, records })
}

/// A log `name` in `inputs`, made by the CLI, of `records` receipts of distinct 1 KB
/// events (the event of event-1k.json with a `bench_n` member); returns the events
/// (one per line, also left in `log-events.tmp`) and the receipts (one per line).
fn make_log(cli: &Path, inputs: &Path, name: &str, records: usize) -> Result<(String, String)> {
    let log = inputs.join(name);
    let key = inputs.join("key.jwk");
    // Records of version 1, which commit to the plain event digest the peers check.
    let init = ["log", "init", "--id", "bench.evidentia.dev/log", "--record-version", "1", "--key"];
    run(Command::new(cli).args(init).arg(&key).arg(&log))?;
    append_events(cli, inputs, name, 0..records)
}

/// Appends the 1 KB events numbered `numbers` to the log `name`: the events
/// (JSON Lines) and their receipts.
fn append_events(cli: &Path, inputs: &Path, name: &str, numbers: std::ops::Range<usize>) -> Result<(String, String)> {
    let event = String::from_utf8(evidentia::canonicalize(&std::fs::read(inputs.join("event-1k.json"))?)?)?;
    let body = event.strip_prefix('{').ok_or("the event is not an object")?;
    let events: String = numbers.clone().map(|i| format!("{{\"bench_n\":{i},{body}\n")).collect();
    let events_file = inputs.join("log-events.tmp");
    std::fs::write(&events_file, &events)?;
    let output =
        Command::new(cli).args(["log", "append", "--batch"]).arg(inputs.join(name)).arg(&events_file).output()?;
    if !output.status.success() {
        return Err(format!("log append failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let receipts = String::from_utf8(output.stdout)?;
    if receipts.lines().count() != numbers.len() {
        return Err("the log did not return one receipt per event".into());
    }
    Ok((events, receipts))
}

/// About `size` bytes of JSON with strings, numbers of every kind, nesting.
fn document(size: usize) -> String {
    let mut items = Vec::new();
    let mut length = 0;
    let mut i = 0u32;
    while length < size {
        let item = format!(
            "{{\"payment_id\": \"PAY-2026-{i:06}\", \"amount\": {{\"value\": \"{}.{:02}\", \"currency\": \"EUR\"}}, \"rate\": {}, \"big\": {}e{}, \"debtor\": {{\"name\": \"Zoë Müller \\u00e9\", \"iban\": \"DE89370400440532013000\"}}, \"approved\": {}, \"tags\": [\"sepa\", \"instant\", null]}}",
            1000 + i * 7,
            i % 100,
            1.0 / (f64::from(i) + 3.0),
            i + 1,
            i % 30,
            i.is_multiple_of(2)
        );
        length += item.len() + 2;
        items.push(item);
        i += 1;
    }
    format!("[\n{}\n]\n", items.join(",\n"))
}

/// One implementation's command for one run.
fn command(setup: &Setup, implementation: &str, flag: Option<&str>) -> Command {
    let root = root();
    let scripts = root.join("benches/compare");
    let mut command = match implementation {
        "rust-core" | "rust-core-p256" => {
            let mut c = Command::new("cargo");
            c.args(["run", "-q", "-p", "evidentia", "--example", "compare"]);
            if setup.release {
                c.arg("--release");
            }
            if implementation == "rust-core-p256" {
                // The provider WebAssembly has: what the WASM build is measured against.
                c.args(["--no-default-features", "--features", "getrandom"]);
            }
            c.arg("--").arg(&setup.inputs);
            c
        }
        "evidentia-python" | "rfc8785+cryptography" | "rfc8785+joserfc" => {
            let mut c = Command::new(&setup.python);
            c.arg(scripts.join("bench.py"))
                .arg(implementation.trim_start_matches("evidentia-").replace("python", "evidentia"));
            c.arg(&setup.inputs);
            c
        }
        "chromium-wasm" | "chromium-wasm-webcrypto" | "chromium-jose" => {
            let mut c = Command::new("node");
            let name = match implementation {
                "chromium-wasm" => "evidentia-wasm",
                "chromium-wasm-webcrypto" => "evidentia-wasm-webcrypto",
                _ => "canonicalize+jose",
            };
            c.arg(scripts.join("browser.mjs")).arg(name).arg(&setup.inputs);
            c.env("EVIDENTIA_WEB_PKG", setup.wasm.join("web"));
            c
        }
        _ => {
            let mut c = Command::new("node");
            let name = if implementation == "evidentia-node" { "evidentia" } else { implementation };
            c.arg(scripts.join("bench.js")).arg(name).arg(&setup.inputs);
            c.env("EVIDENTIA_NODE_PACKAGE", crate::node::package_dir())
                .env("EVIDENTIA_WASM_PACKAGE", setup.wasm.join("node/evidentia.js"));
            c.env("NODE_PATH", scripts.join("node_modules"));
            c
        }
    };
    command.current_dir(&scripts);
    if let Some(flag) = flag {
        command.arg(flag);
    }
    command
}

/// Medians: implementation → workload → nanoseconds, one sample per round.
type Samples = BTreeMap<String, BTreeMap<String, Vec<f64>>>;

fn collect(samples: &mut Samples, implementation: &str, output: &str) -> Result<()> {
    for line in output.lines().filter(|l| l.starts_with('{')) {
        let row = json::parse(line.as_bytes())?;
        let workload = row.get("workload").and_then(Value::as_str).ok_or("no workload")?.to_owned();
        let ns = row.get("median_ns").and_then(Value::as_number).map(json::Number::as_f64).ok_or("no median_ns")?;
        samples.entry(implementation.to_owned()).or_default().entry(workload).or_default().push(ns);
    }
    Ok(())
}

fn capture(command: &mut Command) -> Result<String> {
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// The CLI verifying a whole log, pinned to one core or on all of them: the time
/// it took (ns) and its peak resident memory (KiB, as GNU time measures it).
fn cli_verify(setup: &Setup, log: &str, pinned: bool, args: &[&std::ffi::OsStr]) -> Result<(f64, f64)> {
    let mut command = Command::new("/usr/bin/time");
    command.args(["-f", "peak_rss_kib=%M"]);
    if pinned {
        command.args(["taskset", "-c", "0"]);
    }
    command.arg(&setup.cli).args(["log", "verify"]).arg(setup.inputs.join(log)).args(args);
    let start = std::time::Instant::now();
    let output = command.output()?;
    let ns = start.elapsed().as_nanos() as f64;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("{command:?} failed: {stderr}").into());
    }
    let rss = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no peak memory from GNU time: {stderr}"))?;
    Ok((ns, rss))
}

/// `openssl speed ecdsap256`: (signatures/s, verifications/s) on one core.
fn openssl_speed() -> Result<(f64, f64)> {
    let out = capture(Command::new("openssl").args(["speed", "-seconds", "2", "ecdsap256"]))?;
    let line = out.lines().find(|l| l.trim_start().starts_with("256 bits ecdsa")).ok_or("no ecdsa line")?;
    let numbers: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    match numbers.as_slice() {
        [.., sign, verify] => Ok((*sign, *verify)),
        _ => Err(format!("unexpected openssl speed line: {line}").into()),
    }
}

/// Receipts in the log that the CLI verifies on one core and on all of them.
const MILLION: usize = 1_000_000;

/// Receipts of that log after the checkpoint an incremental verification starts from.
const INCREMENT: usize = 1_000;

/// `cargo xtask bench compare`: writes docs/PERFORMANCE.md.
pub(crate) fn bench() -> Result<()> {
    const ROUNDS: usize = 3;
    section("bench compare: building every implementation and the peers");
    let python = crate::python::install_release()?;
    let setup = prepare(true, 100_000, python)?;
    section("bench compare: a log of 1,000,000 receipts for the parallel verification");
    // Its newest 1,000 records are appended after the checkpoint an incremental
    // verification trusts.
    make_log(&setup.cli, &setup.inputs, "log-1m", MILLION - INCREMENT)?;
    let trusted = capture(Command::new(&setup.cli).args(["log", "checkpoint"]).arg(setup.inputs.join("log-1m")))?;
    std::fs::write(setup.inputs.join("trusted-1m.txt"), trusted)?;
    append_events(&setup.cli, &setup.inputs, "log-1m", MILLION - INCREMENT..MILLION)?;
    std::fs::remove_file(setup.inputs.join("log-events.tmp"))?;
    cargo(&["build", "--release", "-p", "evidentia", "--example", "compare"])?;
    cargo(&[
        "build",
        "--release",
        "-p",
        "evidentia",
        "--example",
        "compare",
        "--no-default-features",
        "--features",
        "getrandom",
    ])?;

    let mut samples = Samples::new();
    features(&mut samples)?;
    let mut openssl = Vec::new();
    let runs: Vec<&str> = IMPLEMENTATIONS.iter().map(|(name, _)| *name).collect();
    for round in 0..ROUNDS {
        section(&format!("bench compare: round {} of {ROUNDS}", round + 1));
        // Rotate the order every round, so no implementation always runs first.
        for i in 0..runs.len() {
            let implementation = runs[(i + round) % runs.len()];
            eprintln!("  {implementation}");
            match implementation {
                "cli-1-core" | "cli-all-cores" => {
                    let pinned = implementation == "cli-1-core";
                    let trusted = setup.inputs.join("trusted-1m.txt");
                    let incremental = ["--from-checkpoint".as_ref(), trusted.as_os_str()];
                    for (log, workload, args) in [
                        ("log", "verify_log", &[][..]),
                        ("log-1m", "verify_log_1m", &[]),
                        ("log-1m", "verify_log_1m_incremental", &incremental),
                    ] {
                        let (ns, rss) = cli_verify(&setup, log, pinned, args)?;
                        let runs = samples.entry(implementation.into()).or_default();
                        runs.entry(workload.into()).or_default().push(ns);
                        runs.entry(format!("{workload}_peak_rss_kib")).or_default().push(rss);
                    }
                }
                _ => collect(&mut samples, implementation, &capture(&mut command(&setup, implementation, None))?)?,
            }
        }
        openssl.push(openssl_speed()?);
    }
    let report = report(&samples, &openssl, setup.records)?;
    let path = root().join("docs/PERFORMANCE.md");
    std::fs::write(&path, report)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Runs the programs that measure [`FEATURES`], once each, before the rounds: they
/// take their own medians, and compare within themselves where there is something
/// to compare with.
fn features(samples: &mut Samples) -> Result<()> {
    let cargo = || Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    section("bench compare: lookups and reads from an open 1,000,000-record log");
    collect(samples, "store", &capture(cargo().args(["bench", "-p", "evidentia-store", "--bench", "lookup"]))?)?;
    section("bench compare: a key in SoftHSM2 against a software key");
    crate::ensure_softhsm()?;
    let hsm = ["run", "--release", "-p", "evidentia-pkcs11", "--example", "throughput"];
    collect(samples, "pkcs11", &capture(cargo().args(hsm))?)?;
    section("bench compare: a log in PostgreSQL against the local store");
    let cluster = crate::postgres::Cluster::start("bench", true)?;
    let postgres = ["bench", "-p", "evidentia-store", "--features", "postgres", "--bench", "postgres"];
    collect(samples, "postgres", &capture(cargo().args(postgres).env("EVIDENTIA_BENCH_POSTGRES", cluster.url()))?)?;
    Ok(())
}

/// `cargo xtask bench compare --rewrite`: writes docs/PERFORMANCE.md again from the
/// raw samples it holds, without measuring anything (after a change to the text
/// around the numbers).
pub(crate) fn rewrite() -> Result<()> {
    let path = root().join("docs/PERFORMANCE.md");
    let text = std::fs::read_to_string(&path)?;
    let records = text
        .split("The log has ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or("docs/PERFORMANCE.md does not say how many receipts the log has")?;
    let raw = text
        .split("## Raw samples")
        .nth(1)
        .and_then(|rest| rest.split("```\n").nth(1))
        .ok_or("docs/PERFORMANCE.md has no raw samples")?;
    let mut samples = Samples::new();
    let mut openssl = Vec::new();
    for line in raw.lines() {
        if let Some(rates) = line.strip_prefix("openssl speed (sign/s verify/s) ") {
            for pair in rates.split_whitespace() {
                let (sign, verify) = pair.split_once('/').ok_or_else(|| format!("bad openssl sample {pair:?}"))?;
                openssl.push((sign.parse()?, verify.parse()?));
            }
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(implementation), Some(workload)) = (words.next(), words.next()) else {
            return Err(format!("bad raw sample line {line:?}").into());
        };
        let values = words.map(str::parse).collect::<std::result::Result<Vec<f64>, _>>()?;
        samples.entry(implementation.into()).or_default().insert(workload.into(), values);
    }
    std::fs::write(&path, report(&samples, &openssl, records)?)?;
    eprintln!("rewrote {} from its raw samples", path.display());
    Ok(())
}

/// The smoke version, inside `cargo xtask test`: every implementation runs on tiny
/// inputs (`--quick`), and receipts made by each side verify on the other (`--check`).
pub(crate) fn smoke() -> Result<()> {
    section("bench smoke: every implementation on tiny inputs, outputs checked against each other");
    let python = crate::python::install_dev()?;
    let setup = prepare(false, 200, python)?;
    let mut samples = Samples::new();
    for (implementation, _) in IMPLEMENTATIONS {
        match *implementation {
            "rust-core" | "rust-core-p256" => {
                collect(
                    &mut samples,
                    implementation,
                    &capture(&mut command(&setup, implementation, Some("--quick")))?,
                )?;
            }
            "cli-1-core" | "cli-all-cores" => {
                cli_verify(&setup, "log", *implementation == "cli-1-core", &[])?;
            }
            _ => {
                let checked = capture(&mut command(&setup, implementation, Some("--check")))?;
                if !checked.contains("\"check\": \"ok\"") && !checked.contains("\"check\":\"ok\"") {
                    return Err(format!("{implementation}: the outputs did not agree: {checked}").into());
                }
                collect(
                    &mut samples,
                    implementation,
                    &capture(&mut command(&setup, implementation, Some("--quick")))?,
                )?;
            }
        }
    }
    for (implementation, workloads) in &samples {
        eprintln!("  {implementation}: {} workloads ran", workloads.len());
    }
    if samples.len() != IMPLEMENTATIONS.len() - 2 {
        return Err(format!("only {} implementations reported", samples.len()).into());
    }
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn duration(ns: f64) -> String {
    match ns {
        ns if ns >= 1e9 => format!("{:.2} s", ns / 1e9),
        ns if ns >= 1e6 => format!("{:.1} ms", ns / 1e6),
        ns if ns >= 1e4 => format!("{:.0} µs", ns / 1e3),
        ns => format!("{:.2} µs", ns / 1e3),
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let version = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    format!(
        "{cpu}, {cores} cores; {}; {}; Node.js {}; {}; evidentia verifies with {}",
        version("rustc", "--version"),
        version("python3", "--version"),
        version("node", "--version"),
        version("openssl", "version"),
        evidentia::VERIFICATION_PROVIDER
    )
}

/// What the numbers mean where a target is missed: the parts of each cost, as
/// measured by the rows of the table above (they hold from run to run; the exact
/// ratios do not).
const WHY: &str = "
## Where targets are missed, and why

Profiles with `perf record` (the loops of the table's workloads, run on their own;
shares of samples) were taken on the AMD EPYC of an earlier run of this file, and
those of canonicalization on the Intel Xeon of a later one; the floors above are
from this run's figures.

- **Building a receipt with deterministic signing (the default).** The signature
  is the cost: a profile of the Rust core's row puts about 80% of the time in the
  pure-Rust `p256` signature (field arithmetic 47%, wide multiplication 12%, the
  constant-time inversion 13%); canonicalizing and hashing the event, building the
  record and malloc are about 12%. Python's peer canonicalizes in pure Python, and
  the target is met or at its edge depending on the processor (p256 runs faster
  on some than on others). Against `node:crypto`, which signs in native code, the
  floors table shows the deterministic signature alone takes longer than the
  target allows for the whole receipt, so no binding work can meet it. The
  candidates, measured or checked:
  - a faster constant-time field implementation: `p256` 0.14.0, the newest
    RustCrypto release, is already in use, with its precomputed base-point tables
    (they made signing 3× faster);
  - AWS-LC: about 2× faster (the randomized row), but its API takes no caller nonce,
    so RFC 6979 cannot be reproduced with it; OpenSSL gained deterministic ECDSA
    in 3.2, this machine has 3.0, and it would be a C dependency that the WASM
    and mobile builds do not have;
  - precomputation per key: RFC 6979's HMAC-DRBG is some 30 SHA-256 blocks, a
    few µs of the signature, and its HMAC key changes as it runs, so
    there is nothing per key to precompute; the base point's tables are
    precomputed already, and signing uses no other point;
  - batch mode: one signature per batch, deterministic, over 200,000 records per
    second stored durably (`cargo xtask bench log`); it is an opt-in for each log
    (`log init --mode batch`), not made the default, because its receipts differ
    (an inclusion proof under a signed checkpoint instead of a signature per
    record), which is the user's choice to make.

  Evidentia signs deterministically by default so that the same record gives the
  same receipt in every language (ARCHITECTURE.md, \"Two providers\"). The peers
  sign with random nonces through OpenSSL; the row with Evidentia's opt-in
  randomized signing (AWS-LC) is the like-for-like comparison, and meets both
  targets by a wide margin.
- **Rust core verification** against OpenSSL's raw rate: a receipt's verification
  is one AWS-LC verification (the same arithmetic as OpenSSL's) plus canonicalizing
  and hashing the event and parsing the receipt; the floors table shows the first
  two alone leave the target's margin almost used up, so it is met or missed by
  the noise of the run.
- **Node verification** uses a `KeySet` parsed once, as the peer imports its key
  once. It meets its target at the edge: the floors table shows one ECDSA
  verification at OpenSSL's rate plus canonicalizing the event takes most of
  what the target allows for everything (parsing the receipt, its record, the
  digest, the call), and both sides verify with the same kind of native ECDSA
  code, so the noise of a run can still put it on either side.
- **Canonicalization** (met in Node and Python). `canonicalize` leaves the
  parsing to V8's native `JSON.parse` and only re-serializes; Evidentia parses
  the text itself, strictly: it refuses duplicate names, lone surrogates and
  integers that would silently change, which `JSON.parse` accepts without a word.
  Canonicalizing text parses it into a tree whose strings point into the input
  (a string is copied only when it had escapes), writes those strings as they
  stand, keeps the member order the parser sorted, and prints integers without
  the general double formatter: the Rust core's 1 KB document went from 5.3 µs to
  2.9 µs in criterion on this machine. A profile of the Node call after that: the
  core's parsing and writing about 45%, V8's conversion of the string argument to
  UTF-8 11%, the allocator 15-20% (the tree's containers, the output, the
  Buffer's backing store), the call and the Buffer the rest. Reading the argument
  into a buffer kept between calls, and gathering each container's elements on
  shared stacks, made no measurable difference and were left out.
- **Synchronous WASM against the native CLI.** The native CLI verifies with
  AWS-LC (assembly); WebAssembly can only run the pure-Rust `p256`, which natively
  is several times slower than AWS-LC (compare the two Rust core columns), and WebAssembly
  has no 64×64→128-bit multiply, which its field arithmetic lives on. How far the
  build is from the native `p256` depends on the processor, because native `p256`
  gains more from a fast 128-bit multiply than WebAssembly does: 2.4× on the AMD
  EPYC of an earlier run of this file, about 3.6× on this machine. That is what
  the async functions are for: WebCrypto checks their signatures in native code
  (ARCHITECTURE.md, \"Signature checks made by the host\"), and the module keeps
  parsing, canonicalization and the chain. In Chromium, WebCrypto verifies about
  one signature per 70 µs whether they are asked for one after another or all at
  once, so a log's time is about WebCrypto's plus what the module's thread does
  that cannot overlap with it. A single `verifyReceiptAsync` also waits for the
  key's import and the thread's answer.
";

/// The least time the missed targets allow, against the least time the work they
/// measure can take, each from this run: where the second is larger, no binding
/// overhead could meet the target.
fn floors(get: &dyn Fn(&str, &str) -> Option<f64>, openssl_sign: f64, openssl_verify: f64) -> String {
    let mut out = String::from(
        "\n## Floors\n\nWhat a target allows, against the least the work can take, from the figures of this \
         run.\n\n| Target | Allows at most | The work takes at least | From |\n|---|---|---|---|\n",
    );
    let mut row = |name: &str, allowed: Option<f64>, floor: Option<f64>, from: &str| {
        if let (Some(allowed), Some(floor)) = (allowed, floor) {
            let _ = writeln!(out, "| {name} | {} | {} | {from} |", duration(allowed), duration(floor));
        }
    };
    row(
        "Rust core receipt verification ≥ 0.9× OpenSSL's raw verify rate",
        Some(1e9 / openssl_verify / 0.9),
        get("rust-core", "canonicalize_1k").map(|c| c + 1e9 / openssl_verify),
        "`openssl speed`'s verification, plus the Rust core canonicalizing the 1 KB event",
    );
    // A deterministic signature: the core's receipt with p256, less the receipt with
    // AWS-LC's randomized signature, plus that signature at OpenSSL's rate.
    let p256_signature = (|| {
        Some(get("rust-core", "build_receipt")? - get("rust-core", "build_receipt_randomized")? + 1e9 / openssl_sign)
    })();
    let from_signature = "one deterministic p256 signature: the Rust core's receipt, less its receipt signed by \
                          AWS-LC, plus `openssl speed`'s signature";
    row(
        "Python builds a receipt ≥ 2× faster than rfc8785 + cryptography (deterministic)",
        get("rfc8785+cryptography", "build_receipt").map(|peer| peer / 2.0),
        p256_signature,
        from_signature,
    );
    row(
        "Node builds a receipt ≥ 1.5× faster than canonicalize + node:crypto (deterministic)",
        get("canonicalize+node:crypto", "build_receipt").map(|peer| peer / 1.5),
        p256_signature,
        from_signature,
    );
    row(
        "Node verifies a receipt ≥ 1.5× faster than canonicalize + node:crypto",
        get("canonicalize+node:crypto", "verify_receipt").map(|peer| peer / 1.5),
        get("rust-core", "canonicalize_1k").map(|c| c + 1e9 / openssl_verify),
        "`openssl speed`'s verification, plus the Rust core canonicalizing the 1 KB event",
    );
    row(
        "Node canonicalization (1 KB) ≥ 3× faster than canonicalize",
        ["canonicalize+node:crypto", "canonicalize+jose"]
            .iter()
            .filter_map(|i| get(i, "canonicalize_1k"))
            .min_by(f64::total_cmp)
            .map(|peer| peer / 3.0),
        get("rust-core", "canonicalize_1k"),
        "the Rust core alone, without the call from JavaScript",
    );
    out
}

/// The table of [`FEATURES`], when the run measured them.
fn features_table(get: &dyn Fn(&str, &str) -> Option<f64>) -> String {
    let mut out = String::from(
        "\n## Store, hardware keys and PostgreSQL\n\nMeasured once per run, before the rounds, by each crate's own \
         program (store/benches/lookup.rs, pkcs11/examples/throughput.rs, store/benches/postgres.rs), which takes \
         the median of its repeats (publishing is one timed run) and measures what it is compared with beside \
         it. PostgreSQL runs in a throwaway local cluster with fsync on; SoftHSM2 keeps its token in files. An \
         append's time is per event, durable when it returns; with several writers, per event of them all \
         together. The lookups run first, after the run has built its programs and written its 1,000,000-receipt \
         log; they read the lookup log's files through the page cache as the machine holds it then, so a \
         lookup can read from disk. A record's receipt and proof are read right after it was found.\n\n\
         | Operation | Median | Compared with, in the same program | Target |\n|---|---|---|---|\n",
    );
    let mut rows = 0;
    for f in FEATURES {
        let Some(ns) = get(f.source, f.workload) else { continue };
        rows += 1;
        let against = f.against.and_then(|(workload, what)| Some((what, get(f.source, workload)?))).map_or_else(
            || "—".to_owned(),
            |(what, base)| format!("{what}, {}: {:.2}× its time", duration(base), ns / base),
        );
        let target = f.target.map_or_else(
            || "—".to_owned(),
            |limit| format!("≤ {}: {}", duration(limit), if ns <= limit { "met" } else { "**missed**" }),
        );
        let _ = writeln!(out, "| {} | {} | {against} | {target} |", f.what, duration(ns));
    }
    if rows == 0 { String::new() } else { out }
}

/// docs/PERFORMANCE.md: medians per workload and implementation, the targets with
/// their ratios, and the raw samples.
fn report(samples: &Samples, openssl: &[(f64, f64)], records: usize) -> Result<String> {
    let get = |implementation: &str, workload: &str| {
        samples.get(implementation).and_then(|w| w.get(workload)).map(|v| median(v))
    };
    let mut out = String::from("# Performance\n\n");
    let _ = writeln!(
        out,
        "Written by `cargo xtask bench compare` (the whole of `cargo xtask bench` runs it too). Every implementation \
         does the same work on the same inputs; each runs once per round, {} rounds, in rotating order, so drift \
         of this shared machine spreads over all of them. Each number is the median over rounds of the median \
         time per operation within a run (7 repeats after a warm-up; one timed call for the log and the tree). \
         Figures vary ±20% from run to run here; compare ratios within this file, not with other files. \
         `cargo xtask bench compare --rewrite` renders this file again from the raw samples at its end.\n",
        openssl.len()
    );
    let _ = writeln!(out, "Machine: {}\n", machine());
    let _ = writeln!(
        out,
        "The log has {records} receipts of 1 KB events. Peers: Python {}; Node `canonicalize` 5.1.0, `jose` 6.2.17.\n",
        python_peer_versions()
    );
    out.push_str("## Median time per operation\n\n| Workload |");
    let present: Vec<&(&str, &str)> = IMPLEMENTATIONS.iter().filter(|(name, _)| samples.contains_key(*name)).collect();
    for (_, heading) in &present {
        let _ = write!(out, " {heading} |");
    }
    let _ = writeln!(out, "\n|---|{}", "---|".repeat(present.len()));
    for (workload, what) in WORKLOADS {
        let _ = write!(out, "| {what} |");
        for (implementation, _) in &present {
            let cell = get(implementation, workload).map_or_else(|| "—".to_owned(), duration);
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    let (sign, verify) = (
        median(&openssl.iter().map(|o| o.0).collect::<Vec<_>>()),
        median(&openssl.iter().map(|o| o.1).collect::<Vec<_>>()),
    );
    let _ = writeln!(
        out,
        "\n`openssl speed ecdsap256` on one core: {sign:.0} signatures/s, {verify:.0} verifications/s.\n"
    );
    let mib = |implementation: &str| get(implementation, "verify_log_1m_peak_rss_kib").map(|kib| kib / 1024.0);
    if let (Some(one), Some(all)) = (mib("cli-1-core"), mib("cli-all-cores")) {
        let _ = writeln!(
            out,
            "Peak memory of `evidentia log verify` over the 1,000,000-receipt log (GNU time, whole process): \
             {one:.0} MiB on one core, {all:.0} MiB on all cores.\n"
        );
    }
    if let (Some(wasm), Some(webcrypto), Some(jose)) = (
        get("chromium-wasm", "verify_receipt"),
        get("chromium-wasm-webcrypto", "verify_receipt"),
        get("chromium-jose", "verify_receipt"),
    ) {
        let _ = writeln!(
            out,
            "In headless Chromium, `jose` on WebCrypto verifies a receipt {:.2}× as fast as the WASM build's \
             synchronous `verifyReceipt`, and {:.2}× as fast as its `verifyReceiptAsync`, whose signature \
             WebCrypto checks (see below).\n",
            wasm / jose,
            webcrypto / jose
        );
    }

    // The targets of issue 8, each as a ratio within this run.
    out.push_str("## Targets\n\n| Target | Measured | Met |\n|---|---|---|\n");
    // `unit` follows the measured figure: × for a ratio, % for a share.
    let mut target = |name: &str, ratio: Option<f64>, goal: f64, more_is_better: bool, unit: &str| {
        let (cell, met) = match ratio {
            Some(r) => (format!("{r:.2}{unit}"), if more_is_better { r >= goal } else { r <= goal }),
            None => ("not measured".to_owned(), false),
        };
        let _ = writeln!(out, "| {name} | {cell} | {} |", if met { "yes" } else { "**no**" });
    };
    let speedup_of = |base: &str, base_workload: &str, ours: &str, workload: &str| {
        Some(get(base, base_workload)? / get(ours, workload)?)
    };
    let speedup = |base: &str, ours: &str, workload: &str| speedup_of(base, workload, ours, workload);
    let core_verify_rate = get("rust-core", "verify_receipt").map(|ns| 1e9 / ns);
    target(
        "Rust core receipt verification ≥ 0.9× OpenSSL's raw verify rate",
        core_verify_rate.map(|r| r / verify),
        0.9,
        true,
        "×",
    );
    target(
        "Verifying 1,000,000 receipts on all cores ≥ 1.7× one core (CLI)",
        speedup("cli-1-core", "cli-all-cores", "verify_log_1m"),
        1.7,
        true,
        "×",
    );
    for (implementation, cores) in [("cli-1-core", "one core"), ("cli-all-cores", "all cores")] {
        target(
            &format!(
                "Verifying the newest 1,000 of 1,000,000 receipts from a trusted checkpoint takes ≤ 1% of verifying \
                 them all (CLI, {cores})"
            ),
            speedup_of(implementation, "verify_log_1m_incremental", implementation, "verify_log_1m").map(|r| 100.0 * r),
            1.0,
            false,
            "%",
        );
    }
    target(
        "Verifying 100,000 receipts on all cores ≥ 1.7× one core (CLI)",
        speedup("cli-1-core", "cli-all-cores", "verify_log"),
        1.7,
        true,
        "×",
    );
    target(
        "Python builds a receipt ≥ 2× faster than rfc8785 + cryptography (deterministic signing, the default)",
        speedup("rfc8785+cryptography", "evidentia-python", "build_receipt"),
        2.0,
        true,
        "×",
    );
    target(
        "Python builds a receipt ≥ 2× faster than rfc8785 + cryptography (randomized signing, as the peer signs)",
        speedup_of("rfc8785+cryptography", "build_receipt", "evidentia-python", "build_receipt_randomized"),
        2.0,
        true,
        "×",
    );
    target(
        "Python verifies a receipt ≥ 1.5× faster than rfc8785 + cryptography",
        speedup("rfc8785+cryptography", "evidentia-python", "verify_receipt"),
        1.5,
        true,
        "×",
    );
    target(
        "Node builds a receipt ≥ 1.5× faster than canonicalize + node:crypto (deterministic signing, the default)",
        speedup("canonicalize+node:crypto", "evidentia-node", "build_receipt"),
        1.5,
        true,
        "×",
    );
    target(
        "Node builds a receipt ≥ 1.5× faster than canonicalize + node:crypto (randomized signing, as the peer signs)",
        speedup_of("canonicalize+node:crypto", "build_receipt", "evidentia-node", "build_receipt_randomized"),
        1.5,
        true,
        "×",
    );
    target(
        "Node verifies a receipt ≥ 1.5× faster than canonicalize + node:crypto",
        speedup("canonicalize+node:crypto", "evidentia-node", "verify_receipt"),
        1.5,
        true,
        "×",
    );
    // Each peer canonicalizer runs in two processes (one per JWS library); the
    // target is judged against the faster of the two.
    let fastest = |implementations: [&str; 2], workload: &str| {
        implementations.iter().filter_map(|i| get(i, workload)).min_by(f64::total_cmp)
    };
    target(
        "Python canonicalization (1 KB) ≥ 10× faster than rfc8785 (the faster of its two runs)",
        (|| {
            let peer = fastest(["rfc8785+cryptography", "rfc8785+joserfc"], "canonicalize_1k")?;
            Some(peer / get("evidentia-python", "canonicalize_1k")?)
        })(),
        10.0,
        true,
        "×",
    );
    target(
        "Node canonicalization (1 KB) ≥ 3× faster than canonicalize (the faster of its two runs)",
        (|| {
            let peer = fastest(["canonicalize+node:crypto", "canonicalize+jose"], "canonicalize_1k")?;
            Some(peer / get("evidentia-node", "canonicalize_1k")?)
        })(),
        3.0,
        true,
        "×",
    );
    for (implementation, runtime) in [("evidentia-wasm", "Node"), ("chromium-wasm", "headless Chromium")] {
        target(
            &format!(
                "WASM receipt verification in {runtime} within 3× of the native core with the same pure-Rust \
                 provider (p256)"
            ),
            speedup(implementation, "rust-core-p256", "verify_receipt"),
            3.0,
            false,
            "×",
        );
    }
    // Against the native CLI, the browser is held to its async functions, whose
    // signatures WebCrypto checks (the synchronous build's limit is the one above).
    // In the browser, with WebCrypto checking the signatures (the async functions):
    // per receipt of the whole log, against the native CLI on one core.
    let webcrypto_log = get("chromium-wasm-webcrypto", "verify_log");
    target(
        "WASM log verification in headless Chromium with WebCrypto (verifyLogEntriesAsync) within 2× of the \
         native CLI's per-receipt time on one core",
        (|| Some(webcrypto_log? / get("cli-1-core", "verify_log")?))(),
        2.0,
        false,
        "×",
    );
    target(
        "WASM with WebCrypto (verifyLogEntriesAsync) verifies a log of 100,000 receipts in headless Chromium in \
         under 15 s",
        // Scaled to 100,000 where the log measured has another size.
        webcrypto_log.map(|ns| ns / 1e9 * 100_000.0 / records as f64),
        15.0,
        false,
        " s",
    );

    out.push_str(&features_table(&get));
    out.push_str(&floors(&get, sign, verify));
    out.push_str(WHY);
    out.push_str(
        "\n## Raw samples (one per round, or one per run for store, pkcs11 and postgres: nanoseconds per \
         operation, or KiB where the name says so)\n\n```\n",
    );
    for (implementation, workloads) in samples {
        for (workload, values) in workloads {
            let values: Vec<String> = values.iter().map(|v| format!("{v:.0}")).collect();
            let _ = writeln!(out, "{implementation:<26} {workload:<26} {}", values.join(" "));
        }
    }
    let _ = writeln!(
        out,
        "openssl speed (sign/s verify/s) {}",
        openssl.iter().map(|(s, v)| format!("{s:.0}/{v:.0}")).collect::<Vec<_>>().join(" ")
    );
    out.push_str("```\n");
    Ok(out)
}
