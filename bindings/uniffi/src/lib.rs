//! Kotlin and Swift bindings of Evidentia through UniFFI (proc-macros, library
//! mode): the concepts of docs/API.md under Kotlin/Swift names. This crate converts
//! types and maps errors; every rule lives in the core.
//!
//! Generate the bindings from the built library:
//! `uniffi-bindgen generate --library libevidentia_uniffi.so --language kotlin --out-dir …`.

mod commitment;
mod error;
mod log;
mod message;
mod package;
mod report;
mod signer;
mod timestamp;
mod witness;

use std::sync::Arc;

use evidentia::{ConsistencyProof, ErrorCode, InclusionProof, JwsOptions, KeySet};

pub use crate::commitment::{DisclosedEvent, Disclosure, EventCommitment, check_disclosures, commit_event, keyed_hash};
pub use crate::error::EvidentiaError;
use crate::error::{Result, fail};
pub use crate::log::{Log, TlogProofExport, verify_log};
pub use crate::message::{PartnerVerified, read_signed_message, verify_partner_jws, verify_partner_signature};
pub use crate::package::{PackageCheck, PackageReport, verify_package, verify_package_archive};
pub use crate::report::{CheckResult, Finding, Report};
pub use crate::signer::{ReceiptChain, Signer};
pub use crate::timestamp::{VerifiedTimestamp, timestamp_request, verify_timestamp};
pub use crate::witness::{Cosigned, PolicyResult, check_policy, verify_tlog_proof};

uniffi::setup_scaffolding!();

/// What signs for a `SigningKey`, shared with the logs that hold it.
pub(crate) type AnySigner = Arc<dyn evidentia::Signer + Send + Sync>;

/// A P-256 signing key: a private key in memory that signs deterministically
/// (RFC 6979), or with random nonces when made by `withRandomizedSignatures`; or a
/// key in a PKCS#11 token (`fromPkcs11`), which never leaves it.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct SigningKey {
    signer: AnySigner,
    /// The private key, when it is in memory.
    software: Option<evidentia::SigningKey>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.software {
            Some(key) => key.fmt(f),
            None => f.debug_struct("SigningKey").field("kid", &self.signer.public_key().kid()).finish_non_exhaustive(),
        }
    }
}

impl SigningKey {
    fn software(key: evidentia::SigningKey) -> Arc<SigningKey> {
        Arc::new(SigningKey { signer: Arc::new(key.clone()), software: Some(key) })
    }

    /// The signer, for the calls that sign.
    pub(crate) fn signer(&self) -> AnySigner {
        Arc::clone(&self.signer)
    }

    /// The private key in memory, for the calls that export it.
    fn private(&self) -> Result<&evidentia::SigningKey> {
        self.software
            .as_ref()
            .ok_or_else(|| fail(ErrorCode::KeyNotPrivate, "the key is held in a token and cannot be exported"))
    }
}

#[uniffi::export]
impl SigningKey {
    /// A new key from the operating system's random source.
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<SigningKey>> {
        Ok(SigningKey::software(evidentia::SigningKey::generate()?))
    }

    /// A key from JWK text (with its private part `d`).
    #[uniffi::constructor]
    pub fn from_jwk(jwk: String) -> Result<Arc<SigningKey>> {
        Ok(SigningKey::software(evidentia::SigningKey::from_jwk(&jwk)?))
    }

    /// A key from PEM text (PKCS#8 or SEC1).
    #[uniffi::constructor]
    pub fn from_pem(pem: String) -> Result<Arc<SigningKey>> {
        Ok(SigningKey::software(evidentia::SigningKey::from_pem(&pem)?))
    }

    /// The P-256 key in a PKCS#11 token (an HSM, a smart card, SoftHSM2) named by
    /// an RFC 7512 URI, `pkcs11:token=…;object=…?pin-source=…&module-path=…` (the
    /// module may also come from the environment variable
    /// `EVIDENTIA_PKCS11_MODULE`): the token is opened and logged in to now, and
    /// signs for as long as the key lives; the private key never leaves it.
    /// Errors: KEY_URI_INVALID, TOKEN_NOT_FOUND, TOKEN_LOGIN_FAILED,
    /// TOKEN_KEY_NOT_FOUND, KEY_UNSUPPORTED (not P-256), TOKEN_FAILED.
    #[uniffi::constructor]
    pub fn from_pkcs11(uri: String) -> Result<Arc<SigningKey>> {
        let token = evidentia_pkcs11::Pkcs11Signer::open(&uri)?;
        Ok(Arc::new(SigningKey { signer: Arc::new(token), software: None }))
    }

    /// The private key as canonical JWK text (KEY_NOT_PRIVATE for a key in a token).
    pub fn to_jwk(&self) -> Result<String> {
        Ok(self.private()?.to_jwk())
    }

    /// The private key as PKCS#8 PEM (KEY_NOT_PRIVATE for a key in a token).
    pub fn to_pem(&self) -> Result<String> {
        Ok(self.private()?.to_pem())
    }

