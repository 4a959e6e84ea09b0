//! Logs kept in PostgreSQL, against a real PostgreSQL 15 server: each test starts a
//! throwaway cluster of its own (so that one may crash it) and removes it after.
//! Writers are `evidentia log append` processes; after every fault, each
//! acknowledged record is in the log, no sequence number is missing or held
//! twice, and the log verifies.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use evidentia::{Digest, KeySet, Receipt};
use evidentia_store::Entry;
use evidentia_store::pg::PgLog;
use support::{Workdir, evidentia, text};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL cluster in a temporary folder, run as the `postgres` user (the
/// server refuses root), stopped and removed when dropped.
struct Cluster {
    dir: PathBuf,
    port: u16,
    /// More server options (`-c name=value …`).
    options: String,
}

impl Cluster {
    /// A new cluster, or `None` when PostgreSQL 15 is missing and not required
    /// (`EVIDENTIA_REQUIRE_POSTGRES`, which `cargo xtask test` sets).
    fn start(name: &str) -> Option<Cluster> {
        Cluster::start_with(name, |_| String::new())
    }

    /// A new cluster whose server also gets the options `extra` gives for its
    /// folder (made before the server starts, owned by postgres).
    fn start_with(name: &str, extra: impl FnOnce(&Path) -> String) -> Option<Cluster> {
        let usable = Path::new(BIN).join("initdb").exists()
            && Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout == b"0\n");
        if !usable {
            assert!(
                std::env::var_os("EVIDENTIA_REQUIRE_POSTGRES").is_none(),
                "EVIDENTIA_REQUIRE_POSTGRES is set but PostgreSQL 15 (and root, to run it as postgres) is missing"
            );
            eprintln!("skipped: PostgreSQL 15 is not installed, or this is not root");
            return None;
        }
        // Short: a Unix socket's path is limited to about 107 bytes.
        let dir = PathBuf::from(format!("/tmp/evpg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        std::fs::write(dir.join("pwfile"), "superpw\n").unwrap();
        let options = extra(&dir);
        chown_postgres(&dir);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = Cluster { dir, port, options };
        cluster.postgres(&[
            &format!("{BIN}/initdb"),
            "-N",
            "-D",
            &cluster.data(),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            &format!("--pwfile={}/pwfile", cluster.dir.display()),
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]);
        cluster.start_server();
        Some(cluster)
    }

    fn data(&self) -> String {
        format!("{}/data", self.dir.display())
    }

    fn postgres(&self, args: &[&str]) -> Output {
        let out = Command::new("runuser").args(["-u", "postgres", "--"]).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
        out
    }

    fn start_server(&self) {
        // fsync off: a killed server keeps what the OS holds, so acknowledged
        // commits survive `stop -m immediate` (only a power loss would lose them).
        let options = format!(
            "-p {} -k {}/sock -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200 {}",
            self.port,
            self.dir.display(),
            self.options
        );
        let log = format!("{}/server.log", self.dir.display());
        self.postgres(&[&format!("{BIN}/pg_ctl"), "-D", &self.data(), "-l", &log, "-w", "-o", &options, "start"]);
    }

    /// Stops the server as a crash would: no shutdown checkpoint, recovery at start.
    fn crash(&self) {
        self.postgres(&[&format!("{BIN}/pg_ctl"), "-D", &self.data(), "-m", "immediate", "stop"]);
    }

    /// A new database, and its URL.
    fn database(&self, name: &str) -> String {
        self.sql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(name)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres:superpw@127.0.0.1:{}/{database}", self.port)
    }

    fn sql(&self, database: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", &self.url(database), "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "{sql}: {}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{BIN}/pg_ctl"), "-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn chown_postgres(dir: &Path) {
    let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir).status().unwrap();
    assert!(status.success());
}

/// A signing key in `work`, and a log created with it at `url`.
fn init(work: &Path, url: &str, mode: &str) -> PathBuf {
    let key = work.join("key.jwk");
    if !key.exists() {
        assert!(evidentia(work, &["keygen", "--out", key.to_str().unwrap()]).status.success());
    }
    let out = evidentia(work, &["log", "init", url, "--key", key.to_str().unwrap(), "--mode", mode]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    key
}

/// An `evidentia log append ARGS…` process in `cwd`, given `event` on its
/// standard input (ARGS name `-` for it).
fn spawn_log_append(cwd: &Path, args: &[&str], event: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_evidentia"))
        .args(["log", "append"])
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), event.as_bytes()).unwrap();
    drop(child.stdin.take());
    child
}

/// A writer process appending `event` under `nonce`.
fn spawn_append(url: &str, key: &Path, event: &str, nonce: &str) -> Child {
    spawn_log_append(Path::new("."), &[url, "-", "--key", key.to_str().unwrap(), "--nonce", nonce], event)
}

/// The receipts of the appends that were acknowledged (exit 0, a receipt printed).
fn acknowledged(children: Vec<Child>) -> Vec<String> {
    children
        .into_iter()
        .filter_map(|child| {
            let out = child.wait_with_output().unwrap();
            out.status.success().then(|| text(&out.stdout).trim().to_owned())
        })
        .collect()
}

