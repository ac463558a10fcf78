-- Back to the unbound table (pending ceremonies are dropped).
DROP TABLE passkey_challenges;
CREATE TABLE passkey_challenges (
    handle     TEXT   NOT NULL PRIMARY KEY,
    ceremony   TEXT   NOT NULL,
    payload    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_challenges_expires_at_idx ON passkey_challenges (expires_at);
