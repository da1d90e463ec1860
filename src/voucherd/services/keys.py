"""The instance's key-encryption key and its access-token signing keys.

Signing keys live in ``signing_keys``, sealed under the KEK. The newest key signs new tokens;
``rotate`` adds one, and the keys it replaces keep verifying the tokens they signed until those
expire (a token's lifetime is in the token). ``revoke`` ends a key at once, for a leaked one.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select, update

from voucherd.config import Settings
from voucherd.db import sealed
from voucherd.db.tables import signing_keys
from voucherd.domain import errors
from voucherd.services.unit_of_work import utcnow

ALGORITHM = "HS256"
log = logging.getLogger("voucherd.keys")


def kek(settings: Settings) -> bytes:
    """The KEK these settings name. Raises: sealed.KeyMissing."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    found = sealed.load_kek(secret, settings.secret_key_file, settings.database_url)
    sealed.register(settings.database_url, found)  # for code that holds only the engine
    return found


def where(kid: str) -> str:
    """The sealed value's place (its associated data)."""
    return f"signing_keys.secret:{kid}"


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    secret: bytes
    created_at: datetime
    retired_at: datetime | None
    revoked_at: datetime | None


def _new(conn: Connection, kek: bytes, now: datetime) -> str:
    kid = secrets.token_hex(8)
    material = secrets.token_urlsafe(32)
    conn.execute(
        insert(signing_keys).values(
            kid=kid,
            algorithm=ALGORITHM,
            secret=sealed.seal(kek, material, where(kid)),
            created_at=now,
        )
    )
    return kid


def rotate(engine: Engine, kek: bytes) -> str:
    """Add a signing key, which signs every new token from now on; returns its kid."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            update(signing_keys).where(signing_keys.c.retired_at.is_(None)).values(retired_at=now)
        )
        return _new(conn, kek, now)


def ensure(engine: Engine, kek: bytes) -> None:
    """A key this KEK opens, added when there is none (a fresh instance, or only keys sealed
    under another KEK); two processes racing may both add one, which is harmless (the newer
    signs, both verify)."""
    with engine.begin() as conn:
        if not any(key.revoked_at is None for key in load(conn, kek)):
            _new(conn, kek, utcnow())


def revoke(engine: Engine, kid: str) -> None:
    """Raises: NotFound."""
    with engine.begin() as conn:
        done = conn.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == kid, signing_keys.c.revoked_at.is_(None))
            .values(revoked_at=utcnow(), retired_at=utcnow())
        ).rowcount
    if not done:
        raise errors.NotFound("signing key", kid)


def load(conn: Connection, kek: bytes) -> list[SigningKey]:
    """Every key that opens under ``kek``, newest first. One that does not (sealed under another
    KEK, or corrupted) is left out and logged by id: its tokens are refused, the others work,
    and ``voucherd verify`` names it."""
    rows = conn.execute(
        select(signing_keys).order_by(signing_keys.c.created_at.desc(), signing_keys.c.kid)
    ).mappings()
    found = []
    for row in rows:
        try:
            secret = sealed.unseal(kek, row["secret"], where(row["kid"])).encode()
        except sealed.Undecryptable:
            log.warning("signing key does not decrypt kid=%s", row["kid"])
            continue
        found.append(
            SigningKey(row["kid"], secret, row["created_at"], row["retired_at"], row["revoked_at"])
        )
    return found


def listing(engine: Engine) -> list[dict[str, object]]:
    """What ``voucherd keys list`` shows: ids and dates, never the keys."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                signing_keys.c.kid,
                signing_keys.c.created_at,
                signing_keys.c.retired_at,
                signing_keys.c.revoked_at,
            ).order_by(signing_keys.c.created_at.desc())
        ).mappings()
        return [dict(row) for row in rows]
