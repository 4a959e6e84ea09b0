//! RFC 8785 (JCS) serialization: ECMAScript number formatting, member names sorted
//! by UTF-16 code units, minimal string escaping, no whitespace.

use std::cmp::Ordering;

use super::parse::{MAX_DEPTH_LIMIT, ParseOptions, parse_with};
use super::value::Value;
use crate::error::{Error, ErrorCode, Result};

/// Canonicalizes JSON text (RFC 8785) with the default limits.
///
/// # Errors
/// Any error of [`parse`](super::parse); see [`ErrorCode`]'s `Json*` codes.
pub fn canonicalize(input: &[u8]) -> Result<Vec<u8>> {
    canonicalize_with(input, &ParseOptions::default())
}

/// Canonicalizes JSON text with explicit limits.
///
/// # Errors
/// Any error of [`parse_with`](super::parse_with).
pub fn canonicalize_with(input: &[u8], options: &ParseOptions) -> Result<Vec<u8>> {
    let value = parse_with(input, options)?;
    let mut out = Vec::with_capacity(input.len());
    write_value(&value, &mut out, options.max_depth)?;
    Ok(out)
}

/// Canonicalizes an in-memory value with the default depth limit.
///
/// # Errors
/// [`ErrorCode::JsonDuplicateKey`] when an object has a member name twice,
/// [`ErrorCode::JsonTooDeep`] when nesting exceeds the default limit.
pub fn canonicalize_value(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_value(value, &mut out, ParseOptions::default().max_depth)?;
    Ok(out)
}

/// Writes a value as indented JSON for people to read: members in canonical
/// order, two-space indentation, a final newline. Not canonical JSON.
///
/// # Errors
/// As [`canonicalize_value`].
pub fn to_pretty_string(value: &Value) -> Result<String> {
    let mut out = Vec::new();
    write_value_indented(value, &mut out, MAX_DEPTH_LIMIT, true)?;
    out.push(b'\n');
    String::from_utf8(out).map_err(|_| Error::new(ErrorCode::Internal, "JSON output is not UTF-8"))
}

/// Formats a finite double as ECMAScript's `Number.prototype.toString` does, which
/// is what RFC 8785 §3.2.2.3 requires. `-0` becomes `0`.
pub(crate) fn format_number(value: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let mut buffer = ryu_js::Buffer::new();
    buffer.format_finite(value).to_owned()
}

/// Orders member names by their UTF-16 code units (RFC 8785 §3.2.3).
pub(crate) fn compare_names(a: &str, b: &str) -> Ordering {
    // UTF-8 byte order equals code point order; it differs from UTF-16 order only
    // when a supplementary character meets one in U+E000..U+FFFF. Bytes 0xEE and
    // above start exactly those characters, so pure byte comparison is safe below them.
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let common = ab.iter().zip(bb).take_while(|(x, y)| x == y).count();
    match (ab.get(common), bb.get(common)) {
        (Some(&x), Some(&y)) if x < 0xEE && y < 0xEE => x.cmp(&y),
        (Some(_), Some(_)) => a.encode_utf16().cmp(b.encode_utf16()),
        _ => ab.len().cmp(&bb.len()),
    }
}

/// Writes the canonical form of `value`, iteratively: no value, however deep,
/// can exhaust the stack here.
fn write_value(value: &Value, out: &mut Vec<u8>, max_depth: usize) -> Result<()> {
    write_value_indented(value, out, max_depth, false)
}

