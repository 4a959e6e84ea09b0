//! Reading a log's state, whoever holds it: the writer (a [`crate::Log`]) serves
//! receipts and proofs from its open files, a [`crate::LogReader`] from its
//! snapshot. Both build a [`View`] and ask it.

use evidentia::merkle::{self, Hash};
use evidentia::{
    BatchReceipt, Checkpoint, ConsistencyProof, Error, ErrorCode, InclusionProof, Record, Result, Signer,
    event_with_salt, sign_checkpoint,
};

use crate::checkpoints::{Checkpoints, StoredCheckpoint};
use crate::config::Config;
use crate::fields::{self, FieldIndex};
use crate::index::IndexFile;
use crate::nonces::fingerprint;
use crate::segments::{Entry, Segment};
use crate::table::HashTable;
use crate::tree::TreeFile;

/// The parts of a log that reads need, borrowed.
pub(crate) struct View<'a> {
    pub config: &'a Config,
    pub segments: &'a [Segment],
    pub index: Option<&'a IndexFile>,
    pub checkpoints: &'a Checkpoints,
    pub nonces: Option<&'a HashTable>,
    /// The field index, when the log indexes fields and it could be opened.
    pub fields: Option<&'a FieldIndex>,
    /// The number of complete entries.
    pub count: u64,
    /// The kid of the last entry's record, if the holder knows it (saves a read).
    pub last_kid: Option<&'a str>,
    /// The tree of those entries, opened when a proof needs it.
    pub tree: &'a dyn TreeAccess,
}

/// Gives the tree file, opening it on first use if need be.
pub(crate) trait TreeAccess {
    fn tree(&self) -> Result<&TreeFile>;
}

impl TreeAccess for TreeFile {
    fn tree(&self) -> Result<&TreeFile> {
        Ok(self)
    }
}

/// Why record `seq` of a log of `count` records cannot be read.
pub(crate) fn beyond(count: u64, seq: u64) -> Error {
    Error::new(ErrorCode::InvalidArgument, format!("the log has {count} records; there is no record {seq}"))
}

