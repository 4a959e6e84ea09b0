//! Evidence packages (SPEC.md §19): one record with everything needed to check it
//! with nothing but OpenSSL and POSIX tools — the receipt as signed, the event, the
//! exact signing input, the signature in DER, the key as PEM and JWK, the key
//! history, the inclusion proof, the signed checkpoint and, when there is one, an
//! RFC 3161 timestamp of that checkpoint — with `verify.sh`, which
//! performs every check, `VERIFICATION.md`, which explains them to people, and the
//! SHA-256 of every file. Sans-I/O: this module returns the files; writing them and
//! making the `.tar.gz` is the caller's.

use crate::batch::BatchReceipt;
use crate::checkpoint::note_signature_by;
use crate::digest::Digest;
use crate::error::{Error, ErrorCode, Result};
use crate::json::{Value, canonicalize_value};
use crate::jwks::KeySet;
use crate::merkle::InclusionProof;
use crate::record::{Receipt, Record};
use crate::time::Timestamp;
use crate::timestamp::{self, TimestampTrust};
use crate::verify::verify_receipt;

mod archive;
mod disclosure;
mod erased;
mod keyhistory;
mod message;
mod witnesses;

pub use archive::{
    MAX_ARCHIVE_SIZE, MAX_GZIP_MEMBERS, MAX_PACKAGE_FILE_SIZE, MAX_PACKAGE_FILES, MAX_PACKAGE_SIZE, PackageLimits,
    is_plain_file_name, read_package_archive,
};
pub use erased::PackageErasure;
pub use keyhistory::{KeyRecordScan, MAX_PACKAGE_KEY_RECORDS, PackageKeyRecord, PackageKeys, package_keys};
pub use witnesses::PackageWitnesses;

/// The shell script of every package.
pub const VERIFY_SH: &str = include_str!("verify.sh");
const VERIFICATION_MD: &str = include_str!("VERIFICATION.md");

/// The names the files of a package may have (SPEC.md §19), each listed in
/// `SHA256SUMS`, which is the only other file, besides the numbered files of key
/// records ([`is_package_file_name`]). `verify.sh` holds the same list.
pub const PACKAGE_FILE_NAMES: [&str; 52] = [
    "receipt.jws",
    "batch-receipt.json",
    "signing-input.txt",
    "signature.der",
    "record.json",
    "event.json",
    "public-key.pem",
    "public-key.jwk",
    "keys.jwks",
    "inclusion-proof.json",
    "checkpoint.txt",
    "checkpoint-body.txt",
    "checkpoint-key.pem",
    "timestamp.tst",
    "tsa-root.pem",
    "tsa-chain.pem",
    "subject.txt",
    "VERIFICATION.md",
    "verify.sh",
    "manifest.json",
    "message.jws",
    "message-keys.jwks",
    "message-provenance.json",
    "message-verification.json",
    "message-export.json",
    "message-signing-input.txt",
    "message-payload.bin",
    "message-signature.bin",
    "message-key.jwk",
    "message-key.pem",
    "request-receipt.jws",
    "request-signing-input.txt",
    "request-signature.der",
    "request-record.json",
    "request-event.json",
    "request-inclusion-proof.json",
    "request-message.jws",
    "request-message-keys.jwks",
    "request-message-provenance.json",
    "request-message-verification.json",
    "request-message-export.json",
    "request-message-signing-input.txt",
    "request-message-payload.bin",
    "request-message-signature.bin",
    "request-message-key.jwk",
    "request-message-key.pem",
    witnesses::COSIGNED_FILE,
    witnesses::POLICY_FILE,
    disclosure::DISCLOSURES_FILE,
    erased::ERASURE_RECORD_FILE,
    erased::ERASURE_EVENT_FILE,
    erased::ERASURE_PROOF_FILE,
];

/// Whether a package may hold a file of this name (other than `SHA256SUMS`): one of
/// [`PACKAGE_FILE_NAMES`], or a file of key record 1 to 99 (`key-record-N.json`,
/// `key-record-N-event.json`, …).
pub fn is_package_file_name(name: &str) -> bool {
    PACKAGE_FILE_NAMES.contains(&name) || keyhistory::key_record_file(name).is_some()
}

/// One file of a package: its name in the package folder and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFile {
    /// The file name (no directories).
    pub name: String,
    /// The contents.
    pub bytes: Vec<u8>,
}

/// What a package is made from: the record's receipt (or batch receipt), the event's
/// canonical bytes, the key set to check it with, and, for a receipt, the inclusion
/// proof and the signed checkpoint it leads to (a batch receipt carries its own).
#[derive(Clone, Copy, Debug)]
pub struct PackageInput<'a> {
    /// A receipt (compact JWS) or a batch receipt (JSON), exactly as issued.
    pub receipt: &'a str,
    /// The event's canonical JSON bytes; for a version-2 record, its commitment
    /// document (SPEC.md §26); empty for a record whose event was erased.
    pub event: &'a [u8],
    /// For a version-2 record, the disclosures of the members to show (SPEC.md §19
    /// check 13); the others stay hidden. Empty for a version-1 record.
    pub disclosures: &'a [String],
    /// The signer's key history.
    pub keys: &'a KeySet,
    /// For a receipt: the inclusion proof of its record.
    pub proof: Option<&'a InclusionProof>,
    /// For a receipt: the signed checkpoint the proof leads to.
    pub checkpoint: Option<&'a str>,
    /// An RFC 3161 timestamp of that checkpoint (of the batch receipt's own, for a
    /// batch receipt).
    pub timestamp: Option<PackageTimestamp<'a>>,
    /// When the package is made: written into `message-export.json` when the event
    /// is a signed message (SPEC.md §21), which needs it; unused otherwise.
    pub exported_at: Option<Timestamp>,
    /// For a signed message that answers an earlier record (its `link`): that
    /// record's evidence, in the same checkpoint (SPEC.md §21.6).
    pub request: Option<PackageRequest<'a>>,
    /// Every key record that follows the record in the log, in log order (SPEC.md
    /// §19 check 11): `keys` must then be the key set the last one signed.
    pub key_records: &'a [PackageKeyRecord<'a>],
    /// When the log's witnesses cosigned the package's checkpoint: that cosigned
    /// checkpoint and the policy its cosignatures meet (SPEC.md §19 check 12).
    pub witnesses: Option<PackageWitnesses<'a>>,
    /// For a version-2 record whose event was erased (SPEC.md §27): the erasure
    /// record, in the tree of the package's checkpoint (SPEC.md §19 check 14). The
    /// package then holds no `event.json`.
    pub erasure: Option<PackageErasure<'a>>,
}

