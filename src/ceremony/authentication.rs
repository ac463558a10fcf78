//! Authentication: `authenticate/begin` and `authenticate/finish`, username-first and
//! usernameless (discoverable, including conditional mediation / autofill).

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use webauthn_rs_core::{
    error::WebauthnError,
    proto::{
        AllowCredentials, AuthenticationState, AuthenticatorAttachment, AuthenticatorTransport,
        Credential as CoreCredential, PublicKeyCredential, PublicKeyCredentialRequestOptions,
        RequestChallengeResponse,
    },
};

use super::{
    client_json,
    options::{call_hints, hints_json, offered, offered_transports},
    prf::{PrfInputs, WithPrf},
    Step,
};
use crate::{
    audit::AuditEventKind,
    config::{Hint, SignCountPolicy},
    error::PasskeyError,
    model::{b64url, AuthenticationResult, Credential, UsageUpdate},
    origin,
    store::{Ceremony, ChallengeStore, CredentialStore},
};

/// What `authenticate/begin` answers: options for `navigator.credentials.get()` and the state
/// handle to send back with the response.
///
/// Serialised as `{"publicKey", "state"}`, with [`prf`](Self::prf) (when set) written into
/// `publicKey.extensions.prf`.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct AuthenticationOptions {
    /// `PublicKeyCredentialRequestOptionsJSON`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    #[cfg_attr(feature = "openapi", serde(rename = "publicKey"))]
    pub public_key: PublicKeyCredentialRequestOptions,
    /// Opaque, single-use state handle.
    pub state: String,
    /// The `prf` extension input (`{"evalByCredential": {id: {"first": salt}}}` for the allowed
    /// credentials that support PRF) when [PRF](crate::PasskeyConfigBuilder::prf) is on and the
    /// sign-in is username-first; serialised into `publicKey.extensions.prf`.
    #[cfg_attr(feature = "openapi", serde(skip))]
    pub prf: Option<PrfInputs>,
}

impl Serialize for AuthenticationOptions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut out = s.serialize_struct("AuthenticationOptions", 2)?;
        out.serialize_field(
            "publicKey",
            &WithPrf {
                options: &self.public_key,
                prf: self.prf.as_ref(),
            },
        )?;
        out.serialize_field("state", &self.state)?;
        out.end()
    }
}

/// The `authenticate/begin` request body: a `userId` for username-first sign-in, or nothing
/// (or `null`) for usernameless sign-in.
///
/// ```
/// use actix_passkeys::{policy::Hint, wire::AuthenticationBegin};
///
/// // A custom flow asking for a security key:
/// let mut begin = AuthenticationBegin::default();
/// begin.user_id = Some("42".to_owned());
/// begin.hints = Some(vec![Hint::SecurityKey]);
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct AuthenticationBegin {
    /// The app user id to sign in, if known.
    #[serde(default, rename = "userId", alias = "user_id")]
    pub user_id: Option<String>,
    /// This ceremony's `hints`, replacing the configured
    /// [`authentication_hints`](crate::PasskeyConfigBuilder::authentication_hints) (an empty
    /// list sends none); absent: the configured ones. A hint twice is 400 `invalid_request`.
    #[serde(default)]
    pub hints: Option<Vec<Hint>>,
}

/// The `authenticate/finish` request body.
///
/// Parsed in one pass; `credential.authenticatorAttachment`, which webauthn-rs-proto drops, is
/// read into [`authenticator_attachment`](Self::authenticator_attachment). Extension results
/// other than the proto's (PRF outputs among them) are skipped unread.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct AuthenticationFinish {
    /// `AuthenticationResponseJSON` from `navigator.credentials.get()`.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = crate::web::openapi::AuthenticationResponseJson)
    )]
    pub credential: PublicKeyCredential,
    /// The state handle from `authenticate/begin`.
    pub state: String,
    /// `credential.authenticatorAttachment` (`platform` / `cross-platform`), if the browser
    /// reported one.
    #[cfg_attr(feature = "openapi", serde(skip))]
    pub authenticator_attachment: Option<AuthenticatorAttachment>,
}

/// The body as it arrives.
#[derive(Deserialize)]
struct FinishJson {
    #[serde(deserialize_with = "crate::json::object")]
    credential: client_json::Assertion,
    state: String,
}

