//! SHA-256 digests and their one textual notation, `sha256:<64 lowercase hex digits>`.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorCode, Result};
use crate::json::{Value, canonicalize, canonicalize_value};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

/// The prefix of the textual notation.
const PREFIX: &str = "sha256:";

impl Digest {
    /// SHA-256 of raw bytes.
    pub fn sha256(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    /// SHA-256 of the RFC 8785 canonical form of JSON text.
    ///
    /// # Errors
    /// Any error of [`canonicalize`].
    pub fn of_json(json: &[u8]) -> Result<Digest> {
        Ok(Digest::sha256(&canonicalize(json)?))
    }

    /// SHA-256 of the RFC 8785 canonical form of a value.
    ///
    /// # Errors
    /// Any error of [`canonicalize_value`].
    pub fn of_value(value: &Value) -> Result<Digest> {
        Ok(Digest::sha256(&canonicalize_value(value)?))
    }

    /// A digest from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Digest {
        Digest(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses the notation `sha256:<64 lowercase hex digits>`.
    ///
    /// # Errors
    /// [`ErrorCode::DigestMalformed`] for anything else, including uppercase hex.
    pub fn parse(text: &str) -> Result<Digest> {
        let malformed =
            || Error::new(ErrorCode::DigestMalformed, "digest is not 'sha256:' followed by 64 lowercase hex digits");
        let hex = text.strip_prefix(PREFIX).ok_or_else(malformed)?;
        if hex.len() != 64 {
            return Err(malformed());
        }
        let mut out = [0u8; 32];
        let mut bad = 0u8;
        for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
            let (high, low) = (HEX_VALUE[usize::from(pair[0])], HEX_VALUE[usize::from(pair[1])]);
            bad |= (high | low) & 0x80;
            out[i] = (high << 4) | (low & 0x0F);
        }
        if bad != 0 {
            return Err(malformed());
        }
        Ok(Digest(out))
    }

    /// The 64 lowercase hex digits, without the prefix.
    pub fn to_hex(&self) -> String {
        crate::encoding::hex(&self.0)
    }

    /// Appends the notation `sha256:<hex>` to `out`.
    pub(crate) fn write_text(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(PREFIX.as_bytes());
        crate::encoding::write_hex(&self.0, out);
    }
}

/// The value of each lowercase hex digit; 0x80 marks every other byte.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notation_round_trips_and_is_strict() {
        let d = Digest::sha256(b"abc");
        let text = d.to_string();
        assert_eq!(text, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(Digest::parse(&text).unwrap(), d);
        for bad in [
            "",
            "sha256:",
            "SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015add",
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag",
            "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ] {
            assert_eq!(Digest::parse(bad).unwrap_err().code(), ErrorCode::DigestMalformed, "{bad}");
        }
    }

    #[test]
    fn json_digest_ignores_formatting() {
        let a = Digest::of_json(br#"{ "b": 1, "a": [1.0, 2e0] }"#).unwrap();
        let b = Digest::of_json(br#"{"a":[1,2],"b":1}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, Digest::sha256(br#"{"a":[1,2],"b":1}"#));
    }
}
