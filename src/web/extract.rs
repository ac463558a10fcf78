//! Extractors for handlers: the signed-in user, a fresh sign-in for step-up, and the two finish
//! ceremonies for custom flows.

use std::ops::Deref;

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::{
    ceremony::{authentication::AuthenticationFinish, registration::RegistrationFinish},
    error::PasskeyError,
    model::AuthenticationResult,
    web::{
        body::JsonBody,
        service::{Passkeys, VerifiedRegistration},
    },
};

#[cfg(feature = "session")]
pub use self::session_extractors::{Authenticated, Fresh};

/// Applies the rate limit, reads the finish body (within the configured limit) and runs
/// `finish` on the route's [`Passkeys`] handle; without a handle, 500 `configuration_error`.
fn ceremony<B, T>(
    req: &HttpRequest,
    payload: &mut Payload,
    finish: fn(Passkeys, HttpRequest, B) -> LocalBoxFuture<'static, Result<T, PasskeyError>>,
) -> LocalBoxFuture<'static, Result<T, PasskeyError>>
where
    B: serde::de::DeserializeOwned + 'static,
    T: 'static,
{
    let data = match Passkeys::from_req(req) {
        Ok(data) => data,
        Err(e) => return Box::pin(futures_util::future::ready(Err(e))),
    };
    let body = JsonBody::<B>::from_request(req, payload);
    let req = req.clone();
    Box::pin(async move {
        data.check_rate_limit(&req).await?;
        let body = body.await?;
        finish(data, req, body.0).await
    })
}

impl FromRequest for VerifiedRegistration {
    type Error = PasskeyError;
    type Future = LocalBoxFuture<'static, Result<Self, PasskeyError>>;

    /// Verifies a `register/finish`-shaped body (`credential`, `state`, `deviceName`) against
    /// the configured service and stores the credential before the handler runs, with the
    /// same check as the scope's `register/finish`: the request's user is resolved again and
    /// must be the user of the begin (see [`Passkeys::finish_registration`]). A flow that
    /// names its user itself calls [`Passkeys::finish_registration_for`] instead.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ceremony(req, payload, |data, req, body: RegistrationFinish| {
            Box::pin(async move { data.finish_registration(&req, body).await })
        })
    }
}

/// A verified sign-in from an `authenticate/finish`-shaped body (`credential`, `state`), for
/// login handlers that answer with their own token. The counter is already committed; the
/// session is not touched (call [`VerifiedAssertion::sign_in`] for that).
///
/// ```
/// use actix_passkeys::VerifiedAssertion;
/// use actix_web::HttpResponse;
///
/// async fn token_login(assertion: VerifiedAssertion) -> HttpResponse {
///     HttpResponse::Ok().json(serde_json::json!({
///         "token": format!("token-for-{}", assertion.user_id),
///         "userVerified": assertion.user_verified,
///     }))
/// }
/// # actix_web::web::to(token_login);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion(pub AuthenticationResult);

impl Deref for VerifiedAssertion {
    type Target = AuthenticationResult;

    fn deref(&self) -> &AuthenticationResult {
        &self.0
    }
}

impl VerifiedAssertion {
    /// Records the sign-in in the session as the scope's `authenticate/finish` does: renews the
    /// session id and stores the [`PasskeySession`](crate::hooks::PasskeySession), bound to the
    /// configured rp id. Call it only once your app accepts the sign-in (an account lock check
    /// first, for example). Without a [`Passkeys`] handle for the route: 500
    /// `configuration_error`, and the session is not touched.
    #[cfg(feature = "session")]
    pub fn sign_in(&self, req: &HttpRequest) -> Result<(), PasskeyError> {
        let passkeys = Passkeys::from_req(req)?;
        crate::web::session::sign_in(req, &self.0, passkeys.now(), passkeys.config().rp_id())
    }
}

impl FromRequest for VerifiedAssertion {
    type Error = PasskeyError;
    type Future = LocalBoxFuture<'static, Result<Self, PasskeyError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ceremony(req, payload, |data, _req, body: AuthenticationFinish| {
            Box::pin(async move {
                data.finish_authentication(body)
                    .await
                    .map(VerifiedAssertion)
            })
        })
    }
}

#[cfg(feature = "session")]
mod session_extractors {
    use std::ops::Deref;

