//! Check 12 of a package (SPEC.md §19): witnesses vouch for its checkpoint. A
//! package of a witnessed log carries the checkpoint as its witnesses cosigned it
//! (`cosigned-checkpoint.txt`, C2SP `cosignature/v1` lines, §22) and the tlog-policy
//! its cosignatures meet (`witness-policy.txt`). The policy is the package maker's
//! statement: a verifier compares it (its SHA-256 is shown) with the policy they
//! trust, as they compare the log's key with the one they know.

use crate::checkpoint::split_note;
use crate::digest::Digest;
use crate::time::Timestamp;
use crate::witness::Policy;

/// The cosigned checkpoint's file.
pub(super) const COSIGNED_FILE: &str = "cosigned-checkpoint.txt";
/// The policy's file.
pub(super) const POLICY_FILE: &str = "witness-policy.txt";
/// Check 12's title.
pub(super) const WITNESS_CHECK: &str =
    "witnesses named in witness-policy.txt cosigned the checkpoint, meeting the policy's quorum";

/// A checkpoint as the log's witnesses cosigned it, and the policy (C2SP
/// tlog-policy text) whose quorum its cosignatures meet.
#[derive(Clone, Copy, Debug)]
pub struct PackageWitnesses<'a> {
    /// The cosigned checkpoint: the package's checkpoint text, its log's
    /// signatures and the witnesses' cosignature lines.
    pub note: &'a str,
    /// The policy file's text.
    pub policy: &'a str,
}

/// Check 12, as `verify.sh` makes it: `None` when the package has neither file
/// (the check does not apply); otherwise what the cosignatures show, or why not.
pub(super) fn check_witnesses<'f>(
    file: &impl Fn(&str) -> Option<&'f [u8]>,
) -> Option<std::result::Result<String, String>> {
    let (note, policy) = match (file(COSIGNED_FILE), file(POLICY_FILE)) {
        (None, None) => return None,
        (Some(note), Some(policy)) => (note, policy),
        (Some(_), None) | (None, Some(_)) => {
            return Some(Err(format!("{COSIGNED_FILE} and {POLICY_FILE} come together; the package has one of them")));
        }
    };
    Some(witnessed(note, policy, file("checkpoint-body.txt")))
}

fn witnessed(note: &[u8], policy: &[u8], body: Option<&[u8]>) -> std::result::Result<String, String> {
    let note = std::str::from_utf8(note).map_err(|_| format!("{COSIGNED_FILE} is not UTF-8 text"))?;
    let policy_text = std::str::from_utf8(policy).map_err(|_| format!("{POLICY_FILE} is not UTF-8 text"))?;
    let policy = Policy::parse(policy_text).map_err(|e| format!("{POLICY_FILE}: {e}"))?;
    let (text, _) = split_note(note).map_err(|e| format!("{COSIGNED_FILE}: {e}"))?;
    if Some(text.as_bytes()) != body {
        return Err(format!("{COSIGNED_FILE} does not cosign the text of checkpoint-body.txt"));
    }
    let result = policy.evaluate(note).map_err(|e| format!("{COSIGNED_FILE}: {e}"))?;
    let cosigned: Vec<String> = result
        .cosigned
        .iter()
        .map(|c| {
            let at = i64::try_from(c.timestamp)
                .ok()
                .and_then(|seconds| Timestamp::from_unix(seconds, 0).ok())
                .map_or_else(|| format!("{} s after 1970", c.timestamp), |t| t.to_string());
            format!("{} at {at}", c.witness)
        })
        .collect();
    let policy_sha256 = Digest::sha256(policy_text.as_bytes()).to_hex();
    if !result.quorum_met {
        let by = if cosigned.is_empty() { "no witness of the policy".to_owned() } else { cosigned.join(", ") };
        return Err(format!(
            "the cosignatures ({by}) do not meet the quorum of {POLICY_FILE} (SHA-256 {policy_sha256})"
        ));
    }
    let by = if cosigned.is_empty() {
        "no cosignature, as its quorum is none".to_owned()
    } else {
        format!("cosigned by {}", cosigned.join(", "))
    };
    Ok(format!(
        "the checkpoint is signed by the policy's log key {} and {by}, meeting the quorum of {POLICY_FILE} \
         (SHA-256 {policy_sha256}): compare it with the policy you trust",
        result.signed_by.join(", ")
    ))
}
