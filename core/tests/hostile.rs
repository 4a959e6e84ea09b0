//! The hostile-input corpus (testvectors/hostile.json) through every entry point of
//! the core that takes outside data: each call returns a value or an error with a
//! code of the table other than INTERNAL, never panics, and finishes in moments.
//! Every binding runs the same corpus through its own entry points.
#![allow(clippy::unwrap_used)]

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use evidentia::encoding::b64_decode;
use evidentia::json::{MAX_DEPTH_LIMIT, ParseOptions, parse, parse_with};
use evidentia::merkle::leaf_hash;
use evidentia::package::{PackageFile, verify_package};
use evidentia::timestamp::{
    TimestampRequest, TimestampTrust, read_certificates, read_timestamp_token, timestamp_token,
    verify_certificate_chain, verify_self_signed, verify_timestamp, verify_timestamp_token,
};
use evidentia::{
    BatchReceipt, ChainState, Checkpoint, ConsistencyProof, Digest, Error, ErrorCode, EvidenceFile, InclusionProof,
    KeySet, LogVerifyOptions, NoteVerifier, PreparedCheckpoint, PreparedEntry, PublicKey, Receipt, Report, SigningKey,
    Timestamp, Value, canonicalize, canonicalize_value, checkpoint_verifiers, evidence_file, issue_receipt,
    jwk_thumbprint, read_checkpoint, record_of_receipt, validate_log_id, verify_batch_receipt, verify_checkpoint,
    verify_checkpoint_with_keys, verify_consistency_between, verify_evidence_file, verify_inclusion_in_checkpoint,
    verify_jws, verify_log_entries, verify_note, verify_receipt, verify_receipt_in_checkpoint,
};

/// Longer than any case takes in an unoptimized build: more means a hang.
const TIME_LIMIT: Duration = Duration::from_secs(5);

fn bytes(value: &Value, name: &str) -> Vec<u8> {
    b64_decode(common::str_of(value, name)).unwrap_or_else(|| panic!("{name} is not base64"))
}

fn optional(value: &Value, name: &str) -> Option<Vec<u8>> {
    value.get(name).and_then(Value::as_str).map(|text| b64_decode(text).expect("base64"))
}

/// Text for the entry points that take `&str`: Rust text is UTF-8, so invalid bytes
/// arrive replaced, as from `String::from_utf8_lossy` in a caller.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The valid artifacts a case's input is combined with.
struct Context {
    keys: KeySet,
    jws: String,
    receipt: String,
    event: Vec<u8>,
    inclusion: InclusionProof,
    checkpoint: String,
    leaf: Vec<u8>,
    root: [u8; 32],
    consistency: ConsistencyProof,
    old_checkpoint: String,
    old_root: [u8; 32],
    verifiers: Vec<NoteVerifier>,
    key: SigningKey,
    ts_data: Vec<u8>,
    ts_request: TimestampRequest,
    ts_response: Vec<u8>,
    ts_trust: TimestampTrust,
    ts_time: Timestamp,
    package: Vec<PackageFile>,
}

fn context(corpus: &Value) -> Context {
    let c = corpus.get("context").unwrap();
    let s = |name: &str| common::str_of(c, name).to_owned();
    let ders = |name: &str| -> Vec<Vec<u8>> {
        c.get(name)
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .map(|d| b64_decode(d.as_str().unwrap()).unwrap())
            .collect()
    };
    let package = c
        .get("package")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|f| PackageFile { name: common::str_of(f, "name").to_owned(), bytes: bytes(f, "bytes") })
        .collect();
    Context {
        keys: KeySet::from_json(&s("jwks")).unwrap(),
        jws: s("jws"),
        receipt: s("receipt"),
        event: bytes(c, "event"),
        inclusion: InclusionProof::from_json(&s("inclusion_proof")).unwrap(),
        checkpoint: s("checkpoint"),
        leaf: bytes(c, "leaf"),
        root: bytes(c, "root").try_into().unwrap(),
        consistency: ConsistencyProof::from_json(&s("consistency_proof")).unwrap(),
        old_checkpoint: s("old_checkpoint"),
        old_root: bytes(c, "old_root").try_into().unwrap(),
        verifiers: vec![NoteVerifier::from_vkey(&s("vkey")).unwrap()],
        key: SigningKey::from_jwk(&s("private_jwk")).unwrap(),
        ts_data: bytes(c, "timestamp_data"),
        ts_request: TimestampRequest::parse(&bytes(c, "timestamp_request")).unwrap(),
        ts_response: bytes(c, "timestamp_response"),
        ts_trust: TimestampTrust {
            roots: ders("timestamp_roots"),
            intermediates: ders("timestamp_intermediates"),
            tsa_certificate: None,
        },
        ts_time: Timestamp::parse(&s("timestamp_time")).unwrap(),
        package,
    }
}

