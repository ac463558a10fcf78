//! The HTTP layer: the scope, its JSON bodies, extractors and the session bridge.

pub(crate) mod body;
pub(crate) mod extract;
#[cfg(feature = "openapi")]
pub(crate) mod openapi;
pub(crate) mod resolver;
pub(crate) mod routes;
pub(crate) mod scope;
pub(crate) mod service;
#[cfg(feature = "session")]
pub(crate) mod session;
pub(crate) mod signal;
pub(crate) mod well_known;
