//! The JSON the scope's routes speak: the begin/finish bodies, the options answered, the
//! credential view, the Signal API header, and the route paths. The shapes are the ones of
//! fastapi-passkeys 0.1.2 (the wire contract and the error codes below).
#![doc = include_str!("../docs/wire.md")]
#![doc = include_str!("../docs/errors.md")]

/// The WebAuthn JSON types used in the options this crate sends (re-exported from
/// `webauthn-rs-proto`).
pub use webauthn_rs_proto as proto;

pub use crate::{
    aaguid::{authenticator_name, AuthenticatorNames},
    ceremony::{
        authentication::{AuthenticationBegin, AuthenticationFinish, AuthenticationOptions},
        prf::PrfInputs,
        registration::{Mediation, RegistrationBegin, RegistrationFinish, RegistrationOptions},
        MAX_USER_ID_BYTES,
    },
    model::{CredentialView, MAX_DEVICE_NAME_CHARS},
    web::{
        scope::DEFAULT_PATH,
        signal::{Signal, SIGNAL_HEADER},
        well_known::{
            APPLE_APP_SITE_ASSOCIATION_PATH, ASSET_LINKS_PATH, PASSKEY_ENDPOINTS_PATH,
            WELL_KNOWN_PATH,
        },
    },
};
