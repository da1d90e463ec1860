"""Reschedule a voucher: its validity window, usage limit, value terms and metadata.

The rules are ``domain.schedule.revise``; the write goes through ``changes.apply`` (version
check, event), so a concurrent charge or end makes one of the two fail loudly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from voucherd.db import repositories as repo
from voucherd.domain import schedule
from voucherd.services.changes import VoucherRef, apply, find
from voucherd.services.unit_of_work import Actor, UnitOfWork


def reschedule(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    starts_at: datetime | schedule.Unset = schedule.UNSET,
    ends_at: datetime | schedule.Unset = schedule.UNSET,
    max_uses: int | schedule.Unset = schedule.UNSET,
    terms: Mapping[str, int | None] | None = None,
    metadata: Mapping[str, Any] | None = None,
    min_length: timedelta | None = None,
    max_months: int | None = None,
    start_grace: timedelta = timedelta(0),
    reason: str | None = None,
) -> repo.Row:
    """Raises: NotFound, VoucherExpired, InvalidTransition, ValidationFailed,
    ConcurrentModification."""
    row = find(uow, actor, ref, for_update=True)
    change = schedule.revise(
        repo.voucher_state(row),
        uow.now,
        starts_at=starts_at,
        ends_at=ends_at,
        max_uses=max_uses,
        terms=terms,
        metadata=metadata,
        min_length=min_length,
        max_months=max_months,
        start_grace=start_grace,
    )
    return apply(uow, actor, row, change, reason=reason, operation="reschedule").voucher
