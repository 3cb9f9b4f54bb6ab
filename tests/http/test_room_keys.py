"""Server-side key backup: versions, keys, etag/count, better-copy rule, wrong versions."""

import pytest

from sceau.services.e2ee.key_backup import is_better
from sceau.storage.e2ee.key_backup import RoomKey

ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2"
ROOM = "!room:test.local"


def _data(fmi=0, fwd=0, verified=False, tag="a"):
    return {
        "first_message_index": fmi,
        "forwarded_count": fwd,
        "is_verified": verified,
        "session_data": {"ciphertext": tag, "ephemeral": "e", "mac": "m"},
    }


async def _create(user, public_key="pk1"):
    body = {"algorithm": ALGORITHM, "auth_data": {"public_key": public_key}}
    return (await user.ok("POST", "/room_keys/version", json=body))["version"]


async def test_version_lifecycle(user_factory):
    alice = await user_factory("alice")
    missing = await alice.request("GET", "/room_keys/version")
    assert missing.status_code == 404 and missing.json()["errcode"] == "M_NOT_FOUND"
    v1 = await _create(alice)
    v2 = await _create(alice, "pk2")
    assert int(v2) > int(v1)
    current = await alice.ok("GET", "/room_keys/version")
    assert current == {
        "algorithm": ALGORITHM,
        "auth_data": {"public_key": "pk2"},
        "version": v2,
        "count": 0,
        "etag": "0",
    }
    assert (await alice.ok("GET", f"/room_keys/version/{v1}"))["auth_data"]["public_key"] == "pk1"
    await alice.ok(
        "PUT",
        f"/room_keys/version/{v2}",
        json={"algorithm": ALGORITHM, "auth_data": {"public_key": "pk2", "signatures": {}}},
    )
    assert (await alice.ok("GET", "/room_keys/version"))["auth_data"]["signatures"] == {}
    bad_alg = await alice.request(
        "PUT", f"/room_keys/version/{v2}", json={"algorithm": "other", "auth_data": {}}
    )
    assert bad_alg.status_code == 400
    bad_version = await alice.request(
        "PUT",
        f"/room_keys/version/{v2}",
        json={"algorithm": ALGORITHM, "auth_data": {}, "version": v1},
    )
    assert bad_version.status_code == 400
    await alice.ok("DELETE", f"/room_keys/version/{v2}")
    assert (await alice.ok("GET", "/room_keys/version"))["version"] == v1
    assert (await alice.request("GET", f"/room_keys/version/{v2}")).status_code == 404
    assert (await alice.request("GET", "/room_keys/version/99")).status_code == 404
    assert (
        await alice.request(
            "PUT", "/room_keys/version/99", json={"algorithm": ALGORITHM, "auth_data": {}}
        )
    ).status_code == 404


