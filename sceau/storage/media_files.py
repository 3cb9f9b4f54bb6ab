"""Media bytes on disk: one file per media ID, under a sharded folder.

A file is first written to ``tmp/`` in the store (same file system), flushed
and fsynced, then renamed into place and its folder fsynced: a file that is
in place is whole, and stays so after a crash. Paths are built only from IDs
that match :data:`MEDIA_ID`, so no request can name a file outside the store.
"""

import hashlib
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO

#: The only media IDs Sceau accepts (and the shape of the ones it makes).
MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{5,255}")
#: Thumbnails are named by size and method: ``320x240-scale``.
_METHODS = ("crop", "scale")


def valid_media_id(media_id: str) -> bool:
    return MEDIA_ID.fullmatch(media_id) is not None


def new_media_id() -> str:
    """24 random URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(18)


class PartialFile:
    """A file being written: bytes go to a temporary file until :meth:`place`.

    ``write`` is called from the event loop with network-sized chunks (a copy
    into the page cache); ``place`` and ``discard`` do the slow parts and are
    meant to run in a worker thread.
    """

    def __init__(self, path: Path) -> None:
        self.temp_path = path
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._handle: BinaryIO | None = open(path, "xb", buffering=1024 * 1024)  # noqa: SIM115

    def write(self, chunk: bytes) -> None:
        assert self._handle is not None, "file already closed"
        self._handle.write(chunk)
        self._sha256.update(chunk)
        self.size += len(chunk)

    def flush(self) -> None:
        """Hand the buffered bytes to the OS, so the file can be read back (a scan)."""
        assert self._handle is not None, "file already closed"
        self._handle.flush()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def place(self, final_path: Path) -> None:
        """Flush, fsync, rename to ``final_path`` (replacing it) and fsync its folder."""
        assert self._handle is not None, "file already closed"
        handle, self._handle = self._handle, None
        try:
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            handle.close()
        final_path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.temp_path, final_path)
        _fsync_dir(final_path.parent)

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self.temp_path.unlink(missing_ok=True)


class MediaFileStore:
    """Where media and thumbnails live on disk; knows paths, not metadata."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"

    def content_path(self, media_id: str) -> Path:
        """``local_content/ab/cd/efgh...`` for media ``abcdefgh...``."""
        return self.root / "local_content" / _shard(media_id)

    def thumbnail_path(self, media_id: str, width: int, height: int, method: str) -> Path:
        if method not in _METHODS or width < 1 or height < 1:
            raise ValueError(f"bad thumbnail spec {width}x{height}-{method}")
        return self.root / "thumbnails" / _shard(media_id) / f"{width}x{height}-{method}"

    def new_file(self) -> PartialFile:
        """A temporary file to write an upload or a thumbnail into."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        return PartialFile(self._tmp / (secrets.token_hex(16) + ".part"))

    def write_file(self, final_path: Path, data: bytes) -> None:
        """Write ``data`` to ``final_path`` whole or not at all (blocking: use a thread)."""
        partial = self.new_file()
        try:
            partial.write(data)
            partial.place(final_path)
        except BaseException:
            partial.discard()
            raise

    def stat(self, path: Path) -> os.stat_result | None:
        """The file's stat, or None when it is missing."""
        try:
            return path.stat()
        except FileNotFoundError:
            return None


def _shard(media_id: str) -> Path:
    if not valid_media_id(media_id):
        raise ValueError(f"invalid media ID {media_id!r}")
    return Path(media_id[:2], media_id[2:4], media_id[4:])


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
