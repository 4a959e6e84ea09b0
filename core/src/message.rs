//! Signed messages (SPEC.md §21): a JWS that another party signed, or that the
//! log's operator sent, recorded as an event together with the key snapshot it
//! was checked against, where that key came from, and the result of the check.
//!
//! The event is ordinary canonical JSON, chained and receipted like any other; what
//! makes it a signed message is its one member [`MESSAGE_MEMBER`]. Every append
//! path passes events through [`prepare_event`], which refuses a signed message
//! whose recorded result is not what checking it gives, so a log never holds a
//! claimed "valid" that is not.

use crate::digest::Digest;
use crate::encoding::{b64url, b64url_decode};
use crate::error::{Error, ErrorCode, Result};
use crate::json::{self, Number, Value};
use crate::lookup::{MESSAGE_MEMBER, jws_payload};
use crate::partner::{PartnerKeys, verify_partner_jws};
use crate::time::Timestamp;

/// The signed-message format this library writes and reads.
pub const MESSAGE_FORMAT: u64 = 1;

/// The provenance members SPEC.md names; others may be added and are kept as given.
pub const PROVENANCE_FIELDS: &[&str] =
    &["jwks_url", "fetched_at", "tls_certificate_sha256", "key_thumbprint", "partner_id", "established_by"];

/// Longest JWS accepted, in bytes: far above any real authorization or response,
/// low enough that a hostile caller cannot make one event exhaust memory.
const MAX_JWS_LEN: usize = 4 * 1024 * 1024;

/// Whether the message came to the log's operator or went from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Received from the other party.
    Inbound,
    /// Sent to the other party.
    Outbound,
}

impl Direction {
    /// `"inbound"` or `"outbound"`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    /// Reads `"inbound"` or `"outbound"`.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for anything else.
    pub fn from_name(name: &str) -> Result<Direction> {
        match name {
            "inbound" => Ok(Direction::Inbound),
            "outbound" => Ok(Direction::Outbound),
            _ => Err(Error::new(ErrorCode::InvalidArgument, "a direction is \"inbound\" or \"outbound\"")),
        }
    }
}

/// A link to an earlier record of the same log: the request a response answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    /// The linked record's position.
    pub seq: u64,
    /// The linked record's digest (SHA-256 of its canonical bytes), so the link
    /// names exactly one record and cannot be re-pointed.
    pub record: Digest,
}

/// What checking the signature gave when the message was recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// When the signature was checked.
    pub verified_at: Timestamp,
    /// The JWS header's `alg`, when the header could be read.
    pub alg: Option<String>,
    /// The JWS header's `kid`, when it has one.
    pub kid: Option<String>,
    /// The RFC 7638 thumbprint of the key that verified the signature; for a
    /// failed check, of the key it was checked against, when one was selected.
    pub key_thumbprint: Option<String>,
    /// `None` when the signature verified; the stable code of the failure otherwise.
    pub failure: Option<ErrorCode>,
    /// The Evidentia version that checked it.
    pub evidentia_version: String,
}

impl Verification {
    /// Whether the signature verified.
    pub fn is_valid(&self) -> bool {
        self.failure.is_none()
    }

    /// As the event's `verification` member holds it (SPEC.md §21.1).
    pub fn to_value(&self) -> Value {
        let mut members = vec![
            ("evidentia_version", Value::from(self.evidentia_version.as_str())),
            ("result", Value::from(if self.is_valid() { "valid" } else { "invalid" })),
            ("verified_at", Value::from(self.verified_at.to_string())),
        ];
        if let Some(alg) = &self.alg {
            members.push(("alg", Value::from(alg.as_str())));
        }
        if let Some(kid) = &self.kid {
            members.push(("kid", Value::from(kid.as_str())));
        }
        if let Some(thumbprint) = &self.key_thumbprint {
            members.push(("key_thumbprint", Value::from(thumbprint.as_str())));
        }
        if let Some(code) = self.failure {
            members.push(("error", Value::from(code.name())));
        }
        Value::object(members)
    }

    /// In words: "valid: PS256 signature by key …" or "invalid: CODE (meaning)".
    pub fn describe(&self) -> String {
        match self.failure {
            None => format!(
                "valid: {} signature by key {}",
                self.alg.as_deref().unwrap_or("?"),
                self.key_thumbprint.as_deref().unwrap_or("?")
            ),
            Some(code) => format!("invalid: {} ({})", code.name(), code.explanation()),
        }
    }
}

