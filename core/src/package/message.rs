//! The files a package adds for a signed message of another party (SPEC.md §19,
//! §21.6), and check 9, which ties them to `event.json` and verifies the partner's
//! signature. What `verify.sh` does with `sed`, `awk` and `openssl`, this module does
//! the same way, so that both verifiers see the same bytes.

use super::{PackageFile, json_string};
use crate::encoding::b64url;
use crate::error::{Error, ErrorCode, Result};
use crate::json::{self, Value, canonicalize_value};
use crate::jws::decode_structure;
use crate::lookup::MESSAGE_MEMBER;
use crate::message::SignedMessage;
use crate::partner::{PartnerAlgorithm, PartnerKey, PartnerKeys};
use crate::time::Timestamp;

/// How a signed-message event starts (canonical JSON, §1): check 9 applies to a
/// package whose `event.json` starts so.
const EVENT_START: &str = "{\"evidentia_signed_message\":{";

/// The files of a signed message, in the order they are written.
pub(super) const MESSAGE_FILE_NAMES: [&str; 10] = [
    "message.jws",
    "message-keys.jwks",
    "message-provenance.json",
    "message-verification.json",
    "message-export.json",
    "message-signing-input.txt",
    "message-payload.bin",
    "message-signature.bin",
    "message-key.jwk",
    "message-key.pem",
];

/// Whether check 9 applies: the event is a signed message.
pub(super) fn is_message_event(event: &[u8]) -> bool {
    event.starts_with(EVENT_START.as_bytes())
}

fn canonical(value: &Value) -> Vec<u8> {
    // Values read from canonical JSON canonicalize again.
    canonicalize_value(value).unwrap_or_default()
}

/// The JWS decoded for its files: algorithm, header, signing input, payload and
/// signature bytes as they are in the JWS (for ECDSA `R ‖ S` of twice the field
/// size, else the JWS refuses the structure).
struct Decoded {
    alg: PartnerAlgorithm,
    header: Value,
    signing_input: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

fn decode(jws: &str, detached: Option<&[u8]>) -> Result<Decoded> {
    let structure = decode_structure(
        jws,
        detached,
        |alg| match alg {
            Some(Value::String(name)) => PartnerAlgorithm::from_name(name),
            _ => Err(Error::new(ErrorCode::JwsUnsupportedAlgorithm, "the JWS header names no algorithm")),
        },
        |&alg, signature| match field_size(alg) {
            Some(n) if signature.len() != 2 * n => {
                Err(Error::new(ErrorCode::JwsSignatureFormat, "an ECDSA signature is R and S of the field size"))
            }
            _ => Ok(()),
        },
    )?;
    Ok(Decoded {
        alg: structure.alg,
        header: structure.header,
        signing_input: structure.signing_input,
        payload: structure.payload,
        signature: structure.signature,
    })
}

/// The size in bytes of R and S for an ECDSA algorithm.
fn field_size(alg: PartnerAlgorithm) -> Option<usize> {
    match alg {
        PartnerAlgorithm::Es256 => Some(32),
        PartnerAlgorithm::Es384 => Some(48),
        PartnerAlgorithm::Es512 => Some(66),
        _ => None,
    }
}

/// The signature as `openssl dgst -verify` and `pkeyutl -verify` read it: for
/// ECDSA, `R ‖ S` as an ASN.1 DER SEQUENCE of two INTEGERs; otherwise as it is.
fn openssl_signature(alg: PartnerAlgorithm, raw: &[u8]) -> Vec<u8> {
    if field_size(alg).is_none() {
        return raw.to_vec();
    }
    let integer = |half: &[u8]| {
        let start = half.iter().position(|&b| b != 0).unwrap_or(half.len().saturating_sub(1));
        let mut bytes = half[start..].to_vec();
        if bytes.first().is_none_or(|&b| b & 0x80 != 0) {
            bytes.insert(0, 0);
        }
        let mut out = vec![0x02, bytes.len() as u8];
        out.extend(bytes);
        out
    };
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = integer(r);
    body.extend(integer(s));
    let mut out = vec![0x30];
    if body.len() >= 0x80 {
        out.push(0x81);
    }
    out.push(body.len() as u8);
    out.extend(body);
    out
}

/// The key a package shows: for a valid message, the snapshot key that verified
/// it; for a failed one, the key the JWS selects, when one is selected.
fn package_key<'k>(message: &SignedMessage, keys: &'k PartnerKeys, decoded: &Decoded) -> Option<&'k PartnerKey> {
    match &message.verification.key_thumbprint {
        Some(thumbprint) if message.verification.is_valid() => {
            keys.keys().iter().find(|k| k.thumbprint() == thumbprint)
        }
        _ => keys.select(decoded.alg, decoded.header.get("kid").and_then(Value::as_str)).ok(),
    }
}

