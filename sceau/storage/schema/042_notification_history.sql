-- GET /notifications lists read notifications as well as unread ones.
-- Each unread row now keeps the actions its push rule gave (NULL: ["notify"],
-- the most common, stored as nothing) and when the notification was made.
-- Rows written before this migration have neither.
ALTER TABLE event_push_actions ADD COLUMN actions_json TEXT;
ALTER TABLE event_push_actions ADD COLUMN ts BIGINT;

-- Notifications a read receipt has cleared from event_push_actions, moved
-- here by the receipt's transaction (unread counts never read this table).
-- Trimmed per user to the newest rows of the last 30 days.
CREATE TABLE notification_history (
    user_id TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    highlight INTEGER NOT NULL,
    actions_json TEXT,
    ts BIGINT,
    PRIMARY KEY (user_id, stream_pos)
);
-- A redaction removes its target's rows for every user.
CREATE INDEX notification_history_by_pos ON notification_history (stream_pos);
