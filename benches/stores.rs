//! Store operations on the sign-in path: the challenge store's `put`/`take` and the credential
//! store's `get`/`update_usage` (the counter compare-and-swap).
//!
//! `cargo bench --features testing,redis,postgres --bench stores`. The Redis cases run when Redis
//! answers at `REDIS_URL` (default `redis://127.0.0.1:6379/0`, keys under `bench:stores:<pid>:`);
//! the PostgreSQL cases when `BENCH_DATABASE_URL` names a database this bench may migrate and
//! fill (bench/run.sh creates and drops one). Each is skipped with a note otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::cell::Cell;

use actix_passkeys::{
    store::Credential,
    store::UsageUpdate,
    store::{
        memory::{MemoryChallengeStore, MemoryCredentialStore},
        Ceremony, ChallengeRecord, ChallengeStore, CredentialStore,
    },
};
use chrono::Utc;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A record the size of a real authentication state (~700 bytes of JSON).
fn record() -> ChallengeRecord {
    let now = Utc::now();
    ChallengeRecord {
        ceremony: Ceremony::Authentication,
        rp_id: "example.com".into(),
        user_id: Some("user-0".into()),
        payload: format!(
            "{{\"state\":\"{}\",\"user_id\":\"user-0\"}}",
            "x".repeat(680)
        ),
        created_at: now,
        expires_at: now + chrono::Duration::seconds(300),
    }
}

fn handle(n: u64) -> String {
    format!("{n:043}")
}

/// `rt` must be the runtime the store's pool was made on (its connections' tasks live there).
fn bench_challenges<S: ChallengeStore>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: &S,
) {
    let n = Cell::new(0u64);
    let rec = record();
    c.bench_function(&format!("challenge_put/{name}"), |b| {
        b.iter(|| {
            n.set(n.get() + 1);
            rt.block_on(store.put(&handle(n.get()), rec.clone()))
                .expect("put")
        })
    });
    c.bench_function(&format!("challenge_take/{name}"), |b| {
        b.iter_batched(
            || {
                n.set(n.get() + 1);
                let h = handle(n.get());
                rt.block_on(store.put(&h, rec.clone())).expect("put");
                h
            },
            |h| rt.block_on(store.take(&h)).expect("take").expect("present"),
            BatchSize::SmallInput,
        )
    });
}

fn bench_memory_challenges(c: &mut Criterion) {
    // Large enough that the timed puts never fill it.
    let store = MemoryChallengeStore::new().with_capacity(1 << 24);
    bench_challenges(c, &runtime(), "memory", &store);
}

fn credential() -> Credential {
    Credential {
        credential_id: vec![7; 16],
        user_id: "user-0".into(),
        user_handle: vec![1; 32],
        passkey: "{}".into(),
        public_key: vec![0; 77],
        sign_count: 0,
        transports: vec!["internal".into(), "hybrid".into()],
        aaguid: None,
        backup_eligible: true,
        backup_state: true,
        user_verified: true,
        attestation_fmt: "none".into(),
        discoverable: Some(true),
        device_name: "bench".into(),
        created_at: Utc::now(),
        last_used_at: None,
        disabled_at: None,
        disabled_reason: None,
        prf_enabled: false,
        prf_salt: None,
        last_attachment: None,
    }
}

/// `get` and `update_usage` of the stored credential `id` (its counter starts at 0).
fn bench_credentials<C: CredentialStore>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: &C,
    id: &[u8],
) {
    let counter = Cell::new(0u32);
    c.bench_function(&format!("credential_get/{name}"), |b| {
        b.iter(|| rt.block_on(store.get(id)).expect("get").expect("present"))
    });
    c.bench_function(&format!("credential_update_usage/{name}"), |b| {
        b.iter(|| {
            let old = counter.get();
            counter.set(old + 1);
            let update = UsageUpdate {
                credential_id: id.to_vec(),
                old_sign_count: old,
                new_sign_count: old + 1,
                backup_eligible: true,
                backup_state: true,
                used_at: Utc::now(),
                attachment: None,
            };
            assert!(rt.block_on(store.update_usage(&update)).expect("update"));
        })
    });
}

