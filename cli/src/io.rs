//! Reading inputs and writing outputs, with errors that name the file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use evidentia::{Error, ErrorCode};

/// Inputs larger than this are refused rather than read into memory.
const MAX_INPUT: u64 = 256 * 1024 * 1024;

pub(crate) fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::new(ErrorCode::Io, format!("cannot {what} {}: {e}", path.display()))
}

/// Reads a file, or standard input for `None` or `-`.
pub(crate) fn read_input(path: Option<&Path>) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    match path {
        None => read_limited(std::io::stdin().lock(), &mut bytes, Path::new("standard input"))?,
        Some(p) if p == Path::new("-") => read_limited(std::io::stdin().lock(), &mut bytes, p)?,
        Some(p) => {
            let file = std::fs::File::open(p).map_err(|e| io_error("read", p, &e))?;
            read_limited(file, &mut bytes, p)?;
        }
    }
    Ok(bytes)
}

fn read_limited(reader: impl Read, bytes: &mut Vec<u8>, path: &Path) -> Result<(), Error> {
    reader.take(MAX_INPUT + 1).read_to_end(bytes).map_err(|e| io_error("read", path, &e))?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(Error::new(ErrorCode::InvalidArgument, format!("{} is larger than 256 MiB", path.display())));
    }
    Ok(())
}

/// Reads a text file (keys, key sets).
pub(crate) fn read_text(path: &Path) -> Result<String, Error> {
    String::from_utf8(read_input(Some(path))?)
        .map_err(|_| Error::new(ErrorCode::InvalidArgument, format!("{} is not UTF-8 text", path.display())))
}

/// Writes a private key readable by its owner only (mode 0600 on Unix), refusing to
/// overwrite unless told.
///
/// A new file is created 0600. To overwrite, the key goes to a new temporary file
/// in the same directory, created 0600 and flushed, and is renamed over whatever
/// is there: a file of any mode, or a symbolic link, which is replaced rather than
/// followed. The directory is flushed last, so the key is whole and private.
pub(crate) fn write_key_file(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if overwrite {
        let name = path
            .file_name()
            .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, format!("{} is not a file name", path.display())))?;
        let (temporary, file) = create_private(dir, Some(name))?;
        let replaced = write_key(file, bytes, &temporary)
            .and_then(|()| std::fs::rename(&temporary, path).map_err(|e| io_error("write", path, &e)));
        if replaced.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        replaced?;
    } else {
        let (_, file) = create_private(path, None)?;
        if let Err(e) = write_key(file, bytes, path) {
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
    }
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error("flush directory", dir, &e))?;
    Ok(())
}

/// Writes the key and a newline, and flushes them to stable storage.
fn write_key(mut file: std::fs::File, bytes: &[u8], path: &Path) -> Result<(), Error> {
    file.write_all(bytes)
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("write", path, &e))
}

/// Creates a new file readable and writable by its owner only (exactly 0600,
/// whatever the umask): `at` itself, or with `beside` a temporary file named after
/// it in the directory `at`.
fn create_private(at: &Path, beside: Option<&std::ffi::OsStr>) -> Result<(PathBuf, std::fs::File), Error> {
    for _ in 0..16 {
        let path = match beside {
            None => at.to_path_buf(),
            Some(name) => {
                let mut suffix = [0u8; 8];
                getrandom::fill(&mut suffix)
                    .map_err(|e| Error::new(ErrorCode::Internal, format!("no randomness for a file name: {e}")))?;
                let mut temporary = std::ffi::OsString::from(".");
                temporary.push(name);
                temporary.push(format!(".{}.tmp", evidentia::encoding::b64url(&suffix)));
                at.join(temporary)
            }
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(file) => {
                #[cfg(unix)]
                if let Err(e) = file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600)) {
                    let _ = std::fs::remove_file(&path);
                    return Err(io_error("set permissions of", &path, &e));
                }
                return Ok((path, file));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && beside.is_some() => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!("{} exists; pass --force to overwrite it", path.display()),
                ));
            }
            Err(e) => return Err(io_error("write", &path, &e)),
        }
    }
    Err(Error::new(ErrorCode::Io, format!("cannot create a temporary file in {}", at.display())))
}

/// Writes bytes to standard output: canonical output must arrive whole, so a
/// failure is an error.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).map_err(|e| io_error("write", Path::new("standard output"), &e))
}

/// Prints text and a newline to standard output. A closed output (a pipe whose
/// reader has gone, as in `evidentia log verify DIR | head -1`) is not an error:
/// the command finishes and its exit status still tells the result.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::io::write_out(format!("{}\n", format_args!($($arg)*)).as_bytes())
    };
}

/// Prints text to standard output, without a newline (see [`outln`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::io::write_out(format!("{}", format_args!($($arg)*)).as_bytes())
    };
}

pub(crate) use {out, outln};

/// Writes to standard output, ignoring a closed output.
pub(crate) fn write_out(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
}
