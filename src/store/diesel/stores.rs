//! The two Diesel stores, written once over the [`Backend`].

use std::{
    fmt,
    sync::{atomic::AtomicU64, Arc},
};

use chrono::{DateTime, Utc};

use super::{
    ceremony_from_str, ceremony_to_str, grace, handle_hash, inserted, purge_due,
    query::{credential_values, ChallengeSql, CredentialSql, Value},
    tables::Tables,
    Backend, DieselStoreError,
};
use crate::{
    clock::{Clock, SystemClock},
    model::{attachment_name, Credential, PrfSalt, UsageUpdate},
    store::{ChallengeRecord, ChallengeStore, CredentialStore},
};

/// Credentials in the table `passkey_credentials` (or the one [`Tables`] names) of a
/// PostgreSQL or SQLite database: [`PgCredentialStore`](super::pg::PgCredentialStore),
/// [`SqliteCredentialStore`](super::sqlite::SqliteCredentialStore).
///
/// Cloning is cheap and clones share the pool.
#[derive(Clone)]
pub struct DieselCredentialStore<B: Backend> {
    pool: B::Pool,
    sql: Arc<CredentialSql>,
}

impl<B: Backend> fmt::Debug for DieselCredentialStore<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(&format!("{}CredentialStore", B::TYPE_PREFIX))
            .finish_non_exhaustive()
    }
}

impl<B: Backend> DieselCredentialStore<B> {
    /// A store over a pool the app built (see the backend's `pool`), on the default
    /// table names.
    pub fn new(pool: B::Pool) -> Self {
        Self {
            pool,
            sql: Arc::new(CredentialSql::new(&Tables::default())),
        }
    }

    /// A store over a new pool for `url`, checked by one connection (see the backend's
    /// `connect`): an unreachable database is an error here, within the pool's connection
    /// timeout, not at the first request.
    pub async fn connect(url: &str) -> Result<Self, DieselStoreError> {
        B::connect(url).await.map(Self::new)
    }

    /// Uses the credentials table `tables` names (run the migrations with the same
    /// [`Tables`]).
    #[must_use]
    pub fn with_tables(mut self, tables: &Tables) -> Self {
        self.sql = Arc::new(CredentialSql::new(tables));
        self
    }

    /// The pool.
    pub fn pool(&self) -> &B::Pool {
        &self.pool
    }

    async fn changed(&self, sql: &str, values: Vec<Value<'_>>) -> Result<bool, DieselStoreError> {
        B::execute(&self.pool, sql, values).await.map(|n| n == 1)
    }
}

impl<B: Backend> CredentialStore for DieselCredentialStore<B> {
    type Error = DieselStoreError;

    /// Yes for PostgreSQL (every instance on one database shares it), no for SQLite (a local
    /// file).
    fn is_shared(&self) -> bool {
        B::SHARED
    }

    async fn insert(&self, credential: &Credential) -> Result<bool, Self::Error> {
        inserted(B::execute(&self.pool, &self.sql.insert, credential_values(credential)).await)
    }

    async fn get(&self, credential_id: &[u8]) -> Result<Option<Credential>, Self::Error> {
        let rows =
            B::credentials(&self.pool, &self.sql.get, vec![Value::Bytes(credential_id)]).await?;
        rows.into_iter()
            .next()
            .map(Credential::try_from)
            .transpose()
    }

    async fn list_for_user(&self, user_id: &str) -> Result<Vec<Credential>, Self::Error> {
        B::credentials(
            &self.pool,
            &self.sql.list_for_user,
            vec![Value::Text(user_id)],
        )
        .await?
        .into_iter()
        .map(Credential::try_from)
        .collect()
    }

    async fn update_usage(&self, update: &UsageUpdate) -> Result<bool, Self::Error> {
        let values = vec![
            Value::Int(i64::from(update.new_sign_count)),
            Value::Bool(update.backup_eligible),
            Value::Bool(update.backup_state),
            Value::OptTime(Some(update.used_at)),
            Value::OptText(update.attachment.map(attachment_name)),
            Value::Bytes(&update.credential_id),
            Value::Int(i64::from(update.old_sign_count)),
        ];
        self.changed(&self.sql.update_usage, values).await
    }

