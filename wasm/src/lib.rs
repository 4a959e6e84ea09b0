//! The WebAssembly module of Evidentia: a thin adapter over the core for browsers
//! and other JavaScript runtimes, with the names of the Node package. It converts
//! JavaScript values and maps errors; every rule lives in the core.
//!
//! Arguments arrive as `JsValue` and are checked here, so that a wrong type gets an
//! error with Evidentia's code (`INVALID_ARGUMENT`) rather than being coerced.

mod chain;
mod commitment;
mod convert;
mod keyset;
mod message;
mod package;
mod report;
mod timestamp;
mod webcrypto;
mod witness;

use evidentia::{ConsistencyProof, ErrorCode, InclusionProof, JwsOptions};
use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

pub use crate::commitment::{check_disclosures, commit_event, keyed_hash};
use crate::convert::{
    Result, bytes, error, fail, flag, get, json_bytes, json_input, json_text_opt, optional_bytes, set, text,
};
pub use crate::keyset::KeySet;
use crate::keyset::{keys, optional_keys};
pub use crate::message::{read_signed_message, verify_partner_jws, verify_partner_signature};
pub use crate::package::{max_package_archive_size, verify_package};
pub use crate::report::Report;
pub use crate::timestamp::{timestamp_request, verify_timestamp};
pub use crate::witness::{check_policy, verify_tlog_proof};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Options of `SigningKey.signJws`. */
export interface SignJwsOptions {
  /** Leave the payload out of the JWS (RFC 7515 Appendix F). */
  detached?: boolean
  /** Sign the payload bytes as they are, without base64url (RFC 7797, `"b64": false`). */
  unencoded?: boolean
}
/** Options of `ReceiptChain.issue`. */
export interface IssueOptions {
  /** The record's nonce (default: none). */
  nonce?: string
  /** The record's time, RFC 3339 (default: now). */
  time?: string
}
/** A partner's JWS whose signature verified. */
export interface PartnerVerified {
  /** The JWS algorithm: ES256, ES384, ES512, RS256, PS256, PS384 or EdDSA. */
  alg: string
  /** The header's `kid`; absent when it has none. */
  kid?: string
  /** The RFC 7638 thumbprint of the key that verified the signature. */
  keyThumbprint: string
  /** The protected header. */
  header: Record<string, unknown>
  /** The payload bytes. */
  payload: Uint8Array
}
/** A JWS that verified. */
export interface VerifiedJws {
  /** The protected header. */
  header: Record<string, unknown>
  /** The payload bytes. */
  payload: Uint8Array
  /** The kid of the key that verified it. */
  kid: string
}
/** What a signed checkpoint that verified says. */
export interface Checkpoint {
  origin: string
  size: number
  /** The Merkle root hash (32 bytes). */
  root: Uint8Array
}
/** One stored entry of a log held in memory. */
export interface LogEntry {
  /** The receipt (per-event mode) or the record JSON (batch mode). */
  entry: string
  /** The event's canonical JSON text, when it is kept. */
  event?: string
}
/** A signed checkpoint of a log held in memory, and the size it was signed at. */
export interface LogCheckpoint {
  size: number
  note: string
}
/** One row of the error-code table. */
export interface ErrorCodeInfo {
  code: number
  name: string
  family: string
  description: string
  /** What it means in plain words, for people who are not engineers. */
  explanation: string
}
/** The outcome of one check. */
export interface CheckResult {
  check: string
  status: string
  failures: number
  description: string
}
/** One failure. */
export interface Finding {
  code: number
  name: string
  check: string
  index: number | null
  message: string
}
"#;

/// A P-256 private key that signs deterministically (RFC 6979).
#[wasm_bindgen]
#[derive(Debug)]
pub struct SigningKey(pub(crate) evidentia::SigningKey);

#[wasm_bindgen]
impl SigningKey {
    /// A new key from the platform's cryptographic random source.
    pub fn generate() -> Result<SigningKey> {
        Ok(SigningKey(evidentia::SigningKey::generate().map_err(error)?))
    }

    /// A key from JWK text (with its private part `d`).
    #[wasm_bindgen(js_name = fromJwk)]
    pub fn from_jwk(#[wasm_bindgen(unchecked_param_type = "string")] jwk: JsValue) -> Result<SigningKey> {
        Ok(SigningKey(evidentia::SigningKey::from_jwk(&text(&jwk, "jwk")?).map_err(error)?))
    }

