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
from voucherd.domain.policies import NONE, Policies, Policy


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
    REINSTATE_USED_UP = "reinstate_used_up"  # undo the void of a voucher that was used up
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
    (S.VOID, A.REINSTATE_USED_UP): S.REDEEMED,
    (S.VOID, A.UPDATE): S.VOID,
    (S.VOID, A.RELEASE): S.VOID,
    (S.VOID, A.DELETE): S.DELETED,
}

# Rows a named vendor policy adds (a status) or removes (None); see ``domain/policies.py``.
POLICY_TRANSITIONS: Final[
    Mapping[Policy, Mapping[tuple[VoucherStatus, Action], VoucherStatus | None]]
] = {
    Policy.END_USED_UP: {(S.REDEEMED, A.END): S.REDEEMED},
    Policy.DELETE_ONLY_INACTIVE: {(S.ACTIVE, A.DELETE): None},
    Policy.VOID_USED_UP: {(S.REDEEMED, A.VOID): S.VOID},
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
    if action in (A.REINSTATE, A.REINSTATE_USED_UP):
        return errors.VoucherNotVoided(
            status, action, f"cannot reinstate a voucher that is {status}"
        )
    if status is S.ACTIVE and action is not A.ACTIVATE:
        return errors.InvalidTransition(status, action)
    return _REFUSAL[status](status, action)


def _row(
    status: VoucherStatus, action: Action, policies: Policies
) -> tuple[VoucherStatus | None, Policy | None]:
    """The table's answer under ``policies``, and the policy that decided it (if any)."""
    for policy in sorted(policies):
        rows = POLICY_TRANSITIONS.get(policy, {})
        if (status, action) in rows:
            return rows[(status, action)], policy
    return TRANSITIONS.get((status, action)), None


def allowed(status: VoucherStatus, action: Action, policies: Policies = NONE) -> bool:
    return _row(status, action, policies)[0] is not None


def transition(status: VoucherStatus, action: Action, policies: Policies = NONE) -> VoucherStatus:
    """Return the status after ``action`` (under the vendor ``policies`` given).

    Raises:
        NotAllowedByPolicy: a policy removed the row.
        InvalidTransition: (a subclass naming the current status) when the table has no row.
    """
    after, policy = _row(status, action, policies)
    if after is not None:
        return after
    if policy is not None:
        raise errors.NotAllowedByPolicy(status, action, policy.value)
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
