-- A client's transaction ID is scoped to its device AND the request's path
-- (client-server API, "Transaction identifiers"): the same ID sent to two
-- rooms, two event types, or send and redact is two requests. event_txns
-- gains the room, the endpoint ('send' or 'redact') and that endpoint's
-- other path parameter (the event type for send, the redacted event's ID
-- for redact). Existing rows take the values their events imply; a
-- redaction is taken to have come through /redact, the endpoint clients use.
CREATE TABLE event_txns_scoped (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    path_param TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id, room_id, endpoint, path_param)
);
INSERT INTO event_txns_scoped
  SELECT t.user_id, t.device_id, t.txn_id, e.room_id,
         CASE WHEN e.type = 'm.room.redaction' THEN 'redact' ELSE 'send' END,
         CASE WHEN e.type = 'm.room.redaction'
              THEN COALESCE(json_extract(e.pdu, '$.redacts'),
                            json_extract(e.pdu, '$.content.redacts'), '')
              ELSE e.type END,
         t.event_id, t.created_ts
  FROM event_txns t JOIN events e ON e.event_id = t.event_id;
DROP TABLE event_txns;
ALTER TABLE event_txns_scoped RENAME TO event_txns;

-- /sendToDevice/{eventType}/{txnId}: the event type is part of the path.
-- Existing rows cannot tell their type; they keep '' and are honoured for
-- every type until they expire (a day), so a retry across the upgrade is
-- still recognised.
CREATE TABLE to_device_txns_typed (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id, event_type)
);
INSERT INTO to_device_txns_typed
  SELECT user_id, device_id, txn_id, '', created_ts FROM to_device_txns;
DROP TABLE to_device_txns;
ALTER TABLE to_device_txns_typed RENAME TO to_device_txns;
