//! A software passkey authenticator + client (1Password's `passkey` crate).

use passkey::{
    authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod},
    client::{Client, DefaultClientData},
    crypto::rust_crypto::RustCryptoBackend,
    types::{ctap2::Aaguid, ctap2::Ctap2Error, webauthn as pkw, Passkey},
};
use serde_json::{json, Value};
use url::Url;

/// Why the software authenticator refused.
#[derive(Debug, derive_more::Display)]
#[display("software authenticator: {_0}")]
pub struct SoftAuthenticatorError(String);

impl std::error::Error for SoftAuthenticatorError {}

fn err(e: impl std::fmt::Debug) -> SoftAuthenticatorError {
    SoftAuthenticatorError(format!("{e:?}"))
}

/// A user who is always present and verified.
#[derive(Debug, Clone, Copy)]
struct AlwaysVerified;

#[async_trait::async_trait]
impl UserValidationMethod for AlwaysVerified {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification,
        })
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }
}

type PkClient =
    Client<Option<Passkey>, AlwaysVerified, RustCryptoBackend, public_suffix::PublicSuffixList, ()>;

/// A software authenticator holding one passkey, with a signature counter (0 at registration,
/// then 1, 2, …) and the BE/BS flags set (it looks like a synced passkey).
///
/// ```
/// use actix_passkeys::testing::SoftAuthenticator;
/// let authenticator = SoftAuthenticator::new("http://localhost:8080")?;
/// assert!(authenticator.credential_id().is_none());
/// # Ok::<(), actix_passkeys::testing::SoftAuthenticatorError>(())
/// ```
pub struct SoftAuthenticator {
    client: PkClient,
    origin: Url,
    skip_user_verification: bool,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("origin", &self.origin.as_str())
            .finish_non_exhaustive()
    }
}

fn client(store: Option<Passkey>, counter: bool) -> PkClient {
    let mut authenticator = Authenticator::new(
        Aaguid::new_empty(),
        store,
        AlwaysVerified,
        RustCryptoBackend,
    );
    authenticator.set_make_credentials_with_signature_counter(counter);
    Client::new(authenticator).allows_insecure_localhost(true)
}

impl SoftAuthenticator {
    /// An empty authenticator whose client runs at `origin` (e.g. `http://localhost:8080`).
    pub fn new(origin: &str) -> Result<Self, SoftAuthenticatorError> {
        Ok(Self {
            client: client(None, true),
            origin: Url::parse(origin).map_err(err)?,
            skip_user_verification: false,
        })
    }

    /// Makes passkeys created from now on counterless (they always report sign count 0).
    #[must_use]
    pub fn without_sign_count(mut self) -> Self {
        let store = self.client.authenticator().store().clone();
        self.client = client(store, false);
        self
    }

    /// Makes the client ignore the server's user-verification request (it asks the
    /// authenticator for presence only), as a tampered or careless client could.
    #[must_use]
    pub fn without_user_verification(mut self) -> Self {
        self.skip_user_verification = true;
        self
    }

    /// Runs the client at another origin (for origin checks).
    pub fn at_origin(mut self, origin: &str) -> Result<Self, SoftAuthenticatorError> {
        self.origin = Url::parse(origin).map_err(err)?;
        Ok(self)
    }

    /// A second authenticator holding a copy of this one's key and counter: a clone.
    pub fn duplicate(&self) -> Self {
        Self {
            client: client(self.client.authenticator().store().clone(), true),
            origin: self.origin.clone(),
            skip_user_verification: self.skip_user_verification,
        }
    }

    /// The credential id of the held passkey.
    pub fn credential_id(&self) -> Option<Vec<u8>> {
        self.client
            .authenticator()
            .store()
            .as_ref()
            .map(|p| p.credential_id.to_vec())
    }

    /// The held passkey's signature counter.
    pub fn sign_count(&self) -> Option<u32> {
        self.client
            .authenticator()
            .store()
            .as_ref()
            .and_then(|p| p.counter)
    }

    /// Sets the held passkey's signature counter (the next assertion reports `count + 1`).
    pub fn set_sign_count(&mut self, count: u32) {
        if let Some(p) = self.client.authenticator_mut().store_mut().as_mut() {
            p.counter = Some(count);
        }
    }

    fn patch_uv(&self, mut options: Value, pointer: &str) -> Value {
        if self.skip_user_verification {
            if let Some(uv) = options.pointer_mut(pointer) {
                *uv = json!("discouraged");
            }
        }
        options
    }

    /// Creates a passkey for the `publicKey` creation options of a `register/begin` answer and
    /// returns the `RegistrationResponseJSON` to send to `register/finish`.
    pub async fn register(&mut self, public_key: &Value) -> Result<Value, SoftAuthenticatorError> {
        let options = self.patch_uv(
            json!({ "publicKey": public_key }),
            "/publicKey/authenticatorSelection/userVerification",
        );
        let request: pkw::CredentialCreationOptions =
            serde_json::from_value(options).map_err(err)?;
        let created = self
            .client
            .register(&self.origin, request, DefaultClientData)
            .await
            .map_err(err)?;
        serde_json::to_value(&created).map_err(err)
    }

    /// Signs the `publicKey` request options of an `authenticate/begin` answer and returns the
    /// `AuthenticationResponseJSON` to send to `authenticate/finish`.
    pub async fn sign_in(&mut self, public_key: &Value) -> Result<Value, SoftAuthenticatorError> {
        let options = self.patch_uv(
            json!({ "publicKey": public_key }),
            "/publicKey/userVerification",
        );
        let request: pkw::CredentialRequestOptions =
            serde_json::from_value(options).map_err(err)?;
        let asserted = self
            .client
            .authenticate(&self.origin, request, DefaultClientData)
            .await
            .map_err(err)?;
        serde_json::to_value(&asserted).map_err(err)
    }
}
