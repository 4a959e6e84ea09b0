//! RFC 3161 trusted timestamps (SPEC.md §20): requests for an independent
//! time-stamping authority (TSA), and verification of its responses — status, message
//! imprint, nonce, the CMS signature over the signed attributes, the ESS
//! signing-certificate binding, the TSA certificate's critical timeStamping extended
//! key usage, and its chain to a trusted root, every certificate valid at the token's
//! own time (genTime), not today. Sans-I/O: no network, no clock.

mod cert;
mod der;

pub use cert::{HashAlgorithm, certificate_to_pem, read_certificates};

use cert::{Certificate, algorithm_oid, name_text, verify_signature};
use der::{Reader, Tlv, malformed, oids};

use crate::encoding::hex;
use crate::error::{Error, ErrorCode, Result};
use crate::time::Timestamp;

/// A TimeStampReq (RFC 3161 §2.4.1): version 1, the message imprint, a nonce, and
/// `certReq` set so the TSA embeds its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampRequest {
    der: Vec<u8>,
    hash: HashAlgorithm,
    imprint: Vec<u8>,
    nonce: Option<Vec<u8>>,
}

impl TimestampRequest {
    /// A request for the time of `data`, hashed with `hash`. The nonce (random bytes
    /// from the caller: the core has no random source of its own) lets the answer be
    /// matched to this request.
    pub fn new(data: &[u8], hash: HashAlgorithm, nonce: [u8; 8]) -> TimestampRequest {
        let mut body = der::encode_unsigned(&[1]);
        body.extend(message_imprint(hash, &hash.digest(data)));
        body.extend(der::encode_unsigned(&nonce));
        body.extend(der::encode(der::BOOLEAN, &[0xff]));
        let encoded = der::encode(der::SEQUENCE, &body);
        match TimestampRequest::parse(&encoded) {
            Ok(request) => request,
            // The encoding above is fixed; parsing it cannot fail.
            Err(_) => unreachable!("a request Evidentia encodes parses"),
        }
    }

    /// A request for the time of `data`, hashed with `hash` (`sha256`, `sha384` or
    /// `sha512`), with a nonce from the system's random source: what every binding
    /// calls.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] for another hash name;
    /// [`ErrorCode::Internal`] if the random source fails.
    #[cfg(feature = "getrandom")]
    pub fn generate(data: &[u8], hash: &str) -> Result<TimestampRequest> {
        let hash = HashAlgorithm::from_name(hash).ok_or_else(|| {
            Error::new(ErrorCode::InvalidArgument, format!("the hash {hash:?} is not sha256, sha384 or sha512"))
        })?;
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|_| Error::new(ErrorCode::Internal, "the system random source failed"))?;
        // 62 random bits with the top two fixed at 01: the DER INTEGER is always eight
        // bytes, so every request for the same data and hash has the same length (a
        // caller that asks for the size first gets a buffer that fits the next one).
        nonce[0] = (nonce[0] & 0x3f) | 0x40;
        Ok(TimestampRequest::new(data, hash, nonce))
    }

    /// Reads a DER TimeStampReq (a `.tsq` file).
    ///
    /// # Errors
    /// [`ErrorCode::TimestampMalformed`] for anything that is not a version 1
    /// TimeStampReq; [`ErrorCode::TimestampUnsupported`] for an imprint algorithm
    /// other than SHA-256/384/512.
    pub fn parse(der_bytes: &[u8]) -> Result<TimestampRequest> {
        const WHAT: &str = "time-stamp request";
        let request = Reader::single(der_bytes, der::SEQUENCE, WHAT)?;
        let mut fields = request.reader(WHAT);
        if fields.expect(der::INTEGER)?.small_unsigned(WHAT)? != 1 {
            return Err(malformed(WHAT, "the version is not 1"));
        }
        let (hash, imprint) = read_message_imprint(&fields.expect(der::SEQUENCE)?)?;
        fields.optional(der::OID)?;
        let nonce = fields.optional(der::INTEGER)?.map(|n| n.unsigned(WHAT).map(<[u8]>::to_vec)).transpose()?;
        if let Some(flag) = fields.optional(der::BOOLEAN)? {
            flag.boolean(WHAT)?;
        }
        fields.optional(der::explicit(0))?;
        fields.finish()?;
        Ok(TimestampRequest { der: der_bytes.to_vec(), hash, imprint, nonce })
    }

    /// The DER encoding (the contents of a `.tsq` file).
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The imprint's hash algorithm.
    pub fn hash(&self) -> HashAlgorithm {
        self.hash
    }

    /// The digest of the data to be timestamped.
    pub fn imprint(&self) -> &[u8] {
        &self.imprint
    }

    /// The nonce's magnitude (big-endian, no leading zeros), if the request has one.
    pub fn nonce(&self) -> Option<&[u8]> {
        self.nonce.as_deref()
    }
}

/// What a time-stamp token is checked against: the trusted root certificates, other
/// certificates that may complete the chain (for tokens that do not embed the TSA's
/// certificate), and optionally the one TSA certificate that is expected (pinning).
#[derive(Clone, Debug, Default)]
pub struct TimestampTrust {
    /// Trusted root certificates (DER). A token verifies only through one of them.
    pub roots: Vec<Vec<u8>>,
    /// Untrusted certificates (DER) that may complete the chain.
    pub intermediates: Vec<Vec<u8>>,
    /// The expected TSA certificate (DER). When set, the token must be signed with
    /// exactly this certificate and embed no certificate outside its chain.
    pub tsa_certificate: Option<Vec<u8>>,
}

