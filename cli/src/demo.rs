//! `evidentia demo`: the tour a newcomer runs first. It makes keys and a log on the
//! local disk, appends 1,000 payment approvals (rotating the signing key midway),
//! verifies the log, then tampers with copies and shows each change detected.

use std::path::{Path, PathBuf};
use std::time::Instant;

use evidentia::json::{Value, parse};
use evidentia::{Error, ErrorCode, KeySet, Report, SigningKey, canonicalize_value, verify_receipt_salted};
use evidentia_store::{CreateOptions, Entry, Log, LogReader, Mode, verify_dir};

use crate::Outcome;
use crate::io::{outln, write_key_file};

const EVENTS: usize = 1000;
const ROTATE_AFTER: usize = 600;
const LOG_ID: &str = "demo.evidentia.dev/payments";
/// The record whose event the demo edits and whose receipt it checks on its own.
const EDITED: usize = 421;
const DELETED: usize = 700;
const SWAPPED: usize = 250;

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::new(ErrorCode::Io, format!("cannot {what} {}: {e}", path.display()))
}

/// A payment approval as a bank's approval service would record it; the numbers
/// vary with `i` but the same `i` always gives the same event.
fn payment_event(i: usize) -> String {
    const DEBTORS: [(&str, &str); 4] = [
        ("Alice Martin", "FR7630006000011234567890189"),
        ("Björn Svensson", "SE4550000000058398257466"),
        ("Chiara Rossi", "IT60X0542811101000000123456"),
        ("Daniel O'Brien", "IE29AIBK93115212345678"),
    ];
    const CREDITORS: [(&str, &str); 3] = [
        ("ACME Supplies GmbH", "DE89370400440532013000"),
        ("Nordic Freight AB", "SE3550000000054910000003"),
        ("Café Lumière SARL", "FR1420041010050500013M02606"),
    ];
    let mix = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
    let (debtor, debtor_iban) = DEBTORS[i % DEBTORS.len()];
    let (creditor, creditor_iban) = CREDITORS[(i / 4) % CREDITORS.len()];
    let cents = 1_000 + mix % 2_500_000;
    let channel = ["mobile-app", "web", "branch", "api"][(mix % 4) as usize];
    format!(
        r#"{{
  "type": "payment.approved",
  "payment_id": "PAY-2026-{i:06}",
  "amount": {{ "value": "{}.{:02}", "currency": "EUR" }},
  "debtor": {{ "name": "{debtor}", "iban": "{debtor_iban}" }},
  "creditor": {{ "name": "{creditor}", "iban": "{creditor_iban}" }},
  "approved_by": "officer-{:02}",
  "channel": "{channel}",
  "strong_customer_authentication": true
}}"#,
        cents / 100,
        cents % 100,
        mix % 40,
    )
}

fn prepare_dir(dir: Option<&Path>) -> Result<PathBuf, Error> {
    let dir = match dir {
        Some(dir) => dir.to_owned(),
        None => {
            let stamp =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
            std::env::temp_dir().join(format!("evidentia-demo-{stamp}-{}", std::process::id()))
        }
    };
    if dir.exists() && std::fs::read_dir(&dir).map_err(|e| io_error("read", &dir, &e))?.next().is_some() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("{} is not empty; give the demo a new or empty directory", dir.display()),
        ));
    }
    std::fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, &e))?;
    Ok(dir)
}

/// Prints a line unless the output is JSON.
struct Narrator {
    quiet: bool,
}

impl Narrator {
    fn say(&self, line: impl AsRef<str>) {
        if !self.quiet {
            outln!("{}", line.as_ref());
        }
    }
}

struct Tampering {
    name: &'static str,
    what: String,
    report: Report,
}

