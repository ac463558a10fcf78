//! Races that truly race: a real `HttpServer` with several workers, a multi-threaded runtime
//! on the client side, one connection per request, every request released at once. Generic
//! over the backend; instantiated for every store in `main.rs` (`route_suite!`).

use std::time::Duration;

use actix_passkeys::{
    store::CredentialStore as _,
    testing::{RacingChallengeStore, RacingCredentialStore, SoftAuthenticator},
    Passkeys,
};
use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::{
    fixtures::{config, unb64, Backend, Ctx, ORIGIN},
    http::{on_threads, serve, Client},
};

const FINISH: &str = "/auth/passkeys/authenticate/finish";

/// Signs `user` up and registers a passkey for them over HTTP; returns the authenticator and
/// the credential id (base64url).
async fn enrol_over_http(client: &mut Client, user: &str) -> (SoftAuthenticator, String) {
    client
        .post("/signup", &json!({ "username": user }))
        .await
        .assert_ok();
    let begin = client
        .post("/auth/passkeys/register/begin", &json!({}))
        .await;
    let begin = begin.assert_ok();
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    let credential = auth.register(&begin["publicKey"]).await.unwrap();
    let done = client
        .post(
            "/auth/passkeys/register/finish",
            &json!({ "credential": credential, "state": begin["state"] }),
        )
        .await;
    let id = done.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    (auth, id)
}

async fn begin_over_http(client: &mut Client, user: Option<&str>) -> Value {
    let body = match user {
        Some(u) => json!({ "userId": u }),
        None => json!({}),
    };
    client
        .post("/auth/passkeys/authenticate/begin", &body)
        .await
        .assert_ok()
        .clone()
}

/// Item 1: one assertion (one state) finished 64 times at once over 64 connections to a
/// 4-worker server → exactly one 200, 63 × 400 `challenge_not_found`, no 5xx; the counter
/// advances once. The challenge store is wrapped in a [`RacingChallengeStore`] that holds every
/// `take` until all 64 have arrived, so the 64 takes meet the store's single-use `take`
/// together: the test tells a race from a queue (all 64 must arrive, one finds the record and
/// 63 find nothing there, not earlier).
pub async fn one_state_finished_64_times_over_http_signs_in_once<B: Backend>() {
    const N: usize = 64;
    on_threads(|| async {
        let ctx = Ctx::<B>::new().await;
        // Enrol and begin through a server over the plain stores (registration takes a
        // challenge too, which must not count as one of the racing takes).
        let plain = serve(
            ctx.builder(config().build().unwrap()).build().unwrap(),
            ctx.sessions.clone(),
            1,
        );
        let mut owner = Client::new(plain.addr);
        let (mut auth, id) = enrol_over_http(&mut owner, "alice").await;
        let begin = begin_over_http(&mut owner, None).await;
        plain.stop().await;

        let racing = RacingChallengeStore::new(ctx.challenges.clone(), N);
        let passkeys =
            Passkeys::builder(config().build().unwrap(), ctx.creds.clone(), racing.clone())
                .clock(ctx.clock.clone())
                .audit(ctx.audit.clone())
                .build()
                .unwrap();
        let server = serve(passkeys, ctx.sessions.clone(), 4);
        let browser = Client::new(server.addr);
        let credential = auth.sign_in(&begin["publicKey"]).await.unwrap();
        let body = json!({ "credential": credential, "state": begin["state"] });
        let requests = (0..N).map(|_| browser.post_bytes(FINISH, &body)).collect();
        let resps = tokio::time::timeout(Duration::from_secs(60), browser.post_at_once(requests))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "only {} of {N} finishes reached take within 60 s",
                    racing.arrived()
                )
            });

        assert_eq!(racing.arrived(), N, "every finish reached the store's take");
        assert_eq!(
            (racing.found(), racing.missed()),
            (1, N - 1),
            "one take found the record, the losers found nothing in the store"
        );
        let winners: Vec<_> = resps
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .collect();
        assert_eq!(winners.len(), 1, "exactly one sign-in for one state");
        assert_eq!(winners[0].body["userId"], "alice");
        for r in resps.iter().filter(|r| r.status != StatusCode::OK) {
            r.assert_error(400, "challenge_not_found");
        }
        let stored = ctx.creds.get(&unb64(&id)).await.unwrap().unwrap();
        assert_eq!(stored.sign_count, 1, "the counter advanced once");
        server.stop().await;
    })
    .await;
}

