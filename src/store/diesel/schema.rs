//! Diesel table definitions, one module per backend, matching the embedded migrations
//! (`migrations/postgres`, `migrations/sqlite`; a test checks every column) under the default
//! table names ([`Tables::default`](super::Tables)).
//!
//! Public so that apps can join their own tables against `passkey_credentials` (for example to
//! list users with a passkey). The stores themselves do not use these definitions: their SQL
//! follows the configured [`Tables`](super::Tables).

/// The two tables, for a backend's column types.
macro_rules! passkey_tables {
    ($backend:literal, bytes: $bytes:ident, time: $time:ident, time_doc: $time_doc:literal,
     transports: $transports:ty, transports_doc: $transports_doc:literal,
     aaguid: $aaguid:ident, aaguid_doc: $aaguid_doc:literal, name: $name:ident) => {
        diesel::table! {
            #[doc = concat!("Registered passkeys (", $backend, ").")]
            passkey_credentials (credential_id) {
                /// Credential id chosen by the authenticator.
                credential_id -> $bytes,
                /// Owning app user id.
                user_id -> Text,
                /// WebAuthn user handle.
                user_handle -> $bytes,
                /// The engine's credential, JSON.
                passkey -> Text,
                /// COSE public key.
                public_key -> $bytes,
                /// Last accepted signature counter (u32 range).
                sign_count -> BigInt,
                #[doc = concat!("Reported transports", $transports_doc, ".")]
                transports -> $transports,
                #[doc = concat!("Authenticator model AAGUID", $aaguid_doc, ".")]
                aaguid -> Nullable<$aaguid>,
                /// BE flag.
                backup_eligible -> Bool,
                /// BS flag.
                backup_state -> Bool,
                /// UV at registration.
                user_verified -> Bool,
                /// Attestation statement format.
                attestation_fmt -> Text,
                /// credProps `rk`, when reported.
                discoverable -> Nullable<Bool>,
                /// User's name for the passkey (≤ 64 characters).
                device_name -> $name,
                #[doc = concat!("Registration time", $time_doc, ".")]
                created_at -> $time,
                #[doc = concat!("Last sign-in time", $time_doc, ".")]
                last_used_at -> Nullable<$time>,
                #[doc = concat!("When it was disabled", $time_doc, ".")]
                disabled_at -> Nullable<$time>,
                /// Why it was disabled.
                disabled_reason -> Nullable<Text>,
                /// Whether the client reported `prf.enabled` at registration.
                prf_enabled -> Bool,
                /// The credential's PRF salt (32 bytes), when PRF is enabled.
                prf_salt -> Nullable<$bytes>,
                /// `platform` / `cross-platform`, as the last sign-in reported it.
                last_attachment -> Nullable<Text>,
            }
        }

        diesel::table! {
            #[doc = concat!("Begun ceremonies (", $backend, ").")]
            passkey_challenges (handle_hash) {
                /// SHA-256 of the opaque random handle (32 bytes; the handle is never stored).
                handle_hash -> $bytes,
                /// `registration` or `authentication`.
                ceremony -> Text,
                /// The rp id (tenant) that began the ceremony.
                rp_id -> Text,
                /// The user it was begun for (`NULL` for a usernameless sign-in).
                user_id -> Nullable<Text>,
                /// Engine state, JSON.
                payload -> Text,
                #[doc = concat!("When the ceremony began", $time_doc, ".")]
                created_at -> $time,
                #[doc = concat!("When the challenge stops being accepted", $time_doc, ".")]
                expires_at -> $time,
            }
        }

        diesel::allow_tables_to_appear_in_same_query!(passkey_credentials, passkey_challenges);
    };
}

/// PostgreSQL tables: `BYTEA` ids, `TIMESTAMPTZ` times, `TEXT[]` transports, `UUID` AAGUID.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod pg {
    passkey_tables!("PostgreSQL", bytes: Bytea, time: Timestamptz, time_doc: "",
        transports: Array<Text>, transports_doc: "",
        aaguid: Uuid, aaguid_doc: "", name: Varchar);
}

/// SQLite tables: `BLOB` ids, times as `BIGINT` microseconds since the Unix epoch (UTC),
/// transports as a JSON array in `TEXT`, AAGUID as 16 raw bytes.
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite {
    passkey_tables!("SQLite", bytes: Binary, time: BigInt, time_doc: ", µs since the epoch",
        transports: Text, transports_doc: ", a JSON array of strings",
        aaguid: Binary, aaguid_doc: ", 16 bytes", name: Text);
}
