//! Receipts signed by a key that never leaves the platform's hardware (Android
//! Keystore, Secure Enclave): Kotlin or Swift code implements `Signer`; the core
//! makes the record and the signing input, the platform signs, and the core checks
//! the signature and assembles the receipt.

use std::sync::{Arc, Mutex};

use evidentia::{ErrorCode, PublicKey, Timestamp};

use crate::error::{Result, fail};

/// A P-256 signing key held by the platform, implemented in Kotlin or Swift.
#[uniffi::export(with_foreign)]
pub trait Signer: Send + Sync {
    /// The public key as JWK text (`kty` EC, `crv` P-256, `x`, `y`).
    fn public_jwk(&self) -> String;

    /// Signs `message` with ECDSA P-256 / SHA-256 (Android `SHA256withECDSA`,
    /// Apple `ecdsaSignatureMessageX962SHA256`) and returns the signature as ASN.1
    /// DER or as 64 bytes `R || S`. Throwing makes the receipt fail with
    /// `SIGNER_FAILED`.
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>>;
}

/// A `Signer` of the platform as the core's signer seam: the core checks each
/// signature with the public key before using it.
struct PlatformSigner {
    signer: Arc<dyn Signer>,
    key: PublicKey,
}

impl evidentia::Signer for PlatformSigner {
    fn public_key(&self) -> &PublicKey {
        &self.key
    }

    fn sign_message(&self, message: &[u8]) -> evidentia::Result<Vec<u8>> {
        // A throwing signer already became SIGNER_FAILED with its exception's text.
        self.signer
            .sign(message.to_vec())
            .map_err(|e| evidentia::Error::new(ErrorCode::SignerFailed, e.parts().2.to_owned()))
    }
}

/// A chain of receipts held in memory (core's `ReceiptChain`), each signed by a
/// `Signer`: the record chain of a log (log id, sequence numbers, links to the
/// previous record) for devices that keep their receipts themselves. Resume a chain
/// after a restart from its newest receipt.
#[derive(Debug, uniffi::Object)]
pub struct ReceiptChain {
    chain: Mutex<evidentia::ReceiptChain>,
}

fn lock_failed() -> crate::EvidentiaError {
    fail(ErrorCode::Internal, "a thread panicked while issuing a receipt")
}

#[uniffi::export]
impl ReceiptChain {
    /// A new chain for the log id (printable ASCII, no spaces).
    #[uniffi::constructor]
    pub fn new(log_id: String) -> Result<Arc<ReceiptChain>> {
        Ok(Arc::new(ReceiptChain { chain: Mutex::new(evidentia::ReceiptChain::new(&log_id)?) }))
    }

    /// The chain continuing after `receipt`, the newest receipt it issued.
    #[uniffi::constructor]
    pub fn resume(receipt: String) -> Result<Arc<ReceiptChain>> {
        Ok(Arc::new(ReceiptChain { chain: Mutex::new(evidentia::ReceiptChain::resume(&receipt)?) }))
    }

    /// Issues the next receipt for an event (JSON text): the platform signs, the core
    /// checks the signature with the signer's public key before returning. `time`
    /// (RFC 3339 UTC) defaults to now, never earlier than the last record's; `nonce`
    /// binds a request id into the record.
    #[uniffi::method(default(nonce = None, time = None))]
    pub fn issue(
        &self,
        signer: Arc<dyn Signer>,
        event: String,
        nonce: Option<String>,
        time: Option<String>,
    ) -> Result<String> {
        let key = PublicKey::from_jwk(&signer.public_jwk())?;
        let time = time.map(|time| Timestamp::parse(&time)).transpose()?;
        let now = Timestamp::from_system_time(std::time::SystemTime::now())?;
        // Held across the platform's signature, so that receipts are chained in order.
        let mut chain = self.chain.lock().map_err(|_| lock_failed())?;
        let issued = chain.issue(&PlatformSigner { signer, key }, event.as_bytes(), now, time, nonce.as_deref())?;
        Ok(issued.receipt.as_str().to_owned())
    }

    /// The log id.
    pub fn log_id(&self) -> Result<String> {
        Ok(self.chain.lock().map_err(|_| lock_failed())?.log_id().to_owned())
    }

    /// How many receipts the chain has issued: the next receipt's sequence number.
    pub fn length(&self) -> Result<u64> {
        Ok(self.chain.lock().map_err(|_| lock_failed())?.len())
    }
}
