//! `cargo xtask vectors`: the language-neutral test vectors in `testvectors/`,
//! generated from the core, deterministically. Every binding runs these files.

use std::collections::BTreeMap;

use evidentia::encoding::hex;
use evidentia::json::{Value, to_pretty_string};
use evidentia::{
    ChainState, ConsistencyProof, Digest, ErrorCode, ErrorFamily, InclusionProof, JwsOptions, KeySet, LogVerifyOptions,
    Receipt, Record, SigningKey, Timestamp, Validity, canonicalize, issue_receipt, sign_jws, verify_jws, verify_log,
    verify_receipt,
};

/// File name → contents of every generated vector file.
pub(crate) fn generate() -> BTreeMap<&'static str, String> {
    let mut files = BTreeMap::new();
    files.insert("canonicalization.json", pretty(canonicalization()));
    files.insert("digests.json", pretty(digests()));
    files.insert("keys.json", pretty(keys()));
    files.insert("jws.json", pretty(jws()));
    files.insert("receipts.json", pretty(receipts()));
    files.insert("logs.json", pretty(logs()));
    files.insert("merkle.json", pretty(merkle_vectors()));
    files.insert("checkpoints.json", pretty(checkpoints()));
    files.insert("batch_receipts.json", pretty(batch_receipts()));
    files.insert("errors.json", pretty(errors()));
    files.insert("commitments.json", pretty(commitments()));
    files.insert("cross_language.json", pretty(cross_language()));
    files.insert("hostile.json", crate::hostile::generate());
    files.insert("partner.json", pretty(crate::partner_vectors::generate(&crate::util::root())));
    files.insert("witness.json", pretty(crate::witness_vectors::generate()));
    files.insert("timestamps.json", pretty(crate::timestamp_vectors::generate(&crate::util::root())));
    files
}

fn pretty(value: Value) -> String {
    to_pretty_string(&value).expect("vector values are valid JSON")
}

