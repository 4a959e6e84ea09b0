//! Reading inputs and writing outputs, with errors that name the file.

use std::io::{Read, Write};
use std::path::Path;

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

/// Writes a private key readable by its owner only, refusing to overwrite unless told.
pub(crate) fn write_key_file(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            Error::new(ErrorCode::InvalidArgument, format!("{} exists; pass --force to overwrite it", path.display()))
        }
        _ => io_error("write", path, &e),
    })?;
    file.write_all(bytes)
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("write", path, &e))
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
