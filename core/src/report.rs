//! Verification reports: one status per check, each failure with a stable code and
//! the position of the record it concerns, and a summary a person can read.

use std::fmt::Write as _;

use crate::digest::Digest;
use crate::encoding::b64;
use crate::error::ErrorCode;
use crate::json::{Number, Value};
use crate::jwks::KeySet;
use crate::keys::canonical_text;
use crate::merkle::Hash;
use crate::time::Timestamp;

/// The Evidentia version every report names as the one that made it.
pub const EVIDENTIA_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The tree a report covers: how many records, and the root hash over them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHead {
    /// The number of records in the tree.
    pub size: u64,
    /// The RFC 9162 root hash of those records.
    pub root: Hash,
}

/// One kind of check a verifier performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// Every receipt is a well-formed ES256 JWS over a canonical record.
    Format,
    /// The signing key is in the key set and was valid at the record's time.
    Key,
    /// The signature matches the record.
    Signature,
    /// The event matches the digest in the record.
    Event,
    /// Every record belongs to the same log.
    LogId,
    /// Sequence numbers run from 0 without gaps, repeats or reordering.
    Sequence,
    /// Each record commits to the digest of the record before it.
    Chain,
    /// Record times never go backwards.
    Time,
    /// No nonce is used twice.
    Nonce,
    /// Checkpoints are signed by a trusted key and match the records.
    Checkpoint,
    /// The record is in the tree the checkpoint commits to.
    Inclusion,
    /// The stored Merkle tree matches the records.
    Tree,
    /// Signed messages of other parties verify again with their recorded keys, as
    /// recorded, and their links name records of the log.
    Message,
    /// Key records follow one another, are signed by the keys allowed to make them,
    /// and the last one is the key set used to verify.
    KeyHistory,
}

impl Check {
    /// Every check, in report order.
    pub const ALL: &'static [Check] = &[
        Check::Format,
        Check::Key,
        Check::Signature,
        Check::Event,
        Check::LogId,
        Check::Sequence,
        Check::Chain,
        Check::Time,
        Check::Nonce,
        Check::Checkpoint,
        Check::Inclusion,
        Check::Tree,
        Check::Message,
        Check::KeyHistory,
    ];

    /// The stable identifier used in JSON reports.
    pub fn id(self) -> &'static str {
        match self {
            Check::Format => "format",
            Check::Key => "key",
            Check::Signature => "signature",
            Check::Event => "event",
            Check::LogId => "log_id",
            Check::Sequence => "sequence",
            Check::Chain => "chain",
            Check::Time => "time",
            Check::Nonce => "nonce",
            Check::Checkpoint => "checkpoint",
            Check::Inclusion => "inclusion",
            Check::Tree => "tree",
            Check::Message => "message",
            Check::KeyHistory => "key_history",
        }
    }

    /// What the check establishes, in plain language.
    pub fn description(self) -> &'static str {
        match self {
            Check::Format => "Each receipt is a well-formed signed record",
            Check::Key => "The signing key is trusted and was valid at the record's time",
            Check::Signature => "The signature matches the record, so the record is unchanged since signing",
            Check::Event => "The event is exactly the one the record commits to",
            Check::LogId => "Every record belongs to the same log",
            Check::Sequence => "Records are numbered from 0 with nothing missing, repeated or out of order",
            Check::Chain => "Each record commits to the record before it, so none was removed or inserted",
            Check::Time => "Record times never go backwards",
            Check::Nonce => "No nonce is used twice",
            Check::Checkpoint => "Checkpoints are signed by a trusted key and match the records they cover",
            Check::Inclusion => "The record is in the log the signed checkpoint describes",
            Check::Tree => "The stored Merkle tree matches the records",
            Check::KeyHistory => {
                "Every change to the log's keys is recorded in the log, signed by the key that hands over or a key in force, and the key list used is the one the log last recorded"
            }
            Check::Message => {
                "Messages signed by other parties verify again with the keys recorded with them, as recorded, and answer records of this log"
            }
        }
    }

    /// The check a verification failure code belongs to.
    pub fn for_code(code: ErrorCode) -> Check {
        match code {
            ErrorCode::SignatureInvalid => Check::Signature,
            ErrorCode::KeyNotFound
            | ErrorCode::KeyAmbiguous
            | ErrorCode::KeyNotYetValid
            | ErrorCode::KeyExpired
            | ErrorCode::KeyRevoked
            | ErrorCode::KidMismatch => Check::Key,
            ErrorCode::EventMismatch
            | ErrorCode::EventMissing
            | ErrorCode::ErasureMismatch
            | ErrorCode::ErasureRecordMalformed => Check::Event,
            ErrorCode::LogIdMismatch => Check::LogId,
            ErrorCode::SequenceGap | ErrorCode::SequenceDuplicate | ErrorCode::SequenceReordered => Check::Sequence,
            ErrorCode::ChainBroken => Check::Chain,
            ErrorCode::TimeBackwards => Check::Time,
            ErrorCode::NonceReplayed => Check::Nonce,
            ErrorCode::CheckpointSignatureInvalid | ErrorCode::CheckpointMismatch | ErrorCode::RecordUnsigned => {
                Check::Checkpoint
            }
            ErrorCode::InclusionProofInvalid => Check::Inclusion,
            ErrorCode::TreeMismatch => Check::Tree,
            ErrorCode::KeyRecordMalformed | ErrorCode::KeyHistoryMismatch => Check::KeyHistory,
            ErrorCode::MessageMalformed | ErrorCode::MessageVerificationMismatch | ErrorCode::LinkMismatch => {
                Check::Message
            }
            _ => Check::Format,
        }
    }
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// The check ran and found nothing wrong.
    Passed,
    /// The check found at least one failure.
    Failed,
    /// The check did not apply (for example, no event was supplied).
    Skipped,
}

