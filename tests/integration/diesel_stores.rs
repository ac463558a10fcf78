//! Diesel-specific checks: schema against migrations, migrations up/down/up, the embedded
//! runner's idempotence, challenge-record lifetime, an unreachable PostgreSQL.

use std::{sync::Arc, time::Duration};

use actix_passkeys::{
    hooks::Clock as _,
    hooks::FrozenClock,
    store::Credential,
    store::{Ceremony, ChallengeRecord, ChallengeStore, CredentialStore},
};
use chrono::SubsecRound as _;

/// A credential with every optional field set and distinctive values everywhere.
fn full_credential(now: chrono::DateTime<chrono::Utc>) -> Credential {
    Credential {
        credential_id: vec![0, 1, 2, 255],
        user_id: "alice".into(),
        user_handle: vec![9; 32],
        passkey: r#"{"cred":"opaque"}"#.into(),
        public_key: vec![0xa5, 1, 2, 3],
        sign_count: u32::MAX,
        transports: vec!["internal".into(), "hybrid".into()],
        aaguid: Some(uuid::Uuid::from_u128(
            0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
        )),
        backup_eligible: true,
        backup_state: false,
        user_verified: true,
        attestation_fmt: "packed".into(),
        discoverable: Some(false),
        device_name: "é".repeat(64),
        created_at: now,
        last_used_at: Some(now + chrono::Duration::seconds(1)),
        disabled_at: Some(now + chrono::Duration::seconds(2)),
        disabled_reason: Some("clone_suspected".into()),
        prf_enabled: true,
        prf_salt: Some(actix_passkeys::store::PrfSalt::from_bytes(vec![0xee; 32])),
        last_attachment: Some(actix_passkeys::wire::proto::AuthenticatorAttachment::CrossPlatform),
    }
}

/// Every column written and read back unchanged: `schema.rs` and the migrations agree on
/// names and types.
async fn round_trips_every_column<C: CredentialStore>(store: &C) {
    let now = chrono::Utc::now().trunc_subsecs(6);
    let full = full_credential(now);
    assert!(store.insert(&full).await.unwrap());
    assert_eq!(
        store.get(&full.credential_id).await.unwrap(),
        Some(full.clone())
    );
    let mut sparse = full_credential(now);
    sparse.credential_id = vec![7];
    sparse.transports = vec![];
    sparse.aaguid = None;
    sparse.discoverable = None;
    sparse.last_used_at = None;
    sparse.disabled_at = None;
    sparse.disabled_reason = None;
    sparse.sign_count = 0;
    sparse.prf_enabled = false;
    sparse.prf_salt = None;
    sparse.last_attachment = None;
    assert!(store.insert(&sparse).await.unwrap());
    assert_eq!(store.get(&[7]).await.unwrap(), Some(sparse.clone()));
    assert!(
        !store.insert(&sparse).await.unwrap(),
        "duplicate id is Ok(false)"
    );
    // Ordered by created_at, then credential id.
    let ids: Vec<_> = store
        .list_for_user("alice")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.credential_id)
        .collect();
    assert_eq!(ids, vec![vec![0, 1, 2, 255], vec![7]]);
}

