//! X.509 certificates as far as a time-stamp verifier needs them (RFC 5280): names,
//! validity, key, extended key usage, basic constraints, and checking signatures
//! made with ECDSA (P-256, P-384) or RSA (PKCS #1 v1.5).

use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use rsa::pkcs8::DecodePublicKey as _;
use sha2::Digest as _;

use super::der::{self, Reader, Tlv, malformed, oids};
use crate::error::Result;
use crate::time::Timestamp;

/// A digest algorithm of imprints, signed attributes and signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The name used by OpenSSL and in Evidentia's options: `sha256`, `sha384`, `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    /// The algorithm for a name given by [`HashAlgorithm::name`].
    pub fn from_name(name: &str) -> Option<HashAlgorithm> {
        [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512].into_iter().find(|h| h.name() == name)
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    pub(crate) fn oid(self) -> &'static [u8] {
        match self {
            HashAlgorithm::Sha256 => oids::SHA256,
            HashAlgorithm::Sha384 => oids::SHA384,
            HashAlgorithm::Sha512 => oids::SHA512,
        }
    }

    pub(crate) fn from_oid(oid: &[u8]) -> Option<HashAlgorithm> {
        [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512].into_iter().find(|h| h.oid() == oid)
    }
}

/// The contents of an AlgorithmIdentifier's OID, checking that parameters, if any,
/// are NULL (absent parameters are allowed, as RFC 5754 asks for SHA-2).
pub(crate) fn algorithm_oid<'a>(tlv: &Tlv<'a>, what: &'static str) -> Result<&'a [u8]> {
    let mut reader = tlv.reader(what);
    let oid = reader.expect(der::OID)?.value;
    if !reader.is_empty() {
        // ECDSA keys carry the curve here; other parameters are NULL.
        let parameters = reader.read()?;
        if parameters.tag != der::NULL && parameters.tag != der::OID {
            return Err(malformed(what, "unexpected algorithm parameters"));
        }
    }
    reader.finish()?;
    Ok(oid)
}

/// A parsed certificate; every field borrows from its DER.
#[derive(Clone, Debug)]
pub(crate) struct Certificate<'a> {
    pub(crate) der: &'a [u8],
    pub(crate) tbs: &'a [u8],
    pub(crate) serial: &'a [u8],
    pub(crate) issuer: &'a [u8],
    pub(crate) subject: &'a [u8],
    pub(crate) not_before: Timestamp,
    pub(crate) not_after: Timestamp,
    pub(crate) public_key: &'a [u8],
    pub(crate) signature_algorithm: &'a [u8],
    pub(crate) signature: &'a [u8],
    /// Extended key usage: whether critical, and its purposes.
    pub(crate) extended_key_usage: Option<(bool, Vec<&'a [u8]>)>,
    /// Whether basic constraints say this is a CA.
    pub(crate) is_ca: bool,
    /// Key usage bits (first two bytes), when present.
    pub(crate) key_usage: Option<u16>,
    /// The subject key identifier, when present.
    pub(crate) key_identifier: Option<&'a [u8]>,
    /// The first critical extension this module does not process, if any.
    pub(crate) unknown_critical_extension: Option<&'a [u8]>,
}

