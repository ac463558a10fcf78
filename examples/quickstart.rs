//! `cargo run --example quickstart`: passkeys on http://localhost:8080 with nothing to install.
//!
//! In-memory credentials and challenges, cookie sessions. Configure with `PORT` and the
//! `PASSKEYS_*` variables (rp id `localhost` and origin `http://localhost:$PORT` by default).

#[path = "common/mod.rs"]
mod common;

use actix_passkeys::{
    store::memory::{MemoryChallengeStore, MemoryCredentialStore},
    PasskeyConfig, Passkeys,
};
use actix_session::{storage::CookieSessionStore, SessionMiddleware};
use actix_web::{cookie::Key, App, HttpServer};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::init_from_env(
        env_logger::Env::default().default_filter_or("info,webauthn_rs_core=warn"),
    );
    let port = common::port();
    let config = PasskeyConfig::builder("localhost", "actix-passkeys quickstart")
        .origin(format!("http://localhost:{port}"))
        .apply_env()?
        .build()?;
    let passkeys = Passkeys::new(
        config,
        MemoryCredentialStore::new(),
        MemoryChallengeStore::new(),
    )?;
    let key = Key::generate();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                    .cookie_secure(false)
                    .build(),
            )
            .configure(common::routes(passkeys.clone()))
    })
    .bind(("localhost", port))?
    .run();
    println!("actix-passkeys quickstart: open http://localhost:{port}");
    server.await?;
    Ok(())
}
