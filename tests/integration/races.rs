//! Races that truly race: a real `HttpServer` with several workers, a multi-threaded runtime
//! on the client side, one connection per request, every request released at once. Generic
//! over the backend; instantiated for every store in `main.rs` (`route_suite!`).

use std::time::Duration;

use actix_passkeys::{
    store::CredentialStore as _,
    testing::{RacingCredentialStore, SoftAuthenticator},
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
/// advances once.
pub async fn one_state_finished_64_times_over_http_signs_in_once<B: Backend>() {
    on_threads(|| async {
        let ctx = Ctx::<B>::new().await;
        let passkeys = ctx.builder(config().build().unwrap()).build().unwrap();
        let server = serve(passkeys, ctx.sessions.clone(), 4);
        let mut owner = Client::new(server.addr);
        let (mut auth, id) = enrol_over_http(&mut owner, "alice").await;

        let mut browser = Client::new(server.addr);
        let begin = begin_over_http(&mut browser, None).await;
        let credential = auth.sign_in(&begin["publicKey"]).await.unwrap();
        let body = json!({ "credential": credential, "state": begin["state"] });
        let requests = (0..64).map(|_| browser.post_bytes(FINISH, &body)).collect();
        let resps = tokio::time::timeout(Duration::from_secs(60), browser.post_at_once(requests))
            .await
            .expect("64 finishes answered within 60 s");

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
