-- Account renewal by email (account validity): single-use links, stored hashed,
-- and how many of the configured reminders went out for the current expiry.
CREATE TABLE account_renewal_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE INDEX account_renewal_tokens_by_user ON account_renewal_tokens (user_id);
ALTER TABLE users ADD COLUMN renewal_mails_sent INTEGER NOT NULL DEFAULT 0;
