-- GET /rooms/{roomId}/timestamp_to_event: the closest events to a time, in a room.
CREATE INDEX events_by_room_ts ON events (room_id, origin_server_ts, stream_pos);
