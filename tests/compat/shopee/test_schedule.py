"""domain.schedule: the generic rules behind Shopee's update_voucher constraints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voucherd.domain import errors, schedule
from voucherd.domain.lifecycle import Action, VoucherStatus
from voucherd.domain.vouchers import ValueKind, VoucherState

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def state(
    start: datetime, end: datetime, status: VoucherStatus = VoucherStatus.ACTIVE, **kw: object
) -> VoucherState:
    return VoucherState(
        id=1,
        kind=ValueKind.FIXED_DISCOUNT,
        status=status,
        currency="SGD",
        max_uses=10,
        discount_amount=100,
        starts_at=start,
        ends_at=end,
        **kw,
    )  # type: ignore[arg-type]


def rule(exc: pytest.ExceptionInfo[errors.ValidationFailed]) -> tuple[str | None, str]:
    return exc.value.field, exc.value.rule


def test_upcoming_voucher_may_change_everything() -> None:
    v = state(NOW + H, NOW + 5 * H)
    change = schedule.revise(
        v,
        NOW,
        starts_at=NOW + 2 * H,
        ends_at=NOW + 3 * H,
        max_uses=2,
        terms={"discount_amount": 50},
        metadata={"a": 1},
        min_length=H,
        max_months=3,
    )
    assert change.action is Action.UPDATE and change.after is VoucherStatus.ACTIVE
    assert change.fields == {
        "starts_at": NOW + 2 * H,
        "ends_at": NOW + 3 * H,
        "max_uses": 2,
        "discount_amount": 50,
        "metadata": {"a": 1},
    }


def test_new_start_in_the_past_is_refused_beyond_the_grace() -> None:
    v = state(NOW + H, NOW + 5 * H)
    with pytest.raises(errors.ValidationFailed) as exc:
        schedule.revise(v, NOW, starts_at=NOW - 2 * timedelta(minutes=1))
    assert rule(exc) == ("starts_at", "past")
    schedule.revise(v, NOW, starts_at=NOW - timedelta(seconds=30), start_grace=timedelta(minutes=1))


def test_window_shape() -> None:
    with pytest.raises(errors.ValidationFailed) as exc:
        schedule.check_window(NOW, NOW)
    assert rule(exc) == ("ends_at", "after")
    with pytest.raises(errors.ValidationFailed) as exc:
        schedule.check_window(NOW, NOW + timedelta(minutes=59), min_length=H)
    assert rule(exc) == ("ends_at", "min_length")
    schedule.check_window(NOW, NOW + H, min_length=H)
    # three calendar months: 31 Jan + 3 months is 30 Apr
    start = datetime(2027, 1, 31, tzinfo=UTC)
    schedule.check_window(start, datetime(2027, 4, 30, tzinfo=UTC), max_months=3)
    with pytest.raises(errors.ValidationFailed) as exc:
        schedule.check_window(start, datetime(2027, 4, 30, 0, 0, 1, tzinfo=UTC), max_months=3)
    assert rule(exc) == ("ends_at", "max_length")


def test_started_voucher_keeps_start_and_terms() -> None:
    v = state(NOW - H, NOW + 5 * H)
    assert schedule.started(v, NOW)
    with pytest.raises(errors.ValidationFailed) as exc:
        schedule.revise(v, NOW, starts_at=NOW + H)
    assert rule(exc) == ("starts_at", "started")
    with pytest.raises(errors.ValidationFailed) as exc:
        schedule.revise(v, NOW, terms={"discount_amount": 99})
    assert rule(exc) == ("discount_amount", "started")
    # unchanged values are not changes
    schedule.revise(v, NOW, starts_at=NOW - H, terms={"discount_amount": 100})


def test_started_voucher_may_only_shorten_and_only_grow_its_limit() -> None:
    v = state(NOW - H, NOW + 5 * H, uses=3)
    assert schedule.revise(v, NOW, ends_at=NOW + 2 * H).fields["ends_at"] == NOW + 2 * H
    with pytest.raises(errors.ValidationFailed) as exc:
        schedule.revise(v, NOW, ends_at=NOW + 6 * H)
    assert rule(exc) == ("ends_at", "shorten_only")
    with pytest.raises(errors.ValidationFailed) as exc:
        schedule.revise(v, NOW, ends_at=NOW - timedelta(minutes=1))
    assert rule(exc) == ("ends_at", "past")
    assert schedule.revise(v, NOW, max_uses=11).fields["max_uses"] == 11
    with pytest.raises(errors.ValidationFailed) as exc:
        schedule.revise(v, NOW, max_uses=9)
    assert rule(exc) == ("max_uses", "increase_only")
    with pytest.raises(errors.ValidationFailed) as exc:
        schedule.revise(state(NOW + H, NOW + 5 * H, uses=0), NOW, max_uses=0)
    assert rule(exc) == ("max_uses", "min")


def test_used_up_voucher_inside_its_window_is_live() -> None:
    v = state(NOW - H, NOW + 5 * H, status=VoucherStatus.REDEEMED, uses=10)
    change = schedule.revise(v, NOW, ends_at=NOW)
    assert change.after is VoucherStatus.REDEEMED and change.fields == {"ends_at": NOW}


def test_expired_and_void_vouchers_cannot_be_rescheduled() -> None:
    with pytest.raises(errors.VoucherExpired):
        schedule.revise(state(NOW - 5 * H, NOW - H), NOW, max_uses=20)
    with pytest.raises(errors.VoucherExpired):
        schedule.revise(state(NOW - 5 * H, NOW - H, status=VoucherStatus.EXPIRED), NOW, max_uses=20)
    with pytest.raises(errors.InvalidTransition):
        schedule.revise(state(NOW - 5 * H, NOW + H, status=VoucherStatus.VOID), NOW, max_uses=20)
