//! C2SP tlog-tiles (c2sp.org/tlog-tiles, SPEC.md §24): a log served as static
//! files. The Merkle tree is cut into tiles of 256 hashes, and the entries into
//! bundles of 256, each entry preceded by its length as a big-endian uint16.
//! This module names the files and encodes and decodes them; it reads nothing, so
//! any store or transport can fetch them.

use crate::merkle::{Hash, NodeSource, node_hash};
use crate::{Error, ErrorCode, Result};

/// Hashes in a full tile, and entries in a full bundle.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels one tile level spans: a tile is a subtree of height 8.
pub const TILE_HEIGHT: u32 = 8;
/// The longest entry a bundle can hold (its length is a uint16).
pub const MAX_ENTRY: usize = u16::MAX as usize;

/// One tile or entry bundle: its level (entry bundles sit with the level-0 tiles),
/// its index within the level, and its width, 256 for a full tile and 1 to 255 for
/// a partial one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tile {
    /// The tile level: its hashes are tree nodes at level `8 × level`.
    pub level: u32,
    /// The tile's index within its level.
    pub index: u64,
    /// How many hashes (or entries) it holds.
    pub width: u32,
}

impl Tile {
    /// Whether the tile holds all 256 hashes; only full tiles are final.
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The tile's path below the log's prefix: `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!("tile/{}/{}", self.level, self.suffix())
    }

    /// The path of the level-0 tile's entry bundle: `tile/entries/<N>[.p/<W>]`.
    pub fn entries_path(&self) -> String {
        format!("tile/entries/{}", self.suffix())
    }

    /// The index in zero-padded groups of three digits, all but the last prefixed
    /// with `x` (1234067 is `x001/x234/067`), then `.p/<W>` for a partial tile.
    fn suffix(&self) -> String {
        let mut groups = Vec::new();
        let mut rest = self.index;
        loop {
            groups.push(rest % 1000);
            rest /= 1000;
            if rest == 0 {
                break;
            }
        }
        let last = groups.len() - 1;
        let mut path = String::new();
        for (i, group) in groups.iter().rev().enumerate() {
            match i == last {
                true => path.push_str(&format!("{group:03}")),
                false => path.push_str(&format!("x{group:03}/")),
            }
        }
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// The leaves a full tile's hashes, or a full bundle's entries, start at:
    /// hash `i` of tile `(l, n)` is the tree node at level `8l`, index `256n + i`.
    pub fn first_node(&self) -> u64 {
        self.index * TILE_WIDTH
    }
}

/// The number of tree nodes at `level` (of whole subtrees of `2^level` leaves) in a
/// tree of `size` leaves.
fn nodes_at(size: u64, level: u32) -> u64 {
    size.checked_shr(level).unwrap_or(0)
}

/// The tiles of a tree of `size` leaves at tile level `level` from tile `from` on:
/// every full one, then the partial one if there is one.
pub fn tiles_at(size: u64, level: u32, from: u64) -> impl Iterator<Item = Tile> {
    let hashes = nodes_at(size, level * TILE_HEIGHT);
    let full = hashes / TILE_WIDTH;
    let partial = (hashes % TILE_WIDTH) as u32;
    let fulls = (from..full).map(move |index| Tile { level, index, width: TILE_WIDTH as u32 });
    let last = (partial > 0 && from <= full).then_some(Tile { level, index: full, width: partial });
    fulls.chain(last)
}

/// The tile levels a tree of `size` leaves has: one more than the highest level
/// holding a hash.
pub fn tile_levels(size: u64) -> u32 {
    (0..).find(|&level| nodes_at(size, level * TILE_HEIGHT) == 0).unwrap_or(0)
}

/// The tile at tile level `level` that holds node `node` (at tree level `8 × level`)
/// in a tree of `size` leaves, or `None` when the tree has no such node.
pub fn tile_of(size: u64, level: u32, node: u64) -> Option<Tile> {
    let index = node / TILE_WIDTH;
    tiles_at(size, level, index)
        .next()
        .filter(|tile| tile.index == index && node < tile.first_node() + u64::from(tile.width))
}

/// The tile hashes leaf `leaf` completes at tile levels 1 and up: `(level, node)`
/// for each level whose node `node` ends with that leaf.
pub fn tile_hashes_completed_by(leaf: u64) -> impl Iterator<Item = (u32, u64)> {
    let next = leaf + 1;
    (1..).map_while(move |level: u32| {
        let span = level * TILE_HEIGHT;
        (span < u64::BITS && next.trailing_zeros() >= span).then(|| (level, (next >> span) - 1))
    })
}

/// The root of a perfect subtree from its hashes at one level, a power of two of
/// them, hashed pairwise as nodes: for a full tile's 256 hashes, the hash of the
/// tile one level up. An empty slice gives the hash of no leaves.
pub fn subtree_root(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.is_empty() || hashes.len().is_power_of_two());
    let mut row = hashes.to_vec();
    while row.len() > 1 {
        row = row.chunks_exact(2).map(|pair| node_hash(&pair[0], &pair[1])).collect();
    }
    row.first().copied().unwrap_or_else(crate::merkle::empty_root)
}

fn malformed(what: &str, why: String) -> Error {
    Error::new(ErrorCode::LogCorrupt, format!("{what}: {why}"))
}

/// An entry bundle of `entries`.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for an entry longer than 65,535 bytes, which a
/// bundle cannot hold.
pub fn encode_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>> {
    let mut bundle = Vec::new();
    for entry in entries {
        let len = u16::try_from(entry.len()).map_err(|_| {
            Error::new(
                ErrorCode::InvalidArgument,
                format!("an entry of {} bytes is longer than the {MAX_ENTRY} an entry bundle can hold", entry.len()),
            )
        })?;
        bundle.extend_from_slice(&len.to_be_bytes());
        bundle.extend_from_slice(entry);
    }
    Ok(bundle)
}

/// The entries of `tile`'s bundle: exactly `tile.width` of them, nothing after.
///
/// # Errors
/// [`ErrorCode::LogCorrupt`] for a bundle that does not hold exactly that.
pub fn decode_bundle(tile: &Tile, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let what = tile.entries_path();
    let mut entries = Vec::with_capacity(tile.width as usize);
    let mut rest = bytes;
    while let [high, low, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*high, *low]));
        if tail.len() < len {
            return Err(malformed(&what, format!("entry {} is cut short", entries.len())));
        }
        entries.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    if !rest.is_empty() || entries.len() != tile.width as usize {
        let why = format!("it holds {} entries and {} bytes more, not {}", entries.len(), rest.len(), tile.width);
        return Err(malformed(&what, why));
    }
    Ok(entries)
}

/// The hashes of `tile`: exactly `32 × tile.width` bytes.
///
/// # Errors
/// [`ErrorCode::LogCorrupt`] for a tile of any other length.
pub fn decode_tile(tile: &Tile, bytes: &[u8]) -> Result<Vec<Hash>> {
    if bytes.len() != 32 * tile.width as usize {
        let why = format!("{} bytes, not the {} of {} hashes", bytes.len(), 32 * tile.width, tile.width);
        return Err(malformed(&tile.path(), why));
    }
    Ok(bytes.chunks_exact(32).map(|h| h.try_into().unwrap_or([0; 32])).collect())
}

/// The perfect-subtree hashes of a tree of `size` leaves read from its tiles, for
/// [`crate::merkle::root`] and the proofs: a node at tree level `8l + r` is the
/// hash of `2^r` neighbouring hashes of one tile at tile level `l`.
pub struct TileNodes<F> {
    size: u64,
    fetch: F,
}

impl<F> std::fmt::Debug for TileNodes<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileNodes").field("size", &self.size).finish_non_exhaustive()
    }
}

impl<F: Fn(&Tile) -> Result<Vec<Hash>>> TileNodes<F> {
    /// A tree of `size` leaves whose tiles `fetch` reads and decodes.
    pub fn new(size: u64, fetch: F) -> TileNodes<F> {
        TileNodes { size, fetch }
    }
}

impl<F: Fn(&Tile) -> Result<Vec<Hash>>> NodeSource for TileNodes<F> {
    fn size(&self) -> u64 {
        self.size
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let (tile_level, rise) = (level / TILE_HEIGHT, level % TILE_HEIGHT);
        let first = index << rise;
        let missing = || malformed("tiles", format!("the tree of {} leaves has no node ({level}, {index})", self.size));
        let tile = tile_of(self.size, tile_level, first).ok_or_else(missing)?;
        let hashes = (self.fetch)(&tile)?;
        let start = (first - tile.first_node()) as usize;
        let row = hashes.get(start..start + (1 << rise)).ok_or_else(missing)?;
        Ok(subtree_root(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{Accumulator, leaf_hash, root};
    use std::collections::HashMap;

    fn tile(level: u32, index: u64, width: u32) -> Tile {
        Tile { level, index, width }
    }

    #[test]
    fn paths_follow_the_spec() {
        assert_eq!(tile(0, 1234067, 256).path(), "tile/0/x001/x234/067");
        assert_eq!(tile(1, 0, 17).path(), "tile/1/000.p/17");
        assert_eq!(tile(0, 1000, 256).entries_path(), "tile/entries/x001/000");
        assert_eq!(tile(0, 7, 3).entries_path(), "tile/entries/007.p/3");
    }

    #[test]
    fn a_tree_of_70000_leaves_has_the_tiles_the_spec_lists() {
        // "273 full level 0 tiles, one partial level 0 tile of width 112, one full
        // level 1 tile, one partial level 1 tile of width 17, and one partial level
        // 2 tile of width 1."
        let level0: Vec<Tile> = tiles_at(70_000, 0, 0).collect();
        assert_eq!(level0.len(), 274);
        assert!(level0[..273].iter().all(Tile::is_full));
        assert_eq!(level0[273], tile(0, 273, 112));
        assert_eq!(tiles_at(70_000, 1, 0).collect::<Vec<_>>(), [tile(1, 0, 256), tile(1, 1, 17)]);
        assert_eq!(tiles_at(70_000, 2, 0).collect::<Vec<_>>(), [tile(2, 0, 1)]);
        assert_eq!(tile_levels(70_000), 3);
        // "a tree of size 256 will be represented by a full level 0 tile and a
        // partial level 1 tile of width 1"
        assert_eq!(tiles_at(256, 0, 0).collect::<Vec<_>>(), [tile(0, 0, 256)]);
        assert_eq!(tiles_at(256, 1, 0).collect::<Vec<_>>(), [tile(1, 0, 1)]);
        assert_eq!(tile_levels(0), 0);
        assert_eq!(tiles_at(600, 0, 2).collect::<Vec<_>>(), [tile(0, 2, 88)]);
        assert_eq!(tiles_at(512, 0, 2).count(), 0);
    }

    #[test]
    fn bundles_round_trip_and_refuse_what_is_not_exactly_the_width() {
        let entries: [&[u8]; 3] = [b"a", b"", &[7u8; 300]];
        let bundle = encode_bundle(entries).unwrap();
        assert_eq!(&bundle[..3], &[0, 1, b'a']);
        let t = tile(0, 0, 3);
        assert_eq!(decode_bundle(&t, &bundle).unwrap(), entries.map(<[u8]>::to_vec));
        for bad in [&bundle[..bundle.len() - 1], &[bundle.as_slice(), &[0]].concat()] {
            assert_eq!(decode_bundle(&t, bad).unwrap_err().code(), ErrorCode::LogCorrupt);
        }
        assert_eq!(decode_bundle(&tile(0, 0, 4), &bundle).unwrap_err().code(), ErrorCode::LogCorrupt);
        let long = vec![0u8; MAX_ENTRY + 1];
        assert_eq!(encode_bundle([long.as_slice()]).unwrap_err().code(), ErrorCode::InvalidArgument);
        assert_eq!(encode_bundle([&long[1..]]).unwrap().len(), MAX_ENTRY + 2);
    }

    #[test]
    fn tile_hashes_completed_by_a_leaf() {
        assert_eq!(tile_hashes_completed_by(254).count(), 0);
        assert_eq!(tile_hashes_completed_by(255).collect::<Vec<_>>(), [(1, 0)]);
        assert_eq!(tile_hashes_completed_by(511).collect::<Vec<_>>(), [(1, 1)]);
        assert_eq!(tile_hashes_completed_by(65_535).collect::<Vec<_>>(), [(1, 255), (2, 0)]);
        assert_eq!(tile_hashes_completed_by((1 << 56) - 1).count(), 7);
        assert_eq!(tile_hashes_completed_by(u64::MAX - 1).count(), 0);
    }

    #[test]
    fn roots_from_tiles_equal_roots_from_leaves() {
        let leaves: Vec<Hash> = (0..70_000u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        // Every node, as the tree completes them.
        let mut nodes = HashMap::new();
        let mut tree = Accumulator::new();
        for leaf in &leaves {
            tree.push_with(*leaf, |level, index, hash| {
                nodes.insert((level, index), *hash);
            });
        }
        for size in [1u64, 255, 256, 257, 65_535, 65_536, 65_537, 70_000] {
            let fetch = |t: &Tile| -> Result<Vec<Hash>> {
                assert!(tiles_at(size, t.level, t.index).next() == Some(*t), "{t:?} is not a tile of {size}");
                let first = t.first_node();
                Ok((first..first + u64::from(t.width)).map(|i| nodes[&(t.level * TILE_HEIGHT, i)]).collect())
            };
            let tiles = TileNodes::new(size, fetch);
            let mut expected = Accumulator::new();
            leaves[..size as usize].iter().for_each(|leaf| expected.push(*leaf));
            assert_eq!(root(&tiles, size).unwrap(), expected.root(), "size {size}");
        }
    }
}
