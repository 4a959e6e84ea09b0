//! Evidence packages on disk (SPEC.md §19): `export` writes the package of one
//! record as a folder and a deterministic `.tar.gz` of it; `read_package` reads
//! either back for `evidentia::package::verify_package`.

use std::path::{Path, PathBuf};

use evidentia::package::{
    KeyRecordScan, MAX_ARCHIVE_SIZE, MAX_PACKAGE_KEY_RECORDS, PackageErasure, PackageFile, PackageInput,
    PackageKeyRecord, PackageLimits, PackageRequest, PackageTimestamp, PackageWitnesses, build_package,
    is_plain_file_name, package_keys, read_package_archive as read_package_archive_bytes,
};
use evidentia::{BatchReceipt, CommittedEvent, Error, ErrorCode, InclusionProof, KeySet, Policy, Result, timestamp};

use crate::fsio::io_error;
use crate::segments::EntryRef;
use crate::witnessing::{cosigned_checkpoint, witness_policy};
use crate::{LogReader, Mode, StoredCheckpoint, StoredTimestamp};

/// What a package is made from: a log's records, key history, checkpoints and
/// proofs, read from a log folder or (in one snapshot) a PostgreSQL log, and the
/// timestamps and witnesses' cosignatures only a log folder keeps.
pub(crate) trait PackageSource {
    fn log_id(&self) -> &str;
    fn keys(&self) -> &KeySet;
    /// The receipt of record `seq`, as the log serves it.
    fn receipt(&mut self, seq: u64) -> Result<String>;
    /// The event of record `seq` as a package holds it.
    fn event(&mut self, seq: u64) -> Result<CommittedEvent>;
    /// What follows record `index` that its package needs ([`Following`]): its key
    /// records, found by following the hash chain of every record from `index` on
    /// ([`KeyRecords`]), so that none is left out unseen, and the erasure of its
    /// event, if any. More than [`MAX_PACKAGE_KEY_RECORDS`] key records are refused.
    fn records_after(&mut self, index: u64) -> Result<Following>;
    /// Every stored checkpoint, oldest first.
    fn checkpoints(&mut self) -> Result<Vec<StoredCheckpoint>>;
    fn inclusion_proof(&mut self, index: u64, size: u64) -> Result<InclusionProof>;
    /// The stored timestamp of the checkpoint of `size` records, if any.
    fn timestamp(&mut self, size: u64) -> Option<StoredTimestamp>;
    /// The log's witness policy's text, if it keeps one.
    fn witness_policy(&mut self) -> Result<Option<String>>;
    /// The witnesses' cosigned checkpoint of `size` records, if stored and readable.
    fn cosigned(&mut self, size: u64) -> Option<String>;
}

/// A log folder's records, through its reader.
struct Folder<'a> {
    dir: &'a Path,
    reader: LogReader,
}

impl PackageSource for Folder<'_> {
    fn log_id(&self) -> &str {
        self.reader.log_id()
    }

    fn keys(&self) -> &KeySet {
        self.reader.keys()
    }

    fn receipt(&mut self, seq: u64) -> Result<String> {
        self.reader.receipt(seq)
    }

    fn event(&mut self, seq: u64) -> Result<CommittedEvent> {
        let entry = self.reader.entry(seq)?;
        evidentia::event_as_committed(&entry.record()?, entry.stored_event())
    }

    fn records_after(&mut self, index: u64) -> Result<Following> {
        let mut found = KeyRecords::after(index, self.reader.keys(), self.reader.mode());
        let mut seq = index;
        self.reader.for_each_entry_from(index, |entry| {
            found.push(seq, entry.map_err(|why| Error::new(ErrorCode::LogCorrupt, why))?)?;
            seq += 1;
            Ok(())
        })?;
        found.finish(self.reader.len())
    }

    fn checkpoints(&mut self) -> Result<Vec<StoredCheckpoint>> {
        self.reader.checkpoints()
    }

    fn inclusion_proof(&mut self, index: u64, size: u64) -> Result<InclusionProof> {
        self.reader.inclusion_proof(index, Some(size))
    }

    fn timestamp(&mut self, size: u64) -> Option<StoredTimestamp> {
        self.reader.timestamp(size).ok().flatten()
    }

    fn witness_policy(&mut self) -> Result<Option<String>> {
        witness_policy(self.dir)
    }

    fn cosigned(&mut self, size: u64) -> Option<String> {
        cosigned_checkpoint(self.dir, size).ok().flatten()
    }
}

