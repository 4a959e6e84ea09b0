//! Verification: receipts, evidence files, logs held in memory, checkpoints, proofs; reports.

use std::ffi::c_char;

use evidentia::{ConsistencyProof, InclusionProof, LogVerifier, LogVerifyOptions, Report};

use crate::keys::evidentia_key_set;
use crate::{boundary, bytes, evidentia_result, give, handle, take, text, write_text};

/// A verification report (opaque).
#[derive(Debug)]
pub struct evidentia_report(pub(crate) Report);

/// A log being verified entry by entry, in stored order (opaque).
#[derive(Debug)]
pub struct evidentia_log_verifier(Option<LogVerifier>);

/// Verifies a receipt (a JWS) or a batch receipt (JSON) and, when `event` is not
/// NULL, that the event (JSON text, any formatting) is the one it commits to.
/// Malformed input is an error; everything else is in the report, including
/// evidence that fails verification.
///
/// # Safety
/// `receipt` must point to `receipt_len` bytes, `event` to `event_len` bytes (or
/// be NULL); `keys` live; `out` writable. Free the report with [`evidentia_report_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_receipt(
    receipt: *const c_char,
    receipt_len: usize,
    keys: *const evidentia_key_set,
    event: *const u8,
    event_len: usize,
    out: *mut *mut evidentia_report,
) -> evidentia_result {
    // No salt: the salted form's rules with none.
    unsafe { evidentia_verify_receipt_salted(receipt, receipt_len, keys, event, event_len, std::ptr::null(), 0, out) }
}

/// As [`evidentia_verify_receipt`], with the event's salt for a record of version
/// 2, which commits to its event under it (SPEC.md §26; from
/// [`evidentia_log_salt`](crate::log::evidentia_log_salt)). `salt` NULL or
/// `salt_len` 0 (what `evidentia_log_salt` gives for a version-1 record) is no
/// salt: [`evidentia_verify_receipt`]. `EVIDENTIA_INVALID_ARGUMENT` for a salt without an
/// event, a salt for a version-1 record, or a version-2 record's event without
/// its salt.
///
/// # Safety
/// As [`evidentia_verify_receipt`]; `salt` must point to `salt_len` bytes (or be NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_receipt_salted(
    receipt: *const c_char,
    receipt_len: usize,
    keys: *const evidentia_key_set,
    event: *const u8,
    event_len: usize,
    salt: *const u8,
    salt_len: usize,
    out: *mut *mut evidentia_report,
) -> evidentia_result {
    boundary(|| {
        let receipt = unsafe { text(receipt, receipt_len, "receipt")? };
        let keys = unsafe { handle(keys, "keys")? };
        let event = if event.is_null() { None } else { Some(unsafe { bytes(event, event_len, "event")? }) };
        let salt = match salt.is_null() || salt_len == 0 {
            true => None,
            false => Some(unsafe { bytes(salt, salt_len, "salt")? }),
        };
        let report = evidentia::verify_receipt_salted(receipt, &keys.0, event, salt)?;
        unsafe { give(evidentia_report(report), out) }
    })
}

/// Reads an evidence file (SPEC.md §18: JSON holding a receipt or batch receipt,
/// a key set and optionally the event) and verifies what it holds, with `keys`, the
/// keys the caller trusts, or, when `keys` is NULL, with the key set the file holds
/// (which came from whoever made the file: confirm it independently). Malformed
/// input is an error (`EVIDENTIA_INVALID_ARGUMENT` for JSON that is not an evidence
/// file); everything else is in the report.
///
/// # Safety
/// `evidence` must point to `evidence_len` bytes; `keys` live or NULL; `out`
/// writable. Free the report with [`evidentia_report_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_evidence_file(
    evidence: *const u8,
    evidence_len: usize,
    keys: *const evidentia_key_set,
    out: *mut *mut evidentia_report,
) -> evidentia_result {
    boundary(|| {
        let evidence = unsafe { bytes(evidence, evidence_len, "evidence")? };
        let keys = unsafe { keys.as_ref() }.map(|k| &k.0);
        let report = evidentia::verify_evidence_file(evidence, keys)?;
        unsafe { give(evidentia_report(report), out) }
    })
}

/// Starts verifying a log held in memory, whose keys are `keys` (copied).
///
/// # Safety
/// `keys` live; `out` writable. Finish with [`evidentia_log_verifier_finish`] or
/// free with [`evidentia_log_verifier_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_verifier_new(
    keys: *const evidentia_key_set,
    out: *mut *mut evidentia_log_verifier,
) -> evidentia_result {
    boundary(|| {
        let keys = unsafe { handle(keys, "keys")? };
        unsafe { give(evidentia_log_verifier(Some(LogVerifier::new(&keys.0, LogVerifyOptions::default()))), out) }
    })
}

