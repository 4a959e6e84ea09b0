//! The key history a package carries (SPEC.md §19 check 11, §23): every key record
//! that follows the packaged record in the log, each with the signature that makes it
//! the log's own, so that `keys.jwks` — which check 3 reads — is shown to be the key
//! set the log last signed, and the key that signed the checkpoint (check 6) is one
//! the log handed over to. Trust starts at the record's own key, the one key the
//! record vouches for; each key record must be signed by the key the chain has reached
//! (a rotation by the key it hands over from, which hands over to its `next`).
//!
//! The checks read the event as text, as `verify.sh` does: a key record is signed by
//! the key in force, so its bytes are its signer's statement, and both verifiers must
//! give the same verdict on the same bytes.

use super::{PackageFile, batch_receipt_of, check_receipt_files, receipt_parts};
use crate::batch::BatchReceipt;
use crate::digest::Digest;
use crate::error::{Error, ErrorCode, Result};
use crate::jwks::KeySet;
use crate::keyrecord::KeyRecord;
use crate::keys::PublicKey;
use crate::merkle::InclusionProof;
use crate::record::{Receipt, Record};

/// What check 11 establishes.
pub(super) const KEY_HISTORY_CHECK: &str =
    "keys.jwks is the key set the log's key records signed, each signed by a key reached from the record's key";

/// The most key records a package carries (`key-record-1` to `key-record-99`).
pub const MAX_PACKAGE_KEY_RECORDS: usize = 99;

/// A key record that follows the packaged record in the log: its receipt (a compact
/// JWS) or batch receipt, exactly as issued, and its event's bytes.
#[derive(Clone, Copy, Debug)]
pub struct PackageKeyRecord<'a> {
    /// The receipt or batch receipt.
    pub receipt: &'a str,
    /// The event's canonical JSON bytes.
    pub event: &'a [u8],
}

/// What a package of a record carries of its log's key history (SPEC.md §19 checks 6
/// and 11): the key records, and the keys check 6 accepts as its checkpoint's signer.
#[derive(Debug)]
pub struct PackageKeys<'a> {
    /// The key records the package carries: every one that follows the record, or
    /// none when they do not start from the record's key (a key the log retired
    /// before it had key records).
    pub key_records: &'a [PackageKeyRecord<'a>],
    /// The record's key, then each key a carried rotation hands over to that the key
    /// history does not revoke.
    pub checkpoint_keys: Vec<PublicKey>,
}

impl PackageKeys<'_> {
    /// Whether one of [`Self::checkpoint_keys`] signed `note` for `log_id`.
    pub fn signed(&self, note: &str, log_id: &str) -> bool {
        self.checkpoint_keys.iter().any(|key| crate::checkpoint::note_signature_by(note, log_id, key).is_ok())
    }
}

/// The key history a package of the record `receipt` (with its `event`) carries, from
/// the key records that follow it in the log, in order, and the log's key set.
///
/// # Errors
/// The code of a receipt that cannot be read; [`ErrorCode::KeyNotFound`] for a key the
/// key set does not hold.
pub fn package_keys<'a>(
    receipt: &str,
    event: &[u8],
    key_records: &'a [PackageKeyRecord<'a>],
    keys: &KeySet,
) -> Result<PackageKeys<'a>> {
    let record = record_of(receipt)?;
    let (start, own_next) = start_key(&record.kid, event);
    let key_records = match key_records.first() {
        Some(first) if record_of(first.receipt)?.kid != start => &[][..],
        _ => key_records,
    };
    let handed_over = own_next
        .into_iter()
        .chain(key_records.iter().filter_map(|r| read_event_text(r.event)?.next.map(<[u8]>::to_vec)));
    let mut checkpoint_keys = vec![keys.select(Some(&record.kid))?.0.clone()];
    for kid in handed_over {
        let kid = String::from_utf8_lossy(&kid).into_owned();
        let (key, validity) = keys.select(Some(&kid))?;
        if validity.revoked_at.is_none() && !checkpoint_keys.contains(key) {
            checkpoint_keys.push(key.clone());
        }
    }
    Ok(PackageKeys { key_records, checkpoint_keys })
}

/// The record inside a receipt or a batch receipt.
fn record_of(receipt: &str) -> Result<Record> {
    Ok(if receipt.starts_with('{') {
        BatchReceipt::parse(receipt)?.record().clone()
    } else {
        Receipt::parse(receipt)?.record().clone()
    })
}