impl<'a> Certificate<'a> {
    pub(crate) fn parse(der_bytes: &'a [u8]) -> Result<Certificate<'a>> {
        const WHAT: &str = "certificate";
        let certificate = Reader::single(der_bytes, der::SEQUENCE, WHAT)?;
        let mut outer = certificate.reader(WHAT);
        let tbs = outer.expect(der::SEQUENCE)?;
        let outer_algorithm = outer.expect(der::SEQUENCE)?;
        let signature = outer.expect(der::BIT_STRING)?.bit_string(WHAT)?;
        outer.finish()?;

        let mut fields = tbs.reader(WHAT);
        if let Some(version) = fields.optional(der::explicit(0))? {
            let v = Reader::single(version.value, der::INTEGER, WHAT)?.small_unsigned(WHAT)?;
            if v > 2 {
                return Err(malformed(WHAT, "unknown certificate version"));
            }
        }
        let serial = fields.expect(der::INTEGER)?.value;
        let inner_algorithm = fields.expect(der::SEQUENCE)?;
        if inner_algorithm.raw != outer_algorithm.raw {
            return Err(malformed(WHAT, "the two signature algorithm fields differ"));
        }
        let issuer = fields.expect(der::SEQUENCE)?.raw;
        let validity = fields.expect(der::SEQUENCE)?;
        let mut times = validity.reader(WHAT);
        let not_before = times.read()?.time(WHAT)?;
        let not_after = times.read()?.time(WHAT)?;
        times.finish()?;
        let subject = fields.expect(der::SEQUENCE)?.raw;
        let public_key = fields.expect(der::SEQUENCE)?.raw;
        fields.optional(der::implicit(1))?;
        fields.optional(der::implicit(2))?;
        let mut cert = Certificate {
            der: der_bytes,
            tbs: tbs.raw,
            serial,
            issuer,
            subject,
            not_before,
            not_after,
            public_key,
            signature_algorithm: algorithm_oid(&outer_algorithm, WHAT)?,
            signature,
            extended_key_usage: None,
            is_ca: false,
            key_usage: None,
            key_identifier: None,
            unknown_critical_extension: None,
        };
        if let Some(extensions) = fields.optional(der::explicit(3))? {
            let list = Reader::single(extensions.value, der::SEQUENCE, WHAT)?;
            let mut list = list.reader(WHAT);
            while !list.is_empty() {
                let extension = list.expect(der::SEQUENCE)?;
                let mut parts = extension.reader(WHAT);
                let oid = parts.expect(der::OID)?.value;
                let critical = match parts.optional(der::BOOLEAN)? {
                    Some(flag) => flag.boolean(WHAT)?,
                    None => false,
                };
                let value = parts.expect(der::OCTET_STRING)?.value;
                parts.finish()?;
                cert.read_extension(oid, critical, value)?;
            }
        }
        fields.finish()?;
        Ok(cert)
    }

    fn read_extension(&mut self, oid: &'a [u8], critical: bool, value: &'a [u8]) -> Result<()> {
        const WHAT: &str = "certificate extension";
        if oid == oids::EXTENDED_KEY_USAGE {
            let mut purposes = Reader::single(value, der::SEQUENCE, WHAT)?.reader(WHAT);
            let mut list = Vec::new();
            while !purposes.is_empty() {
                list.push(purposes.expect(der::OID)?.value);
            }
            self.extended_key_usage = Some((critical, list));
        } else if oid == oids::BASIC_CONSTRAINTS {
            let mut constraints = Reader::single(value, der::SEQUENCE, WHAT)?.reader(WHAT);
            if let Some(ca) = constraints.optional(der::BOOLEAN)? {
                self.is_ca = ca.boolean(WHAT)?;
            }
        } else if oid == oids::SUBJECT_KEY_IDENTIFIER {
            self.key_identifier = Some(Reader::single(value, der::OCTET_STRING, WHAT)?.value);
        } else if oid == oids::KEY_USAGE {
            let bits = Reader::single(value, der::BIT_STRING, WHAT)?;
            let bytes = bits.value.get(1..).unwrap_or_default();
            self.key_usage = Some(
                u16::from(bytes.first().copied().unwrap_or(0)) << 8 | u16::from(bytes.get(1).copied().unwrap_or(0)),
            );
        } else if critical && self.unknown_critical_extension.is_none() {
            self.unknown_critical_extension = Some(oid);
        }
        Ok(())
    }

    /// The subject as text, e.g. `O=local, CN=Test TSA Timestamping`.
    pub(crate) fn subject_text(&self) -> String {
        name_text(self.subject)
    }

    /// Whether the certificate was valid at `time`: from notBefore, and before
    /// notAfter, as OpenSSL decides (RFC 5280 includes the notAfter second; the two
    /// verifiers of a package must agree, so OpenSSL's rule is used).
    pub(crate) fn valid_at(&self, time: Timestamp) -> bool {
        self.not_before <= time && time < self.not_after
    }

    /// Whether `issuer`'s key signed this certificate (SHA-2 signatures only).
    pub(crate) fn signed_by(&self, issuer: &Certificate<'_>) -> Result<bool> {
        verify_signature(issuer.public_key, self.signature_algorithm, None, self.tbs, self.signature)
    }

    /// Whether this is a self-signed certificate whose own signature holds. SHA-1 is
    /// accepted here, and only here: many long-lived roots (Apple Root CA, DigiCert
    /// Assured ID Root CA) sign themselves with it, and a trust anchor's trust comes
    /// from its fingerprint, not from that signature.
    pub(crate) fn is_self_signed(&self) -> Result<bool> {
        if self.issuer != self.subject {
            return Ok(false);
        }
        let (algorithm, sha1) = match self.signature_algorithm {
            oids::RSA_SHA1 => (oids::RSA_ENCRYPTION, true),
            oids::ECDSA_SHA1 => (oids::EC_PUBLIC_KEY, true),
            other => (other, false),
        };
        if sha1 {
            let digest = {
                use sha1::Digest as _;
                sha1::Sha1::digest(self.tbs).to_vec()
            };
            return verify_digest(self.public_key, algorithm, Prehash::Sha1(&digest), self.signature);
        }
        self.signed_by(self)
    }
}

fn unsupported(what: &str) -> crate::Error {
    crate::Error::new(crate::ErrorCode::TimestampUnsupported, format!("{what} is not supported"))
}

/// Verifies `signature` over `message` with the key of a SubjectPublicKeyInfo,
/// `algorithm` being the signature's algorithm OID: a specific one like
/// ecdsa-with-SHA256 names its hash; rsaEncryption or id-ecPublicKey (as CMS signer
/// infos write them) mean "with `hash`", which must then be given.
pub(crate) fn verify_signature(
    public_key: &[u8],
    algorithm: &[u8],
    hash: Option<HashAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<bool> {
    let (generic, named) = match algorithm {
        oids::ECDSA_SHA256 => (oids::EC_PUBLIC_KEY, Some(HashAlgorithm::Sha256)),
        oids::ECDSA_SHA384 => (oids::EC_PUBLIC_KEY, Some(HashAlgorithm::Sha384)),
        oids::ECDSA_SHA512 => (oids::EC_PUBLIC_KEY, Some(HashAlgorithm::Sha512)),
        oids::RSA_SHA256 => (oids::RSA_ENCRYPTION, Some(HashAlgorithm::Sha256)),
        oids::RSA_SHA384 => (oids::RSA_ENCRYPTION, Some(HashAlgorithm::Sha384)),
        oids::RSA_SHA512 => (oids::RSA_ENCRYPTION, Some(HashAlgorithm::Sha512)),
        oids::EC_PUBLIC_KEY | oids::RSA_ENCRYPTION => (algorithm, hash),
        other => return Err(unsupported(&format!("signature algorithm {}", der::oid_text(other)))),
    };
    let hash = named.ok_or_else(|| unsupported("a signature without a hash algorithm"))?;
    verify_digest(public_key, generic, Prehash::Sha2(hash, &hash.digest(message)), signature)
}

/// A message digest and the algorithm that made it.
#[derive(Clone, Copy)]
enum Prehash<'a> {
    Sha1(&'a [u8]),
    Sha2(HashAlgorithm, &'a [u8]),
}

/// Verifies a signature over a digest; `key_type` is id-ecPublicKey or
/// rsaEncryption, and must be the key's type (else the signature does not verify).
fn verify_digest(public_key: &[u8], key_type: &[u8], prehash: Prehash<'_>, signature: &[u8]) -> Result<bool> {
    const WHAT: &str = "public key";
    let spki = Reader::single(public_key, der::SEQUENCE, WHAT)?;
    let mut parts = spki.reader(WHAT);
    let key_algorithm = parts.expect(der::SEQUENCE)?;
    let key_bits = parts.expect(der::BIT_STRING)?.bit_string(WHAT)?;
    let mut key_algorithm = key_algorithm.reader(WHAT);
    let actual_type = key_algorithm.expect(der::OID)?.value;
    if actual_type != oids::EC_PUBLIC_KEY && actual_type != oids::RSA_ENCRYPTION {
        return Err(unsupported(&format!("public key algorithm {}", der::oid_text(actual_type))));
    }
    if actual_type != key_type {
        return Ok(false);
    }
    let digest = match prehash {
        Prehash::Sha1(d) | Prehash::Sha2(_, d) => d,
    };
    if actual_type == oids::EC_PUBLIC_KEY {
        let curve = key_algorithm.expect(der::OID)?.value;
        let ok = match curve {
            oids::P256 => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bits)
                    .map_err(|_| malformed(WHAT, "not a point on P-256"))?;
                p256::ecdsa::Signature::from_der(signature).is_ok_and(|s| key.verify_prehash(digest, &s).is_ok())
            }
            oids::P384 => {
                let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bits)
                    .map_err(|_| malformed(WHAT, "not a point on P-384"))?;
                p384::ecdsa::Signature::from_der(signature).is_ok_and(|s| key.verify_prehash(digest, &s).is_ok())
            }
            other => return Err(unsupported(&format!("elliptic curve {}", der::oid_text(other)))),
        };
        return Ok(ok);
    }
    let key =
        rsa::RsaPublicKey::from_public_key_der(public_key).map_err(|_| malformed(WHAT, "not an RSA public key"))?;
    let scheme = match prehash {
        Prehash::Sha1(_) => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
        Prehash::Sha2(HashAlgorithm::Sha256, _) => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
        Prehash::Sha2(HashAlgorithm::Sha384, _) => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
        Prehash::Sha2(HashAlgorithm::Sha512, _) => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
    };
    Ok(key.verify(scheme, digest, signature).is_ok())
}

