//! The store conformance kit: the properties the ceremony layer relies on, checked against any
//! [`ChallengeStore`] or [`CredentialStore`], including yours.
//!
//! Call the checks from your own tests. Each one panics with a message naming the property that
//! failed (`challenge store: single use: …`), so a failing run reads like a failed `assert!`.
//! The checks use random handles, user ids and credential ids and remove the rows they created,
//! so they can run in parallel against a shared database or Redis.
//!
//! ```
//! use actix_passkeys::{
//!     store::memory::{MemoryChallengeStore, MemoryCredentialStore},
//!     testing::conformance::{check_challenge_store, check_credential_store},
//! };
//!
//! // In your crate: `#[actix_rt::test] async fn my_store_conforms() { … }` (or `#[tokio::test]`).
//! actix_rt::System::new().block_on(async {
//!     check_challenge_store(&MemoryChallengeStore::new()).await;
//!     check_credential_store(&MemoryCredentialStore::new()).await;
//! });
//! ```
//!
//! What is checked:
//!
//! - challenge stores ([`check_challenge_store`]): round trip of every field (the `ceremony`,
//!   `rp_id` and `user_id` exactly, `None` and a 256-byte user id included: deciding a
//!   tenant, ceremony or user mismatch is the caller's job); single use (a second `take`
//!   gets `None`); records still returned 30 s past `expires_at` (the grace period that lets the
//!   ceremony layer answer `challenge_expired`); records independent of each other; 64
//!   concurrent `take`s of one handle → exactly one record.
//! - credential stores ([`check_credential_store`]): round trip of every field (timestamps at
//!   microsecond precision, counters above `i32::MAX`, empty and `None` fields), oldest-first
//!   per-user listing and its isolation between users; a duplicate credential id (even for
//!   another user) is refused and changes nothing; 32 concurrent `update_usage` calls with the
//!   same old counter → exactly one applies, once (with its flags, time and attachment);
//!   rename, PRF-salt replacement and delete only by the owner; `disable` keeps and flags the
//!   credential, after which `update_usage` is refused; a second `disable` changes nothing (the
//!   first time and reason stay) and returns false.
//!
//! The concurrent cases poll all calls together on one task (`join_all`): a store that talks
//! to a server (Redis, a database pool) then has them in flight at once. To also race them on
//! several threads, run the check from a multi-threaded runtime inside a `spawn`ed task of your
//! own; the kit does not pick a runtime for you.

// A conformance failure is reported the way `assert!` reports one: by panicking, with the name
// of the property. This module is test tooling, compiled only with feature `testing`.
#![allow(clippy::panic)]

use std::{error::Error, fmt::Display, future::Future};

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use futures_util::future::join_all;
use rand::Rng as _;
use webauthn_rs_proto::AuthenticatorAttachment;

use crate::{
    clock::{Clock, SystemClock},
    model::{b64url, Credential, PrfSalt, UsageUpdate},
    store::{Ceremony, ChallengeRecord, ChallengeStore, CredentialStore},
};

/// Concurrent `take`s of one handle in the single-use race.
pub const CONCURRENT_TAKES: usize = 64;
/// Concurrent `update_usage` calls in the counter race.
pub const CONCURRENT_USAGE_UPDATES: usize = 32;

fn fail(kind: &str, property: &str, detail: impl Display) -> ! {
    panic!("{kind} store: {property}: {detail}")
}

