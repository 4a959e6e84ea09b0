//! Cases of SPEC.md's packages rules (§19): the checks of a package, and
//! what a package folder or archive must be to be read at all.
//!
//! Packages are exported by the store from logs made with a fixed clock; a case
//! changes a file and, unless it is about the sums, writes `manifest.json` and
//! `SHA256SUMS` again so that only the check it aims at fails. Archives are
//! packed here with fixed times, owners and modes.

use std::collections::BTreeMap;

use evidentia::json::{Number, Value};
use evidentia::{Digest, NoteKey, NoteSigner, NoteVerifier, WitnessKey, canonicalize_value, cosignature_message};
use evidentia_store::{Log, Mode, NewEvent, export_package};

use super::fixtures::{LOG_ID, World, at, checkpoint_of, event, jwk_with, jwks, signed};
use super::logs::{Scratch, append, options, read_tree};
use super::{Input, Op, Outcome, Suite, dir, file};
use crate::util::Result;

/// A package's files in memory, with the order its `SHA256SUMS` lists them.
#[derive(Clone)]
struct Package {
    files: BTreeMap<String, Vec<u8>>,
    order: Vec<String>,
}

impl Package {
    fn new(files: BTreeMap<String, Vec<u8>>) -> Package {
        let sums = String::from_utf8(files["SHA256SUMS"].clone()).expect("text");
        let order = sums
            .lines()
            .filter_map(|l| l.split_once("  ").map(|(_, name)| name.to_owned()))
            .filter(|name| name != "manifest.json")
            .collect();
        Package { files, order }
    }

    fn text(&self, name: &str) -> String {
        String::from_utf8(self.files[name].clone()).expect("text")
    }

    /// The package with a file replaced (or added), and `manifest.json` and
    /// `SHA256SUMS` written again to match: only the checks after 1 can fail.
    fn with(&self, name: &str, bytes: impl Into<Vec<u8>>) -> Package {
        let mut out = self.clone();
        out.files.insert(name.to_owned(), bytes.into());
        if !out.order.iter().any(|n| n == name) {
            out.order.push(name.to_owned());
        }
        out.resealed()
    }

    /// The package without every file whose name starts with `prefix`, the sums
    /// written again.
    fn without_all(&self, prefix: &str) -> Package {
        let mut out = self.clone();
        out.files.retain(|name, _| !name.starts_with(prefix));
        out.order.retain(|name| !name.starts_with(prefix));
        out.resealed()
    }

    /// The package without a file, the sums written again.
    fn without(&self, name: &str) -> Package {
        let mut out = self.clone();
        out.files.remove(name);
        out.order.retain(|n| n != name);
        out.resealed()
    }

    /// A file changed or added without touching the sums.
    fn raw(&self, name: &str, bytes: impl Into<Vec<u8>>) -> Package {
        let mut out = self.clone();
        out.files.insert(name.to_owned(), bytes.into());
        out
    }

    /// A file removed without touching the sums.
    fn raw_without(&self, name: &str) -> Package {
        let mut out = self.clone();
        out.files.remove(name);
        out
    }

    /// `manifest.json` and `SHA256SUMS` as the exporter writes them.
    fn resealed(mut self) -> Package {
        let listed = self
            .order
            .iter()
            .map(|name| {
                let bytes = &self.files[name];
                Value::object([
                    ("name", Value::from(name.as_str())),
                    ("sha256", Value::from(Digest::sha256(bytes).to_hex())),
                    ("size", Value::Number(Number::from_i64(bytes.len() as i64).expect("small"))),
                ])
            })
            .collect();
        let mut manifest = canonicalize_value(&Value::object([("files", Value::Array(listed))])).expect("JSON");
        manifest.push(b'\n');
        self.files.insert("manifest.json".to_owned(), manifest);
        let sums: String = self
            .order
            .iter()
            .chain(std::iter::once(&"manifest.json".to_owned()))
            .map(|name| format!("{}  {name}\n", Digest::sha256(&self.files[name]).to_hex()))
            .collect();
        self.files.insert("SHA256SUMS".to_owned(), sums.into_bytes());
        self
    }

