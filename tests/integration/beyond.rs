//! Route tests of the features beyond the seed: Related Origin Requests (`/.well-known/webauthn`),
//! authenticator names, the OpenAPI document, Signal API payloads and conditional create.

use actix_passkeys::{wire::WELL_KNOWN_PATH, PasskeyConfig};
use serde_json::json;

use crate::fixtures::*;

fn authenticator() -> actix_passkeys::testing::SoftAuthenticator {
    actix_passkeys::testing::SoftAuthenticator::new(ORIGIN).unwrap()
}

fn related_config() -> PasskeyConfig {
    config()
        .origin("android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
        .related_origin("https://example.co.uk")
        .related_origin("https://shop.example.org")
        .build()
        .unwrap()
}

#[actix_rt::test]
async fn well_known_lists_the_web_origins_from_the_config() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(related_config()).build().unwrap();
    let mut app = ctx.app_configured(passkeys.configure()).await;
    let r = app.get(WELL_KNOWN_PATH).await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        r.body,
        json!({"origins": [ORIGIN, "https://example.co.uk", "https://shop.example.org"]})
    );
    assert_eq!(r.body["origins"], json!(passkeys.config().web_origins()));
    // Only GET and HEAD (405 in the envelope otherwise: `clients::` tests every document);
    // and the scope itself does not serve it.
    let r = app
        .send(actix_web::test::TestRequest::post().uri(WELL_KNOWN_PATH))
        .await;
    r.assert_error(405, "invalid_request");
    app.get("/auth/passkeys/.well-known/webauthn")
        .await
        .assert_error(404, "not_found");
}

#[actix_rt::test]
async fn well_known_service_mounts_alone() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(related_config()).build().unwrap();
    let wk = passkeys.well_known();
    let mut app = ctx
        .app_configured(move |cfg| {
            cfg.service(wk).service(passkeys);
        })
        .await;
    let r = app.get(WELL_KNOWN_PATH).await;
    assert_eq!(r.body["origins"].as_array().unwrap().len(), 3);
}

#[actix_rt::test]
async fn a_related_origin_signs_in_and_an_unlisted_one_does_not() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app2 = ctx
        .app_with(ctx.builder(related_config()).build().unwrap())
        .await;
    app2.signup("rose").await;
    let mut auth = authenticator();
    app2.register(&mut auth, None).await.assert_ok();
    app2.logout().await;
    for (origin, accepted) in [
        ("https://example.co.uk", true),
        ("https://shop.example.org", true),
        ("https://example.org", false),
        ("https://evil.example", false),
    ] {
        let r = app2.sign_in_from_origin(&mut auth, "rose", origin).await;
        if accepted {
            r.assert_ok();
        } else {
            r.assert_error(401, "assertion_verification_failed");
        }
    }
}

/// Inserts a copy of `user`'s first credential under a new id with the given AAGUID.
async fn insert_copy(
    ctx: &Ctx<Memory>,
    user: &str,
    id: &[u8],
    aaguid: Option<uuid::Uuid>,
) -> actix_passkeys::store::Credential {
    use actix_passkeys::store::CredentialStore as _;
    let mut c = ctx.creds.list_for_user(user).await.unwrap()[0].clone();
    c.credential_id = id.to_vec();
    c.aaguid = aaguid;
    assert!(ctx.creds.insert(&c).await.unwrap());
    c
}

#[actix_rt::test]
async fn credential_views_name_authenticators_from_the_bundled_and_the_apps_map() {
    let apple = uuid::uuid!("fbfc3007-154e-4ecc-8c0b-6e020557d7bd");
    let yubikey = uuid::uuid!("cb69481e-8ff7-4039-93ec-0a2729a154a8");
    let gpm = uuid::uuid!("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4");
    let unknown = uuid::uuid!("00000000-0000-0000-0000-0000000000aa");
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx
        .builder(config().build().unwrap())
        .authenticator_names(std::collections::HashMap::from([
            (yubikey, "YubiKey 5 Series".to_owned()),
            (gpm, "Android phone".to_owned()),
        ]))
        .build()
        .unwrap();
    let mut app = ctx.app_with(passkeys).await;
    app.signup("ann").await;
    app.register(&mut authenticator(), None).await.assert_ok();
    for (i, aaguid) in [Some(apple), Some(yubikey), Some(gpm), Some(unknown), None]
        .into_iter()
        .enumerate()
    {
        insert_copy(&ctx, "ann", &[i as u8 + 1; 16], aaguid).await;
    }
    let list = app.get("/auth/passkeys/credentials").await;
    let names: Vec<_> = list.assert_ok().as_array().unwrap()[..]
        .iter()
        .map(|v| v["authenticator"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!(null), // the soft authenticator: zero AAGUID
            json!("Apple Passwords"),
            json!("YubiKey 5 Series"),
            json!("Android phone"), // the app's map wins over the bundled list
            json!(null),
            json!(null),
        ]
    );
}

