//! Salted commitments to events, field by field (SPEC.md §26).
//!
//! A record can commit to its event through a commitment instead of the event's
//! own canonical form. Each top-level member of the event becomes a *disclosure*,
//! the base64url form of the JSON array `[salt, name, value]`, exactly as an
//! SD-JWT disclosure (RFC 9901 §4.2.1); the commitment lists the SHA-256 digests
//! of the disclosures, and the record's event digest is the digest of the
//! commitment. So:
//!
//! - no one holding a receipt can confirm a guessed event by hashing it: every
//!   member is hidden behind a salt of 128 bits;
//! - a member can be shown on its own, with its disclosure, and checked against
//!   the signed record without the others, which stay hidden;
//! - the event and its salt can be deleted while the commitment, and so every
//!   receipt and proof, stays valid.
//!
//! Each member's salt is derived from one event salt (HMAC-SHA256 keyed with it,
//! over the member's name), so a store keeps one salt per event and a caller who
//! supplies the salt gets the same bytes in every language.

use std::collections::HashSet;

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::digest::Digest;
use crate::encoding::{b64url, b64url_decode};
use crate::error::{Error, ErrorCode, Result};
use crate::json::{ParseOptions, Value, canonicalize, canonicalize_value, compare_names, parse};

/// The shortest event salt: 128 bits.
pub const MIN_SALT_BYTES: usize = 16;
/// The longest event salt.
pub const MAX_SALT_BYTES: usize = 64;
/// The bytes of each member's salt (derived from the event salt).
const MEMBER_SALT_BYTES: usize = 16;
/// The digest algorithm a commitment names, in RFC 9901's registry spelling.
pub const COMMITMENT_ALGORITHM: &str = "sha-256";

/// An event's commitment and the disclosures that open it.
#[derive(Clone, Debug, PartialEq)]
pub struct Commitment {
    /// The canonical commitment document, `{"_sd":[…],"_sd_alg":"sha-256"}`.
    pub document: Vec<u8>,
    /// One disclosure per top-level member of the event, in the event's canonical
    /// member order (one disclosure of the whole event when it is not an object).
    pub disclosures: Vec<Disclosure>,
}

impl Commitment {
    /// The digest a record holds as its event digest: SHA-256 of [`Self::document`].
    pub fn digest(&self) -> Digest {
        Digest::sha256(&self.document)
    }

    /// The commitment as bindings return it: `{"commitment": the document as text,
    /// "event_digest": "sha256:…", "disclosures": [{"name", "disclosure", "digest"}]}`
    /// (no `name` for the disclosure of an event that is not an object).
    pub fn to_value(&self) -> Value {
        let disclosures = self.disclosures.iter().map(|d| {
            let mut members = vec![("disclosure", Value::string(d.encoded())), ("digest", Value::string(d.digest()))];
            if let Some(name) = d.name() {
                members.push(("name", Value::string(name)));
            }
            Value::object(members)
        });
        Value::object([
            ("commitment", Value::string(String::from_utf8_lossy(&self.document))),
            ("disclosures", Value::Array(disclosures.collect())),
            ("event_digest", Value::string(self.digest().to_string())),
        ])
    }

    /// The disclosure of the member `name`, if the event has one.
    pub fn disclosure(&self, name: &str) -> Option<&Disclosure> {
        self.disclosures.iter().find(|d| d.name() == Some(name))
    }
}

/// One disclosure: a member of an event (or a whole event that is not an object)
/// with its salt, in the base64url form its digest is taken of.
#[derive(Clone, Debug, PartialEq)]
pub struct Disclosure {
    encoded: String,
    name: Option<String>,
    value: Value,
}

