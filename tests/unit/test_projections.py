"""Every vendor's status, computed from the engine's facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from voucherd.db.projections import jtl_status, rm_status, shopee_status, spaaza_status
from voucherd.domain.lifecycle import VoucherStatus as S
from voucherd.domain.vouchers import ValueKind, VoucherState

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)
BASE = VoucherState(id=1, kind=ValueKind.FIXED_DISCOUNT, status=S.ACTIVE, currency="EUR")


def v(**fields: object) -> VoucherState:
    return replace(BASE, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (v(status=S.INACTIVE), "inactive"),
        (v(), "active"),
        (v(status=S.REDEEMED), "active"),
        (v(status=S.EXPIRED), "inactive"),
        (v(status=S.VOID), "inactive"),
        (v(status=S.DELETED), "inactive"),
    ],
)
def test_jtl(state: VoucherState, expected: str) -> None:
    assert jtl_status(state) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (v(starts_at=NOW + DAY, ends_at=NOW + 2 * DAY), "upcoming"),
        (v(starts_at=NOW - DAY, ends_at=NOW + DAY), "ongoing"),
        (v(starts_at=NOW - 2 * DAY, ends_at=NOW - DAY), "expired"),
        (v(status=S.REDEEMED, starts_at=NOW - DAY, ends_at=NOW + DAY), "ongoing"),
        (v(status=S.EXPIRED, ends_at=NOW), "expired"),
        (v(status=S.VOID), "expired"),
        (v(status=S.INACTIVE, ends_at=NOW + DAY), "upcoming"),
    ],
)
def test_shopee(state: VoucherState, expected: str) -> None:
    assert shopee_status(state, NOW) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (v(), "generated"),
        (v(holder_id=5), "claimed"),
        (v(status=S.REDEEMED, holder_id=5), "redeemed"),
        (v(status=S.EXPIRED, holder_id=5), "claimed"),  # Spaaza keeps expiry apart from status
    ],
)
def test_spaaza(state: VoucherState, expected: str) -> None:
    assert spaaza_status(state) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (v(status=S.INACTIVE), "VALID"),  # waiting in its batch
        (v(), "ISSUED"),  # issued = activated, with or without a member
        (v(holder_id=2), "ISSUED"),
        (v(uses=1, max_uses=2), "REDEEMED"),  # collected, a use left: still usable
        (v(status=S.REDEEMED, uses=1), "REDEEMED"),  # collected, can still be voided at shop
        (v(status=S.INACTIVE, ends_at=NOW - DAY), "EXPIRED"),
        (v(status=S.REDEEMED), "REDEEMED"),
        (v(status=S.VOID), "VOID"),
        (v(ends_at=NOW - DAY), "EXPIRED"),
        (v(status=S.EXPIRED), "EXPIRED"),
    ],
)
def test_revenue_monster(state: VoucherState, expected: str) -> None:
    assert rm_status(state, NOW) == expected
