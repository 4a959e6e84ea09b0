//! Check 14 of a package (SPEC.md §19): the package of a version-2 record whose
//! event was erased (SPEC.md §27) holds, instead of `event.json`, the erasure
//! record that says so, its event and its inclusion proof in the same checkpoint,
//! so that a reader sees what was erased, when, why and by which record.

use crate::digest::Digest;
use crate::erasure::erasure_of;
use crate::error::Result;
use crate::json::Value;
use crate::merkle::InclusionProof;
use crate::record::{Record, RecordVersion};

/// The erasure record's canonical bytes: the file whose presence makes a package
/// one of an erased record.
pub(crate) const ERASURE_RECORD_FILE: &str = "erasure-record.json";
/// The erasure record's event: the erasure statement (SPEC.md §27.1).
pub(crate) const ERASURE_EVENT_FILE: &str = "erasure-event.json";
/// The erasure record's inclusion proof in the tree of the package's checkpoint.
pub(crate) const ERASURE_PROOF_FILE: &str = "erasure-inclusion-proof.json";

pub(crate) const ERASURE_CHECK: &str = "the event was erased by a later record of the same log, in the same checkpoint";

/// The erasure of a packaged record: the erasure record's canonical bytes, its
/// event, and its inclusion proof in the tree of the package's checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct PackageErasure<'a> {
    /// The erasure record's canonical bytes (SPEC.md §7).
    pub record: &'a [u8],
    /// Its event's canonical JSON (SPEC.md §27.1).
    pub event: &'a [u8],
    /// Its inclusion proof in the tree of the package's checkpoint.
    pub proof: &'a InclusionProof,
}

/// The three files of an erasure.
pub(crate) fn erasure_files(erasure: PackageErasure<'_>) -> Result<[(&'static str, Vec<u8>); 3]> {
    Ok([
        (ERASURE_RECORD_FILE, erasure.record.to_vec()),
        (ERASURE_EVENT_FILE, erasure.event.to_vec()),
        (ERASURE_PROOF_FILE, erasure.proof.to_json()?.into_bytes()),
    ])
}

/// What check 14 found, when it passed.
struct Found {
    by: Record,
    reason: String,
}

/// Check 14, when the package holds any of the erasure's files (the three come
/// together, so that none is carried unchecked): the detail saying what was erased,
/// when and why; or why the erasure does not hold.
pub(crate) fn check<'f>(file: &impl Fn(&str) -> Option<&'f [u8]>) -> Option<std::result::Result<String, String>> {
    if [ERASURE_RECORD_FILE, ERASURE_EVENT_FILE, ERASURE_PROOF_FILE].iter().all(|name| file(name).is_none()) {
        return None;
    }
    Some(find(file).map(|found| {
        format!(
            "the event was erased by record {} of the log, recorded at {}, for the reason {:?}; the record, its \
             signature and its inclusion still prove what was signed, but not what the event said",
            found.by.seq, found.by.time, found.reason
        )
    }))
}

/// For a package whose check 14 passes: `{"by": the erasure record's seq, "reason",
/// "time": the erasure record's time}`.
pub(crate) fn erased<'f>(file: &impl Fn(&str) -> Option<&'f [u8]>) -> Option<Value> {
    let found = find(file).ok()?;
    Some(Value::object([
        ("by", super::seq_value(found.by.seq)),
        ("reason", Value::from(found.reason.as_str())),
        ("time", Value::string(found.by.time.to_string())),
    ]))
}

fn find<'f>(file: &impl Fn(&str) -> Option<&'f [u8]>) -> std::result::Result<Found, String> {
    let need = |name: &str| file(name).ok_or_else(|| format!("{name} is missing"));
    if [ERASURE_RECORD_FILE, ERASURE_EVENT_FILE, ERASURE_PROOF_FILE].iter().any(|name| file(name).is_none()) {
        return Err(format!("{ERASURE_RECORD_FILE}, {ERASURE_EVENT_FILE} and {ERASURE_PROOF_FILE} come together"));
    }
    if file("event.json").is_some() {
        return Err("the package holds event.json and an erasure: a package shows an event or its erasure".to_owned());
    }
    let record_bytes = need("record.json")?;
    let record = Record::from_bytes(record_bytes).map_err(|e| format!("record.json: {e}"))?;
    if record.version != RecordVersion::V2 {
        return Err("record.json is not a record of version 2, the only version whose event can be erased".to_owned());
    }
    let by = Record::from_bytes(need(ERASURE_RECORD_FILE)?).map_err(|e| format!("{ERASURE_RECORD_FILE}: {e}"))?;
    if by.log_id != record.log_id || by.seq <= record.seq {
        return Err(format!("{ERASURE_RECORD_FILE} is not a later record of the same log"));
    }
    let event = need(ERASURE_EVENT_FILE)?;
    // An erasure record is of version 1: its event digest is the event's SHA-256.
    if by.version != RecordVersion::V1 || Digest::sha256(event) != by.event {
        return Err(format!("{ERASURE_EVENT_FILE} is not the event {ERASURE_RECORD_FILE} commits to"));
    }
    let erasure = match erasure_of(event) {
        Some(Ok(erasure)) if erasure.to_event() == event => erasure,
        _ => return Err(format!("{ERASURE_EVENT_FILE} is not an erasure record (SPEC.md §27.1) in canonical form")),
    };
    if erasure.seq != record.seq || erasure.record != Digest::sha256(record_bytes) {
        return Err(format!("{ERASURE_EVENT_FILE} does not name record.json (its seq and SHA-256)"));
    }
    // The key that signed the erasure, as check 3 judges the record's: an erasure
    // claimed under a key revoked before it, or one the log never had, is refused.
    let keys = std::str::from_utf8(need("keys.jwks")?).map_err(|_| "keys.jwks is not text")?;
    super::in_force(keys, &by.kid, by.time).map_err(|e| format!("the key of {ERASURE_RECORD_FILE}: {e}"))?;
    let written =
        std::str::from_utf8(need(ERASURE_PROOF_FILE)?).map_err(|_| format!("{ERASURE_PROOF_FILE} is not text"))?;
    let body = std::str::from_utf8(need("checkpoint-body.txt")?).map_err(|_| "checkpoint-body.txt is not text")?;
    let by_bytes = need(ERASURE_RECORD_FILE)?;
    super::check_inclusion(ERASURE_PROOF_FILE, written, ERASURE_RECORD_FILE, by_bytes, by.seq, body)?;
    Ok(Found { by, reason: erasure.reason })
}
