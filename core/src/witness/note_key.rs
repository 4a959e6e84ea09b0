//! A log's Ed25519 note key (SPEC §10.1): the signature line, of type 0x01 as
//! c2sp.org/signed-note and Go's golang.org/x/mod/sumdb/note write it, that public
//! witnesses require beside Evidentia's ECDSA one.
//!
//! Like [`Signer`](crate::Signer) for ECDSA, [`NoteSigner`] is the seam: the key
//! may be a [`NoteKey`] in memory or a key in a token. Every signature a note
//! signer returns is verified before it is written into a note.

use crate::checkpoint::{MAX_SIGNATURES, SIGNATURE_PREFIX, split_note};
use crate::encoding::b64;
use crate::error::{Error, ErrorCode, Result};
use crate::witness::cosignature::LogKey;

/// An Ed25519 key that signs notes, wherever it is kept.
pub trait NoteSigner {
    /// The 32-byte Ed25519 public key.
    fn public_key(&self) -> [u8; 32];

    /// The 64-byte Ed25519 signature (RFC 8032) of `message`.
    ///
    /// # Errors
    /// Whatever the key's holder reports, as [`ErrorCode::SignerFailed`].
    fn sign(&self, message: &[u8]) -> Result<[u8; 64]>;
}

/// An Ed25519 private key in memory.
pub struct NoteKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for NoteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("NoteKey").field(&crate::encoding::hex(self.0.verifying_key().as_bytes())).finish()
    }
}

impl NoteKey {
    /// The key whose 32-byte RFC 8032 seed is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> NoteKey {
        NoteKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// A new key from the system's random source.
    ///
    /// # Errors
    /// [`ErrorCode::Internal`] when the random source fails.
    #[cfg(feature = "getrandom")]
    pub fn generate() -> Result<NoteKey> {
        NoteKey::generate_with(|bytes| {
            getrandom::fill(bytes).map_err(|_| Error::new(ErrorCode::Internal, "the system random source failed"))
        })
    }

    /// A new key whose seed `fill` provides (32 random bytes).
    ///
    /// # Errors
    /// Those of `fill`.
    pub fn generate_with(mut fill: impl FnMut(&mut [u8]) -> Result<()>) -> Result<NoteKey> {
        let mut seed = [0u8; 32];
        fill(&mut seed)?;
        Ok(NoteKey::from_seed(&seed))
    }

    /// Reads a PKCS#8 PEM Ed25519 private key (`-----BEGIN PRIVATE KEY-----`, as
    /// `openssl genpkey -algorithm ed25519` writes it).
    ///
    /// # Errors
    /// [`ErrorCode::KeyMalformed`] for anything else.
    pub fn from_pem(pem: &str) -> Result<NoteKey> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem.trim())
            .map(NoteKey)
            .map_err(|_| Error::new(ErrorCode::KeyMalformed, "not a PEM Ed25519 private key (PKCS#8 'PRIVATE KEY')"))
    }

    /// The private key as PKCS#8 PEM.
    pub fn to_pem(&self) -> String {
        use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
        self.0.to_pkcs8_pem(LineEnding::LF).map(|pem| pem.to_string()).unwrap_or_default()
    }
}

impl NoteSigner for NoteKey {
    fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        use ed25519_dalek::Signer;
        Ok(self.0.sign(message).to_bytes())
    }
}

impl<S: NoteSigner + ?Sized> NoteSigner for Box<S> {
    fn public_key(&self) -> [u8; 32] {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        (**self).sign(message)
    }
}

impl<S: NoteSigner + ?Sized> NoteSigner for std::sync::Arc<S> {
    fn public_key(&self) -> [u8; 32] {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        (**self).sign(message)
    }
}

/// The log key (vkey `<name>+<key ID>+<base64(0x01 ‖ key)>`) of `signer` under `name`.
///
/// # Errors
/// [`ErrorCode::KeyMalformed`] for a name that cannot be a key name;
/// [`ErrorCode::KeyInvalid`] for a public key that is not a curve point.
pub fn note_log_key(name: &str, signer: &dyn NoteSigner) -> Result<LogKey> {
    LogKey::ed25519(name, &signer.public_key())
}

