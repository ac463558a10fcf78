//! The ceremonies over `webauthn-rs-core`: everything between a parsed request and a store call.
//!
//! This layer holds every policy check; the web layer only parses input and renders output.

use std::sync::Arc;

use rand::Rng as _;
use serde::{de::DeserializeOwned, Serialize};
use subtle::ConstantTimeEq as _;
use webauthn_rs_core::{
    fake::{
        FakeCredentialIDDistribution, FakePasskeyDistribution, WebauthnFakeCredentialGenerator,
        G_PIXEL_CRED_LEN,
    },
    proto::UserVerificationPolicy,
    WebauthnCore,
};

use crate::{
    audit::{self, AuditEvent, AuditEventKind},
    clock::Clock,
    config::{PasskeyConfig, UserVerification},
    error::PasskeyError,
    origin::Origin,
    store::{Ceremony, ChallengeRecord, ChallengeStore},
};

pub(crate) mod authentication;
mod client_json;
pub(crate) mod metadata;
mod options;
pub(crate) mod prf;
pub(crate) mod registration;
pub(crate) mod secret;
#[cfg(test)]
mod vectors;

/// Bytes of randomness in a state handle (256 bits).
const HANDLE_BYTES: usize = 32;

/// Longest accepted app user id, in bytes (UTF-8): an `authenticate/begin` `userId` or the
/// [`PasskeyUser::id`](crate::PasskeyUser) a resolver gives at `register/begin`. Longer ids are
/// refused with 400 `invalid_request` before anything is stored or logged.
///
/// ```
/// assert_eq!(actix_passkeys::wire::MAX_USER_ID_BYTES, 256);
/// ```
pub const MAX_USER_ID_BYTES: usize = 256;

/// Refuses a user id longer than [`MAX_USER_ID_BYTES`] or holding control characters.
pub(crate) fn check_user_id(user_id: &str) -> Result<(), PasskeyError> {
    if user_id.len() > MAX_USER_ID_BYTES {
        return Err(PasskeyError::InvalidRequest(
            "The user id is longer than 256 bytes.",
        ));
    }
    // A NUL cannot be stored in a PostgreSQL text column (it was a 503), and no app id needs
    // control characters.
    if user_id.chars().any(char::is_control) {
        return Err(PasskeyError::InvalidRequest(
            "The user id must not contain control characters.",
        ));
    }
    Ok(())
}

/// Refuses a response whose `type` is not `public-key`, or whose `id` is not the base64url
/// (unpadded) encoding of its `rawId`.
pub(crate) fn check_credential_id(
    type_: &str,
    id: &str,
    raw_id: &[u8],
) -> Result<(), PasskeyError> {
    if type_ != "public-key" {
        return Err(PasskeyError::InvalidRequest(
            "credential.type must be \"public-key\".",
        ));
    }
    if id
        .as_bytes()
        .ct_eq(crate::model::b64url(raw_id).as_bytes())
        .into()
    {
        Ok(())
    } else {
        Err(PasskeyError::InvalidRequest(
            "credential.id must be the base64url encoding of credential.rawId.",
        ))
    }
}

