//! The actix-session bridge: typed passkey sign-in state in the session.
//!
//! On a verified sign-in that the app's hook (if any) accepted, the session id is renewed (no
//! fixation) and a [`PasskeySession`] is stored under one key; [`Authenticated`](crate::Authenticated)
//! reads it back and checks, on every request, that it belongs to this relying party (tenant)
//! and that its credential still exists, is not disabled and is still the user's. Only ids and
//! timestamps go into the session — never ceremony state (that stays in the
//! [`ChallengeStore`](crate::store::ChallengeStore)).

use std::future::Future;

use actix_session::{Session, SessionExt as _};
use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    error::PasskeyError,
    model::{from_b64url, AuthenticationResult, PasskeyUser},
    web::{resolver::UserResolver, service::Passkeys},
};

/// Session key of the [`PasskeySession`] state.
pub(crate) const PASSKEY_SESSION_KEY: &str = "actix_passkeys.signed_in";
/// Session key of the identified (not necessarily passkey-signed-in) user, see
/// [`Passkeys::identify`].
pub(crate) const IDENTIFIED_USER_KEY: &str = "actix_passkeys.user";

/// Who signed in with which passkey, for which relying party, and when. Stored in the session
/// after a verified sign-in.
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
    /// The relying party id (tenant) the sign-in was verified for. Only that tenant's
    /// [`Authenticated`](crate::Authenticated) accepts the session. Sessions stored before this
    /// field existed read as an empty rp id and are not signed in anywhere.
    #[serde(default)]
    pub rp_id: String,
}

/// The identified user and when [`Passkeys::identify`] ran, as stored under
/// [`IDENTIFIED_USER_KEY`].
/// Entries without the time (stored by older versions) do not read back: not identified.
#[derive(Debug, Serialize, Deserialize)]
struct Identified {
    #[serde(flatten)]
    user: PasskeyUser,
    identified_at: DateTime<Utc>,
    /// The tenant that identified the user. `None` in entries of the former free `identify`,
    /// which knew no tenant: those count for no tenant.
    #[serde(default)]
    rp_id: Option<String>,
}

fn insert_error(e: impl std::error::Error + Send + Sync + 'static) -> PasskeyError {
    PasskeyError::Configuration(Box::new(e))
}

/// Records a verified sign-in for relying party `rp_id`: renews the session id, forgets any
/// previously identified user, and stores the [`PasskeySession`].
pub(crate) fn sign_in(
    req: &HttpRequest,
    result: &AuthenticationResult,
    at: DateTime<Utc>,
    rp_id: &str,
) -> Result<(), PasskeyError> {
    record(
        &req.get_session(),
        PasskeySession {
            user_id: result.user_id.clone(),
            credential_id: result.credential.id_b64(),
            authenticated_at: at,
            user_verified: result.user_verified,
            rp_id: rp_id.to_owned(),
        },
    )
}

/// Renews the session id, ends any identify grant and stores `state`.
fn record(session: &Session, state: PasskeySession) -> Result<(), PasskeyError> {
    session.renew();
    session.remove(IDENTIFIED_USER_KEY);
    session
        .insert(PASSKEY_SESSION_KEY, state)
        .map_err(insert_error)
}

/// After `register/finish` stored `credential`: a session that registered through its identify
/// grant (no passkey sign-in of that user on this tenant) becomes a passkey sign-in with the
/// new credential. The grant is spent: the account has a passkey now, so an identified session
/// counts for nothing any more, and this browser goes on as the passkey's owner.
pub(crate) fn registered(
    req: &HttpRequest,
    credential: &crate::model::Credential,
    at: DateTime<Utc>,
    rp_id: &str,
) -> Result<(), PasskeyError> {
    let session = req.get_session();
    let signed_in =
        current(req).is_some_and(|s| s.rp_id == rp_id && s.user_id == credential.user_id);
    let identified = session
        .get::<Identified>(IDENTIFIED_USER_KEY)
        .ok()
        .flatten()
        .is_some_and(|i| i.user.id == credential.user_id);
    // Apps with their own resolver (no identify grant here) keep their own sessions.
    if signed_in || !identified {
        return Ok(());
    }
    record(
        &session,
        PasskeySession {
            user_id: credential.user_id.clone(),
            credential_id: credential.id_b64(),
            authenticated_at: at,
            user_verified: credential.user_verified,
            rp_id: rp_id.to_owned(),
        },
    )
}