/// The record a linked signed message answers, packaged with it: its receipt, its
/// event's canonical bytes and its inclusion proof in the package's checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct PackageRequest<'a> {
    /// The request record's receipt (compact JWS), exactly as issued.
    pub receipt: &'a str,
    /// Its event's canonical JSON bytes.
    pub event: &'a [u8],
    /// Its inclusion proof in the tree of the package's checkpoint.
    pub proof: &'a InclusionProof,
}

/// An RFC 3161 time-stamp token over a checkpoint's signed note, with the
/// certificate chain it verifies with: the TSA's certificate first, the trusted root
/// last (as [`VerifiedTimestamp::chain_der`](crate::timestamp::VerifiedTimestamp)).
#[derive(Clone, Copy, Debug)]
pub struct PackageTimestamp<'a> {
    /// The TimeStampToken (DER).
    pub token: &'a [u8],
    /// The chain, TSA certificate first, root last.
    pub chain: &'a [Vec<u8>],
}

/// Makes the files of a package, after checking that the evidence in it verifies
/// (a package that cannot pass its own checks is refused, not written).
///
/// # Errors
/// The code of the first problem: a malformed receipt, proof or checkpoint, an
/// event that is not the one recorded ([`ErrorCode::EventMismatch`]), a key set
/// that does not verify the receipt, or a missing proof or checkpoint
/// ([`ErrorCode::InvalidArgument`]).
pub fn build_package(input: PackageInput<'_>) -> Result<Vec<PackageFile>> {
    // An erased event is not there to check: the erasure is, by check 14 below.
    let event = if input.erasure.is_some() { None } else { Some(input.event) };
    if event.is_none() && !input.event.is_empty() {
        return Err(Error::new(ErrorCode::InvalidArgument, "the package of an erased record has no event"));
    }
    let report = verify_receipt(input.receipt, input.keys, event)?;
    if let Some(code) = report.failure_codes().first() {
        return Err(Error::new(
            *code,
            format!("the evidence does not verify, so no package is made: {}", report.summary()),
        ));
    }
    let mut files = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| files.push(PackageFile { name: name.to_owned(), bytes });

    // For a receipt, the signature of the record; for a batch receipt, none: the
    // key signed the checkpoint, whose signature is taken below.
    let (record, record_bytes, proof, checkpoint, receipt_signature) = if input.receipt.starts_with('{') {
        let batch = BatchReceipt::parse(input.receipt)?;
        add("batch-receipt.json", input.receipt.as_bytes().to_vec());
        (
            batch.record().clone(),
            batch.record_bytes().to_vec(),
            batch.proof().clone(),
            batch.checkpoint_note().to_owned(),
            None,
        )
    } else {
        let (receipt, signing_input, signature) = receipt_parts(input.receipt)?;
        let missing =
            || Error::new(ErrorCode::InvalidArgument, "a receipt's package needs its inclusion proof and checkpoint");
        let proof = input.proof.ok_or_else(missing)?.clone();
        let checkpoint = input.checkpoint.ok_or_else(missing)?.to_owned();
        crate::batch::verify_inclusion_in_checkpoint(receipt.record_bytes(), &proof, &checkpoint, input.keys)?;
        add("receipt.jws", input.receipt.as_bytes().to_vec());
        add("signing-input.txt", signing_input.as_bytes().to_vec());
        (receipt.record().clone(), receipt.record_bytes().to_vec(), proof, checkpoint, Some(signature))
    };
    let subject = if receipt_signature.is_some() { "receipt" } else { "batch receipt" };

    let (key, _) = input.keys.select(Some(&record.kid))?;
    let history = keyhistory::package_keys(input.receipt, input.event, input.key_records, input.keys)?;
    let (key_record_files, signed_keys) = keyhistory::key_record_files(history.key_records, input.keys)?;
    // The checkpoint is signed by the key in force when it was signed: after a
    // rotation, a key the rotations carried hand over to, not revoked since
    // (receipts only; a batch receipt's checkpoint is the record's signature).
    let signed_by = |k: &crate::PublicKey| note_signature_by(&checkpoint, &record.log_id, k).ok();
    let (checkpoint_key, (body, note_signature)) = match signed_by(key) {
        Some(found) => (key, found),
        None if receipt_signature.is_some() => history
            .checkpoint_keys
            .iter()
            .find_map(|k| signed_by(k).map(|found| (k, found)))
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::CheckpointSignatureInvalid,
                    "neither the record's key nor a key its log handed over to since (and did not revoke) signed the checkpoint",
                )
            })?,
        None => note_signature_by(&checkpoint, &record.log_id, key).map(|found| (key, found))?,
    };
    if checkpoint_key != key {
        add("checkpoint-key.pem", checkpoint_key.to_pem().into_bytes());
    }
    add("signature.der", receipt_signature.unwrap_or(note_signature));
    add("record.json", record_bytes);
    match input.erasure {
        None => add("event.json", input.event.to_vec()),
        Some(erasure) => {
            for (name, bytes) in erased::erasure_files(erasure)? {
                add(name, bytes);
            }
        }
    }
    if !input.disclosures.is_empty() {
        if record.version != crate::record::RecordVersion::V2 {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "only a version-2 record's event is committed member by member, so only it has disclosures",
            ));
        }
        add(disclosure::DISCLOSURES_FILE, disclosure::disclosures_file(input.disclosures));
    }
    for file in message::message_files(input.event, input.exported_at)?.unwrap_or_default() {
        add(&file.name, file.bytes);
    }
    let linked = message::link_of(input.event).is_some();
    if linked {
        let request = input.request.ok_or_else(|| {
            Error::new(ErrorCode::InvalidArgument, "a linked message's package needs the record it answers")
        })?;
        if subject != "receipt" {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "a linked message's package is made from a log in receipts mode",
            ));
        }
        let (parsed, signing_input, signature) = receipt_parts(request.receipt)?;
        add("request-receipt.jws", request.receipt.as_bytes().to_vec());
        add("request-signing-input.txt", signing_input.as_bytes().to_vec());
        add("request-signature.der", signature);
        add("request-record.json", parsed.record_bytes().to_vec());
        add("request-event.json", request.event.to_vec());
        add("request-inclusion-proof.json", request.proof.to_json()?.into_bytes());
        for file in message::message_files(request.event, input.exported_at)?.unwrap_or_default() {
            add(&format!("request-{}", file.name), file.bytes);
        }
    }
    add("public-key.pem", key.to_pem().into_bytes());
    add("public-key.jwk", key.to_jwk().into_bytes());
    // With key records, keys.jwks is byte for byte the key set the last one signed.
    add("keys.jwks", signed_keys.unwrap_or_else(|| input.keys.to_json().into_bytes()));
    for file in key_record_files {
        add(&file.name, file.bytes);
    }
    add("inclusion-proof.json", proof.to_json()?.into_bytes());
    if let Some(stamp) = input.timestamp {
        add_timestamp(&mut add, stamp, &checkpoint)?;
    }
    add("checkpoint.txt", checkpoint.into_bytes());
    add("checkpoint-body.txt", body.into_bytes());
    if let Some(witnessed) = input.witnesses {
        add(witnesses::COSIGNED_FILE, witnessed.note.as_bytes().to_vec());
        add(witnesses::POLICY_FILE, witnessed.policy.as_bytes().to_vec());
    }
    add("subject.txt", describe(subject, &record).into_bytes());
    let explained = VERIFICATION_MD
        .replace("{{subject}}", &describe(subject, &record))
        .replace("{{message}}", &message::explanation(input.event, &record.time.to_string(), input.exported_at));
    add("VERIFICATION.md", explained.into_bytes());
    add("verify.sh", VERIFY_SH.as_bytes().to_vec());

    if message::is_message_event(input.event) {
        let file = |name: &str| files.iter().find(|f| f.name == name).map(|f| f.bytes.as_slice());
        message::check_message(&file).map_err(|why| {
            Error::new(ErrorCode::InvalidArgument, format!("the signed message's package would not verify: {why}"))
        })?;
    }
    if linked {
        let file = |name: &str| files.iter().find(|f| f.name == name).map(|f| f.bytes.as_slice());
        message::check_request(&file).map_err(|why| {
            Error::new(ErrorCode::LinkMismatch, format!("the record the message answers does not check: {why}"))
        })?;
    }

    // The manifest names every file with its SHA-256; SHA256SUMS says the same for
    // `sha256sum -c`, and covers the manifest too.
    let mut listed = Vec::new();
    for file in &files {
        let size = crate::json::Number::from_i64(i64::try_from(file.bytes.len()).unwrap_or(i64::MAX))?;
        listed.push(Value::object([
            ("name", Value::from(file.name.as_str())),
            ("sha256", Value::from(Digest::sha256(&file.bytes).to_hex())),
            ("size", Value::Number(size)),
        ]));
    }
    let manifest = Value::object([("files", Value::Array(listed))]);
    let mut manifest = canonicalize_value(&manifest)?;
    manifest.push(b'\n');
    files.push(PackageFile { name: "manifest.json".to_owned(), bytes: manifest });
    let sums: String = files.iter().map(|f| format!("{}  {}\n", Digest::sha256(&f.bytes).to_hex(), f.name)).collect();
    files.push(PackageFile { name: "SHA256SUMS".to_owned(), bytes: sums.into_bytes() });
    // Every package made passes its own checks: the evidence verified above, and this
    // holds the files to the same rules as a package handed over.
    if let Some(check) = verify_package(&files).into_iter().find(|c| c.failure.is_some()) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "the package would fail its check {} ({}): {}",
                check.number,
                check.title,
                check.failure.unwrap_or_default()
            ),
        ));
    }
    Ok(files)
}

