//! Cases of SPEC.md's logs rules: verifying a log (§13) as it lies on disk (§16).
//!
//! Each log is made by the store in a temporary folder, with a fixed clock, then
//! read into memory and changed where a case needs it: entries re-framed (with
//! their checksums re-computed, so the deeper checks are reached), frames damaged
//! byte by byte, checkpoints or key histories replaced.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use evidentia::encoding::b64;
use evidentia::{
    Digest, ErrorCode, KeyChange, KeyRecord, KeySet, Record, RecordVersion, SigningKey, StoredEvent, Timestamp,
};
use evidentia_store::{CreateOptions, Log, LogOptions, Mode, NewEvent};

use super::fixtures::{
    LOG_ID, OTHER_LOG, World, at, checkpoint_of, event, jwk, jwk_with, jwk_without, jwks, receipt, set, signed, tree,
};
use super::{Input, Op, Outcome, Suite, dir, file};
use crate::util::Result;

/// The segment every log of the suite has (its first sequence number, 0).
pub(crate) const SEGMENT: &str = "segments/00000000000000000000.seg";
/// The files §16 calls derived: rebuilt from the segments when they cannot be
/// trusted, so a case that changes the entries leaves them out.
const DERIVED: [&str; 4] = ["index", "tree", "nonces", "state.json"];
/// Entry kinds of a segment's payloads (§16).
const KIND_RECEIPT: u8 = 1;
const KIND_RECORD: u8 = 2;