pub(crate) fn run(dir: Option<&Path>, json: bool) -> Result<Outcome, Error> {
    let out = Narrator { quiet: json };
    let dir = prepare_dir(dir)?;
    out.say("Evidentia demo: tamper-evident evidence for 1,000 payment approvals");
    out.say(format!("Working in {}\n", dir.display()));

    // 1. Keys.
    let keys_dir = dir.join("keys");
    std::fs::create_dir_all(&keys_dir).map_err(|e| io_error("create", &keys_dir, &e))?;
    let first_key = SigningKey::generate()?;
    let second_key = SigningKey::generate()?;
    let first_path = keys_dir.join("issuer-key-1.jwk");
    let second_path = keys_dir.join("issuer-key-2.jwk");
    write_key_file(&first_path, first_key.to_jwk().as_bytes(), false)?;
    write_key_file(&second_path, second_key.to_jwk().as_bytes(), false)?;
    out.say("1. Made two P-256 signing keys (private JWK files, mode 0600)");
    out.say(format!("   key 1: kid {}", first_key.kid()));
    out.say(format!("   key 2: kid {}", second_key.kid()));

    // 2. The log.
    let log_dir = dir.join("log");
    let options = CreateOptions {
        log_id: Some(LOG_ID.into()),
        key_file: Some(first_path),
        mode: Mode::Receipts,
        ..CreateOptions::default()
    };
    let log = Log::create(&log_dir, &first_key, options)?;
    out.say(format!("2. Created the log {LOG_ID} in {}", log_dir.display()));

    // 3. Appending.
    let started = Instant::now();
    let mut kept = None;
    for i in 0..EVENTS {
        if i == ROTATE_AFTER {
            log.rotate(&first_key, &second_key, Some(second_path.clone()))?;
        }
        let key = if i < ROTATE_AFTER { &first_key } else { &second_key };
        let event = payment_event(i);
        let appended = log.append(key, event.as_bytes(), Some(&format!("req-{i:06}")))?;
        if i == EDITED {
            kept = Some((appended.to_line(), event, appended.salt));
        }
    }
    let append_time = started.elapsed().as_secs_f64();
    let checkpoint = log.checkpoint(&second_key)?;
    drop(log);
    out.say(format!(
        "3. Appended {EVENTS} payment approvals in {append_time:.2} s ({:.0} per second, each flushed to disk before its receipt)",
        EVENTS as f64 / append_time
    ));
    out.say(format!(
        "   records 0-{} signed with key 1; then the key was rotated; records {ROTATE_AFTER}-{} signed with key 2",
        ROTATE_AFTER - 1,
        EVENTS - 1
    ));

    out.say(format!(
        "   signed a checkpoint of all {} records (the Merkle tree root, C2SP signed note):",
        checkpoint.size
    ));
    for line in checkpoint.note.lines() {
        out.say(format!("     | {line}"));
    }

    let Some((receipt, event, salt)) = kept else {
        return Err(Error::new(ErrorCode::Internal, "the demo did not keep its sample receipt"));
    };
    let receipt_path = dir.join(format!("receipt-{EDITED}.jws"));
    let event_path = dir.join(format!("event-{EDITED}.json"));
    std::fs::write(&receipt_path, format!("{receipt}\n")).map_err(|e| io_error("write", &receipt_path, &e))?;
    std::fs::write(&event_path, &event).map_err(|e| io_error("write", &event_path, &e))?;

    // 4. Verifying the untouched log.
    let started = Instant::now();
    let report = verify_dir(&log_dir, None, |_| {})?;
    let verify_time = started.elapsed().as_secs_f64();
    out.say(format!("4. Verified the whole log in {verify_time:.2} s:"));
    out.say(format!("   {}", report.summary()));
    let original_valid = report.is_valid();

    // A single receipt, checked on its own, offline, as a counterparty would.
    let keys = KeySet::from_json(
        &std::fs::read_to_string(log_dir.join("keys.jwks")).map_err(|e| io_error("read", &log_dir, &e))?,
    )?;
    let receipt_ok = verify_receipt_salted(&receipt, &keys, Some(event.as_bytes()), salt.as_deref())?;
    let altered_event = event.replacen("\"officer-", "\"intruder-", 1);
    let receipt_altered = verify_receipt_salted(&receipt, &keys, Some(altered_event.as_bytes()), salt.as_deref())?;
    out.say(format!("   receipt {EDITED} with its event, checked alone: {}", receipt_ok.summary()));
    out.say(format!("   the same receipt with an altered event:         {}", receipt_altered.summary()));
    let reader = LogReader::open(&log_dir)?;
    let proof = reader.inclusion_proof(EDITED as u64, None)?;
    let record = reader.entry(EDITED as u64)?.record_bytes()?;
    evidentia::verify_inclusion_in_checkpoint(&record, &proof, &checkpoint.note, &keys)?;
    out.say(format!(
        "   record {EDITED} is in the signed checkpoint: an inclusion proof of {} hashes verified",
        proof.hashes.len()
    ));

    // 5. Tampering with copies.
    out.say("5. Tampered with three copies of the log and verified each:");
    let mut entries = Vec::new();
    reader.for_each_entry(|entry| {
        entries.push(entry.map_err(|reason| Error::new(ErrorCode::LogCorrupt, reason))?.to_owned());
        Ok(())
    })?;
    let mut tamperings = Vec::new();

    let mut edited = entries.clone();
    if let Entry::Receipt { event, .. } = &mut edited[EDITED] {
        *event = edit_amount(event)?;
    }
    let what = format!("changed the amount of payment {EDITED}");
    tamperings.push(tamper(&reader, &dir.join("tampered-edit"), &edited, "edit", what)?);

    let mut deleted = entries.clone();
    deleted.remove(DELETED);
    let what = format!("deleted record {DELETED}");
    tamperings.push(tamper(&reader, &dir.join("tampered-delete"), &deleted, "delete", what)?);

    let mut swapped = entries;
    swapped.swap(SWAPPED, SWAPPED + 1);
    let what = format!("swapped records {SWAPPED} and {}", SWAPPED + 1);
    tamperings.push(tamper(&reader, &dir.join("tampered-swap"), &swapped, "swap", what)?);

    for t in &tamperings {
        out.say(format!("   - {}: {}", t.what, if t.report.is_valid() { "NOT DETECTED" } else { "detected" }));
        out.say(format!("     {}", t.report.summary()));
        for finding in t.report.findings().iter().take(3) {
            let place = finding.index.map(|i| format!("record {i}: ")).unwrap_or_default();
            out.say(format!("       {place}{} [{}]", finding.message, finding.code.name()));
        }
    }

    let all_detected = tamperings.iter().all(|t| !t.report.is_valid()) && !receipt_altered.is_valid();
    let success = original_valid && receipt_ok.is_valid() && all_detected;
    if json {
        let tampering_values = tamperings
            .iter()
            .map(|t| {
                let codes = t.report.failure_codes().iter().map(|c| Value::from(c.name())).collect();
                Value::object([
                    ("codes", Value::Array(codes)),
                    ("description", Value::from(t.what.as_str())),
                    ("detected", Value::Bool(!t.report.is_valid())),
                    ("name", Value::from(t.name)),
                ])
            })
            .collect();
        let summary = Value::object([
            ("dir", Value::from(dir.display().to_string())),
            ("log_id", Value::from(LOG_ID)),
            ("records", Value::from(EVENTS as u32)),
            ("success", Value::Bool(success)),
            ("tamperings", Value::Array(tampering_values)),
            ("valid", Value::Bool(original_valid)),
        ]);
        outln!("{}", crate::text(&summary));
    } else {
        out.say("");
        if success {
            out.say("Result: the untouched log verifies, and every tampering was detected.");
        } else {
            out.say("Result: FAILED: the demo did not behave as it should.");
        }
        out.say("\nTry it yourself:");
        out.say(format!("   evidentia log verify {}", log_dir.display()));
        let salt = salt.map(|salt| format!(" --salt-hex {}", evidentia::encoding::hex(&salt))).unwrap_or_default();
        out.say(format!(
            "   evidentia receipt verify {} --jwks {} --event {}{salt}",
            receipt_path.display(),
            log_dir.join("keys.jwks").display(),
            event_path.display()
        ));
        out.say(format!("   evidentia log verify {}", dir.join("tampered-swap").display()));
    }
    Ok(if success { Outcome::Valid } else { Outcome::Invalid })
}

