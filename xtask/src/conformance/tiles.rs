//! Cases of SPEC.md §24.2: verifying a log published as tlog-tiles. Each
//! publication is built here from the suite's records (a batch-signed chain by
//! the log's key) with the paths and encodings §24 gives, then changed where a
//! case needs it: a record, a hash, a file cut, lengthened or missing, the
//! checkpoint.

use std::collections::BTreeMap;

use evidentia::merkle::{Hash, MemoryTree, leaf_hash};
use evidentia::tiles::{TILE_WIDTH, encode_bundle, subtree_root, tile_levels, tiles_at};
use evidentia::{Checkpoint, Digest, ErrorCode, SigningKey};

use evidentia::encoding::b64;

use super::fixtures::{
    LOG_ID, World, at, checkpoint_of, event, jwk, jwk_with, jwks, record, set, signature_line, signed, tree,
};
use super::{Op, Outcome, Suite, dir, file};

/// The records of a batch-signed chain of `n` events by `key`, a second apart.
fn records(n: usize, key: &SigningKey) -> Vec<Vec<u8>> {
    let mut prev = None;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let bytes = record(i as u64, prev, &event(i), at(i as i64), key).to_bytes();
        prev = Some(Digest::sha256(&bytes));
        out.push(bytes);
    }
    out
}

/// The publication of `records` under `note` (§24): path → bytes.
fn publication(records: &[Vec<u8>], note: &str) -> BTreeMap<String, Vec<u8>> {
    let size = records.len() as u64;
    let mut files = BTreeMap::from([("checkpoint".to_owned(), note.as_bytes().to_vec())]);
    // The hashes of the current tile level: the leaves, then each full tile's root.
    let mut hashes: Vec<Hash> = records.iter().map(|r| leaf_hash(r)).collect();
    for level in 0..tile_levels(size) {
        for tile in tiles_at(size, level, 0) {
            let range = tile.first_node() as usize..(tile.first_node() + u64::from(tile.width)) as usize;
            files.insert(tile.path(), hashes[range.clone()].concat());
            if level == 0 {
                let bundle = encode_bundle(records[range].iter().map(Vec::as_slice)).expect("short records");
                files.insert(tile.entries_path(), bundle);
            }
        }
        hashes = hashes.chunks_exact(TILE_WIDTH as usize).map(subtree_root).collect();
    }
    files
}

/// The checkpoint of all of `records` signed by `key`.
fn note_of(records: &[Vec<u8>], key: &SigningKey) -> String {
    let tree: MemoryTree = tree(records);
    signed(&checkpoint_of(&tree, records.len() as u64, LOG_ID), key)
}

/// The case's inputs: the publication folder and the trusted key set.
fn inputs(files: BTreeMap<String, Vec<u8>>, jwks: &str) -> Vec<super::Input> {
    vec![dir("publication", "publication", files.into_iter().collect()), file("jwks", "keys.jwks", jwks)]
}

