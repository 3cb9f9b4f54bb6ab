"""Device management over HTTP: list, get, rename, and delete under UIA."""

from typing import Any

import pytest

V3 = "/_matrix/client/v3"
PASSWORD = "correct horse battery"


def password_auth(user: str, password: str = PASSWORD) -> dict[str, Any]:
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
    }


async def second_session(client, localpart: str, device_id: str) -> dict[str, Any]:
    body = {"type": "m.login.password", "user": localpart, "password": PASSWORD}
    response = await client.post(V3 + "/login", json={**body, "device_id": device_id})
    assert response.status_code == 200, response.text
    return response.json()


def error(response, status: int, errcode: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["errcode"] == errcode, response.text


async def test_devices_lists_every_session_with_last_seen(client, register):
    alice = await register("alice")
    await second_session(client, "alice", "PHONE")
    devices = (await alice.ok("GET", "/devices"))["devices"]
    assert sorted(d["device_id"] for d in devices) == sorted([alice.device_id, "PHONE"])
    for device in devices:
        assert isinstance(device["last_seen_ts"], int)
        assert device["last_seen_ip"]
        assert None not in device.values()


async def test_get_device_returns_it_and_unknown_is_not_found(register):
    alice = await register("alice")
    bob = await register("bob")
    device = await alice.ok("GET", f"/devices/{alice.device_id}")
    assert device["device_id"] == alice.device_id
    error(await alice.request("GET", "/devices/NOSUCHDEVICE"), 404, "M_NOT_FOUND")
    # Another user's device is as unknown as a missing one.
    error(await alice.request("GET", f"/devices/{bob.device_id}"), 404, "M_NOT_FOUND")
    error(await alice.request("GET", "/devices/a%00b"), 404, "M_NOT_FOUND")


async def test_rename_device_changes_only_its_name(register):
    alice = await register("alice")
    path = f"/devices/{alice.device_id}"
    assert await alice.ok("PUT", path, json={"display_name": "Work laptop"}) == {}
    assert (await alice.ok("GET", path))["display_name"] == "Work laptop"
    # No display_name: nothing changes.
    await alice.ok("PUT", path, json={})
    assert (await alice.ok("GET", path))["display_name"] == "Work laptop"


@pytest.mark.parametrize(
    ("body", "status", "errcode"),
    [
        ({"display_name": 5}, 400, "M_BAD_JSON"),
        ({"display_name": "x" * 257}, 400, "M_INVALID_PARAM"),
        ({"display_name": "a\u0000b"}, 400, "M_INVALID_PARAM"),
    ],
)
async def test_bad_device_renames_get_the_spec_error(register, body, status, errcode):
    alice = await register("alice")
    error(await alice.request("PUT", f"/devices/{alice.device_id}", json=body), status, errcode)


async def test_renaming_an_unknown_device_is_not_found(register):
    alice = await register("alice")
    response = await alice.request("PUT", "/devices/NOPE", json={"display_name": "x"})
    error(response, 404, "M_NOT_FOUND")


async def test_delete_device_needs_password_uia_and_kills_its_token(client, register):
    alice = await register("alice")
    phone = await second_session(client, "alice", "PHONE")
    challenge = await alice.request("DELETE", "/devices/PHONE")
    assert challenge.status_code == 401
    assert challenge.json()["flows"] == [{"stages": ["m.login.password"]}]
    wrong = await alice.request(
        "DELETE", "/devices/PHONE", json={"auth": password_auth("alice", "wrong")}
    )
    assert wrong.status_code == 401 and wrong.json()["errcode"] == "M_FORBIDDEN"
    await alice.ok("DELETE", "/devices/PHONE", json={"auth": password_auth(alice.user_id)})
    headers = {"Authorization": f"Bearer {phone['access_token']}"}
    error(await client.get(V3 + "/account/whoami", headers=headers), 401, "M_UNKNOWN_TOKEN")
    assert [d["device_id"] for d in (await alice.ok("GET", "/devices"))["devices"]] == [
        alice.device_id
    ]


async def test_delete_unknown_device_is_not_found_before_uia(register):
    alice = await register("alice")
    error(await alice.request("DELETE", "/devices/NOPE"), 404, "M_NOT_FOUND")


async def test_delete_devices_removes_listed_ones_and_ignores_unknown(client, register):
    alice = await register("alice")
    await second_session(client, "alice", "PHONE")
    await second_session(client, "alice", "TABLET")
    body = {"devices": ["PHONE", "TABLET", "GHOST"], "auth": password_auth("alice")}
    await alice.ok("POST", "/delete_devices", json=body)
    remaining = [d["device_id"] for d in (await alice.ok("GET", "/devices"))["devices"]]
    assert remaining == [alice.device_id]


async def test_delete_devices_without_auth_deletes_nothing(client, register):
    alice = await register("alice")
    await second_session(client, "alice", "PHONE")
    response = await alice.request("POST", "/delete_devices", json={"devices": ["PHONE"]})
    assert response.status_code == 401 and "session" in response.json()
    assert len((await alice.ok("GET", "/devices"))["devices"]) == 2


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({}, "M_MISSING_PARAM"),
        ({"devices": "PHONE"}, "M_BAD_JSON"),
        ({"devices": [1]}, "M_BAD_JSON"),
        ({"devices": ["PHONE"], "auth": "password"}, "M_BAD_JSON"),
    ],
)
async def test_malformed_delete_devices_get_the_spec_error(register, body, errcode):
    alice = await register("alice")
    error(await alice.request("POST", "/delete_devices", json=body), 400, errcode)


async def test_device_endpoints_need_a_token(client):
    error(await client.get(V3 + "/devices"), 401, "M_MISSING_TOKEN")
    error(await client.delete(V3 + "/devices/X"), 401, "M_MISSING_TOKEN")


async def test_a_device_in_use_keeps_its_last_seen_time_current_with_bounded_writes(
    client, register, services
):
    alice = await register("alice")
    db = services.stores.db

    async def stored_last_seen() -> int:
        return await db.fetchval(
            "SELECT last_seen_ts FROM devices WHERE user_id = ? AND device_id = ?",
            alice.user_id,
            alice.device_id,
        )

    async def set_last_seen(ts: int) -> None:
        async with db.transaction() as txn:
            await txn.execute(
                "UPDATE devices SET last_seen_ts = ? WHERE user_id = ?", ts, alice.user_id
            )

    await set_last_seen(1)
    await alice.ok("GET", "/account/whoami")
    assert await stored_last_seen() > 1  # activity after login is recorded
    await set_last_seen(1)
    await alice.ok("GET", "/account/whoami")
    # Within the write interval a request does not write again.
    assert await stored_last_seen() == 1
    devices = await alice.ok("GET", "/devices")
    assert devices["devices"][0]["last_seen_ip"]
