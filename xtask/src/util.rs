//! Running commands and finding the repository.

use std::path::PathBuf;
use std::process::Command;

pub(crate) type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the repository").to_owned()
}

/// Prints a visible section header.
pub(crate) fn section(title: &str) {
    eprintln!("\n==> {title}");
}

/// Runs a command in the repository root and fails if it fails.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    eprintln!("+ {}", describe(command));
    let status =
        command.current_dir_if_unset().status().map_err(|e| format!("cannot run {}: {e}", describe(command)))?;
    if !status.success() {
        return Err(format!("{} failed ({status})", describe(command)).into());
    }
    Ok(())
}

/// Runs cargo with arguments.
pub(crate) fn cargo(args: &[&str]) -> Result<()> {
    run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args(args))
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

trait CurrentDir {
    fn current_dir_if_unset(&mut self) -> &mut Self;
}

impl CurrentDir for Command {
    fn current_dir_if_unset(&mut self) -> &mut Self {
        if self.get_current_dir().is_none() {
            self.current_dir(root());
        }
        self
    }
}

/// The names (in backquotes) of one column of docs/API.md's API tables: 0 concept,
/// 1 Rust, 2 C, 3 Python, 4 JavaScript, 5 Kotlin, 6 Swift.
pub(crate) fn api_doc_names(column: usize) -> Result<Vec<String>> {
    let doc = std::fs::read_to_string(root().join("docs/API.md"))?;
    let start = doc.find("## Canonical JSON and digests").ok_or("docs/API.md: no API tables")?;
    let mut names = Vec::new();
    for line in doc[start..].lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() == 7 && !matches!(cells[0], "Concept" | "---") {
            names.extend(cells[column].split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    Ok(names)
}
