//! A log in either store, named by a folder path or a `postgres://` URL: the one
//! type the bindings hold, so that each of them opens both stores the same way
//! (SPEC.md §25). What both stores do is here; what only a folder log does so far
//! is reached through [`AnyLog::folder`], which refuses a PostgreSQL log with a
//! clear error rather than a missing-file one.

use std::path::{Path, PathBuf};

use evidentia::{ConsistencyProof, Error, ErrorCode, InclusionProof, KeySet, Report, Result, Signer, Timestamp};

#[cfg(feature = "postgres")]
use crate::pg::{PgCreateOptions, PgLog};
use crate::writer::{AppendOptions, Appended, CreateOptions, Log, LogOptions, NewEvent};
use crate::{Mode, verify_dir_from};

/// An open log: a folder on the local disk, or a log kept in PostgreSQL.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per open log, made once and never moved in a loop
pub enum AnyLog {
    /// A log folder (SPEC.md §16), held for writing by this process.
    Folder(Log),
    /// A log in a PostgreSQL database, shared with any number of writers.
    #[cfg(feature = "postgres")]
    Postgres(PgLog),
}

/// Whether `location` names a PostgreSQL log rather than a folder.
#[must_use]
pub fn is_postgres_url(location: &str) -> bool {
    // URL schemes are case-insensitive: `Postgres://` is no folder name.
    let scheme = location.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    matches!(scheme.as_deref(), Some("postgres" | "postgresql"))
}

/// Whether `location` is an `http://` or `https://` URL: a published log (tlog-tiles,
/// SPEC §24), which commands that read a log also read.
#[must_use]
pub fn is_publication_url(location: &str) -> bool {
    let scheme = location.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    matches!(scheme.as_deref(), Some("http" | "https"))
}

/// The URL of a PostgreSQL log, when `location` names one.
#[must_use]
pub fn postgres_url(location: &Path) -> Option<&str> {
    location.to_str().filter(|text| is_postgres_url(text))
}

/// The URL of a PostgreSQL log when `location` names one, `None` for a folder.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for what looks like a mistyped URL (` postgres://…`,
/// `postgres:/…`, `postgres ://…`, `postgres//…`) or is a URL of another scheme
/// (`pg://…`, `postgress://…`, `https://…`), which would otherwise become a folder
/// named after it, password and all. The message does not repeat it, for the same
/// reason. Commands that also read a publication check [`is_publication_url`]
/// first.
pub fn postgres_location(location: &Path) -> Result<Option<&str>> {
    if let Some(url) = postgres_url(location) {
        return Ok(Some(url));
    }
    let Some(text) = location.to_str() else { return Ok(None) };
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    if ["postgres:", "postgresql:", "postgres//", "postgresql//"].iter().any(|start| squeezed.starts_with(start)) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "the log's location looks like a PostgreSQL URL but is not one: write postgres://user:password@host/database",
        ));
    }
    // A URL's scheme (RFC 3986): a letter, then letters, digits, `+`, `-` or `.`.
    let scheme = squeezed.split_once("://").map(|(scheme, _)| scheme).filter(|scheme| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    match scheme {
        None => Ok(None),
        Some(_) => Err(Error::new(
            ErrorCode::InvalidArgument,
            "the log's location is a URL of a kind Evidentia does not write to or open as a log: a log is a \
             folder or a postgres://user:password@host/database URL (http(s) URLs name publications, which \
             only log verify, prove, consistency and monitor read)",
        )),
    }
}

#[cfg(not(feature = "postgres"))]
pub(crate) fn no_postgres() -> Error {
    Error::new(ErrorCode::InvalidArgument, "this build of Evidentia has no PostgreSQL support")
}

fn folder_only(what: &str) -> Error {
    Error::new(
        ErrorCode::InvalidArgument,
        format!("{what} is for log folders; a PostgreSQL log does not support it yet"),
    )
}

impl AnyLog {
    /// Creates a log at `location`: a new folder, or the schema and an empty log
    /// in the PostgreSQL database a `postgres://` URL names.
    ///
    /// # Errors
    /// As [`Log::create`] and [`PgLog::create`]; [`ErrorCode::InvalidArgument`] for
    /// index fields on a PostgreSQL log, which does not index fields yet.
    pub fn create(location: &Path, key: &dyn Signer, options: CreateOptions) -> Result<AnyLog> {
        let Some(url) = postgres_location(location)? else {
            return Log::create(location, key, options).map(AnyLog::Folder);
        };
        if !options.index_fields.is_empty() {
            return Err(folder_only("indexing payload fields"));
        }
        #[cfg(feature = "postgres")]
        {
            let options = PgCreateOptions {
                log_id: options.log_id,
                mode: options.mode,
                key_valid_from: options.key_valid_from,
                record_version: options.record_version,
            };
            PgLog::create(url, key, options).map(AnyLog::Postgres)
        }
        #[cfg(not(feature = "postgres"))]
        {
            let _ = (url, key);
            Err(no_postgres())
        }
    }

