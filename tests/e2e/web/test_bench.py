"""web/bench runs to the end at a tiny scale (a smoke test: no figure is judged).

Once on a stand-in client (tests/e2e/web/standin: a login form, a room list, a
scrollable history; enough for every hook of the bench), so the script is
checked even before the real client exists, and once on the real build.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.jssdk.jsclient import require_node
from tests.e2e.web.conftest import require_web_build
from tests.e2e.web.webdriver import REPO, require_chromium, require_playwright

pytestmark = pytest.mark.e2e

BENCH = REPO / "web" / "bench" / "bench.mjs"
STANDIN = Path(__file__).with_name("standin")
FIGURES = (
    "jsBeforeLoginGzipKB",
    "loginVisibleMs",
    "reloadInteractiveMs",
    "roomSwitchMedianMs",
    "heapAfterScrollBackMB",
)


def run_bench(tmp_path: Path, dist: Path, catalogue: Path | None = None) -> tuple[dict, str]:
    require_chromium()
    require_playwright()
    docs = tmp_path / "performance.md"
    docs.write_text("# Perf\n\n<!-- web-bench:start -->\nold\n<!-- web-bench:end -->\nafter\n")
    out = tmp_path / "results.json"
    args = ["--rooms", "4", "--messages", "150", "--switches", "2", "--dist", str(dist)]
    args += ["--json", str(out), "--write-docs", "--docs-file", str(docs)]
    run = subprocess.run(
        [str(require_node()), str(BENCH), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        # The stand-in has no strings: its login shows no encryption set-up.
        env={**os.environ, **({"SCEAU_WEB_I18N": str(catalogue)} if catalogue else {})},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return json.loads(out.read_text()), docs.read_text()


def check_results(results: dict, docs: str) -> None:
    assert results["rooms"] == 4 and results["messages"] == 150
    for figure in FIGURES:
        assert isinstance(results[figure], (int, float)) and results[figure] > 0, figure
    assert results["jsBeforeLoginFiles"] >= 1
    assert results["scrollBackSteps"] >= 1  # the history did not fit on one screen
    assert "old" not in docs and docs.endswith("<!-- web-bench:end -->\nafter\n")
    assert "| Room switch (median) |" in docs and "4 rooms, 150 messages" in docs


def test_the_bench_runs_on_a_stand_in_client(tmp_path: Path):
    results, docs = run_bench(tmp_path, STANDIN, STANDIN / "fr.json")
    check_results(results, docs)


def test_the_bench_runs_on_the_real_client(tmp_path: Path):
    results, docs = run_bench(tmp_path, require_web_build())
    check_results(results, docs)
    # The crypto WASM is loaded after login, never for the login screen.
    assert results["wasmBeforeLogin"] is False
