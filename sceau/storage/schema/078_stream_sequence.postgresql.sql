-- The shared stream's positions when several processes write (workers):
-- each takes its positions from this sequence. One process alone never uses it.
CREATE SEQUENCE IF NOT EXISTS stream_positions;
