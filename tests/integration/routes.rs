//! The route suite: every route through the real app, driven by a software authenticator.
//! Each case is generic over the storage backend and instantiated per backend in `main.rs`.

use std::{collections::HashMap, time::Duration};

use actix_passkeys::{
    hooks::AuditEventKind, hooks::AuthenticationResult, policy::SignCountPolicy,
    policy::UserVerification, store::Credential, store::CredentialStore as _, store::UsageUpdate,
    testing::SoftAuthenticator, PasskeyError, PasskeyUser,
};
use actix_web::{
    http::{Method, StatusCode},
    test as atest, HttpRequest, HttpResponse,
};
use serde_json::{json, Value};

use crate::fixtures::*;
pub use crate::sessions::*;
// Cases of `challenges.rs` in the route suite (its macro names `routes::<case>`).
pub use crate::challenges::*;

fn authenticator() -> SoftAuthenticator {
    SoftAuthenticator::new(ORIGIN).unwrap()
}

async fn stored<B: Backend>(ctx: &Ctx<B>, id: &str) -> Option<Credential> {
    ctx.creds.get(&unb64(id)).await.unwrap()
}

/// Signs `user` up, registers one passkey, signs out. Returns the authenticator and the id.
async fn enrolled<T, Bd>(app: &mut TestApp<T>, user: &str) -> (SoftAuthenticator, String)
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
    app.logout().await;
    (auth, id)
}

pub async fn username_first_sign_in<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, id) = enrolled(&mut app, "alice").await;

    app.get("/me").await.assert_error(401, "not_authenticated");
    let begin = app.auth_begin(Some("alice")).await;
    let allowed = begin["publicKey"]["allowCredentials"].as_array().unwrap();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["id"], json!(id));
    assert_eq!(begin["publicKey"]["userVerification"], "required");

    let r = app.sign_in(&mut auth, Some("alice")).await;
    assert_eq!(r.assert_ok(), &json!({"status": "ok", "userId": "alice"}));
    let me = app.get("/me").await;
    assert_eq!(me.assert_ok()["userId"], "alice");
    assert_eq!(me.body["credentialId"], json!(id));
    assert_eq!(me.body["userVerified"], true);

    let cred = stored(&ctx, &id).await.unwrap();
    assert_eq!(cred.sign_count, 1, "counter committed");
    assert!(cred.last_used_at.is_some());
    assert_eq!(ctx.audit.count(AuditEventKind::AuthenticationSucceeded), 1);
}

pub async fn usernameless_sign_in<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, id) = enrolled(&mut app, "alice").await;
    let begin = app.auth_begin(None).await;
    assert_eq!(begin["publicKey"]["allowCredentials"], json!([]));
    let r = app.sign_in(&mut auth, None).await;
    assert_eq!(r.assert_ok()["userId"], "alice");
    let me = app.get("/me").await;
    assert_eq!(me.assert_ok()["credentialId"], json!(id));
    // An empty body and a null userId are usernameless too.
    let r = app.post_empty("/auth/passkeys/authenticate/begin").await;
    assert_eq!(r.assert_ok()["publicKey"]["allowCredentials"], json!([]));
    let r = app
        .post("/auth/passkeys/authenticate/begin", json!({"userId": null}))
        .await;
    assert_eq!(r.assert_ok()["publicKey"]["allowCredentials"], json!([]));
}

pub async fn registration_records_metadata<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let mut auth = authenticator();
    app.signup("alice").await;
    let begin = app.post_empty("/auth/passkeys/register/begin").await;
    let pk = &begin.assert_ok()["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost");
    assert_eq!(pk["user"]["name"], "alice");
    assert_ne!(
        pk["user"]["id"],
        json!(b64(b"alice")),
        "the user handle is random, not the user id"
    );
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "preferred");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(
        pk["extensions"],
        json!({"credProps": true}),
        "only credProps is asked for"
    );
    let response = auth.register(pk).await.unwrap();
    let r = app
        .post(
            "/auth/passkeys/register/finish",
            json!({"credential": response, "state": begin.body["state"], "device_name": "Laptop"}),
        )
        .await;
    let id = r.assert_ok()["credentialId"].as_str().unwrap().to_owned();
    assert_eq!(r.body["status"], "ok");

    let list = app.get("/auth/passkeys/credentials").await;
    let list = list.assert_ok().as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    let view = &list[0];
    assert_eq!(view["id"], json!(id));
    assert_eq!(
        view["deviceName"], "Laptop",
        "snake_case device_name accepted"
    );
    assert_eq!(view["backupEligible"], true);
    assert_eq!(view["backupState"], true);
    assert_eq!(view["userVerified"], true);
    assert_eq!(view["disabled"], false);
    assert_eq!(
        view["authenticator"],
        Value::Null,
        "zero AAGUID has no name"
    );
    assert!(view["createdAt"].is_string());
    assert_eq!(view["lastUsedAt"], Value::Null);
    assert!(view["transports"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "internal"));
    for hidden in ["publicKey", "passkey", "signCount", "userHandle"] {
        assert!(view.get(hidden).is_none(), "{hidden} must not be listed");
    }
    let cred = stored(&ctx, &id).await.unwrap();
    assert_eq!(cred.attestation_fmt, "none");
    assert_eq!(cred.discoverable, Some(true), "from credProps");
    assert!(!cred.public_key.is_empty(), "COSE key kept for export");
    assert_eq!(cred.user_handle, unb64(pk["user"]["id"].as_str().unwrap()));
    assert_eq!(ctx.audit.count(AuditEventKind::RegistrationSucceeded), 1);
}

