//! Arbitrary bytes split into authenticator data and signature of an assertion for a registered
//! credential, with valid client data and user handle (or, when the input says so, fuzzed id
//! and handle): exercises assertion parsing and verification.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let (state, challenge) = common::authentication_state();
    let (registered_id, registered_handle) = common::registered();
    let cut = |i: usize| data.len() * i / 4;
    let (auth_data, signature, handle, id) = if data.first().is_some_and(|b| b & 1 == 0) {
        (&data[..cut(2)], &data[cut(2)..], registered_handle.as_slice(), registered_id.as_slice())
    } else {
        (&data[..cut(1)], &data[cut(1)..cut(2)], &data[cut(2)..cut(3)], &data[cut(3)..])
    };
    let id = common::b64(id);
    common::finish(json!({
        "credential": {
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": common::b64(&common::client_data("webauthn.get", &challenge)),
                "authenticatorData": common::b64(auth_data),
                "signature": common::b64(signature),
                "userHandle": common::b64(handle),
            },
            "clientExtensionResults": {},
        },
        "state": state,
    }));
});