async def test_backups_are_private_to_their_user(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    version = await _create(alice)
    assert (await bob.request("GET", f"/room_keys/version/{version}")).status_code == 404


async def test_upload_and_read_keys_at_every_level_with_etag_and_count(user_factory):
    alice = await user_factory("alice")
    version = await _create(alice)
    body = {"rooms": {ROOM: {"sessions": {"s1": _data(), "s2": _data(tag="b")}}}}
    put = await alice.ok("PUT", f"/room_keys/keys?version={version}", json=body)
    assert put["count"] == 2
    etag1 = put["etag"]
    put = await alice.ok(
        "PUT", f"/room_keys/keys/{ROOM}?version={version}", json={"sessions": {"s3": _data()}}
    )
    assert put["count"] == 3 and put["etag"] != etag1
    put = await alice.ok("PUT", f"/room_keys/keys/!other:x/s4?version={version}", json=_data())
    assert put["count"] == 4
    everything = await alice.ok("GET", f"/room_keys/keys?version={version}")
    assert set(everything["rooms"][ROOM]["sessions"]) == {"s1", "s2", "s3"}
    assert set(everything["rooms"]["!other:x"]["sessions"]) == {"s4"}
    room = await alice.ok("GET", f"/room_keys/keys/{ROOM}?version={version}")
    assert room["sessions"]["s2"] == _data(tag="b")
    assert await alice.ok("GET", f"/room_keys/keys/{ROOM}/s1?version={version}") == _data()
    info = await alice.ok("GET", "/room_keys/version")
    assert info["count"] == 4 and info["etag"] == put["etag"]
    empty_room = await alice.ok("GET", f"/room_keys/keys/!none:x?version={version}")
    assert empty_room == {"sessions": {}}
    missing = await alice.request("GET", f"/room_keys/keys/{ROOM}/nope?version={version}")
    assert missing.status_code == 404 and missing.json()["errcode"] == "M_NOT_FOUND"


async def test_delete_keys_at_every_level(user_factory):
    alice = await user_factory("alice")
    version = await _create(alice)
    body = {
        "rooms": {
            ROOM: {"sessions": {"s1": _data(), "s2": _data()}},
            "!b:x": {"sessions": {"s3": _data()}},
            "!c:x": {"sessions": {"s4": _data()}},
        }
    }
    await alice.ok("PUT", f"/room_keys/keys?version={version}", json=body)
    result = await alice.ok("DELETE", f"/room_keys/keys/{ROOM}/s1?version={version}")
    assert result["count"] == 3
    result = await alice.ok("DELETE", f"/room_keys/keys/!b:x?version={version}")
    assert result["count"] == 2
    result = await alice.ok("DELETE", f"/room_keys/keys?version={version}")
    assert result["count"] == 0
    assert await alice.ok("GET", f"/room_keys/keys?version={version}") == {"rooms": {}}


async def test_wrong_version_upload_is_forbidden_with_current_version(user_factory):
    alice = await user_factory("alice")
    no_backup = await alice.request("PUT", f"/room_keys/keys/{ROOM}/s?version=1", json=_data())
    assert no_backup.status_code == 404 and no_backup.json()["errcode"] == "M_NOT_FOUND"
    old = await _create(alice)
    new = await _create(alice)
    response = await alice.request("PUT", f"/room_keys/keys/{ROOM}/s?version={old}", json=_data())
    assert response.status_code == 403
    assert response.json()["errcode"] == "M_WRONG_ROOM_KEYS_VERSION"
    assert response.json()["current_version"] == new
    assert (await alice.request("GET", "/room_keys/keys?version=77")).status_code == 404


@pytest.mark.parametrize(
    ("first", "second", "kept"),
    [
        (_data(verified=False, tag="old"), _data(verified=True, fmi=9, tag="new"), "new"),
        (_data(verified=True, fmi=9, tag="old"), _data(verified=False, fmi=0, tag="new"), "old"),
        (_data(fmi=5, tag="old"), _data(fmi=2, tag="new"), "new"),
        (_data(fmi=2, tag="old"), _data(fmi=5, tag="new"), "old"),
        (_data(fwd=3, tag="old"), _data(fwd=1, tag="new"), "new"),
        (_data(fwd=1, tag="old"), _data(fwd=3, tag="new"), "old"),
    ],
)
async def test_uploading_a_session_twice_keeps_the_better_copy(user_factory, first, second, kept):
    alice = await user_factory("alice")
    version = await _create(alice)
    url = f"/room_keys/keys/{ROOM}/s?version={version}"
    await alice.ok("PUT", url, json=first)
    etag = (await alice.ok("GET", "/room_keys/version"))["etag"]
    result = await alice.ok("PUT", url, json=second)
    stored = await alice.ok("GET", url)
    assert stored["session_data"]["ciphertext"] == kept
    assert (result["etag"] != etag) == (kept == "new")


def test_is_better_orders_verified_then_index_then_forwards():
    def key(verified, fmi, fwd):
        return RoomKey(ROOM, "s", fmi, fwd, verified, {})

    assert is_better(key(True, 9, 9), key(False, 0, 0))
    assert is_better(key(False, 1, 9), key(False, 2, 0))
    assert is_better(key(False, 1, 0), key(False, 1, 1))
    assert not is_better(key(False, 1, 1), key(False, 1, 1))


async def test_bad_key_data_is_rejected(user_factory):
    alice = await user_factory("alice")
    version = await _create(alice)
    for data in ({"first_message_index": "0"}, {**_data(), "is_verified": "yes"}, []):
        response = await alice.request(
            "PUT", f"/room_keys/keys/{ROOM}/s?version={version}", json=data
        )
        assert response.status_code == 400, data
    response = await alice.request("POST", "/room_keys/version", json={"algorithm": ALGORITHM})
    assert response.status_code == 400


async def test_concurrent_version_creation_and_uploads_stay_consistent(user_factory):
    import asyncio

    alice = await user_factory("alice")
    versions = await asyncio.gather(*(_create(alice) for _ in range(5)))
    assert len(set(versions)) == 5
    current = (await alice.ok("GET", "/room_keys/version"))["version"]
    assert current == max(versions, key=int)
    url = f"/room_keys/keys/{ROOM}/s?version={current}"
    copies = [_data(fmi=i, tag=str(i)) for i in (7, 3, 9, 1, 5)]
    await asyncio.gather(*(alice.ok("PUT", url, json=c) for c in copies))
    assert (await alice.ok("GET", url))["session_data"]["ciphertext"] == "1"


async def test_session_ids_with_a_slash_work_at_session_level(user_factory):
    alice = await user_factory("alice")
    version = await _create(alice)
    session = "abc/DEF+ghi"
    url = f"/room_keys/keys/{ROOM}/abc%2FDEF%2Bghi?version={version}"
    await alice.ok("PUT", url, json=_data(tag="slash"))
    assert (await alice.ok("GET", url))["session_data"]["ciphertext"] == "slash"
    room = await alice.ok("GET", f"/room_keys/keys/{ROOM}?version={version}")
    assert session in room["sessions"]
    assert (await alice.ok("DELETE", url))["count"] == 0