/// A recorded message checked again: what was recorded, what checking it now
/// gives, and whether they agree (SPEC.md §21.5).
#[derive(Clone, Debug)]
pub struct Reverification {
    /// Whether the new check agrees with the recorded one.
    pub agrees: bool,
    /// The result recorded with the message.
    pub original: Verification,
    /// The result now.
    pub again: Verification,
}

impl Reverification {
    /// Whether the signature verifies now, as recorded.
    pub fn is_valid(&self) -> bool {
        self.agrees && self.again.is_valid()
    }

    /// `VALID`, `INVALID (as recorded)` or `INVALID (does not match the record)`.
    pub fn status(&self) -> &'static str {
        match (self.agrees, self.again.is_valid()) {
            (true, true) => "VALID",
            (true, false) => "INVALID (as recorded)",
            (false, _) => "INVALID (does not match the record)",
        }
    }

    /// As JSON: `agrees`, `original` and `reverified` (each a verification as
    /// the event holds it), `status` and `valid`.
    pub fn to_value(&self) -> Value {
        Value::object([
            ("agrees", Value::Bool(self.agrees)),
            ("original", self.original.to_value()),
            ("reverified", self.again.to_value()),
            ("status", Value::from(self.status())),
            ("valid", Value::Bool(self.is_valid())),
        ])
    }
}

/// A signed message as recorded.
#[derive(Clone, Debug)]
pub struct SignedMessage {
    /// Inbound or outbound.
    pub direction: Direction,
    /// The compact JWS exactly as it arrived.
    pub jws: String,
    /// The payload of a detached JWS, as its bytes.
    pub detached_payload: Option<Vec<u8>>,
    /// The key snapshot: the keys the signature was checked against.
    pub keys: PartnerKeys,
    /// Where the keys came from (SPEC.md §21.2): a JSON object.
    pub provenance: Value,
    /// The result of the check.
    pub verification: Verification,
    /// The record this message answers, if any.
    pub link: Option<Link>,
}

/// What the caller gives to record a signed message.
#[derive(Clone, Debug)]
pub struct NewMessage<'a> {
    /// The compact JWS exactly as it arrived.
    pub jws: &'a str,
    /// The payload of a detached JWS.
    pub detached_payload: Option<&'a [u8]>,
    /// The keys to check it against: a JWKS, or one JWK.
    pub keys: &'a PartnerKeys,
    /// Where the keys came from: a JSON object (SPEC.md §21.2).
    pub provenance: &'a Value,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The record this message answers.
    pub link: Option<Link>,
    /// Record the message even when its signature does not verify, marked as failed.
    pub record_failure: bool,
    /// The time of the check.
    pub at: Timestamp,
}

fn malformed(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::MessageMalformed, message)
}

