"""Metadata of uploaded media and of their generated thumbnails."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sceau.storage.database import Database, Row

_COLUMNS = (
    "media_id, user_id, content_type, filename, size, sha256, created_ts, uploaded_ts, expires_ts"
)


@dataclass(frozen=True)
class MediaRecord:
    media_id: str
    user_id: str
    content_type: str | None
    filename: str | None
    size: int | None
    sha256: str | None
    created_ts: int
    #: None while a media ID made by ``/create`` waits for its content.
    uploaded_ts: int | None
    expires_ts: int | None

    @property
    def uploaded(self) -> bool:
        return self.uploaded_ts is not None


@dataclass(frozen=True)
class Upload:
    """What is known of a file once its bytes are on disk."""

    content_type: str
    filename: str | None
    size: int
    sha256: str


@dataclass(frozen=True)
class ThumbnailRecord:
    media_id: str
    width: int
    height: int
    method: str
    content_type: str
    size: int


def _record(row: Row) -> MediaRecord:
    return MediaRecord(
        media_id=row[0],
        user_id=row[1],
        content_type=row[2],
        filename=row[3],
        size=None if row[4] is None else int(row[4]),
        sha256=row[5],
        created_ts=int(row[6]),
        uploaded_ts=None if row[7] is None else int(row[7]),
        expires_ts=None if row[8] is None else int(row[8]),
    )


class MediaStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, media_id: str) -> MediaRecord | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM media WHERE media_id = ?", media_id)
        return None if row is None else _record(row)

    async def insert_uploaded(
        self, media_id: str, user_id: str, upload: Upload, now_ms: int
    ) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                "INSERT INTO media (media_id, user_id, content_type, filename, size, sha256,"
                " created_ts, uploaded_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                media_id,
                user_id,
                upload.content_type,
                upload.filename,
                upload.size,
                upload.sha256,
                now_ms,
                now_ms,
            )

    async def insert_pending(
        self, media_id: str, user_id: str, now_ms: int, expires_ts: int, max_pending: int
    ) -> bool:
        """Reserve ``media_id``; False when the user already holds ``max_pending`` IDs."""
        async with self._db.transaction() as txn:
            pending = await txn.fetchval(
                "SELECT COUNT(*) FROM media WHERE user_id = ? AND uploaded_ts IS NULL"
                " AND expires_ts > ?",
                user_id,
                now_ms,
            )
            if int(pending or 0) >= max_pending:
                return False
            await txn.execute(
                "INSERT INTO media (media_id, user_id, created_ts, expires_ts) VALUES (?, ?, ?, ?)",
                media_id,
                user_id,
                now_ms,
                expires_ts,
            )
        return True

    async def complete_pending(
        self,
        media_id: str,
        upload: Upload,
        now_ms: int,
        place_file: Callable[[], Awaitable[None]],
    ) -> bool:
        """Mark a reserved ID uploaded, placing its file inside the same transaction.

        The row is claimed first (``uploaded_ts IS NULL``), so of two uploads
        to one ID only the first places its file; False for the other. A file
        placed by a transaction that then fails to commit is only rewritten by
        the next upload to the still-pending ID.
        """
        async with self._db.transaction() as txn:
            claimed = await txn.fetchval(
                "UPDATE media SET content_type = ?, filename = ?, size = ?, sha256 = ?,"
                " uploaded_ts = ?, expires_ts = NULL"
                " WHERE media_id = ? AND uploaded_ts IS NULL RETURNING media_id",
                upload.content_type,
                upload.filename,
                upload.size,
                upload.sha256,
                now_ms,
                media_id,
            )
            if claimed is None:
                return False
            await place_file()
        return True

    async def get_thumbnail(
        self, media_id: str, width: int, height: int, method: str
    ) -> ThumbnailRecord | None:
        row = await self._db.fetchone(
            "SELECT content_type, size FROM media_thumbnails"
            " WHERE media_id = ? AND width = ? AND height = ? AND method = ?",
            media_id,
            width,
            height,
            method,
        )
        if row is None:
            return None
        return ThumbnailRecord(media_id, width, height, method, row[0], int(row[1]))

    async def add_thumbnail(self, thumbnail: ThumbnailRecord, now_ms: int) -> None:
        """Record a generated thumbnail; a concurrent request may have done so already."""
        async with self._db.transaction() as txn:
            await txn.execute(
                "INSERT INTO media_thumbnails (media_id, width, height, method, content_type,"
                " size, created_ts) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (media_id, width, height, method) DO NOTHING",
                thumbnail.media_id,
                thumbnail.width,
                thumbnail.height,
                thumbnail.method,
                thumbnail.content_type,
                thumbnail.size,
                now_ms,
            )