    /// Opens the log at `location`. A folder log is repaired and held for writing
    /// as [`Log::open_with`] says; a PostgreSQL log is shared, so `options.wait`
    /// does not apply to it (a writer holding its head row for over a minute gives
    /// [`ErrorCode::LogLocked`]).
    ///
    /// # Errors
    /// As [`Log::open_with`] and [`PgLog::open`].
    pub fn open(location: &Path, options: &LogOptions) -> Result<AnyLog> {
        let Some(url) = postgres_location(location)? else {
            return Log::open_with(location, options).map(AnyLog::Folder);
        };
        #[cfg(feature = "postgres")]
        {
            PgLog::open(url).map(AnyLog::Postgres)
        }
        #[cfg(not(feature = "postgres"))]
        {
            let _ = url;
            Err(no_postgres())
        }
    }

    /// The folder log, for what only a folder log does (`what` names it in the
    /// error).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a PostgreSQL log.
    #[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
    pub fn folder(&self, what: &str) -> Result<&Log> {
        match self {
            AnyLog::Folder(log) => Ok(log),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(_) => Err(folder_only(what)),
        }
    }

    /// The log's id.
    #[must_use]
    pub fn log_id(&self) -> String {
        match self {
            AnyLog::Folder(log) => log.log_id(),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.log_id().to_owned(),
        }
    }

    /// Whether every record is signed, or each append sealed by a checkpoint.
    #[must_use]
    pub fn mode(&self) -> Mode {
        match self {
            AnyLog::Folder(log) => log.mode(),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.mode(),
        }
    }

    /// The log's key history.
    ///
    /// # Errors
    /// [`ErrorCode::Io`] when the database cannot be read.
    pub fn keys(&self) -> Result<KeySet> {
        match self {
            AnyLog::Folder(log) => Ok(log.keys()),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.keys(),
        }
    }

    /// The number of records.
    ///
    /// # Errors
    /// [`ErrorCode::Io`] when the database cannot be read.
    #[allow(clippy::len_without_is_empty)] // a query that can fail, not a collection
    pub fn len(&self) -> Result<u64> {
        match self {
            AnyLog::Folder(log) => Ok(log.len()),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.len(),
        }
    }

