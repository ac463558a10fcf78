//! [`RedisRateLimit`]: token buckets in Redis (feature `redis`).

use std::{fmt, time::Duration};

use super::{RateDecision, RateLimitBackend};
use crate::store::redis::{
    RedisChallengeStore, RedisPool, RedisStoreError, DEFAULT_OPERATION_TIMEOUT,
};
use chrono::{DateTime, Utc};

/// Token bucket in Redis: one hash per client key, updated atomically by a Lua script.
const BUCKET_SCRIPT: &str = r"
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
elseif rate > 0 then
  wait = math.ceil((1 - tokens) / rate * 1000)
else
  wait = 3600000
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(now))
if rate > 0 then
  redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
else
  redis.call('EXPIRE', KEYS[1], 3600)
end
return wait
";

/// Rate-limit buckets in Redis, so every instance of an app shares one budget per client
/// (feature `redis`). Use with [`RateLimit::backend`](super::RateLimit::backend).
///
/// ```no_run
/// use actix_passkeys::rate_limit::{RateLimit, RedisRateLimit};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let limit = RateLimit::new(20, 0.5).backend(RedisRateLimit::connect("redis://127.0.0.1:6379").await?);
/// # let _ = limit;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisRateLimit {
    pool: RedisPool,
    prefix: String,
    operation_timeout: Duration,
    /// The bucket script: sent by its SHA-1 (`EVALSHA`), loaded once when Redis answers
    /// `NOSCRIPT`.
    script: redis::Script,
}

impl fmt::Debug for RedisRateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimit")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The key prefix of [`RedisRateLimit`] unless [`RedisRateLimit::with_key_prefix`] says otherwise.
pub const DEFAULT_RATE_LIMIT_PREFIX: &str = "actix_passkeys:rate:";

impl RedisRateLimit {
    /// Buckets in the Redis behind `pool`.
    pub fn new(pool: RedisPool) -> Self {
        Self {
            pool,
            prefix: DEFAULT_RATE_LIMIT_PREFIX.to_owned(),
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            script: redis::Script::new(BUCKET_SCRIPT),
        }
    }

    /// Connects a pool to `url` (2 s connection timeout), as [`RedisChallengeStore::connect`].
    pub async fn connect(url: &str) -> Result<Self, RedisStoreError> {
        Ok(Self::new(
            RedisChallengeStore::connect(url).await?.pool().clone(),
        ))
    }

    /// Sets the key prefix (one per app sharing a Redis).
    #[must_use]
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

impl RateLimitBackend for RedisRateLimit {
    type Error = RedisStoreError;

    fn take(
        &self,
        key: &str,
        burst: u32,
        per_second: f64,
        now: DateTime<Utc>,
    ) -> impl std::future::Future<Output = Result<RateDecision, RedisStoreError>> + Send {
        let this = self.clone();
        let key = format!("{}{key}", self.prefix);
        async move {
            let mut conn = this.pool.get().await.map_err(RedisStoreError::from)?;
            let mut invocation = this.script.key(key);
            invocation
                .arg(burst)
                .arg(per_second)
                .arg(now.timestamp_millis());
            let call = invocation.invoke_async::<u64>(&mut *conn);
            let wait_ms = match tokio::time::timeout(this.operation_timeout, call).await {
                Ok(result) => result.map_err(RedisStoreError::Redis)?,
                Err(_) => return Err(RedisStoreError::Timeout(this.operation_timeout)),
            };
            Ok(if wait_ms == 0 {
                RateDecision::Allow
            } else {
                RateDecision::Limit(Duration::from_millis(wait_ms))
            })
        }
    }
}
