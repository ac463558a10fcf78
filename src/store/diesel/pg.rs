//! PostgreSQL stores over diesel-async and a bb8 pool (pure Rust: no libpq).
//!
//! ```no_run
//! use actix_passkeys::store::diesel::pg::{self, PgChallengeStore, PgCredentialStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let url = "postgres://app@localhost/app";
//! pg::run_migrations(url).await?;
//! let pool = pg::connect(url).await?; // one pool, shared by both stores
//! let credentials = PgCredentialStore::new(pool.clone());
//! let challenges = PgChallengeStore::new(pool);
//! # let _ = (credentials, challenges);
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{
    deserialize::{self, FromSql},
    pg::{Pg, PgValue},
    serialize::{self, Output, ToSql},
    sql_types::{self, HasSqlType},
};
use diesel_async::{
    pooled_connection::{bb8, AsyncDieselConnectionManager},
    AsyncPgConnection,
};

pub use super::migrate::pg::{run_migrations, run_migrations_with, MIGRATIONS};
use super::{
    query::{backend_queries, Aaguid, Time, Transports},
    DieselChallengeStore, DieselCredentialStore, DieselStoreError,
};

/// PostgreSQL, the [`Backend`](super::Backend) of [`PgCredentialStore`] and
/// [`PgChallengeStore`]: `BYTEA` ids, `TIMESTAMPTZ` times, `TEXT[]` transports, `UUID` AAGUIDs.
#[derive(Debug)]
pub enum Postgres {}

/// Credentials in the PostgreSQL table `passkey_credentials` (see [`DieselCredentialStore`]).
///
/// ```no_run
/// # async fn run() -> Result<(), actix_passkeys::store::diesel::DieselStoreError> {
/// use actix_passkeys::store::diesel::pg::PgCredentialStore;
/// let store = PgCredentialStore::connect("postgres://app@localhost/app").await?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
pub type PgCredentialStore = DieselCredentialStore<Postgres>;

/// Challenges in the PostgreSQL table `passkey_challenges` (see [`DieselChallengeStore`]).
///
/// ```no_run
/// # async fn run() -> Result<(), actix_passkeys::store::diesel::DieselStoreError> {
/// use actix_passkeys::store::diesel::pg::PgChallengeStore;
/// let store = PgChallengeStore::connect("postgres://app@localhost/app").await?;
/// // From a maintenance job, or rely on the purge every few hundred inserts:
/// let purged = store.delete_expired().await?;
/// # let _ = purged;
/// # Ok(())
/// # }
/// ```
pub type PgChallengeStore = DieselChallengeStore<Postgres>;

/// A bb8 pool of diesel-async PostgreSQL connections.
pub type PgPool = bb8::Pool<AsyncPgConnection>;

/// How long [`connect`] and [`pool_builder`] pools wait for a connection before failing.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// A pool builder with this crate's defaults: a [`CONNECTION_TIMEOUT`] of 2 s, so requests
/// fail fast with 503 `store_unavailable` when the database is down. Build it with
/// `build_unchecked` for a pool that connects lazily.
///
/// ```no_run
/// use actix_passkeys::store::diesel::pg;
/// use diesel_async::pooled_connection::AsyncDieselConnectionManager;
///
/// # async fn run() {
/// let pool = pg::pool_builder()
///     .max_size(20)
///     .build_unchecked(AsyncDieselConnectionManager::new("postgres://app@localhost/app"));
/// let store = pg::PgCredentialStore::new(pool);
/// # let _ = store;
/// # }
/// ```
pub fn pool_builder() -> ::bb8::Builder<AsyncDieselConnectionManager<AsyncPgConnection>> {
    PgPool::builder().connection_timeout(CONNECTION_TIMEOUT)
}

/// Builds a pool for `url` with [`pool_builder`]'s defaults and checks that a connection can
/// be made (an error after at most [`CONNECTION_TIMEOUT`] otherwise).
///
/// ```no_run
/// # async fn run() -> Result<(), actix_passkeys::store::diesel::DieselStoreError> {
/// let pool = actix_passkeys::store::diesel::pg::connect("postgres://app@localhost/app").await?;
/// # let _ = pool;
/// # Ok(())
/// # }
/// ```
pub async fn connect(url: &str) -> Result<PgPool, DieselStoreError> {
    let pool = pool_builder().build_unchecked(AsyncDieselConnectionManager::new(url));
    drop(pool.get().await.map_err(DieselStoreError::Pool)?);
    Ok(pool)
}

/// Stores one of the shared column types ([`Time`], [`Transports`], [`Aaguid`]) as the
/// PostgreSQL type `$pg`: written from `$write`, read into `$read`.
macro_rules! pg_column_type {
    ($ours:ty => $pg:ty, write: $write:ty, read: $read:ty) => {
        impl HasSqlType<$ours> for Pg {
            fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
                <Pg as HasSqlType<$pg>>::metadata(lookup)
            }
        }

        impl ToSql<$ours, Pg> for $write {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <Self as ToSql<$pg, Pg>>::to_sql(self, out)
            }
        }

        impl FromSql<$ours, Pg> for $read {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                <Self as FromSql<$pg, Pg>>::from_sql(value)
            }
        }
    };
}

pg_column_type!(Time => sql_types::Timestamptz, write: DateTime<Utc>, read: DateTime<Utc>);
pg_column_type!(
    Transports => sql_types::Array<sql_types::Text>,
    write: [String],
    read: Vec<String>
);
pg_column_type!(Aaguid => sql_types::Uuid, write: uuid::Uuid, read: uuid::Uuid);

backend_queries!(Postgres, conn: AsyncPgConnection, name: "PostgreSQL", prefix: "Pg",
    shared: true, connect: connect);
