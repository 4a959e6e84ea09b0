//! Verifier keys and signatures of C2SP signed notes beyond Evidentia's own ECDSA
//! ones (SPEC §22): witness cosignatures (`cosignature/v1`, Ed25519, signature type
//! 0x04, c2sp.org/tlog-cosignature) and logs' Ed25519 note signatures (type 0x01,
//! c2sp.org/signed-note, as Go's golang.org/x/mod/sumdb/note). Verification only.
//!
//! Notes are read by `checkpoint::split_note`, the one note parser.

use crate::checkpoint::{NoteSignature, NoteVerifier, split_note, validate_key_name};
use crate::digest::Digest;
use crate::encoding::{b64, b64_decode, hex};
use crate::error::{Error, ErrorCode, Result};

/// The signature type of Ed25519 note signatures (c2sp.org/signed-note).
const ED25519_TYPE: u8 = 0x01;
/// The signature type of ECDSA note signatures (Evidentia's checkpoints).
const ECDSA_TYPE: u8 = 0x02;
/// The signature type of Ed25519 `cosignature/v1` cosignatures.
const COSIGNATURE_TYPE: u8 = 0x04;
/// The largest timestamp a cosignature may carry (tlog-cosignature: 2^63 - 1).
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

fn key_malformed(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::KeyMalformed, message)
}

fn cosignature_invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::CosignatureInvalid, message)
}

/// The key ID the signed-note spec recommends (and tlog-cosignature requires):
/// the first 4 bytes of SHA-256(name ‖ 0x0A ‖ signature type ‖ public key).
fn key_id(name: &str, kind: u8, key: &[u8]) -> [u8; 4] {
    let mut input = Vec::with_capacity(name.len() + 2 + key.len());
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(kind);
    input.extend_from_slice(key);
    let digest = Digest::sha256(&input);
    let mut id = [0u8; 4];
    id.copy_from_slice(&digest.as_bytes()[..4]);
    id
}

/// The parts of a vkey, `<name>+<hex key ID>+<base64(type ‖ key)>`. Only the first
/// two `+` separate fields: standard base64 may contain more.
struct Vkey<'a> {
    name: &'a str,
    id: &'a str,
    kind: u8,
    key: Vec<u8>,
}

fn read_vkey(vkey: &str) -> Result<Vkey<'_>> {
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(key_malformed("a verifier key is <name>+<key ID>+<base64 key>"));
    };
    // Lowercase only, whatever the key type: the signed-note spec's hex is
    // fixed-length lowercase.
    if id.len() != 8 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(key_malformed("a verifier key's key ID is 8 lowercase hex digits"));
    }
    let key = b64_decode(key).ok_or_else(|| key_malformed("a verifier key's key is not standard base64"))?;
    let Some((&kind, key)) = key.split_first() else {
        return Err(key_malformed("a verifier key's key is empty"));
    };
    Ok(Vkey { name, id, kind, key: key.to_vec() })
}

/// An Ed25519 public key named `name`.
fn ed25519_key(name: &str, public_key: &[u8; 32]) -> Result<ed25519_dalek::VerifyingKey> {
    validate_key_name(name).map_err(|e| key_malformed(e.message().to_owned()))?;
    ed25519_dalek::VerifyingKey::from_bytes(public_key)
        .map_err(|_| Error::new(ErrorCode::KeyInvalid, "the Ed25519 public key is not a point on the curve"))
}

/// An Ed25519 public key of a vkey of `kind`, whose key ID must be the computed one.
fn ed25519_vkey(vkey: &Vkey<'_>, kind: u8) -> Result<(String, [u8; 4], ed25519_dalek::VerifyingKey)> {
    let bytes: [u8; 32] =
        vkey.key.as_slice().try_into().map_err(|_| key_malformed("an Ed25519 verifier key holds 32 bytes of key"))?;
    let key = ed25519_key(vkey.name, &bytes)?;
    let id = key_id(vkey.name, kind, &bytes);
    if vkey.id != hex(&id) {
        return Err(key_malformed("a verifier key's key ID does not match its name and key"));
    }
    Ok((vkey.name.to_owned(), id, key))
}

