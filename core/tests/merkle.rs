//! RFC 6962 / 9162 Merkle trees: the transparency-dev probes, the Certificate
//! Transparency reference tree, rs_merkle as an independent oracle, and properties.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{read_json, str_of, unhex, vectors_dir};
use evidentia::json::Value;
use evidentia::merkle::{
    Hash, MemoryTree, NodeSource, consistency_proof, inclusion_proof, leaf_hash, node_hash, root, verify_consistency,
    verify_inclusion,
};
use evidentia::{ConsistencyProof, ErrorCode, InclusionProof};
use proptest::prelude::*;

fn b64(text: &str) -> Vec<u8> {
    evidentia::encoding::b64_decode(text).unwrap_or_else(|| panic!("bad base64 {text}"))
}

fn hash_list(value: Option<&Value>) -> Option<Vec<Hash>> {
    match value {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => {
            items.iter().map(|h| Hash::try_from(b64(h.as_str().unwrap()).as_slice()).ok()).collect()
        }
        Some(other) => panic!("unexpected proof {other:?}"),
    }
}

fn count(v: &Value, name: &str) -> u64 {
    v.get(name).and_then(Value::as_number).unwrap().as_safe_u64().unwrap()
}

fn probe_count(v: &Value, big: &[(String, u64)], name: &str) -> u64 {
    big.iter().find(|(n, _)| n == name).map_or_else(|| count(v, name), |(_, value)| *value)
}

/// Reads a probe. Go writes indices like `0 - 1` as 18446744073709551615, which no
/// JSON number can hold exactly; such members are read as u64 from the text and
/// replaced before parsing the rest.
fn read_probe(relative: &str) -> (Value, Vec<(String, u64)>) {
    let mut text = String::from_utf8(common::read(relative)).unwrap();
    let mut big = Vec::new();
    for name in ["leafIdx", "treeSize", "size1", "size2"] {
        let key = format!("\"{name}\": ");
        if let Some(start) = text.find(&key).map(|p| p + key.len()) {
            let end = start + text[start..].find(|c: char| !c.is_ascii_digit()).unwrap();
            let digits = text[start..end].to_owned();
            if digits.len() > 15 {
                big.push((name.to_owned(), digits.parse().unwrap()));
                text.replace_range(start..end, "0");
            }
        }
    }
    (evidentia::json::parse(text.as_bytes()).unwrap(), big)
}

/// A probe: its file, its JSON, and the members too large for a JSON number.
type Probe = (String, Value, Vec<(String, u64)>);

