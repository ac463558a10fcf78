//! The WebAuthn `prf` extension through the real routes, with the software authenticator's
//! `hmac-secret` (`SoftAuthenticator::with_prf`): what the begins ask for, what is stored and
//! listed, the per-credential salts and their rotation, and the outputs the client computes.

use actix_passkeys::{store::CredentialStore as _, testing::SoftAuthenticator, Passkeys};
use serde_json::{json, Value};

use crate::fixtures::*;

/// The app with PRF on, and its handle (for `rotate_prf_salt`).
async fn prf_app<B: Backend>(
    ctx: &Ctx<B>,
) -> (
    Passkeys,
    TestApp<
        impl actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
            Error = actix_web::Error,
        >,
    >,
) {
    let passkeys = ctx
        .builder(config().prf(true).build().unwrap())
        .build()
        .unwrap();
    (passkeys.clone(), ctx.app_with(passkeys).await)
}

/// The PRF output the client put into its response (`clientExtensionResults.prf.results.first`).
fn output(credential: &Value) -> Option<String> {
    credential["clientExtensionResults"]["prf"]["results"]["first"]
        .as_str()
        .map(str::to_owned)
}

/// Begin (usernameless or for `user`) + the authenticator: the begin's `publicKey` and the
/// finish body.
async fn signed<T, Bd>(
    app: &mut TestApp<T>,
    auth: &mut SoftAuthenticator,
    user: Option<&str>,
) -> (Value, Value)
where
    T: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<Bd>,
        Error = actix_web::Error,
    >,
    Bd: actix_web::body::MessageBody,
{
    let begin = app.auth_begin(user).await;
    let credential = auth.sign_in(&begin["publicKey"]).await.unwrap();
    let body = json!({ "credential": credential, "state": begin["state"] });
    (begin["publicKey"].clone(), body)
}

/// Off (the default): no `prf` in either begin, nothing recorded, `prfEnabled: false`, even for
/// an authenticator that has the extension.
pub async fn prf_is_off_by_default<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let mut app = ctx.app().await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap().with_prf();
    app.signup("ann").await;
    let begin = app.post_empty("/auth/passkeys/register/begin").await;
    let extensions = &begin.assert_ok()["publicKey"]["extensions"];
    assert_eq!(extensions, &json!({"credProps": true}));
    app.register(&mut auth, None).await.assert_ok();
    let stored = &ctx.creds.list_for_user("ann").await.unwrap()[0];
    assert!(
        !stored.prf_enabled && stored.prf_salt.is_none(),
        "{stored:?}"
    );
    let begin = app.auth_begin(Some("ann")).await;
    assert!(
        begin["publicKey"]["extensions"].get("prf").is_none(),
        "{begin}"
    );
    let list = app.get("/auth/passkeys/credentials").await;
    assert_eq!(list.assert_ok()[0]["prfEnabled"], json!(false));
}

/// On: `register/begin` asks for PRF with an `eval` of a fresh 32-byte salt next to
/// `credProps`; a client that says `prf.enabled` gets the credential stored with PRF and that
/// salt; the listing says `prfEnabled`, next to every field it had.
pub async fn prf_registration_asks_and_records_support<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let (_, mut app) = prf_app(&ctx).await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap().with_prf();
    app.signup("ann").await;
    let begin = app.post_empty("/auth/passkeys/register/begin").await;
    let begin = begin.assert_ok().clone();
    let extensions = &begin["publicKey"]["extensions"];
    let salt = extensions["prf"]["eval"]["first"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(unb64(&salt).len(), 32);
    assert_eq!(
        extensions,
        &json!({"credProps": true, "prf": {"eval": {"first": salt}}})
    );
    let again = app.post_empty("/auth/passkeys/register/begin").await;
    assert_ne!(
        again.assert_ok()["publicKey"]["extensions"]["prf"]["eval"]["first"],
        json!(salt),
        "a new salt per registration"
    );
    let credential = auth.register(&begin["publicKey"]).await.unwrap();
    assert_eq!(
        credential["clientExtensionResults"]["prf"]["enabled"],
        json!(true)
    );
    let finish = json!({ "credential": credential, "state": begin["state"] });
    app.post("/auth/passkeys/register/finish", finish)
        .await
        .assert_ok();
    let stored = &ctx.creds.list_for_user("ann").await.unwrap()[0];
    assert!(stored.prf_enabled);
    assert_eq!(
        stored.prf_salt.as_ref().map(|s| s.as_bytes().to_vec()),
        Some(unb64(&salt))
    );
    let list = app.get("/auth/passkeys/credentials").await;
    let view = &list.assert_ok()[0];
    let mut keys: Vec<&str> = view
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "authenticator",
            "backupEligible",
            "backupState",
            "createdAt",
            "deviceName",
            "disabled",
            "id",
            "lastUsedAt",
            "prfEnabled",
            "transports",
            "userVerified"
        ]
    );
    assert_eq!(view["prfEnabled"], json!(true));
}

