"""Encrypted by default: rooms get m.room.encryption at creation, and it can never be undone.

Runs through the HTTP API, since the rule spans room creation, state sends and
redactions.
"""

import pytest

MEGOLM = "m.megolm.v1.aes-sha2"


async def _encryption(user, room):
    response = await user.request("GET", f"/rooms/{room}/state/m.room.encryption/")
    return response.json() if response.status_code == 200 else None


@pytest.mark.parametrize(
    ("body", "encrypted"),
    [
        ({}, True),
        ({"preset": "private_chat"}, True),
        ({"preset": "trusted_private_chat", "is_direct": True}, True),
        ({"preset": "public_chat"}, False),
        ({"visibility": "public"}, False),
    ],
)
async def test_default_policy_encrypts_every_room_that_is_not_public(user_factory, body, encrypted):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json=body))["room_id"]
    content = await _encryption(alice, room)
    assert (content == {"algorithm": MEGOLM}) is encrypted
    assert (content is None) is not encrypted


async def test_initial_state_encryption_is_kept_not_duplicated(user_factory):
    alice = await user_factory("alice")
    own = {"algorithm": MEGOLM, "rotation_period_ms": 3600000}
    room = (
        await alice.ok(
            "POST",
            "/createRoom",
            json={
                "initial_state": [{"type": "m.room.encryption", "state_key": "", "content": own}]
            },
        )
    )["room_id"]
    assert await _encryption(alice, room) == own
    state = await alice.ok("GET", f"/rooms/{room}/state")
    assert sum(1 for e in state if e["type"] == "m.room.encryption") == 1


async def test_encryption_cannot_be_turned_off_or_changed(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    for content in ({}, {"algorithm": "m.none"}, {"algorithm": None}):
        response = await alice.request(
            "PUT", f"/rooms/{room}/state/m.room.encryption/", json=content
        )
        assert response.status_code in (400, 403), content
    # The same algorithm again (e.g. new rotation settings) is allowed.
    await alice.ok(
        "PUT",
        f"/rooms/{room}/state/m.room.encryption/",
        json={"algorithm": MEGOLM, "rotation_period_msgs": 50},
    )
    assert (await _encryption(alice, room))["algorithm"] == MEGOLM


async def test_public_room_can_be_encrypted_later_but_not_by_a_plain_member(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    denied = await bob.request(
        "PUT", f"/rooms/{room}/state/m.room.encryption/", json={"algorithm": MEGOLM}
    )
    assert denied.status_code == 403  # authorization rules: power level
    await alice.ok("PUT", f"/rooms/{room}/state/m.room.encryption/", json={"algorithm": MEGOLM})
    assert await _encryption(alice, room) == {"algorithm": MEGOLM}


async def test_encryption_event_cannot_be_redacted_away(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    state = await alice.ok("GET", f"/rooms/{room}/state")
    event_id = next(e["event_id"] for e in state if e["type"] == "m.room.encryption")
    response = await alice.request("PUT", f"/rooms/{room}/redact/{event_id}/r1", json={})
    assert response.status_code == 403
    assert (await _encryption(alice, room) or {}).get("algorithm") == MEGOLM


@pytest.fixture
def config_overrides(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize(
    ("config_overrides", "preset", "encrypted"),
    [
        ({"encryption": {"encrypt_new_rooms": "all"}}, "public_chat", True),
        ({"encryption": {"encrypt_new_rooms": "off"}}, "private_chat", False),
    ],
    indirect=["config_overrides"],
)
async def test_policy_setting_all_and_off(user_factory, preset, encrypted):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"preset": preset}))["room_id"]
    assert (await _encryption(alice, room) is not None) is encrypted


async def test_upgraded_room_stays_encrypted(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    new = await alice.ok("POST", f"/rooms/{room}/upgrade", json={"new_version": "11"})
    assert (await _encryption(alice, new["replacement_room"]))["algorithm"] == MEGOLM
