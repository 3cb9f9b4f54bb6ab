-- Full-text search over message bodies, room names and topics (SQLite FTS5).
-- The rowid is the event's stream position, so removing a redacted event
-- and paging by recency use the rowid index. Encrypted events carry no
-- searchable text and are never indexed.
CREATE VIRTUAL TABLE event_search USING fts5(
    value,
    event_id UNINDEXED,
    room_id UNINDEXED,
    key UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO event_search (rowid, value, event_id, room_id, key)
SELECT stream_pos, json_extract(pdu, '$.content.body'), event_id, room_id, 'content.body'
FROM events
WHERE type = 'm.room.message' AND redacted_by IS NULL
  AND json_type(pdu, '$.content.body') = 'text';

INSERT INTO event_search (rowid, value, event_id, room_id, key)
SELECT stream_pos, json_extract(pdu, '$.content.name'), event_id, room_id, 'content.name'
FROM events
WHERE type = 'm.room.name' AND redacted_by IS NULL
  AND json_type(pdu, '$.content.name') = 'text';

INSERT INTO event_search (rowid, value, event_id, room_id, key)
SELECT stream_pos, json_extract(pdu, '$.content.topic'), event_id, room_id, 'content.topic'
FROM events
WHERE type = 'm.room.topic' AND redacted_by IS NULL
  AND json_type(pdu, '$.content.topic') = 'text';
