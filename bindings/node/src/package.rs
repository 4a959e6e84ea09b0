//! Evidence packages (SPEC.md §19) checked with every check of their `verify.sh`,
//! as `evidentia package verify` does.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{Result, engine, error, guard, js_string, text_bytes, value_to_js};

/// Checks an evidence package: a path (string) to its folder or `.tar.gz`, or the
/// `.tar.gz`'s bytes. Returns `{valid, checks, record}`, as `evidentia package
/// verify --json` prints it: each check with `number`, `check`, `applies`,
/// `passed` (null when it does not apply), `failure` and `detail`, and what the
/// record claims (to be trusted only when `valid`). A failed check is in the
/// report, not thrown; what is no package throws INVALID_ARGUMENT saying why.
#[napi(
    ts_return_type = "{ valid: boolean; checks: Array<Record<string, unknown>>; record: Record<string, unknown> | null; disclosed?: { disclosed: Record<string, unknown>; names: string[]; undisclosed: number } }"
)]
pub fn verify_package<'env>(
    env: &'env Env,
    #[napi(ts_arg_type = "string | Uint8Array")] package: Unknown<'_>,
) -> Result<Unknown<'env>> {
    guard(|| {
        let files = if package.get_type().map_err(engine)? == ValueType::String {
            evidentia_store::read_package(js_string(&package)?.as_ref())
        } else {
            // Not a string: the bytes of a Uint8Array, or INVALID_ARGUMENT.
            evidentia::package::read_package_archive(&text_bytes(&package, "the package")?)
        }
        .map_err(error)?;
        value_to_js(env, &evidentia::package::package_report(&files))
    })
}
