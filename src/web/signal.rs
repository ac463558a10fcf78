//! WebAuthn Signal API payloads, sent in the `Passkeys-Signal` response header.
//!
//! Browsers can tell passkey providers what the relying party knows
//! (`PublicKeyCredential.signalUnknownCredential`, `signalAllAcceptedCredentials`,
//! `signalCurrentUserDetails`), so stale passkeys are hidden and names stay current. The scope
//! puts the payload in a header, so that JSON bodies (the error envelope, the credential list)
//! keep their exact shape; `passkeys.js` applies it where the browser has the method.

use serde::Serialize;

use crate::model::{b64url, Credential, PasskeyUser};

/// The response header that carries a [`Signal`] as JSON.
pub const SIGNAL_HEADER: &str = "Passkeys-Signal";

/// One Signal API call: the variant names the method (`signal` + variant), its fields are the
/// method's argument. Serialised as `{"<method>": {options}}`, e.g.
/// `{"unknownCredential":{"rpId":"example.com","credentialId":"…"}}`.
///
/// ```
/// use actix_passkeys::wire::Signal;
/// let signal = Signal::UnknownCredential {
///     rp_id: "example.com".into(),
///     credential_id: "AAAA".into(),
/// };
/// assert_eq!(
///     signal.to_header_value(),
///     r#"{"unknownCredential":{"rpId":"example.com","credentialId":"AAAA"}}"#
/// );
/// // In your own handler: HttpResponse::Ok().insert_header(signal.header())
/// # let _ = actix_web::HttpResponse::Ok().insert_header(signal.header());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Signal {
    /// `signalUnknownCredential`: the credential is not known to the relying party.
    #[serde(rename_all = "camelCase")]
    UnknownCredential {
        /// The rp id.
        rp_id: String,
        /// The unknown credential id, base64url.
        credential_id: String,
    },
    /// `signalAllAcceptedCredentials`: every credential id the relying party accepts for the
    /// user handle; providers may hide the user's other passkeys for this rp id.
    #[serde(rename_all = "camelCase")]
    AllAcceptedCredentials {
        /// The rp id.
        rp_id: String,
        /// The WebAuthn user handle (base64url), not the app's user id.
        user_id: String,
        /// Every accepted credential id, base64url.
        all_accepted_credential_ids: Vec<String>,
    },
    /// `signalCurrentUserDetails`: the user's current account name and display name.
    #[serde(rename_all = "camelCase")]
    CurrentUserDetails {
        /// The rp id.
        rp_id: String,
        /// The WebAuthn user handle (base64url).
        user_id: String,
        /// The account name.
        name: String,
        /// The display name.
        display_name: String,
    },
}

impl Signal {
    /// The JSON for the [`SIGNAL_HEADER`] value. Non-ASCII characters (in names) are written
    /// as `\u` escapes, so the value is a valid header and still the same JSON.
    pub fn to_header_value(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let mut out = String::with_capacity(json.len());
        for c in json.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out
    }

    /// The header pair, for `HttpResponse::insert_header`.
    pub fn header(&self) -> (&'static str, String) {
        (SIGNAL_HEADER, self.to_header_value())
    }

    /// `allAcceptedCredentials` for a user whose stored credentials are `credentials` (the
    /// store's full list for that user). Disabled credentials are not accepted, so they are
    /// left out of the ids. `None` when the user has no credentials (no user handle is known),
    /// or when the credentials disagree on the user handle (the list could be wrong).
    pub(crate) fn all_accepted(rp_id: &str, credentials: &[Credential]) -> Option<Self> {
        let handle = &credentials.first()?.user_handle;
        if credentials.iter().any(|c| &c.user_handle != handle) {
            return None;
        }
        Some(Self::AllAcceptedCredentials {
            rp_id: rp_id.to_owned(),
            user_id: b64url(handle),
            all_accepted_credential_ids: credentials
                .iter()
                .filter(|c| !c.is_disabled())
                .map(Credential::id_b64)
                .collect(),
        })
    }

    /// `currentUserDetails` for `user`, whose credentials are `credentials`; `None` without any.
    pub(crate) fn user_details(
        rp_id: &str,
        user: &PasskeyUser,
        credentials: &[Credential],
    ) -> Option<Self> {
        let handle = &credentials.first()?.user_handle;
        let name = if user.name.is_empty() {
            &user.id
        } else {
            &user.name
        };
        let display_name = if user.display_name.is_empty() {
            name
        } else {
            &user.display_name
        };
        Some(Self::CurrentUserDetails {
            rp_id: rp_id.to_owned(),
            user_id: b64url(handle),
            name: name.clone(),
            display_name: display_name.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_value_is_ascii_json() {
        let s = Signal::CurrentUserDetails {
            rp_id: "example.com".into(),
            user_id: "AAAA".into(),
            name: "zoë@example.com".into(),
            display_name: "Zoë 🦀\n".into(),
        };
        let v = s.to_header_value();
        assert!(v.bytes().all(|b| (0x20..0x7f).contains(&b)), "{v}");
        assert!(actix_web::http::header::HeaderValue::from_str(&v).is_ok());
        let back: serde_json::Value = serde_json::from_str(&v).unwrap();
        assert_eq!(back["currentUserDetails"]["displayName"], "Zoë 🦀\n");
        assert_eq!(back["currentUserDetails"]["name"], "zoë@example.com");
    }
}
