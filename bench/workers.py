"""``python -m bench.workers``: fan-out capacity of 1 and 2 sync workers, drawn as a curve.

    .venv/bin/python -m bench.workers --clients 100,250,500,1000,1500,2000 --docs

Starts one deployment (the helpers of ``tests/e2e/workers_support.py``): a
private ``redis-server`` on a free port, a fresh PostgreSQL database, ``main``,
one ``event_writer`` and as many ``sync`` workers as the largest layout needs.
Users are registered once; for each N (ascending) N receivers are in the room,
and each layout runs the ``longpoll`` workload (:mod:`bench.workloads_longpoll`:
a 5-event timeline, lazy members, one sender at a fixed rate) with receiver
``i`` long-polling on sync worker ``i mod k``, as a proxy hashing the access
token would spread them. The sender sends to the writer, as the documented
nginx routing does. A layout stops growing after the first N whose delivery
p99 passes 1 s (``--until-ms``); sync workers a layout does not use stay up,
idle.

CPU is read from /proc per process (main, writer, each sync worker, Redis,
and this database's PostgreSQL backends, found by their process title) between the first send and the
drained backlog. Results go to ``bench/results/<time>-workers/`` (results.json,
results.md, capacity.png); ``--docs`` also copies the PNG to
``docs/workers-capacity.png`` and the table into ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import os
import secrets
import shlex
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.__main__ import machine_facts
from bench.client import Client, MatrixError, Session, Tally
from bench.model import Outcome, gather_limited
from bench.pngplot import PALETTE, Series, line_chart
from bench.procstat import tree_cost
from bench.runner import _figures_json
from bench.servers import REPO
from bench.workloads_basic import PASSWORD
from bench.workloads_longpoll import LongpollPlan, measure_longpoll

#: Delivery p99 above this ends a layout's series: the layout is saturated.
SATURATED_MS = 1000.0
DOCS = REPO / "docs" / "performance.md"
DOCS_PNG = REPO / "docs" / "workers-capacity.png"
MARKERS = ("<!-- bench:workers -->", "<!-- /bench:workers -->")


@dataclass
class Deployment:
    """The running cluster and how to find each part's processes."""

    cluster: Any
    redis: Any
    sync_names: list[str]

    def pids(self) -> dict[str, list[int]]:
        """Process ids by part; PostgreSQL's are this database's backends."""
        workers = self.cluster.workers
        parts = {
            "main": [workers["main"].process.pid],
            "writer": [workers["writer1"].process.pid],
            "redis": [self.redis.pid],
        }
        for name in self.sync_names:
            parts[name] = [workers[name].process.pid]
        return parts


def pg_backends(database: str) -> list[int]:
    """This database's PostgreSQL server processes, by their process title.

    Read from /proc rather than pg_stat_activity so that the meter can list
    them again when the run ends: a pool may open connections during the run.
    """
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            title = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
            pids.append(int(entry))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    return sum(tree_cost(pid)[0] for pid in pids)


class CpuMeter:
    """CPU per part between the first send and the drained backlog (``on_phase``).

    PostgreSQL's part is its backends of this database, listed again at the
    end: one opened during the run counts whole, one closed during it is lost.
    """

    def __init__(self, parts: dict[str, list[int]], database: str) -> None:
        self.parts = parts
        self.database = database
        self.before: dict[str, float] = {}
        self.pg_before: dict[int, float] = {}
        self.used: dict[str, float] = {}
        self.started = self.wall = 0.0

    def __call__(self, phase: str) -> None:
        now = asyncio.get_running_loop().time()
        if phase == "sending":
            self.started = now
            self.before = {k: cpu_seconds(p) for k, p in self.parts.items()}
            self.pg_before = {pid: cpu_seconds([pid]) for pid in pg_backends(self.database)}
        else:
            self.wall = now - self.started
            self.used = {k: cpu_seconds(p) - self.before[k] for k, p in self.parts.items()}
            self.used["postgres"] = sum(
                cpu_seconds([pid]) - self.pg_before.get(pid, 0.0)
                for pid in pg_backends(self.database)
            )


