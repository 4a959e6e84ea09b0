//! The fixed material every case derives from: keys, times, events, records,
//! receipts, key sets, trees and checkpoints, and small helpers that write them
//! exactly as a case needs (including in forms Evidentia never writes).

use evidentia::encoding::{b64, b64url};
use evidentia::json::Value;
use evidentia::merkle::{Hash, MemoryTree, consistency_proof, inclusion_proof, leaf_hash, root};
use evidentia::{
    BatchReceipt, ChainState, Checkpoint, ConsistencyProof, Digest, InclusionProof, Receipt, Record, RecordVersion,
    SigningKey, Timestamp, canonicalize_value, sign_checkpoint, sign_note,
};

/// The log id of every log of the suite.
pub(crate) const LOG_ID: &str = "conformance.evidentia.dev/log";
/// Another log's id.
pub(crate) const OTHER_LOG: &str = "other.evidentia.dev/log";
/// 2027-01-15T08:00:00Z, the time of the first record (SPEC §4.1's example second).
pub(crate) const T0: i64 = 1_800_000_000;

/// The deterministic key number `i` of the suite.
pub(crate) fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(Digest::sha256(format!("evidentia conformance key {i}").as_bytes()).as_bytes())
        .expect("a SHA-256 output is a valid P-256 scalar with overwhelming probability")
}

/// `T0` plus `seconds`.
pub(crate) fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix(T0 + seconds, 0).expect("in range")
}