/// The event rebuilt from the files of a package, as `verify.sh` rebuilds it:
/// `{"evidentia_signed_message":{` [`"detached_payload":"…",`] `"direction":"…",
/// "format":1,"jws":` message.jws as a JSON string `,"keys":` message-keys.jwks
/// [`,"link":{"record":"…","seq":N}`] `,"provenance":` message-provenance.json
/// `,"verification":` message-verification.json `}}`. For a canonical event this is
/// its bytes exactly when the files hold what it holds.
fn rebuilt_event(message: &SignedMessage, jws: &[u8], keys: &[u8], provenance: &[u8], verification: &[u8]) -> Vec<u8> {
    let mut out = EVENT_START.as_bytes().to_vec();
    if let Some(payload) = &message.detached_payload {
        out.extend_from_slice(format!("\"detached_payload\":\"{}\",", b64url(payload)).as_bytes());
    }
    out.extend_from_slice(format!("\"direction\":\"{}\",\"format\":1,\"jws\":", message.direction.name()).as_bytes());
    out.extend(json_string(jws));
    out.extend_from_slice(b",\"keys\":");
    out.extend_from_slice(keys);
    if let Some(link) = &message.link {
        out.extend_from_slice(format!(",\"link\":{{\"record\":\"{}\",\"seq\":{}}}", link.record, link.seq).as_bytes());
    }
    out.extend_from_slice(b",\"provenance\":");
    out.extend_from_slice(provenance);
    out.extend_from_slice(b",\"verification\":");
    out.extend_from_slice(verification);
    out.extend_from_slice(b"}}");
    out
}

/// The files of a signed message's package (SPEC.md §19): `None` when the event is
/// not a signed message.
///
/// # Errors
/// [`ErrorCode::MessageMalformed`] for a signed message that cannot be read;
/// [`ErrorCode::InvalidArgument`] for one `verify.sh` cannot check (a JWS with
/// control characters, which JSON escapes other than `verify.sh` does).
pub(super) fn message_files(event: &[u8], exported_at: Option<Timestamp>) -> Result<Option<Vec<PackageFile>>> {
    if !is_message_event(event) {
        return Ok(None);
    }
    let message = SignedMessage::from_event(&json::parse(event)?)?
        .ok_or_else(|| Error::new(ErrorCode::MessageMalformed, "the event is not a signed message"))?;
    let value = json::parse(event)?;
    let body = value.get(MESSAGE_MEMBER).unwrap_or(&Value::Null);
    let member = |name: &str| canonical(body.get(name).unwrap_or(&Value::Null));
    let mut files = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| files.push(PackageFile { name: name.to_owned(), bytes });
    add("message.jws", message.jws.as_bytes().to_vec());
    add("message-keys.jwks", member("keys"));
    add("message-provenance.json", member("provenance"));
    add("message-verification.json", member("verification"));
    let exported_at = exported_at
        .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, "a signed message's package needs its export time"))?;
    let export = Value::object([
        ("evidentia_version", Value::from(env!("CARGO_PKG_VERSION"))),
        ("exported_at", Value::from(exported_at.to_string())),
    ]);
    add("message-export.json", canonical(&export));
    if message.jws.bytes().any(|b| b < 0x20)
        || rebuilt_event(
            &message,
            message.jws.as_bytes(),
            &member("keys"),
            &member("provenance"),
            &member("verification"),
        ) != event
    {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "verify.sh cannot check this signed message: its JWS holds control characters, or its event is not canonical",
        ));
    }
    if let Ok(decoded) = decode(&message.jws, message.detached_payload.as_deref())
        && let Some(key) = package_key(&message, &message.keys, &decoded)
    {
        add("message-signing-input.txt", decoded.signing_input.clone());
        add("message-payload.bin", decoded.payload.clone());
        add("message-signature.bin", openssl_signature(decoded.alg, &decoded.signature));
        add("message-key.jwk", canonical(key.jwk()));
        add("message-key.pem", key.to_pem().into_bytes());
    }
    if message.verification.is_valid() && files.len() < MESSAGE_FILE_NAMES.len() {
        return Err(Error::new(
            ErrorCode::MessageMalformed,
            "the message is recorded as valid, but its key is not found",
        ));
    }
    Ok(Some(files))
}

