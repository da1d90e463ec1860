"""Time-based transitions applied in bulk: expiry, lapsed reservations, old idempotency keys
(and rate-limit counts past their window).

Readers never depend on the sweep (``phase()`` already treats a voucher past its end as
expired); the sweep makes the stored status and the event trail catch up.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from voucherd.db.tables import events, rate_limit_hits, reservations, vouchers
from voucherd.services import idempotency
from voucherd.services.unit_of_work import utcnow

PARALLEL_LANES = 2  # connections expiring batches side by side on PostgreSQL
# The statuses the sweep expires, written as literals: the due-voucher index is partial on
# this very condition (``ix_vouchers_ends_at``), and SQLite uses a partial index only when the
# query states its condition with the same literals (bound parameters would not match).
EXPIRABLE = text("status IN ('active', 'inactive')")


@dataclass(slots=True)
class SweepResult:
    expired_vouchers: int = 0
    expired_reservations: int = 0
    purged_idempotency_keys: int = 0
    purged: dict[str, int] = field(default_factory=dict)  # table -> rows past their expiry


def run(
    engine: Engine,
    *,
    now: datetime | None = None,
    batch_size: int = 50_000,
    progress: object = None,
    purge: Iterable[Table] = (),
) -> SweepResult:
    """Each batch is its own transaction, so a huge sweep never holds locks for long."""
    now = now or utcnow()
    result = SweepResult()
    if engine.dialect.name == "postgresql":
        result.expired_vouchers = _expire_in_lanes(engine, now, batch_size, progress)
    # Whatever is still due (on PostgreSQL: rows another transaction held locked while their
    # lane passed, or vouchers added meanwhile past the lanes' ranges), one batch at a time.
    result.expired_vouchers += _expire_rest(engine, now, batch_size, progress)
    result.expired_reservations = _lapse_reservations(engine, now, min(batch_size, 5_000))
    with engine.begin() as conn:
        result.purged_idempotency_keys = idempotency.purge_expired(conn, now)
        for table in purge:  # short-lived credentials of the API faces (PINs, nonces, ...)
            deleted = conn.execute(delete(table).where(table.c.expires_at <= now)).rowcount
            result.purged[table.name] = int(deleted)
        # Counted failures that left their window (a key that is hit again drops its own).
        dead = rate_limit_hits.c.expires_at <= int(now.timestamp() * 1000)
        result.purged["rate_limit_hits"] = int(
            conn.execute(delete(rate_limit_hits).where(dead)).rowcount
        )
    return result


def _expire_in_lanes(engine: Engine, now: datetime, batch_size: int, progress: object) -> int:
    """Expire due vouchers on PARALLEL_LANES connections, each over its own range of ids.

    Each lane walks its range in id order (primary-key index, ``id > last``), so no batch
    reads again what an earlier batch already expired: the statement's plan without the range
    is a sequential scan that passes over every expired row of the earlier batches (quadratic
    in the number of batches). The lanes run side by side, so the UPDATE (six new index
    entries per row: status is indexed) and the event inserts of one can use the database's
    second core; each batch is its own transaction with its rows FOR UPDATE SKIP LOCKED.
    """
    with engine.connect() as conn:
        low, high = conn.execute(select(func.min(vouchers.c.id), func.max(vouchers.c.id))).one()
    if low is None:
        return 0
    step = (int(high) - int(low)) // PARALLEL_LANES + 1
    bounds = [
        (int(low) - 1 + i * step, int(low) - 1 + (i + 1) * step) for i in range(PARALLEL_LANES)
    ]
    with ThreadPoolExecutor(max_workers=PARALLEL_LANES) as pool:
        futures = [
            pool.submit(_expire_range, engine, now, batch_size, progress, after, upto)
            for after, upto in bounds
        ]
        return sum(f.result() for f in futures)


def _expire_range(
    engine: Engine, now: datetime, batch_size: int, progress: object, after: int, upto: int
) -> int:
    total = 0
    while True:
        with engine.begin() as conn:
            done, last = _expire_batch_postgres(conn, now, batch_size, (after, upto))
        total += done
        if callable(progress):
            progress(done)
        if done < batch_size or last is None:
            return total
        after = last


def _expire_rest(engine: Engine, now: datetime, batch_size: int, progress: object) -> int:
    total = 0
    while True:
        with engine.begin() as conn:
            done = _expire_batch(conn, now, batch_size)
        total += done
        if callable(progress) and done:
            progress(done)
        if done < batch_size:
            return total


def due_vouchers(now: datetime, limit: int) -> Select[Any]:
    """Up to ``limit`` vouchers the sweep expires at ``now`` (SQLite's batch; on PostgreSQL the
    batch statement states the same condition)."""
    return (
        select(vouchers.c.id, vouchers.c.tenant_id, vouchers.c.public_id, vouchers.c.status)
        .where(EXPIRABLE, vouchers.c.ends_at <= now)
        .limit(limit)
    )


def _expire_batch(conn: Connection, now: datetime, batch_size: int) -> int:
    if conn.dialect.name == "postgresql":
        return _expire_batch_postgres(conn, now, batch_size, None)[0]
    rows = conn.execute(due_vouchers(now, batch_size)).all()
    if not rows:
        return 0
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):
        conn.execute(
            update(vouchers)
            .where(vouchers.c.id.in_(ids[start : start + 500]))
            .values(status="expired", version=vouchers.c.version + 1, updated_at=now)
        )
    conn.execute(
        insert(events),
        [
            {
                "tenant_id": r.tenant_id,
                "voucher_id": r.id,
                "subject": "voucher",
                "subject_id": r.public_id,
                "operation": "expire",
                "actor": "system:sweep",
                "reason": "validity ended",
                "before": {"status": r.status},
                "after": {"status": "expired"},
                "created_at": now,
            }
            for r in rows
        ],
    )
    return len(rows)


def _expire_batch_postgres(
    conn: Connection, now: datetime, batch_size: int, ids: tuple[int, int] | None
) -> tuple[int, int | None]:
    """One statement: flip the statuses and write one event per voucher. With ``ids`` =
    (after, upto), only vouchers with after < id <= upto, in id order. Returns (vouchers
    expired, the highest id expired)."""
    in_range = "AND id > :after AND id <= :upto ORDER BY id" if ids else ""
    statement = text(f"""
        WITH due AS (
            SELECT id, status FROM vouchers
            WHERE status IN ('active', 'inactive') AND ends_at <= :now {in_range}
            LIMIT :batch FOR UPDATE SKIP LOCKED
        ), flipped AS (
            -- = ANY(ARRAY(...)) makes these primary-key lookups; a join with "due" would
            -- hash the whole table once per batch.
            UPDATE vouchers v SET status = 'expired', version = v.version + 1, updated_at = :now
            WHERE v.id = ANY(ARRAY(SELECT id FROM due))
            RETURNING v.id, v.tenant_id, v.public_id
        ), written AS (
            INSERT INTO events (tenant_id, voucher_id, subject, subject_id, operation, actor,
                                reason, before, after, created_at)
            SELECT f.tenant_id, f.id, 'voucher', f.public_id, 'expire', 'system:sweep',
                   'validity ended', jsonb_build_object('status', d.status),
                   CAST(:after_json AS jsonb), :now
            FROM flipped f JOIN due d ON d.id = f.id
            RETURNING voucher_id
        )
        SELECT count(*), max(voucher_id) FROM written
    """).bindparams(bindparam("now", type_=vouchers.c.updated_at.type))  # noqa: S608
    after, upto = ids or (0, 0)
    row = conn.execute(
        statement,
        {
            "now": now,
            "batch": batch_size,
            "after": after,
            "upto": upto,
            "after_json": orjson.dumps({"status": "expired"}).decode(),
        },
    ).one()
    return int(row[0]), None if row[1] is None else int(row[1])


def _lapse_reservations(engine: Engine, now: datetime, batch_size: int) -> int:
    """Close lapsed holds, ``batch_size`` reservations per transaction.

    Only a reservation that is still ``open`` is closed: the UPDATE re-checks the status, so a
    capture or release that commits between the SELECT and the UPDATE keeps its own outcome
    (and the count), and a voucher's hold is cleared only while it still points at the
    reservation that lapsed.
    """
    total, after_id = 0, 0
    while True:
        with engine.begin() as conn:
            lapsed = conn.execute(
                select(reservations.c.id, reservations.c.tenant_id, reservations.c.voucher_id)
                .where(
                    reservations.c.status == "open",
                    reservations.c.expires_at <= now,
                    reservations.c.id > after_id,
                )
                .order_by(reservations.c.id)
                .limit(batch_size)
            ).all()
            for r in lapsed:
                # The voucher row first, then the reservation: the order every service locks
                # them in, so the sweep and a capture or release never deadlock.
                conn.execute(
                    update(vouchers)
                    .where(
                        and_(
                            vouchers.c.tenant_id == r.tenant_id,
                            vouchers.c.id == r.voucher_id,
                            vouchers.c.hold_id == r.id,
                        )
                    )
                    .values(
                        hold_id=None,
                        hold_amount=0,
                        hold_expires_at=None,
                        version=vouchers.c.version + 1,
                        updated_at=now,
                    )
                )
                closed = conn.execute(
                    update(reservations)
                    .where(
                        reservations.c.tenant_id == r.tenant_id,
                        reservations.c.id == r.id,
                        reservations.c.status == "open",
                    )
                    .values(status="expired", closed_at=now)
                ).rowcount
                total += int(closed)
        if len(lapsed) < batch_size:
            return total
        after_id = int(lapsed[-1].id)
