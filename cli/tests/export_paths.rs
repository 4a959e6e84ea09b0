//! `evidentia export --out OUT` writes the folder OUT and the archive
//! `OUT.tar.gz`, appending the suffix (never replacing an extension, so
//! `--out d/name.v2` leaves an unrelated `d/name.tar.gz` alone), and refuses,
//! writing nothing, when either exists.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

mod support;

use support::{Workdir, evidentia, export_package, text};

/// Names in `dir` other than those given.
fn others(dir: &Path, known: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !known.contains(&n.as_str()))
        .collect()
}

#[test]
fn export_appends_tar_gz_and_never_replaces_an_existing_folder_or_archive() {
    let work = Workdir::new("export-paths");
    let dir = &work.0;
    export_package(dir);
    let export = |out: &str| evidentia(dir, &["export", "log", "--index", "3", "--out", out]);

    // An unrelated archive that `with_extension` would have overwritten.
    std::fs::create_dir(dir.join("d")).unwrap();
    std::fs::write(dir.join("d/name.tar.gz"), b"unrelated").unwrap();
    let out = export("d/name.v2");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::read(dir.join("d/name.tar.gz")).unwrap() == b"unrelated", "d/name.tar.gz was overwritten");
    assert!(dir.join("d/name.v2/verify.sh").is_file());
    assert!(text(&out.stderr).contains("d/name.v2.tar.gz"), "{}", text(&out.stderr));
    let verified = evidentia(dir, &["package", "verify", "d/name.v2.tar.gz"]);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified.stdout));

    // A folder given with a trailing slash: its archive is beside it.
    let out = export("d/slash/");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.join("d/slash.tar.gz").is_file() && dir.join("d/slash/verify.sh").is_file());

    // The archive exists, or the folder does: refused, and nothing written.
    std::fs::write(dir.join("d/taken.tar.gz"), b"someone's").unwrap();
    let out = export("d/taken");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("d/taken.tar.gz exists"), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("[INVALID_ARGUMENT]"), "{}", text(&out.stderr));
    assert!(!dir.join("d/taken").exists());
    assert!(std::fs::read(dir.join("d/taken.tar.gz")).unwrap() == b"someone's", "d/taken.tar.gz was overwritten");
    std::fs::create_dir(dir.join("d/folder")).unwrap();
    let out = export("d/folder");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("d/folder exists"), "{}", text(&out.stderr));
    assert!(!dir.join("d/folder.tar.gz").exists());
    assert_eq!(std::fs::read_dir(dir.join("d/folder")).unwrap().count(), 0);
    // A dangling link in the way counts as existing.
    std::os::unix::fs::symlink("/nonexistent/evidentia", dir.join("d/link.tar.gz")).unwrap();
    let out = export("d/link");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!dir.join("d/link").exists());

    // A folder name too long for a plain ustar archive is refused before anything
    // is written; one that fits gives an archive that verifies.
    let long = "n".repeat(156);
    let out = export(&format!("d/{long}"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("at most 155 bytes"), "{}", text(&out.stderr));
    assert!(!dir.join("d").join(&long).exists());
    let fits = "f".repeat(155);
    let out = export(&format!("d/{fits}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let verified = evidentia(dir, &["package", "verify", &format!("d/{fits}.tar.gz")]);
    assert_eq!(verified.status.code(), Some(0), "{}{}", text(&verified.stdout), text(&verified.stderr));

    // Nothing else appeared in d.
    let mut rest = others(
        &dir.join("d"),
        &["name.tar.gz", "name.v2", "name.v2.tar.gz", "slash", "slash.tar.gz", "taken.tar.gz", "folder", "link.tar.gz"],
    );
    rest.sort();
    assert_eq!(rest, [fits.clone(), format!("{fits}.tar.gz")]);
}