/// Item 2: 32 assertions with the same counter value, each with its own state, finished at
/// once over HTTP. Every `update_usage` is held until all 32 have read the credential and
/// verified their signature, so the race is decided by the store's compare-and-swap: exactly
/// one applies, the 31 losers are refused by it and answered 401
/// `assertion_verification_failed` (not `clone_detected`: webauthn-rs never saw a stale
/// counter), and the credential is not disabled.
pub async fn racing_sign_ins_with_one_counter_lose_at_the_compare_and_swap<B: Backend>() {
    const N: usize = 32;
    on_threads(|| async {
        let ctx = Ctx::<B>::new().await;
        let racing = RacingCredentialStore::new(ctx.creds.clone(), N);
        let passkeys = Passkeys::builder(
            config().build().unwrap(),
            racing.clone(),
            ctx.challenges.clone(),
        )
        .clock(ctx.clock.clone())
        .audit(ctx.audit.clone())
        .build()
        .unwrap();
        let server = serve(passkeys, ctx.sessions.clone(), 4);
        let mut owner = Client::new(server.addr);
        let (auth, id) = enrol_over_http(&mut owner, "alice").await;
        assert_eq!(racing.arrived(), 0, "registration does not update usage");

        let mut browser = Client::new(server.addr);
        let mut requests = Vec::new();
        for _ in 0..N {
            let mut copy = auth.duplicate(); // same key, same counter: every copy signs with 1
            let begin = begin_over_http(&mut browser, Some("alice")).await;
            let credential = copy.sign_in(&begin["publicKey"]).await.unwrap();
            let body = json!({ "credential": credential, "state": begin["state"] });
            requests.push(browser.post_bytes(FINISH, &body));
        }
        let resps = tokio::time::timeout(Duration::from_secs(60), browser.post_at_once(requests))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "only {} of {N} sign-ins reached update_usage within 60 s",
                    racing.arrived()
                )
            });

        let winners = resps.iter().filter(|r| r.status == StatusCode::OK).count();
        assert_eq!(winners, 1, "exactly one success for one counter value");
        for r in resps.iter().filter(|r| r.status != StatusCode::OK) {
            r.assert_error(401, "assertion_verification_failed");
        }
        assert_eq!(
            racing.arrived(),
            N,
            "every sign-in verified and reached the CAS"
        );
        assert_eq!(
            (racing.applied(), racing.refused()),
            (1, N - 1),
            "the losers were refused by the compare-and-swap"
        );
        let stored = ctx.creds.get(&unb64(&id)).await.unwrap().unwrap();
        assert_eq!(stored.sign_count, 1);
        assert!(!stored.is_disabled());
        server.stop().await;
    })
    .await;
}

/// Generates per-backend tests from the generic cases above (`#[actix_rt::test]` like the rest
/// of the suite; each case runs its own multi-threaded runtime and server).
#[macro_export]
macro_rules! race_tests {
    ($backend:ty; $($case:ident),* $(,)?) => {
        $(
            #[actix_rt::test]
            async fn $case() {
                $crate::races::$case::<$backend>().await
            }
        )*
    };
}

