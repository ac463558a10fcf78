//! Origins, in one place: parsing the configured ones (web, related, top and native Android
//! origins, validated when a [`PasskeyConfig`] is built) and matching the origin a client reports
//! against them.
//!
//! Matching is exact (the go-webauthn model), checked before the engine's own check, and
//! followed by the cross-origin iframe rule (`crossOrigin` / `topOrigin`, WebAuthn Level 3).
//! `clientDataJSON.origin` must be a serialized origin — scheme, host, optional port, nothing
//! else — equal to a configured origin, or (when subdomains are allowed) the same scheme and
//! port on a dot-bounded subdomain of a configured web origin's host. The engine compares
//! parsed URLs and would let `http://localhost:8080/x` through; an origin never has a path.
//!
//! [`Origin`] is public as `actix_passkeys::policy::Origin`; the rest is crate-private.

use serde::Deserialize;
use url::Url;

use crate::config::{ConfigError, PasskeyConfig, MAX_RELATED_ORIGIN_LABELS};

const ANDROID_ORIGIN_PREFIX: &str = "android:apk-key-hash:";

/// An origin the relying party accepts responses from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A web origin such as `https://example.com` or `http://localhost:8080`.
    Web(Url),
    /// A native Android app origin, `android:apk-key-hash:<base64url sha256>`, matched exactly.
    Android(String),
}

impl Origin {
    /// The origin as the client reports it in `clientDataJSON`.
    pub fn as_str(&self) -> String {
        match self {
            Self::Web(url) => url.origin().ascii_serialization(),
            Self::Android(s) => s.clone(),
        }
    }
}

/// Parses an origin; `rp_id` empty means "any host" (a related origin).
pub(crate) fn parse_origin(raw: &str, rp_id: &str) -> Result<Origin, ConfigError> {
    let bad = |why: &str| ConfigError::new("origins", format!("`{raw}`: {why}"));
    if let Some(hash) = raw.strip_prefix(ANDROID_ORIGIN_PREFIX) {
        let ok = !hash.is_empty()
            && hash
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '/' | '='));
        return if ok {
            Ok(Origin::Android(raw.to_owned()))
        } else {
            Err(bad("the apk key hash must be base64"))
        };
    }
    let url = Url::parse(raw).map_err(|_| bad("not a URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not contain userinfo"));
    }
    // The raw text decides: `Url` reports an empty query or fragment (`https://a?`) too, but
    // every query or fragment starts with one of these characters.
    if raw.contains('?') || raw.contains('#') {
        return Err(bad("must not contain a query or fragment"));
    }
    let after_scheme = raw.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    if after_scheme.contains('/') {
        return Err(bad("must not contain a path or trailing slash"));
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        _ => return Err(bad("the host must be a domain name")),
    };
    match url.scheme() {
        "https" => {}
        "http" if is_localhost(&host) => {}
        "http" => return Err(bad("plain http is only allowed for localhost")),
        _ => return Err(bad("the scheme must be https (or http for localhost)")),
    }
    let host_matches = rp_id.is_empty()
        || host == rp_id
        || host
            .strip_suffix(rp_id)
            .is_some_and(|prefix| prefix.ends_with('.'));
    if !host_matches {
        return Err(bad(&format!(
            "the rp id `{rp_id}` is not a suffix of the host `{host}`"
        )));
    }
    Ok(Origin::Web(url))
}

