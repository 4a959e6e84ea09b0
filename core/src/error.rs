//! The one error type of Evidentia and its stable, append-only code table.
//!
//! Every binding (C, Python, Node, WASM, Kotlin/Swift) exposes the numeric code and
//! the name of [`ErrorCode`]. Codes are grouped in families of one hundred; a code,
//! once published, keeps its number and meaning forever and is never reused.

use std::borrow::Cow;
use std::fmt;

/// A family of related error codes: the hundreds digit of the numeric code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorFamily {
    /// 1xx: the caller used the API wrongly (bad argument, buffer too small).
    Usage,
    /// 2xx: JSON text or value that cannot be canonicalized.
    Json,
    /// 3xx: keys and key sets that cannot be read or used.
    Key,
    /// 4xx: a JWS that is not well-formed or uses unsupported features.
    Jws,
    /// 5xx: records, receipts and timestamps that are not well-formed.
    Record,
    /// 6xx: well-formed evidence that failed verification.
    Verification,
    /// 7xx: reading or writing a log on disk.
    Storage,
    /// 8xx: Merkle proofs and checkpoints that are not well-formed.
    Proof,
    /// 9xx: a defect in Evidentia itself.
    Internal,
}

impl ErrorFamily {
    /// Every family, in code order.
    pub const ALL: &'static [ErrorFamily] = &[
        ErrorFamily::Usage,
        ErrorFamily::Json,
        ErrorFamily::Key,
        ErrorFamily::Jws,
        ErrorFamily::Record,
        ErrorFamily::Verification,
        ErrorFamily::Storage,
        ErrorFamily::Proof,
        ErrorFamily::Internal,
    ];

    /// The family's name as bindings spell it (`"Json"`, `"Verification"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ErrorFamily::Usage => "Usage",
            ErrorFamily::Json => "Json",
            ErrorFamily::Key => "Key",
            ErrorFamily::Jws => "Jws",
            ErrorFamily::Record => "Record",
            ErrorFamily::Verification => "Verification",
            ErrorFamily::Storage => "Storage",
            ErrorFamily::Proof => "Proof",
            ErrorFamily::Internal => "Internal",
        }
    }
}

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])+ $variant:ident = $num:literal, $family:ident, $name:literal; )*) => {
        /// Stable error codes. The numbers are part of the public contract of every
        /// binding: they are append-only and never reused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        #[repr(u16)]
        pub enum ErrorCode {
            $( $(#[doc = $doc])+ $variant = $num, )*
        }

        impl ErrorCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code's family.
            pub fn family(self) -> ErrorFamily {
                match self { $(ErrorCode::$variant => ErrorFamily::$family),* }
            }

            /// The code's name in SCREAMING_SNAKE_CASE, e.g. `JSON_DUPLICATE_KEY`.
            pub fn name(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name),* }
            }

            /// One sentence saying what the code means.
            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => concat!($($doc),+).trim_ascii()),* }
            }

            /// The code for a number, if one exists.
            pub fn from_u16(n: u16) -> Option<ErrorCode> {
                match n { $($num => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    /// An argument is missing, empty where it must not be, or out of its allowed range.
    InvalidArgument = 100, Usage, "INVALID_ARGUMENT";
    /// The caller's output buffer is too small; nothing was written.
    BufferTooSmall = 101, Usage, "BUFFER_TOO_SMALL";
    /// An object handle was used after it was closed or freed.
    InvalidHandle = 102, Usage, "INVALID_HANDLE";

    /// The input is not JSON text (RFC 8259 grammar).
    JsonSyntax = 200, Json, "JSON_SYNTAX";
    /// An object has the same member name twice.
    JsonDuplicateKey = 201, Json, "JSON_DUPLICATE_KEY";
    /// A string contains an unpaired UTF-16 surrogate escape.
    JsonLoneSurrogate = 202, Json, "JSON_LONE_SURROGATE";
    /// The input is not valid UTF-8.
    JsonInvalidUtf8 = 203, Json, "JSON_INVALID_UTF8";
    /// A number is outside the range of an IEEE-754 double (it would become infinite or zero).
    JsonNumberOutOfRange = 204, Json, "JSON_NUMBER_OUT_OF_RANGE";
    /// An integer cannot be represented exactly as an IEEE-754 double (it would silently change).
    JsonIntegerPrecision = 205, Json, "JSON_INTEGER_PRECISION";
    /// Arrays and objects are nested deeper than the configured limit.
    JsonTooDeep = 206, Json, "JSON_TOO_DEEP";
    /// The input is larger than the configured limit.
    JsonTooLarge = 207, Json, "JSON_TOO_LARGE";
    /// A number is NaN or infinite, which JSON cannot represent.
    JsonNonFinite = 208, Json, "JSON_NON_FINITE";
    /// A native value has a type that has no JSON equivalent.
    JsonUnsupportedType = 209, Json, "JSON_UNSUPPORTED_TYPE";

    /// A key is not well-formed JWK, PEM or SEC1 data.
    KeyMalformed = 300, Key, "KEY_MALFORMED";
    /// A key is of a type or curve other than EC P-256.
    KeyUnsupported = 301, Key, "KEY_UNSUPPORTED";
    /// Key material is invalid: a point not on the curve, a scalar out of range, or a private part that does not match the public part.
    KeyInvalid = 302, Key, "KEY_INVALID";
    /// A private key is needed but only a public key was given.
    KeyNotPrivate = 303, Key, "KEY_NOT_PRIVATE";
    /// A key set (JWKS) is not well-formed or lists a key twice.
    KeySetMalformed = 304, Key, "KEY_SET_MALFORMED";
    /// A signer outside Evidentia (a platform keystore) failed, or returned a signature that is not a valid ECDSA P-256 / SHA-256 signature by its key over what it was given.
    SignerFailed = 305, Key, "SIGNER_FAILED";
    /// The key given to sign a log's records is not the log's current signing key,
    /// or was not valid when its last record was made.
    KeyNotCurrent = 306, Key, "KEY_NOT_CURRENT";
    /// The key's type or curve does not fit the JWS algorithm (an RSA key for ES256,
    /// a P-256 key for ES384, an Ed25519 key for PS256, ...).
    KeyAlgorithmMismatch = 307, Key, "KEY_ALGORITHM_MISMATCH";
    /// The key is too weak to be trusted: an RSA modulus under 2048 bits.
    KeyTooWeak = 308, Key, "KEY_TOO_WEAK";
    /// A key reference is not a well-formed RFC 7512 `pkcs11:` URI, or names a
    /// PIN source that cannot be read.
    KeyUriInvalid = 309, Key, "KEY_URI_INVALID";
    /// No PKCS#11 token matches the URI: the module cannot be loaded, or the token
    /// is missing or was removed.
    TokenNotFound = 310, Key, "TOKEN_NOT_FOUND";
    /// The token refused the login: a wrong PIN, or a locked PIN.
    TokenLoginFailed = 311, Key, "TOKEN_LOGIN_FAILED";
    /// The token holds no private key object matching the URI (or more than one).
    TokenKeyNotFound = 312, Key, "TOKEN_KEY_NOT_FOUND";
    /// The token failed an operation for another reason (a PKCS#11 `CKR_*` error).
    TokenFailed = 313, Key, "TOKEN_FAILED";

    /// A JWS is not a well-formed compact serialization.
    JwsMalformed = 400, Jws, "JWS_MALFORMED";
    /// A JWS protected header is missing, not a JSON object, or has invalid members.
    JwsHeaderInvalid = 401, Jws, "JWS_HEADER_INVALID";
    /// A JWS uses an algorithm not accepted where it is used: ES256 for Evidentia's own
    /// signatures; ES256, ES384, ES512, RS256, PS256, PS384 or EdDSA for a partner's
    /// signed message; never `none`.
    JwsUnsupportedAlgorithm = 402, Jws, "JWS_UNSUPPORTED_ALGORITHM";
    /// A JWS lists a critical header parameter that is not understood.
    JwsUnsupportedCritical = 403, Jws, "JWS_UNSUPPORTED_CRITICAL";
    /// A JWS signature does not have its algorithm's length: 64 bytes (R || S) for
    /// ES256, twice the field size for ES384 and ES512, 64 for EdDSA, the modulus
    /// length for RSA.
    JwsSignatureFormat = 404, Jws, "JWS_SIGNATURE_FORMAT";
    /// A detached JWS was given without its payload, or an attached one with a second payload.
    JwsPayloadMismatch = 405, Jws, "JWS_PAYLOAD_MISMATCH";

    /// A record is not a canonical JSON object with the fields SPEC.md requires.
    RecordMalformed = 500, Record, "RECORD_MALFORMED";
    /// A time is not an RFC 3339 UTC timestamp (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`).
    TimeInvalid = 501, Record, "TIME_INVALID";
    /// A JWS is not an Evidentia receipt (wrong `typ`, or a detached or unencoded payload).
    ReceiptMalformed = 502, Record, "RECEIPT_MALFORMED";
    /// A digest is not in the notation `sha256:<64 lowercase hex digits>`.
    DigestMalformed = 503, Record, "DIGEST_MALFORMED";
    /// A log identifier is empty, too long, or contains characters other than printable ASCII.
    LogIdInvalid = 504, Record, "LOG_ID_INVALID";
    /// A record time given by the caller was refused: earlier than the previous
    /// record's, before the signing key became valid, or too far ahead of the clock.
    TimeRefused = 505, Record, "TIME_REFUSED";
    /// A signed-message event (a partner's JWS with its key snapshot, provenance and
    /// verification result) does not have the form SPEC.md requires.
    MessageMalformed = 506, Record, "MESSAGE_MALFORMED";
    /// A key record (a log's signed statement of a key rotation or revocation)
    /// does not have the form SPEC.md requires.
    KeyRecordMalformed = 507, Record, "KEY_RECORD_MALFORMED";
    /// A signed verification report is not an ES256 JWS of type
    /// `evidentia-report+jws` over a canonical report with the members SPEC.md
    /// requires.
    ReportMalformed = 508, Record, "REPORT_MALFORMED";
    /// A salted commitment to an event, or one of its disclosures, does not have
    /// the form SPEC.md §26 requires.
    CommitmentMalformed = 509, Record, "COMMITMENT_MALFORMED";
    /// An erasure record (a log's signed statement that it erased an earlier
    /// record's event) does not have the form SPEC.md §27 requires.
    ErasureRecordMalformed = 510, Record, "ERASURE_RECORD_MALFORMED";

    /// The signature does not verify with the selected key.
    SignatureInvalid = 600, Verification, "SIGNATURE_INVALID";
    /// No usable ES256 key with the JWS's key id is in the key set.
    KeyNotFound = 601, Verification, "KEY_NOT_FOUND";
    /// The JWS has no key id and the key set holds more than one usable key.
    KeyAmbiguous = 602, Verification, "KEY_AMBIGUOUS";
    /// The record's time is before the key's not-before time.
    KeyNotYetValid = 603, Verification, "KEY_NOT_YET_VALID";
    /// The record's time is at or after the key's expiry time.
    KeyExpired = 604, Verification, "KEY_EXPIRED";
    /// The record's time is at or after the key's revocation time.
    KeyRevoked = 605, Verification, "KEY_REVOKED";
    /// The event's canonical digest differs from the digest in the record.
    EventMismatch = 606, Verification, "EVENT_MISMATCH";
    /// The key id in the JWS header differs from the key id in the record.
    KidMismatch = 607, Verification, "KID_MISMATCH";
    /// A record belongs to a different log.
    LogIdMismatch = 608, Verification, "LOG_ID_MISMATCH";
    /// Sequence numbers skip: records are missing.
    SequenceGap = 609, Verification, "SEQUENCE_GAP";
    /// A sequence number appears twice.
    SequenceDuplicate = 610, Verification, "SEQUENCE_DUPLICATE";
    /// Records are out of order.
    SequenceReordered = 611, Verification, "SEQUENCE_REORDERED";
    /// A record's previous-record digest does not match the record before it.
    ChainBroken = 612, Verification, "CHAIN_BROKEN";
    /// A record's time is earlier than the time of the record before it.
    TimeBackwards = 613, Verification, "TIME_BACKWARDS";
    /// A nonce is used by more than one record of the log.
    NonceReplayed = 614, Verification, "NONCE_REPLAYED";
    /// A record's event is not stored with the log.
    EventMissing = 615, Verification, "EVENT_MISSING";
    /// A stored record cannot be read as a receipt and event.
    RecordUnreadable = 616, Verification, "RECORD_UNREADABLE";
    /// The inclusion proof does not lead from the record to the checkpoint's root hash.
    InclusionProofInvalid = 617, Verification, "INCLUSION_PROOF_INVALID";
    /// The consistency proof does not show that the older tree is a prefix of the newer one.
    ConsistencyProofInvalid = 618, Verification, "CONSISTENCY_PROOF_INVALID";
    /// The checkpoint has no valid signature from a trusted key, or a trusted key's signature on it is invalid.
    CheckpointSignatureInvalid = 619, Verification, "CHECKPOINT_SIGNATURE_INVALID";
    /// A checkpoint's origin, size or root hash does not match the log's records.
    CheckpointMismatch = 620, Verification, "CHECKPOINT_MISMATCH";
    /// A stored tree hash does not match the hash computed from the log's records.
    TreeMismatch = 621, Verification, "TREE_MISMATCH";
    /// A batch-mode record is not covered by any signed checkpoint.
    RecordUnsigned = 622, Verification, "RECORD_UNSIGNED";
    /// The time-stamp authority did not grant the request: the response carries no token.
    TimestampNotGranted = 623, Verification, "TIMESTAMP_NOT_GRANTED";
    /// The time-stamp token is for other data, or does not answer the request (imprint or nonce differs).
    TimestampMismatch = 624, Verification, "TIMESTAMP_MISMATCH";
    /// The time-stamp token's signature, or the digest of its signed content, does not verify.
    TimestampSignatureInvalid = 625, Verification, "TIMESTAMP_SIGNATURE_INVALID";
    /// The time-stamp token's certificate is not a trusted time-stamping certificate at the token's time.
    TimestampUntrusted = 626, Verification, "TIMESTAMP_UNTRUSTED";
    /// Verifying a signed message again against its stored key snapshot gives a
    /// different result from the one recorded with it.
    MessageVerificationMismatch = 627, Verification, "MESSAGE_VERIFICATION_MISMATCH";
    /// A signed message's link names a record that does not exist in the log or has
    /// a different digest.
    LinkMismatch = 628, Verification, "LINK_MISMATCH";
    /// A cosignature by a witness the policy names does not verify.
    CosignatureInvalid = 629, Verification, "COSIGNATURE_INVALID";
    /// A checkpoint lacks the cosignatures its policy's quorum requires.
    PolicyNotSatisfied = 630, Verification, "POLICY_NOT_SATISFIED";
    /// The key history the log signed in its key records is not the key set used
    /// to verify it (an edited `keys.jwks`), or a key record does not follow from
    /// the one before it or is signed by a key that may not make it.
    KeyHistoryMismatch = 631, Verification, "KEY_HISTORY_MISMATCH";
    /// A disclosed member of an event is not one the record's commitment lists, or
    /// is disclosed twice.
    DisclosureMismatch = 632, Verification, "DISCLOSURE_MISMATCH";
    /// An erasure record names a record that is not an earlier version-2 record of
    /// the log, or one already erased; or an event was erased with no erasure
    /// record naming it.
    ErasureMismatch = 633, Verification, "ERASURE_MISMATCH";

    /// A file or directory could not be read or written.
    Io = 700, Storage, "IO";
    /// A log already exists where a new one was to be created.
    LogExists = 701, Storage, "LOG_EXISTS";
    /// No log exists at the given location.
    LogNotFound = 702, Storage, "LOG_NOT_FOUND";
    /// Another process holds the log open for writing.
    LogLocked = 703, Storage, "LOG_LOCKED";
    /// A log's files are damaged beyond what recovery may repair.
    LogCorrupt = 704, Storage, "LOG_CORRUPT";
    /// A log's configuration file is missing fields or has unsupported values.
    LogConfigInvalid = 705, Storage, "LOG_CONFIG_INVALID";
    /// An event, or a batch of events, is too large to be stored as one entry of a log.
    EntryTooLarge = 706, Storage, "ENTRY_TOO_LARGE";
    /// The nonce is already used by a record of the log (a nonce is unique in a log).
    NonceInUse = 707, Storage, "NONCE_IN_USE";
    /// The records are stored, but the checkpoint that seals them could not be
    /// written: they must not be appended again; the next append or checkpoint seals them.
    RecordsUnsealed = 708, Storage, "RECORDS_UNSEALED";
    /// A lookup by a field the log does not index.
    FieldNotIndexed = 709, Storage, "FIELD_NOT_INDEXED";
    /// A witness could not be reached, or answered without cosigning (c2sp.org/tlog-witness).
    WitnessFailed = 710, Storage, "WITNESS_FAILED";
    /// The record's event was erased: it cannot be read, exported or erased again.
    RecordErased = 711, Storage, "RECORD_ERASED";
    /// The record's event cannot be erased: the record is of version 1 (its event
    /// digest is unsalted), a key or erasure record, or under a legal hold.
    ErasureRefused = 712, Storage, "ERASURE_REFUSED";

    /// A Merkle proof is not well-formed: a hash is not 32 bytes, or an index or size is out of range.
    ProofMalformed = 800, Proof, "PROOF_MALFORMED";
    /// A checkpoint or signed note is not well-formed.
    CheckpointMalformed = 801, Proof, "CHECKPOINT_MALFORMED";
    /// A batch receipt is not well-formed.
    BatchReceiptMalformed = 802, Proof, "BATCH_RECEIPT_MALFORMED";
    /// A time-stamp request, response or certificate is not well-formed DER.
    TimestampMalformed = 803, Proof, "TIMESTAMP_MALFORMED";
    /// A time-stamp token uses an algorithm Evidentia does not support.
    TimestampUnsupported = 804, Proof, "TIMESTAMP_UNSUPPORTED";
    /// A C2SP tlog-policy file is not well-formed: an unknown line, an unknown or
    /// repeated name, a bad key, or a quorum that cannot be met.
    PolicyMalformed = 805, Proof, "POLICY_MALFORMED";

    /// An internal error: a defect in Evidentia. Please report it.
    Internal = 900, Internal, "INTERNAL";
}

impl ErrorCode {
    /// What the code means for someone who is not an engineer — an auditor, a
    /// counterparty, a judge's expert — in one or two plain sentences.
    pub fn explanation(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => {
                "Something given to the program is missing or out of range; this is a problem with how the check was run, not with the evidence."
            }
            ErrorCode::BufferTooSmall => {
                "The program's output space was too small; this is a programming problem, not a problem with the evidence."
            }
            ErrorCode::InvalidHandle => {
                "The program used something it had already closed; this is a programming problem, not a problem with the evidence."
            }
            ErrorCode::JsonSyntax => {
                "This is not readable JSON: it may be cut off, or it is not the kind of file expected here."
            }
            ErrorCode::JsonDuplicateKey => {
                "The same field appears twice, so it is ambiguous which value was meant. Such data is refused rather than guessed."
            }
            ErrorCode::JsonLoneSurrogate => "The text contains a broken character that cannot be stored reliably.",
            ErrorCode::JsonInvalidUtf8 => "The text is not in the UTF-8 encoding, so it cannot be read reliably.",
            ErrorCode::JsonNumberOutOfRange => "A number is too large or too small to be represented exactly.",
            ErrorCode::JsonIntegerPrecision => {
                "A whole number is too large to be kept exactly; it would silently change, so it is refused."
            }
            ErrorCode::JsonTooDeep => "The data is nested too deeply to be processed safely.",
            ErrorCode::JsonTooLarge => "The data is larger than the configured limit.",
            ErrorCode::JsonNonFinite => {
                "A number is not a real number (infinity or not-a-number), which JSON cannot represent."
            }
            ErrorCode::JsonUnsupportedType => {
                "A value has no JSON equivalent (such as a date object or an undefined value), so it cannot be signed reliably."
            }
            ErrorCode::KeyMalformed => "The key is not in a format that can be read (JWK or PEM expected).",
            ErrorCode::KeyUnsupported => {
                "The key is of a kind this program does not use; it expects P-256 (ES256) keys."
            }
            ErrorCode::KeyInvalid => "The key is damaged or inconsistent, so it cannot be used.",
            ErrorCode::KeyNotPrivate => "Signing needs the private key, but only the public key was given.",
            ErrorCode::KeyNotCurrent => "The key given is not the one this log signs with now.",
            ErrorCode::KeyAlgorithmMismatch => {
                "The key is of a different kind from the one the signature's algorithm needs, so it cannot have made this signature."
            }
            ErrorCode::KeyTooWeak => "The key is too short to be trusted today (RSA keys need at least 2048 bits).",
            ErrorCode::KeyUriInvalid => {
                "The reference to a key in a hardware token (a pkcs11: URI) is not written correctly, or its PIN file cannot be read."
            }
            ErrorCode::TokenNotFound => {
                "The hardware token holding the key cannot be reached: its software is missing, or the token is not connected."
            }
            ErrorCode::TokenLoginFailed => "The hardware token refused the PIN, so the key cannot be used.",
            ErrorCode::TokenKeyNotFound => "The hardware token has no key by the name given, or more than one.",
            ErrorCode::TokenFailed => "The hardware token could not complete the operation.",
            ErrorCode::KeySetMalformed => "The list of trusted keys (JWKS) cannot be read, or lists a key twice.",
            ErrorCode::SignerFailed => {
                "The device or service holding the signing key could not sign, or its signature did not check out, so no receipt was made."
            }
            ErrorCode::JwsMalformed => {
                "This is not a signed token in the expected format: it may be incomplete or damaged."
            }
            ErrorCode::JwsHeaderInvalid => "The signed token's header is damaged or incomplete.",
            ErrorCode::JwsUnsupportedAlgorithm => {
                "The token uses a signature method this program does not accept; only ES256 is accepted."
            }
            ErrorCode::JwsUnsupportedCritical => {
                "The token requires a feature this program does not understand, so it cannot be checked safely."
            }
            ErrorCode::JwsSignatureFormat => {
                "The signature has the wrong length for its algorithm, so it is damaged or not a signature of that kind."
            }
            ErrorCode::JwsPayloadMismatch => "The signed content was not supplied, or was supplied twice.",
            ErrorCode::RecordMalformed => {
                "The signed record does not have the expected contents, so it is damaged or not an Evidentia record."
            }
            ErrorCode::TimeInvalid => "A date and time is not written in the expected form.",
            ErrorCode::ReceiptMalformed => {
                "This is not an Evidentia receipt: it may be another kind of signed token, or damaged."
            }
            ErrorCode::DigestMalformed => "A fingerprint (digest) is not written in the expected form.",
            ErrorCode::LogIdInvalid => "The log's name contains characters that are not allowed.",
            ErrorCode::TimeRefused => {
                "The date and time given for the entry cannot be used: it is before the previous entry, before the signing key was valid, or in the future."
            }
            ErrorCode::MessageMalformed => {
                "The record of a partner's signed message is damaged or incomplete, so what the partner signed cannot be shown."
            }
            ErrorCode::KeyRecordMalformed => {
                "The log's record of a change to its signing keys is damaged or incomplete, so the key history cannot be shown."
            }
            ErrorCode::ReportMalformed => {
                "The signed verification report is damaged or not a report, so what it says cannot be shown."
            }
            ErrorCode::CommitmentMalformed => {
                "The sealed fingerprint of an entry, or a field shown from it, is damaged or incomplete, so what the entry holds cannot be shown."
            }
            ErrorCode::ErasureRecordMalformed => {
                "The log's statement that it deleted an entry's personal data is damaged or incomplete."
            }
            ErrorCode::SignatureInvalid => {
                "The signature does not match: the content was changed after it was signed, or it was signed with a different key."
            }
            ErrorCode::KeyNotFound => {
                "None of the trusted keys made this signature: it was signed by someone else, or the right key was not provided."
            }
            ErrorCode::KeyAmbiguous => {
                "The token does not say which key signed it and several keys are trusted, so it cannot be checked unambiguously."
            }
            ErrorCode::KeyNotYetValid => {
                "The record is dated before the signing key came into use, so the key was not valid at that time."
            }
            ErrorCode::KeyExpired => {
                "The record is dated after the signing key was retired, so the key was no longer valid at that time."
            }
            ErrorCode::KeyRevoked => {
                "The record is dated after the signing key was revoked (for example because it was compromised), so it cannot be trusted."
            }
            ErrorCode::EventMismatch => {
                "The event supplied is not the one that was signed: it was changed, or it is a different event."
            }
            ErrorCode::KidMismatch => {
                "The record names a different signing key than the signature, so the two do not belong together."
            }
            ErrorCode::LogIdMismatch => "A record belongs to a different log than the others.",
            ErrorCode::SequenceGap => "Records are missing from the log: the numbering skips.",
            ErrorCode::SequenceDuplicate => "A record appears twice in the log.",
            ErrorCode::SequenceReordered => "Records of the log are out of order.",
            ErrorCode::ChainBroken => {
                "A record does not follow from the one before it: a record was removed, inserted or altered."
            }
            ErrorCode::TimeBackwards => "A record is dated earlier than the record before it.",
            ErrorCode::NonceReplayed => {
                "The same request number is used by two records, which suggests a record was replayed."
            }
            ErrorCode::EventMissing => {
                "The original event of a record is not stored, so it cannot be compared with what was signed."
            }
            ErrorCode::RecordUnreadable => "A stored record cannot be read; the log's files may be damaged.",
            ErrorCode::InclusionProofInvalid => {
                "The proof does not show that this record is in the published log: it belongs to another log, or was changed."
            }
            ErrorCode::ConsistencyProofInvalid => {
                "The proof does not show that the later log still contains everything the earlier one did."
            }
            ErrorCode::CheckpointSignatureInvalid => {
                "The published summary of the log (checkpoint) is not signed by a trusted key, or its signature does not match."
            }
            ErrorCode::CheckpointMismatch => {
                "The published summary of the log (checkpoint) does not match the records it covers."
            }
            ErrorCode::TreeMismatch => "The log's internal index does not match its records; the files may be damaged.",
            ErrorCode::RecordUnsigned => {
                "A record is not covered by any signed summary of the log, so nothing vouches for it."
            }
            ErrorCode::TimestampNotGranted => {
                "The independent time-stamping service refused or did not complete the request, so there is no trusted time."
            }
            ErrorCode::TimestampMismatch => {
                "The trusted timestamp is for something else: it does not vouch for the time of this evidence."
            }
            ErrorCode::TimestampSignatureInvalid => {
                "The trusted timestamp was changed after the time-stamping service signed it, or was not signed by it."
            }
            ErrorCode::TimestampUntrusted => {
                "The timestamp was not made by a trusted time-stamping service holding a valid certificate at that time."
            }
            ErrorCode::MessageVerificationMismatch => {
                "Checking the partner's signature again with the key kept on record gives a different answer from the one recorded: the record or the key snapshot was changed."
            }
            ErrorCode::CosignatureInvalid => {
                "A witness's countersignature on the log's checkpoint does not check out, so it cannot be counted."
            }
            ErrorCode::PolicyNotSatisfied => {
                "Not enough independent witnesses vouched for the log's checkpoint to meet the policy."
            }
            ErrorCode::KeyHistoryMismatch => {
                "The list of the log's keys differs from the key history the log itself signed: the key list was edited, or a key change was not made by a key allowed to make it."
            }
            ErrorCode::DisclosureMismatch => {
                "A field shown from an entry is not one the signed entry holds: it was changed, taken from another entry, or shown twice."
            }
            ErrorCode::ErasureMismatch => {
                "An entry's data was deleted without the signed statement that records a deletion, or such a statement names an entry that cannot be deleted or was already deleted."
            }
            ErrorCode::LinkMismatch => {
                "The message is said to answer another entry of the log, but that entry is missing or different."
            }
            ErrorCode::Io => "A file or folder could not be read or written.",
            ErrorCode::LogExists => "A log already exists in that place.",
            ErrorCode::LogNotFound => "There is no log in that place.",
            ErrorCode::LogLocked => "Another program is writing to this log right now.",
            ErrorCode::LogCorrupt => "The log's files are damaged beyond safe repair.",
            ErrorCode::LogConfigInvalid => "The log's settings file is incomplete or invalid.",
            ErrorCode::EntryTooLarge => "The data is too large to be stored as one entry of the log.",
            ErrorCode::NonceInUse => {
                "This request identifier was already used for another entry of the log, so it was not recorded again."
            }
            ErrorCode::RecordsUnsealed => {
                "The entries were stored, but not yet sealed with the log's signature; they will be sealed next time, and must not be sent again."
            }
            ErrorCode::FieldNotIndexed => {
                "The log is not set up to search by that field; it can only be searched by the fields it was told to index."
            }
            ErrorCode::WitnessFailed => {
                "An independent witness could not be reached, or did not vouch for the log's latest state; the message says what it answered. The log itself is unchanged."
            }
            ErrorCode::RecordErased => {
                "The entry's personal data was deleted on request, as the log's signed erasure statement records; the entry itself stays proven."
            }
            ErrorCode::ErasureRefused => {
                "The entry's data may not be deleted: it is kept under a legal hold, records the log's own keys or deletions, or was written in a format that cannot be deleted without breaking its proof."
            }
            ErrorCode::ProofMalformed => "The proof is damaged or not in the expected format.",
            ErrorCode::CheckpointMalformed => {
                "The published summary of the log (checkpoint) is damaged or not in the expected format."
            }
            ErrorCode::BatchReceiptMalformed => "The batch receipt is damaged or not in the expected format.",
            ErrorCode::TimestampMalformed => {
                "The trusted timestamp, or a certificate that comes with it, is damaged or not in the standard format."
            }
            ErrorCode::PolicyMalformed => {
                "The witness policy cannot be read: a line, name, key or quorum in it is not written correctly."
            }
            ErrorCode::TimestampUnsupported => {
                "The trusted timestamp was made with a method this program cannot check; it is neither confirmed nor disproved."
            }
            ErrorCode::Internal => {
                "Something went wrong inside Evidentia itself; this is a defect to report, not a finding about the evidence."
            }
        }
    }
}

/// An error: a stable [`ErrorCode`] and a message for people.
///
/// Messages never contain key material or payload bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: Cow<'static, str>,
}

