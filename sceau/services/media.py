"""The media repository: uploads, downloads and thumbnails of local media.

Bytes are streamed to disk as they arrive, so an upload over the limit is
refused without being held in memory, and a file is acknowledged only once
it is fsynced, in place and recorded. Another server's media is found only
through ``remote`` (set when federation is on, see ``services/remote_media.py``);
without it a remote ``mxc://`` is simply not found.
"""

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sceau.clock import Clock
from sceau.config import MediaConfig
from sceau.errors import (
    MatrixError,
    cannot_overwrite_media,
    forbidden,
    invalid_param,
    limit_exceeded,
    not_found,
    not_yet_uploaded,
    too_large,
    unknown,
)
from sceau.services.antivirus import ScanError, Scanner
from sceau.services.ratelimit import RateLimiter
from sceau.services.remote_media import RemoteMediaCache
from sceau.services.thumbnails import (
    ImageTooLarge,
    Thumbnail,
    ThumbnailError,
    render,
    thumbnail_box,
)
from sceau.storage.media import MediaRecord, MediaStore, ThumbnailRecord, Upload
from sceau.storage.media_files import MediaFileStore, PartialFile, new_media_id, valid_media_id

logger = logging.getLogger(__name__)

#: How long a media ID from ``/create`` may wait for its content (the spec's advice).
UNUSED_EXPIRY_MS = 24 * 3600 * 1000
#: Longest a download waits for content that is not uploaded yet.
MAX_WAIT_MS = 60_000
#: Thumbnails rendered at once: Pillow work is CPU-bound.
THUMBNAIL_WORKERS = 2
DEFAULT_CONTENT_TYPE = "application/octet-stream"

Renderer = Callable[[str, int, int, str, int], Thumbnail]


@dataclass(frozen=True)
class MediaFile:
    """A file to send back: where it is and how to describe it."""

    path: Path
    stat: os.stat_result
    content_type: str
    filename: str | None


def clean_content_type(raw: str | None) -> str:
    """The uploaded Content-Type, or the spec's default when absent or unprintable."""
    value = (raw or "").strip()
    if not value or len(value) > 255 or not value.isascii() or not value.isprintable():
        return DEFAULT_CONTENT_TYPE
    return value


def check_filename(filename: str | None) -> str | None:
    if not filename:
        return None
    if len(filename) > 1024 or "\x00" in filename:
        raise invalid_param("filename must be under 1024 characters, without NUL")
    return filename


class _UploadWaiters:
    """Downloads waiting for a created media ID to receive its content."""

    def __init__(self) -> None:
        self._events: dict[str, tuple[asyncio.Event, int]] = {}

    async def wait(self, media_id: str, timeout_s: float) -> None:
        event, count = self._events.get(media_id, (asyncio.Event(), 0))
        self._events[media_id] = (event, count + 1)
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            pass
        finally:
            current = self._events.get(media_id)
            if current is not None and current[0] is event:
                if current[1] <= 1:
                    del self._events[media_id]
                else:
                    self._events[media_id] = (event, current[1] - 1)

    def wake(self, media_id: str) -> None:
        entry = self._events.pop(media_id, None)
        if entry is not None:
            entry[0].set()


