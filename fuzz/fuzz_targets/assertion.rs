//! Valid, correctly signed assertions for a registered credential, mutated field by field as the
//! input chooses (`mutator.rs`: flags, counter, rpIdHash, clientData fields, extension data,
//! lengths, signature bytes, credential id, user handle, base64 text), each finished against a
//! fresh usernameless state. Most inputs pass the signature check and reach the branch that
//! decides them. The oracle is `mutator::judge`, the in-process fuzzer's too: a case with a value
//! a verifier must refuse never signs in, a case whose mutations are all neutral signs in, every
//! refusal is a 4xx with the code its reasons decide and changes no credential. The credential
//! is reset before every input (`mutator::reset`), so an input means the same whatever ran
//! before it; the input's last bit begins the state username-first (bound to the owner) or
//! usernameless. A failure prints the request body (keys and challenges are random per process,
//! so the input alone replays the mutation choices, not the bytes).
#![no_main]

mod common;
mod mutator;

use std::sync::OnceLock;

use actix_passkeys::{store::CredentialStore as _, testing::SoftAuthenticator};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

/// The registered credential's authenticator and the rp id hash, made once.
fn signer() -> &'static (SoftAuthenticator, Vec<u8>) {
    static SIGNER: OnceLock<(SoftAuthenticator, Vec<u8>)> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let auth = common::registered_authenticator().duplicate();
        let options = futures_executor::block_on(
            common::service().start_authentication(actix_passkeys::wire::AuthenticationBegin::default()),
        )
        .expect("begin");
        let options = serde_json::to_value(&options).expect("json");
        let probe = futures_executor::block_on(auth.duplicate().sign_in(&options["publicKey"]))
            .expect("probe assertion");
        let auth_data = URL_SAFE_NO_PAD
            .decode(
                probe["response"]["authenticatorData"]
                    .as_str()
                    .unwrap_or_default(),
            )
            .expect("authenticator data");
        (auth, auth_data[..32].to_vec())
    })
}

/// The two registered credentials as stored right after registration (what [`mutator::reset`]
/// returns to before every input): the owner's ("r") and another user's ("o").
fn registered() -> &'static [actix_passkeys::store::Credential; 2] {
    static REGISTERED: OnceLock<[actix_passkeys::store::Credential; 2]> = OnceLock::new();
    REGISTERED.get_or_init(|| {
        let get = |auth: &SoftAuthenticator| {
            let id = auth.credential_id().expect("id");
            futures_executor::block_on(common::credentials().get(&id))
                .ok()
                .flatten()
                .expect("registered")
        };
        [get(&signer().0), get(common::other_authenticator())]
    })
}

fuzz_target!(|data: &[u8]| {
    let (auth, rp_id_hash) = signer();
    let other = common::other_authenticator();
    let [owner_registered, other_registered] = registered();
    // The input's last bit picks usernameless or username-first (bound to the owner, "r").
    let username_first = data.last().is_some_and(|b| b & 1 == 1);
    let (state, challenge) = common::authentication_state_for(username_first.then_some("r"));
    let before = futures_executor::block_on(mutator::reset(common::credentials(), owner_registered));
    let other_before = futures_executor::block_on(mutator::reset(common::credentials(), other_registered));
    let base = mutator::Base {
        auth,
        rp_id_hash: rp_id_hash.clone(),
        origin: common::ORIGIN,
        top_origins: &[common::TOP_ORIGIN],
        challenge: &challenge,
        credential_id: before.credential_id.clone(),
        user_handle: auth.user_handle().expect("handle"),
        stored_counter: before.sign_count,
        username_first,
        owner: "r",
        other: mutator::Other {
            auth: other,
            credential_id: other_before.credential_id.clone(),
            user_handle: other.user_handle().expect("handle"),
            owner: "o",
            stored_counter: other_before.sign_count,
        },
    };
    let case = mutator::build(&base, data);
    let body = json!({ "credential": case.credential, "state": state });
    let outcome: mutator::Outcome = match serde_json::from_value(body.clone()) {
        Ok(input) => futures_executor::block_on(common::service().finish_authentication(input))
            .map(|r| r.user_id)
            .map_err(|e| (e.status().as_u16(), e.code().as_str().to_owned())),
        Err(_) => Err((400, "invalid_request".to_owned())),
    };
    let stored = |c: &actix_passkeys::store::Credential| {
        futures_executor::block_on(common::credentials().get(&c.credential_id)).ok().flatten()
    };
    let changed = [
        ("r", stored(&before).as_ref() != Some(&before)),
        ("o", stored(&other_before).as_ref() != Some(&other_before)),
    ];
    if let Err(failure) = mutator::judge(&case, &base, &outcome, &changed, &body) {
        panic!("{failure}");
    }
});
