"""Hashing of low-entropy secrets (PINs, passwords) and high-entropy ones (client secrets),
and the random values they start from (client secrets, ids). Not named ``secrets``: it would
shadow the standard library module it uses."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# PINs are short: Argon2 makes an offline guess from a stolen database expensive.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_pin(pin: str) -> str:
    return _hasher.hash(pin)


def verify_pin(pin_hash: str | None, pin: str | None) -> bool:
    if pin_hash is None or pin is None:
        return False
    try:
        return _hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


# Staff passwords: Argon2id with the library's defaults (RFC 9106's second recommendation).
_password_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Always does the work of one verification, so an unknown user costs the same time."""
    try:
        return _password_hasher.verify(password_hash or _dummy_password_hash(), password) and (
            password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_password_hash() -> str:
    """What an unknown user's password is checked against. Made on first use, not on import:
    one Argon2id hash (64 MiB) cost every process that imports this module, every CLI command
    included, 0.1-0.6 s. The first unknown user of a process waits one hash longer."""
    return _password_hasher.hash(secrets.token_urlsafe(16))


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str) -> str:
    """Client secrets carry 256 random bits, so one SHA-256 suffices and keeps auth fast."""
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def verify_client_secret(secret_hash: str, secret: str) -> bool:
    return hmac.compare_digest(secret_hash, hash_client_secret(secret))


ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def random_id(length: int = 16, alphabet: str = ID_ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def random_ids(count: int, length: int = 16) -> list[str]:
    """``count`` ids like ``random_id``, drawing random bytes in bulk (for bulk generation).

    Unbiased: bytes past the largest multiple of the alphabet size are dropped.
    """
    n = len(ID_ALPHABET)
    accepted = 256 - 256 % n
    table = bytes(ord(ID_ALPHABET[b % n]) if b < accepted else 0 for b in range(256))
    dropped = bytes(range(accepted, 256))
    pool = b""
    while len(pool) < count * length:
        pool += secrets.token_bytes(count * length + 64).translate(table, dropped)
    text = pool[: count * length].decode("ascii")
    return [text[i * length : (i + 1) * length] for i in range(count)]