impl TimestampTrust {
    /// Whom to trust, from the contents of certificate files (each PEM with one or
    /// more certificates, or one DER certificate): the trusted roots, other
    /// certificates that may complete the chain, and the one TSA certificate to
    /// accept, if pinned.
    ///
    /// # Errors
    /// [`ErrorCode::TimestampMalformed`] for a file that holds no certificate or a
    /// damaged one; [`ErrorCode::InvalidArgument`] for a pinned TSA file of more than
    /// one certificate.
    pub fn from_certificate_files(
        roots: &[u8],
        intermediates: Option<&[u8]>,
        tsa_certificate: Option<&[u8]>,
    ) -> Result<TimestampTrust> {
        let tsa_certificate = match tsa_certificate.map(read_certificates).transpose()? {
            Some(mut list) if list.len() == 1 => list.pop(),
            Some(_) => {
                return Err(Error::new(ErrorCode::InvalidArgument, "the pinned TSA certificate is one certificate"));
            }
            None => None,
        };
        Ok(TimestampTrust {
            roots: read_certificates(roots)?,
            intermediates: intermediates.map(read_certificates).transpose()?.unwrap_or_default(),
            tsa_certificate,
        })
    }
}

/// A verified time-stamp token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// The time the TSA vouches for (TSTInfo genTime).
    pub gen_time: Timestamp,
    /// The imprint's hash algorithm.
    pub hash: HashAlgorithm,
    /// The token's serial number, in hex (two's complement, as encoded).
    pub serial: String,
    /// The TSA policy under which the token was issued (dotted OID).
    pub policy: String,
    /// The nonce, in hex, if the token has one.
    pub nonce: Option<String>,
    /// The subject of the certificate that signed the token.
    pub tsa: String,
    /// Subjects of the certificate chain, from the TSA certificate to the trusted root.
    pub chain: Vec<String>,
    /// The DER certificates of that chain, in the same order.
    pub chain_der: Vec<Vec<u8>>,
}

impl VerifiedTimestamp {
    /// The SHA-256 fingerprint of the chain's root certificate (colon-separated hex,
    /// as OpenSSL prints it): what to compare with the one the authority publishes.
    pub fn root_fingerprint(&self) -> String {
        self.chain_der.last().map(|c| certificate_fingerprint(c)).unwrap_or_default()
    }

    /// As JSON, the form every binding returns: `gen_time` (RFC 3339), `hash`,
    /// `serial`, `policy`, `nonce` (hex or `null`), `tsa`, `chain` (subjects, TSA
    /// first) and `root_sha256_fingerprint` (to compare with the one the authority
    /// publishes).
    pub fn to_value(&self) -> crate::json::Value {
        use crate::json::Value;
        Value::object([
            ("chain", Value::Array(self.chain.iter().map(|s| Value::from(s.as_str())).collect())),
            ("gen_time", Value::from(self.gen_time.to_string())),
            ("hash", Value::from(self.hash.name())),
            ("nonce", self.nonce.as_deref().map_or(Value::Null, Value::from)),
            ("policy", Value::from(self.policy.as_str())),
            ("root_sha256_fingerprint", Value::from(self.root_fingerprint())),
            ("serial", Value::from(self.serial.as_str())),
            ("tsa", Value::from(self.tsa.as_str())),
        ])
    }

    /// [`VerifiedTimestamp::to_value`] with `size`, the size of the log checkpoint
    /// the token covers: what attaching a timestamp to a log returns.
    pub fn to_value_for_checkpoint(&self, size: u64) -> crate::json::Value {
        use crate::json::{MAX_SAFE_INTEGER, Number, Value};
        let mut value = self.to_value();
        // A log's size is far below 2^53; the bound keeps the conversion total.
        let size = Number::from_i64(i64::try_from(size).unwrap_or(MAX_SAFE_INTEGER).min(MAX_SAFE_INTEGER));
        if let (Value::Object(members), Ok(size)) = (&mut value, size) {
            members.push(("size".into(), Value::Number(size)));
        }
        value
    }
}

/// Verifies a response for `data` again through the chain it was verified with when
/// it was stored (the TSA's certificate first, the root last), that root trusted as
/// stored: whose root it is was established when the response was attached.
///
/// # Errors
/// As [`verify_timestamp`]; [`ErrorCode::TimestampMalformed`] for an empty chain.
pub fn verify_with_stored_chain(response: &[u8], data: &[u8], chain: &[Vec<u8>]) -> Result<VerifiedTimestamp> {
    let (root, rest) = chain
        .split_last()
        .ok_or_else(|| Error::new(ErrorCode::TimestampMalformed, "no certificate chain is stored with it"))?;
    let trust = TimestampTrust { roots: vec![root.clone()], intermediates: rest.to_vec(), tsa_certificate: None };
    verify_timestamp(response, data, None, &trust)
}

/// Verifies a TimeStampResp (a `.tsr` file) for `data`. With `request`, the token
/// must also answer it: same imprint and same nonce.
///
/// # Errors
/// [`ErrorCode::TimestampMalformed`], [`ErrorCode::TimestampUnsupported`],
/// [`ErrorCode::TimestampNotGranted`], [`ErrorCode::TimestampMismatch`],
/// [`ErrorCode::TimestampSignatureInvalid`] or [`ErrorCode::TimestampUntrusted`],
/// with the reason.
pub fn verify_timestamp(
    response: &[u8],
    data: &[u8],
    request: Option<&TimestampRequest>,
    trust: &TimestampTrust,
) -> Result<VerifiedTimestamp> {
    let token = Token::parse_response(response)?;
    if let Some(request) = request {
        let info = &token.info;
        if request.hash != info.hash || request.imprint != info.imprint {
            return Err(Error::new(ErrorCode::TimestampMismatch, "the token's message imprint is not the request's"));
        }
        if request.nonce.as_deref() != info.nonce {
            return Err(Error::new(ErrorCode::TimestampMismatch, "the token's nonce is not the request's"));
        }
    }
    token.verify(data, trust)
}

