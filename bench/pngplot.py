"""A small line chart drawn with Pillow (a runtime dependency), for benches run without matplotlib.

Only what the bench's curves need: several series of (x, y) points, a linear
x axis, a logarithmic y axis, one dashed threshold line and a legend.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 960, 600
LEFT, RIGHT, TOP, BOTTOM = 90, 30, 60, 70
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


@dataclass
class Series:
    """One curve: its legend, its points, and how it is drawn."""

    label: str
    points: list[tuple[float, float]]
    color: str
    dashed: bool = False


def _dashed(
    draw: ImageDraw.ImageDraw, a: tuple[float, float], b: tuple[float, float], **kw: object
) -> None:
    """A dashed segment (Pillow draws only solid ones)."""
    length = math.dist(a, b)
    steps = max(1, int(length // 8))
    for i in range(0, steps, 2):
        t0, t1 = i / steps, min(1.0, (i + 1) / steps)
        p0 = (a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0)
        p1 = (a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1)
        draw.line([p0, p1], **kw)  # type: ignore[arg-type]


def _log_ticks(low: float, high: float) -> list[float]:
    """1, 2, 5 times the powers of ten between low and high."""
    ticks = []
    for power in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**power
            if low <= value <= high:
                ticks.append(value)
    return ticks


def _label(value: float) -> str:
    return f"{value:g}" if value < 1e4 else f"{value / 1000:g}k"


def line_chart(
    path: Path,
    series: list[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    threshold: tuple[float, str] | None = None,
    note: str = "",
) -> None:
    """Write a PNG of ``series`` (y on a log scale) to ``path``."""
    xs = [x for s in series for x, _ in s.points] or [0.0, 1.0]
    ys = [y for s in series for _, y in s.points if y > 0] or [1.0]
    if threshold:
        ys.append(threshold[0])
    x_low, x_high = 0.0, max(xs) * 1.05
    y_low = 10 ** math.floor(math.log10(min(ys)))
    y_high = 10 ** math.ceil(math.log10(max(ys) * 1.01))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def at(x: float, y: float) -> tuple[float, float]:
        fx = (x - x_low) / (x_high - x_low)
        fy = (math.log10(max(y, y_low)) - math.log10(y_low)) / (
            math.log10(y_high) - math.log10(y_low)
        )
        return LEFT + fx * plot_w, TOP + (1 - fy) * plot_h

    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    big = ImageFont.load_default(size=18)
    draw.text((LEFT, 18), title, fill="black", font=big)
    for tick in _log_ticks(y_low, y_high):
        _, y = at(x_low, tick)
        draw.line([(LEFT, y), (WIDTH - RIGHT, y)], fill="#e6e6e6")
        draw.text((LEFT - 8, y), _label(tick), fill="black", font=font, anchor="rm")
    step = _x_step(x_high)
    tick_x = 0.0
    while tick_x <= x_high:
        x, _ = at(tick_x, y_low)
        draw.line([(x, TOP), (x, HEIGHT - BOTTOM)], fill="#f0f0f0")
        draw.text((x, HEIGHT - BOTTOM + 8), _label(tick_x), fill="black", font=font, anchor="mt")
        tick_x += step
    draw.rectangle([LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM], outline="black")
    draw.text((LEFT + plot_w / 2, HEIGHT - 28), x_label, fill="black", font=font, anchor="mm")
    draw.text((16, TOP + plot_h / 2), y_label, fill="black", font=font, anchor="lm")
    if threshold:
        value, text = threshold
        a, b = at(x_low, value), at(x_high, value)
        _dashed(draw, a, b, fill="#555555", width=1)
        draw.text((b[0] - 6, a[1] - 4), text, fill="#555555", font=font, anchor="rb")
    for s in series:
        points = [at(x, y) for x, y in sorted(s.points)]
        for a, b in itertools.pairwise(points):
            if s.dashed:
                _dashed(draw, a, b, fill=s.color, width=2)
            else:
                draw.line([a, b], fill=s.color, width=3)
        for x, y in points:
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=s.color)
    _legend(draw, series, font)
    if note:
        draw.text((LEFT, 42), note, fill="#444444", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)


def _x_step(high: float) -> float:
    """A round tick interval giving about eight ticks."""
    raw = high / 8
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _legend(draw: ImageDraw.ImageDraw, series: list[Series], font: ImageFont.FreeTypeFont) -> None:
    x, y = LEFT + 14, TOP + 12
    for s in series:
        if s.dashed:
            _dashed(draw, (x, y + 7), (x + 34, y + 7), fill=s.color, width=2)
        else:
            draw.line([(x, y + 7), (x + 34, y + 7)], fill=s.color, width=3)
        draw.text((x + 42, y), s.label, fill="black", font=font)
        y += 20
