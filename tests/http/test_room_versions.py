"""Every stable room version, 1 to 12, over the client-server API.

Rooms of old versions exist on the federation; local users must be able to
create them (``room_version`` in createRoom) and to do everything in them that
they do in a v11 room, with event IDs in the form each version uses.
"""

import re
from urllib.parse import quote

import pytest

ALL_VERSIONS = [str(n) for n in range(1, 13)]
SERVER_EVENT_ID = re.compile(r"\$[A-Za-z0-9_-]+:[^:]+")
STANDARD_HASH_ID = re.compile(r"\$[A-Za-z0-9+/]{43}")
URLSAFE_HASH_ID = re.compile(r"\$[A-Za-z0-9_-]{43}")


def event_id_pattern(version: str) -> re.Pattern[str]:
    if version in ("1", "2"):
        return SERVER_EVENT_ID
    return STANDARD_HASH_ID if version == "3" else URLSAFE_HASH_ID


async def test_capabilities_list_versions_1_to_12_as_stable_and_v11_as_default(user_factory):
    alice = await user_factory("alice")
    capabilities = (await alice.ok("GET", "/capabilities"))["capabilities"]
    versions = capabilities["m.room_versions"]
    assert versions["available"] == {v: "stable" for v in ALL_VERSIONS}
    assert versions["default"] == "11"


async def test_create_room_without_version_still_gives_v11(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    create = await alice.ok("GET", f"/rooms/{room}/state/m.room.create")
    assert create["room_version"] == "11"


@pytest.mark.parametrize("version", ALL_VERSIONS)
async def test_every_version_creates_joins_chats_redacts_and_kicks(user_factory, version):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (
        await alice.ok(
            "POST", "/createRoom", json={"room_version": version, "invite": [bob.user_id]}
        )
    )["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    sent = await bob.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/1", json={"body": "hi", "msgtype": "m.text"}
    )
    assert event_id_pattern(version).fullmatch(sent["event_id"]), sent["event_id"]
    # v3 IDs may hold '/' and '+': clients percent-encode them in paths.
    event_path = f"/rooms/{room}/event/{quote(sent['event_id'], safe='')}"
    event = await alice.ok("GET", event_path)
    assert event["content"]["body"] == "hi"
    assert event["event_id"] == sent["event_id"]

    encoded = quote(sent["event_id"], safe="")
    await alice.ok("POST", f"/rooms/{room}/receipt/m.read/{encoded}", json={})
    await alice.ok(
        "POST",
        f"/rooms/{room}/read_markers",
        json={"m.fully_read": sent["event_id"], "m.read": sent["event_id"]},
    )
    markers = await alice.ok(
        "GET", f"/user/{quote(alice.user_id)}/rooms/{room}/account_data/m.fully_read"
    )
    assert markers == {"event_id": sent["event_id"]}

    redaction = await alice.ok(
        "PUT",
        f"/rooms/{room}/redact/{quote(sent['event_id'], safe='')}/r1",
        json={"reason": "test"},
    )
    assert event_id_pattern(version).fullmatch(redaction["event_id"])
    redacted = await alice.ok("GET", event_path)
    assert redacted["content"] == {}

    levels = await alice.ok("GET", f"/rooms/{room}/state/m.room.power_levels")
    levels["users"][bob.user_id] = 50
    await alice.ok("PUT", f"/rooms/{room}/state/m.room.power_levels", json=levels)
    await bob.ok("PUT", f"/rooms/{room}/state/m.room.topic", json={"topic": "agenda"})

    await alice.ok("POST", f"/rooms/{room}/kick", json={"user_id": bob.user_id})
    joined = await alice.ok("GET", f"/rooms/{room}/joined_members")
    assert set(joined["joined"]) == {alice.user_id}
    create = await alice.ok("GET", f"/rooms/{room}/state/m.room.create")
    assert create["room_version"] == version
    if version in ("1", "2") or int(version) <= 10:
        assert create["creator"] == alice.user_id


@pytest.mark.parametrize("version", ["1", "6"])
async def test_knock_join_rule_is_refused_before_v7(user_factory, version):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"room_version": version}))["room_id"]
    response = await alice.request(
        "PUT", f"/rooms/{room}/state/m.room.join_rules", json={"join_rule": "knock"}
    )
    # The auth rules accept any join_rule value; what they refuse is a knock.
    assert response.status_code == 200
    eve = await user_factory("eve")
    knock = await eve.request("POST", f"/knock/{room}", json={})
    assert knock.status_code == 403
    assert knock.json()["errcode"] == "M_FORBIDDEN"


async def test_v3_event_ids_with_slashes_work_in_paths(user_factory):
    """v3 IDs are standard Base64: '/' arrives as %2F and must reach the endpoint whole."""
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"room_version": "3"}))["room_id"]
    with_slash = None
    for n in range(40):
        sent = await alice.ok(
            "PUT",
            f"/rooms/{room}/send/m.room.message/s{n}",
            json={"body": str(n), "msgtype": "m.text"},
        )
        if "/" in sent["event_id"]:
            with_slash = (sent["event_id"], str(n))
            break
    assert with_slash is not None, "no event ID with '/' in 40 sends"
    event_id, body = with_slash
    encoded = quote(event_id, safe="")
    assert "%2F" in encoded
    event = await alice.ok("GET", f"/rooms/{room}/event/{encoded}")
    assert event["event_id"] == event_id and event["content"]["body"] == body
    context = await alice.ok("GET", f"/rooms/{room}/context/{encoded}")
    assert context["event"]["event_id"] == event_id
    await alice.ok("PUT", f"/rooms/{room}/redact/{encoded}/r", json={})
    assert (await alice.ok("GET", f"/rooms/{room}/event/{encoded}"))["content"] == {}


@pytest.mark.parametrize(("old", "new"), [("1", "11"), ("3", "12"), ("11", "2")])
async def test_rooms_upgrade_between_old_and_new_versions(user_factory, old, new):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"room_version": old}))["room_id"]
    upgraded = await alice.ok("POST", f"/rooms/{room}/upgrade", json={"new_version": new})
    new_room = upgraded["replacement_room"]
    create = await alice.ok("GET", f"/rooms/{new_room}/state/m.room.create")
    assert create["room_version"] == new
    assert create["predecessor"]["room_id"] == room
    if new != "12":  # v12 predecessors name no event
        assert event_id_pattern(old).fullmatch(create["predecessor"]["event_id"])
    tombstone = await alice.ok("GET", f"/rooms/{room}/state/m.room.tombstone")
    assert tombstone["replacement_room"] == new_room


@pytest.mark.parametrize("version", ["1", "11"])
async def test_integral_floats_are_stored_as_the_integers_that_were_signed(user_factory, version):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"room_version": version}))["room_id"]
    body = b'{"msgtype":"m.text","body":"x","n":1.0}'
    sent = await alice.ok("PUT", f"/rooms/{room}/send/m.room.message/f", content=body)
    raw = await alice.request("GET", f"/rooms/{room}/event/{quote(sent['event_id'], safe='')}")
    assert b'"n":1}' in raw.content or b'"n":1,' in raw.content
    refused = await alice.request(
        "PUT", f"/rooms/{room}/send/m.room.message/g", content=b'{"body":"x","n":1.5}'
    )
    assert refused.status_code == 400
    assert refused.json()["errcode"] == "M_BAD_JSON"
