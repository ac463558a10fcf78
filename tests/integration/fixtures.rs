//! Shared test fixtures: backends, a test app with a session cookie jar, ceremony helpers.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use actix_http::Request;
use actix_passkeys::{
    hooks::AuditEvent,
    hooks::AuditEventKind,
    hooks::AuditSink,
    hooks::FrozenClock,
    store::{ChallengeStore, CredentialStore},
    testing::SoftAuthenticator,
    Authenticated, PasskeyConfig, PasskeyConfigBuilder, PasskeyError, PasskeyUser, Passkeys,
    PasskeysBuilder,
};
use actix_session::{
    storage::{SessionKey, SessionStore},
    Session, SessionMiddleware,
};
use actix_web::{
    body::MessageBody,
    cookie::{Cookie, Key},
    dev::{Service, ServiceResponse},
    http::{header, Method, StatusCode},
    test as atest, web, App, HttpResponse,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::{json, Value};

pub const ORIGIN: &str = "http://localhost:8080";
pub const SESSION_COOKIE: &str = "id";

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).expect("base64url")
}

pub fn config() -> PasskeyConfigBuilder {
    PasskeyConfig::builder("localhost", "Test RP").origin(ORIGIN)
}

/// A store pair for one test, with whatever cleans it up.
pub trait Backend: 'static {
    type C: CredentialStore + Clone;
    type S: ChallengeStore + Clone;
    type Guard;
    fn create(
        clock: &FrozenClock,
    ) -> impl std::future::Future<Output = (Self::C, Self::S, Self::Guard)>;
}

pub struct Memory;

impl Backend for Memory {
    type C = actix_passkeys::store::memory::MemoryCredentialStore;
    type S = actix_passkeys::store::memory::MemoryChallengeStore;
    type Guard = ();
    async fn create(clock: &FrozenClock) -> (Self::C, Self::S, ()) {
        (
            Self::C::new(),
            Self::S::new().with_clock(Arc::new(clock.clone())),
            (),
        )
    }
}

/// Memory credentials, challenges in the local Redis (127.0.0.1:6379, or `REDIS_URL`) under a
/// key prefix of the test's own; its keys are removed when the test ends.
#[cfg(feature = "redis")]
pub struct Redis;

/// Deletes the keys under its prefix on drop (SCAN + DEL).
#[cfg(feature = "redis")]
pub struct RedisKeys(String);

#[cfg(feature = "redis")]
#[path = "../support/redis.rs"]
pub mod redis_support;

#[cfg(feature = "redis")]
impl Drop for RedisKeys {
    fn drop(&mut self) {
        redis_support::clean(&self.0);
    }
}

#[cfg(feature = "postgres")]
#[path = "../support/pg.rs"]
mod pg;
#[cfg(feature = "postgres")]
pub use pg::PgDatabase;

#[cfg(feature = "redis")]
impl Backend for Redis {
    type C = actix_passkeys::store::memory::MemoryCredentialStore;
    type S = actix_passkeys::store::redis::RedisChallengeStore;
    type Guard = RedisKeys;
    async fn create(_clock: &FrozenClock) -> (Self::C, Self::S, RedisKeys) {
        let prefix = redis_support::unique_prefix("routes");
        let store = Self::S::connect(&redis_support::url())
            .await
            .unwrap()
            .with_key_prefix(prefix.clone());
        (Self::C::new(), store, RedisKeys(prefix))
    }
}

/// PostgreSQL stores on a fresh, migrated database per test.
#[cfg(feature = "postgres")]
pub struct Postgres;

#[cfg(feature = "postgres")]
impl Backend for Postgres {
    type C = actix_passkeys::store::diesel::pg::PgCredentialStore;
    type S = actix_passkeys::store::diesel::pg::PgChallengeStore;
    type Guard = PgDatabase;
    async fn create(clock: &FrozenClock) -> (Self::C, Self::S, PgDatabase) {
        let db = PgDatabase::migrated().await;
        let pool = actix_passkeys::store::diesel::pg::connect(&db.url)
            .await
            .unwrap();
        (
            Self::C::new(pool.clone()),
            Self::S::new(pool).with_clock(Arc::new(clock.clone())),
            db,
        )
    }
}

