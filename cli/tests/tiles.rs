//! `log publish`: a log as C2SP tlog-tiles (SPEC §24), read back by Go's reference
//! implementation of the tiled tree (golang.org/x/mod/sumdb/tlog,
//! tests/tlog-tiles-go), verified from its folder and over HTTP, and watched by
//! `log monitor`, which catches a forked and a truncated publication.
//!
//! Go is required when `EVIDENTIA_REQUIRE_GO` is set (as `cargo xtask test` does).
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use evidentia::json::{Value, parse};
use support::{Workdir, copy_folder, evidentia, go_program, text};

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = evidentia(dir, args);
    assert!(out.status.success(), "evidentia {args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

fn failed(out: &Output, exit: i32, code: &str) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(exit), "{all}");
    assert!(all.contains(code), "{code} not in: {all}");
}

/// Appends `count` events tagged `tag` and signs a checkpoint.
fn append(dir: &Path, log: &str, tag: &str, count: usize) {
    let lines: String = (0..count).map(|i| format!("{{\"{tag}\":{i}}}\n")).collect();
    std::fs::write(dir.join("events.jsonl"), lines).unwrap();
    ok(dir, &["log", "append", log, "--batch", "events.jsonl"]);
    ok(dir, &["log", "checkpoint", log]);
}

/// A log `L` with a note key and its key set in `pub.jwks`; returns the note vkey.
fn new_log(dir: &Path, mode: &str) -> String {
    ok(dir, &["keygen", "--out", "log.jwk"]);
    ok(dir, &["log", "init", "L", "--key", "log.jwk", "--id", "example.com/tiles", "--mode", mode]);
    std::fs::copy(dir.join("L/keys.jwks"), dir.join("pub.jwks")).unwrap();
    ok(dir, &["log", "note-key", "L", "--key", "note.pem", "--generate"]).trim().to_owned()
}

fn publish(dir: &Path, log: &str, to: &str) -> Value {
    parse(ok(dir, &["--json", "log", "publish", log, "--to", to]).as_bytes()).unwrap()
}

fn number(value: &Value, name: &str) -> u64 {
    value.get(name).and_then(Value::as_number).and_then(|n| n.as_safe_u64()).unwrap()
}

fn verify(dir: &Path, source: &str) -> Output {
    evidentia(dir, &["log", "verify", source, "--jwks", "pub.jwks"])
}

