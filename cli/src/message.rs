//! `evidentia message …`: record what another party signed (or what was sent to
//! it), show it, and check it again years later (SPEC.md §21).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use evidentia::json::{self, Value};
use evidentia::{Direction, Error, ErrorCode, NewMessage, SignedMessage};
use evidentia_store::{AppendOptions, LogReader, now};

use crate::io::{outln, read_input, read_text, write_stdout};
use crate::log::{WaitArg, open, signing_key};
use crate::{Outcome, text};

#[derive(Subcommand, Debug)]
pub(crate) enum MessageCommand {
    /// Check a JWS another party signed (or one sent to it) and record it in a log
    /// with the keys it was checked against and where they came from; prints the
    /// record's acknowledgement. A signature that does not verify is refused
    /// unless --record-failure is given
    Record {
        /// The log directory
        dir: PathBuf,
        /// File holding the compact JWS exactly as it arrived
        #[arg(long)]
        jws: PathBuf,
        /// The payload of a detached JWS
        #[arg(long)]
        payload: Option<PathBuf>,
        /// The partner's keys the signature is checked against: a JWKS or one JWK
        /// (public keys only). They are stored with the message as its key snapshot
        #[arg(long)]
        keys: PathBuf,
        /// Where the keys came from: a JSON object with jwks_url, fetched_at,
        /// tls_certificate_sha256, key_thumbprint, partner_id, established_by and
        /// any other members (SPEC.md §21.2)
        #[arg(long)]
        provenance: Option<PathBuf>,
        /// inbound: received from the partner; outbound: sent to it
        #[arg(long, value_parser = ["inbound", "outbound"])]
        direction: String,
        /// The record this message answers (a request's sequence number)
        #[arg(long)]
        link: Option<u64>,
        /// Record the message even if its signature does not verify, marked as failed
        #[arg(long)]
        record_failure: bool,
        /// A nonce to bind into the record (a request id); must be unique in the log
        #[arg(long)]
        nonce: Option<String>,
        /// The log's signing key file (default: the one the log remembers)
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Show the signed message a record holds: the JWS, its decoded payload, the
    /// key snapshot, the provenance and the result of the check when it was recorded
    Show {
        /// The log directory
        dir: PathBuf,
        /// The record's sequence number
        #[arg(long)]
        index: u64,
    },
    /// Check a recorded message's signature again with the keys recorded with it,
    /// and say whether that agrees with the result recorded (exit 0: it does and
    /// the signature is valid)
    Verify {
        /// The log directory
        dir: PathBuf,
        /// The record's sequence number
        #[arg(long)]
        index: u64,
    },
}

fn read_json(path: &Path) -> Result<Value, Error> {
    let bytes = read_input(Some(path))?;
    json::parse(&bytes).map_err(|e| Error::new(e.code(), format!("{}: {e}", path.display())))
}

fn stored_message(reader: &LogReader, index: u64) -> Result<SignedMessage, Error> {
    reader.message(index)?.ok_or_else(|| {
        Error::new(ErrorCode::InvalidArgument, format!("record {index} holds an event, not a signed message"))
    })
}

pub(crate) fn run(command: &MessageCommand, json: bool) -> Result<Outcome, Error> {
    match command {
        MessageCommand::Record {
            dir,
            jws,
            payload,
            keys,
            provenance,
            direction,
            link,
            record_failure,
            nonce,
            key,
            wait,
        } => {
            let jws_text = read_text(jws)?;
            let detached = payload.as_deref().map(|p| read_input(Some(p))).transpose()?;
            let keys = evidentia::PartnerKeys::from_json(&read_text(keys)?)
                .map_err(|e| Error::new(e.code(), format!("{}: {e}", keys.display())))?;
            let provenance = match provenance {
                Some(path) => read_json(path)?,
                None => Value::object(Vec::<(String, Value)>::new()),
            };
            let log = open(dir, *wait, json)?;
            let signing = signing_key(&log, key.as_deref())?;
            let link = link.map(|seq| log.link_to(seq)).transpose()?;
            let message = SignedMessage::verify_new(&NewMessage {
                // A file's final line feed is not part of a compact JWS.
                jws: jws_text.trim_end_matches(['\n', '\r']),
                detached_payload: detached.as_deref(),
                keys: &keys,
                provenance: &provenance,
                direction: Direction::from_name(direction)?,
                link,
                record_failure: *record_failure,
                at: now()?,
            })?;
            let appended = log.record_message(&signing, &message, nonce.as_deref(), &AppendOptions::default())?;
            if !message.verification.is_valid() {
                eprintln!("recorded as failed: {}", message.verification.describe());
            }
            write_stdout(format!("{}\n", appended.to_line()).as_bytes())?;
            Ok(Outcome::Valid)
        }
        MessageCommand::Show { dir, index } => {
            let message = stored_message(&LogReader::open(dir)?, *index)?;
            let payload = message.payload()?;
            if json {
                outln!("{}", text(&message.describe()));
            } else {
                outln!("{} signed message, recorded at index {index}", message.direction.name());
                outln!("  checked:    {} at {}", message.verification.describe(), message.verification.verified_at);
                outln!("  by:         Evidentia {}", message.verification.evidentia_version);
                match std::str::from_utf8(&payload) {
                    Ok(text) => outln!("  payload:    {text}"),
                    Err(_) => outln!("  payload:    {} bytes", payload.len()),
                }
                for key in message.keys.keys() {
                    outln!("  key:        {} {} (kid {})", key.key_type(), key.thumbprint(), key.kid().unwrap_or("-"));
                }
                outln!("  provenance: {}", text(&message.provenance));
                if let Some(link) = &message.link {
                    outln!("  answers:    record {} ({})", link.seq, link.record);
                }
                outln!("  jws:        {}", message.jws);
            }
            Ok(Outcome::Valid)
        }
        MessageCommand::Verify { dir, index } => {
            let checked = LogReader::open(dir)?.verify_message(*index)?;
            let valid = checked.is_valid();
            if json {
                outln!("{}", text(&checked.to_value()));
            } else {
                outln!("{}: signed message at index {index}", checked.status());
                outln!("  recorded: {} — checked at {}", checked.original.describe(), checked.original.verified_at);
                outln!("  now:      {} — checked at {}", checked.again.describe(), checked.again.verified_at);
                if valid {
                    outln!(
                        "  The holder of this key signed exactly this payload. Whose key it is rests on the provenance recorded with it."
                    );
                }
            }
            Ok(if valid { Outcome::Valid } else { Outcome::Invalid })
        }
    }
}
