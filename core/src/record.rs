//! Evidence records, the hash chain that links them, and receipts (signed records).

use crate::digest::Digest;
use crate::encoding::b64url;
use crate::error::{Error, ErrorCode, Result};
use crate::json::{MAX_SAFE_INTEGER, Number, Value, parse, write_string};
use crate::jws::{DecodedJws, JwsOptions, decode, sign_with_header, signing_input_with_header};
use crate::keys::PublicKey;
use crate::signer::Signer;
use crate::time::Timestamp;

/// The record format version of a record whose event digest is the digest of the
/// event's canonical JSON; still what [`ChainState::append`] writes.
pub const RECORD_VERSION: u32 = 1;

/// How a record commits to its event (its member `v`, SPEC.md §6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RecordVersion {
    /// Version 1: `event` is SHA-256 of the event's canonical JSON.
    #[default]
    V1,
    /// Version 2: `event` is SHA-256 of the event's salted commitment (SPEC.md
    /// §26), so the event and its salt can be erased while the record stays valid.
    V2,
}

impl RecordVersion {
    /// The number written as the record's `v`.
    pub fn number(self) -> u32 {
        match self {
            RecordVersion::V1 => 1,
            RecordVersion::V2 => 2,
        }
    }

    /// The version numbered `v`, if this library knows it.
    pub fn from_number(v: u64) -> Option<RecordVersion> {
        match v {
            1 => Some(RecordVersion::V1),
            2 => Some(RecordVersion::V2),
            _ => None,
        }
    }

    /// The version a caller asks for by number.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for a number other than 1 and 2.
    pub fn parse(v: u64) -> Result<RecordVersion> {
        RecordVersion::from_number(v)
            .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, format!("a record version is 1 or 2, not {v}")))
    }
}

/// The JWS `typ` of a receipt. Generic JWS signing never sets it, so a signature
/// made for another purpose can never pass as a receipt.
pub const RECEIPT_TYPE: &str = "evidentia-receipt+jws";

/// Longest log id, nonce and kid, in bytes.
const MAX_ID_LEN: usize = 256;

/// One entry of an evidence log: what happened (the event's digest), when, where
/// in the log, and who signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The log this record belongs to.
    pub log_id: String,
    /// Position in the log, from 0.
    pub seq: u64,
    /// Digest of the previous record's canonical bytes; `None` for sequence 0.
    pub prev: Option<Digest>,
    /// Digest of the event's canonical JSON.
    pub event: Digest,
    /// When the event was recorded, as stated by the signer.
    pub time: Timestamp,
    /// An optional caller-supplied nonce (a request id, a challenge), unique within the log.
    pub nonce: Option<String>,
    /// The kid (RFC 7638 thumbprint) of the signing key.
    pub kid: String,
    /// How `event` commits to the event.
    pub version: RecordVersion,
}

fn record_error(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::RecordMalformed, message)
}

/// Checks a log id: 1–256 bytes of printable ASCII without spaces, so that it can
/// serve as the origin line of a checkpoint.
///
/// # Errors
/// [`ErrorCode::LogIdInvalid`].
pub fn validate_log_id(log_id: &str) -> Result<()> {
    if log_id.is_empty() || log_id.len() > MAX_ID_LEN || !log_id.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
        return Err(Error::new(
            ErrorCode::LogIdInvalid,
            "a log id is 1 to 256 printable ASCII characters without spaces",
        ));
    }
    Ok(())
}

/// Checks the id of a new log: a log id (see [`validate_log_id`]) that can also
/// name the key of the log's checkpoints, which a signed note's key name cannot
/// if it holds `+` (SPEC.md §10). Records of an existing log are read with
/// [`validate_log_id`] alone, so receipts issued under such an id still verify.
///
/// # Errors
/// [`ErrorCode::LogIdInvalid`].
pub fn validate_new_log_id(log_id: &str) -> Result<()> {
    validate_log_id(log_id)?;
    if log_id.contains('+') {
        return Err(Error::new(
            ErrorCode::LogIdInvalid,
            "a new log's id may not contain '+': it names the key of the log's checkpoints (SPEC.md §10)",
        ));
    }
    Ok(())
}

