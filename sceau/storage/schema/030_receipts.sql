-- Read receipts: the latest receipt per (room, type, user, thread).
-- thread_id is '' for an unthreaded receipt, 'main' or a thread root otherwise.
CREATE TABLE receipts (
    room_id TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    user_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    -- Stream position of the event the receipt points at (receipts only move forward).
    event_stream_pos BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    -- Position of this receipt in the shared stream.
    stream_pos BIGINT NOT NULL,
    PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
);
CREATE INDEX receipts_by_room_pos ON receipts (room_id, stream_pos);
