//! Start-up shared by the demos: logging, the port, a localhost config, cookie sessions. Each
//! example uses a subset.
#![allow(dead_code)]

use actix_passkeys::{ConfigError, PasskeyConfig};
use actix_session::{storage::CookieSessionStore, SessionMiddleware};
use actix_web::cookie::Key;

/// Logs at info; webauthn-rs-core's debug output (parsed responses) stays off.
pub(crate) fn init_logging() {
    env_logger::init_from_env(
        env_logger::Env::default().default_filter_or("info,webauthn_rs_core=warn"),
    );
}

/// The port from `PORT`, default 8080.
pub(crate) fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080)
}

/// rp id `localhost` and origin `http://localhost:<port>`, overridden by `PASSKEYS_*`.
pub(crate) fn local_config(name: &str, port: u16) -> Result<PasskeyConfig, ConfigError> {
    PasskeyConfig::builder("localhost", name)
        .origin(format!("http://localhost:{port}"))
        .apply_env()?
        .build()
}

/// Cookie sessions over plain http (localhost only).
pub(crate) fn cookie_sessions(key: Key) -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_secure(false)
        .build()
}