/// Verifies a bare TimeStampToken (the CMS ContentInfo a response carries, as
/// `openssl ts -verify -token_in` reads it) for `data`.
///
/// # Errors
/// As [`verify_timestamp`].
pub fn verify_timestamp_token(token: &[u8], data: &[u8], trust: &TimestampTrust) -> Result<VerifiedTimestamp> {
    let content_info = Reader::single(token, der::SEQUENCE, "time-stamp token")?;
    Token::parse_token(&content_info)?.verify(data, trust)
}

/// The TimeStampToken of a granted response (its DER bytes), for storing or
/// sending without the response's status.
///
/// # Errors
/// As [`verify_timestamp`] for malformed or refused responses.
pub fn timestamp_token(response: &[u8]) -> Result<Vec<u8>> {
    Ok(Token::parse_response(response)?.der.to_vec())
}

impl Token<'_> {
    fn verify(&self, data: &[u8], trust: &TimestampTrust) -> Result<VerifiedTimestamp> {
        let token = self;
        let info = &token.info;

        // What the token is about.
        if info.imprint != info.hash.digest(data) {
            return Err(Error::new(
                ErrorCode::TimestampMismatch,
                format!("the token's {} message imprint is not the digest of this data", info.hash.name()),
            ));
        }

        // Certificates: the token's own, the caller's and the roots.
        let embedded = parse_all(&token.certificates)?;
        let intermediates = parse_all(&trust.intermediates)?;
        let roots = parse_all(&trust.roots)?;
        let pinned = trust.tsa_certificate.as_deref().map(Certificate::parse).transpose()?;
        if roots.is_empty() {
            return Err(Error::new(ErrorCode::TimestampUntrusted, "no trusted root certificate was given"));
        }

        // The signer, by the signer info's identifier.
        let candidates = embedded.iter().chain(&intermediates).chain(pinned.as_slice()).chain(&roots);
        let signer = candidates.clone().find(|c| token.signer.identifies(c)).ok_or_else(|| {
            Error::new(
                ErrorCode::TimestampUntrusted,
                "the certificate that signed the token is neither in it nor among the given certificates",
            )
        })?;

        // The signature: the signed attributes bind the TSTInfo, the key signs them.
        let signed = &token.signer;
        if signed.content_type != oids::TST_INFO {
            return Err(Error::new(ErrorCode::TimestampSignatureInvalid, "the signed content type is not TSTInfo"));
        }
        if signed.message_digest != signed.digest.digest(token.content) {
            return Err(Error::new(
                ErrorCode::TimestampSignatureInvalid,
                "the signed message digest does not match the token's content: the token was changed",
            ));
        }
        let mut attributes = signed.attributes_raw.to_vec();
        attributes[0] = der::SET; // The signature covers the attributes as an explicit SET OF.
        if !verify_signature(
            signer.public_key,
            signed.signature_algorithm,
            Some(signed.digest),
            &attributes,
            signed.signature,
        )? {
            return Err(Error::new(
                ErrorCode::TimestampSignatureInvalid,
                format!("the token's signature does not verify with the key of {}", signer.subject_text()),
            ));
        }
        signed.check_signing_certificate(signer)?;

        // The TSA certificate: for time-stamping only, chained to a root, all at genTime.
        match &signer.extended_key_usage {
            Some((true, purposes)) if purposes.as_slice() == [oids::TIME_STAMPING] => {}
            Some((false, _)) => return Err(untrusted(signer, "has a non-critical extended key usage (RFC 3161 §2.3)")),
            Some(_) => return Err(untrusted(signer, "has an extended key usage other than only timeStamping")),
            None => return Err(untrusted(signer, "has no extended key usage timeStamping")),
        }
        // As OpenSSL requires of a time-stamping certificate: key usage, when
        // present, is digitalSignature and/or nonRepudiation, and nothing else.
        const DIGITAL_SIGNATURE: u16 = 0x8000;
        const NON_REPUDIATION: u16 = 0x4000;
        if let Some(bits) = signer.key_usage
            && (bits & !(DIGITAL_SIGNATURE | NON_REPUDIATION) != 0 || bits & (DIGITAL_SIGNATURE | NON_REPUDIATION) == 0)
        {
            return Err(untrusted(signer, "has a key usage other than digitalSignature and nonRepudiation"));
        }
        let chain = build_chain(signer, &embedded, &intermediates, &roots, info.gen_time)?;
        if let Some(pinned) = &pinned {
            if signer.der != pinned.der {
                return Err(Error::new(
                    ErrorCode::TimestampUntrusted,
                    format!("the token is signed by {}, not by the expected TSA certificate", signer.subject_text()),
                ));
            }
            let extra: Vec<String> = embedded
                .iter()
                .filter(|c| !chain.iter().any(|link| link.der == c.der))
                .map(Certificate::subject_text)
                .collect();
            if !extra.is_empty() {
                return Err(Error::new(
                    ErrorCode::TimestampUntrusted,
                    format!("the token carries certificates outside the TSA's chain: {}", extra.join("; ")),
                ));
            }
        }

        Ok(VerifiedTimestamp {
            gen_time: info.gen_time,
            hash: info.hash,
            serial: hex(info.serial),
            policy: der::oid_text(info.policy),
            nonce: info.nonce.map(hex),
            tsa: signer.subject_text(),
            chain: chain.iter().map(|c| c.subject_text()).collect(),
            chain_der: chain.iter().map(|c| c.der.to_vec()).collect(),
        })
    }
}

