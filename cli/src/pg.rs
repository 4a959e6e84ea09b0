//! `evidentia log …` on a log kept in PostgreSQL (`postgres://…`, SPEC §25): the
//! commands a fleet of writers and their auditors need, through the store's
//! [`PgLog`]. The database remembers no key file: appends name theirs.

use std::path::Path;

use evidentia::json::Value;
use evidentia::{Error, ErrorCode, KeySet, NoteKey, Signer};
use evidentia_store::pg::{PgCreateOptions, PgLog};
use evidentia_store::{AppendOptions, Mode, NewEvent, postgres_location};

use crate::io::{out, outln, read_input, write_stdout};
use crate::log::LogCommand;
use crate::{Outcome, load_keys, load_signing_key, text};

/// Runs `command` when it names a log in PostgreSQL; `None` when it names a folder
/// (or a publication), which `log.rs` handles.
pub(crate) fn run(command: &LogCommand, json: bool) -> Result<Option<Outcome>, Error> {
    let location = match command {
        // What also reads a published log, from a web server.
        LogCommand::Prove { dir, .. } | LogCommand::Consistency { dir, .. } | LogCommand::Verify { dir, .. }
            if dir.to_str().is_some_and(evidentia_store::is_publication_url) =>
        {
            return Ok(None);
        }
        LogCommand::Init { dir, .. }
        | LogCommand::Append { dir, .. }
        | LogCommand::Checkpoint { dir, .. }
        | LogCommand::Prove { dir, .. }
        | LogCommand::Consistency { dir, .. }
        | LogCommand::Receipt { dir, .. }
        | LogCommand::Rotate { dir, .. }
        | LogCommand::Revoke { dir, .. }
        | LogCommand::NoteKey { dir, .. }
        | LogCommand::Verify { dir, .. } => dir,
        LogCommand::Erase { dir, .. }
        | LogCommand::Hold { dir, .. }
        | LogCommand::Release { dir, .. }
        | LogCommand::Holds { dir, .. }
        | LogCommand::Salt { dir, .. } => dir,
        LogCommand::Index { dir, .. }
        | LogCommand::Witness { dir, .. }
        | LogCommand::Archive { dir, .. }
        | LogCommand::Find { dir, .. }
            if postgres_location(dir)?.is_some() =>
        {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "this command is for logs in a folder so far, not for a log in PostgreSQL (SPEC §25.3)",
            ));
        }
        _ => return Ok(None),
    };
    let Some(url) = postgres_location(location)? else { return Ok(None) };
    let unsupported = |what: &str| Err(Error::new(ErrorCode::InvalidArgument, format!("a log in PostgreSQL {what}")));
    match command {
        LogCommand::Init { index_fields, .. } if !index_fields.is_empty() => {
            return unsupported("indexes no fields yet");
        }
        LogCommand::Init { key, id, mode, record_version, .. } => {
            init(url, key, id.as_deref(), mode, record_version.as_deref(), json)?;
        }
        LogCommand::Append { batch: true, event, key, .. } => {
            let key = load_signing_key(key.as_deref().ok_or_else(|| key_required("append", "--key"))?)?;
            let log = PgLog::open(url)?;
            crate::log::append_lines(|events| log.append_valid_prefix(key.as_ref(), events, None), event.as_deref())?;
        }
        LogCommand::Append { event, nonce, idempotent, key, .. } => {
            append(url, event.as_deref(), nonce.as_deref(), *idempotent, key.as_deref())?;
        }
        LogCommand::Checkpoint { key, .. } => checkpoint(url, key.as_deref())?,
        LogCommand::Prove { tlog_proof: Some(_), .. } => {
            return unsupported("has no cosigned checkpoints (no --tlog-proof)");
        }
        LogCommand::Prove { index, size, .. } => {
            outln!("{}", PgLog::open(url)?.inclusion_proof(*index, *size)?.to_json()?);
        }
        LogCommand::Receipt { key: Some(_), .. } => {
            return unsupported("needs no retired key to seal a receipt (no --key)");
        }
        LogCommand::Receipt { index, evidence, .. } => {
            let log = PgLog::open(url)?;
            let receipt = log.receipt(*index)?;
            if *evidence {
                let entry = log.entry(*index)?;
                let (event, salt) = evidentia::event_with_salt(&entry.record()?, entry.stored_event())?;
                out!("{}", evidentia::evidence_file(&receipt, &log.keys()?, Some(&event), salt.as_deref())?);
            } else {
                outln!("{receipt}");
            }
        }
        LogCommand::Consistency { from, to, .. } => {
            outln!("{}", PgLog::open(url)?.consistency_proof(*from, *to)?.to_json()?);
        }
        LogCommand::Rotate { key, current_key, .. } => {
            let current =
                load_signing_key(current_key.as_deref().ok_or_else(|| key_required("rotate", "--current-key"))?)?;
            let new_key = load_signing_key(key)?;
            let log = PgLog::open(url)?;
            log.rotate(current.as_ref(), new_key.as_ref())?;
            eprintln!("log {} now signs with key {}", log.log_id(), new_key.public_key().kid());
        }
        LogCommand::Revoke { kid, at, reason, key, .. } => {
            let at = evidentia::Timestamp::parse(at)?;
            let current = load_signing_key(key.as_deref().ok_or_else(|| key_required("revoke", "--key"))?)?;
            let log = PgLog::open(url)?;
            log.revoke(current.as_ref(), kid, at, reason.as_deref())?;
            // As the key history holds it: the instant its NumericDate denotes.
            eprintln!("log {}: key {kid} revoked from {} on", log.log_id(), at.as_numeric_date()?);
        }
        LogCommand::Erase { index, reason, key, .. } => {
            let current = load_signing_key(key.as_deref().ok_or_else(|| key_required("erase", "--key"))?)?;
            let log = PgLog::open(url)?;
            crate::log::erased(log.log_id(), *index, &log.erase(current.as_ref(), *index, reason)?);
        }
        LogCommand::Hold { index, reason, .. } => {
            PgLog::open(url)?.hold(*index, reason)?;
            crate::log::held(*index);
        }
        LogCommand::Release { index, .. } => crate::log::released(*index, PgLog::open(url)?.release(*index)?)?,
        LogCommand::Holds { .. } => crate::log::print_holds(&PgLog::open(url)?.holds()?)?,
        LogCommand::Salt { index, .. } => crate::log::print_salt(*index, PgLog::open(url)?.salt(*index)?, json)?,
        LogCommand::NoteKey { key, generate, .. } => return note_key(url, key.as_deref(), *generate, json).map(Some),
        LogCommand::Verify { from_checkpoint: Some(_), .. } => {
            return unsupported("is verified whole (no --from-checkpoint yet)");
        }
        LogCommand::Verify { jwks, report, .. } => {
            return verify(url, jwks.as_deref(), json, report.signer()?.as_ref()).map(Some);
        }
        _ => return Ok(None),
    }
    Ok(Some(Outcome::Valid))
}

