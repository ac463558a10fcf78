//! The demo app shared by the examples: the page, `POST /signup`, `GET /me`, `GET /protected`,
//! `POST /prf/rotate`.
//! Each example only chooses its stores and session backend.

use actix_passkeys::{Authenticated, PasskeyError, PasskeyUser, Passkeys};
use actix_session::Session;
use actix_web::{
    http::{header::ContentType, StatusCode},
    web, HttpResponse,
};
use serde::Deserialize;

pub(crate) mod dev;

pub(crate) use dev::port;

const INDEX_HTML: &str = include_str!("../quickstart/index.html");

/// Mounts the passkey scope and the demo routes.
pub(crate) fn routes(passkeys: Passkeys) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        // The scope, GET /.well-known/webauthn, and the handle for every route (`Authenticated`
        // on /me checks the credential store through it).
        cfg.configure(passkeys.configure()).configure(demo_routes);
    }
}

fn demo_routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().error_handler(|_, _| {
        PasskeyError::InvalidRequest("The request body is not valid JSON of the expected shape.")
            .into()
    }))
    .route("/", web::get().to(index))
    .route("/signup", web::post().to(signup))
    .route("/me", web::get().to(me))
    .route("/protected", web::get().to(protected))
    .route("/prf/rotate", web::post().to(rotate_prf));
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(INDEX_HTML)
}

#[derive(Deserialize)]
struct Signup {
    username: String,
}

/// Creates the account if new (in this demo the user id is the username, and an account exists
/// once it has a passkey) and puts it in the session, so the passkey scope's default resolver
/// lets it register its first passkey within the identify window (10 minutes). An existing
/// account is only reachable by signing in to it; a session that identified as a username
/// before its owner registered cannot add a passkey to it afterwards.
async fn signup(
    session: Session,
    signed_in: Option<Authenticated>,
    passkeys: Passkeys,
    body: web::Json<Signup>,
) -> Result<HttpResponse, PasskeyError> {
    let name = body.username.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(PasskeyError::InvalidRequest(
            "username must be 1 to 64 printable characters.",
        ));
    }
    let taken = !passkeys.list_credentials(name).await?.is_empty();
    // Checked like any protected route: a sign-in whose passkey was revoked is not "own".
    let own = signed_in.is_some_and(|s| s.user_id == name);
    if taken && !own {
        return Ok(
            HttpResponse::build(StatusCode::CONFLICT).json(serde_json::json!({
                "error": {
                    "code": "username_taken",
                    "message": "This username is taken; sign in with its passkey instead."
                }
            })),
        );
    }
    passkeys.identify(&session, &PasskeyUser::new(name, name, name))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "userId": name })))
}

async fn me(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(user.into_inner())
}

/// Gives the passkey this session signed in with a new PRF salt (`Passkeys::rotate_prf_salt`):
/// its next PRF output, and the key the page derives from it, differ. 204, or 404 `not_found`
/// when that passkey does not support PRF.
async fn rotate_prf(user: Authenticated, passkeys: Passkeys) -> Result<HttpResponse, PasskeyError> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let id = URL_SAFE_NO_PAD
        .decode(&user.credential_id)
        .map_err(|_| PasskeyError::NotFound)?;
    if passkeys.rotate_prf_salt(&user.user_id, &id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(PasskeyError::NotFound)
    }
}

async fn protected(user: Authenticated) -> HttpResponse {
    let name = html_escape(&user.user_id);
    HttpResponse::Ok().content_type(ContentType::html()).body(format!(
        "<!doctype html><meta charset=utf-8><title>Protected</title>\
         <h1>Protected</h1><p id=\"protected\">Protected: signed in as <b>{name}</b></p><p><a href=\"/\">Back</a></p>"
    ))
}

fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
