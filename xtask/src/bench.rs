//! `cargo xtask bench`: the side-by-side comparison with the peers (compare.rs,
//! written to docs/PERFORMANCE.md, which also runs the lookups in a 1,000,000-record
//! log, a key in SoftHSM2 against a software key, and a log in PostgreSQL appended
//! by writer processes against the local store), the criterion benchmarks of the
//! core and the store, the per-call cost of each binding against the core for a
//! 1 KB event, receipts and proofs served from an open 1,000,000-record log in every
//! binding, and receipts verified per second by the WASM build (Chromium, Node.js)
//! against the native CLI. Each part also runs alone: `cargo xtask bench lookup`,
//! `hsm`, `postgres` and the others.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

use evidentia::json::{self, Value};

use crate::util::{Result, cargo, root, run, section};

/// The operations measured in every language (benches/bindings/), in table order.
const OPERATIONS: &[(&str, &str)] = &[
    ("canonicalize", "canonicalize the 1 KB event (JSON text)"),
    ("canonicalize_value", "canonicalize the 1 KB event (a native value)"),
    ("sign", "sign a JWS over its canonical bytes"),
    ("verify", "verify that JWS (key set given as JWKS text)"),
];

/// The columns of the per-call table: (language, heading).
const LANGUAGES: &[(&str, &str)] =
    &[("core", "Rust core"), ("c", "C"), ("python", "Python"), ("node", "Node"), ("wasm", "WASM in Node")];

pub(crate) fn run_bench(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        None => {
            // The comparison runs the lookup, hardware-key and PostgreSQL benchmarks too.
            crate::compare::bench()?;
            criterion()?;
            bindings()?;
            log_reads()?;
            wasm()
        }
        Some("compare") if args.get(1).is_some_and(|a| a == "--rewrite") => crate::compare::rewrite(),
        Some("compare") => crate::compare::bench(),
        Some("core") => criterion(),
        Some("bindings") => bindings(),
        Some("log") => log_reads(),
        Some("lookup") => lookup(),
        Some("hsm") => hsm(),
        Some("postgres") => postgres(),
        Some("wasm") => wasm(),
        Some(other) => Err(format!(
            "unknown benchmark {other:?}; choose compare, core, bindings, log, lookup, hsm, postgres or wasm (default: all)"
        )
        .into()),
    }
}

/// Records found by an indexed field and by nonce in a 1,000,000-record log, from an
/// open reader (store/benches/lookup.rs, which makes the log once, in build/bench,
/// and prints the medians; the target is 1 ms at most).
fn lookup() -> Result<()> {
    section("bench: find by field and by nonce in a 1,000,000-record log");
    cargo(&["bench", "-p", "evidentia-store", "--bench", "lookup"])
}

/// Receipts per second with a key in SoftHSM2 against a software key, side by side
/// in one run, in receipts mode (a token signature per record) and batch mode (one
/// per group), and raw signatures per second (pkcs11/examples/throughput.rs).
fn hsm() -> Result<()> {
    section("bench: a key in SoftHSM2 against a software key");
    crate::ensure_softhsm()?;
    cargo(&["run", "--release", "-p", "evidentia-pkcs11", "--example", "throughput"])
}

/// A log in PostgreSQL (fsync on) appended by 1, 4 and 16 writer processes against
/// the local store, the inclusion proof from a 1,000,000-record PostgreSQL log, and
/// publishing 1,000,000 records as tiles (store/benches/postgres.rs).
fn postgres() -> Result<()> {
    section("bench: a log in PostgreSQL against the local store");
    let cluster = crate::postgres::Cluster::start("bench", true)?;
    run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["bench", "-p", "evidentia-store", "--features", "postgres", "--bench", "postgres"])
        .env("EVIDENTIA_BENCH_POSTGRES", cluster.url()))
}

fn criterion() -> Result<()> {
    section("bench: core and store (criterion)");
    cargo(&["bench", "-p", "evidentia", "-p", "evidentia-store"])
}

/// Median nanoseconds per call: language → operation → ns.
type Medians = BTreeMap<String, BTreeMap<String, f64>>;

