//! Receipts kept by the application itself: a record chain in memory.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::convert::{Result, error, guard, json_text, optional_text, text};
use crate::log::{AppendOptions, time};
use crate::{SigningKey, size_to_js};

/// A chain of receipts held in memory (core's `ReceiptChain`): the record chain of a log (log id, sequence
/// numbers, links to the previous record) for applications that store receipts
/// themselves, in their own database. Resume after a restart from the newest
/// receipt. Receipts verify as a log's do; the chain writes nothing to disk.
#[napi]
pub struct ReceiptChain {
    chain: evidentia::ReceiptChain,
}

#[napi]
impl ReceiptChain {
    /// A new chain for the log id (printable ASCII, no spaces).
    #[napi(constructor)]
    pub fn new(#[napi(ts_arg_type = "string")] log_id: Unknown<'_>) -> Result<ReceiptChain> {
        guard(|| {
            Ok(ReceiptChain { chain: evidentia::ReceiptChain::new(&text(&log_id, "the log id")?).map_err(error)? })
        })
    }

    /// The chain continuing after `receipt`, the newest receipt it issued.
    #[napi(factory)]
    pub fn resume(#[napi(ts_arg_type = "string")] receipt: Unknown<'_>) -> Result<ReceiptChain> {
        guard(|| {
            Ok(ReceiptChain { chain: evidentia::ReceiptChain::resume(&text(&receipt, "receipt")?).map_err(error)? })
        })
    }

    /// Signs the receipt of the next record, for an event (JSON text or a
    /// JavaScript value). The time defaults to now, never earlier than the last
    /// record's.
    #[napi(ts_args_type = "key: SigningKey, event: unknown, options?: AppendOptions")]
    pub fn issue(
        &mut self,
        key: &SigningKey,
        event: Unknown<'_>,
        options: Option<AppendOptions<'_>>,
    ) -> Result<String> {
        let options = options.unwrap_or_default();
        guard(|| {
            let nonce = optional_text(options.nonce.as_ref(), "a nonce")?;
            let time = time(options.time.as_ref())?;
            let now = evidentia_store::now().map_err(error)?;
            let event = json_text(event)?;
            let issued = self.chain.issue(&key.0, &event, now, time, nonce.as_deref()).map_err(error)?;
            Ok(issued.receipt.as_str().to_owned())
        })
    }

    /// The log id.
    #[napi(getter)]
    pub fn log_id(&self) -> String {
        self.chain.log_id().to_owned()
    }

    /// How many receipts the chain has issued: the next receipt's sequence number.
    #[napi(getter)]
    pub fn length(&self) -> i64 {
        size_to_js(self.chain.len())
    }

    /// `ReceiptChain(logId=…, length=…)`.
    #[napi(js_name = "toString")]
    pub fn describe(&self) -> String {
        format!("ReceiptChain(logId={}, length={})", self.chain.log_id(), self.chain.len())
    }
}