    async fn disable(
        &self,
        credential_id: &[u8],
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, Self::Error> {
        let values = vec![
            Value::OptTime(Some(at)),
            Value::OptText(Some(reason)),
            Value::Bytes(credential_id),
        ];
        self.changed(&self.sql.disable, values).await
    }

    async fn rename(
        &self,
        user_id: &str,
        credential_id: &[u8],
        device_name: &str,
    ) -> Result<bool, Self::Error> {
        let values = vec![
            Value::Text(device_name),
            Value::Bytes(credential_id),
            Value::Text(user_id),
        ];
        self.changed(&self.sql.rename, values).await
    }

    async fn set_prf_salt(
        &self,
        user_id: &str,
        credential_id: &[u8],
        salt: &PrfSalt,
    ) -> Result<bool, Self::Error> {
        let values = vec![
            Value::OptBytes(Some(salt.as_bytes())),
            Value::Bytes(credential_id),
            Value::Text(user_id),
        ];
        self.changed(&self.sql.set_prf_salt, values).await
    }

    async fn delete(&self, user_id: &str, credential_id: &[u8]) -> Result<bool, Self::Error> {
        let values = vec![Value::Bytes(credential_id), Value::Text(user_id)];
        self.changed(&self.sql.delete, values).await
    }
}

/// Challenges in the table `passkey_challenges` (or the one [`Tables`] names) of a
/// PostgreSQL or SQLite database: [`PgChallengeStore`](super::pg::PgChallengeStore),
/// [`SqliteChallengeStore`](super::sqlite::SqliteChallengeStore).
///
/// A challenge is consumed by one `DELETE … RETURNING` (single use across any number of app
/// instances). Rows are keyed by the SHA-256 of the handle; the handle itself is never stored.
/// Cloning is cheap and clones share the pool.
#[derive(Clone)]
pub struct DieselChallengeStore<B: Backend> {
    pool: B::Pool,
    sql: Arc<ChallengeSql>,
    clock: Arc<dyn Clock>,
    puts: Arc<AtomicU64>,
}

impl<B: Backend> fmt::Debug for DieselChallengeStore<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(&format!("{}ChallengeStore", B::TYPE_PREFIX))
            .finish_non_exhaustive()
    }
}

impl<B: Backend> DieselChallengeStore<B> {
    /// A store over a pool the app built (see the backend's `pool`), on the default
    /// table names.
    pub fn new(pool: B::Pool) -> Self {
        Self {
            pool,
            sql: Arc::new(ChallengeSql::new(&Tables::default())),
            clock: Arc::new(SystemClock),
            puts: Arc::default(),
        }
    }

    /// A store over a new pool for `url`, checked by one connection (see the backend's
    /// `connect`).
    pub async fn connect(url: &str) -> Result<Self, DieselStoreError> {
        B::connect(url).await.map(Self::new)
    }

    /// Uses the challenges table `tables` names (run the migrations with the same
    /// [`Tables`]).
    #[must_use]
    pub fn with_tables(mut self, tables: &Tables) -> Self {
        self.sql = Arc::new(ChallengeSql::new(tables));
        self
    }

    /// Uses `clock` to decide which records are past the grace period (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The pool.
    pub fn pool(&self) -> &B::Pool {
        &self.pool
    }

    /// Deletes records that expired more than [`EXPIRED_GRACE`](crate::store::EXPIRED_GRACE)
    /// ago and returns how many. Also run every few hundred `put`s.
    pub async fn delete_expired(&self) -> Result<usize, DieselStoreError> {
        let cutoff = self.clock.now() - grace();
        B::execute(
            &self.pool,
            &self.sql.delete_expired,
            vec![Value::Time(cutoff)],
        )
        .await
    }
}

impl<B: Backend> ChallengeStore for DieselChallengeStore<B> {
    type Error = DieselStoreError;

    /// Yes for PostgreSQL (every instance on one database shares it), no for SQLite (a local
    /// file).
    fn is_shared(&self) -> bool {
        B::SHARED
    }

    async fn put(&self, handle: &str, record: ChallengeRecord) -> Result<(), Self::Error> {
        if purge_due(&self.puts) {
            if let Err(e) = self.delete_expired().await {
                log::warn!("actix-passkeys: purging expired challenges failed: {e}");
            }
        }
        let hash = handle_hash(handle);
        let values = vec![
            Value::Bytes(&hash),
            Value::Text(ceremony_to_str(record.ceremony)),
            Value::Text(&record.rp_id),
            Value::OptText(record.user_id.as_deref()),
            Value::Text(&record.payload),
            Value::Time(record.created_at),
            Value::Time(record.expires_at),
        ];
        B::execute(&self.pool, &self.sql.put, values)
            .await
            .map(drop)
    }

    async fn take(&self, handle: &str) -> Result<Option<ChallengeRecord>, Self::Error> {
        let hash = handle_hash(handle);
        let rows = B::challenges(&self.pool, &self.sql.take, vec![Value::Bytes(&hash)]).await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        if row.expires_at + grace() <= self.clock.now() {
            return Ok(None); // long expired: as if purged
        }
        Ok(Some(ChallengeRecord {
            ceremony: ceremony_from_str(&row.ceremony)?,
            rp_id: row.rp_id,
            user_id: row.user_id,
            payload: row.payload,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }))
    }
}