pub(crate) fn is_localhost(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

pub(crate) fn parse_related_origin(raw: &str) -> Result<Origin, ConfigError> {
    if raw.starts_with(ANDROID_ORIGIN_PREFIX) {
        return Err(ConfigError::new(
            "origins",
            format!("`{raw}`: a related origin must be a web origin"),
        ));
    }
    parse_origin(raw, "")
}

pub(crate) fn parse_top_origin(raw: &str) -> Result<Origin, ConfigError> {
    if raw.starts_with(ANDROID_ORIGIN_PREFIX) {
        return Err(ConfigError::new(
            "top_origins",
            format!("`{raw}`: a top origin must be a web origin"),
        ));
    }
    parse_origin(raw, "").map_err(|e| ConfigError::new("top_origins", e.reason().to_owned()))
}

/// The registrable-domain label of a host: the first label of its eTLD+1 (`example` for
/// `login.example.co.uk`), from the Public Suffix List compiled into the `public-suffix` crate.
/// Hosts without a registrable domain (`localhost`, a bare public suffix) have none.
fn registrable_label(host: &str) -> Option<&str> {
    use public_suffix::{EffectiveTLDProvider as _, DEFAULT_PROVIDER};
    let etld1 = DEFAULT_PROVIDER.effective_tld_plus_one(host).ok()?;
    etld1.split('.').next().filter(|l| !l.is_empty())
}

/// WebAuthn's limit on Related Origin Requests: browsers honour origins from at most five
/// distinct registrable-domain labels, so a config needing more could never work everywhere.
pub(crate) fn check_origin_labels(origins: &[Origin]) -> Result<(), ConfigError> {
    let mut labels: Vec<String> = Vec::new();
    for origin in origins {
        let Origin::Web(url) = origin else { continue };
        let Some(label) = url.host_str().and_then(registrable_label) else {
            continue;
        };
        if !labels.iter().any(|l| l == label) {
            labels.push(label.to_owned());
        }
    }
    if labels.len() > MAX_RELATED_ORIGIN_LABELS {
        return Err(ConfigError::new(
            "origins",
            format!(
                "the origins span {} registrable-domain labels ({}); browsers accept at most {MAX_RELATED_ORIGIN_LABELS}",
                labels.len(),
                labels.join(", ")
            ),
        ));
    }
    Ok(())
}

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

/// [`accepted`] for a registration, which is never accepted from a cross-origin iframe
/// (`crossOrigin: true`), whatever top origins are configured: a passkey is created only on
/// the site's own pages. webauthn-rs refuses these too; this check does not rely on it.
pub(crate) fn accepted_for_registration(config: &PasskeyConfig, client_data_json: &[u8]) -> bool {
    let cross_origin = serde_json::from_slice::<ClientData<'_>>(client_data_json)
        .map_or(true, |cd| cd.cross_origin == Some(true));
    !cross_origin && accepted(config, client_data_json)
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
    // Only the rp id's own origins are widened: related origins (on other sites) are listed
    // exactly in the well-known document and browsers use them only as listed.
    let on_rp_id = |base_host: &str| {
        base_host == config.rp_id
            || base_host
                .strip_suffix(config.rp_id.as_str())
                .is_some_and(|prefix| prefix.ends_with('.'))
    };
    config.origins.iter().any(|allowed| match allowed {
        Origin::Web(base) => {
            base.host_str().is_some_and(on_rp_id)
                && base.scheme() == url.scheme()
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

    fn base() -> crate::config::PasskeyConfigBuilder {
        PasskeyConfig::builder("example.com", "Example").origin("https://example.com")
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

    /// Related origins are listed exactly in `/.well-known/webauthn` and browsers use them
    /// only as listed, so `allow_subdomains` widens the rp id's own origins, never a related
    /// origin's site: a non-browser client sending `https://a.example.co.uk` is refused.
    #[test]
    fn allow_subdomains_does_not_widen_related_origins() {
        let config = PasskeyConfig::builder("example.com", "X")
            .origin("https://example.com")
            .related_origin("https://example.co.uk")
            .allow_subdomains(true)
            .build()
            .unwrap();
        assert!(accepted(&config, &cd("https://example.co.uk")));
        assert!(accepted(&config, &cd("https://a.example.com")));
        assert!(!accepted(&config, &cd("https://a.example.co.uk")));
        assert!(!accepted(&config, &cd("https://a.b.example.co.uk")));
    }

    /// Registration refuses `crossOrigin: true` even from a configured top origin, by our own
    /// check (the same client data is accepted for a sign-in).
    #[test]
    fn registration_is_never_cross_origin() {
        let config = base().top_origin("https://shop.example").build().unwrap();
        let framed = br#"{"type":"webauthn.create","challenge":"x","origin":"https://example.com","crossOrigin":true,"topOrigin":"https://shop.example"}"#;
        assert!(accepted(&config, framed), "a framed sign-in is accepted");
        assert!(!accepted_for_registration(&config, framed));
        assert!(accepted_for_registration(
            &config,
            &cd("https://example.com")
        ));
        assert!(!accepted_for_registration(&config, b"not json"));
    }

    /// Each refusal names its own reason: plain http for another host is not "a bad scheme".
    #[test]
    fn origin_refusals_say_why() {
        for (raw, why) in [
            (
                "http://example.com",
                "plain http is only allowed for localhost",
            ),
            ("ftp://example.com", "the scheme must be https"),
            (
                "https://example.com?",
                "must not contain a query or fragment",
            ),
            (
                "https://example.com#",
                "must not contain a query or fragment",
            ),
            (
                "https://example.com/",
                "must not contain a path or trailing slash",
            ),
            ("https://u@example.com", "must not contain userinfo"),
            ("https://other.org", "is not a suffix of the host"),
        ] {
            let err = parse_origin(raw, "example.com").expect_err(raw);
            assert!(err.to_string().contains(why), "{raw}: {err}");
        }
        assert!(parse_origin("http://localhost:8080", "localhost").is_ok());
        assert!(parse_origin("http://a.localhost", "localhost").is_ok());
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

    #[test]
    fn related_origins_are_limited_to_five_registrable_labels() {
        let five = base()
            .origin("https://login.example.com")
            .related_origin("https://example.co.uk") // label `example` again
            .related_origin("https://shop.example.de")
            .related_origin("https://brand-a.com")
            .related_origin("https://brand-b.org")
            .related_origin("https://www.brand-c.com.au")
            .related_origin("https://brand-d.net")
            .related_origin("https://brand-e.net");
        let err = five.clone().build().expect_err("six labels");
        assert_eq!(err.field(), "origins");
        assert!(
            err.reason().contains("6 registrable-domain labels"),
            "{err}"
        );
        let config = base()
            .origin("https://login.example.com")
            .related_origin("https://example.co.uk")
            .related_origin("https://shop.example.de")
            .related_origin("https://brand-a.com")
            .related_origin("https://brand-b.org")
            .related_origin("https://www.brand-c.com.au")
            .related_origin("https://brand-d.net")
            .build()
            .expect("five labels");
        assert_eq!(config.web_origins().len(), 8);
        assert_eq!(registrable_label("www.brand-c.com.au"), Some("brand-c"));
        assert_eq!(registrable_label("a.b.example.co.uk"), Some("example"));
        assert_eq!(registrable_label("localhost"), None);
        assert_eq!(registrable_label("co.uk"), None);
    }

    #[test]
    fn origin_serialisation_matches_client_data() {
        let config = base().origin("http://localhost:8080").build();
        assert!(config.is_err(), "localhost is not under example.com");
        let config = PasskeyConfig::builder("localhost", "Dev")
            .origin("http://localhost:8080")
            .build()
            .expect("valid");
        assert_eq!(config.origins()[0].as_str(), "http://localhost:8080");
    }
}
