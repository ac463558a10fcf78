//! Issue 13, item 7: the sign-in origin matrix, in a real ceremony.
//!
//! Alice registers through the real routes with the software authenticator at
//! `https://example.com` (rp id `example.com`). Then every row signs in through
//! `authenticate/begin` + `authenticate/finish`, usernameless and username-first, with an
//! assertion whose `clientDataJSON.origin` is the row's origin. Everything else in it is right:
//! the challenge of that begin, the rp id hash of `example.com`, a counter one above the stored
//! one, the owner's user handle, and a signature by alice's key over exactly those bytes
//! (`SoftAuthenticator::forge_assertion`). So the origin is the only thing a refused row gets
//! wrong, and the accepted rows prove the rest of the assertion is good. A browser would not
//! report most refused origins; a native client, a tampered client or a hand-made request can.
//!
//! Refused rows: 401 `assertion_verification_failed`, one `authentication_failed` audit event
//! with that reason, the stored credential unchanged (counter, flags, `last_used_at`; the
//! clock moves before every row, so a stray write would show), no session. Accepted rows: 200
//! `{"status":"ok","userId":"alice"}`, the counter and `last_used_at` written, a session.
//!
//! Two layers refuse origins: `origin::accepted` (serialized-origin string equality, the
//! subdomain rule) and then webauthn-rs's own URL comparison. Rows marked `ours` pass the
//! engine's comparison (it compares parsed URLs: it accepts a path, `:443`, upper case,
//! userinfo, an empty label) and are refused by `origin::accepted` alone. The other refused rows
//! are refused by both layers, so breaking one layer leaves them refused here; the unit table in
//! `origin::tests` pins our layer on its own. Cross-origin iframes (`crossOrigin` /
//! `topOrigin`) are in `webauthn_checks.rs`.

use std::time::Duration;

use actix_passkeys::{
    hooks::AuditEventKind,
    store::Credential,
    store::CredentialStore as _,
    testing::{AssertionSpec, SoftAuthenticator},
    PasskeyConfig,
};
use serde_json::json;

use crate::fixtures::*;

const FINISH: &str = "/auth/passkeys/authenticate/finish";
const RP_ID: &str = "example.com";
const WEB: &str = "https://example.com";
const APK: &str = "android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";

/// One row: a name for failure messages, `clientDataJSON.origin`, and whether it signs in.
struct Row {
    name: &'static str,
    origin: &'static str,
    signs_in: bool,
}

const fn ok(name: &'static str, origin: &'static str) -> Row {
    Row {
        name,
        origin,
        signs_in: true,
    }
}

const fn refused(name: &'static str, origin: &'static str) -> Row {
    Row {
        name,
        origin,
        signs_in: false,
    }
}

/// `Err(message())` unless `ok`.
fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(message())
    }
}

