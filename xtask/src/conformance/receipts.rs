//! Cases of SPEC.md's receipts rules: keys and key sets (§3-§4), the JWS profile
//! (§5), records (§6), receipts (§7) and their verification (§12); and batch
//! receipts (§11).

use evidentia::ErrorCode as E;
use evidentia::encoding::b64url;
use evidentia::json::Value;
use evidentia::{Digest, SigningKey};

use super::fixtures::{
    LOG_ID, OTHER_LOG, T0, World, batch_receipt, batch_receipt_json, canonical, checkpoint_of, event,
    event_reformatted, inclusion, jwk, jwk_with, jwk_without, jwks, jws, parts, quote, receipt_header, set,
    signature_line, signed, value,
};
use super::{Op, Outcome, Suite, file};

const GROUP: &str = "receipt";
const BATCH: &str = "batch-receipt";

/// The order of the P-256 group, big-endian.
const N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `a - b` of 32-byte big-endian numbers (`a >= b`).
fn sub(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

/// A compact JWS of the parts as they are (already encoded), signed by `key`.
fn jws_parts(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{header}.{payload}");
    format!("{input}.{}", b64url(&key.sign(input.as_bytes())))
}

/// The same JWS with its signature part replaced.
fn with_signature(jws: &str, signature: &str) -> String {
    let (h, p, _) = parts(jws);
    format!("{h}.{p}.{signature}")
}

/// A base64url part whose last character carries non-zero trailing bits (same
/// bytes to a lenient decoder), or `None` when its length leaves no spare bits.
fn trailing_bits(part: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if part.len().is_multiple_of(4) {
        return None;
    }
    let last = *part.as_bytes().last()?;
    let index = ALPHABET.iter().position(|&c| c == last)?;
    Some(format!("{}{}", &part[..part.len() - 1], ALPHABET[index | 1] as char))
}

/// Record text from record `index` of the world with members replaced (raw JSON
/// text), removed (`None`) or added, written in canonical member order.
fn payload(world: &World, index: usize, changes: &[(&str, Option<&str>)]) -> String {
    let Value::Object(members) = value(std::str::from_utf8(&world.record_bytes[index]).expect("UTF-8")) else {
        unreachable!("a record is an object")
    };
    let mut members: Vec<(String, String)> = members.iter().map(|(n, v)| (n.clone(), canonical(v))).collect();
    for (name, raw) in changes {
        members.retain(|(n, _)| n != name);
        if let Some(raw) = raw {
            members.push(((*name).to_owned(), (*raw).to_owned()));
        }
    }
    members.sort();
    let inner: Vec<String> = members.iter().map(|(n, v)| format!("{}:{v}", quote(n))).collect();
    format!("{{{}}}", inner.join(","))
}

/// The receipt of a record text, signed by k1 under its canonical header.
fn by_k1(world: &World, payload: &str) -> String {
    jws(&world.k1, receipt_header(world.k1.kid()).as_bytes(), payload.as_bytes())
}

/// A receipt of the world signed by k1 under a header text as it is.
fn with_header(world: &World, header: &str) -> String {
    jws(&world.k1, header.as_bytes(), &world.record_bytes[1])
}

/// Adds a receipt-operation case.
#[allow(clippy::too_many_arguments)]
fn add(
    suite: &mut Suite,
    group: &'static str,
    slug: &str,
    spec: &'static str,
    why: &str,
    outcome: Outcome,
    receipt: &str,
    keys: &str,
    event: Option<&[u8]>,
) {
    let name = if group == BATCH { "batch-receipt.json" } else { "receipt.jws" };
    let mut inputs = vec![file("receipt", name, receipt), file("jwks", "keys.jwks", keys)];
    if let Some(event) = event {
        inputs.push(file("event", "event.json", event));
    }
    suite.add(group, slug, Op::Receipt, spec, why, outcome, inputs);
}

fn found(codes: &[E]) -> Outcome {
    Outcome::Findings(codes.to_vec())
}

pub(crate) fn cases(suite: &mut Suite, world: &World) {
    let keys = world.keys();
    let good = &world.receipts[1];
    let k1 = &world.k1;
    let kid1 = k1.kid();
    // Adds a case with the world's key set and no event.
    let mut case = |slug: &str, spec: &'static str, why: &str, outcome: Outcome, receipt: &str| {
        add(suite, GROUP, slug, spec, why, outcome, receipt, &keys, None);
    };

    // Valid receipts.
    case(
        "issued-receipt",
        "§12",
        "A receipt as Evidentia issues it, with its signer's key: every check passes.",
        Outcome::Valid,
        good,
    );
    case(
        "first-record-with-nonce",
        "§6",
        "Record 0 with prev null and a nonce: every member is as §6 requires, so it is valid.",
        Outcome::Valid,
        &world.receipts[0],
    );
    let (h, p, s) = parts(good);
    let sig = evidentia::encoding::b64url_decode(&s).expect("base64url");
    // The fixed signature has a low S (below n/2), so n - S is a high one.
    assert!(sig[32] < 0x7f, "a low S");
    let high = [&sig[..32], &sub(&N, &sig[32..])].concat();
    case(
        "high-s-signature",
        "§5",
        "The signature with S replaced by n - S (high S) is an equally valid ECDSA signature, and §5 step 8 says high-S signatures are valid.",
        Outcome::Valid,
        &format!("{h}.{p}.{}", b64url(&high)),
    );
    case(
        "fractional-time",
        "§6.1",
        "A record time with a nine-digit fraction without trailing zeros is a valid §6.1 time.",
        Outcome::Valid,
        &by_k1(world, &payload(world, 1, &[("time", Some(r#""2027-01-15T08:00:01.123456789Z""#))])),
    );
    case(
        "time-in-year-zero",
        "§6.1",
        "Years 0000-9999 are allowed and the key has no validity metadata, so a record of year 0000 is valid.",
        Outcome::Valid,
        &by_k1(world, &payload(world, 1, &[("time", Some(r#""0000-01-01T00:00:00Z""#))])),
    );
    case(
        "time-at-the-end-of-year-9999",
        "§6.1",
        "The last nanosecond of year 9999 is a valid §6.1 time.",
        Outcome::Valid,
        &by_k1(world, &payload(world, 1, &[("time", Some(r#""9999-12-31T23:59:59.999999999Z""#))])),
    );
    case(
        "largest-seq",
        "§6",
        "seq 2^53 - 1 is the largest sequence number §6 allows.",
        Outcome::Valid,
        &by_k1(world, &payload(world, 1, &[("seq", Some("9007199254740991"))])),
    );
    let long_id = "a".repeat(256);
    case(
        "log-id-of-256-characters",
        "§6",
        "A log_id of 256 printable ASCII characters is within §6's 1-256.",
        Outcome::Valid,
        &by_k1(world, &payload(world, 1, &[("log_id", Some(&quote(&long_id)))])),
    );
    case(
        "log-id-of-one-character",
        "§6",
        "A log_id of one character in !...~ is within §6's 1-256.",
        Outcome::Valid,
        &by_k1(world, &payload(world, 1, &[("log_id", Some(r#""~""#))])),
    );
    case(
        "nonce-of-256-bytes",
        "§6",
        "A nonce of 256 bytes (128 two-byte characters) is within §6's 1-256 bytes.",
        Outcome::Valid,
        &by_k1(world, &payload(world, 1, &[("nonce", Some(&quote(&"é".repeat(128))))])),
    );

    // §6 records: members and their types.
    case(
        "record-members-out-of-order",
        "§6",
        "The record's members are not in canonical order, so its bytes differ from its canonical JSON: RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &{
            let text = String::from_utf8(world.record_bytes[1].clone()).expect("UTF-8");
            let (first, rest) = text[1..text.len() - 1].split_once(',').expect("members");
            format!("{{{rest},{first}}}")
        }),
    );
    case(
        "record-with-whitespace",
        "§6",
        "The record has a space after a colon, so its bytes are not its canonical JSON: RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &String::from_utf8(world.record_bytes[1].clone()).expect("UTF-8").replacen(':', ": ", 1)),
    );
    case(
        "record-with-extra-member",
        "§6",
        "A record has exactly the members of §6; an unknown member `x` is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("x", Some("1"))])),
    );
    for member in ["v", "log_id", "seq", "prev", "event", "time", "kid"] {
        case(
            &format!("record-without-{}", member.replace('_', "-")),
            "§6",
            &format!("`{member}` is a required member of a record; without it the record is RECORD_MALFORMED."),
            Outcome::Error(E::RecordMalformed),
            &by_k1(world, &payload(world, 1, &[(member, None)])),
        );
    }
    case(
        "record-of-version-2",
        "§6",
        "`v` is 1 or 2; a record of version 2, whose event digest is that of a salted commitment, verifies as a receipt without its event.",
        Outcome::Valid,
        &by_k1(world, &payload(world, 1, &[("v", Some("2"))])),
    );
    case(
        "version-as-string",
        "§6",
        "`v` is an integer; the string \"1\" is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("v", Some(r#""1""#))])),
    );
    case(
        "version-written-1-0",
        "§6",
        "`v` written 1.0 is not the canonical spelling 1, so the bytes are not canonical: RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("v", Some("1.0"))])),
    );
    case(
        "seq-as-string",
        "§6",
        "`seq` is an integer; the string \"1\" is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("seq", Some(r#""1""#))])),
    );
    case(
        "negative-seq",
        "§6",
        "`seq` is 0, 1, 2, ...; -1 is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("seq", Some("-1"))])),
    );
    case(
        "fractional-seq",
        "§6",
        "`seq` is an integer; 1.5 is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("seq", Some("1.5"))])),
    );
    case(
        "seq-of-2-to-the-53",
        "§6",
        "`seq` is at most 2^53 - 1; 2^53 is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("seq", Some("9007199254740992"))])),
    );
    case(
        "prev-null-with-seq-1",
        "§6",
        "prev is null exactly when seq is 0; null with seq 1 is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("prev", Some("null"))])),
    );
    case(
        "prev-digest-with-seq-0",
        "§6",
        "prev is null exactly when seq is 0; a digest with seq 0 is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("seq", Some("0"))])),
    );
    case(
        "prev-as-number",
        "§6",
        "prev is a string or null; a number is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("prev", Some("0"))])),
    );
    let prev = world.records[1].prev.expect("record 1 has a prev").to_string();
    case(
        "prev-in-uppercase-hex",
        "§2",
        "A digest with uppercase hex digits is refused with DIGEST_MALFORMED, the code of the invalid field (§7).",
        Outcome::Error(E::DigestMalformed),
        &by_k1(world, &payload(world, 1, &[("prev", Some(&quote(&format!("sha256:{}", prev[7..].to_uppercase()))))])),
    );
    case(
        "event-digest-with-other-prefix",
        "§2",
        "An event digest spelled `SHA256:` is not §2's notation: DIGEST_MALFORMED.",
        Outcome::Error(E::DigestMalformed),
        &by_k1(world, &payload(world, 1, &[("event", Some(&quote(&format!("SHA256:{}", &prev[7..]))))])),
    );
    case(
        "event-digest-too-short",
        "§2",
        "An event digest of 63 hex digits is not §2's notation: DIGEST_MALFORMED.",
        Outcome::Error(E::DigestMalformed),
        &by_k1(world, &payload(world, 1, &[("event", Some(&quote(&prev[..prev.len() - 1])))])),
    );
    case(
        "event-digest-as-number",
        "§6",
        "`event` is a string; a number is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("event", Some("1"))])),
    );
    for (slug, time, why) in [
        ("time-with-offset", "2027-01-15T08:00:01+00:00", "an offset other than Z"),
        ("time-with-lowercase-z", "2027-01-15T08:00:01z", "a lowercase z"),
        ("time-with-leap-second", "2027-01-15T08:00:60Z", "a leap second (:60)"),
        ("time-with-ten-fraction-digits", "2027-01-15T08:00:01.1234567891Z", "a fraction of ten digits"),
        ("time-on-february-30", "2027-02-30T08:00:01Z", "a date that does not exist"),
        ("time-without-seconds", "2027-01-15T08:00Z", "no seconds"),
        ("time-in-year-10000", "10000-01-01T00:00:00Z", "a year beyond 9999"),
        ("time-with-space-separator", "2027-01-15 08:00:01Z", "a space instead of T"),
    ] {
        case(
            slug,
            "§6.1",
            &format!("A record time with {why} is not §6.1's form: TIME_INVALID."),
            Outcome::Error(E::TimeInvalid),
            &by_k1(world, &payload(world, 1, &[("time", Some(&quote(time)))])),
        );
    }
    case(
        "time-as-number",
        "§6",
        "`time` is a string; a number is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("time", Some(&(T0 + 1).to_string()))])),
    );
    for (slug, id, why) in [
        ("empty-log-id", String::new(), "is empty"),
        ("log-id-of-257-characters", "a".repeat(257), "has 257 characters"),
        ("log-id-with-space", "conformance log".to_owned(), "contains a space"),
        ("log-id-with-non-ascii", "conformance.évidentia.dev".to_owned(), "contains a non-ASCII character"),
    ] {
        case(
            slug,
            "§6",
            &format!(
                "A log_id is 1-256 characters in !...~; one that {why} is LOG_ID_INVALID, the code of the invalid field (§7)."
            ),
            Outcome::Error(E::LogIdInvalid),
            &by_k1(world, &payload(world, 1, &[("log_id", Some(&quote(&id)))])),
        );
    }
    for (slug, nonce, why) in [
        ("empty-nonce", r#""""#.to_owned(), "an empty nonce (a nonce is 1-256 bytes, absent when not given)"),
        ("nonce-of-257-bytes", quote(&"n".repeat(257)), "a nonce of 257 bytes (a nonce is 1-256 bytes)"),
        ("null-nonce", "null".to_owned(), "a null nonce (a nonce is a string, absent when not given)"),
        ("empty-kid", r#""""#.to_owned(), "an empty kid (a kid is 1-256 bytes)"),
        ("kid-of-257-bytes", quote(&"k".repeat(257)), "a kid of 257 bytes (a kid is 1-256 bytes)"),
    ] {
        let member = if slug.ends_with("kid") { "kid" } else { "nonce" };
        case(
            slug,
            "§6",
            &format!("A record with {why} is RECORD_MALFORMED."),
            Outcome::Error(E::RecordMalformed),
            &by_k1(world, &payload(world, 1, &[(member, Some(&nonce))])),
        );
    }
    case(
        "nonce-with-needless-escape",
        "§6",
        "A nonce written with an escape JCS does not use (\\u002d for -) makes the bytes non-canonical: RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("nonce", Some(r#""req\u002d1""#))])),
    );
    case(
        "payload-not-json",
        "§7",
        "The payload is not a record at all (not JSON), so the receipt's payload is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, "not a record"),
    );

    // §7 receipts: exactly the canonical header, an attached encoded payload.
    let receipt_error = Outcome::Error(E::ReceiptMalformed);
    for (slug, header, why) in [
        ("header-without-typ", format!(r#"{{"alg":"ES256","kid":{}}}"#, quote(kid1)), "has no typ"),
        ("header-with-other-typ", format!(r#"{{"alg":"ES256","kid":{},"typ":"JWT"}}"#, quote(kid1)), "has typ JWT"),
        ("header-without-kid", r#"{"alg":"ES256","typ":"evidentia-receipt+jws"}"#.to_owned(), "has no kid"),
        (
            "header-members-out-of-order",
            format!(r#"{{"kid":{},"alg":"ES256","typ":"evidentia-receipt+jws"}}"#, quote(kid1)),
            "lists its members in another order",
        ),
        ("header-with-spaces", receipt_header(kid1).replace(',', ", "), "has spaces between members"),
        (
            "header-with-extra-member",
            format!(r#"{{"alg":"ES256","cty":"json","kid":{},"typ":"evidentia-receipt+jws"}}"#, quote(kid1)),
            "has another member (cty)",
        ),
        (
            "header-with-embedded-jwk",
            format!(r#"{{"alg":"ES256","jwk":{},"kid":{},"typ":"evidentia-receipt+jws"}}"#, jwk(k1), quote(kid1)),
            "carries a jwk member",
        ),
        (
            "header-with-escaped-alg",
            receipt_header(kid1).replace("ES256", r"\u0045S256"),
            "spells ES256 with an escape",
        ),
    ] {
        case(
            slug,
            "§7",
            &format!("A receipt's header is exactly the canonical {{alg,kid,typ}}; this one {why}: RECEIPT_MALFORMED."),
            receipt_error.clone(),
            &with_header(world, &header),
        );
    }
    let (h, p, _) = parts(good);
    case(
        "empty-payload",
        "§7",
        "An empty middle part is an empty payload (§5 step 6), and a receipt with an empty payload is RECEIPT_MALFORMED.",
        receipt_error.clone(),
        &jws_parts(k1, &h, ""),
    );
    let unencoded =
        format!(r#"{{"alg":"ES256","b64":false,"crit":["b64"],"kid":{},"typ":"evidentia-receipt+jws"}}"#, quote(kid1));
    case(
        "unencoded-payload",
        "§7",
        "A well-formed JWS with b64 false (listed in crit) passes §5, but a receipt's payload is not unencoded: RECEIPT_MALFORMED.",
        receipt_error.clone(),
        &jws_parts(k1, &b64url(unencoded.as_bytes()), &p),
    );

    // §5 JWS steps, in order.
    case(
        "two-parts",
        "§5",
        "Step 1: a compact JWS has exactly three parts; two is JWS_MALFORMED.",
        Outcome::Error(E::JwsMalformed),
        &format!("{h}.{p}"),
    );
    case(
        "four-parts",
        "§5",
        "Step 1: a compact JWS has exactly three parts; four is JWS_MALFORMED.",
        Outcome::Error(E::JwsMalformed),
        &format!("{good}.{s}"),
    );
    case(
        "empty-header-part",
        "§5",
        "Step 1: the first part must be non-empty: JWS_MALFORMED.",
        Outcome::Error(E::JwsMalformed),
        &format!(".{p}.{s}"),
    );
    case(
        "header-in-standard-base64",
        "§5",
        "Step 2: the header part holds `+`, which base64url has not: JWS_MALFORMED.",
        Outcome::Error(E::JwsMalformed),
        &jws_parts(k1, "eyJ+", &p),
    );
    case(
        "header-with-padding",
        "§5",
        "Step 2: base64url here has no padding character, so a header part with = appended is JWS_MALFORMED.",
        Outcome::Error(E::JwsMalformed),
        &jws_parts(k1, &format!("{h}="), &p),
    );
    // A receipt whose payload's base64url length leaves spare bits in its last character.
    let spare =
        (0..world.receipts.len()).find(|&i| !world.record_bytes[i].len().is_multiple_of(3)).expect("a record length");
    let (spare_h, spare_p, _) = parts(&world.receipts[spare]);
    case(
        "payload-with-nonzero-trailing-bits",
        "§5",
        "Step 6: base64url requires zero trailing bits; a payload part whose last character sets one is JWS_MALFORMED.",
        Outcome::Error(E::JwsMalformed),
        &jws_parts(k1, &spare_h, &trailing_bits(&spare_p).expect("spare bits")),
    );
    case(
        "payload-with-padding",
        "§5",
        "Step 6: base64url is without padding, so a payload part padded with = to a multiple of four is JWS_MALFORMED.",
        Outcome::Error(E::JwsMalformed),
        &jws_parts(k1, &spare_h, &format!("{spare_p}{}", "=".repeat((4 - spare_p.len() % 4) % 4))),
    );
    case(
        "header-not-json",
        "§5",
        "Step 2: the decoded header is not JSON: JWS_HEADER_INVALID.",
        Outcome::Error(E::JwsHeaderInvalid),
        &jws_parts(k1, &b64url(b"alg=ES256"), &p),
    );
    // The canonical header with the last letter of its typ replaced by the byte 0xff.
    let mut not_utf8 = receipt_header(kid1).into_bytes();
    let last_letter = not_utf8.len() - 3;
    not_utf8[last_letter] = 0xff;
    case(
        "header-not-utf8",
        "§5",
        "Step 2: the decoded header holds the byte 0xff, which is not UTF-8, so it is not JSON per §1: JWS_HEADER_INVALID.",
        Outcome::Error(E::JwsHeaderInvalid),
        &jws_parts(k1, &b64url(&not_utf8), &p),
    );
    case(
        "header-is-an-array",
        "§5",
        "Step 2: the decoded header is JSON but not an object: JWS_HEADER_INVALID.",
        Outcome::Error(E::JwsHeaderInvalid),
        &jws_parts(k1, &b64url(br#"["ES256"]"#), &p),
    );
    case(
        "header-with-duplicate-member",
        "§5",
        "Step 2: the header has alg twice, and duplicate names are refused: JWS_HEADER_INVALID.",
        Outcome::Error(E::JwsHeaderInvalid),
        &with_header(world, &receipt_header(kid1).replacen('{', r#"{"alg":"ES256","#, 1)),
    );
    // A header padded with a member `x` to exactly `size` bytes.
    let padded = |size: usize| {
        let base = format!(r#"{{"alg":"ES256","kid":{},"typ":"evidentia-receipt+jws","x":""}}"#, quote(kid1));
        base.replace(r#""x":"""#, &format!(r#""x":"{}""#, "a".repeat(size - base.len())))
    };
    case(
        "header-of-16385-bytes",
        "§5",
        "Step 2: a decoded header of 16,385 bytes exceeds the 16 KiB limit: JWS_HEADER_INVALID.",
        Outcome::Error(E::JwsHeaderInvalid),
        &with_header(world, &padded(16385)),
    );
    case(
        "header-of-16384-bytes",
        "§7",
        "A header of exactly 16 KiB passes §5 step 2, but its extra member `x` makes it no receipt header: RECEIPT_MALFORMED.",
        receipt_error.clone(),
        &with_header(world, &padded(16384)),
    );
    let nested = |depth: usize| {
        format!(
            r#"{{"alg":"ES256","kid":{},"typ":"evidentia-receipt+jws","x":{}{}}}"#,
            quote(kid1),
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    };
    case(
        "header-nested-17-deep",
        "§5",
        "Step 2: the header nests 17 deep (the object is depth 1), beyond the limit of 16: JWS_HEADER_INVALID.",
        Outcome::Error(E::JwsHeaderInvalid),
        &with_header(world, &nested(17)),
    );
    case(
        "header-nested-16-deep",
        "§7",
        "A header nested 16 deep passes §5 step 2, but its extra member `x` makes it no receipt header: RECEIPT_MALFORMED.",
        receipt_error.clone(),
        &with_header(world, &nested(16)),
    );
    let header_with =
        |alg: &str, rest: &str| format!(r#"{{"alg":{alg},"kid":{},"typ":"evidentia-receipt+jws"{rest}}}"#, quote(kid1));
    case(
        "header-without-alg",
        "§5",
        "Step 3: a missing alg is JWS_UNSUPPORTED_ALGORITHM.",
        Outcome::Error(E::JwsUnsupportedAlgorithm),
        &with_header(world, &format!(r#"{{"kid":{},"typ":"evidentia-receipt+jws"}}"#, quote(kid1))),
    );
    for (slug, alg) in
        [("alg-none", "none"), ("alg-hs256", "HS256"), ("alg-in-lowercase", "es256"), ("alg-es384", "ES384")]
    {
        case(
            slug,
            "§5",
            &format!("Step 3: alg must be the string ES256; {alg} is JWS_UNSUPPORTED_ALGORITHM."),
            Outcome::Error(E::JwsUnsupportedAlgorithm),
            &with_header(world, &header_with(&quote(alg), "")),
        );
    }
    case(
        "alg-not-a-string",
        "§5",
        "Step 3: a non-string alg is JWS_HEADER_INVALID, not JWS_UNSUPPORTED_ALGORITHM.",
        Outcome::Error(E::JwsHeaderInvalid),
        &with_header(world, &header_with("256", "")),
    );
    case(
        "kid-not-a-string",
        "§5",
        "Step 3: kid must be a string if present; a number is JWS_HEADER_INVALID.",
        Outcome::Error(E::JwsHeaderInvalid),
        &with_header(world, r#"{"alg":"ES256","kid":1,"typ":"evidentia-receipt+jws"}"#),
    );
    case(
        "typ-not-a-string",
        "§5",
        "Step 3: typ must be a string if present; an array is JWS_HEADER_INVALID.",
        Outcome::Error(E::JwsHeaderInvalid),
        &with_header(world, &format!(r#"{{"alg":"ES256","kid":{},"typ":["evidentia-receipt+jws"]}}"#, quote(kid1))),
    );
    case(
        "cty-not-a-string",
        "§5",
        "Step 3: cty must be a string if present; a number is JWS_HEADER_INVALID.",
        Outcome::Error(E::JwsHeaderInvalid),
        &with_header(world, &header_with(r#""ES256""#, r#","cty":1"#)),
    );
    case(
        "alg-none-before-kid-not-a-string",
        "§5",
        "Step 3 checks alg before kid: alg none and a numeric kid give JWS_UNSUPPORTED_ALGORITHM.",
        Outcome::Error(E::JwsUnsupportedAlgorithm),
        &with_header(world, r#"{"alg":"none","kid":1,"typ":"evidentia-receipt+jws"}"#),
    );
    for (slug, rest, code, why) in [
        (
            "b64-not-a-boolean",
            r#","b64":"false","crit":["b64"]"#,
            E::JwsHeaderInvalid,
            "b64 must be a boolean: a string is JWS_HEADER_INVALID",
        ),
        ("crit-empty", r#","crit":[]"#, E::JwsHeaderInvalid, "crit must be a non-empty array: JWS_HEADER_INVALID"),
        (
            "crit-not-an-array",
            r#","crit":"b64","b64":true"#,
            E::JwsHeaderInvalid,
            "crit must be an array: JWS_HEADER_INVALID",
        ),
        (
            "crit-with-a-number",
            r#","crit":[1]"#,
            E::JwsHeaderInvalid,
            "each crit name must be a string: JWS_HEADER_INVALID",
        ),
        (
            "crit-naming-b64-twice",
            r#","b64":true,"crit":["b64","b64"]"#,
            E::JwsHeaderInvalid,
            "crit names must be distinct: JWS_HEADER_INVALID",
        ),
        (
            "crit-naming-an-absent-b64",
            r#","crit":["b64"]"#,
            E::JwsHeaderInvalid,
            "a crit name must be present in the header, whatever the name: JWS_HEADER_INVALID",
        ),
        (
            "crit-naming-an-absent-parameter",
            r#","crit":["exp"]"#,
            E::JwsHeaderInvalid,
            "a crit name must be present in the header before it is checked for support: JWS_HEADER_INVALID",
        ),
        (
            "crit-naming-an-unsupported-parameter",
            r#","crit":["exp"],"exp":1"#,
            E::JwsUnsupportedCritical,
            "a present crit name other than b64 is JWS_UNSUPPORTED_CRITICAL",
        ),
        (
            "crit-unsupported-before-absent",
            r#","crit":["exp","b64"],"exp":1"#,
            E::JwsUnsupportedCritical,
            "names are checked in array order, so the present unsupported exp (403) comes before the absent b64 (401)",
        ),
        (
            "crit-absent-before-unsupported",
            r#","crit":["b64","exp"],"exp":1"#,
            E::JwsHeaderInvalid,
            "names are checked in array order, so the absent b64 (401) comes before the unsupported exp (403)",
        ),
        (
            "b64-not-listed-in-crit",
            r#","b64":true"#,
            E::JwsHeaderInvalid,
            "b64 present but not listed in crit is JWS_HEADER_INVALID",
        ),
        (
            "alg-none-before-bad-crit",
            r#","crit":[]"#,
            E::JwsUnsupportedAlgorithm,
            "Step 3 (alg none) comes before step 4 (an empty crit): JWS_UNSUPPORTED_ALGORITHM",
        ),
    ] {
        let alg = if slug.starts_with("alg-none") { r#""none""# } else { r#""ES256""# };
        case(
            slug,
            "§5",
            &if slug.starts_with("alg-none") { format!("{why}.") } else { format!("Step 4: {why}.") },
            Outcome::Error(code),
            &with_header(world, &header_with(alg, rest)),
        );
    }
    for (slug, signature, code, why) in [
        (
            "signature-in-standard-base64",
            format!("{}+", &s[..s.len() - 1]),
            E::JwsMalformed,
            "the signature part holds `+`: JWS_MALFORMED",
        ),
        (
            "signature-with-nonzero-trailing-bits",
            trailing_bits(&s).expect("64 bytes leave spare bits"),
            E::JwsMalformed,
            "the signature part's last character sets a trailing bit, which base64url forbids: JWS_MALFORMED",
        ),
        (
            "signature-of-63-bytes",
            b64url(&sig[..63]),
            E::JwsSignatureFormat,
            "a signature of 63 bytes is JWS_SIGNATURE_FORMAT",
        ),
        (
            "signature-zero-padded-to-65-bytes",
            b64url(&[&[0u8][..], &sig].concat()),
            E::JwsSignatureFormat,
            "a 65-byte zero-padded signature is not exactly 64 bytes: JWS_SIGNATURE_FORMAT",
        ),
        (
            "signature-in-der",
            b64url(&der(&sig)),
            E::JwsSignatureFormat,
            "a DER signature is not the 64-byte R||S: JWS_SIGNATURE_FORMAT",
        ),
        (
            "empty-signature",
            String::new(),
            E::JwsSignatureFormat,
            "an empty signature part is 0 bytes, not 64: JWS_SIGNATURE_FORMAT",
        ),
    ] {
        case(slug, "§5", &format!("Step 5: {why}."), Outcome::Error(code), &with_signature(good, &signature));
    }
    case(
        "alg-none-before-short-signature",
        "§5",
        "Step 3 (alg none) comes before step 5 (a 63-byte signature): JWS_UNSUPPORTED_ALGORITHM.",
        Outcome::Error(E::JwsUnsupportedAlgorithm),
        &with_signature(&with_header(world, &header_with(r#""none""#, "")), &b64url(&sig[..63])),
    );
    case(
        "payload-not-base64url",
        "§5",
        "Step 6: an attached encoded payload part holding `*` is not base64url: JWS_MALFORMED.",
        Outcome::Error(E::JwsMalformed),
        &jws_parts(k1, &h, &format!("{p}*")),
    );
    case(
        "short-signature-before-bad-payload",
        "§5",
        "Step 5 (a 63-byte signature) comes before step 6 (a payload that is not base64url): JWS_SIGNATURE_FORMAT.",
        Outcome::Error(E::JwsSignatureFormat),
        &format!("{h}.{p}*.{}", b64url(&sig[..63])),
    );
    case(
        "signature-with-r-zero",
        "§5",
        "Step 8: R must lie in [1, n-1]; R = 0 fails verification: SIGNATURE_INVALID.",
        found(&[E::SignatureInvalid]),
        &with_signature(good, &b64url(&[&[0u8; 32][..], &sig[32..]].concat())),
    );
    case(
        "signature-with-s-equal-to-n",
        "§5",
        "Step 8: S must lie in [1, n-1]; S = n fails verification: SIGNATURE_INVALID.",
        found(&[E::SignatureInvalid]),
        &with_signature(good, &b64url(&[&sig[..32], &N[..]].concat())),
    );
    case(
        "signature-by-another-key",
        "§12",
        "Header and record name k1 but k2 signed: the key is selected and valid, the signature fails: SIGNATURE_INVALID.",
        found(&[E::SignatureInvalid]),
        &jws(&world.k2, receipt_header(kid1).as_bytes(), &world.record_bytes[1]),
    );
    case(
        "payload-changed-after-signing",
        "§12",
        "The record's event digest was changed after signing, so the signature does not verify: SIGNATURE_INVALID.",
        found(&[E::SignatureInvalid]),
        &with_signature(
            &by_k1(world, &payload(world, 1, &[("event", Some(&quote(&Digest::sha256(&event(9)).to_string())))])),
            &s,
        ),
    );

    // §12 key check: kid, selection, validity.
    let k2_record = evidentia::Record { kid: world.k2.kid().to_owned(), ..world.records[1].clone() };
    case(
        "kid-mismatch",
        "§12",
        "The header's kid is k1's and the record's kid k2's; k1 signed, so only KID_MISMATCH fails.",
        found(&[E::KidMismatch]),
        &jws(k1, receipt_header(kid1).as_bytes(), &k2_record.to_bytes()),
    );
    let k3_receipt = jws(&world.k3, receipt_header(world.k3.kid()).as_bytes(), &world.record_bytes[1]);
    case(
        "kid-mismatch-and-key-not-found",
        "§12",
        "The header names k3 (not in the set) and the record k1: KID_MISMATCH, then selection by the header's kid fails: KEY_NOT_FOUND; signature skipped.",
        found(&[E::KidMismatch, E::KeyNotFound]),
        &k3_receipt,
    );
    let k3_record = evidentia::Record { kid: world.k3.kid().to_owned(), ..world.records[1].clone() };
    case(
        "signed-by-an-unknown-key",
        "§12",
        "Header and record name k3, which the key set lacks: KEY_NOT_FOUND, and the signature check is skipped.",
        found(&[E::KeyNotFound]),
        &jws(&world.k3, receipt_header(world.k3.kid()).as_bytes(), &k3_record.to_bytes()),
    );
    let explicit = evidentia::Record { kid: "payments-2027".to_owned(), ..world.records[1].clone() };
    let explicit_receipt = jws(k1, receipt_header("payments-2027").as_bytes(), &explicit.to_bytes());

    let mut keyed = |slug: &str, spec: &'static str, why: &str, outcome: Outcome, receipt: &str, keys: &str| {
        add(suite, GROUP, slug, spec, why, outcome, receipt, keys, None);
    };
    let entry = |extra: &str| jwks(&[jwk_with(k1, extra)]);
    keyed(
        "kid-that-is-an-explicit-kid",
        "§4",
        "Selection takes the entry whose explicit kid equals the header's kid, which need not be a thumbprint: valid.",
        Outcome::Valid,
        &explicit_receipt,
        &jwks(&[jwk_without(k1, &["kid"], r#""kid":"payments-2027""#)]),
    );
    keyed(
        "thumbprint-selects-despite-other-explicit-kid",
        "§4",
        "The entry's explicit kid differs, but its thumbprint equals the header's kid, which selects it: valid.",
        Outcome::Valid,
        good,
        &jwks(&[jwk_without(k1, &["kid"], r#""kid":"payments-2027""#)]),
    );
    keyed(
        "single-jwk-as-key-set",
        "§4",
        "A single JWK is accepted as a set of one: valid.",
        Outcome::Valid,
        good,
        &jwk(k1),
    );
    keyed(
        "jwk-without-optional-members",
        "§4",
        "A JWK with only kty, crv, x and y is usable for ES256 (use, key_ops, alg absent): valid.",
        Outcome::Valid,
        good,
        &jwks(&[jwk_without(k1, &["kid", "use", "alg"], "")]),
    );
    keyed(
        "jwk-with-unknown-members",
        "§4",
        "Unknown JWK members and key_ops containing verify do not stop the entry being used: valid.",
        Outcome::Valid,
        good,
        &entry(r#""key_ops":["sign","verify"],"x-owner":"payments""#),
    );
    keyed(
        "key-set-with-unusable-entries",
        "§4",
        "RSA, OKP, oct and other-curve entries are kept, their material unexamined, and never selected; k1 verifies: valid.",
        Outcome::Valid,
        good,
        &jwks(&[
            r#"{"e":"AQAB","kty":"RSA","n":"not-examined"}"#.to_owned(),
            r#"{"crv":"P-384","kty":"EC","x":"not-examined","y":"not-examined"}"#.to_owned(),
            r#"{"crv":"Ed25519","kty":"OKP","x":"not-examined"}"#.to_owned(),
            r#"{"k":"not-examined","kty":"oct"}"#.to_owned(),
            jwk(k1),
        ]),
    );
    keyed(
        "jwks-with-extra-top-level-member",
        "§4",
        "A JWKS member other than keys does not make the set malformed: valid.",
        Outcome::Valid,
        good,
        &format!(r#"{{"keys":[{}],"x-note":"test"}}"#, jwk(k1)),
    );
    keyed(
        "key-ambiguous",
        "§4",
        "The header's kid is k1's thumbprint and k2's explicit kid: two entries match: KEY_AMBIGUOUS; signature skipped.",
        found(&[E::KeyAmbiguous]),
        good,
        &jwks(&[jwk_without(k1, &["kid"], ""), jwk_without(&world.k2, &["kid"], &format!(r#""kid":{}"#, quote(kid1)))]),
    );
    for (slug, extra, why) in [
        ("selected-key-for-encryption", r#""use":"enc""#, "use enc"),
        ("selected-key-for-es384", r#""alg":"ES384""#, "alg ES384"),
        ("selected-key-without-verify-op", r#""key_ops":["sign"]"#, "key_ops without verify"),
    ] {
        keyed(
            slug,
            "§4",
            &format!("The one entry the kid selects has {why}, so it is not usable for ES256: KEY_NOT_FOUND."),
            found(&[E::KeyNotFound]),
            good,
            &jwks(&[jwk_without(k1, &["use", "alg"], extra)]),
        );
    }

    // §4 validity at the record's time (record 1 is at T0 + 1).
    let t = T0 + 1;
    for (slug, extra, outcome, why) in [
        (
            "nbf-at-record-time",
            format!(r#""nbf":{t}"#),
            Outcome::Valid,
            "nbf equal to the record's time: nbf <= t holds, valid",
        ),
        (
            "nbf-after-record-time",
            format!(r#""nbf":{}"#, t + 1),
            found(&[E::KeyNotYetValid]),
            "nbf one second after the record's time: KEY_NOT_YET_VALID",
        ),
        (
            "exp-at-record-time",
            format!(r#""exp":{t}"#),
            found(&[E::KeyExpired]),
            "exp equal to the record's time: t < exp fails, KEY_EXPIRED",
        ),
        (
            "exp-after-record-time",
            format!(r#""exp":{}"#, t + 1),
            Outcome::Valid,
            "exp one second after the record's time: valid",
        ),
        (
            "revoked-at-record-time",
            format!(r#""revoked":{{"revoked_at":{t}}}"#),
            found(&[E::KeyRevoked]),
            "revoked_at equal to the record's time: KEY_REVOKED",
        ),
        (
            "revoked-after-record-time",
            format!(r#""revoked":{{"reason":"compromised","revoked_at":{}}}"#, t + 1),
            Outcome::Valid,
            "revoked one second after the record's time, with a reason: valid",
        ),
        (
            "revoked-and-not-yet-valid",
            format!(r#""nbf":{},"revoked":{{"revoked_at":{t}}}"#, t + 10),
            found(&[E::KeyRevoked]),
            "nbf after the record's time and revoked_at at it: one validity failure is listed, KEY_REVOKED, which takes precedence",
        ),
        (
            "not-yet-valid-and-expired",
            format!(r#""exp":{t},"nbf":{}"#, t + 10),
            found(&[E::KeyNotYetValid]),
            "nbf after the record's time and exp at it: one validity failure is listed, KEY_NOT_YET_VALID, which takes precedence over KEY_EXPIRED",
        ),
        (
            "exp-at-the-end-of-year-9999",
            r#""exp":253402300799"#.to_owned(),
            Outcome::Valid,
            "exp 9999-12-31T23:59:59Z, the last second §4.1 allows: valid",
        ),
        (
            "nbf-as-fraction",
            format!(r#""nbf":{}.5"#, t - 1),
            Outcome::Valid,
            "nbf half a second before the record's time (fractions allowed): valid",
        ),
        (
            "nbf-in-exponent-form",
            format!(r#""nbf":{}e-1"#, t * 10 + 1),
            found(&[E::KeyNotYetValid]),
            "nbf written with an exponent (18000000011e-1), 0.1 s after the record's time: KEY_NOT_YET_VALID",
        ),
    ] {
        keyed(slug, "§4", &format!("The key has {why}."), outcome, good, &entry(&extra));
    }
    // §4.1: 1800000000.123457 denotes 2027-01-15T08:00:00.123456955Z.
    let fraction = |time: &str| by_k1(world, &payload(world, 0, &[("time", Some(&quote(time)))]));
    for (slug, time, outcome, why) in [
        (
            "nbf-double-before-decimal-text",
            "2027-01-15T08:00:00.123456999Z",
            Outcome::Valid,
            "...123456999Z is after the instant nbf 1800000000.123457 denotes (...123456955Z, the double's value), so the key is valid though the decimal text is later",
        ),
        (
            "nbf-double-rounded-to-nanosecond",
            "2027-01-15T08:00:00.123456955Z",
            Outcome::Valid,
            "nbf 1800000000.123457 denotes ...123456955Z (the double rounded to the nearest nanosecond), equal to the record's time: valid",
        ),
        (
            "nbf-double-one-nanosecond-late",
            "2027-01-15T08:00:00.123456954Z",
            found(&[E::KeyNotYetValid]),
            "nbf 1800000000.123457 denotes ...123456955Z, one nanosecond after the record's time: KEY_NOT_YET_VALID",
        ),
    ] {
        keyed(
            slug,
            "§4.1",
            &format!("The record is at {time}: {why}."),
            outcome,
            &fraction(time),
            &entry(r#""nbf":1800000000.123457"#),
        );
    }

    // §4 reading a key set: the first failing entry refuses the whole set.
    let coordinate = |name: &str| {
        let Value::Object(members) = value(&jwk(k1)) else { unreachable!("a JWK is an object") };
        members.iter().find(|(n, _)| n == name).map(|(_, v)| canonical(v)).expect("a coordinate")
    };
    // y with its last byte changed: almost surely a point off the curve (checked by both verifiers).
    let y = evidentia::encoding::b64url_decode(coordinate("y").trim_matches('"')).expect("base64url");
    let off_curve = [&y[..31], &[y[31] ^ 1][..]].concat();
    for (slug, keys, code, why) in [
        ("key-set-not-json", r#"{"keys":["#.to_owned(), E::KeySetMalformed, "the document is not JSON (it is cut off)"),
        (
            "key-set-with-duplicate-member",
            format!(r#"{{"keys":[{}],"keys":[]}}"#, jwk(k1)),
            E::KeySetMalformed,
            "the document has keys twice, so it is not JSON as §1 reads it",
        ),
        (
            "point-not-on-the-curve",
            jwks(&[jwk(k1).replace(&coordinate("y"), &quote(&b64url(&off_curve)))]),
            E::KeyInvalid,
            "the EC P-256 entry's point is not on the curve, whose own code (§15) is KEY_INVALID",
        ),
        (
            "x-of-31-bytes",
            jwks(&[jwk(k1).replace(&coordinate("x"), &quote(&b64url(&[7u8; 31])))]),
            E::KeyMalformed,
            "x is 31 bytes, not exactly 32 (§3), so the JWK is not well-formed",
        ),
        (
            "key-set-is-an-array",
            format!("[{}]", jwk(k1)),
            E::KeySetMalformed,
            "a JSON array is neither a JWKS nor a single JWK",
        ),
        (
            "keys-not-an-array",
            format!(r#"{{"keys":{}}}"#, jwk(k1)),
            E::KeySetMalformed,
            "keys is an object, not an array",
        ),
        (
            "single-jwk-without-kty",
            jwk_without(k1, &["kty"], ""),
            E::KeySetMalformed,
            "an object without keys or kty is neither a JWKS nor a single JWK",
        ),
        ("entry-without-kty", jwks(&[jwk_without(k1, &["kty"], "")]), E::KeyMalformed, "an entry of keys has no kty"),
        (
            "entry-of-unknown-kty",
            jwks(&[r#"{"kty":"XYZ"}"#.to_owned(), jwk(k1)]),
            E::KeyUnsupported,
            "an entry's kty is not EC, RSA, OKP or oct",
        ),
        (
            "ec-x-not-a-string",
            jwks(&[jwk_without(k1, &["x"], r#""x":1"#)]),
            E::KeyMalformed,
            "x, a member the thumbprint hashes, is a number",
        ),
        (
            "rsa-n-not-a-string",
            jwks(&[r#"{"e":"AQAB","kty":"RSA","n":7}"#.to_owned(), jwk(k1)]),
            E::KeyMalformed,
            "an unusable RSA entry has no thumbprint, its n being a number",
        ),
        (
            "jwk-kid-not-a-string",
            jwks(&[jwk_without(k1, &["kid"], r#""kid":7"#)]),
            E::KeySetMalformed,
            "kid is a number",
        ),
        (
            "jwk-use-not-a-string",
            jwks(&[jwk_without(k1, &["use"], r#""use":["sig"]"#)]),
            E::KeySetMalformed,
            "use is an array",
        ),
        (
            "key-ops-not-an-array",
            jwks(&[jwk_with(k1, r#""key_ops":"verify""#)]),
            E::KeySetMalformed,
            "key_ops of an EC P-256 entry is a string",
        ),
        (
            "nbf-as-string",
            jwks(&[jwk_with(k1, r#""nbf":"1800000000""#)]),
            E::KeySetMalformed,
            "nbf is a string, not a NumericDate",
        ),
        (
            "exp-in-year-10000",
            jwks(&[jwk_with(k1, r#""exp":253402300800"#)]),
            E::KeySetMalformed,
            "exp denotes 10000-01-01T00:00:00Z, outside the years 0000-9999",
        ),
        (
            "nbf-before-year-0000",
            jwks(&[jwk_with(k1, r#""nbf":-62167219201"#)]),
            E::KeySetMalformed,
            "nbf denotes a second before 0000-01-01, outside the years 0000-9999",
        ),
        (
            "revoked-not-an-object",
            jwks(&[jwk_with(k1, &format!(r#""revoked":{}"#, T0 + 100))]),
            E::KeySetMalformed,
            "revoked is a number, not an object",
        ),
        (
            "revoked-without-revoked-at",
            jwks(&[jwk_with(k1, r#""revoked":{"reason":"lost"}"#)]),
            E::KeySetMalformed,
            "revoked has no revoked_at",
        ),
        (
            "revoked-at-as-string",
            jwks(&[jwk_with(k1, r#""revoked":{"revoked_at":"2027-01-15T08:00:00Z"}"#)]),
            E::KeySetMalformed,
            "revoked_at is a string, not a NumericDate",
        ),
        (
            "revocation-reason-not-a-string",
            jwks(&[jwk_with(k1, &format!(r#""revoked":{{"reason":1,"revoked_at":{}}}"#, T0 + 100))]),
            E::KeySetMalformed,
            "the revocation reason is a number",
        ),
        ("same-key-twice", jwks(&[jwk(k1), jwk(k1)]), E::KeySetMalformed, "the same key is listed twice"),
        (
            "same-key-under-two-kids",
            jwks(&[jwk(k1), jwk_without(k1, &["kid"], r#""kid":"second""#)]),
            E::KeySetMalformed,
            "one key (one thumbprint) appears twice under different kids",
        ),
        (
            "two-keys-with-one-kid",
            jwks(&[jwk_without(k1, &["kid"], r#""kid":"main""#), jwk_without(&world.k2, &["kid"], r#""kid":"main""#)]),
            E::KeySetMalformed,
            "two keys have the same explicit kid",
        ),
        (
            "malformed-unusable-entry",
            jwks(&[jwk(k1), jwk_without(&world.k2, &["use", "kid"], r#""kid":2,"use":"enc""#)]),
            E::KeySetMalformed,
            "an encryption entry, never selectable, has a numeric kid; every entry is checked",
        ),
    ] {
        keyed(
            slug,
            "§4",
            &format!("Reading the key set fails: {why}: {}, an error whatever the receipt.", code.name()),
            Outcome::Error(code),
            good,
            &keys,
        );
    }

    // §12 failures together, in the order of the checks.
    keyed(
        "expired-key-and-bad-signature",
        "§12",
        "All checks run: the key is expired at the record's time (KEY_EXPIRED), and k2 signed in k1's name (SIGNATURE_INVALID).",
        found(&[E::KeyExpired, E::SignatureInvalid]),
        &jws(&world.k2, receipt_header(kid1).as_bytes(), &world.record_bytes[1]),
        &entry(&format!(r#""exp":{t}"#)),
    );
    keyed(
        "kid-mismatch-and-expired-key",
        "§12",
        "The record names k2, the header k1 (KID_MISMATCH); k1 is selected by the header and expired at the record's time (KEY_EXPIRED).",
        found(&[E::KidMismatch, E::KeyExpired]),
        &jws(k1, receipt_header(kid1).as_bytes(), &k2_record.to_bytes()),
        &entry(&format!(r#""exp":{t}"#)),
    );

    // §12 event check.
    let mut evented = |slug: &str, why: &str, outcome: Outcome, receipt: &str, keys: &str, event: &[u8]| {
        add(suite, GROUP, slug, "§12", why, outcome, receipt, keys, Some(event));
    };
    evented(
        "with-its-event",
        "The event's canonical digest is the record's event: valid.",
        Outcome::Valid,
        good,
        &keys,
        &event(1),
    );
    evented(
        "with-its-event-reformatted",
        "The event in other formatting (order, spaces, 1.0 for 1) has the same canonical JSON, so the same digest: valid.",
        Outcome::Valid,
        good,
        &keys,
        &event_reformatted(1),
    );
    evented(
        "with-its-event-escaped",
        "The event with a character written as an escape (\\u0045 for E) has the same canonical JSON: valid.",
        Outcome::Valid,
        good,
        &keys,
        &String::from_utf8(event(1)).expect("UTF-8").replace("EUR", r"\u0045UR").into_bytes(),
    );
    evented(
        "with-another-event",
        "The event is another one (event 2), so its digest differs: EVENT_MISMATCH.",
        found(&[E::EventMismatch]),
        good,
        &keys,
        &event(2),
    );
    evented(
        "with-event-of-changed-number",
        "The event's n is 1.5 instead of 1, which changes its canonical JSON: EVENT_MISMATCH.",
        found(&[E::EventMismatch]),
        good,
        &keys,
        &String::from_utf8(event(1)).expect("UTF-8").replace(r#""n":1"#, r#""n":1.5"#).into_bytes(),
    );
    evented(
        "with-event-that-is-not-json",
        "An event that fails §1 is malformed input (§12): JSON_SYNTAX, an error rather than a finding.",
        Outcome::Error(E::JsonSyntax),
        good,
        &keys,
        b"{\"type\":\"payment.approved\",}",
    );
    evented(
        "with-event-with-duplicate-member",
        "An event with a member twice fails §1: JSON_DUPLICATE_KEY, an error.",
        Outcome::Error(E::JsonDuplicateKey),
        good,
        &keys,
        br#"{"n":1,"n":1}"#,
    );
    evented(
        "with-event-with-imprecise-integer",
        "An event whose integer 2^53 + 1 would silently become another number fails §1.1: JSON_INTEGER_PRECISION, an error.",
        Outcome::Error(E::JsonIntegerPrecision),
        good,
        &keys,
        br#"{"n":9007199254740993}"#,
    );
    evented(
        "with-event-with-byte-order-mark",
        "An event that begins with a byte order mark is not RFC 8259 JSON text (§1.1): JSON_SYNTAX, an error.",
        Outcome::Error(E::JsonSyntax),
        good,
        &keys,
        &[&b"\xef\xbb\xbf"[..], &event(1)].concat(),
    );
    evented(
        "with-event-with-lone-surrogate",
        "An event holding a lone surrogate escape fails §1: JSON_LONE_SURROGATE, an error.",
        Outcome::Error(E::JsonLoneSurrogate),
        good,
        &keys,
        br#"{"note":"\ud800"}"#,
    );
    evented(
        "every-check-fails",
        "k3 signed in k1's name a record naming k2, with k1 expired and another event: KID_MISMATCH, KEY_EXPIRED, SIGNATURE_INVALID, EVENT_MISMATCH, in the checks' order.",
        found(&[E::KidMismatch, E::KeyExpired, E::SignatureInvalid, E::EventMismatch]),
        &jws(&world.k3, receipt_header(kid1).as_bytes(), &k2_record.to_bytes()),
        &entry(&format!(r#""exp":{t}"#)),
        &event(2),
    );
    evented(
        "bad-signature-with-event",
        "k2 signed in k1's name, and the event is another: SIGNATURE_INVALID then EVENT_MISMATCH, all checks running.",
        found(&[E::SignatureInvalid, E::EventMismatch]),
        &jws(&world.k2, receipt_header(kid1).as_bytes(), &world.record_bytes[1]),
        &keys,
        &event(2),
    );
    evented(
        "malformed-receipt-with-bad-event",
        "A receipt that fails §5 step 1 is an error before any check, even with a wrong event: JWS_MALFORMED.",
        Outcome::Error(E::JwsMalformed),
        &format!("{h}.{p}"),
        &keys,
        &event(2),
    );
    // Added after the cases above, so that their numbers stay.
    let mut case = |slug: &str, spec: &'static str, why: &str, outcome: Outcome, receipt: &str| {
        add(suite, GROUP, slug, spec, why, outcome, receipt, &keys, None);
    };
    case(
        "record-of-version-3",
        "§6",
        "`v` is 1 or 2; a record of version 3 is RECORD_MALFORMED.",
        Outcome::Error(E::RecordMalformed),
        &by_k1(world, &payload(world, 1, &[("v", Some("3"))])),
    );
    salted_cases(suite, world, &keys);
}

/// The salt of the version-2 record of the salted cases.
pub(crate) const SALT: [u8; 16] = [0x5a; 16];

/// The receipt of record 1 of the world as a version-2 record, committing to
/// event 1 under [`SALT`] (§26.1).
pub(crate) fn salted_receipt(world: &World) -> String {
    let digest = evidentia::commit_json(&event(1), &SALT).expect("a commitment").digest();
    by_k1(world, &payload(world, 1, &[("v", Some("2")), ("event", Some(&quote(&digest.to_string())))]))
}

/// Cases of §12's event check for a record of version 2, which commits to its
/// event under a salt (§26.1): the event is checked with its salt (input `salt`,
/// the salt's bytes).
fn salted_cases(suite: &mut Suite, world: &World, keys: &str) {
    let commitment = evidentia::commit_json(&event(1), &SALT).expect("a commitment");
    let v2 = salted_receipt(world);
    let mut case =
        |slug: &str, why: &str, outcome: Outcome, receipt: &str, event: Option<&[u8]>, salt: Option<&[u8]>| {
            let mut inputs = vec![file("receipt", "receipt.jws", receipt), file("jwks", "keys.jwks", keys)];
            if let Some(event) = event {
                inputs.push(file("event", "event.json", event));
            }
            if let Some(salt) = salt {
                inputs.push(file("salt", "salt.bin", salt));
            }
            suite.add(GROUP, slug, Op::Receipt, "§12", why, outcome, inputs);
        };
    case(
        "version-2-event-with-its-salt",
        "A version-2 record's event with its salt: the digest of the commitment document they make is the record's event.",
        Outcome::Valid,
        &v2,
        Some(&event_reformatted(1)),
        Some(&SALT),
    );
    case(
        "version-2-other-event-with-the-salt",
        "Another event under the record's salt makes another commitment: EVENT_MISMATCH.",
        found(&[E::EventMismatch]),
        &v2,
        Some(&event(2)),
        Some(&SALT),
    );
    case(
        "version-2-event-with-another-salt",
        "The event under another salt makes another commitment: EVENT_MISMATCH.",
        found(&[E::EventMismatch]),
        &v2,
        Some(&event(1)),
        Some(&[0xa5; 16]),
    );
    case(
        "version-2-event-without-salt",
        "Without its salt, a version-2 record's event cannot be judged: INVALID_ARGUMENT, not a verdict.",
        Outcome::Error(E::InvalidArgument),
        &v2,
        Some(&event(1)),
        None,
    );
    case(
        "version-2-commitment-document-without-salt",
        "The record's commitment document itself needs no salt: its digest is the record's event.",
        Outcome::Valid,
        &v2,
        Some(&commitment.document),
        None,
    );
    case(
        "version-2-commitment-document-with-the-salt",
        "The record's commitment document is the record's event with a salt too (step 4 before step 6): valid.",
        Outcome::Valid,
        &v2,
        Some(&commitment.document),
        Some(&SALT),
    );
    case(
        "version-2-salt-of-15-bytes",
        "An event salt is 16 to 64 bytes (§26.1): one of 15 is INVALID_ARGUMENT.",
        Outcome::Error(E::InvalidArgument),
        &v2,
        Some(&event(1)),
        Some(&SALT[..15]),
    );
    case(
        "version-2-salt-with-an-event-not-json",
        "The event is read before the salt is judged: an event that is not JSON is JSON_SYNTAX, even with a wrong salt.",
        Outcome::Error(E::JsonSyntax),
        &v2,
        Some(b"{\"amount\":"),
        Some(&SALT[..15]),
    );
    case(
        "version-1-event-with-a-salt",
        "A version-1 record's event is not salted: a salt given for it is INVALID_ARGUMENT.",
        Outcome::Error(E::InvalidArgument),
        &world.receipts[1],
        Some(&event(1)),
        Some(&SALT),
    );
    let other = evidentia::commit_json(&event(2), &SALT).expect("a commitment").document;
    case(
        "version-2-other-commitment-document-without-salt",
        "Without a salt, even an event in the form of a commitment document cannot be judged: INVALID_ARGUMENT.",
        Outcome::Error(E::InvalidArgument),
        &v2,
        Some(&other),
        None,
    );
    let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
    case(
        "version-2-event-of-128-levels-with-the-salt",
        "§26.1 refuses to commit to an event nested 128 levels deep (one a verifier reads, §1.1): JSON_TOO_DEEP.",
        Outcome::Error(E::JsonTooDeep),
        &v2,
        Some(deep.as_bytes()),
        Some(&SALT),
    );
    case(
        "salt-without-event",
        "A salt opens an event; given without one it is INVALID_ARGUMENT.",
        Outcome::Error(E::InvalidArgument),
        &v2,
        None,
        Some(&SALT),
    );
}

/// A DER ECDSA signature of a 64-byte R||S (both integers positive and minimal).
fn der(sig: &[u8]) -> Vec<u8> {
    let int = |bytes: &[u8]| {
        let mut bytes: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
        if bytes.first().is_none_or(|&b| b & 0x80 != 0) {
            bytes.insert(0, 0);
        }
        [vec![0x02, bytes.len() as u8], bytes].concat()
    };
    let body = [int(&sig[..32]), int(&sig[32..])].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

/// The batch receipt text of a record with its proof and checkpoint, each as JSON
/// text as it is (the record as a string of its bytes).
fn batch_text(record: &str, proof: &str, checkpoint: &str) -> String {
    format!(
        r#"{{"checkpoint":{},"proof":{proof},"record":{},"type":"evidentia-batch-receipt","v":1}}"#,
        quote(checkpoint),
        quote(record)
    )
}

pub(crate) fn batch_cases(suite: &mut Suite, world: &World) {
    let (k1, k2) = (&world.k1, &world.k2);
    let keys = world.keys();
    let tree = &world.batch_tree;
    let record = String::from_utf8(world.batch_records[2].clone()).expect("UTF-8");
    let cp = signed(&checkpoint_of(tree, 5, LOG_ID), k1);
    let proof = inclusion(tree, 2, 5).to_json().expect("small");
    let good = batch_receipt(record.as_bytes(), inclusion(tree, 2, 5), &cp);
    let body = checkpoint_of(tree, 5, LOG_ID).to_text();
    // The record of batch event 2 (at T0) changed by member, as a record of k1.
    let changed = |changes: &[(&str, &str)]| {
        let mut text = record.clone();
        let Value::Object(members) = value(&record) else { unreachable!("a record is an object") };
        for (name, raw) in changes {
            let old = members.iter().find(|(n, _)| n == name).map(|(_, v)| canonical(v)).expect("a member");
            text = text.replace(&format!("{}:{old}", quote(name)), &format!("{}:{raw}", quote(name)));
        }
        text
    };
    let mut case = |slug: &str,
                    spec: &'static str,
                    why: &str,
                    outcome: Outcome,
                    receipt: &str,
                    keys: &str,
                    event: Option<&[u8]>| {
        add(suite, BATCH, slug, spec, why, outcome, receipt, keys, event);
    };
    let entry = |extra: &str| jwks(&[jwk_with(k1, extra)]);

    // Valid.
    case(
        "as-evidentia-writes-it",
        "§11",
        "A batch receipt as Evidentia writes it, with its record's key: valid.",
        Outcome::Valid,
        &good,
        &keys,
        None,
    );
    case(
        "with-its-event",
        "§11",
        "With the record's event: the event check passes as in §12, valid.",
        Outcome::Valid,
        &good,
        &keys,
        Some(&event(2)),
    );
    case(
        "with-its-event-reformatted",
        "§11",
        "With the record's event in other formatting: its canonical JSON is the same, valid.",
        Outcome::Valid,
        &good,
        &keys,
        Some(&event_reformatted(2)),
    );
    let first = String::from_utf8(world.batch_records[0].clone()).expect("UTF-8");
    case(
        "only-record-of-a-tree-of-one",
        "§11",
        "Record 0 in a tree of size 1: an empty proof leads from its leaf hash to the root, which is that hash: valid.",
        Outcome::Valid,
        &batch_receipt(first.as_bytes(), inclusion(tree, 0, 1), &signed(&checkpoint_of(tree, 1, LOG_ID), k1)),
        &keys,
        None,
    );
    let last = String::from_utf8(world.batch_records[4].clone()).expect("UTF-8");
    case(
        "last-record",
        "§11",
        "The last record of five, whose proof has a different shape: valid.",
        Outcome::Valid,
        &batch_receipt(last.as_bytes(), inclusion(tree, 4, 5), &cp),
        &keys,
        None,
    );
    let witness = signature_line(&body, "witness.example/w", &world.k3);
    case(
        "checkpoint-with-a-witness-signature",
        "§10",
        "An extra signature line under a name and key the verifier does not trust is ignored: valid.",
        Outcome::Valid,
        &batch_text(&record, &proof, &format!("{cp}{witness}")),
        &keys,
        None,
    );
    let k2_line = signature_line(&body, LOG_ID, k2);
    case(
        "checkpoint-also-signed-by-another-key",
        "§11",
        "The record's key signed the checkpoint; another key of the set signing too does not matter: valid.",
        Outcome::Valid,
        &batch_text(&record, &proof, &format!("{cp}{k2_line}")),
        &set(&[k1, k2]),
        None,
    );
    let extended =
        evidentia::Checkpoint { extensions: vec!["x-extension line".to_owned()], ..checkpoint_of(tree, 5, LOG_ID) };
    case(
        "checkpoint-with-extension-line",
        "§10",
        "A checkpoint may carry extension lines after the root: valid.",
        Outcome::Valid,
        &batch_receipt(record.as_bytes(), inclusion(tree, 2, 5), &signed(&extended, k1)),
        &keys,
        None,
    );
    case(
        "key-revoked-after-the-record",
        "§11",
        "k1 is revoked after the record's time; it was valid then and is the record's own key, which signed the checkpoint: valid.",
        Outcome::Valid,
        &good,
        &entry(&format!(r#""revoked":{{"revoked_at":{}}}"#, T0 + 100)),
        None,
    );

    // The exact canonical form (BATCH_RECEIPT_MALFORMED).
    let malformed = Outcome::Error(E::BatchReceiptMalformed);
    let proof_value = value(&proof);
    let mut replaced = |slug: &str, why: &str, text: String| {
        case(slug, "§11", &format!("{why}: BATCH_RECEIPT_MALFORMED."), malformed.clone(), &text, &keys, None);
    };
    replaced(
        "not-json",
        "Cut off before its closing brace, it is not JSON, let alone its canonical form",
        good[..good.len() - 1].to_owned(),
    );
    replaced(
        "with-duplicate-member",
        "v appears twice, which is no canonical JSON of exactly five members",
        good.replace(r#","v":1}"#, r#","v":1,"v":1}"#),
    );
    replaced(
        "with-whitespace",
        "A space after the first colon makes it other than its canonical JSON",
        good.replacen("\":", "\": ", 1),
    );
    replaced(
        "members-out-of-order",
        "v written first puts the members out of canonical order",
        good.replacen('{', r#"{"v":1,"#, 1).replace(r#","v":1}"#, "}"),
    );
    replaced(
        "with-extra-member",
        "A sixth member (x) is not one of the five",
        good.replace(r#","v":1}"#, r#","v":1,"x":1}"#),
    );
    replaced("without-type", "The type member is missing", good.replace(r#""type":"evidentia-batch-receipt","#, ""));
    replaced(
        "without-checkpoint",
        "The checkpoint member is missing",
        batch_text(&record, &proof, "").replacen(r#""checkpoint":"","#, "", 1),
    );
    replaced("of-version-2", "v must be 1", good.replace(r#""v":1}"#, r#""v":2}"#));
    replaced("version-as-string", "v must be the number 1, not a string", good.replace(r#""v":1}"#, r#""v":"1"}"#));
    replaced(
        "of-another-type",
        "type must be evidentia-batch-receipt",
        good.replace("evidentia-batch-receipt", "evidentia-receipt"),
    );
    replaced(
        "record-as-object",
        "The record is its bytes as a string, not a JSON object",
        canonical(&Value::object([
            ("checkpoint", Value::from(cp.as_str())),
            ("proof", proof_value.clone()),
            ("record", value(&record)),
            ("type", Value::from("evidentia-batch-receipt")),
            ("v", Value::from(1u32)),
        ])),
    );
    replaced(
        "checkpoint-as-number",
        "The checkpoint is a signed note as a string, not a number",
        good.replacen(&quote(&cp), "5", 1),
    );
    replaced(
        "leaf-index-not-the-seq",
        "The proof's leaf_index (3) is not the record's seq (2)",
        batch_receipt_json(record.as_bytes(), &value(&inclusion(tree, 3, 5).to_json().expect("small")), &cp),
    );
    replaced(
        "tree-size-not-the-checkpoints",
        "The proof's tree_size (4) is not the checkpoint's size (5)",
        batch_receipt_json(record.as_bytes(), &value(&inclusion(tree, 2, 4).to_json().expect("small")), &cp),
    );

    // What it holds is malformed: the error of that part.
    case(
        "record-not-json",
        "§11",
        "The record inside is not JSON, so it is no record: RECORD_MALFORMED, an error.",
        Outcome::Error(E::RecordMalformed),
        &batch_text("{", &proof, &cp),
        &keys,
        None,
    );
    case(
        "record-not-canonical",
        "§11",
        "The record inside is not canonical JSON (a space after a colon): RECORD_MALFORMED, an error.",
        Outcome::Error(E::RecordMalformed),
        &batch_text(&record.replacen(':', ": ", 1), &proof, &cp),
        &keys,
        None,
    );
    case(
        "record-with-invalid-time",
        "§11",
        "The record inside has a time with an offset: TIME_INVALID, an error.",
        Outcome::Error(E::TimeInvalid),
        &batch_text(&changed(&[("time", r#""2027-01-15T08:00:00+00:00""#)]), &proof, &cp),
        &keys,
        None,
    );
    let hashes: Vec<_> = inclusion(tree, 2, 5).hashes;
    case(
        "proof-hash-of-31-bytes",
        "§9",
        "A proof hash that is not 32 bytes is PROOF_MALFORMED, an error.",
        Outcome::Error(E::ProofMalformed),
        &batch_text(
            &record,
            &proof.replacen(
                &quote(&evidentia::encoding::b64(&hashes[0])),
                &quote(&evidentia::encoding::b64(&hashes[0][..31])),
                1,
            ),
            &cp,
        ),
        &keys,
        None,
    );
    case(
        "proof-with-extra-member",
        "§9",
        "A proof with a member beyond its four is PROOF_MALFORMED, an error.",
        Outcome::Error(E::ProofMalformed),
        &batch_text(&record, &proof.replace(r#""type":"inclusion"}"#, r#""type":"inclusion","x":1}"#), &cp),
        &keys,
        None,
    );
    case(
        "checkpoint-without-signatures",
        "§10",
        "The checkpoint is only its text, without an empty line and signatures: CHECKPOINT_MALFORMED, an error.",
        Outcome::Error(E::CheckpointMalformed),
        &batch_text(&record, &proof, &body),
        &keys,
        None,
    );
    case(
        "checkpoint-size-with-leading-zero",
        "§10",
        "The checkpoint's size is written 05: not decimal without leading zeros, so CHECKPOINT_MALFORMED.",
        Outcome::Error(E::CheckpointMalformed),
        &batch_text(&record, &proof, &sign_note_text(&body.replacen("\n5\n", "\n05\n", 1), k1)),
        &keys,
        None,
    );
    case(
        "key-set-malformed",
        "§11",
        "The key set lists k1 twice: KEY_SET_MALFORMED, an error whatever the batch receipt.",
        Outcome::Error(E::KeySetMalformed),
        &good,
        &jwks(&[jwk(k1), jwk(k1)]),
        None,
    );
    case(
        "with-event-that-is-not-json",
        "§11",
        "An event that fails §1 is malformed input: JSON_SYNTAX, an error.",
        Outcome::Error(E::JsonSyntax),
        &good,
        &keys,
        Some(b"{\"n\":2"),
    );

    // Findings.
    let rotated =
        jwks(&[jwk_with(k1, &format!(r#""exp":{}"#, T0 + 10)), jwk_with(k2, &format!(r#""nbf":{}"#, T0 + 10))]);
    case(
        "checkpoint-of-the-successor-key",
        "§11",
        "After a rotation k2 signed the checkpoint, but the record's own key k1 must have: CHECKPOINT_SIGNATURE_INVALID.",
        found(&[E::CheckpointSignatureInvalid]),
        &batch_receipt(record.as_bytes(), inclusion(tree, 2, 5), &signed(&checkpoint_of(tree, 5, LOG_ID), k2)),
        &rotated,
        None,
    );
    let forged = cp.replace(&cp.rsplit_once(' ').expect("a line").1[10..20], "AAAAAAAAAA");
    case(
        "checkpoint-signature-changed",
        "§11",
        "The k1 signature line's signature bytes were changed: a line of a trusted key must verify: CHECKPOINT_SIGNATURE_INVALID.",
        found(&[E::CheckpointSignatureInvalid]),
        &batch_text(&record, &proof, &forged),
        &keys,
        None,
    );
    case(
        "checkpoint-of-another-log",
        "§11",
        "k1 signed another log's checkpoint under that log's id, not the record's: CHECKPOINT_SIGNATURE_INVALID, and its origin is not the record's log id: CHECKPOINT_MISMATCH.",
        found(&[E::CheckpointSignatureInvalid, E::CheckpointMismatch]),
        &batch_receipt(record.as_bytes(), inclusion(tree, 2, 5), &signed(&checkpoint_of(tree, 5, OTHER_LOG), k1)),
        &keys,
        None,
    );
    let other_origin = checkpoint_of(tree, 5, OTHER_LOG).to_text();
    case(
        "checkpoint-of-another-origin",
        "§11",
        "k1 signed, under the record's log id, a checkpoint whose origin names another log: the signature passes, the origin fails: CHECKPOINT_MISMATCH.",
        found(&[E::CheckpointMismatch]),
        &batch_text(&record, &proof, &sign_note_text(&other_origin, k1)),
        &keys,
        None,
    );
    case(
        "checkpoint-of-another-tree",
        "§11",
        "The checkpoint, signed by k1, is of the receipts-mode log's tree, whose root is another: INCLUSION_PROOF_INVALID.",
        found(&[E::InclusionProofInvalid]),
        &batch_receipt(record.as_bytes(), inclusion(tree, 2, 5), &world.checkpoint(5)),
        &keys,
        None,
    );
    let mut bent = hashes.clone();
    bent[0][0] ^= 1;
    let bent_proof = evidentia::InclusionProof { leaf_index: 2, tree_size: 5, hashes: bent };
    case(
        "proof-hash-changed",
        "§11",
        "A bit of the proof's first hash was flipped, so the proof does not lead to the root: INCLUSION_PROOF_INVALID.",
        found(&[E::InclusionProofInvalid]),
        &batch_receipt(record.as_bytes(), bent_proof, &cp),
        &keys,
        None,
    );
    let event9 = quote(&Digest::sha256(&event(9)).to_string());
    case(
        "record-event-replaced",
        "§11",
        "The record's event digest was replaced by event 9's and event 9 given: the event matches, but the record is not the leaf: INCLUSION_PROOF_INVALID.",
        found(&[E::InclusionProofInvalid]),
        &batch_text(&changed(&[("event", &event9)]), &proof, &cp),
        &keys,
        Some(&event(9)),
    );
    case(
        "with-another-event",
        "§11",
        "The event is another (event 3): EVENT_MISMATCH.",
        found(&[E::EventMismatch]),
        &good,
        &keys,
        Some(&event(3)),
    );
    case(
        "key-expired-at-the-record",
        "§11",
        "k1's exp is the record's time, so it is not valid then (KEY_EXPIRED); it is still the record's key and signed the checkpoint.",
        found(&[E::KeyExpired]),
        &good,
        &entry(&format!(r#""exp":{T0}"#)),
        None,
    );
    case(
        "key-not-yet-valid",
        "§11",
        "k1's nbf is after the record's time: KEY_NOT_YET_VALID.",
        found(&[E::KeyNotYetValid]),
        &good,
        &entry(&format!(r#""nbf":{}"#, T0 + 1)),
        None,
    );
    case(
        "key-revoked-at-the-record",
        "§11",
        "k1 is revoked at the record's time: KEY_REVOKED.",
        found(&[E::KeyRevoked]),
        &good,
        &entry(&format!(r#""revoked":{{"revoked_at":{T0}}}"#)),
        None,
    );
    case(
        "expired-key-bad-proof-and-other-event",
        "§11",
        "All checks run in order: KEY_EXPIRED, then INCLUSION_PROOF_INVALID (another tree's checkpoint), then EVENT_MISMATCH.",
        found(&[E::KeyExpired, E::InclusionProofInvalid, E::EventMismatch]),
        &batch_receipt(record.as_bytes(), inclusion(tree, 2, 5), &world.checkpoint(5)),
        &entry(&format!(r#""exp":{T0}"#)),
        Some(&event(3)),
    );
    case(
        "other-origin-and-bad-proof",
        "§11",
        "k1 signed under the log id a checkpoint of another origin and another root: CHECKPOINT_MISMATCH, then INCLUSION_PROOF_INVALID.",
        found(&[E::CheckpointMismatch, E::InclusionProofInvalid]),
        &batch_text(&record, &proof, &sign_note_text(&checkpoint_of(&world.tree, 5, OTHER_LOG).to_text(), k1)),
        &keys,
        None,
    );
    case(
        "log-id-with-a-plus",
        "§11",
        "The record's log id holds '+', which no note key name may (§10), so no checkpoint is signed under it: a report, not an error: CHECKPOINT_SIGNATURE_INVALID, CHECKPOINT_MISMATCH, and INCLUSION_PROOF_INVALID (the record changed).",
        found(&[E::CheckpointSignatureInvalid, E::CheckpointMismatch, E::InclusionProofInvalid]),
        &batch_text(&changed(&[("log_id", &quote("conformance.evidentia.dev/a+b"))]), &proof, &cp),
        &keys,
        None,
    );
}

/// The text signed by `key` as a note under the suite's log id (whatever the text's origin).
fn sign_note_text(text: &str, key: &SigningKey) -> String {
    let line = signature_line(text, LOG_ID, key);
    format!("{text}\n{line}")
}
