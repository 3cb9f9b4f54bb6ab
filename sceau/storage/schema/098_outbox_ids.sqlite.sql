-- Federation queue items get their IDs from the database (PostgreSQL: a
-- sequence). SQLite serves one process, but the queue's code is the same:
-- an AUTOINCREMENT key, never reused, increasing in the order items are queued.
CREATE TABLE federation_outbox_ids (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    queued_ts BIGINT NOT NULL
);
INSERT INTO federation_outbox_ids (item_id, destination, kind, body, queued_ts)
  SELECT item_id, destination, kind, body, queued_ts FROM federation_outbox ORDER BY item_id;
DROP TABLE federation_outbox;
ALTER TABLE federation_outbox_ids RENAME TO federation_outbox;
CREATE INDEX federation_outbox_by_destination ON federation_outbox (destination, item_id);
