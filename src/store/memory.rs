//! In-memory stores: the default for the quickstart and tests, and fine for one process.
//!
//! The challenge store is bounded and evicts expired records on every insert, in amortised
//! constant time. When it is full, an insert evicts the oldest pending ceremony: a flood of
//! `begin` calls can only make other pending ceremonies expire early (their finish answers
//! `challenge_not_found` and the user begins again), never lock everybody out with 503 nor grow
//! without bound.

use std::{
    collections::{HashMap, VecDeque},
    future::{ready, Future},
    sync::{Arc, Mutex, MutexGuard},
};

use chrono::{DateTime, Utc};

use super::{ChallengeRecord, ChallengeStore, CredentialStore, EXPIRED_GRACE};
use crate::{
    clock::{Clock, SystemClock},
    model::{Credential, PrfSalt, UsageUpdate},
};

/// Default number of pending ceremonies the memory challenge store holds.
pub const DEFAULT_CHALLENGE_CAPACITY: usize = 65_536;

/// Errors of the in-memory stores.
#[derive(Debug, derive_more::Display, derive_more::Error)]
#[non_exhaustive]
pub enum MemoryStoreError {
    /// A thread panicked while holding the store's lock.
    #[display("the in-memory store's lock is poisoned")]
    Poisoned,
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, MemoryStoreError> {
    m.lock().map_err(|_| MemoryStoreError::Poisoned)
}

#[derive(Debug, Default)]
struct Pending {
    /// Keyed by the SHA-256 of the handle ([`super::handle_digest`]), never the handle.
    records: HashMap<[u8; 32], ChallengeRecord>,
    /// Insertion order with each record's eviction time; entries whose record was already taken
    /// are skipped when they reach the front.
    order: VecDeque<(DateTime<Utc>, [u8; 32])>,
}

/// Bounded, expiring, single-use challenge store in process memory.
///
/// It holds at most its capacity ([`DEFAULT_CHALLENGE_CAPACITY`] unless
/// [`with_capacity`](Self::with_capacity) says otherwise). Expired records are dropped on every
/// insert (each kept [`EXPIRED_GRACE`] past its expiry); when the store is still full, the
/// insert evicts the oldest record instead of failing. So a flood of `begin` calls (say, from an
/// unauthenticated client) never answers 503 to everybody: what it can do is expire pending
/// ceremonies older than the last `capacity` begins, whose finish then answers
/// `challenge_not_found`. Size the capacity above the number of ceremonies begun within one
/// challenge TTL at peak, and rate-limit the ceremony routes.
///
/// ```
/// use actix_passkeys::store::memory::MemoryChallengeStore;
/// let store = MemoryChallengeStore::new().with_capacity(10_000);
/// assert_eq!(store.len(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct MemoryChallengeStore {
    inner: Arc<Mutex<Pending>>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

impl MemoryChallengeStore {
    /// A store holding up to [`DEFAULT_CHALLENGE_CAPACITY`] pending ceremonies.
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
            capacity: DEFAULT_CHALLENGE_CAPACITY,
            clock: Arc::new(SystemClock),
        }
    }

    /// Sets the maximum number of pending ceremonies (at least 1).
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Uses `clock` to decide when records are evicted (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The number of records held (pending or expired within the grace period).
    pub fn len(&self) -> usize {
        self.inner.lock().map(|p| p.records.len()).unwrap_or(0)
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn put_now(&self, handle: &str, record: ChallengeRecord) -> Result<(), MemoryStoreError> {
        let key = super::handle_digest(handle);
        let now = self.clock.now();
        let grace = chrono::Duration::from_std(EXPIRED_GRACE).unwrap_or(chrono::Duration::zero());
        let mut pending = lock(&self.inner)?;
        let held = pending.records.len();
        evict(&mut pending, now);
        if pending.records.len() >= self.capacity {
            // One eviction is enough: inserts stop at the capacity, and every record held has
            // an entry in the insertion order, so this drops exactly one.
            evict_oldest(&mut pending);
        }
        if pending.order.len() >= self.capacity.saturating_mul(2) {
            // Many records were taken before expiring; drop their stale order entries.
            let Pending { records, order } = &mut *pending;
            order.retain(|(_, h)| records.contains_key(h));
        }
        pending.order.push_back((record.expires_at + grace, key));
        pending.records.insert(key, record);
        crate::metrics::memory_challenges(held, pending.records.len());
        Ok(())
    }
}

/// The last handle to a store is gone: so are its records, from the gauge too.
impl Drop for Pending {
    fn drop(&mut self) {
        crate::metrics::memory_challenges(self.records.len(), 0);
    }
}

/// Drops records whose eviction time has passed, from the front of the insertion order.
fn evict(pending: &mut Pending, now: DateTime<Utc>) {
    while let Some((evict_at, _)) = pending.order.front() {
        if *evict_at > now {
            break;
        }
        if let Some((evict_at, handle)) = pending.order.pop_front() {
            let stale = pending
                .records
                .get(&handle)
                .is_some_and(|r| r.expires_at <= evict_at);
            if stale {
                pending.records.remove(&handle);
            }
        }
    }
    shrink(pending);
}

/// Full store: drops the oldest record still held (skipping order entries whose record was
/// already taken). Returns whether one was dropped.
fn evict_oldest(pending: &mut Pending) -> bool {
    while let Some((_, handle)) = pending.order.pop_front() {
        if pending.records.remove(&handle).is_some() {
            log::debug!("actix-passkeys: memory challenge store full, evicted the oldest ceremony");
            return true;
        }
    }
    false
}

/// Below this many slots a table is never shrunk (tiny tables cost nothing to keep).
const SHRINK_MIN_SLOTS: usize = 1024;

/// Gives memory back after a burst: once a table is at most a quarter full, it is reallocated
/// at twice its length. Without this a flood of `begin` calls leaves the map and queue at
/// their peak size for the life of the process.
fn shrink(pending: &mut Pending) {
    let len = pending.records.len();
    if pending.records.capacity() > SHRINK_MIN_SLOTS && len < pending.records.capacity() / 4 {
        pending.records.shrink_to(len * 2);
    }
    let len = pending.order.len();
    if pending.order.capacity() > SHRINK_MIN_SLOTS && len < pending.order.capacity() / 4 {
        pending.order.shrink_to(len * 2);
    }
}

impl Default for MemoryChallengeStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ChallengeStore for MemoryChallengeStore {
    type Error = MemoryStoreError;

    fn put(
        &self,
        handle: &str,
        record: ChallengeRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        ready(self.put_now(handle, record))
    }

    fn take(
        &self,
        handle: &str,
    ) -> impl Future<Output = Result<Option<ChallengeRecord>, Self::Error>> + Send {
        let key = super::handle_digest(handle);
        ready(lock(&self.inner).map(|mut p| {
            let taken = p.records.remove(&key);
            if taken.is_some() {
                crate::metrics::memory_challenges(1, 0);
            }
            taken
        }))
    }
}

#[derive(Debug, Default)]
struct Credentials {
    by_id: HashMap<Vec<u8>, Credential>,
    by_user: HashMap<String, Vec<Vec<u8>>>,
}

/// Credential store in process memory (lost on restart): for tests and demos.
///
/// ```
/// use actix_passkeys::store::memory::MemoryCredentialStore;
/// let store = MemoryCredentialStore::new();
/// # let _ = store;
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryCredentialStore {
    inner: Arc<Mutex<Credentials>>,
}

impl MemoryCredentialStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Credentials) -> T) -> Result<T, MemoryStoreError> {
        lock(&self.inner).map(|mut c| f(&mut c))
    }

    fn owned_mut<'a>(
        c: &'a mut Credentials,
        user_id: &str,
        id: &[u8],
    ) -> Option<&'a mut Credential> {
        c.by_id.get_mut(id).filter(|cred| cred.user_id == user_id)
    }
}

