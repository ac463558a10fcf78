//! The server secret and what is derived from it, each with its own HMAC-SHA256 label (domain
//! separation), so one configured secret serves every purpose without one use revealing another:
//!
//! - the key of the fake credential ids answered for unknown users,
//! - the transports of those fake entries,
//! - the WebAuthn user handle of a user who has no passkey yet,
//! - the PRF salts of the fake entries (when PRF is on).
//!
//! The same secret on every instance makes all three stable across restarts and instances.

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use webauthn_rs_core::proto::AuthenticatorTransport;

const FAKE_ID_LABEL: &[u8] = b"actix-passkeys/v1/fake-credential-ids";
const FAKE_TRANSPORTS_LABEL: &[u8] = b"actix-passkeys/v1/fake-transports";
const USER_HANDLE_LABEL: &[u8] = b"actix-passkeys/v1/user-handle";
const FAKE_PRF_LABEL: &[u8] = b"actix-passkeys/v1/fake-prf-salts";

/// HMAC-SHA256 of the concatenated `parts` under `key`.
fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = match <Hmac<Sha256>>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0u8; 32],
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Keys derived from the server secret. The secret itself is not kept.
pub(crate) struct ServerSecret {
    fake_ids: [u8; 32],
    fake_transports: [u8; 32],
    user_handles: [u8; 32],
    fake_prf: [u8; 32],
}

impl ServerSecret {
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self {
            fake_ids: hmac(secret, &[FAKE_ID_LABEL]),
            fake_transports: hmac(secret, &[FAKE_TRANSPORTS_LABEL]),
            user_handles: hmac(secret, &[USER_HANDLE_LABEL]),
            fake_prf: hmac(secret, &[FAKE_PRF_LABEL]),
        }
    }

    /// The key of webauthn-rs's fake credential id generator.
    pub(crate) fn fake_id_key(&self) -> &[u8] {
        &self.fake_ids
    }

    /// The user handle (32 bytes) of `user_id` under `rp_id` for a user without a passkey:
    /// HMAC-SHA256 of the length-prefixed rp id and the user id, never the user id itself.
    pub(crate) fn user_handle(&self, rp_id: &str, user_id: &str) -> Vec<u8> {
        let rp_len = (rp_id.len() as u64).to_be_bytes();
        hmac(
            &self.user_handles,
            &[&rp_len, rp_id.as_bytes(), user_id.as_bytes()],
        )
        .to_vec()
    }

    /// What a real passkey like the one a fake credential id imitates would have stored: its
    /// transports (or none, as a client without `getTransports()` stores none) and whether it
    /// is backup eligible (synced). webauthn-rs picks fake id lengths by provider, so the
    /// profile follows the length: 20 bytes (Apple keychain), 65 (Google), 16 (Bitwarden) are
    /// synced passkeys reporting `hybrid, internal`; 32 (a TPM, Windows Hello) is device-bound
    /// `internal`; 64 and 128 (a YubiKey) are device-bound `nfc, usb` or `usb`. Other lengths
    /// get the weighted set of [`transport_set`] and a keyed synced bit. Chosen
    /// deterministically from the id under the secret; the caller applies the transports
    /// policy to it as to a real credential's stored values.
    pub(crate) fn fake_profile(
        &self,
        fake_id: &[u8],
    ) -> (Option<Vec<AuthenticatorTransport>>, bool) {
        let picks = hmac(&self.fake_transports, &[fake_id]);
        profile(fake_id.len(), picks[0], picks[1])
    }

    /// The PRF salt offered for a credential that has none stored: every entry of a fake
    /// credential id, and a real credential registered without PRF. Derived from the id under
    /// the secret, so it is stable between calls like a stored salt. Every allowed entry of a
    /// username-first begin carries a salt, so whether a user's passkeys support PRF (and
    /// whether the user exists) does not show; browsers skip entries whose credential has no
    /// PRF.
    pub(crate) fn derived_prf_salt(&self, credential_id: &[u8]) -> crate::model::PrfSalt {
        crate::model::PrfSalt::from_bytes(hmac(&self.fake_prf, &[b"salt", credential_id]).to_vec())
    }
}

