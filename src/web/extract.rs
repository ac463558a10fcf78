//! Extractors for handlers.

#[cfg(feature = "session")]
pub use self::authenticated::Authenticated;

#[cfg(feature = "session")]
mod authenticated {
    use std::ops::Deref;

    use actix_web::{dev::Payload, FromRequest, HttpRequest};
    use futures_util::future::{ready, Ready};

    use crate::{error::PasskeyError, web::session::PasskeySession};

    /// The user signed in with a passkey (from the session bridge).
    ///
    /// Rejects with 401 `not_authenticated` when the session has no passkey sign-in; use
    /// `Option<Authenticated>` for pages that work either way.
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
        type Future = Ready<Result<Self, PasskeyError>>;

        fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
            ready(
                crate::web::session::current(req)
                    .map(Authenticated)
                    .ok_or(PasskeyError::NotAuthenticated),
            )
        }
    }
}
