"""/keys/device_signing/upload and /keys/signatures/upload, as seen through /keys/query."""

from tests.http.test_keys_helpers import CrossSigning, upload_device

PASSWORD_AUTH = {"type": "m.login.password", "password": "correct horse battery"}


def _public(cs, key):
    return cs.public(key)


async def _query(user, *targets):
    return await user.ok(
        "POST", "/keys/query", json={"device_keys": {t.user_id: [] for t in targets}}
    )


async def test_first_upload_needs_no_uia_and_keys_show_in_query(register):
    alice = await register("alice")
    bob = await register("bob")
    cs = CrossSigning(alice.user_id)
    await alice.ok("POST", "/keys/device_signing/upload", json=cs.upload_body())
    mine = await _query(alice, alice)
    assert mine["master_keys"][alice.user_id]["keys"] == cs.upload_body()["master_key"]["keys"]
    assert alice.user_id in mine["self_signing_keys"]
    assert alice.user_id in mine["user_signing_keys"]
    theirs = await _query(bob, alice)
    assert alice.user_id in theirs["master_keys"]
    assert alice.user_id in theirs["self_signing_keys"]
    assert theirs["user_signing_keys"] == {}  # private to alice


async def test_replacing_keys_requires_password_uia_but_identical_upload_does_not(register):
    alice = await register("alice")
    cs = CrossSigning(alice.user_id)
    body = cs.upload_body()
    await alice.ok("POST", "/keys/device_signing/upload", json=body)
    await alice.ok("POST", "/keys/device_signing/upload", json=body)  # idempotent retry
    new = CrossSigning(alice.user_id).upload_body()
    challenge = await alice.request("POST", "/keys/device_signing/upload", json=new)
    assert challenge.status_code == 401
    assert {"stages": ["m.login.password"]} in challenge.json()["flows"]
    wrong = {**new, "auth": {**PASSWORD_AUTH, "password": "wrong"}}
    assert (
        await alice.request("POST", "/keys/device_signing/upload", json=wrong)
    ).status_code == 401
    auth = {**PASSWORD_AUTH, "session": challenge.json()["session"], "user": alice.user_id}
    await alice.ok("POST", "/keys/device_signing/upload", json={**new, "auth": auth})
    query = await _query(alice, alice)
    assert query["master_keys"][alice.user_id]["keys"] == new["master_key"]["keys"]


async def test_self_signing_key_must_be_signed_by_master(register):
    alice = await register("alice")
    cs = CrossSigning(alice.user_id)
    body = cs.upload_body()
    body["self_signing_key"] = cs.key_object(cs.self_signing, "self_signing")  # unsigned
    response = await alice.request("POST", "/keys/device_signing/upload", json=body)
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INVALID_SIGNATURE"
    assert (await _query(alice, alice))["master_keys"] == {}


async def test_upload_without_master_key_is_missing_param(register):
    alice = await register("alice")
    cs = CrossSigning(alice.user_id)
    body = cs.upload_body()
    del body["master_key"]
    response = await alice.request("POST", "/keys/device_signing/upload", json=body)
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_MISSING_PARAM"


async def test_cross_signing_upload_shows_in_device_lists(register):
    alice = await register("alice")
    bob = await register("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    await alice.ok(
        "POST", "/keys/device_signing/upload", json=CrossSigning(alice.user_id).upload_body()
    )
    sync = await bob.ok("GET", f"/sync?since={token}")
    assert alice.user_id in sync["device_lists"]["changed"]


async def test_self_signing_a_device_is_verified_and_merged_into_query(register):
    alice = await register("alice")
    bob = await register("bob")
    device = await upload_device(alice)
    cs = CrossSigning(alice.user_id)
    await alice.ok("POST", "/keys/device_signing/upload", json=cs.upload_body())
    signed = cs.sign_as(device.device_keys(), cs.self_signing)
    result = await alice.ok(
        "POST", "/keys/signatures/upload", json={alice.user_id: {alice.device_id: signed}}
    )
    assert result == {"failures": {}}
    keys = (await _query(bob, alice))["device_keys"][alice.user_id][alice.device_id]
    ssk_id = f"ed25519:{cs.public(cs.self_signing)}"
    assert keys["signatures"][alice.user_id][ssk_id] == signed["signatures"][alice.user_id][ssk_id]


