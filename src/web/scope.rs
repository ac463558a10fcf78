//! [`Passkeys`]' builder, and the scope that serves the wire contract.

use std::{collections::HashMap, sync::Arc};

use actix_web::{
    dev::{AppService, HttpServiceFactory},
    middleware::from_fn,
    web, FromRequest, Handler, Responder,
};
use rand::Rng as _;
use uuid::Uuid;

use crate::{
    aaguid::AuthenticatorNames,
    audit::{AuditSink, LogAuditSink},
    ceremony::Engine,
    clock::{Clock, SystemClock},
    config::PasskeyConfig,
    error::BuildError,
    metrics::store::Metered,
    rate_limit::RateLimit,
    store::{ChallengeStore, CredentialStore},
    web::{
        resolver::{AuthenticatedHook, DynHook, DynResolver, UserResolver},
        routes::*,
        service::{Erased, Inner, Passkeys, Stores},
        well_known::WellKnown,
    },
};

/// Where the scope is mounted unless [`PasskeysBuilder::path`] says otherwise.
pub const DEFAULT_PATH: &str = "/auth/passkeys";

/// Builder for [`Passkeys`]; every setter documents its default.
#[must_use]
pub struct PasskeysBuilder {
    config: PasskeyConfig,
    stores: Box<dyn Stores>,
    /// Whether a store is shared between instances (for the missing-secret warning).
    shared: bool,
    path: String,
    resolver: Option<Box<dyn DynResolver>>,
    hook: Option<Box<dyn DynHook>>,
    audit: Arc<dyn crate::audit::DynAuditSink>,
    clock: Arc<dyn Clock>,
    secret: Option<Vec<u8>>,
    rate_limit: Option<RateLimit>,
    names: AuthenticatorNames,
    metrics: crate::metrics::Options,
}

