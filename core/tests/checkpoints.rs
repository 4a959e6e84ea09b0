//! Signed checkpoints against real Rekor and Pixel checkpoints and the C2SP and Go
//! examples; batch receipts; checkpoints inside log verification.

#![allow(clippy::unwrap_used)]

mod common;

use common::{read_json, str_of};
use evidentia::json::Value;
use evidentia::merkle::{MemoryTree, NodeSource, inclusion_proof, leaf_hash, root};
use evidentia::{
    BatchReceipt, ChainState, Checkpoint, Digest, ErrorCode, InclusionProof, KeySet, LogVerifier, LogVerifyOptions,
    NoteVerifier, Receipt, Record, SigningKey, Timestamp, read_checkpoint, sign_checkpoint, verify_batch_receipt,
    verify_checkpoint, verify_receipt_in_checkpoint,
};

#[test]
fn real_ecdsa_checkpoints_of_rekor_and_pixel() {
    let doc = read_json("external/checkpoint/signed_note_vectors.json");
    let cases =
        doc.get("ecdsa_checkpoints_transparency_dev_formats").unwrap().get("cases").and_then(Value::as_array).unwrap();
    for case in cases {
        let name = str_of(case, "name");
        let verifier = NoteVerifier::from_vkey(str_of(case, "vkey")).unwrap();
        assert_eq!(verifier.to_vkey(), str_of(case, "vkey"), "{name}: vkey round trip");
        let outcome = verify_checkpoint(str_of(case, "note"), &[verifier]);
        if str_of(case, "expected") == "valid" {
            let (checkpoint, verified) = outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(verified.signed_by.len(), 1);
            match name {
                "rekor" => assert_eq!((checkpoint.origin.as_str(), checkpoint.size), ("Rekor", 798_034)),
                "pixel6" => assert_eq!((checkpoint.origin.as_str(), checkpoint.size), ("DEFAULT", 10)),
                other => panic!("unknown case {other}"),
            }
        } else {
            assert_eq!(outcome.unwrap_err().code(), ErrorCode::CheckpointSignatureInvalid, "{name}");
        }
    }
    // The right name with another key (a different key hash) is not trusted either.
    let rekor = &cases[0];
    let impostor =
        NoteVerifier::new("rekor.sigstore.dev", SigningKey::from_bytes(&[1u8; 32]).unwrap().public_key()).unwrap();
    assert_eq!(
        verify_checkpoint(str_of(rekor, "note"), &[impostor]).unwrap_err().code(),
        ErrorCode::CheckpointSignatureInvalid
    );
    // A checkpoint whose text was changed fails under the right key.
    let verifier = NoteVerifier::from_vkey(str_of(rekor, "vkey")).unwrap();
    let changed = str_of(rekor, "note").replace("798034", "798035");
    assert_eq!(verify_checkpoint(&changed, &[verifier]).unwrap_err().code(), ErrorCode::CheckpointSignatureInvalid);
}

#[test]
fn c2sp_and_go_examples_parse() {
    let doc = read_json("external/checkpoint/signed_note_vectors.json");
    let example = doc.get("c2sp_tlog_checkpoint_example").unwrap();
    let parsed = example.get("parsed").unwrap();
    for field in ["checkpoint", "cosigned"] {
        let checkpoint = read_checkpoint(str_of(example, field)).unwrap();
        assert_eq!(checkpoint.origin, str_of(parsed, "origin"));
        assert_eq!(checkpoint.size, 20_852_163);
        assert_eq!(evidentia::encoding::b64(&checkpoint.root), str_of(parsed, "root_hash_b64"));
        // Ed25519 signatures (theirs) come from keys we cannot use: nothing verifies.
        assert_eq!(
            verify_checkpoint(str_of(example, field), &[]).unwrap_err().code(),
            ErrorCode::CheckpointSignatureInvalid
        );
    }
    for case in ["c2sp_signed_note_example", "go_sumdb_note_PeterNeumann"] {
        let vkey = str_of(doc.get(case).unwrap(), "vkey");
        assert_eq!(NoteVerifier::from_vkey(vkey).unwrap_err().code(), ErrorCode::KeyUnsupported, "{case}");
    }
    let go = doc.get("go_sumdb_tlog_tree_format").unwrap();
    assert_eq!(evidentia::encoding::b64(&leaf_hash(str_of(go, "record").as_bytes())), str_of(go, "record_hash_b64"));
    let tree = Checkpoint::from_text(str_of(go, "formatted")).unwrap();
    assert_eq!(tree.size, 123_456_789_012);
    assert_eq!(tree.to_text(), str_of(go, "formatted"));
}