    /// The public key as canonical JWK text.
    pub fn public_jwk(&self) -> String {
        self.signer.public_key().to_jwk()
    }

    /// The public key as SubjectPublicKeyInfo PEM.
    pub fn public_pem(&self) -> String {
        self.signer.public_key().to_pem()
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> String {
        self.signer.public_key().kid().to_owned()
    }

    /// The same key signing with random nonces through AWS-LC: two to three times
    /// faster, but signatures (and so receipts) are no longer byte-identical from
    /// run to run; they verify everywhere all the same. A key in a token already
    /// signs with random nonces: the same key.
    pub fn with_randomized_signatures(&self) -> Arc<SigningKey> {
        match &self.software {
            Some(key) => SigningKey::software(key.with_randomized_signatures()),
            None => Arc::new(SigningKey { signer: self.signer(), software: None }),
        }
    }

    /// Whether this key signs with random nonces (a key in a token always does).
    pub fn is_randomized(&self) -> bool {
        self.software.as_ref().is_none_or(evidentia::SigningKey::is_randomized)
    }

    /// Signs `payload` as a compact ES256 JWS (deterministic unless the key is
    /// randomized or in a token): detached leaves the
    /// payload out (RFC 7515 Appendix F), unencoded signs it as is (RFC 7797).
    #[uniffi::method(default(detached = false, unencoded = false))]
    pub fn sign_jws(&self, payload: Vec<u8>, detached: bool, unencoded: bool) -> Result<String> {
        Ok(evidentia::sign_jws(&*self.signer, &payload, JwsOptions { detached, unencoded })?)
    }
}

fn keys(jwks: &str) -> Result<KeySet> {
    Ok(KeySet::from_json(jwks)?)
}

/// The RFC 8785 canonical form of JSON text (UTF-8 bytes).
#[uniffi::export]
pub fn canonicalize(json: Vec<u8>) -> Result<Vec<u8>> {
    Ok(evidentia::canonicalize(&json)?)
}

/// The RFC 8785 canonical form of JSON text given as a string.
#[uniffi::export]
pub fn canonicalize_text(json: String) -> Result<String> {
    let bytes = evidentia::canonicalize(json.as_bytes())?;
    String::from_utf8(bytes).map_err(|_| fail(ErrorCode::Internal, "canonical JSON is not UTF-8"))
}

/// The digest of JSON text's canonical form, `sha256:<hex>`.
#[uniffi::export]
pub fn digest(json: String) -> Result<String> {
    Ok(evidentia::Digest::sha256(&evidentia::canonicalize(json.as_bytes())?).to_string())
}

/// The SHA-256 digest of bytes, `sha256:<hex>`.
#[uniffi::export]
pub fn sha256(data: Vec<u8>) -> String {
    evidentia::Digest::sha256(&data).to_string()
}

/// The RFC 7638 thumbprint of a JWK.
#[uniffi::export]
pub fn jwk_thumbprint(jwk: String) -> Result<String> {
    Ok(evidentia::jwk_thumbprint(&jwk)?)
}

/// A JWS that verified.
#[derive(Debug, uniffi::Record)]
pub struct VerifiedJws {
    /// The protected header, as JSON text.
    pub header: String,
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// The kid of the key that verified it.
    pub kid: String,
}

/// Verifies a compact ES256 JWS against a JWKS (or a single JWK), with the payload
/// given separately for a detached JWS; throws a Verification error when it does
/// not verify.
#[uniffi::export(default(payload = None))]
pub fn verify_jws(jws: String, jwks: String, payload: Option<Vec<u8>>) -> Result<VerifiedJws> {
    let verified = evidentia::verify_jws(&jws, &keys(&jwks)?, payload.as_deref(), None)?;
    Ok(VerifiedJws { header: verified.header, payload: verified.payload, kid: verified.kid })
}

/// Verifies a receipt or batch receipt against a JWKS, and the event (JSON text)
/// when given, with its salt (from `Log.salt`) for a record of version 2.
/// Malformed input throws (INVALID_ARGUMENT for a version-2 record's event without
/// its salt); everything else is in the report.
#[uniffi::export(default(event = None, salt = None))]
pub fn verify_receipt(
    receipt: String,
    jwks: String,
    event: Option<String>,
    salt: Option<Vec<u8>>,
) -> Result<Arc<Report>> {
    let event = event.as_deref().map(str::as_bytes);
    let report = evidentia::verify_receipt_salted(&receipt, &keys(&jwks)?, event, salt.as_deref())?;
    Ok(Arc::new(Report(report)))
}

/// Reads an evidence file (SPEC.md §18: JSON text holding a receipt or batch
/// receipt, a key set and optionally the event) and verifies what it holds, with
/// `jwks`, keys the caller trusts, or, when absent, with the key set the file holds
/// (which came from whoever made the file: confirm it independently). Malformed
/// input throws (INVALID_ARGUMENT for JSON that is not an evidence file);
/// everything else is in the report.
#[uniffi::export(default(jwks = None))]
pub fn verify_evidence_file(evidence: String, jwks: Option<String>) -> Result<Arc<Report>> {
    let keys = jwks.as_deref().map(keys).transpose()?;
    let report = evidentia::verify_evidence_file(evidence.as_bytes(), keys.as_ref())?;
    Ok(Arc::new(Report(report)))
}

/// One stored entry of a log held in memory.
#[derive(Debug, uniffi::Record)]
pub struct LogEntry {
    /// The receipt (per-event mode) or the record JSON (batch mode).
    pub entry: String,
    /// The event's canonical JSON text, when it is kept.
    #[uniffi(default = None)]
    pub event: Option<String>,
}

/// A signed checkpoint of a log held in memory, and the size it was signed at.
#[derive(Debug, uniffi::Record)]
pub struct LogCheckpoint {
    pub size: u64,
    pub note: String,
}

/// Verifies a log held in memory: its entries in stored order, and its signed
/// checkpoints.
#[uniffi::export(default(checkpoints = []))]
pub fn verify_log_entries(
    entries: Vec<LogEntry>,
    jwks: String,
    checkpoints: Vec<LogCheckpoint>,
) -> Result<Arc<Report>> {
    let report = evidentia::verify_log_entries(
        entries.iter().map(|e| (e.entry.as_bytes(), e.event.as_ref().map(|e| e.as_bytes()))),
        checkpoints.iter().map(|c| (c.size, c.note.as_str())),
        &keys(&jwks)?,
        evidentia::LogVerifyOptions::default(),
    );
    Ok(Arc::new(Report(report)))
}

/// What a signed checkpoint that verified says.
#[derive(Debug, uniffi::Record)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    /// The Merkle root hash (32 bytes).
    pub root: Vec<u8>,
}

