//! Arbitrary bytes as a finish body (both routes), with a live state swapped in when the input
//! is a JSON object, so parsing and every verification step are reachable. The body and its
//! oracles (no 5xx, the written-out codes, never registers or signs in) are
//! `bodies::finish_json`, which the in-process fuzzer in `cargo test` runs too.
#![no_main]

mod bodies;
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(failure) = futures_executor::block_on(bodies::finish_json(common::service(), data)) {
        panic!("{failure}");
    }
});