pub async fn second_passkey_reuses_user_handle_and_excludes_first<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let mut first = authenticator();
    app.signup("alice").await;
    let id = app.register(&mut first, None).await.assert_ok()["credentialId"].clone();
    // A second passkey needs a passkey sign-in (an identified session adds only the first).
    app.sign_in(&mut first, None).await.assert_ok();
    let begin = app.post_empty("/auth/passkeys/register/begin").await;
    let pk = begin.assert_ok()["publicKey"].clone();
    assert_eq!(pk["excludeCredentials"][0]["id"], id);
    let cred = stored(&ctx, id.as_str().unwrap()).await.unwrap();
    assert_eq!(unb64(pk["user"]["id"].as_str().unwrap()), cred.user_handle);
}

pub async fn replayed_state_is_refused<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let mut auth = authenticator();
    app.signup("alice").await;
    let body = app.registration(&mut auth, None).await;
    app.post("/auth/passkeys/register/finish", body.clone())
        .await
        .assert_ok();
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_error(400, "challenge_not_found");

    let body = app.assertion(&mut auth, Some("alice")).await;
    app.post("/auth/passkeys/authenticate/finish", body.clone())
        .await
        .assert_ok();
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_error(400, "challenge_not_found");
    let r = app
        .post(
            "/auth/passkeys/authenticate/finish",
            json!({"credential": {}, "state": "never-issued"}),
        )
        .await;
    r.assert_error(400, "invalid_request");
}

pub async fn expired_state_is_refused<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, id) = enrolled(&mut app, "alice").await;
    let body = app.assertion(&mut auth, Some("alice")).await;
    ctx.clock.advance(Duration::from_secs(301));
    app.post("/auth/passkeys/authenticate/finish", body.clone())
        .await
        .assert_error(400, "challenge_expired");
    assert_eq!(ctx.audit.count(AuditEventKind::ChallengeExpired), 1);
    // Consumed: a retry is unknown, and the credential did not move.
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_error(400, "challenge_not_found");
    assert_eq!(
        ctx.audit.count(AuditEventKind::ChallengeExpired),
        1,
        "only real expiry is audited"
    );
    assert_eq!(stored(&ctx, &id).await.unwrap().sign_count, 0);

    app.sign_in(&mut auth, None).await.assert_ok();
    let body = app.registration(&mut authenticator(), None).await;
    ctx.clock.advance(Duration::from_secs(300));
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_error(400, "challenge_expired");
    assert_eq!(ctx.creds.list_for_user("alice").await.unwrap().len(), 1);
}

pub async fn state_of_the_other_ceremony_is_not_found<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, _) = enrolled(&mut app, "alice").await;
    app.sign_in(&mut auth, None).await.assert_ok();
    let reg_state = app.post_empty("/auth/passkeys/register/begin").await.body["state"].clone();
    let mut body = app.assertion(&mut auth, Some("alice")).await;
    let auth_state = body["state"].clone();
    body["state"] = reg_state;
    app.post("/auth/passkeys/authenticate/finish", body.clone())
        .await
        .assert_error(400, "challenge_not_found");
    // Consumed by the wrong use: the registration state is gone too.
    let mut new_auth = authenticator();
    let mut reg = app.registration(&mut new_auth, None).await;
    reg["state"] = auth_state;
    app.post("/auth/passkeys/register/finish", reg)
        .await
        .assert_error(400, "challenge_not_found");
    // The ceremony is checked before the expiry: an expired registration state presented to
    // the sign-in route names no sign-in ceremony at all, so it is not found (not expired).
    let reg_state = app.post_empty("/auth/passkeys/register/begin").await.body["state"].clone();
    let mut body = app.assertion(&mut auth, Some("alice")).await;
    ctx.clock.advance(Duration::from_secs(301));
    body["state"] = reg_state;
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_error(400, "challenge_not_found");
    assert_eq!(ctx.audit.count(AuditEventKind::ChallengeExpired), 0);
}

pub async fn foreign_credential_is_refused_username_first<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut alice, alice_id) = enrolled(&mut app, "alice").await;
    let _ = enrolled(&mut app, "bob").await;
    // Begin for bob, answer with alice's passkey.
    let begin = app.auth_begin(Some("bob")).await;
    let mut pk = begin["publicKey"].clone();
    pk["allowCredentials"] = json!([{"type": "public-key", "id": alice_id}]);
    let credential = alice.sign_in(&pk).await.unwrap();
    let r = app
        .post(
            "/auth/passkeys/authenticate/finish",
            json!({"credential": credential, "state": begin["state"]}),
        )
        .await;
    r.assert_error(401, "assertion_verification_failed");
    app.get("/me").await.assert_error(401, "not_authenticated");
    assert_eq!(
        stored(&ctx, &alice_id).await.unwrap().sign_count,
        0,
        "nothing changed"
    );
}

pub async fn user_handle_must_be_the_owners<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut alice, alice_id) = enrolled(&mut app, "alice").await;
    let (_, bob_id) = enrolled(&mut app, "bob").await;
    let bob_handle = stored(&ctx, &bob_id).await.unwrap().user_handle;
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("another user's handle", Some(json!(b64(&bob_handle)))),
        ("altered handle", Some(json!(b64(b"not-the-handle")))),
        ("missing handle", None),
    ];
    for (what, handle) in cases {
        let mut body = app.assertion(&mut alice, None).await;
        match handle {
            Some(h) => body["credential"]["response"]["userHandle"] = h,
            None => {
                body["credential"]["response"]
                    .as_object_mut()
                    .unwrap()
                    .remove("userHandle");
            }
        }
        let r = app.post("/auth/passkeys/authenticate/finish", body).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(r.code(), "assertion_verification_failed", "{what}");
    }
    assert_eq!(
        stored(&ctx, &alice_id).await.unwrap().sign_count,
        0,
        "no counter burnt"
    );
    app.get("/me").await.assert_error(401, "not_authenticated");
    // The untampered assertion still works.
    app.sign_in(&mut alice, None).await.assert_ok();
}

