//! Reading a package's `.tar.gz` from its bytes (SPEC.md §19), so that every
//! verifier, the browser's included, reads an archive by the same rules.
//!
//! Only what `tar x` would extract as one flat folder of plain files is read: an
//! archive is refused when `tar` could extract anything else or other bytes.

use std::io::Read;

use super::PackageFile;
use crate::{Error, ErrorCode, Result};

/// The most files a package may hold: it has 21 at most, 47 for a signed message
/// that answers another (SPEC.md §19, §21.6), and 7 for each of up to 99 key records.
pub const MAX_PACKAGE_FILES: usize = 768;
/// The largest file a package may hold. A store keeps no entry larger than 64 MiB,
/// so no exported `event.json` is larger; every other file of a package is a few
/// kilobytes (the key history grows by about 300 bytes a key).
pub const MAX_PACKAGE_FILE_SIZE: u64 = 64 * 1024 * 1024;
/// The most bytes the files of a package may hold together: the largest file and
/// ample room for the rest.
pub const MAX_PACKAGE_SIZE: u64 = 96 * 1024 * 1024;
/// The most bytes read from a decompressed archive: the files, their headers and
/// padding, and the zero blocks that end an archive. No archive of a package is
/// larger than this compressed either.
pub const MAX_ARCHIVE_SIZE: u64 = MAX_PACKAGE_SIZE + 1024 * 1024;

/// A name a package file may have: letters, digits, `.`, `_` and `-`, not `.`
/// or `..` and not ending in `.` (which Windows drops). `verify.sh` refuses the
/// same names.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.ends_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The files of a package read so far, counted against the limits above.
#[derive(Debug, Default)]
pub struct PackageLimits {
    files: usize,
    total: u64,
}

impl PackageLimits {
    /// Counts one more file `name` of `size` bytes, or says why it is refused.
    ///
    /// # Errors
    /// A sentence for a file beyond [`MAX_PACKAGE_FILES`], larger than
    /// [`MAX_PACKAGE_FILE_SIZE`], or taking the total beyond [`MAX_PACKAGE_SIZE`].
    pub fn admit(&mut self, name: &str, size: u64) -> std::result::Result<(), String> {
        self.files += 1;
        if self.files > MAX_PACKAGE_FILES {
            return Err(too_many_files());
        }
        if size > MAX_PACKAGE_FILE_SIZE {
            return Err(format!("{name} is larger than {} MiB", MAX_PACKAGE_FILE_SIZE >> 20));
        }
        self.total = self.total.saturating_add(size);
        if self.total > MAX_PACKAGE_SIZE {
            return Err(format!("the files are larger than {} MiB in all", MAX_PACKAGE_SIZE >> 20));
        }
        Ok(())
    }
}

fn too_many_files() -> String {
    format!("more than {MAX_PACKAGE_FILES} files; a package has about 20, and 7 more for each key record")
}

/// A reader that fails, rather than ending, once it has given `left` bytes and has
/// more: a decompressed archive cannot grow beyond its limit unnoticed.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let most = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..most])?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "it holds more than {} MiB uncompressed",
                MAX_ARCHIVE_SIZE >> 20
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The decompressed bytes of every gzip member in turn, as `gzip -d` gives them:
/// zero bytes after the last member are padding (`gzip -d` ignores them, so `tar`
/// extracts the archive), anything else must be another member.
struct GzipMembers<'a> {
    member: Option<flate2::bufread::GzDecoder<&'a [u8]>>,
    /// Members begun so far, at most [`MAX_GZIP_MEMBERS`].
    members: usize,
}

/// The most gzip members an archive may have. Tools write one; a few more come from
/// concatenating archives. Millions of empty ones would take `gzip -d` and every
/// reader half a minute on a 97 MiB file.
pub const MAX_GZIP_MEMBERS: usize = 64;

impl<'a> GzipMembers<'a> {
    fn new(bytes: &'a [u8]) -> GzipMembers<'a> {
        GzipMembers { member: Some(flate2::bufread::GzDecoder::new(bytes)), members: 1 }
    }
}

impl Read for GzipMembers<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(member) = &mut self.member {
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The member ended with a valid trailer; what follows it is the rest.
            let rest = self.member.take().map_or(&[][..], flate2::bufread::GzDecoder::into_inner);
            if rest.iter().any(|&b| b != 0) {
                self.members += 1;
                if self.members > MAX_GZIP_MEMBERS {
                    return Err(std::io::Error::other(format!("it has more than {MAX_GZIP_MEMBERS} gzip members")));
                }
                self.member = Some(flate2::bufread::GzDecoder::new(rest));
            }
        }
        Ok(0)
    }
}

