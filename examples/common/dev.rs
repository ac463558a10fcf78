//! Start-up shared by the demos: logging, the port, a localhost config, cookie sessions. Each
//! example uses a subset.
#![allow(dead_code)]

use actix_passkeys::{ConfigError, PasskeyConfig, PasskeyConfigBuilder};
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

/// rp id `localhost` and origin `http://localhost:<port>`, overridden by `PASSKEYS_*`. The
/// page itself is where passkeys are added and managed, so `/.well-known/passkey-endpoints`
/// points password managers there.
pub(crate) fn local_config(name: &str, port: u16) -> Result<PasskeyConfig, ConfigError> {
    local_config_with(name, port, |b| b)
}

/// [`local_config`] with the example's own defaults (`defaults`), which `PASSKEYS_*` still
/// override.
pub(crate) fn local_config_with(
    name: &str,
    port: u16,
    defaults: impl FnOnce(PasskeyConfigBuilder) -> PasskeyConfigBuilder,
) -> Result<PasskeyConfig, ConfigError> {
    let builder = defaults(
        PasskeyConfig::builder("localhost", name).origin(format!("http://localhost:{port}")),
    )
    .apply_env()?;
    // The page of the first web origin, after the environment had its say.
    match builder.clone().build()?.web_origins().first() {
        Some(page) => builder
            .enroll_url(format!("{page}/"))
            .manage_url(format!("{page}/#account"))
            .build(),
        None => builder.build(),
    }
}

/// Cookie sessions over plain http (localhost only).
pub(crate) fn cookie_sessions(key: Key) -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_secure(false)
        .build()
}

/// Where the server secret of the SQLite database `database` (a path or `sqlite://` URL) is
/// kept: the same path with extension `secret` (`passkeys.db` → `passkeys.secret`).
pub(crate) fn secret_path(database: &str) -> std::path::PathBuf {
    let path = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))
        .unwrap_or(database);
    let path = path.split('?').next().unwrap_or(path);
    std::path::Path::new(path).with_extension("secret")
}

/// The server secret in `path` (hex, 32 bytes or more), created with 32 random bytes and mode
/// 0600 (owner only) when the file does not exist yet.
pub(crate) fn secret_file(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Write as _};
    let invalid = || {
        Error::new(
            ErrorKind::InvalidData,
            format!("{}: not a hex secret of 32 bytes or more", path.display()),
        )
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = text.trim();
            if text.len() < 64 {
                return Err(invalid());
            }
            hex::decode(text).map_err(|_| invalid())
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            use rand::Rng as _;
            let mut secret = vec![0u8; 32];
            rand::rng().fill_bytes(&mut secret);
            let hex = hex::encode(&secret);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            let mut file = options.open(path)?;
            file.write_all(hex.as_bytes())?;
            file.write_all(b"\n")?;
            log::info!("created the passkey server secret {}", path.display());
            Ok(secret)
        }
        Err(e) => Err(e),
    }
}
