//! `cargo xtask bench`: the criterion benchmarks of the core and the store, and the
//! per-call cost of each binding against the core for a 1 KB event.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

use evidentia::json::{self, Value};

use crate::util::{Result, cargo, root, section};

/// The operations measured in every language (benches/bindings/), in table order.
const OPERATIONS: &[(&str, &str)] = &[
    ("canonicalize", "canonicalize the 1 KB event (JSON text)"),
    ("canonicalize_value", "canonicalize the 1 KB event (a native value)"),
    ("sign", "sign a JWS over its canonical bytes"),
    ("verify", "verify that JWS (key set given as JWKS text)"),
];

const LANGUAGES: &[&str] = &["core", "c", "python", "node"];

pub(crate) fn run_bench(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        None => {
            criterion()?;
            bindings()
        }
        Some("core") => criterion(),
        Some("bindings") => bindings(),
        Some(other) => Err(format!("unknown benchmark {other:?}; choose core or bindings (default: both)").into()),
    }
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

    section("bench: per call, C, Python and Node (release builds)");
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
    let runs = [
        Command::new(&c_bench).arg(&fixtures).output()?,
        Command::new(&python).arg(fixtures.join("bench.py")).arg(&fixtures).output()?,
        Command::new("node")
            .arg(fixtures.join("bench.js"))
            .arg(&fixtures)
            .env("EVIDENTIA_NODE_PACKAGE", crate::node::package_dir())
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
    out.push_str("| Operation | Rust core | C | Python | Node |\n|---|---|---|---|---|\n");
    for (op, what) in OPERATIONS {
        let core = medians.get("core").and_then(|m| m.get(*op)).copied();
        let _ = write!(out, "| {what} |");
        for language in LANGUAGES {
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