/// The token as `timestamp.tst`, the root as `tsa-root.pem` and the rest of the
/// chain as `tsa-chain.pem`, after checking that the root is self-signed and that
/// the token verifies for the checkpoint with them.
fn add_timestamp(add: &mut impl FnMut(&str, Vec<u8>), stamp: PackageTimestamp<'_>, checkpoint: &str) -> Result<()> {
    let (root, rest) = stamp
        .chain
        .split_last()
        .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, "a timestamp needs its certificate chain"))?;
    timestamp::verify_self_signed(root)?;
    let trust = TimestampTrust { roots: vec![root.clone()], intermediates: rest.to_vec(), tsa_certificate: None };
    let verified = timestamp::verify_timestamp_token(stamp.token, checkpoint.as_bytes(), &trust)?;
    for cert in timestamp::read_timestamp_token(stamp.token)?.certificates {
        timestamp::verify_certificate_chain(&cert, &trust, verified.gen_time)?;
    }
    add("timestamp.tst", stamp.token.to_vec());
    add("tsa-root.pem", timestamp::certificate_to_pem(root).into_bytes());
    // The whole chain below the root, even what the token embeds: OpenSSL 1.1 builds
    // the chain from -untrusted and -CAfile only.
    if !rest.is_empty() {
        add("tsa-chain.pem", rest.iter().map(|c| timestamp::certificate_to_pem(c)).collect::<String>().into_bytes());
    }
    Ok(())
}

/// One line saying what the package holds.
fn describe(subject: &str, record: &Record) -> String {
    format!("{subject} for record {} of log {}, recorded at {}\n", record.seq, record.log_id, record.time)
}