/// A client without PRF (no `prf` in its results, or `enabled: false`) is stored without PRF
/// and without a salt.
pub async fn prf_unsupported_by_the_client_is_recorded_as_such<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let (_, mut app) = prf_app(&ctx).await;
    app.signup("ann").await;
    let mut plain = SoftAuthenticator::new(ORIGIN).unwrap();
    app.register(&mut plain, None).await.assert_ok();
    app.signup("bob").await;
    let mut denied = SoftAuthenticator::new(ORIGIN).unwrap();
    let mut body = app.registration(&mut denied, None).await;
    body["credential"]["clientExtensionResults"]["prf"] = json!({"enabled": false});
    app.post("/auth/passkeys/register/finish", body)
        .await
        .assert_ok();
    for user in ["ann", "bob"] {
        let stored = &ctx.creds.list_for_user(user).await.unwrap()[0];
        assert!(!stored.prf_enabled && stored.prf_salt.is_none(), "{user}");
    }
}

/// A username-first begin sends `evalByCredential` with the stored salt of each of the
/// user's PRF credentials and a derived one for the others (so PRF support does not show); a
/// usernameless begin knows no credentials and sends no PRF input at all.
pub async fn sign_in_begin_sends_the_salts_of_prf_credentials<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let (_, mut app) = prf_app(&ctx).await;
    let mut with_prf = SoftAuthenticator::new(ORIGIN).unwrap().with_prf();
    let mut without = SoftAuthenticator::new(ORIGIN).unwrap();
    app.signup("ann").await;
    app.register(&mut with_prf, None).await.assert_ok();
    app.sign_in(&mut with_prf, Some("ann")).await.assert_ok();
    app.register(&mut without, None).await.assert_ok();
    let creds = ctx.creds.list_for_user("ann").await.unwrap();
    let prf_cred = creds.iter().find(|c| c.prf_enabled).unwrap();
    let salt = b64(prf_cred.prf_salt.as_ref().unwrap().as_bytes());
    let begin = app.auth_begin(Some("ann")).await;
    assert_eq!(
        begin["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Every allowed credential has a salt (the other one's derived, stable between begins),
    // so the answer does not tell which passkeys support PRF.
    let by_credential = begin["publicKey"]["extensions"]["prf"]["evalByCredential"]
        .as_object()
        .unwrap();
    assert_eq!(by_credential.len(), 2, "{begin}");
    assert_eq!(by_credential[&prf_cred.id_b64()], json!({"first": salt}));
    let other = creds.iter().find(|c| !c.prf_enabled).unwrap();
    let derived = &by_credential[&other.id_b64()]["first"];
    assert_eq!(unb64(derived.as_str().unwrap()).len(), 32);
    assert_ne!(derived, &json!(salt));
    let again = app.auth_begin(Some("ann")).await;
    assert_eq!(
        again["publicKey"]["extensions"]["prf"]["evalByCredential"][&other.id_b64()]["first"],
        *derived
    );
    let usernameless = app.auth_begin(None).await;
    assert!(
        usernameless["publicKey"]["extensions"].get("prf").is_none(),
        "{usernameless}"
    );
}

/// The same passkey and salt give the same PRF output on every sign-in; after
/// `rotate_prf_salt` the begin sends another salt and the output differs; another passkey's
/// output differs too. `rotate_prf_salt` changes only the owner's PRF credential.
pub async fn prf_output_is_stable_per_salt_and_changes_on_rotation<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let (passkeys, mut app) = prf_app(&ctx).await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap().with_prf();
    app.signup("ann").await;
    app.register(&mut auth, None).await.assert_ok();
    let (first_begin, body) = signed(&mut app, &mut auth, Some("ann")).await;
    let first = output(&body["credential"]).expect("a PRF output at sign-in");
    assert_eq!(unb64(&first).len(), 32);
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_ok();
    let (_, body) = signed(&mut app, &mut auth, Some("ann")).await;
    assert_eq!(output(&body["credential"]).as_deref(), Some(first.as_str()));
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_ok();

    let id = auth.credential_id().unwrap();
    assert!(
        !passkeys.rotate_prf_salt("bob", &id).await.unwrap(),
        "not bob's"
    );
    assert!(!passkeys.rotate_prf_salt("ann", b"unknown").await.unwrap());
    assert!(passkeys.rotate_prf_salt("ann", &id).await.unwrap());
    let (begin, body) = signed(&mut app, &mut auth, Some("ann")).await;
    let key = b64(&id);
    assert_ne!(
        begin["extensions"]["prf"]["evalByCredential"][&key],
        first_begin["extensions"]["prf"]["evalByCredential"][&key]
    );
    let rotated = output(&body["credential"]).unwrap();
    assert_ne!(rotated, first, "a new salt gives a new output");
    app.post("/auth/passkeys/authenticate/finish", body)
        .await
        .assert_ok();

    // Another passkey (of another user) gives another output.
    app.logout().await;
    app.signup("bob").await;
    let mut other = SoftAuthenticator::new(ORIGIN).unwrap().with_prf();
    app.register(&mut other, None).await.assert_ok();
    let (_, body) = signed(&mut app, &mut other, Some("bob")).await;
    let others = output(&body["credential"]).unwrap();
    assert!(others != first && others != rotated);

    // A credential without PRF is not given a salt.
    app.logout().await;
    app.signup("cy").await;
    let mut plain = SoftAuthenticator::new(ORIGIN).unwrap();
    app.register(&mut plain, None).await.assert_ok();
    let plain_id = plain.credential_id().unwrap();
    assert!(!passkeys.rotate_prf_salt("cy", &plain_id).await.unwrap());
    assert!(ctx
        .creds
        .get(&plain_id)
        .await
        .unwrap()
        .unwrap()
        .prf_salt
        .is_none());
}