impl Status {
    /// The stable identifier used in JSON reports.
    pub fn id(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// The result of one check over everything verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    /// Which check.
    pub check: Check,
    /// Its outcome.
    pub status: Status,
    /// How many records failed it.
    pub failures: u64,
}

/// One failure: what is wrong, with which record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The stable code.
    pub code: ErrorCode,
    /// The check that failed.
    pub check: Check,
    /// The 0-based position of the record in the verified sequence, if it concerns one.
    pub index: Option<u64>,
    /// An explanation for people.
    pub message: String,
}

/// What was verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subject {
    /// One receipt.
    Receipt,
    /// One batch receipt (a record, its inclusion proof and a signed checkpoint).
    BatchReceipt,
    /// A whole log.
    Log,
}

impl Subject {
    /// The stable identifier used in JSON reports.
    pub fn id(self) -> &'static str {
        match self {
            Subject::Receipt => "receipt",
            Subject::BatchReceipt => "batch_receipt",
            Subject::Log => "log",
        }
    }

    /// The checks a report on this subject lists, in order.
    pub fn checks(self) -> &'static [Check] {
        match self {
            Subject::Receipt => &[Check::Format, Check::Key, Check::Signature, Check::Event, Check::Message],
            Subject::BatchReceipt => {
                &[Check::Format, Check::Key, Check::Checkpoint, Check::Inclusion, Check::Event, Check::Message]
            }
            Subject::Log => &[
                Check::Format,
                Check::Key,
                Check::Signature,
                Check::Event,
                Check::LogId,
                Check::Sequence,
                Check::Chain,
                Check::Time,
                Check::Nonce,
                Check::Checkpoint,
                Check::Tree,
                Check::Message,
                Check::KeyHistory,
            ],
        }
    }
}

/// A record whose event was erased, as the erasure record that did it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasedRecord {
    /// The erased record's index in the log.
    pub index: u64,
    /// Its sequence number.
    pub seq: u64,
    /// The index of the erasure record.
    pub by: u64,
    /// The reason the erasure record gives.
    pub reason: String,
}