    /// A key from PEM text (PKCS#8 or SEC1).
    #[wasm_bindgen(js_name = fromPem)]
    pub fn from_pem(#[wasm_bindgen(unchecked_param_type = "string")] pem: JsValue) -> Result<SigningKey> {
        Ok(SigningKey(evidentia::SigningKey::from_pem(&text(&pem, "pem")?).map_err(error)?))
    }

    /// The private key as canonical JWK text.
    #[wasm_bindgen(js_name = toJwk)]
    pub fn to_jwk(&self) -> String {
        self.0.to_jwk()
    }

    /// The private key as PKCS#8 PEM.
    #[wasm_bindgen(js_name = toPem)]
    pub fn to_pem(&self) -> String {
        self.0.to_pem()
    }

    /// The public key as canonical JWK text.
    #[wasm_bindgen(js_name = publicJwk)]
    pub fn public_jwk(&self) -> String {
        self.0.public_jwk()
    }

    /// The public key as SubjectPublicKeyInfo PEM.
    #[wasm_bindgen(js_name = publicPem)]
    pub fn public_pem(&self) -> String {
        self.0.public_key().to_pem()
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    #[wasm_bindgen(getter)]
    pub fn kid(&self) -> String {
        self.0.kid().to_owned()
    }

    /// The Node package's randomized signing, for code that moves between Node
    /// and the browser: WebAssembly has no AWS-LC, so this key keeps signing
    /// deterministically and `randomized` says `false`.
    #[wasm_bindgen(js_name = withRandomizedSignatures)]
    pub fn with_randomized_signatures(&self) -> SigningKey {
        SigningKey(self.0.with_randomized_signatures())
    }

    /// Whether this key signs with random nonces: never in WebAssembly.
    #[wasm_bindgen(getter)]
    pub fn randomized(&self) -> bool {
        self.0.is_randomized()
    }

    /// Signs `payload` as a compact ES256 JWS (deterministic).
    #[wasm_bindgen(js_name = signJws)]
    pub fn sign_jws(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] payload: JsValue,
        #[wasm_bindgen(unchecked_param_type = "SignJwsOptions | undefined")] options: JsValue,
    ) -> Result<String> {
        let payload = optional_bytes(&payload, "payload")?
            .ok_or_else(|| fail(ErrorCode::InvalidArgument, "payload is missing"))?;
        let options = JwsOptions { detached: flag(&options, "detached")?, unencoded: flag(&options, "unencoded")? };
        evidentia::sign_jws(&self.0, &payload, options).map_err(error)
    }

    /// `SigningKey(kid=…)`, never the key material.
    #[wasm_bindgen(js_name = toString)]
    pub fn describe(&self) -> String {
        format!("SigningKey(kid={})", self.0.kid())
    }
}

/// The RFC 8785 canonical form of a JSON value: JSON text (a string or a
/// Uint8Array) or a JavaScript value (plain object, array, string, finite number,
/// boolean, null, BigInt within ±(2^53 − 1)).
#[wasm_bindgen]
pub fn canonicalize(#[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue) -> Result<Uint8Array> {
    Ok(bytes(&json_input(&value)?))
}

/// The digest of a JSON value's canonical form, `sha256:<hex>`.
#[wasm_bindgen]
pub fn digest(#[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue) -> Result<String> {
    Ok(evidentia::Digest::sha256(&json_input(&value)?).to_string())
}

/// The SHA-256 digest of bytes, `sha256:<hex>`.
#[wasm_bindgen]
pub fn sha256(#[wasm_bindgen(unchecked_param_type = "Uint8Array")] data: JsValue) -> Result<String> {
    let data = optional_bytes(&data, "data")?.ok_or_else(|| fail(ErrorCode::InvalidArgument, "data is missing"))?;
    Ok(evidentia::Digest::sha256(&data).to_string())
}

/// The RFC 7638 thumbprint of a JWK.
#[wasm_bindgen(js_name = jwkThumbprint)]
pub fn jwk_thumbprint(#[wasm_bindgen(unchecked_param_type = "string")] jwk: JsValue) -> Result<String> {
    evidentia::jwk_thumbprint(&text(&jwk, "jwk")?).map_err(error)
}

