//! A small DER reader and writer: exactly what RFC 3161 requests, responses and
//! X.509 certificates need. Lengths must be definite and minimal (BER's indefinite
//! lengths are refused); the order of SET OF elements is not enforced, because
//! OpenSSL writes the certificate set of a time-stamp token unsorted (SPEC.md §20).

use crate::error::{Error, ErrorCode, Result};
use crate::time::Timestamp;

pub(crate) const BOOLEAN: u8 = 0x01;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;

/// Context-specific constructed tag `[n]`.
pub(crate) const fn explicit(n: u8) -> u8 {
    0xa0 | n
}

/// Context-specific primitive tag `[n]`.
pub(crate) const fn implicit(n: u8) -> u8 {
    0x80 | n
}

/// The error of everything malformed in time-stamp material.
pub(crate) fn malformed(what: &str, problem: &str) -> Error {
    Error::new(ErrorCode::TimestampMalformed, format!("{what}: {problem}"))
}

/// One element: its tag, its contents and its whole encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) value: &'a [u8],
    pub(crate) raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over the contents of this (constructed) element.
    pub(crate) fn reader(&self, what: &'static str) -> Reader<'a> {
        Reader { data: self.value, what }
    }

    /// The contents of a non-negative INTEGER without its sign byte, checked minimal.
    pub(crate) fn unsigned(&self, what: &str) -> Result<&'a [u8]> {
        match self.value {
            [] => Err(malformed(what, "an INTEGER is empty")),
            [0, next, ..] if *next < 0x80 => Err(malformed(what, "an INTEGER is not minimally encoded")),
            [first, ..] if *first >= 0x80 => Err(malformed(what, "an INTEGER is negative")),
            [0, rest @ ..] if !rest.is_empty() => Ok(rest),
            value => Ok(value),
        }
    }

    /// A small non-negative INTEGER.
    pub(crate) fn small_unsigned(&self, what: &str) -> Result<u64> {
        let bytes = self.unsigned(what)?;
        if bytes.len() > 8 {
            return Err(malformed(what, "an INTEGER is too large"));
        }
        Ok(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
    }

    /// The contents of a BIT STRING with no unused bits.
    pub(crate) fn bit_string(&self, what: &str) -> Result<&'a [u8]> {
        match self.value {
            [0, rest @ ..] => Ok(rest),
            _ => Err(malformed(what, "a BIT STRING has unused bits or is empty")),
        }
    }

    /// A BOOLEAN.
    pub(crate) fn boolean(&self, what: &str) -> Result<bool> {
        match self.value {
            [0x00] => Ok(false),
            [0xff] => Ok(true),
            _ => Err(malformed(what, "a BOOLEAN is not 0x00 or 0xFF")),
        }
    }

    /// A UTCTime or GeneralizedTime in UTC ("Z"), with an optional fraction.
    pub(crate) fn time(&self, what: &str) -> Result<Timestamp> {
        let text = std::str::from_utf8(self.value)
            .ok()
            .filter(|t| t.is_ascii())
            .ok_or_else(|| malformed(what, "a time is not ASCII text"))?;
        let full = match self.tag {
            // RFC 5280 §4.1.2.5.1: YY below 50 is 20YY.
            UTC_TIME if text.len() == 13 => {
                let century = if text[..2] < *"50" { "20" } else { "19" };
                format!("{century}{text}")
            }
            GENERALIZED_TIME => text.to_owned(),
            _ => return Err(malformed(what, "a time is not a UTCTime or GeneralizedTime in UTC")),
        };
        let b = full.as_bytes();
        let well_formed = b.len() >= 15
            && b[..14].iter().all(u8::is_ascii_digit)
            && b.last() == Some(&b'Z')
            && (b.len() == 15 || (b[14] == b'.' && b.len() > 16 && b[15..b.len() - 1].iter().all(u8::is_ascii_digit)));
        if !well_formed {
            return Err(malformed(what, &format!("time {text:?} is not YYYYMMDDHHMMSS[.fff]Z")));
        }
        let rfc3339 = format!(
            "{}-{}-{}T{}:{}:{}{}",
            &full[..4],
            &full[4..6],
            &full[6..8],
            &full[8..10],
            &full[10..12],
            &full[12..14],
            &full[14..]
        );
        Timestamp::parse(&rfc3339).map_err(|_| malformed(what, &format!("time {text:?} is not a real time")))
    }
}

