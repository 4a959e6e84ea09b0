//! Receipts, key histories and log verification, including every kind of tampering.

#![allow(clippy::unwrap_used)]

use evidentia::{
    ChainState, Digest, ErrorCode, Issued, JwsOptions, KeySet, LogVerifier, LogVerifyOptions, Receipt, Record,
    SigningKey, Status, Timestamp, Validity, issue_receipt, sign_jws, verify_log, verify_receipt,
};

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(Digest::sha256(&[n]).as_bytes()).unwrap()
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix(1_790_000_000 + seconds, 0).unwrap()
}

/// A log of `n` records with events `{"n":i}`, one second apart, nonces `n-i`.
fn build_log(key: &SigningKey, n: usize) -> Vec<Issued> {
    let mut chain = ChainState::new("example.com/payments").unwrap();
    (0..n)
        .map(|i| {
            let event = format!(r#"{{ "n": {i}, "action": "approve" }}"#);
            issue_receipt(key, &mut chain, event.as_bytes(), at(i as i64), Some(&format!("n-{i}"))).unwrap()
        })
        .collect()
}

fn verify_entries(entries: &[(String, Vec<u8>)], keys: &KeySet) -> evidentia::Report {
    verify_log(entries.iter().map(|(r, e)| (r.as_str(), Some(e.as_slice()))), keys, LogVerifyOptions::default())
}

fn stored(log: &[Issued]) -> Vec<(String, Vec<u8>)> {
    log.iter().map(|i| (i.receipt.as_str().to_owned(), i.event.clone())).collect()
}

#[test]
fn issued_receipts_verify_and_chain() {
    let k = key(1);
    let log = build_log(&k, 5);
    let keys = KeySet::single(k.public_key());
    for (i, issued) in log.iter().enumerate() {
        let record = issued.receipt.record();
        assert_eq!(record.seq, i as u64);
        assert_eq!(record.prev, if i == 0 { None } else { Some(log[i - 1].receipt.record().digest()) });
        assert_eq!(issued.event, format!(r#"{{"action":"approve","n":{i}}}"#).as_bytes());
        // The auditor may hold the event in any formatting.
        let pretty = format!("{{\n  \"n\": {i}.0,\n  \"action\": \"approve\"\n}}");
        let report = verify_receipt(issued.receipt.as_str(), &keys, Some(pretty.as_bytes())).unwrap();
        assert!(report.is_valid(), "{}", report.to_text());
        assert_eq!(report.records(), 1);
    }
    let report = verify_entries(&stored(&log), &keys);
    assert!(report.is_valid(), "{}", report.to_text());
    assert_eq!(report.records(), 5);
    assert_eq!(report.log_id(), Some("example.com/payments"));
    // Without checkpoints, a stored tree, signed messages or key records, those checks do not apply.
    for c in report.checks() {
        let applies = !matches!(
            c.check,
            evidentia::Check::Checkpoint
                | evidentia::Check::Tree
                | evidentia::Check::Message
                | evidentia::Check::KeyHistory
        );
        assert_eq!(c.status, if applies { Status::Passed } else { Status::Skipped }, "{}", report.to_text());
    }
    assert!(report.summary().starts_with("VALID: log of 5 records"));
}

#[test]
fn receipts_are_deterministic() {
    let a = build_log(&key(1), 3);
    let b = build_log(&key(1), 3);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.receipt.as_str(), y.receipt.as_str());
    }
}

#[test]
fn receipt_verification_failures_are_reports() {
    let k = key(1);
    let issued = &build_log(&k, 1)[0];
    let receipt = issued.receipt.as_str();

    let report =
        verify_receipt(receipt, &KeySet::single(k.public_key()), Some(br#"{"n":1,"action":"approve"}"#)).unwrap();
    assert_eq!(report.failure_codes(), vec![ErrorCode::EventMismatch]);

    let report = verify_receipt(receipt, &KeySet::single(key(2).public_key()), None).unwrap();
    assert_eq!(report.failure_codes(), vec![ErrorCode::KeyNotFound]);
    assert!(report.summary().starts_with("INVALID"));

    // Malformed input is an error, not a report.
    assert_eq!(verify_receipt("a.b", &KeySet::new(), None).unwrap_err().code(), ErrorCode::JwsMalformed);
    assert_eq!(
        verify_receipt(receipt, &KeySet::single(k.public_key()), Some(b"{not json")).unwrap_err().code(),
        ErrorCode::JsonSyntax
    );
}

#[test]
fn a_generic_jws_over_a_record_is_not_a_receipt() {
    let k = key(1);
    let record_bytes = build_log(&k, 1)[0].receipt.record_bytes().to_vec();
    let jws = sign_jws(&k, &record_bytes, JwsOptions::default()).unwrap();
    assert_eq!(Receipt::parse(&jws).unwrap_err().code(), ErrorCode::ReceiptMalformed);
}

#[test]
fn rotation_keeps_old_receipts_valid_and_revocation_cuts_later_ones() {
    let (old, new) = (key(1), key(2));
    let rotation = at(100);
    let mut keys = KeySet::new();
    keys.add(old.public_key(), Validity { not_before: Some(at(0)), expires: Some(rotation), ..Default::default() })
        .unwrap();
    keys.add(new.public_key(), Validity { not_before: Some(rotation), ..Default::default() }).unwrap();
    // Round-trip the key history through its JWKS text, as a verifier would load it.
    let keys = KeySet::from_json(&keys.to_json()).unwrap();

    let sign_at = |k: &SigningKey, t: Timestamp| {
        let mut chain = ChainState::new("example.com/log").unwrap();
        issue_receipt(k, &mut chain, b"{}", t, None).unwrap().receipt.as_str().to_owned()
    };
    let codes = |receipt: &str, keys: &KeySet| verify_receipt(receipt, keys, None).unwrap().failure_codes();
    assert_eq!(codes(&sign_at(&old, at(99)), &keys), vec![]);
    assert_eq!(codes(&sign_at(&old, at(100)), &keys), vec![ErrorCode::KeyExpired]);
    assert_eq!(codes(&sign_at(&new, at(100)), &keys), vec![]);
    assert_eq!(codes(&sign_at(&new, at(99)), &keys), vec![ErrorCode::KeyNotYetValid]);

    // The new key is compromised at t=500: receipts claiming earlier times still verify.
    let mut revoked = keys.clone();
    revoked
        .set_validity(
            new.kid(),
            Validity {
                not_before: Some(rotation),
                revoked_at: Some(at(500)),
                revocation_reason: Some("keyCompromise".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let revoked = KeySet::from_json(&revoked.to_json()).unwrap();
    assert!(revoked.to_json().contains(r#""revoked":{"reason":"keyCompromise","revoked_at":1790000500}"#));
    assert_eq!(codes(&sign_at(&new, at(499)), &revoked), vec![]);
    assert_eq!(codes(&sign_at(&new, at(500)), &revoked), vec![ErrorCode::KeyRevoked]);
    assert_eq!(codes(&sign_at(&new, at(10_000)), &revoked), vec![ErrorCode::KeyRevoked]);
}

fn failures(report: &evidentia::Report) -> Vec<(ErrorCode, Option<u64>)> {
    report.findings().iter().map(|f| (f.code, f.index)).collect()
}

#[test]
fn every_kind_of_tampering_is_detected_with_its_code_and_position() {
    let k = key(1);
    let keys = KeySet::single(k.public_key());
    let log = stored(&build_log(&k, 8));

    // An edited event.
    let mut edited = log.clone();
    edited[3].1 = br#"{"action":"approve","n":300}"#.to_vec();
    assert_eq!(failures(&verify_entries(&edited, &keys)), vec![(ErrorCode::EventMismatch, Some(3))]);

    // A re-formatted event with the same value: the stored bytes are what was hashed.
    let mut reformatted = log.clone();
    reformatted[3].1 = br#"{"action":"approve","n":3.0}"#.to_vec();
    let report = verify_entries(&reformatted, &keys);
    assert_eq!(failures(&report), vec![(ErrorCode::EventMismatch, Some(3))]);
    assert!(report.findings()[0].message.contains("re-formatted"));

    // A deleted record.
    let mut deleted = log.clone();
    deleted.remove(4);
    assert_eq!(
        failures(&verify_entries(&deleted, &keys)),
        vec![(ErrorCode::ChainBroken, Some(4)), (ErrorCode::SequenceGap, Some(4))]
    );

    // Two records swapped.
    let mut swapped = log.clone();
    swapped.swap(2, 3);
    assert_eq!(
        failures(&verify_entries(&swapped, &keys)),
        vec![
            (ErrorCode::ChainBroken, Some(2)),
            (ErrorCode::SequenceReordered, Some(3)),
            (ErrorCode::ChainBroken, Some(3)),
            (ErrorCode::TimeBackwards, Some(3)),
            (ErrorCode::ChainBroken, Some(4)),
        ]
    );

    // A record stored twice.
    let mut duplicated = log.clone();
    duplicated.insert(5, log[4].clone());
    assert_eq!(
        failures(&verify_entries(&duplicated, &keys)),
        vec![
            (ErrorCode::SequenceDuplicate, Some(5)),
            (ErrorCode::ChainBroken, Some(5)),
            (ErrorCode::NonceReplayed, Some(5))
        ]
    );

    // The first records cut off.
    let truncated = log[2..].to_vec();
    assert_eq!(
        failures(&verify_entries(&truncated, &keys)),
        vec![(ErrorCode::ChainBroken, Some(0)), (ErrorCode::SequenceGap, Some(0))]
    );

    // A damaged receipt.
    let mut damaged = log.clone();
    damaged[6].0.replace_range(10..11, "!");
    let report = verify_entries(&damaged, &keys);
    assert_eq!(failures(&report), vec![(ErrorCode::JwsMalformed, Some(6))]);
    assert_eq!(report.checks()[0].status, Status::Failed);

    // An unreadable stored entry.
    let mut verifier = LogVerifier::new(&keys, LogVerifyOptions::default());
    verifier.push(&log[0].0, Some(&log[0].1));
    verifier.push_unreadable("line 2 has no receipt");
    verifier.push(&log[2].0, Some(&log[2].1));
    let report = verifier.finish();
    assert_eq!(failures(&report), vec![(ErrorCode::RecordUnreadable, Some(1))]);
}

#[test]
fn replayed_nonces_backwards_time_and_foreign_records_are_detected() {
    let k = key(1);
    let keys = KeySet::single(k.public_key());
    let mut chain = ChainState::new("example.com/log").unwrap();
    let mut entries = Vec::new();
    let mut add = |chain: &mut ChainState, t: Timestamp, nonce: Option<&str>| {
        let record = chain.next_record(k.kid(), Digest::sha256(b"{}"), t, nonce);
        // Bypass the writer's own guard against going back in time.
        let record = record.unwrap_or_else(|_| {
            let mut r = chain.next_record(k.kid(), Digest::sha256(b"{}"), at(1_000_000), nonce).unwrap();
            r.time = t;
            r
        });
        entries.push((Receipt::sign(&k, &record).unwrap().as_str().to_owned(), b"{}".to_vec()));
        *chain = ChainState::after(&record);
    };
    add(&mut chain, at(10), Some("a"));
    add(&mut chain, at(20), Some("b"));
    add(&mut chain, at(15), Some("a"));
    let report = verify_entries(&entries, &keys);
    assert_eq!(failures(&report), vec![(ErrorCode::TimeBackwards, Some(2)), (ErrorCode::NonceReplayed, Some(2))]);

    // A record of another log spliced in, chained correctly.
    let mut other = ChainState::after(&Receipt::parse(&entries[2].0).unwrap().record().clone());
    let mut record = other.next_record(k.kid(), Digest::sha256(b"{}"), at(30), None).unwrap();
    record.log_id = "example.com/other".into();
    entries.push((Receipt::sign(&k, &record).unwrap().as_str().to_owned(), b"{}".to_vec()));
    other = ChainState::after(&record);
    let _ = other;
    let report = verify_entries(&entries, &keys);
    assert!(failures(&report).contains(&(ErrorCode::LogIdMismatch, Some(3))));
}

#[test]
fn writer_refuses_to_go_back_in_time_and_checks_its_chain() {
    let k = key(1);
    let mut chain = ChainState::new("example.com/log").unwrap();
    issue_receipt(&k, &mut chain, b"{}", at(10), None).unwrap();
    let err = issue_receipt(&k, &mut chain, b"{}", at(9), None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TimeInvalid);
    assert_eq!(chain.next_seq(), 1, "a failed append leaves the chain unchanged");
    assert_eq!(ChainState::new("has space").unwrap_err().code(), ErrorCode::LogIdInvalid);
    assert_eq!(ChainState::new("").unwrap_err().code(), ErrorCode::LogIdInvalid);
    let stray = Record { seq: 7, ..chain.next_record(k.kid(), Digest::sha256(b"{}"), at(11), None).unwrap() };
    assert_eq!(chain.advance(&stray).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(issue_receipt(&k, &mut chain, b"{", at(11), None).unwrap_err().code(), ErrorCode::JsonSyntax);
    assert_eq!(issue_receipt(&k, &mut chain, b"{}", at(11), Some("")).unwrap_err().code(), ErrorCode::InvalidArgument);
}

#[test]
fn non_canonical_records_are_refused() {
    let k = key(1);
    let record = build_log(&k, 1)[0].receipt.record().clone();
    let bytes = record.to_bytes();
    assert_eq!(Record::from_bytes(&bytes).unwrap(), record);
    let text = String::from_utf8(bytes).unwrap();
    for bad in [
        text.replacen('{', "{ ", 1),
        text.replace(r#""v":1"#, r#""v":3"#),
        text.replace(r#""v":1"#, r#""v":0"#),
        text.replace(r#""v":1"#, r#""v":1,"x":1"#),
        text.replace(r#""seq":0"#, r#""seq":-1"#),
        text.replace(r#""seq":0"#, r#""seq":0.5"#),
        text.replace(r#""prev":null"#, r#""prev":"sha256:00""#),
        text.replace("2026-", "2026/"),
        text.replace(r#""nonce":"n-0","#, r#""nonce":"","#),
    ] {
        assert!(Record::from_bytes(bad.as_bytes()).is_err(), "{bad}");
    }
}
