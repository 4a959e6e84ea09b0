//! The checkpoints file: every signed checkpoint of the log, framed, in order of
//! size. Its notes are read when asked for; memory holds only where each one is.

use std::fs::File;
use std::path::{Path, PathBuf};

use evidentia::{Error, ErrorCode, Result, read_checkpoint};

use crate::frame::{self, Tail};
use crate::fsio::{Fs, io_error, read_at};

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
    /// Where the valid frames end.
    end: u64,
}

impl Checkpoints {
    /// Reads the checkpoints file (none if it does not exist) and says what follows
    /// its valid frames.
    pub(crate) fn read(path: &Path) -> Result<(Checkpoints, Tail)> {
        let data = match std::fs::read(path) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_error("read", path, &e)),
        };
        let scan = frame::scan(&data);
        let mut places = Vec::with_capacity(scan.frames.len());
        for (offset, range) in &scan.frames {
            let note = std::str::from_utf8(&data[range.clone()]).map_err(|_| {
                Error::new(ErrorCode::LogCorrupt, format!("{}: a checkpoint is not text", path.display()))
            })?;
            let size = read_checkpoint(note)
                .map_err(|e| {
                    Error::new(ErrorCode::LogCorrupt, format!("{}: a checkpoint cannot be read: {e}", path.display()))
                })?
                .size;
            if places.last().is_some_and(|p: &Place| p.size > size) {
                return Err(Error::new(
                    ErrorCode::LogCorrupt,
                    format!("{}: checkpoints are out of order", path.display()),
                ));
            }
            places.push(Place { size, offset: (*offset + frame::HEADER) as u64, len: range.len() as u32 });
        }
        let file = match File::open(path) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error("open", path, &e)),
        };
        Ok((Checkpoints { path: path.to_owned(), file, writer: None, places, end: scan.end as u64 }, scan.tail))
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
