//! `--metrics-addr`: a long-running command serves the log-integrity metrics, read
//! back here by a real scrape (HTTP GET /metrics) while it runs.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Workdir, evidentia};

/// Reads standard error until the command says where it serves metrics.
fn metrics_addr(stderr: &mut BufReader<ChildStderr>) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the command never said where metrics are");
        if let Some(url) = line.trim().strip_prefix("metrics: http://") {
            return url.trim_end_matches("/metrics").to_owned();
        }
    }
}

/// `GET path` over plain HTTP: the status line and the body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/plain\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// The value of the series `name{labels}` in a scrape.
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

/// Scrapes until `series` has reached `at_least`, or fails after 20 s.
fn scrape_until(addr: &str, series: &str, at_least: f64) -> String {
    let start = Instant::now();
    loop {
        let (status, body) = get(addr, "/metrics");
        assert_eq!(status, "HTTP/1.1 200 OK");
        if value(&body, series).is_some_and(|v| v >= at_least) {
            return body;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{series} never reached {at_least}:\n{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn spawn(dir: &Path, args: &[&str]) -> (Child, BufReader<ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_evidentia"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    (child, stderr)
}

fn setup(name: &str) -> Workdir {
    let work = Workdir::new(name);
    let dir = &work.0;
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    std::fs::write(dir.join("pub.jwk"), evidentia(dir, &["pubkey", "key.jwk"]).stdout).unwrap();
    assert!(
        evidentia(dir, &["log", "init", "log", "--key", "key.jwk", "--id", "example.com/metrics"]).status.success()
    );
    work
}

#[test]
fn appends_streamed_in_are_counted_and_timed() {
    let work = setup("metrics-append");
    let dir = &work.0;
    let (mut child, mut stderr) =
        spawn(dir, &["log", "append", "log", "--batch", "-", "--metrics-addr", "127.0.0.1:0"]);
    let addr = metrics_addr(&mut stderr);
    // A client that sends part of a request and stalls holds up no scrape.
    let mut stalled = TcpStream::connect(&addr).unwrap();
    stalled.write_all(b"GET /met").unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut receipts = BufReader::new(child.stdout.take().unwrap());
    for n in 0..3 {
        writeln!(stdin, "{{\"n\":{n}}}").unwrap();
        stdin.flush().unwrap();
        let mut receipt = String::new();
        receipts.read_line(&mut receipt).unwrap();
        assert!(receipt.starts_with("eyJ"), "{receipt}");
    }
    let scrape = scrape_until(&addr, "evidentia_records_appended_total{log=\"example.com/metrics\"}", 3.0);
    assert_eq!(value(&scrape, "evidentia_records_appended_total{log=\"example.com/metrics\"}"), Some(3.0));
    let commits = value(&scrape, "evidentia_commit_seconds_count").unwrap();
    assert!((1.0..=3.0).contains(&commits), "{scrape}");
    assert_eq!(value(&scrape, "evidentia_append_seconds_count"), Some(commits));
    assert!(scrape.contains("# TYPE evidentia_append_seconds histogram"), "{scrape}");
    assert!(scrape.contains("evidentia_append_seconds_bucket{le=\"+Inf\"}"), "{scrape}");
    assert_eq!(get(&addr, "/").0, "HTTP/1.1 404 Not Found");
    drop((stdin, stalled));
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_following_monitor_exposes_sizes_rounds_and_findings() {
    let work = setup("metrics-monitor");
    let dir = &work.0;
    std::fs::write(dir.join("events.jsonl"), "{\"n\":0}\n{\"n\":1}\n").unwrap();
    assert!(evidentia(dir, &["log", "append", "log", "--batch", "events.jsonl"]).status.success());
    assert!(evidentia(dir, &["log", "checkpoint", "log"]).status.success());
    std::fs::write(dir.join("event.json"), "{\"n\":2}").unwrap();
    assert!(evidentia(dir, &["log", "append", "log", "event.json"]).status.success());
    let args = [
        "log",
        "monitor",
        "log",
        "--jwks",
        "pub.jwk",
        "--state",
        "state.json",
        "--follow",
        "--interval",
        "1",
        "--metrics-addr",
        "127.0.0.1:0",
    ];
    let (mut child, mut stderr) = spawn(dir, &args);
    let addr = metrics_addr(&mut stderr);
    let log = "{log=\"example.com/metrics\"}";
    let scrape =
        scrape_until(&addr, "evidentia_monitor_rounds_total{log=\"example.com/metrics\",result=\"passed\"}", 2.0);
    assert_eq!(value(&scrape, &format!("evidentia_log_records{log}")), Some(3.0), "{scrape}");
    assert_eq!(value(&scrape, &format!("evidentia_checkpoint_signed_size{log}")), Some(2.0), "{scrape}");
    assert_eq!(value(&scrape, &format!("evidentia_checkpoint_witnessed_size{log}")), Some(0.0), "{scrape}");
    assert!(value(&scrape, &format!("evidentia_checkpoint_age_seconds{log}")).is_some(), "{scrape}");
    assert!(value(&scrape, "evidentia_verifications_total{result=\"valid\"}").is_some_and(|v| v >= 2.0), "{scrape}");
    child.kill().unwrap();
    child.wait().unwrap();
}
