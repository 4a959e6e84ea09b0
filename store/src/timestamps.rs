//! RFC 3161 timestamps of a log's checkpoints, kept beside them (SPEC.md §16, §20):
//! `timestamps/<size>.stamp` holds the certificate chain the response was verified
//! with when it was attached (PEM, TSA certificate first, trusted root last) and
//! then the authority's response as received (a `TIME-STAMP RESPONSE` PEM block):
//! one file, replaced atomically, so a response is never found with another's
//! chain. Logs written before keep `<size>.tsr` and `<size>.pem`, read when there
//! is no `.stamp`.

use std::path::Path;

use evidentia::timestamp::{self, TimestampRequest, TimestampTrust, VerifiedTimestamp};
use evidentia::{Error, ErrorCode, Result};

use crate::LogReader;
use crate::config::TIMESTAMPS_DIR;
use crate::fsio::{Fs, read_regular};

/// A time-stamp response or certificate chain is a few kilobytes.
const MAX_FILE: u64 = 1 << 20;
const RESPONSE_BEGIN: &str = "-----BEGIN TIME-STAMP RESPONSE-----";
const RESPONSE_END: &str = "-----END TIME-STAMP RESPONSE-----";
use crate::writer::LogOptions;

/// A stored timestamp of one checkpoint.
#[derive(Clone, Debug)]
pub struct StoredTimestamp {
    /// The size of the checkpoint it covers.
    pub size: u64,
    /// The TimeStampResp as the authority sent it.
    pub response: Vec<u8>,
    /// The chain it verified with: TSA certificate first, root last (DER).
    pub chain: Vec<Vec<u8>>,
}

impl LogReader {
    /// The stored timestamp of the checkpoint of `size` records, if there is one.
    ///
    /// # Errors
    /// [`ErrorCode::Io`] when a file exists but cannot be read;
    /// [`ErrorCode::TimestampMalformed`] when its chain file is damaged.
    pub fn timestamp(&self, size: u64) -> Result<Option<StoredTimestamp>> {
        let dir = self.dir.join(TIMESTAMPS_DIR);
        let stamp_path = dir.join(format!("{size}.stamp"));
        if let Some(stamp) = read_regular(&stamp_path, MAX_FILE)? {
            let damaged =
                |why: &str| Error::new(ErrorCode::TimestampMalformed, format!("{}: {why}", stamp_path.display()));
            let text = std::str::from_utf8(&stamp).map_err(|_| damaged("not PEM text"))?;
            let (chain, block) = text.split_once(RESPONSE_BEGIN).ok_or_else(|| damaged("no response block"))?;
            let body = block.strip_suffix('\n').unwrap_or(block).strip_suffix(RESPONSE_END);
            let body: String =
                body.ok_or_else(|| damaged("the response block has no end"))?.split_whitespace().collect();
            let response =
                evidentia::encoding::b64_decode(&body).ok_or_else(|| damaged("the response is not base64"))?;
            let chain = timestamp::read_certificates(chain.as_bytes())
                .map_err(|e| Error::new(e.code(), format!("{}: {e}", stamp_path.display())))?;
            return Ok(Some(StoredTimestamp { size, response, chain }));
        }
        let response_path = dir.join(format!("{size}.tsr"));
        let Some(response) = read_regular(&response_path, MAX_FILE)? else { return Ok(None) };
        let chain_path = dir.join(format!("{size}.pem"));
        let chain = read_regular(&chain_path, MAX_FILE)?
            .ok_or_else(|| Error::new(ErrorCode::LogCorrupt, format!("{} is missing", chain_path.display())))?;
        let chain = timestamp::read_certificates(&chain)
            .map_err(|e| Error::new(e.code(), format!("{}: {e}", chain_path.display())))?;
        Ok(Some(StoredTimestamp { size, response, chain }))
    }
}

/// Verifies a time-stamp response for one of the log's checkpoints and stores it
/// beside the checkpoint. The checkpoint is the one whose signed note the token's
/// imprint is the digest of; with `request`, the response must answer it.
///
/// # Errors
/// The timestamp's verification error, [`ErrorCode::TimestampMismatch`] when the
/// token covers none of the log's checkpoints, or [`ErrorCode::Io`].
pub fn attach_timestamp(
    dir: &Path,
    response: &[u8],
    request: Option<&TimestampRequest>,
    trust: &TimestampTrust,
) -> Result<(u64, VerifiedTimestamp)> {
    attach_timestamp_with(dir, response, request, trust, &LogOptions::default())
}

/// [`attach_timestamp`], its files written as `options` say (a fault plan, for tests).
///
/// # Errors
/// As [`attach_timestamp`].
pub fn attach_timestamp_with(
    dir: &Path,
    response: &[u8],
    request: Option<&TimestampRequest>,
    trust: &TimestampTrust,
    options: &LogOptions,
) -> Result<(u64, VerifiedTimestamp)> {
    let fs = Fs::new(options.faults.clone());
    let reader = LogReader::open(dir)?;
    let mut last_error = None;
    for checkpoint in reader.checkpoints()?.iter().rev() {
        match timestamp::verify_timestamp(response, checkpoint.note.as_bytes(), request, trust) {
            Ok(verified) => {
                let folder = dir.join(TIMESTAMPS_DIR);
                fs.create_folder(&folder)?;
                fs.replace(&folder, &format!("{}.stamp", checkpoint.size), stamp_file(&verified, response).as_bytes())?;
                return Ok((checkpoint.size, verified));
            }
            Err(e) if e.code() == ErrorCode::TimestampMismatch => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.map_or_else(
        || Error::new(ErrorCode::InvalidArgument, "the log has no signed checkpoint to timestamp"),
        |e| {
            Error::new(
                ErrorCode::TimestampMismatch,
                format!("the token is not for any of this log's checkpoints ({})", e.message()),
            )
        },
    ))
}

/// The `.stamp` file of a verified response: its chain, then the response.
fn stamp_file(verified: &VerifiedTimestamp, response: &[u8]) -> String {
    let mut text: String = verified.chain_der.iter().map(|c| timestamp::certificate_to_pem(c)).collect();
    text.push_str(RESPONSE_BEGIN);
    text.push('\n');
    for line in evidentia::encoding::b64(response).as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(RESPONSE_END);
    text.push('\n');
    text
}