fn validate_nonce(nonce: &str) -> Result<()> {
    if nonce.is_empty() || nonce.len() > MAX_ID_LEN {
        return Err(Error::new(ErrorCode::InvalidArgument, "a nonce is 1 to 256 bytes of text"));
    }
    Ok(())
}

impl Record {
    /// The record as a JSON value (see SPEC.md, "Records").
    pub fn to_value(&self) -> Value {
        let mut members = vec![
            ("event", Value::from(self.event.to_string())),
            ("kid", Value::from(self.kid.as_str())),
            ("log_id", Value::from(self.log_id.as_str())),
            ("prev", self.prev.map_or(Value::Null, |d| Value::from(d.to_string()))),
            // Sequence numbers stay below 2^53: checked wherever a record is made.
            ("seq", Value::Number(Number::from_i64(self.seq as i64).unwrap_or(Number::from(0)))),
            ("time", Value::from(self.time.to_string())),
            ("v", Value::from(self.version.number())),
        ];
        if let Some(nonce) = &self.nonce {
            members.push(("nonce", Value::from(nonce.as_str())));
        }
        Value::object(members)
    }

    /// The canonical JSON bytes: what a receipt signs and what the chain hashes.
    ///
    /// Written directly rather than through [`Record::to_value`]: member names in
    /// their fixed canonical order, strings escaped as RFC 8785 prescribes. A test
    /// checks it against the general canonicalization.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.kid.len() + self.log_id.len());
        let digest = |out: &mut Vec<u8>, d: &Digest| {
            out.push(b'"');
            d.write_text(out);
            out.push(b'"');
        };
        out.extend_from_slice(b"{\"event\":");
        digest(&mut out, &self.event);
        out.extend_from_slice(b",\"kid\":");
        write_string(&self.kid, &mut out);
        out.extend_from_slice(b",\"log_id\":");
        write_string(&self.log_id, &mut out);
        if let Some(nonce) = &self.nonce {
            out.extend_from_slice(b",\"nonce\":");
            write_string(nonce, &mut out);
        }
        out.extend_from_slice(b",\"prev\":");
        match &self.prev {
            Some(prev) => digest(&mut out, prev),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"seq\":");
        out.extend_from_slice(self.seq.to_string().as_bytes());
        out.extend_from_slice(b",\"time\":\"");
        self.time.write_text(&mut out);
        out.extend_from_slice(match self.version {
            RecordVersion::V1 => b"\",\"v\":1}",
            RecordVersion::V2 => b"\",\"v\":2}",
        });
        out
    }

    /// The record's digest: SHA-256 of its canonical bytes.
    pub fn digest(&self) -> Digest {
        Digest::sha256(&self.to_bytes())
    }

    /// Reads a record from its canonical bytes.
    ///
    /// The bytes must be exactly what [`Record::to_bytes`] produces: canonical JSON,
    /// no unknown members, times in their shortest form. Any other spelling is
    /// refused, so every record has one byte form and one digest.
    ///
    /// # Errors
    /// [`ErrorCode::RecordMalformed`], or the code of the field that is invalid.
    pub fn from_bytes(bytes: &[u8]) -> Result<Record> {
        // Records written by Evidentia take the fast path; anything else is parsed in
        // full, which also says precisely what is wrong.
        if let Some(record) = Record::from_canonical_layout(bytes) {
            return Ok(record);
        }
        let value = parse(bytes).map_err(|e| record_error(format!("record is not valid JSON: {e}")))?;
        let record = Record::from_value(&value)?;
        if record.to_bytes() != bytes {
            return Err(record_error("record is not in canonical form"));
        }
        Ok(record)
    }

    /// Reads a record laid out exactly as [`Record::to_bytes`] writes it, with no
    /// escapes in its strings; `None` for anything else.
    fn from_canonical_layout(bytes: &[u8]) -> Option<Record> {
        let mut rest = bytes;
        let literal = |text: &[u8], rest: &mut &[u8]| -> Option<()> {
            *rest = rest.strip_prefix(text)?;
            Some(())
        };
        // A string without escapes or control characters, up to its closing quote.
        let string = |rest: &mut &[u8]| -> Option<String> {
            let end = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
            if rest[end] != b'"' {
                return None;
            }
            let text = std::str::from_utf8(&rest[..end]).ok()?.to_owned();
            *rest = &rest[end + 1..];
            Some(text)
        };
        literal(b"{\"event\":\"", &mut rest)?;
        let event = Digest::parse(&string(&mut rest)?).ok()?;
        literal(b",\"kid\":\"", &mut rest)?;
        let kid = string(&mut rest)?;
        literal(b",\"log_id\":\"", &mut rest)?;
        let log_id = string(&mut rest)?;
        let nonce = match literal(b",\"nonce\":\"", &mut rest) {
            Some(()) => Some(string(&mut rest)?),
            None => None,
        };
        literal(b",\"prev\":", &mut rest)?;
        let prev = match literal(b"null", &mut rest) {
            Some(()) => None,
            None => {
                literal(b"\"", &mut rest)?;
                Some(Digest::parse(&string(&mut rest)?).ok()?)
            }
        };
        literal(b",\"seq\":", &mut rest)?;
        let rest_len_before_seq = rest.len();
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let seq: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
        rest = &rest[digits..];
        literal(b",\"time\":\"", &mut rest)?;
        let time_text = string(&mut rest)?;
        let time = Timestamp::parse(&time_text).ok()?;
        literal(b",\"v\":", &mut rest)?;
        let version = match rest.first()? {
            b'1' => RecordVersion::V1,
            b'2' => RecordVersion::V2,
            _ => return None,
        };
        rest = &rest[1..];
        literal(b"}", &mut rest)?;
        if !rest.is_empty()
            || seq > MAX_SAFE_INTEGER as u64
            || validate_log_id(&log_id).is_err()
            || kid.is_empty()
            || kid.len() > MAX_ID_LEN
            || nonce.as_deref().is_some_and(|n| validate_nonce(n).is_err())
        {
            return None;
        }
        // What remains non-canonical: leading zeros in `seq`, trailing zeros in the
        // time's fraction. Strings without escapes or control characters, strict
        // digests and the fixed layout are canonical as they are.
        let seq_text = &bytes[bytes.len() - rest_len_before_seq..][..digits];
        if seq_text.len() > 1 && seq_text[0] == b'0' {
            return None;
        }
        if time_text.contains('.') && time_text.as_bytes()[time_text.len() - 2] == b'0' {
            return None;
        }
        // `prev` is null exactly for the first record: the full parse says why not.
        if (seq == 0) != prev.is_none() {
            return None;
        }
        let record = Record { log_id, seq, prev, event, time, nonce, kid, version };
        debug_assert_eq!(record.to_bytes(), bytes);
        Some(record)
    }

    fn from_value(value: &Value) -> Result<Record> {
        let members = value.as_object().ok_or_else(|| record_error("record is not a JSON object"))?;
        for (name, _) in members {
            if !matches!(name.as_str(), "event" | "kid" | "log_id" | "nonce" | "prev" | "seq" | "time" | "v") {
                return Err(record_error(format!("record has an unknown member {name:?}")));
            }
        }
        let string = |name: &'static str| -> Result<&str> {
            value
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| record_error(format!("record member '{name}' is missing or not a string")))
        };
        let version = match value.get("v").and_then(Value::as_number).and_then(Number::as_safe_u64) {
            Some(v) => RecordVersion::from_number(v)
                .ok_or_else(|| record_error(format!("record version 'v' {v} is not supported: 1 and 2 are")))?,
            None => return Err(record_error("record member 'v' is missing or not an integer")),
        };
        let log_id = string("log_id")?;
        validate_log_id(log_id)?;
        let seq = value
            .get("seq")
            .and_then(Value::as_number)
            .and_then(Number::as_safe_u64)
            .ok_or_else(|| record_error("record member 'seq' is missing or not an integer from 0 to 2^53-1"))?;
        let prev = match value.get("prev") {
            Some(Value::Null) => None,
            Some(Value::String(d)) => Some(Digest::parse(d)?),
            _ => return Err(record_error("record member 'prev' is missing or neither null nor a digest")),
        };
        if (seq == 0) != prev.is_none() {
            return Err(record_error(match seq {
                0 => "the first record (seq 0) has no predecessor: its 'prev' must be null",
                _ => "only the first record (seq 0) has a null 'prev'",
            }));
        }
        let kid = string("kid")?;
        if kid.is_empty() || kid.len() > MAX_ID_LEN {
            return Err(record_error("record member 'kid' is empty or too long"));
        }
        let nonce = match value.get("nonce") {
            None => None,
            Some(Value::String(n)) => {
                validate_nonce(n).map_err(|_| record_error("record member 'nonce' is empty or too long"))?;
                Some(n.clone())
            }
            Some(_) => return Err(record_error("record member 'nonce' is not a string")),
        };
        Ok(Record {
            log_id: log_id.to_owned(),
            seq,
            prev,
            event: Digest::parse(string("event")?)?,
            time: Timestamp::parse(string("time")?)?,
            nonce,
            kid: kid.to_owned(),
            version,
        })
    }
}

