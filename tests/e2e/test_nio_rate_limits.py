"""Rate limits as a real client meets them: M_LIMIT_EXCEEDED with retry_after_ms.

matrix-nio honours ``retry_after_ms`` on its own when it is allowed to retry,
so a client that sends faster than the limit still gets every message through,
in order, only later.
"""

import nio
import pytest

from tests.e2e.nio_helpers import PASSWORD, close_all, new_client, ok, shared_room, unique
from tests.e2e.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.e2e

BURST = 3


@pytest.fixture(scope="module")
def limited_server(make_module_server: ServerFactory) -> ServerProcess:
    return make_module_server(
        rate_limits={
            "enabled": True,
            "message": {"per_second": 4, "burst": BURST},
            "registration": {"per_second": 1, "burst": 10},
            "login": {"per_second": 0.2, "burst": 2},
        }
    )


async def _register(server: ServerProcess, retries: int | None) -> nio.AsyncClient:
    client = new_client(server, limit_retries=retries)
    ok(await client.register(unique("alice"), PASSWORD), nio.RegisterResponse, "register")
    return client


async def test_sending_over_the_limit_gets_limit_exceeded_with_retry_after(
    limited_server: ServerProcess,
):
    alice = await _register(limited_server, retries=0)
    try:
        room_id = await shared_room(alice)
        refused = None
        for i in range(BURST + 5):
            response = await alice.room_send(
                room_id, "m.room.message", {"msgtype": "m.text", "body": f"{i}"}
            )
            if isinstance(response, nio.RoomSendError):
                refused = response
                break
        assert refused is not None, f"{BURST + 5} quick sends with a burst of {BURST}: none refused"
        assert refused.status_code == "M_LIMIT_EXCEEDED", refused
        assert refused.retry_after_ms and refused.retry_after_ms > 0
        assert refused.transport_response.status == 429
    finally:
        await alice.close()


async def test_nio_waits_as_told_and_every_message_gets_through_in_order(
    limited_server: ServerProcess,
):
    alice = await _register(limited_server, retries=None)  # retry on 429 as often as needed
    try:
        room_id = await shared_room(alice)
        sent = []
        for i in range(BURST + 6):
            response = ok(
                await alice.room_send(
                    room_id, "m.room.message", {"msgtype": "m.text", "body": f"n°{i}"}
                ),
                nio.RoomSendResponse,
                "send under the rate limit",
            )
            sent.append(response.event_id)
        history = ok(
            await alice.room_messages(room_id, limit=50), nio.RoomMessagesResponse, "messages"
        )
        stored = [e.event_id for e in reversed(history.chunk) if e.event_id in sent]
        assert stored == sent
    finally:
        await alice.close()


async def test_repeated_failed_logins_from_one_address_are_rate_limited(
    limited_server: ServerProcess,
):
    alice = await _register(limited_server, retries=0)
    attacker = new_client(limited_server, alice.user_id)
    try:
        codes = []
        for _ in range(6):
            response = await attacker.login("not the password")
            assert isinstance(response, nio.LoginError), "a wrong password logged in"
            codes.append(response.status_code)
            if response.status_code == "M_LIMIT_EXCEEDED":
                assert response.retry_after_ms and response.retry_after_ms > 0
                break
        assert codes[0] == "M_FORBIDDEN", codes
        assert codes[-1] == "M_LIMIT_EXCEEDED", codes
    finally:
        await close_all(alice, attacker)
