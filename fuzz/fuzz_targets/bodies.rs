//! The bodies and oracles of the `finish_json` and `attestation_object` targets, shared by the
//! cargo-fuzz targets (`block_on`, one global service) and the in-process fuzzer in `cargo test`
//! (`tests/integration/fuzz_bodies.rs`, awaited, a fresh service per input). Each returns
//! `Err(message)` when an oracle fails; the message carries the exact request body, so a
//! failure can be replayed by sending that body (the states and challenges are random per
//! process, so the fuzz input alone does not reproduce it). A panic is caught by the driver.
#![allow(dead_code)]

use actix_passkeys::{wire::AuthenticationBegin, PasskeyError, PasskeyUser, Passkeys};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::{json, Value};

/// The service both drivers fuzz (in-memory stores).
pub type Service = Passkeys;

/// The origin the service accepts.
pub const ORIGIN: &str = "http://localhost:8080";
/// SHA-256 of the rp id, `localhost`.
pub const RP_ID_HASH: [u8; 32] = [
    0x49, 0x96, 0x0d, 0xe5, 0x88, 0x0e, 0x8c, 0x68, 0x74, 0x34, 0x17, 0x0f, 0x64, 0x76, 0x60, 0x5b,
    0x8f, 0xe4, 0xae, 0xb9, 0xa2, 0x86, 0x32, 0xc7, 0x99, 0x5c, 0xf3, 0xba, 0x83, 0x1d, 0x97, 0x63,
];
/// The app user the states are begun for.
pub const USER: &str = "r";

/// Codes a `register/finish` body not made for its state may get: the JSON layer or `id` ≠
/// `rawId` (`invalid_request`), or the ceremony (`attestation_verification_failed`). The state
/// is always live and of the right ceremony, so never `challenge_not_found`.
pub const REGISTRATION_CODES: &[&str] = &["invalid_request", "attestation_verification_failed"];
/// Codes an `authenticate/finish` body not made for its state may get, usernameless: the JSON
/// layer (`invalid_request`), an id not in the store (`credential_not_found`), or a stored one
/// that does not verify (`assertion_verification_failed`).
pub const USERNAMELESS_CODES: &[&str] = &[
    "invalid_request",
    "credential_not_found",
    "assertion_verification_failed",
];
/// The same username-first: an id that is not the bound user's answers like a bad signature,
/// never `credential_not_found` (a finish must not tell known from unknown ids).
pub const USERNAME_FIRST_CODES: &[&str] = &["invalid_request", "assertion_verification_failed"];

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh registration state for [`USER`] and its challenge.
async fn registration_state(svc: &Service) -> Result<(String, String), String> {
    let options = svc
        .start_registration(PasskeyUser::new(USER, USER, USER))
        .await
        .map_err(|e| format!("register/begin failed: {}", e.code()))?;
    let v = serde_json::to_value(&options).map_err(|e| e.to_string())?;
    Ok((
        v["state"].as_str().unwrap_or_default().to_owned(),
        v["publicKey"]["challenge"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ))
}

/// A fresh authentication state: usernameless, or username-first for `user`.
async fn authentication_state(svc: &Service, user: Option<&str>) -> Result<String, String> {
    let begin: AuthenticationBegin =
        serde_json::from_value(json!({ "userId": user })).map_err(|e| e.to_string())?;
    let options = svc
        .start_authentication(begin)
        .await
        .map_err(|e| format!("authenticate/begin failed: {}", e.code()))?;
    let v = serde_json::to_value(&options).map_err(|e| e.to_string())?;
    Ok(v["state"].as_str().unwrap_or_default().to_owned())
}

/// The oracle for a finish that must not succeed: a 4xx with one of `codes`; the code.
fn refused<T>(
    result: Result<T, PasskeyError>,
    codes: &[&str],
    what: &str,
    body: &Value,
) -> Result<&'static str, String> {
    match result {
        Ok(_) => Err(format!("a body not made for its state {what}; body {body}")),
        Err(e) if !e.status().is_client_error() => Err(format!(
            "{} answered {}, not a 4xx; body {body}",
            e.code(),
            e.status()
        )),
        Err(e) if !codes.contains(&e.code().as_str()) => Err(format!(
            "refused with {}, expected one of {codes:?}; body {body}",
            e.code()
        )),
        Err(e) => Ok(e.code().as_str()),
    }
}

