//! The label logic, read back through a Prometheus recorder local to each test.

use std::{collections::HashMap, sync::Arc};

use futures_util::FutureExt as _;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::{store::failure_kind, *};
use crate::{
    audit::NoopAuditSink,
    clock::SystemClock,
    config::PasskeyConfig,
    store::{memory::MemoryChallengeStore, Ceremony, ChallengeRecord, ChallengeStore},
};

/// Runs `f` with a fresh recorder of its own (this thread only) and renders what it recorded.
fn recorded(f: impl FnOnce()) -> String {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle: PrometheusHandle = recorder.handle();
    ::metrics::with_local_recorder(&recorder, f);
    handle.render()
}

fn engine(aaguid_labels: bool) -> Engine {
    let config = PasskeyConfig::builder("example.com", "Example")
        .origin("https://example.com")
        .build()
        .expect("config");
    let mut engine = Engine::new(
        config,
        b"metrics unit tests' server secret",
        Arc::new(SystemClock),
        Arc::new(NoopAuditSink),
    );
    engine.metrics.aaguid_labels = aaguid_labels;
    engine.names = crate::aaguid::AuthenticatorNames::none()
        .with(HashMap::from([(NAMED, "Test Key".to_owned())]));
    engine
}

const NAMED: uuid::Uuid = uuid::uuid!("cb69481e-8ff7-4039-93ec-0a2729a154a8");
const UNNAMED: uuid::Uuid = uuid::uuid!("00112233-4455-6677-8899-aabbccddeeff");

fn labels(backup_eligible: bool, aaguid: Option<uuid::Uuid>) -> CredentialLabels {
    CredentialLabels {
        backup_eligible,
        aaguid,
    }
}

