//! Fault injection, as SQLite tests its I/O error paths: a scripted workload (create,
//! appends, batch appends, an idempotent retry, checkpoints, a timestamp
//! attachment, a rotation) runs once per file operation it makes, with that
//! operation failing (ENOSPC or EIO), in both signing modes. Two models of what
//! follows the failure:
//!
//! - the process goes on: every later step runs on the same log, which repairs
//!   itself, and the log is reopened at the end;
//! - the power fails at that moment: every change not yet flushed is lost, and
//!   the log is reopened from what is left;
//! - the power fails, and some of the changes not yet flushed reached the disk
//!   anyway (pages are written back in no order), chosen at random.
//!
//! After each run: every call reported success or failure truthfully, reopening
//! recovers, every acknowledged record is present and unchanged, nothing
//! unacknowledged is half-visible, and the log verifies.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::Path;
use std::sync::Arc;

use evidentia::timestamp::{HashAlgorithm, TimestampRequest, TimestampTrust, read_certificates};
use evidentia::{ErrorCode, SigningKey, Timestamp};
use evidentia_store::{
    AppendOptions, CreateOptions, FaultError, Faults, Log, LogOptions, LogReader, Mode, NewEvent,
    attach_timestamp_with, verify_dir,
};
use support::{LocalTsa, TsaKey, Workdir};

const LOG_ID: &str = "faults.example/log";

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32]).unwrap()
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// The place of the rotation among the outcomes (after the log's creation).
const ROTATION: usize = 6;

/// What a step of the workload did.
#[derive(Debug)]
enum Outcome {
    /// Records acknowledged: `(seq, acknowledgement line)`.
    Appended(Vec<(u64, String)>),
    /// Records reported stored but not sealed: their count.
    Unsealed(u64),
    /// Something else done (a checkpoint, a timestamp, a rotation).
    Done,
    /// Refused or failed, with this code.
    Failed(ErrorCode),
}

/// The response of a local authority to a request for the first checkpoint's
/// timestamp (the same in every run: fixed keys, times and events), and its trust.
struct Stamp {
    response: Vec<u8>,
    trust: TimestampTrust,
}

struct Run<'a> {
    dir: &'a Path,
    mode: Mode,
    options: LogOptions,
    stamp: &'a Stamp,
}

impl Run<'_> {
    fn events(from: usize, n: usize) -> Vec<Vec<u8>> {
        (from..from + n).map(|i| format!(r#"{{"payment":{i},"amount":"{}.00"}}"#, i * 10).into_bytes()).collect()
    }

    fn append(
        log: &Log,
        key: &SigningKey,
        events: &[Vec<u8>],
        nonce: Option<&str>,
        time: Option<Timestamp>,
    ) -> Outcome {
        let batch: Vec<NewEvent<'_>> = events.iter().map(|json| NewEvent { json, nonce }).collect();
        let options = AppendOptions { time, idempotent: nonce.is_some() };
        match log.append_events(key, &batch, &options) {
            Ok(appended) => {
                Outcome::Appended(appended.iter().filter(|a| !a.replayed).map(|a| (a.seq, a.to_line())).collect())
            }
            Err(e) if e.code() == ErrorCode::RecordsUnsealed => Outcome::Unsealed(events.len() as u64),
            Err(e) => Outcome::Failed(e.code()),
        }
    }

    fn done(result: evidentia::Result<()>) -> Outcome {
        match result {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Failed(e.code()),
        }
    }

    /// The key the log signs with now (after a rotation that may or may not have
    /// taken effect).
    fn current(log: &Log) -> SigningKey {
        let keys = log.keys();
        let current = keys.entries().iter().find(|e| e.validity().expires.is_none()).unwrap();
        if current.thumbprint() == key(1).kid() { key(1) } else { key(2) }
    }

    /// Runs the workload; `after_step` is called after each step and says whether
    /// to stop there (a power cut). Returns the outcomes.
    fn workload(&self, mut after_step: impl FnMut() -> bool) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        let options = CreateOptions {
            log_id: Some(LOG_ID.into()),
            mode: self.mode,
            key_valid_from: Some(at("2026-01-01T00:00:00Z")),
            options: LogOptions { salt_seed: Some(SALT_SEED), ..self.options.clone() },
            ..CreateOptions::default()
        };
        let log = match Log::create(self.dir, &key(1), options) {
            Ok(log) => {
                outcomes.push(Outcome::Done);
                log
            }
            Err(e) => {
                outcomes.push(Outcome::Failed(e.code()));
                return outcomes;
            }
        };
        let steps: [&dyn Fn(&Log) -> Outcome; 10] = [
            &|log| Self::append(log, &key(1), &Self::events(0, 1), Some("req-0"), Some(at("2026-01-02T00:00:00Z"))),
            &|log| Self::append(log, &key(1), &Self::events(1, 4), None, Some(at("2026-01-03T00:00:00Z"))),
            &|log| Self::done(log.checkpoint(&key(1)).map(drop)),
            &|_| {
                let attached =
                    attach_timestamp_with(self.dir, &self.stamp.response, None, &self.stamp.trust, &self.options);
                Self::done(attached.map(drop))
            },
            &|log| Self::append(log, &key(1), &Self::events(0, 1), Some("req-0"), None),
            &|log| Self::done(log.rotate(&Self::current(log), &key(2), None)),
            &|log| Self::append(log, &Self::current(log), &Self::events(5, 3), None, None),
            &|log| Self::done(log.checkpoint(&Self::current(log)).map(drop)),
            &|log| Self::append(log, &Self::current(log), &Self::events(8, 1), Some("req-8"), None),
            &|log| Self::append(log, &Self::current(log), &Self::events(9, 20), None, None),
        ];
        if after_step() {
            return outcomes;
        }
        for step in steps {
            outcomes.push(step(&log));
            if after_step() {
                break;
            }
        }
        outcomes
    }
}