/// Checks `jws` the way a signed message is checked: its signature against `keys`,
/// with the header's `alg` and `kid` read even when that fails.
fn check(jws: &str, detached_payload: Option<&[u8]>, keys: &PartnerKeys, at: Timestamp) -> Verification {
    let header = jws_header(jws).ok();
    let header_member =
        |name: &str| header.as_ref().and_then(|h| h.get(name)).and_then(Value::as_str).map(str::to_owned);
    let (failure, key_thumbprint) = match verify_partner_jws(jws, detached_payload, keys) {
        Ok(verified) => (None, Some(verified.key_thumbprint)),
        Err(e) => (Some(e.code()), None),
    };
    Verification {
        verified_at: at,
        alg: header_member("alg"),
        kid: header_member("kid"),
        key_thumbprint,
        failure,
        evidentia_version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// Whether a compact JWS leaves its payload out (an empty middle part).
fn is_detached(jws: &str) -> bool {
    jws.split('.').nth(1).is_some_and(str::is_empty)
}

/// The protected header of a compact JWS, as JSON.
fn jws_header(jws: &str) -> Result<Value> {
    let header =
        jws.split('.').next().and_then(b64url_decode).ok_or_else(|| malformed("the JWS header is not base64url"))?;
    json::parse(&header)
}

impl SignedMessage {
    /// Checks a signature and makes the message to record.
    ///
    /// # Errors
    /// The code of the failed check (chiefly [`ErrorCode::SignatureInvalid`], a
    /// `Jws*` or `Key*` code) unless `record_failure` is set;
    /// [`ErrorCode::InvalidArgument`] or [`ErrorCode::MessageMalformed`] when the
    /// provenance is not an object or a documented member has the wrong form.
    pub fn verify_new(new: &NewMessage<'_>) -> Result<SignedMessage> {
        if new.jws.len() > MAX_JWS_LEN {
            return Err(Error::new(ErrorCode::InvalidArgument, "the JWS is longer than 4 MiB"));
        }
        check_provenance(new.provenance, new.keys)
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, e.message().to_owned()))?;
        if new.detached_payload.is_some() && !is_detached(new.jws) {
            return Err(Error::new(
                ErrorCode::JwsPayloadMismatch,
                "a payload was given for a JWS that carries its own: only a detached JWS takes one",
            ));
        }
        let verification = check(new.jws, new.detached_payload, new.keys, new.at);
        if let Some(code) = verification.failure
            && !new.record_failure
        {
            // The check's own error says precisely what is wrong.
            return Err(verify_partner_jws(new.jws, new.detached_payload, new.keys)
                .err()
                .unwrap_or_else(|| Error::new(code, "the signature does not verify")));
        }
        let message = SignedMessage {
            direction: new.direction,
            jws: new.jws.to_owned(),
            detached_payload: new.detached_payload.map(<[u8]>::to_vec),
            keys: new.keys.clone(),
            provenance: new.provenance.clone(),
            verification,
            link: new.link,
        };
        // A provenance nested too deeply could not be written as an event.
        json::canonicalize_value(&message.to_event()).map_err(|e| {
            Error::new(ErrorCode::InvalidArgument, format!("the message cannot be recorded as an event: {e}"))
        })?;
        Ok(message)
    }

    /// Checks the signature again against the stored key snapshot, at `at`.
    pub fn reverify(&self, at: Timestamp) -> Verification {
        check(&self.jws, self.detached_payload.as_deref(), &self.keys, at)
    }

    /// Whether a new check agrees with the recorded one: the same header `alg` and
    /// `kid`, and both valid with the same key, or both failed.
    pub fn agrees_with(&self, again: &Verification) -> bool {
        let recorded = &self.verification;
        // The header's alg and kid are facts of the JWS, whatever the result.
        recorded.alg == again.alg
            && recorded.kid == again.kid
            && match (&recorded.failure, &again.failure) {
                (None, None) => recorded.key_thumbprint == again.key_thumbprint,
                (Some(_), Some(_)) => true,
                _ => false,
            }
    }

    /// The payload the JWS signs, as bytes.
    ///
    /// # Errors
    /// [`ErrorCode::MessageMalformed`] when the JWS cannot be split into its parts.
    pub fn payload(&self) -> Result<Vec<u8>> {
        jws_payload(&self.jws, self.detached_payload.as_deref())
    }

    /// The event: `{"evidentia_signed_message": {...}}` (SPEC.md §21.1).
    pub fn to_event(&self) -> Value {
        Value::object([(MESSAGE_MEMBER, self.to_value())])
    }

    /// The message as people and programs are shown it: the event's message
    /// object with the decoded `payload` added (the JSON value when the payload is
    /// JSON, else `payload_b64url`).
    pub fn describe(&self) -> Value {
        let mut value = self.to_value();
        if let (Value::Object(members), Ok(payload)) = (&mut value, self.payload()) {
            match json::parse(&payload) {
                Ok(document) => members.push(("payload".to_owned(), document)),
                Err(_) => members.push(("payload_b64url".to_owned(), Value::from(b64url(&payload)))),
            }
            members.sort_by(|a, b| a.0.cmp(&b.0));
        }
        value
    }

    /// Checks the signature again at `at` and compares with the recorded result.
    pub fn reverification(&self, at: Timestamp) -> Reverification {
        let again = self.reverify(at);
        Reverification { agrees: self.agrees_with(&again), original: self.verification.clone(), again }
    }

    /// The value of [`MESSAGE_MEMBER`].
    fn to_value(&self) -> Value {
        let mut members = vec![
            ("direction", Value::from(self.direction.name())),
            ("format", safe_integer(MESSAGE_FORMAT)),
            ("jws", Value::from(self.jws.as_str())),
            ("keys", self.keys.to_value()),
            ("provenance", self.provenance.clone()),
            ("verification", self.verification.to_value()),
        ];
        if let Some(payload) = &self.detached_payload {
            members.push(("detached_payload", Value::from(b64url(payload))));
        }
        if let Some(link) = &self.link {
            members.push((
                "link",
                Value::object([("record", Value::from(link.record.to_string())), ("seq", safe_integer(link.seq))]),
            ));
        }
        Value::object(members)
    }

    /// The event as canonical JSON bytes: what the record commits to.
    pub fn to_event_bytes(&self) -> Vec<u8> {
        // A message is made of values that always canonicalize.
        json::canonicalize_value(&self.to_event()).unwrap_or_default()
    }

    /// Reads a signed message from an event; `Ok(None)` when the event is not one.
    ///
    /// # Errors
    /// [`ErrorCode::MessageMalformed`] for an event that has [`MESSAGE_MEMBER`] but
    /// is not a signed message of a known format.
    pub fn from_event(event: &Value) -> Result<Option<SignedMessage>> {
        let Some(message) = event.get(MESSAGE_MEMBER) else {
            return Ok(None);
        };
        if event.as_object().is_some_and(|members| members.len() != 1) {
            return Err(malformed(format!("a signed-message event has no member besides {MESSAGE_MEMBER:?}")));
        }
        let members = message.as_object().ok_or_else(|| malformed("a signed message is a JSON object"))?;
        for (name, _) in members {
            if !matches!(
                name.as_str(),
                "direction" | "format" | "jws" | "keys" | "provenance" | "verification" | "detached_payload" | "link"
            ) {
                return Err(malformed(format!("a signed message has an unknown member {name:?}")));
            }
        }
        let string = |value: &'_ Value, name: &'static str| -> Result<String> {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| malformed(format!("signed-message member '{name}' is missing or not a string")))
        };
        match message.get("format").and_then(Value::as_number).and_then(Number::as_safe_u64) {
            Some(MESSAGE_FORMAT) => {}
            Some(_) => return Err(malformed("the signed-message format is not supported")),
            None => return Err(malformed("signed-message member 'format' is missing or not an integer")),
        }
        let direction =
            Direction::from_name(&string(message, "direction")?).map_err(|e| malformed(e.message().to_owned()))?;
        let jws = string(message, "jws")?;
        let detached_payload = match message.get("detached_payload") {
            None => None,
            Some(Value::String(text)) if is_detached(&jws) => {
                Some(b64url_decode(text).ok_or_else(|| malformed("'detached_payload' is not base64url"))?)
            }
            Some(Value::String(_)) => {
                return Err(malformed("'detached_payload' is given for a JWS that is not detached"));
            }
            Some(_) => return Err(malformed("'detached_payload' is not a string")),
        };
        let keys = PartnerKeys::from_value(
            message.get("keys").ok_or_else(|| malformed("signed-message member 'keys' is missing"))?,
        )
        .map_err(|e| malformed(format!("the key snapshot cannot be read: {e}")))?;
        let provenance =
            message.get("provenance").ok_or_else(|| malformed("signed-message member 'provenance' is missing"))?;
        check_provenance(provenance, &keys)?;
        let verification = read_verification(
            message.get("verification").ok_or_else(|| malformed("signed-message member 'verification' is missing"))?,
        )?;
        let link = match message.get("link") {
            None => None,
            Some(link) => {
                let seq = link
                    .get("seq")
                    .and_then(Value::as_number)
                    .and_then(Number::as_safe_u64)
                    .ok_or_else(|| malformed("the link's 'seq' is missing or not an integer"))?;
                let record = Digest::parse(&string(link, "record")?).map_err(|e| malformed(e.message().to_owned()))?;
                if link.as_object().is_some_and(|m| m.len() != 2) {
                    return Err(malformed("a link has exactly the members 'record' and 'seq'"));
                }
                Some(Link { seq, record })
            }
        };
        Ok(Some(SignedMessage {
            direction,
            jws,
            detached_payload,
            keys,
            provenance: provenance.clone(),
            verification,
            link,
        }))
    }
}