/// Thread races on the memory stores. Their futures complete when they are created, so calls
/// polled together on one task (the conformance kit's `join_all`, the in-process route tests)
/// run one after another. The HTTP races above do run on several threads, but few calls overlap
/// and only briefly: a `take` or `update_usage` that lets go of its lock between its read and
/// its write (no await, no delay between) passed every other test in review. Here four OS
/// threads contend for each of 60,000 keys, and each key must be won exactly once.
mod memory_threads {
    use actix_passkeys::{
        store::Credential,
        store::UsageUpdate,
        store::{
            memory::{MemoryChallengeStore, MemoryCredentialStore},
            Ceremony, ChallengeRecord, ChallengeStore as _, CredentialStore as _,
        },
    };
    use futures_util::FutureExt as _;

    const KEYS: usize = 60_000;
    const THREADS: usize = 4;

    /// Calls `f(key)` for every key on each of `THREADS` threads; returns how many `true`s
    /// each thread got.
    fn contend_on_threads(f: impl Fn(usize) -> bool + Sync) -> Vec<usize> {
        let barrier = std::sync::Barrier::new(THREADS);
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(|| {
                        // Half the keys walked freely (threads contend all along), half with
                        // every thread released together on each key.
                        barrier.wait();
                        let free = (KEYS / 2..KEYS).filter(|&i| f(i)).count();
                        let paced = (0..KEYS / 2)
                            .filter(|&i| {
                                barrier.wait();
                                f(i)
                            })
                            .count();
                        free + paced
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        })
    }

    /// Every handle is returned by exactly one `take`.
    #[test]
    fn memory_challenge_take_is_single_use_across_threads() {
        let store = MemoryChallengeStore::new();
        let now = chrono::Utc::now();
        let handle = |i: usize| format!("race-{i:08}");
        for i in 0..KEYS {
            let record = ChallengeRecord {
                ceremony: Ceremony::Authentication,
                rp_id: "localhost".into(),
                user_id: None,
                payload: "{}".into(),
                created_at: now,
                expires_at: now + chrono::Duration::seconds(300),
            };
            store
                .put(&handle(i), record)
                .now_or_never()
                .unwrap()
                .unwrap();
        }
        let taken = contend_on_threads(|i| {
            store
                .take(&handle(i))
                .now_or_never()
                .unwrap()
                .unwrap()
                .is_some()
        });
        assert_eq!(
            taken.iter().sum::<usize>(),
            KEYS,
            "each handle must be taken exactly once (takes per thread: {taken:?})"
        );
    }

    /// Of the threads' updates of one credential from one old counter, exactly one applies.
    #[test]
    fn memory_counter_update_is_one_compare_and_swap_across_threads() {
        let store = MemoryCredentialStore::new();
        let now = chrono::Utc::now();
        let id = |i: usize| (i as u32).to_be_bytes().to_vec();
        for i in 0..KEYS {
            let credential = Credential {
                credential_id: id(i),
                user_id: format!("user-{i}"),
                user_handle: vec![1; 32],
                passkey: "{}".into(),
                public_key: Vec::new(),
                sign_count: 0,
                transports: Vec::new(),
                aaguid: None,
                backup_eligible: false,
                backup_state: false,
                user_verified: true,
                attestation_fmt: "none".into(),
                discoverable: None,
                device_name: "Passkey".into(),
                created_at: now,
                last_used_at: None,
                disabled_at: None,
                disabled_reason: None,
                prf_enabled: false,
                prf_salt: None,
                last_attachment: None,
            };
            assert!(store.insert(&credential).now_or_never().unwrap().unwrap());
        }
        let applied = contend_on_threads(|i| {
            let update = UsageUpdate {
                credential_id: id(i),
                old_sign_count: 0,
                new_sign_count: 1,
                backup_eligible: false,
                backup_state: false,
                used_at: now,
                attachment: None,
            };
            store.update_usage(&update).now_or_never().unwrap().unwrap()
        });
        assert_eq!(
            applied.iter().sum::<usize>(),
            KEYS,
            "each counter value must be applied exactly once (applied per thread: {applied:?})"
        );
    }
}
