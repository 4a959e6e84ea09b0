//! Signed verification reports (SPEC §14.1): a report that states when it was
//! made, by which version and over which tree, signed as an ES256 JWS, so that a
//! report kept for an auditor is evidence itself.

use crate::encoding::b64_decode;
use crate::error::{Error, ErrorCode, Result};
use crate::json::{Number, ParseOptions, Value, parse_with};
use crate::jwks::KeySet;
use crate::jws::{JwsOptions, sign_with_header, verify_jws};
use crate::keys::canonical_text;
use crate::merkle::Hash;
use crate::report::{Report, TreeHead};
use crate::signer::Signer;
use crate::time::Timestamp;

/// The `typ` of a signed report's JWS header.
pub const REPORT_TYPE: &str = "evidentia-report+jws";

impl Report {
    /// Signs the report: a compact ES256 JWS with header
    /// `{"alg":"ES256","kid":…,"typ":"evidentia-report+jws"}` over the report's
    /// canonical JSON ([`Report::to_json`]).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] when the report does not say when it was made
    /// (see [`Report::made_at`]): a signed report without a time could not be told
    /// from a stale one. The signer's errors.
    pub fn sign(&self, signer: &dyn Signer) -> Result<String> {
        if self.made().is_none() {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "a report is signed only once it states when it was made (Report::made_at)",
            ));
        }
        sign_with_header(signer, self.to_json().as_bytes(), JwsOptions::default(), Some(REPORT_TYPE))
    }
}

/// A signed report whose signature verified, and what it states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedReport {
    /// The key id of the key that signed it.
    pub kid: String,
    /// When the report was made; the key was valid then.
    pub made_at: Timestamp,
    /// The Evidentia version that made it.
    pub evidentia_version: String,
    /// What was verified: `receipt`, `batch_receipt` or `log`.
    pub subject: String,
    /// The log id of the verified records, when they agreed on one.
    pub log_id: Option<String>,
    /// The tree the report covers (none for a receipt).
    pub tree: Option<TreeHead>,
    /// The index of the first record verified (0 unless verified from a checkpoint).
    pub first_record: u64,
    /// How many records were verified.
    pub records: u64,
    /// The report's verdict.
    pub valid: bool,
    /// The report's one-line summary.
    pub summary: String,
    /// The report as signed: its canonical JSON.
    pub json: String,
}

/// Verifies a signed report: its signature with a key of `keys`, that key valid
/// at the time the report says it was made, and that what was signed is a report.
///
/// A report that verifies may still say INVALID: [`SignedReport::valid`] is its
/// verdict on what it verified.
///
/// # Errors
/// `JWS_*` codes and [`ErrorCode::ReportMalformed`] for what is not a signed
/// report; [`ErrorCode::SignatureInvalid`], [`ErrorCode::KeyNotFound`] and the
/// key-validity codes when the signature is not a trusted key's at that time.
pub fn verify_signed_report(jws: &str, keys: &KeySet) -> Result<SignedReport> {
    let verified = verify_jws(jws.trim(), keys, None, None)?;
    let header = parse_with(verified.header.as_bytes(), &ParseOptions::default())?;
    let members: Vec<&str> = header.as_object().unwrap_or_default().iter().map(|(k, _)| k.as_str()).collect();
    if header.get("typ").and_then(Value::as_str) != Some(REPORT_TYPE) || members != ["alg", "kid", "typ"] {
        return Err(malformed(format!(
            "the JWS is not a signed report: its header must be exactly alg, kid and typ \"{REPORT_TYPE}\""
        )));
    }
    let report = read_report(&verified.payload)?;
    let (_, validity) = keys.select(Some(&verified.kid))?;
    validity
        .check(report.made_at)
        .map_err(|e| Error::new(e.code(), format!("the report was made at {}: {}", report.made_at, e.message())))?;
    Ok(SignedReport { kid: verified.kid, ..report })
}

fn malformed(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::ReportMalformed, message)
}