async def test_forged_and_unknown_signatures_fail_per_key(register):
    alice = await register("alice")
    device = await upload_device(alice)
    cs = CrossSigning(alice.user_id)
    await alice.ok("POST", "/keys/device_signing/upload", json=cs.upload_body())
    good = cs.sign_as(device.device_keys(), cs.self_signing)
    forged = cs.sign_as(device.device_keys(), cs.user_signing)  # wrong key
    ssk_id = f"ed25519:{cs.public(cs.self_signing)}"
    forged["signatures"][alice.user_id][ssk_id] = forged["signatures"][alice.user_id].pop(
        f"ed25519:{cs.public(cs.user_signing)}"
    )
    result = await alice.ok(
        "POST",
        "/keys/signatures/upload",
        json={alice.user_id: {alice.device_id: forged, "NODEVICE": good}},
    )
    failures = result["failures"][alice.user_id]
    assert failures[alice.device_id]["errcode"] == "M_INVALID_SIGNATURE"
    assert failures["NODEVICE"]["errcode"] == "M_NOT_FOUND"
    keys = (await _query(alice, alice))["device_keys"][alice.user_id][alice.device_id]
    assert ssk_id not in keys["signatures"][alice.user_id]


async def test_user_signing_signature_is_visible_only_to_the_signer(register):
    alice = await register("alice")
    bob = await register("bob")
    carol = await register("carol")
    alice_cs = CrossSigning(alice.user_id)
    bob_cs = CrossSigning(bob.user_id)
    await alice.ok("POST", "/keys/device_signing/upload", json=alice_cs.upload_body())
    await bob.ok("POST", "/keys/device_signing/upload", json=bob_cs.upload_body())
    bob_master = bob_cs.key_object(bob_cs.master, "master")
    signed = alice_cs.sign_as(bob_master, alice_cs.user_signing)
    bob_master_id = bob_cs.public(bob_cs.master)
    result = await alice.ok(
        "POST", "/keys/signatures/upload", json={bob.user_id: {bob_master_id: signed}}
    )
    assert result == {"failures": {}}
    usk_id = f"ed25519:{alice_cs.public(alice_cs.user_signing)}"
    seen_by_alice = (await _query(alice, bob))["master_keys"][bob.user_id]
    assert usk_id in seen_by_alice["signatures"][alice.user_id]
    seen_by_carol = (await _query(carol, bob))["master_keys"][bob.user_id]
    assert alice.user_id not in seen_by_carol.get("signatures", {})


async def test_device_signs_its_users_master_key(register):
    alice = await register("alice")
    device = await upload_device(alice)
    cs = CrossSigning(alice.user_id)
    await alice.ok("POST", "/keys/device_signing/upload", json=cs.upload_body())
    master = device.signed(cs.key_object(cs.master, "master"))
    result = await alice.ok(
        "POST", "/keys/signatures/upload", json={alice.user_id: {cs.public(cs.master): master}}
    )
    assert result == {"failures": {}}
    shown = (await _query(alice, alice))["master_keys"][alice.user_id]
    assert f"ed25519:{alice.device_id}" in shown["signatures"][alice.user_id]


async def test_replacing_the_self_signing_key_drops_its_old_device_signatures(register):
    alice = await register("alice")
    device = await upload_device(alice)
    cs = CrossSigning(alice.user_id)
    await alice.ok("POST", "/keys/device_signing/upload", json=cs.upload_body())
    signed = cs.sign_as(device.device_keys(), cs.self_signing)
    await alice.ok(
        "POST", "/keys/signatures/upload", json={alice.user_id: {alice.device_id: signed}}
    )
    old_id = f"ed25519:{cs.public(cs.self_signing)}"
    new = CrossSigning(alice.user_id)
    body = {**new.upload_body(), "auth": {**PASSWORD_AUTH, "user": alice.user_id}}
    await alice.ok("POST", "/keys/device_signing/upload", json=body)
    keys = (await _query(alice, alice))["device_keys"][alice.user_id][alice.device_id]
    assert old_id not in keys["signatures"][alice.user_id]
    assert f"ed25519:{alice.device_id}" in keys["signatures"][alice.user_id]


async def test_signature_upload_shows_in_device_lists(register):
    alice = await register("alice")
    bob = await register("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    device = await upload_device(alice)
    cs = CrossSigning(alice.user_id)
    await alice.ok("POST", "/keys/device_signing/upload", json=cs.upload_body())
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    signed = cs.sign_as(device.device_keys(), cs.self_signing)
    await alice.ok(
        "POST", "/keys/signatures/upload", json={alice.user_id: {alice.device_id: signed}}
    )
    sync = await bob.ok("GET", f"/sync?since={token}")
    assert alice.user_id in sync["device_lists"]["changed"]
