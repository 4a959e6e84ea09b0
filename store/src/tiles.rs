//! A log published as C2SP tlog-tiles (SPEC.md §24): writing the newest checkpoint,
//! the hash tiles and the entry bundles into a folder any static web server can
//! serve, and verifying such a publication read from a folder or fetched from a
//! server, with no access to the log itself.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use evidentia::json::{Number, Value};
use evidentia::merkle::{ConsistencyProof, Hash, InclusionProof, consistency_proof, inclusion_proof, leaf_hash, root};
use evidentia::tiles::{
    MAX_ENTRY, TILE_HEIGHT, TILE_WIDTH, Tile, TileNodes, decode_bundle, decode_tile, encode_bundle, subtree_root,
    tile_hashes_completed_by, tile_levels, tile_of, tiles_at,
};
use evidentia::{
    Checkpoint, Error, ErrorCode, KeySet, LogVerifier, LogVerifyOptions, Report, Result, add_note_signature,
    read_checkpoint, verify_checkpoint_with_keys, verify_log_note,
};

use crate::fsio::{Fs, Wait, lock_exclusive, read_regular};
use crate::reader::LogReader;
use crate::witnessing::cosigned_checkpoint;

/// The checkpoint's file name below the prefix.
pub const CHECKPOINT: &str = "checkpoint";
/// The largest checkpoint read: a note with many cosignatures stays far below.
const MAX_CHECKPOINT: u64 = 1024 * 1024;
/// The largest entry bundle: 256 entries of the longest length.
const MAX_BUNDLE: u64 = TILE_WIDTH * (MAX_ENTRY as u64 + 2);
/// The largest hash tile.
const MAX_TILE: u64 = TILE_WIDTH * 32;
/// Held by the one process publishing into a folder.
const LOCK: &str = ".lock";

/// Where a publication is read from: a folder, or a server (the CLI fetches over
/// HTTPS). `get` returns the resource at `path` below the prefix (`checkpoint`,
/// `tile/0/000`, …), `None` when there is none, and refuses one longer than `max`.
pub trait TileSource {
    /// The resource at `path`.
    ///
    /// # Errors
    /// When it cannot be fetched, or is longer than `max` bytes.
    fn get(&self, path: &str, max: u64) -> Result<Option<Vec<u8>>>;

    /// Where the publication is, for messages.
    fn location(&self) -> String;
}

/// A publication in a folder.
#[derive(Clone, Debug)]
pub struct TilesDir(pub PathBuf);

impl TileSource for TilesDir {
    fn get(&self, path: &str, max: u64) -> Result<Option<Vec<u8>>> {
        read_regular(&self.0.join(path), max)
    }

    fn location(&self) -> String {
        self.0.display().to_string()
    }
}

/// Whether `dir` holds a publication rather than a log: no `log.json`, and a
/// `checkpoint` or a `tile` folder (a publication that lost its checkpoint is still
/// one, and reading it says so).
pub fn is_tiles_dir(dir: &Path) -> bool {
    let exists = |name: &str| std::fs::symlink_metadata(dir.join(name)).is_ok();
    !exists(crate::config::CONFIG_FILE) && (exists(CHECKPOINT) || exists("tile"))
}

fn required(source: &dyn TileSource, path: &str, max: u64) -> Result<Vec<u8>> {
    source.get(path, max)?.ok_or_else(|| {
        Error::new(ErrorCode::LogCorrupt, format!("the published log at {} has no {path}", source.location()))
    })
}

/// The published checkpoint note and what it says.
fn published_checkpoint(source: &dyn TileSource) -> Result<Option<(String, Checkpoint)>> {
    // Longer than any note (§10), or not a file: not a checkpoint.
    let fetched = source.get(CHECKPOINT, MAX_CHECKPOINT).map_err(|e| match e.code() {
        ErrorCode::LogCorrupt => Error::new(ErrorCode::CheckpointMalformed, e.message().to_owned()),
        _ => e,
    });
    let Some(bytes) = fetched? else { return Ok(None) };
    // Read as §10 reads a checkpoint, with its codes (CHECKPOINT_MALFORMED…).
    let bad = |code, why: &str| Error::new(code, format!("the checkpoint published at {}: {why}", source.location()));
    let note =
        String::from_utf8(bytes).map_err(|_| bad(ErrorCode::CheckpointMalformed, "the note is not UTF-8 text"))?;
    let checkpoint = read_checkpoint(&note).map_err(|e| bad(e.code(), e.message()))?;
    Ok(Some((note, checkpoint)))
}

