"""Client transaction IDs over HTTP: scoped to the device and the request's path.

The spec (client-server API, "Transaction identifiers") makes a request a
retry of another only when it comes from the same device to the same
endpoint with the same path parameters; anything else must be carried out.
"""

from typing import Any

from tests.conftest import MatrixUser

SSS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"


async def _room(user: MatrixUser) -> str:
    return str((await user.ok("POST", "/createRoom", json={}))["room_id"])


async def _send(
    user: MatrixUser, room: str, txn: str, body: str, event_type: str = "m.room.message"
) -> str:
    sent = await user.ok(
        "PUT", f"/rooms/{room}/send/{event_type}/{txn}", json={"msgtype": "m.text", "body": body}
    )
    return str(sent["event_id"])


async def _timeline(user: MatrixUser, room: str) -> list[dict[str, Any]]:
    page = await user.ok("GET", f"/rooms/{room}/messages?dir=b&limit=50")
    return list(reversed(page["chunk"]))


async def _bodies(user: MatrixUser, room: str) -> list[str]:
    return [e["content"]["body"] for e in await _timeline(user, room) if "body" in e["content"]]


async def _second_device(services: Any, first: MatrixUser) -> MatrixUser:
    """Another device (and token) of the same user, as a second login would make."""
    token, token_hash = services.auth.new_access_token()
    device_id = first.device_id + "2"
    now = services.clock.time_ms()
    async with services.stores.db.transaction() as txn:
        await services.stores.accounts.upsert_device(txn, first.user_id, device_id, None, now)
        await services.stores.accounts.insert_token(txn, token_hash, first.user_id, device_id, now)
    return MatrixUser(first.http, first.user_id, token, device_id)


async def test_the_same_transaction_id_in_two_rooms_sends_one_event_in_each(user_factory):
    alice = await user_factory("alice")
    room_a, room_b = await _room(alice), await _room(alice)
    in_a = await _send(alice, room_a, "T", "pour A")
    in_b = await _send(alice, room_b, "T", "pour B")
    assert in_a != in_b
    assert await _bodies(alice, room_a) == ["pour A"]
    assert await _bodies(alice, room_b) == ["pour B"]
    event = await alice.ok("GET", f"/rooms/{room_b}/event/{in_b}")
    assert event["room_id"] == room_b and event["content"]["body"] == "pour B"


async def test_the_same_transaction_id_for_two_event_types_sends_both(user_factory):
    alice = await user_factory("alice")
    room = await _room(alice)
    message = await _send(alice, room, "T", "un message")
    custom = await _send(alice, room, "T", "un autre type", event_type="org.example.note")
    assert message != custom
    types = [e["type"] for e in await _timeline(alice, room) if "body" in e["content"]]
    assert types == ["m.room.message", "org.example.note"]


async def test_a_retry_in_the_same_room_returns_the_first_event_and_sends_once(user_factory):
    alice = await user_factory("alice")
    room_a, room_b = await _room(alice), await _room(alice)
    first = await _send(alice, room_a, "T", "une fois")
    await _send(alice, room_b, "T", "ailleurs")
    again = await _send(alice, room_a, "T", "une fois")
    assert again == first
    assert await _bodies(alice, room_a) == ["une fois"]


async def test_the_same_transaction_id_for_send_and_redact_does_both(user_factory):
    alice = await user_factory("alice")
    room = await _room(alice)
    target = await _send(alice, room, "T", "à effacer")
    redaction = await alice.ok("PUT", f"/rooms/{room}/redact/{target}/T", json={})
    assert redaction["event_id"] != target
    event = await alice.ok("GET", f"/rooms/{room}/event/{target}")
    assert event["content"] == {}
    assert event["unsigned"]["redacted_because"]["event_id"] == redaction["event_id"]


async def test_a_redaction_retried_returns_the_first_and_another_target_is_redacted(
    user_factory,
):
    alice = await user_factory("alice")
    room = await _room(alice)
    first_target = await _send(alice, room, "m1", "un")
    second_target = await _send(alice, room, "m2", "deux")
    first = await alice.ok("PUT", f"/rooms/{room}/redact/{first_target}/R", json={})
    retried = await alice.ok("PUT", f"/rooms/{room}/redact/{first_target}/R", json={})
    second = await alice.ok("PUT", f"/rooms/{room}/redact/{second_target}/R", json={})
    assert retried == first and second != first
    redactions = [e for e in await _timeline(alice, room) if e["type"] == "m.room.redaction"]
    assert len(redactions) == 2
    assert await _bodies(alice, room) == []


async def test_a_redaction_through_send_and_through_redact_are_two_requests(user_factory):
    alice = await user_factory("alice")
    room = await _room(alice)
    one = await _send(alice, room, "m1", "un")
    two = await _send(alice, room, "m2", "deux")
    through_send = await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.redaction/R", json={"redacts": one}
    )
    through_redact = await alice.ok("PUT", f"/rooms/{room}/redact/{two}/R", json={})
    assert through_send != through_redact
    assert await _bodies(alice, room) == []


async def test_the_same_transaction_id_from_another_device_of_the_user_sends_again(
    services, user_factory
):
    alice = await user_factory("alice")
    laptop = await _second_device(services, alice)
    room = await _room(alice)
    from_phone = await _send(alice, room, "T", "du téléphone")
    from_laptop = await _send(laptop, room, "T", "du portable")
    assert from_phone != from_laptop
    assert await _bodies(alice, room) == ["du téléphone", "du portable"]


async def test_the_transaction_id_is_echoed_to_the_sending_device_only_in_each_room(
    services, user_factory
):
    alice = await user_factory("alice")
    laptop = await _second_device(services, alice)
    room_a, room_b = await _room(alice), await _room(alice)
    sent = {
        room_a: await _send(alice, room_a, "T", "A"),
        room_b: await _send(alice, room_b, "T", "B"),
    }

    def echoes(sync: dict[str, Any]) -> dict[str, dict[str, Any]]:
        joined = sync["rooms"]["join"]
        return {
            room: {
                e["event_id"]: e["unsigned"].get("transaction_id")
                for e in joined[room]["timeline"]["events"]
                if e["event_id"] == event_id
            }
            for room, event_id in sent.items()
        }

    assert echoes(await alice.ok("GET", "/sync")) == {
        room_a: {sent[room_a]: "T"},
        room_b: {sent[room_b]: "T"},
    }
    assert echoes(await laptop.ok("GET", "/sync")) == {
        room_a: {sent[room_a]: None},
        room_b: {sent[room_b]: None},
    }

    body = {"lists": {"all": {"ranges": [[0, 9]], "timeline_limit": 5}}}
    for user, expected in ((alice, "T"), (laptop, None)):
        response = await user.http.post(SSS, json=body, headers=user.headers)
        rooms = response.json()["rooms"]
        for room, event_id in sent.items():
            (event,) = [e for e in rooms[room]["timeline"] if e["event_id"] == event_id]
            assert event["unsigned"].get("transaction_id") == expected
