//! The hardening matrix: every way a ceremony can be wrong, each with its expected status and
//! code, never a 5xx, and after every failure the stored credentials are unchanged.
//!
//! Registration responses with attestation format `none` are not signed, so their client data
//! and authenticator data can be edited freely. Assertions are signed: the cases that change
//! flags, counter, origin or type are re-signed with the authenticator's own key
//! (`SoftAuthenticator::forge_assertion`), so each case exercises exactly one rule.

use actix_passkeys::{
    policy::SignCountPolicy,
    store::Credential,
    store::CredentialStore as _,
    testing::{AssertionSpec, SoftAuthenticator},
};
use actix_web::{http::Method, test as atest};
use serde_cbor_2::Value as Cbor;
use serde_json::{json, Value};

use crate::fixtures::*;

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;

/// Counts cases and checks the invariants shared by all of them.
struct Matrix {
    cases: usize,
}

impl Matrix {
    #[track_caller]
    fn check(&mut self, name: &str, r: &Resp, status: u16, code: &str) {
        self.cases += 1;
        assert!(
            !r.status.is_server_error(),
            "{name}: 5xx {}",
            String::from_utf8_lossy(&r.raw)
        );
        assert_eq!(
            (
                r.status.as_u16(),
                r.body["error"]["code"].as_str().unwrap_or("<none>")
            ),
            (status, code),
            "{name}: {}",
            String::from_utf8_lossy(&r.raw)
        );
        assert_eq!(
            r.body["error"].as_object().map(|o| o.len()),
            Some(2),
            "{name}: envelope"
        );
    }
}

async fn snapshot(ctx: &Ctx<Memory>) -> Vec<Credential> {
    let mut all = ctx.creds.list_for_user("alice").await.unwrap();
    all.extend(ctx.creds.list_for_user("bob").await.unwrap());
    all
}

fn cbor_map(bytes: &[u8]) -> std::collections::BTreeMap<Cbor, Cbor> {
    match serde_cbor_2::from_slice(bytes).unwrap() {
        Cbor::Map(m) => m,
        other => panic!("not a map: {other:?}"),
    }
}

fn edit_attestation(
    credential: &mut Value,
    f: impl FnOnce(&mut std::collections::BTreeMap<Cbor, Cbor>),
) {
    let raw = unb64(
        credential["response"]["attestationObject"]
            .as_str()
            .unwrap(),
    );
    let mut map = cbor_map(&raw);
    f(&mut map);
    let bytes = serde_cbor_2::to_vec(&Cbor::Map(map)).unwrap();
    credential["response"]["attestationObject"] = json!(b64(&bytes));
}

fn edit_auth_data(credential: &mut Value, f: impl FnOnce(&mut Vec<u8>)) {
    edit_attestation(credential, |map| {
        if let Some(Cbor::Bytes(ad)) = map.get_mut(&Cbor::Text("authData".into())) {
            f(ad);
        }
    });
}

/// Rewrites the COSE `alg` of the attested credential public key.
fn set_cose_alg(ad: &mut Vec<u8>, alg: i128) {
    let cred_len = u16::from_be_bytes([ad[53], ad[54]]) as usize;
    let start = 55 + cred_len;
    let mut key = cbor_map(&ad[start..]);
    key.insert(Cbor::Integer(3), Cbor::Integer(alg));
    ad.truncate(start);
    ad.extend(serde_cbor_2::to_vec(&Cbor::Map(key)).unwrap());
}

