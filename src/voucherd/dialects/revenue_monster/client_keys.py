"""RM clients' public keys, remembered as long as the token cache remembers revocations.

A signed call needs its client's RSA key. Reading it (with the client's revocation) was one
statement per call; a process now keeps each client's parsed key for ``tokens.CACHE_SECONDS``,
the token cache's period, and reads it again after that. A revocation is still refused within
the token cache's bound: every call's token is checked against the revoked clients the cache
read (``tokens.Authority.verify``), and a key read again sees ``revoked_at`` too. Only a key
found for a live client is remembered: a refusal reads again on the next call.
"""

from __future__ import annotations

import threading
import time
from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Connection, bindparam, select

from voucherd.db.tables import clients
from voucherd.dialects.revenue_monster import signing
from voucherd.dialects.revenue_monster.errors import RmError
from voucherd.dialects.revenue_monster.tables import rm_clients
from voucherd.services import tokens

MAX_REMEMBERED: Final = 10_000

_KEY = (
    select(rm_clients.c.public_key_pem, clients.c.revoked_at)
    .select_from(
        clients.outerjoin(
            rm_clients,
            (rm_clients.c.client_id == clients.c.id)
            & (rm_clients.c.tenant_id == clients.c.tenant_id),
        )
    )
    .where(clients.c.tenant_id == bindparam("tenant_id"), clients.c.id == bindparam("client_id"))
)


class ClientKeys:
    """One process's remembered keys, by (tenant, client)."""

    def __init__(self, seconds: float = tokens.CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._known: dict[tuple[int, str], tuple[float, rsa.RSAPublicKey]] = {}
        self._guard = threading.Lock()

    def key(self, conn: Connection, tenant_id: int, client_id: str) -> rsa.RSAPublicKey:
        """The client's key, read on ``conn`` (the request's unit) when not remembered.

        Raises: RmError TOKEN_INVALID (no such client, or revoked), CLIENT_NOT_SET_PUBLIC_KEY.
        """
        known = self._known.get((tenant_id, client_id))
        now = time.monotonic()
        if known is not None and now - known[0] <= self.seconds:
            return known[1]
        row = conn.execute(_KEY, {"tenant_id": tenant_id, "client_id": client_id}).first()
        if row is None or row.revoked_at is not None:
            raise RmError("TOKEN_INVALID")
        if not row.public_key_pem:
            raise RmError("CLIENT_NOT_SET_PUBLIC_KEY")
        key = signing.load_public_key(row.public_key_pem)
        with self._guard:
            if len(self._known) >= MAX_REMEMBERED:
                self._known.clear()  # simpler than an LRU; refilled by the next calls
            self._known[(tenant_id, client_id)] = (now, key)
        return key

    def forget(self) -> None:
        """Drop every remembered key (tests; nothing in the server needs it)."""
        with self._guard:
            self._known.clear()