/// The outcome of one check of a package, numbered as `verify.sh` numbers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageCheck {
    /// 1 to 14, as in `verify.sh` and VERIFICATION.md.
    pub number: u8,
    /// What the check establishes, in plain words.
    pub title: &'static str,
    /// Why it failed, or `None` when it passed (or does not apply).
    pub failure: Option<String>,
    /// Whether the check applies to this package: check 8 applies only to a package
    /// with a timestamp, check 11 only to one with key records.
    pub applies: bool,
    /// What a passed check found that a reader needs, such as the trusted time.
    pub detail: Option<String>,
}

impl PackageCheck {
    /// Whether the check passed; `None` when it does not apply to the package.
    pub fn passed(&self) -> Option<bool> {
        self.applies.then_some(self.failure.is_none())
    }
}

/// Checks a package (as [`verify_package`]) and gives the report as JSON (as
/// [`package_report_value`]): what every binding returns.
pub fn package_report(files: &[PackageFile]) -> Value {
    package_report_value(files, &verify_package(files))
}

/// The checks of a package and the verdict as JSON, the form every binding and
/// `evidentia package verify --json` give: `checks` (each with `number`, `check`,
/// `applies`, `passed` — null when the check does not apply —, `failure` and
/// `detail`), `valid` (true when no check failed) and `record`, what the package's
/// `record.json` claims (`log_id`, `seq`, `time`, `kid`, `event`, and `nonce` when
/// it has one; null when it cannot be read), to be trusted only when `valid`; and,
/// for a package that discloses members of a version-2 record's event (check 13
/// passed), `disclosed`: `{"disclosed": the members shown, "names": their names,
/// "undisclosed": how many stay hidden}`; for the package of an erased record
/// (check 14 passed), `erased`: `{"by": the erasure record's seq, "reason", "time":
/// the erasure record's time}`.
pub fn package_report_value(files: &[PackageFile], checks: &[PackageCheck]) -> Value {
    let rows = checks
        .iter()
        .map(|c| {
            let text = |t: &Option<String>| t.as_deref().map_or(Value::Null, Value::from);
            Value::object([
                ("number", Value::from(u32::from(c.number))),
                ("check", Value::from(c.title)),
                ("applies", Value::Bool(c.applies)),
                ("passed", c.passed().map_or(Value::Null, Value::Bool)),
                ("failure", text(&c.failure)),
                ("detail", text(&c.detail)),
            ])
        })
        .collect();
    let record = files.iter().find(|f| f.name == "record.json").and_then(|f| Record::from_bytes(&f.bytes).ok()).map_or(
        Value::Null,
        |r| {
            let mut members = vec![
                ("event", Value::from(r.event.to_string())),
                ("kid", Value::from(r.kid.as_str())),
                ("log_id", Value::from(r.log_id.as_str())),
                // A number as in record.json (text beyond 2^53, which JSON numbers lose).
                ("seq", seq_value(r.seq)),
                ("time", Value::from(r.time.to_string())),
            ];
            if let Some(nonce) = &r.nonce {
                members.push(("nonce", Value::from(nonce.as_str())));
            }
            Value::object(members)
        },
    );
    let valid = checks.iter().all(|c| c.failure.is_none());
    let mut members = vec![("checks", Value::Array(rows)), ("record", record), ("valid", Value::Bool(valid))];
    // Only a package that discloses members has it.
    let file = |name: &str| files.iter().find(|f| f.name == name).map(|f| f.bytes.as_slice());
    if checks.iter().any(|c| c.number == 13 && c.failure.is_none())
        && let Some(disclosed) = disclosure::disclosed(&file)
    {
        members.push(("disclosed", disclosed));
    }
    if checks.iter().any(|c| c.number == 14 && c.failure.is_none())
        && let Some(erased) = erased::erased(&file)
    {
        members.push(("erased", erased));
    }
    Value::object(members)
}

/// The checks of `verify.sh`, numbered as there, in order. Checks 9 and 10 are
/// listed only for a package whose event is a signed message (that answers another),
/// check 12 only for a package that carries a cosigned checkpoint or a policy, check
/// 13 only for one with disclosures, check 14 only for one of an erased record.
pub const PACKAGE_CHECKS: [&str; 14] = [
    "every file matches its SHA-256 in SHA256SUMS",
    "the key files are one key, whose thumbprint is the record's kid",
    "keys.jwks lists the key as in force at the record's time",
    "the signature is valid for the key",
    "the inclusion proof leads from the record to the checkpoint's root",
    "the checkpoint is signed by the same key, or by a later key the log's key records hand over to",
    "event.json is the event the record commits to",
    "a trusted timestamp (RFC 3161) shows the checkpoint existed at its time",
    message::MESSAGE_CHECK,
    message::REQUEST_CHECK,
    keyhistory::KEY_HISTORY_CHECK,
    witnesses::WITNESS_CHECK,
    disclosure::DISCLOSURE_CHECK,
    erased::ERASURE_CHECK,
];

/// A sequence number as report JSON gives one: a number, or text beyond 2^53.
pub(crate) fn seq_value(seq: u64) -> Value {
    i64::try_from(seq)
        .ok()
        .and_then(|n| crate::json::Number::from_i64(n).ok())
        .map_or_else(|| Value::from(seq.to_string()), Value::Number)
}

/// That the inclusion proof `proof_file`, whose text is `written`, leads from the
/// leaf of `leaf_file` (`leaf_bytes`, record `seq`) to the root of the checkpoint
/// `body` states, in a tree of its size: check 5 asks it for the record, check 14
/// for the erasure record. The proof must be written canonically, as `verify.sh`
/// compares it byte for byte: one form, so the file checked is the file an auditor
/// reads.
fn check_inclusion(
    proof_file: &str,
    written: &str,
    leaf_file: &str,
    leaf_bytes: &[u8],
    seq: u64,
    body: &str,
) -> std::result::Result<(), String> {
    let proof = InclusionProof::from_json(written).map_err(|e| format!("{proof_file}: {e}"))?;
    if proof.to_json().ok().as_deref() != Some(written) {
        return Err(format!("{proof_file} is not the canonical JSON of its proof"));
    }
    let checkpoint = crate::Checkpoint::from_text(body).map_err(|e| format!("checkpoint-body.txt: {e}"))?;
    if proof.leaf_index != seq || proof.tree_size != checkpoint.size {
        return Err(format!("{proof_file} is not for {leaf_file} in this checkpoint's tree"));
    }
    proof
        .verify(&crate::merkle::leaf_hash(leaf_bytes), &checkpoint.root)
        .map_err(|e| format!("{proof_file} does not lead from {leaf_file} to the root: {e}"))
}

