//! Salted commitments to events, disclosures of some of their members, and keyed
//! hashes that keep personal data out of events (SPEC.md §26).

use evidentia::{Digest, ErrorCode};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{Result, engine, error, fail, guard, json_input, text, text_bytes, value_to_js};

/// Commits to an event (a JSON value, or JSON text) with an event salt of 16 to 64
/// random bytes (`crypto.randomBytes(16)`; a fixed salt only for test vectors).
/// Returns `{ commitment, disclosures: [{ disclosure, digest, name }], event_digest }`:
/// the commitment document, one disclosure per member, and the digest a record
/// holds. Throws INVALID_ARGUMENT for a salt of another length.
#[napi(
    ts_args_type = "event: unknown, salt: Uint8Array",
    ts_return_type = "{ commitment: string; disclosures: Array<{ disclosure: string; digest: string; name?: string }>; event_digest: string }"
)]
pub fn commit_event<'env>(env: &'env Env, event: Unknown<'_>, salt: Uint8Array) -> Result<Unknown<'env>> {
    guard(|| {
        let commitment = evidentia::commit_json(&json_input(event)?, &salt).map_err(error)?;
        value_to_js(env, &commitment.to_value())
    })
}

/// Checks disclosures (an array of strings) against a commitment document (a
/// string or bytes) whose SHA-256 is `eventDigest`, the record's event digest.
/// Returns `{ disclosed, names, undisclosed }`: the disclosed members, their names,
/// and how many stay hidden. Throws DISCLOSURE_MISMATCH, EVENT_MISMATCH,
/// COMMITMENT_MALFORMED or DIGEST_MALFORMED.
#[napi(
    ts_args_type = "eventDigest: string, commitment: Uint8Array | string, disclosures: string[]",
    ts_return_type = "{ disclosed: unknown; names: string[]; undisclosed: number }"
)]
pub fn check_disclosures<'env>(
    env: &'env Env,
    event_digest: Unknown<'_>,
    commitment: Unknown<'_>,
    disclosures: Unknown<'_>,
) -> Result<Unknown<'env>> {
    guard(|| {
        let digest = Digest::parse(&text(&event_digest, "eventDigest")?).map_err(error)?;
        let commitment = text_bytes(&commitment, "commitment")?;
        let given = strings(&disclosures, "disclosures")?;
        let given: Vec<&str> = given.iter().map(String::as_str).collect();
        let disclosed = evidentia::check_disclosures(&digest, &commitment, &given).map_err(error)?;
        value_to_js(env, &disclosed.to_value())
    })
}

/// An array of strings, each read strictly by [`text`]; anything else is refused
/// with INVALID_ARGUMENT.
fn strings(value: &Unknown<'_>, what: &str) -> Result<Vec<String>> {
    let not_array = || fail(ErrorCode::InvalidArgument, format!("{what} is an array of strings"));
    if value.get_type().map_err(engine)? != ValueType::Object {
        return Err(not_array());
    }
    // SAFETY: a napi value of type object, as just checked.
    let object: Object<'_> = unsafe { value.cast() }.map_err(engine)?;
    if !object.is_array().map_err(engine)? {
        return Err(not_array());
    }
    (0..object.get_array_length().map_err(engine)?)
        .map(|i| text(&object.get_element::<Unknown<'_>>(i).map_err(engine)?, what))
        .collect()
}

/// `hmac-sha256:<hex>` of `data` (a string as UTF-8, or bytes) under `key` (at
/// least 16 bytes, kept outside the log): a value to write into an event in place
/// of personal data. Throws INVALID_ARGUMENT for a shorter key.
#[napi(ts_args_type = "key: Uint8Array, data: Uint8Array | string")]
pub fn keyed_hash(key: Uint8Array, data: Unknown<'_>) -> Result<String> {
    guard(|| evidentia::keyed_hash(&key, &text_bytes(&data, "data")?).map_err(error))
}