impl Passkeys {
    /// Puts an identified user into the session — right after the app created the account, or
    /// after a password sign-in — so the default resolver ([`SessionUserResolver`]) lets them
    /// register a passkey (after a password sign-in that is a
    /// handler taking `Passkeys` and `Session`, as below). Renews the session id and drops any passkey sign-in of another user.
    ///
    /// Identifying is a short-lived grant for a first passkey, not a sign-in:
    /// - it lasts [`identify_window`](crate::PasskeyConfigBuilder::identify_window) (default
    ///   10 minutes) from this call;
    /// - it counts only while the user has no (enabled) passkey, for registration and credential
    ///   management alike: once the account has a passkey, only a passkey sign-in of that user
    ///   adds, lists, renames or revokes passkeys (an identified session could otherwise delete
    ///   the owner's passkeys and then add its own);
    /// - the registration it allows turns the session into a passkey sign-in with the new passkey.
    ///
    /// The grant is bound to this service's tenant (rp id: another tenant sharing the session
    /// cookie does not accept it) and stamped with the service's
    /// [`Clock`](crate::hooks::Clock), which is what the identify window is measured with.
    ///
    /// Identify a user only once your app has authenticated them or created their account (the
    /// username was free).
    ///
    /// ```
    /// use std::{collections::HashSet, sync::Mutex};
    ///
    /// use actix_passkeys::{PasskeyError, PasskeyUser, Passkeys};
    /// use actix_session::Session;
    /// use actix_web::{http::StatusCode, web, HttpResponse};
    ///
    /// /// The app's user table (a set of usernames in this sketch).
    /// struct Users(Mutex<HashSet<String>>);
    ///
    /// async fn signup(
    ///     passkeys: Passkeys,
    ///     session: Session,
    ///     users: web::Data<Users>,
    ///     form: web::Json<serde_json::Value>,
    /// ) -> Result<HttpResponse, PasskeyError> {
    ///     let name = form["username"].as_str().unwrap_or_default().trim().to_owned();
    ///     if name.is_empty() {
    ///         return Err(PasskeyError::InvalidRequest("username is required."));
    ///     }
    ///     // Create the account first: an existing username is not yours to identify as.
    ///     let created = users
    ///         .0
    ///         .lock()
    ///         .map_err(|_| PasskeyError::Configuration("user table lock poisoned".into()))?
    ///         .insert(name.clone());
    ///     if !created {
    ///         return Ok(HttpResponse::build(StatusCode::CONFLICT).finish());
    ///     }
    ///     passkeys.identify(&session, &PasskeyUser::new(name.clone(), name.clone(), name))?;
    ///     Ok(HttpResponse::Ok().finish())
    /// }
    /// # actix_web::web::to(signup);
    /// ```
    pub fn identify(&self, session: &Session, user: &PasskeyUser) -> Result<(), PasskeyError> {
        session.renew();
        let keep = session
            .get::<PasskeySession>(PASSKEY_SESSION_KEY)
            .ok()
            .flatten()
            .is_some_and(|s| s.user_id == user.id);
        if !keep {
            session.remove(PASSKEY_SESSION_KEY);
        }
        let identified = Identified {
            user: user.clone(),
            identified_at: self.now(),
            rp_id: Some(self.config().rp_id().to_owned()),
        };
        session
            .insert(IDENTIFIED_USER_KEY, identified)
            .map_err(insert_error)
    }
}

/// Signs out: purges the whole session (server-side state and cookie).
pub fn sign_out(session: &Session) {
    session.purge();
}

/// Reads the passkey sign-in state of a request, if any (unchecked).
pub(crate) fn current(req: &HttpRequest) -> Option<PasskeySession> {
    req.get_session()
        .get::<PasskeySession>(PASSKEY_SESSION_KEY)
        .ok()
        .flatten()
}

/// What to do with a passkey sign-in whose credential is gone, disabled or reassigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Purge the whole session (the extractors: the session is over).
    Purge,
    /// Drop only the passkey sign-in and keep what the app put in the session, such as an
    /// identified user (the resolver: identify is the app's own, bounded grant).
    DropSignIn,
}