/// What [`publish`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The size of the checkpoint published.
    pub size: u64,
    /// The size published before (0 for a new folder).
    pub previous_size: u64,
    /// Tiles and entry bundles written.
    pub files: u64,
    /// Whether the checkpoint carries the log's Ed25519 note signature, which
    /// tlog-tiles clients and public witnesses need (SPEC §10.1).
    pub note_signed: bool,
}

impl Published {
    /// As JSON: `{files_written, note_signed, previous_size, size}`.
    pub fn to_value(&self) -> Value {
        let count = |n: u64| Number::from_i64(i64::try_from(n).unwrap_or(i64::MAX)).map_or(Value::Null, Value::Number);
        Value::object([
            ("files_written", count(self.files)),
            ("note_signed", Value::Bool(self.note_signed)),
            ("previous_size", count(self.previous_size)),
            ("size", count(self.size)),
        ])
    }
}

/// Publishes the log at `log` (a folder, or a `postgres://` URL, as
/// `PgLog::publish` does) as tlog-tiles in the folder `to` (created if need
/// be): its newest signed checkpoint (as witnesses cosigned it, when the log keeps
/// that, and with the log's Ed25519 note signature when it has a note key), every
/// tile and entry bundle that checkpoint needs, made from the records alone.
/// Publishing again adds what the log gained since: a full tile or bundle, once
/// written, is never written again, and one already there must hold the same
/// bytes. The checkpoint is replaced last, once the tree computed from the
/// published tiles has its root, so a reader never sees a checkpoint whose tiles
/// are missing. One process publishes into a folder at a time (a lock in it).
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] when the log has no signed checkpoint, holds a
/// record longer than a bundle entry can be, or `to` holds another log's
/// publication or a newer one; [`ErrorCode::CheckpointMismatch`] when `to` holds
/// another history of this log (a fork): found from its checkpoint before anything
/// is written, or from a tile or bundle, which stops publishing there, before the
/// checkpoint is replaced; [`ErrorCode::LogCorrupt`] when the records do not give
/// the checkpoint's root; [`ErrorCode::LogLocked`] while another process publishes
/// into `to`; the note key's errors; [`ErrorCode::Io`].
pub fn publish(log: &Path, to: &Path) -> Result<Published> {
    if let Some(url) = crate::postgres_location(log)? {
        #[cfg(feature = "postgres")]
        return crate::pg::PgLog::open(url)?.publish(to);
        #[cfg(not(feature = "postgres"))]
        {
            let _ = url;
            return Err(crate::any::no_postgres());
        }
    }
    let mut reader = LogReader::open(log)?;
    let latest = reader.latest_checkpoint()?.ok_or_else(nothing_to_publish)?;
    let size = latest.size;
    let mut note = cosigned_checkpoint(log, size)?.unwrap_or(latest.note);
    // A checkpoint signed before the log had its note key gets that key's line, as
    // `Log::checkpoint` serves it: tlog-tiles clients need an Ed25519 signature.
    let note_signed = match (reader.note_key_config(), reader.note_key()) {
        (Some(config), Some(public)) => {
            if verify_log_note(&note, &[public]).is_err() {
                let key = crate::writer::read_note_key(config, reader.log_id())?;
                note = add_note_signature(&note, reader.log_id(), &key)?;
            }
            true
        }
        _ => false,
    };
    publish_tree(&mut reader, note, note_signed, to)
}

/// What a publication is made from: the tree and records of a log folder, or of
/// one snapshot of a PostgreSQL log.
pub(crate) trait PublishSource {
    /// The root of the tree of the first `size` records.
    fn root(&mut self, size: u64) -> Result<Hash>;
    /// The records `first..first + count` as the tree hashes them (a receipt's
    /// signed record).
    fn records(&mut self, first: u64, count: u64) -> Result<Vec<Vec<u8>>>;
}

