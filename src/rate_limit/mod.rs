//! Token-bucket rate limiting of the ceremony routes.
//!
//! Off by default: the default key is the peer address, and behind a reverse proxy every client
//! has the proxy's address, so a default-on limit would throttle all users together. Turn it on
//! with [`PasskeysBuilder::rate_limit`](crate::PasskeysBuilder::rate_limit) and, behind a proxy,
//! a key function that reads the client address from a header your proxy sets.
//!
//! The policy ([`RateLimit`]) and where its buckets live: [`MemoryRateLimit`] (one process, the
//! default) or [`RedisRateLimit`] (feature `redis`, shared by every instance), or any
//! [`RateLimitBackend`] of your own.
#![doc = include_str!("../../docs/rate-limiting.md")]

use std::{
    fmt,
    future::Future,
    net::{IpAddr, Ipv6Addr},
    sync::Arc,
    time::Duration,
};

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use futures_util::future::{ready, BoxFuture};

use crate::error::{BoxError, PasskeyError};

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use self::memory::MemoryRateLimit;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisRateLimit, DEFAULT_RATE_LIMIT_PREFIX};

/// Most clients the memory backend tracks at once by default; past that the client seen least
/// recently is forgotten (its next request starts with a full bucket).
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
///
/// The same form as the store traits (see [`hooks`](crate::hooks)): `impl Future + Send`
/// methods and an associated error.
pub trait RateLimitBackend: fmt::Debug + Send + Sync + 'static {
    /// The backend's error: logged, and the request is let through (the limit is a defence,
    /// not a dependency).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Takes one token from `key`'s bucket (capacity `burst`, refilled at `per_second`).
    fn take(
        &self,
        key: &str,
        burst: u32,
        per_second: f64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RateDecision, Self::Error>> + Send;
}

/// [`RateLimitBackend`] without its types, as [`RateLimit`] holds it.
trait DynBackend: fmt::Debug + Send + Sync + 'static {
    fn take<'a>(
        &'a self,
        key: &'a str,
        burst: u32,
        per_second: f64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<RateDecision, BoxError>>;
}

impl<B: RateLimitBackend> DynBackend for B {
    fn take<'a>(
        &'a self,
        key: &'a str,
        burst: u32,
        per_second: f64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<RateDecision, BoxError>> {
        Box::pin(async move {
            RateLimitBackend::take(self, key, burst, per_second, now)
                .await
                .map_err(|e| Box::new(e) as BoxError)
        })
    }
}

type KeyFn = dyn Fn(&HttpRequest) -> Option<String> + Send + Sync;

/// The rate-limit key of a client address: an IPv4 address as is, an IPv6 address by its /64
/// (`2001:db8:1:2::/64`), since one subscriber holds a whole /64 and could otherwise take a
/// fresh bucket per address. IPv4-mapped IPv6 addresses are their IPv4 client. The default key
/// uses it on the peer address; use it too in a key function that reads a proxy's header.
///
/// ```
/// use actix_passkeys::rate_limit::rate_limit_key;
/// assert_eq!(rate_limit_key("2001:db8:1:2:aaaa::1".parse()?), "2001:db8:1:2::/64");
/// assert_eq!(rate_limit_key("::ffff:192.0.2.7".parse()?), "192.0.2.7");
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
pub fn rate_limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
    }
}

/// A rate limit for the ceremony routes (`register/*`, `authenticate/*` and the ceremony
/// extractors): `burst` requests at once per client key, refilled at `per_second`.
///
/// ```
/// use actix_passkeys::rate_limit::RateLimit;
///
/// // 20 ceremony requests at once per client address, then one every 2 seconds.
/// let limit = RateLimit::new(20, 0.5);
/// // Behind a proxy that sets X-Real-IP (and strips it from client requests), keyed like the
/// // default (IPv6 by /64); a request without a parsable address is not limited:
/// let limit = limit.key(|req| {
///     let ip = req.headers().get("x-real-ip")?.to_str().ok()?.parse().ok()?;
///     Some(actix_passkeys::rate_limit::rate_limit_key(ip))
/// });
/// # let _ = limit;
/// ```
#[derive(Clone)]
pub struct RateLimit {
    burst: u32,
    per_second: f64,
    key: Arc<KeyFn>,
    backend: Arc<dyn DynBackend>,
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
            key: Arc::new(|req: &HttpRequest| req.peer_addr().map(|a| rate_limit_key(a.ip()))),
            backend: Arc::new(MemoryRateLimit::new()),
        }
    }

    /// Derives the client key from the request (default: the peer address through
    /// [`rate_limit_key`], so IPv6 clients are keyed by /64). `None`
    /// skips limiting.
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
            crate::metrics::rate_limit("unkeyed");
            return Box::pin(ready(Ok(())));
        };
        let (backend, burst, per_second) = (Arc::clone(&self.backend), self.burst, self.per_second);
        Box::pin(async move {
            match backend.take(&key, burst, per_second, now).await {
                Ok(RateDecision::Allow) => {
                    crate::metrics::rate_limit("allow");
                    Ok(())
                }
                Ok(RateDecision::Limit(wait)) => {
                    crate::metrics::rate_limit("limit");
                    Err(PasskeyError::RateLimited {
                        retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                    })
                }
                Err(e) => {
                    crate::metrics::rate_limit("backend_error");
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

    fn from(ip: &str) -> HttpRequest {
        actix_web::test::TestRequest::default()
            .peer_addr(std::net::SocketAddr::new(ip.parse().unwrap(), 4000))
            .to_http_request()
    }

    /// An IPv6 client holds a whole /64 (one subscriber): keyed per address, it could take a
    /// fresh bucket for every request.
    #[actix_web::test]
    async fn ipv6_clients_are_limited_per_64() {
        let limit = RateLimit::new(1, 0.0);
        let now = Utc::now();
        assert!(limit.check(&from("2001:db8:1:2::1"), now).await.is_ok());
        assert!(
            matches!(
                limit
                    .check(&from("2001:db8:1:2:ffff:ffff:ffff:fffe"), now)
                    .await,
                Err(PasskeyError::RateLimited { .. })
            ),
            "same /64, same bucket"
        );
        assert!(
            limit.check(&from("2001:db8:1:3::1"), now).await.is_ok(),
            "another /64"
        );
        assert!(limit.check(&from("192.0.2.7"), now).await.is_ok());
        assert!(
            matches!(
                limit.check(&from("::ffff:192.0.2.7"), now).await,
                Err(PasskeyError::RateLimited { .. })
            ),
            "an IPv4-mapped address is the IPv4 client"
        );
        assert!(
            limit.check(&from("192.0.2.8"), now).await.is_ok(),
            "IPv4 per address"
        );
    }
}