/// The key of a witness (cosigner): a name and an Ed25519 public key, verifying
/// `cosignature/v1` cosignatures. Its vkey has signature type 0x04 and the key ID
/// SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessKey {
    name: String,
    key_hash: [u8; 4],
    key: ed25519_dalek::VerifyingKey,
}

impl WitnessKey {
    /// The witness key for `public_key` (32 bytes, RFC 8032) under `name`.
    ///
    /// # Errors
    /// [`ErrorCode::KeyMalformed`] for an invalid key name;
    /// [`ErrorCode::KeyInvalid`] for bytes that are not an Ed25519 public key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<WitnessKey> {
        let key = ed25519_key(name, public_key)?;
        Ok(WitnessKey { name: name.to_owned(), key_hash: key_id(name, COSIGNATURE_TYPE, public_key), key })
    }

    /// Reads a witness vkey: `<name>+<8 lowercase hex digits>+<base64(0x04 ‖ key)>`.
    ///
    /// # Errors
    /// [`ErrorCode::KeyMalformed`] (also for a key ID that does not match);
    /// [`ErrorCode::KeyUnsupported`] for another signature type;
    /// [`ErrorCode::KeyInvalid`] for a key that is not an Ed25519 point.
    pub fn from_vkey(vkey: &str) -> Result<WitnessKey> {
        let parts = read_vkey(vkey)?;
        if parts.kind != COSIGNATURE_TYPE {
            return Err(Error::new(
                ErrorCode::KeyUnsupported,
                format!("a witness key has signature type 0x04 (cosignature/v1), not 0x{:02x}", parts.kind),
            ));
        }
        let (name, key_hash, key) = ed25519_vkey(&parts, COSIGNATURE_TYPE)?;
        Ok(WitnessKey { name, key_hash, key })
    }

    /// The vkey text.
    pub fn to_vkey(&self) -> String {
        let mut key = vec![COSIGNATURE_TYPE];
        key.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex(&self.key_hash), b64(&key))
    }

    /// The key name: the name its cosignature lines carry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID its cosignature lines start with.
    pub fn key_hash(&self) -> [u8; 4] {
        self.key_hash
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Whether a cosignature's name and key ID are this key's: only then is it
    /// this witness's to verify (signed-note: other lines are ignored).
    pub fn matches(&self, cosignature: &Cosignature) -> bool {
        cosignature.name == self.name && cosignature.key_hash == self.key_hash
    }

    /// Verifies `cosignature` on the checkpoint body `text` (strict Ed25519 over
    /// [`cosignature_message`]).
    ///
    /// # Errors
    /// [`ErrorCode::CosignatureInvalid`] when the cosignature is not this key's
    /// or does not verify.
    pub fn verify(&self, text: &str, cosignature: &Cosignature) -> Result<()> {
        if !self.matches(cosignature) {
            return Err(cosignature_invalid(format!("the cosignature is not by witness key {}", self.name)));
        }
        let message = cosignature_message(text, cosignature.timestamp);
        let signature = ed25519_dalek::Signature::from_bytes(&cosignature.signature);
        self.key
            .verify_strict(message.as_bytes(), &signature)
            .map_err(|_| cosignature_invalid(format!("the cosignature of witness key {} does not verify", self.name)))
    }
}

/// The message a `cosignature/v1` cosignature signs: `cosignature/v1\n`,
/// `time <timestamp>\n`, then the checkpoint body `text` (ending in its newline).
pub fn cosignature_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// A signature line read as a `cosignature/v1` cosignature: key name, key ID, and
/// the `timestamped_signature` (a big-endian u64 timestamp, then 64 bytes of
/// Ed25519 signature). Whether a line is a cosignature at all depends on the key
/// its name and key ID select; this is only its shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The key name of the line.
    pub name: String,
    /// The key ID the signature starts with.
    pub key_hash: [u8; 4],
    /// When the witness cosigned, in seconds since the epoch (at most 2^63 - 1).
    pub timestamp: u64,
    /// The Ed25519 signature over [`cosignature_message`].
    pub signature: [u8; 64],
}

