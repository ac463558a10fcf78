//! PostgreSQL connections as the stores open them: the `sslmode` (and `sslrootcert`) of the URL
//! or `key=value` connection string decide whether and how TLS is used (rustls, feature
//! `postgres-tls`).

use std::fmt;

use diesel::{ConnectionError, ConnectionResult};
use diesel_async::AsyncPgConnection;

/// Whether a PostgreSQL connection uses TLS: the `sslmode` query parameter of a `postgres://`
/// URL (`?sslmode=verify-full`), or the `sslmode` of a `key=value` connection string
/// (`host=db sslmode=verify-full`). TLS needs the `postgres-tls` feature; every TLS connection
/// verifies the server's certificate chain (the system's root certificates, plus those of the
/// PEM file named by `sslrootcert`) and its host name.
///
/// ```
/// use actix_passkeys::store::diesel::pg::SslMode;
///
/// assert_eq!(SslMode::of_url("postgres://app@db/app")?, SslMode::Disable);
/// assert_eq!(SslMode::of_url("postgres://app@db/app?sslmode=verify-full")?, SslMode::VerifyFull);
/// assert_eq!(SslMode::of_url("host=db user=app sslmode=require")?, SslMode::Require);
/// assert!(SslMode::of_url("postgres://app@db/app?sslmode=verify-ca").is_err());
/// # Ok::<(), diesel::ConnectionError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SslMode {
    /// `disable`, and the default when the URL has no `sslmode`: plain TCP.
    #[default]
    Disable,
    /// `prefer`: TLS when the server offers it, verified as with `verify-full`; plain TCP only
    /// when the server says it has no TLS, which an active attacker can say for it: use
    /// `require` or `verify-full` where the network is not trusted. A certificate that fails verification is an
    /// error, never a reason to fall back to plain TCP (that would let an active attacker
    /// downgrade the connection). Without the `postgres-tls` feature: plain TCP.
    Prefer,
    /// `require`: TLS or no connection, verified as with `verify-full` (libpq's `require`
    /// does not verify the certificate; this crate makes no unverified TLS connection).
    Require,
    /// `verify-full`: TLS or no connection; the certificate chain is verified against the
    /// trusted roots and the certificate must name the host.
    VerifyFull,
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyFull => "verify-full",
        })
    }
}

impl SslMode {
    /// The mode a `sslmode` value names. `allow` and `verify-ca` are refused: this crate does
    /// not make unverified TLS connections, nor skip the host name check.
    fn parse(value: &str) -> ConnectionResult<Self> {
        match value {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-full" => Ok(Self::VerifyFull),
            "verify-ca" | "allow" => Err(bad(format!(
                "sslmode={value} is not supported: use verify-full (or require), or disable"
            ))),
            _ => Err(ConnectionError::InvalidConnectionUrl(
                "sslmode must be disable, prefer, require or verify-full".to_owned(),
            )),
        }
    }

    /// The `sslmode` of a PostgreSQL URL or `key=value` connection string
    /// ([`Disable`](Self::Disable) when it has none); an error for a value this crate does not
    /// support or a malformed string.
    pub fn of_url(url: &str) -> ConnectionResult<Self> {
        Target::parse(url).map(|t| t.mode)
    }
}

fn bad(message: impl Into<String>) -> ConnectionError {
    ConnectionError::BadConnection(message.into())
}

/// A connection string taken apart: what tokio-postgres connects to, and this crate's TLS
/// settings.
struct Target {
    config: tokio_postgres::Config,
    mode: SslMode,
    #[cfg_attr(not(feature = "postgres-tls"), allow(dead_code))]
    root_cert: Option<String>,
}

/// The parameters this crate reads itself, and removes from what tokio-postgres parses (whose
/// parser knows neither `sslrootcert` nor `sslmode=verify-full`).
const TLS_KEYS: [&str; 2] = ["sslmode", "sslrootcert"];

