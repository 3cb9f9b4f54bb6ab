-- Media uploaded by local users. A row made by POST /media/v1/create has no
-- content yet (uploaded_ts NULL) until PUT /upload/{serverName}/{mediaId};
-- the bytes live on disk under the media store, named by media_id.
CREATE TABLE media (
    media_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    content_type TEXT,
    filename TEXT,
    size BIGINT,
    sha256 TEXT,
    created_ts BIGINT NOT NULL,
    uploaded_ts BIGINT,
    -- Until when a created, not yet uploaded ID may still be uploaded to.
    expires_ts BIGINT
);
CREATE INDEX media_by_user ON media (user_id);

-- Thumbnails generated on demand, one per media and standard size.
CREATE TABLE media_thumbnails (
    media_id TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    method TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (media_id, width, height, method)
);
