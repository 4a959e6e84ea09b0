//! `evidentia log witness`: the log's newest checkpoint submitted to each witness a
//! tlog-policy names (c2sp.org/tlog-witness `add-checkpoint`, SPEC §22.4), the
//! cosignatures merged and stored, and the quorum judged; and `log prove
//! --tlog-proof`, a record's proof with the cosigned checkpoint (c2sp.org/tlog-proof).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use evidentia::json::Value;
use evidentia::{
    Error, ErrorCode, MAX_WITNESS_ANSWER_SIZE, WitnessAnswer, WitnessKey, add_checkpoint_body, merge_notes,
    read_checkpoint, read_witness_answer,
};
use evidentia_store::{LogReader, record_tlog_proof, record_witness_size, store_cosigned, witness_sizes};

use crate::io::outln;
use crate::{Outcome, text};

/// How many times one witness is asked: a 409 answer names the size it holds, and
/// the request is made again from there (once more should do; a third try covers
/// a witness another client moved on in between).
const ATTEMPTS: usize = 3;

/// How a witness round ended for one witness.
struct Submitted {
    /// The witness's name in the policy.
    witness: String,
    cosigned: bool,
    /// The size the witness now holds for the log, when it answered.
    size: Option<u64>,
    error: Option<Error>,
}

/// An HTTP client for witnesses and published logs: TLS by rustls on aws-lc-rs with the Mozilla
/// roots, no redirects (a witness answers where the policy says, a log where it
/// is published), statuses read
/// as answers rather than errors, and `timeout` for each whole request.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .root_certs(ureq::tls::RootCerts::WebPki)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("evidentia/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// POSTs an `add-checkpoint` body; returns the status, the `Content-Type` and the
/// body (at most [`MAX_WITNESS_ANSWER_SIZE`] bytes).
fn post(agent: &ureq::Agent, url: &str, body: &str) -> Result<(u16, Option<String>, Vec<u8>), Error> {
    let failed = |e: ureq::Error| Error::new(ErrorCode::WitnessFailed, format!("{url}: {e}"));
    let mut response =
        agent.post(url).header("Content-Type", "text/plain; charset=utf-8").send(body).map_err(failed)?;
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let bytes =
        response.body_mut().with_config().limit(MAX_WITNESS_ANSWER_SIZE as u64).read_to_vec().map_err(failed)?;
    Ok((status, content_type, bytes))
}

/// Submits `note`, the checkpoint of `size` records, to one witness, starting from
/// the size this log last saw it hold; returns the note with its cosignature.
fn submit(
    agent: &ureq::Agent,
    reader: &LogReader,
    dir: &Path,
    witness: &WitnessKey,
    url: &str,
    (note, size): (&str, u64),
    known: Option<u64>,
) -> (Option<String>, Submitted) {
    let name = witness.name().to_owned();
    let endpoint = format!("{}/add-checkpoint", url.trim_end_matches('/'));
    let mut old = known.unwrap_or(0);
    let mut error = None;
    let mut held = None;
    for _ in 0..ATTEMPTS {
        if old > size {
            error = Some(ahead_of_round(dir, &name, old, size));
            break;
        }
        let answer = proof(reader, old, size)
            .and_then(|proof| add_checkpoint_body(old, &proof, note))
            .and_then(|body| post(agent, &endpoint, &body))
            .and_then(|(status, content_type, body)| {
                read_witness_answer(witness, note, status, content_type.as_deref(), &body)
            });
        match answer {
            Ok(WitnessAnswer::Cosigned(cosigned)) => {
                let recorded = record_witness_size(dir, &witness.to_vkey(), size).err();
                let submitted = Submitted { witness: name, cosigned: true, size: Some(size), error: recorded };
                return (Some(cosigned), submitted);
            }
            Ok(WitnessAnswer::Conflict(holds)) if holds == old => {
                error = Some(Error::new(
                    ErrorCode::WitnessFailed,
                    format!("witness {name} answered 409 Conflict naming the size it was sent ({old})"),
                ));
                break;
            }
            Ok(WitnessAnswer::Conflict(holds)) => {
                held = Some(holds);
                old = holds;
                error = Some(Error::new(
                    ErrorCode::WitnessFailed,
                    format!("witness {name} kept answering that it holds another size ({holds})"),
                ));
            }
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    match held {
        // What it holds is still worth remembering for the next round.
        Some(holds) if holds <= size => {
            let _ = record_witness_size(dir, &witness.to_vkey(), holds);
        }
        Some(holds) => error = Some(ahead_of_round(dir, &name, holds, size)),
        None => {}
    }
    (None, Submitted { witness: name, cosigned: false, size: held, error })
}

/// Why a witness holding a checkpoint of `holds` records cannot cosign this round's
/// of `size`: the log grew since and another round got there first, or the log
/// has fewer records than the witness saw.
fn ahead_of_round(dir: &Path, name: &str, holds: u64, size: u64) -> Error {
    let now = LogReader::open(dir).map(|reader| reader.len()).unwrap_or(size);
    let why = if now >= holds {
        format!("the log has {now} records now: another round overtook this one; witness again")
    } else {
        format!("the log has {now}: it was rolled back, or the witness was shown another history of it")
    };
    Error::new(
        ErrorCode::WitnessFailed,
        format!(
            "witness {name} holds a checkpoint of {holds} records of this log, more than the {size} this round submits; {why}"
        ),
    )
}

/// The consistency proof from `old` to `size` records: none from 0 or to the same size.
fn proof(reader: &LogReader, old: u64, size: u64) -> Result<Vec<evidentia::merkle::Hash>, Error> {
    if old == 0 || old == size {
        return Ok(Vec::new());
    }
    Ok(reader.consistency_proof(old, Some(size))?.hashes)
}

/// Runs a witness round over the log in `dir` for its newest checkpoint `note`.
pub(crate) fn witness(
    dir: &Path,
    policy_path: &Path,
    note: &str,
    fail_open: bool,
    timeout: Duration,
    json: bool,
) -> Result<Outcome, Error> {
    let (policy, policy_text) = crate::witness::load_policy_text(policy_path)?;
    // The policy must accept the log's own signature, or no cosignature counts.
    policy.evaluate(note).map_err(|e| {
        Error::new(e.code(), format!("{}: the policy does not accept the log's checkpoint: {e}", policy_path.display()))
    })?;
    // Records appended since the checkpoint are not its business: proofs are to its size.
    let reader = LogReader::open(dir)?;
    let size = read_checkpoint(note)?.size;
    let known = witness_sizes(dir)?;
    let agent = agent(timeout);
    let mut cosigned = note.to_owned();
    let mut rounds = Vec::new();
    for (name, witness, url) in policy.witness_urls() {
        let (answer, mut submitted) =
            submit(&agent, &reader, dir, witness, url, (note, size), known.get(&witness.to_vkey()).copied());
        name.clone_into(&mut submitted.witness);
        if let Some(answer) = answer {
            // A policy of more witnesses than a note holds signatures (100) ends here.
            match merge_notes(&cosigned, &answer) {
                Ok(merged) => cosigned = merged,
                Err(e) => {
                    submitted.cosigned = false;
                    submitted.error = Some(Error::new(ErrorCode::WitnessFailed, format!("its cosignature: {e}")));
                }
            }
        }
        rounds.push(submitted);
    }
    if rounds.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("{}: no witness of the policy has a URL to submit to", policy_path.display()),
        ));
    }
    let result = policy.evaluate(&cosigned)?;
    // Kept when it meets the quorum (or the caller chose to fail open): what `log
    // prove --tlog-proof` hands out must be what the policy accepts.
    if cosigned != note && (result.quorum_met || fail_open) {
        store_cosigned(dir, &cosigned, result.quorum_met.then_some(policy_text.as_str()))?;
    }
    report(&rounds, &cosigned, result.quorum_met, result.cosigned.len(), fail_open, json)
}

