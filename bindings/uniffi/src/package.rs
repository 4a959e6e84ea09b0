//! Evidence packages (SPEC.md §19) checked with every check of their `verify.sh`,
//! as `evidentia package verify` does.

use evidentia::package::{PackageFile, package_report_value, read_package_archive, verify_package as verify};

use crate::error::Result;

/// One check of an evidence package, numbered as its `verify.sh` numbers it.
#[derive(Debug, uniffi::Record)]
pub struct PackageCheck {
    /// 1 to 11, as in `verify.sh` and VERIFICATION.md.
    pub number: u8,
    /// What the check establishes, in plain words.
    pub check: String,
    /// Whether the check applies to this package.
    pub applies: bool,
    /// Whether it passed; null when it does not apply.
    pub passed: Option<bool>,
    /// Why it failed.
    pub failure: Option<String>,
    /// What a passed check found that a reader needs, such as the trusted time.
    pub detail: Option<String>,
}

/// Every check of an evidence package and the verdict.
#[derive(Debug, uniffi::Record)]
pub struct PackageReport {
    /// True when no check failed.
    pub valid: bool,
    pub checks: Vec<PackageCheck>,
    /// The whole report as JSON, as `evidentia package verify --json` prints it,
    /// with `record`: what the record claims (to be trusted only when `valid`).
    pub json: String,
}

fn report(files: &[PackageFile]) -> Result<PackageReport> {
    let checks = verify(files);
    // Canonical JSON is UTF-8.
    let json =
        String::from_utf8_lossy(&evidentia::canonicalize_value(&package_report_value(files, &checks))?).into_owned();
    Ok(PackageReport {
        valid: checks.iter().all(|c| c.failure.is_none()),
        checks: checks
            .into_iter()
            .map(|c| PackageCheck {
                number: c.number,
                check: c.title.to_owned(),
                applies: c.applies,
                passed: c.passed(),
                failure: c.failure,
                detail: c.detail,
            })
            .collect(),
        json,
    })
}

/// Checks the evidence package at `path` (its folder or `.tar.gz`) with every check
/// of its `verify.sh`. A failed check is in the report (`valid` is false), not
/// thrown; what is no package throws a Usage error (INVALID_ARGUMENT) saying why.
#[uniffi::export]
pub fn verify_package(path: String) -> Result<PackageReport> {
    report(&evidentia_store::read_package(path.as_ref())?)
}

/// As `verifyPackage`, for a package's `.tar.gz` given as its bytes.
#[uniffi::export]
pub fn verify_package_archive(archive: Vec<u8>) -> Result<PackageReport> {
    report(&read_package_archive(&archive)?)
}
