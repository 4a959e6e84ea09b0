//! The key history a package carries (SPEC.md §19.3, §23): the log's last key record
//! before the package's checkpoint, with its receipt (or batch receipt) and its
//! inclusion proof, so that `keys.jwks` is shown to be the key set the log itself
//! signed, not a file its maker could have edited. Check 11 of `verify.sh`.

use super::{PackageFile, batch_receipt_of};
use crate::batch::BatchReceipt;
use crate::digest::Digest;
use crate::error::{Error, ErrorCode, Result};
use crate::json;
use crate::jwks::KeySet;
use crate::keyrecord::{KEY_RECORD_MEMBER, KeyRecord};
use crate::merkle::InclusionProof;
use crate::record::{Receipt, Record};

/// What check 11 establishes.
pub(super) const KEY_HISTORY_CHECK: &str =
    "keys.jwks is the key set the log's key record signed, by a key allowed to make the change";

/// A key record of the log, packaged so that `keys.jwks` is the key set it signed:
/// its receipt (a compact JWS, proved by `proof` in the package's checkpoint) or
/// its batch receipt (which carries its own proof and checkpoint), and its event.
#[derive(Clone, Copy, Debug)]
pub struct PackageKeyRecord<'a> {
    /// The key record's receipt or batch receipt, exactly as issued.
    pub receipt: &'a str,
    /// Its event's canonical JSON bytes.
    pub event: &'a [u8],
    /// For a receipt: its inclusion proof in the tree of the package's checkpoint.
    pub proof: Option<&'a InclusionProof>,
}

/// The files of the key record, and the bytes `keys.jwks` then holds: exactly the
/// key set the record carries, in its canonical JSON. Refuses a key record whose key
/// set is not the history `keys` holds ([`ErrorCode::KeyHistoryMismatch`]).
pub(super) fn key_record_files(
    input: PackageKeyRecord<'_>,
    keys: &KeySet,
    checkpoint: &str,
) -> Result<(Vec<PackageFile>, Vec<u8>)> {
    let parsed = KeyRecord::from_event(&json::parse(input.event)?)?
        .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, "the event given as the key record is not one"))?;
    if !crate::keyrecord::same_history(&parsed.keys, keys) {
        return Err(Error::new(
            ErrorCode::KeyHistoryMismatch,
            "the key set differs from the one the log's last key record signed (is a key change still pending?)",
        ));
    }
    let mut files = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| files.push(PackageFile { name: name.to_owned(), bytes });
    let record = if input.receipt.starts_with('{') {
        // A batch receipt: its checkpoint is signed by the key record's own key,
        // and its proof leads there (both checked here, as check 11 does).
        let batch = BatchReceipt::parse(input.receipt)?;
        let (key, _) = keys.select(Some(&batch.record().kid))?;
        let verifier = crate::NoteVerifier::new(&batch.record().log_id, key)?;
        let body = crate::verify_note(batch.checkpoint_note(), &[verifier])?.text;
        let root = crate::Checkpoint::from_text(&body)?.root;
        batch.proof().verify(&crate::merkle::leaf_hash(batch.record_bytes()), &root)?;
        add("key-record-batch-receipt.json", input.receipt.as_bytes().to_vec());
        add("key-record-inclusion-proof.json", batch.proof().to_json()?.into_bytes());
        add("key-record-checkpoint.txt", batch.checkpoint_note().as_bytes().to_vec());
        add("key-record-checkpoint-body.txt", body.into_bytes());
        batch.record().clone()
    } else {
        let receipt = Receipt::parse(input.receipt)?;
        let proof = input.proof.ok_or_else(|| {
            Error::new(ErrorCode::InvalidArgument, "a key record's receipt is packaged with its inclusion proof")
        })?;
        crate::batch::verify_inclusion_in_checkpoint(receipt.record_bytes(), proof, checkpoint, keys)?;
        add("key-record-receipt.jws", input.receipt.as_bytes().to_vec());
        let signing_input = input.receipt.rsplit_once('.').map_or("", |(head, _)| head);
        add("key-record-signing-input.txt", signing_input.as_bytes().to_vec());
        add("key-record-signature.der", crate::keys::signature_to_der(receipt.signature())?);
        add("key-record-inclusion-proof.json", proof.to_json()?.into_bytes());
        receipt.record().clone()
    };
    let (key, _) = keys.select(Some(&record.kid))?;
    add("key-record.json", record_bytes_of(input.receipt)?);
    add("key-record-event.json", input.event.to_vec());
    add("key-record-key.pem", key.to_pem().into_bytes());
    Ok((files, keys_member(input.event).unwrap_or_default()))
}

/// The canonical record bytes inside a receipt or a batch receipt.
fn record_bytes_of(receipt: &str) -> Result<Vec<u8>> {
    Ok(if receipt.starts_with('{') {
        BatchReceipt::parse(receipt)?.record_bytes().to_vec()
    } else {
        Receipt::parse(receipt)?.record_bytes().to_vec()
    })
}

