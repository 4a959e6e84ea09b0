//! Archived segments (SPEC §16.1): sealed segment files moved to an archive folder,
//! listed with their size and SHA-256 in `archive.json`, and read from there as if
//! they were in `segments/`. The tree, index and checkpoints stay in the log, so
//! newer records stay provable without the archive; reading or verifying archived
//! records needs it, and a missing or changed archive file is an error, never a gap.

use std::path::{Path, PathBuf};

use evidentia::json::{Number, Value, parse};
use evidentia::{Digest, Error, ErrorCode, Result};

use crate::config::SEGMENTS_DIR;
use crate::fsio::{Fs, read_regular};

/// The manifest of archived segments, in the log directory.
pub(crate) const ARCHIVE_FILE: &str = "archive.json";

/// The largest manifest read: a line per archived segment, far more than any log has.
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;

/// A segment file moved to the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ArchivedSegment {
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) sha256: Digest,
}

/// Where a log's archived segments are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) dir: PathBuf,
    pub(crate) segments: Vec<ArchivedSegment>,
}

fn corrupt(path: &Path, why: &str) -> Error {
    Error::new(ErrorCode::LogCorrupt, format!("{} is damaged: {why}", path.display()))
}

/// Whether `name` is a segment file's name (20 digits and `.seg`): a manifest
/// names files, never paths.
pub(crate) fn is_segment_name(name: &str) -> bool {
    name.strip_suffix(".seg").is_some_and(|stem| stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
}

impl Manifest {
    /// The manifest of the log in `log_dir`, `None` when nothing was archived.
    pub(crate) fn read(log_dir: &Path) -> Result<Option<Manifest>> {
        let path = log_dir.join(ARCHIVE_FILE);
        let Some(bytes) = read_regular(&path, MAX_MANIFEST)? else { return Ok(None) };
        let value = parse(&bytes).map_err(|e| corrupt(&path, &format!("not JSON: {e}")))?;
        let dir = value
            .get("dir")
            .and_then(Value::as_str)
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .ok_or_else(|| corrupt(&path, "no absolute 'dir'"))?;
        let mut segments = Vec::new();
        for item in value.get("segments").and_then(Value::as_array).ok_or_else(|| corrupt(&path, "no 'segments'"))? {
            let name = item.get("name").and_then(Value::as_str).filter(|n| is_segment_name(n));
            let size = item.get("size").and_then(Value::as_number).and_then(Number::as_safe_u64);
            let sha256 = item.get("sha256").and_then(Value::as_str).and_then(|d| Digest::parse(d).ok());
            match (name, size, sha256) {
                (Some(name), Some(size), Some(sha256)) => {
                    segments.push(ArchivedSegment { name: name.to_owned(), size, sha256 });
                }
                _ => return Err(corrupt(&path, "a segment is not a name, a size and a sha256 digest")),
            }
        }
        Ok(Some(Manifest { dir, segments }))
    }

    /// Replaces the manifest atomically and durably.
    pub(crate) fn write(&self, fs: &Fs, log_dir: &Path) -> Result<()> {
        let segments = self
            .segments
            .iter()
            .map(|s| {
                let size = i64::try_from(s.size).ok().and_then(|n| Number::from_i64(n).ok()).unwrap_or(Number::from(0));
                Value::object([
                    ("name", Value::from(s.name.as_str())),
                    ("sha256", Value::from(s.sha256.to_string())),
                    ("size", Value::Number(size)),
                ])
            })
            .collect();
        let dir = self.dir.to_str().ok_or_else(|| {
            Error::new(ErrorCode::InvalidArgument, format!("{} is not a UTF-8 path", self.dir.display()))
        })?;
        let value = Value::object([("dir", Value::from(dir)), ("segments", Value::Array(segments))]);
        fs.replace(log_dir, ARCHIVE_FILE, evidentia::json::to_pretty_string(&value)?.as_bytes())
    }

    /// The archived file of the segment `name`, checked to be there with the size
    /// archived; `None` when the segment was never archived.
    pub(crate) fn locate(&self, name: &str) -> Result<Option<PathBuf>> {
        let Some(segment) = self.segments.iter().find(|s| s.name == name) else { return Ok(None) };
        let path = self.dir.join(name);
        check_archived(&path, segment.size)?;
        Ok(Some(path))
    }
}

/// An archived segment file must be there, a regular file of the size archived.
pub(crate) fn check_archived(path: &Path, size: u64) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() && meta.len() == size => Ok(()),
        Ok(meta) => Err(Error::new(
            ErrorCode::LogCorrupt,
            format!(
                "the archived segment {} is not the one archived ({} bytes, {size} archived): the archive was changed",
                path.display(),
                meta.len()
            ),
        )),
        Err(e) => Err(Error::new(
            ErrorCode::LogCorrupt,
            format!(
                "the archived segment {} cannot be read ({e}): the archive is missing or was moved, and the records in it cannot be read or verified",
                path.display()
            ),
        )),
    }
}

