//! Issue 12, items 7–12: bounded user ids, WebAuthn Level 3 checks (crossOrigin / topOrigin,
//! `id` = base64url(`rawId`), disabled state after the signature) and enumeration parity
//! (same codes, shapes and stable fake ids for unknown users; one user handle per user).
//!
//! The generic cases run on every backend (see the `suite!` list at the end).

use actix_passkeys::{
    store::Credential,
    store::CredentialStore as _,
    testing::{AssertionSpec, SoftAuthenticator},
};
use actix_web::dev::ServiceResponse;
use serde_json::{json, Value};

use crate::fixtures::*;

const FINISH: &str = "/auth/passkeys/authenticate/finish";
const REG_FINISH: &str = "/auth/passkeys/register/finish";

fn authenticator() -> SoftAuthenticator {
    SoftAuthenticator::new(ORIGIN).unwrap()
}

async fn all_credentials<B: Backend>(ctx: &Ctx<B>, users: &[&str]) -> Vec<Credential> {
    let mut all = Vec::new();
    for u in users {
        all.extend(ctx.creds.list_for_user(u).await.unwrap());
    }
    all
}

/// Signs `user` up, registers one passkey, signs out. Returns the authenticator and the id.
async fn enrolled<T, Bd>(app: &mut TestApp<T>, user: &str) -> (SoftAuthenticator, String)
where
    T: actix_web::dev::Service<
        actix_http::Request,
        Response = ServiceResponse<Bd>,
        Error = actix_web::Error,
    >,
    Bd: actix_web::body::MessageBody,
{
    let mut auth = authenticator();
    app.signup(user).await;
    let r = app.register(&mut auth, None).await;
    let id = r.assert_ok()["credentialId"].as_str().unwrap().to_owned();
    app.logout().await;
    (auth, id)
}

/// Breaks an assertion's signature (the DER stays well-formed; the value is wrong).
fn break_signature(credential: &mut Value) {
    let mut sig = unb64(credential["response"]["signature"].as_str().unwrap());
    let last = sig.len() - 1;
    sig[last] ^= 0x01;
    credential["response"]["signature"] = json!(b64(&sig));
}

// ---------------------------------------------------------------------------------------------
// Item 7 (user-id half): user ids are at most 256 bytes.

pub async fn oversized_user_id_is_refused_at_sign_in_begin<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let begin = "/auth/passkeys/authenticate/begin";
    // A 60 KB user id fits the 64 KiB body limit; it must not reach the challenge store.
    app.post(begin, json!({ "userId": "a".repeat(60_000) }))
        .await
        .assert_error(400, "invalid_request");
    // The bound is in bytes: 86 × "€" is 258 bytes.
    app.post(begin, json!({ "userId": "€".repeat(86) }))
        .await
        .assert_error(400, "invalid_request");
    app.post(begin, json!({ "userId": "a".repeat(257) }))
        .await
        .assert_error(400, "invalid_request");
    app.post(begin, json!({ "userId": "a".repeat(256) }))
        .await
        .assert_ok();
}

pub async fn oversized_user_id_from_resolver_is_refused_at_register_begin<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let long = "b".repeat(257);
    app.signup(&long).await;
    app.post_empty("/auth/passkeys/register/begin")
        .await
        .assert_error(400, "invalid_request");
    app.signup(&"b".repeat(256)).await;
    app.post_empty("/auth/passkeys/register/begin")
        .await
        .assert_ok();
}

// ---------------------------------------------------------------------------------------------
// Item 9: `credential.id` must be base64url(`rawId`), and `rawId` the attested credential id.

pub async fn credential_id_must_be_the_raw_id<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;

    // Registration: `id` that is not base64url(rawId).
    let mut auth = authenticator();
    app.signup("alice").await;
    let mut body = app.registration(&mut auth, None).await;
    body["credential"]["id"] = json!(b64(&[7u8; 16]));
    app.post(REG_FINISH, body)
        .await
        .assert_error(400, "invalid_request");
    // Registration: `id` and `rawId` agree with each other but not with the attested id.
    let mut auth = authenticator();
    let mut body = app.registration(&mut auth, None).await;
    let other = json!(b64(&[8u8; 16]));
    body["credential"]["id"] = other.clone();
    body["credential"]["rawId"] = other;
    app.post(REG_FINISH, body)
        .await
        .assert_error(400, "invalid_request");
    assert!(all_credentials(&ctx, &["alice"]).await.is_empty());
    assert!(ctx.creds.get(&[8u8; 16]).await.unwrap().is_none());
    app.logout().await;

    // Sign-in: `id` that is not base64url(rawId).
    let (mut auth, id) = enrolled(&mut app, "bob").await;
    let before = all_credentials(&ctx, &["bob"]).await;
    let mut body = app.assertion(&mut auth, None).await;
    body["credential"]["id"] = json!(b64(&[9u8; 16]));
    app.post(FINISH, body)
        .await
        .assert_error(400, "invalid_request");
    let mut body = app.assertion(&mut auth, Some("bob")).await;
    body["credential"]["id"] = json!(format!("{id}="));
    app.post(FINISH, body)
        .await
        .assert_error(400, "invalid_request");
    assert_eq!(all_credentials(&ctx, &["bob"]).await, before);
    app.get("/me").await.assert_error(401, "not_authenticated");
    // Positive control.
    app.sign_in(&mut auth, None).await.assert_ok();
}

