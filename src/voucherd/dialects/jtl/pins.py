"""One-time connection PINs (issue, consume) and the client_type statistics.

A PIN is 8 characters of the unambiguous code alphabet; only its SHA-256 is stored. It is
consumed by a single conditional UPDATE, so of two concurrent connects with the same PIN exactly
one gets credentials, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Final

from sqlalchemy import Engine, insert, select, update

from voucherd.db.repositories import Row, insert_ignore
from voucherd.dialects.jtl.tables import jtl_client_types, jtl_connect_pins
from voucherd.domain import codes, errors
from voucherd.domain.scopes import Scope
from voucherd.services import tenants
from voucherd.services.attempts import Budget
from voucherd.services.changes import record_event
from voucherd.services.hashing import random_id
from voucherd.services.unit_of_work import Actor, UnitOfWork

PIN_TTL: Final = timedelta(minutes=30)
PIN_LENGTH: Final = 8


def _hash(pin: str) -> str:
    return hashlib.sha256(codes.normalize(pin).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedPin:
    pin: str
    expires_at: datetime


def issue(
    uow: UnitOfWork,
    tenant_id: int,
    scopes: frozenset[Scope],
    *,
    name: str,
    client_type: str = "pos",
    actor: str = "cli",
) -> IssuedPin:
    """Raises: NotFound (tenant), ValidationFailed (name, client_type)."""
    tenants.get_tenant(uow, tenant_id)
    if not name.strip() or len(name) > 255:
        raise errors.ValidationFailed("name must be 1 to 255 characters", field="name")
    if not client_type.strip() or len(client_type) > 32:
        raise errors.ValidationFailed("type must be 1 to 32 characters", field="type")
    pin = random_id(PIN_LENGTH, codes.UNAMBIGUOUS)
    expires_at = uow.now + PIN_TTL
    uow.conn.execute(
        insert(jtl_connect_pins).values(
            tenant_id=tenant_id,
            pin_hash=_hash(pin),
            scopes=" ".join(sorted(scopes)),
            name=name,
            client_type=client_type,
            created_at=uow.now,
            expires_at=expires_at,
        )
    )
    record_event(
        uow,
        Actor(tenant_id, actor),
        operation="issue",
        subject="jtl_pin",
        subject_id=codes.mask(pin),
        after={"expires_at": expires_at},
    )
    return IssuedPin(pin, expires_at)


@dataclass(frozen=True, slots=True)
class Connected:
    client: tenants.NewClient
    name: str
    client_type: str
    connected_at: datetime


def connect(uow: UnitOfWork, pin: str, *, max_failures: int = 20) -> Connected | None:
    """Exchange a live PIN for a new JTL client; None if the PIN is unknown, used or expired.

    A wrong PIN spends the caller's PIN budget and counts against every live PIN: a PIN dies
    after ``max_failures`` wrong ones while it was live, however many addresses guess (the
    endpoint is anonymous, so a wrong PIN cannot be told apart by tenant). An attacker can
    thus end the live PINs early; the operator issues new ones.
    """
    table = jtl_connect_pins
    uow.attempts.guard(Budget.PIN)
    row: Row | None = (
        uow.conn.execute(
            select(table)
            .where(
                table.c.pin_hash == _hash(pin),
                table.c.used_at.is_(None),
                table.c.expires_at > uow.now,
                table.c.failures < max_failures,
            )
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        uow.attempts.failed(Budget.PIN)
        uow.attempts.later(partial(_count_wrong_pin, now=uow.now))
        return None
    claimed = uow.conn.execute(
        update(table)
        .where(
            table.c.tenant_id == row["tenant_id"],
            table.c.id == row["id"],
            table.c.used_at.is_(None),
            table.c.expires_at > uow.now,
        )
        .values(used_at=uow.now)
    )
    if claimed.rowcount != 1:
        return None
    scopes = frozenset(Scope(s) for s in str(row["scopes"]).split())
    client = tenants.create_client(
        uow,
        int(row["tenant_id"]),
        row["name"],
        scopes,
        kind="jtl",
        extra={
            "type": row["client_type"],
            "pin_id": row["id"],
            "connected_at": uow.now.isoformat(),
        },
        actor="jtl:connect",
    )
    uow.conn.execute(
        update(table)
        .where(table.c.tenant_id == row["tenant_id"], table.c.id == row["id"])
        .values(client_id=client.client_id)
    )
    return Connected(client, row["name"], row["client_type"], uow.now)


def _count_wrong_pin(engine: Engine, *, now: datetime) -> None:
    """One more wrong PIN for every live PIN (after the refused request's rollback)."""
    table = jtl_connect_pins
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.used_at.is_(None), table.c.expires_at > now)
            .values(failures=table.c.failures + 1)
        )


def record_client_type(uow: UnitOfWork, tenant_id: int, client_id: str, client_type: str) -> None:
    table = jtl_client_types
    uow.conn.execute(
        insert_ignore(uow.conn, table).values(
            tenant_id=tenant_id,
            client_id=client_id,
            client_type=client_type,
            tokens=0,
            first_seen_at=uow.now,
            last_seen_at=uow.now,
        )
    )
    uow.conn.execute(
        update(table)
        .where(
            table.c.tenant_id == tenant_id,
            table.c.client_id == client_id,
            table.c.client_type == client_type,
        )
        .values(tokens=table.c.tokens + 1, last_seen_at=uow.now)
    )
