"""PUT /_matrix/federation/v1/send/{txnId}: authentication, allowlist, idempotency, EDUs."""

import pytest

from sceau.protocol.signing import generate_signing_key
from tests.http.federation_support import (
    REMOTE,
    STRANGER,
    STRANGER_KEY,
    check_shape,
    federation_overrides,
    signed,
)

SPEC_PATH = "/_matrix/federation/v1/send/{txnId}"
REMOTE_USER = f"@bob:{REMOTE}"


@pytest.fixture
def config_overrides():
    return federation_overrides()


def _txn(pdus=(), edus=()):
    return {"origin": REMOTE, "origin_server_ts": 1, "pdus": list(pdus), "edus": list(edus)}


async def test_signed_empty_transaction_is_accepted(client):
    response = await signed(client, "PUT", "/_matrix/federation/v1/send/t1", body=_txn())
    assert response.status_code == 200, response.text
    check_shape(SPEC_PATH, "PUT", response)
    assert response.json() == {"pdus": {}}


async def test_unsigned_request_is_401_unauthorized(client):
    response = await client.put("/_matrix/federation/v1/send/t1", json=_txn())
    assert response.status_code == 401
    assert response.json()["errcode"] == "M_UNAUTHORIZED"


async def test_request_signed_with_another_key_is_401(client):
    impostor = generate_signing_key(b"\x99" * 32, "remote")
    response = await signed(
        client, "PUT", "/_matrix/federation/v1/send/t1", body=_txn(), key=impostor
    )
    assert response.status_code == 401
    assert response.json()["errcode"] == "M_UNAUTHORIZED"


async def test_body_changed_after_signing_is_401(client):
    from sceau.protocol.federation import sign_request
    from tests.http.federation_support import HERE, REMOTE_KEY

    path = "/_matrix/federation/v1/send/t1"
    header = sign_request("PUT", path, REMOTE, HERE, _txn(), REMOTE_KEY)
    response = await client.put(
        path, json=_txn(edus=[{"edu_type": "x", "content": {}}]), headers={"Authorization": header}
    )
    assert response.status_code == 401


async def test_request_for_another_destination_is_refused(client):
    response = await signed(
        client,
        "PUT",
        "/_matrix/federation/v1/send/t1",
        body=_txn(),
        destination="elsewhere.example",
    )
    assert response.status_code == 401
    assert response.json()["errcode"] == "M_UNAUTHORIZED"


async def test_server_off_the_allowlist_is_403_forbidden_even_when_correctly_signed(client):
    body = {**_txn(), "origin": STRANGER}
    response = await signed(
        client,
        "PUT",
        "/_matrix/federation/v1/send/t1",
        body=body,
        origin=STRANGER,
        key=STRANGER_KEY,
    )
    assert response.status_code == 403
    assert response.json()["errcode"] == "M_FORBIDDEN"
    assert STRANGER in response.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"origin": REMOTE, "origin_server_ts": 1},
        {**_txn(), "pdus": {}},
        {**_txn(), "edus": "x"},
        _txn(pdus=[{}] * 51),
        _txn(edus=[{}] * 101),
        {**_txn(), "origin": "other.example"},
    ],
)
async def test_malformed_transactions_are_400_bad_json(client, body):
    response = await signed(client, "PUT", "/_matrix/federation/v1/send/t1", body=body)
    assert response.status_code == 400, response.text
    assert response.json()["errcode"] == "M_BAD_JSON"


async def test_non_json_body_is_400_not_json(client):
    from sceau.protocol.federation import sign_request
    from tests.http.federation_support import HERE, REMOTE_KEY

    header = sign_request("PUT", "/_matrix/federation/v1/send/t1", REMOTE, HERE, None, REMOTE_KEY)
    response = await client.put(
        "/_matrix/federation/v1/send/t1", content=b"{nope", headers={"Authorization": header}
    )
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_NOT_JSON"


async def test_pdus_for_a_room_this_server_is_not_in_are_reported_not_accepted(client):
    pdu = {"event_id": "$abc", "room_id": "!r:remote.example:8448", "type": "m.room.message"}
    response = await signed(
        client, "PUT", "/_matrix/federation/v1/send/t2", body=_txn(pdus=[pdu, "junk"])
    )
    assert response.status_code == 200
    check_shape(SPEC_PATH, "PUT", response)
    answer = response.json()["pdus"]
    # A PDU without an event ID of its own ("junk") cannot be answered for: it is logged.
    assert set(answer) == {"$abc"}
    assert "not in room" in answer["$abc"]["error"]


