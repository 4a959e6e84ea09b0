//! The tree file: every perfect-subtree hash of the log's Merkle tree, in the order
//! the nodes complete, so that proofs need O(log n) reads and no rebuilding.
//!
//! Leaf `j` completes the nodes `(0, j)`, `(1, j/2)` (when `j` is odd), ... — one
//! per trailing one bit of `j`, plus the leaf. Before leaf `j`, leaves `0..j` have
//! completed `2j − popcount(j)` nodes, so node `(level, index)`, completed by leaf
//! `j = (index + 1)·2^level − 1`, is at position `2j − popcount(j) + level`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use evidentia::merkle::{Accumulator, Hash, NodeSource};
use evidentia::{Error, ErrorCode, Result};

use crate::fsio::{Fs, file_len, io_error, read_at, regular_or_missing};

const HASH: u64 = 32;
/// The nodes of this level and above (one in 512 of all nodes) are kept in memory,
/// so a proof reads the file only for the levels below.
const CACHED_LEVEL: u32 = 9;

/// Nodes completed by the first `leaves` leaves.
pub(crate) fn nodes_for(leaves: u64) -> u64 {
    // Saturating: a size no file can hold (from a hostile checkpoint) stays large.
    leaves.saturating_mul(2) - u64::from(leaves.count_ones())
}

/// The position of node `(level, index)` in the file.
fn position(level: u32, index: u64) -> u64 {
    let j = ((index + 1) << level) - 1;
    nodes_for(j) + u64::from(level)
}

/// The number of leaves whose nodes are all in a file of `nodes` nodes.
fn leaves_within(nodes: u64) -> u64 {
    // nodes_for is increasing and nodes_for(n) >= n, so the answer is at most `nodes`.
    let (mut low, mut high) = (0u64, nodes);
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if nodes_for(mid) <= nodes { low = mid } else { high = mid - 1 }
    }
    low
}

/// The number of leaves whose nodes are all stored in the tree file at `path`.
pub(crate) fn stored_leaves(path: &Path) -> Result<u64> {
    Ok(leaves_within(file_len(path)? / HASH))
}

/// A tree file opened for reading (and, by the writer, for appending).
#[derive(Debug)]
pub(crate) struct TreeFile {
    file: File,
    path: PathBuf,
    leaves: u64,
    accumulator: Accumulator,
    /// Nodes completed but not yet written.
    pending: Vec<u8>,
    /// Every node at level `CACHED_LEVEL + i` in `cached[i]`.
    cached: Vec<Vec<Hash>>,
}

impl TreeFile {
    /// Opens the tree file of a log of `leaves` leaves, whose nodes it must hold,
    /// for reading.
    pub(crate) fn open_read(path: &Path, leaves: u64) -> Result<TreeFile> {
        regular_or_missing(path)?;
        let file = File::open(path).map_err(|e| io_error("open", path, &e))?;
        TreeFile::with_file(file, path, leaves)
    }

    /// Opens (or creates) the tree file for appending after `leaves` leaves, whose
    /// nodes it must hold.
    pub(crate) fn open_write(fs: &Fs, path: &Path, leaves: u64) -> Result<TreeFile> {
        TreeFile::with_file(fs.open(path, true)?, path, leaves)
    }

    fn with_file(file: File, path: &Path, leaves: u64) -> Result<TreeFile> {
        let mut tree = TreeFile {
            file,
            path: path.to_owned(),
            leaves,
            accumulator: Accumulator::new(),
            pending: Vec::new(),
            cached: Vec::new(),
        };
        tree.accumulator = tree.accumulator_at(leaves)?;
        let mut level = CACHED_LEVEL;
        while leaves >> level > 0 {
            let nodes = (0..leaves >> level).map(|index| tree.read(level, index)).collect::<Result<Vec<_>>>()?;
            tree.cached.push(nodes);
            level += 1;
        }
        Ok(tree)
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
        let (pending, cached) = (&mut self.pending, &mut self.cached);
        self.accumulator.push_with(leaf, |level, _, hash| {
            pending.extend_from_slice(hash);
            if let Some(above) = level.checked_sub(CACHED_LEVEL) {
                if cached.len() <= above as usize {
                    cached.push(Vec::new());
                }
                cached[above as usize].push(*hash);
            }
        });
        self.leaves += 1;
    }

    /// Writes the nodes of the leaves pushed since the last call.
    pub(crate) fn write_pending(&mut self, fs: &Fs) -> Result<()> {
        let offset = (nodes_for(self.leaves) - self.pending.len() as u64 / HASH) * HASH;
        fs.write_at(&self.file, &self.path, &self.pending, offset)?;
        self.pending.clear();
        Ok(())
    }

    /// Flushes written nodes to stable storage.
    pub(crate) fn sync(&self, fs: &Fs) -> Result<()> {
        fs.sync(&self.file, &self.path)
    }

    /// Cuts the file after the nodes of its leaves, if it holds more.
    pub(crate) fn cut_beyond(&mut self, fs: &Fs) -> Result<()> {
        let needed = nodes_for(self.leaves) * HASH;
        if file_len(&self.path)? > needed {
            fs.set_len(&self.file, &self.path, needed)?;
        }
        Ok(())
    }

    /// The number of leaves.
    pub(crate) fn leaves(&self) -> u64 {
        self.leaves
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

/// Reads a tree file from the start, leaf by leaf: the stored nodes each leaf
/// completed, for checking them against the records.
#[derive(Debug)]
pub(crate) struct NodeStream {
    reader: Option<std::io::BufReader<File>>,
    /// Nodes in the file, whole.
    stored: u64,
    read: u64,
    leaf: u64,
}

impl NodeStream {
    /// Streams the nodes of the tree file at `path` (none if it does not exist) from
    /// those leaf `first` completes on; those of the first `durable` leaves only when
    /// that is given: nodes after them may be ones a power cut left unwritten, which
    /// the next writer rebuilds.
    pub(crate) fn open_from(path: &Path, durable: Option<u64>, first: u64) -> Result<NodeStream> {
        regular_or_missing(path)?;
        let mut reader = match File::open(path) {
            Ok(file) => Some(std::io::BufReader::with_capacity(1 << 16, file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error("open", path, &e)),
        };
        let stored = (file_len(path)? / HASH).min(durable.map_or(u64::MAX, nodes_for));
        let read = nodes_for(first).min(stored);
        if let Some(reader) = reader.as_mut() {
            std::io::Seek::seek(reader, std::io::SeekFrom::Start(read * HASH))
                .map_err(|e| io_error("read", path, &e))?;
        }
        Ok(NodeStream { reader, stored, read, leaf: first })
    }

    /// The nodes the next leaf completed, `(level, index, stored hash)`: the leaf
    /// itself, and one more per trailing one bit of its index. Nodes the file does
    /// not hold are left out.
    pub(crate) fn next_leaf(&mut self, out: &mut Vec<(u32, u64, Hash)>) {
        out.clear();
        let leaf = self.leaf;
        self.leaf += 1;
        for level in 0..=leaf.trailing_ones() {
            if self.read >= self.stored {
                continue;
            }
            let mut hash = [0u8; 32];
            match self.reader.as_mut().map(|r| r.read_exact(&mut hash)) {
                Some(Ok(())) => {
                    self.read += 1;
                    out.push((level, leaf >> level, hash));
                }
                _ => self.stored = self.read,
            }
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
        for leaves in 0..2000 {
            assert_eq!(leaves_within(nodes_for(leaves)), leaves);
            if leaves > 0 {
                assert_eq!(leaves_within(nodes_for(leaves) - 1), leaves - 1);
            }
        }
    }
}
