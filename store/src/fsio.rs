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

/// Reads a whole file, or `None` when it does not exist.
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("read", path, &e)),
    }
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

    /// Opens a file for reading and writing, creating it (empty) if `create` and it
    /// does not exist. A new file is flushed into its directory at once.
    pub(crate) fn open(&self, path: &Path, create: bool) -> Result<File> {
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

/// Takes an exclusive lock on `path` (created if missing), waiting as `wait` says.
/// `busy` describes the holder for the error message.
pub(crate) fn lock_exclusive(fs: &Fs, path: &Path, wait: Wait, busy: &str) -> Result<File> {
    let file = fs.open(path, true)?;
    let deadline = match wait {
        Wait::No => None,
        Wait::For(limit) => Some(Instant::now() + limit),
    };
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
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

/// A shared lock on `path`, waiting for an exclusive holder to finish; `None` when
/// the file does not exist (a log no writer of this version has opened yet).
pub(crate) fn lock_shared(path: &Path) -> Result<Option<File>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("open", path, &e)),
    };
    file.lock_shared().map_err(|e| io_error("lock", path, &e))?;
    Ok(Some(file))
}
