//! A log's Ed25519 note key (SPEC §10.1) kept in a PKCS#11 token: an Evidentia
//! [`NoteSigner`] signing with `CKM_EDDSA` (PKCS#11 3.0), as SoftHSM2 2.6 does.

use std::sync::{Mutex, PoisonError};

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectHandle};
use cryptoki::session::Session;
use evidentia::{Error, ErrorCode, NoteSigner, Result, note_log_key};

use crate::token::{describe, find_private_key, login_slot, public_point, token_error};
use crate::uri::Pkcs11Uri;

/// An Ed25519 key in a PKCS#11 token. The session stays open (and logged in) while
/// the signer lives, behind a mutex: one signature at a time.
pub struct Pkcs11NoteSigner {
    session: Mutex<Session>,
    key: ObjectHandle,
    public: [u8; 32],
}

impl std::fmt::Debug for Pkcs11NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11NoteSigner")
            .field("public", &evidentia::encoding::hex(&self.public))
            .finish_non_exhaustive()
    }
}

impl Pkcs11NoteSigner {
    /// Opens the Ed25519 key a `pkcs11:` URI names, as [`crate::Pkcs11Signer::open`]
    /// opens a P-256 one, and checks with one signature that the public key found
    /// is the private key's.
    ///
    /// # Errors
    /// As [`crate::Pkcs11Signer::open`]; [`ErrorCode::KeyUnsupported`] for a key
    /// that is not Ed25519 (CKK_EC_EDWARDS with a 32-byte point).
    pub fn open(uri: &str) -> Result<Pkcs11NoteSigner> {
        let uri = Pkcs11Uri::parse(uri)?;
        let (_, _, session) = login_slot(&uri)?;
        let key = find_private_key(&session, &uri)?;
        let attributes = session
            .get_attributes(key, &[AttributeType::KeyType, AttributeType::Id, AttributeType::Label])
            .map_err(|e| token_error(e, "reading the private key's attributes"))?;
        let (mut key_type, mut id, mut label) = (None, None, None);
        for attribute in attributes {
            match attribute {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::Id(i) => id = Some(i),
                Attribute::Label(l) => label = Some(l),
                _ => {}
            }
        }
        let unsupported = || {
            Error::new(
                ErrorCode::KeyUnsupported,
                format!("the token's key {} is not an Ed25519 key, which a note key is", describe(&uri)),
            )
        };
        if key_type != Some(KeyType::EC_EDWARDS) {
            return Err(unsupported());
        }
        let public = match public_point(&session, key, id, label, &uri)?.as_slice() {
            // A DER OCTET STRING (PKCS#11 3.0), or the bare 32 bytes some tokens give.
            [0x04, 0x20, point @ ..] | point if point.len() == 32 => {
                let mut public = [0u8; 32];
                public.copy_from_slice(point);
                public
            }
            _ => return Err(unsupported()),
        };
        let signer = Pkcs11NoteSigner { session: Mutex::new(session), key, public };
        // The public key found must be the private key's.
        let check = "evidentia-pkcs11: does the public key belong to the private key?\n";
        let verifies = note_log_key("evidentia.check", &signer)
            .is_ok_and(|key| signer.sign(check.as_bytes()).is_ok_and(|s| key.verifies(check, &s)));
        if !verifies {
            return Err(Error::new(
                ErrorCode::TokenKeyNotFound,
                format!(
                    "the token's public key object does not belong to the private key {}: its signature does not verify",
                    describe(&uri)
                ),
            ));
        }
        Ok(signer)
    }
}

impl NoteSigner for Pkcs11NoteSigner {
    fn public_key(&self) -> [u8; 32] {
        self.public
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        let session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let signature =
            session.sign(&mechanism, self.key, message).map_err(|e| token_error(e, "signing with the token"))?;
        signature.as_slice().try_into().map_err(|_| {
            Error::new(ErrorCode::SignerFailed, format!("the token gave a {}-byte Ed25519 signature", signature.len()))
        })
    }
}