/// What a call may give back: a value (checked for codes where it carries any) or
/// an error.
trait Outcome {
    /// The codes it carries that must be in the table and not INTERNAL.
    fn codes(&self) -> Vec<ErrorCode>;
}

impl<T: Outcome> Outcome for Result<T, Error> {
    fn codes(&self) -> Vec<ErrorCode> {
        match self {
            Ok(value) => value.codes(),
            Err(e) => vec![e.code()],
        }
    }
}

impl Outcome for Report {
    fn codes(&self) -> Vec<ErrorCode> {
        self.findings().iter().map(|f| f.code).collect()
    }
}

macro_rules! no_codes {
    ($($t:ty),*) => { $(impl Outcome for $t { fn codes(&self) -> Vec<ErrorCode> { Vec::new() } })* };
}
no_codes!(
    (),
    Vec<u8>,
    String,
    Value,
    Digest,
    KeySet,
    PublicKey,
    SigningKey,
    Receipt,
    BatchReceipt,
    EvidenceFile,
    Checkpoint,
    (Checkpoint, Checkpoint),
    InclusionProof,
    ConsistencyProof,
    NoteVerifier,
    Timestamp,
    ChainState,
    TimestampRequest,
    Vec<Vec<u8>>,
    evidentia::VerifiedJws,
    evidentia::VerifiedNote,
    (Checkpoint, evidentia::VerifiedNote),
    evidentia::Record,
    evidentia::timestamp::VerifiedTimestamp,
    evidentia::timestamp::TimestampContents
);

/// Runs the calls of one case, recording what breaks the rules.
struct Runner {
    failures: Vec<String>,
    calls: usize,
    entry_points: std::collections::BTreeSet<&'static str>,
}

impl Runner {
    fn call<T: Outcome>(&mut self, case: &str, entry: &'static str, f: impl FnOnce() -> T) -> Option<T> {
        self.calls += 1;
        self.entry_points.insert(entry);
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(f));
        let elapsed = started.elapsed();
        if elapsed > TIME_LIMIT {
            self.failures.push(format!("{case}: {entry} took {elapsed:?}"));
        }
        match outcome {
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("?");
                self.failures.push(format!("{case}: {entry} panicked: {message}"));
                None
            }
            Ok(value) => {
                for code in value.codes() {
                    if code == ErrorCode::Internal || !ErrorCode::ALL.contains(&code) {
                        self.failures.push(format!("{case}: {entry} gave the code {}", code.name()));
                    }
                }
                Some(value)
            }
        }
    }

    /// A call whose value, when there is one, the next calls use.
    fn then<T: Outcome>(&mut self, case: &str, entry: &'static str, f: impl FnOnce() -> Result<T, Error>) -> Option<T> {
        self.call(case, entry, f).and_then(Result::ok)
    }
}

/// Receipts, batch receipts and evidence files: whatever is handed over as a receipt.
fn receipt_like(r: &mut Runner, x: &Context, case: &str, input: &[u8], event: Option<&[u8]>) {
    let receipt = text(input);
    r.call(case, "verify_receipt", || verify_receipt(&receipt, &x.keys, event));
    r.call(case, "verify_batch_receipt", || verify_batch_receipt(&receipt, &x.keys, event));
    r.call(case, "evidence_file", || evidence_file(&receipt, &x.keys, event, None));
    r.call(case, "BatchReceipt::parse", || BatchReceipt::parse(&receipt));
    r.call(case, "PreparedEntry::receipt", || {
        let mut verifier = evidentia::LogVerifier::new(&x.keys, LogVerifyOptions::default());
        verifier.push_prepared(PreparedEntry::receipt(&x.keys, &receipt, event));
        verifier.finish()
    });
    if let Some(parsed) = r.then(case, "Receipt::parse", || Receipt::parse(&receipt)) {
        // Continuing a chain after it, as ReceiptChain.resume does in the bindings.
        r.call(case, "ChainState::after", || {
            let chain = ChainState::after(parsed.record());
            chain.next_record(x.key.kid(), Digest::sha256(b"{}"), parsed.record().time, None).map(|r| r.to_bytes())
        });
    }
    if let Some(record) = r.then(case, "record_of_receipt", || record_of_receipt(&receipt)) {
        r.call(case, "verify_inclusion_in_checkpoint", || {
            verify_inclusion_in_checkpoint(&record, &x.inclusion, &x.checkpoint, &x.keys)
        });
    }
    r.call(case, "verify_receipt_in_checkpoint", || {
        verify_receipt_in_checkpoint(&receipt, &x.inclusion, &x.checkpoint, &x.keys)
    });
}

