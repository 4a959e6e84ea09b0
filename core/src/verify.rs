//! Verification of one receipt and of whole logs, producing [`Report`]s.
//!
//! Malformed input is an error ("could not verify"); well-formed evidence that fails
//! a check is a report ("verified: invalid").

use std::collections::HashSet;

use crate::checkpoint::{Checkpoint, NoteVerifier, read_checkpoint, split_note};
use crate::digest::Digest;
use crate::erasure::{Erasure, erasure_of};
use crate::error::{Error, ErrorCode, Result};
use crate::jwks::{KeySet, Validity};
use crate::keyrecord::{KeyChange, KeyRecord, key_record_of, same_history};
use crate::merkle::{Accumulator, Hash, leaf_hash, verify_inclusion};
use crate::message::{Link, check_stored_event};
use crate::record::{Receipt, Record, RecordVersion};
use crate::report::{Check, ErasedRecord, Report, ReportBuilder, Subject};
use crate::stored_event::{EventState, event_state};
use crate::time::Timestamp;
use crate::witness::LogKey;

/// Findings listed in a report before further ones are only counted.
pub const DEFAULT_MAX_FINDINGS: usize = 1000;

/// Verifies one receipt — a JWS receipt, or a batch receipt (JSON, which starts
/// with `{`) — with [`verify_batch_receipt`](crate::verify_batch_receipt) for the
/// latter: its signature, that its key is in `keys` and was valid at the record's
/// time, and, when `event` (JSON text) is given, that the event is the one the
/// record commits to. For a record of version 2, which commits to its event under
/// a salt, use [`verify_receipt_salted`].
///
/// # Errors
/// Malformed input: a receipt that is not a well-formed receipt (`Jws*`, `Record*`,
/// `Proof*` codes) or an event that is not valid JSON (`Json*` codes).
/// [`ErrorCode::InvalidArgument`] for the event of a version-2 record, which
/// cannot be checked without its salt (unless it is the record's commitment
/// document, SPEC.md §12).
pub fn verify_receipt(receipt: &str, keys: &KeySet, event: Option<&[u8]>) -> Result<Report> {
    verify_receipt_salted(receipt, keys, event, None)
}

/// [`verify_receipt`] with the event's salt (SPEC.md §26): the salt a record of
/// version 2 commits to its event under, which an append returns and the log keeps
/// beside the event until it is erased. The event may also be the record's
/// commitment document itself, which needs no salt.
///
/// # Errors
/// As [`verify_receipt`]; [`ErrorCode::InvalidArgument`] for a salt given without
/// an event, a salt for a record of version 1 (whose event is not salted), or a
/// salt shorter than 16 or longer than 64 bytes.
pub fn verify_receipt_salted(
    receipt: &str,
    keys: &KeySet,
    event: Option<&[u8]>,
    salt: Option<&[u8]>,
) -> Result<Report> {
    if receipt.starts_with('{') {
        return crate::batch::verify_batch_receipt_salted(receipt, keys, event, salt);
    }
    verify_compact_receipt(receipt, keys, event, salt)
}

/// [`verify_receipt_salted`] for a receipt (a compact JWS), never a batch receipt.
pub(crate) fn verify_compact_receipt(
    receipt: &str,
    keys: &KeySet,
    event: Option<&[u8]>,
    salt: Option<&[u8]>,
) -> Result<Report> {
    let receipt = Receipt::parse(receipt)?;
    let event_digest = claimed_event_digest(receipt.record(), event, salt)?;
    let mut report = ReportBuilder::new(Subject::Receipt, keys, DEFAULT_MAX_FINDINGS);
    report.count_record();
    report.set_log_id(Some(receipt.record().log_id.clone()));
    report.set_record(receipt.record().seq, Digest::sha256(receipt.record_bytes()));
    report.ran(&[Check::Format]);
    let checks = PreparedEntry::key_and_signature(&receipt, keys);
    report.ran(&checks.ran);
    for finding in checks.findings {
        report.fail_check(finding.check, finding.code, None, finding.message);
    }
    check_claimed_event(&mut report, receipt.record(), event, event_digest);
    Ok(report.finish())
}

/// The digest of the event a receipt's holder claims its record commits to
/// (SPEC.md §12): `event` (JSON text) as it is for a record of version 1; for one
/// of version 2, the event as it is when that is the record's commitment document
/// itself, else its commitment under `salt` (SPEC.md §26.1).
///
/// # Errors
/// A `Json*` code for an event that is not JSON; [`ErrorCode::InvalidArgument`]
/// for a salt without an event or for a version-1 record, a salt of the wrong
/// length, or a version-2 record's event without its salt.
pub(crate) fn claimed_event_digest(
    record: &Record,
    event: Option<&[u8]>,
    salt: Option<&[u8]>,
) -> Result<Option<Digest>> {
    let invalid = |message: &str| Err(Error::new(ErrorCode::InvalidArgument, message.to_owned()));
    let Some(event) = event else {
        return match salt {
            Some(_) => invalid("a salt was given without the event it salts"),
            None => Ok(None),
        };
    };
    // The event is read first: text that is not JSON is that error, whatever the salt.
    let plain = Digest::of_json(event)?;
    match (record.version, salt) {
        (RecordVersion::V1, None) => Ok(Some(plain)),
        (RecordVersion::V1, Some(_)) => {
            invalid("the record is of version 1: its event is not salted, so it is checked without a salt")
        }
        // The record's own commitment document, with its salt or without.
        (RecordVersion::V2, _) if plain == record.event => Ok(Some(plain)),
        (RecordVersion::V2, Some(salt)) => Ok(Some(crate::commitment::commit_json(event, salt)?.digest())),
        (RecordVersion::V2, None) => invalid(
            "the record is of version 2: it commits to its event under a salt, so the event is checked with it \
             (kept with the receipt; `evidentia log salt` prints it until the event is erased)",
        ),
    }
}

/// Records the event check of a single record, whose claimed event (`event`) has
/// the digest `digest` ([`claimed_event_digest`]).
pub(crate) fn check_claimed_event(
    report: &mut ReportBuilder,
    record: &Record,
    event: Option<&[u8]>,
    digest: Option<Digest>,
) {
    let (Some(event), Some(digest)) = (event, digest) else { return };
    report.ran(&[Check::Event]);
    if digest != record.event {
        report.fail(ErrorCode::EventMismatch, None, EVENT_MISMATCH);
    } else {
        check_message_event(report, event, Some(record.time));
    }
}

const EVENT_MISMATCH: &str = "the event differs from the event the record commits to";

/// Checks an event that matched its record as a signed message, if it is one. A
/// single record's link cannot be checked without the log it points into.
pub(crate) fn check_message_event(report: &mut ReportBuilder, event: &[u8], record_time: Option<Timestamp>) {
    let Ok(canonical) = crate::json::canonicalize(event) else { return };
    if let Some(check) = check_stored_event(&canonical, record_time) {
        report.ran(&[Check::Message]);
        if let Some((code, message)) = check.failure {
            report.fail(code, None, message);
        }
    }
}

/// Whether a checkpoint's signature lines (see [`PreparedCheckpoint`]) sign it for a
/// log: only the lines of keys valid at the time of its last record count (for a
/// checkpoint of no records, keys never revoked, as alone, SPEC §10); a line of
/// another key (one revoked before, say) is ignored, verifying or not; a counted
/// one must verify, and one must be counted.
fn judge_signers(signers: Result<Vec<(Validity, bool)>>, last_time: Option<Timestamp>) -> Result<()> {
    let signers = signers?;
    let valid = |validity: &Validity| match last_time {
        Some(t) => validity.check(t).is_ok(),
        None => validity.revoked_at.is_none(),
    };
    let counted: Vec<bool> = signers.iter().filter(|(v, _)| valid(v)).map(|(_, ok)| *ok).collect();
    let invalid = |why: &'static str| Err(Error::new(ErrorCode::CheckpointSignatureInvalid, why));
    if counted.contains(&false) {
        invalid("the signature of a trusted key does not verify")
    } else if !counted.is_empty() {
        Ok(())
    } else if signers.is_empty() {
        invalid("the note has no signature from a trusted key")
    } else {
        invalid("its signing key was not valid at the time of its last record")
    }
}

/// Options for verifying a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogVerifyOptions {
    /// The log id every record must carry; by default, the first record's.
    pub expected_log_id: Option<String>,
    /// Whether a record without its event is a failure ([`ErrorCode::EventMissing`]).
    pub require_events: bool,
    /// How many findings a report lists; further ones are counted only.
    pub max_findings: usize,
}

impl Default for LogVerifyOptions {
    fn default() -> Self {
        LogVerifyOptions { expected_log_id: None, require_events: false, max_findings: DEFAULT_MAX_FINDINGS }
    }
}

/// What the verifier knows about the record before the current one.
#[derive(Clone, Copy, Debug)]
enum Previous {
    /// No record yet.
    Start,
    /// The previous record's digest.
    Known(Digest),
    /// The previous record could not be read; the link to it is not judged again.
    Unreadable,
}

/// A range of sequence numbers `[from, to)` missing so far, and the position of the
/// record after which the gap appeared.
#[derive(Clone, Copy, Debug)]
struct Gap {
    from: u64,
    to: u64,
    index: u64,
}

