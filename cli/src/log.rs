//! `evidentia log …`: create, append to, prove from and verify logs on disk.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, mpsc};

use clap::Subcommand;
use evidentia::json::Value;
use evidentia::{Error, ErrorCode, NoteKey, NoteSigner, Signer, verify_log_note};
use evidentia_store::{
    AppendOptions, CreateOptions, Log, LogOptions, LogReader, Mode, NewEvent, PrefixAppended, PublishedTree, Wait,
};

use crate::io::{out, outln, read_input, read_text, write_key_file, write_stdout};
use crate::progress::Progress;
use crate::{AnySigner, Outcome, in_file, load_keys, load_signing_key, text};

/// Events committed together, at most: one flush to disk (and, in batch mode, one
/// signed checkpoint) per group.
const GROUP: usize = 1000;
/// Bytes of JSON Lines committed together, at most.
const GROUP_BYTES: usize = 64 * 1024 * 1024;
/// The longest line of JSON Lines read: the JSON parser's input limit (16 MiB).
const MAX_LINE: usize = 16 * 1024 * 1024;
/// Bytes of JSON Lines read ahead of what is committed, at most (or one line).
const IN_FLIGHT_BYTES: usize = 2 * GROUP_BYTES;

/// How long a writer waits for another process holding the log.
#[derive(clap::Args, Debug, Clone, Copy)]
pub(crate) struct WaitArg {
    /// Wait up to SECONDS for another process writing to the log, instead of
    /// failing at once (LOG_LOCKED)
    #[arg(long, value_name = "SECONDS")]
    wait: Option<f64>,
}

