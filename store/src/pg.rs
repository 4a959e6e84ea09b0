//! Logs kept in PostgreSQL (`postgres://…`): one log per database, shared by any
//! number of writer processes on any number of hosts (SPEC.md §25).
//!
//! Sequencing is gap-free because every append locks the log's one head row
//! (`SELECT … FOR UPDATE`) in the transaction that inserts its entries, and reads
//! the chain's last record, the tree's right edge and the size from that row. A
//! `SEQUENCE` would not do: PostgreSQL documents that a rolled-back transaction
//! leaves a gap in one. An append returns only after its transaction commits, so
//! an acknowledged record is in the database; one that did not commit left nothing.
//!
//! The records, receipts and checkpoints are made and checked by the core exactly
//! as for a log folder: the same receipts, checkpoints, proofs and reports come out.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use evidentia::merkle::{Accumulator, Hash, NodeSource, leaf_hash};
use evidentia::{
    ChainState, Checkpoint, ConsistencyProof, Digest, Erasure, Error, ErrorCode, InclusionProof, KeyRecord, KeySet,
    LogVerifier, LogVerifyOptions, NoteSigner, PreparedCheckpoint, Receipt, Record, RecordVersion, Report, Result,
    Signer, StoredEvent, Timestamp, Validity, add_note_signature, note_log_key, record_time, sign_checkpoint,
    verify_log_note,
};
use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row, Statement, Transaction};

use crate::checkpoints::StoredCheckpoint;
use crate::config::{Config, Mode, NoteKeyConfig, random_log_id};
use crate::erasure::Hold;
use crate::package::{KeyRecords, PackageSource};
use crate::reader::LogReader;
use crate::segments::{Entry, EntryRef};
use crate::tiles::PublishSource;
use crate::timestamps::StoredTimestamp;
use crate::writer::{
    AppendOptions, Appended, NewEvent, PrefixAppended, check_signer, commit_to, handover, now, random_salt, retried,
    revocation, valid_prefix,
};

/// How long connecting may take: the socket, then startup and authentication.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Connection attempts of this process given up on but still waiting for the
/// server (see [`connect`]), and how many may be.
static ABANDONED_CONNECTS: AtomicUsize = AtomicUsize::new(0);
const MAX_ABANDONED_CONNECTS: usize = 8;

/// The schema version this code writes and reads; `init` creates it and opening
/// migrates an older one ([`MIGRATIONS`]).
pub const SCHEMA_VERSION: i32 = 3;

/// What brings a schema of version `n + 1` to `n + 2`: each runs once, in the
/// transaction that records the new version, under [`SCHEMA_LOCK`].
const MIGRATIONS: [&str; 2] = [
    // 1 → 2: the log's Ed25519 note key (SPEC.md §10.1), by its vkey.
    "ALTER TABLE evidentia.log ADD COLUMN note_vkey text",
    // 2 → 3: the version of the records the log writes, 1 for the logs made before
    // (SPEC.md §26), and the legal holds (§27.4); no statistics of the events (see
    // SCHEMA), and those collected before dropped: PostgreSQL drops a column's
    // statistics when its type is set, here to the type it has, without a rewrite.
    "ALTER TABLE evidentia.log ADD COLUMN record_version integer NOT NULL DEFAULT 1 CHECK (record_version IN (1, 2));
     CREATE TABLE evidentia.holds (
         seq bigint PRIMARY KEY CHECK (seq >= 0), reason text NOT NULL, since text NOT NULL);
     ALTER TABLE evidentia.entries ALTER COLUMN event TYPE bytea;
     ALTER TABLE evidentia.entries ALTER COLUMN event SET STATISTICS 0",
];

const SCHEMA: &str = "
CREATE SCHEMA evidentia;
CREATE TABLE evidentia.schema_version (version integer NOT NULL);
-- The head row: locked by every append, it orders them.
CREATE TABLE evidentia.log (
    one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    log_id text NOT NULL,
    mode text NOT NULL CHECK (mode IN ('receipts', 'batch')),
    keys text NOT NULL,
    size bigint NOT NULL CHECK (size >= 0),
    last_record bytea,
    peaks bytea NOT NULL,
    note_vkey text,
    record_version integer NOT NULL DEFAULT 1 CHECK (record_version IN (1, 2))
);
-- Receipts mode stores the receipt, batch mode the record's canonical bytes;
-- `event` is the stored event (SPEC.md §16): canonical JSON, salted, or erased.
CREATE TABLE evidentia.entries (
    seq bigint PRIMARY KEY CHECK (seq >= 0),
    receipt text,
    record bytea,
    event bytea NOT NULL,
    CHECK ((receipt IS NULL) <> (record IS NULL))
);
-- ANALYZE copies sampled column values into pg_statistic, where an erasure would
-- not reach them (SPEC.md §25.6): events are never sampled.
ALTER TABLE evidentia.entries ALTER COLUMN event SET STATISTICS 0;
CREATE TABLE evidentia.nonces (nonce text PRIMARY KEY, seq bigint NOT NULL UNIQUE);
-- Every perfect subtree's hash: proofs read O(log n) rows.
CREATE TABLE evidentia.nodes (
    level integer NOT NULL,
    idx bigint NOT NULL,
    hash bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);
CREATE TABLE evidentia.checkpoints (size bigint PRIMARY KEY, note text NOT NULL);
CREATE TABLE evidentia.holds (seq bigint PRIMARY KEY CHECK (seq >= 0), reason text NOT NULL, since text NOT NULL);
";

/// The entry in `row`'s columns `first..first + 3`: receipt, record and event.
fn entry_of(row: &Row, seq: u64, first: usize) -> Result<Entry> {
    match (col(row, first)?, col(row, first + 1)?, col(row, first + 2)?) {
        (Some(receipt), None, event) => Ok(Entry::Receipt { receipt, event }),
        (None, Some(record), event) => Ok(Entry::Record { record, event }),
        _ => Err(corrupt(format!("entry {seq} holds neither a receipt nor a record"))),
    }
}

/// An advisory lock key that serializes schema creation and migration.
const SCHEMA_LOCK: i64 = 0x6576_6964_656e_7469;

/// What PostgreSQL said, with the server's own message when it gave one.
fn db_error(doing: &str, e: &postgres::Error) -> Error {
    if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
        return Error::new(
            ErrorCode::LogLocked,
            format!("PostgreSQL: could not {doing}: another writer held the log for over a minute"),
        );
    }
    let said = match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    Error::new(ErrorCode::Io, format!("PostgreSQL: could not {doing}: {said}"))
}

/// Column `i` of `row`, or LOG_CORRUPT when the database holds something else there
/// (a NULL, another type): never a panic.
fn col<'a, T: postgres::types::FromSql<'a>>(row: &'a postgres::Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(|e| corrupt(format!("column {i} of a row: {e}")))
}

/// A count or sequence number as the database holds it (bigint), never negative.
fn count(row: &postgres::Row, i: usize) -> Result<u64> {
    u64::try_from(col::<i64>(row, i)?).map_err(|_| corrupt("a negative count or sequence number"))
}

/// The head row, which a log always has.
fn head(rows: Vec<Row>) -> Result<Row> {
    let mut rows = rows.into_iter();
    match (rows.next(), rows.next()) {
        (Some(row), None) => Ok(row),
        (None, _) => Err(corrupt("the head row is missing")),
        (Some(_), Some(_)) => Err(corrupt("there is more than one head row")),
    }
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::LogCorrupt, format!("the log in PostgreSQL is damaged: {what}"))
}

fn connect(url: &str) -> Result<Client> {
    // The client's parser knows the schemes in lower case only.
    let url = match url.split_once("://") {
        Some((scheme, rest)) if crate::is_postgres_url(url) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
        _ => url.to_owned(),
    };
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("not a PostgreSQL connection URL: {e}")))?;
    if config.get_hosts().is_empty() {
        return Err(Error::new(ErrorCode::InvalidArgument, "the PostgreSQL URL names no host"));
    }
    // A lost network or host is noticed within about a minute, not the system's
    // two hours, and a connection attempt is bounded (the URL's connect_timeout
    // wins for the socket).
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(60));
    let deadline = *config.get_connect_timeout().unwrap_or(&CONNECT_TIMEOUT) + Duration::from_secs(5);
    let tls = tls()?;
    // The socket's timeout does not cover the startup and authentication that
    // follow, which a server that accepts and never answers would hold forever:
    // the whole connection is made on a thread and given up after a deadline.
    // A thread given up on cannot be stopped: it ends when the server answers or
    // drops the connection. So few may be left hanging at once, or a server that
    // never answers would make every retry leak a thread and its socket.
    if ABANDONED_CONNECTS.load(Ordering::SeqCst) >= MAX_ABANDONED_CONNECTS {
        return Err(Error::new(
            ErrorCode::Io,
            format!(
                "{MAX_ABANDONED_CONNECTS} earlier connections to PostgreSQL are still waiting for the server to answer"
            ),
        ));
    }
    // 0 while connecting, 1 once done, 2 once given up on: whichever side moves
    // it from 0 first decides whether the attempt counts as abandoned.
    let state = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
    let (sender, receiver) = std::sync::mpsc::channel();
    let thread_state = state.clone();
    std::thread::Builder::new()
        .name("evidentia-pg-connect".into())
        .spawn(move || {
            let connected = config.connect(tls);
            if thread_state.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_err() {
                ABANDONED_CONNECTS.fetch_sub(1, Ordering::SeqCst);
            }
            drop(sender.send(connected));
        })
        .map_err(|e| Error::new(ErrorCode::Io, format!("cannot start a thread to connect: {e}")))?;
    let connected = receiver.recv_timeout(deadline).map_err(|_| {
        if state.compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            ABANDONED_CONNECTS.fetch_add(1, Ordering::SeqCst);
        }
        Error::new(ErrorCode::Io, format!("PostgreSQL did not complete the connection within {} s", deadline.as_secs()))
    })?;
    let mut client = connected.map_err(|e| db_error("connect", &e))?;
    // A writer that stalls holding the head's lock (a frozen host, a lost
    // network) is cut off by the server after a minute, and one waiting for that
    // lock gives up after a minute too (LOG_LOCKED), rather than the fleet hanging.
    client
        .batch_execute("SET idle_in_transaction_session_timeout = '60s'; SET lock_timeout = '60s'")
        .map_err(|e| db_error("configure the session", &e))?;
    Ok(client)
}

/// rustls with the web's root certificates, and the one named by `PGSSLROOTCERT`
/// (as libpq reads it) for a private CA. TLS is used as the URL's `sslmode` says.
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = std::env::var_os("PGSSLROOTCERT") {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let certs = CertificateDer::pem_file_iter(&path).map_err(|e| {
            Error::new(ErrorCode::InvalidArgument, format!("PGSSLROOTCERT {}: {e}", path.to_string_lossy()))
        })?;
        for cert in certs {
            let cert = cert.map_err(|e| {
                Error::new(ErrorCode::InvalidArgument, format!("PGSSLROOTCERT {}: {e}", path.to_string_lossy()))
            })?;
            roots.add(cert).map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("PGSSLROOTCERT: {e}")))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorCode::Internal, format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// How a PostgreSQL log is created.
#[derive(Clone, Debug, Default)]
pub struct PgCreateOptions {
    /// The log id; a random one when `None`.
    pub log_id: Option<String>,
    /// Whether every record gets a receipt, or each append a checkpoint.
    pub mode: Mode,
    /// From when the first key is valid (now when `None`).
    pub key_valid_from: Option<Timestamp>,
    /// The version of the records the log writes: 2 (salted events that can be
    /// erased, SPEC.md §27) or 1; [`crate::DEFAULT_RECORD_VERSION`] when `None`.
    pub record_version: Option<RecordVersion>,
}

