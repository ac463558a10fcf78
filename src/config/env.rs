//! The `PASSKEYS_*` environment overlay of [`PasskeyConfigBuilder`]
//! ([`apply_env`](PasskeyConfigBuilder::apply_env)) and its parse helpers.

use std::{collections::HashMap, time::Duration};

use super::{
    Attachment, AttestationPreference, ConfigError, Hint, NativeApp, PasskeyConfigBuilder,
    ResidentKey, SignCountPolicy, TransportsPolicy, UserVerification,
};

impl PasskeyConfigBuilder {
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
    /// | `PASSKEYS_USER_VERIFICATION` | `required` / `preferred` / `danger_discouraged` |
    /// | `PASSKEYS_ATTESTATION` | `none` / `indirect` / `direct` |
    /// | `PASSKEYS_AUTHENTICATOR_ATTACHMENT` | `platform` / `cross-platform` |
    /// | `PASSKEYS_RESIDENT_KEY` | `discouraged` / `preferred` / `required` |
    /// | `PASSKEYS_SIGN_COUNT_POLICY` | `reject` / `disable` |
    /// | `PASSKEYS_BODY_LIMIT` | bytes |
    /// | `PASSKEYS_FRESH_WINDOW` | seconds |
    /// | `PASSKEYS_IDENTIFY_WINDOW` | seconds |
    /// | `PASSKEYS_TOP_ORIGINS` | top origins for cross-origin iframes, comma-separated |
    /// | `PASSKEYS_REGISTRATION_HINTS` | `security-key`, `client-device`, `hybrid`, comma-separated |
    /// | `PASSKEYS_AUTHENTICATION_HINTS` | the same, for sign-in |
    /// | `PASSKEYS_TRANSPORTS_POLICY` | `as_registered` / `omit_when_backup_eligible` / `omit` |
    /// | `PASSKEYS_ANDROID_APPS` | `<package>=<SHA-256 fingerprint>`, comma-separated |
    /// | `PASSKEYS_APPLE_APPS` | `<Team ID>.<bundle id>`, comma-separated |
    /// | `PASSKEYS_ENROLL_URL`, `PASSKEYS_MANAGE_URL`, `PASSKEYS_PRF_USAGE_DETAILS_URL` | Passkey Endpoints URLs |
    /// | `PASSKEYS_PRF` | `true` / `false` (the `prf` extension) |
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

    pub(super) fn apply_vars(
        mut self,
        vars: &HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim().to_owned());
        if let Some(v) = get("PASSKEYS_RP_ID") {
            self.rp_id = v;
        }
        if let Some(v) = get("PASSKEYS_RP_NAME") {
            self.rp_name = v;
        }
        if let Some(v) = get("PASSKEYS_ORIGINS") {
            self.origins = split_list(&v);
        }
        if let Some(v) = get("PASSKEYS_RELATED_ORIGINS") {
            self.related_origins = split_list(&v);
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
            // `None`: the dangerous opt-in, spelled as loudly as its builder method.
            match parse_choice(
                "user_verification",
                &v,
                &[
                    ("required", Some(UserVerification::Required)),
                    ("preferred", Some(UserVerification::Preferred)),
                    ("danger_discouraged", None),
                ],
            )? {
                Some(uv) => {
                    self.user_verification = uv;
                    self.danger_uv_discouraged = false;
                }
                None => self.danger_uv_discouraged = true,
            }
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
            self.top_origins = split_list(&v);
        }
        if let Some(v) = get("PASSKEYS_REGISTRATION_HINTS") {
            self.registration_hints = parse_hints("registration_hints", &v)?;
        }
        if let Some(v) = get("PASSKEYS_AUTHENTICATION_HINTS") {
            self.authentication_hints = parse_hints("authentication_hints", &v)?;
        }
        if let Some(v) = get("PASSKEYS_TRANSPORTS_POLICY") {
            self.transports_policy = parse_choice(
                "transports_policy",
                &v,
                &[
                    ("as_registered", TransportsPolicy::AsRegistered),
                    (
                        "omit_when_backup_eligible",
                        TransportsPolicy::OmitWhenBackupEligible,
                    ),
                    ("omit", TransportsPolicy::Omit),
                ],
            )?;
        }
        if let Some(v) = get("PASSKEYS_ANDROID_APPS") {
            self.native_apps
                .retain(|a| !matches!(a, NativeApp::Android { .. }));
            for item in split_list(&v) {
                let (package, print) = item.split_once('=').ok_or_else(|| {
                    ConfigError::new(
                        "native_apps",
                        format!("`{item}` is not `<package>=<SHA-256 fingerprint>`"),
                    )
                })?;
                self.native_apps
                    .push(NativeApp::android(package.trim(), print.trim()));
            }
        }
        if let Some(v) = get("PASSKEYS_APPLE_APPS") {
            self.native_apps
                .retain(|a| !matches!(a, NativeApp::Apple { .. }));
            for item in split_list(&v) {
                let (team, bundle) = item.split_once('.').ok_or_else(|| {
                    ConfigError::new(
                        "native_apps",
                        format!("`{item}` is not `<Team ID>.<bundle id>`"),
                    )
                })?;
                self.native_apps.push(NativeApp::apple(team, bundle));
            }
        }
        for (var, slot) in [
            ("PASSKEYS_ENROLL_URL", &mut self.enroll_url),
            ("PASSKEYS_MANAGE_URL", &mut self.manage_url),
            (
                "PASSKEYS_PRF_USAGE_DETAILS_URL",
                &mut self.prf_usage_details_url,
            ),
        ] {
            if let Some(v) = get(var) {
                *slot = (!v.is_empty()).then_some(v);
            }
        }
        if let Some(v) = get("PASSKEYS_PRF") {
            self.prf = parse_choice("prf", &v, &[("true", true), ("false", false)])?;
        }
        Ok(self)
    }
}

