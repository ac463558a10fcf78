//! Structure-aware assertion mutator, shared by the cargo-fuzz `assertion` target and the
//! in-process fuzzer in `cargo test` (`tests/integration/fuzz.rs`).
//!
//! It starts from a structurally valid assertion, correctly signed by the registered
//! credential's key, and lets the input bytes choose field mutations (flags, counter,
//! rpIdHash, clientData type / challenge / origin / crossOrigin / extra keys, extension data,
//! lengths, signature bytes, credential id, user handle, base64 text). The assertion is
//! re-signed after the field mutations unless the input asks for a damaged signature, so most
//! cases pass the signature check and reach the branch that decides them.
//!
//! Each case says whether it `must_fail`: a mutation that a verifier must refuse was applied.
//! Mutations whose verdict depends on policy (crossOrigin, RFU flag bits, extensions, standard
//! base64 text) are `unsure` and only checked for "no panic, documented 4xx".
#![allow(dead_code)]

use actix_passkeys::testing::SoftAuthenticator;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::{json, Map, Value};

/// What the mutator starts from: the registered credential and a live challenge.
pub struct Base<'a> {
    pub auth: &'a SoftAuthenticator,
    /// SHA-256 of the rp id (the first 32 bytes of any authenticator data it produced).
    pub rp_id_hash: Vec<u8>,
    pub origin: &'a str,
    pub challenge: &'a str,
    pub credential_id: Vec<u8>,
    pub user_handle: Vec<u8>,
    /// The counter stored for the credential now.
    pub stored_counter: u32,
}

/// A mutated assertion (`AuthenticationResponseJSON`) and what the oracle may expect of it.
pub struct Case {
    pub credential: Value,
    pub must_fail: bool,
    /// Names of the mutations applied, for the failure message and the tally.
    pub applied: Vec<&'static str>,
}

/// Reads the fuzzer's choices; zeros once the input is exhausted.
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
    /// Up to `max - 1` bytes, the length chosen first.
    fn some_bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max);
        self.bytes(n)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

const UP: u8 = 0x01;
const RFU1: u8 = 0x02;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const RFU2: u8 = 0x20;
const AT: u8 = 0x40;
const ED: u8 = 0x80;

const ORIGINS: &[&str] = &[
    "http://localhost:8081",
    "https://localhost:8080",
    "http://localhost.:8080",
    "http://evil.localhost:8080",
    "http://localhost:8080/",
    "http://localhost:8080/path",
    "http://localhost",
    "http://localhostx:8080",
    "android:apk-key-hash:AAAA",
    "null",
    "",
];

