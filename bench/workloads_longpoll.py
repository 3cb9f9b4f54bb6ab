"""The ``longpoll`` workload: N clients long-polling /sync in one room.

Each receiver holds a /sync long-poll (30 s timeout) with a stored filter: that
room only, a 5-event timeline, lazy-loaded members, no presence. One sender
sends at a fixed rate. For every (receiver, message) pair the workload notes
one of three outcomes:

- delivered in a timeline: the time from the start of the send to the moment
  the receiver's /sync reply carrying it was read;
- beyond the timeline: a later reply said ``limited`` and started after it,
  so the client knows it has a gap to fill (correct behaviour, but a miss);
- lost: neither, which is a bug of the server and counted as an error.

The receivers speak HTTP/1.1 over their own keep-alive connection with a few
lines of asyncio rather than aiohttp, so that 2,000 of them cost the client
little CPU on a machine it shares with the server.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from bench.client import Client, MatrixError, Session, quote
from bench.model import Context, Figure, Outcome, gather_limited, need_pool
from bench.procstat import tree_cost

TIMELINE_LIMIT = 5
POLL_TIMEOUT_MS = 30_000
#: How long after the last send every receiver must have seen the stop message.
STOP_GRACE = 180.0
#: Set-up requests (filters, first syncs) and sends of a server far behind.
SETUP_TIMEOUT = 900.0


def longpoll_filter(room_id: str) -> dict[str, Any]:
    """The filter every receiver stores: one room, 5 events, lazy members, no presence."""
    return {
        "room": {
            "rooms": [room_id],
            "timeline": {"limit": TIMELINE_LIMIT},
            "state": {"lazy_load_members": True},
        },
        "presence": {"not_types": ["*"]},
    }


class RawHttp:
    """One keep-alive HTTP/1.1 connection that only sends GETs and reads JSON replies."""

    def __init__(self, base_url: str) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, target: str, token: str) -> tuple[int, bytes]:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        )
        self._writer.write(request.encode())
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:
            body = await self._reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        parts = []
        while True:
            size = int((await self._reader.readline()).split(b";")[0].strip(), 16)
            if size == 0:
                await self._reader.readline()
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readline()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


@dataclass
class Poller:
    """One receiver: long-polls until it reads the stop message."""

    http: RawHttp
    user: Session
    filter_id: str
    room: str
    tag: str
    arrivals: dict[int, float] = field(default_factory=dict)
    skipped: set[int] = field(default_factory=set)
    responses: int = 0
    limited: int = 0

    async def run(self, since: str) -> None:
        try:
            while True:
                target = (
                    f"/_matrix/client/v3/sync?timeout={POLL_TIMEOUT_MS}"
                    f"&filter={self.filter_id}&since={urllib.parse.quote(since, safe='')}"
                )
                status, raw = await self.http.get(target, self.user.access_token)
                now = time.perf_counter()
                if status != 200:
                    raise MatrixError(status, raw[:200])
                reply = orjson.loads(raw)
                self.responses += 1
                since = str(reply["next_batch"])
                if self._note(reply, now):
                    return
        finally:
            self.http.close()

    def _note(self, reply: dict[str, Any], now: float) -> bool:
        """Record what one reply delivered; True once the stop message arrived."""
        joined = reply.get("rooms", {}).get("join", {}).get(self.room)
        if joined is None:
            return False
        timeline = joined.get("timeline", {})
        seen: list[int] = []
        stop = False
        for event in timeline.get("events", []):
            body = event.get("content", {}).get("body", "")
            if not isinstance(body, str) or not body.startswith(self.tag):
                continue
            rest = body[len(self.tag) :]
            if rest == "stop":
                stop = True
            else:
                seen.append(int(rest))
                self.arrivals.setdefault(int(rest), now)
        if timeline.get("limited"):
            self.limited += 1
            first = min(seen) if seen else None
            if first is not None:
                self.skipped.update(i for i in range(first) if i not in self.arrivals)
            elif stop:
                self.skipped.add(-1)  # everything not yet seen was skipped
        return stop


@dataclass
class LongpollPlan:
    """One run: who sends, who listens, where, how fast and for how long."""

    client: Client
    sender: Session
    receivers: list[Session]
    room: str
    rate: float
    seconds: float
    server_pid: int | None
    concurrency: int = 20
    #: Called when sending starts and when the backlog has drained (profiling).
    on_phase: Callable[[str], None] | None = None
    #: Where each receiver long-polls (a sync worker each); None: ``client``'s server.
    poll_urls: list[str] | None = None
    #: Where the sender sends (an event writer); None: ``client``'s server.
    send_url: str | None = None

    def poll_url(self, index: int) -> str:
        return self.poll_urls[index] if self.poll_urls else self.client.base_url


async def _store_filter(client: Client, user: Session, room: str) -> str:
    path = f"/_matrix/client/v3/user/{quote(user.user_id)}/filter"
    _, reply = await client.request(
        "POST", path, token=user.access_token, body=longpoll_filter(room), timeout=SETUP_TIMEOUT
    )
    return str(reply["filter_id"])


async def _first_token(client: Client, user: Session, filter_id: str, base_url: str) -> str:
    # The first sync goes where the long-polls will: it warms that process.
    client = Client(base_url, client.http, client.tally)
    _, reply = await client.request(
        "GET",
        "/_matrix/client/v3/sync",
        token=user.access_token,
        params={"filter": filter_id, "timeout": "0"},
        timeout=SETUP_TIMEOUT,
    )
    return str(reply["next_batch"])


def _rss_kib(pid: int | None) -> int:
    return tree_cost(pid)[1] if pid else 0


def _cpu(pid: int | None) -> float:
    return tree_cost(pid)[0] if pid else 0.0


async def measure_longpoll(plan: LongpollPlan, out: Outcome) -> None:
    """Park the receivers, send at the plan's rate, then stop everyone and report."""
    client, sender, room = plan.client, plan.sender, plan.room
    tag = f"lp-{secrets.token_hex(3)} "
    try:
        filters = await gather_limited(
            plan.concurrency, [lambda u=u: _store_filter(client, u, room) for u in plan.receivers]
        )
        tokens = await gather_limited(
            plan.concurrency,
            [
                lambda u=u, f=f, i=i: _first_token(client, u, f, plan.poll_url(i))
                for i, (u, f) in enumerate(zip(plan.receivers, filters, strict=True))
            ],
        )
    except MatrixError as exc:
        raise RuntimeError(f"set-up (filters, first syncs): {exc}") from exc
    pollers = [
        Poller(RawHttp(plan.poll_url(i)), u, f, room, tag)
        for i, (u, f) in enumerate(zip(plan.receivers, filters, strict=True))
    ]
    await asyncio.sleep(1.0)
    rss_before = _rss_kib(plan.server_pid)
    tasks = [asyncio.create_task(p.run(t)) for p, t in zip(pollers, tokens, strict=True)]
    # Let every receiver open its connection and park its long-poll.
    await asyncio.sleep(3.0 + len(pollers) / 500)
    rss_parked = _rss_kib(plan.server_pid)
    count = max(1, int(plan.rate * plan.seconds))
    sent_at: dict[int, float] = {}
    #: How long each send request took to be answered (the sender's latency).
    send_seconds: list[float] = []
    cpu_before, client_before = _cpu(plan.server_pid), sum(os.times()[:2])
    t0 = time.perf_counter()
    sends = []
    if plan.on_phase is not None:
        plan.on_phase("sending")

    # The sender opens a connection per send: a pooled keep-alive connection
    # that a busy server closes as it is reused would fail the send for nothing.
    fresh = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
    sending = Client(plan.send_url or client.base_url, fresh, client.tally)

    async def send(i: int, body: str) -> None:
        if i >= 0:
            sent_at[i] = time.perf_counter()
        content = {"msgtype": "m.text", "body": body}
        started = time.perf_counter()
        try:
            await sending.request(
                "PUT",
                sending.send_path(room),
                token=sender.access_token,
                body=content,
                timeout=SETUP_TIMEOUT,
            )
            if i >= 0:
                send_seconds.append(time.perf_counter() - started)
        except MatrixError as exc:
            raise RuntimeError(f"send {i}: {exc}") from exc

    try:
        for i in range(count):
            delay = t0 + i / plan.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sends.append(asyncio.create_task(send(i, f"{tag}{i}")))
        await asyncio.gather(*sends)
        # Wait for the backlog to drain (or the grace to pass), then stop everyone.
        deadline = time.perf_counter() + STOP_GRACE
        while time.perf_counter() < deadline and not all(t.done() for t in tasks):
            if all(len(p.arrivals) + len(p.skipped) >= count for p in pollers):
                break
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - t0
        cpu = _cpu(plan.server_pid) - cpu_before
        if plan.on_phase is not None:
            plan.on_phase("drained")
        client_cpu = sum(os.times()[:2]) - client_before
        await send(-1, f"{tag}stop")
        done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
    finally:
        await fresh.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    failed = [t.exception() for t in done if t.exception() is not None]
    if failed or pending:
        raise RuntimeError(
            f"{len(failed)} receivers failed, {len(pending)} never saw the stop message:"
            f" {failed[0] if failed else ''!r}"
        )
    report_longpoll(out, pollers, sent_at, count)
    out.latency_figures("send", send_seconds)
    parked = len(pollers) or 1
    out.figures["RSS per waiting sync"] = Figure(max(0, rss_parked - rss_before) / parked, "KiB")
    out.figures["server CPU per delivery"] = Figure(cpu / (parked * count) * 1e6, "µs")
    out.figures["server CPU, share of a core"] = Figure(cpu / wall * 100, "%")
    out.figures["client CPU, share of a core"] = Figure(client_cpu / wall * 100, "%")


