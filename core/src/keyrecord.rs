//! Key records: a log's own signed statements of its key history (SPEC.md §23).
//!
//! A rotation or a revocation is appended to the log as an event, so it is
//! chained, signed and proved like every record: the outgoing key signs the record
//! that names the incoming key, and a revocation is signed by the key in force.
//! Each key record carries the whole key set as it stands after the change, so a
//! verifier can tell whether the key set it was handed (`keys.jwks`) is the one the
//! log last signed, and whether each change follows from the one before.

use crate::error::{Error, ErrorCode, Result};
use crate::json::{self, Number, Value};
use crate::jwks::{KeyEntry, KeySet, Validity};
use crate::keys::PublicKey;
use crate::time::Timestamp;

/// The member that makes an event a key record.
pub const KEY_RECORD_MEMBER: &str = "evidentia_key_record";

/// The key-record format this version writes and reads.
pub const KEY_RECORD_FORMAT: u64 = 1;

/// Longest revocation reason, in bytes.
const MAX_REASON: usize = 1024;

/// A change to a log's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChange {
    /// `from` stops being valid at `at`, and `to` is valid from `at`.
    Rotate {
        /// The kid of the outgoing key.
        from: String,
        /// The kid of the incoming key.
        to: String,
        /// When the incoming key takes over (a NumericDate-exact instant).
        at: Timestamp,
    },
    /// Evidence claiming `at` or later, signed by `kid`, is refused.
    Revoke {
        /// The kid of the revoked key.
        kid: String,
        /// The revocation time (a NumericDate-exact instant).
        at: Timestamp,
        /// Why, if given.
        reason: Option<String>,
    },
}

/// A key change and the key set after it.
#[derive(Clone, Debug)]
pub struct KeyRecord {
    /// The change.
    pub change: KeyChange,
    /// The log's whole key set after the change.
    pub keys: KeySet,
}

fn malformed(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::KeyRecordMalformed, message)
}

