"""QR codes inside pages, as ``data:`` SVG images drawn by ``services/qr.py`` (the one place
every face renders QR codes). The CSP allows ``img-src data:``; an ``<img>`` also carries an
``alt`` text for screen readers. A sheet of 60 cards embeds its images, so printing it needs
no further requests (each carrying a code)."""

from __future__ import annotations

import base64

from voucherd.services import qr


def data_uri(text: str, scale: int = 3) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(qr.svg(text, scale=scale)).decode()
