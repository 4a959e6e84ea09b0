//! Malformed and hostile input to every parser: each gets a clear error with the
//! right code, never a panic, a stack overflow or a silent change.

#![allow(clippy::unwrap_used)]

use evidentia::json::{MAX_DEPTH_LIMIT, ParseOptions, parse, parse_with};
use evidentia::{
    Digest, ErrorCode, KeySet, PublicKey, Receipt, Record, SigningKey, Timestamp, canonicalize, jwk_thumbprint,
    verify_jws, verify_receipt,
};

fn code(input: &[u8]) -> ErrorCode {
    match canonicalize(input) {
        Ok(out) => panic!("{:?} was accepted as {:?}", String::from_utf8_lossy(input), String::from_utf8_lossy(&out)),
        Err(e) => e.code(),
    }
}

fn canon(input: &str) -> String {
    String::from_utf8(canonicalize(input.as_bytes()).unwrap_or_else(|e| panic!("{input}: {e}"))).unwrap()
}

#[test]
fn json_syntax_errors() {
    for bad in [
        "",
        " ",
        "{",
        "}",
        "[",
        "[1,]",
        "[,1]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "{'a':1}",
        "[1 2]",
        "01",
        "-01",
        "+1",
        ".5",
        "1.",
        "1.e5",
        "1e",
        "1e+",
        "-",
        "--1",
        "0x10",
        "NaN",
        "Infinity",
        "-Infinity",
        "nul",
        "tru",
        "truex",
        "nulll",
        "\"abc",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12G4\"",
        "\"a\tb\"",
        "\"a\nb\"",
        "\"\u{0}\"",
        "[1]]",
        "{}{}",
        "1 2",
        "/* c */ 1",
        "[1,2",
        "\"\\",
        "\u{feff}{}",
        "\u{a0}1",
        "{\"a\":}",
        "[\"a\":1]",
    ] {
        assert_eq!(code(bad.as_bytes()), ErrorCode::JsonSyntax, "{bad:?}");
    }
}

#[test]
fn errors_say_where() {
    let err = canonicalize(b"{\n  \"a\": 1,\n  \"b\": tru\n}").unwrap_err();
    assert_eq!(err.code(), ErrorCode::JsonSyntax);
    assert!(err.message().contains("line 3, column 8"), "{}", err.message());
    let err = canonicalize("[\"é\", x]".as_bytes()).unwrap_err();
    assert!(err.message().contains("line 1, column 7"), "{}", err.message());
}

