//! Key records in a log (SPEC.md §23.2): who may sign them, and that each follows
//! from the one before. The store writes only honest ones, so these are made by
//! hand, as someone holding a key but not following the rules could.
#![allow(clippy::unwrap_used)]

use evidentia::{
    ChainState, Deferral, Digest, ErrorCode, KeyRecord, KeySet, LogVerifier, LogVerifyOptions, PublicKey, Receipt,
    SigningKey, Timestamp,
};

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32]).unwrap()
}

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_unix(1_800_000_000 + seconds, 0).unwrap()
}

/// Verifies a log of `(signer, event)` entries at times 0, 1, 2, … against `keys`,
/// once with the signatures checked here and once with them deferred and answered
/// outside (as WebCrypto does in a browser), which must give the same report.
fn verify(entries: &[(&SigningKey, Vec<u8>)], keys: &KeySet) -> Vec<ErrorCode> {
    let mut chain = ChainState::new("example.com/keys").unwrap();
    let mut receipts = Vec::new();
    for (i, (signer, event)) in entries.iter().enumerate() {
        let time = t(i64::try_from(i).unwrap());
        let chained = chain.append(signer.public_key().kid(), Digest::sha256(event), time, None).unwrap();
        receipts.push((Receipt::sign(*signer, &chained.record).unwrap(), event));
    }
    let run = |keys: &KeySet| {
        let mut verifier = LogVerifier::new(keys, LogVerifyOptions::default());
        for (receipt, event) in &receipts {
            verifier.push(receipt.as_str(), Some(event));
        }
        verifier.finish()
    };
    let report = run(keys);
    let deferral = Deferral::new(keys);
    let assumed = run(deferral.keys());
    let answers: Vec<bool> = deferral
        .take_checks()
        .iter()
        .map(|c| PublicKey::from_sec1(&c.public_key).unwrap().verify(&c.message, &c.signature))
        .collect();
    assert_eq!(deferral.finish(assumed, &answers, run), report);
    report.failure_codes()
}