pub async fn cloned_authenticator_is_rejected<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut original, id) = enrolled(&mut app, "alice").await;
    let mut clone = original.duplicate();
    app.sign_in(&mut original, Some("alice")).await.assert_ok(); // counter 1
    app.sign_in(&mut original, Some("alice")).await.assert_ok(); // counter 2
    let r = app.sign_in(&mut clone, Some("alice")).await; // counter 1 again
    r.assert_error(401, "clone_detected");
    // Equal (non-zero) counter is a regression too.
    clone.set_sign_count(1);
    app.sign_in(&mut clone, Some("alice"))
        .await
        .assert_error(401, "clone_detected");
    assert_eq!(ctx.audit.count(AuditEventKind::CloneSuspected), 2);
    let cred = stored(&ctx, &id).await.unwrap();
    assert_eq!(cred.sign_count, 2);
    assert!(
        !cred.is_disabled(),
        "reject policy keeps the credential usable"
    );
    app.sign_in(&mut original, Some("alice")).await.assert_ok();
}

pub async fn cloned_authenticator_disables_under_disable_policy<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let config = config()
        .sign_count_policy(SignCountPolicy::Disable)
        .build()
        .unwrap();
    let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
    let (mut original, id) = enrolled(&mut app, "alice").await;
    let mut clone = original.duplicate();
    app.sign_in(&mut original, None).await.assert_ok();
    app.sign_in(&mut clone, None)
        .await
        .assert_error(401, "clone_detected");
    let cred = stored(&ctx, &id).await.expect("disabled, never deleted");
    assert!(cred.is_disabled());
    assert_eq!(cred.disabled_reason.as_deref(), Some("clone_suspected"));
    assert_eq!(ctx.audit.count(AuditEventKind::CloneSuspected), 1);
    assert_eq!(ctx.audit.count(AuditEventKind::CredentialDisabled), 1);
    // Later sign-ins, even by the original, are refused; the list shows it disabled.
    app.sign_in(&mut original, None)
        .await
        .assert_error(401, "credential_disabled");
    app.signup("alice").await;
    let list = app.get("/auth/passkeys/credentials").await;
    assert_eq!(list.assert_ok()[0]["disabled"], true);
    // Username-first begin no longer offers it (fake ids instead), finishing fails.
    let begin = app.auth_begin(Some("alice")).await;
    assert!(!begin["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == json!(id)));
}

pub async fn counterless_authenticator_is_accepted<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let mut auth = authenticator().without_sign_count();
    app.signup("alice").await;
    let id = app.register(&mut auth, None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        app.sign_in(&mut auth, Some("alice")).await.assert_ok();
    }
    assert_eq!(stored(&ctx, &id).await.unwrap().sign_count, 0);
}

pub async fn user_verification_required_is_enforced<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    app.signup("alice").await;
    let mut lazy = authenticator().without_user_verification();
    app.register(&mut lazy, None)
        .await
        .assert_error(400, "attestation_verification_failed");
    assert!(ctx.creds.list_for_user("alice").await.unwrap().is_empty());
    assert_eq!(ctx.audit.count(AuditEventKind::RegistrationFailed), 1);

    let mut good = authenticator();
    let id = app.register(&mut good, None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut lazy_copy = good.duplicate().without_user_verification();
    app.logout().await;
    app.sign_in(&mut lazy_copy, Some("alice"))
        .await
        .assert_error(401, "assertion_verification_failed");
    assert_eq!(stored(&ctx, &id).await.unwrap().sign_count, 0);
}

pub async fn user_verification_preferred_accepts_and_records<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let config = config()
        .user_verification(UserVerification::Preferred)
        .build()
        .unwrap();
    let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
    app.signup("alice").await;
    let mut lazy = authenticator().without_user_verification();
    let id = app.register(&mut lazy, None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!stored(&ctx, &id).await.unwrap().user_verified);
    app.logout().await;
    app.sign_in(&mut lazy, Some("alice")).await.assert_ok();
    assert_eq!(app.get("/me").await.body["userVerified"], false);
}

/// User verification `discouraged` is what the options ask for at both ceremonies, and a
/// passkey used without UV registers and signs in, recorded as `userVerified: false`.
pub async fn user_verification_discouraged_asks_for_none_and_accepts_without<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let config = config()
        .danger_discourage_user_verification()
        .build()
        .unwrap();
    let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
    app.signup("alice").await;
    let begin = app.post_empty("/auth/passkeys/register/begin").await;
    assert_eq!(
        begin.assert_ok()["publicKey"]["authenticatorSelection"]["userVerification"],
        "discouraged"
    );
    let mut lazy = authenticator().without_user_verification();
    let id = app.register(&mut lazy, None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!stored(&ctx, &id).await.unwrap().user_verified);
    app.logout().await;
    let begin = app.auth_begin(Some("alice")).await;
    assert_eq!(begin["publicKey"]["userVerification"], "discouraged");
    app.sign_in(&mut lazy, Some("alice")).await.assert_ok();
    assert_eq!(app.get("/me").await.body["userVerified"], false);
}