#[test]
fn duplicate_keys_even_when_spelled_differently() {
    for bad in [r#"{"a":1,"a":2}"#, r#"{"a":1,"\u0061":2}"#, r#"{"x":{"b":1,"c":2,"b":3}}"#, r#"[{"é":1,"\u00e9":1}]"#]
    {
        assert_eq!(code(bad.as_bytes()), ErrorCode::JsonDuplicateKey, "{bad}");
    }
    assert_eq!(canon(r#"{"a":{"a":1},"b":{"a":1}}"#), r#"{"a":{"a":1},"b":{"a":1}}"#);
}

#[test]
fn surrogates_and_utf8() {
    for bad in
        [r#""\ud800""#, r#""\udc00""#, r#""\ud800\u0041""#, r#""\ud800x""#, r#""\udbff\udbff""#, r#"{"\udfff":1}"#]
    {
        assert_eq!(code(bad.as_bytes()), ErrorCode::JsonLoneSurrogate, "{bad}");
    }
    assert_eq!(canon(r#""\ud83d\ude02""#), "\"😂\"");
    for bad in [
        &b"\"\xff\""[..],
        b"\"\xc3\"",
        b"\"\xc0\xaf\"",         // overlong '/'
        b"\"\xed\xa0\x80\"",     // a surrogate encoded in UTF-8
        b"\"\xf4\x90\x80\x80\"", // above U+10FFFF
        b"[1,\x80]",
    ] {
        assert_eq!(code(bad), ErrorCode::JsonInvalidUtf8, "{bad:?}");
    }
}

#[test]
fn numbers_that_would_change_are_refused() {
    for bad in ["1e400", "-1e400", "1e999999999999", "1e-400", "0.1e-999", "-2e-324"] {
        assert_eq!(code(bad.as_bytes()), ErrorCode::JsonNumberOutOfRange, "{bad}");
    }
    for bad in [
        "9007199254740993",
        "-9007199254740993",
        "12345678901234567890",
        "295147905179352825856",
        "100000000000000000001",
    ] {
        assert_eq!(code(bad.as_bytes()), ErrorCode::JsonIntegerPrecision, "{bad}");
    }
    // Exactly representable integers in their canonical spelling are fine, and so are
    // fractions and exponents, whose rounding is the documented JSON number semantics.
    for (input, output) in [
        ("9007199254740992", "9007199254740992"),
        ("-9007199254740992", "-9007199254740992"),
        ("295147905179352830000", "295147905179352830000"),
        ("100000000000000000000", "100000000000000000000"),
        ("1e21", "1e+21"),
        ("0e-999", "0"),
        ("-0", "0"),
        ("-0.0e5", "0"),
        ("5e-324", "5e-324"),
        ("0.1", "0.1"),
        ("1E2", "100"),
        ("123456789012345678901234567890.5", "1.2345678901234568e+29"),
    ] {
        assert_eq!(canon(input), output, "{input}");
    }
}

#[test]
fn depth_and_size_limits() {
    // Far deeper than any stack could recurse: refused at the limit, no overflow.
    let deep = "[".repeat(1_000_000);
    assert_eq!(code(deep.as_bytes()), ErrorCode::JsonTooDeep);
    let deep_objects = "{\"a\":".repeat(200_000);
    assert_eq!(code(deep_objects.as_bytes()), ErrorCode::JsonTooDeep);

    let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(canonicalize(nest(128).as_bytes()).is_ok());
    assert_eq!(code(nest(129).as_bytes()), ErrorCode::JsonTooDeep);
    let shallow = ParseOptions { max_depth: 2, ..Default::default() };
    assert!(parse_with(b"[[1]]", &shallow).is_ok());
    assert_eq!(parse_with(b"[[[1]]]", &shallow).unwrap_err().code(), ErrorCode::JsonTooDeep);
    let too_deep_a_limit = ParseOptions { max_depth: MAX_DEPTH_LIMIT + 1, ..Default::default() };
    assert_eq!(parse_with(b"1", &too_deep_a_limit).unwrap_err().code(), ErrorCode::InvalidArgument);

    // The deepest configurable nesting fits in a 1 MiB stack (the WASM default, the smallest a binding runs on).
    let handle = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || {
            let options = ParseOptions { max_depth: MAX_DEPTH_LIMIT, ..Default::default() };
            let text = nest(MAX_DEPTH_LIMIT);
            let value = parse_with(text.as_bytes(), &options).unwrap();
            drop(value);
            evidentia::json::canonicalize_with(text.as_bytes(), &options).unwrap().len()
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), 2 * MAX_DEPTH_LIMIT);

    let small = ParseOptions { max_size: 8, ..Default::default() };
    assert!(parse_with(b"[1,2,3]", &small).is_ok());
    assert_eq!(parse_with(b"[1,2,3,4]", &small).unwrap_err().code(), ErrorCode::JsonTooLarge);
}

#[test]
fn key_parsers_reject_garbage() {
    let inputs = [
        "",
        "{",
        "null",
        "{\"kty\":1}",
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"!!\",\"y\":\"AA\"}",
        "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----",
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
        "\u{0}\u{1}",
    ];
    for input in inputs {
        let private = SigningKey::from_text(input).unwrap_err();
        assert_eq!(private.code().family(), evidentia::ErrorFamily::Key, "{input:?}: {private}");
        let public = PublicKey::from_text(input).unwrap_err();
        assert_eq!(public.code().family(), evidentia::ErrorFamily::Key, "{input:?}: {public}");
        // A thumbprint hashes the members as text (RFC 7638) and needs only them.
        if !input.contains("\"x\"") {
            assert_eq!(jwk_thumbprint(input).unwrap_err().code().family(), evidentia::ErrorFamily::Key, "{input:?}");
        }
    }
    for bad in ["", "[]", "{}", r#"{"keys":{}}"#, r#"{"keys":[1]}"#, r#"{"keys":[{"kty":"EC"}]}"#] {
        assert_eq!(KeySet::from_json(bad).unwrap_err().code().family(), evidentia::ErrorFamily::Key, "{bad}");
    }
    let key = SigningKey::from_bytes(&[5u8; 32]).unwrap();
    let twice = format!(r#"{{"keys":[{0},{0}]}}"#, key.public_jwk());
    assert_eq!(KeySet::from_json(&twice).unwrap_err().code(), ErrorCode::KeySetMalformed);
    let bad_date = key.public_jwk().replace('}', r#","exp":"tomorrow"}"#);
    assert_eq!(KeySet::from_json(&bad_date).unwrap_err().code(), ErrorCode::KeySetMalformed);
    // Keys of other types are kept but never used.
    let mixed = format!(r#"{{"keys":[{{"kty":"oct","k":"AAAA"}},{}]}}"#, key.public_jwk());
    let keys = KeySet::from_json(&mixed).unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys.select(None).unwrap().0, key.public_key());
}

#[test]
fn jws_and_receipt_parsers_reject_garbage() {
    let key = SigningKey::from_bytes(&[5u8; 32]).unwrap();
    let keys = KeySet::single(key.public_key());
    let header = |json: &str| base64url(json.as_bytes());
    let sig = base64url(&[1u8; 64]);
    let cases: Vec<(String, ErrorCode)> = vec![
        (String::new(), ErrorCode::JwsMalformed),
        ("...".into(), ErrorCode::JwsMalformed),
        ("a.b".into(), ErrorCode::JwsMalformed),
        ("a.b.c.d".into(), ErrorCode::JwsMalformed),
        (format!("!.e30.{sig}"), ErrorCode::JwsMalformed),
        (format!("{}.e30.{sig}", header("[]")), ErrorCode::JwsHeaderInvalid),
        (format!("{}.e30.{sig}", header("{")), ErrorCode::JwsHeaderInvalid),
        (format!("{}.e30.{sig}", header(r#"{"alg":"ES256","alg":"none"}"#)), ErrorCode::JwsHeaderInvalid),
        (format!("{}.e30.{sig}", header(r#"{"alg":"none"}"#)), ErrorCode::JwsUnsupportedAlgorithm),
        (format!("{}.e30.{sig}", header(r#"{"alg":"HS256"}"#)), ErrorCode::JwsUnsupportedAlgorithm),
        (format!("{}.e30.{sig}", header(r#"{"alg":"es256"}"#)), ErrorCode::JwsUnsupportedAlgorithm),
        (format!("{}.e30.{sig}", header(r#"{"alg":256}"#)), ErrorCode::JwsHeaderInvalid),
        (format!("{}.e30.{sig}", header(r#"{}"#)), ErrorCode::JwsHeaderInvalid),
        (format!("{}.e30.{sig}", header(r#"{"alg":"ES256","kid":5}"#)), ErrorCode::JwsHeaderInvalid),
        (
            format!("{}.e30.{sig}", header(r#"{"alg":"ES256","crit":["exp"],"exp":1}"#)),
            ErrorCode::JwsUnsupportedCritical,
        ),
        (format!("{}.e30.{sig}", header(r#"{"alg":"ES256","crit":[]}"#)), ErrorCode::JwsHeaderInvalid),
        (format!("{}.e30.{sig}", header(r#"{"alg":"ES256","crit":["b64"]}"#)), ErrorCode::JwsHeaderInvalid),
        (format!("{}.e30.{sig}", header(r#"{"alg":"ES256","b64":false}"#)), ErrorCode::JwsHeaderInvalid),
        (format!("{}.e30.{sig}", header(r#"{"alg":"ES256","b64":"no","crit":["b64"]}"#)), ErrorCode::JwsHeaderInvalid),
        (
            format!("{}.e30.{sig}", header(r#"{"alg":"ES256","b64":true,"crit":["b64","b64"]}"#)),
            ErrorCode::JwsHeaderInvalid,
        ),
        (format!("{}.e30.AAAA", header(r#"{"alg":"ES256"}"#)), ErrorCode::JwsSignatureFormat),
        (format!("{}.e30.{}", header(r#"{"alg":"ES256"}"#), base64url(&[0x30; 70])), ErrorCode::JwsSignatureFormat),
        (format!("{}.e30.!", header(r#"{"alg":"ES256"}"#)), ErrorCode::JwsMalformed),
        (format!("{}.e3=.{sig}", header(r#"{"alg":"ES256"}"#)), ErrorCode::JwsMalformed),
        (format!("{}.e30.{sig}", header(r#"{"alg":"ES256"}"#)), ErrorCode::SignatureInvalid),
    ];
    for (jws, expected) in &cases {
        assert_eq!(verify_jws(jws, &keys, None, None).unwrap_err().code(), *expected, "{jws}");
        assert!(Receipt::parse(jws).is_err());
        assert!(verify_receipt(jws, &keys, None).is_err());
    }
    let attached = evidentia::sign_jws(&key, b"x", Default::default()).unwrap();
    assert_eq!(verify_jws(&attached, &keys, Some(b"x"), None).unwrap_err().code(), ErrorCode::JwsPayloadMismatch);
}

#[test]
fn time_digest_and_record_parsers_reject_garbage() {
    for bad in ["", "now", "2026-01-01T00:00:00", "\u{0}"] {
        assert_eq!(Timestamp::parse(bad).unwrap_err().code(), ErrorCode::TimeInvalid);
    }
    for bad in ["", "sha256", "sha256:xyz", "md5:00"] {
        assert_eq!(Digest::parse(bad).unwrap_err().code(), ErrorCode::DigestMalformed);
    }
    for bad in [&b""[..], b"[]", b"{}", b"null", b"{\"v\":1}", b"\xff"] {
        assert_eq!(Record::from_bytes(bad).unwrap_err().code(), ErrorCode::RecordMalformed, "{bad:?}");
    }
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[test]
fn parse_never_panics_on_mutated_documents() {
    // Every single-byte mutation of a document that exercises each grammar rule.
    let seed = br#"{"a":[1,-2.5e-3,true,false,null,"x\u00e9\n\ud83d\ude02"],"b":{"c":{}},"d":[]}"#;
    for i in 0..seed.len() {
        for b in [0u8, b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'0', b'e', b'-', b'.', 0x80, 0xff, b'u', b' ']
        {
            let mut doc = seed.to_vec();
            doc[i] = b;
            let _ = parse(&doc);
            let _ = canonicalize(&doc);
        }
        let _ = parse(&seed[..i]);
    }
}
