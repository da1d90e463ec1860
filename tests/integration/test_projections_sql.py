"""Every vendor status: its SQL form, evaluated by the real database, equals its Python form.

Stored rows (not literals) go through the real column types on SQLite and PostgreSQL; the
windows sit on the clock's boundaries (one microsecond either side, and the instant itself).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)

from voucherd.db import projections as P
from voucherd.db.types import UtcDateTime
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.domain.vouchers import ValueKind, VoucherState

BASE = datetime(2026, 6, 1, 12, tzinfo=UTC)
TICK = timedelta(microseconds=1)
OFFSETS = (None, -timedelta(days=1), -TICK, timedelta(0), TICK, timedelta(days=1))


@pytest.fixture(scope="module")
def probe(engine: Engine) -> Iterator[Table]:
    table = Table(
        f"projection_probe_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("status", String(16), nullable=False),
        Column("starts_at", UtcDateTime),
        Column("ends_at", UtcDateTime),
        Column("holder_id", BigInteger),
        Column("uses", Integer, nullable=False),
    )
    table.create(engine)
    yield table
    table.drop(engine)


def _python(row: dict[str, Any], now: datetime) -> tuple[str, str, str, str]:
    state = VoucherState(
        id=row["id"],
        kind=ValueKind.GIFT,
        status=VoucherStatus(row["status"]),
        currency=None,
        uses=row["uses"],
        max_uses=3,
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        holder_id=row["holder_id"],
    )
    return (
        P.jtl_status(state),
        P.shopee_status(state, now),
        P.spaaza_status(state),
        P.rm_status(state, now),
    )


def _sql(engine: Engine, probe: Table, rows: list[dict[str, Any]], now: datetime) -> dict[int, Any]:
    c = probe.c
    with engine.begin() as conn:
        conn.execute(delete(probe))
        conn.execute(insert(probe), rows)
        result = conn.execute(
            select(
                c.id,
                P.jtl_status_sql(c),
                P.shopee_status_sql(c, now),
                P.spaaza_status_sql(c),
                P.rm_status_sql(c, now),
            )
        ).all()
    return {r[0]: tuple(r[1:]) for r in result}


def _row(
    id: int, status: VoucherStatus, starts: Any, ends: Any, holder: Any, uses: int, now: datetime
) -> dict[str, Any]:
    return {
        "id": id,
        "status": status.value,
        "starts_at": None if starts is None else now + starts,
        "ends_at": None if ends is None else now + ends,
        "holder_id": holder,
        "uses": uses,
    }


def test_every_status_window_holder_and_uses(engine: Engine, probe: Table) -> None:
    """The whole grid at one clock: 6 statuses x 6 starts x 6 ends x 2 holders x 3 uses."""
    grid = itertools.product(VoucherStatus, OFFSETS, OFFSETS, (None, 7), (0, 1, 2))
    rows = [_row(i, *combo, now=BASE) for i, combo in enumerate(grid)]
    got = _sql(engine, probe, rows, BASE)
    assert len(got) == len(rows) == 1296
    wrong = [(r, got[r["id"]], _python(r, BASE)) for r in rows if got[r["id"]] != _python(r, BASE)]
    assert not wrong, wrong[:5]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    status=st.sampled_from(list(VoucherStatus)),
    starts=st.sampled_from(OFFSETS) | st.timedeltas(timedelta(days=-3), timedelta(days=3)),
    ends=st.sampled_from(OFFSETS) | st.timedeltas(timedelta(days=-3), timedelta(days=3)),
    holder=st.sampled_from([None, 7]),
    uses=st.integers(0, 3),
    clock=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
)
def test_any_clock(
    engine: Engine,
    probe: Table,
    status: VoucherStatus,
    starts: timedelta | None,
    ends: timedelta | None,
    holder: int | None,
    uses: int,
    clock: datetime,
) -> None:
    row = _row(1, status, starts, ends, holder, uses, clock)
    assert _sql(engine, probe, [row], clock)[1] == _python(row, clock)
