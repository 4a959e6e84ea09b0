//! The field index (`fields`): which records hold a value of an indexed payload
//! field, found without reading the log. A [`HashTable`] keyed by the fingerprint
//! of (field name, value); a value may be in many records. What an event is
//! indexed under is decided by the core ([`evidentia::lookup_terms`]); fingerprints
//! may collide, so a lookup reads each candidate record and keeps only those whose
//! terms really hold the value.

use evidentia::Digest;

use crate::config::FIELDS_FILE;
#[cfg(doc)]
use crate::table::HashTable;
use crate::table::{Fingerprint, Kind, truncated};

/// The field index's table.
pub(crate) const FIELDS: Kind = Kind { magic: *b"EVDF", what: "the field index", file: FIELDS_FILE };

/// The field index's tag (see [`HashTable`]): the first 4 bytes (as a
/// little-endian u32) of the SHA-256 of each field name's length (u32,
/// little-endian) and the name, in `log.json`'s order. A table of other fields
/// is rebuilt, not used.
pub(crate) fn tag(fields: &[String]) -> u32 {
    let mut bytes = Vec::new();
    for field in fields {
        bytes.extend_from_slice(&(field.len() as u32).to_le_bytes());
        bytes.extend_from_slice(field.as_bytes());
    }
    let digest = Digest::sha256(&bytes);
    let first = digest.as_bytes();
    u32::from_le_bytes([first[0], first[1], first[2], first[3]])
}

/// The fingerprint of a field's value: the first 16 bytes of the SHA-256 of the
/// field name's length (u32, little-endian), the name, the value's length (u32,
/// little-endian) and the value (UTF-8).
pub(crate) fn fingerprint(field: &str, value: &str) -> Fingerprint {
    let mut bytes = Vec::with_capacity(8 + field.len() + value.len());
    for part in [field, value] {
        bytes.extend_from_slice(&(part.len() as u32).to_le_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    truncated(&Digest::sha256(&bytes))
}

/// The fingerprints an event (canonical JSON) is indexed under for `fields`.
pub(crate) fn event_fingerprints(event: &[u8], fields: &[String]) -> Vec<Fingerprint> {
    evidentia::lookup_terms(event, fields)
        .into_iter()
        .filter_map(|(position, value)| fields.get(position).map(|field| fingerprint(field, &value)))
        .collect()
}

/// Whether an event (canonical JSON) holds `value` in `field`, as the core decides.
pub(crate) fn holds(event: &[u8], field: &str, value: &str) -> bool {
    evidentia::lookup_terms(event, &[field.to_owned()]).iter().any(|(_, v)| v == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_unambiguous() {
        assert_ne!(fingerprint("ab", "c"), fingerprint("a", "bc"));
        assert_ne!(fingerprint("a", "b"), fingerprint("b", "a"));
        assert_eq!(fingerprint("instruction_id", "INS-1"), fingerprint("instruction_id", "INS-1"));
    }
}
