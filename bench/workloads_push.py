"""Push delivery: from a message sent to its notification reaching the push gateway.

A room of up to 100 members, each with an HTTP pusher pointing at a gateway
that this workload serves itself on loopback (the server's config allows that
one URL). Latency is measured from the send to each pushkey's notification.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from bench.model import Context, Outcome, gather_limited, need_pool

PUSH_MEMBERS = 100
DELIVERY_GRACE = 60.0
SEND_INTERVAL = 0.2


class _Gateway:
    """A Push Gateway API endpoint that notes when each (pushkey, event) arrives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.arrivals: dict[tuple[str, str], float] = {}
        self._runner: web.AppRunner | None = None

    async def _notify(self, request: web.Request) -> web.Response:
        now = time.perf_counter()
        body = await request.json()
        notification = body.get("notification", {})
        event_id = notification.get("event_id")
        if isinstance(event_id, str):
            for device in notification.get("devices", []):
                self.arrivals.setdefault((device.get("pushkey", ""), event_id), now)
        return web.json_response({"rejected": []})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/_matrix/push/v1/notify", self._notify)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def _set_pusher(ctx: Context, user: Any, url: str, pushkey: str) -> None:
    body = {
        "app_id": "fr.gouv.sceau.bench",
        "pushkey": pushkey,
        "kind": "http",
        "app_display_name": "bench",
        "device_display_name": "bench",
        "lang": "fr",
        "data": {"url": url, "format": "event_id_only"},
    }
    await ctx.client.request(
        "POST", "/_matrix/client/v3/pushers/set", token=user.access_token, body=body
    )


async def push_delivery(ctx: Context, out: Outcome) -> None:
    """One sender; every other member has a pusher; send-to-gateway time per pushkey."""
    scale = ctx.scale
    members = min(scale.fanout_receivers, PUSH_MEMBERS)
    need_pool(ctx, 1 + members)
    url = str(ctx.state["push_gateway_url"])
    port = int(url.split(":")[2].split("/")[0])
    sender, receivers = ctx.pool[0], ctx.pool[1 : 1 + members]
    room = await ctx.client.create_room(sender, "push")
    await gather_limited(
        scale.concurrency, [lambda u=u: ctx.client.join(u, room) for u in receivers]
    )
    pushkeys = [f"bench-{ctx.name}-{i}" for i in range(len(receivers))]
    await gather_limited(
        scale.concurrency,
        [
            lambda u=u, k=k: _set_pusher(ctx, u, url, k)
            for u, k in zip(receivers, pushkeys, strict=True)
        ],
    )
    gateway = _Gateway(port)
    await gateway.start()
    count = max(3, min(20, scale.msgs_per_sender))
    sent_at: dict[str, float] = {}
    try:
        await asyncio.sleep(1.0)
        for i in range(count):
            start = time.perf_counter()
            event_id = await ctx.client.send_text(sender, room, f"push {i}")
            sent_at[event_id] = start
            await asyncio.sleep(SEND_INTERVAL)
        expected = count * len(pushkeys)
        deadline = time.perf_counter() + DELIVERY_GRACE
        while time.perf_counter() < deadline:
            if sum(1 for key in gateway.arrivals if key[1] in sent_at) >= expected:
                break
            await asyncio.sleep(0.1)
    finally:
        await gateway.stop()
    delays = [
        arrived - sent_at[event_id]
        for (_pushkey, event_id), arrived in gateway.arrivals.items()
        if event_id in sent_at
    ]
    missing = count * len(pushkeys) - len(delays)
    if missing:
        ctx.tally.errors += missing
        ctx.tally.samples.append(f"push: {missing} notifications never reached the gateway")
    out.latency_figures("push delivery", delays)