/// A finding of the checks that need no other entry; its index is added when the
/// entry is pushed.
#[derive(Clone, Debug)]
struct PendingFinding {
    check: Check,
    code: ErrorCode,
    message: String,
}

/// What the order-dependent checks need of a readable record.
#[derive(Clone, Debug)]
struct PreparedRecord {
    record: Record,
    /// SHA-256 of the record's bytes: the next record's `prev`.
    digest: Digest,
    /// The record's Merkle leaf hash.
    leaf: Hash,
    /// The first 16 bytes of SHA-256 of the nonce, if any.
    nonce: Option<[u8; 16]>,
}

/// One stored entry after the checks that need no other entry — reading it, its key,
/// its signature, its event — and the digests the others need. Preparing is the
/// bulk of the work and may run on any thread; [`LogVerifier::push_prepared`] then
/// takes prepared entries in stored order.
#[derive(Clone, Debug)]
pub struct PreparedEntry {
    ran: Vec<Check>,
    findings: Vec<PendingFinding>,
    record: Option<PreparedRecord>,
    /// A record of a batch-signed log (covered by checkpoints, not signed itself).
    batch: bool,
    event_missing: bool,
    /// The record's event was erased (SPEC.md §27).
    event_erased: bool,
    /// A signed message's link to an earlier record.
    link: Option<Link>,
    /// A key record (SPEC.md §23), read, when the event is one.
    key_record: Option<Result<KeyRecord>>,
    /// An erasure record (SPEC.md §27), when the event is one.
    erasure: Option<Erasure>,
}

impl PreparedEntry {
    fn new() -> PreparedEntry {
        PreparedEntry {
            ran: Vec::new(),
            findings: Vec::new(),
            record: None,
            batch: false,
            event_missing: false,
            event_erased: false,
            link: None,
            key_record: None,
            erasure: None,
        }
    }

    fn fail(&mut self, code: ErrorCode, message: impl Into<String>) {
        self.findings.push(PendingFinding { check: Check::for_code(code), code, message: message.into() });
    }

    fn unreadable_with(code: ErrorCode, message: String) -> PreparedEntry {
        let mut entry = PreparedEntry::new();
        entry.findings.push(PendingFinding { check: Check::Format, code, message });
        entry
    }

    /// A stored entry that is not a receipt or record at all (a damaged frame, a
    /// line that cannot be split), with the reason.
    pub fn unreadable(reason: &str) -> PreparedEntry {
        PreparedEntry::unreadable_with(ErrorCode::RecordUnreadable, reason.to_owned())
    }

    /// Prepares a stored receipt and its stored event (canonical bytes).
    pub fn receipt(keys: &KeySet, receipt: &str, event: Option<&[u8]>) -> PreparedEntry {
        let receipt = match Receipt::parse(receipt) {
            Ok(receipt) => receipt,
            Err(e) => return PreparedEntry::unreadable_with(e.code(), format!("the receipt cannot be read: {e}")),
        };
        let mut entry = PreparedEntry::key_and_signature(&receipt, keys);
        entry.finish(receipt.record().clone(), receipt.record_bytes(), event);
        entry
    }

    /// The key binding, the key's validity at the record's time, and the signature.
    fn key_and_signature(receipt: &Receipt, keys: &KeySet) -> PreparedEntry {
        let mut entry = PreparedEntry::new();
        entry.ran.push(Check::Key);
        let record = receipt.record();
        if receipt.header_kid() != record.kid {
            let message =
                format!("the signature names key {} but the record names key {}", receipt.header_kid(), record.kid);
            entry.fail(ErrorCode::KidMismatch, message);
        }
        match keys.select(Some(receipt.header_kid())) {
            Err(e) => entry.fail(e.code(), e.message()),
            Ok((key, validity)) => {
                if let Err(e) = validity.check(record.time) {
                    entry.fail(e.code(), e.message());
                }
                entry.ran.push(Check::Signature);
                if !key.verify(receipt.signing_input(), receipt.signature()) {
                    entry.fail(ErrorCode::SignatureInvalid, SIGNATURE_INVALID);
                }
            }
        }
        entry
    }

    /// Prepares a stored record of a batch-signed log and its stored event.
    pub fn record(keys: &KeySet, record_bytes: &[u8], event: Option<&[u8]>) -> PreparedEntry {
        let record = match Record::from_bytes(record_bytes) {
            Ok(record) => record,
            Err(e) => return PreparedEntry::unreadable_with(e.code(), format!("the record cannot be read: {e}")),
        };
        let mut entry = PreparedEntry::new();
        entry.batch = true;
        entry.ran.push(Check::Key);
        match keys.select(Some(&record.kid)) {
            Err(e) => entry.fail(e.code(), e.message()),
            Ok((_, validity)) => {
                if let Err(e) = validity.check(record.time) {
                    entry.fail(e.code(), e.message());
                }
            }
        }
        entry.finish(record, record_bytes, event);
        entry
    }

    /// The event check and the digests, for a readable record.
    fn finish(&mut self, record: Record, record_bytes: &[u8], event: Option<&[u8]>) {
        match event.map_or(EventState::Missing, |stored| event_state(&record, stored)) {
            EventState::Matches(bytes) => {
                self.ran.push(Check::Event);
                if let Some(check) = check_stored_event(bytes, Some(record.time)) {
                    self.ran.push(Check::Message);
                    if let Some((code, message)) = check.failure {
                        self.fail(code, message);
                    }
                    self.link = check.link;
                }
                self.key_record = key_record_of(bytes);
                // Only a version-1 record with a well-formed erasure event is an
                // erasure record (SPEC.md §27.1): any other event is an event, so
                // logs written before erasure existed read as they did. A malformed
                // one explains no erasure, and the event it meant stays unexplained.
                if record.version == RecordVersion::V1 {
                    self.erasure = erasure_of(bytes).and_then(Result::ok);
                }
            }
            EventState::Mismatch(message) => self.fail(ErrorCode::EventMismatch, message),
            EventState::Erased => self.event_erased = true,
            EventState::Missing => self.event_missing = true,
        }
        let nonce = record.nonce.as_ref().map(|nonce| {
            let mut fingerprint = [0u8; 16];
            fingerprint.copy_from_slice(&Digest::sha256(nonce.as_bytes()).as_bytes()[..16]);
            fingerprint
        });
        self.record =
            Some(PreparedRecord { digest: Digest::sha256(record_bytes), leaf: leaf_hash(record_bytes), nonce, record });
    }
}

/// A stored checkpoint with its signature checked against a key set: the part of
/// checking it that needs no records, so it may run on any thread.
#[derive(Clone, Debug)]
pub struct PreparedCheckpoint {
    checkpoint: Result<Checkpoint>,
    /// The validity of each key of the set whose signature lines the note carries,
    /// and whether they verify; or why the note cannot be judged. Which keys count
    /// is decided when the checkpoint is pushed (their validity at its last record).
    signers: Result<Vec<(Validity, bool)>>,
}

impl PreparedCheckpoint {
    /// Reads a signed checkpoint and checks the signature lines of every usable key
    /// of `keys`, under the checkpoint's origin as key name.
    pub fn new(keys: &KeySet, note: &str) -> PreparedCheckpoint {
        let checkpoint = read_checkpoint(note);
        let signers = match &checkpoint {
            Err(e) => Err(e.clone()),
            Ok(checkpoint) => {
                let (verifiers, validities): (Vec<NoteVerifier>, Vec<&Validity>) = keys
                    .entries()
                    .iter()
                    .filter_map(|entry| entry.public_key().map(|key| (key, entry.validity())))
                    .filter_map(|(key, validity)| {
                        NoteVerifier::new(&checkpoint.origin, key).ok().map(|v| (v, validity))
                    })
                    .unzip();
                crate::checkpoint::signature_lines(note, &verifiers).map(|lines| {
                    validities
                        .into_iter()
                        .zip(lines)
                        .filter_map(|(validity, verified)| verified.map(|ok| (validity.clone(), ok)))
                        .collect()
                })
            }
        };
        PreparedCheckpoint { checkpoint, signers }
    }

    /// As [`PreparedCheckpoint::new`], and also checks the signature lines of the
    /// log's Ed25519 note keys (SPEC §10.1): a checkpoint need not carry one (it may
    /// predate the key), but one it carries must verify.
    pub fn with_note_keys(keys: &KeySet, note: &str, note_keys: &[LogKey]) -> PreparedCheckpoint {
        let mut prepared = PreparedCheckpoint::new(keys, note);
        if prepared.signers.is_ok()
            && let Ok((text, lines)) = split_note(note)
        {
            for line in &lines {
                let key = note_keys.iter().find(|k| k.name() == line.name && k.key_hash() == line.key_hash);
                if let Some(key) = key.filter(|key| !key.verifies(text, &line.signature)) {
                    prepared.signers = Err(Error::new(
                        ErrorCode::CheckpointSignatureInvalid,
                        format!("the signature of the log's Ed25519 note key {} does not verify", key.to_vkey()),
                    ));
                }
            }
        }
        prepared
    }

