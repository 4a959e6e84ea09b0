//! `state.json`: how far the derived files (`index`, `tree`, `nonces`) are known
//! to be on stable storage. The writer flushes them only now and then (an append
//! flushes its segment, which is enough to keep the record), and writes this file
//! after each such flush: `{"entries":N,"root":"<base64>","version":1}`, where
//! `root` is the Merkle root of the first N records (base64, as in checkpoints). After a crash, opening the log
//! checks that root against the tree file and rebuilds the derived files from
//! record N on, instead of trusting nodes a power cut may have lost.

use std::path::Path;

use evidentia::Result;
use evidentia::json::{Number, Value, parse};
use evidentia::merkle::Hash;

use crate::config::STATE_FILE;
use crate::fsio::{Fs, read_regular};

const VERSION: u32 = 1;

/// The derived files hold the first `entries` records durably; `root` is their root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Durable {
    pub entries: u64,
    pub root: Hash,
}

impl Durable {
    /// Reads `state.json`; `None` when it is missing or cannot be read (then
    /// everything is rebuilt, which is always safe).
    pub(crate) fn read(dir: &Path) -> Result<Option<Durable>> {
        let Some(bytes) = read_regular(&dir.join(STATE_FILE), 4096).ok().flatten() else { return Ok(None) };
        let Ok(value) = parse(&bytes) else { return Ok(None) };
        let entries = value.get("entries").and_then(Value::as_number).and_then(Number::as_safe_u64);
        let root = value
            .get("root")
            .and_then(Value::as_str)
            .and_then(evidentia::encoding::b64_decode)
            .and_then(|bytes| <Hash>::try_from(bytes.as_slice()).ok());
        let version = value.get("version").and_then(Value::as_number).and_then(Number::as_safe_u64);
        Ok(match (entries, root, version) {
            (Some(entries), Some(root), Some(v)) if v == u64::from(VERSION) => Some(Durable { entries, root }),
            _ => None,
        })
    }

    /// Replaces `state.json` (after the derived files were flushed).
    pub(crate) fn write(self, fs: &Fs, dir: &Path) -> Result<()> {
        let count = Number::from_i64(i64::try_from(self.entries).unwrap_or(i64::MAX))?;
        let value = Value::object([
            ("entries", Value::Number(count)),
            ("root", Value::from(evidentia::encoding::b64(&self.root))),
            ("version", Value::from(VERSION)),
        ]);
        let mut bytes = evidentia::canonicalize_value(&value)?;
        bytes.push(b'\n');
        fs.replace(dir, STATE_FILE, &bytes)
    }
}
