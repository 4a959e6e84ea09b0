//! Signed messages of other parties (SPEC.md §21): recording, reading back,
//! re-verification in receipts and logs, links, and the gate every append passes.
#![allow(clippy::unwrap_used)]

use evidentia::json::{Value, parse};
use evidentia::{
    ChainState, Check, Direction, ErrorCode, JwsOptions, KeySet, Link, LogVerifyOptions, NewMessage, PartnerKeys,
    SignedMessage, SigningKey, Status, Timestamp, issue_receipt, lookup_terms, prepare_event, sign_jws, verify_log,
    verify_receipt,
};

fn partner() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32]).unwrap()
}

fn partner_keys() -> PartnerKeys {
    PartnerKeys::from_json(&partner().public_jwk()).unwrap()
}

fn at() -> Timestamp {
    Timestamp::parse("2026-03-01T10:00:00Z").unwrap()
}

fn provenance() -> Value {
    parse(
        format!(
            r#"{{"jwks_url":"https://issuer.example/jwks","fetched_at":"2026-03-01T09:00:00Z","key_thumbprint":"{}","partner_id":"BANK-042","established_by":"jwks_fetch","contract":"2025/17"}}"#,
            partner().kid()
        )
        .as_bytes(),
    )
    .unwrap()
}

const AUTHORIZATION: &[u8] = br#"{"amount":"30000.00","currency":"EUR","instruction_id":"INS-2026-0042"}"#;

fn message_with(jws: &str, detached: Option<&[u8]>, record_failure: bool) -> evidentia::Result<SignedMessage> {
    let keys = partner_keys();
    let provenance = provenance();
    SignedMessage::verify_new(&NewMessage {
        jws,
        detached_payload: detached,
        keys: &keys,
        provenance: &provenance,
        direction: Direction::Inbound,
        link: None,
        record_failure,
        at: at(),
    })
}

fn signed() -> String {
    sign_jws(&partner(), AUTHORIZATION, JwsOptions::default()).unwrap()
}