/// What follows a packaged record that its package needs.
pub(crate) struct Following {
    /// The key records (SPEC.md §23) after it, in order: their sequence numbers and
    /// events.
    pub(crate) key_records: Vec<(u64, Vec<u8>)>,
    /// The erasure record that names it (SPEC.md §27), when its event was erased.
    pub(crate) erasure: Option<ErasureEntry>,
}

/// An erasure record as a package holds it (SPEC.md §19 check 14).
pub(crate) struct ErasureEntry {
    pub(crate) seq: u64,
    pub(crate) record: Vec<u8>,
    pub(crate) event: Vec<u8>,
}

/// The key records after a packaged record, found by a [`KeyRecordScan`] over the
/// records from it on, each receipt's signature checked with the log's key set,
/// and the erasure record that names the packaged record, if any.
pub(crate) struct KeyRecords<'a> {
    index: u64,
    keys: &'a KeySet,
    mode: Mode,
    scan: Option<KeyRecordScan>,
    found: Vec<(u64, Vec<u8>)>,
    /// The packaged record's digest, which its erasure names.
    digest: Option<evidentia::Digest>,
    erasure: Option<ErasureEntry>,
}

impl<'a> KeyRecords<'a> {
    /// Finds the key records after record `index` of a log of `mode` whose key set
    /// is `keys`.
    pub(crate) fn after(index: u64, keys: &'a KeySet, mode: Mode) -> KeyRecords<'a> {
        KeyRecords { index, keys, mode, scan: None, found: Vec::new(), digest: None, erasure: None }
    }

    /// Reads the next entry, stored as record `seq`: the packaged record's first,
    /// then each one after it.
    pub(crate) fn push(&mut self, seq: u64, entry: EntryRef<'_>) -> Result<()> {
        let Some(scan) = self.scan.as_mut() else {
            let record = entry.record_bytes()?;
            self.digest = Some(evidentia::Digest::sha256(&record));
            self.scan = Some(KeyRecordScan::after(self.index, &record)?);
            return Ok(());
        };
        // The first erasure that names the record (a second one is refused by the
        // log's own erase, and `log verify` reports it).
        if self.erasure.is_none()
            && let Some(Ok(erasure)) = evidentia::erasure_of(entry.event())
            && erasure.seq == self.index
            && Some(erasure.record) == self.digest
        {
            self.erasure = Some(ErasureEntry { seq, record: entry.record_bytes()?, event: entry.event().to_vec() });
        }
        // An entry of the other kind than the log's mode stores was not written
        // by it: in receipts mode, a bare record would escape the signature check.
        let is_key_record = match (entry, self.mode) {
            (EntryRef::Receipt { receipt, event }, Mode::Receipts) => scan.push_receipt(receipt, self.keys, event)?,
            (EntryRef::Record { record, event }, Mode::Batch) => scan.push(record, event)?,
            _ => {
                return Err(Error::new(
                    ErrorCode::LogCorrupt,
                    format!(
                        "entry {seq} is not of the kind a log in {} mode stores: no package is made",
                        self.mode.name()
                    ),
                ));
            }
        };
        if is_key_record {
            if self.found.len() == MAX_PACKAGE_KEY_RECORDS {
                return Err(too_many_key_records(self.index));
            }
            self.found.push((seq, entry.event().to_vec()));
        }
        Ok(())
    }

    /// What was found, once every record of a log of `size` was read.
    pub(crate) fn finish(self, size: u64) -> Result<Following> {
        let Some(scan) = self.scan else {
            return Err(Error::new(ErrorCode::LogCorrupt, format!("the log holds no entry for record {}", self.index)));
        };
        scan.finish(size)?;
        Ok(Following { key_records: self.found, erasure: self.erasure })
    }
}

fn too_many_key_records(index: u64) -> Error {
    Error::new(
        ErrorCode::InvalidArgument,
        format!(
            "more than {MAX_PACKAGE_KEY_RECORDS} key records follow record {index}, more than a package carries: \
             export a later record"
        ),
    )
}

/// Writes the package of record `index` of the log in `dir` to the new folder `out`
/// and to `out.tar.gz`; returns the archive's path.
///
/// A receipt's package proves inclusion in the newest checkpoint that covers the
/// record and that the log's witnesses cosigned meeting its witness policy
/// ([`crate::store_cosigned`]) and a stored timestamp still verifies; else in the
/// newest that is witnessed so; else in the newest with a timestamp; else in the
/// newest checkpoint. A batch receipt carries its own checkpoint, whose timestamp
/// and witnesses' cosignatures are included when stored (and still verifying, and
/// meeting the policy). A witnessed package carries the cosigned checkpoint and
/// the policy (SPEC.md §19 check 12). Every key record that follows the
/// record comes with its receipt (SPEC.md §19 check 11), so that `keys.jwks` is
/// shown to be the key set the log last signed. The package of a record whose
/// event was erased holds, in place of the event, the erasure record, in a
/// checkpoint that holds it too (SPEC.md §27.5).
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for a record beyond the log, a log without a
/// checkpoint (or, for an erased record, without one that holds its erasure), or
/// an `out` that exists; the code of evidence that does not verify
/// (no package is written then); [`ErrorCode::Io`].
pub fn export_package(dir: &Path, index: u64, out: &Path) -> Result<PathBuf> {
    export(&mut Folder { dir, reader: LogReader::open(dir)? }, index, out, None)
}

/// As [`export_package`], for a version-2 record disclosing only the members
/// `disclose` names (SPEC.md §19 check 13): the others stay hidden behind their
/// salts, and the package still proves that those disclosed belong to the record.
///
/// # Errors
/// As [`export_package`]; [`ErrorCode::InvalidArgument`] for a name the event has
/// no member of, or a version-1 record, whose event is shown whole;
/// [`ErrorCode::RecordErased`] for a record whose event was erased.
pub fn export_package_disclosing(dir: &Path, index: u64, out: &Path, disclose: &[String]) -> Result<PathBuf> {
    export(&mut Folder { dir, reader: LogReader::open(dir)? }, index, out, Some(disclose))
}

/// Writes the package of record `index` read from `source`, as [`export_package`],
/// disclosing the members `disclose` names (all for `None`).
pub(crate) fn export<S: PackageSource>(
    source: &mut S,
    index: u64,
    out: &Path,
    disclose: Option<&[String]>,
) -> Result<PathBuf> {
    let receipt = source.receipt(index)?;
    let Following { key_records, erasure } = source.records_after(index)?;
    // An erased record's package shows its erasure instead (SPEC.md §19 check 14).
    let (event, disclosures) = match &erasure {
        None => {
            let committed = source.event(index)?;
            let disclosures = committed.disclosures(disclose)?;
            (committed.bytes, disclosures)
        }
        Some(erasure) if disclose.is_some() => {
            return Err(Error::new(
                ErrorCode::RecordErased,
                format!("the event of record {index} was erased by record {}: it has nothing to disclose", erasure.seq),
            ));
        }
        Some(_) => (Vec::new(), Vec::new()),
    };
    // Check 14 judges the erasure record's key as check 3 the record's: an erasure
    // signed by a key not in force at its time is refused here, not packaged.
    if let Some(erasure) = &erasure {
        let by = evidentia::Record::from_bytes(&erasure.record)?;
        let in_force = source.keys().select(Some(&by.kid)).and_then(|(_, validity)| validity.check(by.time));
        if let Err(e) = in_force {
            return Err(Error::new(
                e.code(),
                format!(
                    "record {}, which erased the event of record {index}, was signed by key {}, which the log's key \
                     history does not show in force at its time: {}",
                    erasure.seq,
                    by.kid,
                    e.message()
                ),
            ));
        }
    }
    // The checkpoint must hold the erasure record too, to show it.
    let needed = erasure.as_ref().map_or(index, |erasure| erasure.seq);
    let key_records: Vec<(String, Vec<u8>)> =
        key_records.into_iter().map(|(seq, event)| Ok((source.receipt(seq)?, event))).collect::<Result<_>>()?;
    let key_records: Vec<PackageKeyRecord> =
        key_records.iter().map(|(receipt, event)| PackageKeyRecord { receipt, event }).collect();
    let history = package_keys(&receipt, &event, &key_records, source.keys())?;
    // Only a checkpoint check 6 accepts: signed by the record's key, or by a key a
    // carried rotation hands over to that the history does not revoke.
    let stored = source.checkpoints()?;
    let checkpoints: Vec<_> = stored.iter().filter(|c| history.signed(&c.note, source.log_id())).collect();
    // A cosigned checkpoint of `size` whose cosignatures meet the log's witness
    // policy (check 12), when the log keeps one.
    let policy = source.witness_policy()?.and_then(|text| Policy::parse(&text).ok().map(|policy| (policy, text)));
    let witnessed = |source: &mut S, size: u64, note: &str| -> Option<String> {
        let (policy, _) = policy.as_ref()?;
        // One that cannot be read is left out, as a timestamp that no longer
        // verifies is: the package is made without it.
        let cosigned = source.cosigned(size)?;
        let same = evidentia::read_checkpoint(&cosigned).ok() == evidentia::read_checkpoint(note).ok();
        (same && policy.evaluate(&cosigned).is_ok_and(|r| r.quorum_met)).then_some(cosigned)
    };
    // A stored timestamp that no longer verifies (log verify reports it) is left
    // out, not a reason to refuse the package.
    let stamp_of = |source: &mut S, size: u64, note: &str| {
        source
            .timestamp(size)
            .filter(|stamp| timestamp::verify_with_stored_chain(&stamp.response, note.as_bytes(), &stamp.chain).is_ok())
    };
    let (checkpoint, proof, stamp, cosigned) = if receipt.starts_with('{') {
        let note = BatchReceipt::parse(&receipt)?.checkpoint_note().to_owned();
        let size = evidentia::read_checkpoint(&note)?.size;
        let is_stored = stored.iter().any(|c| c.size == size && c.note == note);
        let stamp = if is_stored { stamp_of(source, size, &note) } else { None };
        (None, None, stamp, witnessed(source, size, &note))
    } else {
        if stored.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "the log has no signed checkpoint yet: run `evidentia log checkpoint` first",
            ));
        }
        if !stored.iter().any(|c| c.size > needed) {
            let what = match &erasure {
                None => format!("record {index}"),
                Some(erasure) => format!("record {}, which erased the event of record {index},", erasure.seq),
            };
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("no checkpoint covers {what} yet: sign one (log checkpoint) and export again"),
            ));
        }
        let covering: Vec<_> = checkpoints.iter().filter(|c| c.size > needed).collect();
        // The newest checkpoint with the most independent evidence: witnessed and
        // timestamped, else witnessed, else timestamped, else the newest.
        let mut chosen = None;
        // What the chosen one has: (witnessed, timestamped), compared in that order.
        let mut best = (false, false);
        for &&checkpoint in covering.iter().rev() {
            let cosigned = witnessed(source, checkpoint.size, &checkpoint.note);
            // An older one is taken only when it has more: no timestamp is
            // verified for one that could not be.
            if chosen.is_some() && (cosigned.is_some(), true) <= best {
                continue;
            }
            let stamp = stamp_of(source, checkpoint.size, &checkpoint.note);
            let rank = (cosigned.is_some(), stamp.is_some());
            if chosen.is_none() || rank > best {
                best = rank;
                chosen = Some((checkpoint, stamp, cosigned));
            }
            if best == (true, true) || (policy.is_none() && best.1) {
                break;
            }
        }
        let (checkpoint, stamp, cosigned) = chosen.ok_or_else(|| {
            Error::new(
                ErrorCode::CheckpointSignatureInvalid,
                format!(
                    "no stored checkpoint covers record {needed} that record {index}'s key, or a key its log handed over to since and did not revoke, signed"
                ),
            )
        })?;
        (Some(checkpoint.note.clone()), Some(source.inclusion_proof(index, checkpoint.size)?), stamp, cosigned)
    };
    let token = stamp.as_ref().map(|s| timestamp::timestamp_token(&s.response)).transpose()?;
    // A signed message that answers an earlier record: that record's evidence too,
    // in the same checkpoint (receipts mode only; core refuses the rest).
    let link = evidentia::json::parse(&event)
        .ok()
        .and_then(|value| evidentia::SignedMessage::from_event(&value).ok().flatten())
        .and_then(|message| message.link);
    let request = match (link, &proof) {
        (Some(link), Some(proof)) => Some((
            source.receipt(link.seq)?,
            source.event(link.seq)?.bytes,
            source.inclusion_proof(link.seq, proof.tree_size)?,
        )),
        _ => None,
    };
    // The erasure record's proof, in the checkpoint of the package: a receipt's
    // proof's, or the one a batch receipt carries.
    let erasure_proof = match &erasure {
        None => None,
        Some(erasure) => {
            let size = match &proof {
                Some(proof) => proof.tree_size,
                None => BatchReceipt::parse(&receipt)?.proof().tree_size,
            };
            if size <= erasure.seq {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "the checkpoint of record {index}'s batch receipt does not cover record {}, which erased \
                         its event: a checkpoint its key signs later would (log checkpoint), unless the key was \
                         rotated since",
                        erasure.seq
                    ),
                ));
            }
            Some(source.inclusion_proof(erasure.seq, size)?)
        }
    };
    let files = build_package(PackageInput {
        receipt: &receipt,
        event: &event,
        disclosures: &disclosures,
        keys: source.keys(),
        proof: proof.as_ref(),
        checkpoint: checkpoint.as_deref(),
        timestamp: match (&token, &stamp) {
            (Some(token), Some(stamp)) => Some(PackageTimestamp { token, chain: &stamp.chain }),
            _ => None,
        },
        exported_at: Some(crate::writer::now()?),
        request: request.as_ref().map(|(receipt, event, proof)| PackageRequest { receipt, event, proof }),
        key_records: &key_records,
        witnesses: match (&cosigned, &policy) {
            (Some(note), Some((_, policy))) => Some(PackageWitnesses { note, policy }),
            _ => None,
        },
        erasure: erasure.as_ref().zip(erasure_proof.as_ref()).map(|(erasure, proof)| PackageErasure {
            record: &erasure.record,
            event: &erasure.event,
            proof,
        }),
    })?;
    write_package(&files, out)
}

