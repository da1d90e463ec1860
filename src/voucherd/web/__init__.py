"""The merchant's dashboard: a sixth face, server-rendered HTML under ``/dashboard``."""

from __future__ import annotations

from fastapi import FastAPI

from voucherd.web.face import PREFIX
from voucherd.web.pages import build


def mount(app: FastAPI) -> None:
    app.mount(PREFIX, build(app))


__all__ = ["mount"]