#[actix_rt::test]
async fn the_bundled_list_can_be_dropped() {
    let apple = uuid::uuid!("fbfc3007-154e-4ecc-8c0b-6e020557d7bd");
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx
        .builder(config().build().unwrap())
        .authenticator_names_only(std::collections::HashMap::new())
        .build()
        .unwrap();
    let data = passkeys.clone();
    let mut app = ctx.app_with(passkeys).await;
    app.signup("ann").await;
    app.register(&mut authenticator(), None).await.assert_ok();
    let c = insert_copy(&ctx, "ann", &[9; 16], Some(apple)).await;
    let list = app.get("/auth/passkeys/credentials").await;
    assert_eq!(list.assert_ok()[1]["authenticator"], json!(null));
    assert_eq!(data.credential_view(&c).authenticator, None);
    assert_eq!(
        actix_passkeys::wire::CredentialView::from(&c)
            .authenticator
            .as_deref(),
        Some("Apple Passwords")
    );
}

/// Every route of the scope, as (method, path relative to the scope).
const ROUTES: &[(&str, &str)] = &[
    ("post", "/register/begin"),
    ("post", "/register/finish"),
    ("post", "/authenticate/begin"),
    ("post", "/authenticate/finish"),
    ("get", "/credentials"),
    ("patch", "/credentials/{id}"),
    ("delete", "/credentials/{id}"),
    ("post", "/logout"),
    ("get", "/passkeys.js"),
    ("get", "/openapi.json"),
];

#[cfg(feature = "openapi")]
#[actix_rt::test]
async fn openapi_document_lists_every_route_and_error_code() {
    use actix_web::http::Method;
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    let r = app.get("/auth/passkeys/openapi.json").await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let doc = r.body;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/auth/passkeys");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = 0;
    let mut at_the_root = Vec::new();
    for (path, item) in paths {
        // The well-known documents are served at the site root, and say so.
        if item.get("servers") == Some(&json!([{"url": "/"}])) {
            at_the_root.push(path.clone());
            continue;
        }
        documented += item.as_object().unwrap().len();
        for (method, op) in item.as_object().unwrap() {
            assert!(
                ROUTES.contains(&(method.as_str(), path.as_str())),
                "{method} {path} is documented but not a route"
            );
            assert!(op["responses"].is_object(), "{method} {path}");
        }
    }
    assert_eq!(documented, ROUTES.len(), "every route is documented once");
    assert_eq!(
        at_the_root,
        [
            "/.well-known/apple-app-site-association",
            "/.well-known/assetlinks.json",
            "/.well-known/passkey-endpoints",
            "/.well-known/webauthn"
        ]
    );
    for path in ["/.well-known/passkey-endpoints", "/.well-known/webauthn"] {
        assert_eq!(app.get(path).await.status.as_u16(), 200, "{path}");
    }
    // And every documented route exists in the scope: called bodiless by an identified user
    // without passkeys, each answers what its contract says (never the scope's unknown-route
    // `not_found`; the `{id}` routes' 404 is for the credential `AAAA`, not the route).
    app.signup("olga").await;
    for (method, path) in ROUTES {
        let expected: (u16, Option<&str>) = match (*method, *path) {
            ("post", "/register/begin") | ("post", "/authenticate/begin") => (200, None),
            ("post", "/register/finish") | ("post", "/authenticate/finish") => {
                (400, Some("invalid_request"))
            }
            ("patch", "/credentials/{id}") => (400, Some("invalid_request")),
            ("get", "/credentials") | ("get", "/passkeys.js") | ("get", "/openapi.json") => {
                (200, None)
            }
            ("delete", "/credentials/{id}") => (404, Some("not_found")),
            ("post", "/logout") => (204, None),
            other => panic!("no expectation for {other:?}"),
        };
        let uri = format!("/auth/passkeys{}", path.replace("{id}", "AAAA"));
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = app.method(method.clone(), &uri, None).await;
        match expected {
            (status, Some(code)) => {
                assert_eq!(
                    (r.status.as_u16(), r.body["error"]["code"].as_str()),
                    (status, Some(code)),
                    "{method} {uri}: {}",
                    String::from_utf8_lossy(&r.raw)
                );
            }
            (status, None) => assert_eq!(r.status.as_u16(), status, "{method} {uri}"),
        }
    }
    let codes: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for code in actix_passkeys::ErrorCode::ALL.iter().map(|c| c.as_str()) {
        assert!(codes.contains(&code), "{code} missing");
    }
    for code in [
        "reauthentication_required",
        "rate_limited",
        "store_unavailable",
    ] {
        assert!(codes.contains(&code), "{code} missing");
    }
    // Schemas come from the Rust types: spot-check the wire names.
    let schemas = &doc["components"]["schemas"];
    let view = &schemas["CredentialView"]["properties"];
    for field in [
        "id",
        "deviceName",
        "transports",
        "backupEligible",
        "backupState",
        "createdAt",
        "lastUsedAt",
        "authenticator",
        "userVerified",
        "disabled",
    ] {
        assert!(view[field].is_object(), "CredentialView.{field}");
    }
    assert!(schemas["Registered"]["properties"]["credentialId"].is_object());
    assert!(schemas["SignedIn"]["properties"]["userId"].is_object());
    assert!(schemas["AuthenticationBegin"]["properties"]["userId"].is_object());
    assert!(schemas["RegistrationFinish"]["properties"]["deviceName"].is_object());
    assert!(schemas["Rename"]["properties"]["deviceName"].is_object());
    assert!(schemas["ErrorEnvelope"]["properties"]["error"].is_object());
}

