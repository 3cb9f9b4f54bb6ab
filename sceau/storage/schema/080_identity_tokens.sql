-- Identity-server accounts (POST /_matrix/identity/v2/account/register): a
-- homeserver or client that proved a user's identity with an OpenID token
-- gets a token for the identity endpoints (store-invite). Stored by hash.
CREATE TABLE identity_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE INDEX identity_tokens_by_user ON identity_tokens (user_id);
