//! RFC 3161 trusted timestamps (SPEC.md §20): a request for a time-stamping
//! authority, and the verification of its response. Sending the request is the
//! application's: Evidentia never contacts the authority.

use evidentia::timestamp::{TimestampRequest, TimestampTrust};

use crate::error::Result;

/// A verified time-stamp token.
#[derive(Debug, uniffi::Record)]
pub struct VerifiedTimestamp {
    /// The time the authority vouches for (RFC 3339).
    pub gen_time: String,
    /// The imprint's hash: "sha256", "sha384" or "sha512".
    pub hash: String,
    /// The token's serial number, in hex.
    pub serial: String,
    /// The authority's policy under which the token was issued (dotted OID).
    pub policy: String,
    /// The nonce, in hex, if the token has one.
    pub nonce: Option<String>,
    /// The subject of the certificate that signed the token.
    pub tsa: String,
    /// The subjects of the certificate chain, the authority's first, the root last.
    pub chain: Vec<String>,
    /// The root certificate's SHA-256 fingerprint: compare it with the one the
    /// authority publishes.
    pub root_sha256_fingerprint: String,
    /// For a response attached to a log: the size of the checkpoint it covers.
    pub size: Option<u64>,
}

pub(crate) fn convert(verified: &evidentia::timestamp::VerifiedTimestamp, size: Option<u64>) -> VerifiedTimestamp {
    VerifiedTimestamp {
        gen_time: verified.gen_time.to_string(),
        hash: verified.hash.name().to_owned(),
        serial: verified.serial.clone(),
        policy: verified.policy.clone(),
        nonce: verified.nonce.clone(),
        tsa: verified.tsa.clone(),
        chain: verified.chain.clone(),
        root_sha256_fingerprint: verified.root_fingerprint(),
        size,
    }
}

/// Whom to trust, and the request a response must answer.
pub(crate) fn trust(
    roots: &[u8],
    intermediates: Option<&[u8]>,
    tsa_certificate: Option<&[u8]>,
    request: Option<&[u8]>,
) -> Result<(TimestampTrust, Option<TimestampRequest>)> {
    let trust = TimestampTrust::from_certificate_files(roots, intermediates, tsa_certificate)?;
    Ok((trust, request.map(TimestampRequest::parse).transpose()?))
}

/// A time-stamp request (DER, the contents of a `.tsq` file) for `data` — for a log,
/// its checkpoint note as UTF-8 — hashed with `hash` ("sha256", "sha384" or
/// "sha512"), with a random nonce. Send it to the authority with any HTTP client
/// (`Content-Type: application/timestamp-query`).
#[uniffi::export(default(hash = "sha256"))]
pub fn timestamp_request(data: Vec<u8>, hash: String) -> Result<Vec<u8>> {
    Ok(TimestampRequest::generate(&data, &hash)?.to_der().to_vec())
}

/// Verifies a time-stamping authority's response (DER, a `.tsr` file) for `data`
/// through the trusted `roots` (PEM or DER certificates), with `intermediates` that
/// may complete the chain, a pinned `tsaCertificate`, and the `request` it must
/// answer. Throws a Verification error (TIMESTAMP_MISMATCH,
/// TIMESTAMP_SIGNATURE_INVALID, TIMESTAMP_UNTRUSTED, TIMESTAMP_NOT_GRANTED) or a
/// Proof error (TIMESTAMP_MALFORMED, TIMESTAMP_UNSUPPORTED).
#[uniffi::export(default(intermediates = None, tsa_certificate = None, request = None))]
pub fn verify_timestamp(
    response: Vec<u8>,
    data: Vec<u8>,
    roots: Vec<u8>,
    intermediates: Option<Vec<u8>>,
    tsa_certificate: Option<Vec<u8>>,
    request: Option<Vec<u8>>,
) -> Result<VerifiedTimestamp> {
    let (trust, request) = trust(&roots, intermediates.as_deref(), tsa_certificate.as_deref(), request.as_deref())?;
    let verified = evidentia::timestamp::verify_timestamp(&response, &data, request.as_ref(), &trust)?;
    Ok(convert(&verified, None))
}
