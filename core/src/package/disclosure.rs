//! Check 13 of a package (SPEC.md §19): the members a package of a version-2
//! record discloses are members of the commitment the record signed.

use crate::commitment::check_disclosures;
use crate::digest::Digest;

/// The file of disclosures: one per line, each base64url, each line ending in a
/// line feed.
pub(crate) const DISCLOSURES_FILE: &str = "disclosures.txt";

pub(crate) const DISCLOSURE_CHECK: &str = "the disclosed members are members of the event the record commits to";

/// The bytes of `disclosures.txt`.
pub(crate) fn disclosures_file(disclosures: &[String]) -> Vec<u8> {
    disclosures.iter().flat_map(|d| [d.as_bytes(), b"\n"].concat()).collect()
}

/// What the package's disclosures show, when check 13 passes: `{"disclosed": the
/// members shown, "names", "undisclosed": how many stay hidden}` (as
/// [`crate::Disclosed::to_value`]); `None` without `disclosures.txt` or when it
/// fails.
pub(crate) fn disclosed<'f>(file: &impl Fn(&str) -> Option<&'f [u8]>) -> Option<crate::json::Value> {
    let text = std::str::from_utf8(file(DISCLOSURES_FILE)?).ok()?;
    let disclosures: Vec<&str> = text.strip_suffix('\n')?.split('\n').collect();
    let event = file("event.json")?;
    check_disclosures(&Digest::sha256(event), event, &disclosures).ok().map(|d| d.to_value())
}

/// Check 13, when the package has `disclosures.txt`: it is lines of base64url,
/// event.json is a commitment document (SPEC.md §26) whose SHA-256 the record
/// holds (check 7), and each disclosure is one the document lists, no member twice.
/// The detail names the members disclosed and counts those still hidden.
pub(crate) fn check<'f>(file: &impl Fn(&str) -> Option<&'f [u8]>) -> Option<std::result::Result<String, String>> {
    let listed = file(DISCLOSURES_FILE)?;
    Some((|| {
        let text = std::str::from_utf8(listed).map_err(|_| format!("{DISCLOSURES_FILE} is not text"))?;
        let lines = text
            .strip_suffix('\n')
            .filter(|body| !body.is_empty())
            .ok_or_else(|| format!("{DISCLOSURES_FILE} is not lines, each ending in a line feed"))?;
        let disclosures: Vec<&str> = lines.split('\n').collect();
        if disclosures
            .iter()
            .any(|d| d.is_empty() || !d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(format!("{DISCLOSURES_FILE} has a line that is not base64url"));
        }
        // Only a version-2 record commits to its event member by member: for a
        // version-1 record, event.json is the event itself, whatever it looks like.
        let record = file("record.json").and_then(|r| crate::record::Record::from_bytes(r).ok());
        if record.map(|r| r.version) != Some(crate::record::RecordVersion::V2) {
            return Err(
                "record.json is not a record of version 2, whose event is committed member by member".to_owned()
            );
        }
        let event = file("event.json").ok_or("event.json is missing")?;
        // Check 7 compares event.json with the record; this one reads what it lists.
        let disclosed = check_disclosures(&Digest::sha256(event), event, &disclosures).map_err(|e| e.to_string())?;
        let names: Vec<String> = disclosed
            .disclosures
            .iter()
            .map(|d| d.name().map_or_else(|| "the whole event".to_owned(), |n| format!("{n:?}")))
            .collect();
        Ok(format!(
            "discloses {} ({} of {} members; the others stay hidden behind their salts)",
            names.join(", "),
            disclosed.disclosures.len(),
            disclosed.disclosures.len() + disclosed.undisclosed
        ))
    })())
}

#[cfg(test)]
mod tests {
    use crate::checkpoint::{Checkpoint, sign_checkpoint};
    use crate::commitment::commit_json;
    use crate::digest::Digest;
    use crate::jwks::KeySet;
    use crate::keys::SigningKey;
    use crate::merkle::{InclusionProof, MemoryTree, inclusion_proof, leaf_hash};
    use crate::package::{PackageFile, PackageInput, build_package, verify_package};
    use crate::record::{ChainState, Receipt, RecordVersion};
    use crate::time::Timestamp;

