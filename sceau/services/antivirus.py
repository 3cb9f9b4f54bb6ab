"""A small client of ClamAV's daemon (clamd), the only place Sceau sends files to.

It speaks clamd's ``zINSTREAM`` command over a Unix or TCP socket: the file
is streamed from disk as chunks, each prefixed by its length as four
big-endian bytes, then a zero-length chunk ends it, and clamd answers one
NUL-terminated line: ``stream: OK``, ``stream: <signature> FOUND`` or
``<reason> ERROR``. Anything other than a clean or infected verdict (no
daemon, a timeout, clamd's ``StreamMaxLength`` exceeded, a reply we do not
understand) is a :class:`ScanError`: the caller decides what that means,
never this module.
"""

import asyncio
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

#: Bytes read from disk and sent per chunk.
CHUNK_BYTES = 256 * 1024
#: Longest reply accepted from clamd.
MAX_REPLY_BYTES = 4096
_LENGTH = struct.Struct(">I")


class ScanError(Exception):
    """No verdict: clamd is unreachable, too slow, refused the file or answered nonsense."""


class Scanner(Protocol):
    async def scan(self, path: Path) -> str | None:
        """The signature found in the file at ``path``, None when clean; raises ScanError."""
        ...


@dataclass(frozen=True)
class ClamdAddress:
    """``unix:///path`` or ``tcp://host:port``, parsed once."""

    unix_path: str | None = None
    host: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, address: str) -> "ClamdAddress":
        if address.startswith("unix://"):
            return cls(unix_path=address.removeprefix("unix://"))
        if address.startswith("tcp://"):
            host, _, port = address.removeprefix("tcp://").rpartition(":")
            return cls(host=host.strip("[]"), port=int(port))
        raise ValueError(f"unsupported clamd address {address!r}")


def parse_reply(reply: bytes) -> str | None:
    """The signature named by a ``zINSTREAM`` reply, None for OK; ScanError otherwise."""
    text = reply.rstrip(b"\x00\n").decode("utf-8", "replace").strip()
    if text.endswith("ERROR"):
        raise ScanError(f"clamd refused the scan: {text}")
    prefix, _, verdict = text.partition(": ")
    if prefix == "stream" and verdict == "OK":
        return None
    if prefix == "stream" and verdict.endswith(" FOUND") and len(verdict) > len(" FOUND"):
        return verdict.removesuffix(" FOUND")
    raise ScanError(f"unexpected clamd reply: {text[:200]!r}")


class ClamdClient:
    """Scans files with clamd; one connection per scan, so no state is shared."""

    def __init__(self, address: str, timeout_s: float, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._address = ClamdAddress.parse(address)
        self._timeout_s = timeout_s
        self._chunk_bytes = chunk_bytes

    async def ping(self) -> bool:
        """Whether clamd answers ``PONG``."""
        try:
            async with asyncio.timeout(self._timeout_s):
                reader, writer = await self._connect()
                try:
                    writer.write(b"zPING\x00")
                    await writer.drain()
                    return await reader.readuntil(b"\x00") == b"PONG\x00"
                finally:
                    writer.close()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return False

    async def scan(self, path: Path) -> str | None:
        """Stream the file at ``path`` to clamd; its signature name, or None when clean."""
        try:
            async with asyncio.timeout(self._timeout_s):
                handle = await asyncio.to_thread(open, path, "rb")
                try:
                    return await self._scan_stream(handle)
                finally:
                    handle.close()
        except TimeoutError:
            raise ScanError(f"clamd gave no verdict within {self._timeout_s} s") from None
        except OSError as exc:
            raise ScanError(f"cannot scan with clamd: {exc}") from None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._address.unix_path is not None:
            return await asyncio.open_unix_connection(self._address.unix_path)
        return await asyncio.open_connection(self._address.host, self._address.port)

    async def _scan_stream(self, handle: BinaryIO) -> str | None:
        reader, writer = await self._connect()
        # The reply is read while the file is sent: clamd answers early and
        # closes when the stream exceeds its StreamMaxLength.
        reply = asyncio.ensure_future(_read_reply(reader))
        try:
            try:
                await self._send(handle, writer, reply)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return parse_reply(await reply)
        finally:
            if reply.done() and not reply.cancelled():
                reply.exception()  # retrieved, so an unused failure is not logged
            reply.cancel()
            writer.close()

    async def _send(
        self, handle: BinaryIO, writer: asyncio.StreamWriter, reply: "asyncio.Future[bytes]"
    ) -> None:
        writer.write(b"zINSTREAM\x00")
        while not reply.done() and (
            chunk := await asyncio.to_thread(handle.read, self._chunk_bytes)
        ):
            writer.write(_LENGTH.pack(len(chunk)) + chunk)
            await writer.drain()
        if not reply.done():
            writer.write(_LENGTH.pack(0))
            await writer.drain()


async def _read_reply(reader: asyncio.StreamReader) -> bytes:
    """clamd's NUL-terminated reply; ScanError when it closes without one."""
    try:
        reply = await reader.readuntil(b"\x00")
    except asyncio.IncompleteReadError as exc:
        reply = exc.partial
    except asyncio.LimitOverrunError:
        raise ScanError("clamd's reply is too long") from None
    if not reply:
        raise ScanError("clamd closed the connection without a verdict")
    return reply[:MAX_REPLY_BYTES]
