//! Relying-party configuration: [`PasskeyConfig`], its builder, environment loading and validation.
//!
//! A config is validated once, when it is built; a [`PasskeyConfig`] value is always valid.

use std::{collections::HashMap, fmt, time::Duration};

use url::Url;

/// Default lifetime of a ceremony challenge: 5 minutes.
pub const DEFAULT_CHALLENGE_TTL: Duration = Duration::from_secs(300);
/// Longest accepted challenge lifetime: 1 hour.
pub const MAX_CHALLENGE_TTL: Duration = Duration::from_secs(3600);
/// Default client-side ceremony timeout hint: 60 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default step-up window of [`Fresh`](crate::Fresh): 5 minutes.
pub const DEFAULT_FRESH_WINDOW: Duration = Duration::from_secs(300);
/// Default window after [`identify`](crate::identify) in which an identified user may begin
/// registering a passkey: 10 minutes.
pub const DEFAULT_IDENTIFY_WINDOW: Duration = Duration::from_secs(600);
/// Default JSON body limit of the ceremony routes: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

const ANDROID_ORIGIN_PREFIX: &str = "android:apk-key-hash:";

/// Most distinct registrable-domain labels the origins may span: browsers read only the first
/// five labels of a `/.well-known/webauthn` document (WebAuthn Level 3, Related Origin Requests).
pub const MAX_RELATED_ORIGIN_LABELS: usize = 5;

/// User verification (PIN, biometrics) policy. It is both requested from the authenticator and
/// enforced on every response: under `Required` a response without the UV flag is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UserVerification {
    /// The UV flag must be set on every registration and assertion (default).
    #[default]
    Required,
    /// UV is asked for, responses without it are accepted (and recorded as not verified).
    Preferred,
    /// UV is not asked for; responses with or without it are accepted.
    Discouraged,
}

/// Attestation conveyance preference sent at registration.
///
/// Attestation statements are verified for integrity, but no trust anchors are configured, so a
/// preference other than `None` only records more about the authenticator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AttestationPreference {
    /// Ask for no attestation (default; best privacy and compatibility).
    #[default]
    None,
    /// Let the client anonymise the attestation.
    Indirect,
    /// Ask for the authenticator's own attestation.
    Direct,
}

/// Which kind of authenticator registration should prefer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attachment {
    /// Built into the device (Touch ID, Windows Hello, Android).
    Platform,
    /// A roaming authenticator (security key, phone via hybrid).
    CrossPlatform,
}

/// Whether registration asks for a discoverable (resident) credential.
///
/// Usernameless and autofill sign-in need discoverable credentials; `Preferred` (the default)
/// makes browsers and authenticators create them where they can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResidentKey {
    /// Ask for a server-side credential.
    Discouraged,
    /// Ask for a discoverable credential where possible (default).
    #[default]
    Preferred,
    /// Refuse to create anything but a discoverable credential.
    Required,
}

/// What to do when an assertion's signature counter does not advance (a possible clone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignCountPolicy {
    /// Refuse the sign-in with `clone_detected`; the credential stays usable (default).
    #[default]
    Reject,
    /// Refuse the sign-in and mark the credential disabled (kept, never deleted); later
    /// sign-ins with it get `credential_disabled`.
    Disable,
}

/// An origin the relying party accepts responses from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A web origin such as `https://example.com` or `http://localhost:8080`.
    Web(Url),
    /// A native Android app origin, `android:apk-key-hash:<base64url sha256>`, matched exactly.
    Android(String),
}