impl View<'_> {
    /// The entry with sequence number `seq`, checked to be that record of this log.
    pub(crate) fn entry(&self, seq: u64) -> Result<Entry> {
        self.entry_and_record(seq).map(|(entry, _)| entry)
    }

    /// The entry with sequence number `seq` and its record, checked to be that
    /// record of this log.
    fn entry_and_record(&self, seq: u64) -> Result<(Entry, Record)> {
        if seq >= self.count {
            return Err(beyond(self.count, seq));
        }
        let corrupt = |why: &str| Error::new(ErrorCode::LogCorrupt, format!("entry {seq}: {why}"));
        let index = self.index.ok_or_else(|| corrupt("the log has no index; open it for writing to rebuild it"))?;
        let (segment, offset) = index.get(seq)?;
        let segment = self.segments.get(segment).ok_or_else(|| corrupt("the index names a missing segment"))?;
        let payload = segment.frame_at(offset).map_err(|why| corrupt(&why))?;
        let entry = Entry::decode(&payload).map_err(|why| corrupt(&why))?;
        let record = entry.record().map_err(|e| corrupt(&format!("the record cannot be read: {e}")))?;
        if record.seq != seq || record.log_id != self.config.log_id {
            return Err(corrupt("the index points at another record; open the log for writing to rebuild it"));
        }
        Ok((entry, record))
    }

    /// The receipt, or in a batch-signed log the batch receipt, of record `seq`.
    pub(crate) fn receipt(&self, seq: u64) -> Result<String> {
        match self.entry_and_record(seq)? {
            (Entry::Receipt { receipt, .. }, _) => Ok(receipt),
            (Entry::Record { record, .. }, parsed) => {
                let checkpoint = self.batch_checkpoint(seq, &parsed)?;
                let proof = self.inclusion_proof(seq, Some(checkpoint.size))?;
                Ok(BatchReceipt::new(&record, proof, &checkpoint.note)?.to_json())
            }
        }
    }

    /// The salt record `seq` commits to its event under, for a record of version 2
    /// (SPEC.md §26); `None` for one of version 1.
    pub(crate) fn salt(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        let (entry, record) = self.entry_and_record(seq)?;
        Ok(event_with_salt(&record, entry.stored_event())?.1)
    }

    /// The batch receipt of record `seq` of a log rotated before rotations sealed:
    /// when no stored checkpoint signed by the record's key covers it, `key` (that
    /// key) signs one of the records it signed, on the spot. The checkpoint is not
    /// stored (checkpoints are stored in order of size); it needs no storing, since
    /// it states the root of records the log holds. Receipts, and records a stored
    /// checkpoint covers, are served as [`View::receipt`] serves them.
    pub(crate) fn receipt_sealed_by(&self, seq: u64, key: &dyn Signer) -> Result<String> {
        let (entry, parsed) = self.entry_and_record(seq)?;
        if matches!(entry, Entry::Receipt { .. }) || self.batch_checkpoint(seq, &parsed).is_ok() {
            return self.receipt(seq);
        }
        if key.public_key().kid() != parsed.kid {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("record {seq} was signed by key {}, not by key {}", parsed.kid, key.public_key().kid()),
            ));
        }
        let size = self.first_record_after_key(seq, &parsed.kid)?.unwrap_or(self.count);
        let checkpoint =
            Checkpoint { origin: self.config.log_id.clone(), size, root: self.root(size)?, extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, key)?;
        let proof = self.inclusion_proof(seq, Some(size))?;
        let Entry::Record { record, .. } = entry else { unreachable!("receipts returned above") };
        Ok(BatchReceipt::new(&record, proof, &note)?.to_json())
    }

    /// The checkpoint a batch receipt of record `seq` carries: the newest one its
    /// own key signed. Keys change only at rotations, and a rotation first seals
    /// the records so far with the outgoing key, so that checkpoint is the newest
    /// one covering no record of a later key.
    fn batch_checkpoint(&self, seq: u64, record: &Record) -> Result<StoredCheckpoint> {
        let first_of_next_key = self.first_record_after_key(seq, &record.kid)?;
        let within = first_of_next_key.map_or(self.count, |first| first);
        self.checkpoints
            .newest_within(within)
            .map(|i| self.checkpoints.get(i))
            .transpose()?
            .filter(|c| c.size > seq)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    format!("record {seq} is not yet covered by a checkpoint signed with its key"),
                )
            })
    }

    /// The first record after `seq` signed by another key than `kid`, found by
    /// bisection (records of one key are contiguous).
    fn first_record_after_key(&self, seq: u64, kid: &str) -> Result<Option<u64>> {
        let last = self.count - 1;
        let last_kid = match self.last_kid {
            Some(known) => known == kid,
            None => self.entry_and_record(last)?.1.kid == kid,
        };
        if last_kid {
            return Ok(None);
        }
        let (mut low, mut high) = (seq, last); // entry(low) has `kid`, entry(high) does not
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if self.entry_and_record(mid)?.1.kid == kid {
                low = mid;
            } else {
                high = mid;
            }
        }
        Ok(Some(high))
    }

    fn default_size(&self) -> Result<u64> {
        self.checkpoints.latest_size().ok_or_else(|| {
            Error::new(ErrorCode::InvalidArgument, "the log has no signed checkpoint yet: run 'log checkpoint' first")
        })
    }

    /// The inclusion proof of record `index` in the tree of the first `size` records
    /// (by default, the size of the latest checkpoint).
    pub(crate) fn inclusion_proof(&self, index: u64, size: Option<u64>) -> Result<InclusionProof> {
        let size = match size {
            Some(size) => size,
            None => self.default_size()?,
        };
        if size > self.count {
            return Err(Error::new(ErrorCode::ProofMalformed, format!("the log has only {} records", self.count)));
        }
        Ok(InclusionProof {
            leaf_index: index,
            tree_size: size,
            hashes: merkle::inclusion_proof(self.tree.tree()?, index, size)?,
        })
    }

    /// The consistency proof between the trees of the first `old` and `new` records
    /// (by default, the size of the latest checkpoint).
    pub(crate) fn consistency_proof(&self, old: u64, new: Option<u64>) -> Result<ConsistencyProof> {
        let new = match new {
            Some(new) => new,
            None => self.default_size()?,
        };
        if new > self.count {
            return Err(Error::new(ErrorCode::ProofMalformed, format!("the log has only {} records", self.count)));
        }
        Ok(ConsistencyProof {
            old_size: old,
            new_size: new,
            hashes: merkle::consistency_proof(self.tree.tree()?, old, new)?,
        })
    }

    /// The root hash of the first `size` records.
    pub(crate) fn root(&self, size: u64) -> Result<Hash> {
        if size > self.count {
            return Err(Error::new(ErrorCode::ProofMalformed, format!("the log has only {} records", self.count)));
        }
        merkle::root(self.tree.tree()?, size)
    }

    /// The record holding `nonce`, if one does: looked up in the nonce index, and
    /// for records the index does not cover yet (after a crash, until a writer
    /// opens the log), in the records themselves.
    pub(crate) fn find_nonce(&self, nonce: &str) -> Result<Option<u64>> {
        let holds = |seq: u64| -> Result<bool> { Ok(self.entry_and_record(seq)?.1.nonce.as_deref() == Some(nonce)) };
        let indexed = match self.nonces {
            Some(table) => {
                for seq in table.find(&fingerprint(nonce))? {
                    if seq < self.count && holds(seq)? {
                        return Ok(Some(seq));
                    }
                }
                table.indexed.min(self.count)
            }
            None => 0,
        };
        for seq in indexed..self.count {
            if holds(seq)? {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }

    /// The records whose event holds `value` in the indexed payload field `field`
    /// (as [`evidentia::lookup_terms`] decides), in ascending order: candidates from
    /// the field index (its chain, newest first), each read and checked
    /// (fingerprints may collide), and the records the index does not cover yet
    /// read one by one.
    pub(crate) fn find(&self, field: &str, value: &str) -> Result<Vec<u64>> {
        if !self.config.index_fields.iter().any(|f| f == field) {
            return Err(Error::new(
                ErrorCode::FieldNotIndexed,
                format!("the log does not index the field '{field}' (add it with `evidentia log index`)"),
            ));
        }
        let holds = |seq: u64| -> Result<bool> { Ok(fields::holds(self.entry(seq)?.event(), field, value)) };
        let mut found = Vec::new();
        // A chain that is not one the store writes: the records are read instead.
        let candidates = match self.fields {
            Some(index) => index.find(&fields::fingerprint(field, value))?.map(|c| (c, index.indexed())),
            None => None,
        };
        let indexed = match candidates {
            Some((mut candidates, indexed)) => {
                candidates.reverse();
                for seq in candidates {
                    if seq < self.count && holds(seq)? {
                        found.push(seq);
                    }
                }
                indexed.min(self.count)
            }
            None => 0,
        };
        found.retain(|seq| *seq < indexed);
        for seq in indexed..self.count {
            if holds(seq)? {
                found.push(seq);
            }
        }
        Ok(found)
    }
}