// ---------------------------------------------------------------------------------------------
// Item 10: the disabled state is checked only after the signature verifies.

pub async fn disabled_state_is_revealed_only_to_a_valid_signature<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (mut auth, id) = enrolled(&mut app, "carol").await;
    assert!(ctx
        .creds
        .disable(&unb64(&id), ctx.clock_now(), "admin")
        .await
        .unwrap());
    let before = all_credentials(&ctx, &["carol"]).await;
    // Username-first begin offers no disabled credential (here: fakes), so the assertion for it
    // is made against the real id, as a client holding the key can.
    let mut assertion = async |user: Option<&str>| {
        let begin = app.auth_begin(user).await;
        let mut pk = begin["publicKey"].clone();
        pk["allowCredentials"] = json!([{"type": "public-key", "id": id}]);
        let credential = auth.sign_in(&pk).await.unwrap();
        json!({ "credential": credential, "state": begin["state"] })
    };
    let mut bodies = Vec::new();
    for user in [None, Some("carol"), None, Some("carol")] {
        bodies.push(assertion(user).await);
    }
    // Without the key (a broken signature): the bad-signature answer.
    for mut body in bodies.drain(..2) {
        break_signature(&mut body["credential"]);
        app.post(FINISH, body)
            .await
            .assert_error(401, "assertion_verification_failed");
    }
    // With the key: now it may learn that the credential is disabled.
    for body in bodies {
        app.post(FINISH, body)
            .await
            .assert_error(401, "credential_disabled");
    }
    assert_eq!(all_credentials(&ctx, &["carol"]).await, before);
    app.get("/me").await.assert_error(401, "not_authenticated");
}

// ---------------------------------------------------------------------------------------------
// Item 11 (a): username-first, a bad signature on a fake id answers like one on a real id.

pub async fn bad_signature_on_fake_id_answers_like_on_real_id<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (alice, _) = enrolled(&mut app, "alice").await;
    let before = all_credentials(&ctx, &["alice"]).await;
    // What an attacker without the key sends for a user id: the first allowCredentials id, a
    // well-formed but wrong signature.
    let attempt = |begin: &Value| {
        let spec = AssertionSpec::new(
            "localhost",
            ORIGIN,
            begin["publicKey"]["challenge"].as_str().unwrap(),
        );
        let mut credential = alice.forge_assertion(&spec).unwrap();
        let id = begin["publicKey"]["allowCredentials"][0]["id"].clone();
        credential["id"] = id.clone();
        credential["rawId"] = id;
        break_signature(&mut credential);
        json!({ "credential": credential, "state": begin["state"] })
    };
    let real = app.auth_begin(Some("alice")).await;
    let real = app.post(FINISH, attempt(&real)).await;
    let fake = app.auth_begin(Some("mallory")).await;
    let fake = app.post(FINISH, attempt(&fake)).await;
    real.assert_error(401, "assertion_verification_failed");
    fake.assert_error(401, "assertion_verification_failed");
    assert_eq!(real.body, fake.body);
    assert_eq!(
        real.headers.get(actix_passkeys::wire::SIGNAL_HEADER),
        fake.headers.get(actix_passkeys::wire::SIGNAL_HEADER)
    );
    assert_eq!(all_credentials(&ctx, &["alice"]).await, before);
}

// ---------------------------------------------------------------------------------------------
// Item 8: `crossOrigin: true` only from a configured top origin.

const SHOP: &str = "https://shop.example.net";