pub async fn duplicate_credential_id_is_a_conflict<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let mut auth = authenticator();
    app.signup("alice").await;
    let first = app.registration(&mut auth, None).await;
    app.post("/auth/passkeys/register/finish", first.clone())
        .await
        .assert_ok();
    // The same credential id and key, answered to a new challenge: for alice, then for bob.
    for user in ["alice", "bob"] {
        if user == "alice" {
            // A second passkey for alice needs her passkey sign-in.
            app.sign_in(&mut auth, None).await.assert_ok();
        } else {
            app.signup(user).await;
        }
        let begin = app.post_empty("/auth/passkeys/register/begin").await;
        let challenge = begin.body["publicKey"]["challenge"]
            .as_str()
            .unwrap()
            .to_owned();
        let forged = forge_registration(&first["credential"], &challenge);
        let r = app
            .post(
                "/auth/passkeys/register/finish",
                json!({"credential": forged, "state": begin.body["state"]}),
            )
            .await;
        r.assert_error(409, "credential_already_exists");
    }
    assert!(ctx.creds.list_for_user("bob").await.unwrap().is_empty());
    assert_eq!(ctx.creds.list_for_user("alice").await.unwrap().len(), 1);
}

pub async fn unknown_user_gets_stable_fake_credentials<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let _ = enrolled(&mut app, "alice").await;
    let real = app.auth_begin(Some("alice")).await;
    let a = app.auth_begin(Some("mallory")).await;
    let b = app.auth_begin(Some("mallory")).await;
    let c = app.auth_begin(Some("trudy")).await;
    let ids = |v: &Value| -> Vec<Value> {
        v["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].clone())
            .collect()
    };
    assert!(
        !ids(&a).is_empty(),
        "an unknown user is offered credentials"
    );
    assert_eq!(ids(&a), ids(&b), "deterministic per user");
    assert_ne!(ids(&a), ids(&c), "different per user");
    assert_ne!(a["publicKey"]["challenge"], b["publicKey"]["challenge"]);
    // Same shape as a real answer: same keys, transports present, plausible id lengths.
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v["publicKey"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&a), keys(&real));
    let entry_keys = |v: &Value| -> Vec<Vec<String>> {
        v["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let mut k: Vec<String> = c.as_object().unwrap().keys().cloned().collect();
                k.sort();
                k
            })
            .collect()
    };
    // Real entries carry `transports` when the client reported them and none otherwise; fake
    // entries take both shapes (`review_attacks::fake_entries_take_every_shape_real_entries_have`).
    let without_transports: Vec<String> = vec!["id".into(), "type".into()];
    for fake in entry_keys(&a) {
        assert!(
            fake == entry_keys(&real)[0] || fake == without_transports,
            "entries have the fields of real ones: {fake:?}"
        );
    }
    for cred in a["publicKey"]["allowCredentials"].as_array().unwrap() {
        assert!(cred["transports"].is_array() || cred.get("transports").is_none());
        let len = unb64(cred["id"].as_str().unwrap()).len();
        assert!((16..=128).contains(&len), "fake id length {len}");
    }
    // A different server key gives different fakes; the same key gives the same.
    // The deprecated former name still sets the server secret.
    #[allow(deprecated)]
    let keyed = |key: &'static [u8]| {
        ctx.builder(config().build().unwrap())
            .fake_credential_key(key)
            .build()
            .unwrap()
    };
    let mut k1 = ctx.app_with(keyed(b"0123456789abcdef-one")).await;
    let mut k1b = ctx.app_with(keyed(b"0123456789abcdef-one")).await;
    let mut k2 = ctx.app_with(keyed(b"0123456789abcdef-two")).await;
    let f1 = ids(&k1.auth_begin(Some("mallory")).await);
    assert_eq!(f1, ids(&k1b.auth_begin(Some("mallory")).await));
    assert_ne!(f1, ids(&k2.auth_begin(Some("mallory")).await));
    // Finishing such a ceremony with any passkey fails like an unknown credential.
    let mut alice = authenticator();
    let begin = app.auth_begin(Some("mallory")).await;
    let mut pk = begin["publicKey"].clone();
    pk["allowCredentials"] = json!([]);
    let _ = alice.register(&json!({})).await; // not registered here: cannot sign
    assert!(alice.sign_in(&pk).await.is_err());
}

