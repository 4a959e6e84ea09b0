//! The receipt chain an application keeps itself, and the rule for record times
//! that it shares with the log store.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorCode, Result};
use crate::keys::PublicKey;
use crate::record::{ChainState, Issued, Receipt, UnsignedReceipt, issue_receipt};
use crate::signer::Signer;
use crate::time::Timestamp;

/// How far ahead of the clock a caller-given record time may be.
pub const MAX_AHEAD_OF_CLOCK: Duration = Duration::from_secs(300);

/// The time the next record of a chain gets: the rule every chain follows, in a log
/// or in memory (SPEC §13).
///
/// Without a given time it is the clock's, raised to the previous record's time
/// (and to `not_before`, when the signing key's validity starts later) when the
/// clock has stepped back, so that a chain never fails because its clock did. A
/// given time is taken as it is, or refused.
///
/// # Errors
/// [`ErrorCode::TimeRefused`] for a given time earlier than the previous record's
/// or than `not_before`, or more than [`MAX_AHEAD_OF_CLOCK`] ahead of `now`.
pub fn record_time(
    last: Option<Timestamp>,
    not_before: Option<Timestamp>,
    given: Option<Timestamp>,
    now: Timestamp,
) -> Result<Timestamp> {
    let Some(time) = given else {
        return Ok(last.into_iter().chain(not_before).fold(now, Timestamp::max));
    };
    let refused = |why: String| Error::new(ErrorCode::TimeRefused, why);
    if let Some(last) = last.filter(|last| time < *last) {
        return Err(refused(format!("the time {time} is earlier than the last record's time {last}")));
    }
    if let Some(nbf) = not_before.filter(|nbf| time < *nbf) {
        return Err(refused(format!("the time {time} is before the signing key became valid ({nbf})")));
    }
    if time > now.shifted(MAX_AHEAD_OF_CLOCK, false)? {
        return Err(refused(format!(
            "the time {time} is more than {} seconds ahead of the clock",
            MAX_AHEAD_OF_CLOCK.as_secs()
        )));
    }
    Ok(time)
}

impl Timestamp {
    /// A time read from the system clock by the caller (the core never reads one).
    ///
    /// # Errors
    /// [`ErrorCode::Internal`] when the clock is set before 1970 or after 9999.
    pub fn from_system_time(time: SystemTime) -> Result<Timestamp> {
        let since = time
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::new(ErrorCode::Internal, "the system clock is set before 1970"))?;
        let seconds = i64::try_from(since.as_secs())
            .map_err(|_| Error::new(ErrorCode::Internal, "the system clock is set after 9999"))?;
        Timestamp::from_unix(seconds, since.subsec_nanos())
            .map_err(|_| Error::new(ErrorCode::Internal, "the system clock is set after 9999"))
    }

    /// This time moved by `by`, forwards or (when `back`) backwards.
    ///
    /// # Errors
    /// [`ErrorCode::TimeInvalid`] when the result is outside years 0000–9999.
    pub fn shifted(self, by: Duration, back: bool) -> Result<Timestamp> {
        let nanos = i128::from(self.unix_seconds()) * 1_000_000_000 + i128::from(self.subsec_nanos());
        let by = by.as_nanos() as i128;
        let moved = if back { nanos - by } else { nanos + by };
        let seconds = i64::try_from(moved.div_euclid(1_000_000_000))
            .map_err(|_| Error::new(ErrorCode::TimeInvalid, "the time is out of range"))?;
        Timestamp::from_unix(seconds, moved.rem_euclid(1_000_000_000) as u32)
    }
}

/// A chain of receipts kept in memory, for applications that store their receipts
/// themselves (their own database, a device): the record chain of a log (log id,
/// sequence numbers, links to the previous record) without the log's files. Resume
/// it after a restart from the newest receipt it issued. Its receipts verify as a
/// log's do. Every binding's `ReceiptChain` is this type; the binding supplies the
/// clock's time and, for keys held elsewhere, the signature.
#[derive(Clone, Debug)]
pub struct ReceiptChain {
    state: ChainState,
}

impl ReceiptChain {
    /// A new chain for the log id (printable ASCII, no spaces).
    ///
    /// # Errors
    /// [`ErrorCode::LogIdInvalid`] for an invalid log id.
    pub fn new(log_id: &str) -> Result<ReceiptChain> {
        Ok(ReceiptChain { state: ChainState::new(log_id)? })
    }

    /// The chain continuing after `receipt`, the newest receipt it issued.
    ///
    /// # Errors
    /// The errors of [`Receipt::parse`].
    pub fn resume(receipt: &str) -> Result<ReceiptChain> {
        Ok(ReceiptChain { state: ChainState::after(Receipt::parse(receipt)?.record()) })
    }

