//! Key sets (JWKS, RFC 7517 §5) with a history of validity, so that evidence signed
//! before a rotation or revocation keeps verifying and evidence signed after does not.
//!
//! Validity metadata follows the historical-keys members of OpenID Federation 1.0:
//! `nbf` and `exp` (NumericDate: seconds since the epoch) and `revoked`
//! (`{"revoked_at": NumericDate, "reason": "..."}`) on each JWK.

use std::collections::HashSet;

use crate::error::{Error, ErrorCode, Result};
use crate::json::{Number, Value, parse};
use crate::keys::{ALGORITHM, PublicKey, canonical_text, jwk_thumbprint_value};
use crate::time::Timestamp;

/// When a key may be used: `not_before <= t < expires`, and `t < revoked_at`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validity {
    /// The key is not valid before this time (`nbf`).
    pub not_before: Option<Timestamp>,
    /// The key is not valid at or after this time (`exp`): a planned rotation.
    pub expires: Option<Timestamp>,
    /// The key was revoked at this time: evidence claiming a later time is rejected.
    pub revoked_at: Option<Timestamp>,
    /// Why the key was revoked (`keyCompromise`, `superseded`, ...), if it was.
    pub revocation_reason: Option<String>,
}

impl Validity {
    /// This validity with each time as a key set's JSON holds it (a NumericDate,
    /// SPEC.md §4.1), so that a set written and read back is the same set.
    ///
    /// # Errors
    /// [`ErrorCode::TimeInvalid`] for a time that rounds beyond the year 9999.
    pub fn as_numeric_dates(&self) -> Result<Validity> {
        let held = |t: Option<Timestamp>| t.map(Timestamp::as_numeric_date).transpose();
        Ok(Validity {
            not_before: held(self.not_before)?,
            expires: held(self.expires)?,
            revoked_at: held(self.revoked_at)?,
            revocation_reason: self.revocation_reason.clone(),
        })
    }

