//! Challenge bindings (issue 12, items 5-7): a challenge record belongs to one tenant, one
//! ceremony and one user; handles are secrets at rest; a full memory store evicts the oldest.
//!
//! The generic cases run on every backend through `route_suite!` (re-exported from `routes`).

use actix_passkeys::{
    store::{ChallengeStore, CredentialStore as _},
    testing::SoftAuthenticator,
    PasskeyConfig, Passkeys,
};
use actix_web::{guard, test as atest, web};
use serde_json::{json, Value};

use crate::fixtures::*;

const A: &str = "a.example.com";
const B: &str = "b.example.org";

fn origin(host: &str) -> String {
    format!("https://{host}")
}

/// Two tenants (one `Passkeys` per rp id, each behind a host guard) over ONE challenge store
/// and one credential store: the Redis default prefix, or one database, shared by two apps.
fn shared_tenants<B: Backend>(ctx: &Ctx<B>) -> impl FnOnce(&mut web::ServiceConfig) {
    let tenant = |rp_id: &str| -> Passkeys {
        let config = PasskeyConfig::builder(rp_id, rp_id)
            .origin(origin(rp_id))
            .build()
            .unwrap();
        // The app's own resolver knows the user on both hosts (say, from a parent-domain
        // cookie; an `x-user` header here), so only the challenge record's rp id can refuse a
        // finish on the other one.
        ctx.builder(config)
            .user_resolver(|req: actix_web::HttpRequest| async move {
                let id = req
                    .headers()
                    .get("x-user")
                    .and_then(|v| v.to_str().ok())
                    .ok_or(actix_passkeys::PasskeyError::NotAuthenticated)?;
                Ok(actix_passkeys::PasskeyUser::new(id, id, id))
            })
            .build()
            .unwrap()
    };
    let list = vec![(A, tenant(A)), (B, tenant(B))];
    move |cfg| {
        for (host, passkeys) in list {
            cfg.service(
                web::scope("")
                    .guard(guard::Host(host))
                    .configure(passkeys.configure())
                    .route("/signup", web::post().to(signup)),
            );
        }
    }
}

fn on(host: &str, path: &str, body: Option<Value>) -> atest::TestRequest {
    let req = atest::TestRequest::post()
        .uri(path)
        .insert_header(("host", host.to_owned()))
        .insert_header(("x-user", "alice"));
    match body {
        Some(b) => req.set_json(b),
        None => req,
    }
}

/// Options of one tenant rewritten to name another rp id: what an attacker feeds its own
/// authenticator to get a response that the other tenant's checks accept.
fn for_rp(mut public_key: Value, pointer: &str, rp_id: &str) -> Value {
    *public_key.pointer_mut(pointer).unwrap() = json!(rp_id);
    public_key
}

/// Begin on tenant A, finish on tenant B with a response made for B's rp id and origin
/// (answering A's challenge): B must not accept A's record. Registration and sign-in.
pub async fn challenge_of_another_tenant_is_not_found<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app_configured(shared_tenants(&ctx)).await;

    // Registration: "alice" is the user on both hosts (the resolver above).
    let begin = app.send(on(A, "/auth/passkeys/register/begin", None)).await;
    assert_eq!(begin.assert_ok()["publicKey"]["rp"]["id"], A);
    let mut key = SoftAuthenticator::new(&origin(B)).unwrap();
    let crafted = key
        .register(&for_rp(begin.body["publicKey"].clone(), "/rp/id", B))
        .await
        .unwrap();
    let r = app
        .send(on(
            B,
            "/auth/passkeys/register/finish",
            Some(json!({"credential": crafted, "state": begin.body["state"]})),
        ))
        .await;
    r.assert_error(400, "challenge_not_found");
    assert!(
        ctx.creds.list_for_user("alice").await.unwrap().is_empty(),
        "nothing stored"
    );

    // Sign-in: a passkey registered on B, asserting A's challenge for B's rp id.
    let begin = app.send(on(B, "/auth/passkeys/register/begin", None)).await;
    let credential = key.register(&begin.assert_ok()["publicKey"]).await.unwrap();
    app.send(on(
        B,
        "/auth/passkeys/register/finish",
        Some(json!({"credential": credential, "state": begin.body["state"]})),
    ))
    .await
    .assert_ok();
    let begin = app
        .send(on(A, "/auth/passkeys/authenticate/begin", None))
        .await;
    let crafted = key
        .sign_in(&for_rp(begin.assert_ok()["publicKey"].clone(), "/rpId", B))
        .await
        .unwrap();
    let r = app
        .send(on(
            B,
            "/auth/passkeys/authenticate/finish",
            Some(json!({"credential": crafted, "state": begin.body["state"]})),
        ))
        .await;
    r.assert_error(400, "challenge_not_found");
    let stored = ctx.creds.list_for_user("alice").await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].sign_count, 0,
        "the refused sign-in changed nothing"
    );

    // The same tenant still works end to end with the shared store.
    let begin = app
        .send(on(B, "/auth/passkeys/authenticate/begin", None))
        .await;
    let assertion = key.sign_in(&begin.body["publicKey"]).await.unwrap();
    app.send(on(
        B,
        "/auth/passkeys/authenticate/finish",
        Some(json!({"credential": assertion, "state": begin.body["state"]})),
    ))
    .await
    .assert_ok();
}

