"""Authenticated media for other servers: download and thumbnail, as multipart/mixed."""

import asyncio
import secrets
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from sceau.errors import invalid_param, missing_param
from sceau.http.common import query_bool, query_int, services
from sceau.http.federation.common import origin_of
from sceau.http.media import content_disposition, disposition_type
from sceau.services.federation.multipart import media_body
from sceau.services.media import MediaFile

_CHUNK = 256 * 1024


async def _chunks(media: MediaFile) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(media.path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, _CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


def _multipart(media: MediaFile, disposition: str) -> Response:
    boundary = secrets.token_hex(16)
    return StreamingResponse(
        media_body(boundary, media.content_type, disposition, _chunks(media)),
        media_type=f"multipart/mixed; boundary={boundary}",
    )


async def download(request: Request) -> Response:
    """GET /_matrix/federation/v1/media/download/{mediaId}"""
    await origin_of(request)
    hs = services(request)
    timeout_ms = query_int(request, "timeout_ms", 20_000)
    media = await hs.media.download(
        hs.config.server_name, request.path_params["media_id"], timeout_ms
    )
    disposition = content_disposition(disposition_type(media.content_type), media.filename)
    return _multipart(media, disposition)


async def thumbnail(request: Request) -> Response:
    """GET /_matrix/federation/v1/media/thumbnail/{mediaId}"""
    await origin_of(request)
    hs = services(request)
    sizes = []
    for name in ("width", "height"):
        if not request.query_params.get(name):
            raise missing_param(name)
        sizes.append(query_int(request, name, 0, minimum=1, maximum=100_000))
    method = request.query_params.get("method") or "scale"
    if method not in ("crop", "scale"):
        raise invalid_param("method must be 'crop' or 'scale'")
    query_bool(request, "animated")
    media = await hs.media.thumbnail(
        hs.config.server_name,
        request.path_params["media_id"],
        sizes[0],
        sizes[1],
        method,
        query_int(request, "timeout_ms", 20_000),
    )
    return _multipart(media, 'inline; filename="thumbnail"')


def routes() -> list[BaseRoute]:
    prefix = "/_matrix/federation/v1/media"
    return [
        Route(prefix + "/download/{media_id}", download, methods=["GET"]),
        Route(prefix + "/thumbnail/{media_id}", thumbnail, methods=["GET"]),
    ]