/// Every acknowledged receipt is the stored entry at its sequence number, the
/// numbers run 0..n with none twice, and the log verifies.
fn assert_intact(work: &Path, url: &str, receipts: &[String]) -> u64 {
    let log = PgLog::open(url).unwrap();
    let len = log.len().unwrap();
    let mut seen = std::collections::HashSet::new();
    for receipt in receipts {
        let seq = Receipt::parse(receipt).unwrap().record().seq;
        assert!(seq < len, "acknowledged record {seq} is beyond the log's {len}");
        assert!(seen.insert(seq), "two acknowledgements of record {seq}");
        let stored = match log.entry(seq).unwrap() {
            Entry::Receipt { receipt, .. } => receipt,
            Entry::Record { .. } => panic!("a record in a log of receipts"),
        };
        assert_eq!(&stored, receipt, "record {seq} is not the one acknowledged");
    }
    let out = evidentia(work, &["log", "verify", url, "--json"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("\"valid\":true"), "{}", text(&out.stdout));
    len
}

#[test]
fn many_writer_processes_append_gap_free_and_the_log_verifies() {
    let Some(cluster) = Cluster::start("writers") else { return };
    let work = Workdir::new("pg-writers");
    let url = cluster.database("writers");
    let key = init(&work.0, &url, "receipts");
    let mut receipts = Vec::new();
    for round in 0..4 {
        let writers: Vec<Child> = (0..16)
            .map(|w| {
                spawn_append(&url, &key, &format!("{{\"writer\":{w},\"round\":{round}}}"), &format!("w{w}-r{round}"))
            })
            .collect();
        let acked = acknowledged(writers);
        assert_eq!(acked.len(), 16, "every writer appends");
        receipts.extend(acked);
    }
    assert_eq!(assert_intact(&work.0, &url, &receipts), 64);
    // The proofs come from the database's nodes and check against a checkpoint.
    let out = evidentia(&work.0, &["log", "checkpoint", &url, "--key", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let proof = evidentia(&work.0, &["log", "prove", &url, "--index", "37"]);
    assert!(proof.status.success(), "{}", text(&proof.stderr));
    assert!(text(&proof.stdout).contains("\"tree_size\":64"));
}

#[test]
fn writers_racing_with_one_nonce_make_one_record() {
    let Some(cluster) = Cluster::start("nonce") else { return };
    let work = Workdir::new("pg-nonce");
    let url = cluster.database("nonce");
    let key = init(&work.0, &url, "receipts");
    for round in 0..3 {
        let nonce = format!("request-{round}");
        let racers: Vec<Child> =
            (0..8).map(|w| spawn_append(&url, &key, &format!("{{\"racer\":{w}}}"), &nonce)).collect();
        let outputs: Vec<Output> = racers.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
        let won = outputs.iter().filter(|o| o.status.success()).count();
        assert_eq!(won, 1, "exactly one writer of nonce {nonce} appends");
        for lost in outputs.iter().filter(|o| !o.status.success()) {
            assert_eq!(lost.status.code(), Some(2));
            assert!(text(&lost.stderr).contains("NONCE_IN_USE"), "{}", text(&lost.stderr));
        }
    }
    assert_eq!(assert_intact(&work.0, &url, &[]), 3);
}

#[test]
fn a_transaction_rolled_back_leaves_no_record_and_no_gap() {
    let Some(cluster) = Cluster::start("rollback") else { return };
    let work = Workdir::new("pg-rollback");
    let url = cluster.database("rollback");
    let key = init(&work.0, &url, "batch");
    let append = |event: &str, nonce: &str| acknowledged(vec![spawn_append(&url, &key, event, nonce)]);
    assert_eq!(append("{\"n\":0}", "a").len(), 1);
    // The server refuses the entry after the writer inserted it: the whole
    // transaction, head and nodes included, is rolled back.
    cluster.sql(
        "rollback",
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF position(convert_to('refused', 'UTF8') IN NEW.event) > 0 THEN RAISE EXCEPTION 'refused by policy'; END IF; \
         RETURN NEW; END $$; \
         CREATE TRIGGER refuse BEFORE INSERT ON evidentia.entries FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    let refused = spawn_append(&url, &key, "{\"refused\":true}", "b").wait_with_output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("refused by policy"), "{}", text(&refused.stderr));
    let next = append("{\"n\":1}", "c");
    assert_eq!(next.len(), 1);
    assert!(next[0].contains("\"seq\":1"), "the next record takes the number left free: {}", next[0]);
    let log = PgLog::open(&url).unwrap();
    assert_eq!(log.len().unwrap(), 2);
    assert_eq!(log.find_nonce("b").unwrap(), None);
    assert_eq!(log.latest_checkpoint().unwrap().map(|(size, _)| size), Some(2));
    let out = evidentia(&work.0, &["log", "verify", &url, "--json"]);
    assert!(text(&out.stdout).contains("\"valid\":true"), "{}", text(&out.stdout));
}

#[test]
fn killed_writers_a_crashed_server_and_dropped_connections_lose_no_acknowledged_record() {
    let Some(cluster) = Cluster::start("faults") else { return };
    let work = Workdir::new("pg-faults");
    let url = cluster.database("faults");
    let key = init(&work.0, &url, "receipts");
    let (mut receipts, mut failed) = (Vec::new(), 0);
    let mut n = 0;
    let mut batch = |count: usize| -> Vec<Child> {
        (0..count)
            .map(|_| {
                n += 1;
                spawn_append(&url, &key, &format!("{{\"n\":{n}}}"), &format!("n{n}"))
            })
            .collect()
    };
    for round in 0..6u64 {
        let mut writers = batch(12);
        std::thread::sleep(Duration::from_millis(20 + 15 * round));
        match round % 3 {
            // Writer processes killed with SIGKILL, wherever they are.
            0 => {
                for writer in writers.iter_mut().step_by(2) {
                    let _ = writer.kill();
                }
            }
            // Every writer's connection dropped by the server.
            1 => {
                let _ = Command::new("psql")
                    .args([
                        "-X",
                        "-q",
                        &cluster.url("postgres"),
                        "-c",
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'faults'",
                    ])
                    .output();
            }
            // The server stopped as in a crash, and started again.
            _ => {
                cluster.crash();
                cluster.start_server();
            }
        }
        let acked = acknowledged(writers);
        failed += 12 - acked.len();
        receipts.extend(acked);
        let len = assert_intact(&work.0, &url, &receipts);
        assert!(len >= receipts.len() as u64);
    }
    eprintln!("{} appends acknowledged, {failed} cut short by the faults", receipts.len());
    assert!(failed > 0, "no fault struck an append");
    // Writing goes on.
    let more = acknowledged(batch(4));
    assert_eq!(more.len(), 4);
    receipts.extend(more);
    assert_intact(&work.0, &url, &receipts);
}

#[test]
fn a_log_cut_or_changed_in_the_database_does_not_verify() {
    let Some(cluster) = Cluster::start("tamper") else { return };
    let work = Workdir::new("pg-tamper");
    let base = cluster.database("base");
    let key = init(&work.0, &base, "receipts");
    let appended =
        acknowledged((0..10).map(|i| spawn_append(&base, &key, &format!("{{\"n\":{i}}}"), &format!("n{i}"))).collect());
    assert_eq!(assert_intact(&work.0, &base, &appended), 10);
    let cases = [
        // The last record removed, with its nonce: only the head and the tree's
        // nodes still know of it.
        (
            "cut",
            "DELETE FROM evidentia.entries WHERE seq = 9; DELETE FROM evidentia.nonces WHERE seq = 9",
            "records were removed from the end",
        ),
        ("middle", "DELETE FROM evidentia.entries WHERE seq = 2", "SEQUENCE_GAP"),
        (
            "event",
            "UPDATE evidentia.entries SET event = convert_to('{\"n\":99}', 'UTF8') WHERE seq = 4",
            "EVENT_MISMATCH",
        ),
        ("edge", "UPDATE evidentia.log SET peaks = decode(repeat('00', 64), 'hex')", "another tree edge"),
        (
            "node",
            "UPDATE evidentia.nodes SET hash = decode(repeat('11', 32), 'hex') WHERE level = 1 AND idx = 2",
            "TREE_MISMATCH",
        ),
        // The nonce table decides whether a retry appends again: it must match the records.
        ("nonce_gone", "DELETE FROM evidentia.nonces WHERE seq = 3", "a record's nonce is missing"),
        ("nonce_moved", "UPDATE evidentia.nonces SET seq = seq + 1000", "names records the log does not hold"),
        ("nonce_changed", "UPDATE evidentia.nonces SET nonce = 'x' WHERE seq = 5", "names a record with another nonce"),
        // What the schema would refuse, made possible: a finding, never a panic.
        (
            "nulled",
            "ALTER TABLE evidentia.entries ALTER event DROP NOT NULL; UPDATE evidentia.entries SET event = NULL WHERE seq = 4",
            "RECORD_UNREADABLE",
        ),
    ];
    let mut failures = Vec::new();
    for (name, sql, finding) in cases {
        cluster.sql("postgres", &format!("CREATE DATABASE {name} TEMPLATE base"));
        cluster.sql(name, sql);
        let out = evidentia(&work.0, &["log", "verify", &cluster.url(name)]);
        if out.status.code() != Some(1) || !text(&out.stdout).contains(finding) {
            failures.push(format!("{name}: exit {:?}\n{}{}", out.status.code(), text(&out.stdout), text(&out.stderr)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A row the head does not count, in the next append's way: the log was
    // changed (LOG_CORRUPT), not a nonce in use.
    cluster.sql("postgres", "CREATE DATABASE blocked TEMPLATE base");
    cluster.sql("blocked", "INSERT INTO evidentia.nodes VALUES (0, 10, decode(repeat('00', 32), 'hex'))");
    let out = spawn_append(&cluster.url("blocked"), &key, "{\"n\":10}", "n10").wait_with_output().unwrap();
    assert!(text(&out.stderr).contains("LOG_CORRUPT"), "{}", text(&out.stderr));
    // `log checkpoint` gives the checkpoint of the log's records, whatever else is stored.
    cluster.sql("postgres", "CREATE DATABASE stray TEMPLATE base");
    cluster.sql("stray", "INSERT INTO evidentia.checkpoints VALUES (9223372036854775807, 'not a checkpoint')");
    let out = evidentia(&work.0, &["log", "checkpoint", &cluster.url("stray"), "--key", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).lines().nth(1) == Some("10"), "{}", text(&out.stdout));
    // A proof to the latest checkpoint, which claims more records than the log
    // holds, is refused as damage, not as a bad request.
    let out = evidentia(&work.0, &["log", "prove", &cluster.url("stray"), "--index", "0"]);
    assert!(text(&out.stderr).contains("LOG_CORRUPT"), "{}", text(&out.stderr));
    // So is a package, whose checkpoints are all read.
    let out = evidentia(&work.0, &["export", &cluster.url("stray"), "--index", "0", "--out", "stray"]);
    assert!(
        text(&out.stderr).contains("a checkpoint of 9223372036854775807 records is stored, and the log holds 10")
            && text(&out.stderr).contains("LOG_CORRUPT"),
        "{}",
        text(&out.stderr)
    );
    // Without its one head row the log is damaged, whatever one asks of it.
    cluster.sql("postgres", "CREATE DATABASE headless TEMPLATE base");
    cluster.sql("headless", "DELETE FROM evidentia.log");
    cluster.sql("postgres", "CREATE DATABASE twoheads TEMPLATE base");
    cluster.sql(
        "twoheads",
        "ALTER TABLE evidentia.log DROP CONSTRAINT log_pkey, DROP CONSTRAINT log_one_row_check;
         INSERT INTO evidentia.log SELECT * FROM evidentia.log",
    );
    for name in ["headless", "twoheads"] {
        let out = spawn_append(&cluster.url(name), &key, "{\"n\":10}", "n10").wait_with_output().unwrap();
        assert!(text(&out.stderr).contains("LOG_CORRUPT"), "{name}: {}", text(&out.stderr));
        for command in ["prove", "receipt"] {
            let out = evidentia(&work.0, &["log", command, &cluster.url(name), "--index", "0"]);
            assert!(text(&out.stderr).contains("LOG_CORRUPT"), "{name} {command}: {}", text(&out.stderr));
        }
    }
}

#[test]
fn a_handle_connects_again_after_its_connection_broke_and_never_hangs_connecting() {
    let Some(cluster) = Cluster::start("handle") else { return };
    let url = cluster.database("handle");
    let key = evidentia::SigningKey::generate().unwrap();
    let options = evidentia_store::pg::PgCreateOptions::default();
    let log = PgLog::create(&url, &key, options).unwrap();
    let first = log.append(&key, b"{\"n\":0}", Some("n0")).unwrap();
    // The server ends the session (a restart, an administrator, a failover).
    // The wait for the session's end keeps it from ending during a commit,
    // which could store the record and fail the call.
    cluster.sql("postgres", "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = 'handle'");
    let after = (0..2).find_map(|_| log.append(&key, b"{\"n\":1}", Some("n1")).ok());
    assert_eq!(after.expect("the handle connects again").seq, 1);
    // An idempotent retry on the same handle answers with the stored record.
    let options = evidentia_store::AppendOptions { idempotent: true, ..Default::default() };
    let retried =
        log.append_events(&key, &[evidentia_store::NewEvent { json: b"{\"n\":0}", nonce: Some("n0") }], options);
    assert_eq!(retried.unwrap()[0].record, first.record);
    // The session ends while a call waits on the server (here for the head's
    // lock, which another session holds): that call fails, the next one works.
    let mut holder = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut holding = holder.stdin.take().unwrap();
    writeln!(holding, "BEGIN; SELECT 1 FROM evidentia.log FOR UPDATE;").unwrap();
    let held = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'handle' AND state = 'idle in transaction'";
    while cluster.sql("postgres", held) != "1" {
        std::thread::sleep(Duration::from_millis(20));
    }
    let waited = std::thread::scope(|scope| {
        let waiting = scope.spawn(|| log.append(&key, b"{\"n\":2}", Some("n2")));
        let blocked = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'handle' AND wait_event_type = 'Lock'";
        while cluster.sql("postgres", blocked) != "1" {
            assert!(!waiting.is_finished(), "the append did not wait for the lock");
            std::thread::sleep(Duration::from_millis(20));
        }
        cluster.sql(
            "postgres",
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
             WHERE datname = 'handle' AND wait_event_type = 'Lock'",
        );
        waiting.join().unwrap()
    });
    assert_eq!(waited.unwrap_err().code(), evidentia::ErrorCode::Io);
    writeln!(holding, "COMMIT;").unwrap();
    drop(holding);
    assert!(holder.wait().unwrap().success());
    assert_eq!(log.append(&key, b"{\"n\":2}", Some("n2")).expect("the next call works").seq, 2);
    // A schema change makes a statement the handle prepared stale: one call may
    // fail, the next prepares it again.
    log.checkpoint(&key).unwrap();
    cluster.sql("handle", "ALTER TABLE evidentia.checkpoints ALTER note TYPE varchar");
    let (_, note) = log.checkpoint(&key).or_else(|_| log.checkpoint(&key)).expect("prepared again");
    assert_eq!(log.latest_checkpoint().unwrap().unwrap().1, note);
    assert_eq!(log.append(&key, b"{\"n\":3}", Some("n3")).unwrap().seq, 3);
    // What PostgreSQL's text cannot hold is refused before anything is sent.
    let nul = log.append(&key, b"{}", Some("a\0b")).unwrap_err();
    assert_eq!(nul.code(), evidentia::ErrorCode::InvalidArgument, "{nul}");
    assert!(log.verify(None).unwrap().is_valid());

    // A server that accepts and never answers: the connection is given up after
    // the URL's connect_timeout and a margin, not waited on forever.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let accepted = silent.accept();
        std::thread::sleep(Duration::from_secs(10));
        drop(accepted);
    });
    let started = std::time::Instant::now();
    let refused = PgLog::open(&format!("postgres://u:p@127.0.0.1:{port}/db?connect_timeout=1")).unwrap_err();
    assert_eq!(refused.code(), evidentia::ErrorCode::Io, "{refused}");
    assert!(started.elapsed() < Duration::from_secs(15), "waited {:?}", started.elapsed());
    drop(held);

    // What looks like a mistyped URL never becomes a folder named after it.
    let work = Workdir::new("pg-lookalike");
    let mistyped = [
        format!(" {url}"),
        url.replacen("://", ":/", 1),
        url.replacen("postgres", "pg", 1),
        url.replacen("s:", "ss:", 1),
        url.replacen("://", " ://", 1),
        url.replacen("://", "//", 1),
        url.replacen("postgres:", "HTTPS:", 1),
    ];
    for location in mistyped {
        let out = evidentia(&work.0, &["log", "init", &location, "--key", "-"]);
        assert!(text(&out.stderr).contains("INVALID_ARGUMENT"), "{}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("superpw"), "{}", text(&out.stderr));
        assert!(std::fs::read_dir(&work.0).unwrap().next().is_none(), "nothing was made");
    }
    // A command for folders and publications refuses a log in PostgreSQL.
    let args = ["log", "monitor", &url, "--jwks", "keys.jwks", "--state", "state.json"];
    let out = evidentia(&work.0, &args);
    assert!(text(&out.stderr).contains("INVALID_ARGUMENT"), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("superpw"), "{}", text(&out.stderr));
}

#[test]
fn a_retried_batch_is_answered_as_it_was_first() {
    use evidentia_store::{AppendOptions, Mode, NewEvent};
    let Some(cluster) = Cluster::start("retry") else { return };
    let url = cluster.database("retry");
    let key = evidentia::SigningKey::generate().unwrap();
    let options = evidentia_store::pg::PgCreateOptions { mode: Mode::Batch, ..Default::default() };
    let log = PgLog::create(&url, &key, options).unwrap();
    let lines = |appended: Vec<evidentia_store::Appended>| appended.iter().map(|a| a.to_line()).collect::<Vec<_>>();
    let events: Vec<String> = (0..300).map(|n| format!("{{\"n\":{n}}}")).collect();
    let nonces: Vec<Option<String>> = (0..300).map(|n| (n % 3 != 0).then(|| format!("n{n}"))).collect();
    let first = NewEvent::group(&events, Some(&nonces)).unwrap();
    let first = lines(log.append_events(&key, &first, AppendOptions::default()).unwrap());
    log.append(&key, b"{\"later\":1}", None).unwrap();
    // A retry of the records with nonces, and a new one: each retried record is
    // answered with its first acknowledgement (the checkpoint that sealed it, not
    // the newer one), the new one appended.
    let mut again: Vec<String> = (0..300).filter(|n| n % 3 != 0).map(|n| events[n].clone()).collect();
    let mut again_nonces: Vec<Option<String>> = (0..300).filter(|n| n % 3 != 0).map(|n| nonces[n].clone()).collect();
    again.push("{\"new\":1}".to_owned());
    again_nonces.push(Some("new".to_owned()));
    let retry = AppendOptions { idempotent: true, ..Default::default() };
    let answered =
        lines(log.append_events(&key, &NewEvent::group(&again, Some(&again_nonces)).unwrap(), retry).unwrap());
    let expected: Vec<&String> = (0..300).filter(|n| n % 3 != 0).map(|n| &first[n]).collect();
    assert_eq!(answered[..200].iter().collect::<Vec<_>>(), expected);
    assert!(
        answered[200].contains("\"seq\":301") && answered[200].contains("\"checkpoint_size\":302"),
        "{}",
        answered[200]
    );
    assert_eq!(log.len().unwrap(), 302);
    // A nonce whose record is gone is a damaged log, not an unused nonce.
    cluster.sql("retry", "DELETE FROM evidentia.entries WHERE seq = 1");
    let damaged = log.append_events(&key, &[NewEvent { json: b"{\"n\":1}", nonce: Some("n1") }], retry);
    assert_eq!(damaged.unwrap_err().code(), evidentia::ErrorCode::LogCorrupt);
}

#[test]
fn keys_rotate_and_are_revoked_in_postgres_as_in_a_folder() {
    let Some(cluster) = Cluster::start("keys") else { return };
    let work = Workdir::new("pg-keys");
    let run = |args: &[&str]| evidentia(&work.0, args);
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let refused = |args: &[&str], code: &str| {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(code), "{args:?}: {}", text(&out.stderr));
    };
    ok(&["keygen", "--out", "one.jwk"]);
    ok(&["keygen", "--out", "two.jwk"]);
    for mode in ["receipts", "batch"] {
        let url = cluster.database(&format!("keys_{mode}"));
        ok(&["log", "init", &url, "--key", "one.jwk", "--mode", mode]);
        let append =
            |key: &str| spawn_log_append(&work.0, &[&url, "-", "--key", key], "{}").wait_with_output().unwrap();
        assert!(append("one.jwk").status.success());
        refused(&["log", "rotate", &url, "--key", "two.jwk"], "--current-key");
        ok(&["log", "rotate", &url, "--key", "two.jwk", "--current-key", "one.jwk"]);
        // Asked again once made (a retry after a lost answer): nothing more is written.
        ok(&["log", "rotate", &url, "--key", "two.jwk", "--current-key", "one.jwk"]);
        let log = PgLog::open(&url).unwrap();
        assert_eq!(log.len().unwrap(), 2, "{mode}: a record and the rotation's key record");
        // The key record is sealed by a checkpoint, in either mode.
        assert_eq!(log.latest_checkpoint().unwrap().map(|(size, _)| size), Some(2));
        let retired = append("one.jwk");
        assert_eq!(retired.status.code(), Some(2));
        assert!(text(&retired.stderr).contains("KEY_NOT_CURRENT"), "{}", text(&retired.stderr));
        assert!(append("two.jwk").status.success());
        refused(&["log", "rotate", &url, "--key", "one.jwk", "--current-key", "two.jwk"], "KEY_SET_MALFORMED");
        assert!(ok(&["log", "verify", &url, "--json"]).contains("\"valid\":true"));
        // The first record's evidence still verifies with the key history.
        let evidence = work.0.join(format!("evidence-{mode}.json"));
        std::fs::write(&evidence, ok(&["log", "receipt", &url, "--index", "0", "--evidence"])).unwrap();
        assert!(ok(&["evidence", "verify", evidence.to_str().unwrap(), "--json"]).contains("\"valid\":true"));

        // Revocation, as in a folder: of the current key, refused; of the retired
        // key from before its first record, its records fail verification.
        let keys = log.keys().unwrap();
        let kids: Vec<String> = keys.entries().iter().map(|e| e.thumbprint().to_owned()).collect();
        refused(&["log", "revoke", &url, "--kid", &kids[0], "--at", "2020-01-01T00:00:00Z"], "--key");
        refused(
            &["log", "revoke", &url, "--kid", &kids[1], "--at", "2020-01-01T00:00:00Z", "--key", "two.jwk"],
            "rotate",
        );
        refused(
            &["log", "revoke", &url, "--kid", &kids[0], "--at", "2020-01-01T00:00:00Z", "--key", "one.jwk"],
            "KEY_NOT_CURRENT",
        );
        let revoke =
            ["log", "revoke", &url, "--kid", &kids[0], "--at", "2020-01-01T00:00:00Z", "--reason", "keyCompromise"];
        ok(&[&revoke[..], &["--key", "two.jwk"]].concat());
        assert_eq!(log.len().unwrap(), 4);
        assert_eq!(log.keys().unwrap().entries()[0].validity().revocation_reason.as_deref(), Some("keyCompromise"));
        let report = run(&["--json", "log", "verify", &url]);
        assert_eq!(report.status.code(), Some(1), "{}", text(&report.stdout));
        assert!(
            text(&report.stdout).contains("KEY_REVOKED") && !text(&report.stdout).contains("KEY_HISTORY_MISMATCH"),
            "{}",
            text(&report.stdout)
        );
        // The key history in the head row edited to take the revocation back: the
        // log's key records say otherwise.
        let unrevoked = KeySet::from_json(&keys.to_json()).unwrap().to_json().replace('\'', "''");
        cluster.sql(&format!("keys_{mode}"), &format!("UPDATE evidentia.log SET keys = '{unrevoked}'"));
        let report = run(&["--json", "log", "verify", &url]);
        assert_eq!(report.status.code(), Some(1), "{}", text(&report.stdout));
        assert!(text(&report.stdout).contains("KEY_HISTORY_MISMATCH"), "{}", text(&report.stdout));
        // The revocation hidden from a package of record 0 as well: its event changed
        // so that it no longer reads as a key record, or its entry deleted. Either
        // breaks the hash chain the export follows, and no package is made.
        let database = format!("keys_{mode}");
        if mode == "receipts" {
            // A bare record where a receipt belongs would escape the signature check.
            let receipt = cluster.sql(&database, "SELECT receipt FROM evidentia.entries WHERE seq = 3");
            cluster.sql(
                &database,
                "UPDATE evidentia.entries SET record = convert_to('{}', 'UTF8'), receipt = NULL WHERE seq = 3",
            );
            let bare = run(&["export", &url, "--index", "0", "--out", "bare"]);
            assert_eq!(bare.status.code(), Some(2));
            assert!(
                text(&bare.stderr).contains("entry 3 is not of the kind a log in receipts mode stores"),
                "{}",
                text(&bare.stderr)
            );
            cluster.sql(
                &database,
                &format!("UPDATE evidentia.entries SET receipt = '{receipt}', record = NULL WHERE seq = 3"),
            );
        }
        cluster.sql(
            &database,
            "UPDATE evidentia.entries SET event = convert_to(replace(convert_from(event, 'UTF8'), \
             'evidentia_key_record', 'evidentiA_key_record'), 'UTF8') WHERE seq = 3",
        );
        let export = |out: &str| run(&["export", &url, "--index", "0", "--out", out]);
        let changed = export("changed");
        assert_eq!(changed.status.code(), Some(2));
        assert!(
            text(&changed.stderr).contains("record 3 breaks the log's hash chain (its stored event is not the event")
                && text(&changed.stderr).contains("LOG_CORRUPT"),
            "{}",
            text(&changed.stderr)
        );
        for seq in [3, 2] {
            cluster.sql(&database, &format!("DELETE FROM evidentia.entries WHERE seq = {seq}"));
            let deleted = export("deleted");
            assert_eq!(deleted.status.code(), Some(2));
            assert!(text(&deleted.stderr).contains("LOG_CORRUPT"), "{}", text(&deleted.stderr));
        }
        assert!(!work.0.join("changed").exists() && !work.0.join("deleted").exists());
    }
    // A rotation never asked for is not taken for one made (one→two→three, then
    // one→three); a revocation asked again once made writes nothing, as a
    // rotation does, and another revocation of the same key is refused.
    ok(&["keygen", "--out", "three.jwk"]);
    let url = cluster.database("keys_chain");
    ok(&["log", "init", &url, "--key", "one.jwk"]);
    ok(&["log", "rotate", &url, "--key", "two.jwk", "--current-key", "one.jwk"]);
    ok(&["log", "rotate", &url, "--key", "three.jwk", "--current-key", "two.jwk"]);
    refused(&["log", "rotate", &url, "--key", "three.jwk", "--current-key", "one.jwk"], "KEY_NOT_CURRENT");
    let log = PgLog::open(&url).unwrap();
    let one = log.keys().unwrap().entries()[0].thumbprint().to_owned();
    let revoke = |reason: &str| {
        run(&[
            "log",
            "revoke",
            &url,
            "--kid",
            &one,
            "--at",
            "2020-01-01T00:00:00Z",
            "--reason",
            reason,
            "--key",
            "three.jwk",
        ])
    };
    assert!(revoke("superseded").status.success());
    assert!(revoke("superseded").status.success(), "asked again");
    assert_eq!(log.len().unwrap(), 3, "two rotations and one revocation");
    let other = revoke("keyCompromise");
    assert_eq!(other.status.code(), Some(2));
    assert!(text(&other.stderr).contains("INVALID_ARGUMENT"), "{}", text(&other.stderr));
}

#[test]
fn json_lines_are_appended_in_groups_and_a_bad_line_stops_after_the_lines_before_it() {
    let Some(cluster) = Cluster::start("lines") else { return };
    let work = Workdir::new("pg-lines");
    let mut lines: String = (0..2500).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    lines.push_str("\n{oops\n{\"n\":\"after\"}\n");
    for mode in ["receipts", "batch"] {
        let url = cluster.database(&format!("lines_{mode}"));
        let key = init(&work.0, &url, mode);
        let out = spawn_log_append(&work.0, &[&url, "-", "--batch", "--key", key.to_str().unwrap()], &lines)
            .wait_with_output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{mode}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("line 2502"), "{mode}: {}", text(&out.stderr));
        // Every line before the bad one acknowledged, in order, and stored.
        let acks: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
        assert_eq!(acks.len(), 2500, "{mode}");
        let last = acks.last().unwrap();
        let seq = match Receipt::parse(last) {
            Ok(receipt) => receipt.record().seq,
            Err(_) => evidentia::json::parse(last.as_bytes())
                .unwrap()
                .get("seq")
                .and_then(|n| n.as_number()?.as_safe_u64())
                .unwrap(),
        };
        assert_eq!(seq, 2499, "{mode}: {last}");
        let log = PgLog::open(&url).unwrap();
        assert_eq!(log.len().unwrap(), 2500, "{mode}");
        // Salted (version 2, the default): the salt, then the event.
        match evidentia::StoredEvent::read(log.entry(1234).unwrap().stored_event()).unwrap() {
            Some(evidentia::StoredEvent::Salted { event, .. }) => assert_eq!(event, b"{\"n\":1234}"),
            other => panic!("{mode}: record 1234's event is stored as {other:?}"),
        }
        // Batch mode seals each group of 1000 with a checkpoint as it commits.
        if mode == "batch" {
            assert_eq!(log.latest_checkpoint().unwrap().map(|(size, _)| size), Some(2500));
        }
        let report = evidentia(&work.0, &["log", "verify", &url, "--json"]);
        assert!(text(&report.stdout).contains("\"valid\":true"), "{}", text(&report.stdout));
    }
}

#[test]
fn a_folder_log_copied_into_postgres_gives_the_same_evidence_and_goes_on() {
    let Some(cluster) = Cluster::start("copy") else { return };
    let work = Workdir::new("pg-copy");
    let run = |args: &[&str]| {
        let out = evidentia(&work.0, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    run(&["keygen", "--out", "k1.jwk"]);
    run(&["keygen", "--out", "k2.jwk"]);
    run(&["log", "init", "other", "--key", "k1.jwk"]);
    run(&["log", "note-key", "other", "--key", "other-note.pem", "--generate"]);
    for mode in ["receipts", "batch"] {
        let folder = format!("folder-{mode}");
        // A log in PostgreSQL holds records of version 1 so far: so must its source.
        run(&["log", "init", &folder, "--key", "k1.jwk", "--mode", mode, "--record-version", "1"]);
        let append = |n: u32| {
            let child =
                spawn_log_append(&work.0, &[&folder, "-", "--nonce", &format!("n{n}")], &format!("{{\"n\":{n}}}"));
            assert!(child.wait_with_output().unwrap().status.success());
        };
        (0..20).for_each(append);
        run(&["log", "rotate", &folder, "--key", "k2.jwk"]);
        (20..30).for_each(append);
        let checkpoint = run(&["log", "checkpoint", &folder]);
        let url = cluster.database(&format!("copy_{mode}"));
        run(&["log", "copy", &folder, &url]);
        assert_eq!(run(&["log", "checkpoint", &url, "--key", "k2.jwk"]), checkpoint, "{mode}: the same checkpoint");
        // Evidence packages come out of PostgreSQL byte for byte as from the folder,
        // with the rotation's key record for the records before it, and verify with
        // OpenSSL alone.
        for index in ["0", "17", "29"] {
            let package = |from: &str, side: &str| {
                let out = format!("{side}/package-{mode}-{index}");
                run(&["export", from, "--index", index, "--out", &out]);
                std::fs::read(work.0.join(format!("{out}.tar.gz"))).unwrap()
            };
            assert!(package(&url, "pg") == package(&folder, "folder"), "{mode}: the packages of record {index}");
            let script = Command::new("sh")
                .arg("verify.sh")
                .current_dir(work.0.join(format!("pg/package-{mode}-{index}")))
                .output()
                .unwrap();
            assert!(script.status.success(), "{}{}", text(&script.stdout), text(&script.stderr));
        }
        // Published as tlog-tiles, the same files as the folder's publication.
        run(&["log", "publish", &url, "--to", &format!("tiles-pg-{mode}")]);
        run(&["log", "publish", &folder, "--to", &format!("tiles-folder-{mode}")]);
        assert_eq!(
            files_below(&work.0.join(format!("tiles-pg-{mode}"))),
            files_below(&work.0.join(format!("tiles-folder-{mode}"))),
            "{mode}: the publications"
        );
        // With the log's Ed25519 note key, which the database knows by its vkey: the
        // same checkpoint, signed by it too, read by Go's tlog-tiles client.
        let generate: &[&str] = if mode == "receipts" { &["--generate"] } else { &[] };
        let vkey = run(&[&["log", "note-key", &url, "--key", "note.pem"], generate].concat());
        assert_eq!(run(&["log", "note-key", &url]), vkey, "{mode}: the vkey, kept");
        assert_eq!(run(&["log", "note-key", &folder, "--key", "note.pem"]), vkey);
        let publish_pg = |key: &[&str]| {
            evidentia(&work.0, &[&["log", "publish", &url, "--to", &format!("signed-pg-{mode}")], key].concat())
        };
        let unsigned = publish_pg(&[]);
        assert_eq!(unsigned.status.code(), Some(2));
        assert!(text(&unsigned.stderr).contains("give that key to publish"), "{}", text(&unsigned.stderr));
        let other = publish_pg(&["--note-key", "other-note.pem"]);
        assert!(text(&other.stderr).contains("KEY_NOT_CURRENT"), "{}", text(&other.stderr));
        assert!(publish_pg(&["--note-key", "note.pem"]).status.success());
        run(&["log", "publish", &folder, "--to", &format!("signed-folder-{mode}")]);
        let signed = work.0.join(format!("signed-pg-{mode}"));
        assert_eq!(files_below(&signed), files_below(&work.0.join(format!("signed-folder-{mode}"))), "{mode}");
        if let Some(checker) = support::go_program("tlog-tiles-go") {
            let out = Command::new(&checker).arg(vkey.trim()).arg(&signed).output().unwrap();
            assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
            assert!(text(&out.stdout).starts_with("verified: 31 entries"), "{}", text(&out.stdout));
        }
        let replaced = evidentia(&work.0, &["log", "note-key", &url, "--key", "other-note.pem", "--generate"]);
        assert!(text(&replaced.stderr).contains("is not replaced"), "{}", text(&replaced.stderr));
        let refused = evidentia(&work.0, &["export", &url, "--index", "31", "--out", "beyond"]);
        assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
        for index in ["0", "17", "29"] {
            assert_eq!(
                run(&["log", "prove", &url, "--index", index]),
                run(&["log", "prove", &folder, "--index", index])
            );
        }
        // Receipts come out of PostgreSQL as evidence files that verify on their own;
        // a receipts-mode record's receipt is the one the folder stored.
        for index in ["0", "17", "29"] {
            let evidence = work.0.join(format!("evidence-{mode}-{index}.json"));
            std::fs::write(&evidence, run(&["log", "receipt", &url, "--index", index, "--evidence"])).unwrap();
            assert!(run(&["evidence", "verify", evidence.to_str().unwrap(), "--json"]).contains("\"valid\":true"));
            if mode == "receipts" {
                assert_eq!(
                    run(&["log", "receipt", &url, "--index", index]),
                    run(&["log", "receipt", &folder, "--index", index])
                );
            }
        }
        // The copy goes on with the log's current key, and still verifies.
        let mut child = spawn_append(&url, &work.0.join("k2.jwk"), "{\"after\":\"copy\"}", "after");
        assert!(child.wait().unwrap().success());
        assert!(run(&["log", "verify", &url, "--json"]).contains("\"valid\":true"));
        // Publishing again adds what came since, and the publication verifies.
        run(&["log", "checkpoint", &url, "--key", "k2.jwk"]);
        let published =
            run(&["--json", "log", "publish", &url, "--to", &format!("tiles-pg-{mode}"), "--note-key", "note.pem"]);
        assert!(published.contains("\"previous_size\":31") && published.contains("\"size\":32"), "{published}");
        let jwks = work.0.join(format!("keys-{mode}.jwks"));
        std::fs::write(&jwks, PgLog::open(&url).unwrap().keys().unwrap().to_json()).unwrap();
        let verified = run(&["log", "verify", &format!("tiles-pg-{mode}"), "--jwks", jwks.to_str().unwrap(), "--json"]);
        assert!(verified.contains("\"valid\":true") && verified.contains("\"records\":32"), "{verified}");
        // And back into a folder: the same evidence and note key, and appends go on
        // there once it is told where the note key is kept.
        let back = format!("back-{mode}");
        run(&["log", "copy", &url, &back]);
        assert!(run(&["log", "verify", &back, "--json"]).contains("\"valid\":true"));
        assert_eq!(run(&["log", "note-key", &back]), vkey);
        run(&["log", "note-key", &back, "--key", "note.pem"]);
        assert_eq!(run(&["log", "prove", &back, "--index", "17"]), run(&["log", "prove", &url, "--index", "17"]));
        let append_back = |nonce: &str| {
            let child =
                spawn_log_append(&work.0, &[&back, "-", "--key", "k2.jwk", "--nonce", nonce], "{\"back\":true}");
            child.wait_with_output().unwrap().status.code()
        };
        assert_eq!(append_back("after"), Some(2), "the nonces came along: NONCE_IN_USE");
        assert_eq!(append_back("later"), Some(0));
        assert!(run(&["log", "verify", &back, "--json"]).contains("\"valid\":true"));
        let refused = evidentia(&work.0, &["log", "copy", &url, &back]);
        assert!(text(&refused.stderr).contains("LOG_EXISTS"), "{}", text(&refused.stderr));
        // A database holding a log is not copied into.
        let again = evidentia(&work.0, &["log", "copy", &folder, &url]);
        assert_eq!(again.status.code(), Some(2));
        assert!(text(&again.stderr).contains("LOG_EXISTS"), "{}", text(&again.stderr));
    }
    // A log that does not verify is not copied.
    let segment = std::fs::read_dir(work.0.join("folder-receipts/segments")).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&segment).unwrap();
    let at = bytes.windows(6).position(|w| w == b"{\"n\":3").unwrap();
    bytes[at + 5] = b'4';
    std::fs::write(&segment, bytes).unwrap();
    let url = cluster.database("copy_tampered");
    let refused = evidentia(&work.0, &["log", "copy", "folder-receipts", &url]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("does not verify"), "{}", text(&refused.stderr));
    assert_eq!(cluster.sql("copy_tampered", "SELECT to_regclass('evidentia.log') IS NULL"), "t");
}

#[test]
fn a_log_of_an_older_schema_is_migrated_when_opened_and_a_newer_one_refused() {
    let Some(cluster) = Cluster::start("migrate") else { return };
    let work = Workdir::new("pg-migrate");
    assert!(evidentia(&work.0, &["keygen", "--out", "k.jwk"]).status.success());
    let url = cluster.database("migrate");
    let init = ["log", "init", &url, "--key", "k.jwk", "--record-version", "1"];
    assert!(evidentia(&work.0, &init).status.success());
    let mut child = spawn_append(&url, &work.0.join("k.jwk"), "{}", "one");
    assert!(child.wait().unwrap().success());
    // Version 1 had no note key, no record version (its logs wrote version-1
    // records), no holds, and let ANALYZE sample the events.
    cluster.sql(
        "migrate",
        "ALTER TABLE evidentia.log DROP COLUMN note_vkey; ALTER TABLE evidentia.log DROP COLUMN record_version;
         DROP TABLE evidentia.holds; UPDATE evidentia.schema_version SET version = 1;
         ALTER TABLE evidentia.entries ALTER COLUMN event SET STATISTICS -1; ANALYZE evidentia.entries",
    );
    assert_eq!(sampled(&cluster, "migrate", "event"), "1");
    let verified = evidentia(&work.0, &["--json", "log", "verify", &url]);
    assert!(text(&verified.stdout).contains("\"valid\":true"), "{}", text(&verified.stderr));
    assert_eq!(cluster.sql("migrate", "SELECT version FROM evidentia.schema_version"), "3");
    assert_eq!(cluster.sql("migrate", "SELECT record_version FROM evidentia.log"), "1");
    // The events' statistics are dropped, and not collected again.
    cluster.sql("migrate", "ANALYZE evidentia.entries");
    assert_eq!(sampled(&cluster, "migrate", "event"), "0");
    // It goes on writing version-1 records, which are not erased.
    let mut child = spawn_append(&url, &work.0.join("k.jwk"), "{}", "two");
    assert!(child.wait().unwrap().success());
    assert!(PgLog::open(&url).unwrap().salt(1).unwrap().is_none());
    let erase = evidentia(&work.0, &["log", "erase", &url, "--index", "1", "--reason", "x", "--key", "k.jwk"]);
    assert!(text(&erase.stderr).contains("ERASURE_REFUSED"), "{}", text(&erase.stderr));
    assert!(evidentia(&work.0, &["log", "hold", &url, "--index", "0", "--reason", "case"]).status.success());
    let vkey = evidentia(&work.0, &["log", "note-key", &url, "--key", "note.pem", "--generate"]);
    assert!(vkey.status.success(), "{}", text(&vkey.stderr));
    // Given again by several processes at once: each is told the key is the log's.
    cluster.sql("migrate", "UPDATE evidentia.log SET note_vkey = NULL");
    let givers: Vec<Child> = (0..6)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_evidentia"))
                .args(["log", "note-key", &url, "--key", "note.pem"])
                .current_dir(&work.0)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for giver in givers {
        let out = giver.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), text(&vkey.stdout));
    }
    // A stored note key that is none: a finding, and LOG_CORRUPT where it is used.
    cluster.sql("postgres", "CREATE DATABASE bad_vkey TEMPLATE migrate");
    cluster.sql("bad_vkey", "UPDATE evidentia.log SET note_vkey = 'garbage'");
    let verified = evidentia(&work.0, &["log", "verify", &cluster.url("bad_vkey")]);
    assert_eq!(verified.status.code(), Some(1));
    assert!(text(&verified.stdout).contains("is not an Ed25519 key of this log"), "{}", text(&verified.stdout));
    let shown = evidentia(&work.0, &["log", "note-key", &cluster.url("bad_vkey")]);
    assert!(text(&shown.stderr).contains("LOG_CORRUPT"), "{}", text(&shown.stderr));
    // A schema version that no Evidentia wrote, or two of them: damage.
    for (name, sql) in [
        ("version_zero", "UPDATE evidentia.schema_version SET version = 0"),
        ("two_versions", "INSERT INTO evidentia.schema_version VALUES (2)"),
    ] {
        cluster.sql("postgres", &format!("CREATE DATABASE {name} TEMPLATE migrate"));
        cluster.sql(name, sql);
        let out = evidentia(&work.0, &["log", "verify", &cluster.url(name)]);
        assert!(text(&out.stderr).contains("LOG_CORRUPT"), "{name}: {}", text(&out.stderr));
    }
    cluster.sql("migrate", "UPDATE evidentia.schema_version SET version = 4");
    let newer = evidentia(&work.0, &["log", "verify", &url]);
    assert_eq!(newer.status.code(), Some(2));
    assert!(
        text(&newer.stderr).contains("the log's schema is of version 4; this Evidentia reads version 3"),
        "{}",
        text(&newer.stderr)
    );
}

#[test]
fn a_log_larger_than_a_segment_is_copied_out_into_several() {
    let Some(cluster) = Cluster::start("big") else { return };
    let work = Workdir::new("pg-big");
    let url = cluster.database("big");
    let key = init(&work.0, &url, "batch");
    // 70 events of 1 MiB: more than the 64 MiB after which a folder log starts
    // its next segment.
    let line = format!("{{\"b\":\"{}\"}}\n", "x".repeat(1 << 20));
    let lines = line.repeat(70);
    let mut child = Command::new(env!("CARGO_BIN_EXE_evidentia"))
        .args(["log", "append", "--batch", &url, "-", "--key", key.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(lines.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let copied = evidentia(&work.0, &["log", "copy", &url, "back"]);
    assert!(copied.status.success(), "{}", text(&copied.stderr));
    assert_eq!(std::fs::read_dir(work.0.join("back/segments")).unwrap().count(), 2);
    let verified = evidentia(&work.0, &["--json", "log", "verify", "back"]);
    assert!(text(&verified.stdout).contains("\"valid\":true"), "{}", text(&verified.stdout));
    assert_eq!(evidentia(&work.0, &["log", "prove", "back", "--index", "69"]).stdout, {
        evidentia(&work.0, &["log", "prove", &url, "--index", "69"]).stdout
    });
}

/// Every file below `dir` but the publisher's lock, by path, with its bytes.
fn files_below(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name() != Some(".lock".as_ref()) {
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn tls_to_the_server_is_checked_against_the_ca_pgsslrootcert_names() {
    let Some(cluster) = Cluster::start_with("tls", |dir| {
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ]);
        let mut permissions = std::fs::metadata(dir.join("server.key")).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
        std::fs::set_permissions(dir.join("server.key"), permissions).unwrap();
        // Connections over TCP without TLS are refused.
        std::fs::write(
            dir.join("hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        format!(
            "-c ssl=on -c ssl_cert_file={0}/server.pem -c ssl_key_file={0}/server.key -c hba_file={0}/hba.conf",
            dir.display()
        )
    }) else {
        return;
    };
    let work = Workdir::new("pg-tls");
    assert!(evidentia(&work.0, &["keygen", "--out", "k.jwk"]).status.success());
    let url = format!("{}?sslmode=require", cluster.database("tls"));
    let init = |url: &str, ca: Option<&Path>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_evidentia"));
        command.args(["log", "init", url, "--key", "k.jwk"]).current_dir(&work.0).env_remove("PGSSLROOTCERT");
        if let Some(ca) = ca {
            command.env("PGSSLROOTCERT", ca);
        }
        command.output().unwrap()
    };
    // A server certificate of a CA nobody named is refused.
    let ca = cluster.dir.join("ca.pem");
    let refused = init(&url, None);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("connect"), "{}", text(&refused.stderr));
    // The server takes no connection without TLS, so one that works used it.
    let plain = init(&url.replace("sslmode=require", "sslmode=disable"), Some(&ca));
    assert_eq!(plain.status.code(), Some(2), "{}", text(&plain.stderr));
    let created = init(&url, Some(&ca));
    assert!(created.status.success(), "{}", text(&created.stderr));
}

/// Whether `needle` occurs in `haystack`.
fn holds_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// The files of relation `relation` (its main fork's segments), below the
/// cluster's data folder.
fn relation_files(cluster: &Cluster, database: &str, relation: &str) -> Vec<Vec<u8>> {
    let path = cluster.sql(database, &format!("SELECT pg_relation_filepath({relation})"));
    let base = PathBuf::from(cluster.data()).join(path);
    let mut files = vec![std::fs::read(&base).unwrap()];
    for segment in 1.. {
        match std::fs::read(format!("{}.{segment}", base.display())) {
            Ok(bytes) => files.push(bytes),
            Err(_) => break,
        }
    }
    files
}

/// Whether the files of the entries table or its TOAST table hold `needle`.
/// How many rows of statistics `pg_stats` shows for `column` of the entries.
fn sampled(cluster: &Cluster, database: &str, column: &str) -> String {
    cluster.sql(
        database,
        &format!(
            "SELECT count(*) FROM pg_stats WHERE schemaname = 'evidentia' AND tablename = 'entries' \
             AND attname = '{column}'"
        ),
    )
}

fn entries_files_hold(cluster: &Cluster, database: &str, needle: &[u8]) -> bool {
    cluster.sql(database, "CHECKPOINT");
    ["'evidentia.entries'", "(SELECT reltoastrelid FROM pg_class WHERE oid = 'evidentia.entries'::regclass)"]
        .iter()
        .flat_map(|relation| relation_files(cluster, database, relation))
        .any(|file| holds_bytes(&file, needle))
}

#[test]
fn a_log_in_postgres_erases_an_event_holds_records_and_keeps_every_proof() {
    let Some(cluster) = Cluster::start("erase") else { return };
    let work = Workdir::new("pg-erase");
    let run = |args: &[&str]| {
        let out = evidentia(&work.0, args);
        assert!(out.status.success(), "{args:?}: {:?} {}{}", out.status, text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    };
    let refused = |args: &[&str], code: &str| {
        let out = evidentia(&work.0, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(code), "{args:?}: {}", text(&out.stderr));
    };
    for mode in ["receipts", "batch"] {
        let url = cluster.database(&format!("erase_{mode}"));
        let key = init(&work.0, &url, mode);
        let key = key.to_str().unwrap();
        // Version 2 by default: salted, each event under its own salt.
        // A name to erase, and a long member the database keeps in its TOAST table.
        let secret = format!("Erika Mustermann {mode}");
        // (Base64 of digests: too random for PostgreSQL to compress, so its bytes are
        // in the files as written.)
        let long: String =
            (0..100u32).map(|i| evidentia::encoding::b64url(Digest::sha256(&i.to_be_bytes()).as_bytes())).collect();
        let events = [
            format!(r#"{{"name":"{secret}","amount":120}}"#),
            format!(r#"{{"note":"{long}"}}"#),
            r#"{"name":"kept","amount":7}"#.to_owned(),
        ];
        for (i, event) in events.iter().enumerate() {
            std::fs::write(work.0.join(format!("event{i}.json")), event).unwrap();
            run(&["log", "append", &url, &format!("event{i}.json"), "--key", key, "--nonce", &format!("n{i}")]);
        }
        run(&["log", "checkpoint", &url, "--key", key]);
        std::fs::write(work.0.join("receipt0"), run(&["log", "receipt", &url, "--index", "0"])).unwrap();
        let salt = run(&["log", "salt", &url, "--index", "0"]);
        assert_eq!(salt.trim().len(), 32, "a salt of 128 bits: {salt}");
        std::fs::write(work.0.join("keys.jwks"), PgLog::open(&url).unwrap().keys().unwrap().to_json()).unwrap();
        let receipt = ["receipt", "verify", "receipt0", "--jwks", "keys.jwks", "--event", "event0.json"];
        run(&[&receipt[..], &["--salt-hex", salt.trim()]].concat());
        // An idempotent retry of a version-2 record is answered by its stored event.
        let again = ["log", "append", &url, "event0.json", "--key", key, "--nonce", "n0", "--idempotent"];
        if mode == "receipts" {
            assert_eq!(run(&again).trim(), std::fs::read_to_string(work.0.join("receipt0")).unwrap().trim());
        }
        // Before any erasure the events are in the table's files: the search finds them.
        assert!(entries_files_hold(&cluster, &format!("erase_{mode}"), secret.as_bytes()));
        // (TOAST stores it in chunks of about 2 kB: a part is searched for.)
        assert!(entries_files_hold(&cluster, &format!("erase_{mode}"), &long.as_bytes()[1000..1100]));
        // ANALYZE samples columns into pg_statistic, out of an erasure's reach: the
        // events are never sampled, the other columns are.
        cluster.sql(&format!("erase_{mode}"), "ANALYZE evidentia.entries");
        assert_eq!(sampled(&cluster, &format!("erase_{mode}"), "seq"), "1");
        assert_eq!(sampled(&cluster, &format!("erase_{mode}"), "event"), "0");

        // Holds: set, listed, refusing erasure, released.
        run(&["log", "hold", &url, "--index", "1", "--reason", "case 2026-17"]);
        assert!(run(&["log", "holds", &url]).contains(r#""reason":"case 2026-17","seq":1"#));
        refused(&["log", "erase", &url, "--index", "1", "--reason", "gdpr", "--key", key], "ERASURE_REFUSED");
        run(&["log", "release", &url, "--index", "1"]);
        refused(&["log", "release", &url, "--index", "1"], "INVALID_ARGUMENT");
        assert_eq!(run(&["log", "holds", &url]), "");

        let erased =
            run(&["log", "erase", &url, "--index", "0", "--reason", "GDPR art. 17 request 4711", "--key", key]);
        assert!(!erased.trim().is_empty());
        run(&["log", "erase", &url, "--index", "1", "--reason", "retention", "--key", key]);
        refused(&["log", "erase", &url, "--index", "0", "--reason", "again", "--key", key], "RECORD_ERASED");
        refused(&["log", "erase", &url, "--index", "99", "--reason", "none", "--key", key], "INVALID_ARGUMENT");
        // The erasure record itself is kept.
        refused(&["log", "erase", &url, "--index", "3", "--reason", "x", "--key", key], "ERASURE_REFUSED");
        refused(&["log", "salt", &url, "--index", "0"], "RECORD_ERASED");
        let retried = evidentia(&work.0, &again);
        assert!(text(&retried.stderr).contains("whose event was erased"), "{}", text(&retried.stderr));
        run(&["log", "checkpoint", &url, "--key", key]);

        let report = run(&["--json", "log", "verify", &url]);
        assert!(report.contains("\"valid\":true"), "{report}");
        assert!(report.contains(r#""reason":"GDPR art. 17 request 4711""#), "{report}");
        // Receipts and proofs are unchanged: the receipt still verifies, without the event.
        run(&["receipt", "verify", "receipt0", "--jwks", "keys.jwks"]);

        // The package of the erased record: the erasure record in its place, no event.
        let package = work.0.join(format!("package-{mode}"));
        run(&["export", &url, "--index", "0", "--out", package.to_str().unwrap()]);
        assert!(package.join("erasure-record.json").exists() && !package.join("event.json").exists());
        let checked = run(&["--json", "package", "verify", package.to_str().unwrap()]);
        assert!(checked.replace(' ', "").contains("\"valid\":true"), "{checked}");
        // A package disclosing one member of a kept record.
        let disclosed = work.0.join(format!("disclosed-{mode}"));
        run(&["export", &url, "--index", "2", "--out", disclosed.to_str().unwrap(), "--disclose", "amount"]);
        let checked = run(&["--json", "package", "verify", disclosed.to_str().unwrap()]);
        assert!(checked.replace(' ', "").contains("\"valid\":true"), "{checked}");

        // No row, package or copy holds the erased events.
        let dumped = Command::new(format!("{BIN}/pg_dump")).arg(&url).output().unwrap();
        assert!(dumped.status.success(), "{}", text(&dumped.stderr));
        // A dump shows bytea in hex: each needle is looked for as it is and in hex.
        let hex = |bytes: &[u8]| evidentia::encoding::hex(bytes).into_bytes();
        assert!(holds_bytes(&dumped.stdout, &hex(b"\"kept\"")), "the dump holds the events kept");
        run(&["log", "hold", &url, "--index", "2", "--reason", "case 9"]);
        let copy = work.0.join(format!("copy-{mode}"));
        run(&["log", "copy", &url, copy.to_str().unwrap()]);
        assert!(run(&["log", "holds", copy.to_str().unwrap()]).contains(r#""seq":2"#));
        let files: Vec<Vec<u8>> = [&copy, &package, &disclosed]
            .iter()
            .flat_map(|dir| files_below(dir).into_values())
            .chain([dumped.stdout])
            .collect();
        assert!(
            files_below(&copy).values().any(|file| holds_bytes(file, b"\"kept\"")),
            "the copy holds the events kept"
        );
        for needle in [secret.as_bytes(), &long.as_bytes()[1000..1100]] {
            for needle in [needle.to_vec(), hex(needle)] {
                assert!(!files.iter().any(|file| holds_bytes(file, &needle)), "{mode}: an erased event is still there");
            }
        }
        // An erased event put back (a row restored from a backup): a finding, since
        // the erasure removed it in the same transaction.
        let restored = format!("restored_{mode}");
        cluster.sql("postgres", &format!("CREATE DATABASE {restored} TEMPLATE erase_{mode}"));
        let hex_event =
            evidentia::encoding::hex(&evidentia::StoredEvent::salted(&[7; 16], events[0].as_bytes()).unwrap());
        cluster.sql(&restored, &format!("UPDATE evidentia.entries SET event = '\\x{hex_event}' WHERE seq = 0"));
        let out = evidentia(&work.0, &["log", "verify", &cluster.url(&restored)]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        assert!(text(&out.stdout).contains("whose event is stored"), "{}", text(&out.stdout));
        // A hold row whose time is not a time: listing it, and erasing the record it
        // holds, say the table is damaged rather than ignoring the hold.
        cluster.sql(&restored, "UPDATE evidentia.holds SET since = 'yesterday' WHERE seq = 2");
        for args in [
            vec!["log", "holds", &cluster.url(&restored)],
            vec!["log", "erase", &cluster.url(&restored), "--index", "2", "--reason", "r", "--key", key],
        ] {
            let out = evidentia(&work.0, &args);
            assert!(!out.status.success(), "{args:?}");
            assert!(
                text(&out.stderr).contains("LOG_CORRUPT") && text(&out.stderr).contains("yesterday"),
                "{}",
                text(&out.stderr)
            );
        }
        // The old row versions stay in the table's files until VACUUM FULL rewrites it.
        cluster.sql(&format!("erase_{mode}"), "VACUUM FULL evidentia.entries");
        assert!(!entries_files_hold(&cluster, &format!("erase_{mode}"), secret.as_bytes()));
        assert!(!entries_files_hold(&cluster, &format!("erase_{mode}"), &long.as_bytes()[1000..1100]));
        assert!(run(&["--json", "log", "verify", &url]).contains("\"valid\":true"));
        // The copy goes back into PostgreSQL, erasures and holds with it.
        let back = cluster.database(&format!("back_{mode}"));
        run(&["log", "copy", copy.to_str().unwrap(), &back]);
        assert!(run(&["log", "holds", &back]).contains(r#""seq":2"#));
        refused(&["log", "erase", &back, "--index", "0", "--reason", "again", "--key", key], "RECORD_ERASED");
        refused(&["log", "erase", &back, "--index", "2", "--reason", "held", "--key", key], "ERASURE_REFUSED");
    }
    // A log of version-1 records erases nothing.
    let url = cluster.database("erase_v1");
    let key = work.0.join("key.jwk");
    run(&["log", "init", &url, "--key", key.to_str().unwrap(), "--record-version", "1"]);
    std::fs::write(work.0.join("plain.json"), r#"{"a":1}"#).unwrap();
    run(&["log", "append", &url, "plain.json", "--key", key.to_str().unwrap()]);
    refused(&["log", "salt", &url, "--index", "0"], "INVALID_ARGUMENT");
    refused(
        &["log", "erase", &url, "--index", "0", "--reason", "x", "--key", key.to_str().unwrap()],
        "ERASURE_REFUSED",
    );
}