/// Reads the elements of one constructed value, in order.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, which `what` names in errors.
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { data, what }
    }

    /// Reads a whole input that must be exactly one element with `tag`.
    pub(crate) fn single(data: &'a [u8], tag: u8, what: &'static str) -> Result<Tlv<'a>> {
        let mut reader = Reader::new(data, what);
        let tlv = reader.expect(tag)?;
        reader.finish()?;
        Ok(tlv)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// The next element, whatever its tag.
    pub(crate) fn read(&mut self) -> Result<Tlv<'a>> {
        let what = self.what;
        let data = self.data;
        let (&tag, rest) = data.split_first().ok_or_else(|| malformed(what, "the data ends early"))?;
        if tag & 0x1f == 0x1f {
            return Err(malformed(what, "a multi-byte tag is not used by these structures"));
        }
        let (&first, rest) = rest.split_first().ok_or_else(|| malformed(what, "the data ends early"))?;
        let (length, rest) = match first {
            0x80 => return Err(malformed(what, "an indefinite length (BER) is not DER")),
            n if n < 0x80 => (usize::from(n), rest),
            n => {
                let count = usize::from(n & 0x7f);
                if count > 4 || rest.len() < count {
                    return Err(malformed(what, "a length is too large or cut off"));
                }
                let length = rest[..count].iter().fold(0usize, |n, b| (n << 8) | usize::from(*b));
                if rest[0] == 0 || length < 0x80 {
                    return Err(malformed(what, "a length is not minimally encoded"));
                }
                (length, &rest[count..])
            }
        };
        if rest.len() < length {
            return Err(malformed(what, "the data ends early"));
        }
        let header = data.len() - rest.len();
        let tlv = Tlv { tag, value: &rest[..length], raw: &data[..header + length] };
        self.data = &rest[length..];
        Ok(tlv)
    }

    /// The next element, which must have `tag`.
    pub(crate) fn expect(&mut self, tag: u8) -> Result<Tlv<'a>> {
        let tlv = self.read()?;
        if tlv.tag != tag {
            return Err(malformed(self.what, &format!("expected tag 0x{tag:02x}, found 0x{:02x}", tlv.tag)));
        }
        Ok(tlv)
    }

    /// The next element if it has `tag`.
    pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(tag) { self.read().map(Some) } else { Ok(None) }
    }

    /// Fails when elements are left.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.data.is_empty() { Ok(()) } else { Err(malformed(self.what, "unexpected data at the end")) }
    }
}

/// Encodes one element.
pub(crate) fn encode(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

/// Encodes a non-negative INTEGER from its big-endian magnitude.
pub(crate) fn encode_unsigned(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match magnitude.iter().position(|b| *b != 0) {
        Some(start) => &magnitude[start..],
        None => &[0],
    };
    let mut contents = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] >= 0x80 {
        contents.push(0);
    }
    contents.extend_from_slice(trimmed);
    encode(INTEGER, &contents)
}

/// An OBJECT IDENTIFIER's contents in dotted form, for messages.
pub(crate) fn oid_text(contents: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut n: u128 = 0;
    for b in contents {
        n = (n << 7) | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (n / 40).min(2);
                arcs.push(first);
                arcs.push(n - first * 40);
            } else {
                arcs.push(n);
            }
            n = 0;
        }
    }
    arcs.iter().map(u128::to_string).collect::<Vec<_>>().join(".")
}

