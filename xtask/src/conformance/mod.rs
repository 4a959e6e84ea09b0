//! `testvectors/conformance/`: the language-neutral conformance suite. Every case
//! is a folder with its inputs, an `expected.json` and a one-line `README`; any
//! implementation runs them through a thin adapter (`run.py`, the protocol, and
//! `cli-adapter.sh`, the one for the `evidentia` command, are written by hand).
//!
//! The expected outcome of a case is written here from SPEC.md, by construction:
//! each case breaks one rule (or two, to pin their order) and says which code SPEC
//! gives for it. Nothing here asks Evidentia's verifier what the outcome is; the
//! conformance test (cli/tests/conformance.rs) checks that the implementation
//! agrees. The inputs are made with the core and the store, from fixed keys, times
//! and events, then changed byte by byte where a case needs it.

mod evidence;
mod fixtures;
mod logs;
mod packages;
mod proofs;
mod receipts;
mod tiles;

use std::collections::BTreeMap;
use std::path::PathBuf;

use evidentia::ErrorCode;
use evidentia::json::Value;

use self::fixtures::{canonical, quote};
use crate::util::{Result, root, run};

/// What a case's operation does with its inputs (see README.md, "Operations").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Receipt,
    Evidence,
    Checkpoint,
    Inclusion,
    Consistency,
    Log,
    Package,
    Tiles,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Receipt => "receipt",
            Op::Evidence => "evidence",
            Op::Checkpoint => "checkpoint",
            Op::Inclusion => "inclusion",
            Op::Consistency => "consistency",
            Op::Log => "log",
            Op::Package => "package",
            Op::Tiles => "tiles",
        }
    }

    /// Whether the operation's result is a report (SPEC.md §14) rather than a
    /// bare success.
    fn is_report(self) -> bool {
        matches!(self, Op::Receipt | Op::Evidence | Op::Log | Op::Tiles)
    }
}

/// What SPEC says the operation gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Valid: exit 0, no code.
    Valid,
    /// An error with this code: exit 1 for a code of family 6, else 2.
    Error(ErrorCode),
    /// A report whose findings have these failure codes, in order of first
    /// appearance (`Report::failure_codes`): exit 1.
    Findings(Vec<ErrorCode>),
    /// A package some check of which fails: exit 1.
    PackageInvalid,
    /// A package refused before any check (SPEC §19, "Reading a package"):
    /// `INVALID_ARGUMENT`, exit 2.
    PackageRefused,
}

/// An input: a file, or a folder of files (path inside it → bytes).
#[derive(Clone, Debug)]
pub(crate) enum Content {
    File(Vec<u8>),
    Dir(Vec<(String, Vec<u8>)>),
}

/// One input of a case: its role in the operation, its name in the case folder.
#[derive(Clone, Debug)]
pub(crate) struct Input {
    role: &'static str,
    name: String,
    content: Content,
}

pub(crate) fn file(role: &'static str, name: &str, bytes: impl Into<Vec<u8>>) -> Input {
    Input { role, name: name.to_owned(), content: Content::File(bytes.into()) }
}

pub(crate) fn dir(role: &'static str, name: &str, files: Vec<(String, Vec<u8>)>) -> Input {
    Input { role, name: name.to_owned(), content: Content::Dir(files) }
}

#[derive(Clone, Debug)]
struct Case {
    group: &'static str,
    slug: String,
    op: Op,
    inputs: Vec<Input>,
    outcome: Outcome,
    spec: &'static str,
    why: String,
}

/// The cases, in the order they are numbered within their group.
#[derive(Default)]
pub(crate) struct Suite {
    cases: Vec<Case>,
}

