"""Spaaza-compatible voucher API, mounted at /spaaza (see docs/compat/spaaza.md)."""

from __future__ import annotations

from fastapi import FastAPI

from voucherd.dialects.spaaza import tables as tables  # registers the tables on the metadata
from voucherd.dialects.spaaza.credentials import CREDENTIALS
from voucherd.dialects.spaaza.routes import build

PREFIX = "/spaaza"


def mount(app: FastAPI) -> None:
    app.mount(PREFIX, build(app))


# Rows ``voucherd sweep`` deletes once their ``expires_at`` has passed.
EXPIRING = (tables.spaaza_sessions,)

__all__ = ["CREDENTIALS", "EXPIRING", "mount"]
