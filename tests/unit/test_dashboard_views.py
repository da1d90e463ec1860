"""The extend-validity rule, the server-drawn chart's geometry and the chart's day labels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from voucherd.domain import errors
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.domain.vouchers import ValueKind, VoucherState, extend
from voucherd.services.reports import DailySeries
from voucherd.web import charts
from voucherd.web.formats import Formats

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _state(status: VoucherStatus, ends_at: datetime | None = None) -> VoucherState:
    return VoucherState(1, ValueKind.STORED_VALUE, status, "EUR", 500, ends_at=ends_at)


def test_extend_moves_the_end_later_and_keeps_the_status() -> None:
    later = NOW + timedelta(days=30)
    for status in (VoucherStatus.INACTIVE, VoucherStatus.ACTIVE, VoucherStatus.REDEEMED):
        change = extend(_state(status, NOW + timedelta(days=1)), later, NOW)
        assert change.after is status and change.fields == {"ends_at": later}
    assert extend(_state(VoucherStatus.ACTIVE), later, NOW).fields == {"ends_at": later}


def test_extend_refuses_ended_vouchers_and_earlier_ends() -> None:
    later = NOW + timedelta(days=30)
    with pytest.raises(errors.VoucherExpired):
        extend(_state(VoucherStatus.EXPIRED), later, NOW)
    with pytest.raises(errors.VoucherVoided):
        extend(_state(VoucherStatus.VOID), later, NOW)
    with pytest.raises(errors.VoucherDeleted):
        extend(_state(VoucherStatus.DELETED), later, NOW)
    # Past its end but not swept yet: expired all the same.
    with pytest.raises(errors.VoucherExpired):
        extend(_state(VoucherStatus.ACTIVE, NOW - timedelta(seconds=1)), later, NOW)
    with pytest.raises(errors.ValidationFailed, match="later than the current end"):
        extend(_state(VoucherStatus.ACTIVE, later), later, NOW)
    with pytest.raises(errors.ValidationFailed, match="future"):
        extend(_state(VoucherStatus.ACTIVE), NOW, NOW)


def test_chart_scales_bars_and_line_to_round_ticks() -> None:
    days = [date(2026, 11, 28) + timedelta(days=n) for n in range(3)]
    series = DailySeries("EUR", days, [10_000, 0, 2_500], [0, 7_000, 1_000])
    chart = charts.chart(series, Formats("en_US"))
    assert [t.label for t in chart.ticks] == ["€0.00", "€25.00", "€50.00", "€75.00", "€100.00"]
    assert len(chart.bars) == 2  # no bar for a day without issue
    full, quarter = chart.bars
    assert full.y == chart.ticks[-1].y and full.y + full.height == chart.bottom
    assert quarter.height == pytest.approx(full.height / 4)
    assert len(chart.line.split()) == 3 and chart.dots[1].title == "Nov 29: redeemed €70.00"
    assert chart.issued_total == "€125.00" and chart.redeemed_total == "€80.00"
    assert [r.day for r in chart.rows] == ["Nov 28", "Nov 29", "Nov 30"]
    empty = charts.chart(DailySeries("JPY", days, [0, 0, 0], [0, 0, 0]), Formats("de_DE"))
    assert empty.bars == [] and empty.rows == [] and empty.ticks[-1].label == "4\xa0¥"


def test_axis_steps_are_round() -> None:
    assert [charts._step(n) for n in (0, 1, 4, 5, 9, 101, 399, 401, 9_000)] == [
        1,
        1,
        1,
        2,
        5,
        50,
        100,
        200,
        2_500,
    ]


def test_day_labels_follow_the_locale() -> None:
    assert Formats("en_US").day(date(2026, 11, 3)) == "Nov 3"
    assert Formats("de_DE").day(date(2026, 11, 3)) == "3. Nov."
