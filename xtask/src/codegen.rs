//! Generated files: written by `cargo xtask codegen`, compared by `--check` (CI
//! fails when a committed file differs from a fresh generation).

use std::collections::BTreeMap;
use std::path::PathBuf;

use evidentia::{ErrorCode, ErrorFamily};

use crate::util::{Result, root};
use crate::vectors;

/// Which generated files to handle.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    All,
    Vectors,
}

/// Folders whose every file is generated: a file there that a fresh generation
/// does not make is stale (removed by a generation, reported by `--check`).
const GENERATED_FOLDERS: &[&str] = &["testvectors/conformance/cases"];

/// Path (relative to the root) → contents.
fn generate(scope: Scope) -> Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for (name, contents) in vectors::generate() {
        files.insert(PathBuf::from("testvectors").join(name), contents.into_bytes());
    }
    for (name, contents) in crate::conformance::generate()? {
        files.insert(PathBuf::from("testvectors/conformance").join(name), contents);
    }
    if scope == Scope::All {
        files.insert(PathBuf::from("docs/ERRORS.md"), errors_markdown().into_bytes());
        files.insert(PathBuf::from("ffi/src/result.rs"), ffi_result_enum().into_bytes());
        for readme in ["README.md", "bindings/python/README.md", "bindings/node/README.md"] {
            files.insert(PathBuf::from(readme), with_examples(readme)?.into_bytes());
        }
    }
    Ok(files)
}

/// A README whose examples are the example programs the tests run: the fenced
/// block after each `<!-- example: PATH -->` line is replaced by the file at PATH.
fn with_examples(readme: &str) -> Result<String> {
    const MARKER: &str = "<!-- example: ";
    let root = root();
    let text = std::fs::read_to_string(root.join(readme))?;
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split_inclusive('\n');
    while let Some(line) = lines.next() {
        out.push_str(line);
        let Some(path) = line.trim_end().strip_prefix(MARKER).and_then(|rest| rest.strip_suffix(" -->")) else {
            continue;
        };
        let fence = lines
            .next()
            .filter(|l| l.starts_with("```"))
            .ok_or_else(|| format!("{readme}: a fenced code block must follow the line {:?}", line.trim_end()))?;
        out.push_str(fence);
        for line in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
        }
        let example = std::fs::read_to_string(root.join(path)).map_err(|e| format!("{readme}: {path}: {e}"))?;
        out.push_str(&example);
        if !example.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("```\n");
    }
    Ok(out)
}

/// Generated from sources that must be written first (the header from the FFI
/// crate, which includes the generated result enum).
fn generate_second(scope: Scope) -> Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    if scope == Scope::All {
        files.insert(PathBuf::from("ffi/include/evidentia.h"), c_header()?.into_bytes());
    }
    Ok(files)
}