impl PublishSource for LogReader {
    fn root(&mut self, size: u64) -> Result<Hash> {
        LogReader::root(self, size)
    }

    fn records(&mut self, first: u64, count: u64) -> Result<Vec<Vec<u8>>> {
        (first..first + count).map(|seq| self.entry(seq)?.record_bytes()).collect()
    }
}

/// Why a log without a signed checkpoint cannot be published.
pub(crate) fn nothing_to_publish() -> Error {
    Error::new(
        ErrorCode::InvalidArgument,
        "the log has no signed checkpoint to publish yet (`evidentia log checkpoint` signs one)",
    )
}

/// Publishes the checkpoint `note` (`note_signed` when it carries the log's
/// Ed25519 note key's signature) with the tiles and bundles of `source`'s
/// records, as [`publish`] says.
pub(crate) fn publish_tree(
    source: &mut impl PublishSource,
    note: String,
    note_signed: bool,
    to: &Path,
) -> Result<Published> {
    let checkpoint = read_checkpoint(&note)?;
    let size = checkpoint.size;
    let fs = Fs::new(None);
    fs.create_dir_all(to)?;
    let busy = format!("another process is publishing into {}", to.display());
    let lock = lock_exclusive(&fs, &to.join(LOCK), Wait::No, &busy)?;
    let dir = TilesDir(to.to_path_buf());

    let previous_size = match published_checkpoint(&dir)? {
        None => 0,
        Some((_, published)) => {
            let refuse = |code, why: String| Err(Error::new(code, format!("{} {why}", to.display())));
            if published.origin != checkpoint.origin {
                return refuse(ErrorCode::InvalidArgument, format!("holds the log {:?}", published.origin));
            }
            if published.size > size {
                return refuse(
                    ErrorCode::InvalidArgument,
                    format!("holds a checkpoint of {} records, newer than the log's {size}", published.size),
                );
            }
            if source.root(published.size)? != published.root {
                return refuse(
                    ErrorCode::CheckpointMismatch,
                    format!(
                        "holds a checkpoint of {} records whose root is not the log's: another history of this log was published there",
                        published.size
                    ),
                );
            }
            published.size
        }
    };

    // Level 0 comes from the records and is written as it is made. Each hash above
    // is the root of a full tile of the level below (made now, or published before):
    // those tiles are kept until the root they give is the checkpoint's, so that a
    // published tile changed since, or a damaged log, writes no wrong one.
    let mut files = 0u64;
    let mut upper: BTreeMap<(u32, u64), (Tile, Vec<u8>)> = BTreeMap::new();
    for level in 0..tile_levels(size) {
        // Full tiles of the previous publication are final; its partial one is not.
        let from = (previous_size >> (level * TILE_HEIGHT)) / TILE_WIDTH;
        for tile in tiles_at(size, level, from) {
            let first = tile.first_node();
            let nodes = first..first + u64::from(tile.width);
            let mut hashes = Vec::with_capacity(tile.width as usize * 32);
            if level == 0 {
                let records = source.records(first, u64::from(tile.width))?;
                records.iter().for_each(|record| hashes.extend_from_slice(&leaf_hash(record)));
                let bundle = encode_bundle(records.iter().map(Vec::as_slice))
                    .map_err(|e| Error::new(e.code(), format!("records {first}…: {}", e.message())))?;
                files += u64::from(write_tile(&fs, to, &tile.entries_path(), &bundle)?);
                files += u64::from(write_tile(&fs, to, &tile.path(), &hashes)?);
            } else {
                for node in nodes {
                    let below = Tile { level: level - 1, index: node, width: TILE_WIDTH as u32 };
                    let hashes_below = match upper.get(&(below.level, below.index)) {
                        Some((_, bytes)) => decode_tile(&below, bytes)?,
                        None => decode_tile(&below, &required(&dir, &below.path(), MAX_TILE)?)?,
                    };
                    hashes.extend_from_slice(&subtree_root(&hashes_below));
                }
                upper.insert((tile.level, tile.index), (tile, hashes));
            }
        }
    }
    let nodes = TileNodes::new(size, |tile: &Tile| match upper.get(&(tile.level, tile.index)) {
        Some((made, bytes)) if made == tile => decode_tile(tile, bytes),
        _ => decode_tile(tile, &required(&dir, &tile.path(), MAX_TILE)?),
    });
    if root(&nodes, size)? != checkpoint.root {
        return Err(Error::new(
            ErrorCode::LogCorrupt,
            format!(
                "the log's records, with the tiles published before in {0}, do not give the root of its checkpoint of {size} records: a tile published before was changed since (`evidentia log verify {0}` finds it), or the log is damaged (`evidentia log verify` on it says where); no tile above level 0 was written, and {0} keeps its previous checkpoint",
                to.display()
            ),
        ));
    }
    for (tile, bytes) in upper.values() {
        files += u64::from(write_tile(&fs, to, &tile.path(), bytes)?);
    }
    fs.replace(to, CHECKPOINT, note.as_bytes())?;
    drop(lock);
    Ok(Published { size, previous_size, files, note_signed })
}

