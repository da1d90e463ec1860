"""Vendor policies: each one's rows of the lifecycle table and its rule, with and without it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from voucherd.domain import errors, policies
from voucherd.domain import vouchers as rules
from voucherd.domain.lifecycle import (
    POLICY_TRANSITIONS,
    TRANSITIONS,
    Action,
    VoucherStatus,
    allowed,
    transition,
)
from voucherd.domain.policies import Policy
from voucherd.domain.vouchers import ValueKind, VoucherState

S, A = VoucherStatus, Action
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def voucher(**fields: object) -> VoucherState:
    base = VoucherState(id=1, kind=ValueKind.GIFT, status=S.ACTIVE, currency="MYR", max_uses=1)
    return replace(base, **fields)  # type: ignore[arg-type]


def used_up(**fields: object) -> VoucherState:
    return voucher(status=S.REDEEMED, uses=1, **fields)


def test_policy_rows_are_exactly_these() -> None:
    assert {p: dict(rows) for p, rows in POLICY_TRANSITIONS.items()} == {
        Policy.END_USED_UP: {(S.REDEEMED, A.END): S.REDEEMED},
        Policy.DELETE_ONLY_INACTIVE: {(S.ACTIVE, A.DELETE): None},
        Policy.VOID_USED_UP: {(S.REDEEMED, A.VOID): S.VOID},
    }
    # Each row changes the base table: it adds what the base refuses or removes what it allows.
    for rows in POLICY_TRANSITIONS.values():
        for key, after in rows.items():
            assert (key in TRANSITIONS) == (after is None)


def test_every_vendor_names_its_policies() -> None:
    assert {Policy.DELETE_ONLY_INACTIVE, Policy.RESERVATION_OUTCOMES} == policies.JTL
    assert {Policy.END_USED_UP, Policy.DELETE_ONLY_UPCOMING} == policies.SHOPEE
    assert {Policy.LOCK_BY_BASKET_CODE} == policies.SPAAZA
    assert {Policy.MIN_SPEND_WAIVED, Policy.VOID_USED_UP} == policies.REVENUE_MONSTER
    assert frozenset() == policies.NONE


# --- END_USED_UP (Shopee end_voucher) -----------------------------------------------------


def test_end_used_up_closes_the_window_of_a_used_up_voucher() -> None:
    v = used_up(starts_at=NOW - HOUR, ends_at=NOW + HOUR)
    change = rules.end(v, NOW, policies.SHOPEE)
    assert (change.before, change.after) == (S.REDEEMED, S.REDEEMED)
    assert change.fields == {"ends_at": NOW}
    with pytest.raises(errors.VoucherRedeemed):
        rules.end(v, NOW)  # the base table: a used-up voucher cannot be ended


def test_end_used_up_still_needs_the_window_to_be_ongoing() -> None:
    with pytest.raises(errors.VoucherExpired):
        rules.end(used_up(ends_at=NOW - HOUR), NOW, policies.SHOPEE)
    with pytest.raises(errors.VoucherNotStarted):
        rules.end(used_up(starts_at=NOW + HOUR), NOW, policies.SHOPEE)
    ongoing = rules.end(voucher(), NOW, policies.SHOPEE)  # an active one: as without policy
    assert ongoing.after is S.EXPIRED


# --- DELETE_ONLY_INACTIVE (JTL) -----------------------------------------------------------


def test_delete_only_inactive() -> None:
    with pytest.raises(errors.NotAllowedByPolicy) as caught:
        rules.delete(voucher(), NOW, "gone", policies.JTL)
    assert caught.value.policy == "delete_only_inactive"
    assert isinstance(caught.value, errors.InvalidTransition)
    assert rules.delete(voucher(), NOW, "gone").after is S.DELETED  # the native API may
    for status in (S.INACTIVE, S.REDEEMED, S.EXPIRED, S.VOID):
        assert rules.delete(voucher(status=status), NOW, "gone", policies.JTL).after is S.DELETED
    assert not allowed(S.ACTIVE, A.DELETE, policies.JTL)
    assert allowed(S.ACTIVE, A.DELETE)


# --- LOCK_BY_BASKET_CODE (Spaaza) ---------------------------------------------------------


def test_lock_by_basket_code() -> None:
    held = voucher(
        kind=ValueKind.STORED_VALUE,
        balance=500,
        max_uses=None,
        locked_until=NOW + HOUR,
        locking_code="L1",
        lock_basket_code="BASKET-1",
    )
    with pytest.raises(errors.VoucherLocked):
        rules.lock(held, NOW, HOUR, "L1", "BASKET-2", policies.SPAAZA)
    again = rules.lock(held, NOW, HOUR, "L1", "BASKET-1", policies.SPAAZA)
    assert again.fields["locked_until"] == NOW + HOUR
    # Without the policy the locking code alone decides.
    assert rules.lock(held, NOW, HOUR, "L1", "BASKET-2").fields["lock_basket_code"] == "BASKET-2"
    lapsed = replace(held, locked_until=NOW - HOUR)
    assert rules.lock(lapsed, NOW, HOUR, None, "BASKET-2", policies.SPAAZA).after is S.ACTIVE


# --- MIN_SPEND_WAIVED (Revenue Monster redeem) --------------------------------------------


def test_min_spend_waived_only_without_an_order_amount() -> None:
    v = voucher(kind=ValueKind.FIXED_DISCOUNT, discount_amount=500, min_spend=3000)
    with pytest.raises(errors.MinimumSpendNotMet):
        rules.charge(v, NOW)  # the base rule: no order amount, no discount
    waived = rules.charge(v, NOW, policies=policies.REVENUE_MONSTER)
    assert waived.ledger is not None and waived.ledger.value == 500
    with pytest.raises(errors.MinimumSpendNotMet):  # an amount that is sent is checked
        rules.charge(v, NOW, order_amount=2999, policies=policies.REVENUE_MONSTER)
    checked = rules.charge(v, NOW, order_amount=4000, policies=policies.REVENUE_MONSTER)
    assert checked.ledger is not None and checked.ledger.value == 500
    pct = voucher(kind=ValueKind.PERCENT_DISCOUNT, discount_bps=1000, min_spend=3000)
    unknown_basket = rules.charge(pct, NOW, policies=policies.REVENUE_MONSTER)
    assert unknown_basket.ledger is not None and unknown_basket.ledger.value == 0


# --- VOID_USED_UP (Revenue Monster seed 002) ----------------------------------------------


def test_void_used_up_and_reinstate_back_to_redeemed() -> None:
    v = used_up()
    with pytest.raises(errors.VoucherRedeemed):
        rules.void(v, NOW)
    voided = rules.void(v, NOW, policies.REVENUE_MONSTER)
    assert (voided.after, voided.fields) == (S.VOID, {"voided_at": NOW})
    back = rules.reinstate(replace(v, status=S.VOID))
    assert (back.action, back.after) == (A.REINSTATE_USED_UP, S.REDEEMED)
    fresh = rules.reinstate(voucher(status=S.VOID))
    assert (fresh.action, fresh.after) == (A.REINSTATE, S.ACTIVE)
    assert transition(S.REDEEMED, A.VOID, policies.REVENUE_MONSTER) is S.VOID


def test_used_up() -> None:
    assert used_up().used_up and not voucher().used_up
    card = voucher(kind=ValueKind.STORED_VALUE, max_uses=None, balance=0)
    assert not card.used_up  # never charged: an empty card, not a used one
    assert replace(card, uses=1).used_up and not replace(card, uses=1, balance=5).used_up


# --- DELETE_ONLY_UPCOMING (Shopee delete_voucher) --------------------------------------------


def test_delete_only_upcoming() -> None:
    only = frozenset({Policy.DELETE_ONLY_UPCOMING})
    upcoming = [voucher(starts_at=NOW + HOUR), voucher(status=S.INACTIVE)]
    for v in upcoming:
        assert rules.delete(v, NOW, "gone", only).after is S.DELETED
    refused = [
        voucher(),  # ongoing
        voucher(starts_at=NOW - HOUR, ends_at=NOW + HOUR),
        voucher(status=S.INACTIVE, ends_at=NOW),  # ended
        used_up(),
    ]
    for v in refused:
        with pytest.raises(errors.NotAllowedByPolicy) as refusal:
            rules.delete(v, NOW, "gone", only)
        assert refusal.value.details["action"] == A.DELETE
        # Without the policy the base table lets them all be deleted.
        assert rules.delete(v, NOW, "gone").after is S.DELETED


# --- LOCK_BY_BASKET_CODE: the till names its lock (Spaaza redeem) -----------------------------


def test_consume_lock_needs_the_lock_named() -> None:
    locked = voucher(locked_until=NOW + HOUR, locking_code="till-1", lock_basket_code="b-9")
    assert rules.consume_lock(voucher(), NOW, None, None) is None  # nothing to consume
    lapsed = replace(locked, locked_until=NOW)
    assert rules.consume_lock(lapsed, NOW, None, None) is None
    for code, basket in (("till-1", None), (None, "b-9"), ("wrong", "b-9")):
        change = rules.consume_lock(locked, NOW, code, basket)
        assert change is not None and change.fields["locked_until"] is None
    for code, basket in ((None, None), ("till-2", "b-8"), ("b-9", "till-1")):
        with pytest.raises(errors.VoucherLocked):
            rules.consume_lock(locked, NOW, code, basket)


# --- RESERVATION_OUTCOMES (JTL reservations) ---------------------------------------------------


def test_reservation_outcomes_name_how_a_reservation_closed() -> None:
    R = rules.ReservationStatus
    jtl = frozenset({Policy.RESERVATION_OUTCOMES})
    later = NOW + HOUR
    with pytest.raises(errors.ReservationCaptured):
        rules.check_capturable(R.CAPTURED, later, NOW, jtl)
    with pytest.raises(errors.ReservationReleased):
        rules.check_capturable(R.RELEASED, later, NOW, jtl)
    for lapsed in (R.SUPERSEDED, R.EXPIRED):
        with pytest.raises(errors.ReservationExpired):
            rules.check_capturable(lapsed, later, NOW, jtl)
        # Without the policy a closed reservation is just closed.
        with pytest.raises(errors.ReservationClosed) as closed:
            rules.check_capturable(lapsed, later, NOW)
        assert type(closed.value) is errors.ReservationClosed
    with pytest.raises(errors.ReservationExpired):
        rules.check_capturable(R.OPEN, NOW, NOW, jtl)
    rules.check_capturable(R.OPEN, later, NOW, jtl)


def test_release_of_a_closed_reservation() -> None:
    R = rules.ReservationStatus
    jtl = frozenset({Policy.RESERVATION_OUTCOMES})
    assert rules.releasable(R.OPEN) and rules.releasable(R.OPEN, jtl)
    for done in (R.RELEASED, R.SUPERSEDED, R.EXPIRED):
        assert rules.releasable(done, jtl) is False  # a no-op for JTL
        with pytest.raises(errors.ReservationClosed):
            rules.releasable(done)
    for given in (jtl, policies.NONE):
        with pytest.raises(errors.ReservationCaptured):
            rules.releasable(R.CAPTURED, given)
