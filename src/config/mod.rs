//! Relying-party configuration: [`PasskeyConfig`], its builder, environment loading and validation.
//!
//! A config is validated once, when it is built; a [`PasskeyConfig`] value is always valid.

// One job per file: the policy enums (`policy`), the builder and its validation (`builder`), the
// `PASSKEYS_*` environment overlay (`env`); origins are parsed and matched in `crate::origin`.
// Every public item is re-exported here: each `actix_passkeys::policy::X` path still resolves.

use std::{fmt, time::Duration};

mod builder;
mod documents;
mod env;
mod native;
mod policy;

pub(crate) use self::documents::PasskeyEndpoints;
pub use self::{
    builder::PasskeyConfigBuilder,
    native::NativeApp,
    policy::{
        Attachment, AttestationPreference, Hint, ResidentKey, SignCountPolicy, TransportsPolicy,
        UserVerification,
    },
};
pub use crate::origin::Origin;

/// Default lifetime of a ceremony challenge: 5 minutes.
pub const DEFAULT_CHALLENGE_TTL: Duration = Duration::from_secs(300);
/// Longest accepted challenge lifetime: 1 hour.
pub const MAX_CHALLENGE_TTL: Duration = Duration::from_secs(3600);
/// Default client-side ceremony timeout hint: 60 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default step-up window of [`Fresh`](crate::Fresh): 5 minutes.
pub const DEFAULT_FRESH_WINDOW: Duration = Duration::from_secs(300);
/// Default window after [`identify`](crate::Passkeys::identify) in which an identified user may begin
/// registering a passkey: 10 minutes.
pub const DEFAULT_IDENTIFY_WINDOW: Duration = Duration::from_secs(600);
/// Default JSON body limit of the ceremony routes: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Most distinct registrable-domain labels the origins may span: browsers read only the first
/// five labels of a `/.well-known/webauthn` document (WebAuthn Level 3, Related Origin Requests).
pub const MAX_RELATED_ORIGIN_LABELS: usize = 5;

/// A configuration value was rejected. [`ConfigError::field`] names the offending setting.
///
/// ```
/// use actix_passkeys::PasskeyConfig;
///
/// let err = PasskeyConfig::builder("example.com", "Example")
///     .origin("https://example.com/login")
///     .build()
///     .unwrap_err();
/// assert_eq!(err.field(), "origins");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: &'static str,
    reason: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }

    /// The name of the setting that was rejected (for example `"origins"` or `"challenge_ttl"`).
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// Why it was rejected.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid passkey setting `{}`: {}",
            self.field, self.reason
        )
    }
}

impl std::error::Error for ConfigError {}

/// The relying party's policy for every ceremony. Build it with [`PasskeyConfig::builder`] or
/// [`PasskeyConfig::from_env`].
///
/// ```
/// use std::time::Duration;
/// use actix_passkeys::{PasskeyConfig, policy::UserVerification};
///
/// let config = PasskeyConfig::builder("example.com", "Example Inc.")
///     .origin("https://example.com")
///     .origin("https://login.example.com")
///     .challenge_ttl(Duration::from_secs(120))
///     .user_verification(UserVerification::Required)
///     .build()?;
/// assert_eq!(config.rp_id(), "example.com");
/// # Ok::<(), actix_passkeys::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PasskeyConfig {
    pub(crate) rp_id: String,
    pub(crate) rp_name: String,
    pub(crate) origins: Vec<Origin>,
    pub(crate) allow_subdomains: bool,
    pub(crate) challenge_ttl: Duration,
    pub(crate) timeout: Duration,
    pub(crate) user_verification: UserVerification,
    pub(crate) attestation: AttestationPreference,
    pub(crate) attachment: Option<Attachment>,
    pub(crate) resident_key: ResidentKey,
    pub(crate) sign_count_policy: SignCountPolicy,
    pub(crate) allow_backup_eligible_upgrade: bool,
    pub(crate) body_limit: usize,
    pub(crate) fresh_window: Duration,
    pub(crate) identify_window: Duration,
    pub(crate) top_origins: Vec<Origin>,
    pub(crate) registration_hints: Vec<Hint>,
    pub(crate) authentication_hints: Vec<Hint>,
    pub(crate) transports_policy: TransportsPolicy,
    pub(crate) native_apps: Vec<NativeApp>,
    pub(crate) passkey_endpoints: PasskeyEndpoints,
    pub(crate) prf: bool,
}

