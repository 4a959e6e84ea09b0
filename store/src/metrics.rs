//! The log-integrity indicators as metrics (docs/OPERATIONS.md lists them).
//!
//! The store records through the `metrics` facade, which costs nothing until a
//! program installs a recorder: a service that already runs one (Prometheus,
//! OpenTelemetry through `metrics` bridges, StatsD) gets these series in it. With
//! the `prometheus` feature, [`render`] installs the Prometheus exporter once and
//! gives the text exposition format: the CLI serves it (`--metrics-addr`), and the
//! Python and Node bindings return it from `metrics()`.

use std::time::Duration;

#[cfg(feature = "prometheus")]
use evidentia::ErrorCode;
use evidentia::Report;

/// Seconds an append took, from the events handed in to the acknowledgements:
/// signing, writing, flushing and, in batch mode, the checkpoint (histogram).
pub const APPEND_SECONDS: &str = "evidentia_append_seconds";
/// Seconds writing and flushing one group of entries to stable storage took
/// (histogram).
pub const COMMIT_SECONDS: &str = "evidentia_commit_seconds";
/// Records appended and acknowledged (counter, label `log`).
pub const RECORDS_APPENDED: &str = "evidentia_records_appended_total";
/// Times opening a log for writing, or a writer after a failed write, repaired it:
/// cut an entry or checkpoint whose writing never completed, rebuilt an index or
/// tree (counter, label `log`).
pub const RECOVERIES: &str = "evidentia_recoveries_total";
/// Verifications of stored logs, by `result` (`valid` or `invalid`) (counter).
pub const VERIFICATIONS: &str = "evidentia_verifications_total";
/// Verifications that found failures, once for each error `code` (name) they
/// found (counter).
pub const VERIFICATION_FAILURES: &str = "evidentia_verification_failures_total";
/// Records the log holds, as last seen (gauge, label `log`).
pub const LOG_RECORDS: &str = "evidentia_log_records";
/// The size of the newest signed checkpoint (gauge, label `log`).
pub const SIGNED_SIZE: &str = "evidentia_checkpoint_signed_size";
/// The size of the largest checkpoint witnesses cosigned, 0 for none (gauge,
/// label `log`).
pub const WITNESSED_SIZE: &str = "evidentia_checkpoint_witnessed_size";
/// How far the newest signed checkpoint is behind the log: seconds since the
/// first record it does not cover was appended, 0 while it covers every record
/// (gauge, label `log`).
pub const CHECKPOINT_AGE: &str = "evidentia_checkpoint_age_seconds";
/// Monitor rounds, by `result` (`passed` or `alert`) (counter, label `log`).
pub const MONITOR_ROUNDS: &str = "evidentia_monitor_rounds_total";
/// Monitor findings, by `kind` (SPEC §13.2) (counter, label `log`).
pub const MONITOR_FINDINGS: &str = "evidentia_monitor_findings_total";

/// Histogram buckets in seconds: from a fast append (a few hundred µs) to a stuck
/// disk.
#[cfg(feature = "prometheus")]
const BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

pub(crate) fn appended(log: &str, records: usize, took: Duration, commit: Duration) {
    metrics::histogram!(APPEND_SECONDS).record(took);
    metrics::histogram!(COMMIT_SECONDS).record(commit);
    metrics::counter!(RECORDS_APPENDED, "log" => log.to_owned()).increment(records as u64);
    upkeep();
}

pub(crate) fn recovered(log: &str) {
    metrics::counter!(RECOVERIES, "log" => log.to_owned()).increment(1);
}

pub(crate) fn verified(report: &Report) {
    let result = if report.is_valid() { "valid" } else { "invalid" };
    metrics::counter!(VERIFICATIONS, "result" => result).increment(1);
    for code in report.failure_codes() {
        metrics::counter!(VERIFICATION_FAILURES, "code" => code.name()).increment(1);
    }
}

/// What a monitor round saw of a log.
pub(crate) struct LogState<'a> {
    pub(crate) log: &'a str,
    pub(crate) records: u64,
    pub(crate) signed_size: u64,
    /// Unknown for a publication, which names no witness policy.
    pub(crate) witnessed_size: Option<u64>,
    /// Unknown for a publication, which holds only checkpointed records.
    pub(crate) checkpoint_age: Option<Duration>,
}

