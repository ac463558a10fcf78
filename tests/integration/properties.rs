//! Property test: thousands of generated finish bodies through the real app. Whatever arrives,
//! the answer is never a 5xx (and never a panic), and every non-2xx answer is the JSON error
//! envelope with a known code.

use actix_passkeys::testing::SoftAuthenticator;
use actix_web::test as atest;
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRng, TestRunner},
};
use serde_json::{json, Value};

use crate::fixtures::*;

/// Generated bodies per finish route.
fn cases() -> usize {
    std::env::var("PASSKEYS_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
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

#[track_caller]
fn assert_sane(r: &Resp, input: &Value) {
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
            actix_passkeys::PasskeyError::CODES.contains(&code),
            "unexpected code {code}"
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
    // A template of each finish body; each case gets a fresh state and one damage.
    let reg_template = app
        .registration(&mut SoftAuthenticator::new(ORIGIN).unwrap(), None)
        .await;
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(Config::default().rng_algorithm),
    );
    let strategy = damage();
    let n = cases();
    let mut successes = 0;
    for i in 0..2 * n {
        let d = strategy.new_tree(&mut runner).unwrap().current();
        let (path, mut body) = if i % 2 == 0 {
            let state = app.post_empty("/auth/passkeys/register/begin").await.body["state"].clone();
            let mut b = reg_template.clone();
            b["state"] = state;
            ("/auth/passkeys/register/finish", b)
        } else {
            (
                "/auth/passkeys/authenticate/finish",
                app.assertion(&mut alice, None).await,
            )
        };
        apply(&mut body, d);
        let r = app
            .send(atest::TestRequest::post().uri(path).set_json(&body))
            .await;
        assert_sane(&r, &body);
        if r.status.is_success() {
            successes += 1;
            // A sign-in replaced the session; keep registering as alice.
            app.signup("alice").await;
        }
    }
    assert!(successes < 2 * n, "damage must make most bodies fail");
}