/// The series lines of `name` (`name{…} value`), sorted.
fn series(text: &str, name: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

#[test]
fn a_step_is_counted_with_its_outcome_code_and_credential_labels() {
    let engine = engine(false);
    let text = recorded(|| {
        StepTimer::start(Flow::Registration, "finish").finish(
            &engine,
            None,
            Some(labels(true, Some(NAMED))),
        );
        StepTimer::start(Flow::Authentication, "finish").finish(
            &engine,
            Some(ErrorCode::CloneDetected),
            Some(labels(false, None)),
        );
        StepTimer::start(Flow::Authentication, "begin").finish(&engine, None, None);
    });
    assert_eq!(
        series(&text, "passkeys_steps_total"),
        [
            "passkeys_steps_total{ceremony=\"authentication\",step=\"begin\",outcome=\"ok\",code=\"none\",backup_eligible=\"unknown\",attachment=\"unknown\"} 1",
            "passkeys_steps_total{ceremony=\"authentication\",step=\"finish\",outcome=\"error\",code=\"clone_detected\",backup_eligible=\"false\",attachment=\"unknown\"} 1",
            "passkeys_steps_total{ceremony=\"registration\",step=\"finish\",outcome=\"ok\",code=\"none\",backup_eligible=\"true\",attachment=\"unknown\"} 1",
        ]
    );
    // The latency has the step's outcome and code, not the credential's labels.
    assert!(text.contains(
        "passkeys_step_duration_seconds_count{ceremony=\"authentication\",step=\"finish\",outcome=\"error\",code=\"clone_detected\"} 1"
    ), "{text}");
    assert!(
        !text.contains("aaguid"),
        "no AAGUID label unless asked: {text}"
    );
}

/// With the option, only an AAGUID the service can name is a label value; any other is
/// `other` (a client picks its AAGUID freely), a credential without one is `none`.
#[test]
fn aaguid_labels_name_only_known_authenticators() {
    let engine = engine(true);
    let text = recorded(|| {
        for credential in [
            Some(labels(true, Some(NAMED))),
            Some(labels(true, Some(UNNAMED))),
            Some(labels(true, None)),
            None,
        ] {
            StepTimer::start(Flow::Authentication, "finish").finish(&engine, None, credential);
        }
    });
    let steps = series(&text, "passkeys_steps_total");
    let values: Vec<&str> = steps
        .iter()
        .map(|l| {
            let at = l.find("aaguid=\"").expect("an aaguid label") + 8;
            let end = l[at..].find('"').expect("closing quote");
            &l[at..at + end]
        })
        .collect();
    assert_eq!(
        values,
        [
            "cb69481e-8ff7-4039-93ec-0a2729a154a8",
            "none",
            "other",
            "unknown"
        ],
        "{text}"
    );
    assert!(
        !text.contains("00112233"),
        "an unnamed AAGUID is never a label"
    );
}

/// Every store failure is a 503; the kind tells a pool timeout from an unreachable backend
/// from anything else.
#[test]
fn store_failures_are_classified_by_kind() {
    use crate::store::memory::MemoryStoreError;

    #[derive(Debug, derive_more::Display, derive_more::Error)]
    #[display("custom store")]
    struct Custom(std::io::Error);

    let refused = Custom(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
    assert_eq!(failure_kind(&refused), "unavailable");
    let denied = Custom(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
    assert_eq!(failure_kind(&denied), "other");
    assert_eq!(failure_kind(&MemoryStoreError::Poisoned), "other");
    #[cfg(feature = "redis")]
    {
        use crate::store::redis::RedisStoreError as E;
        assert_eq!(failure_kind(&E::PoolTimeout), "pool_timeout");
        assert_eq!(
            failure_kind(&E::Timeout(std::time::Duration::from_secs(2))),
            "unavailable"
        );
        let io = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(failure_kind(&E::Redis(io)), "unavailable");
        let script = redis::RedisError::from((redis::ErrorKind::TypeError, "not a record"));
        assert_eq!(failure_kind(&E::Redis(script)), "other");
    }
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    {
        use ::diesel::result::{DatabaseErrorKind, Error as Query};
        use diesel_async::pooled_connection::bb8::RunError;

        use crate::store::diesel::DieselStoreError as E;
        assert_eq!(failure_kind(&E::Pool(RunError::TimedOut)), "pool_timeout");
        let refused = ::diesel::ConnectionError::BadConnection("refused".into());
        assert_eq!(failure_kind(&E::Connect(refused)), "unavailable");
        let closed = Query::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("closed".to_owned()),
        );
        assert_eq!(failure_kind(&E::Query(closed)), "unavailable");
        assert_eq!(failure_kind(&E::Query(Query::NotFound)), "other");
        assert_eq!(failure_kind(&E::InvalidRow("sign_count")), "other");
    }
}

fn record(ttl_secs: i64) -> ChallengeRecord {
    let now = chrono::Utc::now();
    ChallengeRecord {
        ceremony: Ceremony::Authentication,
        rp_id: "example.com".to_owned(),
        user_id: None,
        payload: "{}".to_owned(),
        created_at: now,
        expires_at: now + chrono::Duration::seconds(ttl_secs),
    }
}

/// The gauge follows every put, take and eviction, and a dropped store takes its records
/// with it.
#[test]
fn the_memory_challenge_gauge_follows_puts_takes_evictions_and_drops() {
    let text = recorded(|| {
        let store = MemoryChallengeStore::new().with_capacity(3);
        for handle in ["a", "b", "c", "d"] {
            // The fourth evicts the oldest: the store holds 3.
            store.put(handle, record(60)).now_or_never();
        }
        let taken = store.take("c").now_or_never();
        assert!(matches!(taken, Some(Ok(Some(_)))));
        // A second take finds nothing and changes nothing.
        store.take("c").now_or_never();
        assert_eq!(store.len(), 2);
        ::metrics::gauge!("probe_before_drop").set(store.len() as f64);
    });
    assert!(text.contains("probe_before_drop 2"), "{text}");
    assert!(
        text.contains("passkeys_memory_challenges 0"),
        "the dropped store's 2 records are gone from the gauge: {text}"
    );
    let held = recorded(|| {
        let store = MemoryChallengeStore::new().with_capacity(3);
        for handle in ["a", "b", "c", "d"] {
            store.put(handle, record(60)).now_or_never();
        }
        store.take("b").now_or_never();
        std::mem::forget(store);
    });
    assert!(held.contains("passkeys_memory_challenges 2"), "{held}");
}

#[test]
fn rate_limit_decisions_are_counted() {
    let text = recorded(|| {
        rate_limit("allow");
        rate_limit("allow");
        rate_limit("limit");
    });
    assert_eq!(
        series(&text, "passkeys_rate_limit_decisions_total"),
        [
            "passkeys_rate_limit_decisions_total{decision=\"allow\"} 2",
            "passkeys_rate_limit_decisions_total{decision=\"limit\"} 1",
        ]
    );
}