/// A receipt: a record signed as a compact JWS. The receipt string is the stored
/// artifact and is never re-serialized.
#[derive(Clone, Debug)]
pub struct Receipt {
    text: String,
    record: Record,
    jws: DecodedJws,
}

impl Receipt {
    /// Signs a record.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] when the record's kid is not the key's; the
    /// signer's errors (see [`checked_signature`](crate::checked_signature)).
    pub fn sign(key: &dyn Signer, record: &Record) -> Result<Receipt> {
        if record.kid != key.public_key().kid() {
            return Err(Error::new(ErrorCode::InvalidArgument, "the record's kid is not the signing key's kid"));
        }
        let text = sign_with_header(key, &record.to_bytes(), JwsOptions::default(), Some(RECEIPT_TYPE))?;
        Receipt::parse(&text)
    }

    /// Reads a receipt and checks its structure (not yet its signature).
    ///
    /// # Errors
    /// `Jws*` codes for a malformed JWS, [`ErrorCode::ReceiptMalformed`] for a JWS
    /// that is not a receipt, [`ErrorCode::RecordMalformed`] (or a field's code) for
    /// a payload that is not a canonical record.
    pub fn parse(text: &str) -> Result<Receipt> {
        let not_receipt = |message: &'static str| Error::new(ErrorCode::ReceiptMalformed, message);
        let jws = decode(text, None)?;
        if jws.typ() != Some(RECEIPT_TYPE) {
            return Err(not_receipt("the JWS is not an Evidentia receipt (its 'typ' is not evidentia-receipt+jws)"));
        }
        if jws.unencoded {
            return Err(not_receipt("a receipt's payload must be base64url-encoded"));
        }
        if jws.payload.is_empty() {
            return Err(not_receipt("a receipt carries its record as payload; this one has none"));
        }
        if jws.kid().is_none() {
            return Err(not_receipt("a receipt's header names the signing key's kid; this one has none"));
        }
        // Exactly {"alg","kid","typ"}, canonical: every receipt has one byte form.
        let header_b64 = text.split('.').next().unwrap_or_default();
        let canonical = crate::json::canonicalize_value(&jws.header).unwrap_or_default();
        if jws.header.as_object().is_none_or(|members| members.len() != 3) || b64url(&canonical) != header_b64 {
            return Err(not_receipt(
                "a receipt's header is exactly the canonical JSON of 'alg', 'kid' and 'typ', with nothing else",
            ));
        }
        let record = Record::from_bytes(&jws.payload)?;
        Ok(Receipt { text: text.to_owned(), record, jws })
    }