/// The title of check 9.
pub(super) const MESSAGE_CHECK: &str =
    "the partner's signed message is the one event.json records, and its signature is as recorded";

/// Check 9, for a package whose `event.json` is a signed message: the message's
/// files hold exactly what the event holds, the signing input, payload and
/// signature are those of `message.jws`, `message-key.pem` is the key of
/// `message-key.jwk`, a key of the snapshot — the one that verified it, for a valid
/// message — and the signature verifies with it, or, for a message recorded as
/// failed, does not. On success, what it found, for the reader.
pub(super) fn check_message<'f>(file: &impl Fn(&str) -> Option<&'f [u8]>) -> std::result::Result<String, String> {
    let need = |name: &str| file(name).ok_or_else(|| format!("{name} is missing"));
    let event = need("event.json")?;
    let message = json::parse(event)
        .ok()
        .and_then(|value| SignedMessage::from_event(&value).ok().flatten())
        .ok_or("event.json is not a well-formed signed message")?;
    let (jws, keys, provenance, verification) = (
        need("message.jws")?,
        need("message-keys.jwks")?,
        need("message-provenance.json")?,
        need("message-verification.json")?,
    );
    if rebuilt_event(&message, jws, keys, provenance, verification) != event || jws.iter().any(|&b| b < 0x20) {
        return Err("message.jws, message-keys.jwks, message-provenance.json or message-verification.json is not \
                    what event.json records"
            .to_owned());
    }
    let recorded = &message.verification;
    let outcome = match recorded.failure {
        None => "valid".to_owned(),
        Some(code) => format!("invalid ({})", code.name()),
    };
    let Some(jwk) = file("message-key.jwk") else {
        if recorded.is_valid() {
            return Err("message-key.jwk is missing".to_owned());
        }
        return Ok(format!(
            "the partner's signature does NOT verify, as recorded: {outcome}; no key of the snapshot is chosen for it"
        ));
    };
    let decoded = decode(&message.jws, message.detached_payload.as_deref())
        .map_err(|e| format!("message.jws cannot be decoded: {e}"))?;
    if file("message-signing-input.txt") != Some(&decoded.signing_input[..])
        || file("message-payload.bin") != Some(&decoded.payload[..])
        || file("message-signature.bin") != Some(&openssl_signature(decoded.alg, &decoded.signature)[..])
    {
        return Err(
            "message-signing-input.txt, message-payload.bin or message-signature.bin is not message.jws's".to_owned()
        );
    }
    if recorded.alg.as_deref() != Some(decoded.alg.name()) {
        return Err("the JWS's alg is not the one recorded".to_owned());
    }
    let jwk_text = std::str::from_utf8(jwk).map_err(|_| "message-key.jwk is not text")?;
    let in_snapshot = [(b'[', b','), (b',', b','), (b',', b']'), (b'[', b']')].iter().any(|&(open, close)| {
        let mut needle = vec![open];
        needle.extend_from_slice(jwk);
        needle.push(close);
        keys.windows(needle.len()).any(|window| window == needle)
    });
    let key = PartnerKey::from_jwk(jwk_text).map_err(|e| format!("message-key.jwk: {e}"))?;
    if !in_snapshot || !keys.starts_with(b"{\"keys\":[") {
        return Err("message-key.jwk is not a key of the snapshot in message-keys.jwks".to_owned());
    }
    if file("message-key.pem") != Some(key.to_pem().as_bytes()) {
        return Err("message-key.pem is not the key of message-key.jwk, as OpenSSL writes it".to_owned());
    }
    let verifies = key.verify(decoded.alg, &decoded.signing_input, &decoded.signature).is_ok();
    match (recorded.is_valid(), verifies) {
        (true, true) if recorded.key_thumbprint.as_deref() == Some(key.thumbprint()) => Ok(format!(
            "the partner's {} signature verifies with the snapshot key {} ({}), as recorded at {}",
            decoded.alg.name(),
            key.thumbprint(),
            key.key_type(),
            recorded.verified_at
        )),
        (true, true) => Err("message-key.jwk is not the key that verified the message when it was recorded".to_owned()),
        (true, false) => Err(format!("the partner's {} signature does not verify", decoded.alg.name())),
        (false, true) => Err(format!("the message was recorded as {outcome}, but its signature verifies")),
        (false, false) => Ok(format!(
            "the partner's {} signature does NOT verify with the key {}, as recorded: {outcome}",
            decoded.alg.name(),
            key.thumbprint()
        )),
    }
}

