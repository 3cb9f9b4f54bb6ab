"""The content scanner's API (``/_matrix/media_proxy/unstable``), as the real system's clients call it.

Every route but ``public_key`` needs an access token: media stays behind a login.
Errors use the scanner's format, ``{"reason": ..., "info": ...}``.
"""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.errors import MatrixError
from sceau.http.common import json_response, read_json, requester, services
from sceau.http.media import serve_download, serve_thumbnail
from sceau.services.content_scanner import ContentScanner, malformed

PREFIX = "/_matrix/media_proxy/unstable"


def _scanner(request: Request) -> ContentScanner:
    scanner = services(request).content_scanner
    if scanner is None:
        raise MatrixError(404, "M_UNRECOGNIZED", "The content scanner is not enabled")
    return scanner


async def _body(request: Request) -> dict[str, Any]:
    try:
        return await read_json(request)
    except MatrixError:
        raise malformed("The request body must be a JSON object") from None


async def public_key(request: Request) -> Response:
    """GET /_matrix/media_proxy/unstable/public_key"""
    return json_response({"public_key": _scanner(request).public_key()})


async def scan_encrypted(request: Request) -> Response:
    """POST /_matrix/media_proxy/unstable/scan_encrypted"""
    scanner = _scanner(request)
    await requester(request)
    file = scanner.encrypted_file(await _body(request))
    return json_response((await scanner.scan_encrypted(file)).json())


async def download_encrypted(request: Request) -> Response:
    """POST /_matrix/media_proxy/unstable/download_encrypted: the ciphertext, once it scans clean"""
    scanner = _scanner(request)
    await requester(request)
    file = scanner.encrypted_file(await _body(request))
    await scanner.clean_encrypted(file)
    request.path_params.update(serverName=file.server_name, mediaId=file.media_id)
    return await serve_download(request)


async def scan(request: Request) -> Response:
    """GET /_matrix/media_proxy/unstable/scan/{serverName}/{mediaId}"""
    scanner = _scanner(request)
    await requester(request)
    params = request.path_params
    verdict = await scanner.scan_media(params["serverName"], params["mediaId"])
    return json_response(verdict.json())


async def download(request: Request) -> Response:
    """GET /_matrix/media_proxy/unstable/download/{serverName}/{mediaId}"""
    scanner = _scanner(request)
    await requester(request)
    await scanner.clean_media(request.path_params["serverName"], request.path_params["mediaId"])
    return await serve_download(request)


async def thumbnail(request: Request) -> Response:
    """GET /_matrix/media_proxy/unstable/thumbnail/{serverName}/{mediaId}"""
    scanner = _scanner(request)
    await requester(request)
    await scanner.clean_media(request.path_params["serverName"], request.path_params["mediaId"])
    return await serve_thumbnail(request)


def routes() -> list[BaseRoute]:
    media = "/{serverName}/{mediaId}"
    return [
        Route(PREFIX + "/public_key", public_key, methods=["GET"]),
        Route(PREFIX + "/scan_encrypted", scan_encrypted, methods=["POST"]),
        Route(PREFIX + "/download_encrypted", download_encrypted, methods=["POST"]),
        Route(PREFIX + "/scan" + media, scan, methods=["GET"]),
        Route(PREFIX + "/download" + media, download, methods=["GET"]),
        Route(PREFIX + "/download" + media + "/{fileName:path}", download, methods=["GET"]),
        Route(PREFIX + "/thumbnail" + media, thumbnail, methods=["GET"]),
    ]
