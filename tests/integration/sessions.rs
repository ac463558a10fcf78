//! Session lifecycle (issue 12, items 1-4): a refused sign-in leaves no session, a session ends
//! with its credential, a session belongs to one tenant, and "identified" is bounded.
//! The generic cases run on every backend through `route_suite!` (re-exported by `routes`).

use std::time::Duration;

use actix_passkeys::{
    hooks::AuthenticationResult, policy::SignCountPolicy, store::CredentialStore as _,
    testing::SoftAuthenticator, PasskeyError, PasskeyUser,
};
use actix_web::{
    http::{Method, StatusCode},
    test as atest, HttpRequest, HttpResponse,
};
use serde_json::json;

use crate::fixtures::*;

fn authenticator() -> SoftAuthenticator {
    SoftAuthenticator::new(ORIGIN).unwrap()
}

/// Signs `user` up and registers one passkey; the session stays identified (not signed in).
async fn signed_up<T, Bd>(app: &mut TestApp<T>, user: &str) -> (SoftAuthenticator, String)
where
    T: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<Bd>,
        Error = actix_web::Error,
    >,
    Bd: actix_web::body::MessageBody,
{
    let mut auth = authenticator();
    app.signup(user).await;
    let r = app.register(&mut auth, Some("My key")).await;
    let id = r.assert_ok()["credentialId"].as_str().unwrap().to_owned();
    (auth, id)
}

/// Item 1: a hook that refuses the sign-in (403 for a locked account) leaves no signed-in
/// session behind, and the counter stays burnt.
pub async fn refusing_hook_leaves_no_session<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let resolver = |req: HttpRequest| async move {
        let id = req
            .headers()
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .ok_or(PasskeyError::NotAuthenticated)?
            .to_owned();
        Ok(PasskeyUser::new(id.clone(), id.clone(), id))
    };
    let hook = |_req: HttpRequest, result: AuthenticationResult| async move {
        if result.user_id == "blocked" {
            return Err(actix_web::error::ErrorForbidden("account locked"));
        }
        // An `Ok` answer with a refusing status is a refusal too.
        if result.user_id == "suspended" {
            return Ok(HttpResponse::Forbidden().finish());
        }
        Ok(HttpResponse::Ok().json(json!({"userId": result.user_id})))
    };
    let passkeys = ctx
        .builder(config().build().unwrap())
        .user_resolver(resolver)
        .on_authenticated(hook)
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    for user in ["blocked", "suspended"] {
        let mut key = authenticator();
        let begin = app
            .send(
                atest::TestRequest::post()
                    .uri("/auth/passkeys/register/begin")
                    .insert_header(("x-user", user)),
            )
            .await;
        let credential = key.register(&begin.assert_ok()["publicKey"]).await.unwrap();
        // The resolver runs again at finish (the begin's user must still be the caller).
        app.send(
            atest::TestRequest::post()
                .uri("/auth/passkeys/register/finish")
                .insert_header(("x-user", user))
                .set_json(json!({"credential": credential, "state": begin.body["state"]})),
        )
        .await
        .assert_ok();
        app.cookie = None;
        let r = app.sign_in(&mut key, None).await;
        // The hook's own answer, as the app wrote it (not our envelope).
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let own = if user == "blocked" {
            "account locked"
        } else {
            ""
        };
        assert_eq!(String::from_utf8_lossy(&r.raw), own, "{user}");
        app.get("/me").await.assert_error(401, "not_authenticated");
        assert!(app.cookie.is_none(), "no session cookie was set");
    }
}

/// Item 2: deleting a passkey ends every session signed in with it (on this and other browsers).
pub async fn revoked_passkey_ends_its_sessions<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, id) = signed_up(&mut app, "alice").await;
    app.sign_in(&mut auth, None).await.assert_ok();
    let mut other = ctx.app().await;
    other.sign_in(&mut auth, None).await.assert_ok();
    assert_eq!(other.get("/me").await.assert_ok()["userId"], "alice");
    let r = app
        .method(
            Method::DELETE,
            &format!("/auth/passkeys/credentials/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for jar in [&mut app, &mut other] {
        jar.get("/me").await.assert_error(401, "not_authenticated");
        // Purged: the cookie is gone, and the scope does not accept the session either.
        assert!(jar.cookie.is_none(), "session purged");
    }
    other
        .post_empty("/auth/passkeys/register/begin")
        .await
        .assert_error(401, "not_authenticated");
}