pub async fn management_checks_ownership<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut alice, alice_id) = enrolled(&mut app, "alice").await;
    app.signup("bob").await;
    let path = format!("/auth/passkeys/credentials/{alice_id}");
    assert_eq!(
        app.get("/auth/passkeys/credentials").await.assert_ok(),
        &json!([])
    );
    app.method(Method::PATCH, &path, Some(json!({"deviceName": "pwned"})))
        .await
        .assert_error(404, "not_found");
    app.method(Method::DELETE, &path, None)
        .await
        .assert_error(404, "not_found");
    let cred = stored(&ctx, &alice_id).await.expect("still there");
    assert_eq!(cred.device_name, "My key");
    assert_eq!(ctx.audit.count(AuditEventKind::CredentialRevoked), 0);

    // Alice has a passkey: only its sign-in manages her passkeys (an identify no longer does).
    app.signup("alice").await;
    app.get("/auth/passkeys/credentials")
        .await
        .assert_error(401, "not_authenticated");
    app.sign_in(&mut alice, None).await.assert_ok();
    let r = app
        .method(
            Method::PATCH,
            &path,
            Some(json!({"deviceName": "Work laptop"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        stored(&ctx, &alice_id).await.unwrap().device_name,
        "Work laptop"
    );
    let r = app
        .method(Method::PATCH, &path, Some(json!({"device_name": "Home"})))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.method(Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(stored(&ctx, &alice_id).await.is_none());
    assert_eq!(ctx.audit.count(AuditEventKind::CredentialRevoked), 1);
    // That was the passkey of this sign-in: the session ended with it.
    app.method(Method::DELETE, &path, None)
        .await
        .assert_error(401, "not_authenticated");
    // Without passkeys an identified alice manages again; the id is gone.
    app.signup("alice").await;
    app.method(Method::DELETE, &path, None)
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        ctx.audit.count(AuditEventKind::CredentialRevoked),
        1,
        "audited only when deleted"
    );

    app.method(
        Method::DELETE,
        "/auth/passkeys/credentials/not+base64url",
        None,
    )
    .await
    .assert_error(400, "invalid_request");
    app.logout().await;
    app.get("/auth/passkeys/credentials")
        .await
        .assert_error(401, "not_authenticated");
    app.method(Method::DELETE, &path, None)
        .await
        .assert_error(401, "not_authenticated");
}

pub async fn revoked_passkey_cannot_sign_in<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, id) = enrolled(&mut app, "alice").await;
    app.sign_in(&mut auth, None).await.assert_ok();
    let r = app
        .method(
            Method::DELETE,
            &format!("/auth/passkeys/credentials/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.logout().await;
    app.sign_in(&mut auth, None)
        .await
        .assert_error(401, "credential_not_found");
}

pub async fn device_names_are_validated<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    app.signup("alice").await;
    for bad in [
        json!("x".repeat(65)),
        json!("bell\u{7}"),
        json!("line\nbreak"),
        json!(42),
    ] {
        let mut body = app.registration(&mut authenticator(), None).await;
        body["deviceName"] = bad.clone();
        app.post("/auth/passkeys/register/finish", body)
            .await
            .assert_error(400, "invalid_request");
    }
    assert!(ctx.creds.list_for_user("alice").await.unwrap().is_empty());
    let id = app
        .register(&mut authenticator(), Some(&"é".repeat(64)))
        .await
        .assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/auth/passkeys/credentials/{id}");
    for bad in [
        json!({"deviceName": "  "}),
        json!({"deviceName": "y".repeat(65)}),
        json!({"deviceName": "\u{1b}[31m"}),
        json!({"deviceName": null}),
        json!({}),
    ] {
        app.method(Method::PATCH, &path, Some(bad))
            .await
            .assert_error(400, "invalid_request");
    }
    assert_eq!(stored(&ctx, &id).await.unwrap().device_name, "é".repeat(64));
}

pub async fn backup_state_and_last_use_refresh_on_sign_in<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, id) = enrolled(&mut app, "alice").await;
    // Pretend the key was not backed up at the last sign-in.
    set_backup_flags(&ctx, &id, true, false).await;
    ctx.clock.advance(Duration::from_secs(60));
    app.sign_in(&mut auth, None).await.assert_ok();
    let cred = stored(&ctx, &id).await.unwrap();
    assert!(cred.backup_state);
    assert_eq!(cred.last_used_at, Some(ctx.clock_now()));
}

pub async fn malformed_requests_get_the_envelope<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, id) = enrolled(&mut app, "alice").await;
    let finish = "/auth/passkeys/authenticate/finish";
    let good = app.assertion(&mut auth, Some("alice")).await;

    let send_raw = |ct: Option<&'static str>, body: Vec<u8>| {
        let req = atest::TestRequest::post().uri(finish);
        let req = match ct {
            Some(ct) => req.insert_header(("content-type", ct)),
            None => req,
        };
        req.set_payload(body)
    };
    let secret_marker = "SECRET-INPUT-MARKER";
    let cases: Vec<(atest::TestRequest, u16, &str)> = vec![
        (
            send_raw(
                Some("application/json"),
                format!("{{\"credential\": {secret_marker}").into_bytes(),
            ),
            400,
            "invalid_request",
        ),
        (
            send_raw(Some("application/json"), b"[]".to_vec()),
            400,
            "invalid_request",
        ),
        (
            send_raw(Some("application/json"), Vec::new()),
            400,
            "invalid_request",
        ),
        (
            send_raw(Some("text/plain"), serde_json::to_vec(&good).unwrap()),
            400,
            "invalid_request",
        ),
        (
            send_raw(None, serde_json::to_vec(&good).unwrap()),
            400,
            "invalid_request",
        ),
        (
            send_raw(Some("application/json"), vec![b' '; 64 * 1024 + 1]),
            413,
            "payload_too_large",
        ),
        (
            send_raw(Some("application/json"), {
                let mut b = good.clone();
                b["credential"]["rawId"] = json!("+/+/not base64url");
                serde_json::to_vec(&b).unwrap()
            }),
            400,
            "invalid_request",
        ),
        (
            send_raw(Some("application/json"), {
                let mut b = good.clone();
                b["credential"]["response"]["signature"] = json!(12345);
                serde_json::to_vec(&b).unwrap()
            }),
            400,
            "invalid_request",
        ),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let r = app.send(req).await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "case {i}: {}",
            String::from_utf8_lossy(&r.raw)
        );
        r.assert_error(status, code);
        assert!(
            !String::from_utf8_lossy(&r.raw).contains(secret_marker),
            "input echoed"
        );
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
    }
    // None of that consumed the state: the good body still signs in.
    app.post(finish, good).await.assert_ok();
    assert_eq!(stored(&ctx, &id).await.unwrap().sign_count, 1);

    // Oversize on a begin route and a register route, unknown paths, wrong methods.
    let big = json!({"userId": "x".repeat(70_000)});
    app.post("/auth/passkeys/authenticate/begin", big)
        .await
        .assert_error(413, "payload_too_large");
    app.post("/auth/passkeys/authenticate/begin", json!({"userId": 5}))
        .await
        .assert_error(400, "invalid_request");
    app.get("/auth/passkeys/nope")
        .await
        .assert_error(404, "not_found");
    app.get("/auth/passkeys/authenticate/finish")
        .await
        .assert_error(405, "invalid_request");
}

