"""External partners through the client and federation APIs, on both databases: what they
may not create, and the rooms that keep them out, join only by invitation, or give them no
power (issue 11, points 4 and 6)."""

from typing import Any

import pytest

from tests.http.federation_support import REMOTE, federation_overrides, signed
from tests.http.test_room_access_rules import ACCESS_RULES, assert_refused, state

V1 = "/_matrix/federation/v1"
PARTNER = f"@partner:{REMOTE}"


@pytest.mark.parametrize(
    "config_overrides",
    [{"policy": {"room_access_rules": True, "external_servers": ["test.local"]}}],
)
async def test_an_external_creates_no_room_and_no_dm_with_someone_who_did_not_invite_them(
    register,
):
    carol, dave = await register("carol"), await register("dave")
    room = await carol.request("POST", "/createRoom", json={"name": "Chez moi"})
    assert_refused(room, 403, "EXTERNAL_CANNOT_CREATE")
    assert "External partners may not create rooms" in room.json()["error"]
    dm = await carol.request(
        "POST", "/createRoom", json={"is_direct": True, "invite": [dave.user_id]}
    )
    assert_refused(dm, 403, "EXTERNAL_DM_NOT_INVITED")
    assert "only message agents who invited them" in dm.json()["error"]
    assert (await carol.ok("GET", "/joined_rooms"))["joined_rooms"] == []


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {
        **federation_overrides(),
        "policy": {"room_access_rules": True, "external_servers": [REMOTE]},
    }


async def test_a_restricted_room_neither_invites_nor_admits_an_external(client, register):
    alice = await register("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    invite = await alice.request("POST", f"/rooms/{room}/invite", json={"user_id": PARTNER})
    assert_refused(invite, 403, "EXTERNAL_NOT_ALLOWED")
    forum = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    join = await signed(client, "GET", f"{V1}/make_join/{forum}/{PARTNER}", query={"ver": "11"})
    assert_refused(join, 403, "EXTERNAL_NOT_ALLOWED")
    assert "closed to external partners" in join.json()["error"]


async def test_an_unrestricted_room_gives_an_external_no_power(register):
    alice = await register("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await alice.ok("PUT", f"/rooms/{room}/state/{ACCESS_RULES}/", json={"rule": "unrestricted"})
    levels = await state(alice, room, "m.room.power_levels")
    raised = {**levels, "users": {**levels["users"], PARTNER: 50}}
    response = await alice.request("PUT", f"/rooms/{room}/state/m.room.power_levels/", json=raised)
    assert_refused(response, 403, "EXTERNAL_POWER")


async def test_an_unrestricted_room_admits_an_external_only_by_invitation(client, register):
    alice = await register("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await alice.ok("PUT", f"/rooms/{room}/state/{ACCESS_RULES}/", json={"rule": "unrestricted"})
    await alice.ok("PUT", f"/rooms/{room}/state/m.room.join_rules/", json={"join_rule": "public"})
    join = await signed(client, "GET", f"{V1}/make_join/{room}/{PARTNER}", query={"ver": "11"})
    assert_refused(join, 403, "EXTERNAL_NEEDS_INVITE")
    assert "join this room only when invited" in join.json()["error"]
