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
//! to parse, an extensions map with non-text keys, and signed bytes after the authenticator
//! data (webauthn-rs-core ignores them; no rule requires that). It never masks a refusal.
//!
//! [`judge`] is the one oracle both drivers apply, and [`reset`] puts the credential back to the
//! same state before every input, so no case depends on the ones run before it.
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
    /// The counter stored for the credential now ([`BASELINE_COUNTER`] after [`reset`]).
    pub stored_counter: u32,
    /// Whether the state was begun username-first (`userId` of the credential's owner): then a
    /// missing user handle is fine, and an id that is not one of the owner's credentials is
    /// refused like a bad signature (`assertion_verification_failed`), never
    /// `credential_not_found`.
    pub username_first: bool,
    /// The credential's owner (the app user id a sign-in with it yields).
    pub owner: &'a str,
    /// A credential registered for another user, with its key (the bound-user rule's case).
    pub other: Other<'a>,
}

/// Another user's registered credential: an assertion made with it is valid, but for its owner.
pub struct Other<'a> {
    pub auth: &'a SoftAuthenticator,
    pub credential_id: Vec<u8>,
    pub user_handle: Vec<u8>,
    pub owner: &'a str,
    /// The counter stored for it now ([`BASELINE_COUNTER`] after [`reset`]).
    pub stored_counter: u32,
}

/// The counter the credential is reset to before every input ([`reset`]), so a case never
/// depends on the cases run before it (a sign-in with `u32::MAX` would refuse every later one).
/// Not 0: a stored 0 turns the counter check off.
pub const BASELINE_COUNTER: u32 = 1000;

/// Every code a damaged assertion may get, written out (not `PasskeyError::CODES`).
pub const ALLOWED_CODES: &[&str] = &[
    "assertion_verification_failed",
    "clone_detected",
    "credential_not_found",
    "invalid_request",
];

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
    /// Why the outcome is left to the engine (see [`Expect::Either`]).
    pub either: Vec<&'static str>,
    /// Who a sign-in with it is for: the owner of the credential it names.
    pub signs_in_as: String,
}

impl Case {
    pub fn must_fail(&self) -> bool {
        self.expect == Expect::Refused
    }
    pub fn must_sign_in(&self) -> bool {
        self.expect == Expect::SignIn
    }

    /// The code a refusal of this case must carry, from its reasons and the order the checks
    /// run in (`src/ceremony/authentication.rs`): the body's JSON layer and `id` = `rawId`
    /// (`invalid_request`); the credential lookup (usernameless: `credential_not_found`;
    /// username-first: `assertion_verification_failed`, so a finish cannot tell known from
    /// unknown ids); then the user handle, origin and every engine check
    /// (`assertion_verification_failed`); the counter is checked last, once the signature has
    /// verified (`clone_detected`). A set only in one place: a counter that did not advance on
    /// an `Either` case, where the engine's leniency about the unread bytes decides whether it
    /// gets as far as the counter.
    pub fn expected_codes(&self, username_first: bool) -> &'static [&'static str] {
        const PARSE: &[&str] = &[
            "id is not the base64url of rawId",
            "a field that is not base64url",
        ];
        let only = |r: &[&str]| self.refused_because.iter().all(|why| r.contains(why));
        let any = |r: &str| self.refused_because.contains(&r);
        if self.refused_because.iter().any(|why| PARSE.contains(why)) {
            &["invalid_request"]
        } else if any("an unknown credential id") && !username_first {
            &["credential_not_found"]
        } else if only(&["the counter did not advance"]) && !self.refused_because.is_empty() {
            if self.either.is_empty() {
                &["clone_detected"]
            } else {
                &["clone_detected", "assertion_verification_failed"]
            }
        } else {
            &["assertion_verification_failed"]
        }
    }
}

/// What the service answered: the signed-in user, or the refusal's status and code (a body
/// that does not deserialize is the route's 400 `invalid_request`).
pub type Outcome = Result<String, (u16, String)>;

