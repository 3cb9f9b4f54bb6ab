"""Federation media: served as multipart/mixed to other servers, fetched once and scanned here."""

import io

import pytest
from PIL import Image

from sceau.services.federation.multipart import parse_media
from tests.antivirus_support import EICAR, clamd  # noqa: F401
from tests.http.federation_support import federation_overrides, signed
from tests.http.two_servers import A, B, Router, make_server, server_pair

V1 = "/_matrix/federation/v1/media"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def _upload(user, data: bytes, content_type: str, filename: str = "f.bin") -> str:
    response = await user.http.post(
        f"/_matrix/media/v3/upload?filename={filename}",
        content=data,
        headers={**user.headers, "Content-Type": content_type},
    )
    assert response.status_code == 200, response.text
    return response.json()["content_uri"].rsplit("/", 1)[1]


class TestServing:
    @pytest.fixture
    def config_overrides(self):
        return federation_overrides()

    async def test_download_is_multipart_with_metadata_then_the_media(self, client, user_factory):
        alice = await user_factory("alice")
        media_id = await _upload(alice, b"hello across", "text/plain", "note.txt")
        response = await signed(client, "GET", f"{V1}/download/{media_id}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/mixed; boundary=")
        part = parse_media(response.headers["content-type"], response.content)
        assert (part.content_type, part.filename, part.data) == (
            "text/plain",
            "note.txt",
            b"hello across",
        )
        assert response.content.split(b"\r\n")[1:4] == [
            b"Content-Type: application/json",
            b"",
            b"{}",
        ]

    async def test_thumbnail_is_multipart_with_an_image(self, client, user_factory):
        alice = await user_factory("alice")
        media_id = await _upload(alice, _png(), "image/png")
        response = await signed(
            client, "GET", f"{V1}/thumbnail/{media_id}", query={"width": "32", "height": "32"}
        )
        assert response.status_code == 200, response.text
        part = parse_media(response.headers["content-type"], response.content)
        assert part.content_type in ("image/png", "image/jpeg")
        assert Image.open(io.BytesIO(part.data)).size[0] <= 64

    @pytest.mark.parametrize(
        ("path", "query", "status", "errcode"),
        [
            ("/download/nosuchmedia", None, 404, "M_NOT_FOUND"),
            ("/download/bad..id", None, 404, "M_NOT_FOUND"),
            ("/thumbnail/nosuchmedia", {"width": "1"}, 400, "M_MISSING_PARAM"),
            (
                "/thumbnail/nosuchmedia",
                {"width": "1", "height": "1", "method": "x"},
                400,
                "M_INVALID_PARAM",
            ),
        ],
    )
    async def test_errors(self, client, path, query, status, errcode):
        response = await signed(client, "GET", V1 + path, query=query)
        assert (response.status_code, response.json()["errcode"]) == (status, errcode)

    async def test_unsigned_download_is_401(self, client):
        response = await client.get(f"{V1}/download/x")
        assert response.status_code == 401


@pytest.fixture
async def servers(tmp_path):
    async for pair in server_pair(tmp_path):
        yield pair


async def test_remote_media_is_downloaded_once_then_served_from_the_cache(servers):
    a, b, router = servers
    alice, bob = await a.user("alice"), await b.user("bob")
    media_id = await _upload(bob, b"rapport confidentiel", "application/pdf", "rapport.pdf")
    path = f"/_matrix/client/v1/media/download/{B}/{media_id}"
    first = await alice.http.get(path, headers=alice.headers)
    assert first.status_code == 200, first.text
    assert first.content == b"rapport confidentiel"
    assert first.headers["content-type"] == "application/pdf"
    router.down.add(B)
    again = await alice.http.get(path, headers=alice.headers)
    assert again.content == b"rapport confidentiel"
    missing = await alice.http.get(
        f"/_matrix/client/v1/media/download/{B}/other", headers=alice.headers
    )
    assert missing.status_code == 502


async def test_thumbnail_of_remote_media_is_rendered_from_the_cached_original(servers):
    a, b, _ = servers
    alice, bob = await a.user("alice"), await b.user("bob")
    media_id = await _upload(bob, _png(), "image/png")
    response = await alice.http.get(
        f"/_matrix/client/v1/media/thumbnail/{B}/{media_id}?width=32&height=32",
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] in ("image/png", "image/jpeg")


async def test_unknown_remote_media_is_404_and_unlisted_servers_are_refused(servers):
    a, _b, _ = servers
    alice = await a.user("alice")
    unknown = await alice.http.get(
        f"/_matrix/client/v1/media/download/{B}/nosuchmedia", headers=alice.headers
    )
    assert (unknown.status_code, unknown.json()["errcode"]) == (404, "M_NOT_FOUND")
    refused = await alice.http.get(
        "/_matrix/client/v1/media/download/c.test/abcdefghij", headers=alice.headers
    )
    assert refused.status_code == 403
    assert "c.test" in refused.json()["error"]


async def test_infected_remote_media_is_refused_and_never_cached(tmp_path, clamd):  # noqa: F811
    router = Router()
    antivirus = {"antivirus": {"enabled": True, "clamd": clamd.unix_address}}
    a = await make_server(tmp_path, A, router, [B], 3, media=antivirus)
    b = await make_server(tmp_path, B, router, [A], 4)
    try:
        alice, bob = await a.user("alice"), await b.user("bob")
        media_id = await _upload(bob, EICAR, "text/plain")
        path = f"/_matrix/client/v1/media/download/{B}/{media_id}"
        response = await alice.http.get(path, headers=alice.headers)
        assert (response.status_code, response.json()["errcode"]) == (403, "M_FORBIDDEN")
        rows = await a.services.stores.db.fetchall("SELECT media_id FROM remote_media")
        assert rows == []
        clean = await _upload(bob, b"clean file", "text/plain")
        ok = await alice.http.get(
            f"/_matrix/client/v1/media/download/{B}/{clean}", headers=alice.headers
        )
        assert ok.content == b"clean file"
    finally:
        for server in (a, b):
            await server.http.aclose()
            await server.services.federation.stop()
            await server.services.stores.db.close()