impl Target {
    /// `sslmode` and `sslrootcert` are read from a `postgres://` (or `postgresql://`) URL's
    /// query, or from a `key=value` connection string, and removed from it; the rest is passed
    /// on as written (no re-encoding) for tokio-postgres to parse.
    fn parse(url: &str) -> ConnectionResult<Self> {
        let (rest, taken) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            split_url(url)?
        } else {
            split_key_values(url)?
        };
        let mut mode = SslMode::Disable;
        let mut root_cert = None;
        for (key, value) in taken {
            if key == "sslmode" {
                mode = SslMode::parse(&value)?;
            } else {
                root_cert = Some(value);
            }
        }
        let mut config: tokio_postgres::Config =
            rest.parse().map_err(|e: tokio_postgres::Error| {
                ConnectionError::InvalidConnectionUrl(e.to_string())
            })?;
        config.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
        });
        Ok(Self {
            config,
            mode,
            root_cert,
        })
    }
}

/// A URL without its [`TLS_KEYS`] query parameters, and their decoded values. The other
/// parameters are kept byte for byte: tokio-postgres percent-decodes them itself (and reads
/// `+` as `+`, so re-encoding a space as `+` would change the value).
fn split_url(url: &str) -> ConnectionResult<(String, Vec<(String, String)>)> {
    url::Url::parse(url).map_err(|_| {
        ConnectionError::InvalidConnectionUrl("the PostgreSQL URL is malformed".into())
    })?;
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), Vec::new()));
    };
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    for segment in query.split('&').filter(|s| !s.is_empty()) {
        let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
        let key = percent_decode(key)?;
        if TLS_KEYS.contains(&&*key) {
            taken.push((key, percent_decode(value)?));
        } else {
            kept.push(segment);
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, taken))
}

fn percent_decode(s: &str) -> ConnectionResult<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(Into::into)
        .map_err(|_| {
            ConnectionError::InvalidConnectionUrl(
                "a PostgreSQL URL parameter is not UTF-8 once decoded".into(),
            )
        })
}

/// A `key=value` connection string without its [`TLS_KEYS`] parameters, and their values.
/// The grammar is tokio-postgres's (libpq's): `key = value` pairs separated by whitespace, a
/// value either `'quoted'` or a run of non-whitespace, `\` escaping the next character in
/// both. The other parameters are kept as written.
fn split_key_values(s: &str) -> ConnectionResult<(String, Vec<(String, String)>)> {
    let malformed =
        |what: &str| ConnectionError::InvalidConnectionUrl(format!("connection string: {what}"));
    let mut rest = String::with_capacity(s.len());
    let mut taken = Vec::new();
    let mut it = s.char_indices().peekable();
    let mut kept_from = 0;
    loop {
        while it.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = it.peek() else { break };
        while it
            .next_if(|&(_, c)| !c.is_whitespace() && c != '=')
            .is_some()
        {}
        let key_end = it.peek().map_or(s.len(), |&(i, _)| i);
        let key = &s[start..key_end];
        while it.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        if it.next_if(|&(_, c)| c == '=').is_none() || key.is_empty() {
            return Err(malformed("expected `key=value`"));
        }
        while it.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        let quoted = it.next_if(|&(_, c)| c == '\'').is_some();
        let mut value = String::new();
        let mut closed = false;
        while let Some((_, c)) = it.next_if(|&(_, c)| quoted || !c.is_whitespace()) {
            match c {
                '\\' => value.extend(it.next().map(|(_, c)| c)),
                '\'' if quoted => {
                    closed = true;
                    break;
                }
                c => value.push(c),
            }
        }
        if quoted && !closed {
            return Err(malformed("unterminated quoted value"));
        }
        if !quoted && value.is_empty() {
            return Err(malformed("a key without a value"));
        }
        if TLS_KEYS.contains(&key) {
            let end = it.peek().map_or(s.len(), |&(i, _)| i);
            rest.push_str(&s[kept_from..start]);
            kept_from = end;
            taken.push((key.to_owned(), value));
        }
    }
    rest.push_str(&s[kept_from..]);
    Ok((rest, taken))
}