    /// A stored checkpoint that could not be read at all (damaged storage): it
    /// becomes a checkpoint finding with the error's code.
    pub fn unreadable(error: &Error) -> PreparedCheckpoint {
        PreparedCheckpoint { checkpoint: Err(error.clone()), signers: Err(error.clone()) }
    }
}

const SIGNATURE_INVALID: &str =
    "the signature does not match the record: the record or the signature was altered, or another key signed it";

/// Where an incremental verification starts (see [`LogVerifier::resume`]): a
/// signed checkpoint the caller trusts, and what the log stores at its size.
#[derive(Clone, Copy, Debug)]
pub struct TrustedStart<'a> {
    /// The trusted checkpoint, a signed note.
    pub note: &'a str,
    /// Keys whose signature lines of the note must verify too (a log's note key).
    pub note_keys: &'a [LogKey],
    /// What the log stores at the checkpoint's size; `None` when it holds fewer records.
    pub stored: Option<&'a StoredStart>,
}

/// What a log stores at the size of a trusted checkpoint, read by the caller.
#[derive(Clone, Debug, Default)]
pub struct StoredStart {
    /// The roots of the stored tree's perfect subtrees covering the checkpoint's
    /// records, largest first (one per set bit of its size).
    pub peaks: Vec<Hash>,
    /// The stored entry of the checkpoint's last record (a receipt or a record of a
    /// batch-signed log); `None` for a checkpoint of no records.
    pub last_entry: Option<Vec<u8>>,
    /// That record's stored event, when kept: a key record there is where the key
    /// history stands at the checkpoint.
    pub last_event: Option<Vec<u8>>,
    /// The inclusion proof of that record in the checkpoint's tree.
    pub last_entry_proof: Vec<Hash>,
    /// The last key record (SPEC.md §23) before the checkpoint's last record, when
    /// the log has one: where the key history stands at the checkpoint.
    pub key_record: Option<StoredKeyRecord>,
}

/// A stored key record and its inclusion proof in a trusted checkpoint's tree.
#[derive(Clone, Debug, Default)]
pub struct StoredKeyRecord {
    /// Its index in the log.
    pub index: u64,
    /// Its stored entry (a receipt or a record of a batch-signed log).
    pub entry: Vec<u8>,
    /// Its stored event, the key record itself.
    pub event: Vec<u8>,
    /// Its inclusion proof in the checkpoint's tree.
    pub proof: Vec<Hash>,
}

/// Reads a stored entry, whichever kind it is, with its event.
fn prepare_stored(keys: &KeySet, entry: &[u8], event: Option<&[u8]>) -> PreparedEntry {
    match entry.starts_with(b"{") {
        true => PreparedEntry::record(keys, entry, event),
        false => match std::str::from_utf8(entry) {
            Ok(receipt) => PreparedEntry::receipt(keys, receipt, event),
            Err(_) => PreparedEntry::unreadable("the entry is neither a receipt nor a record"),
        },
    }
}

/// Verifies a log record by record, in bounded memory apart from one 16-byte
/// fingerprint per nonce.
///
/// Entries are pushed in stored order: receipts ([`LogVerifier::push`]) or, in
/// batch-signed logs, bare records ([`LogVerifier::push_record`]). Every record is
/// also a leaf of the log's Merkle tree; a checkpoint pushed when the verifier has
/// seen exactly its number of records is checked against that tree
/// ([`LogVerifier::push_checkpoint`]), and so are stored tree hashes
/// ([`LogVerifier::push_tree_node`]).
///
/// ```
/// # use evidentia::*;
/// let key = SigningKey::from_bytes(&[1u8; 32])?;
/// let mut chain = ChainState::new("example.com/log")?;
/// let time = Timestamp::parse("2026-01-01T00:00:00Z")?;
/// let issued = issue_receipt(&key, &mut chain, br#"{"action":"approve"}"#, time, None)?;
/// let keys = KeySet::single(key.public_key());
/// let mut verifier = LogVerifier::new(&keys, LogVerifyOptions::default());
/// verifier.push(issued.receipt.as_str(), Some(&issued.event));
/// assert!(verifier.finish().is_valid());
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug)]
pub struct LogVerifier {
    keys: KeySet,
    options: LogVerifyOptions,
    report: ReportBuilder,
    index: u64,
    log_id: Option<String>,
    previous: Previous,
    last_time: Option<Timestamp>,
    max_seq: Option<u64>,
    gaps: Vec<Gap>,
    nonces: HashSet<[u8; 16]>,
    tree: Accumulator,
    /// The perfect subtrees the last leaf completed: `(level, index, hash)`.
    completed: Vec<(u32, u64, Hash)>,
    /// The positions of the leaves whose hash is unknown (unreadable entries), in
    /// ascending order: a node or root over one of them matches nothing stored.
    unknown_leaves: Vec<u64>,
    /// The first batch record not yet covered by a verified checkpoint.
    first_unsigned: Option<u64>,
    /// The largest tree size a checkpoint covered.
    covered: u64,
    /// Links of signed messages, `(index of the linking record, link)`, not yet
    /// checked against the record they name.
    links: Vec<(u64, Link)>,
    /// The latest key record read, and its index.
    key_history: Option<(u64, KeyRecord)>,
    /// The kids (thumbprints and explicit kids) of keys a rotation handed over
    /// from: a rotation's key record is its outgoing key's last record.
    handed_over: HashSet<String>,
    /// Records whose event was erased and that no erasure record has named yet,
    /// by sequence number, with their index and digest.
    erased_unnamed: std::collections::BTreeMap<u64, (u64, Digest)>,
    /// The sequence numbers erasure records named, with the erasure's index.
    erasures: std::collections::HashMap<u64, u64>,
    /// The indexes of erasure records among `links`.
    erasure_links: HashSet<u64>,
}

impl LogVerifier {
    /// A verifier for a log whose keys are in `keys` (copied).
    pub fn new(keys: &KeySet, options: LogVerifyOptions) -> LogVerifier {
        LogVerifier {
            keys: keys.clone(),
            report: ReportBuilder::new(Subject::Log, keys, options.max_findings),
            log_id: options.expected_log_id.clone(),
            options,
            index: 0,
            previous: Previous::Start,
            last_time: None,
            max_seq: None,
            gaps: Vec::new(),
            nonces: HashSet::new(),
            tree: Accumulator::new(),
            completed: Vec::new(),
            unknown_leaves: Vec::new(),
            first_unsigned: None,
            covered: 0,
            links: Vec::new(),
            key_history: None,
            handed_over: HashSet::new(),
            erased_unnamed: std::collections::BTreeMap::new(),
            erasures: std::collections::HashMap::new(),
            erasure_links: HashSet::new(),
        }
    }

    /// A verifier that continues a log from a checkpoint the caller trusts, without
    /// reading the records it covers again (SPEC.md §13.1): the entries pushed next
    /// are the records from the checkpoint's size on. `start` holds the checkpoint
    /// and what the log stores at its size; whatever of it does not agree with the
    /// checkpoint (a log rewritten, forked or cut back since) is a finding of the
    /// report, as is a checkpoint that does not verify with `keys`.
    pub fn resume(keys: &KeySet, options: LogVerifyOptions, start: TrustedStart<'_>) -> LogVerifier {
        let mut verifier = LogVerifier::new(keys, options);
        verifier.report.ran(&[Check::Checkpoint]);
        let prepared = PreparedCheckpoint::with_note_keys(keys, start.note, start.note_keys);
        let checkpoint = match prepared.checkpoint {
            Ok(checkpoint) => checkpoint,
            Err(e) => {
                let message = format!("the trusted checkpoint cannot be read: {e}");
                verifier.report.fail_check(Check::Checkpoint, e.code(), None, message);
                return verifier;
            }
        };
        let size = checkpoint.size;
        verifier.index = size;
        verifier.report.set_first(size);
        let mismatch = |verifier: &mut LogVerifier, message: String| {
            verifier.report.fail(ErrorCode::CheckpointMismatch, None, message);
        };
        if let Some(expected) = verifier.log_id.clone().filter(|id| *id != checkpoint.origin) {
            let message = format!("the trusted checkpoint names the log {:?}, not {expected:?}", checkpoint.origin);
            mismatch(&mut verifier, message);
        }
        verifier.log_id.get_or_insert_with(|| checkpoint.origin.clone());
        let Some(stored) = start.stored else {
            let message = format!(
                "the log holds fewer records than the {size} of the trusted checkpoint: records were removed from its end"
            );
            mismatch(&mut verifier, message);
            // Its last record is not there to date it: its signer must never have
            // been revoked, as for a checkpoint alone.
            verifier.check_start_signers(prepared.signers, None);
            return verifier;
        };
        // The stored tree at the checkpoint's size must be the one it signed: then
        // every root computed from here on extends it, which is the consistency
        // proof from the checkpoint to each later one.
        let tree = match stored.peaks.len() == size.count_ones() as usize {
            true => Accumulator::from_peaks(size, stored.peaks.clone()),
            false => Accumulator::new(),
        };
        if tree.size() != size || tree.root() != checkpoint.root {
            let message = format!(
                "the log's stored tree of its first {size} records is not the tree the trusted checkpoint signed: the log was rewritten or forked since"
            );
            mismatch(&mut verifier, message);
        }
        verifier.tree = tree;
        verifier.covered = size;
        // The last record before the checkpoint's size carries on the chain, the
        // sequence and the time, once it is shown to be the record the checkpoint covers.
        // The key history stands where the last key record before the checkpoint
        // left it, once that record is shown to be one the checkpoint covers.
        if let Some(stored_key) = stored.key_record.as_ref().filter(|k| k.index + 1 < size) {
            let prepared = prepare_stored(keys, &stored_key.entry, Some(&stored_key.event));
            let included = |leaf: &Hash| {
                verify_inclusion(leaf, stored_key.index, size, &stored_key.proof, &checkpoint.root).is_ok()
            };
            match (prepared.record, prepared.key_record) {
                (Some(PreparedRecord { record, leaf, .. }), Some(key_record)) if included(&leaf) => {
                    verifier.check_key_record(stored_key.index, &record, key_record);
                }
                _ => {
                    let message = format!(
                        "the log's record {} is not a key record the trusted checkpoint covers: the log was rewritten or forked since",
                        stored_key.index
                    );
                    mismatch(&mut verifier, message);
                }
            }
        }
        let event = stored.last_event.as_deref();
        let last = stored.last_entry.as_deref().map(|entry| prepare_stored(keys, entry, event));
        let key_record = last.as_ref().and_then(|last| last.key_record.clone());
        match (size, last.and_then(|last| last.record)) {
            (0, _) => verifier.check_start_signers(prepared.signers, None),
            (_, Some(PreparedRecord { record, digest, leaf, .. }))
                if verify_inclusion(&leaf, size - 1, size, &stored.last_entry_proof, &checkpoint.root).is_ok() =>
            {
                verifier.check_start_signers(prepared.signers, Some(record.time));
                verifier.previous = Previous::Known(digest);
                verifier.last_time = Some(record.time);
                verifier.max_seq = Some(record.seq);
                // A key record there (a rotation's, say) is where the key history
                // stands: the keys it handed over sign nothing after it.
                if let Some(Ok(key_record)) = key_record {
                    verifier.check_key_record(size - 1, &record, Ok(key_record));
                }
            }
            _ => {
                let message = format!(
                    "the log's record {} is not the last record the trusted checkpoint covers: the log was rewritten or forked since",
                    size - 1
                );
                mismatch(&mut verifier, message);
                verifier.previous = Previous::Unreadable;
                verifier.max_seq = Some(size - 1);
            }
        }
        verifier
    }

