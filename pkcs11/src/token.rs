//! Opening a token, logging in, finding the key, signing, generating keys.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use evidentia::{Digest, Error, ErrorCode, PublicKey, Result, Signer};
use secrecy::ExposeSecret;

use crate::uri::Pkcs11Uri;

/// DER of the OID prime256v1 (1.2.840.10045.3.1.7), as CKA_EC_PARAMS holds it.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The modules loaded by this process, by path. A module is initialized once
/// (C_Initialize) and stays loaded: PKCS#11 allows one initialization per process,
/// and several signers (a log's old and new key) share it.
fn modules() -> MutexGuard<'static, HashMap<PathBuf, Pkcs11>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    MODULES.get_or_init(Default::default).lock().unwrap_or_else(PoisonError::into_inner)
}

fn load(path: &Path) -> Result<Pkcs11> {
    let mut loaded = modules();
    if let Some(module) = loaded.get(path) {
        return Ok(module.clone());
    }
    let module = Pkcs11::new(path).map_err(|e| {
        Error::new(ErrorCode::TokenNotFound, format!("cannot load the PKCS#11 module {}: {e}", path.display()))
    })?;
    match module.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(token_error(e, "initializing the PKCS#11 module")),
    }
    loaded.insert(path.to_owned(), module.clone());
    Ok(module)
}

