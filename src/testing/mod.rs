//! Test kit (feature `testing`): a software authenticator that speaks the wire contract, for
//! integration tests of apps that use this crate.
//!
//! [`SoftAuthenticator`] wraps the `passkey` crate's authenticator and client: give it the
//! `publicKey` object a begin route answered, get back the JSON a browser would send.

mod authenticator;

pub use self::authenticator::{AssertionSpec, SoftAuthenticator, SoftAuthenticatorError};
pub use crate::clock::FrozenClock;
