//! The file-operation seam: every file the store writes, flushes, truncates, renames
//! or creates goes through [`Fs`], so that tests can fail any one of those
//! operations, or lose every write not yet flushed, as a power cut would (see
//! [`crate::Faults`]). Reads go straight to the operating system: a read cannot
//! leave anything half done.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use evidentia::{Error, ErrorCode, Result};

use crate::faults::{Faults, Op};

pub(crate) fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::new(ErrorCode::Io, format!("cannot {what} {}: {e}", path.display()))
}

#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
pub(crate) fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn write_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
fn write_at(file: &File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, buf, offset)?;
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

/// The length of a file, or 0 when it does not exist.
pub(crate) fn file_len(path: &Path) -> Result<u64> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(meta.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io_error("read", path, &e)),
    }
}

/// Reads a whole regular file of at most `max` bytes, or `None` when it does not
/// exist. Anything else at the path (a link, a device, a FIFO, a folder) or a file
/// larger than any this store writes is refused: a log directory from someone else
/// must not make a reader block or fill its memory.
pub(crate) fn read_regular(path: &Path, max: u64) -> Result<Option<Vec<u8>>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path, &e)),
    };
    check_regular(path, &meta, max)?;
    let file = File::open(path).map_err(|e| io_error("read", path, &e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::io::Read::read_to_end(&mut std::io::Read::take(file, max + 1), &mut bytes)
        .map_err(|e| io_error("read", path, &e))?;
    if bytes.len() as u64 > max {
        return Err(too_large(path, max));
    }
    Ok(Some(bytes))
}

fn too_large(path: &Path, max: u64) -> Error {
    Error::new(
        ErrorCode::LogCorrupt,
        format!("{} is larger than any such file this store writes ({max} bytes)", path.display()),
    )
}

/// Refuses anything at `path` but a regular file (or nothing), before it is opened:
/// opening a pipe would block, and a link could lead anywhere.
pub(crate) fn regular_or_missing(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => check_regular(path, &meta, u64::MAX),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("read", path, &e)),
    }
}

/// Refuses anything at `path` but a regular file of at most `max` bytes.
pub(crate) fn check_regular(path: &Path, meta: &std::fs::Metadata, max: u64) -> Result<()> {
    if !meta.file_type().is_file() {
        return Err(Error::new(
            ErrorCode::LogCorrupt,
            format!("{} is not a regular file (a link, folder, device or pipe): refused", path.display()),
        ));
    }
    if meta.len() > max {
        return Err(too_large(path, max));
    }
    Ok(())
}

/// Where the store's writes go. Cheap to clone; without faults it is the plain
/// file system.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fs {
    faults: Option<Arc<Faults>>,
}

impl Fs {
    pub(crate) fn new(faults: Option<Arc<Faults>>) -> Fs {
        Fs { faults }
    }

    /// Asks the fault plan whether this operation fails.
    fn check(&self, op: Op, path: &Path) -> std::io::Result<()> {
        match &self.faults {
            Some(faults) => faults.before(op, path),
            None => Ok(()),
        }
    }