/// Adds the Ed25519 signature of `signer`, under the key name `name`, to a signed
/// note (a checkpoint the log's ECDSA key signed, say). A note that already holds
/// that key's line, verifying, is returned unchanged.
///
/// # Errors
/// [`ErrorCode::CheckpointMalformed`] for a note that is not well-formed or holds
/// 100 signatures already; [`ErrorCode::CheckpointSignatureInvalid`] when it holds
/// a line of this key that does not verify; [`ErrorCode::SignerFailed`] when the
/// signer's signature does not verify; the signer's own errors.
pub fn add_note_signature(note: &str, name: &str, signer: &dyn NoteSigner) -> Result<String> {
    let (text, lines) = split_note(note)?;
    let key = note_log_key(name, signer)?;
    if lines.iter().any(|line| line.name == name && line.key_hash == key.key_hash()) {
        crate::witness::cosignature::verify_note_lines(text, &lines, std::slice::from_ref(&key))?;
        return Ok(note.to_owned());
    }
    if lines.len() >= MAX_SIGNATURES {
        return Err(Error::new(ErrorCode::CheckpointMalformed, "a note has at most 100 signatures"));
    }
    let signature = signer.sign(text.as_bytes())?;
    if !key.verifies(text, &signature) {
        return Err(Error::new(
            ErrorCode::SignerFailed,
            format!("the Ed25519 note signer returned a signature that does not verify with its key {}", key.to_vkey()),
        ));
    }
    let mut line = key.key_hash().to_vec();
    line.extend_from_slice(&signature);
    Ok(format!("{note}{SIGNATURE_PREFIX}{name} {}\n", b64(&line)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::witness::cosignature::verify_log_note;
    use crate::{Checkpoint, SigningKey, sign_checkpoint};

    fn checkpoint_note() -> String {
        let checkpoint = Checkpoint { origin: "example.com/log".into(), size: 3, root: [5u8; 32], extensions: vec![] };
        sign_checkpoint(&checkpoint, &SigningKey::from_bytes(&[7u8; 32]).unwrap()).unwrap()
    }

    #[test]
    fn the_added_line_verifies_and_the_ecdsa_line_stays() {
        let key = NoteKey::from_seed(&[1u8; 32]);
        let note = checkpoint_note();
        let signed = add_note_signature(&note, "example.com/log", &key).unwrap();
        assert!(signed.starts_with(&note));
        assert_eq!(signed.lines().count(), note.lines().count() + 1);
        let log_key = note_log_key("example.com/log", &key).unwrap();
        assert_eq!(
            verify_log_note(&signed, std::slice::from_ref(&log_key)).unwrap(),
            vec!["example.com/log".to_owned()]
        );
        // Adding it again changes nothing; a changed text no longer verifies.
        assert_eq!(add_note_signature(&signed, "example.com/log", &key).unwrap(), signed);
        let forged = signed.replacen("\n3\n", "\n4\n", 1);
        assert_eq!(verify_log_note(&forged, &[log_key]).unwrap_err().code(), ErrorCode::CheckpointSignatureInvalid);
        assert_eq!(
            add_note_signature(&forged, "example.com/log", &key).unwrap_err().code(),
            ErrorCode::CheckpointSignatureInvalid
        );
    }

    #[test]
    fn a_signer_returning_a_wrong_signature_is_refused() {
        struct Liar;
        impl NoteSigner for Liar {
            fn public_key(&self) -> [u8; 32] {
                NoteKey::from_seed(&[1u8; 32]).public_key()
            }
            fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
                NoteKey::from_seed(&[2u8; 32]).sign(message)
            }
        }
        let error = add_note_signature(&checkpoint_note(), "example.com/log", &Liar).unwrap_err();
        assert_eq!(error.code(), ErrorCode::SignerFailed);
    }

    #[test]
    fn pem_round_trips_and_other_text_is_refused() {
        let key = NoteKey::from_seed(&[3u8; 32]);
        let again = NoteKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert!(key.to_pem().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let p256 = SigningKey::from_bytes(&[7u8; 32]).unwrap().to_pem();
        assert_eq!(NoteKey::from_pem(&p256).unwrap_err().code(), ErrorCode::KeyMalformed);
        assert_eq!(NoteKey::from_pem("junk").unwrap_err().code(), ErrorCode::KeyMalformed);
    }

    /// RFC 8032 §7.1, test 1: the seed, public key and signature of the empty message.
    #[test]
    fn signs_as_rfc_8032_says() {
        let hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
        let seed: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
        let key = NoteKey::from_seed(&seed.try_into().unwrap());
        assert_eq!(
            crate::encoding::hex(&key.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            crate::encoding::hex(&key.sign(b"").unwrap()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }
}
