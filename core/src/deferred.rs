//! Signature checks answered outside the core (ARCHITECTURE.md, "Signature checks
//! made by the host"). A browser's WebCrypto verifies ECDSA P-256 in native code,
//! several times faster than the pure-Rust provider compiled to WebAssembly, but
//! only asynchronously, and every verification in the core is synchronous.
//!
//! So a verification runs twice at most, and the core decides every result:
//! 1. The verification runs with [`Deferral::keys`], a key set whose signature
//!    checks are recorded and taken as valid. Everything else (parsing,
//!    canonicalization, digests, chains, proofs, key history) is checked as always.
//!    The caller takes the recorded checks as they are made
//!    ([`Deferral::take_checks`]), so that WebCrypto works on them on its own
//!    threads while the verification goes on.
//! 2. The caller hands the answers to [`Deferral::finish`]. When every check was
//!    valid, the first run took exactly the path a run with real checks takes,
//!    and its result stands. Otherwise the verification runs again with the
//!    answers: a check answered valid is valid, and any other check is made by
//!    this build's own provider. An answer of "invalid" therefore never decides a
//!    result; it only costs the second run.
//!
//! Only the keys of the given key set are deferred. Keys met during the run (a
//! rotation's next key in a key record, a package's own key) are checked here.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sha2::{Digest as _, Sha256};

use crate::jwks::KeySet;

/// One ECDSA P-256 / SHA-256 signature check, in the forms WebCrypto takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The public key as an uncompressed SEC1 point (`04 || X || Y`), WebCrypto's
    /// "raw" format.
    pub public_key: [u8; 65],
    /// The signed bytes (hashed with SHA-256 by the check).
    pub message: Vec<u8>,
    /// The signature as `R || S`, as JWS and WebCrypto write it.
    pub signature: [u8; 64],
}

/// A verification whose signature checks are made outside the core.
#[must_use = "a result reached with deferred keys holds only once its checks are answered (finish)"]
pub struct Deferral {
    /// The key set as given, for a second run.
    given: KeySet,
    deferred: KeySet,
    oracle: Arc<Oracle>,
}

impl std::fmt::Debug for Deferral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deferral").field("keys", &self.given.len()).finish_non_exhaustive()
    }
}

impl Deferral {
    /// A deferral of the checks made with `keys`.
    pub fn new(keys: &KeySet) -> Deferral {
        let oracle = Arc::new(Oracle::Record(Mutex::new(Recorded::default())));
        Deferral { given: keys.clone(), deferred: keys.deferred_to(&oracle), oracle }
    }

    /// The key set to verify with: each of its signature checks is recorded and
    /// taken as valid.
    pub fn keys(&self) -> &KeySet {
        &self.deferred
    }

    /// The checks recorded since the last call, in the order they were made.
    pub fn take_checks(&self) -> Vec<SignatureCheck> {
        self.oracle.recorded().map_or_else(Vec::new, |mut recorded| recorded.take())
    }

    /// The result of the verification, given `assumed`, its result with
    /// [`Self::keys`], and whether each check taken verified (`valid[i]` answers
    /// the i-th check taken; a missing answer, or a check never taken, counts as
    /// not valid). `verify` must be the same verification; it runs again, with
    /// the answers, unless every check was valid.
    pub fn finish<R>(self, assumed: R, valid: &[bool], verify: impl FnOnce(&KeySet) -> R) -> R {
        let Some(mut recorded) = self.oracle.recorded() else { return verify(&self.given) };
        recorded.take();
        if valid.len() == recorded.taken.len() && valid.iter().all(|v| *v) {
            return assumed;
        }
        let answers = recorded.taken.iter().zip(valid).filter(|(_, v)| **v).map(|(fingerprint, _)| *fingerprint);
        let oracle = Arc::new(Oracle::Answers(answers.collect()));
        drop(recorded);
        verify(&self.given.deferred_to(&oracle))
    }
}

/// The checks of the first run.
#[derive(Default)]
pub(crate) struct Recorded {
    /// Made and not yet taken.
    made: Vec<SignatureCheck>,
    /// The fingerprints of those taken, in order.
    taken: Vec<[u8; 32]>,
}

impl Recorded {
    fn take(&mut self) -> Vec<SignatureCheck> {
        let made = std::mem::take(&mut self.made);
        self.taken.extend(made.iter().map(|c| fingerprint(&c.public_key, &c.message, &c.signature)));
        made
    }
}