pub async fn cross_origin_sign_in_is_refused_without_top_origins<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let (auth, _) = enrolled(&mut app, "alice").await;
    let before = all_credentials(&ctx, &["alice"]).await;
    for top in [Some(SHOP), Some(ORIGIN), None] {
        let mut framed = auth.duplicate().in_cross_origin_frame(top);
        for user in [None, Some("alice")] {
            app.sign_in(&mut framed, user)
                .await
                .assert_error(401, "assertion_verification_failed");
        }
    }
    assert_eq!(all_credentials(&ctx, &["alice"]).await, before);
    app.get("/me").await.assert_error(401, "not_authenticated");
}

pub async fn cross_origin_sign_in_needs_a_configured_top_origin<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let passkeys = ctx
        .builder(config().top_origin(SHOP).build().unwrap())
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    let (auth, _) = enrolled(&mut app, "alice").await;
    let before = all_credentials(&ctx, &["alice"]).await;
    for top in [
        Some("https://evil.example.net"),
        Some("https://shop.example.net:444"),
        None,
    ] {
        let mut framed = auth.duplicate().in_cross_origin_frame(top);
        app.sign_in(&mut framed, None)
            .await
            .assert_error(401, "assertion_verification_failed");
    }
    assert_eq!(all_credentials(&ctx, &["alice"]).await, before);
    // A hand-made assertion claiming `crossOrigin: true` without a top origin is refused too.
    let begin = app.auth_begin(Some("alice")).await;
    let mut spec = AssertionSpec::new(
        "localhost",
        ORIGIN,
        begin["publicKey"]["challenge"].as_str().unwrap(),
    );
    spec.cross_origin = true;
    let credential = auth.forge_assertion(&spec).unwrap();
    app.post(
        FINISH,
        json!({"credential": credential, "state": begin["state"]}),
    )
    .await
    .assert_error(401, "assertion_verification_failed");
    // From the configured top origin: accepted, on both sign-in kinds.
    let mut framed = auth.duplicate().in_cross_origin_frame(Some(SHOP));
    let r = app.sign_in(&mut framed, None).await;
    assert_eq!(r.assert_ok()["userId"], "alice");
    app.logout().await;
    let r = app.sign_in(&mut framed, Some("alice")).await;
    assert_eq!(r.assert_ok()["userId"], "alice");
}