/// signup → register/begin → logout → register/finish: refused, nothing stored; and the same
/// state is not accepted for another user who signs in on that browser.
pub async fn logout_cancels_pending_registration<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("alice").await;
    let finish = app.registration(&mut auth, None).await;
    app.logout().await;
    app.post("/auth/passkeys/register/finish", finish.clone())
        .await
        .assert_error(401, "not_authenticated");
    app.signup("mallory").await;
    app.post("/auth/passkeys/register/finish", finish)
        .await
        .assert_error(400, "challenge_not_found");
    for user in ["alice", "mallory"] {
        assert!(
            ctx.creds.list_for_user(user).await.unwrap().is_empty(),
            "nothing stored for {user}"
        );
    }
    // Registration for the user of the begin still works.
    app.logout().await;
    app.signup("alice").await;
    app.register(&mut auth, None).await.assert_ok();
}
/// The record itself says which tenant, ceremony and user it belongs to.
pub async fn challenge_records_name_tenant_and_user<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let store = ctx.challenges.clone();
    let mut app = ctx.app().await;
    app.signup("alice").await;
    let begin = app.post_empty("/auth/passkeys/register/begin").await;
    let handle = begin.assert_ok()["state"].as_str().unwrap().to_owned();
    let record = store.take(&handle).await.unwrap().unwrap();
    assert_eq!(record.rp_id, "localhost");
    assert_eq!(record.user_id.as_deref(), Some("alice"));
    let begin = app.auth_begin(None).await;
    let record = store
        .take(begin["state"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.rp_id, "localhost");
    assert_eq!(record.user_id, None, "usernameless");
}

/// A flood of 65,537 `authenticate/begin` calls (one more than the memory store holds) does
/// not lock everybody out with 503: the oldest pending ceremony is evicted instead, so a
/// normal sign-in after the flood succeeds. The price, documented: a ceremony begun before
/// the flood has expired early (`challenge_not_found`).
#[actix_rt::test]
async fn flood_of_begins_evicts_the_oldest_and_sign_in_still_works() {
    use actix_passkeys::store::memory::DEFAULT_CHALLENGE_CAPACITY;
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("alice").await;
    app.register(&mut auth, None).await.assert_ok();
    let early = app.assertion(&mut auth, None).await;

    for _ in 0..=DEFAULT_CHALLENGE_CAPACITY {
        let r = app.post_empty("/auth/passkeys/authenticate/begin").await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.raw));
    }
    assert_eq!(ctx.challenges.len(), DEFAULT_CHALLENGE_CAPACITY, "bounded");

    let r = app.sign_in(&mut auth, None).await;
    assert_eq!(r.assert_ok()["userId"], "alice");
    app.post("/auth/passkeys/authenticate/finish", early)
        .await
        .assert_error(400, "challenge_not_found");
}
