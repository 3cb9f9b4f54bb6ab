"""User directory search finds users of other servers (issue 11: an agent looks for a
partner by name, and partners live on their own server), from the member state of
the rooms the searcher may see; their opt-out is honoured as far as this server knows it."""

import asyncio
from typing import Any

import pytest

from sceau.protocol.event_format import compute_event_id
from sceau.protocol.events import hash_and_sign_event
from sceau.protocol.room_versions import get_room_version
from tests.http.federation_support import REMOTE, REMOTE_KEY, federation_overrides, signed
from tests.http.test_user_directory import find, user_ids
from tests.http.two_servers import A, server_pair

V1 = "/_matrix/federation/v1"
BOB = f"@bob:{REMOTE}"
BOB_PROFILE = {"displayname": "Bob Partenaire", "avatar_url": f"mxc://{REMOTE}/bob"}


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {**federation_overrides(), "policy": {"external_servers": [REMOTE]}}


@pytest.fixture
def hidden_remotes(services) -> set[str]:
    """Stands for the remote users' server: who it says opted out (nothing is asked on the net)."""
    hidden: set[str] = set()

    async def says_hidden(user_id: str) -> bool:
        return user_id in hidden

    services.user_directory.remote_hidden = says_hidden
    return hidden


async def remote_join(client: Any, room_id: str, user_id: str, profile: dict[str, str]) -> None:
    """``user_id`` of REMOTE joins through make_join/send_join, with a name in its member event."""
    made = await signed(
        client, "GET", f"{V1}/make_join/{room_id}/{user_id}", query={"ver": ["10", "11"]}
    )
    assert made.status_code == 200, made.text
    template = made.json()["event"]
    template["content"] = {**template["content"], **profile}
    version = get_room_version(made.json()["room_version"])
    pdu = {k: v for k, v in template.items() if k not in ("signatures", "hashes", "unsigned")}
    pdu = hash_and_sign_event(pdu, origin=REMOTE, signing_key=REMOTE_KEY, room_version=version)
    event_id = compute_event_id(pdu, version)
    sent = await signed(
        client, "PUT", f"/_matrix/federation/v2/send_join/{room_id}/{event_id}", body=pdu
    )
    assert sent.status_code == 200, sent.text


async def test_a_remote_member_of_a_public_room_is_found_by_name_with_the_external_mark(
    client, user_factory, hidden_remotes
):
    alice, carol = await user_factory("alice"), await user_factory("carol")
    forum = (await carol.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    assert (await find(alice, "partenaire"))["results"] == []
    bea = f"@bea:{REMOTE}"
    hidden_remotes.add(bea)  # her server says she opted out
    await remote_join(client, forum, bea, {"displayname": "Bea Partenaire"})
    await remote_join(client, forum, BOB, BOB_PROFILE)
    result = await find(alice, "PARTENAIRE")
    assert result["results"] == [
        {
            "user_id": BOB,
            "display_name": "Bob Partenaire",
            "avatar_url": f"mxc://{REMOTE}/bob",
            "policy": {"external": True},
        }
    ]
    assert user_ids(await find(alice, "bob remote.example")) == [BOB]
    assert user_ids(await find(alice, "bob pirate")) == []


async def test_a_remote_user_is_found_only_by_those_sharing_a_room_once_it_is_private(
    client, user_factory, hidden_remotes
):
    alice, dave = await user_factory("alice"), await user_factory("dave")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await remote_join(client, room, BOB, BOB_PROFILE)
    await alice.ok("PUT", f"/rooms/{room}/state/m.room.join_rules", json={"join_rule": "invite"})
    assert user_ids(await find(alice, "partenaire")) == [BOB]
    assert user_ids(await find(dave, "partenaire")) == []


async def test_local_and_remote_users_are_listed_together_sharing_ones_first(
    client, user_factory, hidden_remotes
):
    alice, bobby = await user_factory("alice"), await user_factory("bobby")
    forum = (await bobby.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await remote_join(client, room, BOB, BOB_PROFILE)
    await alice.ok("PUT", f"/rooms/{room}/state/m.room.join_rules", json={"join_rule": "invite"})
    assert forum
    result = await find(alice, "bob")
    assert user_ids(result) == [BOB, bobby.user_id]
    limited = await find(alice, "bob", limit=1)
    assert (user_ids(limited), limited["limited"]) == ([BOB], True)


async def test_the_federation_profile_of_a_user_who_opted_out_says_so(client, user_factory):
    carol = await user_factory("carol")
    query = {"user_id": carol.user_id}
    answer = await signed(client, "GET", f"{V1}/query/profile", query=query)
    assert "im.vector.hide_profile" not in answer.json()
    hide = f"/user/{carol.user_id}/account_data/im.vector.hide_profile"
    await carol.ok("PUT", hide, json={"hide_profile": True})
    answer = await signed(client, "GET", f"{V1}/query/profile", query=query)
    assert answer.json()["im.vector.hide_profile"] is True
    field = await signed(
        client, "GET", f"{V1}/query/profile", query={**query, "field": "displayname"}
    )
    assert "im.vector.hide_profile" not in field.json()


async def test_across_two_servers_a_partner_is_found_unless_they_opted_out(tmp_path):
    async for a, b, _ in server_pair(tmp_path):
        alice = await a.user("alice")
        forum = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
        shown, hidden = await b.user("bob"), await b.user("bea")
        for user, name in ((shown, "Bob Partenaire"), (hidden, "Bea Partenaire")):
            await user.ok("PUT", f"/profile/{user.user_id}/displayname", json={"displayname": name})
            joined = await user.request("POST", f"/join/{forum}?server_name={A}", json={})
            assert joined.status_code == 200, joined.text
        hide = f"/user/{hidden.user_id}/account_data/im.vector.hide_profile"
        await hidden.ok("PUT", hide, json={"hide_profile": True})
        result = await find(alice, "partenaire")
        assert [(e["user_id"], e.get("display_name")) for e in result["results"]] == [
            (shown.user_id, "Bob Partenaire")
        ]


async def test_a_server_too_slow_to_say_leaves_its_user_findable_and_is_asked_once(
    client, user_factory, services, monkeypatch
):
    asked: list[str] = []

    async def never_answers(user_id: str) -> bool:
        asked.append(user_id)
        await asyncio.Event().wait()
        return True

    services.user_directory.remote_hidden = never_answers
    monkeypatch.setattr("sceau.services.user_directory.HIDDEN_TIMEOUT_S", 0.01)
    alice = await user_factory("alice")
    forum = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await remote_join(client, forum, BOB, BOB_PROFILE)
    assert user_ids(await find(alice, "partenaire")) == [BOB]
    assert user_ids(await find(alice, "partenaire")) == [BOB]
    assert asked == [BOB], "the silence is remembered"