fn checkpoint_note(r: &mut Runner, x: &Context, case: &str, input: &[u8]) {
    let note = text(input);
    r.call(case, "verify_checkpoint_with_keys", || verify_checkpoint_with_keys(&note, &x.keys));
    r.call(case, "Checkpoint::from_text", || Checkpoint::from_text(&note));
    r.call(case, "read_checkpoint", || read_checkpoint(&note));
    r.call(case, "verify_note", || verify_note(&note, &x.verifiers));
    r.call(case, "verify_checkpoint", || verify_checkpoint(&note, &x.verifiers));
    r.call(case, "checkpoint_verifiers", || {
        checkpoint_verifiers(&x.keys, &note);
        Ok::<(), Error>(())
    });
    r.call(case, "verify_inclusion_in_checkpoint", || {
        verify_inclusion_in_checkpoint(&x.leaf, &x.inclusion, &note, &x.keys)
    });
    r.call(case, "verify_consistency_between (new)", || {
        verify_consistency_between(&x.consistency, &x.old_checkpoint, &note, &x.keys)
    });
    r.call(case, "verify_consistency_between (old)", || {
        verify_consistency_between(&x.consistency, &note, &x.checkpoint, &x.keys)
    });
    r.call(case, "PreparedCheckpoint::new", || {
        let mut verifier = evidentia::LogVerifier::new(&x.keys, LogVerifyOptions::default());
        verifier.push_prepared_checkpoint(PreparedCheckpoint::new(&x.keys, &note));
        verifier.finish()
    });
}

