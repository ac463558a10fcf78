//! Arbitrary bytes as the CBOR attestation object of an otherwise valid registration response
//! (right challenge, type and origin): exercises CBOR, authenticator data and COSE key parsing.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let (state, challenge) = common::registration_state();
    let id = common::b64(&data[..data.len().min(16)]);
    common::finish(json!({
        "credential": {
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": common::b64(&common::client_data("webauthn.create", &challenge)),
                "attestationObject": common::b64(data),
            },
            "clientExtensionResults": {},
        },
        "state": state,
    }));
});