/// The longest folder name that fits a ustar header's prefix field, so the archive
/// needs no long-name extension (which `read_package` refuses).
const MAX_FOLDER_NAME: usize = 155;

/// Writes the files to the new folder `out` and to the new archive `<out>.tar.gz`
/// (the suffix appended to the whole name, never replacing an extension); returns
/// the archive's path. Refuses, writing nothing, when either exists. Every file,
/// the folder and the directory holding them are flushed to stable storage before
/// it returns; after a failure, what it wrote is removed.
fn write_package(files: &[PackageFile], out: &Path) -> Result<PathBuf> {
    let invalid = |why: String| Error::new(ErrorCode::InvalidArgument, why);
    let folder = match out.components().next_back() {
        Some(std::path::Component::Normal(name)) => name,
        _ => return Err(invalid(format!("{} does not end in a folder name", out.display()))),
    };
    let folder = folder
        .to_str()
        .filter(|name| name.len() <= MAX_FOLDER_NAME && !name.contains('\\') && !name.contains(char::is_control))
        .ok_or_else(|| {
            invalid(format!(
                "{}: the package folder's name must be UTF-8 text of at most {MAX_FOLDER_NAME} bytes, \
                 without control characters or backslashes",
                out.display()
            ))
        })?;
    // "d/name.v2" gives "d/name.v2.tar.gz"; "d/name/" and "d/name/." give "d/name.tar.gz".
    let out = &out.with_file_name(folder);
    let archive_path = out.with_file_name(format!("{folder}.tar.gz"));
    for path in [out, archive_path.as_path()] {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(invalid(format!("{} exists; choose a new path", path.display())));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Folders made here to hold the package: each one's entry in its own parent
    // is flushed too.
    let made: Vec<PathBuf> =
        parent.ancestors().take_while(|a| !a.as_os_str().is_empty() && !a.exists()).map(Path::to_path_buf).collect();
    std::fs::create_dir_all(&parent).map_err(|e| io_error("create", &parent, &e))?;
    let archive_file = std::fs::OpenOptions::new().write(true).create_new(true).open(&archive_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            invalid(format!("{} exists; choose a new path", archive_path.display()))
        } else {
            io_error("create", &archive_path, &e)
        }
    })?;
    if let Err(e) = std::fs::create_dir(out) {
        let _ = std::fs::remove_file(&archive_path);
        return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
            invalid(format!("{} exists; choose a new path", out.display()))
        } else {
            io_error("create", out, &e)
        });
    }
    let written = fill_package(files, out, folder, archive_file, &archive_path).and_then(|()| {
        flush_directory(out)?;
        flush_directory(&parent)?;
        made.iter().try_for_each(|dir| match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => flush_directory(p),
            _ => flush_directory(Path::new(".")),
        })
    });
    if let Err(e) = written {
        // Only what this call made: the files it wrote, its folder and its archive.
        for file in files {
            let _ = std::fs::remove_file(out.join(&file.name));
        }
        let _ = std::fs::remove_dir(out);
        let _ = std::fs::remove_file(&archive_path);
        return Err(e);
    }
    Ok(archive_path)
}

