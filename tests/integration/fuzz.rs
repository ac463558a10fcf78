//! In-process fuzzing of sign-in that reaches signature verification: valid, correctly signed
//! assertions for a registered credential, mutated field by field (`fuzz/fuzz_targets/mutator.rs`,
//! the same mutator the cargo-fuzz `assertion` target uses), each finished against a fresh
//! state, on a service with one configured top origin and one with none (so `crossOrigin` is
//! decided against both configurations).
//!
//! Oracles: no panic; every refusal is a 4xx with one of the codes written out below; a case
//! with a value a verifier must refuse never signs in; a case whose mutations are all neutral
//! (or none) signs in; a refused case changes no stored credential. Also asserted: the run
//! reached every decision branch of webauthn-rs-core's `authenticate_single_credential` listed
//! in `REQUIRED_BRANCHES` (so it does get past parsing into verification), and at least
//! `MIN_SIGN_IN_SHARE` of its cases were neutral ones that had to sign in.
//!
//! Budget: `PASSKEYS_FUZZ_CASES` cases (default 2000) or `PASSKEYS_FUZZ_SECS` seconds when set
//! (CI runs a time-boxed step). The seed is `PASSKEYS_FUZZ_SEED` or the clock; it is printed,
//! so a failure replays with `PASSKEYS_FUZZ_SEED=<seed>`.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use actix_passkeys::{
    store::{
        memory::{MemoryChallengeStore, MemoryCredentialStore},
        CredentialStore as _,
    },
    testing::SoftAuthenticator,
    wire::AuthenticationBegin,
    PasskeyError, PasskeyUser, Passkeys,
};
use serde_json::{json, Value};

use crate::fixtures::{config, unb64, ORIGIN};

/// The first service's one top origin: `crossOrigin: true` signs in only with it as
/// `topOrigin`. Every fourth case goes to a second service over the same credential store that
/// configures none, where every `crossOrigin: true` is refused.
const TOP_ORIGIN: &str = "https://shop.example.net";

/// The least share of cases that must be neutral (and so sign in): a verifier that refused
/// everything would fail the must-sign-in oracle on them.
const MIN_SIGN_IN_SHARE: f64 = 0.05;

#[path = "../../fuzz/fuzz_targets/mutator.rs"]
mod mutator;

/// The codes a damaged assertion may get (written out, not `ErrorCode::ALL`).
const ALLOWED_CODES: &[&str] = &[
    "assertion_verification_failed",
    "clone_detected",
    "credential_not_found",
    "invalid_request",
];

/// Outcomes of `authenticate_single_credential` (and our checks before it) that the run must
/// reach: the error variant's name, or `ok`.
const REQUIRED_BRANCHES: &[&str] = &[
    "ok",
    "InvalidClientDataType",
    "MismatchedChallenge",
    "InvalidRPIDHash",
    "UserNotPresent",
    "UserNotVerified",
    "CredentialBackupEligibilityInconsistent",
    "AuthenticationFailure",
    "clone_detected",
    "refused_before_engine",
    "credential_not_found",
];

