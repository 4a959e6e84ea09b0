//! `evidentia timestamp …`: RFC 3161 requests for a time-stamping authority (TSA),
//! and verification and storage of its responses. Evidentia never talks to the TSA:
//! the request goes out with any HTTP client (e.g. `curl --data-binary @req.tsq -H
//! 'Content-Type: application/timestamp-query' URL`), so verification never needs
//! the network.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use evidentia::json::Value;
use evidentia::timestamp::{
    HashAlgorithm, TimestampRequest, TimestampTrust, VerifiedTimestamp, read_certificates, verify_timestamp,
};
use evidentia::{Error, ErrorCode};
use evidentia_store::LogReader;

use crate::io::{io_error, outln, read_input};
use crate::{Outcome, in_file, text};

#[derive(Subcommand, Debug)]
pub(crate) enum TimestampCommand {
    /// Write a time-stamp request (.tsq) for a log's checkpoint, or for a file
    Request {
        /// The log directory: the request is for its newest checkpoint (or --size)
        #[arg(required_unless_present = "data", conflicts_with = "data")]
        log: Option<PathBuf>,
        /// The checkpoint of this many records instead of the newest
        #[arg(long, requires = "log")]
        size: Option<u64>,
        /// Timestamp this file instead of a checkpoint
        #[arg(long)]
        data: Option<PathBuf>,
        /// The imprint's hash: sha256, sha384 or sha512
        #[arg(long, default_value = "sha256", value_parser = ["sha256", "sha384", "sha512"])]
        hash: String,
        /// Where to write the request
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a TSA's response (.tsr) for one of a log's checkpoints and store it
    /// beside the checkpoint, so that packages exported later include it
    Attach {
        /// The log directory
        log: PathBuf,
        /// The response (.tsr)
        #[arg(long)]
        response: PathBuf,
        /// The request it answers: its imprint and nonce must match
        #[arg(long)]
        request: Option<PathBuf>,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Verify a TSA's response (.tsr) for a file or a log's checkpoint
    Verify {
        /// The response (.tsr)
        response: PathBuf,
        /// The file the token is for
        #[arg(long, required_unless_present = "log", conflicts_with = "log")]
        data: Option<PathBuf>,
        /// A log directory: the token is for its newest checkpoint (or --size)
        #[arg(long)]
        log: Option<PathBuf>,
        /// The checkpoint of this many records instead of the newest
        #[arg(long, requires = "log")]
        size: Option<u64>,
        /// The request it answers: its imprint and nonce must match
        #[arg(long)]
        request: Option<PathBuf>,
        #[command(flatten)]
        trust: TrustArgs,
    },
}

/// Whom to trust for timestamps.
#[derive(Args, Debug)]
pub(crate) struct TrustArgs {
    /// The TSA's trusted root certificate(s), PEM or DER; repeatable
    #[arg(long = "ca", required = true)]
    ca: Vec<PathBuf>,
    /// Other certificates that may complete the chain, PEM or DER; repeatable
    #[arg(long)]
    certs: Vec<PathBuf>,
    /// The TSA's own certificate: accept only tokens signed with exactly it that
    /// carry no certificate outside its chain
    #[arg(long)]
    tsa_cert: Option<PathBuf>,
}

impl TrustArgs {
    fn load(&self) -> Result<TimestampTrust, Error> {
        let read = |paths: &[PathBuf]| -> Result<Vec<Vec<u8>>, Error> {
            let mut all = Vec::new();
            for path in paths {
                all.extend(read_certificates(&read_input(Some(path))?).map_err(in_file(path))?);
            }
            Ok(all)
        };
        let tsa_certificate = match &self.tsa_cert {
            Some(path) => {
                let mut list = read(std::slice::from_ref(path))?;
                if list.len() != 1 {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        format!("{}: --tsa-cert takes exactly one certificate", path.display()),
                    ));
                }
                list.pop()
            }
            None => None,
        };
        Ok(TimestampTrust { roots: read(&self.ca)?, intermediates: read(&self.certs)?, tsa_certificate })
    }
}

