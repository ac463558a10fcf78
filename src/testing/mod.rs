//! Test kit (feature `testing`): a software authenticator that speaks the wire contract, for
//! integration tests of apps that use this crate, and the store conformance kit, for anyone
//! writing a store.
//!
//! [`SoftAuthenticator`] wraps the `passkey` crate's authenticator and client: give it the
//! `publicKey` object a begin route answered, get back the JSON a browser would send.
//!
//! [`conformance::check_challenge_store`] and [`conformance::check_credential_store`] check the
//! properties the ceremonies rely on (single use, atomic counter updates, ownership, …) against
//! any store; see [`conformance`]. A frozen clock for time-dependent tests is
//! [`hooks::FrozenClock`](crate::hooks::FrozenClock).
//!
//! [`RacingCredentialStore`] holds counter updates at a barrier so that a test of concurrent
//! sign-ins reaches the store's compare-and-swap on purpose; [`RacingChallengeStore`] holds
//! challenge takes so that concurrent finishes of one state reach the single-use `take` together.
#![doc = include_str!("../../docs/testing.md")]

mod authenticator;
pub mod conformance;
mod race;

pub use self::{
    authenticator::{AssertionSpec, SoftAuthenticator, SoftAuthenticatorError},
    race::{RacingChallengeStore, RacingCredentialStore},
};