fn safe_integer(n: u64) -> Value {
    // Sequence numbers stay below 2^53: checked wherever a record is made.
    Value::Number(Number::from_i64(n as i64).unwrap_or(Number::from(0)))
}

fn read_verification(value: &Value) -> Result<Verification> {
    let members = value.as_object().ok_or_else(|| malformed("'verification' is a JSON object"))?;
    for (name, _) in members {
        if !matches!(
            name.as_str(),
            "evidentia_version" | "result" | "verified_at" | "alg" | "kid" | "key_thumbprint" | "error"
        ) {
            return Err(malformed(format!("'verification' has an unknown member {name:?}")));
        }
    }
    let optional = |name: &'static str| -> Result<Option<String>> {
        match value.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(malformed(format!("verification member '{name}' is not a string"))),
        }
    };
    let required = |name: &'static str| -> Result<String> {
        optional(name)?.ok_or_else(|| malformed(format!("verification member '{name}' is missing")))
    };
    let verified_at = Timestamp::parse(&required("verified_at")?).map_err(|e| malformed(e.message().to_owned()))?;
    let failure = match (required("result")?.as_str(), optional("error")?) {
        ("valid", None) => None,
        ("invalid", Some(name)) => Some(
            ErrorCode::ALL
                .iter()
                .copied()
                .find(|code| code.name() == name)
                .ok_or_else(|| malformed(format!("verification error {name:?} is not an Evidentia error code")))?,
        ),
        ("valid", Some(_)) => return Err(malformed("a valid verification has no 'error'")),
        ("invalid", None) => return Err(malformed("an invalid verification names its 'error'")),
        _ => return Err(malformed("verification 'result' is \"valid\" or \"invalid\"")),
    };
    let key_thumbprint = optional("key_thumbprint")?;
    if failure.is_none() && key_thumbprint.is_none() {
        return Err(malformed("a valid verification names the 'key_thumbprint' of the key that verified it"));
    }
    Ok(Verification {
        verified_at,
        alg: optional("alg")?,
        kid: optional("kid")?,
        key_thumbprint,
        failure,
        evidentia_version: required("evidentia_version")?,
    })
}