/// Every file below `dir` with its inode and modification time.
fn files(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                folders.push(path);
            } else {
                use std::os::unix::fs::MetadataExt;
                found.push((path.strip_prefix(dir).unwrap().to_path_buf(), meta.ino(), meta.modified().unwrap()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_publication_has_the_spec_layout_grows_without_rewriting_and_go_reads_it() {
    let work = Workdir::new("tiles-publish");
    let dir = &work.0;
    let vkey = new_log(dir, "batch");
    append(dir, "L", "a", 600);
    let first = publish(dir, "L", "P");
    assert_eq!((number(&first, "size"), number(&first, "previous_size"), number(&first, "files_written")), (600, 0, 7));
    let names: Vec<String> = files(&dir.join("P")).into_iter().map(|f| f.0.display().to_string()).collect();
    assert_eq!(
        names,
        [
            ".lock",
            "checkpoint",
            "tile/0/000",
            "tile/0/001",
            "tile/0/002.p/88",
            "tile/1/000.p/2",
            "tile/entries/000",
            "tile/entries/001",
            "tile/entries/002.p/88"
        ]
    );
    assert_eq!(std::fs::read(dir.join("P/tile/0/000")).unwrap().len(), 8192);
    // The published checkpoint is the log's newest, with its Ed25519 line.
    let checkpoint = std::fs::read_to_string(dir.join("P/checkpoint")).unwrap();
    assert_eq!(checkpoint, ok(dir, &["log", "checkpoint", "L"]));
    assert!(text(&verify(dir, "P").stdout).starts_with("VALID: log of 600 records"));

    // Publishing again writes nothing; after appends, only what is new.
    let before = files(&dir.join("P"));
    assert_eq!(number(&publish(dir, "L", "P"), "files_written"), 0);
    append(dir, "L", "b", 70_000 - 600);
    let second = publish(dir, "L", "P");
    assert_eq!((number(&second, "size"), number(&second, "previous_size")), (70_000, 600));
    let after = files(&dir.join("P"));
    let replaced = [Path::new("checkpoint"), Path::new(".lock")];
    for full in before.iter().filter(|f| !f.0.to_str().unwrap().contains(".p/") && !replaced.contains(&f.0.as_path())) {
        assert!(after.contains(full), "{} was written again", full.0.display());
    }
    // 70,000 records: 273 full level-0 tiles and bundles and a partial one of
    // 112, a full and a partial (17) level-1 tile, a level-2 tile of 1.
    let count = |prefix: &str, partial: bool| {
        after.iter().filter(|f| f.0.starts_with(prefix) && f.0.to_str().unwrap().contains(".p/") == partial).count()
    };
    assert_eq!((count("tile/0", false), count("tile/entries", false), count("tile/1", false)), (273, 273, 1));
    for partial in ["tile/0/273.p/112", "tile/entries/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"] {
        assert!(dir.join("P").join(partial).is_file(), "{partial}");
    }
    assert!(text(&verify(dir, "P").stdout).starts_with("VALID: log of 70000 records"));
    // Proofs read from the tiles are the log's own.
    for (index, size) in [("0", None), ("255", Some("256")), ("256", None), ("12345", Some("65537")), ("69999", None)] {
        let mut args = vec!["log", "prove", "P", "--index", index];
        args.extend(size.map(|size| ["--size", size]).into_iter().flatten());
        let from_tiles = ok(dir, &args);
        args[2] = "L";
        assert_eq!(from_tiles, ok(dir, &args), "{args:?}");
    }
    for (from, to) in [("600", None), ("1", Some("257")), ("65536", Some("69999"))] {
        let mut args = vec!["log", "consistency", "P", "--from", from];
        args.extend(to.map(|to| ["--to", to]).into_iter().flatten());
        let from_tiles = ok(dir, &args);
        args[2] = "L";
        assert_eq!(from_tiles, ok(dir, &args), "{args:?}");
    }
    failed(&evidentia(dir, &["log", "prove", "P", "--index", "70000"]), 2, "PROOF_MALFORMED");

    let Some(checker) = go_program("tlog-tiles-go") else { return };
    let out = Command::new(&checker).arg(&vkey).arg(dir.join("P")).output().unwrap();
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).starts_with("verified: 70000 entries"), "{}", text(&out.stdout));
    // Go finds a changed hash in a tile too.
    let tile = dir.join("P/tile/0/005");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&tile, &bytes).unwrap();
    assert!(!Command::new(&checker).arg(&vkey).arg(dir.join("P")).output().unwrap().status.success());
}

