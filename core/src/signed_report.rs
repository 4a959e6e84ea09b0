//! Signed verification reports (SPEC §14.1): a report that states when it was
//! made, by which version and over which tree, signed as an ES256 JWS, so that a
//! report kept for an auditor is evidence itself.

use crate::digest::Digest;
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
    /// For a receipt or batch receipt: the sequence number and digest of its record.
    pub record: Option<(u64, Digest)>,
    /// The keys the verification trusted (RFC 7638 thumbprints).
    pub keys: Vec<String>,
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
    validity.check(report.made_at).map_err(|e| {
        let message = format!(
            "the key {} that signed the report was not valid at {}, when the report says it was made ({})",
            verified.kid,
            report.made_at,
            e.code().name()
        );
        Error::new(e.code(), message)
    })?;
    Ok(SignedReport { kid: verified.kid, ..report })
}

fn malformed(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::ReportMalformed, message)
}

/// The members of a report (SPEC §14); `first_record` and `erased` are the optional ones.
const MEMBERS: &[&str] = &[
    "checks",
    "evidentia_version",
    "findings",
    "findings_omitted",
    "keys",
    "log_id",
    "made_at",
    "record",
    "records",
    "subject",
    "summary",
    "tree",
    "valid",
];

/// Reads a report's canonical JSON (SPEC §14) as a signed report states it, and
/// refuses one whose parts contradict each other.
fn read_report(payload: &[u8]) -> Result<SignedReport> {
    let value = parse_with(payload, &ParseOptions::default())
        .map_err(|e| malformed(format!("the signed report is not JSON: {e}")))?;
    let json = canonical_text(&value);
    if json.as_bytes() != payload {
        return Err(malformed("the signed report is not canonical JSON"));
    }
    let Some(members) = value.as_object() else { return Err(malformed("the signed report is not a JSON object")) };
    if let Some((name, _)) = members
        .iter()
        .find(|(name, _)| !MEMBERS.contains(&name.as_str()) && !["erased", "first_record"].contains(&name.as_str()))
    {
        return Err(malformed(format!("the report has a member '{name}' SPEC §14 does not define")));
    }
    let member = |name: &str| value.get(name).ok_or_else(|| malformed(format!("the report has no '{name}'")));
    for name in MEMBERS {
        member(name)?;
    }
    let text = |name: &str| {
        member(name)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| malformed(format!("the report's '{name}' is not a string")))
    };
    let subject = text("subject")?;
    if !["receipt", "batch_receipt", "log"].contains(&subject.as_str()) {
        return Err(malformed(format!("the report's subject '{subject}' is not receipt, batch_receipt or log")));
    }
    let made_at = Timestamp::parse(&text("made_at")?)
        .map_err(|e| malformed(format!("the report does not say when it was made: {e}")))?;
    let valid = member("valid")?.as_bool().ok_or_else(|| malformed("the report's 'valid' is not true or false"))?;
    let summary = text("summary")?;
    let failed = read_checks(member("checks")?)?;
    let findings = member("findings")?.as_array().ok_or_else(|| malformed("the report's 'findings' is not a list"))?;
    let omitted = count(member("findings_omitted")?, "findings_omitted")?;
    let verdict = if valid { "VALID:" } else { "INVALID:" };
    if failed == valid || !summary.starts_with(verdict) || (valid && (!findings.is_empty() || omitted > 0)) {
        return Err(malformed("the report's verdict, summary, checks and findings disagree"));
    }
    if findings.iter().any(|f| f.as_object().is_none()) {
        return Err(malformed("the report's findings are not objects"));
    }
    let keys: Vec<String> = member("keys")?
        .as_array()
        .unwrap_or_default()
        .iter()
        .map(|k| k.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .filter(|k: &Vec<String>| !k.is_empty())
        .ok_or_else(|| malformed("the report's 'keys' does not list the keys it trusted"))?;
    let tree = match member("tree")? {
        Value::Null => None,
        tree => Some(read_tree(tree)?),
    };
    let record = member("record")?;
    let no_record = *record == Value::Null;
    if (subject == "log") != no_record || (subject == "receipt" && tree.is_some()) {
        return Err(malformed(
            "a receipt's report names its record (and a plain receipt's no tree); a log's names none",
        ));
    }
    let record = if no_record { None } else { Some(read_record(record)?) };
    let log_id = match member("log_id")? {
        Value::Null => None,
        id => Some(id.as_str().ok_or_else(|| malformed("the report's 'log_id' is not a string"))?.to_owned()),
    };
    let first_record = value.get("first_record").map(|v| count(v, "first_record")).transpose()?.unwrap_or(0);
    if let Some(erased) = value.get("erased") {
        let is_erased_record = |item: &Value| {
            item.as_object().is_some_and(|members| members.len() == 4)
                && ["by", "index", "seq"].iter().all(|name| item.get(name).is_some_and(|n| count(n, name).is_ok()))
                && item.get("reason").and_then(Value::as_str).is_some()
        };
        let listed = erased.as_array().filter(|items| !items.is_empty() && items.iter().all(is_erased_record));
        if listed.is_none() || subject != "log" {
            return Err(malformed("the report's 'erased' is not a list of erased records of a log"));
        }
    }
    Ok(SignedReport {
        kid: String::new(),
        made_at,
        evidentia_version: text("evidentia_version")?,
        subject,
        log_id,
        tree,
        first_record,
        record,
        keys,
        records: count(member("records")?, "records")?,
        valid,
        summary,
        json,
    })
}