/// A verification report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    subject: Subject,
    log_id: Option<String>,
    /// The index of the first record verified: the size of the trusted checkpoint
    /// an incremental verification started from, 0 for a whole log.
    first: u64,
    records: u64,
    checks: Vec<CheckResult>,
    findings: Vec<Finding>,
    omitted: u64,
    tree: Option<TreeHead>,
    made_at: Option<Timestamp>,
    keys: Vec<String>,
    record: Option<(u64, Digest)>,
    erased: Vec<ErasedRecord>,
}

impl Report {
    /// Whether every check that ran passed.
    pub fn is_valid(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Failed)
    }

    /// What was verified.
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// The log id of the verified records, when they agree on one.
    pub fn log_id(&self) -> Option<&str> {
        self.log_id.as_deref()
    }

    /// How many records were verified.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The index of the first record verified: 0 for a whole log, the size of the
    /// trusted checkpoint for an incremental verification (records before it were
    /// not read again).
    pub fn first_record(&self) -> u64 {
        self.first
    }

    /// The tree the report covers: for a log, the records read (from record 0,
    /// including those before a trusted checkpoint) and the root computed over
    /// them; for a batch receipt, its checkpoint's; none for a receipt.
    pub fn tree(&self) -> Option<TreeHead> {
        self.tree
    }

    /// The keys the verification trusted: the RFC 7638 thumbprint of every usable
    /// key of the key set it was given.
    pub fn trusted_keys(&self) -> &[String] {
        &self.keys
    }

    /// For a receipt or batch receipt: the sequence number and digest of the record
    /// verified.
    pub fn record(&self) -> Option<(u64, Digest)> {
        self.record
    }

    /// The records whose events were erased, each named by a later erasure record
    /// of the log (SPEC.md §27): their records, receipts and proofs were verified,
    /// their events cannot be.
    pub fn erased(&self) -> &[ErasedRecord] {
        &self.erased
    }

    /// When the report was made, once [`Report::made_at`] has set it.
    pub fn made(&self) -> Option<Timestamp> {
        self.made_at
    }

    /// The report, stating that it was made at `at`. The core reads no clock:
    /// the store, the CLI and the bindings call this with the time verification
    /// ended.
    #[must_use]
    pub fn made_at(mut self, at: Timestamp) -> Report {
        self.made_at = Some(at);
        self
    }

    /// One result per check, in [`Check::ALL`] order.
    pub fn checks(&self) -> &[CheckResult] {
        &self.checks
    }

    /// The failures, in the order found (at most the configured number).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Failures found but not listed because of the limit on findings.
    pub fn omitted_findings(&self) -> u64 {
        self.omitted
    }

    /// The codes of all listed findings, in order, without repeats.
    pub fn failure_codes(&self) -> Vec<ErrorCode> {
        let mut codes = Vec::new();
        for finding in &self.findings {
            if !codes.contains(&finding.code) {
                codes.push(finding.code);
            }
        }
        codes
    }

    /// One line: `VALID: ...` or `INVALID: ...`.
    pub fn summary(&self) -> String {
        let what = match self.subject {
            Subject::Receipt => "receipt".to_owned(),
            Subject::BatchReceipt => "batch receipt".to_owned(),
            Subject::Log if self.first > 0 => match self.records {
                0 => format!("log, no records after the trusted checkpoint of {}", self.first),
                n => format!(
                    "log records {} to {} after the trusted checkpoint of {}",
                    self.first,
                    self.first + n - 1,
                    self.first
                ),
            },
            Subject::Log => format!("log of {} record{}", self.records, if self.records == 1 { "" } else { "s" }),
        };
        let ran = self.checks.iter().filter(|c| c.status != Status::Skipped).count();
        let failed: Vec<&CheckResult> = self.checks.iter().filter(|c| c.status == Status::Failed).collect();
        if failed.is_empty() {
            format!("VALID: {what}, all {ran} checks passed")
        } else {
            let list: Vec<String> = failed.iter().map(|c| format!("{} ({})", c.check.id(), c.failures)).collect();
            format!("INVALID: {what}, {} of {ran} checks failed: {}", failed.len(), list.join(", "))
        }
    }

    /// The report as canonical JSON (see SPEC.md, "Verification reports").
    pub fn to_json(&self) -> String {
        let count = |n: u64| {
            Value::Number(
                Number::from_i64(n.min(crate::json::MAX_SAFE_INTEGER as u64) as i64).unwrap_or(Number::from(0)),
            )
        };
        let checks = self
            .checks
            .iter()
            .map(|c| {
                Value::object([
                    ("check", Value::from(c.check.id())),
                    ("description", Value::from(c.check.description())),
                    ("failures", count(c.failures)),
                    ("status", Value::from(c.status.id())),
                ])
            })
            .collect();
        let findings = self
            .findings
            .iter()
            .map(|f| {
                Value::object([
                    ("check", Value::from(f.check.id())),
                    ("code", Value::from(u32::from(f.code as u16))),
                    ("index", f.index.map_or(Value::Null, count)),
                    ("message", Value::from(f.message.as_str())),
                    ("name", Value::from(f.code.name())),
                ])
            })
            .collect();
        let subject = self.subject.id();
        let tree = self
            .tree
            .map_or(Value::Null, |t| Value::object([("root", Value::from(b64(&t.root))), ("size", count(t.size))]));
        let mut members = vec![
            ("checks", Value::Array(checks)),
            ("evidentia_version", Value::from(EVIDENTIA_VERSION)),
            ("findings", Value::Array(findings)),
            ("findings_omitted", count(self.omitted)),
            ("log_id", self.log_id.as_deref().map_or(Value::Null, Value::from)),
            ("keys", Value::Array(self.keys.iter().map(|k| Value::from(k.as_str())).collect())),
            ("made_at", self.made_at.map_or(Value::Null, |t| Value::from(t.to_string()))),
            (
                "record",
                self.record.map_or(Value::Null, |(seq, digest)| {
                    Value::object([("digest", Value::from(digest.to_string())), ("seq", count(seq))])
                }),
            ),
            ("records", count(self.records)),
            ("subject", Value::from(subject)),
            ("summary", Value::from(self.summary())),
            ("tree", tree),
            ("valid", Value::Bool(self.is_valid())),
        ];
        // Only an incremental verification has it.
        if self.first > 0 {
            members.push(("first_record", count(self.first)));
        }
        // Only a log with erased events has it.
        if !self.erased.is_empty() {
            let erased = self.erased.iter().map(|e| {
                Value::object([
                    ("by", count(e.by)),
                    ("index", count(e.index)),
                    ("reason", Value::from(e.reason.as_str())),
                    ("seq", count(e.seq)),
                ])
            });
            members.push(("erased", Value::Array(erased.collect())));
        }
        canonical_text(&Value::object(members))
    }

    /// The report as text for a terminal: the summary, one line per check, and
    /// the failures under the check they belong to.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.summary());
        if let Some(log_id) = &self.log_id {
            let _ = writeln!(out, "  log id: {log_id}");
        }
        if let Some(tree) = &self.tree {
            let _ = writeln!(out, "  tree:   {} records, root {}", tree.size, b64(&tree.root));
        }
        for erased in &self.erased {
            let _ = writeln!(
                out,
                "  erased: the event of record {} (erasure record {}: {})",
                erased.index, erased.by, erased.reason
            );
        }
        let made = self.made_at.map(|t| format!("at {t} ")).unwrap_or_default();
        let _ = writeln!(out, "  made {made}by Evidentia {EVIDENTIA_VERSION}");
        for result in &self.checks {
            let mark = match result.status {
                Status::Passed => "PASS",
                Status::Failed => "FAIL",
                Status::Skipped => "SKIP",
            };
            let _ = writeln!(out, "  {mark}  {:<10} {}", result.check.id(), result.check.description());
            for finding in self.findings.iter().filter(|f| f.check == result.check) {
                let place = finding.index.map(|i| format!("record {i}: ")).unwrap_or_default();
                let _ = writeln!(out, "        - {place}{} [{}]", finding.message, finding.code.name());
            }
        }
        if self.omitted > 0 {
            let _ = writeln!(out, "  ({} more failures not listed)", self.omitted);
        }
        out
    }
}

