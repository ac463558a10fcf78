//! Time source for expiry decisions, replaceable in tests.

use std::{
    fmt::Debug,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};

/// Where the library reads "now" from: challenge expiry, timestamps, sign-in age.
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock (default).
///
/// ```
/// use actix_passkeys::{hooks::Clock, hooks::SystemClock};
/// assert!(SystemClock.now().timestamp() > 0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to: for expiry tests without sleeps.
///
/// ```
/// use actix_passkeys::{hooks::Clock, hooks::FrozenClock};
/// let clock = FrozenClock::new();
/// let t0 = clock.now();
/// clock.advance(std::time::Duration::from_secs(301));
/// assert_eq!((clock.now() - t0).num_seconds(), 301);
/// ```
#[derive(Debug, Clone)]
pub struct FrozenClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl FrozenClock {
    /// A clock frozen at the current system time.
    pub fn new() -> Self {
        Self::at(Utc::now())
    }

    /// A clock frozen at `at`.
    pub fn at(at: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(at)),
        }
    }

    /// Moves the clock forward (clones share the same time).
    pub fn advance(&self, by: std::time::Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = now.checked_add_signed(by).unwrap_or(*now);
    }
}

impl Default for FrozenClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FrozenClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
