"""The media repository: upload, download, thumbnails, config (/_matrix/media, /client/v1/media).

Downloads are served with headers that keep uploaded content from running
as part of any web page: a sandboxing Content-Security-Policy, nosniff, and
``inline`` only for the types the spec lists as safe to show inline.
"""

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from sceau.errors import forbidden, invalid_param, missing_param, not_found
from sceau.http.app import Endpoint
from sceau.http.common import json_response, query_bool, query_int, requester, services
from sceau.services.media import MediaFile

MEDIA_V3 = "/_matrix/media/v3"
MEDIA_V1 = "/_matrix/media/v1"
CLIENT_V1 = "/_matrix/client/v1/media"

#: The spec's "Serving inline content" list; anything else is an attachment.
INLINE_CONTENT_TYPES = frozenset(
    {
        "text/css",
        "text/plain",
        "text/csv",
        "application/json",
        "application/ld+json",
        "image/jpeg",
        "image/gif",
        "image/png",
        "image/apng",
        "image/webp",
        "image/avif",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "video/quicktime",
        "audio/mp4",
        "audio/webm",
        "audio/aac",
        "audio/mpeg",
        "audio/ogg",
        "audio/wave",
        "audio/wav",
        "audio/x-wav",
        "audio/x-pn-wav",
        "audio/flac",
        "audio/x-flac",
    }
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; "
        "style-src 'unsafe-inline'; object-src 'self';"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
}

#: RFC 5987 ``attr-char``s besides letters and digits: left as they are in ``filename*``.
_ATTR_CHARS = "!#$&+-.^_`|~"


def disposition_type(content_type: str) -> str:
    essence = content_type.split(";", 1)[0].strip().lower()
    return "inline" if essence in INLINE_CONTENT_TYPES else "attachment"


def content_disposition(kind: str, filename: str | None) -> str:
    """``inline``/``attachment`` with the file name, quoted per RFC 6266 / RFC 5987."""
    if not filename:
        return kind
    if filename.isascii() and filename.isprintable() and not any(c in filename for c in '"\\'):
        return f'{kind}; filename="{filename}"'
    return f"{kind}; filename*=utf-8''{quote(filename, safe=_ATTR_CHARS)}"


def file_response(media: MediaFile, disposition: str) -> Response:
    headers = {**SECURITY_HEADERS, "Content-Disposition": disposition}
    headers["Cache-Control"] = "private, max-age=86400, immutable"
    return FileResponse(
        media.path, headers=headers, media_type=media.content_type, stat_result=media.stat
    )


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    return int(raw) if raw and raw.isdigit() else None


def _timeout_ms(request: Request) -> int:
    return query_int(request, "timeout_ms", 20_000)


async def upload(request: Request) -> Response:
    """POST /_matrix/media/v3/upload"""
    user = await requester(request)
    content_uri = await services(request).media.upload(
        user.user_id,
        request.headers.get("content-type"),
        request.query_params.get("filename"),
        request.stream(),
        _declared_length(request),
    )
    return json_response({"content_uri": content_uri})


async def create(request: Request) -> Response:
    """POST /_matrix/media/v1/create"""
    user = await requester(request)
    return json_response(await services(request).media.create(user.user_id))


async def upload_to(request: Request) -> Response:
    """PUT /_matrix/media/v3/upload/{serverName}/{mediaId}"""
    user = await requester(request)
    await services(request).media.upload_to(
        user.user_id,
        request.path_params["serverName"],
        request.path_params["mediaId"],
        request.headers.get("content-type"),
        request.query_params.get("filename"),
        request.stream(),
        _declared_length(request),
    )
    return json_response({})


async def serve_download(request: Request) -> Response:
    """A download's response, once the caller has authenticated (shared with the scanner)."""
    params = request.path_params
    media = await services(request).media.download(
        params["serverName"], params["mediaId"], _timeout_ms(request)
    )
    filename = params.get("fileName") or media.filename
    disposition = content_disposition(disposition_type(media.content_type), filename)
    return file_response(media, disposition)


