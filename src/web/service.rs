//! The configured service behind a type-erased handle: [`PasskeysData`].
//!
//! [`Passkeys`](crate::Passkeys) is generic over its stores; handlers and extractors reach it
//! through `PasskeysData` in app data, so they need no type parameters.

use std::sync::Arc;

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::future::{ready, LocalBoxFuture, Ready};

use crate::{
    ceremony::{
        authentication::{self, AuthenticationBegin, AuthenticationFinish, AuthenticationOptions},
        registration::{self, RegistrationFinish, RegistrationOptions},
        Engine,
    },
    config::PasskeyConfig,
    error::PasskeyError,
    model::{AuthenticationResult, Credential, PasskeyUser},
    rate_limit::RateLimit,
    store::{ChallengeStore, CredentialStore},
    web::resolver::{AuthenticatedHook, UserResolver},
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

pub(crate) struct Inner<C, S> {
    pub(crate) engine: Engine,
    pub(crate) credentials: C,
    pub(crate) challenges: S,
    pub(crate) resolver: Box<dyn UserResolver>,
    pub(crate) hook: Option<Box<dyn AuthenticatedHook>>,
    pub(crate) rate_limit: Option<RateLimit>,
}

/// A finished sign-in, and the credential id of a usernameless sign-in whose credential is
/// unknown (for a `signalUnknownCredential`).
pub(crate) type SignalledAuthentication =
    (Result<AuthenticationResult, PasskeyError>, Option<Vec<u8>>);

/// What the web layer needs from the service, without its store types.
pub(crate) trait Ceremonies: Send + Sync + 'static {
    fn engine(&self) -> &Engine;
    fn resolver(&self) -> &dyn UserResolver;
    fn hook(&self) -> Option<&dyn AuthenticatedHook>;
    fn rate_limit(&self) -> Option<&RateLimit>;
    fn start_registration(
        &self,
        user: PasskeyUser,
    ) -> LocalBoxFuture<'_, Result<RegistrationOptions, PasskeyError>>;
    fn finish_registration(
        &self,
        input: RegistrationFinish,
        for_user: String,
    ) -> LocalBoxFuture<'_, Result<VerifiedRegistration, PasskeyError>>;
    fn start_authentication(
        &self,
        input: AuthenticationBegin,
    ) -> LocalBoxFuture<'_, Result<AuthenticationOptions, PasskeyError>>;
    fn finish_authentication(
        &self,
        input: AuthenticationFinish,
    ) -> LocalBoxFuture<'_, Result<AuthenticationResult, PasskeyError>>;
    fn finish_authentication_signalled(
        &self,
        input: AuthenticationFinish,
    ) -> LocalBoxFuture<'_, SignalledAuthentication>;
    fn list(&self, user_id: String) -> LocalBoxFuture<'_, Result<Vec<Credential>, PasskeyError>>;
    fn credential(
        &self,
        id: Vec<u8>,
    ) -> LocalBoxFuture<'_, Result<Option<Credential>, PasskeyError>>;
    fn rename(
        &self,
        user_id: String,
        id: Vec<u8>,
        name: String,
    ) -> LocalBoxFuture<'_, Result<bool, PasskeyError>>;
    fn delete(
        &self,
        user_id: String,
        id: Vec<u8>,
    ) -> LocalBoxFuture<'_, Result<bool, PasskeyError>>;
}

impl<C: CredentialStore, S: ChallengeStore> Ceremonies for Inner<C, S> {
    fn engine(&self) -> &Engine {
        &self.engine
    }

    fn resolver(&self) -> &dyn UserResolver {
        self.resolver.as_ref()
    }

    fn hook(&self) -> Option<&dyn AuthenticatedHook> {
        self.hook.as_deref()
    }

    fn rate_limit(&self) -> Option<&RateLimit> {
        self.rate_limit.as_ref()
    }

