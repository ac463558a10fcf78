//! `cargo run --example quickstart`: passkeys on http://localhost:8080 with nothing to install.
//!
//! Credentials in SQLite (`passkeys.db` in the working directory, or the file `DATABASE_URL`
//! names, e.g. `sqlite://data/passkeys.db`), migrated on start, so passkeys survive restarts.
//! Challenges in memory, cookie sessions. Configure with `PORT` and the `PASSKEYS_*` variables
//! (rp id `localhost` and origin `http://localhost:$PORT` by default). The passkey server secret
//! (fake credential ids for unknown users, handles of new users) is kept in a key file next to
//! the database (`passkeys.secret` for `passkeys.db`), created with mode 0600 on first start,
//! so those answers survive restarts too.
//!
//! The WebAuthn `prf` extension is on (`PASSKEYS_PRF=false` turns it off): after a username-first
//! sign-in with a PRF-capable passkey, the page derives an AES-GCM key from the PRF output
//! (HKDF, WebCrypto) and encrypts and decrypts a text with it, in the browser only. After a
//! sign-in from another device (a phone over hybrid), the page offers a passkey on this one.

#[path = "common/mod.rs"]
mod common;

use actix_passkeys::{
    store::{diesel::sqlite, memory::MemoryChallengeStore},
    Passkeys,
};
use actix_web::{cookie::Key, App, HttpServer};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::dev::init_logging();
    let port = common::port();
    let config =
        common::dev::local_config_with("actix-passkeys quickstart", port, |b| b.prf(true))?;
    let database = std::env::var("DATABASE_URL").unwrap_or_else(|_| "passkeys.db".to_owned());
    sqlite::run_migrations(&database).await?;
    let credentials = sqlite::SqliteCredentialStore::connect(&database).await?;
    let secret = common::dev::secret_file(&common::dev::secret_path(&database))?;
    let passkeys = Passkeys::builder(config, credentials, MemoryChallengeStore::new())
        .server_secret(secret)
        .build()?;
    let key = Key::generate();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(common::dev::cookie_sessions(key.clone()))
            .configure(common::routes(passkeys.clone()))
    })
    .bind(("localhost", port))?
    .run();
    println!("actix-passkeys quickstart: open http://localhost:{port} (passkeys in {database})");
    server.await?;
    Ok(())
}