/// Whether `keys_jwks` lists the key `kid` as in force at `time`: check 3 asks it
/// for the record, check 14 for the erasure record.
fn in_force(keys_jwks: &str, kid: &str, time: Timestamp) -> std::result::Result<(), String> {
    let keys = KeySet::from_json(keys_jwks).map_err(|e| format!("keys.jwks: {e}"))?;
    let (_, validity) = keys.select(Some(kid)).map_err(|e| format!("keys.jwks: {e}"))?;
    validity.check(time).map_err(|e| e.to_string())
}

/// Checks a package as `verify.sh` does, with the same verdict for each check.
/// Every check runs even when an earlier one failed, so the report says all that
/// is wrong.
pub fn verify_package(files: &[PackageFile]) -> Vec<PackageCheck> {
    let file = |name: &str| files.iter().find(|f| f.name == name).map(|f| f.bytes.as_slice());
    let text = |name: &str| -> std::result::Result<&str, String> {
        let bytes = file(name).ok_or_else(|| format!("{name} is missing"))?;
        std::str::from_utf8(bytes).map_err(|_| format!("{name} is not UTF-8 text"))
    };
    let record =
        text("record.json").and_then(|t| Record::from_bytes(t.as_bytes()).map_err(|e| format!("record.json: {e}")));
    let key =
        text("public-key.pem").and_then(|t| crate::PublicKey::from_pem(t).map_err(|e| format!("public-key.pem: {e}")));
    let body = text("checkpoint-body.txt").map(str::to_owned);
    let outcomes: [std::result::Result<(), String>; 7] = [
        check_sums(files),
        (|| {
            let (record, key) = (record.as_ref()?, key.as_ref()?);
            if text("public-key.pem")? != key.to_pem() {
                return Err("public-key.pem is not the canonical PEM of its key".to_owned());
            }
            if text("public-key.jwk")? != key.to_jwk() {
                return Err("public-key.jwk is not the canonical JWK of the key in public-key.pem".to_owned());
            }
            if key.kid() != record.kid {
                return Err(format!("the key's thumbprint is {}, the record names {}", key.kid(), record.kid));
            }
            Ok(())
        })(),
        (|| {
            let record = record.as_ref()?;
            in_force(text("keys.jwks")?, &record.kid, record.time)
        })(),
        (|| {
            let key = key.as_ref()?;
            let signature = file("signature.der").ok_or("signature.der is missing")?;
            if file("receipt.jws").is_some() {
                check_receipt_files(&file, ["receipt.jws", "signing-input.txt", "signature.der", "record.json"], key)
            } else {
                // As verify.sh builds it: the batch receipt's canonical JSON spliced
                // from the bytes of its parts (§11), so that both verifiers compare
                // the same text.
                let batch = file("batch-receipt.json").ok_or("batch-receipt.json is missing")?;
                let part = |name: &str| file(name).ok_or_else(|| format!("{name} is missing"));
                let expected =
                    batch_receipt_of(part("record.json")?, part("inclusion-proof.json")?, part("checkpoint.txt")?);
                if batch != expected.as_slice() {
                    return Err(
                        "batch-receipt.json is not the batch receipt of record.json, inclusion-proof.json and \
                        checkpoint.txt"
                            .to_owned(),
                    );
                }
                verified(key.verify_der(body.as_ref()?.as_bytes(), signature), "the checkpoint")
            }
        })(),
        (|| {
            let (record, body) = (record.as_ref()?, body.as_ref()?);
            let record_bytes = file("record.json").unwrap_or_default();
            check_inclusion(
                "inclusion-proof.json",
                text("inclusion-proof.json")?,
                "record.json",
                record_bytes,
                record.seq,
                body,
            )
        })(),
        (|| {
            let (record, key, body) = (record.as_ref()?, key.as_ref()?, body.as_ref()?);
            let note = text("checkpoint.txt")?;
            // After a rotation, a key the log handed over to signed the checkpoint.
            let other_key;
            let key = match file("checkpoint-key.pem") {
                None => key,
                Some(_) => {
                    let pem = text("checkpoint-key.pem")?;
                    other_key = crate::PublicKey::from_pem(pem).map_err(|e| format!("checkpoint-key.pem: {e}"))?;
                    if other_key.to_pem() != pem {
                        return Err("checkpoint-key.pem is not the canonical PEM of its key".to_owned());
                    }
                    if !keyhistory::handed_over_to(&record.kid, &file).iter().any(|kid| kid == other_key.kid()) {
                        return Err("checkpoint-key.pem is not a key a rotation the package carries hands over to (a \
                            package made before packages carried key records: export the record again)"
                            .to_owned());
                    }
                    // A key whose revocation the history records could sign any tree.
                    // An entry whose kid is its thumbprint and has a revocation; a
                    // keys.jwks that cannot be read revokes nothing here (check 3 fails it).
                    let keys = file("keys.jwks").and_then(|bytes| std::str::from_utf8(bytes).ok()).unwrap_or("");
                    let revoked = KeySet::from_json(keys).is_ok_and(|keys| {
                        keys.entries()
                            .iter()
                            .any(|e| e.kid() == Some(other_key.kid()) && e.validity().revoked_at.is_some())
                    });
                    if revoked {
                        return Err("checkpoint-key.pem is a key keys.jwks revokes".to_owned());
                    }
                    &other_key
                }
            };
            let verifier = crate::NoteVerifier::new(&record.log_id, key).map_err(|e| e.to_string())?;
            let verified = crate::verify_note(note, &[verifier]).map_err(|e| e.to_string())?;
            if verified.text != *body {
                return Err("checkpoint-body.txt is not the text checkpoint.txt signs".to_owned());
            }
            if body.split('\n').next() != Some(record.log_id.as_str()) {
                return Err("the checkpoint's origin is not the record's log id".to_owned());
            }
            Ok(())
        })(),
        (|| {
            let record = record.as_ref()?;
            let event = file("event.json").ok_or("event.json is missing")?;
            if Digest::sha256(event) != record.event {
                return Err("event.json's SHA-256 is not the digest the record commits to".to_owned());
            }
            Ok(())
        })(),
    ];
    let mut checks: Vec<PackageCheck> = outcomes
        .into_iter()
        .zip(PACKAGE_CHECKS)
        .enumerate()
        .map(|(i, (outcome, title))| PackageCheck {
            number: i as u8 + 1,
            title,
            failure: outcome.err(),
            applies: true,
            detail: None,
        })
        .collect();
    // A package of an erased record has no event to compare: check 14 shows why.
    if file(erased::ERASURE_RECORD_FILE).is_some() && file("event.json").is_none() {
        checks[6] = PackageCheck {
            number: 7,
            title: PACKAGE_CHECKS[6],
            failure: None,
            applies: false,
            detail: Some("the event was erased: check 14 shows by which record".into()),
        };
    }
    let stamp = file("timestamp.tst").map(|token| check_timestamp(token, &file));
    checks.push(PackageCheck {
        number: 8,
        title: PACKAGE_CHECKS[7],
        applies: stamp.is_some(),
        detail: match &stamp {
            Some(Ok(detail)) => Some(detail.clone()),
            Some(Err(_)) => None,
            None => {
                Some("the package has no trusted timestamp: the record's time is the signer's own statement".into())
            }
        },
        failure: stamp.and_then(|outcome| outcome.err()),
    });
    if file("event.json").is_some_and(message::is_message_event) {
        let outcome = message::check_message(&file);
        checks.push(PackageCheck {
            number: 9,
            title: PACKAGE_CHECKS[8],
            applies: true,
            detail: outcome.as_ref().ok().cloned(),
            failure: outcome.err(),
        });
    }
    if file("event.json").and_then(message::link_of).is_some() {
        let outcome = message::check_request(&file);
        checks.push(PackageCheck {
            number: 10,
            title: PACKAGE_CHECKS[9],
            applies: true,
            detail: outcome.as_ref().ok().cloned(),
            failure: outcome.err(),
        });
    }
    let history = keyhistory::check_key_history(files, &file);
    checks.push(PackageCheck {
        number: 11,
        title: PACKAGE_CHECKS[10],
        applies: !matches!(history, Ok(None)),
        detail: match &history {
            Ok(Some(detail)) => Some(detail.clone()),
            Ok(None) => Some(
                "no key record follows the record in this package: keys.jwks is the maker's statement beyond the record's key"
                    .into(),
            ),
            Err(_) => None,
        },
        failure: history.err(),
    });
    if let Some(outcome) = witnesses::check_witnesses(&file) {
        checks.push(PackageCheck {
            number: 12,
            title: PACKAGE_CHECKS[11],
            applies: true,
            detail: outcome.as_ref().ok().cloned(),
            failure: outcome.err(),
        });
    }
    if let Some(outcome) = disclosure::check(&file) {
        checks.push(PackageCheck {
            number: 13,
            title: PACKAGE_CHECKS[12],
            applies: true,
            detail: outcome.as_ref().ok().cloned(),
            failure: outcome.err(),
        });
    }
    if let Some(outcome) = erased::check(&file) {
        checks.push(PackageCheck {
            number: 14,
            title: PACKAGE_CHECKS[13],
            applies: true,
            detail: outcome.as_ref().ok().cloned(),
            failure: outcome.err(),
        });
    }
    checks
}