fn count(value: &Value, name: &str) -> Result<u64> {
    value.as_number().and_then(Number::as_safe_u64).ok_or_else(|| malformed(format!("'{name}' is not a count")))
}

/// The names of an object's members, in order (none for what is not an object).
fn names(value: &Value) -> Vec<&str> {
    value.as_object().unwrap_or_default().iter().map(|(k, _)| k.as_str()).collect()
}

/// Reads the report's checks: at least one, each `{check, description, failures,
/// status}` with a status of SPEC §14 that agrees with its failures. Whether any
/// failed.
fn read_checks(checks: &Value) -> Result<bool> {
    let checks = checks.as_array().filter(|c| !c.is_empty()).ok_or_else(|| malformed("the report lists no checks"))?;
    let mut failed = false;
    for check in checks {
        let failures = check.get("failures").and_then(Value::as_number).and_then(Number::as_safe_u64);
        let status = check.get("status").and_then(Value::as_str);
        let named = check.get("check").and_then(Value::as_str).is_some()
            && check.get("description").and_then(Value::as_str).is_some();
        let agrees = match (status, failures) {
            (Some("failed"), Some(n)) => n > 0,
            (Some("passed" | "skipped"), Some(n)) => n == 0,
            _ => false,
        };
        if names(check) != ["check", "description", "failures", "status"] || !named || !agrees {
            return Err(malformed("a check of the report is not a check, status and failure count that agree"));
        }
        failed |= status == Some("failed");
    }
    Ok(failed)
}

fn read_tree(tree: &Value) -> Result<TreeHead> {
    let size = tree.get("size").map(|s| count(s, "size")).transpose()?;
    let root =
        tree.get("root").and_then(Value::as_str).and_then(b64_decode).and_then(|r| Hash::try_from(r.as_slice()).ok());
    match (names(tree).as_slice(), size, root) {
        (["root", "size"], Some(size), Some(root)) => Ok(TreeHead { size, root }),
        _ => Err(malformed("the report's tree is not a size and a base64 SHA-256 root")),
    }
}

fn read_record(record: &Value) -> Result<(u64, Digest)> {
    let digest = record.get("digest").and_then(Value::as_str).and_then(|d| Digest::parse(d).ok());
    let seq = record.get("seq").map(|s| count(s, "seq")).transpose()?;
    match (names(record).as_slice(), digest, seq) {
        (["digest", "seq"], Some(digest), Some(seq)) => Ok((seq, digest)),
        _ => Err(malformed("the report's 'record' is not a sequence number and a digest")),
    }
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
    fn a_signed_report_whose_parts_disagree_or_that_has_more_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]).unwrap();
        let (report, keys) = signed(&key);
        let json = report.made_at(Timestamp::from_unix(1_800_000_000, 0).unwrap()).to_json();
        assert!(json.contains("\"record\":{\"digest\":\"sha256:"), "{json}");
        let signs = |payload: &str| {
            let value = crate::json::parse(payload.as_bytes()).unwrap();
            let jws =
                sign_with_header(&key, canonical_text(&value).as_bytes(), JwsOptions::default(), Some(REPORT_TYPE));
            verify_signed_report(&jws.unwrap(), &keys).map(|r| r.valid)
        };
        assert_eq!(signs(&json), Ok(true));
        let finding = r#"[{"check":"chain","code":612,"index":4,"message":"x","name":"CHAIN_BROKEN"}]"#;
        for changed in [
            json.replace("\"findings\":[]", &format!("\"findings\":{finding}")),
            json.replace("\"findings_omitted\":0", "\"findings_omitted\":7"),
            json.replacen("\"failures\":0,\"status\":\"passed\"", "\"failures\":3,\"status\":\"passed\"", 1),
            json.replacen("\"status\":\"passed\"", "\"status\":\"PASSED\"", 1),
            json.replace(
                "\"tree\":null",
                "\"tree\":{\"root\":\"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\",\"size\":0}",
            ),
            json.replace("\"valid\":true", "\"extra\":1,\"valid\":true"),
            json.replace("\"record\":{", "\"record\":null,\"x\":{"),
            // `erased` belongs to the report of a log, and lists erased records.
            json.replace(
                "\"evidentia_version\"",
                "\"erased\":[{\"by\":3,\"index\":1,\"reason\":\"r\",\"seq\":1}],\"evidentia_version\"",
            ),
            json.replace("\"evidentia_version\"", "\"erased\":[],\"evidentia_version\""),
        ] {
            assert_ne!(changed, json);
            assert_eq!(signs(&changed).map_err(|e| e.code()), Err(ErrorCode::ReportMalformed), "{changed}");
        }
        let checks_start = json.find("\"checks\":[").unwrap() + "\"checks\":".len();
        let checks_end = json.find("],\"evidentia_version\"").unwrap() + 1;
        let no_checks = format!("{}[]{}", &json[..checks_start], &json[checks_end..]);
        assert_eq!(signs(&no_checks).map_err(|e| e.code()), Err(ErrorCode::ReportMalformed));
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