pub(crate) fn run(command: &TimestampCommand, json: bool) -> Result<Outcome, Error> {
    match command {
        TimestampCommand::Request { log, size, data, hash, out } => {
            let hash = HashAlgorithm::from_name(hash)
                .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, "--hash is sha256, sha384 or sha512"))?;
            let (bytes, what) = subject(log.as_deref(), *size, data.as_deref())?;
            let mut nonce = [0u8; 8];
            getrandom::fill(&mut nonce)
                .map_err(|_| Error::new(ErrorCode::Internal, "the system random source failed"))?;
            let request = TimestampRequest::new(&bytes, hash, nonce);
            if out.exists() {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!("{} exists; choose a new path", out.display()),
                ));
            }
            std::fs::write(out, request.to_der()).map_err(|e| io_error("write", out, &e))?;
            if json {
                outln!(
                    "{}",
                    text(&Value::object([
                        ("for", Value::from(what)),
                        ("hash", Value::from(hash.name())),
                        ("imprint", Value::from(evidentia::encoding::hex(request.imprint()))),
                        ("request", Value::from(out.display().to_string())),
                    ]))
                );
            } else {
                eprintln!(
                    "wrote {} for {what}; send it to a time-stamping authority, e.g.\n  curl -sS -H 'Content-Type: application/timestamp-query' --data-binary @{} https://TSA-URL -o response.tsr",
                    out.display(),
                    out.display()
                );
            }
            Ok(Outcome::Valid)
        }
        TimestampCommand::Attach { log, response, request, trust } => {
            let trust = trust.load()?;
            let request = load_request(request.as_deref())?;
            let response_bytes = read_input(Some(response))?;
            let (size, verified) = evidentia_store::attach_timestamp(log, &response_bytes, request.as_ref(), &trust)
                .map_err(in_file(response))?;
            print_verified(&verified, &format!("the checkpoint of {size} records (stored with it)"), json);
            Ok(Outcome::Valid)
        }
        TimestampCommand::Verify { response, data, log, size, request, trust } => {
            let trust = trust.load()?;
            let request = load_request(request.as_deref())?;
            let (bytes, what) = subject(log.as_deref(), *size, data.as_deref())?;
            let verified = verify_timestamp(&read_input(Some(response))?, &bytes, request.as_ref(), &trust)
                .map_err(in_file(response))?;
            print_verified(&verified, &what, json);
            Ok(Outcome::Valid)
        }
    }
}

/// The bytes a timestamp is for, and words for them: a file, or a log's checkpoint
/// (its whole signed note).
fn subject(log: Option<&Path>, size: Option<u64>, data: Option<&Path>) -> Result<(Vec<u8>, String), Error> {
    match (log, data) {
        (_, Some(path)) => Ok((read_input(Some(path))?, path.display().to_string())),
        (Some(dir), None) => {
            let reader = LogReader::open(dir)?;
            let checkpoint = reader.checkpoint_of_size(size)?;
            Ok((
                checkpoint.note.clone().into_bytes(),
                format!("the checkpoint of {} records of {}", checkpoint.size, dir.display()),
            ))
        }
        (None, None) => Err(Error::new(ErrorCode::InvalidArgument, "give a log directory or --data FILE")),
    }
}

fn load_request(path: Option<&Path>) -> Result<Option<TimestampRequest>, Error> {
    path.map(|p| TimestampRequest::parse(&read_input(Some(p))?).map_err(in_file(p))).transpose()
}

fn print_verified(verified: &VerifiedTimestamp, what: &str, json: bool) {
    let root = verified.root_fingerprint();
    if json {
        let mut value = verified.to_value();
        if let Value::Object(members) = &mut value {
            members.push(("for".into(), Value::from(what)));
            members.push(("valid".into(), Value::Bool(true)));
        }
        outln!("{}", text(&value));
    } else {
        outln!("VALID: a trusted timestamp says {what} existed at {}", verified.gen_time);
        outln!("  authority: {}", verified.tsa);
        outln!("  chain:     {}", verified.chain.join("  <-  "));
        outln!("  root SHA-256 fingerprint: {root}");
        outln!("  imprint {}, serial {}, policy {}", verified.hash.name(), verified.serial, verified.policy);
    }
}