/// Checks the log left in `dir` against what the workload was told.
fn check(dir: &Path, mode: Mode, outcomes: &[Outcome], power_cut: bool, what: &str) {
    if matches!(outcomes.first(), Some(Outcome::Failed(_))) {
        // Creating failed: no log, or an empty one that works.
        match Log::open(dir) {
            Err(e) => assert_eq!(e.code(), ErrorCode::LogNotFound, "{what}: {e:?}"),
            Ok(log) => assert_eq!(log.len(), 0, "{what}"),
        }
        return;
    }
    // A failure is the injected I/O error, never something made up: a timestamp is
    // refused only when the checkpoint it is for was not stored.
    // A rotation that failed after its key record was stored is made all the same
    // (SPEC §23.3): the rotation reports its records unsealed, and the old key may
    // no longer sign after it.
    let rotation_failed = matches!(outcomes.get(ROTATION), Some(Outcome::Failed(_)));
    for (step, outcome) in outcomes.iter().enumerate() {
        if let Outcome::Failed(code) = outcome {
            let timestamp = step == 4 && matches!(code, ErrorCode::TimestampMismatch | ErrorCode::InvalidArgument);
            let rotation = step == ROTATION && *code == ErrorCode::RecordsUnsealed;
            let after_rotation = rotation_failed && step > ROTATION && *code == ErrorCode::KeyNotCurrent;
            assert!(
                *code == ErrorCode::Io || timestamp || rotation || after_rotation,
                "{what}: step {step} failed with {code:?}"
            );
        }
    }
    let log = Log::open(dir).unwrap_or_else(|e| panic!("{what}: the log does not reopen: {e:?}"));
    let acknowledged: Vec<&(u64, String)> =
        outcomes.iter().flat_map(|o| if let Outcome::Appended(a) = o { a.iter().collect() } else { vec![] }).collect();
    let unsealed: u64 = outcomes.iter().map(|o| if let Outcome::Unsealed(n) = o { *n } else { 0 }).sum();
    let count = log.len();
    // The rotation's key record is a record too: there when the rotation is done,
    // perhaps when it failed.
    let key_records = (0..count)
        .filter(|seq| {
            let entry = log.entry(*seq).unwrap();
            evidentia::json::parse(entry.event()).is_ok_and(|event| event.get(evidentia::KEY_RECORD_MEMBER).is_some())
        })
        .count() as u64;
    assert!(key_records <= 1, "{what}: {key_records} key records");
    if matches!(outcomes.get(ROTATION), Some(Outcome::Done)) {
        assert_eq!(key_records, 1, "{what}: the rotation is done but not recorded");
    }
    let promised = acknowledged.len() as u64 + unsealed + key_records;
    if power_cut {
        // What the step cut short may or may not be there; nothing else may be.
        let last_step = match outcomes.last() {
            Some(Outcome::Failed(_)) => 20,
            _ => 0,
        };
        assert!(count >= promised && count <= promised + last_step, "{what}: {count} records, {promised} promised");
    } else {
        assert_eq!(count, promised, "{what}: a failed call left records, or an acknowledged one is missing");
    }
    // Every acknowledgement: its own sequence number (never two for one), and the
    // same record in that place.
    let mut seqs: Vec<u64> = acknowledged.iter().map(|(seq, _)| *seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), acknowledged.len(), "{what}: two acknowledgements for one sequence number");
    for (seq, line) in &acknowledged {
        match mode {
            Mode::Receipts => assert_eq!(&log.receipt(*seq).unwrap(), line, "{what}: record {seq}"),
            Mode::Batch => {
                let record = log.entry(*seq).unwrap().record().unwrap();
                assert!(line.contains(&record.digest().to_string()), "{what}: record {seq}");
            }
        }
    }
    // Seal what a failed batch append left unsealed, then verify everything.
    if mode == Mode::Batch && count > 0 {
        let current = Run::current(&log);
        match log.checkpoint(&current) {
            // The log ends with the rotation's key record, unsealed after a power cut:
            // asking for the same rotation again completes it (SPEC §23.3).
            Err(e) if e.code() == ErrorCode::KeyNotCurrent && key_records == 1 => {
                log.rotate(&key(1), &key(2), None).unwrap_or_else(|e| panic!("{what}: completing the rotation: {e:?}"));
                log.checkpoint(&key(2)).unwrap_or_else(|e| panic!("{what}: sealing failed: {e:?}"));
            }
            sealed => drop(sealed.unwrap_or_else(|e| panic!("{what}: sealing failed: {e:?}"))),
        }
    }
    drop(log);
    let report = verify_dir(dir, None, |_| {}).unwrap();
    assert!(report.is_valid(), "{what}: {}", report.to_text());
    // A timestamp attached is there and verifies.
    if matches!(outcomes.get(4), Some(Outcome::Done)) {
        let reader = LogReader::open(dir).unwrap();
        assert!(reader.timestamp(5).unwrap().is_some(), "{what}: the acknowledged timestamp is missing");
    }
}

