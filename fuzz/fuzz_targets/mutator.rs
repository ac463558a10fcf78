//! Structure-aware assertion mutator, shared by the cargo-fuzz `assertion` target and the
//! in-process fuzzer in `cargo test` (`tests/integration/fuzz.rs`).
//!
//! It starts from a structurally valid assertion, correctly signed by the registered
//! credential's key, and lets the input bytes choose field mutations (flags, counter,
//! rpIdHash, clientData type / challenge / origin / crossOrigin + topOrigin / extra keys / key
//! order and whitespace, extension data, lengths, signature bytes, credential id, `id`, user
//! handle, base64 alphabet and padding). The assertion is re-signed after the field mutations
//! unless the input asks for damaged bytes, so most cases pass the signature check and reach
//! the branch that decides them.
//!
//! Each case carries an [`Expect`], decided from the *final* values (two mutations of one field
//! can cancel out) against the service's configuration ([`Base`]): `Refused` when any value is
//! one the verifier must refuse, else `SignIn` when every mutation is neutral (or none was
//! applied), else `Either`. `Either` is left only where the outcome rests on the engine's
//! leniency rather than on a rule: attested credential data (AT) in an assertion that happens
//! to parse, and an extensions map with non-text keys. It never masks a refusal.
#![allow(dead_code)]

use actix_passkeys::testing::SoftAuthenticator;
use base64::{
    alphabet,
    engine::{general_purpose, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine as _,
};
use serde_json::{json, Value};

/// What the mutator starts from: the registered credential, a live challenge and the
/// service's configuration.
pub struct Base<'a> {
    pub auth: &'a SoftAuthenticator,
    /// SHA-256 of the rp id (the first 32 bytes of any authenticator data it produced).
    pub rp_id_hash: Vec<u8>,
    /// The one origin the service accepts (no subdomains).
    pub origin: &'a str,
    /// The service's configured top origins (`PasskeyConfigBuilder::top_origin`): a
    /// `crossOrigin: true` response signs in only with exactly one of these as `topOrigin`.
    pub top_origins: &'a [&'a str],
    pub challenge: &'a str,
    pub credential_id: Vec<u8>,
    pub user_handle: Vec<u8>,
    /// The counter stored for the credential now.
    pub stored_counter: u32,
}

/// What the oracle may expect of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every mutation is semantically neutral (or none was applied): it must sign in.
    SignIn,
    /// A value the verifier must refuse was sent: it must never sign in.
    Refused,
    /// Neither is decided (see the module docs); only "no panic, documented 4xx" holds.
    Either,
}

/// A mutated assertion (`AuthenticationResponseJSON`) and what the oracle may expect of it.
pub struct Case {
    pub credential: Value,
    pub expect: Expect,
    /// Names of the mutations applied, for the failure message and the tally.
    pub applied: Vec<&'static str>,
    /// Why the case must be refused (empty unless `expect` is `Refused`).
    pub refused_because: Vec<&'static str>,
}

