//! [`MemoryRateLimit`]: token buckets in process memory.

use std::{
    convert::Infallible,
    fmt,
    future::Future,
    num::NonZeroUsize,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use lru::LruCache;

use super::{RateDecision, RateLimitBackend, MEMORY_RATE_LIMIT_KEYS};

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

/// In-process buckets (one instance), at most [`MEMORY_RATE_LIMIT_KEYS`] clients (or the
/// capacity given to [`with_capacity`](Self::with_capacity)).
///
/// The table is a least-recently-used map: every request is O(1) under the lock, and a flood of
/// new client keys only makes the limiter forget the clients it has not seen for the longest
/// time. A forgotten client starts again with a full bucket, which is what a new client gets
/// anyway; the limit never switches off.
///
/// ```
/// use actix_passkeys::{rate_limit::MemoryRateLimit, rate_limit::RateLimit};
/// let limit = RateLimit::new(10, 1.0).backend(MemoryRateLimit::with_capacity(10_000));
/// # let _ = limit;
/// ```
#[derive(Clone)]
pub struct MemoryRateLimit {
    buckets: Arc<Mutex<LruCache<String, Bucket>>>,
}

impl fmt::Debug for MemoryRateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRateLimit")
            .field("clients", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryRateLimit {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRateLimit {
    /// An empty set of buckets for up to [`MEMORY_RATE_LIMIT_KEYS`] clients.
    pub fn new() -> Self {
        Self::with_capacity(MEMORY_RATE_LIMIT_KEYS)
    }

    /// An empty set of buckets for up to `clients` clients (at least 1).
    pub fn with_capacity(clients: usize) -> Self {
        let capacity = NonZeroUsize::new(clients).unwrap_or(NonZeroUsize::MIN);
        Self {
            buckets: Arc::new(Mutex::new(LruCache::new(capacity))),
        }
    }

    /// How many clients have a bucket now.
    pub fn len(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }

    /// Whether no client has a bucket.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take_now(
        &self,
        key: &str,
        burst: u32,
        per_second: f64,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, Infallible> {
        // A panic while the lock was held left at worst one bucket half-updated: keep limiting.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = match buckets.get_mut(key) {
            Some(bucket) => bucket,
            None => buckets.get_or_insert_mut(key.to_owned(), || Bucket {
                tokens: f64::from(burst),
                at: now,
            }),
        };
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
    /// Never fails (a poisoned lock is recovered).
    type Error = Infallible;

    fn take(
        &self,
        key: &str,
        burst: u32,
        per_second: f64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RateDecision, Infallible>> + Send {
        std::future::ready(self.take_now(key, burst, per_second, now))
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

    /// A flood of new client keys must neither grow the table without bound nor switch the
    /// limit off for new clients: the least recently seen client is forgotten instead.
    #[test]
    fn a_flood_of_new_clients_keeps_the_limit_on() {
        let limiter = MemoryRateLimit::new();
        let t0 = Utc::now();
        limiter.take_now("hot", 1, 0.0, t0).unwrap();
        for i in 0..=MEMORY_RATE_LIMIT_KEYS {
            if i % 1000 == 0 {
                assert!(
                    matches!(
                        limiter.take_now("hot", 1, 0.0, t0).unwrap(),
                        RateDecision::Limit(_)
                    ),
                    "a client seen recently is not forgotten"
                );
            }
            limiter.take_now(&format!("flood-{i}"), 1, 0.0, t0).unwrap();
        }
        assert_eq!(
            limiter.take_now("new", 1, 0.0, t0).unwrap(),
            RateDecision::Allow
        );
        assert!(
            matches!(
                limiter.take_now("new", 1, 0.0, t0).unwrap(),
                RateDecision::Limit(_)
            ),
            "a new client past the flood is still limited"
        );
        assert!(limiter.len() <= MEMORY_RATE_LIMIT_KEYS);
    }
}