/// The configured engine shared by all requests of one `Passkeys` service.
pub(crate) struct Engine {
    pub(crate) core: WebauthnCore,
    pub(crate) config: PasskeyConfig,
    /// Keys derived from the server secret (fake ids and transports, new users' handles).
    pub(crate) secret: secret::ServerSecret,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) audit: Arc<dyn audit::DynAuditSink>,
    /// Names for `CredentialView.authenticator` and default device names.
    pub(crate) names: crate::aaguid::AuthenticatorNames,
    /// Which optional metric labels this service adds.
    pub(crate) metrics: crate::metrics::Options,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rp_id", &self.config.rp_id)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn new(
        config: PasskeyConfig,
        server_secret: &[u8],
        clock: Arc<dyn Clock>,
        audit: Arc<dyn audit::DynAuditSink>,
    ) -> Self {
        let origins = config
            .origins
            .iter()
            .filter_map(|o| match o {
                Origin::Web(url) => Some(url.clone()),
                Origin::Android(s) => url::Url::parse(s).ok(),
            })
            .collect();
        let core = WebauthnCore::new_unsafe_experts_only(
            &config.rp_name,
            &config.rp_id,
            origins,
            config.timeout,
            Some(config.allow_subdomains),
            Some(false),
        );
        Self {
            core,
            config,
            secret: secret::ServerSecret::new(server_secret),
            clock,
            audit,
            names: crate::aaguid::AuthenticatorNames::default(),
            metrics: crate::metrics::Options::default(),
        }
    }

    /// The fake credential ids of an unknown user. The generator is keyed with the 32-byte key
    /// derived from the server secret, a length webauthn-rs always accepts (16 to 64 bytes), so
    /// building it cannot fail in practice; were it to, the request is answered 500.
    pub(crate) fn fake_ids(
        &self,
        user_id: &str,
    ) -> Result<Vec<webauthn_rs_core::proto::CredentialID>, PasskeyError> {
        WebauthnFakeCredentialGenerator::<AtLeastOne>::new(self.secret.fake_id_key())
            .and_then(|generator| generator.generate(user_id.as_bytes()))
            .map_err(|e| PasskeyError::Configuration(Box::new(e)))
    }

    pub(crate) fn uv_policy(&self) -> UserVerificationPolicy {
        match self.config.user_verification {
            UserVerification::Required => UserVerificationPolicy::Required,
            UserVerification::Preferred => UserVerificationPolicy::Preferred,
            UserVerification::Discouraged => UserVerificationPolicy::Discouraged_DO_NOT_USE,
        }
    }

    pub(crate) fn event(&self, kind: AuditEventKind) -> AuditEvent {
        AuditEvent::new(kind, self.clock.now())
    }

    /// Sends one event to the sink, logging (not propagating) its failure.
    pub(crate) async fn emit(&self, event: AuditEvent) {
        audit::emit(self.audit.as_ref(), event).await;
    }

    /// Stores a ceremony payload under a fresh random handle and returns the handle. The record
    /// is bound to this service's rp id, to `ceremony` and to `user_id` (the user the ceremony
    /// is for, if known).
    pub(crate) async fn save<S: ChallengeStore, P: Serialize>(
        &self,
        store: &S,
        ceremony: Ceremony,
        user_id: Option<&str>,
        payload: &P,
    ) -> Result<String, PasskeyError> {
        let payload =
            serde_json::to_string(payload).map_err(|e| PasskeyError::Configuration(Box::new(e)))?;
        let now = self.clock.now();
        let ttl = chrono::Duration::from_std(self.config.challenge_ttl)
            .map_err(|e| PasskeyError::Configuration(Box::new(e)))?;
        let record = ChallengeRecord {
            ceremony,
            rp_id: self.config.rp_id.clone(),
            user_id: user_id.map(str::to_owned),
            payload,
            created_at: now,
            expires_at: now + ttl,
        };
        let handle = new_handle();
        store
            .put(&handle, record)
            .await
            .map_err(PasskeyError::store)?;
        Ok(handle)
    }
}

/// One ceremony step on an [`Engine`]: it collects the step's audit events, which
/// [`flush`](Self::flush) hands to the app's [`AuditSink`](crate::hooks::AuditSink) when the step is
/// over (the sink is async; the checks in between stay synchronous).
pub(crate) struct Step<'a> {
    engine: &'a Engine,
    events: std::sync::Mutex<Vec<AuditEvent>>,
    /// The stored credential the step was about, for its metric labels.
    credential: std::sync::Mutex<Option<crate::metrics::CredentialLabels>>,
}

impl std::ops::Deref for Step<'_> {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        self.engine
    }
}

/// A step dropped before its [`flush`](Step::flush) (the request was cancelled at an await)
/// still leaves its events in the log, as [`LogAuditSink`](crate::hooks::LogAuditSink) writes
/// them: an audit trail must not lose a `clone_suspected` to a client that hung up.
impl Drop for Step<'_> {
    fn drop(&mut self) {
        let events = self
            .events
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for event in events.drain(..) {
            audit::log_event(&event);
        }
    }
}

/// An audit event being handed to the sink: written to the log if the hand-over is cancelled.
struct InFlight(Option<AuditEvent>);

impl InFlight {
    /// The sink has answered (a failing sink was logged by `emit`): nothing to write.
    fn delivered(mut self) {
        self.0 = None;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(event) = self.0.take() {
            audit::log_event(&event);
        }
    }
}