class MediaService:
    def __init__(
        self,
        *,
        server_name: str,
        config: MediaConfig,
        clock: Clock,
        store: MediaStore,
        files: MediaFileStore,
        ratelimiter: RateLimiter,
        renderer: Renderer = render,
        scanner: Scanner | None = None,
    ) -> None:
        self._server_name = server_name
        self._config = config
        self._clock = clock
        self._store = store
        self._files = files
        self._ratelimiter = ratelimiter
        self.renderer = renderer
        self._scanner = scanner
        self._waiters = _UploadWaiters()
        #: Other servers' media, downloaded once (None: federation off, remote media not found).
        self.remote: RemoteMediaCache | None = None
        self._thumbnail_slots = asyncio.Semaphore(THUMBNAIL_WORKERS)

    @property
    def files(self) -> MediaFileStore:
        """Where media bytes live (remote media are kept beside local ones)."""
        return self._files

    def config_json(self) -> dict[str, Any]:
        return {"m.upload.size": self._config.max_upload_bytes}

    def _mxc(self, media_id: str) -> str:
        return f"mxc://{self._server_name}/{media_id}"

    # ------------------------------------------------------------- uploads

    async def upload(
        self,
        user_id: str,
        content_type: str | None,
        filename: str | None,
        body: AsyncIterator[bytes],
        declared_length: int | None,
    ) -> str:
        """Store a new file; return its ``mxc://`` URI."""
        self._ratelimiter.check("media", user_id)
        upload_meta = (clean_content_type(content_type), check_filename(filename))
        self._check_declared(declared_length)
        partial = await self._receive(body)
        media_id = new_media_id()
        try:
            await self.check_clean(partial, user_id)
            await asyncio.to_thread(partial.place, self._files.content_path(media_id))
            upload = Upload(upload_meta[0], upload_meta[1], partial.size, partial.sha256)
            await self._store.insert_uploaded(media_id, user_id, upload, self._clock.time_ms())
        except BaseException:
            partial.discard()
            self._files.content_path(media_id).unlink(missing_ok=True)
            raise
        return self._mxc(media_id)

    async def create(self, user_id: str) -> dict[str, Any]:
        """Reserve a media ID for a later ``PUT /upload/{serverName}/{mediaId}``."""
        self._ratelimiter.check("media", user_id)
        now = self._clock.time_ms()
        media_id = new_media_id()
        expires = now + UNUSED_EXPIRY_MS
        if not await self._store.insert_pending(
            media_id, user_id, now, expires, self._config.max_pending_uploads
        ):
            raise limit_exceeded(60_000)
        return {"content_uri": self._mxc(media_id), "unused_expires_at": expires}

    async def upload_to(
        self,
        user_id: str,
        server_name: str,
        media_id: str,
        content_type: str | None,
        filename: str | None,
        body: AsyncIterator[bytes],
        declared_length: int | None,
    ) -> None:
        """Give content to a media ID reserved by ``create``, once and by its creator only."""
        record = await self._local_record(server_name, media_id)
        if record.user_id != user_id:
            raise forbidden("Only the user who created this media ID may upload to it")
        if record.uploaded:
            raise cannot_overwrite_media()
        upload_meta = (clean_content_type(content_type), check_filename(filename))
        self._check_declared(declared_length)
        partial = await self._receive(body)
        upload = Upload(upload_meta[0], upload_meta[1], partial.size, partial.sha256)
        final_path = self._files.content_path(media_id)

        async def place() -> None:
            await asyncio.to_thread(partial.place, final_path)

        try:
            await self.check_clean(partial, user_id)
            claimed = await self._store.complete_pending(
                media_id, upload, self._clock.time_ms(), place
            )
        finally:
            partial.discard()
        if not claimed:
            raise cannot_overwrite_media()
        self._waiters.wake(media_id)

    def _check_declared(self, declared_length: int | None) -> None:
        if declared_length is not None and declared_length > self._config.max_upload_bytes:
            raise self._too_large()

    def _too_large(self) -> MatrixError:
        return too_large(f"Cannot upload files larger than {self._config.max_upload_bytes} bytes")

    async def _receive(self, body: AsyncIterator[bytes]) -> PartialFile:
        """Stream the body to a temporary file, refusing it once over the limit."""
        limit = self._config.max_upload_bytes
        partial = await asyncio.to_thread(self._files.new_file)
        try:
            async for chunk in body:
                if partial.size + len(chunk) > limit:
                    raise self._too_large()
                if chunk:
                    partial.write(chunk)
        except BaseException:
            partial.discard()
            raise
        return partial

    async def check_clean(self, partial: PartialFile, user_id: str) -> None:
        """Refuse a received file that clamd finds infected, before anything is recorded.

        When clamd gives no verdict, ``on_error`` decides: ``reject`` answers
        503 (the client may retry), ``accept`` keeps the file unscanned.
        """
        if self._scanner is None:
            return
        await asyncio.to_thread(partial.flush)
        try:
            signature = await self._scanner.scan(partial.temp_path)
        except ScanError as exc:
            if self._config.antivirus.on_error == "accept":
                logger.warning("upload by %s accepted unscanned: %s", user_id, exc)
                return
            logger.error("upload by %s refused, no antivirus verdict: %s", user_id, exc)
            raise unknown("The antivirus scan is unavailable; try again later", 503) from None
        if signature is not None:
            logger.warning("upload by %s refused: clamd found %s", user_id, signature)
            raise forbidden("This file failed the antivirus scan")

    def scratch_file(self) -> PartialFile:
        """A temporary file in the media store, for work that must not stay on disk."""
        return self._files.new_file()

    # ----------------------------------------------------------- downloads

    async def download(self, server_name: str, media_id: str, timeout_ms: int) -> MediaFile:
        if server_name != self._server_name and self.remote is not None:
            cached = await self.remote.get(server_name, media_id)
            path = self._files.content_path(cached.local_id)
            return self._file(path, cached.content_type or DEFAULT_CONTENT_TYPE, cached.filename)
        record = await self._uploaded_record(server_name, media_id, timeout_ms)
        path = self._files.content_path(media_id)
        return self._file(path, record.content_type or DEFAULT_CONTENT_TYPE, record.filename)

    async def _local_record(self, server_name: str, media_id: str) -> MediaRecord:
        """The record of a local media, or M_NOT_FOUND (remote, malformed, unknown, expired)."""
        if server_name != self._server_name:
            raise not_found("Remote media is not available on this server")
        if not valid_media_id(media_id):
            raise not_found("Unknown media ID")
        record = await self._store.get(media_id)
        if record is None or self._expired(record):
            raise not_found("Unknown media ID")
        return record

    def _expired(self, record: MediaRecord) -> bool:
        return (
            not record.uploaded
            and record.expires_ts is not None
            and record.expires_ts <= self._clock.time_ms()
        )

    async def _uploaded_record(
        self, server_name: str, media_id: str, timeout_ms: int
    ) -> MediaRecord:
        """The record once its content is there, waiting up to ``timeout_ms`` for it."""
        record = await self._local_record(server_name, media_id)
        if record.uploaded:
            return record
        wait_ms = min(max(timeout_ms, 0), MAX_WAIT_MS)
        if wait_ms > 0:
            await self._waiters.wait(media_id, wait_ms / 1000)
            record = await self._local_record(server_name, media_id)
            if record.uploaded:
                return record
        raise not_yet_uploaded()

    def _file(self, path: Path, content_type: str, filename: str | None) -> MediaFile:
        stat = self._files.stat(path)
        if stat is None:
            logger.warning("media file %s is missing from the store", path)
            raise not_found("Media file is missing")
        return MediaFile(path, stat, content_type, filename)

    # ---------------------------------------------------------- thumbnails

    async def thumbnail(
        self,
        server_name: str,
        media_id: str,
        width: int,
        height: int,
        method: str,
        timeout_ms: int,
    ) -> MediaFile:
        """A stored thumbnail of a standard size, generated on first request.

        Remote media are downloaded once and thumbnailed here like local ones.
        """
        if server_name != self._server_name and self.remote is not None:
            cached = await self.remote.get(server_name, media_id)
            media_id, content_type = cached.local_id, cached.content_type
        else:
            record = await self._uploaded_record(server_name, media_id, timeout_ms)
            content_type = record.content_type
        box_w, box_h = thumbnail_box(width, height, method)
        path = self._files.thumbnail_path(media_id, box_w, box_h, method)
        stored = await self._store.get_thumbnail(media_id, box_w, box_h, method)
        if stored is not None and self._files.stat(path) is not None:
            return self._file(path, stored.content_type, None)
        if not (content_type or "").lower().startswith("image/"):
            raise unknown("Cannot generate thumbnails for the requested content")
        thumb = await self._render(media_id, box_w, box_h, method)
        await asyncio.to_thread(self._files.write_file, path, thumb.data)
        await self._store.add_thumbnail(
            ThumbnailRecord(media_id, box_w, box_h, method, thumb.content_type, len(thumb.data)),
            self._clock.time_ms(),
        )
        return self._file(path, thumb.content_type, None)

    async def _render(self, media_id: str, width: int, height: int, method: str) -> Thumbnail:
        source = str(self._files.content_path(media_id))
        async with self._thumbnail_slots:
            try:
                return await asyncio.to_thread(
                    self.renderer, source, width, height, method, self._config.max_thumbnail_pixels
                )
            except ImageTooLarge:
                raise too_large("Content is too large to thumbnail") from None
            except ThumbnailError as exc:
                logger.info("no thumbnail for %s: %s", media_id, exc)
                raise unknown("Cannot generate thumbnails for the requested content") from None
