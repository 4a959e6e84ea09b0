//! A strict RFC 8259 parser that refuses everything canonicalization could not
//! reproduce faithfully: duplicate names, lone surrogates, invalid UTF-8, numbers
//! outside the double range, integers that would lose precision.

use std::borrow::Cow;

use super::canonical::{NEEDS_ESCAPE, format_number};
use super::tree::Tree;
use super::value::{Number, Value};
use crate::error::{Error, ErrorCode, Result};

/// Limits applied while parsing JSON text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Maximum nesting of arrays and objects (default 128). The top-level value is
    /// at depth 1 when it is an array or object.
    pub max_depth: usize,
    /// Maximum input size in bytes (default 16 MiB).
    pub max_size: usize,
}

/// The largest `max_depth` that may be configured. Parsing and canonicalization
/// never recurse, but dropping, cloning and comparing a [`Value`] do, once per level;
/// this bound keeps that well inside a 1 MiB stack, the smallest a binding runs on.
pub const MAX_DEPTH_LIMIT: usize = 1024;

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { max_depth: 128, max_size: 16 * 1024 * 1024 }
    }
}

/// Parses JSON text with the default [`ParseOptions`].
///
/// # Errors
/// A `Json*` [`ErrorCode`] saying what is wrong and where (line and column).
pub fn parse(input: &[u8]) -> Result<Value> {
    parse_with(input, &ParseOptions::default())
}

/// Parses JSON text with explicit limits.
///
/// # Errors
/// A `Json*` [`ErrorCode`]; [`ErrorCode::InvalidArgument`] when `max_depth` exceeds
/// [`MAX_DEPTH_LIMIT`].
pub fn parse_with(input: &[u8], options: &ParseOptions) -> Result<Value> {
    parse_tree(input, options)
}