impl CredentialStore for MemoryCredentialStore {
    type Error = MemoryStoreError;

    fn insert(
        &self,
        credential: &Credential,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        ready(self.with(|c| {
            if c.by_id.contains_key(&credential.credential_id) {
                return false;
            }
            c.by_user
                .entry(credential.user_id.clone())
                .or_default()
                .push(credential.credential_id.clone());
            c.by_id
                .insert(credential.credential_id.clone(), credential.clone());
            true
        }))
    }

    fn get(
        &self,
        credential_id: &[u8],
    ) -> impl Future<Output = Result<Option<Credential>, Self::Error>> + Send {
        ready(self.with(|c| c.by_id.get(credential_id).cloned()))
    }

    fn list_for_user(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<Credential>, Self::Error>> + Send {
        ready(self.with(|c| {
            c.by_user
                .get(user_id)
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| c.by_id.get(id).cloned())
                        .collect()
                })
                .unwrap_or_default()
        }))
    }

    fn update_usage(
        &self,
        update: &UsageUpdate,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        ready(self.with(|c| match c.by_id.get_mut(&update.credential_id) {
            Some(cred)
                if cred.sign_count == update.old_sign_count && cred.disabled_at.is_none() =>
            {
                cred.sign_count = update.new_sign_count;
                cred.backup_eligible = update.backup_eligible;
                cred.backup_state = update.backup_state;
                cred.last_used_at = Some(update.used_at);
                cred.last_attachment = update.attachment;
                true
            }
            _ => false,
        }))
    }

    fn disable(
        &self,
        credential_id: &[u8],
        at: DateTime<Utc>,
        reason: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        ready(self.with(|c| match c.by_id.get_mut(credential_id) {
            Some(cred) if cred.disabled_at.is_none() => {
                cred.disabled_at = Some(at);
                cred.disabled_reason = Some(reason.to_owned());
                true
            }
            _ => false,
        }))
    }

    fn rename(
        &self,
        user_id: &str,
        credential_id: &[u8],
        device_name: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        ready(
            self.with(|c| match Self::owned_mut(c, user_id, credential_id) {
                Some(cred) => {
                    cred.device_name = device_name.to_owned();
                    true
                }
                None => false,
            }),
        )
    }

    fn set_prf_salt(
        &self,
        user_id: &str,
        credential_id: &[u8],
        salt: &PrfSalt,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        ready(
            self.with(|c| match Self::owned_mut(c, user_id, credential_id) {
                Some(cred) => {
                    cred.prf_salt = Some(salt.clone());
                    true
                }
                None => false,
            }),
        )
    }

    fn delete(
        &self,
        user_id: &str,
        credential_id: &[u8],
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        ready(self.with(|c| {
            if Self::owned_mut(c, user_id, credential_id).is_none() {
                return false;
            }
            c.by_id.remove(credential_id);
            if let Some(ids) = c.by_user.get_mut(user_id) {
                ids.retain(|id| id.as_slice() != credential_id);
            }
            true
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{clock::FrozenClock, store::Ceremony};

    /// Process memory is never shared between app instances, so a missing server secret is
    /// not worth a warning with these stores (the trait's default answer).
    #[test]
    fn memory_stores_are_not_shared() {
        assert!(!MemoryChallengeStore::new().is_shared());
        assert!(!MemoryCredentialStore::new().is_shared());
    }

    fn record(clock: &FrozenClock, ttl_secs: i64) -> ChallengeRecord {
        let now = clock.now();
        ChallengeRecord {
            ceremony: Ceremony::Authentication,
            rp_id: "example.com".into(),
            user_id: None,
            payload: "{}".into(),
            created_at: now,
            expires_at: now + chrono::Duration::seconds(ttl_secs),
        }
    }

    /// A handle is the bearer secret of a ceremony: a heap dump, or a `{:?}` of the store in a
    /// log line, must not show one.
    #[actix_rt::test]
    async fn handles_are_not_kept_in_clear() {
        let clock = FrozenClock::new();
        let store = MemoryChallengeStore::new().with_clock(Arc::new(clock.clone()));
        let handle = "Zm9vYmFyLWEtaGFuZGxlLXRoYXQtaXMtc2VjcmV0";
        store.put(handle, record(&clock, 60)).await.unwrap();
        let dump = format!("{:?}", store.inner.lock().unwrap());
        assert!(!dump.contains(handle), "{dump}");
        assert!(!format!("{store:?}").contains(handle));
        assert!(store.take(handle).await.unwrap().is_some());
        assert!(store.take(handle).await.unwrap().is_none());
    }

    #[actix_rt::test]
    async fn full_store_evicts_the_oldest_then_expired_records_go_first() {
        let clock = FrozenClock::new();
        let store = MemoryChallengeStore::new()
            .with_capacity(3)
            .with_clock(Arc::new(clock.clone()));
        for i in 0..3 {
            store
                .put(&format!("h{i}"), record(&clock, 300))
                .await
                .unwrap();
        }
        // Taken records leave stale order entries: eviction skips them.
        assert!(store.take("h0").await.unwrap().is_some());
        store.put("h3", record(&clock, 300)).await.unwrap();
        store.put("h4", record(&clock, 300)).await.unwrap();
        assert_eq!(store.len(), 3, "never above capacity");
        assert!(store.take("h1").await.unwrap().is_none(), "oldest evicted");
        for h in ["h2", "h3", "h4"] {
            assert!(store.take(h).await.unwrap().is_some(), "{h} kept");
        }
        // Expired records (past the grace) are dropped on insert before anything is evicted.
        store.put("h5", record(&clock, 300)).await.unwrap();
        clock.advance(Duration::from_secs(301) + EXPIRED_GRACE);
        store.put("h6", record(&clock, 300)).await.unwrap();
        assert_eq!(store.len(), 1, "expired records evicted on insert");
    }

    #[actix_rt::test]
    async fn order_queue_stays_bounded_when_records_are_taken() {
        let clock = FrozenClock::new();
        let store = MemoryChallengeStore::new()
            .with_capacity(4)
            .with_clock(Arc::new(clock.clone()));
        for i in 0..1000 {
            let h = format!("h{i}");
            store.put(&h, record(&clock, 300)).await.unwrap();
            assert!(store.take(&h).await.unwrap().is_some());
        }
        let order_len = store.inner.lock().unwrap().order.len();
        assert!(order_len <= 8, "order queue grew to {order_len}");
    }

    #[actix_rt::test]
    async fn tables_shrink_after_a_burst_expires() {
        let clock = FrozenClock::new();
        let store = MemoryChallengeStore::new()
            .with_capacity(20_000)
            .with_clock(Arc::new(clock.clone()));
        for i in 0..20_000 {
            store
                .put(&format!("h{i}"), record(&clock, 5))
                .await
                .unwrap();
        }
        let peak = store.inner.lock().unwrap().records.capacity();
        assert!(peak >= 20_000);
        clock.advance(Duration::from_secs(6) + EXPIRED_GRACE);
        store.put("after", record(&clock, 5)).await.unwrap();
        let p = store.inner.lock().unwrap();
        assert_eq!(p.records.len(), 1);
        assert!(
            p.records.capacity() <= SHRINK_MIN_SLOTS.max(16)
                && p.order.capacity() <= SHRINK_MIN_SLOTS.max(16),
            "tables kept {} / {} slots",
            p.records.capacity(),
            p.order.capacity()
        );
    }

    #[actix_rt::test]
    async fn is_empty_follows_the_records() {
        let clock = FrozenClock::new();
        let store = MemoryChallengeStore::new().with_clock(Arc::new(clock.clone()));
        assert!(store.is_empty());
        store.put("h", record(&clock, 60)).await.unwrap();
        assert!(!store.is_empty());
        store.take("h").await.unwrap();
        assert!(store.is_empty());
    }

    /// A record is kept exactly `EXPIRED_GRACE` past its expiry: dropped by the first insert
    /// at that instant, not one tick later.
    #[actix_rt::test]
    async fn expired_records_go_at_the_end_of_the_grace_not_later() {
        let clock = FrozenClock::new();
        let store = MemoryChallengeStore::new().with_clock(Arc::new(clock.clone()));
        store.put("old", record(&clock, 300)).await.unwrap();
        clock.advance(Duration::from_secs(300) + EXPIRED_GRACE - Duration::from_secs(1));
        store.put("a", record(&clock, 300)).await.unwrap();
        assert_eq!(store.len(), 2, "still within the grace");
        clock.advance(Duration::from_secs(1));
        store.put("b", record(&clock, 300)).await.unwrap();
        assert_eq!(store.len(), 2, "dropped at the end of the grace");
        assert!(store.take("old").await.unwrap().is_none());
    }

    /// A pending table with room for `slots` records and `slots` order entries, holding
    /// `records` records and `order` order entries (`shrink` treats the two apart).
    fn pending(slots: usize, records: usize, order: usize) -> Pending {
        let clock = FrozenClock::new();
        let mut p = Pending {
            records: HashMap::with_capacity(slots),
            order: VecDeque::with_capacity(slots),
        };
        for i in 0..records.max(order) {
            let key = super::super::handle_digest(&format!("h{i}"));
            if i < order {
                p.order.push_back((clock.now(), key));
            }
            if i < records {
                p.records.insert(key, record(&clock, 60));
            }
        }
        p
    }

    fn capacities(p: &Pending) -> (usize, usize) {
        (p.records.capacity(), p.order.capacity())
    }

    /// A big table less than a quarter full is given back, keeping room for twice what it
    /// holds; a quarter full, or small (at most `SHRINK_MIN_SLOTS` slots), it is left alone.
    #[test]
    fn shrink_gives_back_only_big_sparse_tables() {
        let (records, order) = capacities(&pending(3_000, 0, 0));
        assert!(records > SHRINK_MIN_SLOTS && order > SHRINK_MIN_SLOTS);
        assert!(records / 4 > 300 && order / 4 > 300);
        // Exactly a quarter full: kept.
        let mut p = pending(3_000, records / 4, order / 4);
        shrink(&mut p);
        assert_eq!(capacities(&p), (records, order), "a quarter full is kept");
        // One less: shrunk, to room for twice the length.
        for n in [records.min(order) / 4 - 1, 300] {
            let mut p = pending(3_000, n, n);
            shrink(&mut p);
            let (r, o) = capacities(&p);
            assert!(
                r < records && r >= 2 * n,
                "map of {n}: {r} of {records} slots"
            );
            assert!(
                o < order && o >= 2 * n,
                "queue of {n}: {o} of {order} slots"
            );
        }
        // Small tables, however sparse, are never shrunk; `SHRINK_MIN_SLOTS` slots is small.
        let mut p = pending(100, 2, 2);
        let small = capacities(&p);
        shrink(&mut p);
        assert_eq!(capacities(&p), small);
        let mut p = pending(SHRINK_MIN_SLOTS, 0, 0);
        let exact = p.order.capacity();
        assert_eq!(exact, SHRINK_MIN_SLOTS);
        shrink(&mut p);
        assert_eq!(p.order.capacity(), exact);
    }
}
