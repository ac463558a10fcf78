//! Attacks found by the hostile review of the bindings change (issue 12): account takeover
//! through the identify grant, tenant crossing, revocation bypass, shapes that tell unknown users
//! apart, and control characters in user ids. Each failed on the code before its fix.

use actix_passkeys::{
    store::{
        memory::{MemoryChallengeStore, MemoryCredentialStore},
        CredentialStore as _,
    },
    testing::SoftAuthenticator,
    PasskeyConfig, Passkeys,
};
use actix_web::{guard, http::Method, test as atest, web};
use serde_json::{json, Value};

use crate::fixtures::*;

fn authenticator() -> SoftAuthenticator {
    SoftAuthenticator::new(ORIGIN).unwrap()
}

/// Item 4, quickstart: once bob has a passkey, an attacker's session identified as "bob" (it
/// signed up first) counts for nothing: no registration, and no listing, renaming or deleting
/// of bob's passkeys (deleting them would have reopened registration to the attacker).
#[actix_rt::test]
async fn identified_session_cannot_manage_or_replace_bobs_passkeys() {
    let ctx = Ctx::<Memory>::new().await;
    let routes = |ctx: &Ctx<Memory>| {
        crate::quickstart_app::routes(ctx.builder(config().build().unwrap()).build().unwrap())
    };
    let mut attacker = ctx.app_configured(routes(&ctx)).await;
    attacker.signup("bob").await;
    let mut bob = ctx.app_configured(routes(&ctx)).await;
    let mut bob_key = authenticator();
    bob.signup("bob").await;
    let id = bob.register(&mut bob_key, None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    attacker
        .post_empty("/auth/passkeys/register/begin")
        .await
        .assert_error(401, "not_authenticated");
    attacker
        .get("/auth/passkeys/credentials")
        .await
        .assert_error(401, "not_authenticated");
    let path = format!("/auth/passkeys/credentials/{id}");
    attacker
        .method(Method::PATCH, &path, Some(json!({"deviceName": "mine"})))
        .await
        .assert_error(401, "not_authenticated");
    attacker
        .method(Method::DELETE, &path, None)
        .await
        .assert_error(401, "not_authenticated");
    let creds = ctx.creds.list_for_user("bob").await.unwrap();
    assert_eq!(creds.len(), 1);
    assert_ne!(creds[0].device_name, "mine");
    // Bob's own browser is signed in by its registration and manages its passkeys.
    bob.get("/auth/passkeys/credentials").await.assert_ok();
    assert_eq!(bob.get("/me").await.assert_ok()["userId"], "bob");
}

/// Item 4: a registration begun while bob had no passkey (the attacker identified as "bob"
/// first) cannot be finished once bob registered his own: finish re-resolves the user with the
/// registration rules.
#[actix_rt::test]
async fn registration_begun_before_bob_registered_cannot_finish_after() {
    let ctx = Ctx::<Memory>::new().await;
    let routes = |ctx: &Ctx<Memory>| {
        crate::quickstart_app::routes(ctx.builder(config().build().unwrap()).build().unwrap())
    };
    let mut attacker = ctx.app_configured(routes(&ctx)).await;
    attacker.signup("bob").await;
    let mut evil = authenticator();
    let pending = attacker.registration(&mut evil, None).await;
    let mut bob = ctx.app_configured(routes(&ctx)).await;
    let mut bob_key = authenticator();
    bob.signup("bob").await;
    bob.register(&mut bob_key, None).await.assert_ok();
    attacker
        .post("/auth/passkeys/register/finish", pending)
        .await
        .assert_error(401, "not_authenticated");
    assert_eq!(ctx.creds.list_for_user("bob").await.unwrap().len(), 1);
}

fn tenant(rp_id: &str, creds: MemoryCredentialStore) -> Passkeys {
    let config = PasskeyConfig::builder(rp_id, rp_id)
        .origin(format!("https://{rp_id}"))
        .build()
        .unwrap();
    Passkeys::new(config, creds, MemoryChallengeStore::new())
}

fn on(host: &str, method: Method, path: &str, body: Option<Value>) -> atest::TestRequest {
    let req = atest::TestRequest::default()
        .method(method)
        .uri(path)
        .insert_header(("host", host.to_owned()));
    match body {
        Some(b) => req.set_json(b),
        None => req,
    }
}

/// Item 3: an identified user belongs to the tenant that identified it. With one cookie for both
/// hosts, a sign-up ("identify") as "bob" on A (free there) must not manage B's bob.
#[actix_rt::test]
async fn identify_on_one_tenant_is_not_identified_on_another() {
    let ctx = Ctx::<Memory>::new().await;
    let (a, b) = ("a.example.com", "b.example.org");
    let list = vec![
        (a, tenant(a, MemoryCredentialStore::new())),
        (b, tenant(b, MemoryCredentialStore::new())),
    ];
    let mk = move |cfg: &mut web::ServiceConfig| {
        for (host, passkeys) in list {
            cfg.service(
                web::scope("")
                    .guard(guard::Host(host))
                    .configure(passkeys.configure())
                    .route("/signup", web::post().to(signup))
                    .route("/me", web::get().to(me)),
            );
        }
    };
    let mut app = ctx.app_configured(mk).await;
    // Victim "bob" on B, enrolled from another browser (same app instance, own jar).
    let bob_cookie = {
        app.send(on(
            b,
            Method::POST,
            "/signup",
            Some(json!({"username": "bob"})),
        ))
        .await
        .assert_ok();
        let begin = app
            .send(on(b, Method::POST, "/auth/passkeys/register/begin", None))
            .await;
        let mut key = SoftAuthenticator::new("https://b.example.org").unwrap();
        let cred = key.register(&begin.assert_ok()["publicKey"]).await.unwrap();
        app.send(on(
            b,
            Method::POST,
            "/auth/passkeys/register/finish",
            Some(json!({"credential": cred, "state": begin.body["state"]})),
        ))
        .await
        .assert_ok();
        app.cookie.take()
    };
    drop(bob_cookie);
    // Attacker: a fresh jar, signs up as "bob" on A (free there).
    app.send(on(
        a,
        Method::POST,
        "/signup",
        Some(json!({"username": "bob"})),
    ))
    .await
    .assert_ok();
    // On B with the same cookie.
    let r = app
        .send(on(b, Method::GET, "/auth/passkeys/credentials", None))
        .await;
    r.assert_error(401, "not_authenticated");
}

/// Item 11: a known user whose passkey stored no transports (clients without
/// `getTransports()`) answers an entry without `transports`; unknown users' fake entries take
/// that shape too, as often as such clients are met, so the shape tells nothing.
#[actix_rt::test]
async fn fake_entries_take_every_shape_real_entries_have() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    let mut key = authenticator();
    app.signup("carol").await;
    let mut body = app.registration(&mut key, None).await;
    body["credential"]["response"]
        .as_object_mut()
        .unwrap()
        .remove("transports");
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_ok();
    app.logout().await;
    let has_transports = |v: &Value| v.as_object().unwrap().contains_key("transports");
    let known = app.auth_begin(Some("carol")).await;
    assert!(!has_transports(&known["publicKey"]["allowCredentials"][0]));
    let (mut with, mut without) = (0, 0);
    for i in 0..200 {
        let unknown = app.auth_begin(Some(&format!("nobody-{i}"))).await;
        for entry in unknown["publicKey"]["allowCredentials"].as_array().unwrap() {
            if has_transports(entry) {
                with += 1;
            } else {
                without += 1;
            }
        }
    }
    assert!(with > 0 && without > 0, "with {with}, without {without}");
}

