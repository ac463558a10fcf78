//! [`Passkeys`]: the configured service, and the scope that serves the wire contract.

use std::{collections::HashMap, sync::Arc};

use actix_web::{
    dev::{AppService, HttpServiceFactory},
    middleware::from_fn,
    web, FromRequest, Handler, HttpRequest, Responder,
};
use rand::Rng as _;
use uuid::Uuid;

use crate::{
    aaguid::AuthenticatorNames,
    audit::{AuditSink, LogAuditSink},
    ceremony::{
        authentication::{self, AuthenticationBegin, AuthenticationFinish, AuthenticationOptions},
        registration::{self, RegistrationFinish, RegistrationOptions},
        Engine,
    },
    clock::{Clock, SystemClock},
    config::PasskeyConfig,
    error::PasskeyError,
    model::{AuthenticationResult, PasskeyUser},
    rate_limit::RateLimit,
    store::{ChallengeStore, CredentialStore},
    web::{
        body::BodyLimit,
        resolver::{AuthenticatedHook, UserResolver},
        routes::*,
        service::{Inner, PasskeysData, VerifiedRegistration},
    },
};

/// Where [`Passkeys::well_known`] serves the Related Origin Requests document.
pub const WELL_KNOWN_PATH: &str = "/.well-known/webauthn";

/// Where the scope is mounted unless [`PasskeysBuilder::path`] says otherwise.
pub const DEFAULT_PATH: &str = "/auth/passkeys";

/// The passkey service: configuration, stores and app hooks. Mount it with
/// `App::service(passkeys)` (at [`DEFAULT_PATH`] or the builder's path); it serves
///
/// | route | answer |
/// |---|---|
/// | `POST register/begin` | `{"publicKey", "state"}` |
/// | `POST register/finish` | `{"status":"ok","credentialId"}` |
/// | `POST authenticate/begin` | `{"publicKey", "state"}` |
/// | `POST authenticate/finish` | `{"status":"ok","userId"}` or the hook's response |
/// | `GET credentials` | `[CredentialView]` |
/// | `PATCH credentials/{id}` | 204 |
/// | `DELETE credentials/{id}` | 204 |
/// | `POST logout` (feature `session`) | 204 |
/// | `GET passkeys.js` | the browser helper |
/// | `GET openapi.json` (feature `openapi`) | the OpenAPI 3.1 document of these routes |
///
/// `GET credentials` and a successful `DELETE credentials/{id}` carry a
/// [`Passkeys-Signal`](crate::SIGNAL_HEADER) header (`allAcceptedCredentials`), and so does a
/// usernameless `authenticate/finish` refused with `credential_not_found` (`unknownCredential`).
/// [`Passkeys::well_known`] serves `/.well-known/webauthn` at the site root.
///
/// ```
/// use actix_passkeys::{
///     store::memory::{MemoryChallengeStore, MemoryCredentialStore},
///     PasskeyConfig, Passkeys,
/// };
/// use actix_web::App;
///
/// let config = PasskeyConfig::builder("localhost", "Demo")
///     .origin("http://localhost:8080")
///     .build()?;
/// let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), MemoryChallengeStore::new())?;
/// let app = App::new().service(passkeys.clone());
/// # let _ = app;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Passkeys<C, S> {
    inner: Arc<Inner<C, S>>,
    path: String,
}

impl<C, S> Clone for Passkeys<C, S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            path: self.path.clone(),
        }
    }
}

impl<C, S> std::fmt::Debug for Passkeys<C, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys")
            .field("path", &self.path)
            .field("engine", &self.inner.engine)
            .finish_non_exhaustive()
    }
}

/// Builder for [`Passkeys`]; every setter documents its default.
#[must_use]
pub struct PasskeysBuilder<C, S> {
    config: PasskeyConfig,
    credentials: C,
    challenges: S,
    path: String,
    resolver: Option<Box<dyn UserResolver>>,
    hook: Option<Box<dyn AuthenticatedHook>>,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
    secret: Option<Vec<u8>>,
    rate_limit: Option<RateLimit>,
    names: AuthenticatorNames,
}

