//! What passkey clients are told beyond the ceremony itself: `hints` (from the config and per
//! call), the transports policy of the credential lists, and the well-known documents
//! (Related Origin Requests, Passkey Endpoints, Digital Asset Links, Apple App Site
//! Association), all from one config.

use actix_passkeys::{
    policy::{Attachment, Hint, NativeApp, TransportsPolicy},
    store::CredentialStore as _,
    wire::{
        APPLE_APP_SITE_ASSOCIATION_PATH, ASSET_LINKS_PATH, PASSKEY_ENDPOINTS_PATH, WELL_KNOWN_PATH,
    },
    PasskeyConfig,
};
use actix_web::{http::Method, test::TestRequest};
use serde_json::{json, Value};

use crate::fixtures::*;

const REGISTER_BEGIN: &str = "/auth/passkeys/register/begin";
const AUTH_BEGIN: &str = "/auth/passkeys/authenticate/begin";
const PRINT: &str = "FA:C6:17:45:DC:09:03:78:6F:B9:ED:E6:2A:96:2B:39:9F:73:48:F0:BB:6F:89:9B:83:32:66:75:91:03:3B:9C";
const ANDROID_ORIGIN: &str = "android:apk-key-hash:-sYXRdwJA3hvue3mKpYrOZ9zSPC7b4mbgzJmdZEDO5w";

fn authenticator() -> actix_passkeys::testing::SoftAuthenticator {
    actix_passkeys::testing::SoftAuthenticator::new(ORIGIN).unwrap()
}

#[actix_rt::test]
async fn hints_from_the_config_and_from_the_call_reach_both_options_documents() {
    let ctx = Ctx::<Memory>::new().await;
    let config = config()
        .registration_hints([Hint::SecurityKey, Hint::Hybrid])
        .authentication_hints([Hint::ClientDevice])
        .build()
        .unwrap();
    let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
    app.signup("hana").await;
    let begin = app.post_empty(REGISTER_BEGIN).await;
    assert_eq!(
        begin.assert_ok()["publicKey"]["hints"],
        json!(["security-key", "hybrid"])
    );
    for (body, want) in [
        (
            json!({"hints": ["client-device"]}),
            json!(["client-device"]),
        ),
        (json!({"hints": []}), Value::Null),
        (json!({"hints": null}), json!(["security-key", "hybrid"])),
        (json!({}), json!(["security-key", "hybrid"])),
    ] {
        let r = app.post(REGISTER_BEGIN, body.clone()).await;
        assert_eq!(r.assert_ok()["publicKey"]["hints"], want, "{body}");
    }
    let r = app.post(AUTH_BEGIN, json!({})).await;
    assert_eq!(
        r.assert_ok()["publicKey"]["hints"],
        json!(["client-device"])
    );
    let r = app.post(
        AUTH_BEGIN,
        json!({"userId": "hana", "hints": ["hybrid", "security-key"]}),
    );
    assert_eq!(
        r.await.assert_ok()["publicKey"]["hints"],
        json!(["hybrid", "security-key"])
    );
    for path in [REGISTER_BEGIN, AUTH_BEGIN] {
        for hints in [
            json!(["hybrid", "hybrid"]),
            json!(["phone"]),
            json!("hybrid"),
        ] {
            app.post(path, json!({ "hints": hints }))
                .await
                .assert_error(400, "invalid_request");
        }
    }
    // A whole ceremony with hinted options: the client ignores what it does not use.
    let mut auth = authenticator();
    app.register(&mut auth, None).await.assert_ok();
    app.sign_in(&mut auth, Some("hana")).await.assert_ok();
    app.sign_in(&mut auth, None).await.assert_ok();
}

#[actix_rt::test]
async fn no_hints_are_sent_unless_configured_and_a_call_may_not_contradict_the_attachment() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    app.signup("ivo").await;
    let begin = app.post_empty(REGISTER_BEGIN).await;
    assert!(begin.assert_ok()["publicKey"].get("hints").is_none());
    let r = app.post(AUTH_BEGIN, json!({})).await;
    assert!(r.assert_ok()["publicKey"].get("hints").is_none());

    let ctx = Ctx::<Memory>::new().await;
    let config = config()
        .attachment(Some(Attachment::CrossPlatform))
        .build()
        .unwrap();
    let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
    app.signup("ivo").await;
    app.post(REGISTER_BEGIN, json!({"hints": ["client-device"]}))
        .await
        .assert_error(400, "invalid_request");
    let r = app
        .post(REGISTER_BEGIN, json!({"hints": ["security-key"]}))
        .await;
    assert_eq!(r.assert_ok()["publicKey"]["hints"], json!(["security-key"]));
}

