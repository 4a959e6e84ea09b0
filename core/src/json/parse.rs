//! A strict RFC 8259 parser that refuses everything canonicalization could not
//! reproduce faithfully: duplicate names, lone surrogates, invalid UTF-8, numbers
//! outside the double range, integers that would lose precision.

use super::canonical::format_number;
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

/// The largest `max_depth` that may be configured. The parser recurses once per
/// level, and this bound keeps the deepest recursion well inside the smallest thread
/// stacks bindings run on (WASM and secondary threads).
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
    let value = parser.value(0)?;
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

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl Parser<'_> {
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

    fn expect_literal(&mut self, literal: &str, value: Value) -> Result<Value> {
        if self.bytes[self.pos..].starts_with(literal.as_bytes()) {
            self.pos += literal.len();
            Ok(value)
        } else {
            Err(self.error(ErrorCode::JsonSyntax, "invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        match self.peek() {
            None => Err(self.error(ErrorCode::JsonSyntax, "unexpected end of input, expected a value")),
            Some(b'n') => self.expect_literal("null", Value::Null),
            Some(b't') => self.expect_literal("true", Value::Bool(true)),
            Some(b'f') => self.expect_literal("false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            Some(b'[') => self.array(depth + 1),
            Some(b'{') => self.object(depth + 1),
            Some(_) => Err(self.error(ErrorCode::JsonSyntax, "unexpected character, expected a value")),
        }
    }

    fn enter(&self, depth: usize) -> Result<()> {
        if depth > self.max_depth {
            Err(self.error(ErrorCode::JsonTooDeep, &format!("nesting deeper than the limit of {}", self.max_depth)))
        } else {
            Ok(())
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value> {
        self.enter(depth)?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                None => return Err(self.error(ErrorCode::JsonSyntax, "unexpected end of input in an array")),
                Some(_) => return Err(self.error(ErrorCode::JsonSyntax, "expected ',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value> {
        self.enter(depth)?;
        let start = self.pos;
        self.pos += 1; // '{'
        let mut members: Vec<(String, Value)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_whitespace();
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
            let value = self.value(depth)?;
            members.push((name, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                None => return Err(self.error(ErrorCode::JsonSyntax, "unexpected end of input in an object")),
                Some(_) => return Err(self.error(ErrorCode::JsonSyntax, "expected ',' or '}'")),
            }
        }
        // Store members in canonical order; equal neighbours are duplicates.
        members.sort_by(|a, b| super::canonical::compare_names(&a.0, &b.0));
        if members.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err(self.error_at(
                start,
                ErrorCode::JsonDuplicateKey,
                "duplicate member name in the object starting",
            ));
        }
        Ok(Value::Object(members))
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

    fn string(&mut self) -> Result<String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        let mut run_start = self.pos;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.error(ErrorCode::JsonSyntax, "unterminated string"));
            };
            match b {
                b'"' => {
                    out.push_str(&self.text[run_start..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.text[run_start..self.pos]);
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
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
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
        let mut is_integer = true;
        if self.peek() == Some(b'.') {
            is_integer = false;
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error(ErrorCode::JsonSyntax, "expected a digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            is_integer = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error(ErrorCode::JsonSyntax, "expected a digit in the exponent"));
            }
        }
        let literal = &self.text[start..self.pos];
        let value: f64 = literal.parse().map_err(|_| self.error_at(start, ErrorCode::JsonSyntax, "invalid number"))?;
        if value.is_infinite() {
            return Err(self.error_at(start, ErrorCode::JsonNumberOutOfRange, "number is too large for a double"));
        }
        if value == 0.0 && has_nonzero_digit(literal) {
            return Err(self.error_at(start, ErrorCode::JsonNumberOutOfRange, "number is too small for a double"));
        }
        // An integer beyond 2^53 is accepted only when it is exactly the canonical
        // spelling of the double it denotes, so it can never silently change.
        if is_integer && value.abs() > 9_007_199_254_740_992.0 && format_number(value) != literal {
            return Err(self.error_at(
                start,
                ErrorCode::JsonIntegerPrecision,
                "integer cannot be represented exactly as a double",
            ));
        }
        Number::from_f64(value)
    }
}

/// Whether the significand of a number literal has a digit other than zero.
fn has_nonzero_digit(literal: &str) -> bool {
    literal.bytes().take_while(|b| !matches!(b, b'e' | b'E')).any(|b| matches!(b, b'1'..=b'9'))
}
