//! The demo app shared by the examples: the page, `POST /signup`, `GET /me`, `GET /protected`.
//! Each example only chooses its stores and session backend.

use actix_passkeys::{identify, Authenticated, PasskeyError, PasskeyUser};
use actix_session::Session;
use actix_web::{http::header::ContentType, web, HttpResponse};
use serde::Deserialize;

const INDEX_HTML: &str = include_str!("../quickstart/index.html");

/// Registers the demo routes (the passkey scope is mounted by the caller).
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().error_handler(|_, _| {
        PasskeyError::InvalidRequest("The request body is not valid JSON of the expected shape.")
            .into()
    }))
    .route("/", web::get().to(index))
    .route("/signup", web::post().to(signup))
    .route("/me", web::get().to(me))
    .route("/protected", web::get().to(protected));
}

/// The port from `PORT`, default 8080.
pub(crate) fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080)
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

/// Creates the account if new (in this demo the user id is the username) and puts it in the
/// session, so the passkey scope's default resolver lets it register a passkey.
async fn signup(session: Session, body: web::Json<Signup>) -> Result<HttpResponse, PasskeyError> {
    let name = body.username.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(PasskeyError::InvalidRequest(
            "username must be 1 to 64 printable characters.",
        ));
    }
    identify(&session, &PasskeyUser::new(name, name, name))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "userId": name })))
}

async fn me(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(user.into_inner())
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
