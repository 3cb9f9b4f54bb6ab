"""Dehydrated devices (MSC3814): store, replace, receive to-device messages, page, delete."""

from tests.http.test_keys_helpers import ClientDevice

BASE = "/_matrix/client/unstable/org.matrix.msc3814.v1"


def _body(user, device_id, otks=0):
    device = ClientDevice(user.user_id, device_id)
    body = {
        "device_id": device_id,
        "device_data": {"algorithm": "org.matrix.msc3814.v1.olm", "device_pickle": "opaque"},
        "initial_device_display_name": "Dehydrated",
        "device_keys": device.device_keys(dehydrated=True),
    }
    if otks:
        body["one_time_keys"] = device.one_time_keys(otks)
    return body


async def test_put_get_and_keys_are_published(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    assert (await alice.request("GET", f"{BASE}/dehydrated_device")).status_code == 404
    put = await alice.ok("PUT", f"{BASE}/dehydrated_device", json=_body(alice, "DEHY1", otks=2))
    assert put == {"device_id": "DEHY1"}
    got = await alice.ok("GET", f"{BASE}/dehydrated_device")
    assert got["device_id"] == "DEHY1" and got["device_data"]["device_pickle"] == "opaque"
    keys = await bob.ok("POST", "/keys/query", json={"device_keys": {alice.user_id: []}})
    assert keys["device_keys"][alice.user_id]["DEHY1"]["dehydrated"] is True
    claim = await bob.ok(
        "POST",
        "/keys/claim",
        json={"one_time_keys": {alice.user_id: {"DEHY1": "signed_curve25519"}}},
    )
    assert claim["one_time_keys"][alice.user_id]["DEHY1"]


async def test_replacing_drops_the_previous_device_and_its_keys(user_factory):
    alice = await user_factory("alice")
    await alice.ok("PUT", f"{BASE}/dehydrated_device", json=_body(alice, "DEHY1"))
    await alice.ok("PUT", f"{BASE}/dehydrated_device", json=_body(alice, "DEHY2"))
    keys = await alice.ok("POST", "/keys/query", json={"device_keys": {alice.user_id: []}})
    assert set(keys["device_keys"][alice.user_id]) == {"DEHY2"}
    devices = await alice.ok("GET", "/devices")
    assert "DEHY1" not in {d["device_id"] for d in devices["devices"]}


async def test_cannot_take_over_an_existing_device_id(user_factory):
    alice = await user_factory("alice")
    response = await alice.request(
        "PUT", f"{BASE}/dehydrated_device", json=_body(alice, alice.device_id)
    )
    assert response.status_code == 403


async def test_to_device_messages_for_it_are_paged_then_acknowledged(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    await alice.ok("PUT", f"{BASE}/dehydrated_device", json=_body(alice, "DEHY1"))
    for i in range(3):
        await bob.ok(
            "PUT",
            f"/sendToDevice/m.room.encrypted/k{i}",
            json={"messages": {alice.user_id: {"DEHY1": {"n": i}}}},
        )
    url = f"{BASE}/dehydrated_device/DEHY1/events"
    first = await alice.ok("POST", url, json={})
    assert [e["content"]["n"] for e in first["events"]] == [0, 1, 2]
    assert first["events"][0]["sender"] == bob.user_id
    again = await alice.ok("POST", url, json={})  # not acknowledged yet
    assert len(again["events"]) == 3
    done = await alice.ok("POST", url, json={"next_batch": first["next_batch"]})
    assert done["events"] == []
    assert "next_batch" not in done  # clients page until it is absent
    wrong = await alice.request("POST", f"{BASE}/dehydrated_device/OTHER/events", json={})
    assert wrong.status_code == 404


async def test_delete(user_factory):
    alice = await user_factory("alice")
    await alice.ok("PUT", f"{BASE}/dehydrated_device", json=_body(alice, "DEHY1"))
    assert await alice.ok("DELETE", f"{BASE}/dehydrated_device") == {"device_id": "DEHY1"}
    assert (await alice.request("GET", f"{BASE}/dehydrated_device")).status_code == 404
    assert (await alice.request("DELETE", f"{BASE}/dehydrated_device")).status_code == 404


async def test_bad_bodies(user_factory):
    alice = await user_factory("alice")
    for body in ({}, {"device_id": "X"}, {"device_id": "X", "device_data": "nope"}):
        response = await alice.request("PUT", f"{BASE}/dehydrated_device", json=body)
        assert response.status_code == 400, body


async def test_js_sdk_form_get_with_from_and_a_slash_in_the_device_id(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    device_id = "ab/CD+ef"
    await alice.ok("PUT", f"{BASE}/dehydrated_device", json=_body(alice, device_id))
    for i in range(3):
        await bob.ok(
            "PUT",
            f"/sendToDevice/m.room.encrypted/g{i}",
            json={"messages": {alice.user_id: {device_id: {"n": i}}}},
        )
    url = f"{BASE}/dehydrated_device/ab%2FCD%2Bef/events"
    seen, params = [], {}
    for _ in range(5):
        page = await alice.ok("GET", url, params=params)
        seen += [e["content"]["n"] for e in page["events"]]
        if "next_batch" not in page:
            break
        params = {"from": page["next_batch"]}
    assert seen == [0, 1, 2]
    assert (await alice.ok("GET", url))["events"] == []
