-- Federation transport: other servers' signing keys, inbound transaction IDs,
-- and the outbound queue per destination with its retry state.

-- Verify keys of remote servers, each with the key response that carried it
-- (served again, countersigned, by the notary endpoint).
CREATE TABLE federation_server_keys (
    server_name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    verify_key TEXT NOT NULL,
    valid_until_ts BIGINT NOT NULL,
    fetched_ts BIGINT NOT NULL,
    key_json TEXT NOT NULL,
    PRIMARY KEY (server_name, key_id)
);

-- Transactions received (PUT /send/{txnId}) and the answer given, so a retry
-- of the same ID gets the same answer without processing anything twice.
CREATE TABLE federation_received_txns (
    origin TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    response TEXT NOT NULL,
    received_ts BIGINT NOT NULL,
    PRIMARY KEY (origin, txn_id)
);
CREATE INDEX federation_received_txns_by_ts ON federation_received_txns (received_ts);

-- PDUs and EDUs waiting to be sent, in order, per destination. kind is 'pdu' or 'edu'.
CREATE TABLE federation_outbox (
    item_id BIGINT PRIMARY KEY,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    queued_ts BIGINT NOT NULL
);
CREATE INDEX federation_outbox_by_destination ON federation_outbox (destination, item_id);

-- Retry state of each destination: consecutive failures and when to try next.
CREATE TABLE federation_destinations (
    destination TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    retry_interval_ms BIGINT NOT NULL,
    retry_at_ts BIGINT NOT NULL,
    txn_counter BIGINT NOT NULL
);