/// Parses JSON text into either kind of [`Tree`]; both see the same checks.
pub(crate) fn parse_tree<'a, T: Tree<'a>>(input: &'a [u8], options: &ParseOptions) -> Result<T> {
    if options.max_depth > MAX_DEPTH_LIMIT {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("max_depth {} exceeds the supported maximum of {MAX_DEPTH_LIMIT}", options.max_depth),
        ));
    }
    if input.len() > options.max_size {
        return Err(Error::new(
            ErrorCode::JsonTooLarge,
            format!("input is {} bytes, more than the limit of {} bytes", input.len(), options.max_size),
        ));
    }
    let text = match std::str::from_utf8(input) {
        Ok(text) => text,
        Err(e) => {
            let (line, column) = line_column(input, e.valid_up_to());
            return Err(Error::new(
                ErrorCode::JsonInvalidUtf8,
                format!("invalid UTF-8 at line {line}, column {column}"),
            ));
        }
    };
    if text.starts_with('\u{feff}') {
        return Err(Error::new(ErrorCode::JsonSyntax, "a byte order mark is not allowed before JSON text"));
    }
    let mut parser = Parser { text, bytes: input, pos: 0, max_depth: options.max_depth };
    parser.skip_whitespace();
    let value = parser.value()?;
    parser.skip_whitespace();
    if parser.pos != input.len() {
        return Err(parser.error(ErrorCode::JsonSyntax, "unexpected data after the JSON value"));
    }
    Ok(value)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(input: &[u8], offset: usize) -> (usize, usize) {
    let before = &input[..offset.min(input.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    // Count characters, not bytes: continuation bytes do not start a character.
    let column = before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1;
    (line, column)
}

/// An array or object being parsed.
enum Container<'a, T: Tree<'a>> {
    Array(Vec<T>),
    /// Members so far, where the object starts, and the name of the member whose
    /// value is being parsed.
    Object {
        members: Vec<(T::Text, T)>,
        start: usize,
        name: T::Text,
    },
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, code: ErrorCode, what: &str) -> Error {
        self.error_at(self.pos, code, what)
    }

    fn error_at(&self, pos: usize, code: ErrorCode, what: &str) -> Error {
        let (line, column) = line_column(self.bytes, pos);
        Error::new(code, format!("{what} at line {line}, column {column}"))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_literal<T>(&mut self, literal: &str, value: T) -> Result<T> {
        if self.bytes[self.pos..].starts_with(literal.as_bytes()) {
            self.pos += literal.len();
            Ok(value)
        } else {
            Err(self.error(ErrorCode::JsonSyntax, "invalid literal"))
        }
    }

    /// Parses one value. Nesting is handled with an explicit stack rather than
    /// recursion, so no input can exhaust the thread's stack.
    fn value<T: Tree<'a>>(&mut self) -> Result<T> {
        let mut stack: Vec<Container<'a, T>> = Vec::new();
        loop {
            // Parse a value, or open a container and continue with its first element.
            let mut value = match self.peek() {
                None => return Err(self.error(ErrorCode::JsonSyntax, "unexpected end of input, expected a value")),
                Some(b'n') => self.expect_literal("null", T::null())?,
                Some(b't') => self.expect_literal("true", T::bool(true))?,
                Some(b'f') => self.expect_literal("false", T::bool(false))?,
                Some(b'"') => T::string(T::text(self.string()?)),
                Some(b'-' | b'0'..=b'9') => T::number(self.number()?),
                Some(open @ (b'[' | b'{')) => {
                    if stack.len() >= self.max_depth {
                        return Err(self.error(
                            ErrorCode::JsonTooDeep,
                            &format!("nesting deeper than the limit of {}", self.max_depth),
                        ));
                    }
                    let start = self.pos;
                    self.pos += 1;
                    self.skip_whitespace();
                    let close = if open == b'[' { b']' } else { b'}' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        if open == b'[' { T::array(Vec::new()) } else { T::object(Vec::new()) }
                    } else {
                        stack.push(if open == b'[' {
                            Container::Array(Vec::new())
                        } else {
                            Container::Object { members: Vec::new(), start, name: T::text(self.member_name()?) }
                        });
                        continue;
                    }
                }
                Some(_) => return Err(self.error(ErrorCode::JsonSyntax, "unexpected character, expected a value")),
            };
            // Hand the value to its container; close every container that ends here.
            loop {
                let Some(container) = stack.last_mut() else {
                    return Ok(value);
                };
                self.skip_whitespace();
                let next = self.peek();
                match container {
                    Container::Array(items) => {
                        items.push(value);
                        match next {
                            Some(b',') => {}
                            Some(b']') => {}
                            None => {
                                return Err(self.error(ErrorCode::JsonSyntax, "unexpected end of input in an array"));
                            }
                            Some(_) => return Err(self.error(ErrorCode::JsonSyntax, "expected ',' or ']'")),
                        }
                    }
                    Container::Object { members, name, .. } => {
                        members.push((std::mem::take(name), value));
                        match next {
                            Some(b',') | Some(b'}') => {}
                            None => {
                                return Err(self.error(ErrorCode::JsonSyntax, "unexpected end of input in an object"));
                            }
                            Some(_) => return Err(self.error(ErrorCode::JsonSyntax, "expected ',' or '}'")),
                        }
                    }
                }
                self.pos += 1;
                if next == Some(b',') {
                    self.skip_whitespace();
                    if let Some(Container::Object { name, .. }) = stack.last_mut() {
                        *name = T::text(self.member_name()?);
                    }
                    break;
                }
                value = match stack.pop() {
                    Some(Container::Array(items)) => T::array(items),
                    Some(Container::Object { members, start, .. }) => self.finish_object(members, start)?,
                    None => unreachable!("a container was just inspected"),
                };
            }
        }
    }

    /// Reads `"name" :` and the whitespace after it.
    fn member_name(&mut self) -> Result<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(self.error(ErrorCode::JsonSyntax, "expected a member name in double quotes"));
        }
        let name = self.string()?;
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(self.error(ErrorCode::JsonSyntax, "expected ':' after a member name"));
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok(name)
    }

    /// Sorts members into canonical order and refuses duplicate names.
    fn finish_object<T: Tree<'a>>(&self, mut members: Vec<(T::Text, T)>, start: usize) -> Result<T> {
        members.sort_by(|a, b| super::canonical::compare_names(a.0.as_ref(), b.0.as_ref()));
        if members.windows(2).any(|pair| pair[0].0.as_ref() == pair[1].0.as_ref()) {
            return Err(self.error_at(
                start,
                ErrorCode::JsonDuplicateKey,
                "duplicate member name in the object starting",
            ));
        }
        Ok(T::object(members))
    }

    fn hex4(&mut self) -> Result<u16> {
        let digits = self.bytes.get(self.pos..self.pos + 4);
        let value = digits
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit))
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u16::from_str_radix(d, 16).ok());
        match value {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => Err(self.error(ErrorCode::JsonSyntax, "expected four hex digits after \\u")),
        }
    }

    /// Reads a string. It borrows from the input unless it has escapes.
    fn string(&mut self) -> Result<Cow<'a, str>> {
        let text: &'a str = self.text;
        self.pos += 1; // opening quote
        let mut unescaped: Option<String> = None;
        let mut run_start = self.pos;
        loop {
            // Skip the bytes that stand for themselves, which are most of them.
            let rest = &self.bytes[self.pos..];
            self.pos += rest.iter().position(|&b| NEEDS_ESCAPE[usize::from(b)]).unwrap_or(rest.len());
            let Some(b) = self.peek() else {
                return Err(self.error(ErrorCode::JsonSyntax, "unterminated string"));
            };
            match b {
                b'"' => {
                    let run = &text[run_start..self.pos];
                    self.pos += 1;
                    return Ok(match unescaped {
                        None => Cow::Borrowed(run),
                        Some(mut out) => {
                            out.push_str(run);
                            Cow::Owned(out)
                        }
                    });
                }
                b'\\' => {
                    let out = unescaped.get_or_insert_with(String::new);
                    out.push_str(&text[run_start..self.pos]);
                    let escape_start = self.pos;
                    self.pos += 1;
                    let Some(kind) = self.peek() else {
                        return Err(self.error(ErrorCode::JsonSyntax, "unterminated escape"));
                    };
                    self.pos += 1;
                    match kind {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            let c = match unit {
                                0xD800..=0xDBFF => {
                                    if self.bytes[self.pos..].starts_with(b"\\u") {
                                        self.pos += 2;
                                        let low = self.hex4()?;
                                        if !(0xDC00..=0xDFFF).contains(&low) {
                                            return Err(self.error_at(
                                                escape_start,
                                                ErrorCode::JsonLoneSurrogate,
                                                "high surrogate not followed by a low surrogate",
                                            ));
                                        }
                                        let scalar =
                                            0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                                        char::from_u32(scalar)
                                    } else {
                                        None
                                    }
                                }
                                0xDC00..=0xDFFF => None,
                                _ => char::from_u32(u32::from(unit)),
                            };
                            match c {
                                Some(c) => out.push(c),
                                None => {
                                    return Err(self.error_at(
                                        escape_start,
                                        ErrorCode::JsonLoneSurrogate,
                                        "unpaired surrogate escape",
                                    ));
                                }
                            }
                        }
                        _ => return Err(self.error_at(escape_start, ErrorCode::JsonSyntax, "invalid escape")),
                    }
                    run_start = self.pos;
                }
                0x00..=0x1F => {
                    return Err(self.error(ErrorCode::JsonSyntax, "unescaped control character in a string"));
                }
                _ => self.pos += 1,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Number> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.error(ErrorCode::JsonSyntax, "leading zeros are not allowed in numbers"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error(ErrorCode::JsonSyntax, "expected a digit")),
        }
        let int = &self.bytes[int_start..self.pos];
        let mut fraction: &[u8] = &[];
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let fraction_start = self.pos;
            if self.digits() == 0 {
                return Err(self.error(ErrorCode::JsonSyntax, "expected a digit after the decimal point"));
            }
            fraction = &self.bytes[fraction_start..self.pos];
        }
        let mut exponent: Option<(bool, &[u8])> = None;
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            let exponent_negative = self.peek() == Some(b'-');
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            let exponent_start = self.pos;
            if self.digits() == 0 {
                return Err(self.error(ErrorCode::JsonSyntax, "expected a digit in the exponent"));
            }
            exponent = Some((exponent_negative, &self.bytes[exponent_start..self.pos]));
        }
        let is_integer = fraction.is_empty() && exponent.is_none();
        let literal = &self.text[start..self.pos];
        let (exponent_negative, exponent_digits) = exponent.unwrap_or((false, b"0"));
        let magnitude_text = &self.text[int_start..self.pos];
        let (magnitude, nonzero) = nearest_double(magnitude_text, int, fraction, exponent_negative, exponent_digits)
            .ok_or_else(|| self.error_at(start, ErrorCode::Internal, "number could not be rounded"))?;
        let value = if negative { -magnitude } else { magnitude };
        if value.is_infinite() {
            return Err(self.error_at(start, ErrorCode::JsonNumberOutOfRange, "number is too large for a double"));
        }
        if value == 0.0 && nonzero {
            return Err(self.error_at(start, ErrorCode::JsonNumberOutOfRange, "number is too small for a double"));
        }
        // Every integer below 2^53 is exact. From 2^53 on, an integer is accepted only
        // when it is exactly the canonical spelling of the double it denotes, so it
        // can never silently change (9007199254740993 would become ...992).
        if is_integer && value.abs() >= 9_007_199_254_740_992.0 && format_number(value) != literal {
            return Err(self.error_at(
                start,
                ErrorCode::JsonIntegerPrecision,
                "integer cannot be represented exactly as a double",
            ));
        }
        Number::from_f64(value)
    }
}

