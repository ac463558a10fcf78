//! Audit events and where they go.
//!
//! Sinks are fire-and-forget: a failing sink is logged as a warning and never changes a
//! ceremony's result. Events carry ids and reasons, never challenges, keys or cookies.

use std::{convert::Infallible, error::Error, fmt::Debug, future::Future};

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::error::BoxError;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, derive_more::Display)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEventKind {
    /// `register/begin` issued options.
    #[display("registration_began")]
    RegistrationBegan,
    /// A passkey was registered.
    #[display("registration_succeeded")]
    RegistrationSucceeded,
    /// A registration finish was refused.
    #[display("registration_failed")]
    RegistrationFailed,
    /// `authenticate/begin` issued options.
    #[display("authentication_began")]
    AuthenticationBegan,
    /// A sign-in was verified.
    #[display("authentication_succeeded")]
    AuthenticationSucceeded,
    /// A sign-in was refused.
    #[display("authentication_failed")]
    AuthenticationFailed,
    /// A finish arrived after its challenge expired.
    #[display("challenge_expired")]
    ChallengeExpired,
    /// A signature counter did not advance.
    #[display("clone_suspected")]
    CloneSuspected,
    /// A credential was disabled.
    #[display("credential_disabled")]
    CredentialDisabled,
    /// A credential was deleted by its owner.
    #[display("credential_revoked")]
    CredentialRevoked,
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditEventKind,
    /// When.
    pub at: DateTime<Utc>,
    /// The app user id, when known. For `authentication_began` and `authentication_failed` it
    /// can be whatever a client sent as `userId` (up to the user-id limit): a sink that writes
    /// lines must escape it, as [`LogAuditSink`] does.
    pub user_id: Option<String>,
    /// The credential id (base64url), when known.
    pub credential_id: Option<String>,
    /// The error code or reason, for failures.
    pub reason: Option<&'static str>,
}

impl AuditEvent {
    /// A new event of `kind` at `at` with no subject.
    pub fn new(kind: AuditEventKind, at: DateTime<Utc>) -> Self {
        Self {
            kind,
            at,
            user_id: None,
            credential_id: None,
            reason: None,
        }
    }

    /// Sets the user id.
    #[must_use]
    pub fn user(mut self, user_id: Option<&str>) -> Self {
        self.user_id = user_id.map(str::to_owned);
        self
    }

    /// Sets the credential id (base64url).
    #[must_use]
    pub fn credential(mut self, credential_id: Option<String>) -> Self {
        self.credential_id = credential_id;
        self
    }

    /// Sets the reason.
    #[must_use]
    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }
}

/// Receives audit events: the same form as the store traits (see [`hooks`](crate::hooks)),
/// an `impl Future + Send` method and an associated error.
///
/// The events of a ceremony step are handed over, in order, when the step is over (before the
/// answer is sent), so a slow sink delays answers: queue slow work elsewhere. An error is
/// logged as a warning and otherwise ignored (the ceremony's result stands).
///
/// ```
/// use std::{convert::Infallible, future::Future};
///
/// use actix_passkeys::{hooks::AuditEvent, hooks::AuditSink};
///
/// #[derive(Debug)]
/// struct Stdout;
/// impl AuditSink for Stdout {
///     type Error = Infallible;
///
///     fn emit(&self, event: &AuditEvent) -> impl Future<Output = Result<(), Infallible>> + Send {
///         println!("{} {:?}", event.kind, event.user_id);
///         std::future::ready(Ok(()))
///     }
/// }
/// ```
pub trait AuditSink: Debug + Send + Sync + 'static {
    /// The sink's error: logged as a warning, never answered.
    type Error: Error + Send + Sync + 'static;

    /// Records one event.
    fn emit(&self, event: &AuditEvent) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Writes events to the `log` crate (target `actix_passkeys::audit`, level info; failures warn),
/// one line each: `<kind> user=<id> credential=<id> reason=<code>`. A user id that is not a
/// plain token is written as an escaped, quoted string, so no input can start a forged line.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogAuditSink;

impl AuditSink for LogAuditSink {
    type Error = Infallible;

    fn emit(&self, e: &AuditEvent) -> impl Future<Output = Result<(), Infallible>> + Send {
        log_event(e);
        std::future::ready(Ok(()))
    }
}

/// Writes one event as [`LogAuditSink`] does.
pub(crate) fn log_event(e: &AuditEvent) {
    let level = match e.kind {
        AuditEventKind::RegistrationFailed
        | AuditEventKind::AuthenticationFailed
        | AuditEventKind::CloneSuspected
        | AuditEventKind::CredentialDisabled => log::Level::Warn,
        _ => log::Level::Info,
    };
    log::log!(
        target: "actix_passkeys::audit",
        level,
        "{} user={} credential={} reason={}",
        e.kind,
        // User ids come from requests (`authenticate/begin {"userId"}`): escaped, one token.
        e.user_id.as_deref().map_or(crate::text::LogValue("-"), crate::text::LogValue),
        e.credential_id.as_deref().unwrap_or("-"),
        e.reason.unwrap_or("-"),
    );
}

/// Drops every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopAuditSink;

impl AuditSink for NoopAuditSink {
    type Error = Infallible;

    fn emit(&self, _: &AuditEvent) -> impl Future<Output = Result<(), Infallible>> + Send {
        std::future::ready(Ok(()))
    }
}

/// [`AuditSink`] without its types, as the service holds it.
pub(crate) trait DynAuditSink: Debug + Send + Sync + 'static {
    fn emit<'a>(&'a self, event: &'a AuditEvent) -> BoxFuture<'a, Result<(), BoxError>>;
}

impl<A: AuditSink> DynAuditSink for A {
    fn emit<'a>(&'a self, event: &'a AuditEvent) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            AuditSink::emit(self, event)
                .await
                .map_err(|e| Box::new(e) as BoxError)
        })
    }
}

/// Sends an event to a sink, logging (not propagating) its failure.
pub(crate) async fn emit(sink: &dyn DynAuditSink, event: AuditEvent) {
    emit_ref(sink, &event).await;
}

/// [`emit`] of a borrowed event.
pub(crate) async fn emit_ref(sink: &dyn DynAuditSink, event: &AuditEvent) {
    if let Err(err) = sink.emit(event).await {
        log::warn!("passkeys: audit sink failed for {}: {err}", event.kind);
    }
}