/// Item 2, quickstart: bob revokes the passkey a thief signed in with. The thief's cookie still
/// holds that PasskeySession; the quickstart's /signup must check it (`Option<Authenticated>`)
/// rather than trust it, or it identifies the thief as bob again.
#[actix_rt::test]
async fn revoked_sign_in_cannot_reidentify_through_quickstart_signup() {
    let ctx = Ctx::<Memory>::new().await;
    let routes = |ctx: &Ctx<Memory>| {
        crate::quickstart_app::routes(ctx.builder(config().build().unwrap()).build().unwrap())
    };
    let mut bob = ctx.app_configured(routes(&ctx)).await;
    let mut bob_key = authenticator();
    bob.signup("bob").await;
    bob.register(&mut bob_key, None).await.assert_ok();
    bob.sign_in(&mut bob_key, None).await.assert_ok();
    // A second passkey that later falls into the thief's hands.
    let mut stolen = authenticator();
    let stolen_id = bob.register(&mut stolen, None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut thief = ctx.app_configured(routes(&ctx)).await;
    thief.sign_in(&mut stolen, None).await.assert_ok();
    // Bob revokes it.
    let r = bob
        .method(
            Method::DELETE,
            &format!("/auth/passkeys/credentials/{stolen_id}"),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    // The thief does not touch /me; it re-"signs up" as bob: the revoked sign-in is not bob's.
    let r = thief.post("/signup", json!({"username": "bob"})).await;
    assert_eq!(
        r.status.as_u16(),
        409,
        "{}",
        String::from_utf8_lossy(&r.raw)
    );
    thief
        .get("/auth/passkeys/credentials")
        .await
        .assert_error(401, "not_authenticated");
    assert_eq!(ctx.creds.list_for_user("bob").await.unwrap().len(), 1);
}

/// Item 7 / "no 5xx": a NUL in `userId` must not reach PostgreSQL TEXT columns (it was 503).
#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn control_characters_in_user_id_are_invalid_request_on_postgres() {
    let ctx = Ctx::<Postgres>::new().await;
    let mut app = ctx.app().await;
    let r = app
        .post(
            "/auth/passkeys/authenticate/begin",
            json!({"userId": "a\u{0}b"}),
        )
        .await;
    r.assert_error(400, "invalid_request");
}

/// Same with memory credentials and the PostgreSQL challenge store (new user_id column).
#[cfg(feature = "postgres")]
#[actix_rt::test]
async fn control_characters_in_user_id_are_invalid_request_on_pg_challenges() {
    let ctx = Ctx::<Postgres>::new().await;
    let passkeys = Passkeys::new(
        config().build().unwrap(),
        MemoryCredentialStore::new(),
        ctx.challenges.clone(),
    );
    let mut app = ctx
        .app_configured(move |cfg| {
            cfg.service(passkeys);
        })
        .await;
    let r = app
        .post(
            "/auth/passkeys/authenticate/begin",
            json!({"userId": "a\u{0}b"}),
        )
        .await;
    r.assert_error(400, "invalid_request");
}
