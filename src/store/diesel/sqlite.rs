//! SQLite stores: Diesel's `SqliteConnection` (SQLite compiled in) behind diesel-async's
//! `SyncConnectionWrapper` and a bb8 pool. Each connection runs in WAL mode with a 5 s busy
//! timeout and foreign keys on ([`PRAGMAS`]).
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

use std::{
    fmt,
    sync::{atomic::AtomicU64, Arc},
    time::Duration,
};

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, SelectableHelper as _,
    SqliteConnection,
};
use diesel_async::{
    pooled_connection::{bb8, AsyncDieselConnectionManager, ManagerConfig},
    sync_connection_wrapper::SyncConnectionWrapper,
    AsyncConnection as _, RunQueryDsl as _, SimpleAsyncConnection as _,
};
use futures_util::FutureExt as _;

pub use super::migrate::sqlite::{run_migrations, MIGRATIONS};
use super::{
    ceremony_from_str, ceremony_to_str, grace, handle_hash, inserted, purge_due,
    schema::sqlite::{passkey_challenges as ch, passkey_credentials as cr},
    sign_count_from_db, DieselStoreError,
};
use crate::{
    clock::{Clock, SystemClock},
    model::{Credential, UsageUpdate},
    store::{ChallengeRecord, ChallengeStore, CredentialStore},
};

/// The pooled connection type: a blocking `SqliteConnection` run on Tokio's blocking pool.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;
/// A bb8 pool of SQLite connections.
pub type SqlitePool = bb8::Pool<SqliteConn>;

/// Run on every connection this module opens. The busy timeout comes first so that the switch
/// to WAL on a new file waits for, rather than fails on, a connection opened at the same time.
pub const PRAGMAS: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;";

