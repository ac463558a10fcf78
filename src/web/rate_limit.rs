//! Token-bucket rate limiting of the ceremony routes.
//!
//! Off by default: the default key is the peer address, and behind a reverse proxy every client
//! has the proxy's address, so a default-on limit would throttle all users together. Turn it on
//! with [`PasskeysBuilder::rate_limit`](crate::PasskeysBuilder::rate_limit) and, behind a proxy,
//! a key function that reads the client address from a header your proxy sets.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use futures_util::future::{ready, BoxFuture};

use crate::error::{BoxError, PasskeyError};

/// Most clients the memory backend tracks at once; past that it stops limiting new clients
/// (and logs a warning) rather than refusing everyone.
pub const MEMORY_RATE_LIMIT_KEYS: usize = 100_000;

/// The outcome of one request against a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Let the request through.
    Allow,
    /// Refuse it; a token is available again after this long.
    Limit(Duration),
}

/// Where buckets live. Every instance of an app that shares a backend shares one budget per key.
pub trait RateLimitBackend: fmt::Debug + Send + Sync + 'static {
    /// Takes one token from `key`'s bucket (capacity `burst`, refilled at `per_second`).
    fn take(
        &self,
        key: &str,
        burst: u32,
        per_second: f64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'static, Result<RateDecision, BoxError>>;
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

fn refill(bucket: Bucket, burst: u32, per_second: f64, now: DateTime<Utc>) -> f64 {
    let elapsed = (now - bucket.at)
        .num_microseconds()
        .unwrap_or(i64::MAX)
        .max(0) as f64
        / 1e6;
    (bucket.tokens + elapsed * per_second).min(f64::from(burst))
}

/// In-process buckets (one instance).
#[derive(Debug, Default, Clone)]
pub struct MemoryRateLimit {
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

impl MemoryRateLimit {
    /// An empty set of buckets.
    pub fn new() -> Self {
        Self::default()
    }

    fn take_now(
        &self,
        key: &str,
        burst: u32,
        per_second: f64,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, BoxError> {
        let mut buckets = self
            .buckets
            .lock()
            .map_err(|_| "rate limit lock poisoned")?;
        if buckets.len() >= MEMORY_RATE_LIMIT_KEYS && !buckets.contains_key(key) {
            // Forget clients whose bucket is full again; they are indistinguishable from new ones.
            buckets.retain(|_, b| refill(*b, burst, per_second, now) < f64::from(burst));
            if buckets.len() >= MEMORY_RATE_LIMIT_KEYS {
                log::warn!("passkeys: rate limiter tracks {MEMORY_RATE_LIMIT_KEYS} clients; not limiting new ones");
                return Ok(RateDecision::Allow);
            }
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: f64::from(burst),
            at: now,
        });
        let tokens = refill(*bucket, burst, per_second, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(RateDecision::Allow)
        } else {
            *bucket = Bucket { tokens, at: now };
            let wait = if per_second > 0.0 {
                (1.0 - tokens) / per_second
            } else {
                3600.0
            };
            Ok(RateDecision::Limit(Duration::from_secs_f64(
                wait.min(3600.0),
            )))
        }
    }
}

impl RateLimitBackend for MemoryRateLimit {
    fn take(
        &self,
        key: &str,
        burst: u32,
        per_second: f64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'static, Result<RateDecision, BoxError>> {
        Box::pin(ready(self.take_now(key, burst, per_second, now)))
    }
}

type KeyFn = dyn Fn(&HttpRequest) -> Option<String> + Send + Sync;

/// A rate limit for the ceremony routes (`register/*`, `authenticate/*` and the ceremony
/// extractors): `burst` requests at once per client key, refilled at `per_second`.
///
/// ```
/// use actix_passkeys::RateLimit;
///
/// // 20 ceremony requests at once per client address, then one every 2 seconds.
/// let limit = RateLimit::new(20, 0.5);
/// // Behind a proxy that sets X-Real-IP (and strips it from client requests):
/// let limit = limit.key(|req| {
///     req.headers().get("x-real-ip").and_then(|v| v.to_str().ok()).map(str::to_owned)
/// });
/// # let _ = limit;
/// ```
#[derive(Clone)]
pub struct RateLimit {
    burst: u32,
    per_second: f64,
    key: Arc<KeyFn>,
    backend: Arc<dyn RateLimitBackend>,
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("burst", &self.burst)
            .field("per_second", &self.per_second)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl RateLimit {
    /// `burst` requests at once (at least 1), refilled at `per_second`; keyed by peer address,
    /// in memory.
    pub fn new(burst: u32, per_second: f64) -> Self {
        Self {
            burst: burst.max(1),
            per_second: if per_second.is_finite() {
                per_second.max(0.0)
            } else {
                0.0
            },
            key: Arc::new(|req: &HttpRequest| req.peer_addr().map(|a| a.ip().to_string())),
            backend: Arc::new(MemoryRateLimit::new()),
        }
    }

    /// Derives the client key from the request (default: the peer IP). `None` skips limiting.
    #[must_use]
    pub fn key(
        mut self,
        key: impl Fn(&HttpRequest) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.key = Arc::new(key);
        self
    }

    /// Keeps buckets in `backend` (default: [`MemoryRateLimit`]).
    #[must_use]
    pub fn backend(mut self, backend: impl RateLimitBackend) -> Self {
        self.backend = Arc::new(backend);
        self
    }

    /// Takes a token for `req`'s client; `Err(RateLimited)` when its bucket is empty. A failing
    /// backend lets the request through (logged): limiting is a defence, not a dependency.
    pub(crate) fn check(
        &self,
        req: &HttpRequest,
        now: DateTime<Utc>,
    ) -> BoxFuture<'static, Result<(), PasskeyError>> {
        let Some(key) = (self.key)(req) else {
            return Box::pin(ready(Ok(())));
        };
        let decision = self.backend.take(&key, self.burst, self.per_second, now);
        Box::pin(async move {
            match decision.await {
                Ok(RateDecision::Allow) => Ok(()),
                Ok(RateDecision::Limit(wait)) => Err(PasskeyError::RateLimited {
                    retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                }),
                Err(e) => {
                    log::warn!("passkeys: rate limit backend failed, not limiting: {e}");
                    Ok(())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let limiter = MemoryRateLimit::new();
        let t0 = Utc::now();
        for _ in 0..3 {
            assert_eq!(
                limiter.take_now("a", 3, 1.0, t0).unwrap(),
                RateDecision::Allow
            );
        }
        let RateDecision::Limit(wait) = limiter.take_now("a", 3, 1.0, t0).unwrap() else {
            panic!("fourth request must be limited");
        };
        assert!(wait <= Duration::from_secs(1));
        assert_eq!(
            limiter.take_now("b", 3, 1.0, t0).unwrap(),
            RateDecision::Allow,
            "per key"
        );
        let t1 = t0 + chrono::Duration::milliseconds(1000);
        assert_eq!(
            limiter.take_now("a", 3, 1.0, t1).unwrap(),
            RateDecision::Allow,
            "refilled"
        );
        assert!(matches!(
            limiter.take_now("a", 3, 1.0, t1).unwrap(),
            RateDecision::Limit(_)
        ));
    }
}
