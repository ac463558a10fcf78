//! The well-known documents at the site root, all built from the handle's config when it is
//! mounted (see `crate::config::documents`): `GET` and `HEAD`, `application/json`, cacheable
//! for five minutes; any other method is 405 in the error envelope with `Allow: GET, HEAD`.

use actix_web::{
    dev::{AppService, HttpServiceFactory},
    guard,
    http::header,
    web, HttpResponse,
};

use crate::{config::PasskeyConfig, web::routes::method_not_allowed};

/// Where [`Passkeys::well_known`](crate::Passkeys::well_known) serves the Related Origin
/// Requests document.
pub const WELL_KNOWN_PATH: &str = "/.well-known/webauthn";
/// Where the Passkey Endpoints document is served.
pub const PASSKEY_ENDPOINTS_PATH: &str = "/.well-known/passkey-endpoints";
/// Where the Digital Asset Links statements are served (with an Android [`NativeApp`](crate::policy::NativeApp)).
pub const ASSET_LINKS_PATH: &str = "/.well-known/assetlinks.json";
/// Where the Apple App Site Association document is served (with an Apple [`NativeApp`](crate::policy::NativeApp)).
pub const APPLE_APP_SITE_ASSOCIATION_PATH: &str = "/.well-known/apple-app-site-association";

/// The documents a config has, with their paths: the first two always, the app association
/// ones when an app of their platform is configured.
fn documents(config: &PasskeyConfig) -> Vec<(&'static str, String)> {
    [
        (WELL_KNOWN_PATH, Some(config.well_known_document())),
        (
            PASSKEY_ENDPOINTS_PATH,
            Some(config.passkey_endpoints_document()),
        ),
        (ASSET_LINKS_PATH, config.asset_links_document()),
        (
            APPLE_APP_SITE_ASSOCIATION_PATH,
            config.apple_app_site_association(),
        ),
    ]
    .into_iter()
    .filter_map(|(path, doc)| doc.map(|doc| (path, doc.to_string())))
    .collect()
}

/// One document's resource.
fn resource(path: &'static str, body: String) -> actix_web::Resource {
    let serve = move || {
        let body = body.clone();
        async move {
            HttpResponse::Ok()
                .content_type(mime::APPLICATION_JSON)
                .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
                .body(body)
        }
    };
    web::resource(path)
        .route(
            web::route()
                .guard(guard::Any(guard::Get()).or(guard::Head()))
                .to(serve),
        )
        .default_service(web::to(|| async { method_not_allowed("GET, HEAD") }))
}

/// Every document of a config, mounted as one service.
pub(crate) struct WellKnown(Vec<actix_web::Resource>);

impl WellKnown {
    pub(crate) fn new(config: &PasskeyConfig) -> Self {
        Self(
            documents(config)
                .into_iter()
                .map(|(path, body)| resource(path, body))
                .collect(),
        )
    }
}

impl HttpServiceFactory for WellKnown {
    fn register(self, config: &mut AppService) {
        for resource in self.0 {
            resource.register(config);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::NativeApp;

    #[test]
    fn association_documents_are_served_only_for_configured_apps() {
        let base = PasskeyConfig::builder("example.com", "Example").origin("https://example.com");
        let paths = |config: &PasskeyConfig| -> Vec<&str> {
            documents(config).into_iter().map(|(p, _)| p).collect()
        };
        let plain = base.clone().build().expect("valid");
        assert_eq!(paths(&plain), [WELL_KNOWN_PATH, PASSKEY_ENDPOINTS_PATH]);
        let apple = base
            .clone()
            .native_app(NativeApp::apple("ABCDE12345", "com.example.app"))
            .build()
            .expect("valid");
        assert_eq!(
            paths(&apple),
            [
                WELL_KNOWN_PATH,
                PASSKEY_ENDPOINTS_PATH,
                APPLE_APP_SITE_ASSOCIATION_PATH
            ]
        );
        let android = base
            .native_app(NativeApp::android("com.example.app", "AB".repeat(32)))
            .build()
            .expect("valid");
        assert_eq!(
            paths(&android),
            [WELL_KNOWN_PATH, PASSKEY_ENDPOINTS_PATH, ASSET_LINKS_PATH]
        );
    }
}
