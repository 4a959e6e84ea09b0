//! Evidence files (SPEC.md §18): a receipt or batch receipt with the key set to
//! check it with and, optionally, the original event, in one JSON file for people
//! who verify by hand or in the verifier page.

use crate::json::{self, Value};
use crate::{BatchReceipt, Error, ErrorCode, KeySet, Report, Result};

/// Writes an evidence file: `receipt` (a receipt, or a batch receipt's JSON text),
/// the key set, the event's JSON text when given, and for a version-2 record the
/// event's salt (`salt_hex`). Indented for people; the receipt is kept as the exact
/// string, so nothing that was signed is re-written.
///
/// # Errors
/// [`ErrorCode::BatchReceiptMalformed`] (or the code of its malformed part) when
/// `receipt` looks like a batch receipt but is not one; a JSON code when the event
/// is not JSON.
pub fn evidence_file(receipt: &str, keys: &KeySet, event: Option<&[u8]>, salt: Option<&[u8]>) -> Result<String> {
    let member = if receipt.starts_with('{') {
        BatchReceipt::parse(receipt)?;
        "batch_receipt"
    } else {
        "receipt"
    };
    let keys = json::parse(keys.to_json().as_bytes())
        .map_err(|e| Error::new(ErrorCode::Internal, format!("a key set did not read back: {e}")))?;
    let mut members = vec![(member.to_owned(), Value::from(receipt)), ("jwks".to_owned(), keys)];
    if let Some(event) = event {
        members.push(("event".to_owned(), json::parse(event)?));
    }
    if let Some(salt) = salt {
        members.push(("salt_hex".to_owned(), Value::from(crate::encoding::hex(salt))));
    }
    json::to_pretty_string(&Value::Object(members))
}

/// What an evidence file holds (SPEC.md §18), read but not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceFile {
    /// The receipt (a compact JWS) or the batch receipt (its canonical JSON text).
    pub receipt: String,
    /// Whether `receipt` came from the member `batch_receipt`.
    pub batch: bool,
    /// The key set's JSON text: the member's string, or the canonical JSON of its object.
    pub jwks: String,
    /// The event's canonical JSON, when the file holds one.
    pub event: Option<Vec<u8>>,
    /// The event's salt, for a version-2 record, when the file holds one.
    pub salt: Option<Vec<u8>>,
}

impl EvidenceFile {
    /// Reads an evidence file as SPEC.md §18 says: JSON (§1) holding an object with
    /// exactly one of `receipt` (a string) and `batch_receipt` (a string, or an
    /// object, written back as canonical JSON), `jwks` (an object or a string) and
    /// optionally `event` (any JSON value) and `salt_hex` (a string of hex
    /// digits); other members are ignored.
    ///
    /// # Errors
    /// A JSON code for text that is not JSON; [`ErrorCode::InvalidArgument`] for JSON
    /// that is not an evidence file.
    pub fn parse(text: &[u8]) -> Result<EvidenceFile> {
        let not_evidence = |message: &'static str| Error::new(ErrorCode::InvalidArgument, message);
        let value = json::parse(text)?;
        if value.as_object().is_none() {
            return Err(not_evidence("an evidence file is a JSON object"));
        }
        let (receipt, batch) = match (value.get("receipt"), value.get("batch_receipt")) {
            (Some(_), Some(_)) => {
                return Err(not_evidence("the evidence file holds both a receipt and a batch receipt; it holds one"));
            }
            (None, None) => return Err(not_evidence("the evidence file holds neither a receipt nor a batch receipt")),
            (Some(Value::String(receipt)), None) => (receipt.clone(), false),
            (Some(_), None) => return Err(not_evidence("the evidence file's 'receipt' is not a string")),
            (None, Some(Value::String(receipt))) => (receipt.clone(), true),
            (None, Some(object @ Value::Object(_))) => (canonical(object)?, true),
            (None, Some(_)) => {
                return Err(not_evidence("the evidence file's 'batch_receipt' is neither a string nor an object"));
            }
        };
        let jwks = match value.get("jwks") {
            Some(Value::String(text)) => text.clone(),
            Some(object @ Value::Object(_)) => canonical(object)?,
            Some(_) => return Err(not_evidence("the evidence file's 'jwks' is neither an object nor a string")),
            None => return Err(not_evidence("the evidence file holds no key set ('jwks')")),
        };
        let event = value.get("event").map(json::canonicalize_value).transpose()?;
        let salt =
            match value.get("salt_hex") {
                None => None,
                Some(Value::String(hex)) => Some(crate::encoding::hex_decode(hex).ok_or_else(|| {
                    not_evidence("the evidence file's 'salt_hex' is not an even number of hex digits")
                })?),
                Some(_) => return Err(not_evidence("the evidence file's 'salt_hex' is not a string")),
            };
        Ok(EvidenceFile { receipt, batch, jwks, event, salt })
    }

