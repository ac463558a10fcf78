//! Embedded migrations and their runners (re-exported as `pg::run_migrations[_with]` and
//! `sqlite::run_migrations[_with]`).
//!
//! The runners apply the shipped SQL (`migrations/<backend>`, the same files the diesel CLI
//! and [`MIGRATIONS`](pg::MIGRATIONS) use) with the table names of a [`Tables`]. Under the
//! default names a migration's version is the shipped one (`20250101000000`, …), so databases
//! migrated by earlier releases or by the CLI are current. Under other names each version gets
//! a suffix ([`Tables::version_tag`]), so several sets of tables can live in one database
//! and each is migrated once.
//!
//! The runners use a blocking connection on Tokio's blocking pool, never diesel-async's
//! `AsyncMigrationHarness`, which panics on actix-web's current-thread runtime; so they are safe
//! to await inside `#[actix_web::main]`.

use std::{borrow::Cow, error::Error, fmt, time::Duration};

use diesel::{
    backend::Backend as DieselBackend,
    connection::BoxableConnection,
    migration::{
        self, Migration, MigrationMetadata, MigrationName, MigrationSource, MigrationVersion,
    },
};

use super::tables::Tables;

/// Why running the migrations failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum MigrationError {
    /// The database could not be opened or connected to.
    Connect(::diesel::ConnectionError),
    /// A migration failed (the error of diesel's migration harness).
    Run(Box<dyn Error + Send + Sync>),
    /// The blocking task running the migrations did not complete.
    Task(tokio::task::JoinError),
    /// No connection to the database within this time (the stores'
    /// [`CONNECTION_TIMEOUT`](super::CONNECTION_TIMEOUT)): nothing answered.
    ConnectTimeout(Duration),
    /// Another session held the migration lock for longer than this
    /// (`pg::MIGRATION_LOCK_TIMEOUT`, PostgreSQL only): another instance
    /// is still migrating, or is stuck holding the lock. Nothing was migrated.
    Locked(Duration),
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(_) => f.write_str("could not connect to the database to run migrations"),
            Self::Run(_) => f.write_str("a database migration failed"),
            Self::Task(_) => f.write_str("the migration task did not complete"),
            Self::ConnectTimeout(t) => write!(
                f,
                "could not connect to the database to run migrations: no answer within {t:?}"
            ),
            Self::Locked(t) => write!(
                f,
                "another session held the migration lock for more than {t:?}: nothing was migrated"
            ),
        }
    }
}

impl Error for MigrationError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Connect(e) => Some(e),
            Self::Run(e) => Some(&**e),
            Self::Task(e) => Some(e),
            Self::ConnectTimeout(_) | Self::Locked(_) => None,
        }
    }
}

/// A shipped migration: its directory name, `up.sql` and `down.sql`.
type Shipped = (&'static str, &'static str, &'static str);

/// The shipped migrations of `migrations/$dir`, in order: every backend ships the same
/// directories (a test checks the list against each).
macro_rules! shipped {
    ($dir:literal) => {
        shipped!($dir: "2025-01-01-000000_create_passkeys", "2026-12-01-000000_bind_and_hash_challenges",
            "2027-01-01-000000_prf_and_attachment")
    };
    ($dir:literal: $($name:literal),+) => {
        &[$((
            $name,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $dir, "/", $name, "/up.sql")),
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $dir, "/", $name, "/down.sql")),
        )),+]
    };
}

/// One shipped migration under the names of a [`Tables`].
struct Renamed {
    name: String,
    version: String,
    up: String,
    down: String,
}

impl fmt::Display for Renamed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl MigrationName for Renamed {
    fn version(&self) -> MigrationVersion<'_> {
        MigrationVersion::from(self.version.as_str())
    }
}

impl MigrationMetadata for Renamed {}

impl<DB: DieselBackend> Migration<DB> for Renamed {
    fn run(&self, conn: &mut dyn BoxableConnection<DB>) -> migration::Result<()> {
        Ok(conn.batch_execute(&self.up)?)
    }

    fn revert(&self, conn: &mut dyn BoxableConnection<DB>) -> migration::Result<()> {
        Ok(conn.batch_execute(&self.down)?)
    }

    fn metadata(&self) -> &dyn MigrationMetadata {
        self
    }

    fn name(&self) -> &dyn MigrationName {
        self
    }
}

/// The shipped migrations of a backend, renamed for a [`Tables`].
struct Source {
    shipped: &'static [Shipped],
    tables: Tables,
}

