"""Uploads scanned by a real clamd before they are acknowledged, on SQLite and PostgreSQL.

An infected file is refused with 403 M_FORBIDDEN (the spec's answer for
content the server does not permit) and leaves no row, no file and no
temporary file behind. When clamd gives no verdict, ``on_error`` decides:
``reject`` answers 503 M_UNKNOWN, ``accept`` stores the file unscanned.
"""

from pathlib import Path
from typing import Any

import pytest

from tests.antivirus_support import EICAR, STREAM_MAX_BYTES, clamd  # noqa: F401
from tests.conftest import free_port
from tests.http.media_support import CREATE, SERVER, V1, V3, errcode, send, upload

CLEAN = b"Note de service: reunion lundi 9h.\n" * 200
#: Nothing listens here: a clamd that is down.
DOWN = f"tcp://127.0.0.1:{free_port()}"


def _antivirus(address: str, on_error: str = "reject") -> dict[str, Any]:
    return {"media": {"antivirus": {"enabled": True, "clamd": address, "on_error": on_error}}}


@pytest.fixture
def config_overrides(clamd) -> dict[str, Any]:  # noqa: F811
    return _antivirus(clamd.unix_address)


async def _assert_nothing_stored(services, tmp_path: Path, pending: int = 0) -> None:
    """No uploaded row, no content file, no temporary file."""
    db = services.stores.db
    assert await db.fetchval("SELECT COUNT(*) FROM media WHERE uploaded_ts IS NOT NULL") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM media") == pending
    store = tmp_path / "media"
    assert not [p for p in (store / "local_content").rglob("*") if p.is_file()]
    assert not list((store / "tmp").iterdir())


async def test_a_clean_upload_is_scanned_stored_and_downloadable(user_factory):
    alice = await user_factory("alice")
    media_id = await upload(alice, CLEAN, "text/plain", "note.txt")
    response = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}")
    assert response.status_code == 200 and response.content == CLEAN


async def test_an_infected_upload_is_forbidden_and_leaves_nothing(services, tmp_path, user_factory):
    alice = await user_factory("alice")
    headers = {"Content-Type": "application/octet-stream"}
    response = await send(alice, "POST", V3 + "/upload", headers, content=EICAR)
    assert errcode(response) == (403, "M_FORBIDDEN")
    assert response.json()["error"] == "This file failed the antivirus scan"
    await _assert_nothing_stored(services, tmp_path)


async def test_an_infected_async_upload_is_forbidden_and_the_id_stays_pending(
    services, tmp_path, user_factory
):
    alice = await user_factory("alice")
    media_id = (await alice.ok("POST", CREATE))["content_uri"].rsplit("/", 1)[1]
    put = f"{V3}/upload/{SERVER}/{media_id}"
    assert errcode(await alice.request("PUT", put, content=EICAR)) == (403, "M_FORBIDDEN")
    await _assert_nothing_stored(services, tmp_path, pending=1)
    waiting = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}?timeout_ms=0")
    assert errcode(waiting) == (504, "M_NOT_YET_UPLOADED")
    await alice.ok("PUT", put, content=CLEAN)
    response = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}")
    assert response.status_code == 200 and response.content == CLEAN


@pytest.mark.parametrize("config_overrides", [{}])
async def test_without_antivirus_enabled_nothing_is_scanned(user_factory):
    alice = await user_factory("alice")
    assert await upload(alice, EICAR)


async def test_a_file_over_clamds_stream_limit_is_refused_as_unscanned(
    services, tmp_path, user_factory
):
    alice = await user_factory("alice")
    big = b"\x00" * (STREAM_MAX_BYTES + 100_000)
    response = await send(alice, "POST", V3 + "/upload", {}, content=big)
    assert errcode(response) == (503, "M_UNKNOWN")
    await _assert_nothing_stored(services, tmp_path)


@pytest.mark.parametrize("config_overrides", [_antivirus(DOWN)])
async def test_clamd_down_with_on_error_reject_refuses_uploads_with_503(
    services, tmp_path, user_factory
):
    alice = await user_factory("alice")
    response = await send(alice, "POST", V3 + "/upload", {}, content=CLEAN)
    assert errcode(response) == (503, "M_UNKNOWN")
    media_id = (await alice.ok("POST", CREATE))["content_uri"].rsplit("/", 1)[1]
    put = await alice.request("PUT", f"{V3}/upload/{SERVER}/{media_id}", content=CLEAN)
    assert errcode(put) == (503, "M_UNKNOWN")
    await _assert_nothing_stored(services, tmp_path, pending=1)


@pytest.mark.parametrize("config_overrides", [_antivirus("unix:///nonexistent/clamd.ctl")])
async def test_a_missing_clamd_socket_is_a_503_too(user_factory):
    alice = await user_factory("alice")
    response = await send(alice, "POST", V3 + "/upload", {}, content=CLEAN)
    assert errcode(response) == (503, "M_UNKNOWN")


@pytest.mark.parametrize("config_overrides", [_antivirus(DOWN, on_error="accept")])
async def test_clamd_down_with_on_error_accept_stores_the_upload_unscanned(user_factory):
    alice = await user_factory("alice")
    media_id = await upload(alice, CLEAN)
    response = await alice.request("GET", f"{V1}/download/{SERVER}/{media_id}")
    assert response.status_code == 200 and response.content == CLEAN
