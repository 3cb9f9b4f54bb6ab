-- A room is a DAG: the events nothing points at yet are its forward
-- extremities, and the next local event cites them all as prev_events.
-- Until federation, every room had exactly one (rooms.head_event_id).
CREATE TABLE room_forward_extremities (
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (room_id, event_id)
);
INSERT INTO room_forward_extremities (room_id, event_id)
    SELECT room_id, head_event_id FROM rooms WHERE head_event_id IS NOT NULL;
CREATE INDEX events_by_room_depth ON events (room_id, depth);
