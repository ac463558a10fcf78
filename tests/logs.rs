//! No secrets in logs: every log record at every level, across a run of every route and the
//! main failure paths, is captured and searched for challenges, state handles, signatures, key
//! material, user handles and session cookies.
//!
//! Every secret is looked for as sent and as standard base64, hex and `{:?}` byte dumps.
//! Records of every crate are checked at every level, webauthn-rs-core's included: it traces
//! its registration state (which holds the challenge, spent by then) and the response, which is
//! the one exemption, and docs/security.md ("Logging") still tells apps to filter `webauthn_rs_core` to `info`.
#![allow(
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

#[path = "integration/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::sync::{Mutex, OnceLock};

use actix_passkeys::{rate_limit::RateLimit, testing::SoftAuthenticator};
use actix_web::http::Method;
use base64::{
    engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD},
    Engine as _,
};
use fixtures::*;
use serde_json::Value;

/// One captured record: level, target, message.
type Record = (log::Level, String, String);

struct Capture(Mutex<Vec<Record>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push((
            record.level(),
            record.target().to_owned(),
            record.args().to_string(),
        ));
    }

    fn flush(&self) {}
}

/// The logger is global: each test holds this lock from its first to its last record and starts
/// from an empty capture, so the lines one test asserts are its own.
/// (An async lock: the turn is held across the test's awaits. A panicking test releases it.)
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Takes the test's turn at the logger and empties the capture.
async fn exclusive_capture() -> (tokio::sync::MutexGuard<'static, ()>, &'static Capture) {
    let turn = SERIAL.lock().await;
    let capture = capture();
    capture
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    (turn, capture)
}

fn capture() -> &'static Capture {
    static LOGGER: OnceLock<&'static Capture> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let logger: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(logger).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        logger
    })
}

/// Every string in a JSON value that could be secret (long enough to be a token).
fn secrets_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.len() >= 16 => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| secrets_in(x, out)),
        Value::Object(o) => {
            o.values().for_each(|x| secrets_in(x, out));
            // The challenge inside a client data JSON is a secret of its own, whichever
            // way the client data is written.
            if let Some(Value::String(client_data)) = o.get("clientDataJSON") {
                let decoded: Option<Value> = URL_SAFE_NO_PAD
                    .decode(client_data)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok());
                if let Some(challenge) = decoded.as_ref().and_then(|c| c["challenge"].as_str()) {
                    out.push(challenge.to_owned());
                }
            }
        }
        _ => {}
    }
}

/// The ways a byte string can be written into a log line: standard base64 with and without
/// padding, base64url, lower- and upper-case hex, and `{:?}` / `{:x?}` of the bytes.
fn byte_renderings(bytes: &[u8]) -> Vec<String> {
    let hex = hex::encode(bytes);
    vec![
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        hex.to_uppercase(),
        hex,
        format!("{bytes:?}"),
        format!("{bytes:x?}"),
    ]
}

/// A secret as sent on the wire plus every rendering of its bytes (when it is base64url, as
/// challenges, handles, signatures and user handles are) and its `{:?}` form.
fn renderings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned(), format!("{secret:?}")];
    if let Ok(bytes) = URL_SAFE_NO_PAD.decode(secret.trim_end_matches('=')) {
        if bytes.len() >= 12 {
            out.extend(byte_renderings(&bytes));
            // Text sent as base64url (a client data JSON) may be logged decoded.
            if let Ok(text) = std::str::from_utf8(&bytes) {
                out.push(text.to_owned());
            }
        }
    }
    out
}

/// The server secret the test app is built with: it must never be logged in any form.
const SERVER_SECRET: &[u8] = b"log-test server secret, 32+ bytes long!";

/// webauthn-rs-core traces, while it verifies a registration, its whole `RegistrationState`
/// (which holds the challenge) and the parsed response. By then this crate has consumed the
/// state handle, so the challenge is spent and the response is what the browser sent in the
/// clear: core's records may show those two, and nothing else that is secret.
fn is_core(target: &str) -> bool {
    target.starts_with("webauthn_rs_core")
}

