"""/sendToDevice and the sync to_device section: exactly once, in order, bounded."""

import asyncio

from sceau.services.e2ee import to_device as to_device_module


async def _send(sender, event_type, txn, messages):
    return await sender.request(
        "PUT", f"/sendToDevice/{event_type}/{txn}", json={"messages": messages}
    )


def _events(sync):
    return sync.get("to_device", {}).get("events", [])


async def test_message_is_delivered_once_then_acknowledged_by_the_next_sync(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    first = await bob.ok("GET", "/sync")
    response = await _send(alice, "m.test", "t1", {bob.user_id: {bob.device_id: {"n": 1}}})
    assert response.status_code == 200 and response.json() == {}
    second = await bob.ok("GET", f"/sync?since={first['next_batch']}")
    assert _events(second) == [{"type": "m.test", "sender": alice.user_id, "content": {"n": 1}}]
    # A retry from the same token (lost response) gets it again...
    retried = await bob.ok("GET", f"/sync?since={first['next_batch']}")
    assert [e["content"] for e in _events(retried)] == [{"n": 1}]
    # ...but a sync from the new token acknowledges and deletes it.
    third = await bob.ok("GET", f"/sync?since={second['next_batch']}")
    assert _events(third) == []
    again = await bob.ok("GET", f"/sync?since={first['next_batch']}")
    assert _events(again) == []


async def test_same_transaction_id_is_sent_only_once(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    for _ in range(3):
        await _send(alice, "m.test", "same", {bob.user_id: {bob.device_id: {"n": 1}}})
    sync = await bob.ok("GET", "/sync")
    assert len(_events(sync)) == 1


async def test_messages_arrive_in_order(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    for i in range(10):
        await _send(alice, "m.test", f"o{i}", {bob.user_id: {bob.device_id: {"n": i}}})
    sync = await bob.ok("GET", "/sync")
    assert [e["content"]["n"] for e in _events(sync)] == list(range(10))


async def test_wildcard_reaches_every_device_of_the_user(register, client):
    alice = await register("alice")
    bob = await register("bob")
    login = await client.post(
        "/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "bob"},
            "password": "correct horse battery",
        },
    )
    assert login.status_code == 200
    other = login.json()
    await _send(alice, "m.test", "w", {bob.user_id: {"*": {"hi": True}}})
    first = await bob.ok("GET", "/sync")
    headers = {"Authorization": f"Bearer {other['access_token']}"}
    second = (await client.get("/_matrix/client/v3/sync", headers=headers)).json()
    assert [e["content"] for e in _events(first)] == [{"hi": True}]
    assert [e["content"] for e in _events(second)] == [{"hi": True}]


async def test_large_inbox_is_delivered_across_syncs_without_loss(user_factory, monkeypatch):
    monkeypatch.setattr(to_device_module, "SYNC_BATCH", 7)
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    for i in range(20):
        await _send(alice, "m.test", f"b{i}", {bob.user_id: {bob.device_id: {"n": i}}})
    seen = []
    sync = await bob.ok("GET", "/sync")
    seen += [e["content"]["n"] for e in _events(sync)]
    for _ in range(5):
        sync = await bob.ok("GET", f"/sync?since={sync['next_batch']}")
        seen += [e["content"]["n"] for e in _events(sync)]
    assert seen == list(range(20))


async def test_oversized_message_is_rejected_with_m_too_large(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    huge = {"blob": "x" * 70_000}
    response = await _send(alice, "m.test", "big", {bob.user_id: {bob.device_id: huge}})
    assert response.status_code == 413
    assert response.json()["errcode"] == "M_TOO_LARGE"
    assert _events(await bob.ok("GET", "/sync")) == []


async def test_inbox_is_bounded_dropping_the_oldest(user_factory, services):
    services.e2ee.to_device._max_inbox = 5
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    for i in range(12):
        await _send(alice, "m.test", f"c{i}", {bob.user_id: {bob.device_id: {"n": i}}})
    sync = await bob.ok("GET", "/sync")
    assert [e["content"]["n"] for e in _events(sync)] == [7, 8, 9, 10, 11]


async def test_deleting_a_device_drops_its_inbox(register, services):
    alice = await register("alice")
    bob = await register("bob")
    await _send(alice, "m.test", "d", {bob.user_id: {bob.device_id: {"n": 1}}})
    assert await services.e2ee.to_device._store.has_messages(bob.user_id, bob.device_id)
    await bob.ok("POST", "/logout", json={})
    assert not await services.e2ee.to_device._store.has_messages(bob.user_id, bob.device_id)


async def test_messages_to_unknown_devices_and_remote_users_are_dropped(user_factory, services):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    response = await _send(
        alice,
        "m.test",
        "u",
        {bob.user_id: {"GHOST": {"n": 1}}, "@x:remote.example": {"D": {"n": 2}}},
    )
    assert response.status_code == 200
    assert _events(await bob.ok("GET", "/sync")) == []


async def test_long_poll_wakes_only_the_target_user(user_factory, services):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")
    bob_token = (await bob.ok("GET", "/sync"))["next_batch"]
    carol_token = (await carol.ok("GET", "/sync"))["next_batch"]
    bob_poll = asyncio.create_task(bob.ok("GET", f"/sync?since={bob_token}&timeout=10000"))
    carol_poll = asyncio.create_task(carol.ok("GET", f"/sync?since={carol_token}&timeout=1000"))
    await asyncio.sleep(0.2)
    carol_waiter = next(iter(services.notifier._by_user[carol.user_id]))
    await _send(alice, "m.test", "lp", {bob.user_id: {bob.device_id: {"wake": 1}}})
    result = await asyncio.wait_for(bob_poll, 5)
    assert [e["content"] for e in _events(result)] == [{"wake": 1}]
    assert not carol_waiter.woken
    assert _events(await carol_poll) == []


async def test_bad_send_bodies(user_factory):
    alice = await user_factory("alice")
    for body in (
        {},
        {"messages": []},
        {"messages": {alice.user_id: []}},
        {"messages": {alice.user_id: {"D": "text"}}},
    ):
        response = await alice.request("PUT", "/sendToDevice/m.test/bad", json=body)
        assert response.status_code == 400, body


async def test_concurrent_retries_of_one_transaction_deliver_once(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    responses = await asyncio.gather(
        *(
            _send(alice, "m.test", "race", {bob.user_id: {bob.device_id: {"n": 1}}})
            for _ in range(8)
        )
    )
    assert {r.status_code for r in responses} == {200}
    assert len(_events(await bob.ok("GET", "/sync"))) == 1


async def test_the_same_transaction_id_for_two_event_types_delivers_both(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    for event_type in ("m.test", "m.other", "m.test"):
        response = await _send(alice, event_type, "T", {bob.user_id: {bob.device_id: {"n": 1}}})
        assert response.status_code == 200
    delivered = _events(await bob.ok("GET", "/sync"))
    assert [e["type"] for e in delivered] == ["m.test", "m.other"]
