//! Multi-tenant relying parties: one app, one `Passkeys` per rp id, each mounted behind a
//! `guard::Host` and given its own stores. A credential of one tenant is not accepted by another.

use actix_passkeys::{
    store::memory::{MemoryChallengeStore, MemoryCredentialStore},
    testing::{AssertionSpec, SoftAuthenticator},
    PasskeyConfig, Passkeys,
};
use actix_web::{guard, test as atest, web};
use serde_json::{json, Value};

use crate::fixtures::*;

fn tenant(rp_id: &str) -> Passkeys {
    let config = PasskeyConfig::builder(rp_id, rp_id)
        .origin(format!("https://{rp_id}"))
        .build()
        .unwrap();
    Passkeys::new(
        config,
        MemoryCredentialStore::new(),
        MemoryChallengeStore::new(),
    )
}

/// Mounts each tenant's scope (and `/signup`) behind a guard on its host name.
fn tenants(list: Vec<(&'static str, Passkeys)>) -> impl FnOnce(&mut web::ServiceConfig) {
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
        .insert_header(("host", host.to_owned()));
    match body {
        Some(b) => req.set_json(b),
        None => req,
    }
}

#[actix_rt::test]
async fn a_credential_of_one_tenant_is_not_accepted_by_another() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx
        .app_configured(tenants(vec![
            ("a.example.com", tenant("a.example.com")),
            ("b.example.org", tenant("b.example.org")),
        ]))
        .await;
    // Each tenant answers with its own rp id and well-known document.
    let a = "a.example.com";
    let b = "b.example.org";
    let r = app
        .send(
            atest::TestRequest::get()
                .uri("/.well-known/webauthn")
                .insert_header(("host", b)),
        )
        .await;
    assert_eq!(r.assert_ok()["origins"], json!(["https://b.example.org"]));

    // Register on A, sign in on A.
    app.send(on(a, "/signup", Some(json!({"username": "alice"}))))
        .await
        .assert_ok();
    let begin = app.send(on(a, "/auth/passkeys/register/begin", None)).await;
    assert_eq!(begin.assert_ok()["publicKey"]["rp"]["id"], a);
    let mut key = SoftAuthenticator::new("https://a.example.com").unwrap();
    let credential = key.register(&begin.body["publicKey"]).await.unwrap();
    let r = app
        .send(on(
            a,
            "/auth/passkeys/register/finish",
            Some(json!({"credential": credential, "state": begin.body["state"]})),
        ))
        .await;
    r.assert_ok();
    let begin = app
        .send(on(a, "/auth/passkeys/authenticate/begin", None))
        .await;
    let assertion = key.sign_in(&begin.body["publicKey"]).await.unwrap();
    app.send(on(
        a,
        "/auth/passkeys/authenticate/finish",
        Some(json!({"credential": assertion, "state": begin.body["state"]})),
    ))
    .await
    .assert_ok();

    // B: its options name B; a browser would not even offer A's passkey. A client that signs
    // for B anyway (right rp id hash and origin for B, valid signature) is refused: B's store
    // does not know the credential.
    let begin = app
        .send(on(b, "/auth/passkeys/authenticate/begin", None))
        .await;
    assert_eq!(begin.assert_ok()["publicKey"]["rpId"], b);
    for (rp_id, origin) in [(a, "https://a.example.com"), (b, "https://b.example.org")] {
        let begin = app
            .send(on(b, "/auth/passkeys/authenticate/begin", None))
            .await;
        let mut spec = AssertionSpec::new(
            rp_id,
            origin,
            begin.body["publicKey"]["challenge"].as_str().unwrap(),
        );
        spec.user_handle = key.user_handle();
        spec.counter = 10;
        let forged = key.forge_assertion(&spec).unwrap();
        let r = app
            .send(on(
                b,
                "/auth/passkeys/authenticate/finish",
                Some(json!({"credential": forged, "state": begin.body["state"]})),
            ))
            .await;
        r.assert_error(401, "credential_not_found");
    }
    // And A's state is unknown on B.
    let begin_a = app
        .send(on(a, "/auth/passkeys/authenticate/begin", None))
        .await;
    let assertion = key.sign_in(&begin_a.body["publicKey"]).await.unwrap();
    let r = app
        .send(on(
            b,
            "/auth/passkeys/authenticate/finish",
            Some(json!({"credential": assertion, "state": begin_a.body["state"]})),
        ))
        .await;
    r.assert_error(400, "challenge_not_found");
}

/// Item 3 of issue 12: a session belongs to the tenant it was signed in on. Both tenants share
/// one credential store (one database) and the browser sends one cookie to both hosts (a
/// parent-domain cookie), so only the session's rp id tells them apart.
#[actix_rt::test]
async fn a_session_of_one_tenant_is_not_signed_in_on_another() {
    let ctx = Ctx::<Memory>::new().await;
    let shared = MemoryCredentialStore::new();
    let tenant = |rp_id: &str| {
        let config = PasskeyConfig::builder(rp_id, rp_id)
            .origin(format!("https://{rp_id}"))
            .build()
            .unwrap();
        Passkeys::new(config, shared.clone(), MemoryChallengeStore::new())
    };
    let (a, b) = ("a.example.com", "b.example.org");
    let list = vec![(a, tenant(a)), (b, tenant(b))];
    let mut app = ctx
        .app_configured(move |cfg| {
            for (host, passkeys) in list {
                cfg.service(
                    web::scope("")
                        .guard(guard::Host(host))
                        .configure(passkeys.configure())
                        .route("/signup", web::post().to(signup))
                        .route("/me", web::get().to(me)),
                );
            }
        })
        .await;
    let get = |host: &str, path: &str| {
        atest::TestRequest::get()
            .uri(path)
            .insert_header(("host", host.to_owned()))
    };
    app.send(on(a, "/signup", Some(json!({"username": "alice"}))))
        .await
        .assert_ok();
    let begin = app.send(on(a, "/auth/passkeys/register/begin", None)).await;
    let mut key = SoftAuthenticator::new("https://a.example.com").unwrap();
    let credential = key.register(&begin.assert_ok()["publicKey"]).await.unwrap();
    app.send(on(
        a,
        "/auth/passkeys/register/finish",
        Some(json!({"credential": credential, "state": begin.body["state"]})),
    ))
    .await
    .assert_ok();
    let begin = app
        .send(on(a, "/auth/passkeys/authenticate/begin", None))
        .await;
    let assertion = key.sign_in(&begin.body["publicKey"]).await.unwrap();
    app.send(on(
        a,
        "/auth/passkeys/authenticate/finish",
        Some(json!({"credential": assertion, "state": begin.body["state"]})),
    ))
    .await
    .assert_ok();
    assert_eq!(app.send(get(a, "/me")).await.assert_ok()["userId"], "alice");

    // The same cookie on B: not signed in, and B's scope does not take it as alice either.
    app.send(get(b, "/me"))
        .await
        .assert_error(401, "not_authenticated");
    app.send(on(b, "/auth/passkeys/register/begin", None))
        .await
        .assert_error(401, "not_authenticated");
    app.send(get(b, "/auth/passkeys/credentials"))
        .await
        .assert_error(401, "not_authenticated");
    // B's refusal does not sign the user out of A.
    assert_eq!(app.send(get(a, "/me")).await.assert_ok()["userId"], "alice");
}
