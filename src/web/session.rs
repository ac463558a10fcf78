//! The actix-session bridge: typed passkey sign-in state in the session.
//!
//! On a verified sign-in the session id is renewed (no fixation) and a [`PasskeySession`] is
//! stored under one key; [`Authenticated`](crate::Authenticated) reads it back. Only ids and
//! timestamps go into the session — never ceremony state (that stays in the
//! [`ChallengeStore`](crate::store::ChallengeStore)).

use actix_session::{Session, SessionExt as _};
use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use futures_util::future::{ready, LocalBoxFuture};
use serde::{Deserialize, Serialize};

use crate::{
    error::PasskeyError,
    model::{AuthenticationResult, PasskeyUser},
    web::resolver::UserResolver,
};

/// Session key of the [`PasskeySession`] state.
pub const PASSKEY_SESSION_KEY: &str = "actix_passkeys.signed_in";
/// Session key of the identified (not necessarily passkey-signed-in) user, see [`identify`].
pub const IDENTIFIED_USER_KEY: &str = "actix_passkeys.user";

/// Who signed in with which passkey, and when. Stored in the session after a verified sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PasskeySession {
    /// The signed-in app user id.
    pub user_id: String,
    /// The credential used (base64url).
    pub credential_id: String,
    /// When the sign-in was verified.
    pub authenticated_at: DateTime<Utc>,
    /// Whether the user was verified in that assertion.
    pub user_verified: bool,
}

fn insert_error(e: impl std::error::Error + Send + Sync + 'static) -> PasskeyError {
    PasskeyError::Configuration(Box::new(e))
}

/// Records a verified sign-in: renews the session id, forgets any previously identified user,
/// and stores the [`PasskeySession`].
pub(crate) fn sign_in(
    req: &HttpRequest,
    result: &AuthenticationResult,
    at: DateTime<Utc>,
) -> Result<(), PasskeyError> {
    let session = req.get_session();
    session.renew();
    session.remove(IDENTIFIED_USER_KEY);
    let state = PasskeySession {
        user_id: result.user_id.clone(),
        credential_id: result.credential.id_b64(),
        authenticated_at: at,
        user_verified: result.user_verified,
    };
    session
        .insert(PASSKEY_SESSION_KEY, state)
        .map_err(insert_error)
}

/// Puts an identified user into the session — after sign-up, or a password sign-in — so the
/// default resolver lets them register passkeys. Renews the session id and drops any passkey
/// sign-in of another user.
///
/// ```
/// use actix_passkeys::{identify, PasskeyUser};
/// use actix_session::Session;
/// use actix_web::{web, HttpResponse};
///
/// async fn signup(session: Session, form: web::Json<serde_json::Value>) -> actix_web::Result<HttpResponse> {
///     let name = form["username"].as_str().unwrap_or_default().to_owned();
///     identify(&session, &PasskeyUser::new(name.clone(), name.clone(), name))?;
///     Ok(HttpResponse::Ok().finish())
/// }
/// # actix_web::web::to(signup);
/// ```
pub fn identify(session: &Session, user: &PasskeyUser) -> Result<(), PasskeyError> {
    session.renew();
    let keep = session
        .get::<PasskeySession>(PASSKEY_SESSION_KEY)
        .ok()
        .flatten()
        .is_some_and(|s| s.user_id == user.id);
    if !keep {
        session.remove(PASSKEY_SESSION_KEY);
    }
    session
        .insert(IDENTIFIED_USER_KEY, user)
        .map_err(insert_error)
}

/// Signs out: purges the whole session (server-side state and cookie).
pub fn sign_out(session: &Session) {
    session.purge();
}

/// Reads the passkey sign-in state of a request, if any.
pub(crate) fn current(req: &HttpRequest) -> Option<PasskeySession> {
    req.get_session()
        .get::<PasskeySession>(PASSKEY_SESSION_KEY)
        .ok()
        .flatten()
}

/// The default [`UserResolver`]: the user signed in with a passkey, else the user the app
/// [`identify`]-ed in the session, else `not_authenticated`.
///
/// For a passkey-signed-in user only the id is known, so `name` and `display_name` are the id;
/// apps that want other names plug their own resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionUserResolver;

impl UserResolver for SessionUserResolver {
    fn resolve(
        &self,
        req: HttpRequest,
    ) -> LocalBoxFuture<'static, Result<PasskeyUser, PasskeyError>> {
        let user = match current(&req) {
            Some(s) => Some(PasskeyUser::new(
                s.user_id.clone(),
                s.user_id.clone(),
                s.user_id,
            )),
            None => req
                .get_session()
                .get::<PasskeyUser>(IDENTIFIED_USER_KEY)
                .ok()
                .flatten(),
        };
        Box::pin(ready(user.ok_or(PasskeyError::NotAuthenticated)))
    }
}