impl Cosignature {
    /// Reads a note signature as a cosignature.
    ///
    /// # Errors
    /// [`ErrorCode::CosignatureInvalid`] unless it holds 72 bytes after the key ID
    /// and a timestamp of at most 2^63 - 1.
    pub(crate) fn from_note_signature(line: &NoteSignature) -> Result<Cosignature> {
        let bytes: &[u8; 72] = line.signature.as_slice().try_into().map_err(|_| {
            cosignature_invalid(format!("the cosignature of {} is not a timestamp and an Ed25519 signature", line.name))
        })?;
        let mut timestamp = [0u8; 8];
        timestamp.copy_from_slice(&bytes[..8]);
        let timestamp = u64::from_be_bytes(timestamp);
        if timestamp > MAX_TIMESTAMP {
            return Err(cosignature_invalid(format!(
                "the cosignature of {} has a timestamp beyond 2^63 - 1",
                line.name
            )));
        }
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&bytes[8..]);
        Ok(Cosignature { name: line.name.clone(), key_hash: line.key_hash, timestamp, signature })
    }

    /// The lines of a signed note that have the shape of a cosignature (72 bytes
    /// after the key ID, a timestamp of at most 2^63 - 1), in order; other lines
    /// are left out.
    ///
    /// # Errors
    /// [`ErrorCode::CheckpointMalformed`] for a note that is not well-formed.
    pub fn read_all(note: &str) -> Result<Vec<Cosignature>> {
        let (_, lines) = split_note(note)?;
        Ok(lines.iter().filter_map(|line| Cosignature::from_note_signature(line).ok()).collect())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum LogMaterial {
    Ed25519 { name: String, key_hash: [u8; 4], key: ed25519_dalek::VerifyingKey },
    Ecdsa(NoteVerifier),
}

/// The key of a log: it signs checkpoints as signed notes, under the log's origin
/// as key name. Ed25519 (signature type 0x01, key ID SHA-256(name ‖ "\n" ‖ 0x01 ‖
/// public key)[:4]) or ECDSA P-256 as Evidentia signs (type 0x02, [`NoteVerifier`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogKey(LogMaterial);

impl LogKey {
    /// Reads a log vkey of signature type 0x01 (Ed25519) or 0x02 (ECDSA P-256).
    ///
    /// # Errors
    /// [`ErrorCode::KeyMalformed`] (also for a key ID that does not match);
    /// [`ErrorCode::KeyUnsupported`] for other signature types;
    /// [`ErrorCode::KeyInvalid`] for a key that is not a curve point.
    pub fn from_vkey(vkey: &str) -> Result<LogKey> {
        let parts = read_vkey(vkey)?;
        match parts.kind {
            ED25519_TYPE => {
                let (name, key_hash, key) = ed25519_vkey(&parts, ED25519_TYPE)?;
                Ok(LogKey(LogMaterial::Ed25519 { name, key_hash, key }))
            }
            ECDSA_TYPE => {
                // One reader of ECDSA vkeys: the checkpoint module's; its malformed
                // key is a malformed key here.
                let verifier = NoteVerifier::from_vkey(vkey).map_err(|e| match e.code() {
                    ErrorCode::CheckpointMalformed => key_malformed(e.message().to_owned()),
                    _ => e,
                })?;
                Ok(LogKey(LogMaterial::Ecdsa(verifier)))
            }
            kind => Err(Error::new(
                ErrorCode::KeyUnsupported,
                format!("a log key has signature type 0x01 (Ed25519) or 0x02 (ECDSA P-256), not 0x{kind:02x}"),
            )),
        }
    }

    /// The Ed25519 log key for `public_key` under `name` (the log's origin).
    ///
    /// # Errors
    /// As [`WitnessKey::new`].
    pub fn ed25519(name: &str, public_key: &[u8; 32]) -> Result<LogKey> {
        let key = ed25519_key(name, public_key)?;
        Ok(LogKey(LogMaterial::Ed25519 {
            name: name.to_owned(),
            key_hash: key_id(name, ED25519_TYPE, public_key),
            key,
        }))
    }

    /// The vkey text.
    pub fn to_vkey(&self) -> String {
        match &self.0 {
            LogMaterial::Ed25519 { name, key_hash, key } => {
                let mut bytes = vec![ED25519_TYPE];
                bytes.extend_from_slice(key.as_bytes());
                format!("{name}+{}+{}", hex(key_hash), b64(&bytes))
            }
            LogMaterial::Ecdsa(verifier) => verifier.to_vkey(),
        }
    }

    /// The key name: the origin of the log's checkpoints.
    pub fn name(&self) -> &str {
        match &self.0 {
            LogMaterial::Ed25519 { name, .. } => name,
            LogMaterial::Ecdsa(verifier) => verifier.name(),
        }
    }

    /// Whether it is an Ed25519 key (signature type 0x01).
    pub fn is_ed25519(&self) -> bool {
        matches!(self.0, LogMaterial::Ed25519 { .. })
    }

    /// The key ID its signature lines start with.
    pub fn key_hash(&self) -> [u8; 4] {
        match &self.0 {
            LogMaterial::Ed25519 { key_hash, .. } => *key_hash,
            LogMaterial::Ecdsa(verifier) => verifier.key_hash,
        }
    }

    /// The public key's bytes, for telling duplicates apart: the Ed25519 key, or
    /// the ECDSA key's DER SubjectPublicKeyInfo.
    pub(crate) fn key_bytes(&self) -> Vec<u8> {
        match &self.0 {
            LogMaterial::Ed25519 { key, .. } => key.as_bytes().to_vec(),
            LogMaterial::Ecdsa(verifier) => verifier.key().to_der(),
        }
    }

    /// Whether `signature` (the part of a signature line after the key ID) is this
    /// key's valid signature of `text`.
    pub fn verifies(&self, text: &str, signature: &[u8]) -> bool {
        match &self.0 {
            LogMaterial::Ed25519 { key, .. } => <&[u8; 64]>::try_from(signature).is_ok_and(|bytes| {
                key.verify_strict(text.as_bytes(), &ed25519_dalek::Signature::from_bytes(bytes)).is_ok()
            }),
            LogMaterial::Ecdsa(verifier) => verifier.key().verify_der(text.as_bytes(), signature),
        }
    }
}

impl From<NoteVerifier> for LogKey {
    fn from(verifier: NoteVerifier) -> LogKey {
        LogKey(LogMaterial::Ecdsa(verifier))
    }
}

/// The signed-note rule over the lines of a note already split: lines whose name
/// and key ID match no key of `keys` are ignored; a line that matches one must
/// verify; at least one must. Returns the names of the keys that verified.
pub(crate) fn verify_note_lines(text: &str, lines: &[NoteSignature], keys: &[LogKey]) -> Result<Vec<String>> {
    let mut signed_by: Vec<String> = Vec::new();
    for line in lines {
        let Some(key) = keys.iter().find(|k| k.name() == line.name && k.key_hash() == line.key_hash) else {
            continue;
        };
        if !key.verifies(text, &line.signature) {
            return Err(Error::new(
                ErrorCode::CheckpointSignatureInvalid,
                format!("the signature of trusted key {} on the note does not verify", key.name()),
            ));
        }
        if !signed_by.iter().any(|name| name == key.name()) {
            signed_by.push(key.name().to_owned());
        }
    }
    if signed_by.is_empty() {
        return Err(Error::new(ErrorCode::CheckpointSignatureInvalid, "the note has no signature from a trusted key"));
    }
    Ok(signed_by)
}

/// Verifies a signed note against log keys (Ed25519 or ECDSA): signatures by
/// unknown keys are ignored, a signature by a known key (same name and key ID)
/// must verify, and at least one known key must have signed. Returns the names of
/// the keys whose signatures verified.
///
/// # Errors
/// [`ErrorCode::CheckpointMalformed`] for a note that is not well-formed;
/// [`ErrorCode::CheckpointSignatureInvalid`] when no known key signed it, or a
/// known key's signature does not verify.
pub fn verify_log_note(note: &str, keys: &[LogKey]) -> Result<Vec<String>> {
    let (text, lines) = split_note(note)?;
    verify_note_lines(text, &lines, keys)
}