async def download(request: Request) -> Response:
    """GET /_matrix/client/v1/media/download/{serverName}/{mediaId}[/{fileName}]"""
    await requester(request)
    return await serve_download(request)


def _check_legacy_allowed(request: Request) -> None:
    """Media stays behind a login unless the admin turned the deprecated paths back on."""
    if not services(request).config.media.legacy_unauthenticated_media:
        raise not_found("Not found")


async def legacy_download(request: Request) -> Response:
    """GET /_matrix/media/v3/download/{serverName}/{mediaId}[/{fileName}] (deprecated, no auth)"""
    _check_legacy_allowed(request)
    return await serve_download(request)


def _dimension(request: Request, name: str) -> int:
    if not request.query_params.get(name):
        raise missing_param(name)
    return query_int(request, name, 0, minimum=1, maximum=100_000)


async def serve_thumbnail(request: Request) -> Response:
    """A thumbnail's response, once the caller has authenticated (shared with the scanner)."""
    width, height = _dimension(request, "width"), _dimension(request, "height")
    method = request.query_params.get("method") or "scale"
    if method not in ("crop", "scale"):
        raise invalid_param("method must be 'crop' or 'scale'")
    query_bool(request, "animated")  # validated; thumbnails are never animated
    media = await services(request).media.thumbnail(
        request.path_params["serverName"],
        request.path_params["mediaId"],
        width,
        height,
        method,
        _timeout_ms(request),
    )
    extension = "png" if media.content_type == "image/png" else "jpg"
    return file_response(media, f'inline; filename="thumbnail.{extension}"')


async def thumbnail(request: Request) -> Response:
    """GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}"""
    await requester(request)
    return await serve_thumbnail(request)


async def legacy_thumbnail(request: Request) -> Response:
    """GET /_matrix/media/v3/thumbnail/{serverName}/{mediaId} (deprecated, no auth)"""
    _check_legacy_allowed(request)
    return await serve_thumbnail(request)


async def media_config(request: Request) -> Response:
    """GET /_matrix/client/v1/media/config (and /_matrix/media/v3/config)"""
    await requester(request)
    return json_response(services(request).media.config_json())


async def preview_url(request: Request) -> Response:
    """GET /_matrix/client/v1/media/preview_url: refused, this server fetches nothing outside."""
    await requester(request)
    raise forbidden("URL previews are disabled on this server")


def _routes(specs: list[tuple[str, str, Endpoint]]) -> list[BaseRoute]:
    return [Route(path, endpoint, methods=[method]) for method, path, endpoint in specs]


def routes() -> list[BaseRoute]:
    # ``{fileName:path}`` also matches an empty name after a trailing slash (matrix-nio).
    plain, named = (
        "/download/{serverName}/{mediaId}",
        "/download/{serverName}/{mediaId}/{fileName:path}",
    )
    return _routes(
        [
            ("POST", MEDIA_V3 + "/upload", upload),
            ("POST", MEDIA_V1 + "/create", create),
            ("PUT", MEDIA_V3 + "/upload/{serverName}/{mediaId}", upload_to),
            ("GET", CLIENT_V1 + plain, download),
            ("GET", CLIENT_V1 + named, download),
            ("GET", MEDIA_V3 + plain, legacy_download),
            ("GET", MEDIA_V3 + named, legacy_download),
            ("GET", CLIENT_V1 + "/thumbnail/{serverName}/{mediaId}", thumbnail),
            ("GET", MEDIA_V3 + "/thumbnail/{serverName}/{mediaId}", legacy_thumbnail),
            ("GET", CLIENT_V1 + "/config", media_config),
            ("GET", MEDIA_V3 + "/config", media_config),
            ("GET", CLIENT_V1 + "/preview_url", preview_url),
            ("GET", MEDIA_V3 + "/preview_url", preview_url),
        ]
    )
