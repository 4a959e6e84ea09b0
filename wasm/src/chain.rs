//! Receipts kept by the application itself: a record chain in memory.

use evidentia::Timestamp;
use wasm_bindgen::prelude::*;

use crate::SigningKey;
use crate::convert::{Result, error, get, json_text, optional_text, text};

/// A chain of receipts held in memory (core's `ReceiptChain`): the record chain of a log (log id, sequence
/// numbers, links to the previous record) for applications that store receipts
/// themselves. Resume after a restart from the newest receipt.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ReceiptChain {
    chain: evidentia::ReceiptChain,
}

#[wasm_bindgen]
impl ReceiptChain {
    /// A new chain for the log id (printable ASCII, no spaces).
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "string")] log_id: JsValue) -> Result<ReceiptChain> {
        Ok(ReceiptChain { chain: evidentia::ReceiptChain::new(&text(&log_id, "logId")?).map_err(error)? })
    }

    /// The chain continuing after `receipt`, the newest receipt it issued.
    pub fn resume(#[wasm_bindgen(unchecked_param_type = "string")] receipt: JsValue) -> Result<ReceiptChain> {
        Ok(ReceiptChain { chain: evidentia::ReceiptChain::resume(&text(&receipt, "receipt")?).map_err(error)? })
    }

    /// Signs the receipt of the next record, for an event (JSON text or a
    /// JavaScript value). The time defaults to now (the platform's clock), never
    /// earlier than the last record's.
    pub fn issue(
        &mut self,
        key: &SigningKey,
        #[wasm_bindgen(unchecked_param_type = "unknown")] event: JsValue,
        #[wasm_bindgen(unchecked_param_type = "IssueOptions | undefined")] options: JsValue,
    ) -> Result<String> {
        let nonce = optional_text(&get(&options, "nonce", "options")?, "nonce")?;
        let time = optional_text(&get(&options, "time", "options")?, "time")?;
        let time = time.map(|time| Timestamp::parse(&time)).transpose().map_err(error)?;
        let event = json_text(&event)?;
        let issued = self.chain.issue(&key.0, &event, now()?, time, nonce.as_deref()).map_err(error)?;
        Ok(issued.receipt.as_str().to_owned())
    }

    /// The log id.
    #[wasm_bindgen(getter, js_name = logId)]
    pub fn log_id(&self) -> String {
        self.chain.log_id().to_owned()
    }

    /// How many receipts the chain has issued: the next receipt's sequence number.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> f64 {
        self.chain.len() as f64
    }

    /// `ReceiptChain(logId=…, length=…)`.
    #[wasm_bindgen(js_name = toString)]
    pub fn describe(&self) -> String {
        format!("ReceiptChain(logId={}, length={})", self.chain.log_id(), self.chain.len())
    }
}

/// The current time from the platform's clock, to the millisecond (the core never
/// reads one).
fn now() -> Result<Timestamp> {
    Timestamp::from_unix_millis(js_sys::Date::now() as i64).map_err(error)
}
