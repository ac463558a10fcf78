//! The scope's handlers. They only parse, call the service, and render.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{header, StatusCode},
    middleware::Next,
    web, HttpRequest, HttpResponse,
};
use serde::{Deserialize, Serialize};

use crate::{
    ceremony::{
        authentication::{AuthenticationBegin, AuthenticationFinish},
        registration::{RegistrationBegin, RegistrationFinish},
    },
    error::{envelope, ErrorCode, PasskeyError},
    model::{b64url, from_b64url, validate_device_name, CredentialView},
    web::{
        body::{JsonBody, OptionalJsonBody},
        service::Passkeys,
        signal::Signal,
    },
};

/// The browser helper served at `<scope>/passkeys.js`.
const PASSKEYS_JS: &str = include_str!("../../static/passkeys.js");

pub(crate) async fn not_found() -> HttpResponse {
    envelope(StatusCode::NOT_FOUND, ErrorCode::NotFound, "Not found.")
}

/// 405 in the error envelope, with `Allow` naming the route's methods (RFC 9110 §15.5.6).
pub(crate) fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut resp = envelope(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::InvalidRequest,
        "Method not allowed.",
    );
    resp.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    resp
}

pub(crate) async fn passkeys_js() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(PASSKEYS_JS)
}

/// Middleware on the ceremony routes: the rate limit runs before any body is read.
pub(crate) async fn rate_limited(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // The scope registers its handle for its own routes; a missing one is a 500.
    let limited = match Passkeys::from_req(req.request()) {
        Ok(data) => data.check_rate_limit(req.request()).await,
        Err(err) => Err(err),
    };
    if let Err(err) = limited {
        return Ok(req.error_response(err).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

pub(crate) async fn register_begin(
    svc: Passkeys,
    req: HttpRequest,
    body: OptionalJsonBody<RegistrationBegin>,
) -> Result<HttpResponse, PasskeyError> {
    let begin = body.0.unwrap_or_default();
    let user = svc.resolve_user_for_registration(&req).await?;
    let options = svc.start_registration_with(user, begin).await?;
    Ok(HttpResponse::Ok().json(options))
}

/// The `register/finish` answer.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct Registered {
    /// Always `ok`.
    pub(crate) status: &'static str,
    /// The new credential's id, base64url.
    pub(crate) credential_id: String,
}

/// The default `authenticate/finish` answer (an `on_authenticated` hook may replace it).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignedIn {
    /// Always `ok`.
    pub(crate) status: &'static str,
    /// The signed-in app user id.
    pub(crate) user_id: String,
    /// `true` when the user signed in from another device (a phone over hybrid): offer a
    /// passkey on this one. Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "openapi", schema(required = false))]
    pub(crate) cross_device: bool,
}

pub(crate) async fn register_finish(
    svc: Passkeys,
    req: HttpRequest,
    body: JsonBody<RegistrationFinish>,
) -> Result<HttpResponse, PasskeyError> {
    // The user is resolved again: only the user the ceremony was begun for may finish it.
    let verified = svc.finish_registration(&req, body.0).await?;
    Ok(HttpResponse::Ok().json(Registered {
        status: "ok",
        credential_id: verified.credential.id_b64(),
    }))
}

pub(crate) async fn authenticate_begin(
    svc: Passkeys,
    body: OptionalJsonBody<AuthenticationBegin>,
) -> Result<HttpResponse, PasskeyError> {
    let options = svc.start_authentication(body.0.unwrap_or_default()).await?;
    Ok(HttpResponse::Ok().json(options))
}

pub(crate) async fn authenticate_finish(
    svc: Passkeys,
    req: HttpRequest,
    body: JsonBody<AuthenticationFinish>,
) -> Result<HttpResponse, actix_web::Error> {
    // The counter and last-used time are committed inside `finish`, before anything below runs.
    let (result, unknown) = svc.finish_authentication_signalled(body.0).await;
    let result = match (result, unknown) {
        (Ok(r), _) => r,
        (Err(err), Some(id)) => {
            let signal = Signal::UnknownCredential {
                rp_id: svc.config().rp_id().to_owned(),
                credential_id: b64url(&id),
            };
            let mut resp = actix_web::ResponseError::error_response(&err);
            if let Ok(value) = header::HeaderValue::from_str(&signal.to_header_value()) {
                resp.headers_mut()
                    .insert(header::HeaderName::from_static("passkeys-signal"), value);
            }
            return Ok(resp);
        }
        (Err(err), None) => return Err(err.into()),
    };
    // The app's hook decides first; the session records the sign-in only when it accepts
    // (an error, or an answer with a 4xx/5xx status, leaves the session as it was).
    let resp = match svc.hook() {
        Some(hook) => hook.call(req.clone(), result.clone()).await?,
        None => HttpResponse::Ok().json(SignedIn {
            status: "ok",
            user_id: result.user_id.clone(),
            cross_device: result.cross_device,
        }),
    };
    #[cfg(feature = "session")]
    if !(resp.status().is_client_error() || resp.status().is_server_error()) {
        crate::web::session::sign_in(&req, &result, svc.now(), svc.config().rp_id())?;
    }
    Ok(resp)
}

pub(crate) async fn list_credentials(
    svc: Passkeys,
    req: HttpRequest,
) -> Result<HttpResponse, PasskeyError> {
    let user = svc.resolve_user(&req).await?;
    let creds = svc.list_credentials(&user.id).await?;
    let views: Vec<CredentialView> = creds.iter().map(|c| svc.credential_view(c)).collect();
    let mut resp = HttpResponse::Ok();
    if let Some(signal) = Signal::all_accepted(svc.config().rp_id(), &creds) {
        resp.insert_header(signal.header());
    }
    Ok(resp.json(views))
}

/// The `PATCH credentials/{id}` body.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(crate) struct Rename {
    /// The new name (1 to 64 characters, no control characters).
    #[serde(rename = "deviceName", alias = "device_name")]
    device_name: String,
}

fn credential_id(path: &str) -> Result<Vec<u8>, PasskeyError> {
    from_b64url(path)
        .filter(|id| !id.is_empty())
        .ok_or(PasskeyError::InvalidRequest(
            "The credential id must be base64url.",
        ))
}

pub(crate) async fn rename_credential(
    svc: Passkeys,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody<Rename>,
) -> Result<HttpResponse, PasskeyError> {
    let user = svc.resolve_user(&req).await?;
    let id = credential_id(&path)?;
    let name = validate_device_name(&body.0.device_name)?;
    if name.is_empty() {
        return Err(PasskeyError::InvalidRequest(
            "deviceName must not be empty.",
        ));
    }
    if svc.rename_credential(&user.id, &id, &name).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(PasskeyError::NotFound)
    }
}

pub(crate) async fn delete_credential(
    svc: Passkeys,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PasskeyError> {
    let user = svc.resolve_user(&req).await?;
    let id = credential_id(&path)?;
    if !svc.delete_credential(&user.id, &id).await? {
        return Err(PasskeyError::NotFound);
    }
    let mut resp = HttpResponse::NoContent();
    // The revoke is done; a failing re-read only costs the signal.
    if let Ok(Some(signal)) = svc.accepted_credentials(&user.id).await {
        resp.insert_header(signal.header());
    }
    Ok(resp.finish())
}

#[cfg(feature = "session")]
pub(crate) async fn logout(session: actix_session::Session) -> HttpResponse {
    crate::web::session::sign_out(&session);
    HttpResponse::NoContent().finish()
}