#[test]
fn key_records_must_be_signed_by_the_keys_allowed_to_and_follow_each_other() {
    let (k1, k2, k3) = (key(1), key(2), key(3));
    let start = KeySet::single(k1.public_key());
    // Records are at 0, 1, 2 s: the rotation record at 1 s hands over at 1.5 s.
    let half = |s: i64| Timestamp::from_unix(1_800_000_000 + s, 500_000_000).unwrap();
    let rotation = KeyRecord::rotate(&start, k1.public_key(), k2.public_key(), half(1)).unwrap();
    let revocation = KeyRecord::revoke(&rotation.keys, k1.public_key().kid(), half(1), None).unwrap();
    let plain = br#"{"n":1}"#.to_vec();

    // Honest: k1 hands over to k2, k2 revokes k1 (after k1's last record).
    let honest = [(&k1, plain.clone()), (&k1, rotation.to_event()), (&k2, revocation.to_event())];
    assert_eq!(verify(&honest[..2], &rotation.keys), vec![]);
    assert_eq!(verify(&honest, &revocation.keys), vec![]);

    // The incoming key signs its own rotation: not the outgoing key's word.
    let by_incoming = [(&k1, plain.clone()), (&k2, rotation.to_event())];
    let codes = verify(&by_incoming, &rotation.keys);
    assert!(codes.contains(&ErrorCode::KeyHistoryMismatch), "{codes:?}");

    // The revoked key revokes itself.
    let revoke_k2 = KeyRecord::revoke(&rotation.keys, k2.public_key().kid(), t(20), None).unwrap();
    let by_revoked = [(&k1, plain.clone()), (&k1, rotation.to_event()), (&k2, revoke_k2.to_event())];
    assert_eq!(verify(&by_revoked, &revoke_k2.keys), vec![ErrorCode::KeyHistoryMismatch]);

    // A second key record that does not follow the first: k3 slipped into its set.
    let mut widened = rotation.keys.clone();
    widened.add(k3.public_key(), evidentia::Validity::default()).unwrap();
    let not_following = KeyRecord::revoke(&widened, k1.public_key().kid(), half(1), None).unwrap();
    let forked = [(&k1, plain.clone()), (&k1, rotation.to_event()), (&k2, not_following.to_event())];
    assert_eq!(verify(&forked, &not_following.keys), vec![ErrorCode::KeyHistoryMismatch]);

    // A key record that cannot be read is reported as such.
    let garbled = String::from_utf8(rotation.to_event()).unwrap().replace("\"rotate\"", "\"rename\"");
    let codes = verify(&[(&k1, garbled.into_bytes())], &start);
    assert_eq!(codes, vec![ErrorCode::KeyRecordMalformed]);

    // The key set used to verify must be the last key record's.
    assert_eq!(verify(&honest[..2], &start), vec![ErrorCode::KeyHistoryMismatch]);
    // ... as a history: the same keys and validity in another order, without their
    // `alg` and `use`, is the same history.
    let reordered = {
        let text = revocation.keys.to_json();
        let set = evidentia::json::parse(text.as_bytes()).unwrap();
        let mut entries: Vec<_> = set.get("keys").unwrap().as_array().unwrap().to_vec();
        entries.reverse();
        let entries: Vec<_> = entries
            .into_iter()
            .map(|e| match e {
                evidentia::Value::Object(members) => {
                    evidentia::Value::Object(members.into_iter().filter(|(n, _)| n != "alg" && n != "use").collect())
                }
                other => other,
            })
            .collect();
        let value = evidentia::Value::object([("keys", evidentia::Value::Array(entries))]);
        KeySet::from_json(&String::from_utf8(evidentia::canonicalize_value(&value).unwrap()).unwrap()).unwrap()
    };
    assert_ne!(reordered.to_json(), revocation.keys.to_json());
    assert_eq!(verify(&honest, &reordered), vec![]);

    // A rotation's key record is the outgoing key's last record.
    let after_handover = [(&k1, plain.clone()), (&k1, rotation.to_event()), (&k1, br#"{"n":2}"#.to_vec())];
    assert_eq!(verify(&after_handover, &rotation.keys), vec![ErrorCode::KeyExpired, ErrorCode::KeyHistoryMismatch]);

    // Only a retired key is revoked: k2 (current, no expiry) revoked by k3, which
    // someone put beside it.
    let mut two_current = rotation.keys.clone();
    two_current.add(k3.public_key(), evidentia::Validity::default()).unwrap();
    let revoke_current = KeyRecord::revoke(&two_current, k2.public_key().kid(), half(1), None).unwrap();
    let by_intruder = [(&k1, plain.clone()), (&k3, revoke_current.to_event())];
    assert_eq!(verify(&by_intruder, &revoke_current.keys), vec![ErrorCode::KeyHistoryMismatch]);

    // A key slipped into the key set before the first key record, with an expiry far
    // ahead so that it is not a second current key, is not signed into the history.
    let mut slipped = start.clone();
    let far = evidentia::Validity { expires: Some(t(1_000_000)), ..evidentia::Validity::default() };
    slipped.add(k3.public_key(), far).unwrap();
    let laundering = KeyRecord::rotate(&slipped, k1.public_key(), k2.public_key(), half(1)).unwrap();
    let laundered = [(&k1, plain.clone()), (&k1, laundering.to_event())];
    assert_eq!(verify(&laundered, &laundering.keys), vec![ErrorCode::KeyHistoryMismatch]);

    // However the stored event spells the member's name, it is a key record.
    let escaped = String::from_utf8(rotation.to_event()).unwrap().replacen("key_record", "key_r\\u0065cord", 1);
    let escaped = escaped.replace("\"rotate\"", "\"rename\"");
    assert_eq!(verify(&[(&k1, escaped.into_bytes())], &start), vec![ErrorCode::KeyRecordMalformed]);
}