/// Every 405 of the scope carries `Allow` with the route's methods (RFC 9110 §15.5.6), in the
/// error envelope.
#[actix_rt::test]
async fn every_405_names_the_allowed_methods() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    for (method, path, allow) in [
        (Method::GET, "/auth/passkeys/register/begin", "POST"),
        (Method::GET, "/auth/passkeys/register/finish", "POST"),
        (Method::PUT, "/auth/passkeys/authenticate/begin", "POST"),
        (Method::GET, "/auth/passkeys/authenticate/finish", "POST"),
        (Method::POST, "/auth/passkeys/credentials", "GET"),
        (
            Method::GET,
            "/auth/passkeys/credentials/abc",
            "PATCH, DELETE",
        ),
        (Method::POST, "/auth/passkeys/passkeys.js", "GET"),
        (Method::GET, "/auth/passkeys/logout", "POST"),
        (Method::POST, "/auth/passkeys/openapi.json", "GET"),
    ] {
        let r = app.method(method.clone(), path, None).await;
        r.assert_error(405, "invalid_request");
        assert_eq!(
            r.headers.get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
    }
}

pub async fn store_outage_is_503<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let passkeys = actix_passkeys::Passkeys::new(
        config().build().unwrap(),
        ctx.creds.clone(),
        DownChallengeStore,
    );
    let svc = atest::init_service(actix_web::App::new().service(passkeys)).await;
    let call = || {
        atest::TestRequest::post()
            .uri("/auth/passkeys/authenticate/begin")
            .to_request()
    };
    let resp = atest::call_service(&svc, call()).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = atest::read_body_json(resp).await;
    assert_eq!(body["error"]["code"], "store_unavailable");
    assert!(
        !body.to_string().contains("full"),
        "the cause stays in the log"
    );
}

pub async fn configuration_error_is_opaque_500<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let resolver = |_req: HttpRequest| async {
        Err::<PasskeyUser, _>(PasskeyError::Configuration("db password=hunter2".into()))
    };
    let mut app = ctx
        .app_with(
            ctx.builder(config().build().unwrap())
                .user_resolver(resolver)
                .build()
                .unwrap(),
        )
        .await;
    let r = app.post_empty("/auth/passkeys/register/begin").await;
    r.assert_error(500, "configuration_error");
    assert!(!String::from_utf8_lossy(&r.raw).contains("hunter2"));
}

pub async fn custom_resolver_and_hook<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let resolver = |req: HttpRequest| async move {
        let id = req
            .headers()
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .ok_or(PasskeyError::NotAuthenticated)?
            .to_owned();
        Ok(PasskeyUser::new(
            id.clone(),
            format!("{id}@example.com"),
            "Display",
        ))
    };
    let hook = |_req: HttpRequest, result: AuthenticationResult| async move {
        if result.user_id == "blocked" {
            return Err(actix_web::error::ErrorForbidden("account locked"));
        }
        Ok(HttpResponse::Ok().json(
            json!({"token": format!("t-{}", result.user_id), "usernameless": result.usernameless}),
        ))
    };
    let passkeys = ctx
        .builder(config().build().unwrap())
        .user_resolver(resolver)
        .on_authenticated(hook)
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    let mut auth = authenticator();
    let begin = app
        .send(
            atest::TestRequest::post()
                .uri("/auth/passkeys/register/begin")
                .insert_header(("x-user", "carol")),
        )
        .await;
    assert_eq!(
        begin.assert_ok()["publicKey"]["user"]["name"],
        "carol@example.com"
    );
    let credential = auth.register(&begin.body["publicKey"]).await.unwrap();
    let finish = json!({"credential": credential, "state": begin.body["state"]});
    // The finish resolves the user again: without one it is refused (and not consumed).
    app.post("/auth/passkeys/register/finish", finish.clone())
        .await
        .assert_error(401, "not_authenticated");
    app.send(
        atest::TestRequest::post()
            .uri("/auth/passkeys/register/finish")
            .insert_header(("x-user", "carol"))
            .set_json(finish),
    )
    .await
    .assert_ok();
    let r = app.sign_in(&mut auth, None).await;
    assert_eq!(
        r.assert_ok(),
        &json!({"token": "t-carol", "usernameless": true})
    );

    // A hook error is the app's own answer, and the counter was burnt before the hook ran.
    let mut blocked = authenticator();
    let begin = app
        .send(
            atest::TestRequest::post()
                .uri("/auth/passkeys/register/begin")
                .insert_header(("x-user", "blocked")),
        )
        .await;
    let credential = blocked.register(&begin.body["publicKey"]).await.unwrap();
    let id = app
        .send(
            atest::TestRequest::post()
                .uri("/auth/passkeys/register/finish")
                .insert_header(("x-user", "blocked"))
                .set_json(json!({"credential": credential, "state": begin.body["state"]})),
        )
        .await
        .assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = app.assertion(&mut blocked, Some("blocked")).await;
    let r = app.post("/auth/passkeys/authenticate/finish", body).await;
    // The hook's error is the app's own answer (its status and body), not our envelope.
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(String::from_utf8_lossy(&r.raw), "account locked");
    assert_eq!(
        stored(&ctx, &id).await.unwrap().sign_count,
        1,
        "counter committed before the hook"
    );
}

pub async fn failing_audit_sink_does_not_fail_ceremonies<B: Backend>() {
    #[derive(Debug)]
    struct Broken;
    impl actix_passkeys::hooks::AuditSink for Broken {
        type Error = std::io::Error;

        async fn emit(&self, _: &actix_passkeys::hooks::AuditEvent) -> Result<(), std::io::Error> {
            Err(std::io::Error::other("audit backend down"))
        }
    }
    let ctx = Ctx::<B>::new().await;
    let passkeys = ctx
        .builder(config().build().unwrap())
        .audit(Broken)
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    let (mut auth, _) = enrolled(&mut app, "alice").await;
    app.sign_in(&mut auth, None).await.assert_ok();
}

