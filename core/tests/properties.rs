//! Property tests: canonicalization is idempotent and formatting-blind; signatures
//! round-trip; any single-byte change to a receipt or a stored record is detected;
//! disclosures prove exactly the members committed to, and no changed one passes.

#![allow(clippy::unwrap_used)]

use evidentia::json::{Number, Value, parse};
use evidentia::{
    ChainState, ErrorCode, ErrorFamily, JwsOptions, KeySet, LogVerifyOptions, SigningKey, Timestamp, canonicalize,
    canonicalize_value, check_disclosures, commit, issue_receipt, sign_jws, verify_jws, verify_log, verify_receipt,
};
use proptest::prelude::*;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).ok()).prop_map(Value::Number),
        (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(|i| Value::Number(Number::from_i64(i).unwrap())),
        any::<String>().prop_map(Value::String),
        "[\\x00-\\x20\"\\\\a-z\u{7f}\u{e000}\u{ffff}\u{10000}]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Writes a value as valid but non-canonical JSON: random whitespace, every
/// character escaped as `\uXXXX`, numbers in exponent notation, members reversed.
fn scramble(value: &Value, noise: &mut impl Iterator<Item = u8>, out: &mut String) {
    fn space(noise: &mut impl Iterator<Item = u8>, out: &mut String) {
        for _ in 0..noise.next().unwrap_or(0) % 3 {
            out.push([' ', '\n', '\t', '\r'][usize::from(noise.next().unwrap_or(0) % 4)]);
        }
    }
    space(noise, out);
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&format!("{:e}", n.as_f64())),
        Value::String(s) => escape_all(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                scramble(item, noise, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (name, item)) in members.iter().rev().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                escape_all(name, out);
                out.push(':');
                scramble(item, noise, out);
            }
            out.push('}');
        }
    }
    space(noise, out);
}