/// `log note-key URL`: prints the log's note key (vkey), or gives it one.
fn note_key(url: &str, key: Option<&Path>, generate: bool, json: bool) -> Result<Outcome, Error> {
    let log = PgLog::open(url)?;
    let vkey = match key {
        None => log.note_vkey()?.ok_or_else(|| {
            Error::new(ErrorCode::InvalidArgument, "the log has no note key: give it one with --key FILE")
        })?,
        Some(path) if generate => {
            if path.to_str().is_some_and(evidentia_pkcs11::is_pkcs11_uri) {
                return Err(crate::log::generate_in_token());
            }
            if let Some(vkey) = log.note_vkey()? {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "the log has note key {vkey} already; witnesses know it by that key, so it is not replaced"
                    ),
                ));
            }
            let note_key = NoteKey::generate()?;
            crate::io::write_key_file(path, note_key.to_pem().trim_end().as_bytes(), false)?;
            log.set_note_key(&note_key)?
        }
        Some(path) => log.set_note_key(crate::log::load_note_key(path)?.as_ref())?,
    };
    crate::log::print_note_vkey(&vkey, json)
}

fn key_required(command: &str, option: &str) -> Error {
    Error::new(
        ErrorCode::InvalidArgument,
        format!("a log in PostgreSQL remembers no key file: pass {option} to `log {command}`"),
    )
}