/// Literals up to this many bytes (sign excluded), which covers every number real
/// documents hold, go to `str::parse` as they stand. It is exact on them: with this
/// few digits, an exponent large enough for it to stop reading (see [`round_long`]) is
/// out of range whatever the digits. Rewriting them first would double the cost of
/// every number.
const SHORT_LITERAL: usize = 64;

/// Significant digits kept when rounding a long literal. Rounding to the nearest
/// double can only change at a point halfway between two neighbouring doubles (or at
/// the halfway point above the largest, where infinity begins), and every such point
/// has at most 768 significant digits: it is m·2^e with m < 2^54 and e ≥ −1075, and
/// for e < 0 its digits are those of m·5^−e, at most (2^54 − 1)·5^1075, which has 768.
/// So the first 800 significant digits, followed by one non-zero digit when a non-zero
/// digit was dropped, lie on the same side of every such point as the full literal,
/// and round to the same double.
const KEPT_DIGITS: usize = 800;

/// The double nearest to the magnitude of a number literal (`text`, made of its
/// integer digits, fraction digits and exponent), and whether the literal has a
/// non-zero digit (a value that rounds to zero is then out of range).
fn nearest_double(
    text: &str,
    int: &[u8],
    fraction: &[u8],
    exponent_negative: bool,
    exponent: &[u8],
) -> Option<(f64, bool)> {
    if text.len() <= SHORT_LITERAL {
        let nonzero = int.iter().chain(fraction).any(|&d| d != b'0');
        Some((text.parse().ok()?, nonzero))
    } else {
        round_long(int, fraction, exponent_negative, exponent)
    }
}

