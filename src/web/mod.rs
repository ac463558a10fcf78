//! The HTTP layer: the scope, its JSON bodies, extractors and the session bridge.

pub(crate) mod body;
pub(crate) mod extract;
pub(crate) mod resolver;
pub(crate) mod scope;
#[cfg(feature = "session")]
pub(crate) mod session;
