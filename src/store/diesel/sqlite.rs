//! SQLite stores: Diesel's `SqliteConnection` (SQLite compiled in) behind diesel-async's
//! `SyncConnectionWrapper` and a bb8 pool. Each connection runs in WAL mode with a 5 s busy
//! timeout and foreign keys on.
//!
//! ```no_run
//! use actix_passkeys::store::diesel::sqlite::{self, SqliteChallengeStore, SqliteCredentialStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! sqlite::run_migrations("passkeys.db").await?;
//! let pool = sqlite::connect("passkeys.db").await?; // one pool, shared by both stores
//! let credentials = SqliteCredentialStore::new(pool.clone());
//! let challenges = SqliteChallengeStore::new(pool);
//! # let _ = (credentials, challenges);
//! # Ok(())
//! # }
//! ```

use chrono::{DateTime, Utc};
use diesel::{
    deserialize::{self, FromSql},
    serialize::{self, Output, ToSql},
    sql_types::{self, HasSqlType},
    sqlite::{Sqlite as SqliteDb, SqliteType, SqliteValue},
    SqliteConnection,
};
use diesel_async::{
    pooled_connection::{bb8, AsyncDieselConnectionManager, ManagerConfig},
    sync_connection_wrapper::SyncConnectionWrapper,
    AsyncConnection as _, SimpleAsyncConnection as _,
};
use futures_util::FutureExt as _;

pub use super::migrate::sqlite::{run_migrations, run_migrations_with, MIGRATIONS};
use super::{
    query::{backend_queries, Aaguid, Time, Transports},
    DieselChallengeStore, DieselCredentialStore,
};

/// SQLite, the [`Backend`](super::Backend) of [`SqliteCredentialStore`] and
/// [`SqliteChallengeStore`]: `BLOB` ids, times as `BIGINT` µs since the Unix epoch (UTC),
/// transports as a JSON array in `TEXT`, AAGUIDs as 16 raw bytes.
#[derive(Debug, Clone, Copy)]
pub enum Sqlite {}

/// The pooled connection: a blocking `SqliteConnection` run on Tokio's blocking pool.
type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// Credentials in the SQLite table `passkey_credentials` (see [`DieselCredentialStore`]).
///
/// ```no_run
/// # async fn run() -> Result<(), actix_passkeys::store::diesel::DieselStoreError> {
/// use actix_passkeys::store::diesel::sqlite::SqliteCredentialStore;
/// let store = SqliteCredentialStore::connect("passkeys.db").await?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
pub type SqliteCredentialStore = DieselCredentialStore<Sqlite>;

/// Challenges in the SQLite table `passkey_challenges` (see [`DieselChallengeStore`]).
///
/// ```no_run
/// # async fn run() -> Result<(), actix_passkeys::store::diesel::DieselStoreError> {
/// use actix_passkeys::store::diesel::sqlite::SqliteChallengeStore;
/// let store = SqliteChallengeStore::connect("passkeys.db").await?;
/// let purged = store.delete_expired().await?;
/// # let _ = purged;
/// # Ok(())
/// # }
/// ```
pub type SqliteChallengeStore = DieselChallengeStore<Sqlite>;

/// A bb8 pool of SQLite connections (a blocking `SqliteConnection` each, run on Tokio's
/// blocking pool), every one set up with WAL, a 5 s busy timeout and foreign keys on.
pub type SqlitePool = bb8::Pool<SqliteConn>;

/// Run on every connection this module opens. The busy timeout comes first so that the switch
/// to WAL on a new file waits for, rather than fails on, a connection opened at the same time.
pub(crate) const PRAGMAS: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;";

