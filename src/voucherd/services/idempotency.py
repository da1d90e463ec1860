"""Idempotency keys: a retried POST replays its first answer instead of acting twice.

The key is claimed in a short transaction of its own (so a concurrent duplicate sees it
"in flight" at once), and completed inside the operation's own transaction, so a response is
stored exactly when the change it describes is committed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, delete, select, update

from voucherd.db import repositories as repo
from voucherd.db.tables import idempotency_keys as keys
from voucherd.domain.errors import VoucherdError
from voucherd.services.unit_of_work import utcnow


class IdempotencyInFlight(VoucherdError):
    code = "idempotency_in_flight"


class IdempotencyMismatch(VoucherdError):
    code = "idempotency_key_reused"


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


def begin(engine: Engine, claim: Claim, *, ttl: timedelta, lock: timedelta) -> Replay | None:
    """Claim the key. ``None`` means go ahead; a ``Replay`` is the stored first answer.

    Raises:
        IdempotencyInFlight: the first request with this key is still running.
        IdempotencyMismatch: the key was used with a different request.
    """
    now = utcnow()
    with engine.begin() as conn:
        # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
        inserted = conn.execute(
            repo.insert_ignore(conn, keys)
            .values(
                tenant_id=claim.tenant_id,
                client_id=claim.client_id,
                key=claim.key,
                request_hash=claim.request_hash,
                state="in_flight",
                created_at=now,
                locked_until=now + lock,
                expires_at=now + ttl,
            )
            .returning(keys.c.key)
        ).first()
        if inserted is not None:
            return None
        row = conn.execute(select(keys).where(*_scope(claim))).mappings().one()
        if row["expires_at"] <= now:
            _take_over(conn, claim, row["locked_until"], now, ttl, lock, reset=True)
            return None
        if row["request_hash"] != claim.request_hash:
            raise IdempotencyMismatch(
                "this Idempotency-Key was already used with a different request"
            )
        if row["state"] == "done":
            return Replay(int(row["status_code"]), str(row["body"]))
        if row["locked_until"] > now:
            raise IdempotencyInFlight("a request with this Idempotency-Key is still in progress")
        # The first attempt died without an answer: this one may try again.
        _take_over(conn, claim, row["locked_until"], now, ttl, lock, reset=False)
        return None


def _take_over(
    conn: Connection,
    claim: Claim,
    seen: datetime,
    now: datetime,
    ttl: timedelta,
    lock: timedelta,
    *,
    reset: bool,
) -> None:
    values: dict[str, object] = {"locked_until": now + lock, "state": "in_flight"}
    if reset:
        values.update(
            request_hash=claim.request_hash,
            created_at=now,
            expires_at=now + ttl,
            status_code=None,
            body=None,
        )
    taken = conn.execute(
        update(keys)
        .where(*_scope(claim), keys.c.locked_until == seen)
        .values(**values)
        .returning(keys.c.key)
    ).first()
    if taken is None:
        raise IdempotencyInFlight("a request with this Idempotency-Key is still in progress")


def complete(conn: Connection, claim: Claim, status_code: int, body: str) -> None:
    """Store the answer; call inside the operation's transaction, just before commit."""
    conn.execute(
        update(keys).where(*_scope(claim)).values(state="done", status_code=status_code, body=body)
    )


def complete_alone(engine: Engine, claim: Claim, status_code: int, body: str) -> None:
    """Store a refusal (4xx) whose operation changed nothing, so a retry gets the same answer."""
    with engine.begin() as conn:
        complete(conn, claim, status_code, body)


def abandon(engine: Engine, claim: Claim) -> None:
    """Forget the key after an unexpected failure, so the client can retry."""
    with engine.begin() as conn:
        conn.execute(delete(keys).where(*_scope(claim), keys.c.state == "in_flight"))


def purge_expired(conn: Connection, now: datetime) -> int:
    return int(conn.execute(delete(keys).where(keys.c.expires_at <= now)).rowcount)