pub async fn session_is_renewed_on_login_and_purged_on_logout<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, _) = enrolled(&mut app, "alice").await;
    app.signup("mallory-planted").await;
    let planted = app.cookie.clone().expect("session cookie");
    app.sign_in(&mut auth, None).await.assert_ok();
    let after = app.cookie.clone().expect("session cookie");
    assert_ne!(planted, after, "session id renewed on login");
    assert!(!ctx.sessions.contains(&planted), "old session gone");
    // The identified user is replaced by the passkey user.
    let list = app.get("/auth/passkeys/credentials").await;
    assert_eq!(list.assert_ok().as_array().unwrap().len(), 1);
    assert_eq!(app.get("/me").await.body["userId"], "alice");
    // A request replaying the pre-login cookie is not signed in.
    let mut attacker = ctx.app().await;
    attacker.cookie = Some(planted);
    attacker
        .get("/me")
        .await
        .assert_error(401, "not_authenticated");

    let r = app.post_empty("/auth/passkeys/logout").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!ctx.sessions.contains(&after), "session purged");
    let mut replay = ctx.app().await;
    replay.cookie = Some(after);
    replay
        .get("/me")
        .await
        .assert_error(401, "not_authenticated");
    replay
        .post_empty("/auth/passkeys/register/begin")
        .await
        .assert_error(401, "not_authenticated");
}

pub async fn browser_helper_is_served<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let r = app.get("/auth/passkeys/passkeys.js").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.unwrap().starts_with("text/javascript"));
    let js = String::from_utf8(r.raw).unwrap();
    assert!(js.contains("register/begin") && js.contains("authenticate/finish"));
}

pub async fn register_begin_needs_a_user<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    app.post_empty("/auth/passkeys/register/begin")
        .await
        .assert_error(401, "not_authenticated");
}

async fn set_backup_flags<B: Backend>(ctx: &Ctx<B>, id: &str, eligible: bool, state: bool) {
    let cred = stored(ctx, id).await.unwrap();
    let applied = ctx
        .creds
        .update_usage(&UsageUpdate {
            credential_id: unb64(id),
            old_sign_count: cred.sign_count,
            new_sign_count: cred.sign_count,
            backup_eligible: eligible,
            backup_state: state,
            used_at: chrono::DateTime::UNIX_EPOCH,
            attachment: cred.last_attachment,
        })
        .await
        .unwrap();
    assert!(applied);
}

pub async fn backup_eligibility_upgrade_follows_policy<B: Backend>() {
    // The software authenticator always reports BE=1, BS=1; pretend it registered as BE=0.
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, id) = enrolled(&mut app, "alice").await;
    set_backup_flags(&ctx, &id, false, false).await;
    app.sign_in(&mut auth, None).await.assert_ok();
    let cred = stored(&ctx, &id).await.unwrap();
    assert!(
        cred.backup_eligible && cred.backup_state,
        "upgrade recorded"
    );

    let ctx = Ctx::<B>::new().await;
    let config = config()
        .allow_backup_eligible_upgrade(false)
        .build()
        .unwrap();
    let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
    let (mut auth, id) = enrolled(&mut app, "alice").await;
    set_backup_flags(&ctx, &id, false, false).await;
    app.sign_in(&mut auth, None)
        .await
        .assert_error(401, "assertion_verification_failed");
    assert!(!stored(&ctx, &id).await.unwrap().backup_eligible);
}

/// 32 assertions carrying the same counter value, finished at once in-process. Every
/// `update_usage` is held (`testing::RacingCredentialStore`) until all 32 have read the
/// credential and verified, so all of them reach the store's compare-and-swap: exactly one
/// wins, and the 31 losers are refused there with 401 `assertion_verification_failed`. Without
/// the barrier a loser may run after the winner's commit, read counter 1 and be `clone_detected`
/// instead (seen: all 31 on memory, PostgreSQL and Redis, a mix of both codes on SQLite), which
/// tests the stale-counter path rather than the compare-and-swap. webauthn-rs never sees a stale
/// counter here: no clone is audited, nothing is disabled. (`races.rs` runs the same race over
/// real HTTP connections.)
pub async fn concurrent_assertions_with_one_counter_value<B: Backend>() {
    const N: usize = 32;
    let ctx = Ctx::<B>::new().await;
    let racing = actix_passkeys::testing::RacingCredentialStore::new(ctx.creds.clone(), N);
    let passkeys = actix_passkeys::Passkeys::builder(
        config().build().unwrap(),
        racing.clone(),
        ctx.challenges.clone(),
    )
    .clock(ctx.clock.clone())
    .audit(ctx.audit.clone())
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
    let (auth, id) = enrolled(&mut app, "alice").await;
    assert_eq!(racing.arrived(), 0, "registration does not update usage");
    let mut bodies = Vec::new();
    for _ in 0..N {
        let mut copy = auth.duplicate(); // same key, same counter: every copy signs with 1
        bodies.push(app.assertion(&mut copy, Some("alice")).await);
    }
    let resps = actix_rt::time::timeout(
        Duration::from_secs(60),
        app.post_concurrently("/auth/passkeys/authenticate/finish", bodies),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "only {} of {N} sign-ins reached update_usage within 60 s",
            racing.arrived()
        )
    });
    let winners = resps.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(winners, 1, "exactly one success for one counter value");
    for r in resps.iter().filter(|r| r.status != StatusCode::OK) {
        r.assert_error(401, "assertion_verification_failed");
    }
    assert_eq!(
        (racing.arrived(), racing.applied(), racing.refused()),
        (N, 1, N - 1),
        "every sign-in verified; the losers were refused by the compare-and-swap"
    );
    assert_eq!(ctx.audit.count(AuditEventKind::AuthenticationSucceeded), 1);
    assert_eq!(ctx.audit.count(AuditEventKind::AuthenticationFailed), N - 1);
    assert_eq!(ctx.audit.count(AuditEventKind::CloneSuspected), 0);
    let cred = stored(&ctx, &id).await.unwrap();
    assert_eq!(cred.sign_count, 1);
    assert!(!cred.is_disabled());
}