/// A temporary folder, removed when dropped.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Result<Scratch> {
        let path = std::env::temp_dir().join(format!("evidentia-conformance-{}-{name}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir_all(&path)?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file under `root`, by its path relative to it ('/'-separated).
pub(crate) fn read_tree(root: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    fn walk(root: &Path, at: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
        let mut entries = std::fs::read_dir(at)?.collect::<std::io::Result<Vec<_>>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(root, &path, out)?;
            } else {
                let name = path.strip_prefix(root)?.to_string_lossy().replace('\\', "/");
                out.insert(name, std::fs::read(&path)?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out)?;
    Ok(out)
}

/// A frame (§16): magic, payload length, CRC-32 of the length bytes and payload.
pub(crate) fn frame(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(payload);
    let mut out = b"EVD1".to_vec();
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payloads of a file of valid frames.
fn payloads(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as usize;
        out.push(bytes[12..12 + len].to_vec());
        bytes = &bytes[12 + len..];
    }
    out
}

/// One stored entry: its kind, first part (receipt or record bytes) and event.
#[derive(Clone)]
struct Entry {
    kind: u8,
    first: Vec<u8>,
    event: Option<Vec<u8>>,
}

impl Entry {
    fn payload(&self) -> Vec<u8> {
        let mut out = vec![self.kind];
        out.extend_from_slice(&(self.first.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.first);
        out.extend_from_slice(self.event.as_deref().unwrap_or_default());
        out
    }

    fn parse(payload: &[u8]) -> Entry {
        let len = u32::from_le_bytes(payload[1..5].try_into().expect("4 bytes")) as usize;
        let event = &payload[5 + len..];
        Entry {
            kind: payload[0],
            first: payload[5..5 + len].to_vec(),
            event: (!event.is_empty()).then(|| event.to_vec()),
        }
    }

    /// The record of the entry (the receipt's payload, or the record bytes).
    fn record(&self) -> Record {
        if self.kind == KIND_RECEIPT {
            let text = std::str::from_utf8(&self.first).expect("a receipt is text");
            evidentia::Receipt::parse(text).expect("a stored receipt").record().clone()
        } else {
            Record::from_bytes(&self.first).expect("stored record bytes")
        }
    }
}

/// A log directory's files, in memory.
#[derive(Clone)]
pub(crate) struct Stored {
    files: BTreeMap<String, Vec<u8>>,
}

impl Stored {
    fn entries(&self) -> Vec<Entry> {
        payloads(&self.files[SEGMENT]).iter().map(|p| Entry::parse(p)).collect()
    }

    /// Replaces the entries (re-framed, checksums right) and drops the derived files.
    fn with_entries(&self, entries: &[Entry]) -> Stored {
        let segment = entries.iter().flat_map(|e| frame(&e.payload())).collect();
        self.with(SEGMENT, segment).without_derived()
    }

    /// The entries with entry `i` changed by `change`.
    fn change_entry(&self, i: usize, change: impl FnOnce(&mut Entry)) -> Stored {
        let mut entries = self.entries();
        change(&mut entries[i]);
        self.with_entries(&entries)
    }

    fn checkpoints(&self) -> Vec<String> {
        let bytes = self.files.get("checkpoints.log").cloned().unwrap_or_default();
        payloads(&bytes).into_iter().map(|p| String::from_utf8(p).expect("a note is text")).collect()
    }

    fn with_checkpoints(&self, notes: &[String]) -> Stored {
        self.with("checkpoints.log", notes.iter().flat_map(|n| frame(n.as_bytes())).collect())
    }

    fn with(&self, path: &str, bytes: Vec<u8>) -> Stored {
        let mut files = self.files.clone();
        files.insert(path.to_owned(), bytes);
        Stored { files }
    }

    fn without(&self, path: &str) -> Stored {
        let mut files = self.files.clone();
        files.remove(path);
        Stored { files }
    }

    /// The entries split into two segments, the second starting at `seq`, with
    /// `tail` appended to the first; the derived files dropped.
    fn split(&self, seq: usize, tail: &[u8]) -> Stored {
        let entries = self.entries();
        let mut first: Vec<u8> = entries[..seq].iter().flat_map(|e| frame(&e.payload())).collect();
        first.extend_from_slice(tail);
        let second = entries[seq..].iter().flat_map(|e| frame(&e.payload())).collect();
        self.with(SEGMENT, first).with(&format!("segments/{seq:020}.seg"), second).without_derived()
    }

    fn without_derived(&self) -> Stored {
        let mut files = self.files.clone();
        for name in DERIVED {
            files.remove(name);
        }
        Stored { files }
    }

    /// The segment changed by `change` (frames as they are, checksums not fixed).
    fn damage(&self, change: impl FnOnce(&mut Vec<u8>)) -> Stored {
        let mut segment = self.files[SEGMENT].clone();
        change(&mut segment);
        self.with(SEGMENT, segment)
    }

    /// Where frame `i` of the segment starts.
    fn offset(&self, i: usize) -> usize {
        payloads(&self.files[SEGMENT]).iter().take(i).map(|p| 12 + p.len()).sum()
    }

    /// The canonical bytes of every record, in order.
    fn record_bytes(&self) -> Vec<Vec<u8>> {
        self.entries().iter().map(|e| e.record().to_bytes()).collect()
    }

    pub(crate) fn input(&self) -> Input {
        dir("log", "log", self.files.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

/// The options every log of the suite is opened with: the clock reads `T0` + 60 s.
pub(crate) fn options() -> LogOptions {
    LogOptions { clock: Some(at(60)), ..LogOptions::default() }
}

/// Makes a log with the store in a temporary folder: `k1` valid from `T0`, then
/// `build` appends to it. Returns its files.
pub(crate) fn make(name: &str, mode: Mode, build: impl FnOnce(&Log) -> evidentia::Result<()>) -> Result<Stored> {
    make_of(name, mode, RecordVersion::V1, build)
}

/// As [`make`], for a log writing records of `version`; the salts of version-2
/// records derive from a fixed seed, so that the suite's files are reproducible.
fn make_of(
    name: &str,
    mode: Mode,
    version: RecordVersion,
    build: impl FnOnce(&Log) -> evidentia::Result<()>,
) -> Result<Stored> {
    let scratch = Scratch::new(name)?;
    let path = scratch.0.join("log");
    let log = Log::create(
        &path,
        &super::fixtures::key(1),
        CreateOptions {
            log_id: Some(LOG_ID.to_owned()),
            key_file: None,
            mode,
            key_valid_from: Some(at(0)),
            index_fields: Vec::new(),
            // The suite's logs say their version, whatever a new log's default.
            record_version: Some(version),
            options: LogOptions { salt_seed: Some([0x5A; 32]), ..options() },
        },
    )?;
    build(&log)?;
    drop(log);
    Ok(Stored { files: read_tree(&path)? })
}

/// Appends event `i` at `T0` + `i` seconds, with the nonce `req-i` for even `i`.
pub(crate) fn append(log: &Log, key: &SigningKey, i: usize) -> evidentia::Result<()> {
    append_at(log, key, i, at(i as i64))
}

fn append_at(log: &Log, key: &SigningKey, i: usize, time: Timestamp) -> evidentia::Result<()> {
    let nonce = i.is_multiple_of(2).then(|| format!("req-{i}"));
    log.append_batch(key, &[NewEvent { json: &event(i), nonce: nonce.as_deref() }], Some(time))?;
    Ok(())
}

/// The record that follows `prev` in the suite's log, with event `i`.
fn next(prev: &Record, i: usize, time: Timestamp, key: &SigningKey) -> Record {
    Record {
        log_id: LOG_ID.to_owned(),
        seq: prev.seq + 1,
        prev: Some(prev.digest()),
        event: Digest::sha256(&event(i)),
        time,
        nonce: None,
        kid: key.kid().to_owned(),
        version: RecordVersion::V1,
    }
}

/// The record that follows `prev` in the suite's log, with the event `json`.
fn next_event(prev: &Record, json: &[u8], time: Timestamp, key: &SigningKey) -> Record {
    Record { event: Digest::sha256(json), ..next(prev, 0, time, key) }
}

/// A receipts-mode entry of `record` signed by `key`, with event `i`.
fn signed_entry(key: &SigningKey, record: &Record, i: usize) -> Entry {
    Entry { kind: KIND_RECEIPT, first: receipt(key, record).into_bytes(), event: Some(event(i)) }
}

/// A receipts-mode entry of `record` signed by `key`, storing the event `json`
/// (whose digest the record holds).
fn event_entry(key: &SigningKey, record: &Record, json: &[u8]) -> Entry {
    assert_eq!(record.event, Digest::sha256(json), "the record holds the event's digest");
    Entry { kind: KIND_RECEIPT, first: receipt(key, record).into_bytes(), event: Some(json.to_vec()) }
}

/// The receipts-mode entries chained again from the first: each record whose
/// `prev` is not the digest of the record before it gets that digest and is
/// signed again by the key of `keys` its `kid` names; events stay as they are.
fn rechained(entries: &[Entry], keys: &[&SigningKey]) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for entry in entries {
        let record = entry.record();
        let prev = out.last().map(|e| e.record().digest());
        if out.is_empty() || record.prev == prev {
            out.push(entry.clone());
            continue;
        }
        let key = keys.iter().find(|k| k.kid() == record.kid).expect("a key of the suite");
        let record = Record { prev, ..record };
        out.push(Entry { first: receipt(key, &record).into_bytes(), ..entry.clone() });
    }
    out
}

/// Entry `i`'s stored event (a key record's) as text.
fn event_text(entries: &[Entry], i: usize) -> String {
    String::from_utf8(entries[i].event.clone().expect("a stored event")).expect("text")
}

/// A trusted key set given instead of the log's history.
fn trusted(text: &str) -> Input {
    file("jwks", "trusted.jwks", text)
}

pub(crate) fn cases(suite: &mut Suite, world: &World) -> Result<()> {
    let (k1, k2, k3) = (&world.k1, &world.k2, &world.k3);
    let mut add = |slug: &str, spec: &'static str, why: &str, outcome: Outcome, inputs: Vec<Input>| {
        suite.add("log", slug, Op::Log, spec, why, outcome, inputs);
    };
    let valid = || Outcome::Valid;
    let found = |codes: &[ErrorCode]| Outcome::Findings(codes.to_vec());

    // Five records by k1 at T0..T0+4 s, nonces on the even ones, no checkpoint.
    let plain = make("plain", Mode::Receipts, |log| (0..5).try_for_each(|i| append(log, k1, i)))?;
    // The same with checkpoints of 3 and 5 records.
    let sealed = make("sealed", Mode::Receipts, |log| {
        (0..3).try_for_each(|i| append(log, k1, i))?;
        log.checkpoint(k1)?;
        (3..5).try_for_each(|i| append(log, k1, i))?;
        log.checkpoint(k1).map(|_| ())
    })?;
    // Batch mode: two groups (3 records, then 2), each sealed by a checkpoint.
    let batch = make("batch", Mode::Batch, |log| {
        let first: Vec<Vec<u8>> = (0..3).map(event).collect();
        let second: Vec<Vec<u8>> = (3..5).map(event).collect();
        fn events(e: &[Vec<u8>]) -> Vec<NewEvent<'_>> {
            e.iter().map(|json| NewEvent { json, nonce: None }).collect()
        }
        log.append_batch(k1, &events(&first), Some(at(0)))?;
        log.append_batch(k1, &events(&second), Some(at(1)))?;
        Ok(())
    })?;
    // Three records by k1, a rotation to k2 at T0 + 60 s (k1 seals its records
    // first), two records by k2, and a checkpoint of all five signed by k2.
    let rotated = make("rotated", Mode::Receipts, |log| {
        (0..3).try_for_each(|i| append(log, k1, i))?;
        log.rotate(k1, k2, None)?;
        append_at(log, k2, 3, at(61))?;
        append_at(log, k2, 4, at(62))?;
        log.checkpoint(k2).map(|_| ())
    })?;
    // The rotated log, then k2 revokes the retired k1 from T0 + 70 s (after its
    // last record, the key record) in a second key record, record 6 (T0 + 62 s),
    // and signs a checkpoint of all seven records.
    let revoked = make("revoked", Mode::Receipts, |log| {
        (0..3).try_for_each(|i| append(log, k1, i))?;
        log.rotate(k1, k2, None)?;
        append_at(log, k2, 3, at(61))?;
        append_at(log, k2, 4, at(62))?;
        log.revoke(k2, k1.kid(), at(70), Some("keyCompromise"))?;
        log.checkpoint(k2).map(|_| ())
    })?;
    let empty = make("empty", Mode::Receipts, |_| Ok(()))?;
    // The nonce index is derived and 24 KiB even for a small log: one case keeps
    // it, the others leave it out (§16: it is rebuilt when missing).
    let full = sealed.clone();
    let [plain, sealed, batch, rotated, revoked, empty] =
        [plain, sealed, batch, rotated, revoked, empty].map(|s| s.without("nonces"));

    // Valid logs.
    add(
        "receipts-log",
        "§13",
        "A receipts-mode log as the store writes it, with checkpoints of 3 and 5 records: every check passes.",
        valid(),
        vec![full.input()],
    );
    add(
        "receipts-log-without-checkpoints",
        "§13",
        "A receipts-mode log with no checkpoint: nothing requires one, so it is valid.",
        valid(),
        vec![plain.input()],
    );
    add(
        "batch-log",
        "§13",
        "A batch-mode log whose records are all covered by checkpoints that k1 signed: valid.",
        valid(),
        vec![batch.input()],
    );
    add("empty-log", "§13", "A log with no records and no checkpoint: nothing fails.", valid(), vec![empty.input()]);
    add(
        "rotated-log",
        "§8",
        "After a rotation, recorded by the retired key in a key record (record 3, §23), the retired key's records stay valid at their times, and the successor's checkpoint covers them: valid.",
        valid(),
        vec![rotated.input()],
    );
    add(
        "without-derived-files",
        "§16",
        "index, tree, nonces and state.json are derived and rebuilt from the segments; without them the log is still valid.",
        valid(),
        vec![sealed.without_derived().input()],
    );
    add(
        "trusted-key-set-instead-of-history",
        "§13",
        "A trusted key set holding k1 (without validity metadata) is used instead of keys.jwks: every record verifies.",
        valid(),
        vec![sealed.input(), trusted(&world.keys())],
    );
    add(
        "trusted-key-set-replaces-a-tampered-history",
        "§17",
        "keys.jwks names only a stranger's key, but the verifier uses the trusted set given, which holds k1: valid.",
        valid(),
        vec![sealed.with("keys.jwks", set(&[k3]).into_bytes()).input(), trusted(&world.keys())],
    );
    add(
        "key-revoked-after-the-records",
        "§13",
        "k1 is revoked at T0 + 10 s, after every record; in a log a checkpoint's signer need only be valid at its last record's time, so valid.",
        valid(),
        vec![sealed.input(), trusted(&jwks(&[jwk_with(k1, r#""revoked":{"revoked_at":1800000010}"#)]))],
    );
    let torn = sealed.damage(|s| {
        let mut head = frame(b"\x01\x00\x00\x00\x00");
        head.truncate(9);
        s.extend_from_slice(&head);
    });
    add(
        "torn-frame-at-the-end",
        "§16",
        "The last segment ends in the first bytes of a frame a write never finished: debris, not an entry, so the log is valid.",
        valid(),
        vec![torn.input()],
    );
    add(
        "zeros-at-the-end",
        "§16",
        "The last segment ends in zeros after its last acknowledged frame, as a lost sector leaves: debris, not an entry, so the log is valid.",
        valid(),
        vec![sealed.damage(|s| s.extend_from_slice(&[0; 100])).input()],
    );
    add(
        "last-record-removed-without-checkpoint",
        "§13",
        "Removing the last record leaves an unbroken chain, and no checkpoint says more records existed: the chain alone cannot tell, so valid.",
        valid(),
        vec![plain.with_entries(&plain.entries()[..4]).input()],
    );

    // Frames (§16 "Reading frames"): bytes that are not a valid frame are one
    // unreadable entry, and reading resumes at the next valid frame.
    let middle = plain.offset(2);
    add(
        "checksum-fails-in-the-middle",
        "§16",
        "Record 2's payload changed without fixing its CRC-32: one unreadable entry; reading resumes at record 3, whose chain link is not judged.",
        found(&[ErrorCode::RecordUnreadable]),
        vec![plain.without_derived().damage(|s| s[middle + 40] ^= 1).input()],
    );
    add(
        "wrong-magic",
        "§16",
        "Record 2's frame begins with EVD2 instead of EVD1: not a valid frame, so one unreadable entry, then record 3 is read.",
        found(&[ErrorCode::RecordUnreadable]),
        vec![plain.without_derived().damage(|s| s[middle + 3] = b'2').input()],
    );
    add(
        "length-past-the-end",
        "§16",
        "Record 2's length field reaches past the end of the file: not a valid frame; the search finds record 3, so record 2 alone is unreadable.",
        found(&[ErrorCode::RecordUnreadable]),
        vec![plain.without_derived().damage(|s| s[middle + 7] = 0x7f).input()],
    );
    let last = plain.offset(4);
    add(
        "last-frame-checksum-fails",
        "§16",
        "The last frame is whole but its checksum fails: that is damage, not the debris of an unfinished write, so the entry is unreadable.",
        found(&[ErrorCode::RecordUnreadable]),
        vec![plain.without_derived().damage(|s| s[last + 40] ^= 1).input()],
    );
    let two = plain.offset(1);
    add(
        "two-damaged-frames-in-a-row",
        "§16",
        "Records 1 and 2 both damaged: the bytes skipped up to the next valid frame are one unreadable entry; then record 3 is seq 3 where 2 was expected.",
        found(&[ErrorCode::RecordUnreadable, ErrorCode::SequenceGap]),
        vec![
            plain
                .without_derived()
                .damage(|s| {
                    s[two + 40] ^= 1;
                    s[middle + 40] ^= 1;
                })
                .input(),
        ],
    );
    add(
        "cut-short-acknowledged-frame",
        "§16",
        "The segment ends inside the last frame, which the index and state.json name as acknowledged: damage to an acknowledged entry, unreadable.",
        found(&[ErrorCode::RecordUnreadable]),
        vec![plain.without("tree").without("nonces").damage(|s| s.truncate(last + 30)).input()],
    );
    add(
        "cut-short-last-frame-not-acknowledged",
        "§16",
        "Without index or state.json nothing is acknowledged: a last frame cut short is the debris of an unfinished write, so the log of 4 records is valid.",
        valid(),
        vec![plain.without_derived().damage(|s| s.truncate(last + 30)).input()],
    );
    add(
        "unknown-entry-kind",
        "§16",
        "An entry of kind 9 (neither 1, a receipt, nor 2, a record) in a valid frame: not a receipt at all, so RECORD_UNREADABLE.",
        found(&[ErrorCode::RecordUnreadable]),
        vec![plain.change_entry(2, |e| e.kind = 9).input()],
    );
    add(
        "first-part-longer-than-the-payload",
        "§16",
        "An entry whose first-part length exceeds its payload, in a valid frame: it cannot be read as a receipt and event.",
        found(&[ErrorCode::RecordUnreadable]),
        vec![
            plain
                .with_entries(&plain.entries())
                .damage(|s| {
                    // The length after the kind byte, then the frame's checksum re-computed.
                    let at = middle + 13;
                    s[at + 3] = 0x10;
                    let len = u32::from_le_bytes(s[middle + 4..middle + 8].try_into().expect("4 bytes")) as usize;
                    let fixed = frame(&s[middle + 12..middle + 12 + len]);
                    s[middle..middle + 12 + len].copy_from_slice(&fixed);
                })
                .input(),
        ],
    );

    // Format: an entry that is framed right but is no valid receipt (§13 step 1).
    let entries = plain.entries();
    let records: Vec<Record> = entries.iter().map(Entry::record).collect();
    let jws_two_parts = {
        let text = String::from_utf8(entries[2].first.clone()).expect("text");
        text.rsplit_once('.').expect("a JWS").0.to_owned()
    };
    add(
        "receipt-of-two-parts",
        "§13",
        "Entry 2's receipt has no signature part: it fails §5 step 1, so the finding is JWS_MALFORMED and nothing else of it is checked.",
        found(&[ErrorCode::JwsMalformed]),
        vec![plain.change_entry(2, |e| e.first = jws_two_parts.into_bytes()).input()],
    );
    let no_typ = super::fixtures::jws(
        k1,
        format!(r#"{{"alg":"ES256","kid":{}}}"#, super::fixtures::quote(k1.kid())).as_bytes(),
        &records[2].to_bytes(),
    );
    add(
        "receipt-without-typ",
        "§7",
        "Entry 2 is a JWS by k1 over record 2 without typ: not a receipt, RECEIPT_MALFORMED; the next entry's chain link is not judged.",
        found(&[ErrorCode::ReceiptMalformed]),
        vec![plain.change_entry(2, |e| e.first = no_typ.into_bytes()).input()],
    );
    let spaced = String::from_utf8(records[4].to_bytes()).expect("text").replacen(',', ", ", 1);
    let not_canonical =
        super::fixtures::jws(k1, super::fixtures::receipt_header(k1.kid()).as_bytes(), spaced.as_bytes());
    add(
        "record-not-canonical",
        "§6",
        "The last receipt, signed by k1, carries record 4 with a space after a comma: a record is valid only as its canonical bytes.",
        found(&[ErrorCode::RecordMalformed]),
        vec![plain.change_entry(4, |e| e.first = not_canonical.into_bytes()).input()],
    );

    // Keys and signatures (§13 step 2, as §12).
    add(
        "record-signed-by-a-stranger",
        "§12",
        "The last record is signed by k3, which is not in the key history: KEY_NOT_FOUND (the signature is then not checked).",
        found(&[ErrorCode::KeyNotFound]),
        vec![plain.change_entry(4, |e| *e = signed_entry(k3, &next(&records[3], 4, at(4), k3), 4)).input()],
    );
    add(
        "kid-mismatch",
        "§12",
        "The last receipt is signed by k1 and names k1 in its header, but its record names k2: KID_MISMATCH; k1 is valid and its signature holds.",
        found(&[ErrorCode::KidMismatch]),
        vec![plain.change_entry(4, |e| *e = signed_entry(k1, &next(&records[3], 4, at(4), k2), 4)).input()],
    );
    let bad_signature = {
        let text = String::from_utf8(entries[4].first.clone()).expect("text");
        let (input, signature) = text.rsplit_once('.').expect("a JWS");
        let other = if signature.starts_with('A') { "B" } else { "A" };
        format!("{input}.{other}{}", &signature[1..])
    };
    add(
        "signature-invalid",
        "§12",
        "The last receipt's signature has its first character changed (still 64 bytes): SIGNATURE_INVALID.",
        found(&[ErrorCode::SignatureInvalid]),
        vec![plain.change_entry(4, |e| e.first = bad_signature.into_bytes()).input()],
    );
    add(
        "history-expires-the-key",
        "§13",
        "keys.jwks gives k1 exp = T0 + 2 s: records 2 to 4 are at or after it, KEY_EXPIRED.",
        found(&[ErrorCode::KeyExpired]),
        vec![
            plain.with("keys.jwks", jwks(&[jwk_with(k1, r#""exp":1800000002,"nbf":1800000000"#)]).into_bytes()).input(),
        ],
    );
    add(
        "trusted-key-not-yet-valid",
        "§13",
        "The trusted set gives k1 nbf = T0 + 3 s: records 0 to 2 were made before it, KEY_NOT_YET_VALID.",
        found(&[ErrorCode::KeyNotYetValid]),
        vec![plain.input(), trusted(&jwks(&[jwk_with(k1, r#""nbf":1800000003"#)]))],
    );
    add(
        "trusted-key-revoked",
        "§13",
        "The trusted set revokes k1 at T0 + 3 s: records 3 and 4 claim a time at or after it, KEY_REVOKED.",
        found(&[ErrorCode::KeyRevoked]),
        vec![plain.input(), trusted(&jwks(&[jwk_with(k1, r#""revoked":{"revoked_at":1800000003}"#)]))],
    );
    add(
        "trusted-key-set-without-the-log-key",
        "§13",
        "The trusted set holds only k3: every record's kid selects nothing (KEY_NOT_FOUND), and then no trusted key signed the checkpoint of 3.",
        found(&[ErrorCode::KeyNotFound, ErrorCode::CheckpointSignatureInvalid]),
        vec![sealed.input(), trusted(&set(&[k3]))],
    );
    let rotated_entries = rotated.entries();
    let rotated_records: Vec<Record> = rotated_entries.iter().map(Entry::record).collect();
    add(
        "retired-key-signs-after-rotation",
        "§8",
        "After the rotation just after T0 + 60 s (record 3 is its key record), record 5 (T0 + 62 s) is signed by the retired k1, whose exp has passed: KEY_EXPIRED, and the rotation's key record was k1's last record, KEY_HISTORY_MISMATCH (k2's checkpoint of 6 is left out).",
        found(&[ErrorCode::KeyExpired, ErrorCode::KeyHistoryMismatch]),
        vec![
            rotated
                .with_checkpoints(&rotated.checkpoints()[..1])
                .change_entry(5, |e| *e = signed_entry(k1, &next(&rotated_records[4], 5, at(62), k1), 5))
                .input(),
        ],
    );
    add(
        "successor-key-signs-before-rotation",
        "§8",
        "Record 2 (T0 + 2 s), the last record of a log whose key history (keys.jwks) starts k2 at the rotation just after T0 + 60 s, is made by k2: KEY_NOT_YET_VALID (the records after it and the checkpoints left out).",
        found(&[ErrorCode::KeyNotYetValid]),
        vec![{
            let mut e = rotated_entries[..3].to_vec();
            e[2] = signed_entry(k2, &next(&rotated_records[1], 2, at(2), k2), 2);
            rotated.with_checkpoints(&[]).with_entries(&e).input()
        }],
    );

    // Events (§13 step 3): hashed as stored, never re-canonicalized.
    add(
        "event-edited",
        "§13",
        "Record 2's stored event is another event (frame checksum re-computed): its SHA-256 is not the record's event, EVENT_MISMATCH.",
        found(&[ErrorCode::EventMismatch]),
        vec![plain.change_entry(2, |e| e.event = Some(event(9))).input()],
    );
    add(
        "event-reformatted",
        "§13",
        "Record 2's stored event has a space after a colon: the stored bytes are hashed as they are, so EVENT_MISMATCH.",
        found(&[ErrorCode::EventMismatch]),
        vec![
            plain
                .change_entry(2, |e| {
                    e.event = Some(String::from_utf8(event(2)).expect("text").replacen(':', ": ", 1).into_bytes())
                })
                .input(),
        ],
    );
    add(
        "event-missing",
        "§16",
        "Record 2's entry stores no event (nothing after the receipt): verification reports EVENT_MISSING.",
        found(&[ErrorCode::EventMissing]),
        vec![plain.change_entry(2, |e| e.event = None).input()],
    );
    add(
        "batch-event-missing",
        "§16",
        "A batch-mode entry stores the record's bytes and no event: EVENT_MISSING.",
        found(&[ErrorCode::EventMissing]),
        vec![batch.change_entry(1, |e| e.event = None).input()],
    );
    add(
        "batch-event-edited",
        "§13",
        "A batch-mode record's stored event is another event: the event is not in the tree, so only EVENT_MISMATCH.",
        found(&[ErrorCode::EventMismatch]),
        vec![batch.change_entry(1, |e| e.event = Some(event(9))).input()],
    );

    // Sequence, chain, time, nonce, log id (§13 steps 4 to 8).
    let mut deleted = entries.clone();
    deleted.remove(2);
    add(
        "record-deleted",
        "§13",
        "Record 2 is removed: record 3 does not follow record 1 (CHAIN_BROKEN) and seq 2 is missing (SEQUENCE_GAP, listed at the end).",
        found(&[ErrorCode::ChainBroken, ErrorCode::SequenceGap]),
        vec![plain.with_entries(&deleted).input()],
    );
    let mut swapped = entries.clone();
    swapped.swap(2, 3);
    add(
        "records-swapped",
        "§13",
        "Records 2 and 3 swapped: chain broken at three places, record 2 fills the gap it left (SEQUENCE_REORDERED) and its time is before record 3's.",
        found(&[ErrorCode::ChainBroken, ErrorCode::SequenceReordered, ErrorCode::TimeBackwards]),
        vec![plain.with_entries(&swapped).input()],
    );
    let mut twice = entries.clone();
    twice.insert(3, entries[2].clone());
    add(
        "record-stored-twice",
        "§13",
        "Record 2 (nonce req-2) stored again after itself: SEQUENCE_DUPLICATE, then CHAIN_BROKEN, then NONCE_REPLAYED, in step order.",
        found(&[ErrorCode::SequenceDuplicate, ErrorCode::ChainBroken, ErrorCode::NonceReplayed]),
        vec![plain.with_entries(&twice).input()],
    );
    let mut twice = entries.clone();
    twice.insert(2, entries[1].clone());
    add(
        "record-without-nonce-stored-twice",
        "§13",
        "Record 1 (no nonce) stored again after itself: SEQUENCE_DUPLICATE and CHAIN_BROKEN only.",
        found(&[ErrorCode::SequenceDuplicate, ErrorCode::ChainBroken]),
        vec![plain.with_entries(&twice).input()],
    );
    add(
        "first-records-cut-off",
        "§13",
        "Records 0 and 1 removed: the first entry's prev is not null (CHAIN_BROKEN) and seq 0 and 1 are missing (SEQUENCE_GAP at index 0).",
        found(&[ErrorCode::ChainBroken, ErrorCode::SequenceGap]),
        vec![plain.with_entries(&entries[2..]).input()],
    );
    let skip = Record { seq: 5, ..next(&records[3], 4, at(4), k1) };
    add(
        "sequence-skips",
        "§13",
        "The last record, correctly chained to record 3 and signed, has seq 5: seq 4 is missing, SEQUENCE_GAP.",
        found(&[ErrorCode::SequenceGap]),
        vec![plain.change_entry(4, |e| *e = signed_entry(k1, &skip, 4)).input()],
    );
    let wrong_prev = Record { prev: Some(records[2].digest()), ..next(&records[3], 4, at(4), k1) };
    add(
        "prev-names-another-record",
        "§13",
        "The last record's prev is the digest of record 2, not record 3 (signed by k1): CHAIN_BROKEN.",
        found(&[ErrorCode::ChainBroken]),
        vec![plain.change_entry(4, |e| *e = signed_entry(k1, &wrong_prev, 4)).input()],
    );
    let backwards = next(&records[3], 4, at(2), k1);
    add(
        "time-backwards",
        "§13",
        "The last record is dated T0 + 2 s, before record 3's T0 + 3 s: TIME_BACKWARDS.",
        found(&[ErrorCode::TimeBackwards]),
        vec![plain.change_entry(4, |e| *e = signed_entry(k1, &backwards, 4)).input()],
    );
    let same_time = next(&records[3], 4, at(3), k1);
    add(
        "equal-times",
        "§13",
        "The last record has the same time as record 3: not earlier, so valid.",
        valid(),
        vec![plain.change_entry(4, |e| *e = signed_entry(k1, &same_time, 4)).input()],
    );
    let replayed = Record { nonce: Some("req-0".to_owned()), ..next(&records[3], 4, at(4), k1) };
    add(
        "nonce-replayed",
        "§13",
        "The last record carries nonce req-0, which record 0 holds: NONCE_REPLAYED.",
        found(&[ErrorCode::NonceReplayed]),
        vec![plain.change_entry(4, |e| *e = signed_entry(k1, &replayed, 4)).input()],
    );
    let other_log = Record { log_id: OTHER_LOG.to_owned(), ..next(&records[3], 4, at(4), k1) };
    add(
        "record-of-another-log",
        "§13",
        "The last record names another log id (chained and signed): its log_id is not the first record's, LOG_ID_MISMATCH.",
        found(&[ErrorCode::LogIdMismatch]),
        vec![plain.change_entry(4, |e| *e = signed_entry(k1, &other_log, 4)).input()],
    );
    let zero_with_prev = Record { seq: 0, prev: Some(records[0].digest()), ..records[0].clone() };
    add(
        "seq-zero-with-prev",
        "§6",
        "Record 0 is re-signed with a prev digest: seq 0 with a prev is RECORD_MALFORMED, and record 1's chain link is not judged.",
        found(&[ErrorCode::RecordMalformed]),
        vec![plain.change_entry(0, |e| e.first = receipt(k1, &zero_with_prev).into_bytes()).input()],
    );

    // Two failures in one entry: the findings follow the order of §13's steps.
    let stranger = next(&records[3], 4, at(4), k3);
    add(
        "key-before-event",
        "§13",
        "The last record is signed by k3 (not in the history) and its stored event is another: key (step 2) is reported before event (step 3).",
        found(&[ErrorCode::KeyNotFound, ErrorCode::EventMismatch]),
        vec![plain.change_entry(4, |e| *e = Entry { event: Some(event(9)), ..signed_entry(k3, &stranger, 4) }).input()],
    );
    let other_log_wrong_prev =
        Record { log_id: OTHER_LOG.to_owned(), prev: Some(records[2].digest()), ..records[4].clone() };
    add(
        "log-id-before-chain",
        "§13",
        "The last record names another log and the digest of record 2 as prev (signed by k1): LOG_ID_MISMATCH (step 4) before CHAIN_BROKEN (step 6).",
        found(&[ErrorCode::LogIdMismatch, ErrorCode::ChainBroken]),
        vec![
            plain
                .change_entry(4, |e| *e = Entry { first: receipt(k1, &other_log_wrong_prev).into_bytes(), ..e.clone() })
                .input(),
        ],
    );
    let backwards_replayed = Record { nonce: Some("req-0".to_owned()), ..next(&records[3], 4, at(2), k1) };
    add(
        "time-before-nonce",
        "§13",
        "The last record is dated before record 3 and reuses nonce req-0: TIME_BACKWARDS (step 7) before NONCE_REPLAYED (step 8).",
        found(&[ErrorCode::TimeBackwards, ErrorCode::NonceReplayed]),
        vec![plain.change_entry(4, |e| *e = signed_entry(k1, &backwards_replayed, 4)).input()],
    );

    // Segments (§16): a log may span several; debris is only at the end of the last.
    add(
        "two-segments",
        "§16",
        "The entries are split into segments/0…0.seg (records 0 to 2) and segments/0…03.seg (records 3 and 4), each named by its first seq: valid.",
        valid(),
        vec![plain.split(3, b"").input()],
    );
    add(
        "torn-frame-at-the-end-of-a-first-segment",
        "§16",
        "The first of two segments ends in a frame's first 9 bytes: debris is only at the end of the last segment, so this is an unreadable entry taking seq 3, and record 3 repeats it.",
        found(&[ErrorCode::RecordUnreadable, ErrorCode::SequenceDuplicate]),
        vec![plain.split(3, &frame(b"\x01\x00\x00\x00\x00")[..9]).input()],
    );

    // Checkpoints.
    let cps = sealed.checkpoints();
    let sealed_tree = tree(&sealed.record_bytes());
    add(
        "checkpoint-of-records-removed-from-the-end",
        "§13",
        "Record 4 removed, but the checkpoint of 5 records stays: a checkpoint of more records than the log holds is CHECKPOINT_MISMATCH.",
        found(&[ErrorCode::CheckpointMismatch]),
        vec![sealed.with_entries(&sealed.entries()[..4]).input()],
    );
    add(
        "checkpoint-root-of-another-tree",
        "§13",
        "The checkpoint of 3 records carries the root of other records (signed by k1): CHECKPOINT_MISMATCH.",
        found(&[ErrorCode::CheckpointMismatch]),
        vec![
            sealed
                .with_checkpoints(&[signed(&checkpoint_of(&world.batch_tree, 3, LOG_ID), k1), cps[1].clone()])
                .input(),
        ],
    );
    add(
        "checkpoint-of-another-origin",
        "§13",
        "The checkpoint of 3 records has the right size and root but origin other.evidentia.dev/log (signed by k1 under it): CHECKPOINT_MISMATCH.",
        found(&[ErrorCode::CheckpointMismatch]),
        vec![
            sealed.with_checkpoints(&[signed(&checkpoint_of(&sealed_tree, 3, OTHER_LOG), k1), cps[1].clone()]).input(),
        ],
    );
    add(
        "checkpoint-signed-by-a-stranger",
        "§13",
        "The checkpoint of 3 records is signed by k3 alone, not a key of the history: CHECKPOINT_SIGNATURE_INVALID.",
        found(&[ErrorCode::CheckpointSignatureInvalid]),
        vec![sealed.with_checkpoints(&[signed(&checkpoint_of(&sealed_tree, 3, LOG_ID), k3), cps[1].clone()]).input()],
    );
    add(
        "checkpoint-mismatch-and-signature",
        "§13",
        "The checkpoint of 3 records has another root and is signed by k3 alone: CHECKPOINT_MISMATCH only, since §13 does not judge the signature of a checkpoint that is not of this log.",
        found(&[ErrorCode::CheckpointMismatch]),
        vec![
            sealed
                .with_checkpoints(&[signed(&checkpoint_of(&world.batch_tree, 3, LOG_ID), k3), cps[1].clone()])
                .input(),
        ],
    );
    let rotated_tree = tree(&rotated.record_bytes());
    let rcps = rotated.checkpoints();
    add(
        "checkpoint-signed-by-the-retired-key",
        "§13",
        "A checkpoint of all 6 records signed by k1 only: k1 expired at the rotation, before record 5's time, so CHECKPOINT_SIGNATURE_INVALID.",
        found(&[ErrorCode::CheckpointSignatureInvalid]),
        vec![
            rotated.with_checkpoints(&[rcps[0].clone(), signed(&checkpoint_of(&rotated_tree, 6, LOG_ID), k1)]).input(),
        ],
    );
    add(
        "checkpoint-signed-by-the-successor-too-early",
        "§13",
        "The checkpoint of k1's 3 records is signed by k2, not yet valid at record 2's time: in a log the signer must be valid then.",
        found(&[ErrorCode::CheckpointSignatureInvalid]),
        vec![
            rotated.with_checkpoints(&[signed(&checkpoint_of(&rotated_tree, 3, LOG_ID), k2), rcps[1].clone()]).input(),
        ],
    );
    let empty_tree = tree(&[]);
    let empty_cp = signed(&checkpoint_of(&empty_tree, 0, LOG_ID), k1);
    add(
        "checkpoint-of-no-records",
        "§13",
        "An empty log with a checkpoint of 0 records signed by k1, never revoked: valid.",
        valid(),
        vec![empty.with_checkpoints(std::slice::from_ref(&empty_cp)).input()],
    );
    add(
        "checkpoint-of-no-records-by-a-revoked-key",
        "§13",
        "A checkpoint of 0 records has no record time, so its signer must never have been revoked; k1 is (trusted set): CHECKPOINT_SIGNATURE_INVALID.",
        found(&[ErrorCode::CheckpointSignatureInvalid]),
        vec![
            empty.with_checkpoints(&[empty_cp]).input(),
            trusted(&jwks(&[jwk_with(k1, r#""revoked":{"revoked_at":1800000100}"#)])),
        ],
    );

    // Stored tree nodes (§13 step 9, §16 `tree`).
    let mut tree_bytes = sealed.files["tree"].clone();
    tree_bytes[0] ^= 1;
    add(
        "tree-node-changed",
        "§13",
        "The first stored tree hash (leaf 0) has a bit flipped: it differs from the one computed from record 0, TREE_MISMATCH.",
        found(&[ErrorCode::TreeMismatch]),
        vec![sealed.with("tree", tree_bytes.clone()).input()],
    );
    add(
        "tree-node-changed-without-state",
        "§16",
        "With no state.json every stored tree node is compared: the changed first hash is a TREE_MISMATCH.",
        found(&[ErrorCode::TreeMismatch]),
        vec![sealed.with("tree", tree_bytes).without("state.json").input()],
    );
    let state3 = format!(r#"{{"entries":3,"root":"{}","version":1}}"#, b64(&super::fixtures::root_at(&sealed_tree, 3)));
    let mut late_node = sealed.files["tree"].clone();
    let n = late_node.len();
    late_node[n - 1] ^= 1;
    add(
        "tree-node-beyond-state",
        "§16",
        "state.json says 3 entries are durable; only nodes of the first 3 records are compared, so a changed node of record 4 is not a finding.",
        valid(),
        vec![sealed.with("state.json", state3.into_bytes()).with("tree", late_node).input()],
    );

    // Batch mode (§11, §13): records are sealed by checkpoints only.
    let bcps = batch.checkpoints();
    add(
        "batch-records-not-sealed",
        "§13",
        "The checkpoint of 5 records is removed: records 3 and 4 are covered by no checkpoint, RECORD_UNSIGNED once at the first.",
        found(&[ErrorCode::RecordUnsigned]),
        vec![batch.with_checkpoints(&bcps[..1]).input()],
    );
    let batch_tree = tree(&batch.record_bytes());
    add(
        "batch-checkpoint-by-a-stranger",
        "§13",
        "The checkpoint of 5 records is signed by k3: CHECKPOINT_SIGNATURE_INVALID, so records 3 and 4 are sealed by no valid checkpoint (RECORD_UNSIGNED).",
        found(&[ErrorCode::CheckpointSignatureInvalid, ErrorCode::RecordUnsigned]),
        vec![batch.with_checkpoints(&[bcps[0].clone(), signed(&checkpoint_of(&batch_tree, 5, LOG_ID), k3)]).input()],
    );
    let batch_entries = batch.entries();
    let b4 = Record::from_bytes(&batch_entries[4].first).expect("record");
    let edited = Record { event: Digest::sha256(&event(9)), ..b4 };
    add(
        "batch-record-rewritten",
        "§13",
        "The last record and its event are rewritten consistently: the tree no longer has the signed root of 5 (CHECKPOINT_MISMATCH), so records 3 and 4 are unsealed.",
        found(&[ErrorCode::CheckpointMismatch, ErrorCode::RecordUnsigned]),
        vec![
            batch
                .change_entry(4, |e| *e = Entry { kind: KIND_RECORD, first: edited.to_bytes(), event: Some(event(9)) })
                .input(),
        ],
    );

    // The log's own files.
    add(
        "key-history-malformed",
        "§4",
        "keys.jwks is not a key set (an object without keys or kty): reading it fails, KEY_SET_MALFORMED, an error.",
        Outcome::Error(ErrorCode::KeySetMalformed),
        vec![plain.with("keys.jwks", br#"{"keyz":[]}"#.to_vec()).input()],
    );
    add(
        "key-history-a-single-jwk",
        "§4",
        "keys.jwks holds k1's JWK alone, not in a set: a single JWK is read as a set of one, so valid.",
        valid(),
        vec![plain.with("keys.jwks", jwk(k1).into_bytes()).input()],
    );
    add(
        "log-json-missing",
        "§16",
        "No log.json: the folder is not a log directory, LOG_NOT_FOUND, an error (nothing was verified).",
        Outcome::Error(ErrorCode::LogNotFound),
        vec![plain.without("log.json").input()],
    );
    add(
        "log-json-unknown-mode",
        "§16",
        "log.json names the mode \"sealed\", neither receipts nor batch: LOG_CONFIG_INVALID, an error.",
        Outcome::Error(ErrorCode::LogConfigInvalid),
        vec![
            plain
                .with(
                    "log.json",
                    String::from_utf8(plain.files["log.json"].clone())
                        .expect("text")
                        .replace("\"receipts\"", "\"sealed\"")
                        .into_bytes(),
                )
                .input(),
        ],
    );
    // log.json's other members (§16): each wrong one refuses the directory.
    let config = String::from_utf8(plain.files["log.json"].clone()).expect("text");
    let with_config = |text: String| vec![plain.with("log.json", text.into_bytes()).input()];
    for (slug, why, from, to) in [
        ("log-json-other-format", "names the format \"evidentia-ledger\"", "\"evidentia-log\"", "\"evidentia-ledger\""),
        ("log-json-version-3", "is of version 3", "\"version\":1", "\"version\":3"),
        ("log-json-log-id-with-a-space", "has a log id with a space", "\"log_id\":\"", "\"log_id\":\"a "),
        ("log-json-key-file-a-number", "has a key_file that is a number", "{", "{\"key_file\":7,"),
        ("log-json-not-json", "is not JSON (cut short)", "}", ""),
    ] {
        assert!(config.contains(from), "{slug}");
        add(
            slug,
            "§16",
            &format!("log.json {why}: LOG_CONFIG_INVALID, an error, before any entry is read."),
            Outcome::Error(ErrorCode::LogConfigInvalid),
            with_config(config.replacen(from, to, 1)),
        );
    }
    add(
        "log-json-with-another-member",
        "§16",
        "log.json has a member it does not define, \"comment\": other members are ignored, so valid.",
        valid(),
        with_config(config.replacen('{', r#"{"comment":"payments","#, 1)),
    );
    add(
        "key-history-malformed-with-trusted-keys",
        "§16",
        "keys.jwks is not a key set, and the verifier brings keys it trusts: keys.jwks is still read, KEY_SET_MALFORMED, an error.",
        Outcome::Error(ErrorCode::KeySetMalformed),
        vec![plain.with("keys.jwks", br#"{"keyz":[]}"#.to_vec()).input(), trusted(&world.keys())],
    );
    // Key records (§23): the key history the log itself signed.
    let text = |stored: &Stored, path: &str| String::from_utf8(stored.files[path].clone()).expect("text");
    let rotated_keys = text(&rotated, "keys.jwks");
    assert_ne!(rotated_keys, text(&revoked, "keys.jwks"), "the revocation changed keys.jwks");
    add(
        "rotated-then-revoked-log",
        "§23",
        "After the rotation to k2 (key record 3, signed by k1), k2 revokes k1 in key record 6 from T0 + 70 s, after k1's last record (key record 3); keys.jwks is record 6's keys: valid.",
        valid(),
        vec![revoked.input()],
    );
    add(
        "revocation-taken-back-in-keys-jwks",
        "§23",
        "keys.jwks is edited after the revocation back to the key set before it (k1 not revoked): every record verifies with it, but it is not the last key record's keys, KEY_HISTORY_MISMATCH (at record 6).",
        found(&[ErrorCode::KeyHistoryMismatch]),
        vec![revoked.with("keys.jwks", rotated_keys.clone().into_bytes()).input()],
    );
    let exp = r#""exp":1800000060.000001,"#;
    assert!(rotated_keys.contains(exp), "the rotation's exp");
    add(
        "expiry-taken-back-in-keys-jwks",
        "§23",
        "keys.jwks is edited after the rotation: k1's exp is removed, so k1 would still sign; every record verifies, but the set is not key record 3's keys, KEY_HISTORY_MISMATCH.",
        found(&[ErrorCode::KeyHistoryMismatch]),
        vec![rotated.with("keys.jwks", rotated_keys.replacen(exp, "", 1).into_bytes()).input()],
    );
    let added = format!("{},{}]}}", &rotated_keys[..rotated_keys.len() - 2], jwk(k3));
    add(
        "key-added-to-keys-jwks",
        "§23",
        "keys.jwks is edited after the rotation: the stranger k3 is added, without validity metadata; every record verifies, but the set is not key record 3's keys, KEY_HISTORY_MISMATCH.",
        found(&[ErrorCode::KeyHistoryMismatch]),
        vec![rotated.with("keys.jwks", added.into_bytes()).input()],
    );
    // Key records the store refuses to write, made by hand.
    let plain_keys = KeySet::from_json(&text(&plain, "keys.jwks")).expect("the log's key set");
    let by_incoming = KeyRecord::rotate(&plain_keys, k1.public_key(), k2.public_key(), at(60)).expect("a rotation");
    let by_incoming_event = by_incoming.to_event();
    let mut e = rotated_entries[..3].to_vec();
    e.push(event_entry(k2, &next_event(&rotated_records[2], &by_incoming_event, at(60), k2), &by_incoming_event));
    e.extend_from_slice(&rotated_entries[4..]);
    add(
        "rotation-signed-by-the-incoming-key",
        "§23",
        "Key record 3 rotates k1 to k2 at T0 + 60 s, its own time, but k2 signed it: k2 is valid then (keys.jwks is the record's keys), yet the outgoing key must vouch for the incoming one, KEY_HISTORY_MISMATCH (checkpoints left out).",
        found(&[ErrorCode::KeyHistoryMismatch]),
        vec![
            rotated
                .with_checkpoints(&[])
                .with_entries(&rechained(&e, &[k1, k2]))
                .with("keys.jwks", by_incoming.keys.to_json().into_bytes())
                .input(),
        ],
    );
    let by_revoked = KeyRecord::revoke(&plain_keys, k1.kid(), at(100), Some("keyCompromise")).expect("a revocation");
    let by_revoked_event = by_revoked.to_event();
    let mut e = entries.clone();
    e.push(event_entry(k1, &next_event(&records[4], &by_revoked_event, at(5), k1), &by_revoked_event));
    add(
        "revocation-signed-by-the-revoked-key",
        "§23",
        "Record 5 (T0 + 5 s) is a key record revoking k1 from T0 + 100 s, signed by k1 itself, valid then (keys.jwks is the record's keys): a revocation is made by a key still in force, never the revoked one, KEY_HISTORY_MISMATCH.",
        found(&[ErrorCode::KeyHistoryMismatch]),
        vec![plain.with_entries(&e).with("keys.jwks", by_revoked.keys.to_json().into_bytes()).input()],
    );
    // A key record that is not one in full (§23.1), stored with its digest in a
    // record k1 signs again; keys.jwks is the record's keys.
    for (slug, why, from, to) in [
        (
            "key-record-with-an-unknown-member",
            "has a member §23.1 does not define, \"comment\"",
            r#""change":"rotate","#,
            r#""change":"rotate","comment":"planned","#,
        ),
        ("key-record-of-another-format", "has \"format\":2", r#""format":1,"#, r#""format":2,"#),
    ] {
        let original = event_text(&rotated_entries, 3);
        assert!(original.contains(from), "{slug}");
        let changed = original.replacen(from, to, 1).into_bytes();
        let mut e = rotated_entries.clone();
        e[3] = event_entry(k1, &Record { event: Digest::sha256(&changed), ..rotated_records[3].clone() }, &changed);
        add(
            slug,
            "§23",
            &format!(
                "Key record 3 {why}: KEY_RECORD_MALFORMED, and nothing else is checked for it (the records after it chained again, checkpoints left out)."
            ),
            found(&[ErrorCode::KeyRecordMalformed]),
            vec![rotated.with_checkpoints(&[]).with_entries(&rechained(&e, &[k1, k2])).input()],
        );
    }
    // A second key record whose keys are not the first's with its change applied:
    // it also moves k2's nbf (to T0 + 61 s, still before k2's first record).
    let moved = KeySet::from_json(&rotated_keys.replacen(r#""nbf":1800000060.000001"#, r#""nbf":1800000061"#, 1))
        .expect("a key set");
    let not_following = KeyRecord::revoke(&moved, k1.kid(), at(70), Some("keyCompromise")).expect("a revocation");
    let not_following_event = not_following.to_event();
    let revoked_entries = revoked.entries();
    let revoked_records: Vec<Record> = revoked_entries.iter().map(Entry::record).collect();
    let mut e = revoked_entries.clone();
    e[6] = event_entry(
        k2,
        &Record { event: Digest::sha256(&not_following_event), ..revoked_records[6].clone() },
        &not_following_event,
    );
    let changed = revoked.with_entries(&e).with("keys.jwks", not_following.keys.to_json().into_bytes());
    let changed_tree = tree(&changed.record_bytes());
    add(
        "second-key-record-does-not-follow",
        "§23",
        "Key record 6 revokes k1 as signed by k2, but its keys also move k2's nbf from the rotation's instant to T0 + 61 s: not key record 3's keys with the revocation applied, KEY_HISTORY_MISMATCH (keys.jwks is record 6's keys, the checkpoint of 7 signed again).",
        found(&[ErrorCode::KeyHistoryMismatch]),
        vec![
            changed
                .with_checkpoints(&[
                    revoked.checkpoints()[0].clone(),
                    signed(&checkpoint_of(&changed_tree, 7, LOG_ID), k2),
                ])
                .input(),
        ],
    );

    // A rotation's key record is its outgoing key's last record (§23.2).
    let rotated_cps = rotated.checkpoints();
    let mut e = rotated_entries.clone();
    e[4] = signed_entry(k1, &next(&rotated_records[3], 3, at(60), k1), 3);
    let late = rotated.with_entries(&rechained(&e, &[k1, k2]));
    let late_tree = tree(&late.record_bytes());
    add(
        "retired-key-signs-before-its-exp",
        "§23",
        "Record 4 is signed by k1 at T0 + 60 s, the time of the rotation's key record (record 3) and before k1's exp (T0 + 60.000001 s): k1 is valid then, but a rotation's key record is its outgoing key's last record, KEY_HISTORY_MISMATCH (record 5 chained again, k2's checkpoint of 6 signed again).",
        found(&[ErrorCode::KeyHistoryMismatch]),
        vec![
            late.with_checkpoints(&[rotated_cps[0].clone(), signed(&checkpoint_of(&late_tree, 6, LOG_ID), k2)]).input(),
        ],
    );
    // k1 revokes its successor k2 from T0 + 60 s, inside [record time, at).
    let k2_nbf = r#""nbf":1800000060.000001,"#;
    assert_eq!(rotated_keys.matches(k2_nbf).count(), 1, "k2's nbf");
    let successor_revoked = KeyRecord {
        change: KeyChange::Revoke { kid: k2.kid().to_owned(), at: at(60), reason: None },
        keys: KeySet::from_json(&rotated_keys.replacen(
            k2_nbf,
            &format!(r#"{k2_nbf}"revoked":{{"revoked_at":1800000060}},"#),
            1,
        ))
        .expect("a key set"),
    };
    let successor_revoked_event = successor_revoked.to_event();
    let mut e = rotated_entries[..4].to_vec();
    e.push(event_entry(
        k1,
        &next_event(&rotated_records[3], &successor_revoked_event, at(60), k1),
        &successor_revoked_event,
    ));
    add(
        "retired-key-revokes-its-successor",
        "§23",
        "Record 4 (T0 + 60 s, before k1's exp) is a key record revoking k2 from T0 + 60 s, signed by k1: k1 has an exp, so it is not the log's current key, no key is in force after the change, and k1 was handed over by key record 3; KEY_HISTORY_MISMATCH (keys.jwks is record 4's keys, k1's checkpoint of 4 kept).",
        found(&[ErrorCode::KeyHistoryMismatch]),
        vec![
            rotated
                .with_checkpoints(&rotated_cps[..1])
                .with_entries(&e)
                .with("keys.jwks", successor_revoked.keys.to_json().into_bytes())
                .input(),
        ],
    );
    // A planned rotation written in keys.jwks before any key record: k1 until
    // T0 + 100 s, then k2; k3 an older key, expired at T0.
    let planned = KeySet::from_json(&jwks(&[
        jwk_with(k1, r#""nbf":1800000000,"exp":1800000100"#),
        jwk_with(k2, r#""nbf":1800000100"#),
        jwk_with(k3, r#""nbf":1799990000,"exp":1800000000"#),
    ]))
    .expect("a key set");
    let by_expiring = KeyRecord::revoke(&planned, k3.kid(), at(0), Some("superseded")).expect("a revocation");
    let by_expiring_event = by_expiring.to_event();
    let mut e = entries.clone();
    e.push(event_entry(k1, &next_event(&records[4], &by_expiring_event, at(5), k1), &by_expiring_event));
    add(
        "revocation-signed-by-a-key-with-an-exp",
        "§23",
        "keys.jwks plans a rotation from k1 to k2 at T0 + 100 s (k1 has an exp) and lists an old key k3; record 5 (T0 + 5 s), the log's first key record, revokes k3, signed by k1: valid then and not the revoked key, but not the log's current key (the one key with neither exp nor revoked, k2), KEY_HISTORY_MISMATCH (keys.jwks is the record's keys).",
        found(&[ErrorCode::KeyHistoryMismatch]),
        vec![plain.with_entries(&e).with("keys.jwks", by_expiring.keys.to_json().into_bytes()).input()],
    );

    // The end of the log compares histories: keys by thumbprint, nbf, exp,
    // revoked_at and reason; not the order of the entries nor other members.
    let revoked_keys = text(&revoked, "keys.jwks");
    let k1_history =
        r#""exp":1800000060.000001,"nbf":1800000000,"revoked":{"reason":"keyCompromise","revoked_at":1800000070}"#;
    let k2_history = r#""nbf":1800000060.000001"#;
    for part in [
        r#""exp":1800000060.000001,"#,
        r#""nbf":1800000000,"revoked":{"reason":"keyCompromise","revoked_at":1800000070}"#,
        k2_history,
    ] {
        assert!(revoked_keys.contains(part), "the log's history: {part}");
    }
    let reordered = |k1_history: &str| {
        trusted(&jwks(&[jwk_without(k2, &["use", "alg"], k2_history), jwk_without(k1, &["use", "alg"], k1_history)]))
    };
    add(
        "trusted-keys-the-history-reordered",
        "§23",
        "The verifier brings the log's history as its own key set: k2 first, then k1, neither with use or alg; the same keys with the same nbf, exp, revoked_at and reason as the last key record's keys, so valid.",
        valid(),
        vec![revoked.input(), reordered(k1_history)],
    );
    add(
        "trusted-keys-without-the-revocation-reason",
        "§23",
        "The verifier brings the log's history reordered, but k1's revocation has no reason: the history differs from the last key record's keys (the reason is compared), KEY_HISTORY_MISMATCH (at record 6).",
        found(&[ErrorCode::KeyHistoryMismatch]),
        vec![revoked.input(), reordered(&k1_history.replacen(r#""reason":"keyCompromise","#, "", 1))],
    );

    // A key record whose member name the stored event spells with an escape: read
    // as JSON, it is the member evidentia_key_record (§23.2).
    let original = event_text(&rotated_entries, 3);
    let escaped = original.replacen(r#""evidentia_key_record""#, r#""evidentia_key_r\u0065cord""#, 1).into_bytes();
    assert_ne!(escaped, original.as_bytes(), "the name escaped");
    let mut e = rotated_entries.clone();
    e[3] = event_entry(k1, &Record { event: Digest::sha256(&escaped), ..rotated_records[3].clone() }, &escaped);
    let spelled = rotated.with_entries(&rechained(&e, &[k1, k2]));
    let spelled_tree = tree(&spelled.record_bytes());
    let spelled = spelled.with_checkpoints(&[
        signed(&checkpoint_of(&spelled_tree, 4, LOG_ID), k1),
        signed(&checkpoint_of(&spelled_tree, 6, LOG_ID), k2),
    ]);
    add(
        "key-record-name-escaped",
        "§23",
        "Key record 3's stored event spells its member evidentia_key_r\\u0065cord (the record holds the digest of those bytes, the records after it chained again, the checkpoints signed again): read as JSON it is a key record, and a sound one, so valid.",
        valid(),
        vec![spelled.input()],
    );
    add(
        "key-record-name-escaped-then-keys-edited",
        "§23",
        "As key-record-name-escaped, with k1's exp removed from keys.jwks: the escaped name still makes record 3 a key record, and the key set is not its keys, KEY_HISTORY_MISMATCH.",
        found(&[ErrorCode::KeyHistoryMismatch]),
        vec![spelled.with("keys.jwks", rotated_keys.replacen(exp, "", 1).into_bytes()).input()],
    );
    salted_cases(&mut add, k1)
}

/// Logs of version-2 records, and erasure (§16 stored events, §26.1, §27).
fn salted_cases(add: &mut impl FnMut(&str, &'static str, &str, Outcome, Vec<Input>), k1: &SigningKey) -> Result<()> {
    let found = |codes: &[ErrorCode]| Outcome::Findings(codes.to_vec());
    // Five version-2 records by k1, their salts derived from a fixed seed.
    let salted =
        make_of("salted", Mode::Receipts, RecordVersion::V2, |log| (0..5).try_for_each(|i| append(log, k1, i)))?
            .without("nonces");
    // The same, then record 1's event erased: the erasure record is record 5.
    let erased = make_of("erased", Mode::Receipts, RecordVersion::V2, |log| {
        (0..5).try_for_each(|i| append(log, k1, i))?;
        log.erase(k1, 1, "retention period ended").map(drop)
    })?
    .without("nonces");
    let entries = salted.entries();
    let stored = |i: usize| entries[i].event.clone().expect("a stored event");
    add(
        "salted-log",
        "§16",
        "A log of version-2 records: each stored event is 0x01, the salt's length, the salt and the event, and the commitment they make (§26.1) is the record's event digest. Valid.",
        Outcome::Valid,
        vec![salted.input()],
    );
    add(
        "erased-log",
        "§27",
        "Record 1's stored event is erased (zeros of its length), and record 5 is the erasure record naming it with its digest: valid, record 1 reported erased.",
        Outcome::Valid,
        vec![erased.input()],
    );
    let zeroed = |i: usize| StoredEvent::erased(stored(i).len());
    add(
        "event-erased-without-erasure-record",
        "§27",
        "Record 2's stored event is zeros, and no erasure record names it: ERASURE_MISMATCH.",
        found(&[ErrorCode::ErasureMismatch]),
        vec![salted.change_entry(2, |e| e.event = Some(zeroed(2))).input()],
    );
    add(
        "other-event-erased-than-the-erasure-names",
        "§27",
        "The erasure record names record 1, but record 3's event is the one erased, record 1's kept: ERASURE_MISMATCH (at record 3).",
        found(&[ErrorCode::ErasureMismatch]),
        vec![
            erased
                .change_entry(3, |e| e.event = Some(zeroed(3)))
                .change_entry(1, |e| e.event = Some(stored(1)))
                .input(),
        ],
    );
    add(
        "erasure-record-with-event-kept",
        "§27",
        "Record 5 erases record 1, whose event is still stored (an erasure not yet finished): valid, nothing reported erased.",
        Outcome::Valid,
        vec![erased.change_entry(1, |e| e.event = Some(stored(1))).input()],
    );
    let mut salt_changed = stored(0);
    salt_changed[2] ^= 1;
    add(
        "salted-event-with-another-salt",
        "§16",
        "Record 0's stored salt has one bit changed: the commitment differs, EVENT_MISMATCH.",
        found(&[ErrorCode::EventMismatch]),
        vec![salted.change_entry(0, |e| e.event = Some(salt_changed)).input()],
    );
    let mut short_salt = stored(0);
    short_salt[1] = 15;
    add(
        "salted-event-with-a-salt-of-15-bytes",
        "§16",
        "Record 0's stored event says its salt is 15 bytes: not a stored event's form, EVENT_MISMATCH.",
        found(&[ErrorCode::EventMismatch]),
        vec![salted.change_entry(0, |e| e.event = Some(short_salt)).input()],
    );
    let plain_json = stored(0)[18..].to_vec();
    add(
        "salted-record-with-its-event-unsalted",
        "§13",
        "Record 0 is of version 2, but its event is stored as plain JSON, without its salt: EVENT_MISMATCH.",
        found(&[ErrorCode::EventMismatch]),
        vec![salted.change_entry(0, |e| e.event = Some(plain_json)).input()],
    );
    let mut not_zero = zeroed(2);
    not_zero[7] = 1;
    add(
        "erased-event-not-all-zeros",
        "§16",
        "Record 2's stored event begins with 0x00 but is not all zeros: no stored event's form, EVENT_MISMATCH.",
        found(&[ErrorCode::EventMismatch]),
        vec![salted.change_entry(2, |e| e.event = Some(not_zero)).input()],
    );
    let version_3 = |text: String| text.replace("\"version\":2", "\"version\":3").into_bytes();
    add(
        "salted-log-json-version-3",
        "§16",
        "log.json of a salted log says version 3: LOG_CONFIG_INVALID.",
        Outcome::Error(ErrorCode::LogConfigInvalid),
        vec![salted.with("log.json", version_3(String::from_utf8(salted.files["log.json"].clone())?)).input()],
    );
    Ok(())
}
