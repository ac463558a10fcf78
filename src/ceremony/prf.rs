//! The WebAuthn `prf` extension (Level 3, §10.1.4) on the wire.
//!
//! webauthn-rs-proto has no member for it and drops unknown extension keys, so the inputs are
//! typed here ([`PrfInputs`]) and written into `publicKey.extensions.prf` when the options are
//! serialised ([`WithPrf`]), and the one output the server reads, `prf.enabled` at registration,
//! is read by the typed client JSON in [`super::client_json`]. PRF *results* are never read:
//! they are the page's key material, and serde skips them unparsed.

use std::collections::BTreeMap;

use serde::{ser::Error as _, Serialize, Serializer};

use crate::model::{b64url, PrfSalt};

/// The inputs of the `prf` extension (`AuthenticationExtensionsPRFInputs`) that a begin sends
/// in `publicKey.extensions.prf`: `{"eval": {"first": salt}}` at registration,
/// `{"evalByCredential": {"<credential id>": {"first": salt}}}` at a username-first sign-in.
/// Salts are base64url on the wire.
///
/// ```
/// use actix_passkeys::{store::PrfSalt, wire::PrfInputs};
///
/// let inputs = PrfInputs::by_credential([("AQID".to_owned(), PrfSalt::from_bytes(vec![7; 4]))]);
/// assert_eq!(
///     serde_json::to_string(&inputs)?,
///     r#"{"evalByCredential":{"AQID":{"first":"BwcHBw"}}}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PrfInputs {
    /// `eval.first`: the salt evaluated whatever credential answers (registration).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "first")]
    pub eval: Option<PrfSalt>,
    /// `evalByCredential`: base64url credential id → the salt evaluated for that credential.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "first_by_key"
    )]
    pub eval_by_credential: BTreeMap<String, PrfSalt>,
}

impl PrfInputs {
    /// `{"eval": {"first": salt}}`.
    pub fn eval(salt: PrfSalt) -> Self {
        Self {
            eval: Some(salt),
            eval_by_credential: BTreeMap::new(),
        }
    }

    /// `{"evalByCredential": {id: {"first": salt}, …}}` for these (base64url id, salt) pairs.
    pub fn by_credential(salts: impl IntoIterator<Item = (String, PrfSalt)>) -> Self {
        Self {
            eval: None,
            eval_by_credential: salts.into_iter().collect(),
        }
    }

    /// Whether nothing would be evaluated.
    pub fn is_empty(&self) -> bool {
        self.eval.is_none() && self.eval_by_credential.is_empty()
    }
}

/// `AuthenticationExtensionsPRFValues` with only `first`.
#[derive(Serialize)]
struct Values {
    first: String,
}

fn values(salt: &PrfSalt) -> Values {
    Values {
        first: b64url(salt.as_bytes()),
    }
}

fn first<S: Serializer>(salt: &Option<PrfSalt>, s: S) -> Result<S::Ok, S::Error> {
    salt.as_ref().map(values).serialize(s)
}

fn first_by_key<S: Serializer>(salts: &BTreeMap<String, PrfSalt>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(salts.iter().map(|(id, salt)| (id, values(salt))))
}

/// Creation or request options serialised with `prf` added to their `extensions`. Without
/// PRF inputs they are serialised as they are (no detour): only apps that turned PRF on pay
/// for the merge, which goes through a JSON value because the proto types have no slot for it.
pub(crate) struct WithPrf<'a, O> {
    pub(crate) options: &'a O,
    pub(crate) prf: Option<&'a PrfInputs>,
}

impl<O: Serialize> Serialize for WithPrf<'_, O> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(prf) = self.prf.filter(|p| !p.is_empty()) else {
            return self.options.serialize(s);
        };
        let mut options = serde_json::to_value(self.options).map_err(S::Error::custom)?;
        let prf = serde_json::to_value(prf).map_err(S::Error::custom)?;
        let slot = options
            .as_object_mut()
            .map(|o| o.entry("extensions").or_insert(serde_json::Value::Null))
            .ok_or_else(|| S::Error::custom("options that are not an object"))?;
        if slot.is_null() {
            *slot = serde_json::Value::Object(Default::default());
        }
        let extensions = slot
            .as_object_mut()
            .ok_or_else(|| S::Error::custom("options whose extensions are not an object"))?;
        extensions.insert("prf".to_owned(), prf);
        options.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Serialize)]
    struct Options {
        challenge: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        extensions: Option<serde_json::Value>,
    }

    /// PRF inputs are added to the options' own extensions, next to what webauthn-rs sent;
    /// without inputs (or with empty ones) the options are unchanged.
    #[test]
    fn prf_goes_into_the_options_extensions() {
        let salt = PrfSalt::from_bytes(vec![1, 2, 3]);
        let with = Options {
            challenge: "c",
            extensions: Some(json!({"credProps": true})),
        };
        let inputs = PrfInputs::eval(salt.clone());
        let got = serde_json::to_value(WithPrf {
            options: &with,
            prf: Some(&inputs),
        })
        .unwrap();
        assert_eq!(
            got,
            json!({"challenge": "c", "extensions": {"credProps": true, "prf": {"eval": {"first": "AQID"}}}})
        );
        let without = Options {
            challenge: "c",
            extensions: None,
        };
        let inputs = PrfInputs::by_credential([("id".to_owned(), salt)]);
        let got = serde_json::to_value(WithPrf {
            options: &without,
            prf: Some(&inputs),
        })
        .unwrap();
        assert_eq!(
            got,
            json!({"challenge": "c", "extensions": {"prf": {"evalByCredential": {"id": {"first": "AQID"}}}}})
        );
        for prf in [None, Some(&PrfInputs::default())] {
            let got = serde_json::to_value(WithPrf {
                options: &without,
                prf,
            })
            .unwrap();
            assert_eq!(got, json!({"challenge": "c"}));
        }
    }
}
