"""A voucher's QR code as SVG (segno). One small function, so a shared QR service can replace it."""

from __future__ import annotations

import io

import segno


def svg(text: str, *, title: str) -> bytes:
    """The QR code of ``text`` as a standalone SVG document (error correction M)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        out, kind="svg", scale=6, border=2, title=title, xmldecl=False
    )
    return out.getvalue()
