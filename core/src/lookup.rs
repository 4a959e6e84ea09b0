//! What events are found by (SPEC.md §21.4): the terms a log's field index holds
//! for an event. The store keeps the index; what goes into it is decided here, once.

use crate::encoding::b64url_decode;
use crate::error::{Error, ErrorCode, Result};
use crate::json::{self, Value};

/// The one member of a signed-message event (SPEC.md §21.1). An event that has it
/// is a signed message and must be one in full.
pub const MESSAGE_MEMBER: &str = "evidentia_signed_message";

fn malformed(message: &'static str) -> Error {
    Error::new(ErrorCode::MessageMalformed, message)
}

/// The payload a compact JWS signs: the detached payload when given, else its
/// payload part, base64url-decoded unless the header says `"b64": false`.
pub(crate) fn jws_payload(jws: &str, detached_payload: Option<&[u8]>) -> Result<Vec<u8>> {
    if let Some(payload) = detached_payload {
        return Ok(payload.to_vec());
    }
    let mut parts = jws.split('.');
    let (Some(header), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("the JWS does not have three parts separated by '.'"));
    };
    let header = b64url_decode(header).ok_or_else(|| malformed("the JWS header is not base64url"))?;
    let header = json::parse(&header).map_err(|_| malformed("the JWS header is not JSON"))?;
    if header.get("b64") == Some(&Value::Bool(false)) {
        return Ok(payload.as_bytes().to_vec());
    }
    b64url_decode(payload).ok_or_else(|| malformed("the JWS payload is not base64url"))
}

/// The document an event is found by: a signed message's payload when it is JSON,
/// any other event itself.
pub fn lookup_document(event: &Value) -> Option<Value> {
    let Some(message) = event.get(MESSAGE_MEMBER) else {
        return Some(event.clone());
    };
    let jws = message.get("jws")?.as_str()?;
    let detached = match message.get("detached_payload") {
        None => None,
        Some(text) => Some(b64url_decode(text.as_str()?)?),
    };
    json::parse(&jws_payload(jws, detached.as_deref()).ok()?).ok()
}

/// The terms an event is indexed under: for each of `fields` that names a
/// top-level member of its [`lookup_document`] holding a string or a number, the
/// field's position in `fields` and the value as text (a string as it is, a
/// number as canonical JSON writes it). Events that are not JSON objects, and
/// members holding other values, give no terms.
pub fn lookup_terms(event: &[u8], fields: &[String]) -> Vec<(usize, String)> {
    if fields.is_empty() {
        return Vec::new();
    }
    let parsed = json::parse_with(event, &crate::message::stored_event_options()).ok();
    let Some(document) = parsed.as_ref().and_then(lookup_document) else {
        return Vec::new();
    };
    let mut terms = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        match document.get(field) {
            Some(Value::String(text)) => terms.push((i, text.clone())),
            Some(number @ Value::Number(_)) => {
                if let Ok(bytes) = json::canonicalize_value(number) {
                    terms.push((i, String::from_utf8_lossy(&bytes).into_owned()));
                }
            }
            _ => {}
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn ordinary_events_are_found_by_their_top_level_members() {
        let event = br#"{"amount":30000,"instruction_id":"INS-1","nested":{"instruction_id":"no"},"ok":true}"#;
        let terms = lookup_terms(event, &fields(&["instruction_id", "amount", "ok", "nested", "absent"]));
        assert_eq!(terms, vec![(0, "INS-1".to_owned()), (1, "30000".to_owned())]);
    }

    #[test]
    fn signed_messages_are_found_by_their_payload() {
        // {"instruction_id":"INS-7"} as an attached payload, and as a detached one.
        let payload = crate::encoding::b64url(br#"{"instruction_id":"INS-7"}"#);
        let header = crate::encoding::b64url(br#"{"alg":"PS256"}"#);
        let attached = format!(r#"{{"{MESSAGE_MEMBER}":{{"jws":"{header}.{payload}.c2ln"}}}}"#);
        assert_eq!(lookup_terms(attached.as_bytes(), &fields(&["instruction_id"])), vec![(0, "INS-7".to_owned())]);
        let detached = format!(r#"{{"{MESSAGE_MEMBER}":{{"jws":"{header}..c2ln","detached_payload":"{payload}"}}}}"#);
        assert_eq!(lookup_terms(detached.as_bytes(), &fields(&["instruction_id"])), vec![(0, "INS-7".to_owned())]);
        // The message's own members are not searched.
        assert!(lookup_terms(attached.as_bytes(), &fields(&["jws"])).is_empty());
    }

    #[test]
    fn unencoded_payloads_are_read_as_they_are() {
        let header = crate::encoding::b64url(br#"{"alg":"EdDSA","b64":false,"crit":["b64"]}"#);
        let jws = format!("{header}.{{\"instruction_id\":\"INS-9\"}}.c2ln");
        assert_eq!(jws_payload(&jws, None).unwrap(), br#"{"instruction_id":"INS-9"}"#);
    }

    #[test]
    fn what_cannot_be_read_gives_no_terms() {
        for event in [&b"[1,2]"[..], b"\"text\"", b"not json", br#"{"evidentia_signed_message":{"jws":"a.b"}}"#] {
            assert!(lookup_terms(event, &fields(&["a"])).is_empty());
        }
    }
}