/// Item 2: a passkey disabled by clone detection ends the sessions made with it.
pub async fn disabled_passkey_ends_its_sessions<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let config = config()
        .sign_count_policy(SignCountPolicy::Disable)
        .build()
        .unwrap();
    let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
    let (mut original, _) = signed_up(&mut app, "alice").await;
    let mut clone = original.duplicate();
    app.sign_in(&mut original, None).await.assert_ok();
    assert_eq!(app.get("/me").await.assert_ok()["userId"], "alice");
    let config = crate::fixtures::config()
        .sign_count_policy(SignCountPolicy::Disable)
        .build()
        .unwrap();
    let mut thief = ctx.app_with(ctx.builder(config).build().unwrap()).await;
    thief
        .sign_in(&mut clone, None)
        .await
        .assert_error(401, "clone_detected");
    app.get("/me").await.assert_error(401, "not_authenticated");
    assert!(app.cookie.is_none(), "session purged");
}

/// Item 2: a session whose credential now belongs to another user is not that user's session.
pub async fn session_of_a_reassigned_credential_is_refused<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, id) = signed_up(&mut app, "alice").await;
    app.sign_in(&mut auth, None).await.assert_ok();
    let mut cred = ctx.creds.get(&unb64(&id)).await.unwrap().unwrap();
    assert!(ctx
        .creds
        .delete("alice", &cred.credential_id)
        .await
        .unwrap());
    cred.user_id = "mallory".to_owned();
    assert!(ctx.creds.insert(&cred).await.unwrap());
    app.get("/me").await.assert_error(401, "not_authenticated");
}

/// Item 4, the attack: an attacker signs up as "bob" before bob does; bob signs up and
/// registers; the attacker's old, identified-only session must not add a passkey to bob.
pub async fn stale_identified_session_cannot_add_a_passkey<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut attacker = ctx.app().await;
    attacker.signup("bob").await;
    let mut bob = ctx.app().await;
    signed_up(&mut bob, "bob").await;
    attacker
        .post_empty("/auth/passkeys/register/begin")
        .await
        .assert_error(401, "not_authenticated");
    // So is bob's own identified-only session in another browser: adding a passkey to an
    // account that has one needs a passkey sign-in. The browser that registered is signed in
    // with the new passkey and may add another.
    let mut bob_elsewhere = ctx.app().await;
    bob_elsewhere.signup("bob").await;
    bob_elsewhere
        .post_empty("/auth/passkeys/register/begin")
        .await
        .assert_error(401, "not_authenticated");
    bob.post_empty("/auth/passkeys/register/begin")
        .await
        .assert_ok();
}

/// Item 4 through the quickstart's own routes (`examples/common`): its `/signup` checks that
/// the username is free, which does not help once the attacker claimed it first.
pub async fn quickstart_signup_race_cannot_add_a_passkey_to_bob<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let routes = |ctx: &Ctx<B>| {
        crate::quickstart_app::routes(ctx.builder(config().build().unwrap()).build().unwrap())
    };
    let mut attacker = ctx.app_configured(routes(&ctx)).await;
    attacker.signup("bob").await;
    let mut bob = ctx.app_configured(routes(&ctx)).await;
    let mut key = authenticator();
    bob.signup("bob").await;
    bob.register(&mut key, None).await.assert_ok();
    attacker
        .post_empty("/auth/passkeys/register/begin")
        .await
        .assert_error(401, "not_authenticated");
    // Bob, signed in with his passkey, adds a second one.
    bob.sign_in(&mut key, None).await.assert_ok();
    let mut second = authenticator();
    bob.register(&mut second, None).await.assert_ok();
    assert_eq!(bob.get("/me").await.assert_ok()["userId"], "bob");
}

/// Item 4: the identify window, on the service clock: accepted up to the window, refused
/// after (registration and management), and a new `identify` starts a new window.
pub async fn identified_user_may_register_only_within_the_window<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let config = config()
        .identify_window(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
    app.signup("alice").await;
    ctx.clock.advance(Duration::from_secs(60));
    app.post_empty("/auth/passkeys/register/begin")
        .await
        .assert_ok();
    ctx.clock.advance(Duration::from_secs(1));
    app.post_empty("/auth/passkeys/register/begin")
        .await
        .assert_error(401, "not_authenticated");
    app.get("/auth/passkeys/credentials")
        .await
        .assert_error(401, "not_authenticated");
    app.signup("alice").await;
    app.register(&mut authenticator(), None).await.assert_ok();
}

/// Item 2: `Authenticated` without the service in app data is a setup error, not a skipped
/// check.
pub async fn authenticated_without_passkeys_data_is_a_configuration_error<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let passkeys = ctx.builder(config().build().unwrap()).build().unwrap();
    let mut app = ctx
        .app_configured(move |cfg| {
            cfg.service(signup_with(&passkeys))
                .service(passkeys)
                .route("/me", actix_web::web::get().to(me));
        })
        .await;
    app.signup("alice").await;
    let mut key = authenticator();
    app.register(&mut key, None).await.assert_ok();
    app.sign_in(&mut key, None).await.assert_ok();
    app.get("/me")
        .await
        .assert_error(500, "configuration_error");
}

