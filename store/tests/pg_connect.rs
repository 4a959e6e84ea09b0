//! Connecting to a server that accepts and never answers: each attempt is given
//! up on after its deadline, and once 8 of a process are left waiting, more fail
//! at once instead of leaking another thread and socket each (SPEC.md §25.5). No
//! PostgreSQL is needed: a listener that never answers plays the server.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use evidentia::ErrorCode;
use evidentia_store::pg::PgLog;

#[test]
fn attempts_left_waiting_on_a_silent_server_are_bounded() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://u:p@{}/db?connect_timeout=1", listener.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            keep.lock().unwrap().push(socket);
        }
    });
    let started = Instant::now();
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PgLog::open(&url).unwrap_err())
        })
        .collect();
    for attempt in attempts {
        let error = attempt.join().unwrap();
        assert_eq!(error.code(), ErrorCode::Io, "{error}");
        assert!(error.message().contains("did not complete the connection"), "{error}");
    }
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    // Eight are left waiting: the next fails at once.
    let started = Instant::now();
    let error = PgLog::open(&url).unwrap_err();
    assert!(error.message().contains("still waiting"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // Once the server lets go, the waiting attempts end and connecting is tried again.
    held.lock().unwrap().clear();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let error = PgLog::open(&url).unwrap_err();
        if !error.message().contains("still waiting") {
            break;
        }
        assert!(Instant::now() < deadline, "the abandoned attempts never ended");
        std::thread::sleep(Duration::from_millis(100));
    }
}
