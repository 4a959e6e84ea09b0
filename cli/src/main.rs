//! `evidentia`: make and check tamper-evident evidence from the command line.
//!
//! Exit status: 0 valid, 1 verification failed, 2 malformed input or usage error.
#![forbid(unsafe_code)]

mod demo;
mod io;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use evidentia::json::Value;
use evidentia::{Error, ErrorCode, JwsOptions, KeySet, PublicKey, SigningKey, canonicalize, sign_jws, verify_jws};
use evidentia_store::{CreateOptions, Log, verify_dir};

use crate::io::{read_input, read_text, write_key_file};

#[derive(Parser, Debug)]
#[command(
    name = "evidentia",
    version,
    about = "Tamper-evident evidence: canonical JSON, ES256 receipts, hash-chained logs"
)]
#[command(after_help = "Exit status: 0 valid, 1 verification failed, 2 malformed input or usage error.")]
struct Cli {
    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the RFC 8785 canonical form of a JSON document
    Canonicalize {
        /// JSON file, or - for standard input
        file: Option<PathBuf>,
    },
    /// Generate a P-256 signing key (a private JWK)
    Keygen {
        /// Write the key to this file (mode 0600) instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overwrite the file if it exists
        #[arg(long)]
        force: bool,
    },
    /// Print the public key of a key file
    Pubkey {
        /// Key file: JWK or PEM, private or public
        key: PathBuf,
        #[arg(long, value_enum, default_value_t = KeyFormat::Jwk)]
        format: KeyFormat,
    },
    /// Sign and verify JSON Web Signatures (ES256)
    #[command(subcommand)]
    Jws(JwsCommand),
    /// Create, append to and verify evidence logs
    #[command(subcommand)]
    Log(LogCommand),
    /// Verify receipts
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Create a log, append 1,000 events, verify it, then tamper with copies and
    /// show that every change is detected
    Demo {
        /// Directory to work in (default: a new directory under the system's temporary directory)
        dir: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum KeyFormat {
    Jwk,
    Pem,
}

#[derive(Subcommand, Debug)]
enum JwsCommand {
    /// Sign a payload; prints the compact JWS
    Sign {
        /// Signing key file (JWK or PEM)
        #[arg(long)]
        key: PathBuf,
        /// Leave the payload out of the JWS
        #[arg(long)]
        detached: bool,
        /// Sign the payload bytes as they are (RFC 7797, "b64": false)
        #[arg(long)]
        unencoded: bool,
        /// Payload file, or - for standard input
        file: Option<PathBuf>,
    },
    /// Verify a compact JWS against a key set
    Verify {
        /// Trusted keys: a JWKS, or a single JWK
        #[arg(long)]
        jwks: PathBuf,
        /// The payload of a detached JWS
        #[arg(long)]
        payload: Option<PathBuf>,
        /// File holding the JWS, or - for standard input
        jws: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum LogCommand {
    /// Create a new log in DIR
    Init {
        dir: PathBuf,
        /// The log's signing key file (JWK or PEM); remembered for appends
        #[arg(long)]
        key: PathBuf,
        /// The log id (printable ASCII, no spaces); random by default
        #[arg(long)]
        id: Option<String>,
    },
    /// Append an event (JSON); prints its receipt once it is on disk
    Append {
        dir: PathBuf,
        /// Event file, or - for standard input
        event: Option<PathBuf>,
        /// A nonce to bind into the record (a request id); must be unique in the log
        #[arg(long)]
        nonce: Option<String>,
        /// Signing key file, if not the one the log was created with
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Verify every record of the log in DIR
    Verify(LogVerifyArgs),
    /// Retire the log's signing key and continue with a new one
    Rotate {
        dir: PathBuf,
        /// The new signing key file (JWK or PEM)
        #[arg(long)]
        key: PathBuf,
    },
}

#[derive(Args, Debug)]
struct LogVerifyArgs {
    dir: PathBuf,
    /// Trusted keys (JWKS); by default the log's own key history
    #[arg(long)]
    jwks: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum ReceiptCommand {
    /// Verify one receipt, and optionally the event it commits to
    Verify {
        /// File holding the receipt, or - for standard input
        receipt: PathBuf,
        /// Trusted keys: a JWKS (with validity history), or a single JWK
        #[arg(long)]
        jwks: PathBuf,
        /// The original event (JSON in any formatting)
        #[arg(long)]
        event: Option<PathBuf>,
    },
}

/// What a command established.
enum Outcome {
    /// Done, or verified and valid.
    Valid,
    /// Verified, and the evidence is invalid.
    Invalid,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(Outcome::Valid) => ExitCode::SUCCESS,
        Ok(Outcome::Invalid) => ExitCode::from(1),
        Err(e) if e.is_verification_failure() => {
            report_error(&e, cli.json);
            ExitCode::from(1)
        }
        Err(e) => {
            report_error(&e, cli.json);
            ExitCode::from(2)
        }
    }
}

fn report_error(e: &Error, json: bool) {
    if json {
        let error = Value::object([
            ("code", Value::from(u32::from(e.code() as u16))),
            ("message", Value::from(e.message())),
            ("name", Value::from(e.code().name())),
        ]);
        println!("{}", text(&Value::object([("error", error)])));
    } else {
        eprintln!("error: {} [{}]", e.message(), e.code().name());
    }
}

/// Canonical JSON text of a value the CLI built.
fn text(value: &Value) -> String {
    evidentia::canonicalize_value(value).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

fn load_signing_key(path: &Path) -> Result<SigningKey, Error> {
    let text = read_text(path)?;
    SigningKey::from_text(&text).map_err(|e| Error::new(e.code(), format!("{}: {e}", path.display())))
}

fn load_keys(path: &Path) -> Result<KeySet, Error> {
    let text = read_text(path)?;
    KeySet::from_json(&text).map_err(|e| Error::new(e.code(), format!("{}: {e}", path.display())))
}

fn print_report(report: &evidentia::Report, json: bool) -> Outcome {
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    if report.is_valid() { Outcome::Valid } else { Outcome::Invalid }
}

fn run(cli: &Cli) -> Result<Outcome, Error> {
    let json = cli.json;
    match &cli.command {
        Command::Canonicalize { file } => {
            let input = read_input(file.as_deref())?;
            let canonical = canonicalize(&input)?;
            io::write_stdout(&canonical)?;
        }
        Command::Keygen { out, force } => {
            let key = SigningKey::generate()?;
            match out {
                Some(path) => {
                    write_key_file(path, key.to_jwk().as_bytes(), *force)?;
                    if json {
                        println!(
                            "{}",
                            text(&Value::object([
                                ("kid", Value::from(key.kid())),
                                ("path", Value::from(path.display().to_string()))
                            ]))
                        );
                    } else {
                        eprintln!("wrote private key {} (kid {})", path.display(), key.kid());
                    }
                }
                None => println!("{}", key.to_jwk()),
            }
        }
        Command::Pubkey { key, format } => {
            let text = read_text(key)?;
            let public =
                PublicKey::from_text(&text).map_err(|e| Error::new(e.code(), format!("{}: {e}", key.display())))?;
            match format {
                KeyFormat::Jwk => println!("{}", public.to_jwk()),
                KeyFormat::Pem => print!("{}", public.to_pem()),
            }
        }
        Command::Jws(JwsCommand::Sign { key, detached, unencoded, file }) => {
            let key = load_signing_key(key)?;
            let payload = read_input(file.as_deref())?;
            println!("{}", sign_jws(&key, &payload, JwsOptions { detached: *detached, unencoded: *unencoded })?);
        }
        Command::Jws(JwsCommand::Verify { jwks, payload, jws }) => {
            let keys = load_keys(jwks)?;
            let compact = String::from_utf8(read_input(jws.as_deref())?)
                .map_err(|_| Error::new(ErrorCode::JwsMalformed, "the JWS is not UTF-8 text"))?;
            let payload = payload.as_deref().map(|p| read_input(Some(p))).transpose()?;
            let verified = verify_jws(compact.trim(), &keys, payload.as_deref(), None)?;
            if json {
                let header = evidentia::json::parse(verified.header.as_bytes())?;
                println!(
                    "{}",
                    text(&Value::object([
                        ("header", header),
                        ("kid", Value::from(verified.kid.as_str())),
                        ("payload", Value::from(evidentia::encoding::b64url(&verified.payload))),
                        ("valid", Value::Bool(true)),
                    ]))
                );
            } else {
                println!("VALID: signature verified with key {}", verified.kid);
                println!("  header:  {}", verified.header);
                match std::str::from_utf8(&verified.payload) {
                    Ok(text) => println!("  payload: {text}"),
                    Err(_) => println!(
                        "  payload: {} bytes (base64url {})",
                        verified.payload.len(),
                        evidentia::encoding::b64url(&verified.payload)
                    ),
                }
            }
        }
        Command::Log(LogCommand::Init { dir, key, id }) => {
            let signing = load_signing_key(key)?;
            let key_file =
                std::path::absolute(key).map_err(|e| Error::new(ErrorCode::Io, format!("{}: {e}", key.display())))?;
            let log = Log::create(dir, &signing, CreateOptions { log_id: id.clone(), key_file: Some(key_file) })?;
            if json {
                println!(
                    "{}",
                    text(&Value::object([
                        ("dir", Value::from(dir.display().to_string())),
                        ("kid", Value::from(signing.kid())),
                        ("log_id", Value::from(log.log_id()))
                    ]))
                );
            } else {
                eprintln!("created log {} in {} (signing key {})", log.log_id(), dir.display(), signing.kid());
            }
        }
        Command::Log(LogCommand::Append { dir, event, nonce, key }) => {
            let mut log = Log::open(dir)?;
            let key_path = match (key, log.key_file()) {
                (Some(path), _) => path.clone(),
                (None, Some(path)) => path.to_owned(),
                (None, None) => {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        "the log has no key file on record: pass --key",
                    ));
                }
            };
            let key = load_signing_key(&key_path)?;
            let event = read_input(event.as_deref())?;
            let receipt = log.append(&key, &event, nonce.as_deref())?;
            println!("{}", receipt.as_str());
        }
        Command::Log(LogCommand::Verify(args)) => {
            let keys = args.jwks.as_deref().map(load_keys).transpose()?;
            let report = verify_dir(&args.dir, keys.as_ref(), |_| {})?;
            if keys.is_none() && !json {
                println!("(keys: the log's own key history; pass --jwks with keys you trust to check who signed)");
            }
            return Ok(print_report(&report, json));
        }
        Command::Log(LogCommand::Rotate { dir, key }) => {
            let new_key = load_signing_key(key)?;
            let key_file =
                std::path::absolute(key).map_err(|e| Error::new(ErrorCode::Io, format!("{}: {e}", key.display())))?;
            let mut log = Log::open(dir)?;
            log.rotate(&new_key, Some(key_file))?;
            eprintln!("log {} now signs with key {}", log.log_id(), new_key.kid());
        }
        Command::Receipt(ReceiptCommand::Verify { receipt, jwks, event }) => {
            let keys = load_keys(jwks)?;
            let receipt = String::from_utf8(read_input(Some(receipt))?)
                .map_err(|_| Error::new(ErrorCode::JwsMalformed, "the receipt is not UTF-8 text"))?;
            let event = event.as_deref().map(|p| read_input(Some(p))).transpose()?;
            let report = evidentia::verify_receipt(receipt.trim(), &keys, event.as_deref())?;
            return Ok(print_report(&report, json));
        }
        Command::Demo { dir } => return demo::run(dir.as_deref(), json),
    }
    Ok(Outcome::Valid)
}