impl Case {
    pub fn must_fail(&self) -> bool {
        self.expect == Expect::Refused
    }
    pub fn must_sign_in(&self) -> bool {
        self.expect == Expect::SignIn
    }
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
    general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The decoder every base64url field of a response is read with (webauthn-rs-proto's
/// `Base64<UrlSafe, Unpadded>`, i.e. serde_with's): the URL-safe alphabet, padding optional,
/// non-canonical trailing bits refused.
fn decode_field(text: &str) -> Option<Vec<u8>> {
    GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
    .decode(text)
    .ok()
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
    "http://LOCALHOST:8080",
    "android:apk-key-hash:AAAA",
    "null",
    "",
];

/// A `topOrigin` no service configures.
const FOREIGN_TOP_ORIGIN: &str = "https://evil.example.net";

/// `clientDataJSON` as ordered members, so key order and whitespace can be mutated.
struct ClientData(Vec<(String, Value)>);

impl ClientData {
    fn set(&mut self, key: &str, value: Value) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }
    fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    fn to_bytes(&self, separator: &str) -> Vec<u8> {
        let members: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
            .collect();
        format!("{{{}}}", members.join(separator)).into_bytes()
    }
}

/// The verdict of one part of a case.
enum Verdict {
    Neutral,
    Refuse(&'static str),
    Either(&'static str),
}

/// How the bytes after the counter (extensions and anything trailing) are read, modelled on
/// webauthn-rs-core 0.6.2's `authenticator_data_parser`: with AT, attested credential data
/// (AAGUID, a length of at most 1023, the id, one CBOR item); with ED, one CBOR item that must
/// be a map of extension outputs (a text-keyed map); bytes after that are ignored (they are
/// signed, so only the authenticator could have put them there).
fn after_counter(rest: &[u8], flags: u8) -> Verdict {
    let mut rest = rest;
    let mut verdict = Verdict::Neutral;
    if flags & AT != 0 {
        let len = match rest.get(16..18) {
            Some(l) => u16::from_be_bytes([l[0], l[1]]) as usize,
            None => return Verdict::Refuse("AT set without attested credential data"),
        };
        if len > 1023 || rest.len() < 18 + len {
            return Verdict::Refuse("AT set without attested credential data");
        }
        rest = &rest[18 + len..];
        match cbor_item(rest) {
            Some((_, used)) => rest = &rest[used..],
            None => return Verdict::Refuse("AT set without attested credential data"),
        }
        // The engine ignores attested credential data in an assertion; no rule decides it.
        verdict = Verdict::Either("AT set and the bytes parse as attested credential data");
    }
    if flags & ED != 0 {
        match cbor_item(rest) {
            Some((serde_cbor_2::Value::Map(m), _)) => {
                if !m.keys().all(|k| matches!(k, serde_cbor_2::Value::Text(_))) {
                    verdict = Verdict::Either("an extensions map with non-text keys");
                }
            }
            _ => return Verdict::Refuse("ED set without an extensions map"),
        }
    }
    verdict
}

/// One CBOR item at the start of `bytes` and the number of bytes it used (webauthn-rs-core's
/// `cbor_parser`).
fn cbor_item(bytes: &[u8]) -> Option<(serde_cbor_2::Value, usize)> {
    let mut de = serde_cbor_2::Deserializer::from_slice(bytes);
    let v = <serde_cbor_2::Value as serde::Deserialize>::deserialize(&mut de).ok()?;
    Some((v, de.byte_offset()))
}

/// The client data verdict: the rules of `verify_credential_internal` and of our origin check
/// (`src/origin.rs`: exact origin, `crossOrigin: true` only with a configured `topOrigin`).
fn client_data_verdict(base: &Base<'_>, client: &ClientData, refused: &mut Vec<&'static str>) {
    if client.get("type") != Some(&json!("webauthn.get")) {
        refused.push("type is not webauthn.get");
    }
    let challenge = client
        .get("challenge")
        .and_then(Value::as_str)
        .and_then(decode_field);
    if challenge.is_none() || challenge != decode_field(base.challenge) {
        refused.push("another challenge");
    }
    if client.get("origin") != Some(&json!(base.origin)) {
        refused.push("an origin the service does not accept");
    }
    match client.get("crossOrigin") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            let top = client.get("topOrigin").and_then(Value::as_str);
            if !top.is_some_and(|t| base.top_origins.contains(&t)) {
                refused.push("crossOrigin without a configured topOrigin");
            }
        }
        Some(_) => refused.push("crossOrigin is not a boolean"),
    }
}

/// Builds one case from `input`.
pub fn build(base: &Base<'_>, input: &[u8]) -> Case {
    let mut c = Choices(input);
    let mut applied = Vec::new();
    let mut refused: Vec<&'static str> = Vec::new();
    let mut either: Vec<&'static str> = Vec::new();

    let mut flags = UP | UV | BE | BS;
    let mut counter = base.stored_counter.wrapping_add(1);
    let mut rp_id_hash = base.rp_id_hash.clone();
    let mut client = ClientData(vec![
        ("type".into(), json!("webauthn.get")),
        ("challenge".into(), json!(base.challenge)),
        ("origin".into(), json!(base.origin)),
        ("crossOrigin".into(), json!(false)),
    ]);
    let mut separator = ",";
    let mut extensions: Vec<u8> = Vec::new();
    let mut trailing: Vec<u8> = Vec::new();
    let mut cred_id = base.credential_id.clone();
    let mut id_text: Option<String> = None;
    let mut user_handle = Some(base.user_handle.clone());
    // After signing.
    let mut truncate_auth: Option<usize> = None;
    let mut signature_damage: Option<u8> = None;
    let mut client_damage: Option<u8> = None;
    let mut engine: GeneralPurpose = general_purpose::URL_SAFE_NO_PAD;

    let ops = c.below(5) + 1;
    for _ in 0..ops {
        match c.below(18) {
            // Exhausted input lands here: the unmutated, valid assertion.
            0 => applied.push("none"),
            16 => {
                applied.push("flags");
                match c.below(7) {
                    0 => flags &= !UP,
                    1 => flags &= !UV,
                    2 => flags &= !BE,
                    3 => flags &= !BS,
                    4 => flags |= [RFU1, RFU2, AT, ED][c.below(4)],
                    5 => flags |= [RFU1, RFU2][c.below(2)],
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
                    4 => base.stored_counter.saturating_add(2 + c.byte() as u32),
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
                client.set("type", json!(t));
            }
            4 => {
                applied.push("client_data.challenge");
                let mut ch = base.challenge.as_bytes().to_vec();
                match c.below(4) {
                    0 => ch.truncate(ch.len().saturating_sub(1 + c.below(8))),
                    1 => ch.push(b'A'),
                    // Padding: the challenge is read padding-indifferent (neutral when the
                    // count is right).
                    2 => ch.extend(std::iter::repeat_n(b'=', 1 + c.below(2))),
                    _ => {
                        let i = c.below(ch.len().max(1));
                        if let Some(b) = ch.get_mut(i) {
                            *b = if *b == b'A' { b'B' } else { b'A' };
                        }
                    }
                }
                client.set(
                    "challenge",
                    json!(String::from_utf8_lossy(&ch).into_owned()),
                );
            }
            5 => {
                applied.push("client_data.origin");
                client.set("origin", json!(ORIGINS[c.below(ORIGINS.len())]));
            }
            6 => {
                applied.push("client_data.crossOrigin");
                match c.below(4) {
                    0 => client.set("crossOrigin", json!(true)),
                    1 => client.remove("crossOrigin"),
                    2 => client.set("crossOrigin", json!("true")),
                    _ => client.set("crossOrigin", json!(false)),
                }
                match c.below(3) {
                    0 => {}
                    1 => match base.top_origins.first() {
                        Some(top) => client.set("topOrigin", json!(top)),
                        None => client.set("topOrigin", json!(FOREIGN_TOP_ORIGIN)),
                    },
                    _ => client.set("topOrigin", json!(FOREIGN_TOP_ORIGIN)),
                }
            }
            7 => {
                applied.push("client_data.extra_key");
                client.set(
                    "other_keys_can_be_added_here",
                    json!("do not compare clientDataJSON against a template"),
                );
            }
            17 => {
                applied.push("client_data.order");
                // Another key order and whitespace: the same JSON object.
                let n = client.0.len();
                client.0.rotate_left(c.below(n.max(1)));
                if c.byte() & 1 == 1 {
                    client.0.reverse();
                }
                separator = [",", ", ", ",\n  ", " ,\t"][c.below(4)];
            }
            8 => {
                applied.push("extensions");
                // A CBOR map (or garbage) after the counter; ED set or not.
                extensions = match c.below(4) {
                    0 => vec![0xa0],                               // {}
                    1 => vec![0xa1, 0x63, b'u', b'v', b'm', 0x80], // {"uvm": []}
                    2 => vec![0xa1, 0x01, 0x02],                   // {1: 2}
                    _ => c.some_bytes(16),
                };
                if c.byte() & 1 == 1 {
                    flags |= ED;
                }
            }
            9 => {
                applied.push("authenticator_data.trailing");
                trailing = c.some_bytes(40);
                trailing.push(0);
            }
            10 => {
                applied.push("authenticator_data.truncated");
                truncate_auth = Some(c.below(37));
            }
            11 => {
                applied.push("signature");
                signature_damage = Some(c.byte());
            }
            12 => {
                applied.push("client_data.bytes");
                client_damage = Some(c.byte());
            }
            13 => {
                applied.push("credential_id");
                match c.below(4) {
                    0 => {
                        let i = c.below(cred_id.len().max(1));
                        if let Some(b) = cred_id.get_mut(i) {
                            *b ^= 0x55;
                        }
                    }
                    1 => {
                        cred_id.truncate(cred_id.len() / 2);
                    }
                    // `id` no longer the base64url of `rawId`: other bytes, or padded.
                    2 => id_text = Some(b64(&c.bytes(16))),
                    _ => id_text = Some(general_purpose::URL_SAFE.encode(&cred_id)),
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
                applied.push("base64");
                // Padded base64url is read as well; the standard alphabet's `+` and `/` are not.
                engine = match c.below(3) {
                    0 => general_purpose::URL_SAFE,
                    1 => general_purpose::STANDARD,
                    _ => general_purpose::STANDARD_NO_PAD,
                };
            }
        }
    }

    // Every verdict is decided on the final values.
    if user_handle.as_deref() != Some(base.user_handle.as_slice()) {
        refused.push("not the owner's user handle (usernameless needs it)");
    }
    if rp_id_hash != base.rp_id_hash {
        refused.push("another rpIdHash");
    }
    if cred_id != base.credential_id {
        refused.push("an unknown credential id");
    }
    if id_text.as_ref().is_some_and(|id| *id != b64(&cred_id)) {
        refused.push("id is not the base64url of rawId");
    }
    if flags & UP == 0 {
        refused.push("UP clear");
    }
    if flags & UV == 0 {
        refused.push("UV clear (policy required)");
    }
    if flags & BE == 0 {
        refused.push("BE 1 -> 0");
    }
    if (counter > 0 || base.stored_counter > 0) && counter <= base.stored_counter {
        refused.push("the counter did not advance");
    }
    client_data_verdict(base, &client, &mut refused);

    let mut auth_data = rp_id_hash;
    auth_data.push(flags);
    auth_data.extend_from_slice(&counter.to_be_bytes());
    auth_data.extend_from_slice(&extensions);
    auth_data.extend_from_slice(&trailing);
    match after_counter(&auth_data[37..], flags) {
        Verdict::Neutral => {}
        Verdict::Refuse(why) => refused.push(why),
        Verdict::Either(why) => either.push(why),
    }
    let mut client_data = client.to_bytes(separator);
    let mut signature = base.auth.sign(&auth_data, &client_data).unwrap_or_default();

    if let Some(n) = truncate_auth {
        auth_data.truncate(n);
        refused.push("authenticator data shorter than 37 bytes");
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
        refused.push("a damaged signature");
    }
    if let Some(d) = client_damage {
        match d % 3 {
            0 => client_data.truncate(client_data.len() / 2),
            1 => client_data.insert(0, 0xff),
            _ => client_data = b"[]".to_vec(),
        }
        refused.push("client data that is not the signed JSON object");
    }

    // Each encoded field must read back as the bytes meant, or the body does not parse.
    let mut encode = |bytes: &[u8]| {
        let text = engine.encode(bytes);
        if decode_field(&text).as_deref() != Some(bytes) {
            refused.push("a field that is not base64url");
        }
        text
    };
    let raw_id = encode(&cred_id);
    let response = json!({
        "clientDataJSON": encode(&client_data),
        "authenticatorData": encode(&auth_data),
        "signature": encode(&signature),
        "userHandle": user_handle.as_deref().map(&mut encode),
    });
    let credential = json!({
        "id": id_text.unwrap_or_else(|| b64(&cred_id)),
        "rawId": raw_id,
        "type": "public-key",
        "response": response,
        "clientExtensionResults": {},
    });
    refused.dedup();
    let expect = if !refused.is_empty() {
        Expect::Refused
    } else if !either.is_empty() {
        Expect::Either
    } else {
        Expect::SignIn
    };
    Case {
        credential,
        expect,
        applied,
        refused_because: refused,
    }
}