impl Origin {
    /// The origin as the client reports it in `clientDataJSON`.
    pub fn as_str(&self) -> String {
        match self {
            Self::Web(url) => url.origin().ascii_serialization(),
            Self::Android(s) => s.clone(),
        }
    }
}

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
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
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
/// use actix_passkeys::{PasskeyConfig, UserVerification};
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
            attestation: AttestationPreference::default(),
            attachment: None,
            resident_key: ResidentKey::default(),
            sign_count_policy: SignCountPolicy::default(),
            allow_backup_eligible_upgrade: true,
            body_limit: DEFAULT_BODY_LIMIT,
            fresh_window: DEFAULT_FRESH_WINDOW,
            identify_window: DEFAULT_IDENTIFY_WINDOW,
            top_origins: Vec::new(),
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

    /// The web origins of [`origins`](Self::origins) as serialised origins, in order, without
    /// duplicates: the `origins` member of the `/.well-known/webauthn` document (native
    /// `android:apk-key-hash:` origins are left out; they have no place in it).
    ///
    /// ```
    /// let config = actix_passkeys::PasskeyConfig::builder("example.com", "Example")
    ///     .origin("https://example.com")
    ///     .origin("android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
    ///     .related_origin("https://example.co.uk")
    ///     .build()?;
    /// assert_eq!(config.web_origins(), ["https://example.com", "https://example.co.uk"]);
    /// # Ok::<(), actix_passkeys::ConfigError>(())
    /// ```
    pub fn web_origins(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for origin in &self.origins {
            if let Origin::Web(_) = origin {
                let s = origin.as_str();
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    /// The Related Origin Requests document served at `/.well-known/webauthn`:
    /// `{"origins": [...]}` with [`web_origins`](Self::web_origins).
    ///
    /// ```
    /// let config = actix_passkeys::PasskeyConfig::builder("example.com", "Example")
    ///     .origin("https://example.com")
    ///     .related_origin("https://example.de")
    ///     .build()?;
    /// assert_eq!(
    ///     config.well_known_document().to_string(),
    ///     r#"{"origins":["https://example.com","https://example.de"]}"#
    /// );
    /// # Ok::<(), actix_passkeys::ConfigError>(())
    /// ```
    pub fn well_known_document(&self) -> serde_json::Value {
        serde_json::json!({ "origins": self.web_origins() })
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

    /// How long after [`identify`](crate::identify) the session bridge accepts the identified
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
}

/// Builder for [`PasskeyConfig`]; every setter documents its default.
#[derive(Debug, Clone)]
#[must_use]
pub struct PasskeyConfigBuilder {
    rp_id: String,
    rp_name: String,
    origins: Vec<String>,
    related_origins: Vec<String>,
    allow_subdomains: bool,
    challenge_ttl: Duration,
    timeout: Duration,
    user_verification: UserVerification,
    attestation: AttestationPreference,
    attachment: Option<Attachment>,
    resident_key: ResidentKey,
    sign_count_policy: SignCountPolicy,
    allow_backup_eligible_upgrade: bool,
    body_limit: usize,
    fresh_window: Duration,
    identify_window: Duration,
    top_origins: Vec<String>,
}

impl PasskeyConfigBuilder {
    /// Adds an accepted origin: a web origin (`https://example.com`, no path or trailing slash)
    /// or a native `android:apk-key-hash:…` origin. At least one is required.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Replaces the accepted origins.
    pub fn origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a related origin: a web origin on another site that may use this rp id through
    /// [Related Origin Requests](https://w3c.github.io/webauthn/#sctn-related-origins)
    /// (`https://example.co.uk` for rp id `example.com`). Unlike [`origin`](Self::origin), its
    /// host need not be under the rp id; it is otherwise validated the same way (https only,
    /// no path, query, fragment or userinfo). Responses from it are accepted, and it is listed
    /// in the `/.well-known/webauthn` document that [`Passkeys::well_known`](crate::Passkeys::well_known)
    /// serves, which browsers fetch from the rp id to allow it. All origins together may span
    /// at most [`MAX_RELATED_ORIGIN_LABELS`] registrable-domain labels. Default: none.
    pub fn related_origin(mut self, origin: impl Into<String>) -> Self {
        self.related_origins.push(origin.into());
        self
    }

    /// Accept subdomains of each web origin (dot boundary: `a.example.com` matches
    /// `example.com`, `evil-example.com` does not). Default: `false`.
    pub fn allow_subdomains(mut self, allow: bool) -> Self {
        self.allow_subdomains = allow;
        self
    }

    /// Challenge lifetime; must be above zero and at most one hour. Default: 300 s.
    pub fn challenge_ttl(mut self, ttl: Duration) -> Self {
        self.challenge_ttl = ttl;
        self
    }

    /// Client-side timeout hint; at least one second, at most one hour. Default: 60 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// User verification policy. Default: [`UserVerification::Required`].
    pub fn user_verification(mut self, uv: UserVerification) -> Self {
        self.user_verification = uv;
        self
    }

    /// Attestation preference. Default: [`AttestationPreference::None`].
    pub fn attestation(mut self, attestation: AttestationPreference) -> Self {
        self.attestation = attestation;
        self
    }

    /// Preferred authenticator attachment. Default: none (any).
    pub fn attachment(mut self, attachment: Option<Attachment>) -> Self {
        self.attachment = attachment;
        self
    }

    /// Resident key requirement. Default: [`ResidentKey::Preferred`].
    pub fn resident_key(mut self, rk: ResidentKey) -> Self {
        self.resident_key = rk;
        self
    }

    /// Sign-count policy. Default: [`SignCountPolicy::Reject`].
    pub fn sign_count_policy(mut self, policy: SignCountPolicy) -> Self {
        self.sign_count_policy = policy;
        self
    }

    /// Allow a credential's backup eligibility to go from false to true (some authenticators
    /// start syncing after an update). The reverse is always refused. Default: `true`.
    pub fn allow_backup_eligible_upgrade(mut self, allow: bool) -> Self {
        self.allow_backup_eligible_upgrade = allow;
        self
    }

    /// JSON body limit of the ceremony routes in bytes, at least 1 KiB. Default: 64 KiB.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How recent a passkey sign-in must be for routes guarded by [`Fresh`](crate::Fresh)
    /// (step-up before sensitive actions); above zero, at most 24 h. Default: 300 s.
    pub fn fresh_window(mut self, window: Duration) -> Self {
        self.fresh_window = window;
        self
    }

    /// How long after [`identify`](crate::identify) (a sign-up or password sign-in) the
    /// default resolver accepts the identified user for registering passkeys and managing
    /// them; after that the session needs a passkey sign-in (or a new `identify`). Above zero,
    /// at most 24 h. Default: 600 s.
    pub fn identify_window(mut self, window: Duration) -> Self {
        self.identify_window = window;
        self
    }

    /// Adds a top-level origin allowed to embed sign-in in a cross-origin iframe. A response
    /// whose client data says `"crossOrigin": true` is refused unless its `topOrigin` is exactly
    /// one of these (WebAuthn Level 3); with none configured (the default) every cross-origin
    /// response is refused. Validated like [`related_origin`](Self::related_origin): an https
    /// (or localhost) web origin, any host, no path, query, fragment or userinfo. The frame's
    /// own origin must still be an accepted origin. Registration in a cross-origin frame stays
    /// refused whatever this list holds (webauthn-rs-core 0.6 has no switch for it).
    ///
    /// ```
    /// let config = actix_passkeys::PasskeyConfig::builder("example.com", "Example")
    ///     .origin("https://login.example.com")
    ///     .top_origin("https://shop.example.net")
    ///     .build()?;
    /// assert_eq!(config.top_origins()[0].as_str(), "https://shop.example.net");
    /// # Ok::<(), actix_passkeys::ConfigError>(())
    /// ```
    pub fn top_origin(mut self, origin: impl Into<String>) -> Self {
        self.top_origins.push(origin.into());
        self
    }

    /// Overrides settings from `PASSKEYS_*` environment variables that are set:
    ///
    /// | variable | setting |
    /// |---|---|
    /// | `PASSKEYS_RP_ID` | rp id |
    /// | `PASSKEYS_RP_NAME` | rp name |
    /// | `PASSKEYS_ORIGINS` | origins, comma-separated |
    /// | `PASSKEYS_RELATED_ORIGINS` | related origins, comma-separated |
    /// | `PASSKEYS_ALLOW_SUBDOMAINS` | `true` / `false` |
    /// | `PASSKEYS_CHALLENGE_TTL` | seconds |
    /// | `PASSKEYS_TIMEOUT_MS` | milliseconds |
    /// | `PASSKEYS_USER_VERIFICATION` | `required` / `preferred` / `discouraged` |
    /// | `PASSKEYS_ATTESTATION` | `none` / `indirect` / `direct` |
    /// | `PASSKEYS_AUTHENTICATOR_ATTACHMENT` | `platform` / `cross-platform` |
    /// | `PASSKEYS_RESIDENT_KEY` | `discouraged` / `preferred` / `required` |
    /// | `PASSKEYS_SIGN_COUNT_POLICY` | `reject` / `disable` |
    /// | `PASSKEYS_BODY_LIMIT` | bytes |
    /// | `PASSKEYS_FRESH_WINDOW` | seconds |
    /// | `PASSKEYS_IDENTIFY_WINDOW` | seconds |
    /// | `PASSKEYS_TOP_ORIGINS` | top origins for cross-origin iframes, comma-separated |
    ///
    /// ```
    /// let config = actix_passkeys::PasskeyConfig::builder("localhost", "Demo")
    ///     .origin("http://localhost:8080")
    ///     .apply_env()?
    ///     .build()?;
    /// # Ok::<(), actix_passkeys::ConfigError>(())
    /// ```
    pub fn apply_env(self) -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("PASSKEYS_"))
            .collect();
        self.apply_vars(&vars)
    }

    fn apply_vars(mut self, vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim().to_owned());
        if let Some(v) = get("PASSKEYS_RP_ID") {
            self.rp_id = v;
        }
        if let Some(v) = get("PASSKEYS_RP_NAME") {
            self.rp_name = v;
        }
        if let Some(v) = get("PASSKEYS_ORIGINS") {
            self.origins = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = get("PASSKEYS_RELATED_ORIGINS") {
            self.related_origins = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = get("PASSKEYS_ALLOW_SUBDOMAINS") {
            self.allow_subdomains =
                parse_choice("allow_subdomains", &v, &[("true", true), ("false", false)])?;
        }
        if let Some(v) = get("PASSKEYS_CHALLENGE_TTL") {
            let secs: i64 = parse_number("challenge_ttl", &v)?;
            let secs = u64::try_from(secs)
                .map_err(|_| ConfigError::new("challenge_ttl", "must be above zero"))?;
            self.challenge_ttl = Duration::from_secs(secs);
        }
        if let Some(v) = get("PASSKEYS_TIMEOUT_MS") {
            let ms: i64 = parse_number("timeout", &v)?;
            let ms = u64::try_from(ms)
                .map_err(|_| ConfigError::new("timeout", "must be at least 1000 ms"))?;
            self.timeout = Duration::from_millis(ms);
        }
        if let Some(v) = get("PASSKEYS_USER_VERIFICATION") {
            self.user_verification = parse_choice(
                "user_verification",
                &v,
                &[
                    ("required", UserVerification::Required),
                    ("preferred", UserVerification::Preferred),
                    ("discouraged", UserVerification::Discouraged),
                ],
            )?;
        }
        if let Some(v) = get("PASSKEYS_ATTESTATION") {
            self.attestation = parse_choice(
                "attestation",
                &v,
                &[
                    ("none", AttestationPreference::None),
                    ("indirect", AttestationPreference::Indirect),
                    ("direct", AttestationPreference::Direct),
                ],
            )?;
        }
        if let Some(v) = get("PASSKEYS_AUTHENTICATOR_ATTACHMENT") {
            self.attachment = parse_choice(
                "attachment",
                &v,
                &[
                    ("", None),
                    ("platform", Some(Attachment::Platform)),
                    ("cross-platform", Some(Attachment::CrossPlatform)),
                ],
            )?;
        }
        if let Some(v) = get("PASSKEYS_RESIDENT_KEY") {
            self.resident_key = parse_choice(
                "resident_key",
                &v,
                &[
                    ("discouraged", ResidentKey::Discouraged),
                    ("preferred", ResidentKey::Preferred),
                    ("required", ResidentKey::Required),
                ],
            )?;
        }
        if let Some(v) = get("PASSKEYS_SIGN_COUNT_POLICY") {
            self.sign_count_policy = parse_choice(
                "sign_count_policy",
                &v,
                &[
                    ("reject", SignCountPolicy::Reject),
                    ("disable", SignCountPolicy::Disable),
                ],
            )?;
        }
        if let Some(v) = get("PASSKEYS_BODY_LIMIT") {
            self.body_limit = parse_number("body_limit", &v)?;
        }
        if let Some(v) = get("PASSKEYS_FRESH_WINDOW") {
            self.fresh_window = Duration::from_secs(parse_number("fresh_window", &v)?);
        }
        if let Some(v) = get("PASSKEYS_IDENTIFY_WINDOW") {
            self.identify_window = Duration::from_secs(parse_number("identify_window", &v)?);
        }
        if let Some(v) = get("PASSKEYS_TOP_ORIGINS") {
            self.top_origins = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        Ok(self)
    }

    /// Validates and builds the config.
    ///
    /// Fails with a [`ConfigError`] naming the field for: an empty or malformed rp id; no
    /// origins; an origin with a path, query, fragment, trailing slash or userinfo; a web origin
    /// that is not https (plain http is allowed for `localhost` only); an rp id that is not the
    /// host, or a dot-bounded suffix of the host, of every web origin; a TTL of zero or above one
    /// hour; a related origin that is not an https (or localhost) web origin; origins spanning
    /// more than [`MAX_RELATED_ORIGIN_LABELS`] registrable-domain labels; a timeout under one second or above one hour; a body limit under 1 KiB.
    pub fn build(self) -> Result<PasskeyConfig, ConfigError> {
        let rp_id = validate_rp_id(&self.rp_id)?;
        if self.rp_name.trim().is_empty() {
            return Err(ConfigError::new("rp_name", "must not be empty"));
        }
        if self.origins.is_empty() {
            return Err(ConfigError::new(
                "origins",
                "at least one origin is required",
            ));
        }
        let mut origins = self
            .origins
            .iter()
            .map(|o| parse_origin(o, &rp_id))
            .collect::<Result<Vec<_>, _>>()?;
        for raw in &self.related_origins {
            origins.push(parse_related_origin(raw)?);
        }
        check_origin_labels(&origins)?;
        if self.challenge_ttl.is_zero() || self.challenge_ttl > MAX_CHALLENGE_TTL {
            return Err(ConfigError::new(
                "challenge_ttl",
                "must be above zero and at most 3600 s",
            ));
        }
        if self.timeout < Duration::from_secs(1) || self.timeout > Duration::from_secs(3600) {
            return Err(ConfigError::new(
                "timeout",
                "must be between 1 s and 3600 s",
            ));
        }
        if self.body_limit < 1024 {
            return Err(ConfigError::new(
                "body_limit",
                "must be at least 1024 bytes",
            ));
        }
        if self.fresh_window.is_zero() || self.fresh_window > Duration::from_secs(86_400) {
            return Err(ConfigError::new(
                "fresh_window",
                "must be above zero and at most 86400 s",
            ));
        }
        if self.identify_window.is_zero() || self.identify_window > Duration::from_secs(86_400) {
            return Err(ConfigError::new(
                "identify_window",
                "must be above zero and at most 86400 s",
            ));
        }
        let top_origins = self
            .top_origins
            .iter()
            .map(|raw| parse_top_origin(raw))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PasskeyConfig {
            rp_id,
            rp_name: self.rp_name,
            origins,
            allow_subdomains: self.allow_subdomains,
            challenge_ttl: self.challenge_ttl,
            timeout: self.timeout,
            user_verification: self.user_verification,
            attestation: self.attestation,
            attachment: self.attachment,
            resident_key: self.resident_key,
            sign_count_policy: self.sign_count_policy,
            allow_backup_eligible_upgrade: self.allow_backup_eligible_upgrade,
            body_limit: self.body_limit,
            fresh_window: self.fresh_window,
            identify_window: self.identify_window,
            top_origins,
        })
    }
}

fn parse_number<T: std::str::FromStr>(field: &'static str, v: &str) -> Result<T, ConfigError> {
    v.parse()
        .map_err(|_| ConfigError::new(field, format!("`{v}` is not a number")))
}

fn parse_choice<T: Copy>(
    field: &'static str,
    v: &str,
    choices: &[(&str, T)],
) -> Result<T, ConfigError> {
    let lower = v.to_ascii_lowercase();
    choices
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = choices
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| !n.is_empty())
                .collect();
            ConfigError::new(field, format!("`{v}` is not one of {}", names.join(", ")))
        })
}