impl std::fmt::Debug for PasskeysBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeysBuilder")
            .field("path", &self.path)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PasskeysBuilder {
    /// Mount path of the scope. Default: [`DEFAULT_PATH`] (`/auth/passkeys`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Who registration and management requests are for. Default: with feature `session`, the
    /// [`SessionUserResolver`](crate::hooks::SessionUserResolver); without it, none, and
    /// [`build`](Self::build) refuses with [`BuildError::NoUserResolver`].
    pub fn user_resolver(mut self, resolver: impl UserResolver) -> Self {
        self.resolver = Some(Box::new(resolver));
        self
    }

    /// Replaces the default `authenticate/finish` response. Default: `{"status":"ok","userId"}`.
    pub fn on_authenticated(mut self, hook: impl AuthenticatedHook) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Where audit events go. Default: [`LogAuditSink`].
    pub fn audit(mut self, sink: impl AuditSink) -> Self {
        self.audit = Arc::new(sink);
        self
    }

    /// The time source. Default: [`SystemClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The server secret (at least 16 bytes; 32 random bytes recommended). Keys with their own
    /// HMAC-SHA256 label are derived from it for (1) the fake credential ids, and (2) their
    /// transports, answered for unknown users, and (3) the WebAuthn user handle of a user who
    /// has no passkey yet (HMAC of the rp id and the user id, never the raw user id). Set the
    /// same secret on every instance, and keep it across restarts, so unknown users get the
    /// same answers everywhere and two concurrent first registrations of one user get one
    /// handle. Keep it secret: whoever knows it can tell fake ids from real ones.
    ///
    /// Too short a secret is refused by [`build`](Self::build) with
    /// [`BuildError::ServerSecretTooShort`].
    ///
    /// Default: a random secret per process. `build()` then logs one warning when a store is
    /// shared between instances ([`CredentialStore::is_shared`] or
    /// [`ChallengeStore::is_shared`]: PostgreSQL, Redis).
    ///
    /// ```
    /// # use actix_passkeys::{store::memory::*, PasskeyConfig, Passkeys};
    /// # let config = PasskeyConfig::builder("localhost", "Demo").origin("http://localhost:8080").build()?;
    /// let secret = [7u8; 32]; // in production: from a secret store or an env var
    /// let passkeys = Passkeys::builder(config, MemoryCredentialStore::new(), MemoryChallengeStore::new())
    ///     .server_secret(secret)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// The former name of [`server_secret`](Self::server_secret), which it now is: the fake
    /// credential ids are derived from it, and so are the transports of fake entries and new
    /// users' handles.
    #[deprecated(since = "0.2.0", note = "renamed to `server_secret`")]
    pub fn fake_credential_key(self, key: impl Into<Vec<u8>>) -> Self {
        self.server_secret(key)
    }

    /// Rate-limits the ceremony routes and extractors. Default: off (see [`RateLimit`] for why).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// The app's own AAGUID → name map for `CredentialView.authenticator` (and the default
    /// device name of a new passkey). Its entries take precedence over the bundled community
    /// list, which still names the rest; all-zero AAGUIDs are ignored. Default: the bundled list
    /// only. Use [`authenticator_names_only`](Self::authenticator_names_only) to drop the bundled list.
    ///
    /// ```
    /// # use actix_passkeys::{store::memory::*, PasskeyConfig, Passkeys};
    /// # let config = PasskeyConfig::builder("localhost", "Demo").origin("http://localhost:8080").build()?;
    /// use std::collections::HashMap;
    /// let names = HashMap::from([(
    ///     uuid::uuid!("cb69481e-8ff7-4039-93ec-0a2729a154a8"),
    ///     "YubiKey 5 Series".to_owned(),
    /// )]);
    /// let passkeys = Passkeys::builder(config, MemoryCredentialStore::new(), MemoryChallengeStore::new())
    ///     .authenticator_names(names)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authenticator_names(mut self, names: HashMap<Uuid, String>) -> Self {
        self.names = self.names.with(names);
        self
    }

    /// Like [`authenticator_names`](Self::authenticator_names), without the bundled list: only
    /// these AAGUIDs get a name. Default: the bundled list.
    pub fn authenticator_names_only(mut self, names: HashMap<Uuid, String>) -> Self {
        self.names = AuthenticatorNames::none().with(names);
        self
    }

    /// Adds an `aaguid` label to the `passkeys_steps_total` metric (feature `metrics`; without
    /// it this setting has no effect). Default: off.
    ///
    /// The value is the credential's AAGUID when the service can name it (your
    /// [`authenticator_names`](Self::authenticator_names), then the bundled list of about 60
    /// models), `other` for an AAGUID it cannot name, `none` for a credential without one and
    /// `unknown` when the step had no credential. An unnamed AAGUID is never a label value:
    /// with `none` attestation a client chooses its AAGUID freely, so raw AAGUIDs would let
    /// any client create new series without bound. Each named AAGUID seen still multiplies the
    /// counter's series (about 60 models × the other labels), so turn it on only when you
    /// need sign-ins per authenticator model.
    ///
    /// ```
    /// # use actix_passkeys::{store::memory::*, PasskeyConfig, Passkeys};
    /// # let config = PasskeyConfig::builder("localhost", "Demo").origin("http://localhost:8080").build()?;
    /// let passkeys = Passkeys::builder(config, MemoryCredentialStore::new(), MemoryChallengeStore::new())
    ///     .metrics_aaguid_labels(true)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics_aaguid_labels(mut self, enabled: bool) -> Self {
        self.metrics.aaguid_labels = enabled;
        self
    }

    /// Builds the service, refusing a misconfiguration with its [`BuildError`]: a
    /// [`server_secret`](Self::server_secret) shorter than 16 bytes, or (without the `session`
    /// feature, which brings the default resolver) no [`user_resolver`](Self::user_resolver).
    pub fn build(mut self) -> Result<Passkeys, BuildError> {
        if let Some(secret) = &self.secret {
            if secret.len() < 16 {
                return Err(BuildError::ServerSecretTooShort { len: secret.len() });
            }
        }
        let resolver = match self.resolver.take() {
            Some(resolver) => resolver,
            None => default_resolver().ok_or(BuildError::NoUserResolver)?,
        };
        Ok(self.finish(resolver))
    }

    /// The service from checked settings.
    fn finish(self, resolver: Box<dyn DynResolver>) -> Passkeys {
        let secret = self.secret.unwrap_or_else(|| {
            if self.shared {
                log::warn!(
                    "passkeys: no server secret is set but a store is shared: fake credential \
                     ids and new users' handles differ between instances and restarts; set \
                     PasskeysBuilder::server_secret"
                );
            }
            random_secret()
        });
        let mut engine = Engine::new(self.config, &secret, self.clock, self.audit);
        engine.names = self.names;
        engine.metrics = self.metrics;
        crate::metrics::describe();
        Passkeys(Arc::new(Inner {
            engine,
            stores: self.stores,
            resolver,
            hook: self.hook,
            rate_limit: self.rate_limit,
            path: self.path,
        }))
    }
}

fn random_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// The resolver used when the app sets none: the session bridge's, if compiled in.
fn default_resolver() -> Option<Box<dyn DynResolver>> {
    #[cfg(feature = "session")]
    {
        Some(Box::new(crate::web::session::SessionUserResolver))
    }
    #[cfg(not(feature = "session"))]
    {
        None
    }
}