impl<'de> Deserialize<'de> for AuthenticationFinish {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = FinishJson::deserialize(d)?;
        let (credential, authenticator_attachment) = json.credential.into_parts();
        Ok(Self {
            credential,
            state: json.state,
            authenticator_attachment,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    state: AuthenticationState,
    /// The user the ceremony was begun for; `None` for usernameless.
    user_id: Option<String>,
}

/// The BE flag of the assertion's authenticator data (flags byte after the 32-byte rpIdHash).
fn backup_eligible_flag(rsp: &PublicKeyCredential) -> bool {
    const BE: u8 = 0x08;
    rsp.response
        .authenticator_data
        .get(32)
        .is_some_and(|flags| flags & BE != 0)
}

/// Restores the engine's credential with the live counter and flags from the store's columns.
fn core_credential(c: &Credential) -> Result<CoreCredential, PasskeyError> {
    let mut core: CoreCredential =
        serde_json::from_str(&c.passkey).map_err(|e| PasskeyError::Configuration(Box::new(e)))?;
    core.counter = c.sign_count;
    core.backup_eligible = c.backup_eligible;
    core.backup_state = c.backup_state;
    Ok(core)
}

pub(crate) async fn begin<C: CredentialStore, S: ChallengeStore>(
    engine: &Step<'_>,
    credentials: &C,
    challenges: &S,
    input: AuthenticationBegin,
) -> Result<AuthenticationOptions, PasskeyError> {
    let policy = engine.config.transports_policy;
    let hints = hints_json(call_hints(
        input.hints.as_deref(),
        &engine.config.authentication_hints,
        None,
    )?);
    let user_id = input.user_id.filter(|u| !u.is_empty());
    if let Some(uid) = &user_id {
        super::check_user_id(uid)?;
    }
    let allowed_rows: Vec<Credential> = match &user_id {
        Some(uid) => credentials
            .list_for_user(uid)
            .await
            .map_err(PasskeyError::store)?
            .into_iter()
            .filter(|c| !c.is_disabled())
            .collect(),
        None => Vec::new(),
    };
    let allowed = allowed_rows
        .iter()
        .map(core_credential)
        .collect::<Result<Vec<_>, _>>()?;
    let unknown_user = user_id.is_some() && allowed.is_empty();
    let allowed_transports: Vec<(Vec<u8>, Option<Vec<AuthenticatorTransport>>)> = allowed_rows
        .iter()
        .map(|c| (c.credential_id.clone(), offered_transports(c, policy)))
        .collect();
    let builder = engine
        .core
        .new_challenge_authenticate_builder(allowed, Some(engine.uv_policy()))
        .map_err(|e| PasskeyError::Configuration(Box::new(e)))?
        .allow_backup_eligible_upgrade(engine.config.allow_backup_eligible_upgrade);
    let (RequestChallengeResponse { mut public_key, .. }, mut state) = engine
        .core
        .generate_challenge_authenticate(builder)
        .map_err(|e| PasskeyError::Configuration(Box::new(e)))?;
    // Real entries carry their stored transports (a UX hint), like the fake ones below.
    for (allow, (id, transports)) in public_key
        .allow_credentials
        .iter_mut()
        .zip(&allowed_transports)
    {
        if allow.id == *id {
            allow.transports = transports.clone();
        }
    }
    // A PRF salt for every allowed credential (username-first only: a usernameless begin
    // knows no credentials): its stored one when it supports PRF, else one derived from its id,
    // as for fake entries, so the answer does not tell which passkeys (or users) have PRF.
    let mut prf = PrfInputs::by_credential(allowed_rows.iter().map(|c| {
        let salt = match (&c.prf_salt, c.prf_enabled) {
            (Some(salt), true) => salt.clone(),
            _ => engine.secret.derived_prf_salt(&c.credential_id),
        };
        (c.id_b64(), salt)
    }));
    if let (true, Some(uid)) = (unknown_user, &user_id) {
        // Unknown user (or one with no usable passkey): answer with deterministic fake ids,
        // transports and PRF salts derived from the server secret, so known and unknown users
        // look alike.
        let fake = engine.fake_ids(uid)?;
        prf = PrfInputs::by_credential(
            fake.iter()
                .map(|id| (b64url(id), engine.secret.derived_prf_salt(id))),
        );
        public_key.allow_credentials = fake
            .into_iter()
            .map(|id| AllowCredentials {
                type_: "public-key".to_owned(),
                transports: {
                    let (stored, synced) = engine.secret.fake_profile(&id);
                    offered(stored, synced, policy)
                },
                id,
            })
            .collect();
    }
    public_key.hints = hints;
    // The finish step verifies against the live stored credential, never a copy in the state.
    state.set_allowed_credentials(Vec::new());
    let handle = engine
        .save(
            challenges,
            Ceremony::Authentication,
            user_id.as_deref(),
            &Payload {
                state,
                user_id: user_id.clone(),
            },
        )
        .await?;
    engine.audit(
        engine
            .event(AuditEventKind::AuthenticationBegan)
            .user(user_id.as_deref()),
    );
    Ok(AuthenticationOptions {
        public_key,
        state: handle,
        prf: (engine.config.prf && !prf.is_empty()).then_some(prf),
    })
}

/// Verifies a sign-in (the test vectors' entry point; the service calls [`finish_signalled`]).
#[cfg(test)]
pub(crate) async fn finish<C: CredentialStore, S: ChallengeStore>(
    engine: &Step<'_>,
    credentials: &C,
    challenges: &S,
    input: AuthenticationFinish,
) -> Result<AuthenticationResult, PasskeyError> {
    finish_signalled(engine, credentials, challenges, input, &mut None).await
}

/// Verifies a sign-in and commits its counter, also reporting (in `unknown`) the credential id of a usernameless sign-in whose
/// credential is not in the store: the case for a `signalUnknownCredential`.
pub(crate) async fn finish_signalled<C: CredentialStore, S: ChallengeStore>(
    engine: &Step<'_>,
    credentials: &C,
    challenges: &S,
    input: AuthenticationFinish,
    unknown: &mut Option<Vec<u8>>,
) -> Result<AuthenticationResult, PasskeyError> {
    let payload: Payload = engine
        .consume(challenges, &input.state, Ceremony::Authentication)
        .await
        .map_err(|e| engine.fail(AuditEventKind::AuthenticationFailed, None, None, e))?;
    let rsp = &input.credential;
    let cred_id = Some(b64url(&rsp.raw_id));
    let bound = payload.user_id.as_deref();
    super::check_credential_id(&rsp.type_, &rsp.id, &rsp.raw_id)
        .map_err(|e| engine.fail(AuditEventKind::AuthenticationFailed, bound, None, e))?;
    let stored = credentials.get(&rsp.raw_id).await.map_err(|e| {
        engine.fail(
            AuditEventKind::AuthenticationFailed,
            bound,
            cred_id.clone(),
            PasskeyError::store(e),
        )
    })?;
    // Username-first, an id that is not one of the bound user's credentials (a fake id answered
    // for an unknown user, another user's credential, a deleted one) answers exactly like a bad
    // signature on a real credential, so a finish cannot tell known from unknown users.
    // Usernameless, an unknown credential stays `credential_not_found` (with the
    // `unknownCredential` signal): no user was named, so nothing is revealed.
    let Some(stored) = stored.filter(|c| bound.is_none_or(|u| u == c.user_id)) else {
        let err = match bound {
            Some(_) => PasskeyError::AssertionVerificationFailed(None),
            None => {
                *unknown = Some(rsp.raw_id.to_vec());
                PasskeyError::CredentialNotFound
            }
        };
        return Err(engine.fail(AuditEventKind::AuthenticationFailed, bound, cred_id, err));
    };
    engine.about(&stored);
    let owner = Some(stored.user_id.as_str());
    // The user handle, when given, must be the owner's; usernameless sign-in requires it.
    let handle_ok = match &rsp.response.user_handle {
        Some(h) => bool::from(h.as_slice().ct_eq(stored.user_handle.as_slice())),
        None => bound.is_some(),
    };
    if !handle_ok {
        return Err(engine.fail(
            AuditEventKind::AuthenticationFailed,
            owner,
            cred_id,
            PasskeyError::AssertionVerificationFailed(None),
        ));
    }
    if !origin::accepted(&engine.config, &rsp.response.client_data_json) {
        return Err(engine.fail(
            AuditEventKind::AuthenticationFailed,
            owner,
            cred_id,
            PasskeyError::AssertionVerificationFailed(None),
        ));
    }
    let mut core = core_credential(&stored)?;
    if engine.config.allow_backup_eligible_upgrade
        && !core.backup_eligible
        && backup_eligible_flag(rsp)
    {
        // The engine checks BS against the *stored* BE, so a credential that became
        // synchronised (BE 0→1 together with BS 1) would be refused although the policy allows
        // the upgrade. BE 1→0 stays refused by the engine.
        core.backup_eligible = true;
    }
    let result = match engine
        .core
        .authenticate_single_credential(rsp, &payload.state, &core)
    {
        // The disabled state is told only to whoever holds the key: it is checked once the
        // signature has verified (a counter that did not advance is checked after the
        // signature too).
        Ok(_) | Err(WebauthnError::CredentialPossibleCompromise) if stored.is_disabled() => {
            return Err(engine.fail(
                AuditEventKind::AuthenticationFailed,
                owner,
                cred_id,
                PasskeyError::CredentialDisabled,
            ));
        }
        Ok(r) => r,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            return Err(clone_suspected(engine, credentials, &stored).await);
        }
        Err(e) => {
            log::debug!("passkeys: assertion verification failed: {e}");
            return Err(engine.fail(
                AuditEventKind::AuthenticationFailed,
                owner,
                cred_id,
                PasskeyError::AssertionVerificationFailed(Some(Box::new(e))),
            ));
        }
    };
    let now = engine.clock.now();
    let update = UsageUpdate {
        credential_id: stored.credential_id.clone(),
        old_sign_count: stored.sign_count,
        new_sign_count: result.counter(),
        backup_eligible: result.backup_eligible(),
        backup_state: result.backup_state(),
        used_at: now,
        attachment: input.authenticator_attachment,
    };
    let applied = credentials.update_usage(&update).await.map_err(|e| {
        engine.fail(
            AuditEventKind::AuthenticationFailed,
            owner,
            cred_id.clone(),
            PasskeyError::store(e),
        )
    })?;
    if !applied {
        // Another sign-in with the same counter won the race (or the credential was disabled
        // meanwhile): never two successes for one counter value.
        return Err(engine.fail(
            AuditEventKind::AuthenticationFailed,
            owner,
            cred_id,
            PasskeyError::AssertionVerificationFailed(None),
        ));
    }
    engine.audit(
        engine
            .event(AuditEventKind::AuthenticationSucceeded)
            .user(owner)
            .credential(cred_id),
    );
    let mut credential = stored;
    credential.sign_count = update.new_sign_count;
    credential.backup_eligible = update.backup_eligible;
    credential.backup_state = update.backup_state;
    credential.last_used_at = Some(now);
    credential.last_attachment = update.attachment;
    Ok(AuthenticationResult {
        user_id: credential.user_id.clone(),
        cross_device: credential.is_cross_device(update.attachment),
        authenticator_attachment: update.attachment,
        credential,
        user_verified: result.user_verified(),
        usernameless: bound.is_none(),
    })
}

/// A verified signature with a counter that did not advance: audit, apply the policy, refuse.
async fn clone_suspected<C: CredentialStore>(
    engine: &Step<'_>,
    credentials: &C,
    stored: &Credential,
) -> PasskeyError {
    let owner = Some(stored.user_id.as_str());
    let cred_id = Some(stored.id_b64());
    engine.audit(
        engine
            .event(AuditEventKind::CloneSuspected)
            .user(owner)
            .credential(cred_id.clone()),
    );
    if engine.config.sign_count_policy == SignCountPolicy::Disable {
        match credentials
            .disable(&stored.credential_id, engine.clock.now(), "clone_suspected")
            .await
        {
            Ok(true) => engine.audit(
                engine
                    .event(AuditEventKind::CredentialDisabled)
                    .user(owner)
                    .credential(cred_id.clone())
                    .reason("clone_suspected"),
            ),
            Ok(false) => {}
            Err(e) => {
                return engine.fail(
                    AuditEventKind::AuthenticationFailed,
                    owner,
                    cred_id,
                    PasskeyError::store(e),
                )
            }
        }
    }
    engine.fail(
        AuditEventKind::AuthenticationFailed,
        owner,
        cred_id,
        PasskeyError::CloneDetected,
    )
}