impl Disclosure {
    /// Reads a disclosure: base64url (no padding) of a JSON array of a salt and a
    /// value, with a member name between them for a member of an object. The
    /// array need not be canonical; its digest is taken of the text as given.
    ///
    /// # Errors
    /// [`ErrorCode::CommitmentMalformed`] for anything else.
    pub fn parse(encoded: &str) -> Result<Disclosure> {
        let malformed = |what: &str| Error::new(ErrorCode::CommitmentMalformed, format!("a disclosure {what}"));
        let json = b64url_decode(encoded).ok_or_else(|| malformed("is not base64url without padding"))?;
        let value = parse(&json).map_err(|e| malformed(&format!("is not JSON: {}", e.message())))?;
        let Some(items) = value.as_array() else {
            return Err(malformed("is not a JSON array"));
        };
        let salt_ok = |salt: &Value| salt.as_str().is_some_and(|s| !s.is_empty());
        let (name, value) = match items {
            [salt, value] if salt_ok(salt) => (None, value.clone()),
            [salt, Value::String(name), value] if salt_ok(salt) => (Some(name.clone()), value.clone()),
            _ => return Err(malformed("is not [salt, name, value] or [salt, value] with a non-empty string salt")),
        };
        Ok(Disclosure { encoded: encoded.to_owned(), name, value })
    }

    /// The base64url text, as it is disclosed.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The member's name; `None` for the disclosure of a whole event that is not an object.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The member's value (or the whole event).
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The disclosure's digest as a commitment lists it: base64url of SHA-256 of
    /// the ASCII of [`Self::encoded`] (RFC 9901 §4.2.3).
    pub fn digest(&self) -> String {
        b64url(Digest::sha256(self.encoded.as_bytes()).as_bytes())
    }
}

/// Commits to an event with an event salt of 16 to 64 bytes (use fresh random
/// bytes; a fixed salt only for test vectors).
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] for a salt of another length; a `Json*` code
/// for an event that cannot be canonicalized.
pub fn commit(event: &Value, salt: &[u8]) -> Result<Commitment> {
    if !(MIN_SALT_BYTES..=MAX_SALT_BYTES).contains(&salt.len()) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "an event salt must be {MIN_SALT_BYTES} to {MAX_SALT_BYTES} bytes (128 random bits at least), not {}",
                salt.len()
            ),
        ));
    }
    // A verifier reads each disclosure and the document with the default limits,
    // and a disclosure, like what a check returns, nests the event's values one
    // level deeper than the event: so the event stays one level inside the limit,
    // and nothing is committed to that could not be checked.
    let limits = ParseOptions::default();
    if depth(event) >= limits.max_depth {
        return Err(Error::new(
            ErrorCode::JsonTooDeep,
            format!("an event committed to may nest at most {} levels deep", limits.max_depth - 1),
        ));
    }
    let disclose = |name: Option<String>, value: &Value| -> Result<Disclosure> {
        let mut array = vec![Value::string(member_salt(salt, name.as_deref().unwrap_or_default()))];
        array.extend(name.clone().map(Value::String));
        array.push(value.clone());
        let json = canonicalize_value(&Value::Array(array))?;
        if json.len() > limits.max_size {
            return Err(too_large("a member's disclosure", json.len(), limits.max_size));
        }
        Ok(Disclosure { encoded: b64url(&json), name, value: value.clone() })
    };
    let disclosures = match event {
        Value::Object(members) => {
            let mut members: Vec<&(String, Value)> = members.iter().collect();
            members.sort_by(|a, b| compare_names(&a.0, &b.0));
            if members.windows(2).any(|pair| pair[0].0 == pair[1].0) {
                return Err(Error::new(ErrorCode::JsonDuplicateKey, "the event has the same member name twice"));
            }
            members.into_iter().map(|(name, value)| disclose(Some(name.clone()), value)).collect::<Result<Vec<_>>>()?
        }
        _ => vec![disclose(None, event)?],
    };
    let document = commitment_document(disclosures.iter().map(Disclosure::digest).collect())?;
    if document.len() > limits.max_size {
        return Err(too_large("the commitment of an event of so many members", document.len(), limits.max_size));
    }
    Ok(Commitment { document, disclosures })
}

fn too_large(what: &str, size: usize, limit: usize) -> Error {
    Error::new(ErrorCode::JsonTooLarge, format!("{what} would be {size} bytes, more than the {limit} a verifier reads"))
}

