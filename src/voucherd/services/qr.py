"""QR images of voucher codes, and the signed, expiring URLs that hand them out.

One place renders QR codes for every face (RM's images, the native ``/v1/vouchers/{id}/qr``,
the dashboard), so they look the same everywhere. A QR image shows a code, which is a bearer
instrument: it is served only to a caller allowed to read secrets, or through a URL this
module signed (HMAC-SHA256 over the path and an expiry). Checking such a URL answers only
yes or no, so a face can make a bad signature, an expired URL and an unknown code look alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from typing import Final, Literal

Format = Literal["png", "svg"]

FORMATS: Final = ("png", "svg")
MEDIA_TYPES: Final[dict[str, str]] = {"png": "image/png", "svg": "image/svg+xml"}
# Error correction "m" survives a scuffed print; scale 8 and the standard quiet zone of 4
# modules scan from a till's camera at arm's length.
_ERROR: Final = "m"
_SCALE: Final = 8
_BORDER: Final = 4


def png(data: str, scale: int = _SCALE) -> bytes:
    import segno  # on first use: a server that renders no QR code does not hold it

    out = io.BytesIO()
    segno.make(data, error=_ERROR).save(out, kind="png", scale=scale, border=_BORDER)
    return out.getvalue()


def svg(data: str, scale: int = _SCALE) -> bytes:
    import segno

    out = io.BytesIO()
    segno.make(data, error=_ERROR).save(out, kind="svg", scale=scale, border=_BORDER, xmldecl=True)
    return out.getvalue()


def image(data: str, kind: Format) -> tuple[bytes, str]:
    """The image bytes and their media type."""
    return (svg(data) if kind == "svg" else png(data)), MEDIA_TYPES[kind]


def negotiate(format_param: str | None, accept: str | None) -> Format | None:
    """``?format=`` wins, then the Accept header; PNG by default; None: neither PNG nor SVG."""
    if format_param is not None:
        wanted = format_param.strip().lower()
        return wanted if wanted in FORMATS else None  # type: ignore[return-value]
    if accept:
        media = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        for item in media:
            if item == "image/svg+xml":
                return "svg"
            if item in ("image/png", "image/*", "*/*"):
                return "png"
        return None
    return "png"


# --- signed, expiring URLs ----------------------------------------------------------------------

URL_INFO: Final = b"voucherd qr-url v1"


def url_key(master: bytes) -> bytes:
    """The URL-signing key derived from a master secret (the KEK), never the master itself."""
    return hmac.new(master, URL_INFO, hashlib.sha256).digest()


def _mac(key: bytes, path: str, expires: int) -> str:
    digest = hmac.new(key, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, path: str, expires: int) -> str:
    """The query string (``exp=...&sig=...``) that makes ``path`` valid until ``expires``
    (unix seconds). ``key`` comes from ``url_key``."""
    return f"exp={expires}&sig={_mac(key, path, expires)}"


def signed_url(key: bytes, base: str, path: str, expires: int) -> str:
    """``base`` + ``path`` + the signature query; the signature covers only ``path``, so the
    same URL verifies behind any mount point or host name."""
    return f"{base}{path}?{sign(key, path, expires)}"


def check(key: bytes, path: str, expires_text: str | None, sig: str | None, now: int) -> bool:
    """True when ``sig`` signs ``path`` until ``expires_text`` and that moment is after ``now``.

    Constant-time on the signature; every failure is the same ``False``."""
    if not expires_text or not sig or not expires_text.isascii() or not expires_text.isdigit():
        return False
    if len(expires_text) > 12:
        return False
    expires = int(expires_text)
    good = hmac.compare_digest(_mac(key, path, expires).encode(), sig.encode("utf-8", "replace"))
    return good and expires > now
