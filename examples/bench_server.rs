//! The server `bench/run.sh` drives: the quickstart's app (the passkey scope, `POST /signup`,
//! cookie sessions) with the stores chosen by `BENCH_STORE`, plus a bench-only
//! `GET /bench/stats` (`{"challenges": n}` for the in-memory challenge store).
//!
//! - `BENCH_STORE=memory` (default): in-memory credentials and challenges.
//! - `BENCH_STORE=redis`: in-memory credentials, challenges in Redis (`REDIS_URL`,
//!   `BENCH_REDIS_PREFIX`).
//! - `BENCH_STORE=pg`: credentials in PostgreSQL (`DATABASE_URL`, migrations run on start,
//!   pool of `BENCH_PG_POOL` connections, default 10), challenges in Redis as above.
//!
//! `PORT` (default 8080), `BENCH_WORKERS` (actix worker threads, default 1: the server is pinned
//! to one core), `PASSKEYS_*` as in the quickstart. Logs at `warn` unless `RUST_LOG` says
//! otherwise (audit events are `info`).

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;

use actix_passkeys::{
    store::{
        diesel::pg::{self, PgCredentialStore},
        memory::{MemoryChallengeStore, MemoryCredentialStore},
        redis::RedisChallengeStore,
    },
    PasskeyConfig, Passkeys,
};
use actix_session::{storage::CookieSessionStore, SessionMiddleware};
use actix_web::{cookie::Key, web, App, HttpResponse, HttpServer};

type Error = Box<dyn std::error::Error>;
type Stats = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

async fn serve(passkeys: Passkeys, stats: Stats) -> Result<(), Error> {
    let port = common::port();
    let workers: usize = env("BENCH_WORKERS", "1").parse()?;
    let key = Key::generate();
    let server = HttpServer::new(move || {
        let stats = stats.clone();
        App::new()
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                    .cookie_secure(false)
                    .build(),
            )
            .configure(common::routes(passkeys.clone()))
            .route(
                "/bench/stats",
                web::get().to(move || {
                    let body = stats();
                    async move { HttpResponse::Ok().json(body) }
                }),
            )
    })
    .workers(workers)
    .backlog(1024)
    .bind(("127.0.0.1", port))?
    .run();
    println!(
        "bench_server: http://127.0.0.1:{port} pid {}",
        std::process::id()
    );
    server.await?;
    Ok(())
}

async fn redis() -> Result<RedisChallengeStore, Error> {
    Ok(
        RedisChallengeStore::connect(&env("REDIS_URL", "redis://127.0.0.1:6379/0"))
            .await?
            .with_key_prefix(env("BENCH_REDIS_PREFIX", "bench:passkeys:")),
    )
}

#[actix_web::main]
async fn main() -> Result<(), Error> {
    env_logger::init_from_env(env_logger::Env::default().default_filter_or("warn"));
    let port = common::port();
    let config = PasskeyConfig::builder("localhost", "actix-passkeys bench")
        .origin(format!("http://localhost:{port}"))
        .apply_env()?
        .build()?;
    match env("BENCH_STORE", "memory").as_str() {
        "memory" => {
            let challenges = MemoryChallengeStore::new();
            let probe = challenges.clone();
            let stats: Stats = Arc::new(move || serde_json::json!({ "challenges": probe.len() }));
            let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), challenges);
            serve(passkeys, stats).await
        }
        "redis" => {
            let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), redis().await?);
            serve(passkeys, Arc::new(|| serde_json::json!({}))).await
        }
        "pg" => {
            let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL must be set")?;
            pg::run_migrations(&url).await?;
            let size = env("BENCH_PG_POOL", "10").parse()?;
            let pool = pg::pool(&url, |b| b.max_size(size));
            let credentials = PgCredentialStore::new(pool);
            let passkeys = Passkeys::new(config, credentials, redis().await?);
            serve(passkeys, Arc::new(|| serde_json::json!({}))).await
        }
        other => Err(format!("BENCH_STORE={other}: expected memory, redis or pg").into()),
    }
}
