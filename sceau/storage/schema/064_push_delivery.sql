-- Push delivery: each HTTP pusher's position in its user's notifications, so a
-- restart sends what was missed and nothing twice (NULL: starts from "now").
ALTER TABLE pushers ADD COLUMN last_stream_pos BIGINT;
