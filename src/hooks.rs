//! What an app plugs into the service: who the user is ([`UserResolver`]), what to answer
//! after a sign-in ([`AuthenticatedHook`]), where audit events go ([`AuditSink`]) and the time
//! source ([`Clock`]); plus the session bridge's own resolver and state.
//!
//! ## One async form
//!
//! Every async app hook has the form of the store traits
//! ([`CredentialStore`](crate::store::CredentialStore),
//! [`ChallengeStore`](crate::store::ChallengeStore)), chosen once for the crate:
//!
//! - methods written `fn name(&self, ..) -> impl Future<Output = Result<T, Self::Error>>`
//!   (implement them with `async fn`; no `async-trait`, no boxing on your side);
//! - one associated `type Error` per trait, bounded by what the service does with it.
//!
//! | trait | future | `Error` bound | what happens to an error |
//! |---|---|---|---|
//! | [`UserResolver`] | not `Send` (takes the `HttpRequest`) | `Into<PasskeyError>` | answered (usually 401 `not_authenticated`) |
//! | [`AuthenticatedHook`] | not `Send` (takes the `HttpRequest`) | `Into<actix_web::Error>` | answered as the app's own error |
//! | [`AuditSink`] | `Send` | `std::error::Error + Send + Sync` | logged as a warning |
//! | [`RateLimitBackend`](crate::rate_limit::RateLimitBackend) | `Send` | `std::error::Error + Send + Sync` | logged; the request is let through |
//! | store traits | `Send` | `std::error::Error + Send + Sync` | 503 `store_unavailable` |
//!
//! The two hooks that receive the request cannot promise `Send`: actix-web's `HttpRequest` is
//! reference-counted without atomics (`Rc`), and actix runs each request on one worker thread,
//! so nothing is lost. A plain closure is a resolver or a hook too, with
//! `Error = PasskeyError` and `actix_web::Error` respectively. The service erases every hook
//! once, when it is built; nothing an app names is generic over them.
//!
//! [`Clock`] is synchronous: reading the time never waits.
#![doc = include_str!("../docs/custom-flows.md")]

#[cfg(feature = "session")]
#[cfg_attr(docsrs, doc(cfg(feature = "session")))]
pub use crate::web::session::{PasskeySession, SessionUserResolver};
pub use crate::{
    audit::{AuditEvent, AuditEventKind, AuditSink, LogAuditSink, NoopAuditSink},
    clock::{Clock, FrozenClock, SystemClock},
    model::AuthenticationResult,
    web::resolver::{AuthenticatedHook, UserResolver},
};