/// A log kept in PostgreSQL, open for appending and reading. Any number of them,
/// in any number of processes, may append to the same log at once.
pub struct PgLog {
    connection: Mutex<Connection>,
    /// Where to connect again after the connection broke (never shown: it may
    /// hold a password).
    url: String,
    log_id: String,
    mode: Mode,
    /// The version of the records it writes, fixed when it was made.
    record_version: RecordVersion,
}

impl std::fmt::Debug for PgLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLog").field("log_id", &self.log_id).field("mode", &self.mode).finish_non_exhaustive()
    }
}

/// A connection and the statements prepared on it.
struct Connection {
    client: Client,
    prepared: Prepared,
}

impl Connection {
    fn new(client: Client) -> Connection {
        Connection { client, prepared: Prepared::default() }
    }
}

/// The statements of this module prepared on one connection, by their text:
/// each is parsed once per connection rather than once per call, which spares a
/// round trip per statement (an append holds the head's lock across every one)
/// and lets PostgreSQL reuse its plan. Any failure empties the cache, so that a
/// statement a schema change made stale ("cached plan must not change result
/// type") fails one call, not every call after it.
#[derive(Default)]
struct Prepared(std::collections::HashMap<&'static str, Statement>);

type Params<'a> = [&'a (dyn ToSql + Sync)];

impl Prepared {
    fn statement(&mut self, client: &mut impl GenericClient, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        self.0.insert(sql, statement.clone());
        Ok(statement)
    }

    fn query(
        &mut self,
        client: &mut impl GenericClient,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(client, sql)?;
        client.query(&statement, params).inspect_err(|_| self.0.clear())
    }

    fn query_opt(
        &mut self,
        client: &mut impl GenericClient,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(client, sql)?;
        client.query_opt(&statement, params).inspect_err(|_| self.0.clear())
    }

    fn execute(
        &mut self,
        client: &mut impl GenericClient,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(client, sql)?;
        client.execute(&statement, params).inspect_err(|_| self.0.clear())
    }
}

/// The rows an append inserts, column by column (one array parameter each).
#[derive(Default)]
struct NewRows {
    seqs: Vec<i64>,
    receipts: Vec<Option<String>>,
    records: Vec<Option<Vec<u8>>>,
    events: Vec<Vec<u8>>,
    nonces: Vec<String>,
    nonce_seqs: Vec<i64>,
    levels: Vec<i32>,
    indexes: Vec<i64>,
    hashes: Vec<Vec<u8>>,
}

/// The head row, read under its lock.
struct Head {
    keys: KeySet,
    size: u64,
    chain: ChainState,
    tree: Accumulator,
}

impl PgLog {
    /// Creates the schema and an empty log whose first key is `key` in the
    /// database `url` names.
    ///
    /// # Errors
    /// [`ErrorCode::LogExists`] when the database holds a log already;
    /// [`ErrorCode::Io`] when PostgreSQL cannot be reached or refuses.
    pub fn create(url: &str, key: &dyn Signer, options: PgCreateOptions) -> Result<PgLog> {
        let log_id = match options.log_id {
            Some(id) => id,
            None => random_log_id()?,
        };
        evidentia::validate_new_log_id(&log_id)?;
        let mut keys = KeySet::new();
        let valid_from = options.key_valid_from.map_or_else(now, Ok)?;
        keys.add(key.public_key(), Validity { not_before: Some(valid_from), ..Validity::default() })?;
        let record_version = options.record_version.unwrap_or(crate::DEFAULT_RECORD_VERSION);
        let mut client = connect(url)?;
        let mut tx = client.transaction().map_err(|e| db_error("begin", &e))?;
        create_schema(&mut tx, &log_id, options.mode, &keys.to_json(), record_version)?;
        tx.commit().map_err(|e| db_error("commit", &e))?;
        Ok(PgLog {
            connection: Mutex::new(Connection::new(client)),
            url: url.to_owned(),
            log_id,
            mode: options.mode,
            record_version,
        })
    }

