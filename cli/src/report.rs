//! Verification reports as the CLI prints them: as text or JSON, stating when they
//! were made, and signed as a JWS with `--sign` (SPEC §14.1); `evidentia report
//! verify` checks a signed report.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use evidentia::json::Value;
use evidentia::{Error, Report, verify_signed_report};

use crate::io::{out, outln, read_input};
use crate::{AnySigner, Outcome, in_file, load_keys, load_signing_key, text};

/// How a verifying command hands out its report.
#[derive(Args, Debug)]
pub(crate) struct ReportArgs {
    /// Sign the report with this key (a key file, or a `pkcs11:` URI) and print it
    /// as a JWS (SPEC §14.1) instead, for `evidentia report verify`; the verdict
    /// goes to standard error and the exit code is the same. Needs --jwks: a signed
    /// report vouches for the keys it was verified with, never for keys that came
    /// with the evidence
    #[arg(long, value_name = "KEY", requires = "jwks")]
    sign: Option<PathBuf>,
}

impl ReportArgs {
    /// The signer `--sign` names, opened before verification starts so that a
    /// wrong key fails at once.
    pub(crate) fn signer(&self) -> Result<Option<AnySigner>, Error> {
        self.sign.as_deref().map(load_signing_key).transpose()
    }
}

/// Prints a report (its time set to now unless the store already set it): as
/// text, as JSON, or signed with `signer`.
pub(crate) fn print_report(report: Report, json: bool, signer: Option<&AnySigner>) -> Result<Outcome, Error> {
    let report = match report.made() {
        Some(_) => report,
        None => report.made_at(evidentia_store::now()?),
    };
    if let Some(signer) = signer {
        outln!("{}", report.sign(signer.as_ref())?);
        eprintln!("{}", report.summary());
    } else if json {
        outln!("{}", report.to_json());
    } else {
        out!("{}", report.to_text());
    }
    Ok(if report.is_valid() { Outcome::Valid } else { Outcome::Invalid })
}

#[derive(Subcommand, Debug)]
pub(crate) enum ReportCommand {
    /// Check a signed verification report (from `--sign`): that a trusted key
    /// signed it, valid at the time the report states it was made (the signer's own
    /// claim), and show what it states. Exits 0 when the report is authentic and
    /// says VALID; 1 when it says INVALID, its signature does not verify, or its key
    /// is not in the key set or was not valid then (KEY_NOT_FOUND, KEY_EXPIRED,
    /// KEY_REVOKED, KEY_NOT_YET_VALID); 2 when it is not a signed report
    Verify {
        /// The signed report (a JWS), or - for standard input
        report: PathBuf,
        /// Keys trusted to sign reports (JWKS, or a single JWK)
        #[arg(long)]
        jwks: PathBuf,
    },
}

pub(crate) fn run(command: &ReportCommand, json: bool) -> Result<Outcome, Error> {
    let ReportCommand::Verify { report, jwks } = command;
    let keys = load_keys(jwks)?;
    let jws = String::from_utf8(read_input(Some(report))?).map_err(|_| {
        Error::new(evidentia::ErrorCode::ReportMalformed, format!("{}: the report is not UTF-8 text", report.display()))
    })?;
    let signed = verify_signed_report(&jws, &keys).map_err(in_file(report))?;
    if json {
        let statement = evidentia::json::parse(signed.json.as_bytes())?;
        outln!(
            "{}",
            text(&Value::object([
                ("authentic", Value::Bool(true)),
                ("kid", Value::from(signed.kid.as_str())),
                ("report", statement),
            ]))
        );
    } else {
        outln!(
            "AUTHENTIC: a {} report signed by key {}, made at {} by Evidentia {}",
            signed.subject.replace('_', " "),
            signed.kid,
            signed.made_at,
            signed.evidentia_version
        );
        if let Some(log_id) = &signed.log_id {
            outln!("  log id: {log_id}");
        }
        if let Some(tree) = &signed.tree {
            outln!("  tree:   {} records, root {}", tree.size, evidentia::encoding::b64(&tree.root));
        }
        if let Some((seq, digest)) = signed.record {
            outln!("  record: {seq} ({digest})");
        }
        outln!("  verified with the keys {}", signed.keys.join(", "));
        outln!("  it says: {}", signed.summary);
    }
    Ok(if signed.valid { Outcome::Valid } else { Outcome::Invalid })
}
