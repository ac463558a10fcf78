//! `cargo run --example postgres_redis --features postgres,redis,metrics`: the quickstart's demo
//! app wired for production.
//!
//! - credentials in PostgreSQL from `DATABASE_URL` (migrations run on start);
//! - challenges in Redis (`SET EX` / `GETDEL`), shared by every instance;
//! - sessions in Redis from `REDIS_URL` (actix-session's `RedisSessionStore`);
//! - the session key from `SESSION_KEY`: 64 or more bytes, hex or base64 (required);
//! - the passkey server secret from `SERVER_SECRET`: 32 or more bytes, hex or base64 (required;
//!   the same on every instance, so unknown users get the same fake credential ids everywhere and
//!   a new user gets one user handle whichever instance serves the registration);
//! - listening on `127.0.0.1:$PORT` (default 8080), behind your TLS proxy;
//! - passkey settings from `PASSKEYS_*` ([`PasskeyConfig::from_env`]);
//! - the passkey metrics (feature `metrics`) in the Prometheus text format at `GET /metrics` on a
//!   listener of its own, `127.0.0.1:$METRICS_PORT` (default 9464), for your scraper only: it is
//!   not mounted on the public app, so the proxy never serves it.
//!
//! Several instances with the same environment (one public origin in `PASSKEYS_ORIGINS`) form
//! one service: a ceremony begun on one instance can finish on another.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1/app REDIS_URL=redis://127.0.0.1:6379 \
//! SESSION_KEY=$(openssl rand -hex 64) SERVER_SECRET=$(openssl rand -hex 32) PASSKEYS_RP_ID=localhost PASSKEYS_RP_NAME="My app" \
//! PASSKEYS_ORIGINS=http://localhost:8080 cargo run --example postgres_redis --features postgres,redis,metrics
//! curl http://127.0.0.1:9464/metrics
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
use actix_web::{cookie::Key, http::header::CONTENT_TYPE, web, App, HttpResponse, HttpServer};
use base64::Engine as _;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

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

/// Histogram buckets of the latencies, in seconds: 1 ms to 5 s (a ceremony step is a few
/// milliseconds of signature checks plus its store round trips; the stores time out at 2 s).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The process's Prometheus recorder, installed on the first call (a `metrics` recorder is
/// global: one per process). Install it before building `Passkeys`, which describes its
/// metrics to the recorder installed at that time (the `# HELP` lines).
pub(crate) fn prometheus() -> Result<PrometheusHandle, String> {
    static HANDLE: std::sync::OnceLock<Result<PrometheusHandle, String>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|e| format!("cannot install the Prometheus recorder: {e}"))
        })
        .clone()
}

/// `GET /metrics`: every metric of the process in the Prometheus text format.
async fn metrics(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"))
        .body(handle.render())
}

/// The metrics listener's one route.
pub(crate) fn metrics_routes(handle: PrometheusHandle) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(handle))
            .route("/metrics", web::get().to(metrics));
    }
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
    let metrics_port: u16 = match std::env::var("METRICS_PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| "METRICS_PORT must be a port number")?,
        Err(_) => 9464,
    };
    let handle = prometheus()?;

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
    // Histograms are kept in buckets between scrapes; upkeep keeps that bounded.
    let upkeep = handle.clone();
    actix_web::rt::spawn(async move {
        loop {
            actix_web::rt::time::sleep(std::time::Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    let metrics_server =
        HttpServer::new(move || App::new().configure(metrics_routes(handle.clone())))
            .workers(1)
            .bind(("127.0.0.1", metrics_port))?
            .run();
    log::info!(
        "actix-passkeys postgres_redis example listening on 127.0.0.1:{port}, metrics on \
         127.0.0.1:{metrics_port}/metrics"
    );
    futures_util::future::try_join(server, metrics_server).await?;
    Ok(())
}