/// A tar header's numeric field as GNU tar reads it without ambiguity: optional
/// leading spaces, octal digits, then only NULs and spaces. Anything else is
/// refused: `tar` reads a field beginning with `+` or `-` as base-64 and one with
/// its high bit set as base-256, where a lenient reader sees another number, so
/// that the two would find members at different places in the stream.
fn octal_field(field: &[u8]) -> Option<u64> {
    let start = field.iter().position(|&b| b != b' ')?;
    let digits = field[start..].iter().take_while(|b| (b'0'..=b'7').contains(b)).count();
    let (number, rest) = field[start..].split_at(digits);
    if digits == 0 || rest.iter().any(|&b| b != 0 && b != b' ') {
        return None;
    }
    number.iter().try_fold(0u64, |n, &d| n.checked_mul(8)?.checked_add(u64::from(d - b'0')))
}

/// The files of a package's `.tar.gz`, given its bytes, in the archive's order.
///
/// Refused: a name twice (also in other letter case), a member outside the one
/// top folder or in a subfolder, a link, device, FIFO or other non-regular
/// member, a long-name or PAX extension header, a size, mode, owner, group, time
/// or checksum field that is not plain octal, more than [`MAX_GZIP_MEMBERS`] gzip
/// members, a file its owner could not read once extracted (or a folder
/// entry not enterable), data after the end of the archive (zero bytes after the
/// gzip stream are padding), more than [`MAX_PACKAGE_FILES`] files or the sizes of
/// [`PackageLimits`]. Memory stays within those whatever the headers claim.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`], saying "not a package .tar.gz" and why, for
/// bytes that are not such an archive or one holding no files.
pub fn read_package_archive(bytes: &[u8]) -> Result<Vec<PackageFile>> {
    let refuse = |why: String| Error::new(ErrorCode::InvalidArgument, format!("not a package .tar.gz: {why}"));
    let not_package = |e: std::io::Error| refuse(e.to_string());
    if bytes.len() as u64 > MAX_ARCHIVE_SIZE {
        return Err(refuse(format!("it is larger than {} MiB", MAX_ARCHIVE_SIZE >> 20)));
    }
    // Every gzip member, as `gzip -d` reads them (the first alone would hide what
    // a later one holds), and never more than the limit.
    let stream = Bounded { inner: GzipMembers::new(bytes), left: MAX_ARCHIVE_SIZE };
    let mut archive = tar::Archive::new(stream);
    let mut files: Vec<PackageFile> = Vec::new();
    let mut limits = PackageLimits::default();
    let mut top: Option<String> = None;
    let mut members = 0;
    // Raw entries: long-name and PAX headers come as members, and are refused,
    // so each name is the header's own, as `tar` reads it.
    for entry in archive.entries().map_err(not_package)?.raw(true) {
        let mut entry = entry.map_err(not_package)?;
        members += 1;
        if members > MAX_PACKAGE_FILES + 1 {
            return Err(refuse(too_many_files()));
        }
        let header = entry.header();
        if header.as_ustar().is_none() && header.as_gnu().is_none() {
            return Err(refuse("a member's header is neither ustar nor GNU tar".into()));
        }
        let raw_name = header.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_name).into_owned();
        let kind = header.entry_type();
        let raw = header.as_bytes();
        let field = |what: &str, at: std::ops::Range<usize>| {
            octal_field(&raw[at]).ok_or_else(|| refuse(format!("{shown:?}: its {what} field is not plain octal")))
        };
        let size = field("size", 124..136)?;
        if header.entry_size().map_err(not_package)? != size {
            return Err(refuse(format!("{shown:?} has a size read two ways")));
        }
        let mode = field("mode", 100..108)?;
        field("owner", 108..116)?;
        field("group", 116..124)?;
        field("modification time", 136..148)?;
        field("checksum", 148..156)?;
        // Extracted by someone else than its owner's account, a member must still
        // be readable (and the folder enterable), or verify.sh could not read it.
        let readable = if kind.is_dir() { 0o500 } else { 0o400 };
        if mode & readable != readable {
            return Err(refuse(format!("{shown:?} would not be readable once extracted (mode {mode:o})")));
        }
        if kind != tar::EntryType::Regular && kind != tar::EntryType::Directory {
            return Err(refuse(format!("{shown:?} is not a regular file ({})", describe_kind(kind))));
        }
        let name = std::str::from_utf8(&raw_name).map_err(|_| refuse(format!("{shown:?} is not a UTF-8 name")))?;
        let (folder, file) = match name.split_once('/') {
            Some((folder, file)) => (folder, file),
            None => (name, ""),
        };
        if folder.is_empty()
            || folder == "."
            || folder == ".."
            || folder.contains(['\\'])
            || folder.contains(char::is_control)
        {
            return Err(refuse(format!("{shown:?} is not inside the package's folder")));
        }
        match &top {
            Some(top) if top != folder => {
                return Err(refuse(format!("{shown:?} is outside the package's folder {top}/")));
            }
            Some(_) => {}
            None => top = Some(folder.to_owned()),
        }
        if kind.is_dir() && file.is_empty() {
            // The package's folder itself.
            if size != 0 {
                return Err(refuse(format!("the folder {shown:?} carries data")));
            }
            continue;
        }
        if file.is_empty() || file.contains('/') {
            return Err(refuse(format!("{shown:?} is not a file directly in the package's folder")));
        }
        if !is_plain_file_name(file) {
            return Err(refuse(format!("{shown:?} is not a plain file name of a package")));
        }
        if kind != tar::EntryType::Regular {
            return Err(refuse(format!("{shown:?} is not a regular file ({})", describe_kind(kind))));
        }
        if files.iter().any(|f| f.name.eq_ignore_ascii_case(file)) {
            return Err(refuse(format!(
                "{shown:?} is in it twice (tar keeps the last, so the folder would not be what was checked)"
            )));
        }
        limits.admit(file, size).map_err(refuse)?;
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        (&mut entry).take(size).read_to_end(&mut bytes).map_err(not_package)?;
        if bytes.len() as u64 != size {
            return Err(refuse(format!("{shown:?} is cut short")));
        }
        files.push(PackageFile { name: file.to_owned(), bytes });
    }
    // After the end-of-archive block, only zeros (`tar` reads no further, and
    // neither may anything be hidden there); this also checks the gzip trailers.
    let mut rest = archive.into_inner();
    let mut block = [0u8; 8192];
    loop {
        let n = rest.read(&mut block).map_err(not_package)?;
        if n == 0 {
            break;
        }
        if block[..n].iter().any(|&b| b != 0) {
            return Err(refuse("it has data after the end of the archive".into()));
        }
    }
    if files.is_empty() {
        return Err(refuse("it holds no files".into()));
    }
    Ok(files)
}