    fn start_registration(
        &self,
        user: PasskeyUser,
    ) -> LocalBoxFuture<'_, Result<RegistrationOptions, PasskeyError>> {
        Box::pin(registration::begin(
            &self.engine,
            &self.credentials,
            &self.challenges,
            user,
        ))
    }

    fn finish_registration(
        &self,
        input: RegistrationFinish,
        for_user: String,
    ) -> LocalBoxFuture<'_, Result<VerifiedRegistration, PasskeyError>> {
        Box::pin(async move {
            let (credential, user) = registration::finish(
                &self.engine,
                &self.credentials,
                &self.challenges,
                input,
                &for_user,
            )
            .await?;
            Ok(VerifiedRegistration { credential, user })
        })
    }

    fn start_authentication(
        &self,
        input: AuthenticationBegin,
    ) -> LocalBoxFuture<'_, Result<AuthenticationOptions, PasskeyError>> {
        Box::pin(authentication::begin(
            &self.engine,
            &self.credentials,
            &self.challenges,
            input,
        ))
    }

    fn finish_authentication(
        &self,
        input: AuthenticationFinish,
    ) -> LocalBoxFuture<'_, Result<AuthenticationResult, PasskeyError>> {
        Box::pin(authentication::finish(
            &self.engine,
            &self.credentials,
            &self.challenges,
            input,
        ))
    }

    fn finish_authentication_signalled(
        &self,
        input: AuthenticationFinish,
    ) -> LocalBoxFuture<'_, SignalledAuthentication> {
        Box::pin(async move {
            let mut unknown = None;
            let result = authentication::finish_signalled(
                &self.engine,
                &self.credentials,
                &self.challenges,
                input,
                &mut unknown,
            )
            .await;
            (result, unknown)
        })
    }

    fn list(&self, user_id: String) -> LocalBoxFuture<'_, Result<Vec<Credential>, PasskeyError>> {
        Box::pin(async move {
            self.credentials
                .list_for_user(&user_id)
                .await
                .map_err(PasskeyError::store)
        })
    }

    fn credential(
        &self,
        id: Vec<u8>,
    ) -> LocalBoxFuture<'_, Result<Option<Credential>, PasskeyError>> {
        Box::pin(async move { self.credentials.get(&id).await.map_err(PasskeyError::store) })
    }

    fn rename(
        &self,
        user_id: String,
        id: Vec<u8>,
        name: String,
    ) -> LocalBoxFuture<'_, Result<bool, PasskeyError>> {
        Box::pin(async move {
            self.credentials
                .rename(&user_id, &id, &name)
                .await
                .map_err(PasskeyError::store)
        })
    }

    fn delete(
        &self,
        user_id: String,
        id: Vec<u8>,
    ) -> LocalBoxFuture<'_, Result<bool, PasskeyError>> {
        Box::pin(async move {
            self.credentials
                .delete(&user_id, &id)
                .await
                .map_err(PasskeyError::store)
        })
    }
}

/// A handle to the configured [`Passkeys`](crate::Passkeys) service for handlers and
/// extractors: begin and finish ceremonies in your own routes.
///
/// The scope provides it to its own routes; for routes outside the scope register it with
/// [`Passkeys::configure`](crate::Passkeys::configure) (or `App::app_data(passkeys.data())`).
///
/// ```
/// use actix_passkeys::{PasskeyError, PasskeyUser, PasskeysData};
/// use actix_web::HttpResponse;
///
/// // Sign-up that creates the account and asks for its first passkey in one step.
/// async fn signup_begin(passkeys: PasskeysData) -> Result<HttpResponse, PasskeyError> {
///     let user = PasskeyUser::new("u-123", "carol@example.com", "Carol");
///     let options = passkeys.start_registration(user).await?;
///     Ok(HttpResponse::Ok().json(options))
/// }
/// # actix_web::web::to(signup_begin);
/// ```
#[derive(Clone)]
pub struct PasskeysData(pub(crate) Arc<dyn Ceremonies>);

impl std::fmt::Debug for PasskeysData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PasskeysData")
            .field(self.0.engine())
            .finish()
    }
}

impl PasskeysData {
    /// The configuration in force.
    pub fn config(&self) -> &PasskeyConfig {
        &self.0.engine().config
    }