/// How deeply arrays and objects nest in `value` (1 for `[]`, 0 for a string).
fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0)];
    while let Some((value, level)) = stack.pop() {
        let inner: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(members) => Box::new(members.iter().map(|(_, v)| v)),
            _ => continue,
        };
        deepest = deepest.max(level + 1);
        stack.extend(inner.map(|v| (v, level + 1)));
    }
    deepest
}

/// [`commit`] for an event given as JSON text (any JSON value, parsed strictly).
///
/// # Errors
/// As [`commit`], and a `Json*` code for text that is not JSON.
pub fn commit_json(event: &[u8], salt: &[u8]) -> Result<Commitment> {
    commit(&parse(event)?, salt)
}

/// The salt of one member: the first 16 bytes of HMAC-SHA256 keyed with the event
/// salt over the member's name (the empty name for an event that is not an object),
/// in base64url.
fn member_salt(event_salt: &[u8], name: &str) -> String {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(event_salt)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(name.as_bytes());
    b64url(&mac.finalize().into_bytes()[..MEMBER_SALT_BYTES])
}

/// The canonical commitment document listing `digests` in sorted order, so that
/// it tells nothing of which member each digest stands for.
fn commitment_document(mut digests: Vec<String>) -> Result<Vec<u8>> {
    digests.sort_unstable();
    canonicalize_value(&Value::object([
        ("_sd", Value::Array(digests.into_iter().map(Value::String).collect())),
        ("_sd_alg", Value::string(COMMITMENT_ALGORITHM)),
    ]))
}

/// What a set of disclosures shows of a committed event.
#[derive(Clone, Debug, PartialEq)]
pub struct Disclosed {
    /// The disclosures checked, in the order given.
    pub disclosures: Vec<Disclosure>,
    /// How many members stay undisclosed.
    pub undisclosed: usize,
}

impl Disclosed {
    /// What bindings return: `{"disclosed": the event as far as it is disclosed,
    /// "names": the disclosed members' names in the order given, "undisclosed": how
    /// many members stay hidden}`.
    pub fn to_value(&self) -> Value {
        let names = self.disclosures.iter().filter_map(Disclosure::name).map(Value::string).collect();
        let undisclosed = crate::json::Number::from_i64(i64::try_from(self.undisclosed).unwrap_or(i64::MAX))
            .map_or(Value::Null, Value::Number);
        Value::object([("disclosed", self.event()), ("names", Value::Array(names)), ("undisclosed", undisclosed)])
    }

    /// The event as far as it is disclosed: an object of the disclosed members, or
    /// the whole event when it is not an object and is disclosed.
    pub fn event(&self) -> Value {
        match self.disclosures.as_slice() {
            [only] if only.name.is_none() => only.value.clone(),
            disclosures => {
                Value::object(disclosures.iter().map(|d| (d.name.clone().unwrap_or_default(), d.value.clone())))
            }
        }
    }
}

/// Checks disclosures against a record's event digest: `document` must be a
/// canonical commitment document whose SHA-256 is `event_digest`, and each
/// disclosure's digest must be listed in it, once, for a different member.
///
/// # Errors
/// [`ErrorCode::CommitmentMalformed`] for a document or disclosure that does not
/// have its form; [`ErrorCode::EventMismatch`] when the document is not the one
/// the record commits to; [`ErrorCode::DisclosureMismatch`] for a disclosure the
/// commitment does not list, or one given twice or for a member already disclosed.
pub fn check_disclosures(event_digest: &Digest, document: &[u8], disclosures: &[&str]) -> Result<Disclosed> {
    let digests = read_document(document)?;
    if Digest::sha256(document) != *event_digest {
        return Err(Error::new(
            ErrorCode::EventMismatch,
            format!(
                "the commitment's digest is {}, the record's event digest {event_digest}",
                Digest::sha256(document)
            ),
        ));
    }
    let mismatch = |what: String| Error::new(ErrorCode::DisclosureMismatch, what);
    let mut checked: Vec<Disclosure> = Vec::with_capacity(disclosures.len());
    let mut names: HashSet<Option<String>> = HashSet::with_capacity(disclosures.len());
    for encoded in disclosures {
        let disclosure = Disclosure::parse(encoded)?;
        let digest = disclosure.digest();
        if digests.binary_search(&digest).is_err() {
            return Err(mismatch(format!("the commitment lists no disclosure with the digest {digest}")));
        }
        let whole = disclosure.name.is_none() || names.contains(&None);
        if (whole && !checked.is_empty()) || !names.insert(disclosure.name.clone()) {
            return Err(mismatch(format!(
                "a disclosure is given twice, or names a member already disclosed ({})",
                disclosure.name.as_deref().unwrap_or("the whole event")
            )));
        }
        if disclosure.name.is_none() && digests.len() != 1 {
            return Err(mismatch("a disclosure of a whole event, in a commitment to several members".to_owned()));
        }
        checked.push(disclosure);
    }
    Ok(Disclosed { undisclosed: digests.len() - checked.len(), disclosures: checked })
}

