//! Ceremony, store and rate-limit metrics through the [`metrics`](https://docs.rs/metrics) facade
//! (feature `metrics`; the names, units and labels are in `docs/operations.md`).
//!
//! Without the feature every function here is an empty inline call: nothing is measured, no
//! clock is read. With it, each call hands a counter, histogram or gauge to whatever recorder
//! the app installed (none: the facade's no-op recorder). Every label value is a `&'static str`
//! from a fixed set, except the opt-in `aaguid` label, which is bounded by the AAGUIDs the
//! service can name: no user id, device name, credential id or raw AAGUID ever becomes a label.

use crate::{ceremony::Engine, error::ErrorCode, model::Credential};

pub(crate) mod store;

#[cfg(feature = "metrics")]
mod names {
    /// Ceremony and management steps, by outcome and error code (counter).
    pub(crate) const STEPS: &str = "passkeys_steps_total";
    /// Ceremony and management step latency, seconds (histogram).
    pub(crate) const STEP_DURATION: &str = "passkeys_step_duration_seconds";
    /// Store call latency, seconds (histogram).
    pub(crate) const STORE_DURATION: &str = "passkeys_store_operation_duration_seconds";
    /// Store call failures, by kind (counter).
    pub(crate) const STORE_FAILURES: &str = "passkeys_store_failures_total";
    /// Records held by the process's memory challenge stores (gauge).
    pub(crate) const MEMORY_CHALLENGES: &str = "passkeys_memory_challenges";
    /// Rate-limit decisions (counter).
    pub(crate) const RATE_LIMIT: &str = "passkeys_rate_limit_decisions_total";
}
#[cfg(feature = "metrics")]
use names::*;

/// Registers the descriptions and units of every metric with the installed recorder (the
/// `# HELP` lines of a Prometheus scrape). Called when a service is built: install the recorder
/// first.
pub(crate) fn describe() {
    #[cfg(feature = "metrics")]
    {
        use ::metrics::Unit;
        ::metrics::describe_counter!(
            STEPS,
            Unit::Count,
            "Passkey ceremony and management steps, by outcome and error code."
        );
        ::metrics::describe_histogram!(
            STEP_DURATION,
            Unit::Seconds,
            "Latency of passkey ceremony and management steps."
        );
        ::metrics::describe_histogram!(
            STORE_DURATION,
            Unit::Seconds,
            "Latency of passkey store calls."
        );
        ::metrics::describe_counter!(
            STORE_FAILURES,
            Unit::Count,
            "Failed passkey store calls (each answered 503 store_unavailable), by kind."
        );
        ::metrics::describe_gauge!(
            MEMORY_CHALLENGES,
            Unit::Count,
            "Challenge records held by the in-memory challenge stores of this process."
        );
        ::metrics::describe_counter!(
            RATE_LIMIT,
            Unit::Count,
            "Rate-limit decisions on ceremony requests."
        );
    }
}

/// What a step belongs to: the `ceremony` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Registration,
    Authentication,
    /// Listing, renaming and revoking credentials.
    Management,
}

impl Flow {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Authentication => "authentication",
            Self::Management => "management",
        }
    }
}

/// What is known of the credential a step was about: the `backup_eligible`, `attachment` and
/// (opt-in) `aaguid` labels. Copied out of the credential, so a failed step can report the
/// stored credential it had looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) struct CredentialLabels {
    backup_eligible: bool,
    aaguid: Option<uuid::Uuid>,
}

impl CredentialLabels {
    pub(crate) fn of(credential: &Credential) -> Self {
        Self {
            backup_eligible: credential.backup_eligible,
            aaguid: credential.aaguid,
        }
    }
}

/// The label options of one service.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// Add the `aaguid` label to `passkeys_steps_total`
    /// ([`PasskeysBuilder::metrics_aaguid_labels`](crate::PasskeysBuilder::metrics_aaguid_labels)).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) aaguid_labels: bool,
}