/// What a time-stamp token states, read without verifying anything: for display and
/// for choosing the time to check at. Use [`verify_timestamp_token`] before relying
/// on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampContents {
    /// The time the token states (TSTInfo genTime).
    pub gen_time: Timestamp,
    /// The certificates embedded in the token (DER), in the order written.
    pub certificates: Vec<Vec<u8>>,
}

/// Reads a TimeStampToken without verifying it.
///
/// # Errors
/// [`ErrorCode::TimestampMalformed`] or [`ErrorCode::TimestampUnsupported`].
pub fn read_timestamp_token(token: &[u8]) -> Result<TimestampContents> {
    let content_info = Reader::single(token, der::SEQUENCE, "time-stamp token")?;
    let token = Token::parse_token(&content_info)?;
    Ok(TimestampContents { gen_time: token.info.gen_time, certificates: token.certificates })
}

/// Checks that a certificate is a self-signed root: its issuer is its subject and
/// its own key verifies its signature.
///
/// # Errors
/// [`ErrorCode::TimestampUntrusted`] when it is not, [`ErrorCode::TimestampMalformed`]
/// or [`ErrorCode::TimestampUnsupported`] when it cannot be read.
pub fn verify_self_signed(der_bytes: &[u8]) -> Result<()> {
    let cert = Certificate::parse(der_bytes)?;
    if !cert.is_self_signed()? {
        return Err(Error::new(
            ErrorCode::TimestampUntrusted,
            format!("{} is not a self-signed root certificate, or its signature does not verify", cert.subject_text()),
        ));
    }
    Ok(())
}

/// Checks that a certificate leads to one of `trust.roots` through
/// `trust.intermediates`, every certificate valid at `time` and every issuer a CA,
/// as `openssl verify -attime` does (no purpose is required of it).
///
/// # Errors
/// [`ErrorCode::TimestampUntrusted`] when it does not; [`ErrorCode::TimestampMalformed`]
/// for unreadable certificates.
pub fn verify_certificate_chain(der_bytes: &[u8], trust: &TimestampTrust, time: Timestamp) -> Result<()> {
    let cert = Certificate::parse(der_bytes)?;
    let intermediates = parse_all(&trust.intermediates)?;
    let roots = parse_all(&trust.roots)?;
    build_chain(&cert, &[], &intermediates, &roots, time).map(|_| ())
}

/// A certificate's SHA-256 fingerprint as OpenSSL prints it (`AB:CD:…`), so people
/// can compare it with the one a time-stamping authority publishes.
pub fn certificate_fingerprint(der_bytes: &[u8]) -> String {
    let digest = HashAlgorithm::Sha256.digest(der_bytes);
    digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

fn untrusted(cert: &Certificate<'_>, problem: &str) -> Error {
    Error::new(ErrorCode::TimestampUntrusted, format!("the TSA certificate {} {problem}", cert.subject_text()))
}

/// The most certificates a token may carry.
const MAX_CERTIFICATES: usize = 32;

fn parse_all(list: &[Vec<u8>]) -> Result<Vec<Certificate<'_>>> {
    list.iter().map(|der_bytes| Certificate::parse(der_bytes)).collect()
}

/// The chain from `leaf` to one of `roots`, every certificate valid at `time`,
/// every issuer a CA allowed to sign certificates.
fn build_chain<'c, 'd>(
    leaf: &'c Certificate<'d>,
    embedded: &'c [Certificate<'d>],
    intermediates: &'c [Certificate<'d>],
    roots: &'c [Certificate<'d>],
    time: Timestamp,
) -> Result<Vec<&'c Certificate<'d>>> {
    const MAX_DEPTH: usize = 8;
    let mut chain = vec![leaf];
    loop {
        let current = chain[chain.len() - 1];
        if !current.valid_at(time) {
            return Err(Error::new(
                ErrorCode::TimestampUntrusted,
                format!(
                    "the certificate {} was not valid at the token's time {time} (valid {} to {})",
                    current.subject_text(),
                    current.not_before,
                    current.not_after
                ),
            ));
        }
        if let Some(oid) = current.unknown_critical_extension {
            return Err(Error::new(
                ErrorCode::TimestampUntrusted,
                format!(
                    "the certificate {} has a critical extension {} that Evidentia does not process (RFC 5280 §4.2)",
                    current.subject_text(),
                    der::oid_text(oid)
                ),
            ));
        }
        if roots.iter().any(|root| root.der == current.der) {
            // A chain ends at a self-signed root, as OpenSSL's does: a trusted
            // certificate that another issued is not an anchor (packages require
            // one, SPEC §19 check 8). Its own signature must hold: a changed byte,
            // in its issuer name too, is caught here, not only by fingerprints.
            if current.issuer != current.subject || !current.is_self_signed()? {
                return Err(Error::new(
                    ErrorCode::TimestampUntrusted,
                    format!(
                        "the trusted certificate {} is not a self-signed root whose own signature verifies",
                        current.subject_text()
                    ),
                ));
            }
            return Ok(chain);
        }
        if chain.len() > MAX_DEPTH {
            return Err(Error::new(ErrorCode::TimestampUntrusted, "the certificate chain is too long"));
        }
        // Roots first, so a trusted copy wins over an embedded one with the same name.
        // A candidate whose key cannot check the signature (another key type, an
        // unsupported curve) is simply not the issuer.
        let issuer = roots.iter().chain(embedded).chain(intermediates).find(|candidate| {
            candidate.subject == current.issuer
                && candidate.der != current.der
                && current.signed_by(candidate).unwrap_or(false)
        });
        let Some(issuer) = issuer else {
            let self_signed = current.issuer == current.subject;
            return Err(Error::new(
                ErrorCode::TimestampUntrusted,
                if self_signed {
                    format!("the chain ends at {}, which is not a trusted root", current.subject_text())
                } else {
                    format!(
                        "no trusted path: the issuer {} of {} is neither a trusted root nor a given certificate that signed it",
                        name_text(current.issuer),
                        current.subject_text()
                    )
                },
            ));
        };
        // A trust anchor is trusted as configured (old X.509 v1 roots have no basic
        // constraints); every other issuer must be a CA allowed to sign certificates.
        let is_root = roots.iter().any(|root| root.der == issuer.der);
        let may_sign_certificates = issuer.key_usage.is_none_or(|bits| bits & 0x0400 != 0);
        if !is_root && (!issuer.is_ca || !may_sign_certificates) {
            return Err(Error::new(
                ErrorCode::TimestampUntrusted,
                format!("{} issued a certificate but is not a certificate authority", issuer.subject_text()),
            ));
        }
        chain.push(issuer);
    }
}

