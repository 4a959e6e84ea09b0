//! RFC 8785 conformance: the cyberphone test data and the RFC's Appendix B.

#![allow(clippy::unwrap_used)]

mod common;

use common::{read, read_json, unhex};
use evidentia::json::{Number, Value};
use evidentia::{ErrorCode, canonicalize, canonicalize_value};

#[test]
fn cyberphone_documents_reproduce_byte_for_byte() {
    let names = ["arrays", "french", "structures", "unicode", "values", "weird"];
    for name in names {
        let input = read(&format!("external/jcs/input/{name}.json"));
        let expected = read(&format!("external/jcs/output/{name}.json"));
        let expected_hex = String::from_utf8(read(&format!("external/jcs/outhex/{name}.txt"))).unwrap();
        let expected_from_hex = unhex(&expected_hex.split_whitespace().collect::<String>());
        assert_eq!(expected, expected_from_hex, "{name}: output and outhex disagree");
        let got = canonicalize(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected), "{name}");
        // Canonical output is a fixed point.
        assert_eq!(canonicalize(&got).unwrap(), got, "{name} is not idempotent");
    }
}

fn number_text(bits: u64) -> Result<String, evidentia::Error> {
    let value = Number::from_f64(f64::from_bits(bits))?;
    let bytes = canonicalize_value(&Value::Number(value))?;
    Ok(String::from_utf8(bytes).unwrap())
}

#[test]
fn appendix_b_number_samples() {
    let doc = read_json("external/jcs/rfc8785_appendix_b.json");
    let vectors = doc.get("vectors").and_then(Value::as_array).unwrap();
    assert_eq!(vectors.len(), 26);
    for v in vectors {
        let hex = v.get("ieee_hex").and_then(Value::as_str).unwrap();
        let bits = u64::from_str_radix(hex, 16).unwrap();
        match v.get("expected").unwrap() {
            Value::Null => {
                let err = number_text(bits).unwrap_err();
                assert_eq!(err.code(), ErrorCode::JsonNonFinite, "{hex}");
            }
            Value::String(expected) => {
                assert_eq!(&number_text(bits).unwrap(), expected, "{hex}");
                // The canonical text parses back to the same double.
                let back = canonicalize(expected.as_bytes()).unwrap();
                assert_eq!(&String::from_utf8(back).unwrap(), expected, "{hex} does not round-trip");
            }
            other => panic!("unexpected expected value {other:?}"),
        }
    }
}

fn run_es6_file(path: &str, expected_lines: usize) {
    let text = String::from_utf8(read(path)).unwrap();
    let mut count = 0;
    for line in text.lines() {
        let (hex, expected) = line.split_once(',').unwrap();
        let bits = u64::from_str_radix(hex, 16).unwrap();
        let got = number_text(bits).unwrap();
        assert_eq!(got, expected, "{hex}");
        // Parsing the canonical spelling gives back the same bits (modulo -0).
        let parsed = evidentia::json::parse(expected.as_bytes()).unwrap();
        let back = parsed.as_number().unwrap().as_f64();
        let original = f64::from_bits(bits);
        assert!(back == original, "{hex}: {expected} parsed back as {back}");
        count += 1;
    }
    assert_eq!(count, expected_lines);
}

#[test]
fn es6_number_serialization_100k() {
    run_es6_file("external/jcs/es6testfile100k.txt", 100_000);
}

#[test]
fn es6_number_serialization_1k() {
    run_es6_file("external/jcs/es6testfile1k.txt", 1_000);
}
