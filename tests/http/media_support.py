"""What the media tests share: paths, a request with extra headers, uploads, images."""

import io
from typing import Any

import httpx
from PIL import Image

from tests.conftest import MatrixUser

V1 = "/_matrix/client/v1/media"
V3 = "/_matrix/media/v3"
CREATE = "/_matrix/media/v1/create"
SERVER = "test.local"
CSP = (
    "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; "
    "style-src 'unsafe-inline'; object-src 'self';"
)


def image_bytes(width: int, height: int, fmt: str = "PNG", mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), (200, 30, 60) if mode == "RGB" else None).save(buffer, fmt)
    return buffer.getvalue()


async def send(
    user: MatrixUser, method: str, url: str, headers: dict[str, str], **kwargs: Any
) -> httpx.Response:
    """A request with extra headers besides the user's token."""
    return await user.http.request(method, url, headers={**user.headers, **headers}, **kwargs)


async def upload(
    user: MatrixUser,
    data: bytes,
    content_type: str | None = "application/octet-stream",
    filename: str | None = None,
) -> str:
    headers = {} if content_type is None else {"Content-Type": content_type}
    params = {} if filename is None else {"filename": filename}
    response = await send(user, "POST", V3 + "/upload", headers, content=data, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["content_uri"].startswith(f"mxc://{SERVER}/")
    return body["content_uri"].rsplit("/", 1)[1]


def errcode(response: Any) -> tuple[int, str]:
    return response.status_code, response.json().get("errcode")
