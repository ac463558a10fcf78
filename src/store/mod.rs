//! Storage traits. Nothing here depends on a backend: stores live in their own modules behind
//! features, and any type implementing these traits can be plugged into
//! [`Passkeys`](crate::Passkeys).
//!
//! Two stores, split by lifetime: a durable [`CredentialStore`] for registered passkeys and a
//! short-lived [`ChallengeStore`] for begun ceremonies. Both use `impl Future + Send` methods
//! (no `async-trait`) and their own error type; every store error is answered with 503
//! `store_unavailable` and its cause is logged.
#![doc = include_str!("../../docs/storage.md")]

use std::{error::Error, future::Future, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::model::{Credential, PrfSalt, UsageUpdate};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub mod diesel;
pub mod memory;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;

/// How long the shipped challenge stores keep an expired challenge past its `expires_at`, so a
/// late finish is told `challenge_expired` rather than `challenge_not_found`: 60 s.
///
/// ```
/// assert_eq!(actix_passkeys::store::EXPIRED_GRACE.as_secs(), 60);
/// ```
pub const EXPIRED_GRACE: Duration = Duration::from_secs(60);

/// What every shipped challenge store keeps instead of a handle: its SHA-256. A handle is the
/// bearer secret of a begun ceremony; a read of the store (a dump, a backup, `MONITOR`, a
/// `{:?}` in a log line) within the TTL must not be enough to finish someone's ceremony.
pub(crate) fn handle_digest(handle: &str) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(handle.as_bytes()).into()
}

/// Which ceremony a challenge was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Ceremony {
    /// `register/begin` → `register/finish`.
    Registration,
    /// `authenticate/begin` → `authenticate/finish`.
    Authentication,
}

/// A begun ceremony, stored under an opaque random handle until its finish call consumes it.
///
/// `payload` is the engine's state (JSON) and is opaque to stores. Stores must keep a record at
/// least until `expires_at` and should keep it a little longer (a grace period) so that a late
/// finish is answered `challenge_expired` rather than `challenge_not_found`.
///
/// A record is bound to the tenant (`rp_id`), the ceremony and the user it was begun for; the
/// finish step refuses it as `challenge_not_found` when any of them differs, so several
/// [`Passkeys`](crate::Passkeys) (one per rp id) can share one challenge store. Stores only
/// keep these fields and hand them back unchanged; they never interpret them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeRecord {
    /// The ceremony it belongs to.
    pub ceremony: Ceremony,
    /// The rp id of the service that began it (a record of another tenant is not found).
    #[serde(default)]
    pub rp_id: String,
    /// The app user id the ceremony was begun for: always set for a registration, set for a
    /// username-first sign-in, `None` for a usernameless one.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Engine state, opaque to the store.
    pub payload: String,
    /// When the ceremony began.
    pub created_at: DateTime<Utc>,
    /// When the challenge stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Short-lived, single-use storage of ceremony challenges.
///
/// `take` must be atomic: of any number of concurrent `take` calls for one handle, at most one
/// returns the record (Redis `GETDEL`, SQL `DELETE … RETURNING`, a map `remove` under a lock).
pub trait ChallengeStore: Send + Sync + 'static {
    /// The store's error; answered with 503 `store_unavailable`.
    type Error: Error + Send + Sync + 'static;

    /// Stores `record` under `handle`.
    fn put(
        &self,
        handle: &str,
        record: ChallengeRecord,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Removes and returns the record under `handle`, if any. A second call returns `None`.
    fn take(
        &self,
        handle: &str,
    ) -> impl Future<Output = Result<Option<ChallengeRecord>, Self::Error>> + Send;

    /// Whether several app instances may share this store (a database or Redis server rather
    /// than process memory or a local file). Only used to warn when no
    /// [`server_secret`](crate::PasskeysBuilder::server_secret) is set. Default: `false`.
    fn is_shared(&self) -> bool {
        false
    }
}

/// Durable storage of registered passkeys.
pub trait CredentialStore: Send + Sync + 'static {
    /// The store's error; answered with 503 `store_unavailable`.
    type Error: Error + Send + Sync + 'static;

    /// Inserts a new credential. Returns `false` (and changes nothing) when a credential with
    /// the same id already exists, for any user.
    fn insert(
        &self,
        credential: &Credential,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Looks a credential up by id.
    fn get(
        &self,
        credential_id: &[u8],
    ) -> impl Future<Output = Result<Option<Credential>, Self::Error>> + Send;

    /// All credentials of a user, disabled ones included, oldest first.
    fn list_for_user(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<Credential>, Self::Error>> + Send;

    /// Applies a sign-in as one compare-and-swap: only if the stored counter equals
    /// `update.old_sign_count` and the credential is not disabled. Returns whether it applied.
    /// The counter, BE/BS, last-used time and `last_attachment` change in that one write.
    fn update_usage(
        &self,
        update: &UsageUpdate,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Marks a credential disabled (never deletes it). Returns whether a credential was changed:
    /// an unknown or already disabled credential is left as it is (its first disable time and
    /// reason stay) and gives `false`.
    fn disable(
        &self,
        credential_id: &[u8],
        at: DateTime<Utc>,
        reason: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Renames a credential if it belongs to `user_id`. Returns whether one was renamed.
    fn rename(
        &self,
        user_id: &str,
        credential_id: &[u8],
        device_name: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Replaces the PRF salt of a credential if it belongs to `user_id` (see
    /// [`Passkeys::rotate_prf_salt`](crate::Passkeys::rotate_prf_salt)). Returns whether one was
    /// changed.
    fn set_prf_salt(
        &self,
        user_id: &str,
        credential_id: &[u8],
        salt: &PrfSalt,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Deletes a credential if it belongs to `user_id`. Returns whether one was deleted.
    fn delete(
        &self,
        user_id: &str,
        credential_id: &[u8],
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Whether several app instances may share this store (see
    /// [`ChallengeStore::is_shared`]). Default: `false`.
    fn is_shared(&self) -> bool {
        false
    }
}