async def run_layouts(deployment: Deployment, args: argparse.Namespace) -> dict[str, Any]:
    """Register once, then for each N run every layout still below saturation."""
    cluster = deployment.cluster
    main_url, writer_url = cluster.url("main"), cluster.url("writer1")
    sizes = sorted(args.clients)
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    runs: dict[str, dict[str, Any]] = {str(k): {} for k in args.sync_workers}
    try:
        client = Client(main_url, http, Tally())
        tag = secrets.token_hex(3)
        print(f"registering {sizes[-1] + 1} users", flush=True)
        users: list[Session] = await gather_limited(
            args.concurrency,
            [lambda i=i: client.register(f"wk{tag}_{i}", PASSWORD) for i in range(sizes[-1] + 1)],
        )
        sender, receivers = users[0], users[1:]
        room = await client.create_room(sender, "workers fan-out")
        joined = 0
        for size in sizes:
            live = [k for k in args.sync_workers if not _saturated(runs[str(k)], args.until_ms)]
            if not live:
                break
            await gather_limited(
                args.concurrency,
                [lambda u=u: _join(client, u, room) for u in receivers[joined:size]],
            )
            joined = size
            for k in live:
                runs[str(k)][str(size)] = await run_one(
                    deployment, http, main_url, writer_url, sender, receivers[:size], room, k, args
                )
                args.on_run(runs)
    finally:
        await http.close()
    return runs


async def _join(client: Client, user: Session, room: str) -> None:
    """Join, retrying a 503 as clients do (a writer busy on a loaded host drops a forward)."""
    for _ in range(30):
        try:
            await client.join(user, room)
            return
        except MatrixError as exc:
            if exc.status not in (0, 502, 503):
                raise
            await asyncio.sleep(1.0)
    await client.join(user, room)


def _saturated(series: dict[str, Any], limit_ms: float = SATURATED_MS) -> bool:
    """True once a run of this layout failed or passed the p99 limit."""
    for run in series.values():
        p99 = run["figures"].get("delivery p99", {}).get("value", 0.0)
        if run["failure"] or p99 > limit_ms:
            return True
    return False


