//! `evidentia keygen --out F` leaves a private key readable by its owner only
//! (0600), also with `--force` over a file that was readable by others, and
//! replaces a link at F rather than writing through it.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

mod support;

use support::{Workdir, evidentia, text};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Names in `dir` other than those given.
fn others(dir: &Path, known: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !known.contains(&n.as_str()))
        .collect()
}

#[test]
fn keygen_force_leaves_the_key_readable_by_its_owner_only() {
    let work = Workdir::new("keygen-mode");
    let dir = &work.0;
    for previous in [0o644, 0o666, 0o600, 0o400, 0o000] {
        let key = dir.join(format!("key-{previous:o}.jwk"));
        std::fs::write(&key, b"an old key").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(previous)).unwrap();
        let out = evidentia(dir, &["keygen", "--out", key.to_str().unwrap(), "--force"]);
        assert!(out.status.success(), "{previous:o}: {}", text(&out.stderr));
        assert_eq!(mode(&key), 0o600, "over a file of mode {previous:o}");
        let written = std::fs::read_to_string(&key).unwrap();
        assert!(written.contains("\"d\":") && written.ends_with("}\n"), "{written}");
    }
    // A link at the path is replaced, not followed: its target keeps its content.
    let target = dir.join("target.txt");
    std::fs::write(&target, b"not a key").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.join("linked.jwk");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = evidentia(dir, &["keygen", "--out", "linked.jwk", "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
    assert_eq!(mode(&link), 0o600);
    assert_eq!(std::fs::read(&target).unwrap(), b"not a key");
    // Without --force an existing file is refused and left as it was.
    let out = evidentia(dir, &["keygen", "--out", "linked.jwk"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("pass --force"), "{}", text(&out.stderr));
    // A new key is 0600 too.
    let out = evidentia(dir, &["keygen", "--out", "new.jwk"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(mode(&dir.join("new.jwk")), 0o600);
    // No temporary file is left behind.
    let mut names = others(dir, &[]);
    names.sort();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}
