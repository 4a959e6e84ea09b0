//! Evidence packages (SPEC.md §19) checked in the browser: a package's `.tar.gz`
//! read and every check of its `verify.sh` run, as `evidentia package verify` does.

use evidentia::ErrorCode;
use evidentia::package::{package_report, read_package_archive};
use wasm_bindgen::prelude::*;

use crate::convert::{Result, error, fail, optional_bytes, to_js};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** One check of an evidence package, numbered as its verify.sh numbers it. */
export interface PackageCheck {
  /** 1 to 13, as in verify.sh and VERIFICATION.md. */
  number: number
  /** What the check establishes, in plain words. */
  check: string
  /** Whether the check applies to this package (check 8 only with a timestamp, …). */
  applies: boolean
  /** Whether it passed; null when it does not apply. */
  passed: boolean | null
  /** Why it failed; null when it did not. */
  failure: string | null
  /** What a passed check found that a reader needs, such as the trusted time. */
  detail: string | null
}
/** What an evidence package's record claims: to be trusted only when the package is valid. */
export interface PackageRecord {
  log_id: string
  seq: number
  /** RFC 3339, UTC. */
  time: string
  /** The thumbprint of the key that signed it. */
  kid: string
  /** The event's digest, `sha256:…`. */
  event: string
  nonce?: string
}
/** Every check of an evidence package, the verdict and what the record claims. */
export interface PackageReport {
  /** True when no check failed. */
  valid: boolean
  checks: PackageCheck[]
  /** Null when record.json cannot be read. */
  record: PackageRecord | null
  /**
   * Only for a package that discloses members of a version-2 record's event (check 13
   * passed): the members shown, their names, and how many stay hidden.
   */
  disclosed?: { disclosed: Record<string, unknown>, names: string[], undisclosed: number }
}
"#;

/// Checks an evidence package given as its `.tar.gz` bytes (what `evidentia export`
/// writes) with every check its `verify.sh` runs. A failed check is part of the
/// report (`valid` is false), not an exception; bytes that are not a package's
/// archive throw INVALID_ARGUMENT saying why.
#[wasm_bindgen(js_name = verifyPackage, unchecked_return_type = "PackageReport")]
pub fn verify_package(#[wasm_bindgen(unchecked_param_type = "Uint8Array")] archive: JsValue) -> Result<JsValue> {
    let archive = optional_bytes(&archive, "archive")?
        .ok_or_else(|| fail(ErrorCode::InvalidArgument, "archive must be a Uint8Array"))?;
    let files = read_package_archive(&archive).map_err(error)?;
    to_js(&package_report(&files))
}

/// The largest `.tar.gz` of a package, in bytes: a page reads no more of a file
/// than one byte beyond it, and `verifyPackage` refuses what is larger.
#[wasm_bindgen(js_name = maxPackageArchiveSize)]
pub fn max_package_archive_size() -> f64 {
    evidentia::package::MAX_ARCHIVE_SIZE as f64
}