/// Who answers the checks of a deferred key.
pub(crate) enum Oracle {
    /// The first run: every check is recorded and taken as valid.
    Record(Mutex<Recorded>),
    /// The second run: the fingerprints of the checks answered valid.
    Answers(HashSet<[u8; 32]>),
}

impl Oracle {
    fn recorded(&self) -> Option<MutexGuard<'_, Recorded>> {
        match self {
            Oracle::Record(recorded) => Some(recorded.lock().unwrap_or_else(PoisonError::into_inner)),
            Oracle::Answers(_) => None,
        }
    }

    /// Whether the signature is valid: recorded and assumed, answered, or, when
    /// not answered valid, `check_here`.
    pub(crate) fn answer(
        &self,
        public_key: &[u8; 65],
        message: &[u8],
        signature: &[u8; 64],
        check_here: impl FnOnce() -> bool,
    ) -> bool {
        match self {
            Oracle::Record(recorded) => {
                let check =
                    SignatureCheck { public_key: *public_key, message: message.to_vec(), signature: *signature };
                recorded.lock().unwrap_or_else(PoisonError::into_inner).made.push(check);
                true
            }
            Oracle::Answers(valid) => valid.contains(&fingerprint(public_key, message, signature)) || check_here(),
        }
    }
}

/// One check in 32 bytes. The key and signature have fixed lengths, so the
/// concatenation is unambiguous.
fn fingerprint(public_key: &[u8; 65], message: &[u8], signature: &[u8; 64]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(public_key);
    hash.update(signature);
    hash.update(message);
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;

    fn made_here(check: &SignatureCheck) -> bool {
        let key = crate::PublicKey::from_sec1(&check.public_key).expect("a recorded key");
        key.verify(&check.message, &check.signature)
    }

    /// `jws` with one character of its signature changed (not the last, whose
    /// low bits are padding).
    fn forge(jws: &str) -> String {
        let at = jws.len() - 10;
        let changed = if &jws[at..=at] == "A" { "B" } else { "A" };
        format!("{}{changed}{}", &jws[..at], &jws[at + 1..])
    }

    /// Runs `jws` through a deferral answered by `answer` (given whether the check
    /// is valid); returns whether it verified.
    fn deferred(keys: &KeySet, jws: &str, answer: impl Fn(bool) -> Option<bool>) -> (bool, usize) {
        let verify = |keys: &KeySet| crate::verify_jws(jws, keys, None, None).is_ok();
        let deferral = Deferral::new(keys);
        let assumed = verify(deferral.keys());
        let checks = deferral.take_checks();
        let answers: Vec<bool> = checks.iter().filter_map(|c| answer(made_here(c))).collect();
        (deferral.finish(assumed, &answers, verify), checks.len())
    }

    #[test]
    fn answers_decide_only_through_the_provider() {
        let key = SigningKey::generate().expect("a key");
        let keys = KeySet::single(key.public_key());
        let good = crate::sign_jws(&key, b"{}", crate::JwsOptions::default()).expect("signs");
        let forged = forge(&good);

        // Honest answers: one check each, and the provider's verdict.
        assert_eq!(deferred(&keys, &good, Some), (true, 1));
        assert_eq!(deferred(&keys, &forged, Some), (false, 1));
        // A missing answer counts as not valid: the provider decides.
        assert_eq!(deferred(&keys, &forged, |_| None), (false, 1));
        assert_eq!(deferred(&keys, &good, |_| None), (true, 1));
        // "Invalid" for a good signature is overruled by the provider.
        assert_eq!(deferred(&keys, &good, |_| Some(false)), (true, 1));
    }

    #[test]
    fn checks_never_taken_are_made_by_the_provider() {
        let key = SigningKey::generate().expect("a key");
        let keys = KeySet::single(key.public_key());
        let forged = forge(&crate::sign_jws(&key, b"{}", crate::JwsOptions::default()).expect("signs"));
        let verify = |keys: &KeySet| crate::verify_jws(&forged, keys, None, None).is_ok();
        let deferral = Deferral::new(&keys);
        let assumed = verify(deferral.keys());
        assert!(assumed, "the recording run takes every check as valid");
        assert!(!deferral.finish(assumed, &[], verify));
    }
}
