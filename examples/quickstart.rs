//! `cargo run --example quickstart`: passkeys on http://localhost:8080 with nothing to install.
//!
//! Credentials in SQLite (`passkeys.db` in the working directory, or the file `DATABASE_URL`
//! names, e.g. `sqlite://data/passkeys.db`), migrated on start, so passkeys survive restarts.
//! Challenges in memory, cookie sessions. Configure with `PORT` and the `PASSKEYS_*` variables
//! (rp id `localhost` and origin `http://localhost:$PORT` by default). The passkey server secret
//! (fake credential ids for unknown users, handles of new users) is kept in a key file next to
//! the database (`passkeys.secret` for `passkeys.db`), created with mode 0600 on first start,
//! so those answers survive restarts too.

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
    let config = common::dev::local_config("actix-passkeys quickstart", port)?;
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
