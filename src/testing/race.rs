//! Store wrappers that make races reach the store's atomic step on purpose: counter updates
//! reach the compare-and-swap, and challenge takes reach the single-use `take` together.

use std::{
    future::Future,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{Poll, Waker},
};

use chrono::{DateTime, Utc};

use crate::{
    model::{Credential, PrfSalt, UsageUpdate},
    store::{ChallengeRecord, ChallengeStore, CredentialStore},
};

/// Wraps a [`CredentialStore`] and holds every
/// [`update_usage`](CredentialStore::update_usage) at a barrier until `parties` of them have
/// arrived; then all are let through at once, and the barrier stays open.
///
/// A sign-in reads its credential (`get`), verifies the assertion, and only then calls
/// `update_usage`. Holding the first `parties` updates back means that all `parties` sign-ins
/// have read the *same* stored counter and passed verification before any of them writes: the
/// race is decided by the store's compare-and-swap, not by the order in which requests
/// happened to run. The counts ([`arrived`](Self::arrived), [`applied`](Self::applied),
/// [`refused`](Self::refused)) let a test prove that the losers were refused there.
///
/// If fewer than `parties` updates ever arrive, the held ones wait forever: put a timeout
/// around the test.
///
/// ```
/// use actix_passkeys::{store::memory::MemoryCredentialStore, testing::RacingCredentialStore};
///
/// let store = RacingCredentialStore::new(MemoryCredentialStore::new(), 32);
/// // Passkeys::builder(config, store.clone(), challenges) …, then 32 sign-ins at once.
/// assert_eq!((store.arrived(), store.applied(), store.refused()), (0, 0, 0));
/// ```
#[derive(Debug, Clone)]
pub struct RacingCredentialStore<C> {
    inner: C,
    gate: Arc<Gate>,
}

#[derive(Debug)]
struct Gate {
    parties: usize,
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    arrived: usize,
    applied: usize,
    refused: usize,
    waiting: Vec<Waker>,
}

impl Gate {
    fn new(parties: usize) -> Arc<Self> {
        Arc::new(Self {
            parties,
            state: Mutex::new(GateState::default()),
        })
    }

    /// Counts one call that got through: `applied` if the wrapped store did what was asked.
    fn count(&self, applied: bool) {
        let mut state = self.lock();
        if applied {
            state.applied += 1;
        } else {
            state.refused += 1;
        }
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn arrive(&self) {
        let wake = {
            let mut state = self.lock();
            state.arrived += 1;
            if state.arrived == self.parties {
                std::mem::take(&mut state.waiting)
            } else {
                Vec::new()
            }
        };
        wake.into_iter().for_each(Waker::wake);
        std::future::poll_fn(|cx| {
            let mut state = self.lock();
            if state.arrived >= self.parties {
                Poll::Ready(())
            } else {
                state.waiting.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }
}

impl<C> RacingCredentialStore<C> {
    /// Wraps `inner`; the first `parties` `update_usage` calls wait for each other.
    pub fn new(inner: C, parties: usize) -> Self {
        Self {
            inner,
            gate: Gate::new(parties),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// How many `update_usage` calls reached the barrier so far.
    pub fn arrived(&self) -> usize {
        self.gate.lock().arrived
    }

    /// How many `update_usage` calls the wrapped store applied (answered `true`).
    pub fn applied(&self) -> usize {
        self.gate.lock().applied
    }

    /// How many `update_usage` calls the wrapped store refused (answered `false`): the losers
    /// of the compare-and-swap.
    pub fn refused(&self) -> usize {
        self.gate.lock().refused
    }
}

impl<C: CredentialStore> CredentialStore for RacingCredentialStore<C> {
    type Error = C::Error;

    fn insert(
        &self,
        credential: &Credential,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        self.inner.insert(credential)
    }

    fn get(
        &self,
        credential_id: &[u8],
    ) -> impl Future<Output = Result<Option<Credential>, Self::Error>> + Send {
        self.inner.get(credential_id)
    }

    fn list_for_user(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<Credential>, Self::Error>> + Send {
        self.inner.list_for_user(user_id)
    }

    async fn update_usage(&self, update: &UsageUpdate) -> Result<bool, Self::Error> {
        self.gate.arrive().await;
        // The inner call is made only now: a store whose future does its work when it is
        // created (not when polled) must not get ahead of the barrier.
        let result = self.inner.update_usage(update).await;
        if let Ok(applied) = &result {
            self.gate.count(*applied);
        }
        result
    }

    fn disable(
        &self,
        credential_id: &[u8],
        at: DateTime<Utc>,
        reason: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        self.inner.disable(credential_id, at, reason)
    }

    fn rename(
        &self,
        user_id: &str,
        credential_id: &[u8],
        device_name: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        self.inner.rename(user_id, credential_id, device_name)
    }

    fn set_prf_salt(
        &self,
        user_id: &str,
        credential_id: &[u8],
        salt: &PrfSalt,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        self.inner.set_prf_salt(user_id, credential_id, salt)
    }

    fn delete(
        &self,
        user_id: &str,
        credential_id: &[u8],
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        self.inner.delete(user_id, credential_id)
    }
}

/// Wraps a [`ChallengeStore`] and holds every [`take`](ChallengeStore::take) at a barrier
/// until `parties` of them have arrived; then all are let through at once, and the barrier
/// stays open.
///
/// Many finishes of one state then call the wrapped store's `take` together, so a test that
/// sees exactly one of them get the record proves the store's `take` is atomic under real
/// contention, not that the requests happened to run one after another. The counts
/// ([`arrived`](Self::arrived), [`found`](Self::found), [`missed`](Self::missed)) let the
/// test prove that every request reached `take` and that the losers found nothing there.
/// `put` is not held.
///
/// If fewer than `parties` takes ever arrive, the held ones wait forever: put a timeout
/// around the test.
///
/// ```
/// use actix_passkeys::{store::memory::MemoryChallengeStore, testing::RacingChallengeStore};
///
/// let store = RacingChallengeStore::new(MemoryChallengeStore::new(), 64);
/// // Passkeys::builder(config, credentials, store.clone()) …, then 64 finishes of one state.
/// assert_eq!((store.arrived(), store.found(), store.missed()), (0, 0, 0));
/// ```
#[derive(Debug, Clone)]
pub struct RacingChallengeStore<S> {
    inner: S,
    gate: Arc<Gate>,
}

impl<S> RacingChallengeStore<S> {
    /// Wraps `inner`; the first `parties` `take` calls wait for each other.
    pub fn new(inner: S, parties: usize) -> Self {
        Self {
            inner,
            gate: Gate::new(parties),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// How many `take` calls reached the barrier so far.
    pub fn arrived(&self) -> usize {
        self.gate.lock().arrived
    }

    /// How many `take` calls the wrapped store answered with a record.
    pub fn found(&self) -> usize {
        self.gate.lock().applied
    }

    /// How many `take` calls the wrapped store answered with nothing: the losers of the race.
    pub fn missed(&self) -> usize {
        self.gate.lock().refused
    }
}

impl<S: ChallengeStore> ChallengeStore for RacingChallengeStore<S> {
    type Error = S::Error;

    fn put(
        &self,
        handle: &str,
        record: ChallengeRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.put(handle, record)
    }

    async fn take(&self, handle: &str) -> Result<Option<ChallengeRecord>, Self::Error> {
        self.gate.arrive().await;
        let result = self.inner.take(handle).await;
        if let Ok(found) = &result {
            self.gate.count(found.is_some());
        }
        result
    }

    fn is_shared(&self) -> bool {
        self.inner.is_shared()
    }
}