    /// Creates a directory and its parents, flushing each new one into its parent.
    pub(crate) fn create_dir_all(&self, dir: &Path) -> Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.create_dir_all(parent)?;
        }
        self.check(Op::Create, dir).map_err(|e| io_error("create", dir, &e))?;
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
            Err(e) => return Err(io_error("create", dir, &e)),
        }
        if let Some(faults) = &self.faults {
            faults.created(dir, true);
        }
        match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => self.sync_dir(parent),
            None => Ok(()),
        }
    }

    /// Creates a folder of the log (its parent exists), flushed into its parent; one
    /// that exists must be a real folder, not a link to one elsewhere.
    pub(crate) fn create_folder(&self, dir: &Path) -> Result<()> {
        match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_dir() => return Ok(()),
            Ok(_) => {
                return Err(Error::new(
                    ErrorCode::LogCorrupt,
                    format!("{} is not a folder (a link or a file): refused", dir.display()),
                ));
            }
            Err(_) => {}
        }
        self.create_dir_all(dir)
    }

    /// Opens a file for reading and writing, creating it (empty) if `create` and it
    /// does not exist. A new file is flushed into its directory at once.
    pub(crate) fn open(&self, path: &Path, create: bool) -> Result<File> {
        regular_or_missing(path)?;
        let exists = path.exists();
        if create && !exists {
            self.check(Op::Create, path).map_err(|e| io_error("create", path, &e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)
            .map_err(|e| io_error("open", path, &e))?;
        if create && !exists {
            if let Some(faults) = &self.faults {
                faults.created(path, false);
            }
            self.sync_parent(path)?;
        }
        Ok(file)
    }

    /// Creates a file that must not exist yet, flushed into its directory.
    pub(crate) fn create_new(&self, path: &Path) -> Result<File> {
        self.check(Op::Create, path).map_err(|e| io_error("create", path, &e))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| io_error("create", path, &e))?;
        if let Some(faults) = &self.faults {
            faults.created(path, false);
        }
        self.sync_parent(path)?;
        Ok(file)
    }

    /// Writes all of `bytes` at `offset`. An injected failure may leave part of
    /// them written, as a full disk does.
    pub(crate) fn write_at(&self, file: &File, path: &Path, bytes: &[u8], offset: u64) -> Result<()> {
        if let Some(faults) = &self.faults {
            faults.before_write(path, offset, Some(bytes.len() as u64));
            if let Err(e) = faults.before(Op::Write, path) {
                let _ = write_at(file, &bytes[..bytes.len() / 2], offset);
                return Err(io_error("write", path, &e));
            }
        }
        write_at(file, bytes, offset).map_err(|e| io_error("write", path, &e))
    }

    /// Flushes a file's data to stable storage (fdatasync): the durability point.
    pub(crate) fn sync(&self, file: &File, path: &Path) -> Result<()> {
        self.check(Op::Sync, path).map_err(|e| io_error("flush", path, &e))?;
        file.sync_data().map_err(|e| io_error("flush", path, &e))?;
        if let Some(faults) = &self.faults {
            faults.synced(path);
        }
        Ok(())
    }

    /// Sets a file's length (cutting or extending it with zeros).
    pub(crate) fn set_len(&self, file: &File, path: &Path, len: u64) -> Result<()> {
        if let Some(faults) = &self.faults {
            faults.before_write(path, len, None);
        }
        self.check(Op::Truncate, path).map_err(|e| io_error("truncate", path, &e))?;
        file.set_len(len).map_err(|e| io_error("truncate", path, &e))
    }

    /// Renames a file over another; durable once its directory is flushed.
    pub(crate) fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        if let Some(faults) = &self.faults {
            faults.before_rename(to);
        }
        self.check(Op::Rename, to).map_err(|e| io_error("replace", to, &e))?;
        std::fs::rename(from, to).map_err(|e| io_error("replace", to, &e))
    }

    /// Flushes a directory, so that files created, renamed or removed in it stay so.
    pub(crate) fn sync_dir(&self, dir: &Path) -> Result<()> {
        self.check(Op::SyncDir, dir).map_err(|e| io_error("flush directory", dir, &e))?;
        #[cfg(unix)]
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error("flush directory", dir, &e))?;
        if let Some(faults) = &self.faults {
            faults.dir_synced(dir);
        }
        Ok(())
    }

    fn sync_parent(&self, path: &Path) -> Result<()> {
        match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => self.sync_dir(parent),
            None => self.sync_dir(Path::new(".")),
        }
    }

    /// Creates a new file holding `bytes`, flushed, in a flushed directory.
    pub(crate) fn write_new(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let file = self.create_new(path)?;
        self.write_at(&file, path, bytes, 0)?;
        self.sync(&file, path)
    }

    /// Replaces `dir/name` atomically and durably: a temporary file of a name no
    /// other writer uses, flushed, renamed over the old one, and the directory
    /// flushed. Readers see the old file or the new one, never a mix.
    pub(crate) fn replace(&self, dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
        let temporary = dir.join(temporary_name(name));
        let written = self.write_new(&temporary, bytes).and_then(|()| self.rename(&temporary, &dir.join(name)));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(e);
        }
        self.sync_dir(dir)
    }
}

