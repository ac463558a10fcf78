//! Passkey upgrade after a cross-device sign-in: the `authenticatorAttachment` of each sign-in
//! is stored (`last_attachment`, in the counter's write), and a sign-in from another device
//! (`cross-platform`, not a security key) answers `"crossDevice": true` and tells the hook.
//!
//! The software authenticator always reports `platform`; `authenticatorAttachment` and the
//! registration's `transports` are unsigned, client-reported values, so the tests set them in
//! the JSON as a phone over hybrid or a security key's browser would.

use std::sync::{Arc, Mutex};

use actix_passkeys::{
    hooks::AuthenticationResult, store::CredentialStore as _, testing::SoftAuthenticator,
    wire::proto::AuthenticatorAttachment,
};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::fixtures::*;

/// A sign-in body whose `authenticatorAttachment` is `attachment` (`None`: the member removed).
fn with_attachment(mut body: Value, attachment: Option<&str>) -> Value {
    let credential = body["credential"].as_object_mut().unwrap();
    match attachment {
        Some(a) => credential.insert("authenticatorAttachment".into(), json!(a)),
        None => credential.remove("authenticatorAttachment"),
    };
    body
}

/// Each sign-in stores the attachment it reported (and a sign-in without one stores none);
/// a cross-platform sign-in with a phone's passkey answers exactly
/// `{"status":"ok","userId","crossDevice":true}`, a same-device one the unchanged
/// `{"status":"ok","userId"}`.
pub async fn sign_in_stores_the_attachment_and_says_cross_device<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let mut phone = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("ann").await;
    app.register(&mut phone, None).await.assert_ok();
    let id = phone.credential_id().unwrap();
    let stored = ctx.creds.get(&id).await.unwrap().unwrap();
    assert_eq!(
        stored.last_attachment, None,
        "none before the first sign-in"
    );
    assert!(
        stored.transports.iter().any(|t| t == "hybrid"),
        "{:?}",
        stored.transports
    );

    for (attachment, want, answer) in [
        (
            Some("cross-platform"),
            Some(AuthenticatorAttachment::CrossPlatform),
            json!({"status": "ok", "userId": "ann", "crossDevice": true}),
        ),
        (
            Some("platform"),
            Some(AuthenticatorAttachment::Platform),
            json!({"status": "ok", "userId": "ann"}),
        ),
        (None, None, json!({"status": "ok", "userId": "ann"})),
        (
            Some("a-later-level"),
            None,
            json!({"status": "ok", "userId": "ann"}),
        ),
    ] {
        let body = with_attachment(app.assertion(&mut phone, Some("ann")).await, attachment);
        let r = app.post("/auth/passkeys/authenticate/finish", body).await;
        assert_eq!(r.assert_ok(), &answer, "{attachment:?}");
        let stored = ctx.creds.get(&id).await.unwrap().unwrap();
        assert_eq!(stored.last_attachment, want, "{attachment:?}");
        assert_eq!(stored.last_used_at, Some(ctx.clock_now()));
    }
}

/// A security key (transports only `usb`/`nfc`/`ble`) is cross-platform too, but not another
/// device to replace: no `crossDevice`; its attachment is stored all the same.
pub async fn a_security_key_is_not_a_cross_device_sign_in<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let mut key = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("ann").await;
    let mut body = app.registration(&mut key, None).await;
    body["credential"]["response"]["transports"] = json!(["nfc", "usb"]);
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_ok();
    let body = with_attachment(
        app.assertion(&mut key, Some("ann")).await,
        Some("cross-platform"),
    );
    let r = app.post("/auth/passkeys/authenticate/finish", body).await;
    assert_eq!(r.assert_ok(), &json!({"status": "ok", "userId": "ann"}));
    let stored = ctx
        .creds
        .get(&key.credential_id().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.last_attachment,
        Some(AuthenticatorAttachment::CrossPlatform)
    );
}

/// The app's sign-in hook (and so a custom answer) gets the attachment and `cross_device`, and
/// the credential as stored after the sign-in.
pub async fn the_hook_is_told_about_a_cross_device_sign_in<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let seen: Arc<Mutex<Vec<AuthenticationResult>>> = Arc::default();
    let record = seen.clone();
    let passkeys = ctx
        .builder(config().build().unwrap())
        .on_authenticated(move |_: HttpRequest, result: AuthenticationResult| {
            record.lock().unwrap().push(result);
            async { Ok::<_, actix_web::Error>(HttpResponse::Ok().json(json!({"app": true}))) }
        })
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    let mut phone = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("ann").await;
    app.register(&mut phone, None).await.assert_ok();
    for attachment in ["cross-platform", "platform"] {
        let body = with_attachment(app.assertion(&mut phone, None).await, Some(attachment));
        let r = app.post("/auth/passkeys/authenticate/finish", body).await;
        assert_eq!(r.assert_ok(), &json!({"app": true}));
    }
    let seen = seen.lock().unwrap();
    let got: Vec<_> = seen
        .iter()
        .map(|r| {
            (
                r.authenticator_attachment,
                r.cross_device,
                r.credential.last_attachment,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Some(AuthenticatorAttachment::CrossPlatform),
                true,
                Some(AuthenticatorAttachment::CrossPlatform)
            ),
            (
                Some(AuthenticatorAttachment::Platform),
                false,
                Some(AuthenticatorAttachment::Platform)
            ),
        ]
    );
}

crate::on_every_backend!(
    sign_in_stores_the_attachment_and_says_cross_device,
    a_security_key_is_not_a_cross_device_sign_in,
    the_hook_is_told_about_a_cross_device_sign_in,
);