/// The document types `credential` as the WebAuthn JSON it is, with the members the parser
/// requires, instead of a free-form object that `{}` would satisfy.
#[cfg(feature = "openapi")]
#[actix_rt::test]
async fn openapi_types_the_credential_as_webauthn_json() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    let doc = app.get("/auth/passkeys/openapi.json").await.body;
    let schemas = &doc["components"]["schemas"];
    for (body, credential, response, members) in [
        (
            "RegistrationFinish",
            "RegistrationResponseJSON",
            "AuthenticatorAttestationResponseJSON",
            &["clientDataJSON", "attestationObject"][..],
        ),
        (
            "AuthenticationFinish",
            "AuthenticationResponseJSON",
            "AuthenticatorAssertionResponseJSON",
            &["clientDataJSON", "authenticatorData", "signature"][..],
        ),
    ] {
        assert_eq!(
            schemas[body]["properties"]["credential"]["$ref"],
            format!("#/components/schemas/{credential}"),
            "{body}"
        );
        assert_eq!(
            schemas[credential]["required"],
            json!(["id", "rawId", "response", "type"]),
            "{credential}"
        );
        assert_eq!(
            schemas[credential]["properties"]["response"]["$ref"],
            format!("#/components/schemas/{response}")
        );
        assert_eq!(schemas[response]["required"], json!(members), "{response}");
    }
    assert_eq!(schemas["PublicKeyType"]["enum"], json!(["public-key"]));
    assert!(schemas["Base64Url"]["pattern"].is_string());
    // No code a scope route never answers: `reauthentication_required` is `Fresh`'s, on the
    // app's own routes.
    let list = doc["paths"]["/credentials"]["get"]["responses"]["4XX"]["description"]
        .as_str()
        .unwrap();
    assert!(!list.contains("reauthentication_required"), "{list}");
}