/// A credential store that can be switched off (an outage), around the memory store.
#[derive(Clone, Default)]
struct Switchable {
    inner: actix_passkeys::store::memory::MemoryCredentialStore,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Switchable {
    fn check(&self) -> Result<(), std::io::Error> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            Err(std::io::Error::other("credential store down"))
        } else {
            Ok(())
        }
    }
}

fn io(e: impl std::error::Error + Send + Sync + 'static) -> std::io::Error {
    std::io::Error::other(e)
}

impl actix_passkeys::store::CredentialStore for Switchable {
    type Error = std::io::Error;
    async fn insert(&self, c: &actix_passkeys::store::Credential) -> Result<bool, Self::Error> {
        self.check()?;
        self.inner.insert(c).await.map_err(io)
    }
    async fn get(
        &self,
        id: &[u8],
    ) -> Result<Option<actix_passkeys::store::Credential>, Self::Error> {
        self.check()?;
        self.inner.get(id).await.map_err(io)
    }
    async fn list_for_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<actix_passkeys::store::Credential>, Self::Error> {
        self.check()?;
        self.inner.list_for_user(user_id).await.map_err(io)
    }
    async fn update_usage(
        &self,
        u: &actix_passkeys::store::UsageUpdate,
    ) -> Result<bool, Self::Error> {
        self.check()?;
        self.inner.update_usage(u).await.map_err(io)
    }
    async fn disable(
        &self,
        id: &[u8],
        at: chrono::DateTime<chrono::Utc>,
        reason: &str,
    ) -> Result<bool, Self::Error> {
        self.check()?;
        self.inner.disable(id, at, reason).await.map_err(io)
    }
    async fn rename(&self, user_id: &str, id: &[u8], name: &str) -> Result<bool, Self::Error> {
        self.check()?;
        self.inner.rename(user_id, id, name).await.map_err(io)
    }
    async fn set_prf_salt(
        &self,
        user_id: &str,
        id: &[u8],
        salt: &actix_passkeys::store::PrfSalt,
    ) -> Result<bool, Self::Error> {
        self.check()?;
        self.inner.set_prf_salt(user_id, id, salt).await.map_err(io)
    }
    async fn delete(&self, user_id: &str, id: &[u8]) -> Result<bool, Self::Error> {
        self.check()?;
        self.inner.delete(user_id, id).await.map_err(io)
    }
}

/// Item 2: when the credential store is down, `Authenticated` answers 503 (it cannot tell a
/// live session from a revoked one) and keeps the session for when it is back.
#[actix_rt::test]
async fn credential_store_outage_on_authenticated_is_503() {
    let ctx = Ctx::<Memory>::new().await;
    let store = Switchable::default();
    let passkeys = actix_passkeys::Passkeys::builder(
        config().build().unwrap(),
        store.clone(),
        ctx.challenges.clone(),
    )
    .clock(ctx.clock.clone())
    .build()
    .unwrap();
    let mut app = ctx
        .app_configured(move |cfg| {
            cfg.app_data(passkeys.clone())
                .service(passkeys)
                .route("/signup", actix_web::web::post().to(signup))
                .route("/me", actix_web::web::get().to(me));
        })
        .await;
    app.signup("alice").await;
    let mut key = authenticator();
    app.register(&mut key, None).await.assert_ok();
    app.sign_in(&mut key, None).await.assert_ok();
    store.down.store(true, std::sync::atomic::Ordering::SeqCst);
    app.get("/me").await.assert_error(503, "store_unavailable");
    store.down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(app.get("/me").await.assert_ok()["userId"], "alice");
}

/// The former free `identify` stored a grant with no tenant, which every tenant sharing the
/// session cookie accepted. Only `Passkeys::identify` (bound to its rp id) is left, and such an
/// untenanted grant counts for no tenant.
#[actix_rt::test]
async fn an_identify_grant_without_a_tenant_counts_for_none() {
    use actix_session::Session;
    use actix_web::web;

    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(config().build().unwrap()).build().unwrap();
    let now = ctx.clock_now();
    let mut app = ctx
        .app_configured(move |cfg| {
            cfg.configure(passkeys.configure()).route(
                "/legacy-identify",
                web::post().to(move |session: Session| async move {
                    // What the free `identify` wrote: no `rp_id`.
                    session
                        .insert(
                            "actix_passkeys.user",
                            json!({"id": "eve", "name": "eve", "display_name": "eve",
                                   "identified_at": now}),
                        )
                        .unwrap();
                    HttpResponse::Ok().finish()
                }),
            );
        })
        .await;
    app.post_empty("/legacy-identify").await.assert_ok();
    app.post_empty("/auth/passkeys/register/begin")
        .await
        .assert_error(401, "not_authenticated");
    app.get("/auth/passkeys/credentials")
        .await
        .assert_error(401, "not_authenticated");
}