impl KeyRecord {
    /// The record of rotating from `from` (a key of `before` in force, with no end)
    /// to the new key `to` at `at`.
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotCurrent`] when `from` is not a key of `before` without an
    /// expiry or revocation; [`ErrorCode::KeySetMalformed`] when `to` is in `before`
    /// already; [`ErrorCode::TimeInvalid`] for an `at` beyond the year 9999.
    pub fn rotate(before: &KeySet, from: &PublicKey, to: &PublicKey, at: Timestamp) -> Result<KeyRecord> {
        let change =
            KeyChange::Rotate { from: from.kid().to_owned(), to: to.kid().to_owned(), at: at.as_numeric_date()? };
        let keys = apply(before, &change, Some(Incoming::Key(to)))?;
        Ok(KeyRecord { change, keys })
    }

    /// The record of revoking the key `kid` of `before` at `at`.
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotFound`] when `before` has no such key;
    /// [`ErrorCode::InvalidArgument`] when it is revoked already or `reason` is
    /// empty or longer than 1 KiB; [`ErrorCode::TimeInvalid`].
    pub fn revoke(before: &KeySet, kid: &str, at: Timestamp, reason: Option<&str>) -> Result<KeyRecord> {
        if let Some(reason) = reason
            && (reason.is_empty() || reason.len() > MAX_REASON)
        {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("a revocation reason is 1 to {MAX_REASON} bytes"),
            ));
        }
        // Revoked from `at` means every record claiming `at` or later is refused, so
        // the bound written is at or before it, never the nearest double after it.
        let at = at.as_numeric_date_at_or_before()?;
        let change = KeyChange::Revoke { kid: kid.to_owned(), at, reason: reason.map(str::to_owned) };
        let keys = apply(before, &change, None)?;
        Ok(KeyRecord { change, keys })
    }

    /// The event that records the change: canonical JSON (SPEC.md §23.1).
    pub fn to_event(&self) -> Vec<u8> {
        let mut members = vec![("format", Value::from(KEY_RECORD_FORMAT as u32))];
        match &self.change {
            KeyChange::Rotate { from, to, at } => {
                members.push(("change", Value::from("rotate")));
                members.push(("kid", Value::from(from.as_str())));
                members.push(("next", Value::from(to.as_str())));
                members.push(("at", Value::string(at.to_string())));
            }
            KeyChange::Revoke { kid, at, reason } => {
                members.push(("change", Value::from("revoke")));
                members.push(("kid", Value::from(kid.as_str())));
                members.push(("at", Value::string(at.to_string())));
                if let Some(reason) = reason {
                    members.push(("reason", Value::from(reason.as_str())));
                }
            }
        }
        // The key set's own canonical text, read back: it is valid JSON by construction.
        let keys = json::parse(self.keys.to_json().as_bytes()).unwrap_or(Value::Null);
        members.push(("keys", keys));
        let event = Value::object([(KEY_RECORD_MEMBER, Value::object(members))]);
        json::canonicalize_value(&event).unwrap_or_default()
    }

    /// Reads a key record from an event; `None` when the event is not one.
    ///
    /// # Errors
    /// [`ErrorCode::KeyRecordMalformed`] for an event with the key-record member
    /// that does not have the form SPEC.md §23.1 requires, including a change the
    /// key set it carries does not show.
    pub fn from_event(event: &Value) -> Result<Option<KeyRecord>> {
        let Some(record) = event.get(KEY_RECORD_MEMBER) else { return Ok(None) };
        if event.as_object().is_some_and(|members| members.len() != 1) {
            return Err(malformed(format!("a key-record event has no member besides {KEY_RECORD_MEMBER:?}")));
        }
        let members = record.as_object().ok_or_else(|| malformed("a key record is a JSON object"))?;
        let change = record.get("change").and_then(Value::as_str);
        let allowed: &[&str] = match change {
            Some("rotate") => &["format", "change", "kid", "next", "at", "keys"],
            Some("revoke") => &["format", "change", "kid", "at", "reason", "keys"],
            _ => return Err(malformed("a key record's 'change' is \"rotate\" or \"revoke\"")),
        };
        if let Some((name, _)) = members.iter().find(|(name, _)| !allowed.contains(&name.as_str())) {
            return Err(malformed(format!("a key record has an unknown member {name:?}")));
        }
        match record.get("format").and_then(Value::as_number).and_then(Number::as_safe_u64) {
            Some(KEY_RECORD_FORMAT) => {}
            Some(_) => return Err(malformed("the key-record format is not supported")),
            None => return Err(malformed("key-record member 'format' is missing or not an integer")),
        }
        let string = |name: &str| -> Result<String> {
            record
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| malformed(format!("key-record member '{name}' is missing or not a string")))
        };
        let at_text = string("at")?;
        let at = Timestamp::parse(&at_text).map_err(|e| malformed(format!("the key record's 'at': {e}")))?;
        if at.to_string() != at_text {
            return Err(malformed("the key record's 'at' is not written in its shortest form (SPEC.md §6.1)"));
        }
        let change = match change {
            Some("rotate") => KeyChange::Rotate { from: string("kid")?, to: string("next")?, at },
            _ => KeyChange::Revoke {
                kid: string("kid")?,
                at,
                reason: match record.get("reason") {
                    None => None,
                    Some(Value::String(reason)) if !reason.is_empty() && reason.len() <= MAX_REASON => {
                        Some(reason.clone())
                    }
                    Some(_) => {
                        return Err(malformed(format!(
                            "key-record member 'reason' is not a string of 1 to {MAX_REASON} bytes"
                        )));
                    }
                },
            },
        };
        let keys_value = record.get("keys").ok_or_else(|| malformed("key-record member 'keys' is missing"))?;
        if keys_value.get("keys").and_then(Value::as_array).is_none() {
            return Err(malformed("key-record member 'keys' is not a JWKS"));
        }
        let text = json::canonicalize_value(keys_value)?;
        let keys = KeySet::from_json(&String::from_utf8_lossy(&text))
            .map_err(|e| malformed(format!("the key record's key set cannot be read: {e}")))?;
        if let Some(entry) = keys.entries().iter().find(|e| e.jwk().get("d").is_some()) {
            return Err(malformed(format!("the key record's key {} holds private key material", entry.thumbprint())));
        }
        let record = KeyRecord { change, keys };
        record.check_shown()?;
        Ok(Some(record))
    }

    /// Checks that the key set shows the change: what a first key record (which
    /// has no earlier one to follow) is held to.
    fn check_shown(&self) -> Result<()> {
        let validity = |kid: &str| -> Result<&Validity> {
            self.keys
                .select(Some(kid))
                .map(|(_, validity)| validity)
                .map_err(|e| malformed(format!("the key record's key set: {e}")))
        };
        match &self.change {
            KeyChange::Rotate { from, to, at } => {
                if validity(from)?.expires != Some(*at) || validity(to)?.not_before != Some(*at) {
                    return Err(malformed(
                        "the key record's key set does not show the rotation: the outgoing key must expire, and the incoming key start, at 'at'",
                    ));
                }
            }
            KeyChange::Revoke { kid, at, reason } => {
                let validity = validity(kid)?;
                if validity.revoked_at != Some(*at) || validity.revocation_reason != *reason {
                    return Err(malformed(
                        "the key record's key set does not show the revocation at 'at' with its reason",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether this record's key set is exactly `before` with the change applied.
    pub fn follows(&self, before: &KeySet) -> bool {
        // The incoming key is added as this record's key set holds its entry.
        let incoming = match &self.change {
            KeyChange::Rotate { to, .. } => {
                match self.keys.entries().iter().find(|e| e.thumbprint() == to || e.kid() == Some(to.as_str())) {
                    Some(entry) => Some(Incoming::Entry(entry)),
                    None => return false,
                }
            }
            KeyChange::Revoke { .. } => None,
        };
        apply(before, &self.change, incoming).is_ok_and(|after| after.to_json() == self.keys.to_json())
    }

    /// Checks that the key that signed the record carrying this change (`signer`, the
    /// record's kid, at the record's `time`) may make it (SPEC.md §23.2 step 2): a
    /// rotation is signed by its outgoing key, a revocation by the log's current key
    /// (the one key with no end) and not the revoked key; and after the change one
    /// key has no end.
    ///
    /// # Errors
    /// Why not, in words.
    pub fn check_signer(&self, signer: &str, time: Timestamp) -> std::result::Result<(), String> {
        let thumbprint = |kid: &str| self.keys.select(Some(kid)).map(|(key, _)| key.kid().to_owned()).ok();
        let signer_thumbprint = thumbprint(signer);
        let changed = thumbprint(self.kid());
        let ends_by = match &self.change {
            KeyChange::Rotate { at, .. } => *at,
            KeyChange::Revoke { .. } => time,
        };
        let current = match key_in_force(&self.keys, Some(ends_by)) {
            Ok(current) => current.map(|entry| entry.thumbprint().to_owned()),
            Err(why) => return Err(format!("after the change, {why}")),
        };
        let in_force = self.keys.select(Some(signer)).is_ok_and(|(_, v)| v.check(time).is_ok());
        let why = match &self.change {
            KeyChange::Rotate { .. } if signer_thumbprint.is_none() || signer_thumbprint != changed || !in_force => {
                format!(
                    "a rotation must be signed by the outgoing key {}, valid at the record's time; this one is signed by {signer}",
                    self.kid()
                )
            }
            KeyChange::Rotate { to, .. } if thumbprint(to).is_none() || thumbprint(to) != current => {
                format!("after a rotation the incoming key {to} must be the one key in force with no end")
            }
            KeyChange::Revoke { kid, .. } if self.keys.select(Some(kid)).is_ok_and(|(_, v)| v.expires.is_none()) => {
                format!("only a retired key (one with an expiry) is revoked; {kid} has none")
            }
            KeyChange::Revoke { .. }
                if signer_thumbprint.is_none()
                    || signer_thumbprint == changed
                    || signer_thumbprint != current
                    || !in_force =>
            {
                format!(
                    "a revocation must be signed by the log's current key (the one key in force with no end), not by the revoked key {}; this one is signed by {signer}",
                    self.kid()
                )
            }
            _ => return Ok(()),
        };
        Err(why)
    }

    /// The kid the change is about: the outgoing key of a rotation, the revoked key.
    pub fn kid(&self) -> &str {
        match &self.change {
            KeyChange::Rotate { from, .. } => from,
            KeyChange::Revoke { kid, .. } => kid,
        }
    }
}

/// The one key of `keys` a log signs with (SPEC.md §23.2 step 2): the only ES256 key
/// with neither `exp` nor `revoked`, when every other ES256 key's validity ends (its
/// `exp` or `revoked_at`) at or before `ends_by` (by default, when that key took
/// over: its `nbf`). Keys that cannot sign ES256 are not counted.
///
/// # Errors
/// Why `keys` cannot be a log's key history, in words.
pub fn key_in_force(keys: &KeySet, ends_by: Option<Timestamp>) -> std::result::Result<Option<&KeyEntry>, String> {
    let usable = keys.entries().iter().filter(|e| e.public_key().is_some());
    let (open, ended): (Vec<&KeyEntry>, Vec<&KeyEntry>) =
        usable.partition(|e| e.validity().expires.is_none() && e.validity().revoked_at.is_none());
    if open.len() > 1 {
        return Err(format!("{} keys are in force with no end, and a log has one current key", open.len()));
    }
    let bound = ends_by.or_else(|| open.first().and_then(|e| e.validity().not_before));
    for entry in ended {
        let end = [entry.validity().expires, entry.validity().revoked_at].into_iter().flatten().min();
        if let (Some(end), Some(bound)) = (end, bound)
            && end > bound
        {
            return Err(format!(
                "the key {} stays valid until {end}, after the current key took over at {bound}",
                entry.thumbprint()
            ));
        }
    }
    Ok(open.first().copied())
}

/// A rotation's new key: a key to add with `nbf` = `at`, or an entry to add as it is.
enum Incoming<'a> {
    Key(&'a PublicKey),
    Entry(&'a KeyEntry),
}

/// `before` with the change applied; `incoming` is the new key of a rotation.
fn apply(before: &KeySet, change: &KeyChange, incoming: Option<Incoming<'_>>) -> Result<KeySet> {
    let mut keys = before.clone();
    let in_force = |kid: &str| -> Result<Validity> {
        let (_, validity) = before.select(Some(kid))?;
        Ok(validity.clone())
    };
    match change {
        KeyChange::Rotate { from, at, .. } => {
            let validity = in_force(from).map_err(|_| not_current(from))?;
            if validity.expires.is_some() || validity.revoked_at.is_some() {
                return Err(not_current(from));
            }
            let incoming = incoming.ok_or_else(|| malformed("a rotation names its incoming key"))?;
            keys.set_validity(from, Validity { expires: Some(*at), ..validity })?;
            match incoming {
                Incoming::Key(key) => keys.add(key, Validity { not_before: Some(*at), ..Validity::default() })?,
                Incoming::Entry(entry) => keys.push(entry.clone())?,
            }
        }
        KeyChange::Revoke { kid, at, reason } => {
            let validity = in_force(kid)?;
            if let Some(revoked_at) = validity.revoked_at {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!("the key {kid} was revoked already, at {revoked_at}"),
                ));
            }
            keys.set_validity(kid, Validity { revoked_at: Some(*at), revocation_reason: reason.clone(), ..validity })?;
        }
    }
    Ok(keys)
}

fn not_current(kid: &str) -> Error {
    Error::new(ErrorCode::KeyNotCurrent, format!("the key {kid} is not the log's key in force, so it cannot hand over"))
}

/// Whether two key sets hold the same history (SPEC.md §23.2, end of the log): the
/// same keys by thumbprint, each with the same validity; order and other members
/// aside.
pub(crate) fn same_history(a: &KeySet, b: &KeySet) -> bool {
    let history = |set: &KeySet| {
        let mut keys: Vec<(String, Validity)> =
            set.entries().iter().map(|e| (e.thumbprint().to_owned(), e.validity().clone())).collect();
        keys.sort_by(|x, y| x.0.cmp(&y.0));
        keys
    };
    history(a) == history(b)
}

/// Reads an event's bytes as a key record, if it is one: an object whose member
/// `evidentia_key_record` may be spelled with escapes, so bytes holding `\u` are
/// read too (a quick scan first: most events are neither).
pub fn key_record_of(event: &[u8]) -> Option<Result<KeyRecord>> {
    let needle = KEY_RECORD_MEMBER.as_bytes();
    if !event.windows(needle.len()).any(|window| window == needle) && !event.windows(2).any(|w| w == b"\\u") {
        return None;
    }
    let value = match json::parse(event) {
        Ok(value) => value,
        Err(e) => return Some(Err(malformed(format!("the event cannot be read: {e}")))),
    };
    KeyRecord::from_event(&value).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32]).unwrap()
    }

    fn t(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn a_revocation_from_a_records_exact_time_refuses_that_record() {
        let (a, b) = (key(1), key(2));
        let rotated = KeyRecord::rotate(
            &KeySet::single(a.public_key()),
            a.public_key(),
            b.public_key(),
            t("2026-01-02T00:00:00Z"),
        )
        .unwrap();
        // Nanosecond times between doubles (0.24 µs apart today): the nearest double
        // is after about half of them.
        let mut after = 0;
        for nanos in 0..64u32 {
            let at = Timestamp::from_unix(1_767_225_600, 123_456_000 + nanos).unwrap();
            let revoked = KeyRecord::revoke(&rotated.keys, a.public_key().kid(), at, None).unwrap();
            let (_, validity) = revoked.keys.select(Some(a.public_key().kid())).unwrap();
            assert!(validity.check(at).is_err(), "a record at {at} is revoked");
            after += usize::from(Timestamp::from_numeric_date(at.to_numeric_date()).unwrap() > at);
        }
        assert!(after > 0, "no time fell before its nearest double");
    }

    #[test]
    fn a_rotation_and_a_revocation_round_trip_and_follow_each_other() {
        let (a, b) = (key(1), key(2));
        let start = KeySet::single(a.public_key());
        let rotated = KeyRecord::rotate(&start, a.public_key(), b.public_key(), t("2026-01-02T00:00:00Z")).unwrap();
        let event = rotated.to_event();
        let read = key_record_of(&event).unwrap().unwrap();
        assert_eq!(read.change, rotated.change);
        assert!(read.follows(&start));
        assert_eq!(read.keys.to_json(), rotated.keys.to_json());

        let revoked =
            KeyRecord::revoke(&read.keys, a.public_key().kid(), t("2026-01-01T12:00:00Z"), Some("keyCompromise"))
                .unwrap();
        let again = key_record_of(&revoked.to_event()).unwrap().unwrap();
        assert!(again.follows(&read.keys));
        assert!(!again.follows(&start), "a revocation applied to another key set does not follow from it");
        assert_eq!(
            again.keys.select(Some(a.public_key().kid())).unwrap().1.revoked_at,
            Some(t("2026-01-01T12:00:00Z"))
        );
    }

    #[test]
    fn changes_that_cannot_be_made_are_refused() {
        let (a, b) = (key(1), key(2));
        let start = KeySet::single(a.public_key());
        let at = t("2026-01-02T00:00:00Z");
        let rotated = KeyRecord::rotate(&start, a.public_key(), b.public_key(), at).unwrap();
        assert_eq!(
            KeyRecord::rotate(&rotated.keys, a.public_key(), key(3).public_key(), at).unwrap_err().code(),
            ErrorCode::KeyNotCurrent
        );
        assert_eq!(
            KeyRecord::rotate(&start, a.public_key(), a.public_key(), at).unwrap_err().code(),
            ErrorCode::KeySetMalformed
        );
        assert_eq!(KeyRecord::revoke(&start, "nope", at, None).unwrap_err().code(), ErrorCode::KeyNotFound);
        let revoked = KeyRecord::revoke(&start, a.public_key().kid(), at, None).unwrap();
        assert_eq!(
            KeyRecord::revoke(&revoked.keys, a.public_key().kid(), at, None).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            KeyRecord::revoke(&start, a.public_key().kid(), at, Some("")).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn malformed_key_records_are_refused() {
        let (a, b) = (key(1), key(2));
        let start = KeySet::single(a.public_key());
        let event = String::from_utf8(
            KeyRecord::rotate(&start, a.public_key(), b.public_key(), t("2026-01-02T00:00:00Z")).unwrap().to_event(),
        )
        .unwrap();
        let private = key(9).to_jwk();
        let private = &private[1..private.len() - 1];
        for bad in [
            event.replace("\"format\":1", "\"format\":2"),
            event.replace("\"change\":\"rotate\"", "\"change\":\"add\""),
            event.replace("\"next\"", "\"later\""),
            event.replace("2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"),
            event.replace("2026-01-02T00:00:00Z", "yesterday"),
            event.replace("{\"evidentia_key_record\":{", "{\"x\":1,\"evidentia_key_record\":{"),
            event.replace("\"keys\":{\"keys\":[", &("\"keys\":{\"keys\":[{".to_owned() + private + "},")),
            event.replace("\"keys\":{\"keys\":", "\"keys\":{\"k\":"),
            event.replace("\"exp\":", "\"nbf\":"),
            event.replace("2026-01-02T00:00:00Z", "2026-01-02T00:00:00.0Z"),
        ] {
            assert_ne!(bad, event);
            let result = key_record_of(bad.as_bytes()).unwrap();
            assert_eq!(result.unwrap_err().code(), ErrorCode::KeyRecordMalformed, "{bad}");
        }
        let revoked = KeyRecord::revoke(&start, a.public_key().kid(), t("2026-01-02T00:00:00Z"), Some("x")).unwrap();
        let revoked = String::from_utf8(revoked.to_event()).unwrap();
        for reason in [String::new(), "x".repeat(1025)] {
            let bad = revoked.replace("\"reason\":\"x\"", &format!("\"reason\":\"{reason}\""));
            assert_eq!(key_record_of(bad.as_bytes()).unwrap().unwrap_err().code(), ErrorCode::KeyRecordMalformed);
        }
        assert!(key_record_of(br#"{"evidentia_key_records":1}"#).is_none());
        assert!(key_record_of(br#"{"a":1}"#).is_none());
    }
}
