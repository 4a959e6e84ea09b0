//! Keyed hashes that keep personal data out of an event altogether (SPEC.md §26.3).
//!
//! An application that must be able to find a person's records, but must not
//! write who they are into a log kept for years, writes `keyed_hash(key, value)`
//! in place of the value: HMAC-SHA256 under a key it holds, outside the log. The
//! same value under the same key gives the same text, so records stay searchable
//! (an indexed field, SPEC.md §21.4, takes it as any value); without the key no one
//! can confirm a guess, and destroying the key leaves nothing to link back to the
//! person, in every copy of the log at once.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::encoding::hex;
use crate::error::{Error, ErrorCode, Result};

/// What a keyed hash's text begins with.
pub const KEYED_HASH_PREFIX: &str = "hmac-sha256:";
/// The shortest key a keyed hash takes: 128 bits.
pub const MIN_HASH_KEY_BYTES: usize = 16;

/// `hmac-sha256:` and the 64 lowercase hex digits of HMAC-SHA256 (RFC 2104) of
/// `data` under `key`.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for a key shorter than 16 bytes, which a guess
/// of the key itself could find.
pub fn keyed_hash(key: &[u8], data: &[u8]) -> Result<String> {
    if key.len() < MIN_HASH_KEY_BYTES {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("a keyed hash needs a key of at least {MIN_HASH_KEY_BYTES} random bytes, not {}", key.len()),
        ));
    }
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(data);
    Ok(format!("{KEYED_HASH_PREFIX}{}", hex(&mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_test_cases() {
        // RFC 4231 §4.2 (test case 1) and §4.7 (test case 6, a key longer than the block).
        assert_eq!(
            keyed_hash(&[0x0b; 20], b"Hi There").unwrap(),
            "hmac-sha256:b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            keyed_hash(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First").unwrap(),
            "hmac-sha256:60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_short_key_is_refused() {
        assert_eq!(
            keyed_hash(b"Jefe", b"what do ya want for nothing?").unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
    }
}