/// Where check 11's chain starts (SPEC.md §19): the record's key, or when the record's
/// own event is a rotation of that key, the key it hands over to (returned also as the
/// hand-over check 6 counts).
fn start_key(record_kid: &str, event: &[u8]) -> (String, Option<Vec<u8>>) {
    match read_event_text(event) {
        Some(EventText { rotation: true, kid, next: Some(next), .. }) if kid == record_kid.as_bytes() => {
            (String::from_utf8_lossy(next).into_owned(), Some(next.to_vec()))
        }
        _ => (record_kid.to_owned(), None),
    }
}

/// The files of a key record besides `key-record-N.json` in both modes.
const COMMON_PARTS: [&str; 2] = ["event.json", "key.pem"];
/// Its files in receipts mode.
const RECEIPT_PARTS: [&str; 3] = ["receipt.jws", "signing-input.txt", "signature.der"];
/// Its files in batch mode.
const BATCH_PARTS: [&str; 4] = ["batch-receipt.json", "checkpoint.txt", "checkpoint-body.txt", "inclusion-proof.json"];

/// The name of key record `n`'s file `part` ("" for `key-record-N.json` itself).
fn file_name(n: usize, part: &str) -> String {
    if part.is_empty() { format!("key-record-{n}.json") } else { format!("key-record-{n}-{part}") }
}

/// Which key record a file name belongs to, and which of its files it is ("" for
/// `key-record-N.json`); `None` for every other name.
pub(super) fn key_record_file(name: &str) -> Option<(usize, &str)> {
    let rest = name.strip_prefix("key-record-")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (number, part) = rest.split_at(digits);
    if digits == 0 || digits > 2 || number.starts_with('0') {
        return None;
    }
    let part = if part == ".json" { "" } else { part.strip_prefix('-')? };
    let known = part.is_empty() || COMMON_PARTS.iter().chain(&RECEIPT_PARTS).chain(&BATCH_PARTS).any(|p| *p == part);
    Some((number.parse().ok()?, part)).filter(|_| known)
}

/// The files of the key records, numbered in log order, and the bytes `keys.jwks`
/// then holds: exactly the key set the last one signed. `keys` is the log's key
/// history, which holds every key that signed one.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for more than [`MAX_PACKAGE_KEY_RECORDS`] or an
/// event that is not a key record; [`ErrorCode::KeyHistoryMismatch`] when the last
/// one's key set is not the history `keys` holds (a key change still pending); the
/// code of a receipt that cannot be read or does not verify.
pub(super) fn key_record_files(
    records: &[PackageKeyRecord<'_>],
    keys: &KeySet,
) -> Result<(Vec<PackageFile>, Option<Vec<u8>>)> {
    if records.len() > MAX_PACKAGE_KEY_RECORDS {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "{} key records follow the record, and a package carries at most {MAX_PACKAGE_KEY_RECORDS}: export a later record",
                records.len()
            ),
        ));
    }
    let mut files = Vec::new();
    let mut last_keys = None;
    for (i, input) in records.iter().enumerate() {
        let n = i + 1;
        let mut add = |part: &str, bytes: Vec<u8>| files.push(PackageFile { name: file_name(n, part), bytes });
        let parsed = KeyRecord::from_event(&crate::json::parse(input.event)?)?
            .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, "an event given as a key record is not one"))?;
        let record = if input.receipt.starts_with('{') {
            let batch = BatchReceipt::parse(input.receipt)?;
            let (key, _) = keys.select(Some(&batch.record().kid))?;
            let verifier = crate::NoteVerifier::new(&batch.record().log_id, key)?;
            let body = crate::verify_note(batch.checkpoint_note(), &[verifier])?.text;
            add("batch-receipt.json", input.receipt.as_bytes().to_vec());
            add("checkpoint.txt", batch.checkpoint_note().as_bytes().to_vec());
            add("checkpoint-body.txt", body.into_bytes());
            add("inclusion-proof.json", batch.proof().to_json()?.into_bytes());
            (batch.record().clone(), batch.record_bytes().to_vec())
        } else {
            let (receipt, signing_input, signature) = receipt_parts(input.receipt)?;
            add("receipt.jws", input.receipt.as_bytes().to_vec());
            add("signing-input.txt", signing_input.as_bytes().to_vec());
            add("signature.der", signature);
            (receipt.record().clone(), receipt.record_bytes().to_vec())
        };
        let (key, _) = keys.select(Some(&record.0.kid))?;
        add("", record.1);
        add("event.json", input.event.to_vec());
        add("key.pem", key.to_pem().into_bytes());
        if n == records.len() {
            if !crate::keyrecord::same_history(&parsed.keys, keys) {
                return Err(Error::new(
                    ErrorCode::KeyHistoryMismatch,
                    "the key set differs from the one the log's last key record signed (is a key change still pending?)",
                ));
            }
            last_keys = read_event_text(input.event).map(|text| text.keys.to_vec());
        }
    }
    Ok((files, last_keys))
}

