//! Property test: thousands of generated finish bodies through the real app. Each case starts
//! from a valid body for a fresh state (a fresh registration, with its own challenge, or a fresh
//! assertion) and damages one field. Whatever arrives, the answer is never a 5xx (and never a
//! panic), every non-2xx answer is the JSON error envelope with one of the codes written out
//! below for its route, and a damaged response never signs in or registers unless the damaged
//! field is one the ceremony does not read (listed below) or, for a registration's unsigned
//! `clientDataJSON` and `attestationObject`, the damaged value still means the original
//! (`registration_means_the_original`: same type, challenge, origin and crossOrigin; same fmt,
//! attStmt, rpIdHash, UP/UV/AT, credential id and COSE key). Besides random JSON, flipped bytes
//! and truncations, the damage sets client data members to near variants (an origin with a path,
//! another challenge, `crossOrigin: true`...) and flips bytes inside the attestation object's
//! authenticator data with the CBOR around it intact, so the registration checks themselves are
//! exercised, not only the parsers.
//!
//! Must-succeed controls, so a verifier that refuses too much fails too: one registration and
//! one assertion in ten are sent undamaged, as is any body whose damage changed nothing, and
//! each must succeed; so must a registration whose damaged unsigned field still means the
//! original.
//!
//! The seed varies per run and is printed; `PASSKEYS_PROPTEST_SEED=<seed>` replays a run.

use actix_passkeys::testing::SoftAuthenticator;
use actix_web::test as atest;
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use serde_json::{json, Value};

use crate::fixtures::*;

/// Generated bodies per finish route.
fn cases() -> usize {
    std::env::var("PASSKEYS_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        proptest::collection::vec(any::<u8>(), 0..120).prop_map(|b| Value::from(b64(&b))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::hash_map("[a-zA-Z]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// How to damage a valid body: a JSON pointer to replace, or a byte to flip inside a field.
#[derive(Debug, Clone)]
enum Damage {
    Replace(usize, Value),
    FlipByte(usize, usize, u8),
    Truncate(usize, usize),
    Whole(Value),
    /// A `clientDataJSON` member set to one of its near variants (`CLIENT_DATA_VARIANTS`), the
    /// JSON re-encoded (so it stays valid).
    ClientData(usize, usize),
    /// A byte flipped inside one region of the authenticator data (`AUTH_DATA_REGIONS`): the
    /// attestation object's `authData`, re-encoded as CBOR, or an assertion's
    /// `authenticatorData`.
    AuthData(usize, usize, u8),
}

/// Near variants of each client data member (`None`: the member is removed). Each is refused
/// unless it means the original value (the padded challenge, a missing `crossOrigin`).
const CLIENT_DATA_VARIANTS: &[(&str, &[Option<&str>])] = &[
    (
        "type",
        &[
            Some("\"webauthn.get\""),
            Some("\"webauthn.create \""),
            Some("\"WEBAUTHN.CREATE\""),
            Some("\"\""),
            None,
        ],
    ),
    (
        "challenge",
        &[
            Some("\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\""),
            Some("CHALLENGE="),
            Some("CHALLENGE+A"),
            Some("CHALLENGE-1"),
            Some("\"\""),
            None,
        ],
    ),
    (
        "origin",
        &[
            Some("\"http://localhost:8080/\""),
            Some("\"http://localhost:8080/path\""),
            Some("\"http://LOCALHOST:8080\""),
            Some("\"http://localhost:8080?x=1\""),
            Some("\"http://localhost:8081\""),
            Some("\"https://localhost:8080\""),
            Some("\"http://evil.localhost:8080\""),
            None,
        ],
    ),
    (
        "crossOrigin",
        &[Some("true"), Some("\"false\""), Some("false"), None],
    ),
];

/// Regions of authenticator data, as (start, length); the last runs to the end.
const AUTH_DATA_REGIONS: &[(usize, usize)] = &[
    (0, 32),          // rpIdHash
    (32, 1),          // flags
    (33, 4),          // signCount
    (37, 16),         // AAGUID
    (53, 2),          // credentialIdLength
    (55, 16),         // credentialId (the soft authenticator's are 16 bytes)
    (71, usize::MAX), // credentialPublicKey, extensions
];

const FIELDS: &[&str] = &[
    "/credential/id",
    "/credential/rawId",
    "/credential/type",
    "/credential/response/clientDataJSON",
    "/credential/response/attestationObject",
    "/credential/response/authenticatorData",
    "/credential/response/signature",
    "/credential/response/userHandle",
    "/credential/response/transports",
    "/credential/clientExtensionResults",
    "/state",
    "/deviceName",
];

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0..FIELDS.len(), any_json()).prop_map(|(f, v)| Damage::Replace(f, v)),
        (0..FIELDS.len(), any::<usize>(), 1..=255u8)
            .prop_map(|(f, i, x)| Damage::FlipByte(f, i, x)),
        (0..FIELDS.len(), any::<usize>()).prop_map(|(f, n)| Damage::Truncate(f, n)),
        any_json().prop_map(Damage::Whole),
        (0..CLIENT_DATA_VARIANTS.len(), any::<usize>()).prop_map(|(m, v)| Damage::ClientData(m, v)),
        (0..AUTH_DATA_REGIONS.len(), any::<usize>(), 1..=255u8)
            .prop_map(|(r, i, x)| Damage::AuthData(r, i, x)),
    ]
}

