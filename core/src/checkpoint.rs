//! Checkpoints (C2SP tlog-checkpoint) signed as C2SP signed notes with ECDSA P-256
//! keys, the way Rekor and the transparency-dev witnesses do it:
//!
//! - key hash: the first 4 bytes of SHA-256 of the key's DER SubjectPublicKeyInfo;
//! - verifier key: `<name>+<key hash hex>+<base64(0x02 ‖ SPKI DER)>`;
//! - signature line: `— <name> <base64(key hash ‖ DER ECDSA signature of the text)>`.
//!
//! Verifiers ignore signatures by keys they do not know (witness cosignatures,
//! rotated keys) and accept notes with several signatures.

use crate::digest::Digest;
use crate::encoding::{b64, b64_decode, hex};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{PublicKey, signature_to_der};
use crate::merkle::Hash;
use crate::signer::{Signer, checked_signature};

/// The signature type byte of ECDSA P-256 keys in signed notes.
const ECDSA_TYPE: u8 = 0x02;
/// The separator before each signature line: U+2014 EM DASH and a space.
pub(crate) const SIGNATURE_PREFIX: &str = "\u{2014} ";
/// More signatures than this on one note are refused, bounding verification work.
pub(crate) const MAX_SIGNATURES: usize = 100;
/// Larger notes are refused.
const MAX_NOTE_SIZE: usize = 64 * 1024;

fn malformed(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::CheckpointMalformed, message)
}

/// A checkpoint: a log's origin, its size, and the root hash of its Merkle tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity (the log id).
    pub origin: String,
    /// The number of records.
    pub size: u64,
    /// The RFC 6962 root hash of the records' tree.
    pub root: Hash,
    /// Extension lines, kept as they are.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The checkpoint body: origin, size and base64 root, one per line, then any
    /// extension lines; every line ends with a newline.
    pub fn to_text(&self) -> String {
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, b64(&self.root));
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Reads a checkpoint body.
    ///
    /// # Errors
    /// [`ErrorCode::CheckpointMalformed`].
    pub fn from_text(text: &str) -> Result<Checkpoint> {
        let body = text.strip_suffix('\n').ok_or_else(|| malformed("a checkpoint ends with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| malformed("a checkpoint starts with a non-empty origin line"))?;
        let size = lines.next().ok_or_else(|| malformed("a checkpoint's second line is the tree size"))?;
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
            return Err(malformed("a checkpoint's tree size is a decimal number without leading zeros"));
        }
        let size: u64 = size.parse().map_err(|_| malformed("a checkpoint's tree size is too large"))?;
        let root = lines
            .next()
            .and_then(b64_decode)
            .and_then(|r| Hash::try_from(r.as_slice()).ok())
            .ok_or_else(|| malformed("a checkpoint's third line is the base64 root hash of 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(malformed("a checkpoint has an empty line"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions })
    }
}

/// A key that verifies signed notes: a name and an ECDSA P-256 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    pub(crate) key_hash: [u8; 4],
    key: PublicKey,
}

pub(crate) fn validate_key_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains(['+', ' ', '\n', '\t']) || name.chars().any(char::is_control) {
        return Err(malformed("a note key name is non-empty and has no '+', whitespace or control characters"));
    }
    Ok(())
}

impl NoteVerifier {
    /// A verifier for `key` under `name`.
    ///
    /// # Errors
    /// [`ErrorCode::CheckpointMalformed`] for an invalid key name.
    pub fn new(name: &str, key: &PublicKey) -> Result<NoteVerifier> {
        validate_key_name(name)?;
        let digest = Digest::sha256(&key.to_der());
        let mut key_hash = [0u8; 4];
        key_hash.copy_from_slice(&digest.as_bytes()[..4]);
        Ok(NoteVerifier { name: name.to_owned(), key_hash, key: key.clone() })
    }

    /// Reads a verifier key: `<name>+<8 hex digits>+<base64(0x02 ‖ SPKI DER)>`. Only
    /// the first two `+` separate fields; the base64 may contain more.
    ///
    /// # Errors
    /// [`ErrorCode::CheckpointMalformed`]; [`ErrorCode::KeyUnsupported`] for key
    /// types other than ECDSA P-256.
    pub fn from_vkey(vkey: &str) -> Result<NoteVerifier> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed("a verifier key is <name>+<hash>+<key>"));
        };
        let key = b64_decode(key).ok_or_else(|| malformed("a verifier key's key is not base64"))?;
        let Some((&ECDSA_TYPE, spki)) = key.split_first() else {
            return Err(Error::new(ErrorCode::KeyUnsupported, "only ECDSA P-256 note keys (type 0x02) are supported"));
        };
        let verifier = NoteVerifier::new(name, &PublicKey::from_der(spki)?)?;
        if hash.len() != 8 || hex(&verifier.key_hash) != hash.to_ascii_lowercase() {
            return Err(malformed("a verifier key's hash does not match its key"));
        }
        Ok(verifier)
    }

    /// The verifier key text.
    pub fn to_vkey(&self) -> String {
        let mut key = vec![ECDSA_TYPE];
        key.extend_from_slice(&self.key.to_der());
        format!("{}+{}+{}", self.name, hex(&self.key_hash), b64(&key))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
}

