//! `evidentia package verify` on packages from strangers: it checks exactly the
//! files `tar x` would extract as one flat folder, or refuses the archive (exit 2,
//! INVALID_ARGUMENT); it refuses links and anything but regular files in a folder;
//! and it never reads more than its caps, whatever an archive's headers claim.
//! The archives are made here byte by byte (ustar headers, deflate with fixed
//! Huffman codes), so every trick is exactly the one meant.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;

use support::{Workdir, evidentia, export_package, text};

/// Bytes of a tar stream: given, or a run of zeros (which need not be in memory).
enum Part {
    Bytes(Vec<u8>),
    Zeros(u64),
}

/// A ustar header (`tweak` may change it before the checksum is set).
fn header(name: &str, kind: u8, size: u64, tweak: impl FnOnce(&mut [u8; 512])) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    // Folders as tar writes them: readable and enterable.
    h[100..108].copy_from_slice(if kind == b'5' { b"0000755\0" } else { b"0000644\0" });
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    if size < 1 << 33 {
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    } else {
        // GNU base-256, as tar writes sizes of 8 GiB and more.
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[257..265].copy_from_slice(b"ustar\x0000");
    tweak(&mut h);
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A member: its header and its data, padded to 512 bytes.
fn member(name: &str, kind: u8, data: &[u8]) -> Vec<Part> {
    member_with(name, kind, data, |_| {})
}

fn member_with(name: &str, kind: u8, data: &[u8], tweak: impl FnOnce(&mut [u8; 512])) -> Vec<Part> {
    let mut bytes = header(name, kind, data.len() as u64, tweak).to_vec();
    bytes.extend_from_slice(data);
    bytes.resize(bytes.len().div_ceil(512) * 512, 0);
    vec![Part::Bytes(bytes)]
}

/// A PAX extended header record set.
fn pax(records: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in records {
        let body = format!(" {key}={value}\n");
        let mut length = body.len() + 1;
        while format!("{length}{body}").len() != length {
            length += 1;
        }
        out.extend_from_slice(format!("{length}{body}").as_bytes());
    }
    out
}

/// The two zero blocks that end an archive.
fn end() -> Vec<Part> {
    vec![Part::Zeros(1024)]
}

/// Deflate (RFC 1951) with the fixed Huffman codes: literals, and runs of a
/// repeated byte as matches of length 258 at distance 1.
struct Deflate {
    out: Vec<u8>,
    bits: u64,
    count: u32,
}

impl Deflate {
    fn put(&mut self, value: u32, count: u32) {
        self.bits |= u64::from(value) << self.count;
        self.count += count;
        while self.count >= 8 {
            self.out.push(self.bits as u8);
            self.bits >>= 8;
            self.count -= 8;
        }
    }

    /// A Huffman code, most significant bit first.
    fn code(&mut self, code: u32, length: u32) {
        let reversed = (0..length).fold(0, |r, i| r | (((code >> i) & 1) << (length - 1 - i)));
        self.put(reversed, length);
    }

    fn literal(&mut self, byte: u8) {
        match byte {
            0..=143 => self.code(0x30 + u32::from(byte), 8),
            _ => self.code(0x190 + u32::from(byte) - 144, 9),
        }
    }

    /// `n` more copies of the byte just written.
    fn repeat(&mut self, byte: u8, mut n: u64) {
        while n >= 258 {
            self.code(0xC5, 8); // length 258 (symbol 285)
            self.code(0, 5); // distance 1
            n -= 258;
        }
        for _ in 0..n {
            self.literal(byte);
        }
    }
}

/// CRC-32 (IEEE), as gzip's trailer holds.
struct Crc {
    table: [u32; 256],
    value: u32,
}

impl Crc {
    fn new() -> Crc {
        let mut table = [0u32; 256];
        for (n, entry) in table.iter_mut().enumerate() {
            *entry = (0..8).fold(n as u32, |c, _| if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 });
        }
        Crc { table, value: 0xFFFF_FFFF }
    }

    fn update(&mut self, byte: u8) {
        self.value = self.table[((self.value ^ u32::from(byte)) & 0xFF) as usize] ^ (self.value >> 8);
    }
}