    /// The service clock's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.0.engine().clock.now()
    }

    /// The public view of a stored credential, with the authenticator named by the service's
    /// names (the app's map from
    /// [`PasskeysBuilder::authenticator_names`](crate::PasskeysBuilder::authenticator_names),
    /// then the bundled list).
    pub fn credential_view(&self, credential: &Credential) -> crate::model::CredentialView {
        crate::model::CredentialView::with_names(credential, &self.0.engine().names)
    }

    /// Resolves the request's user with the configured [`UserResolver`].
    pub async fn resolve_user(&self, req: &HttpRequest) -> Result<PasskeyUser, PasskeyError> {
        self.0.resolver().resolve(req.clone()).await
    }

    /// Resolves the user a registration is for with the configured [`UserResolver`]'s
    /// [`resolve_for_registration`](UserResolver::resolve_for_registration), as `register/begin`
    /// does (with the session resolver: a passkey sign-in, or a recently identified user who
    /// has no passkey yet).
    pub async fn resolve_user_for_registration(
        &self,
        req: &HttpRequest,
    ) -> Result<PasskeyUser, PasskeyError> {
        self.0
            .resolver()
            .resolve_for_registration(req.clone())
            .await
    }

    /// Begins a registration for `user`.
    pub async fn start_registration(
        &self,
        user: PasskeyUser,
    ) -> Result<RegistrationOptions, PasskeyError> {
        self.0.start_registration(user).await
    }

    /// Verifies and stores a registration, for the user of `req` only: the request's user is
    /// resolved again with the configured [`UserResolver`]'s registration rules
    /// ([`resolve_for_registration`](UserResolver::resolve_for_registration), as
    /// `register/begin` and `register/finish` do) and must be the user the ceremony was begun
    /// for.
    ///
    /// - no user (signed out since the begin): 401 `not_authenticated`, and the ceremony is
    ///   left pending (it still needs its own user to finish);
    /// - another user: 400 `challenge_not_found`, and the ceremony is consumed.
    ///
    /// So signing out cancels a pending registration. With the session bridge, a session that
    /// registered through its [`identify`](crate::identify) grant is signed in with the new
    /// passkey afterwards (the grant is spent: the account has a passkey now).
    ///
    /// A flow that knows its user by other means
    /// (its own sign-up state) binds explicitly with
    /// [`finish_registration_for`](Self::finish_registration_for).
    ///
    /// ```
    /// use actix_passkeys::{PasskeyError, PasskeysData, RegistrationFinish};
    /// use actix_web::{web, HttpRequest, HttpResponse};
    ///
    /// async fn add_passkey(
    ///     passkeys: PasskeysData,
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
        let verified = self.0.finish_registration(input, user.id).await?;
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
    /// [`UserResolver`]) when the resolver knows the user.
    ///
    /// ```
    /// use actix_passkeys::{PasskeyError, PasskeysData, RegistrationFinish};
    ///
    /// // `user_id` comes from this app's own sign-up state (e.g. its signed session), set when
    /// // it created the account and called `start_registration` for it.
    /// async fn finish_signup(
    ///     passkeys: &PasskeysData,
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
        self.0.finish_registration(input, user_id.to_owned()).await
    }

    /// Begins a sign-in: username-first when `input.user_id` is set, else usernameless.
    pub async fn start_authentication(
        &self,
        input: AuthenticationBegin,
    ) -> Result<AuthenticationOptions, PasskeyError> {
        self.0.start_authentication(input).await
    }

    /// Verifies a sign-in and commits its counter (no session change).
    pub async fn finish_authentication(
        &self,
        input: AuthenticationFinish,
    ) -> Result<AuthenticationResult, PasskeyError> {
        self.0.finish_authentication(input).await
    }

    /// The `currentUserDetails` [`Signal`](crate::Signal) to send after the app changed
    /// `user`'s name or display name: put it on the response with
    /// `insert_header(signal.header())` and `passkeys.js` hands it to the browser. `None` when
    /// the user has no passkeys (no user handle is known). Reads the user's credentials.
    ///
    /// ```
    /// use actix_passkeys::{PasskeyError, PasskeyUser, PasskeysData};
    /// use actix_web::HttpResponse;
    ///
    /// async fn rename_account(passkeys: PasskeysData) -> Result<HttpResponse, PasskeyError> {
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
    ) -> Result<Option<crate::Signal>, PasskeyError> {
        let creds = self.0.list(user.id.clone()).await?;
        Ok(crate::Signal::user_details(
            &self.config().rp_id,
            user,
            &creds,
        ))
    }

    /// The `allAcceptedCredentials` [`Signal`](crate::Signal) for `user_id`, built from the
    /// store's full list of the user's credentials (disabled ones left out). `None` when the
    /// user has no credentials. The scope sends it on `GET credentials` and after a revoke.
    pub async fn accepted_credentials(
        &self,
        user_id: &str,
    ) -> Result<Option<crate::Signal>, PasskeyError> {
        let creds = self.0.list(user_id.to_owned()).await?;
        Ok(crate::Signal::all_accepted(&self.config().rp_id, &creds))
    }

    /// Applies the configured rate limit (if any) to `req`.
    pub(crate) async fn rate_limit(&self, req: &HttpRequest) -> Result<(), PasskeyError> {
        match self.0.rate_limit() {
            Some(limit) => limit.check(req, self.now()).await,
            None => Ok(()),
        }
    }

    /// Looks a stored credential up by id.
    #[cfg_attr(not(feature = "session"), allow(dead_code))]
    pub(crate) async fn credential(&self, id: Vec<u8>) -> Result<Option<Credential>, PasskeyError> {
        self.0.credential(id).await
    }

    pub(crate) fn inner(&self) -> &dyn Ceremonies {
        self.0.as_ref()
    }
}

impl FromRequest for PasskeysData {
    type Error = PasskeyError;
    type Future = Ready<Result<Self, PasskeyError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.app_data::<PasskeysData>().cloned().ok_or_else(|| {
            PasskeyError::Configuration(
                "PasskeysData is not in app data: mount with Passkeys::configure or add App::app_data(passkeys.data())"
                    .into(),
            )
        }))
    }
}