impl WaitArg {
    fn options(self) -> Result<LogOptions, Error> {
        Ok(LogOptions { wait: Wait::from_seconds(self.wait)?, ..LogOptions::default() })
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum LogCommand {
    /// Create a new log in DIR, or in the PostgreSQL database a `postgres://` URL
    /// names (SPEC §25)
    Init {
        dir: PathBuf,
        /// The log's signing key file (JWK or PEM), or a key in a PKCS#11 token (a
        /// `pkcs11:` URI with pin-source, never pin-value); remembered for appends.
        /// A module the remembered URI names is loaded only if it is
        /// EVIDENTIA_PKCS11_MODULE or, that unset, an absolute path to a file owned by
        /// root or you that no one else can write
        #[arg(long)]
        key: PathBuf,
        /// The log id (printable ASCII, no spaces); random by default
        #[arg(long)]
        id: Option<String>,
        /// receipts: every record signed (a receipt per append); batch: one signed
        /// checkpoint per batch of appends, batch receipts on demand
        #[arg(long, default_value = "receipts", value_parser = ["receipts", "batch"])]
        mode: String,
        /// A payload field to index, so that records can be found by its value
        /// (`log find --field NAME=VALUE`); repeat for more (at most 16)
        #[arg(long = "index-field", value_name = "NAME")]
        index_fields: Vec<String>,
        /// The version of the records the log writes: 2 (the default) commits to
        /// each event under a random salt kept beside it, so that the event can be
        /// erased (`log erase`) and shown member by member (`export --disclose`)
        /// while every receipt and proof stays valid; 1 commits to the event's
        /// plain digest. In a folder or in PostgreSQL
        #[arg(long = "record-version", value_parser = ["1", "2"])]
        record_version: Option<String>,
    },
    /// Index one more payload field of an existing log (built from the records
    /// stored, and kept up to date by later appends)
    Index {
        dir: PathBuf,
        /// The field's name (a top-level member of the events, or of a signed
        /// message's payload)
        #[arg(long, value_name = "NAME")]
        field: String,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Append an event (JSON) and print its receipt once it is on disk; with --batch,
    /// append JSON Lines (one event per line) and print one line per event as soon
    /// as it is durable
    Append {
        dir: PathBuf,
        /// Event file (JSON, or JSON Lines with --batch), or - for standard input
        event: Option<PathBuf>,
        /// Read JSON Lines and commit them in groups
        #[arg(long)]
        batch: bool,
        /// A nonce to bind into the record (a request id); must be unique in the log.
        /// One beginning with '-' is given as --nonce=-…
        #[arg(long, conflicts_with = "batch")]
        nonce: Option<String>,
        /// If the nonce is already in the log with the same event, print that
        /// record's receipt instead of failing (NONCE_IN_USE): a retried request
        /// is not appended twice
        #[arg(long, requires = "nonce")]
        idempotent: bool,
        /// Signing key file or `pkcs11:` URI, if not the one the log remembers
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        wait: WaitArg,
        #[command(flatten)]
        metrics: crate::metrics_server::MetricsArgs,
    },
    /// Print the log's latest signed checkpoint, signing a new one if records were
    /// appended since
    Checkpoint {
        dir: PathBuf,
        /// Signing key file or `pkcs11:` URI, if not the one the log remembers
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Give the log an Ed25519 note key (C2SP signed-note): every checkpoint it
    /// signs from then on carries that key's signature beside the ECDSA one, as
    /// public witnesses require. Prints the key's vkey (without --key: the log's)
    NoteKey {
        dir: PathBuf,
        /// The Ed25519 private key file (PKCS#8 PEM, as `openssl genpkey -algorithm
        /// ed25519` writes it), or an Ed25519 key in a PKCS#11 token (a `pkcs11:`
        /// URI, pin-source, never pin-value); remembered in log.json (a log in
        /// PostgreSQL keeps its public key only). A log's note key is never
        /// replaced: witnesses know the log by it
        #[arg(long)]
        key: Option<PathBuf>,
        /// Create a new key in the --key file first (readable by you only)
        #[arg(long, requires = "key")]
        generate: bool,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Submit the newest checkpoint to each witness the policy names with a URL
    /// (c2sp.org/tlog-witness add-checkpoint, with a consistency proof from the
    /// size the witness last held), print the cosigned checkpoint and store it in
    /// the log's witness/ folder. Fails (POLICY_NOT_SATISFIED, exit 1, nothing
    /// stored) when the cosignatures do not meet the policy's quorum, unless
    /// --fail-open
    Witness {
        dir: PathBuf,
        /// The policy (c2sp.org/tlog-policy): the log's key, the witnesses with
        /// their submission URLs, and the quorum
        #[arg(long)]
        policy: PathBuf,
        /// Succeed when the quorum is not met, with a warning (the cosignatures
        /// gathered are stored all the same)
        #[arg(long)]
        fail_open: bool,
        /// Seconds to wait for each request to a witness (a witness answering 409
        /// is asked again, up to 3 requests; witnesses are asked one after another)
        #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
        timeout: f64,
        /// Signing key file or `pkcs11:` URI, if not the one the log remembers
        /// (to sign a checkpoint of records appended since the last)
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Move the log's sealed segment files (all but the one being written) to an
    /// archive folder (SPEC §16.1). Newer records stay provable and appends go on
    /// without it; reading or verifying archived records needs it, and `log verify`
    /// reads both parts, failing (LOG_CORRUPT) when an archived file is missing or
    /// changed. A log archives into one folder
    Archive {
        dir: PathBuf,
        /// The archive folder (created if needed)
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Publish the log as C2SP tlog-tiles in FOLDER (SPEC §24): its newest signed
    /// checkpoint, the tiles of its Merkle tree and its records in entry bundles,
    /// for any static web server to serve. Publishing again adds what is new:
    /// written tiles are never rewritten, and a folder holding another history of
    /// the log is refused (CHECKPOINT_MISMATCH). `log verify` and `log monitor` read
    /// a publication from its folder or URL
    Publish {
        dir: PathBuf,
        /// The folder to publish in (created if needed); one log a folder
        #[arg(long)]
        to: PathBuf,
        /// A log in PostgreSQL, which remembers no key file: its Ed25519 note key
        /// (a file or a `pkcs11:` URI), whose signature the published checkpoint
        /// carries (a log folder reads the one its log.json names)
        #[arg(long, value_name = "KEY")]
        note_key: Option<PathBuf>,
    },
    /// Watch a log: each round checks that the newest checkpoint extends the one
    /// trusted last (kept in --state), verifies the records since, and reports a
    /// split view, a truncation, a rollback, an untrusted or stale checkpoint,
    /// failing records or a log that cannot be read (exit 1; one line of JSON a round
    /// with --json). In a log's folder, records before the trusted checkpoint are
    /// not read again: run `log verify` over the whole log now and then (SPEC
    /// §13.1); a publication (tlog-tiles) is verified whole every round
    Monitor(crate::monitor::MonitorArgs),
    /// Print the inclusion proof of a record; with --tlog-proof, write it as a C2SP
    /// tlog-proof with the newest cosigned checkpoint that covers the record. DIR
    /// may be a log published as tlog-tiles (folder or http(s):// URL prefix): the
    /// proof is then read from its tiles
    Prove {
        dir: PathBuf,
        /// The record's sequence number
        #[arg(long)]
        index: u64,
        /// The tree size to prove against (default: the latest checkpoint's, or
        /// with --tlog-proof the newest cosigned one covering the record)
        #[arg(long)]
        size: Option<u64>,
        /// Write a c2sp.org/tlog-proof file (index, inclusion proof, the
        /// checkpoint with its witnesses' cosignatures) instead of printing JSON
        #[arg(long, value_name = "FILE")]
        tlog_proof: Option<PathBuf>,
        /// With --tlog-proof: also write the entry the proof is for, the record's
        /// bytes (its leaf is SHA-256(0x00 ‖ the bytes); `proof verify-tlog --entry`)
        #[arg(long, value_name = "FILE", requires = "tlog_proof")]
        entry_out: Option<PathBuf>,
    },
    /// Print the consistency proof between two sizes of the log (or of a log
    /// published as tlog-tiles, from its tiles)
    Consistency {
        dir: PathBuf,
        /// The older size
        #[arg(long)]
        from: u64,
        /// The newer size (default: the latest checkpoint's)
        #[arg(long)]
        to: Option<u64>,
    },
    /// Print the sequence number of the record that holds a nonce, or those of the
    /// records whose indexed field holds a value (one per line, ascending)
    Find {
        dir: PathBuf,
        /// The nonce (a request id) given when the record was appended
        #[arg(long, required_unless_present = "field", conflicts_with = "field")]
        nonce: Option<String>,
        /// An indexed field and the value to find, as NAME=VALUE (split at the
        /// first '=')
        #[arg(long, value_name = "NAME=VALUE")]
        field: Option<String>,
    },
    /// Print what a holder of a record needs to verify it offline: its receipt, or
    /// in a batch-signed log its batch receipt
    Receipt {
        dir: PathBuf,
        /// The record's sequence number
        #[arg(long)]
        index: u64,
        /// Print an evidence file instead (SPEC.md §18): the receipt, the log's key
        /// history and the event, in one JSON file for the verifier page
        #[arg(long)]
        evidence: bool,
        /// For a batch-signed log rotated before rotations sealed the retiring key's
        /// records: the record's own (retired) key, which signs a checkpoint of the
        /// records it signed when no stored one does (SPEC.md §11). Opens the log
        /// for writing
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Print the salt a record of version 2 commits to its event under, in hex:
    /// with the event, it checks the record's receipt without the log
    /// (`evidentia receipt verify --event FILE --salt-hex HEX`). Keep it with the
    /// receipt: once the event is erased, the log no longer holds it
    Salt {
        dir: PathBuf,
        /// The record's sequence number
        #[arg(long)]
        index: u64,
    },
    /// Verify the log: every record, link, checkpoint and tree hash (or, with
    /// --from-checkpoint, those after a checkpoint you trust). DIR may also be a log
    /// published as tlog-tiles, by its folder or its http(s):// URL prefix: every
    /// published record, tile hash and the checkpoint are verified (with --jwks)
    Verify {
        dir: PathBuf,
        /// Trusted keys (JWKS); by default the log's own key history (a publication
        /// carries none: required for one)
        #[arg(long)]
        jwks: Option<PathBuf>,
        /// Verify only the records after this signed checkpoint, one you trust (the
        /// output of `evidentia log checkpoint` saved when the log last verified):
        /// the log's tree must still hold it, and every later record is checked.
        /// Records before it are not read again (SPEC §13.1): verify the whole log
        /// now and then
        #[arg(long, value_name = "FILE")]
        from_checkpoint: Option<PathBuf>,
        #[command(flatten)]
        report: crate::report::ReportArgs,
    },
    /// Copy a log between a folder and a PostgreSQL database (`postgres://…`), either
    /// way, into a place holding no log yet: the same records, receipts, key history
    /// and checkpoints, never signed again. SRC must verify first and the copy
    /// after, with the same latest checkpoint
    Copy { src: PathBuf, dst: PathBuf },
    /// Retire the log's signing key and continue with a new one. The retiring key
    /// signs a key record handing over to the new key (SPEC §23) and a checkpoint of
    /// the records it signed
    Rotate {
        dir: PathBuf,
        /// The new signing key file (JWK or PEM), or a `pkcs11:` URI (pin-source,
        /// never pin-value)
        #[arg(long)]
        key: PathBuf,
        /// The retiring key file, if not the one the log remembers
        #[arg(long)]
        current_key: Option<PathBuf>,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Erase the event of a record (of version 2) and its salt: the current key
    /// signs an erasure record naming the record and the reason, then every copy of
    /// the event in the log's files is overwritten or removed (in PostgreSQL, its
    /// row is updated and VACUUM reclaims the old row version: SPEC §25.6). The record, its
    /// receipt and every proof stay valid; `log verify` reports it as erased
    Erase {
        dir: PathBuf,
        /// The record's sequence number
        #[arg(long)]
        index: u64,
        /// Why (a policy or request reference, never the erased data itself)
        #[arg(long)]
        reason: String,
        /// The log's current signing key, if not the one the log remembers (a log
        /// in PostgreSQL remembers none)
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Set a legal hold on a record: its event cannot be erased until released
    Hold {
        dir: PathBuf,
        /// The record's sequence number
        #[arg(long)]
        index: u64,
        /// Why (a case or matter reference)
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Release the legal hold on a record
    Release {
        dir: PathBuf,
        /// The record's sequence number
        #[arg(long)]
        index: u64,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// List the log's legal holds, one JSON object per line
    Holds {
        dir: PathBuf,
        #[command(flatten)]
        wait: WaitArg,
    },
    /// Revoke a retired key of the log's history: the current key signs a key
    /// record saying that evidence signed by that key claiming `--at` or later is
    /// not to be trusted (the log's own records of that time included)
    Revoke {
        dir: PathBuf,
        /// The kid of the key to revoke (the log's keys.jwks lists them). A kid
        /// beginning with '-' is taken as one: a value that is an option instead
        /// names no key, and is refused (KEY_NOT_FOUND)
        #[arg(long, allow_hyphen_values = true)]
        kid: String,
        /// From when on (RFC 3339 UTC, e.g. 2026-11-30T09:00:00Z): the earliest
        /// moment the key may have been compromised
        #[arg(long)]
        at: String,
        /// Why, e.g. keyCompromise, superseded, cessationOfOperation
        #[arg(long)]
        reason: Option<String>,
        /// The log's current signing key, if not the one the log remembers
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        wait: WaitArg,
    },
}

/// An Ed25519 note key: in a PKCS#8 PEM file, or in a PKCS#11 token by its URI.
pub(crate) fn load_note_key(path: &Path) -> Result<Box<dyn NoteSigner + Send>, Error> {
    match path.to_str().filter(|p| evidentia_pkcs11::is_pkcs11_uri(p)) {
        Some(uri) => Ok(Box::new(evidentia_pkcs11::Pkcs11NoteSigner::open(uri)?)),
        None => Ok(Box::new(NoteKey::from_pem(&read_text(path)?).map_err(in_file(path))?)),
    }
}

pub(crate) fn generate_in_token() -> Error {
    Error::new(
        ErrorCode::InvalidArgument,
        "--generate makes a key file; make a key in a token with the token's own tools",
    )
}

pub(crate) fn print_note_vkey(vkey: &str, json: bool) -> Result<Outcome, Error> {
    if json {
        outln!("{}", text(&Value::object([("note_vkey", Value::from(vkey))])));
    } else {
        outln!("{vkey}");
    }
    Ok(Outcome::Valid)
}

/// What log.json remembers of a key: a key file's absolute path, or a `pkcs11:`
/// URI, which must not hold a PIN (`pin-value`; `pin-source` names a file and is
/// kept), with a relative `pin-source` and `module-path` made absolute against the
/// current directory, so that commands run from elsewhere find the same files.
fn key_reference(key: &Path) -> Result<PathBuf, Error> {
    match key.to_str().filter(|k| evidentia_pkcs11::is_pkcs11_uri(k)) {
        Some(uri) => {
            let here = std::env::current_dir()
                .map_err(|e| Error::new(ErrorCode::Io, format!("cannot read the current directory: {e}")))?;
            let uri = evidentia_pkcs11::Pkcs11Uri::parse(uri)?.with_absolute_paths(&here);
            Ok(PathBuf::from(uri.to_storable()?))
        }
        None => absolute(key),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::new(ErrorCode::Io, format!("{}: {e}", path.display())))
}

/// Opens a log for writing and says on standard error what opening it repaired.
pub(crate) fn open(dir: &Path, wait: WaitArg, json: bool) -> Result<Log, Error> {
    let log = Log::open_with(dir, &wait.options()?)?;
    let recovery = log.recovery();
    if json {
        if recovery.repaired() || recovery.unsealed_records > 0 {
            eprintln!("{}", text(&Value::object([("recovery", recovery.to_value())])));
        }
    } else {
        for line in recovery.describe() {
            eprintln!("recovery: {line}");
        }
    }
    Ok(log)
}

/// The record version `log init --record-version` names (clap allows 1 and 2).
pub(crate) fn record_version_arg(version: Option<&str>) -> Option<evidentia::RecordVersion> {
    match version {
        Some("1") => Some(evidentia::RecordVersion::V1),
        Some(_) => Some(evidentia::RecordVersion::V2),
        None => None,
    }
}

/// What `log salt` prints: the salt of record `index`, in hex.
pub(crate) fn print_salt(index: u64, salt: Option<Vec<u8>>, json: bool) -> Result<(), Error> {
    match salt {
        Some(salt) if json => {
            outln!("{}", text(&Value::object([("salt_hex", Value::from(evidentia::encoding::hex(&salt)))])))
        }
        Some(salt) => outln!("{}", evidentia::encoding::hex(&salt)),
        None => {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("record {index} is of version 1: its event is not salted, so it has no salt"),
            ));
        }
    }
    Ok(())
}

/// What `log erase` says once record `index`'s event was erased by `appended`.
pub(crate) fn erased(log_id: &str, index: u64, appended: &evidentia_store::Appended) {
    eprintln!("log {log_id}: the event of record {index} was erased by record {}", appended.seq);
    outln!("{}", appended.to_line());
}

/// What `log hold` says once record `index` is held.
pub(crate) fn held(index: u64) {
    eprintln!("record {index} is held: its event cannot be erased until the hold is released");
}

/// What `log release` says, or the error when record `index` was not held.
pub(crate) fn released(index: u64, was_held: bool) -> Result<(), Error> {
    if !was_held {
        return Err(Error::new(ErrorCode::InvalidArgument, format!("record {index} is not held")));
    }
    eprintln!("the hold on record {index} was released");
    Ok(())
}

/// What `log holds` prints: one line of canonical JSON per hold.
pub(crate) fn print_holds(holds: &[evidentia_store::Hold]) -> Result<(), Error> {
    for hold in holds {
        outln!("{}", String::from_utf8_lossy(&evidentia::canonicalize_value(&hold.to_value())?));
    }
    Ok(())
}

/// The signing key: the one given, or the one the log remembers. A note key the
/// log keeps in a token is opened and attached too, since what this key signs may
/// include a checkpoint (a note key in a file the log reads itself).
pub(crate) fn signing_key(log: &Log, key: Option<&Path>) -> Result<AnySigner, Error> {
    if let Some(uri) =
        log.note_key_file().as_deref().and_then(Path::to_str).filter(|p| evidentia_pkcs11::is_pkcs11_uri(p))
    {
        // log.json must not choose the shared library loaded into this process.
        evidentia_pkcs11::Pkcs11Uri::parse(uri)?.check_stored_module()?;
        log.use_note_key(Box::new(evidentia_pkcs11::Pkcs11NoteSigner::open(uri)?))?;
    }
    let path = match (key, log.key_file()) {
        (Some(path), _) => path.to_owned(),
        (None, Some(path)) => {
            // log.json must not choose the shared library loaded into this process.
            if let Some(uri) = path.to_str().filter(|p| evidentia_pkcs11::is_pkcs11_uri(p)) {
                evidentia_pkcs11::Pkcs11Uri::parse(uri)?.check_stored_module()?;
            }
            path
        }
        (None, None) => {
            return Err(Error::new(ErrorCode::InvalidArgument, "the log has no key file on record: pass --key"));
        }
    };
    load_signing_key(&path)
}

pub(crate) fn run(command: &LogCommand, json: bool) -> Result<Outcome, Error> {
    if let Some(outcome) = crate::pg::run(command, json)? {
        return Ok(outcome);
    }
    match command {
        LogCommand::Init { dir, key, id, mode, index_fields, record_version } => {
            let key_file = key_reference(key)?;
            let signing = load_signing_key(key)?;
            let record_version = record_version_arg(record_version.as_deref());
            let options = CreateOptions {
                log_id: id.clone(),
                key_file: Some(key_file),
                mode: Mode::from_name(mode)?,
                index_fields: index_fields.clone(),
                record_version,
                ..CreateOptions::default()
            };
            let log = Log::create(dir, signing.as_ref(), options)?;
            created(Some(dir), signing.public_key().kid(), &log.log_id(), log.mode(), json);
        }
        LogCommand::Append { dir, event, batch, nonce, idempotent, key, wait, metrics } => {
            metrics.serve()?;
            let log = open(dir, *wait, json)?;
            let key = signing_key(&log, key.as_deref())?;
            if *batch {
                append_lines(|events| log.append_valid_prefix(key.as_ref(), events, None), event.as_deref())?;
            } else {
                let event = read_input(event.as_deref())?;
                let options = AppendOptions { idempotent: *idempotent, ..AppendOptions::default() };
                let appended =
                    log.append_events(key.as_ref(), &[NewEvent { json: &event, nonce: nonce.as_deref() }], &options)?;
                for a in appended {
                    if a.replayed {
                        eprintln!(
                            "the nonce is already in the log: record {} (the same event), appended before",
                            a.seq
                        );
                    }
                    // The acknowledgement must arrive: a failure to write it is an error.
                    write_stdout(format!("{}\n", a.to_line()).as_bytes())?;
                }
            }
        }
        LogCommand::Checkpoint { dir, key, wait } => {
            let reader = LogReader::open(dir)?;
            let note = match reader.latest_checkpoint()? {
                // Read without the writer's lock, unless the log's note key must
                // add its line to a checkpoint stored before the log had it.
                Some(latest)
                    if latest.size == reader.len()
                        && reader.note_key().is_none_or(|key| verify_log_note(&latest.note, &[key]).is_ok()) =>
                {
                    latest.note
                }
                _ => {
                    let log = open(dir, *wait, json)?;
                    let key = signing_key(&log, key.as_deref())?;
                    log.checkpoint(key.as_ref())?.note
                }
            };
            write_stdout(note.as_bytes())?;
        }
        LogCommand::Index { dir, field, wait } => {
            evidentia_store::validate_index_field(field)?;
            let log = open(dir, *wait, json)?;
            log.add_index_field(field)?;
            if json {
                let fields = log.index_fields().into_iter().map(Value::from).collect();
                outln!("{}", text(&Value::object([("index_fields", Value::Array(fields))])));
            } else {
                eprintln!("log {} now indexes the field '{field}' ({} records indexed)", log.log_id(), log.len());
            }
        }
        LogCommand::Find { dir, nonce, field } => match (nonce, field) {
            (Some(nonce), _) => match LogReader::open(dir)?.find_nonce(nonce)? {
                Some(seq) if json => {
                    let index = evidentia::json::Number::from_i64(seq as i64)?;
                    outln!("{}", text(&Value::object([("index", Value::Number(index))])));
                }
                Some(seq) => outln!("{seq}"),
                None => {
                    return Err(Error::new(ErrorCode::InvalidArgument, "no record of the log holds this nonce"));
                }
            },
            (None, Some(term)) => {
                let Some((name, value)) = term.split_once('=') else {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        "--field takes NAME=VALUE: the indexed field and the value to find",
                    ));
                };
                evidentia_store::validate_index_field(name)?;
                let found = LogReader::open(dir)?.find(name, value)?;
                if found.is_empty() {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        format!("no record of the log holds this value in the field '{name}'"),
                    ));
                }
                if json {
                    let indexes = found
                        .iter()
                        .map(|seq| evidentia::json::Number::from_i64(*seq as i64).map(Value::Number))
                        .collect::<Result<Vec<_>, Error>>()?;
                    outln!("{}", text(&Value::object([("indexes", Value::Array(indexes))])));
                } else {
                    let lines: Vec<String> = found.iter().map(u64::to_string).collect();
                    outln!("{}", lines.join("\n"));
                }
            }
            (None, None) => return Err(Error::new(ErrorCode::InvalidArgument, "give --nonce or --field NAME=VALUE")),
        },
        LogCommand::Prove { dir, index, size, tlog_proof: None, .. } => match crate::tiles::publication(dir) {
            Some(source) => {
                outln!("{}", PublishedTree::open(source.as_ref())?.inclusion_proof(*index, *size)?.to_json()?)
            }
            None => outln!("{}", LogReader::open(dir)?.inclusion_proof(*index, *size)?.to_json()?),
        },
        LogCommand::Prove { dir, .. } if crate::tiles::publication(dir).is_some() => {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "--tlog-proof is for a log's folder: prove from a publication without it, and check the proof against its checkpoint",
            ));
        }
        LogCommand::Prove { dir, index, size, tlog_proof: Some(out), entry_out } => {
            crate::witness_client::write_tlog_proof(dir, *index, *size, out, entry_out.as_deref())?;
        }
        LogCommand::Consistency { dir, from, to } => match crate::tiles::publication(dir) {
            Some(source) => {
                outln!("{}", PublishedTree::open(source.as_ref())?.consistency_proof(*from, *to)?.to_json()?)
            }
            None => outln!("{}", LogReader::open(dir)?.consistency_proof(*from, *to)?.to_json()?),
        },
        LogCommand::Receipt { dir, index, evidence, key, wait } => {
            let reader = LogReader::open(dir)?;
            let receipt = match key {
                Some(path) => open(dir, *wait, json)?.receipt_sealed_by(*index, load_signing_key(path)?.as_ref())?,
                None => reader.receipt(*index)?,
            };
            if *evidence {
                let entry = reader.entry(*index)?;
                let (event, salt) = evidentia::event_with_salt(&entry.record()?, entry.stored_event())?;
                out!("{}", evidentia::evidence_file(&receipt, reader.keys(), Some(&event), salt.as_deref())?);
            } else {
                outln!("{receipt}");
            }
        }
        LogCommand::Salt { dir, index } => print_salt(*index, LogReader::open(dir)?.salt(*index)?, json)?,
        LogCommand::NoteKey { dir, key, generate, wait } => {
            let vkey = match key {
                None => LogReader::open(dir)?.note_key().map(|k| k.to_vkey()).ok_or_else(|| {
                    Error::new(ErrorCode::InvalidArgument, "the log has no note key: give it one with --key FILE")
                })?,
                Some(path) => {
                    if path.as_os_str() == "-" {
                        return Err(Error::new(
                            ErrorCode::InvalidArgument,
                            "the note key is a file the log reads again",
                        ));
                    }
                    let log = open(dir, *wait, json)?;
                    if let Some(uri) = path.to_str().filter(|p| evidentia_pkcs11::is_pkcs11_uri(p)) {
                        if *generate {
                            return Err(generate_in_token());
                        }
                        // Refused first if it holds a PIN, which log.json never keeps.
                        let reference = key_reference(path)?;
                        let signer = evidentia_pkcs11::Pkcs11NoteSigner::open(uri)?;
                        let vkey = log.set_note_key(Box::new(signer), Some(reference))?;
                        return print_note_vkey(&vkey, json);
                    }
                    let note_key = if *generate {
                        if let Some(vkey) = log.note_vkey() {
                            return Err(Error::new(
                                ErrorCode::InvalidArgument,
                                format!(
                                    "the log has note key {vkey} already; witnesses know it by that key, so it is not replaced"
                                ),
                            ));
                        }
                        let note_key = NoteKey::generate()?;
                        write_key_file(path, note_key.to_pem().trim_end().as_bytes(), false)?;
                        note_key
                    } else {
                        NoteKey::from_pem(&read_text(path)?).map_err(in_file(path))?
                    };
                    // The file itself, not a link to it: the log reads only regular files.
                    let file = std::fs::canonicalize(path)
                        .map_err(|e| Error::new(ErrorCode::Io, format!("{}: {e}", path.display())))?;
                    log.set_note_key(Box::new(note_key), Some(file))?
                }
            };
            return print_note_vkey(&vkey, json);
        }
        LogCommand::Monitor(args) => return crate::monitor::run(args, json),
        LogCommand::Copy { src, dst } => return crate::pg::copy(src, dst, json),
        LogCommand::Archive { dir, to, wait } => {
            let archived = open(dir, *wait, json)?.archive(to)?;
            let count =
                |n: u64| evidentia::json::Number::from_i64(i64::try_from(n).unwrap_or(i64::MAX)).map(Value::Number);
            if json {
                outln!(
                    "{}",
                    text(&Value::object([
                        ("archived_bytes", count(archived.bytes)?),
                        ("archived_segments", count(archived.segments)?),
                        ("dir", Value::from(archived.dir.display().to_string())),
                    ]))
                );
            } else {
                eprintln!(
                    "archived {} segment files ({} bytes) to {}",
                    archived.segments,
                    archived.bytes,
                    archived.dir.display()
                );
            }
        }
        LogCommand::Publish { dir, to, note_key } => {
            let postgres = evidentia_store::postgres_location(dir)?;
            let published = match (postgres, note_key) {
                (Some(url), note_key) => {
                    let signer = note_key.as_deref().map(load_note_key).transpose()?;
                    let signer = signer.as_deref().map(|signer| signer as &dyn NoteSigner);
                    evidentia_store::pg::PgLog::open(url)?.publish_signed(to, signer)?
                }
                (None, Some(_)) => {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        "a log folder publishes with the note key its log.json names (log note-key), not --note-key",
                    ));
                }
                (None, None) => evidentia_store::publish(dir, to)?,
            };
            if json {
                outln!("{}", text(&published.to_value()));
            } else {
                if !published.note_signed {
                    // A URL is not repeated: it may hold a password.
                    let (log, publish_with) = match postgres {
                        Some(_) => ("URL".to_owned(), ", and publish with --note-key FILE"),
                        None => (dir.display().to_string(), ""),
                    };
                    eprintln!(
                        "note: the log has no Ed25519 note key, which tlog-tiles clients and public witnesses need: give it one with `evidentia log note-key {log} --key FILE --generate`{publish_with}"
                    );
                }
                eprintln!(
                    "published the checkpoint of {} records to {} ({} tiles and bundles written; {} records were published before)",
                    published.size,
                    to.display(),
                    published.files,
                    published.previous_size
                );
            }
        }
        LogCommand::Witness { dir, policy, fail_open, timeout, key, wait } => {
            if !(timeout.is_finite() && *timeout >= 0.1 && *timeout <= 3600.0) {
                return Err(Error::new(ErrorCode::InvalidArgument, "--timeout is 0.1 to 3600 seconds"));
            }
            // The newest checkpoint, signed now if records came after the last;
            // the log is then closed again, so that appends go on while witnesses
            // are asked.
            let note = {
                let log = open(dir, *wait, json)?;
                let key = signing_key(&log, key.as_deref())?;
                log.checkpoint(key.as_ref())?.note
            };
            return crate::witness_client::witness(
                dir,
                policy,
                &note,
                *fail_open,
                std::time::Duration::from_secs_f64(*timeout),
                json,
            );
        }
        LogCommand::Verify { dir, jwks, from_checkpoint, report } => {
            let signer = report.signer()?;
            let keys = jwks.as_deref().map(load_keys).transpose()?;
            let trusted = match from_checkpoint.as_deref() {
                None => None,
                Some(path) => {
                    let note = read_text(path)?;
                    evidentia::read_checkpoint(&note).map_err(in_file(path))?;
                    Some(note)
                }
            };
            if let Some(source) = crate::tiles::publication(dir) {
                let keys = keys.ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidArgument,
                        "a published log carries no keys: pass --jwks with the log's key history you trust",
                    )
                })?;
                if trusted.is_some() {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        "--from-checkpoint is for a log's folder: a publication is verified whole (`log monitor` compares it with a trusted checkpoint)",
                    ));
                }
                let mut progress = Progress::new("verifying", None);
                let verified =
                    evidentia_store::verify_tiles(source.as_ref(), &keys, None, |done| progress.update(done))?;
                progress.finish();
                return crate::report::print_report(verified.report, json, signer.as_ref());
            }
            let reader = LogReader::open(dir)?;
            let mut progress = Progress::new("verifying", Some(reader.len()));
            let report = reader.verify_from(keys.as_ref(), trusted.as_deref(), |done| progress.update(done))?;
            progress.finish();
            if reader.torn_tail_bytes() > 0 {
                eprintln!(
                    "note: the log ends with {} bytes of an entry whose writing never completed (a writer stopped mid-append); they are not part of the log, and the next writer cuts them",
                    reader.torn_tail_bytes()
                );
            }
            if keys.is_none() && !json {
                outln!("(keys: the log's own key history; pass --jwks with keys you trust to check who signed)");
            }
            return crate::report::print_report(report, json, signer.as_ref());
        }
        LogCommand::Rotate { dir, key, current_key, wait } => {
            let key_file = key_reference(key)?;
            let new_key = load_signing_key(key)?;
            let log = open(dir, *wait, json)?;
            let current = signing_key(&log, current_key.as_deref())?;
            log.rotate(current.as_ref(), new_key.as_ref(), Some(key_file))?;
            eprintln!("log {} now signs with key {}", log.log_id(), new_key.public_key().kid());
        }
        LogCommand::Erase { dir, index, reason, key, wait } => {
            let log = open(dir, *wait, json)?;
            let current = signing_key(&log, key.as_deref())?;
            erased(&log.log_id(), *index, &log.erase(current.as_ref(), *index, reason)?);
        }
        LogCommand::Hold { dir, index, reason, wait } => {
            open(dir, *wait, json)?.hold(*index, reason)?;
            held(*index);
        }
        LogCommand::Release { dir, index, wait } => released(*index, open(dir, *wait, json)?.release(*index)?)?,
        LogCommand::Holds { dir, wait } => print_holds(&open(dir, *wait, json)?.holds()?)?,
        LogCommand::Revoke { dir, kid, at, reason, key, wait } => {
            let at = evidentia::Timestamp::parse(at)?;
            let log = open(dir, *wait, json)?;
            let current = signing_key(&log, key.as_deref())?;
            log.revoke(current.as_ref(), kid, at, reason.as_deref())?;
            // As keys.jwks holds it: the instant its NumericDate denotes.
            eprintln!("log {}: key {kid} revoked from {} on", log.log_id(), at.as_numeric_date()?);
        }
    }
    Ok(Outcome::Valid)
}