/// A distinguished name as text, attributes in encoded order, e.g.
/// `O=local, CN=Test TSA`; attributes without a short name are shown by OID.
pub(crate) fn name_text(name: &[u8]) -> String {
    fn attributes(name: &[u8]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut sets = Reader::single(name, der::SEQUENCE, "name")?.reader("name");
        while !sets.is_empty() {
            let mut set = sets.expect(der::SET)?.reader("name");
            while !set.is_empty() {
                let mut pair = set.expect(der::SEQUENCE)?.reader("name");
                let oid = pair.expect(der::OID)?.value;
                let value = pair.read()?;
                let label = match oid {
                    oids::COMMON_NAME => "CN".to_owned(),
                    oids::COUNTRY => "C".to_owned(),
                    oids::LOCALITY => "L".to_owned(),
                    oids::STATE => "ST".to_owned(),
                    oids::ORGANIZATION => "O".to_owned(),
                    oids::ORGANIZATIONAL_UNIT => "OU".to_owned(),
                    oids::SERIAL_NUMBER => "serialNumber".to_owned(),
                    other => der::oid_text(other),
                };
                let text = match value.tag {
                    // BMPString: UTF-16BE.
                    0x1e => {
                        let units: Vec<u16> = value
                            .value
                            .chunks(2)
                            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                            .collect();
                        String::from_utf16_lossy(&units)
                    }
                    _ => String::from_utf8_lossy(value.value).into_owned(),
                };
                out.push(format!("{label}={text}"));
            }
        }
        Ok(out)
    }
    match attributes(name) {
        Ok(list) if !list.is_empty() => list.join(", "),
        Ok(_) => "(empty name)".to_owned(),
        Err(_) => "(unreadable name)".to_owned(),
    }
}

