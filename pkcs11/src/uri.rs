//! RFC 7512 `pkcs11:` URIs: which module, token and key to use, and where the PIN is.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use cryptoki::types::AuthPin;
use evidentia::{Error, ErrorCode, Result};
use secrecy::ExposeSecret;
use zeroize::Zeroize;

/// The environment variable naming the PKCS#11 module when the URI has no
/// `module-path`.
pub const MODULE_ENV: &str = "EVIDENTIA_PKCS11_MODULE";

/// A parsed RFC 7512 `pkcs11:` URI.
///
/// Path attributes select the token (`token`, `manufacturer`, `serial`, `model`,
/// `slot-id`, `slot-description`, `slot-manufacturer`), the library
/// (`library-manufacturer`, `library-description`, `library-version`) and the key
/// (`object`: its label, `id`: its CKA_ID bytes, `type`). Query attributes name the
/// module (`module-path`, `module-name`) and the PIN (`pin-source`: a `file:` URI or
/// a plain path; `pin-value`: the PIN itself).
///
/// Vendor attributes (`x-...`) are accepted and ignored. Any other attribute is
/// refused with [`ErrorCode::KeyUriInvalid`]: RFC 7512 lets a consumer ignore what it
/// does not know, but a key selector that silently ignored a misspelt `objet=` would
/// sign with whatever key the rest of the URI matched.
///
/// The PIN is never shown: `Debug` redacts it, and [`Pkcs11Uri::to_storable`]
/// refuses a URI that carries a `pin-value`.
pub struct Pkcs11Uri {
    pub(crate) token: Option<String>,
    pub(crate) manufacturer: Option<String>,
    pub(crate) serial: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) slot_id: Option<u64>,
    pub(crate) object: Option<String>,
    pub(crate) id: Option<Vec<u8>>,
    pub(crate) object_type: Option<String>,
    pub(crate) module_path: Option<String>,
    pub(crate) module_name: Option<String>,
    pub(crate) pin_source: Option<String>,
    pub(crate) pin_value: Option<AuthPin>,
    /// Every attribute but `pin-value`, as written (percent-encoded), in order:
    /// (is a query attribute, name, raw value).
    storable: Vec<(bool, String, String)>,
}

const PATH_ATTRIBUTES: &[&str] = &[
    "token",
    "manufacturer",
    "serial",
    "model",
    "object",
    "id",
    "type",
    "slot-id",
    "slot-description",
    "slot-manufacturer",
    "library-manufacturer",
    "library-description",
    "library-version",
];

/// The largest PIN file read (`pin-source`), in bytes.
const PIN_FILE_LIMIT: u64 = 4096;

