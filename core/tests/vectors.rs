//! Runs the generated language-neutral vectors in `testvectors/` against the core,
//! exactly as every binding runs them.

#![allow(clippy::unwrap_used)]

mod common;

use common::{hex, read_json, str_of, unhex};
use evidentia::json::Value;
use evidentia::{
    ChainState, Digest, ErrorCode, JwsOptions, KeySet, LogVerifyOptions, PublicKey, SigningKey, Timestamp,
    canonicalize, issue_receipt, sign_jws, verify_jws, verify_log, verify_receipt,
};

fn array<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name).and_then(Value::as_array).unwrap_or_else(|| panic!("missing array {name}"))
}

fn opt_str<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

fn names(v: &Value, name: &str) -> Vec<String> {
    array(v, name).iter().map(|c| c.as_str().unwrap().to_owned()).collect()
}

fn code_names(codes: Vec<ErrorCode>) -> Vec<String> {
    codes.into_iter().map(|c| c.name().to_owned()).collect()
}

fn key(keys: &Value, name: &str) -> SigningKey {
    let entry = array(keys, "keys").iter().find(|k| str_of(k, "name") == name).unwrap();
    SigningKey::from_jwk(str_of(entry, "private_jwk")).unwrap()
}

#[test]
fn canonicalization() {
    let doc = read_json("canonicalization.json");
    for case in array(&doc, "cases") {
        let input = unhex(str_of(case, "input_hex"));
        let result = canonicalize(&input);
        match (opt_str(case, "canonical"), opt_str(case, "error")) {
            (Some(expected), None) => assert_eq!(result.unwrap(), expected.as_bytes(), "{}", str_of(case, "name")),
            (None, Some(code)) => assert_eq!(result.unwrap_err().code().name(), code, "{}", str_of(case, "name")),
            _ => panic!("malformed case"),
        }
    }
}

#[test]
fn digests() {
    let doc = read_json("digests.json");
    for case in array(&doc, "json") {
        let input = str_of(case, "input").as_bytes();
        assert_eq!(canonicalize(input).unwrap(), str_of(case, "canonical").as_bytes());
        assert_eq!(Digest::of_json(input).unwrap().to_string(), str_of(case, "digest"));
    }
    for case in array(&doc, "raw") {
        assert_eq!(Digest::sha256(&unhex(str_of(case, "input_hex"))).to_string(), str_of(case, "digest"));
    }
}

#[test]
fn keys() {
    let doc = read_json("keys.json");
    for entry in array(&doc, "keys") {
        let key = SigningKey::from_jwk(str_of(entry, "private_jwk")).unwrap();
        assert_eq!(key.to_jwk(), str_of(entry, "private_jwk"));
        assert_eq!(key.public_jwk(), str_of(entry, "public_jwk"));
        assert_eq!(key.to_pem(), str_of(entry, "private_pem"));
        assert_eq!(key.kid(), str_of(entry, "kid"));
        assert_eq!(hex(&key.to_bytes()), str_of(entry, "private_scalar_hex"));
        assert_eq!(SigningKey::from_pem(str_of(entry, "private_pem")).unwrap().kid(), key.kid());
        let public = PublicKey::from_pem(str_of(entry, "public_pem")).unwrap();
        assert_eq!(&public, key.public_key());
        assert_eq!(public.to_pem(), str_of(entry, "public_pem"));
        for form in ["public_sec1_uncompressed_hex", "public_sec1_compressed_hex"] {
            assert_eq!(&PublicKey::from_sec1(&unhex(str_of(entry, form))).unwrap(), key.public_key());
        }
    }
    for case in array(&doc, "invalid_private_keys") {
        let err = SigningKey::from_text(str_of(case, "input")).unwrap_err();
        assert_eq!(err.code().name(), str_of(case, "error"), "{}", str_of(case, "name"));
    }
    for case in array(&doc, "invalid_key_sets") {
        let err = KeySet::from_json(str_of(case, "input")).unwrap_err();
        assert_eq!(err.code().name(), str_of(case, "error"), "{}", str_of(case, "name"));
    }
}