fn escape_all(s: &str, out: &mut String) {
    out.push('"');
    for unit in s.encode_utf16() {
        out.push_str(&format!("\\u{unit:04X}"));
    }
    out.push('"');
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn canonicalization_is_idempotent_and_formatting_blind(value in json_value(), noise in prop::collection::vec(any::<u8>(), 64)) {
        let canonical = canonicalize_value(&value).unwrap();
        prop_assert_eq!(canonicalize(&canonical).unwrap(), canonical.clone());
        prop_assert_eq!(&parse(&canonical).unwrap(), &value_sorted(&value));
        let mut text = String::new();
        scramble(&value, &mut noise.into_iter().cycle(), &mut text);
        prop_assert_eq!(canonicalize(text.as_bytes()).unwrap(), canonical);
    }

    #[test]
    fn number_literals_round_as_rust_does(
        literal in "-?(0|[1-9][0-9]{0,30}0{0,10})(\\.0{0,20}[0-9]{1,30}0{0,5})?([eE][+-]?0{0,3}[0-9]{1,3})?"
    ) {
        // Rust's own parser is exact for literals this short: the double parsed must
        // be the one it gives, bit for bit (so -0 stays -0), or a refusal the rules call for.
        let expected: f64 = literal.parse().unwrap();
        let is_integer = !literal.contains(['.', 'e', 'E']);
        let nonzero = literal.bytes().take_while(|b| !matches!(b, b'e' | b'E')).any(|b| matches!(b, b'1'..=b'9'));
        match parse(literal.as_bytes()) {
            Ok(value) => prop_assert_eq!(value.as_number().unwrap().as_f64().to_bits(), expected.to_bits()),
            Err(e) => match e.code() {
                ErrorCode::JsonNumberOutOfRange => {
                    prop_assert!(expected.is_infinite() || (expected == 0.0 && nonzero), "{} refused: {}", literal, e);
                }
                ErrorCode::JsonIntegerPrecision => {
                    prop_assert!(is_integer && expected.abs() >= 9_007_199_254_740_992.0, "{} refused: {}", literal, e);
                }
                _ => prop_assert!(false, "{} refused: {}", literal, e),
            },
        }
    }

    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = canonicalize(&bytes);
        let _ = evidentia::Receipt::parse(&text);
        let _ = evidentia::Record::from_bytes(&bytes);
        let _ = KeySet::from_json(&text);
        let _ = SigningKey::from_text(&text);
        let _ = evidentia::PublicKey::from_text(&text);
        let _ = Timestamp::parse(&text);
        let _ = evidentia::Digest::parse(&text);
        let _ = verify_jws(&text, &KeySet::new(), None, None);
    }

    #[test]
    fn sign_verify_round_trips(seed in any::<[u8; 32]>(), payload in prop::collection::vec(any::<u8>(), 0..300), detached in any::<bool>(), unencoded in any::<bool>()) {
        let Ok(key) = SigningKey::from_bytes(&seed) else { return Ok(()) };
        let keys = KeySet::single(key.public_key());
        let options = JwsOptions { detached, unencoded };
        match sign_jws(&key, &payload, options) {
            Ok(jws) => {
                prop_assert_eq!(&sign_jws(&key, &payload, options).unwrap(), &jws, "deterministic");
                let supplied = detached.then_some(payload.as_slice());
                let verified = verify_jws(&jws, &keys, supplied, None).unwrap();
                prop_assert_eq!(verified.payload, payload);
            }
            Err(e) => {
                // Only an attached unencoded payload that compact serialization cannot carry.
                prop_assert!(unencoded && !detached);
                prop_assert_eq!(e.code(), ErrorCode::InvalidArgument);
            }
        }
    }

    #[test]
    fn any_single_byte_change_to_a_receipt_fails_verification(position in any::<prop::sample::Index>(), replacement in any::<u8>()) {
        let (key, log) = small_log();
        let keys = KeySet::single(key.public_key());
        let receipt = log[1].0.as_bytes();
        let i = position.index(receipt.len());
        prop_assume!(receipt[i] != replacement);
        let mut changed = receipt.to_vec();
        changed[i] = replacement;
        let changed = String::from_utf8_lossy(&changed).into_owned();
        match verify_receipt(&changed, &keys, Some(&log[1].1)) {
            // A receipt changed to begin with '{' is read as a batch receipt (JSON).
            Err(e) if changed.starts_with('{') => prop_assert_eq!(e.code(), ErrorCode::BatchReceiptMalformed),
            Err(e) => prop_assert!(matches!(e.code().family(), ErrorFamily::Jws | ErrorFamily::Record), "{e:?}"),
            Ok(report) => {
                // The right codes: a header naming another key fails the key checks;
                // a changed record or signature fails the signature check (and, when the
                // event digest itself changed, the event check).
                let codes = report.failure_codes();
                let allowed = [ErrorCode::SignatureInvalid, ErrorCode::KidMismatch, ErrorCode::KeyNotFound, ErrorCode::EventMismatch];
                prop_assert!(!codes.is_empty() && codes.iter().all(|c| allowed.contains(c)), "{:?}", codes);
                let header_len = log[1].0.find('.').unwrap();
                if i > header_len {
                    prop_assert!(codes.contains(&ErrorCode::SignatureInvalid), "{:?}", codes);
                }
            }
        }
        // In a log, the same change is a finding at that record.
        let mut entries = log.clone();
        entries[1].0 = changed;
        let report = verify_log(entries.iter().map(|(r, e)| (r.as_str(), Some(e.as_slice()))), &keys, LogVerifyOptions::default());
        prop_assert!(!report.is_valid());
        prop_assert_eq!(report.findings()[0].index, Some(1));
    }

    #[test]
    fn records_have_exactly_one_byte_form(
        seq in 0u64..(1u64 << 53),
        seconds in 0i64..253_402_300_799,
        nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000],
        nonce in proptest::option::of("[ -~é😂\\\\\"]{1,20}"),
        log_id in "[!-~]{1,30}",
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let record = evidentia::Record {
            log_id,
            seq,
            prev: (seq > 0).then(|| evidentia::Digest::sha256(&seq.to_be_bytes())),
            event: evidentia::Digest::sha256(b"event"),
            time: Timestamp::from_unix(seconds, nanos).unwrap(),
            nonce,
            kid: "kid".into(),
            version: if seq % 2 == 0 { evidentia::RecordVersion::V1 } else { evidentia::RecordVersion::V2 },
        };
        let bytes = record.to_bytes();
        prop_assert_eq!(&bytes, &canonicalize_value(&record.to_value()).unwrap());
        prop_assert_eq!(&evidentia::Record::from_bytes(&bytes).unwrap(), &record);
        // After any single-byte change, a record is either refused or read back to
        // exactly the changed bytes: no second spelling is ever accepted.
        let mut changed = bytes.clone();
        let i = position.index(changed.len());
        prop_assume!(changed[i] != replacement);
        changed[i] = replacement;
        if let Ok(other) = evidentia::Record::from_bytes(&changed) {
            prop_assert_eq!(other.to_bytes(), changed);
        }
    }

    #[test]
    fn any_single_byte_change_to_a_stored_event_fails_verification(position in any::<prop::sample::Index>(), replacement in any::<u8>()) {
        let (key, mut log) = small_log();
        let keys = KeySet::single(key.public_key());
        let event = &mut log[2].1;
        let i = position.index(event.len());
        prop_assume!(event[i] != replacement);
        event[i] = replacement;
        let report = verify_log(log.iter().map(|(r, e)| (r.as_str(), Some(e.as_slice()))), &keys, LogVerifyOptions::default());
        prop_assert_eq!(report.failure_codes(), vec![ErrorCode::EventMismatch]);
        prop_assert_eq!(report.findings()[0].index, Some(2));
    }

    #[test]
    fn disclosures_prove_exactly_the_committed_members(
        members in prop::collection::btree_map(any::<String>(), json_value(), 1..6),
        salt in prop::collection::vec(any::<u8>(), 16..=64),
        shown in any::<u64>(),
        change in any::<(prop::sample::Index, prop::sample::Index, u8)>(),
    ) {
        let event = Value::Object(members.into_iter().collect());
        let c = commit(&event, &salt).unwrap();
        // Any subset of the disclosures shows exactly those members with their values.
        let subset: Vec<&str> = c.disclosures.iter().enumerate().filter(|(i, _)| shown >> i & 1 == 1).map(|(_, d)| d.encoded()).collect();
        let disclosed = check_disclosures(&c.digest(), &c.document, &subset).unwrap();
        prop_assert_eq!(disclosed.undisclosed, c.disclosures.len() - subset.len());
        for d in &disclosed.disclosures {
            let committed = event.get(d.name().unwrap()).unwrap();
            prop_assert_eq!(canonicalize_value(committed).unwrap(), canonicalize_value(d.value()).unwrap());
        }
        // A single byte changed in one of them (of all, when none was shown), or in
        // the commitment, is refused.
        let (which, at, byte) = change;
        let mut changed: Vec<String> = match subset.is_empty() {
            true => c.disclosures.iter().map(|d| d.encoded().to_owned()).collect(),
            false => subset.iter().map(|d| (*d).to_owned()).collect(),
        };
        let target = which.index(changed.len());
        let mut bytes = changed[target].clone().into_bytes();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        changed[target] = String::from_utf8_lossy(&bytes).into_owned();
        let given: Vec<&str> = changed.iter().map(String::as_str).collect();
        prop_assert!(check_disclosures(&c.digest(), &c.document, &given).is_err());
        let mut document = c.document.clone();
        let i = at.index(document.len());
        prop_assume!(document[i] != byte);
        document[i] = byte;
        prop_assert!(check_disclosures(&c.digest(), &document, &subset).is_err());
    }
}

/// The value as the parser returns it: object members in canonical order.
fn value_sorted(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(value_sorted).collect()),
        Value::Object(members) => {
            let mut members: Vec<(String, Value)> = members.iter().map(|(k, v)| (k.clone(), value_sorted(v))).collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            Value::Object(members)
        }
        other => other.clone(),
    }
}

fn small_log() -> (SigningKey, Vec<(String, Vec<u8>)>) {
    let key = SigningKey::from_bytes(&[42u8; 32]).unwrap();
    let mut chain = ChainState::new("example.com/p").unwrap();
    let log = (0..4)
        .map(|i| {
            let event = format!(r#"{{"amount":{},"currency":"EUR","payee":"ACME Ltd","n":{i}}}"#, 100 + i);
            let time = Timestamp::from_unix(1_800_000_000 + i, 0).unwrap();
            let issued = issue_receipt(&key, &mut chain, event.as_bytes(), time, Some(&format!("req-{i}"))).unwrap();
            (issued.receipt.as_str().to_owned(), issued.event)
        })
        .collect();
    (key, log)
}