/// Device names are shown to the user in lists; bidi overrides and invisible characters would
/// let an attacker who can name a passkey (or a stolen session) disguise one (`\u{202E}` turns
/// "Laptop\u{202E}lanruoJ" into "LaptopJournal" on screen).
pub async fn device_names_refuse_bidi_and_invisible_characters<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    app.signup("alice").await;
    let bad = [
        "Laptop\u{202E}lanruoJ",
        "a\u{200B}b",
        "\u{FEFF}Phone",
        "x\u{2066}y",
        "soft\u{00AD}hyphen",
        "join\u{2060}er",
    ];
    for name in bad {
        let mut body = app.registration(&mut authenticator(), None).await;
        body["deviceName"] = json!(name);
        app.post("/auth/passkeys/register/finish", body)
            .await
            .assert_error(400, "invalid_request");
    }
    assert!(ctx.creds.list_for_user("alice").await.unwrap().is_empty());
    let id = app
        .register(&mut authenticator(), Some("Phone"))
        .await
        .assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/auth/passkeys/credentials/{id}");
    for name in bad {
        app.method(Method::PATCH, &path, Some(json!({ "deviceName": name })))
            .await
            .assert_error(400, "invalid_request");
    }
    assert_eq!(stored(&ctx, &id).await.unwrap().device_name, "Phone");
    // Scripts that are not Latin are names like any other.
    let r = app
        .method(
            Method::PATCH,
            &path,
            Some(json!({"deviceName": "ноутбук 電話 هاتف"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        stored(&ctx, &id).await.unwrap().device_name,
        "ноутбук 電話 هاتف"
    );
}

/// A default device name from the app's authenticator map is cut to the column's 64 characters
/// (and cleaned of what a user-given name may not hold) instead of failing the insert with 503.
pub async fn long_authenticator_names_are_cut_to_fit<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let aaguid = uuid::uuid!("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6");
    let long = format!("{}\u{202E}{}", "Κλειδί ".repeat(8), "x".repeat(100));
    let passkeys = ctx
        .builder(config().build().unwrap())
        .authenticator_names(HashMap::from([(aaguid, long.clone())]))
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    app.signup("alice").await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap().with_aaguid(aaguid);
    let id = app.register(&mut auth, None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let name = stored(&ctx, &id).await.unwrap().device_name;
    assert_eq!(name.chars().count(), 64, "{name}");
    assert!(long.replace('\u{202E}', "").starts_with(&name));
}

/// The test app under `ResidentKey::Required`.
async fn resident_key_required_app<B: Backend>(
    ctx: &Ctx<B>,
) -> TestApp<
    impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
> {
    let config = config()
        .resident_key(actix_passkeys::policy::ResidentKey::Required)
        .build()
        .unwrap();
    ctx.app_with(ctx.builder(config).build().unwrap()).await
}

/// Resident key `required` with no `credProps` report: the credential registers, recorded as
/// `discoverable: None` (unknown). The options told the client `requireResidentKey: true` and
/// `residentKey: "required"`, and a client that cannot create a discoverable credential fails
/// the ceremony itself (WebAuthn §5.1.3); refusing an absent report would lock out clients that
/// do not implement `credProps`. This pins the documented behaviour of `ResidentKey::Required`.
pub async fn resident_key_required_accepts_an_absent_credprops_report_as_unknown<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = resident_key_required_app(&ctx).await;
    app.signup("alice").await;
    let begin = app.post_empty("/auth/passkeys/register/begin").await;
    assert_eq!(
        begin.assert_ok()["publicKey"]["authenticatorSelection"]["requireResidentKey"],
        true
    );
    let mut body = app.registration(&mut authenticator(), None).await;
    body["credential"]["clientExtensionResults"] = json!({});
    let id = app
        .post("/auth/passkeys/register/finish", body)
        .await
        .assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stored(&ctx, &id).await.unwrap().discoverable, None);
}

/// Resident key `required`: the options say so, and a credential the client reports as not
/// discoverable (`credProps.rk: false`) is refused with 400 `attestation_verification_failed`
/// and not stored (deleting the check fails this test); a discoverable one registers.
pub async fn resident_key_required_refuses_a_non_discoverable_credential<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = resident_key_required_app(&ctx).await;
    app.signup("alice").await;
    let mut body = app.registration(&mut authenticator(), None).await;
    body["credential"]["clientExtensionResults"] = json!({"credProps": {"rk": false}});
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_error(400, "attestation_verification_failed");
    assert!(ctx.creds.list_for_user("alice").await.unwrap().is_empty());
    let begin = app.post_empty("/auth/passkeys/register/begin").await;
    assert_eq!(
        begin.assert_ok()["publicKey"]["authenticatorSelection"]["residentKey"],
        "required"
    );
    let id = app.register(&mut authenticator(), None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stored(&ctx, &id).await.unwrap().discoverable, Some(true));
}
