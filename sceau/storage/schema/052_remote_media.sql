-- Media of other servers, downloaded once (and scanned) then served from the
-- local store: the bytes live on disk under local_id, like a local upload,
-- but local_id is never reachable as an mxc:// URI of this server.
CREATE TABLE remote_media (
    origin TEXT NOT NULL,
    media_id TEXT NOT NULL,
    local_id TEXT NOT NULL,
    content_type TEXT,
    filename TEXT,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    fetched_ts BIGINT NOT NULL,
    PRIMARY KEY (origin, media_id)
);
