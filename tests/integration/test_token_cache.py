"""A verified token is remembered, but what can change over its life is checked every time.

The cache (issue 13) skips only the JWT decoding and signature check of a token this process
has already verified; a revoked client, a revoked key and the token's expiry still refuse it.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, update

from tests.conftest import LiveServer, TenantFixture, authority
from voucherd.db.tables import clients
from voucherd.domain.scopes import Scope
from voucherd.services import tokens
from voucherd.services.unit_of_work import UnitOfWork


def _token(authority: tokens.Authority, tenant: TenantFixture, ttl: int = 600) -> str:
    claims = tokens.Claims(
        tenant.id, tenant.client_id, frozenset({Scope.READ}), "native", int(time.time()) + ttl
    )
    return authority.issue(claims)


def test_a_remembered_token_still_expires_and_is_still_revoked(
    live_server: LiveServer, engine: Engine, tenant: TenantFixture
) -> None:
    checker = authority(live_server)
    token = _token(checker, tenant)
    first = checker.verify(token, "native")
    assert checker.verify(token, "native") == first  # the second answer is the remembered one
    assert (token, "native") in checker._verified
    # Its expiry, on a remembered token:
    later = datetime.fromtimestamp(first.expires_at + 1, UTC)
    with pytest.raises(tokens.TokenInvalid) as expired:
        checker.verify(token, "native", now=later)
    assert expired.value.reason == "expired"
    # Another audience is not the remembered answer:
    with pytest.raises(tokens.TokenInvalid) as audience:
        checker.verify(token, "jtl")
    assert audience.value.reason == "audience"
    # Its client revoked: refused at the next read of the revocations (forced here).
    with engine.begin() as conn:
        conn.execute(
            update(clients)
            .where(clients.c.id == tenant.client_id)
            .values(revoked_at=datetime.now(UTC))
        )
    try:
        checker.read()
        with pytest.raises(tokens.TokenInvalid) as revoked:
            checker.verify(token, "native")
        assert revoked.value.reason == "revoked"
    finally:
        with engine.begin() as conn:
            conn.execute(
                update(clients).where(clients.c.id == tenant.client_id).values(revoked_at=None)
            )


def test_a_due_read_inside_a_unit_of_work_uses_its_connection(
    live_server: LiveServer, engine: Engine, tenant: TenantFixture
) -> None:
    """The JTL and RM authenticators verify inside the request's unit of work: the cache's read
    (about once a second) then runs on the unit's connection, never on a second pooled one
    (a thread holding the cache's lock while waiting for the pool stalled every request)."""
    checker = authority(live_server)
    token = _token(checker, tenant)
    checkouts: list[object] = []

    def checkout(*args: object) -> None:
        checkouts.append(args)

    event.listen(checker.engine, "checkout", checkout)
    try:
        with UnitOfWork(checker.engine) as uow:
            held = len(checkouts)
            checker._snapshot = replace(checker._snapshot, read_at=float("-inf"))  # due now
            claims = checker.verify(token, "native", io=uow.conn)
            assert claims.client_id == tenant.client_id
            assert checker._snapshot.read_at > float("-inf")  # it did read
            assert len(checkouts) == held
            checker._snapshot = replace(checker._snapshot, read_at=float("-inf"))
            assert checker.issue(
                tokens.Claims(tenant.id, tenant.client_id, frozenset(), "jtl", claims.expires_at),
                uow.conn,
            )
            assert len(checkouts) == held
    finally:
        event.remove(checker.engine, "checkout", checkout)
