"""The voucher lifecycle: one status field, one transition table.

Everything else a vendor calls a "status" (upcoming, claimed, locked, expired by date) is an
orthogonal fact or a projection of facts (see ``projections.py``). Time-based expiry is applied
by ``sweep``; until it runs, ``phase()`` already reports a voucher past its end as expired, so a
late sweep never lets a voucher be redeemed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Final

from voucherd.domain import errors


class VoucherStatus(StrEnum):
    INACTIVE = "inactive"
    ACTIVE = "active"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    VOID = "void"
    DELETED = "deleted"


class Action(StrEnum):
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    UPDATE = "update"
    CLAIM = "claim"
    UNCLAIM = "unclaim"
    LOCK = "lock"
    UNLOCK = "unlock"
    RESERVE = "reserve"
    RELEASE = "release"
    CHARGE = "charge"  # a redemption that leaves value or uses behind
    CHARGE_FINAL = "charge_final"  # a redemption that uses up the last value or use
    REFUND = "refund"
    RECHARGE = "recharge"
    END = "end"
    EXPIRE = "expire"
    VOID = "void"
    REINSTATE = "reinstate"
    REOPEN = "reopen"  # a used-up voucher gets uses back (its usage limit was raised)
    DELETE = "delete"


S, A = VoucherStatus, Action

_HOLDER_AND_METADATA = (A.CLAIM, A.UNCLAIM, A.UPDATE)

TRANSITIONS: Final[Mapping[tuple[VoucherStatus, Action], VoucherStatus]] = {
    **{(S.INACTIVE, a): S.INACTIVE for a in (*_HOLDER_AND_METADATA, A.RECHARGE, A.UNLOCK)},
    (S.INACTIVE, A.ACTIVATE): S.ACTIVE,
    (S.INACTIVE, A.EXPIRE): S.EXPIRED,
    (S.INACTIVE, A.VOID): S.VOID,
    (S.INACTIVE, A.DELETE): S.DELETED,
    (S.INACTIVE, A.RELEASE): S.INACTIVE,
    **{
        (S.ACTIVE, a): S.ACTIVE
        for a in (
            *_HOLDER_AND_METADATA,
            A.LOCK,
            A.UNLOCK,
            A.RESERVE,
            A.RELEASE,
            A.CHARGE,
            A.REFUND,
            A.RECHARGE,
        )
    },
    (S.ACTIVE, A.CHARGE_FINAL): S.REDEEMED,
    (S.ACTIVE, A.DEACTIVATE): S.INACTIVE,
    (S.ACTIVE, A.END): S.EXPIRED,
    (S.ACTIVE, A.EXPIRE): S.EXPIRED,
    (S.ACTIVE, A.VOID): S.VOID,
    (S.ACTIVE, A.DELETE): S.DELETED,
    (S.REDEEMED, A.REFUND): S.ACTIVE,
    (S.REDEEMED, A.RECHARGE): S.ACTIVE,
    (S.REDEEMED, A.UPDATE): S.REDEEMED,
    (S.REDEEMED, A.REOPEN): S.ACTIVE,
    (S.REDEEMED, A.UNLOCK): S.REDEEMED,
    (S.REDEEMED, A.RELEASE): S.REDEEMED,
    (S.REDEEMED, A.DELETE): S.DELETED,
    # Money paid with an expired voucher can still go back onto it; it stays expired.
    (S.EXPIRED, A.REFUND): S.EXPIRED,
    (S.EXPIRED, A.UPDATE): S.EXPIRED,
    (S.EXPIRED, A.UNLOCK): S.EXPIRED,
    (S.EXPIRED, A.RELEASE): S.EXPIRED,
    (S.EXPIRED, A.VOID): S.VOID,
    (S.EXPIRED, A.DELETE): S.DELETED,
    (S.VOID, A.REINSTATE): S.ACTIVE,
    (S.VOID, A.UPDATE): S.VOID,
    (S.VOID, A.RELEASE): S.VOID,
    (S.VOID, A.DELETE): S.DELETED,
}

# Which typed error an impossible transition raises, by the status it was attempted from.
_REFUSAL: Final[Mapping[VoucherStatus, type[errors.InvalidTransition]]] = {
    S.INACTIVE: errors.VoucherInactive,
    S.ACTIVE: errors.VoucherAlreadyActive,
    S.REDEEMED: errors.VoucherRedeemed,
    S.EXPIRED: errors.VoucherExpired,
    S.VOID: errors.VoucherVoided,
    S.DELETED: errors.VoucherDeleted,
}


def refusal(status: VoucherStatus, action: Action) -> errors.InvalidTransition:
    if action is A.REINSTATE:
        return errors.VoucherNotVoided(
            status, action, f"cannot reinstate a voucher that is {status}"
        )
    if status is S.ACTIVE and action is not A.ACTIVATE:
        return errors.InvalidTransition(status, action)
    return _REFUSAL[status](status, action)


def transition(status: VoucherStatus, action: Action) -> VoucherStatus:
    """Return the status after ``action``.

    Raises:
        InvalidTransition: (a subclass naming the current status) when the table has no row.
    """
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise refusal(status, action) from None


class Phase(StrEnum):
    """Where a voucher stands at a moment, combining status with its validity window."""

    INACTIVE = "inactive"
    UPCOMING = "upcoming"
    ONGOING = "ongoing"
    EXPIRED = "expired"
    REDEEMED = "redeemed"
    VOID = "void"
    DELETED = "deleted"


def phase(
    status: VoucherStatus, starts_at: datetime | None, ends_at: datetime | None, now: datetime
) -> Phase:
    if status is S.ACTIVE:
        if ends_at is not None and ends_at <= now:
            return Phase.EXPIRED
        if starts_at is not None and starts_at > now:
            return Phase.UPCOMING
        return Phase.ONGOING
    if status is S.INACTIVE and ends_at is not None and ends_at <= now:
        return Phase.EXPIRED
    return Phase(status.value)