/// Verifies the next stored entry: a receipt, or a record of a batch-signed log,
/// with its event as the stored canonical bytes (`event` may be NULL).
///
/// # Safety
/// `verifier` live; `entry` must point to `entry_len` bytes and `event` to
/// `event_len` bytes (or be NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_verifier_push(
    verifier: *mut evidentia_log_verifier,
    entry: *const u8,
    entry_len: usize,
    event: *const u8,
    event_len: usize,
) -> evidentia_result {
    boundary(|| {
        let verifier = unsafe { live(verifier)? };
        let entry = unsafe { bytes(entry, entry_len, "entry")? };
        let event = if event.is_null() { None } else { Some(unsafe { bytes(event, event_len, "event")? }) };
        verifier.push_entry(entry, event);
        Ok(())
    })
}

/// Checks a signed checkpoint stored with the log, pushed when exactly its number
/// of records has been pushed.
///
/// # Safety
/// `verifier` live; `note` must point to `note_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_verifier_push_checkpoint(
    verifier: *mut evidentia_log_verifier,
    note: *const c_char,
    note_len: usize,
) -> evidentia_result {
    boundary(|| {
        let verifier = unsafe { live(verifier)? };
        verifier.push_checkpoint(unsafe { text(note, note_len, "note")? });
        Ok(())
    })
}

/// The verifier behind a handle: NULL is INVALID_ARGUMENT, a finished one
/// INVALID_HANDLE (it can only be freed), as for a second finish.
unsafe fn live<'a>(verifier: *mut evidentia_log_verifier) -> Result<&'a mut LogVerifier, evidentia::Error> {
    // SAFETY: the caller promises a live handle made by this library, or NULL.
    let slot = unsafe { verifier.as_mut() }.ok_or_else(|| crate::null("verifier"))?;
    slot.0
        .as_mut()
        .ok_or_else(|| evidentia::Error::new(evidentia::ErrorCode::InvalidHandle, "the verifier was already finished"))
}

/// Ends verification: the report goes to `out`, and the verifier can only be freed.
///
/// # Safety
/// `verifier` live; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_verifier_finish(
    verifier: *mut evidentia_log_verifier,
    out: *mut *mut evidentia_report,
) -> evidentia_result {
    boundary(|| {
        let slot = unsafe { verifier.as_mut() }.ok_or_else(|| crate::null("verifier"))?;
        let verifier = slot.0.take().ok_or_else(|| {
            evidentia::Error::new(evidentia::ErrorCode::InvalidHandle, "the verifier was already finished")
        })?;
        unsafe { give(evidentia_report(verifier.finish()), out) }
    })
}

/// Frees a log verifier (NULL is ignored).
///
/// # Safety
/// `verifier` must come from this library and not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_log_verifier_free(verifier: *mut evidentia_log_verifier) {
    unsafe { take(verifier) }
}

/// Whether every check of the report passed.
///
/// # Safety
/// `report` must be a live report or NULL (which is not valid).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_report_is_valid(report: *const evidentia_report) -> bool {
    std::panic::catch_unwind(|| unsafe { report.as_ref() }.is_some_and(|r| r.0.is_valid())).unwrap_or(false)
}

/// Writes the report's one-line summary, beginning with `VALID` or `INVALID`.
///
/// # Safety
/// `report` live; `out` must have room for `cap` bytes; `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_report_summary(
    report: *const evidentia_report,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let report = unsafe { handle(report, "report")? };
        unsafe { write_text(&report.0.summary(), out, cap, out_len) }
    })
}

/// The number of records a report covers (0 for a NULL report).
///
/// # Safety
/// `report` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_report_records(report: *const evidentia_report) -> u64 {
    std::panic::catch_unwind(|| unsafe { report.as_ref() }.map_or(0, |r| r.0.records())).unwrap_or(0)
}

/// The index of the first record a report covers: 0, or the size of the trusted
/// checkpoint a verification started from (0 for a NULL report).
///
/// # Safety
/// `report` live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_report_first_record(report: *const evidentia_report) -> u64 {
    std::panic::catch_unwind(|| unsafe { report.as_ref() }.map_or(0, |r| r.0.first_record())).unwrap_or(0)
}

/// Writes the report as JSON (SPEC.md, "Reports").
///
/// # Safety
/// `report` live; `out` must have room for `cap` bytes; `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_report_to_json(
    report: *const evidentia_report,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let report = unsafe { handle(report, "report")? };
        unsafe { write_text(&report.0.to_json(), out, cap, out_len) }
    })
}

/// Writes the report as text for people.
///
/// # Safety
/// As [`evidentia_report_to_json`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_report_to_text(
    report: *const evidentia_report,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let report = unsafe { handle(report, "report")? };
        unsafe { write_text(&report.0.to_text(), out, cap, out_len) }
    })
}