/// Verifies a signed checkpoint with a JWKS; returns its origin, size and root hash.
#[uniffi::export]
pub fn verify_checkpoint(note: String, jwks: String) -> Result<Checkpoint> {
    let checkpoint = evidentia::verify_checkpoint_with_keys(&note, &keys(&jwks)?)?;
    Ok(Checkpoint { origin: checkpoint.origin, size: checkpoint.size, root: checkpoint.root.to_vec() })
}

/// Verifies a receipt or batch receipt (its signature by a key of the set) and that
/// its record is in the log a signed checkpoint describes; throws when it is not.
#[uniffi::export]
pub fn verify_inclusion(receipt: String, proof: String, checkpoint: String, jwks: String) -> Result<()> {
    let proof = InclusionProof::from_json(&proof)?;
    evidentia::verify_receipt_in_checkpoint(&receipt, &proof, &checkpoint, &keys(&jwks)?)?;
    Ok(())
}

/// Verifies that a log only grew between two signed checkpoints; throws when the
/// proof does not show it.
#[uniffi::export]
pub fn verify_consistency(proof: String, old_checkpoint: String, new_checkpoint: String, jwks: String) -> Result<()> {
    let proof = ConsistencyProof::from_json(&proof)?;
    evidentia::verify_consistency_between(&proof, &old_checkpoint, &new_checkpoint, &keys(&jwks)?)?;
    Ok(())
}

fn root(bytes: &[u8]) -> Result<evidentia::merkle::Hash> {
    Ok(evidentia::merkle::hash_from_slice(bytes)?)
}

/// Verifies an inclusion proof of a leaf (its data) against a root hash.
#[uniffi::export]
pub fn verify_inclusion_proof(proof: String, leaf: Vec<u8>, root_hash: Vec<u8>) -> Result<()> {
    let proof = InclusionProof::from_json(&proof)?;
    Ok(proof.verify(&evidentia::merkle::leaf_hash(&leaf), &root(&root_hash)?)?)
}

/// Verifies a consistency proof between two root hashes.
#[uniffi::export]
pub fn verify_consistency_proof(proof: String, old_root: Vec<u8>, new_root: Vec<u8>) -> Result<()> {
    let proof = ConsistencyProof::from_json(&proof)?;
    Ok(proof.verify(&root(&old_root)?, &root(&new_root)?)?)
}

/// One row of the error-code table.
#[derive(Debug, uniffi::Record)]
pub struct ErrorCodeInfo {
    pub code: u16,
    pub name: String,
    pub family: String,
    pub description: String,
    /// What it means in plain words, for people who are not engineers.
    pub explanation: String,
}

/// The error-code table: every code with its name, family and meaning.
#[uniffi::export]
pub fn error_codes() -> Vec<ErrorCodeInfo> {
    ErrorCode::ALL
        .iter()
        .map(|code| ErrorCodeInfo {
            code: *code as u16,
            name: code.name().to_owned(),
            family: code.family().name().to_owned(),
            description: code.description().to_owned(),
            explanation: code.explanation().to_owned(),
        })
        .collect()
}

/// The version of the bindings and of the core they bind.
#[uniffi::export]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