impl Suite {
    /// Adds a case. `slug` names it (lowercase words and hyphens), `spec` is the
    /// section of SPEC.md whose rule decides it, `why` one line saying why.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        group: &'static str,
        slug: &str,
        op: Op,
        spec: &'static str,
        why: &str,
        outcome: Outcome,
        inputs: Vec<Input>,
    ) {
        assert!(
            slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "slug {slug:?}: lowercase words and hyphens"
        );
        assert!(!self.cases.iter().any(|c| c.group == group && c.slug == slug), "two cases {group}/{slug}");
        assert!(!why.contains('\n'), "{slug}: the README is one line");
        if op == Op::Package {
            assert!(
                matches!(outcome, Outcome::Valid | Outcome::PackageInvalid | Outcome::PackageRefused),
                "{slug}: a package is valid, invalid or refused"
            );
        } else {
            assert!(!matches!(outcome, Outcome::PackageInvalid | Outcome::PackageRefused), "{slug}");
        }
        if let Outcome::Findings(codes) = &outcome {
            assert!(op.is_report() && !codes.is_empty(), "{slug}: findings are of a report");
            let mut unique = codes.clone();
            unique.dedup();
            assert_eq!(&unique, codes, "{slug}: failure codes are listed once");
        }
        self.cases.push(Case { group, slug: slug.to_owned(), op, inputs, outcome, spec, why: why.to_owned() });
    }
}

/// The groups, in the order README.md and cases.json list them.
pub(crate) const GROUPS: &[(&str, &str)] = &[
    ("receipt", "receipts (SPEC §4-§7, §12)"),
    ("batch-receipt", "batch receipts (§11)"),
    ("evidence", "evidence files (§18)"),
    ("checkpoint", "signed checkpoints (§10)"),
    ("inclusion", "a receipt's inclusion in a checkpoint (§9)"),
    ("consistency", "consistency between two checkpoints (§9)"),
    ("log", "log directories (§13, §16)"),
    ("package", "evidence packages (§19)"),
    ("tiles", "logs published as tlog-tiles (§24)"),
];

/// File path (relative to `testvectors/conformance/`) → contents.
pub(crate) fn generate() -> Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut suite = Suite::default();
    let world = fixtures::World::new();
    receipts::cases(&mut suite, &world);
    receipts::batch_cases(&mut suite, &world);
    evidence::cases(&mut suite, &world);
    proofs::checkpoint_cases(&mut suite, &world);
    proofs::inclusion_cases(&mut suite, &world);
    proofs::consistency_cases(&mut suite, &world);
    logs::cases(&mut suite, &world)?;
    packages::cases(&mut suite, &world)?;
    tiles::cases(&mut suite, &world);

    let mut files = BTreeMap::new();
    let mut index = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (group, _) in GROUPS {
        let mut number = 0;
        for case in suite.cases.iter().filter(|c| c.group == *group) {
            number += 1;
            let id = format!("{group}/{number:03}-{}", case.slug);
            let folder = PathBuf::from("cases").join(&id);
            let expected = expected(case);
            files.insert(folder.join("expected.json"), pretty(&expected).into_bytes());
            files.insert(folder.join("README"), format!("{}\n", case.why).into_bytes());
            for input in &case.inputs {
                match &input.content {
                    Content::File(bytes) => {
                        files.insert(folder.join(&input.name), bytes.clone());
                    }
                    Content::Dir(entries) => {
                        for (path, bytes) in entries {
                            files.insert(folder.join(&input.name).join(path), bytes.clone());
                        }
                    }
                }
            }
            let mut line = vec![("case".to_owned(), Value::from(id.as_str()))];
            if let Value::Object(members) = expected {
                line.extend(members);
            }
            index.push(line_text(&Value::Object(line)));
            *counts.entry(group).or_default() += 1;
        }
    }
    assert_eq!(index.len(), suite.cases.len(), "every case is in a group of GROUPS");
    files.insert(PathBuf::from("cases.json"), format!("[\n{}\n]\n", index.join(",\n")).into_bytes());
    files.insert(PathBuf::from("README.md"), readme(&counts, index.len())?.into_bytes());
    Ok(files)
}