fn run_case(r: &mut Runner, x: &Context, case: &Value) {
    let kind = common::str_of(case, "kind");
    let name = format!("{kind}: {}", common::str_of(case, "name"));
    let name = name.as_str();
    let input = optional(case, "input").unwrap_or_default();
    let input2 = optional(case, "input2");
    let started = Instant::now();
    match kind {
        "json" => {
            r.call(name, "canonicalize", || canonicalize(&input));
            r.call(name, "Digest::of_json", || Digest::of_json(&input));
            r.call(name, "json::parse_with (deepest)", || {
                parse_with(&input, &ParseOptions { max_depth: MAX_DEPTH_LIMIT, ..Default::default() })
                    .and_then(|v| canonicalize_value(&v))
            });
            if let Some(value) = r.then(name, "json::parse", || parse(&input)) {
                r.call(name, "canonicalize_value", || canonicalize_value(&value));
            }
        }
        "jws" => {
            let jws = text(&input);
            r.call(name, "verify_jws", || verify_jws(&jws, &x.keys, input2.as_deref(), None));
            r.call(name, "verify_jws (at a time)", || verify_jws(&jws, &x.keys, input2.as_deref(), Some(x.ts_time)));
        }
        "jwks" => {
            if let Some(keys) = r.then(name, "KeySet::from_json", || KeySet::from_json(&text(&input))) {
                r.call(name, "verify_receipt (with the key set)", || verify_receipt(&x.receipt, &keys, Some(&x.event)));
                r.call(name, "verify_jws (with the key set)", || verify_jws(&x.jws, &keys, None, None));
                r.call(name, "verify_checkpoint_with_keys (with the key set)", || {
                    verify_checkpoint_with_keys(&x.checkpoint, &keys)
                });
                r.call(name, "KeySet::to_json", || KeySet::from_json(&keys.to_json()));
            }
        }
        "jwk" => {
            let jwk = text(&input);
            r.call(name, "jwk_thumbprint", || jwk_thumbprint(&jwk));
            r.call(name, "PublicKey::from_jwk", || PublicKey::from_jwk(&jwk));
            r.call(name, "PublicKey::from_text", || PublicKey::from_text(&jwk));
            r.call(name, "SigningKey::from_jwk", || SigningKey::from_jwk(&jwk));
            r.call(name, "SigningKey::from_text", || SigningKey::from_text(&jwk));
            r.call(name, "KeySet::from_json", || KeySet::from_json(&jwk));
        }
        "pem" => {
            let pem = text(&input);
            r.call(name, "SigningKey::from_pem", || SigningKey::from_pem(&pem));
            r.call(name, "SigningKey::from_text", || SigningKey::from_text(&pem));
            r.call(name, "PublicKey::from_pem", || PublicKey::from_pem(&pem));
            r.call(name, "PublicKey::from_text", || PublicKey::from_text(&pem));
        }
        "receipt" | "batch_receipt" => receipt_like(r, x, name, &input, input2.as_deref()),
        "evidence" => {
            r.call(name, "EvidenceFile::parse", || EvidenceFile::parse(&input));
            r.call(name, "verify_evidence_file", || verify_evidence_file(&input, None));
            r.call(name, "verify_evidence_file (trusted keys)", || verify_evidence_file(&input, Some(&x.keys)));
            // And where a program handed one in place of a receipt would pass it.
            receipt_like(r, x, name, &input, input2.as_deref());
        }
        "inclusion_proof" | "inclusion" => {
            let note = input2.as_deref().map_or_else(|| x.checkpoint.clone(), text);
            if let Some(proof) = r.then(name, "InclusionProof::from_json", || InclusionProof::from_json(&text(&input)))
            {
                r.call(name, "InclusionProof::verify", || proof.verify(&leaf_hash(&x.leaf), &x.root));
                r.call(name, "verify_inclusion_in_checkpoint", || {
                    verify_inclusion_in_checkpoint(&x.leaf, &proof, &note, &x.keys)
                });
            }
        }
        "consistency_proof" | "consistency" => {
            let note = input2.as_deref().map_or_else(|| x.checkpoint.clone(), text);
            if let Some(proof) =
                r.then(name, "ConsistencyProof::from_json", || ConsistencyProof::from_json(&text(&input)))
            {
                r.call(name, "ConsistencyProof::verify", || proof.verify(&x.old_root, &x.root));
                r.call(name, "verify_consistency_between", || {
                    verify_consistency_between(&proof, &x.old_checkpoint, &note, &x.keys)
                });
            }
        }
        "checkpoint" => checkpoint_note(r, x, name, &input),
        "log_entries" => {
            let entries: Vec<(Vec<u8>, Option<Vec<u8>>)> = case
                .get("entries")
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .map(|e| (bytes(e, "entry"), optional(e, "event")))
                .collect();
            let checkpoints: Vec<(u64, String)> = case
                .get("checkpoints")
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c.get("size").and_then(Value::as_number).and_then(|n| n.as_safe_u64()).unwrap(),
                        text(&bytes(c, "note")),
                    )
                })
                .collect();
            r.call(name, "verify_log_entries", || {
                verify_log_entries(
                    entries.iter().map(|(e, v)| (e.as_slice(), v.as_deref())),
                    checkpoints.iter().map(|(s, n)| (*s, n.as_str())),
                    &x.keys,
                    LogVerifyOptions::default(),
                )
            });
        }
        "log_id" => {
            let id = text(&input);
            r.call(name, "validate_log_id", || validate_log_id(&id));
            r.call(name, "ChainState::new", || ChainState::new(&id));
        }
        "time" => {
            if let Some(time) = r.then(name, "Timestamp::parse", || Timestamp::parse(&text(&input))) {
                r.call(name, "issue_receipt (at the time)", || {
                    let mut chain = ChainState::new("hostile.example/log")?;
                    issue_receipt(&x.key, &mut chain, b"{}", time, None).map(|i| i.receipt.as_str().to_owned())
                });
            }
        }
        "nonce" => {
            let nonce = text(&input);
            r.call(name, "issue_receipt (with the nonce)", || {
                let mut chain = ChainState::new("hostile.example/log")?;
                issue_receipt(&x.key, &mut chain, b"{}", x.ts_time, Some(&nonce)).map(|i| i.receipt.as_str().to_owned())
            });
        }
        "vkey" => {
            if let Some(verifier) = r.then(name, "NoteVerifier::from_vkey", || NoteVerifier::from_vkey(&text(&input))) {
                r.call(name, "verify_note (with the key)", || {
                    verify_note(&x.checkpoint, std::slice::from_ref(&verifier))
                });
                r.call(name, "NoteVerifier::to_vkey", || NoteVerifier::from_vkey(&verifier.to_vkey()));
            }
        }
        "timestamp_response" => {
            r.call(name, "verify_timestamp", || verify_timestamp(&input, &x.ts_data, None, &x.ts_trust));
            r.call(name, "verify_timestamp (with the request)", || {
                verify_timestamp(&input, &x.ts_data, Some(&x.ts_request), &x.ts_trust)
            });
            if let Some(token) = r.then(name, "timestamp_token", || timestamp_token(&input)) {
                r.call(name, "read_timestamp_token", || read_timestamp_token(&token));
            }
        }
        "timestamp_token" => {
            r.call(name, "verify_timestamp_token", || verify_timestamp_token(&input, &x.ts_data, &x.ts_trust));
            r.call(name, "read_timestamp_token", || read_timestamp_token(&input));
        }
        "timestamp_request" => {
            if let Some(request) = r.then(name, "TimestampRequest::parse", || TimestampRequest::parse(&input)) {
                r.call(name, "verify_timestamp (with the request)", || {
                    verify_timestamp(&x.ts_response, &x.ts_data, Some(&request), &x.ts_trust)
                });
            }
        }
        "certificate" => {
            r.call(name, "read_certificates", || read_certificates(&input));
            r.call(name, "verify_self_signed", || verify_self_signed(&input));
            r.call(name, "verify_certificate_chain", || verify_certificate_chain(&input, &x.ts_trust, x.ts_time));
            let with = |trust: TimestampTrust| verify_timestamp(&x.ts_response, &x.ts_data, None, &trust);
            let base = x.ts_trust.clone();
            r.call(name, "verify_timestamp (as the root)", || {
                with(TimestampTrust { roots: vec![input.clone()], ..base.clone() })
            });
            r.call(name, "verify_timestamp (as an intermediate)", || {
                with(TimestampTrust { intermediates: vec![input.clone()], ..base.clone() })
            });
            r.call(name, "verify_timestamp (as the TSA certificate)", || {
                with(TimestampTrust { tsa_certificate: Some(input.clone()), ..base.clone() })
            });
        }
        "package" => {
            let mut files = x.package.clone();
            for change in case.get("files").and_then(Value::as_array).unwrap() {
                let file = common::str_of(change, "name");
                files.retain(|f| f.name != file);
                if let Some(bytes) = optional(change, "input") {
                    files.push(PackageFile { name: file.to_owned(), bytes });
                }
            }
            r.call(name, "verify_package", || {
                let numbers: Vec<u8> = verify_package(&files).iter().map(|c| c.number).collect();
                assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7, 8, 11], "checks 1 to 8 and 11");
            });
        }
        other => panic!("{name}: unknown kind {other}"),
    }
    let elapsed = started.elapsed();
    if elapsed > TIME_LIMIT {
        r.failures.push(format!("{name}: the case took {elapsed:?}"));
    }
}

