"""The workers bench's own arithmetic and drawing, without starting a deployment."""

import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a folder of the checkout, not an installed package
    sys.path.insert(0, str(REPO))

from bench.workers import capacity, draw, table  # noqa: E402


def _run(p50: float, p99: float, failure: str | None = None) -> dict:
    figures = {
        "delivery p50": p50,
        "delivery p99": p99,
        "delivery max": p99 * 2,
        "deliveries beyond the timeline": 0.0,
        "deliveries lost (not flagged limited)": 0.0,
    }
    return {
        "figures": {name: {"value": value} for name, value in figures.items()},
        "cpu_seconds": {"main": 1.0, "writer": 2.0, "sync1": 5.0, "postgres": 1.0, "redis": 0.1},
        "wall_seconds": 10.0,
        "sync_workers": ["sync1"],
        "failure": failure,
    }


def _data() -> dict:
    return {
        "meta": {
            "rate": 2.0,
            "seconds": 10.0,
            "started": "now",
            "load_before": 1.0,
            "machine": {"cores": 2},
        },
        "runs": {
            "1": {"100": _run(20, 200), "500": _run(300, 1800)},
            "2": {"100": _run(15, 100), "500": _run(40, 400)},
        },
    }


def test_capacity_is_interpolated_where_p99_crosses_one_second() -> None:
    assert capacity(_data()["runs"]["1"]) == 100 + 400 * (800 / 1600)


def test_capacity_is_unknown_while_p99_stays_under_one_second() -> None:
    assert capacity(_data()["runs"]["2"]) is None


def test_a_failed_run_counts_as_saturated() -> None:
    runs = {"100": _run(20, 200), "250": _run(0, 0, failure="RuntimeError: lost")}
    assert capacity(runs) == 100
    assert "saturated" not in table({**_data(), "runs": {"1": runs}})


def test_table_gives_cpu_as_a_share_of_a_core_and_the_sync_cost_per_delivery() -> None:
    text = table(_data())
    row = next(line for line in text.splitlines() if line.startswith("| 1 | 100 |"))
    # sync1: 5 s over 10 s = 50 %; 5 s over 100 receivers x 20 messages = 2,500 µs.
    assert "| 50 |" in row
    assert row.rstrip().endswith("| 2500 |")
    assert "p99 crosses 1 s at N ≈ 300" in text


def test_chart_is_written_as_a_png(tmp_path: Path) -> None:
    path = tmp_path / "capacity.png"
    draw(_data(), path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] > 500
