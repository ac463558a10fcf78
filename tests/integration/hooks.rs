//! The app hooks in their one async form (`impl Future` methods, an associated error): a
//! resolver and a sign-in hook with the app's own error types, an audit sink and a rate-limit
//! backend that really await.

use std::{
    future::Future,
    sync::{Arc, Mutex},
};

use actix_passkeys::{
    hooks::AuditEvent,
    hooks::AuditEventKind,
    hooks::AuditSink,
    hooks::AuthenticatedHook,
    hooks::AuthenticationResult,
    hooks::UserResolver,
    rate_limit::{RateDecision, RateLimit, RateLimitBackend},
    testing::SoftAuthenticator,
    PasskeyError, PasskeyUser,
};
use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::fixtures::*;

/// A sink that yields to the runtime before it records: an async sink, which the old
/// synchronous `emit` could not be.
#[derive(Debug, Clone, Default)]
struct Awaiting(Arc<Mutex<Vec<AuditEventKind>>>);

impl AuditSink for Awaiting {
    type Error = std::convert::Infallible;

    async fn emit(&self, event: &AuditEvent) -> Result<(), Self::Error> {
        tokio::task::yield_now().await;
        self.0.lock().unwrap().push(event.kind);
        Ok(())
    }
}

#[actix_rt::test]
async fn an_audit_sink_may_await_and_gets_every_event_in_order() {
    let ctx = Ctx::<Memory>::new().await;
    let sink = Awaiting::default();
    let passkeys = ctx
        .builder(config().build().unwrap())
        .audit(sink.clone())
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("ann").await;
    app.register(&mut auth, None).await.assert_ok();
    app.sign_in(&mut auth, Some("ann")).await.assert_ok();
    // Recorded before each answer was sent.
    assert_eq!(
        *sink.0.lock().unwrap(),
        [
            AuditEventKind::RegistrationBegan,
            AuditEventKind::RegistrationSucceeded,
            AuditEventKind::AuthenticationBegan,
            AuditEventKind::AuthenticationSucceeded,
        ]
    );
}

/// The app's own error, answered by its own `ResponseError`.
#[derive(Debug, derive_more::Display)]
#[display("account locked")]
struct Locked;

impl ResponseError for Locked {
    fn status_code(&self) -> StatusCode {
        StatusCode::FORBIDDEN
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::Forbidden().json(json!({ "error": { "code": "account_locked" } }))
    }
}

/// Why the header resolver found no user.
#[derive(Debug)]
struct NoUserHeader;

impl From<NoUserHeader> for PasskeyError {
    fn from(_: NoUserHeader) -> Self {
        PasskeyError::NotAuthenticated
    }
}

/// Trusts an `x-user` header (demo only).
struct HeaderUser;

impl UserResolver for HeaderUser {
    type Error = NoUserHeader;

    async fn resolve(&self, req: HttpRequest) -> Result<PasskeyUser, NoUserHeader> {
        let id = req
            .headers()
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .ok_or(NoUserHeader)?;
        Ok(PasskeyUser::new(id, id, id))
    }
}

/// Refuses the user `locked`.
struct LockCheck;

impl AuthenticatedHook for LockCheck {
    type Error = Locked;

    async fn call(
        &self,
        _: HttpRequest,
        result: AuthenticationResult,
    ) -> Result<HttpResponse, Locked> {
        if result.user_id == "locked" {
            return Err(Locked);
        }
        Ok(HttpResponse::Ok().json(json!({ "hello": result.user_id })))
    }
}

#[actix_rt::test]
async fn resolvers_and_sign_in_hooks_answer_with_their_own_errors() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx
        .builder(config().build().unwrap())
        .user_resolver(HeaderUser)
        .on_authenticated(LockCheck)
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    app.post_empty("/auth/passkeys/register/begin")
        .await
        .assert_error(401, "not_authenticated");
    for user in ["ann", "locked"] {
        let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
        let begin = app
            .send(
                actix_web::test::TestRequest::post()
                    .uri("/auth/passkeys/register/begin")
                    .insert_header(("x-user", user)),
            )
            .await;
        let credential = auth
            .register(&begin.assert_ok()["publicKey"])
            .await
            .unwrap();
        let finish = json!({ "credential": credential, "state": begin.body["state"] });
        app.send(
            actix_web::test::TestRequest::post()
                .uri("/auth/passkeys/register/finish")
                .insert_header(("x-user", user))
                .set_json(finish),
        )
        .await
        .assert_ok();
        let r = app.sign_in(&mut auth, Some(user)).await;
        if user == "locked" {
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            assert_eq!(r.body["error"]["code"], "account_locked");
        } else {
            assert_eq!(r.assert_ok()["hello"], "ann");
        }
    }
}

/// A backend that awaits and then fails: the request is let through.
#[derive(Debug, Clone, Default)]
struct Flaky(Arc<Mutex<usize>>);

impl RateLimitBackend for Flaky {
    type Error = std::io::Error;

    fn take(
        &self,
        _key: &str,
        _burst: u32,
        _per_second: f64,
        _now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RateDecision, std::io::Error>> + Send {
        let calls = Arc::clone(&self.0);
        async move {
            tokio::task::yield_now().await;
            let mut calls = calls.lock().unwrap();
            *calls += 1;
            if *calls == 1 {
                Ok(RateDecision::Allow)
            } else if *calls == 2 {
                Ok(RateDecision::Limit(std::time::Duration::from_secs(3)))
            } else {
                Err(std::io::Error::other("bucket store down"))
            }
        }
    }
}

#[actix_rt::test]
async fn a_rate_limit_backend_may_await_and_fail_open() {
    let ctx = Ctx::<Memory>::new().await;
    let backend = Flaky::default();
    let passkeys = ctx
        .builder(config().build().unwrap())
        .rate_limit(
            RateLimit::new(1, 1.0)
                .key(|_| Some("k".to_owned()))
                .backend(backend.clone()),
        )
        .build()
        .unwrap();
    let mut app = ctx
        .app_configured(move |cfg| {
            cfg.configure(passkeys.configure())
                .route("/signup", web::post().to(signup));
        })
        .await;
    let begin = "/auth/passkeys/authenticate/begin";
    app.post(begin, json!({})).await.assert_ok();
    let limited = app.post(begin, json!({})).await;
    limited.assert_error(429, "rate_limited");
    assert_eq!(limited.headers.get("retry-after").unwrap(), "3");
    app.post(begin, json!({})).await.assert_ok();
    assert_eq!(*backend.0.lock().unwrap(), 3);
}