    /// The receipt exactly as signed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The signed record.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The record's canonical bytes (the JWS payload).
    pub fn record_bytes(&self) -> &[u8] {
        &self.jws.payload
    }

    /// The kid in the JWS header.
    pub fn header_kid(&self) -> &str {
        self.jws.kid().unwrap_or_default()
    }

    /// The exact bytes the signature covers (JWS signing input).
    pub fn signing_input(&self) -> &[u8] {
        &self.jws.signing_input
    }

    /// The signature, `R || S`.
    pub fn signature(&self) -> &[u8; 64] {
        &self.jws.signature
    }
}

/// The state a log writer keeps to make the next record: the log id, the next
/// sequence number, and the digest and time of the last record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainState {
    log_id: String,
    next_seq: u64,
    last_digest: Option<Digest>,
    last_time: Option<Timestamp>,
}

impl ChainState {
    /// The state of an empty log.
    ///
    /// # Errors
    /// [`ErrorCode::LogIdInvalid`].
    pub fn new(log_id: &str) -> Result<ChainState> {
        validate_log_id(log_id)?;
        Ok(ChainState { log_id: log_id.to_owned(), next_seq: 0, last_digest: None, last_time: None })
    }

    /// The state after `last`, the newest record of a log.
    pub fn after(last: &Record) -> ChainState {
        ChainState {
            log_id: last.log_id.clone(),
            next_seq: last.seq + 1,
            last_digest: Some(last.digest()),
            last_time: Some(last.time),
        }
    }

