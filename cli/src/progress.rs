//! A progress line on standard error for long operations, shown only on a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Prints `label: done/total (percent)` at most ten times a second.
#[derive(Debug)]
pub(crate) struct Progress {
    label: &'static str,
    total: Option<u64>,
    shown: bool,
    enabled: bool,
    last: Instant,
}

impl Progress {
    pub(crate) fn new(label: &'static str, total: Option<u64>) -> Progress {
        Progress { label, total, shown: false, enabled: std::io::stderr().is_terminal(), last: Instant::now() }
    }

    pub(crate) fn update(&mut self, done: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.last = Instant::now();
        self.shown = true;
        let line = match self.total {
            Some(total) if total > 0 => format!("\r{}: {done}/{total} ({}%)", self.label, done * 100 / total),
            _ => format!("\r{}: {done}", self.label),
        };
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }

    pub(crate) fn finish(&mut self) {
        if self.shown {
            eprint!("\r\x1b[2K");
            self.shown = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
