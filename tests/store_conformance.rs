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
    use std::sync::Arc;

    use actix_passkeys::{
        hooks::FrozenClock,
        store::diesel::sqlite::{self, SqliteChallengeStore, SqliteCredentialStore},
        testing::conformance::{check_challenge_store_with_clock, check_credential_store},
    };

    #[actix_rt::test]
    async fn sqlite_stores() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conformance.db");
        let path = path.to_str().unwrap();
        sqlite::run_migrations(path).await.unwrap();
        let pool = sqlite::connect(path).await.unwrap();
        check_credential_store(&SqliteCredentialStore::new(pool.clone())).await;
        let clock = FrozenClock::new();
        let challenges = SqliteChallengeStore::new(pool).with_clock(Arc::new(clock.clone()));
        check_challenge_store_with_clock(&challenges, &clock).await;
    }
}

#[cfg(feature = "postgres")]
#[path = "support/pg.rs"]
mod pg_support;

#[cfg(feature = "postgres")]
mod postgres {
    use std::sync::Arc;

    use actix_passkeys::{
        hooks::FrozenClock,
        store::diesel::pg::{self, PgChallengeStore, PgCredentialStore},
        testing::conformance::{check_challenge_store_with_clock, check_credential_store},
    };

    use crate::pg_support::PgDatabase;

    #[actix_rt::test]
    async fn postgres_stores() {
        let db = PgDatabase::migrated().await;
        let pool = pg::connect(&db.url).await.unwrap();
        check_credential_store(&PgCredentialStore::new(pool.clone())).await;
        let clock = FrozenClock::new();
        let challenges = PgChallengeStore::new(pool).with_clock(Arc::new(clock.clone()));
        check_challenge_store_with_clock(&challenges, &clock).await;
    }
}

#[cfg(feature = "redis")]
#[path = "support/redis.rs"]
mod redis_support;

#[cfg(feature = "redis")]
mod redis {
    use actix_passkeys::{
        store::{
            redis::{bb8_redis::redis, RedisChallengeStore},
            Ceremony, ChallengeRecord, ChallengeStore as _,
        },
        testing::conformance::check_challenge_store,
    };

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