    /// The log id.
    pub fn log_id(&self) -> &str {
        &self.log_id
    }

    /// The sequence number the next record gets; also the number of records so far.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The time of the last record, if any.
    pub fn last_time(&self) -> Option<Timestamp> {
        self.last_time
    }

    /// The digest of the last record, if any.
    pub fn last_digest(&self) -> Option<Digest> {
        self.last_digest
    }

    /// Makes the next record, without changing the state.
    ///
    /// # Errors
    /// [`ErrorCode::TimeInvalid`] when `time` is before the last record's time,
    /// [`ErrorCode::InvalidArgument`] for an empty or overlong nonce or a full log.
    pub fn next_record(&self, kid: &str, event: Digest, time: Timestamp, nonce: Option<&str>) -> Result<Record> {
        self.next_record_of(RecordVersion::V1, kid, event, time, nonce)
    }

    /// [`ChainState::next_record`] of a given version: for [`RecordVersion::V2`],
    /// `event` is the digest of the event's commitment.
    ///
    /// # Errors
    /// As [`ChainState::next_record`].
    pub fn next_record_of(
        &self,
        version: RecordVersion,
        kid: &str,
        event: Digest,
        time: Timestamp,
        nonce: Option<&str>,
    ) -> Result<Record> {
        if self.last_time.is_some_and(|last| time < last) {
            return Err(Error::new(
                ErrorCode::TimeInvalid,
                "a record's time may not be earlier than the previous record's",
            ));
        }
        if self.next_seq > MAX_SAFE_INTEGER as u64 {
            return Err(Error::new(ErrorCode::InvalidArgument, "the log has reached 2^53 records"));
        }
        if let Some(nonce) = nonce {
            validate_nonce(nonce)?;
        }
        Ok(Record {
            log_id: self.log_id.clone(),
            seq: self.next_seq,
            prev: self.last_digest,
            event,
            time,
            nonce: nonce.map(str::to_owned),
            kid: kid.to_owned(),
            version,
        })
    }

    /// Makes the next record and moves past it: [`ChainState::next_record`] and
    /// [`ChainState::advance`] in one step, serializing the record once. Returns the
    /// record with its canonical bytes and digest.
    ///
    /// # Errors
    /// As [`ChainState::next_record`].
    pub fn append(&mut self, kid: &str, event: Digest, time: Timestamp, nonce: Option<&str>) -> Result<ChainedRecord> {
        self.append_of(RecordVersion::V1, kid, event, time, nonce)
    }

    /// [`ChainState::append`] of a given version (see [`ChainState::next_record_of`]).
    ///
    /// # Errors
    /// As [`ChainState::next_record`].
    pub fn append_of(
        &mut self,
        version: RecordVersion,
        kid: &str,
        event: Digest,
        time: Timestamp,
        nonce: Option<&str>,
    ) -> Result<ChainedRecord> {
        let record = self.next_record_of(version, kid, event, time, nonce)?;
        let bytes = record.to_bytes();
        let digest = Digest::sha256(&bytes);
        self.next_seq = record.seq + 1;
        self.last_digest = Some(digest);
        self.last_time = Some(record.time);
        Ok(ChainedRecord { record, bytes, digest })
    }

