//! Fault injection, as SQLite tests its I/O error paths: a [`Faults`] plan given to
//! a log ([`crate::LogOptions::faults`]) sees every file operation the store makes
//! and can fail the Nth one, and it can undo every write not yet flushed, as a
//! power cut would. The store's tests run a scripted workload once per operation
//! and check after each failure that nothing acknowledged was lost.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A kind of file operation the store makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Creating a file or directory.
    Create,
    /// Writing bytes.
    Write,
    /// Flushing a file to stable storage.
    Sync,
    /// Cutting (or extending) a file.
    Truncate,
    /// Renaming a file over another.
    Rename,
    /// Flushing a directory.
    SyncDir,
}

/// The error an injected fault reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// The disk is full (ENOSPC).
    NoSpace,
    /// An input/output error (EIO).
    Io,
}

impl FaultError {
    fn to_io(self) -> std::io::Error {
        #[cfg(unix)]
        let error = std::io::Error::from_raw_os_error(match self {
            FaultError::NoSpace => 28,
            FaultError::Io => 5,
        });
        #[cfg(not(unix))]
        let error = std::io::Error::other(format!("injected {self:?}"));
        error
    }
}

/// How to undo a change that was never made durable.
#[derive(Debug)]
enum Undo {
    /// `written` bytes written at `offset` (or, when `written` is `None`, the file's
    /// length set to `offset`) in a file that held `old` there and was `old_len` long.
    Data { path: PathBuf, offset: u64, written: Option<u64>, old: Vec<u8>, old_len: u64 },
    /// A file or directory created.
    Created { path: PathBuf, dir: bool },
    /// A file renamed over, that held `old`, or did not exist.
    Replaced { path: PathBuf, old: Option<Vec<u8>> },
}