fn bench_memory_credentials(c: &mut Criterion) {
    let rt = runtime();
    let store = MemoryCredentialStore::new();
    // A realistic population: 10,000 users with one passkey each.
    for i in 0..10_000u32 {
        let mut cred = credential();
        cred.credential_id = i.to_be_bytes().repeat(4);
        cred.user_id = format!("user-{i}");
        assert!(rt.block_on(store.insert(&cred)).expect("insert"));
    }
    let id = 0u32.to_be_bytes().repeat(4);
    bench_credentials(c, &rt, "memory", &store, &id);
}

#[cfg(feature = "redis")]
fn bench_redis_challenges(c: &mut Criterion) {
    use actix_passkeys::store::redis::RedisChallengeStore;
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    let rt = runtime();
    let prefix = format!("bench:stores:{}:", std::process::id());
    let store = rt.block_on(async {
        let store = RedisChallengeStore::connect(&url)
            .await
            .ok()?
            .with_key_prefix(prefix.clone());
        // Probe: a put that fails means Redis is not there.
        store.put("probe", record()).await.ok()?;
        store.take("probe").await.ok()?;
        Some(store)
    });
    let Some(store) = store else {
        eprintln!("stores bench: Redis not reachable at {url}; skipping the Redis cases");
        return;
    };
    bench_challenges(c, &rt, "redis", &store);
    // The timed puts are never taken; they expire with the TTL, but remove them now.
    rt.block_on(async {
        if let Ok(mut conn) = store.pool().get().await {
            let keys: Vec<String> = bb8_redis::redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query_async(&mut *conn)
                .await
                .unwrap_or_default();
            for chunk in keys.chunks(1000) {
                let _: Result<(), _> = bb8_redis::redis::cmd("DEL")
                    .arg(chunk)
                    .query_async(&mut *conn)
                    .await;
            }
        }
    });
}

#[cfg(not(feature = "redis"))]
fn bench_redis_challenges(_: &mut Criterion) {
    eprintln!("stores bench: built without feature `redis`; skipping the Redis cases");
}

#[cfg(feature = "postgres")]
fn bench_pg(c: &mut Criterion) {
    use actix_passkeys::store::diesel::pg::{self, PgChallengeStore, PgCredentialStore};
    let Ok(url) = std::env::var("BENCH_DATABASE_URL") else {
        eprintln!("stores bench: BENCH_DATABASE_URL not set; skipping the PostgreSQL cases");
        return;
    };
    let rt = runtime();
    let stores = rt.block_on(async {
        pg::run_migrations(&url).await.ok()?;
        let pool = pg::connect(&url).await.ok()?;
        Some((
            PgCredentialStore::new(pool.clone()),
            PgChallengeStore::new(pool),
        ))
    });
    let Some((credentials, challenges)) = stores else {
        eprintln!("stores bench: PostgreSQL not reachable at BENCH_DATABASE_URL; skipping");
        return;
    };
    bench_challenges(c, &rt, "postgres", &challenges);
    let mut cred = credential();
    cred.credential_id = std::process::id().to_be_bytes().repeat(4);
    let id = cred.credential_id.clone();
    assert!(rt.block_on(credentials.insert(&cred)).expect("insert"));
    bench_credentials(c, &rt, "postgres", &credentials, &id);
}

#[cfg(not(feature = "postgres"))]
fn bench_pg(_: &mut Criterion) {
    eprintln!("stores bench: built without feature `postgres`; skipping the PostgreSQL cases");
}

criterion_group!(
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench_memory_challenges, bench_memory_credentials, bench_redis_challenges, bench_pg
);
criterion_main!(benches);
