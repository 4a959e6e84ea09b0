//! A monitor's round over a log (SPEC §13.2): the newest checkpoint must extend
//! the one the monitor last trusted, which it keeps in a state file, and the records
//! since are verified from there (§13.1). A fork, a truncation, a rollback and
//! records left too long without a checkpoint are findings; the state advances only
//! after a round without any.

use std::path::Path;
use std::time::Duration;

use evidentia::json::{Number, Value, parse};
use evidentia::{Error, ErrorCode, KeySet, Report, Result, Timestamp, read_checkpoint, verify_checkpoint_with_keys};

use crate::checkpoints::StoredCheckpoint;
use crate::fsio::{Fs, read_regular};
use crate::reader::LogReader;
use crate::tiles::{PublishedTree, TileSource, verify_tiles};
use crate::writer::now;

/// The largest state file read: one checkpoint note and two short members.
const MAX_STATE_SIZE: u64 = 64 * 1024;

/// What a round found wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FindingKind {
    /// The log no longer holds the trusted checkpoint although it has as many
    /// records: it was rewritten, or another history is shown (a split view).
    SplitView,
    /// The log holds fewer records than the trusted checkpoint covers.
    Truncated,
    /// The newest checkpoint covers fewer records than the trusted one.
    Rollback,
    /// Records wait longer than the allowed age for a signed checkpoint.
    StaleCheckpoint,
    /// The newest checkpoint is not signed by a trusted key.
    CheckpointUntrusted,
    /// Verifying the records since the trusted checkpoint found failures.
    Invalid,
    /// The log cannot be read: missing or damaged files.
    Unreadable,
}

impl FindingKind {
    /// The stable identifier used in JSON.
    pub fn id(self) -> &'static str {
        match self {
            FindingKind::SplitView => "split_view",
            FindingKind::Truncated => "truncated",
            FindingKind::Rollback => "rollback",
            FindingKind::StaleCheckpoint => "stale_checkpoint",
            FindingKind::CheckpointUntrusted => "checkpoint_untrusted",
            FindingKind::Invalid => "invalid",
            FindingKind::Unreadable => "unreadable",
        }
    }
}

/// One thing a round found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorFinding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// The error code that goes with it.
    pub code: ErrorCode,
    /// An explanation for people.
    pub message: String,
}

/// The outcome of one round.
#[derive(Debug)]
pub struct MonitorRound {
    /// When the round ended.
    pub checked_at: Timestamp,
    /// The size of the checkpoint trusted before the round (none on a first round).
    pub trusted_size: Option<u64>,
    /// The size of the checkpoint trusted after it.
    pub now_trusted_size: Option<u64>,
    /// How many records the log holds (none when it cannot be read).
    pub records: Option<u64>,
    /// What was found wrong; empty when the round passed.
    pub findings: Vec<MonitorFinding>,
    /// The verification of the records since the trusted checkpoint (none when the
    /// log cannot be read).
    pub report: Option<Report>,
    /// The newest checkpoint, when a trusted key signed it: trusted next if the
    /// round passed.
    latest: Option<StoredCheckpoint>,
}

impl MonitorRound {
    /// Whether the round found nothing wrong.
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }

    /// The round as JSON for alerting: `{checked_at, findings: [{code, kind,
    /// message, name}], passed, records, report, trusted_size, now_trusted_size}`.
    pub fn to_value(&self) -> Value {
        let size = |s: Option<u64>| {
            s.and_then(|s| i64::try_from(s).ok())
                .and_then(|n| Number::from_i64(n).ok())
                .map_or(Value::Null, Value::Number)
        };
        let findings = self
            .findings
            .iter()
            .map(|f| {
                Value::object([
                    ("code", Value::from(u32::from(f.code as u16))),
                    ("kind", Value::from(f.kind.id())),
                    ("message", Value::from(f.message.as_str())),
                    ("name", Value::from(f.code.name())),
                ])
            })
            .collect();
        Value::object([
            ("checked_at", Value::from(self.checked_at.to_string())),
            ("findings", Value::Array(findings)),
            ("now_trusted_size", size(self.now_trusted_size)),
            ("passed", Value::Bool(self.passed())),
            ("records", size(self.records)),
            ("report", self.report.as_ref().and_then(|r| parse(r.to_json().as_bytes()).ok()).unwrap_or(Value::Null)),
            ("trusted_size", size(self.trusted_size)),
        ])
    }
}