/// Builds one case from `input`.
pub fn build(base: &Base<'_>, input: &[u8]) -> Case {
    let mut c = Choices(input);
    let mut applied = Vec::new();
    let mut must_fail = false;

    let mut flags = UP | UV | BE | BS;
    let mut counter = base.stored_counter.wrapping_add(1);
    let mut rp_id_hash = base.rp_id_hash.clone();
    let mut client: Map<String, Value> = Map::new();
    client.insert("type".into(), json!("webauthn.get"));
    client.insert("challenge".into(), json!(base.challenge));
    client.insert("origin".into(), json!(base.origin));
    client.insert("crossOrigin".into(), json!(false));
    let mut extensions: Vec<u8> = Vec::new();
    let mut trailing: Vec<u8> = Vec::new();
    let mut cred_id = base.credential_id.clone();
    let mut id_text: Option<String> = None;
    let mut user_handle = Some(base.user_handle.clone());
    // After signing.
    let mut truncate_auth: Option<usize> = None;
    let mut signature_damage: Option<u8> = None;
    let mut client_damage: Option<u8> = None;
    let mut std_base64 = false;
    let mut unsure = false;

    let ops = c.below(5) + 1;
    for _ in 0..ops {
        match c.below(17) {
            // Exhausted input lands here: the unmutated, valid assertion.
            0 => applied.push("none"),
            16 => {
                applied.push("flags");
                match c.below(6) {
                    0 => flags &= !UP,
                    1 => flags &= !UV,
                    2 => flags &= !BE,
                    3 => flags &= !BS,
                    4 => flags |= [RFU1, RFU2, AT, ED][c.below(4)],
                    _ => flags ^= c.byte(),
                }
            }
            1 => {
                applied.push("counter");
                counter = match c.below(6) {
                    0 => base.stored_counter,
                    1 => 0,
                    2 => u32::MAX,
                    3 => base.stored_counter.saturating_sub(1),
                    4 => base.stored_counter.wrapping_add(2 + c.byte() as u32),
                    _ => c.u32(),
                };
            }
            2 => {
                applied.push("rp_id_hash");
                let i = c.below(32);
                rp_id_hash[i] ^= c.byte() | 1;
            }
            3 => {
                applied.push("client_data.type");
                let t = [
                    "webauthn.create",
                    "",
                    "webauthn.get ",
                    "WEBAUTHN.GET",
                    "payment.get",
                ][c.below(5)];
                client.insert("type".into(), json!(t));
                must_fail = true;
            }
            4 => {
                applied.push("client_data.challenge");
                let mut ch = base.challenge.as_bytes().to_vec();
                match c.below(3) {
                    0 => ch.truncate(ch.len().saturating_sub(1 + c.below(8))),
                    1 => ch.push(b'A'),
                    _ => {
                        let i = c.below(ch.len().max(1));
                        if let Some(b) = ch.get_mut(i) {
                            *b = if *b == b'A' { b'B' } else { b'A' };
                        }
                    }
                }
                client.insert(
                    "challenge".into(),
                    json!(String::from_utf8_lossy(&ch).into_owned()),
                );
                must_fail = true;
            }
            5 => {
                applied.push("client_data.origin");
                client.insert("origin".into(), json!(ORIGINS[c.below(ORIGINS.len())]));
                must_fail = true;
            }
            6 => {
                applied.push("client_data.crossOrigin");
                client.insert("crossOrigin".into(), json!(true));
                if c.byte() & 1 == 1 {
                    client.insert("topOrigin".into(), json!("https://top.example"));
                }
                unsure = true;
            }
            7 => {
                applied.push("client_data.extra_key");
                client.insert(
                    "other_keys_can_be_added_here".into(),
                    json!("do not compare clientDataJSON against a template"),
                );
            }
            8 => {
                applied.push("extensions");
                // A CBOR map (or garbage) after the counter; ED set or not.
                extensions = match c.below(3) {
                    0 => vec![0xa0],                               // {}
                    1 => vec![0xa1, 0x63, b'u', b'v', b'm', 0x80], // {"uvm": []}
                    _ => c.some_bytes(16),
                };
                if c.byte() & 1 == 1 {
                    flags |= ED;
                }
                unsure = true;
            }
            9 => {
                applied.push("authenticator_data.trailing");
                trailing = c.some_bytes(40);
                trailing.push(0);
                unsure = true;
            }
            10 => {
                applied.push("authenticator_data.truncated");
                truncate_auth = Some(c.below(37));
                must_fail = true;
            }
            11 => {
                applied.push("signature");
                signature_damage = Some(c.byte());
                must_fail = true;
            }
            12 => {
                applied.push("client_data.bytes");
                client_damage = Some(c.byte());
                must_fail = true;
            }
            13 => {
                applied.push("credential_id");
                match c.below(3) {
                    0 => {
                        let i = c.below(cred_id.len().max(1));
                        if let Some(b) = cred_id.get_mut(i) {
                            *b ^= 0x55;
                        }
                    }
                    1 => {
                        cred_id.truncate(cred_id.len() / 2);
                    }
                    _ => {
                        // `id` no longer the base64url of `rawId`.
                        id_text = Some(b64(&c.bytes(16)));
                        unsure = true;
                    }
                }
            }
            14 => {
                applied.push("user_handle");
                match c.below(3) {
                    0 => user_handle = None,
                    1 => user_handle = Some(c.some_bytes(65)),
                    _ => {
                        if let Some(h) = user_handle.as_mut() {
                            if let Some(b) = h.first_mut() {
                                *b ^= 1;
                            }
                        }
                    }
                }
            }
            _ => {
                applied.push("standard_base64");
                std_base64 = true;
                unsure = true;
            }
        }
    }

    // Flag, counter and user-handle verdicts, decided on the final values (two mutations of one
    // field can cancel out: a byte flipped twice is the owner's handle again).
    if user_handle.as_deref() != Some(base.user_handle.as_slice()) {
        must_fail = true; // usernameless: the handle must be the owner's
    }
    if rp_id_hash != base.rp_id_hash || cred_id != base.credential_id {
        must_fail = true;
    }
    if flags & UP == 0 || flags & UV == 0 || flags & BE == 0 || flags & AT != 0 {
        must_fail = true;
    }
    if flags & (RFU1 | RFU2) != 0 || (flags & ED != 0 && extensions.is_empty()) {
        unsure = true;
    }
    if (counter > 0 || base.stored_counter > 0) && counter <= base.stored_counter {
        must_fail = true;
    }

    let mut auth_data = rp_id_hash;
    auth_data.push(flags);
    auth_data.extend_from_slice(&counter.to_be_bytes());
    auth_data.extend_from_slice(&extensions);
    auth_data.extend_from_slice(&trailing);
    let mut client_data = serde_json::to_vec(&Value::Object(client)).unwrap_or_default();
    let mut signature = base.auth.sign(&auth_data, &client_data).unwrap_or_default();

    if let Some(n) = truncate_auth {
        auth_data.truncate(n);
    }
    if let Some(d) = signature_damage {
        match d % 4 {
            0 => signature.clear(),
            1 => signature.truncate(signature.len() / 2),
            2 => {
                let i = d as usize % signature.len().max(1);
                if let Some(b) = signature.get_mut(i) {
                    *b ^= 0x80 | d;
                }
            }
            _ => {
                // The DER length byte lies.
                if let Some(b) = signature.get_mut(1) {
                    *b = b.wrapping_add(1 + d % 8);
                }
            }
        }
    }
    if let Some(d) = client_damage {
        match d % 3 {
            0 => client_data.truncate(client_data.len() / 2),
            1 => client_data.insert(0, 0xff),
            _ => client_data = b"[]".to_vec(),
        }
    }

    let encode = |bytes: &[u8]| {
        if std_base64 {
            base64::engine::general_purpose::STANDARD.encode(bytes)
        } else {
            b64(bytes)
        }
    };
    let raw_id = encode(&cred_id);
    let credential = json!({
        "id": id_text.unwrap_or_else(|| b64(&cred_id)),
        "rawId": raw_id,
        "type": "public-key",
        "response": {
            "clientDataJSON": encode(&client_data),
            "authenticatorData": encode(&auth_data),
            "signature": encode(&signature),
            "userHandle": user_handle.as_deref().map(encode),
        },
        "clientExtensionResults": {},
    });
    Case {
        credential,
        must_fail: must_fail && !unsure || must_fail_regardless(&applied),
        applied,
    }
}

/// Mutations that must fail even together with an `unsure` one.
fn must_fail_regardless(applied: &[&str]) -> bool {
    applied.iter().any(|m| {
        matches!(
            *m,
            "rp_id_hash"
                | "client_data.type"
                | "client_data.challenge"
                | "client_data.origin"
                | "authenticator_data.truncated"
                | "signature"
                | "client_data.bytes"
        )
    })
}
