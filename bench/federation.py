"""``python -m bench.federation``: delivery across two federated servers, Sceau and Synapse.

    .venv/bin/python -m bench.federation --receivers 20 --messages 60 --rate 2

For each kind in turn (the other stopped), two servers of that kind federate
over TLS on loopback: names ``127.0.0.1:<port>``, certificates from a CA made
for the run (trustme), each allowing only the other. They are the servers of
the federation tests (``tests/e2e/federation_servers.py`` and
``synapse_server.py``), on SQLite. One sender on server A creates a public
room; the receivers, users of server B, join it over federation, and each
holds a /sync long-poll on B (that room only, no presence). The sender sends
at a fixed rate. A delivery's latency runs from the start of the send on A to
the moment the receiver's /sync reply carrying the message was read on B: it
holds A's send, the transaction to B, B's checks and B's fan-out.

Results go to ``bench/results/<time>-federation/`` (results.json, results.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import secrets
import shlex
import ssl
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import trustme
import yaml

from bench.__main__ import machine_facts
from bench.model import percentile
from bench.servers import (
    REPO,
    ensure_synapse_venv,
    sceau_version,
    synapse_rate_limits,
    synapse_version,
)
from tests.conftest import free_port
from tests.e2e.federation_servers import FederationLab
from tests.e2e.synapse_server import SynapseProcess

PASSWORD = "bench federation password 1!"
POLL_TIMEOUT_MS = 30_000
#: How long after the last send every receiver must have seen every message.
GRACE_S = 120.0
NO_PRESENCE = {"presence": {"not_types": ["*"]}, "account_data": {"not_types": ["*"]}}


@dataclass(frozen=True)
class Endpoint:
    """A server's client API as the bench reaches it."""

    name: str
    url: str
    verify: ssl.SSLContext | bool = True


@dataclass
class User:
    user_id: str
    token: str
    #: Message body -> when this receiver read it (perf_counter seconds).
    seen: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------ servers


@contextlib.contextmanager
def sceau_pair(folder: Path) -> Iterator[tuple[Endpoint, Endpoint, str]]:
    """Two Sceau servers allowing each other; yields A, B and Sceau's version."""
    lab = FederationLab(folder / "sceau")
    for _ in range(2):
        lab.declare(presence={"enabled": False})  # as Synapse's below; the filter skips it
    try:
        lab.start_all()
        a, b = (Endpoint(s.name, s.client_url) for s in lab.servers)
        yield a, b, sceau_version()
    finally:
        lab.stop_all()


@contextlib.contextmanager
def synapse_pair(folder: Path) -> Iterator[tuple[Endpoint, Endpoint, str]]:
    """Two Synapses allowing each other, rate limits out of reach, WARNING logs."""
    python = ensure_synapse_venv()
    ca = trustme.CA()
    ports = [free_port(), free_port()]
    names = [f"127.0.0.1:{p}" for p in ports]
    servers = [
        SynapseProcess(folder / f"synapse{i}", port, ca, allow=[names[1 - i]])
        for i, port in enumerate(ports)
    ]
    for server in servers:
        _bench_synapse_config(server)
    try:
        for server in servers:
            server.start()
        a, b = (
            Endpoint(s.name, s.url, ssl.create_default_context(cafile=str(s.ca_path)))
            for s in servers
        )
        yield a, b, synapse_version(python)
    finally:
        for server in servers:
            server.stop()


def _bench_synapse_config(server: SynapseProcess) -> None:
    """The test Synapse, with the bench's settings: no rate limit, quick hashing, quiet log."""
    config = yaml.safe_load(server.config_path.read_text())
    config.update(synapse_rate_limits())
    config["rc_federation"] = {
        "window_size": 1000,
        "sleep_limit": 100_000,
        "sleep_delay": 1,
        "reject_limit": 100_000,
        "concurrent": 1000,
    }
    config["bcrypt_rounds"] = 4  # registration is not measured here
    config["presence"] = {"enabled": False}
    server.config_path.write_text(yaml.safe_dump(config))
    log_config = server.folder / "log.yaml"
    logging = yaml.safe_load(log_config.read_text())
    logging["root"]["level"] = "WARNING"
    log_config.write_text(yaml.safe_dump(logging))


# ------------------------------------------------------------------ clients