impl Error {
    /// Makes an error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Error {
        Error { code, message: message.into() }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether this error means "verified, and the evidence is invalid" rather than
    /// "could not verify".
    pub fn is_verification_failure(&self) -> bool {
        self.code.family() == ErrorFamily::Verification
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({} {}: {})", self.code as u16, self.code.name(), self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Result with Evidentia's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_plain_explanation_without_jargon() {
        for code in ErrorCode::ALL {
            let text = code.explanation();
            assert!(text.len() > 20 && text.ends_with('.'), "{code:?}: {text}");
            assert!(!text.contains(code.name()) && !text.contains('_'), "{code:?}: {text}");
        }
    }

    #[test]
    fn codes_are_unique_sorted_and_in_their_family_range() {
        let mut last = 0u16;
        for &code in ErrorCode::ALL {
            let n = code as u16;
            assert!(n > last, "{} is not above {last}", code.name());
            last = n;
            let family_index = ErrorFamily::ALL.iter().position(|f| *f == code.family()).unwrap();
            assert_eq!(usize::from(n / 100), family_index + 1, "{} is outside its family range", code.name());
            assert_eq!(ErrorCode::from_u16(n), Some(code));
        }
    }

    #[test]
    fn names_and_descriptions() {
        assert_eq!(ErrorCode::JsonDuplicateKey.name(), "JSON_DUPLICATE_KEY");
        assert_eq!(ErrorCode::Io.name(), "IO");
        assert_eq!(ErrorCode::Internal.name(), "INTERNAL");
        assert_eq!(ErrorCode::SignatureInvalid.description(), "The signature does not verify with the selected key.");
        for &code in ErrorCode::ALL {
            assert!(code.description().ends_with('.'), "{}", code.name());
        }
        assert_eq!(ErrorCode::from_u16(1), None);
    }
}