pub(crate) fn observed(state: &LogState<'_>, findings: &[&'static str]) {
    let log = state.log.to_owned();
    metrics::gauge!(LOG_RECORDS, "log" => log.clone()).set(state.records as f64);
    metrics::gauge!(SIGNED_SIZE, "log" => log.clone()).set(state.signed_size as f64);
    if let Some(witnessed) = state.witnessed_size {
        metrics::gauge!(WITNESSED_SIZE, "log" => log.clone()).set(witnessed as f64);
    }
    if let Some(age) = state.checkpoint_age {
        metrics::gauge!(CHECKPOINT_AGE, "log" => log.clone()).set(age.as_secs_f64());
    }
    counted(&log, findings);
}

/// Counts a monitor round and its findings, for a round that saw nothing of the
/// log's state too (it could not be read, or its checkpoint was not trusted).
pub(crate) fn counted(log: &str, findings: &[&'static str]) {
    let result = if findings.is_empty() { "passed" } else { "alert" };
    metrics::counter!(MONITOR_ROUNDS, "log" => log.to_owned(), "result" => result).increment(1);
    for kind in findings {
        metrics::counter!(MONITOR_FINDINGS, "log" => log.to_owned(), "kind" => *kind).increment(1);
    }
}

#[cfg(feature = "prometheus")]
static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> = std::sync::OnceLock::new();

/// Installs the Prometheus exporter as the process's recorder, once; `None` when
/// the program had installed another recorder already.
#[cfg(feature = "prometheus")]
fn handle() -> Option<&'static metrics_exporter_prometheus::PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = metrics_exporter_prometheus::PrometheusBuilder::new().set_buckets(BUCKETS).ok()?;
            let handle = builder.install_recorder().ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// The HELP line of each series: its constant's first sentence.
#[cfg(feature = "prometheus")]
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        APPEND_SECONDS,
        Unit::Seconds,
        "Seconds an append took, from the events handed in to the acknowledgements"
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Seconds writing and flushing one group of entries to stable storage took"
    );
    describe_counter!(RECORDS_APPENDED, "Records appended and acknowledged");
    describe_counter!(RECOVERIES, "Times opening a log for writing, or a writer after a failed write, repaired it");
    describe_counter!(VERIFICATIONS, "Verifications of stored logs, by result");
    describe_counter!(VERIFICATION_FAILURES, "Verifications that found failures, once for each error code they found");
    describe_gauge!(LOG_RECORDS, "Records the log holds, as last seen");
    describe_gauge!(SIGNED_SIZE, "The size of the newest signed checkpoint");
    describe_gauge!(WITNESSED_SIZE, "The size of the largest checkpoint witnesses cosigned");
    describe_gauge!(
        CHECKPOINT_AGE,
        Unit::Seconds,
        "Seconds since the first record the newest signed checkpoint does not cover was appended"
    );
    describe_counter!(MONITOR_ROUNDS, "Monitor rounds, by result");
    describe_counter!(MONITOR_FINDINGS, "Monitor findings, by kind");
}

/// Starts recording into the Prometheus exporter. Series appear from then on;
/// [`render`] calls it too, so call it at start-up to count from the first append.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] when the program installed another recorder.
#[cfg(feature = "prometheus")]
pub fn install() -> evidentia::Result<()> {
    match handle() {
        Some(_) => Ok(()),
        None => Err(evidentia::Error::new(
            ErrorCode::InvalidArgument,
            "another metrics recorder is installed in this process: read the metrics there",
        )),
    }
}

/// The metrics in the Prometheus text exposition format (version 0.0.4).
///
/// # Errors
/// As [`install`].
#[cfg(feature = "prometheus")]
pub fn render() -> evidentia::Result<String> {
    install()?;
    Ok(handle().map(|h| h.render()).unwrap_or_default())
}

/// Histogram samples wait in the exporter until drained; drained every so many
/// appends, so that a process nobody scrapes does not grow.
fn upkeep() {
    #[cfg(feature = "prometheus")]
    {
        use std::sync::atomic::{AtomicU64, Ordering};
        static APPENDS: AtomicU64 = AtomicU64::new(0);
        if APPENDS.fetch_add(1, Ordering::Relaxed) % 1024 == 1023
            && let Some(Some(handle)) = HANDLE.get()
        {
            handle.run_upkeep();
        }
    }
}
