//! How a log keeps a record's event beside the record (SPEC.md §16.2), and the one
//! check of a kept event against its record.
//!
//! The stored bytes say which of four states the event is in, without the record:
//!
//! - empty: the event is not kept;
//! - canonical JSON: the event of a version-1 record (JSON text never starts with
//!   a byte below 0x20);
//! - `0x01` ‖ salt length (one byte) ‖ salt ‖ canonical JSON: the event of a
//!   version-2 record with the salt it was committed under;
//! - `0x00` and zeros to the same length: an event and salt that were erased. The
//!   length is kept so that an erasure overwrites in place and nothing after it moves.

use crate::commitment::{Commitment, MAX_SALT_BYTES, MIN_SALT_BYTES, commit_json};
use crate::digest::Digest;
use crate::error::{Error, ErrorCode, Result};
use crate::record::{Record, RecordVersion};

const SALTED: u8 = 0x01;
const ERASED: u8 = 0x00;

/// A record's event as a log keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredEvent<'a> {
    /// The event's canonical JSON (a version-1 record's).
    Plain(&'a [u8]),
    /// The event's canonical JSON and the salt of its commitment (a version-2 record's).
    Salted {
        /// The event salt, 16 to 64 bytes.
        salt: &'a [u8],
        /// The event's canonical JSON.
        event: &'a [u8],
    },
    /// Erased: the event and its salt were deleted.
    Erased,
}

impl<'a> StoredEvent<'a> {
    /// Reads stored bytes; `None` for empty bytes (an event that is not kept).
    ///
    /// # Errors
    /// [`ErrorCode::EventMismatch`] for bytes in none of the forms.
    pub fn read(bytes: &'a [u8]) -> Result<Option<StoredEvent<'a>>> {
        let malformed = |why: &str| Error::new(ErrorCode::EventMismatch, format!("the stored event {why}"));
        match bytes.first() {
            None => Ok(None),
            Some(&ERASED) if bytes.iter().all(|&b| b == 0) => Ok(Some(StoredEvent::Erased)),
            Some(&ERASED) => Err(malformed("is marked erased but holds bytes other than zeros")),
            Some(&SALTED) => {
                let len = usize::from(*bytes.get(1).ok_or_else(|| malformed("ends before its salt"))?);
                if !(MIN_SALT_BYTES..=MAX_SALT_BYTES).contains(&len) {
                    return Err(malformed("has a salt of a length other than 16 to 64 bytes"));
                }
                let salt = bytes.get(2..2 + len).ok_or_else(|| malformed("ends inside its salt"))?;
                Ok(Some(StoredEvent::Salted { salt, event: &bytes[2 + len..] }))
            }
            Some(&b) if b < 0x20 => Err(malformed("starts with a byte that begins none of its forms")),
            Some(_) => Ok(Some(StoredEvent::Plain(bytes))),
        }
    }

    /// The event's canonical JSON; `None` once erased.
    pub fn event(self) -> Option<&'a [u8]> {
        match self {
            StoredEvent::Plain(event) | StoredEvent::Salted { event, .. } => Some(event),
            StoredEvent::Erased => None,
        }
    }

    /// The bytes that keep `event` (canonical JSON) with `salt`, for a version-2 record.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a salt of another length than 16 to 64 bytes.
    pub fn salted(salt: &[u8], event: &[u8]) -> Result<Vec<u8>> {
        if !(MIN_SALT_BYTES..=MAX_SALT_BYTES).contains(&salt.len()) {
            return Err(Error::new(ErrorCode::InvalidArgument, "an event salt is 16 to 64 bytes"));
        }
        let mut out = Vec::with_capacity(2 + salt.len() + event.len());
        out.push(SALTED);
        out.push(salt.len() as u8);
        out.extend_from_slice(salt);
        out.extend_from_slice(event);
        Ok(out)
    }

    /// What an erased event of `len` stored bytes is overwritten with.
    pub fn erased(len: usize) -> Vec<u8> {
        vec![ERASED; len]
    }
}

/// The event's canonical JSON in stored bytes, for whoever reads events (field
/// indexes, lookups, exports): empty when it is not kept, erased or unreadable.
pub fn stored_event_json(stored: &[u8]) -> &[u8] {
    match StoredEvent::read(stored) {
        Ok(Some(stored)) => stored.event().unwrap_or_default(),
        _ => &[],
    }
}

