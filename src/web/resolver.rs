//! App hooks: who the current user is, and what to answer after a verified sign-in.

use std::future::Future;

use actix_web::{HttpRequest, HttpResponse};
use futures_util::{future::LocalBoxFuture, TryFutureExt as _};

use crate::{
    error::PasskeyError,
    model::{AuthenticationResult, PasskeyUser},
};

/// Tells the scope which user a registration or management request is for.
///
/// Any `Fn(HttpRequest) -> impl Future<Output = Result<PasskeyUser, PasskeyError>>` is a resolver.
///
/// ```
/// use actix_passkeys::{PasskeyError, PasskeyUser, hooks::UserResolver};
/// use actix_web::HttpRequest;
///
/// // A resolver that trusts a header set by an authenticating proxy (demo only).
/// let resolver = |req: HttpRequest| async move {
///     let id = req
///         .headers()
///         .get("x-user")
///         .and_then(|v| v.to_str().ok())
///         .ok_or(PasskeyError::NotAuthenticated)?
///         .to_owned();
///     Ok(PasskeyUser::new(id.clone(), id.clone(), id))
/// };
/// fn assert_resolver(_: impl UserResolver) {}
/// assert_resolver(resolver);
/// ```
pub trait UserResolver: Send + Sync + 'static {
    /// The resolver's error, answered through [`PasskeyError`] (a resolver of your own maps
    /// its error there; `NotAuthenticated` is the usual one).
    type Error: Into<PasskeyError>;

    /// Resolves the user of `req`; `Err(PasskeyError::NotAuthenticated)` when there is none.
    /// Used by the credential management routes (and, unless overridden, by registration).
    fn resolve(&self, req: HttpRequest) -> impl Future<Output = Result<PasskeyUser, Self::Error>>;

    /// Resolves the user a `register/begin` adds a passkey to. A new passkey is a new way into
    /// the account, so return a user only when `req` proves to be that user as strongly as a
    /// sign-in: a resolver that also accepts weaker or older evidence (a sign-up session, a
    /// "remember me" cookie) must refuse it here for a user who already has passkeys, with
    /// `Err(PasskeyError::NotAuthenticated)`, or whoever held such a session could add their
    /// own key. The default calls [`resolve`](Self::resolve), which is enough for the session
    /// resolver ([`SessionUserResolver`](crate::hooks::SessionUserResolver)): its `resolve` already
    /// refuses an identified session once the account has a passkey.
    fn resolve_for_registration(
        &self,
        req: HttpRequest,
    ) -> impl Future<Output = Result<PasskeyUser, Self::Error>> {
        self.resolve(req)
    }
}

impl<F, Fut> UserResolver for F
where
    F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<PasskeyUser, PasskeyError>>,
{
    type Error = PasskeyError;

    fn resolve(&self, req: HttpRequest) -> impl Future<Output = Result<PasskeyUser, PasskeyError>> {
        self(req)
    }
}

/// [`UserResolver`] without its types, as the service holds it.
pub(crate) trait DynResolver: Send + Sync + 'static {
    fn resolve(&self, req: HttpRequest) -> LocalBoxFuture<'_, Result<PasskeyUser, PasskeyError>>;
    fn resolve_for_registration(
        &self,
        req: HttpRequest,
    ) -> LocalBoxFuture<'_, Result<PasskeyUser, PasskeyError>>;
}

impl<R: UserResolver> DynResolver for R {
    fn resolve(&self, req: HttpRequest) -> LocalBoxFuture<'_, Result<PasskeyUser, PasskeyError>> {
        Box::pin(UserResolver::resolve(self, req).map_err(Into::into))
    }

    fn resolve_for_registration(
        &self,
        req: HttpRequest,
    ) -> LocalBoxFuture<'_, Result<PasskeyUser, PasskeyError>> {
        Box::pin(UserResolver::resolve_for_registration(self, req).map_err(Into::into))
    }
}

/// Runs after a verified sign-in, and decides whether it stands. Its response replaces the
/// default `{"status":"ok","userId"}`; its error is answered as the app's own error.
///
/// What the hook can observe: the counter and last-used time are already committed (a refused
/// sign-in still burns its assertion). With the session bridge the hook runs *before* the
/// session is written: the request's session is still the one from before this sign-in (not
/// renewed, possibly another user's sign-in or an identified user), so learn who signed in from
/// `result`, not from the session or [`Authenticated`](crate::Authenticated). Only when the hook
/// returns `Ok` with a non-error status (not 4xx/5xx) is the session renewed and the
/// [`PasskeySession`](crate::hooks::PasskeySession) stored; an `Err` or an error-status answer (say, 403
/// for a locked account) leaves the session as it was, so no signed-in cookie is issued. Values
/// the hook itself puts into the session are kept across the renewal.
///
/// ```
/// use actix_passkeys::{hooks::AuthenticatedHook, hooks::AuthenticationResult};
/// use actix_web::{HttpRequest, HttpResponse};
///
/// let hook = |_req: HttpRequest, result: AuthenticationResult| async move {
///     Ok::<_, actix_web::Error>(HttpResponse::Ok().json(serde_json::json!({
///         "status": "ok", "userId": result.user_id, "token": "issued-by-the-app"
///     })))
/// };
/// fn assert_hook(_: impl AuthenticatedHook) {}
/// assert_hook(hook);
/// ```
pub trait AuthenticatedHook: Send + Sync + 'static {
    /// The hook's error, answered as the app's own (its `ResponseError`).
    type Error: Into<actix_web::Error>;

    /// Builds the response for a verified sign-in.
    fn call(
        &self,
        req: HttpRequest,
        result: AuthenticationResult,
    ) -> impl Future<Output = Result<HttpResponse, Self::Error>>;
}

impl<F, Fut> AuthenticatedHook for F
where
    F: Fn(HttpRequest, AuthenticationResult) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<HttpResponse, actix_web::Error>>,
{
    type Error = actix_web::Error;

    fn call(
        &self,
        req: HttpRequest,
        result: AuthenticationResult,
    ) -> impl Future<Output = Result<HttpResponse, actix_web::Error>> {
        self(req, result)
    }
}

/// [`AuthenticatedHook`] without its types, as the service holds it.
pub(crate) trait DynHook: Send + Sync + 'static {
    fn call(
        &self,
        req: HttpRequest,
        result: AuthenticationResult,
    ) -> LocalBoxFuture<'_, Result<HttpResponse, actix_web::Error>>;
}

impl<H: AuthenticatedHook> DynHook for H {
    fn call(
        &self,
        req: HttpRequest,
        result: AuthenticationResult,
    ) -> LocalBoxFuture<'_, Result<HttpResponse, actix_web::Error>> {
        Box::pin(AuthenticatedHook::call(self, req, result).map_err(Into::into))
    }
}
