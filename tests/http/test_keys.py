"""/keys/upload, /keys/query, /keys/claim and the sync key counts."""

import asyncio

from tests.http.test_keys_helpers import ClientDevice, upload_device


async def test_upload_device_keys_then_query_returns_them_with_display_name(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    device = await upload_device(alice)
    result = await bob.ok("POST", "/keys/query", json={"device_keys": {alice.user_id: []}})
    keys = result["device_keys"][alice.user_id][alice.device_id]
    assert keys["keys"][f"ed25519:{alice.device_id}"] == device.ed25519
    assert keys["signatures"][alice.user_id][f"ed25519:{alice.device_id}"]
    assert "device_display_name" not in keys.get("unsigned", {})
    assert result["failures"] == {}


async def test_query_shows_device_display_name(register, client):
    alice = await register("alice")
    await alice.ok("PUT", f"/devices/{alice.device_id}", json={"display_name": "Portable"})
    await upload_device(alice)
    result = await alice.ok("POST", "/keys/query", json={"device_keys": {alice.user_id: []}})
    keys = result["device_keys"][alice.user_id][alice.device_id]
    assert keys["unsigned"]["device_display_name"] == "Portable"


async def test_query_selected_devices_and_unknown_user(user_factory):
    alice = await user_factory("alice")
    await upload_device(alice)
    result = await alice.ok(
        "POST",
        "/keys/query",
        json={"device_keys": {alice.user_id: ["NOPE"], "@ghost:test.local": []}},
    )
    assert result["device_keys"][alice.user_id] == {}
    assert result["device_keys"]["@ghost:test.local"] == {}


async def test_query_for_remote_server_is_reported_in_failures(user_factory):
    alice = await user_factory("alice")
    result = await alice.ok(
        "POST", "/keys/query", json={"device_keys": {"@bob:elsewhere.example": []}}
    )
    assert "elsewhere.example" in result["failures"]
    assert "@bob:elsewhere.example" not in result["device_keys"]


async def test_upload_rejects_keys_for_another_user_or_device(user_factory):
    alice = await user_factory("alice")
    for user_id, device_id in (("@mallory:test.local", alice.device_id), (alice.user_id, "OTHER")):
        forged = ClientDevice(user_id, device_id)
        response = await alice.request(
            "POST", "/keys/upload", json={"device_keys": forged.device_keys()}
        )
        assert response.status_code == 400
        assert response.json()["errcode"] == "M_INVALID_PARAM"
    assert await alice.ok("POST", "/keys/query", json={"device_keys": {alice.user_id: []}}) == {
        "device_keys": {alice.user_id: {}},
        "failures": {},
        "master_keys": {},
        "self_signing_keys": {},
        "user_signing_keys": {},
    }


async def test_upload_rejects_forged_self_signature(user_factory):
    alice = await user_factory("alice")
    device = ClientDevice(alice.user_id, alice.device_id)
    keys = device.device_keys()
    keys["keys"][f"curve25519:{alice.device_id}"] = "c3dhcHBlZCBrZXk"  # changed after signing
    response = await alice.request("POST", "/keys/upload", json={"device_keys": keys})
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INVALID_PARAM"
    unsigned = device.device_keys()
    del unsigned["signatures"]
    response = await alice.request("POST", "/keys/upload", json={"device_keys": unsigned})
    assert response.status_code == 400


async def test_reupload_identical_keys_is_fine_but_different_keys_are_rejected(user_factory):
    alice = await user_factory("alice")
    device = await upload_device(alice)
    await alice.ok("POST", "/keys/upload", json={"device_keys": device.device_keys()})
    other = ClientDevice(alice.user_id, alice.device_id)
    response = await alice.request(
        "POST", "/keys/upload", json={"device_keys": other.device_keys()}
    )
    assert response.status_code == 400
    result = await alice.ok("POST", "/keys/query", json={"device_keys": {alice.user_id: []}})
    stored = result["device_keys"][alice.user_id][alice.device_id]
    assert stored["keys"][f"ed25519:{alice.device_id}"] == device.ed25519


async def test_one_time_keys_are_counted_and_must_be_signed_by_the_device(user_factory):
    alice = await user_factory("alice")
    device = await upload_device(alice)
    counts = await alice.ok("POST", "/keys/upload", json={"one_time_keys": device.one_time_keys(5)})
    assert counts == {"one_time_key_counts": {"signed_curve25519": 5}}
    stranger = ClientDevice(alice.user_id, alice.device_id)
    response = await alice.request(
        "POST", "/keys/upload", json={"one_time_keys": stranger.one_time_keys(1)}
    )
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INVALID_PARAM"


async def test_one_time_key_id_reuse_with_other_content_is_rejected(user_factory):
    alice = await user_factory("alice")
    device = await upload_device(alice)
    keys = device.one_time_keys(2)
    await alice.ok("POST", "/keys/upload", json={"one_time_keys": keys})
    # The same IDs with the same content: idempotent.
    again = await alice.ok("POST", "/keys/upload", json={"one_time_keys": keys})
    assert again["one_time_key_counts"]["signed_curve25519"] == 2
    key_id = next(iter(keys))
    clash = {key_id: device.signed({"key": "b3RoZXIga2V5IGhlcmU"})}
    response = await alice.request("POST", "/keys/upload", json={"one_time_keys": clash})
    assert response.status_code == 400
    counts = await alice.ok("POST", "/keys/upload", json={})
    assert counts["one_time_key_counts"]["signed_curve25519"] == 2


async def test_claim_hands_out_one_time_keys_then_the_fallback_key(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    device = ClientDevice(alice.user_id, alice.device_id)
    otks = device.one_time_keys(2)
    fallback = device.fallback_key()
    await alice.ok(
        "POST",
        "/keys/upload",
        json={
            "device_keys": device.device_keys(),
            "one_time_keys": otks,
            "fallback_keys": fallback,
        },
    )
    want = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
    claimed = []
    for _ in range(4):
        result = await bob.ok("POST", "/keys/claim", json=want)
        claimed.append(result["one_time_keys"][alice.user_id][alice.device_id])
    assert claimed[0] | claimed[1] == otks  # each OTK once, oldest upload first
    assert claimed[0] != claimed[1]
    assert claimed[2] == fallback and claimed[3] == fallback


async def test_sync_reports_key_counts_and_unused_fallback_types(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    first = await alice.ok("GET", "/sync")
    assert first["device_one_time_keys_count"] == {"signed_curve25519": 0}
    assert first["device_unused_fallback_key_types"] == []
    device = ClientDevice(alice.user_id, alice.device_id)
    await alice.ok(
        "POST",
        "/keys/upload",
        json={
            "device_keys": device.device_keys(),
            "one_time_keys": device.one_time_keys(1),
            "fallback_keys": device.fallback_key(),
        },
    )
    second = await alice.ok("GET", f"/sync?since={first['next_batch']}")
    assert second["device_one_time_keys_count"] == {"signed_curve25519": 1}
    assert second["device_unused_fallback_key_types"] == ["signed_curve25519"]
    want = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
    await bob.ok("POST", "/keys/claim", json=want)
    await bob.ok("POST", "/keys/claim", json=want)  # takes the fallback key
    third = await alice.ok("GET", f"/sync?since={second['next_batch']}")
    assert third["device_one_time_keys_count"] == {"signed_curve25519": 0}
    assert third["device_unused_fallback_key_types"] == []
    # A new fallback key is unused again.
    await alice.ok("POST", "/keys/upload", json={"fallback_keys": device.fallback_key()})
    fourth = await alice.ok("GET", f"/sync?since={third['next_batch']}")
    assert fourth["device_unused_fallback_key_types"] == ["signed_curve25519"]


async def test_claim_for_unknown_users_and_devices_omits_them(user_factory):
    alice = await user_factory("alice")
    await upload_device(alice, otks=1)
    result = await alice.ok(
        "POST",
        "/keys/claim",
        json={
            "one_time_keys": {
                alice.user_id: {"NODEVICE": "signed_curve25519"},
                "@ghost:test.local": {"X": "signed_curve25519"},
                "@far:remote.example": {"Y": "signed_curve25519"},
            }
        },
    )
    assert result["one_time_keys"] == {}
    assert "remote.example" in result["failures"]


async def test_concurrent_claims_hand_out_each_one_time_key_exactly_once(user_factory):
    alice = await user_factory("alice")
    claimers = [await user_factory(f"c{i}") for i in range(4)]
    device = ClientDevice(alice.user_id, alice.device_id)
    uploaded = device.one_time_keys(30)
    await alice.ok(
        "POST",
        "/keys/upload",
        json={"device_keys": device.device_keys(), "one_time_keys": uploaded},
    )
    want = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
    results = await asyncio.gather(
        *(claimers[i % 4].ok("POST", "/keys/claim", json=want) for i in range(40))
    )
    handed = [
        key_id
        for r in results
        for key_id in r["one_time_keys"].get(alice.user_id, {}).get(alice.device_id, {})
    ]
    assert sorted(handed) == sorted(uploaded)
    assert len(handed) == len(set(handed)) == 30
    counts = await alice.ok("POST", "/keys/upload", json={})
    assert counts["one_time_key_counts"]["signed_curve25519"] == 0


async def test_upload_and_claim_bad_bodies(user_factory):
    alice = await user_factory("alice")
    for path, body in (
        ("/keys/upload", {"device_keys": "nope"}),
        ("/keys/upload", {"one_time_keys": {"nocolon": {"key": "x"}}}),
        ("/keys/claim", {"one_time_keys": {alice.user_id: "x"}}),
        ("/keys/query", {"device_keys": {alice.user_id: "x"}}),
        ("/keys/query", {}),
    ):
        response = await alice.request("POST", path, json=body)
        assert response.status_code == 400, (path, body, response.text)


async def test_concurrent_uploads_of_different_device_keys_only_one_wins(user_factory):
    alice = await user_factory("alice")
    candidates = [ClientDevice(alice.user_id, alice.device_id) for _ in range(4)]
    responses = await asyncio.gather(
        *(
            alice.request("POST", "/keys/upload", json={"device_keys": c.device_keys()})
            for c in candidates
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400]
    winner = candidates[[r.status_code for r in responses].index(200)]
    result = await alice.ok("POST", "/keys/query", json={"device_keys": {alice.user_id: []}})
    stored = result["device_keys"][alice.user_id][alice.device_id]
    assert stored["keys"][f"ed25519:{alice.device_id}"] == winner.ed25519


async def test_query_for_many_users_at_once(user_factory, services):
    """More users than one SQL IN list may hold (queries are chunked)."""
    alice = await user_factory("alice")
    await upload_device(alice)
    wanted = {f"@u{i}:test.local": [] for i in range(1200)}
    wanted[alice.user_id] = []
    result = await alice.ok("POST", "/keys/query", json={"device_keys": wanted})
    assert alice.device_id in result["device_keys"][alice.user_id]
    assert len(result["device_keys"]) == 1201