/// The expected outcome of a case as written in `expected.json`.
fn expected(case: &Case) -> Value {
    let (verdict, exit, code, codes) = match &case.outcome {
        Outcome::Valid => ("valid", 0u32, None, Some(vec![])),
        Outcome::Error(code) => {
            let invalid = code.family() == evidentia::ErrorFamily::Verification;
            (if invalid { "invalid" } else { "malformed" }, if invalid { 1 } else { 2 }, Some(*code), None)
        }
        Outcome::Findings(codes) => ("invalid", 1, codes.first().copied(), Some(codes.clone())),
        Outcome::PackageInvalid => ("invalid", 1, None, None),
        Outcome::PackageRefused => ("malformed", 2, Some(ErrorCode::InvalidArgument), None),
    };
    let inputs = case.inputs.iter().map(|i| (i.role.to_owned(), Value::from(i.name.as_str()))).collect();
    let mut members = vec![
        ("operation".to_owned(), Value::from(case.op.name())),
        ("inputs".to_owned(), Value::Object(inputs)),
        ("verdict".to_owned(), Value::from(verdict)),
        ("exit".to_owned(), Value::from(exit)),
        ("code".to_owned(), code.map_or(Value::Null, |c| Value::from(c.name()))),
    ];
    if case.op.is_report()
        && let Some(codes) = codes
    {
        members.push(("codes".to_owned(), Value::Array(codes.iter().map(|c| Value::from(c.name())).collect())));
    }
    members.push(("spec".to_owned(), Value::from(case.spec)));
    Value::Object(members)
}

/// JSON text of a value, members in their given order (not sorted), on one line
/// with a space after each ',' and ':'.
fn line_text(value: &Value) -> String {
    match value {
        Value::Object(members) => {
            let inner: Vec<String> =
                members.iter().map(|(name, value)| format!("{}: {}", quote(name), line_text(value))).collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(line_text).collect::<Vec<_>>().join(", ")),
        other => canonical(other),
    }
}

/// `expected.json`: one member per line, `inputs` one input per line, in the
/// order written (adapters written in shell can find a member with one pattern).
fn pretty(value: &Value) -> String {
    let Value::Object(members) = value else { unreachable!("expected.json is an object") };
    let mut lines = Vec::new();
    for (name, value) in members {
        match value {
            Value::Object(inner) => {
                let inner: Vec<String> =
                    inner.iter().map(|(n, v)| format!("    {}: {}", quote(n), line_text(v))).collect();
                lines.push(format!("  {}: {{\n{}\n  }}", quote(name), inner.join(",\n")));
            }
            other => lines.push(format!("  {}: {}", quote(name), line_text(other))),
        }
    }
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}

/// README.md with its table of counts brought up to date (the text between the
/// markers is generated; the rest is written by hand).
fn readme(counts: &BTreeMap<&str, usize>, total: usize) -> Result<String> {
    const START: &str = "<!-- counts: generated by cargo xtask codegen -->\n";
    const END: &str = "<!-- /counts -->\n";
    let path = root().join("testvectors/conformance/README.md");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (Some(start), Some(end)) = (text.find(START), text.find(END)) else {
        return Err(format!("{}: the markers of the counts table are missing", path.display()).into());
    };
    let mut table = String::from("| Group | What it covers | Cases |\n|---|---|---:|\n");
    for (group, what) in GROUPS {
        table.push_str(&format!("| `{group}` | {what} | {} |\n", counts.get(group).copied().unwrap_or(0)));
    }
    table.push_str(&format!("| | **total** | **{total}** |\n"));
    Ok(format!("{}{START}{table}{}", &text[..start], &text[end..]))
}

/// Runs every case through `adapter` (a command and its arguments, run from the
/// repository root) with `run.py`, which fails unless every case agrees or is
/// skipped as one of the `skips` kinds (run.py's SKIP_KINDS) it declares.
pub(crate) fn run_cases(adapter: &[&str], skips: &[&str]) -> Result<()> {
    run_cases_with(adapter, skips, &[])
}

/// As [`run_cases`], with environment variables for the adapter.
pub(crate) fn run_cases_with(adapter: &[&str], skips: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Result<()> {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get()).to_string();
    let mut command = std::process::Command::new("python3");
    command
        .args(["testvectors/conformance/run.py", "--jobs", &jobs, "--skips", &skips.join(","), "--"])
        .args(adapter)
        .current_dir(root());
    for (name, value) in env {
        command.env(name, value);
    }
    run(&mut command)
}

/// What the language packages skip: a bare record's inclusion (they verify a
/// receipt's), and text that is not UTF-8 (their text types cannot carry it).
pub(crate) const PACKAGE_SKIPS: &[&str] = &["record-inclusion", "not-utf8"];
