"""The voucher actions of the dashboard beyond charge/void/reinstate: each checks the staff
user's role first, then runs the engine's own service with the user as the actor (so every
action is an event naming ``user:<id>``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from voucherd.db import repositories as repo
from voucherd.domain import errors
from voucherd.domain.money import from_decimal
from voucherd.domain.staff import Action
from voucherd.services import value, vouchers
from voucherd.services.changes import VoucherRef, find
from voucherd.services.reports import parse_moment
from voucherd.services.staff import StaffUser, authorize, check_reason
from voucherd.services.unit_of_work import UnitOfWork

MAX_AMOUNT_TEXT = 32


def _amount(text: str | None, currency: str | None) -> int | None:
    """Major units as typed ("25.50") in the voucher's currency; None for a voucher without one.

    Raises: ValidationFailed (empty), InvalidAmount.
    """
    if currency is None:
        return None
    typed = (text or "").strip()
    if not typed:
        raise errors.ValidationFailed("give an amount", field="amount", rule="required")
    return from_decimal(typed[:MAX_AMOUNT_TEXT], currency)


def activate(uow: UnitOfWork, user: StaffUser, public_id: str, reason: str | None) -> repo.Row:
    authorize(user, Action.CHANGE_STATE)
    why = check_reason(reason, required=True)
    return vouchers.activate(uow, user.actor, VoucherRef(public_id=public_id), why)


def deactivate(uow: UnitOfWork, user: StaffUser, public_id: str, reason: str | None) -> repo.Row:
    authorize(user, Action.CHANGE_STATE)
    why = check_reason(reason, required=True)
    return vouchers.deactivate(uow, user.actor, VoucherRef(public_id=public_id), why)


def end(uow: UnitOfWork, user: StaffUser, public_id: str, reason: str | None) -> repo.Row:
    authorize(user, Action.CHANGE_STATE)
    why = check_reason(reason, required=True)
    return vouchers.end(uow, user.actor, VoucherRef(public_id=public_id), why)


def extend(
    uow: UnitOfWork, user: StaffUser, public_id: str, ends_at: str, reason: str | None
) -> repo.Row:
    """``ends_at`` as an ISO date ("2027-01-31": the end of that day, UTC) or date-time.

    Raises: Forbidden, ValidationFailed, VoucherExpired, VoucherVoided, NotFound.
    """
    authorize(user, Action.CHANGE_STATE)
    why = check_reason(reason, required=True)
    moment = _moment(ends_at)
    return vouchers.extend(uow, user.actor, VoucherRef(public_id=public_id), moment, why)


def _moment(text: str) -> datetime:
    moment = parse_moment(text.strip()[:40], "ends_at")
    if moment is None:
        raise errors.ValidationFailed("give the new end date", field="ends_at", rule="required")
    return moment


def recharge(
    uow: UnitOfWork, user: StaffUser, public_id: str, amount: str, reason: str | None
) -> repo.Row:
    """Raises: Forbidden, NotSupportedForKind, InvalidAmount, InvalidTransition, NotFound."""
    authorize(user, Action.RECHARGE)
    why = check_reason(reason, required=True)
    row = find(uow, user.actor, VoucherRef(public_id=public_id))
    minor = _amount(amount, row["currency"])
    if minor is None:
        raise errors.NotSupportedForKind("only a stored-value voucher can be recharged")
    return value.recharge(
        uow, user.actor, VoucherRef(public_id=public_id), amount=minor, currency=None, reason=why
    ).voucher


def refund(
    uow: UnitOfWork,
    user: StaffUser,
    public_id: str,
    entry_id: str,
    amount: str,
    reason: str | None,
) -> repo.Row:
    """Give back (part of) one charge of this voucher; an empty amount refunds what is left.

    Raises: Forbidden, NotFound (no such charge on this voucher), NotRefundable,
    RefundExceedsCharge, InvalidAmount.
    """
    authorize(user, Action.REFUND)
    why = check_reason(reason, required=True)
    row = find(uow, user.actor, VoucherRef(public_id=public_id))
    try:
        entry_number = int(entry_id)
    except ValueError:
        raise errors.ValidationFailed("choose the charge to refund", field="entry") from None
    entry = repo.find_ledger_entry(uow.conn, user.tenant_id, entry_number)
    if entry is None or entry["voucher_id"] != row["id"]:
        raise errors.NotFound("charge", entry_id)
    minor = _amount(amount, row["currency"]) if (amount or "").strip() else None
    return value.refund(uow, user.actor, entry_number, amount=minor, reason=why).voucher


# --- reservations (issue 12: a clerk may reserve) ---------------------------------------------

MAX_RESERVATION_MINUTES = 7 * 24 * 60  # a week: a hold longer than that is a sale, not a hold


def _minutes(text: str | None) -> timedelta:
    """How long the hold lasts, in whole minutes as typed; empty: the engine's default (30).

    Raises: ValidationFailed.
    """
    typed = (text or "").strip()
    if not typed:
        return value.RESERVATION_TTL
    if not (typed.isdigit() and len(typed) <= 8) or not 1 <= int(typed) <= MAX_RESERVATION_MINUTES:
        raise errors.ValidationFailed(
            f"the hold lasts 1 to {MAX_RESERVATION_MINUTES} minutes",
            field="minutes",
            rule="between",
        )
    return timedelta(minutes=int(typed))


def reserve(
    uow: UnitOfWork, user: StaffUser, public_id: str, amount: str, minutes: str | None
) -> value.Reserved:
    """Hold ``amount`` (major units as typed; a voucher without a currency holds one use) for
    ``minutes``; a new hold replaces the voucher's open one.

    Raises: Forbidden (auditor), ValidationFailed, InvalidAmount, InsufficientBalance,
    UsageLimitReached, InvalidTransition, NotFound.
    """
    authorize(user, Action.RESERVE)
    ttl = _minutes(minutes)
    ref = VoucherRef(public_id=public_id)
    row = find(uow, user.actor, ref)
    return value.reserve(
        uow, user.actor, ref, amount=_amount(amount, row["currency"]), currency=None, ttl=ttl
    )


def _open_hold(uow: UnitOfWork, user: StaffUser, public_id: str, reservation_id: str) -> int:
    """The reservation the page names, if it is this voucher's. Raises: NotFound."""
    row = find(uow, user.actor, VoucherRef(public_id=public_id))
    try:
        number = int(reservation_id)
    except ValueError:
        raise errors.NotFound("reservation", reservation_id) from None
    reservation = repo.find_reservation(uow.conn, user.tenant_id, number)
    if reservation is None or reservation["voucher_id"] != row["id"]:
        raise errors.NotFound("reservation", reservation_id)
    return number


def capture(
    uow: UnitOfWork,
    user: StaffUser,
    public_id: str,
    reservation_id: str,
    order_number: str | None = None,
) -> repo.Row:
    """Charge an open reservation of this voucher, its whole amount (a charge: ``CHARGE``).

    Raises: Forbidden, NotFound, ReservationClosed, ReservationExpired, ...
    """
    authorize(user, Action.CHARGE)
    number = _open_hold(uow, user, public_id, reservation_id)
    order = (order_number or "").strip()[:255] or None
    return value.capture(uow, user.actor, number, order_number=order).voucher


def release(uow: UnitOfWork, user: StaffUser, public_id: str, reservation_id: str) -> repo.Row:
    """Cancel an open reservation of this voucher (who may reserve may cancel the hold).

    Raises: Forbidden, NotFound, ReservationClosed.
    """
    authorize(user, Action.RESERVE)
    return value.release(uow, user.actor, _open_hold(uow, user, public_id, reservation_id))