/// SQLite stores on a migrated file in a fresh temporary directory per test.
#[cfg(feature = "sqlite")]
pub struct Sqlite;

#[cfg(feature = "sqlite")]
impl Backend for Sqlite {
    type C = actix_passkeys::store::diesel::sqlite::SqliteCredentialStore;
    type S = actix_passkeys::store::diesel::sqlite::SqliteChallengeStore;
    type Guard = tempfile::TempDir;
    async fn create(clock: &FrozenClock) -> (Self::C, Self::S, tempfile::TempDir) {
        use actix_passkeys::store::diesel::sqlite;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passkeys.db");
        let path = path.to_str().unwrap();
        sqlite::run_migrations(path).await.unwrap();
        let pool = sqlite::connect(path).await.unwrap();
        (
            Self::C::new(pool.clone()),
            Self::S::new(pool).with_clock(Arc::new(clock.clone())),
            dir,
        )
    }
}

/// Audit events, recorded.
#[derive(Debug, Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<AuditEvent>>>);

impl Recorder {
    pub fn kinds(&self) -> Vec<AuditEventKind> {
        self.0.lock().unwrap().iter().map(|e| e.kind).collect()
    }

    pub fn count(&self, kind: AuditEventKind) -> usize {
        self.kinds().into_iter().filter(|k| *k == kind).count()
    }
}

impl AuditSink for Recorder {
    type Error = std::convert::Infallible;

    fn emit(
        &self,
        event: &AuditEvent,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send {
        self.0.lock().unwrap().push(event.clone());
        std::future::ready(Ok(()))
    }
}

/// Server-side sessions in memory, so tests can see the session key change on login.
#[derive(Clone, Default)]
pub struct MemorySessions(Arc<Mutex<HashMap<String, HashMap<String, String>>>>);

impl MemorySessions {
    pub fn contains(&self, key: &str) -> bool {
        self.0.lock().unwrap().contains_key(key)
    }
}

fn new_key() -> SessionKey {
    let mut bytes = [0u8; 32];
    rand_bytes(&mut bytes);
    SessionKey::try_from(b64(&bytes)).unwrap()
}

fn rand_bytes(out: &mut [u8]) {
    for b in out.iter_mut() {
        *b = uuid::Uuid::new_v4().as_bytes()[0];
    }
}

impl SessionStore for MemorySessions {
    async fn load(
        &self,
        key: &SessionKey,
    ) -> Result<Option<HashMap<String, String>>, actix_session::storage::LoadError> {
        Ok(self.0.lock().unwrap().get(key.as_ref()).cloned())
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        _ttl: &actix_web::cookie::time::Duration,
    ) -> Result<SessionKey, actix_session::storage::SaveError> {
        let key = new_key();
        self.0
            .lock()
            .unwrap()
            .insert(key.as_ref().to_owned(), state);
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        _ttl: &actix_web::cookie::time::Duration,
    ) -> Result<SessionKey, actix_session::storage::UpdateError> {
        self.0
            .lock()
            .unwrap()
            .insert(key.as_ref().to_owned(), state);
        Ok(key)
    }

    async fn update_ttl(
        &self,
        _: &SessionKey,
        _: &actix_web::cookie::time::Duration,
    ) -> Result<(), anyhow::Error> {
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        self.0.lock().unwrap().remove(key.as_ref());
        Ok(())
    }
}

/// One test's world: stores, clock, audit recorder, session store.
pub struct Ctx<B: Backend> {
    pub creds: B::C,
    pub challenges: B::S,
    pub clock: FrozenClock,
    pub audit: Recorder,
    pub sessions: MemorySessions,
    _guard: B::Guard,
}

impl<B: Backend> Ctx<B> {
    pub async fn new() -> Self {
        // SQL stores keep microseconds; start the clock on a whole microsecond so stored
        // timestamps compare equal to the clock's.
        use chrono::SubsecRound as _;
        let clock = FrozenClock::at(chrono::Utc::now().trunc_subsecs(6));
        let (creds, challenges, guard) = B::create(&clock).await;
        Self {
            creds,
            challenges,
            clock,
            audit: Recorder::default(),
            sessions: MemorySessions::default(),
            _guard: guard,
        }
    }

