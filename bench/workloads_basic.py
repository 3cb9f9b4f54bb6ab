"""Workloads on accounts, rooms and messages: register, join, send, paginate."""

from __future__ import annotations

import secrets
import time

from bench.client import Session, quote
from bench.model import Context, Figure, Outcome, gather_all, gather_limited, need_pool

PASSWORD = "bench-password-0123456789"


async def register_login(ctx: Context, out: Outcome) -> None:
    """N users register (UIA dummy stage) then log in; they become the pool."""
    run_id = secrets.token_hex(3)
    names = [f"u{run_id}_{i}" for i in range(ctx.scale.users)]
    reg_lat: list[float] = []
    login_lat: list[float] = []

    async def register(name: str) -> Session:
        start = time.perf_counter()
        session = await ctx.client.register(name, PASSWORD)
        reg_lat.append(time.perf_counter() - start)
        return session

    async def login(name: str) -> Session:
        start = time.perf_counter()
        session = await ctx.client.login(name, PASSWORD)
        login_lat.append(time.perf_counter() - start)
        return session

    start = time.perf_counter()
    await gather_limited(ctx.scale.concurrency, [lambda n=n: register(n) for n in names])
    reg_wall = time.perf_counter() - start
    start = time.perf_counter()
    ctx.pool = await gather_limited(ctx.scale.concurrency, [lambda n=n: login(n) for n in names])
    login_wall = time.perf_counter() - start
    out.latency_figures("register", reg_lat)
    out.rate("registrations/s", len(names), reg_wall, "users/s")
    out.latency_figures("login", login_lat)
    out.rate("logins/s", len(names), login_wall, "logins/s")


async def rooms_joins(ctx: Context, out: Outcome) -> None:
    """Create rooms, then M users join the first one concurrently."""
    need_pool(ctx, 1 + ctx.scale.joiners)
    owner = ctx.pool[0]
    create_lat: list[float] = []
    rooms: list[str] = []
    for i in range(ctx.scale.rooms):
        start = time.perf_counter()
        rooms.append(await ctx.client.create_room(owner, f"bench room {i}"))
        create_lat.append(time.perf_counter() - start)
    join_lat: list[float] = []

    async def join(user: Session) -> None:
        start = time.perf_counter()
        await ctx.client.join(user, rooms[0])
        join_lat.append(time.perf_counter() - start)

    joiners = ctx.pool[1 : 1 + ctx.scale.joiners]
    start = time.perf_counter()
    await gather_limited(ctx.scale.concurrency, [lambda u=u: join(u) for u in joiners])
    wall = time.perf_counter() - start
    out.latency_figures("createRoom", create_lat)
    out.latency_figures("join", join_lat)
    out.rate("joins/s", len(joiners), wall, "joins/s")


async def send_throughput(ctx: Context, out: Outcome) -> None:
    """C senders in one room, each sending its messages back to back."""
    need_pool(ctx, ctx.scale.senders)
    owner = ctx.pool[0]
    room = await ctx.client.create_room(owner, "send throughput")
    senders = ctx.pool[: ctx.scale.senders]
    await gather_limited(
        ctx.scale.concurrency, [lambda u=u: ctx.client.join(u, room) for u in senders[1:]]
    )
    latencies: list[float] = []

    async def sender(user: Session, index: int) -> None:
        for n in range(ctx.scale.msgs_per_sender):
            start = time.perf_counter()
            await ctx.client.send_text(user, room, f"message {n} from sender {index}")
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await gather_all(sender(u, i) for i, u in enumerate(senders))
    wall = time.perf_counter() - start
    ctx.state["send_room"] = room
    ctx.state["send_count"] = len(latencies)
    out.rate("messages/s", len(latencies), wall, "msgs/s")
    out.latency_figures("send", latencies)


async def back_paginate(ctx: Context, out: Outcome) -> None:
    """Walk /messages backwards from the end of the send-throughput room."""
    room = ctx.state.get("send_room")
    if room is None:
        raise RuntimeError("needs the send-throughput room, which was not built")
    want = min(ctx.scale.paginate_events, ctx.state["send_count"])
    user = ctx.pool[0]
    path = f"/_matrix/client/v3/rooms/{quote(room)}/messages"
    page_lat: list[float] = []
    seen = 0
    token: str | None = None
    start = time.perf_counter()
    while seen < want:
        params = {"dir": "b", "limit": "50"}
        if token is not None:
            params["from"] = token
        seconds, body = await ctx.client.timed("GET", path, token=user.access_token, params=params)
        page_lat.append(seconds)
        chunk = body.get("chunk", [])
        seen += sum(1 for e in chunk if e.get("type") == "m.room.message")
        token = body.get("end")
        if not chunk or token is None:
            break
    wall = time.perf_counter() - start
    if seen < want:
        raise RuntimeError(f"/messages returned {seen} messages, expected {want}")
    out.figures["paginate total"] = Figure(wall * 1000, "ms")
    out.latency_figures("messages page", page_lat)
    out.rate("events/s", seen, wall, "events/s")