/// Signs a note's text with `key` under `name`; returns the signed note.
///
/// # Errors
/// [`ErrorCode::CheckpointMalformed`] for an invalid name or text; the signer's
/// errors (see [`checked_signature`](crate::checked_signature)).
pub fn sign_note(text: &str, name: &str, key: &dyn Signer) -> Result<String> {
    check_text(text)?;
    let verifier = NoteVerifier::new(name, key.public_key())?;
    let mut signature = verifier.key_hash.to_vec();
    signature.extend_from_slice(&signature_to_der(&checked_signature(key, text.as_bytes())?)?);
    Ok(format!("{text}\n{SIGNATURE_PREFIX}{name} {}\n", b64(&signature)))
}

/// Signs a checkpoint as a note, with the checkpoint's origin as the key name.
///
/// # Errors
/// [`ErrorCode::CheckpointMalformed`] for an origin that cannot be a key name; the
/// signer's errors.
pub fn sign_checkpoint(checkpoint: &Checkpoint, key: &dyn Signer) -> Result<String> {
    sign_note(&checkpoint.to_text(), &checkpoint.origin, key)
}

fn check_text(text: &str) -> Result<()> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(malformed("a note's text ends with a newline"));
    }
    if text.contains("\n\n") {
        return Err(malformed("a note's text has no empty lines"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(malformed("a note's text has no control characters other than newlines"));
    }
    Ok(())
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NoteSignature {
    pub(crate) name: String,
    pub(crate) key_hash: [u8; 4],
    pub(crate) signature: Vec<u8>,
}

/// Splits a signed note into its text and its signatures.
pub(crate) fn split_note(note: &str) -> Result<(&str, Vec<NoteSignature>)> {
    if note.len() > MAX_NOTE_SIZE {
        return Err(malformed("the note is larger than 64 KiB"));
    }
    let split = note.rfind("\n\n").ok_or_else(|| malformed("a signed note has a blank line before its signatures"))?;
    let text = &note[..=split];
    check_text(text)?;
    let block = &note[split + 2..];
    let block = block.strip_suffix('\n').ok_or_else(|| malformed("a signed note ends with a newline"))?;
    let mut signatures = Vec::new();
    for line in block.split('\n') {
        let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or_else(|| malformed("a signature line starts with '— '"))?;
        let (name, signature) =
            rest.split_once(' ').ok_or_else(|| malformed("a signature line is '— <name> <signature>'"))?;
        validate_key_name(name)?;
        let bytes = b64_decode(signature).ok_or_else(|| malformed("a note signature is not base64"))?;
        if bytes.len() < 5 {
            return Err(malformed("a note signature is too short"));
        }
        let mut key_hash = [0u8; 4];
        key_hash.copy_from_slice(&bytes[..4]);
        signatures.push(NoteSignature { name: name.to_owned(), key_hash, signature: bytes[4..].to_vec() });
        if signatures.len() > MAX_SIGNATURES {
            return Err(malformed("a note has more than 100 signatures"));
        }
    }
    Ok((text, signatures))
}

/// The signed text of a note, and the DER signature of its line by `key` under the
/// key name `name` (the line the key hash of `key` selects).
///
/// # Errors
/// [`ErrorCode::CheckpointMalformed`] for a malformed note,
/// [`ErrorCode::CheckpointSignatureInvalid`] when `key` has no signature line.
pub(crate) fn note_signature_by(note: &str, name: &str, key: &PublicKey) -> Result<(String, Vec<u8>)> {
    let (text, signatures) = split_note(note)?;
    let hash = Digest::sha256(&key.to_der());
    let line = signatures.into_iter().find(|s| s.name == name && s.key_hash[..] == hash.as_bytes()[..4]);
    let line = line.ok_or_else(|| {
        Error::new(ErrorCode::CheckpointSignatureInvalid, format!("the note has no signature by key {}", key.kid()))
    })?;
    Ok((text.to_owned(), line.signature))
}

/// A note whose signature by at least one trusted key verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The signed text.
    pub text: String,
    /// The names of the trusted keys whose signatures verified.
    pub signed_by: Vec<String>,
    /// Their public keys, in the same order.
    pub keys: Vec<PublicKey>,
}

/// Verifies a signed note against trusted keys. Signatures by unknown keys are
/// ignored; a signature by a trusted key (same name and key hash) must verify.
///
/// # Errors
/// [`ErrorCode::CheckpointMalformed`] for a note that is not well-formed;
/// [`ErrorCode::CheckpointSignatureInvalid`] when no trusted key signed it, or a
/// trusted key's signature does not verify.
pub fn verify_note(note: &str, trusted: &[NoteVerifier]) -> Result<VerifiedNote> {
    let (text, signatures) = split_note(note)?;
    let mut verified = VerifiedNote { text: text.to_owned(), signed_by: Vec::new(), keys: Vec::new() };
    for signature in &signatures {
        let Some(verifier) = trusted.iter().find(|v| v.name == signature.name && v.key_hash == signature.key_hash)
        else {
            continue;
        };
        if !verifier.key.verify_der(text.as_bytes(), &signature.signature) {
            return Err(Error::new(
                ErrorCode::CheckpointSignatureInvalid,
                format!("the signature of trusted key {} on the note does not verify", verifier.name),
            ));
        }
        if !verified.signed_by.contains(&verifier.name) || !verified.keys.contains(&verifier.key) {
            verified.signed_by.push(verifier.name.clone());
            verified.keys.push(verifier.key.clone());
        }
    }
    if verified.signed_by.is_empty() {
        return Err(Error::new(ErrorCode::CheckpointSignatureInvalid, "the note has no signature from a trusted key"));
    }
    Ok(verified)
}

/// For each of `trusted`, whether the note carries its signature lines and whether
/// they all verify: `None` when it carries none. For a verifier that judges each
/// key by its own rules (its validity at some time) before it counts.
///
/// # Errors
/// [`ErrorCode::CheckpointMalformed`] for a note that is not well-formed.
pub(crate) fn signature_lines(note: &str, trusted: &[NoteVerifier]) -> Result<Vec<Option<bool>>> {
    let (text, signatures) = split_note(note)?;
    Ok(trusted
        .iter()
        .map(|v| {
            let mut lines = signatures.iter().filter(|s| s.name == v.name && s.key_hash == v.key_hash).peekable();
            lines.peek()?;
            Some(lines.all(|s| v.key.verify_der(text.as_bytes(), &s.signature)))
        })
        .collect())
}

/// Verifies a signed checkpoint and reads it.
///
/// # Errors
/// As [`verify_note`] and [`Checkpoint::from_text`].
pub fn verify_checkpoint(note: &str, trusted: &[NoteVerifier]) -> Result<(Checkpoint, VerifiedNote)> {
    // Read first: a note whose text is not a checkpoint is malformed whoever signed it.
    let checkpoint = read_checkpoint(note)?;
    Ok((checkpoint, verify_note(note, trusted)?))
}

/// Reads a signed checkpoint without verifying its signatures.
///
/// # Errors
/// As [`Checkpoint::from_text`], and for a note that is not well-formed.
pub fn read_checkpoint(note: &str) -> Result<Checkpoint> {
    let (text, _) = split_note(note)?;
    Checkpoint::from_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;

    #[test]
    fn sign_and_verify_a_checkpoint() {
        let key = SigningKey::from_bytes(&[8u8; 32]).unwrap();
        let checkpoint = Checkpoint { origin: "example.com/log".into(), size: 42, root: [7u8; 32], extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, &key).unwrap();
        assert!(note.starts_with("example.com/log\n42\nBwcH"));
        let verifier = NoteVerifier::new("example.com/log", key.public_key()).unwrap();
        let round = NoteVerifier::from_vkey(&verifier.to_vkey()).unwrap();
        assert_eq!(round, verifier);
        let (read, verified) = verify_checkpoint(&note, &[round]).unwrap();
        assert_eq!(read, checkpoint);
        assert_eq!(verified.signed_by, vec!["example.com/log".to_owned()]);
        assert_eq!(read_checkpoint(&note).unwrap(), checkpoint);

        // A second signature by an unknown witness is ignored; a tampered text fails.
        let witness = SigningKey::from_bytes(&[9u8; 32]).unwrap();
        let cosigned = format!(
            "{note}{}",
            sign_note(&checkpoint.to_text(), "witness.example", &witness).unwrap().split_once("\n\n").unwrap().1
        );
        verify_checkpoint(&cosigned, std::slice::from_ref(&verifier)).unwrap();
        let both = [verifier.clone(), NoteVerifier::new("witness.example", witness.public_key()).unwrap()];
        assert_eq!(verify_checkpoint(&cosigned, &both).unwrap().1.signed_by.len(), 2);
        let tampered = note.replacen("\n42\n", "\n43\n", 1);
        assert_eq!(
            verify_checkpoint(&tampered, &[verifier]).unwrap_err().code(),
            ErrorCode::CheckpointSignatureInvalid
        );
    }

    #[test]
    fn malformed_notes_and_checkpoints() {
        for bad in
            ["", "a\n", "a\n\n", "a\n\n— x\n", "a\n\nx y\n", "a\n\n— x !!!\n", "a\n\n— x AAAA\n", "a\n\n— x AAAAAAAA"]
        {
            assert_eq!(read_checkpoint(bad).unwrap_err().code(), ErrorCode::CheckpointMalformed, "{bad:?}");
        }
        for bad in [
            "",
            "o\n",
            "o\n1\n",
            "o\n01\nAAAA\n",
            "o\n-1\nAAAA\n",
            "o\n1\nAAAA\n",
            "\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
        ] {
            assert_eq!(Checkpoint::from_text(bad).unwrap_err().code(), ErrorCode::CheckpointMalformed, "{bad:?}");
        }
        for bad in ["", "a+b", "a+00000000+AAAA", "name+12345678+Ag=="] {
            assert!(NoteVerifier::from_vkey(bad).is_err(), "{bad}");
        }
    }
}