fn decode(v: &Value) -> Option<Vec<u8>> {
    base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        v.as_str()?,
    )
    .ok()
}

/// Sets one client data member to a near variant; `CHALLENGE` in a variant stands for the
/// original challenge text.
fn set_client_data(body: &mut Value, member: usize, variant: usize) {
    let Some(slot) = body.pointer_mut("/credential/response/clientDataJSON") else {
        return;
    };
    let Some(Ok(Value::Object(mut cd))) = decode(slot).map(|b| serde_json::from_slice(&b)) else {
        return;
    };
    let (key, variants) = CLIENT_DATA_VARIANTS[member];
    let challenge = cd["challenge"].as_str().unwrap_or_default().to_owned();
    match variants[variant % variants.len()] {
        None => {
            cd.remove(key);
        }
        Some(v) if v.starts_with("CHALLENGE") => {
            cd.insert(key.into(), json!(v.replacen("CHALLENGE", &challenge, 1)));
        }
        Some(v) => {
            cd.insert(key.into(), serde_json::from_str(v).unwrap());
        }
    }
    *slot = json!(b64(&serde_json::to_vec(&cd).unwrap()));
}

/// Flips a byte inside one region of the authenticator data: the attestation object's
/// `authData` (the CBOR around it re-encoded), else the assertion's `authenticatorData`.
fn flip_auth_data(body: &mut Value, region: usize, i: usize, x: u8) {
    let flip = |data: &mut Vec<u8>| {
        let (start, len) = AUTH_DATA_REGIONS[region];
        let end = start.saturating_add(len).min(data.len());
        if start < end {
            data[start + i % (end - start)] ^= x;
        }
    };
    if let Some(slot) = body.pointer_mut("/credential/response/attestationObject") {
        let Some(Ok(serde_cbor_2::Value::Map(mut att))) =
            decode(slot).map(|b| serde_cbor_2::from_slice::<serde_cbor_2::Value>(&b))
        else {
            return;
        };
        let key = serde_cbor_2::Value::Text("authData".into());
        if let Some(serde_cbor_2::Value::Bytes(data)) = att.get_mut(&key) {
            flip(data);
        }
        *slot = json!(b64(
            &serde_cbor_2::to_vec(&serde_cbor_2::Value::Map(att)).unwrap()
        ));
    } else if let Some(slot) = body.pointer_mut("/credential/response/authenticatorData") {
        if let Some(mut data) = decode(slot) {
            flip(&mut data);
            *slot = json!(b64(&data));
        }
    }
}