def report_longpoll(
    out: Outcome, pollers: list[Poller], sent_at: dict[int, float], count: int
) -> int:
    """Delivery figures; returns the number of lost deliveries (also a figure)."""
    delays = [p.arrivals[i] - sent_at[i] for p in pollers for i in p.arrivals if i in sent_at]
    beyond = lost = 0
    for p in pollers:
        for i in range(count):
            if i in p.arrivals:
                continue
            if i in p.skipped or -1 in p.skipped:
                beyond += 1
            else:
                lost += 1
    total = count * len(pollers) or 1
    out.latency_figures("delivery", delays)
    out.figures["delivery max"] = Figure(max(delays, default=0.0) * 1000, "ms")
    out.figures["deliveries beyond the timeline"] = Figure(beyond / total * 100, "%")
    out.figures["deliveries lost (not flagged limited)"] = Figure(float(lost), "")
    out.figures["limited replies"] = Figure(float(sum(p.limited for p in pollers)), "")
    return lost


async def longpoll(ctx: Context, out: Outcome) -> None:
    """The benchmark's own scale: M pool users long-poll one room at 2 msg/s."""
    scale = ctx.scale
    need_pool(ctx, 1 + scale.longpoll_clients)
    sender = ctx.pool[0]
    room = await ctx.client.create_room(sender, "long-poll")
    receivers = ctx.pool[1 : 1 + scale.longpoll_clients]
    await gather_limited(
        scale.concurrency, [lambda u=u: ctx.client.join(u, room) for u in receivers]
    )
    plan = LongpollPlan(
        ctx.client,
        sender,
        receivers,
        room,
        scale.longpoll_rate,
        scale.longpoll_seconds,
        ctx.state.get("server_pid"),
        scale.concurrency,
    )
    await measure_longpoll(plan, out)
    lost = int(out.figures["deliveries lost (not flagged limited)"].value)
    if lost:
        ctx.tally.errors += lost
        ctx.tally.samples.append(f"longpoll: {lost} deliveries missed without 'limited'")
