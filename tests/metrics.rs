//! The `postgres_redis` example's `GET /metrics`, scraped after a registration, a sign-in and a
//! failed sign-in through the real routes (PostgreSQL credentials, Redis challenges, the
//! software authenticator). One test in its own binary: a `metrics` recorder is global to the
//! process, so nothing else may record into it while the series are counted.
#![allow(
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::BTreeMap;

use actix_passkeys::{
    hooks::FrozenClock,
    store::{diesel::pg::PgCredentialStore, redis::RedisChallengeStore},
    testing::SoftAuthenticator,
};
use actix_web::{http::StatusCode, test as atest, App};
use serde_json::{json, Value};

#[path = "../examples/postgres_redis.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod example;

#[path = "integration/fixtures.rs"]
#[allow(dead_code, unused_imports, unused_macros)]
mod fixtures;

#[path = "../examples/common/mod.rs"]
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
mod quickstart_app;

use fixtures::{b64, unb64, Backend, Ctx, ORIGIN};

/// The example's stores: credentials in a fresh PostgreSQL database, challenges in Redis under
/// a key prefix of this test's own.
struct PgRedis;

impl Backend for PgRedis {
    type C = PgCredentialStore;
    type S = RedisChallengeStore;
    type Guard = (fixtures::PgDatabase, fixtures::RedisKeys);

    async fn create(clock: &FrozenClock) -> (Self::C, Self::S, Self::Guard) {
        let (credentials, _, db) = fixtures::Postgres::create(clock).await;
        let (_, challenges, keys) = fixtures::Redis::create(clock).await;
        (credentials, challenges, (db, keys))
    }
}

