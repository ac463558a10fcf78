//! What a [`PasskeyConfig`](crate::PasskeyConfig) decides, beyond its strings: the policy
//! enums (what is asked of authenticators and enforced on their answers), the accepted
//! [`Origin`]s, and the defaults and bounds its builder checks.
#![doc = include_str!("../docs/configuration.md")]

pub use crate::config::{
    Attachment, AttestationPreference, Hint, NativeApp, Origin, ResidentKey, SignCountPolicy,
    TransportsPolicy, UserVerification, DEFAULT_BODY_LIMIT, DEFAULT_CHALLENGE_TTL,
    DEFAULT_FRESH_WINDOW, DEFAULT_IDENTIFY_WINDOW, DEFAULT_TIMEOUT, MAX_CHALLENGE_TTL,
    MAX_RELATED_ORIGIN_LABELS,
};