/// The canonical JSON of a key-record event's `keys` member: the text `verify.sh`
/// cuts from the event's one line.
fn keys_member(event: &[u8]) -> Option<Vec<u8>> {
    let value = json::parse(event).ok()?;
    json::canonicalize_value(value.get(KEY_RECORD_MEMBER)?.get("keys")?).ok()
}

/// Check 11, as `verify.sh` makes it. `Ok(None)` when the package has no key record
/// (the check does not apply); otherwise what the key record shows, or why it fails.
pub(super) fn check_key_record<'f>(
    file: &impl Fn(&str) -> Option<&'f [u8]>,
) -> std::result::Result<Option<String>, String> {
    let Some(record_bytes) = file("key-record.json") else { return Ok(None) };
    let missing = |name: &str| format!("{name} is missing");
    let text = |name: &str| -> std::result::Result<&str, String> {
        std::str::from_utf8(file(name).ok_or_else(|| missing(name))?).map_err(|_| format!("{name} is not UTF-8 text"))
    };
    let record = Record::from_bytes(record_bytes).map_err(|e| format!("key-record.json: {e}"))?;
    let package_record = Record::from_bytes(file("record.json").ok_or_else(|| missing("record.json"))?)
        .map_err(|e| format!("record.json: {e}"))?;
    if record.log_id != package_record.log_id {
        return Err("key-record.json is a record of another log".to_owned());
    }
    let event = file("key-record-event.json").ok_or_else(|| missing("key-record-event.json"))?;
    if Digest::sha256(event) != record.event {
        return Err("key-record-event.json is not the event key-record.json commits to".to_owned());
    }
    // The signer: a key of keys.jwks, the one key-record.json names.
    let pem = text("key-record-key.pem")?;
    let key = crate::PublicKey::from_pem(pem).map_err(|e| format!("key-record-key.pem: {e}"))?;
    if key.to_pem() != pem || key.kid() != record.kid {
        return Err("key-record-key.pem is not the canonical PEM of the key key-record.json names".to_owned());
    }
    let keys_text = text("keys.jwks")?;
    let keys = KeySet::from_json(keys_text).map_err(|e| format!("keys.jwks: {e}"))?;
    let (_, signer) = keys.select(Some(&record.kid)).map_err(|_| "the key record's signer is not in keys.jwks")?;

    // The evidence that the log holds the key record: its receipt in the package's
    // checkpoint, or its batch receipt with its own.
    let (proof_name, body_name) = ("key-record-inclusion-proof.json", "key-record-checkpoint-body.txt");
    let body_name = if let Some(receipt) = file("key-record-receipt.jws") {
        let receipt = std::str::from_utf8(receipt).map_err(|_| "key-record-receipt.jws is not text")?;
        let parsed = Receipt::parse(receipt).map_err(|e| format!("key-record-receipt.jws: {e}"))?;
        let input = receipt.rsplit_once('.').map_or("", |(head, _)| head);
        let der = crate::keys::signature_to_der(parsed.signature()).map_err(|e| e.to_string())?;
        let signature = file("key-record-signature.der").ok_or_else(|| missing("key-record-signature.der"))?;
        if text("key-record-signing-input.txt")? != input || der != signature || parsed.record_bytes() != record_bytes {
            return Err(
                "key-record-signing-input.txt, key-record-signature.der or key-record.json is not the key record's receipt's"
                    .to_owned(),
            );
        }
        if !key.verify_der(input.as_bytes(), signature) {
            return Err("the signature over the key record's receipt does not verify".to_owned());
        }
        "checkpoint-body.txt"
    } else {
        let batch = file("key-record-batch-receipt.json").ok_or("key-record.json comes with no receipt")?;
        let part = |name: &str| file(name).ok_or_else(|| missing(name));
        if batch != batch_receipt_of(record_bytes, part(proof_name)?, part("key-record-checkpoint.txt")?) {
            return Err("key-record-batch-receipt.json is not the batch receipt of its parts".to_owned());
        }
        let verifier = crate::NoteVerifier::new(&record.log_id, &key).map_err(|e| e.to_string())?;
        let verified =
            crate::verify_note(text("key-record-checkpoint.txt")?, &[verifier]).map_err(|e| e.to_string())?;
        if verified.text != text(body_name)? {
            return Err("key-record-checkpoint-body.txt is not the text key-record-checkpoint.txt signs".to_owned());
        }
        body_name
    };
    let written = text(proof_name)?;
    let proof = InclusionProof::from_json(written).map_err(|e| format!("{proof_name}: {e}"))?;
    let checkpoint = crate::Checkpoint::from_text(text(body_name)?).map_err(|e| format!("{body_name}: {e}"))?;
    if proof.to_json().ok().as_deref() != Some(written)
        || proof.leaf_index != record.seq
        || proof.tree_size != checkpoint.size
        || proof.verify(&crate::merkle::leaf_hash(record_bytes), &checkpoint.root).is_err()
    {
        return Err(format!("{proof_name} does not lead from key-record.json to the root of {body_name}"));
    }

    // The event is a key record, one canonical line, and keys.jwks is its key set.
    let parsed = json::parse(event)
        .ok()
        .filter(|value| json::canonicalize_value(value).ok().as_deref() == Some(event))
        .ok_or("key-record-event.json is not canonical JSON")?;
    let key_record = KeyRecord::from_event(&parsed)
        .map_err(|e| format!("key-record-event.json: {e}"))?
        .ok_or("key-record-event.json is not a key record")?;
    if keys_member(event).as_deref() != Some(keys_text.as_bytes()) {
        return Err("keys.jwks is not the key set the key record signed".to_owned());
    }
    // Who may sign it (SPEC §23.2): a rotation its outgoing key; a revocation the
    // key in force with no end, which is not the key it revokes.
    let open = signer.expires.is_none() && signer.revoked_at.is_none();
    let (change, allowed) = match &key_record.change {
        crate::KeyChange::Rotate { from, .. } => ("rotation", *from == record.kid),
        crate::KeyChange::Revoke { kid, .. } => ("revocation", *kid != record.kid && open),
    };
    if !allowed {
        return Err(format!("the key {} may not sign this {change}", record.kid));
    }
    Ok(Some(format!(
        "keys.jwks is the key set the log signed in its record {}, a {change} of {} signed by {}",
        record.seq,
        key_record.kid(),
        record.kid
    )))
}

