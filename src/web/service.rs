//! [`Passkeys`], the one handle to the configured service, and the object-safe adapter its
//! stores are erased behind.
//!
//! The store traits are generic (`impl Future + Send` methods are not object-safe), so the
//! concrete stores are wrapped once, at build time, in [`Erased`] and reached through the
//! private [`Stores`] trait. Everything an app names — handlers, extractors, `App::app_data` —
//! is the non-generic, cheaply cloned `Passkeys`.

use std::sync::Arc;

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::future::{ready, BoxFuture, Ready};

use crate::{
    audit::AuditEventKind,
    ceremony::{
        authentication::{self, AuthenticationBegin, AuthenticationFinish, AuthenticationOptions},
        registration::{self, RegistrationBegin, RegistrationFinish, RegistrationOptions},
        Engine, Step,
    },
    config::PasskeyConfig,
    error::{ErrorCode, NotMounted, PasskeyError},
    metrics::{CredentialLabels, Flow, StepTimer},
    model::{AuthenticationResult, Credential, CredentialView, PasskeyUser, PrfSalt},
    rate_limit::RateLimit,
    store::{ChallengeStore, CredentialStore},
    web::resolver::{DynHook, DynResolver},
};

/// A verified, stored registration: the new credential and the user it was registered for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedRegistration {
    /// The stored credential.
    pub credential: Credential,
    /// The user the ceremony was begun for.
    pub user: PasskeyUser,
}

/// Everything behind the handle.
pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) stores: Box<dyn Stores>,
    pub(crate) resolver: Box<dyn DynResolver>,
    pub(crate) hook: Option<Box<dyn DynHook>>,
    pub(crate) rate_limit: Option<RateLimit>,
    /// Mount path of the scope.
    pub(crate) path: String,
}

/// A finished sign-in, and the credential id of a usernameless sign-in whose credential is
/// unknown (for a `signalUnknownCredential`).
pub(crate) type SignalledAuthentication =
    (Result<AuthenticationResult, PasskeyError>, Option<Vec<u8>>);

/// The stores, without their types: what the ceremonies and management calls need of them.
pub(crate) trait Stores: Send + Sync + 'static {
    fn start_registration<'a>(
        &'a self,
        engine: &'a Engine,
        user: PasskeyUser,
        input: RegistrationBegin,
    ) -> BoxFuture<'a, Result<RegistrationOptions, PasskeyError>>;
    fn finish_registration<'a>(
        &'a self,
        engine: &'a Engine,
        input: RegistrationFinish,
        for_user: String,
    ) -> BoxFuture<'a, Result<VerifiedRegistration, PasskeyError>>;
    fn start_authentication<'a>(
        &'a self,
        engine: &'a Engine,
        input: AuthenticationBegin,
    ) -> BoxFuture<'a, Result<AuthenticationOptions, PasskeyError>>;
    fn finish_authentication<'a>(
        &'a self,
        engine: &'a Engine,
        input: AuthenticationFinish,
    ) -> BoxFuture<'a, SignalledAuthentication>;
    fn list(&self, user_id: String) -> BoxFuture<'_, Result<Vec<Credential>, PasskeyError>>;
    fn credential(&self, id: Vec<u8>) -> BoxFuture<'_, Result<Option<Credential>, PasskeyError>>;
    fn rename(
        &self,
        user_id: String,
        id: Vec<u8>,
        name: String,
    ) -> BoxFuture<'_, Result<bool, PasskeyError>>;
    fn delete(&self, user_id: String, id: Vec<u8>) -> BoxFuture<'_, Result<bool, PasskeyError>>;
    fn set_prf_salt(
        &self,
        user_id: String,
        id: Vec<u8>,
        salt: PrfSalt,
    ) -> BoxFuture<'_, Result<bool, PasskeyError>>;
}

/// The code a step answered, `None` for a success.
fn error_code<T>(result: &Result<T, PasskeyError>) -> Option<ErrorCode> {
    result.as_ref().err().map(PasskeyError::code)
}

