//! RFC 3161 trusted timestamps (SPEC.md §20): a request for a time-stamping
//! authority, and the verification of its response. Sending the request is the
//! application's: Evidentia never contacts the authority.

use evidentia::timestamp::{TimestampRequest, TimestampTrust, verify_timestamp as verify};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{Result, buffer, engine, error, guard, optional_text, text_bytes, value_to_js};

/// What else a time-stamp response is checked with, beside the trusted roots.
#[napi(object, object_to_js = false)]
pub struct TimestampOptions<'env> {
    /// Certificates that may complete the chain (PEM or DER).
    #[napi(ts_type = "Uint8Array | string")]
    pub intermediates: Option<Unknown<'env>>,
    /// The one TSA certificate to accept (PEM or DER): tokens signed with another,
    /// or carrying a certificate outside its chain, are refused.
    #[napi(ts_type = "Uint8Array | string")]
    pub tsa_certificate: Option<Unknown<'env>>,
    /// The request (DER) the response must answer: same imprint and nonce.
    pub request: Option<Uint8Array>,
}

/// An optional member given as text or bytes: `undefined` and `null` are absent.
fn optional_bytes(value: Option<&Unknown<'_>>, what: &str) -> Result<Option<Vec<u8>>> {
    match value {
        Some(value) if !matches!(value.get_type().map_err(engine)?, ValueType::Undefined | ValueType::Null) => {
            text_bytes(value, what).map(Some)
        }
        _ => Ok(None),
    }
}

/// Whom to trust and what to answer, from the arguments: certificates as PEM text
/// (read strictly) or as bytes.
pub(crate) fn trust(
    roots: &Unknown<'_>,
    options: Option<&TimestampOptions<'_>>,
) -> Result<(TimestampTrust, Option<TimestampRequest>)> {
    let intermediates = optional_bytes(options.and_then(|o| o.intermediates.as_ref()), "intermediates")?;
    let tsa = optional_bytes(options.and_then(|o| o.tsa_certificate.as_ref()), "tsaCertificate")?;
    let roots = text_bytes(roots, "roots")?;
    let trust =
        TimestampTrust::from_certificate_files(&roots, intermediates.as_deref(), tsa.as_deref()).map_err(error)?;
    let request = options.and_then(|o| o.request.as_deref()).map(TimestampRequest::parse).transpose().map_err(error)?;
    Ok((trust, request))
}

/// A time-stamp request (DER, the contents of a `.tsq` file) for `data` — for a log,
/// the note `Log.checkpoint()` returns — hashed with `hash` ("sha256", the default,
/// "sha384" or "sha512"), with a random nonce. Send it to the authority with any
/// HTTP client (`Content-Type: application/timestamp-query`).
#[napi]
pub fn timestamp_request<'env>(
    env: &'env Env,
    #[napi(ts_arg_type = "Uint8Array | string")] data: Unknown<'_>,
    #[napi(ts_arg_type = "string")] hash: Option<Unknown<'_>>,
) -> Result<BufferSlice<'env>> {
    guard(|| {
        let data = text_bytes(&data, "data")?;
        let hash = optional_text(hash.as_ref(), "the hash")?;
        let request = TimestampRequest::generate(&data, hash.as_deref().unwrap_or("sha256")).map_err(error)?;
        buffer(env, request.to_der())
    })
}

/// Verifies a time-stamping authority's response (DER, a `.tsr` file) for `data`
/// through the trusted `roots` (PEM or DER certificates). Returns `gen_time`,
/// `hash`, `serial`, `policy`, `nonce`, `tsa`, `chain` and
/// `root_sha256_fingerprint`; throws TIMESTAMP_MISMATCH, TIMESTAMP_SIGNATURE_INVALID,
/// TIMESTAMP_UNTRUSTED, TIMESTAMP_NOT_GRANTED, TIMESTAMP_MALFORMED or
/// TIMESTAMP_UNSUPPORTED.
#[napi(ts_return_type = "Record<string, unknown>")]
pub fn verify_timestamp<'env>(
    env: &'env Env,
    response: Uint8Array,
    #[napi(ts_arg_type = "Uint8Array | string")] data: Unknown<'_>,
    #[napi(ts_arg_type = "Uint8Array | string")] roots: Unknown<'_>,
    options: Option<TimestampOptions<'_>>,
) -> Result<Unknown<'env>> {
    guard(|| {
        let (trust, request) = trust(&roots, options.as_ref())?;
        let data = text_bytes(&data, "data")?;
        let verified = verify(&response, &data, request.as_ref(), &trust).map_err(error)?;
        value_to_js(env, &verified.to_value())
    })
}