/// Check 8: the token verifies for checkpoint.txt through tsa-root.pem (with
/// tsa-chain.pem), at its own time; both certificate files are canonical PEM.
fn check_timestamp<'f>(token: &[u8], file: &impl Fn(&str) -> Option<&'f [u8]>) -> std::result::Result<String, String> {
    let certificates = |name: &str| -> std::result::Result<Vec<Vec<u8>>, String> {
        let Some(bytes) = file(name) else { return Ok(Vec::new()) };
        let list = timestamp::read_certificates(bytes).map_err(|e| format!("{name}: {e}"))?;
        let canonical: String = list.iter().map(|c| timestamp::certificate_to_pem(c)).collect();
        if canonical.as_bytes() != bytes {
            return Err(format!("{name} is not the canonical PEM of its certificates"));
        }
        Ok(list)
    };
    let roots = certificates("tsa-root.pem")?;
    if roots.len() != 1 {
        return Err("tsa-root.pem must hold exactly one certificate".to_owned());
    }
    timestamp::verify_self_signed(&roots[0]).map_err(|e| format!("tsa-root.pem: {e}"))?;
    let trust = TimestampTrust { roots, intermediates: certificates("tsa-chain.pem")?, tsa_certificate: None };
    let checkpoint = file("checkpoint.txt").ok_or("checkpoint.txt is missing")?;
    let verified = timestamp::verify_timestamp_token(token, checkpoint, &trust).map_err(|e| e.to_string())?;
    // Every certificate of tsa-chain.pem, and every one the token carries (its
    // signature does not cover them), leads to the root at the stamped time.
    let embedded = timestamp::read_timestamp_token(token).map_err(|e| e.to_string())?.certificates;
    for (cert, place) in
        trust.intermediates.iter().map(|c| (c, "tsa-chain.pem")).chain(embedded.iter().map(|c| (c, "timestamp.tst")))
    {
        timestamp::verify_certificate_chain(cert, &trust, verified.gen_time).map_err(|e| format!("{place}: {e}"))?;
    }
    Ok(format!(
        "the checkpoint existed at {} by {} (root {}, SHA-256 fingerprint {})",
        verified.gen_time,
        verified.tsa,
        verified.chain.last().map_or("", String::as_str),
        timestamp::certificate_fingerprint(&trust.roots[0])
    ))
}