#[actix_rt::test]
async fn no_secret_reaches_the_log() {
    let (_turn, capture) = exclusive_capture().await;
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx
        .builder(config().build().unwrap())
        .server_secret(SERVER_SECRET)
        .audit(actix_passkeys::hooks::LogAuditSink)
        .rate_limit(RateLimit::new(1000, 1.0).key(|_| Some("k".into())))
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    let mut secrets = Vec::new();
    let mut alice = SoftAuthenticator::new(ORIGIN).unwrap();

    app.signup("alice").await;
    let body = app.registration(&mut alice, Some("Phone")).await;
    secrets_in(&body, &mut secrets);
    // What core's registration trace may show once the handle is spent: the client's response
    // and its challenge (never the state handle, which core does not see).
    let mut spent_registration = Vec::new();
    secrets_in(&body["credential"], &mut spent_registration);
    let client_data: Value = serde_json::from_slice(&unb64(
        body["credential"]["response"]["clientDataJSON"]
            .as_str()
            .unwrap(),
    ))
    .unwrap();
    let challenge = client_data["challenge"].as_str().unwrap().to_owned();
    spent_registration.push(challenge.clone());
    secrets.push(challenge);
    app.post("/auth/passkeys/register/finish", body.clone())
        .await
        .assert_ok();
    // Replay and garbage on registration.
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_error(400, "challenge_not_found");
    app.send(
        actix_web::test::TestRequest::post()
            .uri("/auth/passkeys/register/finish")
            .insert_header(("content-type", "application/json"))
            .set_payload("{\"credential\": {\"id\": \"SECRETSECRETSECRET\"}"),
    )
    .await
    .assert_error(400, "invalid_request");
    secrets.push("SECRETSECRETSECRET".into());
    secrets.extend(app.cookie.clone());
    app.logout().await;

    for user in [Some("alice"), None, Some("nobody-here")] {
        let begin = app.auth_begin(user).await;
        secrets_in(&begin, &mut secrets);
        if user == Some("nobody-here") {
            continue;
        }
        let credential = alice.sign_in(&begin["publicKey"]).await.unwrap();
        let body = serde_json::json!({"credential": credential, "state": begin["state"]});
        secrets_in(&body, &mut secrets);
        app.post("/auth/passkeys/authenticate/finish", body.clone())
            .await
            .assert_ok();
        secrets.extend(app.cookie.clone());
        app.post("/auth/passkeys/authenticate/finish", body)
            .await
            .assert_error(400, "challenge_not_found");
    }
    // Clone detection, expiry, management.
    let mut clone = alice.duplicate();
    clone.set_sign_count(0);
    let body = app.assertion(&mut clone, None).await;
    secrets_in(&body, &mut secrets);
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_error(401, "clone_detected");
    let body = app.assertion(&mut alice, None).await;
    secrets_in(&body, &mut secrets);
    ctx.clock.advance(std::time::Duration::from_secs(400));
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_error(400, "challenge_expired");
    app.signup("alice").await;
    let list = app.get("/auth/passkeys/credentials").await;
    let id = list.assert_ok()[0]["id"].as_str().unwrap().to_owned();
    let renamed = app
        .method(
            Method::PATCH,
            &format!("/auth/passkeys/credentials/{id}"),
            Some(serde_json::json!({"deviceName": "Laptop"})),
        )
        .await;
    assert_eq!(renamed.status.as_u16(), 204, "{:?}", renamed.body);
    let listed = app.get("/auth/passkeys/credentials").await;
    assert_eq!(listed.assert_ok()[0]["deviceName"], "Laptop");
    let revoked = app
        .method(
            Method::DELETE,
            &format!("/auth/passkeys/credentials/{id}"),
            None,
        )
        .await;
    assert_eq!(revoked.status.as_u16(), 204, "{:?}", revoked.body);
    secrets.extend(app.cookie.clone());
    secrets.extend(alice.user_handle().map(|h| b64(&h)));

    only_secrets(&mut secrets, &[&id]);
    assert!(secrets.len() > 20, "collected {} secrets", secrets.len());
    let records = capture.0.lock().unwrap().clone();
    assert!(
        records.iter().any(|(_, t, _)| t == "actix_passkeys::audit"),
        "the audit log ran"
    );
    assert!(
        records
            .iter()
            .any(|(l, t, _)| t.starts_with("webauthn_rs_core") && *l == log::Level::Trace),
        "webauthn-rs-core's trace records were captured"
    );
    assert_no_secret(&records, &secrets, &spent_registration);
}

