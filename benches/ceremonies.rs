//! Ceremony finish paths without HTTP (in-memory stores), and one raw ES256 assertion
//! verification by the crypto webauthn-rs uses: the floor of an `authenticate/finish`.
//!
//! `cargo bench --features testing --bench ceremonies`. Inputs (begin, signing) are prepared
//! outside the timed part with `iter_batched`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::cell::Cell;

use actix_passkeys::{
    hooks::NoopAuditSink,
    store::memory::{MemoryChallengeStore, MemoryCredentialStore},
    testing::{AssertionSpec, SoftAuthenticator},
    wire::AuthenticationBegin,
    wire::AuthenticationFinish,
    wire::RegistrationFinish,
    PasskeyConfig, PasskeyError, PasskeyUser, Passkeys,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

const ORIGIN: &str = "http://localhost:8080";
type Service = Passkeys;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn service() -> Service {
    let config = PasskeyConfig::builder("localhost", "bench")
        .origin(ORIGIN)
        .build()
        .expect("config");
    Passkeys::builder(
        config,
        MemoryCredentialStore::new(),
        MemoryChallengeStore::new().with_capacity(1 << 20),
    )
    .audit(NoopAuditSink)
    // Without the `session` feature there is no default resolver; the benches name their users.
    .user_resolver(|_req| async { Err(PasskeyError::NotAuthenticated) })
    .build()
    .expect("service")
}

/// A `register/finish` body for a fresh user and authenticator.
async fn registration_input(pk: &Service, n: u64) -> (RegistrationFinish, SoftAuthenticator) {
    let name = format!("user-{n}");
    let options = pk
        .start_registration(PasskeyUser::new(&name, &name, &name))
        .await
        .expect("begin");
    let options = serde_json::to_value(&options).expect("json");
    let mut authenticator = SoftAuthenticator::new(ORIGIN).expect("authenticator");
    let credential = authenticator
        .register(&options["publicKey"])
        .await
        .expect("register");
    let input =
        serde_json::from_value(json!({ "credential": credential, "state": options["state"] }))
            .expect("finish body");
    (input, authenticator)
}

/// An `authenticate/finish` body: begin (username-first or usernameless) + a signed assertion.
async fn authentication_input(
    pk: &Service,
    authenticator: &SoftAuthenticator,
    user: Option<&str>,
    counter: &Cell<u32>,
) -> AuthenticationFinish {
    let begin: AuthenticationBegin =
        serde_json::from_value(json!({ "userId": user })).expect("begin body");
    let options =
        serde_json::to_value(pk.start_authentication(begin).await.expect("begin")).expect("json");
    let challenge = options["publicKey"]["challenge"]
        .as_str()
        .expect("challenge");
    counter.set(counter.get() + 1);
    let mut spec = AssertionSpec::new("localhost", ORIGIN, challenge);
    spec.counter = counter.get();
    spec.user_handle = authenticator.user_handle();
    let credential = authenticator.forge_assertion(&spec).expect("assertion");
    serde_json::from_value(json!({ "credential": credential, "state": options["state"] }))
        .expect("finish body")
}

fn bench_registration(c: &mut Criterion) {
    let rt = runtime();
    let pk = service();
    let n = Cell::new(0u64);
    c.bench_function("registration_finish", |b| {
        b.iter_batched(
            || {
                n.set(n.get() + 1);
                rt.block_on(registration_input(&pk, n.get())).0
            },
            |input| {
                rt.block_on(pk.finish_registration_for(&format!("user-{}", n.get()), input))
                    .expect("finish")
            },
            BatchSize::SmallInput,
        )
    });
}

fn bench_authentication(c: &mut Criterion) {
    let rt = runtime();
    let pk = service();
    let (input, authenticator) = rt.block_on(registration_input(&pk, 0));
    rt.block_on(pk.finish_registration_for("user-0", input))
        .expect("register");
    let counter = Cell::new(0u32);
    for (name, user) in [
        ("authentication_finish/username", Some("user-0")),
        ("authentication_finish/usernameless", None),
    ] {
        c.bench_function(name, |b| {
            b.iter_batched(
                || rt.block_on(authentication_input(&pk, &authenticator, user, &counter)),
                |input| {
                    rt.block_on(pk.finish_authentication(input))
                        .expect("finish")
                },
                BatchSize::SmallInput,
            )
        });
    }
    c.bench_function("authentication_begin/username", |b| {
        b.iter(|| {
            let begin: AuthenticationBegin =
                serde_json::from_value(json!({ "userId": "user-0" })).expect("begin body");
            rt.block_on(pk.start_authentication(begin)).expect("begin")
        })
    });
}

/// One ES256 verification as webauthn-rs-core does it in `authenticate/finish`: the stored
/// COSE key, a DER signature over `authenticatorData || SHA-256(clientDataJSON)`.
fn bench_verify(c: &mut Criterion) {
    let rt = runtime();
    let pk = service();
    let (input, authenticator) = rt.block_on(registration_input(&pk, 0));
    let registered = rt
        .block_on(pk.finish_registration_for("user-0", input))
        .expect("register");
    let core: webauthn_rs_core::proto::Credential =
        serde_json::from_str(&registered.credential.passkey).expect("stored passkey");
    let mut spec = AssertionSpec::new("localhost", ORIGIN, "AAAA");
    spec.user_handle = authenticator.user_handle();
    let assertion: Value = authenticator.forge_assertion(&spec).expect("assertion");
    let field = |name: &str| {
        B64.decode(assertion["response"][name].as_str().expect("field"))
            .expect("base64")
    };
    let mut signed = field("authenticatorData");
    signed.extend_from_slice(&Sha256::digest(field("clientDataJSON")));
    let signature = field("signature");
    assert!(core
        .cred
        .verify_signature(&signature, &signed)
        .expect("verify"));
    c.bench_function("es256_verify/webauthn_rs_core", |b| {
        b.iter(|| {
            core.cred
                .verify_signature(&signature, &signed)
                .expect("verify")
        })
    });
}

criterion_group!(
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench_verify, bench_authentication, bench_registration
);
criterion_main!(benches);
