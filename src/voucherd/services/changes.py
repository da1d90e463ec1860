"""Load a voucher under protection, apply a domain ``Change``, record ledger and event.

This is the one write path for every voucher operation: the conditional update on
``version`` makes a lost race fail loudly on any database, and the ledger entry and event are
written in the same transaction as the state they describe.

Vendor rules run here too, never in a face on a row it read without a lock:

- a **policy** (``domain.policies``) is passed to a service, which hands it to the domain rule;
- a **guard** (``Guard``: a callable taking the row) is a face's own check of the voucher
  (ownership, holder, kind) that the service calls on the row it has just read for update
  (``locked``), inside the transaction, before the domain decides. A guard raises to refuse:
  a ``VoucherdError`` or the face's own error type; nothing has been written at that point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from voucherd.db import repositories as repo
from voucherd.domain import codes, errors
from voucherd.domain.vouchers import Change
from voucherd.services import code_policy
from voucherd.services.attempts import Budget
from voucherd.services.unit_of_work import Actor, UnitOfWork


@dataclass(frozen=True, slots=True)
class VoucherRef:
    """How a caller names a voucher: internal id, public id, or code (never logged)."""

    id: int | None = None
    public_id: str | None = None
    code: str | None = None
    # The public id is a bearer key that a caller could guess (Spaaza's ``voucher_key``): a
    # lookup by it spends the guess budget as a lookup by code does.
    bearer: bool = False

    def __repr__(self) -> str:
        shown = codes.mask(self.code) if self.code else None
        return f"VoucherRef(id={self.id!r}, public_id={self.public_id!r}, code={shown!r})"


def find(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    for_update: bool = False,
    count_miss: bool = True,
    with_campaign: bool = False,
) -> repo.Row:
    """Raises: NotFound (also for another tenant's voucher, or a deleted one).

    ``with_campaign``: the row brings its campaign's columns too (``repo.campaign_of``).

    A lookup by code is a guess until it finds something: it is refused once the caller's
    guess budget is spent (TooManyAttempts), and a miss counts against that budget (unless
    ``count_miss`` is false: the caller decides later whether it was a miss).
    """
    code = None
    guessed = ref.code is not None or ref.bearer
    if guessed:
        uow.attempts.guard(Budget.GUESS)
    if ref.code is not None:
        code = codes.normalize(ref.code)
        if code_policy.refuted(uow, actor.tenant_id, code):  # a wrong check character
            if count_miss:
                uow.attempts.failed(Budget.GUESS)
            raise errors.NotFound("voucher", ref)
    row = repo.find_voucher(
        uow.conn,
        actor.tenant_id,
        id=ref.id,
        public_id=ref.public_id,
        code=code,
        for_update=for_update,
        with_campaign=with_campaign,
    )
    if row is None:
        if guessed and count_miss:
            uow.attempts.failed(Budget.GUESS)
        raise errors.NotFound("voucher", ref)
    return row


Guard: TypeAlias = Callable[[repo.Row], None]


def locked(
    uow: UnitOfWork,
    actor: Actor,
    ref: VoucherRef,
    *,
    guard: Guard | None = None,
    with_campaign: bool = False,
) -> repo.Row:
    """The voucher read for update in this unit of work, after ``guard`` accepted it.

    ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the writing unit's ``BEGIN IMMEDIATE``
    already keeps every other writer out until commit. Either way the row cannot change
    before this transaction ends, so a check on it holds for the write that follows.

    Raises: NotFound, and whatever ``guard`` raises.
    """
    row = find(uow, actor, ref, for_update=True, with_campaign=with_campaign)
    if guard is not None:
        guard(row)
    return row


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def event_values(
    uow: UnitOfWork,
    actor: Actor,
    *,
    operation: str,
    subject: str,
    subject_id: str,
    voucher_id: int | None = None,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The row of the audit event that ``record_event`` writes."""
    return {
        "tenant_id": actor.tenant_id,
        "voucher_id": voucher_id,
        "subject": subject,
        "subject_id": subject_id,
        "operation": operation,
        "actor": actor.name,
        "reason": reason,
        "before": {k: jsonable(v) for k, v in (before or {}).items()},
        "after": {k: jsonable(v) for k, v in (after or {}).items()},
        "created_at": uow.now,
    }


def record_event(
    uow: UnitOfWork,
    actor: Actor,
    *,
    operation: str,
    subject: str,
    subject_id: str,
    voucher_id: int | None = None,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    repo.insert_event(
        uow.conn,
        event_values(
            uow,
            actor,
            operation=operation,
            subject=subject,
            subject_id=subject_id,
            voucher_id=voucher_id,
            reason=reason,
            before=before,
            after=after,
        ),
    )


@dataclass(frozen=True, slots=True)
class Applied:
    voucher: repo.Row
    entry: repo.Row | None = None


def apply(
    uow: UnitOfWork,
    actor: Actor,
    row: repo.Row,
    change: Change,
    *,
    reason: str | None = None,
    ledger: dict[str, Any] | None = None,
    operation: str | None = None,
) -> Applied:
    """Write ``change`` if the voucher is still at the version it was read at.

    Raises:
        ConcurrentModification: somebody changed the voucher in between.
    """
    updates = {**change.updates, "updated_at": uow.now}
    changed = {k: v for k, v in change.updates.items() if row[k] != v}
    event = event_values(
        uow,
        actor,
        operation=operation or change.action.value,
        subject="voucher",
        subject_id=row["public_id"],
        voucher_id=row["id"],
        reason=reason,
        before={k: row[k] for k in changed},
        after=changed,
    )
    if change.ledger is None:
        # The update and its event travel together (one round trip on PostgreSQL).
        updated = repo.update_voucher_with_event(
            uow.conn, actor.tenant_id, row["id"], row["version"], updates, event
        )
        if updated is None:
            raise errors.ConcurrentModification("the voucher was changed concurrently; retry")
        return Applied(updated, None)
    updated = repo.update_voucher(uow.conn, actor.tenant_id, row["id"], row["version"], updates)
    if updated is None:
        raise errors.ConcurrentModification("the voucher was changed concurrently; retry")
    delta = change.ledger
    # The entry and its event travel together (one round trip on PostgreSQL).
    entry = repo.insert_ledger_with_event(
        uow.conn,
        {
            "tenant_id": actor.tenant_id,
            "voucher_id": row["id"],
            "kind": delta.kind.value,
            "amount": delta.amount,
            "currency": row["currency"],
            "balance_after": delta.balance_after,
            "uses_delta": delta.uses_delta,
            "uses_after": delta.uses_after,
            "value": delta.value,
            "client_id": actor.client_id,
            "created_at": uow.now,
            **(ledger or {}),
        },
        event,
    )
    uow.moved.append((entry["kind"], entry["currency"], int(entry["amount"])))
    return Applied(updated, entry)
