//! Batch receipts: a record, its inclusion proof, and the signed checkpoint the proof
//! leads to. One ECDSA signature (the checkpoint's) covers a whole batch of records,
//! and each batch receipt still verifies offline on its own.

use crate::checkpoint::{Checkpoint, NoteVerifier, read_checkpoint, verify_note};
use crate::digest::Digest;
use crate::error::{Error, ErrorCode, Result};
use crate::json::{Number, Value, parse};
use crate::jwks::KeySet;
use crate::keys::canonical_text;
use crate::merkle::{ConsistencyProof, InclusionProof, leaf_hash};
use crate::record::Record;
use crate::report::{Check, Report, ReportBuilder, Subject};
use crate::verify::DEFAULT_MAX_FINDINGS;

/// The `type` of a batch receipt.
pub const BATCH_RECEIPT_TYPE: &str = "evidentia-batch-receipt";

/// The version of the batch receipt format (its `v`). It is the format of the
/// receipt, not of the record it carries: a new record version (§5) does not
/// change it.
pub const BATCH_RECEIPT_VERSION: u32 = 1;

fn malformed(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::BatchReceiptMalformed, message)
}

/// A record with the proof that it is in a log, and the log's signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchReceipt {
    record_bytes: Vec<u8>,
    record: Record,
    proof: InclusionProof,
    checkpoint_note: String,
    checkpoint: Checkpoint,
}

impl BatchReceipt {
    /// Assembles a batch receipt and checks that its parts belong together (not yet
    /// the signature or the proof).
    ///
    /// # Errors
    /// [`ErrorCode::RecordMalformed`], [`ErrorCode::CheckpointMalformed`] or
    /// [`ErrorCode::BatchReceiptMalformed`].
    pub fn new(record_bytes: &[u8], proof: InclusionProof, checkpoint_note: &str) -> Result<BatchReceipt> {
        let record = Record::from_bytes(record_bytes)?;
        let checkpoint = read_checkpoint(checkpoint_note)?;
        if proof.leaf_index != record.seq {
            return Err(malformed("the proof's leaf index is not the record's sequence number"));
        }
        if proof.tree_size != checkpoint.size {
            return Err(malformed("the proof's tree size is not the checkpoint's"));
        }
        Ok(BatchReceipt {
            record_bytes: record_bytes.to_vec(),
            record,
            proof,
            checkpoint_note: checkpoint_note.to_owned(),
            checkpoint,
        })
    }

    /// The batch receipt as canonical JSON (see SPEC.md, "Batch receipts").
    pub fn to_json(&self) -> String {
        let proof = self.proof.to_value().unwrap_or(Value::Null);
        canonical_text(&Value::object([
            ("checkpoint", Value::from(self.checkpoint_note.as_str())),
            ("proof", proof),
            ("record", Value::from(String::from_utf8_lossy(&self.record_bytes).into_owned())),
            ("type", Value::from(BATCH_RECEIPT_TYPE)),
            ("v", Value::from(BATCH_RECEIPT_VERSION)),
        ]))
    }

    /// Reads a batch receipt.
    ///
    /// # Errors
    /// [`ErrorCode::BatchReceiptMalformed`], or the code of the part that is malformed.
    pub fn parse(text: &str) -> Result<BatchReceipt> {
        let value =
            parse(text.as_bytes()).map_err(|e| malformed(format!("the batch receipt is not valid JSON: {e}")))?;
        if value.get("type").and_then(Value::as_str) != Some(BATCH_RECEIPT_TYPE) {
            return Err(malformed("not a batch receipt (its 'type' is not evidentia-batch-receipt)"));
        }
        if value.get("v").and_then(Value::as_number).and_then(Number::as_safe_u64)
            != Some(u64::from(BATCH_RECEIPT_VERSION))
        {
            return Err(malformed("unsupported batch receipt version"));
        }
        let record = value.get("record").and_then(Value::as_str).ok_or_else(|| malformed("no 'record' string"))?;
        let note =
            value.get("checkpoint").and_then(Value::as_str).ok_or_else(|| malformed("no 'checkpoint' string"))?;
        let proof = value.get("proof").ok_or_else(|| malformed("no 'proof'"))?;
        if proof.get("type").and_then(Value::as_str) != Some("inclusion") {
            return Err(malformed("the 'proof' is not an inclusion proof"));
        }
        let receipt = BatchReceipt::new(record.as_bytes(), InclusionProof::from_value(proof)?, note)?;
        // One byte form, as for receipts: canonical JSON of exactly these members.
        if receipt.to_json() != text {
            return Err(malformed(
                "a batch receipt is the canonical JSON of exactly 'checkpoint', 'proof', 'record', 'type' and 'v'",
            ));
        }
        Ok(receipt)
    }