/// Times one ceremony or management step; [`finish`](Self::finish) records it.
///
/// A step whose request is cancelled before it finishes is not recorded.
#[derive(Debug)]
#[must_use]
pub(crate) struct StepTimer {
    #[cfg(feature = "metrics")]
    flow: Flow,
    #[cfg(feature = "metrics")]
    step: &'static str,
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl StepTimer {
    /// Starts timing `step` (`begin`, `finish`, `list`, `rename`, `revoke`) of `flow`.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn start(flow: Flow, step: &'static str) -> Self {
        Self {
            #[cfg(feature = "metrics")]
            flow,
            #[cfg(feature = "metrics")]
            step,
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
        }
    }

    /// Records the step: one `passkeys_steps_total` increment and one
    /// `passkeys_step_duration_seconds` observation. `error` is the code the step answered
    /// (`None`: it succeeded); `credential` what is known of the credential it was about.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn finish(
        self,
        engine: &Engine,
        error: Option<ErrorCode>,
        credential: Option<CredentialLabels>,
    ) {
        #[cfg(feature = "metrics")]
        {
            use ::metrics::Label;
            let (outcome, code) = match error {
                None => ("ok", "none"),
                Some(code) => ("error", code.as_str()),
            };
            let flow = self.flow.as_str();
            let mut labels = vec![
                Label::from_static_parts("ceremony", flow),
                Label::from_static_parts("step", self.step),
                Label::from_static_parts("outcome", outcome),
                Label::from_static_parts("code", code),
                Label::from_static_parts("backup_eligible", backup_eligible(credential)),
                Label::from_static_parts("attachment", attachment(credential)),
            ];
            if engine.metrics.aaguid_labels {
                labels.push(Label::new("aaguid", aaguid(engine, credential)));
            }
            ::metrics::counter!(STEPS, labels).increment(1);
            ::metrics::histogram!(
                STEP_DURATION,
                "ceremony" => flow,
                "step" => self.step,
                "outcome" => outcome,
                "code" => code,
            )
            .record(self.started.elapsed().as_secs_f64());
        }
    }
}

#[cfg(feature = "metrics")]
fn backup_eligible(credential: Option<CredentialLabels>) -> &'static str {
    match credential {
        Some(c) if c.backup_eligible => "true",
        Some(_) => "false",
        None => "unknown",
    }
}

/// The `attachment` label. The credential model does not record the authenticator attachment
/// yet, and webauthn-rs-proto's response types drop `authenticatorAttachment`, so it is
/// `unknown` for now; `platform` / `cross-platform` once the attachment is stored.
#[cfg(feature = "metrics")]
fn attachment(_credential: Option<CredentialLabels>) -> &'static str {
    "unknown"
}

/// The opt-in `aaguid` label: the AAGUID (hyphenated, lower case) when the service can name it
/// (the app's [`authenticator_names`](crate::PasskeysBuilder::authenticator_names) or the
/// bundled list), `other` for an AAGUID it cannot name (a client chooses its AAGUID freely in a
/// `none` attestation, so an unnamed one is never a label), `none` when the credential has no
/// AAGUID (all zero), `unknown` when the step had no credential.
#[cfg(feature = "metrics")]
fn aaguid(engine: &Engine, credential: Option<CredentialLabels>) -> String {
    match credential {
        None => "unknown".to_owned(),
        Some(CredentialLabels { aaguid: None, .. }) => "none".to_owned(),
        Some(CredentialLabels {
            aaguid: Some(id), ..
        }) => match engine.names.name(id) {
            Some(_) => id.hyphenated().to_string(),
            None => "other".to_owned(),
        },
    }
}

/// The memory challenge stores of this process went from `before` to `after` records.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn memory_challenges(before: usize, after: usize) {
    #[cfg(feature = "metrics")]
    {
        let gauge = ::metrics::gauge!(MEMORY_CHALLENGES);
        if after > before {
            gauge.increment((after - before) as f64);
        } else if before > after {
            gauge.decrement((before - after) as f64);
        }
    }
}

/// One rate-limit decision: `allow`, `limit`, `backend_error` (the backend failed and the
/// request was let through) or `unkeyed` (the key function gave no key: not limited).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn rate_limit(decision: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(RATE_LIMIT, "decision" => decision).increment(1);
}

#[cfg(test)]
#[cfg(feature = "metrics")]
mod tests;