/// The file path of a database URL: `sqlite://passkeys.db` and `sqlite:passkeys.db` name
/// `passkeys.db`; anything else is taken as it is (a path, or a `file:` URI).
pub(crate) fn file_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// A connection manager for the database at `path` that applies the pragmas to every
/// connection. A pool needs a file: `:memory:` would give each connection its own database.
fn manager(path: &str) -> AsyncDieselConnectionManager<SqliteConn> {
    let mut config = ManagerConfig::<SqliteConn>::default();
    config.custom_setup = Box::new(|url| {
        let url = url.to_owned();
        async move {
            let mut conn = SqliteConn::establish(&url).await?;
            conn.batch_execute(PRAGMAS)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    AsyncDieselConnectionManager::new_with_config(file_path(path), config)
}

backend_queries! {
    Sqlite, conn: SqliteConn, pool: SqlitePool, arg: path, name: "SQLite", prefix: "Sqlite",
    shared: false;
    /// A pool of connections to the database file at `path` (created when first opened), each set
    /// up with WAL, a 5 s busy timeout and foreign keys on. `configure` sets the pool's options;
    /// it starts from a [`CONNECTION_TIMEOUT`](super::CONNECTION_TIMEOUT) of 2 s. No connection
    /// is opened yet (see [`connect`] for a checked pool).
    ///
    /// ```no_run
    /// use actix_passkeys::store::diesel::sqlite;
    ///
    /// let pool = sqlite::pool("passkeys.db", |b| b.max_size(4));
    /// let store = sqlite::SqliteCredentialStore::new(pool);
    /// # let _ = store;
    /// ```
    fn pool;
    /// Builds a pool for the database file at `path` (created if missing) with [`pool`]'s
    /// defaults after opening one connection, so that a file that cannot be opened (a missing
    /// directory, no permission) is a [`DieselStoreError::Connect`](super::DieselStoreError::Connect) naming the cause, here rather
    /// than at the first request.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), actix_passkeys::store::diesel::DieselStoreError> {
    /// let pool = actix_passkeys::store::diesel::sqlite::connect("passkeys.db").await?;
    /// # let _ = pool;
    /// # Ok(())
    /// # }
    /// ```
    fn connect;
}

fn invalid(what: &'static str) -> Box<dyn std::error::Error + Send + Sync> {
    what.into()
}

impl HasSqlType<Time> for SqliteDb {
    fn metadata(_: &mut ()) -> SqliteType {
        SqliteType::Long
    }
}

impl ToSql<Time, SqliteDb> for DateTime<Utc> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, SqliteDb>) -> serialize::Result {
        out.set_value(self.timestamp_micros());
        Ok(serialize::IsNull::No)
    }
}

impl FromSql<Time, SqliteDb> for DateTime<Utc> {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let micros = <i64 as FromSql<sql_types::BigInt, SqliteDb>>::from_sql(value)?;
        DateTime::from_timestamp_micros(micros).ok_or_else(|| invalid("timestamp out of range"))
    }
}

impl HasSqlType<Transports> for SqliteDb {
    fn metadata(_: &mut ()) -> SqliteType {
        SqliteType::Text
    }
}

impl ToSql<Transports, SqliteDb> for [String] {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, SqliteDb>) -> serialize::Result {
        out.set_value(serde_json::to_string(self)?);
        Ok(serialize::IsNull::No)
    }
}

impl FromSql<Transports, SqliteDb> for Vec<String> {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let json = <String as FromSql<sql_types::Text, SqliteDb>>::from_sql(value)?;
        serde_json::from_str(&json).map_err(|_| invalid("transports is not a JSON array"))
    }
}

impl HasSqlType<Aaguid> for SqliteDb {
    fn metadata(_: &mut ()) -> SqliteType {
        SqliteType::Binary
    }
}

impl ToSql<Aaguid, SqliteDb> for uuid::Uuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, SqliteDb>) -> serialize::Result {
        out.set_value(self.as_bytes().as_slice());
        Ok(serialize::IsNull::No)
    }
}

impl FromSql<Aaguid, SqliteDb> for uuid::Uuid {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let bytes = <Vec<u8> as FromSql<sql_types::Binary, SqliteDb>>::from_sql(value)?;
        uuid::Uuid::from_slice(&bytes).map_err(|_| invalid("aaguid is not 16 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::{file_path, pool, SqliteChallengeStore, SqliteCredentialStore};

    /// `Debug` (required of every public type) names the store and shows nothing of its pool
    /// or file.
    #[actix_rt::test]
    async fn debug_names_the_store_and_nothing_else() {
        // No connection is needed to format a store: an unchecked pool opens none.
        let pool = pool("debug-test-never-opened.db", |b| b);
        assert_eq!(
            format!("{:?}", SqliteCredentialStore::new(pool.clone())),
            "SqliteCredentialStore { .. }"
        );
        assert_eq!(
            format!("{:?}", SqliteChallengeStore::new(pool)),
            "SqliteChallengeStore { .. }"
        );
    }

    /// A SQLite file is local to its instance: its stores are not shared (PostgreSQL's are:
    /// `diesel_stores::pg::postgres_stores_are_shared`).
    #[actix_rt::test]
    async fn sqlite_stores_are_not_shared() {
        use crate::store::{ChallengeStore as _, CredentialStore as _};
        let pool = pool("shared-test-never-opened.db", |b| b);
        assert!(!SqliteCredentialStore::new(pool.clone()).is_shared());
        assert!(!SqliteChallengeStore::new(pool).is_shared());
    }

    #[test]
    fn sqlite_urls_name_files() {
        assert_eq!(file_path("sqlite://passkeys.db"), "passkeys.db");
        assert_eq!(file_path("sqlite:/tmp/x.db"), "/tmp/x.db");
        assert_eq!(file_path("data/p.db"), "data/p.db");
        assert_eq!(file_path("file:p.db?mode=rwc"), "file:p.db?mode=rwc");
    }
}
