//! # actix-passkeys
//!
//! Passkeys (WebAuthn) for [actix-web](https://actix.rs): one service gives an app the whole
//! passkey lifecycle — registration, sign-in (username-first, usernameless and browser autofill),
//! and listing, renaming and revoking passkeys — with server-side, single-use challenges and an
//! optional [actix-session](https://docs.rs/actix-session) bridge that keeps the signed-in user
//! in typed session state.
//!
//! ```
//! use actix_passkeys::{
//!     store::memory::{MemoryChallengeStore, MemoryCredentialStore},
//!     Authenticated, PasskeyConfig, Passkeys,
//! };
//! use actix_session::{storage::CookieSessionStore, SessionMiddleware};
//! use actix_web::{cookie::Key, web, App, HttpResponse};
//!
//! async fn me(user: Authenticated) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("signed in as {}", user.user_id))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = PasskeyConfig::builder("localhost", "My App")
//!     .origin("http://localhost:8080")
//!     .build()?;
//! let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), MemoryChallengeStore::new());
//! let key = Key::generate();
//! let app = move || {
//!     App::new()
//!         .wrap(SessionMiddleware::new(CookieSessionStore::default(), key.clone()))
//!         // POST /auth/passkeys/register/begin, …, and the handle as app data for every
//!         // route: `Authenticated` on /me needs it to check the session's credential
//!         .configure(passkeys.configure())
//!         .route("/me", web::get().to(me))
//! };
//! // actix_web::HttpServer::new(app).bind(("localhost", 8080))?.run().await
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! ## Crate features
//!
//! - `session` (default): the actix-session bridge — [`Authenticated`], [`Fresh`],
//!   [`Passkeys::identify`], [`hooks::SessionUserResolver`], the `logout` route.
//! - `sqlite` (default): [`store::diesel::sqlite`] — credentials and challenges in an embedded
//!   SQLite file (compiled in, nothing to install), with embedded migrations.
//! - `postgres`: [`store::diesel::pg`] — credentials and challenges in PostgreSQL over
//!   diesel-async and bb8 (pure Rust, no libpq), with embedded migrations.
//! - `postgres-tls`: PostgreSQL over TLS (rustls) as the URL's `sslmode` says
//!   ([`store::diesel::pg::SslMode`]).
//! - `redis`: [`store::redis::RedisChallengeStore`] and [`rate_limit::RedisRateLimit`] — challenges
//!   and rate-limit buckets in Redis (bb8-redis) for apps running several instances.
//! - `testing`: [`testing`] — a software authenticator for tests.
//! - `metrics`: counters, latency histograms and a gauge of the ceremonies, the stores and the
//!   rate limit through the [`metrics`](https://docs.rs/metrics) facade, for the recorder the app
//!   installs (e.g. Prometheus); [Operations](#operations), below.
//! - `openapi`: the OpenAPI 3.1 document of the scope's routes at `<scope>/openapi.json`
//!   (`Passkeys::openapi_json`), generated with utoipa from the request and response types.
//!
//! ## Where things are
//!
//! The crate root holds what an app names: [`Passkeys`] and its builder, [`PasskeyConfig`] and
//! its builder, the errors ([`ConfigError`], [`BuildError`], [`PasskeyError`] with its
//! [`ErrorCode`]), [`PasskeyUser`], the extractors and [`sign_out`]. The rest lives in modules
//! named for what they hold: [`store`] (the store traits, records and backends), [`rate_limit`],
//! [`hooks`] (resolver, sign-in hook, audit, clock, session state), [`wire`] (the JSON the
//! routes speak), [`policy`] (the config's policy enums, origins and bounds) and [`testing`].
//!
//! ## Guide
//!
//! The guide's chapters are the docs of the modules they are about (their sources are the
//! `docs/*.md` files of the repository, and every code block in them is compiled as a doctest):
//!
//! - [Configuration](policy): every setting, its environment variable, default and rule; the
//!   server secret; related origins, authenticator names, several relying parties in one app.
//! - [Wire contract](wire): the routes and their JSON, OpenAPI, the Signal API, conditional
//!   create, and what differs from fastapi-passkeys; [errors](wire#errors): the envelope and
//!   every code with its status.
//! - [Storage](store): the two store traits, the shipped stores, Diesel migrations and table
//!   names, PostgreSQL and Redis over TLS, which challenge store to choose, the conformance kit.
//! - [Custom flows](hooks): your own routes through the extractors, the user resolver,
//!   `identify`, the sign-in hook and the session checks; [rate limiting](rate_limit).
//! - [Security](#security), below: the rules, each with the test that proves it, and logging.
//! - [Operations](#operations), below: the metrics (names, units, labels) and what to alert on.
//! - [Testing](testing): what each of the repository's test suites proves, and fuzzing.
#![doc = include_str!("../docs/security.md")]
#![doc = include_str!("../docs/operations.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aaguid;
mod audit;
mod ceremony;
mod clock;
mod config;
mod error;
pub mod hooks;
mod json;
mod metrics;
mod model;
mod origin;
pub mod policy;
pub mod rate_limit;
pub mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod text;
mod web;
pub mod wire;

#[cfg(feature = "session")]
#[cfg_attr(docsrs, doc(cfg(feature = "session")))]
pub use self::web::{
    extract::{Authenticated, Fresh},
    session::sign_out,
};
pub use self::{
    config::{ConfigError, PasskeyConfig, PasskeyConfigBuilder},
    error::{BuildError, ErrorCode, PasskeyError},
    model::PasskeyUser,
    web::{
        extract::VerifiedAssertion,
        scope::PasskeysBuilder,
        service::{Passkeys, VerifiedRegistration},
    },
};

/// The README's code blocks, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