/// Checks the provenance: a JSON object whose documented members have their
/// documented forms (SPEC.md §21.2); other members are free.
fn check_provenance(provenance: &Value, keys: &PartnerKeys) -> Result<()> {
    if provenance.as_object().is_none() {
        return Err(malformed("the provenance is a JSON object"));
    }
    for name in PROVENANCE_FIELDS {
        let Some(value) = provenance.get(name) else { continue };
        let text = value.as_str().ok_or_else(|| malformed(format!("provenance member '{name}' is not a string")))?;
        let problem = match *name {
            "fetched_at" => Timestamp::parse(text).err().map(|_| "is not an RFC 3339 UTC time".to_owned()),
            "tls_certificate_sha256" => Digest::parse(text).err().map(|_| "is not sha256:<64 hex digits>".to_owned()),
            "key_thumbprint" if !keys.keys().iter().any(|k| k.thumbprint() == text) => {
                Some("names no key of the snapshot".to_owned())
            }
            _ if text.is_empty() => Some("is empty".to_owned()),
            _ => None,
        };
        if let Some(problem) = problem {
            return Err(malformed(format!("provenance member '{name}' {problem}")));
        }
    }
    Ok(())
}

/// Canonicalizes an event for appending, and refuses a signed-message event that
/// is malformed or whose recorded result is not what checking it gives: the one
/// gate every append path of every binding passes.
///
/// # Errors
/// A `Json*` code for text that is not JSON; [`ErrorCode::MessageMalformed`] or
/// [`ErrorCode::MessageVerificationMismatch`] for a signed-message event that may
/// not be recorded; [`ErrorCode::InvalidArgument`] for a key record (SPEC.md
/// §23), which a log writes itself.
pub fn prepare_event(json: &[u8]) -> Result<Vec<u8>> {
    let value = json::parse(json)?;
    let canonical = json::canonicalize_value(&value)?;
    // Canonical form can be longer than the text it came from (`1e20` is written
    // out in full); an event that could not be parsed back would be stored but
    // never read, found or exported again.
    let limit = json::ParseOptions::default().max_size;
    if canonical.len() > limit {
        return Err(Error::new(
            ErrorCode::JsonTooLarge,
            format!("the event's canonical form is {} bytes, more than the limit of {limit} bytes", canonical.len()),
        ));
    }
    if value.get(crate::keyrecord::KEY_RECORD_MEMBER).is_some() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "an event with the member \"evidentia_key_record\" is a key record, which only a log's own rotate and revoke write",
        ));
    }
    if value.get(crate::erasure::ERASURE_MEMBER).is_some() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "an event with the member \"evidentia_erasure\" is an erasure record, which only a log's own erase writes",
        ));
    }
    if let Some(message) = SignedMessage::from_event(&value)? {
        let again = message.reverify(message.verification.verified_at);
        if !message.agrees_with(&again) {
            return Err(Error::new(ErrorCode::MessageVerificationMismatch, mismatch(&message.verification, &again)));
        }
    }
    Ok(canonical)
}