/// `PinIncorrect` → `CKR_PIN_INCORRECT`.
pub(crate) fn ckr_name(rv: RvError) -> String {
    let debug = format!("{rv:?}");
    let mut name = String::from("CKR_");
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// Maps a cryptoki error to the code table; `doing` says what failed.
pub(crate) fn token_error(error: CkError, doing: &str) -> Error {
    match error {
        CkError::Pkcs11(rv, _) => {
            let code = match rv {
                RvError::PinIncorrect | RvError::PinLocked | RvError::PinExpired | RvError::PinLenRange => {
                    ErrorCode::TokenLoginFailed
                }
                RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::DeviceRemoved
                | RvError::SlotIdInvalid
                | RvError::SessionHandleInvalid
                | RvError::SessionClosed => ErrorCode::TokenNotFound,
                _ => ErrorCode::TokenFailed,
            };
            Error::new(code, format!("{doing}: the token answered {}", ckr_name(rv)))
        }
        CkError::LibraryLoading(e) => {
            Error::new(ErrorCode::TokenNotFound, format!("{doing}: the PKCS#11 module cannot be loaded: {e}"))
        }
        other => Error::new(ErrorCode::TokenFailed, format!("{doing}: {other}")),
    }
}

/// The one token the URI's token attributes select.
fn find_slot(module: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot> {
    let slots = module.get_slots_with_token().map_err(|e| token_error(e, "listing the PKCS#11 slots"))?;
    let mut found = Vec::new();
    let mut unreadable = Vec::new();
    for slot in slots {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = match module.get_token_info(slot) {
            Ok(info) => info,
            // A token removed between the listing and now, or one that cannot
            // describe itself (SoftHSM2 answers CKR_GENERAL_ERROR for a token whose
            // files were deleted), is not a match; another token may be.
            Err(CkError::Pkcs11(rv, _)) => {
                unreadable.push(ckr_name(rv));
                continue;
            }
            Err(e) => return Err(token_error(e, "reading a PKCS#11 token's description")),
        };
        let matches = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have.trim_end());
        if matches(&uri.token, info.label())
            && matches(&uri.manufacturer, info.manufacturer_id())
            && matches(&uri.serial, info.serial_number())
            && matches(&uri.model, info.model())
            && info.token_initialized()
        {
            found.push(slot);
        }
    }
    match found.len() {
        1 => Ok(found[0]),
        0 => {
            let mut message = match &uri.token {
                Some(label) => format!("no PKCS#11 token labelled {label:?} is present"),
                None => "no PKCS#11 token matching the URI is present".to_owned(),
            };
            if !unreadable.is_empty() {
                message.push_str(&format!(
                    " ({} slot(s) could not be read: {})",
                    unreadable.len(),
                    unreadable.join(", ")
                ));
            }
            Err(Error::new(ErrorCode::TokenNotFound, message))
        }
        n => Err(Error::new(
            ErrorCode::TokenNotFound,
            format!("{n} PKCS#11 tokens match the URI: name one with \"token\" or \"serial\""),
        )),
    }
}

/// Opens a read-write session on the URI's token and logs in as the user.
fn login(uri: &Pkcs11Uri) -> Result<Session> {
    Ok(login_slot(uri)?.2)
}

/// The PIN each token was logged in with by this process (its SHA-256), by module
/// and slot. PKCS#11 logs the user in for the whole application: while any session
/// of the token is logged in, C_Login answers CKR_USER_ALREADY_LOGGED_IN without
/// looking at the PIN, so a second signer opened with a wrong PIN would be accepted.
/// A PIN given then must be the one that logged in.
fn logins() -> MutexGuard<'static, HashMap<(PathBuf, u64), Digest>> {
    static LOGINS: OnceLock<Mutex<HashMap<(PathBuf, u64), Digest>>> = OnceLock::new();
    LOGINS.get_or_init(Default::default).lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn login_slot(uri: &Pkcs11Uri) -> Result<(Pkcs11, Slot, Session)> {
    let path = uri.module()?;
    let module = load(&path)?;
    let slot = find_slot(&module, uri)?;
    let pin = uri.pin()?;
    let session = module.open_rw_session(slot).map_err(|e| token_error(e, "opening a session on the token"))?;
    if pin.is_none() {
        // A token with a protected authentication path (a PIN pad) logs in without one.
        let info = module.get_token_info(slot).map_err(|e| token_error(e, "reading the token's description"))?;
        if !info.login_required() {
            return Ok((module, slot, session));
        }
        if !info.protected_authentication_path() {
            return Err(Error::new(
                ErrorCode::TokenLoginFailed,
                "the token needs a PIN: add \"pin-source=file:/path/to/pin\" to the URI",
            ));
        }
    }
    let given = pin.as_ref().map(|pin| Digest::sha256(pin.expose_secret().as_bytes()));
    let login = (path, slot.id());
    match session.login(UserType::User, pin.as_ref()) {
        Ok(()) => {
            if let Some(given) = given {
                logins().insert(login, given);
            }
            Ok((module, slot, session))
        }
        Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => match (logins().get(&login), given) {
            (Some(held), Some(given)) if *held != given => Err(Error::new(
                ErrorCode::TokenLoginFailed,
                "the token is logged in by this process with another PIN, and a token cannot check a PIN while logged in: the PIN given is refused",
            )),
            _ => Ok((module, slot, session)),
        },
        Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
            Err(Error::new(ErrorCode::TokenLoginFailed, "the token refused the PIN (CKR_PIN_INCORRECT)"))
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
            Err(Error::new(ErrorCode::TokenLoginFailed, "the token's user PIN is locked (CKR_PIN_LOCKED)"))
        }
        Err(e) => Err(token_error(e, "logging in to the token")),
    }
}

/// The template selecting the URI's key objects of one class.
fn key_template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
    let mut template = vec![Attribute::Class(class)];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    template
}

