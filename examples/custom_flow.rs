//! `cargo run --example custom_flow`: your own routes on top of the passkey ceremonies.
//!
//! - `POST /signup/begin {"username"}` creates the account, identifies the session as it
//!   ([`identify`]) and asks for its first passkey; `POST /signup/finish` stores it
//!   ([`VerifiedRegistration`] runs the ceremony, for the session's user only: a browser that
//!   signed out or is someone else in between is refused).
//! - `POST /login/begin` / `POST /login` sign in and answer with an app token
//!   ([`VerifiedAssertion`]); the session is signed in too.
//! - `POST /account/delete` is a step-up route: it needs a passkey sign-in from the last
//!   5 minutes ([`Fresh`]).
//!
//! The standard scope is mounted as well, at `/auth/passkeys`.

#[path = "common/dev.rs"]
mod dev;

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use actix_passkeys::{
    store::memory::{MemoryChallengeStore, MemoryCredentialStore},
    wire::AuthenticationBegin,
    Fresh, PasskeyError, PasskeyUser, Passkeys, VerifiedAssertion, VerifiedRegistration,
};
use actix_session::Session;
use actix_web::{cookie::Key, http::StatusCode, web, App, HttpRequest, HttpResponse, HttpServer};
use serde::Deserialize;
use serde_json::json;

/// The app's own user table (a set of usernames in this demo).
#[derive(Clone, Default)]
pub(crate) struct Users(Arc<Mutex<HashSet<String>>>);

#[derive(Deserialize)]
struct Signup {
    username: String,
}

fn conflict(code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::CONFLICT)
        .json(json!({"error": {"code": code, "message": message}}))
}

async fn signup_begin(
    req: HttpRequest,
    passkeys: Passkeys,
    session: Session,
    users: web::Data<Users>,
    body: web::Json<Signup>,
) -> Result<HttpResponse, PasskeyError> {
    // Custom begins apply the rate limit themselves (the scope's routes do it for theirs).
    passkeys.check_rate_limit(&req).await?;
    let name = body.username.trim().to_owned();
    if name.is_empty() || name.len() > 64 {
        return Err(PasskeyError::InvalidRequest(
            "username must be 1 to 64 characters.",
        ));
    }
    let created = users
        .0
        .lock()
        .map_err(|_| PasskeyError::Configuration("user table lock poisoned".into()))?
        .insert(name.clone());
    if !created {
        return Ok(conflict("username_taken", "This username is taken."));
    }
    let user = PasskeyUser::new(name.clone(), name.clone(), name);
    // The new account is this browser's user now: `register/finish` (and the
    // `VerifiedRegistration` extractor) resolve the user again and accept only this one.
    passkeys.identify(&session, &user)?;
    let options = passkeys.start_registration(user).await?;
    Ok(HttpResponse::Ok().json(options))
}

/// Runs only after the registration verified and was stored.
async fn signup_finish(registration: VerifiedRegistration) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "userId": registration.user.id,
        "credentialId": registration.credential.id_b64(),
    }))
}

async fn login_begin(req: HttpRequest, passkeys: Passkeys) -> Result<HttpResponse, PasskeyError> {
    passkeys.check_rate_limit(&req).await?;
    Ok(HttpResponse::Ok().json(
        passkeys
            .start_authentication(AuthenticationBegin::default())
            .await?,
    ))
}

/// Runs only after the assertion verified and its counter was committed.
async fn login(
    req: HttpRequest,
    assertion: VerifiedAssertion,
) -> Result<HttpResponse, PasskeyError> {
    assertion.sign_in(&req)?;
    Ok(HttpResponse::Ok().json(json!({
        "userId": assertion.user_id,
        "token": format!("demo-token-for-{}", assertion.user_id),
    })))
}

async fn delete_account(
    user: Fresh,
    users: web::Data<Users>,
    passkeys: Passkeys,
    session: Session,
) -> Result<HttpResponse, PasskeyError> {
    // The account's passkeys go with it: the user handle of a user id is stable, so a later
    // sign-up with the same name must not inherit (and sign in with) the old passkeys.
    for credential in passkeys.list_credentials(&user.user_id).await? {
        passkeys
            .delete_credential(&user.user_id, &credential.credential_id)
            .await?;
    }
    users
        .0
        .lock()
        .map_err(|_| PasskeyError::Configuration("user table lock poisoned".into()))?
        .remove(&user.user_id);
    actix_passkeys::sign_out(&session);
    Ok(HttpResponse::Ok().json(json!({"deleted": user.user_id})))
}

/// The example's routes (also used by its integration test).
pub(crate) fn routes(passkeys: Passkeys, users: Users) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.configure(passkeys.configure())
            .app_data(web::Data::new(users))
            .route("/signup/begin", web::post().to(signup_begin))
            .route("/signup/finish", web::post().to(signup_finish))
            .route("/login/begin", web::post().to(login_begin))
            .route("/login", web::post().to(login))
            .route("/account/delete", web::post().to(delete_account));
    }
}

#[allow(dead_code)] // the integration test includes this file for `routes`
#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    dev::init_logging();
    let port = dev::port();
    let config = dev::local_config("custom flow demo", port)?;
    let passkeys = Passkeys::new(
        config,
        MemoryCredentialStore::new(),
        MemoryChallengeStore::new(),
    );
    let users = Users::default();
    let key = Key::generate();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(dev::cookie_sessions(key.clone()))
            .configure(routes(passkeys.clone(), users.clone()))
    })
    .bind(("localhost", port))?
    .run();
    println!("custom flow demo on http://localhost:{port}");
    server.await?;
    Ok(())
}
