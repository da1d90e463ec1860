"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from voucherd.api.errors import problem
from voucherd.faces import metrics

router = APIRouter(tags=["Health"])


@router.get("/health", summary="The process is up")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="The database answers and is migrated")
def ready(request: Request) -> JSONResponse:
    try:
        with request.app.state.engine.connect() as conn:
            heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception:  # any failure means "not ready"; internals are not for the prober
        return JSONResponse(
            {"status": "unavailable", "reason": "the database does not answer"},
            503,
            headers={"Retry-After": "2"},
        )
    if not heads:
        return JSONResponse({"status": "unavailable", "reason": "not migrated"}, 503)
    return JSONResponse({"status": "ready", "schema": sorted(heads)})


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus exposition for the operator (``VOUCHERD_METRICS_TOKEN``), see operations.md."""
    if not metrics.authorized(
        request.app.state.settings.metrics_token, request.headers.get("authorization")
    ):
        return problem(404, "not_found", "not found")
    body = await run_in_threadpool(metrics.exposition, request.app.state.engine)
    return Response(body, media_type=metrics.CONTENT_TYPE)
