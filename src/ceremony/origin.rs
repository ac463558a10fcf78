//! Exact origin matching (the go-webauthn model), checked before the engine's own check, and
//! the cross-origin iframe rule (`crossOrigin` / `topOrigin`, WebAuthn Level 3).
//!
//! `clientDataJSON.origin` must be a serialized origin — scheme, host, optional port, nothing
//! else — equal to a configured origin, or (when subdomains are allowed) the same scheme and
//! port on a dot-bounded subdomain of a configured web origin's host. The engine compares
//! parsed URLs and would let `http://localhost:8080/x` through; an origin never has a path.

use serde::Deserialize;
use url::Url;

use crate::config::{Origin, PasskeyConfig};

#[derive(Deserialize)]
struct ClientData<'a> {
    #[serde(borrow)]
    origin: std::borrow::Cow<'a, str>,
    #[serde(default, rename = "crossOrigin")]
    cross_origin: Option<bool>,
    #[serde(default, borrow, rename = "topOrigin")]
    top_origin: Option<std::borrow::Cow<'a, str>>,
}

/// Whether the client data names an accepted origin and, when it was collected in a
/// cross-origin iframe (`crossOrigin: true`), a `topOrigin` that is one of the configured top
/// origins (none configured: every cross-origin response is refused).
pub(crate) fn accepted(config: &PasskeyConfig, client_data_json: &[u8]) -> bool {
    let Ok(cd) = serde_json::from_slice::<ClientData<'_>>(client_data_json) else {
        return false;
    };
    if cd.cross_origin == Some(true) {
        let top_ok = cd.top_origin.as_deref().is_some_and(|top| {
            config
                .top_origins
                .iter()
                .any(|allowed| allowed.as_str() == top)
        });
        if !top_ok {
            return false;
        }
    }
    let origin = cd.origin.as_ref();
    if config.origins.iter().any(|o| o.as_str() == origin) {
        return true;
    }
    config.allow_subdomains && is_subdomain_origin(config, origin)
}

fn is_subdomain_origin(config: &PasskeyConfig, origin: &str) -> bool {
    let Ok(url) = Url::parse(origin) else {
        return false;
    };
    // Round-tripping rejects paths, trailing slashes, queries, fragments and userinfo.
    if url.origin().ascii_serialization() != origin {
        return false;
    }
    let Some(url::Host::Domain(host)) = url.host() else {
        return false;
    };
    config.origins.iter().any(|allowed| match allowed {
        Origin::Web(base) => {
            base.scheme() == url.scheme()
                && base.port_or_known_default() == url.port_or_known_default()
                && base.host_str().is_some_and(|base_host| {
                    host.strip_suffix(base_host)
                        .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
                })
        }
        Origin::Android(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cd(origin: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"type": "webauthn.get", "origin": origin})).unwrap()
    }

    #[test]
    fn exact_and_subdomain_matching() {
        let exact = PasskeyConfig::builder("example.com", "X")
            .origin("https://example.com")
            .origin("https://example.com:8443")
            .origin("android:apk-key-hash:abc")
            .build()
            .unwrap();
        let subs = PasskeyConfig::builder("example.com", "X")
            .origin("https://example.com")
            .allow_subdomains(true)
            .build()
            .unwrap();
        let table = [
            ("https://example.com", true, true),
            ("https://example.com:8443", true, false),
            ("android:apk-key-hash:abc", true, false),
            ("android:apk-key-hash:abd", false, false),
            ("https://example.com/", false, false),
            ("https://example.com/x", false, false),
            ("https://example.com:443", false, false),
            ("http://example.com", false, false),
            ("https://example.com.", false, false),
            ("https://a.example.com", false, true),
            ("https://a.b.example.com", false, true),
            ("https://a.example.com/", false, false),
            ("https://a.example.com:8443", false, false),
            ("https://evil-example.com", false, false),
            ("https://.example.com", false, false),
            ("https://user@a.example.com", false, false),
            ("https://user@example.com", false, false),
            ("https://example.com?x=1", false, false),
            ("https://EXAMPLE.com", false, false),
            ("https://A.example.com", false, false),
            ("https://example.com.:8443", false, false),
            ("http://a.example.com", false, false),
            ("https://a.example.com.", false, false),
            ("https://a.example.com:443", false, false),
            ("https://example.com.evil.net", false, false),
            ("https://a.example.com.evil.net", false, false),
            ("android:apk-key-hash:ABC", false, false),
            ("null", false, false),
        ];
        for (origin, in_exact, in_subs) in table {
            assert_eq!(accepted(&exact, &cd(origin)), in_exact, "exact: {origin}");
            assert_eq!(
                accepted(&subs, &cd(origin)),
                in_subs,
                "subdomains: {origin}"
            );
        }
        assert!(!accepted(&exact, b"not json"));
    }

    #[test]
    fn cross_origin_needs_a_configured_top_origin() {
        let cd = |cross: Option<bool>, top: Option<&str>| {
            let mut v =
                serde_json::json!({"type": "webauthn.get", "origin": "https://example.com"});
            if let Some(c) = cross {
                v["crossOrigin"] = c.into();
            }
            if let Some(t) = top {
                v["topOrigin"] = t.into();
            }
            serde_json::to_vec(&v).unwrap()
        };
        let none = PasskeyConfig::builder("example.com", "X")
            .origin("https://example.com")
            .build()
            .unwrap();
        let tops = PasskeyConfig::builder("example.com", "X")
            .origin("https://example.com")
            .top_origin("https://shop.example.net")
            .build()
            .unwrap();
        let table = [
            (None, None, true, true),
            (Some(false), None, true, true),
            (Some(true), None, false, false),
            (Some(true), Some("https://shop.example.net"), false, true),
            (Some(true), Some("https://shop.example.net/"), false, false),
            (Some(true), Some("https://evil.example.net"), false, false),
            (Some(true), Some("https://example.com"), false, false),
        ];
        for (cross, top, in_none, in_tops) in table {
            assert_eq!(
                accepted(&none, &cd(cross, top)),
                in_none,
                "{cross:?} {top:?}"
            );
            assert_eq!(
                accepted(&tops, &cd(cross, top)),
                in_tops,
                "{cross:?} {top:?}"
            );
        }
    }
}
