"""RM clients' keys are remembered for the token cache's period (``client_keys.py``).

A signed call read its client's key (and revocation) in a statement of its own; now the parsed
key is kept for ``tokens.CACHE_SECONDS`` and read again after that. Refusals are not kept.
Revocation within the token cache's bound is ``tests/e2e/test_revocation.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, update

from tests.compat.revenue_monster.conftest import make_key_pair, make_merchant
from voucherd.db.tables import clients
from voucherd.dialects.revenue_monster.client_keys import ClientKeys
from voucherd.dialects.revenue_monster.errors import RmError
from voucherd.services import tokens


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.startswith("SELECT"):  # not SQLite's BEGIN
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def test_a_key_is_read_once_per_period_and_refusals_are_not_kept(
    engine: Engine, tmp_path: Path, statements: list[str]
) -> None:
    pair = make_key_pair(tmp_path, "kept")
    merchant = make_merchant(engine, pair)
    keys = ClientKeys()
    assert keys.seconds == tokens.CACHE_SECONDS
    with engine.connect() as conn:
        statements.clear()
        first = keys.key(conn, merchant.tenant_id, merchant.client_id)
        again = keys.key(conn, merchant.tenant_id, merchant.client_id)
        assert again is first
        assert len(statements) == 1  # the second call is answered from memory
        assert first.public_numbers() == pair.private.public_key().public_numbers()

        with pytest.raises(RmError) as unknown:
            keys.key(conn, merchant.tenant_id, "cl_nobody")
        assert unknown.value.code == "TOKEN_INVALID"
        statements.clear()
        with pytest.raises(RmError):
            keys.key(conn, merchant.tenant_id, "cl_nobody")
        assert len(statements) == 1  # a refusal is read again

    # Past the period (0 s here) the key is read again, and a revoked client is refused then.
    with engine.begin() as conn:
        conn.execute(
            update(clients)
            .where(clients.c.id == merchant.client_id)
            .values(revoked_at=datetime.now(UTC))
        )
    expiring = ClientKeys(seconds=0)
    with engine.connect() as conn:
        with pytest.raises(RmError) as revoked:
            expiring.key(conn, merchant.tenant_id, merchant.client_id)
        assert revoked.value.code == "TOKEN_INVALID"
        # Remembered keys are dropped by ``forget`` (a test's lever): read, and refused, again.
        keys.forget()
        with pytest.raises(RmError):
            keys.key(conn, merchant.tenant_id, merchant.client_id)