/// One gzip member holding the parts.
fn gzip(parts: &[Part]) -> Vec<u8> {
    let mut deflate = Deflate { out: vec![0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255], bits: 0, count: 0 };
    deflate.put(1, 1); // the final block
    deflate.put(1, 2); // fixed Huffman codes
    let mut crc = Crc::new();
    let mut size = 0u64;
    for part in parts {
        match part {
            Part::Bytes(bytes) => {
                for &b in bytes {
                    deflate.literal(b);
                    crc.update(b);
                }
                size += bytes.len() as u64;
            }
            Part::Zeros(0) => {}
            Part::Zeros(n) => {
                deflate.literal(0);
                deflate.repeat(0, n - 1);
                for _ in 0..*n {
                    crc.update(0);
                }
                size += n;
            }
        }
    }
    deflate.code(0, 7); // end of block
    deflate.put(0, 7); // to a byte boundary
    let mut out = deflate.out;
    out.extend_from_slice(&(!crc.value).to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out
}

/// The package's files, in the order of its SHA256SUMS (then SHA256SUMS).
fn package_files(package: &Path) -> Vec<(String, Vec<u8>)> {
    let sums = std::fs::read_to_string(package.join("SHA256SUMS")).unwrap();
    let mut names: Vec<String> = sums.lines().map(|l| l[66..].to_owned()).collect();
    names.push("SHA256SUMS".into());
    names.into_iter().map(|n| (n.clone(), std::fs::read(package.join(&n)).unwrap())).collect()
}

/// Members `pkg/<name>` for the package's files.
fn members(files: &[(String, Vec<u8>)]) -> Vec<Part> {
    files.iter().flat_map(|(name, bytes)| member(&format!("pkg/{name}"), b'0', bytes)).collect()
}

struct Setup {
    _work: Workdir,
    dir: PathBuf,
    package: PathBuf,
    files: Vec<(String, Vec<u8>)>,
}

fn setup(name: &str) -> Setup {
    let work = Workdir::new(name);
    let dir = work.0.clone();
    let package = export_package(&dir);
    let files = package_files(&package);
    Setup { _work: work, dir, package, files }
}

impl Setup {
    fn write(&self, name: &str, archive: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, archive).unwrap();
        path
    }

    fn verify(&self, path: &Path) -> Output {
        evidentia(&self.dir, &["package", "verify", path.to_str().unwrap()])
    }

    /// `package verify` must refuse the archive or folder: exit 2, INVALID_ARGUMENT,
    /// a message naming what is wrong.
    fn refused(&self, what: &str, path: &Path, expected: &str) {
        let out = self.verify(path);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {}{stderr}", text(&out.stdout));
        assert!(stderr.starts_with("error: ") && stderr.contains("[INVALID_ARGUMENT]"), "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: {stderr}");
        assert!(!text(&out.stdout).contains("VALID"), "{what}");
    }
}

fn concat(parts: Vec<Vec<Part>>) -> Vec<Part> {
    parts.into_iter().flatten().collect()
}