/// A key-record event read as text (SPEC.md §19, check 11 step 4).
struct EventText<'e> {
    rotation: bool,
    /// The key set, `{"keys":[…]}`, as its bytes.
    keys: &'e [u8],
    /// The changed key: a rotation's outgoing key, the revoked key.
    kid: &'e [u8],
    /// A rotation's incoming key.
    next: Option<&'e [u8]>,
}

/// Reads a key record's event as check 11 step 4 reads it; `None` when it does not
/// have that form.
fn read_event_text(event: &[u8]) -> Option<EventText<'_>> {
    if event.contains(&b'\n') || event.contains(&0) {
        return None;
    }
    let rest = event.strip_prefix(b"{\"evidentia_key_record\":{\"at\":\"")?;
    let rest = &rest[rest.iter().position(|&b| b == b'"')?..];
    let rest = rest.strip_prefix(b"\",\"change\":\"")?;
    let (rotation, rest) = match (rest.strip_prefix(b"rotate"), rest.strip_prefix(b"revoke")) {
        (Some(rest), _) => (true, rest),
        (_, Some(rest)) => (false, rest),
        _ => return None,
    };
    let keys_and_rest = rest.strip_prefix(b"\",\"format\":1,\"keys\":")?;
    const OPEN: &[u8] = b"{\"keys\":[";
    const MARKER: &[u8] = b"]},\"kid\":\"";
    if !keys_and_rest.starts_with(OPEN) {
        return None;
    }
    let end = keys_and_rest.windows(MARKER.len()).rposition(|w| w == MARKER).filter(|&at| at >= OPEN.len())?;
    let keys = &keys_and_rest[..end + 2];
    let after = &keys_and_rest[end + MARKER.len()..];
    let quote = after.iter().position(|&b| b == b'"')?;
    let (kid, tail) = (&after[..quote], &after[quote + 1..]);
    let next = if rotation {
        let next = tail.strip_prefix(b",\"next\":\"")?.strip_suffix(b"\"}}")?;
        if next.is_empty() || next.contains(&b'"') {
            return None;
        }
        Some(next)
    } else {
        const REASON: &[u8] = b",\"reason\":\"";
        let reason = tail.len() >= REASON.len() + 3 && tail.starts_with(REASON) && tail.ends_with(b"\"}}");
        if tail != b"}}" && !reason {
            return None;
        }
        None
    };
    Some(EventText { rotation, keys, kid, next })
}

/// The keys the package's rotations hand over to: the `next` of `event.json` when it
/// is a rotation of the record's key `record_kid`, and of each rotation among
/// `key-record-1-event.json`, `key-record-2-event.json`, … (check 6 accepts these as
/// the checkpoint's signer when not revoked; check 11 shows that the log made them).
pub(super) fn handed_over_to<'f>(record_kid: &str, file: &impl Fn(&str) -> Option<&'f [u8]>) -> Vec<String> {
    let own = file("event.json").and_then(|event| start_key(record_kid, event).1);
    let carried = (1..=MAX_PACKAGE_KEY_RECORDS)
        .take_while(|&n| file(&file_name(n, "")).is_some())
        .filter_map(|n| read_event_text(file(&file_name(n, "event.json"))?)?.next.map(<[u8]>::to_vec));
    own.into_iter().chain(carried).map(|kid| String::from_utf8_lossy(&kid).into_owned()).collect()
}

