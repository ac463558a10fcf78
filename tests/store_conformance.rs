//! The shipped stores against the public conformance kit, using only the public API (the proof
//! that third-party stores can run the kit from their own tests).
//!
//! Backends that need a server run against the local one: Redis at 127.0.0.1:6379 (override
//! with `REDIS_URL`), PostgreSQL at 127.0.0.1:5432 (a fresh database per run, dropped after) and
//! SQLite in a temporary directory. Each Redis run uses its own key prefix and removes its keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use actix_passkeys::{
    hooks::FrozenClock,
    store::memory::{MemoryChallengeStore, MemoryCredentialStore},
    testing::conformance::{
        check_challenge_store, check_challenge_store_with_clock, check_credential_store,
    },
};

/// The whole kit on both Diesel stores of backend `B` over `pool`, on the tables `tables`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn check_diesel_stores<B: actix_passkeys::store::diesel::Backend>(
    pool: B::Pool,
    tables: &actix_passkeys::store::diesel::Tables,
) {
    use actix_passkeys::store::diesel::{DieselChallengeStore, DieselCredentialStore};
    check_credential_store(&DieselCredentialStore::<B>::new(pool.clone()).with_tables(tables))
        .await;
    let clock = FrozenClock::new();
    let challenges = DieselChallengeStore::<B>::new(pool)
        .with_tables(tables)
        .with_clock(Arc::new(clock.clone()));
    check_challenge_store_with_clock(&challenges, &clock).await;
}

#[actix_rt::test]
async fn memory_challenge_store() {
    check_challenge_store(&MemoryChallengeStore::new()).await;
}

#[actix_rt::test]
async fn memory_challenge_store_with_frozen_clock() {
    let clock = FrozenClock::new();
    let store = MemoryChallengeStore::new().with_clock(Arc::new(clock.clone()));
    check_challenge_store_with_clock(&store, &clock).await;
}

#[actix_rt::test]
async fn memory_credential_store() {
    check_credential_store(&MemoryCredentialStore::new()).await;
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use actix_passkeys::store::diesel::{sqlite, Tables};

    use crate::check_diesel_stores;

    #[actix_rt::test]
    async fn sqlite_stores() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conformance.db");
        let path = path.to_str().unwrap();
        sqlite::run_migrations(path).await.unwrap();
        let pool = sqlite::connect(path).await.unwrap();
        check_diesel_stores::<sqlite::Sqlite>(pool, &Tables::default()).await;
    }

    /// An app whose database already has a `passkey_credentials` table of its own: the
    /// migrations and the stores use other names, the whole kit passes, the app's table is
    /// untouched, and a second set of tables (the default names) lives beside them.
    #[actix_rt::test]
    async fn sqlite_stores_with_configured_table_names() {
        use diesel::{Connection as _, RunQueryDsl as _};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        let path = path.to_str().unwrap();
        let mut conn = diesel::SqliteConnection::establish(path).unwrap();
        diesel::sql_query("CREATE TABLE passkey_credentials (app_column TEXT)")
            .execute(&mut conn)
            .unwrap();
        let tables = Tables::new("webauthn_keys", "webauthn_ceremonies").unwrap();
        assert_eq!(
            sqlite::run_migrations_with(path, &tables).await.unwrap(),
            super::shipped("sqlite")
        );
        assert_eq!(sqlite::run_migrations_with(path, &tables).await.unwrap(), 0);
        check_diesel_stores::<sqlite::Sqlite>(sqlite::connect(path).await.unwrap(), &tables).await;
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let columns = |table: &str, conn: &mut diesel::SqliteConnection| {
            diesel::sql_query(format!("SELECT name FROM pragma_table_info('{table}')"))
                .load::<Name>(conn)
                .unwrap()
                .into_iter()
                .map(|n| n.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(columns("passkey_credentials", &mut conn), ["app_column"]);
        assert_eq!(columns("webauthn_keys", &mut conn).len(), 21);
        assert_eq!(columns("webauthn_ceremonies", &mut conn).len(), 7);
        let indexes = diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'webauthn_%'",
        )
        .load::<Name>(&mut conn)
        .unwrap();
        assert_eq!(indexes.len(), 2, "indexes are named after their tables");
        // The default names in another file of the same kind would collide with the app's
        // table; a second prefixed set beside the first is migrated on its own.
        let other = Tables::with_prefix("tenant2_").unwrap();
        assert_eq!(
            sqlite::run_migrations_with(path, &other).await.unwrap(),
            super::shipped("sqlite")
        );
        assert_eq!(sqlite::run_migrations_with(path, &tables).await.unwrap(), 0);
    }
}

#[cfg(feature = "postgres")]
#[path = "support/pg.rs"]
mod pg_support;

