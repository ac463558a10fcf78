//! The policy enums of a [`PasskeyConfig`](super::PasskeyConfig): what is asked of the
//! authenticator and what is enforced on its responses.

/// User verification (PIN, biometrics) policy. It is both requested from the authenticator and
/// enforced on every response: under `Required` a response without the UV flag is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UserVerification {
    /// The UV flag must be set on every registration and assertion (default).
    #[default]
    Required,
    /// UV is asked for, responses without it are accepted (and recorded as not verified).
    ///
    /// A sign-in without UV is one factor (possession of the authenticator), and
    /// [`Fresh`](crate::Fresh) accepts it for a step-up like any other recent sign-in; keep
    /// `Required` where every sign-in, or a step-up, must be two factors.
    Preferred,
    /// UV is not asked for; responses with or without it are accepted. Dangerous (a passkey is
    /// then one factor): set only through
    /// [`danger_discourage_user_verification`](super::PasskeyConfigBuilder::danger_discourage_user_verification);
    /// the plain setter's `build()` refuses it.
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
    /// Ask for a discoverable credential only (`residentKey: "required"`,
    /// `requireResidentKey: true`), and refuse a registration whose client reports the new
    /// credential as not discoverable (`credProps.rk: false`, 400
    /// `attestation_verification_failed`).
    ///
    /// A registration without a `credProps` report is accepted and recorded as
    /// `discoverable: None` (unknown): the client was told to require a resident key and fails
    /// the ceremony itself when the authenticator cannot make one (WebAuthn §5.1.3), and
    /// refusing it would lock out clients that do not implement `credProps`. The authenticator
    /// data does not say whether a credential is discoverable, so the server cannot check more.
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

/// A hint to the client about which kind of authenticator a ceremony expects (WebAuthn Level 3
/// `hints`), sent in the options as `"security-key"`, `"client-device"` or `"hybrid"`, in the
/// order given (most preferred first). Clients use hints for their UI only: the server enforces
/// nothing with them.
///
/// ```
/// use actix_passkeys::policy::Hint;
/// assert_eq!(serde_json::to_string(&Hint::ClientDevice)?, r#""client-device""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Hint {
    /// A removable security key (USB, NFC).
    SecurityKey,
    /// The device the user is on (Touch ID, Windows Hello, Android): a platform authenticator.
    ClientDevice,
    /// Another device, such as a phone, reached by scanning a QR code (cross-device sign-in).
    Hybrid,
}

impl Hint {
    /// The name the spec gives it (`security-key`, `client-device`, `hybrid`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecurityKey => "security-key",
            Self::ClientDevice => "client-device",
            Self::Hybrid => "hybrid",
        }
    }

    /// The attachment this hint stands for: a platform authenticator for `client-device`, a
    /// roaming one for the others.
    pub(crate) fn attachment(self) -> Attachment {
        match self {
            Self::ClientDevice => Attachment::Platform,
            Self::SecurityKey | Self::Hybrid => Attachment::CrossPlatform,
        }
    }
}

/// Which stored transports the options' `allowCredentials` and `excludeCredentials` entries
/// carry. Transports only steer the browser's UI (which authenticators it offers), and some
/// password managers report them in ways that mislead it: a synced passkey reported as
/// `["internal"]` hides the phone (hybrid) option on other devices, and replaying `["hybrid"]`
/// makes some clients skip the local credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TransportsPolicy {
    /// The transports the authenticator reported at registration (default).
    #[default]
    AsRegistered,
    /// None for backup-eligible (synced) passkeys, whose reported transports describe only the
    /// device that created them; as registered for the others.
    OmitWhenBackupEligible,
    /// Never any: the browser offers every kind of authenticator.
    Omit,
}