/// The seed of the events' salts: every run appends the same records, so that the
/// first checkpoint is the one timestamped in advance.
const SALT_SEED: [u8; 32] = [5; 32];

fn stamp(work: &Path, mode: Mode) -> Stamp {
    // The first checkpoint of a fault-free run.
    let dir = work.join(format!("reference-{}", mode.name()));
    let options = CreateOptions {
        log_id: Some(LOG_ID.into()),
        mode,
        key_valid_from: Some(at("2026-01-01T00:00:00Z")),
        options: LogOptions { salt_seed: Some(SALT_SEED), ..LogOptions::default() },
        ..CreateOptions::default()
    };
    let log = Log::create(&dir, &key(1), options).unwrap();
    assert!(matches!(
        Run::append(&log, &key(1), &Run::events(0, 1), Some("req-0"), Some(at("2026-01-02T00:00:00Z"))),
        Outcome::Appended(_)
    ));
    assert!(matches!(
        Run::append(&log, &key(1), &Run::events(1, 4), None, Some(at("2026-01-03T00:00:00Z"))),
        Outcome::Appended(_)
    ));
    let note = log.checkpoint(&key(1)).unwrap().note;
    let tsa = LocalTsa::new(work, &format!("tsa-{}", mode.name()), TsaKey::P256, false, false);
    let request = TimestampRequest::new(note.as_bytes(), HashAlgorithm::Sha256, [7; 8]);
    let (query, reply) = (work.join(format!("{}.tsq", mode.name())), work.join(format!("{}.tsr", mode.name())));
    std::fs::write(&query, request.to_der()).unwrap();
    tsa.reply(&query, &reply);
    let trust = TimestampTrust {
        roots: read_certificates(&std::fs::read(&tsa.root).unwrap()).unwrap(),
        ..TimestampTrust::default()
    };
    Stamp { response: std::fs::read(reply).unwrap(), trust }
}

/// What happens after the failing operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Model {
    GoesOn,
    PowerCut,
    PowerCutKeepingSome,
}

#[test]
fn every_file_operation_that_fails_is_survived() {
    let work = Workdir::new("faults");
    let mut points = 0u64;
    for mode in [Mode::Receipts, Mode::Batch] {
        let stamp = stamp(&work.0, mode);
        // The operations of a run without faults.
        let counting = Arc::new(Faults::new());
        let dir = work.0.join(format!("count-{}", mode.name()));
        let run = Run {
            dir: &dir,
            mode,
            options: LogOptions { faults: Some(counting.clone()), ..LogOptions::default() },
            stamp: &stamp,
        };
        let outcomes = run.workload(|| false);
        assert!(outcomes.iter().all(|o| !matches!(o, Outcome::Failed(_) | Outcome::Unsealed(_))), "{outcomes:?}");
        check(&dir, mode, &outcomes, false, "no fault");
        let total = counting.operations();
        assert!(total > 50, "only {total} operations were seen");

        for model in [Model::GoesOn, Model::PowerCut, Model::PowerCutKeepingSome] {
            for n in 1..=total {
                let power_cut = model != Model::GoesOn;
                let what = format!("{} mode, operation {n} of {total}, {model:?}", mode.name());
                let dir = work.0.join(format!("run-{}-{n}-{model:?}", mode.name()));
                let faults = Arc::new(Faults::new());
                if power_cut {
                    faults.record_unflushed();
                }
                faults.fail_operation(n, if n % 2 == 0 { FaultError::NoSpace } else { FaultError::Io });
                let run = Run {
                    dir: &dir,
                    mode,
                    options: LogOptions { faults: Some(faults.clone()), ..LogOptions::default() },
                    stamp: &stamp,
                };
                let outcomes = run.workload(|| {
                    if power_cut && faults.injected().is_some() {
                        match model {
                            Model::PowerCutKeepingSome => faults.power_cut_keeping_some(n).unwrap(),
                            _ => faults.power_cut().unwrap(),
                        }
                        return true;
                    }
                    false
                });
                let what = format!("{what} ({}): {outcomes:?}", faults.injected().unwrap_or_default());
                check(&dir, mode, &outcomes, power_cut, &what);
                let _ = std::fs::remove_dir_all(&dir);
                points += 1;
            }
        }
    }
    eprintln!("{points} injected fault points survived");
}
