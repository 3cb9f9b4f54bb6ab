-- What became of each PDU received over federation. Accepted events live
-- in `events` like local ones (pdu NULL here); the others keep their PDU
-- here, apart from the timeline: outliers (known without the state
-- before them, from state_ids or event_auth), soft-failed events (valid
-- when sent, but not against the room's current state: never shown to
-- clients nor cited as prev_events) and rejected ones (kept for the record
-- and so that they are not fetched again).
CREATE TABLE received_pdus (
    event_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    pdu TEXT,
    received_ts BIGINT NOT NULL
);
CREATE INDEX received_pdus_by_room ON received_pdus (room_id, outcome);
