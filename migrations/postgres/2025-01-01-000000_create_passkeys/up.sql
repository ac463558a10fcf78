-- Registered passkeys. One row per credential; disabled credentials are kept (disabled_at set).
CREATE TABLE passkey_credentials (
    credential_id   BYTEA       PRIMARY KEY,
    user_id         TEXT        NOT NULL,
    user_handle     BYTEA       NOT NULL,
    passkey         TEXT        NOT NULL,
    public_key      BYTEA       NOT NULL,
    sign_count      BIGINT      NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
    transports      TEXT[]      NOT NULL DEFAULT '{}',
    aaguid          UUID,
    backup_eligible BOOLEAN     NOT NULL,
    backup_state    BOOLEAN     NOT NULL,
    user_verified   BOOLEAN     NOT NULL,
    attestation_fmt TEXT        NOT NULL,
    discoverable    BOOLEAN,
    device_name     VARCHAR(64) NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    last_used_at    TIMESTAMPTZ,
    disabled_at     TIMESTAMPTZ,
    disabled_reason TEXT
);
CREATE INDEX passkey_credentials_user_id_idx ON passkey_credentials (user_id, created_at);

-- Begun ceremonies, consumed once by DELETE ... RETURNING.
CREATE TABLE passkey_challenges (
    handle     TEXT        PRIMARY KEY,
    ceremony   TEXT        NOT NULL,
    payload    TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX passkey_challenges_expires_at_idx ON passkey_challenges (expires_at);