#[cfg(test)]
mod tests {
    use super::super::{PackageInput, build_package, verify_package};
    use super::*;
    use crate::merkle::{MemoryTree, inclusion_proof, leaf_hash};
    use crate::{ChainState, Checkpoint, SigningKey, Timestamp, sign_checkpoint};

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_unix(1_800_000_000 + seconds, 0).unwrap()
    }

    /// A log in receipts mode where key 1 signs a record and hands over to key 2,
    /// which signs a record and revokes key 1 from `revoked_at` on; its package for
    /// record `index` with the revocation as key record, and the log's checkpoint.
    fn package(index: usize, revoked_at: Timestamp) -> Result<Vec<PackageFile>> {
        let (k1, k2) = (SigningKey::from_bytes(&[1; 32]).unwrap(), SigningKey::from_bytes(&[2; 32]).unwrap());
        let start = KeySet::single(k1.public_key());
        let rotation = KeyRecord::rotate(&start, k1.public_key(), k2.public_key(), t(2)).unwrap();
        let revocation = KeyRecord::revoke(&rotation.keys, k1.public_key().kid(), revoked_at, None).unwrap();
        let entries: [(&SigningKey, Vec<u8>); 4] = [
            (&k1, br#"{"n":0}"#.to_vec()),
            (&k1, rotation.to_event()),
            (&k2, br#"{"n":2}"#.to_vec()),
            (&k2, revocation.to_event()),
        ];
        let mut chain = ChainState::new("example.com/keys").unwrap();
        let receipts: Vec<Receipt> = entries
            .iter()
            .enumerate()
            .map(|(i, (key, event))| {
                let chained = chain.append(key.public_key().kid(), Digest::sha256(event), t(i as i64), None).unwrap();
                Receipt::sign(*key, &chained.record).unwrap()
            })
            .collect();
        let tree = MemoryTree::from_leaf_hashes(receipts.iter().map(|r| leaf_hash(r.record_bytes())));
        let checkpoint =
            Checkpoint { origin: "example.com/keys".into(), size: 4, root: tree.root(), extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, &k2).unwrap();
        let proof =
            |i: u64| InclusionProof { leaf_index: i, tree_size: 4, hashes: inclusion_proof(&tree, i, 4).unwrap() };
        let (record_proof, key_record_proof) = (proof(index as u64), proof(3));
        build_package(PackageInput {
            receipt: receipts[index].as_str(),
            event: &entries[index].1,
            keys: &revocation.keys,
            proof: Some(&record_proof),
            checkpoint: Some(&note),
            timestamp: None,
            exported_at: None,
            request: None,
            key_record: Some(PackageKeyRecord {
                receipt: receipts[3].as_str(),
                event: &entries[3].1,
                proof: Some(&key_record_proof),
            }),
        })
    }

    fn failed(files: &[PackageFile]) -> Vec<u8> {
        verify_package(files).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect()
    }

    /// The package with one file replaced and SHA256SUMS made to match again.
    fn replaced(files: &[PackageFile], name: &str, bytes: Vec<u8>) -> Vec<PackageFile> {
        let mut files = files.to_vec();
        files.iter_mut().find(|f| f.name == name).unwrap().bytes = bytes;
        let sums: String = files
            .iter()
            .filter(|f| f.name != "SHA256SUMS")
            .map(|f| format!("{}  {}\n", Digest::sha256(&f.bytes).to_hex(), f.name))
            .collect();
        files.iter_mut().find(|f| f.name == "SHA256SUMS").unwrap().bytes = sums.into_bytes();
        files
    }

    #[test]
    fn a_package_carries_the_key_record_and_every_changed_byte_of_it_fails_check_11() {
        let files = package(2, t(10)).unwrap();
        let checks = verify_package(&files);
        assert!(checks.iter().all(|c| c.failure.is_none()), "{checks:?}");
        let eleven = checks.iter().find(|c| c.number == 11).unwrap();
        assert!(eleven.applies && eleven.detail.as_deref().unwrap().contains("record 3, a revocation"), "{eleven:?}");
        let mut changes = 0;
        for (i, file) in files.iter().enumerate().filter(|(_, f)| f.name.starts_with("key-record")) {
            for at in 0..file.bytes.len() {
                let mut changed = files.clone();
                changed[i].bytes[at] ^= 0x01;
                let failed = failed(&changed);
                assert!(failed.contains(&1) && failed.contains(&11), "{} byte {at}: {failed:?}", file.name);
                changes += 1;
            }
        }
        assert!(changes > 1500, "{changes}");
    }

    #[test]
    fn an_edited_key_history_fails_check_11_even_with_its_sums_made_again() {
        let files = package(2, t(10)).unwrap();
        let keys = String::from_utf8(files.iter().find(|f| f.name == "keys.jwks").unwrap().bytes.clone()).unwrap();
        // The revocation taken back: the record of key 1 would pass check 3 again.
        let k1 = SigningKey::from_bytes(&[1; 32]).unwrap().public_key().kid().to_owned();
        let mut unrevoked = KeySet::from_json(&keys).unwrap();
        let (_, validity) = unrevoked.select(Some(&k1)).map(|(k, v)| (k.clone(), v.clone())).unwrap();
        unrevoked.set_validity(&k1, crate::Validity { revoked_at: None, revocation_reason: None, ..validity }).unwrap();
        assert_ne!(unrevoked.to_json(), keys);
        assert_eq!(failed(&replaced(&files, "keys.jwks", unrevoked.to_json().into_bytes())), [11]);
        // The key record left out: keys.jwks is then only the maker's word, and
        // check 11 says it does not apply.
        let without: Vec<PackageFile> = replaced(&files, "keys.jwks", unrevoked.to_json().into_bytes())
            .into_iter()
            .filter(|f| !f.name.starts_with("key-record"))
            .collect();
        let without = replaced(&without, "keys.jwks", unrevoked.to_json().into_bytes());
        let eleven = verify_package(&without).into_iter().find(|c| c.number == 11).unwrap();
        assert!(!eleven.applies && eleven.failure.is_none());
    }

    #[test]
    fn no_package_is_made_of_a_record_the_signed_history_revokes() {
        // Key 1 revoked from before its first record: with the history the log
        // signed, that record's evidence no longer verifies, so no package is made.
        assert_eq!(package(0, t(-5)).unwrap_err().code(), ErrorCode::KeyRevoked);
        assert!(package(0, t(10)).is_ok());
    }

    #[test]
    fn a_key_record_whose_set_is_not_the_keys_given_is_refused() {
        let (k1, k2) = (SigningKey::from_bytes(&[1; 32]).unwrap(), SigningKey::from_bytes(&[2; 32]).unwrap());
        let start = KeySet::single(k1.public_key());
        let rotation = KeyRecord::rotate(&start, k1.public_key(), k2.public_key(), t(2)).unwrap();
        let mut chain = ChainState::new("example.com/keys").unwrap();
        let event = rotation.to_event();
        let chained = chain.append(k1.public_key().kid(), Digest::sha256(&event), t(1), None).unwrap();
        let receipt = Receipt::sign(&k1, &chained.record).unwrap();
        let tree = MemoryTree::from_leaf_hashes([leaf_hash(receipt.record_bytes())]);
        let checkpoint =
            Checkpoint { origin: "example.com/keys".into(), size: 1, root: tree.root(), extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, &k1).unwrap();
        let proof = InclusionProof { leaf_index: 0, tree_size: 1, hashes: vec![] };
        let input = PackageKeyRecord { receipt: receipt.as_str(), event: &event, proof: Some(&proof) };
        assert!(key_record_files(input, &rotation.keys, &note).is_ok());
        let code = key_record_files(input, &start, &note).unwrap_err().code();
        assert_eq!(code, ErrorCode::KeyHistoryMismatch);
    }
}