/// Verifies a compact ES256 JWS against a JWKS (or a single JWK); throws an error
/// with a Verification code when it does not verify.
#[wasm_bindgen(js_name = verifyJws, unchecked_return_type = "VerifiedJws")]
pub fn verify_jws(
    #[wasm_bindgen(unchecked_param_type = "string")] jws: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | KeySet")] jwks: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | undefined | null")] payload: JsValue,
) -> Result<Object> {
    let payload = optional_bytes(&payload, "payload")?;
    let verified =
        evidentia::verify_jws(&text(&jws, "jws")?, &*keys(&jwks)?, payload.as_deref(), None).map_err(error)?;
    let out = Object::new();
    set(&out, "header", js_sys::JSON::parse(&verified.header)?)?;
    set(&out, "payload", bytes(&verified.payload))?;
    set(&out, "kid", verified.kid)?;
    Ok(out)
}

/// Verifies a receipt or batch receipt against a JWKS, and the event (JSON text or
/// a JavaScript value) when given, with its salt (a Uint8Array, from the log that
/// made the record) for a record of version 2. Malformed input throws
/// (INVALID_ARGUMENT for a version-2 record's event without its salt); everything
/// else is in the report.
#[wasm_bindgen(js_name = verifyReceipt)]
pub fn verify_receipt(
    #[wasm_bindgen(unchecked_param_type = "string")] receipt: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | KeySet")] jwks: JsValue,
    #[wasm_bindgen(unchecked_param_type = "unknown")] event: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | undefined")] salt: JsValue,
) -> Result<Report> {
    let event = json_text_opt(&event)?;
    let salt = optional_bytes(&salt, "salt")?;
    let receipt = text(&receipt, "receipt")?;
    let report =
        evidentia::verify_receipt_salted(&receipt, &*keys(&jwks)?, event.as_deref(), salt.as_deref()).map_err(error)?;
    Ok(Report(report))
}

/// As `verifyReceipt`, returning a Promise: where the runtime has WebCrypto
/// (browsers, Node.js), it checks the signature in native code; the module decides
/// the report, the same report as `verifyReceipt`.
#[wasm_bindgen(js_name = verifyReceiptAsync)]
pub async fn verify_receipt_async(
    #[wasm_bindgen(unchecked_param_type = "string")] receipt: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | KeySet")] jwks: JsValue,
    #[wasm_bindgen(unchecked_param_type = "unknown")] event: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | undefined")] salt: JsValue,
) -> Result<Report> {
    let event = json_text_opt(&event)?;
    let salt = optional_bytes(&salt, "salt")?;
    let receipt = text(&receipt, "receipt")?;
    let keys = keys(&jwks)?;
    let report = webcrypto::verify(&keys, |keys, _| {
        evidentia::verify_receipt_salted(&receipt, keys, event.as_deref(), salt.as_deref())
    })
    .await;
    Ok(Report(report.map_err(error)?))
}

/// Reads an evidence file (SPEC.md §18: JSON text, a string or a Uint8Array,
/// holding a receipt or batch receipt, a key set and optionally the event) and
/// verifies what it holds, with `jwks`, keys the caller trusts, or, when absent,
/// with the key set the file holds (which came from whoever made the file: confirm
/// it independently). Malformed input throws (INVALID_ARGUMENT for JSON that is
/// not an evidence file); everything else is in the report.
#[wasm_bindgen(js_name = verifyEvidenceFile)]
pub fn verify_evidence_file(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] evidence: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | KeySet | undefined | null")] jwks: JsValue,
) -> Result<Report> {
    let evidence = json_bytes(&evidence, "evidence")?;
    let keys = optional_keys(&jwks)?;
    Ok(Report(evidentia::verify_evidence_file(&evidence, keys.as_deref()).map_err(error)?))
}

/// A size or index from JavaScript: a non-negative safe integer, never rounded.
fn size(value: &JsValue, what: &str) -> Result<u64> {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (0.0..=evidentia::json::MAX_SAFE_INTEGER as f64).contains(&n) => Ok(n as u64),
        _ => Err(fail(ErrorCode::InvalidArgument, format!("{what} must be a non-negative integer"))),
    }
}

