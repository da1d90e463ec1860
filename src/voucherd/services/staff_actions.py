"""The voucher actions of the dashboard beyond charge/void/reinstate: each checks the staff
user's role first, then runs the engine's own service with the user as the actor (so every
action is an event naming ``user:<id>``)."""

from __future__ import annotations

from datetime import datetime

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