/// `finish_json`: arbitrary bytes as a finish body for both routes. When they are a JSON object,
/// a live state of the route's ceremony is swapped in (the authentication one usernameless or,
/// for an odd-length input, username-first for [`USER`]), so parsing and every verification
/// step are reachable. Oracles: no 5xx; the written-out codes; it never registers or signs in
/// (no input can carry the fresh challenge, so nothing an input says was made for the state).
/// Returns the codes answered, as `route code`.
pub async fn finish_json(svc: &Service, data: &[u8]) -> Result<Vec<String>, String> {
    let mut answered = Vec::new();
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return Ok(answered);
    };
    let mut registration = body.clone();
    if let Some(obj) = registration.as_object_mut() {
        obj.insert(
            "state".into(),
            Value::String(registration_state(svc).await?.0),
        );
    }
    if let Ok(input) = serde_json::from_value(registration.clone()) {
        let result = svc.finish_registration_for(USER, input).await;
        let code = refused(result, REGISTRATION_CODES, "registered", &registration)?;
        answered.push(format!("register {code}"));
    }
    let username_first = data.len() % 2 == 1;
    let mut authentication = body;
    if let Some(obj) = authentication.as_object_mut() {
        let state = authentication_state(svc, username_first.then_some(USER)).await?;
        obj.insert("state".into(), Value::String(state));
    }
    if let Ok(input) = serde_json::from_value(authentication.clone()) {
        let codes = if username_first {
            USERNAME_FIRST_CODES
        } else {
            USERNAMELESS_CODES
        };
        let result = svc.finish_authentication(input).await;
        let code = refused(result, codes, "signed in", &authentication)?;
        let mode = if username_first {
            "username-first"
        } else {
            "usernameless"
        };
        answered.push(format!("authenticate {mode} {code}"));
    }
    Ok(answered)
}

/// One CBOR item at the start of `bytes` and the bytes after it.
fn cbor_item(bytes: &[u8]) -> Option<(serde_cbor_2::Value, &[u8])> {
    let mut de = serde_cbor_2::Deserializer::from_slice(bytes);
    let v = <serde_cbor_2::Value as serde::Deserialize>::deserialize(&mut de).ok()?;
    Some((v, &bytes[de.byte_offset()..]))
}

/// The `authData` of an attestation object, when it is a CBOR map that has one.
fn auth_data(attestation: &[u8]) -> Option<(serde_cbor_2::Value, Vec<u8>)> {
    let serde_cbor_2::Value::Map(map) = serde_cbor_2::from_slice(attestation).ok()? else {
        return None;
    };
    match map.get(&serde_cbor_2::Value::Text("authData".into()))? {
        serde_cbor_2::Value::Bytes(d) => Some((serde_cbor_2::Value::Map(map.clone()), d.clone())),
        _ => None,
    }
}

/// The attested credential id, when the authenticator data has AT set and is long enough.
pub fn attested_credential_id(attestation: &[u8]) -> Option<Vec<u8>> {
    let (_, d) = auth_data(attestation)?;
    let len = u16::from_be_bytes([*d.get(53)?, *d.get(54)?]) as usize;
    (d.get(32)? & 0x40 != 0).then(|| d.get(55..55 + len).map(<[u8]>::to_vec))?
}

