"""multipart/mixed bodies of federation media (spec: "Content repository", v1.11+).

An answer has two parts: JSON metadata (``{}`` today), then the media itself
with its Content-Type and Content-Disposition, or a ``Location`` header
pointing elsewhere, which Sceau does not follow (no call to an address the
admin has not configured).
"""

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_FILENAME = re.compile(r'filename="?([^";]+)"?', re.IGNORECASE)


class MultipartError(ValueError):
    """The answer is not a well-formed two-part multipart/mixed body."""


@dataclass(frozen=True)
class MediaPart:
    content_type: str | None
    filename: str | None
    data: bytes


def parse_media(content_type: str | None, body: bytes) -> MediaPart:
    match = _BOUNDARY.search(content_type or "")
    if not (content_type or "").lower().startswith("multipart/mixed") or match is None:
        raise MultipartError("not multipart/mixed with a boundary")
    delimiter = b"--" + match.group(1).encode()
    pieces = body.split(delimiter)
    # pieces: preamble, part 1, part 2, "--" epilogue
    if len(pieces) < 4 or not pieces[3].startswith(b"--"):
        raise MultipartError("expected exactly two parts")
    _meta_headers, _meta = _split(pieces[1])
    headers, data = _split(pieces[2])
    if headers.get("Location"):
        raise MultipartError("the media is only offered at another address (Location)")
    disposition = headers.get("Content-Disposition") or ""
    found = _FILENAME.search(disposition)
    return MediaPart(headers.get("Content-Type"), found.group(1) if found else None, data)


def _split(part: bytes) -> tuple[Message, bytes]:
    part = part.removeprefix(b"\r\n")
    head, sep, data = part.partition(b"\r\n\r\n")
    if not sep:
        raise MultipartError("a part has no header block")
    headers = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
    return headers, data.removesuffix(b"\r\n")


def media_body(
    boundary: str, content_type: str, disposition: str, chunks: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """The multipart/mixed answer: ``{}`` metadata, then the media streamed from ``chunks``."""

    async def body() -> AsyncIterator[bytes]:
        for piece in _head(boundary, content_type, disposition):
            yield piece
        async for chunk in chunks:
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    return body()


def _head(boundary: str, content_type: str, disposition: str) -> Iterator[bytes]:
    yield f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n".encode()
    yield (
        f"--{boundary}\r\nContent-Type: {content_type}\r\n"
        f"Content-Disposition: {disposition}\r\n\r\n"
    ).encode()