/// How long [`connect`] and [`pool_builder`] pools wait for a connection before failing.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// The file path of a database URL: `sqlite://passkeys.db` and `sqlite:passkeys.db` name
/// `passkeys.db`; anything else is taken as it is (a path, or a `file:` URI).
pub(crate) fn file_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// A connection manager for the database at `path` that applies [`PRAGMAS`] to every
/// connection. A pool needs a file: `:memory:` would give each connection its own database.
///
/// ```no_run
/// use actix_passkeys::store::diesel::sqlite;
///
/// # async fn run() {
/// let pool = sqlite::pool_builder().max_size(4).build_unchecked(sqlite::manager("passkeys.db"));
/// # let _ = pool;
/// # }
/// ```
pub fn manager(path: &str) -> AsyncDieselConnectionManager<SqliteConn> {
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

/// A pool builder with this crate's defaults: a [`CONNECTION_TIMEOUT`] of 2 s.
///
/// ```no_run
/// use actix_passkeys::store::diesel::sqlite;
///
/// # async fn run() {
/// let pool = sqlite::pool_builder().build_unchecked(sqlite::manager("passkeys.db"));
/// let store = sqlite::SqliteCredentialStore::new(pool);
/// # let _ = store;
/// # }
/// ```
pub fn pool_builder() -> ::bb8::Builder<AsyncDieselConnectionManager<SqliteConn>> {
    SqlitePool::builder().connection_timeout(CONNECTION_TIMEOUT)
}

/// Builds a pool for the database file at `path` (created if missing) with
/// [`pool_builder`]'s defaults and checks that it opens.
///
/// ```no_run
/// # async fn run() -> Result<(), actix_passkeys::store::diesel::DieselStoreError> {
/// let pool = actix_passkeys::store::diesel::sqlite::connect("passkeys.db").await?;
/// # let _ = pool;
/// # Ok(())
/// # }
/// ```
pub async fn connect(path: &str) -> Result<SqlitePool, DieselStoreError> {
    let pool = pool_builder().build_unchecked(manager(path));
    drop(pool.get().await.map_err(DieselStoreError::Pool)?);
    Ok(pool)
}

async fn conn(
    pool: &SqlitePool,
) -> Result<bb8::PooledConnection<'_, SqliteConn>, DieselStoreError> {
    pool.get().await.map_err(|e| {
        log::warn!("actix-passkeys: SQLite pool: {e}");
        DieselStoreError::Pool(e)
    })
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(n: i64) -> Result<DateTime<Utc>, DieselStoreError> {
    DateTime::from_timestamp_micros(n).ok_or(DieselStoreError::InvalidRow("timestamp out of range"))
}

fn from_micros_opt(n: Option<i64>) -> Result<Option<DateTime<Utc>>, DieselStoreError> {
    n.map(from_micros).transpose()
}

/// A credential row as stored in SQLite.
#[derive(diesel::Queryable, diesel::Selectable, diesel::Insertable)]
#[diesel(table_name = cr, check_for_backend(diesel::sqlite::Sqlite))]
struct Row {
    credential_id: Vec<u8>,
    user_id: String,
    user_handle: Vec<u8>,
    passkey: String,
    public_key: Vec<u8>,
    sign_count: i64,
    transports: String,
    aaguid: Option<Vec<u8>>,
    backup_eligible: bool,
    backup_state: bool,
    user_verified: bool,
    attestation_fmt: String,
    discoverable: Option<bool>,
    device_name: String,
    created_at: i64,
    last_used_at: Option<i64>,
    disabled_at: Option<i64>,
    disabled_reason: Option<String>,
}

impl From<&Credential> for Row {
    fn from(c: &Credential) -> Self {
        Self {
            credential_id: c.credential_id.clone(),
            user_id: c.user_id.clone(),
            user_handle: c.user_handle.clone(),
            passkey: c.passkey.clone(),
            public_key: c.public_key.clone(),
            sign_count: i64::from(c.sign_count),
            transports: serde_json::to_string(&c.transports).unwrap_or_else(|_| "[]".into()),
            aaguid: c.aaguid.map(|u| u.as_bytes().to_vec()),
            backup_eligible: c.backup_eligible,
            backup_state: c.backup_state,
            user_verified: c.user_verified,
            attestation_fmt: c.attestation_fmt.clone(),
            discoverable: c.discoverable,
            device_name: c.device_name.clone(),
            created_at: micros(c.created_at),
            last_used_at: c.last_used_at.map(micros),
            disabled_at: c.disabled_at.map(micros),
            disabled_reason: c.disabled_reason.clone(),
        }
    }
}

impl TryFrom<Row> for Credential {
    type Error = DieselStoreError;

    fn try_from(r: Row) -> Result<Self, DieselStoreError> {
        Ok(Self {
            credential_id: r.credential_id,
            user_id: r.user_id,
            user_handle: r.user_handle,
            passkey: r.passkey,
            public_key: r.public_key,
            sign_count: sign_count_from_db(r.sign_count)?,
            transports: serde_json::from_str(&r.transports)
                .map_err(|_| DieselStoreError::InvalidRow("transports is not a JSON array"))?,
            aaguid: r
                .aaguid
                .map(|b| uuid::Uuid::from_slice(&b))
                .transpose()
                .map_err(|_| DieselStoreError::InvalidRow("aaguid is not 16 bytes"))?,
            backup_eligible: r.backup_eligible,
            backup_state: r.backup_state,
            user_verified: r.user_verified,
            attestation_fmt: r.attestation_fmt,
            discoverable: r.discoverable,
            device_name: r.device_name,
            created_at: from_micros(r.created_at)?,
            last_used_at: from_micros_opt(r.last_used_at)?,
            disabled_at: from_micros_opt(r.disabled_at)?,
            disabled_reason: r.disabled_reason,
        })
    }
}

/// Credentials in the SQLite table `passkey_credentials`.
///
/// ```no_run
/// # async fn run() -> Result<(), actix_passkeys::store::diesel::DieselStoreError> {
/// use actix_passkeys::store::diesel::sqlite::SqliteCredentialStore;
/// let store = SqliteCredentialStore::connect("passkeys.db").await?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqliteCredentialStore {
    pool: SqlitePool,
}

impl fmt::Debug for SqliteCredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteCredentialStore")
            .finish_non_exhaustive()
    }
}

