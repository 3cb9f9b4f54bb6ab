"""The media repository over HTTP: uploads, downloads, async uploads, thumbnails, config.

Every test runs on SQLite and PostgreSQL. Images are made with Pillow.
"""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.http.media_support import CREATE, CSP, SERVER, V1, V3, errcode, image_bytes, upload


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """The deprecated unauthenticated paths are on here, so both download paths are tested."""
    return {"media": {"legacy_unauthenticated_media": True}}


# ------------------------------------------------------------------ uploads and downloads


async def test_upload_then_download_gives_back_the_bytes_type_and_file_name(user_factory):
    alice = await user_factory("alice")
    data = b"%PDF-1.4 " + bytes(range(256)) * 40
    media_id = await upload(alice, data, "application/pdf", "rapport.pdf")
    for url in (f"{V1}/download/{SERVER}/{media_id}", f"{V3}/download/{SERVER}/{media_id}"):
        response = await alice.request("GET", url)
        assert response.status_code == 200, response.text
        assert response.content == data
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-length"] == str(len(data))
        assert response.headers["content-disposition"] == 'attachment; filename="rapport.pdf"'
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cross-origin-resource-policy"] == "cross-origin"


@pytest.mark.parametrize(
    ("content_type", "disposition"),
    [
        ("image/png", "inline"),
        ("text/plain; charset=utf-8", "inline"),
        ("video/mp4", "inline"),
        ("audio/ogg", "inline"),
        ("text/html", "attachment"),
        ("image/svg+xml", "attachment"),
        ("application/javascript", "attachment"),
        ("application/octet-stream", "attachment"),
    ],
)
async def test_only_types_safe_to_show_are_served_inline(user_factory, content_type, disposition):
    alice = await user_factory("alice")
    media_id = await upload(alice, b"<script>alert(1)</script>", content_type)
    response = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == disposition  # no filename uploaded
    assert response.headers["content-type"].startswith(content_type.split(";")[0])
    assert response.headers["content-security-policy"] == CSP


async def test_file_names_from_the_path_win_and_non_ascii_names_are_rfc5987_encoded(user_factory):
    alice = await user_factory("alice")
    media_id = await upload(alice, b"x", "text/csv", 'budget "2026".csv')
    response = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}")
    assert response.headers["content-disposition"] == (
        "inline; filename*=utf-8''budget%20%222026%22.csv"
    )
    response = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}/Note%20d%C3%A9t.csv")
    assert response.headers["content-disposition"] == (
        "inline; filename*=utf-8''Note%20d%C3%A9t.csv"
    )
    response = await alice.request("GET", f"{V3}/download/{SERVER}/{media_id}/plain.csv")
    assert response.headers["content-disposition"] == 'inline; filename="plain.csv"'
    # matrix-nio asks with a trailing slash and no name.
    response = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}/")
    assert response.status_code == 200
    assert "budget" in response.headers["content-disposition"]


async def test_an_upload_without_content_type_is_served_as_octet_stream(user_factory):
    alice = await user_factory("alice")
    media_id = await upload(alice, b"\x00\x01", content_type=None)
    response = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == "attachment"


async def test_head_requests_get_the_headers_without_the_body(user_factory):
    alice = await user_factory("alice")
    media_id = await upload(alice, b"0123456789", "text/plain")
    response = await alice.request("HEAD", f"{V1}/download/{SERVER}/{media_id}")
    assert response.status_code == 200
    assert response.headers["content-length"] == "10"
    assert response.content == b""


@pytest.mark.parametrize("config_overrides", [{}])
async def test_media_endpoints_need_a_token_and_legacy_unauthenticated_paths_are_off(
    client, user_factory
):
    alice = await user_factory("alice")
    media_id = await upload(alice, image_bytes(40, 40), "image/png")
    for url in (
        f"{V1}/download/{SERVER}/{media_id}",
        f"{V1}/download/{SERVER}/{media_id}/a.png",
        f"{V1}/thumbnail/{SERVER}/{media_id}?width=32&height=32",
        f"{V1}/config",
        f"{V3}/config",
        f"{V1}/preview_url?url=https://example.org",
    ):
        assert errcode(await client.get(url)) == (401, "M_MISSING_TOKEN"), url
    for method, url in (("POST", V3 + "/upload"), ("POST", CREATE)):
        assert errcode(await client.request(method, url, content=b"x")) == (401, "M_MISSING_TOKEN")
    legacy = await client.get(f"{V3}/download/{SERVER}/{media_id}")
    assert errcode(legacy) == (404, "M_NOT_FOUND")
    thumb = await client.get(f"{V3}/thumbnail/{SERVER}/{media_id}?width=32&height=32")
    assert errcode(thumb) == (404, "M_NOT_FOUND")
    named = await client.get(f"{V3}/download/{SERVER}/{media_id}/a.png")
    assert errcode(named) == (404, "M_NOT_FOUND")