/// How many migrations ship for `backend` (the directories under `migrations/<backend>`).
fn migration_count(backend: &str) -> usize {
    std::fs::read_dir(format!(
        "{}/migrations/{backend}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .filter(|e| e.as_ref().unwrap().path().is_dir())
    .count()
}

/// The column names `schema.rs` declares for `passkey_credentials` and `passkey_challenges`.
macro_rules! column_names {
    ($cr:path, $ch:path) => {{
        use diesel::Column;
        use $ch as ch;
        use $cr as cr;
        let mut cr_names = vec![
            cr::credential_id::NAME,
            cr::user_id::NAME,
            cr::user_handle::NAME,
            cr::passkey::NAME,
            cr::public_key::NAME,
            cr::sign_count::NAME,
            cr::transports::NAME,
            cr::aaguid::NAME,
            cr::backup_eligible::NAME,
            cr::backup_state::NAME,
            cr::user_verified::NAME,
            cr::attestation_fmt::NAME,
            cr::discoverable::NAME,
            cr::device_name::NAME,
            cr::created_at::NAME,
            cr::last_used_at::NAME,
            cr::disabled_at::NAME,
            cr::disabled_reason::NAME,
            cr::prf_enabled::NAME,
            cr::prf_salt::NAME,
            cr::last_attachment::NAME,
        ];
        let mut ch_names = vec![
            ch::handle_hash::NAME,
            ch::ceremony::NAME,
            ch::rp_id::NAME,
            ch::user_id::NAME,
            ch::payload::NAME,
            ch::created_at::NAME,
            ch::expires_at::NAME,
        ];
        cr_names.sort_unstable();
        ch_names.sort_unstable();
        (cr_names, ch_names)
    }};
}

#[derive(diesel::QueryableByName)]
struct ColumnName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

fn names(rows: Vec<ColumnName>) -> Vec<String> {
    let mut v: Vec<_> = rows.into_iter().map(|r| r.name).collect();
    v.sort_unstable();
    v
}

/// Single use; kept through the grace period; ignored and purged after it.
async fn challenge_lifetime<S: ChallengeStore>(
    store: &S,
    clock: &FrozenClock,
    delete_expired: impl AsyncFn(&S) -> usize,
) {
    let record = |ttl: i64| ChallengeRecord {
        ceremony: Ceremony::Registration,
        rp_id: "example.com".into(),
        user_id: Some("alice".into()),
        payload: r#"{"state":1}"#.into(),
        created_at: clock.now(),
        expires_at: clock.now() + chrono::Duration::seconds(ttl),
    };
    let r = record(300);
    store.put("h1", r.clone()).await.unwrap();
    assert_eq!(store.take("h1").await.unwrap(), Some(r));
    assert_eq!(store.take("h1").await.unwrap(), None);

    // Of many concurrent takes of one handle, exactly one gets the record.
    store.put("h0", record(300)).await.unwrap();
    let takes = futures_util::future::join_all((0..32).map(|_| store.take("h0"))).await;
    let won = takes
        .into_iter()
        .filter(|t| t.as_ref().unwrap().is_some())
        .count();
    assert_eq!(won, 1);

    // Past expiry but within the grace period: still handed out (the ceremony layer says
    // `challenge_expired`).
    let r = record(300);
    store.put("h2", r.clone()).await.unwrap();
    clock.advance(Duration::from_secs(330));
    assert_eq!(store.take("h2").await.unwrap(), Some(r));
    // Beyond the grace period: ignored, and purged by delete_expired.
    store.put("h3", record(10)).await.unwrap();
    store.put("h4", record(10)).await.unwrap();
    store.put("h5", record(300)).await.unwrap();
    store.put("h6", record(50)).await.unwrap();
    store.put("h7", record(15)).await.unwrap();
    clock.advance(Duration::from_secs(80));
    assert_eq!(store.take("h3").await.unwrap(), None);
    assert_eq!(
        delete_expired(store).await,
        2,
        "h4 and h7 purged; h5 (pending) and h6 (expired 30 s ago, within the grace) kept"
    );
    assert!(store.take("h6").await.unwrap().is_some());
    assert!(store.take("h5").await.unwrap().is_some());
    assert_eq!(delete_expired(store).await, 0);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use actix_passkeys::store::diesel::sqlite::{
        self, SqliteChallengeStore, SqliteCredentialStore, MIGRATIONS,
    };
    use diesel::{Connection as _, RunQueryDsl as _, SqliteConnection};
    use diesel_migrations::MigrationHarness as _;

    use super::*;

    fn temp_db() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db").to_str().unwrap().to_owned();
        (dir, path)
    }

    fn table_names(conn: &mut SqliteConnection) -> Vec<String> {
        names(
            diesel::sql_query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'passkey_%'",
            )
            .load(conn)
            .unwrap(),
        )
    }

    #[actix_rt::test]
    async fn schema_matches_migrations() {
        let (_dir, path) = temp_db();
        sqlite::run_migrations(&path).await.unwrap();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        let (cr_names, ch_names) = column_names!(
            actix_passkeys::store::diesel::schema::sqlite::passkey_credentials,
            actix_passkeys::store::diesel::schema::sqlite::passkey_challenges
        );
        for (table, expected) in [
            ("passkey_credentials", cr_names),
            ("passkey_challenges", ch_names),
        ] {
            let rows = diesel::sql_query(format!("SELECT name FROM pragma_table_info('{table}')"))
                .load(&mut conn)
                .unwrap();
            assert_eq!(names(rows), expected, "{table}");
        }
        round_trips_every_column(&SqliteCredentialStore::connect(&path).await.unwrap()).await;
    }

    #[actix_rt::test]
    async fn migrations_up_down_up_and_runner_is_idempotent() {
        let (_dir, path) = temp_db();
        assert_eq!(
            sqlite::run_migrations(&path).await.unwrap(),
            migration_count("sqlite")
        );
        assert_eq!(
            sqlite::run_migrations(&path).await.unwrap(),
            0,
            "second run is a no-op"
        );
        let mut conn = SqliteConnection::establish(&path).unwrap();
        assert_eq!(table_names(&mut conn).len(), 2);
        conn.revert_all_migrations(MIGRATIONS).unwrap();
        assert!(table_names(&mut conn).is_empty());
        conn.run_pending_migrations(MIGRATIONS).unwrap();
        assert_eq!(table_names(&mut conn).len(), 2);
        drop(conn);
        assert_eq!(sqlite::run_migrations(&path).await.unwrap(), 0);
    }

    #[actix_rt::test]
    async fn concurrent_runners_migrate_once() {
        let (_dir, path) = temp_db();
        let runs =
            futures_util::future::join_all((0..4).map(|_| sqlite::run_migrations(&path))).await;
        let applied: usize = runs.into_iter().map(|r| r.unwrap()).sum();
        assert_eq!(applied, migration_count("sqlite"));
    }

    #[actix_rt::test]
    async fn pragmas_are_set_on_pooled_connections() {
        #[derive(diesel::QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::Text)]
            journal_mode: String,
        }
        #[derive(diesel::QueryableByName)]
        struct Timeout {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            timeout: i64,
        }
        let (_dir, path) = temp_db();
        let pool = sqlite::connect(&path).await.unwrap();
        let mut conn = pool.get().await.unwrap();
        let mode: Mode = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query("PRAGMA journal_mode"),
            &mut *conn,
        )
        .await
        .unwrap();
        assert_eq!(mode.journal_mode, "wal");
        let t: Timeout = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query("PRAGMA busy_timeout"),
            &mut *conn,
        )
        .await
        .unwrap();
        assert_eq!(t.timeout, 5000);
    }

    /// A read of the database (file, WAL, a backup) within the TTL yields no usable handle:
    /// the table keeps a SHA-256 of each handle. Begin/finish still work.
    #[actix_rt::test]
    async fn challenge_handles_are_not_stored_in_clear() {
        use crate::fixtures::{Ctx, Sqlite, ORIGIN};
        let ctx = Ctx::<Sqlite>::new().await;
        let mut app = ctx.app().await;
        let mut auth = actix_passkeys::testing::SoftAuthenticator::new(ORIGIN).unwrap();
        app.signup("alice").await;
        let registration = app.registration(&mut auth, None).await;
        let sign_in = app.auth_begin(None).await;
        let path = ctx.guard().path().join("passkeys.db");
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        let rows: Vec<ColumnName> =
            diesel::sql_query("SELECT ceremony AS name FROM passkey_challenges")
                .load(&mut conn)
                .unwrap();
        assert_eq!(rows.len(), 2, "both ceremonies pending");
        drop(conn);
        for state in [&registration["state"], &sign_in["state"]] {
            let handle = state.as_str().unwrap();
            for file in std::fs::read_dir(ctx.guard().path()).unwrap() {
                let file = file.unwrap().path();
                let bytes = std::fs::read(&file).unwrap();
                assert!(
                    !bytes.windows(handle.len()).any(|w| w == handle.as_bytes()),
                    "a handle in clear in {}",
                    file.display()
                );
            }
        }
        app.post("/auth/passkeys/register/finish", registration)
            .await
            .assert_ok();
    }

    /// Passkeys survive a restart: a new pool on the same file signs the user in.
    #[actix_rt::test]
    async fn passkeys_survive_a_restart() {
        use crate::fixtures::{config, Ctx, Sqlite};
        let ctx = Ctx::<Sqlite>::new().await;
        let (mut auth, id) = {
            let mut app = ctx.app().await;
            let mut auth =
                actix_passkeys::testing::SoftAuthenticator::new(crate::fixtures::ORIGIN).unwrap();
            app.signup("alice").await;
            let r = app.register(&mut auth, Some("laptop")).await;
            (auth, r.assert_ok()["credentialId"].clone())
        };
        // "Restart": new pool, new stores, new app on the same file.
        let path = ctx.guard().path().join("passkeys.db");
        let path = path.to_str().unwrap();
        assert_eq!(sqlite::run_migrations(path).await.unwrap(), 0);
        let pool = sqlite::connect(path).await.unwrap();
        let passkeys = actix_passkeys::Passkeys::builder(
            config().build().unwrap(),
            SqliteCredentialStore::new(pool.clone()),
            SqliteChallengeStore::new(pool),
        )
        .clock(ctx.clock.clone())
        .build()
        .unwrap();
        let mut app = ctx.app_with(passkeys).await;
        let r = app.sign_in(&mut auth, None).await;
        assert_eq!(r.assert_ok()["userId"], "alice");
        assert_eq!(app.get("/me").await.body["credentialId"], id);
    }

    /// A file that cannot be opened is a clear `Connect` error from every `connect`.
    #[actix_rt::test]
    async fn connect_names_a_file_that_cannot_be_opened() {
        use actix_passkeys::store::diesel::DieselStoreError;
        let (dir, _) = temp_db();
        let path = dir.path().join("missing-dir").join("p.db");
        let path = path.to_str().unwrap();
        let err = sqlite::connect(path).await.unwrap_err();
        assert!(matches!(err, DieselStoreError::Connect(_)), "{err}");
        assert!(
            err.to_string().to_lowercase().contains("unable to open"),
            "{err}"
        );
        assert!(err.is_unavailable());
        let err = SqliteCredentialStore::connect(path).await.unwrap_err();
        assert!(matches!(err, DieselStoreError::Connect(_)), "{err}");
        let err = SqliteChallengeStore::connect(path).await.unwrap_err();
        assert!(matches!(err, DieselStoreError::Connect(_)), "{err}");
    }

    #[actix_rt::test]
    async fn challenge_records_live_through_the_grace_period() {
        let (_dir, path) = temp_db();
        sqlite::run_migrations(&path).await.unwrap();
        let clock = FrozenClock::at(chrono::Utc::now().trunc_subsecs(6));
        let store = SqliteChallengeStore::connect(&path)
            .await
            .unwrap()
            .with_clock(Arc::new(clock.clone()));
        challenge_lifetime(&store, &clock, async |s: &SqliteChallengeStore| {
            s.delete_expired().await.unwrap()
        })
        .await;
    }
}