#[cfg(feature = "postgres")]
mod postgres {
    use actix_passkeys::store::diesel::{pg, Tables};

    use crate::check_diesel_stores;

    use crate::pg_support::PgDatabase;

    #[actix_rt::test]
    async fn postgres_stores() {
        let db = PgDatabase::migrated().await;
        let pool = pg::connect(&db.url).await.unwrap();
        check_diesel_stores::<pg::Postgres>(pool, &Tables::default()).await;
    }

    /// An app whose database already has a `passkey_credentials` table of its own: the
    /// migrations and the stores use prefixed names, the whole kit passes, the app's table is
    /// untouched, and the default set migrated beside them is migrated on its own.
    #[actix_rt::test]
    async fn postgres_stores_with_configured_table_names() {
        use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
        let db = PgDatabase::create().await;
        let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
        diesel::sql_query("CREATE TABLE passkey_challenges (app_column TEXT)")
            .execute(&mut conn)
            .await
            .unwrap();
        let tables = Tables::with_prefix("auth_").unwrap();
        assert_eq!(
            pg::run_migrations_with(&db.url, &tables).await.unwrap(),
            super::shipped("postgres")
        );
        assert_eq!(pg::run_migrations_with(&db.url, &tables).await.unwrap(), 0);
        check_diesel_stores::<pg::Postgres>(pg::connect(&db.url).await.unwrap(), &tables).await;
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let columns = diesel::sql_query(
            "SELECT table_name || '.' || column_name AS name FROM information_schema.columns \
             WHERE table_schema = 'public' ORDER BY 1",
        )
        .load::<Name>(&mut conn)
        .await
        .unwrap();
        let count = |table: &str| {
            columns
                .iter()
                .filter(|c| c.name.starts_with(&format!("{table}.")))
                .count()
        };
        assert_eq!(
            count("passkey_challenges"),
            1,
            "the app's table is untouched"
        );
        assert_eq!(count("passkey_credentials"), 0);
        assert_eq!(count("auth_passkey_credentials"), 21);
        assert_eq!(count("auth_passkey_challenges"), 7);
        // The shipped names, once the app's table is out of the way, migrate on their own.
        diesel::sql_query("DROP TABLE passkey_challenges")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            pg::run_migrations(&db.url).await.unwrap(),
            super::shipped("postgres")
        );
        assert_eq!(pg::run_migrations_with(&db.url, &tables).await.unwrap(), 0);
    }
}

#[cfg(feature = "redis")]
#[path = "support/redis.rs"]
mod redis_support;

#[cfg(feature = "redis")]
mod redis {
    use actix_passkeys::{
        store::{redis::RedisChallengeStore, Ceremony, ChallengeRecord, ChallengeStore as _},
        testing::conformance::check_challenge_store,
    };
    use bb8_redis::redis;

    use crate::redis_support::{clean, keys, unique_prefix, url};

    #[actix_rt::test]
    async fn redis_challenge_store() {
        let prefix = unique_prefix("conformance");
        let store = RedisChallengeStore::connect(&url())
            .await
            .unwrap()
            .with_key_prefix(prefix.clone());
        check_challenge_store(&store).await;
        assert_eq!(clean(&prefix), 0, "the kit takes what it puts");
    }

    #[actix_rt::test]
    async fn redis_keys_hide_handles_and_carry_the_grace_ttl() {
        let prefix = unique_prefix("keys");
        let store = RedisChallengeStore::connect(&url())
            .await
            .unwrap()
            .with_key_prefix(prefix.clone());
        let handle = "a-handle-that-must-not-appear-in-redis";
        let now = chrono::Utc::now();
        let record = ChallengeRecord {
            ceremony: Ceremony::Registration,
            rp_id: "example.com".to_owned(),
            user_id: Some("alice".to_owned()),
            payload: "{}".to_owned(),
            created_at: now,
            expires_at: now + chrono::Duration::seconds(300),
        };
        store.put(handle, record.clone()).await.unwrap();
        let keys = keys(&prefix);
        assert_eq!(keys.len(), 1);
        assert!(!keys[0].contains(handle), "the key is a hash of the handle");
        let client = redis::Client::open(url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let ttl: i64 = redis::cmd("TTL")
            .arg(&keys[0])
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            (355..=360).contains(&ttl),
            "TTL = lifetime + 60 s grace, got {ttl}"
        );
        assert_eq!(store.take(handle).await.unwrap(), Some(record));
        assert_eq!(clean(&prefix), 0, "GETDEL removed the key");
    }
}

/// How many migrations ship for `backend` (the directories under `migrations/<backend>`).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn shipped(backend: &str) -> usize {
    std::fs::read_dir(format!(
        "{}/migrations/{backend}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .filter(|e| e.as_ref().unwrap().path().is_dir())
    .count()
}