pub(crate) fn cases(suite: &mut Suite, world: &World) {
    let key = &world.k1;
    let trusted = set(&[key]);
    let mut add = |slug: &str, why: &str, outcome: Outcome, files: BTreeMap<String, Vec<u8>>| {
        suite.add("tiles", slug, Op::Tiles, "§24.2", why, outcome, inputs(files, &trusted));
    };
    let base = records(300, key);
    let published = publication(&base, &note_of(&base, key));

    add(
        "valid-300-records",
        "300 records: full and partial level-0 tiles and bundles, a level-1 tile of width 1; every hash, record and the checkpoint agree",
        Outcome::Valid,
        published.clone(),
    );
    let exact = records(256, key);
    add(
        "valid-256-records",
        "256 records: one full level-0 tile and no partial one; the level-1 tile of width 1 is the root",
        Outcome::Valid,
        publication(&exact, &note_of(&exact, key)),
    );
    let one = records(1, key);
    add(
        "valid-one-record",
        "one record: a level-0 tile and bundle of width 1, no level 1",
        Outcome::Valid,
        publication(&one, &note_of(&one, key)),
    );
    add(
        "valid-no-records",
        "a checkpoint of no records and no tiles: signed by a key never revoked, as alone (§10)",
        Outcome::Valid,
        publication(&[], &note_of(&[], key)),
    );

    // A record changed in its bundle: its event digest's last hex digit.
    let mut changed = base.clone();
    let text = String::from_utf8(changed[10].clone()).expect("records are UTF-8");
    let at_digit = text.find("\"event\":\"sha256:").expect("an event digest") + 16 + 63;
    let digit = if &text[at_digit..=at_digit] == "0" { "1" } else { "0" };
    changed[10] = format!("{}{digit}{}", &text[..at_digit], &text[at_digit + 1..]).into_bytes();
    let mut files = published.clone();
    files.insert("tile/entries/000".into(), publication(&changed, "").remove("tile/entries/000").expect("a bundle"));
    add(
        "record-changed",
        "record 10 changed in its bundle: its leaf is not the tile's hash, record 11 does not link to it, and the checkpoint's root is not the records'",
        Outcome::Findings(vec![
            ErrorCode::TreeMismatch,
            ErrorCode::ChainBroken,
            ErrorCode::CheckpointMismatch,
            ErrorCode::RecordUnsigned,
        ]),
        files,
    );
    let mut rebuilt = publication(&changed, "");
    rebuilt.insert("checkpoint".into(), published["checkpoint"].clone());
    add(
        "record-changed-tiles-rebuilt",
        "record 10 changed and every tile rebuilt to match: the chain and the checkpoint still find it",
        Outcome::Findings(vec![ErrorCode::ChainBroken, ErrorCode::CheckpointMismatch, ErrorCode::RecordUnsigned]),
        rebuilt,
    );
    let mut removed = base.clone();
    removed.remove(10);
    add(
        "record-removed-checkpoint-resigned",
        "record 10 removed, the tiles rebuilt and the checkpoint signed again by the log's key: the chain breaks and sequence number 10 is missing",
        Outcome::Findings(vec![ErrorCode::ChainBroken, ErrorCode::SequenceGap]),
        publication(&removed, &note_of(&removed, key)),
    );

    let flipped = |path: &str, at: usize| {
        let mut files = published.clone();
        let bytes = files.get_mut(path).expect("a published file");
        bytes[at] ^= 1;
        files
    };
    add(
        "leaf-hash-changed",
        "a leaf hash in a full level-0 tile differs from its record's",
        Outcome::Findings(vec![ErrorCode::TreeMismatch]),
        flipped("tile/0/000", 32 * 7),
    );
    add(
        "partial-tile-hash-changed",
        "the last leaf hash of the partial level-0 tile differs from its record's",
        Outcome::Findings(vec![ErrorCode::TreeMismatch]),
        flipped("tile/0/001.p/44", 32 * 43 + 31),
    );
    add(
        "upper-hash-changed",
        "the level-1 hash (the root of the first 256 leaves) differs from the records'",
        Outcome::Findings(vec![ErrorCode::TreeMismatch]),
        flipped("tile/1/000.p/1", 0),
    );

    let strange = &world.k3;
    let mut files = published.clone();
    files.insert("checkpoint".into(), note_of(&base, strange).into_bytes());
    add(
        "checkpoint-by-an-untrusted-key",
        "the checkpoint is signed by a key not in the set: nothing it covers is read",
        Outcome::Error(ErrorCode::CheckpointSignatureInvalid),
        files,
    );
    let mut files = published.clone();
    let claimed = Checkpoint { size: 1 << 40, ..checkpoint_of(&tree(&base), 300, LOG_ID) };
    let forged = signed(&claimed, key).replacen(&format!("\n{}\n", 1u64 << 40), "\n1099511627777\n", 1);
    files.insert("checkpoint".into(), forged.into_bytes());
    add(
        "checkpoint-size-changed",
        "the checkpoint's size changed after signing, to 2^40 + 1: its signature fails before any tile is read",
        Outcome::Error(ErrorCode::CheckpointSignatureInvalid),
        files,
    );
    let mut files = published.clone();
    files.insert("checkpoint".into(), b"not a signed note".to_vec());
    add(
        "checkpoint-malformed",
        "the checkpoint is not a signed note",
        Outcome::Error(ErrorCode::CheckpointMalformed),
        files,
    );
    let mut files = published.clone();
    files.insert(
        "checkpoint".into(),
        note_of(&[base.clone(), records(301, key).split_off(300)].concat(), key).into_bytes(),
    );
    add(
        "checkpoint-of-more-records",
        "a signed checkpoint of 301 records over a publication of 300: the partial tile of width 45 it needs is missing",
        Outcome::Error(ErrorCode::LogCorrupt),
        files,
    );

    // An unreadable entry, its leaf in the tile and the checkpoint made as if its
    // hash were 32 zero bytes (and signed by the log's key): its leaf is unknown.
    let mut unreadable = published.clone();
    let mut entries = base.clone();
    entries[5] = Vec::new();
    let mut leaves: Vec<Hash> = entries.iter().map(|r| leaf_hash(r)).collect();
    leaves[5] = [0; 32];
    let zeroed = MemoryTree::from_leaf_hashes(leaves.iter().copied());
    let built = publication(&entries, "");
    unreadable.insert("tile/entries/000".into(), built["tile/entries/000"].clone());
    unreadable.insert("tile/0/000".into(), leaves[..256].concat());
    unreadable.insert("tile/1/000.p/1".into(), subtree_root(&leaves[..256]).to_vec());
    unreadable.insert("checkpoint".into(), signed(&checkpoint_of(&zeroed, 300, LOG_ID), key).into_bytes());
    add(
        "unreadable-entry-zero-leaf",
        "record 5 is an empty entry, and its tile leaf, the level-1 hash and the checkpoint are made as if its hash were zeros: an unreadable entry's leaf is unknown (§13 step 9), so no stored hash or root over it matches",
        Outcome::Findings(vec![
            ErrorCode::RecordMalformed,
            ErrorCode::TreeMismatch,
            ErrorCode::CheckpointMismatch,
            ErrorCode::RecordUnsigned,
        ]),
        unreadable,
    );
    let none_readable: Vec<Vec<u8>> = vec![b"x".to_vec(); 3];
    add(
        "no-entry-readable",
        "three entries, none a record, under a checkpoint of the log: no readable record is left unsigned, so no RECORD_UNSIGNED (§13)",
        Outcome::Findings(vec![ErrorCode::RecordMalformed, ErrorCode::TreeMismatch, ErrorCode::CheckpointMismatch]),
        publication(&none_readable, &note_of(&base[..3], key)),
    );
    let mut files = published.clone();
    let longer = [published["checkpoint"].as_slice(), &[b' '; 64 * 1024][..]].concat();
    files.insert("checkpoint".into(), longer);
    add(
        "checkpoint-longer-than-a-note",
        "the checkpoint is longer than any signed note (64 KiB, §10): read as §10 reads one, it is malformed",
        Outcome::Error(ErrorCode::CheckpointMalformed),
        files,
    );

    let without = |path: &str| {
        let mut files = published.clone();
        files.remove(path).expect("a published file");
        files
    };
    add(
        "bundle-missing",
        "a full entry bundle is missing",
        Outcome::Error(ErrorCode::LogCorrupt),
        without("tile/entries/000"),
    );
    add(
        "tile-missing",
        "the partial level-0 tile is missing",
        Outcome::Error(ErrorCode::LogCorrupt),
        without("tile/0/001.p/44"),
    );
    add(
        "upper-tile-missing",
        "the level-1 tile is missing",
        Outcome::Error(ErrorCode::LogCorrupt),
        without("tile/1/000.p/1"),
    );
    let resized = |path: &str, change: &dyn Fn(&mut Vec<u8>)| {
        let mut files = published.clone();
        change(files.get_mut(path).expect("a published file"));
        files
    };
    add(
        "bundle-cut-short",
        "the partial bundle's last entry is a byte short",
        Outcome::Error(ErrorCode::LogCorrupt),
        resized("tile/entries/001.p/44", &|b| {
            b.pop();
        }),
    );
    add(
        "bundle-with-a-byte-more",
        "a byte follows the last entry of a full bundle",
        Outcome::Error(ErrorCode::LogCorrupt),
        resized("tile/entries/000", &|b| b.push(0)),
    );
    add(
        "bundle-with-an-entry-more",
        "the partial bundle holds 45 entries where its width says 44",
        Outcome::Error(ErrorCode::LogCorrupt),
        resized("tile/entries/001.p/44", &|b| b.extend_from_slice(&[0, 2, b'{', b'}'])),
    );
    add(
        "tile-with-a-hash-more",
        "a full level-0 tile holds 257 hashes",
        Outcome::Error(ErrorCode::LogCorrupt),
        resized("tile/0/000", &|b| b.extend_from_slice(&[0; 32])),
    );

    // A line of a key revoked before every record does not count, verifying or not.
    let revoked = &world.k2;
    let mut files = published.clone();
    let note = note_of(&base, key);
    let (body, lines) = note.split_once("\n\n").expect("a signed note");
    let junk = signature_line(&format!("{body}\n"), LOG_ID, revoked);
    let (head, signature) = junk.trim_end().rsplit_once(' ').expect("a signature line");
    let mut raw = evidentia::encoding::b64_decode(signature).expect("base64");
    let last = raw.len() - 1;
    raw[last] ^= 1;
    files.insert("checkpoint".into(), format!("{body}\n\n{lines}{head} {}\n", b64(&raw)).into_bytes());
    let with_revoked = jwks(&[jwk(key), jwk_with(revoked, r#""revoked":{"revoked_at":1799999000}"#)]);
    suite.add(
        "tiles",
        "bad-line-of-a-key-revoked-before",
        Op::Tiles,
        "§24.2",
        "the checkpoint also carries a line, not verifying, of a key the set says was revoked before every record: only lines of keys valid at the last record count (§13), so valid",
        Outcome::Valid,
        inputs(files, &with_revoked),
    );
}