/// Registers alice, then signs in once per row and sign-in kind (see the module docs), and
/// fails naming every row that was answered wrongly.
async fn sign_in_matrix<B: Backend>(config: PasskeyConfig, rows: &[Row]) {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
    let mut auth = SoftAuthenticator::new(WEB).unwrap();
    app.signup("alice").await;
    let id = app.register(&mut auth, None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.logout().await;
    let id = unb64(&id);
    let handle = auth.user_handle().unwrap();
    let load = async || -> Credential { ctx.creds.get(&id).await.unwrap().unwrap() };
    let mut wrong = Vec::new();
    for row in rows {
        for user in [None, Some("alice")] {
            ctx.clock.advance(Duration::from_secs(60));
            let before = load().await;
            let failed = ctx.audit.count(AuditEventKind::AuthenticationFailed);
            let begin = app.auth_begin(user).await;
            let mut spec = AssertionSpec::new(
                RP_ID,
                row.origin,
                begin["publicKey"]["challenge"].as_str().unwrap(),
            );
            spec.user_handle = Some(handle.clone());
            spec.counter = before.sign_count + 1;
            let credential = auth.forge_assertion(&spec).unwrap();
            let r = app
                .post(
                    FINISH,
                    json!({ "credential": credential, "state": begin["state"] }),
                )
                .await;
            let answer = || format!("{} {}", r.status, String::from_utf8_lossy(&r.raw));
            let outcome: Result<(), String> = async {
                if row.signs_in {
                    ensure(r.status.as_u16() == 200, || {
                        format!("refused: {}", answer())
                    })?;
                    ensure(r.body == json!({"status": "ok", "userId": "alice"}), answer)?;
                    let after = load().await;
                    ensure(after.sign_count == spec.counter, || {
                        "counter not written".into()
                    })?;
                    ensure(after.last_used_at == Some(ctx.clock_now()), || {
                        "last use not written".into()
                    })?;
                    let me = app.get("/me").await;
                    ensure(me.status.as_u16() == 200, || "no session".into())
                } else {
                    let code = r.body["error"]["code"].as_str();
                    ensure(
                        (r.status.as_u16(), code) == (401, Some("assertion_verification_failed"))
                            && r.body["error"].as_object().map(|o| o.len()) == Some(2),
                        || {
                            format!(
                                "expected 401 assertion_verification_failed, got {}",
                                answer()
                            )
                        },
                    )?;
                    ensure(load().await == before, || "the store changed".into())?;
                    let last = ctx.audit.0.lock().unwrap().last().cloned().unwrap();
                    ensure(
                        ctx.audit.count(AuditEventKind::AuthenticationFailed) == failed + 1
                            && last.kind == AuditEventKind::AuthenticationFailed
                            && last.reason == Some("assertion_verification_failed"),
                        || format!("not audited as one refusal: {last:?}"),
                    )?;
                    let me = app.get("/me").await;
                    ensure(
                        (me.status.as_u16(), me.body["error"]["code"].as_str())
                            == (401, Some("not_authenticated")),
                        || "signed in".into(),
                    )
                }
            }
            .await;
            if let Err(why) = outcome {
                let kind = if user.is_some() {
                    "username-first"
                } else {
                    "usernameless"
                };
                wrong.push(format!(
                    "row `{}` (origin {:?}, {kind}): {why}",
                    row.name, row.origin
                ));
            }
            app.logout().await;
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} sign-ins answered wrongly:\n{}",
        wrong.len(),
        2 * rows.len(),
        wrong.join("\n")
    );
    assert_eq!(ctx.audit.count(AuditEventKind::CloneSuspected), 0);
}

/// Exact origins: two web origins of the rp id (the default port and 8443), a related origin on
/// another site, and one Android app. Subdomains are off.
pub async fn sign_in_origin_must_be_a_configured_origin_exactly<B: Backend>() {
    let config = PasskeyConfig::builder(RP_ID, "Example")
        .origin(WEB)
        .origin("https://example.com:8443")
        .origin(APK)
        .related_origin("https://example.co.uk")
        .build()
        .unwrap();
    sign_in_matrix::<B>(
        config,
        &[
            ok("the configured origin", WEB),
            ok("a second configured port", "https://example.com:8443"),
            ok("a related origin", "https://example.co.uk"),
            ok("the configured Android app", APK),
            refused("wrong scheme", "http://example.com"),
            refused("wrong scheme on the second port", "http://example.com:8443"),
            refused("wrong host", "https://example.org"),
            refused("wrong port", "https://example.com:444"),
            refused("ours: explicit default port", "https://example.com:443"),
            refused("trailing dot", "https://example.com."),
            refused("trailing dot before a port", "https://example.com.:8443"),
            refused("ours: trailing slash", "https://example.com/"),
            refused("ours: path", "https://example.com/login"),
            refused("ours: query", "https://example.com?next=/"),
            refused("ours: upper case host", "https://EXAMPLE.com"),
            refused("ours: userinfo", "https://alice@example.com"),
            refused("subdomain, subdomains off", "https://login.example.com"),
            refused(
                "subdomain of the related origin",
                "https://www.example.co.uk",
            ),
            refused("host that ends in the rp id", "https://evilexample.com"),
            refused("rp id as a subdomain", "https://example.com.evil.net"),
            refused(
                "foreign Android app",
                "android:apk-key-hash:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ),
            refused(
                "Android app hash in another case",
                "android:apk-key-hash:47deqpj8hbsa-_timw-5jceuqerkm5nmpjwzg3hsufu",
            ),
            refused(
                "Android app hash, truncated",
                "android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuF",
            ),
        ],
    )
    .await;
}

/// `allow_subdomains(true)`: dot-bounded subdomains of the web origin, same scheme and port.
pub async fn sign_in_from_a_subdomain_needs_allow_subdomains<B: Backend>() {
    let config = PasskeyConfig::builder(RP_ID, "Example")
        .origin(WEB)
        .allow_subdomains(true)
        .build()
        .unwrap();
    sign_in_matrix::<B>(
        config,
        &[
            ok("the configured origin", WEB),
            ok("a subdomain", "https://login.example.com"),
            ok("a deeper subdomain", "https://a.b.example.com"),
            refused("subdomain, wrong port", "https://login.example.com:8443"),
            refused(
                "subdomain, explicit port 444",
                "https://login.example.com:444",
            ),
            refused(
                "ours: subdomain, explicit default port",
                "https://login.example.com:443",
            ),
            refused("subdomain, wrong scheme", "http://login.example.com"),
            refused("subdomain, trailing dot", "https://login.example.com."),
            refused("trailing dot", "https://example.com."),
            refused(
                "ours: subdomain, trailing slash",
                "https://login.example.com/",
            ),
            refused("ours: subdomain, path", "https://login.example.com/x"),
            refused("ours: subdomain, upper case", "https://LOGIN.example.com"),
            refused("ours: subdomain, userinfo", "https://u@login.example.com"),
            refused("ours: empty label", "https://.example.com"),
            refused("host that ends in the rp id", "https://evilexample.com"),
            refused("rp id as a subdomain", "https://example.com.evil.net"),
            refused(
                "subdomain as a subdomain elsewhere",
                "https://login.example.com.evil.net",
            ),
            refused("another site", "https://example.org"),
            refused("an Android app that is not configured", APK),
        ],
    )
    .await;
}

/// Instantiates the cases of this module for one backend.
macro_rules! origin_suite {
    ($backend:ty) => {
        #[actix_rt::test]
        async fn sign_in_origin_must_be_a_configured_origin_exactly() {
            super::super::sign_in_origin_must_be_a_configured_origin_exactly::<$backend>().await
        }
        #[actix_rt::test]
        async fn sign_in_from_a_subdomain_needs_allow_subdomains() {
            super::super::sign_in_from_a_subdomain_needs_allow_subdomains::<$backend>().await
        }
    };
}

mod backends {
    mod memory {
        origin_suite!(crate::fixtures::Memory);
    }
    #[cfg(feature = "sqlite")]
    mod sqlite {
        origin_suite!(crate::fixtures::Sqlite);
    }
    #[cfg(feature = "postgres")]
    mod postgres {
        origin_suite!(crate::fixtures::Postgres);
    }
    #[cfg(feature = "redis")]
    mod redis {
        origin_suite!(crate::fixtures::Redis);
    }
}