/// What a kept event is to its record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventState<'a> {
    /// The event is the one the record commits to: its canonical JSON.
    Matches(&'a [u8]),
    /// The event and its salt were erased.
    Erased,
    /// The event is not kept.
    Missing,
    /// The stored bytes are not the event the record commits to, with why.
    Mismatch(String),
}

/// Checks stored bytes against the record they are kept with: for a version-1
/// record, SHA-256 of the stored canonical JSON; for a version-2 record, the digest
/// of the commitment the event and salt make. The digest is taken over the stored
/// bytes, so a change that re-formats the JSON without changing its value is found.
pub fn event_state<'a>(record: &Record, stored: &'a [u8]) -> EventState<'a> {
    let stored = match StoredEvent::read(stored) {
        Ok(Some(stored)) => stored,
        Ok(None) => return EventState::Missing,
        Err(e) => return EventState::Mismatch(e.message().to_owned()),
    };
    match (record.version, stored) {
        (_, StoredEvent::Erased) => EventState::Erased,
        (RecordVersion::V1, StoredEvent::Plain(event)) if Digest::sha256(event) == record.event => {
            EventState::Matches(event)
        }
        (RecordVersion::V1, StoredEvent::Plain(event)) => EventState::Mismatch(
            match Digest::of_json(event) {
                Ok(digest) if digest == record.event => {
                    "the stored event was re-formatted: it is not in the canonical form that was signed"
                }
                Ok(_) => "the stored event differs from the event the record commits to",
                Err(_) => "the stored event is not valid JSON",
            }
            .to_owned(),
        ),
        (RecordVersion::V2, StoredEvent::Salted { salt, event }) => match commit_json(event, salt) {
            Ok(commitment) if commitment.digest() == record.event => match crate::json::canonicalize(event) {
                Ok(canonical) if canonical == event => EventState::Matches(event),
                _ => EventState::Mismatch(
                    "the stored event was re-formatted: it is not in the canonical form that was signed".to_owned(),
                ),
            },
            Ok(_) => {
                EventState::Mismatch("the stored event and salt do not make the commitment the record holds".to_owned())
            }
            Err(e) => EventState::Mismatch(format!("the stored event cannot be committed to: {e}")),
        },
        (RecordVersion::V1, StoredEvent::Salted { .. }) => {
            EventState::Mismatch("a version-1 record's event is stored with a salt".to_owned())
        }
        (RecordVersion::V2, StoredEvent::Plain(_)) => {
            EventState::Mismatch("a version-2 record's event is stored without its salt".to_owned())
        }
    }
}

/// A record's event as a package holds it: the bytes whose SHA-256 is the
/// record's event digest (the event's canonical JSON for a version-1 record, the
/// commitment document, SPEC.md §26, for a version-2 record), and for a version-2
/// record the commitment with every member's disclosure.
#[derive(Clone, Debug, PartialEq)]
pub struct CommittedEvent {
    /// What the record's event digest is the SHA-256 of.
    pub bytes: Vec<u8>,
    /// The commitment and its disclosures, for a version-2 record.
    pub commitment: Option<Commitment>,
}

impl CommittedEvent {
    /// The disclosures of the members named (all of them for `None`), in the
    /// event's canonical member order; none for a version-1 record.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a name the event has no member of, or
    /// names given for a version-1 record, whose event is shown whole.
    pub fn disclosures(&self, names: Option<&[String]>) -> Result<Vec<String>> {
        let Some(commitment) = &self.commitment else {
            return match names {
                None => Ok(Vec::new()),
                Some(_) => Err(Error::new(
                    ErrorCode::InvalidArgument,
                    "the record is of version 1: its event is not committed member by member, so it is shown whole",
                )),
            };
        };
        if let Some(names) = names
            && let Some(missing) = names.iter().find(|name| commitment.disclosure(name).is_none())
        {
            return Err(Error::new(ErrorCode::InvalidArgument, format!("the event has no member {missing:?}")));
        }
        let chosen = commitment
            .disclosures
            .iter()
            .filter(|d| names.is_none_or(|names| d.name().is_some_and(|name| names.iter().any(|n| n == name))));
        Ok(chosen.map(|d| d.encoded().to_owned()).collect())
    }
}

