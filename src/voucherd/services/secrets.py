"""Hashing of low-entropy secrets (PINs, passwords) and high-entropy ones (client secrets)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

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


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str) -> str:
    """Client secrets carry 256 random bits, so one SHA-256 suffices and keeps auth fast."""
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def verify_client_secret(secret_hash: str, secret: str) -> bool:
    return hmac.compare_digest(secret_hash, hash_client_secret(secret))


def random_id(length: int = 16, alphabet: str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))
