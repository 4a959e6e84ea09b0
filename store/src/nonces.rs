//! The nonce index (`nonces`): which record holds a nonce, found without reading
//! the log. A [`HashTable`] keyed by the nonce's fingerprint: the first 16 bytes of
//! its SHA-256, as log verification uses.

use evidentia::Digest;

use crate::config::NONCES_FILE;
#[cfg(doc)]
use crate::table::HashTable;
use crate::table::{Fingerprint, Kind, truncated};

/// The nonce index's table.
pub(crate) const NONCES: Kind = Kind { magic: *b"EVDN", what: "the nonce index", file: NONCES_FILE, version: 1 };

/// The fingerprint of a nonce.
pub(crate) fn fingerprint(nonce: &str) -> Fingerprint {
    truncated(&Digest::sha256(nonce.as_bytes()))
}