/// Gives `user`'s two passkeys (in order) the stored transports and backup eligibility of a
/// synced one reporting `internal, hybrid` and a device-bound one reporting `usb, nfc`.
async fn two_kinds_of_passkeys(ctx: &Ctx<Memory>, user: &str) -> (Vec<u8>, Vec<u8>) {
    let creds = ctx.creds.list_for_user(user).await.unwrap();
    assert_eq!(creds.len(), 2);
    let mut synced = creds[0].clone();
    synced.transports = vec!["internal".into(), "hybrid".into()];
    synced.backup_eligible = true;
    let mut bound = creds[1].clone();
    bound.transports = vec!["usb".into(), "nfc".into()];
    bound.backup_eligible = false;
    for c in [&synced, &bound] {
        assert!(ctx.creds.delete(user, &c.credential_id).await.unwrap());
        assert!(ctx.creds.insert(c).await.unwrap());
    }
    (synced.credential_id, bound.credential_id)
}

/// The `transports` of the entry for `id` in an options list (`None`: absent).
fn transports_of(list: &Value, id: &[u8]) -> Option<Value> {
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == json!(b64(id)))
        .unwrap_or_else(|| panic!("no entry for {} in {list}", b64(id)));
    entry.get("transports").cloned()
}

#[actix_rt::test]
async fn each_transports_policy_shapes_allow_and_exclude_credentials() {
    let both = Some(json!(["internal", "hybrid"]));
    let usb = Some(json!(["usb", "nfc"]));
    for (policy, synced_want, bound_want) in [
        (TransportsPolicy::AsRegistered, both.clone(), usb.clone()),
        (TransportsPolicy::OmitWhenBackupEligible, None, usb.clone()),
        (TransportsPolicy::Omit, None, None),
    ] {
        let ctx = Ctx::<Memory>::new().await;
        let config = config().transports_policy(policy).build().unwrap();
        let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
        app.signup("jo").await;
        app.register(&mut authenticator(), None).await.assert_ok();
        app.register(&mut authenticator(), None).await.assert_ok();
        let (synced, bound) = two_kinds_of_passkeys(&ctx, "jo").await;
        let begin = app.auth_begin(Some("jo")).await;
        let allow = &begin["publicKey"]["allowCredentials"];
        assert_eq!(
            transports_of(allow, &synced),
            synced_want,
            "{policy:?} allow"
        );
        assert_eq!(transports_of(allow, &bound), bound_want, "{policy:?} allow");
        let reg = app.post_empty(REGISTER_BEGIN).await;
        let exclude = &reg.assert_ok()["publicKey"]["excludeCredentials"];
        assert_eq!(
            transports_of(exclude, &synced),
            synced_want,
            "{policy:?} exclude"
        );
        assert_eq!(
            transports_of(exclude, &bound),
            bound_want,
            "{policy:?} exclude"
        );
    }
}