    /// What cleans this test's storage up (the temp dir, the database).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))] // the SQLite restart test
    pub fn guard(&self) -> &B::Guard {
        &self._guard
    }

    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use actix_passkeys::hooks::Clock as _;
        self.clock.now()
    }

    /// A `Passkeys` builder over this context's stores, clock and recorder.
    pub fn builder(&self, config: PasskeyConfig) -> PasskeysBuilder {
        Passkeys::builder(config, self.creds.clone(), self.challenges.clone())
            .clock(self.clock.clone())
            .audit(self.audit.clone())
    }

    /// The test app with the default config.
    pub async fn app(
        &self,
    ) -> TestApp<
        impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
    > {
        self.app_with(self.builder(config().build().unwrap()).build().unwrap())
            .await
    }

    /// The test app around a given service: session middleware, the scope, `/signup`, `/me`.
    pub async fn app_with(
        &self,
        passkeys: Passkeys,
    ) -> TestApp<
        impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
    > {
        self.app_configured(move |cfg| {
            cfg.configure(passkeys.configure())
                .route("/signup", web::post().to(signup))
                .route("/me", web::get().to(me));
        })
        .await
    }

    /// A test app with session middleware around whatever `routes` mounts.
    pub async fn app_configured(
        &self,
        routes: impl FnOnce(&mut web::ServiceConfig),
    ) -> TestApp<
        impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
    > {
        let sessions = self.sessions.clone();
        let svc = atest::init_service(
            App::new()
                .wrap(
                    SessionMiddleware::builder(sessions, Key::from(&[7u8; 64]))
                        .cookie_name(SESSION_COOKIE.to_owned())
                        .cookie_secure(false)
                        .build(),
                )
                .configure(routes),
        )
        .await;
        TestApp { svc, cookie: None }
    }
}

/// `POST /signup` with its own `Passkeys` handle, for apps that do not register the handle for
/// every route (`signup` needs it).
pub fn signup_with(passkeys: &Passkeys) -> actix_web::Resource {
    web::resource("/signup")
        .app_data(passkeys.clone())
        .route(web::post().to(signup))
}

pub async fn signup(
    session: Session,
    passkeys: Passkeys,
    body: web::Json<Value>,
) -> Result<HttpResponse, PasskeyError> {
    let name = body["username"].as_str().unwrap_or_default().to_owned();
    let user = PasskeyUser::new(name.clone(), name.clone(), name.clone());
    // Bound to the service's tenant, on its (frozen) clock.
    passkeys.identify(&session, &user)?;
    Ok(HttpResponse::Ok().json(json!({ "userId": name })))
}

pub async fn me(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(user.into_inner())
}

/// A response, read.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub raw: Vec<u8>,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub headers: actix_web::http::header::HeaderMap,
}

impl Resp {
    /// The error code of an error envelope; panics when the body is not one.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_else(|| {
            panic!(
                "not an error envelope: {} {}",
                self.status,
                String::from_utf8_lossy(&self.raw)
            )
        })
    }

    /// Asserts status and error code, and that the envelope has exactly `code` and `message`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.raw)
        );
        assert_eq!(self.code(), code);
        assert!(self.body["error"]["message"].is_string());
        assert_eq!(self.body.as_object().map(|o| o.len()), Some(1));
        assert_eq!(self.body["error"].as_object().map(|o| o.len()), Some(2));
    }

    #[track_caller]
    /// Asserts a 200 (not merely any 2xx: a 204 where a body is due is a defect) and returns
    /// the JSON body.
    pub fn assert_ok(&self) -> &Value {
        assert!(
            self.status == actix_web::http::StatusCode::OK,
            "{} {}",
            self.status,
            String::from_utf8_lossy(&self.raw)
        );
        &self.body
    }
}

async fn read<Bd: MessageBody>(resp: ServiceResponse<Bd>) -> Resp {
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let headers = resp.headers().clone();
    let raw = atest::read_body(resp).await.to_vec();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Resp {
        status,
        body,
        raw,
        content_type,
        retry_after,
        headers,
    }
}

