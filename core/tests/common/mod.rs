//! Helpers shared by the integration tests: locating and reading vector files.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use evidentia::Value;

/// The repository's `testvectors/` folder.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testvectors")
}

pub fn read(relative: &str) -> Vec<u8> {
    let path = vectors_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn read_json(relative: &str) -> Value {
    evidentia::json::parse_with(
        &read(relative),
        &evidentia::json::ParseOptions { max_size: 64 << 20, ..Default::default() },
    )
    .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

pub fn str_of<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or_else(|| panic!("missing string member {name}"))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}