/// Runs one monitor round over the log at `dir` with the trusted `keys` (the log's
/// key history as last trusted: after a key rotation, the new keys.jwks), keeping
/// the trusted checkpoint in the file `state`. On a first round (no state file) the
/// whole log is verified and its newest checkpoint trusted from then on. With
/// `max_age`, records not covered by a checkpoint for longer are a finding. A log
/// that cannot be read (missing, damaged files) is a finding too, `unreadable`.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for a state file that cannot be read as a
/// monitor's; [`ErrorCode::Io`] when the state cannot be written.
pub fn monitor_round(dir: &Path, keys: &KeySet, state: &Path, max_age: Option<Duration>) -> Result<MonitorRound> {
    let location = dir.display().to_string();
    run_round(state, &location, |trusted, trusted_size| inspect(dir, keys, trusted, trusted_size, max_age))
}

/// Runs one monitor round over a log published as tlog-tiles (SPEC §24), as
/// [`monitor_round`] does over a log's folder: the published checkpoint must extend
/// the trusted one, which the tiles must still hold. A publication carries no
/// record that no checkpoint covers, so nothing is stale; and since its tiles are
/// verified against its records, each round verifies every published record.
///
/// # Errors
/// As [`monitor_round`].
pub fn monitor_tiles_round(source: &dyn TileSource, keys: &KeySet, state: &Path) -> Result<MonitorRound> {
    run_round(state, &source.location(), |trusted, trusted_size| inspect_tiles(source, keys, trusted, trusted_size))
}

/// A round: `inspect` checks the source against the trusted checkpoint; the state
/// advances when it found nothing wrong. A source that cannot be read is counted
/// in the metrics under the trusted checkpoint's log id, or on a first round its
/// `location`.
fn run_round(
    state: &Path,
    location: &str,
    inspect: impl FnOnce(Option<&str>, Option<u64>) -> Result<MonitorRound>,
) -> Result<MonitorRound> {
    let trusted = read_state(state)?;
    let trusted_checkpoint = trusted.as_deref().map(read_checkpoint).transpose()?;
    let trusted_size = trusted_checkpoint.as_ref().map(|c| c.size);
    let mut round = match inspect(trusted.as_deref(), trusted_size) {
        Ok(round) => round,
        Err(e) => {
            let log = trusted_checkpoint.as_ref().map_or(location, |c| c.origin.as_str());
            crate::metrics::counted(log, &[FindingKind::Unreadable.id()]);
            MonitorRound {
                checked_at: now()?,
                trusted_size,
                now_trusted_size: trusted_size,
                records: None,
                findings: vec![MonitorFinding {
                    kind: FindingKind::Unreadable,
                    code: e.code(),
                    message: format!("the log cannot be read: {e}"),
                }],
                report: None,
                latest: None,
            }
        }
    };
    if round.passed()
        && let Some(latest) = round.latest.take()
        && Some(latest.size) != trusted_size
    {
        write_state(state, &latest.note, round.checked_at)?;
        round.now_trusted_size = Some(latest.size);
    }
    Ok(round)
}