fn bindings() -> Result<()> {
    let root = root();
    let fixtures = root.join("benches/bindings");
    let mut medians = Medians::new();

    section("bench: per call, core (criterion)");
    cargo(&["bench", "-p", "evidentia", "--bench", "core", "--", "per_call/"])?;
    for (op, _) in OPERATIONS {
        let path = root.join("target/criterion/per_call").join(op).join("new/estimates.json");
        let estimates = json::parse(&std::fs::read(&path)?)?;
        let median = estimates
            .get("median")
            .and_then(|m| m.get("point_estimate"))
            .and_then(Value::as_number)
            .map(json::Number::as_f64);
        medians.entry("core".into()).or_default().insert((*op).into(), median.ok_or("no median in estimates.json")?);
    }

    section("bench: per call, C, Python, Node and WASM (release builds)");
    let stage = root.join("build/bench/c");
    crate::c::stage(true, &stage)?;
    let c_bench = root.join("build/bench/bench-c");
    crate::c::gcc(
        &fixtures.join("bench.c"),
        &c_bench,
        &[
            "-O2".into(),
            format!("-I{}", stage.join("include").display()),
            format!("-L{}", stage.join("lib").display()),
            format!("-Wl,-rpath,{}", stage.join("lib").display()),
            "-levidentia".into(),
        ],
    )?;
    let python = crate::python::install_release()?;
    crate::node::build()?;
    let wasm = crate::wasm::build()?.join("node/evidentia.js");
    let runs = [
        Command::new(&c_bench).arg(&fixtures).output()?,
        Command::new(&python).arg(fixtures.join("bench.py")).arg(&fixtures).output()?,
        Command::new("node")
            .arg(fixtures.join("bench.js"))
            .arg(&fixtures)
            .env("EVIDENTIA_NODE_PACKAGE", crate::node::package_dir())
            .output()?,
        Command::new("node")
            .arg(fixtures.join("bench.js"))
            .arg(&fixtures)
            .env("EVIDENTIA_NODE_PACKAGE", &wasm)
            .env("EVIDENTIA_BENCH_LANGUAGE", "wasm")
            .output()?,
    ];
    for output in runs {
        if !output.status.success() {
            return Err(format!("a benchmark failed: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        for line in String::from_utf8(output.stdout)?.lines() {
            let row = json::parse(line.as_bytes())?;
            let field = |name: &str| row.get(name).and_then(Value::as_str).map(str::to_owned);
            let (Some(language), Some(op)) = (field("language"), field("op")) else {
                return Err(format!("unexpected benchmark output: {line}").into());
            };
            let ns = row.get("median_ns").and_then(Value::as_number).map(json::Number::as_f64).ok_or("no median_ns")?;
            medians.entry(language).or_default().insert(op, ns);
        }
    }

    let table = table(&medians);
    println!("\n{table}");
    let out = root.join("build/bench/bindings.md");
    std::fs::write(&out, &table)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

fn micros(ns: f64) -> String {
    if ns < 10_000.0 { format!("{:.2} µs", ns / 1000.0) } else { format!("{:.0} µs", ns / 1000.0) }
}

/// A Markdown table: median per call, and each binding's overhead over the core.
fn table(medians: &Medians) -> String {
    let mut out = String::from("Median time per call (each binding: its overhead over the core in parentheses)\n\n");
    out.push_str("| Operation |");
    for (_, heading) in LANGUAGES {
        let _ = write!(out, " {heading} |");
    }
    out.push_str(&format!("\n|---|{}\n", "---|".repeat(LANGUAGES.len())));
    for (op, what) in OPERATIONS {
        let core = medians.get("core").and_then(|m| m.get(*op)).copied();
        let _ = write!(out, "| {what} |");
        for (language, _) in LANGUAGES {
            let cell = match (medians.get(*language).and_then(|m| m.get(*op)), core) {
                (None, _) => "—".to_owned(),
                (Some(ns), Some(core)) if *language != "core" => {
                    format!("{} ({:+.2} µs, {:.2}×)", micros(*ns), (ns - core) / 1000.0, ns / core)
                }
                (Some(ns), _) => micros(*ns),
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out
}

/// The size of the logs `cargo xtask bench log` reads from.
const LOG_RECORDS: usize = 1_000_000;

/// Reads of `log_reads`, in table order.
const LOG_READS: &[(&str, &str)] = &[
    ("log_batch/log_receipt", "a batch receipt (record, inclusion proof, checkpoint), batch-signed log"),
    ("log_batch/log_inclusion_proof", "an inclusion proof, batch-signed log"),
    ("log_receipts/log_receipt", "a receipt, log that signs every record"),
    ("log_receipts/log_inclusion_proof", "an inclusion proof, log that signs every record"),
];

/// A log of `LOG_RECORDS` 1 KB-ish events in `mode`, made once with the release CLI
/// and kept in build/bench (a `complete` file marks a finished one).
fn bench_log(cli: &std::path::Path, mode: &str) -> Result<std::path::PathBuf> {
    let dir = root().join(format!("build/bench/log-1m-{mode}"));
    if dir.join("complete").exists() {
        return Ok(dir.join("log"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let key = dir.join("key.jwk");
    run_captured(Command::new(cli).arg("keygen").arg("--out").arg(&key))?;
    let log = dir.join("log");
    run_captured(
        Command::new(cli)
            .args(["log", "init", "--mode", mode, "--id", "bench.evidentia.dev/reads", "--key"])
            .arg(&key)
            .arg(&log),
    )?;
    let events = dir.join("events.jsonl");
    let lines: String = (0..LOG_RECORDS)
        .map(|i| {
            format!(
                "{{\"type\":\"payment.approved\",\"payment_id\":\"PAY-{i:08}\",\"amount\":\"{}.{:02}\"}}\n",
                i % 99_991,
                i % 100
            )
        })
        .collect();
    std::fs::write(&events, lines)?;
    eprintln!("making a {LOG_RECORDS}-record log in {mode} mode");
    let appended = Command::new(cli)
        .args(["log", "append", "--batch"])
        .arg(&log)
        .arg(&events)
        .stdout(std::process::Stdio::null())
        .status()?;
    if !appended.success() {
        return Err("appending the benchmark's events failed".into());
    }
    run_captured(Command::new(cli).args(["log", "checkpoint"]).arg(&log))?;
    std::fs::remove_file(&events)?;
    std::fs::write(dir.join("complete"), "")?;
    Ok(log)
}

fn run_captured(command: &mut Command) -> Result<String> {
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// Receipts and inclusion proofs served from an open log of 1,000,000 records, in
/// the core and every binding, for records spread over the log (median per call).
fn log_reads() -> Result<()> {
    let root = root();
    section("bench: receipts and proofs from an open 1,000,000-record log, every binding");
    cargo(&["build", "--release", "-p", "evidentia-cli"])?;
    let cli = root.join("target/release/evidentia");
    let fixtures = root.join("benches/bindings");
    let stage = root.join("build/bench/c");
    crate::c::stage(true, &stage)?;
    let c_bench = root.join("build/bench/bench-c");
    crate::c::gcc(
        &fixtures.join("bench.c"),
        &c_bench,
        &[
            "-O2".into(),
            format!("-I{}", stage.join("include").display()),
            format!("-L{}", stage.join("lib").display()),
            format!("-Wl,-rpath,{}", stage.join("lib").display()),
            "-levidentia".into(),
        ],
    )?;
    let python = crate::python::install_release()?;
    crate::node::build()?;
    cargo(&["build", "--release", "-p", "evidentia-uniffi"])?;
    let kotlin = crate::kotlin::generate()?;
    let mut medians = Medians::new();
    for mode in ["batch", "receipts"] {
        let log = bench_log(&cli, mode)?;
        let group = format!("log_{mode}");
        let with_log = |command: &mut Command| {
            command.env("EVIDENTIA_BENCH_LOG", &log).env("EVIDENTIA_BENCH_GROUP", &group);
        };

        let mut core = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        core.args(["bench", "-p", "evidentia-store", "--bench", "store", "--"]).arg(format!("{group}/"));
        with_log(&mut core);
        crate::util::run(&mut core)?;
        for op in ["log_receipt", "log_inclusion_proof"] {
            let path = root.join("target/criterion").join(&group).join(op).join("new/estimates.json");
            let estimates = json::parse(&std::fs::read(&path)?)?;
            let median = estimates
                .get("median")
                .and_then(|m| m.get("point_estimate"))
                .and_then(Value::as_number)
                .map(json::Number::as_f64)
                .ok_or("no median in estimates.json")?;
            medians.entry("core".into()).or_default().insert(format!("{group}/{op}"), median);
        }

        let kotlin_out = root.join(format!("build/bench/kotlin-{mode}.jsonl"));
        let _ = std::fs::remove_file(&kotlin_out);
        let property = |name: &str, value: &dyn std::fmt::Display| format!("-Devidentia.{name}={value}");
        let mut runs = vec![Command::new(&c_bench), Command::new(&python), Command::new("node"), Command::new("mvn")];
        runs[0].arg(&fixtures);
        runs[1].arg(fixtures.join("bench.py")).arg(&fixtures);
        runs[2].arg(fixtures.join("bench.js")).arg(&fixtures).env("EVIDENTIA_NODE_PACKAGE", crate::node::package_dir());
        runs[3]
            .args([
                "-B",
                "--no-transfer-progress",
                "-q",
                "test",
                "-Dtest=LogReadBench",
                "-Dsurefire.failIfNoSpecifiedTests=false",
                "-f",
            ])
            .arg(root.join("bindings/kotlin/pom.xml"))
            .arg(property("generated", &kotlin.join("kotlin").display()))
            .arg(property("lib.dir", &root.join("target/release").display()))
            .arg(property("bench.log", &log.display()))
            .arg(property("bench.group", &group))
            .arg(property("bench.out", &kotlin_out.display()));
        let mut lines = String::new();
        for mut command in runs {
            with_log(&mut command);
            lines.push_str(&run_captured(&mut command)?);
            lines.push('\n');
        }
        lines.push_str(&std::fs::read_to_string(&kotlin_out)?);
        for line in lines.lines().filter(|l| l.starts_with('{')) {
            let row = json::parse(line.as_bytes())?;
            let field = |name: &str| row.get(name).and_then(Value::as_str).map(str::to_owned);
            let (Some(language), Some(op)) = (field("language"), field("op")) else { continue };
            let ns = row.get("median_ns").and_then(Value::as_number).map(json::Number::as_f64).ok_or("no median_ns")?;
            medians.entry(language).or_default().insert(op, ns);
        }
    }

    let languages = [("core", "Rust"), ("c", "C"), ("python", "Python"), ("node", "Node"), ("kotlin", "Kotlin")];
    let mut table = format!(
        "Median time per call from an open log of {LOG_RECORDS} records (records spread over the log)\n\n| Read |"
    );
    for (_, heading) in languages {
        let _ = write!(table, " {heading} |");
    }
    let _ = writeln!(table, "\n|---|{}", "---|".repeat(languages.len()));
    for (op, what) in LOG_READS {
        let _ = write!(table, "| {what} |");
        for (language, _) in languages {
            let cell = medians.get(language).and_then(|m| m.get(*op)).map_or("—".to_owned(), |ns| micros(*ns));
            let _ = write!(table, " {cell} |");
        }
        table.push('\n');
    }
    println!("\n{table}");
    let out = root.join("build/bench/log-reads.md");
    std::fs::write(&out, &table)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// How many receipts the WASM benchmark verifies per pass.
const WASM_RECEIPTS: usize = 2000;

/// Receipts verified per second: the WASM build in headless Chromium and in Node.js
/// against the native CLI (`log verify`, on all cores and pinned to one), over the
/// receipts of one log of 1 KB events.
fn wasm() -> Result<()> {
    let root = root();
    section("bench: receipts verified per second, WASM against the native CLI");
    cargo(&["build", "--release", "-p", "evidentia-cli"])?;
    let cli = root.join("target/release/evidentia");
    let dir = root.join("build/bench/wasm");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let capture = |command: &mut Command| -> Result<String> {
        let output = command.output()?;
        if !output.status.success() {
            return Err(format!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        Ok(String::from_utf8(output.stdout)?)
    };

    // A log of WASM_RECEIPTS distinct 1 KB events, one receipt each.
    let key = dir.join("key.jwk");
    std::fs::write(&key, capture(Command::new(&cli).arg("keygen"))?)?;
    let log = dir.join("log");
    capture(Command::new(&cli).args(["log", "init", "--id", "bench.evidentia.dev/wasm", "--key"]).arg(&key).arg(&log))?;
    let event =
        String::from_utf8(evidentia::canonicalize(&std::fs::read(root.join("benches/bindings/event-1k.json"))?)?)?;
    let body = event.strip_prefix('{').ok_or("the event is not an object")?;
    let lines: String = (0..WASM_RECEIPTS).map(|i| format!("{{\"bench_n\":{i},{body}\n")).collect();
    let events = dir.join("events.jsonl");
    std::fs::write(&events, lines)?;
    let receipts = capture(Command::new(&cli).args(["log", "append", "--batch"]).arg(&log).arg(&events))?;
    let receipts: Vec<Value> = receipts.lines().map(|r| Value::String(r.to_owned())).collect();
    if receipts.len() != WASM_RECEIPTS {
        return Err(format!("expected {WASM_RECEIPTS} receipts, got {}", receipts.len()).into());
    }
    let jwks = std::fs::read_to_string(log.join("keys.jwks"))?;
    let input = dir.join("input.json");
    let doc = Value::Object(vec![("jwks".into(), Value::String(jwks)), ("receipts".into(), Value::Array(receipts))]);
    std::fs::write(&input, json::canonicalize_value(&doc)?)?;

    // The native CLI: the median of five runs of `log verify`, whole process.
    let mut rates = Vec::new();
    for (label, pinned) in [("native CLI, all cores", false), ("native CLI, one core", true)] {
        let mut times = Vec::new();
        for _ in 0..5 {
            let mut command = if pinned {
                let mut c = Command::new("taskset");
                c.args(["-c", "0"]).arg(&cli);
                c
            } else {
                Command::new(&cli)
            };
            command.args(["log", "verify"]).arg(&log);
            let start = std::time::Instant::now();
            capture(&mut command)?;
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        rates.push((label.to_owned(), WASM_RECEIPTS as f64 / times[times.len() / 2]));
    }

    // The WASM build, in headless Chromium and in Node.js.
    let out = crate::wasm::build()?;
    let e2e = crate::wasm::browser_tools()?;
    let lines = capture(
        Command::new("node")
            .arg("bench.mjs")
            .arg(&input)
            .current_dir(&e2e)
            .env("EVIDENTIA_WEB_PKG", out.join("web"))
            .env("EVIDENTIA_NODE_PKG", out.join("node/evidentia.js")),
    )?;
    for line in lines.lines() {
        let row = json::parse(line.as_bytes())?;
        let runtime = row.get("runtime").and_then(Value::as_str).ok_or("no runtime")?;
        let rate = row.get("receipts_per_s").and_then(Value::as_number).map(json::Number::as_f64).ok_or("no rate")?;
        rates.push((format!("WASM in {}", if runtime == "chromium" { "headless Chromium" } else { "Node.js" }), rate));
    }

    let one_core = rates[1].1;
    let mut table = format!(
        "Receipts verified per second ({WASM_RECEIPTS} receipts of 1 KB events, medians of 5 passes; \
         the WASM runs use one thread)\n\n| Verifier | Receipts/s | Against the native CLI on one core |\n|---|---|---|\n"
    );
    for (label, rate) in &rates {
        let _ = writeln!(table, "| {label} | {rate:.0} | {:.2}× |", rate / one_core);
    }
    let wasm_file = out.join("web/evidentia_bg.wasm");
    let raw = std::fs::metadata(&wasm_file)?.len();
    let gzipped = capture(Command::new("sh").arg("-c").arg(format!("gzip -9 -c '{}' | wc -c", wasm_file.display())))?;
    let _ = writeln!(
        table,
        "\nevidentia_bg.wasm: {} KB raw, {} KB gzipped (-9)",
        raw / 1024,
        gzipped.trim().parse::<u64>()? / 1024
    );
    println!("\n{table}");
    let path = root.join("build/bench/wasm.md");
    std::fs::write(&path, &table)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
