//! A software passkey authenticator + client (1Password's `passkey` crate).

use passkey::{
    authenticator::{
        extensions::HmacSecretConfig, Authenticator, UiHint, UserCheck, UserValidationMethod,
    },
    client::{Client, ClientData, DefaultClientData},
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
    /// `Some(top)`: the client runs in a cross-origin iframe (`crossOrigin: true`, `topOrigin`).
    cross_origin: Option<Option<String>>,
    /// The authenticator has `hmac-secret`: the client answers the `prf` extension.
    prf: bool,
}

/// Client data signed instead of the client's own: its hash is what the authenticator signs,
/// and the caller puts the JSON into the response.
struct FramedClientData(Vec<u8>);

impl ClientData<()> for FramedClientData {
    fn extra_client_data(&self) {}

    fn client_data_hash(&self) -> Option<Vec<u8>> {
        use sha2::{Digest as _, Sha256};
        Some(Sha256::digest(&self.0).to_vec())
    }
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("origin", &self.origin.as_str())
            .finish_non_exhaustive()
    }
}

fn client(store: Option<Passkey>, counter: bool) -> PkClient {
    client_of(Aaguid::new_empty(), store, counter, false)
}

/// A client over an authenticator with `aaguid` and `store`; `counter`: signature counters;
/// `prf`: the `hmac-secret` extension (the client answers `prf` with it), evaluated at
/// creation too.
fn client_of(aaguid: Aaguid, store: Option<Passkey>, counter: bool, prf: bool) -> PkClient {
    let mut authenticator = Authenticator::new(aaguid, store, AlwaysVerified, RustCryptoBackend);
    if prf {
        authenticator = authenticator
            .hmac_secret(HmacSecretConfig::new_with_uv_only().enable_on_make_credential());
    }
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
            cross_origin: None,
            prf: false,
        })
    }

    /// Makes passkeys created from now on counterless (they always report sign count 0).
    #[must_use]
    pub fn without_sign_count(mut self) -> Self {
        let authenticator = self.client.authenticator();
        let (aaguid, store) = (*authenticator.aaguid(), authenticator.store().clone());
        self.client = client_of(aaguid, store, false, self.prf);
        self
    }

    /// Gives the authenticator the CTAP2 `hmac-secret` extension, so the client answers the
    /// WebAuthn [`prf` extension](https://w3c.github.io/webauthn/#prf-extension) as a browser
    /// does: `prf.enabled: true` (and `prf.results` for an `eval`) at registration, and
    /// `prf.results` for the credential's `evalByCredential` salt at sign-in. The output is the
    /// same for the same passkey and salt, and differs for another salt or passkey.
    ///
    /// ```
    /// use actix_passkeys::testing::SoftAuthenticator;
    /// let authenticator = SoftAuthenticator::new("http://localhost:8080")?.with_prf();
    /// # let _ = authenticator;
    /// # Ok::<(), actix_passkeys::testing::SoftAuthenticatorError>(())
    /// ```
    #[must_use]
    pub fn with_prf(mut self) -> Self {
        let authenticator = self.client.authenticator();
        let (aaguid, store, counter) = (
            *authenticator.aaguid(),
            authenticator.store().clone(),
            authenticator.make_credentials_with_signature_counter(),
        );
        self.prf = true;
        self.client = client_of(aaguid, store, counter, true);
        self
    }

    /// Reports `aaguid` as the authenticator model (default: all zeros, "unknown model") in the
    /// passkeys it creates from now on.
    ///
    /// ```
    /// use actix_passkeys::testing::SoftAuthenticator;
    /// let yubikey = uuid::uuid!("cb69481e-8ff7-4039-93ec-0a2729a154a8");
    /// let authenticator = SoftAuthenticator::new("http://localhost:8080")?.with_aaguid(yubikey);
    /// # let _ = authenticator;
    /// # Ok::<(), actix_passkeys::testing::SoftAuthenticatorError>(())
    /// ```
    #[must_use]
    pub fn with_aaguid(mut self, aaguid: uuid::Uuid) -> Self {
        let authenticator = self.client.authenticator();
        let (store, counter) = (
            authenticator.store().clone(),
            authenticator.make_credentials_with_signature_counter(),
        );
        self.client = client_of(Aaguid::from(*aaguid.as_bytes()), store, counter, self.prf);
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

    /// Runs the client in a cross-origin iframe from now on: its client data says
    /// `"crossOrigin": true` and, when `top_origin` is given, `"topOrigin": top_origin` (the
    /// origin of the top-level page, as WebAuthn Level 3 browsers report it). The client data is
    /// signed as usual, so the server sees exactly what such a browser would send.
    ///
    /// ```
    /// use actix_passkeys::testing::SoftAuthenticator;
    /// let framed = SoftAuthenticator::new("https://login.example.com")?
    ///     .in_cross_origin_frame(Some("https://shop.example.net"));
    /// # let _ = framed;
    /// # Ok::<(), actix_passkeys::testing::SoftAuthenticatorError>(())
    /// ```
    #[must_use]
    pub fn in_cross_origin_frame(mut self, top_origin: Option<&str>) -> Self {
        self.cross_origin = Some(top_origin.map(str::to_owned));
        self
    }

    /// The client data a cross-origin frame sends, when the client runs in one.
    fn framed_client_data(
        &self,
        type_: &str,
        public_key: &Value,
    ) -> Result<Option<Vec<u8>>, SoftAuthenticatorError> {
        let Some(top) = &self.cross_origin else {
            return Ok(None);
        };
        let challenge = public_key["challenge"]
            .as_str()
            .ok_or_else(|| SoftAuthenticatorError("options without a challenge".into()))?;
        let mut cd = json!({
            "type": type_,
            "challenge": challenge,
            "origin": self.origin.origin().ascii_serialization(),
            "crossOrigin": true,
        });
        if let Some(top) = top {
            cd["topOrigin"] = json!(top);
        }
        serde_json::to_vec(&cd).map(Some).map_err(err)
    }

    /// Puts the framed client data (if any) into a response's JSON.
    fn with_client_data(
        mut response: Value,
        client_data: Option<Vec<u8>>,
    ) -> Result<Value, SoftAuthenticatorError> {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
        if let Some(cd) = client_data {
            let slot = response
                .pointer_mut("/response/clientDataJSON")
                .ok_or_else(|| SoftAuthenticatorError("response without client data".into()))?;
            *slot = json!(URL_SAFE_NO_PAD.encode(cd));
        }
        Ok(response)
    }

    /// A second authenticator holding a copy of this one's key and counter: a clone.
    pub fn duplicate(&self) -> Self {
        Self {
            client: client_of(
                *self.client.authenticator().aaguid(),
                self.client.authenticator().store().clone(),
                true,
                self.prf,
            ),
            origin: self.origin.clone(),
            skip_user_verification: self.skip_user_verification,
            cross_origin: self.cross_origin.clone(),
            prf: self.prf,
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
        let framed = self.framed_client_data("webauthn.create", public_key)?;
        let created = match &framed {
            Some(cd) => self
                .client
                .register(&self.origin, request, FramedClientData(cd.clone()))
                .await
                .map_err(err)?,
            None => self
                .client
                .register(&self.origin, request, DefaultClientData)
                .await
                .map_err(err)?,
        };
        Self::with_client_data(serde_json::to_value(&created).map_err(err)?, framed)
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
        let framed = self.framed_client_data("webauthn.get", public_key)?;
        let asserted = match &framed {
            Some(cd) => self
                .client
                .authenticate(&self.origin, request, FramedClientData(cd.clone()))
                .await
                .map_err(err)?,
            None => self
                .client
                .authenticate(&self.origin, request, DefaultClientData)
                .await
                .map_err(err)?,
        };
        Self::with_client_data(serde_json::to_value(&asserted).map_err(err)?, framed)
    }
}

/// Everything an assertion says, for hand-made (forged but validly signed) assertions in
/// negative tests: flags, counter, origin, type and challenge are yours to choose.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssertionSpec {
    /// The rp id whose SHA-256 goes into the authenticator data.
    pub rp_id: String,
    /// `clientDataJSON.origin`.
    pub origin: String,
    /// `clientDataJSON.type` (normally `webauthn.get`).
    pub type_: String,
    /// `clientDataJSON.challenge` (base64url, as in the request options).
    pub challenge: String,
    /// Authenticator data flags (UP 0x01, UV 0x04, BE 0x08, BS 0x10).
    pub flags: u8,
    /// The signature counter.
    pub counter: u32,
    /// `response.userHandle`.
    pub user_handle: Option<Vec<u8>>,
    /// `clientDataJSON.crossOrigin` (`false` unless set).
    pub cross_origin: bool,
    /// `clientDataJSON.topOrigin`, left out when `None`.
    pub top_origin: Option<String>,
}

