//! The well-known documents a relying party serves, each built from the one config so that they
//! never drift from the origins the ceremonies accept: Related Origin Requests
//! (`/.well-known/webauthn`), Passkey Endpoints (`/.well-known/passkey-endpoints`), Digital
//! Asset Links (`/.well-known/assetlinks.json`) and Apple's `webcredentials`
//! (`/.well-known/apple-app-site-association`).

use serde_json::{json, Map, Value};
use url::Url;

use super::{ConfigError, NativeApp, Origin, PasskeyConfig};

/// The Passkey Endpoints URLs (W3C "A Well-Known URL for Relying Party Passkey Endpoints").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PasskeyEndpoints {
    pub(crate) enroll: Option<Url>,
    pub(crate) manage: Option<Url>,
    pub(crate) prf_usage_details: Option<Url>,
}

/// The relations Credential Manager needs to share passkeys with an Android app, plus the
/// app-links relation most apps already publish.
const ASSET_LINKS_RELATIONS: [&str; 2] = [
    "delegate_permission/common.handle_all_urls",
    "delegate_permission/common.get_login_creds",
];

/// Parses a Passkey Endpoints URL: absolute, on one of the configured web `origins` (so
/// https, or http only where an origin is http on localhost), no userinfo. A path, query and
/// fragment are allowed: it names a page. The error does not repeat the value (it may hold a
/// password).
pub(super) fn parse_endpoint_url(
    field: &'static str,
    raw: &str,
    origins: &[Origin],
) -> Result<Url, ConfigError> {
    let bad = |why: &str| ConfigError::new(field, why.to_owned());
    let url = Url::parse(raw.trim()).map_err(|_| bad("not an absolute URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not contain userinfo"));
    }
    let own = url.origin().ascii_serialization();
    let on_a_web_origin = origins
        .iter()
        .any(|o| matches!(o, Origin::Web(_)) && o.as_str() == own);
    if on_a_web_origin {
        Ok(url)
    } else {
        Err(bad(
            "must be a page on one of the configured web origins (https, or http on localhost)",
        ))
    }
}

