"""The rules of every voucher operation, as pure functions from a snapshot to a ``Change``.

A service loads a ``VoucherState``, asks one of these functions what should happen, and writes
the returned ``Change`` with a version check; the function never touches storage, so the same
rule holds for the native API, every dialect and the CLI.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from voucherd.domain import errors
from voucherd.domain.lifecycle import Action, Phase, VoucherStatus, phase, refusal, transition
from voucherd.domain.money import Money, apply_basis_points, positive
from voucherd.domain.policies import NONE, Policies, Policy


class ValueKind(StrEnum):
    STORED_VALUE = "stored_value"  # a balance: partial charge, recharge, refund
    FIXED_DISCOUNT = "fixed_discount"
    PERCENT_DISCOUNT = "percent_discount"
    GIFT = "gift"
    CASHBACK = "cashback"


class ValidityUnit(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    YEARS = "years"


class LedgerKind(StrEnum):
    ISSUE = "issue"
    CHARGE = "charge"
    REFUND = "refund"
    RECHARGE = "recharge"
    TRANSFER = "transfer"  # value moved to another voucher (a split); no use is counted


def add_period(start: datetime, value: int, unit: ValidityUnit) -> datetime:
    """Calendar arithmetic: 31 Jan + 1 month is 28/29 Feb, never 3 Mar."""
    if unit is ValidityUnit.DAYS:
        return start + timedelta(days=value)
    if unit is ValidityUnit.WEEKS:
        return start + timedelta(weeks=value)
    months = value * (12 if unit is ValidityUnit.YEARS else 1)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


@dataclass(frozen=True, slots=True)
class VoucherState:
    """What the rules need to know about one voucher."""

    id: int
    kind: ValueKind
    status: VoucherStatus
    currency: str | None
    balance: int = 0
    uses: int = 0
    max_uses: int | None = None
    max_uses_per_customer: int | None = None
    discount_amount: int | None = None
    discount_bps: int | None = None
    discount_cap: int | None = None
    min_spend: int | None = None
    cashback_bps: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    validity_value: int | None = None
    validity_unit: ValidityUnit | None = None
    holder_id: int | None = None
    locked_until: datetime | None = None
    locking_code: str | None = None
    lock_basket_code: str | None = None
    hold_id: int | None = None
    hold_amount: int = 0
    hold_expires_at: datetime | None = None
    version: int = 1

    def phase(self, now: datetime) -> Phase:
        return phase(self.status, self.starts_at, self.ends_at, now)

    def hold_active(self, now: datetime) -> bool:
        return self.hold_id is not None and (
            self.hold_expires_at is None or self.hold_expires_at > now
        )

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    @property
    def uses_value(self) -> bool:
        return self.kind is not ValueKind.STORED_VALUE

    @property
    def used_up(self) -> bool:
        """Every use taken, or a stored value charged down to nothing."""
        if self.max_uses is not None and self.uses >= self.max_uses:
            return True
        return self.kind is ValueKind.STORED_VALUE and self.balance == 0 and self.uses > 0


@dataclass(frozen=True, slots=True)
class LedgerDelta:
    kind: LedgerKind
    amount: int  # signed change of the balance
    balance_after: int
    uses_delta: int
    uses_after: int
    value: int = 0  # the discount, gift or cashback value granted by a use


@dataclass(frozen=True, slots=True)
class Change:
    action: Action
    before: VoucherStatus
    after: VoucherStatus
    fields: dict[str, Any] = field(default_factory=dict)
    ledger: LedgerDelta | None = None

    @property
    def updates(self) -> dict[str, Any]:
        return {"status": self.after, **self.fields}


def _change(v: VoucherState, action: Action, policies: Policies = NONE, /, **fields: Any) -> Change:
    return Change(action, v.status, transition(v.status, action, policies), fields)


def _ensure_ongoing(
    v: VoucherState, action: Action, now: datetime, policies: Policies = NONE
) -> None:
    transition(v.status, action, policies)
    current = v.phase(now)
    if current is Phase.REDEEMED:
        # Only a policy row lets a used-up voucher get here: its window still decides.
        current = phase(VoucherStatus.ACTIVE, v.starts_at, v.ends_at, now)
    if current is Phase.EXPIRED:
        raise errors.VoucherExpired(v.status, action, "the voucher has expired")
    if current is Phase.UPCOMING:
        raise errors.VoucherNotStarted(v.status, action, "the voucher is not valid yet")


def _ensure_unlocked(v: VoucherState, now: datetime, locking_code: str | None) -> None:
    if v.locked(now) and (v.locking_code is None or locking_code != v.locking_code):
        raise errors.VoucherLocked(
            "the voucher is locked to another basket", locked_until=v.locked_until
        )


def _currency(v: VoucherState, currency: str | None) -> None:
    if currency is not None and v.currency is not None:
        Money(0, currency).same_currency(v.currency)


# --- state changes without value -----------------------------------------------------------


def activate(v: VoucherState, now: datetime) -> Change:
    fields: dict[str, Any] = {"activated_at": now}
    # A validity period starts on first activation; a fixed window is kept as it is.
    if v.validity_value and v.validity_unit and v.ends_at is None:
        start = v.starts_at if v.starts_at and v.starts_at > now else now
        fields["starts_at"] = v.starts_at or now
        fields["ends_at"] = add_period(start, v.validity_value, v.validity_unit)
    change = _change(v, Action.ACTIVATE, **fields)
    ends_at = fields.get("ends_at", v.ends_at)
    if ends_at is not None and ends_at <= now:
        raise errors.VoucherExpired(v.status, Action.ACTIVATE, "the voucher has expired")
    return change


def deactivate(v: VoucherState) -> Change:
    return _change(v, Action.DEACTIVATE)


def end(v: VoucherState, now: datetime, policies: Policies = NONE) -> Change:
    """End an ongoing voucher now (Shopee ``end_voucher``). Under ``END_USED_UP`` a used-up
    voucher inside its window is ended too: its window closes, it stays redeemed."""
    _ensure_ongoing(v, Action.END, now, policies)
    return _change(v, Action.END, policies, ends_at=now)


def extend(v: VoucherState, ends_at: datetime, now: datetime) -> Change:
    """Move a live voucher's end later (staff "extend validity"); its status does not change.

    An expired, void or deleted voucher is refused with its status's typed error (an expiry
    is undone by no operation: the liability reports read it from the trail). The new end must
    be in the future and later than the current one.
    """
    if v.status not in (VoucherStatus.INACTIVE, VoucherStatus.ACTIVE, VoucherStatus.REDEEMED):
        raise refusal(v.status, Action.UPDATE)
    if v.phase(now) is Phase.EXPIRED:
        raise errors.VoucherExpired(v.status, Action.UPDATE, "the voucher has expired")
    if ends_at <= now:
        raise errors.ValidationFailed("the new end must be in the future", field="ends_at")
    if v.ends_at is not None and ends_at <= v.ends_at:
        raise errors.ValidationFailed(
            "the new end must be later than the current end", field="ends_at"
        )
    return _change(v, Action.UPDATE, ends_at=ends_at)


def expire(v: VoucherState, now: datetime, *, require_holder: bool = False) -> Change:
    """Expire now, whatever the window said (Spaaza ``expire-voucher``, sweep)."""
    if require_holder and v.holder_id is None:
        raise errors.NotClaimed("only a claimed voucher can be expired")
    ends_at = now if v.ends_at is None or v.ends_at > now else v.ends_at
    return _change(v, Action.EXPIRE, ends_at=ends_at)


def void(v: VoucherState, now: datetime, policies: Policies = NONE) -> Change:
    """Void now. Under ``VOID_USED_UP`` (RM seed 002) a used-up voucher can be voided too."""
    return _change(v, Action.VOID, policies, voided_at=now)


def reinstate(v: VoucherState) -> Change:
    """Undo a void: back to active, or to redeemed when its uses were all taken before."""
    if v.status is VoucherStatus.VOID and v.used_up:
        return _change(v, Action.REINSTATE_USED_UP, voided_at=None)
    return _change(v, Action.REINSTATE, voided_at=None)


def window_upcoming(v: VoucherState, now: datetime) -> bool:
    """Not ended and not yet open: inactive, or starting later (Shopee's "upcoming")."""
    if v.status in (VoucherStatus.EXPIRED, VoucherStatus.VOID, VoucherStatus.DELETED):
        return False
    if v.ends_at is not None and v.ends_at <= now:
        return False
    return v.status is VoucherStatus.INACTIVE or (v.starts_at is not None and v.starts_at > now)


def delete(v: VoucherState, now: datetime, reason: str, policies: Policies = NONE) -> Change:
    """Soft delete. Under ``DELETE_ONLY_INACTIVE`` (JTL) an active voucher is refused; under
    ``DELETE_ONLY_UPCOMING`` (Shopee) any voucher whose window has opened or ended is."""
    if Policy.DELETE_ONLY_UPCOMING in policies and not window_upcoming(v, now):
        raise errors.NotAllowedByPolicy(v.status, Action.DELETE, Policy.DELETE_ONLY_UPCOMING.value)
    if not reason.strip():
        raise errors.ValidationFailed("a reason is required to delete", field="reason")
    return _change(
        v,
        Action.DELETE,
        policies,
        deleted_at=now,
        delete_reason=reason,
        hold_id=None,
        hold_amount=0,
        hold_expires_at=None,
    )


def claim(v: VoucherState, customer_id: int, now: datetime) -> Change:
    if v.holder_id is not None and v.holder_id != customer_id:
        raise errors.AlreadyClaimed("the voucher is held by another customer")
    return _change(v, Action.CLAIM, holder_id=customer_id, claimed_at=now)


def unclaim(v: VoucherState, now: datetime, *, force: bool = False) -> Change:
    if v.holder_id is None:
        raise errors.NotClaimed("the voucher is not claimed")
    if v.locked(now) and not force:
        raise errors.VoucherLocked("a locked voucher cannot be unclaimed")
    return _change(v, Action.UNCLAIM, holder_id=None, claimed_at=None)


def lock(
    v: VoucherState,
    now: datetime,
    period: timedelta,
    locking_code: str | None,
    basket_code: str | None,
    policies: Policies = NONE,
) -> Change:
    """Lock for ``period``. Under ``LOCK_BY_BASKET_CODE`` (Spaaza) a live lock belongs to its
    basket: another basket code is refused even with the same locking code."""
    _ensure_ongoing(v, Action.LOCK, now)
    held_by_basket = (
        Policy.LOCK_BY_BASKET_CODE in policies
        and v.locked(now)
        and v.lock_basket_code is not None
        and basket_code != v.lock_basket_code
    )
    if held_by_basket:
        raise errors.VoucherLocked(
            "the voucher is locked to another basket", locked_until=v.locked_until
        )
    if v.locked(now) and v.locking_code != locking_code:
        raise errors.VoucherLocked("the voucher is already locked", locked_until=v.locked_until)
    if period <= timedelta(0):
        raise errors.ValidationFailed("lock period must be positive", field="lock_period")
    return _change(
        v,
        Action.LOCK,
        locked_until=now + period,
        locking_code=locking_code,
        lock_basket_code=basket_code,
    )


def unlock(v: VoucherState) -> Change:
    return _change(v, Action.UNLOCK, locked_until=None, locking_code=None, lock_basket_code=None)


def consume_lock(
    v: VoucherState, now: datetime, locking_code: str | None, basket_code: str | None
) -> Change | None:
    """Spaaza's redeem of a locked voucher (``LOCK_BY_BASKET_CODE``): the till that locked it
    names its lock (its locking code or its basket code), and the redeem consumes the lock.

    None when the voucher is not locked (nothing to consume). Raises: VoucherLocked.
    """
    if not v.locked(now):
        return None
    named = bool(v.locking_code and locking_code == v.locking_code) or bool(
        v.lock_basket_code and basket_code == v.lock_basket_code
    )
    if not named:
        raise errors.VoucherLocked(
            "the voucher is locked: name its locking code or basket code",
            locked_until=v.locked_until,
        )
    return unlock(v)


def update(v: VoucherState, **fields: Any) -> Change:
    return _change(v, Action.UPDATE, **fields)


# --- value -----------------------------------------------------------------------------------


def _available(v: VoucherState, now: datetime, reservation_id: int | None) -> tuple[int, int]:
    """Balance and uses left for this caller, net of somebody else's live hold."""
    other_hold = v.hold_active(now) and v.hold_id != reservation_id
    balance = v.balance - (v.hold_amount if other_hold else 0)
    uses_left = (v.max_uses - v.uses - (1 if other_hold else 0)) if v.max_uses else None
    return balance, uses_left if uses_left is not None else 1 << 62


def _granted_value(v: VoucherState, order_amount: int | None, policies: Policies) -> int:
    waived = order_amount is None and Policy.MIN_SPEND_WAIVED in policies
    if v.min_spend and not waived and (order_amount is None or order_amount < v.min_spend):
        raise errors.MinimumSpendNotMet(
            f"the order must be at least {v.min_spend} minor units", minimum=v.min_spend
        )
    if v.kind is ValueKind.FIXED_DISCOUNT:
        value = v.discount_amount or 0
        return min(value, order_amount) if order_amount is not None else value
    if v.kind in (ValueKind.PERCENT_DISCOUNT, ValueKind.CASHBACK):
        bps = (v.discount_bps if v.kind is ValueKind.PERCENT_DISCOUNT else v.cashback_bps) or 0
        value = apply_basis_points(order_amount or 0, bps)
        return min(value, v.discount_cap) if v.discount_cap is not None else value
    return 0


def charge(
    v: VoucherState,
    now: datetime,
    *,
    amount: int | None = None,
    currency: str | None = None,
    order_amount: int | None = None,
    locking_code: str | None = None,
    reservation_id: int | None = None,
    customer_uses: int = 0,
    policies: Policies = NONE,
) -> Change:
    """Redeem value (stored value) or one use (every other kind).

    The minimum spend is checked against ``order_amount``; only ``MIN_SPEND_WAIVED`` with no
    order amount at all skips it (a percentage of an unknown basket is then worth 0).

    Raises:
        InvalidTransition, VoucherExpired, VoucherNotStarted, VoucherLocked, CurrencyMismatch,
        InvalidAmount, InsufficientBalance, VoucherReserved, UsageLimitReached,
        CustomerUsageLimitReached, MinimumSpendNotMet.
    """
    _ensure_ongoing(v, Action.CHARGE, now)
    _ensure_unlocked(v, now, locking_code)
    _currency(v, currency)
    balance, uses_left = _available(v, now, reservation_id)
    if uses_left <= 0:
        if v.hold_active(now) and v.hold_id != reservation_id and v.uses < (v.max_uses or 0):
            raise errors.VoucherReserved("the last use is held by a reservation")
        raise errors.UsageLimitReached("the voucher has no uses left", max_uses=v.max_uses)
    if v.max_uses_per_customer is not None and customer_uses >= v.max_uses_per_customer:
        raise errors.CustomerUsageLimitReached(
            "this customer has used the voucher as often as allowed",
            limit=v.max_uses_per_customer,
        )
    uses_after = v.uses + 1
    if v.kind is ValueKind.STORED_VALUE:
        if amount is None:
            raise errors.InvalidAmount("amount is required to charge a stored-value voucher")
        positive(amount)
        if amount > balance:
            if amount <= v.balance:
                raise errors.VoucherReserved("part of the balance is held by a reservation")
            raise errors.InsufficientBalance(
                "the voucher balance is too low", balance=balance, requested=amount
            )
        balance_after = v.balance - amount
        value, delta = amount, -amount
        final = balance_after == 0 or (v.max_uses is not None and uses_after >= v.max_uses)
    else:
        if amount is not None:
            raise errors.InvalidAmount("a discount or gift voucher is redeemed by use, not amount")
        value = _granted_value(v, order_amount, policies)
        balance_after, delta = v.balance, 0
        final = v.max_uses is not None and uses_after >= v.max_uses
    action = Action.CHARGE_FINAL if final else Action.CHARGE
    fields: dict[str, Any] = {"balance": balance_after, "uses": uses_after, "last_used_at": now}
    if final:
        fields["redeemed_at"] = now
    if reservation_id is not None or (v.hold_id is not None and not v.hold_active(now)):
        fields.update(hold_id=None, hold_amount=0, hold_expires_at=None)
    ledger = LedgerDelta(LedgerKind.CHARGE, delta, balance_after, 1, uses_after, value)
    return replace(_change(v, action, **fields), ledger=ledger)


class ReservationStatus(StrEnum):
    OPEN = "open"
    CAPTURED = "captured"
    RELEASED = "released"
    SUPERSEDED = "superseded"  # a newer reservation on the same voucher replaced it
    EXPIRED = "expired"


_CLOSED_MESSAGE = "the reservation was already captured or released"


def _closed(status: ReservationStatus, policies: Policies) -> errors.VoucherdError:
    """Why a reservation that is no longer open cannot be used (see RESERVATION_OUTCOMES)."""
    if status is ReservationStatus.CAPTURED:
        return errors.ReservationCaptured(_CLOSED_MESSAGE)
    if status is ReservationStatus.RELEASED:
        return errors.ReservationReleased(_CLOSED_MESSAGE)
    if Policy.RESERVATION_OUTCOMES in policies:
        return errors.ReservationExpired("the reservation has expired")
    return errors.ReservationClosed(_CLOSED_MESSAGE)


def check_capturable(
    status: ReservationStatus, expires_at: datetime, now: datetime, policies: Policies = NONE
) -> None:
    """Raises: ReservationCaptured / ReservationReleased / ReservationClosed (not open),
    ReservationExpired (its time is up; under ``RESERVATION_OUTCOMES`` also when lapsed)."""
    if status is not ReservationStatus.OPEN:
        raise _closed(status, policies)
    if expires_at <= now:
        raise errors.ReservationExpired("the reservation has expired")


def releasable(status: ReservationStatus, policies: Policies = NONE) -> bool:
    """Whether a release has anything to do. An open reservation: yes. A closed one is refused
    (ReservationClosed); under ``RESERVATION_OUTCOMES`` releasing it again is a no-op (False)
    unless it was captured (ReservationCaptured)."""
    if status is ReservationStatus.OPEN:
        return True
    if Policy.RESERVATION_OUTCOMES in policies and status is not ReservationStatus.CAPTURED:
        return False
    raise _closed(status, NONE)


def capture(
    v: VoucherState,
    now: datetime,
    reservation_id: int,
    amount: int,
    reservation_status: ReservationStatus,
    reservation_expires_at: datetime,
    policies: Policies = NONE,
    **kwargs: Any,
) -> Change:
    """Charge against a reservation: the hold is released and its value charged."""
    check_capturable(reservation_status, reservation_expires_at, now, policies)
    if v.hold_id != reservation_id:
        raise errors.ReservationExpired("the reservation has expired")
    return charge(
        v,
        now,
        reservation_id=reservation_id,
        amount=amount if v.kind is ValueKind.STORED_VALUE else None,
        **kwargs,
    )


def reserve(
    v: VoucherState,
    now: datetime,
    reservation_id: int,
    ttl: timedelta,
    *,
    amount: int | None = None,
    currency: str | None = None,
    locking_code: str | None = None,
) -> Change:
    """Hold value (or a use) until ``now + ttl``; a new hold replaces the voucher's old one."""
    _ensure_ongoing(v, Action.RESERVE, now)
    _ensure_unlocked(v, now, locking_code)
    _currency(v, currency)
    # The voucher's own previous hold is replaced, so it does not count against the new one.
    free = replace(v, hold_id=None, hold_amount=0, hold_expires_at=None)
    balance, uses_left = _available(free, now, None)
    if uses_left <= 0:
        raise errors.UsageLimitReached("the voucher has no uses left", max_uses=v.max_uses)
    held = 0
    if v.kind is ValueKind.STORED_VALUE:
        if amount is None:
            raise errors.InvalidAmount("amount is required to reserve on a stored-value voucher")
        held = positive(amount)
        if held > balance:
            raise errors.InsufficientBalance(
                "the voucher balance is too low", balance=balance, requested=held
            )
    return _change(
        v, Action.RESERVE, hold_id=reservation_id, hold_amount=held, hold_expires_at=now + ttl
    )


def release(v: VoucherState, reservation_id: int) -> Change:
    fields: dict[str, Any] = {}
    if v.hold_id == reservation_id:
        fields = {"hold_id": None, "hold_amount": 0, "hold_expires_at": None}
    return _change(v, Action.RELEASE, **fields)


def refund(
    v: VoucherState,
    *,
    charged: int,
    refunded: int,
    amount: int | None,
    currency: str | None,
    now: datetime,
) -> Change:
    """Return value (or a use) from one earlier charge.

    Raises:
        InvalidTransition, CurrencyMismatch, InvalidAmount, RefundExceedsCharge.
    """
    _currency(v, currency)
    if v.kind is ValueKind.STORED_VALUE:
        amount = charged - refunded if amount is None else positive(amount)
        if amount <= 0 or amount > charged - refunded:
            raise errors.RefundExceedsCharge(
                "the refund is more than what is left of the charge",
                refundable=charged - refunded,
            )
        uses_delta = 0 if refunded + amount < charged else -1
        balance_after = v.balance + amount
        delta = amount
    else:
        if refunded:
            raise errors.RefundExceedsCharge("this use was already refunded", refundable=0)
        if amount not in (None, 0):
            raise errors.InvalidAmount("a use is refunded whole; send no amount")
        uses_delta, balance_after, delta = -1, v.balance, 0
    uses_after = v.uses + uses_delta
    fields: dict[str, Any] = {"balance": balance_after, "uses": uses_after}
    change = _change(v, Action.REFUND, **fields)
    if change.after is VoucherStatus.ACTIVE and v.status is VoucherStatus.REDEEMED:
        fields["redeemed_at"] = None
    ledger = LedgerDelta(LedgerKind.REFUND, delta, balance_after, uses_delta, uses_after)
    return replace(change, fields=fields, ledger=ledger)


def recharge(v: VoucherState, *, amount: int, currency: str | None, now: datetime) -> Change:
    if v.kind is not ValueKind.STORED_VALUE:
        raise errors.NotSupportedForKind("only a stored-value voucher can be recharged")
    _currency(v, currency)
    positive(amount)
    if v.status in (VoucherStatus.ACTIVE, VoucherStatus.REDEEMED) and v.phase(now) is Phase.EXPIRED:
        raise errors.VoucherExpired(v.status, Action.RECHARGE, "the voucher has expired")
    balance_after = v.balance + amount
    fields: dict[str, Any] = {"balance": balance_after}
    change = _change(v, Action.RECHARGE, **fields)
    if v.status is VoucherStatus.REDEEMED:
        fields["redeemed_at"] = None
    ledger = LedgerDelta(LedgerKind.RECHARGE, amount, balance_after, 0, v.uses)
    return replace(change, fields=fields, ledger=ledger)


def transfer_out(v: VoucherState, now: datetime, *, amount: int) -> Change:
    """Move ``amount`` off a stored-value voucher (onto a new one): value leaves, no use counts.

    Raises:
        NotSupportedForKind, InvalidTransition, VoucherExpired, VoucherNotStarted,
        InvalidAmount, InsufficientBalance.
    """
    if v.kind is not ValueKind.STORED_VALUE:
        raise errors.NotSupportedForKind("only a stored-value voucher holds value to move")
    _ensure_ongoing(v, Action.CHARGE, now)
    positive(amount)
    balance, _ = _available(v, now, None)
    if amount > balance:
        raise errors.InsufficientBalance(
            "the voucher balance is too low", balance=balance, requested=amount
        )
    balance_after = v.balance - amount
    final = balance_after == 0
    fields: dict[str, Any] = {"balance": balance_after}
    if final:
        fields["redeemed_at"] = now
    change = _change(v, Action.CHARGE_FINAL if final else Action.CHARGE, **fields)
    ledger = LedgerDelta(LedgerKind.TRANSFER, -amount, balance_after, 0, v.uses)
    return replace(change, ledger=ledger)
