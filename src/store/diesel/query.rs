//! The query layer both Diesel backends share: the SQL of every store operation (written once,
//! over the configured [`Tables`]), the values it binds and the rows it reads.
//!
//! Backends differ in three column types only, so those are SQL types of this module
//! ([`Time`], [`Transports`], [`Aaguid`]) and each backend maps them to its storage (`pg.rs`:
//! `TIMESTAMPTZ`, `TEXT[]`, `UUID`; `sqlite.rs`: µs since the epoch, a JSON array, 16 bytes).
//! Placeholders are written by Diesel (`$1` on PostgreSQL, `?` on SQLite): the SQL here marks
//! each bind with `?`, and [`Statement`] asks the backend's query builder for each one.
//!
//! The items are `pub` in a private module: the sealed [`Backend`](super::Backend) trait names
//! them, and nothing outside the crate can.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use diesel::{
    backend::Backend as DieselBackend,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    serialize::ToSql,
    sql_types::{BigInt, Binary, Bool, HasSqlType, Text, Untyped},
    QueryResult,
};

use super::{sign_count_from_db, tables::Tables, DieselStoreError};
use crate::model::{attachment_from_name, attachment_name, Credential, PrfSalt};

/// A point in time: `TIMESTAMPTZ` on PostgreSQL, `BIGINT` µs since the Unix epoch on SQLite.
#[derive(
    Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
)]
pub struct Time;

/// A credential's transports: `TEXT[]` on PostgreSQL, a JSON array in `TEXT` on SQLite.
#[derive(
    Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
)]
pub struct Transports;

/// An AAGUID: `UUID` on PostgreSQL, 16 raw bytes on SQLite.
#[derive(
    Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
)]
pub struct Aaguid;

/// One bound value of a statement.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// `BYTEA` / `BLOB`.
    Bytes(&'a [u8]),
    /// Nullable `BYTEA` / `BLOB`.
    OptBytes(Option<&'a [u8]>),
    /// `TEXT`.
    Text(&'a str),
    /// Nullable `TEXT`.
    OptText(Option<&'a str>),
    /// `BIGINT`.
    Int(i64),
    /// `BOOLEAN`.
    Bool(bool),
    /// Nullable `BOOLEAN`.
    OptBool(Option<bool>),
    /// [`Time`].
    Time(DateTime<Utc>),
    /// Nullable [`Time`].
    OptTime(Option<DateTime<Utc>>),
    /// [`Transports`].
    Transports(&'a [String]),
    /// Nullable [`Aaguid`].
    Aaguid(Option<uuid::Uuid>),
}

/// One bind parameter of SQL type `ST`.
struct Bind<ST, U> {
    value: U,
    sql_type: PhantomData<ST>,
}

impl<ST, U, DB> QueryFragment<DB> for Bind<ST, U>
where
    DB: DieselBackend + HasSqlType<ST>,
    U: ToSql<ST, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_bind_param::<ST, U>(&self.value)
    }
}

fn bind<'a, ST, U, DB>(value: U) -> Box<dyn QueryFragment<DB> + Send + 'a>
where
    DB: DieselBackend + HasSqlType<ST>,
    U: ToSql<ST, DB> + Send + 'a,
    ST: Send + 'a,
{
    Box::new(Bind {
        value,
        sql_type: PhantomData::<ST>,
    })
}

/// SQL text whose `?` marks are bound, in order, to `binds`. Unlike a boxed `sql_query`, it
/// may be cached as a prepared statement (the text is fixed per store).
pub(crate) struct Statement<'a, DB> {
    sql: &'a str,
    binds: Vec<Box<dyn QueryFragment<DB> + Send + 'a>>,
}

impl<'a, DB> Statement<'a, DB>
where
    DB: DieselBackend
        + HasSqlType<Binary>
        + HasSqlType<Text>
        + HasSqlType<BigInt>
        + HasSqlType<Bool>
        + HasSqlType<Time>
        + HasSqlType<Transports>
        + HasSqlType<Aaguid>,
    [u8]: ToSql<Binary, DB>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    bool: ToSql<Bool, DB>,
    DateTime<Utc>: ToSql<Time, DB>,
    [String]: ToSql<Transports, DB>,
    uuid::Uuid: ToSql<Aaguid, DB>,
{
    /// `sql` with `values` bound to its `?` marks.
    pub(crate) fn new(sql: &'a str, values: Vec<Value<'a>>) -> Self {
        use diesel::sql_types::Nullable;
        let binds = values
            .into_iter()
            .map(|v| match v {
                Value::Bytes(b) => bind::<Binary, _, DB>(b),
                Value::OptBytes(b) => bind::<Nullable<Binary>, _, DB>(b),
                Value::Text(s) => bind::<Text, _, DB>(s),
                Value::OptText(s) => bind::<Nullable<Text>, _, DB>(s),
                Value::Int(n) => bind::<BigInt, _, DB>(n),
                Value::Bool(b) => bind::<Bool, _, DB>(b),
                Value::OptBool(b) => bind::<Nullable<Bool>, _, DB>(b),
                Value::Time(t) => bind::<Time, _, DB>(t),
                Value::OptTime(t) => bind::<Nullable<Time>, _, DB>(t),
                Value::Transports(t) => bind::<Transports, _, DB>(t),
                Value::Aaguid(a) => bind::<Nullable<Aaguid>, _, DB>(a),
            })
            .collect();
        Self { sql, binds }
    }
}

impl<DB: DieselBackend> QueryFragment<DB> for Statement<'_, DB> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut parts = self.sql.split('?');
        out.push_sql(parts.next().unwrap_or_default());
        for bind in &self.binds {
            bind.walk_ast(out.reborrow())?;
            out.push_sql(parts.next().unwrap_or_default());
        }
        Ok(())
    }
}

