"""``python -m bench.longpoll``: N clients long-polling /sync in one room, Sceau and Synapse.

    .venv/bin/python -m bench.longpoll --clients 200,1000,2000 --db sqlite

Each server runs alone (the other is stopped) so that N waiting syncs on one do
not weigh on the other. Users are registered once, then joined into one room
step by step: the run with N clients has exactly N receivers plus the sender in
the room. The workload is :mod:`bench.workloads_longpoll`. Synapse hashes with
``bcrypt_rounds: 4`` here, only so that registering 2,000 users takes a minute
instead of ten; registration is not measured by this command.

Results go to ``bench/results/<time>-longpoll/`` (results.json, results.md).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import secrets
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.__main__ import machine_facts
from bench.client import Client, Session, Tally
from bench.model import Outcome, gather_limited
from bench.profiling import Profiler
from bench.report import _fmt
from bench.runner import _figures_json
from bench.servers import REPO, make_server
from bench.workloads_basic import PASSWORD
from bench.workloads_longpoll import LongpollPlan, measure_longpoll

FIGURES = [
    ("delivery p50", "ms"),
    ("delivery p99", "ms"),
    ("delivery max", "ms"),
    ("send p50", "ms"),
    ("send p99", "ms"),
    ("deliveries beyond the timeline", "%"),
    ("deliveries lost (not flagged limited)", ""),
    ("RSS per waiting sync", "KiB"),
    ("server CPU per delivery", "µs"),
    ("server CPU, share of a core", "%"),
    ("client CPU, share of a core", "%"),
]


async def run_server(kind: str, db: str, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Start one server, register the users once, run every N in turn."""
    server = make_server(kind, db, root)
    if kind == "synapse":
        server.overrides = {"bcrypt_rounds": 4}
    if args.server_cpu is not None:
        server.cpus = {args.server_cpu}
    sizes = sorted(args.clients)
    results: dict[str, Any] = {"runs": {}}
    connector = aiohttp.TCPConnector(limit=0)
    http = aiohttp.ClientSession(connector=connector)
    try:
        await server.start()
        assert server.process is not None
        results["version"] = server.version
        tally = Tally()
        client = Client(server.base_url, http, tally)
        run_id = secrets.token_hex(3)
        print(f"[{kind}/{db}] registering {sizes[-1] + 1} users", flush=True)
        users: list[Session] = await gather_limited(
            args.concurrency,
            [
                lambda i=i: client.register(f"lp{run_id}_{i}", PASSWORD)
                for i in range(sizes[-1] + 1)
            ],
        )
        sender, receivers = users[0], users[1:]
        room = await client.create_room(sender, "long-poll")
        setup = client
        joined = 0
        pid = server.process.pid
        for size in sizes:
            print(f"[{kind}/{db}] joining {size - joined} more", flush=True)
            await gather_limited(
                args.concurrency,
                [lambda u=u: setup.join(u, room) for u in receivers[joined:size]],
            )
            joined = size
            print(f"[{kind}/{db}] N={size}: long-polling", flush=True)
            tally = Tally()
            client = Client(server.base_url, http, tally)
            out = Outcome()
            recorded: list[Profiler] = []

            def on_phase(phase: str, size: int = size, recorded: list[Profiler] = recorded) -> None:
                # Only the sending phase is profiled: set-up would drown it.
                if args.profile != kind:
                    return
                if phase == "sending":
                    raw = args.out_dir / f"profile-{kind}-{db}-{size}.txt"
                    recorded.append(Profiler(pid, raw, fmt="raw"))
                else:
                    for profiler in recorded:
                        profiler.stop()

            plan = LongpollPlan(
                client,
                sender,
                receivers[:size],
                room,
                args.rate,
                args.seconds,
                server.process.pid,
                args.concurrency,
                on_phase,
            )
            try:
                await measure_longpoll(plan, out)
                failure = None
            except Exception as exc:  # reported in the table, the next N still runs
                failure = f"{type(exc).__name__}: {exc}"[:500]
            finally:
                for profiler in recorded:
                    profiler.stop()
            results["runs"][str(size)] = {
                "figures": _figures_json(out.figures),
                "latencies": {k: [round(v, 5) for v in vs] for k, vs in out.latencies.items()},
                "errors": tally.errors,
                "error_samples": tally.samples,
                "failure": failure,
            }
            # Kept as each N ends, so that a run stopped midway still leaves its figures.
            partial = args.out_dir / f"{kind}-{db}-partial.json"
            partial.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
            summary = {k: round(f.value, 1) for k, f in out.figures.items()}
            print(f"[{kind}/{db}] N={size}: {failure or summary}", flush=True)
    finally:
        await http.close()
        server.stop()
        _keep_log_excerpt(server.directory / "server.log", args.out_dir / f"{kind}-{db}-server.log")
    return results


def _keep_log_excerpt(log: Path, kept: Path) -> None:
    """The server's log without its /sync access lines (hundreds of thousands of them)."""
    if not log.exists():
        return
    with log.open("rb") as source, kept.open("wb") as target:
        for line in source:
            if b" GET /_matrix/client/v3/sync" not in line:
                target.write(line)


def table(data: dict[str, Any]) -> str:
    """One row per figure, one column per (N, server)."""
    runs = data["servers"]
    kinds = list(runs)
    sizes = sorted({int(n) for r in runs.values() for n in r.get("runs", {})})
    header = ["figure", *[f"N={n} {k}" for n in sizes for k in kinds]]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for name, unit in FIGURES:
        cells = [f"{name} ({unit})" if unit else name]
        for n in sizes:
            for k in kinds:
                run = runs[k].get("runs", {}).get(str(n))
                if run is None or run["failure"]:
                    cells.append("failed" if run else "—")
                elif name in run["figures"]:
                    cells.append(_fmt(run["figures"][name]["value"]))
                else:
                    cells.append("—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.longpoll", description=__doc__)
    parser.add_argument(
        "--clients", type=lambda s: [int(x) for x in s.split(",")], default=[200, 1000, 2000]
    )
    parser.add_argument("--rate", type=float, default=2.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the sender sends")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--only", choices=["sceau", "synapse"], default=None)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--profile", choices=["sceau", "synapse"], default=None)
    parser.add_argument(
        "--server-cpu",
        type=int,
        default=None,
        help="pin the server process to this core (the load generator keeps the others)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    args.out_dir = args.out / f"{started:%Y%m%d-%H%M%S}-longpoll"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    kinds = [args.only] if args.only else ["sceau", "synapse"]
    if args.server_cpu is not None:
        # The load generator keeps off the server's core, or it would share it.
        others = os.sched_getaffinity(0) - {args.server_cpu}
        if others:
            os.sched_setaffinity(0, others)
    servers: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="sceau-longpoll-") as tmp:
        for kind in kinds:
            servers[kind] = asyncio.run(run_server(kind, args.db, Path(tmp), args))
    data = {
        "meta": {
            "command": " ".join(
                [".venv/bin/python -m bench.longpoll", *map(shlex.quote, argv or sys.argv[1:])]
            ),
            "started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_facts(),
            "rate": args.rate,
            "seconds": args.seconds,
            "db": args.db,
            "server_cpu": args.server_cpu,
        },
        "servers": servers,
    }
    (args.out_dir / "results.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    versions = ", ".join(f"{k} {v.get('version', '?')}" for k, v in servers.items())
    md = f"{data['meta']['command']}\n\n{versions}\n\n{table(data)}"
    (args.out_dir / "results.md").write_text(md)
    print(md)
    print(f"results: {args.out_dir}")
    failed = any(r["failure"] for s in servers.values() for r in s.get("runs", {}).values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