fn apply(body: &mut Value, d: Damage) {
    let edit_bytes = |v: &mut Value, f: &dyn Fn(&mut Vec<u8>)| {
        if let Some(s) = v.as_str() {
            if let Ok(mut bytes) =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s)
            {
                f(&mut bytes);
                *v = json!(b64(&bytes));
            }
        }
    };
    match d {
        Damage::Replace(f, v) => {
            if let Some(slot) = body.pointer_mut(FIELDS[f]) {
                *slot = v;
            }
        }
        Damage::FlipByte(f, i, x) => {
            if let Some(slot) = body.pointer_mut(FIELDS[f]) {
                edit_bytes(slot, &|b| {
                    if !b.is_empty() {
                        let i = i % b.len();
                        b[i] ^= x;
                    }
                });
            }
        }
        Damage::Truncate(f, n) => {
            if let Some(slot) = body.pointer_mut(FIELDS[f]) {
                edit_bytes(slot, &|b| {
                    let n = n % (b.len() + 1);
                    b.truncate(n);
                });
            }
        }
        Damage::Whole(v) => *body = v,
        Damage::ClientData(m, v) => set_client_data(body, m, v),
        Damage::AuthData(r, i, x) => flip_auth_data(body, r, i, x),
    }
}

/// Codes a damaged `register/finish` body may get.
const REGISTRATION_CODES: &[&str] = &[
    "invalid_request",
    "challenge_not_found",
    "attestation_verification_failed",
];

/// Codes a damaged `authenticate/finish` body may get. One damaged field cannot reach
/// `credential_not_found` (`id` and `rawId` are checked against each other first, so changing
/// one of them is `invalid_request`) nor `clone_detected` (every byte the counter is read from
/// is signed, and the signature is checked before the counter; each assertion is fresh, with a
/// counter above the stored one).
const AUTHENTICATION_CODES: &[&str] = &[
    "invalid_request",
    "challenge_not_found",
    "assertion_verification_failed",
];

/// Fields a ceremony does not read (or reads only as metadata), so damaging them may still
/// succeed. Every other damage must fail.
const REGISTRATION_UNREAD: &[&str] = &[
    "/credential/response/authenticatorData",
    "/credential/response/signature",
    "/credential/response/userHandle",
    "/credential/response/transports",
    "/credential/clientExtensionResults",
    "/deviceName",
];
const AUTHENTICATION_UNREAD: &[&str] = &[
    "/credential/response/attestationObject",
    "/credential/response/transports",
    "/credential/clientExtensionResults",
    "/deviceName",
];

/// A registration's `clientDataJSON` and `attestationObject` are not signed with attestation
/// `none`: a damaged value is indistinguishable from a client that sent it, so it may register
/// when it still means the original. The fields it is judged on here.
const REGISTRATION_SEMANTIC: &[&str] = &[
    "/credential/response/clientDataJSON",
    "/credential/response/attestationObject",
];

/// The base64url decoder a response's fields are read with (padding optional, strict
/// trailing bits, as webauthn-rs-proto's `Base64<UrlSafe, Unpadded>`).
fn decode_field(v: Option<&Value>) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    base64::Engine::decode(
        &GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        ),
        v?.as_str()?,
    )
    .ok()
}

/// What a registration's client data means to the ceremony.
#[derive(PartialEq)]
struct ClientDataMeaning {
    type_: Value,
    challenge: Vec<u8>,
    /// The text: origins are compared exactly.
    origin: Value,
    /// Absent is `false`.
    cross_origin: bool,
    /// Read only when cross-origin.
    top_origin: Option<Value>,
}

fn client_data_meaning(body: &Value) -> Option<ClientDataMeaning> {
    let bytes = decode_field(body.pointer("/credential/response/clientDataJSON"))?;
    let Value::Object(cd) = serde_json::from_slice(&bytes).ok()? else {
        return None;
    };
    let cross_origin = match cd.get("crossOrigin") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return None,
    };
    Some(ClientDataMeaning {
        type_: cd.get("type")?.clone(),
        challenge: decode_field(cd.get("challenge"))?,
        origin: cd.get("origin")?.clone(),
        cross_origin,
        top_origin: cross_origin.then(|| cd.get("topOrigin").cloned()).flatten(),
    })
}

/// Authenticator data as a registration reads it: the rpIdHash, flags, attested credential
/// data (credential id, COSE key) and, with ED, one extensions map; trailing bytes are ignored
/// (webauthn-rs-core's parser).
struct AuthData {
    rp_id_hash: Vec<u8>,
    flags: u8,
    credential_id: Vec<u8>,
    public_key: serde_cbor_2::Value,
}