/// The one oracle of the `assertion` target and the in-process fuzzer: no 5xx; a refusal is a
/// 4xx with the code its reasons decide ([`Case::expected_codes`], within [`ALLOWED_CODES`]);
/// a `Refused` case never signs in; a `SignIn` case signs in, as the owner of the credential it
/// names; an `Either` case signs in so or is refused as a bad assertion; no stored credential
/// changes but the one signed in with (`changed`: each user's credential, whether it changed). The
/// message names the case and carries the request `body`, so a failure can be replayed by
/// sending that body (the keys and challenges are random per process, so the fuzz input alone
/// does not reproduce the bytes).
pub fn judge(
    case: &Case,
    base: &Base<'_>,
    outcome: &Outcome,
    changed: &[(&str, bool)],
    body: &Value,
) -> Result<(), String> {
    let fail = |what: String| {
        Err(format!(
            "{what}; mutations {:?}, expected {:?} because {:?} (username-first: {}); body {body}",
            case.applied, case.expect, case.refused_because, base.username_first
        ))
    };
    // Only the credential signed in with may change.
    let signed_in = outcome.as_ref().ok();
    if let Some((user, _)) = changed
        .iter()
        .find(|(user, changed)| *changed && signed_in.is_none_or(|s| s != user))
    {
        return fail(format!(
            "{user}'s stored credential changed (outcome {outcome:?})"
        ));
    }
    match outcome {
        Ok(user) if case.must_fail() => fail(format!("a damaged assertion signed in as {user}")),
        Ok(user) if *user != case.signs_in_as => {
            fail(format!("signed in as {user}, not {}", case.signs_in_as))
        }
        Ok(_) => Ok(()),
        Err((status, code)) => {
            let expected: &[&str] = match case.expect {
                Expect::Refused => case.expected_codes(base.username_first),
                Expect::Either => &["assertion_verification_failed"],
                Expect::SignIn => return fail(format!("a neutral assertion was refused: {code}")),
            };
            if !(400..500).contains(status) {
                fail(format!("{code} answered {status}, not a 4xx"))
            } else if !ALLOWED_CODES.contains(&code.as_str()) || !expected.contains(&code.as_str())
            {
                fail(format!("refused with {code}, expected one of {expected:?}"))
            } else {
                Ok(())
            }
        }
    }
}

/// Puts the credential back to `registered` with [`BASELINE_COUNTER`] (a test-only step, done
/// before every input) and returns it as stored now.
pub async fn reset<C: actix_passkeys::store::CredentialStore>(
    store: &C,
    registered: &actix_passkeys::store::Credential,
) -> actix_passkeys::store::Credential {
    let id = &registered.credential_id;
    let now = store.get(id).await.ok().flatten();
    let now = now.unwrap_or_else(|| panic!("the fuzzed credential is gone"));
    let update = actix_passkeys::store::UsageUpdate {
        credential_id: id.clone(),
        old_sign_count: now.sign_count,
        new_sign_count: BASELINE_COUNTER,
        backup_eligible: registered.backup_eligible,
        backup_state: registered.backup_state,
        used_at: now.last_used_at.unwrap_or(now.created_at),
        attachment: registered.last_attachment,
    };
    assert!(
        matches!(store.update_usage(&update).await, Ok(true)),
        "could not reset the fuzzed credential"
    );
    let reset = store.get(id).await.ok().flatten();
    reset.unwrap_or_else(|| panic!("the fuzzed credential is gone"))
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
/// be a map of extension outputs (a text-keyed map). Bytes after that are `Either`: the engine
/// ignores them (they are signed, so only the authenticator could have put them there), but no
/// rule says a verifier must accept them, so the oracle does not require that leniency.
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
            Some((serde_cbor_2::Value::Map(m), used)) => {
                rest = &rest[used..];
                if !m.keys().all(|k| matches!(k, serde_cbor_2::Value::Text(_))) {
                    verdict = Verdict::Either("an extensions map with non-text keys");
                }
            }
            _ => return Verdict::Refuse("ED set without an extensions map"),
        }
    }
    match verdict {
        Verdict::Neutral if !rest.is_empty() => {
            Verdict::Either("signed bytes after the authenticator data")
        }
        v => v,
    }
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
                match c.below(5) {
                    // The bound-user rule: another user's credential, signed with its key and
                    // carrying its user handle (usernameless, a valid sign-in as that user).
                    4 => {
                        cred_id = base.other.credential_id.clone();
                        user_handle = Some(base.other.user_handle.clone());
                        counter = base.other.stored_counter.wrapping_add(1);
                    }
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
    // The credential the assertion names, when it is a registered one: its key signs.
    let is_other = cred_id == base.other.credential_id;
    let (signer, signer_owner, owner_handle, stored_counter) = if is_other {
        let o = &base.other;
        (o.auth, o.owner, &o.user_handle, o.stored_counter)
    } else {
        (
            base.auth,
            base.owner,
            &base.user_handle,
            base.stored_counter,
        )
    };
    match user_handle.as_deref() {
        None if base.username_first => {}
        None => refused.push("no user handle (usernameless needs it)"),
        Some(h) if h != owner_handle.as_slice() => refused.push("not the owner's user handle"),
        Some(_) => {}
    }
    if rp_id_hash != base.rp_id_hash {
        refused.push("another rpIdHash");
    }
    if is_other && base.username_first {
        refused.push("another user's credential (the state is bound to the owner)");
    } else if !is_other && cred_id != base.credential_id {
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
    if (counter > 0 || stored_counter > 0) && counter <= stored_counter {
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
    let mut signature = signer.sign(&auth_data, &client_data).unwrap_or_default();

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
        either,
        signs_in_as: signer_owner.to_owned(),
    }
}
