"""The locally computed signature examples of shopee.md, and the signing rules."""

from __future__ import annotations

from voucherd.dialects.shopee import signing

KEY = "test_partner_key"


def test_shop_call_example() -> None:
    base = signing.base_string(
        2001887,
        "/api/v2/voucher/end_voucher",
        1610000000,
        "c09222e3fc40ffb25fc947f738b1abf1",
        600000,
    )
    assert base == (
        "2001887/api/v2/voucher/end_voucher1610000000c09222e3fc40ffb25fc947f738b1abf1600000"
    )
    assert signing.sign(
        KEY,
        2001887,
        "/api/v2/voucher/end_voucher",
        1610000000,
        "c09222e3fc40ffb25fc947f738b1abf1",
        600000,
    ) == ("9d2344f1f45b7be505d128bf8de420d9f2beffb8025bedf8f530b4bbc990f2c8")


def test_public_call_example() -> None:
    assert signing.base_string(2001887, "/api/v2/auth/token/get", 1610000000) == (
        "2001887/api/v2/auth/token/get1610000000"
    )
    assert signing.sign(KEY, 2001887, "/api/v2/auth/token/get", 1610000000) == (
        "c713594104d60201a561f86a09492da91e007bd9689b1bf2baaf67c066ee5ec7"
    )


def test_verify_accepts_only_the_exact_lowercase_signature() -> None:
    good = signing.sign(KEY, 2001887, "/api/v2/auth/token/get", 1610000000)
    assert signing.verify(good, KEY, "2001887", "/api/v2/auth/token/get", "1610000000")
    assert not signing.verify(good.upper(), KEY, 2001887, "/api/v2/auth/token/get", 1610000000)
    tampered = ("0" if good[0] != "0" else "1") + good[1:]
    assert not signing.verify(tampered, KEY, 2001887, "/api/v2/auth/token/get", 1610000000)
    assert not signing.verify(good, "other_key", 2001887, "/api/v2/auth/token/get", 1610000000)
    assert not signing.verify(good, KEY, 2001887, "/api/v2/auth/token/get", 1610000001)
    assert not signing.verify(good, KEY, 2001887, "/api/v2/voucher/end_voucher", 1610000000)