/// Appends JSON Lines in groups: a reader thread feeds lines; each group takes what
/// is waiting (up to [`GROUP`]), so a fast producer gets large groups and a slow one
/// gets each event committed — and acknowledged — as soon as it arrives.
/// Appends the JSON Lines of `input` (standard input for `None` or `-`) in groups,
/// each through `append` (a folder's or a PostgreSQL log's `append_valid_prefix`),
/// printing each acknowledgement once its group is committed.
pub(crate) fn append_lines(
    append: impl Fn(&[NewEvent<'_>]) -> Result<PrefixAppended, Error>,
    input: Option<&Path>,
) -> Result<(), Error> {
    let (sender, lines) = mpsc::sync_channel::<Result<(u64, Vec<u8>), Error>>(4 * GROUP);
    // Bytes read but not yet committed: the reader waits while they exceed the budget.
    let in_flight = Arc::new((Mutex::new(0usize), Condvar::new()));
    let source: Box<dyn BufRead + Send> = match input {
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
        Some(p) if p == Path::new("-") => Box::new(std::io::BufReader::new(std::io::stdin())),
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p)
                .map_err(|e| Error::new(ErrorCode::Io, format!("cannot read {}: {e}", p.display())))?,
        )),
    };
    let budget = Arc::clone(&in_flight);
    std::thread::spawn(move || {
        let mut source = source;
        let mut number = 0;
        loop {
            let mut line = Vec::new();
            number += 1;
            // Read at most one byte past the limit, so a huge line cannot exhaust memory.
            let read = std::io::Read::take(&mut source, MAX_LINE as u64 + 1).read_until(b'\n', &mut line);
            match read {
                Ok(0) => return,
                Ok(_) if line.len() > MAX_LINE && line.last() != Some(&b'\n') => {
                    let error = Error::new(
                        ErrorCode::JsonTooLarge,
                        format!("line {number}: longer than {} MiB", MAX_LINE >> 20),
                    );
                    let _ = sender.send(Err(error));
                    return;
                }
                Ok(_) => {
                    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        line.pop();
                    }
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue; // Blank lines separate nothing in JSON Lines.
                    }
                    let (used, committed) = &*budget;
                    let Ok(mut used) = used.lock() else { return };
                    while *used > 0 && *used + line.len() > IN_FLIGHT_BYTES {
                        let Ok(waited) = committed.wait(used) else { return };
                        used = waited;
                    }
                    *used += line.len();
                    drop(used);
                    if sender.send(Ok((number, line))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = sender.send(Err(Error::new(ErrorCode::Io, format!("cannot read the input: {e}"))));
                    return;
                }
            }
        }
    });

    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut progress = Progress::new("appended", None);
    let mut total = 0u64;
    let mut pending = None;
    while let Some(first) = pending.take().or_else(|| lines.recv().ok()) {
        let first: (u64, Vec<u8>) = first?;
        let mut bytes = first.1.len();
        let mut group = vec![first];
        while group.len() < GROUP && bytes < GROUP_BYTES {
            match lines.try_recv() {
                // An error reading the input comes after the lines before it are committed.
                Ok(Err(e)) => {
                    pending = Some(Err(e));
                    break;
                }
                Ok(Ok(line)) => {
                    if bytes + line.1.len() > GROUP_BYTES {
                        pending = Some(Ok(line));
                        break;
                    }
                    bytes += line.1.len();
                    group.push(line);
                }
                Err(_) => break,
            }
        }
        // A line that is not JSON stops the run; the lines before it are committed.
        // The store takes as many as fit one commit (events grow when canonicalized),
        // and the rest go into the next.
        let events: Vec<NewEvent<'_>> = group.iter().map(|(_, line)| NewEvent { json: line, nonce: None }).collect();
        let mut from = 0;
        while from < events.len() {
            let result = append(&events[from..])?;
            for a in &result.appended {
                writeln!(out, "{}", a.to_line()).map_err(stdout_error)?;
            }
            out.flush().map_err(stdout_error)?;
            total += result.appended.len() as u64;
            progress.update(total);
            if let Some(invalid) = result.invalid {
                let e = invalid.error;
                return Err(Error::new(e.code(), format!("line {}: {e}", group[from + invalid.position].0)));
            }
            from += result.appended.len();
        }
        let (used, committed) = &*in_flight;
        if let Ok(mut used) = used.lock() {
            *used -= bytes;
            committed.notify_all();
        }
    }
    Ok(())
}

fn stdout_error(e: std::io::Error) -> Error {
    Error::new(ErrorCode::Io, format!("cannot write standard output: {e}"))
}

/// What `log init` says about the new log: its id, where it is (a folder, or
/// `None` for PostgreSQL), its signing key and mode.
pub(crate) fn created(dir: Option<&Path>, kid: &str, log_id: &str, mode: Mode, json: bool) {
    if json {
        let mut summary = Vec::new();
        if let Some(dir) = dir {
            summary.push(("dir", Value::from(dir.display().to_string())));
        }
        summary.extend([
            ("kid", Value::from(kid)),
            ("log_id", Value::from(log_id)),
            ("mode", Value::from(mode.name())),
        ]);
        outln!("{}", text(&Value::object(summary)));
    } else {
        let place = dir.map_or_else(|| "PostgreSQL".to_owned(), |dir| dir.display().to_string());
        eprintln!("created log {log_id} in {place} (signing key {kid}, {} mode)", mode.name());
    }
}