async def run_one(
    deployment: Deployment,
    http: aiohttp.ClientSession,
    main_url: str,
    writer_url: str,
    sender: Session,
    receivers: list[Session],
    room: str,
    k: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One N with ``k`` sync workers: the longpoll workload and CPU by part."""
    names = deployment.sync_names[:k]
    urls = [deployment.cluster.url(n) for n in names]
    meter = CpuMeter(deployment.pids(), deployment.cluster.database)
    tally = Tally()
    plan = LongpollPlan(
        Client(main_url, http, tally),
        sender,
        receivers,
        room,
        args.rate,
        args.seconds,
        None,
        args.concurrency,
        meter,
        poll_urls=[urls[i % k] for i in range(len(receivers))],
        send_url=writer_url,
    )
    out = Outcome()
    print(f"N={len(receivers)}, {k} sync worker(s): long-polling", flush=True)
    try:
        await measure_longpoll(plan, out)
        failure = None
    except Exception as exc:  # reported, and it ends this layout's series
        failure = f"{type(exc).__name__}: {exc}"[:500]
    cpu = {part: round(used, 3) for part, used in meter.used.items()}
    figures = _figures_json(out.figures)
    summary = {n: round(f.value, 1) for n, f in out.figures.items() if "delivery" in n}
    print(f"N={len(receivers)}, k={k}: {failure or summary}; cpu {cpu}", flush=True)
    return {
        "figures": figures,
        "cpu_seconds": cpu,
        "wall_seconds": round(meter.wall, 3),
        "sync_workers": names,
        "errors": tally.errors,
        "failure": failure,
    }


def capacity(series: dict[str, Any]) -> float | None:
    """N at which p99 crosses the threshold, linear between the runs around it."""
    points = sorted((int(n), _p99(r)) for n, r in series.items())
    for (n0, p0), (n1, p1) in itertools.pairwise(points):
        if p0 <= SATURATED_MS < p1:
            return n0 + (n1 - n0) * (SATURATED_MS - p0) / (p1 - p0)
    return None


def _p99(run: dict[str, Any]) -> float:
    if run["failure"]:
        return float("inf")
    return float(run["figures"].get("delivery p99", {}).get("value", 0.0))


def table(data: dict[str, Any]) -> str:
    """One row per (layout, N): delivery figures and CPU as a share of one core."""
    header = (
        "| sync workers | N | p50 (ms) | p99 (ms) | max (ms) | beyond timeline (%) | lost "
        "| CPU % main | writer | sync (each) | PostgreSQL | Redis | sync µs/delivery |"
    )
    lines = [header, "|---:" * 13 + "|"]
    for k, series in data["runs"].items():
        for n, run in sorted(series.items(), key=lambda item: int(item[0])):
            if run["failure"]:
                lines.append(f"| {k} | {n} | failed: {run['failure'][:80]} |" + " |" * 10)
                continue
            f = {name: v["value"] for name, v in run["figures"].items()}
            wall = run["wall_seconds"] or 1.0
            cpu = run["cpu_seconds"]
            syncs = [cpu.get(name, 0.0) for name in run["sync_workers"]]
            share = " / ".join(f"{s / wall * 100:.0f}" for s in syncs)
            deliveries = int(n) * data["meta"]["rate"] * data["meta"]["seconds"]
            per = sum(syncs) / deliveries * 1e6 if deliveries else 0.0
            lines.append(
                f"| {k} | {n} | {f['delivery p50']:.0f} | {f['delivery p99']:.0f} "
                f"| {f['delivery max']:.0f} | {f['deliveries beyond the timeline']:.1f} "
                f"| {f['deliveries lost (not flagged limited)']:.0f} "
                f"| {cpu.get('main', 0) / wall * 100:.0f} | {cpu.get('writer', 0) / wall * 100:.0f} "
                f"| {share} | {cpu.get('postgres', 0) / wall * 100:.0f} "
                f"| {cpu.get('redis', 0) / wall * 100:.0f} | {per:.0f} |"
            )
    caps = []
    for k, series in data["runs"].items():
        cap = capacity(series)
        caps.append(
            f"- {k} sync worker(s): p99 crosses 1 s at N ≈ {cap:.0f}"
            if cap
            else f"- {k} sync worker(s): p99 stayed under 1 s up to N = "
            f"{max(map(int, series), default=0)}"
            if not _saturated(series)
            else f"- {k} sync worker(s): saturated at the first N measured"
        )
    return "\n".join(lines) + "\n\n" + "\n".join(caps) + "\n"


def draw(data: dict[str, Any], path: Path) -> None:
    """p50 (dashed) and p99 (solid) delivery against N, one colour per layout."""
    series = []
    for index, (k, runs) in enumerate(data["runs"].items()):
        ok = {int(n): r for n, r in runs.items() if not r["failure"]}
        color = PALETTE[index % len(PALETTE)]
        for label, dashed in (("p99", False), ("p50", True)):
            points = [(float(n), r["figures"][f"delivery {label}"]["value"]) for n, r in ok.items()]
            series.append(Series(f"{k} sync worker(s), delivery {label}", points, color, dashed))
    meta = data["meta"]
    line_chart(
        path,
        series,
        title="Sceau workers: one room, N clients long-polling /sync, "
        f"{meta['rate']:g} msg/s (PostgreSQL + Redis)",
        x_label="N clients in the room (spread over the sync workers)",
        y_label="ms",
        threshold=(SATURATED_MS, "1 s"),
        note=f"{meta['started']}, {meta['machine']['cores']} cores shared with other jobs "
        f"(load avg {meta['load_before']})",
    )


def update_docs(markdown: str) -> None:
    """Replace the workers section of docs/performance.md between its markers."""
    start, end = MARKERS
    text = DOCS.read_text()
    if start not in text or end not in text:
        print("bench: docs/performance.md has no workers markers; not updated")
        return
    head, rest = text.split(start, 1)
    DOCS.write_text(f"{head}{start}\n{markdown}\n{end}{rest.split(end, 1)[1]}")


def start_deployment(folder: Path, sync_count: int) -> Deployment:
    from tests.e2e.workers_support import Cluster, RedisServer

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    redis = RedisServer(binary, folder)
    redis.start()
    names = [f"sync{i + 1}" for i in range(sync_count)]
    roles = {"main": ["main"], "writer1": ["event_writer"]} | {n: ["sync"] for n in names}
    cluster = Cluster(folder, redis.url, roles)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        redis.stop()
        raise
    return Deployment(cluster, redis, names)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    numbers = lambda s: [int(x) for x in s.split(",")]  # noqa: E731
    parser.add_argument("--clients", type=numbers, default=[100, 250, 500, 1000, 1500, 2000])
    parser.add_argument("--sync-workers", type=numbers, default=[1, 2])
    parser.add_argument("--rate", type=float, default=2.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the sender sends")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--until-ms",
        type=float,
        default=SATURATED_MS,
        help="a layout stops growing after a p99 above this (raise it on a busy machine)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--docs", action="store_true", help="update docs/performance.md")
    return parser.parse_args(argv)


def _exit_on_term(signum: int, _frame: object) -> None:
    """``timeout`` or ``kill`` still stops the workers and drops the database."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_term)
    started = datetime.datetime.now(datetime.UTC)
    out_dir = args.out / f"{started:%Y%m%d-%H%M%S}-workers"
    out_dir.mkdir(parents=True, exist_ok=True)
    load_before = round(os.getloadavg()[0], 1)
    command = " ".join(
        [".venv/bin/python -m bench.workers", *map(shlex.quote, argv or sys.argv[1:])]
    )
    data: dict[str, Any] = {
        "meta": {
            "command": command,
            "started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_facts(),
            "load_before": load_before,
            "load_after": load_before,
            "rate": args.rate,
            "seconds": args.seconds,
        },
        "runs": {},
    }

    def save(runs: dict[str, Any]) -> None:
        # After every run, so that a step failing later keeps what was measured.
        data["runs"] = runs
        data["meta"]["load_after"] = round(os.getloadavg()[0], 1)
        (out_dir / "results.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))

    args.on_run = save
    folder = Path(tempfile.mkdtemp(prefix="sceau-bench-workers-"))
    deployment = start_deployment(folder, max(args.sync_workers))
    try:
        save(asyncio.run(run_layouts(deployment, args)))
    except Exception as exc:
        print(f"bench: stopped early ({type(exc).__name__}: {exc}); reporting what was measured")
        data["meta"]["stopped_early"] = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        deployment.cluster.stop()
        deployment.redis.stop()
        shutil.rmtree(folder, ignore_errors=True)
    if not data["runs"]:
        return 1
    png = out_dir / "capacity.png"
    draw(data, png)
    meta = data["meta"]
    md = (
        f"`{command}` — {meta['started']}, {meta['machine']['cores']} cores "
        f"({meta['machine']['cpu']}), shared with other jobs: load average "
        f"{meta['load_before']} before, {meta['load_after']} after.\n\n{table(data)}"
    )
    (out_dir / "results.md").write_text(md)
    print(md)
    print(f"results: {out_dir}")
    if args.docs:
        shutil.copyfile(png, DOCS_PNG)
        update_docs(md + f"\n![fan-out capacity of 1 and 2 sync workers]({DOCS_PNG.name})\n")
    runs = data["runs"]
    failed = any(r["failure"] for s in runs.values() for r in s.values())
    return 1 if failed or "stopped_early" in data["meta"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
