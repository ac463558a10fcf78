//! Valid, correctly signed assertions for a registered credential, mutated field by field as the
//! input chooses (`mutator.rs`: flags, counter, rpIdHash, clientData fields, extension data,
//! lengths, signature bytes, credential id, user handle, base64 text), each finished against a
//! fresh usernameless state. Most inputs pass the signature check and reach the branch that
//! decides them. Beyond "no panic": a case with a value a verifier must refuse never signs in, a
//! case whose mutations are all neutral signs in, and every refusal is a 4xx.
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

fuzz_target!(|data: &[u8]| {
    let (auth, rp_id_hash) = signer();
    let (state, challenge) = common::authentication_state();
    let id = auth.credential_id().expect("id");
    let stored = futures_executor::block_on(common::credentials().get(&id))
        .ok()
        .flatten()
        .map_or(0, |c| c.sign_count);
    let base = mutator::Base {
        auth,
        rp_id_hash: rp_id_hash.clone(),
        origin: common::ORIGIN,
        top_origins: &[common::TOP_ORIGIN],
        challenge: &challenge,
        credential_id: id,
        user_handle: auth.user_handle().expect("handle"),
        stored_counter: stored,
    };
    let case = mutator::build(&base, data);
    let body = json!({ "credential": case.credential, "state": state });
    match serde_json::from_value(body) {
        Ok(input) => {
            match futures_executor::block_on(common::service().finish_authentication(input)) {
                Ok(_) => assert!(
                    !case.must_fail(),
                    "a damaged assertion signed in: {:?}, refused because {:?}",
                    case.applied,
                    case.refused_because
                ),
                Err(e) => {
                    assert!(e.status().is_client_error(), "{} is not a 4xx", e.code());
                    assert!(
                        !case.must_sign_in(),
                        "neutral {:?} refused: {}",
                        case.applied,
                        e.code()
                    );
                }
            }
        }
        Err(e) => assert!(
            !case.must_sign_in(),
            "neutral {:?} does not parse: {e}",
            case.applied
        ),
    }
});