#[test]
fn jws() {
    let keys = read_json("keys.json");
    let doc = read_json("jws.json");
    for case in array(&doc, "sign") {
        let key = key(&keys, str_of(case, "key"));
        let options = JwsOptions {
            detached: case.get("detached").and_then(Value::as_bool).unwrap(),
            unencoded: case.get("unencoded").and_then(Value::as_bool).unwrap(),
        };
        assert_eq!(sign_jws(&key, &unhex(str_of(case, "payload_hex")), options).unwrap(), str_of(case, "jws"));
    }
    for case in array(&doc, "verify") {
        let name = str_of(case, "name");
        let keys = KeySet::from_json(str_of(case, "jwks")).unwrap();
        let payload = opt_str(case, "payload_hex").map(unhex);
        let result = verify_jws(str_of(case, "jws"), &keys, payload.as_deref(), None);
        if case.get("valid").and_then(Value::as_bool).unwrap() {
            let verified = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(hex(&verified.payload), str_of(case, "verified_payload_hex"), "{name}");
            assert_eq!(verified.kid, str_of(case, "kid"), "{name}");
        } else {
            assert_eq!(result.unwrap_err().code().name(), str_of(case, "error"), "{name}");
        }
    }
}

#[test]
fn receipts() {
    let keys = read_json("keys.json");
    let doc = read_json("receipts.json");
    let signer = key(&keys, str_of(&doc, "key"));
    let mut chain = ChainState::new(str_of(&doc, "log_id")).unwrap();
    for entry in array(&doc, "issue") {
        let time = Timestamp::parse(str_of(entry, "time")).unwrap();
        let issued =
            issue_receipt(&signer, &mut chain, str_of(entry, "event").as_bytes(), time, opt_str(entry, "nonce"))
                .unwrap();
        assert_eq!(issued.event, str_of(entry, "canonical_event").as_bytes());
        assert_eq!(issued.receipt.record_bytes(), str_of(entry, "record").as_bytes());
        assert_eq!(issued.receipt.record().event.to_string(), str_of(entry, "event_digest"));
        assert_eq!(issued.receipt.record().digest().to_string(), str_of(entry, "record_digest"));
        assert_eq!(issued.receipt.as_str(), str_of(entry, "receipt"));
    }
    for case in array(&doc, "verify") {
        let name = str_of(case, "name");
        let keys = KeySet::from_json(str_of(case, "jwks")).unwrap();
        let result = verify_receipt(str_of(case, "receipt"), &keys, opt_str(case, "event").map(str::as_bytes));
        match opt_str(case, "error") {
            Some(code) => assert_eq!(result.unwrap_err().code().name(), code, "{name}"),
            None => {
                let report = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(report.is_valid(), case.get("valid").and_then(Value::as_bool).unwrap(), "{name}");
                assert_eq!(code_names(report.failure_codes()), names(case, "failures"), "{name}");
            }
        }
    }
}

#[test]
fn logs() {
    let doc = read_json("logs.json");
    let keys = KeySet::from_json(str_of(&doc, "jwks")).unwrap();
    for case in array(&doc, "cases") {
        let name = str_of(case, "name");
        let entries: Vec<(&str, &[u8])> =
            array(case, "entries").iter().map(|e| (str_of(e, "receipt"), str_of(e, "event").as_bytes())).collect();
        let report = verify_log(entries.iter().map(|(r, e)| (*r, Some(*e))), &keys, LogVerifyOptions::default());
        assert_eq!(report.is_valid(), case.get("valid").and_then(Value::as_bool).unwrap(), "{name}");
        let findings: Vec<(String, Option<u64>)> =
            report.findings().iter().map(|f| (f.code.name().to_owned(), f.index)).collect();
        let expected: Vec<(String, Option<u64>)> = array(case, "findings")
            .iter()
            .map(|f| {
                (str_of(f, "code").to_owned(), f.get("index").and_then(Value::as_number).and_then(|n| n.as_safe_u64()))
            })
            .collect();
        assert_eq!(findings, expected, "{name}");
    }
}

