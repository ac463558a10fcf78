//! Credential metadata that the WebAuthn engine verifies but does not hand back: the AAGUID and
//! the COSE public key bytes, read from the (already verified) attestation object.

use serde_cbor_2::Value;
use uuid::Uuid;
use webauthn_rs_core::internals::AuthenticatorData;
use webauthn_rs_core::proto::{AuthenticatorTransport, Registration};

/// AAGUID (None when all zero) and COSE public key bytes from an attestation object.
pub(crate) fn from_attestation_object(attestation_object: &[u8]) -> (Option<Uuid>, Vec<u8>) {
    let auth_data = match serde_cbor_2::from_slice::<Value>(attestation_object) {
        Ok(Value::Map(map)) => map.into_iter().find_map(|(k, v)| match (k, v) {
            (Value::Text(k), Value::Bytes(b)) if k == "authData" => Some(b),
            _ => None,
        }),
        _ => None,
    };
    let acd = auth_data
        .as_deref()
        .and_then(|b| AuthenticatorData::<Registration>::try_from(b).ok())
        .and_then(|ad| ad.acd);
    match acd {
        Some(acd) => {
            let aaguid = Uuid::from_slice(&acd.aaguid).ok().filter(|u| !u.is_nil());
            let public_key = serde_cbor_2::to_vec(&acd.credential_pk).unwrap_or_default();
            (aaguid, public_key)
        }
        None => (None, Vec::new()),
    }
}

/// Stored transport names back to the protocol enum (unknown names are dropped).
pub(crate) fn transports(names: &[String]) -> Option<Vec<AuthenticatorTransport>> {
    let parsed: Vec<AuthenticatorTransport> = names
        .iter()
        .filter_map(|n| serde_json::from_value(serde_json::Value::String(n.clone())).ok())
        .collect();
    (!parsed.is_empty()).then_some(parsed)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The attestation object of the W3C Level 3 §16.2 "none ES256" vector (its AAGUID
    /// `8446ccb9-ab1d-b374-750b-2367ff6f3a1f`).
    const W3C_NONE_ES256: &str = include_str!("../../tests/fixtures/w3c/none-es256.json");

    fn attestation_object() -> Vec<u8> {
        let vector: serde_json::Value = serde_json::from_str(W3C_NONE_ES256).expect("fixture");
        let hex = vector["registration"]["attestationObject"]
            .as_str()
            .expect("attestationObject");
        hex::decode(hex).expect("the fixture's hex")
    }

    #[test]
    fn reads_aaguid_and_key_from_auth_data() {
        let (aaguid, key) = from_attestation_object(&attestation_object());
        assert_eq!(
            aaguid.map(|u| u.to_string()).as_deref(),
            Some("8446ccb9-ab1d-b374-750b-2367ff6f3a1f")
        );
        assert!(!key.is_empty());
    }

    /// Only the `authData` member is read: another byte string in the map (which sorts first)
    /// is not mistaken for it.
    #[test]
    fn reads_only_the_auth_data_member() {
        let Ok(Value::Map(mut map)) = serde_cbor_2::from_slice::<Value>(&attestation_object())
        else {
            panic!("not a map");
        };
        map.insert(Value::Text("aaaa".into()), Value::Bytes(vec![0u8; 64]));
        let with_extra = serde_cbor_2::to_vec(&Value::Map(map)).expect("cbor");
        assert_eq!(
            from_attestation_object(&with_extra),
            from_attestation_object(&attestation_object())
        );
        let only_extra: BTreeMap<Value, Value> =
            [(Value::Text("authDatx".into()), Value::Bytes(vec![0u8; 64]))].into();
        let only_extra = serde_cbor_2::to_vec(&Value::Map(only_extra)).expect("cbor");
        assert_eq!(from_attestation_object(&only_extra), (None, Vec::new()));
    }
}
