//! Witness cosignatures and policies (SPEC.md §22): a checkpoint checked against a
//! C2SP tlog-policy, and tlog-proof files.

use std::ffi::c_char;

use evidentia::{Error, Policy, PolicyResult, TlogProof};

use crate::{boundary, bytes, evidentia_result, json_string, text, write_text};

/// The result as canonical JSON text into the caller's buffer.
unsafe fn write_result(result: &PolicyResult, out: *mut c_char, cap: usize, out_len: *mut usize) -> Result<(), Error> {
    let json = json_string(&result.to_value())?;
    // SAFETY: forwarded from the caller.
    unsafe { write_text(&json, out, cap, out_len) }
}

/// Checks a signed checkpoint note and its witness cosignatures against a policy
/// (c2sp.org/tlog-policy text). Returns `EVIDENTIA_OK` when a log key of the
/// policy signed it and the witnesses that cosigned meet the quorum, and writes
/// the result to `out` as JSON text (NUL-terminated): `{"cosigned":[{"key_name",
/// "timestamp","witness"}],"origin","quorum_met","root","signed_by","size"}`.
/// Otherwise a code: `EVIDENTIA_POLICY_NOT_SATISFIED` (the quorum is not met),
/// `EVIDENTIA_COSIGNATURE_INVALID`, `EVIDENTIA_CHECKPOINT_SIGNATURE_INVALID`,
/// `EVIDENTIA_CHECKPOINT_MALFORMED`, `EVIDENTIA_POLICY_MALFORMED`, or
/// `EVIDENTIA_BUFFER_TOO_SMALL` with the size needed in `*out_len`.
///
/// # Safety
/// `note` must point to `note_len` bytes, `policy` to `policy_len` bytes; `out`
/// must have room for `cap` bytes; `out_len` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_policy_check(
    note: *const c_char,
    note_len: usize,
    policy: *const c_char,
    policy_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let note = unsafe { text(note, note_len, "note")? };
        let policy = Policy::parse(unsafe { text(policy, policy_len, "policy")? })?;
        let result = policy.check(note)?;
        unsafe { write_result(&result, out, cap, out_len) }
    })
}

/// Verifies a tlog-proof (c2sp.org/tlog-proof text) for `entry` (its bytes, hashed
/// as an RFC 6962 leaf) against a policy: the proof's checkpoint must satisfy the
/// policy (as `evidentia_policy_check`), and the inclusion proof must lead from the
/// entry to its root. Returns `EVIDENTIA_OK` and writes the checkpoint's result
/// to `out` as `evidentia_policy_check` does; otherwise a code, among them
/// `EVIDENTIA_PROOF_MALFORMED` and `EVIDENTIA_INCLUSION_PROOF_INVALID`.
///
/// # Safety
/// `proof`, `entry` and `policy` must point to their lengths in bytes; `out` must
/// have room for `cap` bytes; `out_len` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evidentia_tlog_proof_verify(
    proof: *const c_char,
    proof_len: usize,
    entry: *const u8,
    entry_len: usize,
    policy: *const c_char,
    policy_len: usize,
    out: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> evidentia_result {
    boundary(|| {
        let proof = TlogProof::parse(unsafe { text(proof, proof_len, "proof")? })?;
        let entry = unsafe { bytes(entry, entry_len, "entry")? };
        let policy = Policy::parse(unsafe { text(policy, policy_len, "policy")? })?;
        let result = proof.verify(entry, &policy)?;
        unsafe { write_result(&result, out, cap, out_len) }
    })
}