/// Check 11, as `verify.sh` makes it. `Ok(None)` when the package has no key record
/// (the check does not apply); otherwise what the key records show, or why not.
pub(super) fn check_key_history<'f>(
    files: &[PackageFile],
    file: &impl Fn(&str) -> Option<&'f [u8]>,
) -> std::result::Result<Option<String>, String> {
    if !files.iter().any(|f| key_record_file(&f.name).is_some()) {
        return Ok(None);
    }
    if file("key-record-1.json").is_none() {
        return Err("key-record-1.json is missing".to_owned());
    }
    let missing = |name: &str| format!("{name} is missing");
    let text = |name: &str| -> std::result::Result<&str, String> {
        std::str::from_utf8(file(name).ok_or_else(|| missing(name))?).map_err(|_| format!("{name} is not UTF-8 text"))
    };
    let package_record = Record::from_bytes(file("record.json").ok_or_else(|| missing("record.json"))?)
        .map_err(|e| format!("record.json: {e}"))?;
    let receipts_mode = file("receipt.jws").is_some();
    let (mut current, _) = start_key(&package_record.kid, file("event.json").unwrap_or_default());
    let mut previous_seq = package_record.seq;
    let mut last_keys: &[u8] = &[];
    let mut changes = Vec::new();
    let mut count = 0;
    while let Some(record_bytes) = file(&file_name(count + 1, "")).filter(|_| count < MAX_PACKAGE_KEY_RECORDS) {
        count += 1;
        let name = |part: &str| file_name(count, part);
        let record = Record::from_bytes(record_bytes).map_err(|e| format!("{}: {e}", name("")))?;
        if record.log_id != package_record.log_id {
            return Err(format!("{} is a record of another log", name("")));
        }
        if record.seq <= previous_seq {
            return Err(format!("{} does not follow the record before it in the log", name("")));
        }
        if record.kid != current {
            return Err(format!(
                "{} is signed by {}, not by {current}, the key the history has reached",
                name(""),
                record.kid
            ));
        }
        let event = file(&name("event.json")).ok_or_else(|| missing(&name("event.json")))?;
        if Digest::sha256(event) != record.event {
            return Err(format!("{} is not the event {} commits to", name("event.json"), name("")));
        }
        let pem = text(&name("key.pem"))?;
        let key = crate::PublicKey::from_pem(pem).map_err(|e| format!("{}: {e}", name("key.pem")))?;
        if key.to_pem() != pem || key.kid() != current {
            return Err(format!("{} is not the canonical PEM of the key {current}", name("key.pem")));
        }
        if receipts_mode {
            let names = [name("receipt.jws"), name("signing-input.txt"), name("signature.der"), name("")];
            check_receipt_files(file, names.each_ref().map(String::as_str), &key)?;
        } else {
            let part = |part: &str| file(&name(part)).ok_or_else(|| missing(&name(part)));
            let batch = part("batch-receipt.json")?;
            if batch != batch_receipt_of(record_bytes, part("inclusion-proof.json")?, part("checkpoint.txt")?) {
                return Err(format!("{} is not the batch receipt of its parts", name("batch-receipt.json")));
            }
            let body = text(&name("checkpoint-body.txt"))?;
            if body.split('\n').next() != Some(record.log_id.as_str()) {
                return Err(format!("{}'s origin is not the log id", name("checkpoint-body.txt")));
            }
            let verifier = crate::NoteVerifier::new(&record.log_id, &key).map_err(|e| e.to_string())?;
            let verified =
                crate::verify_note(text(&name("checkpoint.txt"))?, &[verifier]).map_err(|e| e.to_string())?;
            if verified.text != body {
                return Err(format!(
                    "{} is not the text {} signs with {}",
                    name("checkpoint-body.txt"),
                    name("checkpoint.txt"),
                    name("key.pem")
                ));
            }
            let written = text(&name("inclusion-proof.json"))?;
            let proof =
                InclusionProof::from_json(written).map_err(|e| format!("{}: {e}", name("inclusion-proof.json")))?;
            let checkpoint =
                crate::Checkpoint::from_text(body).map_err(|e| format!("{}: {e}", name("checkpoint-body.txt")))?;
            if proof.to_json().ok().as_deref() != Some(written)
                || proof.leaf_index != record.seq
                || proof.tree_size != checkpoint.size
                || proof.verify(&crate::merkle::leaf_hash(record_bytes), &checkpoint.root).is_err()
            {
                return Err(format!(
                    "{} does not lead from {} to the root of {}",
                    name("inclusion-proof.json"),
                    name(""),
                    name("checkpoint-body.txt")
                ));
            }
        }
        let event =
            read_event_text(event).ok_or_else(|| format!("{} is not a key record's one line", name("event.json")))?;
        let changed = String::from_utf8_lossy(event.kid);
        match event.next {
            Some(next) if event.rotation && changed == current => {
                let next = String::from_utf8_lossy(next).into_owned();
                changes.push(format!("record {}: {current} handed over to {next}", record.seq));
                current = next;
            }
            None if !event.rotation && changed != current => {
                changes.push(format!("record {}: {current} revoked {changed}", record.seq));
            }
            _ => {
                let change = if event.rotation { "rotation" } else { "revocation" };
                return Err(format!("the key {current} may not sign {}'s {change} of {changed}", name("")));
            }
        }
        previous_seq = record.seq;
        last_keys = event.keys;
    }
    if file("keys.jwks") != Some(last_keys) {
        return Err(format!("keys.jwks is not the key set {} signed", file_name(count, "")));
    }
    let allowed: &[&str] = if receipts_mode { &RECEIPT_PARTS } else { &BATCH_PARTS };
    if let Some(stray) = files.iter().find(|f| {
        key_record_file(&f.name).is_some_and(|(n, part)| {
            n > count || !(part.is_empty() || COMMON_PARTS.contains(&part) || allowed.contains(&part))
        })
    }) {
        return Err(format!("{} belongs to no key record of this package", stray.name));
    }
    Ok(Some(changes.join("; ")))
}

