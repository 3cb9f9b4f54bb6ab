-- Content reports (POST /rooms/{roomId}/report/{eventId}, /rooms/{roomId}/report,
-- /users/{userId}/report), kept for the server's administrators to review.
-- kind is 'event', 'room' or 'user'; target_user_id is the reported user, or
-- the sender of a reported event. score is only ever given for events.
CREATE TABLE content_reports (
    report_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    reporter_id TEXT NOT NULL,
    room_id TEXT,
    event_id TEXT,
    target_user_id TEXT,
    reason TEXT,
    score INTEGER,
    received_ts BIGINT NOT NULL
);
CREATE INDEX content_reports_by_ts ON content_reports (received_ts);
