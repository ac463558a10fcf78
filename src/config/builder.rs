//! [`PasskeyConfigBuilder`]: the setters and the validation in [`build`](PasskeyConfigBuilder::build).

use std::time::Duration;

use super::{
    check_hints, documents::parse_endpoint_url, Attachment, AttestationPreference, ConfigError,
    Hint, NativeApp, PasskeyConfig, PasskeyEndpoints, ResidentKey, SignCountPolicy,
    TransportsPolicy, UserVerification, MAX_CHALLENGE_TTL,
};
use crate::origin::{
    check_origin_labels, parse_origin, parse_related_origin, parse_top_origin, Origin,
};

/// Builder for [`PasskeyConfig`]; every setter documents its default.
#[derive(Debug, Clone)]
#[must_use]
pub struct PasskeyConfigBuilder {
    pub(super) rp_id: String,
    pub(super) rp_name: String,
    pub(super) origins: Vec<String>,
    pub(super) related_origins: Vec<String>,
    pub(super) allow_subdomains: bool,
    pub(super) challenge_ttl: Duration,
    pub(super) timeout: Duration,
    pub(super) user_verification: UserVerification,
    /// Set by [`PasskeyConfigBuilder::danger_discourage_user_verification`].
    pub(super) danger_uv_discouraged: bool,
    pub(super) attestation: AttestationPreference,
    pub(super) attachment: Option<Attachment>,
    pub(super) resident_key: ResidentKey,
    pub(super) sign_count_policy: SignCountPolicy,
    pub(super) allow_backup_eligible_upgrade: bool,
    pub(super) body_limit: usize,
    pub(super) fresh_window: Duration,
    pub(super) identify_window: Duration,
    pub(super) top_origins: Vec<String>,
    pub(super) registration_hints: Vec<Hint>,
    pub(super) authentication_hints: Vec<Hint>,
    pub(super) transports_policy: TransportsPolicy,
    pub(super) native_apps: Vec<NativeApp>,
    pub(super) enroll_url: Option<String>,
    pub(super) manage_url: Option<String>,
    pub(super) prf_usage_details_url: Option<String>,
    pub(super) prf: bool,
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
    /// at most [`MAX_RELATED_ORIGIN_LABELS`](super::MAX_RELATED_ORIGIN_LABELS) registrable-domain labels. Default: none.
    pub fn related_origin(mut self, origin: impl Into<String>) -> Self {
        self.related_origins.push(origin.into());
        self
    }

    /// Accept subdomains of each web origin on the rp id (dot boundary: `a.example.com` matches
    /// `example.com`, `evil-example.com` does not). [Related origins](Self::related_origin) are
    /// matched exactly all the same: browsers use them only as the well-known document lists
    /// them. Default: `false`.
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

    /// User verification policy: [`UserVerification::Required`] (default) or
    /// [`Preferred`](UserVerification::Preferred). [`Discouraged`](UserVerification::Discouraged)
    /// is refused here by [`build`](Self::build): it is opted into only with
    /// [`danger_discourage_user_verification`](Self::danger_discourage_user_verification).
    pub fn user_verification(mut self, uv: UserVerification) -> Self {
        self.user_verification = uv;
        self
    }

