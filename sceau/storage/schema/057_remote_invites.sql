-- The stripped state another server sent with an invite into a room this
-- server does not hold yet: what the invitee's /sync shows before joining.
CREATE TABLE remote_invite_state (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    stripped_state TEXT NOT NULL
);