/// The app under test plus one browser's cookie jar (the session cookie).
pub struct TestApp<T> {
    svc: T,
    pub cookie: Option<String>,
}

impl<T, Bd> TestApp<T>
where
    T: Service<Request, Response = ServiceResponse<Bd>, Error = actix_web::Error>,
    Bd: MessageBody,
{
    /// Sends a request (with the session cookie), keeps any new session cookie.
    pub async fn send(&mut self, req: atest::TestRequest) -> Resp {
        let req = match &self.cookie {
            Some(c) => req.cookie(Cookie::new(SESSION_COOKIE, c.clone())),
            None => req,
        };
        let resp = atest::call_service(&self.svc, req.to_request()).await;
        for c in resp.response().cookies() {
            if c.name() == SESSION_COOKIE {
                self.cookie = if c.value().is_empty() {
                    None
                } else {
                    Some(c.value().to_owned())
                };
            }
        }
        read(resp).await
    }

    /// POSTs every body to `path` at once (with the session cookie; cookies in the answers
    /// are not kept).
    pub async fn post_concurrently(&self, path: &str, bodies: Vec<Value>) -> Vec<Resp> {
        let calls = bodies.into_iter().map(|body| {
            let req = atest::TestRequest::post().uri(path).set_json(body);
            let req = match &self.cookie {
                Some(c) => req.cookie(Cookie::new(SESSION_COOKIE, c.clone())),
                None => req,
            };
            async move { read(atest::call_service(&self.svc, req.to_request()).await).await }
        });
        futures_util::future::join_all(calls).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Resp {
        self.send(atest::TestRequest::post().uri(path).set_json(body))
            .await
    }

    pub async fn post_empty(&mut self, path: &str) -> Resp {
        self.send(atest::TestRequest::post().uri(path)).await
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(atest::TestRequest::get().uri(path)).await
    }

    pub async fn method(&mut self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let req = atest::TestRequest::default().method(method).uri(path);
        let req = match body {
            Some(b) => req.set_json(b),
            None => req,
        };
        self.send(req).await
    }

    pub async fn signup(&mut self, user: &str) {
        self.post("/signup", json!({ "username": user }))
            .await
            .assert_ok();
    }

    pub async fn logout(&mut self) {
        let r = self.post_empty("/auth/passkeys/logout").await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        self.cookie = None;
    }

    /// `register/begin` → authenticator → the finish body (not sent).
    pub async fn registration(
        &mut self,
        auth: &mut SoftAuthenticator,
        device_name: Option<&str>,
    ) -> Value {
        let begin = self.post_empty("/auth/passkeys/register/begin").await;
        let begin = begin.assert_ok();
        let credential = auth
            .register(&begin["publicKey"])
            .await
            .expect("authenticator registers");
        let mut body = json!({ "credential": credential, "state": begin["state"] });
        if let Some(name) = device_name {
            body["deviceName"] = json!(name);
        }
        body
    }

    /// A full registration; returns the finish response.
    pub async fn register(
        &mut self,
        auth: &mut SoftAuthenticator,
        device_name: Option<&str>,
    ) -> Resp {
        let body = self.registration(auth, device_name).await;
        self.post("/auth/passkeys/register/finish", body).await
    }

    /// `authenticate/begin` (username-first when `user_id` is set).
    pub async fn auth_begin(&mut self, user_id: Option<&str>) -> Value {
        let body = match user_id {
            Some(u) => json!({ "userId": u }),
            None => json!({}),
        };
        self.post("/auth/passkeys/authenticate/begin", body)
            .await
            .assert_ok()
            .clone()
    }

    /// Begin + authenticator → the finish body (not sent).
    pub async fn assertion(
        &mut self,
        auth: &mut SoftAuthenticator,
        user_id: Option<&str>,
    ) -> Value {
        let begin = self.auth_begin(user_id).await;
        let credential = auth
            .sign_in(&begin["publicKey"])
            .await
            .expect("authenticator signs");
        json!({ "credential": credential, "state": begin["state"] })
    }

    /// A username-first sign-in of `user_id` whose client data names `origin`: a validly
    /// signed assertion with the next counter, as a client on that origin would send it.
    pub async fn sign_in_from_origin(
        &mut self,
        auth: &mut SoftAuthenticator,
        user_id: &str,
        origin: &str,
    ) -> Resp {
        let begin = self.auth_begin(Some(user_id)).await;
        let challenge = begin["publicKey"]["challenge"].as_str().unwrap();
        let mut spec = actix_passkeys::testing::AssertionSpec::new("localhost", origin, challenge);
        spec.counter = auth.sign_count().unwrap_or(0) + 1;
        auth.set_sign_count(spec.counter);
        let credential = auth.forge_assertion(&spec).unwrap();
        self.post(
            "/auth/passkeys/authenticate/finish",
            json!({"credential": credential, "state": begin["state"]}),
        )
        .await
    }

    /// A full sign-in; returns the finish response.
    pub async fn sign_in(&mut self, auth: &mut SoftAuthenticator, user_id: Option<&str>) -> Resp {
        let body = self.assertion(auth, user_id).await;
        self.post("/auth/passkeys/authenticate/finish", body).await
    }
}

/// Rewrites a registration response's clientDataJSON to answer another challenge. With
/// attestation format `none` nothing signs the attestation object, so this is what an attacker
/// who replays someone's credential id and public key can send.
pub fn forge_registration(response: &Value, challenge: &str) -> Value {
    let mut forged = response.clone();
    let client_data = unb64(response["response"]["clientDataJSON"].as_str().unwrap());
    let mut client_data: Value = serde_json::from_slice(&client_data).unwrap();
    client_data["challenge"] = json!(challenge);
    forged["response"]["clientDataJSON"] = json!(b64(&serde_json::to_vec(&client_data).unwrap()));
    forged
}

/// Generates per-backend `#[actix_rt::test]`s from the generic cases in `routes`.
#[macro_export]
macro_rules! backend_tests {
    ($backend:ty; $($case:ident),* $(,)?) => {
        $(
            #[actix_rt::test]
            async fn $case() {
                $crate::routes::$case::<$backend>().await
            }
        )*
    };
}

/// Generates, in the calling module, one `#[actix_rt::test]` per backend (modules `memory`,
/// `sqlite`, `postgres`) for each generic case `case::<B: Backend>()` of that module.
#[macro_export]
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $( #[actix_rt::test] async fn $case() { super::$case::<$crate::fixtures::Memory>().await } )*
        }
        #[cfg(feature = "sqlite")]
        mod sqlite {
            $( #[actix_rt::test] async fn $case() { super::$case::<$crate::fixtures::Sqlite>().await } )*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $( #[actix_rt::test] async fn $case() { super::$case::<$crate::fixtures::Postgres>().await } )*
        }
    };
}