    /// Moves past `record`, which must be the record [`ChainState::next_record`] made.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] when `record` does not continue this chain.
    pub fn advance(&mut self, record: &Record) -> Result<()> {
        if record.log_id != self.log_id || record.seq != self.next_seq || record.prev != self.last_digest {
            return Err(Error::new(ErrorCode::InvalidArgument, "the record does not continue this chain"));
        }
        *self = ChainState::after(record);
        Ok(())
    }
}

/// A record just added to a chain, with its canonical bytes and their digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainedRecord {
    /// The record.
    pub record: Record,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 of the bytes: the next record's `prev`.
    pub digest: Digest,
}

/// A receipt just issued, with the canonical event bytes it commits to.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The signed receipt.
    pub receipt: Receipt,
    /// The event's canonical JSON bytes, which a log stores beside the receipt.
    pub event: Vec<u8>,
}

/// The next receipt of a chain, made by Evidentia and signed by a key it never sees
/// (the Android Keystore, the Secure Enclave, an HSM): [`UnsignedReceipt::signing_input`]
/// goes to the platform, and [`UnsignedReceipt::finish`] checks the signature that
/// comes back and assembles the receipt. Platform keys sign with randomized ECDSA,
/// so such receipts verify everywhere but are not byte-reproducible.
#[derive(Clone, Debug)]
pub struct UnsignedReceipt {
    key: PublicKey,
    record: Record,
    signing_input: String,
    event: Vec<u8>,
}

impl UnsignedReceipt {
    /// Makes the next record of `state` for a JSON event, to be signed by the
    /// holder of `key` (the record's kid is the key's), without changing `state`.
    ///
    /// # Errors
    /// JSON and `Message*` codes for the event (see
    /// [`prepare_event`](crate::prepare_event)); as [`ChainState::next_record`].
    pub fn new(
        key: &PublicKey,
        state: &ChainState,
        event_json: &[u8],
        time: Timestamp,
        nonce: Option<&str>,
    ) -> Result<UnsignedReceipt> {
        // The gate every append passes (a log's, or a chain kept by the application).
        let event = crate::message::prepare_event(event_json)?;
        let record = state.next_record(key.kid(), Digest::sha256(&event), time, nonce)?;
        let signing_input = signing_input_with_header(key.kid(), &record.to_bytes(), RECEIPT_TYPE);
        Ok(UnsignedReceipt { key: key.clone(), record, signing_input, event })
    }

    /// The bytes to sign with ECDSA P-256 / SHA-256 (the JWS signing input).
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The record being signed.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The receipt, from the platform's signature (DER or 64-byte `R || S`) once it
    /// verifies with the key; the caller then advances its chain past the record.
    ///
    /// # Errors
    /// [`ErrorCode::SignerFailed`] for a signature that is malformed or does not verify.
    pub fn finish(self, signature: &[u8]) -> Result<Issued> {
        let signature = self.key.normalize_signature(self.signing_input.as_bytes(), signature)?;
        let receipt = Receipt::parse(&format!("{}.{}", self.signing_input, b64url(&signature)))?;
        Ok(Issued { receipt, event: self.event })
    }
}

