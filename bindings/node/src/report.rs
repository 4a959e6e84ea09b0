//! Verification reports as JavaScript objects.

use napi_derive::napi;

/// A verification report: one status per check, and every failure with its code
/// and the position of the record it concerns.
#[napi]
pub struct Report(pub(crate) evidentia::Report);

/// The outcome of one check.
#[napi(object)]
pub struct CheckResult {
    /// The check's stable id, such as "signature".
    pub check: String,
    /// "passed", "failed" or "skipped".
    pub status: String,
    /// How many failures it found.
    pub failures: u32,
    /// What the check establishes.
    pub description: String,
}

/// One failure.
#[napi(object, use_nullable = true)]
pub struct Finding {
    /// The stable number of the error code.
    pub code: u32,
    /// The stable name of the error code.
    pub name: String,
    /// The id of the check that found it.
    pub check: String,
    /// The position of the record it concerns, when it concerns one.
    pub index: Option<i64>,
    /// What is wrong.
    pub message: String,
}

#[napi]
impl Report {
    /// Whether every check that ran passed.
    #[napi(getter)]
    pub fn valid(&self) -> bool {
        self.0.is_valid()
    }

    /// One line beginning with VALID or INVALID.
    #[napi(getter)]
    pub fn summary(&self) -> String {
        self.0.summary()
    }

    /// What was verified: "receipt", "batch_receipt" or "log".
    #[napi(getter)]
    pub fn subject(&self) -> String {
        self.0.subject().id().to_owned()
    }

    /// How many records were verified.
    #[napi(getter)]
    pub fn records(&self) -> i64 {
        crate::size_to_js(self.0.records())
    }

    /// The index of the first record verified: 0, or the size of the trusted
    /// checkpoint a verification started from.
    #[napi(getter)]
    pub fn first_record(&self) -> i64 {
        crate::size_to_js(self.0.first_record())
    }

    /// The log id of the verified records.
    #[napi(getter)]
    pub fn log_id(&self) -> Option<String> {
        self.0.log_id().map(str::to_owned)
    }

    /// Every check, in order.
    #[napi(getter)]
    pub fn checks(&self) -> Vec<CheckResult> {
        self.0
            .checks()
            .iter()
            .map(|c| CheckResult {
                check: c.check.id().to_owned(),
                status: c.status.id().to_owned(),
                failures: u32::try_from(c.failures).unwrap_or(u32::MAX),
                description: c.check.description().to_owned(),
            })
            .collect()
    }

    /// Every failure, in order.
    #[napi(getter)]
    pub fn findings(&self) -> Vec<Finding> {
        self.0
            .findings()
            .iter()
            .map(|f| Finding {
                code: f.code as u32,
                name: f.code.name().to_owned(),
                check: f.check.id().to_owned(),
                index: f.index.map(crate::size_to_js),
                message: f.message.clone(),
            })
            .collect()
    }

    /// The names of the failure codes, in order of first appearance.
    #[napi(getter)]
    pub fn failure_codes(&self) -> Vec<String> {
        self.0.failure_codes().iter().map(|c| c.name().to_owned()).collect()
    }

    /// The report as JSON text (SPEC.md, "Reports"). Not `toJSON`, which
    /// `JSON.stringify` would call and then quote as a string.
    #[napi]
    pub fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// The report as text for people.
    #[napi]
    pub fn to_text(&self) -> String {
        self.0.to_text()
    }

    /// The summary line.
    #[napi(js_name = "toString")]
    pub fn describe(&self) -> String {
        self.0.summary()
    }
}
