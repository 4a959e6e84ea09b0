//! Errors: one exception type per family of the core's code table, each carrying
//! the stable code, its name and the reason (never key material or payloads).

use evidentia::{Error, ErrorCode, ErrorFamily};

pub(crate) type Result<T> = std::result::Result<T, EvidentiaError>;

/// An error of Evidentia: Kotlin `EvidentiaException.<Family>`, Swift
/// `EvidentiaError.<family>`, with `code` (docs/ERRORS.md), `codeName` and `reason`.
#[derive(Debug, uniffi::Error)]
pub enum EvidentiaError {
    /// An argument is missing or out of range (1xx).
    Usage { code: u16, code_name: String, reason: String },
    /// JSON input is malformed or would silently change (2xx).
    Json { code: u16, code_name: String, reason: String },
    /// Key material or a key set is malformed, unsupported, or a signer failed (3xx).
    Key { code: u16, code_name: String, reason: String },
    /// A JWS is malformed or unsupported (4xx).
    Jws { code: u16, code_name: String, reason: String },
    /// A record, receipt or time is malformed (5xx).
    Record { code: u16, code_name: String, reason: String },
    /// Evidence did not verify (6xx).
    Verification { code: u16, code_name: String, reason: String },
    /// A log on disk cannot be used (7xx).
    Storage { code: u16, code_name: String, reason: String },
    /// A proof, checkpoint or batch receipt is malformed (8xx).
    Proof { code: u16, code_name: String, reason: String },
    /// A bug in Evidentia (9xx).
    Internal { code: u16, code_name: String, reason: String },
}

impl From<Error> for EvidentiaError {
    fn from(e: Error) -> EvidentiaError {
        let code = e.code();
        let fields = (code as u16, code.name().to_owned(), e.message().to_owned());
        match code.family() {
            ErrorFamily::Usage => EvidentiaError::Usage { code: fields.0, code_name: fields.1, reason: fields.2 },
            ErrorFamily::Json => EvidentiaError::Json { code: fields.0, code_name: fields.1, reason: fields.2 },
            ErrorFamily::Key => EvidentiaError::Key { code: fields.0, code_name: fields.1, reason: fields.2 },
            ErrorFamily::Jws => EvidentiaError::Jws { code: fields.0, code_name: fields.1, reason: fields.2 },
            ErrorFamily::Record => EvidentiaError::Record { code: fields.0, code_name: fields.1, reason: fields.2 },
            ErrorFamily::Verification => {
                EvidentiaError::Verification { code: fields.0, code_name: fields.1, reason: fields.2 }
            }
            ErrorFamily::Storage => EvidentiaError::Storage { code: fields.0, code_name: fields.1, reason: fields.2 },
            ErrorFamily::Proof => EvidentiaError::Proof { code: fields.0, code_name: fields.1, reason: fields.2 },
            // Internal, and any family a later core adds before these bindings know it.
            _ => EvidentiaError::Internal { code: fields.0, code_name: fields.1, reason: fields.2 },
        }
    }
}

/// A platform signer (Kotlin or Swift code) that threw: its exception becomes
/// `SIGNER_FAILED`, with the exception's text as the reason.
impl From<uniffi::UnexpectedUniFFICallbackError> for EvidentiaError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> EvidentiaError {
        fail(ErrorCode::SignerFailed, format!("the signer failed: {}", e.reason))
    }
}

impl std::fmt::Display for EvidentiaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (code, name, reason) = self.parts();
        write!(f, "{name} ({code}): {reason}")
    }
}

impl std::error::Error for EvidentiaError {}

impl EvidentiaError {
    pub(crate) fn parts(&self) -> (u16, &str, &str) {
        match self {
            EvidentiaError::Usage { code, code_name, reason }
            | EvidentiaError::Json { code, code_name, reason }
            | EvidentiaError::Key { code, code_name, reason }
            | EvidentiaError::Jws { code, code_name, reason }
            | EvidentiaError::Record { code, code_name, reason }
            | EvidentiaError::Verification { code, code_name, reason }
            | EvidentiaError::Storage { code, code_name, reason }
            | EvidentiaError::Proof { code, code_name, reason }
            | EvidentiaError::Internal { code, code_name, reason } => (*code, code_name, reason),
        }
    }
}

/// An error with one of the core's codes.
pub(crate) fn fail(code: ErrorCode, reason: impl Into<String>) -> EvidentiaError {
    Error::new(code, reason.into()).into()
}