async fn call<T, E: Error>(
    kind: &str,
    property: &str,
    op: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> T {
    match fut.await {
        Ok(v) => v,
        Err(e) => fail(kind, property, format_args!("`{op}` failed: {e}")),
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// Timestamps at microsecond precision: what SQL columns keep.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

// ----------------------------------------------------------------------------------------------
// Challenge stores

const CH: &str = "challenge";

fn new_handle() -> String {
    b64url(&random_bytes(32))
}

/// A record of `ceremony`; registrations are bound to a (random, non-ASCII) user, sign-ins to
/// none (usernameless), so both shapes of `user_id` round-trip.
fn challenge(
    ceremony: Ceremony,
    created_at: DateTime<Utc>,
    lifetime: Duration,
    payload: String,
) -> ChallengeRecord {
    let user_id = match ceremony {
        Ceremony::Authentication => None,
        _ => Some(format!("usér {} ✓", b64url(&random_bytes(12)))),
    };
    ChallengeRecord {
        ceremony,
        rp_id: "login.example.com".to_owned(),
        user_id,
        payload,
        created_at: micros(created_at),
        expires_at: micros(created_at + lifetime),
    }
}

fn normalise(mut r: ChallengeRecord) -> ChallengeRecord {
    r.created_at = micros(r.created_at);
    r.expires_at = micros(r.expires_at);
    r
}

fn same_record(property: &str, got: Option<ChallengeRecord>, want: &ChallengeRecord) {
    match got {
        None => fail(CH, property, "`take` returned None for a stored handle"),
        Some(got) => {
            let got = normalise(got);
            if &got != want {
                fail(
                    CH,
                    property,
                    format_args!(
                        "`take` returned a different record: ceremony {:?} (want {:?}), \
                         rp_id {:?} (want {:?}), user_id {:?} (want {:?}), \
                         created_at {} (want {}), expires_at {} (want {}), payload equal: {}",
                        got.ceremony,
                        want.ceremony,
                        got.rp_id,
                        want.rp_id,
                        got.user_id,
                        want.user_id,
                        got.created_at,
                        want.created_at,
                        got.expires_at,
                        want.expires_at,
                        got.payload == want.payload
                    ),
                )
            }
        }
    }
}

/// Checks a [`ChallengeStore`] whose notion of "now" is the system clock (every store that
/// expires records by wall-clock time: Redis, SQL, the default memory store). Panics naming the
/// first property that does not hold. See the [module docs](self) for the list.
///
/// ```
/// # actix_rt::System::new().block_on(async {
/// actix_passkeys::testing::conformance::check_challenge_store(
///     &actix_passkeys::store::memory::MemoryChallengeStore::new(),
/// )
/// .await;
/// # });
/// ```
pub async fn check_challenge_store<S: ChallengeStore>(store: &S) {
    check_challenge_store_with_clock(store, &SystemClock).await;
}

/// [`check_challenge_store`] for a store that reads time from `clock` (for example a
/// [`MemoryChallengeStore`](crate::store::memory::MemoryChallengeStore) given a
/// [`FrozenClock`](crate::hooks::FrozenClock)): records are dated from `clock.now()`.
///
/// ```
/// use std::sync::Arc;
///
/// use actix_passkeys::{
///     hooks::FrozenClock, store::memory::MemoryChallengeStore, testing::conformance::*,
/// };
///
/// # actix_rt::System::new().block_on(async {
/// let clock = FrozenClock::new();
/// let store = MemoryChallengeStore::new().with_clock(Arc::new(clock.clone()));
/// check_challenge_store_with_clock(&store, &clock).await;
/// # });
/// ```
pub async fn check_challenge_store_with_clock<S: ChallengeStore>(store: &S, clock: &dyn Clock) {
    let now = clock.now();
    let ttl = Duration::seconds(300);

    // Unknown handles.
    let p = "unknown handle";
    if call(CH, p, "take", store.take(&new_handle()))
        .await
        .is_some()
    {
        fail(CH, p, "`take` of a never-stored handle returned a record");
    }

    // Round trip, both ceremonies, with an awkward payload.
    let p = "round trip";
    let payload = format!(
        "{{\"state\":\"{}\",\"quote\":\"\\\"\",\"unicode\":\"clé 🔑\",\"nl\":\"a\\nb\"}}",
        "x".repeat(4096)
    );
    for ceremony in [Ceremony::Registration, Ceremony::Authentication] {
        let handle = new_handle();
        let record = challenge(ceremony, now, ttl, payload.clone());
        call(CH, p, "put", store.put(&handle, record.clone())).await;
        let got = call(CH, p, "take", store.take(&handle)).await;
        same_record(
            &format!(
                "round trip ({ceremony:?}; the ceremony, rp_id and user_id must come back \
                 exactly: the caller refuses a record of another tenant or user)"
            ),
            got,
            &record,
        );

        // Single use.
        let p = "single use";
        if call(CH, p, "take", store.take(&handle)).await.is_some() {
            fail(
                CH,
                p,
                "a second `take` of the same handle returned the record again",
            );
        }
    }

    // A username-first sign-in: user id set on an authentication record, up to 256 bytes.
    let p = "round trip (user id of a username-first sign-in)";
    let handle = new_handle();
    let mut record = challenge(Ceremony::Authentication, now, ttl, "{}".into());
    record.user_id = Some("ü".repeat(128));
    call(CH, p, "put", store.put(&handle, record.clone())).await;
    same_record(p, call(CH, p, "take", store.take(&handle)).await, &record);

    // Independence of records.
    let p = "records are independent";
    let (h1, h2) = (new_handle(), new_handle());
    let r1 = challenge(Ceremony::Registration, now, ttl, "{\"n\":1}".into());
    let r2 = challenge(Ceremony::Authentication, now, ttl, "{\"n\":2}".into());
    call(CH, p, "put", store.put(&h1, r1.clone())).await;
    call(CH, p, "put", store.put(&h2, r2.clone())).await;
    same_record(p, call(CH, p, "take", store.take(&h2)).await, &r2);
    same_record(p, call(CH, p, "take", store.take(&h1)).await, &r1);

    // Grace period: a record 30 s past its expiry is still returned, so that the ceremony
    // layer can answer `challenge_expired` instead of `challenge_not_found`.
    let p = "expired records are kept for the grace period";
    let handle = new_handle();
    let late = challenge(
        Ceremony::Authentication,
        now - ttl - Duration::seconds(30),
        ttl,
        "{\"late\":true}".into(),
    );
    call(CH, p, "put", store.put(&handle, late.clone())).await;
    match call(CH, p, "take", store.take(&handle)).await {
        None => fail(
            CH,
            p,
            "a record 30 s past `expires_at` was not returned; keep records at least 60 s past \
             `expires_at` (see `store::EXPIRED_GRACE`) and let the caller decide expiry",
        ),
        got => same_record(p, got, &late),
    }

    // Single use under concurrency.
    let p = "single use under concurrent takes";
    let handle = new_handle();
    let record = challenge(Ceremony::Authentication, now, ttl, "{\"race\":true}".into());
    call(CH, p, "put", store.put(&handle, record.clone())).await;
    let results = join_all((0..CONCURRENT_TAKES).map(|_| store.take(&handle))).await;
    let mut winners = Vec::new();
    for result in results {
        match result {
            Ok(Some(r)) => winners.push(r),
            Ok(None) => {}
            Err(e) => fail(CH, p, format_args!("`take` failed: {e}")),
        }
    }
    if winners.len() != 1 {
        fail(
            CH,
            p,
            format_args!(
                "{} of {CONCURRENT_TAKES} concurrent `take`s of one handle returned the record; \
                 exactly one must (make `take` one atomic step: GETDEL, DELETE … RETURNING, \
                 a remove under a lock)",
                winners.len()
            ),
        );
    }
    same_record(p, winners.pop(), &record);
}

// ----------------------------------------------------------------------------------------------
// Credential stores

const CR: &str = "credential";

fn user_id(tag: &str) -> String {
    format!("conformance-{tag}-{}", uuid::Uuid::new_v4())
}

/// A credential with every optional field set.
fn full_credential(user_id: &str, created_at: DateTime<Utc>) -> Credential {
    Credential {
        credential_id: random_bytes(32),
        user_id: user_id.to_owned(),
        user_handle: random_bytes(64),
        passkey: "{\"cred\":{\"cred_id\":\"AAEC\",\"note\":\"clé \\\"🔑\\\"\"}}".to_owned(),
        public_key: random_bytes(77),
        sign_count: 7,
        transports: vec!["internal".to_owned(), "hybrid".to_owned()],
        aaguid: Some(uuid::Uuid::new_v4()),
        backup_eligible: true,
        backup_state: false,
        user_verified: true,
        attestation_fmt: "packed".to_owned(),
        discoverable: Some(true),
        device_name: "Téléphone de Zoë 🔑".to_owned(),
        created_at: micros(created_at),
        last_used_at: Some(micros(created_at + Duration::milliseconds(1_234))),
        disabled_at: None,
        disabled_reason: None,
        prf_enabled: true,
        prf_salt: Some(PrfSalt::random()),
        last_attachment: Some(AuthenticatorAttachment::CrossPlatform),
    }
}

/// A credential with empty and `None` fields, and a counter above `i32::MAX`.
fn sparse_credential(user_id: &str, created_at: DateTime<Utc>) -> Credential {
    Credential {
        credential_id: random_bytes(16),
        user_id: user_id.to_owned(),
        user_handle: random_bytes(32),
        passkey: "{}".to_owned(),
        public_key: Vec::new(),
        sign_count: 3_000_000_000,
        transports: Vec::new(),
        aaguid: None,
        backup_eligible: false,
        backup_state: false,
        user_verified: false,
        attestation_fmt: "none".to_owned(),
        discoverable: Some(false),
        device_name: String::new(),
        created_at: micros(created_at),
        last_used_at: None,
        disabled_at: None,
        disabled_reason: None,
        prf_enabled: false,
        prf_salt: None,
        last_attachment: None,
    }
}

fn normalise_credential(mut c: Credential) -> Credential {
    c.created_at = micros(c.created_at);
    c.last_used_at = c.last_used_at.map(micros);
    c.disabled_at = c.disabled_at.map(micros);
    c
}

/// Names the fields of `got` that differ from `want` (values are not printed: they may be keys).
fn diff(got: &Credential, want: &Credential) -> Vec<&'static str> {
    let mut fields = Vec::new();
    macro_rules! cmp {
        ($($f:ident),*) => { $( if got.$f != want.$f { fields.push(stringify!($f)); } )* };
    }
    cmp!(
        credential_id,
        user_id,
        user_handle,
        passkey,
        public_key,
        sign_count,
        transports,
        aaguid,
        backup_eligible,
        backup_state,
        user_verified,
        attestation_fmt,
        discoverable,
        device_name,
        created_at,
        last_used_at,
        disabled_at,
        disabled_reason,
        prf_enabled,
        prf_salt,
        last_attachment
    );
    fields
}

async fn expect_stored<C: CredentialStore>(
    store: &C,
    property: &str,
    want: &Credential,
) -> Credential {
    match call(CR, property, "get", store.get(&want.credential_id)).await {
        None => fail(CR, property, "`get` returned None for a stored credential"),
        Some(got) => {
            let got = normalise_credential(got);
            let fields = diff(&got, want);
            if !fields.is_empty() {
                fail(
                    CR,
                    property,
                    format_args!("stored credential differs in {fields:?}"),
                );
            }
            got
        }
    }
}

async fn expect_listed<C: CredentialStore>(
    store: &C,
    property: &str,
    user_id: &str,
    want: &[&Credential],
) {
    let got = call(CR, property, "list_for_user", store.list_for_user(user_id)).await;
    let got_ids: Vec<_> = got.iter().map(|c| b64url(&c.credential_id)).collect();
    let want_ids: Vec<_> = want.iter().map(|c| b64url(&c.credential_id)).collect();
    if got_ids != want_ids {
        fail(
            CR,
            property,
            format_args!(
                "`list_for_user` returned {} credential(s) {got_ids:?}, want {} {want_ids:?} \
                 (oldest first)",
                got.len(),
                want.len()
            ),
        );
    }
    for (got, want) in got.into_iter().zip(want) {
        let fields = diff(&normalise_credential(got), want);
        if !fields.is_empty() {
            fail(
                CR,
                property,
                format_args!("listed credential differs in {fields:?}"),
            );
        }
    }
}

/// Checks a [`CredentialStore`]. Panics naming the first property that does not hold. See the
/// [module docs](self) for the list. The credentials it creates belong to fresh random user ids
/// and are deleted at the end of a passing run.
///
/// ```
/// # actix_rt::System::new().block_on(async {
/// actix_passkeys::testing::conformance::check_credential_store(
///     &actix_passkeys::store::memory::MemoryCredentialStore::new(),
/// )
/// .await;
/// # });
/// ```
pub async fn check_credential_store<C: CredentialStore>(store: &C) {
    let t0 = micros(Utc::now()) - Duration::hours(1);
    let (alice, bob) = (user_id("alice"), user_id("bob"));

    // Unknowns.
    let p = "unknown ids";
    if call(CR, p, "get", store.get(&random_bytes(32)))
        .await
        .is_some()
    {
        fail(CR, p, "`get` of a never-stored id returned a credential");
    }
    if !call(CR, p, "list_for_user", store.list_for_user(&alice))
        .await
        .is_empty()
    {
        fail(CR, p, "`list_for_user` of a fresh user id is not empty");
    }

    // Round trip of every field, and listing order.
    let p = "round trip";
    let a1 = full_credential(&alice, t0);
    let a2 = sparse_credential(&alice, t0 + Duration::seconds(1));
    for c in [&a1, &a2] {
        if !call(CR, p, "insert", store.insert(c)).await {
            fail(CR, p, "`insert` of a new credential returned false");
        }
    }
    expect_stored(store, "round trip (every field)", &a1).await;
    expect_stored(
        store,
        "round trip (empty/None fields, counter above i32::MAX)",
        &a2,
    )
    .await;
    expect_listed(store, "listing (oldest first)", &alice, &[&a1, &a2]).await;

    // A duplicate id, even for another user, is refused and changes nothing.
    let p = "duplicate credential id refused";
    let mut dup = full_credential(&bob, t0 + Duration::seconds(2));
    dup.credential_id = a1.credential_id.clone();
    if call(CR, p, "insert", store.insert(&dup)).await {
        fail(
            CR,
            p,
            "`insert` of an existing credential id (other user) returned true",
        );
    }
    expect_stored(store, p, &a1).await;
    expect_listed(store, p, &bob, &[]).await;

    // Per-user isolation.
    let p = "per-user listing isolation";
    let b1 = full_credential(&bob, t0 + Duration::seconds(3));
    if !call(CR, p, "insert", store.insert(&b1)).await {
        fail(CR, p, "`insert` of a new credential returned false");
    }
    expect_listed(store, p, &alice, &[&a1, &a2]).await;
    expect_listed(store, p, &bob, &[&b1]).await;

    // Counter compare-and-swap under concurrency.
    let p = "update_usage is one compare-and-swap";
    let used_at = micros(Utc::now());
    let updates: Vec<UsageUpdate> = (0..CONCURRENT_USAGE_UPDATES)
        .map(|i| UsageUpdate {
            credential_id: a1.credential_id.clone(),
            old_sign_count: a1.sign_count,
            new_sign_count: a1.sign_count + 1 + i as u32,
            backup_eligible: true,
            backup_state: true,
            used_at: used_at + Duration::milliseconds(i as i64),
            attachment: Some(AuthenticatorAttachment::Platform),
        })
        .collect();
    let results = join_all(updates.iter().map(|u| store.update_usage(u))).await;
    let mut winners = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(true) => winners.push(i),
            Ok(false) => {}
            Err(e) => fail(CR, p, format_args!("`update_usage` failed: {e}")),
        }
    }
    let [winner] = winners[..] else {
        fail(
            CR,
            p,
            format_args!(
                "{} of {CONCURRENT_USAGE_UPDATES} concurrent `update_usage` calls with the same \
                 old counter applied; exactly one must (UPDATE … WHERE sign_count = old)",
                winners.len()
            ),
        )
    };
    let won = &updates[winner];
    let mut a1_used = a1.clone();
    a1_used.sign_count = won.new_sign_count;
    a1_used.backup_eligible = won.backup_eligible;
    a1_used.backup_state = won.backup_state;
    a1_used.last_used_at = Some(won.used_at);
    a1_used.last_attachment = won.attachment;
    expect_stored(
        store,
        "update_usage applies the winner's counter, flags, time and attachment, and nothing else",
        &a1_used,
    )
    .await;
    if call(CR, p, "update_usage", store.update_usage(&updates[0])).await {
        fail(CR, p, "a stale `update_usage` (old counter) applied");
    }
    let mut unknown = updates[0].clone();
    unknown.credential_id = random_bytes(32);
    if call(CR, p, "update_usage", store.update_usage(&unknown)).await {
        fail(CR, p, "`update_usage` of an unknown id returned true");
    }

    // A counter above i32::MAX updates too.
    let p = "update_usage with a counter above i32::MAX";
    let big = UsageUpdate {
        credential_id: a2.credential_id.clone(),
        old_sign_count: a2.sign_count,
        new_sign_count: a2.sign_count + 1,
        backup_eligible: false,
        backup_state: false,
        used_at,
        attachment: Some(AuthenticatorAttachment::CrossPlatform),
    };
    if !call(CR, p, "update_usage", store.update_usage(&big)).await {
        fail(
            CR,
            p,
            "`update_usage` with the stored counter returned false",
        );
    }
    let mut a2_used = a2.clone();
    a2_used.sign_count = big.new_sign_count;
    a2_used.last_used_at = Some(used_at);
    a2_used.last_attachment = big.attachment;
    let a2_used = expect_stored(store, p, &a2_used).await;

    // Rename: only by the owner.
    let p = "rename only by the owner";
    if call(
        CR,
        p,
        "rename",
        store.rename(&bob, &a1.credential_id, "stolen"),
    )
    .await
    {
        fail(CR, p, "another user's `rename` returned true");
    }
    expect_stored(store, p, &a1_used).await;
    if call(
        CR,
        p,
        "rename",
        store.rename(&alice, &random_bytes(32), "x"),
    )
    .await
    {
        fail(CR, p, "`rename` of an unknown id returned true");
    }
    if !call(
        CR,
        p,
        "rename",
        store.rename(&alice, &a1.credential_id, "Laptop"),
    )
    .await
    {
        fail(CR, p, "the owner's `rename` returned false");
    }
    a1_used.device_name = "Laptop".to_owned();
    expect_stored(store, p, &a1_used).await;

    // PRF salt: replaced only by the owner.
    let p = "set_prf_salt only by the owner";
    let salt = PrfSalt::random();
    if call(
        CR,
        p,
        "set_prf_salt",
        store.set_prf_salt(&bob, &a1.credential_id, &salt),
    )
    .await
    {
        fail(CR, p, "another user's `set_prf_salt` returned true");
    }
    expect_stored(store, p, &a1_used).await;
    if call(
        CR,
        p,
        "set_prf_salt",
        store.set_prf_salt(&alice, &random_bytes(32), &salt),
    )
    .await
    {
        fail(CR, p, "`set_prf_salt` of an unknown id returned true");
    }
    if !call(
        CR,
        p,
        "set_prf_salt",
        store.set_prf_salt(&alice, &a1.credential_id, &salt),
    )
    .await
    {
        fail(CR, p, "the owner's `set_prf_salt` returned false");
    }
    a1_used.prf_salt = Some(salt);
    expect_stored(store, p, &a1_used).await;

    // Delete: only by the owner.
    let p = "delete only by the owner";
    if call(CR, p, "delete", store.delete(&bob, &a1.credential_id)).await {
        fail(CR, p, "another user's `delete` returned true");
    }
    expect_stored(store, p, &a1_used).await;
    if !call(CR, p, "delete", store.delete(&alice, &a1.credential_id)).await {
        fail(CR, p, "the owner's `delete` returned false");
    }
    if call(CR, p, "get", store.get(&a1.credential_id))
        .await
        .is_some()
    {
        fail(CR, p, "`get` still finds a deleted credential");
    }
    expect_listed(store, p, &alice, &[&a2_used]).await;
    if call(CR, p, "delete", store.delete(&alice, &a1.credential_id)).await {
        fail(CR, p, "a second `delete` returned true");
    }

    // Disable: kept, flagged, no more sign-ins.
    let p = "disable keeps and flags the credential";
    let at = micros(Utc::now());
    if call(CR, p, "disable", store.disable(&random_bytes(32), at, "x")).await {
        fail(CR, p, "`disable` of an unknown id returned true");
    }
    if !call(
        CR,
        p,
        "disable",
        store.disable(&a2.credential_id, at, "clone_suspected"),
    )
    .await
    {
        fail(CR, p, "`disable` of an enabled credential returned false");
    }
    let mut a2_disabled = a2_used.clone();
    a2_disabled.disabled_at = Some(at);
    a2_disabled.disabled_reason = Some("clone_suspected".to_owned());
    expect_stored(store, p, &a2_disabled).await;
    expect_listed(store, p, &alice, &[&a2_disabled]).await;
    let p = "a second disable keeps the first time and reason";
    let later = at + chrono::Duration::seconds(5);
    if call(
        CR,
        p,
        "disable",
        store.disable(&a2.credential_id, later, "admin"),
    )
    .await
    {
        fail(CR, p, "`disable` of a disabled credential returned true");
    }
    expect_stored(store, p, &a2_disabled).await;
    let p = "update_usage refuses a disabled credential";
    let after = UsageUpdate {
        credential_id: a2.credential_id.clone(),
        old_sign_count: a2_used.sign_count,
        new_sign_count: a2_used.sign_count + 1,
        backup_eligible: false,
        backup_state: false,
        used_at: at,
        attachment: None,
    };
    if call(CR, p, "update_usage", store.update_usage(&after)).await {
        fail(
            CR,
            p,
            "`update_usage` of a disabled credential (matching counter) returned true",
        );
    }
    expect_stored(store, p, &a2_disabled).await;

    // Clean up (the store may be a shared database).
    let p = "cleanup";
    call(CR, p, "delete", store.delete(&alice, &a2.credential_id)).await;
    call(CR, p, "delete", store.delete(&bob, &b1.credential_id)).await;
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        clock::FrozenClock,
        store::memory::{MemoryChallengeStore, MemoryCredentialStore},
    };

    #[actix_rt::test]
    async fn memory_stores_conform() {
        check_challenge_store(&MemoryChallengeStore::new()).await;
        let clock = FrozenClock::new();
        let store = MemoryChallengeStore::new().with_clock(Arc::new(clock.clone()));
        check_challenge_store_with_clock(&store, &clock).await;
        assert!(store.is_empty(), "the kit takes what it puts");
        check_credential_store(&MemoryCredentialStore::new()).await;
    }

    /// A store that forgets nothing: `take` does not remove.
    #[derive(Debug, Default)]
    struct Leaky(
        MemoryChallengeStore,
        std::sync::Mutex<Vec<(String, ChallengeRecord)>>,
    );

    impl ChallengeStore for Leaky {
        type Error = crate::store::memory::MemoryStoreError;
        fn put(
            &self,
            handle: &str,
            record: ChallengeRecord,
        ) -> impl Future<Output = Result<(), Self::Error>> + Send {
            self.1
                .lock()
                .unwrap()
                .push((handle.to_owned(), record.clone()));
            self.0.put(handle, record)
        }
        fn take(
            &self,
            handle: &str,
        ) -> impl Future<Output = Result<Option<ChallengeRecord>, Self::Error>> + Send {
            let found = self
                .1
                .lock()
                .unwrap()
                .iter()
                .find(|(h, _)| h == handle)
                .map(|(_, r)| r.clone());
            std::future::ready(Ok(found))
        }
    }

    #[actix_rt::test]
    #[should_panic(expected = "challenge store: single use")]
    async fn a_reusable_challenge_fails_single_use() {
        check_challenge_store(&Leaky::default()).await;
    }

    /// A store written before records were bound: it keeps the ceremony, not tenant or user.
    #[derive(Debug, Default)]
    struct Unbound(MemoryChallengeStore);

    impl ChallengeStore for Unbound {
        type Error = crate::store::memory::MemoryStoreError;
        fn put(
            &self,
            handle: &str,
            mut record: ChallengeRecord,
        ) -> impl Future<Output = Result<(), Self::Error>> + Send {
            record.rp_id = String::new();
            record.user_id = None;
            self.0.put(handle, record)
        }
        fn take(
            &self,
            handle: &str,
        ) -> impl Future<Output = Result<Option<ChallengeRecord>, Self::Error>> + Send {
            self.0.take(handle)
        }
    }

    #[actix_rt::test]
    #[should_panic(expected = "rp_id \"\" (want \"login.example.com\")")]
    async fn a_store_that_drops_the_bindings_fails_round_trip() {
        check_challenge_store(&Unbound::default()).await;
    }

    /// A store whose counter update ignores the old value.
    #[derive(Debug, Default)]
    struct NoCas(MemoryCredentialStore);

    impl CredentialStore for NoCas {
        type Error = crate::store::memory::MemoryStoreError;
        fn insert(&self, c: &Credential) -> impl Future<Output = Result<bool, Self::Error>> + Send {
            self.0.insert(c)
        }
        fn get(
            &self,
            id: &[u8],
        ) -> impl Future<Output = Result<Option<Credential>, Self::Error>> + Send {
            self.0.get(id)
        }
        fn list_for_user(
            &self,
            user_id: &str,
        ) -> impl Future<Output = Result<Vec<Credential>, Self::Error>> + Send {
            self.0.list_for_user(user_id)
        }
        fn update_usage(
            &self,
            u: &UsageUpdate,
        ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
            let mut u = u.clone();
            u.old_sign_count = futures_util::FutureExt::now_or_never(self.0.get(&u.credential_id))
                .and_then(|r| r.ok().flatten())
                .map_or(0, |c| c.sign_count);
            async move { self.0.update_usage(&u).await }
        }
        fn disable(
            &self,
            id: &[u8],
            at: DateTime<Utc>,
            reason: &str,
        ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
            self.0.disable(id, at, reason)
        }
        fn rename(
            &self,
            user_id: &str,
            id: &[u8],
            name: &str,
        ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
            self.0.rename(user_id, id, name)
        }
        fn set_prf_salt(
            &self,
            user_id: &str,
            id: &[u8],
            salt: &PrfSalt,
        ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
            self.0.set_prf_salt(user_id, id, salt)
        }
        fn delete(
            &self,
            user_id: &str,
            id: &[u8],
        ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
            self.0.delete(user_id, id)
        }
    }

    #[actix_rt::test]
    #[should_panic(expected = "credential store: update_usage is one compare-and-swap")]
    async fn a_counter_update_without_compare_and_swap_fails() {
        check_credential_store(&NoCas::default()).await;
    }

    /// Returns `Pending` once (waking itself), so that other futures polled together run
    /// between a read and a write.
    async fn yield_now() {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await
    }

    /// Runs a check and returns its panic message (`None` when it passed).
    async fn failure_of(check: impl Future<Output = ()>) -> Option<String> {
        use futures_util::FutureExt as _;
        match std::panic::AssertUnwindSafe(check).catch_unwind().await {
            Ok(()) => None,
            Err(panic) => Some(
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default(),
            ),
        }
    }

    /// A challenge store whose `take` is two steps: it reads the record, yields, then deletes.
    /// Sequentially it is single-use; concurrently every `take` that read before the first
    /// delete returns the record.
    #[derive(Debug, Default)]
    struct ReadYieldDelete(std::sync::Mutex<Vec<(String, ChallengeRecord)>>);

    impl ChallengeStore for ReadYieldDelete {
        type Error = crate::store::memory::MemoryStoreError;
        fn put(
            &self,
            handle: &str,
            record: ChallengeRecord,
        ) -> impl Future<Output = Result<(), Self::Error>> + Send {
            self.0.lock().unwrap().push((handle.to_owned(), record));
            std::future::ready(Ok(()))
        }
        async fn take(&self, handle: &str) -> Result<Option<ChallengeRecord>, Self::Error> {
            let found = self
                .0
                .lock()
                .unwrap()
                .iter()
                .find(|(h, _)| h == handle)
                .map(|(_, r)| r.clone());
            yield_now().await;
            self.0.lock().unwrap().retain(|(h, _)| h != handle);
            Ok(found)
        }
    }

    #[actix_rt::test]
    async fn a_take_that_reads_yields_then_deletes_fails_the_concurrent_case() {
        let failure = failure_of(check_challenge_store(&ReadYieldDelete::default())).await;
        let failure = failure.expect("the kit must refuse a non-atomic take");
        // Every sequential property held; the concurrent one caught it.
        assert!(
            failure.starts_with(
                "challenge store: single use under concurrent takes: 64 of 64 concurrent `take`s"
            ),
            "{failure}"
        );
    }

    /// A credential store whose `update_usage` reads, yields, then writes: a compare that is
    /// not atomic with its swap.
    #[derive(Debug, Default)]
    struct ReadYieldWrite(MemoryCredentialStore);

    impl CredentialStore for ReadYieldWrite {
        type Error = crate::store::memory::MemoryStoreError;
        fn insert(&self, c: &Credential) -> impl Future<Output = Result<bool, Self::Error>> + Send {
            self.0.insert(c)
        }
        fn get(
            &self,
            id: &[u8],
        ) -> impl Future<Output = Result<Option<Credential>, Self::Error>> + Send {
            self.0.get(id)
        }
        fn list_for_user(
            &self,
            user_id: &str,
        ) -> impl Future<Output = Result<Vec<Credential>, Self::Error>> + Send {
            self.0.list_for_user(user_id)
        }
        async fn update_usage(&self, u: &UsageUpdate) -> Result<bool, Self::Error> {
            let current = self.0.get(&u.credential_id).await?;
            let matches = current
                .is_some_and(|c| c.sign_count == u.old_sign_count && c.disabled_at.is_none());
            yield_now().await;
            if !matches {
                return Ok(false);
            }
            // Write unconditionally (the compare was done above).
            let mut write = u.clone();
            write.old_sign_count = self
                .0
                .get(&u.credential_id)
                .await?
                .map_or(u.old_sign_count, |c| c.sign_count);
            self.0.update_usage(&write).await
        }
        fn disable(
            &self,
            id: &[u8],
            at: DateTime<Utc>,
            reason: &str,
        ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
            self.0.disable(id, at, reason)
        }
        fn rename(
            &self,
            user_id: &str,
            id: &[u8],
            name: &str,
        ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
            self.0.rename(user_id, id, name)
        }
        fn set_prf_salt(
            &self,
            user_id: &str,
            id: &[u8],
            salt: &PrfSalt,
        ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
            self.0.set_prf_salt(user_id, id, salt)
        }
        fn delete(
            &self,
            user_id: &str,
            id: &[u8],
        ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
            self.0.delete(user_id, id)
        }
    }

    #[actix_rt::test]
    async fn an_update_that_reads_yields_then_writes_fails_the_concurrent_case() {
        let failure = failure_of(check_credential_store(&ReadYieldWrite::default())).await;
        let failure = failure.expect("the kit must refuse a non-atomic compare-and-swap");
        assert!(
            failure.starts_with(
                "credential store: update_usage is one compare-and-swap: 32 of 32 concurrent"
            ),
            "{failure}"
        );
    }

    /// The two broken stores above are correct when called one at a time: so it is the
    /// kit's concurrent case, not a sequential one, that catches them.
    #[actix_rt::test]
    async fn the_broken_stores_pass_sequential_use() {
        let challenges = ReadYieldDelete::default();
        let record = challenge(
            Ceremony::Authentication,
            Utc::now(),
            Duration::seconds(60),
            "{}".into(),
        );
        challenges.put("h", record.clone()).await.unwrap();
        assert_eq!(challenges.take("h").await.unwrap(), Some(record));
        assert_eq!(challenges.take("h").await.unwrap(), None);

        let credentials = ReadYieldWrite::default();
        let c = sparse_credential("u", Utc::now());
        assert!(credentials.insert(&c).await.unwrap());
        let u = UsageUpdate {
            credential_id: c.credential_id.clone(),
            old_sign_count: c.sign_count,
            new_sign_count: c.sign_count + 1,
            backup_eligible: false,
            backup_state: false,
            used_at: Utc::now(),
            attachment: None,
        };
        assert!(credentials.update_usage(&u).await.unwrap());
        assert!(
            !credentials.update_usage(&u).await.unwrap(),
            "a stale update is refused"
        );
    }
}
