//! The OpenAPI 3.1 document of the scope's routes, served at `<scope>/openapi.json`.
//!
//! The paths are the handlers' own `#[utoipa::path]` attributes (`web::routes`), their schemas
//! derived (utoipa) from the very types the handlers read and write, so they cannot drift from
//! the wire. The `credential` a finish reads is typed as the WebAuthn JSON shape
//! (`RegistrationResponseJSON`, `AuthenticationResponseJSON`) with the members this crate
//! requires; the options answered (`publicKey`) are free-form objects. Only the documents that
//! no handler function serves (this one, the well-known documents) are described by stand-ins
//! here. The error code enum is [`ErrorCode::ALL`](crate::ErrorCode::ALL), which a unit test ties to
//! [`PasskeyError::code`]. Paths are relative to the scope, whose path is the document's server.

use utoipa::{
    openapi::{
        schema::{ObjectBuilder, Type},
        OpenApi as Document, Server,
    },
    OpenApi, PartialSchema, ToSchema,
};

use crate::web::routes;

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

/// A base64url string (RFC 4648 §5), padding optional.
const B64URL: &str = "^[A-Za-z0-9_-]*={0,2}$";

/// A base64url string.
struct Base64Url;

impl PartialSchema for Base64Url {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("base64url (RFC 4648 §5), padding optional"))
            .pattern(Some(B64URL))
            .into()
    }
}

impl ToSchema for Base64Url {}

/// `"public-key"`, the only credential type.
struct PublicKeyType;

impl PartialSchema for PublicKeyType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["public-key"]))
            .into()
    }
}

impl ToSchema for PublicKeyType {}

/// `AuthenticatorAttestationResponseJSON` (WebAuthn L3 §5.2.1), the members read.
#[derive(ToSchema)]
#[schema(as = AuthenticatorAttestationResponseJSON)]
#[allow(dead_code)]
pub(crate) struct AttestationResponseJson {
    #[schema(rename = "clientDataJSON", value_type = Base64Url)]
    client_data_json: String,
    #[schema(rename = "attestationObject", value_type = Base64Url)]
    attestation_object: String,
    /// `getTransports()`.
    transports: Option<Vec<String>>,
}

/// `RegistrationResponseJSON` (WebAuthn L3 §5.1.11), from `navigator.credentials.create()`.
#[derive(ToSchema)]
#[schema(as = RegistrationResponseJSON)]
#[allow(dead_code)]
pub(crate) struct RegistrationResponseJson {
    /// The credential id, base64url.
    id: String,
    #[schema(rename = "rawId", value_type = Base64Url)]
    raw_id: String,
    response: AttestationResponseJson,
    #[schema(rename = "type", value_type = PublicKeyType)]
    type_: String,
    /// `credProps` and `prf.enabled` are read; PRF results are skipped unread.
    #[schema(rename = "clientExtensionResults", value_type = Object, required = false)]
    client_extension_results: (),
    /// `platform` or `cross-platform`; other values are ignored.
    #[schema(rename = "authenticatorAttachment")]
    authenticator_attachment: Option<String>,
}

/// `AuthenticatorAssertionResponseJSON` (WebAuthn L3 §5.2.2).
#[derive(ToSchema)]
#[schema(as = AuthenticatorAssertionResponseJSON)]
#[allow(dead_code)]
pub(crate) struct AssertionResponseJson {
    #[schema(rename = "clientDataJSON", value_type = Base64Url)]
    client_data_json: String,
    #[schema(rename = "authenticatorData", value_type = Base64Url)]
    authenticator_data: String,
    #[schema(value_type = Base64Url)]
    signature: String,
    #[schema(rename = "userHandle", value_type = Option<Base64Url>)]
    user_handle: Option<String>,
}

/// `AuthenticationResponseJSON` (WebAuthn L3 §5.1.12), from `navigator.credentials.get()`.
#[derive(ToSchema)]
#[schema(as = AuthenticationResponseJSON)]
#[allow(dead_code)]
pub(crate) struct AuthenticationResponseJson {
    /// The credential id, base64url.
    id: String,
    #[schema(rename = "rawId", value_type = Base64Url)]
    raw_id: String,
    response: AssertionResponseJson,
    #[schema(rename = "type", value_type = PublicKeyType)]
    type_: String,
    /// PRF results, if any, are skipped unread.
    #[schema(rename = "clientExtensionResults", value_type = Object, required = false)]
    client_extension_results: (),
    /// `platform` or `cross-platform`; other values are ignored.
    #[schema(rename = "authenticatorAttachment")]
    authenticator_attachment: Option<String>,
}

macro_rules! route {
    ($name:ident, $method:ident, $path:literal, $($attr:tt)*) => {
        #[utoipa::path($method, path = $path, $($attr)*)]
        #[allow(dead_code)]
        fn $name() {}
    };
}

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

#[derive(OpenApi)]
#[openapi(
    info(
        title = "actix-passkeys",
        description = "Passkey (WebAuthn) registration, sign-in and credential management. Every error is {\"error\":{\"code\",\"message\"}}; see the ErrorCode schema for every code."
    ),
    paths(
        routes::register_begin,
        routes::register_finish,
        routes::authenticate_begin,
        routes::authenticate_finish,
        routes::list_credentials,
        routes::rename_credential,
        routes::delete_credential,
        routes::passkeys_js,
        openapi_json,
        well_known_webauthn,
        well_known_passkey_endpoints,
        well_known_asset_links,
        well_known_apple_app_site_association
    ),
    components(schemas(ErrorEnvelope, ErrorBody, ErrorCode, Base64Url, PublicKeyType))
)]
struct ApiDoc;

#[cfg(feature = "session")]
#[derive(OpenApi)]
#[openapi(paths(routes::logout))]
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
