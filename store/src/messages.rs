//! Signed messages in a log (SPEC.md §21): recording one, with its link checked
//! against the record it names, and reading one back. What a signed message is,
//! and checking it, is core's ([`evidentia::SignedMessage`]); this file only
//! touches the log.

use evidentia::json::parse;
use evidentia::{Digest, Error, ErrorCode, Link, Result, Reverification, SignedMessage, Signer, entry_record_digest};

use crate::reader::LogReader;
use crate::segments::Entry;
use crate::writer::{AppendOptions, Appended, Log, NewEvent, now};

/// The sequence number and record digest of a stored entry, if it can be read.
pub(crate) fn record_digest(entry: &Entry) -> Option<(u64, Digest)> {
    entry_record_digest(match entry {
        Entry::Receipt { receipt, .. } => receipt.as_bytes(),
        Entry::Record { record, .. } => record.as_slice(),
    })
}

/// The link to an entry: its sequence number and its record's digest.
fn link_to_entry(seq: u64, entry: &Entry) -> Result<Link> {
    let (stored_seq, record) = record_digest(entry)
        .ok_or_else(|| Error::new(ErrorCode::LogCorrupt, format!("record {seq} cannot be read")))?;
    if stored_seq != seq {
        return Err(Error::new(ErrorCode::LogCorrupt, format!("the entry at {seq} holds record {stored_seq}")));
    }
    Ok(Link { seq, record })
}

/// Checks the signed message record `seq` holds again, now.
fn reverify(seq: u64, entry: &Entry) -> Result<Reverification> {
    let message = message_of(entry)?.ok_or_else(|| {
        Error::new(ErrorCode::InvalidArgument, format!("record {seq} holds an event, not a signed message"))
    })?;
    Ok(message.reverification(now()?))
}

/// The signed message an entry holds, if it holds one.
fn message_of(entry: &Entry) -> Result<Option<SignedMessage>> {
    let event = entry.readable_event()?;
    let value = parse(event).map_err(|e| Error::new(ErrorCode::LogCorrupt, format!("a stored event: {e}")))?;
    SignedMessage::from_event(&value)
}

impl Log {
    /// The link to record `seq`, for a message that answers it.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] when the log has no record `seq`.
    pub fn link_to(&self, seq: u64) -> Result<Link> {
        link_to_entry(seq, &self.entry(seq)?)
    }

    /// Records a signed message that core made and checked
    /// ([`SignedMessage::verify_new`]), after checking that its link, if any, names
    /// a record of this log exactly.
    ///
    /// # Errors
    /// [`ErrorCode::LinkMismatch`] for a link to a record that is not in the log or
    /// differs; otherwise as [`Log::append_events`].
    pub fn record_message(
        &self,
        key: &dyn Signer,
        message: &SignedMessage,
        nonce: Option<&str>,
        options: &AppendOptions,
    ) -> Result<Appended> {
        if let Some(link) = &message.link {
            let found = if link.seq < self.len() { Some(self.link_to(link.seq)?) } else { None };
            if found.as_ref() != Some(link) {
                return Err(Error::new(
                    ErrorCode::LinkMismatch,
                    format!("the message links to record {}, which is not in this log as named", link.seq),
                ));
            }
        }
        let event = message.to_event_bytes();
        let mut appended = self.append_events(key, &[NewEvent { json: &event, nonce }], options)?;
        appended.pop().ok_or_else(|| Error::new(ErrorCode::Internal, "an append acknowledged no record"))
    }

    /// The signed message record `seq` holds; `None` when it holds another event.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] beyond the log; [`ErrorCode::MessageMalformed`].
    pub fn message(&self, seq: u64) -> Result<Option<SignedMessage>> {
        message_of(&self.entry(seq)?)
    }

    /// Checks the signed message record `seq` holds again, now, with the keys
    /// recorded with it (SPEC.md §21.5).
    ///
    /// # Errors
    /// [`ErrorCode::InvalidArgument`] beyond the log or for a record holding
    /// another event; [`ErrorCode::MessageMalformed`].
    pub fn verify_message(&self, seq: u64) -> Result<Reverification> {
        reverify(seq, &self.entry(seq)?)
    }
}

impl LogReader {
    /// The link to record `seq`, as [`Log::link_to`].
    ///
    /// # Errors
    /// As [`Log::link_to`].
    pub fn link_to(&self, seq: u64) -> Result<Link> {
        link_to_entry(seq, &self.entry(seq)?)
    }

    /// The signed message record `seq` holds, as [`Log::message`].
    ///
    /// # Errors
    /// As [`Log::message`].
    pub fn message(&self, seq: u64) -> Result<Option<SignedMessage>> {
        message_of(&self.entry(seq)?)
    }

    /// Checks a recorded message again, as [`Log::verify_message`].
    ///
    /// # Errors
    /// As [`Log::verify_message`].
    pub fn verify_message(&self, seq: u64) -> Result<Reverification> {
        reverify(seq, &self.entry(seq)?)
    }
}