/// Finds the key records that follow a packaged record in its log, reading the
/// records after it in order and following their hash chain (each record names its
/// sequence number, the digest of the record before it and the digest of its event).
/// A key record whose event was changed so that it no longer reads as one, or whose
/// entry was taken out, breaks the chain, and the package is refused rather than made
/// with a key history that leaves it out; a receipt's signature is checked too
/// ([`KeyRecordScan::push_receipt`]). A batch log's records carry no signature of
/// their own, so a stretch of them rewritten as a whole is found only by `log verify`,
/// against the checkpoints.
#[derive(Debug)]
pub struct KeyRecordScan {
    next: u64,
    prev: Digest,
}

impl KeyRecordScan {
    /// Starts after record `index`, given by its canonical bytes (the record a receipt
    /// signs, or a batch log's stored record).
    ///
    /// # Errors
    /// [`ErrorCode::LogCorrupt`] when they are not record `index`.
    pub fn after(index: u64, record_bytes: &[u8]) -> Result<KeyRecordScan> {
        let record = Record::from_bytes(record_bytes).map_err(|e| chain_broken(index, e.message()))?;
        if record.seq != index {
            return Err(chain_broken(index, &format!("the entry holds record {}", record.seq)));
        }
        Ok(KeyRecordScan { next: index + 1, prev: Digest::sha256(record_bytes) })
    }

    /// Reads the next record, by its canonical bytes and its stored event: whether it
    /// is a key record (as [`crate::key_record_of`] tells).
    ///
    /// # Errors
    /// [`ErrorCode::LogCorrupt`] when the record is not the next one, does not follow
    /// the one before it, or commits to another event.
    pub fn push(&mut self, record_bytes: &[u8], event: &[u8]) -> Result<bool> {
        let seq = self.next;
        let record = Record::from_bytes(record_bytes).map_err(|e| chain_broken(seq, e.message()))?;
        if record.seq != seq {
            return Err(chain_broken(seq, &format!("the entry holds record {}", record.seq)));
        }
        if record.prev.as_ref() != Some(&self.prev) {
            return Err(chain_broken(seq, "it does not follow the record before it"));
        }
        // A key record is of version 1 and never erased; the event of a version-2
        // record may be.
        let is_key_record = match crate::stored_event::event_state(&record, event) {
            crate::stored_event::EventState::Matches(event) => crate::keyrecord::key_record_of(event).is_some(),
            crate::stored_event::EventState::Erased if record.version == crate::record::RecordVersion::V2 => false,
            _ => return Err(chain_broken(seq, "its stored event is not the event it commits to")),
        };
        self.next += 1;
        self.prev = Digest::sha256(record_bytes);
        Ok(is_key_record)
    }

    /// As [`KeyRecordScan::push`], for a receipt: its signature must also verify
    /// with the key its record names in `keys` (the log's key set), so that a record
    /// rewritten without the log's key (a key record made to read as another event,
    /// its chain and digests made good) is found.
    ///
    /// # Errors
    /// As [`KeyRecordScan::push`].
    pub fn push_receipt(&mut self, receipt: &str, keys: &KeySet, event: &[u8]) -> Result<bool> {
        let seq = self.next;
        let receipt = Receipt::parse(receipt).map_err(|e| chain_broken(seq, e.message()))?;
        let kid = receipt.header_kid();
        let signed = kid == receipt.record().kid
            && keys.select(Some(kid)).is_ok_and(|(key, _)| key.verify(receipt.signing_input(), receipt.signature()));
        if !signed {
            return Err(chain_broken(seq, "its receipt's signature does not verify with the log's key set"));
        }
        self.push(receipt.record_bytes(), event)
    }

    /// Ends the scan of a log of `size` records.
    ///
    /// # Errors
    /// [`ErrorCode::LogCorrupt`] when fewer records were read.
    pub fn finish(self, size: u64) -> Result<()> {
        if self.next < size {
            return Err(chain_broken(self.next, "the log holds no such entry"));
        }
        Ok(())
    }
}

