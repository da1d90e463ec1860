"""Access tokens: standard JWTs (HS256) naming their signing key in the ``kid`` header.

Any worker on the same database verifies them: the signing keys are in ``signing_keys``
(``services/keys.py``), sealed under the KEK. Claims: ``sub`` the client, ``tid`` its tenant,
``scope`` (space-separated), ``aud`` which face issued it (``native``, ``jtl``, ``rm``), ``iat``,
``exp`` and a unique ``jti``.

Revocation bites within seconds: every process keeps the keys and the set of revoked clients
in memory for at most ``CACHE_SECONDS`` and reads them again after that, so a ``client revoke``
(or a revoked key) on any host is refused everywhere within that time plus one read. A token
naming a key this process has not seen yet makes it read the keys at once (at most every
``UNKNOWN_KID_PAUSE`` seconds, so made-up key ids cannot drive the database).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import jwt
from sqlalchemy import Connection, Engine, select

from voucherd.db.tables import clients
from voucherd.domain.scopes import Scope
from voucherd.services import keys
from voucherd.services.keys import SigningKey
from voucherd.services.unit_of_work import utcnow

ISSUER: Final = "voucherd"
CACHE_SECONDS: Final = 1.0
UNKNOWN_KID_PAUSE: Final = 0.25
# Tokens already verified, so a client's next call with the same token skips the JWT decoding
# (about 0.2 ms); expiry, key and client revocation are still checked on every call.
VERIFIED_CACHE_SIZE: Final = 10_000
_REQUIRED: Final = ["exp", "iat", "aud", "sub", "tid", "iss"]


@dataclass(frozen=True, slots=True)
class Claims:
    tenant_id: int
    client_id: str
    scopes: frozenset[Scope]
    audience: str
    expires_at: int
    issued_at: int = 0
    token_id: str = field(default="")


class TokenInvalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "malformed" | "signature" | "expired" | "audience" | "revoked"


class NeedsRead(Exception):
    """The cache is due for a database read, which the caller chose not to do on this thread."""


@dataclass(frozen=True, slots=True)
class _Snapshot:
    by_kid: dict[str, SigningKey]
    newest: SigningKey | None
    revoked_clients: frozenset[str]
    read_at: float  # time.monotonic()


_EMPTY = _Snapshot({}, None, frozenset(), float("-inf"))

# How a call may do the cache's read when it is due: False, not at all (``NeedsRead``); True,
# on a pooled connection of its own; a Connection, on it: the caller's unit of work holds it,
# so a request never waits for a second pooled connection while it holds one.
Reading = bool | Connection


class Authority:
    """Issues and verifies one process's tokens, with the cache described above."""

    def __init__(self, engine: Engine, kek: bytes) -> None:
        self.engine = engine
        self.kek = kek
        self._snapshot = _EMPTY
        self._lock = threading.Lock()
        self._verified: dict[tuple[str, str], tuple[str, Claims]] = {}

    # --- the cache ------------------------------------------------------------------------

    def read(self, io: Reading = True) -> None:
        """Read keys and revoked clients from the database (two queries), on ``io`` if it is
        a connection, else on one of its own."""
        if not isinstance(io, Connection):
            # A reader (DEFERRED on SQLite): it may run while another unit of work of this
            # request holds the write lock, and must not wait for it.
            with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                return self.read(conn)
        found = keys.load(io, self.kek)
        revoked = frozenset(
            str(cid)
            for cid in io.execute(select(clients.c.id).where(clients.c.revoked_at.is_not(None)))
            .scalars()
            .all()
        )
        newest = next((k for k in found if k.revoked_at is None), None)
        self._snapshot = _Snapshot({k.kid: k for k in found}, newest, revoked, time.monotonic())

    def _current(self, io: Reading) -> _Snapshot:
        snapshot = self._snapshot
        if time.monotonic() - snapshot.read_at <= CACHE_SECONDS:
            return snapshot
        if not io:
            raise NeedsRead
        with self._lock:  # one thread reads; the others wait for its result
            if time.monotonic() - self._snapshot.read_at > CACHE_SECONDS:
                self.read(io)
            return self._snapshot

    def _key(self, kid: str, io: Reading) -> SigningKey | None:
        snapshot = self._current(io)
        key = snapshot.by_kid.get(kid)
        if key is None and time.monotonic() - snapshot.read_at > UNKNOWN_KID_PAUSE:
            if not io:
                raise NeedsRead
            with self._lock:
                if time.monotonic() - self._snapshot.read_at > UNKNOWN_KID_PAUSE:
                    self.read(io)
            key = self._snapshot.by_kid.get(kid)
        return key

    def is_revoked(self, client_id: str, io: Reading = True) -> bool:
        return client_id in self._current(io).revoked_clients

    # --- tokens ---------------------------------------------------------------------------

    def issue(self, claims: Claims, io: Reading = True) -> str:
        newest = self._current(io).newest
        if newest is None:
            keys.ensure(self.engine, self.kek)
            with self._lock:
                self.read()
            newest = self._snapshot.newest
            assert newest is not None  # ``ensure`` added one this KEK opens
        now = int(utcnow().timestamp())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "sub": claims.client_id,
            "aud": claims.audience,
            "tid": claims.tenant_id,
            "scope": " ".join(sorted(claims.scopes)),
            "iat": claims.issued_at or now,
            "exp": claims.expires_at,
            "jti": claims.token_id or secrets.token_urlsafe(12),
        }
        return jwt.encode(
            payload, newest.secret, algorithm=keys.ALGORITHM, headers={"kid": newest.kid}
        )

    def verify(
        self, token: str, audience: str, now: datetime | None = None, *, io: Reading = True
    ) -> Claims:
        """Raises: TokenInvalid; NeedsRead when ``io`` is false and the cache is due.

        ``io``: a request's unit of work passes its connection (``Reading``).
        """
        known = self._verified.get((token, audience))
        if known is not None:
            known_key = self._current(io).by_kid.get(known[0])
            if known_key is None or known_key.revoked_at is not None:
                raise TokenInvalid("signature")
            return self._still_valid(known[1], now, io)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenInvalid("malformed") from None
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") != keys.ALGORITHM:
            raise TokenInvalid("malformed")
        key = self._key(kid, io)
        if key is None or key.revoked_at is not None:
            raise TokenInvalid("signature")
        try:
            data = jwt.decode(
                token,
                key.secret,
                algorithms=[keys.ALGORITHM],
                audience=audience,
                issuer=ISSUER,
                options={"verify_exp": False, "verify_iat": False, "require": _REQUIRED},
            )
        except jwt.InvalidAudienceError:
            raise TokenInvalid("audience") from None
        except jwt.InvalidSignatureError:
            raise TokenInvalid("signature") from None
        except jwt.InvalidTokenError:
            raise TokenInvalid("malformed") from None
        try:
            claims = Claims(
                tenant_id=int(data["tid"]),
                client_id=str(data["sub"]),
                scopes=frozenset(Scope(s) for s in str(data.get("scope", "")).split()),
                audience=audience,
                expires_at=int(data["exp"]),
                issued_at=int(data["iat"]),
                token_id=str(data.get("jti", "")),
            )
        except (TypeError, ValueError):
            raise TokenInvalid("malformed") from None
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()  # simpler than an LRU; refilled by the next calls
        self._verified[(token, audience)] = (kid, claims)
        return self._still_valid(claims, now, io)

    def _still_valid(self, claims: Claims, now: datetime | None, io: Reading) -> Claims:
        if claims.expires_at <= (now or utcnow()).timestamp():
            raise TokenInvalid("expired")
        if self.is_revoked(claims.client_id, io):
            raise TokenInvalid("revoked")
        return claims
