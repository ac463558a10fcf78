//! Diesel table definitions, one module per backend, matching the embedded migrations
//! (`migrations/postgres`, `migrations/sqlite`; a test checks every column).
//!
//! Public so that apps can join their own tables against `passkey_credentials` (for example to
//! list users with a passkey).

/// PostgreSQL tables: `BYTEA` ids, `TIMESTAMPTZ` times, `TEXT[]` transports, `UUID` AAGUID.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod pg {
    diesel::table! {
        /// Registered passkeys (PostgreSQL).
        passkey_credentials (credential_id) {
            /// Credential id chosen by the authenticator.
            credential_id -> Bytea,
            /// Owning app user id.
            user_id -> Text,
            /// WebAuthn user handle.
            user_handle -> Bytea,
            /// The engine's credential, JSON.
            passkey -> Text,
            /// COSE public key.
            public_key -> Bytea,
            /// Last accepted signature counter (u32 range).
            sign_count -> Int8,
            /// Reported transports.
            transports -> Array<Text>,
            /// Authenticator model AAGUID.
            aaguid -> Nullable<Uuid>,
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
            device_name -> Varchar,
            /// Registration time.
            created_at -> Timestamptz,
            /// Last sign-in time.
            last_used_at -> Nullable<Timestamptz>,
            /// When it was disabled.
            disabled_at -> Nullable<Timestamptz>,
            /// Why it was disabled.
            disabled_reason -> Nullable<Text>,
        }
    }

    diesel::table! {
        /// Begun ceremonies (PostgreSQL).
        passkey_challenges (handle_hash) {
            /// SHA-256 of the opaque random handle (32 bytes; the handle is never stored).
            handle_hash -> Bytea,
            /// `registration` or `authentication`.
            ceremony -> Text,
            /// The rp id (tenant) that began the ceremony.
            rp_id -> Text,
            /// The user it was begun for (`NULL` for a usernameless sign-in).
            user_id -> Nullable<Text>,
            /// Engine state, JSON.
            payload -> Text,
            /// When the ceremony began.
            created_at -> Timestamptz,
            /// When the challenge stops being accepted.
            expires_at -> Timestamptz,
        }
    }

    diesel::allow_tables_to_appear_in_same_query!(passkey_credentials, passkey_challenges);
}

/// SQLite tables: `BLOB` ids, times as `BIGINT` microseconds since the Unix epoch (UTC),
/// transports as a JSON array in `TEXT`, AAGUID as 16 raw bytes.
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite {
    diesel::table! {
        /// Registered passkeys (SQLite).
        passkey_credentials (credential_id) {
            /// Credential id chosen by the authenticator.
            credential_id -> Binary,
            /// Owning app user id.
            user_id -> Text,
            /// WebAuthn user handle.
            user_handle -> Binary,
            /// The engine's credential, JSON.
            passkey -> Text,
            /// COSE public key.
            public_key -> Binary,
            /// Last accepted signature counter (u32 range).
            sign_count -> BigInt,
            /// Reported transports, a JSON array of strings.
            transports -> Text,
            /// Authenticator model AAGUID, 16 bytes.
            aaguid -> Nullable<Binary>,
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
            device_name -> Text,
            /// Registration time, µs since the epoch.
            created_at -> BigInt,
            /// Last sign-in time, µs since the epoch.
            last_used_at -> Nullable<BigInt>,
            /// When it was disabled, µs since the epoch.
            disabled_at -> Nullable<BigInt>,
            /// Why it was disabled.
            disabled_reason -> Nullable<Text>,
        }
    }

    diesel::table! {
        /// Begun ceremonies (SQLite).
        passkey_challenges (handle_hash) {
            /// SHA-256 of the opaque random handle (32 bytes; the handle is never stored).
            handle_hash -> Binary,
            /// `registration` or `authentication`.
            ceremony -> Text,
            /// The rp id (tenant) that began the ceremony.
            rp_id -> Text,
            /// The user it was begun for (`NULL` for a usernameless sign-in).
            user_id -> Nullable<Text>,
            /// Engine state, JSON.
            payload -> Text,
            /// When the ceremony began, µs since the epoch.
            created_at -> BigInt,
            /// When the challenge stops being accepted, µs since the epoch.
            expires_at -> BigInt,
        }
    }

    diesel::allow_tables_to_appear_in_same_query!(passkey_credentials, passkey_challenges);
}
