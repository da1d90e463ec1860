"""The shared QR module: images render, signed URLs verify only as signed and until expiry."""

from __future__ import annotations

from voucherd.services import qr

KEY = qr.url_key(b"k" * 32)
PATH = "/rm/qr/7/voucher/ABCD-2345"


def test_png_and_svg_render() -> None:
    assert qr.png("ABCD-2345").startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in qr.svg("ABCD-2345")
    body, media = qr.image("X", "svg")
    assert media == "image/svg+xml" and b"<svg" in body


def test_negotiate() -> None:
    assert qr.negotiate(None, None) == "png"
    assert qr.negotiate("SVG", "image/png") == "svg"
    assert qr.negotiate(None, "image/svg+xml, image/png") == "svg"
    assert qr.negotiate(None, "image/*") == "png"
    assert qr.negotiate("gif", None) is None
    assert qr.negotiate(None, "application/json") is None


def test_signed_url_checks() -> None:
    query = qr.sign(KEY, PATH, 1000)
    exp, sig = (part.split("=", 1)[1] for part in query.split("&"))
    assert qr.check(KEY, PATH, exp, sig, now=999)
    assert not qr.check(KEY, PATH, exp, sig, now=1000)  # expired
    assert not qr.check(KEY, PATH + "X", exp, sig, now=0)  # another path
    assert not qr.check(KEY, PATH, "1001", sig, now=0)  # stretched expiry
    assert not qr.check(qr.url_key(b"other"), PATH, exp, sig, now=0)  # another key
    assert not qr.check(KEY, PATH, exp, sig[:-1] + "A" if sig[-1] != "A" else sig[:-1] + "B", 0)
    assert not qr.check(KEY, PATH, None, sig, now=0)
    assert not qr.check(KEY, PATH, "-5", sig, now=0)
    assert not qr.check(KEY, PATH, exp, "", now=0)
    assert not qr.check(KEY, PATH, exp, "ü", now=0)
    url = qr.signed_url(KEY, "https://v.example/rm", PATH, 1000)
    assert url == f"https://v.example/rm{PATH}?{query}"
