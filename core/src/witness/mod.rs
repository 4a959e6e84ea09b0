//! Witnessing (SPEC §22): checking that independent witnesses cosigned a log's
//! checkpoint, as C2SP specifies it. Verification only; Evidentia does not
//! cosign.
//!
//! - `cosignature`: witness keys and `cosignature/v1` cosignatures (Ed25519,
//!   type 0x04), and logs' note keys: Ed25519 (type 0x01) and Evidentia's ECDSA
//!   P-256 (type 0x02);
//! - `policy`: tlog-policy files and their evaluation against a checkpoint;
//! - `proof`: tlog-proof files, an entry's inclusion proof with its cosigned
//!   checkpoint.

mod cosignature;
mod policy;
mod proof;

pub use cosignature::{Cosignature, LogKey, WitnessKey, cosignature_message, verify_log_note};
pub use policy::{Cosigned, Policy, PolicyResult};
pub use proof::TlogProof;