#[test]
fn no_hostile_input_panics_hangs_or_gives_a_code_outside_the_table() {
    let corpus = common::read_json("hostile.json");
    let x = context(&corpus);
    let cases = corpus.get("cases").and_then(Value::as_array).unwrap();
    let total = corpus.get("total").and_then(Value::as_number).and_then(|n| n.as_safe_u64()).unwrap();
    assert_eq!(cases.len() as u64, total);
    assert!(cases.len() >= 3000, "a corpus of a few thousand cases");
    let mut r = Runner { failures: Vec::new(), calls: 0, entry_points: Default::default() };
    // Panics are caught and reported as failures; keep their messages off stderr.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for case in cases {
        run_case(&mut r, &x, case);
    }
    std::panic::set_hook(hook);
    eprintln!(
        "{} cases, {} calls through {} entry points: {}",
        cases.len(),
        r.calls,
        r.entry_points.len(),
        r.entry_points.iter().copied().collect::<Vec<_>>().join(", ")
    );
    assert!(r.failures.is_empty(), "{} failures:\n{}", r.failures.len(), r.failures.join("\n"));
}

/// Input too large for the corpus file: a key set of 50,000 distinct keys (1.3 MB;
/// a key set may be 16 MiB) is read in linear time. Checking each entry against
/// every earlier one for duplicates took a minute for 50,000 keys (unoptimized),
/// and hours at 16 MiB.
#[test]
fn a_key_set_of_many_keys_is_read_in_linear_time() {
    let keys: Vec<String> = (0u32..50_000)
        .map(|i| format!("{{\"k\":\"{}\",\"kty\":\"oct\"}}", evidentia::encoding::b64url(&i.to_be_bytes())))
        .collect();
    let jwks = format!("{{\"keys\":[{}]}}", keys.join(","));
    let started = Instant::now();
    let set = KeySet::from_json(&jwks).unwrap();
    assert_eq!(set.len(), 50_000);
    assert!(started.elapsed() < TIME_LIMIT, "{:?}", started.elapsed());
    // A duplicate at the end is still found.
    let duplicate = format!("{{\"keys\":[{},{}]}}", keys.join(","), keys[0]);
    assert_eq!(KeySet::from_json(&duplicate).unwrap_err().code(), ErrorCode::KeySetMalformed);
}