/// The sorted digests of a canonical commitment document.
fn read_document(document: &[u8]) -> Result<Vec<String>> {
    let malformed = |what: &str| {
        Error::new(ErrorCode::CommitmentMalformed, format!("the commitment {what}; SPEC.md §26 gives its form"))
    };
    let value = parse(document).map_err(|e| malformed(&format!("is not JSON ({})", e.message())))?;
    if canonicalize(document)? != document {
        return Err(malformed("is not in its canonical form"));
    }
    let (Some(members), Some(Value::Array(digests))) = (value.as_object(), value.get("_sd")) else {
        return Err(malformed("is not an object with an array \"_sd\""));
    };
    if members.len() != 2 || value.get("_sd_alg").and_then(Value::as_str) != Some(COMMITMENT_ALGORITHM) {
        return Err(malformed("must have exactly the members \"_sd\" and \"_sd_alg\": \"sha-256\""));
    }
    let digests: Vec<String> = digests
        .iter()
        .map(|d| match d.as_str() {
            Some(text) if text.len() == 43 && b64url_decode(text).is_some_and(|b| b.len() == 32) => Ok(text.to_owned()),
            _ => Err(malformed("lists a digest that is not 43 characters of base64url")),
        })
        .collect::<Result<_>>()?;
    if !digests.windows(2).all(|pair| pair[0] < pair[1]) {
        return Err(malformed("does not list its digests sorted and once each"));
    }
    Ok(digests)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: &[u8] = b"0123456789abcdef";

    fn event() -> Value {
        parse(br#"{"amount":1250,"currency":"EUR","payer":{"name":"Ada"}}"#).unwrap()
    }

    #[test]
    fn every_member_is_disclosed_and_checked_on_its_own() {
        let c = commit(&event(), SALT).unwrap();
        assert_eq!(c.disclosures.len(), 3);
        let amount = c.disclosure("amount").unwrap();
        let shown = check_disclosures(&c.digest(), &c.document, &[amount.encoded()]).unwrap();
        assert_eq!(shown.undisclosed, 2);
        assert_eq!(canonicalize_value(&shown.event()).unwrap(), br#"{"amount":1250}"#);
        let all: Vec<&str> = c.disclosures.iter().map(Disclosure::encoded).collect();
        let shown = check_disclosures(&c.digest(), &c.document, &all).unwrap();
        assert_eq!(shown.event(), event());
        assert_eq!(shown.undisclosed, 0);
    }

    #[test]
    fn the_salt_changes_every_digest_and_the_same_salt_none() {
        let a = commit(&event(), SALT).unwrap();
        assert_eq!(a, commit(&event(), SALT).unwrap());
        let b = commit(&event(), b"0123456789abcdeF").unwrap();
        assert_ne!(a.document, b.document);
        assert!(a.disclosures.iter().zip(&b.disclosures).all(|(x, y)| x.digest() != y.digest()));
        for bad in [&SALT[..15], &[7u8; 65][..]] {
            assert_eq!(commit(&event(), bad).unwrap_err().code(), ErrorCode::InvalidArgument);
        }
    }

    #[test]
    fn a_value_that_is_not_an_object_is_one_disclosure() {
        let c = commit(&Value::string("approved"), SALT).unwrap();
        let d = &c.disclosures[0];
        assert_eq!((d.name(), d.value()), (None, &Value::string("approved")));
        let shown = check_disclosures(&c.digest(), &c.document, &[d.encoded()]).unwrap();
        assert_eq!(shown.event(), Value::string("approved"));
    }

    #[test]
    fn wrong_or_repeated_disclosures_are_refused() {
        let c = commit(&event(), SALT).unwrap();
        let other = commit(&event(), b"0123456789abcdeF").unwrap();
        let amount = c.disclosure("amount").unwrap().encoded();
        let code = |digest: &Digest, doc: &[u8], ds: &[&str]| check_disclosures(digest, doc, ds).unwrap_err().code();
        let foreign = other.disclosure("amount").unwrap().encoded();
        assert_eq!(code(&c.digest(), &c.document, &[foreign]), ErrorCode::DisclosureMismatch);
        assert_eq!(code(&c.digest(), &c.document, &[amount, amount]), ErrorCode::DisclosureMismatch);
        assert_eq!(code(&other.digest(), &c.document, &[amount]), ErrorCode::EventMismatch);
        assert_eq!(code(&c.digest(), &c.document, &["not base64!"]), ErrorCode::CommitmentMalformed);
        let spaced = String::from_utf8(c.document.clone()).unwrap().replace(',', ", ");
        let spaced_digest = Digest::sha256(spaced.as_bytes());
        assert_eq!(code(&spaced_digest, spaced.as_bytes(), &[amount]), ErrorCode::CommitmentMalformed);
        // A disclosure of the same member under another salt that a forged
        // commitment lists cannot be passed off against the real one.
        let forged = b64url(br#"["AAAAAAAAAAAAAAAAAAAAAA","amount",1]"#);
        assert_eq!(code(&c.digest(), &c.document, &[&forged]), ErrorCode::DisclosureMismatch);
    }

    #[test]
    fn nothing_is_committed_to_that_a_verifier_could_not_check() {
        // Nested 127 deep, an event commits, and its disclosure, and what a check
        // returns, are read back and written with the default limits; 128 deep is refused.
        let nested = |levels: usize| {
            let text = format!("{{\"a\":{}1{}}}", "[".repeat(levels - 1), "]".repeat(levels - 1));
            parse(text.as_bytes()).unwrap()
        };
        let c = commit(&nested(127), SALT).unwrap();
        let shown = check_disclosures(&c.digest(), &c.document, &[c.disclosures[0].encoded()]).unwrap();
        assert!(canonicalize_value(&shown.to_value()).is_ok());
        assert_eq!(commit(&nested(128), SALT).unwrap_err().code(), ErrorCode::JsonTooDeep);
        // A value of nearly 16 MiB commits only when its disclosure is within them.
        let big = Value::string("x".repeat(16 * 1024 * 1024 - 10));
        assert_eq!(commit(&big, SALT).unwrap_err().code(), ErrorCode::JsonTooLarge);
        let fits = Value::string("x".repeat(16 * 1024 * 1024 - 40));
        let c = commit(&fits, SALT).unwrap();
        assert!(check_disclosures(&c.digest(), &c.document, &[c.disclosures[0].encoded()]).is_ok());
    }

    #[test]
    fn rfc_9901_disclosures_have_the_rfcs_digests() {
        // RFC 9901 §4.2.1 and §4.2.2 (../shared/vectors/sd-jwt): the digest is
        // over the disclosure's text as given, spaces and all.
        for (disclosure, digest, name, value) in [
            (
                "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
                "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0",
                Some("family_name"),
                "Möbius",
            ),
            ("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0", "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs", None, "FR"),
        ] {
            let d = Disclosure::parse(disclosure).unwrap();
            assert_eq!((d.digest().as_str(), d.name(), d.value()), (digest, name, &Value::string(value)));
            let document = commitment_document(vec![digest.to_owned()]).unwrap();
            let shown = check_disclosures(&Digest::sha256(&document), &document, &[disclosure]).unwrap();
            assert_eq!(shown.undisclosed, 0);
        }
    }
}