/// Opens one connection to `url`, with TLS as its `sslmode` says.
pub(crate) async fn establish(url: &str) -> ConnectionResult<AsyncPgConnection> {
    let target = Target::parse(url)?;
    match target.mode {
        SslMode::Disable => plain(&target.config).await,
        #[cfg(feature = "postgres-tls")]
        SslMode::Prefer | SslMode::Require | SslMode::VerifyFull => tls::establish(&target).await,
        #[cfg(not(feature = "postgres-tls"))]
        SslMode::Prefer => plain(&target.config).await,
        #[cfg(not(feature = "postgres-tls"))]
        mode @ (SslMode::Require | SslMode::VerifyFull) => Err(bad(format!(
            "sslmode={mode} needs actix-passkeys' `postgres-tls` feature"
        ))),
    }
}

fn connect_error(e: &tokio_postgres::Error) -> ConnectionError {
    // tokio-postgres' message names the step and the cause (refused, TLS handshake, auth);
    // it holds no password.
    let mut message = e.to_string();
    if let Some(cause) = std::error::Error::source(e) {
        message = format!("{message}: {cause}");
    }
    bad(message)
}

async fn plain(config: &tokio_postgres::Config) -> ConnectionResult<AsyncPgConnection> {
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| connect_error(&e))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

#[cfg(feature = "postgres-tls")]
mod tls {
    use std::sync::Arc;

    use diesel::ConnectionResult;
    use diesel_async::AsyncPgConnection;
    use rustls::pki_types::{pem::PemObject as _, CertificateDer};

    use super::{bad, connect_error, Target};

