//! RFC 3161 trusted timestamps (SPEC.md §20): a request for a time-stamping
//! authority, and the verification of its response, in the browser. Sending the
//! request is the application's.

use evidentia::timestamp::{TimestampRequest, TimestampTrust, verify_timestamp as verify};
use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

use evidentia::ErrorCode;

use crate::convert::{Result, bytes, bytes_or_text, error, fail, get, optional_bytes, optional_text, to_js};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** What else a time-stamp response is checked with, beside the trusted roots. */
export interface TimestampOptions {
  /** Certificates that may complete the chain (PEM or DER). */
  intermediates?: Uint8Array | string
  /** The one TSA certificate to accept (PEM or DER). */
  tsaCertificate?: Uint8Array | string
  /** The request (DER) the response must answer: same imprint and nonce. */
  request?: Uint8Array
}
"#;

/// An optional member that is bytes or a string.
fn optional_bytes_or_text(options: &JsValue, name: &str) -> Result<Option<Vec<u8>>> {
    let value = get(options, name, "options")?;
    if value.is_undefined() || value.is_null() { Ok(None) } else { bytes_or_text(&value, name).map(Some) }
}

/// A time-stamp request (DER, the contents of a `.tsq` file) for `data` — for a log,
/// its checkpoint note — hashed with `hash` ("sha256", the default, "sha384" or
/// "sha512"), with a random nonce from the browser's `crypto.getRandomValues`.
#[wasm_bindgen(js_name = timestampRequest)]
pub fn timestamp_request(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] data: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] hash: JsValue,
) -> Result<Uint8Array> {
    let hash = optional_text(&hash, "hash")?.unwrap_or_else(|| "sha256".to_owned());
    let request = TimestampRequest::generate(&bytes_or_text(&data, "data")?, &hash).map_err(error)?;
    Ok(bytes(request.to_der()))
}

/// Verifies a time-stamping authority's response (DER, a `.tsr` file) for `data`
/// through the trusted `roots` (PEM or DER certificates). Returns `gen_time`,
/// `hash`, `serial`, `policy`, `nonce`, `tsa`, `chain` and
/// `root_sha256_fingerprint`; throws TIMESTAMP_MISMATCH, TIMESTAMP_SIGNATURE_INVALID,
/// TIMESTAMP_UNTRUSTED, TIMESTAMP_NOT_GRANTED, TIMESTAMP_MALFORMED or
/// TIMESTAMP_UNSUPPORTED.
#[wasm_bindgen(js_name = verifyTimestamp, unchecked_return_type = "Record<string, unknown>")]
pub fn verify_timestamp(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] response: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] data: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] roots: JsValue,
    #[wasm_bindgen(unchecked_param_type = "TimestampOptions | undefined")] options: JsValue,
) -> Result<JsValue> {
    let response = optional_bytes(&response, "response")?
        .ok_or_else(|| fail(ErrorCode::InvalidArgument, "response must be a Uint8Array"))?;
    let intermediates = optional_bytes_or_text(&options, "intermediates")?;
    let tsa = optional_bytes_or_text(&options, "tsaCertificate")?;
    let request = optional_bytes(&get(&options, "request", "options")?, "request")?;
    let trust = TimestampTrust::from_certificate_files(
        &bytes_or_text(&roots, "roots")?,
        intermediates.as_deref(),
        tsa.as_deref(),
    )
    .map_err(error)?;
    let request = request.as_deref().map(TimestampRequest::parse).transpose().map_err(error)?;
    let verified = verify(&response, &bytes_or_text(&data, "data")?, request.as_ref(), &trust).map_err(error)?;
    to_js(&verified.to_value())
}
