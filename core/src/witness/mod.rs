//! Witnessing (SPEC §22): checking that independent witnesses cosigned a log's
//! checkpoint, as C2SP specifies it, and the log's own Ed25519 note signature that
//! witnesses require. Evidentia does not cosign.
//!
//! - `cosignature`: witness keys and `cosignature/v1` cosignatures (Ed25519,
//!   type 0x04), and logs' note keys: Ed25519 (type 0x01) and Evidentia's ECDSA
//!   P-256 (type 0x02);
//! - `note_key`: the log's Ed25519 note key and the signature line it adds;
//! - `policy`: tlog-policy files and their evaluation against a checkpoint;
//! - `submit`: the log's side of tlog-witness `add-checkpoint`;
//! - `proof`: tlog-proof files, an entry's inclusion proof with its cosigned
//!   checkpoint.

mod cosignature;
mod note_key;
mod policy;
mod proof;
mod submit;

pub use cosignature::{Cosignature, LogKey, WitnessKey, cosignature_message, verify_log_note};
pub use note_key::{NoteKey, NoteSigner, add_note_signature, note_log_key};
pub use policy::{Cosigned, Policy, PolicyResult};
pub use proof::TlogProof;
pub use submit::{
    MAX_WITNESS_ANSWER_SIZE, WITNESS_SIZE_CONTENT_TYPE, WitnessAnswer, add_checkpoint_body, merge_notes,
    read_witness_answer,
};
