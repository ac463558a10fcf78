//! The Redis challenge store under the real app: outages, a Redis restart, and two app instances
//! (own pools) sharing one Redis and one PostgreSQL. Needs Redis at 127.0.0.1:6379 (`REDIS_URL` overrides) and, for the restart
//! case, `redis-server` on `PATH` (or `REDIS_SERVER`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use actix_http::Request;
use actix_passkeys::{
    hooks::FrozenClock,
    store::{
        memory::MemoryCredentialStore,
        redis::{RedisChallengeStore, RedisStoreError},
        ChallengeStore, CredentialStore,
    },
    testing::SoftAuthenticator,
    PasskeyConfig, PasskeyError, PasskeyUser, Passkeys,
};
use actix_web::{
    body::MessageBody,
    dev::{Service, ServiceResponse},
    http::StatusCode,
    test as atest, App, HttpRequest,
};
use bb8_redis::redis;
use serde_json::{json, Value};

#[path = "support/pg.rs"]
mod pg_support;
#[path = "support/redis.rs"]
mod redis_support;

use redis_support::{clean, unique_prefix, url};

use actix_passkeys::store::diesel::pg::{self, PgCredentialStore};
use pg_support::PgDatabase;

const ORIGIN: &str = "http://localhost:8080";
const BEGIN: &str = "/auth/passkeys/authenticate/begin";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Registration and management requests are for the user named in `x-user`.
async fn header_user(req: HttpRequest) -> Result<PasskeyUser, PasskeyError> {
    let id = req
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .ok_or(PasskeyError::NotAuthenticated)?
        .to_owned();
    Ok(PasskeyUser::new(id.clone(), id.clone(), id))
}

/// One app instance: its own `Passkeys` (and so its own pool) over the given stores.
async fn instance<C: CredentialStore, S: ChallengeStore>(
    credentials: C,
    challenges: S,
    clock: Option<FrozenClock>,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    let config = PasskeyConfig::builder("localhost", "Test RP")
        .origin(ORIGIN)
        .build()
        .unwrap();
    let mut builder = Passkeys::builder(config, credentials, challenges)
        .user_resolver(header_user)
        // Same key on every instance: unknown users get the same fake ids everywhere.
        .server_secret(*b"shared fake-credential key 32 by");
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    atest::init_service(App::new().service(builder.build().unwrap())).await
}

async fn post<S, B>(svc: &S, path: &str, user: Option<&str>, body: Value) -> (StatusCode, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut req = atest::TestRequest::post().uri(path).set_json(body);
    if let Some(user) = user {
        req = req.insert_header(("x-user", user));
    }
    let resp = atest::call_service(svc, req.to_request()).await;
    let status = resp.status();
    let raw = atest::read_body(resp).await;
    (status, serde_json::from_slice(&raw).unwrap_or(Value::Null))
}

async fn get<S, B>(svc: &S, path: &str, user: &str) -> StatusCode
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = atest::TestRequest::get()
        .uri(path)
        .insert_header(("x-user", user));
    atest::call_service(svc, req.to_request()).await.status()
}

/// `authenticate/begin` for `user`; status, body and how long it took.
async fn begin<S, B>(svc: &S, user: &str) -> (StatusCode, Value, Duration)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let started = Instant::now();
    let (status, body) = post(svc, BEGIN, None, json!({ "userId": user })).await;
    (status, body, started.elapsed())
}

#[track_caller]
fn assert_unavailable(status: StatusCode, body: &Value, took: Duration) {
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "store_unavailable");
    assert!(
        took < Duration::from_millis(3_500),
        "503 only after {took:?}"
    );
}

