//! A [`ChallengeStore`] in Redis (feature `redis`), for apps running more than one instance.
//!
//! Every begun ceremony is one Redis string written with `SET key value EX ttl` and consumed with
//! one atomic `GETDEL` (Redis ≥ 6.2), so a challenge is single-use across all instances that
//! share the Redis. Connections come from a `bb8` pool of `bb8-redis` multiplexed
//! connections: let [`RedisChallengeStore::connect`] build one (it checks that Redis answers),
//! or bring your own with [`RedisChallengeStore::new`] (built with `bb8-redis` 0.24, the version
//! this crate uses: another version's pool does not compile there).
//!
//! # TLS
//!
//! A `rediss://` URL connects over TLS when one of the `redis` crate's TLS features is
//! enabled in the app (`redis = { version = "0.32", features = ["tokio-rustls-comp"] }`, which
//! Cargo unifies with this crate's `redis`); without one, `connect` fails with a clear
//! [`RedisStoreError::Redis`]. `rediss://host/#insecure` skips certificate verification:
//! do not use it in production.
//!
//! ```no_run
//! use actix_passkeys::{
//!     store::{memory::MemoryCredentialStore, redis::RedisChallengeStore},
//!     PasskeyConfig, Passkeys,
//! };
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let challenges = RedisChallengeStore::connect("redis://127.0.0.1:6379").await?;
//! let config = PasskeyConfig::builder("example.com", "Example")
//!     .origin("https://example.com")
//!     .build()?;
//! let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), challenges);
//! # let _ = passkeys;
//! # Ok(())
//! # }
//! ```
//!
//! # Keys
//!
//! A record lives under `<prefix><hex SHA-256 of the handle>` (prefix default
//! [`DEFAULT_KEY_PREFIX`]). The handle is the bearer secret of a ceremony, so it is not written
//! to Redis in clear: `MONITOR`, `KEYS`, a replica or an RDB dump shows only its hash, which
//! cannot be turned back into a handle that the finish routes accept. Handles are 256 random
//! bits, so a plain (unsalted) hash is enough; it costs one SHA-256 of 43 bytes per call.
//!
//! # Expiry
//!
//! A record's Redis TTL is its lifetime (`expires_at − created_at`) plus [`EXPIRED_GRACE`]
//! (60 s), rounded up to whole seconds: during the grace a late finish still finds the record
//! and is answered `challenge_expired` rather than `challenge_not_found` (the ceremony layer
//! decides expiry from `expires_at`; Redis only garbage-collects).
//!
//! # Failures
//!
//! Getting a connection is bounded by the pool's `connection_timeout` (2 s with
//! [`RedisChallengeStore::connect`]; bb8 checks each pooled connection with a `PING` within that
//! time), and each command by the store's
//! [operation timeout](RedisChallengeStore::with_operation_timeout), 2 s by default. So an
//! unreachable or stalled Redis turns into a [`RedisStoreError`] within about 2 s, which the
//! routes answer with 503 `store_unavailable` (the cause is logged). The pool reconnects by itself: when Redis is
//! back, the next request is served without restarting the app. Neither handles nor payloads
//! ever appear in errors or logs.

use std::{fmt, future::Future, time::Duration};

use bb8_redis::{
    bb8::{self, ErrorSink, ManageConnection as _, RunError},
    redis::{AsyncCommands as _, RedisError},
    RedisConnectionManager,
};

use super::{ChallengeRecord, ChallengeStore, EXPIRED_GRACE};

/// The pool type [`RedisChallengeStore::new`] takes: `bb8::Pool<bb8_redis::RedisConnectionManager>`
/// of `bb8-redis` 0.24.
pub type RedisPool = bb8::Pool<RedisConnectionManager>;

/// The key prefix unless [`RedisChallengeStore::with_key_prefix`] says otherwise.
pub const DEFAULT_KEY_PREFIX: &str = "actix_passkeys:challenge:";

/// Pool connection timeout used by [`RedisChallengeStore::connect`], and how long `connect`
/// waits for its first connection and `PING`.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Bound on one Redis command (after checkout) unless
/// [`RedisChallengeStore::with_operation_timeout`] says otherwise.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// Errors of the [`RedisChallengeStore`]. Answered with 503 `store_unavailable`.
#[derive(Debug, derive_more::Display, derive_more::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// No pooled connection became available within the pool's connection timeout (Redis
    /// unreachable, or every connection busy). With [`RedisChallengeStore::connect`] the failed
    /// connection attempts are logged as warnings.
    #[display("no Redis connection available within the pool's connection timeout")]
    PoolTimeout,
    /// A command did not finish within the store's operation timeout.
    #[display("Redis did not answer within {_0:?}")]
    Timeout(#[error(not(source))] Duration),
    /// Redis, or the connection to it, failed. (Its text is part of this error's `Display`,
    /// because the 503 log line shows one level of cause; it never contains a handle.)
    #[display("Redis error: {_0}")]
    Redis(RedisError),
    /// A record could not be encoded, or a stored value is not a record.
    #[display("challenge record (de)serialisation failed: {_0}")]
    Serde(serde_json::Error),
}