fn validate_rp_id(rp_id: &str) -> Result<String, ConfigError> {
    let rp_id = rp_id.trim();
    if rp_id.is_empty() {
        return Err(ConfigError::new("rp_id", "must not be empty"));
    }
    let valid_chars = rp_id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !valid_chars || rp_id.starts_with('.') || rp_id.ends_with('.') || rp_id.contains("..") {
        return Err(ConfigError::new(
            "rp_id",
            "must be a lowercase domain name such as `example.com` (no scheme, port or path)",
        ));
    }
    if rp_id.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(ConfigError::new(
            "rp_id",
            "an IP address cannot be an rp id",
        ));
    }
    if !rp_id.contains('.') && rp_id != "localhost" {
        return Err(ConfigError::new(
            "rp_id",
            "a single-label name (other than localhost) is not a registrable domain",
        ));
    }
    Ok(rp_id.to_owned())
}

fn is_localhost(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

fn parse_related_origin(raw: &str) -> Result<Origin, ConfigError> {
    if raw.starts_with(ANDROID_ORIGIN_PREFIX) {
        return Err(ConfigError::new(
            "origins",
            format!("`{raw}`: a related origin must be a web origin"),
        ));
    }
    parse_origin(raw, "")
}

fn parse_top_origin(raw: &str) -> Result<Origin, ConfigError> {
    if raw.starts_with(ANDROID_ORIGIN_PREFIX) {
        return Err(ConfigError::new(
            "top_origins",
            format!("`{raw}`: a top origin must be a web origin"),
        ));
    }
    parse_origin(raw, "").map_err(|e| ConfigError::new("top_origins", e.reason))
}

/// The registrable-domain label of a host: the first label of its eTLD+1 (`example` for
/// `login.example.co.uk`), from the Public Suffix List compiled into the `public-suffix` crate.
/// Hosts without a registrable domain (`localhost`, a bare public suffix) have none.
pub(crate) fn registrable_label(host: &str) -> Option<&str> {
    use public_suffix::{EffectiveTLDProvider as _, DEFAULT_PROVIDER};
    let etld1 = DEFAULT_PROVIDER.effective_tld_plus_one(host).ok()?;
    etld1.split('.').next().filter(|l| !l.is_empty())
}

/// WebAuthn's limit on Related Origin Requests: browsers honour origins from at most five
/// distinct registrable-domain labels, so a config needing more could never work everywhere.
fn check_origin_labels(origins: &[Origin]) -> Result<(), ConfigError> {
    let mut labels: Vec<String> = Vec::new();
    for origin in origins {
        let Origin::Web(url) = origin else { continue };
        let Some(label) = url.host_str().and_then(registrable_label) else {
            continue;
        };
        if !labels.iter().any(|l| l == label) {
            labels.push(label.to_owned());
        }
    }
    if labels.len() > MAX_RELATED_ORIGIN_LABELS {
        return Err(ConfigError::new(
            "origins",
            format!(
                "the origins span {} registrable-domain labels ({}); browsers accept at most {MAX_RELATED_ORIGIN_LABELS}",
                labels.len(),
                labels.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Parses an origin; `rp_id` empty means "any host" (a related origin).
fn parse_origin(raw: &str, rp_id: &str) -> Result<Origin, ConfigError> {
    let bad = |why: &str| ConfigError::new("origins", format!("`{raw}`: {why}"));
    if let Some(hash) = raw.strip_prefix(ANDROID_ORIGIN_PREFIX) {
        let ok = !hash.is_empty()
            && hash
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/' | '='));
        return if ok {
            Ok(Origin::Android(raw.to_owned()))
        } else {
            Err(bad("the apk key hash must be base64"))
        };
    }
    let url = Url::parse(raw).map_err(|_| bad("not a URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not contain userinfo"));
    }
    if url.query().is_some() || url.fragment().is_some() || raw.contains('?') || raw.contains('#') {
        return Err(bad("must not contain a query or fragment"));
    }
    let after_scheme = raw.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    if after_scheme.contains('/') {
        return Err(bad("must not contain a path or trailing slash"));
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        _ => return Err(bad("the host must be a domain name")),
    };
    match url.scheme() {
        "https" => {}
        "http" if is_localhost(&host) => {}
        "http" => return Err(bad("plain http is only allowed for localhost")),
        _ => return Err(bad("the scheme must be https (or http for localhost)")),
    }
    let host_matches = rp_id.is_empty()
        || host == rp_id
        || host
            .strip_suffix(rp_id)
            .is_some_and(|prefix| prefix.ends_with('.'));
    if !host_matches {
        return Err(bad(&format!(
            "the rp id `{rp_id}` is not a suffix of the host `{host}`"
        )));
    }
    Ok(Origin::Web(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PasskeyConfigBuilder {
        PasskeyConfig::builder("example.com", "Example").origin("https://example.com")
    }

    #[test]
    fn valid_configs_build() {
        let ok = [
            base(),
            base().origin("https://login.example.com:8443"),
            PasskeyConfig::builder("localhost", "Dev").origin("http://localhost:8080"),
            base().origin("android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"),
            base()
                .challenge_ttl(MAX_CHALLENGE_TTL)
                .timeout(Duration::from_secs(1)),
        ];
        for b in ok {
            b.build().expect("valid");
        }
    }

    #[test]
    fn validation_table_names_the_field() {
        let cases: Vec<(PasskeyConfigBuilder, &str)> = vec![
            (
                PasskeyConfig::builder("", "X").origin("https://example.com"),
                "rp_id",
            ),
            (
                PasskeyConfig::builder("https://example.com", "X").origin("https://example.com"),
                "rp_id",
            ),
            (
                PasskeyConfig::builder("com", "X").origin("https://com"),
                "rp_id",
            ),
            (
                PasskeyConfig::builder("127.0.0.1", "X").origin("http://127.0.0.1"),
                "rp_id",
            ),
            (
                PasskeyConfig::builder("example.com", " ").origin("https://example.com"),
                "rp_name",
            ),
            (PasskeyConfig::builder("example.com", "X"), "origins"),
            (base().origin("https://example.com/"), "origins"),
            (base().origin("https://example.com/login"), "origins"),
            (base().origin("https://example.com?x=1"), "origins"),
            (base().origin("https://example.com#frag"), "origins"),
            (base().origin("https://user:pw@example.com"), "origins"),
            (base().origin("http://example.com"), "origins"),
            (base().origin("ftp://example.com"), "origins"),
            (base().origin("https://evil-example.com"), "origins"),
            (base().origin("https://example.com.evil.org"), "origins"),
            (base().origin("https://192.168.1.1"), "origins"),
            (base().origin("android:apk-key-hash:"), "origins"),
            (base().origin("not a url"), "origins"),
            (base().challenge_ttl(Duration::ZERO), "challenge_ttl"),
            (
                base().challenge_ttl(Duration::from_secs(3601)),
                "challenge_ttl",
            ),
            (base().timeout(Duration::from_millis(999)), "timeout"),
            (base().timeout(Duration::from_secs(3601)), "timeout"),
            (base().body_limit(10), "body_limit"),
            (base().fresh_window(Duration::ZERO), "fresh_window"),
            (base().identify_window(Duration::ZERO), "identify_window"),
            (
                base().identify_window(Duration::from_secs(86_401)),
                "identify_window",
            ),
            (base().top_origin("http://shop.example.net"), "top_origins"),
            (
                base().top_origin("https://shop.example.net/"),
                "top_origins",
            ),
            (
                base().top_origin("https://shop.example.net/app"),
                "top_origins",
            ),
            (base().top_origin("android:apk-key-hash:abc"), "top_origins"),
            (base().top_origin("*"), "top_origins"),
        ];
        for (builder, field) in cases {
            let err = builder
                .clone()
                .build()
                .expect_err(&format!("{builder:?} must fail"));
            assert_eq!(err.field(), field, "{err}");
        }
    }

    #[test]
    fn env_variables_override_and_are_validated() {
        let vars: HashMap<String, String> = [
            ("PASSKEYS_RP_ID", "example.org"),
            ("PASSKEYS_RP_NAME", "Org"),
            (
                "PASSKEYS_ORIGINS",
                "https://example.org, https://app.example.org",
            ),
            ("PASSKEYS_CHALLENGE_TTL", "120"),
            ("PASSKEYS_TIMEOUT_MS", "30000"),
            ("PASSKEYS_USER_VERIFICATION", "preferred"),
            ("PASSKEYS_RESIDENT_KEY", "required"),
            ("PASSKEYS_SIGN_COUNT_POLICY", "disable"),
            ("PASSKEYS_ALLOW_SUBDOMAINS", "true"),
            (
                "PASSKEYS_TOP_ORIGINS",
                "https://shop.example.net, https://example.co.uk",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let config = PasskeyConfig::builder("", "")
            .apply_vars(&vars)
            .and_then(PasskeyConfigBuilder::build)
            .expect("valid");
        assert_eq!(config.rp_id(), "example.org");
        assert_eq!(config.origins().len(), 2);
        assert_eq!(config.challenge_ttl(), Duration::from_secs(120));
        assert_eq!(config.timeout(), Duration::from_secs(30));
        assert_eq!(config.user_verification(), UserVerification::Preferred);
        assert_eq!(config.resident_key(), ResidentKey::Required);
        assert_eq!(config.sign_count_policy(), SignCountPolicy::Disable);
        assert!(config.allow_subdomains());
        let tops: Vec<String> = config.top_origins().iter().map(Origin::as_str).collect();
        assert_eq!(tops, ["https://shop.example.net", "https://example.co.uk"]);

        for (k, v, field) in [
            ("PASSKEYS_CHALLENGE_TTL", "-5", "challenge_ttl"),
            ("PASSKEYS_CHALLENGE_TTL", "soon", "challenge_ttl"),
            ("PASSKEYS_USER_VERIFICATION", "always", "user_verification"),
            ("PASSKEYS_TIMEOUT_MS", "-1", "timeout"),
        ] {
            let vars: HashMap<String, String> =
                [(k.to_owned(), v.to_owned())].into_iter().collect();
            let err = base()
                .apply_vars(&vars)
                .and_then(PasskeyConfigBuilder::build)
                .unwrap_err();
            assert_eq!(err.field(), field);
        }
    }

    #[test]
    fn related_origins_are_limited_to_five_registrable_labels() {
        let five = base()
            .origin("https://login.example.com")
            .related_origin("https://example.co.uk") // label `example` again
            .related_origin("https://shop.example.de")
            .related_origin("https://brand-a.com")
            .related_origin("https://brand-b.org")
            .related_origin("https://www.brand-c.com.au")
            .related_origin("https://brand-d.net")
            .related_origin("https://brand-e.net");
        let err = five.clone().build().expect_err("six labels");
        assert_eq!(err.field(), "origins");
        assert!(
            err.reason().contains("6 registrable-domain labels"),
            "{err}"
        );
        let config = base()
            .origin("https://login.example.com")
            .related_origin("https://example.co.uk")
            .related_origin("https://shop.example.de")
            .related_origin("https://brand-a.com")
            .related_origin("https://brand-b.org")
            .related_origin("https://www.brand-c.com.au")
            .related_origin("https://brand-d.net")
            .build()
            .expect("five labels");
        assert_eq!(config.web_origins().len(), 8);
        assert_eq!(registrable_label("www.brand-c.com.au"), Some("brand-c"));
        assert_eq!(registrable_label("a.b.example.co.uk"), Some("example"));
        assert_eq!(registrable_label("localhost"), None);
        assert_eq!(registrable_label("co.uk"), None);
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

    #[test]
    fn origin_serialisation_matches_client_data() {
        let config = base().origin("http://localhost:8080").build();
        assert!(config.is_err(), "localhost is not under example.com");
        let config = PasskeyConfig::builder("localhost", "Dev")
            .origin("http://localhost:8080")
            .build()
            .expect("valid");
        assert_eq!(config.origins()[0].as_str(), "http://localhost:8080");
    }
}