impl Passkeys {
    /// A service with default settings (see [`PasskeysBuilder`]). It cannot fail: every
    /// setting that could be wrong is the builder's, whose
    /// [`build`](PasskeysBuilder::build) says why with a [`BuildError`]. Here the server secret
    /// is random per process (so no length to check: set a shared one with
    /// [`PasskeysBuilder::server_secret`] for several instances), the key derived from it
    /// always fits webauthn-rs's fake-id generator, the user resolver is the session bridge's
    /// [`SessionUserResolver`](crate::hooks::SessionUserResolver) (hence feature `session`; without
    /// it use the builder and its [`user_resolver`](PasskeysBuilder::user_resolver)), and
    /// the [`PasskeyConfig`] was already validated by its own builder.
    #[cfg(feature = "session")]
    #[cfg_attr(docsrs, doc(cfg(feature = "session")))]
    pub fn new<C: CredentialStore, S: ChallengeStore>(
        config: PasskeyConfig,
        credentials: C,
        challenges: S,
    ) -> Self {
        Self::builder(config, credentials, challenges)
            .finish(Box::new(crate::web::session::SessionUserResolver))
    }

    /// Starts a builder. The stores are erased here, once: the builder and the service have
    /// no type parameters.
    pub fn builder<C: CredentialStore, S: ChallengeStore>(
        config: PasskeyConfig,
        credentials: C,
        challenges: S,
    ) -> PasskeysBuilder {
        PasskeysBuilder {
            config,
            shared: credentials.is_shared() || challenges.is_shared(),
            stores: Box::new(Erased {
                credentials: Metered(credentials),
                challenges: Metered(challenges),
            }),
            path: DEFAULT_PATH.to_owned(),
            resolver: None,
            hook: None,
            audit: Arc::new(LogAuditSink),
            clock: Arc::new(SystemClock),
            secret: None,
            rate_limit: None,
            names: AuthenticatorNames::default(),
            metrics: crate::metrics::Options::default(),
        }
    }

    /// **The way to mount the service**: the scope, [`well_known`](Self::well_known), and the
    /// handle as app data for the whole app, so every route's extractors
    /// ([`Authenticated`](crate::Authenticated), [`Fresh`](crate::Fresh),
    /// [`VerifiedRegistration`](crate::VerifiedRegistration), [`VerifiedAssertion`](crate::VerifiedAssertion), `Passkeys`
    /// itself) find it. `App::service(passkeys)` alone serves the scope, but an extractor on a
    /// route outside it then answers 500 `configuration_error`.
    ///
    /// ```
    /// # use actix_passkeys::{store::memory::*, PasskeyConfig, Passkeys};
    /// # let config = PasskeyConfig::builder("localhost", "Demo").origin("http://localhost:8080").build()?;
    /// let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), MemoryChallengeStore::new());
    /// let app = actix_web::App::new().configure(passkeys.configure());
    /// # let _ = app;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn configure(&self) -> impl FnOnce(&mut web::ServiceConfig) + 'static {
        let this = self.clone();
        move |cfg| {
            cfg.app_data(this.clone())
                .service(this.well_known())
                .service(this);
        }
    }

    /// The well-known documents, at the site root, each built from this handle's config
    /// (`GET` and `HEAD`, `application/json`; other methods 405 with `Allow: GET, HEAD`):
    ///
    /// - `/.well-known/webauthn`: the [Related Origin Requests] document `{"origins": [...]}`
    ///   ([`PasskeyConfig::well_known_document`]), from the same origin list the ceremonies
    ///   check (native `android:apk-key-hash:` origins left out);
    /// - `/.well-known/passkey-endpoints`: the [Passkey Endpoints] document
    ///   ([`PasskeyConfig::passkey_endpoints_document`]);
    /// - `/.well-known/assetlinks.json`, with an Android [`NativeApp`](crate::policy::NativeApp)
    ///   ([`PasskeyConfig::asset_links_document`]);
    /// - `/.well-known/apple-app-site-association`, with an Apple app
    ///   ([`PasskeyConfig::apple_app_site_association`]).
    ///
    /// Browsers and platforms fetch them from `https://<rp id>/.well-known/…`, so they belong
    /// at the site root, outside the scope: mount them with `App::service` next to the scope.
    /// [`configure`](Self::configure) mounts both.
    ///
    /// [Related Origin Requests]: https://w3c.github.io/webauthn/#sctn-related-origins
    /// [Passkey Endpoints]: https://www.w3.org/TR/passkey-endpoints/
    ///
    /// ```
    /// # use actix_passkeys::{store::memory::*, PasskeyConfig, Passkeys};
    /// let config = PasskeyConfig::builder("example.com", "Example")
    ///     .origin("https://example.com")
    ///     .related_origin("https://example.co.uk")
    ///     .manage_url("https://example.com/account/passkeys")
    ///     .build()?;
    /// let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), MemoryChallengeStore::new());
    /// let app = actix_web::App::new()
    ///     .service(passkeys.well_known()) // GET /.well-known/webauthn, /.well-known/passkey-endpoints
    ///     .service(passkeys.clone());     // the scope, /auth/passkeys/…
    /// # let _ = app;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn well_known(&self) -> impl HttpServiceFactory + 'static {
        WellKnown::new(self.config())
    }

    /// The OpenAPI 3.1 document of the scope's routes (JSON), as served at
    /// `<scope>/openapi.json`: request and response schemas derived from the Rust types, every
    /// error code, and the scope path as the server URL.
    ///
    /// ```
    /// # use actix_passkeys::{store::memory::*, PasskeyConfig, Passkeys};
    /// # let config = PasskeyConfig::builder("localhost", "Demo").origin("http://localhost:8080").build()?;
    /// let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), MemoryChallengeStore::new());
    /// let doc: serde_json::Value = serde_json::from_str(&passkeys.openapi_json())?;
    /// assert_eq!(doc["openapi"], "3.1.0");
    /// assert!(doc["paths"]["/register/begin"]["post"].is_object());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "openapi")]
    #[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
    pub fn openapi_json(&self) -> String {
        crate::web::openapi::document(self.path())
            .to_json()
            .unwrap_or_else(|_| "{}".to_owned())
    }

    /// The scope with every route, mounted at the builder's path.
    pub fn scope(&self) -> actix_web::Scope {
        let resource = |path: &str, allow: &'static str| {
            web::resource(path)
                .default_service(web::to(move || async move { method_not_allowed(allow) }))
        };
        let scope = web::scope(self.path())
            .app_data(self.clone())
            .service(ceremony("/register/begin", register_begin))
            .service(ceremony("/register/finish", register_finish))
            .service(ceremony("/authenticate/begin", authenticate_begin))
            .service(ceremony("/authenticate/finish", authenticate_finish))
            .service(resource("/credentials", "GET").route(web::get().to(list_credentials)))
            .service(
                resource("/credentials/{id}", "PATCH, DELETE")
                    .route(web::patch().to(rename_credential))
                    .route(web::delete().to(delete_credential)),
            )
            .service(resource("/passkeys.js", "GET").route(web::get().to(passkeys_js)));
        #[cfg(feature = "session")]
        let scope = scope.service(resource("/logout", "POST").route(web::post().to(logout)));
        #[cfg(feature = "openapi")]
        let scope = {
            let doc = self.openapi_json();
            scope.service(
                resource("/openapi.json", "GET").route(web::get().to(move || {
                    let doc = doc.clone();
                    async move {
                        actix_web::HttpResponse::Ok()
                            .content_type(mime::APPLICATION_JSON)
                            .body(doc)
                    }
                })),
            )
        };
        scope.default_service(web::to(not_found))
    }
}

