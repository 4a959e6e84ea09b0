//! `log archive`: sealed segment files move to an archive folder; the log reads and
//! verifies across both parts, newer records stay provable and appends go on
//! without the archive, and a missing or changed archive is an error or a finding,
//! never a silent gap.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;

use support::{Workdir, evidentia, text};

/// Appends `n` events of about 1 MiB each, numbered from `from`.
fn append_large(dir: &Path, from: usize, n: usize) {
    let pad = "x".repeat(1 << 20);
    let lines: String = (from..from + n).map(|i| format!("{{\"n\":{i},\"pad\":\"{pad}\"}}\n")).collect();
    std::fs::write(dir.join("large.jsonl"), lines).unwrap();
    let out = evidentia(dir, &["log", "append", "log", "--batch", "large.jsonl"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn verify(dir: &Path) -> (i32, String) {
    let out = evidentia(dir, &["log", "verify", "log", "--jwks", "pub.jwk"]);
    (out.status.code().unwrap(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn archived_segments_are_read_from_the_archive_and_missed_when_gone() {
    let work = Workdir::new("archive");
    let dir = &work.0;
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    std::fs::write(dir.join("pub.jwk"), evidentia(dir, &["pubkey", "key.jwk"]).stdout).unwrap();
    assert!(
        evidentia(dir, &["log", "init", "log", "--key", "key.jwk", "--id", "example.com/archive"]).status.success()
    );
    append_large(dir, 0, 65);
    append_large(dir, 65, 1);
    let segments = dir.join("log").join("segments");
    assert_eq!(files(&segments).len(), 2, "a segment of 64 MiB is full: the next append starts another");

    let out = evidentia(dir, &["--json", "log", "archive", "log", "--to", "archive"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"archived_segments\":1"), "{}", text(&out.stdout));
    // 64 or 65 events of 1 MiB fill the first segment, by the lengths of their
    // salted frames and records' times; the one named by the next record holds the rest.
    let remaining = files(&segments);
    assert_eq!(remaining.len(), 1, "{remaining:?}");
    let first: u64 = remaining[0].trim_end_matches(".seg").parse().unwrap();
    assert!((64..=65).contains(&first) && remaining[0].len() == 24, "{remaining:?}");
    assert_eq!(files(&dir.join("archive")), ["00000000000000000000.seg"]);
    // Archiving again moves nothing more: the last segment is still being written.
    let out = evidentia(dir, &["--json", "log", "archive", "log", "--to", "archive"]);
    assert!(text(&out.stdout).contains("\"archived_segments\":0"), "{}", text(&out.stdout));
    let out = evidentia(dir, &["log", "archive", "log", "--to", "elsewhere"]);
    assert_eq!(out.status.code(), Some(2), "one archive folder a log");

    // Both parts are read and verified; records in the archive are read from it.
    let (code, report) = verify(dir);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("VALID: log of 66 records"), "{report}");
    assert!(evidentia(dir, &["log", "receipt", "log", "--index", "3"]).status.success());

    // Without the archive: appends go on and newer records stay provable, but a
    // verification that needs the archive fails and says why.
    std::fs::rename(dir.join("archive"), dir.join("archive-away")).unwrap();
    std::fs::write(dir.join("event.json"), "{\"n\":66}").unwrap();
    assert!(evidentia(dir, &["log", "append", "log", "event.json"]).status.success());
    assert!(evidentia(dir, &["log", "checkpoint", "log"]).status.success());
    let out = evidentia(dir, &["log", "prove", "log", "--index", "66"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (code, report) = verify(dir);
    assert_eq!(code, 2, "{report}");
    assert!(report.contains("the archive is missing or was moved") && report.contains("[LOG_CORRUPT]"), "{report}");
    let out = evidentia(dir, &["log", "receipt", "log", "--index", "3"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    // A changed archive file is found: by its size, or by the records in it.
    std::fs::rename(dir.join("archive-away"), dir.join("archive")).unwrap();
    assert_eq!(verify(dir).0, 0);
    let archived = dir.join("archive").join("00000000000000000000.seg");
    let mut bytes = std::fs::read(&archived).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&archived, &bytes).unwrap();
    let (code, report) = verify(dir);
    assert_eq!(code, 1, "{report}");
    bytes.push(0);
    std::fs::write(&archived, &bytes).unwrap();
    let (code, report) = verify(dir);
    assert_eq!(code, 2, "{report}");
    assert!(report.contains("the archive was changed"), "{report}");
}

#[test]
fn an_archive_folder_is_one_logs_and_an_interrupted_archiving_is_finished_not_lost() {
    let work = Workdir::new("archive-shared");
    let dir = &work.0;
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    std::fs::write(dir.join("pub.jwk"), evidentia(dir, &["pubkey", "key.jwk"]).stdout).unwrap();
    assert!(evidentia(dir, &["log", "init", "log", "--key", "key.jwk", "--id", "example.com/a"]).status.success());
    append_large(dir, 0, 65);
    append_large(dir, 65, 1);
    // A folder inside the log is refused before it is made: in segments/ and named
    // like a segment, it would pass for the last one.
    for inside in ["log/segments/00000000000000000999.seg", "log/old", "log/../log/segments"] {
        let out = evidentia(dir, &["log", "archive", "log", "--to", inside]);
        assert_eq!(out.status.code(), Some(2), "{inside}: {}", text(&out.stderr));
        assert!(!dir.join(inside).exists() || inside.ends_with("segments"), "{inside}");
    }
    assert_eq!(verify(dir).0, 0);
    // Another log's segment of the same name is in the folder: never overwritten.
    std::fs::create_dir(dir.join("shared")).unwrap();
    std::fs::write(dir.join("shared").join("00000000000000000000.seg"), b"another log's segment").unwrap();
    let out = evidentia(dir, &["log", "archive", "log", "--to", "shared"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("a folder of its own"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(dir.join("shared").join("00000000000000000000.seg")).unwrap(), b"another log's segment");
    assert_eq!(verify(dir).0, 0);

    // An archiving stopped after listing the segment, and its copy was lost since:
    // the next one copies it again before the log lets go of it.
    let segment = dir.join("log").join("segments").join("00000000000000000000.seg");
    let bytes = std::fs::read(&segment).unwrap();
    let archive = dir.join("archive");
    std::fs::create_dir(&archive).unwrap();
    let manifest = format!(
        "{{\"dir\":\"{}\",\"segments\":[{{\"name\":\"00000000000000000000.seg\",\"sha256\":\"{}\",\"size\":{}}}]}}",
        archive.display(),
        evidentia::Digest::sha256(&bytes),
        bytes.len()
    );
    std::fs::write(dir.join("log").join("archive.json"), manifest).unwrap();
    assert_eq!(verify(dir).0, 0, "a segment both listed and in the log is read from the log");
    let out = evidentia(dir, &["log", "archive", "log", "--to", "archive"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(archive.join("00000000000000000000.seg")).unwrap(), bytes);
    assert!(!segment.exists());
    assert_eq!(verify(dir).0, 0);
}