const QUERY_ATTRIBUTES: &[&str] = &["pin-source", "pin-value", "module-path", "module-name"];

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::KeyUriInvalid, message.into())
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI.
    ///
    /// # Errors
    /// [`ErrorCode::KeyUriInvalid`] for anything RFC 7512 does not allow (another
    /// scheme, a bad percent-encoding, an attribute given twice, an empty name, a
    /// `slot-id` that is not a number, an unknown `type`) and for attributes this
    /// implementation does not know (other than `x-` vendor attributes).
    pub fn parse(text: &str) -> Result<Pkcs11Uri> {
        let rest = text.strip_prefix("pkcs11:").ok_or_else(|| invalid("a PKCS#11 key URI starts with \"pkcs11:\""))?;
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        if path.contains('#') || query.is_some_and(|q| q.contains('#')) {
            return Err(invalid("a PKCS#11 URI has no fragment (\"#\")"));
        }
        let mut uri = Pkcs11Uri {
            token: None,
            manufacturer: None,
            serial: None,
            model: None,
            slot_id: None,
            object: None,
            id: None,
            object_type: None,
            module_path: None,
            module_name: None,
            pin_source: None,
            pin_value: None,
            storable: Vec::new(),
        };
        let mut seen: Vec<String> = Vec::new();
        let parts = path
            .split(';')
            .filter(|p| !p.is_empty())
            .map(|p| (false, p))
            .chain(query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()).map(|p| (true, p)));
        for (position, (in_query, part)) in parts.enumerate() {
            // A part without "=" may be "pin-value 1234" or the PIN alone: name it by
            // its position (and a known attribute name it starts with), never echo it.
            let (name, raw) = part
                .split_once('=')
                .ok_or_else(|| invalid(format!("PKCS#11 URI {} has no \"=\"", attribute_at(position + 1, part))))?;
            if name.is_empty() {
                return Err(invalid("PKCS#11 URI attribute with an empty name"));
            }
            let known = if in_query { QUERY_ATTRIBUTES } else { PATH_ATTRIBUTES };
            if !known.contains(&name) {
                if name.starts_with("x-") {
                    uri.storable.push((in_query, name.to_owned(), raw.to_owned()));
                    continue;
                }
                let other = if in_query { PATH_ATTRIBUTES } else { QUERY_ATTRIBUTES };
                let hint = if other.contains(&name) {
                    if in_query {
                        " (it belongs in the path, before \"?\")"
                    } else {
                        " (it belongs in the query, after \"?\")"
                    }
                } else {
                    ""
                };
                if !shows_safely(name) {
                    return Err(invalid(format!(
                        "unknown PKCS#11 URI attribute (the {} attribute){hint}",
                        ordinal(position + 1)
                    )));
                }
                return Err(invalid(format!("unknown PKCS#11 URI attribute {name:?}{hint}")));
            }
            if seen.iter().any(|s| s == name) {
                return Err(invalid(format!("PKCS#11 URI attribute {name:?} appears twice")));
            }
            seen.push(name.to_owned());
            if name == "pin-value" {
                let mut bytes = percent_decode(raw, name)?;
                let pin = match std::str::from_utf8(&bytes) {
                    Ok(pin) => AuthPin::from(pin),
                    Err(_) => {
                        bytes.zeroize();
                        return Err(invalid("PKCS#11 URI attribute \"pin-value\" is not UTF-8"));
                    }
                };
                bytes.zeroize();
                uri.pin_value = Some(pin);
                continue;
            }
            uri.storable.push((in_query, name.to_owned(), raw.to_owned()));
            let bytes = percent_decode(raw, name)?;
            if name == "id" {
                uri.id = Some(bytes);
                continue;
            }
            let value = String::from_utf8(bytes)
                .map_err(|_| invalid(format!("PKCS#11 URI attribute {name:?} is not UTF-8")))?;
            match name {
                "token" => uri.token = Some(value),
                "manufacturer" => uri.manufacturer = Some(value),
                "serial" => uri.serial = Some(value),
                "model" => uri.model = Some(value),
                "object" => uri.object = Some(value),
                "type" => {
                    if !["private", "public", "cert", "secret-key", "data"].contains(&value.as_str()) {
                        return Err(invalid(format!(
                            "PKCS#11 URI \"type\" must be private, public, cert, secret-key or data, not {:?}",
                            printable(&value)
                        )));
                    }
                    uri.object_type = Some(value);
                }
                "slot-id" => {
                    let valid = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                    uri.slot_id = Some(
                        value
                            .parse()
                            .ok()
                            .filter(|_| valid)
                            .ok_or_else(|| invalid("PKCS#11 URI \"slot-id\" must be a decimal number"))?,
                    );
                }
                "module-path" => {
                    if value.is_empty() {
                        return Err(invalid("PKCS#11 URI \"module-path\" is empty"));
                    }
                    uri.module_path = Some(value);
                }
                "module-name" => {
                    if value.is_empty() || value.contains('/') {
                        return Err(invalid("PKCS#11 URI \"module-name\" must be a library name without a path"));
                    }
                    uri.module_name = Some(value);
                }
                "pin-source" => {
                    if value.is_empty() {
                        return Err(invalid("PKCS#11 URI \"pin-source\" is empty"));
                    }
                    uri.pin_source = Some(value);
                }
                // slot-description, slot-manufacturer and the library-* attributes are
                // checked for form only: they narrow a module choice Evidentia makes
                // from module-path, module-name or the environment.
                _ => {}
            }
        }
        if uri.pin_source.is_some() && uri.pin_value.is_some() {
            return Err(invalid("a PKCS#11 URI has either \"pin-source\" or \"pin-value\", not both"));
        }
        if uri.object_type.as_deref().is_some_and(|t| t != "private") {
            return Err(invalid("a signing key URI names a private key: \"type\" must be \"private\" or absent"));
        }
        if uri.object.is_none() && uri.id.is_none() {
            return Err(invalid("a PKCS#11 key URI names the key with \"object\" (its label) or \"id\""));
        }
        Ok(uri)
    }

    /// The URI as it may be written to disk (log.json, a configuration file): every
    /// attribute as given. A `pin-source` is a reference and is kept.
    ///
    /// # Errors
    /// [`ErrorCode::KeyUriInvalid`] when the URI carries a `pin-value`: a PIN is never
    /// stored. Use `pin-source` (a file readable only by the signer) instead.
    pub fn to_storable(&self) -> Result<String> {
        if self.pin_value.is_some() {
            return Err(invalid(
                "this PKCS#11 URI holds the PIN itself (\"pin-value\") and must not be stored; \
                 name a file with \"pin-source\" instead",
            ));
        }
        Ok(self.render())
    }

    /// The same URI with a relative `pin-source` path and a relative `module-path`
    /// made absolute against `base` (the current directory of the command that was
    /// given the URI), so that the URI means the same files wherever it is used
    /// later. A `module-path` without a "/" (a bare library name, found by the
    /// system's library search) and a `file:` `pin-source` (always absolute) are kept.
    pub fn with_absolute_paths(mut self, base: &Path) -> Pkcs11Uri {
        let absolute = |value: &str| -> Option<String> {
            let path = Path::new(value);
            (!path.is_absolute()).then(|| {
                let joined = base.join(path);
                // "./pin" → "/base/pin": std::path::absolute drops "." components.
                std::path::absolute(&joined).unwrap_or(joined).to_string_lossy().into_owned()
            })
        };
        let mut changed = Vec::new();
        if let Some(source) = &self.pin_source
            && !source.starts_with("file:")
            && let Some(path) = absolute(source)
        {
            changed.push(("pin-source", path));
        }
        if let Some(module) = &self.module_path
            && module.contains('/')
            && let Some(path) = absolute(module)
        {
            changed.push(("module-path", path));
        }
        for (name, value) in changed {
            if let Some(attribute) = self.storable.iter_mut().find(|a| a.0 && a.1 == name) {
                attribute.2 = percent_encode(&value);
            }
            match name {
                "pin-source" => self.pin_source = Some(value),
                _ => self.module_path = Some(value),
            }
        }
        self
    }

    /// Checks the module of a URI read back from a file that others may be able to
    /// edit (log.json's `key_uri`) before it is loaded: that file must not choose
    /// which shared library runs in the signer's process.
    ///
    /// With `EVIDENTIA_PKCS11_MODULE` set, the URI may name no other module (its
    /// `module-path` or `module-name`, if any, must give that same path). Without it,
    /// a `module-path` must be an absolute path to a file owned by root or by the
    /// current user that neither group nor others can write, in a directory of which
    /// the same holds; a `module-name` is left to the system's library search.
    ///
    /// # Errors
    /// [`ErrorCode::KeyUriInvalid`] for a module that fails these rules.
    pub fn check_stored_module(&self) -> Result<()> {
        if let Some(env) = std::env::var_os(MODULE_ENV).filter(|v| !v.is_empty()) {
            if (self.module_path.is_some() || self.module_name.is_some()) && self.module()?.as_os_str() != env {
                return Err(invalid(format!(
                    "the log's key URI names another PKCS#11 module than {MODULE_ENV}: \
                     pass the key with --key, or name that module in the log's key URI"
                )));
            }
            return Ok(());
        }
        match &self.module_path {
            Some(path) => trusted_module(Path::new(path)),
            None => Ok(()),
        }
    }

    /// Whether the URI carries the PIN itself (`pin-value`).
    pub fn has_pin_value(&self) -> bool {
        self.pin_value.is_some()
    }

    /// The key's label (`object`), if the URI names one.
    pub fn object(&self) -> Option<&str> {
        self.object.as_deref()
    }

    /// The key's CKA_ID (`id`), if the URI names one.
    pub fn id(&self) -> Option<&[u8]> {
        self.id.as_deref()
    }

    /// The token's label (`token`), if the URI names one.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn render(&self) -> String {
        let path: Vec<String> = self.storable.iter().filter(|a| !a.0).map(|a| format!("{}={}", a.1, a.2)).collect();
        let query: Vec<String> = self.storable.iter().filter(|a| a.0).map(|a| format!("{}={}", a.1, a.2)).collect();
        let mut text = format!("pkcs11:{}", path.join(";"));
        if !query.is_empty() {
            text.push('?');
            text.push_str(&query.join("&"));
        }
        text
    }

    /// The module to load: `module-path`, else `module-name` (found by the system's
    /// library search as `lib<name>.so`), else the environment variable
    /// `EVIDENTIA_PKCS11_MODULE`.
    pub(crate) fn module(&self) -> Result<PathBuf> {
        if let Some(path) = &self.module_path {
            return Ok(PathBuf::from(path));
        }
        if let Some(name) = &self.module_name {
            return Ok(PathBuf::from(if cfg!(target_os = "macos") {
                format!("lib{name}.dylib")
            } else if cfg!(windows) {
                format!("{name}.dll")
            } else {
                format!("lib{name}.so")
            }));
        }
        match std::env::var_os(MODULE_ENV) {
            Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
            _ => Err(invalid(format!(
                "no PKCS#11 module named: add \"?module-path=/path/to/module.so\" to the URI \
                 or set {MODULE_ENV}"
            ))),
        }
    }

    /// The PIN: `pin-value`, or the contents of the `pin-source` file less one
    /// trailing newline; `None` when the URI names neither.
    pub(crate) fn pin(&self) -> Result<Option<AuthPin>> {
        if let Some(pin) = &self.pin_value {
            return Ok(Some(AuthPin::from(pin.expose_secret())));
        }
        let Some(source) = &self.pin_source else { return Ok(None) };
        let path = match source.strip_prefix("file:") {
            Some(rest) => {
                // file:///abs/path, file://localhost/abs/path or file:/abs/path
                let rest = rest.strip_prefix("//localhost").or_else(|| rest.strip_prefix("//")).unwrap_or(rest);
                if !rest.starts_with('/') {
                    return Err(invalid("PKCS#11 URI \"pin-source\" file: URI must name an absolute path"));
                }
                rest.to_owned()
            }
            None => source.clone(),
        };
        let unreadable = |e: std::io::Error| {
            invalid(format!("cannot read the PIN file named by \"pin-source\" ({path}): {}", e.kind()))
        };
        // At most PIN_FILE_LIMIT + 1 bytes are read: "pin-source=/dev/zero" or a huge
        // file is refused rather than read until memory runs out.
        let mut bytes = Vec::new();
        let read = std::fs::File::open(&path)
            .and_then(|file| file.take(PIN_FILE_LIMIT + 1).read_to_end(&mut bytes))
            .map_err(unreadable);
        if let Err(error) = read {
            bytes.zeroize();
            return Err(error);
        }
        if bytes.len() as u64 > PIN_FILE_LIMIT {
            bytes.zeroize();
            return Err(invalid(format!(
                "the PIN file named by \"pin-source\" ({path}) is larger than {PIN_FILE_LIMIT} bytes"
            )));
        }
        let mut text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                error.into_bytes().zeroize();
                return Err(invalid(format!("the PIN file named by \"pin-source\" ({path}) is not UTF-8")));
            }
        };
        if text.ends_with("\r\n") {
            text.truncate(text.len() - 2);
        } else if text.ends_with('\n') {
            text.truncate(text.len() - 1);
        }
        let pin = AuthPin::from(text.as_str());
        text.zeroize();
        Ok(Some(pin))
    }
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("uri", &self.render())
            .field("pin_value", &self.pin_value.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A module a stored URI may name (see [`Pkcs11Uri::check_stored_module`]).
fn trusted_module(path: &Path) -> Result<()> {
    let refuse = |why: &str| {
        Err(invalid(format!(
            "the log's key URI names the PKCS#11 module {}, which {why}: a module is loaded from a stored URI \
             only when it is an absolute path to a file owned by root or by you that no one else can write \
             (or pass the key with --key, or set {MODULE_ENV})",
            path.display()
        )))
    };
    if !path.is_absolute() {
        return refuse("is not an absolute path");
    }
    let Ok(file) = std::fs::canonicalize(path) else { return refuse("cannot be found") };
    let Ok(metadata) = std::fs::metadata(&file) else { return refuse("cannot be read") };
    if !metadata.is_file() {
        return refuse("is not a file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // The process's effective user owns /proc/self (Linux); elsewhere only root's
        // files are trusted.
        let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
        let trusted = |m: &std::fs::Metadata| (m.uid() == 0 || Some(m.uid()) == me) && m.mode() & 0o022 == 0;
        if !trusted(&metadata) {
            return refuse("is not owned by root or by you, or others can write to it");
        }
        let parent = file.parent().and_then(|dir| std::fs::metadata(dir).ok());
        if !parent.as_ref().is_some_and(trusted) {
            return refuse("is in a directory not owned by root or by you, or that others can write to");
        }
    }
    Ok(())
}

/// "1st", "2nd", "3rd", "4th", ….
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// How a message names the attribute at `position` (1-based) whose text is `part`:
/// by position, and by the attribute name the text starts with when that is a known
/// one other than `pin-value`. The rest of the text (a PIN, perhaps) is never shown.
fn attribute_at(position: usize, part: &str) -> String {
    let head = part.split([' ', '=', '\t', ':', ',']).next().unwrap_or("");
    let known = PATH_ATTRIBUTES.contains(&head) || QUERY_ATTRIBUTES.contains(&head);
    if known && head != "pin-value" && head.len() < part.len() {
        format!("attribute {head:?} (the {} attribute)", ordinal(position))
    } else if known && head != "pin-value" {
        format!("attribute {head:?}")
    } else {
        format!("the {} attribute", ordinal(position))
    }
}

/// Whether an unknown attribute name may be repeated in a message: a plain name
/// (letters, "-" and "_" only, at most 40) that does not start with "pin", so that a
/// mistyped "pin-value1234" or a PIN given as a name is never shown.
fn shows_safely(name: &str) -> bool {
    if PATH_ATTRIBUTES.contains(&name) || QUERY_ATTRIBUTES.contains(&name) {
        return true;
    }
    name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
        && !name.to_ascii_lowercase().starts_with("pin")
}

/// A value as it may appear in a message: at most 40 characters, control characters
/// escaped by `{:?}`.
fn printable(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A query attribute value as a URI holds it: bytes other than unreserved ones,
/// "/" and ":" percent-encoded.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(raw: &str, name: &str) -> Result<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .filter(|_| bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit());
                match hex {
                    Some(b) => out.push(b),
                    None => {
                        out.zeroize();
                        return Err(invalid(format!("PKCS#11 URI attribute {name:?} has a bad percent-encoding")));
                    }
                }
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}