/// Raises the amount of a stored payment event, keeping it canonical (and its salt,
/// for a salted event) as a careful forger would.
fn edit_amount(stored: &[u8]) -> Result<Vec<u8>, Error> {
    match evidentia::StoredEvent::read(stored)? {
        Some(evidentia::StoredEvent::Salted { salt, event }) => {
            evidentia::StoredEvent::salted(salt, &edit_json(event)?)
        }
        _ => edit_json(stored),
    }
}

fn edit_json(event: &[u8]) -> Result<Vec<u8>, Error> {
    let Value::Object(mut members) = parse(event)? else {
        return Err(Error::new(ErrorCode::Internal, "the demo event is not an object"));
    };
    for (name, value) in &mut members {
        if name == "amount"
            && let Value::Object(amount) = value
        {
            for (field, v) in amount.iter_mut() {
                if field == "value" {
                    *v = Value::from("98500.00");
                }
            }
        }
    }
    canonicalize_value(&Value::Object(members))
}

/// Writes a copy of the log with `entries`, as someone with write access to the
/// files could (the copy keeps the original's signed checkpoints), and verifies it.
fn tamper(
    source: &LogReader,
    target: &Path,
    entries: &[Entry],
    name: &'static str,
    what: String,
) -> Result<Tampering, Error> {
    source.write_copy(target, entries)?;
    let report = verify_dir(target, None, |_| {})?;
    Ok(Tampering { name, what, report })
}
