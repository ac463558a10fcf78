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

use std::{
    fmt,
    sync::{atomic::AtomicU64, Arc},
    time::Duration,
};

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, SelectableHelper as _,
};
use diesel_async::{
    pooled_connection::{bb8, AsyncDieselConnectionManager},
    AsyncPgConnection, RunQueryDsl as _,
};

pub use super::migrate::pg::{run_migrations, MIGRATIONS};
use super::{
    ceremony_from_str, ceremony_to_str, grace, handle_hash, inserted, purge_due,
    schema::pg::{passkey_challenges as ch, passkey_credentials as cr},
    sign_count_from_db, DieselStoreError,
};
use crate::{
    clock::{Clock, SystemClock},
    model::{Credential, UsageUpdate},
    store::{ChallengeRecord, ChallengeStore, CredentialStore},
};

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

async fn conn(
    pool: &PgPool,
) -> Result<bb8::PooledConnection<'_, AsyncPgConnection>, DieselStoreError> {
    pool.get().await.map_err(|e| {
        log::warn!("actix-passkeys: PostgreSQL pool: {e}");
        DieselStoreError::Pool(e)
    })
}

/// A credential row as stored in PostgreSQL.
#[derive(diesel::Queryable, diesel::Selectable, diesel::Insertable)]
#[diesel(table_name = cr, check_for_backend(diesel::pg::Pg))]
struct Row {
    credential_id: Vec<u8>,
    user_id: String,
    user_handle: Vec<u8>,
    passkey: String,
    public_key: Vec<u8>,
    sign_count: i64,
    transports: Vec<String>,
    aaguid: Option<uuid::Uuid>,
    backup_eligible: bool,
    backup_state: bool,
    user_verified: bool,
    attestation_fmt: String,
    discoverable: Option<bool>,
    device_name: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    disabled_at: Option<DateTime<Utc>>,
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
            transports: c.transports.clone(),
            aaguid: c.aaguid,
            backup_eligible: c.backup_eligible,
            backup_state: c.backup_state,
            user_verified: c.user_verified,
            attestation_fmt: c.attestation_fmt.clone(),
            discoverable: c.discoverable,
            device_name: c.device_name.clone(),
            created_at: c.created_at,
            last_used_at: c.last_used_at,
            disabled_at: c.disabled_at,
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
            transports: r.transports,
            aaguid: r.aaguid,
            backup_eligible: r.backup_eligible,
            backup_state: r.backup_state,
            user_verified: r.user_verified,
            attestation_fmt: r.attestation_fmt,
            discoverable: r.discoverable,
            device_name: r.device_name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            disabled_at: r.disabled_at,
            disabled_reason: r.disabled_reason,
        })
    }
}

/// Credentials in the PostgreSQL table `passkey_credentials`.
///
/// ```no_run
/// # async fn run() -> Result<(), actix_passkeys::store::diesel::DieselStoreError> {
/// use actix_passkeys::store::diesel::pg::PgCredentialStore;
/// let store = PgCredentialStore::connect("postgres://app@localhost/app").await?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PgCredentialStore {
    pool: PgPool,
}

impl fmt::Debug for PgCredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgCredentialStore").finish_non_exhaustive()
    }
}

impl PgCredentialStore {
    /// A store over a pool the app built (see [`pool_builder`]).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// A store over a new pool for `url` (see [`connect`]).
    pub async fn connect(url: &str) -> Result<Self, DieselStoreError> {
        connect(url).await.map(Self::new)
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl CredentialStore for PgCredentialStore {
    type Error = DieselStoreError;

    /// Yes: every instance on one database or Redis server shares it.
    fn is_shared(&self) -> bool {
        true
    }

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
            .find(credential_id)
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
            cr::last_used_at.eq(Some(update.used_at)),
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
            cr::disabled_at.eq(Some(at)),
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
type ChallengeRow = (
    String,
    String,
    Option<String>,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// Challenges in the PostgreSQL table `passkey_challenges`, consumed by one
/// `DELETE … RETURNING` (single use across any number of app instances). Rows are keyed by
/// the SHA-256 of the handle; the handle itself is never stored.
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
#[derive(Clone)]
pub struct PgChallengeStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    puts: Arc<AtomicU64>,
}

impl fmt::Debug for PgChallengeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgChallengeStore").finish_non_exhaustive()
    }
}

impl PgChallengeStore {
    /// A store over a pool the app built (see [`pool_builder`]).
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            clock: Arc::new(SystemClock),
            puts: Arc::default(),
        }
    }

    /// A store over a new pool for `url` (see [`connect`]).
    pub async fn connect(url: &str) -> Result<Self, DieselStoreError> {
        connect(url).await.map(Self::new)
    }

    /// Uses `clock` to decide which records are past the grace period (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Deletes records that expired more than [`EXPIRED_GRACE`](crate::store::EXPIRED_GRACE) ago and
    /// returns how many.
    pub async fn delete_expired(&self) -> Result<usize, DieselStoreError> {
        let cutoff = self.clock.now() - grace();
        let mut c = conn(&self.pool).await?;
        diesel::delete(ch::table.filter(ch::expires_at.lt(cutoff)))
            .execute(&mut c)
            .await
            .map_err(DieselStoreError::Query)
    }
}

impl ChallengeStore for PgChallengeStore {
    type Error = DieselStoreError;

    /// Yes: every instance on one database or Redis server shares it.
    fn is_shared(&self) -> bool {
        true
    }

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
                ch::created_at.eq(record.created_at),
                ch::expires_at.eq(record.expires_at),
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
        if expires_at + grace() <= self.clock.now() {
            return Ok(None); // long expired: as if purged
        }
        Ok(Some(ChallengeRecord {
            ceremony: ceremony_from_str(&ceremony)?,
            rp_id,
            user_id,
            payload,
            created_at,
            expires_at,
        }))
    }
}