impl<C, S> std::fmt::Debug for PasskeysBuilder<C, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeysBuilder")
            .field("path", &self.path)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<C: CredentialStore, S: ChallengeStore> PasskeysBuilder<C, S> {
    /// Mount path of the scope. Default: [`DEFAULT_PATH`] (`/auth/passkeys`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Who registration and management requests are for. Default: with feature `session`, the
    /// [`SessionUserResolver`](crate::SessionUserResolver); without it, none (those routes
    /// answer 500 `configuration_error`).
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

    /// Builds the service.
    pub fn build(self) -> Result<Passkeys<C, S>, PasskeyError> {
        let secret = match self.secret {
            Some(secret) if secret.len() >= 16 => secret,
            Some(_) => {
                return Err(PasskeyError::Configuration(
                    "server_secret must be at least 16 bytes".into(),
                ))
            }
            None => {
                if self.credentials.is_shared() || self.challenges.is_shared() {
                    log::warn!(
                        "passkeys: no server secret is set but a store is shared: fake credential \
                         ids and new users' handles differ between instances and restarts; set \
                         PasskeysBuilder::server_secret"
                    );
                }
                let mut secret = vec![0u8; 32];
                rand::rng().fill_bytes(&mut secret);
                secret
            }
        };
        let mut engine = Engine::new(self.config, &secret, self.clock, self.audit)?;
        engine.names = self.names;
        let resolver = self.resolver.unwrap_or_else(default_resolver);
        Ok(Passkeys {
            inner: Arc::new(Inner {
                engine,
                credentials: self.credentials,
                challenges: self.challenges,
                resolver,
                hook: self.hook,
                rate_limit: self.rate_limit,
            }),
            path: self.path,
        })
    }
}

fn default_resolver() -> Box<dyn UserResolver> {
    #[cfg(feature = "session")]
    {
        Box::new(crate::web::session::SessionUserResolver)
    }
    #[cfg(not(feature = "session"))]
    {
        Box::new(crate::web::resolver::NoResolver)
    }
}

impl<C: CredentialStore, S: ChallengeStore> Passkeys<C, S> {
    /// A service with default settings (see [`PasskeysBuilder`]).
    pub fn new(config: PasskeyConfig, credentials: C, challenges: S) -> Result<Self, PasskeyError> {
        Self::builder(config, credentials, challenges).build()
    }

