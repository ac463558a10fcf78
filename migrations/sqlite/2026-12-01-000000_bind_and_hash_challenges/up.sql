-- Challenge records are bound to their tenant (rp_id) and user (user_id), and the handle (the
-- bearer secret of a ceremony) is kept only as its SHA-256 (handle_hash, 32 bytes), so a read of
-- the table or a backup within the TTL cannot finish anyone's ceremony. Pending ceremonies live
-- for minutes: they are dropped, not migrated (a user mid-ceremony simply begins again).
DROP TABLE passkey_challenges;
CREATE TABLE passkey_challenges (
    handle_hash BLOB   NOT NULL PRIMARY KEY,
    ceremony    TEXT   NOT NULL,
    rp_id       TEXT   NOT NULL,
    user_id     TEXT,
    payload     TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX passkey_challenges_expires_at_idx ON passkey_challenges (expires_at);