    /// The package of a version-2 record disclosing `names` (all when `None`).
    fn package(names: Option<&[String]>) -> Vec<PackageFile> {
        let key = SigningKey::from_bytes(&[9u8; 32]).unwrap();
        let event = br#"{"amount":"1250.00","currency":"EUR","iban":"DE89370400440532013000","name":"Ada Lovelace"}"#;
        let commitment = commit_json(event, &[4u8; 16]).unwrap();
        let mut chain = ChainState::new("example.com/disclose").unwrap();
        let time = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let chained = chain.append_of(RecordVersion::V2, key.kid(), commitment.digest(), time, None).unwrap();
        let receipt = Receipt::sign(&key, &chained.record).unwrap();
        let tree = MemoryTree::from_leaf_hashes([leaf_hash(&chained.bytes)]);
        let checkpoint =
            Checkpoint { origin: "example.com/disclose".into(), size: 1, root: tree.root(), extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, &key).unwrap();
        let proof = InclusionProof { leaf_index: 0, tree_size: 1, hashes: inclusion_proof(&tree, 0, 1).unwrap() };
        let keys = KeySet::single(key.public_key());
        let committed =
            crate::stored_event::CommittedEvent { bytes: commitment.document.clone(), commitment: Some(commitment) };
        let disclosures = committed.disclosures(names).unwrap();
        build_package(PackageInput {
            receipt: receipt.as_str(),
            event: &committed.bytes,
            disclosures: &disclosures,
            keys: &keys,
            proof: Some(&proof),
            checkpoint: Some(&note),
            timestamp: None,
            exported_at: None,
            request: None,
            key_records: &[],
            witnesses: None,
            erasure: None,
        })
        .unwrap()
    }

    fn failed(files: &[PackageFile]) -> Vec<u8> {
        verify_package(files).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect()
    }

    /// The files with SHA256SUMS (and the manifest) made again for their bytes, as
    /// someone who changed a file would.
    fn resummed(files: &[PackageFile]) -> Vec<PackageFile> {
        let mut files: Vec<PackageFile> = files.iter().filter(|f| f.name != "SHA256SUMS").cloned().collect();
        let sums: String =
            files.iter().map(|f| format!("{}  {}\n", Digest::sha256(&f.bytes).to_hex(), f.name)).collect();
        files.push(PackageFile { name: "SHA256SUMS".into(), bytes: sums.into_bytes() });
        files
    }

    #[test]
    fn a_package_discloses_the_members_asked_for_and_every_changed_byte_is_caught() {
        let names = ["amount".to_owned(), "currency".to_owned()];
        let files = package(Some(&names));
        let checks = verify_package(&files);
        assert!(checks.iter().all(|c| c.failure.is_none()), "{checks:?}");
        let detail = checks.iter().find(|c| c.number == 13).and_then(|c| c.detail.clone()).unwrap();
        assert!(detail.contains(r#""amount", "currency" (2 of 4 members"#), "{detail}");
        // Nothing of the members not disclosed is in any file.
        for file in &files {
            for hidden in [&b"Ada Lovelace"[..], b"DE89370400440532013000", b"iban"] {
                assert!(!file.bytes.windows(hidden.len()).any(|w| w == hidden), "{} holds {hidden:?}", file.name);
            }
        }
        let mut changes = 0;
        for (i, file) in files.iter().enumerate() {
            if !["disclosures.txt", "event.json"].contains(&file.name.as_str()) {
                continue;
            }
            for at in 0..file.bytes.len() {
                for flip in [0x01, 0x20] {
                    let mut changed = files.clone();
                    changed[i].bytes[at] ^= flip;
                    assert!(failed(&changed).contains(&1), "{} byte {at}", file.name);
                    // With SHA256SUMS made again, the disclosure or the event check fails.
                    let failures = failed(&resummed(&changed));
                    assert!(failures.contains(&13) || failures.contains(&7), "{} byte {at}: {failures:?}", file.name);
                    changes += 1;
                }
            }
        }
        assert!(changes > 500, "{changes}");
        // A disclosure taken out, or one of another event put in.
        let mut fewer = files.clone();
        let listed = fewer.iter_mut().find(|f| f.name == "disclosures.txt").unwrap();
        let first_line = listed.bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        listed.bytes.drain(..first_line);
        assert!(failed(&resummed(&fewer)).is_empty(), "disclosing fewer members is a package of its own");
        let mut foreign = files.clone();
        let listed = foreign.iter_mut().find(|f| f.name == "disclosures.txt").unwrap();
        let other = commit_json(br#"{"amount":"9999.00"}"#, &[4u8; 16]).unwrap();
        listed.bytes.extend_from_slice(format!("{}\n", other.disclosures[0].encoded()).as_bytes());
        assert_eq!(failed(&resummed(&foreign)), [13]);
    }

    #[test]
    fn a_full_package_discloses_every_member() {
        let files = package(None);
        let checks = verify_package(&files);
        assert!(checks.iter().all(|c| c.failure.is_none()), "{checks:?}");
        let detail = checks.iter().find(|c| c.number == 13).and_then(|c| c.detail.clone()).unwrap();
        assert!(detail.contains("(4 of 4 members"), "{detail}");
    }
}
