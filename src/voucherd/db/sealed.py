"""Secrets sealed at rest: AES-256-GCM under a key-encryption key (KEK) kept outside the database.

A stored secret (a token-signing key, RM's server private key, a Shopee partner key, a webhook
secret) is written as ``enc1:<base64url(nonce | ciphertext | tag)>``. The associated data is
the secret's place (``table.column:row``), so a sealed value copied into another row does not
open there. Whoever reads the database (a backup, a replica, an SQL injection elsewhere) sees
no usable secret without the KEK.

The KEK comes from ``VOUCHERD_SECRET_KEY`` (any string; stretched with HKDF), else from the
file named by ``VOUCHERD_SECRET_KEY_FILE``, else, for an embedded SQLite database only, from a
key file kept next to the database (``<database file>.key``, created once with mode 0600).
A server database (PostgreSQL) without a configured key is refused: every host must share the
same KEK, and a key generated on one host would make the others' secrets unreadable.

Changing the KEK (docs/operations.md, "Changing the key-encryption key"): configure the new
key, with the old one as ``VOUCHERD_PREVIOUS_SECRET_KEY`` (or ``..._FILE``); values then open
under either key and new ones are sealed under the new key; ``voucherd keys reseal`` seals every
stored value under the new key in one transaction; then the previous key is removed.

This module sits with the storage layer because migrations seal and open rows too.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, TableClause, column, inspect, select, update
from sqlalchemy import table as sql_table
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from voucherd.config import Settings

PREFIX: Final = "enc1:"
_NONCE: Final = 12
_INFO: Final = b"voucherd key-encryption key v1"


# Every sealed column: (table, key column, secret column). A value's place is
# ``table.column:key`` (the dialects' tables are there when their dialect is migrated).
COLUMNS: Final[tuple[tuple[str, str, str], ...]] = (
    ("signing_keys", "kid", "secret"),
    ("webhooks", "id", "secret"),
    ("rm_merchants", "tenant_id", "server_private_key_pem"),
    ("shopee_partners", "partner_id", "partner_key"),
)


def place(table: str, column: str, key: object) -> str:
    return f"{table}.{column}:{key}"


@dataclass(frozen=True, slots=True)
class Stored:
    """One sealed value as stored, with what it takes to write it back."""

    table: TableClause
    key_column: str
    column: str  # the sealed column
    key: object
    value: str
    where: str  # its place (the associated data)

    def rewrite(self, conn: Connection, value: str) -> None:
        conn.execute(
            update(self.table)
            .where(self.table.c[self.key_column] == self.key)
            .values({self.column: value})
        )


def stored_values(conn: Connection, *, lock: bool = False) -> Iterator[Stored]:
    """Every sealed value in the database (the tables of dialects not migrated are skipped);
    ``lock``: rows locked for update on PostgreSQL."""
    present = set(inspect(conn).get_table_names())
    for table_name, key_name, column_name in COLUMNS:
        if table_name not in present:
            continue
        table = sql_table(table_name, column(key_name), column(column_name))
        query = select(table.c[key_name], table.c[column_name]).order_by(table.c[key_name])
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        for key, value in conn.execute(query).all():
            where = place(table_name, column_name, key)
            yield Stored(table, key_name, column_name, key, str(value), where)


class KeyRing(bytes):
    """The KEK (its bytes: everything that seals or derives from the KEK uses them unchanged),
    plus the keys it replaces, which still open values during a change of key."""

    previous: tuple[bytes, ...]

    def __new__(cls, current: bytes, previous: tuple[bytes, ...] = ()) -> KeyRing:
        ring = super().__new__(cls, current)
        ring.previous = tuple(p for p in previous if p != current)
        return ring


class KeyMissing(Exception):
    """No KEK is configured for a database that needs one given."""


class Undecryptable(Exception):
    """A sealed value does not open under this KEK (wrong key, corrupted, or moved)."""

    def __init__(self, where: str) -> None:
        super().__init__(f"the secret at {where} does not decrypt with this key")
        self.where = where


def derive(material: bytes) -> bytes:
    """The 256-bit KEK from configured key material of any length (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(material)


def key_file_for(database_url: str) -> Path | None:
    """Where the embedded default keeps its generated key: beside the SQLite file.

    None for a database without a file (in-memory SQLite, or a server database)."""
    url = make_url(database_url)
    if not url.get_backend_name().startswith("sqlite"):
        return None
    name = url.database or ""
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).expanduser().resolve().with_name(Path(name).name + ".key")