impl<DB> QueryId for Statement<'_, DB> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB: DieselBackend> Query for Statement<'_, DB> {
    type SqlType = Untyped;
}

/// A `passkey_credentials` row.
#[derive(Debug, diesel::QueryableByName)]
pub struct CredentialRow {
    #[diesel(sql_type = Binary)]
    credential_id: Vec<u8>,
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = Binary)]
    user_handle: Vec<u8>,
    #[diesel(sql_type = Text)]
    passkey: String,
    #[diesel(sql_type = Binary)]
    public_key: Vec<u8>,
    #[diesel(sql_type = BigInt)]
    sign_count: i64,
    #[diesel(sql_type = Transports)]
    transports: Vec<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Aaguid>)]
    aaguid: Option<uuid::Uuid>,
    #[diesel(sql_type = Bool)]
    backup_eligible: bool,
    #[diesel(sql_type = Bool)]
    backup_state: bool,
    #[diesel(sql_type = Bool)]
    user_verified: bool,
    #[diesel(sql_type = Text)]
    attestation_fmt: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Bool>)]
    discoverable: Option<bool>,
    #[diesel(sql_type = Text)]
    device_name: String,
    #[diesel(sql_type = Time)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Time>)]
    last_used_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Time>)]
    disabled_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    disabled_reason: Option<String>,
    #[diesel(sql_type = Bool)]
    prf_enabled: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<Binary>)]
    prf_salt: Option<Vec<u8>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    last_attachment: Option<String>,
}

impl TryFrom<CredentialRow> for Credential {
    type Error = DieselStoreError;

    fn try_from(r: CredentialRow) -> Result<Self, DieselStoreError> {
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
            prf_enabled: r.prf_enabled,
            prf_salt: r.prf_salt.map(PrfSalt::from_bytes),
            // A name this version does not know (written by a later one) reads as none.
            last_attachment: r.last_attachment.as_deref().and_then(attachment_from_name),
        })
    }
}

/// The values of a credential, in [`CREDENTIAL_COLUMNS`] order.
pub(super) fn credential_values(c: &Credential) -> Vec<Value<'_>> {
    vec![
        Value::Bytes(&c.credential_id),
        Value::Text(&c.user_id),
        Value::Bytes(&c.user_handle),
        Value::Text(&c.passkey),
        Value::Bytes(&c.public_key),
        Value::Int(i64::from(c.sign_count)),
        Value::Transports(&c.transports),
        Value::Aaguid(c.aaguid),
        Value::Bool(c.backup_eligible),
        Value::Bool(c.backup_state),
        Value::Bool(c.user_verified),
        Value::Text(&c.attestation_fmt),
        Value::OptBool(c.discoverable),
        Value::Text(&c.device_name),
        Value::Time(c.created_at),
        Value::OptTime(c.last_used_at),
        Value::OptTime(c.disabled_at),
        Value::OptText(c.disabled_reason.as_deref()),
        Value::Bool(c.prf_enabled),
        Value::OptBytes(c.prf_salt.as_ref().map(PrfSalt::as_bytes)),
        Value::OptText(c.last_attachment.map(attachment_name)),
    ]
}

/// A `passkey_challenges` row as `take` reads it back.
#[derive(Debug, diesel::QueryableByName)]
pub struct ChallengeRow {
    #[diesel(sql_type = Text)]
    pub(super) ceremony: String,
    #[diesel(sql_type = Text)]
    pub(super) rp_id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub(super) user_id: Option<String>,
    #[diesel(sql_type = Text)]
    pub(super) payload: String,
    #[diesel(sql_type = Time)]
    pub(super) created_at: DateTime<Utc>,
    #[diesel(sql_type = Time)]
    pub(super) expires_at: DateTime<Utc>,
}