    /// The log id.
    pub fn log_id(&self) -> &str {
        self.state.log_id()
    }

    /// How many receipts the chain has issued: the next receipt's sequence number.
    pub fn len(&self) -> u64 {
        self.state.next_seq()
    }

    /// Whether the chain has issued no receipt yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Issues the next receipt for a JSON event, signed by `signer`, and moves past
    /// it. `now` is the clock's time; the record's time follows [`record_time`]
    /// (`time`, when given, is used as it is or refused).
    ///
    /// # Errors
    /// The errors of [`record_time`] and [`issue_receipt`]; the signer's. The chain
    /// is unchanged by a failure.
    pub fn issue(
        &mut self,
        signer: &dyn Signer,
        event_json: &[u8],
        now: Timestamp,
        time: Option<Timestamp>,
        nonce: Option<&str>,
    ) -> Result<Issued> {
        let time = record_time(self.state.last_time(), None, time, now)?;
        issue_receipt(signer, &mut self.state, event_json, time, nonce)
    }

    /// The next receipt, to be signed by a signer that answers later (a
    /// Promise-returning callback): the record and its signing input, for
    /// [`ReceiptChain::finish`]. Does not change the chain.
    ///
    /// # Errors
    /// As [`ReceiptChain::issue`].
    pub fn prepare(
        &self,
        key: &PublicKey,
        event_json: &[u8],
        now: Timestamp,
        time: Option<Timestamp>,
        nonce: Option<&str>,
    ) -> Result<UnsignedReceipt> {
        let time = record_time(self.state.last_time(), None, time, now)?;
        UnsignedReceipt::new(key, &self.state, event_json, time, nonce)
    }

    /// The receipt of a record [`ReceiptChain::prepare`] made, from its signature
    /// (DER or `R || S`, checked with the key); the chain moves past it.
    ///
    /// # Errors
    /// [`ErrorCode::SignerFailed`] for a signature that is malformed or does not
    /// verify; [`ErrorCode::InvalidArgument`] when the chain has moved on since the
    /// record was prepared (another receipt was issued in between).
    pub fn finish(&mut self, unsigned: UnsignedReceipt, signature: &[u8]) -> Result<Issued> {
        if unsigned.record().seq != self.state.next_seq() || unsigned.record().prev != self.state.last_digest() {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "the chain issued another receipt after this one was prepared; prepare it again",
            ));
        }
        let issued = unsigned.finish(signature)?;
        self.state.advance(issued.receipt.record())?;
        Ok(issued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn the_clock_stepping_back_never_moves_a_record_before_the_last() {
        assert_eq!(record_time(None, None, None, at(5)).unwrap(), at(5));
        assert_eq!(record_time(Some(at(9)), None, None, at(5)).unwrap(), at(9));
        assert_eq!(record_time(Some(at(1)), Some(at(7)), None, at(5)).unwrap(), at(7));
        assert_eq!(record_time(Some(at(1)), None, Some(at(3)), at(5)).unwrap(), at(3));
        assert_eq!(record_time(Some(at(1)), None, Some(at(305)), at(5)).unwrap(), at(305));
        for (last, nbf, given) in [(Some(at(4)), None, at(3)), (None, Some(at(4)), at(3)), (None, None, at(306))] {
            assert_eq!(record_time(last, nbf, Some(given), at(5)).unwrap_err().code(), ErrorCode::TimeRefused);
        }
    }

    #[test]
    fn a_chain_issues_in_order_and_refuses_a_stale_preparation() {
        let key = SigningKey::from_bytes(&[5u8; 32]).unwrap();
        let mut chain = ReceiptChain::new("app/chain").unwrap();
        let first = chain.issue(&key, br#"{"n":1}"#, at(10), None, Some("a")).unwrap();
        // The clock steps back: the record keeps the last record's time.
        let second = chain.issue(&key, br#"{"n":2}"#, at(2), None, None).unwrap();
        assert_eq!(second.receipt.record().time, at(10));
        assert_eq!(second.receipt.record().prev, Some(first.receipt.record().digest()));
        assert_eq!(chain.len(), 2);

        let unsigned = chain.prepare(key.public_key(), br#"{"n":3}"#, at(11), None, None).unwrap();
        let signature = key.sign_der(unsigned.signing_input());
        let mut resumed = ReceiptChain::resume(second.receipt.as_str()).unwrap();
        resumed.issue(&key, br#"{"n":3}"#, at(11), None, None).unwrap();
        assert_eq!(resumed.finish(unsigned.clone(), &signature).unwrap_err().code(), ErrorCode::InvalidArgument);
        let third = chain.finish(unsigned, &signature).unwrap();
        assert_eq!(third.receipt.record().seq, 2);
        assert_eq!(chain.len(), 3);
    }
}
