//! [`NativeApp`]: a native app that shares the relying party's passkeys, given once and turned
//! into everything that must agree about it — the Android origin the ceremonies accept, the
//! Digital Asset Links statement and the Apple `webcredentials` entry.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};

use super::ConfigError;

/// A native app allowed to use the relying party's passkeys, set with
/// [`PasskeyConfigBuilder::native_app`](super::PasskeyConfigBuilder::native_app).
///
/// - **Android**: the package name and the SHA-256 fingerprint of the app's signing
///   certificate, as Play Console (Setup → App signing) or `keytool -list -v` shows it
///   (`14:6D:E9:…`, 32 bytes in hex, colons optional, any case). The config then accepts the
///   app's `android:apk-key-hash:` origin and serves the app in `/.well-known/assetlinks.json`.
/// - **Apple**: the Team ID (10 characters, `A-Z0-9`) and the bundle id; the app is served in
///   the `webcredentials` section of `/.well-known/apple-app-site-association`.
///
/// Both are validated when the config is built.
///
/// ```
/// use actix_passkeys::{policy::NativeApp, PasskeyConfig};
///
/// let fingerprint = "FA:C6:17:45:DC:09:03:78:6F:B9:ED:E6:2A:96:2B:39:9F:73:48:F0:BB:6F:89:9B:83:32:66:75:91:03:3B:9C";
/// let config = PasskeyConfig::builder("example.com", "Example")
///     .origin("https://example.com")
///     .native_app(NativeApp::android("com.example.app", fingerprint))
///     .native_app(NativeApp::apple("ABCDE12345", "com.example.app"))
///     .build()?;
/// assert_eq!(
///     config.origins()[1].as_str(),
///     "android:apk-key-hash:-sYXRdwJA3hvue3mKpYrOZ9zSPC7b4mbgzJmdZEDO5w"
/// );
/// assert_eq!(
///     config.apple_app_site_association().map(|doc| doc.to_string()).as_deref(),
///     Some(r#"{"webcredentials":{"apps":["ABCDE12345.com.example.app"]}}"#)
/// );
/// # Ok::<(), actix_passkeys::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NativeApp {
    /// An Android app.
    #[non_exhaustive]
    Android {
        /// The application id (`com.example.app`).
        package_name: String,
        /// The signing certificate's SHA-256 fingerprint; normalised to upper-case hex with
        /// colons when the config is built.
        sha256_cert_fingerprint: String,
    },
    /// An Apple (iOS, iPadOS, macOS) app; its passkeys come with the origin `https://<rp id>`,
    /// which the config then accepts.
    #[non_exhaustive]
    Apple {
        /// The developer account's Team ID (`ABCDE12345`).
        team_id: String,
        /// The bundle id (`com.example.app`).
        bundle_id: String,
    },
}

impl NativeApp {
    /// An Android app: its package name and its signing certificate's SHA-256 fingerprint.
    pub fn android(
        package_name: impl Into<String>,
        sha256_cert_fingerprint: impl Into<String>,
    ) -> Self {
        Self::Android {
            package_name: package_name.into(),
            sha256_cert_fingerprint: sha256_cert_fingerprint.into(),
        }
    }

    /// An Apple app: its Team ID and bundle id.
    pub fn apple(team_id: impl Into<String>, bundle_id: impl Into<String>) -> Self {
        Self::Apple {
            team_id: team_id.into(),
            bundle_id: bundle_id.into(),
        }
    }

    /// Checks the app and normalises its fingerprint.
    pub(super) fn validated(self) -> Result<Self, ConfigError> {
        match self {
            Self::Android {
                package_name,
                sha256_cert_fingerprint,
            } => {
                check_package_name(&package_name)?;
                let bytes = parse_fingerprint(&sha256_cert_fingerprint)?;
                Ok(Self::Android {
                    package_name,
                    sha256_cert_fingerprint: colon_hex(&bytes),
                })
            }
            Self::Apple { team_id, bundle_id } => {
                check_team_id(&team_id)?;
                check_bundle_id(&bundle_id)?;
                Ok(Self::Apple { team_id, bundle_id })
            }
        }
    }

    /// The `android:apk-key-hash:` origin of a (validated) Android app: the base64url SHA-256 of
    /// its signing certificate, which is the fingerprint's bytes.
    pub(super) fn android_origin(&self) -> Option<String> {
        match self {
            Self::Android {
                sha256_cert_fingerprint,
                ..
            } => parse_fingerprint(sha256_cert_fingerprint)
                .ok()
                .map(|bytes| format!("android:apk-key-hash:{}", URL_SAFE_NO_PAD.encode(bytes))),
            Self::Apple { .. } => None,
        }
    }
}

fn bad(why: impl Into<String>) -> ConfigError {
    ConfigError::new("native_apps", why)
}