/// The batch receipt (SPEC.md §11) made of a record's bytes, an inclusion proof's
/// JSON and a signed checkpoint, as `verify.sh` builds it: the record and the
/// checkpoint as JSON strings (a backslash, a double quote and a line feed escaped,
/// every other byte as it is: canonical record bytes and a well-formed note have no
/// other character JSON escapes), the proof's JSON as it is. For parts that are
/// canonical this is exactly [`BatchReceipt::to_json`].
fn batch_receipt_of(record: &[u8], proof: &[u8], checkpoint: &[u8]) -> Vec<u8> {
    let mut out = b"{\"checkpoint\":".to_vec();
    out.extend(json_string(checkpoint));
    out.extend_from_slice(b",\"proof\":");
    out.extend_from_slice(proof);
    out.extend_from_slice(b",\"record\":");
    out.extend(json_string(record));
    out.extend_from_slice(b",\"type\":\"evidentia-batch-receipt\",\"v\":1}");
    out
}

/// Bytes as a JSON string, as `verify.sh`'s `json_string` writes them: `"`, the
/// bytes with each backslash, double quote and line feed escaped and every other
/// byte as it is, and `"`.
fn json_string(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
    out.push(b'"');
    out
}

/// A receipt and the parts a package writes of it: the JWS signing input (its first
/// two parts) and its signature in DER, as OpenSSL reads it.
fn receipt_parts(receipt: &str) -> Result<(Receipt, &str, Vec<u8>)> {
    let parsed = Receipt::parse(receipt)?;
    let signing_input = receipt.rsplit_once('.').map_or("", |(head, _)| head);
    let der = crate::keys::signature_to_der(parsed.signature())?;
    Ok((parsed, signing_input, der))
}

/// Checks that the package files `[receipt, signing input, signature, record]` are a
/// receipt and exactly its parts, and that its signature verifies with `key` (check 4
/// for the record, check 10 for the request, check 11 for a key record).
fn check_receipt_files<'f>(
    file: &impl Fn(&str) -> Option<&'f [u8]>,
    [receipt, signing_input, signature, record]: [&str; 4],
    key: &crate::PublicKey,
) -> std::result::Result<(), String> {
    let need = |name: &str| file(name).ok_or_else(|| format!("{name} is missing"));
    let text = std::str::from_utf8(need(receipt)?).map_err(|_| format!("{receipt} is not text"))?;
    let (parsed, input, der) = receipt_parts(text).map_err(|e| format!("{receipt}: {e}"))?;
    if need(signing_input)? != input.as_bytes() || need(signature)? != der || need(record)? != parsed.record_bytes() {
        return Err(format!("{signing_input}, {signature} or {record} is not {receipt}'s"));
    }
    verified(key.verify_der(input.as_bytes(), &der), receipt)
}

fn verified(valid: bool, what: &str) -> std::result::Result<(), String> {
    if valid { Ok(()) } else { Err(format!("the signature over {what} does not verify with the key")) }
}