/// The DER certificates of a certificate file: PEM (`-----BEGIN CERTIFICATE-----`
/// blocks; other blocks and text between them are ignored) or one DER certificate.
///
/// # Errors
/// [`ErrorCode::TimestampMalformed`](crate::ErrorCode::TimestampMalformed) when a
/// block is not base64 or not a certificate, or when there is no certificate.
pub fn read_certificates(file: &[u8]) -> Result<Vec<Vec<u8>>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    if file.first() == Some(&der::SEQUENCE) {
        Certificate::parse(file)?;
        return Ok(vec![file.to_vec()]);
    }
    let pem = std::str::from_utf8(file).map_err(|_| malformed("certificate file", "neither PEM nor DER"))?;
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let body_start = start + BEGIN.len();
        let end =
            rest[body_start..].find(END).ok_or_else(|| malformed("PEM", "a certificate block has no END line"))?;
        let body: String = rest[body_start..body_start + end].chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der_bytes =
            crate::encoding::b64_decode(&body).ok_or_else(|| malformed("PEM", "a certificate block is not base64"))?;
        Certificate::parse(&der_bytes)?;
        out.push(der_bytes);
        rest = &rest[body_start + end + END.len()..];
    }
    if out.is_empty() {
        return Err(malformed("certificate file", "no certificate found"));
    }
    Ok(out)
}

/// One DER certificate as PEM.
pub fn certificate_to_pem(der_bytes: &[u8]) -> String {
    let body = crate::encoding::b64(der_bytes);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}