#[test]
fn verification_finds_every_kind_of_damage_to_a_publication() {
    let work = Workdir::new("tiles-damage");
    let dir = &work.0;
    new_log(dir, "batch");
    append(dir, "L", "n", 300);
    publish(dir, "L", "P");
    assert_eq!(verify(dir, "P").status.code(), Some(0));
    let damaged = |name: &str, change: &dyn Fn(&Path)| {
        copy_folder(&dir.join("P"), &dir.join(name));
        change(&dir.join(name));
        verify(dir, name)
    };
    let flip = |file: &'static str, at: usize| {
        move |p: &Path| {
            let mut bytes = std::fs::read(p.join(file)).unwrap();
            bytes[at] ^= 1;
            std::fs::write(p.join(file), bytes).unwrap();
        }
    };
    // A changed record: its own check, the chain after it, the tree and the checkpoint.
    failed(&damaged("record", &flip("tile/entries/000", 40)), 1, "CHECKPOINT_MISMATCH");
    // A changed hash in a level-0 tile, or in the level-1 tile.
    failed(&damaged("leaf", &flip("tile/0/000", 3)), 1, "TREE_MISMATCH");
    failed(&damaged("node", &flip("tile/1/000.p/1", 0)), 1, "TREE_MISMATCH");
    // A changed checkpoint signature.
    let forged = |p: &Path| {
        let note = std::fs::read_to_string(p.join("checkpoint")).unwrap();
        let (body, signatures) = note.split_once("\n\n").unwrap();
        let first = signatures.lines().next().unwrap();
        let (head, signature) = first.rsplit_once(' ').unwrap();
        let mut raw = evidentia::encoding::b64_decode(signature).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let changed = format!("{head} {}", evidentia::encoding::b64(&raw));
        std::fs::write(p.join("checkpoint"), format!("{body}\n\n{}", signatures.replacen(first, &changed, 1))).unwrap();
    };
    failed(&damaged("signature", &forged), 1, "CHECKPOINT_SIGNATURE_INVALID");
    // A checkpoint no trusted key signed is not followed, whatever size it claims.
    let huge = |p: &Path| {
        let note = std::fs::read_to_string(p.join("checkpoint")).unwrap();
        std::fs::write(p.join("checkpoint"), note.replacen("\n300\n", "\n1099511627776\n", 1)).unwrap();
    };
    failed(&damaged("huge", &huge), 1, "CHECKPOINT_SIGNATURE_INVALID");
    // Missing or cut files cannot be read as a publication at all.
    failed(&damaged("no-tile", &|p| std::fs::remove_file(p.join("tile/0/001.p/44")).unwrap()), 2, "LOG_CORRUPT");
    let cut = |p: &Path| {
        let bundle = p.join("tile/entries/001.p/44");
        let bytes = std::fs::read(&bundle).unwrap();
        std::fs::write(&bundle, &bytes[..bytes.len() - 1]).unwrap();
    };
    failed(&damaged("cut-bundle", &cut), 2, "LOG_CORRUPT");
    // A publication that lost its checkpoint is still one, and unreadable.
    failed(&damaged("no-checkpoint", &|p| std::fs::remove_file(p.join("checkpoint")).unwrap()), 2, "LOG_CORRUPT");
    // A publication carries no keys.
    failed(&evidentia(dir, &["log", "verify", "P"]), 2, "--jwks");
}