    /// Appends events, all or none, returned once durable (see
    /// [`Log::append_events`] and [`PgLog::append_events`]).
    ///
    /// # Errors
    /// As those.
    pub fn append_events(
        &self,
        key: &dyn Signer,
        events: &[NewEvent<'_>],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>> {
        match self {
            AnyLog::Folder(log) => log.append_events(key, events, options),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.append_events(key, events, *options),
        }
    }

    /// The signed note of the checkpoint of the whole log, signing one with `key`
    /// first when records came after the last.
    ///
    /// # Errors
    /// As [`Log::checkpoint`] and [`PgLog::checkpoint`].
    pub fn checkpoint(&self, key: &dyn Signer) -> Result<String> {
        match self {
            AnyLog::Folder(log) => log.checkpoint(key).map(|checkpoint| checkpoint.note),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.checkpoint(key).map(|(_, note)| note),
        }
    }

    /// Retires the log's current key `current` and continues with `new_key` (see
    /// [`Log::rotate`] and [`PgLog::rotate`]).
    ///
    /// # Errors
    /// As those.
    pub fn rotate(&self, current: &dyn Signer, new_key: &dyn Signer) -> Result<()> {
        match self {
            AnyLog::Folder(log) => log.rotate(current, new_key, None),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.rotate(current, new_key),
        }
    }

    /// Revokes the key `kid` of the log's key history from `at` on; `key`, the
    /// log's current key, signs the key record (see [`Log::revoke`] and
    /// [`PgLog::revoke`]).
    ///
    /// # Errors
    /// As those.
    pub fn revoke(&self, key: &dyn Signer, kid: &str, at: Timestamp, reason: Option<&str>) -> Result<()> {
        match self {
            AnyLog::Folder(log) => log.revoke(key, kid, at, reason),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.revoke(key, kid, at, reason),
        }
    }

    /// What a holder of record `seq` needs to verify it offline: its receipt, or
    /// its batch receipt.
    ///
    /// # Errors
    /// As [`Log::receipt`] and [`PgLog::receipt`].
    pub fn receipt(&self, seq: u64) -> Result<String> {
        match self {
            AnyLog::Folder(log) => log.receipt(seq),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.receipt(seq),
        }
    }

    /// The salt record `seq` commits to its event under (see [`Log::salt`]);
    /// `None` for a record of version 1 and one whose event was erased.
    ///
    /// # Errors
    /// As [`Log::salt`] and [`PgLog::salt`].
    pub fn salt(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        match self {
            AnyLog::Folder(log) => log.salt(seq),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.salt(seq),
        }
    }

    /// Erases the event of record `seq` and its salt; `key`, the log's current
    /// key, signs the erasure record naming it and `reason` (see [`Log::erase`]
    /// and [`PgLog::erase`]).
    ///
    /// # Errors
    /// As those.
    pub fn erase(&self, key: &dyn Signer, seq: u64, reason: &str) -> Result<Appended> {
        match self {
            AnyLog::Folder(log) => log.erase(key, seq, reason),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.erase(key, seq, reason),
        }
    }

    /// Sets a legal hold on record `seq` (see [`Log::hold`] and [`PgLog::hold`]).
    ///
    /// # Errors
    /// As those.
    pub fn hold(&self, seq: u64, reason: &str) -> Result<()> {
        match self {
            AnyLog::Folder(log) => log.hold(seq, reason),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.hold(seq, reason),
        }
    }

    /// Releases the legal hold on record `seq`; whether there was one.
    ///
    /// # Errors
    /// As [`Log::release`] and [`PgLog::release`].
    pub fn release(&self, seq: u64) -> Result<bool> {
        match self {
            AnyLog::Folder(log) => log.release(seq),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.release(seq),
        }
    }

    /// The log's legal holds, by sequence number.
    ///
    /// # Errors
    /// As [`Log::holds`] and [`PgLog::holds`].
    pub fn holds(&self) -> Result<Vec<crate::Hold>> {
        match self {
            AnyLog::Folder(log) => log.holds(),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.holds(),
        }
    }

    /// Writes the evidence package of record `index` (SPEC.md §19) to the new
    /// folder `out` and to `out.tar.gz`; returns the archive's path.
    ///
    /// # Errors
    /// As [`crate::export_package`] and [`PgLog::export_package`].
    pub fn export_package(&self, index: u64, out: &Path) -> Result<PathBuf> {
        self.export_package_disclosing(index, out, None)
    }

    /// As [`AnyLog::export_package`], for a version-2 record disclosing only the
    /// members `disclose` names (all for `None`; SPEC.md §19 check 13).
    ///
    /// # Errors
    /// As [`crate::export_package_disclosing`].
    pub fn export_package_disclosing(&self, index: u64, out: &Path, disclose: Option<&[String]>) -> Result<PathBuf> {
        match (self, disclose) {
            (AnyLog::Folder(log), Some(names)) => crate::export_package_disclosing(log.dir(), index, out, names),
            (AnyLog::Folder(log), None) => crate::export_package(log.dir(), index, out),
            #[cfg(feature = "postgres")]
            (AnyLog::Postgres(log), disclose) => log.export_package_disclosing(index, out, disclose),
        }
    }

    /// The record that holds `nonce`, if any.
    ///
    /// # Errors
    /// As [`Log::find_nonce`] and [`PgLog::find_nonce`].
    pub fn find_nonce(&self, nonce: &str) -> Result<Option<u64>> {
        match self {
            AnyLog::Folder(log) => log.find_nonce(nonce),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.find_nonce(nonce),
        }
    }

    /// The inclusion proof of record `index` in the tree of `size` records (by
    /// default, the latest checkpoint's).
    ///
    /// # Errors
    /// As [`Log::inclusion_proof`] and [`PgLog::inclusion_proof`].
    pub fn inclusion_proof(&self, index: u64, size: Option<u64>) -> Result<InclusionProof> {
        match self {
            AnyLog::Folder(log) => log.inclusion_proof(index, size),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.inclusion_proof(index, size),
        }
    }

    /// The consistency proof from the tree of `old` records to that of `new` (by
    /// default, the latest checkpoint's).
    ///
    /// # Errors
    /// As [`Log::consistency_proof`] and [`PgLog::consistency_proof`].
    pub fn consistency_proof(&self, old: u64, new: Option<u64>) -> Result<ConsistencyProof> {
        match self {
            AnyLog::Folder(log) => log.consistency_proof(old, new),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => log.consistency_proof(old, new),
        }
    }

    /// Verifies the log against `keys` (by default its own key history); given
    /// `from_checkpoint`, a trusted checkpoint of a folder log, only the records
    /// after it (SPEC.md §13.1).
    ///
    /// # Errors
    /// As [`verify_dir_from`] and [`PgLog::verify`];
    /// [`ErrorCode::InvalidArgument`] for `from_checkpoint` on a PostgreSQL log.
    pub fn verify(&self, keys: Option<&KeySet>, from_checkpoint: Option<&str>) -> Result<Report> {
        match self {
            AnyLog::Folder(log) => verify_dir_from(log.dir(), keys, from_checkpoint, |_| {}),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => {
                if from_checkpoint.is_some() {
                    return Err(folder_only("verifying from a checkpoint"));
                }
                log.verify(keys)
            }
        }
    }

    /// Where the log is, for messages: its folder, or its PostgreSQL log id (a
    /// URL may carry a password, so it is never shown).
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            AnyLog::Folder(log) => log.dir().display().to_string(),
            #[cfg(feature = "postgres")]
            AnyLog::Postgres(log) => format!("PostgreSQL log {}", log.log_id()),
        }
    }
}
