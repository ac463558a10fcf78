//! [`Metered`]: the app's stores, each call timed and each failure counted by kind.
//!
//! The service wraps both stores once, when it is built, so every call the ceremonies and the
//! management routes make is measured, whatever the store. Without the `metrics` feature the
//! wrapper only forwards.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::{
    model::{Credential, PrfSalt, UsageUpdate},
    store::{ChallengeRecord, ChallengeStore, CredentialStore},
};

/// A store whose calls are measured: `passkeys_store_operation_duration_seconds{store,
/// operation, outcome}` and, on failure, `passkeys_store_failures_total{store, operation,
/// kind}`. Every trait method forwards to the inner store (a new trait method must be
/// forwarded here too, or it would run the trait's default instead of the store's own).
#[derive(Debug, Clone)]
pub(crate) struct Metered<T>(pub(crate) T);

const CREDENTIALS: &str = "credentials";
const CHALLENGES: &str = "challenges";

impl<T: CredentialStore> CredentialStore for Metered<T> {
    type Error = T::Error;

    fn insert(
        &self,
        credential: &Credential,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        timed(CREDENTIALS, "insert", self.0.insert(credential))
    }

    fn get(
        &self,
        credential_id: &[u8],
    ) -> impl Future<Output = Result<Option<Credential>, Self::Error>> + Send {
        timed(CREDENTIALS, "get", self.0.get(credential_id))
    }

    fn list_for_user(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<Credential>, Self::Error>> + Send {
        timed(CREDENTIALS, "list_for_user", self.0.list_for_user(user_id))
    }

    fn update_usage(
        &self,
        update: &UsageUpdate,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        timed(CREDENTIALS, "update_usage", self.0.update_usage(update))
    }

    fn disable(
        &self,
        credential_id: &[u8],
        at: DateTime<Utc>,
        reason: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        timed(
            CREDENTIALS,
            "disable",
            self.0.disable(credential_id, at, reason),
        )
    }

    fn rename(
        &self,
        user_id: &str,
        credential_id: &[u8],
        device_name: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        timed(
            CREDENTIALS,
            "rename",
            self.0.rename(user_id, credential_id, device_name),
        )
    }

    fn set_prf_salt(
        &self,
        user_id: &str,
        credential_id: &[u8],
        salt: &PrfSalt,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        timed(
            CREDENTIALS,
            "set_prf_salt",
            self.0.set_prf_salt(user_id, credential_id, salt),
        )
    }

    fn delete(
        &self,
        user_id: &str,
        credential_id: &[u8],
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        timed(CREDENTIALS, "delete", self.0.delete(user_id, credential_id))
    }

    fn is_shared(&self) -> bool {
        self.0.is_shared()
    }
}

impl<T: ChallengeStore> ChallengeStore for Metered<T> {
    type Error = T::Error;

    fn put(
        &self,
        handle: &str,
        record: ChallengeRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        timed(CHALLENGES, "put", self.0.put(handle, record))
    }

    fn take(
        &self,
        handle: &str,
    ) -> impl Future<Output = Result<Option<ChallengeRecord>, Self::Error>> + Send {
        timed(CHALLENGES, "take", self.0.take(handle))
    }

    fn is_shared(&self) -> bool {
        self.0.is_shared()
    }
}

/// `call`, timed and its failure counted.
#[cfg(feature = "metrics")]
async fn timed<T, E, F>(store: &'static str, operation: &'static str, call: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    E: std::error::Error + 'static,
{
    let started = std::time::Instant::now();
    let result = call.await;
    let outcome = if result.is_ok() { "ok" } else { "error" };
    ::metrics::histogram!(
        super::STORE_DURATION,
        "store" => store,
        "operation" => operation,
        "outcome" => outcome,
    )
    .record(started.elapsed().as_secs_f64());
    if let Err(err) = &result {
        ::metrics::counter!(
            super::STORE_FAILURES,
            "store" => store,
            "operation" => operation,
            "kind" => failure_kind(err),
        )
        .increment(1);
    }
    result
}

/// `call` itself: nothing is measured without the `metrics` feature.
#[cfg(not(feature = "metrics"))]
fn timed<T, E, F>(_store: &'static str, _operation: &'static str, call: F) -> F
where
    F: Future<Output = Result<T, E>>,
{
    call
}

/// The `kind` label of a store failure (every one is answered 503 `store_unavailable`):
///
/// - `pool_timeout`: no pooled connection within the pool's timeout (Diesel's bb8 pools,
///   [`RedisStoreError::PoolTimeout`](crate::store::redis::RedisStoreError::PoolTimeout));
/// - `unavailable`: the database or Redis could not be reached or stopped answering (a failed
///   connect, a closed or refused connection, an I/O error, a command timeout), for any store
///   whose error has an I/O error of that sort in its `source()` chain;
/// - `other`: anything else (a failed query, an unreadable row, a poisoned lock).
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) fn failure_kind(err: &(dyn std::error::Error + 'static)) -> &'static str {
    #[cfg(feature = "redis")]
    if let Some(err) = err.downcast_ref::<crate::store::redis::RedisStoreError>() {
        use crate::store::redis::RedisStoreError as E;
        return match err {
            E::PoolTimeout => "pool_timeout",
            E::Timeout(_) => "unavailable",
            E::Redis(e)
                if e.is_io_error()
                    || e.is_connection_refusal()
                    || e.is_connection_dropped()
                    || e.is_timeout() =>
            {
                "unavailable"
            }
            _ => "other",
        };
    }
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    if let Some(err) = err.downcast_ref::<crate::store::diesel::DieselStoreError>() {
        use ::diesel::result::{DatabaseErrorKind, Error as Query};
        use diesel_async::pooled_connection::bb8::RunError;

        use crate::store::diesel::DieselStoreError as E;
        return match err {
            E::Pool(RunError::TimedOut) => "pool_timeout",
            E::Pool(_) | E::Connect(_) => "unavailable",
            E::Query(Query::DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => "unavailable",
            _ => "other",
        };
    }
    if io_unavailable(err) {
        "unavailable"
    } else {
        "other"
    }
}

/// Whether `err` or one of its sources is an I/O error saying the peer is gone or slow.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
fn io_unavailable(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind as K;
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::ConnectionReset
                    | K::ConnectionAborted
                    | K::NotConnected
                    | K::BrokenPipe
                    | K::TimedOut
                    | K::UnexpectedEof
                    | K::HostUnreachable
                    | K::NetworkUnreachable
            );
        }
        next = err.source();
    }
    false
}
