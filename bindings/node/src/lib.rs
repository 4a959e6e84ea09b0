//! The Node.js addon of Evidentia: a thin adapter over the core and the store. It
//! converts JavaScript values and maps errors; every rule lives in the core.

// The public surface of this cdylib is the JavaScript API that napi-derive
// generates from these `pub` items; nothing is reachable from Rust.
#![allow(missing_debug_implementations, unreachable_pub)]

mod chain;
mod commitment;
mod convert;
mod keyset;
mod log;
mod message;
mod package;
mod report;
mod signer;
mod timestamp;
mod witness;

use std::sync::Arc;

use evidentia::{ConsistencyProof, InclusionProof, JwsOptions, KeySet};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{Result, error, fail, guard, json_input, text, value_to_js};
use crate::keyset::{key_set, optional_key_set};
use crate::report::Report;

pub use crate::commitment::{check_disclosures, commit_event, keyed_hash};
pub use crate::log::{publish_log, verify_log, verify_log_async, verify_publication};
pub use crate::message::{read_signed_message, verify_partner_jws, verify_partner_signature};
pub use crate::package::verify_package;
pub use crate::timestamp::{timestamp_request, verify_timestamp};
pub use crate::witness::{check_policy, verify_tlog_proof};

/// A P-256 private key that signs deterministically (RFC 6979), or with random
/// nonces when made by `withRandomizedSignatures`.
#[napi]
pub struct SigningKey(pub(crate) evidentia::SigningKey);

/// Options of `SigningKey.signJws`.
#[napi(object)]
#[derive(Default)]
pub struct SignJwsOptions {
    /// Leave the payload out of the JWS (RFC 7515 Appendix F).
    pub detached: Option<bool>,
    /// Sign the payload bytes as they are, without base64url (RFC 7797, `"b64": false`).
    pub unencoded: Option<bool>,
}

#[napi]
impl SigningKey {
    /// A new key from the operating system's random source.
    #[napi(factory)]
    pub fn generate() -> Result<SigningKey> {
        guard(|| Ok(SigningKey(evidentia::SigningKey::generate().map_err(error)?)))
    }

    /// A key from JWK text (with its private part `d`).
    #[napi(factory)]
    pub fn from_jwk(#[napi(ts_arg_type = "string")] jwk: Unknown<'_>) -> Result<SigningKey> {
        guard(|| Ok(SigningKey(evidentia::SigningKey::from_jwk(&text(&jwk, "jwk")?).map_err(error)?)))
    }

    /// A key from PEM text (PKCS#8 or SEC1).
    #[napi(factory)]
    pub fn from_pem(#[napi(ts_arg_type = "string")] pem: Unknown<'_>) -> Result<SigningKey> {
        guard(|| Ok(SigningKey(evidentia::SigningKey::from_pem(&text(&pem, "pem")?).map_err(error)?)))
    }

    /// The private key as canonical JWK text.
    #[napi]
    pub fn to_jwk(&self) -> String {
        self.0.to_jwk()
    }

    /// The private key as PKCS#8 PEM.
    #[napi]
    pub fn to_pem(&self) -> String {
        self.0.to_pem()
    }

    /// The public key as canonical JWK text.
    #[napi]
    pub fn public_jwk(&self) -> String {
        self.0.public_jwk()
    }

    /// The public key as SubjectPublicKeyInfo PEM.
    #[napi]
    pub fn public_pem(&self) -> String {
        self.0.public_key().to_pem()
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    #[napi(getter)]
    pub fn kid(&self) -> String {
        self.0.kid().to_owned()
    }

    /// The same key signing with random nonces through AWS-LC: two to three times
    /// faster, but signatures (and so receipts) are no longer byte-identical from
    /// run to run; they verify everywhere all the same.
    #[napi]
    pub fn with_randomized_signatures(&self) -> SigningKey {
        SigningKey(self.0.with_randomized_signatures())
    }

    /// Whether this key signs with random nonces.
    #[napi(getter)]
    pub fn randomized(&self) -> bool {
        self.0.is_randomized()
    }

    /// Signs `payload` as a compact ES256 JWS (deterministic unless the key is
    /// randomized).
    #[napi]
    pub fn sign_jws(&self, payload: Uint8Array, options: Option<SignJwsOptions>) -> Result<String> {
        let options = options.unwrap_or_default();
        let options =
            JwsOptions { detached: options.detached.unwrap_or(false), unencoded: options.unencoded.unwrap_or(false) };
        guard(|| evidentia::sign_jws(&self.0, &payload, options).map_err(error))
    }

    /// `SigningKey(kid=…)`, never the key material.
    #[napi(js_name = "toString")]
    pub fn describe(&self) -> String {
        format!("SigningKey(kid={})", self.0.kid())
    }
}

/// A JWS that verified.
#[napi(object)]
pub struct VerifiedJws<'env> {
    /// The protected header.
    #[napi(ts_type = "Record<string, unknown>")]
    pub header: Unknown<'env>,
    /// The payload bytes.
    pub payload: Buffer,
    /// The kid of the key that verified it.
    pub kid: String,
}