pub(crate) fn describe(uri: &Pkcs11Uri) -> String {
    match (&uri.object, &uri.id) {
        (Some(label), _) => format!("labelled {label:?}"),
        (None, Some(id)) => format!("with id {}", id.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        (None, None) => "named by the URI".to_owned(),
    }
}

/// A P-256 key in a PKCS#11 token, as an Evidentia [`Signer`].
///
/// The session stays open (and logged in) while the signer lives; it is behind a
/// mutex, so the signer is `Send + Sync` and one signature is made at a time.
/// Messages are hashed with SHA-256 here and the token signs the 32-byte digest
/// with `CKM_ECDSA` (which every token has; SoftHSM2 has no `CKM_ECDSA_SHA256`).
pub struct Pkcs11Signer {
    module: Pkcs11,
    slot: Slot,
    session: Mutex<Session>,
    key: ObjectHandle,
    public: PublicKey,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer").field("kid", &self.public.kid()).finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Opens the key a `pkcs11:` URI names: loads the module, finds the one token
    /// the URI selects, logs in with the PIN and finds the one private key.
    ///
    /// # Errors
    /// [`ErrorCode::KeyUriInvalid`] for a malformed URI, no module named or an
    /// unreadable `pin-source`; [`ErrorCode::TokenNotFound`] when the module cannot be
    /// loaded or no (or more than one) token matches; [`ErrorCode::TokenLoginFailed`]
    /// for a wrong or locked PIN; [`ErrorCode::TokenKeyNotFound`] for no private key
    /// or several; [`ErrorCode::KeyUnsupported`] for a key that is not EC P-256;
    /// [`ErrorCode::TokenFailed`] for any other failure of the token.
    pub fn open(uri: &str) -> Result<Pkcs11Signer> {
        Pkcs11Signer::open_uri(&Pkcs11Uri::parse(uri)?)
    }

    /// [`Pkcs11Signer::open`] for a parsed URI.
    ///
    /// # Errors
    /// As [`Pkcs11Signer::open`].
    pub fn open_uri(uri: &Pkcs11Uri) -> Result<Pkcs11Signer> {
        let (module, slot, session) = login_slot(uri)?;
        let key = find_private_key(&session, uri)?;
        let attributes = session
            .get_attributes(
                key,
                &[AttributeType::KeyType, AttributeType::EcParams, AttributeType::Id, AttributeType::Label],
            )
            .map_err(|e| token_error(e, "reading the private key's attributes"))?;
        let mut key_type = None;
        let mut params = None;
        let mut id = None;
        let mut label = None;
        for attribute in attributes {
            match attribute {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::EcParams(p) => params = Some(p),
                Attribute::Id(i) => id = Some(i),
                Attribute::Label(l) => label = Some(l),
                _ => {}
            }
        }
        if key_type != Some(KeyType::EC) {
            let kind = key_type.map_or_else(|| "of unknown type".to_owned(), |t| format!("of type {t}"));
            return Err(Error::new(
                ErrorCode::KeyUnsupported,
                format!("the token's key {} is {kind}; Evidentia signs with EC P-256 (ES256)", describe(uri)),
            ));
        }
        if params.as_deref() != Some(P256_PARAMS) {
            return Err(Error::new(
                ErrorCode::KeyUnsupported,
                format!("the token's key {} is on another curve than P-256; Evidentia signs with ES256", describe(uri)),
            ));
        }
        let public = PublicKey::from_sec1(&unwrap_octet_string(&public_point(&session, key, id, label, uri)?))?;
        let signer = Pkcs11Signer { module, slot, session: Mutex::new(session), key, public };
        signer.check_pair(uri)?;
        Ok(signer)
    }

    /// One test signature, verified with the public key found: a public key object
    /// that does not belong to the private key (same id and label, another key) is
    /// refused here rather than at the first signature.
    fn check_pair(&self, uri: &Pkcs11Uri) -> Result<()> {
        const MESSAGE: &[u8] = b"evidentia-pkcs11: does the public key belong to the private key?";
        let signature = self.sign_message(MESSAGE)?;
        match self.public.normalize_signature(MESSAGE, &signature) {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::new(
                ErrorCode::TokenKeyNotFound,
                format!(
                    "the token's public key object does not belong to the private key {}: \
                     its signature does not verify with that public key",
                    describe(uri)
                ),
            )),
        }
    }
}