/// Writes each file to the folder `out` and to the archive, under `folder/`, and
/// flushes each to stable storage.
fn fill_package(
    files: &[PackageFile],
    out: &Path,
    folder: &str,
    archive_file: std::fs::File,
    archive_path: &Path,
) -> Result<()> {
    let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(archive_file, flate2::Compression::default()));
    for file in files {
        let path = out.join(&file.name);
        let mut written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_error("create", &path, &e))?;
        std::io::Write::write_all(&mut written, &file.bytes).map_err(|e| io_error("write", &path, &e))?;
        let executable = file.name.ends_with(".sh");
        #[cfg(unix)]
        if executable {
            use std::os::unix::fs::PermissionsExt;
            written
                .set_permissions(std::fs::Permissions::from_mode(0o755))
                .map_err(|e| io_error("set permissions of", &path, &e))?;
        }
        written.sync_all().map_err(|e| io_error("flush", &path, &e))?;
        // Fixed owner, mode and time, so the same package gives the same archive.
        let mut header = tar::Header::new_ustar();
        header.set_size(file.bytes.len() as u64);
        header.set_mode(if executable { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        archive
            .append_data(&mut header, format!("{folder}/{}", file.name), file.bytes.as_slice())
            .map_err(|e| io_error("write", archive_path, &e))?;
    }
    let encoder = archive.into_inner().map_err(|e| io_error("write", archive_path, &e))?;
    let archive_file = encoder.finish().map_err(|e| io_error("write", archive_path, &e))?;
    archive_file.sync_all().map_err(|e| io_error("flush", archive_path, &e))
}

