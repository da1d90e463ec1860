"""Finding a voucher the way staff do (one box: code or public id) and all one page shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from voucherd.db import repositories as repo
from voucherd.db.tables import events, ledger_entries
from voucherd.domain import errors
from voucherd.services.attempts import Budget
from voucherd.services.changes import VoucherRef, find
from voucherd.services.unit_of_work import Actor, UnitOfWork

MAX_QUERY = 255
PAGE_ROWS = 200


def search(uow: UnitOfWork, actor: Actor, text: str) -> repo.Row:
    """The voucher whose code (normalised, exact) or public id is ``text``.

    Raises: NotFound (also for an empty or overlong query).
    """
    text = text.strip()
    if not text or len(text) > MAX_QUERY:
        raise errors.NotFound("voucher")
    try:
        return find(uow, actor, VoucherRef(code=text), count_miss=False)
    except errors.NotFound:
        pass
    try:
        return find(uow, actor, VoucherRef(public_id=text))
    except errors.NotFound:
        uow.attempts.failed(Budget.GUESS)  # neither a code nor an id: a miss by code
        raise


@dataclass(frozen=True, slots=True)
class Dossier:
    voucher: repo.Row
    ledger: Sequence[repo.Row]  # oldest first, each with its balance_after
    events: Sequence[repo.Row]  # oldest first: who, when, what, why


def dossier(uow: UnitOfWork, actor: Actor, public_id: str) -> Dossier:
    """A voucher with its latest ledger entries and events. Raises: NotFound."""
    row = find(uow, actor, VoucherRef(public_id=public_id))
    ledger = (
        uow.conn.execute(
            select(ledger_entries)
            .where(
                ledger_entries.c.tenant_id == actor.tenant_id,
                ledger_entries.c.voucher_id == row["id"],
            )
            .order_by(ledger_entries.c.id.desc())
            .limit(PAGE_ROWS)
        )
        .mappings()
        .all()
    )
    trail = (
        uow.conn.execute(
            select(events)
            .where(events.c.tenant_id == actor.tenant_id, events.c.voucher_id == row["id"])
            .order_by(events.c.id.desc())
            .limit(PAGE_ROWS)
        )
        .mappings()
        .all()
    )
    return Dossier(row, list(reversed(ledger)), list(reversed(trail)))
