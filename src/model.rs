//! The data the library passes around: users, stored credentials, their public view, and the
//! result of a verified sign-in.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest accepted device name, in characters.
pub const MAX_DEVICE_NAME_CHARS: usize = 64;

/// The subject of a registration or management request, as the app knows it.
///
/// `id` is the app's stable user id; `name` and `display_name` are shown by authenticators.
///
/// ```
/// let user = actix_passkeys::PasskeyUser::new("42", "alice@example.com", "Alice");
/// assert_eq!(user.id, "42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyUser {
    /// The app's stable user id.
    pub id: String,
    /// The account name (often an email address or username).
    pub name: String,
    /// A friendly name.
    pub display_name: String,
}

impl PasskeyUser {
    /// Creates a user.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            display_name: display_name.into(),
        }
    }
}

/// A registered passkey as stored by a [`CredentialStore`](crate::store::CredentialStore).
///
/// Stores persist every field as given and return it unchanged; they never interpret `passkey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// The credential id chosen by the authenticator (unique across all users).
    pub credential_id: Vec<u8>,
    /// The owning app user id.
    pub user_id: String,
    /// The WebAuthn user handle given to the authenticator (random, per user; never the app id).
    pub user_handle: Vec<u8>,
    /// The verified credential as the WebAuthn engine serialises it (JSON, opaque to stores).
    pub passkey: String,
    /// The COSE-encoded public key (for export; verification uses `passkey`).
    pub public_key: Vec<u8>,
    /// The last accepted signature counter.
    pub sign_count: u32,
    /// Transports the authenticator reported (`internal`, `hybrid`, `usb`, …).
    pub transports: Vec<String>,
    /// The authenticator model's AAGUID, when the authenticator reported a non-zero one.
    pub aaguid: Option<uuid::Uuid>,
    /// Backup eligible (BE flag): the key may be synced.
    pub backup_eligible: bool,
    /// Backed up (BS flag), refreshed on every sign-in.
    pub backup_state: bool,
    /// Whether the user was verified at registration.
    pub user_verified: bool,
    /// Attestation statement format (`none`, `packed`, …).
    pub attestation_fmt: String,
    /// Whether the credential is discoverable (credProps `rk`), when the client said so.
    pub discoverable: Option<bool>,
    /// The user's name for this passkey.
    pub device_name: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last signed in.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was disabled (for example after a suspected clone); disabled credentials are kept.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
}

impl Credential {
    /// The credential id in base64url (no padding), as used on the wire.
    pub fn id_b64(&self) -> String {
        b64url(&self.credential_id)
    }

    /// Whether the credential is disabled.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// A compare-and-swap update of a credential after a verified sign-in.
///
/// A store applies it only if the stored counter still equals `old_sign_count` and the
/// credential is not disabled, in one atomic step, and reports whether it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageUpdate {
    /// The credential to update.
    pub credential_id: Vec<u8>,
    /// The counter the sign-in was verified against.
    pub old_sign_count: u32,
    /// The counter the authenticator reported.
    pub new_sign_count: u32,
    /// The BE flag of this assertion.
    pub backup_eligible: bool,
    /// The BS flag of this assertion.
    pub backup_state: bool,
    /// The time of the sign-in.
    pub used_at: DateTime<Utc>,
}

/// What `GET /credentials` shows about one passkey: never the key or the counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialView {
    /// Credential id, base64url.
    pub id: String,
    /// The user's name for it.
    pub device_name: String,
    /// Reported transports.
    pub transports: Vec<String>,
    /// BE flag.
    pub backup_eligible: bool,
    /// BS flag (as of the last sign-in).
    pub backup_state: bool,
    /// Registration time (RFC 3339).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    /// Last sign-in time (RFC 3339), if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The authenticator's name from its AAGUID, when known.
    pub authenticator: Option<String>,
    /// Whether the user was verified at registration.
    pub user_verified: bool,
    /// Whether the credential is disabled.
    pub disabled: bool,
}