/// The profile of a fake id of `len` bytes for its two keyed bytes (see
/// [`ServerSecret::fake_profile`]): `stored` picks whether the client stored transports (or the
/// weighted set, for other lengths), `kind` a security key's set or the synced bit.
fn profile(len: usize, stored: u8, kind: u8) -> (Option<Vec<AuthenticatorTransport>>, bool) {
    use AuthenticatorTransport::{Hybrid, Internal, Nfc, Usb};
    let (set, synced) = match len {
        16 | 20 | 65 => (vec![Hybrid, Internal], true),
        32 => (vec![Internal], false),
        // 160 of 256: YubiKeys with NFC outnumber USB-only ones.
        64 | 128 if kind < 160 => (vec![Nfc, Usb], false),
        64 | 128 => (vec![Usb], false),
        _ => return (transport_set(stored), is_synced(kind)),
    };
    // The share of clients that store no transports, as in `transport_set` (20 of 256).
    (stored_by_client(stored).then_some(set), synced)
}

/// Whether the client stored the transports: 236 of 256 (as `transport_set`'s `None` share).
fn stored_by_client(pick: u8) -> bool {
    pick < 236
}

/// Whether a fake passkey counts as synced (backup eligible): 176 of 256, roughly the share of
/// synced passkeys among those registered today.
fn is_synced(pick: u8) -> bool {
    pick < 176
}