/// The columns of a credential row, in [`credential_values`] order.
const CREDENTIAL_COLUMNS: &str = "credential_id, user_id, user_handle, passkey, public_key, \
     sign_count, transports, aaguid, backup_eligible, backup_state, user_verified, \
     attestation_fmt, discoverable, device_name, created_at, last_used_at, disabled_at, \
     disabled_reason, prf_enabled, prf_salt, last_attachment";

/// `?, ?, …` for `n` values.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The SQL of the credential store over its table.
#[derive(Debug)]
pub(super) struct CredentialSql {
    pub(super) insert: String,
    pub(super) get: String,
    pub(super) list_for_user: String,
    /// Binds: new count, BE, BS, used at, attachment, id, old count.
    pub(super) update_usage: String,
    /// Binds: at, reason, id.
    pub(super) disable: String,
    /// Binds: name, id, user.
    pub(super) rename: String,
    /// Binds: salt, id, user.
    pub(super) set_prf_salt: String,
    /// Binds: id, user.
    pub(super) delete: String,
}

impl CredentialSql {
    pub(super) fn new(tables: &Tables) -> Self {
        let t = tables.credentials();
        let select = format!("SELECT {CREDENTIAL_COLUMNS} FROM {t}");
        Self {
            insert: format!(
                "INSERT INTO {t} ({CREDENTIAL_COLUMNS}) VALUES ({})",
                marks(CREDENTIAL_COLUMNS.split(',').count())
            ),
            get: format!("{select} WHERE credential_id = ?"),
            list_for_user: format!(
                "{select} WHERE user_id = ? ORDER BY created_at ASC, credential_id ASC"
            ),
            update_usage: format!(
                "UPDATE {t} SET sign_count = ?, backup_eligible = ?, backup_state = ?, \
                 last_used_at = ?, last_attachment = ? \
                 WHERE credential_id = ? AND sign_count = ? AND disabled_at IS NULL"
            ),
            disable: format!(
                "UPDATE {t} SET disabled_at = ?, disabled_reason = ? \
                 WHERE credential_id = ? AND disabled_at IS NULL"
            ),
            rename: format!(
                "UPDATE {t} SET device_name = ? WHERE credential_id = ? AND user_id = ?"
            ),
            set_prf_salt: format!(
                "UPDATE {t} SET prf_salt = ? WHERE credential_id = ? AND user_id = ?"
            ),
            delete: format!("DELETE FROM {t} WHERE credential_id = ? AND user_id = ?"),
        }
    }
}

/// The SQL of the challenge store over its table.
#[derive(Debug)]
pub(super) struct ChallengeSql {
    /// Binds: hash, ceremony, rp id, user, payload, created, expires.
    pub(super) put: String,
    /// Binds: hash. One `DELETE … RETURNING`: single use across instances.
    pub(super) take: String,
    /// Binds: cutoff.
    pub(super) delete_expired: String,
}

impl ChallengeSql {
    pub(super) fn new(tables: &Tables) -> Self {
        let t = tables.challenges();
        Self {
            put: format!(
                "INSERT INTO {t} (handle_hash, ceremony, rp_id, user_id, payload, created_at, \
                 expires_at) VALUES ({})",
                marks(7)
            ),
            take: format!(
                "DELETE FROM {t} WHERE handle_hash = ? \
                 RETURNING ceremony, rp_id, user_id, payload, created_at, expires_at"
            ),
            delete_expired: format!("DELETE FROM {t} WHERE expires_at < ?"),
        }
    }
}

/// A store operation's future.
pub(crate) type Fut<'a, T> = futures_util::future::BoxFuture<'a, Result<T, DieselStoreError>>;