/// An unknown user's fake entries follow the policy too: under `Omit` none carries
/// transports, as no real entry would.
#[actix_rt::test]
async fn fake_entries_for_unknown_users_follow_the_transports_policy() {
    let ctx = Ctx::<Memory>::new().await;
    let config = config()
        .transports_policy(TransportsPolicy::Omit)
        .build()
        .unwrap();
    let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
    for user in ["nobody-1", "nobody-2", "nobody-3", "nobody-4", "nobody-5"] {
        let begin = app.auth_begin(Some(user)).await;
        let allow = begin["publicKey"]["allowCredentials"].as_array().unwrap();
        assert!(!allow.is_empty(), "{user}");
        assert!(
            allow.iter().all(|e| e.get("transports").is_none()),
            "{begin}"
        );
    }
    // As registered, some fake entries carry transports (the control of the test above).
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    let mut with_transports = 0;
    for i in 0..20 {
        let begin = app.auth_begin(Some(&format!("nobody-{i}"))).await;
        let allow = begin["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .clone();
        with_transports += allow
            .iter()
            .filter(|e| e.get("transports").is_some())
            .count();
    }
    assert!(with_transports > 0);
}

/// Enumeration: the fake entries answered for unknown users carry what a real passkey of the
/// kind their id length imitates would, under every policy. A 20-, 65- or 16-byte id (Apple,
/// Google, Bitwarden: synced) never carries transports once synced passkeys' are omitted, and
/// never a security key's; a 64- or 128-byte id (a YubiKey) never a phone's.
#[actix_rt::test]
async fn fake_entries_look_like_the_provider_their_id_length_imitates() {
    for policy in [
        TransportsPolicy::AsRegistered,
        TransportsPolicy::OmitWhenBackupEligible,
        TransportsPolicy::Omit,
    ] {
        let ctx = Ctx::<Memory>::new().await;
        let config = config().transports_policy(policy).build().unwrap();
        let mut app = ctx.app_with(ctx.builder(config).build().unwrap()).await;
        let mut lengths = std::collections::BTreeSet::new();
        for i in 0..300 {
            let begin = app.auth_begin(Some(&format!("nobody-{i}"))).await;
            for entry in begin["publicKey"]["allowCredentials"].as_array().unwrap() {
                let len = unb64(entry["id"].as_str().unwrap()).len();
                lengths.insert(len);
                let transports = entry.get("transports").cloned();
                let ok = match (len, &transports) {
                    (_, None) => true,
                    (_, Some(_)) if policy == TransportsPolicy::Omit => false,
                    (16 | 20 | 65, Some(t)) => {
                        policy == TransportsPolicy::AsRegistered
                            && *t == json!(["hybrid", "internal"])
                    }
                    (32, Some(t)) => *t == json!(["internal"]),
                    (64 | 128, Some(t)) => *t == json!(["nfc", "usb"]) || *t == json!(["usb"]),
                    (_, Some(_)) => true,
                };
                assert!(ok, "{policy:?}: a {len}-byte fake id with {transports:?}");
            }
        }
        assert!(
            lengths.contains(&20) && lengths.contains(&65),
            "{lengths:?}"
        );
    }
}

fn native_config() -> PasskeyConfig {
    config()
        .related_origin("https://example.co.uk")
        .native_app(NativeApp::android("com.example.app", PRINT.to_lowercase()))
        .native_app(NativeApp::apple("ABCDE12345", "com.example.app"))
        .enroll_url("http://localhost:8080/#add-passkey")
        .manage_url("http://localhost:8080/#passkeys")
        .build()
        .unwrap()
}

#[actix_rt::test]
async fn well_known_documents_are_served_exactly_from_one_config() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(native_config()).build().unwrap();
    assert!(passkeys
        .config()
        .origins()
        .iter()
        .any(|o| o.as_str() == ANDROID_ORIGIN));
    let mut app = ctx.app_configured(passkeys.configure()).await;
    let relation = json!([
        "delegate_permission/common.handle_all_urls",
        "delegate_permission/common.get_login_creds"
    ]);
    for (path, want) in [
        (
            WELL_KNOWN_PATH,
            // The Apple app brings https://<rp id>; the Android origin is native, not listed.
            json!({"origins": [ORIGIN, "https://example.co.uk", "https://localhost"]}),
        ),
        (
            PASSKEY_ENDPOINTS_PATH,
            json!({
                "enroll": "http://localhost:8080/#add-passkey",
                "manage": "http://localhost:8080/#passkeys"
            }),
        ),
        (
            ASSET_LINKS_PATH,
            json!([{
                "relation": relation,
                "target": {
                    "namespace": "android_app",
                    "package_name": "com.example.app",
                    "sha256_cert_fingerprints": [PRINT]
                }
            }]),
        ),
        (
            APPLE_APP_SITE_ASSOCIATION_PATH,
            json!({"webcredentials": {"apps": ["ABCDE12345.com.example.app"]}}),
        ),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status.as_u16(), 200, "{path}");
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/json"),
            "{path}"
        );
        assert_eq!(r.body, want, "{path}");
        let head = app
            .send(TestRequest::default().method(Method::HEAD).uri(path))
            .await;
        assert_eq!(head.status.as_u16(), 200, "HEAD {path}");
        assert_eq!(
            head.content_type.as_deref(),
            Some("application/json"),
            "HEAD {path}"
        );
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let r = app.method(method.clone(), path, None).await;
            r.assert_error(405, "invalid_request");
            assert_eq!(
                r.headers.get("allow").unwrap(),
                "GET, HEAD",
                "{method} {path}"
            );
        }
    }
}

#[actix_rt::test]
async fn without_native_apps_no_association_document_is_served() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(config().build().unwrap()).build().unwrap();
    let mut app = ctx.app_configured(passkeys.configure()).await;
    for path in [ASSET_LINKS_PATH, APPLE_APP_SITE_ASSOCIATION_PATH] {
        assert_eq!(app.get(path).await.status.as_u16(), 404, "{path}");
    }
    let r = app.get(PASSKEY_ENDPOINTS_PATH).await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.body, json!({}));
}

/// The Android origin derived from the fingerprint is accepted in a real sign-in, and one
/// from another signing key is not.
#[actix_rt::test]
async fn the_native_app_s_origin_signs_in_and_another_app_s_does_not() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx
        .app_with(ctx.builder(native_config()).build().unwrap())
        .await;
    app.signup("kim").await;
    let mut auth = authenticator();
    app.register(&mut auth, None).await.assert_ok();
    app.logout().await;
    for (origin, accepted) in [
        (ANDROID_ORIGIN, true),
        (
            "android:apk-key-hash:FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU",
            false,
        ),
    ] {
        let r = app.sign_in_from_origin(&mut auth, "kim", origin).await;
        if accepted {
            r.assert_ok();
        } else {
            r.assert_error(401, "assertion_verification_failed");
        }
    }
}
