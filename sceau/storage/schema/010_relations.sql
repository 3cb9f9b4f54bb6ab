-- Relations and threads: listing a room's threads by their latest reply
-- walks this index instead of every event of the room.
CREATE INDEX events_by_room_relation ON events (room_id, rel_type, stream_pos);