/// Check 1: SHA256SUMS lists every other file of the package with its SHA-256:
/// lines of 64 lowercase hex digits, two spaces and a name of
/// a package ([`is_package_file_name`]), each name once, each line ending in a newline (as
/// `verify.sh` requires before it lets `sha256sum` read any file).
fn check_sums(files: &[PackageFile]) -> std::result::Result<(), String> {
    // A package proves one record one way: a receipt, or a batch receipt. A second
    // one would be listed and hashed but never checked.
    let has = |name: &str| files.iter().any(|f| f.name == name);
    if has("receipt.jws") && has("batch-receipt.json") {
        return Err("the package holds both receipt.jws and batch-receipt.json; a package holds one".to_owned());
    }
    let sums = files.iter().find(|f| f.name == "SHA256SUMS").ok_or("SHA256SUMS is missing")?;
    let sums = std::str::from_utf8(&sums.bytes).map_err(|_| "SHA256SUMS is not text")?;
    let body = sums.strip_suffix('\n').ok_or("SHA256SUMS does not end with a newline")?;
    let mut listed = Vec::new();
    for line in body.split('\n') {
        let malformed = || format!("SHA256SUMS: malformed line {line:?}");
        let (hash, name) = line.split_once("  ").ok_or_else(malformed)?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(malformed());
        }
        if !is_package_file_name(name) {
            return Err(format!("SHA256SUMS names {name:?}, which is not a file of a package"));
        }
        if listed.contains(&name) {
            return Err(format!("SHA256SUMS lists {name} twice"));
        }
        let file = files.iter().find(|f| f.name == name).ok_or_else(|| format!("{name} is missing"))?;
        if Digest::sha256(&file.bytes).to_hex() != hash {
            return Err(format!("{name} differs from its SHA-256 in SHA256SUMS"));
        }
        listed.push(name);
    }
    match files.iter().find(|f| f.name != "SHA256SUMS" && !listed.contains(&f.name.as_str())) {
        Some(extra) => Err(format!("{} is not listed in SHA256SUMS", extra.name)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MemoryTree, inclusion_proof, leaf_hash};
    use crate::{ChainState, Checkpoint, SigningKey, Timestamp, issue_receipt, sign_checkpoint};

    /// A log of three receipts in memory: the second receipt, its event, its proof and
    /// the checkpoint, and the key set.
    fn evidence() -> (String, Vec<u8>, InclusionProof, String, KeySet) {
        let key = SigningKey::from_bytes(&[3u8; 32]).unwrap();
        let mut state = ChainState::new("example.com/package").unwrap();
        let time = Timestamp::parse("2026-11-22T10:00:00Z").unwrap();
        let issued: Vec<_> = (0..3)
            .map(|i| issue_receipt(&key, &mut state, format!("{{\"n\":{i}}}").as_bytes(), time, None).unwrap())
            .collect();
        let tree = MemoryTree::from_leaf_hashes(issued.iter().map(|i| leaf_hash(i.receipt.record_bytes())));
        let checkpoint =
            Checkpoint { origin: "example.com/package".into(), size: 3, root: tree.root(), extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, &key).unwrap();
        let proof = InclusionProof { leaf_index: 1, tree_size: 3, hashes: inclusion_proof(&tree, 1, 3).unwrap() };
        let keys = KeySet::single(key.public_key());
        (issued[1].receipt.as_str().to_owned(), issued[1].event.clone(), proof, note, keys)
    }

    /// The package of [`evidence`], without a timestamp.
    fn package_of_evidence() -> Vec<PackageFile> {
        let (receipt, event, proof, note, keys) = evidence();
        let input = PackageInput {
            receipt: &receipt,
            event: &event,
            disclosures: &[],
            keys: &keys,
            proof: Some(&proof),
            checkpoint: Some(&note),
            timestamp: None,
            exported_at: None,
            request: None,
            key_records: &[],
            witnesses: None,
            erasure: None,
        };
        build_package(input).unwrap()
    }

    #[test]
    fn a_package_passes_its_own_checks_and_fails_them_when_changed() {
        let mut files = package_of_evidence();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert!(names.contains(&"verify.sh") && names.contains(&"SHA256SUMS") && names.contains(&"signature.der"));
        assert!(verify_package(&files).iter().all(|c| c.failure.is_none()));

        let event_file = files.iter_mut().find(|f| f.name == "event.json").unwrap();
        event_file.bytes = br#"{"n":9}"#.to_vec();
        let failed: Vec<u8> = verify_package(&files).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect();
        assert_eq!(failed, [1, 7]);
    }

    #[test]
    fn the_batch_receipt_verify_sh_builds_is_the_cores() {
        let (receipt, _, proof, note, _) = evidence();
        let record = Receipt::parse(&receipt).unwrap().record_bytes().to_vec();
        let batch = BatchReceipt::new(&record, proof.clone(), &note).unwrap();
        let built = batch_receipt_of(&record, proof.to_json().unwrap().as_bytes(), note.as_bytes());
        assert_eq!(String::from_utf8(built).unwrap(), batch.to_json());
        // A note's line feeds, the em dash and a quote or backslash in the parts.
        assert_eq!(batch_receipt_of(b"a\\\"b", b"{}", "\u{2014} x\n".as_bytes()), {
            let expected = "{\"checkpoint\":\"\u{2014} x\\n\",\"proof\":{},\"record\":\"a\\\\\\\"b\",\"type\":\"evidentia-batch-receipt\",\"v\":1}";
            expected.as_bytes().to_vec()
        });
    }

    #[test]
    fn a_package_with_both_a_receipt_and_a_batch_receipt_fails_check_1() {
        let mut files = package_of_evidence();
        let extra = PackageFile { name: "batch-receipt.json".into(), bytes: b"{}".to_vec() };
        let sums = files.iter_mut().find(|f| f.name == "SHA256SUMS").unwrap();
        sums.bytes.extend_from_slice(format!("{}  batch-receipt.json\n", Digest::sha256(b"{}").to_hex()).as_bytes());
        files.push(extra);
        let failed: Vec<u8> = verify_package(&files).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect();
        assert_eq!(failed, [1]);
    }

    #[test]
    fn every_single_byte_change_to_the_evidence_fails_the_check_that_covers_it() {
        let files = package_of_evidence();
        let covering = |name: &str| match name {
            "public-key.pem" | "public-key.jwk" => Some(2),
            "receipt.jws" | "signing-input.txt" | "signature.der" | "record.json" => Some(4),
            "inclusion-proof.json" => Some(5),
            "checkpoint.txt" => Some(6),
            "event.json" => Some(7),
            _ => None,
        };
        let mut changes = 0;
        for (i, file) in files.iter().enumerate() {
            let Some(check) = covering(&file.name) else { continue };
            for at in 0..file.bytes.len() {
                let mut changed = files.clone();
                changed[i].bytes[at] ^= 0x01;
                let failed: Vec<u8> =
                    verify_package(&changed).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect();
                assert!(failed.contains(&1) && failed.contains(&check), "{} byte {at}: {failed:?}", file.name);
                changes += 1;
            }
        }
        assert!(changes > 2000, "{changes}");
    }

    #[test]
    fn no_package_is_made_from_evidence_that_does_not_verify() {
        let (receipt, event, proof, note, keys) = evidence();
        let with = |event: &[u8], proof: Option<&InclusionProof>, checkpoint: Option<&str>| {
            build_package(PackageInput {
                receipt: &receipt,
                event,
                disclosures: &[],
                keys: &keys,
                proof,
                checkpoint,
                timestamp: None,
                exported_at: None,
                request: None,
                key_records: &[],
                witnesses: None,
                erasure: None,
            })
            .unwrap_err()
            .code()
        };
        assert_eq!(with(br#"{"n":9}"#, Some(&proof), Some(&note)), ErrorCode::EventMismatch);
        assert_eq!(with(&event, None, Some(&note)), ErrorCode::InvalidArgument);
        assert_eq!(with(&event, Some(&proof), None), ErrorCode::InvalidArgument);
        let wrong = InclusionProof { leaf_index: 0, ..proof.clone() };
        assert_eq!(with(&event, Some(&wrong), Some(&note)), ErrorCode::InclusionProofInvalid);
        let other = KeySet::single(SigningKey::from_bytes(&[4u8; 32]).unwrap().public_key());
        let code = build_package(PackageInput {
            receipt: &receipt,
            event: &event,
            disclosures: &[],
            keys: &other,
            proof: Some(&proof),
            checkpoint: Some(&note),
            timestamp: None,
            exported_at: None,
            request: None,
            key_records: &[],
            witnesses: None,
            erasure: None,
        })
        .unwrap_err()
        .code();
        assert_eq!(code, ErrorCode::KeyNotFound);
    }
}
