//! The OpenAPI 3.1 document of the scope's routes, served at `<scope>/openapi.json`.
//!
//! Schemas are derived (utoipa) from the very types the handlers read and write, so they
//! cannot drift from the wire; the WebAuthn JSON objects (`publicKey`, `credential`) are
//! free-form objects. The error code enum is [`ErrorCode::ALL`](crate::ErrorCode::ALL), which a unit test ties to
//! [`PasskeyError::code`]. Paths are relative to the scope, whose path is the document's server.

use utoipa::{
    openapi::{
        schema::{ObjectBuilder, Type},
        OpenApi as Document, Server,
    },
    OpenApi, PartialSchema, ToSchema,
};

use crate::{
    ceremony::{
        authentication::{AuthenticationBegin, AuthenticationFinish, AuthenticationOptions},
        registration::{RegistrationBegin, RegistrationFinish, RegistrationOptions},
    },
    model::CredentialView,
    web::routes::{Registered, Rename, SignedIn},
};

/// The error envelope `{"error":{"code","message"}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ErrorEnvelope {
    error: ErrorBody,
}

/// The envelope's `error` member.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ErrorBody {
    /// A stable, machine-readable code.
    #[schema(value_type = ErrorCode)]
    code: String,
    /// A short, fixed message (never the internal cause).
    message: String,
}

/// Every error code (`ErrorCode::ALL`).
pub(crate) struct ErrorCode;

impl PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("Every code the scope answers (ErrorCode::ALL)."))
            .enum_values(Some(crate::ErrorCode::ALL.iter().map(|c| c.as_str())))
            .into()
    }
}

impl ToSchema for ErrorCode {}

macro_rules! route {
    ($name:ident, $method:ident, $path:literal, $($attr:tt)*) => {
        #[utoipa::path($method, path = $path, $($attr)*)]
        #[allow(dead_code)]
        fn $name() {}
    };
}

route!(register_begin, post, "/register/begin",
tag = "registration",
description = "Begins a registration for the resolved user. The body is optional; `{\"mediation\":\"conditional\"}` asks for options for a conditional create (passkey upgrade); `hints` replace the configured ones for this ceremony (400 invalid_request for a hint twice or one against the configured attachment).",
request_body(content = Option<RegistrationBegin>, content_type = "application/json"),
responses(
    (status = 200, description = "Options for navigator.credentials.create()", body = RegistrationOptions),
    (status = "4XX", description = "Error (invalid_request, not_authenticated, rate_limited, payload_too_large)", body = ErrorEnvelope),
    (status = "5XX", description = "Error (store_unavailable, configuration_error)", body = ErrorEnvelope),
));
route!(register_finish, post, "/register/finish",
    tag = "registration",
    description = "Verifies and stores a registration. The user is resolved again and must be the user of the begin: 401 not_authenticated without one, 400 challenge_not_found for another user or another tenant's state.",
    request_body(content = RegistrationFinish, content_type = "application/json"),
    responses(
        (status = 200, description = "The passkey is stored", body = Registered),
        (status = "4XX", description = "Error (invalid_request, not_authenticated, challenge_not_found, challenge_expired, attestation_verification_failed, credential_already_exists, rate_limited, payload_too_large)", body = ErrorEnvelope),
        (status = "5XX", description = "Error (store_unavailable, configuration_error)", body = ErrorEnvelope),
    ));
