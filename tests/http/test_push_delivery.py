"""Push delivery to a real push gateway: an HTTP server in the test speaking the Push Gateway API.

It records every notification it receives (checked against the spec's
schema), can reject pushkeys, and can be stopped to prove that deliveries are
retried and neither lost nor duplicated.
"""

import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import web

from tests.conftest import free_port

SPEC = Path(__file__).resolve().parent.parent / "spec" / "push-gateway.json"
NOTIFY = "/_matrix/push/v1/notify"


def notify_schema() -> dict[str, Any]:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    body = spec["paths"][NOTIFY]["post"]["requestBody"]["content"]["application/json"]
    return dict(body["schema"])


class Gateway:
    """A push gateway on a free port: records notifications, rejects chosen pushkeys."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.rejected: set[str] = set()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{NOTIFY}"

    async def _notify(self, request: web.Request) -> web.Response:
        body = await request.json()
        jsonschema.validate(body, notify_schema())
        self.received.append(body["notification"])
        keys = [d["pushkey"] for d in body["notification"]["devices"]]
        return web.json_response({"rejected": [k for k in keys if k in self.rejected]})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(NOTIFY, self._notify)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, count: int, timeout_s: float = 15) -> list[dict[str, Any]]:
        for _ in range(int(timeout_s * 20)):
            if len(self.received) >= count:
                return self.received
            await asyncio.sleep(0.05)
        raise AssertionError(f"gateway got {len(self.received)} of {count}: {self.received}")


@pytest.fixture
async def gateway():
    gw = Gateway()
    await gw.start()
    yield gw
    await gw.stop()


@pytest.fixture
def config_overrides(gateway: Gateway) -> dict[str, Any]:
    return {"push": {"allowed_gateways": [gateway.url]}}


@pytest.fixture
async def delivery(services):
    await services.push_delivery.start()
    yield services.push_delivery
    await services.push_delivery.stop()


async def add_pusher(user: Any, gateway: Gateway, pushkey: str, fmt: str | None = None) -> None:
    data: dict[str, Any] = {"url": gateway.url}
    if fmt:
        data["format"] = fmt
    await user.ok(
        "POST",
        "/pushers/set",
        json={
            "app_id": "fr.gouv.tchap.android",
            "pushkey": pushkey,
            "kind": "http",
            "app_display_name": "Tchap",
            "device_display_name": "Téléphone",
            "lang": "fr",
            "data": data,
            "append": True,
        },
    )


async def dm(alice: Any, bob: Any) -> str:
    room = (await alice.ok("POST", "/createRoom", json={"invite": [bob.user_id]}))["room_id"]
    await bob.ok("POST", f"/rooms/{room}/join", json={})
    return str(room)


async def say(user: Any, room: str, text: str, txn: str) -> str:
    body = {"msgtype": "m.text", "body": text}
    return str(
        (await user.ok("PUT", f"/rooms/{room}/send/m.room.message/{txn}", json=body))["event_id"]
    )


async def test_messages_reach_the_gateway_with_counts_and_devices(register, gateway, delivery):
    alice, bob = await register("alice"), await register("bob")
    room = await dm(alice, bob)
    await add_pusher(bob, gateway, "bob-phone")
    first = await say(alice, room, "Bonjour", "t1")
    second = await say(alice, room, "Réunion à 9h", "t2")
    notes = await gateway.wait_for(2)
    assert [n["event_id"] for n in notes] == [first, second]
    assert [n["counts"]["unread"] for n in notes] == [1, 2]
    device = notes[0]["devices"][0]
    assert device["pushkey"] == "bob-phone" and device["app_id"] == "fr.gouv.tchap.android"
    assert "url" not in device["data"]
    assert notes[0]["prio"] == "high"
    assert notes[0]["sender"] == alice.user_id and notes[0]["type"] == "m.room.message"
    assert "content" not in notes[0], "no content leaves without push.include_content"


async def test_a_read_on_another_device_pushes_a_zero_badge(register, gateway, delivery):
    alice, bob = await register("alice"), await register("bob")
    room = await dm(alice, bob)
    await add_pusher(bob, gateway, "bob-phone", fmt="event_id_only")
    event_id = await say(alice, room, "Bonjour", "t1")
    await gateway.wait_for(1)
    assert "sender" not in gateway.received[0], "event_id_only sends IDs and counts only"
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{event_id}", json={})
    notes = await gateway.wait_for(2)
    assert notes[1]["counts"] == {"unread": 0}
    assert "event_id" not in notes[1]


async def test_deliveries_retry_after_the_gateway_comes_back_without_loss_or_duplicates(
    register, gateway, delivery
):
    alice, bob = await register("alice"), await register("bob")
    room = await dm(alice, bob)
    await add_pusher(bob, gateway, "bob-phone")
    await say(alice, room, "un", "t1")
    await gateway.wait_for(1)
    await gateway.stop()
    sent = [await say(alice, room, text, f"t{i}") for i, text in enumerate(["deux", "trois"], 2)]
    await asyncio.sleep(0.5)
    await gateway.start()
    delivery.wake([bob.user_id])
    await gateway.wait_for(3, timeout_s=20)
    await asyncio.sleep(0.3)
    assert [n["event_id"] for n in gateway.received[1:]] == sent
    assert len(gateway.received) == 3


async def test_a_restart_resumes_where_delivery_stopped(register, gateway, services, delivery):
    alice, bob = await register("alice"), await register("bob")
    room = await dm(alice, bob)
    await add_pusher(bob, gateway, "bob-phone")
    await say(alice, room, "avant", "t1")
    await gateway.wait_for(1)
    await delivery.stop()
    missed = await say(alice, room, "pendant l'arrêt", "t2")
    await delivery.start()
    notes = await gateway.wait_for(2)
    await asyncio.sleep(0.3)
    assert [n["event_id"] for n in notes][1:] == [missed]
    assert len(gateway.received) == 2


async def test_a_pushkey_the_gateway_rejects_is_removed(register, gateway, delivery):
    alice, bob = await register("alice"), await register("bob")
    room = await dm(alice, bob)
    gateway.rejected.add("old-phone")
    await add_pusher(bob, gateway, "old-phone")
    await say(alice, room, "Bonjour", "t1")
    await gateway.wait_for(1)
    for _ in range(100):
        if not (await bob.ok("GET", "/pushers"))["pushers"]:
            break
        await asyncio.sleep(0.05)
    assert (await bob.ok("GET", "/pushers"))["pushers"] == []


async def test_a_mention_is_pushed_with_priority_and_the_highlight_tweak(
    register, gateway, delivery
):
    alice, bob = await register("alice"), await register("bob")
    room = await dm(alice, bob)
    await add_pusher(bob, gateway, "bob-phone")
    await say(alice, room, "Bonjour", "t1")
    body = {
        "msgtype": "m.text",
        "body": "bob, tu peux relire ?",
        "m.mentions": {"user_ids": [bob.user_id]},
    }
    mention = (await alice.ok("PUT", f"/rooms/{room}/send/m.room.message/t2", json=body))[
        "event_id"
    ]
    notes = await gateway.wait_for(2)
    assert notes[1]["event_id"] == mention
    assert notes[1]["counts"]["unread"] == 2
    assert notes[1]["prio"] == "high"
    assert notes[1]["devices"][0]["tweaks"].get("highlight") is True
