"""Asynchronous uploads: POST /media/v1/create, then PUT /media/v3/upload/{serverName}/{mediaId}."""

import asyncio
from typing import Any

import pytest

from tests.http.media_support import CREATE, SERVER, V1, V3, errcode, send


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """The deprecated unauthenticated paths are on here, so both download paths are tested."""
    return {"media": {"legacy_unauthenticated_media": True}}


async def create(user) -> str:
    body = await user.ok("POST", CREATE)
    assert body["content_uri"].startswith(f"mxc://{SERVER}/")
    assert isinstance(body["unused_expires_at"], int)
    return body["content_uri"].rsplit("/", 1)[1]


async def test_created_media_is_uploaded_once_by_its_creator_and_then_served(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    media_id = await create(alice)
    put = f"{V3}/upload/{SERVER}/{media_id}"

    by_bob = await bob.request("PUT", put, content=b"intruder")
    assert errcode(by_bob) == (403, "M_FORBIDDEN")
    headers = {"Content-Type": "image/gif"}
    done = await send(alice, "PUT", put + "?filename=anim.gif", headers, content=b"GIF89a...")
    assert done.status_code == 200 and done.json() == {}
    again = await alice.request("PUT", put, content=b"other bytes")
    assert errcode(again) == (409, "M_CANNOT_OVERWRITE_MEDIA")
    by_bob = await bob.request("PUT", put, content=b"intruder")
    assert errcode(by_bob) == (403, "M_FORBIDDEN")

    response = await bob.request("GET", f"{V1}/download/{SERVER}/{media_id}")
    assert response.content == b"GIF89a..."
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["content-disposition"] == 'inline; filename="anim.gif"'


async def test_uploading_to_an_unknown_remote_or_malformed_id_is_not_found(user_factory):
    alice = await user_factory("alice")
    media_id = await create(alice)
    for target in (
        f"{SERVER}/nosuchmediaid",
        f"matrix.org/{media_id}",
        f"{SERVER}/bad.id.here",
        f"{SERVER}/abc",
    ):
        response = await alice.request("PUT", f"{V3}/upload/{target}", content=b"x")
        assert errcode(response) == (404, "M_NOT_FOUND"), target


async def test_created_but_not_uploaded_media_is_not_yet_uploaded(user_factory):
    alice = await user_factory("alice")
    media_id = await create(alice)
    for prefix in (V1, V3):
        download = await alice.request("GET", f"{prefix}/download/{SERVER}/{media_id}?timeout_ms=0")
        assert errcode(download) == (504, "M_NOT_YET_UPLOADED")
        thumb = await alice.request(
            "GET", f"{prefix}/thumbnail/{SERVER}/{media_id}?width=32&height=32&timeout_ms=0"
        )
        assert errcode(thumb) == (504, "M_NOT_YET_UPLOADED")
    bad = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}?timeout_ms=-5")
    assert errcode(bad) == (400, "M_INVALID_PARAM")


async def test_a_waiting_download_gets_the_content_as_soon_as_it_is_uploaded(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    media_id = await create(alice)
    waiting = asyncio.create_task(
        bob.request("GET", f"{V1}/download/{SERVER}/{media_id}?timeout_ms=10000")
    )
    await asyncio.sleep(0.05)
    assert not waiting.done()
    started = asyncio.get_running_loop().time()
    await alice.ok("PUT", f"{V3}/upload/{SERVER}/{media_id}", content=b"arrived")
    response = await asyncio.wait_for(waiting, 5)
    assert response.status_code == 200 and response.content == b"arrived"
    assert asyncio.get_running_loop().time() - started < 2


async def test_a_download_that_times_out_waiting_is_not_yet_uploaded(user_factory):
    alice = await user_factory("alice")
    media_id = await create(alice)
    response = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}?timeout_ms=100")
    assert errcode(response) == (504, "M_NOT_YET_UPLOADED")


async def test_an_expired_media_id_can_no_longer_be_uploaded_to(services, user_factory):
    alice = await user_factory("alice")
    media_id = await create(alice)
    async with services.stores.db.transaction() as txn:
        await txn.execute("UPDATE media SET expires_ts = 1 WHERE media_id = ?", media_id)
    response = await alice.request("PUT", f"{V3}/upload/{SERVER}/{media_id}", content=b"late")
    assert errcode(response) == (404, "M_NOT_FOUND")
    download = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}?timeout_ms=0")
    assert errcode(download) == (404, "M_NOT_FOUND")
    assert await create(alice)  # an expired ID no longer counts as pending


@pytest.mark.parametrize(
    "config_overrides",
    [{"media": {"max_pending_uploads": 2, "legacy_unauthenticated_media": True}}],
)
async def test_a_user_may_hold_only_a_few_pending_media_ids(user_factory):
    alice = await user_factory("alice")
    first = await create(alice)
    await create(alice)
    refused = await alice.request("POST", CREATE)
    assert errcode(refused) == (429, "M_LIMIT_EXCEEDED")
    await alice.ok("PUT", f"{V3}/upload/{SERVER}/{first}", content=b"done")
    assert await create(alice)


@pytest.mark.parametrize(
    "config_overrides", [{"media": {"max_upload_bytes": 100, "legacy_unauthenticated_media": True}}]
)
async def test_an_async_upload_over_the_limit_is_refused_and_the_id_stays_usable(user_factory):
    alice = await user_factory("alice")
    media_id = await create(alice)
    put = f"{V3}/upload/{SERVER}/{media_id}"
    assert errcode(await alice.request("PUT", put, content=b"x" * 101)) == (413, "M_TOO_LARGE")
    await alice.ok("PUT", put, content=b"x" * 100)