impl From<RunError<RedisError>> for RedisStoreError {
    fn from(err: RunError<RedisError>) -> Self {
        match err {
            RunError::User(e) => Self::Redis(e),
            RunError::TimedOut => Self::PoolTimeout,
        }
    }
}

/// Single-use, expiring challenges in Redis (`SET … EX` / `GETDEL`); see the
/// [module docs](self) for keys, expiry and failure handling.
///
/// Cloning is cheap and clones share the pool.
///
/// ```no_run
/// use std::time::Duration;
///
/// use actix_passkeys::store::redis::RedisChallengeStore;
/// use bb8_redis::{bb8, RedisConnectionManager}; // bb8-redis 0.24
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // Your own pool, e.g. shared with other Redis users of the app:
/// let manager = RedisConnectionManager::new("redis://127.0.0.1:6379")?;
/// let pool = bb8::Pool::builder()
///     .max_size(16)
///     .connection_timeout(Duration::from_secs(1))
///     .build(manager)
///     .await?;
/// let store = RedisChallengeStore::new(pool).with_key_prefix("myapp:passkeys:");
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisChallengeStore {
    pool: RedisPool,
    prefix: String,
    operation_timeout: Duration,
}

impl fmt::Debug for RedisChallengeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisChallengeStore")
            .field("prefix", &self.prefix)
            .field("operation_timeout", &self.operation_timeout)
            .field("pool", &self.pool.state())
            .finish()
    }
}

/// Logs failed connection attempts of pools built by [`RedisChallengeStore::connect`].
#[derive(Debug, Clone, Copy)]
struct LogErrorSink;

impl ErrorSink<RedisError> for LogErrorSink {
    fn sink(&self, error: RedisError) {
        log::warn!("actix-passkeys: Redis challenge store connection failed: {error}");
    }

    fn boxed_clone(&self) -> Box<dyn ErrorSink<RedisError>> {
        Box::new(*self)
    }
}

impl RedisChallengeStore {
    /// A store over a pool you built (see the type's example). Its `connection_timeout` bounds
    /// how long a request waits for Redis when it is down; keep it short (≤ 2 s).
    pub fn new(pool: RedisPool) -> Self {
        Self {
            pool,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
        }
    }

    /// Builds a pool for `url` (`redis://[:password@]host[:port][/db]`, `rediss://` for TLS,
    /// see the [module docs](self#tls)) with a [`DEFAULT_CONNECTION_TIMEOUT`] (2 s) connection
    /// timeout and connection failures logged as warnings, checks that Redis answers a `PING`
    /// on one connection, and returns a store over the pool.
    ///
    /// An unreachable Redis is an error here ([`RedisStoreError::Redis`] naming the cause, or
    /// [`RedisStoreError::Timeout`] when nothing answers within the timeout), as with the
    /// Diesel stores' `connect`; use [`connect_lazily`](Self::connect_lazily) for an app that
    /// may start before Redis.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), actix_passkeys::store::redis::RedisStoreError> {
    /// let store = actix_passkeys::store::redis::RedisChallengeStore::connect(
    ///     "redis://127.0.0.1:6379/0",
    /// )
    /// .await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, RedisStoreError> {
        let manager = RedisConnectionManager::new(url).map_err(RedisStoreError::Redis)?;
        let checked = tokio::time::timeout(DEFAULT_CONNECTION_TIMEOUT, async {
            let mut conn = manager.connect().await?;
            manager.is_valid(&mut conn).await
        })
        .await;
        match checked {
            Ok(Ok(())) => Ok(Self::over(manager)),
            Ok(Err(e)) => Err(RedisStoreError::Redis(e)),
            Err(_) => Err(RedisStoreError::Timeout(DEFAULT_CONNECTION_TIMEOUT)),
        }
    }

    /// [`connect`](Self::connect) without the check: connections are made when needed, so
    /// this succeeds while Redis is down (requests then get 503 until it is up). It fails only
    /// for a malformed URL.
    pub fn connect_lazily(url: &str) -> Result<Self, RedisStoreError> {
        RedisConnectionManager::new(url)
            .map(Self::over)
            .map_err(RedisStoreError::Redis)
    }

    fn over(manager: RedisConnectionManager) -> Self {
        let pool = bb8::Pool::builder()
            .connection_timeout(DEFAULT_CONNECTION_TIMEOUT)
            .error_sink(Box::new(LogErrorSink))
            .build_unchecked(manager);
        Self::new(pool)
    }

    /// Prefix of every key this store writes. Default: [`DEFAULT_KEY_PREFIX`]
    /// (`actix_passkeys:challenge:`). Give each app (or test) its own when they share a Redis
    /// database.
    #[must_use]
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Upper bound on one Redis command, once a connection is checked out. Default:
    /// [`DEFAULT_OPERATION_TIMEOUT`] (2 s). It guards against a Redis that stops answering on
    /// an open connection; the pool's `connection_timeout` bounds the checkout (unreachable
    /// Redis). When a command times out it may still have run: a timed-out `take` can consume
    /// the challenge (the client retries the ceremony), never hand it out twice.
    #[must_use]
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// The key prefix in use.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The pool (for health checks or sharing).
    pub fn pool(&self) -> &RedisPool {
        &self.pool
    }

    /// The Redis key of `handle`: the prefix and the hex SHA-256 of the handle.
    fn key(&self, handle: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 64);
        key.push_str(&self.prefix);
        key.push_str(&hex::encode(super::handle_digest(handle)));
        key
    }

    /// Runs one command under the operation timeout.
    async fn bounded<T>(
        &self,
        command: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, RedisStoreError> {
        match tokio::time::timeout(self.operation_timeout, command).await {
            Ok(result) => result.map_err(RedisStoreError::Redis),
            Err(_) => Err(RedisStoreError::Timeout(self.operation_timeout)),
        }
    }
}