/// The request's passkey sign-in, checked: it was made for `data`'s rp id, and its credential
/// still exists, is not disabled and belongs to the session's user. A sign-in that fails the
/// credential check is ended as `ended` says; one of another tenant is only refused (the
/// cookie may be a valid session of that tenant). A store failure is `store_unavailable`.
pub(crate) async fn signed_in(
    req: &HttpRequest,
    data: &Passkeys,
    ended: Ended,
) -> Result<PasskeySession, PasskeyError> {
    let state = current(req).ok_or(PasskeyError::NotAuthenticated)?;
    if state.rp_id != data.config().rp_id() {
        return Err(PasskeyError::NotAuthenticated);
    }
    let live = match from_b64url(&state.credential_id) {
        Some(id) => data
            .credential(&id)
            .await?
            .is_some_and(|c| !c.is_disabled() && c.user_id == state.user_id),
        None => false,
    };
    if !live {
        log::info!("passkey session ended: its credential is revoked, disabled or reassigned");
        let session = req.get_session();
        match ended {
            Ended::Purge => session.purge(),
            Ended::DropSignIn => {
                session.remove(PASSKEY_SESSION_KEY);
            }
        }
        return Err(PasskeyError::NotAuthenticated);
    }
    Ok(state)
}

/// The default [`UserResolver`]: the user signed in with a passkey (checked as
/// [`Authenticated`](crate::Authenticated) checks it), else the user the app [`identify`](Passkeys::identify)-ed
/// in the session within the
/// [`identify_window`](crate::PasskeyConfigBuilder::identify_window), else
/// `not_authenticated`.
///
/// An identified user is accepted only while they have no enabled passkey (for registration
/// and management alike) and only by the tenant that identified them: adding, listing,
/// renaming or revoking the passkeys of an account that has one needs a passkey sign-in of
/// that user. Otherwise whoever once identified as a username (a sign-up race, a shared
/// computer) could delete the owner's passkeys and add their own.
///
/// For a passkey-signed-in user only the id is known, so `name` and `display_name` are the id;
/// apps that want other names plug their own resolver (and should keep these rules).
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionUserResolver;

async fn session_user(req: HttpRequest) -> Result<PasskeyUser, PasskeyError> {
    let data = Passkeys::from_req(&req)?;
    if current(&req).is_some() {
        match signed_in(&req, &data, Ended::DropSignIn).await {
            Ok(s) => {
                return Ok(PasskeyUser::new(
                    s.user_id.clone(),
                    s.user_id.clone(),
                    s.user_id,
                ))
            }
            // Not a sign-in here; an identified user of this session may still count.
            Err(PasskeyError::NotAuthenticated) => {}
            Err(e) => return Err(e),
        }
    }
    let identified = req
        .get_session()
        .get::<Identified>(IDENTIFIED_USER_KEY)
        .ok()
        .flatten()
        .ok_or(PasskeyError::NotAuthenticated)?;
    // A time ahead of the clock (clock skew between instances) counts as just now.
    let age = (data.now() - identified.identified_at)
        .to_std()
        .unwrap_or_default();
    if age > data.config().identify_window() {
        return Err(PasskeyError::NotAuthenticated);
    }
    if identified.rp_id.as_deref() != Some(data.config().rp_id()) {
        return Err(PasskeyError::NotAuthenticated);
    }
    // The grant is for a first passkey: once the account has one, only its passkey sign-in
    // manages it (listing, renaming and revoking included).
    let has_passkey = data
        .stored_credentials(&identified.user.id)
        .await?
        .iter()
        .any(|c| !c.is_disabled());
    if has_passkey {
        return Err(PasskeyError::NotAuthenticated);
    }
    Ok(identified.user)
}

impl UserResolver for SessionUserResolver {
    type Error = PasskeyError;

    fn resolve(&self, req: HttpRequest) -> impl Future<Output = Result<PasskeyUser, PasskeyError>> {
        session_user(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_stored_without_rp_id_read_as_no_tenant() {
        let old = r#"{"userId":"alice","credentialId":"AAAA","authenticatedAt":"2025-01-01T00:00:00Z","userVerified":true}"#;
        let s: PasskeySession = serde_json::from_str(old).unwrap();
        assert_eq!(s.rp_id, "");
    }

    #[test]
    fn identified_entries_without_a_time_do_not_read_back() {
        let old = r#"{"id":"bob","name":"bob","display_name":"bob"}"#;
        assert!(serde_json::from_str::<Identified>(old).is_err());
        let new = r#"{"id":"bob","name":"bob","display_name":"bob","identified_at":"2025-01-01T00:00:00Z"}"#;
        let i: Identified = serde_json::from_str(new).unwrap();
        assert_eq!(i.user.id, "bob");
    }
}
