//! Metrics through the real routes (feature `metrics`): each test records into a Prometheus
//! recorder of its own, the default of its test thread (`actix_rt::test` runs the app on that
//! one thread), so tests running in parallel never see each other's series. The example's
//! `/metrics` over PostgreSQL and Redis is `tests/metrics.rs`.

use actix_passkeys::rate_limit::RateLimit;
use actix_web::{http::Method, test as atest, App};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::fixtures::{config, Ctx, Memory, ORIGIN};

fn local_recorder() -> (PrometheusRecorder, PrometheusHandle) {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    (recorder, handle)
}

/// The series lines of `name` (`name{…} value`), sorted.
fn series(text: &str, name: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

fn authenticator() -> actix_passkeys::testing::SoftAuthenticator {
    actix_passkeys::testing::SoftAuthenticator::new(ORIGIN).unwrap()
}

/// A clone is `clone_detected` on the failed finish, with the stored credential's
/// backup-eligible flag.
#[actix_rt::test]
async fn a_clone_detection_is_counted_with_its_code() {
    let (recorder, handle) = local_recorder();
    let _local = ::metrics::set_default_local_recorder(&recorder);
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    let mut original = authenticator();
    app.signup("alice").await;
    app.register(&mut original, None).await.assert_ok();
    let mut clone = original.duplicate();
    app.sign_in(&mut original, Some("alice")).await.assert_ok();
    app.sign_in(&mut clone, Some("alice"))
        .await
        .assert_error(401, "clone_detected");
    let text = handle.render();
    assert!(
        series(&text, "passkeys_steps_total").contains(
            &"passkeys_steps_total{ceremony=\"authentication\",step=\"finish\",outcome=\"error\",code=\"clone_detected\",backup_eligible=\"true\",attachment=\"unknown\"} 1".to_owned()
        ),
        "{text}"
    );
}

/// Unreachable Redis: the begin is a 503 `store_unavailable` step, and the store failure is a
/// pool timeout (no connection within the pool's 2 s).
#[cfg(feature = "redis")]
#[actix_rt::test]
async fn an_unreachable_store_is_a_503_step_and_a_pool_timeout() {
    let (recorder, handle) = local_recorder();
    let _local = ::metrics::set_default_local_recorder(&recorder);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = actix_passkeys::store::redis::RedisChallengeStore::connect_lazily(&format!(
        "redis://127.0.0.1:{port}"
    ))
    .unwrap();
    let passkeys = actix_passkeys::Passkeys::new(
        config().build().unwrap(),
        actix_passkeys::store::memory::MemoryCredentialStore::new(),
        store,
    );
    let svc = atest::init_service(App::new().service(passkeys)).await;
    let resp = atest::call_service(
        &svc,
        atest::TestRequest::post()
            .uri("/auth/passkeys/authenticate/begin")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 503);
    let text = handle.render();
    assert_eq!(
        series(&text, "passkeys_store_failures_total"),
        ["passkeys_store_failures_total{store=\"challenges\",operation=\"put\",kind=\"pool_timeout\"} 1"],
        "{text}"
    );
    assert_eq!(
        series(&text, "passkeys_steps_total"),
        ["passkeys_steps_total{ceremony=\"authentication\",step=\"begin\",outcome=\"error\",code=\"store_unavailable\",backup_eligible=\"unknown\",attachment=\"unknown\"} 1"],
        "{text}"
    );
}

/// Each rate-limit decision is counted: the allowed request, the refused one, and a request
/// the key function could not key (not limited).
#[actix_rt::test]
async fn rate_limit_decisions_are_counted() {
    let (recorder, handle) = local_recorder();
    let _local = ::metrics::set_default_local_recorder(&recorder);
    let ctx = Ctx::<Memory>::new().await;
    let limit = RateLimit::new(1, 0.001).key(|req| {
        req.headers()
            .get("x-client")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let mut app = ctx
        .app_with(
            ctx.builder(config().build().unwrap())
                .rate_limit(limit)
                .build()
                .unwrap(),
        )
        .await;
    let begin = || {
        atest::TestRequest::post()
            .uri("/auth/passkeys/authenticate/begin")
            .insert_header(("x-client", "one"))
    };
    app.send(begin()).await.assert_ok();
    app.send(begin()).await.assert_error(429, "rate_limited");
    app.post_empty("/auth/passkeys/authenticate/begin")
        .await
        .assert_ok();
    let text = handle.render();
    assert_eq!(
        series(&text, "passkeys_rate_limit_decisions_total"),
        [
            "passkeys_rate_limit_decisions_total{decision=\"allow\"} 1",
            "passkeys_rate_limit_decisions_total{decision=\"limit\"} 1",
            "passkeys_rate_limit_decisions_total{decision=\"unkeyed\"} 1",
        ],
        "{text}"
    );
}

/// `aaguid` is a label only when the app asks for it, and then only for an AAGUID the service
/// can name; an unnamed one (which any client can choose) is `other`.
#[actix_rt::test]
async fn aaguid_labels_are_opt_in_and_name_only_known_models() {
    // Apple Passwords, in the bundled list.
    const APPLE: uuid::Uuid = uuid::uuid!("fbfc3007-154e-4ecc-8c0b-6e020557d7bd");
    const UNNAMED: uuid::Uuid = uuid::uuid!("00112233-4455-6677-8899-aabbccddeeff");
    for opt_in in [false, true] {
        let (recorder, handle) = local_recorder();
        let _local = ::metrics::set_default_local_recorder(&recorder);
        let ctx = Ctx::<Memory>::new().await;
        let passkeys = ctx
            .builder(config().build().unwrap())
            .metrics_aaguid_labels(opt_in)
            .build()
            .unwrap();
        let mut app = ctx.app_with(passkeys).await;
        for (user, aaguid) in [("alice", APPLE), ("bob", UNNAMED)] {
            let mut auth = authenticator().with_aaguid(aaguid);
            app.signup(user).await;
            app.register(&mut auth, None).await.assert_ok();
            app.logout().await;
        }
        let text = handle.render();
        assert!(
            !text.contains("00112233"),
            "never an unnamed AAGUID: {text}"
        );
        let finishes: Vec<String> = series(&text, "passkeys_steps_total")
            .into_iter()
            .filter(|l| l.contains("step=\"finish\""))
            .collect();
        if opt_in {
            assert_eq!(
                finishes,
                [
                    "passkeys_steps_total{ceremony=\"registration\",step=\"finish\",outcome=\"ok\",code=\"none\",backup_eligible=\"true\",attachment=\"unknown\",aaguid=\"fbfc3007-154e-4ecc-8c0b-6e020557d7bd\"} 1",
                    "passkeys_steps_total{ceremony=\"registration\",step=\"finish\",outcome=\"ok\",code=\"none\",backup_eligible=\"true\",attachment=\"unknown\",aaguid=\"other\"} 1",
                ],
                "{text}"
            );
        } else {
            assert!(
                !text.contains("aaguid"),
                "no AAGUID label by default: {text}"
            );
            assert_eq!(finishes.len(), 1, "one series for both: {text}");
            assert!(finishes[0].ends_with("} 2"), "{text}");
        }
    }
}

/// Listing, renaming and revoking are counted; renaming or revoking a credential that is not
/// the caller's is `not_found`. Neither the device name nor the credential id is a label.
#[actix_rt::test]
async fn management_calls_are_counted_without_user_input() {
    let (recorder, handle) = local_recorder();
    let _local = ::metrics::set_default_local_recorder(&recorder);
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    let mut auth = authenticator();
    app.signup("carol-5b2e").await;
    let id = app.register(&mut auth, Some("Carol's laptop 91d4")).await;
    let id = id.assert_ok()["credentialId"].as_str().unwrap().to_owned();
    app.get("/auth/passkeys/credentials").await.assert_ok();
    let path = format!("/auth/passkeys/credentials/{id}");
    let rename = serde_json::json!({ "deviceName": "renamed 77c1" });
    let r = app.method(Method::PATCH, &path, Some(rename.clone())).await;
    assert_eq!(r.status.as_u16(), 204);
    let other = "/auth/passkeys/credentials/AAAAAAAAAAAAAAAAAAAAAA";
    app.method(Method::PATCH, other, Some(rename))
        .await
        .assert_error(404, "not_found");
    let r = app.method(Method::DELETE, &path, None).await;
    assert_eq!(r.status.as_u16(), 204);
    let text = handle.render();
    let management: Vec<String> = series(&text, "passkeys_steps_total")
        .into_iter()
        .filter(|l| l.contains("ceremony=\"management\""))
        .collect();
    assert_eq!(
        management,
        [
            "passkeys_steps_total{ceremony=\"management\",step=\"list\",outcome=\"ok\",code=\"none\",backup_eligible=\"unknown\",attachment=\"unknown\"} 1",
            "passkeys_steps_total{ceremony=\"management\",step=\"rename\",outcome=\"error\",code=\"not_found\",backup_eligible=\"unknown\",attachment=\"unknown\"} 1",
            "passkeys_steps_total{ceremony=\"management\",step=\"rename\",outcome=\"ok\",code=\"none\",backup_eligible=\"unknown\",attachment=\"unknown\"} 1",
            "passkeys_steps_total{ceremony=\"management\",step=\"revoke\",outcome=\"ok\",code=\"none\",backup_eligible=\"unknown\",attachment=\"unknown\"} 1",
        ],
        "{text}"
    );
    for input in ["carol-5b2e", "Carol's laptop", "renamed 77c1", id.as_str()] {
        assert!(!text.contains(input), "{input} in the metrics: {text}");
    }
}
