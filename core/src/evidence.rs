//! Evidence files (SPEC.md §18): a receipt or batch receipt with the key set to
//! check it with and, optionally, the original event, in one JSON file for people
//! who verify by hand or in the verifier page.

use crate::json::{self, Value};
use crate::{BatchReceipt, Error, ErrorCode, KeySet, Result};

/// Writes an evidence file: `receipt` (a receipt, or a batch receipt's JSON text),
/// the key set, and the event's JSON text when given. Indented for people; the
/// receipt is kept as the exact string, so nothing that was signed is re-written.
///
/// # Errors
/// [`ErrorCode::BatchReceiptMalformed`] (or the code of its malformed part) when
/// `receipt` looks like a batch receipt but is not one; a JSON code when the event
/// is not JSON.
pub fn evidence_file(receipt: &str, keys: &KeySet, event: Option<&[u8]>) -> Result<String> {
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
    json::to_pretty_string(&Value::Object(members))
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
        let file = evidence_file(issued.receipt.as_str(), &keys, Some(&issued.event)).unwrap();
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
            json::parse(evidence_file(issued.receipt.as_str(), &keys, None).unwrap().as_bytes()).unwrap();
        assert!(without_event.get("event").is_none());
    }

    #[test]
    fn garbage_is_refused_with_its_code() {
        let keys = KeySet::new();
        assert_eq!(
            evidence_file("{\"type\":\"x\"}", &keys, None).unwrap_err().code(),
            ErrorCode::BatchReceiptMalformed
        );
        assert_eq!(evidence_file("a.b.c", &keys, Some(b"{")).unwrap_err().code(), ErrorCode::JsonSyntax);
    }
}
