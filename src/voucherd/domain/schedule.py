"""Rules for changing a voucher's validity window, usage limit and value terms after creation.

Pure functions: ``revise`` takes a snapshot and the wanted changes and returns a ``Change`` (an
``Action.UPDATE``) or raises ``ValidationFailed`` naming the field and the rule it breaks:

==============  ===============  ===========================================================
field           rule             meaning
==============  ===============  ===========================================================
starts_at       ``past``         a new start may not lie in the past
starts_at       ``started``      a voucher that has started keeps its start
ends_at         ``after``        the end must be later than the start
ends_at         ``min_length``   the window is shorter than the caller's minimum
ends_at         ``max_length``   the window is longer than the caller's maximum
ends_at         ``shorten_only`` a started voucher may only end earlier, never later
ends_at         ``past``         a started voucher may not be given an end in the past
max_uses        ``increase_only`` a started voucher's usage limit may only grow
max_uses        ``min``          the limit is below 1 or below the uses already made
<term>          ``started``      value terms (discount, cap, minimum spend) are fixed once
                                 the voucher has started
==============  ===============  ===========================================================

"Started" means the voucher is live: phase ongoing, or redeemed (all uses made) inside its
window. A voucher past its end is refused with ``VoucherExpired``; a void or deleted one with
the lifecycle error of its status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from voucherd.domain import errors
from voucherd.domain.lifecycle import Action, Phase, VoucherStatus, transition
from voucherd.domain.vouchers import Change, ValidityUnit, ValueKind, VoucherState, add_period

TERMS: Final = frozenset(
    {"discount_amount", "discount_bps", "discount_cap", "min_spend", "cashback_bps"}
)


class Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()


def _fail(message: str, field: str, rule: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(message, field=field, rule=rule)


def check_window(
    starts_at: datetime,
    ends_at: datetime,
    *,
    min_length: timedelta | None = None,
    max_months: int | None = None,
) -> None:
    """A window's own shape: end after start, at least ``min_length``, at most ``max_months``.

    Raises: ValidationFailed (ends_at: after / min_length / max_length).
    """
    if ends_at <= starts_at:
        raise _fail("the end must be later than the start", "ends_at", "after")
    if min_length is not None and ends_at - starts_at < min_length:
        raise _fail(f"the validity window must be at least {min_length}", "ends_at", "min_length")
    if max_months is not None and ends_at > add_period(starts_at, max_months, ValidityUnit.MONTHS):
        raise _fail(
            f"the validity window may be at most {max_months} months", "ends_at", "max_length"
        )


def check_new_start(starts_at: datetime, now: datetime, grace: timedelta = timedelta(0)) -> None:
    """Raises: ValidationFailed (starts_at: past) for a start earlier than ``now - grace``."""
    if starts_at < now - grace:
        raise _fail("the start lies in the past", "starts_at", "past")


def started(v: VoucherState, now: datetime) -> bool:
    """True once the voucher is live (ongoing or used up); upcoming and inactive ones are not."""
    return v.phase(now) in (Phase.ONGOING, Phase.REDEEMED)


def revise(
    v: VoucherState,
    now: datetime,
    *,
    starts_at: datetime | Unset = UNSET,
    ends_at: datetime | Unset = UNSET,
    max_uses: int | Unset = UNSET,
    terms: Mapping[str, int | None] | None = None,
    metadata: Mapping[str, Any] | None = None,
    min_length: timedelta | None = None,
    max_months: int | None = None,
    start_grace: timedelta = timedelta(0),
) -> Change:
    """Decide a change of window / usage limit / value terms / metadata.

    Before the voucher starts, everything may change (a new start not in the past). Once it has
    started, the start and the value terms are fixed, the end may only move earlier (not into
    the past) and the usage limit may only grow.

    Raises:
        VoucherExpired (phase expired), the lifecycle error of a void/redeemed/deleted voucher,
        ValidationFailed (see the module table).
    """
    transition(v.status, Action.UPDATE)
    current = v.phase(now)
    if current is Phase.EXPIRED or (v.ends_at is not None and v.ends_at <= now):
        raise errors.VoucherExpired(v.status, Action.UPDATE, "the voucher has expired")
    if current not in (Phase.INACTIVE, Phase.UPCOMING, Phase.ONGOING, Phase.REDEEMED):
        raise errors.InvalidTransition(
            v.status, Action.UPDATE, f"cannot reschedule a voucher that is {current}"
        )
    # A used-up voucher inside its window is still live: it can end earlier or get more uses.
    live = current in (Phase.ONGOING, Phase.REDEEMED)
    fields: dict[str, Any] = {}
    terms = dict(terms or {})
    unknown = set(terms) - TERMS
    if unknown:
        raise _fail(f"cannot revise {sorted(unknown)}", min(unknown), "unknown")
    if live:
        if not isinstance(starts_at, Unset) and starts_at != v.starts_at:
            raise _fail("a started voucher keeps its start", "starts_at", "started")
        for name, value in terms.items():
            if value != getattr(v, name):
                raise _fail(f"{name} cannot change once the voucher has started", name, "started")
    elif not isinstance(starts_at, Unset) and starts_at != v.starts_at:
        check_new_start(starts_at, now, start_grace)
    new_start = v.starts_at if isinstance(starts_at, Unset) else starts_at
    new_end = v.ends_at if isinstance(ends_at, Unset) else ends_at
    if not isinstance(ends_at, Unset) and live and v.ends_at is not None:
        if ends_at > v.ends_at:
            raise _fail("a started voucher may only end earlier", "ends_at", "shorten_only")
        if ends_at < now:
            raise _fail("a started voucher cannot be given an end in the past", "ends_at", "past")
    if (
        new_start is not None
        and new_end is not None
        and (not isinstance(starts_at, Unset) or not isinstance(ends_at, Unset))
    ):
        check_window(
            new_start, new_end, min_length=min_length if not live else None, max_months=max_months
        )
    if not isinstance(max_uses, Unset):
        if max_uses < 1 or max_uses < v.uses or max_uses > 10**9:
            raise _fail(
                "the usage limit must be at least 1 and at least the uses made", "max_uses", "min"
            )
        if live and v.max_uses is not None and max_uses < v.max_uses:
            raise _fail(
                "a started voucher's usage limit may only grow", "max_uses", "increase_only"
            )
        fields["max_uses"] = max_uses
    if not isinstance(starts_at, Unset):
        fields["starts_at"] = starts_at
    if not isinstance(ends_at, Unset):
        fields["ends_at"] = ends_at
    for name, value in terms.items():
        if value is not None and value < 0:
            raise _fail(f"{name} must not be negative", name, "range")
        fields[name] = value
    if metadata is not None:
        fields["metadata"] = dict(metadata)
    action = Action.UPDATE
    new_limit = fields.get("max_uses", v.max_uses)
    has_value = v.kind is not ValueKind.STORED_VALUE or v.balance > 0
    if (
        v.status is VoucherStatus.REDEEMED
        and has_value
        and (new_limit is None or new_limit > v.uses)
    ):
        # More uses than already made: the voucher is no longer used up.
        action = Action.REOPEN
        fields["redeemed_at"] = None
    return Change(action, v.status, transition(v.status, action), fields)
