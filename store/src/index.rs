//! The index: one little-endian u64 per entry, `(segment number << 32) | offset` of
//! its frame, so that an entry is found with two reads. Derived from the segments
//! and rebuilt from them when it lags.

use std::fs::File;
use std::path::{Path, PathBuf};

use evidentia::{Error, ErrorCode, Result};

use crate::fsio::{Fs, io_error, read_at, regular_or_missing};

const SLOT: u64 = 8;

/// An index file.
#[derive(Debug)]
pub(crate) struct IndexFile {
    file: File,
    path: PathBuf,
}

/// The slot of a frame at `offset` of segment number `segment`.
pub(crate) fn slot(segment: usize, offset: u64) -> [u8; 8] {
    debug_assert!(offset <= u64::from(u32::MAX), "segments stay far below 4 GiB");
    (((segment as u64) << 32) | offset).to_le_bytes()
}

impl IndexFile {
    /// Opens the index for reading, if there is one.
    pub(crate) fn open_read(path: &Path) -> Result<Option<IndexFile>> {
        regular_or_missing(path)?;
        match File::open(path) {
            Ok(file) => Ok(Some(IndexFile { file, path: path.to_owned() })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("open", path, &e)),
        }
    }

    /// Opens (or creates) the index for writing.
    pub(crate) fn open_write(fs: &Fs, path: &Path) -> Result<IndexFile> {
        Ok(IndexFile { file: fs.open(path, true)?, path: path.to_owned() })
    }

    /// How many whole slots the file holds.
    pub(crate) fn stored(&self) -> Result<u64> {
        Ok(self.file.metadata().map_err(|e| io_error("read", &self.path, &e))?.len() / SLOT)
    }

    /// Where entry `seq`'s frame is: the segment's position and the offset.
    pub(crate) fn get(&self, seq: u64) -> Result<(usize, u64)> {
        let mut bytes = [0u8; 8];
        read_at(&self.file, &mut bytes, seq * SLOT)
            .map_err(|_| Error::new(ErrorCode::LogCorrupt, format!("entry {seq} is not in the index")))?;
        let slot = u64::from_le_bytes(bytes);
        Ok(((slot >> 32) as usize, slot & 0xFFFF_FFFF))
    }

    /// Writes slots from entry `seq` on.
    pub(crate) fn write(&self, fs: &Fs, seq: u64, slots: &[u8]) -> Result<()> {
        fs.write_at(&self.file, &self.path, slots, seq * SLOT)
    }

    /// Cuts the index to `entries` slots.
    pub(crate) fn truncate(&self, fs: &Fs, entries: u64) -> Result<()> {
        fs.set_len(&self.file, &self.path, entries * SLOT)
    }

    /// Flushes the index to stable storage.
    pub(crate) fn sync(&self, fs: &Fs) -> Result<()> {
        fs.sync(&self.file, &self.path)
    }
}
