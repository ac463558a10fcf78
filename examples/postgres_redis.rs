//! `cargo run --example postgres_redis --features postgres,redis`: the quickstart's demo app wired for
//! production.
//!
//! - credentials in PostgreSQL from `DATABASE_URL` (migrations run on start);
//! - challenges in Redis (`SET EX` / `GETDEL`), shared by every instance;
//! - sessions in Redis from `REDIS_URL` (actix-session's `RedisSessionStore`);
//! - the session key from `SESSION_KEY`: 64 or more bytes, hex or base64 (required);
//! - listening on `127.0.0.1:$PORT` (default 8080), behind your TLS proxy;
//! - passkey settings from `PASSKEYS_*` ([`PasskeyConfig::from_env`]).
//!
//! Several instances with the same environment (one public origin in `PASSKEYS_ORIGINS`) form
//! one service: a ceremony begun on one instance can finish on another.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1/app REDIS_URL=redis://127.0.0.1:6379 \
//! SESSION_KEY=$(openssl rand -hex 64) PASSKEYS_RP_ID=localhost PASSKEYS_RP_NAME="My app" \
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

/// `SESSION_KEY`: hex or base64 (standard or URL-safe), at least 64 bytes.
fn session_key() -> Result<Key, Error> {
    let raw = required("SESSION_KEY")?;
    let raw = raw.trim();
    let bytes = decode_hex(raw)
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(raw).ok())
        .or_else(|| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(raw)
                .ok()
        })
        .ok_or("SESSION_KEY must be hex or base64")?;
    Key::try_from(bytes.as_slice())
        .map_err(|_| "SESSION_KEY must decode to at least 64 bytes".into())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[actix_web::main]
async fn main() -> Result<(), Error> {
    common::dev::init_logging();
    // Refuse to start on a missing setting before touching any service.
    let database_url = required("DATABASE_URL")?;
    let redis_url = required("REDIS_URL")?;
    let key = session_key()?;
    let config = PasskeyConfig::from_env()?;
    let port = common::port();

    pg::run_migrations(&database_url).await?;
    let pool = pg::connect(&database_url).await?;
    let challenges = RedisChallengeStore::connect(&redis_url).await?;
    let passkeys = Passkeys::new(config, PgCredentialStore::new(pool), challenges)?;
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