impl CredentialView {
    /// The view of `c` with the authenticator named by `names` (the app's map, then the
    /// bundled list), as the scope's `GET /credentials` shows it.
    ///
    /// ```
    /// # fn view(c: &actix_passkeys::store::Credential) -> actix_passkeys::wire::CredentialView {
    /// actix_passkeys::wire::CredentialView::with_names(c, &actix_passkeys::wire::AuthenticatorNames::bundled())
    /// # }
    /// ```
    pub fn with_names(c: &Credential, names: &crate::aaguid::AuthenticatorNames) -> Self {
        let mut view = Self::from(c);
        view.authenticator = c.aaguid.and_then(|a| names.name(a));
        view
    }
}

/// The view with the authenticator named from the bundled list only; use
/// [`CredentialView::with_names`] (or [`Passkeys::credential_view`](crate::Passkeys::credential_view))
/// to include the app's own names.
impl From<&Credential> for CredentialView {
    fn from(c: &Credential) -> Self {
        Self {
            id: c.id_b64(),
            device_name: c.device_name.clone(),
            transports: c.transports.clone(),
            backup_eligible: c.backup_eligible,
            backup_state: c.backup_state,
            created_at: c.created_at,
            last_used_at: c.last_used_at,
            authenticator: c
                .aaguid
                .and_then(crate::aaguid::authenticator_name)
                .map(str::to_owned),
            user_verified: c.user_verified,
            disabled: c.is_disabled(),
        }
    }
}

/// A verified sign-in, handed to the app's `on_authenticated` hook and to extractors.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthenticationResult {
    /// The signed-in app user id.
    pub user_id: String,
    /// The credential used, as stored after this sign-in (counter, BS, last-used updated).
    pub credential: Credential,
    /// Whether the user was verified in this assertion.
    pub user_verified: bool,
    /// Whether the sign-in was usernameless (discoverable credential).
    pub usernameless: bool,
}

/// Encodes bytes as base64url without padding.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url (no padding, as WebAuthn uses it); `None` for anything else.
pub(crate) fn from_b64url(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// Validates a user-supplied device name: at most 64 characters, no control characters and no
/// invisible format characters (bidi overrides, zero-width characters; see `text::is_hidden`).
pub(crate) fn validate_device_name(name: &str) -> Result<String, crate::PasskeyError> {
    let name = name.trim();
    if name.chars().count() > MAX_DEVICE_NAME_CHARS {
        return Err(crate::PasskeyError::InvalidRequest(
            "deviceName must be at most 64 characters.",
        ));
    }
    if name.chars().any(crate::text::is_hidden) {
        return Err(crate::PasskeyError::InvalidRequest(
            "deviceName must not contain control or invisible formatting characters.",
        ));
    }
    Ok(name.to_owned())
}

/// A default device name from a name the app or the bundled list gives (not user input, but
/// possibly longer than a device name may be): hidden characters dropped, then cut to
/// [`MAX_DEVICE_NAME_CHARS`]; `None` when nothing is left.
pub(crate) fn fit_device_name(name: &str) -> Option<String> {
    let clean: String = name
        .chars()
        .filter(|c| !crate::text::is_hidden(*c))
        .collect();
    let cut: String = clean.trim().chars().take(MAX_DEVICE_NAME_CHARS).collect();
    let cut = cut.trim_end();
    (!cut.is_empty()).then(|| cut.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_are_bounded_and_printable() {
        assert_eq!(validate_device_name("  My phone ").unwrap(), "My phone");
        assert_eq!(
            validate_device_name(&"é".repeat(64))
                .unwrap()
                .chars()
                .count(),
            64
        );
        assert!(validate_device_name(&"x".repeat(65)).is_err());
        assert!(validate_device_name("tab\tname").is_err());
        assert!(validate_device_name("rtl\u{202E}override").is_err());
        assert_eq!(fit_device_name(&"y".repeat(70)).unwrap(), "y".repeat(64));
        assert_eq!(fit_device_name("  Key\u{200B} 5 ").unwrap(), "Key 5");
        assert_eq!(fit_device_name("\u{FEFF}\n"), None);
        assert!(validate_device_name("nul\0").is_err());
        assert!(validate_device_name("bell\u{7}").is_err());
    }

    #[test]
    fn base64url_round_trip_rejects_standard_alphabet() {
        let bytes = [0xfb, 0xff, 0x00, 0x10];
        assert_eq!(from_b64url(&b64url(&bytes)).unwrap(), bytes);
        assert!(from_b64url("+/8A").is_none());
        assert!(from_b64url("AA==").is_none());
    }
}
