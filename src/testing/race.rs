//! A credential store wrapper that makes counter races reach the compare-and-swap on purpose.

use std::{
    future::Future,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{Poll, Waker},
};

use chrono::{DateTime, Utc};

use crate::{
    model::{Credential, UsageUpdate},
    store::CredentialStore,
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
            gate: Arc::new(Gate {
                parties,
                state: Mutex::new(GateState::default()),
            }),
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
            let mut state = self.gate.lock();
            if *applied {
                state.applied += 1;
            } else {
                state.refused += 1;
            }
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

    fn delete(
        &self,
        user_id: &str,
        credential_id: &[u8],
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        self.inner.delete(user_id, credential_id)
    }
}
