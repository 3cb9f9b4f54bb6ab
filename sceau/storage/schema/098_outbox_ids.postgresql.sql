-- Federation queue items take their IDs from one sequence, so several
-- processes queueing at once (workers) never collide; IDs still increase in
-- the order items are queued, which is the order each destination gets them.
CREATE SEQUENCE IF NOT EXISTS federation_outbox_item_ids OWNED BY federation_outbox.item_id;
SELECT setval('federation_outbox_item_ids', COALESCE(MAX(item_id), 0) + 1, false)
  FROM federation_outbox;
ALTER TABLE federation_outbox ALTER COLUMN item_id SET DEFAULT nextval('federation_outbox_item_ids');