/// A JWS whose signature does not match its payload.
fn forged() -> String {
    let jws = signed();
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    parts[1] = evidentia::encoding::b64url(br#"{"amount":"3.00","instruction_id":"INS-2026-0042"}"#);
    parts.join(".")
}

#[test]
fn a_valid_message_round_trips_through_its_event() {
    let message = message_with(&signed(), None, false).unwrap();
    assert!(message.verification.is_valid());
    assert_eq!(message.verification.alg.as_deref(), Some("ES256"));
    assert_eq!(message.verification.key_thumbprint.as_deref(), Some(partner().kid()));
    let bytes = message.to_event_bytes();
    assert_eq!(prepare_event(&bytes).unwrap(), bytes, "the event is canonical and passes the gate");
    let back = SignedMessage::from_event(&parse(&bytes).unwrap()).unwrap().unwrap();
    assert_eq!(back.to_event_bytes(), bytes);
    assert_eq!(back.jws, signed());
    assert_eq!(back.payload().unwrap(), AUTHORIZATION);
    // Found by the payload's fields, not the message's own members.
    let fields = vec!["instruction_id".to_owned(), "jws".to_owned()];
    assert_eq!(lookup_terms(&bytes, &fields), vec![(0, "INS-2026-0042".to_owned())]);
}

#[test]
fn a_bad_signature_is_refused_unless_its_failure_is_recorded() {
    let refused = message_with(&forged(), None, false).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::SignatureInvalid);
    let recorded = message_with(&forged(), None, true).unwrap();
    assert_eq!(recorded.verification.failure, Some(ErrorCode::SignatureInvalid));
    let bytes = recorded.to_event_bytes();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains(r#""error":"SIGNATURE_INVALID""#) && text.contains(r#""result":"invalid""#), "{text}");
    // A failure recorded as such is consistent: it may be appended and verifies as recorded.
    prepare_event(&bytes).unwrap();
}

/// The event with `edit` applied to its `evidentia_signed_message` object's text.
fn edited(message: &SignedMessage, from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(message.to_event_bytes()).unwrap();
    assert!(text.contains(from), "{from} not in {text}");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn the_gate_refuses_a_claimed_valid_that_is_not() {
    let recorded = message_with(&forged(), None, true).unwrap();
    let claimed_valid =
        edited(&recorded, r#""error":"SIGNATURE_INVALID","evidentia_version""#, r#""evidentia_version""#);
    let claimed_valid = String::from_utf8(claimed_valid).unwrap().replacen(
        r#""result":"invalid""#,
        &format!(r#""key_thumbprint":"{}","result":"valid""#, partner().kid()),
        1,
    );
    let err = prepare_event(claimed_valid.as_bytes()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MessageVerificationMismatch, "{err}");
}

#[test]
fn the_gate_refuses_malformed_messages() {
    let message = message_with(&signed(), None, false).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (edited(&message, r#""format":1"#, r#""format":2"#), "format"),
        (edited(&message, r#""direction":"inbound""#, r#""direction":"sideways""#), "direction"),
        (edited(&message, r#""format":1"#, r#""extra":true,"format":1"#), "unknown member"),
        (edited(&message, r#""partner_id":"BANK-042""#, r#""partner_id":"""#), "empty provenance member"),
        (edited(&message, r#""fetched_at":"2026-03-01T09:00:00Z""#, r#""fetched_at":"yesterday""#), "fetched_at"),
        (edited(&message, r#""result":"valid""#, r#""result":"maybe""#), "result"),
        (edited(&message, r#""keys":{"keys":[{"#, r#""keys":{"keys":[{"d":"AAAA","#), "private key in snapshot"),
    ];
    for (event, what) in cases {
        let err = prepare_event(&event).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MessageMalformed, "{what}: {err}");
    }
    // Another member beside the signed message.
    let text = String::from_utf8(message.to_event_bytes()).unwrap();
    let with_sibling = format!(r#"{{"amount":1,{}"#, &text[1..]);
    assert_eq!(prepare_event(with_sibling.as_bytes()).unwrap_err().code(), ErrorCode::MessageMalformed);
    // The member's name inside an ordinary event's values is nothing special.
    prepare_event(br#"{"note":"evidentia_signed_message"}"#).unwrap();
}

#[test]
fn a_provenance_thumbprint_must_name_a_key_of_the_snapshot() {
    let keys = partner_keys();
    let provenance = parse(br#"{"key_thumbprint":"not-the-key"}"#).unwrap();
    let err = SignedMessage::verify_new(&NewMessage {
        jws: &signed(),
        detached_payload: None,
        keys: &keys,
        provenance: &provenance,
        direction: Direction::Inbound,
        link: None,
        record_failure: false,
        at: at(),
    })
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
}

#[test]
fn detached_and_unencoded_payloads_are_kept_and_checked() {
    let detached = sign_jws(&partner(), AUTHORIZATION, JwsOptions { detached: true, unencoded: false }).unwrap();
    assert_eq!(message_with(&detached, None, false).unwrap_err().code(), ErrorCode::SignatureInvalid);
    let message = message_with(&detached, Some(AUTHORIZATION), false).unwrap();
    assert_eq!(message.payload().unwrap(), AUTHORIZATION);
    let bytes = message.to_event_bytes();
    prepare_event(&bytes).unwrap();
    // Changing the stored payload is caught when it is checked again.
    let other = evidentia::encoding::b64url(br#"{"amount":"1"}"#);
    let text = String::from_utf8(bytes).unwrap();
    let original = evidentia::encoding::b64url(AUTHORIZATION);
    let tampered = text.replacen(&original, &other, 1);
    assert_eq!(prepare_event(tampered.as_bytes()).unwrap_err().code(), ErrorCode::MessageVerificationMismatch);

    // Attached unencoded payloads are UTF-8 without '.'.
    let payload = br#"{"amount":"30000","instruction_id":"INS-2026-0043"}"#;
    let unencoded = sign_jws(&partner(), payload, JwsOptions { detached: false, unencoded: true }).unwrap();
    let message = message_with(&unencoded, None, false).unwrap();
    assert_eq!(message.payload().unwrap(), payload);
    assert_eq!(lookup_terms(&message.to_event_bytes(), &["instruction_id".to_owned()])[0].1, "INS-2026-0043");
}

struct Logged {
    receipts: Vec<String>,
    events: Vec<Vec<u8>>,
    keys: KeySet,
}

/// A log of an ordinary event followed by the given events, signed as they are:
/// what a log made without the gate (by hand, or by an operator re-signing it)
/// holds, for verification to judge.
fn log_of(events: &[Vec<u8>]) -> Logged {
    let operator = SigningKey::from_bytes(&[9u8; 32]).unwrap();
    let mut chain = ChainState::new("scheme.example/evidence").unwrap();
    let mut logged = Logged { receipts: Vec::new(), events: Vec::new(), keys: KeySet::single(operator.public_key()) };
    let first = br#"{"request":"authorize","instruction_id":"INS-2026-0042"}"#.to_vec();
    for event in std::iter::once(&first).chain(events) {
        let event = evidentia::canonicalize(event).unwrap();
        let record = chain.next_record(operator.kid(), evidentia::Digest::sha256(&event), at(), None).unwrap();
        let receipt = evidentia::Receipt::sign(&operator, &record).unwrap();
        chain.advance(&record).unwrap();
        logged.receipts.push(receipt.as_str().to_owned());
        logged.events.push(event);
    }
    logged
}

#[test]
fn receipts_issued_in_memory_pass_the_same_gate() {
    let operator = SigningKey::from_bytes(&[9u8; 32]).unwrap();
    let mut chain = ChainState::new("scheme.example/evidence").unwrap();
    let recorded = message_with(&forged(), None, true).unwrap();
    let claimed = String::from_utf8(recorded.to_event_bytes())
        .unwrap()
        .replacen(r#""error":"SIGNATURE_INVALID","#, "", 1)
        .replacen(r#""result":"invalid""#, &format!(r#""key_thumbprint":"{}","result":"valid""#, partner().kid()), 1);
    let err = issue_receipt(&operator, &mut chain, claimed.as_bytes(), at(), None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MessageVerificationMismatch);
    let err =
        evidentia::UnsignedReceipt::new(operator.public_key(), &chain, claimed.as_bytes(), at(), None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MessageVerificationMismatch);
    issue_receipt(&operator, &mut chain, &recorded.to_event_bytes(), at(), None).unwrap();
}

fn verify(logged: &Logged) -> evidentia::Report {
    verify_log(
        logged.receipts.iter().map(String::as_str).zip(logged.events.iter().map(|e| Some(e.as_slice()))),
        &logged.keys,
        LogVerifyOptions::default(),
    )
}

fn message_check(report: &evidentia::Report) -> Status {
    report.checks().iter().find(|c| c.check == Check::Message).unwrap().status
}

#[test]
fn logs_check_messages_again_and_their_links() {
    // The response (the partner's authorization) answers record 0, the request.
    let request = log_of(&[]);
    let link = Link { seq: 0, record: evidentia::entry_record_digest(request.receipts[0].as_bytes()).unwrap().1 };
    let mut message = message_with(&signed(), None, false).unwrap();
    message.link = Some(link);
    let logged = log_of(&[message.to_event_bytes()]);
    let report = verify(&logged);
    assert!(report.is_valid(), "{}", report.to_text());
    assert_eq!(message_check(&report), Status::Passed);
    // An ordinary log skips the check.
    assert_eq!(message_check(&verify(&request)), Status::Skipped);

    // A link to a record with another digest, and one to a record after it.
    for bad in [Link { seq: 0, record: evidentia::Digest::sha256(b"other") }, Link { seq: 5, record: link.record }] {
        message.link = Some(bad);
        let report = verify(&log_of(&[message.to_event_bytes()]));
        assert_eq!(report.failure_codes(), vec![ErrorCode::LinkMismatch], "{}", report.to_text());
    }
}

#[test]
fn a_stored_message_that_no_longer_verifies_as_recorded_is_a_finding() {
    // What a log made before the gate, or edited and re-signed by its operator,
    // could hold: a message whose recorded "valid" is false.
    let recorded = message_with(&forged(), None, true).unwrap();
    let claimed = String::from_utf8(recorded.to_event_bytes())
        .unwrap()
        .replacen(r#""error":"SIGNATURE_INVALID","#, "", 1)
        .replacen(r#""result":"invalid""#, &format!(r#""key_thumbprint":"{}","result":"valid""#, partner().kid()), 1);
    let logged = log_of(&[claimed.clone().into_bytes()]);
    let report = verify(&logged);
    assert_eq!(report.failure_codes(), vec![ErrorCode::MessageVerificationMismatch], "{}", report.to_text());
    assert_eq!(report.findings()[0].index, Some(1));
    // The same through a single receipt with its event.
    let report = verify_receipt(&logged.receipts[1], &logged.keys, Some(claimed.as_bytes())).unwrap();
    assert_eq!(report.failure_codes(), vec![ErrorCode::MessageVerificationMismatch]);
    let report = verify_receipt(&logged.receipts[0], &logged.keys, Some(&logged.events[0])).unwrap();
    assert!(report.is_valid());
}

#[test]
fn an_event_too_large_to_read_back_is_refused_so_the_gate_cannot_be_skipped() {
    // A forged "valid" message padded with numbers whose canonical form is far
    // longer than their text: 4 bytes in, 21 out.
    let recorded = message_with(&forged(), None, true).unwrap();
    let claimed = String::from_utf8(recorded.to_event_bytes())
        .unwrap()
        .replacen(r#""error":"SIGNATURE_INVALID","#, "", 1)
        .replacen(r#""result":"invalid""#, &format!(r#""key_thumbprint":"{}","result":"valid""#, partner().kid()), 1);
    let padding = vec!["1e20"; 850_000].join(",");
    let padded = claimed.replacen(r#""provenance":{"#, &format!(r#""provenance":{{"pad":[{padding}],"#), 1);
    assert!(padded.len() < 16 * 1024 * 1024);
    let err = prepare_event(padded.as_bytes()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::JsonTooLarge, "{err}");
    // Small enough to store, it is refused for what it claims.
    let err = prepare_event(claimed.as_bytes()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MessageVerificationMismatch, "{err}");
    // Stored by other means, verification still reads and judges it, whatever its size.
    let canonical = evidentia::canonicalize_value(&parse(padded.as_bytes()).unwrap()).unwrap();
    assert!(canonical.len() > 16 * 1024 * 1024);
    let mut logged = log_of(&[]);
    let operator = SigningKey::from_bytes(&[9u8; 32]).unwrap();
    let first = evidentia::Receipt::parse(&logged.receipts[0]).unwrap();
    let record = ChainState::after(first.record())
        .next_record(operator.kid(), evidentia::Digest::sha256(&canonical), at(), None)
        .unwrap();
    logged.receipts.push(evidentia::Receipt::sign(&operator, &record).unwrap().as_str().to_owned());
    logged.events.push(canonical);
    let report = verify(&logged);
    assert_eq!(report.failure_codes(), vec![ErrorCode::MessageVerificationMismatch], "{}", report.to_text());
}

#[test]
fn the_recorded_kid_and_check_time_are_held_to_the_jws_and_the_record() {
    let message = message_with(&signed(), None, false).unwrap();
    let kid = partner().kid().to_owned();
    // The JWS header's kid is the key's thumbprint; a recorded kid must be it.
    let other_kid = edited(&message, &format!(r#""kid":"{kid}""#), r#""kid":"bank-official-2024""#);
    assert_eq!(prepare_event(&other_kid).unwrap_err().code(), ErrorCode::MessageVerificationMismatch);
    // Checked after the record was made: impossible, so a finding.
    let later = edited(&message, r#""verified_at":"2026-03-01T10:00:00Z""#, r#""verified_at":"2026-03-01T11:00:00Z""#);
    prepare_event(&later).unwrap();
    let report = verify(&log_of(&[later]));
    assert_eq!(report.failure_codes(), vec![ErrorCode::MessageVerificationMismatch], "{}", report.to_text());
    // Within the clock skew a log allows, and before it, are fine.
    let skew = edited(&message, r#""verified_at":"2026-03-01T10:00:00Z""#, r#""verified_at":"2026-03-01T10:04:00Z""#);
    assert!(verify(&log_of(&[skew])).is_valid());
}

#[test]
fn a_payload_is_taken_only_for_a_detached_jws() {
    let err = message_with(&signed(), Some(AUTHORIZATION), true).unwrap_err();
    assert_eq!(err.code(), ErrorCode::JwsPayloadMismatch);
    let detached = sign_jws(&partner(), AUTHORIZATION, JwsOptions { detached: true, unencoded: false }).unwrap();
    let message = message_with(&detached, Some(AUTHORIZATION), false).unwrap();
    // A stored detached payload beside an attached JWS is not a message.
    let payload = evidentia::encoding::b64url(AUTHORIZATION);
    let text = String::from_utf8(message.to_event_bytes()).unwrap().replacen(&detached, &signed(), 1);
    assert!(text.contains(&payload));
    assert_eq!(prepare_event(text.as_bytes()).unwrap_err().code(), ErrorCode::MessageMalformed);
}

#[test]
fn a_provenance_too_deep_to_record_is_refused_clearly() {
    let keys = partner_keys();
    let deep = format!("{}1{}", "[".repeat(126), "]".repeat(126));
    let provenance = parse(format!(r#"{{"chain":{deep}}}"#).as_bytes()).unwrap();
    let err = SignedMessage::verify_new(&NewMessage {
        jws: &signed(),
        detached_payload: None,
        keys: &keys,
        provenance: &provenance,
        direction: Direction::Inbound,
        link: None,
        record_failure: false,
        at: at(),
    })
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
    assert!(err.to_string().contains("cannot be recorded"), "{err}");
}

#[test]
fn a_key_snapshot_holds_at_most_a_thousand_keys() {
    let jwk = |i: usize| {
        let key = SigningKey::from_bytes(&[(i % 200 + 1) as u8; 32]).unwrap();
        let mut jwk = parse(key.public_jwk().as_bytes()).unwrap();
        if let Value::Object(members) = &mut jwk {
            members.retain(|(name, _)| name != "kid");
            members.push(("kid".to_owned(), Value::from(format!("k{i}"))));
        }
        jwk
    };
    let set = |n: usize| Value::object([("keys", Value::Array((0..n).map(jwk).collect()))]);
    assert_eq!(PartnerKeys::from_value(&set(evidentia::MAX_PARTNER_KEYS)).unwrap().keys().len(), 1000);
    let err = PartnerKeys::from_value(&set(evidentia::MAX_PARTNER_KEYS + 1)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeySetMalformed, "{err}");
}