/// Flushes a directory's entries to stable storage (a no-op where directories
/// cannot be opened, as on Windows).
fn flush_directory(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error("flush directory", dir, &e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads a package: a folder, or a `.tar.gz` of one.
///
/// Only what `tar x` would extract as one flat folder of plain files is read; an
/// archive is refused when `tar` could extract anything else or other bytes: a
/// name twice (also in other letter case), a member outside the one top folder or
/// in a subfolder, a link, device, FIFO or other non-regular member, a long-name
/// or PAX extension header, or data after the end of the archive (read by
/// `evidentia::package::read_package_archive`, as in every verifier). A folder is
/// refused when it holds a symbolic link or anything but regular files. Both are
/// refused beyond 768 files, 64 MiB a file or 96 MiB in all, and memory stays
/// within that whatever the archive's headers claim.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for something that is neither, holds no files,
/// or is refused as above; [`ErrorCode::Io`].
pub fn read_package(path: &Path) -> Result<Vec<PackageFile>> {
    let metadata = std::fs::metadata(path).map_err(|e| io_error("read", path, &e))?;
    let files = if metadata.is_dir() {
        read_package_folder(path)?
    } else if metadata.is_file() {
        read_package_archive(path)?
    } else {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("{} is not a package folder or .tar.gz", path.display()),
        ));
    };
    if files.is_empty() {
        return Err(Error::new(ErrorCode::InvalidArgument, format!("{} holds no files", path.display())));
    }
    Ok(files)
}

