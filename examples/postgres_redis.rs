//! `cargo run --example postgres_redis --features postgres,redis`: the quickstart's demo app wired for
//! production.
//!
//! - credentials in PostgreSQL from `DATABASE_URL` (migrations run on start);
//! - challenges in Redis (`SET EX` / `GETDEL`), shared by every instance;
//! - sessions in Redis from `REDIS_URL` (actix-session's `RedisSessionStore`);
//! - the session key from `SESSION_KEY`: 64 or more bytes, hex or base64 (required);
//! - the passkey server secret from `SERVER_SECRET`: 32 or more bytes, hex or base64 (required;
//!   the same on every instance, so unknown users get the same fake credential ids everywhere and
//!   a new user gets one user handle whichever instance serves the registration);
//! - listening on `127.0.0.1:$PORT` (default 8080), behind your TLS proxy;
//! - passkey settings from `PASSKEYS_*` ([`PasskeyConfig::from_env`]).
//!
//! Several instances with the same environment (one public origin in `PASSKEYS_ORIGINS`) form
//! one service: a ceremony begun on one instance can finish on another.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1/app REDIS_URL=redis://127.0.0.1:6379 \
//! SESSION_KEY=$(openssl rand -hex 64) SERVER_SECRET=$(openssl rand -hex 32) PASSKEYS_RP_ID=localhost PASSKEYS_RP_NAME="My app" \
//! PASSKEYS_ORIGINS=http://localhost:8080 cargo run --example postgres_redis --features postgres,redis
//! ```

#[path = "common/mod.rs"]
mod common;

use actix_passkeys::{
    store::{
        diesel::pg::{self, PgCredentialStore},
        redis::RedisChallengeStore,
    },
    PasskeyConfig, Passkeys,
};
use actix_session::{storage::RedisSessionStore, SessionMiddleware};
use actix_web::{cookie::Key, App, HttpServer};
use base64::Engine as _;

type Error = Box<dyn std::error::Error>;

fn required(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} must be set").into())
}

/// The variable `name`, decoded from hex or base64 (standard or URL-safe).
fn required_bytes(name: &str) -> Result<Vec<u8>, Error> {
    let raw = required(name)?;
    let raw = raw.trim();
    decode_hex(raw)
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(raw).ok())
        .or_else(|| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(raw)
                .ok()
        })
        .ok_or_else(|| format!("{name} must be hex or base64").into())
}

/// `SESSION_KEY`: hex or base64 (standard or URL-safe), at least 64 bytes.
fn session_key() -> Result<Key, Error> {
    let bytes = required_bytes("SESSION_KEY")?;
    Key::try_from(bytes.as_slice())
        .map_err(|_| "SESSION_KEY must decode to at least 64 bytes".into())
}

/// `SERVER_SECRET`: hex or base64, at least 32 bytes.
fn server_secret() -> Result<Vec<u8>, Error> {
    let bytes = required_bytes("SERVER_SECRET")?;
    if bytes.len() < 32 {
        return Err("SERVER_SECRET must decode to at least 32 bytes".into());
    }
    Ok(bytes)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    hex::decode(s).ok()
}

#[actix_web::main]
async fn main() -> Result<(), Error> {
    common::dev::init_logging();
    // Refuse to start on a missing setting before touching any service.
    let database_url = required("DATABASE_URL")?;
    let redis_url = required("REDIS_URL")?;
    let key = session_key()?;
    let secret = server_secret()?;
    let config = PasskeyConfig::from_env()?;
    let port = common::port();

    pg::run_migrations(&database_url).await?;
    let pool = pg::connect(&database_url).await?;
    let challenges = RedisChallengeStore::connect(&redis_url).await?;
    let passkeys = Passkeys::builder(config, PgCredentialStore::new(pool), challenges)
        .server_secret(secret)
        .build()?;
    let sessions = RedisSessionStore::new(redis_url).await?;

    let server = HttpServer::new(move || {
        App::new()
            .wrap(SessionMiddleware::new(sessions.clone(), key.clone()))
            .configure(common::routes(passkeys.clone()))
    })
    .bind(("127.0.0.1", port))?
    .run();
    log::info!("actix-passkeys postgres_redis example listening on 127.0.0.1:{port}");
    server.await?;
    Ok(())
}