/// The one private key the URI names.
pub(crate) fn find_private_key(session: &Session, uri: &Pkcs11Uri) -> Result<ObjectHandle> {
    let keys = session
        .find_objects(&key_template(uri, ObjectClass::PRIVATE_KEY))
        .map_err(|e| token_error(e, "finding the private key"))?;
    match keys.as_slice() {
        [key] => Ok(*key),
        [] => Err(Error::new(ErrorCode::TokenKeyNotFound, format!("the token has no private key {}", describe(uri)))),
        _ => Err(Error::new(
            ErrorCode::TokenKeyNotFound,
            format!("the token has {} private keys {}: add \"id\" to the URI", keys.len(), describe(uri)),
        )),
    }
}

/// The CKA_EC_POINT of the private key's public half: the private key's own where
/// the token keeps it, else the one public key object's with the same id and label.
pub(crate) fn public_point(
    session: &Session,
    private: ObjectHandle,
    id: Option<Vec<u8>>,
    label: Option<Vec<u8>>,
    uri: &Pkcs11Uri,
) -> Result<Vec<u8>> {
    if let Some(point) = read_point(session, private)? {
        return Ok(point);
    }
    let id = id.filter(|i| !i.is_empty());
    let label = label.filter(|l| !l.is_empty());
    if id.is_none() && label.is_none() {
        return Err(Error::new(
            ErrorCode::TokenKeyNotFound,
            format!(
                "the token's private key {} has neither id nor label nor CKA_EC_POINT: its public key cannot be found",
                describe(uri)
            ),
        ));
    }
    // By id and label: a public object that shares only the id may be another key
    // pair's. Tools that label the two halves differently leave only the id; the
    // test signature at open (check_pair) tells whether that object is this key's.
    let find =
        |template: &[Attribute]| session.find_objects(template).map_err(|e| token_error(e, "finding the public key"));
    let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
    template.extend(id.clone().map(Attribute::Id));
    template.extend(label.map(Attribute::Label));
    let mut found = find(&template)?;
    if found.is_empty() && template.len() == 3 {
        template.pop();
        found = find(&template)?;
    }
    match found.as_slice() {
        [object] => match read_point(session, *object)? {
            Some(point) => Ok(point),
            None => Err(Error::new(
                ErrorCode::TokenKeyNotFound,
                format!("the token's public key object for the private key {} has no CKA_EC_POINT", describe(uri)),
            )),
        },
        [] => Err(Error::new(
            ErrorCode::TokenKeyNotFound,
            format!(
                "the token has no public key for the private key {} (no public key object with its id and label, \
                 no CKA_EC_POINT on the private key)",
                describe(uri)
            ),
        )),
        _ => Err(Error::new(
            ErrorCode::TokenKeyNotFound,
            format!(
                "the token has {} public keys for the private key {}: one is needed to know the key",
                found.len(),
                describe(uri)
            ),
        )),
    }
}

/// The CKA_EC_POINT of an EC key object, if the token gives it.
fn read_point(session: &Session, object: ObjectHandle) -> Result<Option<Vec<u8>>> {
    match session.get_attributes(object, &[AttributeType::EcPoint]) {
        Ok(attributes) => {
            Ok(attributes.into_iter().find_map(|a| if let Attribute::EcPoint(p) = a { Some(p) } else { None }))
        }
        // A private key object may refuse the attribute outright.
        Err(CkError::Pkcs11(RvError::AttributeTypeInvalid | RvError::AttributeSensitive, _)) => Ok(None),
        Err(e) => Err(token_error(e, "reading the public key")),
    }
}

