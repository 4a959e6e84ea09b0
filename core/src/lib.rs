//! Evidentia: non-repudiation evidence that anyone can re-check years later.
//!
//! - [`canonicalize`]: RFC 8785 canonical JSON, so re-formatting never breaks a signature.
//! - [`SigningKey`], [`PublicKey`], [`KeySet`]: P-256 keys, JWK/PEM/SEC1, RFC 7638
//!   kids, and key histories that keep old evidence verifiable after rotation.
//! - [`sign_jws`], [`verify_jws`]: ES256 JWS, deterministic and strict.
//! - [`verify_partner_jws`], [`PartnerKeys`]: JWS signed by others with ES256/384/512,
//!   RS256, PS256/384 or EdDSA (Ed25519).
//! - [`Record`], [`Receipt`], [`ReceiptChain`], [`issue_receipt`]: hash-chained,
//!   signed evidence records; [`Signer`], the seam every signature goes through
//!   (keys in memory, in PKCS#11 tokens, behind a KMS callback).
//! - [`merkle`], [`Checkpoint`], [`BatchReceipt`]: RFC 6962/9162 Merkle trees with
//!   inclusion and consistency proofs, C2SP signed checkpoints, batch receipts.
//! - [`verify_receipt`], [`verify_batch_receipt`], [`LogVerifier`]: verification
//!   with [`Report`]s.
//! - [`commit`], [`check_disclosures`]: salted commitments to events, member by
//!   member, and disclosures of some members (SD-JWT's form).
//! - [`tiles`]: C2SP tlog-tiles, a log served as static files.
//! - [`timestamp`]: RFC 3161 trusted timestamps from an independent authority.
//! - [`Policy`], [`TlogProof`]: C2SP witness cosignatures, tlog-policy quorums and
//!   tlog-proof files.
//!
//! The core is sans-I/O: it never touches files, the network or the clock. Time
//! and randomness come in as parameters. SPEC.md defines every format.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
mod chain;
mod checkpoint;
mod commitment;
mod crypto;
mod deferred;
mod digest;
pub mod encoding;
mod erasure;
mod error;
mod evidence;
pub mod json;
mod jwks;
mod jws;
mod keyed_hash;
mod keyrecord;
mod keys;
mod lookup;
pub mod merkle;
mod message;
pub mod package;
mod partner;
mod record;
mod report;
mod signed_report;
mod signer;
mod stored_event;
pub mod tiles;
mod time;
pub mod timestamp;
mod verify;
mod witness;

pub use batch::{
    BATCH_RECEIPT_TYPE, BATCH_RECEIPT_VERSION, BatchReceipt, checkpoint_verifiers, record_of_receipt,
    verify_batch_receipt, verify_checkpoint_with_keys, verify_consistency_between, verify_inclusion_in_checkpoint,
    verify_receipt_in_checkpoint,
};
pub use chain::{MAX_AHEAD_OF_CLOCK, ReceiptChain, record_time};
pub use checkpoint::{
    Checkpoint, NoteVerifier, VerifiedNote, read_checkpoint, sign_checkpoint, sign_note, verify_checkpoint, verify_note,
};
pub use commitment::{
    COMMITMENT_ALGORITHM, Commitment, Disclosed, Disclosure, MAX_SALT_BYTES, MIN_SALT_BYTES, check_disclosures, commit,
    commit_json,
};
pub use crypto::VERIFICATION_PROVIDER;
pub use deferred::{Deferral, SignatureCheck};
pub use digest::Digest;
pub use erasure::{ERASURE_FORMAT, ERASURE_MEMBER, Erasure, MAX_ERASURE_REASON, erasure_of};
pub use error::{Error, ErrorCode, ErrorFamily, Result};
pub use evidence::{EvidenceFile, evidence_file, verify_evidence_file};
pub use json::{Value, canonicalize, canonicalize_value};
pub use jwks::{KeyEntry, KeySet, Validity};
pub use jws::{JwsOptions, VerifiedJws, sign_jws, verify_jws};
pub use keyed_hash::{KEYED_HASH_PREFIX, MIN_HASH_KEY_BYTES, keyed_hash};
pub use keyrecord::{KEY_RECORD_FORMAT, KEY_RECORD_MEMBER, KeyChange, KeyRecord, key_in_force, key_record_of};
pub use keys::{ALGORITHM, PublicKey, SigningKey, jwk_thumbprint};
pub use lookup::{MESSAGE_MEMBER, lookup_document, lookup_terms};
pub use merkle::{ConsistencyProof, InclusionProof};
pub use message::{
    Direction, Link, MESSAGE_FORMAT, NewMessage, PROVENANCE_FIELDS, Reverification, SignedMessage, Verification,
    prepare_event, record_version_for,
};
pub use partner::{
    MAX_KEYS as MAX_PARTNER_KEYS, PartnerAlgorithm, PartnerKey, PartnerKeys, PartnerVerified, verify_partner_jws,
};
pub use record::{
    ChainState, ChainedRecord, Issued, RECEIPT_TYPE, RECORD_VERSION, Receipt, Record, RecordVersion, UnsignedReceipt,
    issue_receipt, validate_log_id, validate_new_log_id,
};
pub use report::{Check, CheckResult, EVIDENTIA_VERSION, ErasedRecord, Finding, Report, Status, Subject, TreeHead};
pub use signed_report::{REPORT_TYPE, SignedReport, verify_signed_report};
pub use signer::{Signer, checked_signature};
pub use stored_event::{
    CommittedEvent, EventState, StoredEvent, event_as_committed, event_state, event_with_salt, stored_event_json,
};
pub use time::Timestamp;
pub use verify::{
    DEFAULT_MAX_FINDINGS, LogVerifier, LogVerifyOptions, PreparedCheckpoint, PreparedEntry, StoredKeyRecord,
    StoredStart, TrustedStart, entry_record_digest, verify_log, verify_log_entries, verify_receipt,
    verify_receipt_salted,
};
pub use witness::{
    Cosignature, Cosigned, LogKey, MAX_WITNESS_ANSWER_SIZE, NoteKey, NoteSigner, Policy, PolicyResult, TlogProof,
    WITNESS_SIZE_CONTENT_TYPE, WitnessAnswer, WitnessKey, add_checkpoint_body, add_note_signature, cosignature_message,
    merge_notes, note_log_key, read_witness_answer, verify_log_note,
};
