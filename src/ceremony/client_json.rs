//! The credential JSON as browsers send it, parsed in one pass into the webauthn-rs-proto types
//! plus the members those drop: the top-level `authenticatorAttachment` (sign-in) and
//! `clientExtensionResults.prf.enabled` (registration).
//!
//! The proto types ignore unknown keys, so these mirrors name the proto's own members with the
//! proto's own (de)serialisers and add ours. Where the WebAuthn JSON has an object (`response`,
//! `clientExtensionResults`) an array is refused ([`crate::json`]), which the proto's derived
//! impls would read by position. PRF `results` are never read: they are the page's
//! key material, and serde skips them without keeping them (`IgnoredAny`).

use serde::{de::IgnoredAny, Deserialize, Deserializer};
use webauthn_rs_proto::{
    AuthenticationExtensionsClientOutputs, AuthenticatorAssertionResponseRaw,
    AuthenticatorAttachment, AuthenticatorAttestationResponseRaw, PublicKeyCredential,
    RegisterPublicKeyCredential, RegistrationExtensionsClientOutputs,
};

/// `rawId` as webauthn-rs-proto decodes it: the URL-safe alphabet, padding optional.
fn base64url<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    use base64::{
        alphabet::URL_SAFE,
        engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
        Engine as _,
    };
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    // One short string: decoding from an owned copy keeps escaped JSON strings working and
    // needs no hand-written visitor.
    let text = String::deserialize(d)?;
    ENGINE.decode(text).map_err(serde::de::Error::custom)
}

/// `authenticatorAttachment`: `platform` or `cross-platform`; anything else (`null`, a value a
/// later WebAuthn level adds, a non-string) is `None`, as before this member was read: it is a
/// hint, never a reason to refuse a sign-in.
fn attachment<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<AuthenticatorAttachment>, D::Error> {
    /// A name, or any other JSON value (skipped unread).
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Name(String),
        Other(IgnoredAny),
    }
    Ok(match Loose::deserialize(d)? {
        Loose::Name(name) => crate::model::attachment_from_name(&name),
        Loose::Other(_) => None,
    })
}

/// `AuthenticationResponseJSON`.
#[derive(Deserialize)]
pub(crate) struct Assertion {
    id: String,
    #[serde(rename = "rawId", deserialize_with = "base64url")]
    raw_id: Vec<u8>,
    #[serde(deserialize_with = "crate::json::object")]
    response: AuthenticatorAssertionResponseRaw,
    #[serde(
        default,
        alias = "clientExtensionResults",
        deserialize_with = "crate::json::object"
    )]
    extensions: AuthenticationExtensionsClientOutputs,
    #[serde(rename = "type")]
    type_: String,
    #[serde(
        default,
        rename = "authenticatorAttachment",
        deserialize_with = "attachment"
    )]
    authenticator_attachment: Option<AuthenticatorAttachment>,
}

impl Assertion {
    pub(crate) fn into_parts(self) -> (PublicKeyCredential, Option<AuthenticatorAttachment>) {
        (
            PublicKeyCredential {
                id: self.id,
                raw_id: self.raw_id,
                response: self.response,
                extensions: self.extensions,
                type_: self.type_,
            },
            self.authenticator_attachment,
        )
    }
}

/// `RegistrationResponseJSON`.
#[derive(Deserialize)]
pub(crate) struct Registration {
    id: String,
    #[serde(rename = "rawId", deserialize_with = "base64url")]
    raw_id: Vec<u8>,
    #[serde(deserialize_with = "crate::json::object")]
    response: AuthenticatorAttestationResponseRaw,
    #[serde(rename = "type")]
    type_: String,
    #[serde(
        default,
        alias = "clientExtensionResults",
        deserialize_with = "crate::json::object"
    )]
    extensions: RegistrationOutputs,
}

/// `clientExtensionResults` at registration: the proto's members and `prf`.
#[derive(Default, Deserialize)]
struct RegistrationOutputs {
    #[serde(default)]
    prf: Option<PrfOutputs>,
    #[serde(flatten)]
    proto: RegistrationExtensionsClientOutputs,
}

/// `AuthenticationExtensionsPRFOutputs`: `enabled`, and whether `results` came (the PRF was
/// evaluated, so it is supported); the results themselves are skipped.
#[derive(Deserialize)]
struct PrfOutputs {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    results: Option<IgnoredAny>,
}