/// Reads a report's canonical JSON (SPEC §14) as a signed report states it.
fn read_report(payload: &[u8]) -> Result<SignedReport> {
    let value = parse_with(payload, &ParseOptions::default())
        .map_err(|e| malformed(format!("the signed report is not JSON: {e}")))?;
    let json = canonical_text(&value);
    if json.as_bytes() != payload {
        return Err(malformed("the signed report is not canonical JSON"));
    }
    let member = |name: &str| value.get(name).ok_or_else(|| malformed(format!("the report has no '{name}'")));
    let text = |name: &str| {
        member(name)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| malformed(format!("the report's '{name}' is not a string")))
    };
    let count = |v: &Value, name: &str| {
        v.as_number().and_then(Number::as_safe_u64).ok_or_else(|| malformed(format!("'{name}' is not a count")))
    };
    let subject = text("subject")?;
    if !["receipt", "batch_receipt", "log"].contains(&subject.as_str()) {
        return Err(malformed(format!("the report's subject '{subject}' is not receipt, batch_receipt or log")));
    }
    let made_at = Timestamp::parse(&text("made_at")?)
        .map_err(|e| malformed(format!("the report does not say when it was made: {e}")))?;
    let valid = member("valid")?.as_bool().ok_or_else(|| malformed("the report's 'valid' is not true or false"))?;
    let summary = text("summary")?;
    let checks = member("checks")?.as_array().ok_or_else(|| malformed("the report's 'checks' is not a list"))?;
    let failed = checks.iter().any(|c| c.get("status").and_then(Value::as_str) == Some("failed"));
    let verdict = if valid { "VALID:" } else { "INVALID:" };
    if failed == valid || !summary.starts_with(verdict) {
        return Err(malformed("the report's verdict, summary and checks disagree"));
    }
    member("findings")?.as_array().ok_or_else(|| malformed("the report's 'findings' is not a list"))?;
    count(member("findings_omitted")?, "findings_omitted")?;
    let tree = match member("tree")? {
        Value::Null => None,
        tree => {
            let size = count(tree.get("size").ok_or_else(|| malformed("the report's tree has no size"))?, "size")?;
            let root = tree
                .get("root")
                .and_then(Value::as_str)
                .and_then(b64_decode)
                .and_then(|r| Hash::try_from(r.as_slice()).ok())
                .ok_or_else(|| malformed("the report's tree root is not a base64 SHA-256 hash"))?;
            Some(TreeHead { size, root })
        }
    };
    let log_id = match member("log_id")? {
        Value::Null => None,
        id => Some(id.as_str().ok_or_else(|| malformed("the report's 'log_id' is not a string"))?.to_owned()),
    };
    let first_record = value.get("first_record").map(|v| count(v, "first_record")).transpose()?.unwrap_or(0);
    Ok(SignedReport {
        kid: String::new(),
        made_at,
        evidentia_version: text("evidentia_version")?,
        subject,
        log_id,
        tree,
        first_record,
        records: count(member("records")?, "records")?,
        valid,
        summary,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use crate::verify::verify_receipt;
    use crate::{ReceiptChain, Timestamp};

    fn signed(key: &SigningKey) -> (Report, KeySet) {
        let keys = KeySet::from_json(&format!(r#"{{"keys":[{}]}}"#, key.public_jwk())).unwrap();
        let mut chain = ReceiptChain::new("example.com/reports").unwrap();
        let at = Timestamp::from_unix(1_700_000_000, 0).unwrap();
        let issued = chain.issue(key, br#"{"a":1}"#, at, None, None).unwrap();
        let report = verify_receipt(issued.receipt.as_str(), &keys, Some(&issued.event)).unwrap();
        (report, keys)
    }

    #[test]
    fn a_signed_report_states_what_it_verified_and_when() {
        let key = SigningKey::from_bytes(&[7; 32]).unwrap();
        let (report, keys) = signed(&key);
        assert!(report.sign(&key).is_err_and(|e| e.code() == ErrorCode::InvalidArgument));
        let made = Timestamp::from_unix(1_800_000_000, 0).unwrap();
        let jws = report.made_at(made).sign(&key).unwrap();
        let read = verify_signed_report(&jws, &keys).unwrap();
        assert_eq!((read.made_at, read.valid, read.subject.as_str()), (made, true, "receipt"));
        assert_eq!(read.kid, key.kid());
        assert_eq!(read.evidentia_version, crate::report::EVIDENTIA_VERSION);
        assert!(read.json.contains("\"made_at\":\"2027-01-15T08:00:00Z\""), "{}", read.json);
    }

    #[test]
    fn a_changed_or_foreign_report_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]).unwrap();
        let (report, keys) = signed(&key);
        let jws = report.made_at(Timestamp::from_unix(1_800_000_000, 0).unwrap()).sign(&key).unwrap();
        let parts: Vec<&str> = jws.split('.').collect();
        let payload = String::from_utf8(crate::encoding::b64url_decode(parts[1]).unwrap()).unwrap();
        let flipped = payload.replace("\"valid\":true", "\"valid\":false");
        let forged = format!("{}.{}.{}", parts[0], crate::encoding::b64url(flipped.as_bytes()), parts[2]);
        assert_eq!(verify_signed_report(&forged, &keys).unwrap_err().code(), ErrorCode::SignatureInvalid);
        // A JWS of another type, signed by the same key, is no report.
        let receipt = crate::sign_jws(&key, payload.as_bytes(), JwsOptions::default()).unwrap();
        assert_eq!(verify_signed_report(&receipt, &keys).unwrap_err().code(), ErrorCode::ReportMalformed);
        // A report signed by the key, whose verdict disagrees with its checks.
        let lying = sign_with_header(&key, flipped.as_bytes(), JwsOptions::default(), Some(REPORT_TYPE)).unwrap();
        assert_eq!(verify_signed_report(&lying, &keys).unwrap_err().code(), ErrorCode::ReportMalformed);
        let other = SigningKey::from_bytes(&[8; 32]).unwrap();
        let other_keys = KeySet::from_json(&format!(r#"{{"keys":[{}]}}"#, other.public_jwk())).unwrap();
        assert_eq!(verify_signed_report(&jws, &other_keys).unwrap_err().code(), ErrorCode::KeyNotFound);
    }

    #[test]
    fn a_report_made_after_its_key_expired_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]).unwrap();
        let (report, _) = signed(&key);
        let jwk = key.public_jwk();
        let expiring = format!(r#"{{"keys":[{},"exp":1750000000}}]}}"#, &jwk[..jwk.len() - 1]);
        let keys = KeySet::from_json(&expiring).unwrap();
        let jws = report.made_at(Timestamp::from_unix(1_800_000_000, 0).unwrap()).sign(&key).unwrap();
        assert_eq!(verify_signed_report(&jws, &keys).unwrap_err().code(), ErrorCode::KeyExpired);
    }
}