/// The parts of a time-stamp token this module checks.
struct Token<'a> {
    /// The token's DER (a CMS ContentInfo).
    der: &'a [u8],
    /// The DER TSTInfo (the signed content).
    content: &'a [u8],
    info: TstInfo<'a>,
    certificates: Vec<Vec<u8>>,
    signer: SignerInfo<'a>,
}

struct TstInfo<'a> {
    hash: HashAlgorithm,
    imprint: Vec<u8>,
    policy: &'a [u8],
    serial: &'a [u8],
    gen_time: Timestamp,
    nonce: Option<&'a [u8]>,
}

struct SignerInfo<'a> {
    /// issuerAndSerialNumber (issuer Name, serial) or a subject key identifier.
    issuer_serial: Option<(&'a [u8], &'a [u8])>,
    key_identifier: Option<&'a [u8]>,
    digest: HashAlgorithm,
    attributes_raw: &'a [u8],
    content_type: &'a [u8],
    message_digest: &'a [u8],
    /// ESS signing certificate: the hash algorithm, the certificate hash, and the
    /// issuer/serial when given.
    /// signing-certificate (v1) and signing-certificate-v2; at least one is present,
    /// and every one present must name the signer.
    ess: [Option<EssCertId<'a>>; 2],
    signature_algorithm: &'a [u8],
    signature: &'a [u8],
}

/// The certificate an ESS signing-certificate attribute names: by hash, and by
/// issuer (Name) and serial when given.
type EssCertId<'a> = (EssHash, &'a [u8], Option<(&'a [u8], &'a [u8])>);

#[derive(Clone, Copy)]
enum EssHash {
    Sha1,
    Sha2(HashAlgorithm),
}

