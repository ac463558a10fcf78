//! Arbitrary bytes as a finish body (both routes), with a live state swapped in when the input
//! is a JSON object, so parsing and every verification step are reachable.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(mut body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Some(obj) = body.as_object_mut() {
        let (state, _) = if data.len() % 2 == 0 { common::registration_state() } else { common::authentication_state() };
        obj.insert("state".into(), Value::String(state));
    }
    common::finish(body);
});