#[test]
fn tiles_come_from_the_records_and_carry_the_note_key_signed_later() {
    let work = Workdir::new("tiles-records");
    let dir = &work.0;
    ok(dir, &["keygen", "--out", "log.jwk"]);
    ok(dir, &["log", "init", "L", "--key", "log.jwk", "--id", "example.com/tiles", "--mode", "batch"]);
    std::fs::copy(dir.join("L/keys.jwks"), dir.join("pub.jwks")).unwrap();
    append(dir, "L", "n", 600);
    let unsigned = publish(dir, "L", "P");
    assert_eq!(unsigned.get("note_signed"), Some(&Value::Bool(false)));
    // The checkpoint was signed before the log had a note key: published with that
    // key's line all the same, as `log checkpoint` serves it.
    let vkey = ok(dir, &["log", "note-key", "L", "--key", "note.pem", "--generate"]).trim().to_owned();
    assert_eq!(publish(dir, "L", "P").get("note_signed"), Some(&Value::Bool(true)));
    assert_eq!(std::fs::read_to_string(dir.join("P/checkpoint")).unwrap(), ok(dir, &["log", "checkpoint", "L"]));
    // A damaged tree file (node (8, 0), the first hash of tile 1/000) changes no
    // tile: they are made from the records.
    copy_folder(&dir.join("L"), &dir.join("damaged"));
    let tree = dir.join("damaged/tree");
    let mut bytes = std::fs::read(&tree).unwrap();
    bytes[510 * 32] ^= 1;
    std::fs::write(&tree, bytes).unwrap();
    publish(dir, "damaged", "D");
    for file in ["tile/1/000.p/2", "tile/0/000", "checkpoint"] {
        assert_eq!(std::fs::read(dir.join("D").join(file)).unwrap(), std::fs::read(dir.join("P").join(file)).unwrap());
    }
    assert_eq!(verify(dir, "D").status.code(), Some(0));
    if let Some(checker) = go_program("tlog-tiles-go") {
        let out = Command::new(&checker).arg(&vkey).arg(dir.join("P")).output().unwrap();
        assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    }
    // A published tile changed since: the next publication stops before writing
    // any tile above level 0 or the checkpoint, and goes on once it is repaired.
    let tile = dir.join("P/tile/0/000");
    let good = std::fs::read(&tile).unwrap();
    let mut bad = good.clone();
    bad[5] ^= 1;
    std::fs::write(&tile, &bad).unwrap();
    append(dir, "L", "m", 300);
    failed(&evidentia(dir, &["log", "publish", "L", "--to", "P"]), 2, "LOG_CORRUPT");
    assert!(!dir.join("P/tile/1/000.p/3").exists());
    assert!(std::fs::read_to_string(dir.join("P/checkpoint")).unwrap().contains("\n600\n"));
    std::fs::write(&tile, &good).unwrap();
    assert_eq!(number(&publish(dir, "L", "P"), "size"), 900);
    assert_eq!(verify(dir, "P").status.code(), Some(0));
    // One publisher a folder at a time.
    if let Some(flock) = support::find_program("flock") {
        let mut holder = Command::new(flock).arg(dir.join("P/.lock")).args(["sleep", "30"]).spawn().unwrap();
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_secs(10) {
            let out = evidentia(dir, &["log", "publish", "L", "--to", "P"]);
            if !out.status.success() {
                failed(&out, 2, "LOG_LOCKED");
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        holder.kill().unwrap();
        holder.wait().unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the lock was never seen");
    }
}

#[test]
fn publishing_refuses_another_history_or_log_and_a_log_without_a_checkpoint() {
    let work = Workdir::new("tiles-refuse");
    let dir = &work.0;
    new_log(dir, "receipts");
    copy_folder(&dir.join("L"), &dir.join("fork"));
    append(dir, "L", "n", 10);
    append(dir, "fork", "other", 10);
    publish(dir, "L", "P");
    let before = files(&dir.join("P"));
    // Another history of the same log (same id, same key) is refused as a failed
    // verification (exit 1), and nothing changes.
    failed(&evidentia(dir, &["log", "publish", "fork", "--to", "P"]), 1, "CHECKPOINT_MISMATCH");
    assert_eq!(files(&dir.join("P")), before);
    // Another log, and an older state of this one.
    ok(dir, &["log", "init", "other", "--key", "log.jwk", "--id", "example.com/other"]);
    append(dir, "other", "n", 1);
    failed(&evidentia(dir, &["log", "publish", "other", "--to", "P"]), 2, "example.com/tiles");
    copy_folder(&dir.join("L"), &dir.join("older"));
    append(dir, "L", "n", 1);
    publish(dir, "L", "P");
    failed(&evidentia(dir, &["log", "publish", "older", "--to", "P"]), 2, "newer");
    // A log with no checkpoint yet.
    ok(dir, &["log", "init", "empty", "--key", "log.jwk", "--id", "example.com/empty"]);
    failed(&evidentia(dir, &["log", "publish", "empty", "--to", "E"]), 2, "log checkpoint");
}

fn gzip(file: &Path) -> Vec<u8> {
    let out = Command::new("gzip").arg("-c").arg(file).output().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// A static web server for `root` on a local port, as any would serve a
/// publication (entry bundles gzip-encoded); answers until the test process ends.
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = String::new();
            if BufReader::new(&stream).read_line(&mut request).is_err() {
                continue;
            }
            let path = request.split(' ').nth(1).unwrap_or("/").trim_start_matches("/log/").to_owned();
            let answer = match std::fs::read(root.join(&path)) {
                Ok(body) if !path.contains("..") => {
                    // Entry bundles compressed with no negotiation, as the spec allows.
                    let (body, encoding) = match path.starts_with("tile/entries/") {
                        true => (gzip(&root.join(&path)), "Content-Encoding: gzip\r\n"),
                        false => (body, ""),
                    };
                    let mut answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n{encoding}Connection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    answer.extend_from_slice(&body);
                    answer
                }
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&answer);
        }
    });
    format!("http://{address}/log")
}

