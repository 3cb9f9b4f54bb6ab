-- A client's transaction ID is scoped to its device AND the request's path
-- (client-server API, "Transaction identifiers"): the same ID sent to two
-- rooms, two event types, or send and redact is two requests. event_txns
-- gains the room, the endpoint ('send' or 'redact') and that endpoint's
-- other path parameter (the event type for send, the redacted event's ID
-- for redact). Existing rows take the values their events imply; a
-- redaction is taken to have come through /redact, the endpoint clients use.
ALTER TABLE event_txns
  ADD COLUMN room_id TEXT, ADD COLUMN endpoint TEXT, ADD COLUMN path_param TEXT;
UPDATE event_txns t SET
  room_id = e.room_id,
  endpoint = CASE WHEN e.type = 'm.room.redaction' THEN 'redact' ELSE 'send' END,
  path_param = CASE WHEN e.type = 'm.room.redaction'
                    THEN COALESCE(e.pdu::json ->> 'redacts', e.pdu::json -> 'content' ->> 'redacts', '')
                    ELSE e.type END
  FROM events e WHERE e.event_id = t.event_id;
DELETE FROM event_txns WHERE room_id IS NULL;
ALTER TABLE event_txns
  ALTER COLUMN room_id SET NOT NULL,
  ALTER COLUMN endpoint SET NOT NULL,
  ALTER COLUMN path_param SET NOT NULL,
  DROP CONSTRAINT event_txns_pkey,
  ADD CONSTRAINT event_txns_pkey
    PRIMARY KEY (user_id, device_id, txn_id, room_id, endpoint, path_param);

-- /sendToDevice/{eventType}/{txnId}: the event type is part of the path.
-- Existing rows cannot tell their type; they keep '' and are honoured for
-- every type until they expire (a day), so a retry across the upgrade is
-- still recognised.
ALTER TABLE to_device_txns
  ADD COLUMN event_type TEXT NOT NULL DEFAULT '',
  DROP CONSTRAINT to_device_txns_pkey,
  ADD CONSTRAINT to_device_txns_pkey PRIMARY KEY (user_id, device_id, txn_id, event_type);
ALTER TABLE to_device_txns ALTER COLUMN event_type DROP DEFAULT;
