//! Evidence packages on disk (SPEC.md §19): `export` writes the package of one
//! record as a folder and a deterministic `.tar.gz` of it; `read_package` reads
//! either back for `evidentia::package::verify_package`.

use std::path::{Path, PathBuf};

use evidentia::package::{PackageFile, PackageInput, PackageTimestamp, build_package};
use evidentia::{BatchReceipt, Error, ErrorCode, Result, timestamp};

use crate::{Entry, LogReader, io_error};

/// Writes the package of record `index` of the log in `dir` to the new folder `out`
/// and to `out.tar.gz`; returns the archive's path.
///
/// A receipt's package proves inclusion in the newest checkpoint that covers the
/// record and has a trusted timestamp, or else in the newest checkpoint; a batch
/// receipt carries its own checkpoint, whose timestamp is included when stored.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for a record beyond the log, a log without a
/// checkpoint, or an `out` that exists; the code of evidence that does not verify
/// (no package is written then); [`ErrorCode::Io`].
pub fn export_package(dir: &Path, index: u64, out: &Path) -> Result<PathBuf> {
    let reader = LogReader::open(dir)?;
    let receipt = reader.receipt(index)?;
    let event = match reader.entry(index)? {
        Entry::Receipt { event, .. } | Entry::Record { event, .. } => event,
    };
    let latest = reader.checkpoint_of_size(None)?;
    let (checkpoint, proof, stamp) = if receipt.starts_with('{') {
        let note = BatchReceipt::parse(&receipt)?.checkpoint_note().to_owned();
        let size = evidentia::read_checkpoint(&note)?.size;
        let stamp =
            reader.timestamp(size)?.filter(|_| reader.checkpoint_of_size(Some(size)).is_ok_and(|c| c.note == note));
        (None, None, stamp)
    } else {
        let mut stamped = None;
        for checkpoint in reader.checkpoints().iter().rev().filter(|c| c.size > index) {
            if let Some(stamp) = reader.timestamp(checkpoint.size)? {
                stamped = Some((checkpoint, stamp));
                break;
            }
        }
        let (checkpoint, stamp) = match stamped {
            Some((checkpoint, stamp)) => (checkpoint, Some(stamp)),
            None => (latest, None),
        };
        (Some(checkpoint.note.clone()), Some(reader.inclusion_proof(index, Some(checkpoint.size))?), stamp)
    };
    let token = stamp.as_ref().map(|s| timestamp::timestamp_token(&s.response)).transpose()?;
    let files = build_package(PackageInput {
        receipt: &receipt,
        event: &event,
        keys: reader.keys(),
        proof: proof.as_ref(),
        checkpoint: checkpoint.as_deref(),
        timestamp: match (&token, &stamp) {
            (Some(token), Some(stamp)) => Some(PackageTimestamp { token, chain: &stamp.chain }),
            _ => None,
        },
    })?;
    write_package(&files, out)
}

/// Writes the files to the new folder `out` and to `out.tar.gz`.
fn write_package(files: &[PackageFile], out: &Path) -> Result<PathBuf> {
    if out.exists() {
        return Err(Error::new(ErrorCode::InvalidArgument, format!("{} exists; choose a new path", out.display())));
    }
    std::fs::create_dir_all(out).map_err(|e| io_error("create", out, &e))?;
    let archive_path = out.with_extension("tar.gz");
    let archive_file = std::fs::File::create(&archive_path).map_err(|e| io_error("create", &archive_path, &e))?;
    let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(archive_file, flate2::Compression::default()));
    let folder = out.file_name().map_or_else(|| "package".into(), |n| n.to_string_lossy().into_owned());
    for file in files {
        let path = out.join(&file.name);
        std::fs::write(&path, &file.bytes).map_err(|e| io_error("write", &path, &e))?;
        let executable = file.name.ends_with(".sh");
        #[cfg(unix)]
        if executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| io_error("set permissions of", &path, &e))?;
        }
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
            .map_err(|e| io_error("write", &archive_path, &e))?;
    }
    let encoder = archive.into_inner().map_err(|e| io_error("write", &archive_path, &e))?;
    encoder.finish().map_err(|e| io_error("write", &archive_path, &e))?;
    Ok(archive_path)
}

/// Reads a package: a folder, or a `.tar.gz` of one.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for something that is neither, or holds no files;
/// [`ErrorCode::Io`].
pub fn read_package(path: &Path) -> Result<Vec<PackageFile>> {
    let mut files = Vec::new();
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| io_error("read", path, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error("read", path, &e))?;
            let file = entry.path();
            if file.is_file() {
                let bytes = std::fs::read(&file).map_err(|e| io_error("read", &file, &e))?;
                files.push(PackageFile { name: entry.file_name().to_string_lossy().into_owned(), bytes });
            }
        }
    } else {
        let archive = std::fs::File::open(path).map_err(|e| io_error("open", path, &e))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(archive));
        let not_package = |e: std::io::Error| {
            Error::new(
                ErrorCode::InvalidArgument,
                format!("{} is not a package folder or .tar.gz: {e}", path.display()),
            )
        };
        for entry in archive.entries().map_err(not_package)? {
            let mut entry = entry.map_err(not_package)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry.path().map_err(not_package)?.file_name().map(|n| n.to_string_lossy().into_owned());
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(not_package)?;
            files.push(PackageFile { name: name.unwrap_or_default(), bytes });
        }
    }
    if files.is_empty() {
        return Err(Error::new(ErrorCode::InvalidArgument, format!("{} holds no files", path.display())));
    }
    Ok(files)
}
