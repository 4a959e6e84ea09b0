//! The crypto provider seam (ARCHITECTURE.md, "Two providers"): the one place that
//! decides which library makes and checks ECDSA P-256 signatures. Nothing outside
//! this module knows.
//!
//! - **Signing** is deterministic (RFC 6979) with the pure-Rust `p256` crate, on
//!   every target, so the same key and message give the same bytes in every
//!   language. Randomized signing is an explicit opt-in
//!   ([`SigningKey::with_randomized_signatures`](crate::SigningKey::with_randomized_signatures)):
//!   AWS-LC with a fresh nonce, several times faster, not reproducible.
//! - **Verification** uses AWS-LC on native targets built with the `aws-lc` feature
//!   (the default), `p256` elsewhere (wasm32). A signature is valid or not whoever
//!   checks it, so the provider changes speed, never a result; both pass every
//!   shared vector (`cargo xtask test core` runs them with each).
//!
//! Signatures reach this module already parsed by `p256` (`R || S` in range, or
//! strict DER), so what is accepted as well-formed is decided in one place.

use std::sync::Arc;

use p256::ecdsa::{Signature, VerifyingKey};

use crate::deferred::Oracle;

/// The provider that verifies signatures in this build: `"aws-lc"` or `"p256"`.
pub const VERIFICATION_PROVIDER: &str =
    if cfg!(all(feature = "aws-lc", not(target_arch = "wasm32"))) { "aws-lc" } else { "p256" };

/// A public key prepared for the verifying provider.
#[derive(Clone)]
pub(crate) struct Verifier {
    #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
    parsed: aws_lc_rs::signature::ParsedPublicKey,
    #[cfg(not(all(feature = "aws-lc", not(target_arch = "wasm32"))))]
    key: VerifyingKey,
    /// Set on the keys of a key set whose checks are answered outside the core
    /// ([`crate::deferred`]).
    deferred: Option<(Arc<Oracle>, [u8; 65])>,
}

impl Verifier {
    pub(crate) fn new(key: &VerifyingKey) -> Verifier {
        #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
        {
            let point = key.to_sec1_point(false);
            match aws_lc_rs::signature::ParsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                point.as_bytes(),
            ) {
                Ok(parsed) => Verifier { parsed, deferred: None },
                // `p256` has already checked that the point is on the curve.
                Err(_) => unreachable!("AWS-LC refused a P-256 point that p256 accepted"),
            }
        }
        #[cfg(not(all(feature = "aws-lc", not(target_arch = "wasm32"))))]
        {
            Verifier { key: *key, deferred: None }
        }
    }

    /// This key, with its checks put to `oracle` first.
    pub(crate) fn deferred_to(&self, oracle: &Arc<Oracle>, key: &VerifyingKey) -> Verifier {
        let mut point = [0; 65];
        point.copy_from_slice(key.to_sec1_point(false).as_bytes());
        Verifier { deferred: Some((Arc::clone(oracle), point)), ..self.clone() }
    }

    /// Whether `signature` is valid for `message` (ECDSA P-256, SHA-256).
    pub(crate) fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        match &self.deferred {
            Some((oracle, key)) => {
                oracle.answer(key, message, &signature.to_bytes().into(), || self.verify_here(message, signature))
            }
            None => self.verify_here(message, signature),
        }
    }

    /// Whether `signature` is valid for `message`, checked by this build's provider.
    fn verify_here(&self, message: &[u8], signature: &Signature) -> bool {
        #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
        {
            self.parsed.verify_sig(message, &signature.to_bytes()).is_ok()
        }
        #[cfg(not(all(feature = "aws-lc", not(target_arch = "wasm32"))))]
        {
            use p256::ecdsa::signature::Verifier as _;
            self.key.verify(message, signature).is_ok()
        }
    }
}

/// A private key prepared for randomized signing, where AWS-LC is available.
#[derive(Clone)]
pub(crate) struct RandomizedSigner {
    #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
    key_pair: std::sync::Arc<aws_lc_rs::signature::EcdsaKeyPair>,
}

impl RandomizedSigner {
    /// `None` where no randomized provider exists: the key then keeps signing
    /// deterministically, which is equally valid.
    #[cfg_attr(not(all(feature = "aws-lc", not(target_arch = "wasm32"))), allow(unused_variables))]
    pub(crate) fn new(private: &[u8; 32], public: &VerifyingKey) -> Option<RandomizedSigner> {
        #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
        {
            let point = public.to_sec1_point(false);
            aws_lc_rs::signature::EcdsaKeyPair::from_private_key_and_public_key(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                private,
                point.as_bytes(),
            )
            .ok()
            .map(|key_pair| RandomizedSigner { key_pair: std::sync::Arc::new(key_pair) })
        }
        #[cfg(not(all(feature = "aws-lc", not(target_arch = "wasm32"))))]
        {
            None
        }
    }

    /// A signature `R || S` with a fresh random nonce; `None` if the provider failed
    /// (the caller then signs deterministically).
    #[cfg_attr(not(all(feature = "aws-lc", not(target_arch = "wasm32"))), allow(unused_variables))]
    pub(crate) fn sign(&self, message: &[u8]) -> Option<[u8; 64]> {
        #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
        {
            let signature = self.key_pair.sign(&aws_lc_rs::rand::SystemRandom::new(), message).ok()?;
            signature.as_ref().try_into().ok()
        }
        #[cfg(not(all(feature = "aws-lc", not(target_arch = "wasm32"))))]
        {
            None
        }
    }
}