/// What a signed checkpoint that verified says.
#[napi(object)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// The number of records.
    pub size: i64,
    /// The Merkle root hash (32 bytes).
    pub root: Buffer,
}

/// One row of the error-code table.
#[napi(object)]
pub struct ErrorCodeInfo {
    /// The stable number.
    pub code: u32,
    /// The stable name, the `code` of thrown errors.
    pub name: String,
    /// The family: Usage, Json, KeyMaterial, Jws, Record, Verification, Storage, Proof, Internal.
    pub family: String,
    /// What it means.
    pub description: String,
    /// What it means in plain words, for people who are not engineers.
    pub explanation: String,
}

/// The RFC 8785 canonical form of a JSON value: JSON text (a string, Buffer or
/// Uint8Array) or a JavaScript value (plain object, array, string, finite number,
/// boolean, null, BigInt within ±(2^53 − 1)).
#[napi(ts_args_type = "value: unknown")]
pub fn canonicalize<'env>(env: &'env Env, value: Unknown<'_>) -> Result<BufferSlice<'env>> {
    guard(|| convert::buffer(env, &json_input(value)?))
}

/// The digest of a JSON value's canonical form, `sha256:<hex>`.
#[napi(ts_args_type = "value: unknown")]
pub fn digest(value: Unknown<'_>) -> Result<String> {
    guard(|| Ok(evidentia::Digest::sha256(&json_input(value)?).to_string()))
}

/// The SHA-256 digest of bytes, `sha256:<hex>`.
#[napi]
pub fn sha256(data: Uint8Array) -> String {
    evidentia::Digest::sha256(&data).to_string()
}

/// The RFC 7638 thumbprint of a JWK.
#[napi]
pub fn jwk_thumbprint(#[napi(ts_arg_type = "string")] jwk: Unknown<'_>) -> Result<String> {
    guard(|| evidentia::jwk_thumbprint(&text(&jwk, "jwk")?).map_err(error))
}

/// Verifies a compact ES256 JWS against a JWKS (or a single JWK); throws an error
/// with a Verification code when it does not verify.
#[napi]
pub fn verify_jws<'env>(
    env: &'env Env,
    #[napi(ts_arg_type = "string")] jws: Unknown<'_>,
    #[napi(ts_arg_type = "string | KeySet")] jwks: Unknown<'_>,
    payload: Option<Uint8Array>,
) -> Result<VerifiedJws<'env>> {
    guard(|| {
        let (jws, keys) = (text(&jws, "jws")?, key_set(&jwks)?);
        let verified = evidentia::verify_jws(&jws, &keys, payload.as_deref(), None).map_err(error)?;
        let header = evidentia::json::parse(verified.header.as_bytes()).map_err(error)?;
        Ok(VerifiedJws { header: value_to_js(env, &header)?, payload: verified.payload.into(), kid: verified.kid })
    })
}

/// Verifies a receipt or batch receipt against a JWKS, and the event (JSON text or
/// a JavaScript value) when given, with its salt (from `log.salt`) for a record of
/// version 2. Malformed input throws (INVALID_ARGUMENT for a version-2 record's
/// event without its salt); everything else is in the report.
#[napi(ts_args_type = "receipt: string, jwks: string | KeySet, event?: unknown, salt?: Uint8Array")]
pub fn verify_receipt(
    receipt: Unknown<'_>,
    jwks: Unknown<'_>,
    event: Option<Unknown<'_>>,
    salt: Option<Unknown<'_>>,
) -> Result<Report> {
    guard(|| {
        let receipt = text(&receipt, "receipt")?;
        let event = convert::json_text_opt(event)?;
        let keys = key_set(&jwks)?;
        let salt = convert::bytes_opt(salt, "salt")?;
        let report = evidentia::verify_receipt_salted(&receipt, &keys, event.as_deref(), salt.as_deref());
        Ok(Report(report.map_err(error)?))
    })
}

/// Reads an evidence file (SPEC.md §18: JSON text, a string or a Uint8Array,
/// holding a receipt or batch receipt, a key set and optionally the event) and
/// verifies what it holds, with `jwks`, keys the caller trusts, or, when absent,
/// with the key set the file holds (which came from whoever made the file: confirm
/// it independently). Malformed input throws (INVALID_ARGUMENT for JSON that is
/// not an evidence file); everything else is in the report.
#[napi(ts_args_type = "evidence: string | Uint8Array, jwks?: string | KeySet")]
pub fn verify_evidence_file(evidence: Unknown<'_>, jwks: Option<Unknown<'_>>) -> Result<Report> {
    guard(|| {
        let evidence = convert::text_bytes(&evidence, "evidence")?;
        let keys = optional_key_set(jwks.as_ref())?;
        Ok(Report(evidentia::verify_evidence_file(&evidence, keys.as_deref()).map_err(error)?))
    })
}

