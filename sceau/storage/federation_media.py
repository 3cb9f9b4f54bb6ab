"""Remote media cached locally: which local file holds which server's media."""

from dataclasses import dataclass

from sceau.storage.database import Database


@dataclass(frozen=True)
class RemoteMedia:
    origin: str
    media_id: str
    local_id: str
    content_type: str | None
    filename: str | None
    size: int
    sha256: str
    fetched_ts: int


_COLUMNS = "origin, media_id, local_id, content_type, filename, size, sha256, fetched_ts"


class RemoteMediaStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, origin: str, media_id: str) -> RemoteMedia | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM remote_media WHERE origin = ? AND media_id = ?",
            origin,
            media_id,
        )
        return None if row is None else RemoteMedia(*row)

    async def add(self, media: RemoteMedia) -> bool:
        """Record a downloaded media; False if another download recorded it first."""
        async with self._db.transaction() as txn:
            existing = await txn.fetchval(
                "SELECT local_id FROM remote_media WHERE origin = ? AND media_id = ?",
                media.origin,
                media.media_id,
            )
            if existing is not None:
                return False
            await txn.execute(
                f"INSERT INTO remote_media ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                media.origin,
                media.media_id,
                media.local_id,
                media.content_type,
                media.filename,
                media.size,
                media.sha256,
                media.fetched_ts,
            )
        return True
