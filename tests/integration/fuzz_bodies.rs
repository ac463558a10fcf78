//! In-process, time-boxed fuzzing of the cargo-fuzz `finish_json` and `attestation_object`
//! targets: their bodies and oracles are `fuzz/fuzz_targets/bodies.rs`, run here as they are
//! under libFuzzer, on the committed seed corpus (`fuzz/seeds/<target>/`) and seeded random
//! mutations of it: byte flips, truncations, insertions, splices of two seeds, and
//! structure-aware edits (JSON: a member replaced, removed, grafted from another seed, a
//! base64url field's bytes flipped, the ids set to a registered credential's; CBOR: `fmt`,
//! `attStmt`, a member removed or added, a byte of one `authData` region flipped, `authData`
//! cut or extended). Every eighth input is an unmutated seed, and the valid `none` attestation
//! seed must register each time (a must-succeed control, on a fresh service per input so its
//! id is never taken).
//!
//! Oracles (the targets'): no panic, no 5xx, the written-out codes; a finish body never
//! registers or signs in (none can carry the fresh challenge); an attestation object a rule
//! refuses never registers and leaves nothing stored.
//!
//! Budget: `PASSKEYS_FUZZ_SECS` seconds per target (default 3). The seed is
//! `PASSKEYS_FUZZ_SEED` or the clock, printed; it replays the mutation choices, while the states
//! and challenges are random per run, so a failure prints the seed, the case index, the input
//! bytes and the exact request body.

use std::time::{Duration, Instant};

use actix_passkeys::{
    store::{
        memory::{MemoryChallengeStore, MemoryCredentialStore},
        CredentialStore as _,
    },
    testing::SoftAuthenticator,
    PasskeyUser, Passkeys,
};
use serde_json::{json, Value};

use crate::fixtures::{b64, clock_seed, config, env_seed, ORIGIN};

#[path = "../../fuzz/fuzz_targets/bodies.rs"]
mod bodies;

/// A xorshift generator: reproducible choices, not good randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

fn seed() -> u64 {
    env_seed("PASSKEYS_FUZZ_SEED")
        .unwrap_or_else(clock_seed)
        .max(1)
}

fn budget() -> Duration {
    let secs = std::env::var("PASSKEYS_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    Duration::from_secs(secs)
}

/// The committed seed corpus of `target`, by file name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/fuzz/seeds/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {dir}");
    seeds
}

/// Which structure-aware edits apply.
#[derive(Clone, Copy)]
enum Shape {
    Json,
    Cbor,
}

/// One to three mutations of a seed (`ids`: registered credential ids a JSON edit may plant).
fn mutate(rng: &mut Rng, seeds: &[(String, Vec<u8>)], shape: Shape, ids: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].1.clone();
    for _ in 0..=rng.below(3) {
        // Byte-level edits one time in two or so: most break the JSON or CBOR outright.
        match rng.below(9) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= rng.byte().max(1);
            }
            1 => data.truncate(rng.below(data.len() + 1)),
            2 => {
                let at = rng.below(data.len() + 1);
                let n = 1 + rng.below(8);
                let inserted = rng.bytes(n);
                data.splice(at..at, inserted);
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())].1;
                let (a, b) = (rng.below(data.len() + 1), rng.below(other.len() + 1));
                data.truncate(a);
                data.extend_from_slice(&other[b..]);
            }
            _ => {
                data = match shape {
                    Shape::Json => json_edit(rng, &data, seeds, ids),
                    Shape::Cbor => cbor_edit(rng, &data),
                }
            }
        }
    }
    data
}

/// Every JSON pointer in `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| pointers(v, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| pointers(v, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

