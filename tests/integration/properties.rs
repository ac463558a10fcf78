//! Property test: thousands of generated finish bodies through the real app. Each case starts
//! from a valid body for a fresh state (a fresh registration, with its own challenge, or a fresh
//! assertion) and damages one field. Whatever arrives, the answer is never a 5xx (and never a
//! panic), every non-2xx answer is the JSON error envelope with one of the codes written out
//! below for its route, and a damaged response never signs in or registers (unless the damaged
//! field is one the ceremony does not read, listed below).
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
}

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
    ]
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

/// A flipped byte inside the registration's attestation object or client data: with
/// attestation `none` nothing signs them, so a flip in, say, the AAGUID, a flag bit the ceremony
/// accepts or an unknown client data key is indistinguishable from a client that sent those
/// bytes. (In an assertion both are signed: no such allowance there.)
fn unsigned_byte(d: &Damage) -> bool {
    matches!(d, Damage::FlipByte(f, _, _) if matches!(FIELDS[*f],
        "/credential/response/attestationObject" | "/credential/response/clientDataJSON"))
}

/// The damaged field, when the damage changed anything: `Some("")` for the whole body.
fn changed_field(before: &Value, after: &Value, d: &Damage) -> Option<&'static str> {
    let f = match d {
        Damage::Whole(_) => return (before != after).then_some(""),
        Damage::Replace(f, _) | Damage::FlipByte(f, _, _) | Damage::Truncate(f, _) => FIELDS[*f],
    };
    (before.pointer(f) != after.pointer(f)).then_some(f)
}

fn seed() -> u64 {
    std::env::var("PASSKEYS_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
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
async fn generated_finish_bodies_never_5xx() {
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
        apply(&mut body, d.clone());
        let changed = changed_field(&valid, &body, &d);
        let r = app
            .send(atest::TestRequest::post().uri(path).set_json(&body))
            .await;
        assert_sane(&r, &body, allowed);
        if let Some(field) = changed {
            assert!(
                !r.status.is_success()
                    || unread.contains(&field)
                    || (registering && unsigned_byte(&d)),
                "seed {seed} case {i}: a body damaged at `{field}` succeeded on {path}: {body}"
            );
        }
        if r.status.is_success() {
            successes += 1;
            // A sign-in replaced the session; keep registering as alice.
            app.signup("alice").await;
        }
    }
    assert!(successes < 2 * n, "damage must make most bodies fail");
}