    /// The trusted checkpoint's signers: one must have been valid at the time of
    /// its last record (`None` for a checkpoint of no records).
    fn check_start_signers(&mut self, signers: Result<Vec<(Validity, bool)>>, last_time: Option<Timestamp>) {
        if let Err(e) = judge_signers(signers, last_time) {
            let message = format!("the trusted checkpoint does not verify with the keys given: {e}");
            self.report.fail(ErrorCode::CheckpointSignatureInvalid, None, message);
        }
    }

    /// Verifies the next stored receipt and, if stored, its event as the exact
    /// canonical JSON bytes the record's digest was taken over.
    pub fn push(&mut self, receipt: &str, event: Option<&[u8]>) {
        self.push_prepared(PreparedEntry::receipt(&self.keys, receipt, event));
    }

    /// Verifies the next stored record of a batch-signed log (its canonical bytes,
    /// not signed individually) and, if stored, its event. The record's key must be
    /// in the key set and valid at its time; a later checkpoint must cover it.
    pub fn push_record(&mut self, record_bytes: &[u8], event: Option<&[u8]>) {
        self.push_prepared(PreparedEntry::record(&self.keys, record_bytes, event));
    }

    /// Verifies the next stored entry, whichever kind it is: a record of a
    /// batch-signed log (JSON, starting with `{`) or a receipt (a JWS).
    pub fn push_entry(&mut self, entry: &[u8], event: Option<&[u8]>) {
        if entry.starts_with(b"{") {
            self.push_record(entry, event);
        } else {
            match std::str::from_utf8(entry) {
                Ok(receipt) => self.push(receipt, event),
                Err(_) => self.push_unreadable("the entry is neither a receipt nor a record"),
            }
        }
    }

    /// Records a stored entry that is not a receipt at all (for example, a damaged
    /// line in a log file).
    pub fn push_unreadable(&mut self, reason: &str) {
        self.push_prepared(PreparedEntry::unreadable(reason));
    }

    /// Takes the next entry, prepared (possibly on another thread) with the same key
    /// set, and runs the checks that depend on the entries before it.
    pub fn push_prepared(&mut self, prepared: PreparedEntry) {
        let index = self.index;
        self.index += 1;
        let at = Some(index);
        self.report.count_record();
        self.report.ran(&[Check::Format]);
        self.report.ran(&prepared.ran);
        for finding in prepared.findings {
            self.report.fail_check(finding.check, finding.code, at, finding.message);
        }
        let Some(PreparedRecord { record, digest, leaf, nonce }) = prepared.record else {
            self.previous = Previous::Unreadable;
            // Assume the unreadable record held the next sequence number, so that it is
            // reported once and not again as a gap; it still occupies a leaf, whose hash
            // is unknown, so checkpoints covering it will not match.
            self.max_seq = Some(self.max_seq.map_or(0, |max| max + 1));
            self.unknown_leaves.push(self.tree.size());
            self.add_leaf([0u8; 32]);
            return;
        };
        if prepared.batch {
            self.first_unsigned.get_or_insert(index);
        }
        if let Some(link) = prepared.link {
            if link.seq >= record.seq {
                let message = format!("the message links to record {}, which is not before it", link.seq);
                self.report.fail(ErrorCode::LinkMismatch, at, message);
            } else {
                self.links.push((index, link));
            }
        }
        if prepared.event_missing && self.options.require_events {
            self.report.fail(ErrorCode::EventMissing, at, "the event of this record is not stored");
        }
        if prepared.event_erased {
            self.report.ran(&[Check::Event]);
            match record.version {
                RecordVersion::V1 => self.report.fail(
                    ErrorCode::ErasureMismatch,
                    at,
                    "the event of this version-1 record was erased: only a version-2 record's event can be",
                ),
                RecordVersion::V2 => {
                    self.erased_unnamed.insert(record.seq, (index, digest));
                }
            }
        }
        if let Some(erasure) = prepared.erasure {
            self.check_erasure(index, &record, erasure);
        }

        self.report.ran(&[Check::LogId]);
        match &self.log_id {
            None => self.log_id = Some(record.log_id.clone()),
            Some(expected) if *expected != record.log_id => {
                let message = format!("the record belongs to log {:?}, not {expected:?}", record.log_id);
                self.report.fail(ErrorCode::LogIdMismatch, at, message);
            }
            Some(_) => {}
        }

        self.check_sequence(index, record.seq);

        self.report.ran(&[Check::Chain]);
        match self.previous {
            Previous::Start if record.prev.is_some() => self.report.fail(
                ErrorCode::ChainBroken,
                at,
                "the first record names a predecessor, so the records before it are missing",
            ),
            Previous::Known(prev) if record.prev != Some(prev) => self.report.fail(
                ErrorCode::ChainBroken,
                at,
                "the record does not commit to the record stored before it: a record was removed, inserted, reordered or altered here",
            ),
            _ => {}
        }
        self.previous = Previous::Known(digest);

        self.report.ran(&[Check::Time]);
        if let Some(last) = self.last_time.filter(|last| record.time < *last) {
            let message =
                format!("the record's time {} is earlier than the previous record's time {last}", record.time);
            self.report.fail(ErrorCode::TimeBackwards, at, message);
        }
        self.last_time = Some(record.time);

        if let Some(fingerprint) = nonce {
            self.report.ran(&[Check::Nonce]);
            if !self.nonces.insert(fingerprint) {
                self.report.fail(
                    ErrorCode::NonceReplayed,
                    at,
                    "the record's nonce was already used by an earlier record",
                );
            }
        }
        // Step 11 (SPEC.md §23.2): the key record's own checks, then whether a key a
        // rotation handed over signed the record.
        let retired = self.handed_over.contains(&record.kid);
        if let Some(key_record) = prepared.key_record {
            self.check_key_record(index, &record, key_record);
        }
        if retired {
            self.report.ran(&[Check::KeyHistory]);
            let message = format!(
                "the record is signed by the key {}, which a rotation recorded earlier in the log handed over: a rotation's key record is its outgoing key's last record",
                record.kid
            );
            self.report.fail(ErrorCode::KeyHistoryMismatch, at, message);
        }
        self.add_leaf(leaf);
    }

    /// Checks a key record against the record that carries it and the key record
    /// before it (SPEC.md §23.2).
    fn check_key_record(&mut self, index: u64, record: &Record, key_record: Result<KeyRecord>) {
        let at = Some(index);
        self.report.ran(&[Check::KeyHistory]);
        let key_record = match key_record {
            Ok(key_record) => key_record,
            Err(e) => return self.report.fail(e.code(), at, e.message()),
        };
        if let Err(why) = key_record.check_signer(&record.kid, record.time) {
            self.report.fail(ErrorCode::KeyHistoryMismatch, at, why);
        }
        if let Some((before, last)) = &self.key_history
            && !key_record.follows(&last.keys)
        {
            let message = format!(
                "the key record's key set is not the key set of the key record at index {before} with this change applied"
            );
            self.report.fail(ErrorCode::KeyHistoryMismatch, at, message);
        }
        if let KeyChange::Rotate { from, .. } = &key_record.change
            && let Some(entry) =
                key_record.keys.entries().iter().find(|e| e.thumbprint() == from || e.kid() == Some(from))
        {
            self.handed_over.insert(entry.thumbprint().to_owned());
            self.handed_over.extend(entry.kid().map(str::to_owned));
        }
        self.key_history = Some((index, key_record));
    }