/// Runs cbindgen over the FFI crate.
fn c_header() -> Result<String> {
    let cbindgen = crate::tools::cbindgen()?;
    let root = root();
    let output = std::process::Command::new(cbindgen)
        .current_dir(root.join("ffi"))
        .args(["--config", "cbindgen.toml", "--quiet"])
        .output()?;
    if !output.status.success() {
        return Err(format!("cbindgen failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

pub(crate) fn run(scope: Scope, check: bool) -> Result<()> {
    let first = generate(scope)?;
    let mut stale = remove_or_list_extra(&first, check)?;
    stale.extend(write_or_check(first, check)?);
    stale.extend(write_or_check(generate_second(scope)?, check)?);
    if !stale.is_empty() {
        return Err(format!(
            "generated files differ from a fresh generation (run `cargo xtask codegen` and commit): {}",
            stale.join(", ")
        )
        .into());
    }
    if check {
        eprintln!("generated files are up to date");
    }
    Ok(())
}

/// The files of [`GENERATED_FOLDERS`] that `files` does not hold: removed (with
/// the folders they leave empty), or (checking) listed.
fn remove_or_list_extra(files: &BTreeMap<PathBuf, Vec<u8>>, check: bool) -> Result<Vec<String>> {
    fn walk(dir: &std::path::Path, found: &mut Vec<PathBuf>) -> Result<()> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                walk(&entry.path(), found)?;
            } else {
                found.push(entry.path());
            }
        }
        Ok(())
    }
    let root = root();
    let mut extra = Vec::new();
    for folder in GENERATED_FOLDERS {
        let mut found = Vec::new();
        walk(&root.join(folder), &mut found)?;
        found.sort();
        for path in found {
            let relative = path.strip_prefix(&root)?.to_owned();
            if files.contains_key(&relative) {
                continue;
            }
            extra.push(format!("{} (not generated)", relative.display()));
            if !check {
                std::fs::remove_file(&path)?;
                eprintln!("removed {}", relative.display());
                let mut dir = path.parent();
                while let Some(d) = dir.filter(|d| d.starts_with(root.join(folder)) && *d != root.join(folder)) {
                    if std::fs::remove_dir(d).is_err() {
                        break;
                    }
                    dir = d.parent();
                }
            }
        }
    }
    Ok(if check { extra } else { Vec::new() })
}

/// Writes the files that differ, or (checking) lists them.
fn write_or_check(files: BTreeMap<PathBuf, Vec<u8>>, check: bool) -> Result<Vec<String>> {
    let root = root();
    let mut stale = Vec::new();
    for (path, contents) in files {
        let full = root.join(&path);
        let current = std::fs::read(&full).ok();
        if current.as_deref() == Some(contents.as_slice()) {
            continue;
        }
        if check {
            stale.push(path.display().to_string());
        } else {
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&full, contents)?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(stale)
}

fn errors_markdown() -> String {
    let mut out = String::from(
        "# Error codes\n\n<!-- Generated by `cargo xtask codegen` from core/src/error.rs. Do not edit. -->\n\n\
         Every Evidentia error carries one of these codes, in every language. The table is\n\
         append-only: a code keeps its number and meaning forever and is never reused. The\n\
         hundreds digit is the family; codes of the `Verification` family mean \"verified,\n\
         and the evidence is invalid\" (the CLI exits with 1); all others mean \"could not\n\
         verify\" or \"could not do it\" (the CLI exits with 2). The plain words are what\n\
         verifiers show people who are not engineers (`ErrorCode::explanation`).\n",
    );
    for family in ErrorFamily::ALL {
        let codes: Vec<ErrorCode> = ErrorCode::ALL.iter().copied().filter(|c| c.family() == *family).collect();
        if codes.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n## {}\n\n| Code | Name | Meaning | In plain words |\n|---:|---|---|---|\n",
            family.name()
        ));
        for code in codes {
            let (number, name) = (code as u16, code.name());
            out.push_str(&format!("| {number} | `{name}` | {} | {} |\n", code.description(), code.explanation()));
        }
    }
    out
}

/// The C ABI's result enum, one variant per code of the core's table.
fn ffi_result_enum() -> String {
    let mut out = String::from(
        "//! The result of every fallible C function: `EVIDENTIA_OK` or a code of the core's\n\
         //! table. Generated by `cargo xtask codegen` from core/src/error.rs. Do not edit.\n\n\
         use evidentia::ErrorCode;\n\n\
         /// The result of a call: `EVIDENTIA_OK` (0), or an error code of docs/ERRORS.md.\n\
         #[repr(C)]\n\
         #[allow(non_camel_case_types)]\n\
         #[derive(Clone, Copy, Debug, PartialEq, Eq)]\n\
         pub enum evidentia_result {\n    /// Success.\n    EVIDENTIA_OK = 0,\n",
    );
    for code in ErrorCode::ALL {
        out.push_str(&format!("    /// {}\n    EVIDENTIA_{} = {},\n", code.description(), code.name(), *code as u16));
    }
    out.push_str("}\n\nimpl From<ErrorCode> for evidentia_result {\n    fn from(code: ErrorCode) -> evidentia_result {\n        match code {\n");
    for code in ErrorCode::ALL {
        out.push_str(&format!("            ErrorCode::{code:?} => evidentia_result::EVIDENTIA_{},\n", code.name()));
    }
    out.push_str("            _ => evidentia_result::EVIDENTIA_INTERNAL,\n        }\n    }\n}\n");
    out
}