    fn folder(&self) -> Input {
        dir("package", "package", self.files.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// The archive of the package as the exporter packs it: `package/NAME` for each
    /// file, in the order of `SHA256SUMS`.
    fn members(&self) -> Vec<Member> {
        let mut names: Vec<&String> = self.order.iter().collect();
        let manifest = "manifest.json".to_owned();
        let sums = "SHA256SUMS".to_owned();
        names.extend([&manifest, &sums]);
        names.extend(self.files.keys().filter(|k| !names.contains(k)).collect::<Vec<_>>());
        names.into_iter().map(|n| Member::file(&format!("package/{n}"), &self.files[n.as_str()])).collect()
    }

    fn archive(&self) -> Input {
        file("package", "package.tar.gz", pack(&self.members(), b""))
    }
}

/// One member of an archive, written with a raw ustar header.
#[derive(Clone)]
struct Member {
    name: Vec<u8>,
    kind: tar::EntryType,
    data: Vec<u8>,
    link: Vec<u8>,
    /// The mode, when not tar's usual one (0755 for folders and scripts, else 0644).
    mode: Option<u32>,
    /// The header's raw size field (12 bytes), when not the octal of the data's length.
    size_field: Option<[u8; 12]>,
    /// The header's raw owner field (8 bytes), when not zero in octal.
    uid_field: Option<[u8; 8]>,
}

impl Member {
    fn file(name: &str, data: &[u8]) -> Member {
        Member::with_kind(name, tar::EntryType::Regular, data, "")
    }

    fn other(name: &str, kind: tar::EntryType, link: &str) -> Member {
        Member::with_kind(name, kind, b"", link)
    }

    fn with_kind(name: &str, kind: tar::EntryType, data: &[u8], link: &str) -> Member {
        Member {
            name: name.as_bytes().to_vec(),
            kind,
            data: data.to_vec(),
            link: link.as_bytes().to_vec(),
            mode: None,
            size_field: None,
            uid_field: None,
        }
    }
}

/// A `.tar.gz` of the members (fixed mode, owner and time), then `after` inside the
/// compressed stream after the end-of-archive blocks.
fn pack(members: &[Member], after: &[u8]) -> Vec<u8> {
    gzip(&tar_stream(members, after))
}

/// The uncompressed tar stream of [`pack`].
fn tar_stream(members: &[Member], after: &[u8]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for member in members {
        let mut header = tar::Header::new_ustar();
        // The name as it is, even absolute or with `..` (which set_path refuses).
        header.as_old_mut().name[..member.name.len()].copy_from_slice(&member.name);
        header.as_old_mut().linkname[..member.link.len()].copy_from_slice(&member.link);
        header.set_entry_type(member.kind);
        header.set_size(member.data.len() as u64);
        if let Some(field) = member.size_field {
            header.as_old_mut().size = field;
        }
        let usual = if member.name.ends_with(b".sh") || member.kind.is_dir() { 0o755 } else { 0o644 };
        header.set_mode(member.mode.unwrap_or(usual));
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if let Some(field) = member.uid_field {
            header.as_old_mut().uid = field;
        }
        header.set_cksum();
        tar.append(&header, member.data.as_slice()).expect("in memory");
    }
    let mut bytes = tar.into_inner().expect("in memory");
    bytes.extend_from_slice(after);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

/// Exports the package of record `index` of a log `build` makes (k1 valid from
/// `T0`, the suite's clock).
fn export(name: &str, mode: Mode, index: u64, build: impl FnOnce(&Log) -> evidentia::Result<()>) -> Result<Package> {
    export_after(name, mode, index, build, |_| Ok(()))
}

/// As [`export`], with `after` given the log's folder once the log is closed.
fn export_after(
    name: &str,
    mode: Mode,
    index: u64,
    build: impl FnOnce(&Log) -> evidentia::Result<()>,
    after: impl FnOnce(&std::path::Path) -> evidentia::Result<()>,
) -> Result<Package> {
    export_of(name, mode, index, evidentia::RecordVersion::V1, None, build, after)
}

/// As [`export_after`], for a log of records of `version` (the salts of version-2
/// records derived from a fixed seed); with `disclose`, the package discloses
/// those members.
fn export_of(
    name: &str,
    mode: Mode,
    index: u64,
    version: evidentia::RecordVersion,
    disclose: Option<&[String]>,
    build: impl FnOnce(&Log) -> evidentia::Result<()>,
    after: impl FnOnce(&std::path::Path) -> evidentia::Result<()>,
) -> Result<Package> {
    let scratch = Scratch::new(&format!("package-{name}"))?;
    let path = scratch.0.join("log");
    let log = Log::create(
        &path,
        &super::fixtures::key(1),
        evidentia_store::CreateOptions {
            log_id: Some(LOG_ID.to_owned()),
            key_file: None,
            mode,
            key_valid_from: Some(at(0)),
            index_fields: Vec::new(),
            // The suite's logs say their version, whatever a new log's default.
            record_version: Some(version),
            options: evidentia_store::LogOptions { salt_seed: Some([0x5A; 32]), ..options() },
        },
    )?;
    build(&log)?;
    drop(log);
    after(&path)?;
    let out = scratch.0.join("package");
    match disclose {
        Some(names) => evidentia_store::export_package_disclosing(&path, index, &out, names)?,
        None => export_package(&path, index, &out)?,
    };
    Ok(Package::new(read_tree(&out)?))
}

pub(crate) fn cases(suite: &mut Suite, world: &World) -> Result<()> {
    let (k1, k2, k3) = (&world.k1, &world.k2, &world.k3);
    let mut add = |slug: &str, why: &str, outcome: Outcome, input: Input| {
        suite.add("package", slug, Op::Package, "§19", why, outcome, vec![input]);
    };
    let (valid, invalid, refused) = (Outcome::Valid, Outcome::PackageInvalid, Outcome::PackageRefused);

    // Record 1 of five receipts by k1, with a checkpoint of all five.
    let receipts = export("receipts", Mode::Receipts, 1, |log| {
        (0..5).try_for_each(|i| append(log, k1, i))?;
        log.checkpoint(k1).map(|_| ())
    })?;
    // Record 1 of a batch-mode log of three records sealed by one checkpoint.
    let batch = export("batch", Mode::Batch, 1, |log| {
        let events: Vec<Vec<u8>> = (0..3).map(event).collect();
        let events: Vec<NewEvent<'_>> = events.iter().map(|json| NewEvent { json, nonce: None }).collect();
        log.append_batch(k1, &events, Some(at(0))).map(|_| ())
    })?;
    // Record 1 (by k1) of a log rotated to k2, whose newest checkpoint k2 signed.
    let rotated = export("rotated", Mode::Receipts, 1, |log| {
        (0..3).try_for_each(|i| append(log, k1, i))?;
        log.rotate(k1, k2, None)?;
        log.append_batch(k2, &[NewEvent { json: &event(3), nonce: None }], Some(at(61)))?;
        log.checkpoint(k2).map(|_| ())
    })?;
    // Record 1 of a batch-mode log whose key k1 then hands over to k2, which revokes
    // k1 from a time after record 1's: two key records follow record 1.
    let batch_rotated = export("batch-rotated", Mode::Batch, 1, |log| {
        let events: Vec<Vec<u8>> = (0..3).map(event).collect();
        let events: Vec<NewEvent<'_>> = events.iter().map(|json| NewEvent { json, nonce: None }).collect();
        log.append_batch(k1, &events, Some(at(0)))?;
        log.rotate(k1, k2, None)?;
        log.revoke(k2, k1.public_key().kid(), at(30), Some("keyCompromise"))?;
        log.checkpoint(k2).map(|_| ())
    })?;

    // The receipts' log, its checkpoint of five cosigned by witnesses w1 and w2 of
    // three (keys from fixed seeds, at fixed times), under a policy of two of them.
    let witnesses: Vec<(String, NoteKey)> =
        (1..=3u8).map(|i| (format!("witness.example/w{i}"), NoteKey::from_seed(&[i; 32]))).collect();
    let witness_vkey =
        |i: usize| -> Result<String> { Ok(WitnessKey::new(&witnesses[i].0, &witnesses[i].1.public_key())?.to_vkey()) };
    let log_vkey = NoteVerifier::new(LOG_ID, k1.public_key())?.to_vkey();
    let policy = |quorum: &str| -> Result<String> {
        Ok(format!(
            "log {log_vkey}\nwitness w1 {}\nwitness w2 {}\nwitness w3 {}\ngroup g {quorum} w1 w2 w3\nquorum g\n",
            witness_vkey(0)?,
            witness_vkey(1)?,
            witness_vkey(2)?
        ))
    };
    let two_of_three = policy("2")?;
    let witnessed = export_after(
        "witnessed",
        Mode::Receipts,
        1,
        |log| {
            (0..5).try_for_each(|i| append(log, k1, i))?;
            log.checkpoint(k1).map(|_| ())
        },
        |path| {
            let note = evidentia_store::LogReader::open(path)?.checkpoint_of_size(Some(5))?.note;
            let note = cosign(&note, &witnesses[0].0, &witnesses[0].1, 1_790_000_000)?;
            let note = cosign(&note, &witnesses[1].0, &witnesses[1].1, 1_790_000_060)?;
            evidentia_store::store_cosigned(path, &note, Some(&two_of_three)).map(|_| ())
        },
    )?;
    let cosigned = witnessed.text("cosigned-checkpoint.txt");

    // Valid packages.
    add(
        "receipt-package-folder",
        "A receipt's package folder as exported: every check passes, and check 8 does not apply (no timestamp).",
        valid.clone(),
        receipts.folder(),
    );
    add(
        "receipt-package-archive",
        "The same package as a .tar.gz of one folder of plain files: valid.",
        valid.clone(),
        receipts.archive(),
    );
    add(
        "batch-package-folder",
        "A batch receipt's package folder as exported (batch-receipt.json, no signing-input.txt): valid.",
        valid.clone(),
        batch.folder(),
    );
    add("batch-package-archive", "The batch receipt's package as a .tar.gz: valid.", valid.clone(), batch.archive());
    add(
        "rotated-package-with-checkpoint-key",
        "Record 1 by k1, its checkpoint signed by k2 after a rotation: the package carries the rotation (key-record-1, signed by k1), checkpoint-key.pem holds k2, the key it hands over to, so check 6 passes, and keys.jwks is the rotation's key set (check 11).",
        valid.clone(),
        rotated.folder(),
    );
    add(
        "batch-rotated-package-with-key-records",
        "Record 1 of a batch-mode log, followed by k1's rotation to k2 and k2's revocation of k1 from a later time: each key record with its batch receipt, signed by the key reached; keys.jwks is the revocation's key set, valid.",
        valid.clone(),
        batch_rotated.folder(),
    );
    let mut with_folder = vec![Member::other("package/", tar::EntryType::Directory, "")];
    with_folder.extend(receipts.members());
    add(
        "archive-with-its-folder-entry",
        "The archive also holds the entry of its top folder itself, as tar writes it: still one folder of plain files, valid.",
        valid.clone(),
        file("package", "package.tar.gz", pack(&with_folder, b"")),
    );
    let wrong_manifest = receipts.text("manifest.json").replacen("\"size\":", "\"size\":1", 1);
    let manifest_sums = receipts.text("SHA256SUMS").replace(
        &Digest::sha256(&receipts.files["manifest.json"]).to_hex(),
        &Digest::sha256(wrong_manifest.as_bytes()).to_hex(),
    );
    add(
        "manifest-wrong-but-summed",
        "manifest.json lists a wrong size for a file and SHA256SUMS holds the manifest's new hash: no check reads the manifest's contents, so valid.",
        valid.clone(),
        receipts.raw("manifest.json", wrong_manifest).raw("SHA256SUMS", manifest_sums).folder(),
    );
    add(
        "verify-sh-absent-and-unlisted",
        "verify.sh is removed from the folder and from the sums: no check needs it (a trusted copy is run), so every check passes.",
        valid.clone(),
        receipts.without("verify.sh").folder(),
    );

    // Check 1: every file matches SHA256SUMS and no file is unlisted.
    add(
        "file-changed-after-the-sums",
        "event.json is changed but SHA256SUMS is not: check 1 fails (and check 7).",
        invalid.clone(),
        receipts.raw("event.json", event(9)).folder(),
    );
    add(
        "unlisted-file",
        "A file notes.txt that SHA256SUMS does not list: check 1 fails, no file may be unlisted.",
        invalid.clone(),
        receipts.raw("notes.txt", b"hello\n".to_vec()).folder(),
    );
    add(
        "listed-file-of-no-package",
        "notes.txt listed in SHA256SUMS with its SHA-256: a package has no such file (it would be hashed and never checked), check 1 fails.",
        invalid.clone(),
        receipts.with("notes.txt", b"hello\n".to_vec()).folder(),
    );
    add(
        "listed-key-record-name-of-no-package",
        "key-record-01.json listed in SHA256SUMS (a leading zero: no key record's file): check 1 fails; check 11 does not apply.",
        invalid.clone(),
        receipts.with("key-record-01.json", b"{}".to_vec()).folder(),
    );
    add(
        "sums-missing",
        "SHA256SUMS is missing: check 1 cannot pass.",
        invalid.clone(),
        receipts.raw_without("SHA256SUMS").folder(),
    );
    add(
        "listed-file-missing",
        "verify.sh is listed in SHA256SUMS but missing from the folder: check 1 fails.",
        invalid.clone(),
        receipts.raw_without("verify.sh").folder(),
    );
    add(
        "both-receipt-and-batch-receipt",
        "The package holds receipt.jws and, listed and hashed too, batch-receipt.json: a package holds one or the other, so it fails.",
        invalid.clone(),
        receipts.with("batch-receipt.json", batch.files["batch-receipt.json"].clone()).folder(),
    );
    add(
        "archive-file-changed-after-the-sums",
        "In the archive, record.json is changed but SHA256SUMS is not: check 1 fails.",
        invalid.clone(),
        receipts.raw("record.json", receipts.text("record.json").replace("\"v\":1", "\"v\":2")).archive(),
    );

    // Check 2: the PEM and JWK are one key, canonical, whose thumbprint is the kid.
    add(
        "pem-not-canonical",
        "public-key.pem with CRLF line ends (sums updated): not the PEM as OpenSSL writes it, check 2 fails.",
        invalid.clone(),
        receipts.with("public-key.pem", receipts.text("public-key.pem").replace('\n', "\r\n")).folder(),
    );
    add(
        "jwk-not-canonical",
        "public-key.jwk with a space after its first colon (sums updated): not canonical, check 2 fails.",
        invalid.clone(),
        receipts.with("public-key.jwk", receipts.text("public-key.jwk").replacen(':', ": ", 1)).folder(),
    );
    add(
        "jwk-of-another-key",
        "public-key.jwk is k3's JWK while public-key.pem is k1's (sums updated): not one key, check 2 fails.",
        invalid.clone(),
        receipts.with("public-key.jwk", k3.public_jwk()).folder(),
    );
    add(
        "key-files-of-another-key",
        "public-key.pem and public-key.jwk are both k3's (sums updated): their thumbprint is not the record's kid, check 2 fails.",
        invalid.clone(),
        receipts.with("public-key.pem", k3.public_key().to_pem()).with("public-key.jwk", k3.public_jwk()).folder(),
    );

    // Check 3: keys.jwks has the key in force at the record's time.
    add(
        "key-expired-at-the-record",
        "keys.jwks gives k1 exp = T0 + 1 s, the time of record 1 (sums updated): not in force then, check 3 fails.",
        invalid.clone(),
        receipts.with("keys.jwks", jwks(&[jwk_with(k1, r#""exp":1800000001,"nbf":1800000000"#)])).folder(),
    );
    add(
        "key-history-without-the-key",
        "keys.jwks lists only k3 (sums updated): the record's key is not in it, check 3 fails.",
        invalid.clone(),
        receipts.with("keys.jwks", super::fixtures::set(&[k3])).folder(),
    );

    // Check 4: the signature verifies over the signing input, which is the receipt's.
    let mut der = receipts.files["signature.der"].clone();
    let n = der.len();
    der[n - 1] ^= 1;
    add(
        "signature-der-changed",
        "The last byte of signature.der changed (sums updated): the signature does not verify, check 4 fails.",
        invalid.clone(),
        receipts.with("signature.der", der).folder(),
    );
    add(
        "signing-input-not-the-receipts",
        "signing-input.txt ends in a line feed the receipt's first two parts do not have (sums updated): check 4 fails.",
        invalid.clone(),
        receipts.with("signing-input.txt", format!("{}\n", receipts.text("signing-input.txt"))).folder(),
    );
    add(
        "record-json-not-the-receipts",
        "record.json holds record 2's bytes, not those the receipt carries (sums updated): check 4 fails (and 5, 7).",
        invalid.clone(),
        receipts.with("record.json", world.record_bytes[2].clone()).folder(),
    );
    add(
        "batch-checkpoint-body-changed",
        "In a batch package, checkpoint-body.txt gains an extension line (sums updated): the signature over it fails, check 4 (and 6).",
        invalid.clone(),
        batch.with("checkpoint-body.txt", format!("{}extra\n", batch.text("checkpoint-body.txt"))).folder(),
    );

    // Check 5: the inclusion proof, canonical, from record.json to the root.
    add(
        "proof-not-canonical",
        "inclusion-proof.json with a space after its first colon (sums updated): not written canonically, check 5 fails.",
        invalid.clone(),
        receipts.with("inclusion-proof.json", receipts.text("inclusion-proof.json").replacen(':', ": ", 1)).folder(),
    );
    add(
        "proof-of-another-index",
        "inclusion-proof.json is the proof of record 2, not 1 (sums updated): its index is not the record's seq, check 5 fails.",
        invalid.clone(),
        receipts.with("inclusion-proof.json", world.proof(2, 5)).folder(),
    );

    // Check 6: checkpoint.txt is the body, an empty line and a signature by the key.
    let checkpoint = evidentia::read_checkpoint(&receipts.text("checkpoint.txt")).expect("a checkpoint");
    let by_k3 = signed(&checkpoint, k3);
    // The text of a checkpoint of 5 other records (the batch records of the suite).
    let other = signed(&checkpoint_of(&world.batch_tree, 5, LOG_ID), k1);
    let other_body = format!("{}\n", other.split_once("\n\n").expect("a note").0);
    add(
        "checkpoint-signed-by-a-stranger",
        "checkpoint.txt is the same body signed by k3 alone (sums updated): no line verifies with the record's key, check 6 fails.",
        invalid.clone(),
        receipts.with("checkpoint.txt", by_k3).folder(),
    );
    add(
        "checkpoint-body-not-the-signed-text",
        "checkpoint-body.txt has another root than checkpoint.txt signs (sums updated): check 6 fails (and 5).",
        invalid.clone(),
        receipts.with("checkpoint-body.txt", other_body).folder(),
    );
    add(
        "checkpoint-key-not-in-history",
        "checkpoint-key.pem is k3's and k3 signed checkpoint.txt (sums updated): no rotation among the key records hands over to k3, check 6 fails.",
        invalid.clone(),
        {
            let cp = evidentia::read_checkpoint(&rotated.text("checkpoint.txt")).expect("a checkpoint");
            rotated
                .with("checkpoint-key.pem", k3.public_key().to_pem())
                .with("checkpoint.txt", signed(&cp, k3))
                .folder()
        },
    );
    add(
        "checkpoint-key-not-canonical",
        "checkpoint-key.pem with CRLF line ends (sums updated): it must be written canonically, check 6 fails.",
        invalid.clone(),
        rotated.with("checkpoint-key.pem", rotated.text("checkpoint-key.pem").replace('\n', "\r\n")).folder(),
    );
    add(
        "rotated-package-without-checkpoint-key",
        "checkpoint-key.pem is removed (sums updated): the checkpoint must then verify with the record's key k1, but k2 signed it, check 6 fails.",
        invalid.clone(),
        rotated.without("checkpoint-key.pem").folder(),
    );

    // Check 11: the key history, from the record's own key.
    add(
        "rotated-package-without-key-records",
        "The rotated package without its key record (sums updated), as packages were made before they carried key records: checkpoint-key.pem (k2, a kid of keys.jwks) is a key no carried rotation hands over to, check 6 fails; check 11 does not apply.",
        invalid.clone(),
        rotated.without_all("key-record-").folder(),
    );
    let mut with_k3 = evidentia::KeySet::from_json(&rotated.text("keys.jwks")).expect("a key set");
    with_k3.add(k3.public_key(), evidentia::Validity::default()).expect("a new key");
    add(
        "key-history-keys-jwks-edited",
        "keys.jwks with k3 added (sums updated): it is not the key set the rotation signed, check 11 fails.",
        invalid.clone(),
        rotated.with("keys.jwks", with_k3.to_json()).folder(),
    );
    add(
        "key-history-first-record-missing",
        "key-record-1.json removed (sums updated), its other files kept: check 11 applies and fails, and check 6 fails (no rotation is read).",
        invalid.clone(),
        rotated.without("key-record-1.json").folder(),
    );
    add(
        "key-history-signer-key-of-a-stranger",
        "key-record-1-key.pem is k3's PEM (sums updated): not the key the history has reached (k1), check 11 fails.",
        invalid.clone(),
        rotated.with("key-record-1-key.pem", k3.public_key().to_pem()).folder(),
    );
    add(
        "key-history-record-repeated",
        "key-record-2.json and its files are key record 1's again (sums updated): its seq does not follow the one before, and k2 was reached, not k1, check 11 fails.",
        invalid.clone(),
        {
            let mut package = rotated.clone();
            for (name, bytes) in rotated.files.iter().filter(|(n, _)| n.starts_with("key-record-1")) {
                package = package.with(&name.replacen("key-record-1", "key-record-2", 1), bytes.clone());
            }
            package.folder()
        },
    );
    add(
        "key-history-file-of-the-other-mode",
        "key-record-1-checkpoint.txt added to a receipts-mode package (sums updated): a file of a key record that is not its mode's, check 11 fails.",
        invalid.clone(),
        rotated.with("key-record-1-checkpoint.txt", rotated.text("checkpoint.txt")).folder(),
    );
    add(
        "key-history-newest-record-left-out",
        "The batch package without its last key record (the revocation), keys.jwks the rotation's key set (sums updated): a package cannot show that no later key record exists (SPEC §19), valid.",
        valid.clone(),
        {
            let event = batch_rotated.text("key-record-1-event.json");
            let (start, end) = (event.find("\"keys\":").expect("keys") + 7, event.rfind(",\"kid\":\"").expect("kid"));
            batch_rotated.without_all("key-record-2").with("keys.jwks", event[start..end].to_owned()).folder()
        },
    );

    // Check 7: event.json is the event the record commits to.
    add(
        "event-edited",
        "event.json is another event (sums updated): its SHA-256 is not the record's event, check 7 fails.",
        invalid.clone(),
        receipts.with("event.json", event(9)).folder(),
    );
    add(
        "event-reformatted",
        "event.json with a space after its first colon (sums updated): the SHA-256 of the bytes is not the record's event, check 7 fails.",
        invalid.clone(),
        receipts.with("event.json", receipts.text("event.json").replacen(':', ": ", 1)).folder(),
    );

    // Check 8: applies when timestamp.tst is present.
    add(
        "timestamp-not-a-token",
        "timestamp.tst holds bytes that are no RFC 3161 token (sums updated): check 8 then applies and fails.",
        invalid.clone(),
        receipts.with("timestamp.tst", b"not a token".to_vec()).folder(),
    );

    // Not a folder of plain files, or an archive that tar would not extract as one
    // flat folder of plain files: refused before any check.
    let mut nested = receipts.files.clone();
    nested.insert("extra/notes.txt".to_owned(), b"hello\n".to_vec());
    add(
        "folder-with-a-subfolder",
        "The package folder holds a subfolder: not a folder of plain files, refused.",
        refused.clone(),
        dir("package", "package", nested.into_iter().collect()),
    );
    let archive_with = |extra: Member| {
        let mut members = receipts.members();
        members.push(extra);
        file("package", "package.tar.gz", pack(&members, b""))
    };
    add(
        "archive-symlink",
        "The archive holds a symbolic link package/link -> /etc/passwd: not a regular file, refused.",
        refused.clone(),
        archive_with(Member::other("package/link", tar::EntryType::Symlink, "/etc/passwd")),
    );
    add(
        "archive-hardlink",
        "The archive holds a hard link package/copy to package/event.json: not a regular file, refused.",
        refused.clone(),
        archive_with(Member::other("package/copy", tar::EntryType::Link, "package/event.json")),
    );
    add(
        "archive-device",
        "The archive holds a character device package/tty: not a regular file, refused.",
        refused.clone(),
        archive_with(Member::other("package/tty", tar::EntryType::Char, "")),
    );
    add(
        "archive-fifo",
        "The archive holds a FIFO package/pipe: not a regular file, refused.",
        refused.clone(),
        archive_with(Member::other("package/pipe", tar::EntryType::Fifo, "")),
    );
    add(
        "archive-duplicate-name",
        "package/event.json appears twice (tar keeps the last, so what is checked may not be what is extracted): refused.",
        refused.clone(),
        archive_with(Member::file("package/event.json", &event(9))),
    );
    add(
        "archive-duplicate-name-other-case",
        "package/Event.json besides package/event.json: the same name on a case-insensitive file system, refused.",
        refused.clone(),
        archive_with(Member::file("package/Event.json", &event(9))),
    );
    add(
        "archive-second-top-folder",
        "A member other/notes.txt outside the archive's one top folder package/: refused.",
        refused.clone(),
        archive_with(Member::file("other/notes.txt", b"hello\n")),
    );
    add(
        "archive-member-at-top-level",
        "A member notes.txt with no folder: not inside the package's folder, refused.",
        refused.clone(),
        archive_with(Member::file("notes.txt", b"hello\n")),
    );
    add(
        "archive-absolute-path",
        "A member /package/notes.txt with an absolute path: refused.",
        refused.clone(),
        archive_with(Member::file("/package/notes.txt", b"hello\n")),
    );
    add(
        "archive-dot-dot",
        "A member package/../notes.txt that leads out of the folder: refused.",
        refused.clone(),
        archive_with(Member::file("package/../notes.txt", b"hello\n")),
    );
    add(
        "archive-subfolder",
        "A member package/extra/notes.txt in a subfolder: not a flat folder of plain files, refused.",
        refused.clone(),
        archive_with(Member::file("package/extra/notes.txt", b"hello\n")),
    );
    add(
        "archive-pax-header",
        "A PAX extended header (which can rename the next member): refused, names are the headers' own.",
        refused.clone(),
        {
            let mut members = vec![Member::with_kind(
                "package/PaxHeader",
                tar::EntryType::XHeader,
                b"27 path=package/event.json\n",
                "",
            )];
            members.extend(receipts.members());
            file("package", "package.tar.gz", pack(&members, b""))
        },
    );
    add(
        "archive-data-after-the-end",
        "Non-zero bytes after the archive's end-of-archive blocks, where tar never looks: refused.",
        refused.clone(),
        file("package", "package.tar.gz", pack(&receipts.members(), &[b'x'; 512])),
    );
    add(
        "archive-too-many-files",
        "The archive holds 769 files (a package has about 20, and 7 for each key record; at most 768 are read): refused.",
        refused.clone(),
        {
            let mut members = receipts.members();
            let count = members.len();
            members.extend((count..769).map(|i| Member::file(&format!("package/extra-{i}.txt"), b"x")));
            file("package", "package.tar.gz", pack(&members, b""))
        },
    );
    add(
        "archive-not-compressed",
        "A plain tar archive, not gzip-compressed: not a .tar.gz, refused.",
        refused.clone(),
        file("package", "package.tar.gz", tar_stream(&receipts.members(), b"")),
    );
    // A member changed in place: its header, then the archive packed again.
    let archive_changing = |name: &str, change: &dyn Fn(&mut Member)| {
        let mut members = receipts.members();
        members.iter_mut().filter(|m| m.name == format!("package/{name}").as_bytes()).for_each(change);
        file("package", "package.tar.gz", pack(&members, b""))
    };
    add(
        "archive-size-field-base-64",
        "signature.der's size field is its octal length after a '+': a lenient reader sees the length, GNU tar a \
         base-64 number, so each would find the next members elsewhere in the stream (a package could show one \
         record to one and another record to the other): refused, sizes are plain octal.",
        refused.clone(),
        archive_changing("signature.der", &|m| {
            let mut field = [0u8; 12];
            field[..11].copy_from_slice(format!("+{:010o}", m.data.len()).as_bytes());
            m.size_field = Some(field);
        }),
    );
    add(
        "archive-size-field-base-256",
        "signature.der's size in base-256, which tar writes only for files of 8 GiB or more: refused, sizes are \
         plain octal.",
        refused.clone(),
        archive_changing("signature.der", &|m| {
            let mut field = [0u8; 12];
            field[0] = 0x80;
            field[4..].copy_from_slice(&(m.data.len() as u64).to_be_bytes());
            m.size_field = Some(field);
        }),
    );
    add(
        "archive-member-not-readable",
        "event.json has mode 000: extracted by an auditor's own account it could not be read, refused.",
        refused.clone(),
        archive_changing("event.json", &|m| m.mode = Some(0)),
    );
    add(
        "archive-folder-not-enterable",
        "The archive's folder entry has mode 0644: extracted by an auditor's own account it could not be entered, \
         refused.",
        refused.clone(),
        {
            let mut folder = Member::other("package/", tar::EntryType::Directory, "");
            folder.mode = Some(0o644);
            let mut members = vec![folder];
            members.extend(receipts.members());
            file("package", "package.tar.gz", pack(&members, b""))
        },
    );
    add(
        "archive-gzip-zero-padding",
        "Zero bytes after the gzip stream, as tape blocking leaves them: gzip -d ignores them and tar extracts the \
         package, valid.",
        valid.clone(),
        {
            let mut padded = pack(&receipts.members(), b"");
            padded.extend_from_slice(&[0u8; 512]);
            file("package", "package.tar.gz", padded)
        },
    );
    add(
        "archive-owner-field-not-octal",
        "event.json's owner field holds letters: GNU tar complains and exits with an error, so verify.sh would \
         not be reached: refused, the numeric fields are plain octal.",
        refused.clone(),
        archive_changing("event.json", &|m| m.uid_field = Some(*b"zzzzzzz\0")),
    );
    add(
        "archive-folder-named-in-utf-8",
        "The archive's folder is named p\u{e4}ckage (UTF-8, as export --out may name it): valid.",
        valid.clone(),
        {
            let mut members = receipts.members();
            for m in &mut members {
                m.name = ["p\u{e4}ckage".as_bytes(), &m.name["package".len()..]].concat();
            }
            file("package", "package.tar.gz", pack(&members, b""))
        },
    );
    add(
        "archive-without-end-blocks",
        "The tar stream ends after the last member, without its two zero blocks (tar extracts it): valid.",
        valid.clone(),
        {
            let mut plain = tar_stream(&receipts.members(), b"");
            while plain.ends_with(&[0u8; 512]) {
                plain.truncate(plain.len() - 512);
            }
            file("package", "package.tar.gz", gzip(&plain))
        },
    );
    add(
        "archive-too-many-gzip-members",
        "The package behind 64 empty gzip members (65 in all; millions would keep every reader busy for half \
         a minute): refused, at most 64 members are read.",
        refused.clone(),
        {
            let mut many = gzip(b"").repeat(64);
            many.extend(pack(&receipts.members(), b""));
            file("package", "package.tar.gz", many)
        },
    );
    add("archive-cut-short", "The .tar.gz cut in half: it cannot be read whole, refused.", refused, {
        let gz = pack(&receipts.members(), b"");
        file("package", "package.tar.gz", gz[..gz.len() / 2].to_vec())
    });
    // Check 12: applies when cosigned-checkpoint.txt or witness-policy.txt is present.
    add(
        "witnessed-package",
        "A witnessed log's package: cosigned-checkpoint.txt is the checkpoint with the cosignatures of w1 and w2, witness-policy.txt needs two of w1, w2 and w3, and check 12 passes.",
        valid.clone(),
        witnessed.folder(),
    );
    add("witnessed-package-archive", "The witnessed package as a .tar.gz: valid.", valid.clone(), witnessed.archive());
    add(
        "witnessed-quorum-of-all",
        "witness-policy.txt needs all three witnesses, and w3 did not cosign (sums updated): check 12 fails.",
        invalid.clone(),
        witnessed.with("witness-policy.txt", policy("all")?).folder(),
    );
    add(
        "witnessed-quorum-of-all-archive",
        "The same package as a .tar.gz: a reader of archives (the browser's too) fails check 12 alike.",
        invalid.clone(),
        witnessed.with("witness-policy.txt", policy("all")?).archive(),
    );
    add(
        "witnessed-cosignature-changed",
        "The last byte of w2's cosignature changed (sums updated): a line of a policy witness's key that does not verify fails check 12, though w1 alone would not meet the quorum anyway.",
        invalid.clone(),
        witnessed.with("cosigned-checkpoint.txt", flip_last_signature_byte(&cosigned)).folder(),
    );
    add(
        "witnessed-policy-of-another-log",
        "witness-policy.txt names another log key for the origin (k2's), which did not sign the checkpoint (sums updated): check 12 fails.",
        invalid.clone(),
        witnessed
            .with(
                "witness-policy.txt",
                two_of_three.replace(&log_vkey, &NoteVerifier::new(LOG_ID, k2.public_key())?.to_vkey()),
            )
            .folder(),
    );
    add(
        "witnessed-other-checkpoint",
        "cosigned-checkpoint.txt cosigns a checkpoint of another size, not checkpoint-body.txt (sums updated): check 12 fails.",
        invalid.clone(),
        witnessed.with("cosigned-checkpoint.txt", cosigned.replacen("\n5\n", "\n6\n", 1)).folder(),
    );
    add(
        "witnessed-policy-missing",
        "cosigned-checkpoint.txt without witness-policy.txt (sums updated): the two come together, check 12 fails.",
        invalid.clone(),
        witnessed.without("witness-policy.txt").folder(),
    );
    add(
        "witnessed-policy-malformed",
        "witness-policy.txt without its quorum line (sums updated): not a policy, check 12 fails.",
        invalid.clone(),
        witnessed.with("witness-policy.txt", two_of_three.replace("quorum g\n", "")).folder(),
    );
    disclosure_cases(&mut add, k1)?;
    erasure_cases(&mut add, k1)
}

/// Packages of a version-2 record that disclose some members (check 13).
fn disclosure_cases(add: &mut impl FnMut(&str, &str, Outcome, Input), k1: &evidentia::SigningKey) -> Result<()> {
    let event = br#"{"amount":"1250.00","currency":"EUR","iban":"DE89370400440532013000","name":"Ada Lovelace"}"#;
    let names = ["amount".to_owned(), "currency".to_owned()];
    let disclosed = export_of(
        "disclosed",
        Mode::Receipts,
        0,
        evidentia::RecordVersion::V2,
        Some(&names),
        |log| {
            log.append_batch(k1, &[NewEvent { json: event, nonce: None }], Some(at(0)))?;
            log.checkpoint(k1).map(|_| ())
        },
        |_| Ok(()),
    )?;
    let listed = disclosed.text("disclosures.txt");
    let lines: Vec<&str> = listed.lines().collect();
    add(
        "disclosing-two-members",
        "A version-2 record's package: event.json is the commitment document, disclosures.txt discloses amount and currency; name and iban stay hidden. Every check passes, check 13 among them.",
        Outcome::Valid,
        disclosed.folder(),
    );
    add(
        "disclosure-of-another-event",
        "disclosures.txt gains a disclosure of another event's member (sums updated): its digest is not one event.json lists, check 13 fails.",
        Outcome::PackageInvalid,
        disclosed
            .with("disclosures.txt", format!("{listed}WyJyRlRrdWtsRzRQbmlzWndRMGoxT3p3IiwiYW1vdW50IiwiOTk5OS4wMCJd\n"))
            .folder(),
    );
    add(
        "disclosure-listed-twice",
        "disclosures.txt lists the same disclosure twice (sums updated): check 13 fails.",
        Outcome::PackageInvalid,
        disclosed.with("disclosures.txt", format!("{listed}{}\n", lines[0])).folder(),
    );
    add(
        "disclosures-without-final-line-feed",
        "disclosures.txt's last line does not end in a line feed (sums updated): not lines, check 13 fails.",
        Outcome::PackageInvalid,
        disclosed.with("disclosures.txt", listed.trim_end_matches('\n').to_owned()).folder(),
    );
    add(
        "disclosing-one-member-fewer",
        "disclosures.txt without its first line (sums updated): a package disclosing one member only, valid.",
        Outcome::Valid,
        disclosed.with("disclosures.txt", format!("{}\n", lines[1])).folder(),
    );
    add(
        "disclosing-two-members-archive",
        "disclosing-two-members as its .tar.gz: valid.",
        Outcome::Valid,
        disclosed.archive(),
    );
    Ok(())
}

/// Packages of a version-2 record whose event was erased (check 14, SPEC.md §27.5).
fn erasure_cases(add: &mut impl FnMut(&str, &str, Outcome, Input), k1: &evidentia::SigningKey) -> Result<()> {
    // Two records, the event of the first erased by record 2, and a checkpoint of all.
    let build = |log: &Log| {
        for event in [&br#"{"holder":"Ada Lovelace","iban":"DE89370400440532013000"}"#[..], br#"{"status":"kept"}"#] {
            log.append_batch(k1, &[NewEvent { json: event, nonce: None }], Some(at(0)))?;
        }
        log.erase(k1, 0, "GDPR Art. 17 request 2026-118")?;
        log.checkpoint(k1).map(|_| ())
    };
    let erased = export_of("erased", Mode::Receipts, 0, evidentia::RecordVersion::V2, None, build, |_| Ok(()))?;
    let kept = export_of("kept", Mode::Receipts, 1, evidentia::RecordVersion::V2, None, build, |_| Ok(()))?;
    add(
        "erased-record",
        "The package of a version-2 record whose event was erased by record 2: no event.json, but the erasure record, its event and its inclusion proof in the same checkpoint. Check 7 does not apply; every other check passes, check 14 among them.",
        Outcome::Valid,
        erased.folder(),
    );
    add("erased-record-archive", "erased-record as its .tar.gz: valid.", Outcome::Valid, erased.archive());
    add(
        "erased-record-with-an-event",
        "erased-record with an event.json put back (sums updated): a package shows an event or its erasure, never both; checks 7 and 14 fail.",
        Outcome::PackageInvalid,
        erased.with("event.json", r#"{"holder":"Ada Lovelace"}"#.to_owned()).folder(),
    );
    add(
        "erased-record-without-its-erasure",
        "erased-record without its three erasure files (sums updated): nothing explains the missing event.json, check 7 fails.",
        Outcome::PackageInvalid,
        erased.without_all("erasure-").folder(),
    );
    add(
        "erasure-record-is-the-record",
        "erasure-record.json replaced by record.json's bytes (sums updated): not a later record of the log, check 14 fails.",
        Outcome::PackageInvalid,
        erased.with("erasure-record.json", erased.text("record.json")).folder(),
    );
    add(
        "erasure-proof-of-another-leaf",
        "erasure-inclusion-proof.json claims leaf 1 instead of 2 (sums updated): it does not lead from erasure-record.json to the root, check 14 fails.",
        Outcome::PackageInvalid,
        erased
            .with(
                "erasure-inclusion-proof.json",
                erased.text("erasure-inclusion-proof.json").replace(r#""leaf_index":2"#, r#""leaf_index":1"#),
            )
            .folder(),
    );
    add(
        "erasure-files-beside-an-event",
        "The package of record 1, never erased, with erasure-event.json and erasure-inclusion-proof.json added but no erasure-record.json (sums updated): the erasure's files come together, check 14 fails.",
        Outcome::PackageInvalid,
        kept.with("erasure-event.json", erased.text("erasure-event.json"))
            .with("erasure-inclusion-proof.json", erased.text("erasure-inclusion-proof.json"))
            .folder(),
    );
    add(
        "erasure-by-a-revoked-key",
        "erased-record with keys.jwks revoking the key from 08:00:30, after the record (08:00:00) and before its erasure record (08:01:00) (sums updated): the record's key is in force (check 3), the erasure's is not, check 14 fails.",
        Outcome::PackageInvalid,
        erased
            .with(
                "keys.jwks",
                erased.text("keys.jwks").replace(
                    r#""nbf":1800000000,"#,
                    r#""nbf":1800000000,"revoked":{"reason":"keyCompromise","revoked_at":1800000030},"#,
                ),
            )
            .folder(),
    );
    let jwks = erased.text("keys.jwks");
    let entry = jwks.strip_prefix(r#"{"keys":["#).and_then(|rest| rest.strip_suffix("]}")).expect("one key");
    let revoked = entry.replace(
        r#""nbf":1800000000,"#,
        r#""nbf":1800000000,"revoked":{"reason":"keyCompromise","revoked_at":1800000030},"#,
    );
    add(
        "key-listed-twice-once-revoked",
        "erased-record with keys.jwks listing the key twice, the second time revoked from 08:00:30, between the record and its erasure record (sums updated): a key set that lists a kid twice is malformed (§4), checks 3 and 14 fail.",
        Outcome::PackageInvalid,
        erased.with("keys.jwks", format!(r#"{{"keys":[{entry},{revoked}]}}"#)).folder(),
    );
    Ok(())
}

/// The note with a `cosignature/v1` line of the witness key `key` (named `name`)
/// at `time` added.
fn cosign(note: &str, name: &str, key: &NoteKey, time: u64) -> evidentia::Result<String> {
    let body = note.find("\n\n").map_or(note, |end| &note[..=end]);
    let mut line = WitnessKey::new(name, &key.public_key())?.key_hash().to_vec();
    line.extend_from_slice(&time.to_be_bytes());
    line.extend_from_slice(&key.sign(cosignature_message(body, time).as_bytes())?);
    Ok(format!("{note}\u{2014} {name} {}\n", evidentia::encoding::b64(&line)))
}

/// The note with the last byte of its last signature line's signature changed.
fn flip_last_signature_byte(note: &str) -> String {
    let body = note.trim_end_matches('\n');
    let (head, last) = body.rsplit_once(' ').expect("a signature line");
    let mut bytes = evidentia::encoding::b64_decode(last).expect("base64");
    if let Some(byte) = bytes.last_mut() {
        *byte ^= 1;
    }
    format!("{head} {}\n", evidentia::encoding::b64(&bytes))
}