    /// Checks an erasure record (SPEC.md §27.2): it names an earlier record, once;
    /// the digest it names is checked as a link. The erased record is reported.
    fn check_erasure(&mut self, index: u64, record: &Record, erasure: Erasure) {
        let at = Some(index);
        self.report.ran(&[Check::Event]);
        if erasure.seq >= record.seq {
            let message = format!("the erasure names record {}, which is not before it", erasure.seq);
            return self.report.fail(ErrorCode::ErasureMismatch, at, message);
        }
        if let Some(first) = self.erasures.insert(erasure.seq, index) {
            let message = format!("record {} was already erased by the erasure record at index {first}", erasure.seq);
            return self.report.fail(ErrorCode::ErasureMismatch, at, message);
        }
        self.links.push((index, erasure.link()));
        self.erasure_links.insert(index);
        if let Some((erased, _)) = self.erased_unnamed.remove(&erasure.seq) {
            self.report.erased(ErasedRecord { index: erased, seq: erasure.seq, by: index, reason: erasure.reason });
        }
    }

    /// Whether a leaf of unknown hash lies in `from..to`.
    fn unknown_in(&self, from: u64, to: u64) -> bool {
        let at = self.unknown_leaves.partition_point(|&leaf| leaf < from);
        self.unknown_leaves.get(at).is_some_and(|&leaf| leaf < to)
    }

    fn add_leaf(&mut self, leaf: Hash) {
        let completed = &mut self.completed;
        completed.clear();
        self.tree.push_with(leaf, |level, index, hash| completed.push((level, index, *hash)));
    }

    /// Checks a signed checkpoint stored with the log, pushed when exactly
    /// `checkpoint.size` records have been pushed: it must be signed (under the log
    /// id) by a key of the key set valid at the time of its last record, name the
    /// log, and carry the root of the records so far.
    pub fn push_checkpoint(&mut self, note: &str) {
        self.push_prepared_checkpoint(PreparedCheckpoint::new(&self.keys, note));
    }

    /// As [`LogVerifier::push_checkpoint`], with the signature already checked
    /// (possibly on another thread) against the same key set.
    pub fn push_prepared_checkpoint(&mut self, prepared: PreparedCheckpoint) {
        self.report.ran(&[Check::Checkpoint]);
        let at = self.index.checked_sub(1);
        let checkpoint = match prepared.checkpoint {
            Ok(checkpoint) => checkpoint,
            Err(e) => {
                let message = format!("a stored checkpoint cannot be read: {e}");
                self.report.fail_check(Check::Checkpoint, e.code(), at, message);
                return;
            }
        };
        let log_id = self.log_id.clone().unwrap_or_default();
        if checkpoint.origin != log_id {
            let message = format!("a checkpoint names the log {:?}, not {log_id:?}", checkpoint.origin);
            self.report.fail(ErrorCode::CheckpointMismatch, at, message);
            return;
        }
        // A root over a leaf of unknown hash is unknown: it matches no checkpoint.
        if checkpoint.size != self.tree.size() || checkpoint.root != self.tree.root() || !self.unknown_leaves.is_empty()
        {
            let message = format!(
                "the checkpoint for {} records does not match the first {} records of the log",
                checkpoint.size,
                self.tree.size()
            );
            self.report.fail(ErrorCode::CheckpointMismatch, at, message);
            return;
        }
        // A signer must have been valid when the checkpoint's last record was made;
        // a checkpoint of no records has no time, so, as alone (SPEC §10), its
        // signer must never have been revoked.
        let signed = judge_signers(prepared.signers, self.last_time);
        match signed {
            Ok(()) => {
                self.covered = self.covered.max(checkpoint.size);
                if self.first_unsigned.is_some_and(|first| first < self.covered) {
                    self.first_unsigned = None;
                }
            }
            Err(e) => self.report.fail(
                ErrorCode::CheckpointSignatureInvalid,
                at,
                format!("the checkpoint for {} records: {e}", checkpoint.size),
            ),
        }
    }

    /// Checks a stored RFC 3161 response (SPEC.md §20) for the checkpoint note of
    /// `size` records again, through the certificate chain stored with it (the
    /// TSA's certificate first, the root last): the token must still cover exactly
    /// that note and verify through that chain at its own time. Whose root it is
    /// was established when the response was attached; this finds a response, a
    /// chain or a checkpoint changed since. `stored` is the response and its chain,
    /// or why they could not be read. A failure is a checkpoint finding with the
    /// timestamp's code.
    pub fn push_timestamp(&mut self, size: u64, note: &str, stored: Result<(&[u8], &[Vec<u8>])>) {
        self.report.ran(&[Check::Checkpoint]);
        let verified = stored
            .and_then(|(response, chain)| crate::timestamp::verify_with_stored_chain(response, note.as_bytes(), chain));
        if let Err(e) = verified {
            let message = format!("the stored timestamp of the checkpoint for {size} records does not verify: {e}");
            self.report.fail_check(Check::Checkpoint, e.code(), size.checked_sub(1), message);
        }
    }

    /// Checks a stored tree hash against the tree computed from the records. Call it,
    /// right after pushing a record, for each perfect subtree that record completes:
    /// `(0, i)` for record `i` itself, `(1, i/2)` when `i` is odd, and so on.
    pub fn push_tree_node(&mut self, level: u32, index: u64, stored: &Hash) {
        self.report.ran(&[Check::Tree]);
        let computed = self.completed.iter().find(|(l, i, _)| *l == level && *i == index).map(|(_, _, h)| h);
        // A node over a leaf of unknown hash is unknown: it matches nothing stored.
        let span = 1u64.checked_shl(level).unwrap_or(u64::MAX);
        let first = index.saturating_mul(span);
        if computed != Some(stored) || self.unknown_in(first, first.saturating_add(span)) {
            let message = format!("the stored tree hash at level {level}, position {index} does not match the records");
            self.report.fail(ErrorCode::TreeMismatch, self.index.checked_sub(1), message);
        }
    }

    /// The root of the tree of the records pushed so far.
    pub fn tree_root(&self) -> Hash {
        self.tree.root()
    }
    fn check_sequence(&mut self, index: u64, seq: u64) {
        self.report.ran(&[Check::Sequence]);
        let at = Some(index);
        let expected = self.max_seq.map_or(0, |max| max + 1);
        if seq > expected {
            self.gaps.push(Gap { from: expected, to: seq, index });
        } else if seq < expected {
            let max = expected - 1;
            if let Some(pos) = self.gaps.iter().position(|g| (g.from..g.to).contains(&seq)) {
                let gap = self.gaps.remove(pos);
                if seq + 1 < gap.to {
                    self.gaps.insert(pos, Gap { from: seq + 1, ..gap });
                }
                if gap.from < seq {
                    self.gaps.insert(pos, Gap { to: seq, ..gap });
                }
                let message =
                    format!("record with sequence {seq} is stored after sequence {max}: records are out of order");
                self.report.fail(ErrorCode::SequenceReordered, at, message);
            } else {
                self.report.fail(
                    ErrorCode::SequenceDuplicate,
                    at,
                    format!("sequence number {seq} appears more than once"),
                );
            }
        }
        self.max_seq = Some(self.max_seq.map_or(seq, |max| max.max(seq)));
    }

    /// The records met so far whose event is erased and that no erasure record met
    /// so far names, as `(seq, record digest)`: a reader whose snapshot was taken
    /// before an erasure sees the event erased but not the erasure record, and
    /// looks for it after its snapshot ([`LogVerifier::erased_after`]).
    pub fn unnamed_erasures(&self) -> Vec<(u64, Digest)> {
        self.erased_unnamed.iter().map(|(seq, (_, digest))| (*seq, *digest)).collect()
    }

    /// Takes `erasure`, the erasure record at `index` after the entries verified
    /// (appended since the snapshot they were read from), for a record whose event
    /// is erased: when it names that record by its digest, the record is reported
    /// erased instead of `ERASURE_MISMATCH`.
    pub fn erased_after(&mut self, index: u64, erasure: &Erasure) {
        if self.erased_unnamed.get(&erasure.seq).is_some_and(|(_, digest)| *digest == erasure.record)
            && let Some((erased, _)) = self.erased_unnamed.remove(&erasure.seq)
        {
            let reason = erasure.reason.clone();
            self.report.erased(ErasedRecord { index: erased, seq: erasure.seq, by: index, reason });
        }
    }

    /// The links of signed messages met so far and not yet checked, as
    /// `(index of the linking record, link)`: the caller looks up each linked
    /// record and passes its digest to [`LogVerifier::check_link`].
    pub fn take_links(&mut self) -> Vec<(u64, Link)> {
        std::mem::take(&mut self.links)
    }

