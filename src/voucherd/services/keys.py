"""The instance's key-encryption key and its access-token signing keys.

``reseal`` finishes a change of KEK: every stored secret sealed under the key being replaced is
sealed again under the new one (``db/sealed.py`` describes the change step by step).

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
    found = sealed.ring_from(settings, settings.database_url)
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


# --- a change of key-encryption key --------------------------------------------------------------


class Unreadable(Exception):
    """Stored secrets that open under no configured key; ``reseal`` changed nothing."""

    def __init__(self, places: list[str]) -> None:
        super().__init__(f"{len(places)} stored secret(s) open under no configured key")
        self.places = places


@dataclass(frozen=True, slots=True)
class Resealed:
    resealed: int  # sealed under the previous key, now under the KEK
    current: int  # already under the KEK, left as they were


def reseal(engine: Engine, kek: bytes) -> Resealed:
    """Seal every stored secret under ``kek`` itself, reading each under it or under a key it
    replaces (``sealed.KeyRing``). One transaction, rows locked as they are read; a value that
    opens under no key stops it with nothing changed. Run again, it reseals nothing.

    Raises: Unreadable (naming the places, never the secrets)."""
    resealed = current = 0
    unreadable: list[str] = []
    with engine.begin() as conn:
        for item in sealed.stored_values(conn, lock=True):
            if sealed.opens_under_current(kek, item.value, item.where):
                current += 1
                continue
            try:
                plain = sealed.unseal(kek, item.value, item.where)
            except sealed.Undecryptable:
                unreadable.append(item.where)
                continue
            item.rewrite(conn, sealed.seal(kek, plain, item.where))
            resealed += 1
        if unreadable:
            raise Unreadable(unreadable)  # leaving the block rolls every reseal back
    log.info("secrets resealed count=%d already=%d", resealed, current)
    return Resealed(resealed, current)