fn json_edit(rng: &mut Rng, data: &[u8], seeds: &[(String, Vec<u8>)], ids: &[Vec<u8>]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<Value>(data) else {
        return data.to_vec();
    };
    let mut all = Vec::new();
    pointers(&v, String::new(), &mut all);
    let at = all[rng.below(all.len())].clone();
    match rng.below(5) {
        0 => {
            let replacement = [
                json!(null),
                json!(""),
                json!(-1),
                json!(true),
                json!({}),
                json!([]),
            ][rng.below(6)]
            .clone();
            if let Some(slot) = v.pointer_mut(&at) {
                *slot = replacement;
            }
        }
        1 => {
            if let Some((parent, key)) = at.rsplit_once('/') {
                if let Some(Value::Object(m)) = v.pointer_mut(parent) {
                    m.remove(key);
                }
            }
        }
        2 => {
            let other: Value =
                serde_json::from_slice(&seeds[rng.below(seeds.len())].1).unwrap_or(Value::Null);
            let mut theirs = Vec::new();
            pointers(&other, String::new(), &mut theirs);
            let graft = other.pointer(&theirs[rng.below(theirs.len())]).cloned();
            if let (Some(slot), Some(graft)) = (v.pointer_mut(&at), graft) {
                *slot = graft;
            }
        }
        3 if !ids.is_empty() => {
            let id = json!(b64(&ids[rng.below(ids.len())]));
            if let Some(Value::Object(c)) = v.pointer_mut("/credential") {
                c.insert("id".into(), id.clone());
                c.insert("rawId".into(), id);
            }
        }
        _ => {
            if let Some(slot) = v.pointer_mut(&at) {
                let decoded = slot.as_str().and_then(|s| {
                    base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s)
                        .ok()
                });
                if let Some(mut bytes) = decoded.filter(|b| !b.is_empty()) {
                    let i = rng.below(bytes.len());
                    bytes[i] ^= rng.byte().max(1);
                    *slot = json!(b64(&bytes));
                }
            }
        }
    }
    serde_json::to_vec(&v).unwrap()
}

/// Regions of authenticator data, as (start, length).
const AUTH_DATA_REGIONS: &[(usize, usize)] = &[
    (0, 32),          // rpIdHash
    (32, 1),          // flags
    (33, 4),          // signCount
    (37, 16),         // AAGUID
    (53, 2),          // credentialIdLength
    (55, 16),         // credentialId
    (71, usize::MAX), // credentialPublicKey, extensions
];

fn cbor_edit(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    use serde_cbor_2::Value as Cbor;
    let Ok(Cbor::Map(mut map)) = serde_cbor_2::from_slice::<Cbor>(data) else {
        return data.to_vec();
    };
    let text = |k: &str| Cbor::Text(k.into());
    match rng.below(6) {
        0 => {
            let fmt =
                [text("packed"), text(""), text("None"), Cbor::Integer(1)][rng.below(4)].clone();
            map.insert(text("fmt"), fmt);
        }
        1 => {
            let alg = [(text("alg"), Cbor::Integer(-7))].into_iter().collect();
            map.insert(text("attStmt"), Cbor::Map(alg));
        }
        2 => {
            let key = [text("fmt"), text("attStmt"), text("authData")][rng.below(3)].clone();
            map.remove(&key);
        }
        3 => {
            map.insert(text("extra"), Cbor::Bytes(rng.bytes(4)));
        }
        _ => {
            if let Some(Cbor::Bytes(d)) = map.get_mut(&text("authData")) {
                let (start, len) = AUTH_DATA_REGIONS[rng.below(AUTH_DATA_REGIONS.len())];
                let end = start.saturating_add(len).min(d.len());
                match rng.below(4) {
                    0 => d.truncate(rng.below(d.len() + 1)),
                    1 => {
                        let n = 1 + rng.below(8);
                        d.extend(rng.bytes(n));
                    }
                    // The flags: one bit at a time (UP, UV, BE, BS, AT, ED each decide alone).
                    _ if start == 32 && end == 33 => d[32] ^= 1 << rng.below(8),
                    _ if start < end => {
                        let i = start + rng.below(end - start);
                        d[i] ^= rng.byte().max(1);
                    }
                    _ => {}
                }
            }
        }
    }
    serde_cbor_2::to_vec(&Cbor::Map(map)).unwrap()
}

/// Awaits `call`; a panic fails the test with the input, so it can be replayed.
async fn no_panic<F: std::future::Future>(call: F, what: &str) -> F::Output {
    use futures_util::FutureExt as _;
    match std::panic::AssertUnwindSafe(call).catch_unwind().await {
        Ok(output) => output,
        Err(_) => panic!("the service panicked on {what}"),
    }
}

fn service() -> bodies::Service {
    Passkeys::new(
        config().build().unwrap(),
        MemoryCredentialStore::new(),
        MemoryChallengeStore::new(),
    )
}

