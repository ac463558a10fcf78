//! Diesel stores: credentials and challenges in PostgreSQL (feature `postgres`, diesel-async
//! over a bb8 pool, pure Rust) or SQLite (feature `sqlite`, compiled in, one file).
//!
//! | | PostgreSQL ([`pg`]) | SQLite ([`sqlite`]) |
//! |---|---|---|
//! | credentials | [`PgCredentialStore`](pg::PgCredentialStore) | [`SqliteCredentialStore`](sqlite::SqliteCredentialStore) |
//! | challenges | [`PgChallengeStore`](pg::PgChallengeStore) | [`SqliteChallengeStore`](sqlite::SqliteChallengeStore) |
//! | migrations | [`pg::run_migrations`] | [`sqlite::run_migrations`] |
//!
//! Both stores of a backend can share one pool. Call the backend's `run_migrations` once at
//! start-up (it is idempotent); the same SQL ships in `migrations/postgres` and
//! `migrations/sqlite` for the diesel CLI (`diesel migration run --migration-dir
//! migrations/postgres`).
//!
//! One query layer serves both backends: [`DieselCredentialStore`] and
//! [`DieselChallengeStore`] hold the SQL of every operation, written once over the table names
//! of a [`Tables`] (default `passkey_credentials` and `passkey_challenges`; give the same
//! `Tables` to `run_migrations_with` and to the stores' `with_tables`). A [`Backend`] keeps what
//! differs: connection setup (TLS and `sslmode` for PostgreSQL, pragmas for SQLite) and how
//! times, transports and AAGUIDs are stored.
//!
//! `connect` (the backends' and the stores') opens one connection before returning, so an
//! unreachable database, refused credentials or a failed TLS handshake is a
//! [`DieselStoreError::Connect`] naming the cause within [`CONNECTION_TIMEOUT`], not a surprise
//! at the first request; the backends' `pool` builds a lazy pool instead.
//!
//! The sign-in counter update is one compare-and-swap `UPDATE … WHERE credential_id = $1 AND
//! sign_count = $old AND disabled_at IS NULL`, and a challenge is consumed by one
//! `DELETE … RETURNING`, so any number of app instances can share the database. Timestamps are
//! stored with microsecond precision.
//!
//! Challenge stores keep an expired record for [`EXPIRED_GRACE`] past its expiry (so a late
//! finish is told `challenge_expired`), ignore older ones, and delete them in
//! `delete_expired()`, which they also run every 256 inserts.
//!
//! A challenge row is keyed by the SHA-256 of its handle (`handle_hash`, 32 bytes), never the
//! handle: the handle is the bearer secret of a ceremony, and a read of the table or of a backup
//! within the TTL must not let anyone finish it. Handles are 256 random bits, so a plain hash
//! is enough (as in the Redis store's keys).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::{Ceremony, EXPIRED_GRACE};

mod migrate;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod pg;
#[cfg(feature = "postgres")]
mod pg_connect;
mod query;
pub mod schema;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;
mod stores;
mod tables;

pub use self::{
    migrate::MigrationError,
    stores::{DieselChallengeStore, DieselCredentialStore},
    tables::{TableNameError, Tables, MAX_TABLE_NAME_LEN},
};

/// A database the Diesel stores run on: [`pg::Postgres`] or [`sqlite::Sqlite`]. Sealed: the
/// stores' SQL is written for these two.
pub trait Backend: query::Queries {}

impl<B: query::Queries> Backend for B {}

/// A challenge store deletes long-expired records once per this many `put`s.
const PURGE_EVERY: u64 = 256;

/// How long `connect` waits for its first connection, and the pools of `connect` and `pool`
/// for a connection, before failing: 2 s.
pub const CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The options of a backend's pool, as its `pool` function hands them to `configure`
/// (`|b| b.max_size(20)`).
pub type PoolBuilder<C> =
    ::bb8::Builder<diesel_async::pooled_connection::AsyncDieselConnectionManager<C>>;

/// A lazy pool over `manager`: [`CONNECTION_TIMEOUT`], then `configure`.
fn lazy_pool<C>(
    manager: diesel_async::pooled_connection::AsyncDieselConnectionManager<C>,
    configure: impl FnOnce(PoolBuilder<C>) -> PoolBuilder<C>,
) -> ::bb8::Pool<diesel_async::pooled_connection::AsyncDieselConnectionManager<C>>
where
    diesel_async::pooled_connection::AsyncDieselConnectionManager<C>:
        ::bb8::ManageConnection<Error = diesel_async::pooled_connection::PoolError>,
{
    configure(::bb8::Pool::builder().connection_timeout(CONNECTION_TIMEOUT))
        .build_unchecked(manager)
}

/// A pool over `manager` once one connection has opened (see [`check`]).
async fn checked_pool<C>(
    manager: diesel_async::pooled_connection::AsyncDieselConnectionManager<C>,
) -> Result<
    ::bb8::Pool<diesel_async::pooled_connection::AsyncDieselConnectionManager<C>>,
    DieselStoreError,