/// What VERIFICATION.md says of a signed message, in plain words (SPEC.md §19):
/// check 9, what a valid signature proves and what it does not, the provenance
/// members present, and what Evidentia's receipt adds. Empty for other events, so
/// that the packages of other records are unchanged.
pub(super) fn explanation(event: &[u8], recorded_at: &str, exported_at: Option<Timestamp>) -> String {
    let Some(message) = is_message_event(event)
        .then(|| json::parse(event).ok().and_then(|v| SignedMessage::from_event(&v).ok().flatten()))
        .flatten()
    else {
        return String::new();
    };
    let quoted = |text: &str| format!("`{}`", text.replace('`', "'").replace('\n', " "));
    let v = &message.verification;
    let alg = v.alg.as_deref().unwrap_or("(no alg)");
    let way = match message.direction {
        crate::message::Direction::Inbound => "arrived from the partner",
        crate::message::Direction::Outbound => "was sent to the partner",
    };
    let mut out =
        String::from("\n9. **The partner's signed message is the one recorded, and its signature is as recorded.**\n");
    out.push_str(&format!(
        "   `message.jws` is the message exactly as it {way}, signed with {alg}; `message-payload.bin` is what it\n   \
         says (the signed payload, decoded). The script first shows that `message.jws`, the partner's keys as\n   \
         they were then (`message-keys.jwks`), where they came from (`message-provenance.json`) and the check\n   \
         made when the message was recorded (`message-verification.json`) are exactly what `event.json` holds:\n   \
         the event the record commits to (check 7), so the receipt covers them all. Then it shows that\n   \
         `message-signing-input.txt`, `message-payload.bin` and `message-signature.bin` are the parts of\n   \
         `message.jws`, that `message-key.jwk` is a key of the snapshot and `message-key.pem` is that very key,\n   \
         and OpenSSL checks the partner's signature with it.\n"
    ));
    if let Some(link) = &message.link {
        out.push_str(&format!(
            "10. **The message answers the record its link names.** The message names record {} of this log,\n    \
             by its number and its fingerprint ({}). The package holds that record's evidence, the `request-*`\n    \
             files: its receipt, signed by the same key, its record (whose SHA-256 must be that fingerprint), its\n    \
             event, and its inclusion proof in the same checkpoint. When the request is itself a signed message,\n    \
             check 9 runs on its `request-message*` files too (printed as 10b). Together: this response was\n    \
             recorded as the answer to exactly that request.\n",
            link.seq, link.record
        ));
    }
    out.push_str("\n## What the partner's signature proves, and what it does not\n\n");
    if v.is_valid() {
        out.push_str(&format!(
            "- **A valid signature proves that the holder of this key signed exactly this payload**\n  \
             (`message-payload.bin`): OpenSSL prints `Verified OK` for it. The key is {}.\n",
            quoted(v.key_thumbprint.as_deref().unwrap_or(""))
        ));
    } else {
        out.push_str(&format!(
            "- **This message was recorded as FAILED: its signature did NOT verify** ({}) when it was\n  \
             recorded, and the script shows that it still does not. It proves nothing about who wrote it; the\n  \
             record proves only that this is what was received, and when.\n",
            quoted(v.failure.map_or("", |code| code.name()))
        ));
    }
    out.push_str(
        "- **It does not prove that the key belongs to the partner.** Cryptography shows that a key signed, not\n  \
         whose key it is. That rests on where the key came from and how the partner was onboarded; confirm it\n  \
         with the partner, the scheme or the contract. The provenance recorded with the message says:\n",
    );
    let described = |name: &str| match name {
        "jwks_url" => "where the key set was fetched",
        "fetched_at" => "when it was fetched",
        "tls_certificate_sha256" => "the SHA-256 of the TLS server certificate it was fetched over",
        "key_thumbprint" => "the partner's key (RFC 7638 thumbprint)",
        "partner_id" => "the partner's registration id",
        "established_by" => "how the key was established",
        _ => "",
    };
    let members = message.provenance.as_object().map(<[_]>::to_vec).unwrap_or_default();
    if members.is_empty() {
        out.push_str("  - nothing: the provenance is empty, so nothing in this package ties the key to the partner.\n");
    }
    for (name, value) in members {
        let text = match value.as_str() {
            Some(text) => text.to_owned(),
            None => String::from_utf8(canonical(&value)).unwrap_or_default(),
        };
        match described(&name) {
            "" => out.push_str(&format!("  - {}: {}\n", quoted(&name), quoted(&text))),
            meaning => out.push_str(&format!("  - {meaning} ({}): {}\n", quoted(&name), quoted(&text))),
        }
    }
    out.push_str(&format!(
        "- **Evidentia's own receipt adds when the message was received, and that it has not changed since.**\n  \
         The record was made at {recorded_at} (the log's own statement; check 8, when present, bounds it by an\n  \
         independent time), and the message, its keys, the provenance and the check are inside the event the\n  \
         receipt signs. The log's operator recorded, signed with it, that the signature was first checked\n  \
         at {} by Evidentia {}",
        v.verified_at, v.evidentia_version
    ));
    match exported_at {
        Some(at) => out.push_str(&format!(
            "; this package was made at {at} by\n  Evidentia {} (`message-export.json`).\n",
            env!("CARGO_PKG_VERSION")
        )),
        None => out.push_str(".\n"),
    }
    // The template's own line break and blank line follow.
    out.truncate(out.trim_end().len());
    out
}

