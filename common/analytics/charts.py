"""Inline SVG charts drawn in Python, so the report is one file that opens anywhere, offline, with no script.

The markup is also well-formed XML (every element closed, all text escaped), which lets tests parse it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 24, 28, 32
"""RIGHT leaves room for half of a date label centred on a line chart's last point."""
PALETTE = ("#4c78a8", "#e45756", "#54a24b", "#f58518", "#b279a2", "#72b7b2")
_X_LABELS = 6


def bar_chart(labels: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str) -> str:
    """Bars stacked per label, one colour per series (in the order given)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = _nice_ceiling(max(totals, default=0))
    slot = _plot_width() / max(len(labels), 1)
    bars = []
    for i in range(len(labels)):
        base = 0.0
        for k, (name, values) in enumerate(series.items()):
            if values[i]:
                y0, y1 = _y(base, top), _y(base + values[i], top)
                bars.append(
                    f'<rect x="{LEFT + i * slot + slot * 0.1:.1f}" y="{y1:.1f}" width="{slot * 0.8:.1f}"'
                    f' height="{y0 - y1:.1f}" fill="{_colour(k)}"><title>{escape(labels[i])} {escape(name)}:'
                    f" {_number(values[i])}</title></rect>"
                )
            base += values[i]
    xs = [LEFT + (i + 0.5) * slot for i in range(len(labels))]
    return _frame(title, labels, xs, top, series, "".join(bars))


def line_chart(labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *, title: str) -> str:
    """One line per series; a None value breaks the line (a day without data is not a zero)."""
    top = _nice_ceiling(max((v for values in series.values() for v in values if v is not None), default=0))
    step = _plot_width() / max(len(labels) - 1, 1)
    marks = []
    for k, values in enumerate(series.values()):
        colour = _colour(k)
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append((LEFT + i * step, _y(value, top)))
        for run in filter(None, runs):
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            marks.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
            marks.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in run)
    return _frame(title, labels, [LEFT + i * step for i in range(len(labels))], top, series, "".join(marks))


def _frame(
    title: str,
    labels: Sequence[str],
    xs: Sequence[float],
    top: float,
    series: Mapping[str, object],
    body: str,
) -> str:
    """Axes, grid, legend and x labels (at most `_X_LABELS` of them) around a chart's marks."""
    grid = "".join(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_y(v, top):.1f}" y2="{_y(v, top):.1f}" stroke="#ddd"/>'
        f'<text x="{LEFT - 6}" y="{_y(v, top) + 4:.1f}" text-anchor="end">{_number(v)}</text>'
        for v in (0.0, top / 2, top)
    )
    every = max(math.ceil(len(labels) / _X_LABELS), 1)
    ticks = "".join(
        f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{escape(label)}</text>'
        for i, (label, x) in enumerate(zip(labels, xs, strict=True))
        if i % every == 0
    )
    legend = "".join(
        f'<rect x="{LEFT + k * 150}" y="6" width="10" height="10" fill="{_colour(k)}"/>'
        f'<text x="{LEFT + k * 150 + 14}" y="15">{escape(name)}</text>'
        for k, name in enumerate(series)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}"'
        f' height="{HEIGHT}" role="img" aria-label="{escape(title)}" font-size="11" font-family="sans-serif">'
        f"<title>{escape(title)}</title>{grid}{legend}{body}{ticks}</svg>"
    )


def _colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def _plot_width() -> float:
    return float(WIDTH - LEFT - RIGHT)


def _y(value: float, top: float) -> float:
    return HEIGHT - BOTTOM - (value / top) * (HEIGHT - TOP - BOTTOM)


def _nice_ceiling(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