impl<'a> Step<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        Self {
            engine,
            events: std::sync::Mutex::new(Vec::new()),
            credential: std::sync::Mutex::new(None),
        }
    }

    /// Notes the stored credential this step is about (its metric labels, for a step that
    /// fails after finding it).
    pub(crate) fn about(&self, credential: &crate::model::Credential) {
        *self
            .credential
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some(crate::metrics::CredentialLabels::of(credential));
    }

    /// The credential noted with [`about`](Self::about), if any.
    pub(crate) fn credential_labels(&self) -> Option<crate::metrics::CredentialLabels> {
        *self
            .credential
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records an audit event of this step.
    pub(crate) fn audit(&self, event: AuditEvent) {
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(event);
    }

    /// Hands the step's events, in order, to the sink (a failing sink is logged).
    ///
    /// One event at a time: if the request is cancelled while the sink takes one, that event
    /// (held by an [`InFlight`] guard) and the ones still queued in the step are written to the
    /// log on drop, so a client that hangs up during a slow sink loses no audit event.
    pub(crate) async fn flush(self) {
        loop {
            let next = {
                let mut events = self
                    .events
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                (!events.is_empty()).then(|| events.remove(0))
            };
            let Some(event) = next else { break };
            let in_flight = InFlight(Some(event));
            if let Some(event) = &in_flight.0 {
                audit::emit_ref(self.engine.audit.as_ref(), event).await;
            }
            in_flight.delivered();
        }
    }

    /// Audits a failed ceremony step (`kind` is the ceremony's `*_failed` event) and passes
    /// the error through.
    pub(crate) fn fail(
        &self,
        kind: AuditEventKind,
        user_id: Option<&str>,
        cred_id: Option<String>,
        err: PasskeyError,
    ) -> PasskeyError {
        self.audit(
            self.event(kind)
                .user(user_id)
                .credential(cred_id)
                .reason(err.code().as_str()),
        );
        err
    }

    /// Consumes the handle (single use, whatever the outcome) and returns its payload if it is
    /// for `ceremony` on this service's rp id and not expired.
    pub(crate) async fn consume<S: ChallengeStore, P: DeserializeOwned>(
        &self,
        store: &S,
        handle: &str,
        ceremony: Ceremony,
    ) -> Result<P, PasskeyError> {
        self.consume_bound(store, handle, ceremony, None).await
    }

    /// [`Step::consume`], also requiring (when `user_id` is given) that the ceremony was
    /// begun for that user. Any mismatch (ceremony, rp id, user) is `challenge_not_found`:
    /// the handle names no ceremony of this tenant for this user.
    pub(crate) async fn consume_bound<S: ChallengeStore, P: DeserializeOwned>(
        &self,
        store: &S,
        handle: &str,
        ceremony: Ceremony,
        user_id: Option<&str>,
    ) -> Result<P, PasskeyError> {
        if handle.is_empty() || handle.len() > 128 {
            return Err(PasskeyError::ChallengeNotFound);
        }
        let record = store
            .take(handle)
            .await
            .map_err(PasskeyError::store)?
            .ok_or(PasskeyError::ChallengeNotFound)?;
        if record.ceremony != ceremony || record.rp_id != self.engine.config.rp_id {
            return Err(PasskeyError::ChallengeNotFound);
        }
        if user_id.is_some_and(|u| record.user_id.as_deref() != Some(u)) {
            return Err(PasskeyError::ChallengeNotFound);
        }
        if self.engine.clock.now() >= record.expires_at {
            self.audit(self.event(AuditEventKind::ChallengeExpired));
            return Err(PasskeyError::ChallengeExpired);
        }
        serde_json::from_str(&record.payload).map_err(|_| PasskeyError::ChallengeNotFound)
    }
}

/// webauthn-rs's realistic distribution of fake credential ids, except that it never answers
/// none: here a user without usable passkeys also gets fakes, so an empty list would reveal
/// that the user is unknown.
pub(crate) struct AtLeastOne;

impl FakeCredentialIDDistribution for AtLeastOne {
    fn generate<R: rand::Rng>(seeded_rng: &mut R) -> Vec<Vec<u8>> {
        let mut ids = FakePasskeyDistribution::generate(seeded_rng);
        if ids.is_empty() {
            let mut id = vec![0u8; G_PIXEL_CRED_LEN];
            seeded_rng.fill_bytes(&mut id);
            ids.push(id);
        }
        ids
    }
}

