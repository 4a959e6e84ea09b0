//! RFC 6962 / RFC 9162 Merkle trees: hashing, inclusion and consistency proofs
//! (generation and verification), and an accumulator that builds a tree leaf by
//! leaf in O(log n) memory.
//!
//! Proof generation works over any [`NodeSource`]: a store of the hashes of the
//! tree's *perfect* subtrees (those covering 2^level leaves starting at a multiple
//! of 2^level). Every RFC 9162 proof element is either such a node or the hash of
//! a right-edge range, which is computed from O(log n) perfect nodes, so proofs
//! need O(log n) node reads however large the tree.

use sha2::{Digest as _, Sha256};

use crate::encoding::{b64, b64_decode};
use crate::error::{Error, ErrorCode, Result};
use crate::json::{Number, Value, parse};
use crate::keys::canonical_text;

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// SHA-256 of the empty string: the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A hash given as bytes by a caller (a root hash from another language).
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] unless there are exactly 32 bytes.
pub fn hash_from_slice(bytes: &[u8]) -> Result<Hash> {
    bytes.try_into().map_err(|_| Error::new(ErrorCode::InvalidArgument, "a root hash is 32 bytes"))
}

/// The hash of a leaf: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buffer = [0u8; 65];
    buffer[0] = 1;
    buffer[1..33].copy_from_slice(left);
    buffer[33..].copy_from_slice(right);
    Sha256::digest(buffer).into()
}

fn malformed(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::ProofMalformed, message)
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// A store of perfect-subtree hashes: level 0 holds the leaf hashes, and the node
/// at `(level, index)` covers leaves `index·2^level .. (index+1)·2^level`.
pub trait NodeSource {
    /// The number of leaves stored.
    fn size(&self) -> u64;

    /// The hash of the perfect subtree at `(level, index)`, which must lie within
    /// [`NodeSource::size`].
    ///
    /// # Errors
    /// Whatever reading the store fails with.
    fn node(&self, level: u32, index: u64) -> Result<Hash>;
}

/// The root hash of the leaves `lo..hi` (MTH of RFC 9162 §2.1.1).
fn range_hash(source: &impl NodeSource, lo: u64, hi: u64) -> Result<Hash> {
    let n = hi - lo;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return source.node(n.trailing_zeros(), lo >> n.trailing_zeros());
    }
    let k = split(n);
    Ok(node_hash(&range_hash(source, lo, lo + k)?, &range_hash(source, lo + k, hi)?))
}

fn check_size(source: &impl NodeSource, size: u64) -> Result<()> {
    if size > source.size() {
        return Err(malformed(format!("tree size {size} is larger than the log ({})", source.size())));
    }
    Ok(())
}

/// The root hash of the first `size` leaves.
///
/// # Errors
/// [`ErrorCode::ProofMalformed`] when `size` exceeds the stored leaves.
pub fn root(source: &impl NodeSource, size: u64) -> Result<Hash> {
    check_size(source, size)?;
    range_hash(source, 0, size)
}

