"""``python -m bench``: Sceau and Synapse side by side on identical workloads.

    .venv/bin/python -m bench --scale small --db both

Results go to ``bench/results/<time>-<scale>/``: results.json (every figure and
raw latency), results.md (the table printed at the end) and latency.png.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench.model import SCALES
from bench.report import chart, markdown
from bench.runner import WORKLOADS, Plan, run_all
from bench.servers import REPO

REQUIREMENTS = Path(__file__).with_name("requirements.txt")
DOCS = REPO / "docs" / "performance.md"


def ensure_chart_dependency() -> None:
    """Install the bench's optional dependencies (matplotlib) when missing."""
    if importlib.util.find_spec("matplotlib") is not None:
        return
    print("bench: installing", REQUIREMENTS.name, "into", sys.prefix)
    code = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)])
    if code.returncode != 0:
        print("bench: matplotlib unavailable; the chart will be skipped")


def machine_facts() -> dict[str, Any]:
    """Cores, CPU model, memory, kernel and Python of the machine running both."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def update_docs(table: str, png: Path | None) -> None:
    """Replace the latest-results section of docs/performance.md."""
    start, end = "<!-- bench:latest -->", "<!-- /bench:latest -->"
    text = DOCS.read_text()
    if start not in text or end not in text:
        print("bench: docs/performance.md has no latest-results markers; not updated")
        return
    body = table.replace("\n### ", "\n#### ").replace("## Sceau vs", "### Sceau vs", 1)
    if png is not None:
        rel = os.path.relpath(png, DOCS.parent)
        body += f"\n\n![latency distributions]({rel})\n"
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    DOCS.write_text(f"{head}{start}\n{body}\n{end}{tail}")
    print(f"docs:    {DOCS}")


def _reused_synapse(path: Path, scale: str, dbs: list[str]) -> dict[str, Any]:
    """An earlier run's results holding Synapse's side for every database asked."""
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    if data["meta"]["scale"] != scale:
        raise SystemExit(f"bench: {path} is scale {data['meta']['scale']}, not {scale}")
    for db in dbs:
        if "synapse" not in data["runs"].get(db, {}):
            raise SystemExit(f"bench: {path} has no Synapse run on {db}")
    return data


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", choices=["sceau", "synapse"], default=None)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help="comma-separated subset (registration always runs: it builds the user pool)",
    )
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    parser.add_argument(
        "--profile",
        choices=["sceau", "synapse", "both"],
        help="record a py-spy flame graph of that server (figures then not comparable)",
    )
    parser.add_argument(
        "--render", type=Path, help="only re-render the table and chart of a results.json"
    )
    parser.add_argument(
        "--docs", action="store_true", help="also put the table into docs/performance.md"
    )
    parser.add_argument(
        "--synapse-from",
        type=Path,
        help="run Sceau only and take Synapse's side from this earlier results.json "
        "(same scale, databases and workloads): saves Synapse's hour of CPU",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace, argv: list[str] | None) -> tuple[dict[str, Any], Path]:
    """Run the servers and workloads; return the results and their folder."""
    names = [n for n in WORKLOADS if n in args.workloads.split(",") or n == "registration"]
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    kinds = [args.only] if args.only else ["sceau", "synapse"]
    reused = _reused_synapse(args.synapse_from, args.scale, dbs) if args.synapse_from else None
    if reused is not None:
        kinds = ["sceau"]
    started = datetime.datetime.now(datetime.UTC)
    command = " ".join([".venv/bin/python -m bench", *map(shlex.quote, argv or sys.argv[1:])])
    out = args.out / f"{started:%Y%m%d-%H%M%S}-{args.scale}"
    out.mkdir(parents=True, exist_ok=True)
    profile = tuple(kinds) if args.profile == "both" else ((args.profile,) if args.profile else ())
    with tempfile.TemporaryDirectory(prefix="sceau-bench-") as tmp:
        plan = Plan(kinds, SCALES[args.scale], Path(tmp), names, print, profile, out)
        runs = run_all(dbs, plan)
    if reused is not None:
        for db in dbs:
            runs[db]["synapse"] = reused["runs"][db]["synapse"]
    versions = {k: r.get("version", "?") for runs_db in runs.values() for k, r in runs_db.items()}
    data = {
        "meta": {
            "scale": args.scale,
            "scale_parameters": SCALES[args.scale].__dict__,
            "command": command,
            "started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_facts(),
            "versions": versions,
            "workloads": names,
            "profiled": list(profile),
            "synapse_from": (
                f"{args.synapse_from} ({reused['meta']['started']})" if reused else None
            ),
        },
        "runs": runs,
    }
    (out / "results.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    return data, out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.no_chart:
        ensure_chart_dependency()
    if args.render is not None:
        data, out = orjson.loads(args.render.read_bytes()), args.render.parent
    else:
        data, out = run(args, argv)
    table = markdown(data, data["meta"]["workloads"])
    (out / "results.md").write_text(table)
    png = None if args.no_chart else chart(data, out / "latency.png")
    print()
    print(table)
    print(f"results: {out / 'results.json'}")
    print(f"table:   {out / 'results.md'}")
    print(f"chart:   {png or 'skipped'}")
    if args.docs:
        update_docs(table, png)
    all_valid = all(
        "start_failure" not in run and all(w["valid"] for w in run["workloads"].values())
        for runs_db in data["runs"].values()
        for run in runs_db.values()
    )
    return 0 if all_valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
