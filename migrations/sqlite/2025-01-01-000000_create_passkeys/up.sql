-- Registered passkeys. One row per credential; disabled credentials are kept (disabled_at set).
-- Timestamps are microseconds since the Unix epoch (UTC); transports is a JSON array of strings;
-- aaguid is the 16 raw bytes.
CREATE TABLE passkey_credentials (
    credential_id   BLOB    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL,
    user_handle     BLOB    NOT NULL,
    passkey         TEXT    NOT NULL,
    public_key      BLOB    NOT NULL,
    sign_count      BIGINT  NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
    transports      TEXT    NOT NULL DEFAULT '[]',
    aaguid          BLOB,
    backup_eligible BOOLEAN NOT NULL,
    backup_state    BOOLEAN NOT NULL,
    user_verified   BOOLEAN NOT NULL,
    attestation_fmt TEXT    NOT NULL,
    discoverable    BOOLEAN,
    device_name     TEXT    NOT NULL CHECK (length(device_name) <= 64),
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT,
    disabled_at     BIGINT,
    disabled_reason TEXT
);
CREATE INDEX passkey_credentials_user_id_idx ON passkey_credentials (user_id, created_at);

-- Begun ceremonies, consumed once by DELETE ... RETURNING.
CREATE TABLE passkey_challenges (
    handle     TEXT   NOT NULL PRIMARY KEY,
    ceremony   TEXT   NOT NULL,
    payload    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_challenges_expires_at_idx ON passkey_challenges (expires_at);