/// A management call's result as its metric sees it: `Ok(false)` (no such credential of the
/// user) is answered 404 `not_found`.
fn found_code(result: &Result<bool, PasskeyError>) -> Option<ErrorCode> {
    match result {
        Ok(true) => None,
        Ok(false) => Some(ErrorCode::NotFound),
        Err(err) => Some(err.code()),
    }
}

/// The concrete stores, erased behind [`Stores`] (each wrapped in `metrics::store::Metered`).
pub(crate) struct Erased<C, S> {
    pub(crate) credentials: C,
    pub(crate) challenges: S,
}

impl<C: CredentialStore, S: ChallengeStore> Stores for Erased<C, S> {
    fn start_registration<'a>(
        &'a self,
        engine: &'a Engine,
        user: PasskeyUser,
        input: RegistrationBegin,
    ) -> BoxFuture<'a, Result<RegistrationOptions, PasskeyError>> {
        Box::pin(async move {
            let timer = StepTimer::start(Flow::Registration, "begin");
            let step = Step::new(engine);
            let result =
                registration::begin(&step, &self.credentials, &self.challenges, user, input).await;
            step.flush().await;
            timer.finish(engine, error_code(&result), None);
            result
        })
    }

    fn finish_registration<'a>(
        &'a self,
        engine: &'a Engine,
        input: RegistrationFinish,
        for_user: String,
    ) -> BoxFuture<'a, Result<VerifiedRegistration, PasskeyError>> {
        Box::pin(async move {
            let step = Step::new(engine);
            let timer = StepTimer::start(Flow::Registration, "finish");
            let result =
                registration::finish(&step, &self.credentials, &self.challenges, input, &for_user)
                    .await;
            let labels = match &result {
                Ok((credential, _)) => Some(CredentialLabels::of(credential)),
                Err(_) => step.credential_labels(),
            };
            step.flush().await;
            timer.finish(engine, error_code(&result), labels);
            let (credential, user) = result?;
            Ok(VerifiedRegistration { credential, user })
        })
    }

    fn start_authentication<'a>(
        &'a self,
        engine: &'a Engine,
        input: AuthenticationBegin,
    ) -> BoxFuture<'a, Result<AuthenticationOptions, PasskeyError>> {
        Box::pin(async move {
            let timer = StepTimer::start(Flow::Authentication, "begin");
            let step = Step::new(engine);
            let result =
                authentication::begin(&step, &self.credentials, &self.challenges, input).await;
            step.flush().await;
            timer.finish(engine, error_code(&result), None);
            result
        })
    }

    fn finish_authentication<'a>(
        &'a self,
        engine: &'a Engine,
        input: AuthenticationFinish,
    ) -> BoxFuture<'a, SignalledAuthentication> {
        Box::pin(async move {
            let timer = StepTimer::start(Flow::Authentication, "finish");
            let step = Step::new(engine);
            let mut unknown = None;
            let result = authentication::finish_signalled(
                &step,
                &self.credentials,
                &self.challenges,
                input,
                &mut unknown,
            )
            .await;
            let labels = match &result {
                Ok(signed_in) => Some(CredentialLabels::of(&signed_in.credential)),
                Err(_) => step.credential_labels(),
            };
            step.flush().await;
            timer.finish(engine, error_code(&result), labels);
            (result, unknown)
        })
    }

    fn list(&self, user_id: String) -> BoxFuture<'_, Result<Vec<Credential>, PasskeyError>> {
        Box::pin(async move {
            self.credentials
                .list_for_user(&user_id)
                .await
                .map_err(PasskeyError::store)
        })
    }

    fn credential(&self, id: Vec<u8>) -> BoxFuture<'_, Result<Option<Credential>, PasskeyError>> {
        Box::pin(async move { self.credentials.get(&id).await.map_err(PasskeyError::store) })
    }

    fn rename(
        &self,
        user_id: String,
        id: Vec<u8>,
        name: String,
    ) -> BoxFuture<'_, Result<bool, PasskeyError>> {
        Box::pin(async move {
            self.credentials
                .rename(&user_id, &id, &name)
                .await
                .map_err(PasskeyError::store)
        })
    }

    fn delete(&self, user_id: String, id: Vec<u8>) -> BoxFuture<'_, Result<bool, PasskeyError>> {
        Box::pin(async move {
            self.credentials
                .delete(&user_id, &id)
                .await
                .map_err(PasskeyError::store)
        })
    }

    fn set_prf_salt(
        &self,
        user_id: String,
        id: Vec<u8>,
        salt: PrfSalt,
    ) -> BoxFuture<'_, Result<bool, PasskeyError>> {
        Box::pin(async move {
            self.credentials
                .set_prf_salt(&user_id, &id, &salt)
                .await
                .map_err(PasskeyError::store)
        })
    }
}

