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