    /// Copies the log `source` (a folder) into the database `url` names, which must
    /// hold no log yet: the same log id, mode, key history, entries (receipts and
    /// records as signed, never signed again) and checkpoints. The source must
    /// verify first, and the copy must verify after, with the same latest
    /// checkpoint; the copy is one transaction, so a failed copy leaves nothing.
    ///
    /// # Errors
    /// [`ErrorCode::LogCorrupt`] when the source or the copy does not verify;
    /// [`ErrorCode::LogExists`]; [`ErrorCode::Io`].
    pub fn copy_from(source: &LogReader, url: &str, mut progress: impl FnMut(u64)) -> Result<PgLog> {
        if source.dir.join(crate::erasure::ERASING_FILE).exists() {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "an erasure of the log to copy is unfinished: opening the log for writing finishes it (`evidentia log holds DIR` does); nothing was copied",
            ));
        }
        let holds = crate::erasure::read_holds(&source.dir)?;
        let report = source.verify(None, |_| {})?;
        if !report.is_valid() {
            return Err(Error::new(
                ErrorCode::LogCorrupt,
                "the log to copy does not verify: run `log verify` on it to see why; nothing was copied",
            ));
        }
        let mut client = connect(url)?;
        let mut tx = client.transaction().map_err(|e| db_error("begin", &e))?;
        let record_version = source.record_version();
        create_schema(&mut tx, source.log_id(), source.mode(), &source.keys().to_json(), record_version)?;
        for hold in &holds {
            tx.execute(
                "INSERT INTO evidentia.holds (seq, reason, since) VALUES ($1, $2, $3)",
                &[&(hold.seq as i64), &hold.reason, &hold.since.to_string()],
            )
            .map_err(|e| db_error("copy a legal hold", &e))?;
        }
        if let Some(vkey) = source.note_key().map(|key| key.to_vkey()) {
            tx.execute("UPDATE evidentia.log SET note_vkey = $1", &[&vkey])
                .map_err(|e| db_error("copy the note key", &e))?;
        }
        let mut prepared = Prepared::default();
        let (mut rows, mut tree, mut last, mut seq) = (NewRows::default(), Accumulator::new(), None, 0u64);
        source.for_each_entry(|entry| {
            let entry = entry.map_err(|why| Error::new(ErrorCode::LogCorrupt, why))?;
            let (record, receipt, stored, event) = match entry {
                EntryRef::Receipt { receipt, event } => {
                    (Receipt::parse(receipt)?.record().clone(), Some(receipt.to_owned()), None, event)
                }
                EntryRef::Record { record, event } => (Record::from_bytes(record)?, None, Some(record.to_vec()), event),
            };
            let bytes = record.to_bytes();
            rows.seqs.push(seq as i64);
            rows.receipts.push(receipt);
            rows.records.push(stored);
            rows.events.push(event.to_vec());
            if let Some(nonce) = &record.nonce {
                rows.nonces.push(nonce.clone());
                rows.nonce_seqs.push(seq as i64);
            }
            tree.push_with(leaf_hash(&bytes), |level, index, hash| {
                rows.levels.push(level as i32);
                rows.indexes.push(index as i64);
                rows.hashes.push(hash.to_vec());
            });
            last = Some(bytes);
            seq += 1;
            if rows.seqs.len() == 4096 {
                write_copied(&mut tx, &mut prepared, &rows, seq, last.as_deref(), &tree)?;
                rows = NewRows::default();
                progress(seq);
            }
            Ok(())
        })?;
        write_copied(&mut tx, &mut prepared, &rows, seq, last.as_deref(), &tree)?;
        for checkpoint in source.checkpoints()? {
            tx.execute(
                "INSERT INTO evidentia.checkpoints (size, note) VALUES ($1, $2)",
                &[&(checkpoint.size as i64), &checkpoint.note],
            )
            .map_err(|e| db_error("copy a checkpoint", &e))?;
        }
        tx.commit().map_err(|e| db_error("commit", &e))?;
        progress(seq);
        let copy = PgLog {
            connection: Mutex::new(Connection { client, prepared }),
            url: url.to_owned(),
            log_id: source.log_id().to_owned(),
            mode: source.mode(),
            record_version,
        };
        let same = copy.latest_checkpoint()? == source.latest_checkpoint()?.map(|c| (c.size, c.note));
        if !copy.verify(Some(source.keys()))?.is_valid() || !same || copy.len()? != source.len() {
            return Err(Error::new(
                ErrorCode::LogCorrupt,
                "the copy in PostgreSQL does not verify as the log it was copied from: run `log verify` on both",
            ));
        }
        Ok(copy)
    }

    /// Writes the evidence package of record `index` (SPEC.md §19) to the new
    /// folder `out` and to `out.tar.gz`, as [`crate::export_package`] does for a
    /// log folder, from one snapshot of the log: appends and rotations committing
    /// meanwhile are not seen. The log keeps no timestamps or witnesses'
    /// cosignatures, so its packages carry none.
    ///
    /// # Errors
    /// As [`crate::export_package`].
    pub fn export_package(&self, index: u64, out: &Path) -> Result<PathBuf> {
        self.export_package_disclosing(index, out, None)
    }

    /// As [`PgLog::export_package`], for a version-2 record disclosing only the
    /// members `disclose` names (all for `None`; SPEC.md §19 check 13).
    ///
    /// # Errors
    /// As [`crate::export_package_disclosing`].
    pub fn export_package_disclosing(&self, index: u64, out: &Path, disclose: Option<&[String]>) -> Result<PathBuf> {
        self.with(|client, prepared| {
            let mut tx = snapshot(client)?;
            let keys = Reads { client: &mut tx, prepared: &mut *prepared }.keys()?;
            let mut source =
                Snapshot { reads: Reads { client: &mut tx, prepared }, keys, log_id: &self.log_id, mode: self.mode };
            crate::package::export(&mut source, index, out, disclose)
        })
    }

    /// The log's Ed25519 note key (its vkey), once it was given one
    /// ([`PgLog::set_note_key`]).
    ///
    /// # Errors
    /// [`ErrorCode::Io`].
    pub fn note_vkey(&self) -> Result<Option<String>> {
        self.with(note_vkey)
    }

    /// Gives the log an Ed25519 note key (SPEC.md §10.1), by its vkey: its
    /// publications (tlog-tiles) carry that key's signature on their checkpoint
    /// beside the ES256 one, as tlog-tiles clients and public witnesses need. The
    /// database keeps the vkey, never the key: publishing names the key
    /// ([`PgLog::publish_signed`]). Giving the same key again changes nothing.
    /// Returns the vkey.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] when the log has another note key: witnesses
    /// know a log by its key, so it is never replaced; [`ErrorCode::KeyMalformed`]
    /// when the log id cannot be a key name; [`ErrorCode::SignerFailed`] when
    /// `signer` cannot sign for its public key; [`ErrorCode::Io`].
    pub fn set_note_key(&self, signer: &dyn NoteSigner) -> Result<String> {
        crate::writer::check_note_signer(signer)?;
        let vkey = note_log_key(&self.log_id, signer)?.to_vkey();
        self.with(|client, prepared| {
            // An UPDATE that waited for another process giving the log its key
            // finds the key given; the next statement, with a snapshot of its own,
            // reads it.
            client
                .execute("UPDATE evidentia.log SET note_vkey = $1 WHERE note_vkey IS NULL", &[&vkey])
                .map_err(|e| db_error("give the log its note key", &e))?;
            match note_vkey(client, prepared)? {
                Some(kept) if kept == vkey => Ok(vkey.clone()),
                Some(kept) => Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "the log has note key {kept} already; witnesses know it by that key, so it is not replaced"
                    ),
                )),
                None => Err(corrupt("the note key given was not stored")),
            }
        })
    }

    /// Publishes the log's newest checkpoint as C2SP tlog-tiles into the folder
    /// `to`, incrementally, as [`crate::publish`] does for a log folder, from one
    /// snapshot of the log. A log with a note key needs it to publish
    /// ([`PgLog::publish_signed`]); without one, the checkpoint carries only its
    /// ES256 signature.
    ///
    /// # Errors
    /// As [`PgLog::publish_signed`].
    pub fn publish(&self, to: &Path) -> Result<crate::Published> {
        self.publish_signed(to, None)
    }

    /// As [`PgLog::publish`], with the log's note key, whose signature the
    /// published checkpoint carries (added to the stored checkpoint, which the
    /// log's ES256 key signed, as a folder log adds it to a checkpoint signed
    /// before it had its note key): the same files a folder log with that note key,
    /// holding the same records and checkpoints, publishes.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] when the log has a note key and none is
    /// given, or has none and one is given; [`ErrorCode::KeyNotCurrent`] for
    /// another key than the log's; as [`crate::publish`].
    pub fn publish_signed(&self, to: &Path, note_key: Option<&dyn NoteSigner>) -> Result<crate::Published> {
        self.with(|client, prepared| {
            let mut tx = snapshot(client)?;
            let mut reads = Reads { client: &mut tx, prepared };
            let (_, mut note) =
                latest_checkpoint(reads.client, reads.prepared)?.ok_or_else(crate::tiles::nothing_to_publish)?;
            let note_signed = match (note_vkey(reads.client, reads.prepared)?, note_key) {
                (None, None) => false,
                (Some(vkey), Some(signer)) => {
                    let key = note_log_key(&self.log_id, signer)?;
                    if key.to_vkey() != vkey {
                        return Err(Error::new(
                            ErrorCode::KeyNotCurrent,
                            format!("the Ed25519 key given is not this log's note key {vkey}"),
                        ));
                    }
                    if verify_log_note(&note, &[key]).is_err() {
                        note = add_note_signature(&note, &self.log_id, signer)?;
                    }
                    true
                }
                (Some(vkey), None) => {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        format!(
                            "the log's publications carry its Ed25519 note key {vkey}'s signature: give that key to publish"
                        ),
                    ));
                }
                (None, Some(_)) => {
                    return Err(Error::new(
                        ErrorCode::InvalidArgument,
                        "the log has no note key: give it one first (log note-key), so that witnesses know it by it",
                    ));
                }
            };
            crate::tiles::publish_tree(&mut reads, note, note_signed, to)
        })
    }

    /// Copies this log into a new folder log in `dir` (which must hold none): the
    /// same log id, mode, key history, entries as signed, and checkpoints. This log
    /// must verify first, and the copy after, with the same latest checkpoint. The
    /// copy holds no key file: appends to it name theirs (`--key`). The entries
    /// are read from one snapshot and written as one segment, in memory at once.
    ///
    /// # Errors
    /// [`ErrorCode::LogCorrupt`] when this log or the copy does not verify;
    /// [`ErrorCode::LogExists`]; [`ErrorCode::Io`].
    pub fn copy_to(&self, dir: &Path) -> Result<()> {
        if !self.verify(None)?.is_valid() {
            return Err(Error::new(
                ErrorCode::LogCorrupt,
                "the log to copy does not verify: run `log verify` on it to see why; nothing was copied",
            ));
        }
        let mut connection = self.connection()?;
        let mut tx = snapshot(&mut connection.client)?;
        let holds = tx
            .query(HOLDS, &[])
            .map_err(|e| db_error("read the holds", &e))?
            .iter()
            .map(hold_of)
            .collect::<Result<Vec<_>>>()?;
        let row = tx
            .query("SELECT keys, size, note_vkey FROM evidentia.log", &[])
            .map_err(|e| db_error("read", &e))
            .and_then(head)?;
        let (keys_json, size) = (col::<String>(&row, 0)?, count(&row, 1)?);
        let note_key = col::<Option<String>>(&row, 2)?.map(|vkey| NoteKeyConfig { vkey, key_file: None });
        let checkpoints = tx
            .query("SELECT size, note FROM evidentia.checkpoints ORDER BY size", &[])
            .map_err(|e| db_error("read the checkpoints", &e))?
            .iter()
            .map(|row| Ok((count(row, 0)?, col::<String>(row, 1)?)))
            .collect::<Result<Vec<_>>>()?;
        let entries = tx
            .query(
                "SELECT receipt, record, event FROM evidentia.entries WHERE seq < $1 ORDER BY seq",
                &[&(size as i64)],
            )
            .map_err(|e| db_error("read the entries", &e))?
            .iter()
            .zip(0u64..)
            .map(|(row, seq)| entry_of(row, seq, 0))
            .collect::<Result<Vec<_>>>()?;
        drop(tx);
        drop(connection);
        let config = Config {
            log_id: self.log_id.clone(),
            mode: self.mode,
            key_file: None,
            index_fields: Vec::new(),
            note_key,
            record_version: self.record_version,
        };
        // A copy that fails leaves no folder it made behind, so that it can be
        // tried again.
        let made = !dir.exists();
        let copied = crate::copy::write_log(dir, &config, &keys_json, &checkpoints, &entries, &holds).and_then(|()| {
            let copy = LogReader::open(dir)?;
            let same = copy.latest_checkpoint()?.map(|c| (c.size, c.note)) == checkpoints.last().cloned();
            match copy.verify(None, |_| {})?.is_valid() && same && copy.len() == size {
                true => Ok(()),
                false => Err(Error::new(
                    ErrorCode::LogCorrupt,
                    format!(
                        "the copy in {} does not verify as the log it was copied from: run `log verify` on both",
                        dir.display()
                    ),
                )),
            }
        });
        if let Err(e) = copied {
            if made {
                let _ = std::fs::remove_dir_all(dir);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Opens the log in the database `url` names.
    ///
    /// # Errors
    /// [`ErrorCode::LogNotFound`] when it holds none; [`ErrorCode::LogConfigInvalid`]
    /// when its schema is of a newer version; [`ErrorCode::Io`].
    pub fn open(url: &str) -> Result<PgLog> {
        let mut client = connect(url)?;
        let mut tx = client.transaction().map_err(|e| db_error("begin", &e))?;
        match schema_version(&mut tx)? {
            None => return Err(Error::new(ErrorCode::LogNotFound, "the database holds no Evidentia log")),
            Some(SCHEMA_VERSION) => {}
            Some(older) if older < SCHEMA_VERSION => migrate(&mut tx)?,
            Some(other) => {
                return Err(Error::new(
                    ErrorCode::LogConfigInvalid,
                    format!("the log's schema is of version {other}; this Evidentia reads version {SCHEMA_VERSION}"),
                ));
            }
        }
        let row = tx
            .query("SELECT log_id, mode, record_version FROM evidentia.log", &[])
            .map_err(|e| db_error("read the log", &e))
            .and_then(head)?;
        let (log_id, mode): (String, String) = (col(&row, 0)?, col(&row, 1)?);
        let mode = Mode::from_name(&mode).map_err(|e| corrupt(e.message()))?;
        let version = col::<i32>(&row, 2)?;
        let record_version = u64::try_from(version)
            .ok()
            .and_then(RecordVersion::from_number)
            .ok_or_else(|| corrupt(format!("the log writes records of version {version}")))?;
        tx.commit().map_err(|e| db_error("commit", &e))?;
        Ok(PgLog { connection: Mutex::new(Connection::new(client)), url: url.to_owned(), log_id, mode, record_version })
    }

    /// The log's id.
    #[must_use]
    pub fn log_id(&self) -> &str {
        &self.log_id
    }

    /// Whether every record is signed, or each append sealed by a checkpoint.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The connection, made again when the last one broke (a restarted server, a
    /// terminated session): the call that found it broken failed, the next works.
    fn connection(&self) -> Result<MutexGuard<'_, Connection>> {
        let mut connection =
            self.connection.lock().map_err(|_| Error::new(ErrorCode::Internal, "a thread panicked using this log"))?;
        if connection.client.is_closed() {
            *connection = Connection::new(connect(&self.url)?);
        }
        Ok(connection)
    }

    /// Runs `f` on the connection, which is held until `f` returns (so `f` must
    /// not call another method of the log).
    fn with<T>(&self, f: impl FnOnce(&mut Client, &mut Prepared) -> Result<T>) -> Result<T> {
        let Connection { client, prepared } = &mut *self.connection()?;
        f(client, prepared)
    }

    /// The log's key history.
    ///
    /// # Errors
    /// [`ErrorCode::Io`], [`ErrorCode::LogCorrupt`].
    pub fn keys(&self) -> Result<KeySet> {
        self.with(|client, prepared| Reads { client, prepared }.keys())
    }

    /// The number of records.
    ///
    /// # Errors
    /// [`ErrorCode::Io`].
    #[allow(clippy::len_without_is_empty)] // a query that can fail, not a collection
    pub fn len(&self) -> Result<u64> {
        self.with(|client, prepared| Reads { client, prepared }.size())
    }

    /// Appends one event; as [`PgLog::append_events`].
    ///
    /// # Errors
    /// As [`PgLog::append_events`].
    pub fn append(&self, key: &dyn Signer, event: &[u8], nonce: Option<&str>) -> Result<Appended> {
        let mut appended = self.append_events(key, &[NewEvent { json: event, nonce }], AppendOptions::default())?;
        appended.pop().ok_or_else(|| Error::new(ErrorCode::Internal, "an append returned no record"))
    }

    /// Appends events as one transaction: all or none, returned once committed.
    /// In batch mode the transaction also stores a checkpoint of the whole log.
    ///
    /// # Errors
    /// [`ErrorCode::NonceInUse`] for a nonce already in the log (unless the append
    /// is idempotent and the event the same); [`ErrorCode::KeyNotCurrent`];
    /// [`ErrorCode::InvalidEvent`] and the core's event errors;
    /// [`ErrorCode::LogLocked`] when another writer held the log for over a minute;
    /// [`ErrorCode::Io`] when PostgreSQL fails. Then nothing was appended, except
    /// when the connection broke while the commit was under way: the records may
    /// be in the log. Append with nonces and `idempotent`, and retry: a retry
    /// returns the records if they were stored, and stores them if not.
    pub fn append_events(
        &self,
        key: &dyn Signer,
        events: &[NewEvent<'_>],
        options: AppendOptions,
    ) -> Result<Vec<Appended>> {
        let canonical = events.iter().map(|event| evidentia::prepare_event(event.json)).collect::<Result<Vec<_>>>()?;
        self.commit(key, events, canonical, options)
    }

    /// Appends the events up to the first one that is not valid JSON, as
    /// [`PgLog::append_events`] does, and says which event stopped it, if one did,
    /// as [`Log::append_valid_prefix`](crate::Log::append_valid_prefix) does.
    ///
    /// # Errors
    /// As [`PgLog::append_events`], for everything but invalid events.
    pub fn append_valid_prefix(
        &self,
        key: &dyn Signer,
        events: &[NewEvent<'_>],
        time: Option<Timestamp>,
    ) -> Result<PrefixAppended> {
        let (canonical, invalid) = valid_prefix(events);
        let appended = if canonical.is_empty() {
            Vec::new()
        } else {
            let options = AppendOptions { time, idempotent: false };
            self.commit(key, &events[..canonical.len()], canonical, options)?
        };
        Ok(PrefixAppended { appended, invalid })
    }

    /// Appends `events`, whose canonical forms are `canonical`, as one transaction.
    fn commit(
        &self,
        key: &dyn Signer,
        events: &[NewEvent<'_>],
        canonical: Vec<Vec<u8>>,
        options: AppendOptions,
    ) -> Result<Vec<Appended>> {
        check_group(events, &canonical)?;
        self.with(|client, prepared| {
            let mut tx = client.transaction().map_err(|e| db_error("begin", &e))?;
            let mut head = self.lock_head(&mut tx, prepared)?;
            let validity = current(&head.keys, key)?;
            let mut results: Vec<Option<Appended>> = Vec::with_capacity(events.len());
            let mut seen = std::collections::HashSet::new();
            for event in events {
                if event.nonce.is_some_and(|nonce| !seen.insert(nonce)) {
                    return Err(Error::new(ErrorCode::NonceInUse, "two events of the batch have the same nonce"));
                }
            }
            // Every nonce of the group looked up at once, under the head's lock,
            // with the records that hold them (one round trip, however many).
            let mut used = std::collections::HashMap::new();
            if !seen.is_empty() {
                let nonces: Vec<&str> = seen.into_iter().collect();
                for row in prepared
                    .query(
                        &mut tx,
                        "SELECT n.nonce, n.seq, e.receipt, e.record,
                             (SELECT min(c.size) FROM evidentia.checkpoints c
                              WHERE e.receipt IS NULL AND c.size > n.seq),
                             e.event
                         FROM evidentia.nonces n LEFT JOIN evidentia.entries e ON e.seq = n.seq
                         WHERE n.nonce = ANY($1)",
                        &[&nonces],
                    )
                    .map_err(|e| db_error("look up the nonces", &e))?
                {
                    used.insert(col::<String>(&row, 0)?, replayed(&row)?);
                }
            }
            for (event, canonical) in events.iter().zip(&canonical) {
                match event.nonce.and_then(|nonce| used.remove(nonce)) {
                    None => results.push(None),
                    Some((original, stored_event)) => {
                        results.push(Some(retried(original, Some(&stored_event), canonical, &options)?));
                    }
                }
            }
            if results.iter().all(Option::is_some) {
                return Ok(results.into_iter().flatten().collect());
            }
            let time = record_time(head.chain.last_time(), validity.not_before, options.time, now()?)?;
            let sealed = self.store(
                &mut tx,
                prepared,
                &mut head,
                key,
                events,
                &canonical,
                &mut results,
                time,
                self.record_version,
                None,
            )?;
            tx.commit().map_err(|e| db_error("commit", &e))?;
            let mut appended: Vec<Appended> = results.into_iter().flatten().collect();
            for a in appended.iter_mut().filter(|a| !a.replayed) {
                a.checkpoint_size = sealed;
            }
            Ok(appended)
        })
    }

    /// Retires the log's current key `current` and continues with `new_key`, in one
    /// transaction: `current` signs a key record (SPEC.md §23) handing over to
    /// `new_key` and a checkpoint of the whole log that seals it, and the key
    /// history gains `new_key`. Records signed before keep verifying with the key
    /// history. Asked again once made (a retry after an `IO` error: the key
    /// history shows `current` handing over to `new_key`), it does nothing.
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotCurrent`] when `current` is not the log's current key;
    /// [`ErrorCode::SignerFailed`] when `new_key` cannot sign for its public key;
    /// [`ErrorCode::KeySetMalformed`] when `new_key` was a key of the log before;
    /// [`ErrorCode::LogLocked`]; [`ErrorCode::Io`], after which [`PgLog::keys`]
    /// says whether it was made.
    pub fn rotate(&self, current: &dyn Signer, new_key: &dyn Signer) -> Result<()> {
        check_signer(new_key)?;
        self.with(|client, prepared| {
            let mut tx = client.transaction().map_err(|e| db_error("begin", &e))?;
            let mut head = self.lock_head(&mut tx, prepared)?;
            let validity = match self::current(&head.keys, current) {
                Ok(validity) => validity,
                Err(_) if handed_over(&head.keys, current, new_key) => return Ok(()), // made already
                Err(e) => return Err(e),
            };
            let time = record_time(head.chain.last_time(), validity.not_before, None, now()?)?;
            let record = KeyRecord::rotate(&head.keys, current.public_key(), new_key.public_key(), handover(time)?)?;
            self.record_key_change(&mut tx, prepared, &mut head, current, &record, time)?;
            tx.commit().map_err(|e| db_error("commit", &e))
        })
    }

    /// Revokes the key `kid` of the log's key history from `at` on, with a reason
    /// such as `keyCompromise`: `key`, the log's current key, signs a key record
    /// (SPEC.md §23) saying so and a checkpoint that seals it, in one transaction.
    /// From then on evidence signed by `kid` claiming a time at or after `at` is
    /// refused, including this log's own records.
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotCurrent`] when `key` is not the log's current key;
    /// [`ErrorCode::KeyNotFound`] when the log has no key `kid`;
    /// [`ErrorCode::InvalidArgument`] when `kid` is the current key (rotate first),
    /// is revoked already (other than so: asked again once made, it does nothing),
    /// or the reason is empty or longer than 1 KiB;
    /// [`ErrorCode::LogLocked`]; [`ErrorCode::Io`], after which [`PgLog::keys`]
    /// says whether it was made.
    pub fn revoke(&self, key: &dyn Signer, kid: &str, at: Timestamp, reason: Option<&str>) -> Result<()> {
        self.with(|client, prepared| {
            let mut tx = client.transaction().map_err(|e| db_error("begin", &e))?;
            let mut head = self.lock_head(&mut tx, prepared)?;
            let validity = current(&head.keys, key)?;
            if revoked_so(&head.keys, kid, at, reason)? {
                return Ok(()); // made already
            }
            let record = revocation(&head.keys, key, kid, at, reason)?;
            let time = record_time(head.chain.last_time(), validity.not_before, None, now()?)?;
            self.record_key_change(&mut tx, prepared, &mut head, key, &record, time)?;
            tx.commit().map_err(|e| db_error("commit", &e))
        })
    }

    /// Erases the event of record `seq` and its salt (SPEC.md §27.3) in one
    /// transaction: `key`, the log's current key, signs an erasure record naming
    /// the record and `reason` (in batch mode, with a checkpoint sealing it), and
    /// the record's stored event becomes the erased marker. The record, its
    /// receipt and every proof stay valid. Returns the erasure record's
    /// acknowledgement. PostgreSQL keeps the row's old version in the table's
    /// files until VACUUM reclaims its space, and the event in its write-ahead log
    /// and backups until they are recycled (SPEC.md §25.6).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a record the log does not have or a
    /// reason that is empty, over 1024 bytes or holds a control character;
    /// [`ErrorCode::RecordErased`] when it was erased already;
    /// [`ErrorCode::ErasureRefused`] for a version-1 record, a key or erasure
    /// record, or one under a legal hold; [`ErrorCode::KeyNotCurrent`];
    /// [`ErrorCode::LogLocked`]; [`ErrorCode::Io`], after which erasing again says
    /// whether it was made (RECORD_ERASED).
    pub fn erase(&self, key: &dyn Signer, seq: u64, reason: &str) -> Result<Appended> {
        self.with(|client, prepared| {
            let mut tx = client.transaction().map_err(|e| db_error("begin", &e))?;
            let mut head = self.lock_head(&mut tx, prepared)?;
            let validity = current(&head.keys, key)?;
            if seq >= head.size {
                return Err(crate::erasure::no_record(seq, head.size));
            }
            let entry = Reads { client: &mut tx, prepared: &mut *prepared }.entry(seq)?;
            crate::erasure::check_erasable(seq, entry.stored_event())?;
            if let Some(hold) = read_hold(&mut tx, prepared, seq)? {
                return Err(crate::erasure::held(&hold));
            }
            let event = Erasure::new(seq, Digest::sha256(&entry.record_bytes()?), reason)?.to_event();
            let time = record_time(head.chain.last_time(), validity.not_before, None, now()?)?;
            let events = [NewEvent { json: &event, nonce: None }];
            let mut results = [None];
            let canonical = std::slice::from_ref(&event);
            // An erasure record is of version 1, so that every verifier reads it.
            let sealed = self.store(
                &mut tx,
                prepared,
                &mut head,
                key,
                &events,
                canonical,
                &mut results,
                time,
                RecordVersion::V1,
                None,
            )?;
            let erased = prepared
                .execute(
                    &mut tx,
                    "UPDATE evidentia.entries SET event = $2 WHERE seq = $1",
                    &[&(seq as i64), &StoredEvent::erased(1)],
                )
                .map_err(|e| db_error("erase the event", &e))?;
            if erased != 1 {
                return Err(corrupt(format!("record {seq} is missing from the entries")));
            }
            tx.commit().map_err(|e| db_error("commit", &e))?;
            let [Some(mut appended)] = results else {
                return Err(Error::new(ErrorCode::Internal, "the erasure record was not appended"));
            };
            appended.checkpoint_size = sealed;
            Ok(appended)
        })
    }

    /// Sets a legal hold on record `seq`: its event cannot be erased until the
    /// hold is released. Holding a held record again replaces its reason.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a record the log does not have or a
    /// reason that is empty, over 1024 bytes or holds a control character;
    /// [`ErrorCode::LogLocked`]; [`ErrorCode::Io`].
    pub fn hold(&self, seq: u64, reason: &str) -> Result<()> {
        crate::erasure::check_hold_reason(reason)?;
        self.with(|client, prepared| {
            let mut tx = client.transaction().map_err(|e| db_error("begin", &e))?;
            // Under the head's lock: an erasure either sees the hold or came first.
            let head = self.lock_head(&mut tx, prepared)?;
            if seq >= head.size {
                return Err(crate::erasure::no_record(seq, head.size));
            }
            prepared
                .execute(
                    &mut tx,
                    "INSERT INTO evidentia.holds (seq, reason, since) VALUES ($1, $2, $3)
                     ON CONFLICT (seq) DO UPDATE SET reason = excluded.reason, since = excluded.since",
                    &[&(seq as i64), &reason, &now()?.to_string()],
                )
                .map_err(|e| db_error("set the hold", &e))?;
            tx.commit().map_err(|e| db_error("commit", &e))
        })
    }

    /// Releases the legal hold on record `seq`; whether there was one.
    ///
    /// # Errors
    /// [`ErrorCode::Io`].
    pub fn release(&self, seq: u64) -> Result<bool> {
        self.with(|client, prepared| {
            let released = prepared
                .execute(client, "DELETE FROM evidentia.holds WHERE seq = $1", &[&(seq as i64)])
                .map_err(|e| db_error("release the hold", &e))?;
            Ok(released > 0)
        })
    }

    /// The log's legal holds, by sequence number.
    ///
    /// # Errors
    /// [`ErrorCode::Io`]; [`ErrorCode::LogCorrupt`] for a hold that is not a
    /// sequence number, a reason and a time.
    pub fn holds(&self) -> Result<Vec<Hold>> {
        self.with(|client, prepared| {
            prepared
                .query(client, HOLDS, &[])
                .map_err(|e| db_error("read the holds", &e))?
                .iter()
                .map(hold_of)
                .collect()
        })
    }

    /// The salt record `seq` commits to its event under (SPEC.md §26), as
    /// [`crate::LogReader::salt`] gives it: `None` for a record of version 1.
    ///
    /// # Errors
    /// As [`crate::LogReader::salt`]; [`ErrorCode::Io`].
    pub fn salt(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        let entry = self.entry(seq)?;
        Ok(evidentia::event_with_salt(&entry.record()?, entry.stored_event())?.1)
    }

    /// Appends the key record `record`, which `key` signs, with a checkpoint
    /// sealing it, and makes its key history the log's.
    fn record_key_change(
        &self,
        tx: &mut Transaction<'_>,
        prepared: &mut Prepared,
        head: &mut Head,
        key: &dyn Signer,
        record: &KeyRecord,
        time: Timestamp,
    ) -> Result<()> {
        let event = record.to_event();
        let events = [NewEvent { json: &event, nonce: None }];
        let mut results = [None];
        self.store(
            tx,
            prepared,
            head,
            key,
            &events,
            std::slice::from_ref(&event),
            &mut results,
            time,
            RecordVersion::V1, // never erased, read by every verifier
            Some(&record.keys),
        )?;
        Ok(())
    }

    /// Stores the events whose `results` are `None` (the others are retries) under
    /// the head's lock, in records of `version` (or 1, for an event always of
    /// version 1), filling in their acknowledgements; in batch mode, and when
    /// `keys` is a new key history (a key record's), with a checkpoint of the whole
    /// log that `key` signs. Gives that checkpoint's size. The caller commits.
    #[allow(clippy::too_many_arguments)] // one transaction's parts, each needed
    fn store(
        &self,
        tx: &mut Transaction<'_>,
        prepared: &mut Prepared,
        head: &mut Head,
        key: &dyn Signer,
        events: &[NewEvent<'_>],
        canonical: &[Vec<u8>],
        results: &mut [Option<Appended>],
        time: Timestamp,
        version: RecordVersion,
        keys: Option<&KeySet>,
    ) -> Result<Option<u64>> {
        let mut rows = NewRows::default();
        for ((event, canonical), result) in events.iter().zip(canonical).zip(results.iter_mut()) {
            if result.is_some() {
                continue;
            }
            let committed = commit_to(canonical, version, random_salt)?;
            let chained =
                head.chain.append_of(committed.version, key.public_key().kid(), committed.digest, time, event.nonce)?;
            let seq = chained.record.seq as i64;
            let receipt = match self.mode {
                Mode::Receipts => Some(Receipt::sign(key, &chained.record)?),
                Mode::Batch => None,
            };
            rows.seqs.push(seq);
            rows.receipts.push(receipt.as_ref().map(|r| r.as_str().to_owned()));
            rows.records.push(receipt.is_none().then(|| chained.bytes.clone()));
            rows.events.push(committed.stored.unwrap_or_else(|| canonical.clone()));
            if let Some(nonce) = event.nonce {
                rows.nonces.push(nonce.to_owned());
                rows.nonce_seqs.push(seq);
            }
            head.tree.push_with(leaf_hash(&chained.bytes), |level, index, hash| {
                rows.levels.push(level as i32);
                rows.indexes.push(index as i64);
                rows.hashes.push(hash.to_vec());
            });
            head.size += 1;
            *result = Some(Appended::fresh(chained, receipt, committed.salt));
        }
        let checkpoint = match (self.mode, keys) {
            (Mode::Batch, _) | (_, Some(_)) => Some(self.checkpoint_note(key, head)?),
            (Mode::Receipts, None) => None,
        };
        let peaks: Vec<u8> = head.tree.peaks().concat();
        let last = results.iter().flatten().rfind(|a| !a.replayed).map(|a| a.record.to_bytes());
        let keys = keys.map(KeySet::to_json);
        let new_head = NewHead {
            size: head.size,
            checkpoint: checkpoint.as_deref(),
            last: last.as_deref(),
            peaks: &peaks,
            keys: keys.as_deref(),
        };
        write_rows(tx, prepared, &rows, &new_head)?;
        Ok(checkpoint.map(|_| head.size))
    }

    /// Locks the head row and reads it.
    fn lock_head(&self, tx: &mut Transaction<'_>, prepared: &mut Prepared) -> Result<Head> {
        let row = prepared
            .query(tx, "SELECT keys, size, last_record, peaks FROM evidentia.log FOR UPDATE", &[])
            .map_err(|e| db_error("lock the log", &e))
            .and_then(head)?;
        let keys = KeySet::from_json(col::<&str>(&row, 0)?).map_err(|e| corrupt(e.message()))?;
        let size = u64::try_from(col::<i64>(&row, 1)?).map_err(|_| corrupt("a negative size"))?;
        let chain = match col::<Option<&[u8]>>(&row, 2)? {
            None if size == 0 => ChainState::new(&self.log_id)?,
            Some(bytes) => {
                let last = Record::from_bytes(bytes).map_err(|e| corrupt(e.message()))?;
                if last.seq + 1 != size || last.log_id != self.log_id {
                    return Err(corrupt("the head's last record is not the last of the log"));
                }
                ChainState::after(&last)
            }
            None => return Err(corrupt("the head lacks its last record")),
        };
        let peaks: &[u8] = col(&row, 3)?;
        if peaks.len() != 32 * size.count_ones() as usize {
            return Err(corrupt("the head's tree edge does not fit its size"));
        }
        let peaks =
            peaks.chunks(32).map(|c| <Hash>::try_from(c).map_err(|_| corrupt("a tree hash"))).collect::<Result<_>>()?;
        Ok(Head { keys, size, chain, tree: Accumulator::from_peaks(size, peaks) })
    }

    /// A checkpoint of the whole log `head` describes, signed by `key`.
    fn checkpoint_note(&self, key: &dyn Signer, head: &Head) -> Result<String> {
        let checkpoint =
            Checkpoint { origin: self.log_id.clone(), size: head.size, root: head.tree.root(), extensions: vec![] };
        sign_checkpoint(&checkpoint, key)
    }

    /// The checkpoint of the whole log, signing one with `key` first when records
    /// came after the last: its size and note.
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotCurrent`]; [`ErrorCode::Io`].
    pub fn checkpoint(&self, key: &dyn Signer) -> Result<(u64, String)> {
        self.with(|client, prepared| {
            let mut tx = client.transaction().map_err(|e| db_error("begin", &e))?;
            let head = self.lock_head(&mut tx, prepared)?;
            let size = head.size as i64;
            let stored = prepared
                .query_opt(&mut tx, "SELECT note FROM evidentia.checkpoints WHERE size = $1", &[&size])
                .map_err(|e| db_error("read the checkpoints", &e))?;
            if let Some(row) = stored {
                return Ok((head.size, col(&row, 0)?));
            }
            let validity = current(&head.keys, key)?;
            if let Some(last) = head.chain.last_time() {
                validity.check(last)?;
            }
            let note = self.checkpoint_note(key, &head)?;
            prepared
                .execute(&mut tx, "INSERT INTO evidentia.checkpoints (size, note) VALUES ($1, $2)", &[&size, &note])
                .map_err(|e| db_error("insert a checkpoint", &e))?;
            tx.commit().map_err(|e| db_error("commit", &e))?;
            Ok((head.size, note))
        })
    }

    /// The checkpoint of the most records, if any.
    ///
    /// # Errors
    /// [`ErrorCode::Io`].
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>> {
        self.with(latest_checkpoint)
    }

    /// The entry of record `seq`: its receipt (receipts mode) or record (batch
    /// mode), with its canonical event.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] when there is no such record;
    /// [`ErrorCode::LogCorrupt`]; [`ErrorCode::Io`].
    pub fn entry(&self, seq: u64) -> Result<Entry> {
        self.with(|client, prepared| Reads { client, prepared }.entry(seq))
    }

    /// What a holder of record `seq` needs to verify it offline: its receipt
    /// (receipts mode), or a batch receipt (SPEC.md §11): the record, the newest
    /// checkpoint its own key signed, and the record's inclusion proof to it, as a
    /// folder log serves them.
    ///
    /// # Errors
    /// As [`PgLog::entry`]; [`ErrorCode::LogCorrupt`] when no such checkpoint is
    /// stored.
    pub fn receipt(&self, seq: u64) -> Result<String> {
        self.with(|client, prepared| Reads { client, prepared }.receipt(seq))
    }

    /// The record that holds `nonce`, if any.
    ///
    /// # Errors
    /// [`ErrorCode::Io`].
    pub fn find_nonce(&self, nonce: &str) -> Result<Option<u64>> {
        if nonce.contains('\0') {
            return Ok(None); // never stored: PostgreSQL's text cannot hold it
        }
        self.with(|client, prepared| {
            let row = prepared
                .query_opt(client, "SELECT seq FROM evidentia.nonces WHERE nonce = $1", &[&nonce])
                .map_err(|e| db_error("look up a nonce", &e))?;
            row.map(|row| count(&row, 0)).transpose()
        })
    }

    /// The inclusion proof of record `index` in the tree of the first `size`
    /// records (by default, the latest checkpoint's), from O(log n) stored nodes.
    ///
    /// # Errors
    /// [`ErrorCode::ProofMalformed`] for positions outside the log;
    /// [`ErrorCode::InvalidArgument`] without `size` when there is no checkpoint
    /// yet; [`ErrorCode::Io`].
    pub fn inclusion_proof(&self, index: u64, size: Option<u64>) -> Result<InclusionProof> {
        self.with(|client, prepared| Reads { client, prepared }.inclusion_proof(index, size))
    }

    /// The consistency proof from the tree of `old` records to that of `new` (by
    /// default, the latest checkpoint's).
    ///
    /// # Errors
    /// As [`PgLog::inclusion_proof`].
    pub fn consistency_proof(&self, old: u64, new: Option<u64>) -> Result<ConsistencyProof> {
        self.with(|client, prepared| {
            let (new, count) = proof_size(client, prepared, new)?;
            let wanted = Wanted::new(count);
            evidentia::merkle::consistency_proof(&wanted, old, new)?;
            let nodes = wanted.read(client, prepared)?;
            let hashes = evidentia::merkle::consistency_proof(&nodes, old, new)?;
            Ok(ConsistencyProof { old_size: old, new_size: new, hashes })
        })
    }

    /// Verifies the whole log against `keys`, or when `None` against the log's own
    /// key history, read in the same snapshot as the records (one read before it
    /// could miss a key record committed between): every record, the chain, the tree
    /// the stored nodes hold, every checkpoint (SPEC.md §13), and the head the next
    /// append continues from, which must be the records' last and their tree (a
    /// record cut from the end is found there). Entries are read in order, 64 at a
    /// time, and nodes 4096 at a time: memory does not grow with the log.
    ///
    /// # Errors
    /// [`ErrorCode::Io`] when the database cannot be read (what it holds wrongly is
    /// a finding in the report, not an error).
    pub fn verify(&self, keys: Option<&KeySet>) -> Result<Report> {
        let options = LogVerifyOptions {
            expected_log_id: Some(self.log_id.clone()),
            require_events: true,
            ..LogVerifyOptions::default()
        };
        self.with(|client, prepared| {
            let mut tx = snapshot(client)?;
            let own;
            let keys = match keys {
                Some(keys) => keys,
                None => {
                    own = Reads { client: &mut tx, prepared }.keys()?;
                    &own
                }
            };
            let mut verifier = LogVerifier::new(keys, options);
            let finding = |verifier: &mut LogVerifier, what: String| {
                verifier.push_prepared_checkpoint(PreparedCheckpoint::unreadable(&corrupt(what)));
            };
            let mut checkpoints = Vec::new();
            for row in tx
                .query("SELECT size, note FROM evidentia.checkpoints ORDER BY size", &[])
                .map_err(|e| db_error("read the checkpoints", &e))?
            {
                match (count(&row, 0), col::<String>(&row, 1)) {
                    (Ok(size), Ok(note)) => checkpoints.push((size, note)),
                    (Err(e), _) | (_, Err(e)) => finding(&mut verifier, e.message().to_owned()),
                }
            }
            let mut checkpoints = checkpoints.into_iter().peekable();
            while let Some((_, note)) = checkpoints.next_if(|(size, _)| *size == 0) {
                verifier.push_checkpoint(&note);
            }
            // Nodes in the order their leaves complete them, beside the entries.
            let nodes = tx
                .bind("SELECT ((idx + 1) << level) - 1, level, idx, hash FROM evidentia.nodes ORDER BY 1, 2", &[])
                .map_err(|e| db_error("read the tree", &e))?;
            let (mut node_rows, mut nodes_read) = (std::collections::VecDeque::new(), false);
            // The nonce table, beside the entries: it decides whether a retry appends
            // again, so it must hold each record's nonce and nothing else.
            let nonces = tx
                .bind("SELECT seq, nonce FROM evidentia.nonces ORDER BY seq", &[])
                .map_err(|e| db_error("read the nonces", &e))?;
            let (mut nonce_rows, mut nonces_read) = (std::collections::VecDeque::new(), false);
            // One finding of each kind says what is wrong; memory stays bounded when a
            // whole table was changed.
            let mut nonce_findings: Vec<String> = Vec::new();
            let mut nonce_finding = |kind: usize, what: String| {
                if !nonce_findings.iter().any(|seen| seen.starts_with(NONCE_FINDINGS[kind])) {
                    nonce_findings.push(format!("{} {what}", NONCE_FINDINGS[kind]));
                }
            };
            let entries = tx
                .bind("SELECT receipt, record, event FROM evidentia.entries ORDER BY seq", &[])
                .map_err(|e| db_error("read the entries", &e))?;
            let mut done = 0u64;
            let mut last: Option<Vec<u8>> = None;
            loop {
                let rows = tx.query_portal(&entries, 64).map_err(|e| db_error("read the entries", &e))?;
                if rows.is_empty() {
                    break;
                }
                for row in rows {
                    // A record missing in the middle shows at the next one (sequence,
                    // chain); the leaves after it, and the nodes over them, mismatch.
                    let stored = (col::<Option<&str>>(&row, 0), col::<Option<&[u8]>>(&row, 1), col::<Vec<u8>>(&row, 2));
                    last = match (self.mode, stored) {
                        (Mode::Receipts, (Ok(Some(receipt)), Ok(None), Ok(event))) => {
                            verifier.push(receipt, Some(&event));
                            Receipt::parse(receipt).ok().map(|r| r.record().to_bytes())
                        }
                        (Mode::Batch, (Ok(None), Ok(Some(record)), Ok(event))) => {
                            verifier.push_record(record, Some(&event));
                            Some(record.to_vec())
                        }
                        (_, (Err(e), ..) | (_, Err(e), _) | (.., Err(e))) => {
                            verifier.push_unreadable(e.message());
                            None
                        }
                        _ => {
                            verifier.push_unreadable("an entry of another kind than the log's mode stores");
                            None
                        }
                    };
                    let nonce = last.as_deref().and_then(|bytes| Record::from_bytes(bytes).ok()).and_then(|r| r.nonce);
                    loop {
                        if nonce_rows.is_empty() && !nonces_read {
                            let rows = tx.query_portal(&nonces, 4096).map_err(|e| db_error("read the nonces", &e))?;
                            // Fewer than asked: the table is read to its end; asking
                            // again for every later record would cost a round trip each.
                            nonces_read = rows.len() < 4096;
                            nonce_rows.extend(rows);
                        }
                        let row = nonce_rows.front().map(|row| (count(row, 0).ok(), col::<String>(row, 1).ok()));
                        match row {
                            Some((Some(seq), stored)) if seq <= done => {
                                nonce_rows.pop_front();
                                if seq < done || stored != nonce {
                                    nonce_finding(0, format!("(record {seq})"));
                                }
                                if seq == done {
                                    break;
                                }
                            }
                            Some((None, _)) => {
                                nonce_rows.pop_front();
                                nonce_finding(1, String::new());
                            }
                            _ => {
                                if nonce.is_some() {
                                    nonce_finding(2, format!("(record {done}): a retry with it would append again"));
                                }
                                break;
                            }
                        }
                    }
                    // Leaf `done` completes node (level, done >> level) for each level
                    // up to its number of trailing ones.
                    for level in 0..=done.trailing_ones() {
                        let index = done >> level;
                        let want = (done as i64, level as i32);
                        let hash = loop {
                            if node_rows.is_empty() && !nodes_read {
                                let rows = tx.query_portal(&nodes, 4096).map_err(|e| db_error("read the tree", &e))?;
                                nodes_read = rows.len() < 4096;
                                node_rows.extend(rows);
                            }
                            let Some(row) = node_rows.front() else { break None };
                            let key = (col::<i64>(row, 0).unwrap_or(i64::MIN), col::<i32>(row, 1).unwrap_or(i32::MIN));
                            match key.cmp(&want) {
                                // A node no leaf completes: out of place, so unused.
                                std::cmp::Ordering::Less => drop(node_rows.pop_front()),
                                std::cmp::Ordering::Equal => {
                                    let row = node_rows.pop_front();
                                    let row = row.filter(|row| col::<i64>(row, 2).ok() == Some(index as i64));
                                    break row
                                        .and_then(|row| col::<&[u8]>(&row, 3).ok().and_then(|h| <Hash>::try_from(h).ok()));
                                }
                                std::cmp::Ordering::Greater => break None,
                            }
                        };
                        // A node missing or unreadable cannot match what the records give.
                        verifier.push_tree_node(level, index, &hash.unwrap_or([0; 32]));
                    }
                    done += 1;
                    while let Some((_, note)) = checkpoints.next_if(|(size, _)| *size <= done) {
                        verifier.push_checkpoint(&note);
                    }
                }
            }
            for (_, note) in checkpoints {
                verifier.push_checkpoint(&note);
            }
            let extra = node_rows.len() as u64 + tx.query_portal(&nodes, 1).map_err(|e| db_error("read", &e))?.len() as u64;
            if extra > 0 {
                finding(
                    &mut verifier,
                    format!(
                        "the tree holds nodes of leaves beyond the {done} records stored: records were removed from the end, or nodes added"
                    ),
                );
            }
            let extra = nonce_rows.len() + tx.query_portal(&nonces, 1).map_err(|e| db_error("read", &e))?.len();
            if extra > 0 {
                nonce_finding(3, format!("(beyond the {done} stored)"));
            }
            for what in nonce_findings {
                finding(&mut verifier, what);
            }
            for what in check_head(&mut tx, done, last.as_deref(), verifier.tree_root())? {
                finding(&mut verifier, what);
            }
            let row = tx
                .query("SELECT note_vkey, log_id FROM evidentia.log", &[])
                .map_err(|e| db_error("read the note key", &e))
                .and_then(head)?;
            if let Some(vkey) = col::<Option<String>>(&row, 0)?
                && let Some(problem) = note_vkey_problem(&vkey, &col::<String>(&row, 1)?)
            {
                finding(&mut verifier, problem);
            }
            // The records erasure records name, read in the same snapshot, so that
            // each is checked against the digest it gives (SPEC.md §27.2). A
            // database that fails meanwhile fails verification; it finds nothing.
            for (index, link) in verifier.take_links() {
                let read = Reads { client: &mut tx, prepared: &mut *prepared }.entry(link.seq);
                let entry = match read {
                    Ok(entry) => Some(entry),
                    Err(e) if matches!(e.code(), ErrorCode::Io | ErrorCode::LogLocked) => return Err(e),
                    Err(_) => None, // no such record: a finding
                };
                let found = entry
                    .as_ref()
                    .and_then(crate::messages::record_digest)
                    .filter(|(seq, _)| *seq == link.seq)
                    .map(|(_, digest)| digest);
                // The erasure and the event's removal commit together here: an
                // erased record whose event is stored had it put back (§25.6).
                if found == Some(link.record)
                    && let Some(entry) = &entry
                    && !matches!(StoredEvent::read(entry.stored_event()), Ok(Some(StoredEvent::Erased)))
                {
                    finding(
                        &mut verifier,
                        format!(
                            "the erasure record at index {index} names record {}, whose event is stored: the erasure removed it in the same transaction, so it was put back",
                            link.seq
                        ),
                    );
                }
                verifier.check_link(index, link, found);
            }
            Ok(verifier.finish())
        })
    }
}

/// Brings an older schema to [`SCHEMA_VERSION`], unless another process did
/// first.
fn migrate(tx: &mut Transaction<'_>) -> Result<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).map_err(|e| db_error("lock", &e))?;
    let from = schema_version(tx)?.ok_or_else(|| corrupt("the schema version is missing"))?;
    for (to, migration) in (2..).zip(MIGRATIONS).filter(|(to, _)| *to > from) {
        tx.batch_execute(migration).map_err(|e| db_error(&format!("migrate the schema to version {to}"), &e))?;
    }
    tx.execute("UPDATE evidentia.schema_version SET version = $1", &[&SCHEMA_VERSION])
        .map_err(|e| db_error("migrate the schema", &e))?;
    Ok(())
}

/// The schema and an empty log's head, unless the database holds a log already.
fn create_schema(
    tx: &mut Transaction<'_>,
    log_id: &str,
    mode: Mode,
    keys: &str,
    record_version: RecordVersion,
) -> Result<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).map_err(|e| db_error("lock", &e))?;
    if schema_version(tx)?.is_some() {
        return Err(Error::new(ErrorCode::LogExists, "the database already holds an Evidentia log"));
    }
    tx.batch_execute(SCHEMA).map_err(|e| db_error("create the schema", &e))?;
    tx.execute("INSERT INTO evidentia.schema_version VALUES ($1)", &[&SCHEMA_VERSION])
        .map_err(|e| db_error("create the schema", &e))?;
    tx.execute(
        "INSERT INTO evidentia.log (log_id, mode, keys, size, last_record, peaks, record_version)
         VALUES ($1, $2, $3, 0, NULL, '', $4)",
        &[&log_id, &mode.name(), &keys, &(record_version.number() as i32)],
    )
    .map_err(|e| db_error("create the log", &e))?;
    Ok(())
}

/// Inserts `rows` (and a checkpoint), and moves the head to `size` records ending
/// with `last`, whose tree's right edge is `peaks`: one statement, one round trip.
/// The head row after an append: what it counts, a checkpoint to store with it,
/// and the new key history after a key record.
struct NewHead<'a> {
    size: u64,
    checkpoint: Option<&'a str>,
    last: Option<&'a [u8]>,
    peaks: &'a [u8],
    keys: Option<&'a str>,
}

fn write_rows(tx: &mut Transaction<'_>, prepared: &mut Prepared, rows: &NewRows, head: &NewHead<'_>) -> Result<()> {
    prepared
        .execute(
            tx,
            "WITH entries AS (
             INSERT INTO evidentia.entries (seq, receipt, record, event)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::bytea[])),
         nonces AS (
             INSERT INTO evidentia.nonces (nonce, seq) SELECT * FROM unnest($5::text[], $6::bigint[])),
         nodes AS (
             INSERT INTO evidentia.nodes (level, idx, hash)
             SELECT * FROM unnest($7::integer[], $8::bigint[], $9::bytea[])),
         checkpoints AS (
             INSERT INTO evidentia.checkpoints (size, note) SELECT $10, $11::text WHERE $11::text IS NOT NULL
             ON CONFLICT (size) DO NOTHING)
         UPDATE evidentia.log SET size = $10, last_record = $12, peaks = $13, keys = coalesce($14::text, keys)",
            &[
                &rows.seqs,
                &rows.receipts,
                &rows.records,
                &rows.events,
                &rows.nonces,
                &rows.nonce_seqs,
                &rows.levels,
                &rows.indexes,
                &rows.hashes,
                &(head.size as i64),
                &head.checkpoint,
                &head.last,
                &head.peaks,
                &head.keys,
            ],
        )
        .map_err(|e| match e.as_db_error().and_then(|db| db.constraint()) {
            // Only a writer not holding the head's lock could race us to a nonce.
            Some("nonces_pkey") => {
                Error::new(ErrorCode::NonceInUse, "a nonce of the append is already used by another record")
            }
            // Rows the head does not count hold the place: the log was changed.
            Some(constraint) => corrupt(format!("a row the log's head does not count is in the way ({constraint})")),
            None => db_error("store the records", &e),
        })?;
    Ok(())
}

/// Writes copied rows, and moves the head to the `size` records copied so far,
/// ending with `last`, whose tree is `tree`.
fn write_copied(
    tx: &mut Transaction<'_>,
    prepared: &mut Prepared,
    rows: &NewRows,
    size: u64,
    last: Option<&[u8]>,
    tree: &Accumulator,
) -> Result<()> {
    let peaks = tree.peaks().concat();
    write_rows(tx, prepared, rows, &NewHead { size, checkpoint: None, last, peaks: &peaks, keys: None })
}

/// What is wrong with the head row, which must count the `records` read, hold the
/// last of them and the right edge of their tree (whose root is `root`).
fn check_head(tx: &mut Transaction<'_>, records: u64, last: Option<&[u8]>, root: Hash) -> Result<Vec<String>> {
    let Some(row) = tx
        .query_opt("SELECT size, last_record, peaks FROM evidentia.log", &[])
        .map_err(|e| db_error("read the log's head", &e))?
    else {
        return Ok(vec!["the log's head row is missing".to_owned()]);
    };
    let mut wrong = Vec::new();
    let size = match count(&row, 0) {
        Ok(size) => size,
        Err(e) => return Ok(vec![e.message().to_owned()]),
    };
    if size > records {
        wrong.push(format!(
            "the log's head counts {size} records, but {records} are stored: records were removed from the end"
        ));
    } else if size < records {
        wrong.push(format!("the log's head counts {size} records, but {records} are stored"));
    }
    match col::<Option<&[u8]>>(&row, 1) {
        Ok(stored) if stored == last => {}
        Ok(_) => wrong.push("the log's head names another last record than the last stored".to_owned()),
        Err(e) => wrong.push(e.message().to_owned()),
    }
    let peaks = col::<&[u8]>(&row, 2).ok().filter(|peaks| peaks.len() == 32 * size.count_ones() as usize);
    let peaks: Option<Vec<Hash>> =
        peaks.map(|peaks| peaks.chunks(32).filter_map(|c| <Hash>::try_from(c).ok()).collect());
    if size == records && peaks.map(|peaks| Accumulator::from_peaks(size, peaks).root()) != Some(root) {
        wrong.push("the log's head holds another tree edge than the records give".to_owned());
    }
    Ok(wrong)
}

/// `key` must be the log's current key; returns its validity.
/// Whether the key history shows `from` handing over to `to`, which is current:
/// `from` expired at the instant `to` became valid.
fn handed_over(keys: &KeySet, from: &dyn Signer, to: &dyn Signer) -> bool {
    let Ok(incoming) = current(keys, to) else { return false };
    keys.select(Some(from.public_key().kid())).is_ok_and(|(key, validity)| {
        key == from.public_key() && validity.expires.is_some() && validity.expires == incoming.not_before
    })
}

/// Whether the key history already revokes `kid` from `at` (as a NumericDate
/// holds it, §23) with `reason`.
fn revoked_so(keys: &KeySet, kid: &str, at: Timestamp, reason: Option<&str>) -> Result<bool> {
    let Ok((_, validity)) = keys.select(Some(kid)) else { return Ok(false) };
    Ok(validity.revoked_at == Some(at.as_numeric_date_at_or_before()?)
        && validity.revocation_reason.as_deref() == reason)
}

fn current(keys: &KeySet, key: &dyn Signer) -> Result<Validity> {
    let not_current = || Error::new(ErrorCode::KeyNotCurrent, "the key is not the log's current signing key");
    let (found, validity) = keys.select(Some(key.public_key().kid())).map_err(|_| not_current())?;
    if found != key.public_key() || validity.expires.is_some() || validity.revoked_at.is_some() {
        return Err(not_current());
    }
    Ok(validity.clone())
}

fn schema_version(tx: &mut Transaction<'_>) -> Result<Option<i32>> {
    let exists = tx
        .query_one("SELECT to_regclass('evidentia.schema_version') IS NOT NULL", &[])
        .map_err(|e| db_error("read the schema", &e))?
        .get::<_, bool>(0);
    if !exists {
        return Ok(None);
    }
    let rows = tx
        .query("SELECT version FROM evidentia.schema_version", &[])
        .map_err(|e| db_error("read the schema version", &e))?;
    let [row] = rows.as_slice() else {
        return Err(corrupt(format!("the schema version is stored {} times, not once", rows.len())));
    };
    match col::<i32>(row, 0)? {
        version if version < 1 => Err(corrupt(format!("the schema version is {version}"))),
        version => Ok(Some(version)),
    }
}

/// What a group of events must be to go into one transaction: no larger than a
/// folder log's commit (one message to the server holds them all), with nonces
/// that PostgreSQL's text can hold.
fn check_group(events: &[NewEvent<'_>], canonical: &[Vec<u8>]) -> Result<()> {
    let bytes: usize = canonical.iter().map(Vec::len).sum();
    if bytes > crate::writer::MAX_GROUP_BYTES {
        return Err(Error::new(
            ErrorCode::EntryTooLarge,
            format!(
                "the events are larger than {} MiB together: append them in smaller batches",
                crate::writer::MAX_GROUP_BYTES >> 20
            ),
        ));
    }
    if events.iter().any(|event| event.nonce.is_some_and(|nonce| nonce.contains('\0'))) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "a log in PostgreSQL cannot hold a nonce with a NUL character",
        ));
    }
    Ok(())
}

/// The record entry `seq` holds (batch mode), which must be record `seq`.
fn entry_record(seq: u64, bytes: &[u8]) -> Result<Record> {
    let record = Record::from_bytes(bytes).map_err(|e| corrupt(format!("entry {seq}: {}", e.message())))?;
    if record.seq != seq {
        return Err(corrupt(format!("entry {seq} holds record {}", record.seq)));
    }
    Ok(record)
}

/// The reads that serve records, receipts and proofs, on a connection or inside
/// a snapshot (a package is read in one).
struct Reads<'a, C: GenericClient> {
    client: &'a mut C,
    prepared: &'a mut Prepared,
}

impl<C: GenericClient> Reads<'_, C> {
    fn size(&mut self) -> Result<u64> {
        let row = self
            .prepared
            .query(self.client, "SELECT size FROM evidentia.log", &[])
            .map_err(|e| db_error("read", &e))
            .and_then(head)?;
        count(&row, 0)
    }

    fn keys(&mut self) -> Result<KeySet> {
        let row = self
            .prepared
            .query(self.client, "SELECT keys FROM evidentia.log", &[])
            .map_err(|e| db_error("read the key history", &e))
            .and_then(head)?;
        KeySet::from_json(col::<&str>(&row, 0)?).map_err(|e| corrupt(e.message()))
    }

    fn entry(&mut self, seq: u64) -> Result<Entry> {
        let row = self
            .prepared
            .query_opt(
                self.client,
                "SELECT receipt, record, event FROM evidentia.entries WHERE seq = $1",
                &[&(seq as i64)],
            )
            .map_err(|e| db_error("read an entry", &e))?;
        match row {
            Some(row) => entry_of(&row, seq, 0),
            None => match self.size()? {
                size if seq < size => Err(corrupt(format!("record {seq} is missing from the entries"))),
                size => Err(crate::view::beyond(size, seq)),
            },
        }
    }

    /// As [`PgLog::receipt`]. Keys change only at rotations, which seal the
    /// outgoing key's records first, so a batch record's checkpoint is the newest
    /// one covering no record of a later key.
    fn receipt(&mut self, seq: u64) -> Result<String> {
        let record = match self.entry(seq)? {
            Entry::Receipt { receipt, .. } => return Ok(receipt),
            Entry::Record { record, .. } => record,
        };
        let kid = entry_record(seq, &record)?.kid;
        let within = self.end_of_key(seq, &kid)?;
        let stored = self
            .prepared
            .query_opt(
                self.client,
                "SELECT size, note FROM evidentia.checkpoints WHERE size > $1 AND size <= $2 ORDER BY size DESC LIMIT 1",
                &[&(seq as i64), &(within as i64)],
            )
            .map_err(|e| db_error("read the checkpoints", &e))?
            .ok_or_else(|| corrupt(format!("no checkpoint of key {kid} covers record {seq}")))?;
        let (size, note): (u64, String) = (count(&stored, 0)?, col(&stored, 1)?);
        let proof = self.inclusion_proof(seq, Some(size))?;
        Ok(evidentia::BatchReceipt::new(&record, proof, &note)?.to_json())
    }

    /// Where the records of `kid` (record `seq`'s key) end: the first record after
    /// `seq` that another key signed, found by bisection, since a log's records are
    /// signed by one key after another, never by an earlier key again; or, when
    /// there is none, the size of the log as read then. No checkpoint of at most
    /// that size is signed by a later key, however many rotations commit meanwhile
    /// (reading the size again could take one in).
    fn end_of_key(&mut self, seq: u64, kid: &str) -> Result<u64> {
        let size = self.size()?;
        let mut kid_of = |seq: u64| -> Result<String> {
            // Every record below the head's size must be there.
            let entry = self.entry(seq).map_err(|e| match e.code() {
                ErrorCode::InvalidArgument => corrupt(format!("record {seq} is missing from the entries")),
                _ => e,
            })?;
            match entry {
                Entry::Record { record, .. } => Ok(entry_record(seq, &record)?.kid),
                Entry::Receipt { .. } => Err(corrupt(format!("entry {seq} of a batch-signed log holds a receipt"))),
            }
        };
        let last = size.saturating_sub(1);
        if last <= seq || kid_of(last)? == kid {
            return Ok(size);
        }
        let (mut low, mut high) = (seq, last); // record `low` has `kid`, record `high` does not
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if kid_of(mid)? == kid {
                low = mid;
            } else {
                high = mid;
            }
        }
        Ok(high)
    }

    fn inclusion_proof(&mut self, index: u64, size: Option<u64>) -> Result<InclusionProof> {
        let (size, count) = proof_size(self.client, self.prepared, size)?;
        let wanted = Wanted::new(count);
        evidentia::merkle::inclusion_proof(&wanted, index, size)?;
        let nodes = wanted.read(self.client, self.prepared)?;
        let hashes = evidentia::merkle::inclusion_proof(&nodes, index, size)?;
        Ok(InclusionProof { leaf_index: index, tree_size: size, hashes })
    }
}

impl<C: GenericClient> PublishSource for Reads<'_, C> {
    fn root(&mut self, size: u64) -> Result<Hash> {
        let count = self.size()?;
        if size > count {
            return Err(corrupt(format!("a tree of {size} records is asked for; the log holds {count}")));
        }
        let wanted = Wanted::new(count);
        evidentia::merkle::root(&wanted, size)?;
        let nodes = wanted.read(self.client, self.prepared)?;
        evidentia::merkle::root(&nodes, size)
    }

    fn records(&mut self, first: u64, n: u64) -> Result<Vec<Vec<u8>>> {
        let rows = self
            .prepared
            .query(
                self.client,
                "SELECT seq, receipt, record FROM evidentia.entries WHERE seq >= $1 AND seq < $2 ORDER BY seq",
                &[&(first as i64), &((first + n) as i64)],
            )
            .map_err(|e| db_error("read entries", &e))?;
        if rows.len() as u64 != n {
            return Err(corrupt(format!("records {first} to {} are not all in the entries", first + n - 1)));
        }
        rows.iter()
            .zip(first..)
            .map(|(row, seq)| {
                if count(row, 0)? != seq {
                    return Err(corrupt(format!("record {seq} is missing from the entries")));
                }
                match (col::<Option<&str>>(row, 1)?, col::<Option<Vec<u8>>>(row, 2)?) {
                    (Some(receipt), None) => Ok(Receipt::parse(receipt)?.record_bytes().to_vec()),
                    (None, Some(record)) => Ok(record),
                    _ => Err(corrupt(format!("entry {seq} holds neither a receipt nor a record"))),
                }
            })
            .collect()
    }
}

/// A package's reads, in one snapshot of the log.
struct Snapshot<'a, 't> {
    reads: Reads<'a, Transaction<'t>>,
    keys: KeySet,
    log_id: &'a str,
    mode: Mode,
}

impl PackageSource for Snapshot<'_, '_> {
    fn log_id(&self) -> &str {
        self.log_id
    }

    fn keys(&self) -> &KeySet {
        &self.keys
    }

    fn receipt(&mut self, seq: u64) -> Result<String> {
        self.reads.receipt(seq)
    }

    fn event(&mut self, seq: u64) -> Result<evidentia::CommittedEvent> {
        let entry = self.reads.entry(seq)?;
        evidentia::event_as_committed(&entry.record()?, entry.stored_event())
    }

    /// Every record from `index` on is read, a page at a time, as a folder's are.
    fn records_after(&mut self, index: u64) -> Result<crate::package::Following> {
        // As `verify` reads them: a page's events are held at once.
        const PAGE: i64 = 64;
        let size = self.reads.size()?;
        let mut found = KeyRecords::after(index, &self.keys, self.mode);
        let mut from = index;
        loop {
            let rows = self
                .reads
                .prepared
                .query(
                    self.reads.client,
                    "SELECT seq, receipt, record, event FROM evidentia.entries
                     WHERE seq >= $1 AND seq < $2 ORDER BY seq LIMIT $3",
                    &[&(from as i64), &(size as i64), &PAGE],
                )
                .map_err(|e| db_error("read the records after the packaged one", &e))?;
            for row in &rows {
                let seq = count(row, 0)?;
                found.push(seq, entry_of(row, seq, 1)?.as_ref())?;
                from = seq + 1;
            }
            if rows.len() < PAGE as usize {
                return found.finish(size);
            }
        }
    }

    fn checkpoints(&mut self) -> Result<Vec<StoredCheckpoint>> {
        let rows = self
            .reads
            .prepared
            .query(self.reads.client, "SELECT size, note FROM evidentia.checkpoints ORDER BY size", &[])
            .map_err(|e| db_error("read the checkpoints", &e))?;
        let size = self.reads.size()?;
        rows.iter()
            .map(|row| match count(row, 0)? {
                beyond if beyond > size => {
                    Err(corrupt(format!("a checkpoint of {beyond} records is stored, and the log holds {size}")))
                }
                checkpoint_size => Ok(StoredCheckpoint { size: checkpoint_size, note: col(row, 1)? }),
            })
            .collect()
    }

    fn inclusion_proof(&mut self, index: u64, size: u64) -> Result<InclusionProof> {
        self.reads.inclusion_proof(index, Some(size))
    }

    fn timestamp(&mut self, _size: u64) -> Option<StoredTimestamp> {
        None
    }

    fn witness_policy(&mut self) -> Result<Option<String>> {
        Ok(None)
    }

    fn cosigned(&mut self, _size: u64) -> Option<String> {
        None
    }
}

/// What `verify` finds wrong with the nonce table, by kind.
const NONCE_FINDINGS: [&str; 4] = [
    "the nonce table names a record with another nonce than the record holds",
    "the nonce table holds an unreadable row",
    "a record's nonce is missing from the nonce table",
    "the nonce table names records the log does not hold",
];

/// One read-only snapshot for every read of a verification or a copy: appends
/// committed meanwhile are not seen. Checking or writing a batch of large entries
/// takes a while between two reads, so the writers' limit on idling in a
/// transaction is lifted for it.
fn snapshot(client: &mut Client) -> Result<Transaction<'_>> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| db_error("begin", &e))?;
    tx.batch_execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        .map_err(|e| db_error("configure the session", &e))?;
    Ok(tx)
}

/// The log's note key (vkey), checked to be an Ed25519 key named for the log.
fn note_vkey(client: &mut impl GenericClient, prepared: &mut Prepared) -> Result<Option<String>> {
    let row = prepared
        .query(client, "SELECT note_vkey, log_id FROM evidentia.log", &[])
        .map_err(|e| db_error("read the note key", &e))
        .and_then(head)?;
    let Some(vkey) = col::<Option<String>>(&row, 0)? else { return Ok(None) };
    match note_vkey_problem(&vkey, &col::<String>(&row, 1)?) {
        None => Ok(Some(vkey)),
        Some(problem) => Err(corrupt(problem)),
    }
}

/// What is wrong with a stored note key (vkey) of the log `log_id`, if anything.
fn note_vkey_problem(vkey: &str, log_id: &str) -> Option<String> {
    match evidentia::LogKey::from_vkey(vkey) {
        Ok(key) if key.is_ed25519() && key.name() == log_id && key.to_vkey() == vkey => None,
        _ => Some(format!("the stored note key {vkey:?} is not an Ed25519 key of this log")),
    }
}

fn latest_checkpoint(client: &mut impl GenericClient, prepared: &mut Prepared) -> Result<Option<(u64, String)>> {
    let row = prepared
        .query_opt(client, "SELECT size, note FROM evidentia.checkpoints ORDER BY size DESC LIMIT 1", &[])
        .map_err(|e| db_error("read the checkpoints", &e))?;
    row.map(|row| Ok((count(&row, 0)?, col(&row, 1)?))).transpose()
}

/// The acknowledgement of a record already in the log (an idempotent retry),
/// from a row of its sequence number, receipt, record and the size of the
/// checkpoint that first sealed it (batch mode).
fn replayed(row: &Row) -> Result<(Appended, Vec<u8>)> {
    let seq = count(row, 1)?;
    let (receipt, record): (Option<&str>, Option<&[u8]>) = (col(row, 2)?, col(row, 3)?);
    let (receipt, record) = match (receipt, record) {
        (Some(text), _) => {
            let receipt = Receipt::parse(text)?;
            let record = receipt.record().clone();
            (Some(receipt), record)
        }
        (None, Some(bytes)) => (None, Record::from_bytes(bytes)?),
        (None, None) => {
            return Err(corrupt(format!("entry {seq}, which holds a nonce, holds neither receipt nor record")));
        }
    };
    let checkpoint_size = col::<Option<i64>>(row, 4)?.and_then(|size| u64::try_from(size).ok());
    let stored_event: Vec<u8> = col(row, 5)?;
    let bytes = record.to_bytes();
    Ok((Appended::replayed(seq, &bytes, record, receipt, checkpoint_size, &stored_event), stored_event))
}

/// Every hold, by sequence number.
const HOLDS: &str = "SELECT seq, reason, since FROM evidentia.holds ORDER BY seq";

/// The hold on record `seq`, if any.
fn read_hold(tx: &mut Transaction<'_>, prepared: &mut Prepared, seq: u64) -> Result<Option<Hold>> {
    prepared
        .query_opt(tx, "SELECT seq, reason, since FROM evidentia.holds WHERE seq = $1", &[&(seq as i64)])
        .map_err(|e| db_error("read the holds", &e))?
        .as_ref()
        .map(hold_of)
        .transpose()
}

/// A row of `evidentia.holds`.
fn hold_of(row: &Row) -> Result<Hold> {
    let since: &str = col(row, 2)?;
    let since = Timestamp::parse(since).map_err(|_| corrupt(format!("a hold's time, {since:?}, is not a time")))?;
    Ok(Hold { seq: count(row, 0)?, reason: col(row, 1)?, since })
}

/// The size a proof is of (`size`, or the latest checkpoint's), checked against
/// the log's, and the tree's nodes to read it from.
fn proof_size(client: &mut impl GenericClient, prepared: &mut Prepared, requested: Option<u64>) -> Result<(u64, u64)> {
    let row = prepared
        .query(client, "SELECT size, (SELECT max(size) FROM evidentia.checkpoints) FROM evidentia.log", &[])
        .map_err(|e| db_error("read the log", &e))
        .and_then(head)?;
    let (count, latest) = (count(&row, 0)?, col::<Option<i64>>(&row, 1)?);
    let size = match (requested, latest) {
        (Some(size), _) => size,
        (None, Some(latest)) => u64::try_from(latest).map_err(|_| corrupt("a negative checkpoint size"))?,
        (None, None) => {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "the log has no signed checkpoint yet: run 'log checkpoint' first",
            ));
        }
    };
    if size > count {
        // A checkpoint of more records than the log holds is damage, not a bad request.
        let code = if requested.is_some() { ErrorCode::ProofMalformed } else { ErrorCode::LogCorrupt };
        return Err(Error::new(code, format!("the log has only {count} records")));
    }
    Ok((size, count))
}

/// The nodes a proof reads, found by running it once on positions alone: which
/// nodes a proof needs depends on the leaf index and the sizes, never on hashes,
/// so the rows can then be read in one query rather than one round trip each.
struct Wanted {
    size: u64,
    nodes: std::cell::RefCell<Vec<(u32, u64)>>,
}

impl Wanted {
    fn new(size: u64) -> Wanted {
        Wanted { size, nodes: std::cell::RefCell::new(Vec::new()) }
    }

    /// Reads the wanted nodes' hashes in one query.
    fn read(self, client: &mut impl GenericClient, prepared: &mut Prepared) -> Result<Nodes> {
        let wanted = self.nodes.into_inner();
        let levels: Vec<i32> = wanted.iter().map(|&(level, _)| level as i32).collect();
        let indexes: Vec<i64> = wanted.iter().map(|&(_, index)| index as i64).collect();
        let rows = prepared
            .query(
                client,
                "SELECT n.level, n.idx, n.hash FROM evidentia.nodes n
                 JOIN unnest($1::integer[], $2::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx",
                &[&levels, &indexes],
            )
            .map_err(|e| db_error("read tree nodes", &e))?;
        let mut hashes = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            let (level, index) = (col::<i32>(&row, 0)?, col::<i64>(&row, 1)?);
            let hash = <Hash>::try_from(col::<&[u8]>(&row, 2)?)
                .map_err(|_| corrupt(format!("tree node {level}/{index} is not 32 bytes")))?;
            hashes.insert((level as u32, index as u64), hash);
        }
        Ok(Nodes { size: self.size, hashes })
    }
}

impl NodeSource for Wanted {
    fn size(&self) -> u64 {
        self.size
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        self.nodes.borrow_mut().push((level, index));
        Ok([0; 32])
    }
}

/// The tree's nodes a proof reads, read from the database (see [`Wanted`]).
struct Nodes {
    size: u64,
    hashes: std::collections::HashMap<(u32, u64), Hash>,
}

impl NodeSource for Nodes {
    fn size(&self) -> u64 {
        self.size
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        self.hashes
            .get(&(level, index))
            .copied()
            .ok_or_else(|| corrupt(format!("tree node {level}/{index} is missing")))
    }
}
