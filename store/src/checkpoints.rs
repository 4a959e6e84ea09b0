//! The checkpoints file: every signed checkpoint of the log, framed, in order of
//! size. Its notes are read when asked for; memory holds only where each one is.

use std::fs::File;
use std::path::{Path, PathBuf};

use evidentia::{Error, ErrorCode, Result, read_checkpoint};

use crate::frame::{self, Tail};
use crate::fsio::{Fs, io_error, read_at, read_regular};

/// A signed checkpoint stored with the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The number of records it covers.
    pub size: u64,
    /// The signed note.
    pub note: String,
}

/// Where one checkpoint's note is in the file.
#[derive(Clone, Copy, Debug)]
struct Place {
    size: u64,
    offset: u64,
    len: u32,
}

/// The checkpoints of a log.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    path: PathBuf,
    /// Opened for reading (when the file exists).
    file: Option<File>,
    /// Opened for appending, by a writer, on its first append.
    writer: Option<File>,
    places: Vec<Place>,
    problems: Vec<String>,
    /// Where the valid frames end.
    end: u64,
}

/// The checkpoints file is read whole; this is far beyond millions of checkpoints.
const MAX_CHECKPOINTS_FILE: u64 = 1 << 30;

impl Checkpoints {
    /// Reads the checkpoints file (none if it does not exist) and says what follows
    /// its valid frames. A frame whose note cannot be read, or that is out of order,
    /// is left out and described in [`Checkpoints::problems`].
    pub(crate) fn read(path: &Path) -> Result<(Checkpoints, Tail)> {
        let data = read_regular(path, MAX_CHECKPOINTS_FILE)?.unwrap_or_default();
        let scan = frame::scan(&data, 0);
        let mut places = Vec::with_capacity(scan.frames.len());
        let mut problems = Vec::new();
        for (n, (offset, range)) in scan.frames.iter().enumerate() {
            let size = std::str::from_utf8(&data[range.clone()])
                .map_err(|_| "is not text".to_owned())
                .and_then(|note| read_checkpoint(note).map_err(|e| format!("cannot be read: {e}")))
                .and_then(|checkpoint| match places.last() {
                    Some(Place { size, .. }) if *size > checkpoint.size => {
                        Err(format!("(of {} records) comes after one of {size}: out of order", checkpoint.size))
                    }
                    _ => Ok(checkpoint.size),
                });
            match size {
                Ok(size) => {
                    places.push(Place { size, offset: (*offset + frame::HEADER) as u64, len: range.len() as u32 })
                }
                Err(why) => problems.push(format!("{}: the stored checkpoint number {} {why}", path.display(), n + 1)),
            }
        }
        let file = match File::open(path) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error("open", path, &e)),
        };
        let checkpoints =
            Checkpoints { path: path.to_owned(), file, writer: None, places, problems, end: scan.end as u64 };
        Ok((checkpoints, scan.tail))
    }

    /// Stored checkpoints that could not be used (a note that cannot be read, or
    /// one out of order): damage, for verification to report.
    pub(crate) fn problems(&self) -> &[String] {
        &self.problems
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.places.len()
    }

    /// The sizes, in order.
    pub(crate) fn sizes(&self) -> impl DoubleEndedIterator<Item = u64> + ExactSizeIterator + '_ {
        self.places.iter().map(|p| p.size)
    }

    /// The size of the newest one.
    pub(crate) fn latest_size(&self) -> Option<u64> {
        self.places.last().map(|p| p.size)
    }

    /// The checkpoint at position `i`.
    pub(crate) fn get(&self, i: usize) -> Result<StoredCheckpoint> {
        let place = self.places.get(i).ok_or_else(|| Error::new(ErrorCode::Internal, "no such checkpoint"))?;
        let file = self.file.as_ref().ok_or_else(|| Error::new(ErrorCode::Internal, "no checkpoints file"))?;
        let mut bytes = vec![0u8; place.len as usize];
        read_at(file, &mut bytes, place.offset).map_err(|e| io_error("read", &self.path, &e))?;
        let note = String::from_utf8(bytes).map_err(|_| {
            Error::new(ErrorCode::LogCorrupt, format!("{}: a checkpoint is not text", self.path.display()))
        })?;
        Ok(StoredCheckpoint { size: place.size, note })
    }

    /// The newest checkpoint.
    pub(crate) fn latest(&self) -> Result<Option<StoredCheckpoint>> {
        self.places.len().checked_sub(1).map(|i| self.get(i)).transpose()
    }

    /// The size of the oldest checkpoint that holds record `seq`: the one that
    /// sealed it.
    pub(crate) fn oldest_holding(&self, seq: u64) -> Option<u64> {
        self.places.get(self.places.partition_point(|p| p.size <= seq)).map(|p| p.size)
    }

    /// Position of the newest checkpoint of at most `size` records.
    pub(crate) fn newest_within(&self, size: u64) -> Option<usize> {
        self.places.partition_point(|p| p.size <= size).checked_sub(1)
    }

    /// Appends a signed checkpoint of `size` records and flushes it.
    pub(crate) fn append(&mut self, fs: &Fs, size: u64, note: &str) -> Result<()> {
        let mut framed = Vec::with_capacity(note.len() + frame::HEADER);
        frame::encode(note.as_bytes(), &mut framed);
        if self.writer.is_none() {
            self.writer = Some(fs.open(&self.path, true)?);
        }
        let file = self.writer.as_ref().ok_or_else(|| Error::new(ErrorCode::Internal, "no checkpoints file"))?;
        let written = fs.write_at(file, &self.path, &framed, self.end).and_then(|()| fs.sync(file, &self.path));
        if let Err(e) = written {
            // An append that failed must not leave part of itself to be read back.
            let _ = fs.set_len(file, &self.path, self.end).and_then(|()| fs.sync(file, &self.path));
            return Err(e);
        }
        self.places.push(Place { size, offset: self.end + frame::HEADER as u64, len: note.len() as u32 });
        self.end += framed.len() as u64;
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        Ok(())
    }

    /// Where the valid frames end.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }
}