/// A ceremony route: POST only, rate-limited before its body is read.
fn ceremony<F, Args>(path: &str, handler: F) -> impl HttpServiceFactory + 'static
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .wrap(from_fn(rate_limited))
        .route(web::post().to(handler))
        .default_service(web::to(|| async { method_not_allowed("POST") }))
}

impl HttpServiceFactory for Passkeys {
    fn register(self, config: &mut AppService) {
        self.scope().register(config);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{MemoryChallengeStore, MemoryCredentialStore};

    fn builder() -> PasskeysBuilder {
        let config = PasskeyConfig::builder("localhost", "Test")
            .origin("http://localhost:8080")
            .build()
            .unwrap();
        let builder = Passkeys::builder(
            config,
            MemoryCredentialStore::new(),
            MemoryChallengeStore::new(),
        );
        #[cfg(not(feature = "session"))]
        let builder = builder
            .user_resolver(|_req| async { Err(crate::error::PasskeyError::NotAuthenticated) });
        builder
    }

    /// A server secret shorter than 16 bytes would make the fake credential ids guessable; the
    /// refusal says how long it was.
    #[test]
    fn build_refuses_a_short_server_secret_with_its_length() {
        assert_eq!(
            builder().server_secret([1u8; 15]).build().unwrap_err(),
            BuildError::ServerSecretTooShort { len: 15 }
        );
        assert!(builder().server_secret([1u8; 16]).build().is_ok());
        assert!(builder().build().is_ok(), "no secret: a random one");
    }

    /// Without the session bridge there is no default user resolver: `build` says so instead
    /// of a service whose registration routes answer 500.
    #[cfg(not(feature = "session"))]
    #[test]
    fn build_refuses_no_user_resolver_without_the_session_feature() {
        let config = PasskeyConfig::builder("localhost", "Test")
            .origin("http://localhost:8080")
            .build()
            .unwrap();
        let built = Passkeys::builder(
            config,
            MemoryCredentialStore::new(),
            MemoryChallengeStore::new(),
        )
        .build();
        assert_eq!(built.unwrap_err(), BuildError::NoUserResolver);
    }
}
