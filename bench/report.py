"""Turn results into a side-by-side markdown table and a latency chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

COST_UNITS = {"startup RSS": "MiB", "peak RSS": "MiB", "final RSS": "MiB", "CPU seconds": "s"}


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cell(run: dict[str, Any] | None, workload: str, figure: str) -> tuple[str, float | None]:
    """The printed cell and the usable value (None when not a valid figure)."""
    if run is None:
        return "—", None
    if "start_failure" in run:
        return "not started", None
    res = run["workloads"].get(workload)
    if res is None or figure not in res["figures"]:
        return ("failed" if res and res["failure"] else "—"), None
    value = float(res["figures"][figure]["value"])
    if not res["valid"]:
        return f"~~{_fmt(value)}~~ invalid", None
    return _fmt(value), value


def _ratio(sceau: float | None, synapse: float | None, higher_better: bool) -> str:
    if sceau is None or synapse is None or synapse == 0 or math.isnan(sceau + synapse):
        return "—"
    ratio = sceau / synapse
    wins = ratio >= 1 if higher_better else ratio <= 1
    return f"{ratio:.2f}{' ✓' if wins else ' ✗'}"


def _status(run: dict[str, Any] | None, workload: str) -> str:
    if run is None:
        return "—"
    if "start_failure" in run:
        return "not started"
    res = run["workloads"].get(workload)
    if res is None:
        return "—"
    if res["valid"]:
        return "ok"
    parts = []
    if res["errors"]:
        parts.append(f"{res['errors']} errors")
    if res["rate_limited"]:
        parts.append(f"{res['rate_limited']}x429")
    if res["failure"]:
        parts.append("failed")
    return ", ".join(parts)


def _workload_peak(run: dict[str, Any] | None, workload: str) -> float | None:
    """The server's peak RSS while one workload ran (runs from before it was kept: None)."""
    res = (run or {}).get("workloads", {}).get(workload) or {}
    peak = (res.get("rss_mib") or {}).get("peak")
    return float(peak) if peak is not None else None


def database_table(db: str, runs: dict[str, Any], workloads: list[str]) -> list[str]:
    """Markdown lines comparing the servers on one database."""
    sceau, synapse = runs.get("sceau"), runs.get("synapse")
    lines = [
        f"### {db}",
        "",
        "| workload | figure | unit | Sceau | Synapse | Sceau/Synapse |",
        "|---|---|---|---:|---:|---:|",
    ]
    for workload in workloads:
        names: dict[str, dict[str, Any]] = {}
        for run in (sceau, synapse):
            res = (run or {}).get("workloads", {}).get(workload)
            if res:
                for name, fig in res["figures"].items():
                    names.setdefault(name, fig)
        lines.append(
            f"| **{workload}** | status | | {_status(sceau, workload)} | "
            f"{_status(synapse, workload)} | |"
        )
        for name, fig in names.items():
            a, av = _cell(sceau, workload, name)
            b, bv = _cell(synapse, workload, name)
            arrow = "↑" if fig["higher_is_better"] else "↓"
            lines.append(
                f"| {workload} | {name} {arrow} | {fig['unit']} | {a} | {b} | "
                f"{_ratio(av, bv, fig['higher_is_better'])} |"
            )
        peaks = [_workload_peak(run, workload) for run in (sceau, synapse)]
        if any(p is not None for p in peaks):
            cells = " | ".join(_fmt(p) if p is not None else "—" for p in peaks)
            lines.append(f"| {workload} | peak RSS ↓ | MiB | {cells} | {_ratio(*peaks, False)} |")
    for name, unit in COST_UNITS.items():
        av = (sceau or {}).get("cost", {}).get(name)
        bv = (synapse or {}).get("cost", {}).get(name)
        lines.append(
            f"| server cost | {name} ↓ | {unit} | {_fmt(av) if av is not None else '—'} | "
            f"{_fmt(bv) if bv is not None else '—'} | {_ratio(av, bv, False)} |"
        )
    failures = []
    for kind, run in runs.items():
        if "start_failure" in run:
            failures.append(f"- {kind} did not start: {run['start_failure']}")
        for workload, res in run.get("workloads", {}).items():
            if res["failure"]:
                failures.append(f"- {kind} / {workload}: {res['failure']}")
            for sample in res["error_samples"]:
                failures.append(f"- {kind} / {workload}: {sample}")
    if failures:
        lines += ["", "Errors and failures:", "", *(f.replace("|", "\\|") for f in failures)]
    return [*lines, ""]


def markdown(data: dict[str, Any], workloads: list[str]) -> str:
    """The whole report: machine facts, then one table per database."""
    meta = data["meta"]
    lines = [
        f"## Sceau vs Synapse, scale `{meta['scale']}`, {meta['started']}",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"- Machine: {meta['machine']['cores']} cores ({meta['machine']['cpu']}), "
        f"{meta['machine']['memory_gib']:.0f} GiB RAM, Linux {meta['machine']['kernel']}",
        f"- Python {meta['machine']['python']}",
        f"- Sceau {meta['versions'].get('sceau', '?')}; "
        f"Synapse {meta['versions'].get('synapse', '?')}",
        "- ↓ lower is better, ↑ higher is better; ✓ marks a figure where Sceau is "
        "at least as good. A struck-out figure was measured while errors or 429s "
        "happened and does not count.",
        "",
    ]
    if meta.get("synapse_from"):
        lines += [f"Synapse's figures are those of an earlier run: {meta['synapse_from']}.", ""]
    if meta.get("profiled"):
        lines += [
            f"**Profiled run ({', '.join(meta['profiled'])} under py-spy): not a comparison.**",
            "",
        ]
    for db, runs in data["runs"].items():
        lines += database_table(db, runs, workloads)
    return "\n".join(lines)


def chart(data: dict[str, Any], path: Path) -> Path | None:
    """Box plots (log scale) of every latency distribution, per database."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return None
    # One panel per latency, one box per (server, database) pair.
    panels: dict[str, dict[str, list[float]]] = {}
    for db, runs in data["runs"].items():
        for kind, run in runs.items():
            for res in run.get("workloads", {}).values():
                for label, samples in res["latencies"].items():
                    if samples:
                        panels.setdefault(label, {})[f"{kind}\n{db}"] = samples
    if not panels:
        return None
    cols = 4
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    colours = {"sceau": "#2a9d8f", "synapse": "#e76f51"}
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for ax, (label, by_box) in zip(axes.flat, panels.items(), strict=False):
        names = list(by_box)
        box = ax.boxplot(
            [[v * 1000 for v in by_box[n]] for n in names],
            whis=(1, 99),
            showfliers=False,
            patch_artist=True,
        )
        ax.set_xticks(range(1, len(names) + 1), names, fontsize=7)
        for patch, name in zip(box["boxes"], names, strict=True):
            patch.set_facecolor(colours.get(name.split("\n")[0], "grey"))
            if name.endswith("postgresql"):
                patch.set_hatch("//")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_title(label, fontsize=10)
        ax.set_ylabel("ms")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle("Latency distributions (box: p25-p75, whiskers: p1-p99)")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