/// Object identifiers, as the contents of their DER encoding.
pub(crate) mod oids {
    pub(crate) const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    pub(crate) const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
    pub(crate) const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
    pub(crate) const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    pub(crate) const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    pub(crate) const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    pub(crate) const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    pub(crate) const ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
    pub(crate) const ECDSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
    pub(crate) const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    pub(crate) const RSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
    pub(crate) const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    pub(crate) const RSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    pub(crate) const RSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
    pub(crate) const RSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
    pub(crate) const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
    pub(crate) const CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
    pub(crate) const MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
    pub(crate) const TST_INFO: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04];
    pub(crate) const SIGNING_CERTIFICATE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0c];
    pub(crate) const SIGNING_CERTIFICATE_V2: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f];
    pub(crate) const EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
    pub(crate) const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
    pub(crate) const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
    pub(crate) const SUBJECT_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x0e];
    pub(crate) const TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
    pub(crate) const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
    pub(crate) const COUNTRY: &[u8] = &[0x55, 0x04, 0x06];
    pub(crate) const LOCALITY: &[u8] = &[0x55, 0x04, 0x07];
    pub(crate) const STATE: &[u8] = &[0x55, 0x04, 0x08];
    pub(crate) const ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
    pub(crate) const ORGANIZATIONAL_UNIT: &[u8] = &[0x55, 0x04, 0x0b];
    pub(crate) const SERIAL_NUMBER: &[u8] = &[0x55, 0x04, 0x05];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_must_be_definite_and_minimal() {
        assert!(Reader::single(&[0x04, 0x01, 0xaa], OCTET_STRING, "t").is_ok());
        for bad in [
            &[0x30, 0x80, 0x00, 0x00][..], // indefinite
            &[0x04, 0x81, 0x01, 0xaa],     // long form for a short length
            &[0x04, 0x82, 0x00, 0x81],     // leading zero length byte
            &[0x04, 0x05, 0xaa],           // cut off
            &[0x04, 0x01, 0xaa, 0x00],     // trailing data
            &[0x1f, 0x01, 0x00],           // multi-byte tag
            &[],
        ] {
            let err = Reader::single(bad, OCTET_STRING, "t").unwrap_err();
            assert_eq!(err.code(), ErrorCode::TimestampMalformed, "{bad:02x?}");
        }
    }

    #[test]
    fn integers_round_trip_and_refuse_non_minimal_forms() {
        for magnitude in [&[0u8][..], &[0x7f], &[0x80], &[0x00, 0x00, 0x01, 0x02], &[0xff; 20]] {
            let der = encode_unsigned(magnitude);
            let tlv = Reader::single(&der, INTEGER, "t").unwrap();
            let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
            let expected = if trimmed.is_empty() { vec![0] } else { trimmed };
            assert_eq!(tlv.unsigned("t").unwrap(), &expected[..]);
        }
        for bad in [&[0x02, 0x02, 0x00, 0x01][..], &[0x02, 0x01, 0x80], &[0x02, 0x00]] {
            assert!(Reader::single(bad, INTEGER, "t").unwrap().unsigned("t").is_err(), "{bad:02x?}");
        }
        let long = encode(OCTET_STRING, &[7; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn times() {
        let utc = Tlv { tag: UTC_TIME, value: b"250311085208Z", raw: &[] };
        assert_eq!(utc.time("t").unwrap().to_string(), "2025-03-11T08:52:08Z");
        let old = Tlv { tag: UTC_TIME, value: b"991231235959Z", raw: &[] };
        assert_eq!(old.time("t").unwrap().to_string(), "1999-12-31T23:59:59Z");
        let generalized = Tlv { tag: GENERALIZED_TIME, value: b"20241008154032.125Z", raw: &[] };
        assert_eq!(generalized.time("t").unwrap().to_string(), "2024-10-08T15:40:32.125Z");
        for bad in
            [&b"20241008154032"[..], b"2024100815403Z", b"20241308154032Z", b"20241008154032.Z", b"2024-10-08T1Z"]
        {
            let tlv = Tlv { tag: GENERALIZED_TIME, value: bad, raw: &[] };
            assert!(tlv.time("t").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn oid_text_is_dotted() {
        assert_eq!(oid_text(oids::TIME_STAMPING), "1.3.6.1.5.5.7.3.8");
        assert_eq!(oid_text(oids::SHA256), "2.16.840.1.101.3.4.2.1");
    }
}