/// One monitor round with `--json`: the round and the exit code.
fn round(dir: &Path, source: &str) -> (Value, i32) {
    let out = evidentia(dir, &["--json", "log", "monitor", source, "--jwks", "pub.jwks", "--state", "state.json"]);
    let value = parse(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    (value, out.status.code().unwrap())
}

fn kinds(round: &Value) -> Vec<String> {
    let findings = round.get("findings").and_then(Value::as_array).unwrap();
    findings.iter().map(|f| f.get("kind").and_then(Value::as_str).unwrap().to_owned()).collect()
}

#[test]
fn the_monitor_follows_a_publication_over_http_and_catches_a_fork_and_a_truncation() {
    let work = Workdir::new("tiles-monitor");
    let dir = &work.0;
    new_log(dir, "receipts");
    append(dir, "L", "n", 300);
    copy_folder(&dir.join("L"), &dir.join("fork"));
    copy_folder(&dir.join("L"), &dir.join("older"));
    publish(dir, "L", "P");
    let url = serve(dir.join("served"));
    let served = |from: &str| {
        let _ = std::fs::remove_dir_all(dir.join("served"));
        copy_folder(&dir.join(from), &dir.join("served"));
    };
    served("P");
    assert!(text(&verify(dir, &url).stdout).starts_with("VALID: log of 300 records"));
    let (first, code) = round(dir, &url);
    assert_eq!((code, number(&first, "now_trusted_size")), (0, 300), "{first:?}");

    append(dir, "L", "n", 20);
    publish(dir, "L", "P");
    served("P");
    let (next, code) = round(dir, &url);
    assert_eq!((code, number(&next, "trusted_size"), number(&next, "now_trusted_size")), (0, 300, 320));

    // Another history under the same id and key, longer than the trusted one.
    append(dir, "fork", "other", 40);
    publish(dir, "fork", "F");
    served("F");
    let (forked, code) = round(dir, &url);
    assert_eq!((code, kinds(&forked)), (1, vec!["split_view".to_owned()]), "{forked:?}");
    // An older publication of the log itself.
    append(dir, "older", "n", 1);
    publish(dir, "older", "O");
    served("O");
    let (truncated, code) = round(dir, &url);
    assert_eq!((code, kinds(&truncated)), (1, vec!["truncated".to_owned(), "rollback".to_owned()]), "{truncated:?}");
    // A checkpoint no trusted key signed.
    ok(dir, &["keygen", "--out", "other.jwk"]);
    ok(dir, &["log", "init", "impostor", "--key", "other.jwk", "--id", "example.com/tiles"]);
    append(dir, "impostor", "n", 400);
    publish(dir, "impostor", "I");
    served("I");
    let (untrusted, code) = round(dir, &url);
    assert_eq!((code, kinds(&untrusted)), (1, vec!["checkpoint_untrusted".to_owned()]), "{untrusted:?}");
    // The trust stayed with the genuine publication; in a folder too.
    assert_eq!(round(dir, "P").1, 0);
    let (missing, code) = round(dir, "O/nothing");
    assert_eq!(code, 1, "{missing:?}");
    assert_eq!(kinds(&missing), ["unreadable"]);
}