/// The link of a signed-message event, when it has one: check 10 applies then.
pub(super) fn link_of(event: &[u8]) -> Option<crate::message::Link> {
    if !is_message_event(event) {
        return None;
    }
    SignedMessage::from_event(&json::parse(event).ok()?).ok().flatten()?.link
}

/// The title of check 10.
pub(super) const REQUEST_CHECK: &str =
    "the record the message answers is the one its link names, signed by the key and in the checkpoint";

/// Check 10, for a package whose message answers an earlier record: the
/// `request-*` files are that record's receipt (its parts as `request-signing-input.txt`,
/// `request-signature.der` and `request-record.json`, the signature valid for the
/// package's key), of the same log and key, at the linked seq and with the linked
/// digest, with its event and its inclusion proof in the package's checkpoint; a
/// request that is itself a signed message passes check 9 on its own files.
pub(super) fn check_request<'f>(file: &impl Fn(&str) -> Option<&'f [u8]>) -> std::result::Result<String, String> {
    use crate::digest::Digest;
    use crate::merkle::InclusionProof;
    use crate::record::{Receipt, Record};
    let need = |name: &str| file(name).ok_or_else(|| format!("{name} is missing"));
    let text = |name: &str| std::str::from_utf8(need(name)?).map_err(|_| format!("{name} is not text"));
    let link = link_of(need("event.json")?).ok_or("event.json's message has no link")?;
    let record = Record::from_bytes(need("record.json")?).map_err(|e| format!("record.json: {e}"))?;
    let key = crate::PublicKey::from_pem(text("public-key.pem")?).map_err(|e| format!("public-key.pem: {e}"))?;
    let names = ["request-receipt.jws", "request-signing-input.txt", "request-signature.der", "request-record.json"];
    super::check_receipt_files(file, names, &key)?;
    let receipt = Receipt::parse(text("request-receipt.jws")?).map_err(|e| format!("request-receipt.jws: {e}"))?;
    let request = receipt.record();
    if request.kid != record.kid || request.log_id != record.log_id {
        return Err("request-record.json is not a record of this log signed with this key".to_owned());
    }
    if request.seq != link.seq || Digest::sha256(receipt.record_bytes()) != link.record || request.seq >= record.seq {
        return Err(format!(
            "the message's link (record {}, {}) does not name request-record.json, an earlier record",
            link.seq, link.record
        ));
    }
    if Digest::sha256(need("request-event.json")?) != request.event {
        return Err("request-event.json is not the event request-record.json commits to".to_owned());
    }
    let not_included =
        || "request-inclusion-proof.json does not lead from request-record.json to the checkpoint's root";
    let written = text("request-inclusion-proof.json")?;
    let proof = InclusionProof::from_json(written).map_err(|_| not_included())?;
    let checkpoint = crate::Checkpoint::from_text(text("checkpoint-body.txt")?).map_err(|_| not_included())?;
    if proof.to_json().ok().as_deref() != Some(written)
        || proof.leaf_index != request.seq
        || proof.tree_size != checkpoint.size
        || proof.verify(&crate::merkle::leaf_hash(receipt.record_bytes()), &checkpoint.root).is_err()
    {
        return Err(not_included().to_owned());
    }
    let mut detail = format!("the message answers record {} of this log ({})", link.seq, link.record);
    if is_message_event(need("request-event.json")?) {
        let prefixed = |name: &str| file(&format!("request-{name}"));
        let found = check_message(&prefixed).map_err(|why| format!("the request's signed message: {why}"))?;
        detail.push_str(&format!("; the request: {found}"));
    }
    Ok(detail)
}