/// The passkey service: configuration, stores and app hooks behind one cheaply cloned handle
/// (an `Arc`), with no type parameters.
///
/// It is three things at once:
/// - the scope: `App::service(passkeys)` mounts the wire-contract routes at
///   [`DEFAULT_PATH`](crate::wire::DEFAULT_PATH) or the builder's [`path`](crate::PasskeysBuilder::path);
/// - app data: the scope registers the handle for its own routes, and
///   [`configure`](Self::configure) registers it for the whole app, which is what the
///   extractors ([`Authenticated`](crate::Authenticated), [`Fresh`](crate::Fresh),
///   [`VerifiedRegistration`], [`VerifiedAssertion`](crate::VerifiedAssertion)) read;
/// - an extractor itself, for custom handlers: begin and finish ceremonies and manage
///   credentials with its methods.
///
/// **Mount it with `App::configure(passkeys.configure())`**: the scope, `/.well-known/webauthn`
/// and the handle as app data for every route. An extractor on a route that cannot see the
/// handle answers 500 `configuration_error` and logs one error line naming this fix; it never
/// falls back to defaults.
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
/// [`Passkeys-Signal`](crate::wire::SIGNAL_HEADER) header (`allAcceptedCredentials`), and so does a
/// usernameless `authenticate/finish` refused with `credential_not_found` (`unknownCredential`).
///
/// ```
/// use actix_passkeys::{
///     store::memory::{MemoryChallengeStore, MemoryCredentialStore},
///     PasskeyConfig, PasskeyError, PasskeyUser, Passkeys,
/// };
/// use actix_web::{web, App, HttpResponse};
///
/// // A custom handler takes the handle like any extractor.
/// async fn signup_begin(passkeys: Passkeys) -> Result<HttpResponse, PasskeyError> {
///     let user = PasskeyUser::new("u-123", "carol@example.com", "Carol");
///     Ok(HttpResponse::Ok().json(passkeys.start_registration(user).await?))
/// }
///
/// let config = PasskeyConfig::builder("localhost", "Demo")
///     .origin("http://localhost:8080")
///     .build()?;
/// let passkeys = Passkeys::new(config, MemoryCredentialStore::new(), MemoryChallengeStore::new());
/// let app = App::new()
///     .configure(passkeys.configure())
///     .route("/signup/begin", web::post().to(signup_begin));
/// # let _ = app;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Passkeys(pub(crate) Arc<Inner>);

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys")
            .field("path", &self.0.path)
            .field("engine", &self.0.engine)
            .finish_non_exhaustive()
    }
}

impl Passkeys {
    /// The handle registered for `req`'s route. Without one, logs one error line naming the
    /// fix and answers 500 `configuration_error`: an extractor never runs on defaults.
    pub(crate) fn from_req(req: &HttpRequest) -> Result<Self, PasskeyError> {
        match req.app_data::<Passkeys>() {
            Some(passkeys) => Ok(passkeys.clone()),
            None => {
                // The route pattern, not the raw path: no request text in the log.
                let route = req
                    .match_pattern()
                    .unwrap_or_else(|| "(no route)".to_owned());
                log::error!(
                    "passkeys: {NotMounted} (route {})",
                    crate::text::LogValue(&route)
                );
                Err(PasskeyError::Configuration(Box::new(NotMounted)))
            }
        }
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.0.engine
    }

