//! Route tests of the features beyond the seed: Related Origin Requests (`/.well-known/webauthn`),
//! authenticator names, the OpenAPI document, Signal API payloads and conditional create.

use actix_passkeys::{testing::AssertionSpec, PasskeyConfig, WELL_KNOWN_PATH};
use serde_json::json;

use crate::fixtures::*;

fn authenticator() -> actix_passkeys::testing::SoftAuthenticator {
    actix_passkeys::testing::SoftAuthenticator::new(ORIGIN).unwrap()
}

fn related_config() -> PasskeyConfig {
    config()
        .origin("android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
        .related_origin("https://example.co.uk")
        .related_origin("https://shop.example.org")
        .build()
        .unwrap()
}

#[actix_rt::test]
async fn well_known_lists_the_web_origins_from_the_config() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(related_config()).build().unwrap();
    let mut app = ctx.app_configured(passkeys.configure()).await;
    let r = app.get(WELL_KNOWN_PATH).await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        r.body,
        json!({"origins": [ORIGIN, "https://example.co.uk", "https://shop.example.org"]})
    );
    assert_eq!(r.body["origins"], json!(passkeys.config().web_origins()));
    // Only GET; and the scope itself does not serve it.
    let r = app
        .send(actix_web::test::TestRequest::post().uri(WELL_KNOWN_PATH))
        .await;
    assert_ne!(r.status.as_u16(), 200);
    app.get("/auth/passkeys/.well-known/webauthn")
        .await
        .assert_error(404, "not_found");
}

#[actix_rt::test]
async fn well_known_service_mounts_alone() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(related_config()).build().unwrap();
    let wk = passkeys.well_known();
    let mut app = ctx
        .app_configured(move |cfg| {
            cfg.service(wk).service(passkeys);
        })
        .await;
    let r = app.get(WELL_KNOWN_PATH).await;
    assert_eq!(r.body["origins"].as_array().unwrap().len(), 3);
}

#[actix_rt::test]
async fn a_related_origin_signs_in_and_an_unlisted_one_does_not() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app2 = ctx
        .app_with(ctx.builder(related_config()).build().unwrap())
        .await;
    app2.signup("rose").await;
    let mut auth = authenticator();
    app2.register(&mut auth, None).await.assert_ok();
    app2.logout().await;
    for (origin, accepted) in [
        ("https://example.co.uk", true),
        ("https://shop.example.org", true),
        ("https://example.org", false),
        ("https://evil.example", false),
    ] {
        let begin = app2.auth_begin(Some("rose")).await;
        let challenge = begin["publicKey"]["challenge"].as_str().unwrap();
        let mut spec = AssertionSpec::new("localhost", origin, challenge);
        spec.counter = auth.sign_count().unwrap_or(0) + 1;
        auth.set_sign_count(spec.counter);
        let credential = auth.forge_assertion(&spec).unwrap();
        let r = app2
            .post(
                "/auth/passkeys/authenticate/finish",
                json!({"credential": credential, "state": begin["state"]}),
            )
            .await;
        if accepted {
            r.assert_ok();
        } else {
            r.assert_error(401, "assertion_verification_failed");
        }
    }
}