/// Fails if any captured record holds any rendering of any secret (or of the server secret).
/// `core_may_show` lists what webauthn-rs-core's own records may show (see [`is_core`]).
fn assert_no_secret(records: &[Record], secrets: &[String], core_may_show: &[String]) {
    let mut forms: Vec<String> = secrets.iter().flat_map(|s| renderings(s)).collect();
    forms.extend(byte_renderings(SERVER_SECRET));
    forms.push(String::from_utf8_lossy(SERVER_SECRET).into_owned());
    for (level, target, message) in records {
        let allowed: &[String] = if is_core(target) { core_may_show } else { &[] };
        for form in &forms {
            if allowed.iter().any(|c| renderings(c).contains(form)) {
                continue;
            }
            assert!(
                !message.contains(form.as_str()),
                "secret {form:?} in a {level} log line of {target}: {message}"
            );
        }
    }
}

/// Flips the lowest bit of the last byte of `credential.response.<field>` (base64url).
fn flip_last_bit(credential: &mut Value, field: &str) {
    let mut bytes = unb64(credential["response"][field].as_str().unwrap());
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    credential["response"][field] = b64(&bytes).into();
}

/// Public identifiers are not secrets; short strings would match by chance.
fn only_secrets(secrets: &mut Vec<String>, public: &[&str]) {
    secrets.retain(|s| {
        !public.contains(&s.as_str())
            && !s.starts_with("http")
            && s != "public-key"
            && s.len() >= 16
    });
    secrets.sort();
    secrets.dedup();
}

/// The failure paths log what failed, and still no secret: a damaged attestation, a bad
/// signature, a refused origin (engine lines at debug), a store outage (the 503's cause at
/// error), a failing audit sink (warn) and a session whose passkey was revoked (info). Each
/// expected line is asserted to be there, so the secret scan reads the lines these paths
/// really write.
#[actix_rt::test]
async fn failure_paths_say_what_failed_and_log_no_secret() {
    #[derive(Debug)]
    struct Broken;
    impl actix_passkeys::hooks::AuditSink for Broken {
        type Error = std::io::Error;

        async fn emit(&self, _: &actix_passkeys::hooks::AuditEvent) -> Result<(), Self::Error> {
            Err(std::io::Error::other("audit backend down"))
        }
    }
    let (_turn, capture) = exclusive_capture().await;
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx
        .builder(config().build().unwrap())
        .server_secret(SERVER_SECRET)
        .audit(Broken)
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    let mut secrets = Vec::new();
    let mut alice = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("alice").await;

    // A damaged attestation: the attested credential's public key is no longer the one the
    // authenticator made, so the self-attestation signature fails.
    let mut body = app.registration(&mut alice, None).await;
    secrets_in(&body, &mut secrets);
    flip_last_bit(&mut body["credential"], "attestationObject");
    secrets_in(&body, &mut secrets);
    // Core traces the response it verifies, after our handle is spent (see `is_core`).
    let mut spent = Vec::new();
    secrets_in(&body["credential"], &mut spent);
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_error(400, "attestation_verification_failed");
    // The real registration.
    let body = app.registration(&mut alice, None).await;
    secrets_in(&body, &mut secrets);
    secrets_in(&body["credential"], &mut spent);
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_ok();
    app.logout().await;

    // A bad signature.
    let mut body = app.assertion(&mut alice, Some("alice")).await;
    secrets_in(&body, &mut secrets);
    flip_last_bit(&mut body["credential"], "signature");
    secrets_in(&body, &mut secrets); // one bit off the real signature
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_error(401, "assertion_verification_failed");

    // A refused origin.
    let mut body = app.assertion(&mut alice, None).await;
    secrets_in(&body, &mut secrets);
    edit_client_data(&mut body["credential"], |cd| {
        cd["origin"] = "https://evil.example".into()
    });
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_error(401, "assertion_verification_failed");

    // Signed in, then the passkey is revoked: the session ends.
    app.sign_in(&mut alice, None).await.assert_ok();
    secrets.extend(app.cookie.clone());
    app.get("/me").await.assert_ok();
    let id = app.get("/auth/passkeys/credentials").await.assert_ok()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = app
        .method(
            Method::DELETE,
            &format!("/auth/passkeys/credentials/{id}"),
            None,
        )
        .await;
    assert_eq!(revoked.status.as_u16(), 204, "{:?}", revoked.body);
    app.get("/me").await.assert_error(401, "not_authenticated");

    // A store outage.
    let down = actix_passkeys::Passkeys::new(
        config().build().unwrap(),
        ctx.creds.clone(),
        DownChallengeStore,
    );
    let mut outage = ctx.app_configured(down.configure()).await;
    outage
        .post_empty("/auth/passkeys/authenticate/begin")
        .await
        .assert_error(503, "store_unavailable");

    let records = capture.0.lock().unwrap().clone();
    let logged = |level: log::Level, text: &str| {
        records
            .iter()
            .any(|(l, t, m)| *l == level && t.starts_with("actix_passkeys") && m.contains(text))
    };
    for (level, text) in [
        (log::Level::Debug, "registration verification failed"),
        (log::Level::Debug, "assertion verification failed"),
        (
            log::Level::Error,
            "store_unavailable (503 Service Unavailable): challenge store full",
        ),
        (log::Level::Warn, "audit sink failed for"),
        (log::Level::Info, "passkey session ended"),
    ] {
        assert!(
            logged(level, text),
            "no {level} line with {text:?}: {records:#?}"
        );
    }
    only_secrets(&mut secrets, &[&id]);
    assert!(secrets.len() > 10, "collected {} secrets", secrets.len());
    assert_no_secret(&records, &secrets, &spent);
}