/// A challenge store that is down: every call fails with "challenge store full" (a cause that
/// must stay in the log, never in the answer).
pub struct DownChallengeStore;

impl actix_passkeys::store::ChallengeStore for DownChallengeStore {
    type Error = std::io::Error;

    async fn put(
        &self,
        _: &str,
        _: actix_passkeys::store::ChallengeRecord,
    ) -> Result<(), std::io::Error> {
        Err(std::io::Error::other("challenge store full"))
    }

    async fn take(
        &self,
        _: &str,
    ) -> Result<Option<actix_passkeys::store::ChallengeRecord>, std::io::Error> {
        Err(std::io::Error::other("challenge store full"))
    }
}

/// Edits the client data JSON of a finish body's `credential` (decoded, changed by `f`,
/// re-encoded).
pub fn edit_client_data(credential: &mut Value, f: impl FnOnce(&mut Value)) {
    let raw = unb64(credential["response"]["clientDataJSON"].as_str().unwrap());
    let mut cd: Value = serde_json::from_slice(&raw).unwrap();
    f(&mut cd);
    credential["response"]["clientDataJSON"] = Value::from(b64(&serde_json::to_vec(&cd).unwrap()));
}

/// A replay seed from the environment variable `var`, if set to a number.
pub fn env_seed(var: &str) -> Option<u64> {
    std::env::var(var).ok().and_then(|s| s.parse().ok())
}

/// A fresh seed from the clock, for a run without a replay seed.
pub fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}