    pub(crate) fn hook(&self) -> Option<&dyn DynHook> {
        self.0.hook.as_deref()
    }

    /// The configuration in force.
    pub fn config(&self) -> &PasskeyConfig {
        &self.0.engine.config
    }

    /// Mount path of the scope.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// The service clock's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.0.engine.clock.now()
    }

    /// The public view of a stored credential, with the authenticator named by the service's
    /// names (the app's map from
    /// [`PasskeysBuilder::authenticator_names`](crate::PasskeysBuilder::authenticator_names),
    /// then the bundled list).
    pub fn credential_view(&self, credential: &Credential) -> CredentialView {
        CredentialView::with_names(credential, &self.0.engine.names)
    }

    /// Resolves the request's user with the configured [`UserResolver`](crate::hooks::UserResolver).
    pub async fn resolve_user(&self, req: &HttpRequest) -> Result<PasskeyUser, PasskeyError> {
        self.0.resolver.resolve(req.clone()).await
    }

    /// Resolves the user a registration is for with the configured [`UserResolver`](crate::hooks::UserResolver)'s
    /// [`resolve_for_registration`](crate::hooks::UserResolver::resolve_for_registration), as `register/begin`
    /// does (with the session resolver: a passkey sign-in, or a recently identified user who
    /// has no passkey yet).
    pub async fn resolve_user_for_registration(
        &self,
        req: &HttpRequest,
    ) -> Result<PasskeyUser, PasskeyError> {
        self.0.resolver.resolve_for_registration(req.clone()).await
    }

    /// Begins a registration for `user` (what `register/begin` does after resolving the user),
    /// with the configured hints and no mediation.
    pub async fn start_registration(
        &self,
        user: PasskeyUser,
    ) -> Result<RegistrationOptions, PasskeyError> {
        self.start_registration_with(user, RegistrationBegin::default())
            .await
    }

    /// Begins a registration for `user` with a `register/begin` body's choices: its
    /// `mediation` and its own `hints` (which replace the configured ones; a hint twice, or
    /// one that contradicts the configured attachment, is 400 `invalid_request`).
    ///
    /// ```
    /// use actix_passkeys::{policy::Hint, wire::RegistrationBegin, PasskeyError, PasskeyUser, Passkeys};
    /// use actix_web::HttpResponse;
    ///
    /// // After a cross-device sign-in: offer a passkey on this device.
    /// async fn add_passkey_here(
    ///     passkeys: &Passkeys,
    ///     user: PasskeyUser,
    /// ) -> Result<HttpResponse, PasskeyError> {
    ///     let mut begin = RegistrationBegin::default();
    ///     begin.hints = Some(vec![Hint::ClientDevice]);
    ///     Ok(HttpResponse::Ok().json(passkeys.start_registration_with(user, begin).await?))
    /// }
    /// ```
    pub async fn start_registration_with(
        &self,
        user: PasskeyUser,
        input: RegistrationBegin,
    ) -> Result<RegistrationOptions, PasskeyError> {
        self.0
            .stores
            .start_registration(self.engine(), user, input)
            .await
    }

    /// Verifies and stores a registration, for the user of `req` only: the request's user is
    /// resolved again with the configured [`UserResolver`](crate::hooks::UserResolver)'s registration rules
    /// ([`resolve_for_registration`](crate::hooks::UserResolver::resolve_for_registration), as
    /// `register/begin` and `register/finish` do) and must be the user the ceremony was begun
    /// for.
    ///
    /// - no user (signed out since the begin): 401 `not_authenticated`, and the ceremony is
    ///   left pending (it still needs its own user to finish);
    /// - another user: 400 `challenge_not_found`, and the ceremony is consumed.
    ///
    /// So signing out cancels a pending registration. With the session bridge, a session that
    /// registered through its [`identify`](Self::identify) grant is signed in with the new
    /// passkey afterwards (the grant is spent: the account has a passkey now).
    ///
    /// A flow that knows its user by other means (its own sign-up state) binds explicitly with
    /// [`finish_registration_for`](Self::finish_registration_for).
    ///
    /// ```
    /// use actix_passkeys::{PasskeyError, Passkeys, wire::RegistrationFinish};
    /// use actix_web::{web, HttpRequest, HttpResponse};
    ///
    /// async fn add_passkey(
    ///     passkeys: Passkeys,
    ///     req: HttpRequest,
    ///     body: web::Json<RegistrationFinish>,
    /// ) -> Result<HttpResponse, PasskeyError> {
    ///     let registered = passkeys.finish_registration(&req, body.into_inner()).await?;
    ///     Ok(HttpResponse::Ok().body(registered.credential.id_b64()))
    /// }
    /// # actix_web::web::to(add_passkey);
    /// ```
    pub async fn finish_registration(
        &self,
        req: &HttpRequest,
        input: RegistrationFinish,
    ) -> Result<VerifiedRegistration, PasskeyError> {
        // The registration rules of the begin apply again: a grant that allowed the begin may
        // be spent by now (the account got a passkey meanwhile).
        let user = self.resolve_user_for_registration(req).await?;
        let verified = self
            .0
            .stores
            .finish_registration(self.engine(), input, user.id)
            .await?;
        // A first passkey registered through an identify grant signs the session in with it.
        #[cfg(feature = "session")]
        crate::web::session::registered(
            req,
            &verified.credential,
            self.now(),
            self.config().rp_id(),
        )?;
        Ok(verified)
    }

    /// Verifies and stores a registration that must have been begun for `user_id`; a ceremony
    /// begun for anyone else is refused with 400 `challenge_not_found` (and consumed).
    ///
    /// For custom flows that name the user themselves, e.g. a sign-up that created the
    /// account in [`start_registration`](Self::start_registration) and keeps its id in its own
    /// signed state. The app is then responsible for `user_id` being the caller's; prefer
    /// [`finish_registration`](Self::finish_registration) (the same check through the
    /// [`UserResolver`](crate::hooks::UserResolver)) when the resolver knows the user.
    ///
    /// ```
    /// use actix_passkeys::{PasskeyError, Passkeys, wire::RegistrationFinish};
    ///
    /// // `user_id` comes from this app's own sign-up state (e.g. its signed session), set when
    /// // it created the account and called `start_registration` for it.
    /// async fn finish_signup(
    ///     passkeys: &Passkeys,
    ///     user_id: &str,
    ///     body: RegistrationFinish,
    /// ) -> Result<String, PasskeyError> {
    ///     let registered = passkeys.finish_registration_for(user_id, body).await?;
    ///     Ok(registered.credential.id_b64())
    /// }
    /// ```
    pub async fn finish_registration_for(
        &self,
        user_id: &str,
        input: RegistrationFinish,
    ) -> Result<VerifiedRegistration, PasskeyError> {
        if user_id.is_empty() {
            return Err(PasskeyError::NotAuthenticated);
        }
        self.0
            .stores
            .finish_registration(self.engine(), input, user_id.to_owned())
            .await
    }

    /// Begins a sign-in: username-first when `input.user_id` is set, else usernameless.
    pub async fn start_authentication(
        &self,
        input: AuthenticationBegin,
    ) -> Result<AuthenticationOptions, PasskeyError> {
        self.0
            .stores
            .start_authentication(self.engine(), input)
            .await
    }

    /// Verifies a sign-in and commits its counter (what `authenticate/finish` does before the
    /// session bridge and the hook); the session is not touched.
    pub async fn finish_authentication(
        &self,
        input: AuthenticationFinish,
    ) -> Result<AuthenticationResult, PasskeyError> {
        self.finish_authentication_signalled(input).await.0
    }

    pub(crate) async fn finish_authentication_signalled(
        &self,
        input: AuthenticationFinish,
    ) -> SignalledAuthentication {
        self.0
            .stores
            .finish_authentication(self.engine(), input)
            .await
    }

    /// All credentials of `user_id`, disabled ones included, oldest first.
    pub async fn list_credentials(&self, user_id: &str) -> Result<Vec<Credential>, PasskeyError> {
        let timer = StepTimer::start(Flow::Management, "list");
        let result = self.0.stores.list(user_id.to_owned()).await;
        timer.finish(self.engine(), error_code(&result), None);
        result
    }

    /// [`list_credentials`](Self::list_credentials) for the service's own reads (signals, the
    /// session resolver's check): not a management call, so not counted as one.
    pub(crate) async fn stored_credentials(
        &self,
        user_id: &str,
    ) -> Result<Vec<Credential>, PasskeyError> {
        self.0.stores.list(user_id.to_owned()).await
    }

    /// The stored credential with this id, of any user.
    pub async fn credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Credential>, PasskeyError> {
        self.0.stores.credential(credential_id.to_vec()).await
    }

    /// Renames `user_id`'s credential; `false` when the user has no credential with this id.
    /// The name is taken as given: validate it first as `PATCH credentials/{id}` does (1 to
    /// [`MAX_DEVICE_NAME_CHARS`](crate::wire::MAX_DEVICE_NAME_CHARS) characters, no control
    /// characters).
    pub async fn rename_credential(
        &self,
        user_id: &str,
        credential_id: &[u8],
        device_name: &str,
    ) -> Result<bool, PasskeyError> {
        let timer = StepTimer::start(Flow::Management, "rename");
        let result = self
            .0
            .stores
            .rename(
                user_id.to_owned(),
                credential_id.to_vec(),
                device_name.to_owned(),
            )
            .await;
        timer.finish(self.engine(), found_code(&result), None);
        result
    }

    /// Revokes (deletes) `user_id`'s credential; `false` when the user has no credential with
    /// this id. A deletion emits the `credential_revoked` audit event, as
    /// `DELETE credentials/{id}` does; sessions signed in with the credential end on their
    /// next request.
    pub async fn delete_credential(
        &self,
        user_id: &str,
        credential_id: &[u8],
    ) -> Result<bool, PasskeyError> {
        let timer = StepTimer::start(Flow::Management, "revoke");
        let result = self
            .0
            .stores
            .delete(user_id.to_owned(), credential_id.to_vec())
            .await;
        timer.finish(self.engine(), found_code(&result), None);
        let deleted = result?;
        if deleted {
            let engine = self.engine();
            engine
                .emit(
                    engine
                        .event(AuditEventKind::CredentialRevoked)
                        .user(Some(user_id))
                        .credential(Some(crate::model::b64url(credential_id))),
                )
                .await;
        }
        Ok(deleted)
    }

    /// Gives `user_id`'s credential a new PRF salt (32 random bytes), so its PRF output — and
    /// every key the page derives from it — changes from the next sign-in on. `false` (nothing
    /// changed) when the user has no credential with this id or the credential does not support
    /// PRF (`prf_enabled` false).
    ///
    /// Data encrypted under the old output cannot be decrypted under the new one: sign in
    /// first (the old output), rotate, sign in again (the new output) and re-encrypt in
    /// between; or wrap a data key under the PRF-derived key and re-wrap only that. The
    /// quickstart's `POST /prf/rotate` calls this for the signed-in user.
    ///
    /// ```
    /// use actix_passkeys::{Authenticated, PasskeyError, Passkeys};
    /// use actix_web::HttpResponse;
    ///
    /// async fn rotate(user: Authenticated, passkeys: Passkeys) -> Result<HttpResponse, PasskeyError> {
    ///     // The credential this session signed in with (base64url in the session).
    ///     use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    ///     let id = URL_SAFE_NO_PAD.decode(&user.credential_id).unwrap_or_default();
    ///     Ok(if passkeys.rotate_prf_salt(&user.user_id, &id).await? {
    ///         HttpResponse::NoContent().finish()
    ///     } else {
    ///         HttpResponse::NotFound().finish()
    ///     })
    /// }
    /// # actix_web::web::to(rotate);
    /// ```
    pub async fn rotate_prf_salt(
        &self,
        user_id: &str,
        credential_id: &[u8],
    ) -> Result<bool, PasskeyError> {
        let owned = self
            .credential(credential_id)
            .await?
            .is_some_and(|c| c.user_id == user_id && c.prf_enabled);
        if !owned {
            return Ok(false);
        }
        self.0
            .stores
            .set_prf_salt(
                user_id.to_owned(),
                credential_id.to_vec(),
                PrfSalt::random(),
            )
            .await
    }

    /// The `currentUserDetails` [`Signal`](crate::wire::Signal) to send after the app changed
    /// `user`'s name or display name: put it on the response with
    /// `insert_header(signal.header())` and `passkeys.js` hands it to the browser. `None` when
    /// the user has no passkeys (no user handle is known). Reads the user's credentials.
    ///
    /// ```
    /// use actix_passkeys::{PasskeyError, PasskeyUser, Passkeys};
    /// use actix_web::HttpResponse;
    ///
    /// async fn rename_account(passkeys: Passkeys) -> Result<HttpResponse, PasskeyError> {
    ///     let user = PasskeyUser::new("u-1", "carol@example.com", "Carol Jones");
    ///     // … save the new names in your user table, then:
    ///     let mut resp = HttpResponse::NoContent();
    ///     if let Some(signal) = passkeys.user_details_changed(&user).await? {
    ///         resp.insert_header(signal.header());
    ///     }
    ///     Ok(resp.finish())
    /// }
    /// # actix_web::web::to(rename_account);
    /// ```
    pub async fn user_details_changed(
        &self,
        user: &PasskeyUser,
    ) -> Result<Option<crate::wire::Signal>, PasskeyError> {
        let creds = self.stored_credentials(&user.id).await?;
        Ok(crate::wire::Signal::user_details(
            &self.config().rp_id,
            user,
            &creds,
        ))
    }

    /// The `allAcceptedCredentials` [`Signal`](crate::wire::Signal) for `user_id`, built from the
    /// store's full list of the user's credentials (disabled ones left out). `None` when the
    /// user has no credentials. The scope sends it on `GET credentials` and after a revoke.
    pub async fn accepted_credentials(
        &self,
        user_id: &str,
    ) -> Result<Option<crate::wire::Signal>, PasskeyError> {
        let creds = self.stored_credentials(user_id).await?;
        Ok(crate::wire::Signal::all_accepted(
            &self.config().rp_id,
            &creds,
        ))
    }

    /// Applies the configured [rate limit](crate::PasskeysBuilder::rate_limit) (if any) to
    /// `req`: 429 `rate_limited` when its client is over the budget.
    ///
    /// The scope's routes and the finish extractors apply it themselves. A custom handler that
    /// begins a ceremony through [`start_registration`](Self::start_registration) or
    /// [`start_authentication`](Self::start_authentication) calls this first, or its begins
    /// are not limited (and a flood of them can push pending ceremonies out of the memory
    /// challenge store).
    ///
    /// ```
    /// use actix_passkeys::{wire::AuthenticationBegin, PasskeyError, Passkeys};
    /// use actix_web::{HttpRequest, HttpResponse};
    ///
    /// async fn login_begin(req: HttpRequest, passkeys: Passkeys) -> Result<HttpResponse, PasskeyError> {
    ///     passkeys.check_rate_limit(&req).await?;
    ///     let options = passkeys.start_authentication(AuthenticationBegin::default()).await?;
    ///     Ok(HttpResponse::Ok().json(options))
    /// }
    /// ```
    pub async fn check_rate_limit(&self, req: &HttpRequest) -> Result<(), PasskeyError> {
        match &self.0.rate_limit {
            Some(limit) => limit.check(req, self.now()).await,
            None => Ok(()),
        }
    }
}

impl FromRequest for Passkeys {
    type Error = PasskeyError;
    type Future = Ready<Result<Self, PasskeyError>>;

    /// The handle registered for the route: answers 500 `configuration_error` (and logs the
    /// fix) when there is none; mount with [`Passkeys::configure`].
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::from_req(req))
    }
}
