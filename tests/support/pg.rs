//! A fresh PostgreSQL database per test (shared by the test binaries that need one).
#![allow(dead_code, unreachable_pub)]

/// PostgreSQL server for the tests: `PASSKEYS_TEST_PG`, default the local trust-auth server.
pub fn pg_server() -> String {
    std::env::var("PASSKEYS_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh PostgreSQL database for one test, dropped (WITH (FORCE)) when this is dropped.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    /// Creates an empty database `pk_<random>` (no migrations).
    pub async fn create() -> Self {
        use diesel_async::{AsyncConnection as _, RunQueryDsl as _};
        let name = format!("pk_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin =
            diesel_async::AsyncPgConnection::establish(&format!("{}/test", pg_server()))
                .await
                .expect("PostgreSQL at PASSKEYS_TEST_PG (default 127.0.0.1:5432, db `test`)");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let url = format!("{}/{name}", pg_server());
        Self { name, url }
    }

    /// Creates a database and runs the embedded migrations.
    pub async fn migrated() -> Self {
        let db = Self::create().await;
        actix_passkeys::store::diesel::pg::run_migrations(&db.url)
            .await
            .expect("migrations");
        db
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime: drop the database from a thread with its own.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            use diesel_async::{AsyncConnection as _, RunQueryDsl as _};
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut admin =
                    diesel_async::AsyncPgConnection::establish(&format!("{}/test", pg_server()))
                        .await?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(_))) && !std::thread::panicking() {
            panic!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}