/// CKA_EC_POINT is a DER OCTET STRING holding the SEC1 point (PKCS#11 2.40);
/// some tokens give the bare point.
fn unwrap_octet_string(point: &[u8]) -> Vec<u8> {
    match point {
        // A bare uncompressed point also starts with 0x04, but what follows its
        // first coordinate byte is 63 bytes long, never 33 or 65.
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() && matches!(rest.len(), 33 | 65) => rest.to_vec(),
        _ => point.to_vec(),
    }
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>> {
        let digest = Digest::sha256(message);
        let session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        match session.sign(&Mechanism::Ecdsa, self.key, digest.as_bytes()) {
            Ok(signature) => Ok(signature),
            // The key we found is gone. SoftHSM2 answers so (not CKR_DEVICE_REMOVED)
            // when the token's files were deleted: ask the slot whether the token is
            // still there.
            Err(CkError::Pkcs11(rv @ (RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid), _)) => {
                match self.module.get_token_info(self.slot) {
                    Err(CkError::Pkcs11(token_rv, _)) => Err(Error::new(
                        ErrorCode::TokenNotFound,
                        format!(
                            "signing with the token: the key is gone ({}) and so is the token ({})",
                            ckr_name(rv),
                            ckr_name(token_rv)
                        ),
                    )),
                    _ => Err(Error::new(
                        ErrorCode::TokenKeyNotFound,
                        format!("signing with the token: the key is no longer in the token ({})", ckr_name(rv)),
                    )),
                }
            }
            Err(e) => Err(token_error(e, "signing with the token")),
        }
    }
}

/// Generates a P-256 key pair in the token a `pkcs11:` URI names, labelled with the
/// URI's `object` and `id`: a token object, the private half sensitive, not
/// extractable and for signing only. Returns the public key.
///
/// # Errors
/// The errors of [`Pkcs11Signer::open`] for the URI, the module, the token and the
/// PIN; [`ErrorCode::KeyUriInvalid`] when the token already has an object with that
/// label or id (a key is never replaced).
pub fn generate_key(uri: &str) -> Result<PublicKey> {
    let uri = Pkcs11Uri::parse(uri)?;
    let session = login(&uri)?;
    for (what, template) in [
        ("label", uri.object.as_ref().map(|l| Attribute::Label(l.as_bytes().to_vec()))),
        ("id", uri.id.as_ref().map(|i| Attribute::Id(i.clone()))),
    ] {
        let Some(attribute) = template else { continue };
        let existing =
            session.find_objects(&[attribute]).map_err(|e| token_error(e, "looking for existing objects"))?;
        if !existing.is_empty() {
            return Err(Error::new(
                ErrorCode::KeyUriInvalid,
                format!("the token already has an object with that {what}: a key is never replaced"),
            ));
        }
    }
    let mut common = vec![Attribute::Token(true)];
    if let Some(label) = &uri.object {
        common.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        common.push(Attribute::Id(id.clone()));
    }
    let mut public_template = common.clone();
    public_template.extend([Attribute::EcParams(P256_PARAMS.to_vec()), Attribute::Verify(true)]);
    let mut private_template = common;
    private_template.extend([
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
    ]);
    let (public, _private) = session
        .generate_key_pair(&Mechanism::EccKeyPairGen, &public_template, &private_template)
        .map_err(|e| token_error(e, "generating the key pair"))?;
    let point = session
        .get_attributes(public, &[AttributeType::EcPoint])
        .map_err(|e| token_error(e, "reading the new public key"))?
        .into_iter()
        .find_map(|a| if let Attribute::EcPoint(p) = a { Some(p) } else { None })
        .ok_or_else(|| Error::new(ErrorCode::TokenFailed, "the token's new public key has no CKA_EC_POINT"))?;
    PublicKey::from_sec1(&unwrap_octet_string(&point))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ckr_names() {
        assert_eq!(ckr_name(RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(ckr_name(RvError::TokenNotPresent), "CKR_TOKEN_NOT_PRESENT");
    }

    #[test]
    fn octet_strings() {
        let point = [4u8; 65];
        let mut wrapped = vec![0x04, 65];
        wrapped.extend(point);
        assert_eq!(unwrap_octet_string(&wrapped), point.to_vec());
        assert_eq!(unwrap_octet_string(&point), point.to_vec());
    }

    #[test]
    fn signers_can_be_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Pkcs11Signer>();
    }
}