/// A fresh state handle: 256 random bits, base64url.
pub(crate) fn new_handle() -> String {
    let mut bytes = [0u8; HANDLE_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    crate::model::b64url(&bytes)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::{
        audit::NoopAuditSink,
        clock::SystemClock,
        store::{memory::MemoryChallengeStore, ChallengeRecord},
    };

    const SECRET: &[u8] = b"ceremony unit tests' server secret";

    fn engine() -> Engine {
        let config = PasskeyConfig::builder("example.com", "Example")
            .origin("https://example.com")
            .build()
            .expect("config");
        Engine::new(
            config,
            SECRET,
            Arc::new(SystemClock),
            Arc::new(NoopAuditSink),
        )
    }

    /// A challenge store that counts the handles it is asked to take.
    #[derive(Default)]
    struct CountingTakes {
        inner: MemoryChallengeStore,
        takes: AtomicUsize,
    }

    impl ChallengeStore for CountingTakes {
        type Error = <MemoryChallengeStore as ChallengeStore>::Error;

        async fn put(&self, handle: &str, record: ChallengeRecord) -> Result<(), Self::Error> {
            self.inner.put(handle, record).await
        }

        async fn take(&self, handle: &str) -> Result<Option<ChallengeRecord>, Self::Error> {
            self.takes.fetch_add(1, Ordering::SeqCst);
            self.inner.take(handle).await
        }
    }

    /// An empty handle or one longer than any this crate issues (43 characters; 128 allowed)
    /// names no ceremony and is refused before the store is asked.
    #[actix_rt::test]
    async fn malformed_handles_never_reach_the_store() {
        let engine = engine();
        let store = CountingTakes::default();
        let cases = [
            (String::new(), false),
            ("a".repeat(129), false),
            ("a".repeat(4096), false),
            ("a".repeat(128), true),
            (new_handle(), true),
        ];
        for (handle, looked_up) in cases {
            let before = store.takes.load(Ordering::SeqCst);
            let got = Step::new(&engine)
                .consume::<_, serde_json::Value>(&store, &handle, Ceremony::Authentication)
                .await;
            assert!(
                matches!(got, Err(PasskeyError::ChallengeNotFound)),
                "{got:?}"
            );
            let asked = store.takes.load(Ordering::SeqCst) - before;
            assert_eq!(asked, usize::from(looked_up), "{} characters", handle.len());
        }
    }

    /// The engine's `Debug` (part of `Passkeys`' own) names the tenant and shows nothing of the
    /// server secret or the keys derived from it.
    #[test]
    fn engine_debug_names_the_rp_id_and_hides_the_secret() {
        let engine = engine();
        let shown = format!("{engine:?}");
        assert!(shown.starts_with("Engine {"), "{shown}");
        assert!(shown.contains("rp_id: \"example.com\""), "{shown}");
        assert!(!shown.contains("ceremony unit tests"), "{shown}");
        assert!(
            !shown.contains(&format!("{:?}", engine.secret.fake_id_key())),
            "{shown}"
        );
    }

    /// The log lines of this test binary (a logger of its own: nothing else here sets one).
    fn log_lines() -> &'static std::sync::Mutex<Vec<String>> {
        static LINES: std::sync::OnceLock<std::sync::Mutex<Vec<String>>> =
            std::sync::OnceLock::new();
        struct Capture;
        impl log::Log for Capture {
            fn enabled(&self, _: &log::Metadata<'_>) -> bool {
                true
            }
            fn log(&self, record: &log::Record<'_>) {
                if let Some(lines) = LINES.get() {
                    lines
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(record.args().to_string());
                }
            }
            fn flush(&self) {}
        }
        let lines = LINES.get_or_init(Default::default);
        if log::set_logger(&Capture).is_ok() {
            log::set_max_level(log::LevelFilter::Info);
        }
        lines
    }

    /// A sink that never answers.
    #[derive(Debug)]
    struct Stuck;
    impl crate::hooks::AuditSink for Stuck {
        type Error = std::io::Error;
        async fn emit(&self, _: &AuditEvent) -> Result<(), std::io::Error> {
            std::future::pending().await
        }
    }

    /// A request cancelled while the sink is taking its events (a client that hangs up while a
    /// slow sink writes) loses none of them: the event in flight and the ones after it are
    /// written to the log.
    #[actix_rt::test]
    async fn a_step_cancelled_during_its_flush_logs_the_rest() {
        let lines = log_lines();
        let config = PasskeyConfig::builder("example.com", "Example")
            .origin("https://example.com")
            .build()
            .expect("config");
        let engine = Engine::new(config, SECRET, Arc::new(SystemClock), Arc::new(Stuck));
        let step = Step::new(&engine);
        for user in ["in-flight-user", "queued-user"] {
            step.audit(
                engine
                    .event(AuditEventKind::CloneSuspected)
                    .user(Some(user)),
            );
        }
        let flush = step.flush();
        let cancelled = tokio::time::timeout(std::time::Duration::from_millis(50), flush).await;
        assert!(cancelled.is_err(), "the stuck sink never answered");
        let lines = lines.lock().unwrap();
        for user in ["in-flight-user", "queued-user"] {
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with(&format!("clone_suspected user={user}"))),
                "{user}: {lines:?}"
            );
        }
    }

    /// A step dropped before its flush (a cancelled request) does not lose its events: they
    /// are written to the log as `LogAuditSink` writes them. Flushed events go to the sink only.
    #[actix_rt::test]
    async fn a_step_dropped_before_its_flush_logs_its_events() {
        let lines = log_lines();
        let engine = engine();
        let step = Step::new(&engine);
        step.audit(
            engine
                .event(AuditEventKind::CloneSuspected)
                .user(Some("dropped-step-user")),
        );
        drop(step);
        let step = Step::new(&engine);
        step.audit(
            engine
                .event(AuditEventKind::CloneSuspected)
                .user(Some("flushed-step-user")),
        );
        step.flush().await;
        let lines = lines.lock().unwrap();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("clone_suspected user=dropped-step-user")),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("flushed-step-user")),
            "the sink (Noop) got it: {lines:?}"
        );
    }
}
