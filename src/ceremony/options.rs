//! What the options documents carry beyond the engine's defaults: the `hints`, and the
//! transports of their `allowCredentials` / `excludeCredentials` entries under the configured
//! [`TransportsPolicy`].

use webauthn_rs_core::proto::{AuthenticatorTransport, PublicKeyCredentialHints};

use super::metadata::transports;
use crate::{
    config::{Attachment, Hint, TransportsPolicy},
    error::PasskeyError,
    model::Credential,
};

/// The transports an options entry for `credential` carries under `policy`.
pub(crate) fn offered_transports(
    credential: &Credential,
    policy: TransportsPolicy,
) -> Option<Vec<AuthenticatorTransport>> {
    offered(
        transports(&credential.transports),
        credential.backup_eligible,
        policy,
    )
}

/// What an entry with these stored transports and this backup eligibility carries under
/// `policy`: the one rule for real credentials and for the fake entries of unknown users.
pub(crate) fn offered(
    stored: Option<Vec<AuthenticatorTransport>>,
    backup_eligible: bool,
    policy: TransportsPolicy,
) -> Option<Vec<AuthenticatorTransport>> {
    match policy {
        TransportsPolicy::AsRegistered => stored,
        TransportsPolicy::OmitWhenBackupEligible if !backup_eligible => stored,
        TransportsPolicy::OmitWhenBackupEligible | TransportsPolicy::Omit => None,
    }
}

/// `hints` as the options document carries them, in order; absent when empty.
pub(crate) fn hints_json(hints: &[Hint]) -> Option<Vec<PublicKeyCredentialHints>> {
    let out: Vec<PublicKeyCredentialHints> = hints
        .iter()
        .map(|h| match h {
            Hint::SecurityKey => PublicKeyCredentialHints::SecurityKey,
            Hint::ClientDevice => PublicKeyCredentialHints::ClientDevice,
            Hint::Hybrid => PublicKeyCredentialHints::Hybrid,
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

/// The hints of one call: the caller's own when it gave any (checked as the config's are),
/// else the configured ones.
pub(crate) fn call_hints<'a>(
    own: Option<&'a [Hint]>,
    configured: &'a [Hint],
    attachment: Option<Attachment>,
) -> Result<&'a [Hint], PasskeyError> {
    match own {
        Some(own) => {
            crate::config::check_hints(own, attachment).map_err(PasskeyError::InvalidRequest)?;
            Ok(own)
        }
        None => Ok(configured),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_transports_policy_offers_what_it_says() {
        let both = Some(vec![
            AuthenticatorTransport::Internal,
            AuthenticatorTransport::Hybrid,
        ]);
        let fmt = |t: &Option<Vec<AuthenticatorTransport>>| format!("{t:?}");
        for be in [false, true] {
            assert_eq!(
                fmt(&offered(both.clone(), be, TransportsPolicy::AsRegistered)),
                fmt(&both)
            );
            assert_eq!(offered(both.clone(), be, TransportsPolicy::Omit), None);
            let when_be = offered(both.clone(), be, TransportsPolicy::OmitWhenBackupEligible);
            assert_eq!(
                fmt(&when_be),
                fmt(if be { &None } else { &both }),
                "be {be}"
            );
        }
    }

    #[test]
    fn hints_keep_their_order_and_an_empty_list_sends_none() {
        assert!(hints_json(&[]).is_none());
        let json = serde_json::to_string(&hints_json(&[Hint::Hybrid, Hint::SecurityKey]))
            .expect("serialises");
        assert_eq!(json, r#"["hybrid","security-key"]"#);
    }

    #[test]
    fn a_call_s_own_hints_replace_the_configured_ones_and_are_checked() {
        let configured = [Hint::SecurityKey];
        assert_eq!(
            call_hints(None, &configured, None).expect("configured"),
            &configured
        );
        assert_eq!(
            call_hints(Some(&[Hint::ClientDevice]), &configured, None).expect("own"),
            &[Hint::ClientDevice]
        );
        assert_eq!(call_hints(Some(&[]), &configured, None).expect("none"), &[]);
        let twice = call_hints(Some(&[Hint::Hybrid, Hint::Hybrid]), &configured, None);
        assert!(matches!(twice, Err(PasskeyError::InvalidRequest(_))));
        let against = call_hints(
            Some(&[Hint::ClientDevice]),
            &configured,
            Some(Attachment::CrossPlatform),
        );
        assert!(matches!(against, Err(PasskeyError::InvalidRequest(_))));
    }
}