pub async fn cross_origin_registration_is_refused<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    for top_origins in [vec![], vec![SHOP]] {
        let mut builder = config();
        for t in &top_origins {
            builder = builder.top_origin(*t);
        }
        let passkeys = ctx.builder(builder.build().unwrap()).build().unwrap();
        let mut app = ctx.app_with(passkeys).await;
        app.signup("dave").await;
        for top in [Some(SHOP), None] {
            let mut framed = authenticator().in_cross_origin_frame(top);
            app.register(&mut framed, None)
                .await
                .assert_error(400, "attestation_verification_failed");
        }
        // The same, edited into an ordinary response (attestation `none` is unsigned).
        let mut body = app.registration(&mut authenticator(), None).await;
        edit_client_data(&mut body["credential"], |cd| {
            cd["crossOrigin"] = json!(true);
            cd["topOrigin"] = json!(SHOP);
        });
        app.post(REG_FINISH, body)
            .await
            .assert_error(400, "attestation_verification_failed");
        assert!(all_credentials(&ctx, &["dave"]).await.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Item 11 (b, c): fake entries carry realistic transports, and are stable per server secret.

const SECRET_A: &[u8] = b"server secret A, 32 bytes long..";
const SECRET_B: &[u8] = b"server secret B, 32 bytes long..";

fn allow_list(begin: &Value) -> Vec<(Value, Value)> {
    begin["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].clone(), c["transports"].clone()))
        .collect()
}

pub async fn unknown_users_get_the_same_fakes_from_every_instance_with_the_secret<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let instance = |secret: &'static [u8]| {
        ctx.builder(config().build().unwrap())
            .server_secret(secret)
            .build()
            .unwrap()
    };
    // Two instances (or one before and after a restart) with one secret, one with another.
    let mut a1 = ctx.app_with(instance(SECRET_A)).await;
    let mut a2 = ctx.app_with(instance(SECRET_A)).await;
    let mut b = ctx.app_with(instance(SECRET_B)).await;
    let realistic: Vec<Value> = vec![
        json!(["hybrid", "internal"]),
        json!(["internal"]),
        json!(["nfc", "usb"]),
        json!(["usb"]),
        json!(["hybrid"]),
        json!(["ble", "nfc", "usb"]),
        // No `transports` member: real entries of clients without `getTransports()`.
        Value::Null,
    ];
    let mut seen = std::collections::HashSet::new();
    for i in 0..40 {
        let user = format!("nobody-{i}");
        let from_a1 = allow_list(&a1.auth_begin(Some(&user)).await);
        let from_a2 = allow_list(&a2.auth_begin(Some(&user)).await);
        let from_b = allow_list(&b.auth_begin(Some(&user)).await);
        assert!(!from_a1.is_empty());
        assert_eq!(
            from_a1, from_a2,
            "{user}: same secret, same ids and transports"
        );
        let ids = |l: &[(Value, Value)]| l.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
        assert_ne!(
            ids(&from_a1),
            ids(&from_b),
            "{user}: another secret, other ids"
        );
        for (_, transports) in from_a1 {
            assert!(realistic.contains(&transports), "{transports}");
            seen.insert(transports.to_string());
        }
    }
    assert!(seen.len() >= 3, "fake transports vary: {seen:?}");
}

// ---------------------------------------------------------------------------------------------
// Item 12: one user handle per user, also before the first passkey.

pub async fn concurrent_first_registrations_share_one_user_handle<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    app.signup("erin").await;
    let begins = app
        .post_concurrently("/auth/passkeys/register/begin", vec![json!({}), json!({})])
        .await;
    let handle = |r: &Resp| {
        r.body["publicKey"]["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (h1, h2) = (handle(&begins[0]), handle(&begins[1]));
    assert_eq!(h1, h2, "two tabs, one handle");
    let raw = unb64(&h1);
    assert_eq!(raw.len(), 32);
    assert_ne!(raw, b"erin".to_vec(), "never the raw user id");
    // Both finish; both credentials carry that handle; both sign in usernameless.
    let mut keys = [authenticator(), authenticator()];
    for (auth, begin) in keys.iter_mut().zip(&begins) {
        let credential = auth.register(&begin.body["publicKey"]).await.unwrap();
        app.post(
            REG_FINISH,
            json!({"credential": credential, "state": begin.body["state"]}),
        )
        .await
        .assert_ok();
    }
    let stored = all_credentials(&ctx, &["erin"]).await;
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|c| c.user_handle == raw));
    app.logout().await;
    for auth in &mut keys {
        let r = app.sign_in(auth, None).await;
        assert_eq!(r.assert_ok()["userId"], "erin");
        app.logout().await;
    }
    // Another instance with the same secret derives the same handle for a new user; another
    // secret derives another.
    let instance = |secret: &'static [u8]| {
        ctx.builder(config().build().unwrap())
            .server_secret(secret)
            .build()
            .unwrap()
    };
    let mut handles = Vec::new();
    for secret in [SECRET_A, SECRET_A, SECRET_B] {
        let mut other = ctx.app_with(instance(secret)).await;
        other.signup("frank").await;
        let r = other.post_empty("/auth/passkeys/register/begin").await;
        handles.push(handle(&r));
    }
    assert_eq!(handles[0], handles[1]);
    assert_ne!(handles[0], handles[2]);
}

/// Instantiates the generic cases of this module for one backend.
macro_rules! suite {
    ($backend:ty; $($case:ident),* $(,)?) => {
        $(
            #[actix_rt::test]
            async fn $case() {
                super::super::$case::<$backend>().await
            }
        )*
    };
}

macro_rules! webauthn_suite {
    ($backend:ty) => {
        suite!($backend;
            oversized_user_id_is_refused_at_sign_in_begin,
            oversized_user_id_from_resolver_is_refused_at_register_begin,
            credential_id_must_be_the_raw_id,
            disabled_state_is_revealed_only_to_a_valid_signature,
            bad_signature_on_fake_id_answers_like_on_real_id,
            cross_origin_sign_in_is_refused_without_top_origins,
            cross_origin_sign_in_needs_a_configured_top_origin,
            cross_origin_registration_is_refused,
            unknown_users_get_the_same_fakes_from_every_instance_with_the_secret,
            concurrent_first_registrations_share_one_user_handle,
        );
    };
}

mod backends {
    mod memory {
        webauthn_suite!(crate::fixtures::Memory);
    }
    #[cfg(feature = "sqlite")]
    mod sqlite {
        webauthn_suite!(crate::fixtures::Sqlite);
    }
    #[cfg(feature = "postgres")]
    mod postgres {
        webauthn_suite!(crate::fixtures::Postgres);
    }
    #[cfg(feature = "redis")]
    mod redis {
        webauthn_suite!(crate::fixtures::Redis);
    }
}