/// What archiving moved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Archived {
    /// Segment files moved this time.
    pub segments: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The archive folder.
    pub dir: PathBuf,
}

/// Moves every sealed segment (all but the one being written) of the log in
/// `log_dir` to `to`. The caller holds the writer lock; `commit_lock` takes the
/// commit lock around each manifest change and removal, so that a reader sees each
/// segment in one place or the other. Each file is copied and flushed first, then
/// listed, then removed from the log: a crash at any point leaves it readable.
pub(crate) fn archive(
    fs: &Fs,
    log_dir: &Path,
    to: &Path,
    commit_lock: impl Fn() -> Result<std::fs::File>,
) -> Result<Archived> {
    let to = resolved(to)?;
    // Inside the log, the folder would be read as part of it (a folder in segments/
    // named like a segment, the last one), or archive a file onto itself.
    let log = std::fs::canonicalize(log_dir).map_err(|e| crate::fsio::io_error("use", log_dir, &e))?;
    if to.starts_with(&log) {
        return Err(Error::new(ErrorCode::InvalidArgument, "the archive folder is inside the log's own folder"));
    }
    let mut manifest = Manifest::read(log_dir)?.unwrap_or(Manifest { dir: to.clone(), segments: Vec::new() });
    if manifest.dir != to {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("the log's segments are archived in {}; archive the others there too", manifest.dir.display()),
        ));
    }
    fs.create_dir_all(&to)?;
    let segments_dir = log_dir.join(SEGMENTS_DIR);
    let live = crate::segments::list_live(&segments_dir)?;
    let mut done = Archived { dir: to.clone(), ..Archived::default() };
    for segment in live.iter().take(live.len().saturating_sub(1)) {
        let name = segment.path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let bytes = segment.read()?;
        let archived = ArchivedSegment { name: name.clone(), size: bytes.len() as u64, sha256: Digest::sha256(&bytes) };
        match manifest.segments.iter().find(|s| s.name == name) {
            None => manifest.segments.push(archived),
            // Listed before, and still here: the last archiving stopped before
            // removing it.
            Some(before) if *before == archived => {}
            Some(_) => {
                return Err(Error::new(
                    ErrorCode::LogCorrupt,
                    format!("{} differs from the copy archived before: nothing was changed", segment.path.display()),
                ));
            }
        }
        // The copy must hold these bytes before the log lets go of them: write it,
        // or find it written by an archiving that stopped, never another's file.
        let target = to.join(&name);
        let existing = match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(crate::fsio::io_error("read", &target, &e)),
            Ok(meta)
                if meta.file_type().is_file()
                    && meta.len() == bytes.len() as u64
                    && !same_file(&target, &segment.path) =>
            {
                read_regular(&target, meta.len())?
            }
            Ok(_) => Some(Vec::new()), // Something else, or the live file itself.
        };
        match existing {
            None => fs.replace(&to, &name, &bytes)?,
            Some(copy) if copy == bytes => {}
            Some(_) => {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "{} already holds {name}, and not as this log's copy of it: archive each log into a folder of its own. Nothing was moved",
                        to.display()
                    ),
                ));
            }
        }
        let _commit = commit_lock()?;
        manifest.write(fs, log_dir)?;
        std::fs::remove_file(&segment.path).map_err(|e| crate::fsio::io_error("remove", &segment.path, &e))?;
        fs.sync_dir(&segments_dir)?;
        done.segments += 1;
        done.bytes += bytes.len() as u64;
    }
    Ok(done)
}

/// Whether two paths are one file (a hard link, or a folder mounted twice).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// `path` made absolute, without `.` or `..`, through the links of the part that
/// exists: the folder it names, in one spelling.
fn resolved(path: &Path) -> Result<PathBuf> {
    use std::path::Component;
    let absolute = std::path::absolute(path).map_err(|e| crate::fsio::io_error("use", path, &e))?;
    let mut lexical = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    while std::fs::symlink_metadata(existing).is_err() {
        let Some(parent) = existing.parent() else { break };
        rest.push(existing.file_name().unwrap_or_default().to_owned());
        existing = parent;
    }
    let mut out = std::fs::canonicalize(existing).map_err(|e| crate::fsio::io_error("use", existing, &e))?;
    out.extend(rest.iter().rev());
    Ok(out)
}