impl Registration {
    /// The proto credential and whether the client said the credential supports PRF.
    pub(crate) fn into_parts(self) -> (RegisterPublicKeyCredential, bool) {
        let prf_enabled = self
            .extensions
            .prf
            .is_some_and(|p| p.enabled == Some(true) || p.results.is_some());
        (
            RegisterPublicKeyCredential {
                id: self.id,
                raw_id: self.raw_id,
                response: self.response,
                type_: self.type_,
                extensions: self.extensions.proto,
            },
            prf_enabled,
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn assertion(extra: serde_json::Value) -> serde_json::Value {
        let mut v = json!({
            "id": "AQID", "rawId": "AQID", "type": "public-key",
            "response": {"clientDataJSON": "e30", "authenticatorData": "AAAA", "signature": "AAAA"},
        });
        if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
            v.extend(extra.clone());
        }
        v
    }

    /// The attachment is read where the proto drops it; unknown values, `null` and
    /// non-strings are none (the member was ignored before it was read, and still never refuses
    /// a sign-in).
    #[test]
    fn assertion_keeps_the_attachment() {
        for (value, want) in [
            (
                json!("cross-platform"),
                Some(AuthenticatorAttachment::CrossPlatform),
            ),
            (json!("platform"), Some(AuthenticatorAttachment::Platform)),
            (json!("hologram"), None),
            (json!(null), None),
            (json!(7), None),
            (json!(true), None),
            (json!(["platform"]), None),
            (json!({"a": [1]}), None),
        ] {
            let a: Assertion =
                serde_json::from_value(assertion(json!({ "authenticatorAttachment": value })))
                    .unwrap();
            let (cred, got) = a.into_parts();
            assert_eq!(got, want);
            assert_eq!(cred.raw_id, [1, 2, 3]);
        }
        let (_, got) = serde_json::from_value::<Assertion>(assertion(json!({})))
            .unwrap()
            .into_parts();
        assert_eq!(got, None);
    }

    /// `rawId` decodes as the proto decodes it: URL-safe, padding optional, the standard
    /// alphabet refused.
    #[test]
    fn raw_id_decodes_like_the_proto() {
        for (raw, ok) in [
            ("AQID", true),
            ("AQI", true),
            ("AQI=", true),
            ("+/8A", false),
            ("*", false),
        ] {
            let v = assertion(json!({ "rawId": raw }));
            let ours =
                serde_json::from_value::<Assertion>(v.clone()).map(|a| a.into_parts().0.raw_id);
            let proto = serde_json::from_value::<PublicKeyCredential>(v).map(|c| c.raw_id);
            assert_eq!(ours.is_ok(), ok, "{raw}");
            assert_eq!(ours.ok(), proto.ok(), "{raw}");
        }
    }

    fn registration(extensions: serde_json::Value) -> serde_json::Value {
        json!({
            "id": "AQID", "rawId": "AQID", "type": "public-key",
            "response": {"clientDataJSON": "e30", "attestationObject": "AAAA", "transports": ["internal"]},
            "clientExtensionResults": extensions,
        })
    }

    /// `prf.enabled: true`, or PRF results (it was evaluated), mean PRF is supported; the
    /// proto's own members (credProps) are still read.
    #[test]
    fn registration_reads_prf_enabled_and_keeps_cred_props() {
        for (ext, want) in [
            (
                json!({"prf": {"enabled": true}, "credProps": {"rk": true}}),
                true,
            ),
            (
                json!({"prf": {"results": {"first": "AAAA"}}, "credProps": {"rk": true}}),
                true,
            ),
            (
                json!({"prf": {"enabled": false}, "credProps": {"rk": true}}),
                false,
            ),
            (json!({"prf": {}, "credProps": {"rk": true}}), false),
            (json!({"credProps": {"rk": true}}), false),
        ] {
            let r: Registration = serde_json::from_value(registration(ext.clone())).unwrap();
            let (cred, prf) = r.into_parts();
            assert_eq!(prf, want, "{ext}");
            assert_eq!(
                cred.extensions.cred_props.and_then(|p| p.rk),
                Some(true),
                "{ext}"
            );
        }
        let mut bare = registration(json!({}));
        if let Some(o) = bare.as_object_mut() {
            o.remove("clientExtensionResults");
        }
        let (_, prf) = serde_json::from_value::<Registration>(bare)
            .unwrap()
            .into_parts();
        assert!(!prf);
    }
}