    /// The record.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The record's canonical bytes (the Merkle leaf).
    pub fn record_bytes(&self) -> &[u8] {
        &self.record_bytes
    }

    /// The inclusion proof.
    pub fn proof(&self) -> &InclusionProof {
        &self.proof
    }

    /// The signed checkpoint note, as signed.
    pub fn checkpoint_note(&self) -> &str {
        &self.checkpoint_note
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
}

/// Verifies a batch receipt offline: the record's key is in `keys` and valid at the
/// record's time, that key signed the checkpoint (under the log id as key name),
/// the proof leads from the record to the checkpoint's root, and — when `event`
/// (JSON text) is given — the event is the one the record commits to.
///
/// # Errors
/// Malformed input: a batch receipt, proof or checkpoint that is not well-formed,
/// or an event that is not valid JSON; [`ErrorCode::InvalidArgument`] for the
/// event of a version-2 record, which is checked with its salt
/// ([`verify_receipt_salted`](crate::verify_receipt_salted)).
pub fn verify_batch_receipt(text: &str, keys: &KeySet, event: Option<&[u8]>) -> Result<Report> {
    verify_batch_receipt_salted(text, keys, event, None)
}

/// [`verify_batch_receipt`] with the event's salt, as
/// [`verify_receipt_salted`](crate::verify_receipt_salted).
pub(crate) fn verify_batch_receipt_salted(
    text: &str,
    keys: &KeySet,
    event: Option<&[u8]>,
    salt: Option<&[u8]>,
) -> Result<Report> {
    let receipt = BatchReceipt::parse(text)?;
    let record = receipt.record();
    let event_digest = crate::verify::claimed_event_digest(record, event, salt)?;
    let mut report = ReportBuilder::new(Subject::BatchReceipt, keys, DEFAULT_MAX_FINDINGS);
    report.count_record();
    report.set_log_id(Some(record.log_id.clone()));
    report.set_record(record.seq, Digest::sha256(&receipt.record_bytes));
    report.set_tree(receipt.checkpoint.size, receipt.checkpoint.root);
    report.ran(&[Check::Format, Check::Key, Check::Checkpoint, Check::Inclusion]);

    match keys.select(Some(&record.kid)) {
        Err(e) => report.fail(e.code(), None, e.message()),
        Ok((key, validity)) => {
            if let Err(e) = validity.check(record.time) {
                report.fail(e.code(), None, e.message());
            }
            // The signature first, then the origin (SPEC §11, in the order the
            // checkpoint row lists them, as §9 orders them for a receipt's inclusion).
            // A log id that cannot name a note key (one with '+') names no signer.
            let signed = NoteVerifier::new(&record.log_id, key)
                .map_err(|e| Error::new(ErrorCode::CheckpointSignatureInvalid, e.message().to_owned()))
                .and_then(|verifier| verify_note(&receipt.checkpoint_note, &[verifier]));
            if let Err(e) = signed {
                report.fail(e.code(), None, format!("the checkpoint is not signed by the record's key: {e}"));
            }
            if receipt.checkpoint.origin != record.log_id {
                report.fail(ErrorCode::CheckpointMismatch, None, "the checkpoint is of another log than the record");
            }
        }
    }
    if let Err(e) = receipt.proof.verify(&leaf_hash(&receipt.record_bytes), &receipt.checkpoint.root) {
        report.fail(ErrorCode::InclusionProofInvalid, None, e.message());
    }
    crate::verify::check_claimed_event(&mut report, record, event, event_digest);
    Ok(report.finish())
}

/// The note verifiers a key set provides for checkpoints of the log `origin`: every
/// usable ES256 key that was never revoked, named by the origin. (A revoked key may
/// be in a forger's hands, and a checkpoint carries no time to tell its signature
/// apart from theirs; rotated keys stay trusted for the checkpoints they signed.)
pub fn checkpoint_verifiers(keys: &KeySet, origin: &str) -> Vec<NoteVerifier> {
    keys.entries()
        .iter()
        .filter(|entry| entry.validity().revoked_at.is_none())
        .filter_map(|entry| entry.public_key())
        .filter_map(|key| NoteVerifier::new(origin, key).ok())
        .collect()
}

/// Verifies a signed checkpoint with a key set: signed, under its origin as key
/// name, by a key of the set.
///
/// # Errors
/// [`ErrorCode::CheckpointMalformed`]; [`ErrorCode::CheckpointSignatureInvalid`].
pub fn verify_checkpoint_with_keys(note: &str, keys: &KeySet) -> Result<Checkpoint> {
    let origin = read_checkpoint(note)?.origin;
    let verifiers = checkpoint_verifiers(keys, &origin);
    Ok(crate::checkpoint::verify_checkpoint(note, &verifiers)?.0)
}

/// The record a receipt or batch receipt signs, as its canonical bytes.
///
/// # Errors
/// As [`Receipt::parse`](crate::Receipt::parse) or [`BatchReceipt::parse`].
pub fn record_of_receipt(receipt: &str) -> Result<Vec<u8>> {
    if receipt.starts_with('{') {
        Ok(BatchReceipt::parse(receipt)?.record_bytes.clone())
    } else {
        Ok(crate::record::Receipt::parse(receipt)?.record_bytes().to_vec())
    }
}

/// Verifies that a record (its canonical bytes) is in the log a signed checkpoint
/// describes: the checkpoint is signed by a key of `keys`, names the record's log,
/// and the proof leads from the record to its root at its size.
///
/// # Errors
/// Malformed input (`Proof*`, `Record*` codes); verification failures:
/// [`ErrorCode::CheckpointSignatureInvalid`], [`ErrorCode::CheckpointMismatch`],
/// [`ErrorCode::InclusionProofInvalid`].
pub fn verify_inclusion_in_checkpoint(
    record_bytes: &[u8],
    proof: &InclusionProof,
    note: &str,
    keys: &KeySet,
) -> Result<Checkpoint> {
    let record = Record::from_bytes(record_bytes)?;
    let checkpoint = verify_checkpoint_with_keys(note, keys)?;
    if checkpoint.origin != record.log_id {
        return Err(Error::new(ErrorCode::CheckpointMismatch, "the checkpoint is of another log than the record"));
    }
    if proof.tree_size != checkpoint.size {
        return Err(Error::new(
            ErrorCode::CheckpointMismatch,
            format!("the proof is for a tree of {} records, the checkpoint for {}", proof.tree_size, checkpoint.size),
        ));
    }
    if proof.leaf_index != record.seq {
        return Err(Error::new(
            ErrorCode::InclusionProofInvalid,
            "the proof is for another position than the record's",
        ));
    }
    proof.verify(&leaf_hash(record_bytes), &checkpoint.root)?;
    Ok(checkpoint)
}

/// Verifies a receipt or batch receipt, then that its record is in the log a signed
/// checkpoint describes. The receipt is the evidence handed over, so it must verify
/// by itself first: an inclusion proof says nothing for a receipt whose signature
/// is not the log's.
///
/// # Errors
/// As [`verify_receipt`](crate::verify_receipt) for a malformed receipt; the
/// receipt's first finding (e.g. [`ErrorCode::SignatureInvalid`],
/// [`ErrorCode::KeyNotFound`]) when it does not verify; then as
/// [`verify_inclusion_in_checkpoint`].
pub fn verify_receipt_in_checkpoint(
    receipt: &str,
    proof: &InclusionProof,
    note: &str,
    keys: &KeySet,
) -> Result<Checkpoint> {
    let report = crate::verify::verify_receipt(receipt, keys, None)?;
    if let Some(finding) = report.findings().first() {
        return Err(Error::new(finding.code, format!("the receipt does not verify: {}", finding.message)));
    }
    verify_inclusion_in_checkpoint(&record_of_receipt(receipt)?, proof, note, keys)
}

/// Verifies that a log only grew between two signed checkpoints: both are signed
/// by keys of `keys` and name the same log, and the proof shows the older tree is
/// a prefix of the newer.
///
/// # Errors
/// Malformed input (`Proof*` codes); verification failures:
/// [`ErrorCode::CheckpointSignatureInvalid`], [`ErrorCode::CheckpointMismatch`],
/// [`ErrorCode::ConsistencyProofInvalid`].
pub fn verify_consistency_between(
    proof: &ConsistencyProof,
    old_note: &str,
    new_note: &str,
    keys: &KeySet,
) -> Result<(Checkpoint, Checkpoint)> {
    let old = verify_checkpoint_with_keys(old_note, keys)?;
    let new = verify_checkpoint_with_keys(new_note, keys)?;
    if old.origin != new.origin {
        return Err(Error::new(ErrorCode::CheckpointMismatch, "the two checkpoints are of different logs"));
    }
    if (proof.old_size, proof.new_size) != (old.size, new.size) {
        return Err(Error::new(
            ErrorCode::CheckpointMismatch,
            format!(
                "the proof is between sizes {} and {}, the checkpoints are of sizes {} and {}",
                proof.old_size, proof.new_size, old.size, new.size
            ),
        ));
    }
    proof.verify(&old.root, &new.root)?;
    Ok((old, new))
}
