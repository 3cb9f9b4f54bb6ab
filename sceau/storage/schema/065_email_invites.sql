-- Invitations by email to people without an account yet (the spec's
-- third-party invites, this server acting as its own identity server).
-- Each becomes a membership when the address's owner registers here.
CREATE TABLE email_invites (
    token TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    address TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    expires_ts BIGINT NOT NULL
);
CREATE INDEX email_invites_by_address ON email_invites (address);