/// Checks a list of hints: none given twice, none contradicting `attachment` (`client-device`
/// asks for a platform authenticator, `security-key` and `hybrid` for a roaming one).
pub(crate) fn check_hints(
    hints: &[Hint],
    attachment: Option<Attachment>,
) -> Result<(), &'static str> {
    for (i, hint) in hints.iter().enumerate() {
        if hints[..i].contains(hint) {
            return Err("hints must not name a hint twice.");
        }
        if attachment.is_some_and(|a| a != hint.attachment()) {
            return Err("hints must not contradict the authenticator attachment.");
        }
    }
    Ok(())
}

impl PasskeyConfig {
    /// Starts a builder for relying party id `rp_id` (a registrable domain such as
    /// `example.com`, or `localhost`) shown to users as `rp_name`.
    pub fn builder(rp_id: impl Into<String>, rp_name: impl Into<String>) -> PasskeyConfigBuilder {
        PasskeyConfigBuilder {
            rp_id: rp_id.into(),
            rp_name: rp_name.into(),
            origins: Vec::new(),
            related_origins: Vec::new(),
            allow_subdomains: false,
            challenge_ttl: DEFAULT_CHALLENGE_TTL,
            timeout: DEFAULT_TIMEOUT,
            user_verification: UserVerification::default(),
            danger_uv_discouraged: false,
            attestation: AttestationPreference::default(),
            attachment: None,
            resident_key: ResidentKey::default(),
            sign_count_policy: SignCountPolicy::default(),
            allow_backup_eligible_upgrade: true,
            body_limit: DEFAULT_BODY_LIMIT,
            fresh_window: DEFAULT_FRESH_WINDOW,
            identify_window: DEFAULT_IDENTIFY_WINDOW,
            top_origins: Vec::new(),
            registration_hints: Vec::new(),
            authentication_hints: Vec::new(),
            transports_policy: TransportsPolicy::default(),
            native_apps: Vec::new(),
            enroll_url: None,
            manage_url: None,
            prf_usage_details_url: None,
            prf: false,
        }
    }