fn probes(kind: &str) -> Vec<Probe> {
    let mut out = Vec::new();
    let mut dirs = vec![vectors_dir().join("external/merkle/transparency-dev/testdata").join(kind)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path.strip_prefix(vectors_dir()).unwrap().to_string_lossy().into_owned();
                let (probe, big) = read_probe(&relative);
                out.push((relative, probe, big));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn want_err(probe: &Value) -> bool {
    probe.get("wantErr").and_then(Value::as_bool).unwrap()
}

#[test]
fn transparency_dev_inclusion_probes() {
    let probes = probes("inclusion");
    assert_eq!(probes.len(), 98);
    let (mut accepted, mut rejected) = (0, 0);
    for (name, probe, big) in &probes {
        let leaf = Hash::try_from(b64(str_of(probe, "leafHash")).as_slice());
        let proof = hash_list(probe.get("proof"));
        let outcome = match (leaf, proof) {
            // A leaf hash or proof element that is not 32 bytes cannot be a SHA-256 node.
            (Ok(leaf), Some(proof)) => verify_inclusion(
                &leaf,
                probe_count(probe, big, "leafIdx"),
                probe_count(probe, big, "treeSize"),
                &proof,
                &b64(str_of(probe, "root")),
            )
            .is_ok(),
            _ => false,
        };
        assert_eq!(!outcome, want_err(probe), "{name}: {}", str_of(probe, "desc"));
        if outcome { accepted += 1 } else { rejected += 1 }
    }
    assert_eq!((accepted, rejected), (6, 92));
}

#[test]
fn transparency_dev_consistency_probes() {
    let probes = probes("consistency");
    assert_eq!(probes.len(), 98);
    let mut accepted = 0;
    for (name, probe, big) in &probes {
        let outcome = match hash_list(probe.get("proof")) {
            Some(proof) => verify_consistency(
                probe_count(probe, big, "size1"),
                probe_count(probe, big, "size2"),
                &b64(str_of(probe, "root1")),
                &b64(str_of(probe, "root2")),
                &proof,
            )
            .is_ok(),
            None => false,
        };
        assert_eq!(!outcome, want_err(probe), "{name}: {}", str_of(probe, "desc"));
        accepted += usize::from(outcome);
    }
    assert_eq!(accepted, 6);
}

fn hexes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(|h| Hash::try_from(unhex(h.as_str().unwrap()).as_slice()).unwrap()).collect()
}

#[test]
fn certificate_transparency_reference_tree() {
    let doc = read_json("external/merkle/rfc6962_reference_tree.json");
    let inputs: Vec<Vec<u8>> = doc
        .get("leaf_inputs_hex")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|h| unhex(h.as_str().unwrap()))
        .collect();
    let leaves: Vec<Hash> = inputs.iter().map(|d| leaf_hash(d)).collect();
    assert_eq!(leaves, hexes(doc.get("leaf_hashes_hex").unwrap()));
    let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());

    for (size, expected) in hexes(doc.get("root_by_tree_size_hex").unwrap()).iter().enumerate() {
        assert_eq!(&root(&tree, size as u64).unwrap(), expected, "root of size {size}");
    }
    for (level, nodes) in doc.get("node_hashes_by_level_hex").and_then(Value::as_array).unwrap().iter().enumerate() {
        for (index, expected) in hexes(nodes).iter().enumerate() {
            assert_eq!(&tree.node(level as u32, index as u64).unwrap(), expected, "node {level}/{index}");
        }
    }

    let mut inclusion = doc.get("ct_inclusion_proofs").and_then(Value::as_array).unwrap().to_vec();
    inclusion.extend_from_slice(
        doc.get("all_inclusion_proofs_pymerkle_generated").unwrap().get("proofs").and_then(Value::as_array).unwrap(),
    );
    assert_eq!(inclusion.len(), 5 + 36);
    for p in &inclusion {
        let (index, size) = (count(p, "leaf_index"), count(p, "tree_size"));
        let expected = hexes(p.get("audit_path").unwrap());
        assert_eq!(inclusion_proof(&tree, index, size).unwrap(), expected, "inclusion {index}/{size}");
        let r = Hash::try_from(unhex(str_of(p, "root")).as_slice()).unwrap();
        verify_inclusion(&leaves[index as usize], index, size, &expected, &r).unwrap();
    }

    let mut consistency = doc.get("ct_consistency_proofs").and_then(Value::as_array).unwrap().to_vec();
    consistency.extend_from_slice(
        doc.get("all_consistency_proofs_ct_merkle_generated").unwrap().get("proofs").and_then(Value::as_array).unwrap(),
    );
    assert_eq!(consistency.len(), 5 + 28);
    for p in &consistency {
        let (old, new) = (count(p, "size1"), count(p, "size2"));
        let expected = hexes(p.get("proof").unwrap());
        assert_eq!(consistency_proof(&tree, old, new).unwrap(), expected, "consistency {old}->{new}");
        verify_consistency(old, new, &unhex(str_of(p, "root1")), &unhex(str_of(p, "root2")), &expected).unwrap();
    }
}