async def test_malformed_edus_are_ignored_alone(client, services, user_factory):
    alice = await user_factory("alice")
    edus = [
        "junk",
        {"edu_type": "m.typing"},
        {"edu_type": "m.typing", "content": {"room_id": 3}},
        {"edu_type": "m.receipt", "content": {"!r:x": {"m.read": {REMOTE_USER: 5}}}},
        {"edu_type": "m.presence", "content": {"push": [1, {"user_id": 2}]}},
        {"edu_type": "m.unknown", "content": {}},
        _to_device(alice, "m1"),
    ]
    response = await signed(client, "PUT", "/_matrix/federation/v1/send/t3", body=_txn(edus=edus))
    assert response.status_code == 200
    assert await _inbox(alice) == [
        {"type": "m.room_key_request", "sender": REMOTE_USER, "content": {"n": "m1"}}
    ]


def _to_device(user, message_id, sender=REMOTE_USER):
    return {
        "edu_type": "m.direct_to_device",
        "content": {
            "sender": sender,
            "type": "m.room_key_request",
            "message_id": message_id,
            "messages": {user.user_id: {user.device_id: {"n": message_id}}},
        },
    }


async def _inbox(user):
    body = await user.ok("GET", "/sync?timeout=0")
    return body.get("to_device", {}).get("events", [])


async def test_a_retried_transaction_id_is_not_processed_twice(client, user_factory):
    alice = await user_factory("alice")
    first = await signed(
        client, "PUT", "/_matrix/federation/v1/send/same", body=_txn(edus=[_to_device(alice, "a")])
    )
    again = await signed(
        client, "PUT", "/_matrix/federation/v1/send/same", body=_txn(edus=[_to_device(alice, "b")])
    )
    assert first.json() == again.json()
    assert [e["content"]["n"] for e in await _inbox(alice)] == ["a"]


async def test_to_device_claiming_a_sender_of_another_server_is_dropped(client, user_factory):
    alice = await user_factory("alice")
    edu = _to_device(alice, "x", sender="@mallory:other.example")
    await signed(client, "PUT", "/_matrix/federation/v1/send/t4", body=_txn(edus=[edu]))
    assert await _inbox(alice) == []


async def test_presence_of_a_remote_user_is_recorded(client, services):
    edu = {
        "edu_type": "m.presence",
        "content": {"push": [{"user_id": REMOTE_USER, "presence": "online", "status_msg": "hi"}]},
    }
    await signed(client, "PUT", "/_matrix/federation/v1/send/t5", body=_txn(edus=[edu]))
    status = await services.presence.get_status(REMOTE_USER, REMOTE_USER)
    assert (status["presence"], status["status_msg"]) == ("online", "hi")


async def test_device_list_update_marks_the_remote_user_changed(client, services):
    position = services.stream.current()
    edu = {
        "edu_type": "m.device_list_update",
        "content": {
            "user_id": REMOTE_USER,
            "device_id": "D",
            "stream_id": 1,
            "prev_id": [],
            "deleted": False,
        },
    }
    await signed(client, "PUT", "/_matrix/federation/v1/send/t6", body=_txn(edus=[edu]))
    assert services.e2ee.device_lists.list_changes.changed_since(REMOTE_USER, position)
    assert services.stream.current() > position


async def test_typing_of_a_user_not_in_the_room_changes_nothing(client, services):
    edu = {
        "edu_type": "m.typing",
        "content": {"room_id": "!r:test.local", "user_id": REMOTE_USER, "typing": True},
    }
    response = await signed(client, "PUT", "/_matrix/federation/v1/send/t7", body=_txn(edus=[edu]))
    assert response.status_code == 200
    assert services.typing.typing_users("!r:test.local") == []


class TestDisabled:
    @pytest.fixture
    def config_overrides(self):
        return {}

    async def test_federation_disabled_refuses_with_403(self, client):
        response = await signed(client, "PUT", "/_matrix/federation/v1/send/t1", body=_txn())
        assert response.status_code == 403
        assert response.json()["errcode"] == "M_FORBIDDEN"