/// Answers the finish bodies must reach: past the JSON layer into each ceremony's verification
/// (`assertion_verification_failed` usernameless needs a planted registered id).
const REACHED: &[&str] = &[
    "register invalid_request",
    "register attestation_verification_failed",
    "authenticate usernameless credential_not_found",
    "authenticate usernameless assertion_verification_failed",
    "authenticate username-first assertion_verification_failed",
];

/// `finish_json`'s body on seeds and mutations, on a service with a passkey registered for the
/// user the states are begun for (so a planted id reaches the signature check).
#[actix_rt::test]
async fn fuzzed_finish_bodies_never_register_sign_in_nor_5xx() {
    let seed = seed();
    eprintln!("finish_json fuzz: PASSKEYS_FUZZ_SEED={seed}");
    let mut rng = Rng(seed);
    let seeds = seeds("finish_json");
    let svc = service();
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap();
    let options = serde_json::to_value(
        svc.start_registration(PasskeyUser::new(bodies::USER, "r", "r"))
            .await
            .unwrap(),
    )
    .unwrap();
    let credential = auth.register(&options["publicKey"]).await.unwrap();
    let finish = json!({ "credential": credential, "state": options["state"] });
    svc.finish_registration_for(bodies::USER, serde_json::from_value(finish).unwrap())
        .await
        .unwrap();
    let ids = [auth.credential_id().unwrap()];
    let deadline = Instant::now() + budget();
    let mut answered = std::collections::BTreeMap::<String, usize>::new();
    let mut run = 0;
    while Instant::now() < deadline {
        run += 1;
        let input = if run % 8 == 1 {
            seeds[(run / 8) % seeds.len()].1.clone()
        } else {
            mutate(&mut rng, &seeds, Shape::Json, &ids)
        };
        let what = format!(
            "seed {seed} case {run} input {:?}",
            String::from_utf8_lossy(&input)
        );
        match no_panic(bodies::finish_json(&svc, &input), &what).await {
            Ok(codes) => codes
                .into_iter()
                .for_each(|c| *answered.entry(c).or_default() += 1),
            Err(failure) => panic!("{what}: {failure}"),
        }
    }
    eprintln!("finish_json fuzz: {run} inputs; answers {answered:?}");
    for reached in REACHED {
        assert!(
            answered.contains_key(*reached),
            "seed {seed}: {run} inputs never answered `{reached}`: {answered:?}"
        );
    }
}

/// `attestation_object`'s body on seeds and mutations, each on a fresh service; the unmutated
/// valid `none` seed must register.
#[actix_rt::test]
async fn fuzzed_attestation_objects_register_only_when_no_rule_refuses_them() {
    let seed = seed();
    eprintln!("attestation_object fuzz: PASSKEYS_FUZZ_SEED={seed}");
    let mut rng = Rng(seed);
    let seeds = seeds("attestation_object");
    let valid = seeds
        .iter()
        .find(|(name, _)| name == "none_valid")
        .map(|(_, d)| d.clone())
        .expect("the none_valid seed");
    let deadline = Instant::now() + budget();
    let (mut run, mut registered, mut controls) = (0, 0, 0);
    while Instant::now() < deadline {
        run += 1;
        let input = if run % 8 == 1 {
            seeds[(run / 8) % seeds.len()].1.clone()
        } else {
            mutate(&mut rng, &seeds, Shape::Cbor, &[])
        };
        let what = format!("seed {seed} case {run} input {}", b64(&input));
        let creds = MemoryCredentialStore::new();
        let svc = Passkeys::new(
            config().build().unwrap(),
            creds.clone(),
            MemoryChallengeStore::new(),
        );
        let outcome = no_panic(bodies::attestation_object(&svc, &input), &what).await;
        let did = outcome.unwrap_or_else(|failure| panic!("{what}: {failure}"));
        let stored = match bodies::attested_credential_id(&input) {
            Some(id) => creds.get(&id).await.unwrap().is_some(),
            None => false,
        };
        assert_eq!(stored, did, "{what}: stored {stored}, registered {did}");
        if input == valid {
            controls += 1;
            assert!(did, "{what}: the valid none attestation did not register");
        }
        registered += usize::from(did);
    }
    eprintln!(
        "attestation_object fuzz: {run} inputs, {registered} registered, {controls} controls"
    );
    assert!(controls >= 1, "seed {seed}: no control in {run} inputs");
}
