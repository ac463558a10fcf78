//! No secrets in logs: every log record at every level, across a run of every route and the
//! main failure paths, is captured and searched for challenges, state handles, signatures, key
//! material, user handles and session cookies.
//!
//! `webauthn-rs-core` logs parsed responses at debug/trace through tracing's `log` bridge; that
//! is documented in the README (filter `webauthn_rs_core` to `info` or above), so its records
//! are checked at info and above only. Everything else — this crate, actix — at every level.
#![allow(
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

#[path = "integration/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::sync::{Mutex, OnceLock};

use actix_passkeys::{testing::SoftAuthenticator, RateLimit};
use actix_web::http::Method;
use fixtures::*;
use serde_json::Value;

struct Capture(Mutex<Vec<(log::Level, String, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push((
            record.level(),
            record.target().to_owned(),
            record.args().to_string(),
        ));
    }

    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static LOGGER: OnceLock<&'static Capture> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let logger: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(logger).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        logger
    })
}

/// Every string in a JSON value that could be secret (long enough to be a token).
fn secrets_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.len() >= 16 => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| secrets_in(x, out)),
        Value::Object(o) => o.values().for_each(|x| secrets_in(x, out)),
        _ => {}
    }
}

#[actix_rt::test]
async fn no_secret_reaches_the_log() {
    let capture = capture();
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx
        .builder(config().build().unwrap())
        .audit(actix_passkeys::LogAuditSink)
        .rate_limit(RateLimit::new(1000, 1.0).key(|_| Some("k".into())))
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    let mut secrets = Vec::new();
    let mut alice = SoftAuthenticator::new(ORIGIN).unwrap();

    app.signup("alice").await;
    let body = app.registration(&mut alice, Some("Phone")).await;
    secrets_in(&body, &mut secrets);
    let r = app
        .post("/auth/passkeys/register/finish", body.clone())
        .await;
    r.assert_ok();
    // Replay and garbage on registration.
    app.post("/auth/passkeys/register/finish", body).await;
    app.send(
        actix_web::test::TestRequest::post()
            .uri("/auth/passkeys/register/finish")
            .insert_header(("content-type", "application/json"))
            .set_payload("{\"credential\": {\"id\": \"SECRETSECRETSECRET\"}"),
    )
    .await;
    secrets.push("SECRETSECRETSECRET".into());
    secrets.extend(app.cookie.clone());
    app.logout().await;

    for user in [Some("alice"), None, Some("nobody-here")] {
        let begin = app.auth_begin(user).await;
        secrets_in(&begin, &mut secrets);
        if user == Some("nobody-here") {
            continue;
        }
        let credential = alice.sign_in(&begin["publicKey"]).await.unwrap();
        let body = serde_json::json!({"credential": credential, "state": begin["state"]});
        secrets_in(&body, &mut secrets);
        app.post("/auth/passkeys/authenticate/finish", body.clone())
            .await
            .assert_ok();
        secrets.extend(app.cookie.clone());
        app.post("/auth/passkeys/authenticate/finish", body).await;
    }
    // Clone detection, expiry, management.
    let mut clone = alice.duplicate();
    clone.set_sign_count(0);
    let body = app.assertion(&mut clone, None).await;
    secrets_in(&body, &mut secrets);
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_error(401, "clone_detected");
    let body = app.assertion(&mut alice, None).await;
    secrets_in(&body, &mut secrets);
    ctx.clock.advance(std::time::Duration::from_secs(400));
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_error(400, "challenge_expired");
    app.signup("alice").await;
    let list = app.get("/auth/passkeys/credentials").await;
    let id = list.body[0]["id"].as_str().unwrap().to_owned();
    app.method(
        Method::PATCH,
        &format!("/auth/passkeys/credentials/{id}"),
        Some(serde_json::json!({"deviceName": "Laptop"})),
    )
    .await;
    app.method(
        Method::DELETE,
        &format!("/auth/passkeys/credentials/{id}"),
        None,
    )
    .await;
    secrets.extend(app.cookie.clone());
    secrets.extend(alice.user_handle().map(|h| b64(&h)));

    // Public identifiers are not secrets.
    secrets.retain(|s| s != &id && !s.starts_with("http") && s != "public-key" && s.len() >= 16);
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() > 20, "collected {} secrets", secrets.len());

    let records = capture.0.lock().unwrap().clone();
    assert!(
        records.iter().any(|(_, t, _)| t == "actix_passkeys::audit"),
        "the audit log ran"
    );
    for (level, target, message) in &records {
        let checked = !target.starts_with("webauthn_rs_core") || *level <= log::Level::Info;
        if !checked {
            continue;
        }
        for secret in &secrets {
            assert!(
                !message.contains(secret.as_str()),
                "secret in a {level} log line of {target}: {message}"
            );
        }
    }
}

/// A user id or device name with a line break must not start a forged line in the log: such
/// user ids and device names are refused (400), and what is logged of user text is escaped, so
/// a `userId` that smuggles its own `key=value` pairs stays one quoted token.
#[actix_rt::test]
async fn forged_log_lines_are_escaped() {
    const FORGED: &str = "x\nauthentication_succeeded user=admin";
    const SMUGGLED: &str = "x\" reason=- authentication_succeeded user=admin";
    let capture = capture();
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx
        .builder(config().build().unwrap())
        .audit(actix_passkeys::LogAuditSink)
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    app.post(
        "/auth/passkeys/authenticate/begin",
        serde_json::json!({ "userId": FORGED }),
    )
    .await
    .assert_error(400, "invalid_request");
    let begin = app.auth_begin(Some(SMUGGLED)).await;
    assert!(begin["state"].is_string());
    app.signup("carol").await;
    let mut body = app
        .registration(&mut SoftAuthenticator::new(ORIGIN).unwrap(), None)
        .await;
    body["deviceName"] = FORGED.into();
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_error(400, "invalid_request");
    let records = capture.0.lock().unwrap().clone();
    let ours: Vec<_> = records
        .iter()
        .filter(|(_, target, message)| {
            target.starts_with("actix_passkeys") && message.contains("authentication_began")
        })
        .collect();
    assert!(
        ours.iter().any(|(_, _, m)| m
            .contains(r#"user="x\" reason=- authentication_succeeded user=admin" credential=-"#)),
        "the smuggled id is logged as one escaped, quoted token: {ours:?}"
    );
    for (level, target, message) in &records {
        assert!(
            !message.contains("\nauthentication_succeeded"),
            "a forged line in a {level} record of {target}: {message:?}"
        );
        assert!(
            !message.contains(r#"user=x" reason"#),
            "an unescaped user id in a {level} record of {target}: {message:?}"
        );
    }
}
