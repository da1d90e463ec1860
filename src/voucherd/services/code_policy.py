"""Code policy at lookup: a code whose check character is wrong is refused before the database.

A tenant's campaigns name the forms its codes take (``domain.codes.CodeSpec``). A code that has
the form of a campaign with a check character, but a wrong one, and fits no campaign as it is,
cannot be real: it is answered "not found" without a voucher lookup, and it counts against the
caller's guess budget like any other miss (``changes.find``).

Each process keeps a tenant's code forms for ``TTL_SECONDS``: a lookup by code reads no
campaign row on the hot path, and a new campaign's check character is enforced within that
time (until then the database answers, as it would anyway).
"""

from __future__ import annotations

import threading
import time
from typing import Final

from sqlalchemy import select

from voucherd.db.tables import campaigns
from voucherd.domain import codes
from voucherd.services.unit_of_work import UnitOfWork

TTL_SECONDS: Final = 30.0
_lock = threading.Lock()
_cache: dict[int, tuple[float, tuple[codes.CodeSpec, ...]]] = {}


def specs(uow: UnitOfWork, tenant_id: int) -> tuple[codes.CodeSpec, ...]:
    """The distinct code forms of ``tenant_id``'s campaigns (cached per process)."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(tenant_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    c = campaigns.c
    rows = uow.conn.execute(
        select(
            c.code_charset,
            c.code_length,
            c.code_prefix,
            c.code_suffix,
            c.code_pattern,
            c.code_check_char,
        )
        .where(c.tenant_id == tenant_id)
        .distinct()
    ).all()
    found = tuple(
        codes.CodeSpec(
            charset=row[0],
            length=row[1],
            prefix=row[2],
            suffix=row[3],
            pattern=row[4],
            check_char=bool(row[5]),
        )
        for row in rows
    )
    with _lock:
        _cache[tenant_id] = (now + TTL_SECONDS, found)
    return found


def refuted(uow: UnitOfWork, tenant_id: int, code: str) -> bool:
    """Whether ``code`` cannot be one of the tenant's codes (a wrong check character)."""
    return codes.refuted(specs(uow, tenant_id), code)


def forget(tenant_id: int) -> None:
    """Drop the tenant's cached forms (a campaign was created in this process)."""
    with _lock:
        _cache.pop(tenant_id, None)
