ALTER TABLE passkey_credentials DROP COLUMN last_attachment;
ALTER TABLE passkey_credentials DROP COLUMN prf_salt;
ALTER TABLE passkey_credentials DROP COLUMN prf_enabled;