    /// Starts a builder.
    pub fn builder(config: PasskeyConfig, credentials: C, challenges: S) -> PasskeysBuilder<C, S> {
        PasskeysBuilder {
            config,
            credentials,
            challenges,
            path: DEFAULT_PATH.to_owned(),
            resolver: None,
            hook: None,
            audit: Arc::new(LogAuditSink),
            clock: Arc::new(SystemClock),
            secret: None,
            rate_limit: None,
            names: AuthenticatorNames::default(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &PasskeyConfig {
        &self.inner.engine.config
    }

    /// The credential store.
    pub fn credentials(&self) -> &C {
        &self.inner.credentials
    }

    /// The challenge store.
    pub fn challenges(&self) -> &S {
        &self.inner.challenges
    }

    /// Begins a registration for `user` (what `register/begin` does after resolving the user).
    pub async fn start_registration(
        &self,
        user: PasskeyUser,
    ) -> Result<RegistrationOptions, PasskeyError> {
        let i = &self.inner;
        registration::begin(&i.engine, &i.credentials, &i.challenges, user).await
    }

    /// Verifies and stores a registration for the user of `req` (what `register/finish` does):
    /// the user is resolved again and must be the user of the begin. See
    /// [`PasskeysData::finish_registration`].
    pub async fn finish_registration(
        &self,
        req: &HttpRequest,
        input: RegistrationFinish,
    ) -> Result<VerifiedRegistration, PasskeyError> {
        self.data().finish_registration(req, input).await
    }

    /// Verifies and stores a registration that must have been begun for `user_id`. See
    /// [`PasskeysData::finish_registration_for`].
    pub async fn finish_registration_for(
        &self,
        user_id: &str,
        input: RegistrationFinish,
    ) -> Result<VerifiedRegistration, PasskeyError> {
        self.data().finish_registration_for(user_id, input).await
    }

    /// Begins a sign-in, username-first when `input.user_id` is set, else usernameless.
    pub async fn start_authentication(
        &self,
        input: AuthenticationBegin,
    ) -> Result<AuthenticationOptions, PasskeyError> {
        let i = &self.inner;
        authentication::begin(&i.engine, &i.credentials, &i.challenges, input).await
    }

    /// Verifies a sign-in and commits its counter (what `authenticate/finish` does before the
    /// session bridge and the hook).
    pub async fn finish_authentication(
        &self,
        input: AuthenticationFinish,
    ) -> Result<AuthenticationResult, PasskeyError> {
        let i = &self.inner;
        authentication::finish(&i.engine, &i.credentials, &i.challenges, input).await
    }

    /// The `currentUserDetails` [`Signal`](crate::Signal) to send after the app changed
    /// `user`'s name or display name; `None` when the user has no passkeys. See
    /// [`PasskeysData::user_details_changed`].
    pub async fn user_details_changed(
        &self,
        user: &PasskeyUser,
    ) -> Result<Option<crate::Signal>, PasskeyError> {
        self.data().user_details_changed(user).await
    }

    /// A type-erased handle for handlers and extractors ([`PasskeysData`]).
    pub fn data(&self) -> PasskeysData {
        PasskeysData(self.inner.clone())
    }

    /// Mounts the scope and registers [`PasskeysData`] for the whole app, so handlers outside
    /// the scope can use the ceremony extractors and [`Fresh`](crate::Fresh).
    ///
    /// ```
    /// # use actix_passkeys::{store::memory::*, PasskeyConfig, Passkeys};
    /// # let config = PasskeyConfig::builder("localhost", "Demo").origin("http://localhost:8080").build()?;
    /// let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), MemoryChallengeStore::new())?;
    /// let app = actix_web::App::new().configure(passkeys.configure());
    /// # let _ = app;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn configure(&self) -> impl FnOnce(&mut web::ServiceConfig) + 'static {
        let this = self.clone();
        move |cfg| {
            cfg.app_data(this.data())
                .service(this.well_known())
                .service(this);
        }
    }

    /// `GET /.well-known/webauthn`, the [Related Origin Requests] document
    /// `{"origins": [...]}` (`application/json`), built from the same origin list the
    /// ceremonies check ([`PasskeyConfig::web_origins`]); native `android:apk-key-hash:`
    /// origins are left out. Browsers fetch it from `https://<rp id>/.well-known/webauthn`, so it
    /// belongs at the site root, outside the scope: mount it with `App::service` next to the
    /// scope. [`configure`](Self::configure) mounts both.
    ///
    /// [Related Origin Requests]: https://w3c.github.io/webauthn/#sctn-related-origins
    ///
    /// ```
    /// # use actix_passkeys::{store::memory::*, PasskeyConfig, Passkeys};
    /// let config = PasskeyConfig::builder("example.com", "Example")
    ///     .origin("https://example.com")
    ///     .related_origin("https://example.co.uk")
    ///     .build()?;
    /// let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), MemoryChallengeStore::new())?;
    /// let app = actix_web::App::new()
    ///     .service(passkeys.well_known()) // GET /.well-known/webauthn
    ///     .service(passkeys.clone());     // the scope, /auth/passkeys/…
    /// # let _ = app;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn well_known(&self) -> actix_web::Resource {
        let body = self.config().well_known_document().to_string();
        web::resource(WELL_KNOWN_PATH).route(web::get().to(move || {
            let body = body.clone();
            async move {
                actix_web::HttpResponse::Ok()
                    .content_type(mime::APPLICATION_JSON)
                    .insert_header((
                        actix_web::http::header::CACHE_CONTROL,
                        "public, max-age=300",
                    ))
                    .body(body)
            }
        }))
    }

    /// The OpenAPI 3.1 document of the scope's routes (JSON), as served at
    /// `<scope>/openapi.json`: request and response schemas derived from the Rust types, every
    /// error code, and the scope path as the server URL.
    ///
    /// ```
    /// # use actix_passkeys::{store::memory::*, PasskeyConfig, Passkeys};
    /// # let config = PasskeyConfig::builder("localhost", "Demo").origin("http://localhost:8080").build()?;
    /// let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), MemoryChallengeStore::new())?;
    /// let doc: serde_json::Value = serde_json::from_str(&passkeys.openapi_json())?;
    /// assert_eq!(doc["openapi"], "3.1.0");
    /// assert!(doc["paths"]["/register/begin"]["post"].is_object());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "openapi")]
    #[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
    pub fn openapi_json(&self) -> String {
        crate::web::openapi::document(&self.path)
            .to_json()
            .unwrap_or_else(|_| "{}".to_owned())
    }

    /// The scope with every route, mounted at the builder's path.
    pub fn scope(&self) -> actix_web::Scope {
        let resource =
            |path: &str| web::resource(path).default_service(web::to(method_not_allowed));
        let scope = web::scope(&self.path)
            .app_data(self.data())
            .app_data(BodyLimit(self.inner.engine.config.body_limit))
            .service(ceremony("/register/begin", register_begin))
            .service(ceremony("/register/finish", register_finish))
            .service(ceremony("/authenticate/begin", authenticate_begin))
            .service(ceremony("/authenticate/finish", authenticate_finish))
            .service(resource("/credentials").route(web::get().to(list_credentials)))
            .service(
                resource("/credentials/{id}")
                    .route(web::patch().to(rename_credential))
                    .route(web::delete().to(delete_credential)),
            )
            .service(resource("/passkeys.js").route(web::get().to(passkeys_js)));
        #[cfg(feature = "session")]
        let scope = scope.service(resource("/logout").route(web::post().to(logout)));
        #[cfg(feature = "openapi")]
        let scope = {
            let doc = self.openapi_json();
            scope.service(resource("/openapi.json").route(web::get().to(move || {
                let doc = doc.clone();
                async move {
                    actix_web::HttpResponse::Ok()
                        .content_type(mime::APPLICATION_JSON)
                        .body(doc)
                }
            })))
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
        .default_service(web::to(method_not_allowed))
}

impl<C: CredentialStore, S: ChallengeStore> HttpServiceFactory for Passkeys<C, S> {
    fn register(self, config: &mut AppService) {
        self.scope().register(config);
    }
}
