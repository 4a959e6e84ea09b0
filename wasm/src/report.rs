//! Verification reports as JavaScript objects.

use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use crate::convert::{Result, set};

/// A verification report: one status per check, and every failure with its code
/// and the position of the record it concerns.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Report(pub(crate) evidentia::Report);

#[wasm_bindgen]
impl Report {
    /// Whether every check that ran passed.
    #[wasm_bindgen(getter)]
    pub fn valid(&self) -> bool {
        self.0.is_valid()
    }

    /// One line beginning with VALID or INVALID.
    #[wasm_bindgen(getter)]
    pub fn summary(&self) -> String {
        self.0.summary()
    }

    /// What was verified: "receipt", "batch_receipt" or "log".
    #[wasm_bindgen(getter)]
    pub fn subject(&self) -> String {
        self.0.subject().id().to_owned()
    }

    /// How many records were verified.
    #[wasm_bindgen(getter)]
    pub fn records(&self) -> f64 {
        self.0.records() as f64
    }

    /// The index of the first record verified: 0, or the size of the trusted
    /// checkpoint a verification started from.
    #[wasm_bindgen(getter, js_name = firstRecord)]
    pub fn first_record(&self) -> f64 {
        self.0.first_record() as f64
    }

    /// The log id of the verified records.
    #[wasm_bindgen(getter, js_name = logId)]
    pub fn log_id(&self) -> Option<String> {
        self.0.log_id().map(str::to_owned)
    }

    /// Every check, in order.
    #[wasm_bindgen(getter, unchecked_return_type = "CheckResult[]")]
    pub fn checks(&self) -> Result<Array> {
        let out = Array::new();
        for c in self.0.checks() {
            let row = Object::new();
            set(&row, "check", c.check.id())?;
            set(&row, "status", c.status.id())?;
            set(&row, "failures", c.failures as f64)?;
            set(&row, "description", c.check.description())?;
            out.push(&row);
        }
        Ok(out)
    }

    /// Every failure, in order.
    #[wasm_bindgen(getter, unchecked_return_type = "Finding[]")]
    pub fn findings(&self) -> Result<Array> {
        let out = Array::new();
        for f in self.0.findings() {
            let row = Object::new();
            set(&row, "code", f.code as u16)?;
            set(&row, "name", f.code.name())?;
            set(&row, "check", f.check.id())?;
            set(&row, "index", f.index.map_or(JsValue::NULL, |i| JsValue::from(i as f64)))?;
            set(&row, "message", f.message.as_str())?;
            out.push(&row);
        }
        Ok(out)
    }

    /// The names of the failure codes, in order of first appearance.
    #[wasm_bindgen(getter, js_name = failureCodes)]
    pub fn failure_codes(&self) -> Vec<String> {
        self.0.failure_codes().iter().map(|c| c.name().to_owned()).collect()
    }

    /// The report as JSON text (SPEC.md, "Reports").
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// The report as text for people.
    #[wasm_bindgen(js_name = toText)]
    pub fn to_text(&self) -> String {
        self.0.to_text()
    }

    /// The summary line.
    #[wasm_bindgen(js_name = toString)]
    pub fn describe(&self) -> String {
        self.0.summary()
    }
}