/// One series of a Prometheus text exposition: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the sample lines of `text` (our label values hold no `,`, `"` or `}`).
fn parse(text: &str) -> Vec<Series> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (head, value) = line.rsplit_once(' ').expect("a value");
            let (name, labels) = match head.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (head, ""),
            };
            let labels = labels
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once('=').expect("label=value");
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            Series {
                name: name.to_owned(),
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

/// `name`'s series as (the values of `keys`, value), sorted.
fn table(series: &[Series], name: &str, keys: &[&str]) -> Vec<(Vec<String>, f64)> {
    let mut rows: Vec<(Vec<String>, f64)> = series
        .iter()
        .filter(|s| s.name == name)
        .map(|s| {
            assert_eq!(
                s.labels.keys().map(String::as_str).collect::<Vec<_>>(),
                {
                    let mut sorted = keys.to_vec();
                    sorted.sort_unstable();
                    sorted
                },
                "{name}: exactly these labels"
            );
            let values = keys.iter().map(|k| s.labels[*k].clone()).collect();
            (values, s.value)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

fn row(values: &[&str], value: f64) -> (Vec<String>, f64) {
    (values.iter().map(|v| (*v).to_owned()).collect(), value)
}

/// The assertion body with its signature's last byte flipped: it no longer verifies.
fn bad_signature(mut body: Value) -> Value {
    let mut sig = unb64(
        body["credential"]["response"]["signature"]
            .as_str()
            .unwrap(),
    );
    *sig.last_mut().unwrap() ^= 1;
    body["credential"]["response"]["signature"] = json!(b64(&sig));
    body
}

const USER: &str = "user-7f3e-must-not-be-a-label";
const DEVICE: &str = "device-c41d-must-not-be-a-label";

#[actix_rt::test]
async fn the_example_serves_the_ceremony_and_store_series_after_a_sign_in_and_a_failed_one() {
    // The recorder first: building the service describes its metrics to it.
    let handle = example::prometheus().unwrap();
    let ctx = Ctx::<PgRedis>::new().await;
    let passkeys = ctx
        .builder(fixtures::config().build().unwrap())
        .server_secret([7u8; 32])
        .build()
        .unwrap();
    let mut app = ctx.app_configured(quickstart_app::routes(passkeys)).await;
    let scraper = atest::init_service(App::new().configure(example::metrics_routes(handle))).await;

    app.signup(USER).await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    let registered = app.register(&mut auth, Some(DEVICE)).await;
    let credential_id = registered.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.sign_in(&mut auth, Some(USER)).await.assert_ok();
    let failed = bad_signature(app.assertion(&mut auth, Some(USER)).await);
    app.post("/auth/passkeys/authenticate/finish", failed)
        .await
        .assert_error(401, "assertion_verification_failed");

    let resp = atest::call_service(
        &scraper,
        atest::TestRequest::get().uri("/metrics").to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = String::from_utf8(atest::read_body(resp).await.to_vec()).unwrap();
    let series = parse(&text);

    // No user input in any label: not the user id, the device name, the credential id, the
    // user handle's owner or the (all-zero) AAGUID.
    for secret in [USER, DEVICE, credential_id.as_str(), "00000000-0000"] {
        assert!(!text.contains(secret), "{secret} in the metrics:\n{text}");
    }
    assert!(text.contains("# HELP passkeys_steps_total"), "{text}");

    let step_labels = [
        "ceremony",
        "step",
        "outcome",
        "code",
        "backup_eligible",
        "attachment",
    ];
    assert_eq!(
        table(&series, "passkeys_steps_total", &step_labels),
        [
            row(
                &[
                    "authentication",
                    "begin",
                    "ok",
                    "none",
                    "unknown",
                    "unknown"
                ],
                2.0
            ),
            row(
                &[
                    "authentication",
                    "finish",
                    "error",
                    "assertion_verification_failed",
                    "true",
                    "unknown"
                ],
                1.0
            ),
            row(
                &["authentication", "finish", "ok", "none", "true", "unknown"],
                1.0
            ),
            // The example's sign-up checks that the username is free.
            row(
                &["management", "list", "ok", "none", "unknown", "unknown"],
                1.0
            ),
            row(
                &["registration", "begin", "ok", "none", "unknown", "unknown"],
                1.0
            ),
            row(
                &["registration", "finish", "ok", "none", "true", "unknown"],
                1.0
            ),
        ],
        "{text}"
    );
    assert_eq!(
        table(
            &series,
            "passkeys_step_duration_seconds_count",
            &["ceremony", "step", "outcome", "code"]
        ),
        [
            row(&["authentication", "begin", "ok", "none"], 2.0),
            row(
                &[
                    "authentication",
                    "finish",
                    "error",
                    "assertion_verification_failed"
                ],
                1.0
            ),
            row(&["authentication", "finish", "ok", "none"], 1.0),
            row(&["management", "list", "ok", "none"], 1.0),
            row(&["registration", "begin", "ok", "none"], 1.0),
            row(&["registration", "finish", "ok", "none"], 1.0),
        ],
        "{text}"
    );
    // Histograms, not summaries: the example sets buckets.
    assert!(
        series
            .iter()
            .any(|s| s.name == "passkeys_step_duration_seconds_bucket"
                && s.labels.get("le").map(String::as_str) == Some("0.005")),
        "{text}"
    );
    assert_eq!(
        table(
            &series,
            "passkeys_store_operation_duration_seconds_count",
            &["store", "operation", "outcome"]
        ),
        [
            row(&["challenges", "put", "ok"], 3.0),
            row(&["challenges", "take", "ok"], 3.0),
            // Both sign-ins, the failed one too, look their credential up.
            row(&["credentials", "get", "ok"], 2.0),
            row(&["credentials", "insert", "ok"], 1.0),
            // Sign-up (is the name free?), register/begin and /finish (the session resolver:
            // no passkey yet?), register/begin (the passkeys to exclude), two username-first
            // begins.
            row(&["credentials", "list_for_user", "ok"], 6.0),
            row(&["credentials", "update_usage", "ok"], 1.0),
        ],
        "{text}"
    );
    assert!(
        table(
            &series,
            "passkeys_store_failures_total",
            &["store", "operation", "kind"]
        )
        .is_empty(),
        "no store failed: {text}"
    );
}