/// The nodes of the tree of `size` leaves a publication's tiles hold.
fn tile_nodes(source: &dyn TileSource, size: u64) -> TileNodes<impl Fn(&Tile) -> Result<Vec<Hash>> + '_> {
    TileNodes::new(size, move |tile: &Tile| decode_tile(tile, &required(source, &tile.path(), MAX_TILE)?))
}

/// A publication's tree read from its tiles, for proofs with no access to the log:
/// inclusion and consistency proofs up to the published checkpoint's size. The
/// tiles are read as they are: a proof from damaged tiles fails when checked
/// against the checkpoint, as any proof does.
pub struct PublishedTree<'a> {
    source: &'a dyn TileSource,
    /// The published checkpoint note.
    pub note: String,
    /// What it says.
    pub checkpoint: Checkpoint,
}

impl std::fmt::Debug for PublishedTree<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishedTree").field("source", &self.source.location()).field("note", &self.note).finish()
    }
}

impl<'a> PublishedTree<'a> {
    /// Reads the publication's checkpoint.
    ///
    /// # Errors
    /// [`ErrorCode::LogCorrupt`] when there is none; the code §10 gives (such as
    /// [`ErrorCode::CheckpointMalformed`]) when it cannot be read as a checkpoint.
    pub fn open(source: &'a dyn TileSource) -> Result<PublishedTree<'a>> {
        let (note, checkpoint) = published_checkpoint(source)?.ok_or_else(|| {
            Error::new(ErrorCode::LogCorrupt, format!("{} holds no published checkpoint", source.location()))
        })?;
        Ok(PublishedTree { source, note, checkpoint })
    }

    /// The inclusion proof of record `index` in the tree of `size` records (by
    /// default the checkpoint's).
    ///
    /// # Errors
    /// [`ErrorCode::ProofMalformed`] for an index or size beyond the checkpoint's;
    /// [`ErrorCode::LogCorrupt`] for a tile missing or malformed.
    pub fn inclusion_proof(&self, index: u64, size: Option<u64>) -> Result<InclusionProof> {
        let size = size.unwrap_or(self.checkpoint.size);
        let hashes = inclusion_proof(&tile_nodes(self.source, self.checkpoint.size), index, size)?;
        Ok(InclusionProof { leaf_index: index, tree_size: size, hashes })
    }

    /// The consistency proof between the trees of `old` and `new` records (by
    /// default the checkpoint's).
    ///
    /// # Errors
    /// As [`PublishedTree::inclusion_proof`].
    pub fn consistency_proof(&self, old: u64, new: Option<u64>) -> Result<ConsistencyProof> {
        let new = new.unwrap_or(self.checkpoint.size);
        let hashes = consistency_proof(&tile_nodes(self.source, self.checkpoint.size), old, new)?;
        Ok(ConsistencyProof { old_size: old, new_size: new, hashes })
    }
}

/// Writes one tile or bundle unless it is there with these bytes; returns whether
/// it wrote. One with other bytes is another history (a log only grows, so a tile
/// or bundle of a given name and width never changes): refused.
fn write_tile(fs: &Fs, to: &Path, path: &str, bytes: &[u8]) -> Result<bool> {
    let file = to.join(path);
    if let Some(existing) = read_regular(&file, MAX_BUNDLE)? {
        if existing == bytes {
            return Ok(false);
        }
        return Err(Error::new(
            ErrorCode::CheckpointMismatch,
            format!(
                "{} holds other bytes than the log's: another history of this log was published there",
                file.display()
            ),
        ));
    }
    let parent = file.parent().unwrap_or(to);
    fs.create_dir_all(parent)?;
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    fs.replace(parent, name, bytes)?;
    Ok(true)
}

/// A verified publication.
#[derive(Debug)]
pub struct TilesVerification {
    /// The published checkpoint note.
    pub note: String,
    /// What it says.
    pub checkpoint: Checkpoint,
    /// The verification of every published record, tile hash and the checkpoint.
    pub report: Report,
    /// The root of the first `at` records, when [`verify_tiles`] was asked for one
    /// the publication holds.
    pub root_at: Option<Hash>,
}

/// Verifies a publication against the trusted `keys` (a publication carries none):
/// every record in the entry bundles, as [`LogVerifier`] checks a log's records
/// (signed by the checkpoint, as in a batch-signed log: bundles hold records, not
/// receipts), every hash of every tile against the records, and the checkpoint
/// against the tree and the keys. `root_at` asks for the root of that many records
/// too, for comparing with a checkpoint trusted before. `progress` is called with
/// the number of records done.
///
/// # Errors
/// [`ErrorCode::LogCorrupt`] when the checkpoint, a tile or a bundle is missing or
/// malformed; the checkpoint's code (such as
/// [`ErrorCode::CheckpointSignatureInvalid`]) when no trusted key signed it, before
/// any record is read; the source's errors. Everything else wrong is in the report.
pub fn verify_tiles(
    source: &dyn TileSource,
    keys: &KeySet,
    root_at: Option<u64>,
    mut progress: impl FnMut(u64),
) -> Result<TilesVerification> {
    let PublishedTree { note, checkpoint, .. } = PublishedTree::open(source)?;
    // Nothing a checkpoint no trusted key signed covers is worth reading: its size
    // could be anything.
    verify_checkpoint_with_keys(&note, keys).map_err(|e| {
        Error::new(e.code(), format!("the checkpoint published at {}: {}", source.location(), e.message()))
    })?;
    let size = checkpoint.size;
    let options = LogVerifyOptions { expected_log_id: Some(checkpoint.origin.clone()), ..LogVerifyOptions::default() };
    let mut verifier = LogVerifier::new(keys, options);
    // The tile of each level above 0 whose hashes the records are reaching.
    let mut upper: HashMap<u32, (Tile, Vec<Hash>)> = HashMap::new();
    let mut root_found = (root_at == Some(0)).then(|| verifier.tree_root());
    for tile in tiles_at(size, 0, 0) {
        let bundle = required(source, &tile.entries_path(), MAX_BUNDLE)?;
        let entries = decode_bundle(&tile, &bundle)?;
        let leaves = decode_tile(&tile, &required(source, &tile.path(), MAX_TILE)?)?;
        for (seq, (entry, leaf)) in (tile.first_node()..).zip(entries.iter().zip(&leaves)) {
            verifier.push_record(entry, None);
            verifier.push_tree_node(0, seq, leaf);
            for (level, node) in tile_hashes_completed_by(seq) {
                if upper.get(&level).is_none_or(|(t, _)| t.index != node / TILE_WIDTH) {
                    let Some(t) = tile_of(size, level, node) else { break };
                    let hashes = decode_tile(&t, &required(source, &t.path(), MAX_TILE)?)?;
                    upper.insert(level, (t, hashes));
                }
                let hash = upper[&level].1[(node % TILE_WIDTH) as usize];
                verifier.push_tree_node(level * TILE_HEIGHT, node, &hash);
            }
            if root_at == Some(seq + 1) {
                root_found = Some(verifier.tree_root());
            }
            progress(seq + 1);
        }
    }
    verifier.push_checkpoint(&note);
    let report = verifier.finish();
    crate::metrics::verified(&report);
    let report = report.made_at(crate::writer::now()?);
    Ok(TilesVerification { note, checkpoint, report, root_at: root_found })
}