/// What a non-regular archive member is, in words.
fn describe_kind(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Symlink => "a symbolic link",
        tar::EntryType::Char | tar::EntryType::Block => "a device",
        tar::EntryType::Fifo => "a FIFO",
        tar::EntryType::Directory => "a folder",
        tar::EntryType::Continuous => "a contiguous file",
        tar::EntryType::GNULongName | tar::EntryType::GNULongLink => "a GNU long-name header",
        tar::EntryType::XHeader | tar::EntryType::XGlobalHeader => "a PAX extended header",
        tar::EntryType::GNUSparse => "a sparse file",
        _ => "an unknown kind of member",
    }
}

#[cfg(test)]
mod tests {
    use super::octal_field;

    #[test]
    fn numeric_fields_are_plain_octal_or_refused() {
        assert_eq!(octal_field(b"00000000106\0"), Some(70));
        assert_eq!(octal_field(b"   106 \0\0\0\0\0"), Some(70));
        assert_eq!(octal_field(b"0000644\0"), Some(0o644));
        // GNU tar reads these as base-64 or base-256: another number than a lenient reader's.
        assert_eq!(octal_field(b"+0000000106\0"), None);
        assert_eq!(octal_field(b"-0000000106\0"), None);
        assert_eq!(octal_field(b"\x80\0\0\0\0\0\0\0\0\0\0\x46"), None);
        // No digits, digits that are not octal, or anything after them.
        assert_eq!(octal_field(b"\0\0\0\0\0\0\0\0\0\0\0\0"), None);
        assert_eq!(octal_field(b"           \0"), None);
        assert_eq!(octal_field(b"00000000108\0"), None);
        assert_eq!(octal_field(b"0000010 6\0\0\0"), None);
        assert_eq!(octal_field(b"777777777777"), Some(0o777777777777));
    }
}
