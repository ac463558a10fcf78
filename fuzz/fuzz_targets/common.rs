//! Shared set-up: one service with in-memory stores, and helpers to begin ceremonies.
#![allow(dead_code)]

use std::sync::OnceLock;

use actix_passkeys::{
    store::memory::{MemoryChallengeStore, MemoryCredentialStore},
    wire::AuthenticationBegin, PasskeyConfig, PasskeyError, PasskeyUser, Passkeys,
};
use serde_json::json;

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

/// The authenticator of a credential registered for another user, "o" (the bound-user rule's
/// case).
pub fn other_authenticator() -> &'static actix_passkeys::testing::SoftAuthenticator {
    static OTHER: OnceLock<actix_passkeys::testing::SoftAuthenticator> = OnceLock::new();
    OTHER.get_or_init(|| register("o"))
}

/// The authenticator holding the registered credential (its private key signs assertions).
pub fn registered_authenticator() -> &'static actix_passkeys::testing::SoftAuthenticator {
    static AUTH: OnceLock<actix_passkeys::testing::SoftAuthenticator> = OnceLock::new();
    AUTH.get_or_init(|| register("r"))
}

/// Registers a fresh software authenticator for `user` on the service.
fn register(user: &str) -> actix_passkeys::testing::SoftAuthenticator {
    futures_executor::block_on(async {
        let svc = service();
        let mut auth = actix_passkeys::testing::SoftAuthenticator::new(ORIGIN).expect("authenticator");
        let options = serde_json::to_value(svc.start_registration(PasskeyUser::new(user, user, user)).await.expect("begin"))
            .expect("json");
        let credential = auth.register(&options["publicKey"]).await.expect("register");
        let input = serde_json::from_value(json!({"credential": credential, "state": options["state"]})).expect("input");
        svc.finish_registration_for(user, input).await.expect("finish");
        auth
    })
}

/// A fresh authentication state and its challenge: usernameless, or username-first for `user`.
pub fn authentication_state_for(user: Option<&str>) -> (String, String) {
    let begin: AuthenticationBegin = serde_json::from_value(json!({ "userId": user })).expect("begin");
    let options = futures_executor::block_on(service().start_authentication(begin)).expect("begin");
    let v = serde_json::to_value(&options).expect("json");
    (v["state"].as_str().unwrap_or_default().to_owned(), v["publicKey"]["challenge"].as_str().unwrap_or_default().to_owned())
}