/// The inclusion proof (audit path, RFC 9162 §2.1.3.1) of leaf `index` in the tree
/// of the first `size` leaves, from the leaf upwards.
///
/// # Errors
/// [`ErrorCode::ProofMalformed`] when `index >= size` or `size` exceeds the stored leaves.
pub fn inclusion_proof(source: &impl NodeSource, index: u64, size: u64) -> Result<Vec<Hash>> {
    check_size(source, size)?;
    if index >= size {
        return Err(malformed(format!("leaf index {index} is not below the tree size {size}")));
    }
    let mut path = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0, size);
    // Walk down from the root, collecting siblings; the path lists them bottom-up.
    while hi - lo > 1 {
        let k = split(hi - lo);
        if index < lo + k {
            path.push(range_hash(source, lo + k, hi)?);
            hi = lo + k;
        } else {
            path.push(range_hash(source, lo, lo + k)?);
            lo += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof (RFC 9162 §2.1.4.1) between the trees of the first `old`
/// and the first `new` leaves.
///
/// # Errors
/// [`ErrorCode::ProofMalformed`] unless `0 < old <= new <= size of the store`.
pub fn consistency_proof(source: &impl NodeSource, old: u64, new: u64) -> Result<Vec<Hash>> {
    check_size(source, new)?;
    if old == 0 {
        return Err(malformed("a consistency proof from the empty tree is not defined"));
    }
    if old > new {
        return Err(malformed(format!("the old tree size {old} is larger than the new one {new}")));
    }
    let mut proof = Vec::with_capacity(64);
    // SUBPROOF(m, D[lo..hi], b), unrolled: it only ever recurses into one side.
    let (mut m, mut lo, mut hi, mut complete) = (old, 0, new, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !complete {
                proof.push(range_hash(source, lo, hi)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            proof.push(range_hash(source, lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(range_hash(source, lo, lo + k)?);
            lo += k;
            m -= k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

fn invalid_inclusion() -> Error {
    Error::new(
        ErrorCode::InclusionProofInvalid,
        "the inclusion proof does not lead from the record to the checkpoint's root hash",
    )
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2): that the leaf with hash
/// `leaf` is at `index` in the tree of `size` leaves whose root is `root`.
///
/// # Errors
/// [`ErrorCode::ProofMalformed`] when `index >= size`;
/// [`ErrorCode::InclusionProofInvalid`] when the proof does not verify.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &[u8]) -> Result<()> {
    if index >= size {
        return Err(malformed(format!("leaf index {index} is not below the tree size {size}")));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(invalid_inclusion());
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 || r.as_slice() != root {
        return Err(invalid_inclusion());
    }
    Ok(())
}

fn invalid_consistency() -> Error {
    Error::new(
        ErrorCode::ConsistencyProofInvalid,
        "the consistency proof does not show that the older tree is a prefix of the newer one",
    )
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2): that the tree of `old` leaves
/// with root `old_root` is a prefix of the tree of `new` leaves with root
/// `new_root`. Equal sizes need an empty proof and equal roots.
///
/// # Errors
/// [`ErrorCode::ProofMalformed`] when `old` is 0 (there is nothing to be consistent
/// with, so such a proof is refused) or `old > new`;
/// [`ErrorCode::ConsistencyProofInvalid`] when the proof does not verify.
pub fn verify_consistency(old: u64, new: u64, old_root: &[u8], new_root: &[u8], proof: &[Hash]) -> Result<()> {
    if old == 0 {
        return Err(malformed("a consistency proof from the empty tree is not defined"));
    }
    if old > new {
        return Err(malformed(format!("the old tree size {old} is larger than the new one {new}")));
    }
    if old == new {
        if !proof.is_empty() || old_root != new_root {
            return Err(invalid_consistency());
        }
        return Ok(());
    }
    let (first, rest): (&Hash, &[Hash]) = if old.is_power_of_two() {
        // The old root is itself a node of the new tree: the proof starts above it.
        let Ok(old_root) = <&Hash>::try_from(old_root) else {
            return Err(invalid_consistency());
        };
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some(split) => split,
            None => return Err(invalid_consistency()),
        }
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(invalid_consistency());
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 || fr.as_slice() != old_root || sr.as_slice() != new_root {
        return Err(invalid_consistency());
    }
    Ok(())
}

/// Builds a tree leaf by leaf, keeping only the roots of the perfect subtrees on
/// its right edge (a "compact range"): O(log n) memory for any number of leaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accumulator {
    size: u64,
    /// Roots of the perfect subtrees covering `0..size`, largest (leftmost) first;
    /// their sizes are the set bits of `size`.
    peaks: Vec<Hash>,
}

impl Accumulator {
    /// An empty tree.
    pub fn new() -> Accumulator {
        Accumulator::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Resumes a tree of `size` leaves from the roots of its right-edge perfect
    /// subtrees, largest first: one per set bit of `size`.
    ///
    /// # Panics
    /// Never; a wrong number of peaks is a caller's defect and yields a tree whose
    /// roots will not match (debug builds assert it).
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Accumulator {
        debug_assert_eq!(peaks.len(), size.count_ones() as usize);
        Accumulator { size, peaks }
    }

    /// The roots of the right-edge perfect subtrees, largest first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Adds a leaf by its hash, and calls `completed(level, index, hash)` for every
    /// perfect subtree it completes, from level 0 upwards.
    pub fn push_with(&mut self, leaf: Hash, mut completed: impl FnMut(u32, u64, &Hash)) {
        let index = self.size;
        completed(0, index, &leaf);
        let mut hash = leaf;
        let mut level = 0;
        // Each trailing one bit of the old size is a peak of equal size to merge.
        while (index >> level) & 1 == 1 {
            let left = self.peaks.pop().unwrap_or_default();
            hash = node_hash(&left, &hash);
            level += 1;
            completed(level, index >> level, &hash);
        }
        self.peaks.push(hash);
        self.size += 1;
    }

    /// Adds a leaf by its hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_with(leaf, |_, _, _| {});
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        match peaks.next() {
            None => empty_root(),
            Some(last) => peaks.fold(*last, |right, left| node_hash(left, &right)),
        }
    }
}

/// A Merkle tree held in memory, every perfect-subtree hash kept: for small trees,
/// tests, and proofs over data that is not in a store.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    accumulator: Accumulator,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    /// A tree of these leaf hashes.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends a leaf by its hash.
    pub fn push(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.accumulator.push_with(leaf, |level, _, hash| {
            let level = level as usize;
            if levels.len() <= level {
                levels.push(Vec::new());
            }
            levels[level].push(*hash);
        });
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.accumulator.root()
    }
}

impl NodeSource for MemoryTree {
    fn size(&self) -> u64 {
        self.accumulator.size()
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        self.levels
            .get(level as usize)
            .and_then(|nodes| nodes.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or_else(|| Error::new(ErrorCode::Internal, format!("no tree node at level {level}, index {index}")))
    }
}

/// An inclusion proof with what it proves: leaf `leaf_index` is in the tree of
/// `tree_size` leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf's position, from 0.
    pub leaf_index: u64,
    /// The size of the tree the proof leads to.
    pub tree_size: u64,
    /// The audit path, bottom-up.
    pub hashes: Vec<Hash>,
}

/// A consistency proof between two tree sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The older tree's size.
    pub old_size: u64,
    /// The newer tree's size.
    pub new_size: u64,
    /// The proof, RFC 9162 order.
    pub hashes: Vec<Hash>,
}

fn count(n: u64) -> Result<Value> {
    i64::try_from(n)
        .ok()
        .and_then(|n| Number::from_i64(n).ok())
        .map(Value::Number)
        .ok_or_else(|| malformed("a tree size or index is beyond 2^53"))
}

fn hashes_value(hashes: &[Hash]) -> Value {
    Value::Array(hashes.iter().map(|h| Value::String(b64(h))).collect())
}

/// Reads a proof's `hashes`: an array of standard base64 strings of 32 bytes.
fn read_hashes(value: &Value) -> Result<Vec<Hash>> {
    value
        .get("hashes")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("a proof needs 'hashes', an array"))?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(b64_decode)
                .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
                .ok_or_else(|| malformed("a proof hash is not 32 bytes of base64"))
        })
        .collect()
}

fn read_count(value: &Value, name: &str) -> Result<u64> {
    value
        .get(name)
        .and_then(Value::as_number)
        .and_then(Number::as_safe_u64)
        .ok_or_else(|| malformed(format!("a proof needs '{name}', a non-negative integer")))
}

/// Reads a proof's JSON (any formatting) and checks its members: exactly
/// `type`, `hashes` and the two counts of its kind (SPEC.md §9).
fn read_proof(text: &str, kind: &str) -> Result<Value> {
    let value = parse(text.as_bytes()).map_err(|e| malformed(format!("the proof is not valid JSON: {e}")))?;
    check_proof_members(&value, kind)?;
    Ok(value)
}

fn check_proof_members(value: &Value, kind: &str) -> Result<()> {
    if value.get("type").and_then(Value::as_str) != Some(kind) {
        return Err(malformed(format!("not an {kind} proof (its 'type' is not {kind:?})")));
    }
    let counts: [&str; 2] = if kind == "inclusion" { ["leaf_index", "tree_size"] } else { ["new_size", "old_size"] };
    let members = value.as_object().unwrap_or_default();
    if members.len() != 4
        || !members
            .iter()
            .all(|(name, _)| ["hashes", "type"].contains(&name.as_str()) || counts.contains(&name.as_str()))
    {
        return Err(malformed(format!(
            "an {kind} proof has exactly the members 'hashes', '{}', '{}' and 'type'",
            counts[0], counts[1]
        )));
    }
    Ok(())
}

impl InclusionProof {
    /// The proof as canonical JSON: `{"hashes":[...],"leaf_index":i,"tree_size":n,"type":"inclusion"}`.
    ///
    /// # Errors
    /// [`ErrorCode::ProofMalformed`] for sizes beyond 2^53.
    pub fn to_json(&self) -> Result<String> {
        Ok(canonical_text(&self.to_value()?))
    }

    pub(crate) fn to_value(&self) -> Result<Value> {
        Ok(Value::object([
            ("hashes", hashes_value(&self.hashes)),
            ("leaf_index", count(self.leaf_index)?),
            ("tree_size", count(self.tree_size)?),
            ("type", Value::from("inclusion")),
        ]))
    }

    /// Reads a proof from its JSON form.
    ///
    /// # Errors
    /// [`ErrorCode::ProofMalformed`].
    pub fn from_json(text: &str) -> Result<InclusionProof> {
        InclusionProof::from_value(&read_proof(text, "inclusion")?)
    }

    pub(crate) fn from_value(value: &Value) -> Result<InclusionProof> {
        check_proof_members(value, "inclusion")?;
        let proof = InclusionProof {
            leaf_index: read_count(value, "leaf_index")?,
            tree_size: read_count(value, "tree_size")?,
            hashes: read_hashes(value)?,
        };
        if proof.leaf_index >= proof.tree_size {
            return Err(malformed("the leaf index is not below the tree size"));
        }
        Ok(proof)
    }

    /// Verifies that `leaf` (a leaf hash) is at this position under `root`.
    ///
    /// # Errors
    /// As [`verify_inclusion`].
    pub fn verify(&self, leaf: &Hash, root: &Hash) -> Result<()> {
        verify_inclusion(leaf, self.leaf_index, self.tree_size, &self.hashes, root)
    }
}

impl ConsistencyProof {
    /// The proof as canonical JSON: `{"hashes":[...],"new_size":n,"old_size":m,"type":"consistency"}`.
    ///
    /// # Errors
    /// [`ErrorCode::ProofMalformed`] for sizes beyond 2^53.
    pub fn to_json(&self) -> Result<String> {
        Ok(canonical_text(&Value::object([
            ("hashes", hashes_value(&self.hashes)),
            ("new_size", count(self.new_size)?),
            ("old_size", count(self.old_size)?),
            ("type", Value::from("consistency")),
        ])))
    }

    /// Reads a proof from its JSON form.
    ///
    /// # Errors
    /// [`ErrorCode::ProofMalformed`].
    pub fn from_json(text: &str) -> Result<ConsistencyProof> {
        let value = read_proof(text, "consistency")?;
        let proof = ConsistencyProof {
            old_size: read_count(&value, "old_size")?,
            new_size: read_count(&value, "new_size")?,
            hashes: read_hashes(&value)?,
        };
        // Refused when read, before any checkpoint is looked at, as an inclusion
        // proof's index beyond its size is.
        if proof.old_size == 0 {
            return Err(malformed("a consistency proof from the empty tree is not defined"));
        }
        if proof.old_size > proof.new_size {
            return Err(malformed(format!(
                "the old tree size {} is larger than the new one {}",
                proof.old_size, proof.new_size
            )));
        }
        Ok(proof)
    }

    /// Verifies the proof between two roots.
    ///
    /// # Errors
    /// As [`verify_consistency`].
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<()> {
        verify_consistency(self.old_size, self.new_size, old_root, new_root, &self.hashes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> MemoryTree {
        MemoryTree::from_leaf_hashes((0..n).map(|i| leaf_hash(&i.to_be_bytes())))
    }

    /// MTH straight from RFC 9162's recursive definition.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_the_recursive_definition_at_every_size() {
        let tree = leaves(70);
        let hashes: Vec<Hash> = (0..70).map(|i| tree.node(0, i).unwrap()).collect();
        for size in 0..=70 {
            assert_eq!(root(&tree, size).unwrap(), reference_root(&hashes[..size as usize]), "size {size}");
        }
        assert_eq!(tree.root(), reference_root(&hashes));
    }

    #[test]
    fn every_proof_of_small_trees_verifies() {
        let tree = leaves(33);
        for size in 1..=33 {
            let r = root(&tree, size).unwrap();
            for index in 0..size {
                let proof = inclusion_proof(&tree, index, size).unwrap();
                verify_inclusion(&tree.node(0, index).unwrap(), index, size, &proof, &r).unwrap();
            }
            for old in 1..=size {
                let proof = consistency_proof(&tree, old, size).unwrap();
                verify_consistency(old, size, &root(&tree, old).unwrap(), &r, &proof).unwrap();
            }
        }
    }

    #[test]
    fn proofs_round_trip_through_json() {
        let tree = leaves(10);
        let proof = InclusionProof { leaf_index: 3, tree_size: 10, hashes: inclusion_proof(&tree, 3, 10).unwrap() };
        assert_eq!(InclusionProof::from_json(&proof.to_json().unwrap()).unwrap(), proof);
        let proof = ConsistencyProof { old_size: 3, new_size: 10, hashes: consistency_proof(&tree, 3, 10).unwrap() };
        assert_eq!(ConsistencyProof::from_json(&proof.to_json().unwrap()).unwrap(), proof);
        for bad in [
            "",
            "{}",
            r#"{"type":"inclusion"}"#,
            r#"{"type":"inclusion","leaf_index":5,"tree_size":5,"hashes":[]}"#,
            r#"{"type":"inclusion","leaf_index":0,"tree_size":5,"hashes":["AAAA"]}"#,
        ] {
            assert_eq!(InclusionProof::from_json(bad).unwrap_err().code(), ErrorCode::ProofMalformed, "{bad}");
        }
    }
}
