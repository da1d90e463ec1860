"""Idempotency keys: a retried POST replays its first answer instead of acting twice.

The key is claimed and completed inside the operation's own transaction, so an answer is
stored exactly when the change it describes is committed, and a request that fails on the way
(crash, database outage) leaves nothing that blocks the client's retry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, delete, func, insert, select, update

from voucherd.db import repositories as repo
from voucherd.db.tables import idempotency_keys as keys
from voucherd.domain.errors import VoucherdError
from voucherd.services.unit_of_work import utcnow


class IdempotencyInFlight(VoucherdError):
    code = "idempotency_in_flight"


class IdempotencyMismatch(VoucherdError):
    code = "idempotency_key_reused"


# How long a kept refusal answers a retry (the request changed nothing, so there is no reason to
# keep it as long as a success).
REFUSAL_TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    body: str


@dataclass(frozen=True, slots=True)
class Claim:
    tenant_id: int
    client_id: str
    key: str
    request_hash: str


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def _scope(claim: Claim) -> tuple[ColumnElement[bool], ...]:
    return (
        keys.c.tenant_id == claim.tenant_id,
        keys.c.client_id == claim.client_id,
        keys.c.key == claim.key,
    )


def claim(conn: Connection, claim: Claim, now: datetime, *, ttl: timedelta) -> Replay | None:
    """Claim the key inside the operation's own transaction. ``None`` means go ahead.

    The claim row is written in the same transaction as the change and its answer, so it
    exists for others exactly when the change is committed: a request that dies (a crash, a
    database outage) leaves no claim behind and the client's retry runs. A concurrent
    duplicate meets the uncommitted row: on PostgreSQL it would wait for it, so the key is
    first taken as a transaction-scoped advisory lock, and a duplicate that cannot take it is
    told the first request is still in flight; on SQLite writers are serialised at BEGIN, so
    a duplicate runs after the first has committed and replays its answer.

    Raises:
        IdempotencyInFlight: the first request with this key is still running.
        IdempotencyMismatch: the key was used with a different request.
    """
    if conn.dialect.name == "postgresql":
        lock_id = int.from_bytes(
            hashlib.sha256(f"{claim.tenant_id}\0{claim.client_id}\0{claim.key}".encode()).digest()[
                :8
            ],
            "big",
            signed=True,
        )
        taken = conn.execute(select(func.pg_try_advisory_xact_lock(lock_id))).scalar_one()
        if not taken:
            raise IdempotencyInFlight("a request with this Idempotency-Key is still in progress")
    row = conn.execute(select(keys).where(*_scope(claim))).mappings().first()
    if row is None:
        conn.execute(
            insert(keys).values(
                tenant_id=claim.tenant_id,
                client_id=claim.client_id,
                key=claim.key,
                request_hash=claim.request_hash,
                state="in_flight",
                created_at=now,
                locked_until=now,
                expires_at=now + ttl,
            )
        )
        return None
    if row["expires_at"] <= now:
        conn.execute(
            update(keys)
            .where(*_scope(claim))
            .values(
                request_hash=claim.request_hash,
                state="in_flight",
                created_at=now,
                locked_until=now,
                expires_at=now + ttl,
                status_code=None,
                body=None,
            )
        )
        return None
    if row["request_hash"] != claim.request_hash:
        raise IdempotencyMismatch("this Idempotency-Key was already used with a different request")
    if row["state"] == "done":
        return Replay(int(row["status_code"]), str(row["body"]))
    # A claim committed "in flight" is from an earlier release that claimed in a transaction
    # of its own; honour its lock until it lapses, then take it over.
    if row["locked_until"] > now:
        raise IdempotencyInFlight("a request with this Idempotency-Key is still in progress")
    conn.execute(update(keys).where(*_scope(claim)).values(locked_until=now))
    return None


def complete(conn: Connection, claim: Claim, status_code: int, body: bytes) -> None:
    """Store the answer; call inside the operation's transaction, just before commit."""
    conn.execute(
        update(keys)
        .where(*_scope(claim))
        .values(state="done", status_code=status_code, body=body.decode())
    )


def store_refusal(engine: Engine, claim: Claim, status_code: int, body: bytes) -> None:
    """Keep a refusal whose operation changed nothing, so a retry gets the same answer."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            repo.insert_ignore(conn, keys).values(
                tenant_id=claim.tenant_id,
                client_id=claim.client_id,
                key=claim.key,
                request_hash=claim.request_hash,
                state="done",
                status_code=status_code,
                body=body.decode(),
                created_at=now,
                locked_until=now,
                expires_at=now + REFUSAL_TTL,
            )
        )


def purge_expired(conn: Connection, now: datetime) -> int:
    return int(conn.execute(delete(keys).where(keys.c.expires_at <= now)).rowcount)
