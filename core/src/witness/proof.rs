//! C2SP tlog-proof (`.tlog-proof` files, SPEC §22.3): an entry's index, its
//! inclusion proof, and the (cosigned) checkpoint the proof leads to, verifiable
//! offline against a [`Policy`].

use crate::checkpoint::read_checkpoint;
use crate::encoding::{b64, b64_decode};
use crate::error::{Error, ErrorCode, Result};
use crate::merkle::{Hash, InclusionProof, leaf_hash};
use crate::witness::policy::{Policy, PolicyResult};

/// The first line of every proof.
const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// A tree of at most 2^64 leaves has inclusion paths of at most 64 hashes.
const MAX_HASHES: usize = 64;
/// Larger proofs are refused (the checkpoint note alone is at most 64 KiB).
const MAX_PROOF_SIZE: usize = 256 * 1024;

fn malformed(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::ProofMalformed, message)
}

/// A tlog-proof: optional extra data, the entry's index, the inclusion proof and
/// the signed checkpoint note, kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque application data, not authenticated (never trust it implicitly).
    pub extra: Option<Vec<u8>>,
    /// The entry's index in the log, from 0.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up to the root's child.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, with its signatures and cosignatures, exactly
    /// as it was in the proof.
    pub checkpoint: String,
}

impl TlogProof {
    /// Reads a proof: the line `c2sp.org/tlog-proof@v1`, an optional line `extra
    /// <base64>` (not empty), `index <decimal, no leading zeros>`, up to 64 lines of
    /// base64 32-byte hashes, an empty line, then a signed checkpoint note.
    ///
    /// # Errors
    /// [`ErrorCode::ProofMalformed`] for the proof's own lines (or a proof over
    /// 256 KiB); [`ErrorCode::CheckpointMalformed`] when what follows is not a
    /// well-formed signed checkpoint.
    pub fn parse(text: &str) -> Result<TlogProof> {
        if text.len() > MAX_PROOF_SIZE {
            return Err(malformed("the proof is larger than 256 KiB"));
        }
        let (head, checkpoint) =
            text.split_once("\n\n").ok_or_else(|| malformed("a proof has an empty line before its checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(malformed("a proof starts with the line c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next();
        let mut extra = None;
        if let Some(data) = line.and_then(|l| l.strip_prefix("extra ")) {
            let bytes = b64_decode(data).filter(|b| !b.is_empty());
            extra = Some(bytes.ok_or_else(|| malformed("a proof's extra data is non-empty standard base64"))?);
            line = lines.next();
        }
        let index = line
            .and_then(|l| l.strip_prefix("index "))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (*n == "0" || !n.starts_with('0')))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| malformed("a proof's index line is 'index' and a decimal number without leading zeros"))?;
        let mut hashes = Vec::new();
        for line in lines {
            if hashes.len() == MAX_HASHES {
                return Err(malformed("an inclusion proof has at most 64 hashes"));
            }
            let hash = b64_decode(line)
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or_else(|| malformed("an inclusion proof line is a 32-byte hash in standard base64"))?;
            hashes.push(hash);
        }
        read_checkpoint(checkpoint)?;
        Ok(TlogProof { extra, index, hashes, checkpoint: checkpoint.to_owned() })
    }

    /// The proof's text; [`TlogProof::parse`] of it gives this proof again, and the
    /// text a proof was parsed from is given back byte for byte.
    pub fn to_text(&self) -> String {
        let mut text = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            text.push_str(&format!("extra {}\n", b64(extra)));
        }
        text.push_str(&format!("index {}\n", self.index));
        for hash in &self.hashes {
            text.push_str(&b64(hash));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint);
        text
    }

    /// Verifies the proof for `entry`, whose leaf hash is the RFC 6962 one
    /// (SHA-256(0x00 ‖ entry)): see [`TlogProof::verify_leaf`].
    ///
    /// # Errors
    /// As [`TlogProof::verify_leaf`].
    pub fn verify(&self, entry: &[u8], policy: &Policy) -> Result<PolicyResult> {
        self.verify_leaf(&leaf_hash(entry), policy)
    }

    /// Verifies the proof for a leaf hash, in the order of tlog-proof: the
    /// checkpoint against `policy` ([`Policy::check`]: the log's signature, the
    /// cosignatures, the quorum), then the inclusion proof of `leaf` at the index
    /// against the checkpoint's size and root.
    ///
    /// # Errors
    /// As [`Policy::check`]; [`ErrorCode::ProofMalformed`] when the index is not
    /// below the checkpoint's size; [`ErrorCode::InclusionProofInvalid`].
    pub fn verify_leaf(&self, leaf: &Hash, policy: &Policy) -> Result<PolicyResult> {
        let result = policy.check(&self.checkpoint)?;
        let proof =
            InclusionProof { leaf_index: self.index, tree_size: result.checkpoint.size, hashes: self.hashes.clone() };
        proof.verify(leaf, &result.checkpoint.root)?;
        Ok(result)
    }
}