pub(crate) fn copy(src: &Path, dst: &Path, json: bool) -> Result<Outcome, Error> {
    let url = match (postgres_location(src)?, postgres_location(dst)?) {
        (None, Some(url)) => url,
        (Some(url), None) => {
            PgLog::open(url)?.copy_to(dst)?;
            eprintln!("copied the log into {}; the copy verifies", dst.display());
            return Ok(Outcome::Valid);
        }
        _ => {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "`log copy` copies a log between a folder and a PostgreSQL database (postgres://…)",
            ));
        }
    };
    let reader = evidentia_store::LogReader::open(src)?;
    let mut progress = crate::progress::Progress::new("copying", Some(reader.len()));
    let copy = PgLog::copy_from(&reader, url, |done| progress.update(done))?;
    progress.finish();
    let size = copy.len()?;
    if json {
        let summary = Value::object([
            ("log_id", Value::from(copy.log_id())),
            (
                "records",
                Value::from(evidentia::json::Number::from_i64(size as i64).unwrap_or(evidentia::json::Number::from(0))),
            ),
        ]);
        outln!("{}", text(&summary));
    } else {
        eprintln!("copied log {} ({size} records) into PostgreSQL; the copy verifies", copy.log_id());
    }
    Ok(Outcome::Valid)
}

fn init(url: &str, key: &Path, id: Option<&str>, mode: &str, version: Option<&str>, json: bool) -> Result<(), Error> {
    let signing = load_signing_key(key)?;
    let options = PgCreateOptions {
        log_id: id.map(str::to_owned),
        mode: Mode::from_name(mode)?,
        key_valid_from: None,
        record_version: crate::log::record_version_arg(version),
    };
    let log = PgLog::create(url, signing.as_ref(), options)?;
    crate::log::created(None, signing.public_key().kid(), log.log_id(), log.mode(), json);
    Ok(())
}

fn append(
    url: &str,
    event: Option<&Path>,
    nonce: Option<&str>,
    idempotent: bool,
    key: Option<&Path>,
) -> Result<(), Error> {
    let key = load_signing_key(key.ok_or_else(|| key_required("append", "--key"))?)?;
    let log = PgLog::open(url)?;
    let event = read_input(event)?;
    let options = AppendOptions { idempotent, ..AppendOptions::default() };
    for a in log.append_events(key.as_ref(), &[NewEvent { json: &event, nonce }], options)? {
        if a.replayed {
            eprintln!("the nonce is already in the log: record {} (the same event), appended before", a.seq);
        }
        write_stdout(format!("{}\n", a.to_line()).as_bytes())?;
    }
    Ok(())
}

fn checkpoint(url: &str, key: Option<&Path>) -> Result<(), Error> {
    let log = PgLog::open(url)?;
    let note = match (log.latest_checkpoint()?, key) {
        (Some((size, note)), _) if size == log.len()? => note,
        (_, None) => return Err(key_required("checkpoint", "--key")),
        (_, Some(key)) => log.checkpoint(load_signing_key(key)?.as_ref())?.1,
    };
    write_stdout(note.as_bytes())
}

fn verify(url: &str, jwks: Option<&Path>, json: bool, signer: Option<&crate::AnySigner>) -> Result<Outcome, Error> {
    let log = PgLog::open(url)?;
    let keys: Option<KeySet> = jwks.map(load_keys).transpose()?;
    let report = log.verify(keys.as_ref())?;
    if jwks.is_none() && !json {
        outln!("(keys: the log's own key history; pass --jwks with keys you trust to check who signed)");
    }
    crate::report::print_report(report, json, signer)
}
