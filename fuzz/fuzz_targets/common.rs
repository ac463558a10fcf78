//! Shared set-up: one service with in-memory stores, and helpers to begin ceremonies.
#![allow(dead_code)]

use std::sync::OnceLock;

use actix_passkeys::{
    store::memory::{MemoryChallengeStore, MemoryCredentialStore},
    wire::AuthenticationBegin, PasskeyConfig, PasskeyError, PasskeyUser, Passkeys,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::{json, Value};

pub type Service = Passkeys;
pub const ORIGIN: &str = "http://localhost:8080";
/// The service's one top origin (`crossOrigin: true` is accepted only with it).
pub const TOP_ORIGIN: &str = "https://shop.example.net";

pub fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let config = PasskeyConfig::builder("localhost", "fuzz")
            .origin(ORIGIN)
            .top_origin(TOP_ORIGIN)
            .build()
            .expect("config");
        // Without the `session` feature there is no default user resolver; the fuzz targets
        // only call the ceremonies, so one that knows no user will do.
        Passkeys::builder(config, credentials().clone(), MemoryChallengeStore::new())
            .user_resolver(|_req| async { Err(PasskeyError::NotAuthenticated) })
            .build()
            .expect("service")
    })
}

/// The service's credential store (to read the stored counter).
pub fn credentials() -> &'static MemoryCredentialStore {
    static CREDENTIALS: OnceLock<MemoryCredentialStore> = OnceLock::new();
    CREDENTIALS.get_or_init(MemoryCredentialStore::new)
}

/// One registered credential (id, user handle), made with the software authenticator.
pub fn registered() -> &'static (Vec<u8>, Vec<u8>) {
    static REGISTERED: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    REGISTERED.get_or_init(|| {
        let auth = registered_authenticator();
        (auth.credential_id().expect("id"), auth.user_handle().expect("handle"))
    })
}

/// The authenticator holding the registered credential (its private key signs assertions).
pub fn registered_authenticator() -> &'static actix_passkeys::testing::SoftAuthenticator {
    static AUTH: OnceLock<actix_passkeys::testing::SoftAuthenticator> = OnceLock::new();
    AUTH.get_or_init(|| {
        futures_executor::block_on(async {
            let svc = service();
            let mut auth = actix_passkeys::testing::SoftAuthenticator::new(ORIGIN).expect("authenticator");
            let options = serde_json::to_value(svc.start_registration(PasskeyUser::new("r", "r", "r")).await.expect("begin"))
                .expect("json");
            let credential = auth.register(&options["publicKey"]).await.expect("register");
            let input = serde_json::from_value(json!({"credential": credential, "state": options["state"]})).expect("input");
            svc.finish_registration_for("r", input).await.expect("finish");
            auth
        })
    })
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh registration state and its challenge.
pub fn registration_state() -> (String, String) {
    let options = futures_executor::block_on(service().start_registration(PasskeyUser::new("u", "u", "u")))
        .expect("begin");
    let v = serde_json::to_value(&options).expect("json");
    (v["state"].as_str().unwrap_or_default().to_owned(), v["publicKey"]["challenge"].as_str().unwrap_or_default().to_owned())
}

/// A fresh usernameless authentication state and its challenge.
pub fn authentication_state() -> (String, String) {
    let options = futures_executor::block_on(service().start_authentication(AuthenticationBegin::default()))
        .expect("begin");
    let v = serde_json::to_value(&options).expect("json");
    (v["state"].as_str().unwrap_or_default().to_owned(), v["publicKey"]["challenge"].as_str().unwrap_or_default().to_owned())
}

pub fn client_data(kind: &str, challenge: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"type": kind, "challenge": challenge, "origin": ORIGIN, "crossOrigin": false}))
        .expect("json")
}

/// Runs a finish body through both finish paths; any answer is fine, a panic is the bug.
pub fn finish(body: Value) {
    let svc = service();
    if let Ok(input) = serde_json::from_value(body.clone()) {
        let _ = futures_executor::block_on(svc.finish_registration_for("r", input));
    }
    if let Ok(input) = serde_json::from_value(body) {
        let _ = futures_executor::block_on(svc.finish_authentication(input));
    }
}
