"""The access line's timestamp is what ``datetime.isoformat`` gives, cached per second or not."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from voucherd.logs import utc_stamp


def _reference(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_the_stamp_is_isoformat_in_milliseconds(created: float) -> None:
    assert utc_stamp(created) == _reference(created)


def test_the_stamp_at_a_second_boundary_and_after_the_cache() -> None:
    for created in (1_764_489_600.0, 1_764_489_600.9999996, 1_764_489_599.9995, 1_764_489_600.001):
        assert utc_stamp(created) == _reference(created)
        assert utc_stamp(created) == _reference(created)  # the second is cached now