/// What a backend provides to the shared stores: its pool and three ways to run a
/// [`Statement`]. Implemented by [`backend_queries!`] for each backend, so the code is written
/// once and type-checked against each backend's own Diesel types.
pub trait Queries: Sized + Send + Sync + 'static {
    /// The connection pool.
    type Pool: Clone + Send + Sync + 'static;

    /// The backend's name in log lines and errors (`PostgreSQL`, `SQLite`).
    const NAME: &'static str;

    /// The prefix of the stores' type names (`Pg`, `Sqlite`), for `Debug`.
    const TYPE_PREFIX: &'static str;

    /// Whether instances share the database (see `CredentialStore::is_shared`).
    const SHARED: bool;

    /// Runs a statement and returns the number of rows it changed.
    fn execute<'a>(pool: &'a Self::Pool, sql: &'a str, values: Vec<Value<'a>>) -> Fut<'a, usize>;

    /// Runs a statement that returns credential rows.
    fn credentials<'a>(
        pool: &'a Self::Pool,
        sql: &'a str,
        values: Vec<Value<'a>>,
    ) -> Fut<'a, Vec<CredentialRow>>;

    /// Runs a statement that returns challenge rows.
    fn challenges<'a>(
        pool: &'a Self::Pool,
        sql: &'a str,
        values: Vec<Value<'a>>,
    ) -> Fut<'a, Vec<ChallengeRow>>;

    /// A pool for `url` with the crate's defaults, checked by one connection.
    fn connect(url: &str) -> Fut<'_, Self::Pool>;
}

/// Implements [`Queries`] for `$backend`, whose pooled connection is `$conn`, and declares the
/// backend module's `pool` (lazy) and `connect` (checked) over its `manager($arg)`.
macro_rules! backend_queries {
    ($backend:ty, conn: $conn:ty, pool: $pool:ty, arg: $arg:ident, name: $name:literal,
     prefix: $prefix:literal, shared: $shared:literal;
     $(#[$pool_doc:meta])* fn pool;
     $(#[$connect_doc:meta])* fn connect;) => {
        $(#[$pool_doc])*
        pub fn pool(
            $arg: &str,
            configure: impl FnOnce(
                $crate::store::diesel::PoolBuilder<$conn>,
            ) -> $crate::store::diesel::PoolBuilder<$conn>,
        ) -> $pool {
            $crate::store::diesel::lazy_pool(manager($arg), configure)
        }

        $(#[$connect_doc])*
        pub async fn connect($arg: &str) -> Result<$pool, $crate::store::diesel::DieselStoreError> {
            $crate::store::diesel::checked_pool(manager($arg)).await
        }

        impl $backend {
            /// Runs a statement that returns rows.
            async fn load<'a, R>(
                pool: &'a ::diesel_async::pooled_connection::bb8::Pool<$conn>,
                sql: &'a str,
                values: Vec<$crate::store::diesel::query::Value<'a>>,
            ) -> Result<Vec<R>, $crate::store::diesel::DieselStoreError>
            where
                R: ::diesel::QueryableByName<
                        <$conn as ::diesel_async::AsyncConnectionCore>::Backend,
                    > + Send
                    + 'static,
            {
                let mut conn = $crate::store::diesel::checkout(pool.get().await, $name)?;
                let statement = $crate::store::diesel::query::Statement::new(sql, values);
                ::diesel_async::RunQueryDsl::load(statement, &mut *conn)
                    .await
                    .map_err($crate::store::diesel::DieselStoreError::Query)
            }
        }

        impl $crate::store::diesel::query::Queries for $backend {
            type Pool = ::diesel_async::pooled_connection::bb8::Pool<$conn>;
            const NAME: &'static str = $name;
            const TYPE_PREFIX: &'static str = $prefix;
            const SHARED: bool = $shared;

            fn execute<'a>(
                pool: &'a Self::Pool,
                sql: &'a str,
                values: Vec<$crate::store::diesel::query::Value<'a>>,
            ) -> $crate::store::diesel::query::Fut<'a, usize> {
                Box::pin(async move {
                    let mut conn = $crate::store::diesel::checkout(pool.get().await, $name)?;
                    let statement = $crate::store::diesel::query::Statement::new(sql, values);
                    ::diesel_async::RunQueryDsl::execute(statement, &mut *conn)
                        .await
                        .map_err($crate::store::diesel::DieselStoreError::Query)
                })
            }

            fn credentials<'a>(
                pool: &'a Self::Pool,
                sql: &'a str,
                values: Vec<$crate::store::diesel::query::Value<'a>>,
            ) -> $crate::store::diesel::query::Fut<
                'a,
                Vec<$crate::store::diesel::query::CredentialRow>,
            > {
                Box::pin(Self::load(pool, sql, values))
            }

            fn challenges<'a>(
                pool: &'a Self::Pool,
                sql: &'a str,
                values: Vec<$crate::store::diesel::query::Value<'a>>,
            ) -> $crate::store::diesel::query::Fut<
                'a,
                Vec<$crate::store::diesel::query::ChallengeRow>,
            > {
                Box::pin(Self::load(pool, sql, values))
            }

            fn connect(url: &str) -> $crate::store::diesel::query::Fut<'_, Self::Pool> {
                Box::pin(connect(url))
            }
        }
    };
}
pub(crate) use backend_queries;