impl SqliteCredentialStore {
    /// A store over a pool the app built (see [`pool_builder`] and [`manager`]).
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// A store over a new pool for the file at `path` (see [`connect`]).
    pub async fn connect(path: &str) -> Result<Self, DieselStoreError> {
        connect(path).await.map(Self::new)
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl CredentialStore for SqliteCredentialStore {
    type Error = DieselStoreError;

    async fn insert(&self, credential: &Credential) -> Result<bool, Self::Error> {
        let mut c = conn(&self.pool).await?;
        inserted(
            diesel::insert_into(cr::table)
                .values(Row::from(credential))
                .execute(&mut c)
                .await,
        )
    }

    async fn get(&self, credential_id: &[u8]) -> Result<Option<Credential>, Self::Error> {
        let mut c = conn(&self.pool).await?;
        cr::table
            .filter(cr::credential_id.eq(credential_id))
            .select(Row::as_select())
            .first(&mut c)
            .await
            .optional()
            .map_err(DieselStoreError::Query)?
            .map(Credential::try_from)
            .transpose()
    }

    async fn list_for_user(&self, user_id: &str) -> Result<Vec<Credential>, Self::Error> {
        let mut c = conn(&self.pool).await?;
        cr::table
            .filter(cr::user_id.eq(user_id))
            .order((cr::created_at.asc(), cr::credential_id.asc()))
            .select(Row::as_select())
            .load(&mut c)
            .await
            .map_err(DieselStoreError::Query)?
            .into_iter()
            .map(Credential::try_from)
            .collect()
    }

    async fn update_usage(&self, update: &UsageUpdate) -> Result<bool, Self::Error> {
        let mut c = conn(&self.pool).await?;
        diesel::update(
            cr::table
                .filter(cr::credential_id.eq(&update.credential_id))
                .filter(cr::sign_count.eq(i64::from(update.old_sign_count)))
                .filter(cr::disabled_at.is_null()),
        )
        .set((
            cr::sign_count.eq(i64::from(update.new_sign_count)),
            cr::backup_eligible.eq(update.backup_eligible),
            cr::backup_state.eq(update.backup_state),
            cr::last_used_at.eq(Some(micros(update.used_at))),
        ))
        .execute(&mut c)
        .await
        .map(|n| n == 1)
        .map_err(DieselStoreError::Query)
    }

    async fn disable(
        &self,
        credential_id: &[u8],
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, Self::Error> {
        let mut c = conn(&self.pool).await?;
        diesel::update(
            cr::table
                .filter(cr::credential_id.eq(credential_id))
                .filter(cr::disabled_at.is_null()),
        )
        .set((
            cr::disabled_at.eq(Some(micros(at))),
            cr::disabled_reason.eq(Some(reason)),
        ))
        .execute(&mut c)
        .await
        .map(|n| n == 1)
        .map_err(DieselStoreError::Query)
    }

    async fn rename(
        &self,
        user_id: &str,
        credential_id: &[u8],
        device_name: &str,
    ) -> Result<bool, Self::Error> {
        let mut c = conn(&self.pool).await?;
        diesel::update(
            cr::table
                .filter(cr::credential_id.eq(credential_id))
                .filter(cr::user_id.eq(user_id)),
        )
        .set(cr::device_name.eq(device_name))
        .execute(&mut c)
        .await
        .map(|n| n == 1)
        .map_err(DieselStoreError::Query)
    }

    async fn delete(&self, user_id: &str, credential_id: &[u8]) -> Result<bool, Self::Error> {
        let mut c = conn(&self.pool).await?;
        diesel::delete(
            cr::table
                .filter(cr::credential_id.eq(credential_id))
                .filter(cr::user_id.eq(user_id)),
        )
        .execute(&mut c)
        .await
        .map(|n| n == 1)
        .map_err(DieselStoreError::Query)
    }
}

/// A `passkey_challenges` row as `take` reads it back: ceremony, rp id, user id, payload,
/// created, expires.
type ChallengeRow = (String, String, Option<String>, String, i64, i64);

/// Challenges in the SQLite table `passkey_challenges`, consumed by one `DELETE … RETURNING`.
/// Rows are keyed by the SHA-256 of the handle; the handle itself is never stored.
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
#[derive(Clone)]
pub struct SqliteChallengeStore {
    pool: SqlitePool,
    clock: Arc<dyn Clock>,
    puts: Arc<AtomicU64>,
}

impl fmt::Debug for SqliteChallengeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteChallengeStore")
            .finish_non_exhaustive()
    }
}

impl SqliteChallengeStore {
    /// A store over a pool the app built (see [`pool_builder`] and [`manager`]).
    pub fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            clock: Arc::new(SystemClock),
            puts: Arc::default(),
        }
    }

    /// A store over a new pool for the file at `path` (see [`connect`]).
    pub async fn connect(path: &str) -> Result<Self, DieselStoreError> {
        connect(path).await.map(Self::new)
    }

    /// Uses `clock` to decide which records are past the grace period (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Deletes records that expired more than [`EXPIRED_GRACE`](crate::store::EXPIRED_GRACE) ago and
    /// returns how many.
    pub async fn delete_expired(&self) -> Result<usize, DieselStoreError> {
        let cutoff = micros(self.clock.now() - grace());
        let mut c = conn(&self.pool).await?;
        diesel::delete(ch::table.filter(ch::expires_at.lt(cutoff)))
            .execute(&mut c)
            .await
            .map_err(DieselStoreError::Query)
    }
}

