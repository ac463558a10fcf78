//! Registration: `register/begin` and `register/finish`.

use serde::{Deserialize, Serialize};
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AuthenticatorAttachment, CreationChallengeResponse,
    PublicKeyCredentialCreationOptions, PublicKeyCredentialDescriptor, RegisterPublicKeyCredential,
    RegistrationState, RequestRegistrationExtensions, ResidentKeyRequirement,
};

use super::{
    client_json, metadata,
    options::{call_hints, hints_json, offered_transports},
    prf::{PrfInputs, WithPrf},
    Step,
};
use crate::{
    audit::AuditEventKind,
    config::{Attachment, AttestationPreference, Hint, ResidentKey},
    error::PasskeyError,
    model::{b64url, fit_device_name, validate_device_name, Credential, PasskeyUser, PrfSalt},
    origin,
    store::{Ceremony, ChallengeStore, CredentialStore},
};

/// What `register/begin` answers: options for `navigator.credentials.create()` and the state
/// handle to send back with the response.
///
/// Serialised as `{"publicKey", "state", "mediation"?}`, with [`prf`](Self::prf) (when set)
/// written into `publicKey.extensions.prf`.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RegistrationOptions {
    /// `PublicKeyCredentialCreationOptionsJSON`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    #[cfg_attr(feature = "openapi", serde(rename = "publicKey"))]
    pub public_key: PublicKeyCredentialCreationOptions,
    /// Opaque, single-use state handle.
    pub state: String,
    /// `"conditional"` when the begin asked for a conditional create: pass it to
    /// `navigator.credentials.create({ mediation, publicKey })`. Absent otherwise.
    pub mediation: Option<Mediation>,
    /// The `prf` extension input (`{"eval": {"first": salt}}` with the new credential's salt)
    /// when [PRF](crate::PasskeyConfigBuilder::prf) is on; serialised into
    /// `publicKey.extensions.prf` (webauthn-rs-proto has no member for it).
    #[cfg_attr(feature = "openapi", serde(skip))]
    pub prf: Option<PrfInputs>,
}

impl Serialize for RegistrationOptions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let fields = 2 + usize::from(self.mediation.is_some());
        let mut out = s.serialize_struct("RegistrationOptions", fields)?;
        out.serialize_field(
            "publicKey",
            &WithPrf {
                options: &self.public_key,
                prf: self.prf.as_ref(),
            },
        )?;
        out.serialize_field("state", &self.state)?;
        if let Some(mediation) = &self.mediation {
            out.serialize_field("mediation", mediation)?;
        }
        out.end()
    }
}

/// How the browser should mediate a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Mediation {
    /// Conditional create: the browser's password manager may create a passkey without a
    /// dialog, right after the user signed in with a password (a passkey upgrade).
    Conditional,
}

/// The optional `register/begin` request body (also what a custom flow passes to
/// [`Passkeys::start_registration_with`](crate::Passkeys::start_registration_with)).
///
/// ```
/// use actix_passkeys::{policy::Hint, wire::{Mediation, RegistrationBegin}};
///
/// let begin: RegistrationBegin =
///     serde_json::from_str(r#"{"mediation":"conditional","hints":["client-device"]}"#)?;
/// assert_eq!(begin.mediation, Some(Mediation::Conditional));
/// assert_eq!(begin.hints, Some(vec![Hint::ClientDevice]));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RegistrationBegin {
    /// `"conditional"` for a conditional create (passkey upgrade after a fresh password
    /// sign-in); absent for an ordinary registration.
    #[serde(default)]
    pub mediation: Option<Mediation>,
    /// This ceremony's `hints`, replacing the configured
    /// [`registration_hints`](crate::PasskeyConfigBuilder::registration_hints) (an empty list
    /// sends none); absent: the configured ones. A hint twice, or one that contradicts the
    /// configured attachment, is 400 `invalid_request`.
    #[serde(default)]
    pub hints: Option<Vec<Hint>>,
}

/// The `register/finish` request body.
///
/// Parsed in one pass; `credential.clientExtensionResults.prf`, which webauthn-rs-proto drops,
/// is read into [`prf_enabled`](Self::prf_enabled) (PRF results, if any, are skipped unread).
#[derive(Debug, Clone)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RegistrationFinish {
    /// `RegistrationResponseJSON` from `navigator.credentials.create()`.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = crate::web::openapi::RegistrationResponseJson)
    )]
    pub credential: RegisterPublicKeyCredential,
    /// The state handle from `register/begin`.
    pub state: String,
    /// The user's name for the passkey (optional; ≤ 64 characters, no control characters).
    #[cfg_attr(feature = "openapi", serde(rename = "deviceName"))]
    pub device_name: Option<String>,
    /// Whether the client said the credential supports the `prf` extension
    /// (`credential.clientExtensionResults.prf.enabled`, or PRF results were given).
    #[cfg_attr(feature = "openapi", serde(skip))]
    pub prf_enabled: bool,
}