async def call(
    http: httpx.AsyncClient, method: str, path: str, token: str | None = None, **kwargs: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.request(method, "/_matrix/client/v3" + path, headers=headers, **kwargs)
    if response.status_code != 200:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return response.json()


async def register(http: httpx.AsyncClient, localpart: str) -> User:
    body: dict[str, Any] = {
        "username": localpart,
        "password": PASSWORD,
        "auth": {"type": "m.login.dummy"},
    }
    response = await http.post("/_matrix/client/v3/register", json=body)
    if response.status_code == 401:  # Synapse asks for the dummy stage in a session
        body["auth"]["session"] = response.json()["session"]
        response = await http.post("/_matrix/client/v3/register", json=body)
    if response.status_code != 200:
        raise RuntimeError(f"register {localpart}: {response.status_code} {response.text}")
    data = response.json()
    return User(data["user_id"], data["access_token"])


def sync_filter(room_id: str) -> str:
    return orjson.dumps(
        {"room": {"rooms": [room_id], "timeline": {"limit": 100}}, **NO_PRESENCE}
    ).decode()


async def receive(
    http: httpx.AsyncClient, user: User, room_id: str, since: str, expected: set[str]
) -> None:
    """Long-poll /sync on B until every expected body was read; note when each came."""
    params = {"timeout": str(POLL_TIMEOUT_MS), "filter": sync_filter(room_id)}
    while not expected <= user.seen.keys():
        body = await call(http, "GET", "/sync", user.token, params={**params, "since": since})
        now = time.perf_counter()
        since = body["next_batch"]
        room = body.get("rooms", {}).get("join", {}).get(room_id, {})
        for event in room.get("timeline", {}).get("events", []):
            text = event.get("content", {}).get("body")
            if isinstance(text, str):
                user.seen.setdefault(text, now)


# ----------------------------------------------------------------- workload


@dataclass(frozen=True)
class Plan:
    receivers: int
    messages: int
    rate: float


async def measure(a: Endpoint, b: Endpoint, plan: Plan) -> dict[str, Any]:
    """Run the workload on a started pair; the figures and raw latencies (ms)."""
    limits = httpx.Limits(max_connections=plan.receivers + 10)
    run = secrets.token_hex(3)
    async with (
        httpx.AsyncClient(base_url=a.url, verify=a.verify, timeout=60, limits=limits) as on_a,
        httpx.AsyncClient(base_url=b.url, verify=b.verify, timeout=60, limits=limits) as on_b,
    ):
        sender = await register(on_a, f"sender{run}")
        receivers = [await register(on_b, f"rcv{run}_{i}") for i in range(plan.receivers)]
        room = await call(on_a, "POST", "/createRoom", sender.token, json={"preset": "public_chat"})
        room_id = room["room_id"]
        for user in receivers:
            await call(
                on_b,
                "POST",
                f"/join/{room_id}",
                user.token,
                params={"server_name": a.name},
                json={},
            )
        await wait_for_members(on_a, sender, room_id, plan.receivers + 1)
        sinces = []
        for user in receivers:
            first = await call(
                on_b, "GET", "/sync", user.token, params={"filter": sync_filter(room_id)}
            )
            sinces.append(first["next_batch"])
        await send_and_wait(on_a, on_b, sender, receivers, sinces, room_id, ["warm-up"], 0)
        for user in receivers:
            user.seen.clear()
        bodies = [f"fed {run} {i}" for i in range(plan.messages)]
        sinces = [await latest_since(on_b, u, room_id) for u in receivers]
        sent_at, acked = await send_and_wait(
            on_a, on_b, sender, receivers, sinces, room_id, bodies, 1 / plan.rate
        )
    latencies = [
        (user.seen[text] - sent_at[text]) * 1000
        for user in receivers
        for text in bodies
        if text in user.seen
    ]
    missing = plan.receivers * plan.messages - len(latencies)
    first_hop = [
        (min(u.seen[text] for u in receivers if text in u.seen) - sent_at[text]) * 1000
        for text in bodies
        if any(text in u.seen for u in receivers)
    ]
    figures = {
        "delivery p50 (ms)": percentile(latencies, 50) if latencies else None,
        "delivery p90 (ms)": percentile(latencies, 90) if latencies else None,
        "delivery p99 (ms)": percentile(latencies, 99) if latencies else None,
        "delivery max (ms)": max(latencies) if latencies else None,
        "first receiver p50 (ms)": percentile(first_hop, 50) if first_hop else None,
        "send on A p50 (ms)": percentile([v * 1000 for v in acked.values()], 50),
        "deliveries": len(latencies),
        "missing": missing,
    }
    return {"figures": figures, "latencies_ms": sorted(round(x, 2) for x in latencies)}


async def wait_for_members(http: httpx.AsyncClient, user: User, room_id: str, count: int) -> None:
    """Until A knows every receiver joined (so it sends every message to B)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        members = await call(http, "GET", f"/rooms/{room_id}/joined_members", user.token)
        if len(members["joined"]) >= count:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"A did not see {count} members within 120 s")


async def latest_since(http: httpx.AsyncClient, user: User, room_id: str) -> str:
    body = await call(http, "GET", "/sync", user.token, params={"filter": sync_filter(room_id)})
    return str(body["next_batch"])


async def send_and_wait(
    on_a: httpx.AsyncClient,
    on_b: httpx.AsyncClient,
    sender: User,
    receivers: list[User],
    sinces: list[str],
    room_id: str,
    bodies: list[str],
    interval: float,
) -> tuple[dict[str, float], dict[str, float]]:
    """Start every receiver's long-poll, send ``bodies`` at ``interval``, wait for them all.

    Returns when each body was sent and how long its send took on A.
    """
    expected = set(bodies)
    polls = [
        asyncio.create_task(receive(on_b, user, room_id, since, expected))
        for user, since in zip(receivers, sinces, strict=True)
    ]
    await asyncio.sleep(0.5)  # let every long-poll reach the server
    sent_at: dict[str, float] = {}
    acked: dict[str, float] = {}  # how long each send took on A (s)
    start = time.perf_counter()
    for index, text in enumerate(bodies):
        await asyncio.sleep(max(0.0, start + index * interval - time.perf_counter()))
        sent_at[text] = time.perf_counter()
        content = {"msgtype": "m.text", "body": text}
        await call(
            on_a,
            "PUT",
            f"/rooms/{room_id}/send/m.room.message/{secrets.token_hex(8)}",
            sender.token,
            json=content,
        )
        acked[text] = time.perf_counter() - sent_at[text]
    done, pending = await asyncio.wait(polls, timeout=GRACE_S)
    for task in pending:
        task.cancel()
    for task in done:
        task.result()  # a failed request fails the run
    return sent_at, acked


# --------------------------------------------------------------------- main


PAIRS = {"sceau": sceau_pair, "synapse": synapse_pair}


def run_kind(kind: str, root: Path, plan: Plan) -> dict[str, Any]:
    started = time.perf_counter()
    with PAIRS[kind](root / kind) as (a, b, version):
        print(
            f"[{kind}] {a.name} -> {b.name} started in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        result = asyncio.run(measure(a, b, plan))
    result["version"] = version
    print(f"[{kind}] {result['figures']}", flush=True)
    return result


def table(results: dict[str, Any]) -> str:
    kinds = list(results)
    names = list(next(iter(results.values()))["figures"])
    header = "| figure | " + " | ".join(f"{k} → {k}" for k in kinds) + " |"
    lines = [header, "|---" + "|---:" * len(kinds) + "|"]
    for name in names:
        cells = []
        for kind in kinds:
            value = results[kind]["figures"].get(name)
            cells.append(
                "—" if value is None else f"{value:.0f}" if isinstance(value, float) else str(value)
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.federation", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--receivers", type=int, default=20)
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--rate", type=float, default=2.0, help="messages per second")
    parser.add_argument("--only", choices=list(PAIRS), default=None)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--keep", type=Path, help="run the servers in this folder and keep it")
    args = parser.parse_args(argv)
    plan = Plan(args.receivers, args.messages, args.rate)
    started = datetime.datetime.now(datetime.UTC)
    out = args.out / f"{started:%Y%m%d-%H%M%S}-federation"
    kinds = [args.only] if args.only else list(PAIRS)
    load_at_start = list(os.getloadavg())
    if args.keep is not None:  # the servers' data and logs stay there
        results = {kind: run_kind(kind, args.keep, plan) for kind in kinds}
    else:
        with tempfile.TemporaryDirectory(prefix="sceau-bench-federation-") as tmp:
            results = {kind: run_kind(kind, Path(tmp), plan) for kind in kinds}
    command = " ".join(
        [".venv/bin/python -m bench.federation", *map(shlex.quote, argv or sys.argv[1:])]
    )
    data = {
        "meta": {
            "command": command,
            "started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_facts(),
            "plan": plan.__dict__,
            # Other work on the machine weighs on both servers' figures alike.
            "load_average_at_start": load_at_start,
            "load_average_at_end": list(os.getloadavg()),
        },
        "results": results,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    versions = ", ".join(f"{k} {r['version']}" for k, r in results.items())
    md = f"{command}\n\n{versions}\n\n{table(results)}"
    (out / "results.md").write_text(md)
    print(md)
    print(f"results: {out}")
    return 0 if all(r["figures"]["missing"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
