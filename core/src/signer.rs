//! The signer seam: every signature Evidentia makes (receipts, checkpoints, JWS)
//! goes through [`Signer`], whether the key is a [`SigningKey`] in memory, a key in
//! a PKCS#11 token, a cloud KMS key behind a callback, or a platform keystore.

use crate::error::Result;
use crate::keys::{PublicKey, SigningKey};

/// An ECDSA P-256 / SHA-256 signing key, wherever it is kept.
///
/// Implement [`Signer::sign_message`] for a key outside Evidentia; the core checks
/// each signature against [`Signer::public_key`] before it is used
/// ([`checked_signature`]), so a signer that
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

    /// The private key in memory behind this signer, if there is one: Evidentia's
    /// own signatures need no second check (see [`checked_signature`]).
    fn software_key(&self) -> Option<&SigningKey> {
        None
    }

    /// Whether the same message always gives the same signature (RFC 6979).
    fn is_deterministic(&self) -> bool {
        self.software_key().is_some_and(|key| !key.is_randomized())
    }
}

/// The signature of `signer` over `message` as `R || S`, checked: every signature
/// Evidentia uses comes through here. A signature from a key held elsewhere (DER or
/// `R || S`) is verified with the signer's public key; a software key whose public
/// key is the signer's signs directly.
///
/// # Errors
/// The errors of [`Signer::sign_message`]; [`ErrorCode::SignerFailed`] for a
/// signature that is malformed or does not verify.
///
/// [`ErrorCode::SignerFailed`]: crate::ErrorCode::SignerFailed
pub fn checked_signature(signer: &dyn Signer, message: &[u8]) -> Result<[u8; 64]> {
    if let Some(key) = signer.software_key().filter(|key| key.public_key() == signer.public_key()) {
        return Ok(key.sign(message));
    }
    let signature = signer.sign_message(message)?;
    signer.public_key().normalize_signature(message, &signature)
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
            fn software_key(&self) -> Option<&SigningKey> {
                (**self).software_key()
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

    fn software_key(&self) -> Option<&SigningKey> {
        Some(self)
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
        assert_eq!(checked_signature(&der, b"m").unwrap(), key.sign(b"m"));
        assert!(!der.is_deterministic());
        let other =
            Outside { key: key.clone(), answer: |_, m| SigningKey::from_bytes(&[6u8; 32]).unwrap().sign_der(m) };
        assert_eq!(checked_signature(&other, b"m").unwrap_err().code(), ErrorCode::SignerFailed);
        let junk = Outside { key: key.clone(), answer: |_, _| vec![0x30, 0x02, 0x01] };
        assert_eq!(checked_signature(&junk, b"m").unwrap_err().code(), ErrorCode::SignerFailed);
        let other_message = Outside { key, answer: |k, _| k.sign(b"other").to_vec() };
        assert_eq!(checked_signature(&other_message, b"m").unwrap_err().code(), ErrorCode::SignerFailed);
    }

    #[test]
    fn software_keys_are_deterministic_unless_randomized() {
        let key = SigningKey::from_bytes(&[5u8; 32]).unwrap();
        assert!(Signer::is_deterministic(&key));
        // Randomized where the provider can (AWS-LC); the p256 provider stays deterministic.
        let randomized = key.with_randomized_signatures();
        assert_eq!(Signer::is_deterministic(&randomized), !randomized.is_randomized());
        assert_eq!(checked_signature(&key, b"m").unwrap(), key.sign(b"m"));
        // A signer claiming another key's software key does not skip the check.
        struct Claims(SigningKey, SigningKey);
        impl Signer for Claims {
            fn public_key(&self) -> &PublicKey {
                self.0.public_key()
            }
            fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>> {
                Ok(self.1.sign(message).to_vec())
            }
            fn software_key(&self) -> Option<&SigningKey> {
                Some(&self.1)
            }
        }
        let claims = Claims(key.clone(), SigningKey::from_bytes(&[6u8; 32]).unwrap());
        assert_eq!(checked_signature(&claims, b"m").unwrap_err().code(), ErrorCode::SignerFailed);
    }
}