/// Verifies a log held in memory: its entries in stored order, and its signed
/// checkpoints.
#[wasm_bindgen(js_name = verifyLogEntries)]
pub fn verify_log_entries(
    #[wasm_bindgen(unchecked_param_type = "LogEntry[]")] entries: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | KeySet")] jwks: JsValue,
    #[wasm_bindgen(unchecked_param_type = "LogCheckpoint[] | undefined | null")] checkpoints: JsValue,
) -> Result<Report> {
    let keys = keys(&jwks)?;
    let log = LogInMemory::read(&entries, &checkpoints)?;
    Ok(log.verify(&keys, &mut || {}))
}

/// As `verifyLogEntries`, returning a Promise. Where the runtime has WebCrypto
/// (browsers, Node.js), it checks the signatures, in native code and on its own
/// threads; parsing, canonicalization, chains and proofs stay in the module, which
/// decides the report (the same report as `verifyLogEntries`). The rest of the
/// work runs on the calling thread: run a long verification in a Web Worker to keep
/// a page responsive.
#[wasm_bindgen(js_name = verifyLogEntriesAsync)]
pub async fn verify_log_entries_async(
    #[wasm_bindgen(unchecked_param_type = "LogEntry[]")] entries: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | KeySet")] jwks: JsValue,
    #[wasm_bindgen(unchecked_param_type = "LogCheckpoint[] | undefined | null")] checkpoints: JsValue,
) -> Result<Report> {
    let keys = keys(&jwks)?;
    let log = LogInMemory::read(&entries, &checkpoints)?;
    // WebCrypto gets the signatures of every few entries while the next are read.
    Ok(webcrypto::verify(&keys, |keys, every_few| log.verify(keys, every_few)).await)
}

/// The arguments of `verifyLogEntries`, read.
struct LogInMemory {
    /// Each entry's record, and its event when given.
    records: Vec<(String, Option<String>)>,
    /// Each checkpoint's size and note.
    notes: Vec<(u64, String)>,
}

impl LogInMemory {
    fn read(entries: &JsValue, checkpoints: &JsValue) -> Result<LogInMemory> {
        let list = |value: &JsValue, what: &str| -> Result<Vec<JsValue>> {
            if value.is_undefined() || value.is_null() {
                return Ok(Vec::new());
            }
            if !Array::is_array(value) {
                return Err(fail(ErrorCode::InvalidArgument, format!("{what} must be an array")));
            }
            Ok(value.clone().unchecked_into::<Array>().iter().collect())
        };
        let mut notes = Vec::new();
        for checkpoint in list(checkpoints, "checkpoints")? {
            let (size_value, note) =
                (get(&checkpoint, "size", "a checkpoint")?, get(&checkpoint, "note", "a checkpoint")?);
            notes.push((size(&size_value, "a checkpoint's size")?, text(&note, "a checkpoint's note")?));
        }
        let mut records = Vec::new();
        for entry in list(entries, "entries")? {
            let record = text(&get(&entry, "entry", "an entry")?, "an entry's record")?;
            let event = get(&entry, "event", "an entry")?;
            let event = if event.is_undefined() || event.is_null() { None } else { Some(text(&event, "an event")?) };
            records.push((record, event));
        }
        Ok(LogInMemory { records, notes })
    }

    /// Verifies the log with `keys`, calling `every_few` after every few entries.
    fn verify(&self, keys: &evidentia::KeySet, every_few: &mut dyn FnMut()) -> Report {
        /// Entries between calls of `every_few`.
        const FEW: usize = 64;
        let entries = self.records.iter().enumerate().map(|(i, (record, event))| {
            if i % FEW == 0 {
                every_few();
            }
            (record.as_bytes(), event.as_ref().map(|e| e.as_bytes()))
        });
        Report(evidentia::verify_log_entries(
            entries,
            self.notes.iter().map(|(size, note)| (*size, note.as_str())),
            keys,
            evidentia::LogVerifyOptions::default(),
        ))
    }
}

/// Verifies a signed checkpoint with a JWKS; returns its origin, size and root hash.
#[wasm_bindgen(js_name = verifyCheckpoint, unchecked_return_type = "Checkpoint")]
pub fn verify_checkpoint(
    #[wasm_bindgen(unchecked_param_type = "string")] note: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | KeySet")] jwks: JsValue,
) -> Result<Object> {
    let checkpoint = evidentia::verify_checkpoint_with_keys(&text(&note, "note")?, &*keys(&jwks)?).map_err(error)?;
    let out = Object::new();
    set(&out, "origin", checkpoint.origin)?;
    set(&out, "size", checkpoint.size as f64)?;
    set(&out, "root", bytes(&checkpoint.root))?;
    Ok(out)
}

