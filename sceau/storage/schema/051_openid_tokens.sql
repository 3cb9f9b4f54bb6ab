-- OpenID tokens (POST /user/{userId}/openid/request_token), by the SHA-256 of
-- the token: another server checks one through /federation/v1/openid/userinfo.
CREATE TABLE openid_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_ts BIGINT NOT NULL
);
CREATE INDEX openid_tokens_by_expiry ON openid_tokens (expires_ts);
