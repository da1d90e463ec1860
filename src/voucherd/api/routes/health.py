"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import JSONResponse

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
