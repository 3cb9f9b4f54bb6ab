-- A user's own push rules, ordered within their kind by priority (ascending).
CREATE TABLE push_rules (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    priority INTEGER NOT NULL,
    rule_json TEXT NOT NULL,
    PRIMARY KEY (user_id, kind, rule_id)
);

-- Changes a user made to a server-default rule (NULL: unchanged).
CREATE TABLE push_rule_defaults (
    user_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    enabled INTEGER,
    actions_json TEXT,
    PRIMARY KEY (user_id, rule_id)
);

-- When each user's ruleset last changed, for m.push_rules in /sync.
CREATE TABLE push_rules_stream (
    user_id TEXT PRIMARY KEY,
    stream_pos BIGINT NOT NULL
);

CREATE TABLE pushers (
    user_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    pushkey TEXT NOT NULL,
    kind TEXT NOT NULL,
    pusher_json TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, app_id, pushkey)
);
CREATE INDEX pushers_by_key ON pushers (app_id, pushkey);

-- Notifying events not yet read, per user: unread counts are sums over these rows.
-- A receipt deletes the rows at or before the event it points at.
CREATE TABLE event_push_actions (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    thread_id TEXT NOT NULL,
    highlight INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id, stream_pos)
);