    /// **Dangerous:** asks authenticators not to verify the user (no PIN or biometric) and
    /// accepts responses without the UV flag, so a passkey is then a single factor that works
    /// for whoever holds the device. Overrides [`user_verification`](Self::user_verification).
    /// Named as webauthn-rs names its `Discouraged_DO_NOT_USE` policy; the environment overlay
    /// spells it `PASSKEYS_USER_VERIFICATION=danger_discouraged`. Default: off.
    ///
    /// ```
    /// use actix_passkeys::{PasskeyConfig, policy::UserVerification};
    /// let config = PasskeyConfig::builder("localhost", "Kiosk")
    ///     .origin("http://localhost:8080")
    ///     .danger_discourage_user_verification()
    ///     .build()?;
    /// assert_eq!(config.user_verification(), UserVerification::Discouraged);
    /// # Ok::<(), actix_passkeys::ConfigError>(())
    /// ```
    pub fn danger_discourage_user_verification(mut self) -> Self {
        self.danger_uv_discouraged = true;
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

    /// How long after [`identify`](crate::Passkeys::identify) (a sign-up or password sign-in) the
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

    /// The `hints` of registration options, most preferred first (WebAuthn Level 3): for
    /// example `[Hint::SecurityKey]` for an app that registers security keys only. A
    /// [`register/begin`](crate::wire::RegistrationBegin::hints) body or
    /// [`Passkeys::start_registration_with`](crate::Passkeys::start_registration_with) may
    /// give its own. `build()` refuses a hint given twice, and one that contradicts the
    /// [`attachment`](Self::attachment) (`client-device` with `CrossPlatform`, `security-key`
    /// or `hybrid` with `Platform`). Default: none.
    ///
    /// ```
    /// use actix_passkeys::{policy::Hint, PasskeyConfig};
    /// let config = PasskeyConfig::builder("example.com", "Example")
    ///     .origin("https://example.com")
    ///     .registration_hints([Hint::SecurityKey])
    ///     .authentication_hints([Hint::SecurityKey, Hint::Hybrid])
    ///     .build()?;
    /// assert_eq!(config.registration_hints(), [Hint::SecurityKey]);
    /// # Ok::<(), actix_passkeys::ConfigError>(())
    /// ```
    pub fn registration_hints(mut self, hints: impl IntoIterator<Item = Hint>) -> Self {
        self.registration_hints = hints.into_iter().collect();
        self
    }

    /// The `hints` of sign-in options, most preferred first; an
    /// [`authenticate/begin`](crate::wire::AuthenticationBegin::hints) body may give its own.
    /// `build()` refuses a hint given twice. Default: none.
    pub fn authentication_hints(mut self, hints: impl IntoIterator<Item = Hint>) -> Self {
        self.authentication_hints = hints.into_iter().collect();
        self
    }

    /// Which stored transports the `allowCredentials` (sign-in) and `excludeCredentials`
    /// (registration) entries carry; the fake entries answered for unknown users follow the
    /// same policy, so they still look like real ones. Default:
    /// [`TransportsPolicy::AsRegistered`].
    pub fn transports_policy(mut self, policy: TransportsPolicy) -> Self {
        self.transports_policy = policy;
        self
    }

    /// Adds a native app that shares this relying party's passkeys (see [`NativeApp`]): an
    /// Android app's `android:apk-key-hash:` origin is accepted from then on, and the app is
    /// listed in `/.well-known/assetlinks.json` or `/.well-known/apple-app-site-association`,
    /// which [`Passkeys::well_known`](crate::Passkeys::well_known) serves. Default: none.
    pub fn native_app(mut self, app: NativeApp) -> Self {
        self.native_apps.push(app);
        self
    }

    /// The `enroll` URL of `/.well-known/passkey-endpoints`: the page where a signed-in user
    /// creates a passkey (https, or http on localhost; absolute). Default: none.
    pub fn enroll_url(mut self, url: impl Into<String>) -> Self {
        self.enroll_url = Some(url.into());
        self
    }

    /// The `manage` URL of `/.well-known/passkey-endpoints`: the page where a signed-in user
    /// lists, renames and revokes passkeys. Default: none.
    pub fn manage_url(mut self, url: impl Into<String>) -> Self {
        self.manage_url = Some(url.into());
        self
    }

    /// The `prfUsageDetails` URL of `/.well-known/passkey-endpoints`: a page saying how the
    /// site uses the PRF extension. Default: none.
    pub fn prf_usage_details_url(mut self, url: impl Into<String>) -> Self {
        self.prf_usage_details_url = Some(url.into());
        self
    }

    /// Asks for the WebAuthn [`prf` extension](https://w3c.github.io/webauthn/#prf-extension), so
    /// the page can derive a key from the passkey (for end-to-end encryption). Default: `false`.
    ///
    /// When on, `register/begin` sends `extensions.prf` with an `eval` of the new credential's
    /// salt (32 random bytes, generated here), `register/finish` records whether the client said
    /// the credential supports PRF (`prfEnabled` in the listing) and keeps the salt, and a
    /// username-first `authenticate/begin` sends each such credential's salt in
    /// `extensions.prf.evalByCredential`. The browser evaluates the PRF and gives the output to
    /// the page; `passkeys.js` strips it before anything is posted, and the server drops any
    /// that arrives. A usernameless begin sends no PRF input (see the configuration guide).
    ///
    /// ```
    /// let config = actix_passkeys::PasskeyConfig::builder("example.com", "Example")
    ///     .origin("https://example.com")
    ///     .prf(true)
    ///     .build()?;
    /// assert!(config.prf());
    /// # Ok::<(), actix_passkeys::ConfigError>(())
    /// ```
    pub fn prf(mut self, enabled: bool) -> Self {
        self.prf = enabled;
        self
    }

    /// Validates and builds the config.
    ///
    /// Fails with a [`ConfigError`] naming the field for: an empty or malformed rp id; no
    /// origins; an origin with a path, query, fragment, trailing slash or userinfo; a web origin
    /// that is not https (plain http is allowed for `localhost` only); an rp id that is not the
    /// host, or a dot-bounded suffix of the host, of every web origin; a TTL of zero or above one
    /// hour; a related origin that is not an https (or localhost) web origin; origins spanning
    /// more than [`MAX_RELATED_ORIGIN_LABELS`](super::MAX_RELATED_ORIGIN_LABELS) registrable-domain labels; a timeout under one second or above one hour; a body limit under 1 KiB;
    /// hints given twice or against the attachment; a malformed [`NativeApp`]; a Passkey
    /// Endpoints URL that is not an absolute https (or localhost) URL.
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
        let native_apps = self
            .native_apps
            .into_iter()
            .map(NativeApp::validated)
            .collect::<Result<Vec<_>, _>>()?;
        for app_origin in native_apps.iter().filter_map(NativeApp::android_origin) {
            let origin = Origin::Android(app_origin);
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        // Apple apps sign in with the origin of their associated domain, the rp id itself.
        if native_apps
            .iter()
            .any(|a| matches!(a, NativeApp::Apple { .. }))
        {
            let origin = parse_origin(&format!("https://{rp_id}"), &rp_id)?;
            if !origins.contains(&origin) {
                origins.push(origin);
            }
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
        let user_verification = match (self.danger_uv_discouraged, self.user_verification) {
            (true, _) => UserVerification::Discouraged,
            (false, UserVerification::Discouraged) => {
                return Err(ConfigError::new(
                    "user_verification",
                    "discouraged turns the PIN/biometric check off; opt in with \
                     danger_discourage_user_verification()",
                ))
            }
            (false, uv) => uv,
        };
        check_hints(&self.registration_hints, self.attachment)
            .map_err(|why| ConfigError::new("registration_hints", why))?;
        check_hints(&self.authentication_hints, None)
            .map_err(|why| ConfigError::new("authentication_hints", why))?;
        let endpoint = |field, raw: &Option<String>| {
            raw.as_deref()
                .map(|raw| parse_endpoint_url(field, raw, &origins))
                .transpose()
        };
        let passkey_endpoints = PasskeyEndpoints {
            enroll: endpoint("enroll_url", &self.enroll_url)?,
            manage: endpoint("manage_url", &self.manage_url)?,
            prf_usage_details: endpoint("prf_usage_details_url", &self.prf_usage_details_url)?,
        };
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
            user_verification,
            attestation: self.attestation,
            attachment: self.attachment,
            resident_key: self.resident_key,
            sign_count_policy: self.sign_count_policy,
            allow_backup_eligible_upgrade: self.allow_backup_eligible_upgrade,
            body_limit: self.body_limit,
            fresh_window: self.fresh_window,
            identify_window: self.identify_window,
            top_origins,
            registration_hints: self.registration_hints,
            authentication_hints: self.authentication_hints,
            transports_policy: self.transports_policy,
            native_apps,
            passkey_endpoints,
            prf: self.prf,
        })
    }
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
            (
                base().registration_hints([Hint::Hybrid, Hint::Hybrid]),
                "registration_hints",
            ),
            (
                base()
                    .attachment(Some(Attachment::Platform))
                    .registration_hints([Hint::SecurityKey]),
                "registration_hints",
            ),
            (
                base().authentication_hints([Hint::ClientDevice, Hint::ClientDevice]),
                "authentication_hints",
            ),
            (
                base().native_app(NativeApp::apple("team", "com.example.app")),
                "native_apps",
            ),
        ];
        for (builder, field) in cases {
            let err = builder
                .clone()
                .build()
                .expect_err(&format!("{builder:?} must fail"));
            assert_eq!(err.field(), field, "{err}");
        }
    }
}