>
where
    diesel_async::pooled_connection::AsyncDieselConnectionManager<C>:
        ::bb8::ManageConnection<Error = diesel_async::pooled_connection::PoolError>,
{
    check(&manager).await?;
    Ok(lazy_pool(manager, |b| b))
}

/// Opens one connection with `manager` within [`CONNECTION_TIMEOUT`]: what `connect` checks.
async fn check<M>(manager: &M) -> Result<(), DieselStoreError>
where
    M: ::bb8::ManageConnection<Error = diesel_async::pooled_connection::PoolError>,
{
    use diesel_async::pooled_connection::{bb8::RunError, PoolError};
    match tokio::time::timeout(CONNECTION_TIMEOUT, manager.connect()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(PoolError::ConnectionError(e))) => Err(DieselStoreError::Connect(e)),
        Ok(Err(PoolError::QueryError(e))) => Err(DieselStoreError::Query(e)),
        Err(_) => Err(DieselStoreError::Pool(RunError::TimedOut)),
    }
}

/// A pooled connection, or the pool's error as a [`DieselStoreError`] (logged).
fn checkout<T>(
    got: Result<T, diesel_async::pooled_connection::bb8::RunError>,
    backend: &str,
) -> Result<T, DieselStoreError> {
    got.map_err(|e| {
        log::warn!("actix-passkeys: {backend} pool: {e}");
        DieselStoreError::Pool(e)
    })
}

/// Errors of the Diesel stores. Every one is answered with 503 `store_unavailable`; the cause
/// is kept as the [`source`](std::error::Error::source).
#[derive(Debug, derive_more::Display, derive_more::Error)]
#[non_exhaustive]
pub enum DieselStoreError {
    /// No connection could be had from the pool (database unreachable, pool timeout).
    #[display("could not get a database connection")]
    Pool(diesel_async::pooled_connection::bb8::RunError),
    /// `connect` could not open its first connection: the cause says why (refused, host
    /// unknown, authentication, TLS handshake or certificate, unsupported `sslmode`, a file
    /// that cannot be opened).
    #[display("could not connect to the database: {_0}")]
    Connect(::diesel::ConnectionError),
    /// A query failed.
    #[display("a database query failed")]
    Query(::diesel::result::Error),
    /// A stored row could not be read back (a value out of range or malformed).
    #[display("a stored row is invalid: {_0}")]
    InvalidRow(#[error(not(source))] &'static str),
}

impl DieselStoreError {
    /// Whether the database could not be reached (a pool timeout, or `connect` failing).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Pool(_) | Self::Connect(_))
    }
}

/// `Ok(false)` for a unique violation (the credential id exists), otherwise the error.
fn inserted(result: Result<usize, DieselStoreError>) -> Result<bool, DieselStoreError> {
    use ::diesel::result::{DatabaseErrorKind, Error};
    match result {
        Ok(n) => Ok(n == 1),
        Err(DieselStoreError::Query(Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            _,
        ))) => Ok(false),
        Err(e) => Err(e),
    }
}

fn ceremony_to_str(c: Ceremony) -> &'static str {
    match c {
        Ceremony::Registration => "registration",
        Ceremony::Authentication => "authentication",
    }
}

fn ceremony_from_str(s: &str) -> Result<Ceremony, DieselStoreError> {
    match s {
        "registration" => Ok(Ceremony::Registration),
        "authentication" => Ok(Ceremony::Authentication),
        _ => Err(DieselStoreError::InvalidRow("unknown ceremony")),
    }
}

fn sign_count_from_db(n: i64) -> Result<u32, DieselStoreError> {
    u32::try_from(n).map_err(|_| DieselStoreError::InvalidRow("sign_count out of range"))
}

fn grace() -> chrono::Duration {
    chrono::Duration::from_std(EXPIRED_GRACE).unwrap_or(chrono::Duration::zero())
}

/// The key of a challenge row: SHA-256 of the handle.
fn handle_hash(handle: &str) -> Vec<u8> {
    super::handle_digest(handle).to_vec()
}

/// Counts `put`s; true once every [`PURGE_EVERY`].
fn purge_due(counter: &AtomicU64) -> bool {
    counter.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connection_errors_are_unavailable() {
        let pool = DieselStoreError::Pool(diesel_async::pooled_connection::bb8::RunError::TimedOut);
        assert!(pool.is_unavailable());
        let refused = ::diesel::ConnectionError::BadConnection("refused".into());
        assert!(DieselStoreError::Connect(refused).is_unavailable());
        assert!(!DieselStoreError::Query(::diesel::result::Error::NotFound).is_unavailable());
        assert!(!DieselStoreError::InvalidRow("x").is_unavailable());
    }

    /// Long-expired challenge rows are purged on every `PURGE_EVERY`-th `put`, not before.
    #[test]
    fn purge_runs_once_every_purge_every_puts() {
        let counter = AtomicU64::new(0);
        let due: Vec<u64> = (1..=3 * PURGE_EVERY)
            .filter(|_| purge_due(&counter))
            .collect();
        assert_eq!(due, [PURGE_EVERY, 2 * PURGE_EVERY, 3 * PURGE_EVERY]);
    }
}