    /// Builds a config entirely from `PASSKEYS_*` environment variables (see
    /// [`PasskeyConfigBuilder::apply_env`]); `PASSKEYS_RP_ID` and `PASSKEYS_ORIGINS` are required.
    ///
    /// ```
    /// // With no PASSKEYS_* variables set, the rp id is missing:
    /// # std::env::remove_var("PASSKEYS_RP_ID");
    /// let err = actix_passkeys::PasskeyConfig::from_env().unwrap_err();
    /// assert_eq!(err.field(), "rp_id");
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder("", "").apply_env()?.build()
    }

    /// The relying party id.
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// The relying party's display name.
    pub fn rp_name(&self) -> &str {
        &self.rp_name
    }

    /// The accepted origins: those given with [`PasskeyConfigBuilder::origin`], then the
    /// related origins given with [`PasskeyConfigBuilder::related_origin`].
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// Whether subdomains of the web origins are accepted.
    pub fn allow_subdomains(&self) -> bool {
        self.allow_subdomains
    }

    /// How long a begun ceremony may take before its challenge expires.
    pub fn challenge_ttl(&self) -> Duration {
        self.challenge_ttl
    }

    /// The client-side timeout hint.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The user verification policy.
    pub fn user_verification(&self) -> UserVerification {
        self.user_verification
    }

    /// The attestation preference.
    pub fn attestation(&self) -> AttestationPreference {
        self.attestation
    }

    /// The preferred authenticator attachment, if any.
    pub fn attachment(&self) -> Option<Attachment> {
        self.attachment
    }

    /// The resident key (discoverable credential) requirement.
    pub fn resident_key(&self) -> ResidentKey {
        self.resident_key
    }

    /// The sign-count (clone detection) policy.
    pub fn sign_count_policy(&self) -> SignCountPolicy {
        self.sign_count_policy
    }

    /// Whether a credential may become backup eligible after registration (BE false→true).
    pub fn allow_backup_eligible_upgrade(&self) -> bool {
        self.allow_backup_eligible_upgrade
    }

    /// The JSON body limit of the ceremony routes, in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// How recent a passkey sign-in must be for [`Fresh`](crate::Fresh) routes.
    pub fn fresh_window(&self) -> Duration {
        self.fresh_window
    }

    /// How long after [`identify`](crate::Passkeys::identify) the session bridge accepts the identified
    /// user (see [`PasskeyConfigBuilder::identify_window`]).
    pub fn identify_window(&self) -> Duration {
        self.identify_window
    }

    /// The top-level origins that may embed a sign-in in a cross-origin iframe (see
    /// [`PasskeyConfigBuilder::top_origin`]); empty (the default) refuses every
    /// `crossOrigin: true` response.
    pub fn top_origins(&self) -> &[Origin] {
        &self.top_origins
    }

    /// The `hints` sent in registration options (see
    /// [`PasskeyConfigBuilder::registration_hints`]); empty: none.
    pub fn registration_hints(&self) -> &[Hint] {
        &self.registration_hints
    }

    /// The `hints` sent in sign-in options (see
    /// [`PasskeyConfigBuilder::authentication_hints`]); empty: none.
    pub fn authentication_hints(&self) -> &[Hint] {
        &self.authentication_hints
    }

    /// Which stored transports the options' credential entries carry.
    pub fn transports_policy(&self) -> TransportsPolicy {
        self.transports_policy
    }

    /// Whether the WebAuthn `prf` extension is asked for (see [`PasskeyConfigBuilder::prf`]).
    pub fn prf(&self) -> bool {
        self.prf
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn base() -> PasskeyConfigBuilder {
        PasskeyConfig::builder("example.com", "Example").origin("https://example.com")
    }

    #[test]
    fn hints_twice_or_against_the_attachment_are_refused() {
        use Hint::{ClientDevice, Hybrid, SecurityKey};
        assert_eq!(check_hints(&[], Some(Attachment::Platform)), Ok(()));
        assert_eq!(
            check_hints(&[SecurityKey, Hybrid, ClientDevice], None),
            Ok(())
        );
        assert!(check_hints(&[Hybrid, SecurityKey, Hybrid], None).is_err());
        assert_eq!(
            check_hints(&[SecurityKey, Hybrid], Some(Attachment::CrossPlatform)),
            Ok(())
        );
        assert_eq!(
            check_hints(&[ClientDevice], Some(Attachment::Platform)),
            Ok(())
        );
        for (hint, attachment) in [
            (ClientDevice, Attachment::CrossPlatform),
            (SecurityKey, Attachment::Platform),
            (Hybrid, Attachment::Platform),
        ] {
            assert!(
                check_hints(&[hint], Some(attachment)).is_err(),
                "{hint:?} {attachment:?}"
            );
        }
    }

    #[test]
    fn related_origins_are_validated_and_listed() {
        for bad in [
            "android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
            "http://example.org",
            "https://example.org/",
            "https://example.org/path",
            "https://user@example.org",
            "https://10.0.0.1",
            "not a url",
        ] {
            let err = base().related_origin(bad).build().expect_err(bad);
            assert_eq!(err.field(), "origins", "{bad}");
        }
        let config = base()
            .origin("https://example.com") // duplicate: listed once
            .origin("android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
            .related_origin("https://example.org:8443")
            .build()
            .expect("valid");
        assert_eq!(
            config.web_origins(),
            ["https://example.com", "https://example.org:8443"]
        );
        assert_eq!(
            config.well_known_document(),
            serde_json::json!({"origins": ["https://example.com", "https://example.org:8443"]})
        );
        let vars: HashMap<String, String> = [(
            "PASSKEYS_RELATED_ORIGINS".to_owned(),
            "https://example.org, https://example.net".to_owned(),
        )]
        .into_iter()
        .collect();
        let config = base()
            .apply_vars(&vars)
            .and_then(PasskeyConfigBuilder::build)
            .expect("valid");
        assert_eq!(config.origins().len(), 3);
    }
}