/// The record's event as a package holds it (see [`CommittedEvent`]).
///
/// # Errors
/// [`ErrorCode::RecordErased`] for an erased event, [`ErrorCode::EventMissing`]
/// for one not kept, [`ErrorCode::EventMismatch`] for one that is not the event
/// the record commits to.
pub fn event_as_committed(record: &Record, stored: &[u8]) -> Result<CommittedEvent> {
    match event_with_salt(record, stored)? {
        (event, Some(salt)) => {
            let commitment = commit_json(&event, &salt)?;
            Ok(CommittedEvent { bytes: commitment.document.clone(), commitment: Some(commitment) })
        }
        (event, None) => Ok(CommittedEvent { bytes: event, commitment: None }),
    }
}

/// The event of `record` as `stored` (its canonical JSON), with the salt it is
/// committed to under for a version-2 record: what checks it against the record's
/// receipt (SPEC.md §12).
///
/// # Errors
/// As [`event_as_committed`].
pub fn event_with_salt(record: &Record, stored: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    match event_state(record, stored) {
        EventState::Matches(event) => match StoredEvent::read(stored)? {
            Some(StoredEvent::Salted { salt, .. }) => Ok((event.to_vec(), Some(salt.to_vec()))),
            _ => Ok((event.to_vec(), None)),
        },
        EventState::Erased => {
            Err(Error::new(ErrorCode::RecordErased, format!("the event of record {} was erased", record.seq)))
        }
        EventState::Missing => {
            Err(Error::new(ErrorCode::EventMissing, format!("the event of record {} is not kept", record.seq)))
        }
        EventState::Mismatch(why) => Err(Error::new(ErrorCode::EventMismatch, format!("record {}: {why}", record.seq))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ChainState;
    use crate::time::Timestamp;

    fn record(version: RecordVersion, event: Digest) -> Record {
        let time = Timestamp::from_unix(1_800_000_000, 0).unwrap();
        ChainState::new("test-log").unwrap().next_record_of(version, "kid", event, time, None).unwrap()
    }

    #[test]
    fn each_form_reads_back_and_checks_against_its_record() {
        let event = br#"{"amount":10,"name":"Ada"}"#;
        let salt = [7u8; 16];
        let v1 = record(RecordVersion::V1, Digest::sha256(event));
        assert_eq!(event_state(&v1, event), EventState::Matches(event));
        let salted = StoredEvent::salted(&salt, event).unwrap();
        let v2 = record(RecordVersion::V2, commit_json(event, &salt).unwrap().digest());
        assert_eq!(event_state(&v2, &salted), EventState::Matches(event));
        assert_eq!(stored_event_json(&salted), event);
        assert_eq!(event_state(&v2, &StoredEvent::erased(salted.len())), EventState::Erased);
        assert_eq!(event_state(&v2, b""), EventState::Missing);
        assert!(stored_event_json(&StoredEvent::erased(9)).is_empty());
        // Each form under the other version, and every single-byte change, is refused.
        assert!(matches!(event_state(&v1, &salted), EventState::Mismatch(_)));
        assert!(matches!(event_state(&v2, event), EventState::Mismatch(_)));
        for at in 0..salted.len() {
            let mut changed = salted.clone();
            changed[at] ^= 0x01;
            assert!(matches!(event_state(&v2, &changed), EventState::Mismatch(_)), "byte {at}");
        }
        let mut not_zero = StoredEvent::erased(8);
        not_zero[5] = 1;
        assert!(matches!(event_state(&v2, &not_zero), EventState::Mismatch(_)));
        assert!(StoredEvent::salted(&[0; 15], event).is_err());
    }

    #[test]
    fn a_reformatted_event_under_the_same_salt_is_refused() {
        let salt = [9u8; 32];
        let event = br#"{"a":1}"#;
        let v2 = record(RecordVersion::V2, commit_json(event, &salt).unwrap().digest());
        let spaced = StoredEvent::salted(&salt, br#"{ "a": 1 }"#).unwrap();
        assert!(matches!(event_state(&v2, &spaced), EventState::Mismatch(_)));
    }
}