/// The items of a comma-separated list, trimmed, empty items left out.
fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A comma-separated list of hint names.
fn parse_hints(field: &'static str, v: &str) -> Result<Vec<Hint>, ConfigError> {
    split_list(v)
        .iter()
        .map(|name| {
            parse_choice(
                field,
                name,
                &[
                    ("security-key", Hint::SecurityKey),
                    ("client-device", Hint::ClientDevice),
                    ("hybrid", Hint::Hybrid),
                ],
            )
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Origin, PasskeyConfig};

    fn base() -> PasskeyConfigBuilder {
        PasskeyConfig::builder("example.com", "Example").origin("https://example.com")
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
            (
                "PASSKEYS_USER_VERIFICATION",
                "discouraged",
                "user_verification",
            ),
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
    fn client_settings_come_from_the_environment_too() {
        let print = "FA:C6:17:45:DC:09:03:78:6F:B9:ED:E6:2A:96:2B:39:9F:73:48:F0:BB:6F:89:9B:83:32:66:75:91:03:3B:9C";
        let android = format!("com.example.app={print}");
        let vars: HashMap<String, String> = [
            ("PASSKEYS_REGISTRATION_HINTS", "client-device, hybrid"),
            ("PASSKEYS_AUTHENTICATION_HINTS", "security-key"),
            ("PASSKEYS_TRANSPORTS_POLICY", "omit_when_backup_eligible"),
            ("PASSKEYS_ANDROID_APPS", android.as_str()),
            ("PASSKEYS_APPLE_APPS", "ABCDE12345.com.example.app"),
            ("PASSKEYS_ENROLL_URL", "https://example.com/passkeys/new"),
            ("PASSKEYS_MANAGE_URL", "https://example.com/passkeys"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let config = base()
            .apply_vars(&vars)
            .and_then(PasskeyConfigBuilder::build)
            .expect("valid");
        assert_eq!(
            config.registration_hints(),
            [Hint::ClientDevice, Hint::Hybrid]
        );
        assert_eq!(config.authentication_hints(), [Hint::SecurityKey]);
        assert_eq!(
            config.transports_policy(),
            TransportsPolicy::OmitWhenBackupEligible
        );
        assert_eq!(
            config.native_apps(),
            [
                NativeApp::android("com.example.app", print),
                NativeApp::apple("ABCDE12345", "com.example.app")
            ]
        );
        assert_eq!(
            config.passkey_endpoints_document(),
            serde_json::json!({
                "enroll": "https://example.com/passkeys/new",
                "manage": "https://example.com/passkeys"
            })
        );
        for (k, v, field) in [
            ("PASSKEYS_REGISTRATION_HINTS", "phone", "registration_hints"),
            ("PASSKEYS_TRANSPORTS_POLICY", "never", "transports_policy"),
            ("PASSKEYS_ANDROID_APPS", "com.example.app", "native_apps"),
            ("PASSKEYS_APPLE_APPS", "ABCDE12345", "native_apps"),
            ("PASSKEYS_MANAGE_URL", "/passkeys", "manage_url"),
        ] {
            let vars: HashMap<String, String> =
                [(k.to_owned(), v.to_owned())].into_iter().collect();
            let err = base()
                .apply_vars(&vars)
                .and_then(PasskeyConfigBuilder::build)
                .expect_err(k);
            assert_eq!(err.field(), field, "{k}={v}: {err}");
        }
    }

    /// `discouraged` turns the PIN/biometric check off: it is reached only through a
    /// `danger_`-named opt-in, in code and in the environment alike.
    #[test]
    fn user_verification_discouraged_needs_the_danger_opt_in() {
        let err = base()
            .user_verification(UserVerification::Discouraged)
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "user_verification");
        assert!(err
            .to_string()
            .contains("danger_discourage_user_verification"));
        let config = base()
            .danger_discourage_user_verification()
            .build()
            .unwrap();
        assert_eq!(config.user_verification(), UserVerification::Discouraged);
        let vars: HashMap<String, String> = [(
            "PASSKEYS_USER_VERIFICATION".to_owned(),
            "danger_discouraged".to_owned(),
        )]
        .into_iter()
        .collect();
        let config = base()
            .apply_vars(&vars)
            .and_then(PasskeyConfigBuilder::build)
            .unwrap();
        assert_eq!(config.user_verification(), UserVerification::Discouraged);
    }

    /// `PASSKEYS_PRF` turns the `prf` extension on and off; anything but `true` / `false` is
    /// refused, naming the setting.
    #[test]
    fn prf_variable_switches_the_extension() {
        let with = |v: &str| {
            let vars: HashMap<String, String> = [("PASSKEYS_PRF".to_owned(), v.to_owned())]
                .into_iter()
                .collect();
            base()
                .apply_vars(&vars)
                .and_then(PasskeyConfigBuilder::build)
        };
        assert!(!base().build().expect("valid").prf(), "off by default");
        assert!(with("true").expect("valid").prf());
        assert!(with(" TRUE ").expect("valid").prf());
        assert!(!base()
            .prf(true)
            .apply_vars(
                &[("PASSKEYS_PRF".to_owned(), "false".to_owned())]
                    .into_iter()
                    .collect()
            )
            .and_then(PasskeyConfigBuilder::build)
            .expect("valid")
            .prf());
        let err = with("yes").unwrap_err();
        assert_eq!(err.field(), "prf");
        assert!(err.reason().contains("true, false"), "{}", err.reason());
    }
}
