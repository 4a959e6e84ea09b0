//! Receipts kept by the application itself: a record chain in memory.

use std::sync::Mutex;

use evidentia::ErrorCode;
use pyo3::prelude::*;

use crate::convert::{Str, error, json_text};
use crate::signer::signer;

/// A chain of receipts held in memory (core's `ReceiptChain`): the record chain of
/// a log (log id, sequence numbers, links to the previous record) for applications
/// that store receipts themselves, in their own database. Resume after a restart
/// from the newest receipt. Receipts verify as a log's do; the chain writes nothing
/// to disk.
#[pyclass(module = "evidentia._native", frozen)]
pub(crate) struct ReceiptChain {
    chain: Mutex<evidentia::ReceiptChain>,
}

fn lock_failed_error() -> evidentia::Error {
    evidentia::Error::new(ErrorCode::Internal, "a thread panicked while issuing a receipt")
}

#[pymethods]
impl ReceiptChain {
    /// A new chain for the log id (printable ASCII, no spaces).
    #[new]
    fn new(log_id: Str) -> PyResult<ReceiptChain> {
        Ok(ReceiptChain { chain: Mutex::new(evidentia::ReceiptChain::new(&log_id).map_err(error)?) })
    }

    /// The chain continuing after `receipt`, the newest receipt it issued.
    #[staticmethod]
    fn resume(receipt: Str) -> PyResult<ReceiptChain> {
        Ok(ReceiptChain { chain: Mutex::new(evidentia::ReceiptChain::resume(&receipt).map_err(error)?) })
    }

    /// Signs the receipt of the next record, for an event (JSON text or a Python
    /// value), signed by `key`: a `SigningKey`, or an object that signs (see
    /// `Signer`). `time` (RFC 3339 UTC) defaults to now, never earlier than the last
    /// record's; `nonce` binds a request id into the record.
    #[pyo3(signature = (key, event, nonce = None, time = None))]
    fn issue(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        event: &Bound<'_, PyAny>,
        nonce: Option<Str>,
        time: Option<Str>,
    ) -> PyResult<String> {
        let event = json_text(event)?;
        let time = crate::log::time(time.as_deref())?;
        let now = evidentia_store::now().map_err(error)?;
        let key = signer(key)?;
        // Without the GIL while waiting for the chain and signing: a signer written
        // in Python takes the GIL back, and may release it (network I/O) while
        // another thread waits here.
        let issued = py.detach(|| {
            let mut chain = self.chain.lock().map_err(|_| lock_failed_error())?;
            chain.issue(&key, &event, now, time, nonce.as_deref())
        });
        let issued = issued.map_err(error)?;
        Ok(issued.receipt.as_str().to_owned())
    }

    /// The log id.
    #[getter]
    fn log_id(&self, py: Python<'_>) -> PyResult<String> {
        self.read(py, |chain| chain.log_id().to_owned())
    }

    /// How many receipts the chain has issued: the next receipt's sequence number.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.read(py, |chain| chain.len() as usize)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.read(py, |chain| format!("ReceiptChain(log_id={:?}, length={})", chain.log_id(), chain.len()))
    }
}

impl ReceiptChain {
    /// Reads the chain without the GIL, which an issuing thread's signer may need.
    fn read<T: Send>(&self, py: Python<'_>, read: impl FnOnce(&evidentia::ReceiptChain) -> T + Send) -> PyResult<T> {
        py.detach(|| self.chain.lock().map(|chain| read(&chain)).map_err(|_| lock_failed_error())).map_err(error)
    }
}