/// Why a recorded check and a new one disagree, in words.
fn mismatch(recorded: &Verification, again: &Verification) -> String {
    let describe = |v: &Verification| {
        format!(
            "{} (header alg {:?}, kid {:?})",
            v.describe(),
            v.alg.as_deref().unwrap_or(""),
            v.kid.as_deref().unwrap_or("")
        )
    };
    format!(
        "the signed message was recorded as {}, but checking it again with its recorded keys gives {}",
        describe(recorded),
        describe(again)
    )
}

/// Parse limits for events read back from a log: the store bounds their size, and
/// an event that was stored must be read whole, whatever its size.
pub(crate) fn stored_event_options() -> json::ParseOptions {
    json::ParseOptions { max_size: usize::MAX, ..json::ParseOptions::default() }
}

/// The version of the record a log that writes records of `version` makes for
/// `event` (canonical JSON): a signed message of another party (SPEC.md §21) is
/// of version 1 in any log, since a dispute package shows it whole (§21.6) and it
/// is evidence of what the other party signed, not data of the log's own to erase.
pub fn record_version_for(event: &[u8], version: crate::record::RecordVersion) -> crate::record::RecordVersion {
    if version == crate::record::RecordVersion::V1 || !memchr_member(event) {
        return version;
    }
    match json::parse(event) {
        Ok(value) if value.get(MESSAGE_MEMBER).is_some() => crate::record::RecordVersion::V1,
        _ => version,
    }
}

fn memchr_member(canonical: &[u8]) -> bool {
    let needle = MESSAGE_MEMBER.as_bytes();
    canonical.windows(needle.len()).any(|window| window == needle)
}

/// What checking a stored event as a signed message found.
#[derive(Clone, Debug)]
pub(crate) struct StoredMessageCheck {
    /// The failure, if the message is malformed or does not verify as recorded.
    pub failure: Option<(ErrorCode, String)>,
    /// The message's link, to be checked against the log.
    pub link: Option<Link>,
}

/// How far a message's recorded check may come after its record's time: the
/// clock skew a log accepts for a record's time (SPEC.md §6.1).
const CHECKED_AFTER_RECORD: i64 = 5 * 60;

/// Checks a stored event (its canonical bytes) as a signed message; `None` when it
/// is not one. With the record's time, the recorded check must not come after it.
pub(crate) fn check_stored_event(event: &[u8], record_time: Option<Timestamp>) -> Option<StoredMessageCheck> {
    if !memchr_member(event) {
        return None;
    }
    let failed =
        |code: ErrorCode, message: String| Some(StoredMessageCheck { failure: Some((code, message)), link: None });
    let value = match json::parse_with(event, &stored_event_options()) {
        Ok(value) => value,
        Err(e) => return failed(ErrorCode::MessageMalformed, format!("the event cannot be read: {e}")),
    };
    match SignedMessage::from_event(&value) {
        Ok(None) => None,
        Err(e) => failed(e.code(), e.message().to_owned()),
        Ok(Some(message)) => {
            let recorded = &message.verification;
            let again = message.reverify(recorded.verified_at);
            let failure = if !message.agrees_with(&again) {
                Some((ErrorCode::MessageVerificationMismatch, mismatch(recorded, &again)))
            } else if let Some(time) = record_time.filter(|time| {
                recorded.verified_at.unix_seconds().saturating_sub(time.unix_seconds()) > CHECKED_AFTER_RECORD
            }) {
                let message = format!(
                    "the signed message was recorded as checked at {}, after the record's own time {time}",
                    recorded.verified_at
                );
                Some((ErrorCode::MessageVerificationMismatch, message))
            } else {
                None
            };
            Some(StoredMessageCheck { failure, link: message.link })
        }
    }
}
