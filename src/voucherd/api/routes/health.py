"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from voucherd.api.errors import problem
from voucherd.db import revisions
from voucherd.faces import metrics

router = APIRouter(tags=["Health"])
log = logging.getLogger("voucherd.health")


@router.get("/health", summary="The process is up")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="The database answers and its schema is at every expected head")
def ready(request: Request) -> JSONResponse:
    """Ready when the database answers and has every migration this build expects: the core's
    and each enabled dialect's. A database migrated by a newer voucherd (revisions this build
    does not know) stays ready, as expand-then-contract migrations keep the previous release
    working during a rolling upgrade; ``voucherd db check`` reports it."""
    try:
        schema = revisions.check(request.app.state.engine, request.app.state.schema_branches)
    except Exception as exc:  # any failure means "not ready"; internals are not for the prober
        log.warning("ready: the database does not answer (%s)", type(exc).__name__)
        return JSONResponse(
            {"status": "unavailable", "reason": "the database does not answer"},
            503,
            headers={"Retry-After": "2"},
        )
    if schema.missing:
        return JSONResponse(
            {
                "status": "unavailable",
                "reason": "the database schema is not at the expected migrations: "
                "run `voucherd db upgrade`",
                "missing": sorted(schema.missing),
            },
            503,
        )
    return JSONResponse({"status": "ready", "schema": sorted(schema.current)})


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus exposition for the operator (``VOUCHERD_METRICS_TOKEN``), see operations.md."""
    if not metrics.authorized(
        request.app.state.settings.metrics_token, request.headers.get("authorization")
    ):
        return problem(404, "not_found", "not found")
    body = await run_in_threadpool(metrics.exposition, request.app.state.engine)
    return Response(body, media_type=metrics.CONTENT_TYPE)