impl Undo {
    fn path(&self) -> &Path {
        match self {
            Undo::Data { path, .. } | Undo::Created { path, .. } | Undo::Replaced { path, .. } => path,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    operations: u64,
    fail_at: Vec<(u64, FaultError)>,
    injected: Option<String>,
    power_off: bool,
    track: bool,
    undo: Vec<Undo>,
}

/// A fault plan for the store's file operations (see the module documentation).
#[derive(Default)]
pub struct Faults {
    state: Mutex<State>,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults").field("operations", &self.operations()).finish()
    }
}

impl Faults {
    /// A plan that fails nothing and only counts.
    pub fn new() -> Faults {
        Faults::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Fails the `n`th operation counted from now (1 is the next one) with `error`
    /// (in addition to any failure planned before).
    pub fn fail_operation(&self, n: u64, error: FaultError) {
        let mut state = self.state();
        let at = state.operations + n;
        state.fail_at.push((at, error));
    }

    /// The number of operations seen so far.
    pub fn operations(&self) -> u64 {
        self.state().operations
    }

    /// The operation that was failed, if one was.
    pub fn injected(&self) -> Option<String> {
        self.state().injected.clone()
    }

    /// Starts remembering how to undo every change not yet flushed, for
    /// [`Faults::power_cut`].
    pub fn record_unflushed(&self) {
        self.state().track = true;
    }

    /// Loses every change not yet flushed (file data not synced, files created or
    /// renamed in a directory not synced since), as a power cut does, and fails
    /// every later operation: the store that was writing is gone.
    ///
    /// # Errors
    /// When the files cannot be put back.
    pub fn power_cut(&self) -> std::io::Result<()> {
        self.power_cut_keeping(|_| false)
    }

    /// A power cut after which some changes not yet flushed made it to the disk
    /// anyway, as pages are written back in no particular order: each is kept when
    /// a pseudo-random choice from `seed` says so.
    ///
    /// # Errors
    /// When the files cannot be put back.
    pub fn power_cut_keeping_some(&self, seed: u64) -> std::io::Result<()> {
        let mut state = seed | 1;
        self.power_cut_keeping(move |_| {
            // xorshift64: plenty for picking which writes survive.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state & 1 == 1
        })
    }

    fn power_cut_keeping(&self, mut kept: impl FnMut(usize) -> bool) -> std::io::Result<()> {
        let mut state = self.state();
        state.power_off = true;
        // A file ends up as long as it was before its first change not flushed, or
        // as far as a write that reached the disk extends it.
        let mut lengths: std::collections::HashMap<PathBuf, (u64, u64)> = std::collections::HashMap::new();
        for (i, undo) in std::mem::take(&mut state.undo).into_iter().enumerate().rev() {
            let keep = kept(i);
            match undo {
                Undo::Data { path, offset, written, old, old_len } => {
                    let length = lengths.entry(path.clone()).or_insert((old_len, 0));
                    length.0 = old_len;
                    let file = match std::fs::OpenOptions::new().write(true).open(&path) {
                        Ok(file) => file,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e),
                    };
                    match written {
                        // A truncation that reached the disk, or a write: its end counts.
                        Some(written) if keep => length.1 = length.1.max(offset + written),
                        None if keep => {}
                        // A write lost: the old bytes, and zeros where the file was extended.
                        Some(written) => {
                            write_all_at(&file, &old, offset)?;
                            let zeros = (offset + written).saturating_sub(offset + old.len() as u64);
                            write_all_at(&file, &vec![0u8; zeros as usize], offset + old.len() as u64)?;
                        }
                        // A truncation lost: the bytes it cut are back.
                        None => write_all_at(&file, &old, offset)?,
                    }
                }
                Undo::Created { path, .. } | Undo::Replaced { path, .. } if keep => drop(path),
                Undo::Created { path, dir } => {
                    let removed = if dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
                    match removed {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                        _ => {}
                    }
                }
                Undo::Replaced { path, old } => match old {
                    Some(old) => std::fs::write(&path, old)?,
                    None => match std::fs::remove_file(&path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                        _ => {}
                    },
                },
            }
        }
        for (path, (durable, kept)) in lengths {
            match std::fs::OpenOptions::new().write(true).open(&path) {
                Ok(file) => file.set_len(durable.max(kept))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Counts an operation and fails it if the plan says so.
    pub(crate) fn before(&self, op: Op, path: &Path) -> std::io::Result<()> {
        let mut state = self.state();
        if state.power_off {
            return Err(std::io::Error::other("the power is off"));
        }
        state.operations += 1;
        let operation = state.operations;
        match state.fail_at.iter().find(|(at, _)| *at == operation).map(|(_, error)| *error) {
            Some(error) => {
                let injected = format!("operation {operation}: {op:?} {} ({error:?})", path.display());
                state.injected =
                    Some(state.injected.take().map_or(injected.clone(), |before| format!("{before}; {injected}")));
                Err(error.to_io())
            }
            None => Ok(()),
        }
    }

    /// Remembers what `len` bytes at `offset` of `path` held before they are written
    /// (`len` `None`: the file is cut to `offset`, and what it held after it).
    pub(crate) fn before_write(&self, path: &Path, offset: u64, len: Option<u64>) {
        let mut state = self.state();
        if !state.track || state.power_off {
            return;
        }
        let current = std::fs::read(path).unwrap_or_default();
        let start = (offset as usize).min(current.len());
        let end = offset.saturating_add(len.unwrap_or(u64::MAX)).min(current.len() as u64) as usize;
        let old = current[start..end.max(start)].to_vec();
        let undo = Undo::Data { path: path.to_owned(), offset, written: len, old, old_len: current.len() as u64 };
        state.undo.push(undo);
    }

    /// Remembers that a file or directory was created.
    pub(crate) fn created(&self, path: &Path, dir: bool) {
        let mut state = self.state();
        if state.track {
            state.undo.push(Undo::Created { path: path.to_owned(), dir });
        }
    }

    /// Remembers what a file about to be renamed over held.
    pub(crate) fn before_rename(&self, path: &Path) {
        let mut state = self.state();
        if state.track && !state.power_off {
            let old = std::fs::read(path).ok();
            state.undo.push(Undo::Replaced { path: path.to_owned(), old });
        }
    }

    /// The file's data is durable now.
    pub(crate) fn synced(&self, path: &Path) {
        self.state().undo.retain(|undo| !matches!(undo, Undo::Data { path: p, .. } if p == path));
    }

    /// The directory's entries are durable now.
    pub(crate) fn dir_synced(&self, dir: &Path) {
        self.state().undo.retain(|undo| matches!(undo, Undo::Data { .. }) || undo.path().parent() != Some(dir));
    }
}

#[cfg(unix)]
fn write_all_at(file: &std::fs::File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(not(unix))]
fn write_all_at(file: &std::fs::File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Seek, Write};
    let mut file = file;
    file.seek(std::io::SeekFrom::Start(offset))?;
    file.write_all(bytes)
}