fn cbor_item(bytes: &[u8]) -> Option<(serde_cbor_2::Value, &[u8])> {
    let mut de = serde_cbor_2::Deserializer::from_slice(bytes);
    let v = <serde_cbor_2::Value as serde::Deserialize>::deserialize(&mut de).ok()?;
    Some((v, &bytes[de.byte_offset()..]))
}

fn parse_auth_data(d: &[u8]) -> Option<AuthData> {
    const AT: u8 = 0x40;
    const ED: u8 = 0x80;
    let flags = *d.get(32)?;
    if flags & AT == 0 {
        return None;
    }
    let len = u16::from_be_bytes([*d.get(53)?, *d.get(54)?]) as usize;
    let credential_id = d.get(55..55 + len)?.to_vec();
    let (public_key, rest) = cbor_item(&d[55 + len..])?;
    if flags & ED != 0 {
        let (serde_cbor_2::Value::Map(_), _) = cbor_item(rest)? else {
            return None;
        };
    }
    Some(AuthData {
        rp_id_hash: d[..32].to_vec(),
        flags,
        credential_id,
        public_key,
    })
}

/// What a registration's attestation object means to the ceremony: its members other than
/// `authData`, and the parsed `authData`.
fn attestation_meaning(body: &Value) -> Option<(Vec<(String, serde_cbor_2::Value)>, AuthData)> {
    let bytes = decode_field(body.pointer("/credential/response/attestationObject"))?;
    let serde_cbor_2::Value::Map(att) = serde_cbor_2::from_slice(&bytes).ok()? else {
        return None;
    };
    let mut others = Vec::new();
    let mut auth_data = None;
    for (k, v) in att {
        match (k, v) {
            (serde_cbor_2::Value::Text(k), serde_cbor_2::Value::Bytes(d)) if k == "authData" => {
                auth_data = Some(parse_auth_data(&d)?);
            }
            (serde_cbor_2::Value::Text(k), v) => others.push((k, v)),
            _ => return None,
        }
    }
    Some((others, auth_data?))
}

/// Whether a registration body damaged in `clientDataJSON` or `attestationObject` still means
/// the original `valid` one, so it could legitimately register: the same client data meaning
/// (type, challenge, origin, crossOrigin, topOrigin); the same attestation members (fmt,
/// attStmt); authenticator data with the same rpIdHash, credential id and COSE key, UP, UV
/// (policy required) and AT set, and BS only with BE (WebAuthn L3 §7.1 step 17). The
/// signCount, AAGUID, BE, RFU bits and extensions are the authenticator's to report, so they
/// are free.
fn registration_means_the_original(valid: &Value, damaged: &Value) -> bool {
    const UP: u8 = 0x01;
    const UV: u8 = 0x04;
    const BE: u8 = 0x08;
    const BS: u8 = 0x10;
    let same_client_data =
        client_data_meaning(damaged).is_some_and(|d| Some(d) == client_data_meaning(valid));
    let same_attestation = match (attestation_meaning(valid), attestation_meaning(damaged)) {
        (Some((o_members, o)), Some((d_members, d))) => {
            o_members == d_members
                && d.rp_id_hash == o.rp_id_hash
                && d.flags & (UP | UV) == UP | UV
                && (d.flags & BS == 0 || d.flags & BE != 0)
                && d.credential_id == o.credential_id
                && d.public_key == o.public_key
        }
        _ => false,
    };
    same_client_data && same_attestation
}

/// The damaged field, when the damage changed anything: `Some("")` for the whole body.
fn changed_field(before: &Value, after: &Value, d: &Damage) -> Option<&'static str> {
    let f = match d {
        Damage::Whole(_) => return (before != after).then_some(""),
        Damage::Replace(f, _) | Damage::FlipByte(f, _, _) | Damage::Truncate(f, _) => FIELDS[*f],
        Damage::ClientData(..) => "/credential/response/clientDataJSON",
        Damage::AuthData(..)
            if before
                .pointer("/credential/response/attestationObject")
                .is_some() =>
        {
            "/credential/response/attestationObject"
        }
        Damage::AuthData(..) => "/credential/response/authenticatorData",
    };
    (before.pointer(f) != after.pointer(f)).then_some(f)
}

fn seed() -> u64 {
    env_seed("PASSKEYS_PROPTEST_SEED").unwrap_or_else(clock_seed)
}