/// [`nearest_double`] for a literal of any length, in time linear in its length.
///
/// Rust's `str::parse::<f64>` is exact on short literals but not on every literal up
/// to the input limit: it stops reading exponent digits once the exponent passes
/// 65536, which is harmless only when there are not as many digits to offset it, so
/// `1` followed by 100,000 zeros and `e-1000000` read as 1, and `1` followed by
/// 8,000,000 zeros and `e-8000000` as infinity. So the literal is first rewritten into
/// a short one that rounds to the same double: `0.`, the significant digits (leading
/// and trailing zeros dropped; at most [`KEPT_DIGITS`] and one non-zero digit standing
/// for the rest), and an exponent clamped to ±400. The value is 0.d₁d₂…·10^point with
/// 0.1 ≤ 0.d₁d₂… < 1, so every point above 400 gives at least 10^400 (infinity) and
/// every point below −400 less than 10^−400 (zero), whatever the digits.
fn round_long(int: &[u8], fraction: &[u8], exponent_negative: bool, exponent: &[u8]) -> Option<(f64, bool)> {
    // The significand's digits with the decimal point removed; the point falls after
    // the first `int.len()` of them.
    let count = int.len() + fraction.len();
    let digit = |i: usize| if i < int.len() { int[i] } else { fraction[i - int.len()] };
    let Some(first) = (0..count).find(|&i| digit(i) != b'0') else {
        return Some((0.0, false)); // zero, whatever the exponent
    };
    let last = (first..count).rev().find(|&i| digit(i) != b'0').unwrap_or(first);
    // The explicit exponent saturates at u64::MAX. That cannot change the result: a
    // literal is shorter than isize::MAX bytes, so its digits move the point by less
    // than that, and an exponent of at least u64::MAX − isize::MAX lies far beyond ±400.
    let explicit = exponent.iter().fold(0u64, |e, &d| e.saturating_mul(10).saturating_add(u64::from(d - b'0')));
    let explicit = if exponent_negative { -i128::from(explicit) } else { i128::from(explicit) };
    let point = (int.len() as i128 - first as i128 + explicit).clamp(-400, 400);

    let kept = (last - first + 1).min(KEPT_DIGITS);
    let mut text = String::with_capacity(kept + 8);
    text.push_str("0.");
    text.extend((first..first + kept).map(|i| char::from(digit(i))));
    if last - first + 1 > KEPT_DIGITS {
        text.push('1'); // stands for the dropped digits, the last of which is non-zero
    }
    text.push('e');
    text.push_str(&point.to_string());
    Some((text.parse().ok()?, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rewriting of long literals, on short ones, against `str::parse`.
    #[test]
    fn rewritten_literals_round_as_the_originals() {
        let significands = [
            ("0", ""),
            ("1", ""),
            ("0", "5"),
            ("25", ""),
            ("0", "001"),
            ("9007199254740993", ""),
            ("17976931348623157", ""),
            ("4", "9406564584124654"),
            ("2", "4703282292062327"),
        ];
        for (int, fraction) in significands {
            for zeros in [0, 1, 30] {
                let fraction = format!("{fraction}{}", "0".repeat(zeros));
                for exponent in (-420i32..=420).step_by(3) {
                    let point = if fraction.is_empty() { "" } else { "." };
                    let literal = format!("{int}{point}{fraction}e{exponent}");
                    let expected: f64 = literal.parse().unwrap_or_else(|_| panic!("{literal}"));
                    let exponent_digits = exponent.unsigned_abs().to_string();
                    let got = round_long(int.as_bytes(), fraction.as_bytes(), exponent < 0, exponent_digits.as_bytes());
                    assert_eq!(got.map(|(v, _)| v.to_bits()), Some(expected.to_bits()), "{literal}");
                }
            }
        }
    }
}
