//! Sign an event into a hash-chained log and verify the receipt, as in the README.
use evidentia::{ChainState, KeySet, SigningKey, Timestamp, issue_receipt, verify_receipt};

fn main() -> Result<(), evidentia::Error> {
    let key = SigningKey::generate()?;
    let mut log = ChainState::new("example.com/payments")?;
    let event = br#"{"type": "payment.approved", "amount": "1250.00", "currency": "EUR"}"#;
    let time = Timestamp::parse("2026-11-22T10:30:00Z")?;
    let issued = issue_receipt(&key, &mut log, event, time, Some("req-42"))?;

    // Anyone holding the public key (JWKS) can check the receipt, offline, years later.
    let keys = KeySet::from_json(&key.public_jwk())?;
    let report = verify_receipt(issued.receipt.as_str(), &keys, Some(event))?;
    println!("{}", report.summary()); // VALID: receipt, all 4 checks passed
    assert!(report.is_valid());
    Ok(())
}