    use actix_web::{dev::Payload, FromRequest, HttpRequest};
    use futures_util::future::LocalBoxFuture;

    use crate::{
        error::PasskeyError,
        web::{
            service::Passkeys,
            session::{signed_in, Ended, PasskeySession},
        },
    };

    /// The user signed in with a passkey (from the session bridge).
    ///
    /// Checked on every extraction, with one credential-store lookup:
    /// - the sign-in was made for this service's rp id (one tenant's session is not signed in
    ///   on another, even with a shared cookie);
    /// - its credential still exists, is not disabled (clone detection) and still belongs to
    ///   the session's user; otherwise the session is purged. Revoking a passkey thereby ends
    ///   every session made with it, on its next request.
    ///
    /// Rejects with 401 `not_authenticated` when there is no such sign-in, 503
    /// `store_unavailable` when the credential store fails, and 500 `configuration_error` when
    /// no [`Passkeys`](crate::Passkeys) handle is registered for the route (mount with
    /// [`Passkeys::configure`](crate::Passkeys::configure); that case is also logged as an
    /// error, even under `Option`). Use `Option<Authenticated>` for pages that work either way
    /// (any rejection reads as `None`).
    ///
    /// ```
    /// use actix_passkeys::Authenticated;
    /// use actix_web::HttpResponse;
    ///
    /// async fn me(user: Authenticated) -> HttpResponse {
    ///     HttpResponse::Ok().body(format!("hello {}", user.user_id))
    /// }
    ///
    /// async fn home(user: Option<Authenticated>) -> HttpResponse {
    ///     match user {
    ///         Some(user) => HttpResponse::Ok().body(format!("welcome back {}", user.user_id)),
    ///         None => HttpResponse::Ok().body("please sign in"),
    ///     }
    /// }
    /// # actix_web::web::to(me);
    /// # actix_web::web::to(home);
    /// ```
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Authenticated(PasskeySession);

    impl Authenticated {
        /// The session state.
        pub fn into_inner(self) -> PasskeySession {
            self.0
        }
    }

    impl Deref for Authenticated {
        type Target = PasskeySession;

        fn deref(&self) -> &PasskeySession {
            &self.0
        }
    }

    impl FromRequest for Authenticated {
        type Error = PasskeyError;
        type Future = LocalBoxFuture<'static, Result<Self, PasskeyError>>;

        fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
            let req = req.clone();
            Box::pin(async move {
                let data = Passkeys::from_req(&req)?;
                signed_in(&req, &data, Ended::Purge)
                    .await
                    .map(Authenticated)
            })
        }
    }

    /// A passkey sign-in younger than the configured
    /// [`fresh_window`](crate::PasskeyConfigBuilder::fresh_window): the step-up gate for
    /// sensitive actions. Older sign-ins get 401 `reauthentication_required` (sign in again,
    /// then retry); no sign-in gets 401 `not_authenticated`. The sign-in is checked as
    /// [`Authenticated`] checks it (tenant, credential not revoked, disabled or reassigned)
    /// before its age.
    ///
    /// ```
    /// use actix_passkeys::Fresh;
    /// use actix_web::HttpResponse;
    ///
    /// async fn delete_account(user: Fresh) -> HttpResponse {
    ///     HttpResponse::Ok().body(format!("deleting {}", user.user_id))
    /// }
    /// # actix_web::web::to(delete_account);
    /// ```
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Fresh(Authenticated);

    impl Deref for Fresh {
        type Target = PasskeySession;

        fn deref(&self) -> &PasskeySession {
            &self.0
        }
    }

    impl FromRequest for Fresh {
        type Error = PasskeyError;
        type Future = LocalBoxFuture<'static, Result<Self, PasskeyError>>;

        fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
            let req = req.clone();
            Box::pin(async move {
                let data = Passkeys::from_req(&req)?;
                let session = signed_in(&req, &data, Ended::Purge).await?;
                let age = (data.now() - session.authenticated_at)
                    .to_std()
                    .unwrap_or_default();
                if age <= data.config().fresh_window() {
                    Ok(Fresh(Authenticated(session)))
                } else {
                    Err(PasskeyError::ReauthenticationRequired)
                }
            })
        }
    }
}