#[test]
fn commitments() {
    let doc = read_json("commitments.json");
    for case in array(&doc, "commitments") {
        let event = evidentia::json::parse(str_of(case, "event").as_bytes()).unwrap();
        let c = evidentia::commit(&event, &unhex(str_of(case, "salt_hex"))).unwrap();
        assert_eq!(c.document, str_of(case, "commitment").as_bytes(), "{}", str_of(case, "name"));
        assert_eq!(c.digest().to_string(), str_of(case, "event_digest"));
        let expected = array(case, "disclosures");
        assert_eq!(c.disclosures.len(), expected.len());
        for (made, want) in c.disclosures.iter().zip(expected) {
            assert_eq!((made.name(), made.encoded()), (opt_str(want, "name"), str_of(want, "disclosure")));
            assert_eq!(made.digest(), str_of(want, "digest"));
        }
    }
    for case in array(&doc, "checks") {
        let given: Vec<&str> = array(case, "disclosures").iter().map(|d| d.as_str().unwrap()).collect();
        let digest = Digest::parse(str_of(case, "event_digest")).unwrap();
        let result = evidentia::check_disclosures(&digest, str_of(case, "commitment").as_bytes(), &given);
        match (case.get("disclosed"), opt_str(case, "error")) {
            (Some(disclosed), None) => {
                let shown = result.unwrap();
                assert_eq!(&shown.event(), disclosed, "{}", str_of(case, "name"));
                assert_eq!(
                    Some(shown.undisclosed as u64),
                    case.get("undisclosed").and_then(|u| u.as_number()).and_then(|u| u.as_safe_u64())
                );
            }
            (None, Some(code)) => assert_eq!(result.unwrap_err().code().name(), code, "{}", str_of(case, "name")),
            _ => panic!("malformed case"),
        }
    }
    for case in array(&doc, "keyed_hashes") {
        let result = evidentia::keyed_hash(&unhex(str_of(case, "key_hex")), &unhex(str_of(case, "data_hex")));
        match (opt_str(case, "keyed_hash"), opt_str(case, "error")) {
            (Some(expected), None) => assert_eq!(result.unwrap(), expected, "{}", str_of(case, "name")),
            (None, Some(code)) => assert_eq!(result.unwrap_err().code().name(), code, "{}", str_of(case, "name")),
            _ => panic!("malformed case"),
        }
    }
}

#[test]
fn errors() {
    let doc = read_json("errors.json");
    let codes = array(&doc, "codes");
    assert_eq!(codes.len(), ErrorCode::ALL.len());
    for (entry, code) in codes.iter().zip(ErrorCode::ALL) {
        let number = entry.get("code").and_then(Value::as_number).and_then(|n| n.as_safe_u64()).unwrap();
        assert_eq!(number, u64::from(*code as u16));
        assert_eq!(str_of(entry, "name"), code.name());
    }
}

fn b64(text: &str) -> Vec<u8> {
    evidentia::encoding::b64_decode(text).unwrap()
}

#[test]
fn merkle() {
    use evidentia::merkle::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash, root};
    use evidentia::{ConsistencyProof, InclusionProof};
    let doc = read_json("merkle.json");
    let data: Vec<Vec<u8>> = array(&doc, "leaves").iter().map(|l| unhex(str_of(l, "data_hex"))).collect();
    for (leaf, d) in array(&doc, "leaves").iter().zip(&data) {
        assert_eq!(b64(str_of(leaf, "leaf_hash")), leaf_hash(d));
    }
    let tree = MemoryTree::from_leaf_hashes(data.iter().map(|d| leaf_hash(d)));
    let roots: Vec<Vec<u8>> = array(&doc, "roots").iter().map(|r| b64(r.as_str().unwrap())).collect();
    for (size, expected) in roots.iter().enumerate() {
        assert_eq!(&root(&tree, size as u64).unwrap().to_vec(), expected);
    }
    assert_eq!(b64(str_of(&doc, "empty_root")), roots[0]);
    for case in array(&doc, "inclusion") {
        let proof = InclusionProof::from_json(str_of(case, "proof")).unwrap();
        assert_eq!(proof.hashes, inclusion_proof(&tree, proof.leaf_index, proof.tree_size).unwrap());
        assert_eq!(proof.to_json().unwrap(), str_of(case, "proof"));
        let r: [u8; 32] = roots[proof.tree_size as usize].clone().try_into().unwrap();
        proof.verify(&leaf_hash(&data[proof.leaf_index as usize]), &r).unwrap();
    }
    for case in array(&doc, "consistency") {
        let proof = ConsistencyProof::from_json(str_of(case, "proof")).unwrap();
        assert_eq!(proof.hashes, consistency_proof(&tree, proof.old_size, proof.new_size).unwrap());
        let old: [u8; 32] = roots[proof.old_size as usize].clone().try_into().unwrap();
        let new: [u8; 32] = roots[proof.new_size as usize].clone().try_into().unwrap();
        proof.verify(&old, &new).unwrap();
    }
    let r13: [u8; 32] = roots[13].clone().try_into().unwrap();
    for case in array(&doc, "invalid_inclusion") {
        let error = InclusionProof::from_json(str_of(case, "proof")).and_then(|p| p.verify(&leaf_hash(&data[5]), &r13));
        assert_eq!(error.unwrap_err().code().name(), str_of(case, "error"), "{}", str_of(case, "name"));
    }
}