#[actix_rt::test]
async fn unreachable_redis_is_503_and_other_routes_still_answer() {
    let store = RedisChallengeStore::connect_lazily(&format!("redis://127.0.0.1:{}", free_port()))
        .expect("connect_lazily succeeds while Redis is down");
    let svc = instance(MemoryCredentialStore::new(), store, None).await;

    let (status, body, took) = begin(&svc, "alice").await;
    assert_unavailable(status, &body, took);
    assert!(
        took >= Duration::from_millis(500),
        "bb8 retried for the connection timeout"
    );
    let (status, body) = post(
        &svc,
        "/auth/passkeys/register/begin",
        Some("alice"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "store_unavailable");
    assert!(!body.to_string().contains("127.0.0.1"), "cause not sent");

    // Routes that do not need the challenge store keep answering.
    assert_eq!(
        get(&svc, "/auth/passkeys/credentials", "alice").await,
        StatusCode::OK
    );
    let js = atest::TestRequest::get().uri("/auth/passkeys/passkeys.js");
    assert_eq!(
        atest::call_service(&svc, js.to_request()).await.status(),
        StatusCode::OK
    );
}

#[actix_rt::test]
async fn stalled_redis_is_503() {
    // Accepts connections and never answers (a hung or overloaded Redis).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let store = RedisChallengeStore::connect_lazily(&format!("redis://127.0.0.1:{port}")).unwrap();
    let svc = instance(MemoryCredentialStore::new(), store, None).await;
    let (status, body, took) = begin(&svc, "alice").await;
    assert_unavailable(status, &body, took);
    // `connect` checks: a silent Redis is a timeout within the connection timeout, not a hang.
    let started = Instant::now();
    let err = RedisChallengeStore::connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(matches!(err, RedisStoreError::Timeout(_)), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// `connect` behaves like the Diesel stores': it checks the connection, and an unreachable
/// Redis is a clear typed error at once.
#[actix_rt::test]
async fn connect_fails_clearly_when_redis_is_unreachable() {
    let started = Instant::now();
    let err = RedisChallengeStore::connect(&format!("redis://127.0.0.1:{}", free_port()))
        .await
        .unwrap_err();
    assert!(matches!(err, RedisStoreError::Redis(_)), "{err}");
    assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(RedisChallengeStore::connect("not a url").await.is_err());
    assert!(RedisChallengeStore::connect(&url()).await.is_ok());
}

/// A private `redis-server` on its own port; killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start(port: u16) -> Self {
        let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let child = Command::new(bin)
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let server = Self { child, port };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let client = redis::Client::open(self.url()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut conn) = client.get_connection() {
                if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills this server (by its pid) and waits for it to exit.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[actix_rt::test]
async fn recovers_without_restart_when_redis_returns() {
    let port = free_port();
    let server = RedisServer::start(port);
    let store = RedisChallengeStore::connect(&server.url()).await.unwrap();
    let svc = instance(MemoryCredentialStore::new(), store, None).await;

    let (status, body, _) = begin(&svc, "alice").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    server.kill();
    let (status, body, took) = begin(&svc, "alice").await;
    assert_unavailable(status, &body, took);
    // Still down: still a prompt 503, and the app serves what it can.
    let (status, body, took) = begin(&svc, "alice").await;
    assert_unavailable(status, &body, took);
    assert_eq!(
        get(&svc, "/auth/passkeys/credentials", "alice").await,
        StatusCode::OK
    );

    let server = RedisServer::start(port);
    let (status, body, _) = begin(&svc, "alice").await;
    assert_eq!(status, StatusCode::OK, "served again, same app: {body}");
    drop(server);
}

/// Registers a passkey for `user`: begin on `a`, finish on `b`.
async fn register_across<A, B, Ba, Bb>(a: &A, b: &B, user: &str) -> SoftAuthenticator
where
    A: Service<Request, Response = ServiceResponse<Ba>, Error = actix_web::Error>,
    B: Service<Request, Response = ServiceResponse<Bb>, Error = actix_web::Error>,
    Ba: MessageBody,
    Bb: MessageBody,
{
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    let (status, begin) = post(a, "/auth/passkeys/register/begin", Some(user), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{begin}");
    let credential = auth.register(&begin["publicKey"]).await.unwrap();
    let (status, body) = post(
        b,
        "/auth/passkeys/register/finish",
        Some(user),
        json!({ "credential": credential, "state": begin["state"] }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "register begun on A, finished on B: {body}"
    );
    auth
}

/// Begin on `svc` + the authenticator → the finish body.
async fn assertion<S, B>(svc: &S, auth: &mut SoftAuthenticator, user: &str) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, begin, _) = begin(svc, user).await;
    assert_eq!(status, StatusCode::OK, "{begin}");
    let credential = auth.sign_in(&begin["publicKey"]).await.unwrap();
    json!({ "credential": credential, "state": begin["state"] })
}

#[actix_rt::test]
async fn two_instances_share_challenges_through_redis() {
    let prefix = unique_prefix("two-instances");
    // The durable store both instances share: one PostgreSQL database, a pool per instance.
    let db = PgDatabase::migrated().await;
    let credentials_a = PgCredentialStore::new(pg::connect(&db.url).await.unwrap());
    let credentials_b = PgCredentialStore::new(pg::connect(&db.url).await.unwrap());
    let challenges = || async {
        RedisChallengeStore::connect(&url())
            .await
            .unwrap()
            .with_key_prefix(prefix.clone())
    };
    let a = instance(credentials_a, challenges().await, None).await;
    let b = instance(credentials_b, challenges().await, None).await;

    let mut auth = register_across(&a, &b, "alice").await;

    // Sign-in begun on A, finished on B.
    let body = assertion(&a, &mut auth, "alice").await;
    let (status, resp) = post(&b, "/auth/passkeys/authenticate/finish", None, body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    assert_eq!(resp["userId"], "alice");

    // The same state finished on both at once: exactly one succeeds.
    let body = assertion(&b, &mut auth, "alice").await;
    let path = "/auth/passkeys/authenticate/finish";
    let (on_a, on_b) = futures_util::future::join(
        post(&a, path, None, body.clone()),
        post(&b, path, None, body.clone()),
    )
    .await;
    let mut statuses = [on_a.0, on_b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::BAD_REQUEST],
        "A: {} {}, B: {} {}",
        on_a.0,
        on_a.1,
        on_b.0,
        on_b.1
    );
    let loser = if on_a.0 == StatusCode::OK {
        &on_b
    } else {
        &on_a
    };
    assert_eq!(loser.1["error"]["code"], "challenge_not_found");

    // And again, sequentially, the other way round.
    let body = assertion(&a, &mut auth, "alice").await;
    let (status, _) = post(&a, path, None, body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, resp) = post(&b, path, None, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(resp["error"]["code"], "challenge_not_found");

    assert_eq!(clean(&prefix), 0, "every challenge was consumed");
}

#[actix_rt::test]
async fn expired_replayed_and_cross_ceremony_states_over_redis() {
    let prefix = unique_prefix("states");
    let clock = FrozenClock::new();
    let store = RedisChallengeStore::connect(&url())
        .await
        .unwrap()
        .with_key_prefix(prefix.clone());
    let svc = instance(MemoryCredentialStore::new(), store, Some(clock.clone())).await;
    let mut auth = register_across(&svc, &svc, "alice").await;
    let path = "/auth/passkeys/authenticate/finish";

    // Late by 30 s: Redis still holds the record (TTL = lifetime + 60 s), the answer is
    // "expired", not "not found".
    let body = assertion(&svc, &mut auth, "alice").await;
    clock.advance(Duration::from_secs(300 + 30));
    let (status, resp) = post(&svc, path, None, body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(resp["error"]["code"], "challenge_expired");
    let (_, resp) = post(&svc, path, None, body).await;
    assert_eq!(resp["error"]["code"], "challenge_not_found", "consumed");

    // A registration state sent to authenticate/finish: not found, and consumed.
    let (_, begin) = post(
        &svc,
        "/auth/passkeys/register/begin",
        Some("alice"),
        json!({}),
    )
    .await;
    let body = json!({ "credential": assertion(&svc, &mut auth, "alice").await["credential"],
                       "state": begin["state"] });
    let (_, resp) = post(&svc, path, None, body).await;
    assert_eq!(resp["error"]["code"], "challenge_not_found");
    let mut other = SoftAuthenticator::new(ORIGIN).unwrap();
    let credential = other.register(&begin["publicKey"]).await.unwrap();
    let (_, resp) = post(
        &svc,
        "/auth/passkeys/register/finish",
        Some("alice"),
        json!({ "credential": credential, "state": begin["state"] }),
    )
    .await;
    assert_eq!(resp["error"]["code"], "challenge_not_found");

    // One authenticate/begin state above was never finished; everything else was consumed.
    assert_eq!(clean(&prefix), 1);
}

#[actix_rt::test]
async fn rate_limit_budget_is_shared_between_instances() {
    use actix_passkeys::rate_limit::{RateLimit, RedisRateLimit};
    let prefix = unique_prefix("rate");
    let clock = FrozenClock::new();
    let make = || {
        let limit = RateLimit::new(3, 1.0)
            .key(|_| Some("client-1".to_owned()))
            .backend(RedisRateLimit::new(redis_pool()).with_key_prefix(prefix.clone()));
        Passkeys::builder(
            PasskeyConfig::builder("localhost", "T")
                .origin(ORIGIN)
                .build()
                .unwrap(),
            MemoryCredentialStore::new(),
            actix_passkeys::store::memory::MemoryChallengeStore::new(),
        )
        .clock(clock.clone())
        .rate_limit(limit)
        .build()
        .unwrap()
    };
    let a = atest::init_service(App::new().service(make())).await;
    let b = atest::init_service(App::new().service(make())).await;
    let call = |svc_name: &str| {
        atest::TestRequest::post()
            .uri(BEGIN)
            .insert_header(("x-instance", svc_name.to_owned()))
            .to_request()
    };
    assert_eq!(
        atest::call_service(&a, call("a")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        atest::call_service(&b, call("b")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        atest::call_service(&a, call("a")).await.status(),
        StatusCode::OK
    );
    let resp = atest::call_service(&b, call("b")).await;
    assert_eq!(
        resp.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "budget shared across instances"
    );
    assert_eq!(resp.headers().get("retry-after").unwrap(), "1");
    let body: Value = atest::read_body_json(resp).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        atest::call_service(&a, call("a")).await.status(),
        StatusCode::OK,
        "refilled"
    );
    assert!(clean(&prefix) >= 1);
}

/// The bucket script is sent by its SHA-1 (`EVALSHA`, `redis::Script`); a Redis that has lost
/// its script cache (`SCRIPT FLUSH`, a restart, a failover) answers `NOSCRIPT`, and the limiter
/// loads the script and goes on limiting, instead of failing open.
#[actix_rt::test]
async fn rate_limit_survives_a_flushed_script_cache() {
    use actix_passkeys::rate_limit::{RateDecision, RateLimitBackend as _, RedisRateLimit};
    let prefix = unique_prefix("rate-flush");
    let limit = RedisRateLimit::new(redis_pool()).with_key_prefix(prefix.clone());
    let now = chrono::Utc::now();
    assert_eq!(
        limit.take("client", 1, 0.001, now).await.unwrap(),
        RateDecision::Allow
    );
    let mut conn = redis::Client::open(url())
        .and_then(|c| c.get_connection())
        .unwrap();
    let () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut conn).unwrap();
    assert!(
        matches!(
            limit.take("client", 1, 0.001, now).await.unwrap(),
            RateDecision::Limit(_)
        ),
        "the same bucket, after the script was reloaded"
    );
    assert_eq!(clean(&prefix), 1);
}

fn redis_pool() -> actix_passkeys::store::redis::RedisPool {
    let manager = bb8_redis::RedisConnectionManager::new(url()).unwrap();
    bb8_redis::bb8::Pool::builder()
        .connection_timeout(Duration::from_secs(2))
        .build_unchecked(manager)
}