fn read_package_folder(path: &Path) -> Result<Vec<PackageFile>> {
    use std::io::Read;
    let refuse = |why: String| Error::new(ErrorCode::InvalidArgument, format!("{}: {why}", path.display()));
    let mut files = Vec::new();
    let mut limits = PackageLimits::default();
    let entries = std::fs::read_dir(path).map_err(|e| io_error("read", path, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("read", path, &e))?;
        let name = entry.file_name();
        let name = name
            .to_str()
            .filter(|n| is_plain_file_name(n))
            .ok_or_else(|| refuse(format!("{:?} is not a plain file name of a package", entry.file_name())))?
            .to_owned();
        let file = entry.path();
        // Not followed: a link could lead outside the package, or to a device.
        let before = std::fs::symlink_metadata(&file).map_err(|e| io_error("read", &file, &e))?;
        if before.file_type().is_symlink() {
            return Err(refuse(format!("{name} is a symbolic link; a package holds plain files only")));
        }
        if !before.is_file() {
            return Err(refuse(format!("{name} is not a regular file; a package holds plain files only")));
        }
        limits.admit(&name, before.len()).map_err(refuse)?;
        let opened = std::fs::File::open(&file).map_err(|e| io_error("read", &file, &e))?;
        let after = opened.metadata().map_err(|e| io_error("read", &file, &e))?;
        #[cfg(unix)]
        let same = {
            use std::os::unix::fs::MetadataExt;
            after.is_file() && (after.dev(), after.ino()) == (before.dev(), before.ino())
        };
        #[cfg(not(unix))]
        let same = after.is_file();
        if !same {
            return Err(refuse(format!("{name} changed while it was read")));
        }
        let mut bytes = Vec::new();
        opened.take(before.len().saturating_add(1)).read_to_end(&mut bytes).map_err(|e| io_error("read", &file, &e))?;
        if bytes.len() as u64 != before.len() {
            return Err(refuse(format!("{name} changed while it was read")));
        }
        files.push(PackageFile { name, bytes });
    }
    Ok(files)
}

fn read_package_archive(path: &Path) -> Result<Vec<PackageFile>> {
    use std::io::Read;
    let archive = std::fs::File::open(path).map_err(|e| io_error("open", path, &e))?;
    let mut bytes = Vec::new();
    // One byte beyond the limit, so that core sees a larger archive as larger.
    archive.take(MAX_ARCHIVE_SIZE + 1).read_to_end(&mut bytes).map_err(|e| io_error("read", path, &e))?;
    read_package_archive_bytes(&bytes)
        .map_err(|e| Error::new(e.code(), format!("{} is {}", path.display(), e.message())))
}
