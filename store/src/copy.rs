//! Copies of a log with other entries: for imports, and for showing what
//! verification finds in a tampered copy (the demo).

use std::path::Path;

use evidentia::merkle::leaf_hash;
use evidentia::{Error, ErrorCode, Result};

use crate::config::{CHECKPOINTS_FILE, CONFIG_FILE, Config, INDEX_FILE, KEYS_FILE, SEGMENTS_DIR, TREE_FILE};
use crate::frame;
use crate::fsio::{Fs, io_error};
use crate::index::slot;
use crate::reader::LogReader;
use crate::segments::{Entry, MAX_SEGMENT};
use crate::tree::TreeFile;

/// See [`LogReader::write_copy`].
pub(crate) fn write_copy<'a>(
    source: &LogReader,
    target: &Path,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<()> {
    let fs = Fs::default();
    fs.create_dir_all(&target.join(SEGMENTS_DIR))?;
    for name in [CONFIG_FILE, KEYS_FILE, CHECKPOINTS_FILE] {
        let from = source.dir.join(name);
        if from.exists() {
            std::fs::copy(&from, target.join(name)).map_err(|e| io_error("copy", &from, &e))?;
        }
    }
    write_entries(&fs, target, entries)
}

/// Writes a new log in `target` (which must hold none) from its parts: its
/// configuration, key history, signed checkpoints and entries. The configuration
/// comes last: a log exists once log.json is there.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // PostgreSQL's `copy_to`
pub(crate) fn write_log<'a>(
    target: &Path,
    config: &Config,
    keys: &str,
    checkpoints: &[(u64, String)],
    entries: impl IntoIterator<Item = &'a Entry>,
    holds: &[crate::erasure::Hold],
) -> Result<()> {
    let fs = Fs::default();
    if target.join(CONFIG_FILE).exists() {
        return Err(Error::new(ErrorCode::LogExists, format!("a log already exists at {}", target.display())));
    }
    fs.create_dir_all(&target.join(SEGMENTS_DIR))?;
    fs.replace(target, KEYS_FILE, keys.as_bytes())?;
    let mut framed = Vec::new();
    for (_, note) in checkpoints {
        frame::encode(note.as_bytes(), &mut framed);
    }
    fs.replace(target, CHECKPOINTS_FILE, &framed)?;
    write_entries(&fs, target, entries)?;
    if !holds.is_empty() {
        crate::erasure::write_holds(&fs, target, holds)?;
    }
    fs.replace(target, CONFIG_FILE, &config.to_json())
}

/// The segments, index and tree of `entries`, in `target`: a new segment once one
/// reaches [`MAX_SEGMENT`], as the log's own writer starts one.
fn write_entries<'a>(fs: &Fs, target: &Path, entries: impl IntoIterator<Item = &'a Entry>) -> Result<()> {
    let mut tree = TreeFile::open_write(fs, &target.join(TREE_FILE), 0)?;
    let (mut frames, mut index) = (Vec::new(), Vec::new());
    let (mut segment, mut first_seq, mut seq) = (0usize, 0u64, 0u64);
    let segments = target.join(SEGMENTS_DIR);
    for entry in entries {
        if frames.len() as u64 >= MAX_SEGMENT {
            fs.replace(&segments, &format!("{first_seq:020}.seg"), &frames)?;
            frames.clear();
            (segment, first_seq) = (segment + 1, seq);
        }
        index.extend_from_slice(&slot(segment, frames.len() as u64));
        frame::encode_with(&mut frames, |out| entry.as_ref().write_payload(out));
        // An entry whose record cannot be read still takes a leaf (of nothing).
        tree.push(leaf_hash(&entry.record_bytes().unwrap_or_default()));
        seq += 1;
    }
    tree.write_pending(fs)?;
    tree.sync(fs)?;
    fs.replace(&segments, &format!("{first_seq:020}.seg"), &frames)?;
    fs.replace(target, INDEX_FILE, &index)
}