/// The body as it arrives.
#[derive(Deserialize)]
struct FinishJson {
    #[serde(deserialize_with = "crate::json::object")]
    credential: client_json::Registration,
    state: String,
    #[serde(default, alias = "device_name", rename = "deviceName")]
    device_name: Option<String>,
}

impl<'de> Deserialize<'de> for RegistrationFinish {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = FinishJson::deserialize(d)?;
        let (credential, prf_enabled) = json.credential.into_parts();
        Ok(Self {
            credential,
            state: json.state,
            device_name: json.device_name,
            prf_enabled,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    state: RegistrationState,
    user: PasskeyUser,
    #[serde(with = "b64")]
    user_handle: Vec<u8>,
    /// The new credential's PRF salt, sent in the options' `prf.eval` (PRF on only).
    #[serde(default)]
    prf_salt: Option<PrfSalt>,
}

mod b64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::model::b64url(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        crate::model::from_b64url(&s).ok_or_else(|| serde::de::Error::custom("bad base64url"))
    }
}

pub(crate) async fn begin<C: CredentialStore, S: ChallengeStore>(
    engine: &Step<'_>,
    credentials: &C,
    challenges: &S,
    user: PasskeyUser,
    input: RegistrationBegin,
) -> Result<RegistrationOptions, PasskeyError> {
    if user.id.is_empty() {
        return Err(PasskeyError::NotAuthenticated);
    }
    super::check_user_id(&user.id)?;
    let config = &engine.config;
    let hints = call_hints(
        input.hints.as_deref(),
        &config.registration_hints,
        config.attachment,
    )?;
    let hints = hints_json(hints);
    let existing = credentials
        .list_for_user(&user.id)
        .await
        .map_err(PasskeyError::store)?;
    // One handle per user: the first credential's, or (before the first passkey) one derived
    // from the server secret and the user id, so concurrent begins (two tabs, two instances)
    // agree and the raw user id never reaches the authenticator.
    let user_handle = existing
        .first()
        .map(|c| c.user_handle.clone())
        .unwrap_or_else(|| engine.secret.user_handle(&engine.config.rp_id, &user.id));
    let exclude = existing
        .iter()
        .map(|c| PublicKeyCredentialDescriptor {
            type_: "public-key".to_owned(),
            id: c.credential_id.clone(),
            transports: offered_transports(c, config.transports_policy),
        })
        .collect();
    let name = if user.name.is_empty() {
        &user.id
    } else {
        &user.name
    };
    let display = if user.display_name.is_empty() {
        name
    } else {
        &user.display_name
    };
    let builder = engine
        .core
        .new_challenge_register_builder(&user_handle, name, display)
        .map_err(|e| PasskeyError::Configuration(Box::new(e)))?
        .attestation(match config.attestation {
            AttestationPreference::None => AttestationConveyancePreference::None,
            AttestationPreference::Indirect => AttestationConveyancePreference::Indirect,
            AttestationPreference::Direct => AttestationConveyancePreference::Direct,
        })
        .user_verification_policy(engine.uv_policy())
        // Every extension named, none by default: `credProps` tells whether the passkey is
        // discoverable; `uvm` (webauthn-rs's default) left WebAuthn Level 3 and no browser has it.
        .extensions(Some(RequestRegistrationExtensions {
            cred_protect: None,
            uvm: None,
            cred_props: Some(true),
            min_pin_length: None,
            hmac_create_secret: None,
        }))
        .require_resident_key(config.resident_key == ResidentKey::Required)
        .authenticator_attachment(config.attachment.map(|a| match a {
            Attachment::Platform => AuthenticatorAttachment::Platform,
            Attachment::CrossPlatform => AuthenticatorAttachment::CrossPlatform,
        }));
    let (CreationChallengeResponse { mut public_key }, state) = engine
        .core
        .generate_challenge_register(builder)
        .map_err(|e| PasskeyError::Configuration(Box::new(e)))?;
    // Excluded credentials are a hint to the client (with their transports); uniqueness itself
    // is enforced by the store at insert, which answers 409 for any user.
    public_key.exclude_credentials = Some(exclude);
    public_key.hints = hints;
    // The engine can only say "required" or "discouraged"; "preferred" is what makes browsers
    // create discoverable credentials (usernameless and autofill sign-in) without refusing
    // authenticators that cannot.
    if config.resident_key == ResidentKey::Preferred {
        if let Some(sel) = public_key.authenticator_selection.as_mut() {
            sel.resident_key = Some(ResidentKeyRequirement::Preferred);
            sel.require_resident_key = false;
        }
    }
    let user_id = user.id.clone();
    let prf_salt = config.prf.then(PrfSalt::random);
    let payload = Payload {
        state,
        user,
        user_handle,
        prf_salt: prf_salt.clone(),
    };
    let handle = engine
        .save(challenges, Ceremony::Registration, Some(&user_id), &payload)
        .await?;
    engine.audit(
        engine
            .event(AuditEventKind::RegistrationBegan)
            .user(Some(&user_id)),
    );
    Ok(RegistrationOptions {
        public_key,
        state: handle,
        mediation: input.mediation,
        prf: prf_salt.map(PrfInputs::eval),
    })
}

/// Verifies and stores a registration begun for `for_user` (the user resolved again at finish,
/// or named by the app): a ceremony begun for anyone else is `challenge_not_found`.
pub(crate) async fn finish<C: CredentialStore, S: ChallengeStore>(
    engine: &Step<'_>,
    credentials: &C,
    challenges: &S,
    input: RegistrationFinish,
    for_user: &str,
) -> Result<(Credential, PasskeyUser), PasskeyError> {
    let device_name = validate_device_name(input.device_name.as_deref().unwrap_or(""))?;
    let payload: Payload = match engine
        .consume_bound(
            challenges,
            &input.state,
            Ceremony::Registration,
            Some(for_user),
        )
        .await
    {
        Ok(p) => p,
        Err(e) => {
            return Err(engine.fail(AuditEventKind::RegistrationFailed, Some(for_user), None, e))
        }
    };
    let user_id = payload.user.id.as_str();
    let reg = &input.credential;
    let cred_id = Some(b64url(&reg.raw_id));
    super::check_credential_id(&reg.type_, &reg.id, &reg.raw_id)
        .map_err(|e| engine.fail(AuditEventKind::RegistrationFailed, Some(user_id), None, e))?;
    if !origin::accepted_for_registration(&engine.config, &reg.response.client_data_json) {
        return Err(engine.fail(
            AuditEventKind::RegistrationFailed,
            Some(user_id),
            cred_id,
            PasskeyError::AttestationVerificationFailed(None),
        ));
    }
    let verified = engine
        .core
        .register_credential(reg, &payload.state, None)
        .map_err(|e| {
            log::debug!("passkeys: registration verification failed: {e}");
            engine.fail(
                AuditEventKind::RegistrationFailed,
                Some(user_id),
                cred_id.clone(),
                PasskeyError::AttestationVerificationFailed(Some(Box::new(e))),
            )
        })?;
    // The credential id is the one in the attested credential data; a `rawId` naming another
    // is refused rather than stored or audited under the wrong id.
    let cred_id = Some(b64url(&verified.cred_id));
    if verified.cred_id.as_slice() != reg.raw_id.as_slice() {
        return Err(engine.fail(
            AuditEventKind::RegistrationFailed,
            Some(user_id),
            cred_id,
            PasskeyError::InvalidRequest(
                "credential.rawId is not the credential id in the authenticator data.",
            ),
        ));
    }
    let discoverable = reg.extensions.cred_props.as_ref().and_then(|p| p.rk);
    if engine.config.resident_key == ResidentKey::Required && discoverable == Some(false) {
        return Err(engine.fail(
            AuditEventKind::RegistrationFailed,
            Some(user_id),
            cred_id,
            PasskeyError::AttestationVerificationFailed(None),
        ));
    }
    let (aaguid, public_key) = metadata::from_attestation_object(&reg.response.attestation_object);
    let transports = reg
        .response
        .transports
        .iter()
        .flatten()
        .filter_map(|t| serde_json::to_value(t).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let attestation_fmt = serde_json::to_value(&verified.attestation_format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    let passkey =
        serde_json::to_string(&verified).map_err(|e| PasskeyError::Configuration(Box::new(e)))?;
    let device_name = if device_name.is_empty() {
        aaguid
            .and_then(|a| engine.names.name(a))
            .and_then(|n| fit_device_name(&n))
            .unwrap_or_else(|| "Passkey".to_owned())
    } else {
        device_name
    };
    let credential = Credential {
        credential_id: verified.cred_id.clone(),
        user_id: user_id.to_owned(),
        user_handle: payload.user_handle.clone(),
        passkey,
        public_key,
        sign_count: verified.counter,
        transports,
        aaguid,
        backup_eligible: verified.backup_eligible,
        backup_state: verified.backup_state,
        user_verified: verified.user_verified,
        attestation_fmt,
        discoverable,
        device_name,
        created_at: engine.clock.now(),
        last_used_at: None,
        disabled_at: None,
        disabled_reason: None,
        prf_enabled: input.prf_enabled,
        // A salt only where the begin made one (PRF on) and the credential can use it.
        prf_salt: payload.prf_salt.clone().filter(|_| input.prf_enabled),
        last_attachment: None,
    };
    let inserted = credentials.insert(&credential).await.map_err(|e| {
        engine.fail(
            AuditEventKind::RegistrationFailed,
            Some(user_id),
            cred_id.clone(),
            PasskeyError::store(e),
        )
    })?;
    if !inserted {
        return Err(engine.fail(
            AuditEventKind::RegistrationFailed,
            Some(user_id),
            cred_id,
            PasskeyError::CredentialAlreadyExists,
        ));
    }
    engine.audit(
        engine
            .event(AuditEventKind::RegistrationSucceeded)
            .user(Some(user_id))
            .credential(cred_id),
    );
    Ok((credential, payload.user))
}
