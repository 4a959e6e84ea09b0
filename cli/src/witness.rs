//! `evidentia checkpoint verify-policy` and `evidentia proof verify-tlog`: a
//! checkpoint's witness cosignatures checked against a C2SP tlog-policy, and
//! tlog-proof files (SPEC.md §22).

use std::path::{Path, PathBuf};

use clap::Args;
use evidentia::json::{Number, Value};
use evidentia::{Error, ErrorCode, Policy, PolicyResult, Timestamp, TlogProof};

use crate::io::{outln, read_input, read_text};
use crate::{Outcome, in_file, text};

#[derive(Args, Debug)]
pub(crate) struct VerifyPolicyArgs {
    /// The signed checkpoint with its cosignature lines, or - for standard input
    note: PathBuf,
    /// The policy (c2sp.org/tlog-policy): the log's keys, the witnesses and the quorum
    #[arg(long)]
    policy: PathBuf,
}

#[derive(Args, Debug)]
pub(crate) struct VerifyTlogArgs {
    /// The proof (c2sp.org/tlog-proof: index, inclusion proof, cosigned checkpoint)
    proof: PathBuf,
    /// The entry the proof is for (its bytes are hashed as an RFC 6962 leaf)
    #[arg(long)]
    entry: PathBuf,
    /// The policy (c2sp.org/tlog-policy) the proof's checkpoint must satisfy
    #[arg(long)]
    policy: PathBuf,
}

pub(crate) fn load_policy(path: &Path) -> Result<Policy, Error> {
    load_policy_text(path).map(|(policy, _)| policy)
}

/// A policy file, parsed, and its text.
pub(crate) fn load_policy_text(path: &Path) -> Result<(Policy, String), Error> {
    let text = String::from_utf8(read_input(Some(path))?)
        .map_err(|_| Error::new(ErrorCode::PolicyMalformed, format!("{} is not UTF-8 text", path.display())))?;
    let policy = Policy::parse(&text).map_err(in_file(path))?;
    Ok((policy, text))
}

/// Checks the checkpoint against the policy; prints which witnesses cosigned and
/// whether the quorum is met (not met: exit 1, POLICY_NOT_SATISFIED).
pub(crate) fn verify_policy(args: &VerifyPolicyArgs, json: bool) -> Result<Outcome, Error> {
    let policy = load_policy(&args.policy)?;
    let note = String::from_utf8(read_input(Some(&args.note))?)
        .map_err(|_| Error::new(ErrorCode::CheckpointMalformed, "the checkpoint is not UTF-8 text"))?;
    let result = policy.evaluate(&note).map_err(in_file(&args.note))?;
    print(&result, json)
}

/// Verifies a tlog-proof for an entry against the policy.
pub(crate) fn verify_tlog(args: &VerifyTlogArgs, json: bool) -> Result<Outcome, Error> {
    let policy = load_policy(&args.policy)?;
    let proof = read_text(&args.proof)
        .map_err(|e| Error::new(ErrorCode::ProofMalformed, e.message().to_owned()))
        .and_then(|text| TlogProof::parse(&text))
        .map_err(in_file(&args.proof))?;
    let entry = read_input(Some(&args.entry))?;
    let result = proof.verify(&entry, &policy)?;
    if !json {
        outln!("VALID: the entry is record {} of the log, in a checkpoint the policy accepts", proof.index);
    }
    print(&result, json)
}

fn number(n: u64) -> Value {
    i64::try_from(n).ok().and_then(|n| Number::from_i64(n).ok()).map_or_else(|| Value::from(n.to_string()), Value::from)
}

/// A cosignature's time as RFC 3339, when it is one.
fn time(seconds: u64) -> String {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| Timestamp::from_unix(s, 0).ok())
        .map_or_else(|| format!("{seconds} s"), |t| t.to_string())
}

fn print(result: &PolicyResult, json: bool) -> Result<Outcome, Error> {
    let refused = (!result.quorum_met).then(|| {
        Error::new(
            ErrorCode::PolicyNotSatisfied,
            format!(
                "the checkpoint's {} valid cosignature(s) of policy witnesses do not meet the quorum",
                result.cosigned.len()
            ),
        )
    });
    let checkpoint = &result.checkpoint;
    let root = evidentia::encoding::b64(&checkpoint.root);
    if json {
        let cosigned = result
            .cosigned
            .iter()
            .map(|c| {
                Value::object([
                    ("key_name", Value::from(c.key_name.as_str())),
                    ("time", Value::from(time(c.timestamp))),
                    ("timestamp", number(c.timestamp)),
                    ("witness", Value::from(c.witness.as_str())),
                ])
            })
            .collect();
        let mut members = vec![
            ("cosigned", Value::Array(cosigned)),
            ("origin", Value::from(checkpoint.origin.as_str())),
            ("quorum_met", Value::Bool(result.quorum_met)),
            ("root", Value::from(root.as_str())),
            ("signed_by", Value::Array(result.signed_by.iter().map(|s| Value::from(s.as_str())).collect())),
            ("size", number(checkpoint.size)),
            ("valid", Value::Bool(refused.is_none())),
        ];
        if let Some(e) = &refused {
            members.push(("error", crate::error_value(e)));
        }
        outln!("{}", text(&Value::object(members)));
        return Ok(if refused.is_some() { Outcome::Invalid } else { Outcome::Valid });
    }
    outln!(
        "checkpoint: the log {} of {} records has the root {root}, signed by {}",
        checkpoint.origin,
        checkpoint.size,
        result.signed_by.join(", ")
    );
    for c in &result.cosigned {
        outln!("cosigned by {} ({}) at {}", c.witness, c.key_name, time(c.timestamp));
    }
    match refused {
        None => {
            outln!("VALID: {} witness(es) of the policy cosigned; the quorum is met", result.cosigned.len());
            Ok(Outcome::Valid)
        }
        Some(e) => {
            outln!("INVALID: {} witness(es) of the policy cosigned; the quorum is not met", result.cosigned.len());
            Err(e)
        }
    }
}