route!(authenticate_begin, post, "/authenticate/begin",
tag = "authentication",
description = "Begins a sign-in: username-first with a userId, usernameless without (empty body, {} or {\"userId\":null}). `hints` replace the configured ones for this ceremony (400 invalid_request for a hint twice).",
request_body(content = Option<AuthenticationBegin>, content_type = "application/json"),
responses(
    (status = 200, description = "Options for navigator.credentials.get()", body = AuthenticationOptions),
    (status = "4XX", description = "Error (invalid_request, rate_limited, payload_too_large)", body = ErrorEnvelope),
    (status = "5XX", description = "Error (store_unavailable, configuration_error)", body = ErrorEnvelope),
));
route!(authenticate_finish, post, "/authenticate/finish",
    tag = "authentication",
    description = "Verifies a sign-in. A failed usernameless sign-in with an unknown credential carries a Passkeys-Signal header (unknownCredential).",
    request_body(content = AuthenticationFinish, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in (or the app hook's response)", body = SignedIn),
        (status = "4XX", description = "Error (invalid_request, challenge_not_found, challenge_expired, credential_not_found, assertion_verification_failed, clone_detected, credential_disabled, rate_limited, payload_too_large)", body = ErrorEnvelope),
        (status = "5XX", description = "Error (store_unavailable, configuration_error)", body = ErrorEnvelope),
    ));
route!(list_credentials, get, "/credentials",
tag = "credentials",
description = "The caller's passkeys, oldest first. Carries a Passkeys-Signal header (allAcceptedCredentials) when the caller has any.",
responses(
    (status = 200, description = "The caller's passkeys", body = Vec<CredentialView>),
    (status = "4XX", description = "Error (not_authenticated, reauthentication_required)", body = ErrorEnvelope),
    (status = "5XX", description = "Error (store_unavailable, configuration_error)", body = ErrorEnvelope),
));
route!(
    rename_credential,
    patch,
    "/credentials/{id}",
    tag = "credentials",
    params((
        "id" = String,
        Path,
        description = "The credential id, base64url"
    )),
    request_body(content = Rename, content_type = "application/json"),
    responses(
        (status = 204, description = "Renamed"),
        (
            status = "4XX",
            description =
                "Error (invalid_request, not_authenticated, not_found, payload_too_large)",
            body = ErrorEnvelope
        ),
        (
            status = "5XX",
            description = "Error (store_unavailable, configuration_error)",
            body = ErrorEnvelope
        ),
    )
);
route!(delete_credential, delete, "/credentials/{id}",
    tag = "credentials",
    description = "Revokes a passkey. Carries a Passkeys-Signal header (allAcceptedCredentials) when the caller has passkeys left.",
    params(("id" = String, Path, description = "The credential id, base64url")),
    responses(
        (status = 204, description = "Revoked"),
        (status = "4XX", description = "Error (invalid_request, not_authenticated, not_found)", body = ErrorEnvelope),
        (status = "5XX", description = "Error (store_unavailable, configuration_error)", body = ErrorEnvelope),
    ));
route!(
    passkeys_js,
    get,
    "/passkeys.js",
    tag = "assets",
    responses((
        status = 200,
        description = "The browser helper",
        content_type = "text/javascript",
        body = String
    ))
);
route!(
    openapi_json,
    get,
    "/openapi.json",
    tag = "assets",
    responses((
        status = 200,
        description = "This document",
        content_type = "application/json",
        body = Object
    ))
);

macro_rules! well_known {
    ($name:ident, $path:literal, $what:literal) => {
        route!($name, get, $path,
            tag = "well-known",
            description = concat!($what, " Served at the site root (not under the scope), for GET and HEAD; built from the config. Other methods: 405 invalid_request with Allow: GET, HEAD."),
            responses(
                (status = 200, description = $what, content_type = "application/json", body = Object),
                (status = 405, description = "Another method", body = ErrorEnvelope),
            ));
    };
}
well_known!(
    well_known_webauthn,
    "/.well-known/webauthn",
    "Related Origin Requests: {\"origins\": [...]}, the web origins the ceremonies accept."
);
well_known!(
    well_known_passkey_endpoints,
    "/.well-known/passkey-endpoints",
    "Passkey Endpoints: {\"enroll\"?, \"manage\"?, \"prfUsageDetails\"?}."
);
well_known!(
    well_known_asset_links,
    "/.well-known/assetlinks.json",
    "Digital Asset Links statements of the configured Android apps (404 without one)."
);
well_known!(
    well_known_apple_app_site_association,
    "/.well-known/apple-app-site-association",
    "The webcredentials section for the configured Apple apps (404 without one)."
);

/// The well-known paths: served at the site root, so each names `/` as its server.
const WELL_KNOWN: [&str; 4] = [
    crate::web::well_known::WELL_KNOWN_PATH,
    crate::web::well_known::PASSKEY_ENDPOINTS_PATH,
    crate::web::well_known::ASSET_LINKS_PATH,
    crate::web::well_known::APPLE_APP_SITE_ASSOCIATION_PATH,
];

#[cfg(feature = "session")]
route!(
    logout,
    post,
    "/logout",
    tag = "session",
    responses((status = 204, description = "Signed out (session purged)"))
);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "actix-passkeys",
        description = "Passkey (WebAuthn) registration, sign-in and credential management. Every error is {\"error\":{\"code\",\"message\"}}; see the ErrorCode schema for every code."
    ),
    paths(
        register_begin,
        register_finish,
        authenticate_begin,
        authenticate_finish,
        list_credentials,
        rename_credential,
        delete_credential,
        passkeys_js,
        openapi_json,
        well_known_webauthn,
        well_known_passkey_endpoints,
        well_known_asset_links,
        well_known_apple_app_site_association
    ),
    components(schemas(ErrorEnvelope, ErrorBody, ErrorCode))
)]
struct ApiDoc;

