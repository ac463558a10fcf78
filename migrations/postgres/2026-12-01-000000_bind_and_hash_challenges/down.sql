-- Back to the unbound table (pending ceremonies are dropped).
DROP TABLE passkey_challenges;
CREATE TABLE passkey_challenges (
    handle     TEXT        PRIMARY KEY,
    ceremony   TEXT        NOT NULL,
    payload    TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX passkey_challenges_expires_at_idx ON passkey_challenges (expires_at);
