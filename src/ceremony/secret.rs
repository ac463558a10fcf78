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

    /// Transports for a fake credential id: one of the sets real passkeys and security keys
    /// report, or none (a client without `getTransports()` stores none, and its entries carry
    /// no `transports`), chosen deterministically from the id under the secret, with rough
    /// real-world weights.
    pub(crate) fn fake_transports(&self, fake_id: &[u8]) -> Option<Vec<AuthenticatorTransport>> {
        transport_set(hmac(&self.fake_transports, &[fake_id])[0])
    }

    /// The PRF salt of a fake credential id, or none (a credential without PRF), chosen
    /// deterministically from the id under the secret: 3 in 4 fake entries have one, as most
    /// passkeys today support PRF. Stable like a real credential's salt between rotations.
    pub(crate) fn fake_prf_salt(&self, fake_id: &[u8]) -> Option<crate::model::PrfSalt> {
        let pick = hmac(&self.fake_prf, &[b"pick", fake_id])[0];
        (pick < 192).then(|| {
            crate::model::PrfSalt::from_bytes(hmac(&self.fake_prf, &[b"salt", fake_id]).to_vec())
        })
    }
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
        let salts: Vec<_> = (0u8..=255).map(|i| a.fake_prf_salt(&[i; 16])).collect();
        let with = salts.iter().flatten().count();
        assert!(
            (160..=224).contains(&with),
            "{with} of 256 fake ids have a salt"
        );
        assert_eq!(salts[7], a.fake_prf_salt(&[7; 16]), "stable");
        assert!(salts.iter().flatten().all(|s| s.as_bytes().len() == 32));
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
            .map(|i| format!("{:?}", a.fake_transports(&[i; 16])))
            .collect();
        assert!(sets.len() >= 4, "{sets:?}");
    }
}