    /// Checks a signed message's link: `found` is the digest of the record stored
    /// at the link's sequence number, `None` when there is none.
    pub fn check_link(&mut self, index: u64, link: Link, found: Option<Digest>) {
        if self.erasure_links.contains(&index) {
            let message = match found {
                Some(digest) if digest == link.record => return,
                Some(_) => format!("the erasure names record {}, but that record has a different digest", link.seq),
                None => format!("the erasure names record {}, which is not in the log", link.seq),
            };
            return self.report.fail(ErrorCode::ErasureMismatch, Some(index), message);
        }
        match found {
            Some(digest) if digest == link.record => {}
            Some(_) => self.report.fail(
                ErrorCode::LinkMismatch,
                Some(index),
                format!("the message links to record {}, but that record has a different digest", link.seq),
            ),
            None => self.report.fail(
                ErrorCode::LinkMismatch,
                Some(index),
                format!("the message links to record {}, which is not in the log", link.seq),
            ),
        }
    }

    /// Ends verification and returns the report. Links not checked with
    /// [`LogVerifier::check_link`] are findings: a verifier that cannot look up
    /// records must not report them as checked.
    pub fn finish(mut self) -> Report {
        if let Some((index, last)) = self.key_history.take()
            && !same_history(&last.keys, &self.keys)
        {
            let message = match last.follows(&self.keys) {
                true => format!(
                    "the key change recorded at index {index} is not yet in the key history (keys.jwks): it was interrupted before keys.jwks was written; opening the log for writing completes it"
                ),
                false => format!(
                    "the key set used to verify is not the one the log's last key record (index {index}) signed: the key history (keys.jwks) was changed after it, or the keys given are not this log's"
                ),
            };
            self.report.fail(ErrorCode::KeyHistoryMismatch, Some(index), message);
        }
        for (index, link) in std::mem::take(&mut self.links) {
            if self.erasure_links.contains(&index) {
                let message = format!("the erasure of record {} was not checked against the log", link.seq);
                self.report.fail(ErrorCode::ErasureMismatch, Some(index), message);
            } else {
                let message = format!("the message's link to record {} was not checked against the log", link.seq);
                self.report.fail(ErrorCode::LinkMismatch, Some(index), message);
            }
        }
        for (seq, (index, _)) in std::mem::take(&mut self.erased_unnamed) {
            let message = format!("the event of record {seq} was erased, but no erasure record of the log names it");
            self.report.fail(ErrorCode::ErasureMismatch, Some(index), message);
        }
        if let Some(first) = self.first_unsigned {
            let message = format!("records {first} to {} are not covered by a signed checkpoint", self.index - 1);
            self.report.fail(ErrorCode::RecordUnsigned, Some(first), message);
        }
        for gap in std::mem::take(&mut self.gaps) {
            let missing = if gap.to - gap.from == 1 {
                format!("the record with sequence {} is missing", gap.from)
            } else {
                format!("the records with sequences {} to {} are missing", gap.from, gap.to - 1)
            };
            self.report.fail(ErrorCode::SequenceGap, Some(gap.index), format!("{missing} before this record"));
        }
        self.report.set_log_id(self.log_id);
        // Only a tree over every record read: a log cut back below a trusted
        // checkpoint has none.
        if self.tree.size() == self.index {
            self.report.set_tree(self.tree.size(), self.tree.root());
        }
        self.report.finish()
    }
}

/// Verifies a whole log given as `(receipt, canonical event)` pairs in stored order.
pub fn verify_log<'a>(
    entries: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
    keys: &KeySet,
    options: LogVerifyOptions,
) -> Report {
    let mut verifier = LogVerifier::new(keys, options);
    let mut digests = Vec::new();
    for (receipt, event) in entries {
        verifier.push(receipt, event);
        digests.push(Receipt::parse(receipt).ok().map(|r| (r.record().seq, Digest::sha256(r.record_bytes()))));
    }
    resolve_links(&mut verifier, &digests);
    verifier.finish()
}

/// Checks the links met by a verifier of a log held in memory, given each entry's
/// `(seq, record digest)` in stored order (`None` for unreadable ones).
fn resolve_links(verifier: &mut LogVerifier, digests: &[Option<(u64, Digest)>]) {
    for (index, link) in verifier.take_links() {
        let found = digests.iter().flatten().find(|(seq, _)| *seq == link.seq).map(|(_, digest)| *digest);
        verifier.check_link(index, link, found);
    }
}

/// Verifies a log held in memory: its entries in stored order (a receipt or a
/// batch-signed record, and the event's stored canonical bytes if kept) and its
/// signed checkpoints with the sizes they were signed at. Each checkpoint is
/// checked once the entries it covers have been read, as a verifier reading the
/// log from disk meets it; checkpoints that fit no position are checked at the end.
pub fn verify_log_entries<'a>(
    entries: impl IntoIterator<Item = (&'a [u8], Option<&'a [u8]>)>,
    checkpoints: impl IntoIterator<Item = (u64, &'a str)>,
    keys: &KeySet,
    options: LogVerifyOptions,
) -> Report {
    let mut verifier = LogVerifier::new(keys, options);
    let mut checkpoints = checkpoints.into_iter().peekable();
    let mut digests = Vec::new();
    for (read, (entry, event)) in (1u64..).zip(entries) {
        verifier.push_entry(entry, event);
        digests.push(entry_record_digest(entry));
        while let Some((_, note)) = checkpoints.next_if(|(size, _)| *size == read) {
            verifier.push_checkpoint(note);
        }
    }
    for (_, note) in checkpoints {
        verifier.push_checkpoint(note);
    }
    resolve_links(&mut verifier, &digests);
    verifier.finish()
}

