//! Keys held elsewhere: a log signs through any `Signer`; a key that cannot sign for
//! its public key never becomes a log's key, and a failing signer writes nothing in
//! receipts mode and leaves its batch unsealed, not lost, in batch mode.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::path::PathBuf;

use evidentia::{ErrorCode, PublicKey, Result, Signer, SigningKey};
use evidentia_store::{AppendOptions, CreateOptions, Log, Mode, NewEvent, verify_dir};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("evidentia-signers-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Scratch(dir)
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32]).unwrap()
}

/// A key held elsewhere: answers in DER with `signs`, claiming `claims`' public key,
/// or fails while `failing` is set.
struct Remote {
    claims: PublicKey,
    signs: SigningKey,
    failing: Cell<bool>,
    calls: Cell<usize>,
}

impl Remote {
    fn new(claims: &SigningKey, signs: &SigningKey) -> Remote {
        Remote {
            claims: claims.public_key().clone(),
            signs: signs.clone(),
            failing: Cell::new(false),
            calls: Cell::new(0),
        }
    }
}

impl Signer for Remote {
    fn public_key(&self) -> &PublicKey {
        &self.claims
    }
    fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.calls.set(self.calls.get() + 1);
        if self.failing.get() {
            return Err(evidentia::Error::new(ErrorCode::SignerFailed, "the KMS is unreachable"));
        }
        Ok(self.signs.sign_der(message))
    }
}

fn options(mode: Mode) -> CreateOptions {
    CreateOptions { log_id: Some("signers.example/log".into()), mode, ..CreateOptions::default() }
}

#[test]
fn a_key_that_cannot_sign_for_its_public_key_never_becomes_the_logs_key() {
    let dir = scratch("mismatch");
    let mismatched = Remote::new(&key(1), &key(2));
    let err = Log::create(&dir.0, &mismatched, options(Mode::Batch)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignerFailed);
    assert!(!dir.0.exists(), "nothing was created");

    let good = Remote::new(&key(1), &key(1));
    let log = Log::create(&dir.0, &good, options(Mode::Batch)).unwrap();
    log.append(&good, br#"{"n":0}"#, None).unwrap();
    let keys_before = log.keys().to_json();
    let err = log.rotate(&good, &Remote::new(&key(3), &key(4)), None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignerFailed);
    assert_eq!(log.keys().to_json(), keys_before, "the key history is unchanged");
    log.append(&good, br#"{"n":1}"#, None).unwrap();
    log.rotate(&good, &Remote::new(&key(3), &key(3)), None).unwrap();
    drop(log);
    assert!(verify_dir(&dir.0, None, |_| {}).unwrap().is_valid());
}

#[test]
fn a_failing_signer_writes_nothing_in_receipts_mode_and_leaves_a_batch_unsealed() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("failing-{mode:?}"));
        let remote = Remote::new(&key(5), &key(5));
        let log = Log::create(&dir.0, &remote, options(mode)).unwrap();
        log.append(&remote, br#"{"n":0}"#, None).unwrap();
        remote.failing.set(true);
        let err = log.append(&remote, br#"{"n":1}"#, Some("retry-me")).unwrap_err();
        match mode {
            Mode::Receipts => {
                assert_eq!(err.code(), ErrorCode::SignerFailed);
                assert_eq!(log.len(), 1, "nothing was written");
            }
            Mode::Batch => {
                // Stored, not acknowledged: the error says so, and the next signature seals it.
                assert_eq!(err.code(), ErrorCode::RecordsUnsealed, "{}", err.message());
                assert!(err.message().contains("the KMS is unreachable"), "{}", err.message());
                assert_eq!(log.len(), 2);
            }
        }
        remote.failing.set(false);
        // An idempotent retry with the same nonce: appended now in receipts mode, in
        // batch mode the stored record, sealed now.
        let retry = [NewEvent { json: br#"{"n":1}"#, nonce: Some("retry-me") }];
        let retried = log.append_events(&remote, &retry, &AppendOptions { idempotent: true, ..Default::default() });
        let retried = retried.unwrap();
        assert_eq!((retried[0].seq, retried[0].replayed), (1, mode == Mode::Batch));
        assert_eq!(retried[0].checkpoint_size.is_some(), mode == Mode::Batch);
        assert_eq!(log.len(), 2);
        drop(log);
        let report = verify_dir(&dir.0, None, |_| {}).unwrap();
        assert!(report.is_valid(), "{mode:?}: {}", report.to_text());
        assert!(remote.calls.get() >= 3);
    }
}

/// A signer that uses the log it signs for, as a careless callback might.
struct Reentrant {
    key: SigningKey,
    log: std::cell::OnceCell<std::sync::Arc<Log>>,
}

impl Signer for Reentrant {
    fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }
    fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>> {
        if let Some(log) = self.log.get() {
            log.append(&self.key, br#"{"from":"inside the signer"}"#, None)?;
        }
        Ok(self.key.sign_der(message))
    }
}

#[test]
fn a_signer_using_its_own_log_gets_an_error_not_a_deadlock() {
    for mode in [Mode::Receipts, Mode::Batch] {
        let dir = scratch(&format!("reentrant-{mode:?}"));
        let signer = Reentrant { key: key(7), log: std::cell::OnceCell::new() };
        let log = std::sync::Arc::new(Log::create(&dir.0, &signer, options(mode)).unwrap());
        assert!(signer.log.set(std::sync::Arc::clone(&log)).is_ok());
        let err = log.append(&signer, br#"{"n":0}"#, None).unwrap_err();
        assert!(err.message().contains("must not use the log it signs for"), "{mode:?}: {}", err.message());
        // The log still works with a signer that behaves.
        log.append(&signer.key, br#"{"n":1}"#, None).unwrap();
        drop(log);
        assert!(signer.log.get().is_some());
        drop(signer);
        let report = verify_dir(&dir.0, None, |_| {}).unwrap();
        assert!(report.is_valid(), "{mode:?}: {}", report.to_text());
    }
}
