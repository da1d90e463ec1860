"""A verified token is remembered, but what can change over its life is checked every time.

The cache (issue 13) skips only the JWT decoding and signature check of a token this process
has already verified; a revoked client, a revoked key and the token's expiry still refuse it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, update

from tests.conftest import LiveServer, TenantFixture, authority
from voucherd.db.tables import clients
from voucherd.domain.scopes import Scope
from voucherd.services import tokens


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
