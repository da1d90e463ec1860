"""Revenue Monster Open API v3 vouchers, wire-compatible, under ``/rm``.

OAuth at ``/rm/v1/token``, the signed Open API at ``/rm/v3/...``, voucher QR images at
``/rm/qr/...``; callbacks are sent by the built-in worker (see ``callbacks.py``). Docs:
``docs/compat/revenue_monster.md``.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI, Request
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute

from voucherd.dialects.revenue_monster import callbacks, errors, routes, tables
from voucherd.dialects.revenue_monster.client_keys import ClientKeys
from voucherd.dialects.revenue_monster.credentials import CREDENTIALS
from voucherd.dialects.revenue_monster.settings import RmSettings
from voucherd.faces import direct, guard
from voucherd.services.worker import Parts

PREFIX = "/rm"

__all__ = ["CREDENTIALS", "PREFIX", "direct_routes", "mount", "tables", "worker_parts"]


def mount(app: FastAPI) -> None:
    settings = RmSettings()
    sub = FastAPI(
        title="voucherd: Revenue Monster Open API v3 (vouchers)",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    sub.state = app.state
    app.state.rm_settings = settings
    app.state.rm_client_keys = ClientKeys()
    sub.include_router(routes.router)

    async def http_error(_request: Request, exc: Exception) -> Response:
        # The router's own refusals (no route, wrong method): every other answer of the face,
        # error or not, comes from the runtime through errors.TABLE.
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code in (404, 405):
            return errors.answer(errors.RmError("API_ENDPOINT_NOT_FOUND", status=exc.status_code))
        return errors.answer(errors.RmError("INVALID_REQUEST", str(exc.detail), exc.status_code))

    sub.add_exception_handler(StarletteHTTPException, http_error)
    guard.install(sub, errors.FACE)
    app.mount(PREFIX, sub)


def direct_routes(declared: Iterable[BaseRoute]) -> list[direct.DirectRoute]:
    """The redeem the bench measures, answered before the main router (``faces/direct.py``)."""
    redeem = routes.redeem_vouchers_direct
    path = "/v3/vouchers/redeem"
    return [direct.mounted(declared, PREFIX, "POST", path, redeem, errors.FACE, json_only=True)]


# Rows ``voucherd sweep`` deletes once their ``expires_at`` has passed.
EXPIRING = (tables.rm_nonces, tables.rm_refresh_tokens)


def worker_parts(engine: Engine, parts: Parts) -> None:
    """The built-in worker creates callbacks from the outbox and sends them."""
    settings = RmSettings()
    parts.subscribers.append(callbacks.RmCallbacks(engine, settings))
    parts.tasks.append(lambda: callbacks.deliver_due(engine, settings))
