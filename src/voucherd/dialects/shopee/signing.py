"""Shopee Open Platform v2 request signing (pure).

``sign = HMAC-SHA256(partner_key, base).hexdigest()`` where ``base`` is
``partner_id + path + timestamp + access_token + shop_id`` for shop calls and
``partner_id + path + timestamp`` for public calls (auth, shop authorisation).
"""

from __future__ import annotations

import hashlib
import hmac


def base_string(
    partner_id: int | str,
    path: str,
    timestamp: int | str,
    access_token: str | None = None,
    shop_id: int | str | None = None,
) -> str:
    if access_token is None and shop_id is None:
        return f"{partner_id}{path}{timestamp}"
    shop = "" if shop_id is None else shop_id
    return f"{partner_id}{path}{timestamp}{access_token or ''}{shop}"


def sign(
    partner_key: str,
    partner_id: int | str,
    path: str,
    timestamp: int | str,
    access_token: str | None = None,
    shop_id: int | str | None = None,
) -> str:
    base = base_string(partner_id, path, timestamp, access_token, shop_id)
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def verify(
    given: str,
    partner_key: str,
    partner_id: int | str,
    path: str,
    timestamp: int | str,
    access_token: str | None = None,
    shop_id: int | str | None = None,
) -> bool:
    """Constant-time comparison; the signature is lower-case hex (upper case is refused)."""
    expected = sign(partner_key, partner_id, path, timestamp, access_token, shop_id)
    return hmac.compare_digest(expected.encode(), given.encode())