impl Source {
    fn renamed(&self) -> Vec<Renamed> {
        self.shipped
            .iter()
            .map(|(name, up, down)| {
                // diesel's version of a directory: the part before `_`, without dashes.
                let date = name.split('_').next().unwrap_or(name).replace('-', "");
                let (version, up, down) = if self.tables.is_default() {
                    (date, Cow::Borrowed(*up), Cow::Borrowed(*down))
                } else {
                    (
                        format!("{date}_{}", self.tables.version_tag()),
                        Cow::Owned(self.tables.rename_in(up)),
                        Cow::Owned(self.tables.rename_in(down)),
                    )
                };
                Renamed {
                    name: (*name).to_owned(),
                    version,
                    up: up.into_owned(),
                    down: down.into_owned(),
                }
            })
            .collect()
    }
}

impl<DB: DieselBackend> MigrationSource<DB> for Source {
    fn migrations(&self) -> migration::Result<Vec<Box<dyn Migration<DB>>>> {
        Ok(self
            .renamed()
            .into_iter()
            .map(|m| Box::new(m) as Box<dyn Migration<DB>>)
            .collect())
    }
}

/// Runs `f` on Tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MigrationError> + Send + 'static,
) -> Result<T, MigrationError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(MigrationError::Task)?
}

#[cfg(feature = "postgres")]
pub(crate) mod pg {
    use std::time::{Duration, Instant};

    use diesel::RunQueryDsl as _;
    use diesel_async::{async_connection_wrapper::AsyncConnectionWrapper, AsyncPgConnection};
    use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _};

    use super::{blocking, MigrationError, Shipped, Source};
    use crate::store::diesel::{Tables, CONNECTION_TIMEOUT};

    /// The PostgreSQL migrations (`migrations/postgres`) under the default table names, for
    /// apps that run them with their own harness.
    pub const MIGRATIONS: EmbeddedMigrations =
        diesel_migrations::embed_migrations!("migrations/postgres");

    /// The shipped SQL, renamed by [`run_migrations_with`].
    pub(crate) const SHIPPED: &[Shipped] = shipped!("postgres");

    /// Key of the advisory lock held while migrating, so concurrent starts migrate once.
    pub(super) const LOCK_KEY: i64 = 0x7061_7373_6b65_7973; // "passkeys"

    /// How long [`run_migrations`] waits for the migration lock while another session holds
    /// it (another instance migrating the same database) before failing with
    /// [`MigrationError::Locked`]: 60 s.
    pub const MIGRATION_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

    /// How often a runner waiting for the lock tries again.
    const LOCK_POLL: Duration = Duration::from_millis(100);

    /// Applies the pending PostgreSQL migrations to the database at `url` and returns how many
    /// ran; `Ok(0)` when the schema is current (calling it again is a no-op).
    ///
    /// Safe to await inside `#[actix_web::main]`: it runs on Tokio's blocking pool. Instances
    /// starting together are serialised by an advisory lock. It does not hang: connecting
    /// fails with [`MigrationError::ConnectTimeout`] after the stores'
    /// [`CONNECTION_TIMEOUT`] (2 s) when nothing answers, and a lock another session holds
    /// for longer than [`MIGRATION_LOCK_TIMEOUT`] (60 s) is [`MigrationError::Locked`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), actix_passkeys::store::diesel::MigrationError> {
    /// let url = std::env::var("DATABASE_URL").unwrap_or_default();
    /// actix_passkeys::store::diesel::pg::run_migrations(&url).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_migrations(url: &str) -> Result<usize, MigrationError> {
        run_migrations_with(url, &Tables::default()).await
    }

    /// [`run_migrations`] for the tables `tables` names (give the stores the same
    /// [`Tables`]).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use actix_passkeys::store::diesel::{pg, Tables};
    /// let tables = Tables::with_prefix("auth_")?;
    /// pg::run_migrations_with("postgres://app@localhost/app", &tables).await?;
    /// let pool = pg::connect("postgres://app@localhost/app").await?;
    /// let credentials = pg::PgCredentialStore::new(pool.clone()).with_tables(&tables);
    /// let challenges = pg::PgChallengeStore::new(pool).with_tables(&tables);
    /// # let _ = (credentials, challenges);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_migrations_with(url: &str, tables: &Tables) -> Result<usize, MigrationError> {
        migrate(url, tables, MIGRATION_LOCK_TIMEOUT).await
    }

    type SyncPg = AsyncConnectionWrapper<AsyncPgConnection>;

    /// [`run_migrations_with`], waiting up to `lock_wait` for the lock.
    pub(super) async fn migrate(
        url: &str,
        tables: &Tables,
        lock_wait: Duration,
    ) -> Result<usize, MigrationError> {
        // The stores' own connection setup, so the URL's `sslmode` holds here too.
        let conn = tokio::time::timeout(
            CONNECTION_TIMEOUT,
            crate::store::diesel::pg_connect::establish(url),
        )
        .await
        .map_err(|_| MigrationError::ConnectTimeout(CONNECTION_TIMEOUT))?
        .map_err(MigrationError::Connect)?;
        let source = Source {
            shipped: SHIPPED,
            tables: tables.clone(),
        };
        blocking(move || {
            let mut conn = SyncPg::from(conn);
            lock(&mut conn, lock_wait)?;
            let ran = conn
                .run_pending_migrations(source)
                .map(|v| v.len())
                .map_err(MigrationError::Run);
            let unlocked = diesel::sql_query(format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
                .execute(&mut conn);
            let ran = ran?;
            unlocked.map_err(|e| MigrationError::Run(Box::new(e)))?;
            // One line per run, whether or not anything was pending.
            log::info!("actix-passkeys: PostgreSQL schema current ({ran} migration(s) applied)");
            Ok(ran)
        })
        .await
    }

    /// Takes the advisory lock [`LOCK_KEY`], trying every [`LOCK_POLL`] for up to `wait`
    /// (`pg_advisory_lock` would wait for ever).
    fn lock(conn: &mut SyncPg, wait: Duration) -> Result<(), MigrationError> {
        let deadline = Instant::now() + wait;
        let try_lock = diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "pg_try_advisory_lock({LOCK_KEY})"
        ));
        loop {
            let locked: bool = diesel::select(try_lock.clone())
                .get_result(conn)
                .map_err(|e| MigrationError::Run(Box::new(e)))?;
            let now = Instant::now();
            if locked {
                return Ok(());
            }
            if now >= deadline {
                return Err(MigrationError::Locked(wait));
            }
            std::thread::sleep(LOCK_POLL.min(deadline - now));
        }
    }
}

