//! Erasure records: a log's own signed statement that it deleted the event of an
//! earlier record (SPEC.md §27).
//!
//! Only the event of a version-2 record can be erased: its record commits to a
//! salted commitment, so the record, its receipt and every proof stay valid once
//! the event and salt are gone. The erasure is appended as an event, chained and
//! signed like every record, so a verifier can tell an erased event from one that
//! was removed without a trace.

use crate::digest::Digest;
use crate::error::{Error, ErrorCode, Result};
use crate::json::{self, Number, Value};
use crate::message::Link;

/// The member that makes an event an erasure record.
pub const ERASURE_MEMBER: &str = "evidentia_erasure";

/// The erasure-record format this version writes and reads.
pub const ERASURE_FORMAT: u64 = 1;

/// Longest reason, in bytes.
pub const MAX_ERASURE_REASON: usize = 1024;

/// The statement that the event of one earlier record was erased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    /// The erased record's sequence number.
    pub seq: u64,
    /// The erased record's digest (SHA-256 of its canonical bytes), so the erasure
    /// names exactly one record.
    pub record: Digest,
    /// Why, in words (a policy or a request reference, never the erased data).
    pub reason: String,
}

fn malformed(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::ErasureRecordMalformed, message)
}

impl Erasure {
    /// The erasure of record `seq` of digest `record`.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a reason that is empty, longer than 1024
    /// bytes or holds a control character.
    pub fn new(seq: u64, record: Digest, reason: &str) -> Result<Erasure> {
        check_reason(reason).map_err(|why| Error::new(ErrorCode::InvalidArgument, why))?;
        Ok(Erasure { seq, record, reason: reason.to_owned() })
    }

    /// The event that records the erasure: canonical JSON (SPEC.md §27.1).
    pub fn to_event(&self) -> Vec<u8> {
        let seq = Number::from_i64(self.seq.min(json::MAX_SAFE_INTEGER as u64) as i64).unwrap_or(Number::from(0));
        let members = Value::object([
            ("format", Value::from(ERASURE_FORMAT as u32)),
            ("reason", Value::from(self.reason.as_str())),
            ("record", Value::string(self.record.to_string())),
            ("seq", Value::Number(seq)),
        ]);
        json::canonicalize_value(&Value::object([(ERASURE_MEMBER, members)])).unwrap_or_default()
    }

    /// The erased record, as a link a verifier checks against the log.
    pub fn link(&self) -> Link {
        Link { seq: self.seq, record: self.record }
    }

    /// Reads an erasure record from an event; `None` when the event is not one.
    ///
    /// # Errors
    /// [`ErrorCode::ErasureRecordMalformed`] for an event with the erasure member
    /// that does not have the form SPEC.md §27.1 requires.
    pub fn from_event(event: &Value) -> Result<Option<Erasure>> {
        let Some(erasure) = event.get(ERASURE_MEMBER) else { return Ok(None) };
        if event.as_object().is_some_and(|members| members.len() != 1) {
            return Err(malformed(format!("an erasure event has no member besides {ERASURE_MEMBER:?}")));
        }
        let members = erasure.as_object().ok_or_else(|| malformed("an erasure record is a JSON object"))?;
        if let Some((name, _)) =
            members.iter().find(|(name, _)| !["format", "reason", "record", "seq"].contains(&name.as_str()))
        {
            return Err(malformed(format!("an erasure record has an unknown member {name:?}")));
        }
        if erasure.get("format").and_then(Value::as_number).and_then(Number::as_safe_u64) != Some(ERASURE_FORMAT) {
            return Err(malformed(format!("an erasure record's format is missing or not {ERASURE_FORMAT}")));
        }
        let seq = erasure
            .get("seq")
            .and_then(Value::as_number)
            .and_then(Number::as_safe_u64)
            .ok_or_else(|| malformed("an erasure record's 'seq' is missing or not an integer from 0 to 2^53-1"))?;
        let record = erasure
            .get("record")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("an erasure record's 'record' is missing or not a string"))?;
        let record = Digest::parse(record).map_err(|e| malformed(format!("an erasure record's 'record': {e}")))?;
        let reason = erasure
            .get("reason")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("an erasure record's 'reason' is missing or not a string"))?;
        check_reason(reason).map_err(malformed)?;
        Ok(Some(Erasure { seq, record, reason: reason.to_owned() }))
    }
}

fn check_reason(reason: &str) -> std::result::Result<(), String> {
    if reason.is_empty() || reason.len() > MAX_ERASURE_REASON || reason.chars().any(char::is_control) {
        return Err(format!(
            "an erasure's reason is 1 to {MAX_ERASURE_REASON} bytes of text without control characters"
        ));
    }
    Ok(())
}

/// Reads an event's bytes as an erasure record, if it is one (a quick scan first:
/// most events are not; a member name spelled with escapes is read too).
pub fn erasure_of(event: &[u8]) -> Option<Result<Erasure>> {
    let needle = ERASURE_MEMBER.as_bytes();
    if !event.windows(needle.len()).any(|window| window == needle) && !event.windows(2).any(|w| w == b"\\u") {
        return None;
    }
    let value = match json::parse(event) {
        Ok(value) => value,
        Err(e) => return Some(Err(malformed(format!("the event cannot be read: {e}")))),
    };
    Erasure::from_event(&value).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_erasure_reads_back_and_malformed_ones_are_refused() {
        let erasure = Erasure::new(7, Digest::sha256(b"record"), "GDPR Art. 17 request 2026-118").unwrap();
        let event = erasure.to_event();
        assert_eq!(
            String::from_utf8(event.clone()).unwrap(),
            format!(
                r#"{{"evidentia_erasure":{{"format":1,"reason":"GDPR Art. 17 request 2026-118","record":"{}","seq":7}}}}"#,
                Digest::sha256(b"record")
            )
        );
        assert_eq!(erasure_of(&event).unwrap().unwrap(), erasure);
        assert!(erasure_of(br#"{"amount":1}"#).is_none());
        for bad in [
            r#"{"evidentia_erasure":{"format":1,"reason":"r","record":"x","seq":1}}"#,
            r#"{"evidentia_erasure":{"format":2,"reason":"r","record":"sha256:00","seq":1}}"#,
            r#"{"evidentia_erasure":{"format":1,"reason":"","record":"sha256:00","seq":1}}"#,
            r#"{"evidentia_erasure":{"format":1,"reason":"r","seq":1}}"#,
            r#"{"evidentia_erasure":[],"other":1}"#,
            r#"{"evidentia_erasure":{"format":1,"reason":"r","record":"sha256:00","seq":-1,"x":1}}"#,
        ] {
            assert_eq!(
                erasure_of(bad.as_bytes()).unwrap().unwrap_err().code(),
                ErrorCode::ErasureRecordMalformed,
                "{bad}"
            );
        }
        assert!(Erasure::new(1, Digest::sha256(b""), "line\nbreak").is_err());
        assert!(Erasure::new(1, Digest::sha256(b""), &"r".repeat(1025)).is_err());
    }
}