fn chain_broken(seq: u64, why: &str) -> Error {
    Error::new(
        ErrorCode::LogCorrupt,
        format!("record {seq} breaks the log's hash chain ({why}): no package is made; run `evidentia log verify`"),
    )
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

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32]).unwrap()
    }

    /// A log in receipts mode: key 1 signs record 0 and hands over to key 2 (record
    /// 1), which signs record 2 and revokes key 1 from `revoked_at` (record 3); key 2
    /// signs the checkpoint. The package of record 0 with both key records.
    fn package(revoked_at: Timestamp) -> Result<Vec<PackageFile>> {
        let (k1, k2) = (key(1), key(2));
        let rotation = KeyRecord::rotate(&KeySet::single(k1.public_key()), k1.public_key(), k2.public_key(), t(2))?;
        let revocation = KeyRecord::revoke(&rotation.keys, k1.public_key().kid(), revoked_at, None)?;
        let entries: [(&SigningKey, Vec<u8>); 4] = [
            (&k1, br#"{"n":0}"#.to_vec()),
            (&k1, rotation.to_event()),
            (&k2, br#"{"n":2}"#.to_vec()),
            (&k2, revocation.to_event()),
        ];
        let mut chain = ChainState::new("example.com/keys")?;
        let mut receipts = Vec::new();
        for (i, (signer, event)) in entries.iter().enumerate() {
            let chained = chain.append(signer.public_key().kid(), Digest::sha256(event), t(i as i64), None)?;
            receipts.push(Receipt::sign(*signer, &chained.record)?);
        }
        let tree = MemoryTree::from_leaf_hashes(receipts.iter().map(|r| leaf_hash(r.record_bytes())));
        let checkpoint =
            Checkpoint { origin: "example.com/keys".into(), size: 4, root: tree.root(), extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, &k2)?;
        let proof = InclusionProof { leaf_index: 0, tree_size: 4, hashes: inclusion_proof(&tree, 0, 4)? };
        let key_records = [1, 3].map(|i| PackageKeyRecord { receipt: receipts[i].as_str(), event: &entries[i].1 });
        build_package(PackageInput {
            receipt: receipts[0].as_str(),
            event: &entries[0].1,
            disclosures: &[],
            keys: &revocation.keys,
            proof: Some(&proof),
            checkpoint: Some(&note),
            timestamp: None,
            exported_at: None,
            request: None,
            key_records: &key_records,
            witnesses: None,
            erasure: None,
        })
    }

    #[test]
    fn the_scan_finds_key_records_and_refuses_a_broken_chain() {
        let (k1, k2) = (key(1), key(2));
        let rotation = KeyRecord::rotate(&KeySet::single(k1.public_key()), k1.public_key(), k2.public_key(), t(2))
            .unwrap()
            .to_event();
        let events = [br#"{"n":0}"#.to_vec(), rotation, br#"{"n":2}"#.to_vec()];
        let mut chain = ChainState::new("example.com/keys").unwrap();
        let records: Vec<Vec<u8>> = events
            .iter()
            .enumerate()
            .map(|(i, event)| {
                let chained = chain.append(k1.public_key().kid(), Digest::sha256(event), t(i as i64), None).unwrap();
                chained.record.to_bytes()
            })
            .collect();
        let scan = |records: &[Vec<u8>], events: &[Vec<u8>], size: u64| -> Result<Vec<bool>> {
            let mut scan = KeyRecordScan::after(0, &records[0])?;
            let found = records[1..].iter().zip(&events[1..]).map(|(r, e)| scan.push(r, e)).collect::<Result<_>>()?;
            scan.finish(size)?;
            Ok(found)
        };
        assert_eq!(scan(&records, &events, 3).unwrap(), [true, false]);
        // The key record's event zeroed, as an erasure leaves a version-2 event: a
        // version-1 record is never erased, so this hides a key change.
        let mut zeroed = events.clone();
        zeroed[1] = crate::stored_event::StoredEvent::erased(events[1].len());
        assert_eq!(scan(&records, &zeroed, 3).unwrap_err().code(), ErrorCode::LogCorrupt);
        // The key record's member renamed: its event no longer reads as one.
        let mut renamed = events.clone();
        renamed[1] = String::from_utf8(events[1].clone()).unwrap().replacen("evidentia", "evidentiA", 1).into_bytes();
        assert_ne!(renamed[1], events[1]);
        let e = scan(&records, &renamed, 3).unwrap_err();
        assert_eq!(e.code(), ErrorCode::LogCorrupt);
        assert!(e.message().contains("record 1 breaks the log's hash chain"), "{e}");
        // Its entry taken out, or the last one.
        let e = scan(&[records[0].clone(), records[2].clone()], &[events[0].clone(), events[2].clone()], 3);
        assert!(e.unwrap_err().message().contains("record 1 breaks"));
        let e = scan(&records[..2], &events[..2], 3).unwrap_err();
        assert!(e.message().contains("record 2 breaks") && e.message().contains("no such entry"), "{e}");
        // A record that is not the packaged one.
        assert_eq!(KeyRecordScan::after(1, &records[0]).unwrap_err().code(), ErrorCode::LogCorrupt);
        // Receipts: the key record rewritten as another event, its chain and digest
        // made good, keeps the old signature, which no longer verifies.
        let keys = KeySet::single(k1.public_key());
        let receipts: Vec<Receipt> =
            records.iter().map(|r| Receipt::sign(&k1, &Record::from_bytes(r).unwrap()).unwrap()).collect();
        let mut scan = KeyRecordScan::after(0, &records[0]).unwrap();
        assert!(scan.push_receipt(receipts[1].as_str(), &keys, &events[1]).unwrap());
        let mut forged = Record::from_bytes(&records[1]).unwrap();
        forged.event = Digest::sha256(br#"{"n":1}"#);
        let forged_payload = crate::encoding::b64url(&forged.to_bytes());
        let mut parts: Vec<&str> = receipts[1].as_str().split('.').collect();
        parts[1] = &forged_payload;
        let mut scan = KeyRecordScan::after(0, &records[0]).unwrap();
        let e = scan.push_receipt(&parts.join("."), &keys, br#"{"n":1}"#).unwrap_err();
        assert!(e.message().contains("record 1 breaks") && e.message().contains("signature"), "{e}");
        // Signed by a key the log's key set does not hold.
        let mut scan = KeyRecordScan::after(0, &records[0]).unwrap();
        let other = KeySet::single(k2.public_key());
        assert!(scan.push_receipt(receipts[1].as_str(), &other, &events[1]).is_err());
    }

    fn failed(files: &[PackageFile]) -> Vec<u8> {
        verify_package(files).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect()
    }

    #[test]
    fn a_package_carries_its_key_records_and_every_changed_byte_of_them_fails_check_11() {
        let files = package(t(10)).unwrap();
        let checks = verify_package(&files);
        assert!(checks.iter().all(|c| c.failure.is_none()), "{checks:?}");
        let eleven = checks.iter().find(|c| c.number == 11).unwrap();
        let detail = eleven.detail.as_deref().unwrap();
        assert!(eleven.applies && detail.contains("record 1: ") && detail.contains("record 3: "), "{detail}");
        assert!(files.iter().any(|f| f.name == "checkpoint-key.pem"));
        let mut changes = 0;
        for (i, file) in files.iter().enumerate().filter(|(_, f)| f.name.starts_with("key-record-")) {
            for at in 0..file.bytes.len() {
                let mut changed = files.clone();
                changed[i].bytes[at] ^= 0x01;
                let failed = failed(&changed);
                assert!(failed.contains(&1) && failed.contains(&11), "{} byte {at}: {failed:?}", file.name);
                changes += 1;
            }
        }
        assert!(changes > 2500, "{changes}");
    }

    #[test]
    fn a_checkpoint_by_a_key_the_history_revokes_fails_check_6() {
        // Key 1 signs record 0 and hands over to key 2 (record 1), which hands over
        // to key 3 (record 2), which revokes key 2 (record 3). The holder of key 2
        // signs a checkpoint of a tree of its own making that holds record 0.
        let (k1, k2, k3) = (key(1), key(2), key(3));
        let first =
            KeyRecord::rotate(&KeySet::single(k1.public_key()), k1.public_key(), k2.public_key(), t(2)).unwrap();
        let second = KeyRecord::rotate(&first.keys, k2.public_key(), k3.public_key(), t(3)).unwrap();
        let revocation = KeyRecord::revoke(&second.keys, k2.public_key().kid(), t(3), Some("keyCompromise")).unwrap();
        let entries: [(&SigningKey, Vec<u8>); 4] = [
            (&k1, br#"{"n":0}"#.to_vec()),
            (&k1, first.to_event()),
            (&k2, second.to_event()),
            (&k3, revocation.to_event()),
        ];
        let mut chain = ChainState::new("example.com/keys").unwrap();
        let receipts: Vec<Receipt> = entries
            .iter()
            .enumerate()
            .map(|(i, (signer, event))| {
                let chained =
                    chain.append(signer.public_key().kid(), Digest::sha256(event), t(i as i64), None).unwrap();
                Receipt::sign(*signer, &chained.record).unwrap()
            })
            .collect();
        let made_up = MemoryTree::from_leaf_hashes([leaf_hash(receipts[0].record_bytes()), leaf_hash(b"made up")]);
        let checkpoint =
            Checkpoint { origin: "example.com/keys".into(), size: 2, root: made_up.root(), extensions: vec![] };
        let proof = InclusionProof { leaf_index: 0, tree_size: 2, hashes: inclusion_proof(&made_up, 0, 2).unwrap() };
        let key_records = [1, 2, 3].map(|i| PackageKeyRecord { receipt: receipts[i].as_str(), event: &entries[i].1 });
        let with = |signer: &SigningKey| {
            build_package(PackageInput {
                receipt: receipts[0].as_str(),
                event: &entries[0].1,
                disclosures: &[],
                keys: &revocation.keys,
                proof: Some(&proof),
                checkpoint: Some(&sign_checkpoint(&checkpoint, signer).unwrap()),
                timestamp: None,
                exported_at: None,
                request: None,
                key_records: &key_records,
                witnesses: None,
                erasure: None,
            })
        };
        // Key 3, in force, may sign it; key 2, revoked, may not (and no package of it
        // is made).
        assert!(with(&k3).is_ok());
        assert_eq!(with(&k2).unwrap_err().code(), ErrorCode::CheckpointSignatureInvalid);
        let files = with(&k3).unwrap();
        let mut forged = files.clone();
        let note = sign_checkpoint(&checkpoint, &k2).unwrap();
        for file in &mut forged {
            match file.name.as_str() {
                "checkpoint.txt" => file.bytes = note.clone().into_bytes(),
                "checkpoint-key.pem" => file.bytes = k2.public_key().to_pem().into_bytes(),
                _ => {}
            }
        }
        let sums: String = forged
            .iter()
            .filter(|f| f.name != "SHA256SUMS")
            .map(|f| format!("{}  {}\n", Digest::sha256(&f.bytes).to_hex(), f.name))
            .collect();
        forged.iter_mut().find(|f| f.name == "SHA256SUMS").unwrap().bytes = sums.into_bytes();
        assert_eq!(failed(&forged), [6]);
    }

    #[test]
    fn no_package_is_made_of_a_record_the_signed_history_revokes() {
        assert_eq!(package(t(-5)).unwrap_err().code(), ErrorCode::KeyRevoked);
    }

    #[test]
    fn the_event_is_read_as_text_as_verify_sh_reads_it() {
        let rotation =
            KeyRecord::rotate(&KeySet::single(key(1).public_key()), key(1).public_key(), key(2).public_key(), t(2))
                .unwrap();
        let event = rotation.to_event();
        let text = read_event_text(&event).unwrap();
        assert!(text.rotation);
        assert_eq!(text.kid, key(1).public_key().kid().as_bytes());
        assert_eq!(text.next, Some(key(2).public_key().kid().as_bytes()));
        assert_eq!(text.keys, rotation.keys.to_json().as_bytes());
        let revocation =
            KeyRecord::revoke(&rotation.keys, key(1).public_key().kid(), t(9), Some("a \"quoted\" ]},\"kid\":\"x"))
                .unwrap();
        let event = revocation.to_event();
        let text = read_event_text(&event).unwrap();
        assert!(!text.rotation && text.next.is_none());
        assert_eq!(text.kid, key(1).public_key().kid().as_bytes());
        let prefix = br#"{"evidentia_key_record":{"at":"x","change":"revoke","format":1,"keys":{"keys":[]},"kid":"k""#;
        let with = |tail: &[u8]| read_event_text(&[prefix.as_slice(), tail].concat()).is_some();
        assert!(with(b"}}") && with(br#","reason":"r"}}"#) && with(br#","reason":""}}"#));
        assert!(!with(br#","reason":"}}"#) && !with(br#","next":"b"}}"#) && !with(b"}}\n") && !with(b"}} "));
        assert!(read_event_text(&[prefix.as_slice(), b"\0}}"].concat()).is_none());
        let rotate = br#"{"evidentia_key_record":{"at":"x","change":"rotate","format":1,"keys":{"keys":[]},"kid":"k""#;
        let with = |tail: &[u8]| read_event_text(&[rotate.as_slice(), tail].concat()).is_some();
        assert!(with(br#","next":"b"}}"#) && !with(br#","next":""}}"#) && !with(b"}}"));
        assert!(!with(br#","next":"b"c"}}"#));
    }

    #[test]
    fn key_record_file_names_are_those_of_records_1_to_99() {
        assert_eq!(key_record_file("key-record-1.json"), Some((1, "")));
        assert_eq!(key_record_file("key-record-99-batch-receipt.json"), Some((99, "batch-receipt.json")));
        for name in
            ["key-record-0.json", "key-record-01.json", "key-record-100.json", "key-record-1-foo.txt", "key-record-x"]
        {
            assert_eq!(key_record_file(name), None, "{name}");
        }
    }
}
