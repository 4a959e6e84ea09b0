//! The tree file: every perfect-subtree hash of the log's Merkle tree, in the order
//! the nodes complete, so that proofs need O(log n) reads and no rebuilding.
//!
//! Leaf `j` completes the nodes `(0, j)`, `(1, j/2)` (when `j` is odd), ... — one
//! per trailing one bit of `j`, plus the leaf. Before leaf `j`, leaves `0..j` have
//! completed `2j − popcount(j)` nodes, so node `(level, index)`, completed by leaf
//! `j = (index + 1)·2^level − 1`, is at position `2j − popcount(j) + level`.

use std::fs::File;
use std::path::Path;

use evidentia::merkle::{Accumulator, Hash, NodeSource};
use evidentia::{Error, ErrorCode, Result};

use crate::{io_error, read_at, write_at};

const HASH: u64 = 32;
/// A reader keeps the nodes of this level and above in memory (one in 512 of all
/// nodes), so a proof reads the file only for the levels below.
const CACHED_LEVEL: u32 = 9;

/// Nodes completed by the first `leaves` leaves.
pub(crate) fn nodes_for(leaves: u64) -> u64 {
    2 * leaves - u64::from(leaves.count_ones())
}

/// The position of node `(level, index)` in the file.
fn position(level: u32, index: u64) -> u64 {
    let j = ((index + 1) << level) - 1;
    nodes_for(j) + u64::from(level)
}

/// A tree file opened for reading (and, by the writer, for appending).
#[derive(Debug)]
pub(crate) struct TreeFile {
    file: File,
    leaves: u64,
    accumulator: Accumulator,
    /// Nodes completed but not yet written.
    pending: Vec<u8>,
    /// For readers: every node at level `CACHED_LEVEL + i` in `cached[i]`.
    cached: Vec<Vec<Hash>>,
}

impl TreeFile {
    /// Opens a tree file holding the nodes of `leaves` leaves, which it must.
    pub(crate) fn open(path: &Path, leaves: u64, writable: bool) -> Result<TreeFile> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(writable)
            .create(writable)
            .truncate(false)
            .open(path)
            .map_err(|e| io_error("open", path, &e))?;
        let mut tree =
            TreeFile { file, leaves, accumulator: Accumulator::new(), pending: Vec::new(), cached: Vec::new() };
        tree.accumulator = tree.accumulator_at(leaves)?;
        if !writable {
            let mut level = CACHED_LEVEL;
            while leaves >> level > 0 {
                let nodes = (0..leaves >> level).map(|index| tree.read(level, index)).collect::<Result<Vec<_>>>()?;
                tree.cached.push(nodes);
                level += 1;
            }
        }
        Ok(tree)
    }

    /// The number of whole nodes in the file.
    pub(crate) fn stored_nodes(path: &Path) -> Result<u64> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(meta.len() / HASH),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(io_error("read", path, &e)),
        }
    }

    /// The right edge of the tree of the first `leaves` leaves, read from the file.
    fn accumulator_at(&self, leaves: u64) -> Result<Accumulator> {
        let mut peaks = Vec::new();
        let mut start = 0;
        for level in (0..64).rev() {
            if leaves >> level & 1 == 1 {
                peaks.push(self.read(level, start >> level)?);
                start += 1 << level;
            }
        }
        Ok(Accumulator::from_peaks(leaves, peaks))
    }

    fn read(&self, level: u32, index: u64) -> Result<Hash> {
        let mut hash = [0u8; 32];
        read_at(&self.file, &mut hash, position(level, index) * HASH)
            .map_err(|e| Error::new(ErrorCode::LogCorrupt, format!("the tree file lacks node {level}/{index}: {e}")))?;
        Ok(hash)
    }

    /// Adds a leaf; its nodes are written by [`TreeFile::write_pending`].
    pub(crate) fn push(&mut self, leaf: Hash) {
        let pending = &mut self.pending;
        self.accumulator.push_with(leaf, |_, _, hash| pending.extend_from_slice(hash));
        self.leaves += 1;
    }

    /// Writes the nodes of the leaves pushed since the last call.
    pub(crate) fn write_pending(&mut self, path: &Path) -> Result<()> {
        let offset = (nodes_for(self.leaves) - self.pending.len() as u64 / HASH) * HASH;
        write_at(&self.file, &self.pending, offset).map_err(|e| io_error("write", path, &e))?;
        self.pending.clear();
        Ok(())
    }

    /// Forgets leaves pushed since the last write (a failed append).
    pub(crate) fn discard_pending(&mut self, leaves: u64) -> Result<()> {
        self.pending.clear();
        self.leaves = leaves;
        self.accumulator = self.accumulator_at(leaves)?;
        Ok(())
    }

    /// Flushes written nodes to stable storage.
    pub(crate) fn sync(&self, path: &Path) -> Result<()> {
        self.file.sync_data().map_err(|e| io_error("flush", path, &e))
    }

    /// Cuts the file to the nodes of `leaves` leaves.
    pub(crate) fn truncate(path: &Path, leaves: u64) -> Result<()> {
        let file = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| io_error("open", path, &e))?;
        file.set_len(nodes_for(leaves) * HASH).map_err(|e| io_error("truncate", path, &e))
    }

    /// The root of the whole tree.
    pub(crate) fn root(&self) -> Hash {
        self.accumulator.root()
    }
}

impl NodeSource for TreeFile {
    fn size(&self) -> u64 {
        self.leaves
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        if ((index + 1) << level) > self.leaves {
            return Err(Error::new(ErrorCode::Internal, format!("tree node {level}/{index} is beyond the log")));
        }
        let cached = level.checked_sub(CACHED_LEVEL).and_then(|l| self.cached.get(l as usize));
        match cached.and_then(|nodes| nodes.get(index as usize)) {
            Some(hash) => Ok(*hash),
            None => self.read(level, index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_completion_order() {
        // Completion order for 8 leaves: (0,0) (0,1) (1,0) (0,2) (0,3) (1,1) (2,0) (0,4) ...
        let order = [
            (0, 0),
            (0, 1),
            (1, 0),
            (0, 2),
            (0, 3),
            (1, 1),
            (2, 0),
            (0, 4),
            (0, 5),
            (1, 2),
            (0, 6),
            (0, 7),
            (1, 3),
            (2, 1),
            (3, 0),
        ];
        for (i, &(level, index)) in order.iter().enumerate() {
            assert_eq!(position(level, index), i as u64, "({level},{index})");
        }
        assert_eq!(nodes_for(8), 15);
        assert_eq!(nodes_for(5), 8);
    }
}