#[test]
fn empty_tree_rule() {
    let tree = MemoryTree::from_leaf_hashes([leaf_hash(b"a")]);
    let empty = evidentia::merkle::empty_root();
    assert_eq!(root(&tree, 0).unwrap(), empty);
    // A consistency proof from the empty tree is refused, both ways.
    assert_eq!(consistency_proof(&tree, 0, 1).unwrap_err().code(), ErrorCode::ProofMalformed);
    assert_eq!(verify_consistency(0, 1, &empty, &tree.root(), &[]).unwrap_err().code(), ErrorCode::ProofMalformed);
    assert_eq!(verify_consistency(0, 0, &empty, &empty, &[]).unwrap_err().code(), ErrorCode::ProofMalformed);
    assert_eq!(inclusion_proof(&tree, 0, 0).unwrap_err().code(), ErrorCode::ProofMalformed);
    assert_eq!(inclusion_proof(&tree, 0, 2).unwrap_err().code(), ErrorCode::ProofMalformed);
}

/// A proof's JSON is read in any formatting but with exactly its four members, and
/// its sizes are checked when it is read, before any checkpoint (SPEC.md §9).
#[test]
fn proof_json_is_read_strictly() {
    let hash = evidentia::encoding::b64(&[0u8; 32]);
    let inclusion = format!(r#"{{"hashes":["{hash}"],"leaf_index":0,"tree_size":2,"type":"inclusion"}}"#);
    let consistency = format!(r#"{{"hashes":["{hash}"],"new_size":2,"old_size":1,"type":"consistency"}}"#);
    assert!(InclusionProof::from_json(&inclusion).is_ok());
    assert!(ConsistencyProof::from_json(&consistency).is_ok());
    // Any formatting.
    assert!(InclusionProof::from_json(&inclusion.replace(",", " ,\n ")).is_ok());
    assert!(ConsistencyProof::from_json(&format!(" {} ", consistency.replace(":", ": "))).is_ok());
    let malformed = |text: String| {
        let code = if text.contains("inclusion") {
            InclusionProof::from_json(&text).unwrap_err().code()
        } else {
            ConsistencyProof::from_json(&text).unwrap_err().code()
        };
        assert_eq!(code, ErrorCode::ProofMalformed, "{text}");
    };
    malformed(inclusion.replace(r#","type""#, r#","extra":1,"type""#));
    malformed(inclusion.replace(r#""leaf_index":0,"#, ""));
    malformed(inclusion.replace("leaf_index", "old_size"));
    malformed(consistency.replace(r#","type""#, r#","leaf_index":0,"type""#));
    malformed(consistency.replace(r#""old_size":1"#, r#""old_size":0"#));
    malformed(consistency.replace(r#""old_size":1"#, r#""old_size":3"#));
    malformed(inclusion.replace(r#""leaf_index":0"#, r#""leaf_index":2"#));
}

/// rs_merkle configured with RFC 6962 node hashing (its odd nodes are promoted
/// unchanged, which is exactly RFC 6962's shape).
#[derive(Clone)]
struct Rfc6962;

impl rs_merkle::Hasher for Rfc6962 {
    type Hash = Hash;

    fn hash(data: &[u8]) -> Hash {
        evidentia::Digest::sha256(data).as_bytes().to_owned()
    }

    fn concat_and_hash(left: &Hash, right: Option<&Hash>) -> Hash {
        match right {
            Some(right) => node_hash(left, right),
            None => *left,
        }
    }
}

fn tree_of(size: u64) -> (Vec<Hash>, MemoryTree) {
    let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect();
    let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
    (leaves, tree)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_rs_merkle(size in 1u64..300, index_seed in any::<u64>()) {
        let (leaves, tree) = tree_of(size);
        let oracle = rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&leaves);
        prop_assert_eq!(oracle.root().unwrap(), tree.root());
        let index = index_seed % size;
        let theirs = oracle.proof(&[index as usize]);
        prop_assert_eq!(theirs.proof_hashes().to_vec(), inclusion_proof(&tree, index, size).unwrap());
    }

    #[test]
    fn every_proof_verifies_and_every_mutation_fails(size in 1u64..2000, a in any::<u64>(), b in any::<u64>(), flip in any::<u16>()) {
        let (leaves, tree) = tree_of(size);
        let new = 1 + a % size;
        let old = 1 + b % new;
        let index = b % new;
        let new_root = root(&tree, new).unwrap();
        let old_root = root(&tree, old).unwrap();

        let proof = InclusionProof { leaf_index: index, tree_size: new, hashes: inclusion_proof(&tree, index, new).unwrap() };
        proof.verify(&leaves[index as usize], &new_root).unwrap();
        // Another leaf, another index, another size, another root, a flipped bit: all rejected.
        let other_leaf = leaf_hash(b"not in the tree");
        prop_assert!(proof.verify(&other_leaf, &new_root).is_err());
        if new > 1 {
            let moved = InclusionProof { leaf_index: (index + 1) % new, ..proof.clone() };
            prop_assert!(moved.verify(&leaves[index as usize], &new_root).is_err());
        }
        // A proof for one tree size does not verify against another size's root. (Against
        // the same root it may: the size is bound to the root by the signed checkpoint.)
        if new < size {
            let grown = InclusionProof { tree_size: new + 1, ..proof.clone() };
            prop_assert!(grown.verify(&leaves[index as usize], &root(&tree, new + 1).unwrap()).is_err());
        }
        let mut wrong_root = new_root;
        wrong_root[usize::from(flip % 32)] ^= 1;
        prop_assert!(proof.verify(&leaves[index as usize], &wrong_root).is_err());
        if !proof.hashes.is_empty() {
            let mut bent = proof.clone();
            let i = usize::from(flip) % bent.hashes.len();
            bent.hashes[i][usize::from(flip % 32)] ^= 0x80;
            prop_assert!(bent.verify(&leaves[index as usize], &new_root).is_err());
            let mut short = proof.clone();
            short.hashes.pop();
            prop_assert!(short.verify(&leaves[index as usize], &new_root).is_err());
        }
        let mut long = proof.clone();
        long.hashes.push([0u8; 32]);
        prop_assert!(long.verify(&leaves[index as usize], &new_root).is_err());

        let proof = ConsistencyProof { old_size: old, new_size: new, hashes: consistency_proof(&tree, old, new).unwrap() };
        proof.verify(&old_root, &new_root).unwrap();
        prop_assert!(proof.verify(&wrong_root, &new_root).is_err());
        prop_assert!(proof.verify(&old_root, &wrong_root).is_err());
        if old < new {
            let shifted = ConsistencyProof { old_size: old + 1, ..proof.clone() };
            let shifted_root = root(&tree, old + 1).unwrap();
            prop_assert!(shifted.verify(&shifted_root, &new_root).is_err());
        }
        if !proof.hashes.is_empty() {
            let mut bent = proof.clone();
            let i = usize::from(flip) % bent.hashes.len();
            bent.hashes[i][usize::from(flip % 32)] ^= 0x01;
            prop_assert!(bent.verify(&old_root, &new_root).is_err());
        }
        let mut long = proof.clone();
        long.hashes.push([1u8; 32]);
        prop_assert!(long.verify(&old_root, &new_root).is_err());
    }
}

#[test]
fn proofs_of_a_large_tree() {
    // One leaf short of 2^17, so the right edge has nodes at every level.
    let (leaves, tree) = tree_of((1 << 17) - 1);
    let size = tree.size();
    let r = tree.root();
    for index in [0, 1, size / 2, size - 2, size - 1] {
        let proof = inclusion_proof(&tree, index, size).unwrap();
        assert!(proof.len() <= 17);
        verify_inclusion(&leaves[index as usize], index, size, &proof, &r).unwrap();
    }
    for old in [1, 2, 3, 1 << 16, size - 1, size] {
        verify_consistency(old, size, &root(&tree, old).unwrap(), &r, &consistency_proof(&tree, old, size).unwrap())
            .unwrap();
    }
    assert!(Path::new(&vectors_dir()).exists());
}