/// serde's derived structs also read JSON arrays, field by field: `[]` was a valid begin body
/// and `["id", "rawId", …]` a credential. The document says object, so arrays are refused with
/// the envelope at every level the WebAuthn JSON has an object, and nothing is stored.
#[actix_rt::test]
async fn array_bodies_are_refused_where_the_document_says_object() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    for path in [
        "/auth/passkeys/authenticate/begin",
        "/auth/passkeys/register/begin",
    ] {
        for body in [json!([]), json!([null]), json!([null, null])] {
            let r = app.post(path, body.clone()).await;
            r.assert_error(400, "invalid_request");
        }
    }
    let mut auth = authenticator();
    app.signup("ann").await;
    let body = app.registration(&mut auth, None).await;
    let (credential, state) = (body["credential"].clone(), body["state"].clone());
    let positional = json!([
        credential["id"],
        credential["rawId"],
        credential["response"],
        credential["type"]
    ]);
    let mut nested = credential.clone();
    nested["response"] = json!([
        credential["response"]["attestationObject"],
        credential["response"]["clientDataJSON"]
    ]);
    let mut extensions = credential.clone();
    extensions["clientExtensionResults"] = json!([]);
    for bad in [positional, nested, extensions] {
        let r = app
            .post(
                "/auth/passkeys/register/finish",
                json!({ "credential": bad, "state": state }),
            )
            .await;
        r.assert_error(400, "invalid_request");
    }
    let r = app
        .post("/auth/passkeys/register/finish", json!([credential, state]))
        .await;
    r.assert_error(400, "invalid_request");
    use actix_passkeys::store::CredentialStore as _;
    assert!(ctx.creds.list_for_user("ann").await.unwrap().is_empty());
}

#[actix_rt::test]
async fn conditional_create_is_asked_for_in_the_begin_body() {
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    app.signup("pat").await;
    let plain = app.post_empty("/auth/passkeys/register/begin").await;
    assert!(plain.assert_ok().get("mediation").is_none());
    let plain = app.post("/auth/passkeys/register/begin", json!({})).await;
    assert!(plain.assert_ok().get("mediation").is_none());
    let begin = app
        .post(
            "/auth/passkeys/register/begin",
            json!({"mediation": "conditional"}),
        )
        .await;
    assert_eq!(begin.assert_ok()["mediation"], "conditional");
    // The options are ordinary creation options; the ceremony finishes as usual.
    let mut auth = authenticator();
    let credential = auth.register(&begin.body["publicKey"]).await.unwrap();
    app.post(
        "/auth/passkeys/register/finish",
        json!({"credential": credential, "state": begin.body["state"]}),
    )
    .await
    .assert_ok();
    app.post(
        "/auth/passkeys/register/begin",
        json!({"mediation": "silent"}),
    )
    .await
    .assert_error(400, "invalid_request");
}

fn signal(r: &Resp) -> Option<serde_json::Value> {
    r.headers
        .get(actix_passkeys::wire::SIGNAL_HEADER)
        .map(|v| serde_json::from_str(v.to_str().unwrap()).unwrap())
}

