//! `evidentia`: make and check tamper-evident evidence from the command line.
//!
//! Exit status: 0 valid, 1 verification failed, 2 malformed input or usage error.
#![forbid(unsafe_code)]

mod commitment;
mod demo;
mod io;
mod log;
mod message;
mod metrics_server;
mod monitor;
mod pg;
mod progress;
mod report;
mod tiles;
mod timestamp;
mod witness;
mod witness_client;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use evidentia::json::Value;
use evidentia::{
    ConsistencyProof, Error, ErrorCode, InclusionProof, JwsOptions, KeySet, PublicKey, Signer, SigningKey,
    canonicalize, sign_jws, verify_jws,
};

use crate::io::{out, outln, read_input, read_text, write_key_file};

#[derive(Parser, Debug)]
#[command(
    name = "evidentia",
    version,
    about = "Tamper-evident evidence: canonical JSON, ES256 receipts, hash-chained and Merkle-tree logs"
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
    /// Generate a P-256 signing key (a private JWK), or a key in a PKCS#11 token
    Keygen {
        /// Write the key to this file (mode 0600) instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overwrite the file if it exists
        #[arg(long)]
        force: bool,
        /// Generate the key in a PKCS#11 token instead, named by this RFC 7512 URI
        /// (token, object label and/or id, pin-source, module-path); prints its
        /// public JWK. The private key never leaves the token
        #[arg(long, value_name = "URI", conflicts_with_all = ["out", "force"])]
        pkcs11: Option<String>,
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
    /// Salted commitments to events, disclosures of some of their members, and
    /// keyed hashes that keep personal data out of events (SPEC.md §26)
    #[command(subcommand)]
    Commitment(commitment::CommitmentCommand),
    /// Create, append to, prove from and verify evidence logs
    #[command(subcommand)]
    Log(log::LogCommand),
    /// Record, show and check again messages another party signed (a partner's
    /// JWS with its key snapshot and provenance)
    #[command(subcommand)]
    Message(message::MessageCommand),
    /// Verify receipts and batch receipts
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Check signed verification reports (made with `--sign`)
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Verify inclusion and consistency proofs against signed checkpoints
    #[command(subcommand)]
    Proof(ProofCommand),
    /// Verify signed checkpoints (C2SP signed notes) on their own
    #[command(subcommand)]
    Checkpoint(CheckpointCommand),
    /// Verify evidence files (SPEC.md §18): a receipt or batch receipt with the key
    /// set and event to check it with, as `log receipt --evidence` writes them
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Write an evidence package for one record: a folder (and a .tar.gz of it) that
    /// an auditor checks with nothing but OpenSSL (`sh verify.sh`)
    Export {
        /// The log directory, or a postgres:// URL
        dir: PathBuf,
        /// The record's sequence number
        #[arg(long)]
        index: u64,
        /// The package folder to create; the archive is written beside it as
        /// <OUT>.tar.gz. Neither may exist
        #[arg(long)]
        out: PathBuf,
        /// For a record of version 2, disclose only these members of its event,
        /// comma-separated (e.g. amount,currency): the others stay hidden, and the
        /// package still proves those shown belong to the signed record. Without
        /// it, every member is disclosed
        #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
        disclose: Option<Vec<String>>,
    },
    /// Check evidence packages
    #[command(subcommand)]
    Package(PackageCommand),
    /// RFC 3161 trusted timestamps of a log's checkpoints (or of any file) from an
    /// independent time-stamping authority. Evidentia never contacts the authority
    /// itself: send the request with any HTTP client
    #[command(subcommand)]
    Timestamp(timestamp::TimestampCommand),
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
        /// Signing key file (JWK or PEM), or a key in a PKCS#11 token (a `pkcs11:` URI)
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
enum PackageCommand {
    /// Check an evidence package (a folder or its .tar.gz) as its verify.sh does
    Verify {
        /// The package folder or .tar.gz
        path: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum ReceiptCommand {
    /// Verify one receipt or batch receipt, and optionally the event it commits to
    Verify {
        /// File holding the receipt (a JWS) or batch receipt (JSON), or - for standard input
        receipt: PathBuf,
        /// Trusted keys: a JWKS (with validity history), or a single JWK
        #[arg(long)]
        jwks: PathBuf,
        /// The original event (JSON in any formatting)
        #[arg(long)]
        event: Option<PathBuf>,
        /// The event's salt in hex, for a record of version 2, which commits to
        /// its event under it: from `evidentia log salt`
        #[arg(long = "salt-hex", value_name = "HEX")]
        salt_hex: Option<String>,
        #[command(flatten)]
        report: report::ReportArgs,
    },
}

#[derive(Subcommand, Debug)]
enum ProofCommand {
    /// Verify an inclusion proof (with the record it proves) or a consistency proof
    /// (with the older checkpoint) against a signed checkpoint
    Verify {
        /// The proof (JSON from 'log prove' or 'log consistency')
        proof: PathBuf,
        /// The signed checkpoint the proof leads to
        #[arg(long)]
        checkpoint: PathBuf,
        /// Trusted keys of the log (JWKS)
        #[arg(long)]
        jwks: PathBuf,
        /// For an inclusion proof: the record's receipt or batch receipt
        #[arg(long, conflicts_with = "record")]
        receipt: Option<PathBuf>,
        /// For an inclusion proof: the record's canonical bytes
        #[arg(long)]
        record: Option<PathBuf>,
        /// For a consistency proof: the older signed checkpoint
        #[arg(long)]
        old_checkpoint: Option<PathBuf>,
    },
    /// Verify a C2SP tlog-proof for an entry: the inclusion proof and its checkpoint,
    /// whose witness cosignatures must meet the policy's quorum
    VerifyTlog(witness::VerifyTlogArgs),
}

#[derive(Subcommand, Debug)]
enum CheckpointCommand {
    /// Verify that a checkpoint is signed by a key of the log (SPEC.md §10) and print
    /// the log, size and root it states
    Verify {
        /// The signed checkpoint (from 'log checkpoint'), or - for standard input
        note: PathBuf,
        /// Trusted keys of the log (JWKS)
        #[arg(long)]
        jwks: PathBuf,
    },
    /// Check a checkpoint's witness cosignatures against a C2SP tlog-policy: the log
    /// key that signed, which witnesses cosigned and when, and whether the quorum is
    /// met (exit 1 when not: POLICY_NOT_SATISFIED)
    VerifyPolicy(witness::VerifyPolicyArgs),
}

#[derive(Subcommand, Debug)]
enum EvidenceCommand {
    /// Verify the receipt or batch receipt of an evidence file, with the event it
    /// holds, against the key set it holds or the one given
    Verify {
        /// The evidence file, or - for standard input
        file: PathBuf,
        /// Trusted keys to verify with instead of the file's own: the file's keys
        /// come from whoever made it, so confirm them independently
        #[arg(long)]
        jwks: Option<PathBuf>,
        #[command(flatten)]
        report: report::ReportArgs,
    },
}

/// What a command established.
pub(crate) enum Outcome {
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
        Err(e) => {
            report_error(&e, cli.json);
            ExitCode::from(if e.is_verification_failure() { 1 } else { 2 })
        }
    }
}

/// An error as the CLI's JSON output gives it: `code`, `message`, `name`.
pub(crate) fn error_value(e: &Error) -> Value {
    Value::object([
        ("code", Value::from(u32::from(e.code() as u16))),
        ("message", Value::from(e.message())),
        ("name", Value::from(e.code().name())),
    ])
}

fn report_error(e: &Error, json: bool) {
    if json {
        outln!("{}", text(&Value::object([("error", error_value(e))])));
    } else {
        eprintln!("error: {} [{}]", e.message(), e.code().name());
    }
}

/// Canonical JSON text of a value the CLI built.
pub(crate) fn text(value: &Value) -> String {
    evidentia::canonicalize_value(value).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

/// Adds the file's name to an error about its contents.
pub(crate) fn in_file(path: &Path) -> impl Fn(Error) -> Error + '_ {
    move |e| Error::new(e.code(), format!("{}: {e}", path.display()))
}

/// A signing key: from a key file, or kept in a PKCS#11 token.
pub(crate) type AnySigner = Box<dyn Signer + Send + Sync>;

/// Reads a key file (JWK or PEM), or opens the key a `pkcs11:` URI names. A URI is
/// never repeated in an error message (it may hold a PIN).
pub(crate) fn load_signing_key(path: &Path) -> Result<AnySigner, Error> {
    if let Some(uri) = path.to_str().filter(|p| evidentia_pkcs11::is_pkcs11_uri(p)) {
        return Ok(Box::new(evidentia_pkcs11::Pkcs11Signer::open(uri)?));
    }
    Ok(Box::new(SigningKey::from_text(&read_text(path)?).map_err(in_file(path))?))
}

pub(crate) fn load_keys(path: &Path) -> Result<KeySet, Error> {
    KeySet::from_json(&read_text(path)?).map_err(in_file(path))
}

/// Checks a package and prints its checks as verify.sh does (or as JSON), and the verdict.
fn print_package_checks(files: &[evidentia::package::PackageFile], json: bool) -> Outcome {
    let checks = &evidentia::package::verify_package(files);
    let failed = checks.iter().filter(|c| c.failure.is_some()).count();
    if json {
        let doc = evidentia::package::package_report_value(files, checks);
        outln!("{}", evidentia::json::to_pretty_string(&doc).unwrap_or_default().trim_end());
    } else {
        for check in checks {
            let detail = check.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
            match &check.failure {
                None if !check.applies => outln!("--      {}. {}{detail}", check.number, check.title),
                None => outln!("OK      {}. {}{detail}", check.number, check.title),
                Some(why) => outln!("FAILED  {}. {}: {why}", check.number, check.title),
            }
        }
        if failed == 0 {
            outln!("VERDICT: VALID — every check passed");
        } else {
            outln!("VERDICT: INVALID — {failed} check(s) failed");
        }
    }
    if failed == 0 { Outcome::Valid } else { Outcome::Invalid }
}

fn run(cli: &Cli) -> Result<Outcome, Error> {
    let json = cli.json;
    match &cli.command {
        Command::Canonicalize { file } => {
            let input = read_input(file.as_deref())?;
            io::write_stdout(&canonicalize(&input)?)?;
        }
        Command::Keygen { pkcs11: Some(uri), .. } => {
            let public = evidentia_pkcs11::generate_key(uri)?;
            if json {
                let jwk = evidentia::json::parse(public.to_jwk().as_bytes())?;
                outln!("{}", text(&Value::object([("jwk", jwk), ("kid", Value::from(public.kid()))])));
            } else {
                outln!("{}", public.to_jwk());
                eprintln!("generated a P-256 key in the token (kid {}); its private key never leaves it", public.kid());
            }
        }
        Command::Keygen { out, force, pkcs11: None } => {
            let key = SigningKey::generate()?;
            match out {
                Some(path) => {
                    write_key_file(path, key.to_jwk().as_bytes(), *force)?;
                    if json {
                        outln!(
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
                None => outln!("{}", key.to_jwk()),
            }
        }
        Command::Pubkey { key, format } => {
            let public = PublicKey::from_text(&read_text(key)?).map_err(in_file(key))?;
            match format {
                KeyFormat::Jwk => outln!("{}", public.to_jwk()),
                KeyFormat::Pem => out!("{}", public.to_pem()),
            }
        }
        Command::Jws(JwsCommand::Sign { key, detached, unencoded, file }) => {
            let key = load_signing_key(key)?;
            let payload = read_input(file.as_deref())?;
            outln!("{}", sign_jws(key.as_ref(), &payload, JwsOptions { detached: *detached, unencoded: *unencoded })?);
        }
        Command::Jws(JwsCommand::Verify { jwks, payload, jws }) => {
            let keys = load_keys(jwks)?;
            let compact = String::from_utf8(read_input(jws.as_deref())?)
                .map_err(|_| Error::new(ErrorCode::JwsMalformed, "the JWS is not UTF-8 text"))?;
            let payload = payload.as_deref().map(|p| read_input(Some(p))).transpose()?;
            let verified = verify_jws(compact.trim(), &keys, payload.as_deref(), None)?;
            if json {
                let header = evidentia::json::parse(verified.header.as_bytes())?;
                outln!(
                    "{}",
                    text(&Value::object([
                        ("header", header),
                        ("kid", Value::from(verified.kid.as_str())),
                        ("payload", Value::from(evidentia::encoding::b64url(&verified.payload))),
                        ("valid", Value::Bool(true)),
                    ]))
                );
            } else {
                outln!("VALID: signature verified with key {}", verified.kid);
                outln!("  header:  {}", verified.header);
                match std::str::from_utf8(&verified.payload) {
                    Ok(text) => outln!("  payload: {text}"),
                    Err(_) => outln!(
                        "  payload: {} bytes (base64url {})",
                        verified.payload.len(),
                        evidentia::encoding::b64url(&verified.payload)
                    ),
                }
            }
        }
        Command::Log(command) => return log::run(command, json),
        Command::Message(command) => return message::run(command, json),
        Command::Report(command) => return report::run(command, json),
        Command::Receipt(ReceiptCommand::Verify { receipt, jwks, event, salt_hex, report }) => {
            let signer = report.signer()?;
            let keys = load_keys(jwks)?;
            let receipt = String::from_utf8(read_input(Some(receipt))?)
                .map_err(|_| Error::new(ErrorCode::JwsMalformed, "the receipt is not UTF-8 text"))?;
            let event = event.as_deref().map(|p| read_input(Some(p))).transpose()?;
            let salt = salt_hex.as_deref().map(|hex| commitment::decode_hex(hex.trim())).transpose()?;
            let report = evidentia::verify_receipt_salted(receipt.trim(), &keys, event.as_deref(), salt.as_deref())?;
            return report::print_report(report, json, signer.as_ref());
        }
        Command::Proof(ProofCommand::Verify { proof, checkpoint, jwks, receipt, record, old_checkpoint }) => {
            return verify_proof(
                proof,
                checkpoint,
                jwks,
                receipt.as_deref(),
                record.as_deref(),
                old_checkpoint.as_deref(),
                json,
            );
        }
        Command::Proof(ProofCommand::VerifyTlog(args)) => return witness::verify_tlog(args, json),
        Command::Checkpoint(CheckpointCommand::VerifyPolicy(args)) => return witness::verify_policy(args, json),
        Command::Checkpoint(CheckpointCommand::Verify { note, jwks }) => {
            let keys = load_keys(jwks)?;
            let note = String::from_utf8(read_input(Some(note))?)
                .map_err(|_| Error::new(ErrorCode::CheckpointMalformed, "the checkpoint is not UTF-8 text"))?;
            let checkpoint = evidentia::verify_checkpoint_with_keys(&note, &keys)?;
            let root = evidentia::encoding::b64(&checkpoint.root);
            if json {
                let doc = Value::object([
                    ("origin", Value::from(checkpoint.origin.as_str())),
                    ("root", Value::from(root.as_str())),
                    // Beyond 2^53 − 1 (no Evidentia log grows that far) JSON numbers
                    // are inexact, so the size is given as text.
                    (
                        "size",
                        i64::try_from(checkpoint.size)
                            .ok()
                            .and_then(|n| evidentia::json::Number::from_i64(n).ok())
                            .map_or_else(|| Value::from(checkpoint.size.to_string()), Value::from),
                    ),
                    ("valid", Value::Bool(true)),
                ]);
                outln!("{}", text(&doc));
            } else {
                outln!(
                    "VALID: the log {} of {} records has the root {root}, as a trusted key signed",
                    checkpoint.origin,
                    checkpoint.size
                );
            }
        }
        Command::Evidence(EvidenceCommand::Verify { file, jwks, report }) => {
            let signer = report.signer()?;
            let keys = jwks.as_deref().map(load_keys).transpose()?;
            let report =
                evidentia::verify_evidence_file(&read_input(Some(file))?, keys.as_ref()).map_err(in_file(file))?;
            if keys.is_none() && !json {
                eprintln!(
                    "note: the keys came with the evidence file, from whoever made it; pass --jwks with keys you trust to check who signed"
                );
            }
            return report::print_report(report, json, signer.as_ref());
        }
        Command::Export { dir, index, out, disclose } => {
            let archive = match (evidentia_store::postgres_location(dir)?, disclose) {
                (Some(url), disclose) => evidentia_store::pg::PgLog::open(url)?.export_package_disclosing(
                    *index,
                    out,
                    disclose.as_deref(),
                )?,
                (None, Some(names)) => evidentia_store::export_package_disclosing(dir, *index, out, names)?,
                (None, None) => evidentia_store::export_package(dir, *index, out)?,
            };
            eprintln!(
                "wrote {} and {}; check it with: sh {}/verify.sh",
                out.display(),
                archive.display(),
                out.display()
            );
        }
        Command::Package(PackageCommand::Verify { path }) => {
            let files = evidentia_store::read_package(path)?;
            return Ok(print_package_checks(&files, json));
        }
        Command::Timestamp(command) => return timestamp::run(command, json),
        Command::Commitment(command) => return commitment::run(command, json),
        Command::Demo { dir } => return demo::run(dir.as_deref(), json),
    }
    Ok(Outcome::Valid)
}

fn verify_proof(
    proof: &Path,
    checkpoint: &Path,
    jwks: &Path,
    receipt: Option<&Path>,
    record: Option<&Path>,
    old_checkpoint: Option<&Path>,
    json: bool,
) -> Result<Outcome, Error> {
    let keys = load_keys(jwks)?;
    let proof_text = read_text(proof)?;
    let note = read_text(checkpoint)?;
    let kind = evidentia::json::parse(proof_text.as_bytes())
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    let message = match kind.as_str() {
        "inclusion" => {
            let proof = InclusionProof::from_json(&proof_text).map_err(in_file(proof))?;
            // A receipt must verify itself before its record's inclusion counts; it
            // is read first so that a malformed one is reported with its file name.
            let checkpoint = match (receipt, record) {
                (Some(path), _) => {
                    let receipt = read_text(path)?;
                    evidentia::record_of_receipt(receipt.trim()).map_err(in_file(path))?;
                    evidentia::verify_receipt_in_checkpoint(receipt.trim(), &proof, &note, &keys)?
                }
                (None, Some(path)) => {
                    evidentia::verify_inclusion_in_checkpoint(&read_input(Some(path))?, &proof, &note, &keys)?
                }
                (None, None) => {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        "an inclusion proof needs --receipt or --record",
                    ));
                }
            };
            format!(
                "VALID: record {} is in the log {} of {} records, whose checkpoint is signed by a trusted key",
                proof.leaf_index, checkpoint.origin, checkpoint.size
            )
        }
        "consistency" => {
            let proof = ConsistencyProof::from_json(&proof_text).map_err(in_file(proof))?;
            let old_path = old_checkpoint
                .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, "a consistency proof needs --old-checkpoint"))?;
            let (old, new) = evidentia::verify_consistency_between(&proof, &read_text(old_path)?, &note, &keys)?;
            format!(
                "VALID: the log {} of {} records contains, unchanged, the log of {} records the older checkpoint describes",
                new.origin, new.size, old.size
            )
        }
        _ => {
            return Err(Error::new(
                ErrorCode::ProofMalformed,
                format!("{}: not an inclusion or consistency proof", proof.display()),
            ));
        }
    };
    if json {
        outln!("{}", text(&Value::object([("message", Value::from(message)), ("valid", Value::Bool(true))])));
    } else {
        outln!("{message}");
    }
    Ok(Outcome::Valid)
}
