"""Server-drawn charts: the geometry of an SVG bar-and-line chart, rendered by a template.

No chart library and no script (the CSP allows neither inline script nor other origins): the
page gets plain SVG shapes, and the same numbers as a table for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from voucherd.services.reports import DailySeries
from voucherd.web.formats import Formats

WIDTH: Final = 720
HEIGHT: Final = 240
LEFT: Final = 72  # room for the value axis labels
BOTTOM: Final = 28  # room for the day labels
TOP: Final = 10
RIGHT: Final = 28  # room for half of the last day label
TICKS: Final = 4


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class DayLabel:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Rows:
    day: str
    issued: str
    redeemed: str


@dataclass(frozen=True, slots=True)
class Chart:
    currency: str
    width: int
    height: int
    left: int
    right: int  # where the plot ends (x)
    bottom: float
    bars: list[Bar]
    line: str  # the redeemed polyline's points
    dots: list[Bar]  # the line's points with their titles (x, y; width/height unused)
    ticks: list[Tick]
    days: list[DayLabel]
    rows: list[Rows]
    issued_total: str
    redeemed_total: str


def _step(top: int) -> int:
    """A round axis step so that TICKS steps reach at least ``top`` (1, 2, 2.5, 5 x 10^n)."""
    raw = max(top, 1) / TICKS
    magnitude = 1
    while magnitude * 10 <= raw:
        magnitude *= 10
    quarter = [magnitude * 5 // 2] if magnitude >= 10 else []  # 2.5 only where it is whole
    for step in (magnitude, 2 * magnitude, *quarter, 5 * magnitude):
        if step >= raw:
            return step
    return 10 * magnitude


def _day(day: date, fmt: Formats) -> str:
    return fmt.day(day)


def chart(series: DailySeries, fmt: Formats) -> Chart:
    count = len(series.days)
    step = _step(max([*series.issued, *series.redeemed, 0]))
    top = step * TICKS
    plot_h = HEIGHT - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(count, 1)
    base = TOP + plot_h

    def y(amount: int) -> float:
        return round(base - plot_h * amount / top, 2)

    def money(amount: int) -> str:
        return fmt.money(amount, series.currency)

    bars = []
    points = []
    dots = []
    for n, day in enumerate(series.days):
        x = LEFT + n * slot
        issued, redeemed = series.issued[n], series.redeemed[n]
        label = _day(day, fmt)
        if issued:
            bars.append(
                Bar(
                    round(x + slot * 0.15, 2),
                    y(issued),
                    round(slot * 0.7, 2),
                    round(base - y(issued), 2),
                    f"{label}: issued {money(issued)}",
                )
            )
        cx = round(x + slot / 2, 2)
        points.append(f"{cx},{y(redeemed)}")
        dots.append(Bar(cx, y(redeemed), 0, 0, f"{label}: redeemed {money(redeemed)}"))
    every = max(1, count // 6)
    days = [
        DayLabel(round(LEFT + n * slot + slot / 2, 2), _day(d, fmt))
        for n, d in enumerate(series.days)
        if (count - 1 - n) % every == 0
    ]
    ticks = [Tick(y(step * k), money(step * k)) for k in range(TICKS + 1)]
    rows = [
        Rows(_day(d, fmt), money(i), money(r))
        for d, i, r in zip(series.days, series.issued, series.redeemed, strict=True)
        if i or r
    ]
    return Chart(
        series.currency,
        WIDTH,
        HEIGHT,
        LEFT,
        WIDTH - RIGHT,
        base,
        bars,
        " ".join(points),
        dots,
        ticks,
        days,
        rows,
        money(sum(series.issued)),
        money(sum(series.redeemed)),
    )