/// Why an attestation object must not register (attestation `none`, policy UV required), or
/// `None` when no rule the model knows refuses it: not a CBOR map; `fmt` not `"none"`;
/// `authData` missing, with another rpIdHash, UP, UV or AT clear, BS without BE (WebAuthn L3
/// §7.1 step 17), no attested credential data
/// (AAGUID, a length of at most 1023, the id, one CBOR item), or ED set without an extensions
/// map after it. Whether a well-formed object registers also rests on its COSE key (a point on
/// the curve, an allowed algorithm), which the model does not judge. A non-empty `attStmt`
/// under `fmt: "none"` is not judged either: the format's syntax says empty, but its
/// verification procedure checks nothing and webauthn-rs-core accepts one (harmless: `none`
/// conveys no claim that anything trusts).
pub fn must_not_register(attestation: &[u8]) -> Option<&'static str> {
    let Some((serde_cbor_2::Value::Map(map), d)) = auth_data(attestation) else {
        return Some("not a CBOR map with authData bytes");
    };
    let text = |k: &str| serde_cbor_2::Value::Text(k.into());
    if map.get(&text("fmt")) != Some(&text("none")) {
        return Some("fmt is not none");
    }
    if d.get(..32) != Some(&RP_ID_HASH[..]) {
        return Some("another rpIdHash");
    }
    let flags = d.get(32).copied().unwrap_or_default();
    if flags & 0x01 == 0 {
        return Some("UP clear");
    }
    if flags & 0x04 == 0 {
        return Some("UV clear (policy required)");
    }
    if flags & 0x40 == 0 {
        return Some("AT clear");
    }
    if flags & 0x10 != 0 && flags & 0x08 == 0 {
        return Some("BS set without BE");
    }
    let Some(len) = d
        .get(53..55)
        .map(|l| u16::from_be_bytes([l[0], l[1]]) as usize)
    else {
        return Some("no attested credential data");
    };
    let Some((_, rest)) = (len <= 1023)
        .then(|| d.get(55 + len..))
        .flatten()
        .and_then(cbor_item)
    else {
        return Some("no attested credential data");
    };
    if flags & 0x80 != 0 && !matches!(cbor_item(rest), Some((serde_cbor_2::Value::Map(_), _))) {
        return Some("ED set without an extensions map");
    }
    None
}

/// `attestation_object`: arbitrary bytes as the CBOR attestation object of an otherwise valid
/// registration response (right challenge, type and origin; `rawId` the attested credential id
/// when the bytes have one, except for one input in eight, else their first 16 bytes). Oracles:
/// no 5xx; a refusal is `attestation_verification_failed`, `invalid_request` (only when `rawId`
/// is not the attested id) or, for a well-formed object whose id is taken,
/// `credential_already_exists`; an object a rule refuses ([`must_not_register`]), or sent with
/// another `rawId`, never registers. `Ok(true)` when it registered.
pub async fn attestation_object(svc: &Service, data: &[u8]) -> Result<bool, String> {
    let (state, challenge) = registration_state(svc).await?;
    let attested = attested_credential_id(data);
    // One input in eight (by the sum of its bytes) names another id in `rawId`, which must
    // never register (`src/ceremony/registration.rs`: `rawId` must be the attested id).
    let first_bytes = &data[..data.len().min(16)];
    let honest = data.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) % 8 != 7;
    let raw_id = attested
        .as_deref()
        .filter(|_| honest)
        .unwrap_or(first_bytes);
    let lying = attested.as_deref() != Some(raw_id);
    let id = b64(raw_id);
    let client_data = json!({
        "type": "webauthn.create", "challenge": challenge, "origin": ORIGIN, "crossOrigin": false,
    });
    let body = json!({
        "credential": {
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data.to_string().as_bytes()),
                "attestationObject": b64(data),
            },
            "clientExtensionResults": {},
        },
        "state": state,
    });
    let input = serde_json::from_value(body.clone())
        .map_err(|e| format!("the body does not parse ({e}); body {body}"))?;
    let refusal = must_not_register(data).or(lying.then_some("rawId is not the attested id"));
    match svc.finish_registration_for(USER, input).await {
        Ok(_) => match refusal {
            Some(why) => Err(format!("registered although {why}; body {body}")),
            None => Ok(true),
        },
        Err(e) => {
            let code = e.code().as_str();
            let allowed = match code {
                "attestation_verification_failed" => true,
                "invalid_request" => lying,
                "credential_already_exists" => refusal.is_none(),
                _ => false,
            };
            if !e.status().is_client_error() || !allowed {
                Err(format!(
                    "refused with {code} ({}), not allowed here (rule: {refusal:?}); body {body}",
                    e.status()
                ))
            } else {
                Ok(false)
            }
        }
    }
}