/// One stored entry of a log held in memory: a receipt or batch-signed record, and
/// the event's stored canonical bytes when they are kept.
#[napi(object)]
pub struct LogEntry<'env> {
    /// The receipt (per-event mode) or the record JSON (batch mode).
    #[napi(ts_type = "string")]
    pub entry: Unknown<'env>,
    /// The event's canonical JSON text.
    #[napi(ts_type = "string")]
    pub event: Option<Unknown<'env>>,
}

/// A signed checkpoint of a log held in memory, and the size it was signed at.
#[napi(object)]
pub struct LogCheckpoint<'env> {
    /// The tree size.
    pub size: f64,
    /// The signed note.
    #[napi(ts_type = "string")]
    pub note: Unknown<'env>,
}

/// What `verifyLogEntries` verifies, read from its arguments: the entries (record,
/// and event when kept), the key set, and the checkpoints (size, note).
type LogEntriesInput = (Vec<(String, Option<String>)>, Arc<KeySet>, Vec<(u64, String)>);

fn log_entries_input(
    entries: &[LogEntry<'_>],
    jwks: &Unknown<'_>,
    checkpoints: Option<&[LogCheckpoint<'_>]>,
) -> Result<LogEntriesInput> {
    // A size that is not a whole non-negative number fits no position: checked last.
    let size = |s: f64| if s.fract() == 0.0 && s >= 0.0 { s as u64 } else { u64::MAX };
    let entries = entries
        .iter()
        .map(|e| Ok((text(&e.entry, "an entry's record")?, convert::optional_text(e.event.as_ref(), "an event")?)))
        .collect::<Result<Vec<_>>>()?;
    let checkpoints = checkpoints
        .unwrap_or_default()
        .iter()
        .map(|c| Ok((size(c.size), text(&c.note, "a checkpoint's note")?)))
        .collect::<Result<Vec<_>>>()?;
    Ok((entries, key_set(jwks)?, checkpoints))
}

/// The work of `verifyLogEntries`, which may run on a worker thread.
fn verify_entries((entries, keys, checkpoints): &LogEntriesInput) -> Report {
    Report(evidentia::verify_log_entries(
        entries.iter().map(|(entry, event)| (entry.as_bytes(), event.as_ref().map(|e| e.as_bytes()))),
        checkpoints.iter().map(|(size, note)| (*size, note.as_str())),
        keys,
        evidentia::LogVerifyOptions::default(),
    ))
}

/// Verifies a log held in memory: its entries in stored order, and its signed
/// checkpoints.
#[napi]
pub fn verify_log_entries(
    entries: Vec<LogEntry<'_>>,
    #[napi(ts_arg_type = "string | KeySet")] jwks: Unknown<'_>,
    checkpoints: Option<Vec<LogCheckpoint<'_>>>,
) -> Result<Report> {
    guard(|| Ok(verify_entries(&log_entries_input(&entries, &jwks, checkpoints.as_deref())?)))
}

/// As `verifyLogEntries`, on a worker thread.
#[napi(ts_return_type = "Promise<Report>")]
pub fn verify_log_entries_async(
    entries: Vec<LogEntry<'_>>,
    #[napi(ts_arg_type = "string | KeySet")] jwks: Unknown<'_>,
    checkpoints: Option<Vec<LogCheckpoint<'_>>>,
) -> AsyncTask<convert::Blocking<Report>> {
    convert::Blocking::spawn_prepared(guard(|| {
        let input = log_entries_input(&entries, &jwks, checkpoints.as_deref())?;
        Ok(move || Ok(verify_entries(&input)))
    }))
}

/// Verifies a signed checkpoint with a JWKS; returns its origin, size and root hash.
#[napi]
pub fn verify_checkpoint(
    #[napi(ts_arg_type = "string")] note: Unknown<'_>,
    #[napi(ts_arg_type = "string | KeySet")] jwks: Unknown<'_>,
) -> Result<Checkpoint> {
    guard(|| {
        let (note, keys) = (text(&note, "note")?, key_set(&jwks)?);
        let checkpoint = evidentia::verify_checkpoint_with_keys(&note, &keys).map_err(error)?;
        Ok(Checkpoint {
            origin: checkpoint.origin,
            size: size_to_js(checkpoint.size),
            root: checkpoint.root.to_vec().into(),
        })
    })
}

/// Verifies a receipt or batch receipt (its signature by a key of the set) and that
/// its record is in the log a signed checkpoint describes; throws when it is not.
#[napi]
pub fn verify_inclusion(
    #[napi(ts_arg_type = "string")] receipt: Unknown<'_>,
    #[napi(ts_arg_type = "string")] proof: Unknown<'_>,
    #[napi(ts_arg_type = "string")] checkpoint: Unknown<'_>,
    #[napi(ts_arg_type = "string | KeySet")] jwks: Unknown<'_>,
) -> Result<()> {
    guard(|| {
        let (receipt, proof) = (text(&receipt, "receipt")?, text(&proof, "proof")?);
        let checkpoint = text(&checkpoint, "checkpoint")?;
        let proof = InclusionProof::from_json(&proof).map_err(error)?;
        let keys = key_set(&jwks)?;
        evidentia::verify_receipt_in_checkpoint(&receipt, &proof, &checkpoint, &keys).map(drop).map_err(error)
    })
}

/// Verifies that a log only grew between two signed checkpoints; throws when the
/// proof does not show it.
#[napi]
pub fn verify_consistency(
    #[napi(ts_arg_type = "string")] proof: Unknown<'_>,
    #[napi(ts_arg_type = "string")] old_checkpoint: Unknown<'_>,
    #[napi(ts_arg_type = "string")] new_checkpoint: Unknown<'_>,
    #[napi(ts_arg_type = "string | KeySet")] jwks: Unknown<'_>,
) -> Result<()> {
    guard(|| {
        let proof = text(&proof, "proof")?;
        let (old, new) = (text(&old_checkpoint, "oldCheckpoint")?, text(&new_checkpoint, "newCheckpoint")?);
        let proof = ConsistencyProof::from_json(&proof).map_err(error)?;
        let keys = key_set(&jwks)?;
        evidentia::verify_consistency_between(&proof, &old, &new, &keys).map(drop).map_err(error)
    })
}

fn root(bytes: &[u8]) -> Result<evidentia::merkle::Hash> {
    evidentia::merkle::hash_from_slice(bytes).map_err(error)
}

/// Verifies an inclusion proof of a leaf (its data) against a root hash.
#[napi]
pub fn verify_inclusion_proof(
    #[napi(ts_arg_type = "string")] proof: Unknown<'_>,
    leaf: Uint8Array,
    root_hash: Uint8Array,
) -> Result<()> {
    guard(|| {
        let proof = InclusionProof::from_json(&text(&proof, "proof")?).map_err(error)?;
        proof.verify(&evidentia::merkle::leaf_hash(&leaf), &root(&root_hash)?).map_err(error)
    })
}

/// Verifies a consistency proof between two root hashes.
#[napi]
pub fn verify_consistency_proof(
    #[napi(ts_arg_type = "string")] proof: Unknown<'_>,
    old_root: Uint8Array,
    new_root: Uint8Array,
) -> Result<()> {
    guard(|| {
        let proof = ConsistencyProof::from_json(&text(&proof, "proof")?).map_err(error)?;
        proof.verify(&root(&old_root)?, &root(&new_root)?).map_err(error)
    })
}

/// The log-integrity metrics of this process (appends, commits, recoveries,
/// verifications) in the Prometheus text exposition format (docs/OPERATIONS.md).
#[napi]
pub fn metrics() -> Result<String> {
    evidentia_store::metrics::render().map_err(error)
}

/// Counting starts when the addon loads; a recorder installed before is left alone
/// (`metrics()` then says so).
#[napi_derive::module_init]
fn start_metrics() {
    let _ = evidentia_store::metrics::install();
}

/// The error-code table: every code with its name, family and meaning.
#[napi]
pub fn error_codes() -> Vec<ErrorCodeInfo> {
    evidentia::ErrorCode::ALL
        .iter()
        .map(|c| ErrorCodeInfo {
            code: *c as u32,
            name: c.name().to_owned(),
            family: c.family().name().to_owned(),
            description: c.description().to_owned(),
            explanation: c.explanation().to_owned(),
        })
        .collect()
}

/// The version of the package and of the core it binds.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// A size or index as a JavaScript number (exact below 2^53, which no log reaches).
pub(crate) fn size_to_js(n: u64) -> i64 {
    n as i64
}

/// A size or index from JavaScript: a non-negative safe integer, never rounded.
pub(crate) fn size_from_js(n: f64, what: &str) -> Result<u64> {
    if n.fract() != 0.0 || !(0.0..=evidentia::json::MAX_SAFE_INTEGER as f64).contains(&n) {
        return Err(fail(
            evidentia::ErrorCode::InvalidArgument,
            format!("{what} must be a non-negative integer, not {n}"),
        ));
    }
    Ok(n as u64)
}