fn obj(members: Vec<(&str, Value)>) -> Value {
    Value::object(members)
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn n(value: u64) -> Value {
    Value::Number(evidentia::json::Number::from_i64(value as i64).expect("small"))
}

fn file(description: &str, members: Vec<(&str, Value)>) -> Value {
    let mut all = vec![("description", s(description)), ("generator", s("cargo xtask vectors")), ("version", n(1))];
    all.extend(members);
    obj(all)
}

/// The deterministic test key number `i`.
pub(crate) fn test_key(i: u8) -> SigningKey {
    SigningKey::from_bytes(Digest::sha256(format!("evidentia test vector key {i}").as_bytes()).as_bytes())
        .expect("a SHA-256 output is a valid P-256 scalar with overwhelming probability")
}

pub(crate) fn time(seconds: i64) -> Timestamp {
    // 2026-01-01T00:00:00Z plus `seconds`.
    Timestamp::from_unix(1_767_225_600 + seconds, 0).expect("in range")
}

fn code(e: &evidentia::Error) -> Value {
    s(e.code().name())
}

fn canonicalization() -> Value {
    let valid: &[(&str, &[u8])] = &[
        ("sorted members", br#"{"b":1,"a":2}"#),
        ("nested objects and arrays", br#"{ "z": [ {"y": 1, "x": [true, false, null]} ], "a": {} }"#),
        ("utf-16 member order", "{\"\u{e000}\":1,\"\u{1f600}\":2,\"a\":3}".as_bytes()),
        ("escapes", br#"["\u0000\u001f\"\\\/\b\f\n\r\t", "\u00e9\u2028\ud83d\ude00"]"#),
        ("numbers", br#"[0, -0, 1.0, 1e2, 1E-7, 123456789012, 0.1, 1e21, 1e-6, 5e-324, 1.7976931348623157e308]"#),
        ("integer at 2^53", b"[9007199254740992, -9007199254740992]"),
        ("large integer in canonical spelling", b"295147905179352830000"),
        ("whitespace everywhere", b" \t\r\n[ 1 , 2 ]\n"),
        ("top-level string", br#""text""#),
        ("top-level literal", b"true"),
        ("empty containers", br#"[[],{},[{}]]"#),
        ("unnormalized unicode is kept", "\"A\u{30a}\"".as_bytes()),
    ];
    let invalid: &[(&str, &[u8])] = &[
        ("empty input", b""),
        ("trailing comma", b"[1,]"),
        ("single quotes", b"{'a':1}"),
        ("leading zero", b"01"),
        ("NaN literal", b"NaN"),
        ("trailing data", b"{} {}"),
        ("comment", b"/* c */ 1"),
        ("byte order mark", b"\xef\xbb\xbf{}"),
        ("raw control character in a string", b"\"a\x01b\""),
        ("duplicate member", br#"{"a":1,"a":2}"#),
        ("duplicate member spelled with an escape", br#"{"a":1,"\u0061":2}"#),
        ("lone high surrogate", br#""\ud800""#),
        ("lone low surrogate", br#""\udc00x""#),
        ("invalid UTF-8", b"\"\xff\""),
        ("overlong UTF-8", b"\"\xc0\xaf\""),
        ("UTF-8 encoded surrogate", b"\"\xed\xa0\x80\""),
        ("number overflows", b"1e400"),
        ("number underflows", b"1e-400"),
        ("integer loses precision", b"9007199254740993"),
        ("long integer loses precision", b"12345678901234567890"),
    ];
    let mut cases = Vec::new();
    for (name, input) in valid {
        let canonical = canonicalize(input).expect("valid vector");
        cases.push(obj(vec![
            ("name", s(*name)),
            ("input_hex", s(hex(input))),
            ("canonical", s(String::from_utf8(canonical).expect("UTF-8"))),
        ]));
    }
    for (name, input) in invalid {
        let error = canonicalize(input).expect_err("invalid vector");
        cases.push(obj(vec![("name", s(*name)), ("input_hex", s(hex(input))), ("error", code(&error))]));
    }
    let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
    cases.push(obj(vec![
        ("name", s("nesting deeper than the default limit of 128")),
        ("input_hex", s(hex(deep.as_bytes()))),
        ("error", s(ErrorCode::JsonTooDeep.name())),
    ]));
    let limit = format!("{}{}", "[".repeat(128), "]".repeat(128));
    cases.push(obj(vec![
        ("name", s("nesting at the default limit of 128")),
        ("input_hex", s(hex(limit.as_bytes()))),
        ("canonical", s(limit)),
    ]));
    file(
        "RFC 8785 canonicalization with the default limits. input_hex is the JSON text; a case has either the canonical text or the error code name.",
        vec![("cases", Value::Array(cases))],
    )
}

fn digests() -> Value {
    let inputs = [
        "{}",
        "[]",
        r#"{"b":2,"a":1}"#,
        r#"{ "a" : 1 , "b" : 2.0 }"#,
        r#""€""#,
        r#"{"amount":"100.00","currency":"EUR"}"#,
    ];
    let cases = inputs
        .iter()
        .map(|input| {
            obj(vec![
                ("input", s(*input)),
                ("canonical", s(String::from_utf8(canonicalize(input.as_bytes()).expect("valid")).expect("UTF-8"))),
                ("digest", s(Digest::of_json(input.as_bytes()).expect("valid").to_string())),
            ])
        })
        .collect();
    let raw = [&b""[..], b"abc", b"evidentia"]
        .iter()
        .map(|bytes| obj(vec![("input_hex", s(hex(bytes))), ("digest", s(Digest::sha256(bytes).to_string()))]))
        .collect();
    file(
        "SHA-256 digests in the notation sha256:<64 lowercase hex>. json: digest of the canonical form of the input text; raw: digest of the bytes.",
        vec![("json", Value::Array(cases)), ("raw", Value::Array(raw))],
    )
}

fn keys() -> Value {
    let keys = (1..=3)
        .map(|i| {
            let key = test_key(i);
            let public = key.public_key();
            obj(vec![
                ("name", s(format!("key{i}"))),
                ("private_scalar_hex", s(hex(&key.to_bytes()))),
                ("private_jwk", s(key.to_jwk())),
                ("private_pem", s(key.to_pem())),
                ("public_jwk", s(key.public_jwk())),
                ("public_pem", s(public.to_pem())),
                ("public_sec1_uncompressed_hex", s(hex(&public.to_sec1(false)))),
                ("public_sec1_compressed_hex", s(hex(&public.to_sec1(true)))),
                ("kid", s(key.kid())),
            ])
        })
        .collect();
    let key = test_key(1);
    let other = test_key(2);
    let mismatched =
        key.public_jwk().replacen('}', &format!(",\"d\":\"{}\"}}", evidentia::encoding::b64url(&other.to_bytes())), 1);
    let invalid_private = [
        ("empty", String::new()),
        ("not JSON", "{".to_owned()),
        ("no kty", "{}".to_owned()),
        ("RSA key", r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#.to_owned()),
        ("P-384 key", r#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#.to_owned()),
        ("short coordinates", r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#.to_owned()),
        ("public key only", key.public_jwk()),
        ("private part of another key", mismatched),
        ("point off the curve", off_curve_jwk(&key)),
        ("garbage PEM", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_owned()),
    ]
    .into_iter()
    .map(|(name, input)| {
        let error = SigningKey::from_text(&input).expect_err("invalid vector");
        obj(vec![("name", s(name)), ("input", s(input)), ("error", code(&error))])
    })
    .collect();
    let invalid_key_sets = [
        ("not JSON", "[".to_owned()),
        ("neither JWKS nor JWK", "{}".to_owned()),
        ("keys is not an array", r#"{"keys":{}}"#.to_owned()),
        ("entry is not an object", r#"{"keys":[1]}"#.to_owned()),
        ("same key twice", format!(r#"{{"keys":[{0},{0}]}}"#, key.public_jwk())),
        ("bad NumericDate", key.public_jwk().replacen('}', r#","exp":"tomorrow"}"#, 1)),
    ]
    .into_iter()
    .map(|(name, input)| {
        let error = KeySet::from_json(&input).expect_err("invalid vector");
        obj(vec![("name", s(name)), ("input", s(input)), ("error", code(&error))])
    })
    .collect();
    file(
        "P-256 keys in every format with their RFC 7638 kids; private keys and key sets that must be refused, with error code names.",
        vec![
            ("keys", Value::Array(keys)),
            ("invalid_private_keys", Value::Array(invalid_private)),
            ("invalid_key_sets", Value::Array(invalid_key_sets)),
        ],
    )
}

/// A private JWK whose public point is moved off the curve.
fn off_curve_jwk(key: &SigningKey) -> String {
    let mut point = key.public_key().to_sec1(false);
    point[64] ^= 1;
    let b64 = evidentia::encoding::b64url;
    format!(
        r#"{{"crv":"P-256","d":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
        b64(&key.to_bytes()),
        b64(&point[1..33]),
        b64(&point[33..])
    )
}

fn jws() -> Value {
    let key = test_key(1);
    let payloads: &[&[u8]] = &[b"", b"hello", br#"{"iss":"evidentia","n":1}"#, b"$.02", &[0, 1, 2, 254, 255]];
    let mut sign = Vec::new();
    for payload in payloads {
        for (detached, unencoded) in [(false, false), (true, false), (false, true), (true, true)] {
            let Ok(jws) = sign_jws(&key, payload, JwsOptions { detached, unencoded }) else {
                continue; // An attached unencoded payload that is not plain text.
            };
            sign.push(obj(vec![
                ("key", s("key1")),
                ("payload_hex", s(hex(payload))),
                ("detached", Value::Bool(detached)),
                ("unencoded", Value::Bool(unencoded)),
                ("jws", s(jws)),
            ]));
        }
    }
    let jwks1 = KeySet::single(key.public_key()).to_json();
    let mut both = KeySet::single(key.public_key());
    both.add(test_key(2).public_key(), Validity::default()).expect("distinct keys");
    let both = both.to_json();
    let jwks2 = KeySet::single(test_key(2).public_key()).to_json();
    let signed = sign_jws(&key, b"hello", JwsOptions::default()).expect("sign");
    let detached = sign_jws(&key, b"hello", JwsOptions { detached: true, unencoded: false }).expect("sign");
    let (header, rest) = signed.split_once('.').expect("compact");
    let (_, signature) = rest.split_once('.').expect("compact");
    let no_kid = {
        // Sign by hand a JWS whose header has no kid: same key, header {"alg":"ES256"}.
        let header = evidentia::encoding::b64url(br#"{"alg":"ES256"}"#);
        let input = format!("{header}.{}", evidentia::encoding::b64url(b"hello"));
        let signature = evidentia::encoding::b64url(&key.sign(input.as_bytes()));
        format!("{input}.{signature}")
    };
    let flipped = {
        let mut bytes = signature.as_bytes().to_vec();
        bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
        format!("{header}.{}.{}", rest.split_once('.').expect("compact").0, String::from_utf8(bytes).expect("ASCII"))
    };
    let cases: Vec<(&str, String, &str, Option<&[u8]>)> = vec![
        ("attached", signed.clone(), &jwks1, None),
        ("detached with its payload", detached.clone(), &jwks1, Some(b"hello")),
        ("detached with another payload", detached.clone(), &jwks1, Some(b"hellO")),
        ("attached with a second payload", signed.clone(), &jwks1, Some(b"hello")),
        ("key set without the key", signed.clone(), &jwks2, None),
        ("key chosen by kid from two", signed.clone(), &both, None),
        ("no kid, one key", no_kid.clone(), &jwks1, None),
        ("no kid, two keys", no_kid, &both, None),
        ("signature changed", flipped, &jwks1, None),
        ("payload changed", format!("{header}.aGVsbE8.{signature}"), &jwks1, None),
        ("alg none", format!("eyJhbGciOiJub25lIn0.aGVsbG8.{signature}"), &jwks1, None),
        ("DER signature", format!("{header}.aGVsbG8.MEUCIQDx"), &jwks1, None),
        ("two parts", format!("{header}.aGVsbG8"), &jwks1, None),
        ("unknown critical header", unknown_crit(&key), &jwks1, None),
    ];
    let verify = cases
        .into_iter()
        .map(|(name, jws, jwks, payload)| {
            let mut members = vec![
                ("name", s(name)),
                ("jws", s(jws.clone())),
                ("jwks", s(jwks)),
                ("payload_hex", payload.map_or(Value::Null, |p| s(hex(p)))),
            ];
            let keys = KeySet::from_json(jwks).expect("valid key set");
            match verify_jws(&jws, &keys, payload, None) {
                Ok(verified) => {
                    members.push(("valid", Value::Bool(true)));
                    members.push(("verified_payload_hex", s(hex(&verified.payload))));
                    members.push(("kid", s(verified.kid)));
                }
                Err(e) => {
                    members.push(("valid", Value::Bool(false)));
                    members.push(("error", code(&e)));
                }
            }
            obj(members)
        })
        .collect();
    file(
        "ES256 JWS. sign: deterministic signatures every implementation must reproduce byte for byte (key names refer to keys.json). verify: expected outcomes, with the error code name when invalid.",
        vec![("sign", Value::Array(sign)), ("verify", Value::Array(verify))],
    )
}

fn unknown_crit(key: &SigningKey) -> String {
    let header = evidentia::encoding::b64url(br#"{"alg":"ES256","crit":["exp"],"exp":1}"#);
    let input = format!("{header}.aGVsbG8");
    format!("{input}.{}", evidentia::encoding::b64url(&key.sign(input.as_bytes())))
}

/// Events of the receipt and log vectors: non-canonical spellings on purpose.
pub(crate) const EVENTS: [&str; 4] = [
    r#"{"type": "payment.approved", "amount": {"value": "1250.00", "currency": "EUR"}, "payment_id": "PAY-1"}"#,
    r#"{"type":"payment.approved","amount":{"value":"89.90","currency":"EUR"},"payment_id":"PAY-2","approved_by":"officer-7"}"#,
    "{\n  \"type\": \"contract.signed\",\n  \"document\": \"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\n  \"signer\": \"Zoë Müller\"\n}",
    r#"{"type":"payment.approved","amount":{"value":"1.0E3","currency":"EUR"},"payment_id":"PAY-3","flags":[1,2.50,3e0]}"#,
];

pub(crate) const LOG_ID: &str = "vectors.evidentia.dev/payments";

struct Entry {
    event_input: &'static str,
    time: Timestamp,
    nonce: Option<String>,
    receipt: Receipt,
    event: Vec<u8>,
}

fn build_log(key: &SigningKey, count: usize) -> Vec<Entry> {
    let mut chain = ChainState::new(LOG_ID).expect("valid id");
    (0..count)
        .map(|i| {
            let event_input = EVENTS[i % EVENTS.len()];
            let time = time(60 * i as i64);
            let nonce = (i % 2 == 0).then(|| format!("req-{i:04}"));
            let issued = issue_receipt(key, &mut chain, event_input.as_bytes(), time, nonce.as_deref()).expect("issue");
            Entry { event_input, time, nonce, receipt: issued.receipt, event: issued.event }
        })
        .collect()
}

fn receipts() -> Value {
    let key = test_key(1);
    let log = build_log(&key, 4);
    let issue = log
        .iter()
        .map(|e| {
            let record = e.receipt.record();
            obj(vec![
                ("event", s(e.event_input)),
                ("time", s(e.time.to_string())),
                ("nonce", e.nonce.clone().map_or(Value::Null, s)),
                ("canonical_event", s(String::from_utf8(e.event.clone()).expect("UTF-8"))),
                ("event_digest", s(record.event.to_string())),
                ("record", s(String::from_utf8(record.to_bytes()).expect("UTF-8"))),
                ("record_digest", s(record.digest().to_string())),
                ("receipt", s(e.receipt.as_str())),
            ])
        })
        .collect();

    let jwks = KeySet::single(key.public_key()).to_json();
    let other = KeySet::single(test_key(2).public_key()).to_json();
    let rotated = {
        let mut keys = KeySet::new();
        keys.add(key.public_key(), Validity { expires: Some(time(60)), ..Validity::default() }).expect("add");
        keys.add(test_key(2).public_key(), Validity { not_before: Some(time(60)), ..Validity::default() })
            .expect("add");
        keys.to_json()
    };
    let revoked = {
        let mut keys = KeySet::new();
        let validity = Validity {
            revoked_at: Some(time(90)),
            revocation_reason: Some("keyCompromise".into()),
            ..Validity::default()
        };
        keys.add(key.public_key(), validity).expect("add");
        keys.to_json()
    };
    let receipt0 = log[0].receipt.as_str();
    let receipt2 = log[2].receipt.as_str();
    let mut swapped_signature = receipt0.rsplit_once('.').expect("compact").0.to_owned();
    swapped_signature.push('.');
    swapped_signature.push_str(receipt2.rsplit_once('.').expect("compact").1);
    let generic = sign_jws(&key, log[0].receipt.record_bytes(), JwsOptions::default()).expect("sign");
    let cases: Vec<(&str, String, &str, Option<&str>)> = vec![
        ("valid, with the event as first written", receipt0.to_owned(), &jwks, Some(EVENTS[0])),
        (
            "valid, with the event re-formatted",
            receipt0.to_owned(),
            &jwks,
            Some(r#"{"payment_id":"PAY-1","type":"payment.approved","amount":{"currency":"EUR","value":"1250.00"}}"#),
        ),
        ("valid, without the event", receipt0.to_owned(), &jwks, None),
        ("another event", receipt0.to_owned(), &jwks, Some(EVENTS[1])),
        ("unknown key", receipt0.to_owned(), &other, None),
        ("signed before the key was rotated out", log[0].receipt.as_str().to_owned(), &rotated, None),
        ("signed after the key was rotated out", receipt2.to_owned(), &rotated, None),
        ("signed before revocation", log[1].receipt.as_str().to_owned(), &revoked, None),
        ("signed after revocation", receipt2.to_owned(), &revoked, None),
        ("signature of another receipt", swapped_signature, &jwks, None),
        ("a JWS that is not a receipt", generic, &jwks, None),
        ("event that is not JSON", receipt0.to_owned(), &jwks, Some("{not json")),
        ("not a JWS", "receipt".to_owned(), &jwks, None),
    ];
    let verify = cases
        .into_iter()
        .map(|(name, receipt, jwks, event)| {
            let mut members = vec![
                ("name", s(name)),
                ("receipt", s(receipt.clone())),
                ("jwks", s(jwks)),
                ("event", event.map_or(Value::Null, s)),
            ];
            let keys = KeySet::from_json(jwks).expect("valid");
            match verify_receipt(&receipt, &keys, event.map(str::as_bytes)) {
                Ok(report) => {
                    members.push(("valid", Value::Bool(report.is_valid())));
                    members.push(("failures", codes(&report)));
                }
                Err(e) => members.push(("error", code(&e))),
            }
            obj(members)
        })
        .collect();
    file(
        "Receipts. issue: a log made with key1 (keys.json) and log id vectors.evidentia.dev/payments; appending each event at its time with its nonce must give exactly these canonical events, records and receipts. verify: a receipt checked against a key set and optionally its event; either a report (valid and the failing codes) or an error (malformed input).",
        vec![
            ("log_id", s(LOG_ID)),
            ("key", s("key1")),
            ("issue", Value::Array(issue)),
            ("verify", Value::Array(verify)),
        ],
    )
}

fn codes(report: &evidentia::Report) -> Value {
    Value::Array(report.failure_codes().iter().map(|c| s(c.name())).collect())
}

/// A stored log entry: the receipt and the canonical event bytes.
type StoredEntry = (String, Vec<u8>);

fn logs() -> Value {
    let key = test_key(1);
    let log = build_log(&key, 8);
    let entries: Vec<(String, Vec<u8>)> =
        log.iter().map(|e| (e.receipt.as_str().to_owned(), e.event.clone())).collect();
    let jwks = KeySet::single(key.public_key()).to_json();
    let mut cases: Vec<(&str, Vec<StoredEntry>)> = vec![("untouched", entries.clone())];

    let mut edited = entries.clone();
    edited[3].1 = edited[3].1.replace_bytes("1.0E3", "2000");
    cases.push(("event edited", edited));
    let mut reformatted = entries.clone();
    reformatted[1].1 = reformatted[1].1.replace_bytes("\"amount\":{", "\"amount\": {");
    cases.push(("event re-formatted", reformatted));
    let mut deleted = entries.clone();
    deleted.remove(4);
    cases.push(("record deleted", deleted));
    let mut swapped = entries.clone();
    swapped.swap(2, 3);
    cases.push(("records swapped", swapped));
    let mut duplicated = entries.clone();
    duplicated.insert(5, entries[4].clone());
    cases.push(("record duplicated", duplicated));
    cases.push(("first records cut off", entries[2..].to_vec()));
    let mut damaged = entries.clone();
    damaged[6].0.replace_range(10..11, "!");
    cases.push(("receipt damaged", damaged));
    cases.push(("nonce replayed and time going backwards", replayed(&key)));

    let cases = cases
        .into_iter()
        .map(|(name, entries)| {
            let report = verify_log(
                entries.iter().map(|(r, e)| (r.as_str(), Some(e.as_slice()))),
                &KeySet::from_json(&jwks).expect("valid"),
                LogVerifyOptions::default(),
            );
            let findings = report
                .findings()
                .iter()
                .map(|f| obj(vec![("code", s(f.code.name())), ("index", f.index.map_or(Value::Null, n))]))
                .collect();
            let entries = entries
                .iter()
                .map(|(r, e)| {
                    obj(vec![("receipt", s(r.as_str())), ("event", s(String::from_utf8_lossy(e).into_owned()))])
                })
                .collect();
            obj(vec![
                ("name", s(name)),
                ("entries", Value::Array(entries)),
                ("valid", Value::Bool(report.is_valid())),
                ("findings", Value::Array(findings)),
            ])
        })
        .collect();
    file(
        "Whole logs verified record by record, with the findings (code name and 0-based index, in order) a verifier reports. Events are stored canonical bytes; the digest is taken over them as stored.",
        vec![("jwks", s(jwks)), ("cases", Value::Array(cases))],
    )
}

/// A log whose third record reuses the first record's nonce and goes back in time.
fn replayed(key: &SigningKey) -> Vec<StoredEntry> {
    let mut chain = ChainState::new(LOG_ID).expect("valid");
    let mut out = Vec::new();
    for (seconds, nonce) in [(10, "a"), (20, "b"), (15, "a")] {
        let event = b"{}".to_vec();
        let mut record: Record =
            chain.next_record(key.kid(), Digest::sha256(&event), time(1_000), Some(nonce)).expect("record");
        record.time = time(seconds);
        out.push((Receipt::sign(key, &record).expect("sign").as_str().to_owned(), event));
        chain = ChainState::after(&record);
    }
    out
}

trait ReplaceBytes {
    fn replace_bytes(&self, from: &str, to: &str) -> Vec<u8>;
}

impl ReplaceBytes for Vec<u8> {
    fn replace_bytes(&self, from: &str, to: &str) -> Vec<u8> {
        String::from_utf8_lossy(self).replacen(from, to, 1).into_bytes()
    }
}

fn errors() -> Value {
    let codes = ErrorCode::ALL
        .iter()
        .map(|&c| {
            obj(vec![
                ("code", n(u64::from(c as u16))),
                ("name", s(c.name())),
                ("family", s(c.family().name())),
                ("description", s(c.description())),
            ])
        })
        .collect();
    let families = ErrorFamily::ALL.iter().map(|f| s(f.name())).collect();
    file(
        "The stable error-code table every binding exposes. Codes are append-only and never reused; the hundreds digit is the family.",
        vec![("families", Value::Array(families)), ("codes", Value::Array(codes))],
    )
}

/// Salted commitments (SPEC.md §26) to reproduce byte for byte from an event and a
/// fixed salt, and disclosures to check against them.
fn commitments() -> Value {
    use evidentia::encoding::b64url;
    use evidentia::{check_disclosures, commit};
    let events: &[(&str, &str, &[u8])] = &[
        ("two members", r#"{"currency":"EUR","amount":1250}"#, b"0123456789abcdef"),
        (
            "a payment, members of every kind",
            r#"{"instruction_id":"PAY-2026-0001","amount":"100.00","payer":{"name":"Ada Lovelace","iban":"DE89370400440532013000"},"approved":true,"tags":["sepa",null],"note":"é € 😀"}"#,
            &[0x5a; 32],
        ),
        ("an empty object", "{}", b"0123456789abcdef"),
        (
            "an event that is not an object",
            r#""approved""#,
            b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ),
    ];
    let made = events
        .iter()
        .map(|(name, event, salt)| {
            let c = commit(&evidentia::json::parse(event.as_bytes()).expect("valid"), salt).expect("commits");
            let disclosures = c
                .disclosures
                .iter()
                .map(|d| {
                    let mut members = vec![("disclosure", s(d.encoded())), ("digest", s(d.digest()))];
                    if let Some(member) = d.name() {
                        members.insert(0, ("name", s(member)));
                    }
                    obj(members)
                })
                .collect();
            obj(vec![
                ("name", s(*name)),
                ("event", s(*event)),
                ("salt_hex", s(hex(salt))),
                ("commitment", s(String::from_utf8(c.document.clone()).expect("canonical JSON is UTF-8"))),
                ("event_digest", s(c.digest().to_string())),
                ("disclosures", Value::Array(disclosures)),
            ])
        })
        .collect();
    let payment =
        commit(&evidentia::json::parse(events[1].1.as_bytes()).expect("valid"), events[1].2).expect("commits");
    let other = commit(&evidentia::json::parse(events[1].1.as_bytes()).expect("valid"), &[0x5b; 32]).expect("commits");
    let document = String::from_utf8(payment.document.clone()).expect("UTF-8");
    let of = |c: &evidentia::Commitment, name: &str| c.disclosure(name).expect("member").encoded().to_owned();
    let (amount, payer) = (of(&payment, "amount"), of(&payment, "payer"));
    let checks: Vec<(&str, String, Vec<String>)> = vec![
        (
            "the amount and the instruction id, nothing else",
            document.clone(),
            vec![amount.clone(), of(&payment, "instruction_id")],
        ),
        ("no member disclosed", document.clone(), vec![]),
        ("a member of the same event under another salt", document.clone(), vec![of(&other, "amount")]),
        ("a member disclosed twice", document.clone(), vec![payer.clone(), payer.clone()]),
        (
            "a disclosure edited to another amount",
            document.clone(),
            vec![b64url(br#"["AAAAAAAAAAAAAAAAAAAAAA","amount","1000000.00"]"#)],
        ),
        ("a disclosure that is not base64url", document.clone(), vec![format!("{amount}=")]),
        ("a disclosure of an object, not an array", document.clone(), vec![b64url(br#"{"amount":"100.00"}"#)]),
        ("a commitment not in canonical form", document.replace(',', ", "), vec![amount.clone()]),
        (
            "a commitment of another event",
            String::from_utf8(other.document.clone()).expect("UTF-8"),
            vec![amount.clone()],
        ),
        ("a commitment with another algorithm", document.replace("sha-256", "sha-512"), vec![]),
    ];
    let checks = checks
        .into_iter()
        .map(|(name, document, disclosures)| {
            let given: Vec<&str> = disclosures.iter().map(String::as_str).collect();
            let mut members = vec![
                ("name", s(name)),
                ("event_digest", s(payment.digest().to_string())),
                ("commitment", s(document.clone())),
                ("disclosures", Value::Array(disclosures.iter().map(|d| s(d.as_str())).collect())),
            ];
            match check_disclosures(&payment.digest(), document.as_bytes(), &given) {
                Ok(shown) => {
                    members.push(("disclosed", shown.event()));
                    members.push(("undisclosed", n(shown.undisclosed as u64)));
                }
                Err(e) => members.push(("error", code(&e))),
            }
            obj(members)
        })
        .collect();
    // RFC 4231 test cases 1 and 6, a value as a caller would hash it, and a key too short.
    let keyed: Vec<(&str, Vec<u8>, &[u8])> = vec![
        ("RFC 4231 test case 1", vec![0x0b; 20], b"Hi There"),
        (
            "RFC 4231 test case 6, a key longer than the block",
            vec![0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        ),
        ("an IBAN under a 32-byte key", (0u8..32).collect(), b"DE89370400440532013000"),
        ("a key of 4 bytes", b"Jefe".to_vec(), b"what do ya want for nothing?"),
    ];
    let keyed = keyed
        .into_iter()
        .map(|(name, key, data)| {
            let mut members = vec![("name", s(name)), ("key_hex", s(hex(&key))), ("data_hex", s(hex(data)))];
            match evidentia::keyed_hash(&key, data) {
                Ok(hash) => members.push(("keyed_hash", s(hash))),
                Err(e) => members.push(("error", code(&e))),
            }
            obj(members)
        })
        .collect();
    file(
        "Salted commitments to events (SPEC.md §26): from an event and an event salt, the commitment document, the record's event digest and each member's disclosure with its digest, to reproduce byte for byte; then disclosures checked against the commitment of the payment event, with the members they disclose and how many stay hidden, or the error code; then keyed hashes (§26.3) of data under a key, or the error code.",
        vec![
            ("commitments", Value::Array(made)),
            ("checks", Value::Array(checks)),
            ("keyed_hashes", Value::Array(keyed)),
        ],
    )
}

fn b64(bytes: &[u8]) -> Value {
    s(evidentia::encoding::b64(bytes))
}

fn merkle_vectors() -> Value {
    use evidentia::merkle::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash, root};
    const N: u64 = 21;
    let data: Vec<Vec<u8>> = (0..N).map(|i| format!("leaf {i}").into_bytes()).collect();
    let tree = MemoryTree::from_leaf_hashes(data.iter().map(|d| leaf_hash(d)));
    let leaves = data.iter().map(|d| obj(vec![("data_hex", s(hex(d))), ("leaf_hash", b64(&leaf_hash(d)))])).collect();
    let roots = (0..=N).map(|size| b64(&root(&tree, size).expect("size within the tree"))).collect();
    let mut inclusion = Vec::new();
    for size in [1, 2, 3, 7, 8, 13, 21] {
        for index in [0, size / 2, size - 1] {
            let proof = InclusionProof {
                leaf_index: index,
                tree_size: size,
                hashes: inclusion_proof(&tree, index, size).expect("proof"),
            };
            inclusion.push(obj(vec![("proof", s(proof.to_json().expect("small sizes")))]));
        }
    }
    let mut consistency = Vec::new();
    for (old, new) in [(1, 1), (1, 2), (3, 7), (4, 8), (5, 21), (8, 21), (13, 21), (21, 21)] {
        let proof = ConsistencyProof {
            old_size: old,
            new_size: new,
            hashes: consistency_proof(&tree, old, new).expect("proof"),
        };
        consistency.push(obj(vec![("proof", s(proof.to_json().expect("small sizes")))]));
    }
    // Proofs that must be refused: a changed hash, a wrong position, malformed sizes.
    let good = InclusionProof { leaf_index: 5, tree_size: 13, hashes: inclusion_proof(&tree, 5, 13).expect("proof") };
    let mut bent = good.clone();
    bent.hashes[1][0] ^= 1;
    let moved = InclusionProof { leaf_index: 6, ..good.clone() };
    let invalid_inclusion: Vec<(&str, String)> = vec![
        ("a proof hash changed", bent.to_json().expect("json")),
        ("another leaf's position", moved.to_json().expect("json")),
        ("index not below size", r#"{"hashes":[],"leaf_index":13,"tree_size":13,"type":"inclusion"}"#.into()),
        ("a hash of 31 bytes", r#"{"hashes":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="],"leaf_index":0,"tree_size":2,"type":"inclusion"}"#.into()),
        ("not a proof", r#"{"type":"consistency"}"#.into()),
    ];
    let invalid_inclusion = invalid_inclusion
        .into_iter()
        .map(|(name, proof)| {
            let error = InclusionProof::from_json(&proof)
                .and_then(|p| p.verify(&leaf_hash(&data[5]), &root(&tree, 13).expect("root")))
                .expect_err("invalid vector");
            obj(vec![("name", s(name)), ("proof", s(proof)), ("leaf_index_of_data", n(5)), ("error", code(&error))])
        })
        .collect();
    let empty_root = b64(&evidentia::merkle::empty_root());
    file(
        "RFC 6962 / RFC 9162 Merkle trees over the leaves 'leaf 0'..'leaf 20': leaf hashes, the root of every size 0..21, inclusion and consistency proofs in Evidentia's JSON form (to reproduce exactly and to verify against roots), and inclusion proofs that must be refused when verified for leaf 5 against the root of size 13. Consistency proofs from the empty tree are refused (PROOF_MALFORMED).",
        vec![
            ("leaves", Value::Array(leaves)),
            ("roots", Value::Array(roots)),
            ("empty_root", empty_root),
            ("inclusion", Value::Array(inclusion)),
            ("consistency", Value::Array(consistency)),
            ("invalid_inclusion", Value::Array(invalid_inclusion)),
        ],
    )
}

fn checkpoints() -> Value {
    use evidentia::{Checkpoint, NoteVerifier, sign_checkpoint, sign_note, verify_checkpoint_with_keys};
    let key = test_key(1);
    let checkpoint = Checkpoint {
        origin: LOG_ID.into(),
        size: 4,
        root: evidentia::merkle::leaf_hash(b"example root"),
        extensions: vec![],
    };
    let note = sign_checkpoint(&checkpoint, &key).expect("valid origin");
    let vkey = NoteVerifier::new(LOG_ID, key.public_key()).expect("name").to_vkey();
    let witness = test_key(3);
    let cosignature = sign_note(&checkpoint.to_text(), "witness.example", &witness).expect("name");
    let cosigned = format!("{note}{}", cosignature.split_once("\n\n").expect("signed note").1);
    let forged = sign_checkpoint(&checkpoint, &test_key(2)).expect("valid origin");
    let jwks = KeySet::single(key.public_key()).to_json();
    let cases: Vec<(&str, String)> = vec![
        ("signed by key1", note.clone()),
        ("cosigned by an unknown witness", cosigned),
        ("size changed", note.replacen("\n4\n", "\n5\n", 1)),
        ("signed by key2", forged),
        ("no signatures", checkpoint.to_text() + "\n"),
        ("not a note", "checkpoint".into()),
    ];
    let verify = cases
        .into_iter()
        .map(|(name, note)| {
            let mut members = vec![("name", s(name)), ("note", s(note.clone()))];
            match verify_checkpoint_with_keys(&note, &KeySet::from_json(&jwks).expect("valid")) {
                Ok(c) => {
                    members.push(("valid", Value::Bool(true)));
                    members.push(("size", n(c.size)));
                }
                Err(e) => {
                    members.push(("valid", Value::Bool(false)));
                    members.push(("error", code(&e)));
                }
            }
            obj(members)
        })
        .collect();
    file(
        "C2SP checkpoints signed as C2SP signed notes with ECDSA P-256 (deterministic, RFC 6979): key1 (keys.json) signs the checkpoint below under the log id; its note verifier key is vkey. verify: notes checked against the key set jwks.",
        vec![
            ("origin", s(LOG_ID)),
            ("size", n(checkpoint.size)),
            ("root", b64(&checkpoint.root)),
            ("body", s(checkpoint.to_text())),
            ("signed_note", s(note)),
            ("vkey", s(vkey)),
            ("jwks", s(jwks)),
            ("verify", Value::Array(verify)),
        ],
    )
}

fn batch_receipts() -> Value {
    use evidentia::merkle::{MemoryTree, leaf_hash};
    use evidentia::{BatchReceipt, Checkpoint, sign_checkpoint, verify_batch_receipt};
    let key = test_key(1);
    let mut chain = ChainState::new(LOG_ID).expect("valid");
    let mut tree = MemoryTree::new();
    let mut records = Vec::new();
    let mut events = Vec::new();
    // One batch: every record gets the batch's time, as a batch-signed log does.
    for event in EVENTS {
        let canonical = canonicalize(event.as_bytes()).expect("valid");
        let chained = chain.append(key.kid(), Digest::sha256(&canonical), time(0), None).expect("record");
        tree.push(leaf_hash(&chained.bytes));
        records.push(chained.bytes);
        events.push(canonical);
    }
    let size = records.len() as u64;
    let checkpoint = Checkpoint { origin: LOG_ID.into(), size, root: tree.root(), extensions: vec![] };
    let note = sign_checkpoint(&checkpoint, &key).expect("valid origin");
    let receipts: Vec<String> = (0..size)
        .map(|i| {
            let proof = InclusionProof {
                leaf_index: i,
                tree_size: size,
                hashes: evidentia::merkle::inclusion_proof(&tree, i, size).expect("proof"),
            };
            BatchReceipt::new(&records[i as usize], proof, &note).expect("consistent").to_json()
        })
        .collect();
    let issue = (0..size as usize)
        .map(|i| {
            obj(vec![
                ("record", s(String::from_utf8(records[i].clone()).expect("UTF-8"))),
                ("canonical_event", s(String::from_utf8(events[i].clone()).expect("UTF-8"))),
                ("batch_receipt", s(receipts[i].clone())),
            ])
        })
        .collect();
    let jwks = KeySet::single(key.public_key()).to_json();
    let other = KeySet::single(test_key(2).public_key()).to_json();
    let forged_note = sign_checkpoint(&checkpoint, &test_key(2)).expect("valid origin");
    let quote = |text: &str| {
        let quoted =
            String::from_utf8(evidentia::canonicalize_value(&Value::from(text)).expect("string")).expect("UTF-8");
        quoted[1..quoted.len() - 1].to_owned()
    };
    let forged = receipts[2].replace(&quote(&note), &quote(&forged_note));
    let cases: Vec<(&str, String, &str, Option<String>)> = vec![
        ("valid, with the event", receipts[2].clone(), &jwks, Some(EVENTS[2].to_owned())),
        ("valid, without the event", receipts[0].clone(), &jwks, None),
        ("another event", receipts[2].clone(), &jwks, Some(EVENTS[1].to_owned())),
        ("unknown key", receipts[2].clone(), &other, None),
        ("checkpoint signed by another key", forged, &jwks, None),
        ("not a batch receipt", "{}".into(), &jwks, None),
    ];
    let verify = cases
        .into_iter()
        .map(|(name, receipt, jwks, event)| {
            let mut members = vec![
                ("name", s(name)),
                ("batch_receipt", s(receipt.clone())),
                ("jwks", s(jwks)),
                ("event", event.clone().map_or(Value::Null, s)),
            ];
            let keys = KeySet::from_json(jwks).expect("valid");
            match verify_batch_receipt(&receipt, &keys, event.as_deref().map(str::as_bytes)) {
                Ok(report) => {
                    members.push(("valid", Value::Bool(report.is_valid())));
                    members.push(("failures", codes(&report)));
                }
                Err(e) => members.push(("error", code(&e))),
            }
            obj(members)
        })
        .collect();
    file(
        "Batch receipts of a batch-signed log: the events of receipts.json appended as one batch at 'time', without nonces, by key1 under 'log_id', sealed by one checkpoint. issue: the records and batch receipts to reproduce exactly. verify: either a report (valid and the failing codes) or an error.",
        vec![
            ("log_id", s(LOG_ID)),
            ("key", s("key1")),
            ("time", s(time(0).to_string())),
            ("checkpoint", s(note)),
            ("issue", Value::Array(issue)),
            ("verify", Value::Array(verify)),
        ],
    )
}

/// The contract of the cross-language test (`cargo xtask test cross`): inputs every
/// producer turns into evidence, the deterministic outputs each must match byte for
/// byte, and the inputs of the evidence it makes with a fresh key.
fn cross_language() -> Value {
    let key = test_key(3);
    let documents: Vec<Value> = [
        EVENTS[0],
        EVENTS[2],
        EVENTS[3],
        r#"{"\u20ac":"€","\ud83d\ude00":[1E2, 0.1, -0, 1e-7, 9007199254740991, 1.5e300, 5E-324], "a\tb": "\u001f"}"#,
        "[null, true, false, \"\", {}, []]",
    ]
    .iter()
    .map(|json| {
        let canonical = canonicalize(json.as_bytes()).expect("valid");
        obj(vec![
            ("json", s(*json)),
            ("canonical", s(String::from_utf8(canonical.clone()).expect("UTF-8"))),
            ("digest", s(Digest::sha256(&canonical).to_string())),
        ])
    })
    .collect();
    let payloads: Vec<Value> = [&b"hello"[..], br#"{"iss":"evidentia","n":1}"#, &[0, 1, 2, 254, 255]]
        .iter()
        .map(|payload| {
            let sign =
                |detached, unencoded| s(sign_jws(&key, payload, JwsOptions { detached, unencoded }).expect("sign"));
            obj(vec![
                ("payload_hex", s(hex(payload))),
                ("jws", sign(false, false)),
                ("detached", sign(true, false)),
                ("unencoded_detached", sign(true, true)),
            ])
        })
        .collect();
    let log_id = "vectors.evidentia.dev/cross";
    let mut chain = ChainState::new(log_id).expect("valid id");
    let receipts: Vec<Value> = EVENTS
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let (time, nonce) = (time(60 * i as i64), format!("cross-{i}"));
            let issued = issue_receipt(&key, &mut chain, event.as_bytes(), time, Some(&nonce)).expect("issue");
            obj(vec![
                ("event", s(*event)),
                ("nonce", s(nonce)),
                ("time", s(time.to_string())),
                ("receipt", s(issued.receipt.as_str())),
            ])
        })
        .collect();
    file(
        "Cross-language evidence: every language (C, Python, Node, the CLI) produces evidence from these inputs, and verifies what every other language produced. documents: JSON text → canonical text and digest. payloads: ES256 JWS by 'private_jwk', attached, detached, and unencoded (RFC 7797) detached. receipts: events appended to a receipts-mode log 'log_id' with the given nonces and times. All outputs must be reproduced byte for byte. fresh_event and fresh_payload_hex: what each producer signs with a key of its own, into a log of its own, for the others to verify.",
        vec![
            ("private_jwk", s(key.to_jwk())),
            ("public_jwk", s(key.public_jwk())),
            ("log_id", s(log_id)),
            ("documents", Value::Array(documents)),
            ("payloads", Value::Array(payloads)),
            ("receipts", Value::Array(receipts)),
            (
                "fresh_event",
                s("{ \"type\": \"cross.check\", \"amount\": 10.50, \"by\": \"Zoë\", \"items\": [1, 2.0, 3e0] }"),
            ),
            ("fresh_payload_hex", s(hex("approve transfer T-77 for 1250.00 EUR".as_bytes()))),
        ],
    )
}
