//! In-process fuzzing of sign-in that reaches signature verification: valid, correctly signed
//! assertions for a registered credential, mutated field by field (`fuzz/fuzz_targets/mutator.rs`,
//! the same mutator the cargo-fuzz `assertion` target uses), each finished against a fresh
//! state, on a service with one configured top origin and one with none (so `crossOrigin` is
//! decided against both configurations), half of them begun username-first (the bound-user
//! rules: another user's credential, an unknown id, a missing user handle).
//!
//! Oracles: `mutator::judge`, the one the cargo-fuzz target applies too: no panic; every refusal
//! is a 4xx with the code its reasons decide (`Case::expected_codes`, within the written-out
//! `mutator::ALLOWED_CODES`); a case with a value a verifier must refuse never signs in; a case
//! whose mutations are all neutral (or none) signs in as its owner; a refused case changes no
//! stored credential. The credential is reset before every case (`mutator::reset`), so no case
//! depends on those before it; another user's credential never changes. Also asserted: the run
//! reached every decision branch of webauthn-rs-core's `authenticate_single_credential` listed
//! in `REQUIRED_BRANCHES` (so it does get past parsing into verification), and at least
//! `MIN_SIGN_IN_SHARE` of its cases were neutral ones that had to sign in.
//!
//! Budget: `PASSKEYS_FUZZ_CASES` cases (default 2000) or `PASSKEYS_FUZZ_SECS` seconds when set
//! (CI runs a time-boxed step). The seed is `PASSKEYS_FUZZ_SEED` or the clock; it is printed.
//! The seed replays the mutation choices, not the bytes: the authenticator's key and every
//! challenge are random per run, so a failure that depends on those bytes may not recur. A
//! failure therefore prints the seed, the case index, the fuzz input and the exact request body.

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

use crate::fixtures::{clock_seed, config, env_seed, unb64, ORIGIN};

/// The first service's one top origin: `crossOrigin: true` signs in only with it as
/// `topOrigin`. Every fourth case goes to a second service over the same credential store that
/// configures none, where every `crossOrigin: true` is refused.
const TOP_ORIGIN: &str = "https://shop.example.net";

/// The least share of cases that must be neutral (and so sign in): a verifier that refused
/// everything would fail the must-sign-in oracle on them.
const MIN_SIGN_IN_SHARE: f64 = 0.05;

#[path = "../../fuzz/fuzz_targets/mutator.rs"]
mod mutator;

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

