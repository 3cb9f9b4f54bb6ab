"""Workloads on /sync: live fan-out to long-pollers, and initial sync."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from bench.client import Session
from bench.model import Context, Figure, Outcome, gather_all, gather_limited, need_pool, percentile
from bench.workloads_basic import PASSWORD

DELIVERY_GRACE = 60.0


class _Receiver:
    """One long-polling /sync loop that notes when each tagged message lands."""

    def __init__(self, ctx: Context, user: Session, room: str, tag: str) -> None:
        self.ctx, self.user, self.room, self.tag = ctx, user, room, tag
        self.arrivals: dict[int, float] = {}
        self.filter = {"room": {"rooms": [room], "timeline": {"limit": 100}}}

    async def first_token(self) -> str:
        """An initial sync, only to obtain a since token."""
        reply = await self.ctx.client.sync(self.user, filter_json=self.filter)
        return str(reply["next_batch"])

    async def loop(self, since: str) -> None:
        """Long-poll until cancelled, recording arrival times of tagged messages."""
        while True:
            reply = await self.ctx.client.sync(
                self.user, since=since, filter_json=self.filter, timeout_ms=30000
            )
            now = time.perf_counter()
            since = str(reply["next_batch"])
            joined = reply.get("rooms", {}).get("join", {}).get(self.room, {})
            for event in joined.get("timeline", {}).get("events", []):
                body = event.get("content", {}).get("body", "")
                if isinstance(body, str) and body.startswith(self.tag):
                    self.arrivals.setdefault(int(body[len(self.tag) :]), now)


async def fanout(ctx: Context, out: Outcome) -> None:
    """One sender at a fixed rate; M receivers long-poll; send-to-arrival time."""
    scale = ctx.scale
    need_pool(ctx, 1 + scale.fanout_receivers)
    sender = ctx.pool[0]
    room = await ctx.client.create_room(sender, "fan-out")
    receivers_users = ctx.pool[1 : 1 + scale.fanout_receivers]
    await gather_limited(
        scale.concurrency, [lambda u=u: ctx.client.join(u, room) for u in receivers_users]
    )
    tag = f"fanout-{secrets.token_hex(3)} "
    receivers = [_Receiver(ctx, u, room, tag) for u in receivers_users]
    tokens = await gather_limited(scale.concurrency, [r.first_token for r in receivers])
    loops = [asyncio.create_task(r.loop(t)) for r, t in zip(receivers, tokens, strict=True)]
    count = max(1, int(scale.fanout_rate * scale.fanout_seconds))
    sent_at: dict[int, float] = {}
    send_lat: list[float] = []

    async def send(i: int) -> None:
        sent_at[i] = start = time.perf_counter()
        await ctx.client.send_text(sender, room, f"{tag}{i}")
        send_lat.append(time.perf_counter() - start)

    try:
        await asyncio.sleep(1.0)  # let every receiver park its long-poll
        t0 = time.perf_counter()
        sends = []
        for i in range(count):
            delay = t0 + i / scale.fanout_rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sends.append(asyncio.create_task(send(i)))
        await gather_all(sends)
        deadline = time.perf_counter() + DELIVERY_GRACE
        while time.perf_counter() < deadline:
            if all(len(r.arrivals) >= count for r in receivers):
                break
            if any(t.done() for t in loops):
                break
            await asyncio.sleep(0.1)
    finally:
        for task in loops:
            task.cancel()
        results = await asyncio.gather(*loops, return_exceptions=True)
    crashed = [r for r in results if not isinstance(r, asyncio.CancelledError)]
    if crashed:
        raise RuntimeError(f"{len(crashed)} receivers failed: {crashed[0]!r}")
    delays = [r.arrivals[i] - sent_at[i] for r in receivers for i in r.arrivals if i in sent_at]
    missing = count * len(receivers) - len(delays)
    if missing:
        ctx.tally.errors += missing
        ctx.tally.samples.append(f"fan-out: {missing} deliveries never arrived")
    out.latency_figures("fan-out delivery", delays)
    out.figures["fan-out delivery max"] = Figure(max(delays, default=0.0) * 1000, "ms")
    out.latency_figures("fan-out send", send_lat)


def _sync_filter(lazy: bool, nonce: str) -> dict[str, Any]:
    # The nonce makes every request distinct so no server can answer from a
    # response cache built by the previous repetition.
    return {
        "room": {"timeline": {"limit": 10}, "state": {"lazy_load_members": lazy}},
        "account_data": {"not_types": [f"bench.nonce.{nonce}"]},
    }


async def initial_sync(ctx: Context, out: Outcome) -> None:
    """A user in R rooms of H messages and K other members each: initial /sync."""
    scale = ctx.scale
    need_pool(ctx, 1 + scale.sync_members)
    syncer = await ctx.client.register(f"s{secrets.token_hex(4)}", PASSWORD)
    members = ctx.pool[1 : 1 + scale.sync_members]

    async def build_room(i: int) -> None:
        room = await ctx.client.create_room(syncer, f"sync room {i}")
        for member in members:
            await ctx.client.join(member, room)
        for n in range(scale.sync_messages):
            author = members[n % len(members)] if members else syncer
            await ctx.client.send_text(author, room, f"history {n} in room {i}")

    await gather_limited(
        max(2, scale.concurrency // 2), [lambda i=i: build_room(i) for i in range(scale.sync_rooms)]
    )
    timings: dict[bool, list[float]] = {False: [], True: []}
    for rep in range(scale.sync_repeats):
        for lazy in (False, True) if rep % 2 == 0 else (True, False):
            start = time.perf_counter()
            reply = await ctx.client.sync(syncer, filter_json=_sync_filter(lazy, f"{rep}{lazy}"))
            timings[lazy].append(time.perf_counter() - start)
            joined = len(reply.get("rooms", {}).get("join", {}))
            if joined < scale.sync_rooms:
                ctx.tally.errors += 1
                ctx.tally.samples.append(f"initial sync listed {joined}/{scale.sync_rooms} rooms")
    for lazy, label in ((False, "initial sync"), (True, "initial sync lazy")):
        out.latencies[label] = timings[lazy]
        out.figures[f"{label} median"] = Figure(percentile(timings[lazy], 50) * 1000, "ms")
        out.figures[f"{label} max"] = Figure(max(timings[lazy]) * 1000, "ms")