/// Makes, signs and chains the next record for a JSON event, advancing `state`.
///
/// # Errors
/// `Json*` codes for an event that cannot be canonicalized; `Message*` codes for
/// a signed-message event that does not check out (see
/// [`prepare_event`](crate::prepare_event)); the errors of
/// [`ChainState::next_record`].
pub fn issue_receipt(
    key: &dyn Signer,
    state: &mut ChainState,
    event_json: &[u8],
    time: Timestamp,
    nonce: Option<&str>,
) -> Result<Issued> {
    // The gate every append passes (a log's, or a chain kept by the application).
    let event = crate::message::prepare_event(event_json)?;
    let record = state.next_record(key.public_key().kid(), Digest::sha256(&event), time, nonce)?;
    let receipt = Receipt::sign(key, &record)?;
    state.advance(&record)?;
    Ok(Issued { receipt, event })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;
    use crate::json::canonicalize_value;

    fn record(nonce: Option<&str>, kid: &str, log_id: &str, seq: u64, prev: bool) -> Record {
        Record {
            log_id: log_id.into(),
            seq,
            prev: prev.then(|| Digest::sha256(b"prev")),
            event: Digest::sha256(b"event"),
            time: Timestamp::from_unix(1_800_000_000, 120_000_000).unwrap(),
            nonce: nonce.map(str::to_owned),
            kid: kid.into(),
            version: RecordVersion::V1,
        }
    }

    #[test]
    fn direct_writer_matches_canonicalization_and_fast_path_matches_full_parse() {
        let records = [
            record(None, "kid", "a/b", 0, false),
            record(Some("req-1"), "kid", "a/b", 7, true),
            record(
                Some("quote \" backslash \\ tab \t é 😂 \u{2028}"),
                "k\"i\\d",
                "log\"with\\escapes",
                9_007_199_254_740_991,
                true,
            ),
        ];
        for r in &records {
            let bytes = r.to_bytes();
            assert_eq!(bytes, canonicalize_value(&r.to_value()).unwrap());
            assert_eq!(&Record::from_bytes(&bytes).unwrap(), r);
        }
        // The fast path takes only records without escapes; the others still parse.
        assert!(Record::from_canonical_layout(&records[1].to_bytes()).is_some());
        assert!(Record::from_canonical_layout(&records[2].to_bytes()).is_none());
        // Near misses are refused by both paths.
        let text = String::from_utf8(records[1].to_bytes()).unwrap();
        for bad in [
            text.replace("\"seq\":7", "\"seq\":07"),
            text.replace(".12Z", ".120Z"),
            text.replace("\"v\":1", "\"v\":1 "),
            format!("{text} "),
        ] {
            assert!(Record::from_canonical_layout(bad.as_bytes()).is_none(), "{bad}");
            assert!(Record::from_bytes(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_receipt_signed_outside_is_checked_and_normalized() {
        let key = SigningKey::from_bytes(&[5u8; 32]).unwrap();
        let time = Timestamp::parse("2026-11-22T08:00:00Z").unwrap();
        let event = br#"{"approved": true}"#;
        let state = ChainState::new("example.com/device").unwrap();
        let expected = issue_receipt(&key, &mut state.clone(), event, time, Some("n-1")).unwrap();

        // DER (what platform keystores return) and R || S give the same receipt, and
        // with a deterministic signer the very receipt Evidentia would have made.
        for signature in [|k: &SigningKey, m: &[u8]| k.sign_der(m), |k: &SigningKey, m: &[u8]| k.sign(m).to_vec()] {
            let unsigned = UnsignedReceipt::new(key.public_key(), &state, event, time, Some("n-1")).unwrap();
            assert_eq!(unsigned.record(), expected.receipt.record());
            let signed = signature(&key, unsigned.signing_input());
            let issued = unsigned.finish(&signed).unwrap();
            assert_eq!(issued.receipt.as_str(), expected.receipt.as_str());
            assert_eq!(issued.event, expected.event);
        }

        let unsigned = UnsignedReceipt::new(key.public_key(), &state, event, time, None).unwrap();
        let other = SigningKey::from_bytes(&[6u8; 32]).unwrap();
        let mut flipped = key.sign(unsigned.signing_input());
        flipped[40] ^= 1;
        for bad in [
            other.sign_der(unsigned.signing_input()),
            key.sign_der(b"something else"),
            flipped.to_vec(),
            vec![0x30, 0x02, 0x01],
            Vec::new(),
            vec![0u8; 64],
        ] {
            assert_eq!(unsigned.clone().finish(&bad).unwrap_err().code(), ErrorCode::SignerFailed);
        }
        assert_eq!(
            UnsignedReceipt::new(key.public_key(), &state, b"{", time, None).unwrap_err().code(),
            ErrorCode::JsonSyntax
        );
    }
}