/// Writes the codes of the report's findings, as numbers, into `out` (up to `cap`),
/// in order of first appearance; `*out_len` receives how many there are.
///
/// # Safety
/// `report` live; `out` must have room for `cap` numbers; `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_report_failure_codes(
    report: *const evidentia_report,
    out: *mut u32,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let report = unsafe { handle(report, "report")? };
        let codes: Vec<u32> = report.0.failure_codes().iter().map(|c| u32::from(*c as u16)).collect();
        let out_len = unsafe { out_len.as_mut() }.ok_or_else(|| crate::null("out_len"))?;
        *out_len = codes.len();
        if out.is_null() || cap < codes.len() {
            return Err(evidentia::Error::new(
                evidentia::ErrorCode::BufferTooSmall,
                "the report has more codes than fit",
            ));
        }
        // SAFETY: `out` has room for `cap >= codes.len()` numbers, per the caller.
        unsafe { std::ptr::copy_nonoverlapping(codes.as_ptr(), out, codes.len()) };
        Ok(())
    })
}

/// Frees a report (NULL is ignored).
///
/// # Safety
/// `report` must come from this library and not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_report_free(report: *mut evidentia_report) {
    unsafe { take(report) }
}

/// Verifies a signed checkpoint with a key set and writes its tree size to
/// `out_size` (may be NULL).
///
/// # Safety
/// `note` must point to `note_len` bytes; `keys` live; `out_size` writable or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_checkpoint(
    note: *const c_char,
    note_len: usize,
    keys: *const evidentia_key_set,
    out_size: *mut u64,
) -> evidentia_result {
    boundary(|| {
        let note = unsafe { text(note, note_len, "note")? };
        let keys = unsafe { handle(keys, "keys")? };
        let checkpoint = evidentia::verify_checkpoint_with_keys(note, &keys.0)?;
        if let Some(out) = unsafe { out_size.as_mut() } {
            *out = checkpoint.size;
        }
        Ok(())
    })
}

/// Verifies a receipt or batch receipt (its signature by a key of the set) and that
/// its record is in the log a signed checkpoint describes, with an inclusion proof (JSON).
///
/// # Safety
/// Each text must point to its length in bytes; `keys` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_inclusion(
    receipt: *const c_char,
    receipt_len: usize,
    proof: *const c_char,
    proof_len: usize,
    checkpoint: *const c_char,
    checkpoint_len: usize,
    keys: *const evidentia_key_set,
) -> evidentia_result {
    boundary(|| {
        let receipt = unsafe { text(receipt, receipt_len, "receipt")? };
        let proof = InclusionProof::from_json(unsafe { text(proof, proof_len, "proof")? })?;
        let note = unsafe { text(checkpoint, checkpoint_len, "checkpoint")? };
        let keys = unsafe { handle(keys, "keys")? };
        evidentia::verify_receipt_in_checkpoint(receipt, &proof, note, &keys.0).map(drop)
    })
}

/// Verifies a consistency proof (JSON) between two signed checkpoints of one log.
///
/// # Safety
/// Each text must point to its length in bytes; `keys` live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_consistency(
    proof: *const c_char,
    proof_len: usize,
    old_checkpoint: *const c_char,
    old_len: usize,
    new_checkpoint: *const c_char,
    new_len: usize,
    keys: *const evidentia_key_set,
) -> evidentia_result {
    boundary(|| {
        let proof = ConsistencyProof::from_json(unsafe { text(proof, proof_len, "proof")? })?;
        let old = unsafe { text(old_checkpoint, old_len, "old_checkpoint")? };
        let new = unsafe { text(new_checkpoint, new_len, "new_checkpoint")? };
        let keys = unsafe { handle(keys, "keys")? };
        evidentia::verify_consistency_between(&proof, old, new, &keys.0).map(drop)
    })
}

/// Verifies an inclusion proof (JSON) of a leaf (its data, hashed as RFC 6962
/// prescribes) against a root hash (32 bytes), without a checkpoint.
///
/// # Safety
/// `proof` must point to `proof_len` bytes, `leaf` to `leaf_len` bytes, `root` to 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_inclusion_proof(
    proof: *const c_char,
    proof_len: usize,
    leaf: *const u8,
    leaf_len: usize,
    root: *const u8,
) -> evidentia_result {
    boundary(|| {
        let proof = InclusionProof::from_json(unsafe { text(proof, proof_len, "proof")? })?;
        let leaf = evidentia::merkle::leaf_hash(unsafe { bytes(leaf, leaf_len, "leaf")? });
        let root = root_of(unsafe { bytes(root, 32, "root")? })?;
        proof.verify(&leaf, &root)
    })
}

/// Verifies a consistency proof (JSON) between two root hashes (32 bytes each).
///
/// # Safety
/// `proof` must point to `proof_len` bytes; `old_root` and `new_root` to 32 bytes each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_verify_consistency_proof(
    proof: *const c_char,
    proof_len: usize,
    old_root: *const u8,
    new_root: *const u8,
) -> evidentia_result {
    boundary(|| {
        let proof = ConsistencyProof::from_json(unsafe { text(proof, proof_len, "proof")? })?;
        let old = root_of(unsafe { bytes(old_root, 32, "old_root")? })?;
        let new = root_of(unsafe { bytes(new_root, 32, "new_root")? })?;
        proof.verify(&old, &new)
    })
}

fn root_of(bytes: &[u8]) -> Result<evidentia::merkle::Hash, evidentia::Error> {
    evidentia::merkle::hash_from_slice(bytes)
}
