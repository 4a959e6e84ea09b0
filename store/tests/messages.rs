//! Signed messages in a log on disk (SPEC.md §21): recorded with their link
//! checked, found by their payload's fields, refused at the gate every append
//! passes when they do not check out as recorded, and verified with the log.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use evidentia::json::parse;
use evidentia::{
    Direction, ErrorCode, JwsOptions, Link, NewMessage, PartnerKeys, SignedMessage, SigningKey, Timestamp, sign_jws,
};
use evidentia_store::{AppendOptions, CreateOptions, Log, LogReader, Mode, NewEvent};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("evidentia-messages-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Scratch(dir)
}

fn operator() -> SigningKey {
    SigningKey::from_bytes(&[3; 32]).unwrap()
}

fn partner() -> SigningKey {
    SigningKey::from_bytes(&[8; 32]).unwrap()
}

fn message(payload: &[u8], link: Option<Link>, forged: bool) -> SignedMessage {
    let mut jws = sign_jws(&partner(), payload, JwsOptions::default()).unwrap();
    if forged {
        let at = jws.rfind('.').unwrap() + 3;
        let flipped = if &jws[at..=at] == "A" { "B" } else { "A" };
        jws.replace_range(at..=at, flipped);
    }
    let keys = PartnerKeys::from_json(&partner().public_jwk()).unwrap();
    let provenance = parse(br#"{"partner_id":"BANK-042","established_by":"onboarding"}"#).unwrap();
    SignedMessage::verify_new(&NewMessage {
        jws: &jws,
        detached_payload: None,
        keys: &keys,
        provenance: &provenance,
        direction: Direction::Inbound,
        link,
        record_failure: forged,
        at: Timestamp::parse("2026-03-01T10:00:00Z").unwrap(),
    })
    .unwrap()
}

#[test]
fn messages_are_recorded_found_and_verified_in_both_modes() {
    let versions = [evidentia::RecordVersion::V1, evidentia::RecordVersion::V2];
    for (mode, version) in [Mode::Receipts, Mode::Batch].into_iter().flat_map(|m| versions.map(|v| (m, v))) {
        let dir = scratch(&format!("{}-{version:?}", mode.name()));
        let options = CreateOptions {
            log_id: Some("test.example/messages".into()),
            mode,
            index_fields: vec!["instruction_id".into()],
            record_version: Some(version),
            ..CreateOptions::default()
        };
        let log = Log::create(&dir.0, &operator(), options).unwrap();
        let request = br#"{"instruction_id":"INS-1","request":"authorize"}"#;
        log.append(&operator(), request, None).unwrap();
        let link = log.link_to(0).unwrap();
        let response = message(br#"{"approved":true,"instruction_id":"INS-1"}"#, Some(link), false);
        let appended = log.record_message(&operator(), &response, None, &AppendOptions::default()).unwrap();
        assert_eq!(appended.seq, 1);
        // A failed check recorded as such.
        let failed = message(br#"{"instruction_id":"INS-2"}"#, None, true);
        log.record_message(&operator(), &failed, None, &AppendOptions::default()).unwrap();
        if mode == Mode::Batch {
            log.checkpoint(&operator()).unwrap();
        }
        // The request and its response are found together; the message by its payload.
        assert_eq!(log.find("instruction_id", "INS-1").unwrap(), vec![0, 1]);
        assert_eq!(log.find("instruction_id", "INS-2").unwrap(), vec![2]);
        let stored = log.message(1).unwrap().unwrap();
        assert_eq!(stored.jws, response.jws);
        assert_eq!(stored.link, Some(link));
        assert!(log.message(0).unwrap().is_none());
        // A signed message of another party is a version-1 record in any log: a
        // dispute package shows it whole, with the record it answers.
        assert_eq!(log.entry(0).unwrap().record().unwrap().version, version);
        assert_eq!(log.entry(1).unwrap().record().unwrap().version, evidentia::RecordVersion::V1);
        if mode == Mode::Receipts {
            log.checkpoint(&operator()).unwrap();
            let package = evidentia_store::export_package(&dir.0, 1, &dir.0.join("package")).unwrap();
            let files = evidentia_store::read_package(&package).unwrap();
            assert!(files.iter().any(|f| f.name == "message.jws"));
            assert!(files.iter().any(|f| f.name == "request-event.json"));
            assert!(evidentia::package::verify_package(&files).iter().all(|c| c.failure.is_none()));
        }
        drop(log);

        let reader = LogReader::open(&dir.0).unwrap();
        let report = reader.verify(None, |_| {}).unwrap();
        assert!(report.is_valid(), "{}", report.to_text());
        let message_check = report.checks().iter().find(|c| c.check == evidentia::Check::Message).unwrap();
        assert_eq!(message_check.status, evidentia::Status::Passed);
    }
}

#[test]
fn the_gate_and_the_link_check_refuse_what_does_not_check_out() {
    let dir = scratch("gate");
    let log = Log::create(&dir.0, &operator(), CreateOptions::default()).unwrap();
    log.append(&operator(), br#"{"request":1}"#, None).unwrap();
    // A link to a record the log does not have, or with another digest.
    let link = log.link_to(0).unwrap();
    for bad in [Link { seq: 5, record: link.record }, Link { seq: 0, record: evidentia::Digest::sha256(b"x") }] {
        let err = log
            .record_message(&operator(), &message(b"{}", Some(bad), false), None, &AppendOptions::default())
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::LinkMismatch, "{err}");
    }
    // A failed check relabelled "valid", appended as a plain event.
    let failed = message(br#"{"n":1}"#, None, true);
    let text = String::from_utf8(failed.to_event_bytes()).unwrap();
    let claimed = text.replacen(r#""error":"SIGNATURE_INVALID","#, "", 1).replacen(
        r#""result":"invalid""#,
        &format!(r#""key_thumbprint":"{}","result":"valid""#, partner().kid()),
        1,
    );
    let events = [NewEvent { json: br#"{"n":0}"#, nonce: None }, NewEvent { json: claimed.as_bytes(), nonce: None }];
    let err = log.append_events(&operator(), &events, &AppendOptions::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MessageVerificationMismatch, "{err}");
    let err = log.append(&operator(), claimed.as_bytes(), None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MessageVerificationMismatch);
    let malformed = br#"{"evidentia_signed_message":{"format":1}}"#;
    assert_eq!(log.append(&operator(), malformed, None).unwrap_err().code(), ErrorCode::MessageMalformed);
    assert_eq!(log.len(), 1, "nothing refused was stored");
}
