"""Voucher PIN checks under budgets and lockouts.

Every check of a voucher's PIN goes through ``verify``: it spends the caller's PIN budget on a
wrong PIN (``services/attempts.py``), and a voucher whose PIN was wrong
``pin_lockout_failures`` times in a row (from any caller) refuses PIN checks for
``pin_lockout_seconds`` (``PinLocked``), with a ``pin_locked`` event. A right PIN starts the
count again. The count is written after the refused operation's transaction has rolled back
(``attempts.later``), in a transaction of its own. ``unlock`` is the operator's reset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Engine, delete, select, update

from voucherd.db import repositories as repo
from voucherd.db.tables import voucher_pin_failures as failures
from voucherd.domain import errors
from voucherd.services import hashing
from voucherd.services.attempts import Budget
from voucherd.services.changes import record_event
from voucherd.services.unit_of_work import Actor, UnitOfWork


def verify(uow: UnitOfWork, row: repo.Row, pin: str | None) -> None:
    """Check ``pin`` against the voucher ``row``'s PIN.

    Raises: TooManyAttempts (the caller's PIN budget is spent), PinLocked, InvalidPin.
    """
    uow.attempts.guard(Budget.PIN)
    tenant_id, voucher_id = int(row["tenant_id"]), int(row["id"])
    state = (
        uow.conn.execute(
            select(failures.c.failures, failures.c.locked_until).where(
                failures.c.tenant_id == tenant_id, failures.c.voucher_id == voucher_id
            )
        )
        .mappings()
        .first()
    )
    if state is not None and state["locked_until"] is not None and state["locked_until"] > uow.now:
        raise errors.PinLocked(
            "too many wrong PINs: this voucher's PIN checks are locked",
            locked_until=state["locked_until"].isoformat(),
        )
    if hashing.verify_pin(row["pin_hash"], pin):
        if state is not None:
            uow.conn.execute(
                delete(failures).where(
                    failures.c.tenant_id == tenant_id, failures.c.voucher_id == voucher_id
                )
            )
        return
    uow.attempts.failed(Budget.PIN)
    uow.attempts.later(
        partial(
            _count_failure,
            tenant_id=tenant_id,
            voucher_id=voucher_id,
            public_id=str(row["public_id"]),
            threshold=uow.attempts.pin_lockout_failures,
            period=timedelta(seconds=uow.attempts.pin_lockout_seconds),
        )
    )
    raise errors.InvalidPin("the PIN is wrong")


def _count_failure(
    engine: Engine,
    *,
    tenant_id: int,
    voucher_id: int,
    public_id: str,
    threshold: int,
    period: timedelta,
) -> None:
    """One more wrong PIN in a row; at ``threshold`` the voucher's PIN checks lock."""
    with UnitOfWork(engine) as uow:
        key = (failures.c.tenant_id == tenant_id, failures.c.voucher_id == voucher_id)
        row = uow.conn.execute(select(failures).where(*key)).mappings().first()
        if row is None:
            uow.conn.execute(
                repo.insert_ignore(uow.conn, failures).values(
                    tenant_id=tenant_id, voucher_id=voucher_id, failures=0, updated_at=uow.now
                )
            )
            count = 1
        elif row["locked_until"] is not None and row["locked_until"] > uow.now:
            return  # already locked (a concurrent failure locked it)
        else:
            count = int(row["failures"]) + 1
        locked_until: datetime | None = uow.now + period if count >= threshold else None
        uow.conn.execute(
            update(failures)
            .where(*key)
            .values(
                failures=0 if locked_until else count,
                locked_until=locked_until,
                updated_at=uow.now,
            )
        )
        if locked_until is not None:
            record_event(
                uow,
                Actor(tenant_id, "system:pin-lockout"),
                operation="pin_locked",
                subject="voucher",
                subject_id=public_id,
                voucher_id=voucher_id,
                after={"locked_until": locked_until, "failures": count},
            )
        uow.commit()


def unlock(uow: UnitOfWork, actor: Actor, public_id: str) -> bool:
    """Clear a voucher's PIN lockout and its count; whether it was locked.

    Raises: NotFound.
    """
    row = repo.find_voucher(uow.conn, actor.tenant_id, public_id=public_id)
    if row is None:
        raise errors.NotFound("voucher", public_id)
    key = (failures.c.tenant_id == actor.tenant_id, failures.c.voucher_id == row["id"])
    state = uow.conn.execute(select(failures).where(*key)).mappings().first()
    locked = bool(state and state["locked_until"] and state["locked_until"] > uow.now)
    uow.conn.execute(delete(failures).where(*key))
    record_event(
        uow,
        actor,
        operation="pin_unlocked",
        subject="voucher",
        subject_id=public_id,
        voucher_id=int(row["id"]),
        before={"locked": locked},
    )
    return locked