impl PasskeyConfig {
    /// The web origins of [`origins`](Self::origins) as serialised origins, in order, without
    /// duplicates: the `origins` member of the `/.well-known/webauthn` document (native
    /// `android:apk-key-hash:` origins are left out; they have no place in it).
    ///
    /// ```
    /// let config = actix_passkeys::PasskeyConfig::builder("example.com", "Example")
    ///     .origin("https://example.com")
    ///     .origin("android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
    ///     .related_origin("https://example.co.uk")
    ///     .build()?;
    /// assert_eq!(config.web_origins(), ["https://example.com", "https://example.co.uk"]);
    /// # Ok::<(), actix_passkeys::ConfigError>(())
    /// ```
    pub fn web_origins(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for origin in &self.origins {
            if let Origin::Web(_) = origin {
                let s = origin.as_str();
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    /// The Related Origin Requests document served at `/.well-known/webauthn`:
    /// `{"origins": [...]}` with [`web_origins`](Self::web_origins).
    ///
    /// ```
    /// let config = actix_passkeys::PasskeyConfig::builder("example.com", "Example")
    ///     .origin("https://example.com")
    ///     .related_origin("https://example.de")
    ///     .build()?;
    /// assert_eq!(
    ///     config.well_known_document().to_string(),
    ///     r#"{"origins":["https://example.com","https://example.de"]}"#
    /// );
    /// # Ok::<(), actix_passkeys::ConfigError>(())
    /// ```
    pub fn well_known_document(&self) -> Value {
        json!({ "origins": self.web_origins() })
    }

    /// The Passkey Endpoints document served at `/.well-known/passkey-endpoints`: the
    /// configured [`enroll_url`](super::PasskeyConfigBuilder::enroll_url),
    /// [`manage_url`](super::PasskeyConfigBuilder::manage_url) and
    /// [`prf_usage_details_url`](super::PasskeyConfigBuilder::prf_usage_details_url), each
    /// member present only when set (`{}` with none: the site still says it supports passkeys).
    ///
    /// ```
    /// let config = actix_passkeys::PasskeyConfig::builder("example.com", "Example")
    ///     .origin("https://example.com")
    ///     .enroll_url("https://example.com/account/passkeys/new")
    ///     .manage_url("https://example.com/account/passkeys")
    ///     .build()?;
    /// assert_eq!(
    ///     config.passkey_endpoints_document().to_string(),
    ///     r#"{"enroll":"https://example.com/account/passkeys/new","manage":"https://example.com/account/passkeys"}"#
    /// );
    /// # Ok::<(), actix_passkeys::ConfigError>(())
    /// ```
    pub fn passkey_endpoints_document(&self) -> Value {
        let mut doc = Map::new();
        let endpoints = &self.passkey_endpoints;
        for (name, url) in [
            ("enroll", &endpoints.enroll),
            ("manage", &endpoints.manage),
            ("prfUsageDetails", &endpoints.prf_usage_details),
        ] {
            if let Some(url) = url {
                doc.insert(name.to_owned(), Value::String(url.to_string()));
            }
        }
        Value::Object(doc)
    }

    /// The native apps given with [`native_app`](super::PasskeyConfigBuilder::native_app),
    /// validated (Android fingerprints normalised to upper-case hex with colons).
    pub fn native_apps(&self) -> &[NativeApp] {
        &self.native_apps
    }

    /// The Digital Asset Links statements served at `/.well-known/assetlinks.json`: one per
    /// Android package (its fingerprints together, in the order given), with the
    /// `get_login_creds` relation Credential Manager checks before it shares the site's
    /// passkeys with the app, and `handle_all_urls` (app links). `None` without an Android app.
    ///
    /// ```
    /// use actix_passkeys::{policy::NativeApp, PasskeyConfig};
    /// let config = PasskeyConfig::builder("example.com", "Example")
    ///     .origin("https://example.com")
    ///     .native_app(NativeApp::android("com.example.app", "AB".repeat(32)))
    ///     .build()?;
    /// let links = config.asset_links_document().expect("an Android app");
    /// assert_eq!(links[0]["target"]["package_name"], "com.example.app");
    /// assert_eq!(links[0]["relation"][1], "delegate_permission/common.get_login_creds");
    /// # Ok::<(), actix_passkeys::ConfigError>(())
    /// ```
    pub fn asset_links_document(&self) -> Option<Value> {
        let mut packages: Vec<(&str, Vec<&str>)> = Vec::new();
        for app in &self.native_apps {
            if let NativeApp::Android {
                package_name,
                sha256_cert_fingerprint,
            } = app
            {
                match packages.iter_mut().find(|(p, _)| p == package_name) {
                    Some((_, prints)) => {
                        if !prints.contains(&sha256_cert_fingerprint.as_str()) {
                            prints.push(sha256_cert_fingerprint);
                        }
                    }
                    None => packages.push((package_name, vec![sha256_cert_fingerprint])),
                }
            }
        }
        if packages.is_empty() {
            return None;
        }
        let statements = packages
            .into_iter()
            .map(|(package, prints)| {
                json!({
                    "relation": ASSET_LINKS_RELATIONS,
                    "target": {
                        "namespace": "android_app",
                        "package_name": package,
                        "sha256_cert_fingerprints": prints,
                    }
                })
            })
            .collect();
        Some(Value::Array(statements))
    }

    /// The Apple App Site Association document served at
    /// `/.well-known/apple-app-site-association`: `{"webcredentials": {"apps": [...]}}` with
    /// each Apple app as `<Team ID>.<bundle id>`. `None` without an Apple app. An app that
    /// publishes other sections (`applinks`, `appclips`) serves its own document instead, with
    /// this `webcredentials` member merged in.
    pub fn apple_app_site_association(&self) -> Option<Value> {
        let mut apps: Vec<String> = Vec::new();
        for app in &self.native_apps {
            if let NativeApp::Apple { team_id, bundle_id } = app {
                let id = format!("{team_id}.{bundle_id}");
                if !apps.contains(&id) {
                    apps.push(id);
                }
            }
        }
        (!apps.is_empty()).then(|| json!({ "webcredentials": { "apps": apps } }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRINT_A: &str = "FA:C6:17:45:DC:09:03:78:6F:B9:ED:E6:2A:96:2B:39:9F:73:48:F0:BB:6F:89:9B:83:32:66:75:91:03:3B:9C";
    const PRINT_B: &str = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5";

    fn base() -> super::super::PasskeyConfigBuilder {
        PasskeyConfig::builder("example.com", "Example").origin("https://example.com")
    }

    #[test]
    fn one_native_app_config_gives_the_origin_asset_links_and_webcredentials() {
        let config = base()
            .native_app(NativeApp::android(
                "com.example.app",
                PRINT_A.to_lowercase(),
            ))
            .native_app(NativeApp::android(
                "com.example.app",
                PRINT_B.replace(':', ""),
            ))
            .native_app(NativeApp::android("com.example.app", PRINT_A))
            .native_app(NativeApp::android("com.example.other", PRINT_B))
            .native_app(NativeApp::apple("ABCDE12345", "com.example.app"))
            .native_app(NativeApp::apple("ABCDE12345", "com.example.app"))
            .native_app(NativeApp::apple("ZYXWV98765", "com.example.ipad"))
            .build()
            .expect("valid");
        let origins: Vec<String> = config.origins().iter().map(Origin::as_str).collect();
        assert_eq!(
            origins,
            [
                "https://example.com",
                "android:apk-key-hash:-sYXRdwJA3hvue3mKpYrOZ9zSPC7b4mbgzJmdZEDO5w",
                "android:apk-key-hash:FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU",
            ]
        );
        assert_eq!(
            config.asset_links_document().expect("android"),
            json!([
                {
                    "relation": [
                        "delegate_permission/common.handle_all_urls",
                        "delegate_permission/common.get_login_creds"
                    ],
                    "target": {
                        "namespace": "android_app",
                        "package_name": "com.example.app",
                        "sha256_cert_fingerprints": [PRINT_A, PRINT_B]
                    }
                },
                {
                    "relation": [
                        "delegate_permission/common.handle_all_urls",
                        "delegate_permission/common.get_login_creds"
                    ],
                    "target": {
                        "namespace": "android_app",
                        "package_name": "com.example.other",
                        "sha256_cert_fingerprints": [PRINT_B]
                    }
                }
            ])
        );
        assert_eq!(
            config.apple_app_site_association().expect("apple"),
            json!({"webcredentials": {"apps": [
                "ABCDE12345.com.example.app",
                "ZYXWV98765.com.example.ipad"
            ]}})
        );
        // The Android origins are native: never listed for Related Origin Requests.
        assert_eq!(
            config.well_known_document(),
            json!({"origins": ["https://example.com"]})
        );
    }

    #[test]
    fn without_native_apps_there_is_no_association_document() {
        let config = base().build().expect("valid");
        assert_eq!(config.asset_links_document(), None);
        assert_eq!(config.apple_app_site_association(), None);
        assert!(config.native_apps().is_empty());
        let only_apple = base()
            .native_app(NativeApp::apple("ABCDE12345", "com.example.app"))
            .build()
            .expect("valid");
        assert_eq!(only_apple.asset_links_document(), None);
        assert_eq!(only_apple.origins().len(), 1);
    }

    #[test]
    fn passkey_endpoints_carry_only_what_is_set() {
        assert_eq!(
            base().build().expect("valid").passkey_endpoints_document(),
            json!({})
        );
        let config = base()
            .manage_url("https://example.com/settings#passkeys")
            .prf_usage_details_url("https://example.com/help/encryption")
            .build()
            .expect("valid");
        assert_eq!(
            config.passkey_endpoints_document(),
            json!({
                "manage": "https://example.com/settings#passkeys",
                "prfUsageDetails": "https://example.com/help/encryption"
            })
        );
        let local = PasskeyConfig::builder("localhost", "Dev")
            .origin("http://localhost:8080")
            .enroll_url("http://localhost:8080/#add")
            .build()
            .expect("valid");
        assert_eq!(
            local.passkey_endpoints_document(),
            json!({"enroll": "http://localhost:8080/#add"})
        );
    }

    #[test]
    fn passkey_endpoint_urls_are_validated_with_their_field() {
        for (builder, field) in [
            (base().enroll_url("/account/passkeys"), "enroll_url"),
            (base().enroll_url("http://example.com/a"), "enroll_url"),
            (base().enroll_url("http://localhost:8080/a"), "enroll_url"),
            (base().enroll_url("https://evil.example/a"), "enroll_url"),
            (
                base().enroll_url("https://example.com:8443/a"),
                "enroll_url",
            ),
            (
                base().manage_url("https://user@example.com/a"),
                "manage_url",
            ),
            (base().manage_url("https://10.0.0.1/a"), "manage_url"),
            (base().manage_url("javascript:alert(1)"), "manage_url"),
            (
                base().prf_usage_details_url("ftp://example.com/prf"),
                "prf_usage_details_url",
            ),
        ] {
            let err = builder.build().expect_err(field);
            assert_eq!(err.field(), field, "{err}");
        }
        let err = base()
            .manage_url("https://user:hunter2@example.com/a")
            .build()
            .expect_err("userinfo");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    /// An Apple app signs in with the origin of its associated domain, `https://<rp id>`,
    /// which the config then accepts even when the site itself is served elsewhere.
    #[test]
    fn an_apple_app_brings_the_rp_id_origin() {
        let config = PasskeyConfig::builder("example.com", "Example")
            .origin("https://www.example.com")
            .native_app(NativeApp::apple("ABCDE12345", "com.example.app"))
            .build()
            .expect("valid");
        let origins: Vec<String> = config.origins().iter().map(Origin::as_str).collect();
        assert_eq!(origins, ["https://www.example.com", "https://example.com"]);
        let once = base()
            .native_app(NativeApp::apple("ABCDE12345", "com.example.app"))
            .build()
            .expect("valid");
        assert_eq!(once.origins().len(), 1);
    }
}
