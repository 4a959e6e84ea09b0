//! Byte encodings used by Evidentia's formats: strict base64url (RFC 4648 §5,
//! no padding) and lowercase hex.

use base64ct::{Base64, Base64UrlUnpadded, Encoding};

/// Encodes bytes as base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Decodes unpadded base64url, refusing padding, other alphabets and non-canonical
/// trailing bits, so that every byte string has exactly one accepted encoding.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text).ok()
}

/// Encodes bytes as standard base64 with padding (RFC 4648 §4), as checkpoints
/// and proofs use it.
pub fn b64(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// Decodes standard padded base64, refusing other alphabets, missing padding and
/// non-canonical trailing bits.
pub fn b64_decode(text: &str) -> Option<Vec<u8>> {
    Base64::decode_vec(text).ok()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    write_hex(bytes, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Bytes from hex of either case; `None` for an odd number of digits or anything
/// that is not a hex digit.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    text.as_bytes().chunks_exact(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

/// Appends the lowercase hex of `bytes` to `out`.
pub(crate) fn write_hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let start = out.len();
    out.resize(start + bytes.len() * 2, 0);
    for (pair, b) in out[start..].chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xF)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_is_strict() {
        assert_eq!(b64url(b"\xfb\xff"), "-_8");
        assert_eq!(b64url_decode("-_8").unwrap(), b"\xfb\xff");
        assert_eq!(b64url_decode("").unwrap(), b"");
        // Padding, standard alphabet, whitespace and non-canonical last characters.
        for bad in ["-_8=", "+/8", "-_ 8", "-_9", "A", "AB=="] {
            assert!(b64url_decode(bad).is_none(), "{bad}");
        }
    }
}
