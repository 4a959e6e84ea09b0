//! Receipts kept by the application itself: a record chain in memory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use evidentia::{ErrorCode, Signer};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{Blocking, Result, error, fail, guard, json_text, optional_text, text};
use crate::log::{AppendOptions, time};
use crate::signer::{Key, KeyArgument};
use crate::size_to_js;

/// A chain of receipts held in memory (core's `ReceiptChain`): the record chain of a log (log id, sequence
/// numbers, links to the previous record) for applications that store receipts
/// themselves, in their own database. Resume after a restart from the newest
/// receipt. Receipts verify as a log's do; the chain writes nothing to disk.
#[napi]
pub struct ReceiptChain {
    /// Shared with the worker that finishes an `issueAsync`; locked only briefly,
    /// never while a signer is asked.
    chain: Arc<Mutex<evidentia::ReceiptChain>>,
    /// Set while an `issueAsync` waits for its signature: the chain issues one
    /// receipt at a time, and refuses another until that one is done.
    pending: Arc<AtomicBool>,
}

/// Clears the pending flag when the `issueAsync` that set it is done, whatever
/// its outcome.
struct Pending(Arc<AtomicBool>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn busy() -> napi::Error<crate::convert::Code> {
    fail(
        ErrorCode::InvalidArgument,
        "the chain is waiting for the signature of an earlier issueAsync: await it before issuing the next receipt",
    )
}

fn lock(chain: &Mutex<evidentia::ReceiptChain>) -> Result<MutexGuard<'_, evidentia::ReceiptChain>> {
    chain.lock().map_err(|_| fail(ErrorCode::Internal, "the chain was poisoned by a panic"))
}

impl ReceiptChain {
    fn wrap(chain: evidentia::ReceiptChain) -> ReceiptChain {
        ReceiptChain { chain: Arc::new(Mutex::new(chain)), pending: Arc::new(AtomicBool::new(false)) }
    }

    /// The chain, unless an `issueAsync` is waiting for its signature.
    fn idle(&self) -> Result<MutexGuard<'_, evidentia::ReceiptChain>> {
        if self.pending.load(Ordering::Acquire) {
            return Err(busy());
        }
        lock(&self.chain)
    }
}

#[napi]
impl ReceiptChain {
    /// A new chain for the log id (printable ASCII, no spaces).
    #[napi(constructor)]
    pub fn new(#[napi(ts_arg_type = "string")] log_id: Unknown<'_>) -> Result<ReceiptChain> {
        guard(|| Ok(ReceiptChain::wrap(evidentia::ReceiptChain::new(&text(&log_id, "the log id")?).map_err(error)?)))
    }

    /// The chain continuing after `receipt`, the newest receipt it issued.
    #[napi(factory)]
    pub fn resume(#[napi(ts_arg_type = "string")] receipt: Unknown<'_>) -> Result<ReceiptChain> {
        guard(|| Ok(ReceiptChain::wrap(evidentia::ReceiptChain::resume(&text(&receipt, "receipt")?).map_err(error)?)))
    }

    /// Signs the receipt of the next record, for an event (JSON text or a
    /// JavaScript value), with a `SigningKey`, a key in a PKCS#11 token (a
    /// `pkcs11:` URI) or a signer whose `sign` answers synchronously. The time
    /// defaults to now, never earlier than the last record's.
    #[napi(ts_args_type = "key: SigningKey | Signer | string, event: unknown, options?: AppendOptions")]
    pub fn issue(
        &self,
        env: &Env,
        key: Unknown<'_>,
        event: Unknown<'_>,
        options: Option<AppendOptions<'_>>,
    ) -> Result<String> {
        let options = options.unwrap_or_default();
        guard(|| {
            let key = Key::from_js(env, &key)?;
            let nonce = optional_text(options.nonce.as_ref(), "a nonce")?;
            let time = time(options.time.as_ref())?;
            let now = evidentia_store::now().map_err(error)?;
            let event = json_text(event)?;
            let issued = self.idle()?.issue(&*key.here(env), &event, now, time, nonce.as_deref()).map_err(error)?;
            Ok(issued.receipt.as_str().to_owned())
        })
    }

    /// As `issue`, with a signer whose `sign` may return a Promise (a cloud KMS):
    /// the record is prepared on a worker thread (once a token is opened there),
    /// signed when the Promise settles (within the signer's `signTimeoutMs`,
    /// default 60 s), and the chain moves past it then. One at a time: another
    /// `issue` or `issueAsync` before this one is done is refused
    /// (INVALID_ARGUMENT); await each.
    #[napi(
        ts_args_type = "signer: SigningKey | Signer | string, event: unknown, options?: AppendOptions",
        ts_return_type = "Promise<string>"
    )]
    pub fn issue_async(
        &self,
        env: &Env,
        signer: Unknown<'_>,
        event: Unknown<'_>,
        options: Option<AppendOptions<'_>>,
    ) -> AsyncTask<Blocking<String>> {
        let options = options.unwrap_or_default();
        Blocking::spawn_prepared(guard(|| {
            let key = KeyArgument::from_js(env, &signer)?;
            let nonce = optional_text(options.nonce.as_ref(), "a nonce")?;
            let time = time(options.time.as_ref())?;
            let event = json_text(event)?;
            let signer = key.worker(env)?;
            if self.pending.swap(true, Ordering::AcqRel) {
                return Err(busy());
            }
            let pending = Pending(self.pending.clone());
            let chain = self.chain.clone();
            Ok(move || {
                let _pending = pending;
                let signer = signer.open()?.signer;
                let now = evidentia_store::now().map_err(error)?;
                let unsigned =
                    lock(&chain)?.prepare(signer.public_key(), &event, now, time, nonce.as_deref()).map_err(error)?;
                let signature = signer.sign_message(unsigned.signing_input()).map_err(error)?;
                let issued = lock(&chain)?.finish(unsigned, &signature).map_err(error)?;
                Ok(issued.receipt.as_str().to_owned())
            })
        }))
    }

    /// The log id.
    #[napi(getter)]
    pub fn log_id(&self) -> Result<String> {
        Ok(lock(&self.chain)?.log_id().to_owned())
    }

    /// How many receipts the chain has issued: the next receipt's sequence number.
    #[napi(getter)]
    pub fn length(&self) -> Result<i64> {
        Ok(size_to_js(lock(&self.chain)?.len()))
    }

    /// `ReceiptChain(logId=…, length=…)`.
    #[napi(js_name = "toString")]
    pub fn describe(&self) -> Result<String> {
        let chain = lock(&self.chain)?;
        Ok(format!("ReceiptChain(logId={}, length={})", chain.log_id(), chain.len()))
    }
}