/// A user id or device name with a line break must not start a forged line in the log: such
/// user ids and device names are refused (400), and what is logged of user text is escaped, so
/// a `userId` that smuggles its own `key=value` pairs stays one quoted token.
#[actix_rt::test]
async fn forged_log_lines_are_escaped() {
    const FORGED: &str = "x\nauthentication_succeeded user=admin";
    const SMUGGLED: &str = "x\" reason=- authentication_succeeded user=admin";
    let (_turn, capture) = exclusive_capture().await;
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx
        .builder(config().build().unwrap())
        .audit(actix_passkeys::hooks::LogAuditSink)
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    app.post(
        "/auth/passkeys/authenticate/begin",
        serde_json::json!({ "userId": FORGED }),
    )
    .await
    .assert_error(400, "invalid_request");
    let begin = app.auth_begin(Some(SMUGGLED)).await;
    assert!(begin["state"].is_string());
    app.signup("carol").await;
    let mut body = app
        .registration(&mut SoftAuthenticator::new(ORIGIN).unwrap(), None)
        .await;
    body["deviceName"] = FORGED.into();
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_error(400, "invalid_request");
    let records = capture.0.lock().unwrap().clone();
    let ours: Vec<_> = records
        .iter()
        .filter(|(_, target, message)| {
            target.starts_with("actix_passkeys") && message.contains("authentication_began")
        })
        .collect();
    assert!(
        ours.iter().any(|(_, _, m)| m
            .contains(r#"user="x\" reason=- authentication_succeeded user=admin" credential=-"#)),
        "the smuggled id is logged as one escaped, quoted token: {ours:?}"
    );
    for (level, target, message) in &records {
        assert!(
            !message.contains("\nauthentication_succeeded"),
            "a forged line in a {level} record of {target}: {message:?}"
        );
        assert!(
            !message.contains(r#"user=x" reason"#),
            "an unescaped user id in a {level} record of {target}: {message:?}"
        );
    }
}

/// An extractor on a route that cannot see the `Passkeys` handle logs one error line naming
/// the fix, once per request: also under `Option<Authenticated>`, which swallows the error
/// (that used to read as "signed out" with nothing in the log).
#[actix_rt::test]
async fn an_unregistered_handle_is_logged_once_with_the_fix() {
    use actix_passkeys::Authenticated;
    use actix_web::{web, HttpResponse};

    async fn maybe(user: Option<Authenticated>) -> HttpResponse {
        HttpResponse::Ok().json(serde_json::json!({ "signedIn": user.is_some() }))
    }
    async fn must(_: Authenticated) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    let (_turn, capture) = exclusive_capture().await;
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx
        .app_configured(|cfg| {
            cfg.route("/unmounted/maybe", web::get().to(maybe))
                .route("/unmounted/must", web::get().to(must));
        })
        .await;
    assert_eq!(
        app.get("/unmounted/maybe").await.assert_ok()["signedIn"],
        false
    );
    app.get("/unmounted/must")
        .await
        .assert_error(500, "configuration_error");
    let records = capture.0.lock().unwrap();
    for path in ["/unmounted/maybe", "/unmounted/must"] {
        let lines: Vec<_> = records
            .iter()
            .filter(|(_, _, msg)| msg.contains(path))
            .collect();
        assert_eq!(lines.len(), 1, "{path}: {lines:?}");
        assert_eq!(lines[0].0, log::Level::Error);
        assert!(
            lines[0]
                .2
                .contains("App::new().configure(passkeys.configure())"),
            "names the fix: {}",
            lines[0].2
        );
    }
    // The 500 answer of the required extractor logged nothing more.
    let repeated = records
        .iter()
        .filter(|(_, _, msg)| msg.contains("configuration_error"))
        .count();
    assert_eq!(repeated, 0, "{records:?}");
}

/// PRF outputs are the page's key material and salts are kept out of logs: with PRF on, a
/// client that posts its PRF results anyway (a helper other than `passkeys.js`, which strips
/// them) still signs in, and neither the results (the authenticator's and an extra `second`)
/// nor the salts the begins sent are in any log record, at any level, of any crate; the results
/// are in no stored credential either (the salt is, as it must be).
#[actix_rt::test]
async fn prf_results_sent_to_the_server_are_dropped_and_never_logged() {
    let (_turn, capture) = exclusive_capture().await;
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx
        .builder(config().prf(true).build().unwrap())
        .server_secret(SERVER_SECRET)
        .audit(actix_passkeys::hooks::LogAuditSink)
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    let mut alice = SoftAuthenticator::new(ORIGIN).unwrap().with_prf();
    // A 32-byte "second output" no authenticator computed: it is posted, and must vanish.
    let injected = URL_SAFE_NO_PAD.encode([0x5au8; 32]);
    let (mut outputs, mut salts) = (vec![injected.clone()], Vec::new());

    app.signup("alice").await;
    let begin = app.post_empty("/auth/passkeys/register/begin").await;
    let begin = begin.assert_ok().clone();
    salts.push(begin["publicKey"]["extensions"]["prf"]["eval"]["first"].clone());
    let mut credential = alice.register(&begin["publicKey"]).await.unwrap();
    let prf = &mut credential["clientExtensionResults"]["prf"];
    outputs.extend(prf["results"]["first"].as_str().map(str::to_owned));
    prf["results"]["second"] = injected.clone().into();
    let body = serde_json::json!({"credential": credential, "state": begin["state"]});
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_ok();

    for _ in 0..2 {
        let begin = app.auth_begin(Some("alice")).await;
        let by_id = &begin["publicKey"]["extensions"]["prf"]["evalByCredential"];
        salts.extend(
            by_id
                .as_object()
                .unwrap()
                .values()
                .map(|v| v["first"].clone()),
        );
        let mut credential = alice.sign_in(&begin["publicKey"]).await.unwrap();
        let results = &mut credential["clientExtensionResults"]["prf"]["results"];
        outputs.push(results["first"].as_str().expect("a PRF output").to_owned());
        results["second"] = injected.clone().into();
        let body = serde_json::json!({"credential": credential, "state": begin["state"]});
        app.post("/auth/passkeys/authenticate/finish", body)
            .await
            .assert_ok();
    }
    let salts: Vec<String> = salts
        .iter()
        .map(|s| s.as_str().expect("a salt").to_owned())
        .collect();
    assert!(
        outputs.len() >= 3 && salts.len() == 3,
        "{outputs:?} {salts:?}"
    );

    let stored = app.get("/auth/passkeys/credentials").await;
    assert_eq!(stored.assert_ok()[0]["prfEnabled"], true);
    use actix_passkeys::store::CredentialStore as _;
    let creds = ctx.creds.list_for_user("alice").await.unwrap();
    let kept = format!("{creds:?} {}", serde_json::to_string(&creds).unwrap());
    for output in &outputs {
        for form in renderings(output) {
            assert!(!kept.contains(&form), "a PRF output is stored: {form}");
        }
    }
    assert!(
        !format!("{creds:?}").contains(&format!("{:?}", unb64(&salts[2]))),
        "a credential's Debug shows its salt"
    );
    let mut secrets: Vec<String> = outputs.into_iter().chain(salts).collect();
    only_secrets(&mut secrets, &[]);
    let records = capture.0.lock().unwrap().clone();
    assert!(
        records.iter().any(|(_, t, _)| t == "actix_passkeys::audit"),
        "the audit log ran"
    );
    assert_no_secret(&records, &secrets, &[]);
}