#[actix_rt::test]
async fn usernameless_sign_in_with_an_unknown_credential_signals_it() {
    use actix_passkeys::store::CredentialStore as _;
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    app.signup("uma").await;
    let mut auth = authenticator();
    let id = app.register(&mut auth, None).await.assert_ok()["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.logout().await;
    let ok = app.sign_in(&mut auth, None).await;
    ok.assert_ok();
    assert_eq!(signal(&ok), None);
    app.logout().await;

    // Username-first, then the credential is deleted behind the user's back: no signal there,
    // and the answer of a bad signature (enumeration parity with fake ids).
    let username_first = app.assertion(&mut auth, Some("uma")).await;
    assert!(ctx.creds.delete("uma", &unb64(&id)).await.unwrap());
    let r = app
        .post("/auth/passkeys/authenticate/finish", username_first)
        .await;
    r.assert_error(401, "assertion_verification_failed");
    assert_eq!(signal(&r), None);

    // Usernameless: the error envelope is unchanged, the signal rides in the header.
    let r = app.sign_in(&mut auth, None).await;
    r.assert_error(401, "credential_not_found");
    assert_eq!(
        signal(&r),
        Some(json!({"unknownCredential": {"rpId": "localhost", "credentialId": id}}))
    );
}

#[actix_rt::test]
async fn listing_and_revoking_signal_every_accepted_credential() {
    use actix_passkeys::store::CredentialStore as _;
    use actix_web::http::Method;
    let ctx = Ctx::<Memory>::new().await;
    let mut app = ctx.app().await;
    app.signup("vic").await;
    assert_eq!(
        signal(&app.get("/auth/passkeys/credentials").await),
        None,
        "no passkeys: no handle, no signal"
    );
    let mut ids = Vec::new();
    let mut first = authenticator();
    let r = app.register(&mut first, None).await;
    ids.push(r.assert_ok()["credentialId"].as_str().unwrap().to_owned());
    // More passkeys need a passkey sign-in (identify only adds the first).
    app.sign_in(&mut first, None).await.assert_ok();
    let mut keys = Vec::new();
    for _ in 0..2 {
        let mut key = authenticator();
        let r = app.register(&mut key, None).await;
        ids.push(r.assert_ok()["credentialId"].as_str().unwrap().to_owned());
        keys.push(key);
    }
    // Another user's passkeys never leak into the list.
    let mut other = ctx.app().await;
    other.signup("wes").await;
    other.register(&mut authenticator(), None).await.assert_ok();

    let store_list = |ctx: &Ctx<Memory>| {
        let creds = ctx.creds.clone();
        async move {
            let all = creds.list_for_user("vic").await.unwrap();
            let handle = b64(&all[0].user_handle);
            let ids: Vec<String> = all
                .iter()
                .filter(|c| !c.is_disabled())
                .map(|c| c.id_b64())
                .collect();
            (handle, ids)
        }
    };
    let r = app.get("/auth/passkeys/credentials").await;
    assert_eq!(
        r.assert_ok().as_array().unwrap().len(),
        3,
        "body is still the array"
    );
    let (handle, listed) = store_list(&ctx).await;
    assert_eq!(listed, ids);
    assert_eq!(
        signal(&r),
        Some(json!({"allAcceptedCredentials": {
            "rpId": "localhost", "userId": handle, "allAcceptedCredentialIds": listed,
        }}))
    );

    // A disabled credential is kept in the store but is not accepted.
    ctx.creds
        .disable(&unb64(&ids[1]), ctx.clock_now(), "test")
        .await
        .unwrap();
    let r = app.get("/auth/passkeys/credentials").await;
    let (_, accepted) = store_list(&ctx).await;
    assert_eq!(accepted, [ids[0].clone(), ids[2].clone()]);
    assert_eq!(
        signal(&r).unwrap()["allAcceptedCredentials"]["allAcceptedCredentialIds"],
        json!(accepted)
    );

    let r = app
        .method(
            Method::DELETE,
            &format!("/auth/passkeys/credentials/{}", ids[0]),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    assert!(r.raw.is_empty());
    let (_, accepted) = store_list(&ctx).await;
    assert_eq!(accepted, [ids[2].clone()]);
    assert_eq!(
        signal(&r),
        Some(json!({"allAcceptedCredentials": {
            "rpId": "localhost", "userId": handle, "allAcceptedCredentialIds": accepted,
        }}))
    );
    // Revoking the passkey this session signed in with ended that sign-in; the user goes on
    // with another of their passkeys.
    app.get("/auth/passkeys/credentials")
        .await
        .assert_error(401, "not_authenticated");
    app.sign_in(&mut keys[1], None).await.assert_ok();
    for id in &ids[1..] {
        let r = app
            .method(
                Method::DELETE,
                &format!("/auth/passkeys/credentials/{id}"),
                None,
            )
            .await;
        assert_eq!(r.status.as_u16(), 204);
        if id == &ids[2] {
            assert_eq!(signal(&r), None, "nothing left: no handle, no signal");
        }
    }
    // A failed revoke (not the caller's) carries no signal and the envelope as before. The
    // sign-in ended with its passkey; vic, without passkeys now, is identified again.
    app.signup("vic").await;
    let r = app
        .method(
            Method::DELETE,
            &format!("/auth/passkeys/credentials/{}", ids[0]),
            None,
        )
        .await;
    r.assert_error(404, "not_found");
    assert_eq!(signal(&r), None);
}

#[actix_rt::test]
async fn user_details_changed_gives_the_current_user_details() {
    let ctx = Ctx::<Memory>::new().await;
    let passkeys = ctx.builder(config().build().unwrap()).build().unwrap();
    let mut app = ctx.app_with(passkeys.clone()).await;
    let user = actix_passkeys::PasskeyUser::new("xia", "xia@example.com", "Xià Lin");
    assert_eq!(passkeys.user_details_changed(&user).await.unwrap(), None);
    app.signup("xia").await;
    let mut auth = authenticator();
    app.register(&mut auth, None).await.assert_ok();
    let signal = passkeys.user_details_changed(&user).await.unwrap().unwrap();
    let value: serde_json::Value = serde_json::from_str(&signal.to_header_value()).unwrap();
    assert_eq!(
        value,
        json!({"currentUserDetails": {
            "rpId": "localhost",
            "userId": b64(&auth.user_handle().unwrap()),
            "name": "xia@example.com",
            "displayName": "Xià Lin",
        }})
    );
    assert!(signal.to_header_value().is_ascii());
}
