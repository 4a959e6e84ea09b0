//! The signer seam: every signature Evidentia makes (receipts, checkpoints, JWS)
//! goes through [`Signer`], whether the key is a [`SigningKey`] in memory, a key in
//! a PKCS#11 token, a cloud KMS key behind a callback, or a platform keystore.

use crate::error::Result;
use crate::keys::{PublicKey, SigningKey};

/// An ECDSA P-256 / SHA-256 signing key, wherever it is kept.
///
/// Implement [`Signer::sign_message`] for a key outside Evidentia; the core checks
/// each signature against [`Signer::public_key`] before it is used, so a signer that
/// returns a wrong signature is refused with [`ErrorCode::SignerFailed`] and nothing
/// is written. Keys outside Evidentia sign with random nonces, so their evidence
/// verifies everywhere but is not byte-reproducible; a [`SigningKey`] signs
/// deterministically (RFC 6979).
///
/// [`ErrorCode::SignerFailed`]: crate::ErrorCode::SignerFailed
pub trait Signer {
    /// The public key: records and JWS headers carry its RFC 7638 kid.
    fn public_key(&self) -> &PublicKey;

    /// Signs `message` (the whole message: the signer hashes it with SHA-256) and
    /// returns the signature as ASN.1 DER, as HSMs and cloud KMS return it, or as
    /// the 64 bytes `R || S`.
    ///
    /// # Errors
    /// Whatever the key's holder reports; callbacks map their failures to
    /// [`ErrorCode::SignerFailed`](crate::ErrorCode::SignerFailed).
    fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>>;

    /// The signature over `message` as `R || S`, verified with the public key.
    ///
    /// # Errors
    /// The errors of [`Signer::sign_message`];
    /// [`ErrorCode::SignerFailed`](crate::ErrorCode::SignerFailed) for a signature
    /// that is malformed or does not verify.
    fn signature(&self, message: &[u8]) -> Result<[u8; 64]> {
        let signature = self.sign_message(message)?;
        self.public_key().normalize_signature(message, &signature)
    }

    /// Whether the same message always gives the same signature (RFC 6979).
    fn is_deterministic(&self) -> bool {
        false
    }
}

/// A shared or boxed signer signs as the signer it holds.
macro_rules! forward_signer {
    ($($holder:ident)::+) => {
        impl<S: Signer + ?Sized> Signer for $($holder)::+<S> {
            fn public_key(&self) -> &PublicKey {
                (**self).public_key()
            }
            fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>> {
                (**self).sign_message(message)
            }
            fn signature(&self, message: &[u8]) -> Result<[u8; 64]> {
                (**self).signature(message)
            }
            fn is_deterministic(&self) -> bool {
                (**self).is_deterministic()
            }
        }
    };
}
forward_signer!(std::sync::Arc);
forward_signer!(Box);

impl Signer for SigningKey {
    fn public_key(&self) -> &PublicKey {
        SigningKey::public_key(self)
    }

    fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>> {
        Ok(self.sign(message).to_vec())
    }

    /// Evidentia's own signing needs no second check.
    fn signature(&self, message: &[u8]) -> Result<[u8; 64]> {
        Ok(self.sign(message))
    }

    fn is_deterministic(&self) -> bool {
        !self.is_randomized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    /// A key held elsewhere: signs with the wrapped key, in DER, or misbehaves.
    struct Outside {
        key: SigningKey,
        answer: fn(&SigningKey, &[u8]) -> Vec<u8>,
    }

    impl Signer for Outside {
        fn public_key(&self) -> &PublicKey {
            self.key.public_key()
        }
        fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>> {
            Ok((self.answer)(&self.key, message))
        }
    }

    #[test]
    fn outside_signatures_are_normalized_and_checked() {
        let key = SigningKey::from_bytes(&[5u8; 32]).unwrap();
        let der = Outside { key: key.clone(), answer: |k, m| k.sign_der(m) };
        assert_eq!(der.signature(b"m").unwrap(), key.sign(b"m"));
        assert!(!der.is_deterministic());
        let other =
            Outside { key: key.clone(), answer: |_, m| SigningKey::from_bytes(&[6u8; 32]).unwrap().sign_der(m) };
        assert_eq!(other.signature(b"m").unwrap_err().code(), ErrorCode::SignerFailed);
        let junk = Outside { key: key.clone(), answer: |_, _| vec![0x30, 0x02, 0x01] };
        assert_eq!(junk.signature(b"m").unwrap_err().code(), ErrorCode::SignerFailed);
        let other_message = Outside { key, answer: |k, _| k.sign(b"other").to_vec() };
        assert_eq!(other_message.signature(b"m").unwrap_err().code(), ErrorCode::SignerFailed);
    }

    #[test]
    fn software_keys_are_deterministic_unless_randomized() {
        let key = SigningKey::from_bytes(&[5u8; 32]).unwrap();
        assert!(Signer::is_deterministic(&key));
        assert_eq!(Signer::signature(&key, b"m").unwrap(), key.sign(b"m"));
    }
}
