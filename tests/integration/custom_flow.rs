//! The custom-flow example's routes: ceremony extractors, `Passkeys`, `Fresh`.

use std::time::Duration;

use actix_passkeys::{
    rate_limit::RateLimit, store::CredentialStore as _, testing::SoftAuthenticator,
};
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

    // The sign-up's registration signed this browser in; signed out, the step-up gate refuses.
    app.logout().await;
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
    // Its passkeys went with it: the next "dana" does not inherit them.
    assert!(ctx.creds.list_for_user("dana").await.unwrap().is_empty());
    let begin = app.post_empty("/login/begin").await;
    let assertion = auth.sign_in(&begin.assert_ok()["publicKey"]).await.unwrap();
    app.post(
        "/login",
        json!({"credential": assertion, "state": begin.body["state"]}),
    )
    .await
    .assert_error(401, "credential_not_found");

    // A failed assertion never reaches the handler.
    app.post("/login", json!({"credential": {}, "state": "x"}))
        .await
        .assert_error(400, "invalid_request");
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

/// Custom begin handlers (`Passkeys::start_*` outside the scope) are limited too, through
/// `Passkeys::check_rate_limit`, as the example's begins call it: unlimited begins could push
/// everyone's pending ceremonies out of the memory challenge store.
#[actix_rt::test]
async fn custom_begin_handlers_are_rate_limited() {
    let ctx = Ctx::<Memory>::new().await;
    let limit = RateLimit::new(2, 0.001).key(|_| Some("one-client".to_owned()));
    let passkeys = ctx
        .builder(config().build().unwrap())
        .rate_limit(limit)
        .build()
        .unwrap();
    let mut app = ctx.app_configured(routes(passkeys, Users::default())).await;
    app.post_empty("/login/begin").await.assert_ok();
    app.post("/signup/begin", json!({"username": "erin"}))
        .await
        .assert_ok();
    app.post_empty("/login/begin")
        .await
        .assert_error(429, "rate_limited");
    app.post("/signup/begin", json!({"username": "finn"}))
        .await
        .assert_error(429, "rate_limited");
}

/// The `VerifiedRegistration` extractor re-resolves the user as `register/finish` does: a
/// browser that signed out between sign-up begin and finish is refused, and so is another
/// user's state; nothing is stored.
#[actix_rt::test]
async fn verified_registration_is_only_for_the_user_of_the_begin() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(config().build().unwrap()).build().unwrap();
    let mut app = ctx.app_configured(routes(passkeys, Users::default())).await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    let begin = app.post("/signup/begin", json!({"username": "erin"})).await;
    let credential = auth
        .register(&begin.assert_ok()["publicKey"])
        .await
        .unwrap();
    let finish = json!({"credential": credential, "state": begin.body["state"]});
    app.logout().await;
    app.post("/signup/finish", finish.clone())
        .await
        .assert_error(401, "not_authenticated");
    app.post("/signup/begin", json!({"username": "mallory"}))
        .await
        .assert_ok();
    app.post("/signup/finish", finish)
        .await
        .assert_error(400, "challenge_not_found");
    for user in ["erin", "mallory"] {
        assert!(ctx.creds.list_for_user(user).await.unwrap().is_empty());
    }
}

/// `Passkeys::finish_registration_for`: a custom flow that names its user binds the finish
/// to it explicitly; a ceremony begun for someone else is not found (and consumed).
#[actix_rt::test]
async fn finish_registration_for_binds_to_the_named_user() {
    use actix_passkeys::{wire::RegistrationFinish, PasskeyError, PasskeyUser, Passkeys};
    use actix_web::{web, HttpResponse};

    async fn begin(
        passkeys: Passkeys,
        user: web::Path<String>,
    ) -> Result<HttpResponse, PasskeyError> {
        let user = PasskeyUser::new(user.as_str(), user.as_str(), user.as_str());
        Ok(HttpResponse::Ok().json(passkeys.start_registration(user).await?))
    }
    async fn finish(
        passkeys: Passkeys,
        user: web::Path<String>,
        body: web::Json<RegistrationFinish>,
    ) -> Result<HttpResponse, PasskeyError> {
        let done = passkeys
            .finish_registration_for(&user, body.into_inner())
            .await?;
        Ok(HttpResponse::Ok().json(json!({"userId": done.user.id})))
    }

    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(config().build().unwrap()).build().unwrap();
    let mut app = ctx
        .app_configured(move |cfg| {
            cfg.configure(passkeys.configure())
                .route("/custom/begin/{user}", web::post().to(begin))
                .route("/custom/finish/{user}", web::post().to(finish));
        })
        .await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    let b = app.post_empty("/custom/begin/erin").await;
    let credential = auth.register(&b.assert_ok()["publicKey"]).await.unwrap();
    let body = json!({"credential": credential, "state": b.body["state"]});
    app.post("/custom/finish/mallory", body.clone())
        .await
        .assert_error(400, "challenge_not_found");
    app.post("/custom/finish/erin", body)
        .await
        .assert_error(400, "challenge_not_found");
    assert!(ctx.creds.list_for_user("erin").await.unwrap().is_empty());
    assert!(ctx.creds.list_for_user("mallory").await.unwrap().is_empty());

    let b = app.post_empty("/custom/begin/erin").await;
    let credential = auth.register(&b.assert_ok()["publicKey"]).await.unwrap();
    let r = app
        .post(
            "/custom/finish/erin",
            json!({"credential": credential, "state": b.body["state"]}),
        )
        .await;
    assert_eq!(r.assert_ok()["userId"], "erin");
    assert_eq!(ctx.creds.list_for_user("erin").await.unwrap().len(), 1);
}
