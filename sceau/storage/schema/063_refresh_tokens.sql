-- Refresh tokens (spec v1.3): access tokens issued with a refresh token expire;
-- the refresh token, used once, gives a new pair. Both are stored hashed.
ALTER TABLE access_tokens ADD COLUMN expires_ts BIGINT;
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    access_token_hash TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_by_device ON refresh_tokens (user_id, device_id);