#[actix_rt::test]
async fn registration_matrix() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    let mut m = Matrix { cases: 0 };
    let mut alice = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("alice").await;
    let first = app.registration(&mut alice, None).await;
    app.post("/auth/passkeys/register/finish", first.clone())
        .await
        .assert_ok();
    // The cases register more passkeys for alice: that needs her passkey sign-in.
    app.sign_in(&mut alice, None).await.assert_ok();
    let before = snapshot(&ctx).await;
    let finish = "/auth/passkeys/register/finish";

    // One fresh registration body per case, edited.
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit, u16, &str)> = vec![
        (
            "wrong origin",
            Box::new(|b| {
                edit_client_data(&mut b["credential"], |cd| {
                    cd["origin"] = json!("http://evil.test:8080")
                })
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "origin differs by port",
            Box::new(|b| {
                edit_client_data(&mut b["credential"], |cd| {
                    cd["origin"] = json!("http://localhost:8081")
                })
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "origin differs by scheme",
            Box::new(|b| {
                edit_client_data(&mut b["credential"], |cd| {
                    cd["origin"] = json!("https://localhost:8080")
                })
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "origin with trailing dot",
            Box::new(|b| {
                edit_client_data(&mut b["credential"], |cd| {
                    cd["origin"] = json!("http://localhost.:8080")
                })
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "subdomain while subdomains are off",
            Box::new(|b| {
                edit_client_data(&mut b["credential"], |cd| {
                    cd["origin"] = json!("http://sub.localhost:8080")
                })
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "origin with a path",
            Box::new(|b| {
                edit_client_data(&mut b["credential"], |cd| {
                    cd["origin"] = json!("http://localhost:8080/x")
                })
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "cross-origin iframe",
            Box::new(|b| {
                edit_client_data(&mut b["credential"], |cd| cd["crossOrigin"] = json!(true))
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "client data type swapped",
            Box::new(|b| {
                edit_client_data(&mut b["credential"], |cd| {
                    cd["type"] = json!("webauthn.get")
                })
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "challenge altered",
            Box::new(|b| {
                edit_client_data(&mut b["credential"], |cd| {
                    cd["challenge"] = json!(b64(&[7u8; 32]))
                })
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "client data not JSON",
            Box::new(|b| b["credential"]["response"]["clientDataJSON"] = json!(b64(b"not json"))),
            400,
            "attestation_verification_failed",
        ),
        (
            "wrong rpIdHash",
            Box::new(|b| edit_auth_data(&mut b["credential"], |ad| ad[0] ^= 0xff)),
            400,
            "attestation_verification_failed",
        ),
        (
            "UP=0",
            Box::new(|b| edit_auth_data(&mut b["credential"], |ad| ad[32] &= !UP)),
            400,
            "attestation_verification_failed",
        ),
        (
            "UV=0 under required",
            Box::new(|b| edit_auth_data(&mut b["credential"], |ad| ad[32] &= !UV)),
            400,
            "attestation_verification_failed",
        ),
        (
            "BS=1 with BE=0",
            Box::new(|b| edit_auth_data(&mut b["credential"], |ad| ad[32] = (ad[32] & !BE) | BS)),
            400,
            "attestation_verification_failed",
        ),
        (
            "unsupported COSE algorithm",
            Box::new(|b| edit_auth_data(&mut b["credential"], |ad| set_cose_alg(ad, -65535))),
            400,
            "attestation_verification_failed",
        ),
        (
            "unsupported attestation fmt",
            Box::new(|b| {
                edit_attestation(&mut b["credential"], |m| {
                    m.insert(Cbor::Text("fmt".into()), Cbor::Text("made-up".into()));
                })
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "packed fmt without a signature",
            Box::new(|b| {
                edit_attestation(&mut b["credential"], |m| {
                    m.insert(Cbor::Text("fmt".into()), Cbor::Text("packed".into()));
                })
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "attestation without authData",
            Box::new(|b| {
                edit_attestation(&mut b["credential"], |m| {
                    m.remove(&Cbor::Text("authData".into()));
                })
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "truncated CBOR attestation",
            Box::new(|b| {
                let mut raw = unb64(
                    b["credential"]["response"]["attestationObject"]
                        .as_str()
                        .unwrap(),
                );
                raw.truncate(raw.len() / 2);
                b["credential"]["response"]["attestationObject"] = json!(b64(&raw));
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "trailing garbage after CBOR",
            Box::new(|b| {
                let mut raw = unb64(
                    b["credential"]["response"]["attestationObject"]
                        .as_str()
                        .unwrap(),
                );
                raw.extend_from_slice(&[0xff, 0x00, 0x13]);
                b["credential"]["response"]["attestationObject"] = json!(b64(&raw));
            }),
            400,
            "attestation_verification_failed",
        ),
        (
            "truncated authData",
            Box::new(|b| edit_auth_data(&mut b["credential"], |ad| ad.truncate(40))),
            400,
            "attestation_verification_failed",
        ),
        (
            "rawId is not base64url",
            Box::new(|b| b["credential"]["rawId"] = json!("a+b/c==")),
            400,
            "invalid_request",
        ),
        (
            "attestationObject is invalid base64url",
            Box::new(|b| b["credential"]["response"]["attestationObject"] = json!("!!!")),
            400,
            "invalid_request",
        ),
        (
            "credential is a string",
            Box::new(|b| b["credential"] = json!("nope")),
            400,
            "invalid_request",
        ),
        (
            "response missing",
            Box::new(|b| {
                b["credential"].as_object_mut().unwrap().remove("response");
            }),
            400,
            "invalid_request",
        ),
        (
            "state missing",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("state");
            }),
            400,
            "invalid_request",
        ),
        (
            "state is a number",
            Box::new(|b| b["state"] = json!(42)),
            400,
            "invalid_request",
        ),
        (
            "state unknown",
            Box::new(|b| b["state"] = json!(b64(&[1u8; 32]))),
            400,
            "challenge_not_found",
        ),
        (
            "deviceName too long",
            Box::new(|b| b["deviceName"] = json!("n".repeat(65))),
            400,
            "invalid_request",
        ),
        (
            "deviceName with control characters",
            Box::new(|b| b["deviceName"] = json!("a\u{0}b")),
            400,
            "invalid_request",
        ),
        (
            "deviceName not a string",
            Box::new(|b| b["deviceName"] = json!(["x"])),
            400,
            "invalid_request",
        ),
    ];
    for (name, edit, status, code) in cases {
        let mut body = app
            .registration(&mut SoftAuthenticator::new(ORIGIN).unwrap(), None)
            .await;
        edit(&mut body);
        let r = app.post(finish, body).await;
        m.check(name, &r, status, code);
        assert_eq!(snapshot(&ctx).await, before, "{name}: store changed");
    }

    // Challenge of another state: answer state 1's challenge under state 2.
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    let one = app.registration(&mut auth, None).await;
    let two = app.post_empty("/auth/passkeys/register/begin").await.body["state"].clone();
    let r = app
        .post(
            finish,
            json!({"credential": one["credential"], "state": two}),
        )
        .await;
    m.check(
        "challenge from another state",
        &r,
        400,
        "attestation_verification_failed",
    );

    // Replayed, expired, other ceremony.
    let body = app
        .registration(&mut SoftAuthenticator::new(ORIGIN).unwrap(), None)
        .await;
    let r = app
        .post(finish, json!({"credential": {}, "state": body["state"]}))
        .await;
    m.check("body invalid, state kept", &r, 400, "invalid_request");
    let ok = app.post(finish, body.clone()).await;
    ok.assert_ok();
    let before = snapshot(&ctx).await;
    m.check(
        "replayed state",
        &app.post(finish, body).await,
        400,
        "challenge_not_found",
    );
    let body = app
        .registration(&mut SoftAuthenticator::new(ORIGIN).unwrap(), None)
        .await;
    ctx.clock.advance(std::time::Duration::from_secs(301));
    m.check(
        "expired state",
        &app.post(finish, body).await,
        400,
        "challenge_expired",
    );
    let mut body = app
        .registration(&mut SoftAuthenticator::new(ORIGIN).unwrap(), None)
        .await;
    body["state"] = app.auth_begin(None).await["state"].clone();
    m.check(
        "state of the other ceremony",
        &app.post(finish, body).await,
        400,
        "challenge_not_found",
    );

    // Duplicate credential ids: the same and another user.
    for user in ["alice", "bob"] {
        app.signup(user).await;
        let begin = app.post_empty("/auth/passkeys/register/begin").await;
        let forged = forge_registration(
            &first["credential"],
            begin.body["publicKey"]["challenge"].as_str().unwrap(),
        );
        let r = app
            .post(
                finish,
                json!({"credential": forged, "state": begin.body["state"]}),
            )
            .await;
        m.check(
            &format!("duplicate credential id ({user})"),
            &r,
            409,
            "credential_already_exists",
        );
    }
    assert_eq!(snapshot(&ctx).await, before, "store changed");
    // Back to alice's passkey sign-in (identifying bob above ended it); it moves her counter.
    app.sign_in(&mut alice, None).await.assert_ok();
    let before = snapshot(&ctx).await;

    // A state from another rp config (sharing the challenge store) does not verify here.
    let other = ctx
        .builder(
            actix_passkeys::PasskeyConfig::builder("example.com", "Other")
                .origin("https://example.com")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut other_app = ctx.app_with(other).await;
    // A user without passkeys (an identified alice may no longer add a second one).
    other_app.signup("carol").await;
    let begin = other_app.post_empty("/auth/passkeys/register/begin").await;
    let mut foreign = SoftAuthenticator::new("https://example.com").unwrap();
    let credential = foreign.register(&begin.body["publicKey"]).await.unwrap();
    let r = app
        .post(
            finish,
            json!({"credential": credential, "state": begin.body["state"]}),
        )
        .await;
    // The record names the other tenant's rp id: not found here (before any verification).
    m.check(
        "state from another rp config",
        &r,
        400,
        "challenge_not_found",
    );
    assert_eq!(snapshot(&ctx).await, before, "store changed");

    // Subdomains on: a dot-bounded subdomain passes, a look-alike does not.
    let subs = ctx
        .builder(
            actix_passkeys::PasskeyConfig::builder("example.com", "Subs")
                .origin("https://example.com")
                .allow_subdomains(true)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut subs_app = ctx.app_with(subs).await;
    subs_app.signup("erin").await;
    for (origin, ok) in [
        ("https://evil-example.com", false),
        ("https://example.com.evil.org", false),
        ("https://login.example.com", true),
    ] {
        let begin = subs_app.post_empty("/auth/passkeys/register/begin").await;
        let mut auth = SoftAuthenticator::new("https://example.com").unwrap();
        let mut credential = auth.register(&begin.body["publicKey"]).await.unwrap();
        edit_client_data(&mut credential, |cd| cd["origin"] = json!(origin));
        let r = subs_app
            .post(
                finish,
                json!({"credential": credential, "state": begin.body["state"]}),
            )
            .await;
        if ok {
            r.assert_ok();
        } else {
            m.check(
                &format!("subdomains on: {origin}"),
                &r,
                400,
                "attestation_verification_failed",
            );
        }
    }

    assert!(m.cases >= 40, "{} registration cases", m.cases);
}

#[actix_rt::test]
async fn authentication_matrix() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    let mut m = Matrix { cases: 0 };
    let mut alice = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("alice").await;
    let alice_id = app.register(&mut alice, None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bob = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("bob").await;
    app.register(&mut bob, None).await.assert_ok();
    app.logout().await;
    let handle = alice.user_handle().unwrap();
    let bob_handle = bob.user_handle().unwrap();
    let finish = "/auth/passkeys/authenticate/finish";

    // Positive control: a hand-signed assertion with the right fields signs in (counter 1).
    let begin = app.auth_begin(None).await;
    let mut spec = AssertionSpec::new(
        "localhost",
        ORIGIN,
        begin["publicKey"]["challenge"].as_str().unwrap(),
    );
    spec.user_handle = Some(handle.clone());
    let good = alice.forge_assertion(&spec).unwrap();
    app.post(finish, json!({"credential": good, "state": begin["state"]}))
        .await
        .assert_ok();
    app.logout().await;
    let before = snapshot(&ctx).await;

    type Edit = Box<dyn FnOnce(&mut AssertionSpec)>;
    let signed: Vec<(&str, Edit, u16, &str)> = vec![
        (
            "wrong origin",
            Box::new(|s| s.origin = "http://evil.test:8080".into()),
            401,
            "assertion_verification_failed",
        ),
        (
            "origin differs by port",
            Box::new(|s| s.origin = "http://localhost:8081".into()),
            401,
            "assertion_verification_failed",
        ),
        (
            "origin differs by scheme",
            Box::new(|s| s.origin = "https://localhost:8080".into()),
            401,
            "assertion_verification_failed",
        ),
        (
            "origin with trailing dot",
            Box::new(|s| s.origin = "http://localhost.:8080".into()),
            401,
            "assertion_verification_failed",
        ),
        (
            "subdomain while subdomains are off",
            Box::new(|s| s.origin = "http://sub.localhost:8080".into()),
            401,
            "assertion_verification_failed",
        ),
        (
            "wrong rpIdHash",
            Box::new(|s| s.rp_id = "example.com".into()),
            401,
            "assertion_verification_failed",
        ),
        (
            "client data type swapped",
            Box::new(|s| s.type_ = "webauthn.create".into()),
            401,
            "assertion_verification_failed",
        ),
        (
            "challenge altered",
            Box::new(|s| s.challenge = b64(&[9u8; 32])),
            401,
            "assertion_verification_failed",
        ),
        (
            "UP=0",
            Box::new(|s| s.flags &= !UP),
            401,
            "assertion_verification_failed",
        ),
        (
            "UV=0 under required",
            Box::new(|s| s.flags &= !UV),
            401,
            "assertion_verification_failed",
        ),
        (
            "BE 1 to 0",
            Box::new(|s| s.flags &= !(BE | BS)),
            401,
            "assertion_verification_failed",
        ),
        (
            "BS=1 with BE=0",
            Box::new(|s| s.flags = (s.flags & !BE) | BS),
            401,
            "assertion_verification_failed",
        ),
        (
            "counter regression",
            Box::new(|s| s.counter = 0),
            401,
            "clone_detected",
        ),
        (
            "counter equal (non-zero)",
            Box::new(|s| s.counter = 1),
            401,
            "clone_detected",
        ),
        (
            "userHandle missing (usernameless)",
            Box::new(|s| s.user_handle = None),
            401,
            "assertion_verification_failed",
        ),
        (
            "userHandle altered",
            Box::new(|s| s.user_handle = Some(b"altered".to_vec())),
            401,
            "assertion_verification_failed",
        ),
    ];
    for (name, edit, status, code) in signed {
        let begin = app.auth_begin(None).await;
        let mut spec = AssertionSpec::new(
            "localhost",
            ORIGIN,
            begin["publicKey"]["challenge"].as_str().unwrap(),
        );
        spec.user_handle = Some(handle.clone());
        spec.counter = 2;
        edit(&mut spec);
        let credential = alice.forge_assertion(&spec).unwrap();
        let r = app
            .post(
                finish,
                json!({"credential": credential, "state": begin["state"]}),
            )
            .await;
        m.check(name, &r, status, code);
        assert_eq!(snapshot(&ctx).await, before, "{name}: store changed");
        app.get("/me").await.assert_error(401, "not_authenticated");
    }
    let spec_for = |begin: &Value| {
        let mut s = AssertionSpec::new(
            "localhost",
            ORIGIN,
            begin["publicKey"]["challenge"].as_str().unwrap(),
        );
        s.user_handle = Some(handle.clone());
        s.counter = 2;
        s
    };
    // Another user's handle on alice's credential.
    let begin = app.auth_begin(None).await;
    let mut spec = spec_for(&begin);
    spec.user_handle = Some(bob_handle.clone());
    let r = app
        .post(
            finish,
            json!({"credential": alice.forge_assertion(&spec).unwrap(), "state": begin["state"]}),
        )
        .await;
    m.check(
        "userHandle of another user",
        &r,
        401,
        "assertion_verification_failed",
    );

    // Body-level edits of an otherwise good assertion.
    type BodyEdit = Box<dyn FnOnce(&mut Value)>;
    let bodies: Vec<(&str, BodyEdit, u16, &str)> = vec![
        (
            "signature garbage",
            Box::new(|b| {
                b["credential"]["response"]["signature"] =
                    json!(b64(&[0x30, 0x06, 1, 2, 3, 4, 5, 6]))
            }),
            401,
            "assertion_verification_failed",
        ),
        (
            "signature empty",
            Box::new(|b| b["credential"]["response"]["signature"] = json!("")),
            401,
            "assertion_verification_failed",
        ),
        (
            "authenticatorData truncated",
            Box::new(|b| b["credential"]["response"]["authenticatorData"] = json!(b64(&[0u8; 10]))),
            401,
            "assertion_verification_failed",
        ),
        (
            "unknown credential id",
            Box::new(|b| {
                let id = json!(b64(&[5u8; 16]));
                b["credential"]["id"] = id.clone();
                b["credential"]["rawId"] = id;
            }),
            401,
            "credential_not_found",
        ),
        (
            "rawId is not base64url",
            Box::new(|b| b["credential"]["rawId"] = json!("+/+/")),
            400,
            "invalid_request",
        ),
        (
            "signature invalid base64url",
            Box::new(|b| b["credential"]["response"]["signature"] = json!("%%%")),
            400,
            "invalid_request",
        ),
        (
            "wrong JSON type for response",
            Box::new(|b| b["credential"]["response"] = json!([1, 2])),
            400,
            "invalid_request",
        ),
        (
            "state unknown",
            Box::new(|b| b["state"] = json!("AAAA")),
            400,
            "challenge_not_found",
        ),
        (
            "state too long",
            Box::new(|b| b["state"] = json!("A".repeat(500))),
            400,
            "challenge_not_found",
        ),
        (
            "state empty",
            Box::new(|b| b["state"] = json!("")),
            400,
            "challenge_not_found",
        ),
    ];
    for (name, edit, status, code) in bodies {
        let begin = app.auth_begin(None).await;
        let mut body = json!({"credential": alice.forge_assertion(&spec_for(&begin)).unwrap(), "state": begin["state"]});
        edit(&mut body);
        let r = app.post(finish, body).await;
        m.check(name, &r, status, code);
        assert_eq!(snapshot(&ctx).await, before, "{name}: store changed");
    }

    // State-level cases.
    let begin = app.auth_begin(None).await;
    let body = json!({"credential": alice.forge_assertion(&spec_for(&begin)).unwrap(), "state": begin["state"]});
    let other = app.auth_begin(None).await;
    let r = app
        .post(
            finish,
            json!({"credential": body["credential"], "state": other["state"]}),
        )
        .await;
    m.check(
        "challenge from another state",
        &r,
        401,
        "assertion_verification_failed",
    );
    let begin = app.auth_begin(None).await;
    let body = json!({"credential": alice.forge_assertion(&spec_for(&begin)).unwrap(), "state": begin["state"]});
    ctx.clock.advance(std::time::Duration::from_secs(400));
    m.check(
        "expired state",
        &app.post(finish, body.clone()).await,
        400,
        "challenge_expired",
    );
    m.check(
        "replayed state",
        &app.post(finish, body).await,
        400,
        "challenge_not_found",
    );
    // Any registration state will do: one of a new user (alice has a passkey already).
    app.signup("carol").await;
    let reg_state = app.post_empty("/auth/passkeys/register/begin").await.body["state"].clone();
    let begin = app.auth_begin(None).await;
    let r = app.post(finish, json!({"credential": alice.forge_assertion(&spec_for(&begin)).unwrap(), "state": reg_state})).await;
    m.check(
        "state of the other ceremony",
        &r,
        400,
        "challenge_not_found",
    );
    app.logout().await;

    // Username-first with another user's credential.
    let begin = app.auth_begin(Some("bob")).await;
    let r = app.post(finish, json!({"credential": alice.forge_assertion(&spec_for(&begin)).unwrap(), "state": begin["state"]})).await;
    m.check(
        "credential of another user (username-first)",
        &r,
        401,
        "assertion_verification_failed",
    );
    // Unknown user (fake ids) with a real credential.
    let begin = app.auth_begin(Some("nobody")).await;
    let r = app.post(finish, json!({"credential": alice.forge_assertion(&spec_for(&begin)).unwrap(), "state": begin["state"]})).await;
    m.check(
        "credential for an unknown user",
        &r,
        401,
        "assertion_verification_failed",
    );

    // A state from another rp config sharing the challenge store.
    let other = ctx
        .builder(
            actix_passkeys::PasskeyConfig::builder("example.com", "Other")
                .origin("https://example.com")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut other_app = ctx.app_with(other).await;
    let begin = other_app.auth_begin(None).await;
    let mut spec = AssertionSpec::new(
        "example.com",
        "https://example.com",
        begin["publicKey"]["challenge"].as_str().unwrap(),
    );
    spec.user_handle = Some(handle.clone());
    spec.counter = 2;
    let r = app
        .post(
            finish,
            json!({"credential": alice.forge_assertion(&spec).unwrap(), "state": begin["state"]}),
        )
        .await;
    // The record names the other tenant's rp id: not found here (before any verification).
    m.check(
        "state from another rp config",
        &r,
        400,
        "challenge_not_found",
    );
    assert_eq!(snapshot(&ctx).await, before, "store changed");

    // Disabled credential (sign-count policy `disable`, after a clone).
    let ctx2 = Ctx::<Memory>::new().await;
    let config = config()
        .sign_count_policy(SignCountPolicy::Disable)
        .build()
        .unwrap();
    let mut app2 = ctx2.app_with(ctx2.builder(config).build().unwrap()).await;
    let mut carol = SoftAuthenticator::new(ORIGIN).unwrap();
    app2.signup("carol").await;
    app2.register(&mut carol, None).await.assert_ok();
    app2.sign_in(&mut carol, None).await.assert_ok();
    let mut clone = carol.duplicate();
    clone.set_sign_count(0);
    m.check(
        "clone under disable",
        &app2.sign_in(&mut clone, None).await,
        401,
        "clone_detected",
    );
    m.check(
        "disabled credential",
        &app2.sign_in(&mut carol, None).await,
        401,
        "credential_disabled",
    );
    assert!(ctx2.creds.list_for_user("carol").await.unwrap()[0].is_disabled());

    let _ = alice_id;
    assert!(m.cases >= 33, "{} authentication cases", m.cases);
}

#[actix_rt::test]
async fn transport_and_management_matrix() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    let mut m = Matrix { cases: 0 };
    let mut alice = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("alice").await;
    let id = app.register(&mut alice, None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = snapshot(&ctx).await;
    let raw = |uri: &str, ct: Option<&str>, body: Vec<u8>| {
        let req = atest::TestRequest::post().uri(uri);
        let req = match ct {
            Some(ct) => req.insert_header(("content-type", ct.to_owned())),
            None => req,
        };
        req.set_payload(body)
    };
    for route in ["register/finish", "authenticate/finish"] {
        let uri = format!("/auth/passkeys/{route}");
        let cases: Vec<(&str, atest::TestRequest, u16, &str)> = vec![
            (
                "malformed JSON",
                raw(&uri, Some("application/json"), b"{\"state\":".to_vec()),
                400,
                "invalid_request",
            ),
            (
                "empty body",
                raw(&uri, Some("application/json"), Vec::new()),
                400,
                "invalid_request",
            ),
            (
                "wrong content type",
                raw(&uri, Some("text/plain"), b"{}".to_vec()),
                400,
                "invalid_request",
            ),
            (
                "form content type",
                raw(
                    &uri,
                    Some("application/x-www-form-urlencoded"),
                    b"a=b".to_vec(),
                ),
                400,
                "invalid_request",
            ),
            (
                "no content type",
                raw(&uri, None, b"{}".to_vec()),
                400,
                "invalid_request",
            ),
            (
                "oversize body",
                raw(&uri, Some("application/json"), vec![b'['; 70_000]),
                413,
                "payload_too_large",
            ),
            (
                "JSON null",
                raw(&uri, Some("application/json"), b"null".to_vec()),
                400,
                "invalid_request",
            ),
        ];
        for (name, req, status, code) in cases {
            let r = app.send(req).await;
            m.check(&format!("{route}: {name}"), &r, status, code);
        }
    }
    let path = format!("/auth/passkeys/credentials/{id}");
    type MgmtCase = (
        &'static str,
        Method,
        String,
        Option<Value>,
        u16,
        &'static str,
    );
    let mgmt: Vec<MgmtCase> = vec![
        (
            "PATCH id not base64url",
            Method::PATCH,
            "/auth/passkeys/credentials/a+b".into(),
            Some(json!({"deviceName": "x"})),
            400,
            "invalid_request",
        ),
        (
            "DELETE id not base64url",
            Method::DELETE,
            "/auth/passkeys/credentials/%2B%2F".into(),
            None,
            400,
            "invalid_request",
        ),
        (
            "PATCH deviceName too long",
            Method::PATCH,
            path.clone(),
            Some(json!({"deviceName": "x".repeat(65)})),
            400,
            "invalid_request",
        ),
        (
            "PATCH deviceName control chars",
            Method::PATCH,
            path.clone(),
            Some(json!({"deviceName": "a\u{7f}"})),
            400,
            "invalid_request",
        ),
        (
            "PATCH deviceName not a string",
            Method::PATCH,
            path.clone(),
            Some(json!({"deviceName": 5})),
            400,
            "invalid_request",
        ),
        (
            "PATCH unknown credential",
            Method::PATCH,
            "/auth/passkeys/credentials/AAAA".into(),
            Some(json!({"deviceName": "x"})),
            404,
            "not_found",
        ),
        (
            "DELETE unknown credential",
            Method::DELETE,
            "/auth/passkeys/credentials/AAAA".into(),
            None,
            404,
            "not_found",
        ),
        (
            "PUT on a credential",
            Method::PUT,
            path.clone(),
            None,
            405,
            "invalid_request",
        ),
    ];
    for (name, method, uri, body, status, code) in mgmt {
        let r = app.method(method, &uri, body).await;
        m.check(name, &r, status, code);
    }
    assert_eq!(snapshot(&ctx).await, before, "store changed");
    assert!(m.cases >= 22, "{} transport cases", m.cases);
}
