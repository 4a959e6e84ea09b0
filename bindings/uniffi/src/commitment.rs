//! Salted commitments to events, disclosures of some of their members, and keyed
//! hashes that keep personal data out of events (SPEC.md §26).

use evidentia::{Digest, ErrorCode};

use crate::error::{Result, fail};

/// One member of an event with its salt, as disclosed.
#[derive(Debug, uniffi::Record)]
pub struct Disclosure {
    /// The member's name; none for the disclosure of an event that is not an object.
    pub name: Option<String>,
    /// The disclosure (base64url), as it is shown to a verifier.
    pub disclosure: String,
    /// Its digest as the commitment lists it.
    pub digest: String,
}

/// An event's salted commitment.
#[derive(Debug, uniffi::Record)]
pub struct EventCommitment {
    /// The commitment document (canonical JSON).
    pub commitment: String,
    /// Its digest, `sha256:<hex>`: what a record holds as its event digest.
    pub event_digest: String,
    /// One disclosure per member, in the event's canonical member order.
    pub disclosures: Vec<Disclosure>,
}

/// What disclosures show of a committed event.
#[derive(Debug, uniffi::Record)]
pub struct DisclosedEvent {
    /// The disclosed members as canonical JSON (an object; the value itself for an
    /// event that is not an object).
    pub disclosed: String,
    /// The disclosed members' names, in the order given.
    pub names: Vec<String>,
    /// How many members stay hidden.
    pub undisclosed: u64,
}

/// Commits to an event (JSON text) with an event salt of 16 to 64 random bytes (a
/// fixed salt only for test vectors). Throws a Usage error (INVALID_ARGUMENT) for a
/// salt of another length.
#[uniffi::export]
pub fn commit_event(event: String, salt: Vec<u8>) -> Result<EventCommitment> {
    let commitment = evidentia::commit_json(event.as_bytes(), &salt)?;
    Ok(EventCommitment {
        commitment: String::from_utf8_lossy(&commitment.document).into_owned(),
        event_digest: commitment.digest().to_string(),
        disclosures: commitment
            .disclosures
            .iter()
            .map(|d| Disclosure {
                name: d.name().map(str::to_owned),
                disclosure: d.encoded().to_owned(),
                digest: d.digest(),
            })
            .collect(),
    })
}

/// Checks disclosures against a commitment document whose SHA-256 is
/// `event_digest`, the record's event digest. Throws a Verification error
/// (DISCLOSURE_MISMATCH, EVENT_MISMATCH) or a Record error (COMMITMENT_MALFORMED,
/// DIGEST_MALFORMED).
#[uniffi::export]
pub fn check_disclosures(event_digest: String, commitment: String, disclosures: Vec<String>) -> Result<DisclosedEvent> {
    let digest = Digest::parse(&event_digest)?;
    let given: Vec<&str> = disclosures.iter().map(String::as_str).collect();
    let disclosed = evidentia::check_disclosures(&digest, commitment.as_bytes(), &given)?;
    let json = evidentia::canonicalize_value(&disclosed.event())?;
    Ok(DisclosedEvent {
        disclosed: String::from_utf8(json).map_err(|_| fail(ErrorCode::Internal, "canonical JSON is not UTF-8"))?,
        names: disclosed.disclosures.iter().filter_map(|d| d.name().map(str::to_owned)).collect(),
        undisclosed: disclosed.undisclosed as u64,
    })
}

/// `hmac-sha256:<hex>` of `data` under `key` (at least 16 bytes, kept outside the
/// log): a value to write into an event in place of personal data. Throws a Usage
/// error (INVALID_ARGUMENT) for a shorter key.
#[uniffi::export]
pub fn keyed_hash(key: Vec<u8>, data: Vec<u8>) -> Result<String> {
    Ok(evidentia::keyed_hash(&key, &data)?)
}
