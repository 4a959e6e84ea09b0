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

/// The number a literal denotes as `parse` reads it: its double, or the error code.
fn number(literal: &str) -> Result<f64, ErrorCode> {
    match parse(literal.as_bytes()) {
        Ok(value) => Ok(value.as_number().unwrap_or_else(|| panic!("{literal:.40}… is not a number")).as_f64()),
        Err(e) => Err(e.code()),
    }
}

/// What a moderate literal must give, with Rust's `str::parse` as the oracle: the
/// nearest double, or 204 when a non-zero value rounds to infinity or to zero.
fn oracle(literal: &str) -> Result<f64, ErrorCode> {
    let value: f64 = literal.parse().unwrap();
    let nonzero = literal.bytes().take_while(|b| !matches!(b, b'e' | b'E')).any(|b| matches!(b, b'1'..=b'9'));
    if value.is_infinite() || (value == 0.0 && nonzero) { Err(ErrorCode::JsonNumberOutOfRange) } else { Ok(value) }
}

/// Compares results bit for bit, so that 0 and -0 differ.
fn same(a: Result<f64, ErrorCode>, b: Result<f64, ErrorCode>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a.to_bits() == b.to_bits(),
        (a, b) => a == b,
    }
}

/// A decimal digit string times a small factor.
fn times(digits: &str, factor: u64) -> String {
    let mut out = Vec::new();
    let mut carry = 0u128;
    for d in digits.bytes().rev() {
        let x = u128::from(d - b'0') * u128::from(factor) + carry;
        out.push(b'0' + (x % 10) as u8);
        carry = x / 10;
    }
    while carry > 0 {
        out.push(b'0' + (carry % 10) as u8);
        carry /= 10;
    }
    while out.len() > 1 && out.last() == Some(&b'0') {
        out.pop();
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

fn power(base: u64, exponent: usize) -> String {
    (0..exponent).fold("1".to_owned(), |acc, _| times(&acc, base))
}

/// A positive decimal digit string minus one.
fn minus_one(digits: &str) -> String {
    let mut out = digits.as_bytes().to_vec();
    for d in out.iter_mut().rev() {
        if *d == b'0' {
            *d = b'9';
        } else {
            *d -= 1;
            break;
        }
    }
    let s = String::from_utf8(out).unwrap();
    let trimmed = s.trim_start_matches('0');
    if trimmed.is_empty() { "0".to_owned() } else { trimmed.to_owned() }
}

#[test]
fn long_number_literals_keep_their_exponent() {
    let zeros = |n: usize| "0".repeat(n);
    for (literal, expected) in [
        // 1e-900000: far below the smallest double, so refused, not read as 1.
        (format!("1{}e-1000000", zeros(100_000)), Err(ErrorCode::JsonNumberOutOfRange)),
        // Exactly 1, spelled with 8 million zeros (well within the 16 MiB limit).
        (format!("1{}e-8000000", zeros(8_000_000)), Ok(1.0)),
        (format!("-1{}e-8000000", zeros(8_000_000)), Ok(-1.0)),
        (format!("0.{}1e8000001", zeros(8_000_000)), Ok(1.0)),
        // Many leading zeros, with and without the exponent that makes up for them.
        (format!("0.{}1e5", zeros(99_999)), Err(ErrorCode::JsonNumberOutOfRange)),
        (format!("0.{}1e100005", zeros(99_999)), Ok(100_000.0)),
        (format!("0.{}1e+1000005", zeros(1_000_000)), Ok(10_000.0)),
        (format!("-0.{}25e+1000000", zeros(1_000_000)), Ok(-0.25)),
        // Exponents with many leading zeros.
        (format!("1e-{}1", zeros(1_000_000)), Ok(0.1)),
        (format!("1E+{}308", zeros(1_000_000)), Ok(1e308)),
        (format!("1e{}309", zeros(1_000_000)), Err(ErrorCode::JsonNumberOutOfRange)),
        // Exponents beyond u64, and far beyond: 0, or out of range, whatever the digits.
        (format!("1e{}", "9".repeat(30)), Err(ErrorCode::JsonNumberOutOfRange)),
        (format!("1e-{}", "9".repeat(30)), Err(ErrorCode::JsonNumberOutOfRange)),
        (format!("1{}e-{}", zeros(1_000_000), "9".repeat(1_000_000)), Err(ErrorCode::JsonNumberOutOfRange)),
        (format!("0.{}1e{}", zeros(1_000_000), "9".repeat(1_000_000)), Err(ErrorCode::JsonNumberOutOfRange)),
        ("1e-18446744073709551616".to_owned(), Err(ErrorCode::JsonNumberOutOfRange)),
        (format!("1{}e-18446744073709551616", zeros(1_000_000)), Err(ErrorCode::JsonNumberOutOfRange)),
        // Zero in every spelling is zero; the sign of -0 is kept (and written as 0).
        (format!("0e{}", "9".repeat(1_000_000)), Ok(0.0)),
        (format!("0.{}e-{}", zeros(1_000_000), "9".repeat(30)), Ok(0.0)),
        (format!("-0.{}e{}", zeros(1_000_000), "9".repeat(30)), Ok(-0.0)),
        ("-0".to_owned(), Ok(-0.0)),
        ("-0e-99999999999999999999999".to_owned(), Ok(-0.0)),
        // Digits far past the 17 a double needs still decide the rounding: 2^53 + 1
        // is halfway between two doubles, and a 1 a million digits later tips it up.
        (format!("9007199254740993.{}", zeros(1_000_000)), Ok(9_007_199_254_740_992.0)),
        (format!("9007199254740993.{}1", zeros(1_000_000)), Ok(9_007_199_254_740_994.0)),
        (format!("9007199254740993{}1e-1000001", zeros(1_000_000)), Ok(9_007_199_254_740_994.0)),
    ] {
        let got = number(&literal);
        assert!(same(got, expected), "{:.60}…: {got:?}, expected {expected:?}", literal);
    }
    // The canonical text too: the reported literal was silently written as `1`.
    assert_eq!(code(format!("1{}e-1000000", zeros(100_000)).as_bytes()), ErrorCode::JsonNumberOutOfRange);
    assert_eq!(canon(&format!("[1{}e-8000000]", zeros(8_000_000))), "[1]");
    assert_eq!(canon(&format!("-0.{}e1", zeros(1_000_000))), "0");
    // The integer rule is unchanged: long integers are out of range, not imprecise.
    assert_eq!(code(format!("1{}", zeros(400)).as_bytes()), ErrorCode::JsonNumberOutOfRange);
    assert_eq!(code(format!("1{}", zeros(1_000_000)).as_bytes()), ErrorCode::JsonNumberOutOfRange);
    assert_eq!(code(b"9007199254740993"), ErrorCode::JsonIntegerPrecision);
}

#[test]
fn padded_number_literals_denote_the_same_double() {
    // Values at the edges of rounding: the largest double, the halfway point above
    // it (2^1024 - 2^970, which rounds to infinity), the smallest subnormal, the
    // halfway point below it (2^-1075, which rounds to zero), the halfway point with
    // the most significant digits (768; (2^53 - 1) * 2^-1075 rounds up to 2^-1022),
    // and 2^53 + 1. Each is digits * 10^exponent.
    let overflow_half = times(&power(2, 970), (1 << 54) - 1);
    let underflow_half = power(5, 1075);
    let longest_half = times(&underflow_half, (1 << 53) - 1);
    assert_eq!(longest_half.len(), 768);
    let cores: Vec<(String, i64)> = vec![
        ("1".into(), 0),
        ("17976931348623157".into(), 292),
        (overflow_half.clone(), 0),
        (minus_one(&overflow_half), 0),
        ("5".into(), -324),
        ("24703282292062328".into(), -340),
        (underflow_half.clone(), -1075),
        (minus_one(&underflow_half), -1075),
        (longest_half.clone(), -1075),
        (minus_one(&longest_half), -1075),
        ("9007199254740993".into(), 0),
        ("123456789012345678901234567890".into(), -400),
        ("25".into(), -2),
    ];
    let n = 1_000_000;
    for (digits, exponent) in &cores {
        let len = digits.len() as i64;
        let n64 = n as i64;
        let zeros = "0".repeat(n);
        let exact = oracle(&format!("{digits}e{exponent}"));
        // The same value in other spellings: trailing zeros, leading zeros, a decimal
        // point inside the digits, an exponent with leading zeros, a minus sign.
        let (head, tail) = digits.split_at(1);
        let exponent_sign = if *exponent < 0 { "-" } else { "+" };
        for literal in [
            format!("{digits}{zeros}e{}", exponent - n64),
            format!("0.{zeros}{digits}e{}", exponent + n64 + len),
            format!("{head}.{tail}{zeros}e{}", exponent + len - 1),
            format!("{digits}e{exponent_sign}{zeros}{}", exponent.unsigned_abs()),
        ] {
            assert!(same(number(&literal), exact), "{digits}e{exponent} as {:.60}…: {:?}", literal, number(&literal));
            let negative = format!("-{literal}");
            assert!(same(number(&negative), exact.map(|v| -v)), "-{digits}e{exponent}: {:?}", number(&negative));
        }
        // A little more, or a little less, than the value: a non-zero digit a million
        // places on. Rounding treats every such tail alike, so a thousand places
        // (which the oracle reads exactly) gives the expected result.
        let (short, long) = (
            format!("{digits}{}1e{}", "0".repeat(1000), exponent - 1001),
            format!("{digits}{zeros}1e{}", exponent - n64 - 1),
        );
        assert!(same(number(&long), oracle(&short)), "{digits}e{exponent} + a tail: {:?}", number(&long));
        let below = minus_one(digits);
        if below != "0" {
            let (short, long) = (
                format!("{below}{}e{}", "9".repeat(1000), exponent - 1000),
                format!("{below}{}e{}", "9".repeat(n), exponent - n64),
            );
            assert!(same(number(&long), oracle(&short)), "{digits}e{exponent} - a tail: {:?}", number(&long));
        }
    }
    // Around 800 significant digits, where the parser stops keeping digits: halfway
    // points with 768 digits (one whose tie rounds up, one down) and a tail just above
    // or below, spelled with 798 to 803 digits (short enough for the oracle to read).
    let tie_down = times(&underflow_half, (1 << 53) - 3);
    for (half, k) in [&longest_half, &tie_down].into_iter().flat_map(|half| (29..=34).map(move |k| (half, k))) {
        for literal in [
            format!("{half}{}1e{}", "0".repeat(k), -1075 - k as i64 - 1),
            format!("{}{}e{}", minus_one(half), "9".repeat(k + 1), -1075 - k as i64 - 1),
        ] {
            assert!(
                same(number(&literal), oracle(&literal)),
                "{} digits: {:?}",
                literal.find('e').unwrap(),
                number(&literal)
            );
        }
    }
    // The oracle agrees with the documented edges.
    assert_eq!(oracle(&format!("{overflow_half}e0")), Err(ErrorCode::JsonNumberOutOfRange));
    assert_eq!(oracle(&format!("{}e0", minus_one(&overflow_half))), Ok(f64::MAX));
    assert_eq!(oracle(&format!("{underflow_half}e-1075")), Err(ErrorCode::JsonNumberOutOfRange));
    assert_eq!(oracle(&format!("{longest_half}e-1075")), Ok(f64::MIN_POSITIVE));
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
        // No 'alg' is no supported algorithm (SPEC §5 step 3).
        (format!("{}.e30.{sig}", header(r#"{}"#)), ErrorCode::JwsUnsupportedAlgorithm),
        // 'crit' naming a parameter the header lacks: an invalid header (step 4),
        // whether or not the name would be supported.
        (format!("{}.e30.{sig}", header(r#"{"alg":"ES256","crit":["exp"]}"#)), ErrorCode::JwsHeaderInvalid),
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

/// Records, receipts and batch receipts each have one byte form: a second spelling
/// of the same content is refused, so two parties can never hold different bytes
/// for one piece of evidence (SPEC §6, §7, §10).
#[test]
fn evidence_has_one_byte_form() {
    let key = SigningKey::from_bytes(&[6u8; 32]).unwrap();
    let keys = KeySet::single(key.public_key());
    let mut chain = evidentia::ChainState::new("example.com/forms").unwrap();
    let time = Timestamp::from_unix(1_800_000_000, 0).unwrap();
    let first = chain.append(key.kid(), Digest::sha256(b"{}"), time, None).unwrap().record;
    let later = Timestamp::from_unix(1_800_000_001, 0).unwrap();
    let second = chain.append(key.kid(), Digest::sha256(b"{}"), later, None).unwrap().record;
    let text = |record: &Record| String::from_utf8(record.to_bytes()).unwrap();

    // `prev` is null exactly for seq 0.
    let prev_of_second = format!("\"{}\"", second.prev.unwrap());
    let null_prev = text(&second).replace(&prev_of_second, "null");
    let prev_on_first = text(&first).replace("\"prev\":null", &format!("\"prev\":{prev_of_second}"));
    for bad in [null_prev, prev_on_first] {
        assert_ne!(bad, text(&second));
        assert_eq!(Record::from_bytes(bad.as_bytes()).unwrap_err().code(), ErrorCode::RecordMalformed, "{bad}");
    }

    // A receipt's header is the canonical {"alg","kid","typ"} and nothing else, even
    // when signed by the right key.
    let receipt = Receipt::sign(&key, &second).unwrap();
    assert!(verify_receipt(receipt.as_str(), &keys, None).unwrap().is_valid());
    let payload = receipt.as_str().split('.').nth(1).unwrap().to_owned();
    let kid = key.kid();
    let signed_with = |header: &str| {
        let input = format!("{}.{payload}", base64url(header.as_bytes()));
        format!("{input}.{}", base64url(&key.sign(input.as_bytes())))
    };
    let canonical = format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"evidentia-receipt+jws"}}"#);
    assert_eq!(signed_with(&canonical), receipt.as_str(), "the receipt header is the canonical one");
    for header in [
        format!(r#"{{"kid":"{kid}","alg":"ES256","typ":"evidentia-receipt+jws"}}"#),
        format!(r#"{{"alg":"ES256", "kid":"{kid}","typ":"evidentia-receipt+jws"}}"#),
        format!(r#"{{"alg":"ES256","cty":"json","kid":"{kid}","typ":"evidentia-receipt+jws"}}"#),
    ] {
        let jws = signed_with(&header);
        assert!(verify_jws(&jws, &keys, None, None).is_ok(), "a valid JWS: {header}");
        assert_eq!(Receipt::parse(&jws).unwrap_err().code(), ErrorCode::ReceiptMalformed, "{header}");
        assert!(verify_receipt(&jws, &keys, None).is_err(), "{header}");
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
