//! The custom-flow example's routes: ceremony extractors, `PasskeysData`, `Fresh`.

use std::time::Duration;

use actix_passkeys::{testing::SoftAuthenticator, RateLimit};
use actix_web::{http::StatusCode, test as atest};
use serde_json::json;

use crate::{
    custom_flow_example::{routes, Users},
    fixtures::*,
};

#[actix_rt::test]
async fn sign_up_login_and_step_up_through_extractors() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(config().build().unwrap()).build().unwrap();
    let mut app = ctx.app_configured(routes(passkeys, Users::default())).await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();

    let begin = app.post("/signup/begin", json!({"username": "dana"})).await;
    let credential = auth
        .register(&begin.assert_ok()["publicKey"])
        .await
        .unwrap();
    let finish =
        json!({"credential": credential, "state": begin.body["state"], "deviceName": "Phone"});
    let r = app.post("/signup/finish", finish.clone()).await;
    assert_eq!(r.assert_ok()["userId"], "dana");
    // The extractor rejects before the handler: replayed state, same envelope as the scope.
    app.post("/signup/finish", finish)
        .await
        .assert_error(400, "challenge_not_found");
    app.post("/signup/begin", json!({"username": "dana"}))
        .await
        .assert_error(409, "username_taken");

    app.post_empty("/account/delete")
        .await
        .assert_error(401, "not_authenticated");
    let begin = app.post_empty("/login/begin").await;
    let assertion = auth.sign_in(&begin.assert_ok()["publicKey"]).await.unwrap();
    let r = app
        .post(
            "/login",
            json!({"credential": assertion, "state": begin.body["state"]}),
        )
        .await;
    assert_eq!(r.assert_ok()["token"], "demo-token-for-dana");

    // Fresh: accepted now, refused once the sign-in is older than the window.
    ctx.clock.advance(Duration::from_secs(301));
    app.post_empty("/account/delete")
        .await
        .assert_error(401, "reauthentication_required");
    let begin = app.post_empty("/login/begin").await;
    let assertion = auth.sign_in(&begin.body["publicKey"]).await.unwrap();
    app.post(
        "/login",
        json!({"credential": assertion, "state": begin.body["state"]}),
    )
    .await
    .assert_ok();
    let r = app.post_empty("/account/delete").await;
    assert_eq!(r.assert_ok()["deleted"], "dana");

    // A failed assertion never reaches the handler.
    let r = app
        .post("/login", json!({"credential": {}, "state": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[actix_rt::test]
async fn extractors_without_passkeys_data_are_a_configuration_error() {
    let svc = atest::init_service(
        actix_web::App::new().route(
            "/login",
            actix_web::web::post()
                .to(|a: actix_passkeys::VerifiedAssertion| async move { a.user_id.clone() }),
        ),
    )
    .await;
    let req = atest::TestRequest::post()
        .uri("/login")
        .set_json(json!({}))
        .to_request();
    let resp = atest::call_service(&svc, req).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: serde_json::Value = atest::read_body_json(resp).await;
    assert_eq!(body["error"]["code"], "configuration_error");
}

#[actix_rt::test]
async fn ceremony_routes_are_rate_limited_per_client() {
    let ctx = Ctx::<Memory>::new().await;
    let limit = RateLimit::new(3, 1.0).key(|req| {
        req.headers()
            .get("x-client")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let passkeys = ctx
        .builder(config().build().unwrap())
        .rate_limit(limit)
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    let begin = |client: &'static str| {
        atest::TestRequest::post()
            .uri("/auth/passkeys/authenticate/begin")
            .insert_header(("x-client", client))
    };
    for _ in 0..3 {
        app.send(begin("a")).await.assert_ok();
    }
    let r = app.send(begin("a")).await;
    r.assert_error(429, "rate_limited");
    assert_eq!(r.retry_after.as_deref(), Some("1"));
    app.send(begin("b")).await.assert_ok();
    // Management routes are not ceremony routes.
    app.signup("alice").await;
    app.get("/auth/passkeys/credentials").await.assert_ok();
    // Finish routes share the budget; the bucket refills with the service clock.
    let r = app
        .send(
            begin("a")
                .uri("/auth/passkeys/authenticate/finish")
                .set_json(json!({"credential": {}, "state": "x"})),
        )
        .await;
    r.assert_error(429, "rate_limited");
    ctx.clock.advance(Duration::from_secs(1));
    app.send(begin("a")).await.assert_ok();
}
