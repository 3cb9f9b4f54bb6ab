-- Full-text search over message bodies, room names and topics (PostgreSQL).
-- 'simple' keeps every word (no stemming, no stop words), like SQLite's
-- unicode61 tokenizer, so both engines find the same events. Encrypted
-- events carry no searchable text and are never indexed.
CREATE TABLE event_search (
    stream_pos BIGINT PRIMARY KEY,
    event_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    key TEXT NOT NULL,
    vector tsvector NOT NULL
);
CREATE INDEX event_search_vector ON event_search USING GIN (vector);
CREATE INDEX event_search_by_room ON event_search (room_id, stream_pos);

-- Backfill; events whose JSON holds a NUL escape cannot become PostgreSQL text.
INSERT INTO event_search (stream_pos, event_id, room_id, key, vector)
SELECT stream_pos, event_id, room_id, k.key,
       to_tsvector('simple', pdu::json #>> ARRAY['content', k.field])
FROM events
JOIN (VALUES ('m.room.message', 'body', 'content.body'),
             ('m.room.name', 'name', 'content.name'),
             ('m.room.topic', 'topic', 'content.topic')) AS k(type, field, key)
  ON k.type = events.type
WHERE redacted_by IS NULL
  AND position('\u0000' in pdu) = 0
  AND json_typeof(pdu::json #> ARRAY['content', k.field]) = 'string';