#[track_caller]
fn assert_sane(r: &Resp, input: &Value, allowed: &[&str]) {
    assert!(
        !r.status.is_server_error(),
        "5xx for {input}: {}",
        String::from_utf8_lossy(&r.raw)
    );
    if !r.status.is_success() {
        let code = r.body["error"]["code"].as_str().unwrap_or_else(|| {
            panic!(
                "no envelope for {input}: {} {}",
                r.status,
                String::from_utf8_lossy(&r.raw)
            )
        });
        assert!(
            allowed.contains(&code),
            "unexpected code {code} for {input}"
        );
        assert!(r.body["error"]["message"].is_string());
    }
}

#[actix_rt::test]
async fn damaged_finish_bodies_never_5xx_nor_succeed_unless_they_mean_the_original() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    let mut alice = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("alice").await;
    app.register(&mut alice, None).await.assert_ok();
    // More passkeys for alice need her passkey sign-in.
    app.sign_in(&mut alice, None).await.assert_ok();
    let seed = seed();
    eprintln!("properties: PASSKEYS_PROPTEST_SEED={seed}");
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = damage();
    let n = cases();
    let mut successes = 0;
    let mut damaged_successes: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut must_succeed: std::collections::BTreeMap<&str, usize> = Default::default();
    for i in 0..2 * n {
        let d = strategy.new_tree(&mut runner).unwrap().current();
        let registering = i % 2 == 0;
        let (path, allowed, unread, valid) = if registering {
            // A fresh registration: its own state, challenge and credential.
            let mut fresh = SoftAuthenticator::new(ORIGIN).unwrap();
            (
                "/auth/passkeys/register/finish",
                REGISTRATION_CODES,
                REGISTRATION_UNREAD,
                app.registration(&mut fresh, None).await,
            )
        } else {
            (
                "/auth/passkeys/authenticate/finish",
                AUTHENTICATION_CODES,
                AUTHENTICATION_UNREAD,
                app.assertion(&mut alice, None).await,
            )
        };
        let mut body = valid.clone();
        // The must-succeed control: one registration and one assertion in ten go undamaged.
        let control = i % 10 < 2;
        if !control {
            apply(&mut body, d.clone());
        }
        let changed = changed_field(&valid, &body, &d);
        let r = app
            .send(atest::TestRequest::post().uri(path).set_json(&body))
            .await;
        assert_sane(&r, &body, allowed);
        // Must succeed: an undamaged body (a control, or damage that changed nothing), and a
        // registration whose damaged unsigned field still means the original.
        let means_the_original = match changed {
            None => {
                assert_eq!(body, valid, "seed {seed} case {i}: damage changed no field");
                true
            }
            Some(field) => {
                registering
                    && REGISTRATION_SEMANTIC.contains(&field)
                    && registration_means_the_original(&valid, &body)
            }
        };
        if means_the_original {
            assert!(
                r.status.is_success(),
                "seed {seed} case {i}: a body that means the original ({changed:?}) was refused \
                 on {path}: {} {}; body {body}",
                r.status,
                String::from_utf8_lossy(&r.raw)
            );
            *must_succeed
                .entry(changed.unwrap_or("undamaged"))
                .or_default() += 1;
        }
        if let Some(field) = changed {
            assert!(
                !r.status.is_success()
                    || unread.contains(&field)
                    || (registering
                        && REGISTRATION_SEMANTIC.contains(&field)
                        && registration_means_the_original(&valid, &body)),
                "seed {seed} case {i}: a body damaged at `{field}` succeeded on {path}: {body}"
            );
        }
        if r.status.is_success() {
            successes += 1;
            if let Some(field) = changed {
                *damaged_successes.entry(field).or_default() += 1;
            }
            // A sign-in replaced the session; keep registering as alice.
            app.signup("alice").await;
        }
    }
    eprintln!("properties: {successes} of {} bodies succeeded; damaged ones by field: {damaged_successes:?}", 2 * n);
    eprintln!("properties: must-succeed cases (all succeeded): {must_succeed:?}");
    assert!(successes < 2 * n, "damage must make most bodies fail");
    assert!(
        must_succeed.get("undamaged").copied().unwrap_or_default() >= n / 5,
        "seed {seed}: too few undamaged controls: {must_succeed:?}"
    );
}