impl ChallengeStore for SqliteChallengeStore {
    type Error = DieselStoreError;

    async fn put(&self, handle: &str, record: ChallengeRecord) -> Result<(), Self::Error> {
        if purge_due(&self.puts) {
            if let Err(e) = self.delete_expired().await {
                log::warn!("actix-passkeys: purging expired challenges failed: {e}");
            }
        }
        let mut c = conn(&self.pool).await?;
        diesel::insert_into(ch::table)
            .values((
                ch::handle_hash.eq(handle_hash(handle)),
                ch::ceremony.eq(ceremony_to_str(record.ceremony)),
                ch::rp_id.eq(&record.rp_id),
                ch::user_id.eq(record.user_id.as_deref()),
                ch::payload.eq(&record.payload),
                ch::created_at.eq(micros(record.created_at)),
                ch::expires_at.eq(micros(record.expires_at)),
            ))
            .execute(&mut c)
            .await
            .map(drop)
            .map_err(DieselStoreError::Query)
    }

    async fn take(&self, handle: &str) -> Result<Option<ChallengeRecord>, Self::Error> {
        let mut c = conn(&self.pool).await?;
        let row: Option<ChallengeRow> =
            diesel::delete(ch::table.filter(ch::handle_hash.eq(handle_hash(handle))))
                .returning((
                    ch::ceremony,
                    ch::rp_id,
                    ch::user_id,
                    ch::payload,
                    ch::created_at,
                    ch::expires_at,
                ))
                .get_result(&mut c)
                .await
                .optional()
                .map_err(DieselStoreError::Query)?;
        let Some((ceremony, rp_id, user_id, payload, created_at, expires_at)) = row else {
            return Ok(None);
        };
        let expires_at = from_micros(expires_at)?;
        if expires_at + grace() <= self.clock.now() {
            return Ok(None); // long expired: as if purged
        }
        Ok(Some(ChallengeRecord {
            ceremony: ceremony_from_str(&ceremony)?,
            rp_id,
            user_id,
            payload,
            created_at: from_micros(created_at)?,
            expires_at,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::{file_path, manager, pool_builder, SqliteChallengeStore, SqliteCredentialStore};

    /// `Debug` (required of every public type) names the store and shows nothing of its pool
    /// or file.
    #[actix_rt::test]
    async fn debug_names_the_store_and_nothing_else() {
        // No connection is needed to format a store: an unchecked pool opens none.
        let pool = pool_builder().build_unchecked(manager("debug-test-never-opened.db"));
        assert_eq!(
            format!("{:?}", SqliteCredentialStore::new(pool.clone())),
            "SqliteCredentialStore { .. }"
        );
        assert_eq!(
            format!("{:?}", SqliteChallengeStore::new(pool)),
            "SqliteChallengeStore { .. }"
        );
    }

    #[test]
    fn sqlite_urls_name_files() {
        assert_eq!(file_path("sqlite://passkeys.db"), "passkeys.db");
        assert_eq!(file_path("sqlite:/tmp/x.db"), "/tmp/x.db");
        assert_eq!(file_path("data/p.db"), "data/p.db");
        assert_eq!(file_path("file:p.db?mode=rwc"), "file:p.db?mode=rwc");
    }
}
