//! Verification reports.

use uniffi::{Object, Record};

/// A verification report: one status per check, and every failure with its code
/// and the position of the record it concerns.
#[derive(Debug, Object)]
#[uniffi::export(Debug, Display)]
pub struct Report(pub(crate) evidentia::Report);

/// The outcome of one check.
#[derive(Debug, Record)]
pub struct CheckResult {
    pub check: String,
    /// `passed`, `failed` or `skipped`.
    pub status: String,
    pub failures: u64,
    pub description: String,
}

/// One failure.
#[derive(Debug, Record)]
pub struct Finding {
    pub code: u16,
    pub name: String,
    pub check: String,
    /// The record's position in the log; none for a single receipt.
    pub index: Option<u64>,
    /// What failed, for people.
    pub message: String,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.summary())
    }
}

#[uniffi::export]
impl Report {
    /// Whether every check that ran passed.
    pub fn valid(&self) -> bool {
        self.0.is_valid()
    }

    /// One line beginning with VALID or INVALID.
    pub fn summary(&self) -> String {
        self.0.summary()
    }

    /// What was verified: "receipt", "batch_receipt" or "log".
    pub fn subject(&self) -> String {
        self.0.subject().id().to_owned()
    }

    /// How many records were verified.
    pub fn records(&self) -> u64 {
        self.0.records()
    }

    /// The index of the first record verified: 0, or the size of the trusted
    /// checkpoint a verification started from.
    pub fn first_record(&self) -> u64 {
        self.0.first_record()
    }

    /// The log id of the verified records.
    pub fn log_id(&self) -> Option<String> {
        self.0.log_id().map(str::to_owned)
    }

    /// Every check, in order.
    pub fn checks(&self) -> Vec<CheckResult> {
        self.0
            .checks()
            .iter()
            .map(|c| CheckResult {
                check: c.check.id().to_owned(),
                status: c.status.id().to_owned(),
                failures: c.failures,
                description: c.check.description().to_owned(),
            })
            .collect()
    }

    /// Every failure, in order.
    pub fn findings(&self) -> Vec<Finding> {
        self.0
            .findings()
            .iter()
            .map(|f| Finding {
                code: f.code as u16,
                name: f.code.name().to_owned(),
                check: f.check.id().to_owned(),
                index: f.index,
                message: f.message.clone(),
            })
            .collect()
    }

    /// The names of the failure codes, in order of first appearance.
    pub fn failure_codes(&self) -> Vec<String> {
        self.0.failure_codes().iter().map(|c| c.name().to_owned()).collect()
    }

    /// The report as JSON text (SPEC.md, "Reports").
    pub fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// The report as text for people.
    pub fn to_text(&self) -> String {
        self.0.to_text()
    }
}
