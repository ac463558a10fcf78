//! The one error type of the crate and its HTTP mapping.
//!
//! Every failure a client can see is a [`PasskeyError`]; [`PasskeyError::code`] and
//! [`PasskeyError::status`] are the single place where errors become HTTP. The response body is
//! always the JSON envelope `{"error":{"code","message"}}` with a short, stable message: the
//! internal cause (a store error, a WebAuthn verification detail) is logged, never sent.

use std::error::Error as StdError;

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;

/// A boxed internal cause, kept for logs and `source()` but never shown to clients.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong in a passkey ceremony or a management request.
///
/// ```
/// use actix_passkeys::PasskeyError;
/// use actix_web::http::StatusCode;
///
/// let err = PasskeyError::ChallengeNotFound;
/// assert_eq!(err.code().as_str(), "challenge_not_found");
/// assert_eq!(err.status(), StatusCode::BAD_REQUEST);
/// ```
#[derive(Debug, derive_more::Display)]
#[non_exhaustive]
pub enum PasskeyError {
    /// The state handle is unknown, already used, or belongs to another ceremony.
    #[display("The challenge is unknown, already used, or belongs to another ceremony.")]
    ChallengeNotFound,
    /// The state handle was found but its time to live has passed.
    #[display("The challenge has expired; start the ceremony again.")]
    ChallengeExpired,
    /// The registration response did not verify.
    #[display("The registration response failed verification.")]
    AttestationVerificationFailed(#[display(skip)] Option<BoxError>),
    /// The credential id is already registered (to this or another user).
    #[display("This credential is already registered.")]
    CredentialAlreadyExists,
    /// No usable credential matches the assertion.
    #[display("No matching registered credential was found.")]
    CredentialNotFound,
    /// The assertion did not verify (signature, origin, flags, user handle, replay).
    #[display("The authentication response failed verification.")]
    AssertionVerificationFailed(#[display(skip)] Option<BoxError>),
    /// The signature counter did not advance: the authenticator may be cloned.
    #[display("The signature counter did not advance; the authenticator may be cloned.")]
    CloneDetected,
    /// The credential was disabled (for example after a suspected clone).
    #[display("This credential has been disabled.")]
    CredentialDisabled,
    /// The request needs a signed-in (or identified) user and there is none.
    #[display("Not authenticated.")]
    NotAuthenticated,
    /// A management request named a credential that is not the caller's.
    #[display("Not found.")]
    NotFound,
    /// The passkey sign-in is older than the step-up window of a [`Fresh`](crate::Fresh) route.
    #[display("Please sign in again with your passkey.")]
    ReauthenticationRequired,
    /// Too many ceremony requests from this client; retry after the given number of seconds.
    #[display("Too many requests; try again later.")]
    RateLimited {
        /// Seconds until a request would be accepted (sent as `Retry-After`).
        retry_after: u64,
    },
    /// The request was malformed: bad JSON, bad base64url, wrong content type, invalid field.
    #[display("{_0}")]
    InvalidRequest(#[display(skip)] &'static str),
    /// The request body exceeds the configured limit.
    #[display("The request body is too large.")]
    PayloadTooLarge,
    /// A store (database, Redis, memory bound) could not serve the request.
    #[display("The passkey store is unavailable; try again later.")]
    StoreUnavailable(#[display(skip)] BoxError),
    /// The library or the app is misconfigured (for example no user resolver).
    #[display("The passkey service is misconfigured.")]
    Configuration(#[display(skip)] BoxError),
}

/// The stable, machine-readable code of an error envelope `{"error":{"code","message"}}`:
/// [`as_str`](Self::as_str) is the wire string (unchanged from fastapi-passkeys).
///
/// ```
/// use actix_passkeys::{ErrorCode, PasskeyError};
///
/// assert_eq!(PasskeyError::ChallengeNotFound.code(), ErrorCode::ChallengeNotFound);
/// assert_eq!(ErrorCode::ChallengeNotFound.as_str(), "challenge_not_found");
/// assert_eq!(ErrorCode::RateLimited.to_string(), "rate_limited");
/// assert!(ErrorCode::ALL.contains(&ErrorCode::ConfigurationError));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request` (400): malformed JSON or base64url, wrong content type or method.
    InvalidRequest,
    /// `challenge_not_found` (400).
    ChallengeNotFound,
    /// `challenge_expired` (400).
    ChallengeExpired,
    /// `attestation_verification_failed` (400).
    AttestationVerificationFailed,
    /// `credential_already_exists` (409).
    CredentialAlreadyExists,
    /// `credential_not_found` (401).
    CredentialNotFound,
    /// `assertion_verification_failed` (401).
    AssertionVerificationFailed,
    /// `clone_detected` (401).
    CloneDetected,
    /// `credential_disabled` (401).
    CredentialDisabled,
    /// `not_authenticated` (401).
    NotAuthenticated,
    /// `reauthentication_required` (401).
    ReauthenticationRequired,
    /// `rate_limited` (429).
    RateLimited,
    /// `not_found` (404): a credential that is not the caller's, or an unknown route.
    NotFound,
    /// `payload_too_large` (413).
    PayloadTooLarge,
    /// `store_unavailable` (503).
    StoreUnavailable,
    /// `configuration_error` (500).
    ConfigurationError,
}

impl ErrorCode {
    /// Every code the scope can answer, in the order of the table in `docs/errors.md`.
    pub const ALL: &'static [ErrorCode] = &[
        Self::InvalidRequest,
        Self::ChallengeNotFound,
        Self::ChallengeExpired,
        Self::AttestationVerificationFailed,
        Self::CredentialAlreadyExists,
        Self::CredentialNotFound,
        Self::AssertionVerificationFailed,
        Self::CloneDetected,
        Self::CredentialDisabled,
        Self::NotAuthenticated,
        Self::ReauthenticationRequired,
        Self::RateLimited,
        Self::NotFound,
        Self::PayloadTooLarge,
        Self::StoreUnavailable,
        Self::ConfigurationError,
    ];

    /// The wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::ChallengeNotFound => "challenge_not_found",
            Self::ChallengeExpired => "challenge_expired",
            Self::AttestationVerificationFailed => "attestation_verification_failed",
            Self::CredentialAlreadyExists => "credential_already_exists",
            Self::CredentialNotFound => "credential_not_found",
            Self::AssertionVerificationFailed => "assertion_verification_failed",
            Self::CloneDetected => "clone_detected",
            Self::CredentialDisabled => "credential_disabled",
            Self::NotAuthenticated => "not_authenticated",
            Self::ReauthenticationRequired => "reauthentication_required",
            Self::RateLimited => "rate_limited",
            Self::NotFound => "not_found",
            Self::PayloadTooLarge => "payload_too_large",
            Self::StoreUnavailable => "store_unavailable",
            Self::ConfigurationError => "configuration_error",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PasskeyError {
    /// The stable, machine-readable code sent in the error envelope.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::ChallengeNotFound => ErrorCode::ChallengeNotFound,
            Self::ChallengeExpired => ErrorCode::ChallengeExpired,
            Self::AttestationVerificationFailed(_) => ErrorCode::AttestationVerificationFailed,
            Self::CredentialAlreadyExists => ErrorCode::CredentialAlreadyExists,
            Self::CredentialNotFound => ErrorCode::CredentialNotFound,
            Self::AssertionVerificationFailed(_) => ErrorCode::AssertionVerificationFailed,
            Self::CloneDetected => ErrorCode::CloneDetected,
            Self::CredentialDisabled => ErrorCode::CredentialDisabled,
            Self::NotAuthenticated => ErrorCode::NotAuthenticated,
            Self::NotFound => ErrorCode::NotFound,
            Self::ReauthenticationRequired => ErrorCode::ReauthenticationRequired,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::StoreUnavailable(_) => ErrorCode::StoreUnavailable,
            Self::Configuration(_) => ErrorCode::ConfigurationError,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::ChallengeNotFound
            | Self::ChallengeExpired
            | Self::AttestationVerificationFailed(_)
            | Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::CredentialAlreadyExists => StatusCode::CONFLICT,
            Self::CredentialNotFound
            | Self::AssertionVerificationFailed(_)
            | Self::CloneDetected
            | Self::CredentialDisabled
            | Self::NotAuthenticated
            | Self::ReauthenticationRequired => StatusCode::UNAUTHORIZED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Configuration(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A store failure: answered with 503 `store_unavailable`, cause logged.
    pub fn store<E: StdError + Send + Sync + 'static>(err: E) -> Self {
        Self::StoreUnavailable(Box::new(err))
    }
}

impl StdError for PasskeyError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::AttestationVerificationFailed(Some(e))
            | Self::AssertionVerificationFailed(Some(e))
            | Self::StoreUnavailable(e)
            | Self::Configuration(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// Why [`Passkeys::builder`](crate::Passkeys::builder)`(..).build()` refused its settings.
///
/// ```
/// use actix_passkeys::{store::memory::*, BuildError, PasskeyConfig, Passkeys};
///
/// let config = PasskeyConfig::builder("localhost", "Demo").origin("http://localhost:8080").build()?;
/// let err = Passkeys::builder(config, MemoryCredentialStore::new(), MemoryChallengeStore::new())
///     .server_secret(*b"too short")
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, BuildError::ServerSecretTooShort { len: 9 }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, derive_more::Display, derive_more::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// [`server_secret`](crate::PasskeysBuilder::server_secret) is shorter than 16 bytes (the
    /// key of the fake credential ids would be guessable).
    #[display("server_secret must be at least 16 bytes (got {len}); use 32 random bytes")]
    ServerSecretTooShort {
        /// The length given.
        len: usize,
    },
    /// No [`user_resolver`](crate::PasskeysBuilder::user_resolver) was set, and without the
    /// `session` feature there is no default one: registration and credential management would
    /// not know whose they are.
    #[display(
        "no user resolver: set PasskeysBuilder::user_resolver (or enable the `session` feature)"
    )]
    NoUserResolver,
}

/// The cause of the `configuration_error` an extractor answers when no
/// [`Passkeys`](crate::Passkeys) handle is registered for its route. Its `Display` names the fix.
#[derive(Debug, Clone, Copy, derive_more::Display, derive_more::Error)]
#[display(
    "no Passkeys handle is registered for this route: mount it with \
     App::new().configure(passkeys.configure()), which makes it app data for every route"
)]
pub(crate) struct NotMounted;

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

