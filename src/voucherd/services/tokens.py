"""Stateless signed access tokens: any worker on the same database can verify them.

Format: ``vd1.<base64url JSON claims>.<base64url HMAC-SHA256>``. Claims: tenant ``t``, client
``c``, scopes ``s``, audience ``a`` (which API face issued it) and expiry ``e`` (unix seconds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import Engine, select

from voucherd.db import repositories as repo
from voucherd.db.tables import instance_secrets
from voucherd.domain.scopes import Scope
from voucherd.services.unit_of_work import utcnow

PREFIX = "vd1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_signing_key(engine: Engine, configured: str | None) -> bytes:
    """The configured key, or the instance's generated one (created once, race-safe)."""
    if configured:
        return hashlib.sha256(configured.encode()).digest()
    with engine.begin() as conn:
        conn.execute(
            repo.insert_ignore(conn, instance_secrets).values(
                name="token_key", value=secrets.token_hex(32), created_at=utcnow()
            )
        )
        value = conn.execute(
            select(instance_secrets.c.value).where(instance_secrets.c.name == "token_key")
        ).scalar_one()
    return bytes.fromhex(value)


@dataclass(frozen=True, slots=True)
class Claims:
    tenant_id: int
    client_id: str
    scopes: frozenset[Scope]
    audience: str
    expires_at: int


def issue(key: bytes, claims: Claims) -> str:
    payload = _b64(
        orjson.dumps(
            {
                "t": claims.tenant_id,
                "c": claims.client_id,
                "s": " ".join(sorted(claims.scopes)),
                "a": claims.audience,
                "e": claims.expires_at,
            }
        )
    )
    signature = _b64(hmac.new(key, f"{PREFIX}.{payload}".encode(), hashlib.sha256).digest())
    return f"{PREFIX}.{payload}.{signature}"


class TokenInvalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "malformed" | "signature" | "expired" | "audience"


def verify(key: bytes, token: str, audience: str, now: datetime | None = None) -> Claims:
    """Raises: TokenInvalid."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenInvalid("malformed")
    expected = hmac.new(key, f"{PREFIX}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        given = _unb64(parts[2])
        data = orjson.loads(_unb64(parts[1]))
    except (ValueError, orjson.JSONDecodeError):
        raise TokenInvalid("malformed") from None
    if not hmac.compare_digest(expected, given):
        raise TokenInvalid("signature")
    if data.get("a") != audience:
        raise TokenInvalid("audience")
    if int(data["e"]) <= (now or utcnow()).timestamp():
        raise TokenInvalid("expired")
    return Claims(
        tenant_id=int(data["t"]),
        client_id=str(data["c"]),
        scopes=frozenset(Scope(s) for s in str(data["s"]).split()),
        audience=str(data["a"]),
        expires_at=int(data["e"]),
    )
