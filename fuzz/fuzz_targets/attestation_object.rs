//! Arbitrary bytes as the CBOR attestation object of an otherwise valid registration response
//! (right challenge, type and origin): exercises CBOR, authenticator data and COSE key parsing.
//! The body and its oracles (no 5xx, the allowed codes, an object a rule refuses never
//! registers) are `bodies::attestation_object`, which the in-process fuzzer in `cargo test` runs
//! too.
#![no_main]

mod bodies;
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(failure) =
        futures_executor::block_on(bodies::attestation_object(common::service(), data))
    {
        panic!("{failure}");
    }
});
