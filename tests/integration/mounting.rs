//! Mounting: `App::configure(passkeys.configure())` makes the handle visible to every route;
//! without it the extractors fail loudly (500 `configuration_error`) instead of running on
//! defaults (fresh window, clock, rate limit, body limit, rp id).

use actix_passkeys::{
    store::CredentialStore as _, testing::SoftAuthenticator, Authenticated, Fresh, PasskeyError,
    Passkeys, VerifiedAssertion, VerifiedRegistration,
};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::fixtures::*;

async fn me(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "userId": user.user_id }))
}

async fn fresh(user: Fresh) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "userId": user.user_id }))
}

async fn maybe(user: Option<Authenticated>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "signedIn": user.is_some() }))
}

async fn added(registered: VerifiedRegistration) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "credentialId": registered.credential.id_b64() }))
}

async fn token(assertion: VerifiedAssertion) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "userId": assertion.user_id }))
}

/// A token login that also signs the session in.
async fn login(
    req: HttpRequest,
    assertion: VerifiedAssertion,
) -> Result<HttpResponse, PasskeyError> {
    assertion.sign_in(&req)?;
    Ok(HttpResponse::Ok().json(json!({ "userId": assertion.user_id })))
}

async fn handle(passkeys: Passkeys) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "rpId": passkeys.config().rp_id() }))
}

/// The app's own routes, outside the scope.
fn outside(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/fresh", web::get().to(fresh))
        .route("/maybe", web::get().to(maybe))
        .route("/added", web::post().to(added))
        .route("/token", web::post().to(token))
        .route("/login", web::post().to(login))
        .route("/handle", web::get().to(handle));
}

/// The documented mount: every extractor on a route outside the scope sees the handle.
#[actix_rt::test]
async fn configure_makes_extractors_work_outside_the_scope() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(config().build().unwrap()).build().unwrap();
    let mut app = ctx
        .app_configured(move |cfg| {
            cfg.configure(passkeys.configure())
                .route("/signup", web::post().to(signup))
                .configure(outside);
        })
        .await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("ann").await;
    let body = app.registration(&mut auth, None).await;
    app.post("/added", body).await.assert_ok();
    let body = app.assertion(&mut auth, Some("ann")).await;
    assert_eq!(app.post("/token", body).await.assert_ok()["userId"], "ann");
    let body = app.assertion(&mut auth, Some("ann")).await;
    assert_eq!(app.post("/login", body).await.assert_ok()["userId"], "ann");
    assert_eq!(app.get("/me").await.assert_ok()["userId"], "ann");
    assert_eq!(app.get("/fresh").await.assert_ok()["userId"], "ann");
    assert_eq!(app.get("/maybe").await.assert_ok()["signedIn"], true);
    assert_eq!(app.get("/handle").await.assert_ok()["rpId"], "localhost");
}

/// `App::service(passkeys)` alone serves the scope (which sees its handle), but every
/// extractor outside it answers 500 `configuration_error` in the envelope: no default fresh
/// window, clock, rate limit, body limit or empty rp id.
#[actix_rt::test]
async fn extractors_outside_an_unregistered_handle_answer_configuration_error() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(config().build().unwrap()).build().unwrap();
    let mut app = ctx
        .app_configured(move |cfg| {
            cfg.service(signup_with(&passkeys))
                .service(passkeys)
                .configure(outside);
        })
        .await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    // The scope itself works: it registers its handle for its own routes.
    app.signup("ann").await;
    app.register(&mut auth, None).await.assert_ok();
    app.sign_in(&mut auth, Some("ann")).await.assert_ok();
    for path in ["/me", "/fresh", "/handle"] {
        app.get(path).await.assert_error(500, "configuration_error");
    }
    let body = app
        .registration(&mut SoftAuthenticator::new(ORIGIN).unwrap(), None)
        .await;
    app.post("/added", body)
        .await
        .assert_error(500, "configuration_error");
    for path in ["/token", "/login"] {
        let body = app.assertion(&mut auth, Some("ann")).await;
        app.post(path, body)
            .await
            .assert_error(500, "configuration_error");
    }
    // Nothing was consumed by the refused extractors: the credential and its counter are
    // untouched, and only the scope's registration is stored.
    assert_eq!(ctx.creds.list_for_user("ann").await.unwrap().len(), 1);
}

/// The ceremony extractors read the body limit of the handle, wherever they are mounted: a
/// `VerifiedAssertion` route outside the scope used to read up to the default 64 KiB.
#[actix_rt::test]
async fn extractors_outside_the_scope_keep_the_configured_body_limit() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx
        .builder(config().body_limit(4096).build().unwrap())
        .build()
        .unwrap();
    let mut app = ctx
        .app_configured(move |cfg| {
            cfg.configure(passkeys.configure())
                .route("/signup", web::post().to(signup))
                .configure(outside);
        })
        .await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("ann").await;
    app.register(&mut auth, None).await.assert_ok();
    let mut body = app.assertion(&mut auth, Some("ann")).await;
    body["padding"] = json!("x".repeat(8192));
    app.post("/token", body)
        .await
        .assert_error(413, "payload_too_large");
}
