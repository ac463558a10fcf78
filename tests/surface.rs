//! The public surface: the crate root holds at most 20 items (what `cargo doc` lists there,
//! modules included), read from `src/lib.rs`'s `pub mod` lines and `pub use` lists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The names `src/lib.rs` makes public at the crate root.
fn root_items() -> Vec<String> {
    let source = include_str!("../src/lib.rs");
    let code: String = source
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut items = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("pub ") {
        rest = &rest[at + 4..];
        if let Some(after) = rest.strip_prefix("mod ") {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            items.push(name);
        } else if let Some(after) = rest.strip_prefix("use ") {
            let end = after.find(';').expect("a `pub use` ends with `;`");
            let list = &after[..end];
            // Leaves: identifiers not followed by `::` (`self` and globs aside).
            let mut word = String::new();
            for (i, c) in list.char_indices() {
                if c.is_alphanumeric() || c == '_' {
                    word.push(c);
                    continue;
                }
                if !word.is_empty() && !list[i..].starts_with("::") && word != "self" {
                    items.push(std::mem::take(&mut word));
                }
                word.clear();
            }
            if !word.is_empty() {
                items.push(word);
            }
        }
    }
    items
}

#[test]
fn the_crate_root_holds_at_most_20_items() {
    let items = root_items();
    assert!(items.len() <= 20, "{} root items: {items:?}", items.len());
    for expected in [
        "Passkeys",
        "PasskeysBuilder",
        "PasskeyConfig",
        "PasskeyConfigBuilder",
        "ConfigError",
        "BuildError",
        "PasskeyError",
        "ErrorCode",
        "PasskeyUser",
        "Authenticated",
        "Fresh",
        "VerifiedRegistration",
        "VerifiedAssertion",
        "sign_out",
        "store",
        "rate_limit",
        "hooks",
        "wire",
    ] {
        assert!(
            items.iter().any(|i| i == expected),
            "{expected} not at the root"
        );
    }
}

/// `Passkeys` is one non-generic handle that crosses threads (`HttpServer::new`'s factory), and
/// the ceremonies that take no request return `Send` futures (a custom flow may spawn them).
#[test]
fn the_handle_is_send_and_sync_and_its_ceremonies_are_send() {
    use actix_passkeys::{
        store::memory::{MemoryChallengeStore, MemoryCredentialStore},
        wire::AuthenticationBegin,
        PasskeyConfig, PasskeyError, PasskeyUser, Passkeys,
    };

    fn send_sync_clone<T: Send + Sync + Clone + 'static>(_: &T) {}
    fn send<T: Send>(_: T) {}

    let config = PasskeyConfig::builder("localhost", "Test")
        .origin("http://localhost:8080")
        .build()
        .unwrap();
    let passkeys = Passkeys::builder(
        config,
        MemoryCredentialStore::new(),
        MemoryChallengeStore::new(),
    )
    .user_resolver(|_req| async { Err(PasskeyError::NotAuthenticated) })
    .build()
    .unwrap();
    send_sync_clone(&passkeys);
    send(passkeys.start_registration(PasskeyUser::new("u", "u", "u")));
    send(passkeys.start_authentication(AuthenticationBegin::default()));
    send(passkeys.list_credentials("u"));
    send(passkeys.delete_credential("u", b"id"));
}