@pytest.mark.parametrize("config_overrides", [{"media": {"legacy_unauthenticated_media": True}}])
async def test_legacy_unauthenticated_paths_serve_media_when_the_admin_turns_them_on(
    client, user_factory
):
    alice = await user_factory("alice")
    media_id = await upload(alice, image_bytes(40, 40), "image/png")
    legacy = await client.get(f"{V3}/download/{SERVER}/{media_id}")
    assert legacy.status_code == 200
    thumb = await client.get(f"{V3}/thumbnail/{SERVER}/{media_id}?width=32&height=32")
    assert thumb.status_code == 200


async def test_unknown_remote_and_malformed_media_are_not_found(user_factory):
    alice = await user_factory("alice")
    real = await upload(alice, b"x")
    cases = [
        f"{SERVER}/nosuchmediaid",
        f"matrix.org/{real}",  # never fetched: this server makes no outbound calls
        f"{SERVER}/..%2F..%2Fetc%2Fpasswd",
        f"{SERVER}/a%00bcdef",
        f"{SERVER}/abc",
        f"{SERVER}/{'a' * 300}",
        f"{SERVER}/%C3%A9t%C3%A9abc",
    ]
    for case in cases:
        for prefix in (V1, V3):
            response = await alice.request("GET", f"{prefix}/download/{case}")
            assert response.status_code == 404, (case, response.text)
            assert response.json()["errcode"] in ("M_NOT_FOUND", "M_UNRECOGNIZED")
            thumb = await alice.request("GET", f"{prefix}/thumbnail/{case}?width=32&height=32")
            assert thumb.status_code == 404, (case, thumb.text)
    response = await alice.request("GET", f"{V1}/download/matrix.org/{real}")
    assert errcode(response) == (404, "M_NOT_FOUND")


async def test_an_upload_larger_than_the_json_request_limit_is_accepted(services, user_factory):
    alice = await user_factory("alice")
    data = bytes(range(256)) * (services.config.limits.max_request_bytes // 256 + 4096)
    media_id = await upload(alice, data)
    response = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}")
    assert response.content == data


SMALL_LIMIT = {"media": {"max_upload_bytes": 5000}}


@pytest.mark.parametrize("config_overrides", [SMALL_LIMIT])
async def test_uploads_over_the_limit_are_refused_while_streaming_and_leave_nothing(
    services, user_factory, tmp_path
):
    alice = await user_factory("alice")
    declared = await alice.request("POST", V3 + "/upload", content=b"x" * 5001)
    assert errcode(declared) == (413, "M_TOO_LARGE")
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b"y" * 1000

    streamed = await alice.request("POST", V3 + "/upload", content=endless())
    assert errcode(streamed) == (413, "M_TOO_LARGE")
    assert sent < 20, "the body was read to the end instead of refused at the limit"
    assert await services.stores.db.fetchval("SELECT COUNT(*) FROM media") == 0
    assert list((tmp_path / "media" / "tmp").iterdir()) == []
    assert await upload(alice, b"z" * 5000)  # exactly the limit is fine
    config = await alice.ok("GET", V1 + "/config")
    assert config == {"m.upload.size": 5000}


async def test_config_endpoints_give_the_upload_limit(services, user_factory):
    alice = await user_factory("alice")
    expected = {"m.upload.size": services.config.media.max_upload_bytes}
    assert await alice.ok("GET", V1 + "/config") == expected
    assert await alice.ok("GET", V3 + "/config") == expected
    assert expected["m.upload.size"] == 50 * 1024 * 1024


async def test_url_previews_are_refused_without_fetching_anything(user_factory):
    alice = await user_factory("alice")
    for prefix in (V1, V3):
        response = await alice.request("GET", f"{prefix}/preview_url?url=http://127.0.0.1:1/")
        assert errcode(response) == (403, "M_FORBIDDEN")


async def test_odd_file_names_are_refused_or_kept_verbatim(user_factory):
    alice = await user_factory("alice")
    nul = await alice.request("POST", V3 + "/upload?filename=a%00b", content=b"x")
    assert errcode(nul) == (400, "M_INVALID_PARAM")
    long = await alice.request(
        "POST", V3 + "/upload", params={"filename": "n" * 2000}, content=b"x"
    )
    assert errcode(long) == (400, "M_INVALID_PARAM")
    media_id = await upload(alice, b"x", "text/plain", "a\r\nSet-Cookie: x=y")
    response = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}")
    assert "set-cookie" not in response.headers
    assert response.headers["content-disposition"] == (
        "inline; filename*=utf-8''a%0D%0ASet-Cookie%3A%20x%3Dy"
    )


@pytest.mark.parametrize(
    "config_overrides", [{"rate_limits": {"media": {"per_second": 0.001, "burst": 2}}}]
)
async def test_uploads_and_creates_are_rate_limited_per_user(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    await upload(alice, b"1")
    await alice.ok("POST", CREATE)
    refused = await alice.request("POST", V3 + "/upload", content=b"3")
    assert errcode(refused) == (429, "M_LIMIT_EXCEEDED")
    assert refused.json()["retry_after_ms"] > 0
    assert await upload(bob, b"1")
