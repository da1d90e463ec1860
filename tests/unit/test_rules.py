"""The pure voucher rules: value kinds, limits, holds, locks, windows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from voucherd.domain import errors
from voucherd.domain import vouchers as rules
from voucherd.domain.lifecycle import VoucherStatus
from voucherd.domain.vouchers import ValidityUnit, ValueKind, VoucherState

NOW = datetime(2026, 1, 31, 10, tzinfo=UTC)
OPEN, RELEASED = rules.ReservationStatus.OPEN, rules.ReservationStatus.RELEASED


def card(**fields: object) -> VoucherState:
    base = VoucherState(
        id=1,
        kind=ValueKind.STORED_VALUE,
        status=VoucherStatus.ACTIVE,
        currency="EUR",
        balance=10_000,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_partial_charges_until_used_up() -> None:
    change = rules.charge(card(), NOW, amount=2500, currency="EUR")
    assert change.after is VoucherStatus.ACTIVE and change.fields["balance"] == 7500
    assert change.ledger is not None and change.ledger.amount == -2500
    last = rules.charge(card(balance=2500), NOW, amount=2500)
    assert last.after is VoucherStatus.REDEEMED and last.fields["redeemed_at"] == NOW


def test_charge_refusals() -> None:
    with pytest.raises(errors.InsufficientBalance):
        rules.charge(card(), NOW, amount=10_001)
    with pytest.raises(errors.CurrencyMismatch):
        rules.charge(card(), NOW, amount=1, currency="USD")
    with pytest.raises(errors.InvalidAmount):
        rules.charge(card(), NOW, amount=0)
    with pytest.raises(errors.InvalidAmount):
        rules.charge(card(), NOW)
    with pytest.raises(errors.VoucherInactive):
        rules.charge(card(status=VoucherStatus.INACTIVE), NOW, amount=1)
    with pytest.raises(errors.VoucherExpired):
        rules.charge(card(ends_at=NOW), NOW, amount=1)
    with pytest.raises(errors.VoucherNotStarted):
        rules.charge(card(starts_at=NOW + timedelta(seconds=1)), NOW, amount=1)
    with pytest.raises(errors.VoucherVoided):
        rules.charge(card(status=VoucherStatus.VOID), NOW, amount=1)


def test_single_use_discount_and_minimum_spend() -> None:
    discount = card(
        kind=ValueKind.FIXED_DISCOUNT, balance=0, discount_amount=500, max_uses=1, min_spend=2000
    )
    with pytest.raises(errors.MinimumSpendNotMet):
        rules.charge(discount, NOW, order_amount=1999)
    used = rules.charge(discount, NOW, order_amount=2000)
    assert used.after is VoucherStatus.REDEEMED and used.ledger is not None
    assert used.ledger.value == 500 and used.ledger.amount == 0 and used.ledger.uses_after == 1
    with pytest.raises(errors.InvalidTransition):
        rules.charge(
            replace(discount, status=VoucherStatus.REDEEMED, uses=1), NOW, order_amount=5000
        )


def test_percentage_discount_is_capped_and_cashback_computed() -> None:
    pct = card(
        kind=ValueKind.PERCENT_DISCOUNT,
        balance=0,
        discount_bps=2000,
        discount_cap=1500,
        max_uses=10,
    )
    assert rules.charge(pct, NOW, order_amount=5000).ledger.value == 1000  # type: ignore[union-attr]
    assert rules.charge(pct, NOW, order_amount=50_000).ledger.value == 1500  # type: ignore[union-attr]
    cashback = card(kind=ValueKind.CASHBACK, balance=0, cashback_bps=500, max_uses=None)
    assert rules.charge(cashback, NOW, order_amount=3000).ledger.value == 150  # type: ignore[union-attr]


def test_usage_limits() -> None:
    shared = card(kind=ValueKind.GIFT, balance=0, max_uses=3, uses=2)
    assert rules.charge(shared, NOW).after is VoucherStatus.REDEEMED
    with pytest.raises(errors.CustomerUsageLimitReached):
        rules.charge(card(max_uses_per_customer=1), NOW, amount=1, customer_uses=1)


def test_reservation_holds_value_from_others() -> None:
    held = card(hold_id=7, hold_amount=8000, hold_expires_at=NOW + timedelta(minutes=5))
    with pytest.raises(errors.VoucherReserved):
        rules.charge(held, NOW, amount=3000)
    assert rules.charge(held, NOW, amount=2000).fields["balance"] == 8000
    captured = rules.capture(held, NOW, 7, 8000, OPEN, NOW + timedelta(minutes=5))
    assert captured.fields["balance"] == 2000 and captured.fields["hold_id"] is None
    lapsed = replace(held, hold_expires_at=NOW)
    assert rules.charge(lapsed, NOW, amount=9000).fields["hold_id"] is None
    with pytest.raises(errors.ReservationExpired):
        rules.capture(lapsed, NOW, 7, 8000, OPEN, NOW)
    with pytest.raises(errors.ReservationClosed):
        rules.capture(held, NOW, 7, 8000, RELEASED, NOW + timedelta(minutes=5))


def test_new_reservation_replaces_the_old_one() -> None:
    held = card(hold_id=7, hold_amount=8000, hold_expires_at=NOW + timedelta(minutes=5))
    change = rules.reserve(held, NOW, 8, timedelta(minutes=30), amount=9000)
    assert change.fields == {
        "hold_id": 8,
        "hold_amount": 9000,
        "hold_expires_at": NOW + timedelta(minutes=30),
    }
    with pytest.raises(errors.InsufficientBalance):
        rules.reserve(held, NOW, 8, timedelta(minutes=30), amount=10_001)


def test_lock_requires_its_code() -> None:
    locked = card(locked_until=NOW + timedelta(minutes=1), locking_code="BASKET-1")
    with pytest.raises(errors.VoucherLocked):
        rules.charge(locked, NOW, amount=1)
    assert rules.charge(locked, NOW, amount=1, locking_code="BASKET-1").fields["balance"] == 9999
    with pytest.raises(errors.VoucherLocked):
        rules.unclaim(replace(locked, holder_id=3), NOW)
    assert rules.unclaim(replace(locked, holder_id=3), NOW, force=True).fields["holder_id"] is None


def test_refunds_never_exceed_the_charge() -> None:
    spent = card(balance=0, status=VoucherStatus.REDEEMED, uses=1)
    back = rules.refund(spent, charged=10_000, refunded=0, amount=4000, currency=None, now=NOW)
    assert back.after is VoucherStatus.ACTIVE and back.fields["balance"] == 4000
    assert back.ledger is not None and back.ledger.uses_delta == 0
    whole = rules.refund(spent, charged=10_000, refunded=4000, amount=None, currency=None, now=NOW)
    assert whole.fields["balance"] == 6000 and whole.ledger.uses_delta == -1  # type: ignore[union-attr]
    with pytest.raises(errors.RefundExceedsCharge):
        rules.refund(spent, charged=10_000, refunded=4000, amount=6001, currency=None, now=NOW)


def test_recharge_only_for_stored_value() -> None:
    assert rules.recharge(card(), amount=500, currency="EUR", now=NOW).fields["balance"] == 10_500
    with pytest.raises(errors.NotSupportedForKind):
        rules.recharge(card(kind=ValueKind.GIFT), amount=500, currency=None, now=NOW)


def test_validity_period_starts_on_activation() -> None:
    inactive = card(
        status=VoucherStatus.INACTIVE, validity_value=1, validity_unit=ValidityUnit.MONTHS
    )
    change = rules.activate(inactive, NOW)
    assert change.fields["ends_at"] == datetime(2026, 2, 28, 10, tzinfo=UTC)  # clamped to Feb
    assert rules.add_period(NOW, 2, ValidityUnit.YEARS).year == 2028
    assert rules.add_period(NOW, 2, ValidityUnit.WEEKS) == NOW + timedelta(days=14)


def test_end_only_an_ongoing_voucher() -> None:
    assert rules.end(card(), NOW).fields["ends_at"] == NOW
    with pytest.raises(errors.VoucherNotStarted):
        rules.end(card(starts_at=NOW + timedelta(hours=1)), NOW)
    with pytest.raises(errors.VoucherExpired):
        rules.end(card(ends_at=NOW - timedelta(hours=1)), NOW)


def test_expire_may_require_a_holder() -> None:
    with pytest.raises(errors.NotClaimed):
        rules.expire(card(), NOW, require_holder=True)
    assert rules.expire(card(holder_id=4), NOW, require_holder=True).after is VoucherStatus.EXPIRED


def test_delete_needs_a_reason() -> None:
    with pytest.raises(errors.ValidationFailed):
        rules.delete(card(), NOW, "  ")
    assert rules.delete(card(), NOW, "fraud").after is VoucherStatus.DELETED


def test_raising_the_usage_limit_reopens_a_used_up_voucher() -> None:
    from voucherd.domain import schedule

    used_up = card(
        kind=ValueKind.GIFT, balance=0, max_uses=2, uses=2, status=VoucherStatus.REDEEMED
    )
    reopened = schedule.revise(used_up, NOW, max_uses=3)
    assert reopened.after is VoucherStatus.ACTIVE and reopened.fields["redeemed_at"] is None
    same = schedule.revise(used_up, NOW, metadata={"name": "x"})
    assert same.after is VoucherStatus.REDEEMED
    empty_card = card(balance=0, max_uses=None, uses=4, status=VoucherStatus.REDEEMED)
    assert schedule.revise(empty_card, NOW, max_uses=10).after is VoucherStatus.REDEEMED


def test_transfer_out_moves_value_without_a_use() -> None:
    moved = rules.transfer_out(card(uses=1), NOW, amount=10_000)
    assert moved.after is VoucherStatus.REDEEMED and moved.ledger is not None
    assert (moved.ledger.kind, moved.ledger.amount, moved.ledger.uses_delta) == (
        "transfer",
        -10_000,
        0,
    )
    with pytest.raises(errors.InsufficientBalance):
        rules.transfer_out(card(), NOW, amount=10_001)
    with pytest.raises(errors.NotSupportedForKind):
        rules.transfer_out(card(kind=ValueKind.GIFT), NOW, amount=1)