    /// The system's root certificates and those of `root_cert` (a PEM file).
    fn roots(root_cert: Option<&str>) -> ConnectionResult<rustls::RootCertStore> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = root_cert {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| bad(format!("sslrootcert: cannot read {path}: {e}")))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(bad(format!("sslrootcert: no certificate in {path}")));
            }
        }
        if roots.is_empty() {
            return Err(bad(
                "no trusted root certificates: the system store is empty and no sslrootcert is set",
            ));
        }
        Ok(roots)
    }

    pub(super) async fn establish(target: &Target) -> ConnectionResult<AsyncPgConnection> {
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("TLS setup: {e}")))?
        .with_root_certificates(roots(target.root_cert.as_deref())?)
        .with_no_client_auth();
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(config);
        let (client, connection) = target
            .config
            .connect(tls)
            .await
            .map_err(|e| connect_error(&e))?;
        AsyncPgConnection::try_from_client_and_connection(client, connection).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sslmode` is read from the URL and removed from what tokio-postgres parses; modes that
    /// would make an unverified connection or skip the host name check are refused.
    #[test]
    fn sslmode_is_parsed_from_the_url() {
        for (url, mode) in [
            ("postgres://u@h/db", SslMode::Disable),
            ("postgres://u@h/db?sslmode=disable", SslMode::Disable),
            ("postgresql://u@h/db?sslmode=prefer", SslMode::Prefer),
            (
                "postgres://u@h/db?application_name=x&sslmode=require",
                SslMode::Require,
            ),
            (
                "postgres://u:p%40ss@h:5433/db?sslmode=verify-full&sslrootcert=/ca.pem",
                SslMode::VerifyFull,
            ),
            ("host=h user=u dbname=db", SslMode::Disable),
        ] {
            let target = Target::parse(url).unwrap();
            assert_eq!(target.mode, mode, "{url}");
        }
        let t =
            Target::parse("postgres://u:p%40ss@h:5433/db?sslrootcert=/ca.pem&application_name=x")
                .unwrap();
        assert_eq!(t.root_cert.as_deref(), Some("/ca.pem"));
        assert_eq!(t.config.get_application_name(), Some("x"));
        assert_eq!(t.config.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(t.config.get_ports(), [5433]);
        for url in [
            "postgres://u@h/db?sslmode=verify-ca",
            "postgres://u@h/db?sslmode=allow",
            "postgres://u@h/db?sslmode=on",
        ] {
            assert!(Target::parse(url).is_err(), "{url}");
        }
        let err = SslMode::of_url("postgres://u@h/db?sslmode=verify-ca").unwrap_err();
        assert!(err.to_string().contains("verify-full"), "{err}");
    }

    /// A `key=value` connection string's `sslmode` and `sslrootcert` count as a URL's do
    /// (they used to be left to tokio-postgres, whose `sslmode` this crate then overrode with
    /// `disable`: plain TCP), quoted or not; the other parameters reach tokio-postgres intact.
    #[test]
    fn sslmode_is_read_from_key_value_strings_too() {
        let t = Target::parse(
            "host=db user=u dbname=app sslmode=verify-full sslrootcert='/etc/my ca.pem'",
        )
        .unwrap();
        assert_eq!(t.mode, SslMode::VerifyFull);
        assert_eq!(t.root_cert.as_deref(), Some("/etc/my ca.pem"));
        assert_eq!(
            t.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        assert_eq!(t.config.get_user(), Some("u"));
        assert_eq!(t.config.get_dbname(), Some("app"));
        for (s, mode) in [
            ("host=h sslmode=require", SslMode::Require),
            ("sslmode = 'prefer' host=h", SslMode::Prefer),
            ("host=h sslmode=disable", SslMode::Disable),
            ("host=h", SslMode::Disable),
        ] {
            assert_eq!(Target::parse(s).unwrap().mode, mode, "{s}");
        }
        let t = Target::parse(r"password='p w\'d' sslmode=require application_name=a\ b").unwrap();
        assert_eq!(t.config.get_password(), Some(&b"p w'd"[..]));
        assert_eq!(t.config.get_application_name(), Some("a b"));
        let err = SslMode::of_url("host=h sslmode=verify-ca").unwrap_err();
        assert!(err.to_string().contains("verify-full"), "{err}");
        for s in [
            "host=h sslmode",
            "host=h sslmode='require",
            "host=h sslmode=",
        ] {
            assert!(Target::parse(s).is_err(), "{s}");
        }
    }

    /// Taking `sslmode`/`sslrootcert` out of a URL leaves the other parameters as written:
    /// tokio-postgres decodes `%20` but not `+`, so re-encoding a space as `+` changed them.
    #[test]
    fn url_parameters_are_passed_on_without_re_encoding() {
        let t = Target::parse(
            "postgres://u@h/db?options=-c%20search_path%3Dx&sslmode=require\
             &application_name=my%20app&sslrootcert=/c%2B%2B.pem",
        )
        .unwrap();
        assert_eq!(t.mode, SslMode::Require);
        assert_eq!(t.root_cert.as_deref(), Some("/c++.pem"));
        assert_eq!(t.config.get_options(), Some("-c search_path=x"));
        assert_eq!(t.config.get_application_name(), Some("my app"));
        let t = Target::parse("postgres://u@h/db?application_name=a+b").unwrap();
        assert_eq!(t.config.get_application_name(), Some("a+b"));
    }

    /// Without the feature, a mode that needs TLS fails before any connection is tried, and
    /// says which feature is missing. (Runs only in a build without `postgres-tls`:
    /// `cargo test --no-default-features --features postgres --lib`.)
    #[cfg(not(feature = "postgres-tls"))]
    #[actix_rt::test]
    async fn tls_modes_without_the_feature_name_it() {
        for mode in ["require", "verify-full"] {
            let url = format!("postgres://u@127.0.0.1:1/db?sslmode={mode}");
            let err = establish(&url).await.err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains("postgres-tls")),
                "{mode}: {err:?}"
            );
        }
    }

    #[test]
    fn sslmode_displays_as_its_url_value() {
        for mode in [
            SslMode::Disable,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyFull,
        ] {
            let url = format!("postgres://u@h/db?sslmode={mode}");
            assert_eq!(SslMode::of_url(&url).unwrap(), mode);
        }
    }
}