/// Redis TTL in whole seconds: the record's lifetime plus the grace, rounded up, at least 1.
fn ttl_seconds(record: &ChallengeRecord) -> u64 {
    let lifetime = (record.expires_at - record.created_at)
        .to_std()
        .unwrap_or(Duration::ZERO);
    let total = lifetime.saturating_add(EXPIRED_GRACE);
    let secs = total.as_secs() + u64::from(total.subsec_nanos() > 0);
    secs.max(1)
}

impl ChallengeStore for RedisChallengeStore {
    type Error = RedisStoreError;

    /// Yes: every instance on one database or Redis server shares it.
    fn is_shared(&self) -> bool {
        true
    }

    fn put(
        &self,
        handle: &str,
        record: ChallengeRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let key = self.key(handle);
        async move {
            let ttl = ttl_seconds(&record);
            let value = serde_json::to_string(&record).map_err(RedisStoreError::Serde)?;
            let mut conn = self.pool.get().await?;
            let () = self.bounded(conn.set_ex(&key, value, ttl)).await?;
            Ok(())
        }
    }

    fn take(
        &self,
        handle: &str,
    ) -> impl Future<Output = Result<Option<ChallengeRecord>, Self::Error>> + Send {
        let key = self.key(handle);
        async move {
            let mut conn = self.pool.get().await?;
            let value: Option<String> = self.bounded(conn.get_del(&key)).await?;
            value
                .map(|v| serde_json::from_str(&v).map_err(RedisStoreError::Serde))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::store::Ceremony;

    fn record(lifetime_secs: i64, extra_nanos: i64) -> ChallengeRecord {
        let now = Utc::now();
        ChallengeRecord {
            ceremony: Ceremony::Registration,
            rp_id: "example.com".into(),
            user_id: Some("alice".into()),
            payload: "{}".into(),
            created_at: now,
            expires_at: now
                + chrono::Duration::seconds(lifetime_secs)
                + chrono::Duration::nanoseconds(extra_nanos),
        }
    }

    #[test]
    fn ttl_is_lifetime_plus_grace_rounded_up() {
        assert_eq!(ttl_seconds(&record(300, 0)), 360);
        assert_eq!(ttl_seconds(&record(300, 1)), 361);
        assert_eq!(
            ttl_seconds(&record(-10, 0)),
            60,
            "inverted record: grace only"
        );
    }

    #[actix_rt::test]
    async fn keys_hash_the_handle() {
        let manager = RedisConnectionManager::new("redis://127.0.0.1:1").unwrap();
        let pool = bb8::Pool::builder().build_unchecked(manager);
        let store = RedisChallengeStore::new(pool).with_key_prefix("p:");
        let key = store.key("handle-secret");
        assert!(key.starts_with("p:"));
        assert_eq!(key.len(), 2 + 64);
        assert!(!key.contains("handle-secret"));
        // SHA-256("abc"), the FIPS 180-2 test vector.
        assert_eq!(
            store.key("abc"),
            "p:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
