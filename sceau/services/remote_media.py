"""Other servers' media, downloaded once and kept: the cache behind remote ``mxc://`` URIs.

A remote media is fetched over federation the first time a local user asks
for it, refused above ``media.max_upload_bytes``, scanned by clamd exactly
as an upload (an infected file is never kept), and then served and
thumbnailed from the local store like a local file.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sceau.clock import Clock
from sceau.errors import MatrixError, not_found, too_large
from sceau.storage.federation_media import RemoteMedia, RemoteMediaStore
from sceau.storage.media_files import MediaFileStore, PartialFile, new_media_id, valid_media_id


@dataclass(frozen=True)
class RemoteFile:
    """What another server answered for one of its media."""

    content_type: str | None
    filename: str | None
    data: bytes


Scan = Callable[[PartialFile, str], Awaitable[None]]


class RemoteMediaCache:
    def __init__(
        self,
        *,
        clock: Clock,
        files: MediaFileStore,
        store: RemoteMediaStore,
        fetch: Callable[[str, str], Awaitable[RemoteFile]],
        scan: Scan,
        max_bytes: int,
        clean_content_type: Callable[[str | None], str],
        check_filename: Callable[[str | None], str | None],
    ) -> None:
        self._clock = clock
        self._files = files
        self._store = store
        self._fetch = fetch
        self._scan = scan
        self._max_bytes = max_bytes
        self._clean_content_type = clean_content_type
        self._check_filename = check_filename
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def get(self, server_name: str, media_id: str) -> RemoteMedia:
        """Another server's media from the local cache, downloaded (and scanned) the first time.

        The download is refused above ``max_upload_bytes`` and, with the
        antivirus on, scanned before anything is recorded, exactly as an upload.
        """
        if not valid_media_id(media_id):
            raise not_found("Unknown media ID")
        key = (server_name, media_id)
        cached = await self._store.get(server_name, media_id)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                cached = await self._store.get(server_name, media_id)
                if cached is None:
                    cached = await self._download(server_name, media_id)
        finally:
            if not lock.locked():
                self._locks.pop(key, None)
        return cached

    async def _download(self, server_name: str, media_id: str) -> RemoteMedia:
        fetched = await self._fetch(server_name, media_id)
        if len(fetched.data) > self._max_bytes:
            raise too_large("The remote media is larger than this server accepts")
        partial = await asyncio.to_thread(self._files.new_file)
        local_id = new_media_id()
        try:
            partial.write(fetched.data)
            await self._scan(partial, f"mxc://{server_name}/{media_id}")
            await asyncio.to_thread(partial.place, self._files.content_path(local_id))
            media = RemoteMedia(
                server_name,
                media_id,
                local_id,
                self._clean_content_type(fetched.content_type),
                self._safe_filename(fetched.filename),
                partial.size,
                partial.sha256,
                self._clock.time_ms(),
            )
            await self._store.add(media)
        except BaseException:
            partial.discard()
            self._files.content_path(local_id).unlink(missing_ok=True)
            raise
        return media

    def _safe_filename(self, filename: str | None) -> str | None:
        try:
            return self._check_filename(filename)
        except MatrixError:
            return None
