"""The benchmark still runs end to end against Sceau (tiny scale, SQLite).

No timing is asserted: this test only proves that every workload completes
with zero errors, so the benchmark cannot silently rot as the server changes.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "sceau.homeserver", reason="sceau cannot be imported yet; the bench smoke test needs it"
)

REPO = Path(__file__).resolve().parents[2]
WORKLOADS = {"registration", "rooms", "send", "messages", "fanout", "initial_sync", "e2ee"}


@pytest.mark.e2e
def test_every_bench_workload_completes_without_errors_on_sceau(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--scale",
            "tiny",
            "--db",
            "sqlite",
            "--only",
            "sceau",
            "--no-chart",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
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
