"""The benchmark still runs end to end against Sceau (tiny scale, SQLite).

No timing is asserted: the smoke test only proves that every workload completes
with zero errors, so the benchmark cannot silently rot as the server changes.
A few cheap checks of the bench's own arithmetic and reporting come first.
"""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a folder of the checkout, not an installed package
    sys.path.insert(0, str(REPO))

from bench.__main__ import _reused_synapse  # noqa: E402
from bench.model import percentile  # noqa: E402
from bench.procstat import tree_cost  # noqa: E402
from bench.report import markdown  # noqa: E402

WORKLOADS = {
    "registration",
    "rooms",
    "send",
    "messages",
    "fanout",
    "initial_sync",
    "e2ee",
    "push",
    "longpoll",
}


def test_percentile_uses_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile([3.0], 95) == 3.0


def test_cost_of_own_process_tree_is_read_from_proc() -> None:
    cpu, rss_kib = tree_cost(os.getpid())
    assert cpu > 0
    assert rss_kib > 1024


def _run(valid: bool, send_rate: float) -> dict:
    workload = {
        "figures": {"messages/s": {"value": send_rate, "unit": "msgs/s", "higher_is_better": True}},
        "latencies": {},
        "requests": 10,
        "errors": 0 if valid else 3,
        "rate_limited": 0 if valid else 1,
        "error_samples": [] if valid else ["PUT /send -> 429"],
        "failure": None,
        "valid": valid,
    }
    return {"workloads": {"send": workload}, "cost": {"peak RSS": 100.0}}


def _report(sceau_valid: bool) -> str:
    data = {
        "meta": {
            "scale": "tiny",
            "command": "x",
            "started": "now",
            "versions": {},
            "machine": {"cores": 2, "cpu": "c", "memory_gib": 1, "kernel": "k", "python": "3"},
        },
        "runs": {"sqlite": {"sceau": _run(sceau_valid, 500.0), "synapse": _run(True, 100.0)}},
    }
    return markdown(data, ["send"])


def test_table_gives_sceau_over_synapse_ratio_and_marks_the_winner() -> None:
    row = next(line for line in _report(True).splitlines() if "messages/s" in line)
    assert "5.00 ✓" in row


def test_figure_measured_with_errors_is_struck_out_and_has_no_ratio() -> None:
    report = _report(False)
    row = next(line for line in report.splitlines() if "messages/s" in line)
    assert "~~500~~ invalid" in row
    assert row.rstrip().endswith("| — |")
    assert "3 errors, 1x429" in report


def test_each_workload_gets_a_peak_rss_row_when_the_run_kept_it() -> None:
    sceau, synapse = _run(True, 500.0), _run(True, 100.0)
    sceau["workloads"]["send"]["rss_mib"] = {"peak": 40.0, "after": 30.0}
    synapse["workloads"]["send"]["rss_mib"] = {"peak": 160.0, "after": 150.0}
    data = {
        "meta": {
            "scale": "tiny",
            "command": "x",
            "started": "now",
            "versions": {},
            "machine": {"cores": 2, "cpu": "c", "memory_gib": 1, "kernel": "k", "python": "3"},
        },
        "runs": {"sqlite": {"sceau": sceau, "synapse": synapse}},
    }
    row = next(
        line for line in markdown(data, ["send"]).splitlines() if "| send | peak RSS" in line
    )
    assert "| 40.0 | 160 | 0.25 ✓ |" in row
    assert "| send | peak RSS" not in _report(True)


def test_synapse_side_is_reused_only_from_a_run_of_the_same_scale_with_each_database(
    tmp_path: Path,
) -> None:
    earlier = tmp_path / "results.json"
    runs = {"sqlite": {"synapse": _run(True, 100.0)}}
    earlier.write_text(json.dumps({"meta": {"scale": "large", "started": "t"}, "runs": runs}))
    assert _reused_synapse(earlier, "large", ["sqlite"])["runs"]["sqlite"]["synapse"]
    with pytest.raises(SystemExit, match="scale large, not small"):
        _reused_synapse(earlier, "small", ["sqlite"])
    with pytest.raises(SystemExit, match="no Synapse run on postgresql"):
        _reused_synapse(earlier, "large", ["sqlite", "postgresql"])


@pytest.mark.e2e
def test_every_bench_workload_completes_without_errors_on_sceau(tmp_path: Path) -> None:
    try:
        importlib.import_module("sceau.homeserver")
    except ImportError as exc:
        pytest.fail(f"sceau cannot be imported ({exc}); the bench smoke test needs it")
    proc = subprocess.run(
        [
            sys.executable, "-m", "bench", "--scale", "tiny", "--db", "sqlite",
            "--only", "sceau", "--no-chart", "--out", str(tmp_path),
        ],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    results = list(tmp_path.glob("*/results.json"))
    assert results, f"no results written\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    run = json.loads(results[0].read_text())["runs"]["sqlite"]["sceau"]
    assert "start_failure" not in run, run.get("start_failure")
    assert set(run["workloads"]) == WORKLOADS
    problems = {
        name: (w["failure"], w["errors"], w["error_samples"])
        for name, w in run["workloads"].items()
        if not w["valid"] or w["errors"] or w["rate_limited"]
    }
    assert problems == {}, proc.stdout[:3000]
    assert all(w["requests"] > 0 for w in run["workloads"].values())
    assert run["cost"]["peak RSS"] > 0
    assert proc.returncode == 0