#[cfg(feature = "session")]
#[derive(OpenApi)]
#[openapi(paths(logout))]
struct SessionDoc;

/// The document for a scope mounted at `scope_path`.
pub(crate) fn document(scope_path: &str) -> Document {
    #[allow(unused_mut)]
    let mut doc = ApiDoc::openapi();
    #[cfg(feature = "session")]
    doc.merge(SessionDoc::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.servers = Some(vec![Server::new(scope_path)]);
    for path in WELL_KNOWN {
        if let Some(item) = doc.paths.paths.get_mut(path) {
            item.servers = Some(vec![Server::new("/")]);
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_is_openapi_3_1_with_every_code() {
        let doc: serde_json::Value =
            serde_json::from_str(&document("/auth/passkeys").to_json().unwrap()).unwrap();
        if std::env::var_os("PASSKEYS_PRINT_OPENAPI").is_some() {
            println!("{doc:#}");
        }
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["servers"][0]["url"], "/auth/passkeys");
        let codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .unwrap();
        assert_eq!(codes.len(), crate::ErrorCode::ALL.len());
        for code in crate::ErrorCode::ALL.iter().map(|c| c.as_str()) {
            assert!(codes.iter().any(|c| c == code), "{code}");
        }
    }

    /// The well-known documents are at the site root: their paths name `/` as their server,
    /// the scope's routes inherit the scope's.
    #[test]
    fn well_known_paths_are_served_from_the_site_root() {
        let doc: serde_json::Value =
            serde_json::from_str(&document("/auth/passkeys").to_json().unwrap()).unwrap();
        for path in WELL_KNOWN {
            assert_eq!(doc["paths"][path]["servers"][0]["url"], "/", "{path}");
            assert!(doc["paths"][path]["get"].is_object(), "{path}");
        }
        assert!(doc["paths"]["/register/begin"].get("servers").is_none());
        let hints = &doc["components"]["schemas"]["Hint"]["enum"];
        assert_eq!(
            hints,
            &serde_json::json!(["security-key", "client-device", "hybrid"])
        );
    }

    /// The additive members are in the schemas: `prfEnabled` in the listing, and the optional
    /// `crossDevice` of the sign-in answer.
    #[test]
    fn prf_enabled_and_cross_device_are_documented() {
        let doc: serde_json::Value =
            serde_json::from_str(&document("/auth/passkeys").to_json().unwrap()).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["CredentialView"]["properties"]["prfEnabled"]["type"],
            "boolean"
        );
        let signed_in = &schemas["SignedIn"];
        assert_eq!(signed_in["properties"]["crossDevice"]["type"], "boolean");
        let required = signed_in["required"].as_array().unwrap();
        assert!(required.iter().any(|r| r == "userId"), "{signed_in}");
        assert!(!required.iter().any(|r| r == "crossDevice"), "{signed_in}");
    }
}