/// The sequence number and record digest of a stored entry (a receipt or a
/// batch-signed record), if it can be read.
pub fn entry_record_digest(entry: &[u8]) -> Option<(u64, Digest)> {
    if entry.starts_with(b"{") {
        let record = Record::from_bytes(entry).ok()?;
        return Some((record.seq, Digest::sha256(entry)));
    }
    let receipt = Receipt::parse(std::str::from_utf8(entry).ok()?).ok()?;
    Some((receipt.record().seq, Digest::sha256(receipt.record_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws::{JwsOptions, sign_with_header};
    use crate::keys::SigningKey;
    use crate::record::{ChainState, RECEIPT_TYPE};

    #[test]
    fn a_receipt_whose_header_and_record_name_different_keys_fails_the_key_check() {
        let signer = SigningKey::from_bytes(&[3u8; 32]).unwrap();
        let other = SigningKey::from_bytes(&[4u8; 32]).unwrap();
        let chain = ChainState::new("test/log").unwrap();
        let time = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        // The record claims `other` signed it; the JWS header names the real signer.
        let record = chain.next_record(other.kid(), Digest::sha256(b"{}"), time, None).unwrap();
        let forged = sign_with_header(&signer, &record.to_bytes(), JwsOptions::default(), Some(RECEIPT_TYPE)).unwrap();
        let mut keys = KeySet::single(signer.public_key());
        keys.add(other.public_key(), Default::default()).unwrap();
        let report = verify_receipt(&forged, &keys, None).unwrap();
        assert!(!report.is_valid());
        assert_eq!(report.failure_codes(), vec![ErrorCode::KidMismatch]);
    }

    #[test]
    fn log_entries_meet_each_checkpoint_after_the_records_it_covers() {
        use crate::checkpoint::{Checkpoint, sign_checkpoint};
        use crate::merkle::{MemoryTree, leaf_hash};
        let key = SigningKey::from_bytes(&[3u8; 32]).unwrap();
        let mut chain = ChainState::new("test/log").unwrap();
        let time = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let receipts: Vec<_> = (0..3)
            .map(|i| crate::issue_receipt(&key, &mut chain, format!("{{\"n\":{i}}}").as_bytes(), time, None).unwrap())
            .collect();
        let tree = MemoryTree::from_leaf_hashes(receipts[..2].iter().map(|r| leaf_hash(r.receipt.record_bytes())));
        let at_two = Checkpoint { origin: "test/log".into(), size: 2, root: tree.root(), extensions: vec![] };
        let note = sign_checkpoint(&at_two, &key).unwrap();
        let keys = KeySet::single(key.public_key());
        let entries = || receipts.iter().map(|r| (r.receipt.as_str().as_bytes(), Some(r.event.as_slice())));
        let report = verify_log_entries(entries(), [(2, note.as_str())], &keys, LogVerifyOptions::default());
        assert!(report.is_valid(), "{}", report.to_text());
        // Signed at size 2, claimed for size 3: it does not match the records it is met after.
        let report = verify_log_entries(entries(), [(3, note.as_str())], &keys, LogVerifyOptions::default());
        assert!(!report.is_valid());
        // Garbage for a note is a finding, not a panic.
        let report = verify_log_entries(entries(), [(1, "garbage")], &keys, LogVerifyOptions::default());
        assert!(!report.is_valid());
    }
    /// A log of salted (version-2) records with events `{"n":i}` and, after them, an
    /// erasure record naming record `erase` (if any) with `digest` (its own if `None`):
    /// `(receipts, stored events)`, the named record's event erased when `wipe`.
    fn log_with_erasure(
        erase: Option<(u64, Option<Digest>)>,
        wipe: Option<u64>,
    ) -> (SigningKey, Vec<String>, Vec<Vec<u8>>) {
        use crate::record::RecordVersion;
        use crate::stored_event::StoredEvent;
        let key = SigningKey::from_bytes(&[3u8; 32]).unwrap();
        let mut chain = ChainState::new("test/log").unwrap();
        let time = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let (mut receipts, mut events, mut digests) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..3u8 {
            let event = format!("{{\"n\":{i}}}").into_bytes();
            let salt = [i + 1; 16];
            let digest = crate::commitment::commit_json(&event, &salt).unwrap().digest();
            let chained = chain.append_of(RecordVersion::V2, key.kid(), digest, time, None).unwrap();
            receipts.push(Receipt::sign(&key, &chained.record).unwrap().as_str().to_owned());
            events.push(StoredEvent::salted(&salt, &event).unwrap());
            digests.push(chained.digest);
        }
        if let Some((seq, digest)) = erase {
            let named = digest.unwrap_or_else(|| digests[seq as usize]);
            let event = crate::erasure::Erasure::new(seq, named, "retention period ended").unwrap().to_event();
            let chained = chain.append(key.kid(), Digest::sha256(&event), time, None).unwrap();
            receipts.push(Receipt::sign(&key, &chained.record).unwrap().as_str().to_owned());
            events.push(event);
        }
        if let Some(seq) = wipe {
            let len = events[seq as usize].len();
            events[seq as usize] = StoredEvent::erased(len);
        }
        (key, receipts, events)
    }

    fn verify_stored(key: &SigningKey, receipts: &[String], events: &[Vec<u8>]) -> Report {
        let options = LogVerifyOptions { require_events: true, ..LogVerifyOptions::default() };
        let entries = receipts.iter().zip(events).map(|(r, e)| (r.as_str(), Some(e.as_slice())));
        verify_log(entries, &KeySet::single(key.public_key()), options)
    }

    #[test]
    fn an_erased_event_is_valid_and_reported_only_with_the_erasure_record_that_names_it() {
        let (key, receipts, events) = log_with_erasure(None, None);
        let report = verify_stored(&key, &receipts, &events);
        assert!(report.is_valid(), "{}", report.to_text());
        assert!(report.erased().is_empty());
        assert!(!report.to_json().contains("\"erased\""), "no member without erasures: old reports keep their bytes");

        let (key, receipts, events) = log_with_erasure(Some((1, None)), Some(1));
        let report = verify_stored(&key, &receipts, &events);
        assert!(report.is_valid(), "{}", report.to_text());
        let erased = crate::report::ErasedRecord { index: 1, seq: 1, by: 3, reason: "retention period ended".into() };
        assert_eq!(report.erased(), [erased]);
        assert!(
            report.to_json().contains(r#""erased":[{"by":3,"index":1,"reason":"retention period ended","seq":1}]"#)
        );
        assert!(report.to_text().contains("erased: the event of record 1 (erasure record 3"));

        // Erased with no erasure record; erased record 0 while the erasure names 1;
        // an erasure naming a wrong digest, or not an earlier record.
        let wrong = Some(Digest::sha256(b"another record"));
        for (erase, wipe) in
            [(None, Some(1)), (Some((1, None)), Some(0)), (Some((1, wrong)), Some(1)), (Some((3, wrong)), None)]
        {
            let (key, receipts, events) = log_with_erasure(erase, wipe);
            let report = verify_stored(&key, &receipts, &events);
            assert_eq!(
                report.failure_codes(),
                [ErrorCode::ErasureMismatch],
                "{erase:?} {wipe:?}: {}",
                report.to_text()
            );
        }
        // The same record erased twice.
        let (key, mut receipts, mut events) = log_with_erasure(Some((1, None)), Some(1));
        let mut chain = ChainState::after(Receipt::parse(receipts.last().unwrap()).unwrap().record());
        let again = events[3].clone();
        let time = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let chained = chain.append(key.kid(), Digest::sha256(&again), time, None).unwrap();
        receipts.push(Receipt::sign(&key, &chained.record).unwrap().as_str().to_owned());
        events.push(again);
        let report = verify_stored(&key, &receipts, &events);
        assert_eq!(report.failure_codes(), [ErrorCode::ErasureMismatch], "{}", report.to_text());
    }

    #[test]
    fn a_version_1_event_cannot_be_erased() {
        let key = SigningKey::from_bytes(&[3u8; 32]).unwrap();
        let mut chain = ChainState::new("test/log").unwrap();
        let time = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let first = crate::issue_receipt(&key, &mut chain, br#"{"n":0}"#, time, None).unwrap();
        let event = crate::erasure::Erasure::new(0, Digest::sha256(first.receipt.record_bytes()), "request")
            .unwrap()
            .to_event();
        let chained = chain.append(key.kid(), Digest::sha256(&event), time, None).unwrap();
        let second = Receipt::sign(&key, &chained.record).unwrap();
        let receipts = [first.receipt.as_str().to_owned(), second.as_str().to_owned()];
        let events = [crate::stored_event::StoredEvent::erased(first.event.len()), event];
        let report = verify_stored(&key, &receipts, &events);
        assert_eq!(report.failure_codes(), [ErrorCode::ErasureMismatch], "{}", report.to_text());
        // Appending an erasure record (or a key record) as an event is refused.
        assert!(crate::issue_receipt(&key, &mut chain, &events[1], time, None).is_err());
    }

    #[test]
    fn an_event_that_is_not_a_well_formed_erasure_record_is_an_event() {
        // Logs written before erasure existed may hold such events: they verify as they did.
        let key = SigningKey::from_bytes(&[3u8; 32]).unwrap();
        let mut chain = ChainState::new("test/log").unwrap();
        let time = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let mut receipts = Vec::new();
        let mut events = Vec::new();
        for event in [
            br#"{"n":0}"#.as_slice(),
            br#"{"evidentia_erasure":{"format":1,"reason":"r","record":"sha256:00","seq":0},"x":1}"#,
            br#"{"evidentia_erasure":"hello"}"#,
        ] {
            let chained = chain.append(key.kid(), Digest::sha256(event), time, None).unwrap();
            receipts.push(Receipt::sign(&key, &chained.record).unwrap().as_str().to_owned());
            events.push(event.to_vec());
        }
        let report = verify_stored(&key, &receipts, &events);
        assert!(report.is_valid(), "{}", report.to_text());
    }

    /// Five receipts, and what a store holds at size `at`: a checkpoint note of the
    /// first `at` records signed by `key`, and the stored start.
    fn log_of_five(at: u64) -> (SigningKey, Vec<crate::record::Issued>, String, StoredStart) {
        use crate::checkpoint::{Checkpoint, sign_checkpoint};
        use crate::merkle::{MemoryTree, inclusion_proof};
        let key = SigningKey::from_bytes(&[3u8; 32]).unwrap();
        let mut chain = ChainState::new("test/log").unwrap();
        let time = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let receipts: Vec<_> = (0..5)
            .map(|i| crate::issue_receipt(&key, &mut chain, format!("{{\"n\":{i}}}").as_bytes(), time, None).unwrap())
            .collect();
        let leaves: Vec<Hash> = receipts.iter().map(|r| leaf_hash(r.receipt.record_bytes())).collect();
        let tree = MemoryTree::from_leaf_hashes(leaves[..at as usize].iter().copied());
        let checkpoint = Checkpoint { origin: "test/log".into(), size: at, root: tree.root(), extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, &key).unwrap();
        let mut peaks = Accumulator::new();
        leaves[..at as usize].iter().for_each(|leaf| peaks.push(*leaf));
        let stored = StoredStart {
            peaks: peaks.peaks().to_vec(),
            last_entry: at.checked_sub(1).map(|i| receipts[i as usize].receipt.as_str().as_bytes().to_vec()),
            last_event: at.checked_sub(1).map(|i| receipts[i as usize].event.clone()),
            last_entry_proof: at.checked_sub(1).map_or(Vec::new(), |i| inclusion_proof(&tree, i, at).unwrap()),
            key_record: None,
        };
        (key, receipts, note, stored)
    }

    fn resumed(keys: &KeySet, note: &str, stored: Option<&StoredStart>) -> LogVerifier {
        LogVerifier::resume(keys, LogVerifyOptions::default(), TrustedStart { note, note_keys: &[], stored })
    }

    #[test]
    fn a_verification_resumed_from_a_trusted_checkpoint_checks_only_the_records_after_it() {
        for at in [0, 1, 2, 3, 4, 5] {
            let (key, receipts, note, stored) = log_of_five(at);
            let keys = KeySet::single(key.public_key());
            let mut verifier = resumed(&keys, &note, Some(&stored));
            for r in &receipts[at as usize..] {
                verifier.push(r.receipt.as_str(), Some(&r.event));
            }
            let (_, _, later, _) = log_of_five(5);
            verifier.push_checkpoint(&later);
            let report = verifier.finish();
            assert!(report.is_valid(), "{at}: {}", report.to_text());
            assert_eq!((report.first_record(), report.records()), (at, 5 - at));
            let json = report.to_json();
            assert_eq!(json.contains("first_record"), at > 0, "{json}");
        }
    }

    #[test]
    fn a_resumed_verification_finds_a_log_that_no_longer_matches_the_trusted_checkpoint() {
        let (key, receipts, note, stored) = log_of_five(3);
        let keys = KeySet::single(key.public_key());
        let codes = |verifier: LogVerifier| verifier.finish().failure_codes();
        // Another tree at the same size: the log was rewritten or forked.
        let forked = StoredStart { peaks: vec![[7u8; 32]; 2], ..stored.clone() };
        assert_eq!(codes(resumed(&keys, &note, Some(&forked))), vec![ErrorCode::CheckpointMismatch]);
        // Another record where the checkpoint's last one belongs.
        let moved =
            StoredStart { last_entry: Some(receipts[1].receipt.as_str().as_bytes().to_vec()), ..stored.clone() };
        assert!(codes(resumed(&keys, &note, Some(&moved))).contains(&ErrorCode::CheckpointMismatch));
        // Fewer records than the checkpoint: cut back.
        assert_eq!(codes(resumed(&keys, &note, None)), vec![ErrorCode::CheckpointMismatch]);
        // Records after it that skip one.
        let mut verifier = resumed(&keys, &note, Some(&stored));
        verifier.push(receipts[4].receipt.as_str(), Some(&receipts[4].event));
        let found = codes(verifier);
        assert!(found.contains(&ErrorCode::ChainBroken) && found.contains(&ErrorCode::SequenceGap), "{found:?}");
        // A checkpoint the keys given did not sign, and one that is not a checkpoint.
        let stranger = KeySet::single(SigningKey::from_bytes(&[9u8; 32]).unwrap().public_key());
        assert!(codes(resumed(&stranger, &note, Some(&stored))).contains(&ErrorCode::CheckpointSignatureInvalid));
        assert!(!resumed(&keys, "garbage", Some(&stored)).finish().is_valid());
    }

    /// A rotation from `old` to `new` taking effect at `at`, recorded at `time`.
    struct Rotation {
        old: SigningKey,
        new: SigningKey,
        time: Timestamp,
        at: Timestamp,
        rotation: crate::keyrecord::KeyRecord,
        chain: ChainState,
    }

    impl Rotation {
        fn new() -> Rotation {
            let (old, new) = (SigningKey::from_bytes(&[3u8; 32]).unwrap(), SigningKey::from_bytes(&[4u8; 32]).unwrap());
            let time = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
            let at = Timestamp::parse("2026-01-02T00:00:00Z").unwrap();
            let before = KeySet::single(old.public_key());
            let rotation =
                crate::keyrecord::KeyRecord::rotate(&before, old.public_key(), new.public_key(), at).unwrap();
            Rotation { old, new, time, at, rotation, chain: ChainState::new("test/log").unwrap() }
        }

        /// The rotation's key record, signed by the outgoing key, as a log's rotate
        /// writes it (issue_receipt refuses key records from anyone else).
        fn handover(
            old: &SigningKey,
            rotation: &crate::keyrecord::KeyRecord,
            chain: &mut ChainState,
            time: Timestamp,
        ) -> crate::record::Issued {
            let event = rotation.to_event();
            let record = chain.next_record(old.public_key().kid(), Digest::sha256(&event), time, None).unwrap();
            let handover = crate::record::Issued { receipt: Receipt::sign(old, &record).unwrap(), event };
            chain.advance(&record).unwrap();
            handover
        }
    }

    #[test]
    fn a_key_handed_over_at_the_trusted_checkpoint_signs_nothing_after_it() {
        use crate::checkpoint::{Checkpoint, sign_checkpoint};
        use crate::merkle::{MemoryTree, inclusion_proof};
        let Rotation { old, time, rotation, mut chain, .. } = Rotation::new();
        let first = crate::issue_receipt(&old, &mut chain, br#"{"n":0}"#, time, None).unwrap();
        let handover = Rotation::handover(&old, &rotation, &mut chain, time);
        // Still within the old key's validity, but after it handed over.
        let forged = crate::issue_receipt(&old, &mut chain, br#"{"n":2}"#, time, None).unwrap();
        let leaves = [&first, &handover].map(|r| leaf_hash(r.receipt.record_bytes()));
        let tree = MemoryTree::from_leaf_hashes(leaves);
        let checkpoint = Checkpoint { origin: "test/log".into(), size: 2, root: tree.root(), extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, &old).unwrap();
        let stored = StoredStart {
            peaks: vec![tree.root()],
            last_entry: Some(handover.receipt.as_str().as_bytes().to_vec()),
            last_event: Some(handover.event.clone()),
            last_entry_proof: inclusion_proof(&tree, 1, 2).unwrap(),
            key_record: None,
        };
        let mut verifier = resumed(&rotation.keys, &note, Some(&stored));
        verifier.push(forged.receipt.as_str(), Some(&forged.event));
        assert_eq!(verifier.finish().failure_codes(), vec![ErrorCode::KeyHistoryMismatch]);
    }

    #[test]
    fn the_key_history_continues_from_the_last_key_record_before_the_trusted_checkpoint() {
        use crate::checkpoint::{Checkpoint, sign_checkpoint};
        use crate::merkle::{MemoryTree, inclusion_proof};
        let Rotation { old, new, time, at, rotation, mut chain } = Rotation::new();
        let handover = Rotation::handover(&old, &rotation, &mut chain, time);
        let after: Vec<_> = (0..3)
            .map(|i| crate::issue_receipt(&new, &mut chain, format!("{{\"n\":{i}}}").as_bytes(), at, None).unwrap())
            .collect();
        // Trusted at 3: the key record at 0, records 1 and 2 after it; record 3 is new.
        let leaves: Vec<Hash> =
            [&handover, &after[0], &after[1]].iter().map(|r| leaf_hash(r.receipt.record_bytes())).collect();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        let checkpoint = Checkpoint { origin: "test/log".into(), size: 3, root: tree.root(), extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, &new).unwrap();
        let mut peaks = Accumulator::new();
        leaves.iter().for_each(|leaf| peaks.push(*leaf));
        let stored = StoredStart {
            peaks: peaks.peaks().to_vec(),
            last_entry: Some(after[1].receipt.as_str().as_bytes().to_vec()),
            last_event: Some(after[1].event.clone()),
            last_entry_proof: inclusion_proof(&tree, 2, 3).unwrap(),
            key_record: Some(StoredKeyRecord {
                index: 0,
                entry: handover.receipt.as_str().as_bytes().to_vec(),
                event: handover.event.clone(),
                proof: inclusion_proof(&tree, 0, 3).unwrap(),
            }),
        };
        let codes = |keys: &KeySet, stored: &StoredStart| {
            let mut verifier = resumed(keys, &note, Some(stored));
            verifier.push(after[2].receipt.as_str(), Some(&after[2].event));
            verifier.finish().failure_codes()
        };
        assert_eq!(codes(&rotation.keys, &stored), vec![]);
        // A key set with a key no key record added: not the history the log recorded.
        let mut grown = rotation.keys.clone();
        grown.add(SigningKey::from_bytes(&[9u8; 32]).unwrap().public_key(), Default::default()).unwrap();
        assert_eq!(codes(&grown, &stored), vec![ErrorCode::KeyHistoryMismatch]);
        // A key record the checkpoint does not cover is a log rewritten since.
        let mut moved = stored.clone();
        moved.key_record.as_mut().unwrap().index = 1;
        assert!(codes(&rotation.keys, &moved).contains(&ErrorCode::CheckpointMismatch));
    }

    #[test]
    fn a_note_key_signature_a_checkpoint_carries_must_verify() {
        use crate::checkpoint::{Checkpoint, sign_checkpoint};
        use crate::witness::{NoteKey, add_note_signature, note_log_key};
        let key = SigningKey::from_bytes(&[3u8; 32]).unwrap();
        let note_key = NoteKey::from_seed(&[5u8; 32]);
        let checkpoint = Checkpoint { origin: "test/log".into(), size: 2, root: [1u8; 32], extensions: vec![] };
        let plain = sign_checkpoint(&checkpoint, &key).unwrap();
        let note = add_note_signature(&plain, "test/log", &note_key).unwrap();
        let keys = KeySet::single(key.public_key());
        let note_keys = [note_log_key("test/log", &note_key).unwrap()];
        assert!(PreparedCheckpoint::with_note_keys(&keys, &note, &note_keys).signers.is_ok());
        // One without the line (signed before the log had the key) is fine too.
        assert!(PreparedCheckpoint::with_note_keys(&keys, &plain, &note_keys).signers.is_ok());
        // A line of the note key that does not verify is not.
        let other = add_note_signature(&plain, "test/log", &NoteKey::from_seed(&[6u8; 32])).unwrap();
        let (_, other_line) = other.rsplit_once("\n— ").unwrap();
        let (_, own_line) = note.rsplit_once("\n— ").unwrap();
        let own_hash = &own_line["test/log ".len().."test/log ".len() + 6];
        let forged = format!("{plain}— test/log {own_hash}{}", &other_line["test/log ".len() + 6..]);
        let error = PreparedCheckpoint::with_note_keys(&keys, &forged, &note_keys).signers.unwrap_err();
        assert_eq!(error.code(), ErrorCode::CheckpointSignatureInvalid);
    }
}
