//! `evidentia commitment …`: salted commitments to events, disclosures checked
//! against a record's event digest, and keyed hashes (SPEC.md §26).

use std::path::PathBuf;

use clap::Subcommand;
use evidentia::json::Value;
use evidentia::{Digest, Error, ErrorCode};

use crate::io::{outln, read_input};
use crate::{Outcome, in_file, text};

#[derive(Subcommand, Debug)]
pub(crate) enum CommitmentCommand {
    /// Commit to an event member by member, each member behind a salt: prints the
    /// commitment document, the event digest a record holds, each member's
    /// disclosure, and the event salt (keep it with the event, never in the record)
    Make {
        /// The event: a JSON file, or - for standard input
        event: PathBuf,
        /// The event salt in hex, 16 to 64 bytes (default: 16 fresh random bytes);
        /// a fixed salt only for test vectors
        #[arg(long, value_name = "HEX")]
        salt_hex: Option<String>,
    },
    /// Check disclosures against a commitment document and the record's event
    /// digest: prints the members they prove and how many stay hidden
    Check {
        /// The commitment document (a file)
        commitment: PathBuf,
        /// The record's event digest, sha256:<hex>
        #[arg(long, value_name = "DIGEST")]
        event_digest: String,
        /// A disclosure (base64url); repeatable
        #[arg(long = "disclosure", value_name = "DISCLOSURE", allow_hyphen_values = true)]
        disclosures: Vec<String>,
        /// A file of disclosures, one per line (for disclosures too long for an
        /// argument); repeatable
        #[arg(long = "disclosure-file", value_name = "FILE")]
        disclosure_files: Vec<PathBuf>,
    },
    /// Print hmac-sha256:<hex> of a value under a key of at least 16 bytes, to write
    /// into an event in place of personal data
    KeyedHash {
        /// The key: a file of at least 16 bytes, kept outside the log
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The value, as UTF-8 text
        #[arg(long, allow_hyphen_values = true)]
        value: String,
    },
}

pub(crate) fn run(command: &CommitmentCommand, json: bool) -> Result<Outcome, Error> {
    match command {
        CommitmentCommand::Make { event, salt_hex } => {
            let salt = match salt_hex {
                Some(hex) => decode_hex(hex)?,
                None => {
                    let mut salt = vec![0u8; evidentia::MIN_SALT_BYTES];
                    getrandom::fill(&mut salt)
                        .map_err(|_| Error::new(ErrorCode::Internal, "the system random source failed"))?;
                    salt
                }
            };
            let source = if event.as_os_str() == "-" { None } else { Some(event.as_path()) };
            let commitment = evidentia::commit_json(&read_input(source)?, &salt).map_err(in_file(event))?;
            let mut doc = commitment.to_value();
            if let Value::Object(members) = &mut doc {
                members.push(("salt_hex".into(), Value::from(evidentia::encoding::hex(&salt))));
            }
            if json {
                outln!("{}", text(&doc));
            } else {
                outln!("event digest: {}", commitment.digest());
                outln!("commitment:   {}", String::from_utf8_lossy(&commitment.document));
                outln!("event salt:   {} (keep it with the event)", evidentia::encoding::hex(&salt));
                for d in &commitment.disclosures {
                    // A name as JSON text, so that no name can pass for another line.
                    let name = d.name().map_or_else(|| "the whole event".to_owned(), |n| text(&Value::from(n)));
                    outln!("disclosure of {name}: {}", d.encoded());
                }
            }
        }
        CommitmentCommand::Check { commitment, event_digest, disclosures, disclosure_files } => {
            let digest = Digest::parse(event_digest)?;
            let mut from_files = Vec::new();
            for file in disclosure_files {
                let text = String::from_utf8(read_input(Some(file))?).map_err(|_| {
                    Error::new(ErrorCode::InvalidArgument, format!("{}: is not UTF-8 text", file.display()))
                })?;
                from_files.extend(text.lines().filter(|line| !line.trim().is_empty()).map(str::to_owned));
            }
            let given: Vec<&str> = disclosures.iter().chain(&from_files).map(String::as_str).collect();
            let shown = evidentia::check_disclosures(&digest, &read_input(Some(commitment))?, &given)?;
            if json {
                outln!("{}", text(&shown.to_value()));
            } else {
                outln!(
                    "VALID: {} disclosed member(s) of the event with the digest {digest}, {} hidden",
                    shown.disclosures.len(),
                    shown.undisclosed
                );
                outln!("{}", text(&shown.event()));
            }
        }
        CommitmentCommand::KeyedHash { key, value } => {
            let hash = evidentia::keyed_hash(&read_input(Some(key))?, value.as_bytes()).map_err(in_file(key))?;
            if json {
                outln!("{}", text(&Value::object([("keyed_hash", Value::from(hash.as_str()))])));
            } else {
                outln!("{hash}");
            }
        }
    }
    Ok(Outcome::Valid)
}

/// Bytes from hex (either case).
pub(crate) fn decode_hex(hex: &str) -> Result<Vec<u8>, Error> {
    evidentia::encoding::hex_decode(hex)
        .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, "--salt-hex is an even number of hex digits"))
}