/// Collects check outcomes and findings while verifying.
#[derive(Debug)]
pub(crate) struct ReportBuilder {
    subject: Subject,
    log_id: Option<String>,
    first: u64,
    records: u64,
    ran: Vec<Check>,
    failures: Vec<(Check, u64)>,
    findings: Vec<Finding>,
    max_findings: usize,
    omitted: u64,
    tree: Option<TreeHead>,
    keys: Vec<String>,
    record: Option<(u64, Digest)>,
    erased: Vec<ErasedRecord>,
}

impl ReportBuilder {
    /// A report on `subject`, verified with `keys`.
    pub(crate) fn new(subject: Subject, keys: &KeySet, max_findings: usize) -> ReportBuilder {
        let keys = keys.entries().iter().filter(|e| e.public_key().is_some()).map(|e| e.thumbprint().to_owned());
        ReportBuilder {
            subject,
            log_id: None,
            first: 0,
            records: 0,
            ran: Vec::new(),
            failures: Vec::new(),
            findings: Vec::new(),
            max_findings,
            omitted: 0,
            tree: None,
            keys: keys.collect(),
            record: None,
            erased: Vec::new(),
        }
    }

    pub(crate) fn set_record(&mut self, seq: u64, digest: Digest) {
        self.record = Some((seq, digest));
    }