#[cfg(feature = "sqlite")]
pub(crate) mod sqlite {
    use diesel::{connection::SimpleConnection as _, Connection as _, SqliteConnection};
    use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _};

    use super::{blocking, MigrationError, Shipped, Source};
    use crate::store::diesel::Tables;

    /// The SQLite migrations (`migrations/sqlite`) under the default table names, for apps that
    /// run them with their own harness.
    pub const MIGRATIONS: EmbeddedMigrations =
        diesel_migrations::embed_migrations!("migrations/sqlite");

    /// The shipped SQL, renamed by [`run_migrations_with`].
    pub(crate) const SHIPPED: &[Shipped] = shipped!("sqlite");

    /// Applies the pending SQLite migrations to the database file at `path` (created if
    /// missing; a `sqlite://` prefix is accepted) and returns how many ran; `Ok(0)` when the
    /// schema is current (calling it again is a no-op).
    ///
    /// Safe to await inside `#[actix_web::main]`: it runs on Tokio's blocking pool. The run is
    /// one write transaction, so processes starting together migrate once.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), actix_passkeys::store::diesel::MigrationError> {
    /// actix_passkeys::store::diesel::sqlite::run_migrations("passkeys.db").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_migrations(path: &str) -> Result<usize, MigrationError> {
        run_migrations_with(path, &Tables::default()).await
    }

    /// [`run_migrations`] for the tables `tables` names (give the stores the same
    /// [`Tables`]).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use actix_passkeys::store::diesel::{sqlite, Tables};
    /// let tables = Tables::new("webauthn_keys", "webauthn_ceremonies")?;
    /// sqlite::run_migrations_with("app.db", &tables).await?;
    /// let pool = sqlite::connect("app.db").await?;
    /// let credentials = sqlite::SqliteCredentialStore::new(pool.clone()).with_tables(&tables);
    /// let challenges = sqlite::SqliteChallengeStore::new(pool).with_tables(&tables);
    /// # let _ = (credentials, challenges);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_migrations_with(path: &str, tables: &Tables) -> Result<usize, MigrationError> {
        let path = crate::store::diesel::sqlite::file_path(path).to_owned();
        let tables = tables.clone();
        blocking(move || retry_while_locked(|| migrate_once(&path, &tables), LOCK_PAUSE)).await
    }

    /// How often a run that found the database locked is retried, and how long it waits.
    const LOCK_RETRIES: u32 = 50;
    const LOCK_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

    /// Runs `op` until it succeeds, fails with anything but "database is locked", or has been
    /// retried [`LOCK_RETRIES`] times. Switching a new file to WAL needs an exclusive lock, and
    /// SQLite answers "database is locked" at once (no busy wait) when several processes race
    /// for it.
    pub(super) fn retry_while_locked<T>(
        mut op: impl FnMut() -> Result<T, MigrationError>,
        pause: std::time::Duration,
    ) -> Result<T, MigrationError> {
        let mut attempts = 0;
        loop {
            match op() {
                Err(e) if attempts < LOCK_RETRIES && is_locked(&e) => {
                    attempts += 1;
                    std::thread::sleep(pause);
                }
                result => break result,
            }
        }
    }

    /// Whether the cause is SQLite's "database is locked" (`SQLITE_BUSY`).
    pub(super) fn is_locked(e: &MigrationError) -> bool {
        let cause = match e {
            MigrationError::Connect(c) => c.to_string(),
            MigrationError::Run(r) => r.to_string(),
            MigrationError::Task(_)
            | MigrationError::ConnectTimeout(_)
            | MigrationError::Locked(_) => return false,
        };
        cause.contains("database is locked")
    }

    fn migrate_once(path: &str, tables: &Tables) -> Result<usize, MigrationError> {
        let source = Source {
            shipped: SHIPPED,
            tables: tables.clone(),
        };
        let mut conn = SqliteConnection::establish(path).map_err(MigrationError::Connect)?;
        conn.batch_execute(crate::store::diesel::sqlite::PRAGMAS)
            .map_err(|e| MigrationError::Run(Box::new(e)))?;
        // One write transaction around the whole run: processes starting together migrate
        // one after the other (busy_timeout), never twice.
        let ran = conn
            .immediate_transaction(|conn| conn.run_pending_migrations(source).map(|v| v.len()))
            .map_err(MigrationError::Run)?;
        // One line per run, whether or not anything was pending.
        log::info!("actix-passkeys: SQLite schema current ({ran} migration(s) applied)");
        Ok(ran)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions<DB: DieselBackend>(source: &impl MigrationSource<DB>) -> Vec<String> {
        let mut v: Vec<String> = source
            .migrations()
            .unwrap()
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
        v.sort_unstable();
        v
    }

    /// The runner applies every shipped directory, and under the default names with the
    /// versions `MIGRATIONS` and the diesel CLI record (so databases migrated before stay
    /// current); under other names every version differs.
    fn runner_ships_the_directories_with_their_versions<DB: DieselBackend>(
        dir: &str,
        shipped: &'static [Shipped],
        embedded: &impl MigrationSource<DB>,
    ) {
        let on_disk = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_dir())
            .count();
        assert_eq!(shipped.len(), on_disk, "migrations/{dir}");
        let default = Source {
            shipped,
            tables: Tables::default(),
        };
        assert_eq!(versions::<DB>(&default), versions(embedded));
        for (m, (_, up, down)) in default.renamed().iter().zip(shipped) {
            assert_eq!((m.up.as_str(), m.down.as_str()), (*up, *down));
        }
        let other = Source {
            shipped,
            tables: Tables::with_prefix("x_").unwrap(),
        };
        for (v, d) in versions::<DB>(&other).iter().zip(versions::<DB>(&default)) {
            assert!(v.starts_with(&format!("{d}_")) && v.len() <= 50, "{v}");
        }
        assert!(other.renamed().iter().all(|m| m.up.contains("x_passkey_")));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_runner_ships_the_directories_with_their_versions() {
        runner_ships_the_directories_with_their_versions::<::diesel::pg::Pg>(
            "postgres",
            pg::SHIPPED,
            &pg::MIGRATIONS,
        );
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_runner_ships_the_directories_with_their_versions() {
        runner_ships_the_directories_with_their_versions::<::diesel::sqlite::Sqlite>(
            "sqlite",
            sqlite::SHIPPED,
            &sqlite::MIGRATIONS,
        );
    }

    /// Under other table names the shipped migrations keep their directory names (what diesel
    /// prints of a migration) and revert in full: every renamed table is gone afterwards.
    #[cfg(feature = "sqlite")]
    #[test]
    fn renamed_migrations_keep_their_names_and_revert_in_full() {
        use ::diesel::{sqlite::SqliteConnection, Connection as _, RunQueryDsl as _};
        use diesel_migrations::MigrationHarness as _;

        #[derive(::diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = ::diesel::sql_types::BigInt)]
            n: i64,
        }
        let source = || Source {
            shipped: sqlite::SHIPPED,
            tables: Tables::with_prefix("x_").unwrap(),
        };
        let names: Vec<String> = source().renamed().iter().map(ToString::to_string).collect();
        let shipped: Vec<&str> = sqlite::SHIPPED.iter().map(|(name, _, _)| *name).collect();
        assert_eq!(names, shipped);
        let tables = |conn: &mut SqliteConnection| {
            ::diesel::sql_query(
                "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name LIKE 'x\\_%' ESCAPE '\\'",
            )
            .get_result::<Count>(conn)
            .unwrap()
            .n
        };
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.run_pending_migrations(source()).unwrap();
        assert_eq!(tables(&mut conn), 2);
        conn.revert_all_migrations(source()).unwrap();
        assert_eq!(tables(&mut conn), 0);
    }

    /// Each error says which step failed and keeps the database's own error as its source.
    #[actix_rt::test]
    async fn errors_say_what_failed_and_keep_their_cause() {
        let e = MigrationError::Run(Box::new(std::io::Error::other("disk on fire")));
        assert_eq!(e.to_string(), "a database migration failed");
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("disk on fire")
        );
        let e = MigrationError::Connect(::diesel::ConnectionError::BadConnection("refused".into()));
        assert_eq!(
            e.to_string(),
            "could not connect to the database to run migrations"
        );
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("refused")
        );
        let e = blocking::<()>(|| panic!("migration thread died"))
            .await
            .unwrap_err();
        assert!(matches!(e, MigrationError::Task(_)));
        assert_eq!(e.to_string(), "the migration task did not complete");
        assert!(e.source().is_some());
    }

    /// A runner that finds the migration lock held by another session (the same lock id)
    /// fails with `Locked` once its wait is over, instead of waiting for ever as
    /// `pg_advisory_lock` did, and migrates once the lock is free. Needs the local PostgreSQL
    /// server (`PASSKEYS_TEST_PG`, default 127.0.0.1:5432 trust), in a database of its own.
    #[cfg(feature = "postgres")]
    #[actix_rt::test]
    async fn a_held_migration_lock_is_a_bounded_wait_then_locked() {
        use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
        use std::time::{Duration, Instant};
        let server = std::env::var("PASSKEYS_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let name = format!("pk_test_lock_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&format!("{server}/test"))
            .await
            .unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = format!("{server}/{name}");
        let mut holder = AsyncPgConnection::establish(&url).await.unwrap();
        diesel::sql_query(format!("SELECT pg_advisory_lock({})", pg::LOCK_KEY))
            .execute(&mut holder)
            .await
            .unwrap();
        let wait = Duration::from_millis(500);
        let started = Instant::now();
        let got = tokio::time::timeout(
            Duration::from_secs(10),
            pg::migrate(&url, &Tables::default(), wait),
        )
        .await
        .expect("the runner waited for ever for the lock");
        let elapsed = started.elapsed();
        assert!(
            matches!(got, Err(MigrationError::Locked(w)) if w == wait),
            "{got:?}"
        );
        assert!(
            wait <= elapsed && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );
        let message = got.unwrap_err().to_string();
        assert!(
            message.contains("migration lock") && message.contains("500ms"),
            "{message}"
        );
        drop(holder);
        let ran = pg::migrate(&url, &Tables::default(), wait).await.unwrap();
        assert_eq!(ran, pg::SHIPPED.len());
        diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
    }

    #[cfg(feature = "sqlite")]
    fn locked() -> MigrationError {
        MigrationError::Run(Box::new(std::io::Error::other("database is locked")))
    }

    /// A locked database is retried, a bounded number of times; any other failure is not.
    #[cfg(feature = "sqlite")]
    #[test]
    fn only_a_locked_database_is_retried_and_not_forever() {
        use super::sqlite::{is_locked, retry_while_locked};
        let pause = std::time::Duration::ZERO;
        assert!(is_locked(&locked()));
        assert!(!is_locked(&MigrationError::Run(Box::new(
            std::io::Error::other("no such table")
        ))));
        let mut calls = 0;
        let got = retry_while_locked(
            || {
                calls += 1;
                if calls <= 3 {
                    Err(locked())
                } else {
                    Ok(7)
                }
            },
            pause,
        );
        assert_eq!((got.ok(), calls), (Some(7), 4));
        let mut calls = 0;
        let got = retry_while_locked::<()>(
            || {
                calls += 1;
                Err(locked())
            },
            pause,
        );
        assert!(got.is_err());
        assert_eq!(calls, 51, "one run and 50 retries");
        let mut calls = 0;
        let got = retry_while_locked::<()>(
            || {
                calls += 1;
                Err(MigrationError::Run(Box::new(std::io::Error::other(
                    "syntax error",
                ))))
            },
            pause,
        );
        assert!(got.is_err());
        assert_eq!(calls, 1, "other failures are not retried");
    }
}