/// Event number `i` in canonical form.
pub(crate) fn event(i: usize) -> Vec<u8> {
    format!(r#"{{"amount":"{}.00","currency":"EUR","n":{i},"type":"payment.approved"}}"#, 100 * (i + 1)).into_bytes()
}

/// Event number `i` as a person might write it: other member order, spaces,
/// newlines, `n` written as a fraction.
pub(crate) fn event_reformatted(i: usize) -> Vec<u8> {
    format!("{{\n  \"type\": \"payment.approved\",\n  \"n\": {i}.0,\n  \"currency\": \"EUR\",\n  \"amount\": \"{}.00\"\n}}\n", 100 * (i + 1))
        .into_bytes()
}

/// A JSON string literal.
pub(crate) fn quote(text: &str) -> String {
    String::from_utf8(canonicalize_value(&Value::from(text)).expect("a string is JSON")).expect("UTF-8")
}

/// The canonical JSON text of a value.
pub(crate) fn canonical(value: &Value) -> String {
    String::from_utf8(canonicalize_value(value).expect("JSON")).expect("UTF-8")
}

/// A record of the suite's log.
pub(crate) fn record(seq: u64, prev: Option<Digest>, event: &[u8], time: Timestamp, key: &SigningKey) -> Record {
    Record {
        log_id: LOG_ID.to_owned(),
        seq,
        prev,
        event: Digest::sha256(event),
        time,
        nonce: None,
        kid: key.kid().to_owned(),
        version: RecordVersion::V1,
    }
}

/// The canonical receipt header naming `kid`.
pub(crate) fn receipt_header(kid: &str) -> String {
    format!(r#"{{"alg":"ES256","kid":{},"typ":"evidentia-receipt+jws"}}"#, quote(kid))
}

/// A compact JWS of the header and payload texts as they are, signed by `key`.
pub(crate) fn jws(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64url(header), b64url(payload));
    format!("{input}.{}", b64url(&key.sign(input.as_bytes())))
}

/// The receipt of `record`, signed by `key` (whose kid need not be the record's).
pub(crate) fn receipt(key: &SigningKey, record: &Record) -> String {
    jws(key, receipt_header(key.kid()).as_bytes(), &record.to_bytes())
}

/// The receipt Evidentia issues for `record` (the record's kid is `key`'s).
pub(crate) fn issued(key: &SigningKey, record: &Record) -> String {
    Receipt::sign(key, record).expect("a record of the key").as_str().to_owned()
}

/// The three parts of a compact JWS.
pub(crate) fn parts(jws: &str) -> (String, String, String) {
    let mut split = jws.split('.');
    let (Some(a), Some(b), Some(c)) = (split.next(), split.next(), split.next()) else { unreachable!("a compact JWS") };
    (a.to_owned(), b.to_owned(), c.to_owned())
}

/// The public JWK of a key as Evidentia writes it.
pub(crate) fn jwk(key: &SigningKey) -> String {
    key.public_jwk()
}

/// The public JWK with more members (raw JSON text, e.g. `"nbf":1800000000`).
pub(crate) fn jwk_with(key: &SigningKey, extra: &str) -> String {
    let jwk = key.public_jwk();
    format!("{},{extra}}}", &jwk[..jwk.len() - 1])
}

/// A JWK's members (raw JSON text) without the named ones, plus `extra`.
pub(crate) fn jwk_without(key: &SigningKey, without: &[&str], extra: &str) -> String {
    let value = evidentia::json::parse(key.public_jwk().as_bytes()).expect("JSON");
    let Value::Object(members) = value else { unreachable!("a JWK is an object") };
    let mut parts: Vec<String> = members
        .iter()
        .filter(|(name, _)| !without.contains(&name.as_str()))
        .map(|(name, value)| format!("{}:{}", quote(name), canonical(value)))
        .collect();
    if !extra.is_empty() {
        parts.push(extra.to_owned());
    }
    format!("{{{}}}", parts.join(","))
}

/// A JWKS of the given entries (JSON texts).
pub(crate) fn jwks(entries: &[String]) -> String {
    format!(r#"{{"keys":[{}]}}"#, entries.join(","))
}

/// A JWKS of the public keys of `keys`, without validity metadata.
pub(crate) fn set(keys: &[&SigningKey]) -> String {
    jwks(&keys.iter().map(|k| jwk(k)).collect::<Vec<_>>())
}

/// A tree of the leaves of `records` (their canonical bytes).
pub(crate) fn tree(records: &[Vec<u8>]) -> MemoryTree {
    MemoryTree::from_leaf_hashes(records.iter().map(|r| leaf_hash(r)))
}

/// The root of the first `size` leaves.
pub(crate) fn root_at(tree: &MemoryTree, size: u64) -> Hash {
    root(tree, size).expect("within the tree")
}

/// The checkpoint text of `size` leaves of `tree` under `origin`.
pub(crate) fn checkpoint_of(tree: &MemoryTree, size: u64, origin: &str) -> Checkpoint {
    Checkpoint { origin: origin.to_owned(), size, root: root_at(tree, size), extensions: vec![] }
}

/// A checkpoint signed by `key` under its origin.
pub(crate) fn signed(checkpoint: &Checkpoint, key: &SigningKey) -> String {
    sign_checkpoint(checkpoint, key).expect("a valid origin")
}

/// The signature line `key` makes over `text` under the key name `name`.
pub(crate) fn signature_line(text: &str, name: &str, key: &SigningKey) -> String {
    let note = sign_note(text, name, key).expect("a valid note");
    note.rsplit_once("\n\n").expect("a signed note").1.to_owned()
}

/// The inclusion proof of leaf `index` in the first `size` leaves, as canonical JSON.
pub(crate) fn inclusion(tree: &MemoryTree, index: u64, size: u64) -> InclusionProof {
    InclusionProof { leaf_index: index, tree_size: size, hashes: inclusion_proof(tree, index, size).expect("proof") }
}

/// The consistency proof between sizes `old` and `new`.
pub(crate) fn consistency(tree: &MemoryTree, old: u64, new: u64) -> ConsistencyProof {
    ConsistencyProof { old_size: old, new_size: new, hashes: consistency_proof(tree, old, new).expect("proof") }
}

/// Proof JSON written from its parts as they are (counts as raw JSON text).
pub(crate) fn inclusion_json(hashes: &[Hash], leaf_index: &str, tree_size: &str) -> String {
    let hashes: Vec<String> = hashes.iter().map(|h| quote(&b64(h))).collect();
    format!(
        r#"{{"hashes":[{}],"leaf_index":{leaf_index},"tree_size":{tree_size},"type":"inclusion"}}"#,
        hashes.join(",")
    )
}

/// Consistency proof JSON written from its parts as they are.
pub(crate) fn consistency_json(hashes: &[Hash], old_size: &str, new_size: &str) -> String {
    let hashes: Vec<String> = hashes.iter().map(|h| quote(&b64(h))).collect();
    format!(r#"{{"hashes":[{}],"new_size":{new_size},"old_size":{old_size},"type":"consistency"}}"#, hashes.join(","))
}

/// A batch receipt written from its parts as canonical JSON, whatever they hold.
pub(crate) fn batch_receipt_json(record: &[u8], proof: &Value, checkpoint: &str) -> String {
    canonical(&Value::object([
        ("checkpoint", Value::from(checkpoint)),
        ("proof", proof.clone()),
        ("record", Value::from(String::from_utf8(record.to_vec()).expect("UTF-8"))),
        ("type", Value::from("evidentia-batch-receipt")),
        ("v", Value::from(1u32)),
    ]))
}

/// A batch receipt as Evidentia writes it.
pub(crate) fn batch_receipt(record: &[u8], proof: InclusionProof, checkpoint: &str) -> String {
    BatchReceipt::new(record, proof, checkpoint).expect("consistent parts").to_json()
}

/// A parsed JSON value of text the suite wrote.
pub(crate) fn value(text: &str) -> Value {
    evidentia::json::parse(text.as_bytes()).expect("JSON the suite wrote")
}

/// The fixed evidence most cases derive from.
pub(crate) struct World {
    /// The log's key; after a rotation, the retired one.
    pub k1: SigningKey,
    /// The successor key of a rotation.
    pub k2: SigningKey,
    /// A stranger's key.
    pub k3: SigningKey,
    /// A receipts-mode log of seven records by `k1`, one second apart from `T0`,
    /// record `i` with event `i` and, for even `i`, the nonce `req-i`.
    pub records: Vec<Record>,
    pub record_bytes: Vec<Vec<u8>>,
    pub receipts: Vec<String>,
    pub tree: MemoryTree,
    /// The same events in a batch-signed log: records by `k1`, all at `T0`.
    pub batch_records: Vec<Vec<u8>>,
    pub batch_tree: MemoryTree,
}

impl World {
    pub(crate) fn new() -> World {
        let (k1, k2, k3) = (key(1), key(2), key(3));
        let mut chain = ChainState::new(LOG_ID).expect("valid id");
        let mut records = Vec::new();
        let mut record_bytes = Vec::new();
        let mut receipts = Vec::new();
        for i in 0..7 {
            let nonce = (i % 2 == 0).then(|| format!("req-{i}"));
            let chained =
                chain.append(k1.kid(), Digest::sha256(&event(i)), at(i as i64), nonce.as_deref()).expect("record");
            receipts.push(issued(&k1, &chained.record));
            records.push(chained.record);
            record_bytes.push(chained.bytes);
        }
        let tree = tree(&record_bytes);
        let mut chain = ChainState::new(LOG_ID).expect("valid id");
        let batch_records: Vec<Vec<u8>> = (0..5)
            .map(|i| chain.append(k1.kid(), Digest::sha256(&event(i)), at(0), None).expect("record").bytes)
            .collect();
        let batch_tree = self::tree(&batch_records);
        World { k1, k2, k3, records, record_bytes, receipts, tree, batch_records, batch_tree }
    }

    /// The key set of `k1` alone.
    pub(crate) fn keys(&self) -> String {
        set(&[&self.k1])
    }

    /// A checkpoint of the receipts-mode log at `size`, signed by `k1`.
    pub(crate) fn checkpoint(&self, size: u64) -> String {
        signed(&checkpoint_of(&self.tree, size, LOG_ID), &self.k1)
    }

    /// The canonical inclusion proof JSON of record `index` at `size`.
    pub(crate) fn proof(&self, index: u64, size: u64) -> String {
        inclusion(&self.tree, index, size).to_json().expect("small")
    }
}

/// The key hash of `key` in signed notes (SPEC §10): the first 4 bytes of SHA-256
/// of its DER SubjectPublicKeyInfo.
pub(crate) fn note_key_hash(key: &SigningKey) -> Vec<u8> {
    Digest::sha256(&key.public_key().to_der()).as_bytes()[..4].to_vec()
}

/// The bytes of a note signature line by `key` over `text` as it is (which need not
/// be a valid note text): the key hash, then the DER ECDSA signature.
pub(crate) fn note_signature(text: &[u8], key: &SigningKey) -> Vec<u8> {
    let mut bytes = note_key_hash(key);
    bytes.extend_from_slice(&key.sign_der(text));
    bytes
}