/// The round's checks of the log (everything but the state file).
fn inspect(
    dir: &Path,
    keys: &KeySet,
    trusted: Option<&str>,
    trusted_size: Option<u64>,
    max_age: Option<Duration>,
) -> Result<MonitorRound> {
    let reader = LogReader::open(dir)?;
    let report = reader.verify_from(Some(keys), trusted, |_| {})?;
    let records = reader.len();
    let mut findings = Vec::new();
    let mut found = |kind, code, message: String| findings.push(MonitorFinding { kind, code, message });

    let latest = reader.latest_checkpoint()?;
    let latest_size = latest.as_ref().map(|c| c.size);
    // The start's own mismatch (no record index) is the split view or truncation
    // classified here; every other failure is reported as found.
    let at_start = |f: &&evidentia::Finding| f.code == ErrorCode::CheckpointMismatch && f.index.is_none();
    let classified = trusted_size.is_some() && report.findings().iter().any(|f| at_start(&f));
    if let Some(size) = trusted_size {
        let origin = trusted.map(read_checkpoint).transpose()?.map(|c| c.origin).unwrap_or_default();
        if origin != reader.log_id() {
            let message =
                format!("the trusted checkpoint is of the log {origin:?}, and this is the log {:?}", reader.log_id());
            found(FindingKind::SplitView, ErrorCode::CheckpointMismatch, message);
        } else if records < size {
            let message = format!("the log holds {records} records, fewer than the {size} of the trusted checkpoint");
            found(FindingKind::Truncated, ErrorCode::CheckpointMismatch, message);
        } else if classified {
            let message = format!(
                "the log no longer holds the trusted checkpoint of {size} records: its records were rewritten, or this is another history of the log"
            );
            found(FindingKind::SplitView, ErrorCode::CheckpointMismatch, message);
        }
        // A log that lost its checkpoints has none as new as the trusted one.
        if latest_size.unwrap_or(0) < size {
            let message = match latest_size {
                Some(latest) => format!("the newest checkpoint covers {latest} records, fewer than the {size} trusted"),
                None => format!("the log holds no signed checkpoint, and the one trusted covers {size} records"),
            };
            found(FindingKind::Rollback, ErrorCode::CheckpointMismatch, message);
        }
    }
    let verified = latest.as_ref().map(|c| verify_checkpoint_with_keys(&c.note, keys));
    if let Some(Err(e)) = &verified {
        found(FindingKind::CheckpointUntrusted, e.code(), format!("the newest checkpoint: {e}"));
    }
    if let Some(finding) = invalid(&report, |f| classified && at_start(&f)) {
        found(finding.kind, finding.code, finding.message);
    }
    let checked_at = now()?;
    // How long the first record no checkpoint covers has waited for one.
    let mut checkpoint_age = Duration::ZERO;
    if records > latest_size.unwrap_or(0) {
        let first_unsigned = reader.entry(latest_size.unwrap_or(0))?.record()?;
        let waited = checked_at.unix_seconds().saturating_sub(first_unsigned.time.unix_seconds());
        checkpoint_age = Duration::from_secs(u64::try_from(waited).unwrap_or(0));
        if let Some(max_age) = max_age
            && waited > i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX)
        {
            let message = format!(
                "record {} was appended at {} and no signed checkpoint covers it after {waited} s (allowed: {} s)",
                latest_size.unwrap_or(0),
                first_unsigned.time,
                max_age.as_secs()
            );
            found(FindingKind::StaleCheckpoint, ErrorCode::RecordUnsigned, message);
        }
    }
    let kinds: Vec<&'static str> = findings.iter().map(|f| f.kind.id()).collect();
    let observed = crate::metrics::LogState {
        log: reader.log_id(),
        records,
        signed_size: latest_size.unwrap_or(0),
        witnessed_size: Some(crate::witnessing::largest_cosigned_size(dir)?),
        checkpoint_age: Some(checkpoint_age),
    };
    crate::metrics::observed(&observed, &kinds);
    // Only a checkpoint a trusted key signed is trusted next.
    let latest = latest.filter(|_| matches!(verified, Some(Ok(_))));
    Ok(MonitorRound {
        checked_at,
        trusted_size,
        now_trusted_size: trusted_size,
        records: Some(records),
        findings,
        report: Some(report),
        latest,
    })
}

/// The `invalid` finding of a report's failures but those `skip` says were
/// classified otherwise: the first, and how many more.
fn invalid(report: &Report, skip: impl Fn(&evidentia::Finding) -> bool) -> Option<MonitorFinding> {
    let mut others = report.findings().iter().filter(|f| !skip(f));
    let first = others.next()?;
    let more = others.count() as u64 + report.omitted_findings();
    let place = first.index.map(|i| format!("record {i}: ")).unwrap_or_default();
    let and_more = if more > 0 { format!(" (and {more} more failures)") } else { String::new() };
    let message = format!("{}; first: {place}{}{and_more}", report.summary(), first.message);
    Some(MonitorFinding { kind: FindingKind::Invalid, code: first.code, message })
}