/// The transport set for one keyed byte: the weights (out of 256) are 112 hybrid+internal, 56
/// internal, 28 nfc+usb, 20 usb, 12 hybrid, 8 ble+nfc+usb and 20 none.
fn transport_set(pick: u8) -> Option<Vec<AuthenticatorTransport>> {
    use AuthenticatorTransport::{Ble, Hybrid, Internal, Nfc, Usb};
    Some(match pick {
        0..=111 => vec![Hybrid, Internal],
        112..=167 => vec![Internal],
        168..=195 => vec![Nfc, Usb],
        196..=215 => vec![Usb],
        216..=227 => vec![Hybrid],
        228..=235 => vec![Ble, Nfc, Usb],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The provider profiles' shares, pinned at every boundary: a security-key length's NFC
    /// share (160 of 256), the clients that store no transports (20 of 256) and the synced
    /// share of other lengths (176 of 256).
    #[test]
    fn fake_profiles_follow_their_shares_at_every_boundary() {
        use AuthenticatorTransport::{Hybrid, Internal, Nfc, Usb};
        let fmt = |p: (Option<Vec<AuthenticatorTransport>>, bool)| format!("{p:?}");
        let want = |t: Option<Vec<AuthenticatorTransport>>, synced: bool| fmt((t, synced));
        for len in [64, 128] {
            assert_eq!(fmt(profile(len, 0, 0)), want(Some(vec![Nfc, Usb]), false));
            assert_eq!(fmt(profile(len, 0, 159)), want(Some(vec![Nfc, Usb]), false));
            assert_eq!(fmt(profile(len, 0, 160)), want(Some(vec![Usb]), false));
            assert_eq!(fmt(profile(len, 0, 255)), want(Some(vec![Usb]), false));
            assert_eq!(fmt(profile(len, 236, 0)), want(None, false));
        }
        for len in [16, 20, 65] {
            assert_eq!(
                fmt(profile(len, 235, 0)),
                want(Some(vec![Hybrid, Internal]), true)
            );
            assert_eq!(fmt(profile(len, 236, 255)), want(None, true));
        }
        assert_eq!(fmt(profile(32, 0, 0)), want(Some(vec![Internal]), false));
        assert_eq!(fmt(profile(32, 255, 0)), want(None, false));
        // Other lengths: the weighted set, and synced for 176 of 256.
        assert_eq!(
            fmt(profile(48, 0, 175)),
            want(Some(vec![Hybrid, Internal]), true)
        );
        assert_eq!(
            fmt(profile(48, 112, 176)),
            want(Some(vec![Internal]), false)
        );
        assert_eq!(fmt(profile(48, 255, 0)), want(None, true));
        assert!(stored_by_client(235) && !stored_by_client(236));
        assert!(is_synced(0) && is_synced(175) && !is_synced(176) && !is_synced(255));
    }

    /// The documented weights, pinned at every boundary.
    #[test]
    fn transport_sets_follow_their_weights() {
        use AuthenticatorTransport::{Ble, Hybrid, Internal, Nfc, Usb};
        let cases: [(u8, Option<Vec<AuthenticatorTransport>>); 14] = [
            (0, Some(vec![Hybrid, Internal])),
            (111, Some(vec![Hybrid, Internal])),
            (112, Some(vec![Internal])),
            (167, Some(vec![Internal])),
            (168, Some(vec![Nfc, Usb])),
            (195, Some(vec![Nfc, Usb])),
            (196, Some(vec![Usb])),
            (215, Some(vec![Usb])),
            (216, Some(vec![Hybrid])),
            (227, Some(vec![Hybrid])),
            (228, Some(vec![Ble, Nfc, Usb])),
            (235, Some(vec![Ble, Nfc, Usb])),
            (236, None),
            (255, None),
        ];
        for (pick, want) in cases {
            assert_eq!(
                format!("{:?}", transport_set(pick)),
                format!("{want:?}"),
                "pick {pick}"
            );
        }
    }

    #[test]
    fn derivations_are_separated_and_keyed() {
        let a = ServerSecret::new(b"0123456789abcdef0123456789abcdef");
        let b = ServerSecret::new(b"0123456789abcdef0123456789abcdeF");
        assert_ne!(a.fake_ids, a.user_handles);
        assert_ne!(a.fake_ids, a.fake_transports);
        assert_ne!(a.fake_prf, a.fake_ids);
        assert_ne!(a.fake_prf, b.fake_prf);
        let salts: Vec<_> = (0u8..=255).map(|i| a.derived_prf_salt(&[i; 16])).collect();
        assert_eq!(salts[7], a.derived_prf_salt(&[7; 16]), "stable");
        assert_ne!(salts[7], b.derived_prf_salt(&[7; 16]), "keyed");
        assert_ne!(salts[7], salts[8]);
        assert!(salts.iter().all(|s| s.as_bytes().len() == 32));
        assert_ne!(a.fake_ids, b.fake_ids);
        let h = a.user_handle("example.com", "alice");
        assert_eq!(h.len(), 32);
        assert_eq!(h, a.user_handle("example.com", "alice"));
        assert_ne!(h, b.user_handle("example.com", "alice"));
        assert_ne!(h, a.user_handle("example.org", "alice"));
        assert_ne!(h, a.user_handle("example.com", "bob"));
        // The length prefix keeps (rp id, user id) pairs apart.
        assert_ne!(a.user_handle("a", "bc"), a.user_handle("ab", "c"));
        let sets: std::collections::HashSet<String> = (0u8..=255)
            .map(|i| format!("{:?}", a.fake_profile(&[i; 48]).0))
            .collect();
        assert!(sets.len() >= 4, "{sets:?}");
    }

    /// A fake id's profile is the one of the provider its length imitates, so it carries what
    /// a real passkey of that kind would: never transports on a synced kind once the policy
    /// omits them, never a security key's transports on a phone's id.
    #[test]
    fn fake_profiles_follow_the_provider_the_id_length_imitates() {
        use AuthenticatorTransport::{Hybrid, Internal, Nfc, Usb};
        let a = ServerSecret::new(b"0123456789abcdef0123456789abcdef");
        let fmt = |t: &Option<Vec<AuthenticatorTransport>>| format!("{t:?}");
        let mut none = 0;
        for len in [16usize, 20, 32, 64, 65, 128] {
            for i in 0u8..=255 {
                let id = vec![i; len];
                let (stored, synced) = a.fake_profile(&id);
                assert_eq!(synced, matches!(len, 16 | 20 | 65), "len {len}");
                let allowed: &[Option<Vec<AuthenticatorTransport>>] = match len {
                    16 | 20 | 65 => &[Some(vec![Hybrid, Internal]), None],
                    32 => &[Some(vec![Internal]), None],
                    _ => &[Some(vec![Nfc, Usb]), Some(vec![Usb]), None],
                };
                assert!(
                    allowed.iter().any(|t| fmt(t) == fmt(&stored)),
                    "len {len}: {stored:?}"
                );
                none += usize::from(stored.is_none());
            }
        }
        // Some clients store no transports, most do.
        assert!(
            (10..=300).contains(&none),
            "{none} of 1536 without transports"
        );
        // Another length falls back to the weighted sets.
        let sets: std::collections::HashSet<String> = (0u8..=255)
            .map(|i| fmt(&a.fake_profile(&[i; 48]).0))
            .collect();
        assert!(sets.len() >= 4, "{sets:?}");
    }
}
