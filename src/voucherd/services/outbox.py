"""The outbox: every engine event is handed to every subscriber exactly once.

An event row is written ``dispatched = false`` in the transaction of the change it records, so
its pending state commits (or rolls back) with it. ``dispatch`` reads pending events, lets each
subscriber turn the ones it wants into rows of ``deliveries`` (per-event delivery state keyed by
subscriber kind + event id), and marks the events dispatched, all in one transaction. Nothing
depends on ids committing in order, so an event whose transaction commits after a later one
is still delivered (an id cursor would have passed it).

Give ``dispatch`` every subscriber of the deployment (today the RM callbacks; native webhooks
next): an event marked dispatched is not offered again. A subscriber's sender then claims its
``deliveries`` rows with conditional UPDATEs (see ``dialects/revenue_monster/callbacks.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, insert, select, update

from voucherd.db import repositories as repo
from voucherd.db.tables import deliveries, delivery_attempts, events
from voucherd.services.unit_of_work import UnitOfWork

PENDING, DELIVERING, DELIVERED, FAILED = "pending", "delivering", "delivered", "failed"


class Subscriber(Protocol):
    kind: str  # stored in deliveries.subscriber, e.g. "rm_callback"

    def tenants(self, uow: UnitOfWork) -> Collection[int]:
        """The tenants whose events this subscriber could want now (a live subscription, a
        callback URL). Events of other tenants are marked dispatched without being read."""
        ...

    def accept(self, uow: UnitOfWork, batch: Sequence[Any]) -> int:
        """Create the deliveries this subscriber wants for ``batch`` (event rows, by id);
        return how many. Use ``enqueue``; a row that exists already is kept."""
        ...


def enqueue(
    uow: UnitOfWork,
    *,
    subscriber: str,
    tenant_id: int,
    event_id: int,
    url: str,
    payload: str,
    voucher_id: int | None = None,
) -> None:
    """A pending delivery of one event to one subscriber (idempotent per subscriber + event)."""
    uow.conn.execute(
        repo.insert_ignore(uow.conn, deliveries).values(
            tenant_id=tenant_id,
            subscriber=subscriber,
            event_id=event_id,
            voucher_id=voucher_id,
            url=url,
            payload=payload,
            status=PENDING,
            attempts=0,
            next_attempt_at=uow.now,
            created_at=uow.now,
        )
    )


def _pending(limit: int) -> Any:
    return (
        select(events.c.id, events.c.tenant_id)
        .where(~events.c.dispatched)
        .order_by(events.c.id)
        .limit(limit)
    )


def dispatch(engine: Engine, subscribers: Sequence[Subscriber], *, batch_size: int = 500) -> int:
    """Offer every pending event to ``subscribers``; returns how many deliveries were created.

    Each batch is one transaction: the deliveries and the dispatched marks commit together,
    so a crash in between offers the batch again (``enqueue`` ignores what already exists).
    Only the events of tenants some subscriber could want are read in full; the rest (most
    of them, where no tenant has a webhook) are only marked: reading each event's two JSON
    documents was a tenth of a server's CPU under a charge load (docs/benchmarks.md).
    """
    created = 0
    while True:
        # Look first without the write lock (SQLite takes it at BEGIN of a writing unit).
        with UnitOfWork(engine, readonly=True) as uow:
            if uow.conn.execute(_pending(1)).first() is None:
                return created
        with UnitOfWork(engine) as uow:
            query = _pending(batch_size)
            if uow.conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            pending = uow.conn.execute(query).all()
            if not pending:
                return created
            wanted: set[int] = set()
            for subscriber in subscribers:
                wanted.update(subscriber.tenants(uow))
            offered = [int(e.id) for e in pending if int(e.tenant_id) in wanted]
            if offered:
                batch = uow.conn.execute(
                    select(events).where(events.c.id.in_(offered)).order_by(events.c.id)
                ).all()
                for subscriber in subscribers:
                    created += subscriber.accept(uow, batch)
            ids = [int(e.id) for e in pending]
            for start in range(0, len(ids), 500):
                uow.conn.execute(
                    update(events)
                    .where(events.c.id.in_(ids[start : start + 500]), ~events.c.dispatched)
                    .values(dispatched=True)
                )
            uow.commit()
        if len(pending) < batch_size:
            return created


def record_attempt(
    uow: UnitOfWork,
    tenant_id: int,
    delivery_id: int,
    *,
    locked_until: datetime,
    attempt: int,
    status_code: int | None,
    error: str | None,
    outcome: dict[str, Any],
) -> bool:
    """Write one delivery attempt and the delivery's next state (``outcome``: status and, for
    a retry, ``next_attempt_at``), if this worker still holds the delivery's lock.

    Returns False when the lock lapsed and another worker took the delivery over: it records
    its own attempt, so this one writes nothing. Every subscriber kind records attempts here.
    """
    updated = uow.conn.execute(
        update(deliveries)
        .where(
            deliveries.c.tenant_id == tenant_id,
            deliveries.c.id == delivery_id,
            deliveries.c.status == DELIVERING,
            deliveries.c.locked_until == locked_until,
        )
        .values(
            attempts=attempt,
            locked_until=None,
            last_status_code=status_code,
            last_error=error,
            **outcome,
        )
    ).rowcount
    if updated != 1:
        return False
    uow.conn.execute(
        insert(delivery_attempts).values(
            tenant_id=tenant_id,
            delivery_id=delivery_id,
            attempt=attempt,
            status_code=status_code,
            error=error,
            created_at=uow.now,
        )
    )
    return True
