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

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/passkeys.js",
    tag = "assets",
    responses((status = 200, description = "The browser helper", content_type = "text/javascript", body = String))))]
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

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/register/begin",
    tag = "registration",
    description = "Begins a registration for the resolved user. The body is optional; `{\"mediation\":\"conditional\"}` asks for options for a conditional create (passkey upgrade); `hints` replace the configured ones for this ceremony.",
    request_body(content = Option<crate::wire::RegistrationBegin>, content_type = "application/json"),
    responses(
        (status = 200, description = "Options for navigator.credentials.create()", body = crate::wire::RegistrationOptions),
        (status = "4XX", description = "invalid_request (a body that is not an object of this shape, not JSON, a hint twice or one against the configured attachment), not_authenticated (no user resolved; an app's own resolver may answer its own code), rate_limited, payload_too_large", body = crate::web::openapi::ErrorEnvelope),
    (status = "5XX", description = "store_unavailable, configuration_error", body = crate::web::openapi::ErrorEnvelope),
    )))]
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

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/register/finish",
    tag = "registration",
    description = "Verifies and stores a registration. The user is resolved again and must be the user of the begin: 401 not_authenticated without one, 400 challenge_not_found for another user or another tenant's state.",
    request_body(content = crate::wire::RegistrationFinish, content_type = "application/json"),
    responses(
        (status = 200, description = "The passkey is stored", body = Registered),
        (status = "4XX", description = "invalid_request, not_authenticated, challenge_not_found, challenge_expired, attestation_verification_failed, credential_already_exists, rate_limited, payload_too_large", body = crate::web::openapi::ErrorEnvelope),
    (status = "5XX", description = "store_unavailable, configuration_error", body = crate::web::openapi::ErrorEnvelope),
    )))]
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

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/authenticate/begin",
    tag = "authentication",
    description = "Begins a sign-in: username-first with a userId, usernameless without (empty body, {} or {\"userId\":null}). `hints` replace the configured ones for this ceremony.",
    request_body(content = Option<crate::wire::AuthenticationBegin>, content_type = "application/json"),
    responses(
        (status = 200, description = "Options for navigator.credentials.get()", body = crate::wire::AuthenticationOptions),
        (status = "4XX", description = "invalid_request (a body that is not an object of this shape, not JSON, a user id over the limit, a hint twice), rate_limited, payload_too_large", body = crate::web::openapi::ErrorEnvelope),
    (status = "5XX", description = "store_unavailable, configuration_error", body = crate::web::openapi::ErrorEnvelope),
    )))]
pub(crate) async fn authenticate_begin(
    svc: Passkeys,
    body: OptionalJsonBody<AuthenticationBegin>,
) -> Result<HttpResponse, PasskeyError> {
    let options = svc.start_authentication(body.0.unwrap_or_default()).await?;
    Ok(HttpResponse::Ok().json(options))
}

#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/authenticate/finish",
    tag = "authentication",
    description = "Verifies a sign-in. A failed usernameless sign-in with an unknown credential carries a Passkeys-Signal header (unknownCredential). An app's sign-in hook may answer instead of the default 200.",
    request_body(content = crate::wire::AuthenticationFinish, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in (or the app hook's response)", body = SignedIn),
        (status = "4XX", description = "invalid_request, challenge_not_found, challenge_expired, credential_not_found, assertion_verification_failed, clone_detected, credential_disabled, rate_limited, payload_too_large", body = crate::web::openapi::ErrorEnvelope),
    (status = "5XX", description = "store_unavailable, configuration_error", body = crate::web::openapi::ErrorEnvelope),
    )))]
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

#[cfg_attr(feature = "openapi", utoipa::path(get, path = "/credentials",
    tag = "credentials",
    description = "The caller's passkeys, oldest first. Carries a Passkeys-Signal header (allAcceptedCredentials) when the caller has any.",
    responses(
        (status = 200, description = "The caller's passkeys", body = Vec<CredentialView>),
        (status = "4XX", description = "not_authenticated (an app's own resolver may answer its own code)", body = crate::web::openapi::ErrorEnvelope),
    (status = "5XX", description = "store_unavailable, configuration_error", body = crate::web::openapi::ErrorEnvelope),
    )))]
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

#[cfg_attr(feature = "openapi", utoipa::path(patch, path = "/credentials/{id}",
    tag = "credentials",
    params(("id" = String, Path, description = "The credential id, base64url")),
    request_body(content = Rename, content_type = "application/json"),
    responses(
        (status = 204, description = "Renamed"),
        (status = "4XX", description = "invalid_request, not_authenticated, not_found, payload_too_large", body = crate::web::openapi::ErrorEnvelope),
    (status = "5XX", description = "store_unavailable, configuration_error", body = crate::web::openapi::ErrorEnvelope),
    )))]
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

#[cfg_attr(feature = "openapi", utoipa::path(delete, path = "/credentials/{id}",
    tag = "credentials",
    description = "Revokes a passkey. Carries a Passkeys-Signal header (allAcceptedCredentials) when the caller has passkeys left.",
    params(("id" = String, Path, description = "The credential id, base64url")),
    responses(
        (status = 204, description = "Revoked"),
        (status = "4XX", description = "invalid_request, not_authenticated, not_found", body = crate::web::openapi::ErrorEnvelope),
    (status = "5XX", description = "store_unavailable, configuration_error", body = crate::web::openapi::ErrorEnvelope),
    )))]
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
#[cfg_attr(feature = "openapi", utoipa::path(post, path = "/logout",
    tag = "session",
    responses((status = 204, description = "Signed out (session purged)"))))]
pub(crate) async fn logout(session: actix_session::Session) -> HttpResponse {
    crate::web::session::sign_out(&session);
    HttpResponse::NoContent().finish()
}