/// The round's checks of a publication.
fn inspect_tiles(
    source: &dyn TileSource,
    keys: &KeySet,
    trusted: Option<&str>,
    trusted_size: Option<u64>,
) -> Result<MonitorRound> {
    // A checkpoint no trusted key signed is not followed into its records: they
    // could be any number.
    let newest = PublishedTree::open(source)?;
    if let Err(e) = verify_checkpoint_with_keys(&newest.note, keys) {
        crate::metrics::counted(&newest.checkpoint.origin, &[FindingKind::CheckpointUntrusted.id()]);
        let message = format!("the published checkpoint: {e}");
        return Ok(MonitorRound {
            checked_at: now()?,
            trusted_size,
            now_trusted_size: trusted_size,
            records: Some(newest.checkpoint.size),
            findings: vec![MonitorFinding { kind: FindingKind::CheckpointUntrusted, code: e.code(), message }],
            report: None,
            latest: None,
        });
    }
    let verified = verify_tiles(source, keys, trusted_size, |_| {})?;
    let published = &verified.checkpoint;
    let mut findings = Vec::new();
    let mut found = |kind, code, message: String| findings.push(MonitorFinding { kind, code, message });
    if let Some(trusted) = trusted.map(read_checkpoint).transpose()? {
        let size = trusted.size;
        if trusted.origin != published.origin {
            let message = format!(
                "the trusted checkpoint is of the log {:?}, and this is a publication of the log {:?}",
                trusted.origin, published.origin
            );
            found(FindingKind::SplitView, ErrorCode::CheckpointMismatch, message);
        } else if published.size < size {
            let message = format!(
                "the publication holds {} records, fewer than the {size} of the trusted checkpoint",
                published.size
            );
            found(FindingKind::Truncated, ErrorCode::CheckpointMismatch, message);
            let message =
                format!("the published checkpoint covers {} records, fewer than the {size} trusted", published.size);
            found(FindingKind::Rollback, ErrorCode::CheckpointMismatch, message);
        } else if verified.root_at != Some(trusted.root) {
            let message = format!(
                "the published tiles no longer hold the trusted checkpoint of {size} records: its records were rewritten, or this is another history of the log"
            );
            found(FindingKind::SplitView, ErrorCode::CheckpointMismatch, message);
        }
    }
    findings.extend(invalid(&verified.report, |_| false));
    let kinds: Vec<&'static str> = findings.iter().map(|f| f.kind.id()).collect();
    let observed = crate::metrics::LogState {
        log: &published.origin,
        records: published.size,
        signed_size: published.size,
        witnessed_size: None,
        checkpoint_age: None,
    };
    crate::metrics::observed(&observed, &kinds);
    let latest = Some(StoredCheckpoint { size: published.size, note: verified.note.clone() });
    Ok(MonitorRound {
        checked_at: now()?,
        trusted_size,
        now_trusted_size: trusted_size,
        records: Some(published.size),
        findings,
        report: Some(verified.report),
        latest,
    })
}

fn state_error(state: &Path, why: &str) -> Error {
    Error::new(
        ErrorCode::InvalidArgument,
        format!(
            "{} cannot be read as a monitor's state file ({why}); restore it from a copy: removed, the next round trusts the log's newest checkpoint as a first round does, forked or not",
            state.display()
        ),
    )
}

/// The trusted checkpoint note the state file holds, `None` when there is no file.
fn read_state(state: &Path) -> Result<Option<String>> {
    let Some(bytes) = read_regular(state, MAX_STATE_SIZE).map_err(|e| state_error(state, e.message()))? else {
        return Ok(None);
    };
    let value = parse(&bytes).map_err(|e| state_error(state, &e.to_string()))?;
    let note = value.get("checkpoint").and_then(Value::as_str).ok_or_else(|| state_error(state, "no checkpoint"))?;
    read_checkpoint(note).map_err(|e| state_error(state, &e.to_string()))?;
    Ok(Some(note.to_owned()))
}

/// Replaces the state file atomically and durably.
fn write_state(state: &Path, note: &str, at: Timestamp) -> Result<()> {
    let value = Value::object([("checkpoint", Value::from(note)), ("trusted_at", Value::from(at.to_string()))]);
    let text = evidentia::json::to_pretty_string(&value)?;
    let dir = state.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = state.file_name().and_then(|n| n.to_str()).ok_or_else(|| state_error(state, "no file name"))?;
    Fs::new(None).replace(dir, name, text.as_bytes())
}
