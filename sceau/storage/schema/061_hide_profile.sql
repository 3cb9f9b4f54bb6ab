-- Users who set im.vector.hide_profile in their global account data: left out
-- of user-directory search results (the state's directory opt-out).
ALTER TABLE users ADD COLUMN hidden_from_directory INTEGER NOT NULL DEFAULT 0;
