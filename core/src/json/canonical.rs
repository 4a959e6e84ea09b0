//! RFC 8785 (JCS) serialization: ECMAScript number formatting, member names sorted
//! by UTF-16 code units, minimal string escaping, no whitespace.

use std::cmp::Ordering;

use super::parse::{MAX_DEPTH_LIMIT, ParseOptions, parse_tree};
use super::tree::{Borrowed, Tree, View};
use super::value::{MAX_SAFE_INTEGER, Value};
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
    let value: Borrowed<'_> = parse_tree(input, options)?;
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
    let mut out = Vec::new();
    write_number(value, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes a finite double as [`format_number`] formats it.
fn write_number(value: f64, out: &mut Vec<u8>) {
    if value == 0.0 {
        out.push(b'0');
    } else if value.fract() == 0.0 && value.abs() <= MAX_SAFE_INTEGER as f64 {
        // An integer below 2^53 prints as its decimal digits in ECMAScript, and
        // exactly, so the digits of the `i64` are the ones `format_finite` would write.
        write_integer(value as i64, out);
    } else {
        out.extend_from_slice(ryu_js::Buffer::new().format_finite(value).as_bytes());
    }
}

/// Writes the decimal digits of an integer, with a minus sign when it is negative.
fn write_integer(value: i64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut rest = value.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
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
fn write_value<'a, T: Tree<'a>>(value: &T, out: &mut Vec<u8>, max_depth: usize) -> Result<()> {
    write_value_indented(value, out, max_depth, false)
}

/// Writes `value` with member names in canonical order; `pretty` adds newlines
/// and two-space indentation (which canonical JSON never has).
fn write_value_indented<'a, T: Tree<'a>>(value: &T, out: &mut Vec<u8>, max_depth: usize, pretty: bool) -> Result<()> {
    enum Frame<'v, T, S> {
        Array { items: std::slice::Iter<'v, T>, started: bool },
        Object { members: Members<'v, T, S>, started: bool },
    }
    let mut stack: Vec<Frame<'_, T, T::Text>> = Vec::new();
    let mut next = Some(value);
    loop {
        if let Some(value) = next.take() {
            match value.view() {
                View::Null => out.extend_from_slice(b"null"),
                View::Bool(true) => out.extend_from_slice(b"true"),
                View::Bool(false) => out.extend_from_slice(b"false"),
                View::Number(n) => write_number(n.as_f64(), out),
                View::String(s) => write_text::<T>(s, out),
                View::Array(items) => {
                    check_depth(stack.len() + 1, max_depth)?;
                    out.push(b'[');
                    stack.push(Frame::Array { items: items.iter(), started: false });
                }
                View::Object(members) => {
                    check_depth(stack.len() + 1, max_depth)?;
                    out.push(b'{');
                    let members =
                        if T::IN_CANONICAL_ORDER { Members::InOrder(members.iter()) } else { sorted_members(members)? };
                    stack.push(Frame::Object { members, started: false });
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
                (std::mem::replace(started, true), members.next().map(|(k, v)| (Some(k), v)))
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
                    write_text::<T>(name, out);
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

/// An object's members in canonical order: as they are, when they already are in
/// it (as every parsed object is), or sorted.
enum Members<'v, T, S> {
    InOrder(std::slice::Iter<'v, (S, T)>),
    Sorted(std::vec::IntoIter<&'v (S, T)>),
}

impl<'v, T, S> Iterator for Members<'v, T, S> {
    type Item = &'v (S, T);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Members::InOrder(members) => members.next(),
            Members::Sorted(members) => members.next(),
        }
    }
}

/// An object's members in canonical order.
///
/// # Errors
/// [`ErrorCode::JsonDuplicateKey`] when two members share a name.
fn sorted_members<T, S: AsRef<str>>(members: &[(S, T)]) -> Result<Members<'_, T, S>> {
    fn name<S: AsRef<str>, T>(member: &(S, T)) -> &str {
        member.0.as_ref()
    }
    if members.windows(2).all(|p| compare_names(name(&p[0]), name(&p[1])) == Ordering::Less) {
        return Ok(Members::InOrder(members.iter()));
    }
    let mut sorted: Vec<&(S, T)> = members.iter().collect();
    sorted.sort_by(|a, b| compare_names(name(a), name(b)));
    if sorted.windows(2).any(|p| name(p[0]) == name(p[1])) {
        return Err(Error::new(ErrorCode::JsonDuplicateKey, "an object has the same member name twice"));
    }
    Ok(Members::Sorted(sorted.into_iter()))
}

/// Bytes that a JSON string must escape: control characters, `"` and `\`.
pub(crate) const NEEDS_ESCAPE: [bool; 256] = {
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

/// Writes a string of a tree: as it stands when the tree knows it needs no escapes.
fn write_text<'a, T: Tree<'a>>(text: &T::Text, out: &mut Vec<u8>) {
    if T::needs_no_escapes(text) {
        out.push(b'"');
        out.extend_from_slice(text.as_ref().as_bytes());
        out.push(b'"');
    } else {
        write_string(text.as_ref(), out);
    }
}

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
    fn integers_print_as_ecmascript_prints_them() {
        let max = MAX_SAFE_INTEGER as f64;
        let mut cases = vec![1.0, -1.0, 9.0, 10.0, -10.0, 123_456_789.0, max, -max, max - 1.0, 1e15, 1e15 + 1.0];
        cases.extend((0..53).flat_map(|bit| [(1u64 << bit) as f64, -((1u64 << bit) as f64)]));
        for value in cases {
            let mut out = Vec::new();
            write_number(value, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), ryu_js::Buffer::new().format_finite(value), "{value}");
        }
    }

    #[test]
    fn pretty_output_is_indented_and_parses_back() {
        let value = parse(br#"{"b":[1,{"c":[]},{}],"a":"x"}"#).unwrap();
        let pretty = to_pretty_string(&value).unwrap();
        assert_eq!(pretty, "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    {\n      \"c\": []\n    },\n    {}\n  ]\n}\n");
        assert_eq!(parse(pretty.as_bytes()).unwrap(), value);
        assert_eq!(to_pretty_string(&Value::Null).unwrap(), "null\n");
    }
}
