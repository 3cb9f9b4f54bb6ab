-- Email validation sessions (POST .../email/requestToken) and the addresses
-- bound to accounts. purpose is 'register' or 'password'; a session is keyed
-- for send_attempt by (purpose, client_secret, address). Only the SHA-256 of
-- the emailed token is stored.
CREATE TABLE threepid_sessions (
    sid TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    medium TEXT NOT NULL,
    address TEXT NOT NULL,
    send_attempt BIGINT NOT NULL,
    token_hash TEXT NOT NULL,
    next_link TEXT,
    sent_ts BIGINT NOT NULL,
    validated_ts BIGINT
);
CREATE UNIQUE INDEX threepid_sessions_by_attempt
    ON threepid_sessions (purpose, client_secret, address);
CREATE INDEX threepid_sessions_by_ts ON threepid_sessions (sent_ts);

CREATE TABLE user_threepids (
    medium TEXT NOT NULL,
    address TEXT NOT NULL,
    user_id TEXT NOT NULL,
    validated_at BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (medium, address)
);
CREATE INDEX user_threepids_by_user ON user_threepids (user_id);
