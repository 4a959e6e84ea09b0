//! `--metrics-addr`: long-running commands serve the log-integrity metrics
//! (`evidentia_store::metrics`) for a Prometheus scrape, at `GET /metrics` on a
//! plain HTTP listener of their own.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use evidentia::{Error, ErrorCode};

#[derive(Args, Debug)]
pub(crate) struct MetricsArgs {
    /// Serve metrics for Prometheus at http://ADDR/metrics while the command runs
    /// (e.g. 127.0.0.1:9464; port 0 picks a free port, printed on standard error)
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<String>,
}

impl MetricsArgs {
    /// Starts serving, when asked to, before the command does its work.
    pub(crate) fn serve(&self) -> Result<(), Error> {
        let Some(addr) = &self.metrics_addr else { return Ok(()) };
        evidentia_store::metrics::install()?;
        let listener = TcpListener::bind(addr)
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("cannot serve metrics at {addr}: {e}")))?;
        if let Ok(local) = listener.local_addr() {
            eprintln!("metrics: http://{local}/metrics");
        }
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                // Each connection on a thread of its own, so that one that stalls
                // never holds up a scrape; beyond a few at once, new ones are closed.
                if OPEN.fetch_add(1, Ordering::SeqCst) < MAX_OPEN {
                    std::thread::spawn(move || answer(stream));
                } else {
                    OPEN.fetch_sub(1, Ordering::SeqCst);
                }
            }
        });
        Ok(())
    }
}

/// The largest request head read: a scrape's is a few hundred bytes.
const MAX_REQUEST: usize = 8 * 1024;

/// How long a connection may take, from its first byte to the answer written.
const DEADLINE: Duration = Duration::from_secs(10);

/// Connections answered at once.
const MAX_OPEN: usize = 16;
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Answers one request within [`DEADLINE`].
fn answer(mut stream: TcpStream) {
    let deadline = Instant::now() + DEADLINE;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = head.split(|&b| b == b'\r' || b == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, path) = (parts.next(), parts.next().map(|p| p.split(|&b| b == b'?').next().unwrap_or(p)));
    let (status, kind, body) = match (method, path) {
        (Some(b"GET"), Some(b"/metrics")) => match evidentia_store::metrics::render() {
            Ok(text) => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", text),
            Err(e) => ("500 Internal Server Error", "text/plain; charset=utf-8", format!("{e}\n")),
        },
        (Some(b"GET"), _) => ("404 Not Found", "text/plain; charset=utf-8", "metrics are at /metrics\n".to_owned()),
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET\n".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
    let _ = stream.set_write_timeout(Some(left));
    let _ = stream.write_all(response.as_bytes());
    OPEN.fetch_sub(1, Ordering::SeqCst);
}