impl AssertionSpec {
    /// A well-formed spec for `challenge` at `origin` / `rp_id`, flags UP|UV|BE|BS.
    pub fn new(rp_id: &str, origin: &str, challenge: &str) -> Self {
        Self {
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
            type_: "webauthn.get".to_owned(),
            challenge: challenge.to_owned(),
            flags: 0x01 | 0x04 | 0x08 | 0x10,
            counter: 1,
            user_handle: None,
            cross_origin: false,
            top_origin: None,
        }
    }
}

impl SoftAuthenticator {
    /// The held passkey's user handle.
    pub fn user_handle(&self) -> Option<Vec<u8>> {
        self.client
            .authenticator()
            .store()
            .as_ref()
            .and_then(|p| p.user_handle.as_ref().map(|h| h.to_vec()))
    }

    /// Signs an assertion built from `spec` with the held passkey's private key (ES256) and
    /// returns the `AuthenticationResponseJSON`. Nothing is checked: this is for proving that
    /// the server refuses what a real authenticator would never send.
    pub fn forge_assertion(&self, spec: &AssertionSpec) -> Result<Value, SoftAuthenticatorError> {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
        use sha2::{Digest as _, Sha256};

        let credential_id = self
            .credential_id()
            .ok_or_else(|| SoftAuthenticatorError("no passkey held".into()))?;
        let mut auth_data = Sha256::digest(spec.rp_id.as_bytes()).to_vec();
        auth_data.push(spec.flags);
        auth_data.extend_from_slice(&spec.counter.to_be_bytes());
        let mut client_data = json!({
            "type": spec.type_,
            "challenge": spec.challenge,
            "origin": spec.origin,
            "crossOrigin": spec.cross_origin,
        });
        if let Some(top) = &spec.top_origin {
            client_data["topOrigin"] = json!(top);
        }
        let client_data = serde_json::to_vec(&client_data).map_err(err)?;
        let signature = self.sign(&auth_data, &client_data)?;
        let id = URL_SAFE_NO_PAD.encode(credential_id);
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        Ok(json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(&signature),
                "userHandle": spec.user_handle.as_deref().map(b64),
            },
            "clientExtensionResults": {},
        }))
    }

    /// Signs `authenticatorData ‖ SHA-256(clientDataJSON)` with the held passkey's private key
    /// (ES256) and returns the DER signature: the building block for assertions whose bytes a
    /// test or fuzzer chooses itself (extension data, extra client data keys, odd lengths).
    ///
    /// ```
    /// # actix_rt::System::new().block_on(async {
    /// let auth = actix_passkeys::testing::SoftAuthenticator::new("http://localhost:8080")?;
    /// assert!(auth.sign(b"auth data", b"{}").is_err(), "no passkey held yet");
    /// # Ok::<(), actix_passkeys::testing::SoftAuthenticatorError>(())
    /// # }).unwrap();
    /// ```
    pub fn sign(
        &self,
        authenticator_data: &[u8],
        client_data_json: &[u8],
    ) -> Result<Vec<u8>, SoftAuthenticatorError> {
        use p256::ecdsa::{signature::Signer as _, Signature, SigningKey};
        use passkey::crypto::coset::{cbor::Value as Cbor, Label};
        use sha2::{Digest as _, Sha256};

        let passkey = self
            .client
            .authenticator()
            .store()
            .as_ref()
            .ok_or_else(|| SoftAuthenticatorError("no passkey held".into()))?;
        let d = passkey
            .key
            .params
            .iter()
            .find_map(|(label, value)| match (label, value) {
                (Label::Int(-4), Cbor::Bytes(d)) => Some(d.clone()),
                _ => None,
            })
            .ok_or_else(|| SoftAuthenticatorError("not a P-256 private key".into()))?;
        let key = SigningKey::from_slice(&d).map_err(err)?;
        let mut signed = authenticator_data.to_vec();
        signed.extend_from_slice(&Sha256::digest(client_data_json));
        let signature: Signature = key.sign(&signed);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}