struct BatchLog {
    key: SigningKey,
    records: Vec<Vec<u8>>,
    events: Vec<Vec<u8>>,
    tree: MemoryTree,
}

fn batch_log(n: u64) -> BatchLog {
    let key = SigningKey::from_bytes(&[11u8; 32]).unwrap();
    let mut chain = ChainState::new("example.com/batch").unwrap();
    let mut log = BatchLog { key, records: Vec::new(), events: Vec::new(), tree: MemoryTree::new() };
    for i in 0..n {
        let event = format!(r#"{{"n":{i}}}"#).into_bytes();
        let time = Timestamp::from_unix(1_800_000_000 + i as i64, 0).unwrap();
        let record = chain.next_record(log.key.kid(), Digest::sha256(&event), time, None).unwrap();
        chain.advance(&record).unwrap();
        let bytes = record.to_bytes();
        log.tree.push(leaf_hash(&bytes));
        log.records.push(bytes);
        log.events.push(event);
    }
    log
}

fn checkpoint_note(log: &BatchLog, size: u64) -> String {
    let checkpoint = Checkpoint {
        origin: "example.com/batch".into(),
        size,
        root: root(&log.tree, size).unwrap(),
        extensions: vec![],
    };
    sign_checkpoint(&checkpoint, &log.key).unwrap()
}

fn batch_receipt(log: &BatchLog, index: u64, size: u64) -> String {
    let proof =
        InclusionProof { leaf_index: index, tree_size: size, hashes: inclusion_proof(&log.tree, index, size).unwrap() };
    BatchReceipt::new(&log.records[index as usize], proof, &checkpoint_note(log, size)).unwrap().to_json()
}

#[test]
fn batch_receipts_verify_offline_and_detect_changes() {
    let log = batch_log(10);
    let keys = KeySet::single(log.key.public_key());
    for index in 0..10 {
        let receipt = batch_receipt(&log, index, 10);
        let report = verify_batch_receipt(&receipt, &keys, Some(&log.events[index as usize])).unwrap();
        assert!(report.is_valid(), "{}", report.to_text());
        assert_eq!(BatchReceipt::parse(&receipt).unwrap().to_json(), receipt);
    }
    let receipt = batch_receipt(&log, 3, 10);
    let codes =
        |text: &str, keys: &KeySet| verify_batch_receipt(text, keys, Some(&log.events[3])).unwrap().failure_codes();
    assert_eq!(
        codes(&receipt, &KeySet::single(SigningKey::from_bytes(&[12u8; 32]).unwrap().public_key())),
        vec![ErrorCode::KeyNotFound]
    );
    let other_event = verify_batch_receipt(&receipt, &keys, Some(b"{\"n\":4}")).unwrap().failure_codes();
    assert_eq!(other_event, vec![ErrorCode::EventMismatch]);

    // A proof for another leaf, placed under this record: the inclusion check fails.
    let mut value = evidentia::json::parse(receipt.as_bytes()).unwrap();
    let other_proof = evidentia::json::parse(
        InclusionProof { leaf_index: 3, tree_size: 10, hashes: inclusion_proof(&log.tree, 4, 10).unwrap() }
            .to_json()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    if let Value::Object(members) = &mut value {
        members.iter_mut().find(|(k, _)| k == "proof").unwrap().1 = other_proof;
    }
    let swapped = String::from_utf8(evidentia::canonicalize_value(&value).unwrap()).unwrap();
    assert_eq!(codes(&swapped, &keys), vec![ErrorCode::InclusionProofInvalid]);

    // A checkpoint of the right size signed by someone else: the checkpoint check fails.
    let forger = SigningKey::from_bytes(&[13u8; 32]).unwrap();
    let forged_note = sign_checkpoint(&read_checkpoint(&checkpoint_note(&log, 10)).unwrap(), &forger).unwrap();
    let forged = receipt.replace(&json_string(&checkpoint_note(&log, 10)), &json_string(&forged_note));
    assert_ne!(forged, receipt);
    assert_eq!(codes(&forged, &keys), vec![ErrorCode::CheckpointSignatureInvalid]);

    // One byte form: the same members spaced, reordered or with one more are refused.
    let spaced = receipt.replacen("{\"checkpoint\"", "{ \"checkpoint\"", 1);
    let reordered = format!("{{\"v\":1,{}", receipt[1..].replace(",\"v\":1}", "}"));
    let extended = receipt.replace(",\"v\":1}", ",\"v\":1,\"x\":0}");
    for changed in [spaced, reordered, extended] {
        assert_ne!(changed, receipt);
        assert!(evidentia::json::parse(changed.as_bytes()).is_ok(), "{changed}");
        assert_eq!(BatchReceipt::parse(&changed).unwrap_err().code(), ErrorCode::BatchReceiptMalformed, "{changed}");
    }
    for bad in ["", "{}", r#"{"type":"evidentia-batch-receipt","v":1}"#, &receipt.replace("\"v\":1", "\"v\":2")] {
        assert!(verify_batch_receipt(bad, &keys, None).is_err(), "{bad}");
    }
}

/// An inclusion proof vouches for a receipt only once the receipt itself verifies:
/// a receipt whose signature is not the log key's is refused even though its
/// record is really in the log.
#[test]
fn receipt_in_checkpoint_verifies_the_receipt_first() {
    let log = batch_log(6);
    let keys = KeySet::single(log.key.public_key());
    let note = checkpoint_note(&log, 6);
    let proof = InclusionProof { leaf_index: 2, tree_size: 6, hashes: inclusion_proof(&log.tree, 2, 6).unwrap() };
    let record = Record::from_bytes(&log.records[2]).unwrap();
    let receipt = Receipt::sign(&log.key, &record).unwrap();
    let checkpoint = verify_receipt_in_checkpoint(receipt.as_str(), &proof, &note, &keys).unwrap();
    assert_eq!(checkpoint.size, 6);
    let batch = batch_receipt(&log, 2, 6);
    assert_eq!(verify_receipt_in_checkpoint(&batch, &proof, &note, &keys).unwrap().size, 6);

    // The same header and record, signed by another key: the proof alone would pass.
    let input = receipt.as_str().rsplit_once('.').unwrap().0;
    let forger = SigningKey::from_bytes(&[14u8; 32]).unwrap();
    let forged = format!("{input}.{}", evidentia::encoding::b64url(&forger.sign(input.as_bytes())));
    assert!(evidentia::verify_inclusion_in_checkpoint(&log.records[2], &proof, &note, &keys).is_ok());
    let refused = verify_receipt_in_checkpoint(&forged, &proof, &note, &keys).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::SignatureInvalid, "{refused}");
    // A receipt of a key the set does not hold is refused too.
    let strangers = KeySet::single(forger.public_key());
    assert!(verify_receipt_in_checkpoint(receipt.as_str(), &proof, &note, &strangers).is_err());
}

/// In a log, a checkpoint's signer must have been valid at the time of its last
/// record; a checkpoint of no records has no such time, so its signer must never
/// have been revoked, as for a checkpoint checked alone.
#[test]
fn a_checkpoint_of_no_records_needs_a_key_never_revoked() {
    let key = SigningKey::from_bytes(&[15u8; 32]).unwrap();
    let empty = Checkpoint {
        origin: "example.com/batch".into(),
        size: 0,
        root: evidentia::merkle::empty_root(),
        extensions: vec![],
    };
    let note = sign_checkpoint(&empty, &key).unwrap();
    let verdict = |revoked_at: Option<Timestamp>| {
        let mut keys = KeySet::new();
        keys.add(key.public_key(), evidentia::Validity { revoked_at, ..Default::default() }).unwrap();
        let options = LogVerifyOptions { expected_log_id: Some("example.com/batch".into()), ..Default::default() };
        let mut verifier = LogVerifier::new(&keys, options);
        verifier.push_checkpoint(&note);
        verifier.finish().failure_codes()
    };
    assert_eq!(verdict(None), vec![]);
    let revoked = Some(Timestamp::from_unix(1_900_000_000, 0).unwrap());
    assert_eq!(verdict(revoked), vec![ErrorCode::CheckpointSignatureInvalid]);
}

fn json_string(text: &str) -> String {
    let quoted = String::from_utf8(evidentia::canonicalize_value(&Value::from(text)).unwrap()).unwrap();
    quoted[1..quoted.len() - 1].to_owned()
}

#[test]
fn log_verifier_checks_checkpoints_tree_nodes_and_unsigned_records() {
    let log = batch_log(12);
    let keys = KeySet::single(log.key.public_key());
    let run = |checkpoints: &[(u64, String)], stored_tree: &MemoryTree| {
        let mut verifier = LogVerifier::new(&keys, LogVerifyOptions::default());
        for (i, (record, event)) in log.records.iter().zip(&log.events).enumerate() {
            verifier.push_record(record, Some(event));
            let i = i as u64;
            let mut level = 0;
            loop {
                verifier.push_tree_node(level, i >> level, &stored_tree.node(level, i >> level).unwrap());
                if (i >> level) & 1 == 0 {
                    break;
                }
                level += 1;
            }
            for (size, note) in checkpoints {
                if *size == i + 1 {
                    verifier.push_checkpoint(note);
                }
            }
        }
        verifier.finish()
    };
    let checkpoints = vec![(5, checkpoint_note(&log, 5)), (12, checkpoint_note(&log, 12))];
    let report = run(&checkpoints, &log.tree);
    assert!(report.is_valid(), "{}", report.to_text());

    // Records after the last checkpoint are not signed.
    let report = run(&checkpoints[..1], &log.tree);
    assert_eq!(report.failure_codes(), vec![ErrorCode::RecordUnsigned]);
    assert_eq!(report.findings()[0].index, Some(5));

    // A checkpoint signed by another key, and one of another tree.
    let forger = SigningKey::from_bytes(&[13u8; 32]).unwrap();
    let forged = sign_checkpoint(&read_checkpoint(&checkpoint_note(&log, 12)).unwrap(), &forger).unwrap();
    let report = run(&[(12, forged)], &log.tree);
    assert_eq!(report.failure_codes(), vec![ErrorCode::CheckpointSignatureInvalid, ErrorCode::RecordUnsigned]);
    let report = run(&[(12, checkpoint_note(&log, 5))], &log.tree);
    assert!(report.failure_codes().contains(&ErrorCode::CheckpointMismatch));

    // A stored tree that differs from the records.
    let mut bad_tree = MemoryTree::new();
    for i in 0..12u64 {
        bad_tree.push(if i == 6 { [9u8; 32] } else { log.tree.node(0, i).unwrap() });
    }
    let report = run(&checkpoints, &bad_tree);
    assert_eq!(report.failure_codes(), vec![ErrorCode::TreeMismatch]);
    // Level 0 at 6, level 1 at 3 (leaves 6-7), level 2 at 1 (leaves 4-7), level 3 at 0 (leaves 0-7).
    assert_eq!(report.findings().len(), 4);
}
