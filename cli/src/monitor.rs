//! `evidentia log monitor`: follows a log and raises the alarm on a split view, a
//! truncation, a rollback, a stale checkpoint or records that fail verification
//! (SPEC §13.2), with JSON findings that suit alerting.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use evidentia::{Error, ErrorCode};
use evidentia_store::{MonitorRound, monitor_round, monitor_tiles_round};

use crate::{Outcome, load_keys, text};

#[derive(Args, Debug)]
pub(crate) struct MonitorArgs {
    /// The log to watch: its folder, or its tlog-tiles publication (`log publish`)
    /// by folder or http(s):// URL prefix
    source: PathBuf,
    /// Keys trusted to sign the log's records and checkpoints: its key history
    /// (keys.jwks) as you last trusted it; after a key rotation, the new one
    #[arg(long)]
    jwks: PathBuf,
    /// Where the monitor keeps the checkpoint it trusts (created on the first
    /// round, which verifies the whole log and trusts its newest checkpoint)
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// Report records that no signed checkpoint has covered for longer than this
    /// (a log's folder only: a publication holds no record its checkpoint does
    /// not cover)
    #[arg(long, value_name = "SECONDS")]
    max_age: Option<u64>,
    /// Keep watching: a round every --interval seconds until one finds something
    #[arg(long)]
    follow: bool,
    /// Seconds between rounds with --follow
    #[arg(long, value_name = "SECONDS", default_value_t = 60, requires = "follow", value_parser = clap::value_parser!(u64).range(1..))]
    interval: u64,
    #[command(flatten)]
    metrics: crate::metrics_server::MetricsArgs,
}

/// Runs rounds (one, or until one has findings with `--follow`); exit 1 when a
/// round has findings.
pub(crate) fn run(args: &MonitorArgs, json: bool) -> Result<Outcome, Error> {
    let text = args.source.to_str().unwrap_or_default();
    if !evidentia_store::is_publication_url(text) && evidentia_store::postgres_location(&args.source)?.is_some() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "log monitor is for logs in a folder and publications so far, not for a log in PostgreSQL",
        ));
    }
    let keys = load_keys(&args.jwks)?;
    args.metrics.serve()?;
    let max_age = args.max_age.map(Duration::from_secs);
    let publication = crate::tiles::publication(&args.source);
    if publication.is_some() && max_age.is_some() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "--max-age is for a log's folder: a publication holds no record its checkpoint does not cover",
        ));
    }
    loop {
        let round = match &publication {
            Some(source) => monitor_tiles_round(source.as_ref(), &keys, &args.state)?,
            None => monitor_round(&args.source, &keys, &args.state, max_age)?,
        };
        print_round(&round, json)?;
        if !round.passed() {
            return Ok(Outcome::Invalid);
        }
        if !args.follow {
            return Ok(Outcome::Valid);
        }
        std::thread::sleep(Duration::from_secs(args.interval));
    }
}

/// Prints a round; an error when standard output is gone (a reader of the alerts
/// that stopped), so that a following monitor does not go on unheard.
fn print_round(round: &MonitorRound, json: bool) -> Result<(), Error> {
    let mut text_out = String::new();
    if json {
        text_out = format!("{}\n", text(&round.to_value()));
    } else {
        let size = |s: Option<u64>| s.map_or_else(|| "none".to_owned(), |s| s.to_string());
        let verdict = if round.passed() { "OK" } else { "ALERT" };
        let verification = round.report.as_ref().map_or_else(|| "not verified".to_owned(), |r| r.summary());
        text_out.push_str(&format!(
            "{} {verdict}: {} records; trusted checkpoint {} -> {}; verification: {verification}\n",
            round.checked_at,
            size(round.records),
            size(round.trusted_size),
            size(round.now_trusted_size),
        ));
        for finding in &round.findings {
            text_out.push_str(&format!("  - {}: {} [{}]\n", finding.kind.id(), finding.message, finding.code.name()));
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text_out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::new(ErrorCode::Io, format!("cannot write the round's result: {e}")))
}