/// Builds the JSON error envelope `{"error":{"code","message"}}` with a given status.
///
/// Used by the scope for errors that do not come from [`PasskeyError`] (for example an
/// unknown route inside the scope) so that every answer has the same shape.
pub(crate) fn envelope(status: StatusCode, code: ErrorCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(Envelope {
        error: Body {
            code: code.as_str(),
            message,
        },
    })
}

impl ResponseError for PasskeyError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status();
        // A missing handle was logged once where it was found missing (even when an
        // `Option<_>` extractor swallows the error); not again here.
        let logged = self.source().is_some_and(|e| e.is::<NotMounted>());
        if status.is_server_error() && !logged {
            // The cause goes to the log, never to the client. Store errors carry no secrets
            // (no challenge, key or cookie is ever placed in one).
            match self.source() {
                Some(cause) => log::error!("passkeys: {} ({}): {cause}", self.code(), status),
                None => log::error!("passkeys: {} ({})", self.code(), status),
            }
        }
        let mut resp = envelope(status, self.code(), &self.to_string());
        if let Self::RateLimited { retry_after } = self {
            if let Ok(value) =
                actix_web::http::header::HeaderValue::from_str(&retry_after.to_string())
            {
                resp.headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, value);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_its_documented_code_and_status() {
        let io = || Box::new(std::io::Error::other("boom")) as BoxError;
        let table: Vec<(PasskeyError, &str, u16)> = vec![
            (PasskeyError::ChallengeNotFound, "challenge_not_found", 400),
            (PasskeyError::ChallengeExpired, "challenge_expired", 400),
            (
                PasskeyError::AttestationVerificationFailed(None),
                "attestation_verification_failed",
                400,
            ),
            (
                PasskeyError::CredentialAlreadyExists,
                "credential_already_exists",
                409,
            ),
            (
                PasskeyError::CredentialNotFound,
                "credential_not_found",
                401,
            ),
            (
                PasskeyError::AssertionVerificationFailed(None),
                "assertion_verification_failed",
                401,
            ),
            (PasskeyError::CloneDetected, "clone_detected", 401),
            (PasskeyError::CredentialDisabled, "credential_disabled", 401),
            (PasskeyError::NotAuthenticated, "not_authenticated", 401),
            (PasskeyError::NotFound, "not_found", 404),
            (
                PasskeyError::ReauthenticationRequired,
                "reauthentication_required",
                401,
            ),
            (
                PasskeyError::RateLimited { retry_after: 3 },
                "rate_limited",
                429,
            ),
            (PasskeyError::InvalidRequest("bad"), "invalid_request", 400),
            (PasskeyError::PayloadTooLarge, "payload_too_large", 413),
            (
                PasskeyError::StoreUnavailable(io()),
                "store_unavailable",
                503,
            ),
            (
                PasskeyError::Configuration(io()),
                "configuration_error",
                500,
            ),
        ];
        let mut codes: Vec<&str> = table.iter().map(|(e, _, _)| e.code().as_str()).collect();
        codes.sort_unstable();
        let mut listed: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        listed.sort_unstable();
        assert_eq!(codes, listed, "ErrorCode::ALL is every code, once");
        for (err, code, status) in table {
            assert_eq!(err.code(), code);
            assert_eq!(err.status().as_u16(), status, "{code}");
        }
    }

    #[test]
    fn rate_limited_carries_retry_after() {
        let resp = PasskeyError::RateLimited { retry_after: 7 }.error_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers().get("retry-after").unwrap(), "7");
    }

    #[test]
    fn server_errors_never_show_their_cause() {
        let err = PasskeyError::store(std::io::Error::other("password=hunter2 at db:5432"));
        let resp = err.error_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!err.to_string().contains("hunter2"));
        assert!(err.source().is_some());
    }
}
