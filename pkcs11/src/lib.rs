//! Evidentia signing keys kept in PKCS#11 tokens: HSMs, smart cards, SoftHSM2.
//!
//! A key is named by an RFC 7512 URI ([`Pkcs11Uri`]), for example
//! `pkcs11:token=evidentia;object=log-key?pin-source=/etc/evidentia/pin&module-path=/usr/lib/softhsm/libsofthsm2.so`.
//! [`Pkcs11Signer::open`] gives an [`evidentia::Signer`] that every signing path of
//! Evidentia takes (receipts, checkpoints, JWS, the store's logs);
//! [`generate_key`] makes a P-256 key in the token that never leaves it;
//! [`Pkcs11NoteSigner`] signs a log's checkpoints with an Ed25519 note key in a
//! token (SPEC §10.1).
//!
//! The module is loaded at run time, so this crate builds without the token's
//! libraries; all unsafe code stays inside `cryptoki`.

#![forbid(unsafe_code)]

mod note;
mod token;
mod uri;

pub use note::Pkcs11NoteSigner;
pub use token::{Pkcs11Signer, generate_key};
pub use uri::{MODULE_ENV, Pkcs11Uri};

/// Whether `text` names a key in a token (starts with `pkcs11:`) rather than a file.
pub fn is_pkcs11_uri(text: &str) -> bool {
    text.starts_with("pkcs11:")
}
