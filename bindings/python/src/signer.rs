//! Keys held elsewhere, wherever a `SigningKey` is accepted: a key in a PKCS#11
//! token named by a `pkcs11:` URI, or any Python object with `sign(message: bytes)
//! -> bytes` and a public JWK (a cloud KMS client, an HSM library), signing through
//! the core's signer seam.

use std::sync::Arc;

use evidentia::{ErrorCode, PublicKey};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::SigningKey;
use crate::convert::{Str, error, json_text};

/// A signer the log or chain holds: Evidentia's own key, or a Python object.
pub(crate) type AnySigner = Arc<dyn evidentia::Signer + Send + Sync>;

/// A Python object that signs: the core checks each signature with the public key
/// before using it, so a wrong one is refused (`SIGNER_FAILED`) and nothing is
/// written.
struct CallbackSigner {
    object: Py<PyAny>,
    key: PublicKey,
}

impl evidentia::Signer for CallbackSigner {
    fn public_key(&self) -> &PublicKey {
        &self.key
    }

    fn sign_message(&self, message: &[u8]) -> evidentia::Result<Vec<u8>> {
        // Appends run with the GIL released; the callback takes it back.
        Python::attach(|py| {
            let signature = self.object.call_method1(py, "sign", (PyBytes::new(py, message),))?;
            signature.extract::<Vec<u8>>(py)
        })
        .map_err(|e| evidentia::Error::new(ErrorCode::SignerFailed, format!("the signer failed: {e}")))
    }
}

/// The public JWK of a signer object: its `public_jwk` attribute, property or
/// method, as JSON text or a dict.
fn public_jwk(object: &Bound<'_, PyAny>) -> PyResult<PublicKey> {
    let mut jwk = object.getattr("public_jwk").map_err(|_| not_a_signer())?;
    if jwk.is_callable() {
        jwk = jwk.call0()?;
    }
    let text = if jwk.is_instance_of::<PyString>() || jwk.is_instance_of::<PyDict>() {
        json_text(&jwk)?
    } else {
        return Err(not_a_signer());
    };
    PublicKey::from_jwk(&String::from_utf8_lossy(&text)).map_err(error)
}

/// As for any Python function given an argument of the wrong type.
fn not_a_signer() -> PyErr {
    PyTypeError::new_err(
        "a key must be a SigningKey, a pkcs11: URI, or an object with sign(message: bytes) -> bytes and public_jwk (JWK text or dict)",
    )
}

/// The signer an argument names: a `SigningKey`, a key in a PKCS#11 token (an RFC
/// 7512 `pkcs11:` URI), or an object that signs.
pub(crate) fn signer(object: &Bound<'_, PyAny>) -> PyResult<AnySigner> {
    if let Ok(key) = object.cast::<SigningKey>() {
        return Ok(Arc::new(key.get().0.clone()));
    }
    if object.is_instance_of::<PyString>() {
        let uri: Str = object.extract()?;
        if !evidentia_pkcs11::is_pkcs11_uri(&uri) {
            return Err(not_a_signer());
        }
        let token = object.py().detach(|| evidentia_pkcs11::Pkcs11Signer::open(&uri)).map_err(error)?;
        return Ok(Arc::new(token));
    }
    if !object.getattr("sign").is_ok_and(|sign| sign.is_callable()) {
        return Err(not_a_signer());
    }
    Ok(Arc::new(CallbackSigner { key: public_jwk(object)?, object: object.clone().unbind() }))
}
