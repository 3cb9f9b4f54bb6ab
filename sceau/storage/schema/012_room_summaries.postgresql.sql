-- What the room directory and the user directory need to know about a room,
-- kept current by a persist hook as state events arrive, so that listing
-- public rooms never parses state events.
CREATE TABLE room_summaries (
    room_id TEXT PRIMARY KEY,
    room_type TEXT,
    join_rule TEXT,
    history_visibility TEXT,
    guest_access TEXT,
    name TEXT,
    topic TEXT,
    canonical_alias TEXT,
    avatar_url TEXT,
    encryption TEXT
);
CREATE INDEX room_summaries_by_join_rule ON room_summaries (join_rule);

INSERT INTO room_summaries (room_id, room_type, join_rule, history_visibility, guest_access,
                            name, topic, canonical_alias, avatar_url, encryption)
SELECT r.room_id,
  MAX(CASE WHEN c.type = 'm.room.create' AND json_typeof(e.pdu::json #> '{content,type}') = 'string'
           THEN e.pdu::json #>> '{content,type}' END),
  MAX(CASE WHEN c.type = 'm.room.join_rules' AND json_typeof(e.pdu::json #> '{content,join_rule}') = 'string'
           THEN e.pdu::json #>> '{content,join_rule}' END),
  MAX(CASE WHEN c.type = 'm.room.history_visibility' AND json_typeof(e.pdu::json #> '{content,history_visibility}') = 'string'
           THEN e.pdu::json #>> '{content,history_visibility}' END),
  MAX(CASE WHEN c.type = 'm.room.guest_access' AND json_typeof(e.pdu::json #> '{content,guest_access}') = 'string'
           THEN e.pdu::json #>> '{content,guest_access}' END),
  MAX(CASE WHEN c.type = 'm.room.name' AND json_typeof(e.pdu::json #> '{content,name}') = 'string'
           THEN e.pdu::json #>> '{content,name}' END),
  MAX(CASE WHEN c.type = 'm.room.topic' AND json_typeof(e.pdu::json #> '{content,topic}') = 'string'
           THEN e.pdu::json #>> '{content,topic}' END),
  MAX(CASE WHEN c.type = 'm.room.canonical_alias' AND json_typeof(e.pdu::json #> '{content,alias}') = 'string'
           THEN e.pdu::json #>> '{content,alias}' END),
  MAX(CASE WHEN c.type = 'm.room.avatar' AND json_typeof(e.pdu::json #> '{content,url}') = 'string'
           THEN e.pdu::json #>> '{content,url}' END),
  MAX(CASE WHEN c.type = 'm.room.encryption' AND json_typeof(e.pdu::json #> '{content,algorithm}') = 'string'
           THEN e.pdu::json #>> '{content,algorithm}' END)
FROM rooms r
LEFT JOIN current_state c ON c.room_id = r.room_id AND c.state_key = ''
LEFT JOIN events e ON e.event_id = c.event_id AND position('\u0000' in e.pdu) = 0
GROUP BY r.room_id;