impl<'a> Token<'a> {
    fn parse_response(response: &'a [u8]) -> Result<Token<'a>> {
        const WHAT: &str = "time-stamp response";
        let resp = Reader::single(response, der::SEQUENCE, WHAT)?;
        let mut fields = resp.reader(WHAT);
        let status_info = fields.expect(der::SEQUENCE)?;
        let mut status_fields = status_info.reader(WHAT);
        let status = status_fields.expect(der::INTEGER)?.small_unsigned(WHAT)?;
        let text = match status_fields.optional(der::SEQUENCE)? {
            Some(strings) => {
                let mut texts = Vec::new();
                let mut reader = strings.reader(WHAT);
                while !reader.is_empty() {
                    texts.push(String::from_utf8_lossy(reader.read()?.value).into_owned());
                }
                texts.join("; ")
            }
            None => String::new(),
        };
        if status > 1 {
            let name = match status {
                2 => "rejection",
                3 => "waiting",
                4 => "revocationWarning",
                5 => "revocationNotification",
                _ => "unknown status",
            };
            let detail = if text.is_empty() { String::new() } else { format!(": {text}") };
            return Err(Error::new(
                ErrorCode::TimestampNotGranted,
                format!("the TSA answered {name} (status {status}){detail}"),
            ));
        }
        let token = fields.read().map_err(|_| {
            Error::new(ErrorCode::TimestampNotGranted, "the response is granted but carries no time-stamp token")
        })?;
        fields.finish()?;
        Token::parse_token(&token)
    }

    fn parse_token(content_info: &Tlv<'a>) -> Result<Token<'a>> {
        const WHAT: &str = "time-stamp token";
        if content_info.tag != der::SEQUENCE {
            return Err(malformed(WHAT, "not a ContentInfo"));
        }
        let mut outer = content_info.reader(WHAT);
        if outer.expect(der::OID)?.value != oids::SIGNED_DATA {
            return Err(malformed(WHAT, "the content is not CMS SignedData"));
        }
        let wrapped = outer.expect(der::explicit(0))?;
        outer.finish()?;
        let signed_data = Reader::single(wrapped.value, der::SEQUENCE, WHAT)?;
        let mut fields = signed_data.reader(WHAT);
        if !matches!(fields.expect(der::INTEGER)?.small_unsigned(WHAT)?, 1 | 3) {
            return Err(malformed(WHAT, "the SignedData version is not 1 or 3"));
        }
        let mut digest_algorithms = Vec::new();
        let mut list = fields.expect(der::SET)?.reader(WHAT);
        while !list.is_empty() {
            digest_algorithms.push(algorithm_oid(&list.expect(der::SEQUENCE)?, WHAT)?);
        }
        let encapsulated = fields.expect(der::SEQUENCE)?;
        let mut encapsulated = encapsulated.reader(WHAT);
        if encapsulated.expect(der::OID)?.value != oids::TST_INFO {
            return Err(malformed(WHAT, "the signed content is not TSTInfo"));
        }
        let explicit = encapsulated.expect(der::explicit(0))?;
        encapsulated.finish()?;
        let content = Reader::single(explicit.value, der::OCTET_STRING, WHAT)?.value;

        // The certificate SET is read in whatever order it was written (see der.rs).
        let mut certificates = Vec::new();
        if let Some(set) = fields.optional(der::explicit(0))? {
            let mut reader = set.reader(WHAT);
            while !reader.is_empty() {
                let element = reader.read()?;
                // CertificateChoices (RFC 5652 §10.2.2): an X.509 certificate, or
                // another format ([0] to [3]) that plays no part here.
                match element.tag {
                    // Each one may cost a signature check when the chain is built:
                    // a real token carries its chain, a handful at most.
                    der::SEQUENCE if certificates.len() == MAX_CERTIFICATES => {
                        return Err(malformed(WHAT, "the token carries more than 32 certificates"));
                    }
                    der::SEQUENCE => certificates.push(element.raw.to_vec()),
                    0xa0..=0xa3 => {}
                    _ => return Err(malformed(WHAT, "an element of the certificate set is not a certificate")),
                }
            }
        }
        // CRLs are not used, but must be CRLs: nothing else may hide in their place.
        if let Some(crls) = fields.optional(der::explicit(1))? {
            let mut reader = crls.reader(WHAT);
            while !reader.is_empty() {
                check_crl_shape(&reader.read()?)?;
            }
        }
        let signer_infos = fields.expect(der::SET)?;
        fields.finish()?;
        let mut signers = signer_infos.reader(WHAT);
        let signer = signers.expect(der::SEQUENCE)?;
        if !signers.is_empty() {
            return Err(malformed(WHAT, "a time-stamp token has exactly one signer (RFC 3161 §2.4.2)"));
        }
        let signer = SignerInfo::parse(&signer)?;
        if !digest_algorithms.contains(&signer.digest.oid()) {
            return Err(malformed(WHAT, "the signer's digest algorithm is not among the SignedData's"));
        }
        Ok(Token { der: content_info.raw, content, info: TstInfo::parse(content)?, certificates, signer })
    }
}

impl<'a> TstInfo<'a> {
    fn parse(content: &'a [u8]) -> Result<TstInfo<'a>> {
        const WHAT: &str = "TSTInfo";
        let info = Reader::single(content, der::SEQUENCE, WHAT)?;
        let mut fields = info.reader(WHAT);
        if fields.expect(der::INTEGER)?.small_unsigned(WHAT)? != 1 {
            return Err(malformed(WHAT, "the version is not 1"));
        }
        let policy = fields.expect(der::OID)?.value;
        let (hash, imprint) = read_message_imprint(&fields.expect(der::SEQUENCE)?)?;
        // RFC 3161 asks for a positive serial; some TSAs (sigstore's mock among them)
        // write negative ones, which OpenSSL accepts, so the raw value is kept as is.
        let serial = fields.expect(der::INTEGER)?.value;
        let gen_time = fields.expect(der::GENERALIZED_TIME)?.time(WHAT)?;
        fields.optional(der::SEQUENCE)?; // accuracy
        if let Some(ordering) = fields.optional(der::BOOLEAN)? {
            ordering.boolean(WHAT)?;
        }
        let nonce = fields.optional(der::INTEGER)?.map(|n| n.unsigned(WHAT)).transpose()?;
        fields.optional(der::explicit(0))?; // tsa name
        fields.optional(der::explicit(1))?; // extensions
        fields.finish()?;
        Ok(TstInfo { hash, imprint, policy, serial, gen_time, nonce })
    }
}

impl<'a> SignerInfo<'a> {
    fn parse(signer: &Tlv<'a>) -> Result<SignerInfo<'a>> {
        const WHAT: &str = "signer info";
        let mut fields = signer.reader(WHAT);
        let version = fields.expect(der::INTEGER)?.small_unsigned(WHAT)?;
        let sid = fields.read()?;
        let (issuer_serial, key_identifier) = match sid.tag {
            // RFC 5652 §5.3: version 1 with issuer and serial, 3 with a key identifier.
            _ if version != if sid.tag == der::SEQUENCE { 1 } else { 3 } => {
                return Err(malformed(WHAT, "the signer info's version does not match its identifier"));
            }
            der::SEQUENCE => {
                let mut parts = sid.reader(WHAT);
                let issuer = parts.expect(der::SEQUENCE)?.raw;
                let serial = parts.expect(der::INTEGER)?.value;
                parts.finish()?;
                (Some((issuer, serial)), None)
            }
            tag if tag == der::implicit(0) => (None, Some(sid.value)),
            _ => return Err(malformed(WHAT, "the signer identifier is neither issuer and serial nor key identifier")),
        };
        let digest_oid = algorithm_oid(&fields.expect(der::SEQUENCE)?, WHAT)?;
        let digest = HashAlgorithm::from_oid(digest_oid).ok_or_else(|| unsupported_digest(digest_oid))?;
        let attributes = fields.optional(der::explicit(0))?.ok_or_else(|| {
            malformed(WHAT, "the token has no signed attributes, so nothing binds its certificate (RFC 3161 §2.4.2)")
        })?;
        let signature_algorithm = algorithm_oid(&fields.expect(der::SEQUENCE)?, WHAT)?;
        let signature = fields.expect(der::OCTET_STRING)?.value;
        fields.optional(der::explicit(1))?;
        fields.finish()?;

        let mut content_type = None;
        let mut message_digest = None;
        let mut ess = [None, None];
        let mut list = attributes.reader(WHAT);
        while !list.is_empty() {
            let mut attribute = list.expect(der::SEQUENCE)?.reader(WHAT);
            let kind = attribute.expect(der::OID)?.value;
            let mut values = attribute.expect(der::SET)?.reader(WHAT);
            attribute.finish()?;
            let value = values.read()?;
            if !values.is_empty() {
                return Err(malformed(WHAT, "a signed attribute has more than one value"));
            }
            let slot = match kind {
                oids::CONTENT_TYPE => content_type.replace(Reader::single(value.raw, der::OID, WHAT)?.value).is_some(),
                oids::MESSAGE_DIGEST => {
                    message_digest.replace(Reader::single(value.raw, der::OCTET_STRING, WHAT)?.value).is_some()
                }
                oids::SIGNING_CERTIFICATE => ess[0].replace(read_ess(&value, false)?).is_some(),
                oids::SIGNING_CERTIFICATE_V2 => ess[1].replace(read_ess(&value, true)?).is_some(),
                _ => false,
            };
            if slot {
                return Err(malformed(WHAT, "a signed attribute appears twice"));
            }
        }
        let missing = |name: &str| malformed(WHAT, &format!("the signed attribute {name} is missing"));
        Ok(SignerInfo {
            issuer_serial,
            key_identifier,
            digest,
            attributes_raw: attributes.raw,
            content_type: content_type.ok_or_else(|| missing("content-type"))?,
            message_digest: message_digest.ok_or_else(|| missing("message-digest"))?,
            ess: if ess.iter().any(Option::is_some) { ess } else { return Err(missing("signing-certificate (ESS)")) },
            signature_algorithm,
            signature,
        })
    }

    /// Whether the signer identifier names `cert`.
    fn identifies(&self, cert: &Certificate<'_>) -> bool {
        match (self.issuer_serial, self.key_identifier) {
            (Some((issuer, serial)), _) => cert.issuer == issuer && cert.serial == serial,
            (None, Some(key_id)) => cert.key_identifier == Some(key_id),
            (None, None) => false,
        }
    }

    /// ESS (RFC 2634 / RFC 5035): the signed attributes name the signer's certificate
    /// by hash, so another certificate with the same key cannot be substituted.
    fn check_signing_certificate(&self, signer: &Certificate<'_>) -> Result<()> {
        for (hash, expected, issuer_serial) in self.ess.iter().flatten().copied() {
            Self::check_ess_id(signer, hash, expected, issuer_serial)?;
        }
        Ok(())
    }

    fn check_ess_id(
        signer: &Certificate<'_>,
        hash: EssHash,
        expected: &[u8],
        issuer_serial: Option<(&[u8], &[u8])>,
    ) -> Result<()> {
        let actual = match hash {
            EssHash::Sha1 => {
                use sha1::Digest as _;
                sha1::Sha1::digest(signer.der).to_vec()
            }
            EssHash::Sha2(hash) => hash.digest(signer.der),
        };
        let serial_matches =
            issuer_serial.is_none_or(|(issuer, serial)| issuer == signer.issuer && serial == signer.serial);
        if actual != expected || !serial_matches {
            return Err(Error::new(
                ErrorCode::TimestampUntrusted,
                format!(
                    "the token's signing-certificate attribute does not name {}, whose key signed it",
                    signer.subject_text()
                ),
            ));
        }
        Ok(())
    }
}

/// A RevocationInfoChoice is a CertificateList (RFC 5280 §5.1: a SEQUENCE of the
/// TBSCertList, an algorithm and a signature, the TBSCertList starting with an
/// optional version, the algorithm, the issuer and a time) or an other format
/// ([1]); anything else, a certificate included, is malformed.
fn check_crl_shape(crl: &Tlv<'_>) -> Result<()> {
    const WHAT: &str = "CRL in a time-stamp token";
    if crl.tag == der::explicit(1) {
        return Ok(());
    }
    if crl.tag != der::SEQUENCE {
        return Err(malformed(WHAT, "not a CertificateList"));
    }
    let mut parts = crl.reader(WHAT);
    let tbs = parts.expect(der::SEQUENCE)?;
    parts.expect(der::SEQUENCE)?;
    parts.expect(der::BIT_STRING)?;
    parts.finish()?;
    let mut fields = tbs.reader(WHAT);
    fields.optional(der::INTEGER)?;
    fields.expect(der::SEQUENCE)?;
    fields.expect(der::SEQUENCE)?;
    fields.read()?.time(WHAT)?;
    Ok(())
}

fn unsupported_digest(oid: &[u8]) -> Error {
    Error::new(
        ErrorCode::TimestampUnsupported,
        format!("digest algorithm {} is not supported (SHA-256, SHA-384 and SHA-512 are)", der::oid_text(oid)),
    )
}

/// The first ESSCertID(v2) of a SigningCertificate(V2) attribute value.
fn read_ess<'a>(value: &Tlv<'a>, v2: bool) -> Result<EssCertId<'a>> {
    const WHAT: &str = "signing-certificate attribute";
    if value.tag != der::SEQUENCE {
        return Err(malformed(WHAT, "not a SEQUENCE"));
    }
    let mut fields = value.reader(WHAT);
    let mut ids = fields.expect(der::SEQUENCE)?.reader(WHAT);
    let mut id = ids.expect(der::SEQUENCE)?.reader(WHAT);
    let hash = if !v2 {
        EssHash::Sha1
    } else if let Some(algorithm) = id.optional(der::SEQUENCE)? {
        let oid = algorithm_oid(&algorithm, WHAT)?;
        EssHash::Sha2(HashAlgorithm::from_oid(oid).ok_or_else(|| unsupported_digest(oid))?)
    } else {
        EssHash::Sha2(HashAlgorithm::Sha256) // the DEFAULT of ESSCertIDv2
    };
    let cert_hash = id.expect(der::OCTET_STRING)?.value;
    let issuer_serial = match id.optional(der::SEQUENCE)? {
        Some(issuer_serial) => {
            let mut parts = issuer_serial.reader(WHAT);
            let mut names = parts.expect(der::SEQUENCE)?.reader(WHAT);
            let serial = parts.expect(der::INTEGER)?.value;
            // GeneralNames: the directoryName [4] holds the issuer's Name.
            let mut issuer = None;
            while !names.is_empty() {
                let name = names.read()?;
                if name.tag == der::explicit(4) {
                    issuer = Some(Reader::single(name.value, der::SEQUENCE, WHAT)?.raw);
                }
            }
            issuer.map(|issuer| (issuer, serial))
        }
        None => None,
    };
    id.finish()?;
    Ok((hash, cert_hash, issuer_serial))
}

fn message_imprint(hash: HashAlgorithm, digest: &[u8]) -> Vec<u8> {
    let mut algorithm = der::encode(der::OID, hash.oid());
    algorithm.extend(der::encode(der::NULL, &[]));
    let mut body = der::encode(der::SEQUENCE, &algorithm);
    body.extend(der::encode(der::OCTET_STRING, digest));
    der::encode(der::SEQUENCE, &body)
}

fn read_message_imprint(imprint: &Tlv<'_>) -> Result<(HashAlgorithm, Vec<u8>)> {
    const WHAT: &str = "message imprint";
    let mut fields = imprint.reader(WHAT);
    let oid = algorithm_oid(&fields.expect(der::SEQUENCE)?, WHAT)?;
    let hash = HashAlgorithm::from_oid(oid).ok_or_else(|| unsupported_digest(oid))?;
    let digest = fields.expect(der::OCTET_STRING)?.value;
    fields.finish()?;
    if digest.len() != hash.digest(b"").len() {
        return Err(malformed(WHAT, &format!("the digest is not {} bytes long", hash.digest(b"").len())));
    }
    Ok((hash, digest.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_encodes_and_parses_back() {
        let request = TimestampRequest::new(b"hello", HashAlgorithm::Sha384, [0, 0, 0x80, 1, 2, 3, 4, 5]);
        let again = TimestampRequest::parse(request.to_der()).unwrap();
        assert_eq!(again, request);
        assert_eq!(request.hash(), HashAlgorithm::Sha384);
        assert_eq!(request.imprint(), HashAlgorithm::Sha384.digest(b"hello"));
        assert_eq!(request.nonce(), Some(&[0x80, 1, 2, 3, 4, 5][..]));
    }

    #[test]
    fn garbage_requests_and_responses_are_refused_with_codes() {
        let good = TimestampRequest::new(b"x", HashAlgorithm::Sha256, [9; 8]);
        let der_bytes = good.to_der();
        for cut in 0..der_bytes.len() {
            let err = TimestampRequest::parse(&der_bytes[..cut]).unwrap_err();
            assert_eq!(err.code(), ErrorCode::TimestampMalformed);
        }
        let trust = TimestampTrust::default();
        for garbage in [&b""[..], b"hello", &[0x30, 0x03, 0x02, 0x01, 0x00], &[0x30, 0x80, 0, 0], &[0xff; 40]] {
            let err = verify_timestamp(garbage, b"x", None, &trust).unwrap_err();
            assert_eq!(err.code(), ErrorCode::TimestampMalformed, "{garbage:02x?}: {err}");
        }
        // A refusal from the TSA, with its text.
        let refused = [0x30, 0x0c, 0x30, 0x0a, 0x02, 0x01, 0x02, 0x30, 0x05, 0x0c, 0x03, b'b', b'a', b'd'];
        let err = verify_timestamp(&refused, b"x", None, &trust).unwrap_err();
        assert_eq!(err.code(), ErrorCode::TimestampNotGranted);
        assert!(err.to_string().contains("rejection") && err.to_string().contains("bad"), "{err}");
    }

    #[test]
    fn pem_round_trip_and_garbage() {
        for garbage in [&b"nothing here"[..], b"", &[0x30, 0x00], &[0xff, 0xfe], b"-----BEGIN CERTIFICATE-----\nAAAA"] {
            assert_eq!(read_certificates(garbage).unwrap_err().code(), ErrorCode::TimestampMalformed, "{garbage:?}");
        }
        let not_base64 = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        assert_eq!(read_certificates(not_base64.as_bytes()).unwrap_err().code(), ErrorCode::TimestampMalformed);
        let not_cert = certificate_to_pem(&[0x30, 0x00]);
        assert_eq!(read_certificates(not_cert.as_bytes()).unwrap_err().code(), ErrorCode::TimestampMalformed);
    }
}