#[cfg(feature = "postgres")]
mod pg {
    use std::time::Instant;

    use actix_passkeys::{
        store::{
            diesel::{
                pg::{self, PgChallengeStore, PgCredentialStore, MIGRATIONS},
                DieselStoreError, MigrationError, CONNECTION_TIMEOUT,
            },
            memory::{MemoryChallengeStore, MemoryCredentialStore},
        },
        Passkeys,
    };
    use actix_web::{http::StatusCode, test as atest, App};
    use diesel::{Connection as _, RunQueryDsl as _};
    use diesel_async::{async_connection_wrapper::AsyncConnectionWrapper, AsyncPgConnection};
    use diesel_migrations::MigrationHarness as _;
    use serde_json::{json, Value};

    use super::*;
    use crate::fixtures::{config, PgDatabase};

    /// A server that accepts connections and never answers: `connect` gives up after its
    /// timeout instead of hanging.
    #[actix_rt::test]
    async fn a_silent_database_is_a_timeout_not_a_hang() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "postgres://postgres@{}/test",
            listener.local_addr().unwrap()
        );
        let started = Instant::now();
        let err = pg::connect(&url).await.unwrap_err();
        assert!(err.is_unavailable(), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        drop(listener);
    }

    /// `sslmode` and `connect` over TLS against the local server, whose certificate is
    /// Debian's self-signed "snakeoil" one for `localhost`: untrusted by the system roots.
    #[cfg(feature = "postgres-tls")]
    mod tls {
        use super::*;

        const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

        /// Whether the session of a connection from `pool` runs over TLS.
        async fn session_uses_tls(pool: &pg::PgPool) -> bool {
            #[derive(diesel::QueryableByName)]
            struct Ssl {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                ssl: bool,
            }
            let mut conn = pool.get().await.unwrap();
            let row: Ssl = diesel_async::RunQueryDsl::get_result(
                diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"),
                &mut *conn,
            )
            .await
            .unwrap();
            row.ssl
        }

        /// The certificate is verified under every TLS mode: one that does not name the host
        /// connected to (`127.0.0.1`; it names `localhost`) is a clear `Connect` error, and
        /// `prefer` does not fall back to plain TCP after it. (This machine's system store
        /// holds the snakeoil certificate itself, so an unknown issuer cannot be shown with
        /// this server; a wrong name fails the same verification.)
        #[actix_rt::test]
        async fn a_certificate_that_fails_verification_is_refused_in_every_tls_mode() {
            for mode in ["require", "verify-full", "prefer"] {
                let url = format!("postgres://postgres@127.0.0.1:5432/test?sslmode={mode}");
                let err = pg::connect(&url).await.unwrap_err();
                assert!(matches!(err, DieselStoreError::Connect(_)), "{mode}: {err}");
                assert!(err.to_string().contains("certificate"), "{mode}: {err}");
            }
        }

        /// With the server's certificate as `sslrootcert`, `verify-full` connects over TLS
        /// when the URL names the host the certificate is for, and not otherwise; `disable`
        /// connects in plain TCP.
        #[actix_rt::test]
        async fn verify_full_checks_the_chain_and_the_host_name() {
            assert!(std::path::Path::new(SNAKEOIL).exists(), "{SNAKEOIL}");
            let trusted = format!(
                "postgres://postgres@localhost:5432/test?hostaddr=127.0.0.1\
                 &sslmode=verify-full&sslrootcert={SNAKEOIL}"
            );
            let pool = pg::connect(&trusted).await.unwrap();
            assert!(session_uses_tls(&pool).await);
            let wrong_host = format!(
                "postgres://postgres@127.0.0.1:5432/test?sslmode=verify-full&sslrootcert={SNAKEOIL}"
            );
            let err = pg::connect(&wrong_host).await.unwrap_err();
            assert!(err.to_string().contains("certificate"), "{err}");
            let plain = pg::connect("postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
                .await
                .unwrap();
            assert!(!session_uses_tls(&plain).await);
        }

        /// `require` and `verify-full` connect over TLS whether the connection string is a URL
        /// or `key=value` pairs (a `key=value` string used to connect in plain TCP whatever its
        /// `sslmode`, and failed on `verify-full`); in both forms a certificate that does not
        /// name the host is refused, so TLS was tried.
        #[actix_rt::test]
        async fn sslmode_is_honoured_in_urls_and_key_value_strings() {
            for mode in ["require", "verify-full"] {
                for wrong_host in [
                    format!("postgres://postgres@127.0.0.1:5432/test?sslmode={mode}"),
                    format!("host=127.0.0.1 user=postgres dbname=test sslmode={mode}"),
                ] {
                    let err = pg::connect(&wrong_host).await.unwrap_err();
                    assert!(
                        err.to_string().contains("certificate"),
                        "{wrong_host}: {err}"
                    );
                }
                for trusted in [
                    format!(
                        "postgres://postgres@localhost:5432/test?hostaddr=127.0.0.1\
                         &sslmode={mode}&sslrootcert={SNAKEOIL}"
                    ),
                    format!(
                        "host=localhost hostaddr=127.0.0.1 port=5432 user=postgres dbname=test \
                         sslmode={mode} sslrootcert={SNAKEOIL}"
                    ),
                ] {
                    let pool = pg::connect(&trusted).await.unwrap();
                    assert!(session_uses_tls(&pool).await, "{trusted}");
                }
            }
        }

        /// The migration runner connects as the stores do: a `verify-full` URL migrates over
        /// TLS, and the stores work on it.
        #[actix_rt::test]
        async fn migrations_and_stores_run_over_tls() {
            let db = PgDatabase::create().await;
            let url = format!(
                "postgres://postgres@localhost:5432/{}?hostaddr=127.0.0.1\
                 &sslmode=verify-full&sslrootcert={SNAKEOIL}",
                db.name
            );
            assert_eq!(
                pg::run_migrations(&url).await.unwrap(),
                migration_count("postgres")
            );
            let store = PgCredentialStore::connect(&url).await.unwrap();
            assert!(session_uses_tls(store.pool()).await);
            assert_eq!(store.get(b"none").await.unwrap(), None);
        }

        /// A TLS mode against a server that speaks no TLS at all is a clear error, not a hang.
        #[actix_rt::test]
        async fn tls_to_a_server_without_tls_is_a_clear_error() {
            // A listener that answers PostgreSQL's SSLRequest with `N` (no TLS) and closes.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
                while let Ok((mut socket, _)) = listener.accept().await {
                    let mut request = [0u8; 8];
                    if socket.read_exact(&mut request).await.is_ok() {
                        let _ = socket.write_all(b"N").await;
                    }
                }
            });
            let url = format!("postgres://postgres@{addr}/test?sslmode=require");
            let started = Instant::now();
            let err = pg::connect(&url).await.unwrap_err();
            assert!(matches!(err, DieselStoreError::Connect(_)), "{err}");
            assert!(started.elapsed() < Duration::from_secs(3));
            server.abort();
        }
    }

    /// One text value of a query (`SELECT … AS name`) on a connection from `pool`.
    async fn query_text(pool: &pg::PgPool, query: &str) -> String {
        let mut conn = pool.get().await.unwrap();
        let row: ColumnName =
            diesel_async::RunQueryDsl::get_result(diesel::sql_query(query), &mut *conn)
                .await
                .unwrap();
        row.name
    }

    /// URL parameters other than `sslmode`/`sslrootcert` reach the server as written:
    /// `%20` is a space (it used to be re-encoded as `+`, which tokio-postgres keeps, so
    /// `options=-c%20search_path%3Dx` failed and `my%20app` arrived as `my+app`).
    #[actix_rt::test]
    async fn url_parameters_reach_the_server_as_written() {
        let db = PgDatabase::create().await;
        with_sync_conn(&db.url, |conn| {
            diesel::sql_query("CREATE SCHEMA auth_x")
                .execute(conn)
                .unwrap()
        })
        .await;
        for tls in ["", "&sslmode=disable"] {
            let url = format!(
                "{}?options=-c%20search_path%3Dauth_x&application_name=my%20app{tls}",
                db.url
            );
            let pool = pg::connect(&url).await.unwrap();
            assert_eq!(
                query_text(&pool, "SELECT current_setting('search_path') AS name").await,
                "auth_x",
                "{url}"
            );
            assert_eq!(
                query_text(&pool, "SELECT current_setting('application_name') AS name").await,
                "my app",
                "{url}"
            );
        }
    }

    /// A database that accepts the connection and never answers fails the migration runner
    /// with `ConnectTimeout` after `CONNECTION_TIMEOUT`, instead of hanging (it had no
    /// timeout).
    #[actix_rt::test]
    async fn migrations_against_a_silent_database_time_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "postgres://postgres@{}/test",
            listener.local_addr().unwrap()
        );
        let started = Instant::now();
        let err = tokio::time::timeout(Duration::from_secs(10), pg::run_migrations(&url))
            .await
            .expect("run_migrations hung")
            .unwrap_err();
        assert!(
            matches!(err, MigrationError::ConnectTimeout(t) if t == CONNECTION_TIMEOUT),
            "{err:?}"
        );
        assert!(err.to_string().contains("2s"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        drop(listener);
    }

    type SyncPg = AsyncConnectionWrapper<AsyncPgConnection>;

    fn table_names(conn: &mut SyncPg) -> Vec<String> {
        names(
            diesel::sql_query(
                "SELECT table_name AS name FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_name LIKE 'passkey_%'",
            )
            .load(conn)
            .unwrap(),
        )
    }

    /// Runs blocking diesel code against `url` on the blocking pool.
    async fn with_sync_conn<T: Send + 'static>(
        url: &str,
        f: impl FnOnce(&mut SyncPg) -> T + Send + 'static,
    ) -> T {
        let url = url.to_owned();
        tokio::task::spawn_blocking(move || f(&mut SyncPg::establish(&url).unwrap()))
            .await
            .unwrap()
    }

    #[actix_rt::test]
    async fn schema_matches_migrations() {
        let db = PgDatabase::migrated().await;
        let (cr_names, ch_names) = column_names!(
            actix_passkeys::store::diesel::schema::pg::passkey_credentials,
            actix_passkeys::store::diesel::schema::pg::passkey_challenges
        );
        let found = with_sync_conn(&db.url, |conn| {
            ["passkey_credentials", "passkey_challenges"].map(|table| {
                names(
                    diesel::sql_query(format!(
                        "SELECT column_name AS name FROM information_schema.columns \
                         WHERE table_schema = 'public' AND table_name = '{table}'"
                    ))
                    .load(conn)
                    .unwrap(),
                )
            })
        })
        .await;
        assert_eq!(found, [cr_names, ch_names]);
        round_trips_every_column(&PgCredentialStore::connect(&db.url).await.unwrap()).await;
    }

    #[actix_rt::test]
    async fn migrations_up_down_up_and_runner_is_idempotent() {
        let db = PgDatabase::create().await;
        assert_eq!(
            pg::run_migrations(&db.url).await.unwrap(),
            migration_count("postgres")
        );
        assert_eq!(
            pg::run_migrations(&db.url).await.unwrap(),
            0,
            "second run is a no-op"
        );
        let tables = with_sync_conn(&db.url, |conn| {
            let mut seen = vec![table_names(conn)];
            conn.revert_all_migrations(MIGRATIONS).unwrap();
            seen.push(table_names(conn));
            conn.run_pending_migrations(MIGRATIONS).unwrap();
            seen.push(table_names(conn));
            seen
        })
        .await;
        assert_eq!(tables[0].len(), 2);
        assert!(tables[1].is_empty());
        assert_eq!(tables[2], tables[0]);
        assert_eq!(pg::run_migrations(&db.url).await.unwrap(), 0);
    }

    #[actix_rt::test]
    async fn concurrent_runners_migrate_once() {
        let db = PgDatabase::create().await;
        let runs =
            futures_util::future::join_all((0..4).map(|_| pg::run_migrations(&db.url))).await;
        let applied: usize = runs.into_iter().map(|r| r.unwrap()).sum();
        assert_eq!(applied, migration_count("postgres"));
    }

    #[actix_rt::test]
    async fn challenge_records_live_through_the_grace_period() {
        let db = PgDatabase::migrated().await;
        let clock = FrozenClock::at(chrono::Utc::now().trunc_subsecs(6));
        let store = PgChallengeStore::connect(&db.url)
            .await
            .unwrap()
            .with_clock(Arc::new(clock.clone()));
        challenge_lifetime(&store, &clock, async |s: &PgChallengeStore| {
            s.delete_expired().await.unwrap()
        })
        .await;
    }

    /// A read of the table within the TTL yields no usable handle: it keeps a SHA-256 of each
    /// handle. Begin/finish still work.
    #[actix_rt::test]
    async fn challenge_handles_are_not_stored_in_clear() {
        use crate::fixtures::{Ctx, Postgres, ORIGIN};
        let ctx = Ctx::<Postgres>::new().await;
        let mut app = ctx.app().await;
        let mut auth = actix_passkeys::testing::SoftAuthenticator::new(ORIGIN).unwrap();
        app.signup("alice").await;
        let registration = app.registration(&mut auth, None).await;
        let sign_in = app.auth_begin(None).await;
        let rows = with_sync_conn(&ctx.guard().url, |conn| {
            diesel::sql_query("SELECT row_to_json(c)::text AS name FROM passkey_challenges c")
                .load::<ColumnName>(conn)
                .unwrap()
        })
        .await;
        assert_eq!(rows.len(), 2, "both ceremonies pending");
        for state in [&registration["state"], &sign_in["state"]] {
            let handle = state.as_str().unwrap();
            for row in &rows {
                assert!(
                    !row.name.contains(handle),
                    "a handle in clear: {}",
                    row.name
                );
            }
        }
        app.post("/auth/passkeys/register/finish", registration)
            .await
            .assert_ok();
    }

    /// The request is answered 503 `store_unavailable` within 3 s.
    async fn unavailable_quickly<S, B>(svc: &S, req: actix_http::Request)
    where
        S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
        B: actix_web::body::MessageBody,
    {
        let started = Instant::now();
        let resp = atest::call_service(svc, req).await;
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = atest::read_body_json(resp).await;
        assert_eq!(body["error"]["code"], "store_unavailable");
    }

    /// A URL where nothing listens.
    fn dead_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("postgres://postgres@127.0.0.1:{port}/test")
    }

    #[actix_rt::test]
    async fn unreachable_database_is_503_quickly() {
        let url = dead_url();
        let started = Instant::now();
        let err = pg::connect(&url).await.unwrap_err();
        assert!(err.is_unavailable());
        assert!(
            matches!(err, DieselStoreError::Connect(_)) && err.to_string().contains("refused"),
            "connect names the cause: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let err = PgCredentialStore::connect(&url).await.unwrap_err();
        assert!(matches!(err, DieselStoreError::Connect(_)), "{err}");
        let err = PgChallengeStore::connect(&url).await.unwrap_err();
        assert!(matches!(err, DieselStoreError::Connect(_)), "{err}");
        assert!(pg::run_migrations(&url).await.is_err());

        let lazy = || pg::pool(&url, |b| b);
        let creds = Passkeys::new(
            config().build().unwrap(),
            PgCredentialStore::new(lazy()),
            MemoryChallengeStore::new(),
        );
        let challenges = Passkeys::new(
            config().build().unwrap(),
            MemoryCredentialStore::new(),
            PgChallengeStore::new(lazy()),
        );
        let creds = atest::init_service(App::new().service(creds)).await;
        let challenges = atest::init_service(App::new().service(challenges)).await;
        let begin = |body: Value| {
            atest::TestRequest::post()
                .uri("/auth/passkeys/authenticate/begin")
                .set_json(body)
                .to_request()
        };
        unavailable_quickly(&creds, begin(json!({"userId": "alice"}))).await;
        unavailable_quickly(&challenges, begin(json!({}))).await;
    }

    /// Every instance on one database shares the PostgreSQL stores (SQLite's are local:
    /// `store::diesel::sqlite::tests::sqlite_stores_are_not_shared`), so `build()` warns when
    /// no server secret is set.
    #[actix_rt::test]
    async fn postgres_stores_are_shared() {
        use actix_passkeys::store::ChallengeStore as _;
        let lazy = || pg::pool(&dead_url(), |b| b);
        assert!(PgCredentialStore::new(lazy()).is_shared());
        assert!(PgChallengeStore::new(lazy()).is_shared());
    }
}