    /// Verifies the receipt (SPEC.md §12) or batch receipt (§11) with the event (and
    /// salt) the file holds, and with `keys` or, when `None`, the key set the file holds. The
    /// file's keys come from whoever made it: a verifier must still confirm them
    /// independently (§17).
    ///
    /// # Errors
    /// The key set's code when the file's key set is malformed (§4); then as
    /// [`verify_receipt`](crate::verify_receipt).
    pub fn verify(&self, keys: Option<&KeySet>) -> Result<Report> {
        let own;
        let keys = match keys {
            Some(keys) => keys,
            None => {
                own = KeySet::from_json(&self.jwks)?;
                &own
            }
        };
        let (event, salt) = (self.event.as_deref(), self.salt.as_deref());
        match self.batch {
            true => crate::batch::verify_batch_receipt_salted(&self.receipt, keys, event, salt),
            false => crate::verify::verify_compact_receipt(&self.receipt, keys, event, salt),
        }
    }
}

fn canonical(value: &Value) -> Result<String> {
    String::from_utf8(json::canonicalize_value(value)?)
        .map_err(|_| Error::new(ErrorCode::Internal, "canonical JSON is UTF-8"))
}

/// Reads an evidence file (SPEC.md §18) and verifies what it holds with `keys`, the
/// keys the verifier trusts, or, when `None`, with the key set the file holds:
/// [`EvidenceFile::parse`], then [`EvidenceFile::verify`]. The file's keys come from
/// whoever made it; confirm them independently (§17).
///
/// # Errors
/// As [`EvidenceFile::parse`] and [`EvidenceFile::verify`].
pub fn verify_evidence_file(text: &[u8], keys: Option<&KeySet>) -> Result<Report> {
    EvidenceFile::parse(text)?.verify(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChainState, SigningKey, Timestamp, issue_receipt, verify_receipt};

    fn text<'a>(file: &'a Value, name: &str) -> &'a str {
        file.get(name).and_then(Value::as_str).unwrap_or_default()
    }

    #[test]
    fn an_evidence_file_carries_what_verifies_its_receipt() {
        let key = SigningKey::from_bytes(&[7u8; 32]).unwrap();
        let mut state = ChainState::new("example.com/evidence").unwrap();
        let time = Timestamp::parse("2026-11-22T10:00:00Z").unwrap();
        let issued = issue_receipt(&key, &mut state, br#"{"b": 1, "a": [true]}"#, time, None).unwrap();
        let keys = KeySet::single(key.public_key());
        let file = evidence_file(issued.receipt.as_str(), &keys, Some(&issued.event), None).unwrap();
        let parsed = json::parse(file.as_bytes()).unwrap();
        assert_eq!(text(&parsed, "receipt"), issued.receipt.as_str());
        assert!(parsed.get("batch_receipt").is_none());
        let jwks = KeySet::from_json(
            &String::from_utf8(json::canonicalize_value(parsed.get("jwks").unwrap()).unwrap()).unwrap(),
        )
        .unwrap();
        let event = json::canonicalize_value(parsed.get("event").unwrap()).unwrap();
        assert!(verify_receipt(text(&parsed, "receipt"), &jwks, Some(&event)).unwrap().is_valid());

        let without_event =
            json::parse(evidence_file(issued.receipt.as_str(), &keys, None, None).unwrap().as_bytes()).unwrap();
        assert!(without_event.get("event").is_none());
    }

    #[test]
    fn an_evidence_file_reads_back_and_verifies_in_each_form() {
        let key = SigningKey::from_bytes(&[7u8; 32]).unwrap();
        let mut state = ChainState::new("example.com/evidence").unwrap();
        let time = Timestamp::parse("2026-11-22T10:00:00Z").unwrap();
        let issued = issue_receipt(&key, &mut state, br#"{"b": 1, "a": [true]}"#, time, None).unwrap();
        let keys = KeySet::single(key.public_key());
        let file = evidence_file(issued.receipt.as_str(), &keys, Some(&issued.event), None).unwrap();
        let read = EvidenceFile::parse(file.as_bytes()).unwrap();
        assert_eq!(read.receipt, issued.receipt.as_str());
        assert_eq!(read.event.as_deref(), Some(&issued.event[..]));
        assert!(!read.batch);
        assert!(verify_evidence_file(file.as_bytes(), None).unwrap().is_valid());
        // The key set as text, the event in another formatting: the same evidence.
        let jwks = crate::json::Value::from(keys.to_json());
        let text = format!(
            r#"{{"event": {{"a": [ true ], "b": 1.0}}, "jwks": {}, "receipt": "{}", "note": 1}}"#,
            String::from_utf8(json::canonicalize_value(&jwks).unwrap()).unwrap(),
            issued.receipt.as_str()
        );
        assert!(verify_evidence_file(text.as_bytes(), None).unwrap().is_valid());
        let other = format!(r#"{{"event": 2, "jwks": {}, "receipt": "{}"}}"#, keys.to_json(), issued.receipt.as_str());
        assert_eq!(
            verify_evidence_file(other.as_bytes(), None).unwrap().failure_codes(),
            vec![ErrorCode::EventMismatch]
        );
        // Keys given by the verifier replace the file's.
        let stranger = KeySet::single(SigningKey::from_bytes(&[8u8; 32]).unwrap().public_key());
        let report = EvidenceFile::parse(file.as_bytes()).unwrap().verify(Some(&stranger)).unwrap();
        assert_eq!(report.failure_codes(), vec![ErrorCode::KeyNotFound]);
        assert_eq!(verify_evidence_file(file.as_bytes(), Some(&stranger)).unwrap(), report);
        // Trusted keys stand in for a key set the file holds that is not one.
        let no_keys = format!(r#"{{"jwks": "{{}}", "receipt": "{}"}}"#, issued.receipt.as_str());
        assert_eq!(verify_evidence_file(no_keys.as_bytes(), None).unwrap_err().code(), ErrorCode::KeySetMalformed);
        assert!(verify_evidence_file(no_keys.as_bytes(), Some(&keys)).unwrap().is_valid());
    }

    #[test]
    fn what_is_not_an_evidence_file_is_refused_with_its_code() {
        let key = SigningKey::from_bytes(&[7u8; 32]).unwrap();
        let jwks = KeySet::single(key.public_key()).to_json();
        for (text, code) in [
            ("{".to_owned(), ErrorCode::JsonSyntax),
            ("[]".to_owned(), ErrorCode::InvalidArgument),
            (format!(r#"{{"jwks":{jwks}}}"#), ErrorCode::InvalidArgument),
            (format!(r#"{{"jwks":{jwks},"receipt":"a.b.c","batch_receipt":"{{}}"}}"#), ErrorCode::InvalidArgument),
            (format!(r#"{{"jwks":{jwks},"receipt":{{}}}}"#), ErrorCode::InvalidArgument),
            (format!(r#"{{"jwks":{jwks},"batch_receipt":[]}}"#), ErrorCode::InvalidArgument),
            (r#"{"receipt":"a.b.c"}"#.to_owned(), ErrorCode::InvalidArgument),
            (r#"{"receipt":"a.b.c","jwks":[]}"#.to_owned(), ErrorCode::InvalidArgument),
            (r#"{"receipt":"a.b.c","jwks":"{}"}"#.to_owned(), ErrorCode::KeySetMalformed),
            (format!(r#"{{"jwks":{jwks},"receipt":"a.b.c"}}"#), ErrorCode::JwsMalformed),
            (format!(r#"{{"jwks":{jwks},"batch_receipt":"a.b.c"}}"#), ErrorCode::BatchReceiptMalformed),
            (format!(r#"{{"jwks":{jwks},"batch_receipt":{{"type":"x"}}}}"#), ErrorCode::BatchReceiptMalformed),
        ] {
            assert_eq!(verify_evidence_file(text.as_bytes(), None).unwrap_err().code(), code, "{text}");
        }
    }

    #[test]
    fn garbage_is_refused_with_its_code() {
        let keys = KeySet::new();
        assert_eq!(
            evidence_file("{\"type\":\"x\"}", &keys, None, None).unwrap_err().code(),
            ErrorCode::BatchReceiptMalformed
        );
        assert_eq!(evidence_file("a.b.c", &keys, Some(b"{"), None).unwrap_err().code(), ErrorCode::JsonSyntax);
    }
}