/// The bound-user refusals the run must reach (usernameless and username-first).
const REQUIRED_REASONS: &[&str] = &[
    "another user's credential (the state is bound to the owner)",
    "no user handle (usernameless needs it)",
    "not the owner's user handle",
    "an unknown credential id",
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
    env_seed("PASSKEYS_FUZZ_SEED").unwrap_or_else(|| clock_seed() | 1)
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
    let auth = register(&passkeys, "fuzz").await;
    let credential_id = auth.credential_id().unwrap();
    let user_handle = auth.user_handle().unwrap();
    // The rp id hash, read off a real assertion (not sent).
    let probe = start(&passkeys, None).await;
    let real = auth.duplicate().sign_in(&probe["publicKey"]).await.unwrap();
    let rp_id_hash = unb64(real["response"]["authenticatorData"].as_str().unwrap())[..32].to_vec();

    let registered_credential = creds.get(&credential_id).await.unwrap().unwrap();
    // The bound-user rule needs a credential of another user in the same store.
    let other = register(&passkeys, "other").await;
    let other_id = other.credential_id().unwrap();
    let other_registered = creds.get(&other_id).await.unwrap().unwrap();

    let mut reached: BTreeMap<String, usize> = BTreeMap::new();
    let mut mutations: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut run = 0;
    while deadline.map_or(run < cases, |d| Instant::now() < d) {
        run += 1;
        let (service, top_origins): (_, &[&str]) = if run % 4 == 0 {
            (&without_top_origins, &[])
        } else {
            (&passkeys, &[TOP_ORIGIN])
        };
        // Half the cases username-first (begun with the owner's `userId`), half usernameless.
        let username_first = run % 8 >= 4;
        let begin = start(service, username_first.then_some("fuzz")).await;
        let challenge = begin["publicKey"]["challenge"].as_str().unwrap().to_owned();
        let before = mutator::reset(&creds, &registered_credential).await;
        let other_before = mutator::reset(&creds, &other_registered).await;
        let base = mutator::Base {
            auth: &auth,
            rp_id_hash: rp_id_hash.clone(),
            origin: ORIGIN,
            top_origins,
            challenge: &challenge,
            credential_id: credential_id.clone(),
            user_handle: user_handle.clone(),
            stored_counter: before.sign_count,
            username_first,
            owner: "fuzz",
            other: mutator::Other {
                auth: &other,
                credential_id: other_id.clone(),
                user_handle: other.user_handle().unwrap(),
                owner: "other",
                stored_counter: other_before.sign_count,
            },
        };
        let len = (rng.next() % 48) as usize;
        let input = rng.bytes(len);
        let case = mutator::build(&base, &input);
        for m in &case.applied {
            *mutations.entry(m).or_default() += 1;
        }
        let expect = format!("{:?}", case.expect);
        let body = json!({ "credential": case.credential, "state": begin["state"] });
        let mut tally = "ok".to_owned();
        let outcome: mutator::Outcome = match serde_json::from_value(body.clone()) {
            // The route answers a body that does not parse with 400 `invalid_request`.
            Err(_) => {
                tally = "invalid_request".to_owned();
                Err((400, "invalid_request".to_owned()))
            }
            Ok(finish) => match no_panic(service.finish_authentication(finish), &body).await {
                Ok(result) => Ok(result.user_id),
                Err(e) => {
                    tally = branch(&e);
                    Err((e.status().as_u16(), e.code().as_str().to_owned()))
                }
            },
        };
        let after = creds.get(&credential_id).await.unwrap().unwrap();
        let other_after = creds.get(&other_id).await.unwrap().unwrap();
        let changed = [
            ("fuzz", after != before),
            ("other", other_after != other_before),
        ];
        if let Err(failure) = mutator::judge(&case, &base, &outcome, &changed, &body) {
            panic!("seed {seed} case {run} (input {input:?}): {failure}");
        }
        let verdict = match &outcome {
            Ok(user) if user == "other" => "signed in as other",
            Ok(_) => "signed in",
            Err(_) => "refused",
        };
        *expected.entry(format!("{expect} {verdict}")).or_default() += 1;
        for why in &case.refused_because {
            *reasons.entry(why).or_default() += 1;
        }
        *reached.entry(tally).or_default() += 1;
    }
    eprintln!("assertion fuzz: {run} cases; mutations {mutations:?}");
    eprintln!("assertion fuzz: outcomes {reached:?}");
    eprintln!("assertion fuzz: expected {expected:?}");
    eprintln!("assertion fuzz: refusal reasons {reasons:?}");
    let sign_ins = expected
        .get("SignIn signed in")
        .copied()
        .unwrap_or_default();
    assert!(
        sign_ins as f64 >= MIN_SIGN_IN_SHARE * run as f64,
        "seed {seed}: only {sign_ins} of {run} cases were neutral"
    );
    for r in REQUIRED_REASONS {
        assert!(
            reasons.contains_key(*r),
            "seed {seed}: {run} cases never refused because `{r}`; reasons {reasons:?}"
        );
    }
    assert!(
        expected.contains_key("SignIn signed in as other"),
        "seed {seed}: no usernameless sign-in with the other user's credential; {expected:?}"
    );
    for b in REQUIRED_BRANCHES {
        assert!(
            reached.contains_key(*b),
            "seed {seed}: {run} cases never reached `{b}`; outcomes {reached:?}"
        );
    }
}

type Service = Passkeys;

/// Begins a sign-in: usernameless, or username-first for `user`.
async fn start(passkeys: &Service, user: Option<&str>) -> Value {
    let begin: AuthenticationBegin = serde_json::from_value(json!({ "userId": user })).unwrap();
    serde_json::to_value(passkeys.start_authentication(begin).await.unwrap()).unwrap()
}

/// Registers a fresh software authenticator for `user`.
async fn register(passkeys: &Service, user: &str) -> SoftAuthenticator {
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    let options = serde_json::to_value(
        passkeys
            .start_registration(PasskeyUser::new(user, user, user))
            .await
            .unwrap(),
    )
    .unwrap();
    let credential = auth.register(&options["publicKey"]).await.unwrap();
    let finish = json!({ "credential": credential, "state": options["state"] });
    passkeys
        .finish_registration_for(user, serde_json::from_value(finish).unwrap())
        .await
        .unwrap();
    auth
}

/// Awaits `call`; a panic fails the test with the request body, so it can be replayed.
pub(crate) async fn no_panic<F: std::future::Future>(call: F, body: &Value) -> F::Output {
    use futures_util::FutureExt as _;
    match std::panic::AssertUnwindSafe(call).catch_unwind().await {
        Ok(output) => output,
        Err(_) => panic!("the service panicked on the body {body}"),
    }
}