fn report(
    rounds: &[Submitted],
    cosigned: &str,
    quorum_met: bool,
    count: usize,
    fail_open: bool,
    json: bool,
) -> Result<Outcome, Error> {
    let refused = (!quorum_met).then(|| {
        Error::new(
            ErrorCode::PolicyNotSatisfied,
            format!("{count} witness(es) of the policy cosigned the newest checkpoint; the quorum is not met"),
        )
    });
    if let Some(e) = refused.as_ref().filter(|_| fail_open) {
        eprintln!("warning: {e} (--fail-open: the cosignatures gathered are stored all the same)");
    }
    let refused = refused.filter(|_| !fail_open);
    if json {
        let witnesses = rounds
            .iter()
            .map(|r| {
                let mut members =
                    vec![("cosigned", Value::Bool(r.cosigned)), ("witness", Value::from(r.witness.as_str()))];
                if let Some(size) = r.size {
                    members.push(("size", Value::from(size.to_string())));
                }
                if let Some(e) = &r.error {
                    members.push(("error", Value::from(format!("{e}"))));
                }
                Value::object(members)
            })
            .collect();
        let mut members = vec![
            ("checkpoint", Value::from(cosigned)),
            ("quorum_met", Value::Bool(quorum_met)),
            ("witnesses", Value::Array(witnesses)),
        ];
        if let Some(e) = &refused {
            members.push(("error", crate::error_value(e)));
        }
        outln!("{}", text(&Value::object(members)));
        return Ok(if refused.is_some() { Outcome::Invalid } else { Outcome::Valid });
    } else {
        for r in rounds {
            match (r.cosigned, &r.error) {
                (true, None) => eprintln!("cosigned by {}", r.witness),
                (true, Some(e)) => eprintln!("cosigned by {} (its size not remembered: {e})", r.witness),
                (false, Some(e)) => eprintln!("not cosigned by {}: {e}", r.witness),
                (false, None) => eprintln!("not cosigned by {}", r.witness),
            }
        }
        crate::io::write_stdout(cosigned.as_bytes())?;
    }
    refused.map_or(Ok(Outcome::Valid), Err)
}

/// Writes record `index`'s c2sp.org/tlog-proof to `out` (see
/// [`evidentia_store::record_tlog_proof`]) and, with `entry_out`, the record's bytes
/// (the entry the proof is for).
pub(crate) fn write_tlog_proof(
    dir: &Path,
    index: u64,
    size: Option<u64>,
    out: &Path,
    entry_out: Option<&Path>,
) -> Result<(), Error> {
    let (proof, entry) = record_tlog_proof(dir, index, size)?;
    write_file(out, proof.to_text().as_bytes())?;
    if let Some(entry_out) = entry_out {
        write_file(entry_out, &entry)?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| Error::new(ErrorCode::Io, format!("cannot write {}: {e}", path.display())))
}