#[test]
fn checkpoints() {
    use evidentia::{Checkpoint, NoteVerifier, sign_checkpoint, verify_checkpoint_with_keys};
    let keys = read_json("keys.json");
    let doc = read_json("checkpoints.json");
    let body = Checkpoint::from_text(str_of(&doc, "body")).unwrap();
    assert_eq!(body.origin, str_of(&doc, "origin"));
    assert_eq!(b64(str_of(&doc, "root")), body.root);
    assert_eq!(sign_checkpoint(&body, &key(&keys, "key1")).unwrap(), str_of(&doc, "signed_note"));
    let verifier = NoteVerifier::from_vkey(str_of(&doc, "vkey")).unwrap();
    evidentia::verify_checkpoint(str_of(&doc, "signed_note"), &[verifier]).unwrap();
    let jwks = KeySet::from_json(str_of(&doc, "jwks")).unwrap();
    for case in array(&doc, "verify") {
        let result = verify_checkpoint_with_keys(str_of(case, "note"), &jwks);
        match case.get("valid").and_then(Value::as_bool).unwrap() {
            true => {
                assert_eq!(result.unwrap().size, case.get("size").unwrap().as_number().unwrap().as_safe_u64().unwrap())
            }
            false => assert_eq!(result.unwrap_err().code().name(), str_of(case, "error"), "{}", str_of(case, "name")),
        }
    }
}

#[test]
fn batch_receipts() {
    use evidentia::merkle::{MemoryTree, leaf_hash};
    use evidentia::{BatchReceipt, verify_batch_receipt};
    let doc = read_json("batch_receipts.json");
    let note = str_of(&doc, "checkpoint");
    let issue = array(&doc, "issue");
    let tree = MemoryTree::from_leaf_hashes(issue.iter().map(|e| leaf_hash(str_of(e, "record").as_bytes())));
    for (i, entry) in issue.iter().enumerate() {
        let record = str_of(entry, "record").as_bytes();
        let proof = evidentia::InclusionProof {
            leaf_index: i as u64,
            tree_size: issue.len() as u64,
            hashes: evidentia::merkle::inclusion_proof(&tree, i as u64, issue.len() as u64).unwrap(),
        };
        assert_eq!(BatchReceipt::new(record, proof, note).unwrap().to_json(), str_of(entry, "batch_receipt"));
    }
    for case in array(&doc, "verify") {
        let name = str_of(case, "name");
        let keys = KeySet::from_json(str_of(case, "jwks")).unwrap();
        let result =
            verify_batch_receipt(str_of(case, "batch_receipt"), &keys, opt_str(case, "event").map(str::as_bytes));
        match opt_str(case, "error") {
            Some(code) => assert_eq!(result.unwrap_err().code().name(), code, "{name}"),
            None => {
                let report = result.unwrap();
                assert_eq!(report.is_valid(), case.get("valid").and_then(Value::as_bool).unwrap(), "{name}");
                assert_eq!(code_names(report.failure_codes()), names(case, "failures"), "{name}");
            }
        }
    }
}