#[cfg(test)]
mod tests {
    use super::super::{PackageFile, PackageInput, PackageRequest, build_package, verify_package};
    use crate::encoding::b64url;
    use crate::error::ErrorCode;
    use crate::json;
    use crate::merkle::{InclusionProof, MemoryTree, inclusion_proof, leaf_hash};
    use crate::message::{Direction, Link, NewMessage, SignedMessage};
    use crate::partner::PartnerKeys;
    use crate::{ChainState, Checkpoint, Digest, KeySet, SigningKey, Timestamp, issue_receipt, sign_checkpoint};
    use ed25519_dalek::Signer;

    /// A partner's Ed25519 JWS over `payload`, and the partner's keys.
    fn partner_jws(payload: &str) -> (String, PartnerKeys) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let jwk = format!(
            r#"{{"keys":[{{"crv":"Ed25519","kid":"p","kty":"OKP","x":"{}"}}]}}"#,
            b64url(key.verifying_key().as_bytes())
        );
        let input = format!("{}.{}", b64url(br#"{"alg":"EdDSA","kid":"p"}"#), b64url(payload.as_bytes()));
        let signature = key.sign(input.as_bytes()).to_bytes();
        (format!("{input}.{}", b64url(&signature)), PartnerKeys::from_json(&jwk).unwrap())
    }

    /// A log of a signed request (record 0) and the partner's signed response
    /// answering it (record 1): the response's package, with the request's evidence.
    fn pair() -> Vec<PackageFile> {
        let key = SigningKey::from_bytes(&[3u8; 32]).unwrap();
        let mut state = ChainState::new("example.com/disputes").unwrap();
        let time = Timestamp::parse("2026-11-22T10:00:00Z").unwrap();
        let provenance = json::parse(br#"{"partner_id":"BANK-042","established_by":"onboarding"}"#).unwrap();
        let message = |payload: &str, direction, link| {
            let (jws, keys) = partner_jws(payload);
            let new = NewMessage {
                jws: &jws,
                detached_payload: None,
                keys: &keys,
                provenance: &provenance,
                direction,
                link,
                record_failure: false,
                at: time,
            };
            SignedMessage::verify_new(&new).unwrap().to_event_bytes()
        };
        let request = message(r#"{"request":"authorize"}"#, Direction::Outbound, None);
        let first = issue_receipt(&key, &mut state, &request, time, None).unwrap();
        let link = Link { seq: 0, record: Digest::sha256(first.receipt.record_bytes()) };
        let response = message(r#"{"response":"approved"}"#, Direction::Inbound, Some(link));
        let second = issue_receipt(&key, &mut state, &response, time, None).unwrap();
        let tree = MemoryTree::from_leaf_hashes(
            [&first, &second].iter().map(|issued| leaf_hash(issued.receipt.record_bytes())),
        );
        let checkpoint =
            Checkpoint { origin: "example.com/disputes".into(), size: 2, root: tree.root(), extensions: vec![] };
        let note = sign_checkpoint(&checkpoint, &key).unwrap();
        let proof =
            |i: u64| InclusionProof { leaf_index: i, tree_size: 2, hashes: inclusion_proof(&tree, i, 2).unwrap() };
        let keys = KeySet::single(key.public_key());
        let (request_proof, response_proof) = (proof(0), proof(1));
        let input = PackageInput {
            receipt: second.receipt.as_str(),
            event: &second.event,
            disclosures: &[],
            keys: &keys,
            proof: Some(&response_proof),
            checkpoint: Some(&note),
            timestamp: None,
            exported_at: Some(time),
            request: Some(PackageRequest {
                receipt: first.receipt.as_str(),
                event: &first.event,
                proof: &request_proof,
            }),
            key_records: &[],
            witnesses: None,
            erasure: None,
        };
        assert_eq!(
            build_package(PackageInput { request: None, ..input }).unwrap_err().code(),
            ErrorCode::InvalidArgument,
            "a linked message is not packaged without the record it answers"
        );
        build_package(input).unwrap()
    }

    #[test]
    fn a_pairs_package_passes_checks_9_and_10_and_every_changed_byte_of_its_message_files_fails() {
        let files = pair();
        let checks = verify_package(&files);
        let numbers: Vec<u8> = checks.iter().map(|c| c.number).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert!(checks.iter().all(|c| c.failure.is_none()), "{checks:?}");
        let mut changes = 0;
        for (i, file) in files.iter().enumerate() {
            let check = match file.name.as_str() {
                "message-export.json" | "request-message-export.json" => None,
                name if name.starts_with("message") => Some(9),
                name if name.starts_with("request-") => Some(10),
                _ => continue,
            };
            for at in 0..file.bytes.len() {
                let mut changed = files.clone();
                changed[i].bytes[at] ^= 0x01;
                let failed: Vec<u8> =
                    verify_package(&changed).iter().filter(|c| c.failure.is_some()).map(|c| c.number).collect();
                assert!(failed.contains(&1), "{} byte {at}: {failed:?}", file.name);
                if let Some(check) = check {
                    assert!(failed.contains(&check), "{} byte {at}: {failed:?}", file.name);
                }
                changes += 1;
            }
        }
        assert!(changes > 3000, "{changes}");
    }
}
