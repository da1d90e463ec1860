"""QR codes for pages, as ``data:`` SVG images (the CSP allows ``img-src data:``; inline SVG
markup would be fine too, but an ``<img>`` carries an ``alt`` text for screen readers)."""

from __future__ import annotations

import segno


def data_uri(text: str, scale: int = 3) -> str:
    """The QR code of ``text`` (error correction M: readable from a slightly worn card)."""
    return str(segno.make(text, error="m").svg_data_uri(scale=scale, border=2))