    pub(crate) fn set_tree(&mut self, size: u64, root: Hash) {
        self.tree = Some(TreeHead { size, root });
    }

    pub(crate) fn set_log_id(&mut self, log_id: Option<String>) {
        self.log_id = log_id;
    }

    pub(crate) fn set_first(&mut self, first: u64) {
        self.first = first;
    }

    pub(crate) fn erased(&mut self, erased: ErasedRecord) {
        self.erased.push(erased);
    }

    pub(crate) fn count_record(&mut self) {
        self.records += 1;
    }

    /// Marks checks as having run.
    pub(crate) fn ran(&mut self, checks: &[Check]) {
        for &check in checks {
            if !self.ran.contains(&check) {
                self.ran.push(check);
            }
        }
    }

    /// Records a failure of the check its code belongs to.
    pub(crate) fn fail(&mut self, code: ErrorCode, index: Option<u64>, message: impl Into<String>) {
        self.fail_check(Check::for_code(code), code, index, message);
    }

    /// Records a failure of a given check.
    pub(crate) fn fail_check(&mut self, check: Check, code: ErrorCode, index: Option<u64>, message: impl Into<String>) {
        self.ran(&[check]);
        match self.failures.iter_mut().find(|(c, _)| *c == check) {
            Some((_, n)) => *n += 1,
            None => self.failures.push((check, 1)),
        }
        if self.findings.len() < self.max_findings {
            self.findings.push(Finding { code, check, index, message: message.into() });
        } else {
            self.omitted += 1;
        }
    }

    pub(crate) fn finish(self) -> Report {
        let checks = self
            .subject
            .checks()
            .iter()
            .map(|&check| {
                let failures = self.failures.iter().find(|(c, _)| *c == check).map_or(0, |(_, n)| *n);
                let status = if failures > 0 {
                    Status::Failed
                } else if self.ran.contains(&check) {
                    Status::Passed
                } else {
                    Status::Skipped
                };
                CheckResult { check, status, failures }
            })
            .collect();
        Report {
            subject: self.subject,
            log_id: self.log_id,
            first: self.first,
            records: self.records,
            checks,
            findings: self.findings,
            omitted: self.omitted,
            tree: self.tree,
            made_at: None,
            keys: self.keys,
            record: self.record,
            erased: self.erased,
        }
    }
}