    /// Checks that a key with this validity may have signed at `time`.
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotYetValid`], [`ErrorCode::KeyExpired`] or [`ErrorCode::KeyRevoked`].
    pub fn check(&self, time: Timestamp) -> Result<()> {
        if let Some(revoked_at) = self.revoked_at
            && time >= revoked_at
        {
            return Err(Error::new(
                ErrorCode::KeyRevoked,
                format!("the key was revoked at {revoked_at}, and the record claims {time}"),
            ));
        }
        if let Some(nbf) = self.not_before
            && time < nbf
        {
            return Err(Error::new(
                ErrorCode::KeyNotYetValid,
                format!("the key only became valid at {nbf}, after the record's time {time}"),
            ));
        }
        if let Some(exp) = self.expires
            && time >= exp
        {
            return Err(Error::new(
                ErrorCode::KeyExpired,
                format!("the key stopped being valid at {exp}, before the record's time {time}"),
            ));
        }
        Ok(())
    }
}

/// One entry of a key set.
#[derive(Clone, Debug)]
pub struct KeyEntry {
    kid: Option<String>,
    thumbprint: String,
    key: std::result::Result<PublicKey, &'static str>,
    validity: Validity,
    jwk: Value,
}

impl KeyEntry {
    /// The entry's explicit `kid`, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The RFC 7638 thumbprint of the entry's key.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The key, if it is an ES256 signature key.
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.key.as_ref().ok()
    }

    /// The validity metadata.
    pub fn validity(&self) -> &Validity {
        &self.validity
    }

    /// The JWK as the key set holds it.
    pub(crate) fn jwk(&self) -> &Value {
        &self.jwk
    }

    fn matches(&self, kid: &str) -> bool {
        self.kid.as_deref() == Some(kid) || self.thumbprint == kid
    }
}

/// A set of public keys with their validity history.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    entries: Vec<KeyEntry>,
}

fn malformed(message: String) -> Error {
    Error::new(ErrorCode::KeySetMalformed, message)
}

fn numeric_date(value: &Value, what: &str, index: usize) -> Result<Timestamp> {
    let seconds = value
        .as_number()
        .map(Number::as_f64)
        .ok_or_else(|| malformed(format!("key {index}: '{what}' is not a NumericDate (seconds since 1970)")))?;
    Timestamp::from_numeric_date(seconds)
        .map_err(|_| malformed(format!("key {index}: '{what}' is outside the years 0000-9999")))
}

fn numeric_date_value(t: Timestamp) -> Value {
    // Timestamps are bounded to the years 0000–9999, far inside the finite range.
    Value::Number(Number::from_f64(t.to_numeric_date()).unwrap_or(Number::from(0)))
}

impl KeySet {
    /// This set, with the signature checks of its keys put to `oracle`
    /// ([`crate::deferred`]).
    pub(crate) fn deferred_to(&self, oracle: &std::sync::Arc<crate::deferred::Oracle>) -> KeySet {
        let entries = self.entries.iter().map(|entry| KeyEntry {
            key: entry.key.as_ref().map(|key| key.deferred_to(oracle)).map_err(|why| *why),
            ..entry.clone()
        });
        KeySet { entries: entries.collect() }
    }

    /// An empty key set.
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// A key set holding one key, valid at all times.
    pub fn single(key: &PublicKey) -> KeySet {
        let mut set = KeySet::new();
        // A fresh set cannot hold a duplicate.
        let _ = set.add(key, Validity::default());
        set
    }

    /// Reads a JWKS (`{"keys": [...]}`) or a single JWK.
    ///
    /// Entries that are not ES256 signature keys (other key types or curves, `use`
    /// other than `sig`, `key_ops` without `verify`, `alg` other than ES256) are kept
    /// but never selected for verification.
    ///
    /// # Errors
    /// [`ErrorCode::KeySetMalformed`] for structural problems or duplicate keys; `Key*`
    /// codes for an EC P-256 entry whose key material is invalid.
    pub fn from_json(text: &str) -> Result<KeySet> {
        let value = parse(text.as_bytes()).map_err(|e| malformed(format!("key set is not JSON: {e}")))?;
        let entries: Vec<&Value> = match (value.get("keys"), value.get("kty")) {
            (Some(Value::Array(keys)), _) => keys.iter().collect(),
            (Some(_), _) => return Err(malformed("key set member 'keys' is not an array".into())),
            (None, Some(_)) => vec![&value],
            (None, None) => return Err(malformed("neither a JWKS with 'keys' nor a single JWK".into())),
        };
        // Duplicates are found through hash sets: comparing each entry with every
        // earlier one took quadratic time, hours for a key set of 16 MiB.
        let mut set = KeySet::new();
        let mut thumbprints = HashSet::with_capacity(entries.len());
        let mut kids = HashSet::new();
        for (index, jwk) in entries.into_iter().enumerate() {
            let entry = KeySet::entry(jwk, index)?;
            if !thumbprints.insert(entry.thumbprint.clone()) {
                return Err(malformed(format!("key {} is listed twice", entry.thumbprint)));
            }
            if let Some(kid) = &entry.kid
                && !kids.insert(kid.clone())
            {
                return Err(malformed(format!("two keys share the kid {kid:?}")));
            }
            set.entries.push(entry);
        }
        Ok(set)
    }

    fn entry(jwk: &Value, index: usize) -> Result<KeyEntry> {
        if jwk.as_object().is_none() {
            return Err(malformed(format!("key {index} is not a JSON object")));
        }
        let thumbprint = jwk_thumbprint_value(jwk).map_err(|e| Error::new(e.code(), format!("key {index}: {e}")))?;
        let string = |name: &str| -> Result<Option<&str>> {
            match jwk.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(malformed(format!("key {index}: '{name}' is not a string"))),
            }
        };
        let kid = string("kid")?.map(str::to_owned);
        let key = match (string("kty")?, string("crv")?) {
            (Some("EC"), Some("P-256")) => {
                let key =
                    PublicKey::from_jwk_value(jwk).map_err(|e| Error::new(e.code(), format!("key {index}: {e}")))?;
                let key_ops = match jwk.get("key_ops") {
                    None => None,
                    Some(Value::Array(ops)) => Some(ops.iter().filter_map(Value::as_str).collect::<Vec<_>>()),
                    Some(_) => return Err(malformed(format!("key {index}: 'key_ops' is not an array"))),
                };
                if string("use")?.is_some_and(|u| u != "sig") {
                    Err("its 'use' is not 'sig'")
                } else if key_ops.is_some_and(|ops| !ops.contains(&"verify")) {
                    Err("its 'key_ops' do not include 'verify'")
                } else if string("alg")?.is_some_and(|a| a != ALGORITHM) {
                    Err("its 'alg' is not ES256")
                } else {
                    Ok(key)
                }
            }
            _ => Err("it is not an EC P-256 key"),
        };
        let mut validity = Validity {
            not_before: jwk.get("nbf").map(|v| numeric_date(v, "nbf", index)).transpose()?,
            expires: jwk.get("exp").map(|v| numeric_date(v, "exp", index)).transpose()?,
            ..Validity::default()
        };
        if let Some(revoked) = jwk.get("revoked") {
            let at = revoked
                .get("revoked_at")
                .ok_or_else(|| malformed(format!("key {index}: 'revoked' has no 'revoked_at'")))?;
            validity.revoked_at = Some(numeric_date(at, "revoked_at", index)?);
            validity.revocation_reason = match revoked.get("reason") {
                None => None,
                Some(Value::String(reason)) => Some(reason.clone()),
                Some(_) => return Err(malformed(format!("key {index}: revocation 'reason' is not a string"))),
            };
        }
        Ok(KeyEntry { kid, thumbprint, key, validity, jwk: jwk.clone() })
    }

    pub(crate) fn push(&mut self, entry: KeyEntry) -> Result<()> {
        for existing in &self.entries {
            if existing.thumbprint == entry.thumbprint {
                return Err(malformed(format!("key {} is listed twice", entry.thumbprint)));
            }
            if entry.kid.is_some() && existing.kid == entry.kid {
                return Err(malformed(format!("two keys share the kid {:?}", entry.kid.unwrap_or_default())));
            }
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Adds a key with its validity (its times as NumericDates hold them, see
    /// [`Validity::as_numeric_dates`]). Its `kid` is its thumbprint.
    ///
    /// # Errors
    /// [`ErrorCode::KeySetMalformed`] when the key is already in the set.
    pub fn add(&mut self, key: &PublicKey, validity: Validity) -> Result<()> {
        let jwk = parse(key.to_jwk().as_bytes())?;
        self.push(KeyEntry {
            kid: Some(key.kid().to_owned()),
            thumbprint: key.kid().to_owned(),
            key: Ok(key.clone()),
            validity: validity.as_numeric_dates()?,
            jwk,
        })
    }

    /// Changes the validity of the key with this kid (its times as NumericDates
    /// hold them).
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotFound`] when no such key is in the set.
    pub fn set_validity(&mut self, kid: &str, validity: Validity) -> Result<()> {
        let validity = validity.as_numeric_dates()?;
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.matches(kid))
            .ok_or_else(|| Error::new(ErrorCode::KeyNotFound, format!("no key with kid {kid} in the key set")))?;
        entry.validity = validity;
        Ok(())
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Selects the ES256 key for a JWS: by `kid` (an entry's explicit `kid` or its
    /// thumbprint), or, when the JWS has no `kid`, the set's only usable key.
    ///
    /// # Errors
    /// [`ErrorCode::KeyNotFound`] or [`ErrorCode::KeyAmbiguous`].
    pub fn select(&self, kid: Option<&str>) -> Result<(&PublicKey, &Validity)> {
        match kid {
            Some(kid) => {
                let matching: Vec<&KeyEntry> = self.entries.iter().filter(|e| e.matches(kid)).collect();
                match matching.as_slice() {
                    [] => Err(Error::new(ErrorCode::KeyNotFound, format!("no key with kid {kid} in the key set"))),
                    [entry] => match &entry.key {
                        Ok(key) => Ok((key, &entry.validity)),
                        Err(why) => Err(Error::new(
                            ErrorCode::KeyNotFound,
                            format!("the key with kid {kid} cannot verify ES256 signatures: {why}"),
                        )),
                    },
                    _ => Err(Error::new(ErrorCode::KeyAmbiguous, format!("more than one key matches kid {kid}"))),
                }
            }
            None => {
                let mut keys = self.entries.iter().filter_map(|e| e.key.as_ref().ok().map(|k| (k, &e.validity)));
                match (keys.next(), keys.next()) {
                    (Some(only), None) => Ok(only),
                    (None, _) => Err(Error::new(ErrorCode::KeyNotFound, "the key set holds no ES256 signature key")),
                    (Some(_), Some(_)) => Err(Error::new(
                        ErrorCode::KeyAmbiguous,
                        "the JWS has no kid and the key set holds more than one ES256 key",
                    )),
                }
            }
        }
    }

    /// The key set as canonical JWKS text, validity metadata included.
    pub fn to_json(&self) -> String {
        let keys = self
            .entries
            .iter()
            .map(|entry| {
                let Value::Object(mut members) = entry.jwk.clone() else { unreachable!("entries are objects") };
                members.retain(|(name, _)| !matches!(name.as_str(), "nbf" | "exp" | "revoked"));
                let v = &entry.validity;
                if let Some(t) = v.not_before {
                    members.push(("nbf".into(), numeric_date_value(t)));
                }
                if let Some(t) = v.expires {
                    members.push(("exp".into(), numeric_date_value(t)));
                }
                if let Some(t) = v.revoked_at {
                    let mut revoked = vec![("revoked_at".to_owned(), numeric_date_value(t))];
                    if let Some(reason) = &v.revocation_reason {
                        revoked.push(("reason".into(), Value::from(reason.as_str())));
                    }
                    members.push(("revoked".into(), Value::Object(revoked)));
                }
                Value::Object(members)
            })
            .collect();
        canonical_text(&Value::object([("keys", Value::Array(keys))]))
    }
}
