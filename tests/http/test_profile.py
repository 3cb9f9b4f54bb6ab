"""Profiles over HTTP: public reads, owner-only writes, validated values."""

import pytest

V3 = "/_matrix/client/v3"


def error(response, status: int, errcode: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["errcode"] == errcode, response.text


async def test_a_new_user_starts_with_their_localpart_as_name_readable_without_a_token(
    client, register
):
    alice = await register("alice")
    response = await client.get(V3 + f"/profile/{alice.user_id}")
    assert response.status_code == 200 and response.json() == {"displayname": "alice"}
    error(await client.get(V3 + f"/profile/{alice.user_id}/avatar_url"), 404, "M_NOT_FOUND")


async def test_unknown_or_invalid_users_have_no_profile(client):
    error(await client.get(V3 + "/profile/@ghost:test.local"), 404, "M_NOT_FOUND")
    error(await client.get(V3 + "/profile/@ghost:test.local/displayname"), 404, "M_NOT_FOUND")
    error(await client.get(V3 + "/profile/not-a-user"), 400, "M_INVALID_PARAM")
    error(await client.get(V3 + "/profile/@a%00b:test.local"), 400, "M_INVALID_PARAM")


async def test_set_displayname_and_avatar_then_read_them_back(client, register):
    alice = await register("alice")
    base = f"/profile/{alice.user_id}"
    assert await alice.ok("PUT", base + "/displayname", json={"displayname": "Alice 🎉"}) == {}
    await alice.ok("PUT", base + "/avatar_url", json={"avatar_url": "mxc://test.local/abc_DEF-1"})
    assert (await client.get(V3 + base + "/displayname")).json() == {"displayname": "Alice 🎉"}
    assert (await client.get(V3 + base + "/avatar_url")).json() == {
        "avatar_url": "mxc://test.local/abc_DEF-1"
    }
    assert (await client.get(V3 + base)).json() == {
        "displayname": "Alice 🎉",
        "avatar_url": "mxc://test.local/abc_DEF-1",
    }


async def test_empty_or_null_values_clear_a_field(client, register):
    alice = await register("alice")
    base = f"/profile/{alice.user_id}"
    await alice.ok("PUT", base + "/displayname", json={"displayname": "Alice"})
    await alice.ok("PUT", base + "/avatar_url", json={"avatar_url": "mxc://test.local/a"})
    await alice.ok("PUT", base + "/displayname", json={"displayname": ""})
    await alice.ok("PUT", base + "/avatar_url", json={"avatar_url": None})
    assert (await client.get(V3 + base)).json() == {}


async def test_nobody_may_change_another_users_profile(register):
    alice = await register("alice")
    bob = await register("bob")
    response = await bob.request(
        "PUT", f"/profile/{alice.user_id}/displayname", json={"displayname": "Mallory"}
    )
    error(response, 403, "M_FORBIDDEN")
    assert (await alice.ok("GET", f"/profile/{alice.user_id}")) == {"displayname": "alice"}


async def test_displayname_may_be_256_characters_but_no_more(register):
    alice = await register("alice")
    path = f"/profile/{alice.user_id}/displayname"
    await alice.ok("PUT", path, json={"displayname": "é" * 256})
    error(await alice.request("PUT", path, json={"displayname": "é" * 257}), 400, "M_INVALID_PARAM")


@pytest.mark.parametrize(
    "avatar_url",
    [
        "https://example.org/a.png",
        "mxc://",
        "mxc://test.local",
        "mxc://test.local/",
        "mxc://bad server/x",
        "mxc://test.local/a/b",
        "mxc://test.local/" + "a" * 1100,
    ],
)
async def test_avatar_url_must_be_an_mxc_uri(register, avatar_url):
    alice = await register("alice")
    path = f"/profile/{alice.user_id}/avatar_url"
    error(await alice.request("PUT", path, json={"avatar_url": avatar_url}), 400, "M_INVALID_PARAM")


@pytest.mark.parametrize(
    ("field", "body", "errcode"),
    [
        ("displayname", {}, "M_MISSING_PARAM"),
        ("displayname", {"displayname": 5}, "M_BAD_JSON"),
        ("displayname", {"displayname": ["a"]}, "M_BAD_JSON"),
        ("displayname", {"displayname": "a\u0000b"}, "M_INVALID_PARAM"),
        ("avatar_url", {"avatar_url": {"url": "mxc://a/b"}}, "M_BAD_JSON"),
        ("avatar_url", {}, "M_MISSING_PARAM"),
    ],
)
async def test_malformed_profile_updates_get_the_spec_error(register, field, body, errcode):
    alice = await register("alice")
    response = await alice.request("PUT", f"/profile/{alice.user_id}/{field}", json=body)
    error(response, 400, errcode)


async def test_profile_writes_need_a_token(client, register):
    alice = await register("alice")
    response = await client.put(
        V3 + f"/profile/{alice.user_id}/displayname", json={"displayname": "x"}
    )
    error(response, 401, "M_MISSING_TOKEN")


async def test_unknown_profile_keys_are_not_found(client, register):
    alice = await register("alice")
    error(await client.get(V3 + f"/profile/{alice.user_id}/m.tz"), 404, "M_NOT_FOUND")


async def test_a_new_displayname_reaches_member_events_in_joined_rooms(register):
    alice = await register("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await alice.ok("PUT", f"/profile/{alice.user_id}/displayname", json={"displayname": "Alice M"})
    await alice.ok(
        "PUT", f"/profile/{alice.user_id}/avatar_url", json={"avatar_url": "mxc://test.local/x"}
    )
    member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{alice.user_id}")
    assert member["displayname"] == "Alice M"
    assert member["avatar_url"] == "mxc://test.local/x"


@pytest.mark.parametrize("config_overrides", [{"policy": {"external_servers": ["test.local"]}}])
async def test_an_external_partners_profile_says_so(client, register):
    partner = await register("partenaire")
    profile = (await client.get(V3 + f"/profile/{partner.user_id}")).json()
    assert profile["policy"] == {"external": True}


async def test_an_agents_profile_carries_no_policy_mark(client, register):
    agent = await register("agent")
    assert "policy" not in (await client.get(V3 + f"/profile/{agent.user_id}")).json()
