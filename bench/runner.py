"""Run every workload against each server, alternating which goes first."""

from __future__ import annotations

import asyncio
import os
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.client import Client, MatrixError, Tally
from bench.model import Context, Figure, Outcome, Scale
from bench.procstat import CostSampler
from bench.profiling import Profiler
from bench.servers import Server, make_server
from bench.workloads_basic import back_paginate, register_login, rooms_joins, send_throughput
from bench.workloads_keys import e2ee_keys
from bench.workloads_longpoll import longpoll
from bench.workloads_push import push_delivery
from bench.workloads_sync import fanout, initial_sync

Workload = Callable[[Context, Outcome], Awaitable[None]]

WORKLOADS: dict[str, Workload] = {
    "registration": register_login,
    "rooms": rooms_joins,
    "send": send_throughput,
    "messages": back_paginate,
    "fanout": fanout,
    "initial_sync": initial_sync,
    "e2ee": e2ee_keys,
    "push": push_delivery,
    "longpoll": longpoll,
}


def _figures_json(figures: dict[str, Figure]) -> dict[str, Any]:
    return {
        k: {"value": f.value, "unit": f.unit, "higher_is_better": f.higher_is_better}
        for k, f in figures.items()
    }


async def _run_workload(
    ctx: Context, workload: Workload, sampler: CostSampler | None
) -> dict[str, Any]:
    """Run one workload on one server with a fresh tally; never raises."""
    # A fresh client per workload: its requests can only ever count here.
    ctx.tally = Tally()
    ctx.client = Client(ctx.client.base_url, ctx.client.http, ctx.tally)
    out = Outcome()
    cpu_before = sampler.sample()[0] if sampler else 0.0
    if sampler:
        sampler.reset_window()
    client_before = sum(os.times()[:2])
    start = time.perf_counter()
    try:
        await workload(ctx, out)
    except MatrixError as exc:
        out.failure = str(exc)
    except RuntimeError as exc:  # a precondition or check of the workload itself
        out.failure = f"{exc}"[:500]
    except Exception as exc:  # any other crash is a failed workload too
        out.failure = f"{type(exc).__name__}: {exc}"[:500]
        traceback.print_exc()
    out.wall_seconds = time.perf_counter() - start
    client_cpu = sum(os.times()[:2]) - client_before
    if sampler:
        out.cpu_seconds = sampler.sample()[0] - cpu_before
        out.figures["server CPU"] = Figure(out.cpu_seconds, "s")
    rss = {}
    if sampler:
        rss = {"peak": sampler.window_peak_kib / 1024, "after": sampler.last_rss_kib / 1024}
    tally = ctx.tally
    return {
        "figures": _figures_json(out.figures),
        "latencies": {k: [round(v, 6) for v in vals] for k, vals in out.latencies.items()},
        "requests": tally.requests,
        "errors": tally.errors,
        "rate_limited": tally.rate_limited,
        "error_samples": tally.samples,
        "failure": out.failure,
        "valid": out.failure is None and tally.errors == 0,
        "wall_seconds": out.wall_seconds,
        "client_cpu_seconds": client_cpu,
        "rss_mib": rss,
    }


@dataclass(frozen=True)
class Plan:
    """What one invocation runs."""

    kinds: list[str]
    scale: Scale
    root: Path
    names: list[str]
    log: Callable[[str], None] = print
    profile: tuple[str, ...] = ()
    profile_dir: Path | None = None


async def run_database(db: str, plan: Plan) -> dict[str, Any]:
    """Start the servers on one database, run the workloads, stop them."""
    kinds, scale, names, log = plan.kinds, plan.scale, plan.names, plan.log
    servers: dict[str, Server] = {k: make_server(k, db, plan.root) for k in kinds}
    profilers: dict[str, Profiler] = {}
    results: dict[str, Any] = {k: {"workloads": {}, "cost": {}} for k in kinds}
    samplers: dict[str, CostSampler] = {}
    contexts: dict[str, Context] = {}
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    http = aiohttp.ClientSession(connector=connector)
    try:
        for kind, server in servers.items():
            log(f"[{db}] starting {kind} on port {server.port}")
            start = time.perf_counter()
            try:
                await server.start()
            except Exception as exc:  # reported; the other server goes on
                results[kind]["start_failure"] = f"{type(exc).__name__}: {exc}"
                log(f"[{db}] {kind} failed to start: {exc}")
                continue
            results[kind]["version"] = server.version
            results[kind]["startup_seconds"] = time.perf_counter() - start
            assert server.process is not None
            samplers[kind] = CostSampler(server.process.pid, interval=0.5)
            samplers[kind].start()
            if kind in plan.profile and plan.profile_dir is not None:
                svg = plan.profile_dir / f"profile-{kind}-{db}.svg"
                profilers[kind] = Profiler(server.process.pid, svg)
            tally = Tally()
            contexts[kind] = Context(kind, Client(server.base_url, http, tally), tally, scale)
            contexts[kind].state["push_gateway_url"] = server.push_gateway_url
            contexts[kind].state["server_pid"] = server.process.pid
        for kind, sampler in samplers.items():
            sampler.sample()
            results[kind]["cost"]["startup RSS"] = sampler.last_rss_kib / 1024
        live = [k for k in kinds if k in contexts]
        for index, name in enumerate(names):
            order = live if index % 2 == 0 else list(reversed(live))
            for kind in order:
                log(f"[{db}] {name} on {kind} ...")
                res = await _run_workload(contexts[kind], WORKLOADS[name], samplers[kind])
                results[kind]["workloads"][name] = res
                status = (
                    "ok"
                    if res["valid"]
                    else f"FAILED {res['failure'] or ''} errors={res['errors']}"
                )
                log(f"[{db}] {name} on {kind}: {res['wall_seconds']:.1f}s {status}")
        for kind, sampler in samplers.items():
            await sampler.stop()
            results[kind]["cost"].update(
                {
                    "peak RSS": sampler.peak_rss_kib / 1024,
                    "final RSS": sampler.last_rss_kib / 1024,
                    "CPU seconds": sampler.cpu_seconds,
                }
            )
        for kind, profiler in profilers.items():
            results[kind]["profile"] = str(profiler.stop())
    finally:
        for profiler in profilers.values():
            profiler.stop()
        await http.close()
        for sampler in samplers.values():
            await sampler.stop()
        for server in servers.values():
            server.stop()
    return results


def run_all(dbs: list[str], plan: Plan) -> dict[str, Any]:
    """Every database in turn; one event loop per database."""
    return {db: asyncio.run(run_database(db, plan)) for db in dbs}