/// `.<name>.<pid>.<random>.tmp`: unique, so two processes replacing the same file
/// at once never write into each other's temporary file.
fn temporary_name(name: &str) -> String {
    let mut random = [0u8; 8];
    let _ = getrandom::fill(&mut random);
    format!(".{name}.{}.{}.tmp", std::process::id(), evidentia::encoding::hex(&random))
}

/// How long to wait for a lock another process holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Wait {
    /// Fail at once.
    #[default]
    No,
    /// Wait at most this long.
    For(Duration),
}

/// Which file a handle or path is (device and inode), to tell a lock file that was
/// removed or replaced from the one locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId(u64, u64);

impl FileId {
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId(meta.dev(), meta.ino())
    }

    #[cfg(not(unix))]
    fn of(_: &std::fs::Metadata) -> FileId {
        FileId(0, 0)
    }

    /// The file open as `file`.
    pub(crate) fn of_file(file: &File) -> Option<FileId> {
        file.metadata().ok().map(|meta| FileId::of(&meta))
    }

    /// The file now at `path`.
    pub(crate) fn of_path(path: &Path) -> Option<FileId> {
        std::fs::symlink_metadata(path).ok().map(|meta| FileId::of(&meta))
    }
}

impl Wait {
    /// A wait given in seconds, as every language gives it: `None` or 0 fails at
    /// once; at most a day.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a negative, infinite or longer wait.
    pub fn from_seconds(seconds: Option<f64>) -> Result<Wait> {
        match seconds {
            None => Ok(Wait::No),
            Some(0.0) => Ok(Wait::No),
            Some(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Ok(Wait::For(Duration::from_secs_f64(s))),
            Some(_) => Err(Error::new(ErrorCode::InvalidArgument, "a wait is 0 to 86400 seconds")),
        }
    }
}

/// Takes an exclusive lock on `path` (created if missing), waiting as `wait` says.
/// `busy` describes the holder for the error message. A lock file removed or
/// replaced between opening and locking is opened again, so that the lock held is
/// always on the file at `path`.
pub(crate) fn lock_exclusive(fs: &Fs, path: &Path, wait: Wait, busy: &str) -> Result<File> {
    let mut file = fs.open(path, true)?;
    let deadline = match wait {
        Wait::No => None,
        Wait::For(limit) => Some(Instant::now() + limit),
    };
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) if FileId::of_file(&file).is_some() && FileId::of_file(&file) == FileId::of_path(path) => {
                return Ok(file);
            }
            Ok(()) => file = fs.open(path, true)?,
            Err(std::fs::TryLockError::WouldBlock) => match deadline {
                Some(deadline) if Instant::now() < deadline => {
                    // Back off, with jitter so that waiting writers do not wake together.
                    let mut jitter = [0u8; 1];
                    let _ = getrandom::fill(&mut jitter);
                    let sleep = pause + Duration::from_micros(u64::from(jitter[0]) * 20);
                    std::thread::sleep(sleep.min(deadline.saturating_duration_since(Instant::now())));
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                _ => {
                    let waited = match wait {
                        Wait::No => String::new(),
                        Wait::For(limit) => format!(" (waited {:.1} s)", limit.as_secs_f64()),
                    };
                    return Err(Error::new(ErrorCode::LogLocked, format!("{busy}{waited}")));
                }
            },
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error("lock", path, &e)),
        }
    }
}

/// A shared lock on `path` (created if missing and the folder allows it), waiting
/// at most a minute for an exclusive holder to finish; `None` when the file neither
/// exists nor can be made (a read-only copy of a log no writer will touch).
pub(crate) fn lock_shared(path: &Path) -> Result<Option<File>> {
    regular_or_missing(path)?;
    let file = match OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path) {
        Ok(file) => file,
        Err(_) => match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("open", path, &e)),
        },
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock_shared() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::new(
                    ErrorCode::LogLocked,
                    format!("{} stayed locked by a writer changing the log (waited 60 s)", path.display()),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error("lock", path, &e)),
        }
    }
}