/// An unknown user's begin answers PRF salts for (most of) its fake ids, derived from the
/// server secret and stable across calls, shaped like a known user's: known and unknown users
/// still look alike.
pub async fn unknown_user_gets_stable_fake_prf_salts<B: Backend>() {
    let ctx = Ctx::<B>::new().await;
    let (_, mut app) = prf_app(&ctx).await;
    let one = app.auth_begin(Some("nobody")).await;
    let two = app.auth_begin(Some("nobody")).await;
    let prf = &one["publicKey"]["extensions"]["prf"];
    assert_eq!(prf, &two["publicKey"]["extensions"]["prf"]);
    let ids: Vec<&str> = one["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    // Many fake users: every fake entry carries a salt.
    let mut with = 0;
    let mut total = 0;
    for i in 0..40 {
        let name = format!("nobody-{i}");
        let begin = app.auth_begin(Some(name.as_str())).await;
        let allowed = begin["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .len();
        let salted = begin["publicKey"]["extensions"]["prf"]["evalByCredential"]
            .as_object()
            .map_or(0, |m| m.len());
        assert!(salted <= allowed);
        for (_, v) in begin["publicKey"]["extensions"]["prf"]["evalByCredential"]
            .as_object()
            .into_iter()
            .flatten()
        {
            assert_eq!(unb64(v["first"].as_str().unwrap()).len(), 32);
        }
        with += salted;
        total += allowed;
    }
    assert_eq!(
        with, total,
        "every fake entry has a salt, as every real one does"
    );
    if let Some(map) = prf["evalByCredential"].as_object() {
        assert!(map.keys().all(|k| ids.contains(&k.as_str())));
    }
}

crate::on_every_backend!(
    prf_is_off_by_default,
    prf_registration_asks_and_records_support,
    prf_unsupported_by_the_client_is_recorded_as_such,
    sign_in_begin_sends_the_salts_of_prf_credentials,
    prf_output_is_stable_per_salt_and_changes_on_rotation,
    unknown_user_gets_stable_fake_prf_salts,
);

/// The quickstart's `POST /prf/rotate` rotates the salt of the passkey the session signed in
/// with: 204 and a new salt; 404 `not_found` for a passkey without PRF; 401 signed out.
#[actix_rt::test]
async fn quickstart_rotates_the_signed_in_passkeys_salt() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx
        .builder(config().prf(true).build().unwrap())
        .build()
        .unwrap();
    let mut app = ctx
        .app_configured(crate::quickstart_app::routes(passkeys))
        .await;
    app.post_empty("/prf/rotate")
        .await
        .assert_error(401, "not_authenticated");
    app.signup("ann").await;
    let mut auth = SoftAuthenticator::new(ORIGIN).unwrap().with_prf();
    app.register(&mut auth, None).await.assert_ok();
    app.sign_in(&mut auth, Some("ann")).await.assert_ok();
    let id = auth.credential_id().unwrap();
    let before = ctx.creds.get(&id).await.unwrap().unwrap().prf_salt;
    let r = app.post_empty("/prf/rotate").await;
    assert_eq!(r.status.as_u16(), 204, "{:?}", r.body);
    let after = ctx.creds.get(&id).await.unwrap().unwrap().prf_salt;
    assert!(after.is_some() && after != before);

    app.logout().await;
    app.signup("bob").await;
    let mut plain = SoftAuthenticator::new(ORIGIN).unwrap();
    app.register(&mut plain, None).await.assert_ok();
    app.sign_in(&mut plain, Some("bob")).await.assert_ok();
    app.post_empty("/prf/rotate")
        .await
        .assert_error(404, "not_found");
}