#[test]
fn an_archive_made_here_or_by_tar_verifies() {
    let s = setup("archive-valid");
    // Made here, with a member for the folder itself, as tar writes one.
    let archive = gzip(&concat(vec![member("pkg/", b'5', b""), members(&s.files), end()]));
    let out = s.verify(&s.write("made-here.tar.gz", &archive));
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    // Made by GNU tar or bsdtar from the folder.
    if let Some(tar) = support::find_program("tar") {
        let status = Command::new(tar).args(["czf", "by-tar.tar.gz", "package"]).current_dir(&s.dir).status().unwrap();
        assert!(status.success());
        let out = s.verify(&s.dir.join("by-tar.tar.gz"));
        assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    }
    // And the archive export wrote.
    let out = s.verify(&s.dir.join("package.tar.gz"));
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

/// tar keeps the last member of a name; the package verify checked the first.
#[test]
fn a_second_member_of_a_name_is_refused() {
    let s = setup("archive-duplicate");
    let substitute = br#"{"n":6,"note":"substituted","type":"approval"}"#;
    let archive = gzip(&concat(vec![members(&s.files), member("pkg/event.json", b'0', substitute), end()]));
    let path = s.write("duplicate.tar.gz", &archive);
    // What tar extracts is the substitute.
    if let Some(tar) = support::find_program("tar") {
        let into = s.dir.join("extracted");
        std::fs::create_dir(&into).unwrap();
        let status = Command::new(tar).arg("xzf").arg(&path).current_dir(&into).status().unwrap();
        assert!(status.success());
        assert_eq!(std::fs::read(into.join("pkg/event.json")).unwrap(), substitute);
    }
    s.refused("a second event.json", &path, "\"pkg/event.json\" is in it twice");

    // The same in other letter case: one file on case-insensitive file systems.
    let archive = gzip(&concat(vec![members(&s.files), member("pkg/EVENT.json", b'0', substitute), end()]));
    s.refused("EVENT.json", &s.write("case.tar.gz", &archive), "\"pkg/EVENT.json\" is in it twice");

    // The second in a further gzip member, after the first ends without the
    // archive's end: gzip -d (and so tar) reads on.
    let mut archive = gzip(&members(&s.files));
    archive.extend(gzip(&concat(vec![member("pkg/event.json", b'0', substitute), end()])));
    s.refused("a second gzip member", &s.write("two-gzip.tar.gz", &archive), "\"pkg/event.json\" is in it twice");
}

#[test]
fn members_outside_the_one_flat_folder_are_refused() {
    let s = setup("archive-outside");
    let cases = [
        ("/tmp/evidentia-absolute.json", "is not inside the package's folder"),
        ("../escaped.json", "is not inside the package's folder"),
        ("./pkg/extra.json", "is not inside the package's folder"),
        ("pkg/../escaped.json", "is not a file directly in the package's folder"),
        ("pkg/sub/extra.json", "is not a file directly in the package's folder"),
        ("pkg//extra.json", "is not a file directly in the package's folder"),
        ("other/extra.json", "is outside the package's folder pkg/"),
        ("extra.json", "is outside the package's folder pkg/"),
        ("pkg/extra json", "is not a plain file name of a package"),
        ("pkg/.", "is not a plain file name of a package"),
    ];
    for (name, expected) in cases {
        let archive = gzip(&concat(vec![members(&s.files), member(name, b'0', b"{}"), end()]));
        s.refused(name, &s.write("outside.tar.gz", &archive), expected);
    }
    // A subfolder, and a folder outside.
    for (name, expected) in [("pkg/sub/", "is not a file directly"), ("pkg/sub", "is not a regular file (a folder)")] {
        let archive = gzip(&concat(vec![members(&s.files), member(name, b'5', b""), end()]));
        s.refused(name, &s.write("folder.tar.gz", &archive), expected);
    }
    let archive = gzip(&concat(vec![member("other/", b'5', b""), members(&s.files), end()]));
    s.refused("other/", &s.write("other.tar.gz", &archive), "is outside the package's folder other/");
}

#[test]
fn links_devices_fifos_and_other_members_are_refused() {
    let s = setup("archive-kinds");
    let cases: [(u8, &str); 7] = [
        (b'1', "a hard link"),
        (b'2', "a symbolic link"),
        (b'3', "a device"),
        (b'4', "a device"),
        (b'6', "a FIFO"),
        (b'7', "a contiguous file"),
        (b'S', "a sparse file"),
    ];
    for (kind, expected) in cases {
        // In place of event.json, so the package would otherwise lack it.
        let files: Vec<_> = s.files.iter().filter(|(n, _)| n != "event.json").cloned().collect();
        let link = member_with("pkg/event.json", kind, b"", |h| h[157..170].copy_from_slice(b"/etc/passwd\0\0"));
        let archive = gzip(&concat(vec![members(&files), link, end()]));
        s.refused(expected, &s.write("kind.tar.gz", &archive), &format!("is not a regular file ({expected})"));
    }
}

/// Long names and PAX headers would make the name tar extracts differ from the
/// header's; Evidentia writes neither.
#[test]
fn long_name_and_pax_headers_are_refused() {
    let s = setup("archive-names");
    let substitute = br#"{"n":6,"note":"substituted","type":"approval"}"#;
    let without: Vec<_> = s.files.iter().filter(|(n, _)| n != "event.json").cloned().collect();
    let cases: Vec<(&str, Vec<Part>, &str)> = vec![
        (
            "GNU long name",
            concat(vec![
                member("././@LongLink", b'L', b"pkg/event.json\0"),
                member("pkg/unlisted.json", b'0', substitute),
            ]),
            "(a GNU long-name header)",
        ),
        (
            "PAX path",
            concat(vec![
                member("pkg/PaxHeaders/x", b'x', &pax(&[("path", "pkg/event.json")])),
                member("pkg/unlisted.json", b'0', substitute),
            ]),
            "(a PAX extended header)",
        ),
        (
            "PAX global",
            concat(vec![
                member("pax_global_header", b'g', &pax(&[("comment", "x")])),
                member("pkg/event.json", b'0', substitute),
            ]),
            "(a PAX extended header)",
        ),
        (
            // A ustar magic with another version: tar reads the prefix, the old
            // format would not.
            "ustar prefix",
            member_with("event.json", b'0', substitute, |h| {
                h[263..265].copy_from_slice(b"xx");
                h[345..348].copy_from_slice(b"pkg");
            }),
            "neither ustar nor GNU tar",
        ),
    ];
    for (what, parts, expected) in cases {
        let archive = gzip(&concat(vec![members(&without), parts, end()]));
        s.refused(what, &s.write("names.tar.gz", &archive), expected);
    }
    // A long name can still be a plain ustar one: prefix and name.
    let long = "p".repeat(150);
    let files: Vec<Part> = s
        .files
        .iter()
        .flat_map(|(name, bytes)| {
            member_with(name, b'0', bytes, |h| h[345..345 + long.len()].copy_from_slice(long.as_bytes()))
        })
        .collect();
    let out = s.verify(&s.write("prefix.tar.gz", &gzip(&concat(vec![files, end()]))));
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn data_after_the_end_of_the_archive_is_refused() {
    let s = setup("archive-after");
    let archive = gzip(&concat(vec![members(&s.files), end(), member("pkg/event.json", b'0', b"{}"), end()]));
    s.refused("a member after the end", &s.write("after.tar.gz", &archive), "data after the end of the archive");
    // Zeros are what tar pads with, and are read past.
    let archive = gzip(&concat(vec![members(&s.files), end(), vec![Part::Zeros(9 * 1024)]]));
    let out = s.verify(&s.write("padded.tar.gz", &archive));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A truncated member, and garbage after the gzip stream.
    let mut archive = gzip(&concat(vec![members(&s.files)]));
    let cut = gzip(&concat(vec![vec![Part::Bytes(header("pkg/extra.json", b'0', 4096, |_| {}).to_vec())]]));
    archive.extend(cut);
    s.refused("cut short", &s.write("cut.tar.gz", &archive), "is cut short");
    let mut archive = gzip(&concat(vec![members(&s.files), end()]));
    archive.extend_from_slice(b"trailing garbage");
    s.refused("garbage", &s.write("garbage.tar.gz", &archive), "is not a package .tar.gz");
}

/// A 4.5 MB archive with a 1 GiB member took 1 GB of memory: headers are checked
/// against the caps before anything is read, and the decompressed stream is cut
/// off at its cap whatever the headers claim.
#[test]
fn archives_beyond_the_caps_are_refused_without_reading_them() {
    let s = setup("archive-caps");
    const MIB: u64 = 1024 * 1024;
    // A member of 1 GiB (its header claims it; its data need not follow).
    let archive =
        gzip(&concat(vec![members(&s.files), vec![Part::Bytes(header("pkg/big", b'0', 1 << 30, |_| {}).to_vec())]]));
    let started = std::time::Instant::now();
    s.refused("1 GiB member", &s.write("big.tar.gz", &archive), "big is larger than 64 MiB");
    assert!(started.elapsed().as_secs() < 10);
    // Also with the size in base-256, which is never a package file's (SPEC §19: plain octal).
    let archive =
        gzip(&concat(vec![members(&s.files), vec![Part::Bytes(header("pkg/big", b'0', 1 << 40, |_| {}).to_vec())]]));
    s.refused("1 TiB member", &s.write("huge.tar.gz", &archive), "big\": its size field is not plain octal");
    // Files of 60 MiB each: under the file cap, over the total (96 MiB).
    let sixty = concat(vec![
        vec![Part::Bytes(header("pkg/a", b'0', 60 * MIB, |_| {}).to_vec()), Part::Zeros(60 * MIB)],
        vec![Part::Bytes(header("pkg/b", b'0', 60 * MIB, |_| {}).to_vec()), Part::Zeros(60 * MIB)],
    ]);
    let archive = gzip(&concat(vec![members(&s.files), sixty, end()]));
    assert!(archive.len() < 2_000_000, "{}", archive.len());
    s.refused("120 MiB in all", &s.write("total.tar.gz", &archive), "the files are larger than 96 MiB in all");
    // A header that claims little, followed by 100 MiB of zeros: the stream itself
    // is cut off.
    let archive = gzip(&concat(vec![members(&s.files), end(), vec![Part::Zeros(100 * MIB)]]));
    s.refused("100 MiB of zeros", &s.write("zeros.tar.gz", &archive), "more than 97 MiB uncompressed");
    // More members than a package could have.
    let many: Vec<Part> = (0..770).flat_map(|i| member(&format!("pkg/f{i}"), b'0', b"x")).collect();
    let archive = gzip(&concat(vec![many, end()]));
    s.refused("770 files", &s.write("many.tar.gz", &archive), "more than 768 files");
}

#[test]
fn folders_with_links_other_than_regular_files_or_beyond_the_caps_are_refused() {
    let s = setup("folder-hostile");
    let copy = |name: &str| {
        let to = s.dir.join(name);
        support::copy_folder(&s.package, &to);
        to
    };
    // event.json a link to a faithful copy outside: the old reader followed it
    // and found the package VALID.
    let outside = s.dir.join("outside-event.json");
    std::fs::copy(s.package.join("event.json"), &outside).unwrap();
    let linked = copy("linked");
    std::fs::remove_file(linked.join("event.json")).unwrap();
    std::os::unix::fs::symlink(&outside, linked.join("event.json")).unwrap();
    s.refused("a link", &linked, "event.json is a symbolic link");
    let dangling = copy("dangling");
    std::os::unix::fs::symlink("/nonexistent", dangling.join("extra.json")).unwrap();
    s.refused("a dangling link", &dangling, "extra.json is a symbolic link");
    let folder = copy("subfolder");
    std::fs::create_dir(folder.join("sub")).unwrap();
    s.refused("a subfolder", &folder, "sub is not a regular file");
    let fifo = copy("fifo");
    assert!(Command::new("mkfifo").arg(fifo.join("subject.txt.fifo")).status().unwrap().success());
    s.refused("a FIFO", &fifo, "subject.txt.fifo is not a regular file");
    let odd = copy("odd");
    std::fs::write(odd.join("new\nline"), "x").unwrap();
    s.refused("an odd name", &odd, "is not a plain file name of a package");
    // A 1 GiB file (sparse: it takes no room) is refused before it is read.
    let big = copy("big");
    std::fs::File::create(big.join("event.json")).unwrap().set_len(1 << 30).unwrap();
    s.refused("a 1 GiB file", &big, "event.json is larger than 64 MiB");
    let many = copy("many");
    for i in 0..760 {
        std::fs::write(many.join(format!("f{i}")), "x").unwrap();
    }
    s.refused("more than 768 files", &many, "more than 768 files");
    // A folder beyond the total: two files of 60 MiB (sparse).
    let total = copy("total");
    for name in ["a", "b"] {
        std::fs::File::create(total.join(name)).unwrap().set_len(60 << 20).unwrap();
    }
    s.refused("120 MiB in all", &total, "larger than 96 MiB in all");
}

/// The evidence packages of the shared hostile corpus (testvectors/hostile.json: the
/// core's package with files changed, removed or added), each checked as a folder
/// and as an archive made here: `package verify` answers 0 (valid), 1 (invalid), or 2
/// with a code of the table other than INTERNAL; it never dies of a signal and never
/// takes long.
#[test]
fn the_hostile_corpus_packages_get_a_verdict_or_a_code_of_the_table() {
    use evidentia::json::{ParseOptions, Value, parse_with};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testvectors/hostile.json");
    let corpus =
        parse_with(&std::fs::read(path).unwrap(), &ParseOptions { max_size: 64 << 20, ..Default::default() }).unwrap();
    let b64 = |v: &Value, name: &str| evidentia::encoding::b64_decode(v.get(name).unwrap().as_str().unwrap()).unwrap();
    let text = |v: &Value, name: &str| v.get(name).unwrap().as_str().unwrap().to_owned();
    let base: Vec<(String, Vec<u8>)> = corpus
        .get("context")
        .and_then(|c| c.get("package"))
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|f| (text(f, "name"), b64(f, "bytes")))
        .collect();
    let codes: Vec<&str> =
        evidentia::ErrorCode::ALL.iter().filter(|c| **c != evidentia::ErrorCode::Internal).map(|c| c.name()).collect();
    let work = Workdir::new("hostile-corpus");
    let check = |what: &str, target: &Path| {
        let started = std::time::Instant::now();
        let out = evidentia(&work.0, &["package", "verify", target.to_str().unwrap()]);
        let stderr = support::text(&out.stderr);
        assert!(started.elapsed().as_secs() < 20, "{what}: took {:?}", started.elapsed());
        match out.status.code() {
            Some(0 | 1) => {}
            Some(2) => assert!(
                codes.iter().any(|c| stderr.contains(&format!("[{c}]"))),
                "{what}: exit 2 without a code of the table: {stderr}"
            ),
            other => panic!("{what}: exit {other:?}: {stderr}"),
        }
    };
    let cases: Vec<&Value> = corpus
        .get("cases")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .filter(|c| c.get("kind").and_then(Value::as_str) == Some("package"))
        .collect();
    assert!(cases.len() > 100);
    for (i, case) in cases.iter().enumerate() {
        let name = text(case, "name");
        let mut files = base.clone();
        for change in case.get("files").and_then(Value::as_array).unwrap() {
            let file = text(change, "name");
            files.retain(|(n, _)| *n != file);
            if change.get("input").is_some() {
                files.push((file, b64(change, "input")));
            }
        }
        let folder = work.0.join(format!("package-{i}"));
        std::fs::create_dir(&folder).unwrap();
        for (file, bytes) in &files {
            std::fs::write(folder.join(file), bytes).unwrap();
        }
        check(&format!("{name} (folder)"), &folder);
        let archive = work.0.join(format!("package-{i}.tar.gz"));
        std::fs::write(&archive, gzip(&concat(vec![members(&files), end()]))).unwrap();
        check(&format!("{name} (archive)"), &archive);
        std::fs::remove_dir_all(&folder).unwrap();
        std::fs::remove_file(&archive).unwrap();
    }
}