/// Verifies a receipt or batch receipt (its signature by a key of the set) and that
/// its record is in the log a signed checkpoint describes; throws when it is not.
#[wasm_bindgen(js_name = verifyInclusion)]
pub fn verify_inclusion(
    #[wasm_bindgen(unchecked_param_type = "string")] receipt: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] proof: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] checkpoint: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | KeySet")] jwks: JsValue,
) -> Result<()> {
    let receipt = text(&receipt, "receipt")?;
    let proof = InclusionProof::from_json(&text(&proof, "proof")?).map_err(error)?;
    let checkpoint = text(&checkpoint, "checkpoint")?;
    evidentia::verify_receipt_in_checkpoint(&receipt, &proof, &checkpoint, &*keys(&jwks)?).map(drop).map_err(error)
}

/// Verifies that a log only grew between two signed checkpoints; throws when the
/// proof does not show it.
#[wasm_bindgen(js_name = verifyConsistency)]
pub fn verify_consistency(
    #[wasm_bindgen(unchecked_param_type = "string")] proof: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] old_checkpoint: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] new_checkpoint: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | KeySet")] jwks: JsValue,
) -> Result<()> {
    let proof = ConsistencyProof::from_json(&text(&proof, "proof")?).map_err(error)?;
    let (old, new) = (text(&old_checkpoint, "oldCheckpoint")?, text(&new_checkpoint, "newCheckpoint")?);
    evidentia::verify_consistency_between(&proof, &old, &new, &*keys(&jwks)?).map(drop).map_err(error)
}

fn root(value: &JsValue, what: &str) -> Result<evidentia::merkle::Hash> {
    evidentia::merkle::hash_from_slice(&optional_bytes(value, what)?.unwrap_or_default()).map_err(error)
}

/// Verifies an inclusion proof of a leaf (its data) against a root hash.
#[wasm_bindgen(js_name = verifyInclusionProof)]
pub fn verify_inclusion_proof(
    #[wasm_bindgen(unchecked_param_type = "string")] proof: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] leaf: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] root_hash: JsValue,
) -> Result<()> {
    let proof = InclusionProof::from_json(&text(&proof, "proof")?).map_err(error)?;
    let leaf = optional_bytes(&leaf, "leaf")?.unwrap_or_default();
    proof.verify(&evidentia::merkle::leaf_hash(&leaf), &root(&root_hash, "rootHash")?).map_err(error)
}

/// Verifies a consistency proof between two root hashes.
#[wasm_bindgen(js_name = verifyConsistencyProof)]
pub fn verify_consistency_proof(
    #[wasm_bindgen(unchecked_param_type = "string")] proof: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] old_root: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] new_root: JsValue,
) -> Result<()> {
    let proof = ConsistencyProof::from_json(&text(&proof, "proof")?).map_err(error)?;
    proof.verify(&root(&old_root, "oldRoot")?, &root(&new_root, "newRoot")?).map_err(error)
}

/// The error-code table: every code with its name, family and meaning.
#[wasm_bindgen(js_name = errorCodes, unchecked_return_type = "ErrorCodeInfo[]")]
pub fn error_codes() -> Result<Array> {
    let out = Array::new();
    for code in ErrorCode::ALL {
        let row = Object::new();
        set(&row, "code", *code as u16)?;
        set(&row, "name", code.name())?;
        set(&row, "family", code.family().name())?;
        set(&row, "description", code.description())?;
        set(&row, "explanation", code.explanation())?;
        out.push(&row);
    }
    Ok(out)
}

/// The version of the package and of the core it binds.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Panics on purpose, so the tests can check that a panic reaches JavaScript as an
/// `Error` with code `INTERNAL` and that the next call works. Not part of the API.
#[wasm_bindgen(js_name = __evidentiaTestPanic, skip_typescript)]
pub fn test_panic() {
    #[allow(clippy::panic)]
    {
        panic!("the panic the tests ask for")
    }
}