/// A xorshift generator: the test needs reproducible bytes, not good randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn seed() -> u64 {
    std::env::var("PASSKEYS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

/// The branch a refusal came from: webauthn-rs-core's error variant when there is one.
fn branch(e: &PasskeyError) -> String {
    match std::error::Error::source(e) {
        Some(inner) => {
            let debug = format!("{inner:?}");
            debug
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or_default()
                .to_owned()
        }
        None => match e.code().as_str() {
            // Our own checks before the engine (user handle, origin) refuse without a source.
            "assertion_verification_failed" => "refused_before_engine".to_owned(),
            code => code.to_owned(),
        },
    }
}

#[actix_rt::test]
async fn mutated_assertions_sign_in_exactly_when_neutral_and_reach_every_verifier_branch() {
    let seed = seed();
    eprintln!("assertion fuzz: PASSKEYS_FUZZ_SEED={seed}");
    let cases: usize = std::env::var("PASSKEYS_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let deadline = std::env::var("PASSKEYS_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(|s| Instant::now() + Duration::from_secs(s));
    let mut rng = Rng(seed);

    let creds = MemoryCredentialStore::new();
    let passkeys = Passkeys::new(
        config().top_origin(TOP_ORIGIN).build().unwrap(),
        creds.clone(),
        MemoryChallengeStore::new(),
    );
    let without_top_origins = Passkeys::new(
        config().build().unwrap(),
        creds.clone(),
        MemoryChallengeStore::new(),
    );
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    let options = serde_json::to_value(
        passkeys
            .start_registration(PasskeyUser::new("fuzz", "fuzz", "Fuzz"))
            .await
            .unwrap(),
    )
    .unwrap();
    let registered = auth.register(&options["publicKey"]).await.unwrap();
    passkeys
        .finish_registration_for(
            "fuzz",
            serde_json::from_value(json!({ "credential": registered, "state": options["state"] }))
                .unwrap(),
        )
        .await
        .unwrap();
    let credential_id = auth.credential_id().unwrap();
    let user_handle = auth.user_handle().unwrap();
    // The rp id hash, read off a real assertion (not sent).
    let probe = start(&passkeys).await;
    let real = auth.duplicate().sign_in(&probe["publicKey"]).await.unwrap();
    let rp_id_hash = unb64(real["response"]["authenticatorData"].as_str().unwrap())[..32].to_vec();

    let mut reached: BTreeMap<String, usize> = BTreeMap::new();
    let mut mutations: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    let mut run = 0;
    while deadline.map_or(run < cases, |d| Instant::now() < d) {
        run += 1;
        let (service, top_origins): (_, &[&str]) = if run % 4 == 0 {
            (&without_top_origins, &[])
        } else {
            (&passkeys, &[TOP_ORIGIN])
        };
        let begin = start(service).await;
        let challenge = begin["publicKey"]["challenge"].as_str().unwrap().to_owned();
        let mut before = creds.get(&credential_id).await.unwrap().unwrap();
        if before.sign_count == u32::MAX {
            // A case signed in with the largest counter: nothing can follow it (the spec's
            // answer). Reset the stored counter, a test-only step, so later cases can sign in.
            let reset = actix_passkeys::store::UsageUpdate {
                credential_id: credential_id.clone(),
                old_sign_count: u32::MAX,
                new_sign_count: 0,
                backup_eligible: before.backup_eligible,
                backup_state: before.backup_state,
                used_at: before.last_used_at.unwrap(),
            };
            assert!(creds.update_usage(&reset).await.unwrap());
            before = creds.get(&credential_id).await.unwrap().unwrap();
        }
        let base = mutator::Base {
            auth: &auth,
            rp_id_hash: rp_id_hash.clone(),
            origin: ORIGIN,
            top_origins,
            challenge: &challenge,
            credential_id: credential_id.clone(),
            user_handle: user_handle.clone(),
            stored_counter: before.sign_count,
        };
        let len = (rng.next() % 48) as usize;
        let input = rng.bytes(len);
        let case = mutator::build(&base, &input);
        for m in &case.applied {
            *mutations.entry(m).or_default() += 1;
        }
        let expect = format!("{:?}", case.expect);
        let body = json!({ "credential": case.credential, "state": begin["state"] });
        let outcome = match serde_json::from_value(body) {
            // The route answers a body that does not parse with 400 `invalid_request`.
            Err(_) => Err("invalid_request".to_owned()),
            Ok(input) => match service.finish_authentication(input).await {
                Ok(result) => {
                    assert_eq!(result.user_id, "fuzz");
                    Ok(())
                }
                Err(e) => {
                    assert!(
                        e.status().is_client_error(),
                        "seed {seed} case {run} {:?}: {} answered {}",
                        case.applied,
                        e.code(),
                        e.status()
                    );
                    assert!(
                        ALLOWED_CODES.contains(&e.code().as_str()),
                        "seed {seed} case {run} {:?}: code {}",
                        case.applied,
                        e.code()
                    );
                    Err(branch(&e))
                }
            },
        };
        let after = creds.get(&credential_id).await.unwrap().unwrap();
        let verdict = if outcome.is_ok() {
            "signed in"
        } else {
            "refused"
        };
        *expected.entry(format!("{expect} {verdict}")).or_default() += 1;
        match outcome {
            Ok(()) => {
                assert!(
                    !case.must_fail(),
                    "seed {seed} case {run}: a damaged assertion signed in: {:?}, refused because \
                     {:?} (input {input:?})",
                    case.applied,
                    case.refused_because
                );
                *reached.entry("ok".to_owned()).or_default() += 1;
            }
            Err(branch) => {
                assert!(
                    !case.must_sign_in(),
                    "seed {seed} case {run}: an assertion with only neutral mutations {:?} was \
                     refused: {branch} (input {input:?})",
                    case.applied
                );
                assert_eq!(
                    after, before,
                    "seed {seed} case {run}: a refused assertion ({:?}) changed the credential",
                    case.applied
                );
                *reached.entry(branch).or_default() += 1;
            }
        }
    }
    eprintln!("assertion fuzz: {run} cases; mutations {mutations:?}");
    eprintln!("assertion fuzz: outcomes {reached:?}");
    eprintln!("assertion fuzz: expected {expected:?}");
    let sign_ins = expected
        .get("SignIn signed in")
        .copied()
        .unwrap_or_default();
    assert!(
        sign_ins as f64 >= MIN_SIGN_IN_SHARE * run as f64,
        "seed {seed}: only {sign_ins} of {run} cases were neutral"
    );
    for b in REQUIRED_BRANCHES {
        assert!(
            reached.contains_key(*b),
            "seed {seed}: {run} cases never reached `{b}`; outcomes {reached:?}"
        );
    }
}

async fn start(passkeys: &Passkeys) -> Value {
    serde_json::to_value(
        passkeys
            .start_authentication(AuthenticationBegin::default())
            .await
            .unwrap(),
    )
    .unwrap()
}