def _read_or_create(path: Path) -> bytes:
    """The key file's bytes, creating it once with 0600 (two processes starting together both
    end up reading the one file that won the exclusive create)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    material = base64.urlsafe_b64encode(os.urandom(32))
    with os.fdopen(fd, "wb") as out:
        out.write(material + b"\n")
        out.flush()
        os.fsync(out.fileno())
    return material


def load_ring(
    secret: str | None,
    secret_file: str | None,
    database_url: str,
    previous: str | None = None,
    previous_file: str | None = None,
) -> KeyRing:
    """The KEK for this database with the previous one, when one is configured (a change of
    key in progress). Raises: KeyMissing."""
    current = load_kek(secret, secret_file, database_url)
    if previous:
        return KeyRing(current, (derive(previous.encode()),))
    if previous_file:
        material = Path(previous_file).expanduser().read_bytes().strip()
        if not material:
            raise KeyMissing(f"VOUCHERD_PREVIOUS_SECRET_KEY_FILE {previous_file} is empty")
        return KeyRing(current, (derive(material),))
    return KeyRing(current)


def load_kek(secret: str | None, secret_file: str | None, database_url: str) -> bytes:
    """The KEK for this database. Raises: KeyMissing."""
    if secret:
        return derive(secret.encode())
    if secret_file:
        material = Path(secret_file).expanduser().read_bytes().strip()
        if not material:
            raise KeyMissing(f"VOUCHERD_SECRET_KEY_FILE {secret_file} is empty")
        return derive(material)
    path = key_file_for(database_url)
    if path is not None:
        return derive(_read_or_create(path))
    if make_url(database_url).get_backend_name().startswith("sqlite"):
        return os.urandom(32)  # in-memory SQLite: the data dies with the process, so may its key
    raise KeyMissing(
        "set VOUCHERD_SECRET_KEY or VOUCHERD_SECRET_KEY_FILE: secrets in a server database"
        " are encrypted with it, and every host must use the same key"
    )


# The KEK each database in this process uses, by database (a server's startup and a command
# register theirs; code that holds only an engine asks ``kek_for``).
_REGISTERED: dict[tuple[str, str | None, int | None, str | None], bytes] = {}


def _identity(database_url: str) -> tuple[str, str | None, int | None, str | None]:
    url = make_url(database_url)
    backend = url.get_backend_name()
    database = url.database
    if backend == "sqlite" and database and database != ":memory:":
        database = str(Path(database).expanduser().resolve())
    return backend, url.host, url.port, database


def register(database_url: str, kek: bytes) -> None:
    _REGISTERED[_identity(database_url)] = kek


def kek_for(database_url: str) -> bytes:
    """The KEK registered for this database, else the one the environment's settings name.

    Raises: KeyMissing."""
    found = _REGISTERED.get(_identity(database_url))
    if found is not None:
        return found
    from voucherd.config import Settings  # settings are read here, not at import

    kek = ring_from(Settings(), database_url)
    register(database_url, kek)
    return kek


def ring_from(settings: Settings, database_url: str) -> KeyRing:
    """The key ring these settings name for this database. Raises: KeyMissing, OSError."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    previous = (
        settings.previous_secret_key.get_secret_value() if settings.previous_secret_key else None
    )
    return load_ring(
        secret,
        settings.secret_key_file,
        database_url,
        previous,
        settings.previous_secret_key_file,
    )


def url_of(engine_url: object) -> str:
    """An engine's URL as ``kek_for`` takes it (password included: it names the database)."""
    render = getattr(engine_url, "render_as_string", None)
    return str(render(hide_password=False)) if render is not None else str(engine_url)


def kek_of(conn: Connection) -> bytes:
    """``kek_for`` the database this connection is on. Raises: KeyMissing."""
    return kek_for(url_of(conn.engine.url))


def seal(kek: bytes, plaintext: str, where: str) -> str:
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(kek).encrypt(nonce, plaintext.encode(), where.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def is_sealed(value: str | None) -> bool:
    return value is not None and value.startswith(PREFIX)


def unseal(kek: bytes, stored: str, where: str) -> str:
    """Opens under the KEK or, for a ``KeyRing``, under a key it replaces.

    Raises: Undecryptable (also for a value that was never sealed)."""
    if not is_sealed(stored):
        raise Undecryptable(where)
    text = stored[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise Undecryptable(where) from None
    if len(raw) <= _NONCE:
        raise Undecryptable(where)
    for key in (bytes(kek), *getattr(kek, "previous", ())):
        try:
            return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], where.encode()).decode()
        except (InvalidTag, UnicodeDecodeError):
            continue
    raise Undecryptable(where)


def opens_under_current(kek: bytes, stored: str, where: str) -> bool:
    """Whether the value opens under the KEK itself (not only under a key it replaces)."""
    try:
        unseal(bytes(kek), stored, where)
    except Undecryptable:
        return False
    return True


def sealed_length(plain_length: int) -> int:
    """The stored length of a sealed secret of ``plain_length`` bytes (to size columns)."""
    raw = _NONCE + plain_length + 16
    return len(PREFIX) + (raw * 4 + 2) // 3
