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

use chrono::{DateTime, Utc};
use diesel::{
    deserialize::{self, FromSql},
    pg::{Pg, PgValue},
    serialize::{self, Output, ToSql},
    sql_types::{self, HasSqlType},
};
use diesel_async::{
    pooled_connection::{bb8, AsyncDieselConnectionManager, ManagerConfig},
    AsyncPgConnection,
};
use futures_util::FutureExt as _;

pub use super::{
    migrate::pg::{run_migrations, run_migrations_with, MIGRATIONS, MIGRATION_LOCK_TIMEOUT},
    pg_connect::SslMode,
};
use super::{
    query::{backend_queries, Aaguid, Time, Transports},
    DieselChallengeStore, DieselCredentialStore,
};

/// PostgreSQL, the [`Backend`](super::Backend) of [`PgCredentialStore`] and
/// [`PgChallengeStore`]: `BYTEA` ids, `TIMESTAMPTZ` times, `TEXT[]` transports, `UUID` AAGUIDs.
#[derive(Debug, Clone, Copy)]
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

/// A connection manager whose connections follow the URL's [`SslMode`].
fn manager(url: &str) -> AsyncDieselConnectionManager<AsyncPgConnection> {
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.custom_setup = Box::new(|url| {
        let url = url.to_owned();
        async move { super::pg_connect::establish(&url).await }.boxed()
    });
    AsyncDieselConnectionManager::new_with_config(url, config)
}

backend_queries! {
    Postgres, conn: AsyncPgConnection, pool: PgPool, arg: url, name: "PostgreSQL", prefix: "Pg",
    shared: true;
    /// A pool of connections to `url`, each opened with TLS as the URL's `sslmode` says
    /// ([`SslMode`]). `configure` sets the pool's options; it starts from a
    /// [`CONNECTION_TIMEOUT`](super::CONNECTION_TIMEOUT) of 2 s, so requests fail fast with 503
    /// `store_unavailable` when the database is down. No connection is opened yet (see
    /// [`connect`] for a checked pool).
    ///
    /// ```no_run
    /// use actix_passkeys::store::diesel::pg;
    ///
    /// let pool = pg::pool("postgres://app@localhost/app?sslmode=verify-full", |b| b.max_size(20));
    /// let store = pg::PgCredentialStore::new(pool);
    /// # let _ = store;
    /// ```
    fn pool;
    /// Builds a pool for `url` with [`pool`]'s defaults after opening one connection, so that an
    /// unreachable database, refused credentials, a failed TLS handshake or an unsupported
    /// `sslmode` is a [`DieselStoreError::Connect`](super::DieselStoreError::Connect) naming the
    /// cause (or [`DieselStoreError::Pool`](super::DieselStoreError::Pool) after
    /// [`CONNECTION_TIMEOUT`](super::CONNECTION_TIMEOUT) when nothing answers), here rather than
    /// at the first request.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), actix_passkeys::store::diesel::DieselStoreError> {
    /// let pool = actix_passkeys::store::diesel::pg::connect("postgres://app@localhost/app").await?;
    /// # let _ = pool;
    /// # Ok(())
    /// # }
    /// ```
    fn connect;
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
