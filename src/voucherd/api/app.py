"""The ASGI application: native API under /v1, OAuth at /oauth/token, probes, dialects."""

from __future__ import annotations

import importlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from sqlalchemy.exc import OperationalError
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voucherd import __version__, dialects, logs
from voucherd.api import errors, openapi
from voucherd.api.limits import BodyLimit
from voucherd.api.routes import (
    campaigns,
    health,
    jobs,
    oauth,
    reports,
    transfers,
    value,
    vouchers,
    webhooks,
)
from voucherd.config import Settings
from voucherd.db import revisions, sealed
from voucherd.db.engine import make_engine
from voucherd.faces import direct, guard
from voucherd.faces.access_log import AccessLog
from voucherd.faces.limits import build as build_limiter
from voucherd.faces.request_ids import RequestIds
from voucherd.services import keys, tokens, worker

# Bodies these paths spool to disk themselves, under ``max_import_bytes`` (CSV imports).
IMPORT_PATHS = (transfers.IMPORT_PATH, "/dashboard/imports/vouchers")

DESCRIPTION = """
voucherd's native API. Authenticate with OAuth 2.0 client credentials at `POST /oauth/token`
and send the token as `Authorization: Bearer ...`. Amounts are integer minor units with an
ISO 4217 currency. Every POST accepts an `Idempotency-Key` header. Errors are RFC 9457
`application/problem+json` with a stable `code`.
"""


class StartupRefused(RuntimeError):
    """The server cannot start for a reason the operator can act on; the message says how."""


class StartupRefusals:
    """Reports a ``StartupRefused`` from the lifespan as its one line instead of a traceback.

    Starlette hands uvicorn the formatted traceback of a failed startup, and uvicorn logs it;
    here the refusal's message replaces it, so the log holds the one line that says what to do.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def holding(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                held.append(message)
                return
            await send(message)

        try:
            await self.app(scope, receive, holding)
        except StartupRefused as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            raise  # uvicorn logs nothing more for it; a test client re-raises it
        except BaseException:
            for message in held:
                await send(message)
            raise
        for message in held:
            await send(message)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    loaded = dialects.load(settings.dialects)
    branches = tuple(module.__name__.rsplit(".", 1)[-1] for module, _command in loaded)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.database_url, pool_size=settings.db_pool_size, pre_ping=settings.db_pre_ping
        )
        app.state.engine = engine
        keyed = settings.secret_key is not None or settings.secret_key_file is not None
        # Before anything writes (the first signing key does): a database without the schema
        # gets one line telling the operator what to run, not a failed INSERT. One that does
        # not answer stops the start only when no key is configured (nothing could work).
        refusal = revisions.refusal(engine, branches, needs_answer=not keyed)
        if refusal is None:
            try:
                app.state.kek = keys.kek(settings)
            except (sealed.KeyMissing, OSError) as exc:
                refusal = f"no key-encryption key: {exc}"
        if refusal is not None:
            engine.dispose()
            raise StartupRefused(refusal)
        # Keys and revoked clients are read on first use and then every second or so, not
        # here: a server with its key configured starts while the database is still down.
        app.state.tokens = tokens.Authority(engine, app.state.kek)
        # The first signing key, now rather than inside a request's transaction (on SQLite a
        # writing request holds the one write lock). A database still down: the first token
        # issued adds it.
        with suppress(OperationalError):
            keys.ensure(engine, app.state.kek)
        app.state.limiter = build_limiter(settings, engine) if settings.limits_enabled else None
        # The built-in worker, unless run apart (``serve --no-worker``): every server process
        # starts a candidate, one of them (across hosts too) is elected and runs it.
        runner = None
        if settings.worker_embedded:
            runner = worker.Runner(
                engine, settings, dialects.worker_parts(engine, settings.dialects)
            )
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
            engine.dispose()

    app = FastAPI(
        title="voucherd",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "OAuth"},
            {"name": "Vouchers"},
            {"name": "Value"},
            {"name": "Campaigns"},
            {"name": "Customers"},
            {"name": "Jobs"},
            {"name": "Reports"},
            {"name": "CSV"},
            {"name": "Webhooks"},
            {"name": "Health"},
        ],
    )
    app.state.settings = settings
    app.state.schema_branches = branches
    app.state.credential_kinds = dialects.credential_kinds(loaded)  # the dashboard's, by face
    errors.install(app)
    openapi.install(app)
    for module in (oauth, health, vouchers, value, campaigns, jobs, reports, webhooks):
        app.include_router(module.router)
    app.include_router(transfers.router)  # CSV exports and imports (issue 12)
    for dialect, _command in loaded:
        dialect.mount(app)
    # The dashboard is a face of its own beside the dialects (imported by name: faces of one
    # layer do not import each other).
    importlib.import_module("voucherd.web").mount(app)
    for route in app.router.routes:
        if isinstance(route, Mount):
            # Starlette's mount pattern is ``.*``, which stops at a newline: a path holding an
            # (URL-encoded) newline would fall through to the native 404. Everything under a
            # dialect's prefix is that dialect's, answered in its own error shape.
            route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
    # The two hottest operations skip FastAPI's routing and dependency solving when the
    # request is plainly fine; anything else goes to their routes as before (faces/direct.py).
    # Dialects may declare theirs (``direct_routes``): matched here, before the main router,
    # which walks every native route before it reaches a mount.
    routes = app.router.routes
    fast = [
        direct.route_for(routes, "POST", "/v1/charges", value.charge_direct, json_only=True),
        direct.route_for(routes, "GET", "/v1/vouchers/{voucher_id}", vouchers.get_voucher_direct),
    ]
    for dialect, _command in loaded:
        declare = getattr(dialect, "direct_routes", None)
        if declare is not None:
            fast.extend(declare(routes))
    direct.install(app, fast)
    guard.install(app, errors.NATIVE)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, exempt=IMPORT_PATHS)
    app.add_middleware(RequestIds)
    app.add_middleware(AccessLog)
    app.add_middleware(StartupRefusals)
    logs.configure(settings.log_level)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory voucherd.api.app:app_factory``."""
    return create_app(Settings())