/// Writes `value` with member names in canonical order; `pretty` adds newlines
/// and two-space indentation (which canonical JSON never has).
fn write_value_indented(value: &Value, out: &mut Vec<u8>, max_depth: usize, pretty: bool) -> Result<()> {
    enum Frame<'a> {
        Array { items: std::slice::Iter<'a, Value>, started: bool },
        Object { members: std::vec::IntoIter<&'a (String, Value)>, started: bool },
    }
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut next = Some(value);
    loop {
        if let Some(value) = next.take() {
            match value {
                Value::Null => out.extend_from_slice(b"null"),
                Value::Bool(true) => out.extend_from_slice(b"true"),
                Value::Bool(false) => out.extend_from_slice(b"false"),
                Value::Number(n) => out.extend_from_slice(format_number(n.as_f64()).as_bytes()),
                Value::String(s) => write_string(s, out),
                Value::Array(items) => {
                    check_depth(stack.len() + 1, max_depth)?;
                    out.push(b'[');
                    stack.push(Frame::Array { items: items.iter(), started: false });
                }
                Value::Object(members) => {
                    check_depth(stack.len() + 1, max_depth)?;
                    out.push(b'{');
                    stack.push(Frame::Object { members: sorted_members(members)?.into_iter(), started: false });
                }
            }
        }
        // Continue with the next element of the innermost container, or close it.
        let Some(frame) = stack.last_mut() else {
            return Ok(());
        };
        let (started, item) = match frame {
            Frame::Array { items, started } => (std::mem::replace(started, true), items.next().map(|v| (None, v))),
            Frame::Object { members, started } => {
                (std::mem::replace(started, true), members.next().map(|(k, v)| (Some(k.as_str()), v)))
            }
        };
        let newline = |out: &mut Vec<u8>, depth: usize| {
            out.push(b'\n');
            out.resize(out.len() + 2 * depth, b' ');
        };
        match item {
            Some((name, value)) => {
                if started {
                    out.push(b',');
                }
                if pretty {
                    newline(out, stack.len());
                }
                if let Some(name) = name {
                    write_string(name, out);
                    out.push(b':');
                    if pretty {
                        out.push(b' ');
                    }
                }
                next = Some(value);
            }
            None => {
                let frame = stack.pop();
                if pretty && started {
                    newline(out, stack.len());
                }
                out.push(match frame {
                    Some(Frame::Array { .. }) => b']',
                    _ => b'}',
                });
            }
        }
    }
}

fn check_depth(depth: usize, max_depth: usize) -> Result<()> {
    if depth > max_depth {
        Err(Error::new(ErrorCode::JsonTooDeep, format!("nesting deeper than the limit of {max_depth}")))
    } else {
        Ok(())
    }
}

/// An object's members in canonical order.
///
/// # Errors
/// [`ErrorCode::JsonDuplicateKey`] when two members share a name.
fn sorted_members(members: &[(String, Value)]) -> Result<Vec<&(String, Value)>> {
    let mut sorted: Vec<&(String, Value)> = members.iter().collect();
    if !members.windows(2).all(|p| compare_names(&p[0].0, &p[1].0) == Ordering::Less) {
        sorted.sort_by(|a, b| compare_names(&a.0, &b.0));
        if sorted.windows(2).any(|p| p[0].0 == p[1].0) {
            return Err(Error::new(ErrorCode::JsonDuplicateKey, "an object has the same member name twice"));
        }
    }
    Ok(sorted)
}

/// Bytes that a JSON string must escape: control characters, `"` and `\`.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Writes a JSON string with exactly the escapes RFC 8785 §3.2.2.2 prescribes.
pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut rest = s.as_bytes();
    while let Some(i) = rest.iter().position(|&b| NEEDS_ESCAPE[usize::from(b)]) {
        out.extend_from_slice(&rest[..i]);
        let b = rest[i];
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xF)]]),
        }
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn pretty_output_is_indented_and_parses_back() {
        let value = parse(br#"{"b":[1,{"c":[]},{}],"a":"x"}"#).unwrap();
        let pretty = to_pretty_string(&value).unwrap();
        assert_eq!(pretty, "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    {\n      \"c\": []\n    },\n    {}\n  ]\n}\n");
        assert_eq!(parse(pretty.as_bytes()).unwrap(), value);
        assert_eq!(to_pretty_string(&Value::Null).unwrap(), "null\n");
    }
}