/// 32 bytes from `AB:CD:…` or `abcd…` hex.
fn parse_fingerprint(raw: &str) -> Result<[u8; 32], ConfigError> {
    let compact: String = raw.trim().chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(&compact).ok().filter(|b| b.len() == 32);
    let colons_in_place = !raw.contains(':') || raw.trim().split(':').all(|pair| pair.len() == 2);
    match (bytes, colons_in_place) {
        (Some(bytes), true) => {
            let mut out = [0u8; 32];
            out.copy_from_slice(&bytes);
            Ok(out)
        }
        _ => Err(bad(
            "an Android signing certificate fingerprint must be its SHA-256 in hex \
             (32 bytes, e.g. `14:6D:E9:…`, as Play Console shows it)",
        )),
    }
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// An Android application id: two or more dot-separated segments, each a letter followed by
/// letters, digits or underscores.
fn check_package_name(name: &str) -> Result<(), ConfigError> {
    let segments: Vec<&str> = name.split('.').collect();
    let ok = segments.len() >= 2
        && segments.iter().all(|seg| {
            let mut chars = seg.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err(bad(
            "an Android package name is two or more dot-separated segments of letters, \
             digits and underscores, each starting with a letter (`com.example.app`)",
        ))
    }
}

fn check_team_id(team_id: &str) -> Result<(), ConfigError> {
    let ok = team_id.len() == 10
        && team_id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(bad(
            "an Apple Team ID is 10 upper-case letters and digits (`ABCDE12345`)",
        ))
    }
}

/// A bundle id: dot-separated, non-empty segments of letters, digits and hyphens.
fn check_bundle_id(bundle_id: &str) -> Result<(), ConfigError> {
    let ok = !bundle_id.is_empty()
        && bundle_id.split('.').all(|seg| {
            !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(bad(
            "a bundle id is dot-separated segments of letters, digits and hyphens \
             (`com.example.app`)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FINGERPRINT: &str = "FA:C6:17:45:DC:09:03:78:6F:B9:ED:E6:2A:96:2B:39:9F:73:48:F0:BB:6F:89:9B:83:32:66:75:91:03:3B:9C";

    #[test]
    fn a_fingerprint_is_accepted_with_or_without_colons_in_any_case_and_normalised() {
        for raw in [
            FINGERPRINT.to_owned(),
            FINGERPRINT.to_lowercase(),
            FINGERPRINT.replace(':', ""),
            format!(" {FINGERPRINT} "),
        ] {
            let app = NativeApp::android("com.example.app", raw.clone())
                .validated()
                .unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(
                app,
                NativeApp::android("com.example.app", FINGERPRINT),
                "{raw}"
            );
            assert_eq!(
                app.android_origin().as_deref(),
                Some("android:apk-key-hash:-sYXRdwJA3hvue3mKpYrOZ9zSPC7b4mbgzJmdZEDO5w")
            );
        }
    }

    #[test]
    fn malformed_native_apps_are_refused_with_their_field() {
        let short = &FINGERPRINT[..FINGERPRINT.len() - 3];
        let long = format!("{FINGERPRINT}:00");
        let misplaced = FINGERPRINT.replacen(':', "", 1).replacen("C6", "C:6", 1);
        let sha1 = "58:E1:C4:13:3F:74:41:EC:3D:2C:27:02:70:A1:48:02:DA:47:BA:0E";
        let bad_apps = [
            NativeApp::android("com.example.app", short),
            NativeApp::android("com.example.app", long),
            NativeApp::android("com.example.app", misplaced),
            NativeApp::android("com.example.app", sha1),
            NativeApp::android("com.example.app", FINGERPRINT.replace('F', "G")),
            NativeApp::android("com.example.app", ""),
            NativeApp::android("example", FINGERPRINT),
            NativeApp::android("com.1example", FINGERPRINT),
            NativeApp::android("com..example", FINGERPRINT),
            NativeApp::android("com.exa-mple", FINGERPRINT),
            NativeApp::android("", FINGERPRINT),
            NativeApp::apple("ABCDE1234", "com.example.app"),
            NativeApp::apple("ABCDE123456", "com.example.app"),
            NativeApp::apple("abcde12345", "com.example.app"),
            NativeApp::apple("ABCDE12345", ""),
            NativeApp::apple("ABCDE12345", "com..example"),
            NativeApp::apple("ABCDE12345", "com.example/app"),
            NativeApp::apple("ABCDE12345", "com.example.app."),
        ];
        for app in bad_apps {
            let Err(err) = app.clone().validated() else {
                panic!("{app:?} must be refused");
            };
            assert_eq!(err.field(), "native_apps", "{app:?}");
        }
        for ok in [
            NativeApp::android("com.example.app_2", FINGERPRINT),
            NativeApp::apple("ABCDE12345", "com.example.my-app"),
            NativeApp::apple("0123456789", "app"),
        ] {
            if let Err(e) = ok.clone().validated() {
                panic!("{ok:?}: {e}");
            }
        }
    }
}
