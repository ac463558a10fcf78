DROP TABLE passkey_challenges;
DROP TABLE passkey_credentials;
